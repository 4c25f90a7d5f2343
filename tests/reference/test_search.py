"""Tests of dlopt_reference.search: the log-uniform distribution, trial order and sorting."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from dlopt_reference.search import (grid_search, random_search, rung_schedule, sample_log_uniform,
                                    successive_halving)


def test_log_uniform_range_and_distribution():
    low, high = -6, -1
    samples = sample_log_uniform(np.random.default_rng(0), low, high, size=4000)
    assert samples.shape == (4000,) and samples.dtype == np.float64
    assert samples.min() >= 10.0 ** low and samples.max() <= 10.0 ** high
    # log10 of the samples is uniform on [low, high]: Kolmogorov-Smirnov, fixed seed
    result = stats.kstest(np.log10(samples), stats.uniform(loc=low, scale=high - low).cdf)
    assert result.pvalue > 0.01
    # and the samples themselves are far from uniform on [1e-6, 1e-1]: half of them lie below 10^-3.5
    assert abs(np.mean(samples < 10 ** -3.5) - 0.5) < 0.03
    assert stats.kstest(samples, stats.uniform(loc=1e-6, scale=1e-1 - 1e-6).cdf).pvalue < 1e-10


def test_log_uniform_is_ten_to_one_uniform_draw():
    ours = sample_log_uniform(np.random.default_rng(5), -3, 2, size=(2, 3))
    assert ours.shape == (2, 3)
    np.testing.assert_allclose(ours, 10.0 ** np.random.default_rng(5).uniform(-3, 2, size=(2, 3)), rtol=1e-15)
    scalar = sample_log_uniform(np.random.default_rng(5), -3, 2)
    assert type(scalar) is float and 1e-3 <= scalar <= 1e2


def test_log_uniform_validation():
    with pytest.raises(ValueError, match="low must be smaller than high"):
        sample_log_uniform(np.random.default_rng(0), 1, 1)
    with pytest.raises(ValueError, match="low must be smaller than high"):
        sample_log_uniform(np.random.default_rng(0), 2, -2)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        sample_log_uniform(np.random.RandomState(0), -1, 1)
    with pytest.raises(TypeError, match="low must be a real number"):
        sample_log_uniform(np.random.default_rng(0), "a", 1)


SPACE = {
    "learning_rate": lambda rng: sample_log_uniform(rng, -5, 0),
    "momentum": lambda rng: float(rng.uniform(0.5, 0.99)),
}


def _objective(params):
    # a smooth bowl in (log10 lr, momentum) with its minimum at (-2, 0.9)
    return (math.log10(params["learning_rate"]) + 2) ** 2 + (params["momentum"] - 0.9) ** 2


def test_random_search_draw_order_and_sorting():
    trials = random_search(_objective, SPACE, 30, np.random.default_rng(42))
    assert len(trials) == 30
    # trial t draws learning_rate then momentum (insertion order of the space): reproduce by hand
    rng = np.random.default_rng(42)
    drawn = []
    for _ in range(30):
        learning_rate = 10 ** rng.uniform(-5, 0)
        momentum = rng.uniform(0.5, 0.99)
        drawn.append((learning_rate, momentum))
    got = sorted((t["params"]["learning_rate"], t["params"]["momentum"]) for t in trials)
    np.testing.assert_allclose(got, sorted(drawn), rtol=1e-15)
    scores = [t["score"] for t in trials]
    assert scores == sorted(scores)                                 # best (lowest) first
    for trial in trials:
        assert trial["score"] == pytest.approx(_objective(trial["params"]), rel=1e-15)
        assert type(trial["score"]) is float
    # the best trial is the best of the hand-drawn points
    assert trials[0]["score"] == pytest.approx(min(_objective({"learning_rate": a, "momentum": b}) for a, b in drawn))


def test_random_search_ties_keep_trial_order_and_nan_last():
    counter = iter(range(100))
    space = {"index": lambda rng: next(counter)}
    scores = {0: 1.0, 1: float("nan"), 2: 0.5, 3: 1.0, 4: 0.5, 5: float("inf")}
    trials = random_search(lambda p: scores[p["index"]], space, 6, np.random.default_rng(0))
    assert [t["params"]["index"] for t in trials] == [2, 4, 0, 3, 5, 1]


def test_random_search_objective_gets_a_copy():
    def objective(params):
        params["learning_rate"] = -1.0
        return 0.0

    trials = random_search(objective, SPACE, 3, np.random.default_rng(0))
    assert all(t["params"]["learning_rate"] > 0 for t in trials)


def test_random_search_is_reproducible():
    first = random_search(_objective, SPACE, 10, np.random.default_rng(7))
    second = random_search(_objective, SPACE, 10, np.random.default_rng(7))
    assert first == second


def test_grid_search_enumerates_product_in_order():
    grid = {"a": [1, 2, 3], "b": ["x", "y"], "c": (0.1,)}
    seen = []
    trials = grid_search(lambda p: seen.append(dict(p)) or 0.0, grid)
    expected = [dict(zip(grid, combination)) for combination in itertools.product(*grid.values())]
    assert seen == expected                                        # last key varies fastest
    assert [t["params"] for t in trials] == expected                 # equal scores: trial order kept
    assert len(trials) == 3 * 2 * 1


def test_grid_search_sorted_best_first():
    trials = grid_search(lambda p: p["a"] * p["b"], {"a": [1, 2], "b": [3, -1]})
    # products: (1,3)=3, (1,-1)=-1, (2,3)=6, (2,-1)=-2
    assert [(t["params"]["a"], t["params"]["b"], t["score"]) for t in trials] == [
        (2, -1, -2.0), (1, -1, -1.0), (1, 3, 3.0), (2, 3, 6.0)]
    trials = grid_search(lambda p: (p["lr"] - 0.01) ** 2, {"lr": np.geomspace(1e-4, 1, 5)})
    assert trials[0]["params"]["lr"] == pytest.approx(0.01)


def test_search_validation():
    rng = np.random.default_rng(0)
    with pytest.raises(TypeError, match="objective must be callable"):
        random_search(None, SPACE, 3, rng)
    with pytest.raises(ValueError, match="space must contain at least one hyperparameter"):
        random_search(_objective, {}, 3, rng)
    with pytest.raises(TypeError, match=r"space\['lr'\] must be a callable sampler"):
        random_search(_objective, {"lr": [0.1, 0.2]}, 3, rng)
    with pytest.raises(ValueError, match="n_trials must be >= 1"):
        random_search(_objective, SPACE, 0, rng)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        random_search(_objective, SPACE, 3, 0)
    with pytest.raises(TypeError, match="objective must return a real number"):
        random_search(lambda p: "bad", SPACE, 3, rng)
    with pytest.raises(ValueError, match=r"grid\['a'\] must contain at least one value"):
        grid_search(lambda p: 0.0, {"a": []})
    with pytest.raises(TypeError, match=r"grid\['a'\] must be a list of values"):
        grid_search(lambda p: 0.0, {"a": "abc"})
    with pytest.raises(ValueError, match="grid must contain at least one hyperparameter"):
        grid_search(lambda p: 0.0, {})
    with pytest.raises(TypeError, match="grid must be a dict"):
        grid_search(lambda p: 0.0, [("a", [1])])


# --------------------------------------------------------------------------------------------
# successive_halving against an independent hand-written loop
# --------------------------------------------------------------------------------------------


def _halving_by_hand(train, configs, min_budget, max_budget, r):
    """Successive halving written differently: rungs counted with logarithms, survivors found by repeated
    removal of the worst, the result assembled rung by rung from the top."""
    n = len(configs)
    top = 0
    while min_budget * r ** (top + 1) <= max_budget:
        top += 1
    assert top == int(math.floor(math.log(max_budget / min_budget, r) + 1e-12))
    history = []                                   # per rung: {index: score}
    alive = list(range(n))
    for k in range(top + 1):
        budget = min_budget * r ** k
        history.append({i: float(train(dict(configs[i]), budget)) for i in alive})
        survivors_wanted = max(1, n // r ** (k + 1))
        alive = list(alive)
        while len(alive) > survivors_wanted:       # drop the worst: nan first, then the highest score, then the
            def badness(i):                        # latest in configs among equals
                s = history[k][i]
                return (math.isnan(s), -math.inf if math.isnan(s) else s, i)
            alive.remove(max(alive, key=badness))
    result, placed = [], set()
    for k in range(top, -1, -1):
        here = [i for i in history[k] if i not in placed]
        here.sort(key=lambda i: (math.isnan(history[k][i]), history[k][i] if not math.isnan(history[k][i]) else 0, i))
        for i in here:
            result.append({"params": dict(configs[i]), "budget": min_budget * r ** k, "score": history[k][i]})
            placed.add(i)
    return result


def _same_trials(ours, theirs):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a["params"] == b["params"] and a["budget"] == pytest.approx(b["budget"], rel=1e-12)
        assert (math.isnan(a["score"]) and math.isnan(b["score"])) or a["score"] == b["score"]


@pytest.mark.parametrize("seed", range(40))
def test_successive_halving_matches_a_hand_written_loop(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 40))
    r = int(rng.integers(2, 5))
    min_budget = [1, 2, 0.5, 3][seed % 4]
    max_budget = min_budget * float(rng.uniform(1, r ** 4))
    levels = rng.integers(0, 4, size=n)            # few distinct levels: many ties
    slopes = rng.normal(size=n)
    configs = [{"id": i, "level": int(levels[i]), "slope": float(slopes[i])} for i in range(n)]

    def train(params, budget):
        if params["level"] == 3 and params["slope"] > 1.0:
            return float("nan")                    # a diverged run
        # ties at every rung for configurations of the same level and sign, curves that cross
        return params["level"] + (0.5 if params["slope"] > 0 else -0.5) / budget

    _same_trials(successive_halving(train, configs, min_budget, max_budget, r),
                 _halving_by_hand(train, configs, min_budget, max_budget, r))


def test_successive_halving_calls_and_budget_arithmetic():
    calls = []

    def train(params, budget):
        calls.append((params["i"], budget))
        return (params["i"] * 7 % 27) / 27 + 1 / budget

    trials = successive_halving(train, [{"i": i} for i in range(27)], 1, 27)   # reduction_factor 3 by default
    assert [b for _, b in calls] == [1] * 27 + [3] * 9 + [9] * 3 + [27]
    assert [i for i, b in calls if b == 1] == list(range(27))                     # rung 0 in the order of configs
    assert sum(b for _, b in calls) == 4 * 27 == (3 + 1) * 27 * 1                 # (K + 1) n b_0 when n = r^K
    assert rung_schedule(27, 1, 27) == [(27, 1), (9, 3), (3, 9), (1, 27)]
    assert [t["budget"] for t in trials] == [27] + [9] * 2 + [3] * 6 + [1] * 18
    assert trials[0]["params"]["i"] == 0                                          # (0 * 7) % 27 = 0: the best
    survivors = [i for i, b in calls if b == 3]
    assert survivors == sorted(survivors)                                         # later rungs in configs order too


def test_successive_halving_edge_cases_and_validation():
    single = successive_halving(lambda p, b: p["x"] * b, [{"x": 2.0}], 1, 8, 2)
    assert single == [{"params": {"x": 2.0}, "budget": 8, "score": 16.0}]        # one config trains on every rung
    one_rung = successive_halving(lambda p, b: p["x"], [{"x": 3}, {"x": 1}, {"x": 2}], 5, 5)
    assert [(t["params"]["x"], t["budget"]) for t in one_rung] == [(1, 5), (2, 5), (3, 5)]
    with pytest.raises(ValueError, match="configs must contain"):
        successive_halving(lambda p, b: 0.0, [], 1, 9)
    with pytest.raises(ValueError, match="reduction_factor must be an integer >= 2"):
        successive_halving(lambda p, b: 0.0, [{"x": 1}], 1, 9, 1)
    with pytest.raises(ValueError, match="max_budget must be a number >= min_budget"):
        successive_halving(lambda p, b: 0.0, [{"x": 1}], 9, 1)
    with pytest.raises(ValueError, match="min_budget must be a positive number"):
        successive_halving(lambda p, b: 0.0, [{"x": 1}], 0, 1)
    with pytest.raises(TypeError, match=r"configs\[0\] must be a dict"):
        successive_halving(lambda p, b: 0.0, [3], 1, 9)
    with pytest.raises(TypeError, match="must return a real number"):
        successive_halving(lambda p, b: "low", [{"x": 1}], 1, 9)
