r"""Graders of the outcome tasks of chapters 1-3: step sizes chosen from curvature.

Each answer is *used*: the student's learning rate (and momentum) drives the course's update rule on
hidden problems, and an instance is solved when the error shrinks by the tolerance within a step
budget that theory sets with margin:

- ``choose_learning_rate(hessian)``: gradient descent on a quadratic. Budget: 1.5 times the number of
  steps the best fixed rate needs in the worst case, :math:`\ln(1/\text{tol}) / \ln\frac{\kappa+1}{\kappa-1}`.
- ``heavy_ball_parameters(L, mu)``: ``sgd_momentum`` on quadratics with spectrum in :math:`[\mu, L]`.
  Budget: 1.5 times the worst case of Polyak's parameters, the least :math:`t` with
  :math:`\rho^t (1 + (1 + \rho) t) \le \text{tol}`, :math:`\rho = \frac{\sqrt\kappa - 1}{\sqrt\kappa + 1}`
  (the factor linear in :math:`t` comes from the double roots at both ends of the spectrum).
- ``nesterov_parameters(L, mu)``: ``nesterov_momentum`` on quadratics, L2-regularised logistic
  regressions and functions of Lessard, Recht and Packard's kind. Budget: the number of steps after
  which Nesterov's guarantee :math:`f(w_t) - f^\star \le (1 - 1/\sqrt\kappa)^t (f(w_0) - f^\star +
  \frac\mu2 \lVert w_0 - w^\star\rVert^2)` forces :math:`\lVert w_t - w^\star\rVert \le \text{tol}\,
  \lVert w_0 - w^\star\rVert`, i.e. :math:`(1 - 1/\sqrt\kappa)^t (\kappa + 1) \le \text{tol}^2`.

Instances are drawn from fixed seeds (the same on every run) and differ from the visible checks'
(``dlopt.checks._chapter01`` to ``_chapter03``). The update rules are written out here in the course's
conventions (the same iterates as ``dlopt_reference.optim``'s ``sgd``, ``sgd_momentum`` and
``nesterov_momentum``; ``tests/grading/test_outcome_02_momentum.py`` and ``test_outcome_03_nesterov.py`` check
it), without the reference's argument checking, for speed.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ._outcome import Instance, Outcome, OutcomeReport, grade_by_outcome
from ._report import GradingFailure, call_student, show

#: Relative error ||w_K - w*|| / ||w_0 - w*|| that solves an instance.
GD_TOLERANCE = 1e-6
HEAVY_BALL_TOLERANCE = 1e-12
NESTEROV_TOLERANCE = 1e-6
#: The budget is this many times what the best choice needs in the worst case.
MARGIN = 1.5
#: An error this many times its start counts as divergence.
_DIVERGED = 1e6


# --------------------------------------------------------------------------------------------
# answers: hostile values become a readable unsolved instance, never a crash or points


def _real(value, what: str) -> float:
    """``value`` as a finite float; a :class:`GradingFailure` saying what is wrong otherwise."""
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise GradingFailure(f"the {what} should be one real number, got {show(value)}")
    number = float(value)
    if not math.isfinite(number):
        raise GradingFailure(f"the {what} is {number}: return a finite number")
    return number


def _positive_rate(value) -> float:
    rate = _real(value, "learning rate")
    if rate <= 0:
        raise GradingFailure(f"the learning rate {rate:.4g} is not positive: a step must go downhill, against the gradient")
    return rate


def _pair(answer, function_name: str) -> tuple[float, float]:
    """A ``(learning_rate, momentum)`` pair with a positive rate and a momentum in [0, 1)."""
    if isinstance(answer, (str, bytes, dict)) or not hasattr(answer, "__len__") or len(answer) != 2:
        raise GradingFailure(f"{function_name} should return a pair (learning_rate, momentum), got {show(answer)}")
    rate = _positive_rate(answer[0])
    momentum = _real(answer[1], "momentum")
    if not 0 <= momentum < 1:
        raise GradingFailure(f"the momentum {momentum:.4g} is outside [0, 1): "
                             + ("the velocity would grow instead of decaying" if momentum >= 1 else
                                "a negative momentum pushes against the previous step"))
    return rate, momentum


def _relative_error(error: np.ndarray, start: float) -> float:
    return float(np.linalg.norm(error)) / start


def _diverged_at(errors: list[float]) -> int | None:
    """The first step whose error exceeds ``_DIVERGED`` times the start (or is not finite)."""
    for step, value in enumerate(errors):
        if not value <= _DIVERGED:
            return step
    return None


def _close(value: float, target: float, rtol: float = 0.02) -> bool:
    return abs(value - target) <= rtol * abs(target)


# --------------------------------------------------------------------------------------------
# hidden quadratics


@dataclass(frozen=True)
class Quadratic:
    """f(w) = 1/2 (w - w*)' H (w - w*), with its eigenvalues (extremes included) and a start."""

    hessian: np.ndarray
    eigenvalues: np.ndarray
    minimizer: np.ndarray
    start: np.ndarray

    @property
    def L(self) -> float:
        return float(self.eigenvalues.max())

    @property
    def mu(self) -> float:
        return float(self.eigenvalues.min())

    @property
    def kappa(self) -> float:
        return self.L / self.mu

    def grad(self, w: np.ndarray) -> np.ndarray:
        return self.hessian @ (w - self.minimizer)


def random_quadratic(seed: int, dim: int, kappa: float, L: float | None = None) -> Quadratic:
    """A quadratic with eigenvalues mu = L/kappa and L (both present) and dim - 2 more, log-uniform between,
    random eigenvectors, minimizer and start; L log-uniform in [1e-2, 1e2] unless given."""
    rng = np.random.default_rng(seed)
    L = 10.0 ** rng.uniform(-2, 2) if L is None else L
    mu = L / kappa
    inner = np.exp(rng.uniform(math.log(mu), math.log(L), max(dim - 2, 0)))
    eigenvalues = np.concatenate([[mu, L][:dim], inner])
    basis, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    hessian = (basis * eigenvalues) @ basis.T
    minimizer = rng.standard_normal(dim)
    start = minimizer + rng.standard_normal(dim) * 10.0 ** rng.uniform(-1, 1)
    return Quadratic((hessian + hessian.T) / 2, np.sort(eigenvalues), minimizer, start)


# --------------------------------------------------------------------------------------------
# budgets (the theory behind each task, with margin)


def gd_budget(kappa: float, tolerance: float = GD_TOLERANCE) -> int:
    """1.5 times the worst-case steps of gradient descent with the best fixed rate: ln(1/tol) / ln((k+1)/(k-1))."""
    contraction = (kappa - 1) / (kappa + 1)
    needed = math.log(1 / tolerance) / math.log(1 / contraction) if contraction > 0 else 1.0
    return math.ceil(MARGIN * needed)


def heavy_ball_worst_case(kappa: float, tolerance: float = HEAVY_BALL_TOLERANCE) -> int:
    """The least t with rho^t (1 + (1 + rho) t) <= tol, rho = (sqrt k - 1)/(sqrt k + 1): Polyak's parameters'
    worst case (the error along the top eigenvector, a double root at -rho, is (-rho)^t (1 + (1 + rho) t))."""
    rho = (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)
    step = 1
    while rho ** step * (1 + (1 + rho) * step) > tolerance:
        step += 1
    return step


def heavy_ball_budget(kappa: float, tolerance: float = HEAVY_BALL_TOLERANCE) -> int:
    return math.ceil(MARGIN * heavy_ball_worst_case(kappa, tolerance))


def nesterov_budget(kappa: float, tolerance: float = NESTEROV_TOLERANCE) -> int:
    """The steps after which Nesterov's guarantee forces ||w_t - w*|| <= tol ||w_0 - w*||.

    From mu/2 ||w_t - w*||^2 <= f(w_t) - f* <= (1 - 1/sqrt k)^t (f(w_0) - f* + mu/2 ||w_0 - w*||^2) and
    f(w_0) - f* <= L/2 ||w_0 - w*||^2: ||w_t - w*||^2 <= (1 - 1/sqrt k)^t (k + 1) ||w_0 - w*||^2.
    """
    return math.ceil(math.log((kappa + 1) / tolerance ** 2) / -math.log(1 - 1 / math.sqrt(kappa)))


def _root_modulus(p: np.ndarray, q: np.ndarray) -> float:
    """The largest |root| of z^2 + p z + q over the rows."""
    disc = np.sqrt(p.astype(complex) ** 2 - 4 * q)
    return float(np.max(np.maximum(np.abs((-p + disc) / 2), np.abs((-p - disc) / 2))))


def heavy_ball_rate(rate: float, momentum: float, eigenvalues: np.ndarray) -> float:
    """Asymptotic contraction per step of the heavy ball: roots of z^2 - (1 + b - rate*l) z + b."""
    return _root_modulus(-(1 + momentum - rate * eigenvalues), np.full_like(eigenvalues, momentum))


def nesterov_rate(rate: float, momentum: float, eigenvalues: np.ndarray) -> float:
    """Asymptotic contraction per step of Nesterov's method: roots of z^2 - a(1 + b) z + a b, a = 1 - rate*l."""
    a = 1 - rate * eigenvalues
    return _root_modulus(-a * (1 + momentum), a * momentum)


# --------------------------------------------------------------------------------------------
# 01_sgd: choose_learning_rate(hessian)

#: (dimension, condition number): four nearly isotropic problems, then ill-conditioned ones.
_GD_SHAPES = ((3, 1.15), (8, 1.25), (2, 1.18), (20, 1.3),
              (2, 12.0), (10, 25.0), (40, 60.0), (5, 150.0), (30, 300.0), (12, 600.0), (25, 1000.0), (2, 900.0),
              (16, 40.0), (6, 80.0), (35, 200.0), (3, 450.0))
_GD_SEEDS = range(1100, 1100 + len(_GD_SHAPES))


def gd_instances() -> list[Instance]:
    instances = []
    for number, (seed, (dim, kappa)) in enumerate(zip(_GD_SEEDS, _GD_SHAPES), start=1):
        quadratic = random_quadratic(seed, dim, kappa)
        label = f"quadratic {number}: dimension {dim}, condition number {kappa:g}, L = {quadratic.L:.4g}"
        instances.append(Instance(label, quadratic))
    return instances


def _attempt_choose_learning_rate(student_fn: Callable, instance: Instance) -> Outcome:
    quadratic: Quadratic = instance.data
    answer = call_student("choose_learning_rate", student_fn, quadratic.hessian.copy())
    rate = _positive_rate(answer)
    budget = gd_budget(quadratic.kappa)
    step_matrix = np.eye(len(quadratic.start)) - rate * quadratic.hessian   # e <- (I - eta H) e
    error, start = quadratic.start - quadratic.minimizer, float(np.linalg.norm(quadratic.start - quadratic.minimizer))
    relative = 1.0
    for step in range(1, budget + 1):
        error = step_matrix @ error
        relative = _relative_error(error, start)
        if not relative <= _DIVERGED:
            return Outcome(False, f"diverged at step {step}: your learning rate {rate:.4g} is above "
                                  f"2/L = {2 / quadratic.L:.4g}, the largest stable one", rate)
        if relative <= GD_TOLERANCE:
            return Outcome(True, f"reached {GD_TOLERANCE:g} at step {step} of {budget}", rate)
    yours = float(np.max(np.abs(1 - rate * quadratic.eigenvalues)))
    best = (quadratic.kappa - 1) / (quadratic.kappa + 1)
    if yours >= 1:
        return Outcome(False, f"does not converge: your learning rate {rate:.4g} is not below 2/L = {2 / quadratic.L:.4g}, "
                              f"so the error along the steepest direction is multiplied by {yours:.4g} at every step", rate)
    return Outcome(False, f"too slow: after {budget} steps the error is still {relative:.2g} of its start "
                          f"(needed {GD_TOLERANCE:g}); your learning rate {rate:.4g} contracts it by {yours:.5f} per "
                          f"step, the best fixed rate by (kappa-1)/(kappa+1) = {best:.5f}", rate)


def _recognise_learning_rate(report: OutcomeReport) -> str | None:
    failed = [(instance.data, outcome.answer) for instance, outcome in zip(report.instances, report.outcomes)
              if not outcome.solved and isinstance(outcome.answer, float)]
    if not failed:
        return None
    if all(_close(rate * q.L, 1.0) for q, rate in failed):
        return ("the learning rate 1/L: safe, but it ignores mu; on an ill-conditioned problem it contracts the "
                "error by 1 - 1/kappa per step instead of (kappa-1)/(kappa+1) and needs about twice the steps")
    if all(_close(rate * q.mu, 1.0) for q, rate in failed):
        return "the learning rate 1/mu: the flattest direction's step, far above 2/L for the steep directions"
    if all(any(_close(rate * float(np.trace(q.hessian)), c) for c in (1.0, 2.0)) for q, rate in failed):
        return ("L estimated by the trace of H (the sum of all the eigenvalues, not the largest): the rate is "
                "too small by the ratio of the trace to L")
    if all(rate * q.L > 2 for q, rate in failed):
        return "a learning rate above 2/L: the steepest direction grows at every step"
    if all(rate * q.L < 0.05 for q, rate in failed):
        return "a learning rate far below 1/L: every direction contracts by almost nothing per step"
    return None


def check_choose_learning_rate(student_fn: Callable, points: float) -> float:
    """Run gradient descent with the student's learning rate on 16 hidden quadratics; points for each solved.

    Solved: ``||w_K - w*|| <= 1e-6 ||w_0 - w*||`` within :func:`gd_budget` steps. Returns the points earned.
    """
    return grade_by_outcome(
        "choose_learning_rate", student_fn, gd_instances(), _attempt_choose_learning_rate, points,
        recognise=_recognise_learning_rate,
        task=(f"Gradient descent with your learning rate must reduce ||w - w*|| by {GD_TOLERANCE:g} within 1.5 times "
              "the steps the best fixed rate needs in the worst case."))


# --------------------------------------------------------------------------------------------
# 02_momentum: heavy_ball_parameters(L, mu)

_HB_SHAPES = ((2, 12.0), (5, 30.0), (10, 60.0), (2, 150.0), (20, 250.0), (8, 400.0), (40, 700.0), (15, 1200.0),
              (30, 2000.0), (2, 3000.0), (6, 20.0), (25, 90.0))
_HB_SEEDS = range(2100, 2100 + len(_HB_SHAPES))


def heavy_ball_instances() -> list[Instance]:
    instances = []
    for number, (seed, (dim, kappa)) in enumerate(zip(_HB_SEEDS, _HB_SHAPES), start=1):
        quadratic = random_quadratic(seed, dim, kappa)
        label = (f"quadratic {number}: dimension {dim}, L = {quadratic.L:.4g}, mu = {quadratic.mu:.4g} "
                 f"(condition number {kappa:g})")
        instances.append(Instance(label, quadratic))
    return instances


def _attempt_heavy_ball(student_fn: Callable, instance: Instance) -> Outcome:
    quadratic: Quadratic = instance.data
    answer = call_student("heavy_ball_parameters", student_fn, quadratic.L, quadratic.mu)
    rate, momentum = _pair(answer, "heavy_ball_parameters")
    budget = heavy_ball_budget(quadratic.kappa)
    w, velocity = quadratic.start.copy(), np.zeros_like(quadratic.start)
    start = float(np.linalg.norm(quadratic.start - quadratic.minimizer))
    relative = 1.0
    for step in range(1, budget + 1):
        velocity = momentum * velocity - rate * quadratic.grad(w)       # sgd_momentum: v = mu v - lr dw
        w = w + velocity                                                  #               w = w + v
        relative = _relative_error(w - quadratic.minimizer, start)
        if not relative <= _DIVERGED:
            return Outcome(False, f"diverged at step {step}: with learning rate {rate:.4g} and momentum {momentum:.4g} "
                                  f"the steepest direction is unstable (the heavy ball needs learning_rate * L < "
                                  f"2 (1 + momentum) = {2 * (1 + momentum):.4g}; yours is {rate * quadratic.L:.4g})",
                           (rate, momentum))
        if relative <= HEAVY_BALL_TOLERANCE:
            return Outcome(True, f"reached {HEAVY_BALL_TOLERANCE:g} at step {step} of {budget}", (rate, momentum))
    yours = heavy_ball_rate(rate, momentum, quadratic.eigenvalues)
    root = math.sqrt(quadratic.kappa)
    return Outcome(False, f"too slow: after {budget} steps the error is still {relative:.2g} of its start "
                          f"(needed {HEAVY_BALL_TOLERANCE:g}); your parameters contract it by {yours:.5f} per step, "
                          f"the best heavy-ball parameters by (sqrt(kappa)-1)/(sqrt(kappa)+1) = "
                          f"{(root - 1) / (root + 1):.5f}", (rate, momentum))


def _answers(report: OutcomeReport, solved: bool | None = False) -> list:
    return [(instance.data, outcome.answer) for instance, outcome in zip(report.instances, report.outcomes)
            if (solved is None or outcome.solved == solved) and isinstance(outcome.answer, tuple)]


def _recognise_heavy_ball(report: OutcomeReport) -> str | None:
    failed = _answers(report)
    if not failed:
        return None

    def polyak(q):
        root_L, root_mu = math.sqrt(q.L), math.sqrt(q.mu)
        return 4 / (root_L + root_mu) ** 2, ((root_L - root_mu) / (root_L + root_mu)) ** 2

    def nesterov_momentum_of(q):
        root = math.sqrt(q.kappa)
        return (root - 1) / (root + 1)

    if all(momentum == 0 for _, (_, momentum) in failed):
        return "momentum 0, plain gradient descent: its best contraction is (kappa-1)/(kappa+1), not (sqrt(kappa)-1)/(sqrt(kappa)+1)"
    if all(_close(momentum, 0.9, 1e-9) for _, (_, momentum) in failed):
        return "a fixed momentum of 0.9: the best momentum depends on the condition number kappa = L/mu"
    if all(_close(momentum, nesterov_momentum_of(q)) and _close(rate * q.L, 1.0) for q, (rate, momentum) in failed):
        return ("Nesterov's parameters, learning rate 1/L and momentum (sqrt(kappa)-1)/(sqrt(kappa)+1): in the heavy ball "
                "they contract by about 1 - 1/sqrt(kappa) per step, half the speed of Polyak's choice")
    if all(_close(momentum, nesterov_momentum_of(q)) for q, (_, momentum) in failed):
        return ("the momentum (sqrt(kappa)-1)/(sqrt(kappa)+1), not squared: that is Nesterov's coefficient; Polyak's "
                "heavy ball takes its square")
    if all(_close(momentum, polyak(q)[1]) and _close(rate * (1 - momentum), polyak(q)[0]) for q, (rate, momentum) in failed):
        return ("the learning rate of the moving-average form (sgd_momentum_ema), lr / (1 - momentum): the course's "
                "sgd_momentum (velocity form) takes the learning rate itself")
    return None


def check_heavy_ball_parameters(student_fn: Callable, points: float) -> float:
    """Run ``sgd_momentum`` with the student's (learning_rate, momentum) on 12 hidden quadratics.

    Solved: ``||w_K - w*|| <= 1e-12 ||w_0 - w*||`` within :func:`heavy_ball_budget` steps. Returns the points earned.
    """
    return grade_by_outcome(
        "heavy_ball_parameters", student_fn, heavy_ball_instances(), _attempt_heavy_ball, points,
        recognise=_recognise_heavy_ball,
        task=(f"sgd_momentum with your (learning_rate, momentum) must reduce ||w - w*|| by {HEAVY_BALL_TOLERANCE:g} "
              "within 1.5 times the steps Polyak's parameters need in the worst case."))


# --------------------------------------------------------------------------------------------
# 03_nesterov: nesterov_parameters(L, mu) on smooth strongly convex functions


@dataclass(frozen=True)
class SmoothProblem:
    """An L-smooth, mu-strongly convex function given by its gradient, its minimizer and a start."""

    kind: str
    L: float
    mu: float
    grad: Callable[[np.ndarray], np.ndarray]
    minimizer: np.ndarray
    start: np.ndarray
    eigenvalues: np.ndarray | None = None   # for quadratics: the Hessian's spectrum

    @property
    def kappa(self) -> float:
        return self.L / self.mu


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.tanh(0.5 * z))


def logistic_problem(seed: int, n_examples: int, dim: int, kappa: float) -> SmoothProblem:
    r"""L2-regularised logistic regression :math:`\frac1N \sum_i \log(1 + e^{-y_i x_i^\top w}) + \frac\lambda2 \lVert w\rVert^2`.

    Bounds given to the student: :math:`L = \lambda_{\max}(X^\top X)/(4N) + \lambda` (the logistic loss's
    curvature is at most 1/4) and :math:`\mu = \lambda`, with :math:`\lambda` set so that :math:`L/\mu = \kappa`.
    The minimizer is found by Newton's method to machine precision.
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_examples, dim)) * np.exp(rng.uniform(-1.5, 1.5, dim))
    truth = rng.standard_normal(dim) * 2
    y = np.where(rng.uniform(size=n_examples) < _sigmoid(X @ truth), 1.0, -1.0)
    data_curvature = float(np.linalg.eigvalsh(X.T @ X / (4 * n_examples))[-1])
    lam = data_curvature / (kappa - 1)
    L, mu = data_curvature + lam, lam

    def grad(w):
        margins = y * (X @ w)
        return -(X.T @ (y * _sigmoid(-margins))) / n_examples + lam * w

    w = np.zeros(dim)
    for _ in range(100):
        p = _sigmoid(X @ w)
        hessian = (X.T * (p * (1 - p))) @ X / n_examples + lam * np.eye(dim)
        step = np.linalg.solve(hessian, grad(w))
        w = w - step
        if np.linalg.norm(step) <= 1e-15 * (1 + np.linalg.norm(w)):
            break
    start = w + rng.standard_normal(dim) * 10.0 ** rng.uniform(-0.5, 0.5)
    return SmoothProblem("logistic", L, mu, grad, w, start)


def lessard_problem(seed: int, dim: int, kappa: float) -> SmoothProblem:
    r"""A sum over random orthonormal directions :math:`q_i` of Lessard, Recht and Packard's 1-D function.

    :math:`g'(x) = Lx` for :math:`x < 1`, :math:`\mu x + (L - \mu)` for :math:`1 \le x < 2`,
    :math:`Lx - (L - \mu)` for :math:`x \ge 2` (continuous, :math:`g'' \in \{\mu, L\}`), scaled by ``scale``:
    :math:`f(w) = \sum_i s^2 g(q_i^\top (w - w^\star)/s)`. It is L-smooth and mu-strongly convex, not a quadratic.
    """
    rng = np.random.default_rng(seed)
    L = 10.0 ** rng.uniform(-1, 1)
    mu = L / kappa
    basis, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    scale = 10.0 ** rng.uniform(-1, 1)
    minimizer = rng.standard_normal(dim)

    def g_prime(x):
        return np.where(x < 1, L * x, np.where(x < 2, mu * x + (L - mu), L * x - (L - mu)))

    def grad(w):
        return scale * basis @ g_prime(basis.T @ (w - minimizer) / scale)

    start = minimizer + scale * basis @ rng.uniform(2.5, 4.0, dim)    # every coordinate beyond the kinks
    return SmoothProblem("piecewise quadratic", L, mu, grad, minimizer, start)


def quadratic_problem(seed: int, dim: int, kappa: float) -> SmoothProblem:
    quadratic = random_quadratic(seed, dim, kappa)
    return SmoothProblem("quadratic", quadratic.L, quadratic.mu, quadratic.grad, quadratic.minimizer,
                         quadratic.start, quadratic.eigenvalues)


def nesterov_instances() -> list[Instance]:
    problems = [
        quadratic_problem(3101, 2, 15.0), quadratic_problem(3102, 12, 80.0), quadratic_problem(3103, 30, 400.0),
        quadratic_problem(3104, 6, 1500.0), quadratic_problem(3105, 40, 3000.0), quadratic_problem(3106, 2, 700.0),
        logistic_problem(3201, 200, 5, 20.0), logistic_problem(3202, 300, 10, 100.0),
        logistic_problem(3203, 150, 20, 500.0), logistic_problem(3204, 250, 8, 2000.0),
        lessard_problem(3301, 1, 25.0), lessard_problem(3302, 4, 100.0),
    ]
    descriptions = {"quadratic": "a quadratic", "logistic": "L2-regularised logistic regression",
                    "piecewise quadratic": "a piecewise quadratic (Lessard-Recht-Packard)"}
    return [Instance(f"problem {number}: {descriptions[p.kind]}, dimension {len(p.start)}, L = {p.L:.4g}, "
                     f"mu = {p.mu:.4g} (condition number {p.kappa:.4g})", p)
            for number, p in enumerate(problems, start=1)]


def _attempt_nesterov(student_fn: Callable, instance: Instance) -> Outcome:
    problem: SmoothProblem = instance.data
    answer = call_student("nesterov_parameters", student_fn, problem.L, problem.mu)
    rate, momentum = _pair(answer, "nesterov_parameters")
    budget = nesterov_budget(problem.kappa)
    w, velocity = problem.start.copy(), np.zeros_like(problem.start)      # w: the look-ahead point
    start = float(np.linalg.norm(problem.start - problem.minimizer))
    relative = 1.0
    for step in range(1, budget + 1):
        previous = velocity                                               # nesterov_momentum, rewritten form:
        velocity = momentum * velocity - rate * problem.grad(w)           #   v = mu v - lr dw
        w = w - momentum * previous + (1 + momentum) * velocity           #   w = w - mu v_prev + (1 + mu) v
        relative = _relative_error(w - problem.minimizer, start)
        if not relative <= _DIVERGED:
            limit = 2 * (1 + momentum) / (1 + 2 * momentum)
            return Outcome(False, f"diverged at step {step}: with learning rate {rate:.4g} and momentum {momentum:.4g}, "
                                  f"learning_rate * L = {rate * problem.L:.4g} is beyond Nesterov's stable range "
                                  f"2 (1 + momentum) / (1 + 2 momentum) = {limit:.4g}", (rate, momentum))
        if relative <= NESTEROV_TOLERANCE:
            return Outcome(True, f"reached {NESTEROV_TOLERANCE:g} at step {step} of {budget}", (rate, momentum))
    detail = (f"too slow: after {budget} steps the error is still {relative:.2g} of its start "
              f"(needed {NESTEROV_TOLERANCE:g})")
    if problem.eigenvalues is not None:
        root = math.sqrt(problem.kappa)
        detail += (f"; your parameters contract it by {nesterov_rate(rate, momentum, problem.eigenvalues):.5f} per step, "
                   f"Nesterov's guarantee is 1 - 1/sqrt(kappa) = {1 - 1 / root:.5f}")
    return Outcome(False, detail, (rate, momentum))


def _recognise_nesterov(report: OutcomeReport) -> str | None:
    failed = _answers(report)
    if not failed:
        return None
    if all(momentum == 0 for _, (_, momentum) in failed):
        return "momentum 0, plain gradient descent: without momentum the rate is 1 - 1/kappa at best, not 1 - 1/sqrt(kappa)"
    if all(_close(momentum, 0.9, 1e-9) for _, (_, momentum) in failed):
        return "a fixed momentum of 0.9: the right momentum depends on the condition number kappa = L/mu"
    polyak = [(4 / (math.sqrt(p.L) + math.sqrt(p.mu)) ** 2,
               ((math.sqrt(p.kappa) - 1) / (math.sqrt(p.kappa) + 1)) ** 2) for p, _ in failed]
    if all(_close(rate, r) and _close(momentum, m) for (_, (rate, momentum)), (r, m) in zip(failed, polyak)):
        return ("Polyak's heavy-ball parameters: the learning rate 4/(sqrt(L)+sqrt(mu))^2, close to 4/L, is beyond the "
                "range where Nesterov's method is stable")
    return None


def check_nesterov_parameters(student_fn: Callable, points: float) -> float:
    """Run ``nesterov_momentum`` with the student's (learning_rate, momentum) on 12 hidden smooth strongly convex
    problems (quadratics, logistic regressions, piecewise quadratics), given only their L and mu.

    Solved: ``||w_K - w*|| <= 1e-6 ||w_0 - w*||`` within :func:`nesterov_budget` steps. Returns the points earned.
    """
    return grade_by_outcome(
        "nesterov_parameters", student_fn, nesterov_instances(), _attempt_nesterov, points,
        recognise=_recognise_nesterov,
        task=(f"nesterov_momentum with your (learning_rate, momentum) must reduce ||w - w*|| by {NESTEROV_TOLERANCE:g} "
              "within the steps after which Nesterov's guarantee ensures it."))
