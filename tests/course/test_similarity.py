"""``dlopt-course similarity``: planted copies are flagged with their partner, independent
right answers are not, the released stub pairs nobody, and the HTML report keeps students' code inert.

The class (01_sgd and 02_momentum) is ``bench_similarity.planted_class``: the model answer, right answers
of ``tests/grading/*_alternatives.py`` (each written differently), and copies disguised by renaming,
reformatting, comments and docstrings, reordered independent lines, or all four; plus copies made here
from ``model_answer`` with ``replace_in_solution`` (hand-reordered lines). No timing is asserted.
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import nbformat
import pytest

from dlopt_course.cli import main
from dlopt_course.bench_similarity import (Assignment, comment, disguise_all, expected_pairs,
                                                     planted_class, rename, reformat, reorder)
from dlopt_course.nbgrader_course import NbgraderCourse
from dlopt_course.notebooks import student_version
from dlopt_course.similarity import fingerprints
from dlopt_course.submissions import combine_edits, model_answer, replace_in_solution

ASSIGNMENTS = ["01_sgd", "02_momentum"]
HOSTILE = ('# </script><script>alert("x")</script> <img src=x onerror="alert(1)">\n'
           's = "</pre></div><iframe src=javascript:alert(2)>"\n')
HAND_REORDERED = combine_edits(  # the model answer of 01_sgd with independent lines swapped and names changed
    replace_in_solution("lr_range_test_impl", "learning_rates, losses = [], []\n    best = np.inf",
                        "lowest = np.inf\n    lrs, ls = [], []"),
    replace_in_solution("lr_range_test_impl", "learning_rates.append(learning_rate)\n        losses.append(loss)",
                        "ls.append(loss)\n        lrs.append(learning_rate)"),
    replace_in_solution("lr_range_test_impl", "best = min(best, loss)", "lowest = min(lowest, loss)"),
    replace_in_solution("lr_range_test_impl", "divergence_factor * best", "divergence_factor * lowest"),
    replace_in_solution("lr_range_test_impl", "np.array(learning_rates, dtype=float), np.array(losses, dtype=float)",
                        "np.array(lrs, dtype=float), np.array(ls, dtype=float)"))


def _pairs(csv_path: Path) -> dict[tuple[str, str, str], float]:
    with open(csv_path, newline="") as handle:
        return {(row["assignment"], row["student_a"], row["student_b"]): float(row["score"])
                for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def planted(tmp_path_factory, course_root):
    """The planted class of both assignments in a course copy, the report run once by the command line."""
    course = NbgraderCourse.copy_of(course_root, tmp_path_factory.mktemp("similarity"), ASSIGNMENTS)
    families = {}
    for name in ASSIGNMENTS:
        cls = planted_class(course_root, name)
        assignment = Assignment(course_root, name)
        for student, (family, cells) in cls.items():
            assignment.write(course.root, student, cells)
        families[name] = {student: family for student, (family, _) in cls.items()}
    source = course.source("01_sgd")
    release = student_version(source)
    course.submit("hand_reordered", "01_sgd", model_answer(source, release, edit=HAND_REORDERED))
    families["01_sgd"]["hand_reordered"] = "model"
    hostile = model_answer(source, release,
                           edit=lambda gid, code: HOSTILE + code if gid == "minibatches_impl" else code)
    course.submit("hostile_a", "01_sgd", hostile)
    course.submit("hostile_b", "01_sgd", hostile)
    families["01_sgd"].update(hostile_a="hostile", hostile_b="hostile")
    html, pairs_csv = course.root / "report.html", course.root / "pairs.csv"
    assert main(["similarity", *ASSIGNMENTS, "--root", str(course.root), "--html", str(html),
                 "--csv", str(pairs_csv)]) == 0
    return course, families, html.read_text(), _pairs(pairs_csv)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_disguised_copy_is_flagged_with_its_partner(planted, assignment):
    _, families, _, pairs = planted
    family = families[assignment]
    expected = {(assignment, a, b) for a in family for b in family if a < b and family[a] == family[b]}
    assert len([s for s in family if s.startswith("copy_")]) == 5
    missing = expected - set(pairs)
    assert not missing, f"copies not flagged: {sorted(missing)}"
    for student in family:
        if student.startswith(("copy_", "hand_")):
            assert any(student in key[1:] for key in pairs), student


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_independent_right_answers_are_not_flagged_with_each_other(planted, assignment):
    _, families, _, pairs = planted
    family = families[assignment]
    wrong = {key: score for key, score in pairs.items()
             if key[0] == assignment and family[key[1]] != family[key[2]]}
    assert not wrong, f"independent answers flagged as copies: {wrong}"
    independent = {f for f in family.values()}
    assert len(independent) >= 4, "the negatives must include several independent right answers"


def test_the_planted_families_are_what_the_test_expects(course_root):
    cls = planted_class(course_root, "01_sgd")
    assert {"model", "right_0", "right_1", "copy_rename", "copy_reformat", "copy_comments", "copy_reorder",
            "copy_all"} <= set(cls)
    assert ("copy_rename", "model") in expected_pairs(cls) and ("model", "right_0") not in expected_pairs(cls)
    for student in ("copy_rename", "copy_reformat", "copy_comments", "copy_reorder"):
        assert cls[student][1] != cls[{"copy_rename": "model", "copy_reorder": "model", "copy_reformat": "right_0",
                                       "copy_comments": "right_1"}[student]][1], f"{student} is not disguised"


@pytest.mark.parametrize("disguise", [rename, reformat, comment, reorder, disguise_all], ids=lambda f: f.__name__)
def test_each_disguise_changes_the_text_but_not_the_fingerprints(course_root, disguise):
    model = Assignment(course_root, "01_sgd").model["lr_range_test_impl"]
    disguised = disguise(model)
    assert disguised != model
    assert fingerprints(disguised) == fingerprints(model)


def test_a_different_right_answer_has_different_fingerprints(course_root):
    cls = planted_class(course_root, "01_sgd")
    model, other = cls["model"][1]["lr_range_test_impl"], cls["right_0"][1]["lr_range_test_impl"]
    a, b = fingerprints(model), fingerprints(other)
    assert len(a & b) / len(a | b) < 0.3


def test_blank_releases_pair_nobody(tmp_path, course_root):
    course = NbgraderCourse.copy_of(course_root, tmp_path / "course", ["01_sgd"])
    release = student_version(course.source("01_sgd"))
    for k in range(6):
        course.submit(f"blank_{k}", "01_sgd", release)
    course.submit("model", "01_sgd", model_answer(course.source("01_sgd"), release))
    html, pairs_csv = tmp_path / "r.html", tmp_path / "p.csv"
    assert main(["similarity", "01_sgd", "--root", str(course.root), "--html", str(html), "--csv", str(pairs_csv)]) == 0
    assert _pairs(pairs_csv) == {}
    assert "0 pair(s)" in html.read_text()


def test_the_report_keeps_students_code_inert_and_needs_nothing_online(planted):
    _, _, html, pairs = planted
    assert ("01_sgd", "hostile_a", "hostile_b") in pairs, "the hostile pair must be shown in the report"
    assert "&lt;/script&gt;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    assert "&lt;iframe src=javascript:alert(2)&gt;" in html
    for raw in ("<script", "<img", "<iframe", "</pre></div><iframe"):
        assert raw not in html, f"{raw!r} reached the report unescaped"
    assert not re.search(r"(src|href)\s*=\s*['\"]?(https?:)?//", html), "the report must load nothing"
    assert "<link" not in html and "@import" not in html and "url(" not in html


def test_pairs_are_sorted_by_score_and_show_both_students_code(planted):
    _, _, html, pairs = planted
    order = re.findall(r"<tr><td><a href='#p\d+'>\d+</a></td><td>[^<]*</td><td>[^<]*</td><td class='hi'>([\d.]+)",
                       html)
    assert order and [float(s) for s in order] == sorted((float(s) for s in order), reverse=True)
    assert len(order) == len(pairs)
    assert "copy_rename" in html and "&lt;/script&gt;" in html


def test_unknown_assignment_and_no_submissions_are_clear(tmp_path, course_root, capsys):
    course = NbgraderCourse.copy_of(course_root, tmp_path / "course", ["01_sgd"])
    assert main(["similarity", "99_nothing", "--root", str(course.root), "--html", str(tmp_path / "r.html")]) == 2
    assert "unknown assignment '99_nothing'" in capsys.readouterr().err
    assert main(["similarity", "01_sgd", "--root", str(course.root), "--html", str(tmp_path / "r.html")]) == 2
    assert "no submissions of 01_sgd" in capsys.readouterr().err


def test_a_refused_submission_is_skipped_and_listed(tmp_path, course_root, capsys):
    course = NbgraderCourse.copy_of(course_root, tmp_path / "course", ["01_sgd"])
    source = course.source("01_sgd")
    answer = model_answer(source, student_version(source))
    course.submit("alice", "01_sgd", answer)
    course.submit("bob", "01_sgd", answer)
    linked = course.root / "submitted" / "mallory" / "01_sgd"
    linked.mkdir(parents=True)
    os.symlink(course.root / "submitted" / "alice" / "01_sgd" / "01_sgd.ipynb", linked / "01_sgd.ipynb")
    (course.root / "submitted" / "eve" / "01_sgd").mkdir(parents=True)
    (course.root / "submitted" / "eve" / "01_sgd" / "01_sgd.ipynb").write_text("{not json")
    html = tmp_path / "r.html"
    assert main(["similarity", "01_sgd", "--root", str(course.root), "--html", str(html)]) == 0
    out = capsys.readouterr().out
    assert "alice & bob" in out
    assert "mallory / 01_sgd" in out and "symbolic link" in out and "eve / 01_sgd" in out
    assert "mallory" not in re.sub(r"<h2>Not compared</h2>.*", "", html.read_text(), flags=re.S)
