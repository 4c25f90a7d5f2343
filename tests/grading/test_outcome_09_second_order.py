"""Chapter 9's outcome task: ``backtracking_line_search`` judged by L-BFGS on hidden problems.

Right answers written differently (other constants, quadratic interpolation, a weak Wolfe search) get
full points; wrong ones (a fixed step, the Armijo inequality with the wrong sign or direction, a loop
that never ends, a step that never shrinks) lose points and are named; hostile returns score nothing
without crashing the grader; the score is the same on every run; the reference and the hidden problems
are checked against independent oracles (brute force, finite differences, scipy).
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
from scipy.optimize import minimize

from dlopt.checks import CheckFailure, check
from dlopt_reference.grading import GradingFailure, check_backtracking_line_search
from dlopt_reference.grading import line_search as grader
from dlopt_reference.second_order import backtracking_line_search, lbfgs_direction
from outcome_checks import graded

POINTS = 7


# --------------------------------------------------------------------------------------------
# right answers written differently (each a whole solution a student could paste)


def armijo_demanding_gentle(f, grad, x, direction, alpha=1.0, c1=1e-4, shrink=0.5, max_trials=50):
    """Armijo with c1 = 0.3 and a gentle shrink factor 0.8."""
    fx, slope = f(x), grad(x) @ direction
    for _ in range(200):
        if f(x + alpha * direction) <= fx + 0.3 * alpha * slope:
            return alpha
        alpha *= 0.8
    return alpha


def armijo_steep_shrink(f, grad, x, direction, alpha=1.0, c1=1e-4, shrink=0.5, max_trials=50):
    """Armijo with c1 = 0.01, the step divided by 10 after each rejection, written as a while loop."""
    fx, slope, trials = f(x), float(np.dot(grad(x), direction)), 0
    while f(x + alpha * direction) > fx + 0.01 * alpha * slope and trials < 40:
        alpha, trials = alpha / 10.0, trials + 1
    return alpha


def quadratic_interpolation(f, grad, x, direction, alpha=1.0, c1=1e-4, shrink=0.5, max_trials=50):
    """Backtracking to the minimiser of the parabola through f(x), the slope and f(x + alpha d), safeguarded."""
    fx, slope = f(x), grad(x) @ direction
    for _ in range(max_trials):
        f_alpha = f(x + alpha * direction)
        if f_alpha <= fx + c1 * alpha * slope:
            return alpha
        minimiser = -slope * alpha ** 2 / (2.0 * (f_alpha - fx - slope * alpha))
        alpha = min(max(minimiser, 0.1 * alpha), 0.5 * alpha)
    return alpha


def weak_wolfe(f, grad, x, direction, alpha=1.0, c1=1e-4, shrink=0.5, max_trials=50):
    """Sufficient decrease and the weak Wolfe curvature condition, by bisection and doubling."""
    low, high, fx, slope = 0.0, np.inf, f(x), grad(x) @ direction
    for _ in range(max_trials):
        if f(x + alpha * direction) > fx + c1 * alpha * slope:
            high = alpha
        elif grad(x + alpha * direction) @ direction < 0.9 * slope:
            low = alpha
        else:
            return alpha
        alpha = 2.0 * low if high == np.inf else 0.5 * (low + high)
    return low if low > 0 else alpha


RIGHT = [backtracking_line_search, armijo_demanding_gentle, armijo_steep_shrink, quadratic_interpolation, weak_wolfe]


# --------------------------------------------------------------------------------------------
# wrong answers, each with the words its diagnosis must hold


def fixed_step(f, grad, x, direction, alpha=1.0, c1=1e-4, shrink=0.5, max_trials=50):
    return alpha


def armijo_wrong_sign(f, grad, x, direction, alpha=1.0, c1=1e-4, shrink=0.5, max_trials=50):
    fx, slope = f(x), grad(x) @ direction
    for _ in range(max_trials):
        if f(x + alpha * direction) <= fx - c1 * alpha * slope:      # accepts small increases
            return alpha
        alpha *= shrink
    return alpha


def armijo_wrong_direction(f, grad, x, direction, alpha=1.0, c1=1e-4, shrink=0.5, max_trials=50):
    fx, slope = f(x), grad(x) @ direction
    while f(x + alpha * direction) <= fx + c1 * alpha * slope:        # shrinks while the step is GOOD
        alpha *= shrink
    return alpha


def never_ends(f, grad, x, direction, alpha=1.0, c1=1e-4, shrink=0.5, max_trials=50):
    fx, slope = f(x), grad(x) @ direction
    while f(x + alpha * direction) > fx + c1 * alpha * slope:
        alpha * shrink                                                # alpha never changes
    return alpha


def never_shrinks(f, grad, x, direction, alpha=1.0, c1=1e-4, shrink=0.5, max_trials=50):
    fx, slope = f(x), grad(x) @ direction
    for _ in range(max_trials):
        if f(x + alpha * direction) <= fx + c1 * alpha * slope:
            return alpha
        alpha * shrink                                                # alpha never changes
    return alpha


WRONG = [
    (fixed_step, "no backtracking", False),
    (armijo_wrong_sign, "accepts steps that increase f", True),
    (armijo_wrong_direction, "accepts steps that increase f", False),
    (never_ends, "does not end", False),
    (never_shrinks, "never shrinks", False),
]


def grade(function) -> tuple[float, str]:
    """(points, message) of the hidden check (see ``outcome_checks.graded``)."""
    return graded(check_backtracking_line_search, function, POINTS)


@pytest.mark.parametrize("function", RIGHT, ids=lambda f: f.__name__)
def test_a_right_answer_gets_full_points(function):
    points, message = grade(function)
    assert points == POINTS, message
    assert "solved 12 of 12" in message


@pytest.mark.parametrize("function, diagnosis, partial", WRONG, ids=lambda v: getattr(v, "__name__", str(v)))
def test_a_wrong_answer_loses_points_and_is_named(function, diagnosis, partial):
    points, message = grade(function)
    assert points < POINTS
    assert (points > 0) == partial, (points, message)
    named = [line for line in message.splitlines() if line.startswith("This looks like: ")]
    assert len(named) == 1 and diagnosis in named[0], message


def test_the_details_say_what_happened():
    _, message = grade(fixed_step)
    assert "took f from 35.5822057 up to 1.80290011e+12 (the line search never evaluated f)" in message
    _, message = grade(never_ends)
    assert "at iteration 1 the line search evaluated f more than 100 times without returning a step" in message
    _, message = grade(armijo_wrong_sign)
    assert "instance 10 (a quadratic on which the unit step overshoots, 3 dimensions): at iteration 1 the step " \
           "length 1 took f from 4.5601581 up to 4.560335 (the line search evaluated f 2 times)" in message


def test_a_diagnosis_is_only_given_when_it_matches():
    def steps_too_long_on_logistic(f, grad, x, direction, alpha=1.0, c1=1e-4, shrink=0.5, max_trials=50):
        # right on the Rosenbrock problems, gives up after the first trial elsewhere: no listed mistake
        if len(x) in (3, 5, 8) and np.linalg.norm(x) > 0 and abs(f(x)) < 1.0:
            return 1e-12
        return backtracking_line_search(f, grad, x, direction)

    points, message = grade(steps_too_long_on_logistic)
    assert points < POINTS and "This looks like" not in message


HOSTILE = {
    "nan": lambda f, grad, x, direction, **kw: float("nan"),
    "inf": lambda f, grad, x, direction, **kw: np.inf,
    "negative": lambda f, grad, x, direction, **kw: -0.5,
    "zero": lambda f, grad, x, direction, **kw: 0.0,
    "array": lambda f, grad, x, direction, **kw: np.array([0.5, 0.5]),
    "string": lambda f, grad, x, direction, **kw: "0.5",
    "none": lambda f, grad, x, direction, **kw: None,
    "bool": lambda f, grad, x, direction, **kw: True,
    "huge": lambda f, grad, x, direction, **kw: 1e300,
    "raises": lambda f, grad, x, direction, **kw: 1 / 0,
    "new point": lambda f, grad, x, direction, **kw: x + 1e-3 * direction,
}


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_answer_scores_nothing_without_crashing_the_grader(name):
    with pytest.raises(GradingFailure) as failure:
        check_backtracking_line_search(HOSTILE[name], POINTS)
    assert "solved 0 of 12" in str(failure.value)


def test_modifying_x_in_place_does_not_change_the_run():
    def vandal(f, grad, x, direction, alpha=1.0, c1=1e-4, shrink=0.5, max_trials=50):
        step = backtracking_line_search(f, grad, x, direction)
        x += 1e6
        direction *= -1.0
        return step

    assert grade(vandal)[0] == POINTS


def test_not_implemented_stops_the_check_at_once():
    def stub(*args, **kwargs):
        raise NotImplementedError()

    with pytest.raises(GradingFailure, match="not implemented yet"):
        check_backtracking_line_search(stub, POINTS)


def test_the_same_score_and_message_on_every_run():
    for function in (quadratic_interpolation, armijo_wrong_sign):
        assert grade(function) == grade(function)


# --------------------------------------------------------------------------------------------
# the reference and the hidden problems against independent oracles


@pytest.mark.parametrize("seed", range(20))
def test_the_reference_returns_the_longest_halving_with_sufficient_decrease(seed):
    """Brute force: the first of 1, 1/2, 1/4, ... where the Armijo inequality holds."""
    rng = np.random.default_rng(seed)
    A = 0.5 * rng.normal(size=(4, 4))
    f = lambda x: float(np.sum(np.cosh(A @ x)))                     # noqa: E731 (convex, not quadratic)
    grad = lambda x: A.T @ np.sinh(A @ x)                            # noqa: E731
    x = rng.normal(size=4)
    d = -grad(x) * rng.uniform(0.1, 3.0)
    alpha = backtracking_line_search(f, grad, x, d)
    expected = next(0.5 ** k for k in range(50) if f(x + 0.5 ** k * d) <= f(x) + 1e-4 * 0.5 ** k * (grad(x) @ d))
    assert alpha == expected


def test_the_reference_refuses_an_ascent_direction():
    with pytest.raises(ValueError, match="not a descent direction"):
        backtracking_line_search(lambda x: float(x @ x), lambda x: 2 * x, np.array([1.0]), np.array([1.0]))


def _central_differences(function, x, h=1e-6):
    return np.array([(function(x + h * e) - function(x - h * e)) / (2 * h) for e in np.eye(len(x))])


@pytest.mark.parametrize("instance", grader.INSTANCES, ids=lambda i: i.label.split(" (")[0])
def test_the_hidden_gradients_match_finite_differences(instance):
    objective, x = instance.data.objective, instance.data.start
    for point in (x, 0.5 * x, x + 0.1):
        numeric = _central_differences(objective.f, point)
        np.testing.assert_allclose(objective.grad(point), numeric, rtol=1e-5, atol=1e-5 * (1 + np.abs(numeric).max()))


@pytest.mark.parametrize("instance", [i for i in grader.INSTANCES if "Rosenbrock" in i.label],
                         ids=lambda i: i.label.split(" (")[0])
def test_each_hidden_rosenbrock_is_a_scaled_shifted_textbook_rosenbrock(instance):
    """scipy's ``rosen`` (b = 100) rescaled: f(x) = c (rosen_b(z)) with z = sigma (x - shift); minimum 0 at z = 1."""
    from scipy.optimize import rosen

    objective = instance.data.objective
    rng = np.random.default_rng(0)
    for _ in range(3):
        x = instance.data.start + rng.normal(size=len(instance.data.start))
        z = objective.sigma * (x - objective.shift)
        as_b100 = type(objective)(objective.sigma, objective.shift, 100.0, objective.scale)
        assert np.isclose(as_b100.f(x), objective.scale * rosen(z), rtol=1e-12)
    x_star = objective.shift + 1.0 / objective.sigma
    assert objective.f(x_star) < 1e-20 and np.allclose(objective.grad(x_star), 0.0, atol=1e-9)


def test_lbfgs_with_the_reference_search_reaches_scipys_minimiser_of_a_logistic_regression():
    instance = next(i for i in grader.INSTANCES if "logistic" in i.label)
    objective = instance.data.objective
    x, g, s_history, y_history = instance.data.start.copy(), objective.grad(instance.data.start), [], []
    for _ in range(200):
        if np.linalg.norm(g) < 1e-10:
            break
        d = lbfgs_direction(g, s_history, y_history)
        x_new = x + backtracking_line_search(objective.f, objective.grad, x, d) * d
        s, y = x_new - x, objective.grad(x_new) - g
        if s @ y > 0:
            s_history, y_history = (s_history + [s])[-5:], (y_history + [y])[-5:]
        x, g = x_new, objective.grad(x_new)
    expected = minimize(objective.f, instance.data.start, jac=objective.grad, method="BFGS", options={"gtol": 1e-10}).x
    np.testing.assert_allclose(x, expected, atol=1e-6)


def test_the_overshooting_quadratics_overshoot_by_a_hair():
    """On each, the unit step along -g raises f, by less than 1e-4 of the decrease the tangent promises."""
    for instance in (i for i in grader.INSTANCES if "quadratic" in i.label):
        objective, x = instance.data.objective, instance.data.start
        g = objective.grad(x)
        rise = objective.f(x - g) - objective.f(x)
        assert 0 < rise < 1e-4 * (g @ g)


# --------------------------------------------------------------------------------------------
# the visible check


@pytest.mark.parametrize("function", RIGHT, ids=lambda f: f.__name__)
def test_a_right_answer_passes_the_visible_check(function):
    with contextlib.redirect_stdout(io.StringIO()):
        check("backtracking_line_search", function)


@pytest.mark.parametrize("function, hint", [
    (fixed_step, "a step that raises f must be rejected"), (armijo_wrong_sign, "a step that raises f must be rejected"),
    (armijo_wrong_direction, "a step that raises f must be rejected"), (never_ends, "must make the step shorter"),
    (never_shrinks, "a step that raises f must be rejected"),
    (lambda f, grad, x, direction, **kw: 1e-4, "try the full step (alpha = 1) first"),
], ids=lambda v: getattr(v, "__name__", str(v)[:30]))
def test_a_wrong_answer_fails_the_visible_check_with_a_hint(function, hint):
    with pytest.raises(CheckFailure, match="Hint") as failure:
        check("backtracking_line_search", function)
    assert hint in str(failure.value)
