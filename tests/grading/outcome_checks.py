"""What the tests of the outcome checks share: one grading of a function, and reading its message."""

from __future__ import annotations

import contextlib
import io
import re
from typing import Callable

from dlopt_reference.grading import GradingFailure


def graded(check: Callable, function: Callable, points: float) -> tuple[float, str]:
    """``(points earned, message)`` of ``check(function, points=points)``, as a hidden cell shows them.

    The message is what the check printed (the unsolved instances of a partial score) and, when it
    raised :class:`GradingFailure` (no instance solved: zero points), the failure's message.
    """
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            earned = check(function, points=points)
        except GradingFailure as failure:
            return 0.0, out.getvalue() + str(failure)
    return earned, out.getvalue()


def says(text: str, phrase: str) -> bool:
    """``text`` holds ``phrase`` as whole words, case-insensitively, with any white space between them."""
    body = r"\s+".join(re.escape(word) for word in phrase.split())
    return re.search(rf"(?<!\w){body}(?!\w)", text, re.IGNORECASE) is not None
