"""Reading source assignments and making their student versions (no solutions, no hidden tests)."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat

SOLUTION_BEGIN = "### BEGIN SOLUTION"
SOLUTION_END = "### END SOLUTION"
HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"


def source_assignments(course_root: Path) -> list[Path]:
    """The source notebooks ``exercises/<a>/<a>.ipynb``, sorted by assignment name."""
    exercises = Path(course_root) / "exercises"
    notebooks = []
    for folder in sorted(p for p in exercises.iterdir() if p.is_dir() and not p.name.startswith(".")):
        notebook = folder / f"{folder.name}.ipynb"
        if not notebook.is_file():
            raise FileNotFoundError(f"assignment folder {folder} has no notebook named {notebook.name}")
        notebooks.append(notebook)
    return notebooks


def _regions(source: str, begin: str, end: str) -> list[str]:
    """The text between each ``begin`` and ``end`` marker line of a cell's source."""
    pattern = re.compile(re.escape(begin) + r"[^\n]*\n(.*?)^[ \t]*" + re.escape(end), re.S | re.M)
    return [match.group(1) for match in pattern.finditer(source)]


def hidden_lines(notebook: nbformat.NotebookNode) -> tuple[list[str], list[str]]:
    """``(solution_lines, hidden_test_lines)``: the lines a student must never see, stripped.

    Solution lines come from the regions between the solution markers of code cells (and the
    whole of markdown solution cells); hidden-test lines from the hidden-test regions.
    """
    solutions, hidden = [], []
    for cell in notebook.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code":
            for region in _regions(cell.source, SOLUTION_BEGIN, SOLUTION_END):
                solutions.extend(region.splitlines())
            for region in _regions(cell.source, HIDDEN_BEGIN, HIDDEN_END):
                hidden.extend(region.splitlines())
        elif meta.get("solution"):
            solutions.extend(cell.source.splitlines())
    strip = lambda lines: [line.strip() for line in lines if line.strip()]  # noqa: E731
    return strip(solutions), strip(hidden)


def student_version(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of a source notebook as students receive it.

    Applies nbgrader's own preprocessors (the same ones ``nbgrader generate_assignment`` runs):
    solutions replaced by stubs, hidden tests removed, outputs cleared.
    """
    from nbgrader.preprocessors import ClearHiddenTests, ClearMarkScheme, ClearOutput, ClearSolutions
    from traitlets.config import Config

    config = Config()
    config.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
    student = copy.deepcopy(notebook)
    for preprocessor in (ClearSolutions, ClearOutput, ClearHiddenTests, ClearMarkScheme):
        student, _ = preprocessor(config=config).preprocess(student, {})
    return student
