"""Catalogues of wrong answers, graded by a real ``nbgrader autograde``.

A wrong answer is the model answer with one textual edit in one solution cell. Functions are graded
in separate cells, so one submission can carry one mistake in *each* function: submission ``k``
holds the ``k``-th catalogued mistake of every function, which keeps the number of notebooks to
autograde small. For each wrong answer the test asserts that the function's hidden check scores
zero and that the feedback HTML shows the expected diagnosis.
"""

from __future__ import annotations

import html
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from dlopt_reference.course.leaks import forbidden_markers, scan
from dlopt_reference.course.nbgrader_course import NbgraderCourse
from dlopt_reference.course.submissions import combine_edits, model_answer, replace_in_solution


@dataclass(frozen=True)
class WrongAnswer:
    """The model answer of ``function`` with ``old`` replaced by ``new``; the feedback must say ``diagnosis``."""

    function: str
    old: str
    new: str
    diagnosis: str

    @property
    def id(self) -> str:
        return f"{self.function}: {self.new.strip()[:60]}"


def visible_text(page: str) -> str:
    """The text a reader sees in an HTML page (tags dropped, entities decoded, spaces collapsed)."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]*>", "", page)))


def submissions_of(catalogue: list[WrongAnswer]) -> dict[str, list[WrongAnswer]]:
    """``{student: wrong answers}``: student ``wrong_k`` holds the ``k``-th mistake of each function."""
    by_function: dict[str, list[WrongAnswer]] = defaultdict(list)
    for wrong in catalogue:
        by_function[wrong.function].append(wrong)
    depth = max(len(entries) for entries in by_function.values())
    return {
        f"wrong_{k:02d}": [entries[k] for entries in by_function.values() if k < len(entries)]
        for k in range(depth)
    }


Grouping = Callable[[list[WrongAnswer]], dict[str, list[WrongAnswer]]]


def grade_catalogue(course_root: Path, workdir: Path, assignment: str, catalogue: list[WrongAnswer],
                    group: Grouping = submissions_of) -> NbgraderCourse:
    """Release ``assignment`` in a fresh course, submit model, blank and wrong answers, autograde, feedback.

    ``group`` says which wrong answers share a submission (default: :func:`submissions_of`).
    """
    course = NbgraderCourse.copy_of(course_root, workdir, [assignment])
    course.generate(assignment)
    leaks = scan([course.root / "release" / assignment], forbidden_markers(course_root))
    assert leaks == [], "the student release leaks:\n" + "\n".join(map(str, leaks))
    source, release = course.source(assignment), course.release(assignment)
    course.submit("model", assignment, model_answer(source, release))
    course.submit("blank", assignment, release)
    for student, wrongs in group(catalogue).items():
        edit = combine_edits(*(replace_in_solution(f"{w.function}_impl", w.old, w.new) for w in wrongs))
        course.submit(student, assignment, model_answer(source, release, edit=edit))
    course.autograde(assignment)
    course.generate_feedback(assignment)
    return course


def student_of(catalogue: list[WrongAnswer], wrong: WrongAnswer, group: Grouping = submissions_of) -> str:
    return next(student for student, wrongs in group(catalogue).items() if wrong in wrongs)


def assert_caught(course: NbgraderCourse, assignment: str, catalogue: list[WrongAnswer], wrong: WrongAnswer,
                  group: Grouping = submissions_of) -> str:
    """The wrong answer loses its hidden-check points and its feedback names the mistake; returns the student."""
    student = student_of(catalogue, wrong, group)
    cells = course.cell_scores(student, assignment)
    assert cells[f"{wrong.function}_hidden"] == 0, f"{wrong.id} passed the hidden check of {wrong.function}"
    score, max_score = course.scores(assignment)[student]
    assert score < max_score
    feedback = visible_text(course.feedback_html(student, assignment))
    assert wrong.diagnosis.lower() in feedback.lower(), (
        f"the feedback for {wrong.id} does not say {wrong.diagnosis!r}; it says:\n"
        + "\n".join(line for line in feedback.split("GradingFailure")[1:])[:3000]
    )
    return student


def catalogue_tests(assignment: str, catalogue: list[WrongAnswer], group: Grouping = submissions_of):
    """The fixture and the two tests every catalogue module runs; bind them to module-level names::

        course, test_model_and_blank, test_wrong_answer = catalogue_tests(ASSIGNMENT, CATALOGUE)
    """
    import pytest

    @pytest.fixture(scope="module")
    def course(tmp_path_factory, course_root):
        return grade_catalogue(course_root, tmp_path_factory.mktemp("catalogue"), assignment, catalogue, group)

    def test_model_answer_full_marks_and_blank_zero(course):
        scores = course.scores(assignment)
        assert scores["model"][0] == scores["model"][1] > 0
        assert scores["blank"][0] == 0

    @pytest.mark.parametrize("wrong", catalogue, ids=lambda w: w.id)
    def test_wrong_answer_is_caught_and_diagnosed(course, wrong):
        assert_caught(course, assignment, catalogue, wrong, group)

    def test_isolated_regrade_agrees_with_nbgrader(course, course_root, tmp_path):
        """The isolated regrade (the verdict our ``grade`` command keeps) scores every cell of every
        submission as nbgrader's autograde did, and names each catalogued mistake as the feedback does."""
        assert_regrade_agrees(course, course_root, tmp_path, assignment, catalogue, group)

    return (course, test_model_answer_full_marks_and_blank_zero, test_wrong_answer_is_caught_and_diagnosed,
            test_isolated_regrade_agrees_with_nbgrader)


def assert_regrade_agrees(course: NbgraderCourse, course_root: Path, scratch: Path, assignment: str,
                          catalogue: list[WrongAnswer], group: Grouping = submissions_of) -> None:
    import nbformat

    from dlopt_reference.isolation import regrade_notebook

    source = course.source(assignment)
    students = ["model", "blank", *group(catalogue)]
    for student in students:
        submitted = nbformat.read(course.root / "submitted" / student / assignment / f"{assignment}.ipynb",
                                  as_version=4)
        result = regrade_notebook(source, submitted, course_root, scratch / student)
        nbgrader_cells = course.cell_scores(student, assignment)
        regrade_cells = {grade_id: verdict.points for grade_id, verdict in result.cells.items()}
        assert regrade_cells == nbgrader_cells, (
            f"{student}: the isolated regrade scored {regrade_cells}, nbgrader {nbgrader_cells}\n"
            + "\n".join(f"{v.grade_id}: {v.message[:400]}" for v in result.cells.values() if v.message))
        assert result.refused == [], f"{student}: the sandbox refused {result.refused}"
        for wrong in group(catalogue).get(student, []):
            message = result.cells[f"{wrong.function}_hidden"].message
            assert wrong.diagnosis.lower() in message.lower(), f"{wrong.id}: the regrade says {message[:1000]}"
