"""The nbconvert preprocessor of the course's feedback page.

Runs after nbgrader's ``GetGrades`` (which puts each graded cell's score in its metadata) and hands
the template ``resources["dlopt_feedback"]``: one entry per graded cell (grade id, a readable name,
score, points, the first lines of its diagnosis) and the MathJax to inline. It also reduces hidden
test regions to their calls (``hidden_source``).
"""

from __future__ import annotations

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

from .check_names import check_name, diagnosis_lines, error_message, printed_text
from .hidden_source import shown_source
from .mathjax import mathjax_config, mathjax_source


def _waiting_for_an_instructor(resources) -> set[str]:
    """Grade ids of this submission's answers that still need a manual grade (the gradebook says so).

    nbgrader's ``GetGrades`` writes an ungraded written answer's score as 0, like a graded zero; only the
    gradebook's ``needs_manual_grade`` tells the two apart.
    """
    info = resources.get("nbgrader", {})
    if not all(info.get(key) for key in ("db_url", "notebook", "assignment", "student")):
        return set()
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(info["db_url"]) as gradebook:
        try:
            notebook = gradebook.find_submission_notebook(info["notebook"], info["assignment"], info["student"])
        except MissingEntry:
            return set()
        return {grade.name for grade in notebook.grades if grade.needs_manual_grade and grade.manual_score is None}


def _graded(cell) -> dict | None:
    nbgrader = cell.metadata.get("nbgrader", {})
    return nbgrader if nbgrader.get("grade") else None


class FeedbackPage(Preprocessor):
    """Collect the summary of the graded checks and inline MathJax (see the module docstring)."""

    # nbconvert runs only enabled preprocessors, and nbgrader registers this one without enabling it.
    enabled = Bool(True).tag(config=True)

    def preprocess(self, nb, resources):
        checks = []
        waiting = _waiting_for_an_instructor(resources)
        for cell in nb.cells:
            nbgrader = _graded(cell)
            if nbgrader is None:
                continue
            if cell.cell_type == "code" and not nbgrader.get("solution"):
                cell.source = shown_source(cell.source)
            graded = nbgrader.get("score") is not None and nbgrader["grade_id"] not in waiting
            if not graded:
                nbgrader["score"] = None  # the cell's own heading says "not graded yet" too
            score, points = float(nbgrader.get("score") or 0), float(nbgrader.get("points") or 0)
            if cell.cell_type == "code":
                # a failed check's error, or what a check that gave partial credit printed
                outputs = cell.get("outputs", [])
                message = error_message(outputs) or printed_text(outputs)
                diagnosis = diagnosis_lines(message) if score < points else []
            elif not graded:  # a written answer an instructor has not graded yet
                diagnosis = ["not graded yet: an instructor grades this answer by hand"]
            else:
                diagnosis = [line for line in [str(nbgrader.get("comment") or "").strip()] if line]
            checks.append({
                "grade_id": nbgrader["grade_id"],
                "name": check_name(nbgrader["grade_id"]),
                "score": score,
                "points": points,
                "graded": graded,
                "passed": graded and score >= points,
                "diagnosis": diagnosis,
            })
        resources["dlopt_feedback"] = {
            "checks": checks,
            "mathjax": mathjax_source(),
            "mathjax_config": mathjax_config(),
        }
        return nb, resources
