"""The machinery of the visible checks: registration, calling the student's function, short messages."""

from __future__ import annotations

import contextlib
import sys
import time
import traceback
import warnings
from typing import Callable

import numpy as np

_CHECKS: dict[str, Callable] = {}


class CheckFailure(AssertionError):
    """A visible check failed. In a notebook only the message is shown, not a traceback."""

    def _render_traceback_(self):  # IPython calls this instead of printing the traceback
        return [f"\x1b[31m✗ {self}\x1b[0m"]


def register(name: str):
    """Decorator: ``@register("adam")`` makes ``check("adam", fn)`` run the decorated function."""
    def decorate(function):
        _CHECKS[name] = function
        return function
    return decorate


def registered() -> list[str]:
    """The names that :func:`check` knows."""
    return sorted(_CHECKS)


def fail(message: str, hint: str | None = None):
    """Stop the check with a message (and a hint on its own line)."""
    raise CheckFailure(message + (f"\n  Hint: {hint}" if hint else ""))


def short(value) -> str:
    """A compact printable form of a value."""
    if isinstance(value, np.ndarray):
        with np.printoptions(precision=6, threshold=10, edgeitems=3, linewidth=90):
            return np.array2string(value)
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def call(name: str, function, *args, **kwargs):
    """Call the student's function; a crash becomes a one-line :class:`CheckFailure`.

    ``NotImplementedError`` says "not implemented yet"; other errors name the exception and
    the line of the student's code where it happened.
    """
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return function(*args, **kwargs)
    except NotImplementedError:
        raise CheckFailure(
            f"{name} is not implemented yet: write your code where it says YOUR CODE HERE "
            "(and delete the raise NotImplementedError() line)."
        ) from None
    except CheckFailure:
        raise
    except Exception as error:  # the student's bug, in one line
        frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename != __file__]
        where = f" at line {frames[-1].lineno}: {frames[-1].line}" if frames and frames[-1].line else ""
        raise CheckFailure(f"{name} raised {type(error).__name__}: {error}{where}") from None


def same(expected, got, *, rtol: float = 1e-6, atol: float = 1e-9) -> bool:
    """Whether ``got`` has ``expected``'s shape and values (within tolerance)."""
    try:
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return False
    expected = np.asarray(expected, dtype=float)
    return got.shape == expected.shape and bool(np.allclose(got, expected, rtol=rtol, atol=atol))


def likely_mistake(got, mistakes=(), default: str | None = None) -> str | None:
    """The hint of the first ``(value, hint)`` in ``mistakes`` whose value ``got`` equals, else ``default``.

    ``mistakes`` lists what the usual wrong answers return on the same inputs, so that a hint can
    name the mistake the student made rather than restate the formula.
    """
    for value, hint in mistakes:
        if same(value, got):
            return hint
    try:
        finite = bool(np.all(np.isfinite(np.asarray(got, dtype=float))))
    except (TypeError, ValueError):
        finite = True
    if not finite:
        return "your result holds nan or inf: " + (default or "look for a division by zero")
    return default


def expect_close(name: str, what: str, expected, got, mistakes=(), hint: str | None = None, *,
                 rtol: float = 1e-6, atol: float = 1e-9) -> None:
    """Fail unless ``got`` has ``expected``'s shape and values (within tolerance).

    The hint is the one of the first known mistake in ``mistakes`` (pairs ``(what that mistake
    returns on these inputs, hint)``) that reproduces ``got``, else ``hint``.
    """
    if same(expected, got, rtol=rtol, atol=atol):
        return
    hint = likely_mistake(got, mistakes, hint)
    expected = np.asarray(expected, dtype=float)
    try:
        got_array = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        fail(f"{name}: {what}: expected {short(expected)}, got {short(got)}", hint)
    if got_array.shape != expected.shape:
        fail(f"{name}: {what}: expected shape {expected.shape}, got shape {got_array.shape} ({short(got)})", hint)
    fail(f"{name}: {what}:\n  expected {short(expected)}\n  got      {short(got_array)}", hint)


def unchanged(name: str, label: str, before, after) -> None:
    """Fail if an input array was modified in place."""
    if not np.array_equal(np.asarray(before), np.asarray(after)):
        fail(f"{name} modified {label} in place", f"compute a new array (w - ...) instead of changing {label} (w -= ...)")


def check(name: str, function, *others) -> None:
    """Run the visible check for the exercise function ``name`` on your ``function``.

    A few checks also use another of your functions (``others``), e.g. the backward pass of
    batch normalization builds its cache with your ``batchnorm_forward``; see the check's message.

    Prints a one-line confirmation when it passes; raises :class:`CheckFailure` with a short
    message (what was called, expected, got, and a hint) when it does not.
    """
    if name not in _CHECKS:
        raise KeyError(f"no visible check named {name!r}; known: {', '.join(registered())}")
    if not callable(function):
        fail(f"check({name!r}, ...) needs your function, got {short(function)}")
    start = time.perf_counter()
    summary = _CHECKS[name](function, *others)
    elapsed = time.perf_counter() - start
    print(f"✓ {name}: {summary or 'the visible checks pass'} ({elapsed * 1000:.0f} ms). "
          "The hidden checks at submission test many more inputs.")


@contextlib.contextmanager
def needs_implementation():
    """For an experiment cell that uses your functions: until they are written, say so in one line
    instead of a traceback.

    >>> with needs_implementation():
    ...     raise NotImplementedError()
    This experiment uses functions you have not implemented yet: come back once their visible checks pass.
    """
    try:
        yield
    except NotImplementedError:
        if "matplotlib.pyplot" in sys.modules:  # no half-drawn empty figure
            sys.modules["matplotlib.pyplot"].close("all")
        print("This experiment uses functions you have not implemented yet: "
              "come back once their visible checks pass.")
