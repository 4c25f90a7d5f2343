"""Independent correct implementations of the chapter 5-9 functions, written differently from the
reference (numpy instead of math, float32 where harmless, other but equivalent algebra, other cache
layouts): the graders must accept every one of them.
"""

from __future__ import annotations

import bisect
import math

import numpy as np


# --- chapter 5: schedules ---------------------------------------------------------------------

def exponential_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False):
    p = np.floor_divide(global_step, decay_steps) if staircase else np.divide(global_step, decay_steps)
    return np.float64(learning_rate) * np.power(decay_rate, p, dtype=np.float64)


def exponential_decay_via_log(learning_rate, global_step, decay_steps, decay_rate, staircase=False):
    p = global_step // decay_steps if staircase else global_step / decay_steps
    return learning_rate * math.exp(p * math.log(decay_rate))


def inverse_time_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False):
    p = global_step / decay_steps
    if staircase:
        p = int(p)  # truncation equals floor for global_step >= 0
    return learning_rate * (1.0 + decay_rate * p) ** -1


def natural_exp_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False):
    p = math.floor(global_step / decay_steps) if staircase else global_step / decay_steps
    return float(np.exp(np.log(learning_rate) - decay_rate * p))


def piecewise_constant(global_step, boundaries, values):
    return values[bisect.bisect_left(list(boundaries), global_step)]


def piecewise_constant_loop(global_step, boundaries, values):
    for boundary, value in zip(boundaries, values):
        if global_step <= boundary:
            return value
    return values[-1]


def polynomial_decay(learning_rate, global_step, decay_steps, end_learning_rate=1e-4, power=1.0, cycle=False):
    if cycle:
        multiplier = max(1, -(-global_step // decay_steps))  # ceil without floats; 1 at step 0
        decay_steps = decay_steps * multiplier
    else:
        global_step = min(global_step, decay_steps)
    remaining = 1 - global_step / decay_steps
    return end_learning_rate + (learning_rate - end_learning_rate) * remaining ** power


def cosine_decay(learning_rate, global_step, decay_steps, alpha=0.0):
    t = np.clip(global_step / decay_steps, 0.0, 1.0)
    cosine = np.cos(np.pi * t) / 2 + 0.5
    return learning_rate * (alpha + (1 - alpha) * cosine)


def step_decay(learning_rate, epoch, drop=0.5, epochs_drop=10):
    return learning_rate * drop ** (epoch // epochs_drop)


def step_decay_float32(learning_rate, epoch, drop=0.5, epochs_drop=10):
    # float32 is harmless here: relative error ~1e-7
    return np.float32(learning_rate) * np.float32(drop) ** np.float32(epoch // epochs_drop)


# --- chapter 6: batch normalization (its own cache layout: a dict) ----------------------------

def batchnorm_forward(x, gamma, beta, bn_param):
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    n, d = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(d))
    running_var = bn_param.get("running_var", np.zeros(d))
    if mode == "train":
        mean = np.sum(x, axis=0) / n
        centered = x - mean
        var = np.sum(centered ** 2, axis=0) / n
        std = np.sqrt(var + eps)
        x_hat = centered / std
        out = x_hat * gamma + beta
        bn_param["running_mean"] = running_mean + (1 - momentum) * (mean - running_mean)
        bn_param["running_var"] = running_var + (1 - momentum) * (var - running_var)
        cache = {"x_hat": x_hat, "gamma": gamma, "std": std}
    else:
        out = (x - running_mean) / np.sqrt(running_var + eps) * gamma + beta
        cache = None
    return out, cache


def batchnorm_backward(dout, cache):
    """Staged backward through the computational graph."""
    x_hat, gamma, std = cache["x_hat"], cache["gamma"], cache["std"]
    n = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = np.einsum("nd,nd->d", dout, x_hat)
    dx_hat = dout * gamma
    centered = x_hat * std
    dvar = np.sum(dx_hat * centered, axis=0) * -0.5 * std ** -3
    dmean = -dx_hat.sum(axis=0) / std + dvar * np.mean(-2.0 * centered, axis=0)
    dx = dx_hat / std + dvar * 2.0 * centered / n + dmean / n
    return dx, dgamma, dbeta


def batchnorm_backward_alt(dout, cache):
    x_hat, gamma, std = cache["x_hat"], cache["gamma"], cache["std"]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx = gamma / std * (dout - dout.mean(axis=0) - x_hat * (dout * x_hat).mean(axis=0))
    return dx, dgamma, dbeta


# --- chapter 8: ensembles ---------------------------------------------------------------------

def ensemble_predict(probs):
    probs = list(probs)
    total = probs[0].astype(np.float64).copy()
    for p in probs[1:]:
        total += p
    return total / len(probs)


def polyak_average(params_history):
    return np.mean(np.asarray(params_history, dtype=np.float64), axis=0)


def polyak_average_generator(params_history):
    count = 0
    total = 0.0
    for params in (np.asarray(p) for p in params_history):
        total = total + params
        count += 1
    return total / count


def ema_update(average, params, decay=0.999):
    return params - decay * (params - average)


# --- chapter 9: second order ------------------------------------------------------------------

def newton_step(grad, hessian):
    return -np.linalg.inv(hessian) @ grad


def newton_step_cholesky(grad, hessian):
    lower = np.linalg.cholesky(hessian)
    z = np.linalg.solve(lower, grad)
    return -np.linalg.solve(lower.T, z)


def bfgs_update(H_inv, s, y):
    """The expanded form (Nocedal & Wright, eq. 6.17 multiplied out)."""
    sy = s @ y
    Hy = H_inv @ y
    return (H_inv + (sy + y @ Hy) * np.outer(s, s) / sy ** 2
            - (np.outer(Hy, s) + np.outer(s, Hy)) / sy)


def lbfgs_direction(grad, s_history, y_history):
    """Materialise H by repeated BFGS updates from H0 = gamma I (the 'clever against plain' oracle)."""
    n = len(grad)
    if len(s_history) == 0:
        return -np.asarray(grad, dtype=float)
    s_last, y_last = s_history[-1], y_history[-1]
    H = (s_last @ y_last) / (y_last @ y_last) * np.eye(n)
    for s, y in zip(s_history, y_history):
        rho = 1.0 / (y @ s)
        V = np.eye(n) - rho * np.outer(y, s)
        H = V.T @ H @ V + rho * np.outer(s, s)
    return -H @ grad


# --- chapter 7: search ------------------------------------------------------------------------

def sample_log_uniform(rng, low, high, size=None):
    exponent = low + (high - low) * rng.random(size)  # what rng.uniform does inside
    return 10.0 ** exponent


def random_search(objective, space, n_trials, rng):
    trials = []
    for _ in range(n_trials):
        params = {}
        for name in space:
            params[name] = space[name](rng)
        trials.append({"score": objective(params), "params": params})
    order = np.argsort([t["score"] for t in trials], kind="stable")  # NaN sorts last in numpy
    return [trials[i] for i in order]


def grid_search(objective, grid):
    names = list(grid)

    def combinations(index):
        if index == len(names):
            yield {}
            return
        for value in grid[names[index]]:
            for rest in combinations(index + 1):
                yield {names[index]: value, **rest}

    trials = [{"params": params, "score": float(objective(params))} for params in combinations(0)]
    finite = sorted((t for t in trials if not math.isnan(t["score"])), key=lambda t: t["score"])
    return finite + [t for t in trials if math.isnan(t["score"])]


# --- chapter 10: training recipes ---------------------------------------------------------------

def warmup_cosine(learning_rate, global_step, warmup_steps, total_steps, alpha=0.0):
    # written as optax composes it: a linear schedule joined to a cosine one at the boundary
    if warmup_steps > 0 and global_step <= warmup_steps:
        return learning_rate * global_step / warmup_steps
    steps = min(global_step, total_steps) - warmup_steps
    angle = np.pi * steps / (total_steps - warmup_steps)
    end = alpha * learning_rate
    return end + (learning_rate - end) * (1 + np.cos(angle)) / 2


def clip_by_global_norm(grads, max_norm):
    flat = np.concatenate([np.ravel(g) for g in grads])
    norm = np.linalg.norm(flat)
    if norm > max_norm:
        return [g / norm * max_norm for g in grads], norm
    return [np.array(g, dtype=float) for g in grads], norm


def layernorm_forward(x, gamma, beta, ln_param):
    # batch normalization of the transpose, with the statistics computed by hand
    eps = ln_param.get("eps", 1e-5)
    xt = x.T
    mu = xt.sum(axis=0) / xt.shape[0]
    centered = xt - mu
    var = (centered * centered).sum(axis=0) / xt.shape[0]
    inv = 1.0 / np.sqrt(var + eps)
    x_hat = (centered * inv).T
    return x_hat * gamma + beta, (x_hat, inv, gamma)


def layernorm_backward(dout, cache):
    # staged through the graph, row by row
    x_hat, inv, gamma = cache
    dx = np.empty_like(dout)
    for i in range(dout.shape[0]):
        d = dout[i] * gamma
        D = d.size
        dx[i] = inv[i] * (d - d.mean() - x_hat[i] * np.dot(d, x_hat[i]) / D)
    return dx, np.einsum("nd,nd->d", dout, x_hat), dout.sum(axis=0)


def top_hessian_eigenvalue(hvp, v0, num_iters=100):
    # the Rayleigh quotient inside the loop, with one more product at the end
    v = v0 / np.sqrt(np.vdot(v0, v0))
    for _ in range(num_iters):
        w = hvp(v)
        v = w / np.sqrt(np.vdot(w, w))
    w = hvp(v)
    return np.vdot(v, w) / np.vdot(v, v), v
