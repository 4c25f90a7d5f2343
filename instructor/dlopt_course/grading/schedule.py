"""Grading a class: which submissions to grade, on how many workers, and what happened to each.

:func:`grade_class` checks the machine and the course, lists the submissions still to grade, then keeps the
workers busy: this process prepares a few submissions ahead (:mod:`.prepare`), a worker runs each one
(:mod:`.run`), and this process merges each result into the gradebook as it completes (:mod:`.merge`). Every
submission ends in exactly one list of the :class:`GradeReport` (graded, skipped, failed); the log, the
failures file and the incidents file say the same on disk.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..integrity import (INCIDENTS_NAME, GradebookGuard, Incident, append_incidents, check_isolation, one_line)
from .course import (FAILURES_NAME, LOG_NAME, GradingSetupError, assignment_cells, graded_submissions,
                     load_course, load_failures, save_failures, shared_machine_exposures, sqlite_path)
from .merge import incidents, merge
from .prepare import fingerprint, prepare
from .run import grade_one, worker_init

#: Test hook: the parent raises :class:`SimulatedCrash` right after this many merges (resumability tests).
CRASH_AFTER_ENV = "DLOPT_GRADE_CRASH_AFTER"


class SimulatedCrash(RuntimeError):
    """Raised by the test hook ``DLOPT_GRADE_CRASH_AFTER=N`` after N merges."""


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


def grade_class(root: Path, assignments: list[str], workers: int | None = None, force: bool = False,
                students: list[str] | None = None, progress: bool = True,
                allow_weak_isolation: bool = False) -> GradeReport:
    """Grade every submission of ``assignments`` in the course ``root`` (see :mod:`dlopt_course.grading`).

    Raises :class:`GradingSetupError` if the course cannot be graded, and if this machine's kernel
    cannot confine students' code (unless ``allow_weak_isolation``: then a warning is logged and
    printed, and the student's code runs without the kernel's boundary).
    """
    started = time.monotonic()
    root = Path(root).resolve()
    workers = max(1, workers or os.cpu_count() or 1)
    problems = _confinement_problems(allow_weak_isolation)
    config, coursedir = _gradable_course(root)
    report = GradeReport()
    autograded = root / coursedir.autograded_directory
    autograded.mkdir(exist_ok=True)
    cells = {assignment: assignment_cells(coursedir, assignment) for assignment in assignments}
    journal = _Journal(root, coursedir, autograded, report)
    tasks = _to_grade(root, coursedir, assignments, students, force, journal.known_failures, report)
    timeout = float(getattr(config.Execute, "timeout", 120) or 120) if "Execute" in config else 120.0
    with journal.open(assignments, len(tasks), workers, problems, progress), \
            tempfile.TemporaryDirectory(prefix="dlopt-grade-") as workdir:
        os.chmod(workdir, 0o700)
        (Path(workdir) / "scratch").mkdir()
        journal.guard_gradebook(sqlite_path(coursedir.db_url), Path(workdir) / "guard.db")
        common = {"root": str(root), "workdir": workdir, "timeout": timeout, "budget": 1.5 * timeout,
                  "confine": not problems, "source_dir": coursedir.source_directory}
        pending = tasks
        for attempt in range(2):  # a second round only if a worker process died (BrokenProcessPool)
            if not pending:
                break
            pending = _grade_in_pool(config, coursedir, journal, pending, cells, common, workers,
                                     retry_broken=attempt == 0)
        journal.check_gradebook("during grading")
        report.seconds = time.monotonic() - started
    return report


def _confinement_problems(allow_weak_isolation: bool) -> list[str]:
    """What this machine's kernel lacks to confine students' code; raises unless weak isolation is allowed."""
    problems = check_isolation()
    if problems and not allow_weak_isolation:
        raise GradingSetupError("this machine cannot confine students' code, so `grade` will not run it:\n  - "
                                + "\n  - ".join(problems) + "\nSee the book's page 'Grading integrity' for what the "
                                "kernel must offer; --allow-weak-isolation runs without that boundary (never for "
                                "a real class)")
    return problems


def _gradable_course(root: Path):
    """``(config, coursedir)`` of a course that may be graded here; raises :class:`GradingSetupError` if not."""
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
    database = sqlite_path(coursedir.db_url)
    if database is not None and not database.exists():
        raise GradingSetupError(f"no gradebook at {database}: run `nbgrader generate_assignment` first")
    return config, coursedir


def _to_grade(root: Path, coursedir, assignments: list[str], students: list[str] | None, force: bool,
              known_failures: dict, report: GradeReport) -> list[tuple[str, str]]:
    """The ``(student, assignment)`` pairs to grade now; the others go to ``report`` (skipped or failed)."""
    done = set() if force else graded_submissions(coursedir, assignments)
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
            if (student, assignment) in done:
                report.skipped.append((student, assignment))
                continue
            old = known_failures.get(f"{student}/{assignment}")
            if not force and old and old.get("fingerprint") == fingerprint(folder):
                report.failures.append(Failure(student, assignment, old["reason"] + " (unchanged since it failed)"))
                continue
            tasks.append((student, assignment))
    return tasks


def _grade_in_pool(config, coursedir, journal: _Journal, pending: list[tuple[str, str]], cells: dict,
                   common: dict, workers: int, retry_broken: bool) -> list[tuple[str, str]]:
    """Grade ``pending`` on a pool of ``workers`` processes; returns the submissions whose worker died (to
    retry once on a fresh pool when ``retry_broken``; a failure otherwise)."""
    broken: list[tuple[str, str]] = []
    executor = concurrent.futures.ProcessPoolExecutor(
        max_workers=min(workers, len(pending)), mp_context=multiprocessing.get_context("spawn"),
        initializer=worker_init, initargs=(common["workdir"],))
    queue = list(pending)
    running: dict = {}  # future -> (student, assignment, prepared, notes)

    def submit_more() -> None:
        # a few submissions ahead of the workers: sanitizing (here) overlaps with running (there)
        while queue and len(running) < 2 * workers:
            student, assignment = queue.pop(0)
            notebooks, grade_ids, expected = cells[assignment]
            try:
                prepared, reason, notes = prepare(config, coursedir, student, assignment, notebooks, grade_ids,
                                                  expected)
            except Exception as error:  # noqa: BLE001 (one unreadable submission never stops the class)
                prepared, reason, notes = None, f"{type(error).__name__}: {error}", []
            if prepared is None:
                journal.record(incidents({}, notes, student, assignment))
                journal.failed(student, assignment, reason)
                continue
            task = dict(common, student=student, assignment=assignment, notebooks=prepared["notebooks"])
            running[executor.submit(grade_one, task)] = (student, assignment, prepared, notes)

    try:
        submit_more()
        while running:
            finished, _ = concurrent.futures.wait(running, return_when=concurrent.futures.FIRST_COMPLETED)
            for future in finished:
                student, assignment, prepared, notes = running.pop(future)
                try:
                    result = future.result()
                except concurrent.futures.process.BrokenProcessPool:
                    if retry_broken:
                        broken.append((student, assignment))
                    else:
                        journal.failed(student, assignment, "the grading worker process died")
                    continue
                journal.check_gradebook(f"while {student}/{assignment} was graded")
                journal.record(incidents(result, notes, student, assignment))
                if not result["ok"]:
                    journal.failed(student, assignment, result["reason"] or "unknown error")
                    continue
                try:
                    try:
                        merge(config, coursedir, student, assignment, prepared, result)
                    finally:
                        journal.commit_gradebook()  # the grader's own writes, complete or not
                except Exception as error:  # noqa: BLE001
                    journal.failed(student, assignment, f"merge failed: {type(error).__name__}: {error}")
                    continue
                journal.graded(student, assignment, result)
            submit_more()
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
    return broken


class _Journal:
    """Where each submission's outcome goes: the report, the log, the failures and incidents files, the
    progress bar; and the guard that restores the gradebook if anyone but this process writes to it."""

    def __init__(self, root: Path, coursedir, autograded: Path, report: GradeReport):
        self.root, self.coursedir, self.report = root, coursedir, report
        self.log_path, self.failures_path = autograded / LOG_NAME, autograded / FAILURES_NAME
        self.incidents_path = autograded / INCIDENTS_NAME
        self.known_failures = load_failures(self.failures_path)
        self.crash_after = int(os.environ.get(CRASH_AFTER_ENV, "0") or 0)
        self.log = self.bar = self.guard = None
        self.assignments: list[str] = []

    def open(self, assignments: list[str], total: int, workers: int, problems: list[str], progress: bool):
        from tqdm import tqdm

        self.assignments = assignments
        self.log = open(self.log_path, "a", errors="backslashreplace")
        self.log.write(f"== {time.strftime('%Y-%m-%d %H:%M:%S')} grade {' '.join(assignments)}: {total} to grade, "
                       f"{len(self.report.skipped)} already graded, {workers} worker(s)\n")
        if problems:
            warning = ("WARNING: students' code runs WITHOUT the kernel's boundary (--allow-weak-isolation): "
                       + "; ".join(problems))
            self.log.write(warning + "\n")
            print(warning, file=sys.stderr)
        self.bar = tqdm(total=total, desc="grade", unit="submission", file=sys.stderr, dynamic_ncols=True,
                        disable=not progress or total == 0)
        return self

    def __enter__(self) -> _Journal:
        return self

    def __exit__(self, *exc_info) -> None:
        self.bar.close()
        report = self.report
        self.log.write(f"== done: {len(report.graded)} graded, {len(report.skipped)} skipped, "
                       f"{len(report.failures)} failed, {report.seconds:.1f} s\n")
        self.log.close()

    def guard_gradebook(self, database: Path | None, copy: Path) -> None:
        """Keep a copy of an SQLite gradebook: a change made by anyone but this process is undone and reported."""
        self.guard = GradebookGuard(database, copy) if database is not None else None

    def commit_gradebook(self) -> None:
        if self.guard is not None:
            self.guard.commit()

    def check_gradebook(self, when: str) -> None:
        if self.guard is not None and not self.guard.verify():
            self.record([Incident("?", " ".join(self.assignments), "gradebook tampered",
                                  f"the gradebook changed {when} without the grader; restored from its last copy")])

    def record(self, found: list[Incident]) -> None:
        self.report.incidents.extend(found)
        append_incidents(self.incidents_path, found)
        for incident in found:
            self.log.write(f"INCIDENT {incident}\n")

    def failed(self, student: str, assignment: str, reason: str) -> None:
        self.report.failures.append(Failure(student, assignment, reason))
        folder = self.root / self.coursedir.submitted_directory / student / assignment
        self.known_failures[f"{student}/{assignment}"] = {"reason": reason, "fingerprint": fingerprint(folder)}
        save_failures(self.failures_path, self.known_failures)
        self.log.write(f"FAILED {student} / {assignment}: {reason}\n")
        self.log.flush()
        self._advance()

    def graded(self, student: str, assignment: str, result: dict) -> None:
        key = f"{student}/{assignment}"
        self.report.graded.append((student, assignment))
        if self.known_failures.pop(key, None) is not None:
            save_failures(self.failures_path, self.known_failures)
        timed_out = [t for run in result["notebooks"].values() for t in run.get("timed_out", [])]
        self.log.write(f"graded {key} in {result['seconds']:.1f} s"
                       + (f" (out of time: {', '.join(timed_out)})" if timed_out else "") + "\n")
        self.log.flush()
        self._advance()
        merges = len(self.report.graded)
        if self.crash_after and merges >= self.crash_after:
            raise SimulatedCrash(f"{CRASH_AFTER_ENV}={self.crash_after}: stopping after {merges} merges")

    def _advance(self) -> None:
        self.bar.update(1)
        if self.report.failures:
            self.bar.set_postfix_str(f"{len(self.report.failures)} failed", refresh=False)
