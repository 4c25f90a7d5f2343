"""The outcome task of chapter 4, ``train_badly_scaled``: its reference and its hidden check.

1. the reference reaches the least-squares solution (numpy's ``lstsq``, an independent oracle), and the
   hidden problems are what the task says: badly scaled, and hopeless for plain gradient descent at any
   single stable rate;
2. the model answer and right answers written differently (other rules, other rates, a schedule) get
   full marks, on every run;
3. wrong answers lose points, each with its diagnosis in the message (whole words); hostile returns
   score zero without crashing the grader.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlopt_reference.badly_scaled import train_badly_scaled
from dlopt_reference.grading import CHECKS, GradingFailure, check_train_badly_scaled
from dlopt_reference.grading.badly_scaled import HIDDEN_PROBLEMS, TOLERANCE, ScaledLeastSquares
from dlopt_reference.optim import adagrad, adam, rmsprop
from outcome_checks import graded, says

POINTS = 7


def grade(function) -> tuple[float, str]:
    """(points, message) of the hidden check (see ``outcome_checks.graded``)."""
    return graded(check_train_badly_scaled, function, POINTS)


def with_rule(rule, config, schedule=None):
    """A training loop: ``rule`` with ``config``, the learning rate optionally set by ``schedule(lr0, k, K)``."""
    def train(loss_and_grad, w, num_steps):
        state = dict(config)
        for k in range(num_steps):
            if schedule is not None:
                state["learning_rate"] = schedule(config["learning_rate"], k, num_steps)
            _, dw = loss_and_grad(w)
            w, state = rule(w, dw, state)
        return w
    return train


def cosine(lr0, k, num_steps):
    return lr0 * 0.5 * (1 + np.cos(np.pi * k / num_steps))


def rmsprop_by_hand(loss_and_grad, w, num_steps):
    """RMSProp written out in numpy, with a linearly decaying rate from 0.3."""
    cache = np.zeros_like(w)
    for k in range(num_steps):
        _, g = loss_and_grad(w)
        cache = 0.9 * cache + 0.1 * g * g
        w = w - 0.3 * (1 - k / num_steps) * g / (np.sqrt(cache) + 1e-8)
    return w


def sign_descent_with_decay(loss_and_grad, w, num_steps):
    """Sign gradient descent (Adam's limit for beta1 = beta2 = 0) with a step halving every num_steps/10 steps."""
    for k in range(num_steps):
        _, g = loss_and_grad(w)
        w = w - 1.0 * 0.5 ** (k / (num_steps / 10)) * np.sign(g)
    return w


RIGHT = {
    "adam, learning rate 1": with_rule(adam, {"learning_rate": 1.0}),
    "adam, learning rate 0.1": with_rule(adam, {"learning_rate": 0.1}),
    "adam, cosine decay from 0.5": with_rule(adam, {"learning_rate": 0.5}, cosine),
    "rmsprop, cosine decay from 0.3": with_rule(rmsprop, {"learning_rate": 0.3}, cosine),
    "adagrad, learning rate 3": with_rule(adagrad, {"learning_rate": 3.0}),
    "rmsprop written out, linear decay": rmsprop_by_hand,
    "sign descent, exponential decay": sign_descent_with_decay,
}


def plain_gradient_descent(rate):
    def train(loss_and_grad, w, num_steps):
        for _ in range(num_steps):
            _, dw = loss_and_grad(w)
            w = w - rate * dw
        return w
    return train


def two_calls_per_step(loss_and_grad, w, num_steps):
    """Adam, but the loss is evaluated again for a log: twice the budget of calls."""
    config, losses = {"learning_rate": 0.3}, []
    for _ in range(num_steps):
        _, dw = loss_and_grad(w)
        w, config = adam(w, dw, config)
        losses.append(loss_and_grad(w)[0])
    return w


#: wrong answer -> (phrases its message must say, whether it earns partial credit)
WRONG = {
    "gradient descent, rate 0.01 (stable, crawls)": (plain_gradient_descent(0.01),
                                                     ("stopped short", "the flat directions were left behind"), False),
    "gradient descent, rate 0.1 (above 2/L)": (plain_gradient_descent(0.1),
                                               ("diverged", "a step too large for the steepest direction"), False),
    "adam with its default learning rate 1e-3": (with_rule(adam, {}),
                                                 ("stopped short", "steps too small in every direction"), False),
    "two calls of loss_and_grad per step": (two_calls_per_step,
                                            ("more gradient evaluations than the budget",), False),
    "adam, learning rate 0.04 (too short a way for some problems)": (with_rule(adam, {"learning_rate": 0.04}),
                                                                      ("stopped short",), True),
}


# --- 1. the reference and the problems ---------------------------------------------------------------

@pytest.mark.parametrize("problem", HIDDEN_PROBLEMS, ids=lambda p: f"seed {p.seed}")
def test_the_reference_reaches_the_least_squares_solution(problem):
    data = problem.data
    oracle = np.linalg.lstsq(data["X"], data["y"], rcond=None)[0]
    w = train_badly_scaled(problem.loss_and_grad, data["w0"], problem.num_steps)
    assert np.allclose(w, oracle, rtol=1e-4, atol=1e-4)
    # and within two thirds of the budget, the margin the task promises
    w = train_badly_scaled(problem.loss_and_grad, data["w0"], 2 * problem.num_steps // 3)
    excess = (problem.loss(data["X"], data["y"], w) - data["f_star"]) / (data["f0"] - data["f_star"])
    assert excess <= TOLERANCE


def test_the_reference_does_not_modify_w_and_counts_its_calls():
    problem = HIDDEN_PROBLEMS[0]
    calls = []

    def counted(w):
        calls.append(1)
        return problem.loss_and_grad(w)

    w0 = np.zeros(problem.dimension)
    train_badly_scaled(counted, w0, 37)
    assert len(calls) == 37 and np.array_equal(w0, np.zeros(problem.dimension))


@pytest.mark.parametrize("problem", HIDDEN_PROBLEMS, ids=lambda p: f"seed {p.seed}")
def test_the_problems_are_badly_scaled_and_defeat_plain_gradient_descent(problem):
    """Curvatures span four orders of magnitude, and no single stable rate of gradient descent solves them."""
    data = problem.data
    assert data["L"] / data["mu"] > 5e3
    initial = data["f0"] - data["f_star"]
    for fraction in (0.5, 1.0, 1.9):
        w = plain_gradient_descent(fraction / data["L"])(problem.loss_and_grad, data["w0"], problem.num_steps)
        assert (problem.loss(data["X"], data["y"], w) - data["f_star"]) / initial > 20 * TOLERANCE


def test_the_problems_differ_from_the_visible_ones():
    from dlopt.checks._chapter04 import _scaled_least_squares

    visible = [_scaled_least_squares(seed, dimension)[2] for seed, dimension in ((7, 4), (8, 6))]
    hidden_dimensions = {problem.dimension for problem in HIDDEN_PROBLEMS}
    assert {len(w) for w in visible}.isdisjoint(hidden_dimensions)


# --- 2. right answers -------------------------------------------------------------------------------

def test_the_model_answer_gets_full_marks():
    points, message = grade(train_badly_scaled)
    assert points == POINTS, message
    assert CHECKS["train_badly_scaled"] is check_train_badly_scaled


@pytest.mark.parametrize("name", RIGHT)
def test_a_right_answer_written_differently_gets_full_marks(name):
    points, message = grade(RIGHT[name])
    assert points == POINTS, message


# --- 3. wrong and hostile answers -------------------------------------------------------------------

@pytest.mark.parametrize("name", WRONG)
def test_a_wrong_answer_loses_points_and_is_diagnosed(name):
    function, phrases, partial = WRONG[name]
    points, message = grade(function)
    if partial:
        assert 0 < points < POINTS, message
    else:
        assert points == 0, message
    for phrase in phrases:
        assert says(message, phrase), f"{name}: no {phrase!r} in\n{message}"


def test_a_known_mistake_is_not_claimed_for_a_partial_answer_that_stops_short_near_the_goal():
    _, message = grade(WRONG["adam, learning rate 0.04 (too short a way for some problems)"][0])
    assert "This looks like" not in message


def test_the_same_score_on_every_run():
    function = WRONG["adam, learning rate 0.04 (too short a way for some problems)"][0]
    assert grade(function) == grade(function)


def _raises(loss_and_grad, w, num_steps):
    raise RuntimeError("oops")


def _stub(loss_and_grad, w, num_steps):
    raise NotImplementedError()


def _runaway(loss_and_grad, w, num_steps):
    while True:
        _, dw = loss_and_grad(w)


HOSTILE = {
    "nan": lambda f, w, k: np.full_like(w, np.nan),
    "inf": lambda f, w, k: np.full_like(w, np.inf),
    "wrong shape": lambda f, w, k: np.zeros(len(w) + 1),
    "a string": lambda f, w, k: "w",
    "None": lambda f, w, k: None,
    "an object": lambda f, w, k: object(),
    "a huge value": lambda f, w, k: np.full_like(w, 1e200),
    "raises": _raises,
    "never stops calling": _runaway,
    "calls with a wrong shape": lambda f, w, k: f(np.zeros(3 * len(w) + 1))[1],
}


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_answer_scores_zero_without_crashing_the_grader(name):
    points, message = grade(HOSTILE[name])
    assert points == 0 and message


def test_a_stub_is_reported_as_not_implemented():
    with pytest.raises(GradingFailure, match="not implemented yet"):
        check_train_badly_scaled(_stub, points=POINTS)


def test_not_a_function_is_reported():
    with pytest.raises(GradingFailure, match="should be a function"):
        check_train_badly_scaled(None, points=POINTS)


def test_a_problem_is_a_pure_function_of_its_seed():
    a, b = ScaledLeastSquares(seed=1, dimension=6, num_steps=10), ScaledLeastSquares(seed=1, dimension=6, num_steps=10)
    assert np.array_equal(a.data["X"], b.data["X"]) and np.array_equal(a.data["y"], b.data["y"])
