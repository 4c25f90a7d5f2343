"""A graded cell's source as the feedback shows it: a hidden test region reduced to its calls.

An autograded notebook holds the instructor's hidden tests between nbgrader's markers. The feedback
shows of such a region only the lines that call a check (``check_sgd(sgd)``: what graded the
student); the markers, imports and comments are left out, so the page never holds the test code.
"""

from __future__ import annotations

from ..notebooks import HIDDEN_BEGIN, HIDDEN_END


def _is_call(line: str) -> bool:
    code = line.strip()
    return bool(code) and not code.startswith(("#", "import ", "from ", '"""', "'''"))


def shown_source(source: str) -> str:
    """``source`` with every hidden test region replaced by its call lines."""
    shown, hidden = [], False
    for line in source.splitlines():
        marker = line.strip()
        if marker == HIDDEN_BEGIN:
            hidden = True
        elif marker == HIDDEN_END:
            hidden = False
        elif not hidden or _is_call(line):
            shown.append(line)
    if hidden:
        raise ValueError(f"a hidden test region has no {HIDDEN_END!r} line:\n{source}")
    return "\n".join(shown)
