"""The built book as a reader sees it: headless Chromium over a local HTTP server.

Every page loads with no console error and no failed request, its formulas are typeset by MathJax
(no raw TeX left), its images load; the table of contents links every chapter; search works; the
exercise pages offer the student notebook, which holds no solution. A page with a broken formula
and a missing image makes the same checks fail.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from dlopt_course.leaks import forbidden_markers, scan
from pages import load_and_check


@pytest.fixture(scope="module")
def site(built_book, serve) -> str:
    return serve(built_book)


def book_pages(html: Path) -> list[str]:
    return sorted(p.relative_to(html).as_posix() for p in html.rglob("*.html") if not p.relative_to(html).parts[0].startswith("_"))


def toc_files(course_root: Path) -> list[str]:
    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                yield node["file"]
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)
    toc = yaml.safe_load((course_root / "_toc.yml").read_text())
    return [toc["root"], *walk(toc.get("parts", toc.get("chapters", [])))]


def test_every_page_loads_cleanly_with_math_typeset_and_images(browser, site, built_book):
    pages = book_pages(built_book)
    assert len(pages) >= 4
    problems = {}
    for relative in pages:
        report = load_and_check(browser, f"{site}/{relative}")
        if report.problems:
            problems[relative] = report.problems
    assert problems == {}, json.dumps(problems, indent=1)[:4000]


def test_chapter_formulas_are_typeset(browser, site, course_root):
    page = browser.new_page()
    for chapter in [f for f in toc_files(course_root) if f.startswith("book/0")]:
        page.goto(f"{site}/{chapter}.html")
        page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
        page.evaluate("() => MathJax.startup.promise")
        assert page.locator("mjx-container").count() >= 5, f"{chapter}: hardly any typeset formula"
    page.close()


def test_table_of_contents_links_every_page(browser, site, course_root):
    page = browser.new_page()
    page.goto(f"{site}/{toc_files(course_root)[0]}.html")
    links = page.eval_on_selector_all("nav.bd-docs-nav a, .bd-sidebar-primary a", "els => els.map(e => e.href)")
    page.close()
    for file in toc_files(course_root)[1:]:
        assert any(link.split("#")[0].endswith(f"/{file}.html") for link in links), f"the sidebar does not link {file}"


def test_search_finds_a_chapter(browser, site, built_book):
    term, expected = ("Nesterov", "03_nesterov") if (built_book / "book" / "03_nesterov.html").exists() else ("minibatch", "01_sgd")
    page = browser.new_page()
    page.goto(f"{site}/search.html?q={term}")
    page.wait_for_selector("#search-results ul.search li", timeout=20_000)
    results = page.eval_on_selector_all("#search-results ul.search li a", "els => els.map(e => e.href)")
    page.close()
    assert any(expected in link for link in results), results


def test_exercise_pages_offer_the_student_notebook_without_solutions(browser, site, built_book, course_root, tmp_path):
    exercise_pages = sorted((built_book / "book" / "exercises" / "_generated").glob("*.html"))
    assert exercise_pages
    markers = forbidden_markers(course_root)
    page = browser.new_page()
    for html_page in exercise_pages:
        page.goto(f"{site}/{html_page.relative_to(built_book).as_posix()}")
        downloads = page.eval_on_selector_all("a[href$='.ipynb']", "els => els.map(e => e.href)")
        assert downloads, f"{html_page.name}: no notebook download"
        response = page.request.get(downloads[0])
        assert response.ok
        notebook = tmp_path / f"{html_page.stem}.ipynb"
        notebook.write_bytes(response.body())
        cells = json.loads(notebook.read_text())["cells"]
        assert any("NotImplementedError" in "".join(c["source"]) for c in cells)
        assert scan([notebook], markers) == []
    page.close()


def test_the_checks_catch_a_broken_formula_and_a_missing_image(browser, serve, built_book, tmp_path):
    """Plant a malformed formula, raw TeX and a missing image in a copy of a chapter: all are reported."""
    copy = tmp_path / "html"
    shutil.copytree(built_book, copy)
    chapter = copy / "book" / "01_sgd.html"
    broken = ('<div class="math notranslate nohighlight">\\[\\frac{1}{2\\]</div>'
              '<p>Raw TeX that never reached MathJax: $\\nabla f(w)$.</p><img src="no-such-figure.png" alt="missing">')
    chapter.write_text(chapter.read_text().replace("<section", broken + "<section", 1))
    report = load_and_check(browser, f"{serve(copy)}/book/01_sgd.html")
    unrendered = " ".join(m for m in report.math_errors if "unrendered TeX" in m)
    assert "\\frac" in unrendered and "$...$" in unrendered, report.problems
    assert report.broken_images == ["no-such-figure.png"]
    assert any("no-such-figure.png" in m for m in report.failed_requests)
