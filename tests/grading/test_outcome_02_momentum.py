"""The outcome task of 02_momentum: ``heavy_ball_parameters(L, mu)``, graded by what ``sgd_momentum`` does with them.

Right answers written differently earn every point; the usual wrong answers (plain gradient descent, a fixed
momentum of 0.9, the momentum not squared, Nesterov's parameters, a learning rate for the moving-average form)
score nothing and are named; hostile returns score nothing without crashing; the budget leaves the margin it
claims; the grader's update rule is the course's ``sgd_momentum``; the reference's rate is the best one a search
over (learning rate, momentum) finds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from dlopt_reference.grading import check_heavy_ball_parameters
from dlopt_reference.grading import step_sizes as graders
from dlopt_reference.grading._report import GradingFailure
from dlopt_reference.optim import sgd_momentum
from dlopt_reference.step_sizes import heavy_ball_parameters
from outcome_checks import graded

POINTS = 10


def grade(function) -> tuple[float, str]:
    """(points, message) of the hidden check (see ``outcome_checks.graded``)."""
    return graded(check_heavy_ball_parameters, function, POINTS)


def polyak(L, mu):
    return 4 / (math.sqrt(L) + math.sqrt(mu)) ** 2, ((math.sqrt(L / mu) - 1) / (math.sqrt(L / mu) + 1)) ** 2


def from_the_contraction(L, mu):
    """Choose the contraction r first, then the rate that puts both ends of the spectrum on the circle |z| = r."""
    r = (math.sqrt(L) - math.sqrt(mu)) / (math.sqrt(L) + math.sqrt(mu))
    return (1 + r) ** 2 / L, r * r


def from_kappa(L, mu):
    kappa = L / mu
    return 4 / (L * (1 + 1 / math.sqrt(kappa)) ** 2), (1 - 2 / (math.sqrt(kappa) + 1)) ** 2


def from_the_ema_form(L, mu):
    """Derived for sgd_momentum_ema (lr' = lr / (1 - beta)), then converted back to the velocity form."""
    rate, beta = polyak(L, mu)
    ema_rate = rate / (1 - beta)
    return ema_rate * (1 - beta), beta


RIGHT = {
    "reference": heavy_ball_parameters,
    "from the contraction": from_the_contraction,
    "from kappa": from_kappa,
    "converted from the EMA form": from_the_ema_form,
    "numpy types, a list": lambda L, mu: [np.float64(polyak(L, mu)[0]), np.array(polyak(L, mu)[1])],
}


@pytest.mark.parametrize("name", RIGHT)
def test_right_answers_earn_every_point(name):
    points, message = grade(RIGHT[name])
    assert points == POINTS, message


WRONG = {
    "plain gradient descent": (lambda L, mu: (2 / (L + mu), 0.0), "momentum 0, plain gradient descent"),
    "a fixed momentum of 0.9": (lambda L, mu: (1 / L, 0.9), "a fixed momentum of 0.9"),
    "momentum not squared": (lambda L, mu: (polyak(L, mu)[0], math.sqrt(polyak(L, mu)[1])), "not squared"),
    "Nesterov's parameters": (lambda L, mu: (1 / L, math.sqrt(polyak(L, mu)[1])), "Nesterov's parameters"),
    "the EMA form's learning rate": (lambda L, mu: (polyak(L, mu)[0] / (1 - polyak(L, mu)[1]), polyak(L, mu)[1]),
                                     "moving-average form"),
}


@pytest.mark.parametrize("name", WRONG)
def test_wrong_answers_score_nothing_and_are_named(name):
    function, diagnosis = WRONG[name]
    points, message = grade(function)
    assert points == 0, message
    assert f"This looks like: " in message and diagnosis in message, message


def test_details_say_what_happened():
    instance = graders.heavy_ball_instances()[-1]
    diverged = graders._attempt_heavy_ball(WRONG["the EMA form's learning rate"][0], instance)
    assert diverged.detail.startswith("diverged at step") and "2 (1 + momentum)" in diverged.detail, diverged.detail
    slow = graders._attempt_heavy_ball(WRONG["plain gradient descent"][0], instance)
    assert slow.detail.startswith("too slow: after") and "(sqrt(kappa)-1)/(sqrt(kappa)+1)" in slow.detail, slow.detail


HOSTILE = {
    "nan momentum": lambda L, mu: (1 / L, float("nan")),
    "inf rate": lambda L, mu: (float("inf"), 0.5),
    "momentum 1": lambda L, mu: (1 / L, 1.0),
    "negative momentum": lambda L, mu: (1 / L, -0.5),
    "negative rate": lambda L, mu: (-1 / L, 0.5),
    "one number": lambda L, mu: 0.1,
    "three numbers": lambda L, mu: (0.1, 0.5, 0.2),
    "a string": lambda L, mu: "0.1, 0.5",
    "a dict": lambda L, mu: {"learning_rate": 0.1, "momentum": 0.5},
    "arrays": lambda L, mu: (np.ones(2), np.ones(2)),
    "None": lambda L, mu: None,
    "huge": lambda L, mu: (1e300, 0.5),
    "raises": lambda L, mu: math.sqrt(-1),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_returns_score_nothing_without_crashing(name, capsys):
    points, message = grade(HOSTILE[name])
    assert points == 0
    assert "solved 0 of 12" in message
    assert capsys.readouterr().err == ""


def test_not_implemented_says_so():
    def stub(L, mu):
        raise NotImplementedError()

    with pytest.raises(GradingFailure, match="not implemented yet"):
        check_heavy_ball_parameters(stub, points=POINTS)


def test_the_same_score_on_every_run():
    function = WRONG["momentum not squared"][0]
    assert grade(function) == grade(function)


def test_the_budget_leaves_a_margin_of_one_and_a_half_over_the_reference():
    for instance in graders.heavy_ball_instances():
        outcome = graders._attempt_heavy_ball(heavy_ball_parameters, instance)
        used, budget = (int(n) for n in outcome.detail.split("at step ")[1].split(" of "))
        assert used <= budget / 1.5 + 1, (instance.label, used, budget)


def test_the_worst_case_formula_is_exact_at_the_top_of_the_spectrum():
    """Polyak's parameters make the top eigenvalue a double root at -r: its error is exactly (-r)^t (1 + (1 + r) t)."""
    for kappa in (10.0, 400.0):
        L, mu = 1.0, 1.0 / kappa
        rate, momentum = heavy_ball_parameters(L, mu)
        r = (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)
        w, config = np.array([1.0]), {"learning_rate": rate, "momentum": momentum}
        for t in range(1, 60):
            w, config = sgd_momentum(w, L * w, config)
            assert w[0] == pytest.approx((-r) ** t * (1 + (1 + r) * t), rel=1e-9, abs=1e-15)


def test_the_graders_update_is_the_course_sgd_momentum():
    quadratic = graders.random_quadratic(5, 6, 50.0)
    rate, momentum = 0.3 / quadratic.L, 0.7
    w_ref, config = quadratic.start.copy(), {"learning_rate": rate, "momentum": momentum}
    w, velocity = quadratic.start.copy(), np.zeros(6)
    for _ in range(30):
        w_ref, config = sgd_momentum(w_ref, quadratic.grad(w_ref), config)
        velocity = momentum * velocity - rate * quadratic.grad(w)
        w = w + velocity
    np.testing.assert_allclose(w, w_ref, rtol=1e-12, atol=1e-14)


def test_no_pair_on_a_grid_contracts_faster_than_the_reference():
    """Independent oracle: the asymptotic rate of every (rate, momentum) on a fine grid is no better than Polyak's."""
    kappa = 100.0
    eigenvalues = np.geomspace(1 / kappa, 1.0, 200)
    best = graders.heavy_ball_rate(*heavy_ball_parameters(1.0, 1 / kappa), eigenvalues)
    assert best == pytest.approx((math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1), rel=1e-6)
    coarse = np.geomspace(1 / kappa, 1.0, 21)          # both ends of the spectrum included
    grid = min(graders.heavy_ball_rate(rate, momentum, coarse)
               for rate in np.linspace(0.5, 4.0, 71) for momentum in np.linspace(0.0, 0.99, 100))
    assert grid >= best - 1e-9
