"""How long each outcome check takes on the model answer: ``dlopt-course bench-outcomes``.

An outcome check runs the student's procedure on every hidden instance, so it is the slowest kind of
check; each should stay well under 10 s on one core. This script grades each assignment's model answer
once through the isolated regrade (the path ``grade`` takes: the student's code in the sandbox, each call
of a grader's function a round trip to it) and prints, per outcome task, the seconds its hidden check
took and the points it gave. Run it with ``OMP_NUM_THREADS=1`` for one core.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import nbformat

from .catalog import OUTCOME_TASKS
from .notebooks import source_assignments, student_version
from .submissions import model_answer

#: The time a single outcome check should stay under, on one core (printed beside each figure).
TARGET_SECONDS = 10.0


def bench_outcomes(course_root: Path, assignments: list[str] | None = None) -> int:
    """Print the time and score of each outcome check on its model answer; 1 if one scored less than full."""
    from dlopt_course.isolation import regrade_notebook

    paths = {path.stem: path for path in source_assignments(course_root)}
    chosen = assignments or sorted(OUTCOME_TASKS)
    print(f"{'assignment':<26} {'outcome task':<26} {'seconds':>8} {'points':>12}   (target: < {TARGET_SECONDS:g} s)")
    status = 0
    for assignment in chosen:
        source = nbformat.read(paths[assignment], as_version=4)
        submission = model_answer(source, student_version(source))
        with tempfile.TemporaryDirectory(prefix="dlopt-bench-outcomes-") as scratch:
            result = regrade_notebook(source, submission, course_root, Path(scratch))
        verdict = result.cells[f"{OUTCOME_TASKS[assignment]}_hidden"]
        status |= verdict.points != verdict.max_points
        print(f"{assignment:<26} {OUTCOME_TASKS[assignment]:<26} {verdict.seconds:8.2f} "
              f"{verdict.points:>5g} / {verdict.max_points:<5g}", flush=True)
    return int(status)
