"""Build the book (the student edition): student pages for the exercises, the chapters as notebooks on the
student's own functions, then Jupyter Book."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from .chapter_notebooks import NOTEBOOKS_DIR, write_chapter_notebooks
from .execute import pre_execute
from .notebooks import source_assignments, student_version

#: Where the student versions of the exercises go inside the book (git-ignored, made at build time).
GENERATED_DIR = Path("book") / "exercises" / "_generated"


def write_student_pages(course_root: Path) -> list[Path]:
    """Write the student version of every source assignment into the book; return the paths.

    The pages are shown, not executed (their stubs raise ``NotImplementedError``), and their
    download button offers exactly the notebook a student receives. A page whose content has not
    changed is left untouched (same mtime), so a rebuild does not make Sphinx re-read it; pages of
    assignments that no longer exist are removed.
    """
    course_root = Path(course_root)
    out_dir = course_root / GENERATED_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for source in source_assignments(course_root):
        student = student_version(nbformat.read(source, as_version=4))
        student.metadata["mystnb"] = {"execution_mode": "off"}
        target = out_dir / source.name
        text = nbformat.writes(student)
        if not text.endswith("\n"):
            text += "\n"  # as nbformat.write
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
        written.append(target)
    for stale in set(out_dir.iterdir()) - set(written):
        if stale.is_dir():
            shutil.rmtree(stale)
        else:
            stale.unlink()
    return written


def jupyter_book_command() -> list[str]:
    """The ``jupyter-book`` executable of this Python environment."""
    candidate = Path(sys.executable).with_name("jupyter-book")
    if candidate.exists():
        return [str(candidate)]
    found = shutil.which("jupyter-book")
    if found is None:
        raise FileNotFoundError("jupyter-book is not installed: pip install -r requirements.txt")
    return [found]


def build_book(course_root: Path, *, strict: bool = True, extra_args: tuple[str, ...] = (),
               workers: int | None = None) -> int:
    """Make the student pages, execute uncached chapters in parallel, run ``jupyter-book build``.

    ``strict`` turns Sphinx warnings into errors (``-W -n --keep-going``), as CI does.
    ``workers`` processes execute the chapters whose results are not cached yet (default: one per
    core; 1 leaves all execution to Jupyter Book, which runs chapters one after another).
    Returns the exit code of ``jupyter-book build``.
    """
    course_root = Path(course_root)
    pages = write_student_pages(course_root)
    print(f"wrote {len(pages)} student exercise pages into {GENERATED_DIR}", flush=True)
    notebooks = write_chapter_notebooks(course_root)
    print(f"wrote {len(notebooks)} chapter notebooks on the student's own functions into {NOTEBOOKS_DIR}",
          flush=True)
    if workers != 1:
        pre_execute(course_root, workers)
    command = [*jupyter_book_command(), "build", str(course_root)]
    if strict:
        command += ["-W", "-n", "--keep-going"]
    command += list(extra_args)
    print("running:", " ".join(command), flush=True)
    # The chapters' kernels must use matplotlib's inline backend: an inherited MPLBACKEND=Agg
    # would silently drop every figure from the book.
    env = {key: value for key, value in os.environ.items() if key != "MPLBACKEND"}
    return subprocess.call(command, cwd=course_root, env=env)
