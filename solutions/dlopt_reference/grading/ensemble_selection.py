"""Outcome grader of chapter 8: choosing an ensemble from a pool of models on validation data.

``check_select_ensemble(select_ensemble, points)`` draws hidden pools of models: seeded synthetic
class probabilities of one classification problem, from models of three kinds,

- a cluster of good models that make nearly the same errors (their noise is 90% shared),
- good models a little weaker alone, whose errors are independent of everyone's,
- bad, overconfident models (little signal, logits multiplied by 3-6): rarely right, sure of themselves,

each evaluated on a validation set (given to the student's function) and on a held-out test set of
the same distribution (never given). A pool is solved when the ensemble of the chosen indices
(probabilities averaged, a model picked twice counted twice) *beats* both baselines on the held-out
test set, its log loss lower by at least ``MIN_GAIN`` nats than that of

- the single model that is best on the validation set (what one would deploy without an ensemble);
- the uniform average of every model in the pool.

Why a required gain rather than a tolerance: each baseline is itself an answer (``[best]``,
``list(range(M))``), and a tolerance would pass it, on most pools, without any selection. Why
``MIN_GAIN = 0.005`` nats: sound selections gain far more. On 80 pools drawn like the hidden
ones, greedy forward selection with replacement (the reference), the same with the best prefix
kept, without replacement stopping when the validation loss stops improving, and on the Brier
score instead of the log loss all beat the better baseline by at least 0.018 nats (3.6 times
``MIN_GAIN``; tests/grading/test_outcome_08_ensembles.py checks the hidden pools), while an
answer that adds nothing to the best model (a near-copy of it) gains less than the margin. The
held-out set is large (``N_TEST = 3000``) so that the pass or fail of a pool reflects the choice,
not the sampling of the test examples.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ._outcome import Instance, Outcome, OutcomeReport, grade_by_outcome
from ._report import GradingFailure, call_student, quiet

__all__ = ["check_select_ensemble", "selection_instances", "Pool", "MIN_GAIN", "SELECTION_MISTAKES"]

MIN_GAIN = 0.005
N_TEST = 3000
N_POOLS = 12
_SEED = 8_2026

TASK = ("select_ensemble: on each hidden pool the ensemble of your chosen models must beat, on held-out data, both the "
        f"best single model on validation and the average of all models: a log loss lower by at least {MIN_GAIN} nats.")


def log_loss(probs: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log-probability of the true labels (probabilities floored at 1e-15)."""
    return float(-np.mean(np.log(np.maximum(probs[np.arange(len(labels)), labels], 1e-15))))


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


@dataclass(frozen=True)
class Pool:
    """A pool of models: their probabilities on validation and held-out test data, and the ensemble size."""

    val_probs: np.ndarray      # (M, N_val, C)
    val_labels: np.ndarray     # (N_val,)
    test_probs: np.ndarray     # (M, N_test, C)
    test_labels: np.ndarray    # (N_test,)
    size: int
    kinds: tuple[str, ...]     # 'clustered', 'independent' or 'overconfident', per model

    @property
    def M(self) -> int:
        return self.val_probs.shape[0]

    def val_losses(self) -> np.ndarray:
        return np.array([log_loss(p, self.val_labels) for p in self.val_probs])

    def best_on_validation(self) -> int:
        return int(np.argmin(self.val_losses()))

    def test_loss(self, picks) -> float:
        return log_loss(self.test_probs[list(picks)].mean(axis=0), self.test_labels)

    def val_loss(self, picks) -> float:
        return log_loss(self.val_probs[list(picks)].mean(axis=0), self.val_labels)


def make_pool(seed: int, *, n_test: int = N_TEST) -> Pool:
    """One pool: 3-4 clustered good models, 2-4 independent good ones, 3-6 overconfident bad ones, shuffled.

    Model ``m`` of signal :math:`a_m` and temperature :math:`t_m` predicts
    :math:`\\mathrm{softmax}(t_m (a_m e_y + 1.5\\,\\xi))` for an example of class :math:`y`, with
    standard normal noise :math:`\\xi` shared at 90% within the cluster and independent otherwise.
    Validation and test data come from the same process (fresh examples and noise).
    """
    rng = np.random.default_rng(seed)
    C = int(rng.integers(3, 7))
    n_val = int(rng.integers(300, 600))
    n_clustered, n_independent, n_bad = int(rng.integers(3, 5)), int(rng.integers(2, 5)), int(rng.integers(3, 7))
    base = rng.uniform(2.0, 3.0)
    specs = []   # (signal, noise group, shared fraction, temperature, kind)
    specs += [(base * rng.uniform(1.0, 1.1), 0, 0.9, rng.uniform(0.9, 1.2), "clustered") for _ in range(n_clustered)]
    specs += [(base * rng.uniform(0.9, 1.05), 1 + i, 0.0, rng.uniform(0.8, 1.1), "independent")
              for i in range(n_independent)]
    specs += [(base * rng.uniform(0.0, 0.4), 100 + i, 0.0, rng.uniform(3.0, 6.0), "overconfident") for i in range(n_bad)]
    specs = [specs[i] for i in rng.permutation(len(specs))]

    def draw(n):
        labels = rng.integers(0, C, size=n)
        shared, probs = {}, []
        for signal, group, rho, temperature, _ in specs:
            if group not in shared:
                shared[group] = rng.normal(size=(n, C))
            noise = np.sqrt(rho) * shared[group] + np.sqrt(1 - rho) * rng.normal(size=(n, C))
            probs.append(_softmax(temperature * (signal * np.eye(C)[labels] + 1.5 * noise)))
        return np.stack(probs), labels

    val_probs, val_labels = draw(n_val)
    test_probs, test_labels = draw(n_test)
    size = int(rng.integers(max(2, len(specs) // 2), 2 * len(specs)))
    return Pool(val_probs, val_labels, test_probs, test_labels, size, tuple(s[-1] for s in specs))


def selection_instances(seed0: int = _SEED, count: int = N_POOLS) -> list[Instance]:
    instances = []
    for k in range(count):
        pool = make_pool(seed0 + k)
        C, n_val = pool.val_probs.shape[2], pool.val_probs.shape[1]
        bad = pool.kinds.count("overconfident")
        label = (f"pool {k + 1}: {pool.M} models ({bad} of them overconfident), {C} classes, {n_val} validation "
                 f"examples, size={pool.size}")
        instances.append(Instance(label, pool))
    return instances


# --------------------------------------------------------------------------------------------
# Reading and judging an answer
# --------------------------------------------------------------------------------------------

def read_picks(result, pool: Pool) -> list[int]:
    """The student's picks as a list of ints, or a GradingFailure saying what is wrong with them."""
    if isinstance(result, (str, bytes, dict)) or result is None:
        raise GradingFailure(f"select_ensemble must return a list of model indices, got {type(result).__name__}")
    if isinstance(result, np.ndarray):
        if result.ndim != 1:
            raise GradingFailure(f"select_ensemble returned an array of shape {result.shape}: return a flat list of "
                                 f"model indices")
        items = list(result)
    else:
        try:
            with quiet():
                items = list(result)
        except Exception:
            raise GradingFailure(f"select_ensemble must return a list of model indices, got {type(result).__name__}") \
                from None
    if not items:
        raise GradingFailure("select_ensemble returned no model: choose at least one")
    if len(items) > pool.size:
        raise GradingFailure(f"select_ensemble returned {len(items)} picks, more than size={pool.size}")
    picks = []
    for item in items:
        if isinstance(item, (bool, np.bool_)) or not isinstance(item, (numbers.Real, np.integer, np.floating)):
            raise GradingFailure(f"the picks must be integer model indices, got {type(item).__name__} ({item!r:.40})")
        value = float(item)
        if not np.isfinite(value) or value != int(value):
            raise GradingFailure(f"the picks must be integer model indices, got {item!r:.40}")
        if not 0 <= value < pool.M:
            raise GradingFailure(f"model index {int(value)} is out of range: the pool has models 0 to {pool.M - 1}")
        picks.append(int(value))
    return picks


def _names(picks: list[int]) -> str:
    counts = {m: picks.count(m) for m in sorted(set(picks))}
    return ", ".join(f"{m}" + (f" (x{n})" if n > 1 else "") for m, n in counts.items())


def judge(pool: Pool, picks: list[int]) -> tuple[bool, str]:
    """Whether the ensemble of ``picks`` passes both baselines on the held-out data, and what happened."""
    best = pool.best_on_validation()
    ours = pool.test_loss(picks)
    baselines = {f"the best single model on validation (model {best})": pool.test_loss([best]),
                 f"the average of all {pool.M} models": pool.test_loss(range(pool.M))}
    not_beaten = [(name, loss) for name, loss in baselines.items() if ours > loss - MIN_GAIN]
    if not not_beaten:
        return True, ""
    val_losses = pool.val_losses()
    weight_bad = sum(val_losses[m] > 2 * val_losses[best] for m in picks) / len(picks)
    lines = [f"your ensemble (models {_names(picks)}) has held-out log loss {ours:.3f}: it does not beat "
             + " nor ".join(f"{name} ({loss:.3f})" for name, loss in not_beaten) + f" by {MIN_GAIN} nats",
             f"on the validation data your function was given its log loss is {pool.val_loss(picks):.3f}, "
             f"model {best}'s alone {val_losses[best]:.3f}"]
    if weight_bad > 0:
        lines.append(f"{weight_bad:.0%} of its weight is on models whose own validation log loss is more than "
                     f"twice model {best}'s")
    return False, "; ".join(lines)


def _attempt(student_fn: Callable, instance: Instance) -> Outcome:
    pool: Pool = instance.data
    val_probs, val_labels = pool.val_probs.copy(), pool.val_labels.copy()
    result = call_student("select_ensemble", student_fn, val_probs, val_labels, pool.size)
    picks = read_picks(result, pool)
    solved, detail = judge(pool, picks)
    return Outcome(solved, detail, picks)


# --------------------------------------------------------------------------------------------
# Known mistakes: each maps a pool to the picks it would return
# --------------------------------------------------------------------------------------------

def _all_models(pool: Pool) -> list[int]:
    return list(range(pool.M))


def _top_k(pool: Pool) -> list[int]:
    return [int(m) for m in np.argsort(pool.val_losses(), kind="stable")[:min(pool.size, pool.M)]]


def _greedy_without_replacement(pool: Pool) -> list[int]:
    chosen: list[int] = []
    while len(chosen) < min(pool.size, pool.M):
        rest = [m for m in range(pool.M) if m not in chosen]
        chosen.append(min(rest, key=lambda m: pool.val_loss(chosen + [m])))
    return chosen


def _is_all(pool: Pool, picks: list[int]) -> bool:
    return len(set(picks)) == pool.M and len(picks) % pool.M == 0 and all(
        picks.count(m) == len(picks) // pool.M for m in range(pool.M))


def _is_worst(pool: Pool, picks: list[int]) -> bool:
    losses = pool.val_losses()
    return all(losses[m] >= np.median(losses) for m in picks)


#: (description, test(pool, picks) -> bool) in order of precedence
SELECTION_MISTAKES: list[tuple[str, Callable[[Pool, list[int]], bool]]] = [
    ("every model averaged: the overconfident models' confident mistakes cost more log loss than the good models "
     "gain from averaging; choose the models on the validation data", _is_all),
    ("the best single model alone: that is one of the baselines, not an ensemble; add the models that correct "
     "its errors", lambda pool, picks: set(picks) == {pool.best_on_validation()}),
    ("forward selection without replacement forced to size distinct models: once the useful models are in, "
     "every further pick adds a bad one; allow a model to be picked again, or stop when the validation loss "
     "stops improving", lambda pool, picks: picks == _greedy_without_replacement(pool)),
    ("the top-k models by their own validation loss: good models that make the same errors add little to each "
     "other, and once the good models are used up the bad ones come next; judge each model by what it adds to "
     "the ensemble", lambda pool, picks: sorted(picks) == sorted(_top_k(pool))),
    ("the worst models: the picks are models with the highest validation loss (argmax instead of argmin?)", _is_worst),
]


def recognise(report: OutcomeReport) -> str | None:
    """The known mistake that reproduces the student's picks on most failed pools (at least half)."""
    failed = [(instance.data, outcome.answer) for instance, outcome in zip(report.instances, report.outcomes)
              if not outcome.solved and isinstance(outcome.answer, list)]
    if not failed:
        return None
    best, best_count = None, 0
    for description, matches in SELECTION_MISTAKES:
        with quiet():
            count = sum(bool(matches(pool, picks)) for pool, picks in failed)
        if count > best_count:
            best, best_count = description, count
    if best is None or best_count * 2 < len(failed):
        return None
    return best


def check_select_ensemble(select_ensemble, points: float = 11) -> float:
    """Grade ``select_ensemble(val_probs, val_labels, size) -> list of model indices`` on hidden pools.

    A pool is solved when the averaged ensemble of the chosen indices has a held-out log loss lower,
    by at least :data:`MIN_GAIN` nats, than that of the best single model on validation and that of
    the uniform average of all models. Returns the points earned (see :func:`._outcome.grade_by_outcome`).
    """
    if not callable(select_ensemble):
        raise GradingFailure("select_ensemble should be a function")
    return grade_by_outcome("select_ensemble", select_ensemble, selection_instances(), _attempt, points,
                            recognise=recognise, task=TASK)
