"""The course as ``nbgrader`` sees it, and what grading keeps in it between runs.

- :func:`load_course`: the configuration and folders, loaded as the ``nbgrader`` command line loads them;
- :func:`assignment_cells`: what the gradebook records of an assignment (what a submission is reset to);
- :func:`graded_submissions`: the submissions a rerun skips;
- the failures file (``autograded/.grade_class_failures.json``): the submissions that could not be graded,
  with a fingerprint of their folder, so a rerun does not retry one that has not changed;
- :func:`shared_machine_exposures`: what other accounts could reach, on a machine students share.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import sys
from pathlib import Path
from typing import Iterable

from ..intake import read_timestamp
from ..permissions import DEFAULT_EXCHANGE, course_exposures

LOG_NAME = "grade_class.log"
FAILURES_NAME = ".grade_class_failures.json"

class GradingSetupError(RuntimeError):
    """The course cannot be graded (no gradebook, assignment not generated, no sandbox on this machine...)."""


@contextlib.contextmanager
def _in_directory(path: Path):
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def _quiet(app) -> io.StringIO:
    """Send an nbgrader app's log to a buffer (not to the terminal, where the progress bar is)."""
    buffer = io.StringIO()
    for handler in list(app.log.handlers):
        app.log.removeHandler(handler)
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
    app.log.addHandler(handler)
    app.log.propagate = False
    return buffer


def load_course(root: Path, extra: Iterable[str] = ()):
    """``(config, coursedir)`` of the course in ``root``, as ``nbgrader autograde`` run there sees them."""
    from nbgrader.apps.autogradeapp import AutogradeApp

    saved_path = list(sys.path)
    with _in_directory(root):
        app = AutogradeApp()
        try:
            app.initialize([f"--CourseDirectory.root={root}", *extra])
            _quiet(app)
            return app.config, app.coursedir
        finally:
            sys.path[:] = saved_path


def shared_machine_exposures(config, coursedir) -> list[str]:
    """What of the course other accounts can reach, when it shares its machine with students.

    The sign of a shared machine is the course's nbgrader exchange existing here (students fetch and submit
    through it with their own accounts). Elsewhere (an instructor's laptop, an LMS class) the list is empty.
    """
    exchange = Path(config.Exchange.root if "Exchange" in config and "root" in config.Exchange
                    else DEFAULT_EXCHANGE)
    if not exchange.is_dir():
        return []
    import dlopt_reference

    return course_exposures(Path(coursedir.root), sqlite_path(coursedir.db_url),
                            Path(dlopt_reference.__file__).parent, exchange / coursedir.course_id / "inbound")


def sqlite_path(db_url: str) -> Path | None:
    prefix = "sqlite:///"
    return Path(db_url[len(prefix):]) if db_url.startswith(prefix) else None


def assignment_cells(coursedir, assignment: str) -> tuple[list[str], list[str], dict]:
    """The assignment's notebooks, its graded cells' ids, and each notebook's ``{grade_id: nbgrader metadata}``
    as the gradebook records it (what a submission's cell metadata is reset to)."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        try:
            found = gradebook.find_assignment(assignment)
        except MissingEntry:
            raise GradingSetupError(
                f"assignment {assignment!r} is not in the gradebook: run `nbgrader generate_assignment {assignment}`"
            ) from None
        notebooks = [notebook.name for notebook in found.notebooks]
        grade_ids = [cell.name for notebook in found.notebooks for cell in notebook.grade_cells]
        expected = {}
        for notebook in found.notebooks:
            cells = {cell.name: {"grade": False, "solution": False, "locked": bool(cell.locked), "task": False}
                     for cell in notebook.source_cells}
            for cell in notebook.grade_cells:
                cells.setdefault(cell.name, {"locked": False, "task": False, "solution": False})
                cells[cell.name].update(grade=True, points=cell.max_score)
            for cell in notebook.solution_cells:
                cells.setdefault(cell.name, {"locked": False, "task": False, "grade": False})["solution"] = True
            for cell in notebook.task_cells:
                cells.setdefault(cell.name, {"locked": True, "solution": False, "grade": False})
                cells[cell.name].update(task=True, points=cell.max_score)
            expected[notebook.name] = cells
    return notebooks, grade_ids, expected


def graded_submissions(coursedir, assignments: list[str]) -> set[tuple[str, str]]:
    """(student, assignment) pairs with grades in the gradebook and every autograded notebook in place."""
    from nbgrader.api import Gradebook

    root = Path(coursedir.root)
    done = set()
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        for assignment in assignments:
            for submission in gradebook.assignment_submissions(assignment):
                folder = root / coursedir.autograded_directory / submission.student_id / assignment
                notebooks_ok = all((folder / f"{nb.notebook.name}.ipynb").exists() for nb in submission.notebooks)
                # a written answer waits for an instructor (needs_manual_grade): graded as far as `grade` goes
                scored = all(grade.auto_score is not None or grade.manual_score is not None
                             or grade.needs_manual_grade
                             for nb in submission.notebooks for grade in nb.grades)
                if notebooks_ok and scored:
                    new = _timestamp(root / coursedir.submitted_directory, submission.student_id, assignment)
                    old = _timestamp(root / coursedir.autograded_directory, submission.student_id, assignment)
                    if new is not None and old is not None and new > old:
                        continue  # resubmitted since it was graded: stock nbgrader regrades it too
                    done.add((submission.student_id, assignment))
    return done


def _timestamp(base: Path, student: str, assignment: str):
    """The time in ``base/student/assignment/timestamp.txt``, or ``None`` if it is missing or not a time."""
    try:
        return read_timestamp(base, student, assignment)
    except Exception:  # noqa: BLE001 (a file of the student's: any text that is not a time is no time)
        return None


def load_failures(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def save_failures(path: Path, failures: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(failures, indent=1, sort_keys=True))
    os.replace(temporary, path)
