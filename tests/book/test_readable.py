"""The book reads as a book: numbered figures referred to by number, chapters by link, checks folded away.

- Every code cell of a chapter that draws a matplotlib figure (``plt.show()``) carries MyST-NB figure
  metadata (``mystnb: figure: name, caption``), so the figure is numbered, captioned and can be cited
  with ``{numref}``; the prose never points at a figure by position ("the figure above").
- In prose, another chapter is named only inside a link (``[chapter 3](03_nesterov.md)``, ``{doc}``).
- Every code cell holding a ``# claim:`` check (see ``test_formula_claims.py``) has its input collapsed
  (``hide-input``) or removed: a reader sees prose, mathematics and figures first; the check still runs
  when the book builds.

Parses the MyST markdown sources with jupytext (fast); the build itself runs in ``conftest.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import pytest

BOOK = Path(__file__).resolve().parents[2] / "book"
PAGES = sorted(BOOK.glob("[0-9][0-9]_*.md")) + [BOOK / "intro.md"]
CHAPTERS = sorted(BOOK.glob("[0-9][0-9]_*.md"))

FOLDED = {"hide-input", "remove-input", "remove-cell"}
CLAIM = re.compile(r"^\s*#\s*claim\s*:", re.M)
SHOWS = re.compile(r"\bplt\.show\(\)")
POSITIONAL = re.compile(r"\b(?:figures?|plots?|panels?|graphs?)\s+(?:above|below)\b|\((?:see\s+)?(?:figure|plot)\s+"
                        r"(?:above|below)\)|\b(?:next|previous|last)\s+(?:figure|plot)\b", re.I)
CHAPTER_NUMBER = re.compile(r"\b[Cc]hapters?\s+\d+")
# what may legitimately hold "chapter N": links, roles, inline code, math, MyST comments and targets
_NOT_PROSE = [re.compile(pattern, re.S | re.M) for pattern in (
    r"\[[^\]]*\]\([^)]*\)",          # [text](target)
    r"\{[a-z:]+\}`[^`]*`",           # {doc}`...`, {ref}`...`, {numref}`...`
    r"`[^`]*`",                      # inline code
    r"\$\$.*?\$\$", r"\$[^$\n]*\$",  # mathematics
    r"^%.*$", r"^\(.*\)=$",          # comments and targets
)]


def _notebook(page: Path):
    return jupytext.read(page, fmt="md:myst")


def _prose(text: str) -> str:
    for pattern in _NOT_PROSE:
        text = pattern.sub(" ", text)
    return text


@pytest.mark.parametrize("page", CHAPTERS, ids=lambda page: page.stem)
def test_every_figure_is_numbered_and_captioned(page):
    missing = []
    for cell in _notebook(page).cells:
        if cell.cell_type == "code" and SHOWS.search(cell.source):
            figure = cell.metadata.get("mystnb", {}).get("figure", {})
            if not (str(figure.get("name", "")).startswith("fig-") and len(str(figure.get("caption", "")).split()) >= 5):
                missing.append(cell.source.splitlines()[0][:80])
            if len(SHOWS.findall(cell.source)) > 1:
                missing.append("one cell shows more than one figure: " + cell.source.splitlines()[0][:60])
    assert not missing, f"{page.name}: figure cells without a name and caption: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.stem)
def test_prose_refers_by_link_not_by_position(page):
    found = []
    for cell in _notebook(page).cells:
        if cell.cell_type == "markdown":
            prose = _prose(cell.source)
            found += [match.group(0) for match in POSITIONAL.finditer(prose)]
            found += [match.group(0) for match in CHAPTER_NUMBER.finditer(prose)]
    assert not found, f"{page.name}: write a link or {{numref}} instead of: {found}"


@pytest.mark.parametrize("page", CHAPTERS, ids=lambda page: page.stem)
def test_checks_are_folded_away(page):
    shown = [cell.source.splitlines()[0][:80] for cell in _notebook(page).cells
             if cell.cell_type == "code" and CLAIM.search(cell.source)
             and not FOLDED & set(cell.metadata.get("tags", []))]
    assert not shown, f"{page.name}: cells with a '# claim:' check whose input is not hidden: {shown}"


def test_the_rules_see_what_they_forbid():
    """The patterns themselves: each catches the wording it forbids and lets its link form through."""
    assert POSITIONAL.search("as the figure above shows") and POSITIONAL.search("(figure below)")
    assert not POSITIONAL.search(_prose("as {numref}`fig-sgd-noise` shows"))
    assert CHAPTER_NUMBER.search(_prose("as in chapter 3, the rate"))
    assert not CHAPTER_NUMBER.search(_prose("as in [chapter 3](03_nesterov.md), the rate"))
    assert not CHAPTER_NUMBER.search(_prose("$\\text{chapter 3}$ and `chapter 3` and {doc}`chapter 3 <03_nesterov>`"))
