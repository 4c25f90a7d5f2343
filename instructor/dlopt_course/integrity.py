"""Incidents, and the guard of an SQLite gradebook, for ``grade`` (the threat model: ``book/integrity.md``).

The boundary itself is the kernel's (:mod:`dlopt_course.isolation.confine`): a student's code runs only
in a confined process, and the tests run in the grader's process. What is here records and reports:

- :class:`Incident`: something a submission attempted that the sandbox refused (named by the audit hook,
  or a process the kernel killed for a forbidden system call), what its code replaced in its own process
  that a grader there would rely on (numpy's functions, builtins, import hooks: harmless, since the tests
  run in the grader's process, but an attempt), or a file of a submission folder that was refused (a
  link, a device, a second hard link, ...); appended to ``autograded/grading_incidents.jsonl`` and listed
  in the export;
- :class:`GradebookGuard`: if anything but the grader changed the main SQLite gradebook while
  submissions ran, it is restored from the grader's last copy (kept in the grader's private temporary
  folder) and the change is an incident. No student code can reach the gradebook; the guard is defence
  in depth;
- :func:`check_isolation`: what this machine lacks to confine students' code (``grade`` refuses to run
  without it).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path


INCIDENTS_NAME = "grading_incidents.jsonl"


def one_line(text, limit: int = 2000) -> str:
    """``text`` as one printable line: a student's text can neither break a log line nor speak to a terminal.

    Control characters (new lines, escape sequences) are shown escaped; characters that cannot be encoded
    (lone surrogates from a file name or a string of the student's) are shown as backslash escapes.
    """
    text = str(text).encode("utf-8", "backslashreplace").decode("utf-8")
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)[:limit]


@dataclass
class Incident:
    student: str
    assignment: str
    kind: str       # "refused in the sandbox", "tampered in the sandbox", "stopped at a limit", "submission folder",
    #                 "gradebook tampered"
    detail: str
    time: str = field(default_factory=lambda: time.strftime("%Y-%m-%d %H:%M:%S"))

    def __post_init__(self) -> None:
        self.student, self.assignment = one_line(self.student, 200), one_line(self.assignment, 200)
        self.kind, self.detail = one_line(self.kind, 100), one_line(self.detail)

    def __str__(self) -> str:
        return f"{self.student} / {self.assignment}: {self.kind}: {self.detail}"


def append_incidents(path: Path, incidents: list[Incident]) -> None:
    if not incidents:
        return
    with open(path, "a") as handle:
        for incident in incidents:
            handle.write(json.dumps(asdict(incident)) + "\n")


def read_incidents(path: Path) -> list[Incident]:
    if not Path(path).exists():
        return []
    incidents = []
    for line in Path(path).read_text().splitlines():
        try:
            incidents.append(Incident(**json.loads(line)))
        except (ValueError, TypeError):
            continue
    return incidents


def check_isolation() -> list[str]:
    """Why this machine cannot confine a student's process (an empty list: it can).

    The sandbox needs Landlock (Linux >= 5.13, enabled among the kernel's security modules) and seccomp
    filters on x86_64 or aarch64; see :func:`dlopt_course.isolation.confine.probe`.
    """
    from dlopt_course.isolation import confine

    return list(confine.probe()["problems"])


def sqlite_snapshot(database: Path, target: Path) -> None:
    """A consistent copy of an SQLite database (SQLite's backup API: safe while others have it open)."""
    source, copy = sqlite3.connect(database), sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        source.close()
        copy.close()


class GradebookGuard:
    """Detects and undoes changes to the main SQLite gradebook made by anyone but the grader.

    :meth:`commit` after each of the grader's own writes remembers the file's digest and a copy;
    :meth:`verify` (before the next write and at the end) restores that copy if the digest changed.
    """

    def __init__(self, database: Path, backup: Path):
        self.database, self.backup = Path(database), Path(backup)
        self.digest = ""
        self.commit()

    @staticmethod
    def _digest(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else ""

    def commit(self) -> None:
        sqlite_snapshot(self.database, self.backup)
        self.digest = self._digest(self.database)

    def verify(self) -> bool:
        """``True`` if the gradebook is as the grader left it; otherwise restore it and return ``False``."""
        if self._digest(self.database) == self.digest:
            return True
        for suffix in ("-journal", "-wal", "-shm"):
            Path(str(self.database) + suffix).unlink(missing_ok=True)
        shutil.copyfile(self.backup, self.database)
        self.digest = self._digest(self.database)
        return False
