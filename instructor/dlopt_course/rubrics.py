"""The rubrics of the written answers, for the instructors who grade them: ``rubrics A... [--out F]``.

A written answer is a markdown cell graded by hand (nbgrader's *manually graded answer*). In the source
notebook its solution region holds a model answer and a rubric, which nbgrader removes from the release.
Formgrader shows the student's answer, not the source: this command gathers, for each assignment, every
question with its points, model answer and rubric into one Markdown sheet to keep open beside formgrader.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from .notebooks import SOLUTION_BEGIN, SOLUTION_END


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def written_answers(notebook) -> list[tuple[str, str, float, str]]:
    """``(grade id, question, points, model answer and rubric)`` of each written answer of a source notebook."""
    found, question = [], ""
    for cell in notebook.cells:
        meta = _nbgrader(cell)
        if cell.cell_type != "markdown":
            continue
        if meta.get("solution") and meta.get("grade"):
            region = cell.source.split(SOLUTION_BEGIN, 1)[-1].split(SOLUTION_END, 1)[0].strip()
            found.append((meta["grade_id"], question, float(meta.get("points", 0)), region))
        question = cell.source.strip()
    return found


def rubric_sheet(course_root: Path, assignments: list[str]) -> str:
    """One Markdown document: per assignment, each question, its points, its model answer and rubric."""
    parts = ["# Rubrics of the written answers (instructors only)\n"]
    for assignment in assignments:
        path = Path(course_root) / "exercises" / assignment / f"{assignment}.ipynb"
        if not path.is_file():
            raise FileNotFoundError(f"no source notebook {path}")
        parts.append(f"\n## {assignment}\n")
        for grade_id, question, points, rubric in written_answers(nbformat.read(path, as_version=4)):
            parts.append(f"\n### `{grade_id}` ({points:g} points)\n\n{question}\n\n{rubric}\n")
    return "".join(parts)
