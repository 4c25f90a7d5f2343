"""Written answers, graded by hand the nbgrader way, through one whole cycle.

An assignment's written answers are released without their model answer and rubric; ``grade`` (run as
the unprivileged grading account) scores every check and leaves each written answer waiting for an
instructor; an instructor's grade and comment, set through nbgrader's gradebook API as formgrader sets
them, reach the submission's total, ``export`` (scores and comments) and the feedback page; a forced
regrade keeps them.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from dlopt_course.grading.course import load_course
from dlopt_course.nbgrader_course import NbgraderCourse
from dlopt_course.submissions import model_answer
from unprivileged import hand_over, run_as_grader, world_folder
from wrong_answers import feedback_cell_outputs, visible_text

ASSIGNMENT = "02_momentum"
STUDENT_TEXT = "Momentum keeps a running sum of past gradients; across the valley they alternate in sign and cancel."
COMMENT = "Right idea: the alternating components cancel. Say what happens along the valley floor too."
TIMEOUT = 900


def _written_cells(notebook) -> list[nbformat.NotebookNode]:
    return [cell for cell in notebook.cells
            if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "").endswith("_answer")]


def _own_words(grade_id: str, code: str) -> str:
    """The student writes an answer of their own in each written cell; the functions are the model's."""
    return STUDENT_TEXT if grade_id.endswith("_answer") else code


def _course_command(root: Path, *args: str, as_grader: bool = False) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "dlopt_course", *args, "--root", str(root)]
    if as_grader:
        return run_as_grader(command, timeout=TIMEOUT)
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT)


@pytest.fixture(scope="module")
def cycle(course_root):
    """A class of two (``ada`` answers in her own words, ``blank`` hands in the release), graded by ``grade``."""
    work = world_folder("dlopt-written-")
    course = NbgraderCourse.copy_of(course_root, work / "course", [ASSIGNMENT])
    course.generate(ASSIGNMENT)
    source, release = course.source(ASSIGNMENT), course.release(ASSIGNMENT)
    course.submit("ada", ASSIGNMENT, model_answer(source, release, edit=_own_words))
    course.submit("blank", ASSIGNMENT, release)
    hand_over(course.root)
    graded = _course_command(course.root, "grade", ASSIGNMENT, "--workers", "2", as_grader=True)
    assert graded.returncode == 0, graded.stdout + graded.stderr
    return course


def _grades(course: NbgraderCourse, student: str):
    from nbgrader.api import Gradebook

    _, coursedir = load_course(course.root)
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        submission = gradebook.find_submission(ASSIGNMENT, student)
        cells = {grade.name: (grade.auto_score, grade.manual_score, grade.needs_manual_grade, grade.max_score)
                 for notebook in submission.notebooks for grade in notebook.grades}
        return submission.score, submission.max_score, submission.needs_manual_grade, cells


def test_the_release_holds_the_question_not_the_model_answer_or_rubric(cycle, course_root):
    source = nbformat.read(Path(course_root) / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    written = _written_cells(source)
    assert written, f"{ASSIGNMENT} has no written answer"
    released = (cycle.root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text()
    for cell in written:
        region = cell.source.split("### BEGIN SOLUTION", 1)[1].split("### END SOLUTION", 1)[0]
        lines = [line.strip() for line in region.splitlines() if len(line.strip()) > 20]
        assert lines and not [line for line in lines if line in released], cell.metadata.nbgrader.grade_id
    assert "Rubric" not in released and "Model answer" not in released


def test_grade_scores_the_checks_and_leaves_written_answers_to_an_instructor(cycle):
    score, max_score, needs_manual, cells = _grades(cycle, "ada")
    written = {grade_id: value for grade_id, value in cells.items() if grade_id.endswith("_answer")}
    checks = {grade_id: value for grade_id, value in cells.items() if grade_id not in written}
    assert written and needs_manual
    assert all(auto is None and manual is None and waiting for auto, manual, waiting, _ in written.values())
    assert all(auto == points for auto, _, _, points in checks.values()), checks
    assert score == sum(points for *_, points in checks.values()) < max_score
    # a written answer left as released scores zero at once: there is nothing to grade
    _, _, blank_waits, blank = _grades(cycle, "blank")
    assert not blank_waits and all(value[0] == 0 for grade_id, value in blank.items() if grade_id.endswith("_answer"))


def _grade_by_hand(course: NbgraderCourse, student: str, grade_id: str, points: float, comment: str) -> None:
    """What formgrader's grade and comment boxes do (``nbgrader.server_extensions.formgrader.apihandlers``)."""
    from nbgrader.api import Gradebook

    _, coursedir = load_course(course.root)
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        grade = gradebook.find_grade(grade_id, ASSIGNMENT, ASSIGNMENT, student)
        grade.manual_score = points
        grade.needs_manual_grade = False
        gradebook.find_comment(grade_id, ASSIGNMENT, ASSIGNMENT, student).manual_comment = comment
        gradebook.db.commit()


def test_a_manual_grade_and_comment_reach_the_total_export_and_feedback(cycle, tmp_path):
    before, max_score, _, cells = _grades(cycle, "ada")
    written = sorted(grade_id for grade_id in cells if grade_id.endswith("_answer"))
    awarded = {grade_id: cells[grade_id][3] - 1 for grade_id in written}  # one point short of full marks
    for grade_id in written:
        _grade_by_hand(cycle, "ada", grade_id, awarded[grade_id], COMMENT)
    after, _, needs_manual, _ = _grades(cycle, "ada")
    assert after == before + sum(awarded.values()) and not needs_manual

    exported = _course_command(cycle.root, "export", ASSIGNMENT, "--csv", str(tmp_path / "grades.csv"))
    assert exported.returncode == 0, exported.stdout + exported.stderr
    with open(tmp_path / "grades.csv", newline="") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    assert float(rows["ada"][ASSIGNMENT]) == after and float(rows["Points Possible"][ASSIGNMENT]) == max_score
    with open(tmp_path / "grades.diagnoses.csv", newline="") as handle:
        notes = [row for row in csv.DictReader(handle) if row["student"] == "ada"]
    assert sorted(row["check"] for row in notes if row["kind"] == "comment") == written
    assert all(row["detail"] == COMMENT for row in notes if row["kind"] == "comment")
    assert not [row for row in notes if row["kind"] == "needs manual grading"]

    made = cycle.generate_feedback(ASSIGNMENT)
    page = cycle.feedback_html("ada", ASSIGNMENT)
    text = visible_text(page)
    assert COMMENT in text and STUDENT_TEXT in text, made
    for grade_id in written:
        row = page.split(f'data-grade-id="{grade_id}"', 1)[1].split("</tr>", 1)[0]
        assert f"{awarded[grade_id]:.1f} / {cells[grade_id][3]:.1f}" in visible_text(row), row
        assert COMMENT in visible_text(row)
        assert feedback_cell_outputs(page, grade_id) == ""  # a markdown answer has no outputs
    assert "Rubric" not in text and "Model answer" not in text


def test_a_forced_regrade_keeps_the_instructors_grades(cycle):
    before, _, _, cells = _grades(cycle, "ada")
    regraded = _course_command(cycle.root, "grade", ASSIGNMENT, "--force", "--workers", "2", as_grader=True)
    assert regraded.returncode == 0, regraded.stdout + regraded.stderr
    after, _, _, again = _grades(cycle, "ada")
    assert after == before
    assert {k: v[1] for k, v in again.items() if k.endswith("_answer")} == \
        {k: v[1] for k, v in cells.items() if k.endswith("_answer")}


def test_the_rubric_sheet_gathers_questions_model_answers_and_rubrics(course_root, tmp_path):
    source = nbformat.read(Path(course_root) / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    done = subprocess.run([sys.executable, "-m", "dlopt_course", "--root", str(course_root), "rubrics",
                           ASSIGNMENT, "--out", str(tmp_path / "rubrics.md")], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    sheet = (tmp_path / "rubrics.md").read_text()
    for index, cell in enumerate(source.cells):
        if cell in _written_cells(source):
            region = cell.source.split("### BEGIN SOLUTION", 1)[1].split("### END SOLUTION", 1)[0].strip()
            assert region in sheet and source.cells[index - 1].source.strip() in sheet
    missing = subprocess.run([sys.executable, "-m", "dlopt_course", "--root", str(course_root), "rubrics",
                              "99_none"], capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and "no source notebook" in missing.stderr
