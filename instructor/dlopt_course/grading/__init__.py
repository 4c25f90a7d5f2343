"""Grade a whole class: every submission run once, behind the kernel's boundary, scored by nbgrader.

For each (student, assignment) submission, ``dlopt-course grade``

1. **reads** the submission's notebooks as hostile input (:mod:`dlopt_course.intake`: no links, no devices,
   no second hard links, a size limit; nothing else of the folder is used);
2. **sanitizes** each notebook with nbgrader's own steps (``ClearOutput``, ``DeduplicateIds``,
   ``OverwriteKernelspec``, ``OverwriteCells`` -- test and read-only cells back from the gradebook --
   ``CheckCellMetadata``), in this process (:mod:`.prepare`);
3. **runs** it once, in a worker process (:mod:`.run`): the student's cells in a sandboxed process
   confined by the kernel, the test cells here, from the instructor's source notebook
   (:mod:`dlopt_course.isolation`), within a time limit per cell and a budget per submission;
4. **merges** the result, one submission at a time (:mod:`.merge`): each cell gets the outputs of that one
   run (the student's own printed text and errors; for a test cell, the check's diagnosis), then nbgrader's
   ``SaveAutoGrades`` and ``AssignLatePenalties`` score it into the gradebook exactly as ``nbgrader
   autograde`` scores an executed notebook, and the notebook is placed in ``autograded/<s>/<a>/``,
   where ``nbgrader generate_feedback`` finds it.

:mod:`.schedule` keeps the workers busy and records what happened; :mod:`.course` reads the course and the
gradebook as nbgrader does.

A submission counts as graded only when its grades are in the gradebook *and* its autograded notebook is
in place (the old one is removed before merging), so a crash at any moment loses nothing already merged
and leaves nothing half-done that a rerun would skip. A rerun skips graded submissions (unless
``--force``, or the submission's ``timestamp.txt`` is newer than the autograded one, as stock nbgrader
does) and unreadable submissions unchanged since they failed; these are reported with their reason at the
end, in ``autograded/grade_class.log`` and in ``autograded/.grade_class_failures.json``. Any gradebook
nbgrader supports works (SQLite, PostgreSQL): only this process writes to it.
"""

from .course import GradingSetupError
from .schedule import GradeReport, grade_class

__all__ = ["GradeReport", "GradingSetupError", "grade_class"]
