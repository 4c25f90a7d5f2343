"""Grade a whole class in parallel, resumably, with exactly the scores of a sequential ``nbgrader autograde``.

Stock ``nbgrader autograde`` grades one submission after the other (nbgrader issue #174), and its SQLite
gradebook is not safe for concurrent writers. Here:

1. each (student, assignment) submission is graded by **stock nbgrader** (its ``AutogradeApp``, with the
   course's configuration) in a worker process of a ``ProcessPoolExecutor``, inside a private course
   folder whose ``gradebook.db`` is a copy of the main one (it holds the assignment's source cells and
   hidden tests, which nbgrader writes back into the submission before executing it);
2. the parent merges each result **as it completes, one at a time**, into the main gradebook by running
   nbgrader's own gradebook steps on the autograded notebook (``update_or_create_student``,
   ``update_or_create_submission`` with the submission's timestamp, then the ``SaveAutoGrades`` and
   ``AssignLatePenalties`` preprocessors, which compute each cell's score from the executed notebook
   exactly as stock autograde does), then moves the autograded folder into ``autograded/<s>/<a>/``.
   A submission counts as graded only when its grades are in the gradebook *and* its autograded
   notebook is in place (the old one is removed before merging), so a crash at any moment loses
   nothing already merged and leaves nothing half-done that a rerun would skip;
3. a rerun skips graded submissions (unless ``--force``, or the submission's ``timestamp.txt`` is newer
   than the autograded one, as stock nbgrader does) and broken submissions unchanged since they failed;
4. a broken submission (invalid JSON, no ``<assignment>.ipynb``, a notebook of another assignment, a
   kernel that dies, ...) is reported with its reason at the end, in ``autograded/grade_class.log`` and in
   ``autograded/.grade_class_failures.json``; it never stops the class and never touches the gradebook.

``export`` writes one CSV row per student: the score of each assignment, the total, and per assignment
the diagnosis of each failed check (the first lines of the error of each failed test cell), read from
the autograded notebooks. Feedback stays stock: ``nbgrader generate_feedback ASSIGNMENT``.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import csv
import hashlib
import io
import json
import logging
import multiprocessing
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from .integrity import (INCIDENTS_NAME, GradebookGuard, Incident, append_incidents, apply_regrade, kernel_lockdown,
                        kernel_refusals, read_incidents, regrade_incidents, regrade_submission, sqlite_snapshot)

#: Benchmark only (``bench-grading``'s baseline): ``=1`` grades without the integrity layer of
#: integrity.py (no locked kernel, no isolated regrade), i.e. as before issue 5. Never for a real class.
BASELINE_ENV = "DLOPT_GRADE_BASELINE_WITHOUT_ISOLATION"

#: Test hook: the parent raises :class:`SimulatedCrash` right after this many merges (resumability tests).
CRASH_AFTER_ENV = "DLOPT_GRADE_CRASH_AFTER"

LOG_NAME = "grade_class.log"
FAILURES_NAME = ".grade_class_failures.json"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class SimulatedCrash(RuntimeError):
    """Raised by the test hook ``DLOPT_GRADE_CRASH_AFTER=N`` after N merges."""


class GradingSetupError(RuntimeError):
    """The course cannot be graded (no gradebook, assignment not generated, non-SQLite database...)."""


@dataclass
class Failure:
    student: str
    assignment: str
    reason: str

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


def _sqlite_path(db_url: str) -> Path:
    prefix = "sqlite:///"
    if not db_url.startswith(prefix):
        raise GradingSetupError(f"parallel grading needs an SQLite gradebook; db_url is {db_url!r}")
    return Path(db_url[len(prefix):])


# --------------------------------------------------------------------------------------------------
# the worker: stock nbgrader autograde of one submission in a private course folder

def _fingerprint(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _precheck(folder: Path, notebooks: list[str], grade_ids: list[str], assignment: str) -> str | None:
    """Why a submission cannot be graded, found without running it (``None``: looks gradable)."""
    import nbformat

    present = sorted(p.name for p in folder.glob("*.ipynb"))
    expected = [f"{name}.ipynb" for name in notebooks]
    if not any(name in present for name in expected):
        found = ", ".join(present) if present else "no notebook"
        return f"no {' or '.join(expected)} in the submission (found: {found})"
    ids: set[str] = set()
    for name in expected:
        path = folder / name
        if not path.exists():
            continue
        try:
            notebook = nbformat.read(path, as_version=4)
        except Exception as error:  # noqa: BLE001 (any unreadable notebook is a broken submission)
            first = str(error).strip().splitlines()[0] if str(error).strip() else ""
            return f"{name} is not a valid notebook ({type(error).__name__}: {first[:200]})"
        ids |= {cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") for cell in notebook.cells}
    if grade_ids and not ids & set(grade_ids):
        return f"not a notebook of {assignment}: none of its graded cells is in the submission"
    return None


def _reason_from_log(log: str) -> str:
    """The most telling line of a failed nbgrader autograde's log."""
    lines = [_ANSI.sub("", line).rstrip() for line in log.splitlines()]
    for i, line in enumerate(lines):
        if "There was an error processing assignment" in line:
            tail = [l for l in lines[i + 1:] if l.strip() and not l.startswith("[")]
            # the last line of the traceback is the exception
            traceback_lines = []
            for l in lines[i + 1:]:
                if l.startswith("[") and traceback_lines:
                    break
                if l.strip():
                    traceback_lines.append(l.strip())
            if traceback_lines:
                return traceback_lines[-1][:300]
            if tail:
                return tail[0][:300]
    errors = [l[len("[ERROR] "):] for l in lines if l.startswith("[ERROR]")]
    return (errors[0] if errors else "nbgrader autograde failed (see the log)")[:300]


def _worker_init(workdir: str) -> None:
    """A worker's (and its kernels') stderr goes to a file: the terminal keeps the progress line."""
    import warnings

    warnings.filterwarnings("ignore")  # SQLAlchemy's SAWarnings from nbgrader's gradebook code
    handle = os.open(os.path.join(workdir, f"worker-{os.getpid()}.stderr"), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(handle, 2)
    os.close(handle)

    # if the grader is killed (kill -9), its workers must not linger: they exit when their parent is gone
    # (their kernels too: ipykernel exits when its parent process dies)
    import threading

    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _grade_one(task: dict) -> dict:
    """Grade one submission with stock nbgrader in a private course folder (runs in a worker process)."""
    start = time.monotonic()
    root, workdir = Path(task["root"]), Path(task["workdir"])
    student, assignment = task["student"], task["assignment"]
    result = {"student": student, "assignment": assignment, "ok": False, "reason": None, "log": "",
              "private": None, "fingerprint": None}
    try:
        submitted = root / task["submitted_dir"] / student / assignment
        result["fingerprint"] = _fingerprint(submitted)
        reason = _precheck(submitted, task["notebooks"], task["grade_ids"], assignment)
        if reason:
            result["reason"] = reason
            return result
        private = Path(tempfile.mkdtemp(prefix=f"{assignment}-", dir=workdir))
        result["private"] = str(private)
        shutil.copy(root / "nbgrader_config.py", private / "nbgrader_config.py")
        (private / task["source_dir"]).mkdir(parents=True)
        (private / task["source_dir"] / assignment).symlink_to(root / task["source_dir"] / assignment)
        shutil.copytree(submitted, private / task["submitted_dir"] / student / assignment)
        shutil.copy(task["template_db"], private / "gradebook.db")
        source_texts = "".join((root / task["source_dir"] / assignment / f"{name}.ipynb").read_text()
                               for name in task["notebooks"])
        lockdown = kernel_lockdown(private, source_texts) if task["isolated"] else None

        from nbgrader.apps.autogradeapp import AutogradeApp

        saved_path = list(sys.path)
        with _in_directory(private):
            app = AutogradeApp()
            ok = False
            buffer = io.StringIO()
            try:
                app.initialize([assignment, "--student", student, "--force",
                                f"--CourseDirectory.root={private}",
                                f"--CourseDirectory.db_url=sqlite:///{private / 'gradebook.db'}"])
                if lockdown is not None:
                    app.config.Execute.extra_arguments = lockdown
                buffer = _quiet(app)
                app.start()
                ok = True
            except SystemExit as stop:
                ok = stop.code in (0, None)
            except Exception as error:  # noqa: BLE001
                buffer.write(f"[ERROR] There was an error processing assignment\n{type(error).__name__}: {error}\n")
            finally:
                sys.path[:] = saved_path
                with contextlib.suppress(Exception):
                    app.reset()
        result["log"] = buffer.getvalue()
        # the isolated regrade: the verdict that counts (see integrity.py)
        regrade_started = time.monotonic()
        result["regrade"] = {} if task["isolated"] else None
        for name in task["notebooks"] if task["isolated"] else []:
            notebook = submitted / f"{name}.ipynb"
            if notebook.exists():
                result["regrade"][name] = regrade_submission(
                    root / task["source_dir"] / assignment / f"{name}.ipynb", notebook, root,
                    private / f".regrade-{name}", task["timeout"], [task["workdir"]],
                    zygote_dir=Path(task["workdir"]) / f"zygotes-{os.getpid()}")
        result["regrade_seconds"] = time.monotonic() - regrade_started
        result["kernel_refused"] = kernel_refusals(private) if task["isolated"] else []
        graded = private / task["autograded_dir"] / student / assignment
        if ok and all((graded / f"{name}.ipynb").exists() for name in task["notebooks"]
                      if (submitted / f"{name}.ipynb").exists()):
            result["ok"] = True
        else:
            result["reason"] = _reason_from_log(result["log"])
    except Exception as error:  # noqa: BLE001 (a worker never raises: every problem is a failure report)
        result["reason"] = f"{type(error).__name__}: {error}"
    finally:
        result["seconds"] = time.monotonic() - start
    return result


# --------------------------------------------------------------------------------------------------
# the parent: merge one result into the main gradebook with nbgrader's own gradebook steps

def _merge(config, coursedir, student: str, assignment: str, private: Path, regrade: dict | None) -> list:
    """Write a worker's autograde of one submission into the main gradebook and ``autograded/``.

    Every test cell carries the isolated regrade's verdict (:func:`integrity.apply_regrade`) before
    nbgrader's ``SaveAutoGrades`` scores it; returns the incidents found.
    """
    import nbformat
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.preprocessors import AssignLatePenalties, SaveAutoGrades

    root = Path(coursedir.root)
    graded = private / coursedir.autograded_directory / student / assignment
    destination = root / coursedir.autograded_directory / student / assignment
    # 1. the old autograded folder goes first: from here until step 3, the submission counts as ungraded
    if destination.exists():
        shutil.rmtree(destination)

    # 2. the gradebook, as stock autograde writes it (Autograde.init_assignment, then its preprocessors)
    db_url = coursedir.db_url
    timestamp = coursedir.get_existing_timestamp(str(private / coursedir.submitted_directory / student / assignment))
    with Gradebook(db_url, coursedir.course_id) as gradebook:
        gradebook.update_or_create_student(student)
        if timestamp:
            gradebook.update_or_create_submission(assignment, student, timestamp=timestamp)
        else:
            gradebook.update_or_create_submission(assignment, student)
        known = {notebook.name for notebook in gradebook.find_assignment(assignment).notebooks}
        for name in sorted(known):
            if not (private / coursedir.submitted_directory / student / assignment / f"{name}.ipynb").exists():
                submission = gradebook.find_submission_notebook(name, assignment, student)
                for grade in submission.grades:
                    grade.auto_score = 0
                    grade.needs_manual_grade = False
                gradebook.db.commit()
    incidents = []
    for path in sorted(graded.glob("*.ipynb")):
        if path.stem not in known:
            continue
        notebook = nbformat.read(path, as_version=4)
        if regrade is not None:  # None: the benchmark's baseline (BASELINE_ENV)
            verdict = regrade.get(path.stem)
            if verdict is None:
                raise RuntimeError(f"no isolated regrade of {path.name}")
            incidents += apply_regrade(notebook, verdict, student, assignment)
            nbformat.write(notebook, path)
        resources = {"nbgrader": {"notebook": path.stem, "assignment": assignment, "student": student,
                                  "db_url": db_url}}
        for preprocessor in (SaveAutoGrades(config=config), AssignLatePenalties(config=config)):
            notebook, resources = preprocessor.preprocess(notebook, resources)
    try:
        with Gradebook(db_url, coursedir.course_id) as gradebook:
            gradebook.find_submission(assignment, student)
    except MissingEntry as error:  # pragma: no cover (update_or_create_submission made it)
        raise RuntimeError(f"merge of {student}/{assignment} left no submission") from error

    # 3. the autograded folder, placed atomically (copied beside it, then renamed)
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.parent / f".{assignment}.partial"
    if partial.exists():
        shutil.rmtree(partial)
    shutil.copytree(graded, partial)
    os.replace(partial, destination)
    return incidents


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
                scored = all(grade.auto_score is not None or grade.manual_score is not None
                             for nb in submission.notebooks for grade in nb.grades)
                if notebooks_ok and scored:
                    new = coursedir.get_existing_timestamp(
                        str(root / coursedir.submitted_directory / submission.student_id / assignment))
                    old = coursedir.get_existing_timestamp(str(folder))
                    if new is not None and old is not None and new > old:
                        continue  # resubmitted since it was graded: stock nbgrader regrades it too
                    done.add((submission.student_id, assignment))
    return done


def _assignment_cells(coursedir, assignment: str) -> tuple[list[str], list[str]]:
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
    return notebooks, grade_ids


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
                students: list[str] | None = None, progress: bool = True) -> GradeReport:
    """Autograde every submission of ``assignments`` in the course ``root``; see the module's docstring."""
    started = time.monotonic()
    root = Path(root).resolve()
    workers = max(1, workers or os.cpu_count() or 1)
    # nbgrader runs helper executables (alembic) by name; kernels start with this Python's bin/ first on PATH
    bin_dir = str(Path(sys.executable).parent)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != bin_dir:
        os.environ["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])
    config, coursedir = load_course(root)
    import warnings

    warnings.filterwarnings("ignore", module="nbgrader")  # SQLAlchemy's SAWarnings from nbgrader's gradebook code
    database = _sqlite_path(coursedir.db_url)
    if not database.exists():
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
            if not folder.is_dir():
                continue
            student = folder.parent.name
            if students and student not in students:
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
    with open(log_path, "a") as log, tempfile.TemporaryDirectory(prefix="dlopt-grade-") as workdir:
        log.write(f"== {time.strftime('%Y-%m-%d %H:%M:%S')} grade {' '.join(assignments)}: {len(tasks)} to grade, "
                  f"{len(report.skipped)} already graded, {workers} worker(s)\n")
        template = Path(workdir) / "template.db"
        sqlite_snapshot(database, template)
        guard = GradebookGuard(database, Path(workdir) / "guard.db")
        incidents_path = autograded / INCIDENTS_NAME
        timeout = float(getattr(config.Execute, "timeout", 120) or 120) if "Execute" in config else 120.0

        def check_gradebook(when: str) -> None:
            if not guard.verify():
                incident = Incident("?", " ".join(assignments), "gradebook tampered",
                                    f"the gradebook changed {when} without the grader; restored from its last copy")
                report.incidents.append(incident)
                append_incidents(incidents_path, [incident])
                log.write(f"INCIDENT {incident}\n")

        common = {"root": str(root), "workdir": workdir, "template_db": str(template), "timeout": timeout,
                  "isolated": os.environ.get(BASELINE_ENV) != "1",
                  "source_dir": coursedir.source_directory, "submitted_dir": coursedir.submitted_directory,
                  "autograded_dir": coursedir.autograded_directory}

        def record_failure(student: str, assignment: str, reason: str, fingerprint: str | None, detail: str = ""):
            report.failures.append(Failure(student, assignment, reason))
            known_failures[f"{student}/{assignment}"] = {"reason": reason, "fingerprint": fingerprint}
            _save_failures(failures_path, known_failures)
            log.write(f"FAILED {student} / {assignment}: {reason}\n")
            if detail:
                log.write("".join(f"    {line}\n" for line in detail.splitlines()[-40:]))
            log.flush()

        pending = list(tasks)
        for attempt in range(2):  # a second round only if a worker process died (BrokenProcessPool)
            if not pending:
                break
            broken: list[tuple[str, str]] = []
            context = multiprocessing.get_context("spawn")
            executor = concurrent.futures.ProcessPoolExecutor(max_workers=min(workers, len(pending)),
                                                              mp_context=context, initializer=_worker_init,
                                                              initargs=(workdir,))
            try:
                futures = {}
                for student, assignment in pending:
                    notebooks, grade_ids = cells[assignment]
                    task = dict(common, student=student, assignment=assignment, notebooks=notebooks,
                                grade_ids=grade_ids)
                    futures[executor.submit(_grade_one, task)] = (student, assignment)
                for future in concurrent.futures.as_completed(futures):
                    student, assignment = futures[future]
                    try:
                        result = future.result()
                    except concurrent.futures.process.BrokenProcessPool:
                        if attempt == 0:
                            broken.append((student, assignment))
                        else:
                            record_failure(student, assignment, "the grading worker process died", None)
                            bar.update(True, f"{student}/{assignment}")
                        continue
                    key = f"{student}/{assignment}"
                    check_gradebook(f"while {key} was graded")
                    refusals = [Incident(student, assignment, "refused in the kernel", text)
                                for text in result.get("kernel_refused", [])]
                    refusals += regrade_incidents(result.get("regrade"), student, assignment)
                    report.incidents += refusals
                    append_incidents(incidents_path, refusals)
                    for incident in refusals:
                        log.write(f"INCIDENT {incident}\n")
                    if result["ok"]:
                        try:
                            try:
                                found = _merge(config, coursedir, student, assignment, Path(result["private"]),
                                               result.get("regrade"))
                            finally:
                                guard.commit()  # the grader's own writes, complete or not
                            report.incidents += found
                            append_incidents(incidents_path, found)
                            for incident in found:
                                log.write(f"INCIDENT {incident}\n")
                        except Exception as error:  # noqa: BLE001
                            record_failure(student, assignment, f"merge failed: {type(error).__name__}: {error}",
                                           None)
                            bar.update(True, key)
                            continue
                        report.graded.append((student, assignment))
                        if known_failures.pop(key, None) is not None:
                            _save_failures(failures_path, known_failures)
                        log.write(f"graded {key} in {result['seconds']:.1f} s (isolated regrade {result.get('regrade_seconds', 0):.1f} s)\n")
                        log.flush()
                        bar.update(False, key)
                        merges += 1
                        if crash_after and merges >= crash_after:
                            raise SimulatedCrash(f"{CRASH_AFTER_ENV}={crash_after}: stopping after {merges} merges")
                    else:
                        record_failure(student, assignment, result["reason"] or "unknown error",
                                       result["fingerprint"], result.get("log", ""))
                        bar.update(True, key)
                    if result.get("private"):
                        shutil.rmtree(result["private"], ignore_errors=True)
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
# export

def _error_summary(cell, max_lines: int = 3) -> str | None:
    """The first lines of the error (or stderr) output of a graded cell, on one line."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            text = f"{output.get('ename', 'Error')}: {_ANSI.sub('', output.get('evalue', ''))}"
            break
    else:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                text = "stderr: " + _ANSI.sub("", output.get("text", ""))
                break
        else:
            return None
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    # the first lines, and the grader's diagnosis wherever it stands ("This looks like: ...", "Hint: ...")
    named = [line for line in lines[max_lines:] if line.lower().startswith(("this looks like", "hint"))]
    return " / ".join(lines[:max_lines] + named)


def class_table(root: Path, assignments: list[str]) -> list[dict[str, str]]:
    """One row per student: ``student``, each assignment's score, ``total``, ``<a> diagnosis`` per assignment."""
    import nbformat
    from nbgrader.api import Gradebook, MissingEntry

    root = Path(root).resolve()
    _, coursedir = load_course(root)
    failures = _load_failures(root / coursedir.autograded_directory / FAILURES_NAME)
    incidents: dict[str, list[str]] = {}
    for incident in read_incidents(root / coursedir.autograded_directory / INCIDENTS_NAME):
        if incident.assignment in assignments:
            incidents.setdefault(incident.student, []).append(f"{incident.assignment}: {incident.kind}: {incident.detail}")
    rows = []
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        students = sorted({student.id for student in gradebook.students}
                          | {key.split("/")[0] for key in failures if key.split("/")[1] in assignments})
        for student in students:
            row = {"student": student}
            total = 0.0
            diagnoses = {}
            for assignment in assignments:
                diagnosis = []
                failure = failures.get(f"{student}/{assignment}")
                if failure:
                    diagnosis.append(f"NOT GRADED: {failure['reason']}")
                try:
                    submission = gradebook.find_submission(assignment, student)
                except MissingEntry:
                    row[assignment] = ""
                    diagnoses[assignment] = " | ".join(diagnosis)
                    continue
                row[assignment] = f"{submission.score:g}"
                total += submission.score
                for notebook in submission.notebooks:
                    failed = {grade.name for grade in notebook.grades
                              if grade.max_score and (grade.score or 0) < grade.max_score}
                    path = root / coursedir.autograded_directory / student / assignment / f"{notebook.name}.ipynb"
                    if not failed or not path.exists():
                        continue
                    executed = nbformat.read(path, as_version=4)
                    for cell in executed.cells:
                        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                        if grade_id in failed:
                            summary = _error_summary(cell)
                            if summary is None and cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
                                continue  # a manually graded answer: no error to report
                            diagnosis.append(f"{grade_id}: {summary or 'no points (no error output)'}")
                diagnoses[assignment] = " | ".join(diagnosis)
            row["total"] = f"{total:g}"
            for assignment in assignments:
                row[f"{assignment} diagnosis"] = diagnoses.get(assignment, "")
            row["incidents"] = " | ".join(incidents.get(student, []))
            rows.append(row)
    return rows


def export_csv(root: Path, assignments: list[str], path: Path) -> int:
    rows = class_table(root, assignments)
    columns = ["student", *assignments, "total", *(f"{a} diagnosis" for a in assignments), "incidents"]
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


# --------------------------------------------------------------------------------------------------
# command line (registered by __main__.py)

GRADING_COMMANDS = ("grade", "export", "bench-grading")


def add_grading_commands(commands) -> None:
    import argparse

    root_help = "the nbgrader course folder (default: the --root before the command, or the current folder)"
    grade = commands.add_parser(
        "grade", help="autograde a class in parallel, resumably (scores identical to nbgrader autograde)",
        description="Autograde every submission of ASSIGNMENT... in parallel worker processes (stock nbgrader "
                    "in private gradebook copies), merging each result into gradebook.db as it completes. "
                    "A rerun skips what is graded; broken submissions are reported and skipped.")
    grade.add_argument("assignments", nargs="+", metavar="ASSIGNMENT")
    grade.add_argument("--root", type=Path, default=argparse.SUPPRESS, help=root_help)
    grade.add_argument("--workers", type=int, default=os.cpu_count(), help="worker processes (default: all cores)")
    grade.add_argument("--force", action="store_true", help="regrade submissions already graded")
    grade.add_argument("--student", action="append", dest="students", metavar="STUDENT",
                       help="grade only this student (repeatable)")
    grade.add_argument("--no-progress", action="store_true", help="no progress line on stderr")
    export = commands.add_parser("export", help="CSV: a row per student, scores, total and diagnoses")
    export.add_argument("assignments", nargs="+", metavar="ASSIGNMENT")
    export.add_argument("--root", type=Path, default=argparse.SUPPRESS, help=root_help)
    export.add_argument("--csv", type=Path, required=True, help="the CSV file to write")
    bench = commands.add_parser("bench-grading", help="time stock sequential autograde against `grade` (on copies)")
    bench.add_argument("--root", type=Path, default=argparse.SUPPRESS, help="the course root (with exercises/)")
    bench.add_argument("--students", type=int, default=6, help="students per assignment (default 6)")
    bench.add_argument("--assignments", nargs="+", default=None, help="default: all nine")
    bench.add_argument("--workers", type=int, default=os.cpu_count(), help="worker processes (default: all cores)")
    bench.add_argument("--keep", action="store_true", help="keep the temporary courses")


def run_grading_command(args, root: Path, parser) -> int:
    if args.command == "bench-grading":
        from .bench_grading import bench_grading

        if not (root / "exercises").is_dir():
            parser.error(f"{root} has no exercises/; use --root")
        return bench_grading(root, students=args.students, assignments=args.assignments, workers=args.workers,
                             keep=args.keep)
    if not (root / "nbgrader_config.py").is_file():
        parser.error(f"{root} is not an nbgrader course folder (no nbgrader_config.py); use --root")
    if args.command == "export":
        count = export_csv(root, args.assignments, args.csv)
        print(f"wrote {args.csv}: {count} student(s)")
        return 0
    try:
        report = grade_class(root, args.assignments, workers=args.workers, force=args.force,
                             students=args.students, progress=not args.no_progress)
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
        print(f"{len(report.incidents)} incident(s) (the isolated regrade's verdict was kept; see "
              f"{root / 'autograded' / INCIDENTS_NAME}):")
        for incident in report.incidents[:50]:
            print(f"  {incident}")
    return 1 if report.failures else 0
