"""Graders of chapter 1 beyond the update rule: ``minibatches`` and ``lr_range_test``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ._mistakes import LR_RANGE_MISTAKES, MINIBATCH_MISTAKES, Mistake
from ._report import GradingFailure, arrays_differ, call_student, quiet, show


def _first_match(mistakes: Sequence[Mistake], run: Callable, matches: Callable) -> str | None:
    """The first mistake whose output (``run(mistake.function)``) ``matches`` the student's."""
    for mistake in mistakes:
        try:
            with quiet():
                if matches(run(mistake.function)):
                    return mistake.description
        except Exception:
            continue
    return None


def _call_with_context(name: str, function: Callable, where: str, *args):
    """:func:`call_student`, with the call added to the message of a crash (not to "not implemented")."""
    try:
        return call_student(name, function, *args)
    except GradingFailure as failure:
        if "NotImplementedError" in str(failure):
            raise
        raise GradingFailure(f"{failure}\n  The call: {where}.") from None


def _with_diagnosis(message: str, diagnosis: str | None) -> str:
    return message + (f"\nThis looks like: {diagnosis}." if diagnosis else "")


# --------------------------------------------------------------------------------------------
# minibatches


@dataclass(frozen=True)
class _BatchCase:
    n: int
    batch_size: int
    seed: int | None
    x_tail: tuple = ()
    y_two_columns: bool = False

    def data(self):
        """X and y whose rows name their example: y[i] = i (or [i, -i]), X[i] = 100*i + 0, 1, 2, ..."""
        index = np.arange(self.n)
        tail = int(np.prod(self.x_tail)) if self.x_tail else 1
        X = (100.0 * index[:, None] + np.arange(tail)[None, :]).reshape((self.n,) + (self.x_tail or ()))
        if not self.x_tail:
            X = X.reshape(self.n)
        y = np.stack([index, -index], axis=1) if self.y_two_columns else index.copy()
        return X, y

    def rng(self):
        return None if self.seed is None else np.random.default_rng(self.seed)

    def describe(self) -> str:
        X, y = self.data()
        rng = "rng=None" if self.seed is None else f"rng=np.random.default_rng({self.seed})"
        return f"minibatches(X of shape {X.shape}, y of shape {y.shape}, batch_size={self.batch_size}, {rng})"


_BATCH_CASES: tuple[_BatchCase, ...] = (
    _BatchCase(10, 4, None),
    _BatchCase(10, 3, 0),
    _BatchCase(12, 4, 1),
    _BatchCase(7, 10, 2),
    _BatchCase(5, 1, 3),
    _BatchCase(20, 6, 4, x_tail=(3, 2), y_two_columns=True),
    _BatchCase(13, 5, None, x_tail=(2,)),
    _BatchCase(8, 8, 5, x_tail=(1,)),
    _BatchCase(31, 7, 6, x_tail=(2,)),
)


def _materialise(result, where: str) -> list:
    """The student's batches as a list (a list, tuple, generator or any iterable is accepted)."""
    if result is None:
        raise GradingFailure(f"{where} returned None: return the list of (X_batch, y_batch) pairs.")
    if isinstance(result, np.ndarray) or isinstance(result, (str, bytes)):
        raise GradingFailure(
            f"{where} returned {show(result)}: return a list (or generator) of (X_batch, y_batch) pairs."
        )
    try:
        with quiet():
            return list(result)
    except NotImplementedError:
        raise GradingFailure("minibatches is not implemented yet (it raised NotImplementedError).") from None
    except Exception as error:
        raise GradingFailure(
            f"{where} returned something that is not iterable or failed while iterating "
            f"({type(error).__name__}: {error}): return a list of (X_batch, y_batch) pairs."
        ) from None


def _batch_indices(batches: list, case: _BatchCase, where: str, *, strict: bool = True) -> list[list[int]]:
    """The example indices of each batch (read from y), checking that X_batch holds the same examples."""
    X, y = case.data()
    indices = []
    for number, batch in enumerate(batches, start=1):
        if isinstance(batch, (str, bytes)) or not isinstance(batch, Sequence) or len(batch) != 2:
            raise GradingFailure(f"{where}: batch {number} is {show(batch)}, expected a pair (X_batch, y_batch).")
        X_batch, y_batch = np.asarray(batch[0]), np.asarray(batch[1])
        if X_batch.shape[1:] != X.shape[1:] or y_batch.shape[1:] != y.shape[1:] or len(X_batch) != len(y_batch):
            raise GradingFailure(
                f"{where}: batch {number} has X_batch of shape {X_batch.shape} and y_batch of shape {y_batch.shape}; "
                f"expected shapes (b,) + {X.shape[1:]} and (b,) + {y.shape[1:]} with the same number b of examples."
            )
        ids = (y_batch[:, 0] if case.y_two_columns else y_batch).astype(np.int64).tolist()
        valid = all(0 <= i < case.n for i in ids)
        if strict and (not valid or not np.array_equal(X_batch, X[ids] if valid else X_batch[:0])):
            raise GradingFailure(
                f"{where}: in batch {number}, X_batch and y_batch do not hold the same examples "
                f"(y_batch = {show(y_batch)}). Index X and y with the same indices so that the pairs (X[i], y[i]) "
                f"stay together."
            )
        indices.append(ids)
    return indices


def _mutant_indices(function: Callable, case: _BatchCase) -> list[list[int]]:
    X, y = case.data()
    batches = list(function(X, y, case.batch_size, case.rng()))
    return _batch_indices(batches, case, "", strict=True)


def _diagnose_batches(case: _BatchCase, student: list[list[int]]) -> str | None:
    return _first_match(MINIBATCH_MISTAKES, lambda f: _mutant_indices(f, case), lambda got: got == student)


def check_minibatches(student_fn: Callable) -> None:
    """Compare the student's ``minibatches`` with the reference, batch by batch.

    The same seeded ``np.random.Generator`` is given to both (``rng=None`` keeps the order). Checks,
    in order: the result is an iterable of ``(X_batch, y_batch)`` pairs; X and y are not modified;
    each X_batch holds the examples of its y_batch; every example appears exactly once; the batch
    sizes; and the visiting order.
    """
    from ..data import minibatches as reference

    if not callable(student_fn):
        raise GradingFailure(f"minibatches should be a function, got {show(student_fn)}")
    for case in _BATCH_CASES:
        where = case.describe()
        X, y = case.data()
        rng = case.rng()
        result = _call_with_context("minibatches", student_fn, where, X, y, case.batch_size, rng)
        batches = _materialise(result, where)
        X0, y0 = case.data()
        if not (np.array_equal(X, X0) and np.array_equal(y, y0)):
            raise GradingFailure(
                f"{where} modified X or y in place (e.g. rng.shuffle(X)). Shuffle an index array instead: "
                f"order = rng.permutation(N), then X[order[...]] and y[order[...]]."
            )
        got = _batch_indices(batches, case, where)
        with quiet():
            expected = [
                (yb[:, 0] if case.y_two_columns else yb).astype(np.int64).tolist()
                for _, yb in reference(X0, y0, case.batch_size, case.rng())
            ]
        seen = [i for batch in got for i in batch]
        missing = sorted(set(range(case.n)) - set(seen))
        repeated = sorted({i for i in seen if seen.count(i) > 1})
        if missing or repeated:
            parts = []
            if missing:
                parts.append(f"examples {missing} are missing")
            if repeated:
                parts.append(f"examples {repeated} appear more than once")
            message = (
                f"{where}: every example must appear exactly once per epoch, but {' and '.join(parts)} "
                f"(batch sizes {[len(b) for b in got]})."
            )
            raise GradingFailure(_with_diagnosis(message, _diagnose_batches(case, got)))
        sizes, expected_sizes = [len(b) for b in got], [len(b) for b in expected]
        if sizes != expected_sizes:
            message = (
                f"{where}: expected {len(expected_sizes)} batches of sizes {expected_sizes} "
                f"(batch_size examples each, the last one possibly smaller), got sizes {sizes}."
            )
            raise GradingFailure(_with_diagnosis(message, _diagnose_batches(case, got)))
        if got != expected:
            first = next(k for k, (a, b) in enumerate(zip(got, expected)) if a != b)
            message = (
                f"{where}: batch {first + 1} holds the examples {got[first]}, expected {expected[first]} "
                + ("(with rng=None the examples keep their order)." if case.seed is None else
                   "(the examples are visited in the order rng.permutation(N), one call per epoch).")
            )
            diagnosis = _diagnose_batches(case, got)
            if diagnosis is None and rng is not None:
                fresh = np.random.default_rng(case.seed)
                if rng.bit_generator.state == fresh.bit_generator.state:
                    diagnosis = "the rng argument was never used (np.random.* or a new generator instead?): " \
                                "shuffle with rng.permutation(N)"
            raise GradingFailure(_with_diagnosis(message, diagnosis))


# --------------------------------------------------------------------------------------------
# lr_range_test


@dataclass(frozen=True)
class _RangeCase:
    curvature: tuple
    target: tuple
    offset: float
    w0: tuple
    kwargs: tuple  # (min_lr, max_lr, num_steps, divergence_factor) or () for the defaults
    note: str

    def arrays(self):
        return np.array(self.curvature), np.array(self.target), np.array(self.w0)

    def loss_and_grad(self) -> Callable:
        curvature, target, _ = self.arrays()
        offset = self.offset

        def loss_and_grad(w):
            w = np.asarray(w, dtype=np.float64)
            residual = w - target
            return float(0.5 * np.sum(curvature * residual**2) + offset), curvature * residual

        return loss_and_grad

    def describe(self) -> str:
        names = ("min_lr", "max_lr", "num_steps", "divergence_factor")
        given = ", ".join(f"{k}={v!r}" for k, v in zip(names, self.kwargs)) or "the default range"
        return f"lr_range_test on {self.note}, w0 = {list(self.w0)}, {given}"


_RANGE_CASES: tuple[_RangeCase, ...] = (
    _RangeCase((10.0, 1.0), (0.0, 0.0), 0.0, (1.0, -1.0), (),
               "f(w) = 0.5*(10*w0**2 + w1**2) (diverges once the learning rate exceeds 2/10)"),
    _RangeCase((1.0,), (0.5,), 0.0, (2.0,), (0.05, 20.0, 50, 4.0),
               "f(w) = 0.5*(w - 0.5)**2 (diverges in the middle of the range)"),
    _RangeCase((0.5, 0.2, 0.3), (1.0, -2.0, 0.5), 0.1, (0.0, 0.0, 0.0), (1e-4, 1.0, 30, 4.0),
               "a quadratic with curvatures 0.5, 0.2, 0.3 (never diverges in the range)"),
    _RangeCase((1.0, 30.0, 100.0, 3.0), (0.5, 0.5, -0.5, 1.0), 0.5, (2.0, -1.0, 1.0, 0.0), (1e-5, 10.0, 60, 2.0),
               "a quadratic with curvatures 1, 30, 100, 3 and minimum 0.5"),
    _RangeCase((2.0, 4.0), (1.0, 1.0), 0.0, (0.0, 3.0), (0.01, 0.05, 2, 10.0),
               "a quadratic with curvatures 2, 4 and only two learning rates"),
)


def _range_outputs(result, where: str) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(result, (str, bytes)) or not isinstance(result, Sequence) or len(result) != 2:
        raise GradingFailure(f"{where} returned {show(result)}; expected a pair (learning_rates, losses).")
    try:
        with quiet():
            rates = np.asarray(result[0], dtype=np.float64).reshape(-1)
            losses = np.asarray(result[1], dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise GradingFailure(f"{where} returned {show(result)}; expected two arrays of numbers.") from None
    return rates, losses


def _range_difference(expected, got) -> str | None:
    (want_rates, want_losses), (have_rates, have_losses) = expected, got
    if len(have_rates) != len(have_losses):
        return (f"learning_rates and losses must have the same length, got {len(have_rates)} and "
                f"{len(have_losses)}")
    if len(have_rates) != len(want_rates):
        return (f"the test should record {len(want_rates)} steps (it stops once loss > divergence_factor * "
                f"smallest loss so far, after recording that loss), got {len(have_rates)}")
    with quiet():
        for label, want, have in (("learning_rates", want_rates, have_rates), ("losses", want_losses, have_losses)):
            difference = arrays_differ(want, have, rtol=1e-6, atol=1e-12 * float(np.max(np.abs(want), initial=0.0)))
            if difference is not None:
                return f"{label}: {difference}"
    return None


def check_lr_range_test(student_fn: Callable) -> None:
    """Compare the student's ``lr_range_test`` with the reference on deterministic quadratics.

    One problem diverges inside the range (the early stop matters), one does not (all steps are
    recorded); ``w`` must not be modified in place.
    """
    from ..lr_range import lr_range_test as reference

    if not callable(student_fn):
        raise GradingFailure(f"lr_range_test should be a function, got {show(student_fn)}")
    for case in _RANGE_CASES:
        where = case.describe()
        _, _, w0 = case.arrays()
        with quiet():
            expected = reference(case.loss_and_grad(), w0.copy(), *case.kwargs)
        given = w0.copy()
        result = _call_with_context("lr_range_test", student_fn, where, case.loss_and_grad(), given, *case.kwargs)
        if not np.array_equal(given, w0):
            raise GradingFailure(
                f"{where}: lr_range_test modified its input w in place. Work on a copy: w = w - lr*dw, not w -= lr*dw."
            )
        got = _range_outputs(result, where)
        difference = _range_difference(expected, got)
        if difference is not None:
            diagnosis = _best_range_mistake(student_fn, case, expected, got)
            raise GradingFailure(_with_diagnosis(f"{where}: {difference}", diagnosis))


def _run_range(function: Callable, case: _RangeCase):
    """``function``'s outputs on ``case`` (silenced), or None if it fails."""
    try:
        with quiet():
            return _range_outputs(function(case.loss_and_grad(), case.arrays()[2], *case.kwargs), "")
    except Exception:
        return None


def _best_range_mistake(student_fn: Callable, case: _RangeCase, expected, got) -> str | None:
    """The catalogued mistake reproducing the student's output on ``case``; ties go to the one that
    also agrees with the student on most other cases, then to the catalogue's order."""
    candidates = []
    for mistake in LR_RANGE_MISTAKES:
        mutant = _run_range(mistake.function, case)
        if mutant is not None and _range_difference(mutant, got) is None and _range_difference(expected, mutant):
            candidates.append(mistake)
    if len(candidates) <= 1:
        return candidates[0].description if candidates else None
    scores = [0] * len(candidates)
    for other in _RANGE_CASES:
        student = _run_range(student_fn, other)
        if student is None:
            continue
        for index, mistake in enumerate(candidates):
            mutant = _run_range(mistake.function, other)
            scores[index] += mutant is not None and _range_difference(mutant, student) is None
    best = max(range(len(candidates)), key=lambda index: (scores[index], -index))
    return candidates[best].description
