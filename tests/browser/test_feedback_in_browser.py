"""The feedback page in headless Chromium, opened as a file with every network request refused.

The page comes from a real autograde and ``generate_feedback`` of the feedback example (01_sgd with
two catalogued mistakes). Chromium opens it as ``file://``, every request that is not a file is
aborted and recorded, and the test asserts that none was attempted, that MathJax typeset the math
(its output elements present, no raw TeX visible), that the summary of the checks is the first thing
on the page, and that each failure's lines wrap inside the page rather than being clipped.
"""

from __future__ import annotations

import pytest

from dlopt_course.feedback_example import ASSIGNMENT, STUDENT, feedback_example
from pages import MATHJAX_TIMEOUT, _UNRENDERED_MATH


@pytest.fixture(scope="module")
def feedback_page(tmp_path_factory, course_root):
    workdir = tmp_path_factory.mktemp("feedback")
    feedback_example(course_root, workdir)
    path = workdir / "course" / "feedback" / STUDENT / ASSIGNMENT / f"{ASSIGNMENT}.html"
    assert path.is_file(), path
    return path


@pytest.fixture
def offline_page(browser):
    """A page whose every non-file request is aborted; ``page.remote`` lists what was attempted."""
    context = browser.new_context(viewport={"width": 1000, "height": 800})
    page = context.new_page()
    page.remote, page.errors = [], []

    def refuse(route):
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            if route.request.url not in page.remote:
                page.remote.append(route.request.url)
            route.abort()

    context.route("**/*", refuse)
    page.on("request", lambda request: not request.url.startswith(("file:", "data:", "blob:"))
            and request.url not in page.remote and page.remote.append(request.url))
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and page.errors.append(message.text))
    yield page
    context.close()


def _open(page, path):
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=MATHJAX_TIMEOUT)
    page.evaluate("() => MathJax.startup.promise")


def test_math_renders_offline_from_the_page_alone(offline_page, feedback_page):
    _open(offline_page, feedback_page)
    assert offline_page.remote == []
    assert offline_page.errors == []
    assert offline_page.locator("mjx-container").count() >= 5
    assert offline_page.locator("mjx-container svg").count() >= 5  # drawn, not only wrapped
    assert offline_page.evaluate(_UNRENDERED_MATH) == []


def test_the_offline_check_would_see_a_remote_request(offline_page, tmp_path):
    """The route records what a page tries to load from the network (here a CDN script)."""
    page = tmp_path / "remote.html"
    page.write_text('<html><head><script src="https://cdn.example.invalid/mathjax.js"></script></head><body></body></html>')
    offline_page.goto(page.as_uri(), wait_until="load")
    assert offline_page.remote == ["https://cdn.example.invalid/mathjax.js"]


def test_the_summary_is_at_the_top(offline_page, feedback_page):
    _open(offline_page, feedback_page)
    summary = offline_page.locator("#dlopt-summary")
    assert summary.is_visible()
    box = summary.bounding_box()
    first_cell = offline_page.locator("div.cell").first.bounding_box()
    assert box["y"] < first_cell["y"]
    assert box["y"] < 800  # in the first screen, without scrolling
    text = summary.inner_text()
    assert "sgd, hidden check" in text and "0.0 / 2.0" in text
    assert "This looks like: the sign of the update is flipped" in text


def test_failures_wrap_instead_of_being_clipped(offline_page, feedback_page):
    _open(offline_page, feedback_page)
    errors = offline_page.locator("div.output_error pre")
    assert errors.count() >= 2
    for index in range(errors.count()):
        width = errors.nth(index).evaluate("e => [e.scrollWidth, e.clientWidth]")
        assert width[0] <= width[1], f"failure {index} is wider than its box: {width}"
    # the summary's long first line wraps too
    cell = offline_page.locator('tr[data-grade-id="sgd_hidden"] td.diagnosis')
    assert cell.evaluate("e => e.scrollWidth <= e.clientWidth")
    assert cell.bounding_box()["x"] + cell.bounding_box()["width"] <= 1000
    # the measure can fail: without wrapping (nbgrader's stock layout) the first failure runs out of its box
    offline_page.add_style_tag(content="div.output_subarea pre { white-space: pre !important; }")
    widths = [errors.nth(index).evaluate("e => [e.scrollWidth, e.clientWidth]") for index in range(errors.count())]
    assert any(scroll > client for scroll, client in widths), widths
