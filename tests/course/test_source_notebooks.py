"""Static checks of every source assignment in exercises/: the conventions nbgrader and graders rely on."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import nbformat
import pytest

from dlopt_course.catalog import ASSIGNMENTS, OUTCOME_TASKS, reference_function
from dlopt_course.notebooks import (HIDDEN_BEGIN, HIDDEN_END, SOLUTION_BEGIN, SOLUTION_END,
                                              source_assignments, student_version)

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


# ---------------------------------------------------------------------------------------------
# points, outcome tasks and written answers
# ---------------------------------------------------------------------------------------------

#: Every assignment is worth the same, so that totals compare across assignments.
ASSIGNMENT_TOTAL = 30
_ROW = re.compile(r"^\|\s*(?P<task>[^|]+?)\s*\|\s*(?P<kind>[^|]+?)\s*\|\s*(?P<what>[^|]*?)\s*\|\s*(?P<points>[^|]+?)\s*\|\s*$")
_AUTO_POINTS = re.compile(r"^(?P<visible>\d+(?:\.\d+)?) visible \+ (?P<hidden>\d+(?:\.\d+)?) hidden$")
_HAND_POINTS = re.compile(r"^(?P<points>\d+(?:\.\d+)?) by hand$")


def opening_table(nb) -> tuple[list[dict], str]:
    """The rows of the intro cell's table of tasks (``task | kind | what it asks | points``) and its total."""
    rows, total = [], ""
    lines = nb.cells[0].source.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r"^\|\s*task\s*\|\s*kind\s*\|", line))
    for line in lines[start + 2:]:
        match = _ROW.match(line)
        if not match:
            break
        if match["task"].strip("* ") == "total":
            total = match["points"].strip("* ")
        else:
            rows.append({key: value.strip() for key, value in match.groupdict().items()})
    return rows, total


def test_the_opening_table_states_every_graded_cells_points(notebook):
    """The intro's table names each task, its kind and its points, as the cells' metadata has them."""
    path, nb = notebook
    rows, total = opening_table(nb)
    points = {nbgrader_meta(c)["grade_id"]: float(nbgrader_meta(c)["points"]) for c in nb.cells
              if nbgrader_meta(c).get("grade")}
    stated: dict[str, float] = {}
    for row in rows:
        task, kind = row["task"].strip("`"), row["kind"]
        assert kind in ("implement", "outcome", "written"), f"{path.name}: kind {kind!r} of {task}"
        if kind == "written":
            match = _HAND_POINTS.match(row["points"])
            assert match, f"{path.name}: {task}: points {row['points']!r} (expected 'N by hand')"
            stated[f"{task}_answer"] = float(match["points"])
        else:
            match = _AUTO_POINTS.match(row["points"])
            assert match, f"{path.name}: {task}: points {row['points']!r} (expected 'N visible + M hidden')"
            stated[f"{task}_visible"], stated[f"{task}_hidden"] = float(match["visible"]), float(match["hidden"])
    assert stated == points, f"{path.name}: the table says {stated}, the cells {points}"
    assert float(total) == sum(points.values()) == ASSIGNMENT_TOTAL, f"{path.name}: total {total}"


def test_each_assignment_has_its_tasks_of_each_kind_in_the_table(notebook):
    path, nb = notebook
    rows, _ = opening_table(nb)
    kinds = {row["task"].strip("`"): row["kind"] for row in rows}
    assert [task for task, kind in kinds.items() if kind != "written"] == list(ASSIGNMENTS[path.stem])
    assert kinds[OUTCOME_TASKS[path.stem]] == "outcome"
    assert [task for task, kind in kinds.items() if kind == "outcome"] == [OUTCOME_TASKS[path.stem]]
    assert "written" in kinds.values(), f"{path.name}: no written answer"


def test_outcome_checks_are_told_their_cells_points(notebook):
    """An outcome check returns the points it earned (nbgrader's partial credit): it must know the cell's."""
    path, nb = notebook
    task = OUTCOME_TASKS[path.stem]
    cell = next(c for c in nb.cells if nbgrader_meta(c).get("grade_id") == f"{task}_hidden")
    hidden = cell.source.split(HIDDEN_BEGIN, 1)[1].split(HIDDEN_END, 1)[0]
    call = _code_statements(hidden)[-1]
    assert isinstance(call, ast.Expr) and isinstance(call.value, ast.Call), f"{task}_hidden must end with the call"
    keywords = {k.arg: ast.literal_eval(k.value) for k in call.value.keywords}
    assert keywords.get("points") == nbgrader_meta(cell)["points"], f"{task}_hidden: points= {keywords.get('points')}"


def test_written_answers_are_graded_by_hand_with_a_rubric(notebook):
    """A written answer: a locked question, then a markdown answer cell graded by hand, whose solution region
    holds a model answer and a rubric (nbgrader removes the region from the release)."""
    path, nb = notebook
    answers = [(i, c) for i, c in enumerate(nb.cells) if nbgrader_meta(c).get("grade_id", "").endswith("_answer")]
    assert answers, f"{path.name}: no written answer"
    for index, cell in answers:
        meta, grade_id = nbgrader_meta(cell), nbgrader_meta(cell)["grade_id"]
        assert cell.cell_type == "markdown" and meta["solution"] and meta["grade"] and not meta["locked"], grade_id
        assert meta["points"] > 0, grade_id
        question = nb.cells[index - 1]
        assert nbgrader_meta(question).get("grade_id") == grade_id.replace("_answer", "_question"), grade_id
        assert nbgrader_meta(question)["locked"] and question.cell_type == "markdown", grade_id
        assert f"({meta['points']:g} points, graded by an instructor)" in question.source, grade_id
        region = cell.source.split(SOLUTION_BEGIN, 1)[1].split(SOLUTION_END, 1)[0]
        assert "**Model answer.**" in region and "**Rubric" in region, grade_id
        rubric = region.split("**Rubric", 1)[1]
        marks = [float(m) for m in re.findall(r"^- (\d+(?:\.\d+)?) points?:", rubric, re.M)]
        assert sum(marks) == meta["points"], f"{grade_id}: the rubric's points {marks} do not add up to {meta['points']}"


def test_the_release_keeps_no_model_answer_or_rubric(notebook):
    """What nbgrader releases of a written answer is the stub alone."""
    path, nb = notebook
    released = student_version(nb)
    for cell in released.cells:
        if nbgrader_meta(cell).get("grade_id", "").endswith("_answer"):
            assert "Rubric" not in cell.source and "Model answer" not in cell.source, cell.source
            assert cell.source.strip() == "YOUR ANSWER HERE", cell.source
