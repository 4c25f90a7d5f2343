"""Check a completed assignment and make the copy to hand in: ``python -m dlopt.handin 04_adaptive.ipynb``.

For classes that collect notebooks by upload (an LMS such as Canvas or Moodle, or e-mail). The command

1. reads the notebook (it must be JSON in the notebook format) and finds its assignment: from the file's
   name, or, when the name was changed (``04_adaptive (1).ipynb``, ``my work.ipynb``), from the graded cells
   inside it (their nbgrader ``grade_id`` names the visible checks of one assignment), and says so;
2. runs it from the top in a fresh kernel, as grading does, with a time limit per cell;
3. prints the result of every visible check and every other cell that raised an error;
4. writes the executed copy, named exactly ``<assignment>.ipynb``, into a ``handin/`` folder next to the
   notebook (``--out`` to choose another), and prints the path to upload.

The student's own file is never written to. Exit codes: 0 ready to hand in, 1 problems found (the copy is
still written when the notebook could be run), 2 the input cannot be used (no file, not a notebook, no
known assignment).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

#: The course's assignments, one per chapter: ``NN_name`` where ``NN`` is the chapter of its visible checks.
ASSIGNMENTS = (
    "01_sgd", "02_momentum", "03_nesterov", "04_adaptive", "05_lr_decay", "06_batchnorm",
    "07_hyperparameter_search", "08_ensembles", "09_second_order", "10_practice",
)

#: A notebook larger than this is not a course notebook (grading refuses it too).
MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024
DEFAULT_CELL_TIMEOUT = 300

#: Names browsers and LMSs give to copies: ``04_adaptive (1)``, ``04_adaptive(2)``, ``04_adaptive-2``.
_COPY_SUFFIX = re.compile(r"^(?P<base>.+?)(?: ?\(\d+\)|-\d+)$")


class UnusableNotebook(ValueError):
    """The input cannot be checked at all (exit code 2); the message says why and what to do."""


@dataclass
class Report:
    assignment: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checks: list[tuple[str, bool, str]] = field(default_factory=list)  # (check, passed, message)
    copy: Path | None = None


def _grade_ids(notebook) -> list[str]:
    ids = []
    for cell in notebook.cells:
        meta = cell.get("metadata", {})
        nbgrader = meta.get("nbgrader") if isinstance(meta, dict) else None
        if isinstance(nbgrader, dict) and isinstance(nbgrader.get("grade_id"), str):
            ids.append(nbgrader["grade_id"])
    return ids


def assignment_of_cells(notebook) -> str | None:
    """The assignment whose visible checks the notebook's graded cells (``<name>_visible``) are, or ``None``."""
    from .checks._framework import _CHECKS

    chapters = set()
    for grade_id in _grade_ids(notebook):
        name = grade_id[: -len("_visible")] if grade_id.endswith("_visible") else None
        if name in _CHECKS:
            module = _CHECKS[name].__module__.rsplit(".", 1)[-1]  # dlopt.checks._chapter04 -> _chapter04
            chapters.add(module.removeprefix("_chapter"))
    matches = [a for a in ASSIGNMENTS if a.split("_", 1)[0] in chapters]
    return matches[0] if len(matches) == 1 else None


def assignment_of_name(path: Path) -> str | None:
    """The assignment a file name stands for (``04_adaptive.ipynb``, ``04_adaptive (1).ipynb``), or ``None``."""
    stem = path.name[: -len(".ipynb")] if path.name.lower().endswith(".ipynb") else path.stem
    if stem in ASSIGNMENTS:
        return stem
    match = _COPY_SUFFIX.match(stem)
    return match.group("base") if match and match.group("base") in ASSIGNMENTS else None


def read_notebook(path: Path):
    """The notebook at ``path`` (nbformat 4), or :class:`UnusableNotebook` saying why not."""
    import nbformat

    path = Path(path)
    if not path.is_file():
        raise UnusableNotebook(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        raise UnusableNotebook(f"{path}: {size} bytes, larger than any course notebook ({MAX_NOTEBOOK_BYTES}); "
                               "clear large outputs (Edit > Clear Outputs of All Cells) and save")
    text = path.read_bytes().decode("utf-8", errors="replace")
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        raise UnusableNotebook(
            f"{path}: not a notebook: its text is not valid JSON ({error.msg} at line {error.lineno}, column "
            f"{error.colno}). Was it edited outside Jupyter or saved half-way? Download the assignment again or "
            "restore a saved copy (File > Revert / .ipynb_checkpoints/).") from None
    try:
        notebook = nbformat.reads(text, as_version=4)
        nbformat.validate(notebook)
    except Exception as error:  # noqa: BLE001 (nbformat raises several kinds for a malformed notebook)
        first = (str(error).strip().splitlines() or [""])[0][:200]
        raise UnusableNotebook(f"{path}: JSON, but not a valid notebook ({type(error).__name__}: {first})") from None
    return notebook


def identify(path: Path, notebook) -> tuple[str, list[str]]:
    """``(assignment, problems)``: the assignment of the notebook, and a problem if its name is not exact."""
    by_cells, by_name = assignment_of_cells(notebook), assignment_of_name(path)
    if by_cells is None and by_name is None:
        raise UnusableNotebook(
            f"{path}: not a notebook of a course assignment: neither its name nor its graded cells belong to one of "
            f"{', '.join(ASSIGNMENTS)}. Hand in the notebook you downloaded and completed.")
    if by_cells is not None and by_name is not None and by_cells != by_name:
        raise UnusableNotebook(
            f"{path}: its name says {by_name} but its graded cells are those of {by_cells}. Hand in the notebook "
            f"of the assignment, named {by_cells}.ipynb, or check that you completed the right one.")
    assignment = by_cells or by_name
    problems = []
    if by_cells is None:
        problems.append(f"the graded cells of {assignment} are missing from the notebook (deleted, or their "
                        "metadata was lost by copying cells into a new notebook); grading needs them: start "
                        f"from the released {assignment}.ipynb and copy your code into it")
    if path.name != f"{assignment}.ipynb":
        problems.append(f"the file is named {path.name!r}; grading looks for exactly {assignment}.ipynb. Upload the "
                        f"hand-in copy (named {assignment}.ipynb) or rename your file to {assignment}.ipynb")
    return assignment, problems


def _error_text(outputs) -> str | None:
    for output in outputs:
        if output.get("output_type") == "error":
            return f"{output.get('ename', 'Error')}: {output.get('evalue', '')}".strip()
    return None


def run_notebook(notebook, folder: Path, timeout: int) -> str | None:
    """Run every cell in a fresh kernel (in ``folder``, errors kept as outputs); a problem that stopped it, or None."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    client = NotebookClient(notebook, timeout=timeout, allow_errors=True, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}})
    try:
        client.execute()
    except CellTimeoutError:
        return (f"a cell ran longer than {timeout} s and was stopped (an endless loop? a slow experiment?); "
                "grading has a time limit too")
    except DeadKernelError:
        return "the kernel died while running the notebook (out of memory? a call that ends the process?)"
    return None


#: What a written answer's cell holds as released.
UNANSWERED = "YOUR ANSWER HERE"


def check_cells(notebook, report: Report) -> None:
    """Each visible check's result, every other cell that ended in an error, and each written answer left empty."""
    for index, cell in enumerate(notebook.cells, start=1):
        grade_id = (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id", "")
        if cell.cell_type == "markdown" and grade_id.endswith("_answer") and \
                cell.source.strip() in ("", UNANSWERED):
            report.problems.append(f"the written answer {grade_id[: -len('_answer')]} (cell {index}) is not "
                                   "written yet: it still says YOUR ANSWER HERE")
        if cell.cell_type != "code":
            continue
        grade_id = (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id", "")
        error = _error_text(cell.get("outputs", []))
        if grade_id.endswith("_visible"):
            name = grade_id[: -len("_visible")]
            ran = cell.get("execution_count") is not None
            if error is None and ran:
                report.checks.append((name, True, "passes"))
            else:
                message = error or "did not run"
                report.checks.append((name, False, message.splitlines()[0][:300]))
                report.problems.append(f"the visible check of {name} fails: {message.splitlines()[0][:300]}")
        elif error is not None:
            report.problems.append(f"cell {index} raised {error.splitlines()[0][:300]}")


def hand_in(path: Path, out: Path | None = None, timeout: int = DEFAULT_CELL_TIMEOUT) -> Report:
    """Check ``path`` and write its hand-in copy (see the module docstring). Raises :class:`UnusableNotebook`."""
    import nbformat

    path = Path(path)
    notebook = read_notebook(path)
    assignment, problems = identify(path, notebook)
    report = Report(assignment, problems=list(problems))
    out = Path(out) if out is not None else path.parent / "handin"
    target = out / f"{assignment}.ipynb"
    if target.exists() and target.resolve() == path.resolve():
        raise UnusableNotebook(f"{path} is the hand-in copy itself; run the command on the notebook you worked in "
                               "(or pass --out another folder)")
    out.mkdir(parents=True, exist_ok=True)  # before the run: a folder that cannot be made fails at once
    stopped = run_notebook(notebook, path.parent.resolve(), timeout)
    if stopped:
        report.problems.append(stopped)
    check_cells(notebook, report)
    if not report.checks:
        report.problems.append("no visible check ran")
    partial = target.with_name(f".{target.name}.partial")
    nbformat.write(notebook, partial)
    partial.replace(target)
    report.copy = target
    return report


def main(arguments: list[str] | None = None) -> int:
    """The command line (``arguments``: ``sys.argv[1:]`` when ``None``); returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m dlopt.handin", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebook", type=Path, help="your completed notebook, e.g. 04_adaptive.ipynb")
    parser.add_argument("--out", type=Path, default=None,
                        help="the folder for the hand-in copy (default: handin/ next to the notebook)")
    parser.add_argument("--timeout", type=int, default=DEFAULT_CELL_TIMEOUT,
                        help=f"seconds a cell may run (default {DEFAULT_CELL_TIMEOUT})")
    args = parser.parse_args(arguments)
    if args.timeout <= 0:
        parser.error("--timeout must be a positive number of seconds")
    try:
        import nbclient  # noqa: F401 (installed with the student environment: pip install "./[student]")
        import nbformat  # noqa: F401
    except ImportError as error:
        print(f"python -m dlopt.handin needs {error.name}: install the student environment "
              '(pip install "./[student]" or -r requirements.txt of the release)', file=sys.stderr)
        return 2
    try:
        print(f"checking {args.notebook}: running it from the top in a fresh kernel ...", flush=True)
        report = hand_in(args.notebook, args.out, args.timeout)
    except UnusableNotebook as error:
        print(f"NOT READY: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # the hand-in folder cannot be written (read-only folder, disk full, ...)
        print(f"NOT READY: cannot write the hand-in copy: {error}; choose another folder with --out", file=sys.stderr)
        return 2
    print(f"assignment: {report.assignment}")
    for name, passed, message in report.checks:
        print(f"  {'✓' if passed else '✗'} visible check of {name}: {message}")
    if report.problems:
        print(f"\n{len(report.problems)} problem(s):")
        for problem in report.problems:
            print(f"  - {problem}")
    if report.copy is not None:
        print(f"\nhand-in copy (run from the top, with its outputs): {report.copy}")
        print(f"upload this one file, {report.copy.name}, keeping its name.")
    if report.problems:
        print("NOT READY: fix the problems above and run this command again (or hand in as it is).")
        return 1
    print("READY: every visible check passes (the hidden checks run at grading).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
