"""What a student reads for a graded check: a name for its grade id, its diagnosis in a few lines."""

from __future__ import annotations

import re

_KINDS = {"hidden": "hidden check", "visible": "visible check", "answer": "written answer"}
#: The line of a grader's message that names the likely mistake.
_DIAGNOSIS = re.compile(r"^\s*This looks like:")
#: How many lines after a first line ending in ":" the summary keeps.
FOLLOWING = 2


def check_name(grade_id: str) -> str:
    """``sgd_hidden`` -> ``sgd, hidden check``; a grade id of another form is shown as it is."""
    function, _, kind = grade_id.rpartition("_")
    return f"{function}, {_KINDS[kind]}" if function and kind in _KINDS else grade_id


def error_message(outputs) -> str:
    """``Type: message`` of the error a cell raised (its last error output), or ``""`` if none."""
    errors = [output for output in outputs if output.get("output_type") == "error"]
    if not errors:
        return ""
    error = errors[-1]
    name, value = str(error.get("ename", "")), str(error.get("evalue", ""))
    return f"{name}: {value}" if name and value else name or value


def printed_text(outputs) -> str:
    """What a cell printed to stdout (an outcome check prints which hidden instances it did not solve)."""
    return "".join(str(output.get("text", "")) for output in outputs
                   if output.get("output_type") == "stream" and output.get("name") == "stdout")


def diagnosis_lines(message: str) -> list[str]:
    """The message's first line and each *This looks like:* line, whole (never cut).

    A first line that ends with a colon announces what follows (``should be w - 0.1*dw:``): the next
    ``FOLLOWING`` lines are kept with it.
    """
    lines = [line.rstrip() for line in message.splitlines() if line.strip()]
    if not lines:
        return []
    lead = lines[:1 + FOLLOWING] if lines[0].endswith(":") else lines[:1]
    return lead + [line.strip() for line in lines[len(lead):] if _DIAGNOSIS.match(line)]
