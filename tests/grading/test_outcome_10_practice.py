"""Chapter 10's outcome task: ``stable_learning_rate`` judged by gradient descent on hidden problems.

Right answers written differently (another margin, forward differences, Lanczos, the norm of Hv as the
eigenvalue estimate) get full points; wrong ones (2/L itself, above 2/L, a rate from the gradient norm, a
timid rate, too few power iterations, too many gradient calls) lose points and are named where the
grader can tell; hostile returns score nothing without crashing the grader; the score is the same on
every run; the reference and the hidden problems are checked against numpy and scipy.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
from scipy.optimize import minimize

from dlopt.checks import CheckFailure, check
from dlopt_reference.grading import GradingFailure, check_stable_learning_rate
from dlopt_reference.grading import stable_rate as grader
from dlopt_reference.practice import stable_learning_rate
from outcome_checks import graded

POINTS = 6
N = len(grader.INSTANCES)


def _power_iteration(grad_fn, w, rng, iterations, r=1e-4):
    """The Rayleigh quotient after ``iterations`` products (central differences: 2 gradients each)."""
    v = rng.standard_normal(w.shape)
    v = v / np.linalg.norm(v)
    estimate = 0.0
    for _ in range(iterations):
        hv = (grad_fn(w + r * v) - grad_fn(w - r * v)) / (2 * r)
        estimate = v @ hv
        v = hv / np.linalg.norm(hv)
    return estimate


# --------------------------------------------------------------------------------------------
# right answers written differently


def margin_three_quarters(grad_fn, w, rng):
    """1.5 / L: three quarters of the edge of stability, with 40 power iterations."""
    return 1.5 / _power_iteration(grad_fn, w, rng, 40)


def forward_differences(grad_fn, w, rng):
    """One stored gradient, then one call per Hessian-vector product: 90 power iterations."""
    g0, r = grad_fn(w), 1e-5
    v = rng.standard_normal(w.shape)
    v /= np.linalg.norm(v)
    for _ in range(90):
        hv = (grad_fn(w + r * v) - g0) / r
        estimate, v = v @ hv, hv / np.linalg.norm(hv)
    return 1.0 / estimate


def lanczos(grad_fn, w, rng):
    """20 Lanczos steps (full reorthogonalisation): the top Ritz value of the tridiagonal matrix."""
    n = w.size
    basis, alphas, betas = [], [], []
    v, previous = rng.standard_normal(n), np.zeros(n)
    v /= np.linalg.norm(v)
    for _ in range(min(20, n)):
        hv = (grad_fn(w + 1e-4 * v) - grad_fn(w - 1e-4 * v)) / 2e-4
        alpha = v @ hv
        residual = hv - alpha * v - (betas[-1] * previous if betas else 0.0)
        basis.append(v)
        for u in basis:
            residual -= (residual @ u) * u
        alphas.append(alpha)
        beta = np.linalg.norm(residual)
        if beta < 1e-12:
            break
        betas.append(beta)
        previous, v = v, residual / beta
    k = len(alphas)
    T = np.diag(alphas) + np.diag(betas[:k - 1], 1) + np.diag(betas[:k - 1], -1)
    return 1.0 / np.linalg.eigvalsh(T)[-1]


def norm_of_hv(grad_fn, w, rng):
    """Power iteration with ||Hv|| (|lambda| for a converged v) as the estimate."""
    v = rng.standard_normal(w.shape)
    v /= np.linalg.norm(v)
    for _ in range(25):
        hv = (grad_fn(w + 1e-4 * v) - grad_fn(w - 1e-4 * v)) / 2e-4
        estimate = np.linalg.norm(hv)
        v = hv / estimate
    return float(1.0 / estimate)


RIGHT = [stable_learning_rate, margin_three_quarters, forward_differences, lanczos, norm_of_hv]


# --------------------------------------------------------------------------------------------
# wrong answers


def at_the_edge(grad_fn, w, rng):
    return 2.0 / _power_iteration(grad_fn, w, rng, 30)


def above_the_edge(grad_fn, w, rng):
    return 2.5 / _power_iteration(grad_fn, w, rng, 30)


def from_the_gradient_norm(grad_fn, w, rng):
    return 1.0 / np.linalg.norm(grad_fn(w))


def timid(grad_fn, w, rng):
    return 1e-6


def one_power_iteration(grad_fn, w, rng):
    return 1.0 / _power_iteration(grad_fn, w, rng, 1)


def over_the_budget(grad_fn, w, rng):
    return 1.0 / _power_iteration(grad_fn, w, rng, 60)


WRONG = [
    (at_the_edge, "a rate at the edge of stability", True),
    (above_the_edge, "a rate above the edge of stability on every instance (1.25 x 2/L)", False),
    (from_the_gradient_norm, "a rate from the gradient norm", False),
    (timid, "a timid rate", False),
    (one_power_iteration, "the sharpness L is underestimated", True),
    (over_the_budget, None, False),
]


def grade(function) -> tuple[float, str]:
    """(points, message) of the hidden check (see ``outcome_checks.graded``)."""
    return graded(check_stable_learning_rate, function, POINTS)


@pytest.mark.parametrize("function", RIGHT, ids=lambda f: f.__name__)
def test_a_right_answer_gets_full_points(function):
    points, message = grade(function)
    assert points == POINTS, message
    assert f"solved {N} of {N}" in message


@pytest.mark.parametrize("function, diagnosis, partial", WRONG, ids=lambda v: getattr(v, "__name__", str(v)[:20]))
def test_a_wrong_answer_loses_points_and_is_named(function, diagnosis, partial):
    points, message = grade(function)
    assert points < POINTS
    assert (points > 0) == partial, (points, message)
    named = [line for line in message.splitlines() if line.startswith("This looks like: ")]
    if diagnosis is None:
        assert named == [], message
    else:
        assert len(named) == 1 and diagnosis in named[0], message


def test_the_details_say_what_happened():
    _, message = grade(at_the_edge)
    assert "your rate 0.5 = 1 x 2/L (2/L = 0.5)" in message
    _, message = grade(above_the_edge)
    assert "instance 1 (a quadratic in 5 dimensions, log-uniform spectrum, L = 4, start at distance 3): diverged at " \
           "step 27: your rate 0.625 = 1.25 x 2/L (2/L = 0.5)" in message
    _, message = grade(timid)
    assert "timid: your rate 1e-06 = 2e-06 x 2/L (2/L = 0.5) is below 0.4 x 2/L = 0.2" in message
    _, message = grade(over_the_budget)
    assert "called grad_fn more than 100 times (the budget)" in message


def test_a_budget_refusal_caught_by_the_student_still_fails():
    def swallow(grad_fn, w, rng):
        for _ in range(150):
            try:
                grad_fn(w)
            except RuntimeError:
                pass
        return stable_learning_rate(lambda x: np.zeros_like(x), w, rng) if False else 0.1

    points, message = grade(swallow)
    assert points == 0 and "more than 100 times" in message


def test_a_mistake_no_rule_lists_is_not_named():
    def half_edge_then_double_on_big_problems(grad_fn, w, rng):
        rate = stable_learning_rate(grad_fn, w, rng)
        return 2.5 * rate if w.size >= 40 else rate       # wrong on the large problems only, for no stated reason

    points, message = grade(half_edge_then_double_on_big_problems)
    assert 0 < points < POINTS and "This looks like" not in message


HOSTILE = {
    "nan": lambda grad_fn, w, rng: float("nan"),
    "inf": lambda grad_fn, w, rng: np.inf,
    "negative": lambda grad_fn, w, rng: -0.1,
    "zero": lambda grad_fn, w, rng: 0,
    "array": lambda grad_fn, w, rng: np.full(w.shape, 0.01),
    "string": lambda grad_fn, w, rng: "0.01",
    "none": lambda grad_fn, w, rng: None,
    "bool": lambda grad_fn, w, rng: True,
    "huge": lambda grad_fn, w, rng: 1e300,
    "raises": lambda grad_fn, w, rng: [][1],
    "wrong gradient call": lambda grad_fn, w, rng: 1.0 / np.linalg.norm(grad_fn("w")),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_answer_scores_nothing_without_crashing_the_grader(name):
    with pytest.raises(GradingFailure) as failure:
        check_stable_learning_rate(HOSTILE[name], POINTS)
    assert f"solved 0 of {N}" in str(failure.value)


def test_modifying_w_in_place_does_not_change_the_run():
    def vandal(grad_fn, w, rng):
        rate = stable_learning_rate(grad_fn, w, rng)
        w += 100.0
        return rate

    assert grade(vandal)[0] == POINTS


def test_not_implemented_stops_the_check_at_once():
    def stub(grad_fn, w, rng):
        raise NotImplementedError()

    with pytest.raises(GradingFailure, match="not implemented yet"):
        check_stable_learning_rate(stub, POINTS)


def test_the_same_score_and_message_on_every_run():
    for function in (stable_learning_rate, one_power_iteration):
        assert grade(function) == grade(function)


# --------------------------------------------------------------------------------------------
# the reference and the hidden problems against independent oracles


@pytest.mark.parametrize("seed", range(10))
def test_the_reference_rate_is_one_over_the_top_eigenvalue(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 30))
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    eigenvalues = np.concatenate([[10.0], rng.uniform(0.1, 5.0, size=n - 1)]) * 10.0 ** rng.uniform(-3, 3)
    A = (q * eigenvalues) @ q.T
    w_star = rng.normal(size=n)
    rate = stable_learning_rate(lambda w: A @ (w - w_star), rng.normal(size=n), rng)
    assert rate == pytest.approx(1.0 / np.linalg.eigvalsh(A)[-1], rel=1e-6)


def test_the_reference_refuses_a_maximum():
    with pytest.raises(ValueError, match="no minimum nearby"):
        stable_learning_rate(lambda w: -w, np.ones(3), np.random.default_rng(0))


@pytest.mark.parametrize("instance", grader.INSTANCES, ids=lambda i: i.label.split(" (")[0])
def test_each_hidden_problem_is_what_its_label_says(instance):
    problem = instance.data
    objective = problem.objective
    hessian = objective.hessian(problem.start)
    # the sharpness against numpy, the gradient and the Hessian against finite differences
    assert problem.sharpness == pytest.approx(np.linalg.eigvalsh(hessian)[-1], rel=1e-12)
    h, n = 1e-6, len(problem.start)
    numeric = np.array([(objective.loss(problem.start + h * e) - objective.loss(problem.start - h * e)) / (2 * h)
                        for e in np.eye(n)])
    scale = 1.0 + np.abs(numeric).max()
    np.testing.assert_allclose(objective.grad(problem.start), numeric, atol=1e-5 * scale)
    columns = np.array([(objective.grad(problem.start + h * e) - objective.grad(problem.start - h * e)) / (2 * h)
                        for e in np.eye(n)])
    np.testing.assert_allclose(hessian, columns.T, atol=1e-5 * (1.0 + np.abs(hessian).max()))
    if "L = " in instance.label and "logistic" not in instance.label:
        assert f"L = {problem.sharpness:g}," in instance.label
    # the minimum value: scipy finds no lower point
    found = minimize(objective.loss, problem.start, jac=objective.grad, method="BFGS", options={"gtol": 1e-12})
    assert found.fun >= problem.min_value - 1e-12 * (1.0 + abs(problem.min_value))


@pytest.mark.parametrize("instance", grader.INSTANCES, ids=lambda i: i.label.split(" (")[0])
def test_every_acceptable_rate_converges_in_the_budget_and_the_edge_does_not(instance):
    """The budget fits the rates from 0.4 x 2/L to 0.9 x 2/L; 2/L itself fails on the quadratics."""
    problem = instance.data
    for fraction in (0.4, 0.5, 0.75, 0.9):
        steps, _, _ = grader._gradient_descent(problem.objective, problem.start, problem.min_value,
                                               fraction * 2 / problem.sharpness, problem.max_steps)
        assert steps is not None, f"{fraction} x 2/L does not converge in {problem.max_steps} steps"
    if "quadratic" in instance.label:
        steps, _, _ = grader._gradient_descent(problem.objective, problem.start, problem.min_value,
                                               2 / problem.sharpness, problem.max_steps)
        assert steps is None


# --------------------------------------------------------------------------------------------
# the visible check


@pytest.mark.parametrize("function", RIGHT, ids=lambda f: f.__name__)
def test_a_right_answer_passes_the_visible_check(function):
    with contextlib.redirect_stdout(io.StringIO()):
        check("stable_learning_rate", function)


@pytest.mark.parametrize("function, hint", [
    (at_the_edge, "keep a safety margin below 2/L"), (above_the_edge, "keep a safety margin below 2/L"),
    (from_the_gradient_norm, "not from the size of the gradient"), (timid, "take a sizeable fraction of 2/L"),
    (one_power_iteration, "keep a safety margin below 2/L"), (over_the_budget, "count your power iterations"),
], ids=lambda v: getattr(v, "__name__", str(v)[:30]))
def test_a_wrong_answer_fails_the_visible_check_with_a_hint(function, hint):
    with pytest.raises(CheckFailure, match="Hint") as failure:
        check("stable_learning_rate", function)
    assert hint in str(failure.value)
