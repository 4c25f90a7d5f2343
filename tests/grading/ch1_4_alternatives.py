"""Right answers written differently from the reference, and wrong answers written like students'.

Everything here is written independently of ``dlopt_reference``: the right answers use other
bookkeeping (cs231n's in-place ``config.setdefault``, lists instead of tuples, float32 state) or other
algebra (loops over coordinates, ``np.hypot`` for the root of a growing sum, ``expm1`` bias corrections,
Nesterov's change of variables); the wrong answers are what a class writes, each with the words its
diagnosis must contain. ``RIGHT_UPDATE_RULES``, ``RIGHT_MINIBATCHES`` and ``RIGHT_LR_RANGE_TESTS`` list
the right answers; each is pasted whole (after a few imports) into a notebook solution cell by
``tests/course/test_right_answers_through_graders.py``, so it must not rely on a helper of this module.
"""

from __future__ import annotations

import numpy as np

# --------------------------------------------------------------------------------------------
# right answers


def sgd_cs231n(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    next_w = w - config["learning_rate"] * dw
    return next_w, config


def sgd_list_float32(w, dw, config=None):
    config = dict(config or {})
    lr = config.setdefault("learning_rate", 1e-2)
    return [(np.float32(1.0) * w.astype(np.float32) - np.float32(lr) * dw.astype(np.float32)), config]


def sgd_momentum_cs231n(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity", np.zeros_like(w))
    v = config["momentum"] * v - config["learning_rate"] * dw
    next_w = w + v
    config["velocity"] = v
    return next_w, config


def sgd_momentum_float32_state(w, dw, config=None):
    """Stores the velocity in float32 and writes the update as w + mu*v - lr*dw."""
    config = {} if config is None else dict(config)
    lr, mu = config.setdefault("learning_rate", 1e-2), config.setdefault("momentum", 0.9)
    v = np.asarray(config.get("velocity", np.zeros(np.shape(w))), dtype=np.float64)
    next_w = w + mu * v - lr * dw
    config["velocity"] = (mu * v - lr * dw).astype(np.float32)
    return next_w, config


def sgd_momentum_ema_rewritten(w, dw, config=None):
    config = dict(config or {})
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("beta", 0.9)
    m = config.get("m")
    m = dw * (1 - config["beta"]) if m is None else m + (1 - config["beta"]) * (dw - m)
    config["m"] = m
    return w - config["learning_rate"] * m, config


def nesterov_momentum_alternative(w, dw, config=None):
    """The same rule as ``w + mu*v_new - lr*dw`` (algebraically equal to w - mu*v_prev + (1+mu)*v)."""
    if config is None:
        config = {}
    lr = config.setdefault("learning_rate", 1e-2)
    mu = config.setdefault("momentum", 0.9)
    v = mu * config.get("velocity", 0 * w) - lr * dw
    config["velocity"] = v
    return w + mu * v - lr * dw, config


def nesterov_lookahead_cs231n(w, grad_fn, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity", np.zeros_like(w))
    g = grad_fn(w + config["momentum"] * v)
    v = config["momentum"] * v - config["learning_rate"] * g
    config["velocity"] = v
    return w + v, config


def adagrad_in_place_config(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("epsilon", 1e-8)
    config["cache"] = config.get("cache", np.zeros_like(w)) + np.square(dw)
    return w - config["learning_rate"] * dw / (np.sqrt(config["cache"]) + config["epsilon"]), config


def rmsprop_other_algebra(w, dw, config=None):
    config = dict(config or {})
    for key, value in (("learning_rate", 1e-2), ("decay_rate", 0.99), ("epsilon", 1e-8)):
        config.setdefault(key, value)
    cache = config.get("cache", np.zeros(w.shape))
    cache = cache + (1 - config["decay_rate"]) * (dw**2 - cache)
    config["cache"] = cache
    return w - config["learning_rate"] * dw / (cache**0.5 + config["epsilon"]), config


def adadelta_zeiler(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1.0)
    config.setdefault("rho", 0.9)
    config.setdefault("epsilon", 1e-6)
    rho, eps = config["rho"], config["epsilon"]
    eg2 = rho * config.get("cache", np.zeros_like(w)) + (1 - rho) * dw * dw
    edx2 = config.get("delta", np.zeros_like(w))
    dx = -np.sqrt(edx2 + eps) / np.sqrt(eg2 + eps) * dw
    config["cache"] = eg2
    config["delta"] = rho * edx2 + (1 - rho) * dx * dx
    return w + config["learning_rate"] * dx, config


def adam_cs231n(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("m", np.zeros_like(w))
    config.setdefault("v", np.zeros_like(w))
    config.setdefault("t", 0)
    config["t"] += 1
    config["m"] = config["beta1"] * config["m"] + (1 - config["beta1"]) * dw
    config["v"] = config["beta2"] * config["v"] + (1 - config["beta2"]) * (dw**2)
    mt = config["m"] / (1 - config["beta1"] ** config["t"])
    vt = config["v"] / (1 - config["beta2"] ** config["t"])
    next_w = w - config["learning_rate"] * mt / (np.sqrt(vt) + config["epsilon"])
    return next_w, config


def adam_float_t_list(w, dw, config=None):
    """Keeps t as a float, computes v from m-free algebra and returns a list."""
    c = {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}
    c.update(config or {})
    b1, b2 = c["beta1"], c["beta2"]
    t = float(c.get("t", 0)) + 1.0
    m = c.get("m", 0.0) * b1 + dw - b1 * dw
    v = c.get("v", 0.0) * b2 + np.multiply(dw, dw) * (1 - b2)
    step_size = c["learning_rate"] / (1 - b1**t)
    next_w = w - step_size * m / (np.sqrt(v) / np.sqrt(1 - b2**t) + c["epsilon"])
    c.update(m=m, v=v, t=t)
    return [next_w, c]


def adamw_pytorch_order(w, dw, config=None):
    """PyTorch's order: decay the parameters first (on a copy), then the Adam step."""
    if config is None:
        config = {}
    for key, value in (("learning_rate", 1e-3), ("beta1", 0.9), ("beta2", 0.999), ("epsilon", 1e-8),
                       ("weight_decay", 1e-2)):
        config.setdefault(key, value)
    lr = config["learning_rate"]
    p = w * (1 - lr * config["weight_decay"])
    t = config.get("t", 0) + 1
    m = config["beta1"] * config.get("m", np.zeros_like(w)) + (1 - config["beta1"]) * dw
    v = config["beta2"] * config.get("v", np.zeros_like(w)) + (1 - config["beta2"]) * dw * dw
    denom = np.sqrt(v) / np.sqrt(1 - config["beta2"] ** t) + config["epsilon"]
    p = p - lr / (1 - config["beta1"] ** t) * m / denom
    config.update(m=m, v=v, t=t)
    return p, config


def adam_float32(w, dw, config=None):
    """Computes everything in float32 (a reasonable choice for deep learning)."""
    config = dict(config or {})
    for key, value in (("learning_rate", 1e-3), ("beta1", 0.9), ("beta2", 0.999), ("epsilon", 1e-8)):
        config.setdefault(key, value)
    w32, g = np.float32(w), np.asarray(dw, dtype=np.float32)
    t = config.get("t", 0) + 1
    m = np.float32(config["beta1"]) * config.get("m", np.zeros_like(g)) + np.float32(1 - config["beta1"]) * g
    v = np.float32(config["beta2"]) * config.get("v", np.zeros_like(g)) + np.float32(1 - config["beta2"]) * g * g
    m, v = m.astype(np.float32), v.astype(np.float32)
    m_hat = m / (1 - config["beta1"] ** t)
    v_hat = v / (1 - config["beta2"] ** t)
    config.update(m=m, v=v, t=t)
    return (w32 - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])).astype(np.float32), config


# Right answers with algebra of their own. Each is self-contained (its imports inside), so that its
# source can be pasted into a notebook's solution cell as a student's whole answer.


def sgd_looped(w, dw, config=None):
    """One coordinate at a time, in float64, on a flat copy of w."""
    import numpy as np

    config = {} if config is None else config
    learning_rate = config.setdefault("learning_rate", 1e-2)
    out = np.array(w, dtype=np.float64)
    flat_w, flat_dw = out.reshape(-1), np.asarray(dw, dtype=np.float64).reshape(-1)
    for i in range(flat_w.size):
        flat_w[i] = flat_w[i] - learning_rate * flat_dw[i]
    return out, config


def sgd_momentum_displacement(w, dw, config=None):
    """next_w = w + mu*v - lr*dw first; the new velocity is the displacement next_w - w."""
    import numpy as np

    config = {} if config is None else config
    lr = config.setdefault("learning_rate", 1e-2)
    mu = config.setdefault("momentum", 0.9)
    old = config.get("velocity")
    next_w = w - lr * dw if old is None else w + mu * old - lr * dw
    config["velocity"] = next_w - w
    return next_w, config


def sgd_momentum_ema_weighted_average(w, dw, config=None):
    """The moving average as np.average of (m, dw) with weights (beta, 1 - beta)."""
    import numpy as np

    config = {} if config is None else config
    lr = config.setdefault("learning_rate", 1e-2)
    beta = config.setdefault("beta", 0.9)
    m = np.average(np.stack([np.asarray(config.get("m", np.zeros(np.shape(w))), dtype=np.float64),
                             np.asarray(dw, dtype=np.float64)]), axis=0, weights=[beta, 1.0 - beta])
    config["m"] = m
    return w - lr * m, config


def nesterov_lookahead_change_of_variables(w, grad_fn, config=None):
    """Bengio/Sutskever: step the look-ahead point phi = w + mu*v, then map back with w = phi - mu*v."""
    import numpy as np

    config = {} if config is None else config
    lr = config.setdefault("learning_rate", 1e-2)
    mu = config.setdefault("momentum", 0.9)
    v_prev = config.get("velocity", np.zeros_like(w))
    phi = w + mu * v_prev
    v = mu * v_prev - lr * grad_fn(phi)
    phi_next = phi - mu * v_prev + (1 + mu) * v
    config["velocity"] = v
    return phi_next - mu * v, config


def nesterov_momentum_via_actual_point(w, dw, config=None):
    """Recover the actual point x = w - mu*v_prev, take x + v, and return its look-ahead point."""
    import numpy as np

    config = {} if config is None else config
    lr = config.setdefault("learning_rate", 1e-2)
    mu = config.setdefault("momentum", 0.9)
    v_prev = config.get("velocity", np.zeros_like(w))
    actual = w - mu * v_prev
    v = mu * v_prev - lr * dw
    config["velocity"] = v
    return (actual + v) + mu * v, config


def adagrad_hypot(w, dw, config=None):
    """sqrt(cache + dw**2) as np.hypot(sqrt(cache), dw): the root of the new cache without squaring dw."""
    import numpy as np

    config = {} if config is None else config
    lr = config.setdefault("learning_rate", 1e-2)
    eps = config.setdefault("epsilon", 1e-8)
    root = np.hypot(np.sqrt(config.get("cache", np.zeros(np.shape(w)))), dw)
    config["cache"] = root * root
    return w - lr * dw / (root + eps), config


def adagrad_looped(w, dw, config=None):
    """Coordinate by coordinate with math.sqrt, in float64."""
    import math

    import numpy as np

    config = {} if config is None else config
    lr = config.setdefault("learning_rate", 1e-2)
    eps = config.setdefault("epsilon", 1e-8)
    g = np.asarray(dw, dtype=np.float64).ravel()
    cache = np.array(config.get("cache", np.zeros(np.shape(w))), dtype=np.float64).ravel()
    next_w = np.array(w, dtype=np.float64).ravel()
    for i in range(g.size):
        cache[i] += g[i] * g[i]
        next_w[i] -= lr * g[i] / (math.sqrt(cache[i]) + eps)
    config["cache"] = cache.reshape(np.shape(w))
    return next_w.reshape(np.shape(w)), config


def rmsprop_hypot(w, dw, config=None):
    """sqrt(rho*c + (1-rho)*dw**2) as hypot(sqrt(rho*c), sqrt(1-rho)*dw)."""
    import numpy as np

    config = {} if config is None else config
    lr = config.setdefault("learning_rate", 1e-2)
    rho = config.setdefault("decay_rate", 0.99)
    eps = config.setdefault("epsilon", 1e-8)
    cache = config.get("cache", np.zeros(np.shape(w)))
    root = np.hypot(np.sqrt(rho * cache), np.sqrt(1.0 - rho) * dw)
    config["cache"] = root ** 2
    return w - lr * dw / (root + eps), config


def rmsprop_float32_cache(w, dw, config=None):
    """Keeps the cache in float32, written with small helpers for the moving average and the RMS."""
    import numpy as np

    def moving_average(old, new, rate):
        return rate * old + (1.0 - rate) * new

    def rms(mean_square, eps):
        return np.sqrt(mean_square) + eps

    config = {} if config is None else config
    lr = config.setdefault("learning_rate", 1e-2)
    rho = config.setdefault("decay_rate", 0.99)
    eps = config.setdefault("epsilon", 1e-8)
    cache = moving_average(np.asarray(config.get("cache", 0.0), dtype=np.float64), np.square(dw), rho)
    config["cache"] = cache.astype(np.float32)
    return w - lr * dw / rms(cache, eps), config


def adadelta_single_root(w, dw, config=None):
    """The ratio of the two RMS under one square root, and both averages as lerps toward the new value."""
    import numpy as np

    config = {} if config is None else config
    lr = config.setdefault("learning_rate", 1.0)
    rho = config.setdefault("rho", 0.9)
    eps = config.setdefault("epsilon", 1e-6)
    cache = config.get("cache", np.zeros(np.shape(w)))
    delta = config.get("delta", np.zeros(np.shape(w)))
    cache = cache + (1.0 - rho) * (np.square(dw) - cache)
    step = -np.sqrt((delta + eps) / (cache + eps)) * dw
    config["cache"] = cache
    config["delta"] = delta + (1.0 - rho) * (np.square(step) - delta)
    return w + lr * step, config


def adadelta_looped(w, dw, config=None):
    """Coordinate by coordinate with math.sqrt, in float64."""
    import math

    import numpy as np

    config = {} if config is None else config
    lr = config.setdefault("learning_rate", 1.0)
    rho = config.setdefault("rho", 0.9)
    eps = config.setdefault("epsilon", 1e-6)
    shape = np.shape(w)
    g = np.asarray(dw, dtype=np.float64).ravel()
    cache = np.array(config.get("cache", np.zeros(shape)), dtype=np.float64).ravel()
    delta = np.array(config.get("delta", np.zeros(shape)), dtype=np.float64).ravel()
    next_w = np.array(w, dtype=np.float64).ravel()
    for i in range(g.size):
        cache[i] = rho * cache[i] + (1 - rho) * g[i] ** 2
        step = -math.sqrt(delta[i] + eps) / math.sqrt(cache[i] + eps) * g[i]
        delta[i] = rho * delta[i] + (1 - rho) * step ** 2
        next_w[i] += lr * step
    config["cache"], config["delta"] = cache.reshape(shape), delta.reshape(shape)
    return next_w.reshape(shape), config


def adam_expm1_corrections(w, dw, config=None):
    """Bias corrections 1 - beta**t as -expm1(t*log(beta)), moments as lerps toward the new gradient."""
    import math

    import numpy as np

    config = {} if config is None else config
    lr = config.setdefault("learning_rate", 1e-3)
    b1 = config.setdefault("beta1", 0.9)
    b2 = config.setdefault("beta2", 0.999)
    eps = config.setdefault("epsilon", 1e-8)
    t = int(config.get("t", 0)) + 1

    def one_minus_power(beta):
        return 1.0 if beta == 0 else -math.expm1(t * math.log(beta))

    m = config.get("m", np.zeros(np.shape(w)))
    v = config.get("v", np.zeros(np.shape(w)))
    m = m + (1 - b1) * (dw - m)
    v = v + (1 - b2) * (np.square(dw) - v)
    config.update(m=m, v=v, t=t)
    return w - lr * (m / one_minus_power(b1)) / (np.sqrt(v / one_minus_power(b2)) + eps), config


def adam_looped(w, dw, config=None):
    """Coordinate by coordinate with math.sqrt, in float64."""
    import math

    import numpy as np

    config = {} if config is None else config
    lr = config.setdefault("learning_rate", 1e-3)
    b1 = config.setdefault("beta1", 0.9)
    b2 = config.setdefault("beta2", 0.999)
    eps = config.setdefault("epsilon", 1e-8)
    shape = np.shape(w)
    t = config.get("t", 0) + 1
    g = np.asarray(dw, dtype=np.float64).ravel()
    m = np.array(config.get("m", np.zeros(shape)), dtype=np.float64).ravel()
    v = np.array(config.get("v", np.zeros(shape)), dtype=np.float64).ravel()
    next_w = np.array(w, dtype=np.float64).ravel()
    for i in range(g.size):
        m[i] = b1 * m[i] + (1 - b1) * g[i]
        v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
        next_w[i] -= lr * (m[i] / (1 - b1 ** t)) / (math.sqrt(v[i] / (1 - b2 ** t)) + eps)
    config["m"], config["v"], config["t"] = m.reshape(shape), v.reshape(shape), t
    return next_w.reshape(shape), config


def adamw_combined_direction(w, dw, config=None):
    """optax's order: the Adam direction plus the decay term wd*w, then one step of size lr."""
    import numpy as np

    config = {} if config is None else config
    lr = config.setdefault("learning_rate", 1e-3)
    b1 = config.setdefault("beta1", 0.9)
    b2 = config.setdefault("beta2", 0.999)
    eps = config.setdefault("epsilon", 1e-8)
    wd = config.setdefault("weight_decay", 1e-2)
    t = config.get("t", 0) + 1
    m = b1 * config.get("m", np.zeros(np.shape(w))) + (1 - b1) * dw
    v = b2 * config.get("v", np.zeros(np.shape(w))) + (1 - b2) * dw * dw
    direction = (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps) + wd * w
    config.update(m=m, v=v, t=t)
    return w - lr * direction, config


def adamw_looped_decay_last(w, dw, config=None):
    """Coordinate by coordinate: the Adam step first, then the decay lr*wd*w of the w given."""
    import math

    import numpy as np

    config = {} if config is None else config
    lr = config.setdefault("learning_rate", 1e-3)
    b1 = config.setdefault("beta1", 0.9)
    b2 = config.setdefault("beta2", 0.999)
    eps = config.setdefault("epsilon", 1e-8)
    wd = config.setdefault("weight_decay", 1e-2)
    shape = np.shape(w)
    t = config.get("t", 0) + 1
    g = np.asarray(dw, dtype=np.float64).ravel()
    w0 = np.asarray(w, dtype=np.float64).ravel()
    m = np.array(config.get("m", np.zeros(shape)), dtype=np.float64).ravel()
    v = np.array(config.get("v", np.zeros(shape)), dtype=np.float64).ravel()
    next_w = w0.copy()
    for i in range(g.size):
        m[i] = b1 * m[i] + (1 - b1) * g[i]
        v[i] = b2 * v[i] + (1 - b2) * g[i] ** 2
        next_w[i] -= lr * m[i] / (1 - b1 ** t) / (math.sqrt(v[i] / (1 - b2 ** t)) + eps)
        next_w[i] -= lr * wd * w0[i]
    config["m"], config["v"], config["t"] = m.reshape(shape), v.reshape(shape), t
    return next_w.reshape(shape), config


RIGHT_UPDATE_RULES = [
    ("sgd", sgd_cs231n),
    ("sgd", sgd_list_float32),
    ("sgd_momentum", sgd_momentum_cs231n),
    ("sgd_momentum", sgd_momentum_float32_state),
    ("sgd_momentum_ema", sgd_momentum_ema_rewritten),
    ("nesterov_momentum", nesterov_momentum_alternative),
    ("nesterov_lookahead", nesterov_lookahead_cs231n),
    ("adagrad", adagrad_in_place_config),
    ("rmsprop", rmsprop_other_algebra),
    ("adadelta", adadelta_zeiler),
    ("adam", adam_cs231n),
    ("adam", adam_float_t_list),
    ("adam", adam_float32),
    ("adamw", adamw_pytorch_order),
    ("sgd", sgd_looped),
    ("sgd_momentum", sgd_momentum_displacement),
    ("sgd_momentum_ema", sgd_momentum_ema_weighted_average),
    ("nesterov_lookahead", nesterov_lookahead_change_of_variables),
    ("nesterov_momentum", nesterov_momentum_via_actual_point),
    ("adagrad", adagrad_hypot),
    ("adagrad", adagrad_looped),
    ("rmsprop", rmsprop_hypot),
    ("rmsprop", rmsprop_float32_cache),
    ("adadelta", adadelta_single_root),
    ("adadelta", adadelta_looped),
    ("adam", adam_expm1_corrections),
    ("adam", adam_looped),
    ("adamw", adamw_combined_direction),
    ("adamw", adamw_looped_decay_last),
]


# --------------------------------------------------------------------------------------------
# wrong answers, written as students write them


def _defaults(config, **defaults):
    config = {} if config is None else config
    for key, value in defaults.items():
        config.setdefault(key, value)
    return config


def sgd_plus(w, dw, config=None):
    config = _defaults(config, learning_rate=1e-2)
    return w + config["learning_rate"] * dw, config


def sgd_hard_coded_lr(w, dw, config=None):
    config = _defaults(config, learning_rate=1e-2)
    return w - 0.01 * dw, config


def sgd_in_place(w, dw, config=None):
    config = _defaults(config, learning_rate=1e-2)
    w -= config["learning_rate"] * dw
    return w, config


def sgd_returns_only_w(w, dw, config=None):
    config = _defaults(config, learning_rate=1e-2)
    return w - config["learning_rate"] * dw


def sgd_overflow(w, dw, config=None):
    return w * np.float64(1e300) * np.float64(1e300) / (dw - dw), config or {}


def momentum_forgets_velocity(w, dw, config=None):
    config = _defaults(config, learning_rate=1e-2, momentum=0.9)
    v = config["momentum"] * np.zeros_like(w) - config["learning_rate"] * dw
    return w + v, config


def momentum_minus_v(w, dw, config=None):
    config = _defaults(config, learning_rate=1e-2, momentum=0.9)
    v = config["momentum"] * config.get("velocity", np.zeros_like(w)) - config["learning_rate"] * dw
    config["velocity"] = v
    return w - v, config


def momentum_pytorch(w, dw, config=None):
    config = _defaults(config, learning_rate=1e-2, momentum=0.9)
    buf = config["momentum"] * config.get("velocity", np.zeros_like(w)) + dw
    config["velocity"] = buf
    return w - config["learning_rate"] * buf, config


def momentum_no_lr(w, dw, config=None):
    config = _defaults(config, learning_rate=1e-2, momentum=0.9)
    v = config["momentum"] * config.get("velocity", np.zeros_like(w)) - dw
    config["velocity"] = v
    return w + v, config


def momentum_in_place_velocity(w, dw, config=None):
    config = _defaults(config, learning_rate=1e-2, momentum=0.9)
    if "velocity" not in config:
        config["velocity"] = np.zeros_like(w)
    v = config["velocity"]
    v *= config["momentum"]
    v -= config["learning_rate"] * dw
    return w + v, config


def ema_no_one_minus(w, dw, config=None):
    config = _defaults(config, learning_rate=1e-2, beta=0.9)
    m = config["beta"] * config.get("m", np.zeros_like(w)) + dw
    config["m"] = m
    return w - config["learning_rate"] * m, config


def nesterov_plain(w, dw, config=None):
    config = _defaults(config, learning_rate=1e-2, momentum=0.9)
    v = config["momentum"] * config.get("velocity", np.zeros_like(w)) - config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config


def nesterov_aliased_prev(w, dw, config=None):
    config = _defaults(config, learning_rate=1e-2, momentum=0.9)
    if "velocity" not in config:
        config["velocity"] = np.zeros_like(w)
    v = config["velocity"].copy()
    v_prev = v
    v *= config["momentum"]
    v -= config["learning_rate"] * dw
    config["velocity"] = v
    return w - config["momentum"] * v_prev + (1 + config["momentum"]) * v, config


def lookahead_at_w(w, grad_fn, config=None):
    config = _defaults(config, learning_rate=1e-2, momentum=0.9)
    v = config.get("velocity", np.zeros_like(w))
    v = config["momentum"] * v - config["learning_rate"] * grad_fn(w)
    config["velocity"] = v
    return w + v, config


def lookahead_minus(w, grad_fn, config=None):
    config = _defaults(config, learning_rate=1e-2, momentum=0.9)
    v = config.get("velocity", np.zeros_like(w))
    v = config["momentum"] * v - config["learning_rate"] * grad_fn(w - config["momentum"] * v)
    config["velocity"] = v
    return w + v, config


def adagrad_not_accumulated(w, dw, config=None):
    config = _defaults(config, learning_rate=1e-2, epsilon=1e-8)
    config["cache"] = dw**2
    return w - config["learning_rate"] * dw / (np.sqrt(config["cache"]) + config["epsilon"]), config


def adagrad_eps_inside(w, dw, config=None):
    config = _defaults(config, learning_rate=1e-2, epsilon=1e-8)
    config["cache"] = config.get("cache", 0 * w) + dw**2
    return w - config["learning_rate"] * dw / np.sqrt(config["cache"] + config["epsilon"]), config


def adagrad_no_sqrt(w, dw, config=None):
    config = _defaults(config, learning_rate=1e-2, epsilon=1e-8)
    config["cache"] = config.get("cache", 0 * w) + dw**2
    return w - config["learning_rate"] * dw / (config["cache"] + config["epsilon"]), config


def adagrad_precedence(w, dw, config=None):
    config = _defaults(config, learning_rate=1e-2, epsilon=1e-8)
    config["cache"] = config.get("cache", 0 * w) + dw**2
    return w - config["learning_rate"] * dw / np.sqrt(config["cache"]) + config["epsilon"], config


def rmsprop_no_one_minus(w, dw, config=None):
    config = _defaults(config, learning_rate=1e-2, decay_rate=0.99, epsilon=1e-8)
    config["cache"] = config["decay_rate"] * config.get("cache", 0 * w) + dw**2
    return w - config["learning_rate"] * dw / (np.sqrt(config["cache"]) + config["epsilon"]), config


def rmsprop_swapped(w, dw, config=None):
    config = _defaults(config, learning_rate=1e-2, decay_rate=0.99, epsilon=1e-8)
    d = config["decay_rate"]
    config["cache"] = (1 - d) * config.get("cache", 0 * w) + d * dw**2
    return w - config["learning_rate"] * dw / (np.sqrt(config["cache"]) + config["epsilon"]), config


def adadelta_no_eps_numerator(w, dw, config=None):
    config = _defaults(config, learning_rate=1.0, rho=0.9, epsilon=1e-6)
    rho, eps = config["rho"], config["epsilon"]
    cache = rho * config.get("cache", 0 * w) + (1 - rho) * dw**2
    delta = config.get("delta", 0 * w)
    update = np.sqrt(delta) / np.sqrt(cache + eps) * dw
    config.update(cache=cache, delta=rho * delta + (1 - rho) * update**2)
    return w - config["learning_rate"] * update, config


def adadelta_delta_frozen(w, dw, config=None):
    config = _defaults(config, learning_rate=1.0, rho=0.9, epsilon=1e-6)
    rho, eps = config["rho"], config["epsilon"]
    cache = rho * config.get("cache", 0 * w) + (1 - rho) * dw**2
    delta = config.get("delta", 0 * w)
    update = np.sqrt(delta + eps) / np.sqrt(cache + eps) * dw
    config.update(cache=cache, delta=delta)
    return w - config["learning_rate"] * update, config


def adadelta_no_lr(w, dw, config=None):
    config = _defaults(config, learning_rate=1.0, rho=0.9, epsilon=1e-6)
    rho, eps = config["rho"], config["epsilon"]
    cache = rho * config.get("cache", 0 * w) + (1 - rho) * dw**2
    delta = config.get("delta", 0 * w)
    update = np.sqrt(delta + eps) / np.sqrt(cache + eps) * dw
    config.update(cache=cache, delta=rho * delta + (1 - rho) * update**2)
    return w - update, config


def _adam_student(w, dw, config, *, correct=True, eps_inside=False, t_start=0, one_minus=True, swap=False,
                  root=True, lr_default=1e-3, store_m=True):
    config = _defaults(config, learning_rate=lr_default, beta1=0.9, beta2=0.999, epsilon=1e-8)
    b1, b2 = (config["beta2"], config["beta1"]) if swap else (config["beta1"], config["beta2"])
    t = config.get("t", t_start) + 1
    m = b1 * config.get("m", 0 * w) + ((1 - b1) if one_minus else 1) * dw
    v = b2 * config.get("v", 0 * w) + (1 - b2) * dw**2
    m_hat, v_hat = (m / (1 - b1**t), v / (1 - b2**t)) if correct else (m, v)
    denom = np.sqrt(v_hat + config["epsilon"]) if eps_inside else (np.sqrt(v_hat) if root else v_hat) + config["epsilon"]
    config.update(v=v, t=t)
    if store_m:
        config["m"] = m
    return w - config["learning_rate"] * m_hat / denom, config


def _named(function, name):
    function.__name__ = name
    return function


def _adam_variant(**switches):
    return _named(lambda w, dw, config=None: _adam_student(w, dw, config, **switches),
                  "adam_" + "_".join(f"{k}_{v}" for k, v in switches.items()))


def adamw_l2(w, dw, config=None):
    config = _defaults(config, weight_decay=1e-2)
    return _adam_student(w, dw + config["weight_decay"] * w, config)


def adamw_after(w, dw, config=None):
    config = _defaults(config, weight_decay=1e-2)
    next_w, config = _adam_student(w, dw, config)
    return next_w - config["learning_rate"] * config["weight_decay"] * next_w, config


def adamw_no_lr(w, dw, config=None):
    config = _defaults(config, weight_decay=1e-2)
    next_w, config = _adam_student(w, dw, config)
    return next_w - config["weight_decay"] * w, config


def not_implemented(w, dw, config=None):
    raise NotImplementedError


#: (rule, student's function, words the message must contain)
WRONG_UPDATE_RULES = [
    ("sgd", sgd_plus, "sign of the update is flipped"),
    ("sgd", sgd_hard_coded_lr, "learning rate from config is ignored"),
    ("sgd", sgd_in_place, "in place"),
    ("sgd", sgd_returns_only_w, "should return a pair (next_w, config)"),
    ("sgd_momentum", momentum_forgets_velocity, "velocity is not stored"),
    ("sgd_momentum", momentum_minus_v, "update is w + v, not w - v"),
    ("sgd_momentum", momentum_pytorch, "buffer (PyTorch / TF 1) form v = mu*v + dw, w -= lr*v, without rescaling"),
    ("sgd_momentum", momentum_no_lr, "learning rate is missing from the velocity"),
    ("sgd_momentum", momentum_in_place_velocity, "config['velocity'] it was given in place"),
    ("sgd_momentum_ema", ema_no_one_minus, "missing (1 - beta)"),
    ("nesterov_momentum", nesterov_plain, "plain momentum"),
    ("nesterov_momentum", nesterov_aliased_prev, "v_prev was read after the velocity was updated"),
    ("nesterov_lookahead", lookahead_at_w, "evaluated at w, not at the look-ahead point"),
    ("nesterov_lookahead", lookahead_minus, "look-ahead point has the wrong sign"),
    ("adagrad", adagrad_not_accumulated, "cache is not accumulated"),
    ("adagrad", adagrad_eps_inside, "eps inside the square root"),
    ("adagrad", adagrad_no_sqrt, "no square root"),
    ("adagrad", adagrad_precedence, "missing parentheses"),
    ("rmsprop", rmsprop_no_one_minus, "missing (1 - decay_rate)"),
    ("rmsprop", rmsprop_swapped, "decay_rate and (1 - decay_rate) swapped"),
    ("adadelta", adadelta_no_eps_numerator, "eps missing from the numerator"),
    ("adadelta", adadelta_delta_frozen, "delta is never updated"),
    ("adadelta", adadelta_no_lr, "learning rate is ignored"),
    ("adam", _adam_variant(correct=False), "no bias correction"),
    ("adam", _adam_variant(eps_inside=True), "eps inside the square root"),
    ("adam", _adam_variant(t_start=1), "t starts at 1 instead of 0"),
    ("adam", _adam_variant(swap=True), "beta1 and beta2 swapped"),
    ("adam", _adam_variant(one_minus=False), "missing (1 - beta1)"),
    ("adam", _adam_variant(root=False), "v instead of sqrt(v)"),
    ("adam", _adam_variant(lr_default=1e-2), "default learning rate"),
    ("adam", _adam_variant(store_m=False), "m is not stored in config"),
    ("adamw", adamw_l2, "L2 regularisation"),
    ("adamw", adamw_after, "decay is applied after the Adam step"),
    ("adamw", adamw_no_lr, "decay is not multiplied by the learning rate"),
    ("adamw", _adam_variant(), "no weight decay at all"),
]


# --------------------------------------------------------------------------------------------
# chapter 1: minibatches and lr_range_test


def minibatches_generator(X, y, batch_size, rng=None):
    n = len(X)
    order = np.arange(n)
    if rng is not None:
        order = rng.permutation(n)
    for start in range(0, n, batch_size):
        index = order[start:start + batch_size]
        yield X[index], y[index]


def minibatches_shuffle_indices(X, y, batch_size, rng=None):
    """rng.shuffle of an index array gives the same order as rng.permutation(N)."""
    index = np.arange(X.shape[0])
    if rng is not None:
        rng.shuffle(index)
    splits = np.array_split(index, range(batch_size, len(index), batch_size))
    return tuple((X[s], y[s]) for s in splits)


def minibatches_no_shuffle(X, y, batch_size, rng=None):
    return [(X[i:i + batch_size], y[i:i + batch_size]) for i in range(0, len(X), batch_size)]


def minibatches_drop_last(X, y, batch_size, rng=None):
    order = np.arange(len(X)) if rng is None else rng.permutation(len(X))
    return [(X[order[i:i + batch_size]], y[order[i:i + batch_size]])
            for i in range(0, len(X) - batch_size + 1, batch_size)]


def minibatches_with_replacement(X, y, batch_size, rng=None):
    order = np.arange(len(X)) if rng is None else rng.choice(len(X), size=len(X))
    return [(X[order[i:i + batch_size]], y[order[i:i + batch_size]]) for i in range(0, len(X), batch_size)]


def minibatches_shuffle_in_place(X, y, batch_size, rng=None):
    if rng is not None:
        state = rng.bit_generator.state
        rng.shuffle(X)
        rng.bit_generator.state = state
        rng.shuffle(y)
    return [(X[i:i + batch_size], y[i:i + batch_size]) for i in range(0, len(X), batch_size)]


def minibatches_global_random(X, y, batch_size, rng=None):
    order = np.arange(len(X)) if rng is None else np.random.default_rng(12345).permutation(len(X))
    return [(X[order[i:i + batch_size]], y[order[i:i + batch_size]]) for i in range(0, len(X), batch_size)]


def minibatches_separate(X, y, batch_size, rng=None):
    if rng is not None:
        X, y = rng.permutation(X), rng.permutation(y)
    return [(X[i:i + batch_size], y[i:i + batch_size]) for i in range(0, len(X), batch_size)]


def minibatches_not_implemented(X, y, batch_size, rng=None):
    raise NotImplementedError()


def minibatches_returns_none(X, y, batch_size, rng=None):
    pass


def lr_range_test_lists(loss_and_grad, w, min_lr=1e-6, max_lr=1.0, num_steps=100, divergence_factor=4.0):
    """Returns lists, computes the schedule with logspace of the logs, copies w first."""
    w = np.array(w, dtype=float)
    rates = np.logspace(np.log10(min_lr), np.log10(max_lr), num_steps)
    out_rates, out_losses, best = [], [], float("inf")
    for lr in rates:
        loss, grad = loss_and_grad(w)
        if not np.isfinite(loss):
            break
        out_rates.append(lr)
        out_losses.append(loss)
        if loss < best:
            best = loss
        if loss > divergence_factor * best:
            break
        w -= lr * grad
    return out_rates, out_losses


def lr_range_test_linear(loss_and_grad, w, min_lr=1e-6, max_lr=1.0, num_steps=100, divergence_factor=4.0):
    rates, losses, best = [], [], np.inf
    for lr in np.linspace(min_lr, max_lr, num_steps):
        loss, dw = loss_and_grad(w)
        rates.append(lr)
        losses.append(loss)
        best = min(best, loss)
        if loss > divergence_factor * best:
            break
        w = w - lr * dw
    return np.array(rates), np.array(losses)


def lr_range_test_no_stop(loss_and_grad, w, min_lr=1e-6, max_lr=1.0, num_steps=100, divergence_factor=4.0):
    rates, losses = np.geomspace(min_lr, max_lr, num_steps), []
    for lr in rates:
        loss, dw = loss_and_grad(w)
        losses.append(loss)
        w = w - lr * dw
    return rates, np.array(losses)


def lr_range_test_after_step(loss_and_grad, w, min_lr=1e-6, max_lr=1.0, num_steps=100, divergence_factor=4.0):
    rates, losses, best = [], [], np.inf
    for lr in np.geomspace(min_lr, max_lr, num_steps):
        _, dw = loss_and_grad(w)
        w = w - lr * dw
        loss, _ = loss_and_grad(w)
        rates.append(lr)
        losses.append(loss)
        best = min(best, loss)
        if loss > divergence_factor * best:
            break
    return np.array(rates), np.array(losses)


def lr_range_test_in_place(loss_and_grad, w, min_lr=1e-6, max_lr=1.0, num_steps=100, divergence_factor=4.0):
    rates, losses, best = [], [], np.inf
    for lr in np.geomspace(min_lr, max_lr, num_steps):
        loss, dw = loss_and_grad(w)
        rates.append(lr)
        losses.append(loss)
        best = min(best, loss)
        if loss > divergence_factor * best:
            break
        w -= lr * dw
    return np.array(rates), np.array(losses)


def lr_range_test_overflow(loss_and_grad, w, min_lr=1e-6, max_lr=1.0, num_steps=100, divergence_factor=4.0):
    rates, losses = np.geomspace(min_lr, max_lr, num_steps), []
    for lr in rates:
        loss, dw = loss_and_grad(w)
        losses.append(loss)
        w = w - 1e200 * lr * dw * np.exp(1000.0)
    return rates, np.array(losses)


def lr_range_test_not_implemented(loss_and_grad, w, min_lr=1e-6, max_lr=1.0, num_steps=100, divergence_factor=4.0):
    raise NotImplementedError


def minibatches_permute_then_slice(X, y, batch_size, rng=None):
    """Permutes whole arrays once (np.take), then cuts consecutive slices; the count is a ceiling division."""
    import numpy as np

    n = len(X)
    if rng is not None:
        order = rng.permutation(n)
        X, y = np.take(X, order, axis=0), np.take(y, order, axis=0)
    n_batches = -(-n // batch_size)
    return [(X[k * batch_size:(k + 1) * batch_size], y[k * batch_size:(k + 1) * batch_size])
            for k in range(n_batches)]


def lr_range_test_geometric_ratio(loss_and_grad, w, min_lr=1e-6, max_lr=1.0, num_steps=100,
                                  divergence_factor=4.0):
    """Each rate from the previous one by the constant ratio (max/min)**(1/(K-1)); a while loop."""
    import math

    import numpy as np

    ratio = (max_lr / min_lr) ** (1.0 / (num_steps - 1))
    rates, losses = [], []
    lowest = math.inf
    k = 0
    while k < num_steps:
        rate = max_lr if k == num_steps - 1 else min_lr * ratio ** k
        loss, dw = loss_and_grad(w)
        if not math.isfinite(loss):
            break
        rates.append(rate)
        losses.append(float(loss))
        lowest = loss if loss < lowest else lowest
        if loss > divergence_factor * lowest:
            break
        w = np.subtract(w, rate * np.asarray(dw))
        k += 1
    return np.asarray(rates, dtype=float), np.asarray(losses, dtype=float)


#: right answers of chapter 1 besides the update rules, written differently from the reference
RIGHT_MINIBATCHES = [minibatches_generator, minibatches_shuffle_indices, minibatches_permute_then_slice]
RIGHT_LR_RANGE_TESTS = [lr_range_test_lists, lr_range_test_geometric_ratio]


WRONG_MINIBATCHES = [
    (minibatches_no_shuffle, "not shuffled although an rng is given"),
    (minibatches_drop_last, "last, smaller minibatch is dropped"),
    (minibatches_with_replacement, "exactly once"),
    (minibatches_with_replacement, "sampling with replacement"),
    (minibatches_shuffle_in_place, "modified X or y in place"),
    (minibatches_global_random, "rng argument was never used"),
    (minibatches_separate, "do not hold the same examples"),
    (minibatches_not_implemented, "not implemented"),
    (minibatches_returns_none, "returned None"),
]

WRONG_LR_RANGE_TESTS = [
    (lr_range_test_linear, "linear spacing"),
    (lr_range_test_no_stop, "no early stop"),
    (lr_range_test_after_step, "recorded after the step"),
    (lr_range_test_in_place, "modified its input w in place"),
    (lr_range_test_not_implemented, "not implemented"),
]
