"""The built HTML book: pages, math, figures, the student exercise page, and no leaks."""

from __future__ import annotations

import re

import pytest

from dlopt_reference.course.leaks import forbidden_markers, scan


@pytest.fixture(scope="module")
def html(built_book):
    return built_book


def page(html, name: str) -> str:
    matches = sorted(html.rglob(f"{name}.html"))
    assert matches, f"no page {name}.html in the build"
    return matches[0].read_text()


def test_index_and_chapter_1_exist(html):
    assert (html / "index.html").is_file()
    assert "01_sgd" in page(html, "01_sgd")


def test_mathjax_is_served_locally(html):
    chapter = page(html, "01_sgd")
    scripts = re.findall(r'<script[^>]+src="([^"]+)"', chapter)
    mathjax = [s for s in scripts if "mathjax" in s.lower()]
    assert mathjax, "the chapter page loads no MathJax"
    assert all(not s.startswith(("http:", "https:", "//")) for s in mathjax), f"MathJax from the network: {mathjax}"
    for src in mathjax:
        assert (html / "book" / src.split("?")[0]).resolve().is_file() or (html / src.split("?")[0].lstrip("./")).is_file(), src


def test_chapter_1_has_display_math(html):
    chapter = page(html, "01_sgd")
    assert chapter.count('class="math') >= 3, "expected displayed formulas on the chapter 1 page"
    assert r"\leftarrow" in chapter or r"\eta" in chapter


def test_chapter_1_figures_exist(html):
    chapter = page(html, "01_sgd")
    images = re.findall(r'<img[^>]+src="([^"]+)"', chapter)
    figures = [src for src in images if src.endswith(".png") or src.endswith(".svg")]
    assert len(figures) >= 3, f"expected the chapter's figures, found {images}"
    chapter_path = sorted(html.rglob("01_sgd.html"))[0]
    for src in figures:
        assert (chapter_path.parent / src).resolve().is_file(), f"missing figure {src}"


def test_no_page_loads_anything_from_the_network(html):
    offenders = []
    for path in html.rglob("*.html"):
        for src in re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="((?:https?:)?//[^"]+)"', path.read_text()):
            offenders.append((path.relative_to(html), src))
    assert offenders == []


def test_the_student_exercise_page_is_built_without_solutions(html):
    exercise = page(html, "01_sgd")  # the chapter; the exercise page lives under exercises/
    student = sorted(p for p in html.rglob("01_sgd.html") if "exercises" in p.parts)
    assert student, "no student exercise page in the book"
    text = student[0].read_text()
    assert "NotImplementedError" in text and "YOUR CODE HERE" in text
    assert exercise


def test_nothing_hidden_leaks_into_the_book(html, course_root):
    leaks = scan([html], forbidden_markers(course_root))
    assert leaks == [], "\n".join(map(str, leaks[:20]))


def test_the_leak_check_sees_through_highlighted_html(tmp_path, course_root):
    """A solution line rendered by Pygments (split into spans, entities escaped) is still found."""
    highlighted = ('<div class="highlight"><pre><span></span><span class="n">next_w</span> <span class="o">=</span> '
                   '<span class="n">w</span> <span class="o">-</span> <span class="n">config</span><span class="p">[</span>'
                   '<span class="s2">&quot;learning_rate&quot;</span><span class="p">]</span> <span class="o">*</span> '
                   '<span class="n">dw</span>\n</pre></div>')
    planted = tmp_path / "page.html"
    planted.write_text(f"<html><body>{highlighted}</body></html>")
    leaks = scan([planted], forbidden_markers(course_root))
    assert [leak.what.split(" (")[0] for leak in leaks] == ["the model answer of 01_sgd"]


def test_one_generic_line_is_not_a_leak_but_two_lines_of_an_answer_are(tmp_path, course_root):
    """``if not np.isfinite(loss):`` alone occurs in honest code; with a second line of the same answer it is a leak."""
    markers = forbidden_markers(course_root)
    honest = tmp_path / "honest.py"
    honest.write_text("if not np.isfinite(loss):\n    raise RuntimeError('diverged')\n")
    assert scan([honest], markers) == []
    leaking = tmp_path / "leaking.py"
    leaking.write_text("if not np.isfinite(loss):\n    break\nlearning_rates.append(learning_rate)\n")
    assert {leak.text for leak in scan([leaking], markers)} == {"if not np.isfinite(loss):", "learning_rates.append(learning_rate)"}
