"""Independent correct implementations of the chapter 5-9 functions, written differently from the
reference (numpy instead of math, float32 where harmless, other but equivalent algebra, other cache
layouts): the graders must accept every one of them. ``RIGHT_ANSWERS`` lists them by function; every
batchnorm forward pass listed there stores a dict cache that every listed backward pass reads.
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
        cache = {"x_hat": x_hat, "gamma": gamma, "std": std, "x": x, "mean": mean}
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


# --- right answers with algebra of their own ---------------------------------------------------
# Each is self-contained (its imports inside), so that its source can be pasted into a notebook's
# solution cell as a student's whole answer.

def step_decay_repeated_drop(learning_rate, epoch, drop=0.5, epochs_drop=10):
    """Multiplies by drop once per completed period instead of raising it to a power."""
    import math

    rate = float(learning_rate)
    for _ in range(math.floor(epoch / epochs_drop)):
        rate *= drop
    return rate


def exponential_decay_split_exponent(learning_rate, global_step, decay_steps, decay_rate, staircase=False):
    """r**p as r**floor(p) * r**(p - floor(p)): whole periods and the fraction of the current one."""
    periods, remainder = divmod(global_step, decay_steps)
    whole = float(decay_rate) ** int(periods)
    fraction = 1.0 if staircase or remainder == 0 else float(decay_rate) ** (remainder / decay_steps)
    return float(learning_rate) * whole * fraction


def inverse_time_decay_cleared_fraction(learning_rate, global_step, decay_steps, decay_rate, staircase=False):
    """eta0 / (1 + r k / T) with the fraction cleared: eta0 T / (T + r k)."""
    import math

    if staircase:
        return float(learning_rate) / (1.0 + decay_rate * math.floor(global_step / decay_steps))
    return float(learning_rate) * decay_steps / (decay_steps + decay_rate * global_step)


def natural_exp_decay_as_power(learning_rate, global_step, decay_steps, decay_rate, staircase=False):
    """eta0 * exp(-r p) as eta0 * (e**-r)**p: exponential decay with the rate e**-r."""
    import math

    p = global_step // decay_steps if staircase else global_step / decay_steps
    return float(learning_rate) * math.exp(-decay_rate) ** p


def piecewise_constant_searchsorted(global_step, boundaries, values):
    """The interval index by np.searchsorted (left side: a step on a boundary stays on the left)."""
    import numpy as np

    index = int(np.searchsorted(np.asarray(boundaries, dtype=float), global_step, side="left"))
    return float(values[index])


def polynomial_decay_remaining_steps(learning_rate, global_step, decay_steps, end_learning_rate=1e-4, power=1.0,
                                     cycle=False):
    """(1 - k/T')**q as ((T' - k) / T')**q, the cycle length from math.ceil."""
    import math

    k = global_step
    if cycle:
        horizon = decay_steps * max(1, math.ceil(k / decay_steps))
    else:
        horizon, k = decay_steps, min(k, decay_steps)
    return end_learning_rate + (learning_rate - end_learning_rate) * ((horizon - k) / horizon) ** power


def cosine_decay_sin_squared(learning_rate, global_step, decay_steps, alpha=0.0):
    """(1 + cos(pi x)) / 2 as 1 - sin(pi x / 2)**2."""
    import math

    x = min(global_step, decay_steps) / decay_steps
    return float(learning_rate) * (alpha + (1.0 - alpha) * (1.0 - math.sin(math.pi * x / 2.0) ** 2))


def batchnorm_forward_var_einsum(x, gamma, beta, bn_param):
    """np.var for the batch variance, running averages as lerps; the cache is a dict of what backward needs."""
    import numpy as np

    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    d = x.shape[1]
    running_mean = bn_param.get("running_mean", np.zeros(d))
    running_var = bn_param.get("running_var", np.zeros(d))
    if mode == "train":
        mean = np.einsum("nd->d", x) / x.shape[0]
        var = np.var(x, axis=0)
        bn_param["running_mean"] = running_mean + (1.0 - momentum) * (mean - running_mean)
        bn_param["running_var"] = running_var + (1.0 - momentum) * (var - running_var)
    elif mode == "test":
        mean, var = running_mean, running_var
        bn_param["running_mean"], bn_param["running_var"] = running_mean, running_var
    else:
        raise ValueError(f"unknown mode {mode!r}")
    std = np.sqrt(var + eps)
    x_hat = (x - mean) / std
    cache = {"x": x, "mean": mean, "x_hat": x_hat, "gamma": gamma, "std": std}
    return gamma * x_hat + beta, cache


def batchnorm_forward_scale_shift(x, gamma, beta, bn_param):
    """out = x * a + b with the per-feature scale a = gamma / s and shift b = beta - mean * a."""
    import numpy as np

    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    d = x.shape[1]
    running_mean = np.asarray(bn_param.get("running_mean", np.zeros(d)), dtype=float)
    running_var = np.asarray(bn_param.get("running_var", np.zeros(d)), dtype=float)
    if mode == "train":
        mean = x.sum(axis=0) / len(x)
        var = ((x - mean) ** 2).sum(axis=0) / len(x)
        bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mean
        bn_param["running_var"] = momentum * running_var + (1 - momentum) * var
    else:
        mean, var = running_mean, running_var
    std = np.sqrt(var + eps)
    scale = gamma / std
    out = x * scale + (beta - mean * scale)
    cache = {"x": x, "mean": mean, "x_hat": (x - mean) / std, "gamma": gamma, "std": std}
    return out, cache


def batchnorm_backward_jacobian(dout, cache):
    """Per feature, the explicit N x N Jacobian of x_hat: (I - 1/N - x_hat x_hat^T / N) / s (symmetric)."""
    import numpy as np

    x_hat, gamma, std = cache["x_hat"], cache["gamma"], cache["std"]
    n, d = dout.shape
    dx = np.empty((n, d))
    for j in range(d):
        column = x_hat[:, j]
        jacobian = (np.eye(n) - np.full((n, n), 1.0 / n) - np.outer(column, column) / n) / std[j]
        dx[:, j] = jacobian.T @ (gamma[j] * dout[:, j])
    return dx, np.einsum("nd,nd->d", dout, x_hat), dout.sum(axis=0)


def batchnorm_backward_chain_per_column(dout, cache):
    """Chain rule through mean and variance, one column at a time, with the centered x of the cache."""
    import numpy as np

    x, mean, gamma, std = cache["x"], cache["mean"], cache["gamma"], cache["std"]
    n, d = dout.shape
    dx, dgamma, dbeta = np.empty((n, d)), np.empty(d), np.empty(d)
    for j in range(d):
        g, c, s = dout[:, j], x[:, j] - mean[j], std[j]
        dbeta[j] = g.sum()
        dgamma[j] = g @ c / s
        dxhat = gamma[j] * g
        dvar = -0.5 * (dxhat @ c) / s ** 3
        dmean = -dxhat.sum() / s - 2.0 * dvar * c.sum() / n
        dx[:, j] = dxhat / s + 2.0 * dvar * c / n + dmean / n
    return dx, dgamma, dbeta


def batchnorm_backward_alt_centered(dout, cache):
    """The closed form in the centered x: gamma/s (dout - mean dout) - gamma c sum(dout c) / (N s^3)."""
    x, mean, gamma, std = cache["x"], cache["mean"], cache["gamma"], cache["std"]
    n = dout.shape[0]
    centered = x - mean
    dbeta = dout.sum(axis=0)
    dgamma = (dout * centered).sum(axis=0) / std
    dx = gamma / std * (dout - dbeta / n) - gamma * centered * (dout * centered).sum(axis=0) / (n * std ** 3)
    return dx, dgamma, dbeta


def sample_log_uniform_exp(rng, low, high, size=None):
    """10**u as exp(u * ln 10)."""
    import math

    import numpy as np

    u = rng.uniform(low, high, size)
    if size is None:
        return math.exp(u * math.log(10.0))
    return np.exp(np.asarray(u, dtype=np.float64) * np.log(10.0))


def random_search_partitioned(objective, space, n_trials, rng):
    """Draws with itertools.repeat; sorts the finite scores (stable) and appends the nan ones."""
    import itertools
    import math

    names = list(space)
    trials = []
    for _ in itertools.repeat(None, n_trials):
        params = {}
        for name in names:
            params[name] = space[name](rng)
        trials.append({"params": params, "score": float(objective(dict(params)))})
    finite = [trial for trial in trials if not math.isnan(trial["score"])]
    return sorted(finite, key=lambda trial: trial["score"]) + [t for t in trials if math.isnan(t["score"])]


def grid_search_ndindex(objective, grid):
    """The combinations from np.ndindex over the grid's shape (C order is itertools.product's order)."""
    import math

    import numpy as np

    names = list(grid)
    values = [list(grid[name]) for name in names]
    trials = []
    for index in np.ndindex(*(len(v) for v in values)):
        params = {name: values[k][i] for k, (name, i) in enumerate(zip(names, index))}
        trials.append({"params": params, "score": float(objective(dict(params)))})
    order = sorted(range(len(trials)), key=lambda i: (math.isnan(trials[i]["score"]), trials[i]["score"], i))
    return [trials[i] for i in order]


def ensemble_predict_einsum(probs):
    """The sum over models by np.einsum, divided by M."""
    import numpy as np

    stacked = np.stack([np.asarray(p, dtype=np.float64) for p in probs])
    return np.einsum("m...->...", stacked) / stacked.shape[0]


def polyak_average_running_mean(params_history):
    """The running mean avg += (w_t - avg) / t, one iterate at a time."""
    import numpy as np

    average = None
    for t, params in enumerate(params_history, start=1):
        params = np.asarray(params, dtype=np.float64)
        average = params.copy() if average is None else average + (params - average) / t
    return average


def ema_update_weighted_average(average, params, decay=0.999):
    """np.average of (average, params) with the weights (decay, 1 - decay)."""
    import numpy as np

    stacked = np.stack([np.asarray(average, dtype=np.float64), np.asarray(params, dtype=np.float64)])
    return np.average(stacked, axis=0, weights=[decay, 1.0 - decay])


def newton_step_eigh(grad, hessian):
    """H = Q diag(lam) Q^T, so p = -Q (Q^T g / lam)."""
    import numpy as np

    eigenvalues, eigenvectors = np.linalg.eigh(hessian)
    return -eigenvectors @ ((eigenvectors.T @ grad) / eigenvalues)


def newton_step_lstsq(grad, hessian):
    """The least-squares solution of H p = -g (exact for a nonsingular H)."""
    import numpy as np

    return np.linalg.lstsq(hessian, -np.asarray(grad, dtype=float), rcond=None)[0]


def bfgs_update_residual(H_inv, s, y):
    """With r = s - H y: H + (r s^T + s r^T) / (s^T y) - (r^T y) s s^T / (s^T y)**2."""
    import numpy as np

    sy = float(s @ y)
    r = s - H_inv @ y
    return H_inv + (np.outer(r, s) + np.outer(s, r)) / sy - (r @ y) * np.outer(s, s) / sy ** 2


def bfgs_update_looped(H_inv, s, y):
    """Entry by entry: H_ij - rho (s_i (Hy)_j + (Hy)_i s_j) + (rho**2 y^T H y + rho) s_i s_j."""
    import numpy as np

    n = len(s)
    rho = 1.0 / sum(float(y[k]) * float(s[k]) for k in range(n))
    Hy = [sum(float(H_inv[i, k]) * float(y[k]) for k in range(n)) for i in range(n)]
    yHy = sum(float(y[k]) * Hy[k] for k in range(n))
    out = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            out[i, j] = (H_inv[i, j] - rho * (s[i] * Hy[j] + Hy[i] * s[j])
                         + (rho * rho * yHy + rho) * s[i] * s[j])
    return out


def lbfgs_direction_recursive(grad, s_history, y_history):
    """H_k g = V_k^T H_{k-1} V_k g + rho_k s_k s_k^T g applied recursively, newest pair outermost."""
    import numpy as np

    pairs = [(np.asarray(s, dtype=float), np.asarray(y, dtype=float)) for s, y in zip(s_history, y_history)]
    if not pairs:
        return -np.array(grad, dtype=float)
    gamma = (pairs[-1][0] @ pairs[-1][1]) / (pairs[-1][1] @ pairs[-1][1])

    def apply(k, q):
        if k == 0:
            return gamma * q
        s, y = pairs[k - 1]
        rho = 1.0 / (y @ s)
        alpha = rho * (s @ q)
        r = apply(k - 1, q - alpha * y)
        return r + s * (alpha - rho * (y @ r))

    return -apply(len(pairs), np.array(grad, dtype=float))


# --- chapter 7: successive halving, right answers written differently ---------------------------

def successive_halving_recursive(train, configs, min_budget, max_budget, reduction_factor=3):
    """One recursive call per rung; ranks with a tuple key that puts nan last and ties in configs order."""
    import math

    def rung(survivors, k, reached):
        budget = min_budget * reduction_factor ** k
        scores = {i: float(train(dict(configs[i]), budget)) for i in survivors}
        reached = {**reached, **{i: (k, budget, s) for i, s in scores.items()}}
        if min_budget * reduction_factor ** (k + 1) > max_budget:
            return reached
        keep = max(1, len(configs) // reduction_factor ** (k + 1))
        ranked = sorted(scores, key=lambda i: (math.isnan(scores[i]), scores[i] if not math.isnan(scores[i]) else 0, i))
        return rung(sorted(ranked[:keep]), k + 1, reached)

    reached = rung(list(range(len(configs))), 0, {})
    order = sorted(reached, key=lambda i: (-reached[i][0], math.isnan(reached[i][2]),
                                           0 if math.isnan(reached[i][2]) else reached[i][2], i))
    return [{"params": dict(configs[i]), "budget": reached[i][1], "score": reached[i][2]} for i in order]


def successive_halving_lexsort(train, configs, min_budget, max_budget, reduction_factor=3):
    """Scores in a numpy array per rung; np.lexsort on (index, score, isnan) ranks them."""
    import numpy as np

    n = len(configs)
    budgets = []
    while min_budget * reduction_factor ** len(budgets) <= max_budget:
        budgets.append(min_budget * reduction_factor ** len(budgets))
    last_rung = np.zeros(n, dtype=int)
    last_score = np.full(n, np.nan)
    alive = np.arange(n)
    for k, budget in enumerate(budgets):
        scores = np.array([float(train(dict(configs[i]), budget)) for i in alive])
        last_rung[alive], last_score[alive] = k, scores
        if k + 1 < len(budgets):
            order = np.lexsort((alive, np.nan_to_num(scores, nan=0.0), np.isnan(scores)))
            alive = np.sort(alive[order[:max(1, n // reduction_factor ** (k + 1))]])
    order = np.lexsort((np.arange(n), np.nan_to_num(last_score, nan=0.0), np.isnan(last_score), -last_rung))
    return [{"params": dict(configs[i]), "budget": budgets[last_rung[i]], "score": float(last_score[i])}
            for i in order]

# --- chapter 7: successive halving, wrong answers written differently from the graders' catalogue --
# (named wrong_halving_*, not successive_halving_*, so that nothing takes them for right answers)

def _halving_written_out(train, configs, min_budget, max_budget, reduction_factor, *, pick, next_budget,
                         keep_count, stop, final_score="last"):
    import math

    n = len(configs)
    alive, budget, k = list(range(n)), min_budget, 0
    first, reached = {}, {}
    while True:
        scores = {}
        for i in alive:
            scores[i] = float(train(dict(configs[i]), budget))
            first.setdefault(i, scores[i])
            reached[i] = (k, budget, scores[i])
        if stop(k, budget):
            break
        k += 1
        alive = sorted(pick(scores, keep_count(n, k)))
        budget = next_budget(budget, k)
    if final_score == "first":
        reached = {i: (rk, b, first[i]) for i, (rk, b, _) in reached.items()}
    order = sorted(reached, key=lambda i: (-reached[i][0], math.isnan(reached[i][2]),
                                           0 if math.isnan(reached[i][2]) else reached[i][2], i))
    return [{"params": dict(configs[i]), "budget": reached[i][1], "score": reached[i][2]} for i in order]


def _best(scores, count):
    import heapq
    import math
    return heapq.nsmallest(count, scores, key=lambda i: (math.isnan(scores[i]), 0 if math.isnan(scores[i]) else scores[i], i))


def wrong_halving_keeps_worst(train, configs, min_budget, max_budget, reduction_factor=3):
    import heapq
    return _halving_written_out(
        train, configs, min_budget, max_budget, reduction_factor,
        pick=lambda scores, count: heapq.nlargest(count, scores, key=lambda i: scores[i]),
        next_budget=lambda b, k: b * reduction_factor, keep_count=lambda n, k: max(1, n // reduction_factor ** k),
        stop=lambda k, b: b * reduction_factor > max_budget)


def wrong_halving_budget_fixed(train, configs, min_budget, max_budget, reduction_factor=3):
    return _halving_written_out(
        train, configs, min_budget, max_budget, reduction_factor, pick=_best,
        next_budget=lambda b, k: min_budget, keep_count=lambda n, k: max(1, n // reduction_factor ** k),
        stop=lambda k, b: min_budget * reduction_factor ** (k + 1) > max_budget)


def wrong_halving_keeps_ceil(train, configs, min_budget, max_budget, reduction_factor=3):
    import math
    return _halving_written_out(
        train, configs, min_budget, max_budget, reduction_factor, pick=_best,
        next_budget=lambda b, k: b * reduction_factor, keep_count=lambda n, k: math.ceil(n / reduction_factor ** k),
        stop=lambda k, b: b * reduction_factor > max_budget)


def wrong_halving_strict_budget(train, configs, min_budget, max_budget, reduction_factor=3):
    """Stops when the next budget reaches max_budget (< instead of <=): the rung at max_budget is lost."""
    return _halving_written_out(
        train, configs, min_budget, max_budget, reduction_factor, pick=_best,
        next_budget=lambda b, k: b * reduction_factor, keep_count=lambda n, k: max(1, n // reduction_factor ** k),
        stop=lambda k, b: b * reduction_factor >= max_budget)


def wrong_halving_first_scores(train, configs, min_budget, max_budget, reduction_factor=3):
    return _halving_written_out(
        train, configs, min_budget, max_budget, reduction_factor, pick=_best,
        next_budget=lambda b, k: b * reduction_factor, keep_count=lambda n, k: max(1, n // reduction_factor ** k),
        stop=lambda k, b: b * reduction_factor > max_budget, final_score="first")


def wrong_halving_ties_last_first(train, configs, min_budget, max_budget, reduction_factor=3):
    import math
    return _halving_written_out(
        train, configs, min_budget, max_budget, reduction_factor,
        pick=lambda scores, count: sorted(scores, key=lambda i: (math.isnan(scores[i]),
                                                                 0 if math.isnan(scores[i]) else scores[i], -i))[:count],
        next_budget=lambda b, k: b * reduction_factor, keep_count=lambda n, k: max(1, n // reduction_factor ** k),
        stop=lambda k, b: b * reduction_factor > max_budget)


#: wrong successive_halving answers and the words the hidden grader's diagnosis must contain
WRONG_SUCCESSIVE_HALVING = [
    (wrong_halving_keeps_worst, "worst configurations are kept"),
    (wrong_halving_budget_fixed, "budget does not grow"),
    (wrong_halving_keeps_ceil, "rounded up"),
    (wrong_halving_strict_budget, "one rung too few"),
    (wrong_halving_first_scores, "score of rung 0"),
    (wrong_halving_ties_last_first, "ties broken against the order of configs when the survivors are chosen"),
]


#: function name -> right answers written differently from the reference (the graders must accept each)
RIGHT_ANSWERS = {
    "step_decay": [step_decay, step_decay_float32, step_decay_repeated_drop],
    "exponential_decay": [exponential_decay, exponential_decay_via_log, exponential_decay_split_exponent],
    "inverse_time_decay": [inverse_time_decay, inverse_time_decay_cleared_fraction],
    "natural_exp_decay": [natural_exp_decay, natural_exp_decay_as_power],
    "piecewise_constant": [piecewise_constant, piecewise_constant_loop, piecewise_constant_searchsorted],
    "polynomial_decay": [polynomial_decay, polynomial_decay_remaining_steps],
    "cosine_decay": [cosine_decay, cosine_decay_sin_squared],
    "batchnorm_forward": [batchnorm_forward, batchnorm_forward_var_einsum, batchnorm_forward_scale_shift],
    "batchnorm_backward": [batchnorm_backward, batchnorm_backward_jacobian, batchnorm_backward_chain_per_column],
    "batchnorm_backward_alt": [batchnorm_backward_alt, batchnorm_backward_alt_centered],
    "sample_log_uniform": [sample_log_uniform, sample_log_uniform_exp],
    "random_search": [random_search, random_search_partitioned],
    "grid_search": [grid_search, grid_search_ndindex],
    "successive_halving": [successive_halving_recursive, successive_halving_lexsort],
    "ensemble_predict": [ensemble_predict, ensemble_predict_einsum],
    "polyak_average": [polyak_average, polyak_average_generator, polyak_average_running_mean],
    "ema_update": [ema_update, ema_update_weighted_average],
    "newton_step": [newton_step, newton_step_cholesky, newton_step_eigh, newton_step_lstsq],
    "bfgs_update": [bfgs_update, bfgs_update_residual, bfgs_update_looped],
    "lbfgs_direction": [lbfgs_direction, lbfgs_direction_recursive],
}


def successive_halving_precomputed_rungs(train, configs, min_budget, max_budget, reduction_factor=3):
    """The whole schedule first (itertools.count), survivors by heapq.nsmallest (stable on ties), and
    the result sorted in two stable passes (the score key, then the budget, largest first)."""
    import heapq
    import itertools
    import math

    n = len(configs)
    rungs = []
    for k in itertools.count():
        budget = min_budget * reduction_factor ** k
        if budget > max_budget:
            break
        rungs.append((max(1, n // reduction_factor ** k), budget))

    def key(index_score):
        index, score = index_score
        return (math.isnan(score), score, index)

    reached = {}
    survivors = range(n)
    for k, (_, budget) in enumerate(rungs):
        scores = [(index, float(train(dict(configs[index]), budget))) for index in survivors]
        for index, score in scores:
            reached[index] = (budget, score)
        if k + 1 < len(rungs):
            survivors = sorted(index for index, _ in heapq.nsmallest(rungs[k + 1][0], scores, key=key))
    order = sorted(reached, key=lambda index: key((index, reached[index][1])))
    order.sort(key=lambda index: -reached[index][0])
    return [{"params": dict(configs[i]), "budget": reached[i][0], "score": reached[i][1]} for i in order]


def successive_halving_recursive(train, configs, min_budget, max_budget, reduction_factor=3):
    """One rung per call: train the survivors, recurse on the best n_{k+1}, then put this rung's losers
    (ranked) after the trials the recursion returns."""
    import math

    n = len(configs)

    def rank(trial):
        return (math.isnan(trial["score"]), trial["score"], trial["index"])

    def rung(survivors, k):
        budget = min_budget * reduction_factor ** k
        trials = [{"index": i, "budget": budget, "score": float(train(dict(configs[i]), budget))}
                  for i in survivors]
        ranked = sorted(trials, key=rank)
        if min_budget * reduction_factor ** (k + 1) > max_budget:
            return ranked
        keep = max(1, n // reduction_factor ** (k + 1))
        promoted = sorted(trial["index"] for trial in ranked[:keep])
        return rung(promoted, k + 1) + ranked[keep:]

    return [{"params": dict(configs[t["index"]]), "budget": t["budget"], "score": t["score"]}
            for t in rung(list(range(n)), 0)]


RIGHT_ANSWERS["successive_halving"] = [successive_halving_precomputed_rungs, successive_halving_recursive]

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


RIGHT_ANSWERS.update(warmup_cosine=[warmup_cosine], clip_by_global_norm=[clip_by_global_norm],
                     layernorm_forward=[layernorm_forward], layernorm_backward=[layernorm_backward],
                     top_hessian_eigenvalue=[top_hessian_eigenvalue])
