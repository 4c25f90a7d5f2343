"""``import-submissions A PATH [--roster CSV] [--dry-run] [--force]``: LMS downloads into nbgrader's ``submitted/``.

A class that collects notebooks on Canvas, Moodle or by e-mail ends up with a folder or a zip of files named
by the LMS. This command places each one as ``submitted/<student>/<A>/<A>.ipynb`` with a ``timestamp.txt``
(the file's modification time, or the zip entry's time), as nbgrader's ``zip_collect`` would, so that
``grade`` and ``export`` see it. It recognises

- Canvas: ``<name>_[late_]<userid>_<submissionid>_<original name>``, where the original name may carry a
  resubmission suffix (``04_adaptive-1.ipynb``, ``04_adaptive-2.ipynb``: the highest is the latest);
- Moodle: ``<Full Name>_<id>_assignsubmission_file_/<file>`` (a folder per student) or the flattened
  ``<Full Name>_<id>_assignsubmission_file_<file>`` (Moodle keeps only the latest hand-in: two notebooks of
  one student there have no order);
- renamed copies of the notebook inside those: ``04_adaptive (1).ipynb``, ``04_adaptive-2.ipynb``.

The student is the LMS user id, or the ``student_id`` the ``--roster`` CSV (columns ``lms_id,student_id``)
gives it. The files are hostile input, read with :mod:`intake`'s rules: regular files only (no links, no
second hard link), at most ``MAX_NOTEBOOK_BYTES`` each; a zip entry with an absolute path, ``..``, a link
or a declared size over the limit is refused, and the bytes actually inflated are bounded too (a zip bomb
lies about its sizes).

Nothing is dropped silently: every file that is not placed (a name it cannot parse, a student missing from
the roster, a notebook of another assignment, two notebooks of one student with no resubmission order, a
refused file, an existing different submission) is reported and the exit code is 1. A resubmission that
a later one replaced is reported too (exit 0 if nothing else is wrong). ``--dry-run`` prints the plan and
writes nothing.
"""

from __future__ import annotations

import csv
import datetime
import json
import os
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .intake import MAX_NOTEBOOK_BYTES, RefusedFile, read_regular_file

#: Files a download may hold at most, and bytes all of them may inflate to (a zip bomb stops there).
MAX_FILES = 20000
MAX_TOTAL_BYTES = 4 * 1024 * 1024 * 1024

_CANVAS = re.compile(r"^(?P<name>[^_/]+)_(?:(?P<late>late)_)?(?P<uid>\d+)_(?P<submission>\d+)_(?P<file>[^/]+)$")
_MOODLE = re.compile(r"(?:^|/)(?P<name>[^/]+)_(?P<uid>\d+)_assignsubmission_file_/?(?P<file>[^/]+)$")
#: ``04_adaptive-2`` (a resubmission or a copy), ``04_adaptive (1)``, ``04_adaptive(1)`` (a copy, no order)
_SUFFIX = re.compile(r"^(?P<base>.+?)(?:-(?P<resubmission>\d+)| ?\((?P<copy>\d+)\))?$")
_STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")


@dataclass
class Incoming:
    """One file of the download: where it came from, its bytes and time, or why it was refused."""

    where: str                       # its path in the folder or zip, as reported
    data: bytes | None = None
    time: datetime.datetime | None = None
    refused: str | None = None


@dataclass
class Candidate:
    incoming: Incoming
    student: str
    order: int | None                # resubmission order: 0 the original name, N for "-N", None for a copy
    note: str = ""


@dataclass
class Plan:
    placed: dict[str, Candidate] = field(default_factory=dict)   # student -> the notebook placed
    problems: list[str] = field(default_factory=list)            # each makes the exit code 1
    notes: list[str] = field(default_factory=list)               # reported, not a problem


# --------------------------------------------------------------------------------------------------
# reading a folder or a zip as hostile input

def read_folder(folder: Path) -> list[Incoming]:
    """Every file under ``folder`` (links and special files refused by name, never followed)."""
    found: list[Incoming] = []
    pending = [""]
    while pending:
        relative = pending.pop()
        with os.scandir(folder / relative if relative else folder) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                where = f"{relative}/{entry.name}" if relative else entry.name
                if len(found) >= MAX_FILES:
                    raise RefusedFile(f"{folder}: more than {MAX_FILES} files (refused)")
                if entry.is_symlink():
                    found.append(Incoming(where, refused="a symbolic link (refused)"))
                elif entry.is_dir(follow_symlinks=False):
                    pending.append(where)
                else:
                    try:
                        data = read_regular_file(folder, where, MAX_NOTEBOOK_BYTES)
                    except (RefusedFile, OSError) as error:
                        found.append(Incoming(where, refused=str(error).removeprefix(f"{where} ")))
                        continue
                    mtime = entry.stat(follow_symlinks=False).st_mtime
                    found.append(Incoming(where, data, datetime.datetime.fromtimestamp(mtime, datetime.timezone.utc)))
    return sorted(found, key=lambda item: item.where)


def read_zip(archive: Path) -> list[Incoming]:
    """Every file entry of ``archive``; unsafe entries refused (see the module docstring)."""
    found: list[Incoming] = []
    total = 0
    with zipfile.ZipFile(archive) as zipped:
        infos = zipped.infolist()
        if len(infos) > MAX_FILES:
            raise RefusedFile(f"{archive}: {len(infos)} entries, more than {MAX_FILES} (refused)")
        for info in infos:
            name = info.filename
            parts = name.replace("\\", "/").split("/")
            mode = info.external_attr >> 16
            if info.is_dir():
                continue
            if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in parts:
                found.append(Incoming(name, refused="a path outside the download (absolute or with '..') (refused)"))
            elif stat.S_ISLNK(mode):
                found.append(Incoming(name, refused="a symbolic link (refused)"))
            elif stat.S_IFMT(mode) and not stat.S_ISREG(mode):  # no type bits: a plain file (DOS, Python)
                found.append(Incoming(name, refused="not a regular file (refused)"))
            elif info.file_size > MAX_NOTEBOOK_BYTES:
                found.append(Incoming(name, refused=f"declares {info.file_size} bytes; the limit is "
                                                    f"{MAX_NOTEBOOK_BYTES} (refused)"))
            else:
                try:
                    with zipped.open(info) as handle:
                        data = handle.read(MAX_NOTEBOOK_BYTES + 1)
                except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError) as error:
                    found.append(Incoming(name, refused=f"cannot be read ({error}) (refused)"))
                    continue
                if len(data) > MAX_NOTEBOOK_BYTES:
                    found.append(Incoming(name, refused=f"inflates beyond {MAX_NOTEBOOK_BYTES} bytes (refused)"))
                    continue
                total += len(data)
                if total > MAX_TOTAL_BYTES:
                    raise RefusedFile(f"{archive}: inflates beyond {MAX_TOTAL_BYTES} bytes in all (refused)")
                try:
                    time = datetime.datetime(*info.date_time, tzinfo=datetime.timezone.utc)
                except ValueError:
                    time = None
                found.append(Incoming(name.replace("\\", "/"), data, time))
    return sorted(found, key=lambda item: item.where)


def read_download(path: Path) -> list[Incoming]:
    path = Path(path)
    if path.is_symlink():
        raise RefusedFile(f"{path} is a symbolic link (refused)")
    if path.is_dir():
        return read_folder(path)
    if path.is_file() and zipfile.is_zipfile(path):
        return read_zip(path)
    raise RefusedFile(f"{path}: neither a folder nor a zip file")


# --------------------------------------------------------------------------------------------------
# names and contents

def parse_name(where: str) -> tuple[str, str, str] | None:
    """``(lms, user id, original file name)`` from an LMS download name, or ``None``."""
    moodle = _MOODLE.match(where)
    if moodle:
        return "Moodle", moodle.group("uid"), moodle.group("file")
    canvas = _CANVAS.match(where.rsplit("/", 1)[-1])
    if canvas:
        return "Canvas", canvas.group("uid"), canvas.group("file")
    return None


def notebook_order(file_name: str, assignment: str) -> tuple[str, int | None] | None:
    """``(base name, order)`` of a notebook's original name, or ``None`` if it is not an ``.ipynb``."""
    if not file_name.lower().endswith(".ipynb"):
        return None
    match = _SUFFIX.match(file_name[: -len(".ipynb")])
    base = match.group("base")
    if match.group("resubmission") is not None:
        return base, int(match.group("resubmission"))
    if match.group("copy") is not None:
        return base, None
    return base, 0


def _graded_ids(cells) -> set[str]:
    """The ``grade_id`` of every graded or solution cell (``intro`` and other text cells are in every assignment)."""
    ids = set()
    for cell in cells:
        nbgrader = cell.get("metadata", {}).get("nbgrader")
        if isinstance(nbgrader, dict) and (nbgrader.get("grade") or nbgrader.get("solution")) \
                and isinstance(nbgrader.get("grade_id"), str):
            ids.add(nbgrader["grade_id"])
    return ids


def assignment_grade_ids(folders: list[Path]) -> dict[str, set[str]]:
    """``{assignment: grade ids}`` from the notebooks ``<folder>/<a>/<a>.ipynb`` (the course's source, release)."""
    ids: dict[str, set[str]] = {}
    for folder in folders:
        for notebook in sorted(Path(folder).glob("*/*.ipynb")):
            if notebook.stem != notebook.parent.name or notebook.stem in ids:
                continue
            try:
                cells = json.loads(notebook.read_text())["cells"]
            except (OSError, ValueError, KeyError):
                continue
            ids[notebook.stem] = _graded_ids(cells)
    return ids


def content_problem(data: bytes, assignment: str, known: dict[str, set[str]]) -> str | None:
    """Why ``data`` is not a notebook of ``assignment`` (another one's, not JSON), or ``None``."""
    try:
        ids = _graded_ids(json.loads(data.decode("utf-8"))["cells"])
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError):
        return "not a valid notebook (not notebook JSON)"
    if assignment in known and known[assignment] and not ids & known[assignment]:
        others = [name for name, theirs in known.items() if name != assignment and ids & theirs]
        return (f"a notebook of {others[0]}, not of {assignment}" if others
                else f"not a notebook of {assignment}: none of its graded cells is there")
    return None


def read_roster(path: Path) -> dict[str, str]:
    """``{lms_id: student_id}`` from a CSV with the columns ``lms_id,student_id``."""
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"lms_id", "student_id"} <= set(reader.fieldnames):
            raise ValueError(f"{path}: the roster needs the columns lms_id,student_id (found {reader.fieldnames})")
        roster: dict[str, str] = {}
        for row, line in enumerate(reader, start=2):
            lms, student = (line["lms_id"] or "").strip(), (line["student_id"] or "").strip()
            if not lms or not _STUDENT_ID.match(student):
                raise ValueError(f"{path}:{row}: needs an lms_id and a student_id of letters, digits, '.', '_', "
                                 f"'-', '@' (found {lms!r}, {student!r})")
            if roster.get(lms, student) != student:
                raise ValueError(f"{path}:{row}: lms_id {lms} is listed twice, for {roster[lms]} and {student}")
            roster[lms] = student
    return roster


# --------------------------------------------------------------------------------------------------
# the plan

def plan_import(files: list[Incoming], assignment: str, roster: dict[str, str] | None,
                known: dict[str, set[str]]) -> Plan:
    """Which file goes to which student, and everything that is reported (see the module docstring)."""
    plan = Plan()
    by_student: dict[str, list[Candidate]] = {}
    for item in files:
        if item.refused:
            plan.problems.append(f"{item.where}: {item.refused}")
            continue
        parsed = parse_name(item.where)
        if parsed is None:
            plan.problems.append(f"{item.where}: a name no LMS gives (Canvas name_userid_submissionid_file or "
                                 "Moodle Name_id_assignsubmission_file_): not imported; place it by hand")
            continue
        lms, uid, original = parsed
        ordered = notebook_order(original, assignment)
        if ordered is None:
            plan.problems.append(f"{item.where}: not a notebook (.ipynb): not imported")
            continue
        base, order = ordered
        if lms != "Canvas" and order:
            order = None  # only Canvas numbers resubmissions "-N"; elsewhere it is a name the student chose
        if base != assignment:
            if base in known:
                plan.problems.append(f"{item.where}: named as a notebook of {base}, not of {assignment}: "
                                     "not imported")
                continue
            order = None  # renamed beyond recognition: accepted only if its content is the assignment's
        student = roster.get(uid) if roster is not None else uid
        if student is None:
            plan.problems.append(f"{item.where}: {lms} user {uid} is not in the roster: not imported")
            continue
        problem = content_problem(item.data, assignment, known)
        if problem:
            plan.problems.append(f"{item.where}: {problem}: not imported")
            continue
        note = ("" if original == f"{assignment}.ipynb" else f"resubmission {order}" if order
                else f"renamed from {original!r}")
        by_student.setdefault(student, []).append(Candidate(item, student, order, note))
    for student, candidates in sorted(by_student.items()):
        if len(candidates) == 1:
            plan.placed[student] = candidates[0]
            continue
        orders = [c.order for c in candidates]
        where = ", ".join(c.incoming.where for c in candidates)
        if None in orders or len(set(orders)) != len(orders):
            plan.problems.append(f"{student}: {len(candidates)} notebooks with no resubmission order ({where}): "
                                 "none imported; keep the one to grade and import again")
            continue
        latest = max(candidates, key=lambda c: c.order)
        plan.placed[student] = latest
        for older in candidates:
            if older is not latest:
                plan.notes.append(f"{older.incoming.where}: an earlier submission of {student}, replaced by "
                                  f"{latest.incoming.where}")
    return plan


def _timestamp_text(time: datetime.datetime | None) -> str:
    return "" if time is None else time.astimezone(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def place(plan: Plan, submitted: Path, assignment: str, *, force: bool = False) -> list[str]:
    """Write ``submitted/<student>/<assignment>/`` for every placed notebook; return what was written."""
    written = []
    for student, candidate in sorted(plan.placed.items()):
        folder = submitted / student / assignment
        target = folder / f"{assignment}.ipynb"
        if folder.is_symlink() or (folder.parent.is_symlink()):
            plan.problems.append(f"{folder}: a symbolic link in the course's submitted/ (refused)")
            continue
        if target.exists() and not force:
            if target.is_file() and not target.is_symlink() and target.read_bytes() == candidate.incoming.data:
                written.append(f"{student}: unchanged ({candidate.incoming.where})")
                continue
            plan.problems.append(f"{candidate.incoming.where}: {target} exists and differs: not replaced "
                                 "(--force replaces it)")
            continue
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in ((f"{assignment}.ipynb", candidate.incoming.data),
                           ("timestamp.txt", _timestamp_text(candidate.incoming.time).encode())):
            partial = folder / f".{name}.partial"
            partial.write_bytes(data)
            os.replace(partial, folder / name)
        written.append(f"{student}: {candidate.incoming.where}")
    return written


def import_submissions(course: Path, assignment: str, download: Path, *, roster_csv: Path | None = None,
                       dry_run: bool = False, force: bool = False, out=print) -> int:
    """The command (see the module docstring); the exit code: 0 every file placed, 1 something reported."""
    from .grading.course import load_course  # the folders as nbgrader's configuration of the course names them

    course = Path(course)
    _, coursedir = load_course(course)
    folders = [course / coursedir.source_directory, course / coursedir.release_directory]
    known = assignment_grade_ids(folders)
    if assignment not in known:
        out(f"import-submissions: no assignment {assignment!r} in {' or '.join(map(str, folders))} "
            f"(known: {', '.join(sorted(known)) or 'none'})")
        return 2
    try:
        roster = read_roster(roster_csv) if roster_csv is not None else None
        files = read_download(download)
    except (ValueError, RefusedFile, OSError, zipfile.BadZipFile) as error:
        out(f"import-submissions: {error}")
        return 2
    plan = plan_import(files, assignment, roster, known)
    submitted = course / coursedir.submitted_directory
    if dry_run:
        out(f"plan ({len(plan.placed)} submission(s) of {assignment}, nothing written):")
        for student, candidate in sorted(plan.placed.items()):
            time = _timestamp_text(candidate.incoming.time) or "no time"
            extra = f"; {candidate.note}" if candidate.note else ""
            out(f"  {candidate.incoming.where} -> submitted/{student}/{assignment}/{assignment}.ipynb ({time}{extra})")
    else:
        written = place(plan, submitted, assignment, force=force)
        out(f"imported {len(written)} submission(s) of {assignment} into {submitted}:")
        for line in written:
            out(f"  {line}")
    for note in plan.notes:
        out(f"note: {note}")
    if plan.problems:
        out(f"{len(plan.problems)} file(s) not imported (fix or place them by hand, then import again):")
        for problem in plan.problems:
            out(f"  {problem}")
        return 1
    return 0
