r"""Grader of chapter 4's outcome task: ``train_badly_scaled(loss_and_grad, w, num_steps)``.

The student's training procedure is *run* on hidden least-squares problems whose features have
scales spread over :math:`[0.1, 10]`, so that the curvatures of the loss span :math:`10^{-2}` to
:math:`10^{2}` (condition numbers about :math:`10^4`). The weights of the small features are large
(:math:`w^\star_i = u_i / s_i` before the noise, with :math:`u_i \sim \mathcal N(0, 0.5^2)`: up to about
10), so every feature holds a comparable share of the initial loss:
a method that neglects the flat coordinates cannot hide it.

An instance is solved when the returned point has

.. math:: \frac{f(w) - f^\star}{f(w_0) - f^\star} \le \text{TOLERANCE} = 10^{-3}

with at most ``num_steps`` calls of ``loss_and_grad`` (counted: one more call fails the instance).
Plain gradient descent with a single rate from :math:`0.5/L` to :math:`1.9/L` leaves 14 % to 75 % of the
excess loss, in the flat directions; Adam with a rate from 0.1 to 1 ends below :math:`10^{-6}`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Callable

import numpy as np

from ._outcome import Instance, Outcome, OutcomeReport, grade_by_outcome
from ._report import GradingFailure, call_student, quiet, show

__all__ = ["check_train_badly_scaled", "ScaledLeastSquares", "HIDDEN_PROBLEMS", "TOLERANCE"]

#: Solved: the excess loss is at most this fraction of the initial excess loss.
TOLERANCE = 1e-3

#: A student's procedure that calls loss_and_grad this many times the budget is stopped (the instance fails).
_RUNAWAY_FACTOR = 10


class _BudgetExhausted(Exception):
    """Raised inside ``loss_and_grad`` once a procedure calls it far beyond its budget."""


@dataclass(frozen=True)
class ScaledLeastSquares:
    r"""``f(w) = ||X w - y||^2 / (2 n)`` with ``X = Z diag(s)``: Gaussian ``Z`` (``n = 10 d`` rows), feature
    scales ``s`` log-uniform in ``[low, high]`` (both ends present), ``y = X (u / s) + 0.1 noise`` with
    ``u ~ N(0, 0.5^2)``, start ``w0 = 0``."""

    seed: int
    dimension: int
    num_steps: int
    low: float = 0.1
    high: float = 10.0

    @cached_property
    def data(self) -> dict:
        rng = np.random.default_rng(self.seed)
        d = self.dimension
        scales = np.exp(rng.uniform(np.log(self.low), np.log(self.high), d))
        scales[:2] = self.low, self.high
        rng.shuffle(scales)
        X = rng.standard_normal((10 * d, d)) * scales
        y = X @ (0.5 * rng.standard_normal(d) / scales) + 0.1 * rng.standard_normal(10 * d)
        w_star = np.linalg.lstsq(X, y, rcond=None)[0]
        H = X.T @ X / len(X)
        curvatures, directions = np.linalg.eigh(H)
        w0 = np.zeros(d)
        return {"X": X, "y": y, "scales": scales, "w_star": w_star, "w0": w0, "L": float(curvatures[-1]),
                "mu": float(curvatures[0]), "curvatures": curvatures, "directions": directions,
                "f_star": self.loss(X, y, w_star), "f0": self.loss(X, y, w0)}

    @staticmethod
    def loss(X, y, w) -> float:
        residual = X @ w - y
        return float(0.5 * residual @ residual / len(X))

    def loss_and_grad(self, w):
        X, y = self.data["X"], self.data["y"]
        w = np.asarray(w, dtype=np.float64)
        residual = X @ w - y
        return float(0.5 * residual @ residual / len(X)), X.T @ residual / len(X)

    def label(self) -> str:
        data = self.data
        return (f"least squares with {self.dimension} features of scales {self.low:g} to {self.high:g} "
                f"(curvatures {data['mu']:.2g} to {data['L']:.3g}), num_steps={self.num_steps}")


HIDDEN_PROBLEMS: tuple[ScaledLeastSquares, ...] = (
    ScaledLeastSquares(seed=4101, dimension=5, num_steps=200),
    ScaledLeastSquares(seed=4102, dimension=8, num_steps=250),
    ScaledLeastSquares(seed=4103, dimension=10, num_steps=250),
    ScaledLeastSquares(seed=4104, dimension=15, num_steps=300),
    ScaledLeastSquares(seed=4105, dimension=20, num_steps=300),
)


class _CountedLoss:
    """``loss_and_grad`` as the student sees it: counts its calls and stops a runaway procedure."""

    def __init__(self, problem: ScaledLeastSquares):
        self.problem, self.calls = problem, 0

    def __call__(self, w):
        self.calls += 1
        if self.calls > _RUNAWAY_FACTOR * self.problem.num_steps:
            raise _BudgetExhausted(f"loss_and_grad was called more than {_RUNAWAY_FACTOR} x num_steps times")
        try:
            with quiet():
                point = np.asarray(w, dtype=np.float64).reshape(self.problem.data["w0"].shape)
        except (TypeError, ValueError):
            raise ValueError(f"loss_and_grad needs an array of shape {self.problem.data['w0'].shape}, "
                             f"got {show(w)}") from None
        return self.problem.loss_and_grad(point)


#: Curvatures below this split the "flat" directions from the "steep" ones (the curvatures span 0.01 to 100).
_FLAT_BELOW = 1.0


def _kept(problem: ScaledLeastSquares, w: np.ndarray) -> tuple[float, float]:
    """The fractions of their initial excess loss that the flat and the steep eigen-directions of H still hold."""
    data = problem.data
    curvatures, directions = data["curvatures"], data["directions"]
    with quiet():
        now = 0.5 * curvatures * (directions.T @ (w - data["w_star"])) ** 2
        start = 0.5 * curvatures * (directions.T @ (data["w0"] - data["w_star"])) ** 2
    flat = curvatures < _FLAT_BELOW
    return float(now[flat].sum() / start[flat].sum()), float(now[~flat].sum() / start[~flat].sum())


def _progress(problem: ScaledLeastSquares, w: np.ndarray) -> str:
    """Where the excess loss that is left lies: along the flat or the steep directions of the Hessian."""
    flat, steep = _kept(problem, w)
    return (f"the flat directions of the Hessian (curvature below {_FLAT_BELOW:g}) still hold {100 * flat:.3g} % of "
            f"their initial excess loss, the steep ones (curvature {_FLAT_BELOW:g} to {problem.data['L']:.3g}) "
            f"{100 * steep:.3g} %")


def _judge(problem: ScaledLeastSquares, answer, calls: int) -> Outcome:
    data = problem.data
    where = f"train_badly_scaled(loss_and_grad, w0, {problem.num_steps})"
    if calls > problem.num_steps:
        return Outcome(False, f"called loss_and_grad {calls} times; the budget is num_steps = {problem.num_steps} "
                              f"calls (each call is one gradient evaluation).", None)
    if answer is None:
        return Outcome(False, f"{where} returned None: return the final parameters.")
    try:
        with quiet():
            w = np.asarray(answer, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        return Outcome(False, f"{where} returned {show(answer)}: expected an array of numbers.")
    if w.shape != data["w0"].shape:
        return Outcome(False, f"{where} returned shape {w.shape}; expected {data['w0'].shape}, the shape of w.")
    if not np.all(np.isfinite(w)):
        return Outcome(False, f"diverged: the returned parameters hold nan or inf. A step larger than 2/L = "
                              f"{2 / data['L']:.3g} along the steepest direction (curvature {data['L']:.3g}) blows up.")
    with quiet():
        loss = problem.loss(data["X"], data["y"], w)
    initial = data["f0"] - data["f_star"]
    ratio = (loss - data["f_star"]) / initial
    if not np.isfinite(ratio):
        return Outcome(False, "diverged: the loss at the returned parameters overflows.", w)
    if ratio <= TOLERANCE:
        return Outcome(True, f"excess loss {ratio:.2g} of the initial one", w)
    if ratio > 1:
        return Outcome(False, f"diverged: the loss grew from {data['f0']:.4g} to {loss:.4g}; along the steepest "
                              f"direction (curvature {data['L']:.3g}) a plain step must stay below 2/L = "
                              f"{2 / data['L']:.3g}.", w)
    return Outcome(False, f"stopped short: {100 * ratio:.3g} % of the initial excess loss is left (needed: at most "
                          f"{100 * TOLERANCE:g} %); {_progress(problem, w)}.", w)


def _attempt(student_fn: Callable, instance: Instance) -> Outcome:
    problem: ScaledLeastSquares = instance.data
    counted = _CountedLoss(problem)
    try:
        answer = call_student("train_badly_scaled", student_fn, counted, problem.data["w0"].copy(),
                              problem.num_steps)
    except GradingFailure as failure:
        if counted.calls > problem.num_steps:
            return Outcome(False, f"called loss_and_grad more than {problem.num_steps} times (the budget, "
                                  f"num_steps) and was stopped after {counted.calls} calls.")
        raise failure
    return _judge(problem, answer, counted.calls)


def _recognise(report: OutcomeReport) -> str | None:
    """Name a known mistake when every failed instance shows it."""
    details = [outcome.detail for outcome in report.outcomes if not outcome.solved]
    if not details:
        return None
    if all("loss_and_grad" in detail and "budget" in detail for detail in details):
        return ("more gradient evaluations than the budget: call loss_and_grad once per step, num_steps times in "
                "all, and reuse the gradient it returns")
    if all(detail.startswith("diverged") for detail in details):
        return ("a step too large for the steepest direction: one global learning rate above 2/L; an adaptive "
                "method (RMSProp, Adam) scales each coordinate's step by its own gradient size instead")
    stalled = [(instance.data, outcome.answer) for instance, outcome in zip(report.instances, report.outcomes)
               if not outcome.solved]
    if all(detail.startswith("stopped short") for detail in details) and all(
            w is not None and _flat_left_behind(problem, w) for problem, w in stalled):
        return ("the flat directions were left behind: the steep directions of the Hessian converged, the flat ones "
                "barely moved, as with one learning rate small enough for the steepest direction (plain gradient "
                "descent), or an adaptive method whose learning rate times num_steps is shorter than the way to go")
    if all(detail.startswith("stopped short") for detail in details) and all(
            w is not None and _kept(problem, w)[1] > 0.01 for problem, w in stalled):
        return ("steps too small in every direction: even the steep directions of the Hessian have not converged; "
                "an adaptive method moves each coordinate by about its learning rate per step, so the learning rate "
                "times num_steps must exceed the distance to the minimizer (up to about 25 here)")
    return None


def _flat_left_behind(problem: ScaledLeastSquares, w: np.ndarray) -> bool:
    """The steep directions converged (less than 1 % of their excess left) while the flat ones kept over 30 %."""
    flat, steep = _kept(problem, w)
    return flat > 0.3 and steep < 0.01


def check_train_badly_scaled(student_fn: Callable, points: float = 7) -> float:
    """Grade ``train_badly_scaled(loss_and_grad, w, num_steps)`` on five hidden badly scaled problems.

    Solved: the returned parameters leave at most :data:`TOLERANCE` of the initial excess loss, after at
    most ``num_steps`` calls of ``loss_and_grad``. Returns the points earned (partial credit); raises
    :class:`GradingFailure` when no instance is solved.
    """
    if not callable(student_fn):
        raise GradingFailure(f"train_badly_scaled should be a function, got {show(student_fn)}")
    instances = [Instance(f"problem {number}: {problem.label()}", problem)
                 for number, problem in enumerate(HIDDEN_PROBLEMS, start=1)]
    return grade_by_outcome(
        "train_badly_scaled", student_fn, instances, _attempt, points, recognise=_recognise,
        task=(f"Solved: the parameters you return leave at most {100 * TOLERANCE:g} % of the initial excess loss, "
              f"after at most num_steps calls of loss_and_grad."))
