"""Grader of chapter 7's outcome task: ``tune_hyperparameters(objective, budget, rng)``.

The student's search is *used* on hidden tuning problems: each is a validation loss of the exponents
:math:`u = \\log_{10} \\eta` (learning rate) and :math:`v = \\log_{10} \\lambda` (weight decay),

.. math::

    L(u, v) = L^\\star + (L_0 - L^\\star)\\,\\bigl(1 - e^{-q(u, v)}\\bigr), \\qquad
    q = a\\, h(u - u^\\star) + b\\,\\bigl(v - v^\\star + \\rho\\,(u - u^\\star)\\bigr)^2,

with :math:`h(d) = d^2` below the best learning rate and :math:`k d^2` (:math:`k \\ge 1`, steeper) above it,
:math:`L_0 = \\ln 10` the loss of a 10-class classifier that learned nothing, and, on most problems, a
divergence region: above :math:`u^\\star + \\delta` training diverges and the loss is ``inf`` (or stays at
:math:`L_0`). Observed losses may carry a little Gaussian noise (retraining with another seed); the
criterion uses the noise-free :math:`L`. The best achievable loss in the search space is :math:`L^\\star`
at :math:`(u^\\star, v^\\star)`, which lies inside the space (sometimes near an edge).

An instance is solved when the returned configuration lies in the search space and its true loss is
within :data:`TOLERANCE` of :math:`L^\\star`, and the objective was called at most ``budget`` times.
The configuration need not have been evaluated. A problem's budget is the smallest multiple of 10 (from
40 to :data:`MAX_BUDGET`) with :math:`(1 - p)^{\\text{budget}} \\le 10^{-6}`, where :math:`p` is the share of
the search space, *measured on the log scale*, whose true loss is within the tolerance (problems that
would need more are widened): a log-uniform random search of the whole budget fails a problem with
probability below :math:`10^{-6}`. Uniform draws on a linear scale crowd the top decade (90 % of
:math:`\\mathcal U[10^{-5}, 1]` lies above 0.1), where these optima are not.
"""

from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass, replace

import numpy as np

from .. import search as _reference
from ._outcome import Instance, Outcome, OutcomeReport, grade_by_outcome
from ._report import GradingFailure, call_student, show

__all__ = ["check_tune_hyperparameters", "TuningProblem", "Objective", "hidden_problems", "judge", "TOLERANCE",
           "N_INSTANCES"]

#: The search space: name -> (low, high) exponents of 10 (the reference's ``TUNING_SPACE``).
SPACE = dict(_reference.TUNING_SPACE)
NAMES = tuple(SPACE)
#: A configuration solves a problem when its true loss is at most the best achievable plus this.
TOLERANCE = 0.05
#: The loss of a 10-class classifier that predicts uniformly: where a run that learned nothing stays.
CHANCE_LOSS = math.log(10.0)
#: Probability that a log-uniform random search of the whole budget misses the tolerance region.
RANDOM_SEARCH_MISS = 1e-6
#: The largest budget of a problem.
MAX_BUDGET = 200
#: Hidden problems, and the seed of the first (problem i uses the seed BASE_SEED + i).
N_INSTANCES = 24
BASE_SEED = 7_240_000
#: Cells per decade of the grid on which the tolerance region's share of the space is measured.
_GRID_PER_DECADE = 20


@dataclass(frozen=True)
class TuningProblem:
    """One tuning problem: the validation loss as a function of the exponents (see the module docstring)."""

    u_star: float          # log10 of the best learning rate
    v_star: float          # log10 of the best weight decay
    loss_star: float       # the best achievable validation loss L*
    a: float               # curvature along the learning rate (per decade squared), below u*
    b: float               # curvature along the weight decay
    steep: float           # k >= 1: how much steeper the loss rises above the best learning rate
    tilt: float            # rho: the best weight decay moves with the learning rate
    diverge_above: float   # learning-rate exponent above which training diverges (inf: never)
    diverged_loss: float   # inf, or the chance-level loss, for a diverged run
    noise: float           # standard deviation of the observation noise
    budget: int

    def true_loss(self, u, v):
        """The noise-free validation loss at exponents ``u``, ``v`` (numbers or arrays)."""
        u, v = np.asarray(u, dtype=float), np.asarray(v, dtype=float)
        du, dv = u - self.u_star, v - self.v_star
        q = self.a * np.where(du > 0, self.steep, 1.0) * du ** 2 + self.b * (dv + self.tilt * du) ** 2
        loss = self.loss_star + (CHANCE_LOSS - self.loss_star) * -np.expm1(-q)
        loss = np.where(u > self.diverge_above, self.diverged_loss, loss)
        return float(loss) if loss.ndim == 0 else loss

    def loss_of(self, config) -> float:
        """The noise-free loss of a checked configuration dict (:meth:`true_loss` for one point, in plain floats)."""
        u, v = math.log10(config["learning_rate"]), math.log10(config["weight_decay"])
        if u > self.diverge_above:
            return self.diverged_loss
        du, dv = u - self.u_star, v - self.v_star
        q = self.a * (self.steep if du > 0 else 1.0) * du ** 2 + self.b * (dv + self.tilt * du) ** 2
        return self.loss_star + (CHANCE_LOSS - self.loss_star) * -math.expm1(-q)

    @property
    def best_config(self) -> dict:
        return {"learning_rate": 10.0 ** self.u_star, "weight_decay": 10.0 ** self.v_star}

    def solved_share(self) -> float:
        """The share of the search space (log scale) whose true loss is within the tolerance."""
        (u_low, u_high), (v_low, v_high) = SPACE.values()
        u = np.linspace(u_low, u_high, int(_GRID_PER_DECADE * (u_high - u_low)) + 1)
        v = np.linspace(v_low, v_high, int(_GRID_PER_DECADE * (v_high - v_low)) + 1)
        uu, vv = np.meshgrid(u, v)
        return float(np.mean(self.true_loss(uu, vv) <= self.loss_star + TOLERANCE))

    def describe(self) -> str:
        parts = [f"budget {self.budget} calls"]
        if math.isfinite(self.diverge_above):
            parts.append(f"diverges above learning_rate {10 ** self.diverge_above:.2g}")
        if self.noise:
            parts.append(f"noisy losses (standard deviation {self.noise:.3f})")
        return ", ".join(parts)


def _scaled(problem: TuningProblem, scale: float) -> TuningProblem:
    """The problem with both curvatures divided by ``scale ** 2`` (wider by ``scale``)."""
    return replace(problem, a=problem.a / scale ** 2, b=problem.b / scale ** 2)


def make_problem(seed: int) -> TuningProblem:
    """Hidden problem ``seed``: optimum, widths, shape, divergence and noise drawn from ``default_rng(seed)``.

    The budget is the smallest multiple of 10 (at least 40) with :math:`(1 - p)^{\\text{budget}} \\le`
    :data:`RANDOM_SEARCH_MISS`, :math:`p` the tolerance region's share of the log-scaled space; where that
    would exceed :data:`MAX_BUDGET`, the problem is widened until :data:`MAX_BUDGET` calls are enough.
    """
    rng = np.random.default_rng(seed)
    kind = seed % 4
    if kind == 0:    # inside the space
        u_star, v_star = rng.uniform(-4.3, -2.6), rng.uniform(-5.5, -1.5)
    elif kind == 1:  # the best learning rate near the lower edge of the space
        u_star, v_star = rng.uniform(-5.0, -4.7), rng.uniform(-5.5, -1.5)
    elif kind == 2:  # the best weight decay near an edge
        u_star = rng.uniform(-4.5, -2.5)
        v_star = rng.uniform(-6.0, -5.7) if rng.uniform() < 0.5 else rng.uniform(-1.3, -1.0)
    else:            # a larger learning rate, and a small weight decay
        u_star, v_star = rng.uniform(-2.4, -1.5), rng.uniform(-6.0, -4.5)
    loss_star = rng.uniform(0.25, 0.8)
    q_tolerance = -math.log1p(-TOLERANCE / (CHANCE_LOSS - loss_star))  # q at which the loss is L* + TOLERANCE
    lr_width = rng.uniform(0.5, 0.9)                     # decades below u* within the tolerance
    wd_width = lr_width * rng.uniform(1.2, 2.2)          # the weight decay matters less
    diverges = rng.uniform() < 0.75
    margin = rng.uniform(1.5, 3.0) if kind == 1 else rng.uniform(0.4, 1.2)
    problem = TuningProblem(
        u_star=float(u_star), v_star=float(v_star), loss_star=float(loss_star),
        a=q_tolerance / lr_width ** 2, b=q_tolerance / wd_width ** 2, steep=float(rng.uniform(1.0, 3.0)),
        tilt=float(rng.uniform(-0.3, 0.3)), diverge_above=float(u_star + margin) if diverges else math.inf,
        diverged_loss=math.inf if rng.uniform() < 0.5 else CHANCE_LOSS,
        noise=float(rng.choice([0.0, 0.003, 0.01])), budget=MAX_BUDGET)
    share = problem.solved_share()
    budget = 10 * math.ceil(math.log(RANDOM_SEARCH_MISS) / math.log1p(-share) / 10)
    if budget <= MAX_BUDGET:
        return replace(problem, budget=max(40, budget))
    target = -math.expm1(math.log(RANDOM_SEARCH_MISS) / MAX_BUDGET)
    low, high = 1.0, 10.0  # bisection on the width scale (the share grows with it)
    for _ in range(20):
        middle = math.sqrt(low * high)
        if _scaled(problem, middle).solved_share() < target:
            low = middle
        else:
            high = middle
    return _scaled(problem, high)


@functools.lru_cache(maxsize=1)
def hidden_problems() -> tuple[TuningProblem, ...]:
    """The hidden problems, the same on every run."""
    return tuple(make_problem(BASE_SEED + i) for i in range(N_INSTANCES))


class BudgetExceeded(RuntimeError):
    """The objective was called more often than the budget allows."""


class Objective:
    """The validation loss of one problem as the student's search sees it: counted, checked, maybe noisy.

    Calling it with a configuration outside the search space, or with other keys, raises ``ValueError``;
    the call after the last one the budget allows raises :class:`BudgetExceeded`. Every call is recorded
    in ``history`` as ``(config, observed loss)``.
    """

    def __init__(self, problem: TuningProblem, seed: int):
        self.problem = problem
        self.noise = np.random.default_rng(seed)
        self.calls = 0
        self.history: list[tuple[dict, float]] = []
        self.returned = None  # what the student's function returned, for the diagnosis

    def __call__(self, config):
        self.calls += 1
        if self.calls > self.problem.budget:
            raise BudgetExceeded(f"the objective was called {self.calls} times; the budget is "
                                 f"{self.problem.budget} calls")
        config = checked_config(config, "the objective's argument")
        loss = self.problem.loss_of(config)
        if self.problem.noise and math.isfinite(loss):
            loss += self.problem.noise * float(self.noise.standard_normal())
        self.history.append((config, float(loss)))
        return float(loss)


def _as_number(value):
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        return None
    return float(value)


def checked_config(config, what: str) -> dict:
    """``config`` as ``{"learning_rate": float, "weight_decay": float}`` inside the search space, or ``ValueError``
    (``TypeError`` for something that is not a dict) saying what is wrong."""
    if not isinstance(config, dict):
        raise TypeError(f"{what} must be a dict {{'learning_rate': ..., 'weight_decay': ...}}, got {show(config)}")
    if set(config) != set(NAMES):
        raise ValueError(f"{what} must have exactly the keys 'learning_rate' and 'weight_decay', got keys "
                         f"{sorted(map(str, config))}")
    clean = {}
    for name in NAMES:
        value = _as_number(config[name])
        if value is None:
            raise TypeError(f"{what}: {name} must be a number, got {show(config[name])}")
        low, high = SPACE[name]
        if not math.isfinite(value):
            raise ValueError(f"{what}: {name} = {value!r} is not a finite number")
        if not 10.0 ** low * (1 - 1e-9) <= value <= 10.0 ** high * (1 + 1e-9):
            raise ValueError(f"{what}: {name} = {value!r} is outside the search space "
                             f"[{10.0 ** low:g}, {10.0 ** high:g}]")
        clean[name] = min(max(value, 10.0 ** low), 10.0 ** high)
    return clean


def _rate(value: float) -> str:
    return f"{value:.2g}"


def _config(config: dict) -> str:
    return f"learning_rate {_rate(config['learning_rate'])}, weight_decay {_rate(config['weight_decay'])}"


def judge(problem: TuningProblem, objective: Objective, answer) -> Outcome:
    """Whether ``answer`` (what the student's function returned) solves ``problem``, and what happened."""
    if objective.calls > problem.budget:
        return Outcome(False, f"over the budget: the objective was called {objective.calls} times, the budget is "
                              f"{problem.budget} calls", objective)
    try:
        config = checked_config(answer, "the returned configuration")
    except (TypeError, ValueError) as error:
        return Outcome(False, str(error), objective)
    loss = problem.loss_of(config)
    best = problem.loss_star
    if loss <= best + TOLERANCE:
        return Outcome(True, f"{_config(config)}: true loss {loss:.3f}", objective)
    if math.isinf(loss) or (loss >= CHANCE_LOSS and config["learning_rate"] > 10.0 ** problem.diverge_above):
        what = f"training diverges there (learning rates above {_rate(10.0 ** problem.diverge_above)} diverge)"
    else:
        what = f"true validation loss {loss:.3f}"
    return Outcome(False, f"returned {_config(config)}: {what}; the best achievable is {best:.3f} (near "
                          f"{_config(problem.best_config)}), and a loss within {TOLERANCE} of it was required"
                          f"{_evaluations(objective)}", objective)


def _evaluations(objective: Objective) -> str:
    """What the search evaluated, in a few words."""
    if not objective.history:
        return "; the objective was never called"
    rates = np.array([config["learning_rate"] for config, _ in objective.history])
    decays = np.array([config["weight_decay"] for config, _ in objective.history])
    return (f"; of your {len(rates)} evaluations, {int(np.sum(rates > 0.1))} had learning_rate above 0.1 and "
            f"{int(np.sum(decays > 0.01))} weight_decay above 0.01")


def _recognise(report: OutcomeReport) -> str | None:
    """Name a known mistake when the unsolved instances show it."""
    failed = [outcome for outcome in report.outcomes if not outcome.solved and isinstance(outcome.answer, Objective)]
    if not failed:
        return None
    objectives = [outcome.answer for outcome in failed]
    if sum(o.calls > o.problem.budget for o in objectives) > len(objectives) / 2:
        return "a search that does not count its calls: the objective may be called at most budget times in all"
    histories = [o.history for o in objectives if len(o.history) >= 5]
    if histories and len(histories) >= len(objectives) / 2:
        top_decade = np.mean([np.mean([c["learning_rate"] > 0.1 for c, _ in h]) for h in histories])
        if top_decade > 0.6:
            return ("a search on a linear scale: uniform draws of the learning rate between 1e-05 and 1 land above "
                    "0.1 nine times in ten, so small learning rates are never tried; draw the exponent uniformly")
        if sum(len({c["weight_decay"] for c, _ in h}) == 1 for h in histories) > len(histories) / 2:
            return "weight_decay was never varied: search both hyperparameters"
        worst = first = 0
        for outcome in failed:
            history = outcome.answer.history
            returned = outcome.answer.returned
            if len(history) < 5 or not isinstance(returned, dict):
                continue
            try:
                config = checked_config(returned, "the returned configuration")
            except (TypeError, ValueError):
                continue
            losses = [loss for _, loss in history]
            finite = [loss for loss in losses if math.isfinite(loss)] or losses
            own = [loss for evaluated, loss in history if evaluated == config]
            worst += bool(own) and max(own) >= max(finite)
            first += config == history[0][0]
        if worst > len(histories) / 2:
            return "the configuration with the highest loss was returned; lower is better: return the lowest"
        if first > len(histories) / 2:
            return "the first configuration evaluated was returned, not the one with the lowest loss"
    return None


def _attempt(function):
    def attempt(student_fn, instance: Instance) -> Outcome:
        problem, seed = instance.data
        objective = Objective(problem, seed + 1)
        rng = np.random.default_rng(seed + 2)
        try:
            answer = call_student("tune_hyperparameters", student_fn, objective, problem.budget, rng)
        except GradingFailure as failure:
            if "not implemented yet" in str(failure) or objective.calls <= problem.budget:
                raise
            answer = None
        objective.returned = answer
        return judge(problem, objective, answer)
    return attempt


def check_tune_hyperparameters(tune_hyperparameters, points=8) -> float:
    """Grade ``tune_hyperparameters(objective, budget, rng)`` on the hidden problems; return the points earned."""
    instances = [Instance(f"problem {i + 1} ({problem.describe()})", (problem, BASE_SEED + 1000 * (i + 1)))
                 for i, problem in enumerate(hidden_problems())]
    return grade_by_outcome(
        "tune_hyperparameters", tune_hyperparameters, instances, _attempt(tune_hyperparameters), points,
        recognise=_recognise,
        task=(f"Each hidden problem: return a configuration whose true validation loss is within {TOLERANCE} of the "
              f"best achievable, calling the objective at most budget times."))
