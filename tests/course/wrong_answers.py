"""Catalogues of wrong answers, graded by a real ``nbgrader autograde``.

A wrong answer is the model answer with one textual edit in one solution cell. Functions are graded
in separate cells, so one submission can carry one mistake in *each* function: submission ``k``
holds the ``k``-th catalogued mistake of every function, which keeps the number of notebooks to
autograde small.

Where a diagnosis is looked for
    Only in the hidden test cell of the function that is wrong (grade id ``<function>_hidden``):
    in that cell's outputs in the autograded notebook (error name, value and traceback, streams,
    the text of display data; ANSI colour codes removed), and in that cell's output area of the
    feedback HTML (from the cell that holds the anchor ``<a name="<function>_hidden">`` to the
    next cell). Never on the whole page: the release's own prose and the other functions' failures
    on the same page hold many of the diagnoses' words. A diagnosis is matched as whole words
    (``sign`` does not match ``signature``), case-insensitively, with any run of white space
    between its words.

What the catalogue tests prove
    - ``test_wrong_answer_is_caught_and_diagnosed``: the edited function scores 0 in its hidden
      cell, the submission scores less than full marks, and the function's own hidden cell (in the
      notebook and in the feedback) shows the diagnosis.
    - ``test_diagnoses_are_specific``: a diagnosis discriminates. It appears neither in the hidden
      cell of the model answer or of the blank release, nor in the hidden cell of another
      catalogued mistake of the same function whose diagnosis text differs. So a diagnosis that
      any failure of the function would print (a config key, "differs") is caught as such.
    - ``test_isolated_regrade_agrees_with_nbgrader``: the isolated regrade scores every cell of
      every catalogue submission as nbgrader did, and its hidden-cell message holds the diagnosis
      (whole words).
    - ``test_held_out_wrong_answer_is_caught`` (the ``HELD_OUT`` lists): see below.

What they do not prove
    The catalogued mistakes are the mistakes the graders know. Each grader replays its own list of
    known mistakes (``dlopt_reference.grading._mistakes``, and the ``MISTAKES`` lists of the
    chapter 5-9 graders): runnable wrong implementations that are written independently of the
    reference, and the one that reproduces the student's outputs names the mistake ("This looks
    like: ..."). Almost every ``CATALOGUE`` entry is the model answer edited to make one of those
    listed mistakes, and its diagnosis is words of that list entry's description. So for these
    entries the diagnosis is found by construction: what is independent is the score (a comparison
    with the reference), and that a textual edit of the model answer reproduces, number for
    number, the grader's separately written implementation of the mistake. ``tests/grading``
    goes one step further in the same circle: it passes each listed mistake's own implementation
    as the student's function and finds its own description. Neither shows what a student sees
    for a mistake nobody listed.

Held-out wrong answers (the ``HELD_OUT`` list of a catalogue module)
    Wrong answers chosen without looking at whether a grader lists them, graded in the same
    autograde run as separate submissions (``held_out_...`` students) and not used anywhere in the
    graders. Two kinds:

    - ``listed=True``: a listed mistake written with other algebra than the grader's
      implementation and the catalogue's edit (e.g. ``w + lr*dw`` written as ``w - (-lr)*dw``):
      the hidden cell must still name it (its ``diagnosis``).
    - ``listed=False``: a mistake no grader lists (e.g. half the learning rate): the hidden cell
      must score 0, say which output differs and for which input (``diagnosis`` plus the phrases
      in ``also``), and must not name a known mistake ("This looks like" is absent), which would be
      a wrong diagnosis. (One did: ``step / (decay_steps + 1)`` in ``polynomial_decay`` equals a
      listed mistake at step 1 only, and was named after it; the graders now name a mistake only
      if it reproduces the student's answers on at least half of the cases.)

    So these show, independently of the lists, that a mistake written another way is still named,
    and that for an unlisted one the feedback says which output of which call is wrong and claims
    no cause. They are two per function, chosen by hand: they illustrate the generic message,
    they do not bound how often a grader misnames. They are not regraded by the isolated regrade
    (the catalogue's submissions are).
"""

from __future__ import annotations

import html
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from dlopt_course.leaks import forbidden_markers, scan
from dlopt_course.nbgrader_course import NbgraderCourse
from dlopt_course.submissions import combine_edits, hand_graded_points, model_answer, replace_in_solution


@dataclass(frozen=True)
class WrongAnswer:
    """The model answer of ``function`` with ``old`` replaced by ``new``; the feedback must say ``diagnosis``.

    ``partial``: an outcome task's wrong answer that solves some hidden instances; its hidden cell must
    score more than zero and less than its points (and still say ``diagnosis``). Otherwise it scores zero.
    """

    function: str
    old: str
    new: str
    diagnosis: str
    partial: bool = False

    @property
    def id(self) -> str:
        return f"{self.function}: {self.new.strip()[:60]}"


@dataclass(frozen=True)
class RightAnswer:
    """The model answer of ``function`` with ``old`` replaced by ``new``, still right: full marks in every cell."""

    function: str
    old: str
    new: str

    @property
    def id(self) -> str:
        return f"{self.function}: {self.new.strip()[:60]}"


@dataclass(frozen=True)
class HeldOut(WrongAnswer):
    """A wrong answer written independently of the graders' lists of known mistakes.

    ``listed``: the mistake is one a grader lists, written with other algebra; the hidden cell must
    name it (``diagnosis``). Otherwise no grader lists it: the hidden cell must say ``diagnosis`` and
    every phrase of ``also`` (which output, which input) and must not claim a known mistake.
    """

    listed: bool = False
    also: tuple[str, ...] = ()


#: What a grader writes before the name of a known mistake it recognised.
KNOWN_MISTAKE_MARKER = "This looks like"

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_CELL_START = '<div class="cell '


def visible_text(page: str) -> str:
    """The text a reader sees in an HTML page (tags dropped, entities decoded, spaces collapsed)."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]*>", "", page)))


def phrase_pattern(phrase: str) -> re.Pattern:
    """``phrase`` as whole words: no word character right before or after it, any white space between words.

    The boundaries apply where the phrase begins or ends with a word character: ``sign`` does not
    match ``signature``, ``sums |dw|`` still matches before a comma.
    """
    body = r"\s+".join(re.escape(word) for word in phrase.split())
    before = r"(?<!\w)" if re.match(r"\w", phrase) else ""
    after = r"(?!\w)" if re.search(r"\w$", phrase) else ""
    return re.compile(before + body + after, re.IGNORECASE)


def says(text: str, phrase: str) -> bool:
    """``text`` holds ``phrase`` as whole words (see :func:`phrase_pattern`)."""
    return phrase_pattern(phrase).search(text) is not None


def outputs_text(cell) -> str:
    """Everything a code cell printed: error name, value and traceback, streams, the text of display data."""
    parts = []
    for output in cell.get("outputs", []):
        kind = output.get("output_type")
        if kind == "error":
            parts += [f"{output.get('ename', '')}: {output.get('evalue', '')}", *output.get("traceback", [])]
        elif kind == "stream":
            parts.append(output.get("text", ""))
        elif kind in ("display_data", "execute_result"):
            parts.append(str(output.get("data", {}).get("text/plain", "")))
    return _ANSI.sub("", "\n".join(parts))


def autograded_outputs(course: NbgraderCourse, student: str, assignment: str, grade_id: str) -> str:
    """The outputs of cell ``grade_id`` in a student's autograded notebook (see :func:`outputs_text`)."""
    import nbformat

    path = course.root / "autograded" / student / assignment / f"{assignment}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    cells = [cell for cell in notebook.cells
             if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id]
    assert len(cells) == 1, f"{path} has {len(cells)} cells with grade id {grade_id!r}"
    return outputs_text(cells[0])


def feedback_cell_outputs(page: str, grade_id: str) -> str:
    """The visible text of the output area of cell ``grade_id`` in a feedback page.

    The feedback template writes each notebook cell as ``<div class="cell ...">`` and each graded
    cell's panel with the anchor ``<a name="GRADE_ID">``; a cell's section runs from its own
    ``<div class="cell`` to the next one (cell outputs are escaped, so they cannot hold that tag).
    The cell's source (shown before its ``output_wrapper``) is left out.
    """
    anchor = page.find(f'<a name="{grade_id}"></a>')
    assert anchor >= 0, f"the feedback page has no cell {grade_id!r}"
    start = page.rfind(_CELL_START, 0, anchor)
    end = page.find(_CELL_START, anchor)
    section = page[start:end if end >= 0 else len(page)]
    outputs = section.find('class="output_wrapper"')
    return visible_text(section[outputs:]) if outputs >= 0 else ""


def submissions_of(catalogue: list[WrongAnswer]) -> dict[str, list[WrongAnswer]]:
    """``{student: wrong answers}``: student ``wrong_k`` holds the ``k``-th mistake of each function."""
    by_function: dict[str, list[WrongAnswer]] = defaultdict(list)
    for wrong in catalogue:
        by_function[wrong.function].append(wrong)
    depth = max((len(entries) for entries in by_function.values()), default=0)
    return {
        f"wrong_{k:02d}": [entries[k] for entries in by_function.values() if k < len(entries)]
        for k in range(depth)
    }


Grouping = Callable[[list[WrongAnswer]], dict[str, list[WrongAnswer]]]


def held_out_submissions(held_out: list[WrongAnswer], group: Grouping = submissions_of) -> dict[str, list[WrongAnswer]]:
    """The held-out wrong answers grouped as the catalogue is, under students named ``held_out_...``."""
    return {f"held_out_{student}": wrongs for student, wrongs in group(held_out).items()} if held_out else {}


def grade_catalogue(course_root: Path, workdir: Path, assignment: str, catalogue: list[WrongAnswer],
                    group: Grouping = submissions_of, held_out: list[WrongAnswer] = (),
                    rights: list[RightAnswer] = ()) -> NbgraderCourse:
    """Release ``assignment`` in a fresh course, submit model, blank, right and wrong answers, autograde, feedback.

    ``group`` says which wrong answers share a submission (default: :func:`submissions_of`); the
    ``held_out`` wrong answers are grouped the same way into their own submissions; each right answer
    written another way is a submission of its own (``right_00``, ...).
    """
    course = NbgraderCourse.copy_of(course_root, workdir, [assignment])
    course.generate(assignment)
    leaks = scan([course.root / "release" / assignment], forbidden_markers(course_root))
    assert leaks == [], "the student release leaks:\n" + "\n".join(map(str, leaks))
    source, release = course.source(assignment), course.release(assignment)
    course.submit("model", assignment, model_answer(source, release))
    course.submit("blank", assignment, release)
    for number, right in enumerate(rights):
        edit = replace_in_solution(f"{right.function}_impl", right.old, right.new)
        course.submit(f"right_{number:02d}", assignment, model_answer(source, release, edit=edit))
    for student, wrongs in {**group(catalogue), **held_out_submissions(list(held_out), group)}.items():
        edit = combine_edits(*(replace_in_solution(f"{w.function}_impl", w.old, w.new) for w in wrongs))
        course.submit(student, assignment, model_answer(source, release, edit=edit))
    course.autograde(assignment)
    course.generate_feedback(assignment)
    return course


def student_of(catalogue: list[WrongAnswer], wrong: WrongAnswer, group: Grouping = submissions_of) -> str:
    return next(student for student, wrongs in group(catalogue).items() if wrong in wrongs)


def hidden_cell_says(course: NbgraderCourse, student: str, assignment: str, function: str, phrase: str) -> None:
    """The hidden cell of ``function`` shows ``phrase`` (whole words) in the autograded notebook and in the feedback."""
    grade_id = f"{function}_hidden"
    outputs = autograded_outputs(course, student, assignment, grade_id)
    assert says(outputs, phrase), (
        f"{student}: the outputs of {grade_id} do not say {phrase!r}; they say:\n{outputs[:3000]}")
    feedback = feedback_cell_outputs(course.feedback_html(student, assignment), grade_id)
    assert says(feedback, phrase), (
        f"{student}: the feedback's {grade_id} cell does not show {phrase!r}; it shows:\n{feedback[:3000]}")


def assert_caught(course: NbgraderCourse, assignment: str, catalogue: list[WrongAnswer], wrong: WrongAnswer,
                  group: Grouping = submissions_of) -> str:
    """The wrong answer loses its hidden-check points and that cell names the mistake; returns the student."""
    student = student_of(catalogue, wrong, group)
    cells = course.cell_scores(student, assignment)
    hidden = cells[f"{wrong.function}_hidden"]
    if wrong.partial:
        points = hidden_points(course.source(assignment), wrong.function)
        assert 0 < hidden < points, f"{wrong.id} scored {hidden} of {points} in its hidden check (partial credit expected)"
    else:
        assert hidden == 0, f"{wrong.id} passed the hidden check of {wrong.function} ({hidden} points)"
    score, max_score = course.scores(assignment)[student]
    assert score < max_score
    hidden_cell_says(course, student, assignment, wrong.function, wrong.diagnosis)
    return student


def hidden_points(source, function: str) -> float:
    """The points of ``function``'s hidden check cell in the source notebook."""
    return next(float(cell.metadata["nbgrader"]["points"]) for cell in source.cells
                if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == f"{function}_hidden")




def assert_held_out_caught(course: NbgraderCourse, assignment: str, held_out: list[WrongAnswer], wrong: HeldOut,
                           group: Grouping = submissions_of) -> str:
    """A held-out wrong answer scores 0 in its hidden cell, which names it (``listed``) or says what differs."""
    student = next(s for s, wrongs in held_out_submissions(held_out, group).items() if wrong in wrongs)
    cells = course.cell_scores(student, assignment)
    assert cells[f"{wrong.function}_hidden"] == 0, f"{wrong.id} passed the hidden check of {wrong.function}"
    for phrase in (wrong.diagnosis, *wrong.also):
        hidden_cell_says(course, student, assignment, wrong.function, phrase)
    if not wrong.listed:
        outputs = autograded_outputs(course, student, assignment, f"{wrong.function}_hidden")
        assert KNOWN_MISTAKE_MARKER not in outputs, (
            f"{wrong.id} is no listed mistake, yet the grader names one:\n{outputs[:3000]}")
    return student


def assert_diagnoses_specific(course: NbgraderCourse, assignment: str, catalogue: list[WrongAnswer],
                              group: Grouping = submissions_of) -> None:
    """No diagnosis is printed where its mistake is absent.

    For every catalogued mistake of a function, its diagnosis (whole words) must not appear in the
    function's hidden cell for the model answer, for the blank release, or for another catalogued
    mistake of the same function with a different diagnosis text.
    """
    outputs: dict[tuple[str, str], str] = {}

    def hidden(student: str, function: str) -> str:
        if (student, function) not in outputs:
            outputs[student, function] = autograded_outputs(course, student, assignment, f"{function}_hidden")
        return outputs[student, function]

    students = {id(wrong): student for student, wrongs in group(catalogue).items() for wrong in wrongs}
    problems = []
    for wrong in catalogue:
        pattern = phrase_pattern(wrong.diagnosis)
        for student in ("model", "blank"):
            if pattern.search(hidden(student, wrong.function)):
                problems.append(f"{wrong.id}: {wrong.diagnosis!r} is in the {student} submission's hidden cell")
        for other in catalogue:
            if other.function != wrong.function or other.diagnosis.lower() == wrong.diagnosis.lower():
                continue
            text = hidden(students[id(other)], other.function)
            if pattern.search(text):
                problems.append(f"{wrong.id}: {wrong.diagnosis!r} is also printed for {other.id}:\n{text[-600:]}")
    assert problems == [], "diagnoses that do not discriminate:\n" + "\n".join(problems)


def catalogue_tests(assignment: str, catalogue: list[WrongAnswer], group: Grouping = submissions_of,
                    held_out: list[HeldOut] = (), rights: list[RightAnswer] = ()):
    """The fixture and the tests every catalogue module runs; bind them to module-level names::

        (course, test_model_and_blank, test_wrong_answer, test_regrade, test_specific,
         test_held_out, test_right) = catalogue_tests(ASSIGNMENT, CATALOGUE, held_out=HELD_OUT, rights=RIGHTS)
    """
    import pytest

    held_out, rights = list(held_out), list(rights)

    @pytest.fixture(scope="module")
    def course(tmp_path_factory, course_root):
        return grade_catalogue(course_root, tmp_path_factory.mktemp("catalogue"), assignment, catalogue, group,
                               held_out, rights)

    def test_model_answer_full_marks_and_blank_zero(course):
        """The model answer earns every automatic point (the written answers wait for an instructor)."""
        scores = course.scores(assignment)
        by_hand = hand_graded_points(course.source(assignment))
        assert scores["model"][1] > 0
        assert scores["model"][0] == scores["model"][1] - by_hand
        assert scores["blank"][0] == 0

    @pytest.mark.parametrize("right", rights, ids=lambda r: r.id)
    def test_right_answer_written_differently_full_marks(course, right):
        student = f"right_{rights.index(right):02d}"
        cells = course.cell_scores(student, assignment)
        for suffix in ("visible", "hidden"):
            grade_id = f"{right.function}_{suffix}"
            full = hidden_points(course.source(assignment), right.function) if suffix == "hidden" else None
            assert cells[grade_id] > 0 and (full is None or cells[grade_id] == full), (
                f"{right.id}: {grade_id} scored {cells[grade_id]}\n"
                + autograded_outputs(course, student, assignment, grade_id)[:2000])

    @pytest.mark.parametrize("wrong", catalogue, ids=lambda w: w.id)
    def test_wrong_answer_is_caught_and_diagnosed(course, wrong):
        assert_caught(course, assignment, catalogue, wrong, group)

    def test_isolated_regrade_agrees_with_nbgrader(course, course_root, tmp_path):
        """The isolated regrade (the verdict our ``grade`` command keeps) scores every cell of every
        submission, held-out wrong answers included, as nbgrader's autograde did, and names each
        catalogued and held-out mistake in its hidden cell."""
        assert_regrade_agrees(course, course_root, tmp_path, assignment, catalogue, group, held_out)

    def test_diagnoses_are_specific(course):
        """Each diagnosis is absent from the model's, the blank's and the other mistakes' hidden cells."""
        assert_diagnoses_specific(course, assignment, catalogue, group)

    @pytest.mark.parametrize("wrong", held_out, ids=lambda w: w.id)
    def test_held_out_wrong_answer_is_caught(course, wrong):
        """A wrong answer the graders' lists were not written for scores 0 and is named or described."""
        assert_held_out_caught(course, assignment, held_out, wrong, group)

    return (course, test_model_answer_full_marks_and_blank_zero, test_wrong_answer_is_caught_and_diagnosed,
            test_isolated_regrade_agrees_with_nbgrader, test_diagnoses_are_specific,
            test_held_out_wrong_answer_is_caught, test_right_answer_written_differently_full_marks)


def assert_regrade_agrees(course: NbgraderCourse, course_root: Path, scratch: Path, assignment: str,
                          catalogue: list[WrongAnswer], group: Grouping = submissions_of,
                          held_out: list[HeldOut] = ()) -> None:
    import nbformat

    from dlopt_course.isolation import regrade_notebook

    source = course.source(assignment)
    by_hand = {cell.metadata["nbgrader"]["grade_id"] for cell in source.cells
               if cell.get("metadata", {}).get("nbgrader", {}).get("solution") and cell.metadata["nbgrader"].get("grade")}
    held_out_students = held_out_submissions(list(held_out), group) if held_out else {}
    students = ["model", "blank", *group(catalogue), *held_out_students]
    for student in students:
        submitted = nbformat.read(course.root / "submitted" / student / assignment / f"{assignment}.ipynb",
                                  as_version=4)
        result = regrade_notebook(source, submitted, course_root, scratch / student)
        # written answers are graded by hand: the regrade, like autograde, gives them no score
        nbgrader_cells = {grade_id: score for grade_id, score in course.cell_scores(student, assignment).items()
                          if grade_id not in by_hand}
        regrade_cells = {grade_id: verdict.points for grade_id, verdict in result.cells.items()}
        assert regrade_cells == nbgrader_cells, (
            f"{student}: the isolated regrade scored {regrade_cells}, nbgrader {nbgrader_cells}\n"
            + "\n".join(f"{v.grade_id}: {v.message[:400]}" for v in result.cells.values() if v.message))
        assert result.refused == [], f"{student}: the sandbox refused {result.refused}"
        for wrong in group(catalogue).get(student, []):
            message = _ANSI.sub("", result.cells[f"{wrong.function}_hidden"].message)
            assert says(message, wrong.diagnosis), f"{wrong.id}: the regrade says {message[:1000]}"
        for wrong in held_out_students.get(student, []):
            verdict = result.cells[f"{wrong.function}_hidden"]
            message = _ANSI.sub("", verdict.message)
            assert verdict.points == 0, f"{wrong.id} passed the regrade's hidden check of {wrong.function}"
            for phrase in (wrong.diagnosis, *wrong.also):
                assert says(message, phrase), f"{wrong.id}: the regrade does not say {phrase!r}: {message[:1000]}"
            if not wrong.listed:
                assert KNOWN_MISTAKE_MARKER not in message, f"{wrong.id} is no listed mistake: {message[:1000]}"
