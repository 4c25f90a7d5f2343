"""The one-command release: ``dlopt-course release --version 2026.1 [--out dist]``.

1. Validates every source assignment: ``nbgrader validate`` on the source notebook must pass, and in
   one temporary nbgrader course (never the instructor's own, so no ``gradebook.db`` is touched)
   ``generate_assignment`` plus a real ``autograde`` (assignment by assignment: nbgrader and its
   SQLite gradebook are sequential) must give the model answer full marks (but for the written
   answers, which an instructor grades) and the untouched release zero.
2. Takes the student versions from that temporary course (``release/<a>/``).
3. Builds the student edition of the book (:func:`build_book`, into the course's ``_build/html``:
   a warm rebuild when the book was built before) and copies it.
4. Writes the versioned bundle ``<out>/dlopt-<version>/``::

       README.txt             what is where, and the student install command
       requirements.txt       the student's pinned packages and ``./`` (dlopt); never dlopt_reference
       pyproject.toml, dlopt/ the student helper package
       assignments/<a>.zip    <a>/<a>.ipynb and any other file of the release folder
       book/                  the HTML book

5. Checks the whole bundle (:func:`~.release_checks.check_bundle`): the leak check over every file, zip members
   extracted and scanned, plus no ``gradebook.db``, no ``dlopt_reference`` folder or module, no
   requirement on the reference package.

6. Zips the checked folder into the one archive ``<out>/dlopt-<version>.zip`` (members
   ``dlopt-<version>/...``, exactly the folder's files) and checks the archive the same way, from
   its extracted members.

The bundle is written as ``dlopt-<version>.partial`` and renamed to ``dlopt-<version>`` only when
every check passed; a failed bundle is left as ``dlopt-<version>.rejected`` for inspection. Any
failure prints each problem (file and line; ``archive.zip!member:line`` inside a zip) and exits 1.

A version already released (``dlopt-<version>/`` or its zip in ``<out>``) is never replaced: the
release refuses before doing anything (exit 2), unless ``--force``. The console gets one line per step and per
assignment, with the time that step took; everything the tools print (nbgrader, the kernels, Sphinx)
goes to ``<out>/dlopt-<version>.log``, whose path is printed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .build_book import build_book
from .nbgrader_course import NbgraderCourse, NbgraderError
from .notebooks import source_assignments
from .release_checks import check_archive, check_bundle
from .submissions import hand_graded_points, model_answer

#: What a student installs (pinned as in the course's requirements.txt), besides ``./`` (dlopt).
STUDENT_PACKAGES = ("numpy", "matplotlib", "scikit-learn", "jupyterlab", "nbgrader", "ipykernel")

VALIDATE_PASSED = "Success! Your notebook passes all the tests."

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


def validate_assignments(course_root: Path, workdir: Path, assignments: list[str],
                         say=print) -> tuple[NbgraderCourse, list[str]]:
    """Validate and autograde every assignment in one temporary course; return it and the problems.

    ``nbgrader validate`` of the source notebooks (which touches no gradebook) runs in one background
    worker while ``generate_assignment`` and ``autograde`` run assignment by assignment in the
    foreground (nbgrader and its SQLite gradebook are sequential): two processes at a time.
    The course's ``release/<a>/`` folders are the student versions (made by nbgrader itself).
    ``say`` gets one line per assignment: its result and the time it took; nbgrader's output is printed.
    """
    course = NbgraderCourse.copy_of(course_root, workdir, assignments)
    problems: list[str] = []
    with ThreadPoolExecutor(max_workers=1) as pool:
        validations = {assignment: pool.submit(_validate_source, course, assignment) for assignment in assignments}
        for index, assignment in enumerate(assignments, start=1):
            prefix = f"[{index}/{len(assignments)}] {assignment}:"
            source_path = course_root / "exercises" / assignment / f"{assignment}.ipynb"
            started = time.monotonic()
            model = blank = None
            try:
                course.generate(assignment)
                source, release = course.source(assignment), course.release(assignment)
                course.submit("model", assignment, model_answer(source, release))
                course.submit("blank", assignment, release)
                # nbgrader's own output goes to stdout: the release's log (see Console), not the console
                print(f"--- nbgrader autograde {assignment}\n{course.autograde(assignment)}", flush=True)
                scores = course.scores(assignment)
                model, blank = scores.get("model"), scores.get("blank")
                by_hand = hand_graded_points(source)  # written answers: an instructor grades them, not autograde
                if model is None or not (model[1] > 0 and model[0] == model[1] - by_hand):
                    problems.append(f"{source_path}: the model answer scores {model} (score, max), not full "
                                    f"marks ({by_hand:g} of them graded by hand)")
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
            say(f"{prefix} {'ok' if ok else 'FAILED'}: validate {'passed' if validation is None else 'FAILED'}"
                f"{scored} ({time.monotonic() - started:.0f} s)")
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


def write_zip(folder: Path, archive: Path, prefix: str | None = None) -> None:
    """Zip ``folder`` as ``<prefix>/...`` (default: the folder's name; every file, sorted, no caches)."""
    prefix = folder.name if prefix is None else prefix
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                zipped.write(path, Path(prefix) / path.relative_to(folder))


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
# the command


class Console:
    """Progress lines on the terminal; everything else the process and its children print, in a log.

    While open, file descriptors 1 and 2 point to the log file (so nbgrader's, the kernels' and
    Sphinx's output, printed by child processes, lands there too); :meth:`say` writes to the saved
    terminal and to the log, :meth:`error` to the saved stderr and to the log.
    """

    def __init__(self, log_path: Path):
        self.log_path = Path(log_path)

    def __enter__(self) -> "Console":
        sys.stdout.flush()
        sys.stderr.flush()
        self._saved = os.dup(1), os.dup(2)
        self.log = open(self.log_path, "w", buffering=1)
        self.terminal = os.fdopen(os.dup(self._saved[0]), "w", buffering=1)
        self.terminal_err = os.fdopen(os.dup(self._saved[1]), "w", buffering=1)
        os.dup2(self.log.fileno(), 1)
        os.dup2(self.log.fileno(), 2)
        return self

    def say(self, text: str) -> None:
        sys.stdout.flush()
        self.log.write(text + "\n")
        self.terminal.write(text + "\n")

    def error(self, text: str) -> None:
        sys.stdout.flush()
        self.log.write(text + "\n")
        self.terminal_err.write(text + "\n")

    def __exit__(self, *exc) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(self._saved[0], 1)
        os.dup2(self._saved[1], 2)
        for handle in (self.terminal, self.terminal_err, self.log):
            handle.close()
        for fd in self._saved:
            os.close(fd)


@contextlib.contextmanager
def _step(console: Console, label: str):
    """Announce ``label``, run the step, then say how long *it* took."""
    console.say(f"== {label}")
    started = time.monotonic()
    yield
    console.say(f"   done in {time.monotonic() - started:.0f} s")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def release(course_root: Path, version: str, out: Path, *, strict: bool = True, force: bool = False) -> int:
    """Run the whole release (see the module docstring); return the exit code (0 shipped, 1 a check failed, 2
    refused: an invalid or already released version)."""
    course_root, out = Path(course_root).resolve(), Path(out).resolve()
    if not re.fullmatch(r"[0-9A-Za-z][0-9A-Za-z._-]*", version):
        print(f"release: invalid version {version!r} (letters, digits, '.', '_', '-')", file=sys.stderr)
        return 2
    name = f"dlopt-{version}"
    final, partial, rejected = out / name, out / f"{name}.partial", out / f"{name}.rejected"
    archive, partial_archive = out / f"{name}.zip", out / f"{name}.zip.partial"
    given_out = [path for path in (final, archive) if path.exists() or path.is_symlink()]
    if given_out and not force:
        print(f"release: {name} was already released: {', '.join(map(str, given_out))} exists. A bundle "
              f"given out is never replaced silently: choose a new --version, or pass --force to replace it.",
              file=sys.stderr)
        return 2
    assignments = [path.parent.name for path in source_assignments(course_root)]
    out.mkdir(parents=True, exist_ok=True)
    log_path = out / f"{name}.log"
    print(f"release {name}: full log in {log_path}", flush=True)
    started = time.monotonic()
    with Console(log_path) as console:
        status = _release_steps(console, course_root, version, assignments, strict, force,
                                final, partial, rejected, archive, partial_archive)
        console.say(f"{'released' if status == 0 else 'FAILED'} in {time.monotonic() - started:.0f} s; "
                    f"full log: {log_path}")
    return status


def _release_steps(console: Console, course_root: Path, version: str, assignments: list[str], strict: bool,
                   force: bool, final: Path, partial: Path, rejected: Path, archive: Path,
                   partial_archive: Path) -> int:
    name = final.name

    def fail(problems: list[str], step: str) -> int:
        console.error(f"RELEASE FAILED at {step}: {len(problems)} problem(s)")
        for problem in problems:
            console.error(f"  {problem}")
        return 1

    with tempfile.TemporaryDirectory(prefix="dlopt-release-") as workdir:
        with _step(console, f"1/6 validating {len(assignments)} assignments through nbgrader (generate_assignment, "
                            f"autograde of the model answer and the untouched release, nbgrader validate)"):
            course, problems = validate_assignments(course_root, Path(workdir) / "course", assignments,
                                                    say=console.say)
        if problems:
            return fail(problems, "validation")
        console.say("== 2/6 student versions: the releases nbgrader generated above")
        try:
            with _step(console, "3/6 building the student edition of the book"):
                html = build_student_book(course_root, strict=strict)
        except ReleaseError as error:
            return fail([str(error)], "the book build")
        for stale in (partial, rejected, partial_archive, rejected.with_name(f"{rejected.name}.zip")):
            _remove(stale)
        try:
            with _step(console, f"4/6 writing the bundle {final}"):
                write_bundle(course_root, partial, version, course.root / "release", assignments, html)
        except (ReleaseError, OSError) as error:
            return fail([str(error)], "writing the bundle")
    with _step(console, "5/6 checking every file of the bundle (zip members extracted)"):
        problems = check_bundle(partial, course_root)
    if problems:
        partial.rename(rejected)
        console.error(f"the rejected bundle is left in {rejected} for inspection")
        return fail([p.replace(str(partial), str(rejected)) for p in problems], "the bundle check")
    with _step(console, f"6/6 writing and checking the archive {archive}"):
        write_zip(partial, partial_archive, prefix=name)
        problems = check_archive(partial_archive, partial, course_root, prefix=name)
    if problems:
        partial.rename(rejected)
        partial_archive.rename(rejected.with_name(f"{rejected.name}.zip"))
        console.error(f"the rejected bundle is left in {rejected} for inspection")
        return fail(problems, "the archive check")
    if force:
        _remove(final)
        _remove(archive)
    partial.rename(final)
    partial_archive.rename(archive)
    files = sum(1 for path in final.rglob("*") if path.is_file())
    console.say(f"released {name}: {len(assignments)} assignments, the book, the helper package ({files} files) "
                f"in {final} and in the one archive {archive}")
    console.say("leak check: passed (0 problems)")
    return 0
