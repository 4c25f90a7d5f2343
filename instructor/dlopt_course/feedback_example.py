"""The feedback example of the book's "How grading works" page, taken from a real autograde.

``feedback_example(course_root)`` releases ``01_sgd`` in a temporary course, submits the model
answer with two catalogued mistakes (the sign of the SGD update flipped, minibatches not shuffled),
runs the real ``nbgrader autograde`` and ``generate_feedback``, and extracts from the feedback HTML
what a student reads there: the summary at the top of the page (each check's name, points and the
first lines of its diagnosis) and, for each failing hidden check, its call line and the message it
printed. The committed copy ``book/_static/feedback_example.txt`` is
compared with a fresh one by the tests, so the page cannot drift from what nbgrader really shows.

Only the one call line of a hidden cell is kept (never the import line above it, nor the
traceback through the grader: the message at its end is the diagnosis).

Regenerate with ``dlopt-course feedback-example``.
"""

from __future__ import annotations

import html
import re
import tempfile
from pathlib import Path

from .nbgrader_course import NbgraderCourse
from .submissions import combine_edits, model_answer, replace_in_solution

ASSIGNMENT = "01_sgd"
STUDENT = "student"
#: Two mistakes of the wrong-answer catalogue of 01_sgd (tests/course/test_wrong_answers_01_sgd.py).
MISTAKES = (
    ("sgd_impl", 'w - config["learning_rate"] * dw', 'w + config["learning_rate"] * dw'),
    ("minibatches_impl", "order = np.arange(n_examples) if rng is None else rng.permutation(n_examples)",
     "order = np.arange(n_examples)"),
)
#: Where the committed excerpt lives, relative to the course root.
EXAMPLE_PATH = Path("book/_static/feedback_example.txt")

_TAG = re.compile(r"<[^>]*>")
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Failure|Exception): ")


def _text(fragment: str) -> str:
    """What a reader sees of an HTML fragment (tags dropped, entities decoded)."""
    return html.unescape(_TAG.sub("", fragment))


def _cells(page: str) -> dict[str, str]:
    """``{grade_id: html}`` of each graded cell panel of an nbgrader feedback page."""
    starts = [(m.start(), m.group(1)) for m in re.finditer(r'<a name="([\w-]+)"></a><div class="panel-heading">', page)]
    ends = [start for start, _ in starts[1:]] + [len(page)]
    return {name: page[start:end] for (start, name), end in zip(starts, ends)}


def excerpt(page: str, assignment: str = ASSIGNMENT) -> str:
    """The student-facing excerpt of a feedback page: the summary, then each failing hidden check."""
    lines = []
    title = re.search(r"<h4>(.*?)</h4>", page, re.S)
    lines.append(_text(title.group(1)).strip() if title else assignment)
    # the summary at the top of the page: each check's name, points and the first lines of its diagnosis
    for row in re.finditer(r'<tr class="check [^"]*" data-grade-id="[\w-]+">(.*?)</tr>', page, re.S):
        name = _text(re.search(r'<td class="name">(.*?)</td>', row.group(1), re.S).group(1)).strip()
        points = _text(re.search(r'<td class="points">(.*?)</td>', row.group(1), re.S).group(1)).strip()
        lines.append(f"  {name:<36} {points}")
        lines += [f"      {_text(line).strip()}"
                  for line in re.findall(r'<div class="diagnosis-line">(.*?)</div>', row.group(1), re.S)]
    for grade_id, cell in _cells(page).items():
        if not grade_id.endswith("_hidden"):
            continue
        score = re.search(r"Score:\s*([\d.]+\s*/\s*[\d.]+)", cell)
        if not score or float(score.group(1).split("/")[0]) == float(score.group(1).split("/")[1]):
            continue
        code = _text(re.search(r'<div class="input_area">(.*?)</pre>', cell, re.S).group(1))
        calls = [line.strip() for line in code.splitlines()
                 if line.strip() and not line.strip().startswith(("#", "from ", "import ", '"""'))]
        error = re.search(r'<div class="output_subarea output_text output_error">\s*<pre>(.*?)</pre>', cell, re.S)
        output = _text(error.group(1)).splitlines() if error else []
        first = next((i for i in range(len(output) - 1, -1, -1) if _EXCEPTION_LINE.match(output[i])), 0)
        lines += ["", f"Grade cell {grade_id} (Score: {score.group(1)})"]
        lines += [f"  {call}" for call in calls]
        lines += ["  [the traceback through the grader is left out here]"] if any(l.strip() for l in output[:first]) else []
        lines += [line.rstrip() for line in output[first:]]
    return "\n".join(lines).rstrip() + "\n"


def feedback_example(course_root: Path, workdir: Path | None = None) -> str:
    """Run the real release, autograde and feedback of the example submission; return the excerpt."""
    with tempfile.TemporaryDirectory(prefix="dlopt-feedback-") as scratch:
        course = NbgraderCourse.copy_of(course_root, Path(workdir or scratch) / "course", [ASSIGNMENT])
        course.generate(ASSIGNMENT)
        source, release = course.source(ASSIGNMENT), course.release(ASSIGNMENT)
        edit = combine_edits(*(replace_in_solution(*mistake) for mistake in MISTAKES))
        course.submit(STUDENT, ASSIGNMENT, model_answer(source, release, edit=edit))
        course.autograde(ASSIGNMENT)
        course.generate_feedback(ASSIGNMENT)
        return excerpt(course.feedback_html(STUDENT, ASSIGNMENT))
