"""The outcome task of chapter 5, ``schedule_for_budget``: its reference and its hidden check.

1. the reference is cosine decay (checked against the course's ``cosine_decay``); the grader's noise floor
   agrees with the chapter's closed form, its noise-free part with plain gradient descent, and its
   problems make a constant rate fail;
2. the model answer and right schedules of other shapes (linear, step, warm-up then cosine, 1/t,
   exponential to 1 %) get full marks, on every run;
3. wrong schedules lose points, each with its diagnosis in the message (whole words); hostile returns
   score zero without crashing the grader.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlopt_reference.grading import CHECKS, GradingFailure, check_schedule_for_budget
from dlopt_reference.grading.schedule_budget import (HIDDEN_PROBLEMS, BudgetProblem, noise_floor, noise_free_excess,
                                                     run_sgd)
from dlopt_reference.schedules import cosine_decay, schedule_for_budget
from outcome_checks import graded, says

POINTS = 10


def grade(function) -> tuple[float, str]:
    """(points, message) of the hidden check (see ``outcome_checks.graded``)."""
    return graded(check_schedule_for_budget, function, POINTS)


def schedule(formula):
    """``formula(k, K, eta_max)`` evaluated at k = 0, ..., K - 1."""
    def rates(num_steps, max_learning_rate):
        return formula(np.arange(num_steps), num_steps, max_learning_rate)
    return rates


def rates_in_a_list(num_steps, max_learning_rate):
    """Linear decay, returned as a Python list of floats."""
    return [max_learning_rate * (num_steps - k) / num_steps for k in range(num_steps)]


RIGHT = {
    "linear decay to zero": schedule(lambda k, K, m: m * (1 - k / K)),
    "step decay: x0.1 at 1/2 and 3/4": schedule(lambda k, K, m: m * np.where(k < K // 2, 1.0,
                                                                              np.where(k < 3 * K // 4, 0.1, 0.01))),
    "warm-up for 5 %, then cosine": schedule(lambda k, K, m: m * np.minimum((k + 1) / (K // 20),
                                                                          0.5 * (1 + np.cos(np.pi * k / K)))),
    "1/t decay, eta/(1 + 10 k/K)": schedule(lambda k, K, m: m / (1 + 10 * k / K)),
    "exponential decay to 1 %": schedule(lambda k, K, m: m * 0.01 ** (k / K)),
    "cosine decay to 10 %": schedule(lambda k, K, m: m * (0.9 * 0.5 * (1 + np.cos(np.pi * k / K)) + 0.1)),
    "linear decay, a list": rates_in_a_list,
}

#: wrong schedule -> (its function, phrases its message must say, whether it earns partial credit)
WRONG = {
    "constant max_learning_rate": (schedule(lambda k, K, m: np.full(K, m)),
                                   ("stopped at a noise floor", "a rate that never decays"), False),
    "warm-up only (rises to the maximum and stays)": (schedule(lambda k, K, m: m * np.minimum(1.0, (k + 1) / (K / 2))),
                                                       ("stopped at a noise floor",), False),
    "constant max_learning_rate / 10": (schedule(lambda k, K, m: np.full(K, m / 10)),
                                        ("stalled", "decays too early (or starts too low)"), False),
    "halving every K/20 steps": (schedule(lambda k, K, m: m * 0.5 ** (k / (K / 20))),
                                 ("stalled", "a schedule that decays too early"), False),
    "twice max_learning_rate, then cosine": (schedule(lambda k, K, m: 2 * m * 0.5 * (1 + np.cos(np.pi * k / K))),
                                             ("above max_learning_rate",), False),
    "1/t decay, eta/(1 + 20 k/K)": (schedule(lambda k, K, m: m / (1 + 20 * k / K)),
                                    ("stalled", "decays too early"), True),
    "constant max_learning_rate / 3": (schedule(lambda k, K, m: np.full(K, m / 3)),
                                       ("stopped at a noise floor", "a rate that never decays"), True),
}


# --- 1. the reference and the grader's physics -------------------------------------------------------

@pytest.mark.parametrize("num_steps, max_rate", [(1, 0.3), (10, 1.0), (137, 0.05)])
def test_the_reference_is_cosine_decay_to_zero(num_steps, max_rate):
    rates = schedule_for_budget(num_steps, max_rate)
    expected = [cosine_decay(max_rate, k, num_steps) for k in range(num_steps)]
    assert rates.shape == (num_steps,) and np.allclose(rates, expected, rtol=1e-12)
    assert np.all(rates <= max_rate) and np.all(rates > 0)


@pytest.mark.parametrize("bad", [(0, 0.1), (10, 0.0), (10, -1.0), (2.5, 0.1)])
def test_the_reference_refuses_bad_arguments(bad):
    with pytest.raises((TypeError, ValueError)):
        schedule_for_budget(*bad)


def test_the_noise_floor_agrees_with_the_closed_form_of_the_chapter():
    """For diagonal H and Sigma the floor is sum_i eta sigma_i^2 / (2 (2 - eta lambda_i)) (chapter 5's theorem)."""
    curvatures, variances = np.array([2.0, 0.5, 0.01]), np.array([1.0, 0.3, 2.0])
    for rate in (0.1, 0.5, 0.9):
        closed_form = np.sum(rate * variances / (2 * (2 - rate * curvatures)))
        assert np.isclose(noise_floor(np.diag(curvatures), np.diag(variances), rate), closed_form, rtol=1e-10)


def test_the_noise_free_excess_is_that_of_gradient_descent():
    problem = HIDDEN_PROBLEMS[2]
    data = problem.data
    rates = np.linspace(problem.max_learning_rate, 0.0, 50)
    w = data["w0"].copy()
    for rate in rates:
        w = w - rate * data["H"] @ (w - data["w_star"])
    error = w - data["w_star"]
    assert np.isclose(noise_free_excess(problem, rates), 0.5 * error @ data["H"] @ error, rtol=1e-10)


@pytest.mark.parametrize("problem", HIDDEN_PROBLEMS, ids=lambda p: f"seed {p.seed}")
def test_a_constant_rate_ends_near_its_floor_and_cosine_far_below(problem):
    constant = np.mean(run_sgd(problem, np.full(problem.num_steps, problem.max_learning_rate)))
    floor = problem.data["floor"]
    assert 0.8 * floor < constant < 2.5 * floor          # the floor, with the extra noise of minibatches
    cosine = np.mean(run_sgd(problem, schedule_for_budget(problem.num_steps, problem.max_learning_rate)))
    assert cosine < problem.target / 3                   # the margin the right answers have


def test_the_problems_differ_in_their_largest_stable_rate():
    rates = sorted(problem.max_learning_rate for problem in HIDDEN_PROBLEMS)
    assert rates[-1] / rates[0] > 10


# --- 2. right answers -------------------------------------------------------------------------------

def test_the_model_answer_gets_full_marks():
    points, message = grade(schedule_for_budget)
    assert points == POINTS, message
    assert CHECKS["schedule_for_budget"] is check_schedule_for_budget


@pytest.mark.parametrize("name", RIGHT)
def test_a_right_schedule_of_another_shape_gets_full_marks(name):
    points, message = grade(RIGHT[name])
    assert points == POINTS, message


# --- 3. wrong and hostile answers -------------------------------------------------------------------

@pytest.mark.parametrize("name", WRONG)
def test_a_wrong_schedule_loses_points_and_is_diagnosed(name):
    function, phrases, partial = WRONG[name]
    points, message = grade(function)
    if partial:
        assert 0 < points < POINTS, message
    else:
        assert points == 0, message
    for phrase in phrases:
        assert says(message, phrase), f"{name}: no {phrase!r} in\n{message}"


def test_the_diagnoses_are_not_claimed_where_they_do_not_hold():
    _, constant = grade(WRONG["constant max_learning_rate"][0])
    _, early = grade(WRONG["halving every K/20 steps"][0])
    assert not says(constant, "decays too early") and not says(constant, "stalled")
    assert not says(early, "never decays") and not says(early, "noise floor:")


def test_the_same_score_on_every_run():
    function = WRONG["1/t decay, eta/(1 + 20 k/K)"][0]
    assert grade(function) == grade(function)


def _raises(num_steps, max_learning_rate):
    raise ZeroDivisionError("oops")


HOSTILE = {
    "nan": lambda K, m: np.full(K, np.nan),
    "inf": lambda K, m: np.full(K, np.inf),
    "negative": lambda K, m: np.full(K, -m),
    "one rate too few": lambda K, m: np.full(K - 1, m / 2),
    "a matrix": lambda K, m: np.full((K, 1), m / 2),
    "a scalar": lambda K, m: m / 2,
    "a string": lambda K, m: "cosine",
    "None": lambda K, m: None,
    "an object": lambda K, m: object(),
    "huge": lambda K, m: np.full(K, 1e300),
    "raises": _raises,
}


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_answer_scores_zero_without_crashing_the_grader(name):
    points, message = grade(HOSTILE[name])
    assert points == 0 and message


def test_a_stub_is_reported_as_not_implemented():
    def stub(num_steps, max_learning_rate):
        raise NotImplementedError()

    with pytest.raises(GradingFailure, match="not implemented yet"):
        check_schedule_for_budget(stub, points=POINTS)


def test_a_problem_is_a_pure_function_of_its_seed():
    a = BudgetProblem(seed=3, num_steps=10, dimension=4, condition=10.0, batch_size=4)
    b = BudgetProblem(seed=3, num_steps=10, dimension=4, condition=10.0, batch_size=4)
    assert np.array_equal(a.data["X"], b.data["X"]) and a.data["floor"] == b.data["floor"]
