"""The course's feedback page for ``nbgrader generate_feedback``.

nbgrader 0.9 renders feedback with nbconvert's ``HTMLExporter`` and its stock ``feedback`` template,
which loads MathJax from a CDN, names every check "Test cell" and shows hidden test code. The course's
template ``dlopt_feedback`` (``templates/``) puts the score and every check (name, points, the first
lines of its diagnosis) at the top, names each check in the navigation, wraps long lines of a
failure instead of clipping them, shows only the calls of a hidden test and inlines MathJax, so the
page renders math opened as a file with no network.

``configure(c)`` sets it up in an ``nbgrader_config.py`` (the course's and the hub's instructor config
call it).
"""

from __future__ import annotations

from pathlib import Path

#: The folder holding the template folder ``dlopt_feedback`` (nbconvert's "template base dir").
TEMPLATES = Path(__file__).resolve().parent / "templates"
TEMPLATE_NAME = "dlopt_feedback"


def configure(c) -> None:
    """Make ``nbgrader generate_feedback`` write the course's feedback page (``c`` is nbgrader's config)."""
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import GetGrades

    from .preprocessor import FeedbackPage

    c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor, FeedbackPage]
    # Only the exporter of generate_feedback (its parent): the formgrader renders submissions with an
    # HTMLExporter of its own and its "formgrade" template, which a class-wide setting would replace.
    c.GenerateFeedback.HTMLExporter.template_name = TEMPLATE_NAME
    c.GenerateFeedback.HTMLExporter.extra_template_basedirs = [str(TEMPLATES)]
