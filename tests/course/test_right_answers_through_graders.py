"""Right answers written differently from the model answer earn full marks, through real graders.

The right answers are those of ``tests/grading/ch1_4_alternatives.py`` and
``tests/grading/ch5_9_alternatives.py`` (and, for the outcome tasks, right procedures from
``tests/grading/test_outcome_*.py``): other orderings, closed forms, loops over coordinates, other
dtypes where the contract allows. For each assignment, submission ``k`` replaces the whole solution
cell ``<function>_impl`` of every function by the ``k``-th right answer of that function (its
source, as a student would paste it; functions with fewer right answers start again from their
first). Every submission is graded by a real ``nbgrader autograde`` and by the course's own isolated
grader (:func:`dlopt_course.isolation.regrade_notebook`, the verdict ``grade`` keeps), and every
graded cell, visible check and hidden test alike, must get its full points in both.
"""

from __future__ import annotations

import inspect
import sys
from collections import defaultdict
from pathlib import Path

import nbformat
import pytest

from dlopt_course.nbgrader_course import NbgraderCourse
from dlopt_course.submissions import model_answer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "grading"))

import ch1_4_alternatives as alt1_4  # noqa: E402
import ch5_9_alternatives as alt5_9  # noqa: E402
import test_outcome_01_sgd as out01  # noqa: E402
import test_outcome_02_momentum as out02  # noqa: E402
import test_outcome_03_nesterov as out03  # noqa: E402
import test_outcome_04_adaptive as out04  # noqa: E402
import test_outcome_05_lr_decay as out05  # noqa: E402
import test_outcome_06_batchnorm as out06  # noqa: E402
import test_outcome_07_hyperparameter_search as out07  # noqa: E402
import test_outcome_08_ensembles as out08  # noqa: E402
import test_outcome_09_second_order as out09  # noqa: E402
import test_outcome_10_practice as out10  # noqa: E402

#: right procedures for the outcome tasks, from their graders' tests (self-contained: pasted as they are)
OUTCOME_RIGHT_ANSWERS = {
    "choose_learning_rate": [out01.from_eigh, out01.by_power_iteration],
    "heavy_ball_parameters": [out02.from_kappa, out02.from_the_contraction],
    "nesterov_parameters": [out03.tuned_for_quadratics],
    "train_badly_scaled": [out04.rmsprop_by_hand, out04.sign_descent_with_decay],
    "schedule_for_budget": [out05.rates_in_a_list],
    "fold_batchnorm": [out06.fold_diagonal, out06.fold_einsum],
    "tune_hyperparameters": [out07.random_search_natural_log],
    "select_ensemble": [out08.greedy_brier],
    "backtracking_line_search": [out09.quadratic_interpolation, out09.weak_wolfe],
    "stable_learning_rate": [out10.forward_differences, out10.lanczos],
}

EXERCISES = Path(__file__).resolve().parents[2] / "exercises"
ASSIGNMENTS = sorted(path.name for path in EXERCISES.iterdir() if (path / f"{path.name}.ipynb").exists())

#: what a pasted answer may rely on besides the notebook's own imports
CELL_HEADER = "import bisect\nimport itertools\nimport math\n\nimport numpy as np\n\n"


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _right_answers() -> dict[str, list]:
    answers: dict[str, list] = defaultdict(list)
    for name, function in alt1_4.RIGHT_UPDATE_RULES:
        answers[name].append(function)
    answers["minibatches"].extend(alt1_4.RIGHT_MINIBATCHES)
    answers["lr_range_test"].extend(alt1_4.RIGHT_LR_RANGE_TESTS)
    for name, functions in (*alt5_9.RIGHT_ANSWERS.items(), *OUTCOME_RIGHT_ANSWERS.items()):
        answers[name].extend(functions)
    return dict(answers)


RIGHT_ANSWERS = _right_answers()


def graded_functions(assignment: str) -> list[str]:
    """The functions a student writes: one per solution cell ``<function>_impl``, in notebook order."""
    source = nbformat.read(EXERCISES / assignment / f"{assignment}.ipynb", as_version=4)
    return [_nbgrader(cell)["grade_id"][: -len("_impl")] for cell in source.cells
            if _nbgrader(cell).get("solution") and _nbgrader(cell).get("grade_id", "").endswith("_impl")]


def pasted(name: str, function) -> str:
    """A whole solution cell holding ``function``'s source, bound to the name the notebook expects."""
    code = CELL_HEADER + inspect.getsource(function).rstrip() + "\n"
    if function.__name__ != name:
        code += f"\n\n{name} = {function.__name__}\n"
    return code


def submissions(assignment: str) -> dict[str, dict[str, object]]:
    """``{student: {function: right answer}}``: student ``right_k`` holds the ``k``-th answer of each function."""
    functions = graded_functions(assignment)
    depth = max(len(RIGHT_ANSWERS[name]) for name in functions)
    return {f"right_{k:02d}": {name: RIGHT_ANSWERS[name][k % len(RIGHT_ANSWERS[name])] for name in functions}
            for k in range(depth)}


def test_every_graded_function_has_a_right_answer_written_differently():
    for assignment in ASSIGNMENTS:
        for name in graded_functions(assignment):
            assert RIGHT_ANSWERS.get(name), f"{assignment}: no right answer of {name} in tests/grading"
            for function in RIGHT_ANSWERS[name]:
                # pasteable: the source compiles on its own and defines the function
                namespace: dict = {}
                exec(compile(pasted(name, function), f"<{function.__name__}>", "exec"), namespace)
                assert callable(namespace[name])


def max_points(assignment: str) -> dict[str, float]:
    """``{grade_id: points}`` of the graded (test) cells of the source notebook."""
    source = nbformat.read(EXERCISES / assignment / f"{assignment}.ipynb", as_version=4)
    return {_nbgrader(cell)["grade_id"]: float(_nbgrader(cell)["points"]) for cell in source.cells
            if _nbgrader(cell).get("grade") and not _nbgrader(cell).get("solution")}


def _failure_output(course: NbgraderCourse, student: str, assignment: str, grade_id: str) -> str:
    """What the autograded notebook shows under a cell (its error or stream output), for the report."""
    path = course.root / "autograded" / student / assignment / f"{assignment}.ipynb"
    if not path.exists():
        return "(no autograded notebook)"
    for cell in nbformat.read(path, as_version=4).cells:
        if _nbgrader(cell).get("grade_id") == grade_id:
            parts = []
            for output in cell.get("outputs", []):
                parts.append(output.get("text") or "\n".join(output.get("traceback", [])[-2:])
                             or str(output.get("data", "")))
            return "\n".join(parts)[-1500:]
    return "(cell not found)"


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def graded(request, tmp_path_factory, course_root):
    """One course per assignment: the right-answer submissions released, submitted and autograded."""
    assignment = request.param
    course = NbgraderCourse.copy_of(course_root, tmp_path_factory.mktemp(f"right_{assignment}"), [assignment])
    course.generate(assignment)
    source, release = course.source(assignment), course.release(assignment)
    plan = submissions(assignment)
    for student, answers in plan.items():
        cells = {f"{name}_impl": pasted(name, function) for name, function in answers.items()}
        course.submit(student, assignment,
                      model_answer(source, release, edit=lambda grade_id, code: cells.get(grade_id, code)))
    course.autograde(assignment)
    return assignment, course, plan


def _who(plan: dict, student: str) -> str:
    return ", ".join(f"{name}={function.__name__}" for name, function in plan[student].items())


def test_every_test_cell_of_every_function_is_graded(graded):
    assignment, _, _ = graded
    cells = max_points(assignment)
    for name in graded_functions(assignment):
        assert {f"{name}_visible", f"{name}_hidden"} <= set(cells), f"{assignment}: {name} lacks a test cell"


def test_the_submissions_hold_the_right_answers_not_the_model_answer(graded):
    assignment, course, plan = graded
    for student, answers in plan.items():
        submitted = nbformat.read(course.root / "submitted" / student / assignment / f"{assignment}.ipynb",
                                  as_version=4)
        cells = {_nbgrader(cell).get("grade_id"): cell.source for cell in submitted.cells}
        for name, function in answers.items():
            assert cells[f"{name}_impl"] == pasted(name, function), f"{student}: {name}_impl is not {function.__name__}"


def test_nbgrader_gives_full_marks(graded):
    assignment, course, plan = graded
    expected = max_points(assignment)
    failures = []
    for student in plan:
        # the written answers (the model's, here) wait for an instructor: no automatic score
        got = {grade_id: score for grade_id, score in course.cell_scores(student, assignment).items()
               if not grade_id.endswith("_answer")}
        assert set(got) == set(expected), f"{student}: nbgrader graded {sorted(got)}"
        for grade_id, points in expected.items():
            if got[grade_id] != points:
                failures.append(f"{student} ({_who(plan, student)}): {grade_id} scored {got[grade_id]} of {points}\n"
                                f"{_failure_output(course, student, assignment, grade_id)}")
    assert not failures, "right answers lost points in nbgrader autograde:\n\n" + "\n\n".join(failures)


def test_the_isolated_grader_gives_full_marks(graded, course_root, tmp_path):
    from dlopt_course.isolation import regrade_notebook

    assignment, course, plan = graded
    expected = max_points(assignment)
    source = course.source(assignment)
    failures = []
    for student in plan:
        submitted = nbformat.read(course.root / "submitted" / student / assignment / f"{assignment}.ipynb",
                                  as_version=4)
        result = regrade_notebook(source, submitted, course_root, tmp_path / student)
        assert result.refused == [], f"{student}: the sandbox refused {result.refused}"
        assert set(result.cells) == set(expected), f"{student}: the regrade graded {sorted(result.cells)}"
        for grade_id, points in expected.items():
            verdict = result.cells[grade_id]
            if verdict.points != points:
                failures.append(f"{student} ({_who(plan, student)}): {grade_id} scored {verdict.points} of {points}\n"
                                f"{verdict.message[:1500]}")
    assert not failures, "right answers lost points in the isolated regrade:\n\n" + "\n\n".join(failures)
