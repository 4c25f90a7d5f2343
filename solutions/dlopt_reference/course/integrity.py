"""What ``grade`` adds to stock nbgrader so that a hostile submission cannot raise a score.

The threat model is in ``book/integrity.md``. In short, for each submission :mod:`.grade_class`

1. runs stock ``nbgrader autograde`` in a private course folder whose kernel is **locked down**
   (:func:`kernel_lockdown`: an audit hook that refuses writes outside that folder, SQLite, processes,
   signals, sockets and ctypes) -- this run only produces the notebook the feedback shows;
2. runs the **isolated regrade** (:mod:`dlopt_reference.isolation`): the student's code in a sandboxed
   process, the tests in the grader's process, from the instructor's source notebook;
3. merges with the regrade's verdict (:func:`apply_regrade`): a test cell whose two results disagree
   gets the regrade's outcome (its outputs are replaced by the regrade's diagnosis when it failed),
   so nbgrader's own ``SaveAutoGrades`` then writes the regrade's score;
4. records every **incident** (a disagreement, a refused operation in the sandbox or in the kernel)
   in ``autograded/grading_incidents.jsonl`` and in the export;
5. guards the main gradebook (:class:`GradebookGuard`): if anything but the grader changed it while
   submissions ran, it is restored from the grader's last copy and the change is an incident.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

INCIDENTS_NAME = "grading_incidents.jsonl"
KERNEL_REFUSALS = ".kernel_refusals.jsonl"
#: Imported in the kernel before the lock (they load shared libraries through ctypes when imported).
KERNEL_PREIMPORTS = ["ctypes", "numpy", "matplotlib", "matplotlib.pyplot"]
KERNEL_MEMORY = 4 * 1024 ** 3  #: the kernel's address space (bytes)


@dataclass
class Incident:
    student: str
    assignment: str
    kind: str       # "disagreement", "refused in the sandbox", "refused in the kernel", "gradebook tampered"
    detail: str
    time: str = field(default_factory=lambda: time.strftime("%Y-%m-%d %H:%M:%S"))

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


def kernel_lockdown(private: Path, source_text: str) -> list[str]:
    """``Execute.extra_arguments`` that lock the nbgrader kernel of a private course folder down.

    Writes its policy to ``private/.kernel_policy.json``: writing only under ``private/autograded`` (where
    the kernel runs; never the private gradebook); each refusal is logged to ``KERNEL_REFUSALS``; reading is
    not restricted (the hidden tests import the reference package in this kernel, which is why its
    verdict is not trusted: see :mod:`dlopt_reference.isolation`).
    """
    preimports = list(KERNEL_PREIMPORTS)
    if "sklearn" in source_text or "load_digits" in source_text:
        preimports.append("sklearn.datasets")
    policy = {"allow_write": [str(private / "autograded")], "allow_sqlite_memory": True, "preimport": preimports,
              "refusal_log": str(private / KERNEL_REFUSALS),
              "limits": {"RLIMIT_AS": KERNEL_MEMORY, "RLIMIT_CORE": 0}}
    path = private / ".kernel_policy.json"
    path.write_text(json.dumps(policy))
    # child.py is loaded by its path: importing the package would import nbformat & co. (1.5 s per kernel)
    from dlopt_reference.isolation.sandbox import CHILD

    line = (f"import importlib.util as _u; _s = _u.spec_from_file_location('_dlopt_lock', {str(CHILD)!r}); "
            f"_m = _u.module_from_spec(_s); _s.loader.exec_module(_m); _m.lock_down_kernel({str(path)!r}); "
            "del _u, _s, _m")
    return ["--HistoryManager.hist_file=:memory:", f"--IPKernelApp.exec_lines={line}"]


def regrade_submission(source: Path, submitted: Path, course_root: Path, scratch: Path, timeout: float,
                       deny: list[str], zygote_dir: Path | None = None) -> dict:
    """The isolated regrade of one notebook as plain data: ``{"cells": {id: [points, max, message]}, ...}``."""
    from dlopt_reference.isolation import regrade_file

    result = regrade_file(source, submitted, course_root, scratch, timeout=timeout, extra_deny=deny,
                          zygote_dir=zygote_dir)
    return {"cells": {grade_id: [v.points, v.max_points, v.message] for grade_id, v in result.cells.items()},
            "refused": [list(item) for item in result.refused], "student_errors": result.student_errors,
            "seconds": result.seconds}


def kernel_refusals(private: Path) -> list[str]:
    """What the locked kernel refused, from its log (``event: detail``; at most 200)."""
    path = Path(private) / KERNEL_REFUSALS
    found = []
    if path.exists():
        for line in path.read_text(errors="replace").splitlines()[:200]:
            try:
                event, detail = json.loads(line)
                found.append(f"{str(event)[:100]}: {str(detail)[:300]}")
            except (ValueError, TypeError):
                found.append(f"(an unreadable line in the kernel's refusal log: {line[:100]!r})")
    return found


def regrade_incidents(regrade: dict | None, student: str, assignment: str) -> list[Incident]:
    """The sandbox's refusals in a regrade (see :func:`regrade_submission`) as incidents."""
    return [Incident(student, assignment, "refused in the sandbox", f"{event}: {detail}")
            for verdict in (regrade or {}).values() for event, detail in verdict.get("refused", [])]


def apply_regrade(notebook, regrade: dict, student: str, assignment: str) -> list[Incident]:
    """Make the autograded ``notebook`` carry the regrade's verdict for every test cell; return incidents.

    A test cell passes in nbgrader's eyes when its outputs hold no error and no stderr. Where the regrade
    disagrees, the outputs are rewritten: a failed verdict becomes an error output with the regrade's
    diagnosis; a passed verdict drops the error and stderr outputs (a note says why).
    """
    incidents = []
    cells = regrade.get("cells", {})
    seen = set()
    for cell in notebook.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        grade_id = meta.get("grade_id")
        if cell.get("cell_type") != "code" or grade_id not in cells or grade_id in seen:
            continue
        seen.add(grade_id)
        points, max_points, message = cells[grade_id]
        outputs = cell.get("outputs", [])
        failed_here = any(o.get("output_type") == "error" or (o.get("output_type") == "stream" and o.get("name") == "stderr")
                          for o in outputs)
        passed_there = points == max_points
        if failed_here == (not passed_there):
            continue
        if passed_there:
            cell["outputs"] = [o for o in outputs if not (o.get("output_type") == "error" or (
                o.get("output_type") == "stream" and o.get("name") == "stderr"))]
            cell["outputs"].append(nbformat.v4.new_output("stream", name="stdout",
                                                          text="[the isolated regrade passed this cell]\n"))
            detail = f"{grade_id}: failed in the notebook's run, passed in the isolated regrade"
        else:
            first, _, rest = (message or "failed").partition(": ")
            cell["outputs"] = [nbformat.v4.new_output("error", ename=first if rest else "IsolatedRegrade",
                                                      evalue=rest or first, traceback=[message or "failed"])]
            detail = (f"{grade_id}: passed in the notebook's run, failed in the isolated regrade: "
                      f"{(message or '').splitlines()[0][:200] if message else ''}")
        incidents.append(Incident(student, assignment, "disagreement", detail))
    return incidents


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
