"""``python -m dlopt.handin``: the student's check before uploading a notebook to an LMS.

Run as students run it (a subprocess, its own kernel) on a model answer named right, the same answer as the
browser's ``04_adaptive (1).ipynb`` copy, an answer with one wrong function, the untouched release under an
unrelated name, and files that are no notebook of the course: exit codes, messages, the hand-in copy, and
the student's own file left byte for byte as it was.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from dlopt.handin import ASSIGNMENTS
from dlopt_course.notebooks import source_assignments, student_version
from dlopt_course.submissions import model_answer, replace_in_solution

A = "04_adaptive"
REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def made() -> dict[str, str]:
    source = nbformat.read(REPOSITORY / "exercises" / A / f"{A}.ipynb", as_version=4)
    release = student_version(source)
    wrong = replace_in_solution("adam_impl", "1 - beta1 ** t", "1 - beta1")
    return {"model": nbformat.writes(model_answer(source, release)), "release": nbformat.writes(release),
            "wrong": nbformat.writes(model_answer(source, release, edit=wrong))}


def handin(path: Path, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dlopt.handin", str(path), *options], capture_output=True,
                          text=True, timeout=600, cwd=path.parent,
                          env=dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPOSITORY),
                                                                            os.environ.get("PYTHONPATH", "")])))


def test_the_list_of_assignments_is_the_course_s():
    assert list(ASSIGNMENTS) == [path.stem for path in source_assignments(REPOSITORY)]


def test_a_good_notebook_is_ready_and_copied_with_its_outputs(tmp_path, made):
    notebook = tmp_path / f"{A}.ipynb"
    notebook.write_text(made["model"])
    result = handin(notebook)
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("adagrad", "rmsprop", "adadelta", "adam", "adamw"):
        assert f"✓ visible check of {name}: passes" in result.stdout
    assert "READY" in result.stdout and "upload this one file, 04_adaptive.ipynb" in result.stdout
    copy = nbformat.read(tmp_path / "handin" / f"{A}.ipynb", as_version=4)
    assert all(cell.get("execution_count") for cell in copy.cells if cell.cell_type == "code")
    assert any("✓ adam:" in "".join(out.get("text", "") for out in cell.get("outputs", []))
               for cell in copy.cells if cell.cell_type == "code")
    assert notebook.read_text() == made["model"]  # the student's file is never written to


def test_a_renamed_copy_is_named_by_its_cells_and_packed_under_the_right_name(tmp_path, made):
    notebook = tmp_path / f"{A} (1).ipynb"
    notebook.write_text(made["model"])
    result = handin(notebook, "--out", str(tmp_path / "upload"))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "the file is named '04_adaptive (1).ipynb'; grading looks for exactly 04_adaptive.ipynb" in result.stdout
    assert (tmp_path / "upload" / f"{A}.ipynb").is_file() and notebook.read_text() == made["model"]

    unrelated = tmp_path / "my work.ipynb"  # no assignment in the name: the graded cells say which one
    unrelated.write_text(made["release"])
    result = handin(unrelated)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "assignment: 04_adaptive" in result.stdout
    assert "✗ visible check of adam: CheckFailure: adam is not implemented yet" in result.stdout
    assert "is not written yet: it still says YOUR ANSWER HERE" in result.stdout  # a written answer left blank
    assert (tmp_path / "handin" / f"{A}.ipynb").is_file()


def test_a_wrong_function_fails_its_visible_check(tmp_path, made):
    notebook = tmp_path / f"{A}.ipynb"
    notebook.write_text(made["wrong"])
    result = handin(notebook)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "✗ visible check of adam:" in result.stdout and "✓ visible check of adagrad: passes" in result.stdout
    assert "the visible check of adam fails" in result.stdout


def test_a_cell_that_never_ends_is_stopped_and_reported(tmp_path, made):
    notebook = nbformat.reads(made["model"], as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell("import time\nwhile True:\n    time.sleep(0.05)"))
    path = tmp_path / f"{A}.ipynb"
    nbformat.write(notebook, path)
    result = handin(path, "--timeout", "5")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "a cell ran longer than 5 s and was stopped" in result.stdout
    assert "✓ visible check of adamw: passes" in result.stdout and (tmp_path / "handin" / f"{A}.ipynb").is_file()


@pytest.mark.parametrize("name, text, message", [
    (f"{A}.ipynb", '{"cells": [{"cell_type": "code", ', "not a notebook: its text is not valid JSON"),
    (f"{A}.ipynb", '{"cells": 3}', "JSON, but not a valid notebook"),
    ("notes.ipynb", None, "not a notebook of a course assignment"),
    ("missing.ipynb", "", "no such file"),
])
def test_unusable_input_exits_2_and_says_why(tmp_path, name, text, message):
    path = tmp_path / name
    if text is None:
        text = json.dumps(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")]))
    if name != "missing.ipynb":
        path.write_text(text)
    result = handin(path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr and "NOT READY" in result.stderr
    assert not (tmp_path / "handin").exists()
    if path.exists():
        assert path.read_text() == text


def test_the_release_readme_and_the_grading_page_say_what_to_hand_in_and_how_to_check_it():
    from dlopt_course.release import readme_text

    readme = readme_text("2026.1", ["01_sgd", "04_adaptive"])
    for text in ("The one file <assignment>.ipynb", "name\n  unchanged", "Restart Kernel and Run All Cells",
                 ".venv/bin/python -m dlopt.handin 01_sgd/01_sgd.ipynb", "01_sgd/handin/", "without renaming"):
        assert text in readme, text
    page = (REPOSITORY / "book" / "grading.md").read_text()
    for text in ("## What to hand in", "exactly one file", "04_adaptive (1).ipynb",
                 "python -m dlopt.handin 04_adaptive/04_adaptive.ipynb", "Restart Kernel and Run All Cells"):
        assert text in page, text
