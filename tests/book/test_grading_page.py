"""The page *How grading works* states the first assignment's table of tasks as the notebook has it."""

from __future__ import annotations

from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]


def _table(text: str) -> list[str]:
    """The first Markdown table of ``text`` whose header starts with ``| task | kind |``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.replace(" ", "").startswith("|task|kind|"))
    table = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        table.append(line.strip())
    return table


def test_the_grading_page_shows_the_first_assignments_table():
    notebook = nbformat.read(ROOT / "exercises" / "01_sgd" / "01_sgd.ipynb", as_version=4)
    page = (ROOT / "book" / "grading.md").read_text()
    assert _table(page) == _table(notebook.cells[0].source)
