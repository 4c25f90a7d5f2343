"""Grading by outcome: the student's function is *used* on problem instances the student never sees.

An outcome task asks for a procedure, not a formula to transcribe: choose a learning rate from a
problem's curvature, momentum parameters from :math:`L` and :math:`\\mu`, a schedule for a step
budget, a search that finds a good configuration under a trial budget. The hidden check draws
fresh instances (one seed each, so every grading run sees the same ones), runs the student's
function on each, and judges what the answer *does* there: does gradient descent converge within
the budget, does the ensemble beat the baseline on held-out data. A number copied from a
classmate's notebook solves nothing: the instances are not in any notebook.

Score: partial credit in proportion to the instances solved,

.. math:: \\text{points} = \\text{max\\_points} \\cdot \\frac{\\#\\text{solved}}{\\#\\text{instances}},

rounded down to a hundredth, never anything for nothing. nbgrader reads a test cell's partial
credit from the value the cell shows last (its ``execute_result``), so :func:`grade_by_outcome`
*returns* the points, and the hidden cell ends with the call. With no instance solved it raises
:class:`GradingFailure` (zero, with the diagnosis); otherwise it prints which instances failed and
why, then returns the points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from ._report import GradingFailure, quiet

#: Instances described in a message; the rest are counted.
_SHOWN = 4


@dataclass(frozen=True)
class Instance:
    """One hidden problem: a readable ``label`` ("quadratic 3: dimension 20, condition number 300") and its data."""

    label: str
    data: Any = None


@dataclass
class Outcome:
    """What the student's answer did on one instance.

    ``solved``: the task's criterion holds. ``detail``: what happened, in the words of the field
    ("diverged at step 12: the learning rate 0.31 is above 2/L = 0.2"). ``answer``: the student's
    answer (for :func:`grade_by_outcome`'s ``recognise``).
    """

    solved: bool
    detail: str = ""
    answer: Any = None


@dataclass
class OutcomeReport:
    """The outcomes of every instance, in order, and the points they earn."""

    function_name: str
    instances: Sequence[Instance]
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def solved(self) -> int:
        return sum(outcome.solved for outcome in self.outcomes)

    def points(self, max_points: float) -> float:
        """``max_points * solved / n``, rounded down to a hundredth (0 when nothing is solved)."""
        return math.floor(100 * max_points * self.solved / len(self.instances) + 1e-9) / 100

    def summary(self) -> str:
        return f"{self.function_name} solved {self.solved} of {len(self.instances)} hidden instances"

    def failures(self) -> str:
        """The first few unsolved instances with what happened on each."""
        failed = [(instance, outcome) for instance, outcome in zip(self.instances, self.outcomes) if not outcome.solved]
        lines = [f"  - {instance.label}: {outcome.detail}" for instance, outcome in failed[:_SHOWN]]
        if len(failed) > _SHOWN:
            lines.append(f"  - ... and {len(failed) - _SHOWN} more")
        return "\n".join(lines)


def grade_by_outcome(function_name: str, student_fn: Callable, instances: Sequence[Instance],
                     attempt: Callable[[Callable, Instance], Outcome], points: float, *,
                     recognise: Callable[[OutcomeReport], str | None] | None = None,
                     task: str = "") -> float:
    """Run ``attempt(student_fn, instance)`` on every instance and return the points earned.

    ``attempt`` calls the student's function (through :func:`~._report.call_student`, so a crash is
    reported as the student's) and judges the answer; a :class:`GradingFailure` it raises counts as
    that instance unsolved with the failure's message as its detail, except "not implemented yet",
    which stops the check at once. ``recognise`` may name a known mistake from the whole report
    ("a learning rate above 2/L"); it is asked only when some instance failed. ``task`` is one
    sentence saying what solving an instance means; it heads every message.

    Returns ``points * solved / n`` (see :class:`OutcomeReport`) after printing the summary and the
    failures; raises :class:`GradingFailure` with the same text when nothing is solved.
    """
    report = OutcomeReport(function_name, list(instances))
    for instance in report.instances:
        try:
            with quiet():
                outcome = attempt(student_fn, instance)
        except GradingFailure as failure:
            if "not implemented yet" in str(failure):
                raise
            outcome = Outcome(False, str(failure).replace("\n", "\n    "))
        report.outcomes.append(outcome)

    earned = report.points(points)
    head = (f"{task}\n" if task else "") + f"{report.summary()}: {earned:g} of {points:g} points."
    if report.solved == len(report.instances):
        print(head)
        return float(points)
    diagnosis = recognise(report) if recognise is not None else None
    text = f"{head}\nUnsolved:\n{report.failures()}" + (f"\nThis looks like: {diagnosis}." if diagnosis else "")
    if report.solved == 0:
        raise GradingFailure(text)
    print(text)
    return earned
