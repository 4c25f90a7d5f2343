"""Visible checks of exercise 7: sample_log_uniform, random_search, grid_search.

Expected values come from the same seeded generator (the draws the functions must make) and from
hand-computed grids; no reference code.
"""

from __future__ import annotations

import itertools
import math
import numbers

import numpy as np

from ._framework import call, expect_close, fail, register, short


def is_number(value) -> bool:
    """A real number: a Python int or float, or a numpy scalar (not a bool)."""
    return isinstance(value, (numbers.Real, np.floating, np.integer)) and not isinstance(value, (bool, np.bool_))


@register("sample_log_uniform")
def check_sample_log_uniform(sample_log_uniform):
    name = "sample_log_uniform"
    sample = call(name, sample_log_uniform, np.random.default_rng(0), -3, 1, size=4000)
    if not isinstance(sample, np.ndarray) or sample.shape != (4000,):
        fail(f"{name}(rng, -3, 1, size=4000): expected a numpy array of shape (4000,), "
             f"got {type(sample).__name__} of shape {np.shape(sample)}",
             "pass size on to rng.uniform(low, high, size), which returns an array")
    exponents = np.random.default_rng(0).uniform(-3, 1, size=4000)
    sample = np.asarray(sample, dtype=float)
    if np.allclose(sample, exponents):
        hint = "low and high are exponents: return 10 ** u, not u itself"
    elif np.allclose(sample, np.exp(exponents)):
        hint = "the base is 10: return 10 ** u, not exp(u)"
    elif np.allclose(sample, np.random.default_rng(0).uniform(1e-3, 10.0, size=4000)):
        hint = "draw the exponent uniformly, u = rng.uniform(low, high, size), then return 10 ** u"
    else:
        hint = ("make exactly one call rng.uniform(low, high, size) with the rng you were given "
                "(do not create a new generator), then return 10 ** u")
    if sample.min() < 1e-3 or sample.max() >= 10.0:
        fail(f"{name}(rng, -3, 1, size=4000): values must lie in [1e-3, 10), got [{sample.min():.3g}, {sample.max():.3g}]",
             hint)
    expect_close(name, "log10 of the samples for default_rng(0), low=-3, high=1 should be "
                 "default_rng(0).uniform(-3, 1, 4000)", exponents, np.log10(sample), hint=hint, rtol=1e-6, atol=1e-7)
    shares = [float(np.mean((sample >= 10.0 ** k) & (sample < 10.0 ** (k + 1)))) for k in (-3, -2, -1, 0)]
    if not all(abs(share - 0.25) < 0.03 for share in shares):
        fail(f"{name}: each of the 4 decades should get about 1/4 of the samples, got {np.round(shares, 3)}", hint)

    shaped = call(name, sample_log_uniform, np.random.default_rng(2), -2, 0, size=(2, 3))
    if np.shape(shaped) != (2, 3):
        fail(f"{name}(rng, -2, 0, size=(2, 3)): expected an array of shape (2, 3), got shape {np.shape(shaped)}")
    expect_close(name, "sample_log_uniform(default_rng(2), -2, 0, size=(2, 3))",
                 10.0 ** np.random.default_rng(2).uniform(-2, 0, size=(2, 3)), shaped, hint=hint, rtol=1e-6)

    one = call(name, sample_log_uniform, np.random.default_rng(1), -5, -2)
    if not (is_number(one) or (isinstance(one, np.ndarray) and one.shape == () and one.dtype.kind == "f")):
        fail(f"{name}(rng, -5, -2) with size=None must return one number (a float), "
             f"got {type(one).__name__} {short(one)}",
             "when size is None, return float(10 ** u)")
    expect_close(name, "sample_log_uniform(default_rng(1), -5, -2)",
                 10.0 ** np.random.default_rng(1).uniform(-5, -2), one, hint=hint, rtol=1e-6)
    return "10 ** (one uniform draw of the exponent), range, equal shares per decade, shapes, a float for size=None"


def trial_list(name, trials, count, called, hint=None):
    if not isinstance(trials, (list, tuple)):
        fail(f"{called}: expected a list of {count} trials, got {type(trials).__name__} {short(trials)}",
             "return a list (sorted(...) returns one)")
    trials = list(trials)
    if len(trials) != count:
        fail(f"{called}: expected {count} trials, got {len(trials)}", hint)
    for trial in trials:
        if not (isinstance(trial, dict) and "params" in trial and "score" in trial
                and isinstance(trial["params"], dict)):
            fail(f"{called}: each trial is a dict with the keys 'params' and 'score', got {short(trial)}",
                 'record {"params": params, "score": score}')
        if not is_number(trial["score"]):
            fail(f"{called}: each score must be a number, got {type(trial['score']).__name__} {short(trial['score'])}",
                 "convert the objective's result with float(...)")
    return trials


def rounded(trial_params, names):
    """The values of ``names`` in a trial's params, rounded so that equal draws compare equal."""
    return tuple(round(float(trial_params.get(n, np.nan)), 12) for n in names)


def check_order(name, scores, called):
    first_nan = next((k for k, s in enumerate(scores) if math.isnan(s)), len(scores))
    if any(not math.isnan(s) for s in scores[first_nan:]):
        fail(f"{called}: nan scores must come after all the numbers, got {scores}",
             "nan compares False with everything; sort with the key (math.isnan(score), score)")
    finite = [s for s in scores if not math.isnan(s)]
    if finite == sorted(finite, reverse=True) and finite != sorted(finite):
        fail(f"{called}: trials must be sorted best first, and LOWER is better; got scores {short(np.round(scores, 4))}",
             "sort in increasing order of score (no reverse=True)")
    if finite != sorted(finite):
        fail(f"{called}: trials must be sorted by score, lowest first; got scores {short(np.round(scores, 4))}",
             'sorted(trials, key=lambda trial: ...trial["score"]...)')


@register("random_search")
def check_random_search(random_search):
    name = "random_search"
    space = {"x": lambda rng: rng.uniform(0.0, 1.0)}
    called = "random_search(f(x) = (x - 0.3)^2, {'x': U[0, 1)}, 6, default_rng(0))"

    def parabola(params):
        return (params["x"] - 0.3) ** 2

    trials = trial_list(name, call(name, random_search, parabola, space, 6, np.random.default_rng(0)), 6, called)
    xs = np.random.default_rng(0).uniform(0.0, 1.0, size=6)  # the six draws, in trial order
    got = sorted(float(trial["params"].get("x", np.nan)) for trial in trials)
    if not np.allclose(got, sorted(xs)):
        fail(f"{called}: the trials must evaluate the draws {np.round(xs, 4)}, got {np.round(got, 4)}",
             "draw each value with sampler(rng), using the rng you were given (no new generator)")
    for trial in trials:
        if not np.isclose(trial["score"], parabola(trial["params"])):
            fail(f"{called}: each score is objective(params): for x = {trial['params']['x']:.4f} expected "
                 f"{parabola(trial['params']):.6f}, got {trial['score']!r}")
    check_order(name, [float(trial["score"]) for trial in trials], called)
    expect_close(name, f"{called}: the best trial is the draw closest to 0.3", xs[np.argmin(np.abs(xs - 0.3))],
                 trials[0]["params"]["x"])

    def diverges_above_half(params):
        return float("nan") if params["x"] > 0.5 else params["x"]

    called = "random_search(x if x <= 0.5 else nan, {'x': U[0, 1)}, 6, default_rng(0))"
    trials = trial_list(name, call(name, random_search, diverges_above_half, space, 6, np.random.default_rng(0)),
                        6, called)
    scores = [float(trial["score"]) for trial in trials]
    check_order(name, scores, called)
    if not (np.allclose(scores[:3], sorted(xs[xs <= 0.5])) and all(np.isnan(scores[3:]))):
        fail(f"{called}: expected the 3 finite scores {np.round(sorted(xs[xs <= 0.5]), 4)}, then 3 nan; got {scores}",
             "nan compares False with everything; sort with the key (math.isnan(score), score)")

    # Two hyperparameters, "b" listed before "a", three trials: the draws go b, a, b, a, b, a.
    draws = np.random.default_rng(3).uniform(size=6)
    two = {"b": lambda rng: rng.uniform(), "a": lambda rng: rng.uniform()}
    seen = []

    def flat(params):
        seen.append(dict(params))
        return 0

    called = "random_search(a constant objective, {'b': U[0, 1), 'a': U[0, 1)}, 3, default_rng(3))"
    trials = trial_list(name, call(name, random_search, flat, two, 3, np.random.default_rng(3)), 3, called)
    expected = [{"b": draws[2 * t], "a": draws[2 * t + 1]} for t in range(3)]
    if len(seen) != 3 or [rounded(s, "ba") for s in seen] != [rounded(e, "ba") for e in expected]:
        if len(seen) == 3 and np.isclose(seen[0].get("a", np.nan), draws[0]):
            hint = "draw the hyperparameters in the order of the dict (here b first), not in sorted order"
        elif len(seen) == 3 and np.isclose(seen[0].get("a", np.nan), draws[3]):
            hint = "draw a whole trial (every hyperparameter, in the order of the dict) before the next trial"
        else:
            hint = "call objective(params) once per trial, after drawing its values with sampler(rng) in dict order"
        fail(f"{called}: the objective should see {short([{k: round(float(v), 4) for k, v in e.items()} for e in expected])}, "
             f"got {short([{k: round(float(v), 4) for k, v in s.items()} for s in seen])}", hint)
    if sorted(rounded(trial["params"], "ba") for trial in trials) != sorted(rounded(e, "ba") for e in expected):
        fail(f"{called}: the trials should hold the params the objective saw, got {short(trials)}",
             'record {"params": params, "score": score} for each trial')
    return "values drawn from rng in trial and dict order, scores, best first, nan last"


PRODUCT_HINT = "evaluate every combination: itertools.product over the value lists, in the order of the dict"


@register("grid_search")
def check_grid_search(grid_search):
    name = "grid_search"
    called = "grid_search(a * b, {'a': [1, 2], 'b': [3, -1]})"
    trials = trial_list(name, call(name, grid_search, lambda params: params["a"] * params["b"],
                                   {"a": [1, 2], "b": [3, -1]}), 4, called, PRODUCT_HINT)
    got = [(trial["params"].get("a"), trial["params"].get("b"), float(trial["score"])) for trial in trials]
    check_order(name, [float(trial["score"]) for trial in trials], called)
    if got != [(2, -1, -2.0), (1, -1, -1.0), (1, 3, 3.0), (2, 3, 6.0)]:
        fail(f"{called}: expected [(2, -1, -2.0), (1, -1, -1.0), (1, 3, 3.0), (2, 3, 6.0)] as (a, b, score), got {got}",
             "evaluate every combination: itertools.product(*(grid[name] for name in grid))")

    grid = {"learning_rate": [1e-3, 1e-2, 1e-1], "momentum": (0.5, 0.9), "batch_size": np.array([32, 64])}
    calls = []

    def record(params):
        calls.append(dict(params))
        return -params["learning_rate"] * params["momentum"]

    called = "grid_search(-learning_rate * momentum, a 3 x 2 x 2 grid)"
    trials = trial_list(name, call(name, grid_search, record, grid), 12, called, PRODUCT_HINT)
    if len(calls) != 12:
        fail(f"{called}: a 3 x 2 x 2 grid has 12 combinations, but the objective was called {len(calls)} times")
    points = sorted(tuple(trial["params"].get(key) for key in grid) for trial in trials)
    if points != sorted(itertools.product(*grid.values())):
        fail(f"{called}: every combination must appear exactly once, got {short(points)}",
             "itertools.product over the value lists, in the order of the dict")
    check_order(name, [float(trial["score"]) for trial in trials], called)
    if [c.get("batch_size") for c in calls[:2]] != [32, 64] or [c.get("learning_rate") for c in calls[:4]] != [1e-3] * 4:
        fail(f"{called}: the first calls should be (1e-3, 0.5, 32), (1e-3, 0.5, 64), (1e-3, 0.9, 32), ...; got "
             f"{short([tuple(c.values()) for c in calls[:3]])}",
             "the last hyperparameter varies fastest: itertools.product over the names in the order of the dict")
    if trials[0]["params"]["learning_rate"] != 0.1 or trials[0]["params"]["momentum"] != 0.9:
        fail(f"{called}: the best (lowest score) trial is learning_rate 0.1, momentum 0.9, got {trials[0]}")
    tied = sorted(trial["params"]["batch_size"] for trial in trials[:2])
    if tied != [32, 64]:
        fail(f"{called}: the two best trials (equal scores, in either order) are learning_rate 0.1, momentum 0.9 "
             f"with batch_size 32 and 64, got {short(trials[:2])}")

    called = "grid_search(nan when x = 2, {'x': [3, 2, 1]})"
    trials = trial_list(name, call(name, grid_search, lambda params: math.nan if params["x"] == 2 else params["x"],
                                   {"x": [3, 2, 1]}), 3, called)
    scores = [float(trial["score"]) for trial in trials]
    check_order(name, scores, called)
    if scores[:2] != [1.0, 3.0] or not math.isnan(scores[2]):
        fail(f"{called}: expected the scores [1.0, 3.0, nan], got {scores}",
             "nan compares False with everything; sort with the key (math.isnan(score), score)")
    return "a 2 x 2 grid by hand, every combination of a 3 x 2 x 2 grid in product order, best first, nan last"
