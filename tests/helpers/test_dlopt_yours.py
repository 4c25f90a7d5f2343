"""``dlopt.yours``: a student's own functions from their assignment notebooks, and the chapters that use them.

Both ways: a model answer gives functions that compute what the reference computes; the untouched release
gives functions whose call says which one is not written yet and where; a missing notebook, a deleted
answer cell and a broken cell are reported by name. Only defining cells run (an experiment cell that would
fail is never executed). Then the chapter notebooks (``chapter_notebooks.py``): every chapter converts, no
code cell of any keeps ``dlopt_reference``, and each of its functions comes from the assignment that asks
for it.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import numpy as np
import pytest

import dlopt.yours as yours
from dlopt.yours import NotWrittenYet, find_assignment, functions_from
from dlopt_course.chapter_notebooks import chapter_notebook, function_homes, rewrite_cell
from dlopt_course.notebooks import student_version
from dlopt_course.submissions import model_answer
from dlopt_reference.optim import adam as reference_adam

REPOSITORY = Path(__file__).resolve().parents[2]
A = "04_adaptive"


def _source():
    return nbformat.read(REPOSITORY / "exercises" / A / f"{A}.ipynb", as_version=4)


@pytest.fixture
def in_folder(tmp_path, monkeypatch):
    """An empty working folder and home, no DLOPT_ASSIGNMENTS, and no notebook remembered from another test."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DLOPT_ASSIGNMENTS", raising=False)
    monkeypatch.setattr(yours, "_loaded", {})
    return tmp_path


def test_a_model_answer_gives_functions_that_compute_what_the_reference_does(in_folder):
    source = _source()
    (in_folder / A).mkdir()
    nbformat.write(model_answer(source, student_version(source)), in_folder / A / f"{A}.ipynb")
    adam, rmsprop = functions_from(A, "adam", "rmsprop")
    rng = np.random.default_rng(3)
    w, dw = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    mine, _ = adam(w.copy(), dw, {"learning_rate": 1e-2})
    expected, _ = reference_adam(w.copy(), dw, {"learning_rate": 1e-2})
    np.testing.assert_allclose(mine, expected, rtol=1e-12)
    assert callable(rmsprop) and adam.__name__ == "adam"


def test_the_release_says_which_function_is_not_written_and_where(in_folder):
    nbformat.write(student_version(_source()), in_folder / f"{A}.ipynb")
    adam = functions_from(A, "adam")
    with pytest.raises(NotWrittenYet, match=rf"adam is not written yet: it still raises NotImplementedError in "
                                            rf".*{A}\.ipynb"):
        adam(np.zeros(2), np.ones(2))


def test_only_defining_cells_run(in_folder):
    notebook = student_version(_source())
    notebook.cells.append(nbformat.v4.new_code_cell("raise SystemExit('an experiment cell ran')"))
    notebook.cells.append(nbformat.v4.new_code_cell("for _ in range(3):\n    raise SystemExit('a loop ran')"))
    nbformat.write(notebook, in_folder / f"{A}.ipynb")
    assert callable(functions_from(A, "adagrad"))


def test_a_missing_notebook_says_where_it_looked(in_folder, monkeypatch):
    with pytest.raises(FileNotFoundError, match=rf"{A}\.ipynb not found; looked in:(.|\n)*DLOPT_ASSIGNMENTS"):
        find_assignment(A)
    elsewhere = in_folder / "my assignments"
    elsewhere.mkdir()
    nbformat.write(student_version(_source()), elsewhere / f"{A}.ipynb")
    monkeypatch.setenv("DLOPT_ASSIGNMENTS", str(elsewhere))
    assert find_assignment(A) == elsewhere / f"{A}.ipynb"


def test_a_deleted_answer_and_a_broken_cell_are_named(in_folder):
    notebook = student_version(_source())
    answer = next(cell for cell in notebook.cells if "def adam(" in cell.source)
    notebook.cells.remove(answer)
    nbformat.write(notebook, in_folder / f"{A}.ipynb")
    with pytest.raises(NameError, match="defines no function 'adam'"):
        functions_from(A, "adam")
    yours._loaded.clear()
    answer = next(cell for cell in notebook.cells if "def rmsprop(" in cell.source)
    answer.source += "\ndef broken(:"
    nbformat.write(notebook, in_folder / f"{A}.ipynb")
    os.utime(in_folder / f"{A}.ipynb", (1, 1))  # a new version of the file
    with pytest.raises(RuntimeError, match=rf"cell \d+ of .*{A}\.ipynb failed \(SyntaxError"):
        functions_from(A, "rmsprop")


# -- the chapters as notebooks ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def homes():
    return function_homes(REPOSITORY)


def test_each_function_comes_from_the_assignment_that_asks_for_it(homes):
    assert homes["sgd"] == "01_sgd" and homes["adam"] == "04_adaptive" and homes["lbfgs_direction"] == "09_second_order"
    cell = ("import numpy as np\n"
            "from dlopt_reference.optim import sgd                      # chapter 1\n"
            "from dlopt_reference.optim import (adagrad,\n"
            "                                   adam)   # 04\n"
            "x = sgd\n")
    assert rewrite_cell(cell, homes, "a cell") == (
        "import numpy as np\n"
        "from dlopt.yours import functions_from\n"
        'sgd = functions_from("01_sgd", "sgd")  # yours\n'
        'adagrad, adam = functions_from("04_adaptive", "adagrad", "adam")  # yours\n'
        "x = sgd")


def test_what_no_assignment_asks_for_stops_the_build(homes):
    with pytest.raises(ValueError, match="imports hessian_vector_product from dlopt_reference, which no assignment"):
        rewrite_cell("from dlopt_reference.practice import hessian_vector_product\n", homes, "a cell")
    with pytest.raises(ValueError, match="other than by"):
        rewrite_cell("import dlopt_reference.optim\n", homes, "a cell")


@pytest.mark.parametrize("chapter", sorted(path.name for path in (REPOSITORY / "book").glob("[0-9][0-9]_*.md")))
def test_every_chapter_converts_without_the_reference(chapter, homes):
    notebook = chapter_notebook(REPOSITORY / "book" / chapter, homes)
    nbformat.validate(notebook)
    code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    assert code and not any("dlopt_reference" in source for source in code)
    assert any("functions_from(" in source for source in code)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")
    assert "runs on your own functions" in notebook.cells[0].source


def test_a_downloaded_chapter_is_never_taken_for_the_assignment(in_folder, homes):
    chapter = chapter_notebook(REPOSITORY / "book" / f"{A}.md", homes)
    nbformat.write(chapter, in_folder / f"{A}.ipynb")  # renamed by the student to the assignment's name
    (in_folder / A).mkdir()
    nbformat.write(student_version(_source()), in_folder / A / f"{A}.ipynb")
    assert find_assignment(A) == in_folder / A / f"{A}.ipynb"
