"""Chapter 1 through real nbgrader: generate the release, autograde three submissions, feedback.

- the model answer (the release with the source's solutions filled in) scores full marks;
- the untouched release scores zero;
- a wrong answer (the sign of the SGD update flipped) scores less, and the hidden cell of ``sgd`` (in the
  autograded notebook and in the feedback) names the problem in whole words, which no other cell does;
- the release holds no solution and no hidden test.
"""

from __future__ import annotations

import pytest

from dlopt_course.leaks import forbidden_markers, scan
from dlopt_course.nbgrader_course import NbgraderCourse
from dlopt_course.submissions import model_answer, replace_in_solution
from wrong_answers import autograded_outputs, feedback_cell_outputs, says, visible_text

ASSIGNMENT = "01_sgd"


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory, course_root):
    course = NbgraderCourse.copy_of(course_root, tmp_path_factory.mktemp("course"), [ASSIGNMENT])
    course.generate(ASSIGNMENT)
    source, release = course.source(ASSIGNMENT), course.release(ASSIGNMENT)
    course.submit("model", ASSIGNMENT, model_answer(source, release))
    course.submit("blank", ASSIGNMENT, release)
    flipped = replace_in_solution("sgd_impl", 'w - config["learning_rate"] * dw', 'w + config["learning_rate"] * dw')
    course.submit("sign_flipped", ASSIGNMENT, model_answer(source, release, edit=flipped))
    course.autograde(ASSIGNMENT)
    course.generate_feedback(ASSIGNMENT)
    return course


#: 01_sgd's two written answers (3 points each, its opening table): graded by an instructor, not by autograde
BY_HAND = 6


def test_model_answer_scores_full_marks(graded_course):
    score, max_score = graded_course.scores(ASSIGNMENT)["model"]
    assert max_score == 30
    assert score == max_score - BY_HAND


def test_blank_release_scores_zero(graded_course):
    score, max_score = graded_course.scores(ASSIGNMENT)["blank"]
    assert (score, max_score) == (0, 30)


def test_sign_flip_loses_the_sgd_points_only(graded_course):
    cells = graded_course.cell_scores("sign_flipped", ASSIGNMENT)
    assert cells["sgd_visible"] == 0 and cells["sgd_hidden"] == 0
    assert cells["minibatches_hidden"] == 4 and cells["lr_range_test_hidden"] == 6
    score, max_score = graded_course.scores(ASSIGNMENT)["sign_flipped"]
    assert score == max_score - BY_HAND - 3


SIGN_DIAGNOSIS = "the sign of the update is flipped"
HIDDEN_CELLS = ("sgd_hidden", "minibatches_hidden", "lr_range_test_hidden")


def test_feedback_names_the_sign_error(graded_course):
    """The diagnosis is in the hidden cell of sgd, as whole words, and in no other hidden cell."""
    page = graded_course.feedback_html("sign_flipped", ASSIGNMENT)
    outputs = autograded_outputs(graded_course, "sign_flipped", ASSIGNMENT, "sgd_hidden")
    assert says(outputs, SIGN_DIAGNOSIS) and says(outputs, "GradingFailure"), outputs
    feedback = feedback_cell_outputs(page, "sgd_hidden")
    assert says(feedback, SIGN_DIAGNOSIS) and says(feedback, "GradingFailure"), feedback
    for other in HIDDEN_CELLS[1:]:
        assert not says(feedback_cell_outputs(page, other), "sign"), other


def test_the_model_answer_hidden_cells_print_nothing(graded_course):
    """A right answer's hidden cells print no diagnosis (so a diagnosis found above is the mistake's)."""
    page = graded_course.feedback_html("model", ASSIGNMENT)
    for grade_id in HIDDEN_CELLS:
        assert autograded_outputs(graded_course, "model", ASSIGNMENT, grade_id).strip() == ""
        assert feedback_cell_outputs(page, grade_id).strip() == ""


def test_feedback_shows_no_hidden_test_logic_beyond_the_check_call(graded_course):
    feedback = visible_text(graded_course.feedback_html("model", ASSIGNMENT))
    assert "check_sgd(sgd)" in feedback  # the hidden cell is one call, shown to the student after grading
    assert "def check_sgd" not in feedback


def test_feedback_shows_the_diagnosis_but_no_grader_source(graded_course):
    """A failed hidden check shows its message only: no frame, path or source line of the graders."""
    page = graded_course.feedback_html("sign_flipped", ASSIGNMENT)
    assert says(feedback_cell_outputs(page, "sgd_hidden"), "This looks like")
    feedback = visible_text(page)
    for internal in ("dlopt_reference/grading/", "raise GradingFailure", "Traceback (most recent call last)", "_update_rules"):
        assert internal not in feedback, internal


def test_release_holds_no_solution_and_no_hidden_test(graded_course, course_root):
    leaks = scan([graded_course.root / "release"], forbidden_markers(course_root))
    assert leaks == [], "\n".join(map(str, leaks))


def test_the_leak_check_finds_a_planted_solution(graded_course, course_root, tmp_path):
    """The leak check itself must be able to fail: plant a model line in a copy of the release."""
    release = graded_course.release(ASSIGNMENT)
    planted = model_answer(graded_course.source(ASSIGNMENT), release)
    import nbformat

    path = tmp_path / f"{ASSIGNMENT}.ipynb"
    nbformat.write(planted, path)
    leaks = scan([path], forbidden_markers(course_root))
    assert any("the model answer of 01_sgd" in leak.what for leak in leaks)
