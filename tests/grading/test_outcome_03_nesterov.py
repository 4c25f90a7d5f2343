"""The outcome task of 03_nesterov: ``nesterov_parameters(L, mu)``, graded by what ``nesterov_momentum`` does
with them on quadratics, logistic regressions and piecewise quadratics.

Right answers written differently (the classical constant-step choice in its two usual spellings, the
parameters tuned by Lessard, Recht and Packard, a slightly cautious rate) earn every point; the usual wrong
answers lose points and are named; hostile returns score nothing without crashing; the budget is what
Nesterov's guarantee promises and the reference meets it with margin; the hidden problems are L-smooth and
mu-strongly convex as claimed; the grader's update rule is the course's ``nesterov_momentum``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from dlopt_reference.grading import check_nesterov_parameters
from dlopt_reference.grading import step_sizes as graders
from dlopt_reference.grading._report import GradingFailure
from dlopt_reference.optim import nesterov_momentum
from dlopt_reference.step_sizes import nesterov_parameters
from outcome_checks import graded

POINTS = 9


def grade(function) -> tuple[float, str]:
    """(points, message) of the hidden check (see ``outcome_checks.graded``)."""
    return graded(check_nesterov_parameters, function, POINTS)


def tuned_for_quadratics(L, mu):
    """Lessard, Recht and Packard's parameters: 4/(3L + mu) and (sqrt(3 kappa + 1) - 2)/(sqrt(3 kappa + 1) + 2)."""
    s = math.sqrt(3 * L / mu + 1)
    return 4 / (3 * L + mu), (s - 2) / (s + 2)


def polyak(L, mu):
    return 4 / (math.sqrt(L) + math.sqrt(mu)) ** 2, ((math.sqrt(L / mu) - 1) / (math.sqrt(L / mu) + 1)) ** 2


RIGHT = {
    "reference": nesterov_parameters,
    "with q = mu/L": lambda L, mu: (1 / L, (1 - math.sqrt(mu / L)) / (1 + math.sqrt(mu / L))),
    "tuned for quadratics (Lessard et al.)": tuned_for_quadratics,
    "a slightly cautious rate 0.9/L": lambda L, mu: (0.9 / L, nesterov_parameters(L, mu)[1]),
    "numpy types": lambda L, mu: (np.float64(1 / L), np.array(nesterov_parameters(L, mu)[1])),
}


@pytest.mark.parametrize("name", RIGHT)
def test_right_answers_earn_every_point(name):
    points, message = grade(RIGHT[name])
    assert points == POINTS, message


WRONG = {
    # name: (function, what it may still earn, the diagnosis)
    "Polyak's heavy-ball parameters": (polyak, "partial", "heavy-ball parameters"),
    "plain gradient descent": (lambda L, mu: (1 / L, 0.0), "partial", "plain gradient descent"),
    "a fixed momentum of 0.99": (lambda L, mu: (1 / L, 0.99), "partial", None),
    "a fixed momentum of 0.9": (lambda L, mu: (1 / L, 0.9), "partial", "a fixed momentum of 0.9"),
    "2/L with Nesterov's momentum": (lambda L, mu: (2 / L, nesterov_parameters(L, mu)[1]), "partial", None),
}


@pytest.mark.parametrize("name", WRONG)
def test_wrong_answers_lose_points(name):
    function, earns, diagnosis = WRONG[name]
    points, message = grade(function)
    if earns == "nothing":
        assert points == 0, message
    else:
        assert 0 < points < POINTS, message
    if diagnosis is None:
        assert "This looks like" not in message, message
    else:
        assert f"This looks like: " in message and diagnosis in message, message


def test_heavy_ball_parameters_diverge_on_every_quadratic():
    for instance in graders.nesterov_instances():
        if instance.data.kind == "quadratic":
            outcome = graders._attempt_nesterov(polyak, instance)
            assert outcome.detail.startswith("diverged at step") and "stable range" in outcome.detail, outcome.detail


def test_the_kinds_of_problems():
    kinds = [instance.data.kind for instance in graders.nesterov_instances()]
    assert kinds.count("quadratic") == 6 and kinds.count("logistic") == 4 and kinds.count("piecewise quadratic") == 2


HOSTILE = {
    "nan rate": lambda L, mu: (float("nan"), 0.5),
    "momentum 1": lambda L, mu: (1 / L, 1.0),
    "zero rate": lambda L, mu: (0.0, 0.5),
    "one number": lambda L, mu: 1 / L,
    "a string": lambda L, mu: "1/L",
    "arrays": lambda L, mu: (np.ones(3), 0.5),
    "None": lambda L, mu: None,
    "huge": lambda L, mu: (1e300, 0.5),
    "raises": lambda L, mu: [][0],
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
        check_nesterov_parameters(stub, points=POINTS)


def test_the_same_score_on_every_run():
    function = WRONG["a fixed momentum of 0.9"][0]
    assert grade(function) == grade(function)


def test_the_reference_needs_at_most_two_thirds_of_the_budget():
    for instance in graders.nesterov_instances():
        outcome = graders._attempt_nesterov(nesterov_parameters, instance)
        used, budget = (int(n) for n in outcome.detail.split("at step ")[1].split(" of "))
        assert used <= budget / 1.5, (instance.label, used, budget)


def _error_and_gap(problem, w, f):
    return float(np.linalg.norm(w - problem.minimizer)), f(w) - f(problem.minimizer)


def test_the_budget_is_what_nesterovs_guarantee_promises():
    """On a quadratic, f - f* along the actual iterates stays within the guarantee, and the distance bound
    (1 - 1/sqrt(kappa))^t (kappa + 1) that the budget inverts holds."""
    problem = graders.quadratic_problem(3103, 30, 400.0)
    quadratic = graders.random_quadratic(3103, 30, 400.0)

    def f(w):
        e = w - quadratic.minimizer
        return 0.5 * e @ quadratic.hessian @ e

    rate, momentum = nesterov_parameters(problem.L, problem.mu)
    r, kappa = 1 - 1 / math.sqrt(problem.kappa), problem.kappa
    w, velocity = problem.start.copy(), np.zeros_like(problem.start)
    start_error, start_gap = _error_and_gap(problem, w, f)
    bound = start_gap + problem.mu / 2 * start_error ** 2
    for t in range(1, graders.nesterov_budget(kappa) + 1):
        previous = velocity
        velocity = momentum * velocity - rate * problem.grad(w)
        w = w - momentum * previous + (1 + momentum) * velocity
        actual = w - momentum * velocity                       # the iterate of the look-ahead form
        error, gap = _error_and_gap(problem, actual, f)
        assert gap <= r ** t * bound * (1 + 1e-9) + 1e-300
        assert error ** 2 <= r ** t * (kappa + 1) * start_error ** 2 * (1 + 1e-9) + 1e-300
    assert r ** graders.nesterov_budget(kappa) * (kappa + 1) <= graders.NESTEROV_TOLERANCE ** 2


@pytest.mark.parametrize("index", range(12))
def test_each_hidden_problem_is_smooth_and_strongly_convex_with_the_stated_constants(index):
    """Independent of how each problem was built: along random segments the gradient's change satisfies
    mu |d|^2 <= (g(w + d) - g(w))'d <= L |d|^2, and the gradient vanishes at the stated minimizer."""
    problem = graders.nesterov_instances()[index].data
    rng = np.random.default_rng(index)
    scale = np.linalg.norm(problem.start - problem.minimizer)
    assert np.linalg.norm(problem.grad(problem.minimizer)) <= 1e-9 * problem.L * max(scale, 1)
    for _ in range(200):
        w = problem.minimizer + scale * rng.standard_normal(len(problem.start))
        d = scale * rng.standard_normal(len(problem.start)) * 10.0 ** rng.uniform(-3, 0)
        change = float((problem.grad(w + d) - problem.grad(w)) @ d)
        assert problem.mu * (d @ d) * (1 - 1e-9) <= change <= problem.L * (d @ d) * (1 + 1e-9)


def test_the_logistic_minimizer_agrees_with_scipy():
    """scipy's root finder (Powell's hybrid method, not Newton's) finds the same zero of the gradient."""
    from scipy.optimize import root

    for seed, n_examples, dim, kappa in ((3202, 300, 10, 100.0), (3204, 250, 8, 2000.0)):
        problem = graders.logistic_problem(seed, n_examples, dim, kappa)
        result = root(problem.grad, problem.start, method="hybr", tol=1e-12)
        assert np.linalg.norm(problem.grad(result.x)) <= 1e-12, result.message
        np.testing.assert_allclose(result.x, problem.minimizer, atol=1e-8)


def test_the_graders_update_is_the_course_nesterov_momentum():
    problem = graders.logistic_problem(7, 100, 4, 30.0)
    rate, momentum = 0.8 / problem.L, 0.6
    w_ref, config = problem.start.copy(), {"learning_rate": rate, "momentum": momentum}
    w, velocity = problem.start.copy(), np.zeros(4)
    for _ in range(30):
        w_ref, config = nesterov_momentum(w_ref, problem.grad(w_ref), config)
        previous = velocity
        velocity = momentum * velocity - rate * problem.grad(w)
        w = w - momentum * previous + (1 + momentum) * velocity
    np.testing.assert_allclose(w, w_ref, rtol=1e-12, atol=1e-14)


def test_the_reference_rate_on_quadratics_is_one_minus_one_over_sqrt_kappa():
    kappa = 400.0
    eigenvalues = np.geomspace(1 / kappa, 1.0, 101)
    assert graders.nesterov_rate(*nesterov_parameters(1.0, 1 / kappa), eigenvalues) == pytest.approx(
        1 - 1 / math.sqrt(kappa), rel=1e-6)
