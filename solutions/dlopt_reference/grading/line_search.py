"""Grader of chapter 9's outcome task: the student's line search drives L-BFGS on hidden problems.

``check_backtracking_line_search(backtracking_line_search, points)`` runs L-BFGS whose direction is
the reference's two-loop recursion and whose step length is the student's, and judges the outcome:
the gradient norm must fall to the tolerance within the iteration budget. The loop is the one the
notebook states:

.. math::

    d_k = \\text{lbfgs\\_direction}(g_k, S, Y), \\quad \\alpha_k = \\text{student}(f, \\nabla f, x_k, d_k), \\quad
    x_{k+1} = x_k + \\alpha_k d_k,

with the pair :math:`(s_k, y_k)` kept (the last :data:`MEMORY` pairs) only when
:math:`s_k^\\top y_k > 10^{-10} \\lVert s_k\\rVert \\lVert y_k\\rVert` (positive curvature; BFGS needs it).

Hidden instances: 6 scaled and shifted Rosenbrock functions in 2 to 10 dimensions (a curved valley,
badly scaled coordinates, seeded starting points far from the minimiser), 3 L2-regularised logistic
regressions (strongly convex, not quadratic) and 3 quadratics on which the first unit step raises f
by a hair. Any procedure that finds a step of sufficient decrease solves them (Armijo backtracking with any constant and shrink factor, quadratic interpolation, a Wolfe
search); a fixed step, a test that accepts increases of f, or a loop that never ends does not.
Each search may evaluate f at most :data:`MAX_EVALS` times.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..second_order import lbfgs_direction
from ._outcome import Instance, Outcome, OutcomeReport, grade_by_outcome
from ._report import GradingFailure, call_student, show

__all__ = ["check_backtracking_line_search", "MAX_EVALS", "MEMORY", "INSTANCES"]

NAME = "backtracking_line_search"
#: evaluations of f (and of its gradient) allowed in ONE line search
MAX_EVALS = 100
#: curvature pairs L-BFGS keeps
MEMORY = 5
#: the gradient norm at which a run has converged
TOLERANCE = 1e-6
#: an accepted step may raise f by this fraction of |f| at most (rounding), no more
_ROUNDING = 1e-12


# --------------------------------------------------------------------------------------------
# the hidden problems


@dataclass(frozen=True)
class Rosenbrock:
    """:math:`f(x) = c \\sum_i b (z_{i+1} - z_i^2)^2 + (1 - z_i)^2` with :math:`z = \\sigma \\odot (x - u)`."""

    sigma: np.ndarray
    shift: np.ndarray
    b: float
    scale: float

    def f(self, x):
        z = self.sigma * (x - self.shift)
        return float(self.scale * np.sum(self.b * (z[1:] - z[:-1] ** 2) ** 2 + (1.0 - z[:-1]) ** 2))

    def grad(self, x):
        z = self.sigma * (x - self.shift)
        inner = z[1:] - z[:-1] ** 2
        dz = np.zeros_like(z)
        dz[:-1] += -4.0 * self.b * inner * z[:-1] - 2.0 * (1.0 - z[:-1])
        dz[1:] += 2.0 * self.b * inner
        return self.scale * self.sigma * dz


@dataclass(frozen=True)
class Logistic:
    """:math:`f(w) = \\frac1N \\sum_i \\log(1 + e^{-y_i x_i^\\top w}) + \\frac\\lambda2 \\lVert w\\rVert^2`."""

    X: np.ndarray
    y: np.ndarray
    l2: float

    def f(self, w):
        margins = self.y * (self.X @ w)
        return float(np.mean(np.logaddexp(0.0, -margins)) + 0.5 * self.l2 * (w @ w))

    def grad(self, w):
        margins = self.y * (self.X @ w)
        weights = np.exp(-np.logaddexp(0.0, margins))          # sigmoid(-margin), without overflow
        return -(self.X.T @ (self.y * weights)) / len(self.y) + self.l2 * w


@dataclass(frozen=True)
class Problem:
    objective: object
    start: np.ndarray
    max_iterations: int


def _rosenbrock(seed: int, dim: int) -> Problem:
    rng = np.random.default_rng(seed)
    sigma = rng.uniform(0.5, 2.0, size=dim)
    shift = rng.uniform(-1.0, 1.0, size=dim)
    z0 = np.where(np.arange(dim) % 2 == 0, -1.2, 1.0) + rng.uniform(-0.3, 0.3, size=dim)
    objective = Rosenbrock(sigma, shift, float(rng.uniform(20.0, 100.0)), float(rng.choice([0.1, 1.0, 10.0])))
    return Problem(objective, shift + z0 / sigma, 300)


def _logistic(seed: int, dim: int) -> Problem:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40, dim)) * rng.uniform(0.5, 3.0, size=dim)
    y = np.sign(X @ rng.normal(size=dim) + 0.5 * rng.normal(size=40))
    y[y == 0] = 1.0
    return Problem(Logistic(X, y, float(rng.uniform(0.01, 0.1))), rng.normal(scale=3.0, size=dim), 100)


@dataclass(frozen=True)
class Quadratic:
    """:math:`f(x) = \\tfrac12 (x - x^*)^\\top A (x - x^*) + c`."""

    A: np.ndarray
    minimiser: np.ndarray
    offset: float

    def f(self, x):
        r = x - self.minimiser
        return float(0.5 * r @ self.A @ r + self.offset)

    def grad(self, x):
        return self.A @ (x - self.minimiser)


def _overshooting_quadratic(seed: int, dim: int) -> Problem:
    """A quadratic on which the first L-BFGS step (-g, step length 1) lands just past the mirror point.

    The curvature along the first direction is :math:`g^\\top A g / g^\\top g = 2 (1 + 10^{-5})`: the unit
    step raises f by a hair (about :math:`10^{-5}` of the decrease the tangent promises), so only a test
    of the direction and sign of the Armijo inequality rejects it.
    """
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    A = (q * np.geomspace(1.0, float(rng.uniform(10.0, 100.0)), dim)) @ q.T
    minimiser = rng.normal(size=dim)
    start = minimiser + rng.normal(scale=2.0, size=dim)
    g = A @ (start - minimiser)
    A = A * (2.0 * (1.0 + 1e-5) / ((g @ A @ g) / (g @ g)))
    return Problem(Quadratic(A, minimiser, float(rng.uniform(-1.0, 1.0))), start, 100)


def _instances() -> list[Instance]:
    specs = ([("Rosenbrock", seed, dim) for seed, dim in ((9001, 2), (9003, 3), (9005, 4), (9006, 5), (9008, 6),
                                                           (9012, 10))]
             + [("logistic", seed, dim) for seed, dim in ((9101, 3), (9103, 8), (9104, 10))]
             + [("quadratic", seed, dim) for seed, dim in zip(range(9201, 9204), (3, 6, 10))])
    instances = []
    for number, (kind, seed, dim) in enumerate(specs, start=1):
        problem = {"Rosenbrock": _rosenbrock, "logistic": _logistic, "quadratic": _overshooting_quadratic}[kind](
            seed, dim)
        what = {"Rosenbrock": "a scaled and shifted Rosenbrock function",
                "logistic": "an L2-regularised logistic regression",
                "quadratic": "a quadratic on which the unit step overshoots"}[kind]
        instances.append(Instance(f"instance {number} ({what}, {dim} dimensions)", problem))
    return instances


INSTANCES = _instances()


# --------------------------------------------------------------------------------------------
# one run of L-BFGS with the student's step lengths


class SearchBudgetExceeded(RuntimeError):
    """Raised into the student's line search once it has used up its evaluations."""


class _Counted:
    """``f`` or ``grad`` for one line search: counts the calls, refuses those beyond :data:`MAX_EVALS`."""

    def __init__(self, function: Callable, what: str):
        self.function, self.what, self.calls, self.exceeded = function, what, 0, False
        self.points: list = []

    @property
    def first_trial(self):
        """The first point other than x where f was evaluated (the first trial step), or None."""
        return self.points[1] if len(self.points) > 1 else None

    def __call__(self, x):
        self.calls += 1
        if len(self.points) < 2:
            self.points.append(np.array(x, dtype=float, copy=True))
        if self.calls > MAX_EVALS:
            self.exceeded = True
            raise SearchBudgetExceeded(f"this line search evaluated {self.what} more than {MAX_EVALS} times")
        return self.function(np.array(x, dtype=float, copy=True))


@dataclass
class Run:
    """What happened in one run: the outcome and the facts :func:`_recognise` reads."""

    outcome: Outcome
    f_calls: list
    increases: int = 0
    budget: bool = False
    #: the f calls of the search that returned a step raising f, and whether that step was its first trial
    rising_calls: int = 0
    rising_first_trial: bool = False


def _step_length(value) -> tuple[float | None, str]:
    """The student's answer as a float step length, or ``None`` and why it is not one."""
    numeric = isinstance(value, (int, float, np.integer, np.floating)) or (
        isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf")
    if isinstance(value, (bool, np.bool_)) or not numeric:
        return None, f"returned {show(value)}, not a step length (a positive number)"
    try:
        alpha = float(value)
    except (TypeError, ValueError):
        return None, f"returned {show(value)}, not a step length (a positive number)"
    if not math.isfinite(alpha):
        return None, f"returned the step length {alpha}"
    if alpha <= 0:
        return None, f"returned the step length {alpha:g}; a step along a descent direction is positive"
    return alpha, ""


def _run(student_fn: Callable, problem: Problem) -> Run:
    objective = problem.objective
    x = problem.start.copy()
    fx, g = objective.f(x), objective.grad(x)
    s_history, y_history, f_calls = [], [], []
    for k in range(problem.max_iterations):
        if np.linalg.norm(g) <= TOLERANCE:
            return Run(Outcome(True, f"converged in {k} iterations"), f_calls)
        d = lbfgs_direction(g, s_history, y_history)
        f, grad = _Counted(objective.f, "f"), _Counted(objective.grad, "the gradient")
        try:
            answer = call_student(NAME, student_fn, f, grad, x.copy(), d.copy())
        except GradingFailure as failure:
            if f.exceeded or grad.exceeded:
                return Run(Outcome(False, f"at iteration {k + 1} the line search evaluated "
                                          f"{'f' if f.exceeded else 'the gradient'} more than {MAX_EVALS} times "
                                          f"without returning a step"), f_calls, budget=True)
            raise GradingFailure(f"at iteration {k + 1}: {failure}") from None
        f_calls.append(f.calls)
        alpha, problem_text = _step_length(answer)
        if alpha is None:
            return Run(Outcome(False, f"at iteration {k + 1} the line search {problem_text}"), f_calls)
        x_new = x + alpha * d
        with np.errstate(all="ignore"):
            f_new = objective.f(x_new) if np.all(np.isfinite(x_new)) else math.inf
        if not f_new <= fx + _ROUNDING * abs(fx):
            went = f"up to {f_new:.9g}" if math.isfinite(f_new) else f"to {f_new} (diverged)"
            return Run(Outcome(False, f"at iteration {k + 1} the step length {alpha:.6g} took f from {fx:.9g} {went}"
                                      + _evaluated(f.calls) + "; a line search must never return a step that "
                                      "raises f"), f_calls, increases=1, rising_calls=f.calls,
                       rising_first_trial=f.first_trial is not None and np.array_equal(f.first_trial, x_new))
        g_new = objective.grad(x_new)
        s, y = x_new - x, g_new - g
        if s @ y > 1e-10 * np.linalg.norm(s) * np.linalg.norm(y):
            s_history, y_history = (s_history + [s])[-MEMORY:], (y_history + [y])[-MEMORY:]
        x, fx, g = x_new, f_new, g_new
    return Run(Outcome(False, f"not converged after {problem.max_iterations} iterations: the gradient norm is still "
                              f"{np.linalg.norm(g):.3g} (tolerance {TOLERANCE:g}), f = {fx:.9g}"), f_calls)


def _evaluated(calls: int) -> str:
    return " (the line search never evaluated f)" if calls == 0 else f" (the line search evaluated f {calls} times)"


# --------------------------------------------------------------------------------------------
# the check


def _attempt(runs: list):
    def attempt(student_fn, instance: Instance) -> Outcome:
        run = _run(student_fn, instance.data)
        runs.append(run)
        return run.outcome

    return attempt


def _recognise(runs: list):
    def recognise(report: OutcomeReport) -> str | None:
        failed = [run for run in runs if not run.outcome.solved]
        if not failed:
            return None
        calls = [c for run in runs for c in run.f_calls]
        if calls and max(calls) == 0:
            return ("no backtracking: the search returns its first step without evaluating f, so nothing stops a "
                    "step that increases the loss")
        if sum(run.budget for run in failed) * 2 >= len(failed):
            return ("a backtracking loop that does not end: each rejected trial must shrink the step, and the loop "
                    "must stop as soon as the sufficient decrease holds")
        rising = [run for run in failed if run.increases > 0]
        if len(rising) * 2 >= len(failed) and all(run.rising_first_trial and run.rising_calls >= 10 for run in rising):
            return ("a step that never shrinks: the search evaluated f again and again but returned its first trial "
                    "step, which raised f; a rejected step must be replaced by a shorter one")
        if len(rising) * 2 >= len(failed):
            return ("a sufficient-decrease test that accepts steps that increase f: check the direction of the "
                    "inequality and the sign of the term c1 alpha g'd (g'd < 0 along a descent direction)")
        return None

    return recognise


def check_backtracking_line_search(student_fn: Callable, points: float) -> float:
    """Grade ``backtracking_line_search(f, grad, x, direction, ...)`` by the outcome of L-BFGS on hidden problems.

    Returns the points earned (``points`` times the fraction of the :data:`INSTANCES` solved, see
    :func:`~._outcome.grade_by_outcome`); raises :class:`GradingFailure` when none is solved.
    """
    runs: list = []
    return grade_by_outcome(
        NAME, student_fn, INSTANCES, _attempt(runs), points, recognise=_recognise(runs),
        task=(f"L-BFGS (memory {MEMORY}) with your step lengths must bring the gradient norm below {TOLERANCE:g} "
              f"within the iteration budget; no returned step may raise f, and no line search may evaluate f more "
              f"than {MAX_EVALS} times."))
