"""Static checks of every source assignment in exercises/: the conventions nbgrader and graders rely on."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import nbformat
import pytest

from dlopt_reference.course.catalog import ASSIGNMENTS, reference_function
from dlopt_reference.course.notebooks import HIDDEN_BEGIN, HIDDEN_END, source_assignments

COURSE_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = source_assignments(COURSE_ROOT)


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


@pytest.fixture(params=NOTEBOOKS, ids=lambda p: p.stem)
def notebook(request):
    return request.param, nbformat.read(request.param, as_version=4)


def test_every_folder_in_exercises_is_a_known_assignment():
    folders = sorted(p.name for p in (COURSE_ROOT / "exercises").iterdir() if p.is_dir())
    assert folders, "no assignments"
    unknown = set(folders) - set(ASSIGNMENTS)
    assert not unknown, f"exercises/ holds folders that are not assignments (nbgrader lists every folder): {unknown}"


def test_assignment_folder_holds_only_the_notebook(notebook):
    path, _ = notebook
    extra = [p.name for p in path.parent.iterdir() if p.name != path.name and not p.name.startswith(".")]
    assert extra == [], f"nbgrader would copy these into the student release: {extra}"


def test_stored_without_outputs_or_execution_counts(notebook):
    path, nb = notebook
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: cell {cell.get('id')} has outputs"


def test_grade_ids_are_unique_and_follow_the_convention(notebook):
    path, nb = notebook
    ids = [nbgrader_meta(c)["grade_id"] for c in nb.cells if nbgrader_meta(c)]
    assert len(ids) == len(set(ids)), f"{path.name}: duplicated grade_id (a copied cell breaks autograding)"
    for function in ASSIGNMENTS[path.stem]:
        for suffix in ("impl", "visible", "hidden"):
            assert f"{function}_{suffix}" in ids, f"{path.name}: no cell {function}_{suffix}"


def test_cells_have_the_right_nbgrader_roles(notebook):
    path, nb = notebook
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if not meta:
            continue
        grade_id = meta["grade_id"]
        if grade_id.endswith("_impl"):
            assert meta["solution"] and not meta["grade"], grade_id
            assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source, grade_id
        if grade_id.endswith(("_visible", "_hidden")):
            assert meta["grade"] and meta["locked"] and not meta["solution"] and meta["points"] > 0, grade_id


def _code_statements(source: str) -> list[ast.stmt]:
    """The statements of a cell, without its docstring."""
    body = ast.parse(source).body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return body


def test_hidden_cells_are_one_call_into_the_graders(notebook):
    path, nb = notebook
    for cell in nb.cells:
        grade_id = nbgrader_meta(cell).get("grade_id", "")
        if grade_id.endswith("_hidden"):
            function = grade_id[: -len("_hidden")]
            assert HIDDEN_BEGIN in cell.source and HIDDEN_END in cell.source, grade_id
            hidden = cell.source.split(HIDDEN_BEGIN, 1)[1].split(HIDDEN_END, 1)[0]
            statements = _code_statements(hidden)
            assert len(statements) <= 2, f"{grade_id}: keep hidden cells to an import and one check call"
            assert f"check_{function}({function}" in hidden, grade_id
            assert "dlopt_reference.grading" in hidden, grade_id


def test_stub_signatures_match_the_reference(notebook):
    path, nb = notebook
    for cell in nb.cells:
        grade_id = nbgrader_meta(cell).get("grade_id", "")
        if not grade_id.endswith("_impl"):
            continue
        function = grade_id[: -len("_impl")]
        definitions = [node for node in ast.parse(cell.source).body if isinstance(node, ast.FunctionDef)]
        assert [d.name for d in definitions] == [function], f"{grade_id} must define exactly {function}"
        arguments = definitions[0].args
        names = [a.arg for a in arguments.args]
        defaults = [ast.literal_eval(d) for d in arguments.defaults]
        reference = inspect.signature(reference_function(function))
        assert names == list(reference.parameters), f"{function}: parameters {names} != reference {list(reference.parameters)}"
        ref_defaults = [p.default for p in reference.parameters.values() if p.default is not inspect.Parameter.empty]
        assert defaults == ref_defaults, f"{function}: defaults {defaults} != reference {ref_defaults}"


def test_check_cells_let_run_all_go_on(notebook):
    """Visible and hidden check cells are tagged ``raises-exception``.

    JupyterLab's *Run All* and nbclient then go on past a failing check (its error stays in its cell);
    nbgrader ignores the tag and still scores a cell with an error zero.
    """
    path, nb = notebook
    for cell in nb.cells:
        grade_id = nbgrader_meta(cell).get("grade_id", "")
        if grade_id.endswith(("_visible", "_hidden")):
            assert "raises-exception" in cell.metadata.get("tags", []), f"{path.name}: {grade_id} is not tagged"
        elif cell.cell_type == "code":
            # an error anywhere else (imports, an experiment) must still stop Run All
            assert "raises-exception" not in cell.metadata.get("tags", []), f"{path.name}: {grade_id or 'a cell'}"


def test_hidden_cells_print_nothing_in_the_students_copy(notebook):
    """What a student's copy keeps of a hidden cell (hidden tests removed) is comments only: no ``Out[ ]``."""
    path, nb = notebook
    for cell in nb.cells:
        grade_id = nbgrader_meta(cell).get("grade_id", "")
        if grade_id.endswith("_hidden"):
            before, rest = cell.source.split(HIDDEN_BEGIN, 1)
            after = rest.split(HIDDEN_END, 1)[1]
            assert ast.parse(before + after).body == [], f"{grade_id}: keeps code (or a docstring) outside the hidden tests"
            assert before.strip().startswith("#"), f"{grade_id}: no comment saying what the hidden check does"
