"""Grade a whole class: every submission run once, behind the kernel's boundary, scored by nbgrader.

For each (student, assignment) submission, ``grade``

1. **reads** the submission's notebooks as hostile input (:mod:`.intake`: no links, no devices, no
   second hard links, a size limit; nothing else of the folder is used);
2. **sanitizes** each notebook with nbgrader's own steps (``ClearOutput``, ``DeduplicateIds``,
   ``OverwriteKernelspec``, ``OverwriteCells`` -- test and read-only cells back from the gradebook --
   ``CheckCellMetadata``), in this process;
3. **runs** it once, in a worker process (:func:`_grade_one`): the student's cells in a sandboxed
   process confined by the kernel, the test cells here, from the instructor's source notebook
   (:mod:`dlopt_reference.isolation`), within a time limit per cell and a budget per submission;
4. **merges** the result, one submission at a time: each cell gets the outputs of that one run (the
   student's own printed text and errors; for a test cell, the check's diagnosis), then nbgrader's
   ``SaveAutoGrades`` and ``AssignLatePenalties`` score it into the gradebook exactly as ``nbgrader
   autograde`` scores an executed notebook, and the notebook is placed in ``autograded/<s>/<a>/``,
   where ``nbgrader generate_feedback`` finds it.

A submission counts as graded only when its grades are in the gradebook *and* its autograded notebook is
in place (the old one is removed before merging), so a crash at any moment loses nothing already merged
and leaves nothing half-done that a rerun would skip. A rerun skips graded submissions (unless
``--force``, or the submission's ``timestamp.txt`` is newer than the autograded one, as stock nbgrader
does) and unreadable submissions unchanged since they failed; these are reported with their reason at the
end, in ``autograded/grade_class.log`` and in ``autograded/.grade_class_failures.json``. Any gradebook
nbgrader supports works (SQLite, PostgreSQL): only this process writes to it.

``export`` (:mod:`.export`) writes the scores in a CSV an LMS imports and the diagnoses in another.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import io
import json
import logging
import multiprocessing
import os
import re
import shutil
import stat
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from .integrity import (INCIDENTS_NAME, GradebookGuard, Incident, append_incidents, check_isolation, one_line,
                        read_incidents, sqlite_snapshot)
from .intake import SECRET_NAME, read_submission, read_timestamp
from .permissions import DEFAULT_EXCHANGE, course_exposures
from .import_submissions import add_import_command, import_submissions

#: Test hook: the parent raises :class:`SimulatedCrash` right after this many merges (resumability tests).
CRASH_AFTER_ENV = "DLOPT_GRADE_CRASH_AFTER"

LOG_NAME = "grade_class.log"
FAILURES_NAME = ".grade_class_failures.json"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class SimulatedCrash(RuntimeError):
    """Raised by the test hook ``DLOPT_GRADE_CRASH_AFTER=N`` after N merges."""


class GradingSetupError(RuntimeError):
    """The course cannot be graded (no gradebook, assignment not generated, no sandbox on this machine...)."""


@dataclass
class Failure:
    student: str
    assignment: str
    reason: str

    def __post_init__(self) -> None:
        self.student, self.reason = one_line(self.student, 200), one_line(self.reason)

    def __str__(self) -> str:
        return f"{self.student} / {self.assignment}: {self.reason}"


@dataclass
class GradeReport:
    graded: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    incidents: list = field(default_factory=list)
    seconds: float = 0.0


# --------------------------------------------------------------------------------------------------
# nbgrader configuration, loaded exactly as the ``nbgrader`` command line loads it in the course folder

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

    return course_exposures(Path(coursedir.root), _sqlite_path(coursedir.db_url),
                            Path(dlopt_reference.__file__).parent, exchange / coursedir.course_id / "inbound")


def _sqlite_path(db_url: str) -> Path | None:
    prefix = "sqlite:///"
    return Path(db_url[len(prefix):]) if db_url.startswith(prefix) else None


# --------------------------------------------------------------------------------------------------
# step 1 and 2 (this process): read the submission, sanitize its notebooks with nbgrader's steps

def _fingerprint(folder: Path) -> str:
    """A digest of a submission folder's regular files (links and others by name only, never followed)."""
    digest = hashlib.sha256()
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError:
        return ""
    for entry in entries:
        digest.update(entry.name.encode(errors="replace") + b"\0")
        with contextlib.suppress(OSError):
            info = entry.stat(follow_symlinks=False)
            digest.update(f"{info.st_mode}:{info.st_size}:{info.st_mtime_ns}".encode())
    return digest.hexdigest()


#: The most cells a submitted notebook may have (the assignments have about 30).
MAX_CELLS = 2000


def _prepare(config, coursedir, student: str, assignment: str, notebooks: list[str],
             grade_ids: list[str], expected: dict) -> tuple[dict | None, str | None, list[str]]:
    """``(task data, None, notes)`` for a gradable submission, or ``(None, reason, notes)``.

    The task data holds each sanitized notebook as JSON text, the submission's timestamp and the files
    that were refused or ignored (``notes``).
    """
    import nbformat
    from nbgrader.preprocessors import CheckCellMetadata, ClearOutput, DeduplicateIds, OverwriteCells, \
        OverwriteKernelspec

    root = Path(coursedir.root)
    found = read_submission(root / coursedir.submitted_directory, student, assignment, notebooks)
    notes = [f"refused: {text}" for text in found.refused]
    notes += [f"ignored, never run: {name}" for name in found.code_beside]
    if not found.notebooks:
        refused = [text for text in found.refused if ".ipynb" in text]
        if refused:
            return None, refused[0], notes
        present = sorted(text.rsplit(" (", 1)[0] for text in found.ignored if ".ipynb" in text)
        expected = " or ".join(f"{name}.ipynb" for name in notebooks)
        return None, f"no {expected} in the submission (found: {', '.join(present) or 'no notebook'})", notes
    sanitized = {}
    for name, data in found.notebooks.items():
        try:
            notebook = nbformat.reads(data.decode("utf-8"), as_version=4)
        except Exception as error:  # noqa: BLE001 (any unreadable notebook is a broken submission)
            first = str(error).strip().splitlines()[0] if str(error).strip() else ""
            return None, f"{name}.ipynb is not a valid notebook ({type(error).__name__}: {first[:200]})", notes
        if len(notebook.cells) > MAX_CELLS:
            return None, f"{name}.ipynb has {len(notebook.cells)} cells (the limit is {MAX_CELLS})", notes
        ids = {cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") for cell in notebook.cells
               if isinstance(cell.get("metadata"), dict) and isinstance(cell["metadata"].get("nbgrader"), dict)}
        if grade_ids and not ids & set(grade_ids):
            return None, f"not a notebook of {assignment}: none of its graded cells is in the submission", notes
        _reset_metadata(notebook, expected.get(name, {}))
        resources = {"nbgrader": {"notebook": name, "assignment": assignment, "student": student,
                                  "db_url": coursedir.db_url}}
        try:
            for step in (ClearOutput(config=config), DeduplicateIds(config=config),
                         OverwriteKernelspec(config=config), OverwriteCells(config=config)):
                notebook, resources = step.preprocess(notebook, resources)
            # cells the gradebook does not know lose their grade_id above: they are plain cells, and the
            # test cells a student deleted are put back (run and scored as if never deleted)
            for cell in notebook.cells:
                if "grade_id" not in cell.get("metadata", {}).get("nbgrader", {"grade_id": None}):
                    del cell["metadata"]["nbgrader"]
            for step in (OverwriteCells(config=config, add_missing_cells=True), CheckCellMetadata(config=config)):
                notebook, resources = step.preprocess(notebook, resources)
        except Exception as error:  # noqa: BLE001 (nbgrader refuses the notebook: its reason is the report)
            return None, f"{name}.ipynb: nbgrader cannot grade it ({type(error).__name__}: {str(error)[:200]})", notes
        sanitized[name] = nbformat.writes(notebook)
    timestamp = found.timestamp.isoformat() if found.timestamp else None
    return {"notebooks": sanitized, "timestamp": timestamp, "secret": found.secret}, None, notes


# --------------------------------------------------------------------------------------------------
# step 3 (a worker process): run each notebook once, student code in the sandbox

def _worker_init(workdir: str) -> None:
    """A worker's stderr goes to a file (the terminal keeps the progress line); it dies with the grader."""
    import threading
    import warnings

    warnings.filterwarnings("ignore")
    handle = os.open(os.path.join(workdir, f"worker-{os.getpid()}.stderr"), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(handle, 2)
    os.close(handle)
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _grade_one(task: dict) -> dict:
    """Run the sanitized notebooks of one submission (in a worker process); plain data back."""
    import nbformat

    from dlopt_reference.isolation import regrade_notebook

    start = time.monotonic()
    root, workdir = Path(task["root"]), Path(task["workdir"])
    result = {"student": task["student"], "assignment": task["assignment"], "ok": False, "reason": None,
              "notebooks": {}}
    try:
        for name, text in task["notebooks"].items():
            source = nbformat.read(root / task["source_dir"] / task["assignment"] / f"{name}.ipynb", as_version=4)
            notebook = nbformat.reads(text, as_version=4)
            scratch = Path(tempfile.mkdtemp(prefix=f"{task['assignment']}-{name}-", dir=workdir / "scratch"))
            try:
                run = regrade_notebook(source, notebook, root, scratch, timeout=task["timeout"],
                                       budget=task["budget"], extra_deny=[task["workdir"]],
                                       zygote_dir=workdir / f"zygotes-{os.getpid()}", confine=task["confine"])
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
            result["notebooks"][name] = {
                "cells": {grade_id: [v.points, v.max_points, v.message] for grade_id, v in run.cells.items()},
                "outputs": {str(index): outputs for index, outputs in run.outputs.items()},
                "refused": [list(item) for item in run.refused], "timed_out": run.timed_out,
                "seconds": run.seconds}
        result["ok"] = True
    except Exception as error:  # noqa: BLE001 (a worker never raises: every problem is a failure report)
        result["reason"] = f"{type(error).__name__}: {error}"
    finally:
        result["seconds"] = time.monotonic() - start
    return result


# --------------------------------------------------------------------------------------------------
# step 4 (this process): the outputs into the notebook, nbgrader's scoring into the gradebook

def _remove_tree(path: Path) -> None:
    """``rmtree`` that also removes read-only files and folders (nbgrader writes autograded files 444)."""
    def retry(function, name, _):
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(name), stat.S_IRWXU)
            os.chmod(name, stat.S_IRWXU)
        function(name)

    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path, onerror=retry)


def _fill_outputs(notebook, run: dict) -> None:
    """Give each code cell the outputs of the one run (the cells are those the run was given)."""
    import nbformat

    outputs = run.get("outputs", {})
    for index, cell in enumerate(notebook.cells):
        if cell.get("cell_type") == "code":
            cell["outputs"] = [nbformat.from_dict(_writable(output)) for output in outputs.get(str(index), [])]
            cell["execution_count"] = None


def _writable(value):
    """``value`` with every string encodable (a lone surrogate of the student's becomes a backslash escape)."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, list):
        return [_writable(item) for item in value]
    if isinstance(value, dict):
        return {_writable(key): _writable(item) for key, item in value.items()}
    return value


def _merge(config, coursedir, student: str, assignment: str, prepared: dict, result: dict) -> None:
    """Write one graded submission into the gradebook and ``autograded/`` (see the module docstring)."""
    import datetime

    import nbformat
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.preprocessors import AssignLatePenalties, SaveAutoGrades

    root = Path(coursedir.root)
    destination = root / coursedir.autograded_directory / student / assignment
    # 1. the old autograded folder goes first: from here until step 3, the submission counts as ungraded
    _remove_tree(destination)

    # 2. the gradebook, as stock autograde writes it (Autograde.init_assignment, then its preprocessors)
    db_url = coursedir.db_url
    timestamp = datetime.datetime.fromisoformat(prepared["timestamp"]) if prepared["timestamp"] else None
    with Gradebook(db_url, coursedir.course_id) as gradebook:
        gradebook.update_or_create_student(student)
        if timestamp:
            gradebook.update_or_create_submission(assignment, student, timestamp=timestamp)
        else:
            gradebook.update_or_create_submission(assignment, student)
        known = {notebook.name for notebook in gradebook.find_assignment(assignment).notebooks}
        for name in sorted(known - set(prepared["notebooks"])):  # a notebook not handed in scores zero
            submission = gradebook.find_submission_notebook(name, assignment, student)
            for grade in submission.grades:
                grade.auto_score = 0
                grade.needs_manual_grade = False
            gradebook.db.commit()
    scored = {}
    for name, text in prepared["notebooks"].items():
        if name not in known:
            continue
        notebook = nbformat.reads(text, as_version=4)
        _fill_outputs(notebook, result["notebooks"][name])
        resources = {"nbgrader": {"notebook": name, "assignment": assignment, "student": student, "db_url": db_url}}
        for preprocessor in (SaveAutoGrades(config=config), AssignLatePenalties(config=config)):
            notebook, resources = preprocessor.preprocess(notebook, resources)
        scored[name] = notebook
    try:
        with Gradebook(db_url, coursedir.course_id) as gradebook:
            gradebook.find_submission(assignment, student)
    except MissingEntry as error:  # pragma: no cover (update_or_create_submission made it)
        raise RuntimeError(f"merge of {student}/{assignment} left no submission") from error

    # 3. the autograded folder, placed atomically (written beside it, then renamed)
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.parent / f".{assignment}.partial"
    _remove_tree(partial)
    partial.mkdir()
    for name, notebook in scored.items():
        nbformat.write(notebook, partial / f"{name}.ipynb")
    if prepared["timestamp"]:
        (partial / "timestamp.txt").write_text(timestamp.strftime("%Y-%m-%d %H:%M:%S.%f %Z").strip())
    if prepared.get("secret"):  # generate_feedback copies it on; release_feedback names the page with it
        (partial / SECRET_NAME).write_text(prepared["secret"])
    os.replace(partial, destination)


def _incident_kind(event: str) -> str:
    from dlopt_reference.isolation import LIMIT_EVENTS

    if event == "tampered":
        return "tampered in the sandbox"
    return "stopped at a limit" if event in LIMIT_EVENTS else "refused in the sandbox"


def _incidents(result: dict, notes: list[str], student: str, assignment: str) -> list[Incident]:
    """What the sandbox refused or the kernel stopped, what the student's code replaced in its own process
    (``tampered``: numpy's functions, builtins, import hooks, ...), the limits (time, output, file size) that
    stopped it, and the files of the folder that were refused."""
    found = [Incident(student, assignment, _incident_kind(event), detail if event == "tampered" else f"{event}: {detail}")
             for run in (result or {}).get("notebooks", {}).values() for event, detail in run.get("refused", [])]
    found += [Incident(student, assignment, "submission folder", note) for note in notes]
    return found


def _graded_submissions(coursedir, assignments: list[str]) -> set[tuple[str, str]]:
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


def _assignment_cells(coursedir, assignment: str) -> tuple[list[str], list[str], dict]:
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


def _reset_metadata(notebook, expected: dict) -> None:
    """Each cell's nbgrader metadata as the gradebook records it: a student cannot turn a test cell into a
    solution, change its points or unlock it. Cells the gradebook does not know are plain cells."""
    for cell in notebook.cells:
        metadata = cell.get("metadata")
        if not isinstance(metadata, dict) or "nbgrader" not in metadata:
            continue
        meta = metadata["nbgrader"]
        grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
        if not isinstance(grade_id, str) or grade_id not in expected:
            del metadata["nbgrader"]
            continue
        meta.pop("points", None)
        meta.update(expected[grade_id], schema_version=3)


class _Progress:
    """``graded 12/200 (1 failed) ...`` on stderr, updated in place (tqdm is not a dependency)."""

    def __init__(self, total: int, enabled: bool):
        self.total, self.done, self.failed, self.enabled = total, 0, 0, enabled and total > 0
        self.start = time.monotonic()
        self.tty = sys.stderr.isatty()
        self._show()

    def update(self, failed: bool, label: str) -> None:
        self.done += 1
        self.failed += int(failed)
        self._show(label)

    def _show(self, label: str = "") -> None:
        if not self.enabled:
            return
        elapsed = time.monotonic() - self.start
        rate = self.done / elapsed * 60 if elapsed > 0 and self.done else 0.0
        line = f"graded {self.done}/{self.total} ({self.failed} failed) {rate:.1f}/min {label}"
        if self.tty:
            sys.stderr.write("\r" + line[:110].ljust(110))
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled and self.tty:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _load_failures(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _save_failures(path: Path, failures: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(failures, indent=1, sort_keys=True))
    os.replace(temporary, path)


def grade_class(root: Path, assignments: list[str], workers: int | None = None, force: bool = False,
                students: list[str] | None = None, progress: bool = True,
                allow_weak_isolation: bool = False) -> GradeReport:
    """Grade every submission of ``assignments`` in the course ``root``; see the module's docstring.

    Raises :class:`GradingSetupError` if the course cannot be graded, and if this machine's kernel
    cannot confine students' code (unless ``allow_weak_isolation``: then a warning is logged and
    printed, and the student's code runs without the kernel's boundary).
    """
    started = time.monotonic()
    root = Path(root).resolve()
    workers = max(1, workers or os.cpu_count() or 1)
    problems = check_isolation()
    if problems and not allow_weak_isolation:
        raise GradingSetupError("this machine cannot confine students' code, so `grade` will not run it:\n  - "
                                + "\n  - ".join(problems) + "\nSee the book's page 'Grading integrity' for what the "
                                "kernel must offer; --allow-weak-isolation runs without that boundary (never for "
                                "a real class)")
    config, coursedir = load_course(root)
    exposures = shared_machine_exposures(config, coursedir)
    if exposures:
        raise GradingSetupError(
            "this course's exchange is on this machine, so students have accounts here, and they can reach the "
            "course:\n  - " + "\n  - ".join(exposures) + f"\nRun hub-setup (README: 'Many students: JupyterHub') "
            f"as root, or close the course yourself (chmod 700 {root})")
    import warnings

    warnings.filterwarnings("ignore", module="nbgrader")  # SQLAlchemy's SAWarnings from nbgrader's gradebook code
    warnings.filterwarnings("ignore", module="nbformat")  # a submission's missing cell ids: not the class's problem
    database = _sqlite_path(coursedir.db_url)
    if database is not None and not database.exists():
        raise GradingSetupError(f"no gradebook at {database}: run `nbgrader generate_assignment` first")
    autograded = root / coursedir.autograded_directory
    autograded.mkdir(exist_ok=True)
    log_path, failures_path = autograded / LOG_NAME, autograded / FAILURES_NAME
    known_failures = _load_failures(failures_path)

    report = GradeReport()
    cells = {assignment: _assignment_cells(coursedir, assignment) for assignment in assignments}
    done = set() if force else _graded_submissions(coursedir, assignments)
    tasks = []
    for assignment in assignments:
        for folder in sorted((root / coursedir.submitted_directory).glob(f"*/{assignment}")):
            student = folder.parent.name
            if students and student not in students:
                continue
            if one_line(student) != student or len(student) > 200:  # nbgrader could not store it either
                report.failures.append(Failure(student, assignment, "the student's folder name is not a "
                                               "printable name of at most 200 characters"))
                continue
            key = f"{student}/{assignment}"
            if (student, assignment) in done:
                report.skipped.append((student, assignment))
                continue
            old = known_failures.get(key)
            if not force and old and old.get("fingerprint") == _fingerprint(folder):
                report.failures.append(Failure(student, assignment, old["reason"] + " (unchanged since it failed)"))
                continue
            tasks.append((student, assignment))

    crash_after = int(os.environ.get(CRASH_AFTER_ENV, "0") or 0)
    merges = 0
    bar = _Progress(len(tasks), progress)
    timeout = float(getattr(config.Execute, "timeout", 120) or 120) if "Execute" in config else 120.0
    with open(log_path, "a", errors="backslashreplace") as log, \
            tempfile.TemporaryDirectory(prefix="dlopt-grade-") as workdir:
        os.chmod(workdir, 0o700)
        (Path(workdir) / "scratch").mkdir()
        log.write(f"== {time.strftime('%Y-%m-%d %H:%M:%S')} grade {' '.join(assignments)}: {len(tasks)} to grade, "
                  f"{len(report.skipped)} already graded, {workers} worker(s)\n")
        if problems:
            warning = ("WARNING: students' code runs WITHOUT the kernel's boundary (--allow-weak-isolation): "
                       + "; ".join(problems))
            log.write(warning + "\n")
            print(warning, file=sys.stderr)
        # the gradebook guard (SQLite): a change made by anyone but this process is undone and reported
        guard = GradebookGuard(database, Path(workdir) / "guard.db") if database is not None else None
        incidents_path = autograded / INCIDENTS_NAME

        def record(incidents: list[Incident]) -> None:
            report.incidents.extend(incidents)
            append_incidents(incidents_path, incidents)
            for incident in incidents:
                log.write(f"INCIDENT {incident}\n")

        def check_gradebook(when: str) -> None:
            if guard is not None and not guard.verify():
                record([Incident("?", " ".join(assignments), "gradebook tampered",
                                 f"the gradebook changed {when} without the grader; restored from its last copy")])

        def record_failure(student: str, assignment: str, reason: str, detail: str = ""):
            report.failures.append(Failure(student, assignment, reason))
            folder = root / coursedir.submitted_directory / student / assignment
            known_failures[f"{student}/{assignment}"] = {"reason": reason, "fingerprint": _fingerprint(folder)}
            _save_failures(failures_path, known_failures)
            log.write(f"FAILED {student} / {assignment}: {reason}\n")
            if detail:
                log.write("".join(f"    {line}\n" for line in detail.splitlines()[-40:]))
            log.flush()

        common = {"root": str(root), "workdir": workdir, "timeout": timeout, "budget": 1.5 * timeout,
                  "confine": not problems, "source_dir": coursedir.source_directory}
        pending = list(tasks)
        for attempt in range(2):  # a second round only if a worker process died (BrokenProcessPool)
            if not pending:
                break
            broken: list[tuple[str, str]] = []
            context = multiprocessing.get_context("spawn")
            executor = concurrent.futures.ProcessPoolExecutor(max_workers=min(workers, len(pending)),
                                                              mp_context=context, initializer=_worker_init,
                                                              initargs=(workdir,))
            queue = list(pending)
            running: dict = {}  # future -> (student, assignment, prepared, notes)

            def submit_more() -> None:
                # a few submissions ahead of the workers: sanitizing (here) overlaps with running (there)
                while queue and len(running) < 2 * workers:
                    student, assignment = queue.pop(0)
                    notebooks, grade_ids, expected = cells[assignment]
                    try:
                        prepared, reason, notes = _prepare(config, coursedir, student, assignment, notebooks,
                                                           grade_ids, expected)
                    except Exception as error:  # noqa: BLE001 (one unreadable submission never stops the class)
                        prepared, reason, notes = None, f"{type(error).__name__}: {error}", []
                    if prepared is None:
                        record(_incidents({}, notes, student, assignment))
                        record_failure(student, assignment, reason)
                        bar.update(True, f"{student}/{assignment}")
                        continue
                    task = dict(common, student=student, assignment=assignment, notebooks=prepared["notebooks"])
                    running[executor.submit(_grade_one, task)] = (student, assignment, prepared, notes)

            try:
                submit_more()
                while running:
                    finished, _ = concurrent.futures.wait(running, return_when=concurrent.futures.FIRST_COMPLETED)
                    for future in finished:
                        student, assignment, prepared, notes = running.pop(future)
                        key = f"{student}/{assignment}"
                        try:
                            result = future.result()
                        except concurrent.futures.process.BrokenProcessPool:
                            if attempt == 0:
                                broken.append((student, assignment))
                            else:
                                record_failure(student, assignment, "the grading worker process died")
                                bar.update(True, key)
                            continue
                        check_gradebook(f"while {key} was graded")
                        record(_incidents(result, notes, student, assignment))
                        if not result["ok"]:
                            record_failure(student, assignment, result["reason"] or "unknown error")
                            bar.update(True, key)
                            continue
                        try:
                            try:
                                _merge(config, coursedir, student, assignment, prepared, result)
                            finally:
                                if guard is not None:
                                    guard.commit()  # the grader's own writes, complete or not
                        except Exception as error:  # noqa: BLE001
                            record_failure(student, assignment, f"merge failed: {type(error).__name__}: {error}")
                            bar.update(True, key)
                            continue
                        report.graded.append((student, assignment))
                        if known_failures.pop(key, None) is not None:
                            _save_failures(failures_path, known_failures)
                        timed_out = [t for run in result["notebooks"].values() for t in run.get("timed_out", [])]
                        log.write(f"graded {key} in {result['seconds']:.1f} s"
                                  + (f" (out of time: {', '.join(timed_out)})" if timed_out else "") + "\n")
                        log.flush()
                        bar.update(False, key)
                        merges += 1
                        if crash_after and merges >= crash_after:
                            raise SimulatedCrash(f"{CRASH_AFTER_ENV}={crash_after}: stopping after {merges} merges")
                    submit_more()
            finally:
                executor.shutdown(wait=True, cancel_futures=True)
            pending = broken
        check_gradebook("during grading")
        bar.close()
        report.seconds = time.monotonic() - started
        log.write(f"== done: {len(report.graded)} graded, {len(report.skipped)} skipped, "
                  f"{len(report.failures)} failed, {report.seconds:.1f} s\n")
    return report


# --------------------------------------------------------------------------------------------------
# command line (registered by __main__.py)

GRADING_COMMANDS = ("grade", "export", "bench-grading", "import-submissions", "similarity", "bench-similarity")


def add_grading_commands(commands) -> None:
    import argparse

    root_help = "the nbgrader course folder (default: the --root before the command, or the current folder)"
    grade = commands.add_parser(
        "grade", help="autograde a class in parallel, resumably, with students' code confined by the kernel",
        description="Autograde every submission of ASSIGNMENT...: each notebook runs once, the student's code in "
                    "a process the kernel confines (Landlock, seccomp), the tests in the grader's process, on "
                    "parallel workers; nbgrader scores each result into the gradebook as it completes. A rerun "
                    "skips what is graded; unreadable submissions are reported and skipped.")
    grade.add_argument("assignments", nargs="+", metavar="ASSIGNMENT")
    grade.add_argument("--root", type=Path, default=argparse.SUPPRESS, help=root_help)
    grade.add_argument("--workers", type=int, default=os.cpu_count(), help="worker processes (default: all cores)")
    grade.add_argument("--force", action="store_true", help="regrade submissions already graded")
    grade.add_argument("--student", action="append", dest="students", metavar="STUDENT",
                       help="grade only this student (repeatable)")
    grade.add_argument("--no-progress", action="store_true", help="no progress line on stderr")
    grade.add_argument("--allow-weak-isolation", action="store_true",
                       help="run students' code even where the kernel cannot confine it (Landlock and seccomp "
                            "missing); never for a real class")
    export = commands.add_parser(
        "export", help="scores CSV for an LMS (Points Possible row, empty = not graded) and a diagnoses CSV",
        description="Write the scores of ASSIGNMENT... as a CSV an LMS imports (a row per student, a column per "
                    "assignment and the total, a 'Points Possible' row; an ungraded or missing submission is an "
                    "empty cell) and, in a second CSV, why: each failed check's diagnosis, each submission not "
                    "graded and why, each incident.")
    export.add_argument("assignments", nargs="+", metavar="ASSIGNMENT")
    export.add_argument("--root", type=Path, default=argparse.SUPPRESS, help=root_help)
    export.add_argument("--csv", type=Path, required=True, help="the scores CSV to write")
    export.add_argument("--diagnoses", type=Path, default=None,
                        help="the diagnoses CSV to write (default: <csv name>.diagnoses.csv beside it)")
    export.add_argument("--roster", type=Path, default=None,
                        help="a CSV with columns student_id and lms_id (e.g. Canvas SIS user id): adds an lms_id "
                             "column and a row for every student of the roster")
    export.add_argument("--missing-as-zero", action="store_true",
                        help="write 0, not an empty cell, for a missing or ungraded submission")
    export.add_argument("--canvas", type=Path, default=None,
                        help="also write the scores as a Canvas gradebook CSV (needs --roster: its lms_id is the SIS "
                             "User ID)")
    export.add_argument("--canvas-assignment", action="append", default=[], metavar="ASSIGNMENT=CANVAS_ID",
                        help="the Canvas id of an assignment, for its column in --canvas (repeatable)")
    bench = commands.add_parser("bench-grading", help="time stock sequential autograde against `grade` (on copies)")
    bench.add_argument("--root", type=Path, default=argparse.SUPPRESS, help="the course root (with exercises/)")
    bench.add_argument("--students", type=int, default=6, help="students per assignment (default 6)")
    bench.add_argument("--assignments", nargs="+", default=None, help="default: every assignment")
    bench.add_argument("--workers", type=int, default=os.cpu_count(), help="worker processes (default: all cores)")
    bench.add_argument("--keep", action="store_true", help="keep the temporary courses")
    sim = commands.add_parser(
        "similarity", help="which submissions of an assignment were copied from one another (HTML report, CSV)",
        description="Compare the answer cells of every submission of ASSIGNMENT... (released stub subtracted; "
                    "formatting, comments, docstrings, variable names and the order of independent lines "
                    "normalised away; code more than a tenth of a large class shares ignored) and report the "
                    "pairs of students scoring at least --threshold: a CSV of pairs and one self-contained HTML "
                    "page with the two students' code side by side. Independent right answers are not flagged: "
                    "they agree on outputs, not on code. A submission that cannot be read is skipped and listed.")
    sim.add_argument("assignments", nargs="+", metavar="ASSIGNMENT")
    sim.add_argument("--root", type=Path, default=argparse.SUPPRESS, help=root_help)
    sim.add_argument("--html", type=Path, required=True, help="the report to write (one file, works offline)")
    sim.add_argument("--csv", type=Path, default=None, help="also write the pairs as CSV "
                                                            "(assignment, student_a, student_b, score, cells)")
    sim.add_argument("--threshold", type=float, default=None, help="report pairs scoring at least this "
                                                                   "(0..1; default 0.6, tuned by bench-similarity)")
    bsim = commands.add_parser("bench-similarity",
                               help="precision and recall of `similarity` on planted copies, and its time on a "
                                    "synthetic class (300 students x 10 assignments by default)")
    bsim.add_argument("--root", type=Path, default=argparse.SUPPRESS, help="the course root (with exercises/)")
    bsim.add_argument("--students", type=int, default=300, help="students of the synthetic class (default 300)")
    bsim.add_argument("--keep", action="store_true", help="keep the temporary courses")
    add_import_command(commands)


def run_similarity_command(args, root: Path, parser) -> int:
    """``similarity`` and ``bench-similarity`` (see ``similarity.py`` and ``bench_similarity.py``)."""
    if args.command == "bench-similarity":
        from .bench_similarity import bench_similarity

        if not (root / "exercises").is_dir():
            parser.error(f"{root} has no exercises/; use --root")
        return bench_similarity(root, students=args.students, keep=args.keep)
    from .similarity import THRESHOLD, SimilarityError, similarity, write_csv, write_html

    threshold = THRESHOLD if args.threshold is None else args.threshold
    try:
        report = similarity(root, args.assignments, threshold)
    except SimilarityError as error:
        print(f"similarity: {error}", file=sys.stderr)
        return 2
    write_html(report, args.html, threshold)
    print(f"compared {', '.join(f'{a}: {n} submission(s)' for a, n in report.students.items())}")
    print(f"{len(report.pairs)} pair(s) at or above {threshold:.2f}; wrote {args.html}")
    for pair in report.pairs[:20]:
        print(f"  {pair.score:.2f}  {pair.assignment}  {pair.student_a} & {pair.student_b}  ({', '.join(pair.cells)})")
    if args.csv is not None:
        write_csv(report, args.csv)
        print(f"wrote {args.csv}")
    if report.skipped:
        print(f"not compared ({len(report.skipped)}):")
        for line in report.skipped:
            print(f"  {line}")
    return 0


def run_grading_command(args, root: Path, parser) -> int:
    if args.command in ("similarity", "bench-similarity"):
        return run_similarity_command(args, root, parser)
    if args.command == "bench-grading":
        from .bench_grading import bench_grading

        if not (root / "exercises").is_dir():
            parser.error(f"{root} has no exercises/; use --root")
        return bench_grading(root, students=args.students, assignments=args.assignments, workers=args.workers,
                             keep=args.keep)
    if not (root / "nbgrader_config.py").is_file():
        parser.error(f"{root} is not an nbgrader course folder (no nbgrader_config.py); use --root")
    if args.command == "import-submissions":
        return import_submissions(root, args.assignment, args.download, roster_csv=args.roster,
                                  dry_run=args.dry_run, force=args.force)
    if args.command == "export":
        from .export import ExportError, export, parse_canvas_ids

        try:
            table, diagnoses = export(root, args.assignments, args.csv, args.diagnoses, args.roster,
                                      args.missing_as_zero, args.canvas, parse_canvas_ids(args.canvas_assignment))
        except ExportError as error:
            print(f"export: {error}", file=sys.stderr)
            return 2
        empty = sum(1 for row in table.rows for a in table.assignments if row[a] == "")
        print(f"wrote {args.csv}: {len(table.rows)} student(s), {empty} empty (ungraded or missing) score(s)")
        print(f"wrote {diagnoses}: {len(table.diagnoses)} diagnosis row(s)")
        if args.canvas is not None:
            print(f"wrote {args.canvas}: Canvas gradebook CSV, the students with an LMS id")
        unlisted = [row["student"] for row in table.rows if table.with_lms_id and not row["lms_id"]]
        if unlisted:
            print(f"no LMS id for {len(unlisted)} student(s) (not in the roster): {', '.join(unlisted)}")
        return 0
    try:
        report = grade_class(root, args.assignments, workers=args.workers, force=args.force,
                             students=args.students, progress=not args.no_progress,
                             allow_weak_isolation=args.allow_weak_isolation)
    except GradingSetupError as error:
        print(f"grade: {error}", file=sys.stderr)
        return 2
    print(f"graded {len(report.graded)}, already graded (skipped) {len(report.skipped)}, "
          f"failed {len(report.failures)} in {report.seconds:.1f} s")
    if report.failures:
        print("not graded (student / assignment: reason):")
        for failure in report.failures:
            print(f"  {failure}")
        print(f"details: {root / 'autograded' / LOG_NAME}")
    if report.incidents:
        print(f"{len(report.incidents)} incident(s) (what submissions attempted and were refused, or changed in "
              f"their own process; see "
              f"{root / 'autograded' / INCIDENTS_NAME}):")
        for incident in report.incidents[:50]:
            print(f"  {incident}")
    return 1 if report.failures else 0
