"""The catalogue of known mistakes for chapters 1-4, as runnable "mutant" implementations.

Each mutant has the signature of the reference function and reproduces one mistake students
make. When a student's answer differs from the reference, the graders run the mutants on the same
input; a mutant that reproduces the student's answer names the likely error in the message
("This looks like: ..."). When several mutants fit the steps so far, the one reproducing the most of
the student's outputs (every step of every run) wins; the catalogue's order breaks the remaining ties.
Several mutants may share a description (two ways of writing the same mistake).

The mutants are written independently of the reference: each rule has one plain implementation
with switches (``_adam(..., bias_correction=False)``), and with every switch at its default that
implementation *is* the correct rule (``tests/grading`` checks this against the reference).
"""

from __future__ import annotations

import copy
import functools
from typing import Callable, NamedTuple

import numpy as np


class Mistake(NamedTuple):
    """A known wrong implementation: ``function`` has the signature of the reference."""

    description: str
    function: Callable


def _mistake(description: str, base: Callable, **switches) -> Mistake:
    return Mistake(description, functools.partial(base, **switches))


def _start(w, dw, config, defaults):
    """Float arrays and a new config dict with the defaults filled in (nothing is aliased)."""
    merged = dict(defaults)
    for key, value in (config or {}).items():
        merged[key] = np.array(value, dtype=np.float64) if isinstance(value, np.ndarray) else value
    return np.array(w, dtype=np.float64), np.array(dw, dtype=np.float64), merged


def _state(config, key, like):
    value = config.get(key)
    return np.zeros_like(like) if value is None else np.array(value, dtype=np.float64)


# --------------------------------------------------------------------------------------------
# chapter 1: sgd


def _sgd(w, dw, config=None, *, sign=-1.0, lr_override=None, default_lr=1e-2):
    w, dw, config = _start(w, dw, config, {"learning_rate": default_lr})
    lr = config["learning_rate"] if lr_override is None else lr_override
    return w + sign * lr * dw, config


# --------------------------------------------------------------------------------------------
# chapter 2: momentum


def _sgd_momentum(
    w, dw, config=None, *, form="cs231n", store=True, key="velocity", w_sign=1.0, lr_in_velocity=True,
    damping=False, swap=False, old_velocity=False, lr_override=None, grad_sign=-1.0,
):
    w, dw, config = _start(w, dw, config, {"learning_rate": 1e-2, "momentum": 0.9})
    lr, mu = config["learning_rate"], config["momentum"]
    if lr_override is not None:
        lr = lr_override
    if swap:
        lr, mu = mu, lr
    v_old = _state(config, key, w) if store else np.zeros_like(w)
    if form == "pytorch":  # v = mu*v + dw; w -= lr*v (the velocity in units of a gradient)
        v = mu * v_old + dw
        next_w = w - lr * v
    elif form == "pytorch_negative":  # v = mu*v - dw; w += lr*v
        v = mu * v_old - dw
        next_w = w + lr * v
    else:
        scale = lr if lr_in_velocity else 1.0
        v = mu * v_old + grad_sign * scale * (1 - mu if damping else 1.0) * dw
        next_w = w + w_sign * (v_old if old_velocity else v)
    if store:
        config[key] = v
    return next_w, config


def _sgd_momentum_ema(
    w, dw, config=None, *, one_minus=True, swap=False, store=True, sign=-1.0, old_m=False, bias_correction=False,
    lr_override=None, m_init="zeros", raw_step=False, average_sign=1.0, one_minus_twice=False,
):
    w, dw, config = _start(w, dw, config, {"learning_rate": 1e-2, "beta": 0.9})
    lr, beta = config["learning_rate"], config["beta"]
    if lr_override is not None:
        lr = lr_override
    if swap:
        beta = 1 - beta
    m_old = _state(config, "m", w) if store else np.zeros_like(w)
    if m_init == "grad" and config.get("m") is None:  # m = config.get("m", dw)
        m_old = dw.copy()
    m = beta * m_old + average_sign * ((1 - beta) if one_minus else 1.0) * dw
    step = m_old if old_m else m
    if raw_step:
        step = dw
    if one_minus_twice:
        step = (1 - beta) * step
    if bias_correction:
        t = config.get("t", 0) + 1
        config["t"] = t
        step = step / (1 - beta**t)
    if store:
        config["m"] = m
    return w + sign * lr * step, config


# --------------------------------------------------------------------------------------------
# chapter 3: Nesterov


def _nesterov_momentum(
    w, dw, config=None, *, variant="correct", store=True, lr_override=None, damping=False,
):
    w, dw, config = _start(w, dw, config, {"learning_rate": 1e-2, "momentum": 0.9})
    lr, mu = config["learning_rate"], config["momentum"]
    if lr_override is not None:
        lr = lr_override
    v_prev = _state(config, "velocity", w) if store else np.zeros_like(w)
    if variant == "pytorch":  # buf = mu*buf + g; w -= lr*(g + mu*buf)
        buf = mu * v_prev + dw
        next_w = w - lr * (dw + mu * buf)
        v = buf
    elif variant == "negated":  # v = mu*v + lr*dw; next_w = w + mu*v_prev - (1 + mu)*v
        v = mu * v_prev + lr * dw
        next_w = w + mu * v_prev - (1 + mu) * v
    else:
        v = mu * v_prev - lr * (1 - mu if damping else 1.0) * dw
        if variant == "plain":
            next_w = w + v
        elif variant == "plus_prev":
            next_w = w + mu * v_prev + (1 + mu) * v
        elif variant == "one_minus":
            next_w = w - mu * v_prev + (1 - mu) * v
        elif variant == "minus":
            next_w = w + mu * v_prev - (1 + mu) * v
        else:
            next_w = w - mu * v_prev + (1 + mu) * v
    if store:
        config["velocity"] = v
    return next_w, config


def _nesterov_lookahead(
    w, grad_fn, config=None, *, look=1.0, use_mu=True, store=True, w_sign=1.0, rewritten=False, lr_override=None,
    grad_sign=-1.0, damping=False,
):
    config_defaults = {"learning_rate": 1e-2, "momentum": 0.9}
    w, _, config = _start(w, np.zeros_like(np.asarray(w, dtype=np.float64)), config, config_defaults)
    lr, mu = config["learning_rate"], config["momentum"]
    if lr_override is not None:
        lr = lr_override
    v_prev = _state(config, "velocity", w) if store else np.zeros_like(w)
    point = w + look * (mu if use_mu else 1.0) * v_prev
    g = np.asarray(grad_fn(point), dtype=np.float64)
    v = mu * v_prev + grad_sign * lr * (1 - mu if damping else 1.0) * g
    next_w = w - mu * v_prev + (1 + mu) * v if rewritten else w + w_sign * v
    if store:
        config["velocity"] = v
    return next_w, config


# --------------------------------------------------------------------------------------------
# chapter 4: adaptive methods


def _adagrad(
    w, dw, config=None, *, accumulate="sum", root=True, eps_inside=False, store=True, old_cache=False,
    square=True, sign=-1.0, lr_override=None, eps_on_w=False,
):
    w, dw, config = _start(w, dw, config, {"learning_rate": 1e-2, "epsilon": 1e-8})
    lr, eps = config["learning_rate"], config["epsilon"]
    if lr_override is not None:
        lr = lr_override
    cache_old = _state(config, "cache", w) if store else np.zeros_like(w)
    g2 = dw * dw if square else np.abs(dw)
    if accumulate == "sum":
        cache = cache_old + g2
    elif accumulate == "replace":
        cache = g2
    else:  # "rmsprop"
        cache = 0.99 * cache_old + 0.01 * g2
    used = cache_old if old_cache else cache
    if eps_inside:
        denominator = np.sqrt(used + eps)
    else:
        denominator = (np.sqrt(used) if root else used) + eps
    if store:
        config["cache"] = cache
    if eps_on_w:  # w - lr * dw / np.sqrt(cache) + eps
        return w + sign * lr * dw / np.sqrt(used) + eps, config
    return w + sign * lr * dw / denominator, config


def _rmsprop(
    w, dw, config=None, *, one_minus=True, swap=False, eps_inside=False, root=True, store=True, accumulate=False,
    old_cache=False, sign=-1.0, lr_override=None, eps_on_w=False,
):
    w, dw, config = _start(w, dw, config, {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8})
    lr, rho, eps = config["learning_rate"], config["decay_rate"], config["epsilon"]
    if lr_override is not None:
        lr = lr_override
    if swap:
        rho = 1 - rho
    cache_old = _state(config, "cache", w) if store else np.zeros_like(w)
    if accumulate:
        cache = cache_old + dw * dw
    else:
        cache = rho * cache_old + ((1 - rho) if one_minus else 1.0) * dw * dw
    used = cache_old if old_cache else cache
    denominator = np.sqrt(used + eps) if eps_inside else (np.sqrt(used) if root else used) + eps
    if store:
        config["cache"] = cache
    if eps_on_w:  # w - lr * dw / np.sqrt(cache) + eps
        return w + sign * lr * dw / np.sqrt(used) + eps, config
    return w + sign * lr * dw / denominator, config


def _adadelta(
    w, dw, config=None, *, eps_numerator=True, eps_denominator=True, update_delta=True, lr_override=None,
    delta_with_lr=False, eps_outside=False, one_minus=True, old_cache=False, store=True, sign=-1.0,
):
    w, dw, config = _start(w, dw, config, {"learning_rate": 1.0, "rho": 0.9, "epsilon": 1e-6})
    lr, rho, eps = config["learning_rate"], config["rho"], config["epsilon"]
    if lr_override is not None:
        lr = lr_override
    cache_old = _state(config, "cache", w) if store else np.zeros_like(w)
    delta_old = _state(config, "delta", w) if store else np.zeros_like(w)
    weight = (1 - rho) if one_minus else 1.0
    cache = rho * cache_old + weight * dw * dw
    used = cache_old if old_cache else cache
    if eps_outside:
        update = (np.sqrt(delta_old) + eps) / (np.sqrt(used) + eps) * dw
    else:
        numerator = np.sqrt(delta_old + (eps if eps_numerator else 0.0))
        denominator = np.sqrt(used + (eps if eps_denominator else 0.0))
        update = numerator / denominator * dw
    step = lr * update
    delta = rho * delta_old + weight * (step if delta_with_lr else update) ** 2 if update_delta else delta_old
    if store:
        config["cache"] = cache
        config["delta"] = delta
    return w + sign * step, config


_ADAM_DEFAULTS = {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}


def _adam(
    w, dw, config=None, *, weight_decay=None, correct_m=True, correct_v=True, t_offset=0, increment=True,
    correct_before_increment=False, eps_inside=False, eps_on_w=False, swap_betas=False, one_minus_1=True,
    one_minus_2=True, store_m=True, store_v=True, store_t=True, root=True, store_corrected=False,
    efficient=False, sign=-1.0, default_lr=1e-3, lr_override=None, decay="decoupled", square=True, t_start=0,
    numerator_dw=False, complement_power=False, swap_moments=False,
):
    defaults = dict(_ADAM_DEFAULTS, learning_rate=default_lr)
    if weight_decay is not None:
        defaults["weight_decay"] = weight_decay
    w, dw, config = _start(w, dw, config, defaults)
    lr, b1, b2, eps = config["learning_rate"], config["beta1"], config["beta2"], config["epsilon"]
    if lr_override is not None:
        lr = lr_override
    wd = config.get("weight_decay", 0.0) if weight_decay is not None else 0.0
    if swap_betas:
        b1, b2 = b2, b1
    g = dw + wd * w if decay == "l2" else dw
    m_old = _state(config, "m", w) if store_m else np.zeros_like(w)
    v_old = _state(config, "v", w) if store_v else np.zeros_like(w)
    t_old = int(config.get("t", t_start)) if store_t else t_start
    a1, a2 = (b2, b1) if swap_moments else (b1, b2)  # the betas of the moment updates
    m = a1 * m_old + ((1 - a1) if one_minus_1 else 1.0) * g
    v = a2 * v_old + ((1 - a2) if one_minus_2 else 1.0) * (g * g if square else g)
    t = t_old + 1 if increment else t_old
    t_used = (t_old if correct_before_increment else t) + t_offset
    if efficient:  # Section 2 of the paper: lr_t = lr*sqrt(1-b2^t)/(1-b1^t); eps added to sqrt(v)
        lr_t = lr * np.sqrt(1 - b2**t_used) / (1 - b1**t_used)
        step = lr_t * m / (np.sqrt(v) + eps)
    else:
        c1, c2 = ((1 - b1) ** t_used, (1 - b2) ** t_used) if complement_power else (1 - b1**t_used, 1 - b2**t_used)
        m_hat = m / c1 if correct_m else m
        v_hat = v / c2 if correct_v else v
        if numerator_dw:
            m_hat = g
        if eps_inside:
            denominator = np.sqrt(v_hat + eps)
        else:
            denominator = (np.sqrt(v_hat) if root else v_hat) + (0.0 if eps_on_w else eps)
        step = lr * m_hat / denominator
    next_w = w + sign * step
    if eps_on_w:
        next_w = next_w + eps
    if decay == "decoupled":
        next_w = next_w - lr * wd * w
    elif decay == "after":
        next_w = next_w - lr * wd * next_w
    elif decay == "no_lr":
        next_w = next_w - wd * w
    elif decay == "plus":
        next_w = next_w + lr * wd * w
    if store_corrected:
        m, v = m / (1 - b1**t_used), v / (1 - b2**t_used)
    if store_m:
        config["m"] = m
    if store_v:
        config["v"] = v
    if store_t:
        config["t"] = t
    return next_w, config


def _adamw(w, dw, config=None, **switches):
    switches.setdefault("weight_decay", 1e-2)
    return _adam(w, dw, config, **switches)


# --------------------------------------------------------------------------------------------
# mistakes of any rule: a hyperparameter hard-coded, the state not read back, the state not stored


def _hyperparameter_fixed(w, dw, config=None, *, base, key, value):
    """``base`` with ``config[key]`` replaced by a hard-coded ``value`` (the returned config keeps the given one)."""
    given = dict(config or {})
    next_w, returned = base(w, dw, {**given, key: value})
    if key in given:
        returned[key] = given[key]
    return next_w, returned


def _state_not_read(w, dw, config=None, *, base, keys):
    """``base`` starting every call from zero state for ``keys`` (read from nowhere), still storing the new state."""
    given = {key: value for key, value in (config or {}).items() if key not in keys}
    return base(w, dw, given)


def _state_kept(w, dw, config=None, *, base, keys):
    """``base`` whose new state for ``keys`` is never stored: the config keeps the state it came with.

    That is what a stub that pre-fills ``config.setdefault("cache", np.zeros_like(w))`` returns when the
    new state is not written back: the initial value (zeros, or the state given), every call.
    """
    given = dict(config or {})
    next_w, returned = base(w, dw, config)
    for key in keys:
        if given.get(key) is not None:
            returned[key] = copy.deepcopy(given[key])
        elif key == "t":
            returned[key] = 0
        else:
            returned[key] = np.zeros_like(np.asarray(w, dtype=np.float64))
    return next_w, returned


def _fixed(description: str, base: Callable, key: str, value) -> Mistake:
    return Mistake(description, functools.partial(_hyperparameter_fixed, base=base, key=key, value=value))


def _not_read(description: str, base: Callable, *keys: str) -> Mistake:
    return Mistake(description, functools.partial(_state_not_read, base=base, keys=keys))


def _kept(description: str, base: Callable, *keys: str) -> Mistake:
    return Mistake(description, functools.partial(_state_kept, base=base, keys=keys))


def _ignored(key: str) -> str:
    return f"the {key} from config is ignored (a fixed value is used): read config[{key!r}]"


def _unread(key: str, what: str) -> str:
    return (f"{what} is not read back from config (each call starts from {key} = 0, although the previous call "
            f"stored it): read config[{key!r}] at the start of every call")


#: The correct rules, written independently of the reference (tested against it).
PLAIN = {
    "sgd": _sgd,
    "sgd_momentum": _sgd_momentum,
    "sgd_momentum_ema": _sgd_momentum_ema,
    "nesterov_momentum": _nesterov_momentum,
    "nesterov_lookahead": _nesterov_lookahead,
    "adagrad": _adagrad,
    "rmsprop": _rmsprop,
    "adadelta": _adadelta,
    "adam": _adam,
    "adamw": _adamw,
}

_LR_IGNORED = "the learning rate from config is ignored (a fixed value is used): read config['learning_rate']"


_M_NOT_STORED = "m is not stored in config (config['m'] must carry the first moment to the next call)"
_V_NOT_STORED = "v is not stored in config (config['v'] must carry the second moment to the next call)"
_T_NOT_STORED = "t is not stored in config (config['t'] must carry the step count to the next call)"
_VELOCITY_NOT_STORED = "the velocity is not stored in config (config['velocity'] must carry v to the next call)"


def _adam_family(base: Callable, name: str) -> list[Mistake]:
    return [
        _mistake("no bias correction (divide m by 1 - beta1**t and v by 1 - beta2**t)", base,
                 correct_m=False, correct_v=False),
        _mistake("bias correction of m only (v also needs v / (1 - beta2**t))", base, correct_v=False),
        _mistake("bias correction of v only (m also needs m / (1 - beta1**t))", base, correct_m=False),
        _mistake("eps inside the square root (use sqrt(v_hat) + eps, not sqrt(v_hat + eps))", base, eps_inside=True),
        _mistake("the step count t is never incremented (t must grow by 1 at every call: t = t + 1, then the "
                 "bias correction with the new t)", base, increment=False, t_offset=1),
        _mistake("t starts at 1 instead of 0, so the bias correction uses t + 1 (the first call must use t = 1: "
                 "start from t = 0 and increment before the correction)", base, t_start=1),
        _mistake("the bias correction uses t + 1 (t must start at 0 in config and be incremented once per call, "
                 "before the correction)", base, t_offset=1),
        _mistake("the bias correction is computed before t is incremented (at the first call t = 0 and "
                 "1 - beta**0 = 0: increment t first)", base, correct_before_increment=True),
        _mistake("the bias correction divides by (1 - beta)**t instead of 1 - beta**t", base, complement_power=True),
        _mistake("beta1 and beta2 swapped (m uses beta1, v uses beta2)", base, swap_betas=True),
        _mistake("the numerator is dw instead of the bias-corrected first moment m_hat", base, numerator_dw=True),
        _mistake("missing (1 - beta1) in the first moment: m = beta1*m + (1 - beta1)*dw", base, one_minus_1=False),
        _mistake("missing (1 - beta2) in the second moment: v = beta2*v + (1 - beta2)*dw**2", base, one_minus_2=False),
        _mistake("missing (1 - beta1) and (1 - beta2) in the moment updates", base, one_minus_1=False, one_minus_2=False),
        _mistake("v instead of sqrt(v) in the denominator (divide by sqrt(v_hat) + eps)", base, root=False),
        _mistake("the second moment averages dw, not dw**2 (v = beta2*v + (1 - beta2)*dw**2)", base, square=False),
        _mistake("the paper's 'efficient' form (eps added to sqrt(v) before the bias correction); "
                 "this course uses Algorithm 1: m_hat / (sqrt(v_hat) + eps)", base, efficient=True),
        _mistake("eps added to the parameters instead of the denominator (w - lr*m_hat/sqrt(v_hat) + eps)", base,
                 eps_on_w=True),
        _mistake(_M_NOT_STORED, base, store_m=False),
        _mistake(_V_NOT_STORED, base, store_v=False),
        _mistake(_T_NOT_STORED, base, store_t=False),
        _mistake("the bias-corrected m_hat and v_hat are stored in config instead of m and v", base,
                 store_corrected=True),
        _mistake(f"the sign of the update is flipped (w + lr*...): {name} steps against the gradient", base, sign=1.0),
        _mistake("wrong default learning rate 1e-2 (Adam's default is 1e-3)", base, default_lr=1e-2),
        _mistake(_LR_IGNORED, base, lr_override=1e-3),
        _kept(_M_NOT_STORED, base, "m"),
        _kept(_V_NOT_STORED, base, "v"),
        _mistake("t is read from config but never incremented, so the first bias correction divides by "
                 "1 - beta**0 = 0 (nan): increment t first (t = config['t'] + 1), then correct with the new t",
                 base, increment=False),
        _mistake("beta1 and beta2 swapped in the moment updates (m = beta2*m + ..., v = beta1*v + ...; the bias "
                 "correction is right): m uses beta1, v uses beta2", base, swap_moments=True),
        _not_read(_unread("m", "the first moment m"), base, "m"),
        _not_read(_unread("v", "the second moment v"), base, "v"),
        _fixed(_ignored("beta1"), base, "beta1", 0.9),
        _fixed(_ignored("beta2"), base, "beta2", 0.999),
        _fixed(_ignored("epsilon"), base, "epsilon", 1e-8),
    ]


_NESTEROV_NEGATED = ("the velocity is stored with the opposite sign (v = mu*v + lr*g, then w - v): this course "
                     "stores v = mu*v - lr*g (config['velocity'] is what the next call reads)")
_NESTEROV_DAMPED = ("a (1 - momentum) factor on the gradient (that is the EMA form): v = mu*v - lr*g, with no "
                    "(1 - mu)")
_NESTEROV_UNREAD = ("the velocity is not read back from config (each call starts from zero: there is no momentum); "
                    "read config['velocity'] stored by the previous call")
_ADAGRAD_NOT_STORED = "the cache is not stored in config (config['cache'] must carry the sum to the next call)"
_RMSPROP_NOT_STORED = "the cache is not stored in config (config['cache'] must carry the average to the next call)"
_ADADELTA_NOT_STORED = ("the state is not stored in config (config['cache'] and config['delta'] carry it to the "
                        "next call)")
_EMA_M_NOT_STORED = "m is not stored in config (config['m'] must carry the average to the next call)"

UPDATE_RULE_MISTAKES: dict[str, list[Mistake]] = {
    "sgd": [
        _mistake("the sign of the update is flipped (w + lr*dw): gradient descent steps against the gradient, "
                 "w - lr*dw", _sgd, sign=1.0),
        _mistake(_LR_IGNORED, _sgd, lr_override=1e-2),
        _mistake("the learning rate is not applied (w - dw): multiply dw by config['learning_rate']", _sgd,
                 lr_override=1.0),
        _mistake("the update is w - lr*dw with the wrong default learning rate 1e-3 (the default is 1e-2)", _sgd,
                 default_lr=1e-3),
    ],
    "sgd_momentum": [
        _mistake(_VELOCITY_NOT_STORED, _sgd_momentum, store=False),
        _kept(_VELOCITY_NOT_STORED, _sgd_momentum, "velocity"),
        _mistake("the velocity is added with the wrong sign: with v = mu*v - lr*dw the update is w + v, not w - v",
                 _sgd_momentum, w_sign=-1.0),
        _mistake("the velocity is stored with the opposite sign (v = mu*v + lr*dw, then w - v): this course "
                 "stores v = mu*v - lr*dw and updates w + v", _sgd_momentum, grad_sign=1.0, w_sign=-1.0),
        _mistake("the sign of the update is flipped (v = mu*v + lr*dw, w + v): momentum steps against the "
                 "gradient, v = mu*v - lr*dw", _sgd_momentum, grad_sign=1.0),
        _mistake("the learning rate is missing from the velocity: v = mu*v - lr*dw", _sgd_momentum,
                 lr_in_velocity=False),
        _mistake("the buffer (PyTorch / TF 1) form v = mu*v + dw, w -= lr*v, without rescaling: it stores the "
                 "velocity in units of a gradient; this course stores v = mu*v - lr*dw and updates w + v",
                 _sgd_momentum, form="pytorch"),
        _mistake("the buffer form without rescaling: v = mu*v - dw, w += lr*v stores the velocity without the "
                 "learning rate; this course stores v = mu*v - lr*dw and updates w + v", _sgd_momentum,
                 form="pytorch_negative"),
        _mistake("a (1 - momentum) factor on the gradient (that is the EMA form, sgd_momentum_ema): "
                 "v = mu*v - lr*dw", _sgd_momentum, damping=True),
        _mistake("momentum and learning_rate swapped", _sgd_momentum, swap=True),
        _mistake("w is updated with the previous velocity: compute v = mu*v - lr*dw first, then w + v",
                 _sgd_momentum, old_velocity=True),
        _mistake(_LR_IGNORED, _sgd_momentum, lr_override=1e-2),
        _not_read("the velocity is not read back from config (each call starts from zero: this is plain SGD); "
                  "read config['velocity'] stored by the previous call", _sgd_momentum, "velocity"),
        _fixed(_ignored("momentum"), _sgd_momentum, "momentum", 0.9),
    ],
    "sgd_momentum_ema": [
        _mistake("missing (1 - beta): m = beta*m + (1 - beta)*dw", _sgd_momentum_ema, one_minus=False),
        _mistake("beta and (1 - beta) swapped: m = beta*m + (1 - beta)*dw", _sgd_momentum_ema, swap=True),
        _mistake(_EMA_M_NOT_STORED, _sgd_momentum_ema, store=False),
        _kept(_EMA_M_NOT_STORED, _sgd_momentum_ema, "m"),
        _mistake("the sign of the update is flipped (w + lr*m); the update is w - lr*m", _sgd_momentum_ema, sign=1.0),
        _mistake("w is updated with the previous m: compute m = beta*m + (1 - beta)*dw first, then w - lr*m",
                 _sgd_momentum_ema, old_m=True),
        _mistake("a bias correction m / (1 - beta**t) (that belongs to Adam, not to this rule)", _sgd_momentum_ema,
                 bias_correction=True),
        _mistake(_LR_IGNORED, _sgd_momentum_ema, lr_override=1e-2),
        _mistake("m starts at the first gradient (config.get('m', dw)): the average starts at m = 0 "
                 "(np.zeros_like(w))", _sgd_momentum_ema, m_init="grad"),
        _mistake("the step uses the raw gradient (w - lr*dw) instead of the average: next_w = w - lr*m",
                 _sgd_momentum_ema, raw_step=True),
        _mistake("the sign inside the average is flipped (m = beta*m - (1 - beta)*dw): the average is "
                 "m = beta*m + (1 - beta)*dw, then w - lr*m", _sgd_momentum_ema, average_sign=-1.0),
        _mistake("(1 - beta) applied twice (w - lr*(1 - beta)*m): m already carries the factor, the update is "
                 "w - lr*m", _sgd_momentum_ema, one_minus_twice=True),
        _not_read(_unread("m", "the average m"), _sgd_momentum_ema, "m"),
        _fixed(_ignored("beta"), _sgd_momentum_ema, "beta", 0.9),
    ],
    "nesterov_momentum": [
        _mistake("plain momentum (w + v) instead of Nesterov's w - mu*v_prev + (1 + mu)*v; or v_prev was read "
                 "after the velocity was updated (keep a copy of the old velocity)", _nesterov_momentum,
                 variant="plain"),
        _mistake("the sign of the mu*v_prev term is flipped (w + mu*v_prev + ...); the update is "
                 "next_w = w - mu*v_prev + (1 + mu)*v", _nesterov_momentum,
                 variant="plus_prev"),
        _mistake("(1 - mu) instead of (1 + mu) (w - mu*v_prev + (1 - mu)*v); the update is next_w = w - mu*v_prev + (1 + mu)*v", _nesterov_momentum,
                 variant="one_minus"),
        _mistake("both signs flipped (w + mu*v_prev - (1 + mu)*v); the update is next_w = w - mu*v_prev + (1 + mu)*v", _nesterov_momentum, variant="minus"),
        _mistake(_VELOCITY_NOT_STORED, _nesterov_momentum, store=False),
        _kept(_VELOCITY_NOT_STORED, _nesterov_momentum, "velocity"),
        _mistake("the velocity is stored in PyTorch's units (buf = mu*buf + dw); this course stores "
                 "v = mu*v - lr*dw", _nesterov_momentum, variant="pytorch"),
        _mistake(_LR_IGNORED, _nesterov_momentum, lr_override=1e-2),
        _mistake(_NESTEROV_NEGATED, _nesterov_momentum, variant="negated"),
        _mistake(_NESTEROV_DAMPED, _nesterov_momentum, damping=True),
        _not_read(_NESTEROV_UNREAD, _nesterov_momentum, "velocity"),
        _fixed(_ignored("momentum"), _nesterov_momentum, "momentum", 0.9),
    ],
    "nesterov_lookahead": [
        _mistake("the gradient is evaluated at w, not at the look-ahead point w + mu*v (that is plain momentum)",
                 _nesterov_lookahead, look=0.0),
        _mistake("the look-ahead point has the wrong sign: evaluate grad_fn at w + mu*v, not w - mu*v",
                 _nesterov_lookahead, look=-1.0),
        _mistake("the look-ahead point misses mu: evaluate grad_fn at w + mu*v, not w + v", _nesterov_lookahead,
                 use_mu=False),
        _mistake(_VELOCITY_NOT_STORED, _nesterov_lookahead, store=False),
        _kept(_VELOCITY_NOT_STORED, _nesterov_lookahead, "velocity"),
        _mistake("the velocity is added with the wrong sign: with v = mu*v - lr*g the update is w + v, not w - v",
                 _nesterov_lookahead, w_sign=-1.0),
        _mistake("the rewritten form's update (w - mu*v_prev + (1 + mu)*v) used together with the look-ahead "
                 "gradient; the look-ahead form updates w + v", _nesterov_lookahead, rewritten=True),
        _mistake(_LR_IGNORED, _nesterov_lookahead, lr_override=1e-2),
        _mistake(_NESTEROV_NEGATED, _nesterov_lookahead, grad_sign=1.0, w_sign=-1.0, look=-1.0),
        _mistake(_NESTEROV_NEGATED, _nesterov_lookahead, grad_sign=1.0, w_sign=-1.0),
        _mistake(_NESTEROV_DAMPED, _nesterov_lookahead, damping=True),
        _not_read(_NESTEROV_UNREAD, _nesterov_lookahead, "velocity"),
        _fixed(_ignored("momentum"), _nesterov_lookahead, "momentum", 0.9),
    ],
    "adagrad": [
        _mistake("the cache is not accumulated (cache = dw**2 replaces it): Adagrad sums, cache = cache + dw**2",
                 _adagrad, accumulate="replace"),
        _mistake("the cache is a decaying average (that is RMSProp): Adagrad sums, cache = cache + dw**2",
                 _adagrad, accumulate="rmsprop"),
        _mistake("no square root: divide by sqrt(cache) + eps, not cache + eps", _adagrad, root=False),
        _mistake("eps inside the square root (use sqrt(cache) + eps, not sqrt(cache + eps))", _adagrad,
                 eps_inside=True),
        _mistake("eps is added to w, not to the denominator (missing parentheses): "
                 "w - lr * dw / (np.sqrt(cache) + eps)", _adagrad, eps_on_w=True),
        _mistake(_ADAGRAD_NOT_STORED, _adagrad, store=False),
        _kept(_ADAGRAD_NOT_STORED, _adagrad, "cache"),
        _mistake("the step uses the old cache: add dw**2 to the cache first, then divide", _adagrad, old_cache=True),
        _mistake("the cache sums |dw| instead of dw**2", _adagrad, square=False),
        _mistake("the sign of the update is flipped (w + lr*dw / ...); the update is w - lr*dw / (sqrt(cache) + eps)", _adagrad, sign=1.0),
        _mistake(_LR_IGNORED, _adagrad, lr_override=1e-2),
        _fixed(_ignored("epsilon"), _adagrad, "epsilon", 1e-8),
    ],
    "rmsprop": [
        _mistake("missing (1 - decay_rate): cache = decay_rate*cache + (1 - decay_rate)*dw**2", _rmsprop,
                 one_minus=False),
        _mistake("decay_rate and (1 - decay_rate) swapped: cache = decay_rate*cache + (1 - decay_rate)*dw**2",
                 _rmsprop, swap=True),
        _mistake("eps inside the square root (use sqrt(cache) + eps, not sqrt(cache + eps))", _rmsprop,
                 eps_inside=True),
        _mistake("eps is added to w, not to the denominator (missing parentheses): "
                 "w - lr * dw / (np.sqrt(cache) + eps)", _rmsprop, eps_on_w=True),
        _mistake("no square root: divide by sqrt(cache) + eps, not cache + eps", _rmsprop, root=False),
        _mistake(_RMSPROP_NOT_STORED, _rmsprop, store=False),
        _kept(_RMSPROP_NOT_STORED, _rmsprop, "cache"),
        _mistake("the cache is summed (that is Adagrad): RMSProp averages, "
                 "cache = decay_rate*cache + (1 - decay_rate)*dw**2", _rmsprop, accumulate=True),
        _mistake("the step uses the old cache: update the cache first, then divide", _rmsprop, old_cache=True),
        _mistake("the sign of the update is flipped (w + lr*dw / ...); the update is w - lr*dw / (sqrt(cache) + eps)", _rmsprop, sign=1.0),
        _mistake(_LR_IGNORED, _rmsprop, lr_override=1e-2),
        _not_read(_unread("cache", "the cache"), _rmsprop, "cache"),
        _fixed(_ignored("decay_rate"), _rmsprop, "decay_rate", 0.99),
        _fixed(_ignored("epsilon"), _rmsprop, "epsilon", 1e-8),
    ],
    "adadelta": [
        _mistake("eps missing from the numerator: sqrt(delta + eps) (with delta = 0 at the start, the step is 0)",
                 _adadelta, eps_numerator=False),
        _mistake("eps missing from the denominator: sqrt(cache + eps)", _adadelta, eps_denominator=False),
        _mistake("delta is never updated: after the step, delta = rho*delta + (1 - rho)*update**2", _adadelta,
                 update_delta=False),
        _mistake("the learning rate is ignored: next_w = w - learning_rate*update", _adadelta, lr_override=1.0),
        _mistake("delta accumulates the step scaled by the learning rate: delta = rho*delta + (1 - rho)*update**2 "
                 "with update = sqrt(delta + eps) / sqrt(cache + eps) * dw (before the learning rate)", _adadelta,
                 delta_with_lr=True),
        _mistake("eps outside the square roots: Adadelta uses sqrt(delta + eps) / sqrt(cache + eps)", _adadelta,
                 eps_outside=True),
        _mistake("missing (1 - rho) in the running averages", _adadelta, one_minus=False),
        _mistake("the step uses the old cache: update the cache with dw**2 first", _adadelta, old_cache=True),
        _mistake(_ADADELTA_NOT_STORED, _adadelta, store=False),
        _kept(_ADADELTA_NOT_STORED, _adadelta, "cache", "delta"),
        _mistake("the sign of the update is flipped (w + learning_rate*update); the update is next_w = w - learning_rate*update", _adadelta, sign=1.0),
        _not_read(_unread("cache", "the cache"), _adadelta, "cache"),
        _not_read(_unread("delta", "delta"), _adadelta, "delta"),
        _not_read("the state is not read back from config (each call starts from cache = 0 and delta = 0, although "
                  "the previous call stored them): read config['cache'] and config['delta'] at the start of every "
                  "call", _adadelta, "cache", "delta"),
        _fixed(_ignored("rho"), _adadelta, "rho", 0.9),
        _fixed(_ignored("epsilon"), _adadelta, "epsilon", 1e-6),
    ],
    "adam": _adam_family(_adam, "adam"),
    "adamw": [
        _mistake("L2 regularisation (weight_decay*w added to the gradient) instead of decoupled weight decay: "
                 "AdamW computes m and v from dw alone and subtracts learning_rate*weight_decay*w separately",
                 _adamw, decay="l2"),
        _mistake("the decay is applied after the Adam step with the updated w: decay the w you were given, "
                 "next_w = w - lr*(m_hat/(sqrt(v_hat) + eps) + weight_decay*w)", _adamw, decay="after"),
        _mistake("the decay is not multiplied by the learning rate: subtract learning_rate*weight_decay*w",
                 _adamw, decay="no_lr"),
        _mistake("no weight decay at all (that is plain Adam): subtract learning_rate*weight_decay*w", _adamw,
                 decay="none"),
        _mistake("the weight decay has the wrong sign (+ learning_rate*weight_decay*w): subtract learning_rate*weight_decay*w", _adamw, decay="plus"),
        *_adam_family(_adamw, "adamw"),
        _fixed(_ignored("weight_decay"), _adamw, "weight_decay", 1e-2),
    ],
}


# --------------------------------------------------------------------------------------------
# chapter 1: minibatches and the learning-rate range test


def _minibatches(X, y, batch_size, rng=None, *, variant="correct"):
    X, y = np.asarray(X), np.asarray(y)
    n = X.shape[0]
    if rng is None:
        order = np.arange(n)
        if variant == "shuffle_without_rng":
            order = np.random.default_rng(0).permutation(n)
    elif variant == "no_shuffle":
        order = np.arange(n)
    elif variant == "replacement":
        order = rng.integers(0, n, size=n)
    elif variant == "choice_replacement":
        order = rng.choice(n, size=n)
    elif variant == "choice":
        order = rng.choice(n, size=n, replace=False)
    elif variant == "separate":
        X, y = rng.permutation(X), rng.permutation(y)
        order = np.arange(n)
    else:
        order = rng.permutation(n)
    if variant == "n_batches":
        return [(X[part], y[part]) for part in np.array_split(order, batch_size)]
    stop = n - n % batch_size if variant == "drop_last" else n
    if variant == "floor_count":
        stop = (n // batch_size) * batch_size
    batches = [(X[order[s:s + batch_size]], y[order[s:s + batch_size]]) for s in range(0, stop, batch_size)]
    if variant == "off_by_one":
        batches = [(X[order[s:s + batch_size - 1]], y[order[s:s + batch_size - 1]])
                   for s in range(0, n, batch_size - 1 or 1)]
    return batches


MINIBATCH_MISTAKES: list[Mistake] = [
    _mistake("the examples are not shuffled although an rng is given: visit them in the order "
             "rng.permutation(N)", _minibatches, variant="no_shuffle"),
    _mistake("the last, smaller minibatch is dropped: keep it (an epoch visits every example)", _minibatches,
             variant="drop_last"),
    _mistake("sampling with replacement (rng.integers(0, N, N), or rng.choice(N, N), which replaces by default): "
             "an epoch visits every example exactly once, use rng.permutation(N)", _minibatches, variant="replacement"),
    _mistake("a different random call (rng.choice(N, N, replace=False)): the course shuffles with "
             "rng.permutation(N), so that the same seed gives the same batches", _minibatches, variant="choice"),
    _mistake("batch_size used as the number of batches (np.array_split(..., batch_size)): batch_size is the "
             "number of examples per batch", _minibatches, variant="n_batches"),
    _mistake("the examples are shuffled although rng is None: keep the order when no rng is given",
             _minibatches, variant="shuffle_without_rng"),
]


def _lr_range_test(
    loss_and_grad, w, min_lr=1e-6, max_lr=1.0, num_steps=100, divergence_factor=4.0, *, spacing="geom",
    early_stop=True, record_after=False, reference="best", record_divergent=True, swap_outputs=False,
):
    w = np.array(w, dtype=np.float64)
    if spacing == "geom":
        schedule = np.geomspace(min_lr, max_lr, num_steps)
    elif spacing == "linear":
        schedule = np.linspace(min_lr, max_lr, num_steps)
    elif spacing == "logspace":
        schedule = np.logspace(min_lr, max_lr, num_steps)
    else:  # "open": k / K instead of k / (K - 1)
        schedule = min_lr * (max_lr / min_lr) ** (np.arange(num_steps) / num_steps)
    rates, losses = [], []
    best, first, previous = np.inf, None, None
    for lr in schedule:
        loss, dw = loss_and_grad(w.copy())
        loss = float(loss)
        if record_after:
            w = w - lr * np.asarray(dw, dtype=np.float64)
            loss, dw = loss_and_grad(w.copy())
            loss = float(loss)
        if not np.isfinite(loss):
            break
        first = loss if first is None else first
        if reference == "best":
            best = min(best, loss)
            threshold = divergence_factor * best
        elif reference == "first":
            threshold = divergence_factor * first
        else:  # "previous"
            threshold = divergence_factor * (previous if previous is not None else loss)
            previous = loss
        diverged = early_stop and loss > threshold
        if diverged and not record_divergent:
            break
        rates.append(float(lr))
        losses.append(loss)
        if diverged:
            break
        if not record_after:
            w = w - lr * np.asarray(dw, dtype=np.float64)
    result = (np.array(rates), np.array(losses))
    return result[::-1] if swap_outputs else result


LR_RANGE_MISTAKES: list[Mistake] = [
    _mistake("linear spacing (np.linspace): the learning rates grow geometrically, np.geomspace(min_lr, max_lr, "
             "num_steps)", _lr_range_test, spacing="linear"),
    _mistake("np.logspace(min_lr, max_lr, ...) takes exponents, not values: use np.geomspace(min_lr, max_lr, "
             "num_steps)", _lr_range_test, spacing="logspace"),
    _mistake("the sweep does not end at max_lr: the exponent is k/(K - 1), k = 0..K-1 (np.geomspace)",
             _lr_range_test, spacing="open"),
    _mistake("no early stop: stop once loss > divergence_factor * (smallest loss so far)", _lr_range_test,
             early_stop=False),
    _mistake("the loss is recorded after the step: record the loss at the current w, then update w",
             _lr_range_test, record_after=True),
    _mistake("the divergence test compares with the first loss: compare with the smallest loss so far",
             _lr_range_test, reference="first"),
    _mistake("the divergence test compares with the previous loss: compare with the smallest loss so far",
             _lr_range_test, reference="previous"),
    _mistake("the diverging loss is not recorded: record (learning rate, loss) first, then stop",
             _lr_range_test, record_divergent=False),
    _mistake("the two outputs are swapped: return (learning_rates, losses)", _lr_range_test, swap_outputs=True),
]
