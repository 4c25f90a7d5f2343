"""Grader of chapter 10's outcome task: the student's learning rate drives gradient descent on hidden problems.

``check_stable_learning_rate(stable_learning_rate, points)`` gives the student's function the gradient
of a hidden loss (counted: at most :data:`GRADIENT_BUDGET` calls), a starting point and a seeded
generator, then runs gradient descent :math:`w \\leftarrow w - \\eta \\nabla f(w)` with the returned rate
:math:`\\eta`. An instance is solved when

- :math:`\\eta \\ge` :data:`NOT_TIMID` :math:`\\cdot\\, 2 / L` (not timid), with :math:`L` the largest
  eigenvalue of the Hessian at the starting point, and
- within the step budget :math:`K` the optimality gap falls to :data:`TOLERANCE` times its start:
  :math:`f(w_K) - f^* \\le 10^{-6} (f(w_0) - f^*)`.

:math:`K` is 1.5 times the number of steps the slowest acceptable rate (:data:`NOT_TIMID` :math:`\\cdot\\, 2/L`)
needs on that instance, so every rate between that and just below :math:`2/L` converges in time, and
:math:`2/L` itself (the edge of stability: the top direction never shrinks) or above does not.

Hidden instances: quadratics of dimension 5 to 80 whose sharpness ranges over six orders of magnitude
(no fixed rate fits them all), with log-uniform spectra, a cluster of eigenvalues at the top, or one top
eigenvalue above a large bulk (where power iteration needs a few iterations), started far from or very
near the minimum (where the gradient norm says nothing about the curvature); and L2-regularised
logistic regressions started near their minimum (not quadratic).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ._outcome import Instance, Outcome, OutcomeReport, grade_by_outcome
from ._report import GradingFailure, call_student, show

__all__ = ["check_stable_learning_rate", "GRADIENT_BUDGET", "NOT_TIMID", "TOLERANCE", "INSTANCES"]

NAME = "stable_learning_rate"
#: calls of grad_fn allowed per instance
GRADIENT_BUDGET = 100
#: the smallest acceptable rate, as a fraction of the edge of stability 2/L
NOT_TIMID = 0.4
#: the optimality gap gradient descent must reach, relative to the gap at the start
TOLERANCE = 1e-6
#: a run whose gap grows by this factor has diverged
_DIVERGED = 1e8


# --------------------------------------------------------------------------------------------
# the hidden problems


@dataclass(frozen=True)
class Quadratic:
    """:math:`f(w) = \\tfrac12 (w - w^*)^\\top A (w - w^*)`, minimum 0."""

    A: np.ndarray
    minimiser: np.ndarray

    def loss(self, w):
        r = w - self.minimiser
        return float(0.5 * r @ self.A @ r)

    def grad(self, w):
        return self.A @ (w - self.minimiser)

    def hessian(self, w):
        return self.A


@dataclass(frozen=True)
class Logistic:
    """:math:`f(w) = \\frac1N \\sum_i \\log(1 + e^{-y_i x_i^\\top w}) + \\frac\\lambda2 \\lVert w\\rVert^2`."""

    X: np.ndarray
    y: np.ndarray
    l2: float

    def loss(self, w):
        return float(np.mean(np.logaddexp(0.0, -self.y * (self.X @ w))) + 0.5 * self.l2 * (w @ w))

    def grad(self, w):
        weights = np.exp(-np.logaddexp(0.0, self.y * (self.X @ w)))        # sigmoid(-margin)
        return -(self.X.T @ (self.y * weights)) / len(self.y) + self.l2 * w

    def hessian(self, w):
        p = np.exp(-np.logaddexp(0.0, -(self.X @ w)))                      # sigmoid(x'w)
        return (self.X.T * (p * (1.0 - p))) @ self.X / len(self.y) + self.l2 * np.eye(self.X.shape[1])

    def minimiser(self):
        """Newton's method from 0, to machine precision (the loss is strongly convex)."""
        w = np.zeros(self.X.shape[1])
        for _ in range(100):
            step = np.linalg.solve(self.hessian(w), self.grad(w))
            w = w - step
            if np.linalg.norm(step) < 1e-15 * (1.0 + np.linalg.norm(w)):
                break
        return w


@dataclass(frozen=True)
class Problem:
    """An objective, the starting point, the minimum value, the sharpness at the start and the step budget."""

    objective: object
    start: np.ndarray
    min_value: float
    sharpness: float
    max_steps: int


def _spectrum(rng, kind: str, dim: int, sharpness: float) -> np.ndarray:
    condition = float(rng.uniform(10.0, 100.0))
    if kind == "log-uniform":
        eigenvalues = np.exp(rng.uniform(0.0, math.log(condition), size=dim))
    elif kind == "clustered":
        eigenvalues = np.concatenate([rng.uniform(0.97, 1.0, size=5) * condition,
                                      np.exp(rng.uniform(0.0, math.log(condition), size=dim - 5))])
    else:  # one top eigenvalue above a large bulk
        eigenvalues = np.concatenate([[condition], rng.uniform(0.3, 0.5, size=dim - 2) * condition, [1.0]])
    eigenvalues[np.argmax(eigenvalues)] = condition
    eigenvalues[np.argmin(eigenvalues)] = 1.0
    return eigenvalues * (sharpness / condition)


def _quadratic(seed: int, kind: str, dim: int, sharpness: float, distance: float) -> Problem:
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    A = (q * _spectrum(rng, kind, dim, sharpness)) @ q.T
    A = 0.5 * (A + A.T)
    minimiser = rng.normal(size=dim)
    direction = rng.normal(size=dim)
    start = minimiser + distance * direction / np.linalg.norm(direction)
    return _with_budget(Quadratic(A, minimiser), start, 0.0)


def _logistic(seed: int, dim: int, distance: float) -> Problem:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(60, dim)) * np.geomspace(1.0, float(rng.uniform(3.0, 10.0)), dim)
    y = np.sign(X @ rng.normal(size=dim) + rng.normal(size=60))
    y[y == 0] = 1.0
    objective = Logistic(X, y, float(rng.uniform(0.02, 0.2)))
    minimiser = objective.minimiser()
    direction = rng.normal(size=dim)
    return _with_budget(objective, minimiser + distance * direction / np.linalg.norm(direction),
                        objective.loss(minimiser))


def _gradient_descent(objective, start, min_value, rate, max_steps):
    """``(steps to the tolerance or None, the gap at the end, the step where it diverged or None)``."""
    w = start.copy()
    gap0 = objective.loss(w) - min_value
    gap = gap0
    for step in range(1, max_steps + 1):
        w = w - rate * objective.grad(w)
        gap = objective.loss(w) - min_value if np.all(np.isfinite(w)) else math.inf
        if gap <= TOLERANCE * gap0:
            return step, gap / gap0, None
        if not gap <= _DIVERGED * gap0:
            return None, gap / gap0, step
    return None, gap / gap0, None


def _with_budget(objective, start, min_value) -> Problem:
    """The problem with its step budget: 1.5 times what the slowest acceptable rate needs."""
    sharpness = float(np.linalg.eigvalsh(objective.hessian(start))[-1])
    slowest = NOT_TIMID * 2.0 / sharpness
    steps, _, _ = _gradient_descent(objective, start, min_value, slowest, 100_000)
    return Problem(objective, start, min_value, sharpness, int(math.ceil(1.5 * steps)))


# (seed, kind, dimension, sharpness L, distance of the start from the minimiser)
_QUADRATICS = [
    (10001, "log-uniform", 5, 4.0, 3.0), (10002, "log-uniform", 10, 0.02, 10.0), (10003, "log-uniform", 20, 350.0, 1.0),
    (10004, "log-uniform", 40, 1.0, 1e-3), (10005, "clustered", 15, 60.0, 2.0), (10006, "clustered", 30, 0.5, 1e-3),
    (10007, "clustered", 60, 2000.0, 0.5), (10008, "bulk", 40, 8.0, 1.0), (10009, "bulk", 60, 0.1, 1e-2),
    (10010, "bulk", 80, 150.0, 5.0), (10011, "log-uniform", 8, 5e-3, 1e-3), (10012, "bulk", 80, 3.0, 1e-3),
]
_LOGISTICS = [(10101, 5, 0.02), (10102, 10, 0.05), (10103, 20, 0.01), (10104, 30, 0.03)]
_KIND_WORDS = {"log-uniform": "log-uniform spectrum", "clustered": "a cluster of eigenvalues at the top",
               "bulk": "one top eigenvalue above a large bulk"}


def _instances() -> list[Instance]:
    instances = []
    for seed, kind, dim, sharpness, distance in _QUADRATICS:
        problem = _quadratic(seed, kind, dim, sharpness, distance)
        instances.append(Instance(f"instance {len(instances) + 1} (a quadratic in {dim} dimensions, "
                                  f"{_KIND_WORDS[kind]}, L = {sharpness:g}, start at distance {distance:g})",
                                  problem))
    for seed, dim, distance in _LOGISTICS:
        problem = _logistic(seed, dim, distance)
        instances.append(Instance(f"instance {len(instances) + 1} (an L2-regularised logistic regression in {dim} "
                                  f"dimensions, L = {problem.sharpness:.3g} at the start, start at distance "
                                  f"{distance:g} from the minimiser)", problem))
    return instances


INSTANCES = _instances()


# --------------------------------------------------------------------------------------------
# one instance


class GradientBudgetExceeded(RuntimeError):
    """Raised into the student's function once it has used up its gradient evaluations."""


class _CountedGradient:
    def __init__(self, grad: Callable):
        self.grad, self.calls, self.exceeded = grad, 0, False

    def __call__(self, w):
        self.calls += 1
        if self.calls > GRADIENT_BUDGET:
            self.exceeded = True
            raise GradientBudgetExceeded(f"more than {GRADIENT_BUDGET} evaluations of grad_fn")
        return self.grad(np.array(w, dtype=float, copy=True))


@dataclass
class Result:
    """The outcome and the facts :func:`_recognise` reads: the rate, 2/L, the gradient norm at the start."""

    outcome: Outcome
    rate: float | None = None
    edge: float | None = None
    grad_norm: float | None = None
    kind: str = ""


def _as_rate(value) -> tuple[float | None, str]:
    numeric = isinstance(value, (int, float, np.integer, np.floating)) or (
        isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf")
    if isinstance(value, (bool, np.bool_)) or not numeric:
        return None, f"returned {show(value)}, not a learning rate (a positive number)"
    try:
        rate = float(value)
    except (TypeError, ValueError):
        return None, f"returned {show(value)}, not a learning rate (a positive number)"
    if not (math.isfinite(rate) and rate > 0):
        return None, f"returned the learning rate {rate!r}; a learning rate is a positive, finite number"
    return rate, ""


def _attempt(instance: Instance, student_fn: Callable, seed: int) -> Result:
    problem: Problem = instance.data
    grad_fn = _CountedGradient(problem.objective.grad)
    try:
        answer = call_student(NAME, student_fn, grad_fn, problem.start.copy(), np.random.default_rng(seed))
    except GradingFailure as failure:
        if grad_fn.exceeded:
            return Result(Outcome(False, f"called grad_fn more than {GRADIENT_BUDGET} times (the budget)"),
                          kind="budget")
        raise
    if grad_fn.exceeded:      # the student's code caught the refusal and went on
        return Result(Outcome(False, f"called grad_fn more than {GRADIENT_BUDGET} times (the budget)"), kind="budget")
    rate, why = _as_rate(answer)
    if rate is None:
        return Result(Outcome(False, why), kind="not a rate")
    edge = 2.0 / problem.sharpness
    facts = dict(rate=rate, edge=edge, grad_norm=float(np.linalg.norm(problem.objective.grad(problem.start))))
    where = f"your rate {rate:.4g} = {rate / edge:.3g} x 2/L (2/L = {edge:.4g})"
    if rate < NOT_TIMID * edge:
        steps = problem.max_steps
        return Result(Outcome(False, f"timid: {where} is below {NOT_TIMID:g} x 2/L = {NOT_TIMID * edge:.4g}; "
                                     f"the budget is {steps} steps"), kind="timid", **facts)
    steps, ratio, diverged = _gradient_descent(problem.objective, problem.start, problem.min_value, rate,
                                               problem.max_steps)
    if steps is not None:
        return Result(Outcome(True, f"converged in {steps} steps", answer=rate), kind="solved", **facts)
    if diverged is not None:
        return Result(Outcome(False, f"diverged at step {diverged}: {where}, and the gap f - f* grew "
                                     f"{_DIVERGED:.0e}-fold"), kind="diverged", **facts)
    return Result(Outcome(False, f"not converged in {problem.max_steps} steps: {where}; the gap f - f* is still "
                                 f"{ratio:.3g} of its start (needed: {TOLERANCE:g})"), kind="slow", **facts)


# --------------------------------------------------------------------------------------------
# the check


def _recognise(results: list):
    def recognise(report: OutcomeReport) -> str | None:
        failed = [result for result in results if not result.outcome.solved]
        rated = [result for result in results if result.rate is not None]
        if not failed or len(rated) < len(results):
            return None
        products = np.array([result.rate * result.grad_norm for result in rated])
        if np.ptp(np.log(products)) < 0.01 and np.ptp(np.log([r.rate for r in rated])) > 1.0:
            return ("a rate from the gradient norm (your rate times the gradient norm is the same on every "
                    "instance): the gradient norm says how far the minimum is, not how curved the loss is; "
                    "stability depends on the largest eigenvalue of the Hessian")
        if all(result.kind == "timid" for result in failed):
            return "a timid rate: far below 2/L, gradient descent needs many more steps than the budget"
        ratios = np.array([result.rate / result.edge for result in rated])
        above = [result for result in failed if result.kind in ("diverged", "slow") and result.rate > 0.98 * result.edge]
        if len(above) < len(failed):
            return None
        if np.ptp(np.log(ratios)) < 0.05 and 0.98 <= np.median(ratios) <= 1.02:
            return ("a rate at the edge of stability: at 2/L the error along the top eigenvector of the Hessian "
                    "flips sign without shrinking, and above 2/L it grows; keep a margin below 2/L")
        if np.ptp(np.log(ratios)) < 0.05:
            return (f"a rate above the edge of stability on every instance ({np.median(ratios):.3g} x 2/L): "
                    "the top eigen-direction of the Hessian grows at every step; stay below 2/L")
        failed_ratios = np.array([result.rate / result.edge for result in failed])
        if np.ptp(np.log(failed_ratios)) < 0.05:
            return None     # one multiple of 2/L on the failed instances, another elsewhere: no known cause
        return ("the sharpness L is underestimated where your rate is above 2/L: an eigenvalue estimate from a "
                "vector that has not converged to the top eigenvector (too few power iterations) comes out "
                "too small, most of all when many eigenvalues lie just below the top")
        return None

    return recognise


def check_stable_learning_rate(student_fn: Callable, points: float) -> float:
    """Grade ``stable_learning_rate(grad_fn, w, rng)`` by gradient descent with its rate on hidden problems.

    Returns the points earned (``points`` times the fraction of the :data:`INSTANCES` solved, see
    :func:`~._outcome.grade_by_outcome`); raises :class:`GradingFailure` when none is solved.
    """
    results: list = []
    seeds = iter(range(20_001, 20_001 + len(INSTANCES)))

    def attempt(function, instance):
        result = _attempt(instance, function, next(seeds))
        results.append(result)
        return result.outcome

    return grade_by_outcome(
        NAME, student_fn, INSTANCES, attempt, points, recognise=_recognise(results),
        task=(f"Gradient descent from w with your rate must reach f - f* <= {TOLERANCE:g} (f(w) - f*) within the "
              f"step budget, and the rate must be at least {NOT_TIMID:g} x 2/L (L: the top Hessian eigenvalue at w); "
              f"grad_fn may be called at most {GRADIENT_BUDGET} times."))
