"""Submissions made from a release: the model answer, and edited (wrong) variants of it.

Used to validate an assignment through a real ``nbgrader autograde``: the model answer must score
full marks, the untouched release zero, and each known mistake less than full marks.
"""

from __future__ import annotations

import copy
from typing import Callable

import nbformat

from .notebooks import SOLUTION_BEGIN, SOLUTION_END


def _grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _without_markers(source: str) -> str:
    """A model solution as a student would write it: the nbgrader marker lines removed."""
    return "\n".join(line for line in source.splitlines() if line.strip() not in (SOLUTION_BEGIN, SOLUTION_END))


def model_answer(source: nbformat.NotebookNode, release: nbformat.NotebookNode,
                 edit: Callable[[str, str], str] | None = None) -> nbformat.NotebookNode:
    """The release notebook with every solution cell filled in from the source notebook.

    ``edit(grade_id, code)``, when given, may change a solution before it is filled in (to make
    a wrong answer); it returns the new code.
    """
    solutions = {
        _grade_id(cell): _without_markers(cell.source)
        for cell in source.cells
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution")
    }
    submission = copy.deepcopy(release)
    for cell in submission.cells:
        grade_id = _grade_id(cell)
        if grade_id in solutions:
            code = solutions[grade_id]
            cell.source = edit(grade_id, code) if edit else code
    return submission


def hand_graded_points(notebook: nbformat.NotebookNode) -> float:
    """The points of the answers an instructor grades by hand (cells that are solution *and* graded).

    ``autograde`` leaves them ungraded, so a model answer's automatic score is the maximum less these.
    """
    return sum(float(cell.metadata["nbgrader"].get("points", 0)) for cell in notebook.cells
               if cell.get("metadata", {}).get("nbgrader", {}).get("solution")
               and cell.metadata["nbgrader"].get("grade"))


def replace_in_solution(grade_id: str, old: str, new: str) -> Callable[[str, str], str]:
    """An ``edit`` for :func:`model_answer` that replaces ``old`` by ``new`` in one solution cell.

    Raises ``ValueError`` if ``old`` is not in that cell, so that a catalogue of mistakes cannot
    silently drift away from the model answer it edits.
    """
    def edit(cell_id: str, code: str) -> str:
        if cell_id != grade_id:
            return code
        if old not in code:
            raise ValueError(f"{old!r} does not occur in solution cell {grade_id!r}")
        return code.replace(old, new)
    return edit


def combine_edits(*edits: Callable[[str, str], str]) -> Callable[[str, str], str]:
    """One ``edit`` applying several in turn (e.g. one mistake in each function of an assignment)."""
    def edit(cell_id: str, code: str) -> str:
        for single in edits:
            code = single(cell_id, code)
        return code
    return edit
