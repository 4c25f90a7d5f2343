"""The outcome task of 01_sgd: ``choose_learning_rate(hessian)``, graded by what gradient descent does with it.

Right answers written differently earn every point; the usual wrong answers lose points and are named;
hostile returns score nothing without crashing the grader; the budget leaves the margin it claims; the
reference is the rate that an independent search over learning rates finds best.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from dlopt_reference.grading import check_choose_learning_rate
from dlopt_reference.grading import step_sizes as graders
from dlopt_reference.grading._report import GradingFailure
from dlopt_reference.step_sizes import choose_learning_rate
from outcome_checks import graded

POINTS = 8


def grade(function) -> tuple[float, str]:
    """(points, message) of the hidden check (see ``outcome_checks.graded``)."""
    return graded(check_choose_learning_rate, function, POINTS)


def extremes(hessian):
    eigenvalues = np.linalg.eigvalsh(hessian)
    return eigenvalues[0], eigenvalues[-1]


def from_eigh(hessian):
    eigenvalues, _ = np.linalg.eigh(hessian)
    return 2 / (eigenvalues.min() + eigenvalues.max())


def by_power_iteration(hessian, tolerance=1e-13, max_iterations=200_000):
    """L by power iteration on H, then mu = L - (the top eigenvalue of L*I - H): no eigendecomposition."""
    def top_eigenvalue(matrix):
        vector = np.ones(len(matrix)) / math.sqrt(len(matrix)) + 1e-3 * np.arange(len(matrix))
        estimate = 0.0
        for _ in range(max_iterations):
            product = matrix @ vector
            new_estimate = float(vector @ product)
            vector = product / np.linalg.norm(product)
            if abs(new_estimate - estimate) <= tolerance * abs(new_estimate):
                break
            estimate = new_estimate
        return new_estimate

    L = top_eigenvalue(hessian)
    mu = L - top_eigenvalue(L * np.eye(len(hessian)) - hessian)
    return 2 / (L + mu)


RIGHT = {
    "reference": choose_learning_rate,
    "eigh, min and max": from_eigh,
    "power iteration": by_power_iteration,
    "1.9/(L+mu), a little cautious": lambda h: 1.9 / sum(extremes(h)),
    "a numpy scalar": lambda h: np.float64(2) / sum(extremes(h)),
    "a 0-d array": lambda h: np.array(2 / sum(extremes(h))),
}


@pytest.mark.parametrize("name", RIGHT)
def test_right_answers_earn_every_point(name):
    points, message = grade(RIGHT[name])
    assert points == POINTS, message
    assert "solved 16 of 16" in message


WRONG = {
    # name: (function, what it may still earn, the diagnosis)
    "1/L": (lambda h: 1 / extremes(h)[1], "partial", "ignores mu"),
    "2.1/L": (lambda h: 2.1 / extremes(h)[1], "nothing", "above 2/L"),
    "L from the trace": (lambda h: 2 / np.trace(h), "partial", "trace of H"),
    "1/mu": (lambda h: 1 / extremes(h)[0], "partial", "1/mu"),
    "a tiny rate": (lambda h: 1e-3 / extremes(h)[1], "nothing", "far below 1/L"),
}


@pytest.mark.parametrize("name", WRONG)
def test_wrong_answers_lose_points_and_are_named(name):
    function, earns, diagnosis = WRONG[name]
    points, message = grade(function)
    if earns == "nothing":
        assert points == 0, message
    else:
        assert 0 < points < POINTS, message
    assert f"This looks like: " in message and diagnosis in message, message


def test_one_over_L_solves_the_nearly_isotropic_problems_and_not_the_ill_conditioned_ones():
    """As the task text says: 1/L passes where kappa <= 1.3 and fails most of the ill-conditioned problems."""
    solved = {instance.label: graders._attempt_choose_learning_rate(lambda h: 1 / extremes(h)[1], instance).solved
              for instance in graders.gd_instances()}
    isotropic = [label for label in solved if instance_kappa(label) <= 1.3]
    assert len(isotropic) == 4 and all(solved[label] for label in isotropic)
    ill = [label for label in solved if instance_kappa(label) > 1.3]
    assert sum(solved[label] for label in ill) <= 2, solved


def instance_kappa(label: str) -> float:
    return float(label.split("condition number ")[1].split(",")[0])


def test_details_say_what_happened():
    instances = graders.gd_instances()
    above = graders._attempt_choose_learning_rate(lambda h: 2.1 / extremes(h)[1], instances[-1])
    assert above.detail.startswith("diverged at step") and "above 2/L" in above.detail, above.detail
    short_run = graders._attempt_choose_learning_rate(lambda h: 2.1 / extremes(h)[1], instances[0])
    assert short_run.detail.startswith("does not converge") and "not below 2/L" in short_run.detail, short_run.detail
    _, message = grade(lambda h: 1 / extremes(h)[1])
    assert "too slow: after" in message and "(kappa-1)/(kappa+1)" in message


HOSTILE = {
    "nan": lambda h: float("nan"),
    "inf": lambda h: float("inf"),
    "negative": lambda h: -0.1,
    "zero": lambda h: 0.0,
    "a string": lambda h: "0.1",
    "an array": lambda h: np.full(len(h), 0.1),
    "None": lambda h: None,
    "a complex number": lambda h: 0.1 + 0j,
    "huge": lambda h: 1e300,
    "raises": lambda h: 1 / 0,
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_returns_score_nothing_without_crashing(name, capsys):
    points, message = grade(HOSTILE[name])
    assert points == 0
    assert "solved 0 of 16" in message
    assert capsys.readouterr().err == ""


def test_a_hostile_answer_on_some_instances_only_loses_those():
    calls = []

    def sometimes_nan(hessian):
        calls.append(1)
        return float("nan") if len(calls) % 2 else choose_learning_rate(hessian)

    points, message = grade(sometimes_nan)
    assert points == POINTS / 2 and "is nan: return a finite number" in message


def test_the_input_is_a_copy():
    def vandal(hessian):
        rate = choose_learning_rate(hessian)
        hessian[:] = 0.0
        return rate

    assert grade(vandal)[0] == POINTS


def test_not_implemented_says_so():
    def stub(hessian):
        raise NotImplementedError()

    with pytest.raises(GradingFailure, match="not implemented yet"):
        check_choose_learning_rate(stub, points=POINTS)


def test_the_same_score_on_every_run():
    function = WRONG["1/L"][0]
    assert grade(function) == grade(function)
    assert [i.label for i in graders.gd_instances()] == [i.label for i in graders.gd_instances()]


def test_the_budget_leaves_a_margin_of_one_and_a_half_over_the_reference():
    """On every hidden instance the reference converges within 1/1.5 of the budget (plus one step of rounding)."""
    for instance in graders.gd_instances():
        outcome = graders._attempt_choose_learning_rate(choose_learning_rate, instance)
        used, budget = (int(n) for n in outcome.detail.split("at step ")[1].split(" of "))
        assert used <= budget / 1.5 + 1, (instance.label, used, budget)


def test_the_reference_is_the_best_fixed_rate_found_by_a_search():
    """Independent oracle: scipy's bounded scalar search over the rate for the smallest contraction max|1 - eta l|."""
    from scipy.optimize import minimize_scalar

    for instance in graders.gd_instances()[::3]:
        eigenvalues = instance.data.eigenvalues
        result = minimize_scalar(lambda eta: np.max(np.abs(1 - eta * eigenvalues)),
                                 bounds=(0, 2 / eigenvalues.max()), method="bounded", options={"xatol": 1e-12})
        assert choose_learning_rate(instance.data.hessian) == pytest.approx(result.x, rel=1e-6)


def test_the_hidden_instances_differ_from_the_visible_ones():
    visible_kappas = {1.2, 50.0}
    assert not visible_kappas & {instance_kappa(i.label) for i in graders.gd_instances()}
