"""The comparison loop shared by the graders of chapters 5-9.

A grader is a list of *cases* (each builds fresh arguments for one call) and a catalogue of
*mistakes* (known wrong implementations with the same signature as the reference). For every case
the student's function and the reference are called on identical, independent copies of the
arguments; when the results differ, the mistakes are run on the same arguments and the first one
that reproduces the student's answer names the likely error ("This looks like: ...").
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from ._report import GradingFailure, arrays_differ, call_student, quiet, show


@dataclass(frozen=True)
class Mistake:
    """A known wrong implementation: ``function`` has the signature of the reference."""

    description: str
    function: Callable | None = None
    #: alternatively, a test on the student's answer: ``detector(args, kwargs, got) -> bool``
    detector: Callable | None = None


@dataclass
class Case:
    """One call: ``make()`` returns fresh ``(args, kwargs)``; ``note`` says what the case is about.

    ``make`` is called once per implementation run, so a seeded ``np.random.Generator`` in the
    arguments starts from the same state for the student, the reference and every mistake.
    """

    make: Callable[[], tuple[tuple, dict]]
    note: str = ""


def fixed_case(*args, note: str = "", **kwargs) -> Case:
    """A case whose arguments are constants (deep-copied for every call)."""
    return Case(lambda: (copy.deepcopy(args), copy.deepcopy(kwargs)), note)


def describe_call(name: str, args: Sequence, kwargs: dict) -> str:
    """``name(arg, ..., key=value)`` with arrays shortened to their shape."""
    parts = [short(a) for a in args] + [f"{k}={short(v)}" for k, v in kwargs.items()]
    return f"{name}({', '.join(parts)})"


def short(value: Any) -> str:
    """A brief description of one argument for the call line of a message."""
    if isinstance(value, np.ndarray):
        if value.size <= 4:
            with np.printoptions(precision=4):
                return f"array({np.array2string(value, separator=', ')})"
        return f"<array shape {value.shape}>"
    if isinstance(value, np.random.Generator):
        return "<seeded np.random.Generator>"
    if callable(value):
        return f"<function {getattr(value, '__name__', 'objective')}>"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {short(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)) and len(value) > 6:
        return f"<{type(value).__name__} of {len(value)} items>"
    if isinstance(value, list):
        return "[" + ", ".join(short(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + ", ".join(short(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def identify_mistake(
    mistakes: Iterable[Mistake], case: Case, expected, got, compare, *, other_cases: Sequence[Case] = (),
    student_function: Callable | None = None, error_type: type | None = None,
) -> str | None:
    """The description of the mistake that best reproduces the student's answers.

    Candidates are the mistakes that give ``got`` (and not ``expected``) on the failing ``case`` or,
    if the student's function raised ``error_type`` there, that raise the same exception type with the
    same message (numbers and quoted names aside: a ``TypeError`` from ``sorted`` on dicts is not the
    ``TypeError`` of a call with keyword arguments). If
    several do, the one agreeing with the student on most of ``other_cases`` wins (ties: the
    catalogue's order), so that the diagnosis rests on all the evidence, not on one input. A mistake
    that agrees with the student on fewer than half of ``other_cases`` is not named, even when it is
    the only candidate: it matched the failing case by coincidence (e.g. an unlisted off-by-one in
    ``polynomial_decay`` that equals "learning_rate not reduced by end_learning_rate" at step 1 only).
    """
    candidates = []
    error_message = None
    if error_type is not None and student_function is not None:
        student_outcome = _outcome(student_function, *case.make())
        if student_outcome[0] == "raised" and student_outcome[1] is error_type:
            error_message = student_outcome[2]
    for mistake in mistakes:
        args, kwargs = case.make()
        if mistake.detector is not None:
            try:
                with quiet():
                    if error_type is None and not candidates and mistake.detector(args, kwargs, got):
                        return mistake.description
            except Exception:
                pass
            continue
        outcome = _outcome(mistake.function, args, kwargs)
        if error_type is not None:
            if outcome[0] == "raised" and outcome[1] is error_type and (
                    error_message is None or _same_error_message(outcome[2], error_message)):
                candidates.append(mistake)
            elif error_type is ZeroDivisionError and outcome[0] == "ok" and _non_finite(outcome[1]):
                candidates.append(mistake)  # Python floats raise where numpy gives inf/nan
        elif outcome[0] == "ok" and _agrees(compare, outcome[1], got) and not _agrees(compare, expected, outcome[1]):
            candidates.append(mistake)
        elif outcome[0] == "raised" and outcome[1] is ZeroDivisionError and _non_finite(got):
            candidates.append(mistake)
    if not candidates or student_function is None or not other_cases:
        return candidates[0].description if candidates else None
    scores = [0] * len(candidates)
    for other in other_cases:
        args, kwargs = other.make()
        student_outcome = _outcome(student_function, args, kwargs)
        for index, mistake in enumerate(candidates):
            args, kwargs = other.make()
            if _same_outcome(compare, _outcome(mistake.function, args, kwargs), student_outcome):
                scores[index] += 1
    best = max(range(len(candidates)), key=lambda index: (scores[index], -index))
    if 2 * scores[best] < len(other_cases):
        return None  # it reproduced the failing case by coincidence: naming it would misdiagnose
    return candidates[best].description


def _non_finite(value) -> bool:
    """Whether a result contains NaN or inf (also inside a tuple or list)."""
    if isinstance(value, (tuple, list)):
        return any(_non_finite(item) for item in value)
    try:
        with quiet():
            return not bool(np.all(np.isfinite(np.asarray(value, dtype=np.float64))))
    except Exception:
        return False


def _outcome(function: Callable, args, kwargs) -> tuple:
    """``("ok", result)`` or ``("raised", exception type, message)``."""
    try:
        with quiet():
            return "ok", function(*args, **kwargs)
    except Exception as error:
        return "raised", type(error), str(error)


def _error_shape(message: str) -> str:
    """An exception message with quoted names and numbers blanked out, for comparing two errors."""
    message = re.sub(r"'[^']*'|\"[^\"]*\"", "'_'", message)
    return re.sub(r"\d+(\.\d*)?(e[-+]?\d+)?", "0", message).strip()


def _same_error_message(first: str, second: str) -> bool:
    return _error_shape(first) == _error_shape(second)


def _same_outcome(compare, first, second) -> bool:
    if first[0] != second[0]:
        return False
    if first[0] == "raised":
        return first[1] is second[1] and _same_error_message(first[2], second[2])
    return _agrees(compare, first[1], second[1])


def _agrees(compare, first, second) -> bool:
    """Whether two answers agree, for recognising a mistake: NaN and inf agree with themselves here."""
    try:
        with quiet():
            if compare(first, second) is None:
                return True
    except Exception:
        pass
    return _loosely_equal(first, second)


def _loosely_equal(first, second) -> bool:
    if isinstance(first, (tuple, list)) and isinstance(second, (tuple, list)):
        return len(first) == len(second) and all(_loosely_equal(a, b) for a, b in zip(first, second))
    try:
        with quiet():
            a = np.asarray(first, dtype=np.float64)
            b = np.asarray(second, dtype=np.float64)
            return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-6, atol=1e-10, equal_nan=True))
    except Exception:
        return False


def compare_values(expected, got, *, rtol: float = 1e-6, atol: float = 1e-10) -> str | None:
    """:func:`arrays_differ`, silenced."""
    with quiet():
        return arrays_differ(expected, got, rtol=rtol, atol=atol)


def compare_tuple(names: Sequence[str], *, rtol: float = 1e-6, atol: float = 1e-10) -> Callable:
    """A comparison of tuples of arrays, naming the first component that differs."""

    def compare(expected, got):
        if not isinstance(got, (tuple, list)) or len(got) != len(names):
            return f"expected a tuple of {len(names)} values ({', '.join(names)}), got {show(got)}"
        for name, want, have in zip(names, expected, got):
            difference = compare_values(want, have, rtol=rtol, atol=atol)
            if difference is not None:
                return f"{name}: {difference}"
        return None

    return compare


def modified_inputs(before: Sequence, after: Sequence, names: Sequence[str]) -> list[str]:
    """Names of the array arguments (also inside lists/dicts) whose contents changed."""
    changed = []
    for name, old, new in zip(names, before, after):
        if not _same_content(old, new):
            changed.append(name)
    return changed


def _same_content(old, new) -> bool:
    if isinstance(old, np.ndarray):
        return isinstance(new, np.ndarray) and old.shape == new.shape and bool(
            np.array_equal(old, new, equal_nan=True)
        )
    if isinstance(old, (list, tuple)):
        return isinstance(new, (list, tuple)) and len(old) == len(new) and all(
            _same_content(a, b) for a, b in zip(old, new)
        )
    return True


def failure_message(call: str, case: Case, difference: str, diagnosis: str | None) -> str:
    lines = [f"{call} returned a wrong result."]
    if case.note:
        lines.append(f"  (case: {case.note})")
    lines.append("  " + difference)
    if diagnosis:
        lines.append(f"This looks like: {diagnosis}.")
    return "\n".join(lines)


def check_cases(
    name: str,
    student_function: Callable,
    reference_function: Callable,
    cases: Iterable[Case],
    mistakes: Sequence[Mistake] = (),
    *,
    compare: Callable = compare_values,
    input_names: Sequence[str] | None = None,
    adapt: Callable[[Callable], Callable] | None = None,
    describe: Callable[[Sequence, dict], str] | None = None,
) -> None:
    """Run every case on the student's function and the reference; raise on the first difference.

    If ``input_names`` is given, the positional arguments with those names are also checked for
    in-place modification (a student's function must not change its inputs). ``adapt`` wraps the
    student's function, the reference and every mistake alike (to observe more than the return value);
    ``describe(args, kwargs)`` replaces the default ``name(args...)`` call line in messages.
    """
    describe = describe or (lambda args, kwargs: describe_call(name, args, kwargs))
    if not callable(student_function):
        raise GradingFailure(f"{name} should be a function, got {show(student_function)}")
    if adapt is not None:
        student_function, reference_function = adapt(student_function), adapt(reference_function)
        mistakes = [Mistake(m.description, adapt(m.function) if m.function else None, m.detector) for m in mistakes]
    cases = list(cases)
    for case in cases:
        args, kwargs = case.make()
        with quiet():
            expected = reference_function(*args, **kwargs)
        args, kwargs = case.make()
        pristine, _ = case.make()
        try:
            got = call_student(name, student_function, *args, **kwargs)
        except GradingFailure as failure:
            error = failure.__context__
            diagnosis = None
            if error is None or isinstance(error, NotImplementedError):
                raise
            diagnosis = identify_mistake(
                mistakes, case, None, None, compare, other_cases=cases, student_function=student_function,
                error_type=type(error),
            )
            message = f"{failure}\n  (call: {describe(pristine, kwargs)})"
            if diagnosis is not None:
                message += f"\nThis looks like: {diagnosis}."
            raise GradingFailure(message) from None
        if input_names:
            changed = modified_inputs(pristine, args, input_names)
            if changed:
                raise GradingFailure(
                    f"{describe(pristine, kwargs)} modified its input {', '.join(changed)} in place. "
                    "Work on copies (e.g. `x = x - ...` rather than `x -= ...`)."
                )
        try:
            difference = compare(expected, got)
        except Exception as error:  # an answer of an unusable type
            difference = f"the result could not be compared with the expected one ({type(error).__name__}: {error}); got {show(got)}"
        if difference is not None:
            diagnosis = identify_mistake(
                mistakes, case, expected, got, compare, other_cases=cases, student_function=student_function
            )
            raise GradingFailure(failure_message(describe(pristine, kwargs), case, difference, diagnosis))
