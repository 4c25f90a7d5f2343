"""The one-command release: ``python -m dlopt_reference.course release --version 2026.1 [--out dist]``.

1. Validates every source assignment: ``nbgrader validate`` on the source notebook must pass, and in
   one temporary nbgrader course (never the instructor's own, so no ``gradebook.db`` is touched)
   ``generate_assignment`` plus a real ``autograde`` (assignment by assignment: nbgrader and its
   SQLite gradebook are sequential) must give the model answer full marks and the untouched
   release zero.
2. Takes the student versions from that temporary course (``release/<a>/``).
3. Builds the student edition of the book (:func:`build_book`, into the course's ``_build/html``:
   a warm rebuild when the book was built before) and copies it.
4. Writes the versioned bundle ``<out>/dlopt-<version>/``::

       README.txt             what is where, and the student install command
       requirements.txt       the student's pinned packages and ``./`` (dlopt); never dlopt_reference
       pyproject.toml, dlopt/ the student helper package
       assignments/<a>.zip    <a>/<a>.ipynb and any other file of the release folder
       book/                  the HTML book

5. Checks the whole bundle (:func:`check_bundle`): the leak check over every file, zip members
   extracted and scanned, plus no ``gradebook.db``, no ``dlopt_reference`` folder or module, no
   requirement on the reference package.

The bundle is written as ``dlopt-<version>.partial`` and renamed to ``dlopt-<version>`` only when
every check passed; a failed bundle is left as ``dlopt-<version>.rejected`` for inspection. Any
failure prints each problem (file and line; ``archive.zip!member:line`` inside a zip) and exits 1.
"""

from __future__ import annotations

import dataclasses
import fcntl
import re
import shutil
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .build_book import build_book
from .leaks import Leak, Markers, forbidden_markers, scan
from .nbgrader_course import NbgraderCourse, NbgraderError
from .notebooks import source_assignments
from .submissions import model_answer

#: What a student installs (pinned as in the course's requirements.txt), besides ``./`` (dlopt).
STUDENT_PACKAGES = ("numpy", "matplotlib", "scikit-learn", "jupyterlab", "nbgrader", "ipykernel")

#: Names that must never be in a bundle, whatever their content.
FORBIDDEN_NAMES = ("gradebook.db",)
REFERENCE_PACKAGE = "dlopt_reference"

VALIDATE_PASSED = "Success! Your notebook passes all the tests."

_CELL = re.compile(r" \((cell \d+)\)$")
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s#;]+)")


class ReleaseError(RuntimeError):
    """A release step failed; the message says which and why."""


# ---------------------------------------------------------------------------------------------
# 1-2. validation through real nbgrader, in a temporary course


def _validate_source(course: NbgraderCourse, assignment: str) -> str | None:
    """``None`` if ``nbgrader validate`` passes the source notebook, else its output."""
    try:
        output = course.run("validate", str(Path("exercises") / assignment / f"{assignment}.ipynb"))
    except NbgraderError as error:
        output = str(error)
    return None if VALIDATE_PASSED in output else output.strip()[-3000:]


def validate_assignments(course_root: Path, workdir: Path, assignments: list[str]) -> tuple[NbgraderCourse, list[str]]:
    """Validate and autograde every assignment in one temporary course; return it and the problems.

    ``nbgrader validate`` of the source notebooks (which touches no gradebook) runs in one background
    worker while ``generate_assignment`` and ``autograde`` run assignment by assignment in the
    foreground (nbgrader and its SQLite gradebook are sequential): two processes at a time.
    The course's ``release/<a>/`` folders are the student versions (made by nbgrader itself).
    """
    course = NbgraderCourse.copy_of(course_root, workdir, assignments)
    problems: list[str] = []
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=1) as pool:
        validations = {assignment: pool.submit(_validate_source, course, assignment) for assignment in assignments}
        for index, assignment in enumerate(assignments, start=1):
            prefix = f"[{index}/{len(assignments)}] {assignment}:"
            source_path = course_root / "exercises" / assignment / f"{assignment}.ipynb"
            print(f"{prefix} generate_assignment, autograde (model answer, untouched release), nbgrader validate",
                  flush=True)
            model = blank = None
            try:
                course.generate(assignment)
                source, release = course.source(assignment), course.release(assignment)
                course.submit("model", assignment, model_answer(source, release))
                course.submit("blank", assignment, release)
                course.autograde(assignment)
                scores = course.scores(assignment)
                model, blank = scores.get("model"), scores.get("blank")
                if model is None or not (model[1] > 0 and model[0] == model[1]):
                    problems.append(f"{source_path}: the model answer scores {model} (score, max), not full marks")
                if blank is None or blank[0] != 0:
                    problems.append(f"{source_path}: the untouched release scores {blank} (score, max), not zero")
            except (NbgraderError, OSError, KeyError, ValueError) as error:
                problems.append(f"{source_path}: generate_assignment/autograde failed: {error}")
            validation = validations[assignment].result()
            if validation is not None:
                problems.append(f"{source_path}: nbgrader validate did not pass:\n{validation}")
            ok = not any(problem.startswith(f"{source_path}:") for problem in problems)
            scored = "".join(f", {who} {pair[0]:g}/{pair[1]:g}" for who, pair in
                             (("model answer", model), ("release", blank)) if pair is not None)
            print(f"{prefix} {'ok' if ok else 'FAILED'}: validate {'passed' if validation is None else 'FAILED'}"
                  f"{scored} ({time.monotonic() - started:.0f} s)", flush=True)
    return course, problems


# ---------------------------------------------------------------------------------------------
# 3. the book


def build_student_book(course_root: Path, *, strict: bool = True) -> Path:
    """Build the book into the course's ``_build/html`` (holding the build lock the tests use too)."""
    build_dir = Path(course_root) / "_build"
    build_dir.mkdir(exist_ok=True)
    with open(build_dir / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        status = build_book(course_root, strict=strict)
    if status != 0:
        raise ReleaseError(f"the book build failed (jupyter-book exit code {status}); see its output above")
    html = build_dir / "html"
    if not (html / "index.html").is_file():
        raise ReleaseError(f"the book build left no {html / 'index.html'}")
    return html


# ---------------------------------------------------------------------------------------------
# 4. the bundle


def student_requirements(course_requirements: Path) -> str:
    """The student's requirements.txt: the pinned lines of ``STUDENT_PACKAGES``, then ``./`` (dlopt)."""
    pins: dict[str, str] = {}
    for line in Path(course_requirements).read_text().splitlines():
        match = _REQUIREMENT.match(line)
        if match and match.group(1).lower() in STUDENT_PACKAGES:
            pins[match.group(1).lower()] = line.split("#")[0].strip()
    missing = [name for name in STUDENT_PACKAGES if name not in pins]
    if missing:
        raise ReleaseError(f"{course_requirements} pins no version of {', '.join(missing)}")
    lines = [
        "# The student environment of the course (no reference package: it is not part of the release).",
        "# From this folder:  python3 -m venv .venv && .venv/bin/pip install -r requirements.txt",
        *(pins[name] for name in STUDENT_PACKAGES),
        "# the course's helper package (dlopt/ and pyproject.toml, in this folder)",
        "./",
    ]
    return "\n".join(lines) + "\n"


def readme_text(version: str, assignments: list[str]) -> str:
    listing = "\n".join(f"    {a}.zip: {a}/{a}.ipynb" for a in assignments)
    return f"""dlopt {version}: Optimization for Deep Learning, student edition
=================================================================

What is where
-------------
  README.txt            this file
  book/                 the course book (HTML): open book/index.html in a browser; it works offline
  assignments/          one zip per assignment: the notebook you complete and any files it needs
{listing}
  dlopt/, pyproject.toml  the course's helper package (test problems, data, plotting, gradient checks)
  requirements.txt      the pinned packages you need, and the helper package (./)

Install (Python 3.10 or newer), from this folder
------------------------------------------------
  python3 -m venv .venv && .venv/bin/pip install -r requirements.txt

Then unzip an assignment and open it:
  unzip assignments/01_sgd.zip && .venv/bin/jupyter lab 01_sgd/01_sgd.ipynb

Each exercise replaces a `raise NotImplementedError()` stub with your code. Run the visible
checks in the notebook (or "Validate" in JupyterLab) before you submit; hidden checks are
run when your submission is graded.

What to hand in (upload to your course's site, or as your course says)
-----------------------------------------------------------------------
  The one file <assignment>.ipynb, e.g. 01_sgd.ipynb: the notebook you completed, with its name
  unchanged (not "01_sgd (1).ipynb", not "my_sgd.ipynb"; grading looks for the exact name), saved
  after Kernel > Restart Kernel and Run All Cells. Nothing else: no zip, no other files.

  Check it first, from this folder:
    .venv/bin/python -m dlopt.handin 01_sgd/01_sgd.ipynb
  It runs the notebook from the top in a fresh kernel (as grading does), prints every visible
  check, and writes the copy to upload, named exactly 01_sgd.ipynb, into 01_sgd/handin/. It
  says READY (exit code 0) or lists the problems to fix (1); a file it cannot use at all (not a
  notebook, not one of the course's) is 2. Your own file is never changed. Upload the copy in
  handin/ without renaming it.
"""


def write_zip(folder: Path, archive: Path) -> None:
    """Zip ``folder`` as ``<folder name>/...`` (every file, sorted, no caches)."""
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                zipped.write(path, Path(folder.name) / path.relative_to(folder))


def write_bundle(course_root: Path, bundle: Path, version: str, release_dir: Path, assignments: list[str],
                 html: Path) -> None:
    """Write the bundle's files into ``bundle`` (which must not exist yet)."""
    course_root = Path(course_root)
    bundle.mkdir(parents=True)
    (bundle / "assignments").mkdir()
    for assignment in assignments:
        folder = release_dir / assignment
        if not (folder / f"{assignment}.ipynb").is_file():
            raise ReleaseError(f"nbgrader made no student notebook {folder / f'{assignment}.ipynb'}")
        write_zip(folder, bundle / "assignments" / f"{assignment}.zip")
    shutil.copytree(course_root / "dlopt", bundle / "dlopt",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", "*.egg-info"))
    shutil.copy2(course_root / "pyproject.toml", bundle / "pyproject.toml")
    (bundle / "requirements.txt").write_text(student_requirements(course_root / "requirements.txt"))
    shutil.copytree(html, bundle / "book", ignore=shutil.ignore_patterns(".buildinfo"))
    (bundle / "README.txt").write_text(readme_text(version, assignments))


# ---------------------------------------------------------------------------------------------
# 5. the bundle check


def _forbidden_paths(root: Path, shown: str) -> list[str]:
    """Files and folders that must not be in a bundle, whatever they contain."""
    problems = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        where = f"{shown}{relative}"
        if path.name in FORBIDDEN_NAMES:
            problems.append(f"{where}: a {path.name} must never be shipped (it stores the hidden tests)")
        elif path.is_dir() and path.name == REFERENCE_PACKAGE:
            problems.append(f"{where}: the reference package {REFERENCE_PACKAGE} must never be shipped")
        elif path.is_file() and path.suffix == ".py" and REFERENCE_PACKAGE in relative.parts[:-1]:
            problems.append(f"{where}: a module of {REFERENCE_PACKAGE} must never be shipped")
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
    every zip (reported as ``archive.zip!member:line``). Also forbidden: a ``gradebook.db``, a
    ``dlopt_reference`` folder or module, a requirement on the reference package.
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
            if REFERENCE_PACKAGE in code or "solutions" in code:
                problems.append(f"{requirements}:{row}: the reference package is not for students: {line!r}")
    return problems


# ---------------------------------------------------------------------------------------------
# the command


def release(course_root: Path, version: str, out: Path, *, strict: bool = True) -> int:
    """Run the whole release (see the module docstring); return the exit code (0 shipped, 1 failed)."""
    course_root, out = Path(course_root).resolve(), Path(out).resolve()
    if not re.fullmatch(r"[0-9A-Za-z][0-9A-Za-z._-]*", version):
        print(f"release: invalid version {version!r} (letters, digits, '.', '_', '-')", file=sys.stderr)
        return 1
    assignments = [path.parent.name for path in source_assignments(course_root)]
    name = f"dlopt-{version}"
    final, partial, rejected = out / name, out / f"{name}.partial", out / f"{name}.rejected"

    def fail(problems: list[str], step: str) -> int:
        print(f"\nRELEASE FAILED at {step}: {len(problems)} problem(s)", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1

    print(f"== 1/5 validating {len(assignments)} assignments through nbgrader", flush=True)
    with tempfile.TemporaryDirectory(prefix="dlopt-release-") as workdir:
        course, problems = validate_assignments(course_root, Path(workdir) / "course", assignments)
        if problems:
            return fail(problems, "validation")
        print("== 2/5 student versions: the releases nbgrader generated above", flush=True)
        print("== 3/5 building the student edition of the book", flush=True)
        try:
            html = build_student_book(course_root, strict=strict)
        except ReleaseError as error:
            return fail([str(error)], "the book build")
        print(f"== 4/5 writing the bundle {final}", flush=True)
        for stale in (partial, rejected):
            if stale.exists():
                shutil.rmtree(stale)
        try:
            write_bundle(course_root, partial, version, course.root / "release", assignments, html)
        except (ReleaseError, OSError) as error:
            return fail([str(error)], "writing the bundle")
    print("== 5/5 checking every file of the bundle (zip members extracted)", flush=True)
    problems = check_bundle(partial, course_root)
    if problems:
        partial.rename(rejected)
        print(f"the rejected bundle is left in {rejected} for inspection", file=sys.stderr)
        return fail([p.replace(str(partial), str(rejected)) for p in problems], "the bundle check")
    if final.exists():
        shutil.rmtree(final)
    partial.rename(final)
    files = sum(1 for path in final.rglob("*") if path.is_file())
    print(f"\nreleased {name}: {len(assignments)} assignments, the book, the helper package ({files} files) in {final}")
    print("leak check: passed (0 problems)")
    return 0
