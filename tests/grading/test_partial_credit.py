"""Partial credit: a test cell that shows a number as its last value scores that number, in nbgrader and in
the isolated regrade alike; the outcome framework returns the points it earned."""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest
from nbgrader.utils import determine_grade

from dlopt_reference.grading._outcome import Instance, Outcome, grade_by_outcome
from dlopt_reference.grading._report import GradingFailure
from dlopt_course.isolation.regrade import partial_points


def _cell(kind: str, source: str, **nbgrader) -> nbformat.NotebookNode:
    make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    cell = make(source)
    if nbgrader:
        cell.metadata["nbgrader"] = {"schema_version": 3, "locked": False, "solution": False, "grade": False,
                                     **nbgrader}
    return cell


def _notebooks(answer: str):
    """A source notebook with one solution cell and four test cells, and a submission whose answer is ``answer``."""
    tests = {
        "shows_points": ("points = 1.5 if square(2) == 4 else 0.25\npoints", 3),
        "shows_nothing": ("assert square(3) == 9", 2),
        "shows_text": ("'not a number'", 2),
        "shows_too_much": ("7.0", 2),
    }
    source = nbformat.v4.new_notebook()
    source.cells = [_cell("code", "import math"),
                    _cell("code", "def square(x):\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION",
                          solution=True, grade_id="square_impl")]
    source.cells += [_cell("code", text, grade=True, locked=True, points=points, grade_id=grade_id)
                     for grade_id, (text, points) in tests.items()]
    submission = copy.deepcopy(source)
    submission.cells[1].source = answer
    return source, submission


@pytest.mark.parametrize("answer, expected", [
    ("def square(x):\n    return x ** 2", {"shows_points": 1.5, "shows_nothing": 2, "shows_text": 2,
                                          "shows_too_much": 0}),
    ("def square(x):\n    return x + 1", {"shows_points": 0.25, "shows_nothing": 0, "shows_text": 2,
                                        "shows_too_much": 0}),
])
def test_the_regrade_scores_partial_credit_as_nbgrader_does(course_root, tmp_path, answer, expected):
    from dlopt_course.isolation import regrade_notebook

    source, submission = _notebooks(answer)
    result = regrade_notebook(source, submission, Path(course_root), tmp_path)
    assert {grade_id: verdict.points for grade_id, verdict in result.cells.items()} == expected
    # nbgrader's own rule, on the outputs the regrade wrote (a score above the cell's points makes
    # nbgrader's autograde stop with an error: the regrade scores it zero instead)
    for index, cell in enumerate(submission.cells):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in expected and grade_id != "shows_too_much":
            cell.outputs = [nbformat.from_dict(output) for output in result.outputs.get(index, [])]
            assert determine_grade(cell)[0] == expected[grade_id], grade_id
    shown = [output for output in result.outputs[2] if output["output_type"] == "execute_result"]
    assert [output["data"]["text/plain"] for output in shown] == [repr(expected["shows_points"])]


@pytest.mark.parametrize("shown, expected", [("2.5", 2.5), ("0", 0.0), ("4.0", 4.0), ("'text'", 4.0),
                                             ("-1.0", 4.0), ("4.5", 0.0), ("np.float64(1.0)", 4.0)])
def test_partial_points_follow_nbgrader(shown, expected):
    from nbgrader.utils import get_partial_grade

    assert partial_points(shown, 4.0) == expected
    if float(expected) <= 4.0 and shown != "4.5":
        assert get_partial_grade({"data": {"text/plain": shown}}, 4.0) == expected


def _attempt(student_fn, instance: Instance) -> Outcome:
    answer = student_fn(instance.data)
    return Outcome(answer == instance.data ** 2, f"returned {answer!r}, expected a square", answer)


INSTANCES = [Instance(f"number {n}", n) for n in range(1, 7)]


def test_all_solved_earns_every_point_and_says_so(capsys):
    assert grade_by_outcome("square", lambda x: x * x, INSTANCES, _attempt, 5) == 5.0
    assert "square solved 6 of 6 hidden instances" in capsys.readouterr().out


def test_some_solved_earns_a_share_rounded_down_and_names_the_failures(capsys):
    earned = grade_by_outcome("square", lambda x: x * x if x < 5 else 0, INSTANCES, _attempt, 5,
                              recognise=lambda report: "zero for large inputs")
    assert earned == 3.33 and isinstance(earned, float)  # 5 * 4/6 = 3.333..., rounded down
    printed = capsys.readouterr().out
    assert "solved 4 of 6" in printed and "number 5: returned 0" in printed
    assert "This looks like: zero for large inputs." in printed


def test_nothing_solved_is_a_failure_with_the_diagnosis():
    with pytest.raises(GradingFailure, match=r"solved 0 of 6(.|\n)*number 1: returned 3"):
        grade_by_outcome("square", lambda x: 2 * x + 1, INSTANCES, _attempt, 5)


def test_a_crash_on_one_instance_is_that_instance_unsolved(capsys):
    def crashes_on_three(x):
        if x == 3:
            raise GradingFailure("square raised ZeroDivisionError")
        return x * x

    assert grade_by_outcome("square", crashes_on_three, INSTANCES, _attempt, 6) == 5.0
    assert "number 3: square raised ZeroDivisionError" in capsys.readouterr().out


def test_not_implemented_stops_the_check_at_once():
    def stub(x):
        raise GradingFailure("square is not implemented yet (it raised NotImplementedError).")

    with pytest.raises(GradingFailure, match="not implemented yet"):
        grade_by_outcome("square", stub, INSTANCES, _attempt, 5)
