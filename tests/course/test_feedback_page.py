"""The course's feedback page, from a real autograde of a wrong and a right submission of 01_sgd.

The page puts the score and every check (its name, points and the first lines of its diagnosis) at
the top, names the checks in the navigation, keeps every line of a failure whole, loads nothing from
the network (MathJax is inlined) and holds no hidden test code. Each assertion is also shown to be
able to fail: the right submission has no diagnosis, and the leak check finds the hidden tests in the
autograded notebook the page is made from. ``tests/browser/test_feedback_in_browser.py`` renders it.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from dlopt_course.feedback_example import MISTAKES
from dlopt_course.feedback_page.check_names import check_name, diagnosis_lines
from dlopt_course.feedback_page.hidden_source import shown_source
from dlopt_course.leaks import forbidden_markers, scan
from dlopt_course.nbgrader_course import NbgraderCourse
from dlopt_course.submissions import combine_edits, model_answer, replace_in_solution

ASSIGNMENT = "01_sgd"
_SOURCE = nbformat.read(Path(__file__).resolve().parents[2] / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                        as_version=4)
#: every graded cell of the assignment, in notebook order, with its points
GRADED = [(c.metadata["nbgrader"]["grade_id"], float(c.metadata["nbgrader"]["points"])) for c in _SOURCE.cells
          if c.metadata.get("nbgrader", {}).get("grade")]
CHECKS = tuple(grade_id for grade_id, _ in GRADED)
POINTS = tuple(points for _, points in GRADED)
WRITTEN = tuple(grade_id for grade_id in CHECKS if grade_id.endswith("_answer"))
NAMES = tuple(f"{grade_id.rpartition('_')[0]}, "
              + {"visible": "visible check", "hidden": "hidden check", "answer": "written answer"}[grade_id.rpartition("_")[2]]
              for grade_id in CHECKS)


@pytest.fixture(scope="module")
def course(tmp_path_factory, course_root):
    course = NbgraderCourse.copy_of(course_root, tmp_path_factory.mktemp("course"), [ASSIGNMENT])
    course.generate(ASSIGNMENT)
    source, release = course.source(ASSIGNMENT), course.release(ASSIGNMENT)
    course.submit("right", ASSIGNMENT, model_answer(source, release))
    wrong = combine_edits(*(replace_in_solution(*mistake) for mistake in MISTAKES))
    course.submit("wrong", ASSIGNMENT, model_answer(source, release, edit=wrong))
    course.autograde(ASSIGNMENT)
    course.generate_feedback(ASSIGNMENT)
    return course


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]*>", "", fragment)).strip()


def summary_rows(page: str) -> list[dict]:
    """Each row of the summary table: grade id, link target, name, points, diagnosis lines."""
    rows = []
    for row in re.finditer(r'<tr class="check (passed|failed|pending)" data-grade-id="([\w-]+)">(.*?)</tr>', page, re.S):
        cells = row.group(3)
        link = re.search(r'<td class="name"><a href="#([\w-]+)">(.*?)</a></td>', cells, re.S)
        rows.append({
            "status": row.group(1), "grade_id": row.group(2), "target": link.group(1), "name": _text(link.group(2)),
            "points": _text(re.search(r'<td class="points">(.*?)</td>', cells, re.S).group(1)),
            "diagnosis": [_text(line) for line in re.findall(r'<div class="diagnosis-line">(.*?)</div>', cells, re.S)],
        })
    return rows


def error_value(course, student: str, grade_id: str) -> str:
    """The message of the error a cell of the autograded notebook raised."""
    notebook = nbformat.read(course.root / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    cell = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    return next(o for o in cell.outputs if o.output_type == "error").evalue


def test_the_summary_lists_every_check_with_its_name_and_points(course):
    for student in ("wrong", "right"):
        page = course.feedback_html(student, ASSIGNMENT)
        scores = course.cell_scores(student, ASSIGNMENT)
        rows = summary_rows(page)
        assert [row["grade_id"] for row in rows] == list(CHECKS)
        assert [row["name"] for row in rows] == list(NAMES)
        assert [row["target"] for row in rows] == list(CHECKS)  # each name links to its cell
        for row, points in zip(rows, POINTS):
            if row["grade_id"] in WRITTEN:  # the model's written answers wait for an instructor
                assert row["points"] == f"– / {float(points)}"
            else:
                assert row["points"] == f"{float(scores[row['grade_id']])} / {float(points)}"
            assert f'<a name="{row["target"]}"></a>' in page
    wrong = {row["grade_id"]: row for row in summary_rows(course.feedback_html("wrong", ASSIGNMENT))}
    assert [wrong[c]["points"] for c in CHECKS[:6]] == ["0.0 / 1.0", "0.0 / 2.0", "0.0 / 1.0", "0.0 / 4.0", "1.0 / 1.0",
                                                       "6.0 / 6.0"]
    score, max_score = course.scores(ASSIGNMENT)["wrong"]
    assert f"<h4>{ASSIGNMENT} (Score: {float(score)} / {float(max_score)})</h4>" in course.feedback_html("wrong", ASSIGNMENT)


def test_the_summary_shows_the_wrong_answers_diagnosis_and_nothing_for_the_right_one(course):
    wrong = {row["grade_id"]: row for row in summary_rows(course.feedback_html("wrong", ASSIGNMENT))}
    assert wrong["sgd_hidden"]["status"] == "failed"
    assert wrong["sgd_hidden"]["diagnosis"][0].startswith("GradingFailure: sgd: after step 1 of 5")
    assert any(line.startswith("This looks like: the sign of the update is flipped")
               for line in wrong["sgd_hidden"]["diagnosis"])
    assert any(line.startswith("This looks like: the examples are not shuffled")
               for line in wrong["minibatches_hidden"]["diagnosis"])
    assert wrong["minibatches_visible"]["diagnosis"] == [
        "CheckFailure: " + error_value(course, "wrong", "minibatches_visible").splitlines()[0]]
    assert not any("sign" in line for line in wrong["minibatches_hidden"]["diagnosis"])
    assert wrong["lr_range_test_hidden"]["status"] == "passed" and wrong["lr_range_test_hidden"]["diagnosis"] == []
    right = summary_rows(course.feedback_html("right", ASSIGNMENT))
    assert all(row["status"] == "passed" and row["diagnosis"] == [] for row in right if row["grade_id"] not in WRITTEN)
    assert WRITTEN and all(row["status"] == "pending" and row["diagnosis"][0].startswith("not graded yet")
                           for row in right if row["grade_id"] in WRITTEN)


def test_the_summary_comes_before_the_notebook(course):
    page = course.feedback_html("wrong", ASSIGNMENT)
    summary, first_cell = page.find('id="dlopt-summary"'), page.find('<div class="cell ')
    assert 0 <= summary < first_cell
    assert page.find("GradingFailure: sgd:") < first_cell  # the diagnosis itself, not only a link to it


def test_the_diagnosis_lines_are_whole(course):
    """Each line in the summary is the whole first line of the message; the page wraps rather than clips."""
    rows = {row["grade_id"]: row for row in summary_rows(course.feedback_html("wrong", ASSIGNMENT))}
    first_line = error_value(course, "wrong", "sgd_hidden").splitlines()[0]
    assert len(first_line) > 150  # long enough to have been clipped in a box of the page's width
    assert rows["sgd_hidden"]["diagnosis"][0] == "GradingFailure: " + first_line
    page = course.feedback_html("wrong", ASSIGNMENT)
    assert re.search(r"div\.output_subarea pre \{\s*white-space: pre-wrap;", page)


def test_the_navigation_names_every_check(course):
    page = course.feedback_html("wrong", ASSIGNMENT)
    assert "Test cell" not in _text(page)
    for grade_id, name in zip(CHECKS, NAMES):
        assert f'<a href="#{grade_id}">{name}</a>' in page


class _Resources(HTMLParser):
    """Every URL the page would load: script and image sources, stylesheets, CSS url() and @import."""

    def __init__(self):
        super().__init__()
        self.urls, self._style = [], False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "img", "iframe", "audio", "video", "source", "embed") and attrs.get("src"):
            self.urls.append(attrs["src"])
        if tag == "link" and attrs.get("href"):
            self.urls.append(attrs["href"])
        self._style = tag == "style"

    def handle_endtag(self, tag):
        self._style = False

    def handle_data(self, data):
        if self._style:
            self.urls += re.findall(r"url\(\s*['\"]?([^'\")]+)", data)
            self.urls += re.findall(r"@import\s+['\"]([^'\"]+)", data)


def loaded_urls(page: str) -> list[str]:
    parser = _Resources()
    parser.feed(page)
    return parser.urls


def test_the_page_loads_nothing_from_the_network(course):
    for student in ("wrong", "right"):
        page = course.feedback_html(student, ASSIGNMENT)
        remote = [url for url in loaded_urls(page) if re.match(r"(https?:)?//", url)]
        assert remote == [], remote
        assert "cdnjs.cloudflare.com" not in page  # where nbgrader's stock page loads MathJax from
        assert 'id="MathJax-script"' in page  # MathJax is in the page itself
    # the parser finds what it must: nbgrader's stock header loads MathJax from a CDN
    assert loaded_urls('<script src="https://cdn.example/mathjax.js"></script><style>@font-face{src:url(http://x/f.woff)}'
                       '</style>') == ["https://cdn.example/mathjax.js", "http://x/f.woff"]


def _hidden_test_leaks(paths, course_root):
    # The submission is the model answer, so its own code matches the model answer's lines: only the
    # hidden tests, nbgrader's markers and the reference package count here.
    return [leak for leak in scan(paths, forbidden_markers(course_root)) if not leak.what.startswith("the model answer")]


def test_the_page_holds_no_hidden_test(course, course_root):
    pages = [course.root / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html" for student in ("wrong", "right")]
    assert _hidden_test_leaks(pages, course_root) == []
    # the scan can fail: the autograded notebook the page is made from holds the hidden tests
    autograded = course.root / "autograded" / "wrong" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    leaks = _hidden_test_leaks([autograded], course_root)
    assert any("a hidden test of 01_sgd (sgd_hidden)" in leak.what for leak in leaks)
    # what the student still sees of a hidden cell: the call that graded them
    assert "check_sgd(sgd)" in _text(course.feedback_html("wrong", ASSIGNMENT))


def test_check_names():
    assert check_name("sgd_hidden") == "sgd, hidden check"
    assert check_name("lr_range_test_visible") == "lr_range_test, visible check"
    assert check_name("step_size_limit_answer") == "step_size_limit, written answer"
    assert check_name("written") == "written"
    assert check_name("hidden") == "hidden"


def test_diagnosis_lines_keep_the_first_line_whole_and_the_named_mistake():
    message = "x" * 300 + "\n  expected: [1]\n  got: [2]\nThis looks like: a flipped sign."
    assert diagnosis_lines(message) == ["x" * 300, "This looks like: a flipped sign."]
    assert diagnosis_lines("should be w - 0.1*dw:\n  expected [1]\n  got [2]\n  more") == [
        "should be w - 0.1*dw:", "  expected [1]", "  got [2]"]
    assert diagnosis_lines("") == []


def test_hidden_source_keeps_only_the_calls():
    source = '"""Hidden check."""\n### BEGIN HIDDEN TESTS\nfrom dlopt_reference.grading import check_sgd\n# note\ncheck_sgd(sgd)\n### END HIDDEN TESTS'
    assert shown_source(source) == '"""Hidden check."""\ncheck_sgd(sgd)'
    assert shown_source("check(1)") == "check(1)"
    with pytest.raises(ValueError, match="END HIDDEN TESTS"):
        shown_source("### BEGIN HIDDEN TESTS\ncheck_sgd(sgd)")
