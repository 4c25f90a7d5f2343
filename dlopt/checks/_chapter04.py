"""Visible checks of exercise 4: adagrad, rmsprop, adadelta, adam, adamw (values computed by hand).

Each check takes one or two steps on tiny inputs, compares the new parameters and the state in
``config`` with values worked out from the notebook's formulas, and, when a result matches a usual
mistake worked out on the same inputs, says which one it looks like.
"""

from __future__ import annotations

import numpy as np

from ._framework import call, expect_close, fail, register, short, unchanged
from ._update_rules import expect_defaults, stored, take_step


def snapshot(config, keys):
    """The state arrays of a config about to be passed in: ``{key: (the array, a copy of it)}``."""
    return {key: (config[key], np.array(config[key], copy=True)) for key in keys}


def config_arrays_unchanged(name, snapshots):
    """The arrays of the config that was passed in must not have been modified in place."""
    for key, (array, copy) in snapshots.items():
        if not np.array_equal(np.asarray(array), copy):
            fail(f"{name} modified the array config[{key!r}] it was given in place",
                 f"compute a new array for {key} and store it in config (no += on config[{key!r}])")


ACCUMULATE = "the cache must accumulate: c <- c + dw**2 with the c stored in config by the last call"
NO_DECAY = "the weight decay is missing (that is plain Adam): subtract learning_rate * weight_decay * w"
SIGN = "the step goes against the gradient: w - ... (a positive gradient makes w smaller)"


# --- AdaGrad ---------------------------------------------------------------------------------------

@register("adagrad")
def check_adagrad(adagrad):
    w, dw = np.array([1.0, 1.0]), np.array([3.0, -4.0])
    next_w, config = take_step("adagrad", adagrad, w, dw, {"learning_rate": 0.1})
    unchanged("adagrad", "w", [1.0, 1.0], w)
    unchanged("adagrad", "dw", [3.0, -4.0], dw)
    expect_close("adagrad", "after one step from cache 0 the cache is dw**2 (dw = [3, -4])", [9.0, 16.0],
           stored("adagrad", config, "cache"),
           [([0.0, 0.0], "store the new cache in config['cache'] so that the next call can use it"),
            ([3.0, 4.0], "the cache sums the SQUARED gradients, dw ** 2 (not |dw|)"),
            ([0.09, 0.16], "AdaGrad sums the squared gradients, c + dw**2, without any decay (that is RMSProp)")],
           "c <- c + dw**2, starting from c = 0")
    expect_close("adagrad", "adagrad(w=[1, 1], dw=[3, -4], learning_rate=0.1): the first step has length "
           "learning_rate in every coordinate", [0.9, 1.1], next_w,
           [([1.1, 0.9], SIGN),
            ([0.99, 1.01], "use config['learning_rate'] (here 0.1), not a fixed value"),
            ([1 - 0.1 * 3 / 9, 1 + 0.1 * 4 / 16], "divide by the square ROOT of the cache: sqrt(c) + eps"),
            ([0.0, 2.0], "AdaGrad sums the squared gradients, c + dw**2, without any decay (that is RMSProp)")],
           "divide by sqrt(c) + eps with the NEW cache c (dw**2 added first)")

    given = snapshot(config, ["cache"])
    next_w2, config = take_step("adagrad", adagrad, np.array(next_w, dtype=float), dw, config)
    config_arrays_unchanged("adagrad", given)
    expect_close("adagrad", "second call with the returned config and the same dw: the cache sums the squared "
           "gradients", [18.0, 32.0], stored("adagrad", config, "cache"),
           [([9.0, 16.0], ACCUMULATE)])
    expect_close("adagrad", "the second step is learning_rate / sqrt(2) long",
           [0.9 - 0.1 / np.sqrt(2), 1.1 + 0.1 / np.sqrt(2)], next_w2, [([0.8, 1.2], ACCUMULATE)])

    tiny = np.array([1e-8, 0.0])
    next_w, config = take_step("adagrad", adagrad, np.zeros(2), tiny, {"learning_rate": 0.1})
    expect_close("adagrad", "adagrad(w=[0, 0], dw=[1e-8, 0], learning_rate=0.1): sqrt(c) = 1e-8 and eps = 1e-8, so "
           "the step is 0.1 * 1e-8 / 2e-8 = 0.05; a zero gradient does not move", [-0.05, 0.0], next_w,
           [([-0.1 * 1e-8 / np.sqrt(1e-16 + 1e-8), 0.0],
             "eps goes OUTSIDE the square root: sqrt(c) + eps, not sqrt(c + eps)")],
           "divide by (sqrt(c) + eps): eps is added to the root, and protects the zero-gradient entries")

    next_w, config = take_step("adagrad", adagrad, w, dw, {"learning_rate": 0.1, "epsilon": 1.0})
    expect_close("adagrad", "adagrad(w=[1, 1], dw=[3, -4], learning_rate=0.1, epsilon=1): sqrt(c) = [3, 4], so the "
           "step is 0.1 * [3/4, -4/5]", [0.925, 1.08], next_w,
           [([0.9, 1.1], "use config['epsilon'] (here 1), not a fixed value")],
           "divide by sqrt(c) + eps, with eps = config['epsilon']")

    next_w, config = take_step("adagrad", adagrad, w, dw)
    expect_defaults("adagrad", config, {"learning_rate": 1e-2, "epsilon": 1e-8})
    expect_close("adagrad", "adagrad(w=[1, 1], dw=[3, -4]) with the defaults: a first step of length 0.01 (up to eps)",
           1 - 0.01 * dw / (np.abs(dw) + 1e-8), next_w, hint="the default learning rate is 1e-2")
    return "two steps by hand, the cache, eps outside the root, a given eps, the defaults, inputs untouched"


# --- RMSProp ---------------------------------------------------------------------------------------

@register("rmsprop")
def check_rmsprop(rmsprop):
    w, dw = np.array([1.0, -1.0]), np.array([2.0, 0.5])
    next_w, config = take_step("rmsprop", rmsprop, w, dw, {"learning_rate": 0.1, "decay_rate": 0.9})
    unchanged("rmsprop", "w", [1.0, -1.0], w)
    unchanged("rmsprop", "dw", [2.0, 0.5], dw)
    one_minus = "the new squared gradient is weighted by (1 - decay_rate): c <- rho*c + (1 - rho)*dw**2"
    expect_close("rmsprop", "rmsprop(w=[1, -1], dw=[2, 0.5], learning_rate=0.1, decay_rate=0.9): the cache "
           "0.9 * 0 + 0.1 * dw**2", [0.4, 0.025], stored("rmsprop", config, "cache"),
           [([0.0, 0.0], "store the new cache in config['cache'] so that the next call can use it"),
            ([4.0, 0.25], one_minus + " (without it, or summed as in AdaGrad, you get dw**2)"),
            ([3.6, 0.225], "decay_rate and (1 - decay_rate) are swapped: c <- rho*c + (1 - rho)*dw**2")],
           one_minus)
    first = w - 0.1 * dw / np.sqrt([0.4, 0.025])
    expect_close("rmsprop", "the first step, w - 0.1 * dw / sqrt(cache)", first, next_w,
           [(w + 0.1 * dw / np.sqrt([0.4, 0.025]), SIGN),
            (w - 0.01 * dw / np.sqrt([0.4, 0.025]), "use config['learning_rate'] (here 0.1), not a fixed value"),
            (w - 0.1 * dw / np.array([0.4, 0.025]), "divide by the square ROOT of the cache: sqrt(c) + eps")],
           "divide by sqrt(c) + eps with the NEW cache c")

    given = snapshot(config, ["cache"])
    next_w2, config = take_step("rmsprop", rmsprop, np.array(next_w, dtype=float), np.array([0.0, 1.0]), config)
    config_arrays_unchanged("rmsprop", given)
    expect_close("rmsprop", "second call with the returned config and dw = [0, 1]: cache = 0.9 * [0.4, 0.025] + "
           "0.1 * [0, 1]", [0.36, 0.1225], stored("rmsprop", config, "cache"),
           [([0.0, 0.1], "the cache is a moving average: start from the c stored in config by the last call"),
            ([0.4, 1.025], "RMSProp averages, c <- rho*c + (1 - rho)*dw**2; it does not sum as AdaGrad")],
           one_minus)
    expect_close("rmsprop", "the second step: a zero gradient does not move its coordinate",
           [first[0], first[1] - 0.1 / np.sqrt(0.1225)], next_w2)

    tiny = np.array([1e-8, 0.0])
    next_w, config = take_step("rmsprop", rmsprop, np.zeros(2), tiny, {"learning_rate": 0.1, "decay_rate": 0.9})
    root = np.sqrt(0.1 * 1e-16)
    expect_close("rmsprop", "rmsprop(w=[0, 0], dw=[1e-8, 0], learning_rate=0.1, decay_rate=0.9): "
           "-0.1 * 1e-8 / (sqrt(1e-17) + 1e-8) in the first coordinate, 0 in the second",
           [-0.1 * 1e-8 / (root + 1e-8), 0.0], next_w,
           [([-0.1 * 1e-8 / np.sqrt(1e-17 + 1e-8), 0.0],
             "eps goes OUTSIDE the square root: sqrt(c) + eps, not sqrt(c + eps)")],
           "divide by (sqrt(c) + eps): eps is added to the root, and protects the zero-gradient entries")

    next_w, config = take_step("rmsprop", rmsprop, np.array([1.0, 1.0]), np.array([2.0, -4.0]),
                               {"learning_rate": 0.1, "decay_rate": 0.75, "epsilon": 1.0})
    expect_close("rmsprop", "rmsprop(w=[1, 1], dw=[2, -4], learning_rate=0.1, decay_rate=0.75, epsilon=1): the cache "
           "0.25 * dw**2 = [1, 4], so the step is 0.1 * [2/(1 + 1), -4/(2 + 1)]", [0.9, 1 + 0.4 / 3], next_w,
           [([0.8, 1.2], "use config['epsilon'] (here 1), not a fixed value")],
           "divide by sqrt(c) + eps, with eps = config['epsilon']")

    next_w, config = take_step("rmsprop", rmsprop, w, dw)
    expect_defaults("rmsprop", config, {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8})
    expect_close("rmsprop", "with the default decay rate 0.99 the first cache is 0.01 * dw**2", 0.01 * dw ** 2,
           stored("rmsprop", config, "cache"))
    expect_close("rmsprop", "with the defaults the first step is 0.01 * dw / sqrt(0.01 * dw**2) = 0.1 * sign(dw)",
           w - 0.1 * np.sign(dw), next_w, hint="the default learning rate is 1e-2")
    return "two steps by hand, the cache, eps outside the root, a given eps, the defaults, inputs untouched"


# --- AdaDelta --------------------------------------------------------------------------------------

@register("adadelta")
def check_adadelta(adadelta):
    w, dw = np.array([1.0, 2.0]), np.array([2.0, -1.0])
    next_w, config = take_step("adadelta", adadelta, w, dw)
    unchanged("adadelta", "w", [1.0, 2.0], w)
    unchanged("adadelta", "dw", [2.0, -1.0], dw)
    cache = 0.1 * dw ** 2
    update = -np.sqrt(1e-6) / np.sqrt(cache + 1e-6) * dw
    expect_defaults("adadelta", config, {"learning_rate": 1.0, "rho": 0.9, "epsilon": 1e-6})
    expect_close("adadelta", "adadelta(w=[1, 2], dw=[2, -1]) with the defaults: cache = 0.9 * 0 + 0.1 * dw**2",
           cache, stored("adadelta", config, "cache"),
           [(dw ** 2, "the new squared gradient is weighted by (1 - rho): c <- rho*c + (1 - rho)*dw**2")])
    expect_close("adadelta", "the first step, w + Delta with Delta = -sqrt(0 + eps) / sqrt(cache + eps) * dw "
           "(eps = 1e-6 inside both roots)", w + update, next_w,
           [(w, "with delta = 0 at the start the step must not be 0: the numerator is sqrt(delta + eps), "
                "with eps inside"),
            (w - update, SIGN),
            (w - dw, "use the NEW cache (rho*c + (1 - rho)*dw**2) in sqrt(c + eps), not the old one"),
            (w - 1e-6 / (np.sqrt(cache) + 1e-6) * dw,
             "eps goes INSIDE both square roots in AdaDelta: sqrt(delta + eps) / sqrt(c + eps)")],
           "Delta = -sqrt(delta + eps) / sqrt(c + eps) * dw, then w + learning_rate * Delta")
    expect_close("adadelta", "delta = 0.9 * 0 + 0.1 * Delta**2", 0.1 * update ** 2, stored("adadelta", config, "delta"),
           [(np.zeros(2), "delta must be updated after the step: delta <- rho*delta + (1 - rho)*Delta**2"),
            (update ** 2, "the new Delta**2 is weighted by (1 - rho): delta <- rho*delta + (1 - rho)*Delta**2")])

    next_w_half, config_half = take_step("adadelta", adadelta, w, dw, {"learning_rate": 0.5})
    expect_close("adadelta", "adadelta(w, dw, learning_rate=0.5): the learning rate multiplies the step", w + 0.5 * update,
           next_w_half, [(w + update, "the step is w + learning_rate * Delta: use config['learning_rate']")])
    expect_close("adadelta", "with learning_rate=0.5 delta is still 0.1 * Delta**2", 0.1 * update ** 2,
           stored("adadelta", config_half, "delta"),
           [(0.1 * (0.5 * update) ** 2, "delta accumulates Delta BEFORE the learning rate is applied")])

    given = snapshot(config, ["cache", "delta"])
    dw2 = np.array([1.0, 1.0])
    next_w2, config = take_step("adadelta", adadelta, np.array(next_w, dtype=float), dw2, config)
    config_arrays_unchanged("adadelta", given)
    cache2 = 0.9 * cache + 0.1 * dw2 ** 2
    update2 = -np.sqrt(0.1 * update ** 2 + 1e-6) / np.sqrt(cache2 + 1e-6) * dw2
    expect_close("adadelta", "a second call with the returned config and dw = [1, 1]: the cache", cache2,
           stored("adadelta", config, "cache"),
           [(0.1 * dw2 ** 2, "start from the cache stored in config by the last call")])
    expect_close("adadelta", "the second step, with the delta of the first", w + update + update2, next_w2,
           [(w + update - np.sqrt(1e-6) / np.sqrt(cache2 + 1e-6) * dw2,
             "the numerator uses the delta stored in config by the last call: sqrt(delta + eps)")])
    expect_close("adadelta", "the second delta, 0.9 * delta + 0.1 * Delta**2", 0.09 * update ** 2 + 0.1 * update2 ** 2,
           stored("adadelta", config, "delta"))

    # rho = 0.5 and eps = 1: the cache is 0.5 * 16 = 8, sqrt(cache + eps) = 3 and sqrt(delta + eps) = 1.
    next_w, config = take_step("adadelta", adadelta, np.array([1.0, 1.0]), np.array([4.0, -4.0]),
                               {"rho": 0.5, "epsilon": 1.0})
    expect_close("adadelta", "adadelta(w=[1, 1], dw=[4, -4], rho=0.5, epsilon=1): cache = 0.5 * dw**2", [8.0, 8.0],
           stored("adadelta", config, "cache"), [([1.6, 1.6], "use config['rho'] (here 0.5), not a fixed 0.9")])
    expect_close("adadelta", "that step: Delta = -sqrt(0 + 1) / sqrt(8 + 1) * dw = [-4/3, 4/3]",
           [1 - 4 / 3, 1 + 4 / 3], next_w,
           [([1 - 4 / np.sqrt(8), 1 + 4 / np.sqrt(8)], "eps goes inside BOTH square roots: sqrt(c + eps), not sqrt(c)"),
            ([1 - 4 / (np.sqrt(8) + 1), 1 + 4 / (np.sqrt(8) + 1)],
             "eps goes INSIDE both square roots in AdaDelta: sqrt(delta + eps) / sqrt(c + eps)")],
           "Delta = -sqrt(delta + eps) / sqrt(c + eps) * dw, with eps = config['epsilon']")
    expect_close("adadelta", "that step's delta = 0.5 * Delta**2 = 8/9", [8 / 9, 8 / 9],
           stored("adadelta", config, "delta"),
           [([0.1 * 16 / 9, 0.1 * 16 / 9], "use config['rho'] (here 0.5), not a fixed 0.9")])
    return ("two steps by hand, eps inside both roots, cache and delta, the learning rate, a given rho and eps, "
            "the defaults")


# --- Adam and AdamW --------------------------------------------------------------------------------

BIAS = "apply the bias correction: m_hat = m / (1 - beta1**t), v_hat = v / (1 - beta2**t), with t = 1 at the first call"
SWAPPED = "m uses beta1 and v uses beta2: are they swapped?"
EPS_OUTSIDE = "eps goes OUTSIDE the square root: sqrt(v_hat) + eps, not sqrt(v_hat + eps)"


def check_adam_state(name, config, t):
    got_t = stored(name, config, "t")
    if got_t != t:
        hint = ("t starts at 0 in config and is incremented once per call, before the bias correction"
                if got_t in (0, t - 1) else "t counts the calls: 0 in a fresh config, + 1 per call")
        fail(f"{name}: after call number {t} config['t'] should be {t}, got {short(got_t)}", hint)


def adam_first_step(name, function, extra=None):
    """The first step of adam/adamw on the notebook's inputs (no weight decay for adamw)."""
    w, dw = np.array([1.0, 1.0, 1.0]), np.array([50.0, -0.5, 1e-3])
    next_w, config = take_step(name, function, w, dw, {"learning_rate": 0.1, **(extra or {})})
    unchanged(name, "w", [1.0, 1.0, 1.0], w)
    unchanged(name, "dw", [50.0, -0.5, 1e-3], dw)
    check_adam_state(name, config, 1)
    expect_close(name, "after the first call m = 0.1 * dw (stored WITHOUT bias correction)", 0.1 * dw,
           stored(name, config, "m"),
           [(dw, "store m and v in config, not the bias-corrected m_hat and v_hat"),
            (0.001 * dw, "m uses beta1 (0.9) and v uses beta2 (0.999): are they swapped?")])
    expect_close(name, "after the first call v = 0.001 * dw**2 (stored WITHOUT bias correction)", 0.001 * dw ** 2,
           stored(name, config, "v"),
           [(dw ** 2, "store m and v in config, not the bias-corrected m_hat and v_hat"),
            (0.1 * dw ** 2, "m uses beta1 (0.9) and v uses beta2 (0.999): are they swapped?")])
    sign, a = np.sign(dw), np.abs(dw)
    call_text = f"{name}(w=[1, 1, 1], dw=[50, -0.5, 1e-3], learning_rate=0.1{', weight_decay=0' if extra else ''})"
    expect_close(name, f"{call_text}: with bias correction the first "
           "step is learning_rate * sign(dw) (up to eps)", 1 - 0.1 * dw / (np.abs(dw) + 1e-8), next_w,
           [(1 + 0.1 * dw / (a + 1e-8), SIGN),
            (1 - 0.1 * 0.1 * dw / (np.sqrt(0.001) * a + 1e-8),
             "your first step is 0.1 * 0.1 / sqrt(0.001) = 0.316 long: " + BIAS),
            (1 - 0.1 * dw / (np.sqrt(0.001) * a + 1e-8), "your first step corrects m but not v: " + BIAS),
            (1 - 0.1 * 0.1 * dw / (a + 1e-8), "your first step corrects v but not m: " + BIAS),
            (1 - 0.01 * dw / (a + 1e-8), "use config['learning_rate'] (here 0.1), not a fixed value"),
            (1 - 0.1 * dw / np.sqrt(a ** 2 + 1e-8), EPS_OUTSIDE),
            (1 - 0.1 * sign + 1e-8, "eps belongs in the denominator, (sqrt(v_hat) + eps): check the parentheses"),
            (1 - 0.1 * dw, "the numerator is the bias-corrected m_hat, not dw")],
           "t <- t + 1 first, then m_hat = m / (1 - beta1**t), v_hat = v / (1 - beta2**t), "
           "w - learning_rate * m_hat / (sqrt(v_hat) + eps)")
    return w, dw, next_w, config


def adam_given_betas_and_eps(name, function, extra=None):
    """One step with beta1 = 0.5, beta2 = 0.75 and epsilon = 1 from w = 0 (so that weight decay has no effect)."""
    next_w, config = take_step(name, function, np.zeros(2), np.array([3.0, -1.0]),
                               {"learning_rate": 0.1, "beta1": 0.5, "beta2": 0.75, "epsilon": 1.0, **(extra or {})})
    call_text = f"{name}(w=[0, 0], dw=[3, -1], learning_rate=0.1, beta1=0.5, beta2=0.75, epsilon=1)"
    fixed = "use config['{}'] (here {}), not a fixed value"
    expect_close(name, f"{call_text}: m = 0.5 * dw", [1.5, -0.5], stored(name, config, "m"),
           [([0.3, -0.1], fixed.format("beta1", 0.5)), ([0.75, -0.25], SWAPPED)])
    expect_close(name, f"{call_text}: v = 0.25 * dw**2", [2.25, 0.25], stored(name, config, "v"),
           [([0.009, 0.001], fixed.format("beta2", 0.75)), ([4.5, 0.5], SWAPPED)])
    expect_close(name, f"{call_text}: m_hat = dw and sqrt(v_hat) = |dw|, so the step is 0.1 * dw / (|dw| + 1)",
           [-0.075, 0.05], next_w, [([-0.1, 0.1], fixed.format("epsilon", 1))],
           "w - learning_rate * m_hat / (sqrt(v_hat) + eps), with eps = config['epsilon']")


def adam_second_step(name, function, next_w, dw, config, decay=0.0):
    given = snapshot(config, ["m", "v"])
    dw2 = np.array([-50.0, -0.5, 1e-3])
    next_w2, config = take_step(name, function, np.array(next_w, dtype=float), dw2, config)
    config_arrays_unchanged(name, given)
    check_adam_state(name, config, 2)
    m = 0.9 * 0.1 * dw + 0.1 * dw2
    v = 0.999 * 0.001 * dw ** 2 + 0.001 * dw2 ** 2
    start = np.array(next_w, dtype=float) * (1 - decay)
    expected = start - 0.1 * (m / (1 - 0.9 ** 2)) / (np.sqrt(v / (1 - 0.999 ** 2)) + 1e-8)
    expect_close(name, "the second step (dw = [-50, -0.5, 1e-3], with the m, v and t stored by the first call)", expected,
           next_w2,
           [(start - 0.1 * (m / 0.1 ** 2) / (np.sqrt(v / 0.001 ** 2) + 1e-8),
             "the bias correction divides by 1 - beta**t, not by (1 - beta)**t"),
            (start - 0.1 * (m / 0.1) / (np.sqrt(v / 0.001) + 1e-8),
             "at the second call t = 2: read t from config, increment it and store it")],
           "read m, v and t from config, then t + 1, the moving averages, the bias correction, the step")
    return config


@register("adam")
def check_adam(adam):
    w, dw, next_w, config = adam_first_step("adam", adam)
    adam_second_step("adam", adam, next_w, dw, config)

    next_w, _ = take_step("adam", adam, np.zeros(2), np.array([1e-8, 0.0]), {"learning_rate": 0.1})
    expect_close("adam", "adam(w=[0, 0], dw=[1e-8, 0], learning_rate=0.1): m_hat = 1e-8 and sqrt(v_hat) = 1e-8, so the "
           "step is 0.1 * 1e-8 / (1e-8 + 1e-8) = 0.05; a zero gradient does not move", [-0.05, 0.0], next_w,
           [([-0.1 * 1e-8 / np.sqrt(1e-16 + 1e-8), 0.0], EPS_OUTSIDE)],
           "divide by (sqrt(v_hat) + eps): eps is added to the root, and protects the zero-gradient entries")

    adam_given_betas_and_eps("adam", adam)

    next_w, config = take_step("adam", adam, w, dw)
    expect_defaults("adam", config, {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8})
    expect_close("adam", "adam(w=[1, 1, 1], dw=[50, -0.5, 1e-3]) with the defaults: a first step of length 1e-3 "
           "(up to eps)", 1 - 1e-3 * dw / (np.abs(dw) + 1e-8), next_w, hint="the default learning rate is 1e-3")
    return "two steps by hand, the bias correction, m, v and t, eps outside the root, given betas and eps, the defaults"


@register("adamw")
def check_adamw(adamw):
    w = np.array([2.0, -4.0])
    next_w, config = take_step("adamw", adamw, w, np.zeros(2), {"learning_rate": 0.1, "weight_decay": 0.5})
    unchanged("adamw", "w", [2.0, -4.0], w)
    l2 = "decoupled: m and v see only dw; the parameters shrink separately by learning_rate * weight_decay * w"
    expect_close("adamw", "adamw(w=[2, -4], dw=[0, 0], learning_rate=0.1, weight_decay=0.5): the decay must not "
           "enter m", [0.0, 0.0], stored("adamw", config, "m"), hint="L2 regularisation is not AdamW's decay: " + l2)
    expect_close("adamw", "the decay must not enter v", [0.0, 0.0], stored("adamw", config, "v"),
           hint="L2 regularisation is not AdamW's decay: " + l2)
    expect_close("adamw", "with a zero gradient only the decay is left, w * (1 - 0.1 * 0.5)", [1.9, -3.8], next_w,
           [([2.0, -4.0], NO_DECAY),
            ([1.0, -2.0], "the decay is scaled by the learning rate: subtract learning_rate * weight_decay * w"),
            ([2.1, -4.2], "the decay shrinks w: subtract learning_rate * weight_decay * w, do not add it")],
           "w - learning_rate * weight_decay * w - learning_rate * m_hat / (sqrt(v_hat) + eps)")

    next_w, config = take_step("adamw", adamw, w, np.array([1.0, 1.0]), {"learning_rate": 0.1, "weight_decay": 0.5})
    check_adam_state("adamw", config, 1)
    expect_close("adamw", "adamw(w=[2, -4], dw=[1, 1], learning_rate=0.1, weight_decay=0.5): the decay plus the first "
           "Adam step (length 0.1)", [1.8, -3.9], next_w,
           [([1.805, -3.895], "decay the w you were given (w - learning_rate * weight_decay * w), not the w after the "
                              "Adam step"),
            ([1.9, -4.1], NO_DECAY),
            ([1.9 - 0.1 * 0.1 / np.sqrt(0.001), -3.8 - 0.1 * 0.1 / np.sqrt(0.001)], BIAS),
            ([2.0, -4.0], "subtract both the decay and the Adam step from w")],
           "w - learning_rate * weight_decay * w - learning_rate * m_hat / (sqrt(v_hat) + eps), with the w given")

    _, _, next_w, config = adam_first_step("adamw", adamw, {"weight_decay": 0.0})
    adam_second_step("adamw", adamw, next_w, np.array([50.0, -0.5, 1e-3]), config)

    adam_given_betas_and_eps("adamw", adamw, {"weight_decay": 0.5})

    next_w, config = take_step("adamw", adamw, w, np.array([1.0, 1.0]))
    expect_defaults("adamw", config, {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8,
                               "weight_decay": 1e-2})
    expect_close("adamw", "adamw(w=[2, -4], dw=[1, 1]) with the defaults: w * (1 - 1e-3 * 1e-2) minus a first Adam "
           "step of length 1e-3 (up to eps)", w * (1 - 1e-5) - 1e-3 / (1 + 1e-8), next_w,
           hint="the defaults are learning_rate 1e-3 and weight_decay 1e-2")
    unchanged("adamw", "w", [2.0, -4.0], w)
    return "the decoupled decay by hand, the Adam steps, m, v and t, the defaults, inputs untouched"


# --- train_badly_scaled: judged by the point it reaches -------------------------------------------

def _scaled_least_squares(seed, dimension):
    """Least squares on features of scales 0.1 to 10 (curvatures 0.01 to 100), big weights on small features."""
    rng = np.random.default_rng(seed)
    scales = np.geomspace(0.1, 10.0, dimension)
    rng.shuffle(scales)
    X = rng.standard_normal((10 * dimension, dimension)) * scales
    y = X @ (0.5 * rng.standard_normal(dimension) / scales) + 0.1 * rng.standard_normal(10 * dimension)
    w_star = np.linalg.lstsq(X, y, rcond=None)[0]

    def loss(w):
        residual = X @ w - y
        return float(0.5 * residual @ residual / len(X))

    return X, y, w_star, loss, scales


@register("train_badly_scaled")
def check_train_badly_scaled(train_badly_scaled):
    name = "train_badly_scaled"
    for seed, dimension, num_steps in ((7, 4, 250), (8, 6, 300)):
        X, y, w_star, loss, scales = _scaled_least_squares(seed, dimension)
        calls = []

        def counted_loss_and_grad(w):
            calls.append(1)
            if len(calls) > 10 * num_steps:  # a loop that never stops
                fail(f"{name} called loss_and_grad more than {10 * num_steps} times; the budget is {num_steps}",
                     "loop num_steps times, one call of loss_and_grad per step")
            w = np.asarray(w, dtype=float)
            residual = X @ w - y
            return float(0.5 * residual @ residual / len(X)), X.T @ residual / len(X)

        w0 = np.zeros(dimension)
        where = f"{name}(loss_and_grad, np.zeros({dimension}), {num_steps})"
        w = call(name, train_badly_scaled, counted_loss_and_grad, w0.copy(), num_steps)
        if len(calls) > num_steps:
            fail(f"{where} called loss_and_grad {len(calls)} times; the budget is {num_steps}",
                 "one call per step: it returns the loss AND the gradient")
        try:
            w = np.asarray(w, dtype=float)
        except (TypeError, ValueError):
            fail(f"{where} returned {short(w)}", "return the final parameters, an array of w's shape")
        if w.shape != w0.shape:
            fail(f"{where} returned shape {w.shape}, expected {w0.shape}", "return the final parameters")
        with np.errstate(all="ignore"):
            ratio = (loss(w) - loss(w_star)) / (loss(w0) - loss(w_star))
        if not np.isfinite(ratio) or ratio > 1:
            fail(f"{where}: the loss went up (diverged): the stiffest feature has curvature about 100",
                 "one learning rate for all coordinates must stay below 2/L = 0.02 here; a method that scales "
                 "each coordinate by its own gradient size does not have that limit")
        if ratio > 1e-3:
            start = np.abs(w0 - w_star)
            left = np.abs(w - w_star) / start
            flat = int(np.argmin(scales))
            fail(f"{where}: {100 * ratio:.3g} % of the initial excess loss is left (needed: at most 0.1 %); the weight "
                 f"of the feature of scale 0.1 is still {100 * left[flat]:.3g} % of its way from the minimizer",
                 "the weights of the small features are large (up to ~10 away from 0): your method must travel that "
                 "far in num_steps steps; Adam moves each coordinate by about its learning rate per step")
    return "two badly scaled least-squares problems solved to 0.1 % of the initial excess loss within the budget"
