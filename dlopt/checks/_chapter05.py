"""Visible checks of exercise 5: the learning-rate schedules (values computed by hand).

Each check calls the schedule at a few steps (step 0, just before, at and after a boundary, far past
``decay_steps``, with and without the optional arguments) and compares with values worked out from
the notebook's formulas; when the results match a usual mistake worked out on the same calls, the
hint says which one it looks like.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ._framework import CheckFailure, call, fail, register, short


def rate(name, function, *args, hint=None, **kwargs):
    """``function(*args, **kwargs)`` as a float; a crash gets ``hint`` added (not for a stub)."""
    try:
        value = call(name, function, *args, **kwargs)
    except CheckFailure as failure:
        if hint is None or "not implemented yet" in str(failure):
            raise
        fail(str(failure), hint)
    try:
        return float(value)
    except (TypeError, ValueError):
        fail(f"{name}{describe(args, kwargs)} must return a number (a Python float), got {short(value)}",
             "return float(...) of the learning rate")


def describe(args, kwargs) -> str:
    parts = [f"{a:g}" if isinstance(a, float) else repr(a) for a in args]
    parts += [f"{key}={value!r}" for key, value in kwargs.items()]
    return "(" + ", ".join(parts) + ")"


def same(got, values) -> bool:
    got, values = np.asarray(got, dtype=float), np.asarray(values, dtype=float)
    return got.shape == values.shape and bool(np.allclose(got, values, rtol=1e-6, atol=1e-12))


def expect_rates(name, what, expected, got, mistakes=(), hint=None):
    """Fail unless ``got`` (a float or a list of floats) matches ``expected``; the hint is that of the
    first mistake in ``mistakes`` (pairs ``(what the mistake returns here, hint)``) that reproduces ``got``."""
    if same(got, expected):
        return
    if not np.all(np.isfinite(np.asarray(got, dtype=float))):
        hint = "your result holds nan or inf: " + (hint or "look for a division by zero")
    for values, mistake_hint in mistakes:
        if same(got, values):
            hint = mistake_hint
            break
    pretty = (lambda v: [round(x, 8) for x in v]) if isinstance(expected, list) else (lambda v: round(v, 8))
    fail(f"{name}: {what}:\n  expected {pretty(expected)}\n  got      {pretty(got)}", hint)


@register("step_decay")
def check_step_decay(step_decay):
    epochs = (0, 2, 3, 5, 6, 7)
    got = [rate("step_decay", step_decay, 0.1, e, 0.5, 3) for e in epochs]
    expect_rates("step_decay", "step_decay(0.1, e, 0.5, 3) for e = 0, 2, 3, 5, 6, 7",
                 [0.1, 0.1, 0.05, 0.05, 0.025, 0.025], got,
                 [([0.1 * 0.5 ** (e / 3) for e in epochs], "the rate changes in steps: the exponent is floor(e / E)"),
                  ([0.1, 0.05, 0.05, 0.025, 0.025, 0.025],
                   "epochs count from 0: epochs 0, ..., E - 1 keep learning_rate, epoch E is the first with drop"),
                  ([0.1, 0.05, 0.05, 0.025, 0.025, 0.0125],
                   "floor, not ceil: epochs 0, ..., E - 1 keep learning_rate, epoch E is the first with drop")],
                 "eta_e = eta_0 * drop ** floor(e / E), with e counted from 0")
    got = [rate("step_decay", step_decay, 1.0, e) for e in (9, 10, 20)]
    expect_rates("step_decay", "step_decay(1.0, e) with the defaults drop=0.5, epochs_drop=10 at epochs 9, 10, 20",
                 [1.0, 0.5, 0.25], got, hint="keep the defaults of the signature: drop=0.5, epochs_drop=10")
    got = rate("step_decay", step_decay, 1.0, 25, 0.1, 10)
    expect_rates("step_decay", "step_decay(1.0, 25, 0.1, 10) = 1.0 * 0.1 ** 2", 0.01, got,
                 [(0.81, "drop is the factor that REMAINS at each drop (0.1 keeps 10 %), not the fraction removed")])
    value = call("step_decay", step_decay, 0.1, 4)
    if not isinstance(value, (numbers.Real, np.floating, np.integer)) or isinstance(value, (bool, np.bool_)):
        fail(f"step_decay(0.1, 4) must return a number (a float), got {type(value).__name__} {short(value)}",
             "wrap the result in float(...)")
    return "before, at and after a drop, the defaults, a number"


def expect_smooth_and_staircase(name, function, cases, stairs, mistakes, hint):
    """``cases``: (args, expected) called without staircase, one by one; ``stairs``: (args, expected)
    called with staircase=True, compared as a list; ``mistakes``: (values of all the cases then all the
    stairs, hint)."""
    for index, (args, value) in enumerate(cases):
        got = rate(name, function, *args, hint=hint)
        expect_rates(name, f"{name}{describe(args, {})} (staircase defaults to False)", value, got,
                     [(values[index], mistake_hint) for values, mistake_hint in mistakes], hint)
    got = [rate(name, function, *args, staircase=True, hint=hint) for args, _ in stairs]
    if len({args[:1] + args[2:] for args, _ in stairs}) == 1:  # only the step changes
        first = stairs[0][0]
        calls = (f"{name}{describe(first[:1], {})[:-1]}, k, {describe(first[2:], {})[1:-1]}, staircase=True) "
                 f"at k = {', '.join(str(args[1]) for args, _ in stairs)}")
    else:
        calls = ", ".join(f"{name}{describe(args, {'staircase': True})}" for args, _ in stairs)
    expect_rates(name, f"with staircase=True: {calls}", [value for _, value in stairs], got,
                 [(values[len(cases):], mistake_hint) for values, mistake_hint in mistakes], hint)


@register("exponential_decay")
def check_exponential_decay(exponential_decay):
    cases = [((0.1, 5, 10, 0.25), 0.05), ((0.1, 20, 10, 0.5), 0.025), ((0.1, 15, 10, 0.5), 0.1 * 0.5 ** 1.5),
             ((0.1, 0, 10, 0.5), 0.1)]
    stairs = [((0.1, k, 10, 0.5), value) for k, value in zip((0, 9, 10, 19, 20), (0.1, 0.1, 0.05, 0.05, 0.025))]
    mistakes = [
        ([0.1, 0.025, 0.05, 0.1] + [0.1, 0.1, 0.05, 0.05, 0.025],
         "without staircase the exponent is k / T itself, not floor(k / T)"),
        ([0.05, 0.025, 0.1 * 0.5 ** 1.5, 0.1] + [0.1 * 0.5 ** (k / 10) for k in (0, 9, 10, 19, 20)],
         "with staircase=True the exponent is floor(k / T): the rate changes in jumps"),
        ([0.1 * math.exp(-0.125), 0.1 * math.exp(-1.0), 0.1 * math.exp(-0.75), 0.1]
         + [0.1 * math.exp(-0.5 * p) for p in (0, 0, 1, 1, 2)],
         "exponential_decay multiplies by decay_rate ** p; exp(-decay_rate * p) is natural_exp_decay"),
        ([0.05, 0.025, 0.1 * 0.5 ** 1.5, 0.1] + [0.1, 0.05, 0.05, 0.025, 0.025],
         "staircase rounds DOWN, floor(k / T): steps 0, ..., T - 1 keep learning_rate"),
    ]
    expect_smooth_and_staircase("exponential_decay", exponential_decay, cases, stairs, mistakes,
                                "eta_k = eta_0 * decay_rate ** p, with p = k / T (floor(k / T) with staircase)")
    return "smooth and staircase values by hand, step 0, the staircase default"


@register("inverse_time_decay")
def check_inverse_time_decay(inverse_time_decay):
    cases = [((0.1, 20, 10, 0.5), 0.05), ((0.3, 0, 10, 0.5), 0.3), ((1.0, 15, 10, 1.0), 0.4)]
    stairs = [((1.0, 9, 10, 1.0), 1.0), ((1.0, 15, 10, 1.0), 0.5)]
    mistakes = [
        ([0.1, math.inf, 1 / 1.5, math.inf, 1.0], "the denominator is 1 + decay_rate * p (do not forget the 1)"),
        ([0.2, 0.3, 2.5, 1.0, 2.0], "the rate is DIVIDED by 1 + decay_rate * p"),
        ([0.1 / 1.5 ** 2, 0.3, 1 / 2 ** 1.5, 1.0, 0.5],
         "the denominator is 1 + decay_rate * p, a product, not a power"),
        ([0.1 / 2.05, 0.3 / 1.05, 1 / 2.6, 0.5, 0.5], "global_step counts from 0: p = k / T"),
        ([0.05, 0.3, 0.4, 1 / 1.9, 0.4], "with staircase=True p = floor(k / T)"),
    ]
    expect_smooth_and_staircase("inverse_time_decay", inverse_time_decay, cases, stairs, mistakes,
                                "eta_k = eta_0 / (1 + decay_rate * p), with p = k / T (floor(k / T) with staircase)")
    return "values by hand at step 0, in between and at multiples of T, smooth and staircase"


@register("natural_exp_decay")
def check_natural_exp_decay(natural_exp_decay):
    log4 = math.log(4.0)
    cases = [((1.0, 10, 10, 1.0), math.exp(-1.0)), ((0.2, 5, 10, log4), 0.1), ((0.3, 0, 10, log4), 0.3)]
    stairs = [((0.2, 9, 10, log4), 0.2), ((0.2, 19, 10, log4), 0.05)]
    mistakes = [
        ([math.e, 0.4, 0.3, 0.2, 0.8], "the exponent is negative: eta_0 * exp(-decay_rate * p)"),
        ([1.0, 0.2 * log4 ** 0.5, 0.3, 0.2, 0.2 * log4],
         "natural_exp_decay uses exp(-decay_rate * p); decay_rate ** p is exponential_decay"),
        ([math.exp(-1.0), 0.2 * math.exp(-0.5 / log4), 0.3, 0.2, 0.2 * math.exp(-1 / log4)],
         "decay_rate multiplies p in the exponent: exp(-decay_rate * p)"),
        ([math.exp(-1.0), 0.1, 0.3, 0.05, 0.0125], "staircase rounds DOWN: p = floor(k / T)"),
        ([math.exp(-1.0), 0.1, 0.3, 0.2 * 4 ** -0.9, 0.2 * 4 ** -1.9], "with staircase=True p = floor(k / T)"),
    ]
    expect_smooth_and_staircase("natural_exp_decay", natural_exp_decay, cases, stairs, mistakes,
                                "eta_k = eta_0 * exp(-decay_rate * p), with p = k / T (floor(k / T) with staircase)")
    return "values by hand, step 0, smooth and staircase"


@register("piecewise_constant")
def check_piecewise_constant(piecewise_constant):
    steps = [0, 9, 10, 11, 20, 21, 500]
    got = [rate("piecewise_constant", piecewise_constant, k, [10, 20], [1.0, 0.5, 0.1]) for k in steps]
    expect_rates("piecewise_constant", f"boundaries [10, 20], values [1.0, 0.5, 0.1] at steps {steps}",
                 [1.0, 1.0, 1.0, 0.5, 0.5, 0.1, 0.1], got,
                 [([1.0, 1.0, 0.5, 0.5, 0.1, 0.1, 0.1],
                   "at a boundary (k == boundary) the value is still the one on the left: count the boundaries "
                   "strictly below k"),
                  ([1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5],
                   "after the last boundary the value is the last one, values[n]")],
                 "eta_k = values[i], with i the number of boundaries strictly below k")
    got = rate("piecewise_constant", piecewise_constant, 3, (5,), (0.3, 0.03))
    expect_rates("piecewise_constant", "piecewise_constant(3, (5,), (0.3, 0.03)): one boundary given as a tuple",
                 0.3, got)
    got = [rate("piecewise_constant", piecewise_constant, k, (5, 8), (0.3, 0.2, 0.1)) for k in (5, 6, 9)]
    expect_rates("piecewise_constant", "boundaries (5, 8), values (0.3, 0.2, 0.1) as tuples, at steps 5, 6, 9",
                 [0.3, 0.2, 0.1], got, hint="boundaries and values may also come as tuples")
    return "before, at and after each boundary, a single boundary, tuples"


@register("polynomial_decay")
def check_polynomial_decay(polynomial_decay):
    name = "polynomial_decay"
    got = rate(name, polynomial_decay, 0.1, 5, 10, 0.0)
    expect_rates(name, "polynomial_decay(0.1, 5, 10, 0.0) = 0.1 * (1 - 5/10)", 0.05, got,
                 hint="eta_k = (eta_0 - eta_end) * (1 - k / T) ** power + eta_end")
    got = rate(name, polynomial_decay, 1.0, 5, 10, 0.0, 2.0)
    expect_rates(name, "polynomial_decay(1.0, 5, 10, 0.0, 2.0) = 1.0 * (1 - 5/10) ** 2", 0.25, got,
                 [(0.5, "raise (1 - k / T) to the power `power`")])
    got = rate(name, polynomial_decay, 0.2, 5, 10, 0.1)
    expect_rates(name, "polynomial_decay(0.2, 5, 10, 0.1) = (0.2 - 0.1) * (1 - 5/10) + 0.1", 0.15, got,
                 [(0.05, "(eta_0 - eta_end) * (1 - k / T) ** power + eta_end: add eta_end back"),
                  (0.2, "(eta_0 - eta_end) * (1 - k / T) ** power + eta_end: subtract eta_end from eta_0 first")])
    got = [rate(name, polynomial_decay, 0.1, k, 10) for k in (10, 50)]
    expect_rates(name, "polynomial_decay(0.1, k, 10) at k = 10 and 50: from decay_steps on the rate stays at "
                 "end_learning_rate (default 1e-4)", [1e-4, 1e-4], got,
                 [([1e-4, (0.1 - 1e-4) * (1 - 5) + 1e-4], "without cycle, clip the step: min(k, T)"),
                  ([0.0, 0.0], "keep the default end_learning_rate=1e-4")],
                 "without cycle, k is clipped to min(k, T)")
    got0 = rate(name, polynomial_decay, 0.1, 0, 10, 0.0, cycle=True,
                hint="at step 0 with cycle=True the multiplier is 1, not ceil(0 / T) = 0")
    expect_rates(name, "polynomial_decay(0.1, 0, 10, 0.0, cycle=True): the multiplier is 1 at step 0 and the rate is "
                 "learning_rate", 0.1, got0, hint="at step 0 with cycle=True the multiplier is 1, not ceil(0 / T) = 0")
    steps = (10, 11, 15, 20, 21)
    got = [rate(name, polynomial_decay, 0.1, k, 10, 0.0, cycle=True) for k in steps]
    expect_rates(name, "polynomial_decay(0.1, k, 10, 0.0, cycle=True) at k = 10, 11, 15, 20, 21 (T' = 10, 20, 20, 20, "
                 "30)", [0.0, 0.1 * (1 - 11 / 20), 0.025, 0.0, 0.1 * (1 - 21 / 30)], got,
                 [([0.05, 0.1 * (1 - 11 / 20), 0.025, 0.1 / 3, 0.1 * (1 - 21 / 30)],
                   "at an exact multiple k = n T the multiplier is ceil(k / T) = n: the rate reaches end_learning_rate "
                   "there, the restart comes at n T + 1"),
                  ([0.1, 0.09, 0.05, 0.1, 0.09],
                   "cycle does not restart at learning_rate: it stretches the horizon to T' = T * ceil(k / T)"),
                  ([0.0, 0.0, 0.0, 0.0, 0.0], "with cycle=True the step is not clipped: the horizon T' grows instead")],
                 "with cycle=True, T' = T * ceil(k / T) and "
                 "eta_k = (eta_0 - eta_end) * (1 - k / T') ** power + eta_end")
    return "linear and power 2, end_learning_rate, clipping, and cycle at 0, T, T + 1, 2T"


@register("cosine_decay")
def check_cosine_decay(cosine_decay):
    name = "cosine_decay"
    got = [rate(name, cosine_decay, 0.1, k, 10) for k in (0, 5, 10, 30)]
    expect_rates(name, "cosine_decay(0.1, k, 10) at k = 0, 5, 10, 30", [0.1, 0.05, 0.0, 0.0], got,
                 [([0.1, 0.05 * (1 + math.cos(0.5)), 0.05 * (1 + math.cos(1.0)), 0.05 * (1 + math.cos(1.0))],
                   "the angle is pi * k / T: half a period of the cosine over decay_steps")],
                 "eta_k = eta_0 * ((1 - alpha) * (1 + cos(pi * min(k, T) / T)) / 2 + alpha)")
    got = [rate(name, cosine_decay, 1.0, 5, 10, alpha=0.2), rate(name, cosine_decay, 0.5, 5, 10, alpha=0.2)]
    expect_rates(name, "at the middle with alpha=0.2: cosine_decay(1.0, 5, 10, alpha=0.2) = (1 - 0.2) * 0.5 + 0.2 "
                 "and cosine_decay(0.5, 5, 10, alpha=0.2) = 0.5 * 0.6", [0.6, 0.3], got,
                 [([0.7, 0.35], "the cosine part is scaled by (1 - alpha): (1 - alpha) * (1 + cos) / 2 + alpha"),
                  ([0.6, 0.35], "alpha is a FRACTION of learning_rate (the final rate is alpha * learning_rate), not "
                                "an absolute minimum: multiply the whole bracket by learning_rate"),
                  ([0.4, 0.2], "add alpha inside the bracket: (1 - alpha) * (1 + cos) / 2 + alpha")],
                 "eta_k = eta_0 * ((1 - alpha) * (1 + cos(pi * k / T)) / 2 + alpha)")
    got = rate(name, cosine_decay, 1.0, 25, 10, alpha=0.2)
    expect_rates(name, "cosine_decay(1.0, 25, 10, alpha=0.2): past decay_steps the rate stays at alpha * learning_rate",
                 0.2, got, [(0.6, "clip the step: k' = min(k, T), so the rate stays at alpha * eta_0 after T")])
    return "start, middle, end, past the end, and alpha as a fraction"


# --- schedule_for_budget: judged by what the rates do -------------------------------------------

def _noisy_quadratic_run(rates, curvatures, noise, w0, seed, runs=8):
    """Mean excess loss of SGD on f(w) = sum(curvatures * w**2) / 2 whose gradients carry Gaussian noise."""
    rng = np.random.default_rng(seed)
    w = np.tile(w0, (runs, 1))
    with np.errstate(all="ignore"):
        for rate_k in rates:
            w = w - rate_k * (curvatures * w + noise * rng.standard_normal(w.shape))
        return float(np.mean(0.5 * np.sum(curvatures * w ** 2, axis=1)))


def _budget_case(seed, num_steps, curvatures, noise):
    """A visible instance: its max_learning_rate = 1/L, the floor F of that constant rate, and a start w0 whose
    every direction holds 5 F of excess loss (so the flattest one needs many steps at a large rate). The noise
    of a direction grows with the root of its curvature, as the minibatch noise of least squares does."""
    curvatures = np.asarray(curvatures, dtype=float)
    noise = noise * np.sqrt(curvatures / curvatures.max())
    max_rate = 1.0 / curvatures.max()
    # the noise floor of a constant rate eta on each direction: eta sigma^2 / (2 (2 - eta lambda)) (chapter 5)
    floor = float(np.sum(max_rate * noise ** 2 / (2 * (2 - max_rate * curvatures))))
    signs = np.where(np.random.default_rng(seed).random(len(curvatures)) < 0.5, -1.0, 1.0)
    w0 = signs * np.sqrt(2 * 5.0 * floor / curvatures)
    return num_steps, max_rate, floor, w0, curvatures, noise


_BUDGET_CASES = (
    (101, 700, np.geomspace(1.0, 1 / 70, 6), 1.0),
    (202, 1000, np.geomspace(2.0, 2 / 100, 8), 0.5),
)


@register("schedule_for_budget")
def check_schedule_for_budget(schedule_for_budget):
    name = "schedule_for_budget"
    for seed, num_steps, curvatures, noise in _BUDGET_CASES:
        num_steps, max_rate, floor, w0, curvatures, noise = _budget_case(seed, num_steps, curvatures, noise)
        where = f"{name}({num_steps}, {max_rate:.6g})"
        value = call(name, schedule_for_budget, num_steps, max_rate)
        try:
            rates = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            fail(f"{where} returned {short(value)}", "return a numpy array of num_steps numbers")
        if rates.shape != (num_steps,):
            fail(f"{where} returned shape {rates.shape}, expected ({num_steps},)", "one learning rate per step")
        if not np.all(np.isfinite(rates)) or np.any(rates < 0):
            fail(f"{where} returned a rate that is negative, nan or inf", "every rate must be a number >= 0")
        if np.any(rates > max_rate * (1 + 1e-9)):
            first = int(np.argmax(rates > max_rate * (1 + 1e-9)))
            fail(f"{where}: the rate of step {first} is {rates[first]:.4g}, above max_learning_rate = {max_rate:.4g}",
                 "above the largest stable rate SGD can diverge: never go above max_learning_rate")
        excess = _noisy_quadratic_run(rates, curvatures, noise, w0, seed)
        if not excess <= 0.25 * floor:
            tail = float(np.mean(rates[-num_steps // 10:])) / max_rate
            total = float(np.sum(rates)) / max_rate
            if tail >= 0.3:
                hint = (f"your last rates are still {tail:.2g} x max_learning_rate: with a rate that does not go "
                        "down, SGD stops at a noise floor proportional to it")
            elif total < 0.3 * num_steps:
                hint = (f"your rates add up to only {total:.0f} steps' worth of max_learning_rate out of {num_steps}: "
                        "they decay too early (or start too low) to cross the flat directions")
            else:
                hint = "keep the rate large for a good part of the budget, then let it fall close to zero by the end"
            fail(f"{where}: SGD on a noisy quadratic (curvatures {curvatures.min():.3g} to {curvatures.max():.3g}) "
                 f"ends with an excess loss {excess / floor:.3g} x F, where F is the noise floor of the constant rate "
                 f"max_learning_rate; needed: at most 0.25 x F", hint)
    return "SGD with your rates on two noisy quadratics beats a quarter of the constant rate's noise floor"
