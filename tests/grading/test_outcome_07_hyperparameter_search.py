"""The outcome task of chapter 7: ``tune_hyperparameters`` graded on hidden tuning problems.

Right searches written in other ways (pure random search on a log scale, a log grid then a finer one, a
compass search, an elite-resampling search, a Latin hypercube) earn full marks; the wrong ones (a linear
scale, a linear grid, the first or the worst configuration returned, one hyperparameter only, over the
budget) lose points and are named; hostile returns score nothing without breaking the grader. The problems
themselves are checked against independent computations (a dense grid and Monte Carlo).
"""

from __future__ import annotations

import contextlib
import io
import math

import numpy as np
import pytest
from scipy import optimize

from dlopt.checks import CheckFailure, check
from dlopt_reference.grading import GradingFailure, check_tune_hyperparameters
from dlopt_reference.grading import tuning
from dlopt_reference.search import tune_hyperparameters
from outcome_checks import graded, says

LOW = np.array([-5.0, -6.0])   # exponents of the search space's bounds
HIGH = np.array([0.0, -1.0])
POINTS = 8


def config_of(exponents):
    return {"learning_rate": float(10.0 ** exponents[0]), "weight_decay": float(10.0 ** exponents[1])}


# --------------------------------------------------------------------------------------------
# right answers, written differently


def random_search_log(objective, budget, rng):
    """The whole budget on log-uniform draws; the lowest observed loss."""
    trials = [(objective(config_of(x)), i, x) for i, x in enumerate(rng.uniform(LOW, HIGH, size=(budget, 2)))]
    return config_of(min(trials, key=lambda t: (t[0], t[1]))[2])


def random_search_natural_log(objective, budget, rng):
    """Log-uniform through the natural logarithm and exp, the best kept with sorted()."""
    trials = []
    for _ in range(budget):
        config = {"learning_rate": float(np.exp(rng.uniform(np.log(1e-5), np.log(1.0)))),
                  "weight_decay": float(np.exp(rng.uniform(np.log(1e-6), np.log(1e-1))))}
        trials.append({"params": config, "score": objective(dict(config))})
    return sorted(trials, key=lambda trial: trial["score"])[0]["params"]


def grid_then_zoom(objective, budget, rng):
    """A log grid over the space with half the budget, then a shrinking pattern around the best point."""
    n = math.isqrt(budget // 2)
    trials = [(objective(config_of((u, v))), np.array([u, v])) for u in np.linspace(-5, 0, n)
              for v in np.linspace(-6, -1, n)]
    step = (HIGH - LOW) / (n - 1) / 2
    left = budget - n * n
    while left > 0:
        centre = min(trials, key=lambda t: t[0])[1]
        for direction in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            if left == 0:
                break
            x = np.clip(centre + step * np.array(direction), LOW, HIGH)
            trials.append((objective(config_of(x)), x))
            left -= 1
        step = step / 2
    return config_of(min(trials, key=lambda t: t[0])[1])


def compass_search(objective, budget, rng):
    """A third of the budget on random starts, then a compass (pattern) search in log space."""
    starts = max(1, budget // 3)
    trials = [(objective(config_of(x)), x) for x in rng.uniform(LOW, HIGH, size=(starts, 2))]
    best_loss, best = min(trials, key=lambda t: t[0])
    step, left = 1.0, budget - starts
    while left > 0:
        improved = False
        for direction in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            if left == 0:
                break
            x = np.clip(best + step * np.array(direction), LOW, HIGH)
            loss = objective(config_of(x))
            left -= 1
            if loss < best_loss:
                best_loss, best, improved = loss, x, True
                break
        if not improved:
            step /= 2
    return config_of(best)


def elite_resampling(objective, budget, rng):
    """Ordinal search: half the budget at random, then draws around the best quarter so far (no loss values
    used, only their order)."""
    points = list(rng.uniform(LOW, HIGH, size=(budget // 2, 2)))
    losses = [objective(config_of(x)) for x in points]
    while len(points) < budget:
        elite = np.array(points)[np.argsort(losses)[: max(2, len(points) // 4)]]
        x = np.clip(rng.normal(elite.mean(axis=0), elite.std(axis=0) + 0.05), LOW, HIGH)
        points.append(x)
        losses.append(objective(config_of(x)))
    return config_of(points[int(np.argmin(losses))])


def latin_hypercube(objective, budget, rng):
    """A Latin hypercube in log space: one draw in each of budget strata of each axis; numpy scalars returned."""
    strata = [(rng.permutation(budget) + rng.uniform(size=budget)) / budget for _ in range(2)]
    points = LOW + (HIGH - LOW) * np.stack(strata, axis=1)
    losses = np.array([objective(config_of(x)) for x in points])
    best = points[int(np.argmin(losses))]
    return {"learning_rate": np.float64(10.0 ** best[0]), "weight_decay": np.array(10.0 ** best[1])}


RIGHT = [tune_hyperparameters, random_search_log, random_search_natural_log, grid_then_zoom, compass_search,
         elite_resampling, latin_hypercube]


# --------------------------------------------------------------------------------------------
# wrong answers, each with the words its diagnosis must hold


def linear_random_search(objective, budget, rng):
    trials = []
    for _ in range(budget):
        config = {"learning_rate": float(rng.uniform(1e-5, 1.0)), "weight_decay": float(rng.uniform(1e-6, 0.1))}
        trials.append((objective(config), config))
    return min(trials, key=lambda t: t[0])[1]


def linear_grid(objective, budget, rng):
    trials = [(objective(c), c) for c in ({"learning_rate": float(lr), "weight_decay": float(wd)}
                                          for lr in np.linspace(1e-5, 1, 5) for wd in np.linspace(1e-6, 0.1, 5))]
    return min(trials, key=lambda t: t[0])[1]


def first_configuration(objective, budget, rng):
    configs = [config_of(x) for x in rng.uniform(LOW, HIGH, size=(budget, 2))]
    for config in configs:
        objective(config)
    return configs[0]


def highest_loss(objective, budget, rng):
    trials = [(objective(config_of(x)), tuple(x)) for x in rng.uniform(LOW, HIGH, size=(budget, 2))]
    return config_of(max(trials)[1])


def learning_rate_only(objective, budget, rng):
    trials = []
    for _ in range(budget):
        config = {"learning_rate": float(10 ** rng.uniform(-5, 0)), "weight_decay": 1e-4}
        trials.append((objective(config), config))
    return min(trials, key=lambda t: t[0])[1]


def fine_log_grid(objective, budget, rng):
    """15 x 15 = 225 points: more than any budget."""
    trials = [(objective(config_of((u, v))), (u, v)) for u in np.linspace(-5, 0, 15) for v in np.linspace(-6, -1, 15)]
    return config_of(min(trials)[1])


def fixed_guess(objective, budget, rng):
    return {"learning_rate": 1e-3, "weight_decay": 1e-4}


WRONG = [
    (linear_random_search, "a search on a linear scale"),
    (linear_grid, "a search on a linear scale"),
    (first_configuration, "the first configuration evaluated was returned"),
    (highest_loss, "the configuration with the highest loss was returned"),
    (learning_rate_only, "weight_decay was never varied"),
    (fine_log_grid, "over the budget"),
    (fixed_guess, "the objective was never called"),
]


def grade(function) -> tuple[float, str]:
    """(points, message) of the hidden check (see ``outcome_checks.graded``)."""
    return graded(check_tune_hyperparameters, function, POINTS)


@pytest.mark.parametrize("function", RIGHT, ids=lambda f: f.__name__)
def test_right_searches_get_full_marks(function):
    points, message = grade(function)
    assert points == POINTS, message
    assert "solved 24 of 24" in message


@pytest.mark.parametrize("function", RIGHT, ids=lambda f: f.__name__)
def test_right_searches_pass_the_visible_check(function):
    with contextlib.redirect_stdout(io.StringIO()):
        check("tune_hyperparameters", function)


@pytest.mark.parametrize("function", [random_search_log, compass_search, tune_hyperparameters],
                         ids=lambda f: f.__name__)
def test_right_searches_solve_every_problem_with_other_seeds(function):
    """A right search is not lucky with the grader's seeds: 5 other generators per problem, all solved."""
    for problem in tuning.hidden_problems():
        for seed in range(5):
            objective = tuning.Objective(problem, seed)
            answer = function(objective, problem.budget, np.random.default_rng(10_000 + seed))
            outcome = tuning.judge(problem, objective, answer)
            assert outcome.solved, f"{function.__name__}, seed {seed}, {problem.describe()}: {outcome.detail}"


@pytest.mark.parametrize("function, diagnosis", WRONG, ids=[f.__name__ for f, _ in WRONG])
def test_wrong_searches_lose_points_and_are_named(function, diagnosis):
    points, message = grade(function)
    assert points < POINTS / 2, f"{function.__name__} earned {points}:\n{message}"
    assert says(message, diagnosis), message


@pytest.mark.parametrize("function, diagnosis", WRONG, ids=[f.__name__ for f, _ in WRONG])
def test_wrong_searches_fail_the_visible_check(function, diagnosis):
    with pytest.raises(CheckFailure):
        with contextlib.redirect_stdout(io.StringIO()):
            check("tune_hyperparameters", function)


def test_a_diagnosis_is_given_only_where_it_fits():
    """Each known mistake's name appears for its own wrong answer only, never for the others or the reference."""
    messages = {function: grade(function)[1] for function, _ in WRONG}
    messages[tune_hyperparameters] = grade(tune_hyperparameters)[1]
    for function, diagnosis in WRONG:
        for other, text in messages.items():
            own = other is function or dict(WRONG).get(other) == diagnosis
            assert says(text, diagnosis) == own, f"{diagnosis!r} for {other.__name__}:\n{text[-800:]}"


def test_linear_search_fails_most_problems():
    points, _ = grade(linear_random_search)
    assert points <= POINTS / 4


def test_failed_problem_says_what_happened():
    _, message = grade(linear_random_search)
    assert "returned learning_rate" in message and "the best achievable is" in message
    assert "had learning_rate above 0.1" in message
    assert "training diverges there" in message  # a diverged configuration is called so


@pytest.mark.parametrize("answer, words", [
    (None, "must be a dict"),
    ("learning_rate=1e-3", "must be a dict"),
    ([1e-3, 1e-4], "must be a dict"),
    ({"learning_rate": float("nan"), "weight_decay": 1e-4}, "is not a finite number"),
    ({"learning_rate": float("inf"), "weight_decay": 1e-4}, "is not a finite number"),
    ({"learning_rate": -1e-3, "weight_decay": 1e-4}, "is outside the search space"),
    ({"learning_rate": 1e-3, "weight_decay": 1e300}, "is outside the search space"),
    ({"learning_rate": 1e-3}, "exactly the keys"),
    ({"learning_rate": 1e-3, "weight_decay": 1e-4, "momentum": 0.9}, "exactly the keys"),
    ({"learning_rate": "0.001", "weight_decay": 1e-4}, "must be a number"),
    ({"learning_rate": np.ones(2), "weight_decay": 1e-4}, "must be a number"),
    ({"learning_rate": True, "weight_decay": 1e-4}, "must be a number"),
])
def test_hostile_returns_score_zero_with_a_message(answer, words):
    def hostile(objective, budget, rng):
        objective(config_of(rng.uniform(LOW, HIGH)))
        return answer

    points, message = grade(hostile)
    assert points == 0 and words in message, message


def test_a_crash_is_reported_and_scores_zero():
    def crashes(objective, budget, rng):
        return 1 / 0

    points, message = grade(crashes)
    assert points == 0 and "ZeroDivisionError" in message


def test_not_implemented_stops_at_once():
    def stub(objective, budget, rng):
        raise NotImplementedError()

    with pytest.raises(GradingFailure, match="not implemented yet"):
        check_tune_hyperparameters(stub, points=POINTS)


def test_calls_outside_the_space_are_refused():
    def outside(objective, budget, rng):
        objective({"learning_rate": 2.0, "weight_decay": 1e-4})
        return {"learning_rate": 1e-3, "weight_decay": 1e-4}

    points, message = grade(outside)
    assert points == 0 and "learning_rate = 2.0 is outside the search space" in message


def test_the_objective_enforces_the_budget():
    problem = tuning.hidden_problems()[0]
    objective = tuning.Objective(problem, 0)
    for _ in range(problem.budget):
        assert math.isfinite(objective({"learning_rate": 1e-5, "weight_decay": 1e-6}))
    with pytest.raises(RuntimeError, match=f"the budget is {problem.budget} calls"):
        objective({"learning_rate": 1e-5, "weight_decay": 1e-6})


def test_a_caught_budget_error_still_fails_the_problem():
    def greedy(objective, budget, rng):
        trials = []
        for x in rng.uniform(LOW, HIGH, size=(budget + 5, 2)):
            try:
                trials.append((objective(config_of(x)), tuple(x)))
            except RuntimeError:
                pass
        return config_of(min(trials)[1])

    points, message = grade(greedy)
    assert points == 0 and "over the budget" in message


def test_partial_credit_is_proportional_and_rounded_down():
    solved = {id(problem) for problem in tuning.hidden_problems()[::3]}  # 8 of 24

    def some(objective, budget, rng):
        problem = objective.problem
        return problem.best_config if id(problem) in solved else {"learning_rate": 1.0, "weight_decay": 0.1}

    points, message = grade(some)
    assert points == math.floor(100 * POINTS * 8 / 24) / 100 == 2.66, message


def test_the_same_score_on_every_run():
    assert grade(learning_rate_only) == grade(learning_rate_only)
    assert grade(random_search_log) == grade(random_search_log)


# --------------------------------------------------------------------------------------------
# the problems, against independent computations


def test_hidden_problems_are_fixed_and_differ_from_the_visible_ones():
    from dlopt.checks._chapter07 import VISIBLE_TUNING_PROBLEMS

    first, second = tuning.hidden_problems(), [tuning.make_problem(tuning.BASE_SEED + i)
                                               for i in range(tuning.N_INSTANCES)]
    assert list(first) == second and len(first) == 24
    visible = {(round(p.u_star, 3), round(p.v_star, 3)) for p in VISIBLE_TUNING_PROBLEMS}
    assert not visible & {(round(p.u_star, 3), round(p.v_star, 3)) for p in first}
    assert all(40 <= p.budget <= tuning.MAX_BUDGET and p.budget % 10 == 0 for p in first)


@pytest.mark.parametrize("index", range(tuning.N_INSTANCES))
def test_the_best_achievable_loss_is_the_minimum_over_the_space(index):
    """L* at (u*, v*) is the minimum of the true loss over the box: a dense grid and scipy find nothing lower."""
    problem = tuning.hidden_problems()[index]
    u, v = np.meshgrid(np.linspace(-5, 0, 301), np.linspace(-6, -1, 301))
    assert np.min(problem.true_loss(u, v)) >= problem.loss_star - 1e-12
    result = optimize.minimize(lambda x: problem.true_loss(*x), x0=[-3.0, -3.5], bounds=[(-5, 0), (-6, -1)],
                               method="Nelder-Mead", options={"xatol": 1e-8, "fatol": 1e-12})
    assert result.fun >= problem.loss_star - 1e-12
    assert problem.true_loss(problem.u_star, problem.v_star) == pytest.approx(problem.loss_star)
    for u, v in np.random.default_rng(index).uniform(LOW, HIGH, size=(50, 2)):  # the scalar path agrees
        assert problem.loss_of(config_of((u, v))) == pytest.approx(problem.true_loss(u, v), rel=1e-9)
    assert -5 <= problem.u_star <= 0 and -6 <= problem.v_star <= -1


@pytest.mark.parametrize("index", range(tuning.N_INSTANCES))
def test_a_log_uniform_search_of_the_budget_fails_with_tiny_probability(index):
    """Monte Carlo (independent of the grid in solved_share): the tolerance region's share p of the log-scaled
    space gives (1 - p) ** budget <= 1e-5, and a linear-uniform draw lands in it far less often."""
    problem = tuning.hidden_problems()[index]
    rng = np.random.default_rng(index)
    n = 200_000
    u, v = rng.uniform(-5, 0, n), rng.uniform(-6, -1, n)
    share = np.mean(problem.true_loss(u, v) <= problem.loss_star + tuning.TOLERANCE)
    assert (1 - share) ** problem.budget <= 1e-5, (share, problem.budget)
    linear = np.mean(problem.true_loss(np.log10(rng.uniform(1e-5, 1, n)), np.log10(rng.uniform(1e-6, 0.1, n)))
                     <= problem.loss_star + tuning.TOLERANCE)
    assert linear < share / 5, (linear, share)


def test_most_problems_defeat_a_linear_search():
    """With the whole budget of linear-uniform draws, most problems are still missed more often than not."""
    missed = 0
    for index, problem in enumerate(tuning.hidden_problems()):
        rng = np.random.default_rng(100 + index)
        n = 200_000
        linear = np.mean(problem.true_loss(np.log10(rng.uniform(1e-5, 1, n)), np.log10(rng.uniform(1e-6, 0.1, n)))
                         <= problem.loss_star + tuning.TOLERANCE)
        missed += (1 - linear) ** problem.budget > 0.5
    assert missed >= 18, missed


def test_problems_have_edges_divergence_and_noise():
    problems = tuning.hidden_problems()
    assert sum(p.u_star < -4.6 for p in problems) >= 4          # best learning rate near the lower edge
    assert sum(p.v_star < -5.6 or p.v_star > -1.4 for p in problems) >= 4
    assert sum(math.isfinite(p.diverge_above) for p in problems) >= 12
    assert sum(p.diverged_loss == math.inf for p in problems) >= 4
    assert sum(p.noise > 0 for p in problems) >= 8


def test_the_reference_stays_in_the_budget_and_the_space():
    calls = []

    def loss(config):
        return (math.log10(config["learning_rate"]) + 4.9) ** 2 + (math.log10(config["weight_decay"]) + 1.1) ** 2

    def objective(config):
        calls.append(tuning.checked_config(config, "config"))  # raises outside the search space
        return loss(config)

    best = tune_hyperparameters(objective, 37, np.random.default_rng(3))
    assert len(calls) == 37
    assert best == min(calls, key=loss)  # the best configuration evaluated
