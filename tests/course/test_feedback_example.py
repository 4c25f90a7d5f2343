"""The feedback example of book/grading.md is what a real autograde shows, and shows nothing hidden."""

from __future__ import annotations

from dlopt_course.feedback_example import EXAMPLE_PATH, feedback_example
from dlopt_course.leaks import forbidden_markers, scan


def test_committed_feedback_example_is_what_nbgrader_shows(course_root, tmp_path):
    fresh = feedback_example(course_root, tmp_path)
    committed = (course_root / EXAMPLE_PATH).read_text()
    assert committed == fresh, (
        f"{EXAMPLE_PATH} is stale: run `dlopt-course feedback-example`. A fresh autograde shows:\n"
        + fresh
    )
    # the example really is a diagnosis of both mistakes, not an empty or crashed feedback
    assert "This looks like: the sign of the update is flipped" in fresh
    assert "This looks like: the examples are not shuffled" in fresh


def test_feedback_example_leaks_nothing(course_root):
    assert scan([course_root / EXAMPLE_PATH], forbidden_markers(course_root)) == []
