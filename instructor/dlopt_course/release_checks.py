"""The release's last gate: nothing a student receives holds a solution, a hidden test, the reference or this tool.

:func:`check_bundle` checks the bundle folder, :func:`check_archive` its zip. Each runs the leak check
(:mod:`.leaks`) over every file, the content of every zip inside included, and refuses what must never be
shipped whatever its content: a ``gradebook.db`` (it stores the hidden tests), a folder or module of the
reference package or of this tool, a requirement on either.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import tempfile
import zipfile
from pathlib import Path

from .leaks import Leak, Markers, forbidden_markers, scan

#: Names that must never be in a bundle, whatever their content.
FORBIDDEN_NAMES = ("gradebook.db",)
#: The instructors' packages: neither may be shipped, nor required by the student's requirements.txt.
INSTRUCTOR_PACKAGES = ("dlopt_reference", "dlopt_course")
REFERENCE_PACKAGE = "dlopt_reference"

_CELL = re.compile(r" \((cell \d+)\)$")


def _forbidden_paths(root: Path, shown: str) -> list[str]:
    """Files and folders that must not be in a bundle, whatever they contain."""
    problems = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        where = f"{shown}{relative}"
        if path.name in FORBIDDEN_NAMES:
            problems.append(f"{where}: a {path.name} must never be shipped (it stores the hidden tests)")
        elif path.is_dir() and path.name in INSTRUCTOR_PACKAGES:
            problems.append(f"{where}: the instructors' package {path.name} must never be shipped")
        elif path.is_file() and path.suffix == ".py" and set(INSTRUCTOR_PACKAGES) & set(relative.parts[:-1]):
            package = next(part for part in relative.parts[:-1] if part in INSTRUCTOR_PACKAGES)
            problems.append(f"{where}: a module of {package} must never be shipped")
    return problems


def _describe(leak: Leak, shown: str) -> str:
    """``file:line: what: text`` (as ``str(Leak)``); in a notebook ``file:cell N: what: text``."""
    cell = _CELL.search(leak.what)
    if leak.line == 0 and cell:
        return f"{shown}:{cell.group(1)}: {leak.what[:cell.start()]}: {leak.text!r}"
    return str(dataclasses.replace(leak, path=shown))


def _check_tree(root: Path, shown: str, markers: Markers, scratch: Path) -> list[str]:
    """Problems in the files under ``root``; zips are extracted into ``scratch`` and checked too.

    ``shown`` prefixes every reported path (``""`` for the bundle, ``"a.zip!"`` inside a zip).
    """
    problems = _forbidden_paths(root, shown)
    files = sorted(path for path in root.rglob("*") if path.is_file())
    plain = [path for path in files if path.suffix.lower() != ".zip"]
    for leak in scan(plain, markers):
        problems.append(_describe(leak, f"{shown}{Path(leak.path).relative_to(root)}"))
    for archive in (path for path in files if path.suffix.lower() == ".zip"):
        inside = f"{shown}{archive.relative_to(root)}!"
        target = Path(tempfile.mkdtemp(prefix="zip-", dir=scratch))
        try:
            with zipfile.ZipFile(archive) as zipped:
                for member in zipped.namelist():
                    name = Path(member)
                    if name.is_absolute() or ".." in name.parts:
                        problems.append(f"{inside}{member}: an unsafe path in a zip")
                zipped.extractall(target)  # extractall drops absolute paths and '..' itself
        except (zipfile.BadZipFile, OSError) as error:
            problems.append(f"{inside[:-1]}: not a readable zip ({error})")
            continue
        problems.extend(_check_tree(target, inside, markers, scratch))
    return problems


def check_bundle(bundle_dir: Path, course_root: Path, markers: Markers | None = None) -> list[str]:
    """Every problem of a bundle, each naming its file (and line); ``[]`` when it may be shipped.

    The leak check (:func:`leaks.scan` with :func:`leaks.forbidden_markers` of ``course_root``) runs
    over every file, the HTML book and its ``_sources`` included, and over the extracted content of
    every zip (reported as ``archive.zip!member:line``). Also forbidden: a ``gradebook.db``, a folder or
    module of ``dlopt_reference`` or ``dlopt_course``, a requirement on either.
    """
    bundle_dir = Path(bundle_dir)
    if not bundle_dir.is_dir():
        return [f"{bundle_dir}: no bundle there"]
    markers = markers if markers is not None else forbidden_markers(course_root)
    with tempfile.TemporaryDirectory(prefix="dlopt-bundle-check-") as scratch:
        problems = _check_tree(bundle_dir, f"{bundle_dir}/", markers, Path(scratch))
    requirements = bundle_dir / "requirements.txt"
    if not requirements.is_file():
        problems.append(f"{requirements}: missing")
    else:
        for row, line in enumerate(requirements.read_text().splitlines(), start=1):
            code = line.split("#")[0].strip()
            named = [name for name in (*INSTRUCTOR_PACKAGES, "dlopt-reference", "dlopt-course", "solutions",
                                       "instructor") if name in code]
            if named:
                problems.append(f"{requirements}:{row}: {named[0]} is for instructors, not for students: {line!r}")
    return problems


def check_archive(archive: Path, folder: Path, course_root: Path, prefix: str | None = None,
                  markers: Markers | None = None) -> list[str]:
    """Every problem of the bundle's archive: its members must be exactly the files of ``folder``
    (same names under ``<prefix>/``, default the folder's name, same bytes), and its extracted content
    passes the same checks as the folder (:func:`_check_tree`: leaks, forbidden names, zips inside)."""
    archive, folder = Path(archive), Path(folder)
    prefix = folder.name if prefix is None else prefix
    markers = markers if markers is not None else forbidden_markers(course_root)
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="dlopt-archive-check-") as scratch:
        scratch = Path(scratch)
        (scratch / "archive").mkdir()
        shutil.copy2(archive, scratch / "archive" / archive.name)
        problems += _check_tree(scratch / "archive", f"{archive.parent}/", markers, scratch)
    try:
        with zipfile.ZipFile(archive) as zipped:
            members = {info.filename: info for info in zipped.infolist() if not info.is_dir()}
            files = {f"{prefix}/{path.relative_to(folder).as_posix()}": path
                     for path in sorted(folder.rglob("*")) if path.is_file()}
            for name in sorted(set(members) - set(files)):
                problems.append(f"{archive}!{name}: in the archive but not in {folder}")
            for name in sorted(set(files) - set(members)):
                problems.append(f"{archive}: has no {name}, a file of {folder}")
            for name in sorted(set(files) & set(members)):
                if zipped.read(name) != files[name].read_bytes():
                    problems.append(f"{archive}!{name}: differs from {files[name]}")
    except (zipfile.BadZipFile, OSError) as error:
        problems.append(f"{archive}: not a readable zip ({error})")
    return problems
