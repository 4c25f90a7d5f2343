"""The built HTML book: pages, math, figures, the student exercise page, and no leaks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dlopt_course.leaks import forbidden_markers, scan


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


def test_an_unchanged_chapter_is_not_executed_again(html, course_root, tmp_path):
    """Execution results are cached by notebook content: a fresh copy of the course with the
    build's jupyter-cache rebuilds every chapter from the cache, executing none."""
    import shutil
    import subprocess
    import sys

    from dlopt_course.bench_build import copy_course

    copy = copy_course(course_root, tmp_path / "course")
    shutil.copytree(course_root / "_build" / ".jupyter_cache", copy / "_build" / ".jupyter_cache")
    result = subprocess.run([sys.executable, "-m", "dlopt_course", "--root", str(copy), "build-book"],
                            cwd=copy, capture_output=True, text=True)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert "Executing notebook" not in log, "a chapter was executed although its content did not change"
    assert log.count("Using cached notebook") >= 9


def broken_links(html) -> list[str]:
    """Relative ``href``/``src`` targets of the book's pages that reach no file, and ``#fragments``
    that name no element id on their target page."""
    from html.parser import HTMLParser
    from urllib.parse import unquote, urlsplit

    class Links(HTMLParser):
        def __init__(self):
            super().__init__()
            self.ids, self.targets = set(), []

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if attrs.get("id"):
                self.ids.add(attrs["id"])
            self.targets.extend(attrs[key] for key in ("href", "src") if attrs.get(key))

    pages = {}
    for path in html.rglob("*.html"):
        if path.relative_to(html).parts[0] == "_static":  # theme template macros, not pages
            continue
        parser = Links()
        parser.feed(path.read_text())
        pages[path.resolve()] = parser
    broken = []
    for path, parser in pages.items():
        for target in parser.targets:
            parts = urlsplit(target)
            if parts.scheme or target.startswith(("//", "mailto:", "javascript:", "data:")):
                continue
            file = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            if not file.exists():
                broken.append(f"{path.relative_to(html.resolve())}: {target} (no such file)")
            elif parts.fragment and file in pages and unquote(parts.fragment) not in pages[file].ids:
                broken.append(f"{path.relative_to(html.resolve())}: {target} (no such anchor)")
    return broken


def test_every_internal_link_reaches_a_page_and_an_anchor(html):
    assert broken_links(html.resolve()) == [], "\n".join(broken_links(html.resolve())[:30])


def test_the_link_check_finds_a_broken_link_and_a_broken_anchor(tmp_path):
    (tmp_path / "a.html").write_text('<p id="here"><a href="b.html#nowhere">b</a> <a href="#here">ok</a> '
                                     '<a href="missing.html">gone</a></p>')
    (tmp_path / "b.html").write_text('<p id="there">b</p>')
    assert broken_links(tmp_path.resolve()) == ["a.html: b.html#nowhere (no such anchor)",
                                                "a.html: missing.html (no such file)"]


@pytest.mark.parametrize("chapter", sorted(path.stem for path in
                                           (Path(__file__).resolve().parents[2] / "book").glob("[0-9][0-9]_*.md")))
def test_each_chapter_page_offers_its_notebook_on_the_students_functions(html, chapter):
    """The page's download link reaches a notebook with no reference import (its leaks: the test above)."""
    import nbformat

    page = (html / "book" / f"{chapter}.html").read_text(encoding="utf-8")
    links = re.findall(rf'href="(\.\./_downloads/[0-9a-f]+/{chapter}_chapter\.ipynb)"', page)
    assert len(links) == 1, f"{chapter}.html links its notebook {len(links)} times"
    notebook = nbformat.read(html / "book" / links[0], as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata["dlopt"] == {"chapter": chapter}
    code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    assert "functions_from(" in code and "dlopt_reference" not in code
