"""Visible checks of exercise 7: sample_log_uniform, random_search, grid_search, successive_halving,
tune_hyperparameters (judged by the true loss of the configuration it returns on three visible problems).

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


def halving_summary(trials):
    """``(params, budget)`` of each trial, for the messages."""
    return [(trial.get("params"), trial.get("budget")) for trial in trials]


def halving_list(name, trials, count, called):
    if not isinstance(trials, (list, tuple)):
        fail(f"{called}: expected a list of {count} trials, one per configuration, got {type(trials).__name__} "
             f"{short(trials)}", "return every configuration's trial, not only the winner")
    trials = list(trials)
    for trial in trials:
        if not (isinstance(trial, dict) and {"params", "budget", "score"} <= set(trial) and isinstance(trial["params"], dict)):
            fail(f"{called}: each trial is a dict with the keys 'params', 'budget' and 'score', got {short(trial)}",
                 'record {"params": config, "budget": the largest budget it was trained with, "score": its score there}')
    if len(trials) != count:
        fail(f"{called}: expected {count} trials (one per configuration, eliminated ones included), got {len(trials)}",
             "keep the latest result of every configuration, not only the survivors of the last rung")
    return trials


@register("successive_halving")
def check_successive_halving(successive_halving):
    name = "successive_halving"
    xs = (0.9, 0.1, 0.5, 0.3, 0.7, 0.2, 0.8, 0.6, 0.4)
    calls = []

    def train(params, epochs):  # called positionally: train(params, budget), whatever the parameter's name
        calls.append((params["x"], epochs))
        return abs(params["x"] - 0.27) + 1 / epochs

    called = "successive_halving(|x - 0.27| + 1/budget, 9 configurations x = 0.9, 0.1, ..., 0.4, 1, 10)"
    trials = halving_list(name, call(name, successive_halving, train, [{"x": x} for x in xs], 1, 10), 9, called)
    # by hand: rung 0 trains all nine with budget 1 and keeps 9 // 3 = 3 (x = 0.3, 0.2, 0.4: |x - 0.27| = 0.03,
    # 0.07, 0.13); rung 1 trains them with budget 3 and keeps 9 // 9 = 1 (x = 0.3); rung 2 trains it with budget 9
    expected_calls = [(x, 1) for x in xs] + [(0.3, 3), (0.2, 3), (0.4, 3), (0.3, 9)]
    if [(x, float(b)) for x, b in calls] != [(x, float(b)) for x, b in expected_calls]:
        if len(calls) >= 10 and calls[9][1] == 1:
            hint = "multiply the budget by reduction_factor at every rung: rung k trains with min_budget * r ** k"
        elif len(calls) >= 10 and calls[9][0] in (0.9, 0.8, 0.7):
            hint = "keep the configurations with the LOWEST scores (lower is better)"
        elif len(calls) == 9 + 3 + 1 and sorted(calls[9:12]) == sorted(expected_calls[9:12]):
            hint = "train the survivors in the order of configs (sorted by their index), not in the order of the ranking"
        elif len(calls) > 13:
            hint = ("rungs k = 0, 1, ..., K with min_budget * r ** K <= max_budget (here budgets 1, 3, 9), keeping "
                    "max(1, n // r ** k) configurations at rung k (here 9, 3, 1)")
        else:
            hint = ("budgets 1, 3, 9 (min_budget * 3 ** k, as long as it is <= max_budget = 10) for 9, 3, 1 configurations "
                    "(max(1, n // 3 ** k))")
        fail(f"{called}: train should be called with (x, budget) = {expected_calls}, in this order; got {short(calls)}",
             hint)
    expected = [(0.3, 9), (0.2, 3), (0.4, 3), (0.1, 1), (0.5, 1), (0.6, 1), (0.7, 1), (0.8, 1), (0.9, 1)]
    got = [(trial["params"].get("x"), trial["budget"]) for trial in trials]
    if [(x, float(b)) for x, b in got] != [(x, float(b)) for x, b in expected]:
        fail(f"{called}: expected (x, budget) in the order {expected}, got {got}",
             "sort by the largest budget reached (largest first), then by the score at that budget (lowest first)")
    for trial in trials:
        want = abs(trial["params"]["x"] - 0.27) + 1 / float(trial["budget"])
        if not (is_number(trial["score"]) and math.isclose(trial["score"], want, rel_tol=1e-9)):
            fail(f"{called}: the trial x = {trial['params']['x']} should have the score {want:.6g} of its last rung "
                 f"(budget {trial['budget']}), got {short(trial['score'])}",
                 "report each configuration's score at the largest budget it was trained with")

    # Equal scores, a diverged run, and a loss that rises with the budget (overfitting), reduction_factor 2
    base = [2.0, math.nan, 1.0, 1.0, 0.0, 1.0]

    def tied(params, budget):
        return base[params["id"]] + budget

    called = ("successive_halving(score = [2, nan, 1, 1, 0, 1][id] + budget, ids 0..5, min_budget=1, max_budget=4, "
              "reduction_factor=2)")
    trials = halving_list(name, call(name, successive_halving, tied, [{"id": i} for i in range(6)], 1, 4, 2), 6, called)
    # by hand: rung 0 (budget 1) ranks ids 4, 2, 3, 5, 0, 1 (the tie of 2, 3, 5 in the order of configs, nan last)
    # and keeps 3 (ids 4, 2, 3: the tie decides); rung 1 (budget 2) ranks 4, 2, 3 and keeps 1; rung 2 (budget 4)
    # trains id 4. The result: by budget reached, then by score (here the loss rises with the budget)
    expected = [(4, 4), (2, 2), (3, 2), (5, 1), (0, 1), (1, 1)]
    got = [(trial["params"].get("id"), trial["budget"]) for trial in trials]
    if [(i, float(b)) for i, b in got] != [(i, float(b)) for i, b in expected]:
        if got[1:3] == [(3, 2), (5, 2)] or got[3:5] == [(0, 1), (5, 1)]:
            hint = "equal scores rank in the order of configs: sort with the key (isnan(score), score, index)"
        elif got and got[0][0] == 1:
            hint = "a nan score (diverged run) is the worst: sort with the key (math.isnan(score), score, index)"
        elif got and got[0][0] == 5:
            hint = ("sort the result by the largest budget reached first (largest first), then by score: here the loss "
                    "rises with the budget, and the winner (id 4, budget 4) has a higher score than the others")
        else:
            hint = "budgets 1, 2, 4 for 6, 3, 1 configurations (max(1, n // 2 ** k))"
        fail(f"{called}: expected (id, budget) in the order {expected}, got {got}", hint)
    if not math.isnan(trials[-1]["score"]):
        fail(f"{called}: the diverged configuration (id 1) should keep its score nan, got {short(trials[-1]['score'])}")
    return ("the calls of train (budgets 1, 3, 9 for 9, 3, 1 configurations), the order of the result, scores of the "
            "last rung reached, ties in the order of configs, nan last")


# --------------------------------------------------------------------------------------------
# tune_hyperparameters: judged by outcome on three visible tuning problems (the hidden check uses others)

TUNING_SPACE = {"learning_rate": (1e-5, 1.0), "weight_decay": (1e-6, 1e-1)}
TUNING_TOLERANCE = 0.05
CHANCE_LOSS = math.log(10.0)  # a 10-class classifier that learned nothing


class VisibleTuningProblem:
    """A validation loss of u = log10(learning_rate), v = log10(weight_decay): L* at (u*, v*), rising to
    chance level away from it (faster above u*), inf where training diverges; optionally noisy."""

    def __init__(self, name, u_star, v_star, loss_star, lr_width, wd_width, diverge_above, budget, noise=0.0, seed=0):
        self.name, self.u_star, self.v_star, self.loss_star = name, u_star, v_star, loss_star
        scale = -math.log1p(-TUNING_TOLERANCE / (CHANCE_LOSS - loss_star))  # q at loss L* + tolerance
        self.a, self.b = scale / lr_width ** 2, scale / wd_width ** 2
        self.diverge_above, self.budget, self.noise, self.seed = diverge_above, budget, noise, seed

    def true_loss(self, config):
        u, v = math.log10(config["learning_rate"]), math.log10(config["weight_decay"])
        if u > self.diverge_above:
            return math.inf
        du, dv = u - self.u_star, v - self.v_star
        q = self.a * (2.0 if du > 0 else 1.0) * du ** 2 + self.b * dv ** 2
        return self.loss_star + (CHANCE_LOSS - self.loss_star) * -math.expm1(-q)


# the budgets let a log-uniform random search of the whole budget fail each problem with probability < 1e-6
VISIBLE_TUNING_PROBLEMS = [
    VisibleTuningProblem("best learning_rate 3e-4, weight_decay 1e-5; diverges above learning_rate 3e-3",
                         math.log10(3e-4), -5.0, 0.45, 0.8, 1.2, math.log10(3e-3), budget=150, seed=11),
    VisibleTuningProblem("best learning_rate 2e-5 (near the lower edge), weight_decay 0.03; diverges above 3e-3; noisy",
                         math.log10(2e-5), math.log10(0.03), 0.6, 0.8, 1.6, math.log10(3e-3), budget=210, noise=0.005,
                         seed=12),
    VisibleTuningProblem("best learning_rate 0.01, weight_decay 1.6e-6 (near the lower edge); diverges above 0.05; "
                         "noisy", -2.0, -5.8, 0.35, 0.8, 1.1, math.log10(0.05), budget=240, noise=0.01, seed=13),
]


def _tuning_config(name, config, what):
    """The configuration as two floats inside the search space, or a failure saying what is wrong."""
    if not isinstance(config, dict) or set(config) != set(TUNING_SPACE):
        fail(f"{name}: {what} must be a dict with exactly the keys 'learning_rate' and 'weight_decay', got {short(config)}",
             'return {"learning_rate": ..., "weight_decay": ...}')
    clean = {}
    for key, (low, high) in TUNING_SPACE.items():
        value = config[key]
        if isinstance(value, np.ndarray) and value.shape == ():
            value = value[()]
        if not is_number(value) or not math.isfinite(float(value)):
            fail(f"{name}: {what}: {key} must be a finite number, got {short(config[key])}")
        if not low * (1 - 1e-9) <= float(value) <= high * (1 + 1e-9):
            fail(f"{name}: {what}: {key} = {float(value):.3g} is outside the search space [{low:g}, {high:g}]",
                 "stay inside the search space, including when you search near its edges")
        clean[key] = min(max(float(value), low), high)
    return clean


@register("tune_hyperparameters")
def check_tune_hyperparameters(tune_hyperparameters):
    name = "tune_hyperparameters"
    for problem in VISIBLE_TUNING_PROBLEMS:
        noise = np.random.default_rng(problem.seed)
        evaluated = []

        def objective(config, problem=problem, noise=noise, evaluated=evaluated):
            if len(evaluated) >= problem.budget:
                fail(f"{name}: on the problem '{problem.name}' the objective was called more than budget = "
                     f"{problem.budget} times", "count every call of objective, and stop when the budget is spent")
            config = _tuning_config(name, config, "the objective's argument")
            loss = problem.true_loss(config)
            if problem.noise and math.isfinite(loss):
                loss += problem.noise * float(noise.standard_normal())
            evaluated.append((config, loss))
            return loss

        answer = call(name, tune_hyperparameters, objective, problem.budget, np.random.default_rng(problem.seed + 100))
        config = _tuning_config(name, answer, "the returned configuration")
        loss, best = problem.true_loss(config), problem.loss_star
        if loss <= best + TUNING_TOLERANCE:
            continue
        rates = [c["learning_rate"] for c, _ in evaluated]
        decays = {c["weight_decay"] for c, _ in evaluated}
        if len(rates) > 4 and np.mean(np.array(rates) > 0.1) > 0.6:
            hint = ("most of your learning rates were above 0.1: a learning rate is a scale parameter, so give each "
                    "decade (1e-5 to 1e-4, ..., 0.1 to 1) the same share of your trials")
        elif len(decays) == 1 and len(rates) > 4:
            hint = "every evaluation used the same weight_decay: search both hyperparameters"
        elif evaluated and config == evaluated[0][0] and len(evaluated) > 4:
            hint = "you returned the first configuration you evaluated: return the one with the lowest loss"
        elif evaluated and math.isfinite(loss) and loss >= max(l for _, l in evaluated if math.isfinite(l)):
            hint = "you returned the configuration with the highest loss; lower is better"
        elif not evaluated:
            hint = "call objective(config) to evaluate configurations, and return the best one"
        else:
            hint = ("spend the budget on the whole space, on a log scale, then return the configuration with the "
                    "lowest loss (optionally refine around it)")
        diverged = " (training diverges there)" if math.isinf(loss) else ""
        fail(f"{name}: on the problem '{problem.name}' (budget {problem.budget}), it returned learning_rate "
             f"{config['learning_rate']:.3g}, weight_decay {config['weight_decay']:.3g}, true loss {loss:.3f}{diverged}; "
             f"the best achievable is {best:.3f}, and a loss within {TUNING_TOLERANCE} of it is required "
             f"({len(evaluated)} evaluations)", hint)
    return ("within 0.05 of the best loss on 3 visible problems (one optimum near the lower edge of the learning "
            "rate, one near the lower edge of the weight decay, noisy losses) under the budget")
