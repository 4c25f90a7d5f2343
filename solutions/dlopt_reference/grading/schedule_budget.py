r"""Grader of chapter 5's outcome task: ``schedule_for_budget(num_steps, max_learning_rate)``.

The student's schedule is *used*: minibatch SGD runs with its rates on hidden least-squares problems
(features whose curvatures span two orders of magnitude, residual noise, batches drawn with a fixed
seed), and what counts is the loss after the last step. Each instance is averaged over a few runs
(the same seeds on every grading run) so that one lucky batch sequence decides nothing.

The bar is set by theory, not by the reference's output. With a constant rate :math:`\eta`, SGD
settles at a noise floor: the stationary covariance :math:`C` of the error solves the discrete
Lyapunov equation :math:`C = (I - \eta H) C (I - \eta H) + \eta^2 \Sigma`, where :math:`H` is the Hessian and
:math:`\Sigma` the covariance of a minibatch gradient at the minimizer, and the excess loss is
:math:`F(\eta) = \tfrac12 \operatorname{tr}(H C)`. An instance is solved when the mean excess loss after the
last step is at most :data:`FLOOR_FRACTION` times :math:`F(\eta_{\max})`, the floor of the largest stable
rate. Every direction of the initial error holds several times that floor, the flattest one included,
so a schedule must also keep its rates large long enough to remove it: one that decays too early
stalls, one that never decays stays at its floor. Right schedules of every usual shape (cosine,
linear, step decay, warm-up then cosine) end about ten times below the bar, and :math:`1/t` decay
:math:`\eta_{\max}/(1 + 10k/K)` about twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Callable

import numpy as np
import scipy.linalg

from ._outcome import Instance, Outcome, OutcomeReport, grade_by_outcome
from ._report import GradingFailure, call_student, quiet, show

__all__ = ["check_schedule_for_budget", "BudgetProblem", "HIDDEN_PROBLEMS", "FLOOR_FRACTION", "run_sgd"]

#: An instance is solved when the final excess loss is at most this fraction of the constant-rate floor F(max).
FLOOR_FRACTION = 0.25

#: Runs of SGD per instance (different batch sequences, fixed seeds), averaged.
RUNS = 8

#: Initial excess loss put in every eigen-direction of H, in units of the floor F(max).
INITIAL_EXCESS_PER_DIRECTION = 5.0


@dataclass(frozen=True)
class BudgetProblem:
    """Least squares ``f(w) = ||X w - y||^2 / (2 n)`` on ``n`` examples with ``dimension`` features.

    The feature variances are spread geometrically over ``curvature_scale * [1/condition, 1]`` (so the
    curvatures of ``H = X^T X / n`` span about ``condition``, and ``1/L`` is about ``1/curvature_scale``); SGD draws ``batch_size`` examples per step with
    replacement; it starts at ``w0``, chosen so that every eigen-direction of ``H`` holds
    :data:`INITIAL_EXCESS_PER_DIRECTION` times the floor of the constant rate ``max_learning_rate = 1/L``.
    """

    seed: int
    num_steps: int
    dimension: int
    condition: float
    batch_size: int
    curvature_scale: float = 1.0
    examples: int = 400

    @cached_property
    def data(self) -> dict:
        rng = np.random.default_rng(self.seed)
        scales = np.sqrt(self.curvature_scale * np.geomspace(1.0, 1.0 / self.condition, self.dimension))
        rng.shuffle(scales)
        X = rng.standard_normal((self.examples, self.dimension)) * scales
        y = X @ rng.standard_normal(self.dimension) + rng.standard_normal(self.examples)
        H = X.T @ X / self.examples
        w_star = np.linalg.solve(H, X.T @ y / self.examples)
        residuals = X @ w_star - y
        per_example = X * residuals[:, None]                      # per-example gradients at w*
        sigma = per_example.T @ per_example / self.examples / self.batch_size
        curvatures, directions = np.linalg.eigh(H)
        max_rate = 1.0 / curvatures[-1]
        floor = noise_floor(H, sigma, max_rate)
        # every eigen-direction i holds 0.5 * lambda_i * c_i^2 = INITIAL_EXCESS_PER_DIRECTION * floor
        signs = rng.choice([-1.0, 1.0], self.dimension)
        coefficients = signs * np.sqrt(2.0 * INITIAL_EXCESS_PER_DIRECTION * floor / curvatures)
        w0 = w_star + directions @ coefficients
        return {"X": X, "y": y, "H": H, "w_star": w_star, "max_rate": max_rate, "floor": floor, "w0": w0,
                "curvatures": curvatures, "directions": directions}

    @property
    def max_learning_rate(self) -> float:
        return float(self.data["max_rate"])

    @property
    def target(self) -> float:
        return FLOOR_FRACTION * float(self.data["floor"])

    def label(self) -> str:
        return (f"least squares with {self.dimension} features, curvatures spanning {self.condition:g}, "
                f"batches of {self.batch_size}, num_steps={self.num_steps}, "
                f"max_learning_rate={self.max_learning_rate:.4g}")


def noise_floor(H: np.ndarray, sigma: np.ndarray, rate: float) -> float:
    r"""Stationary excess loss of SGD with the constant ``rate``: :math:`\tfrac12 \operatorname{tr}(H C)` with
    :math:`C = (I - \eta H) C (I - \eta H) + \eta^2 \Sigma` (the gradient noise taken at the minimizer)."""
    A = np.eye(len(H)) - rate * H
    C = scipy.linalg.solve_discrete_lyapunov(A, rate ** 2 * sigma)
    return float(0.5 * np.trace(H @ C))


def run_sgd(problem: BudgetProblem, rates: np.ndarray, runs: int = RUNS) -> np.ndarray:
    """The excess loss after minibatch SGD with ``rates`` (one per step), for each of ``runs`` seeded runs."""
    data = problem.data
    X, y, H = data["X"], data["y"], data["H"]
    rng = np.random.default_rng(10_000 + problem.seed)
    W = np.tile(data["w0"], (runs, 1))
    with quiet():
        for rate in rates:
            batch = rng.integers(0, problem.examples, (runs, problem.batch_size))
            Xb = X[batch]                                                    # (runs, batch, dimension)
            residual = np.einsum("rbd,rd->rb", Xb, W) - y[batch]
            W = W - rate * np.einsum("rbd,rb->rd", Xb, residual) / problem.batch_size
        error = W - data["w_star"]
        return 0.5 * np.einsum("rd,de,re->r", error, H, error)


def noise_free_excess(problem: BudgetProblem, rates: np.ndarray) -> float:
    """The excess loss of the MEAN iterate: gradient descent with the same rates and no noise (the bias part)."""
    data = problem.data
    curvatures, directions = data["curvatures"], data["directions"]
    error = directions.T @ (data["w0"] - data["w_star"])
    with quiet():
        factors = np.prod(1.0 - np.outer(rates, curvatures), axis=0) if len(rates) else np.ones_like(curvatures)
        return float(0.5 * np.sum(curvatures * (factors * error) ** 2))


# Hidden instances: budgets of 600 to 1200 steps, condition numbers about budget / 10 (the flattest
# direction needs a good part of the budget at a large rate), 6 to 12 features, batches of 8 to 16, largest
# curvatures from 0.2 to 5 (so max_learning_rate = 1/L differs from one problem to the next).
HIDDEN_PROBLEMS: tuple[BudgetProblem, ...] = (
    BudgetProblem(seed=5101, num_steps=800, dimension=8, condition=80.0, batch_size=8, curvature_scale=0.5),
    BudgetProblem(seed=5102, num_steps=1000, dimension=10, condition=100.0, batch_size=8, curvature_scale=2.0),
    BudgetProblem(seed=5103, num_steps=600, dimension=6, condition=60.0, batch_size=8, curvature_scale=1.0),
    BudgetProblem(seed=5104, num_steps=1200, dimension=12, condition=120.0, batch_size=16, curvature_scale=5.0),
    BudgetProblem(seed=5105, num_steps=700, dimension=9, condition=70.0, batch_size=12, curvature_scale=0.2),
    BudgetProblem(seed=5106, num_steps=900, dimension=7, condition=90.0, batch_size=16, curvature_scale=1.5),
)


def _as_rates(answer, problem: BudgetProblem) -> np.ndarray:
    """The student's rates as a float array of shape (num_steps,), or a GradingFailure saying what is wrong."""
    where = f"schedule_for_budget({problem.num_steps}, {problem.max_learning_rate:.6g})"
    if answer is None:
        raise GradingFailure(f"{where} returned None: return a numpy array of num_steps learning rates.")
    try:
        with quiet():
            rates = np.asarray(answer, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise GradingFailure(f"{where} returned {show(answer)}: expected an array of numbers.") from None
    if rates.shape != (problem.num_steps,):
        raise GradingFailure(f"{where} returned an array of shape {rates.shape}; expected shape "
                             f"({problem.num_steps},): one learning rate per step.")
    bad = np.flatnonzero(~np.isfinite(rates))
    if bad.size:
        raise GradingFailure(f"{where}: the rate of step {int(bad[0])} is {rates[bad[0]]}: every rate must be a "
                             f"finite number.")
    negative = np.flatnonzero(rates < 0)
    if negative.size:
        raise GradingFailure(f"{where}: the rate of step {int(negative[0])} is {rates[negative[0]]:.4g} < 0: a "
                             f"negative rate climbs the loss.")
    too_large = np.flatnonzero(rates > problem.max_learning_rate * (1 + 1e-9))
    if too_large.size:
        first = int(too_large[0])
        raise GradingFailure(
            f"{where}: {too_large.size} rates are above max_learning_rate, the first at step {first} "
            f"({rates[first]:.4g} > {problem.max_learning_rate:.4g}); above it the iteration is not stable "
            f"along the steepest direction. Keep every rate at most max_learning_rate.")
    return rates


def _judge(problem: BudgetProblem, rates: np.ndarray) -> Outcome:
    data = problem.data
    floor, target = data["floor"], problem.target
    excess = float(np.mean(run_sgd(problem, rates)))
    if not np.isfinite(excess):
        return Outcome(False, "SGD diverged with these rates.", rates)
    ratio = excess / floor
    if excess <= target:
        return Outcome(True, f"final excess loss {ratio:.3g} x the floor of the constant rate max_learning_rate",
                       rates)
    bias = noise_free_excess(problem, rates)
    total = float(np.sum(rates)) / problem.max_learning_rate
    tail = float(np.mean(rates[-max(1, problem.num_steps // 10):]))
    measured = (f"the final excess loss is {ratio:.3g} x F, where F = {floor:.3g} is the noise floor of the constant "
                f"rate max_learning_rate (needed: at most {FLOOR_FRACTION:g} x F)")
    if bias > target / 2:
        flattest = float(data["curvatures"][0])
        detail = (f"stalled: {measured}. Even without gradient noise your rates would leave {bias / floor:.3g} x F: "
                  f"they add up to {total:.0f} steps' worth of max_learning_rate out of {problem.num_steps}, too few to "
                  f"cross the flattest direction (curvature {flattest:.3g}): the rates start too low or decay too early.")
    else:
        detail = (f"stopped at a noise floor: {measured}. The mean rate over the last tenth of the steps is "
                  f"{tail / problem.max_learning_rate:.3g} x max_learning_rate: the noise keeps SGD at a level "
                  f"proportional to the rate; it must decay further by the end.")
    return Outcome(False, detail, rates)


def _attempt(student_fn: Callable, instance: Instance) -> Outcome:
    problem: BudgetProblem = instance.data
    answer = call_student("schedule_for_budget", student_fn, problem.num_steps, problem.max_learning_rate)
    return _judge(problem, _as_rates(answer, problem))


def _recognise(report: OutcomeReport) -> str | None:
    """Name a known mistake when every failed instance shows it."""
    failed = [(instance.data, outcome) for instance, outcome in zip(report.instances, report.outcomes)
              if not outcome.solved]
    if not failed:
        return None
    details = [outcome.detail for _, outcome in failed]
    if all("above max_learning_rate" in detail for detail in details):
        return ("rates above max_learning_rate, the largest stable rate: the schedule may only go below it "
                "(start at it and decay)")
    rates = [outcome.answer for _, outcome in failed]
    if any(r is None for r in rates):
        return None
    if all(detail.startswith("stalled") for detail in details):
        return "a schedule that decays too early (or starts too low): the rates add up to too little to converge"
    if all(detail.startswith("stopped at a noise floor") for detail in details) and all(
            float(np.min(r)) >= 0.5 * float(np.max(r)) > 0 for r in rates):
        return ("a rate that never decays: with a constant rate SGD stops at a noise floor proportional to the "
                "rate, however many steps it takes")
    return None


def check_schedule_for_budget(student_fn: Callable, points: float = 10) -> float:
    """Grade ``schedule_for_budget(num_steps, max_learning_rate)`` by what its rates do in minibatch SGD.

    Six hidden least-squares problems (see :data:`HIDDEN_PROBLEMS`); an instance is solved when the
    mean excess loss after the last step of :data:`RUNS` seeded runs is at most :data:`FLOOR_FRACTION`
    times the noise floor of the constant rate ``max_learning_rate``. Returns the points earned
    (partial credit); raises :class:`GradingFailure` when no instance is solved.
    """
    if not callable(student_fn):
        raise GradingFailure(f"schedule_for_budget should be a function, got {show(student_fn)}")
    instances = [Instance(f"problem {number}: {problem.label()}", problem)
                 for number, problem in enumerate(HIDDEN_PROBLEMS, start=1)]
    return grade_by_outcome(
        "schedule_for_budget", student_fn, instances, _attempt, points, recognise=_recognise,
        task=(f"Solved: minibatch SGD with your rates ends with an excess loss at most {FLOOR_FRACTION:g} x the "
              f"noise floor of the constant rate max_learning_rate (mean of {RUNS} seeded runs)."))
