"""Building blocks for the graders: quiet execution, array comparison, clear failure messages.

A check fails by raising :class:`AssertionError` with a message written for the student:
what was called, what was expected, what came back, and (where recognised) the likely mistake.
nbgrader shows that message in the feedback.
"""

from __future__ import annotations

import contextlib
import io
import traceback
import warnings

import numpy as np

#: Printed arrays are short in messages: a student needs the gist, not a wall of numbers.
_PRINT_OPTIONS = dict(precision=6, threshold=12, edgeitems=3, linewidth=100)


class GradingFailure(AssertionError):
    """A check found a difference from the reference; the message is the diagnosis.

    In a notebook (and so in nbgrader's feedback) only the diagnosis is shown: IPython renders
    an exception through ``_render_traceback_`` when it has one, so the grader's own frames and
    source lines never reach the student.
    """

    def _diagnosis_only(self) -> list[str]:
        return [f"GradingFailure: {self}"]

    _render_traceback_ = _diagnosis_only  # the name IPython looks up


@contextlib.contextmanager
def quiet():
    """Silence numpy floating-point warnings and Python warnings.

    Any output on stderr in a graded cell makes nbgrader score the cell zero, so a student's
    overflow warning must not reach it: the comparison decides, not the warning. Whatever the
    student's function prints (to stdout or stderr) while being graded is discarded too: a check
    calls it dozens of times and the feedback should show the diagnosis, not the debugging prints.
    """
    with warnings.catch_warnings(), np.errstate(all="ignore"), \
            contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def show(value) -> str:
    """A short printable form of a value for a failure message."""
    if isinstance(value, np.ndarray):
        with np.printoptions(**_PRINT_OPTIONS):
            return f"{np.array2string(value)} (shape {value.shape}, dtype {value.dtype})"
    text = repr(value)
    return text if len(text) <= 200 else text[:200] + "..."


def call_student(function_name: str, student_function, *args, **kwargs):
    """Call the student's function; turn its exceptions into a readable failure.

    ``NotImplementedError`` becomes "not implemented yet"; any other exception is reported with
    its type, message and the last frame of the student's traceback.
    """
    try:
        with quiet():
            return student_function(*args, **kwargs)
    except NotImplementedError:
        raise GradingFailure(f"{function_name} is not implemented yet (it raised NotImplementedError).") from None
    except Exception as error:  # the student's bug, reported rather than propagated
        frames = traceback.extract_tb(error.__traceback__)
        where = f" (line {frames[-1].lineno}: {frames[-1].line})" if frames else ""
        raise GradingFailure(
            f"{function_name} raised {type(error).__name__}: {error}{where}"
        ) from None


def arrays_differ(expected, got, *, rtol: float = 1e-6, atol: float = 1e-10) -> str | None:
    """Compare two arrays; return ``None`` if they match, else a sentence saying how they differ.

    Shapes must agree exactly; values must satisfy ``|got - expected| <= atol + rtol * |expected|``
    elementwise; NaN never matches.
    """
    expected = np.asarray(expected, dtype=np.float64)
    try:
        got_array = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return f"expected an array, got {show(got)}"
    if got_array.shape != expected.shape:
        return f"expected shape {expected.shape}, got shape {got_array.shape}"
    with quiet():
        close = np.abs(got_array - expected) <= atol + rtol * np.abs(expected)
    if np.all(close):
        return None
    index = np.unravel_index(np.argmin(close) if close.ndim else 0, close.shape) if close.ndim else ()
    with quiet():
        worst = float(np.nanmax(np.abs(got_array - expected))) if np.all(np.isfinite(got_array)) else float("nan")
    where = f" at index {tuple(int(i) for i in index)}" if index else ""
    return (
        f"values differ{where}: expected {float(expected[index]):.10g}, got {float(got_array[index]):.10g}"
        f" (largest absolute difference {worst:.3g})\n  expected: {show(expected)}\n  got:      {show(got_array)}"
    )
