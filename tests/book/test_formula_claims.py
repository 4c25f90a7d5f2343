"""Every formula a chapter states as true is checked by code that runs when the book builds.

The convention (book/0N_*.md, MyST markdown notebooks):

- Every labelled display-math block (``$$ ... $$ (label)`` or a ``{math}`` directive with ``:label:``) and
  every labelled ``{prf:theorem}``, ``{prf:proposition}``, ``{prf:lemma}`` or ``{prf:corollary}`` is
  classified by a MyST comment directly above it (on the line before, or before the one blank line
  before it): ``% claim: <label>`` if it states something checkable (an identity, a bound, a rate, a
  closed form...), ``% definition: <label>`` if it only defines notation or an update rule.
- Every display formula outside a ``{prf:proof}`` (``$$ ... $$`` or ``{math}``, also inside a theorem) is
  labelled, hence classified: a formula the text displays is either stated as true or defined. Steps
  inside a proof are exempt: they derive a theorem whose statement is labelled and checked.
- For every claim, a code cell of the same chapter holds a line ``# claim: <label>`` followed, in that
  cell, by at least one ``assert``. The book is built with ``allow_errors: false``, so a false claim
  fails the build.

This module only parses text (fast): it proves that every claim *has* its assert; the asserts
themselves run when ``tests/conftest.py`` builds the book.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

BOOK = Path(__file__).resolve().parents[2] / "book"
CHAPTERS = sorted(BOOK.glob("[0-9][0-9]_*.md"))
MIN_CLAIMS_PER_CHAPTER = 3
PRF_KINDS = ("theorem", "proposition", "lemma", "corollary")

FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,}|:{3,})\s*(?P<info>.*?)\s*$")
LABEL_OPTION = re.compile(r"^\s*:label:\s*(?P<label>\S+)\s*$")
MATH_CLOSE = re.compile(r"\$\$\s*(?:\((?P<label>[^()\s]+)\))?\s*$")
CLASSIFICATION = re.compile(r"^\s*%\s*(?P<kind>claim|definition)\s*:\s*(?P<label>\S+)\s*$")
CODE_CLAIM = re.compile(r"^\s*#\s*claim\s*:\s*(?P<label>[\w.:-]+)")
ASSERTION = re.compile(r"^\s*assert\b|\bassert_(?:allclose|array_equal|array_almost_equal|equal|almost_equal)\s*\(")
NOT_EXECUTED_TAGS = {"skip-execution", "raises-exception"}


@dataclass
class Block:
    label: str
    kind: str          # "$$", "math" or "prf:theorem", ...
    line: int          # 1-based line of the block's first line ($$ or the opening fence)


@dataclass
class CodeCell:
    line: int          # 1-based line of the opening fence
    body: list[tuple[int, str]]
    tags: set[str] = field(default_factory=set)


@dataclass
class Chapter:
    name: str
    lines: list[str]
    blocks: list[Block] = field(default_factory=list)
    cells: list[CodeCell] = field(default_factory=list)
    comments: list[tuple[int, str, str]] = field(default_factory=list)   # (line, "claim"|"definition", label)
    unlabelled: list[Block] = field(default_factory=list)  # display math outside prf:proof with no label


def _options(lines: list[str], start: int) -> tuple[dict[str, str], int]:
    """Directive options right after an opening fence: ``:key: value`` lines or a ``---`` YAML block."""
    options, i = {}, start
    if i < len(lines) and lines[i].strip() == "---":
        i += 1
        while i < len(lines) and lines[i].strip() != "---":
            key, _, value = lines[i].partition(":")
            options[key.strip()] = value.strip()
            i += 1
        return options, i + 1
    while i < len(lines) and re.match(r"^\s*:[\w-]+:", lines[i]):
        key, _, value = lines[i].strip()[1:].partition(":")
        options[key.strip()] = value.strip()
        i += 1
    return options, i


def _tags(options: dict[str, str]) -> set[str]:
    return {tag.strip(" '\"") for tag in options.get("tags", "").strip("[]").split(",") if tag.strip(" '\"")}


def _is_close(line: str, fence: str) -> bool:
    match = FENCE.match(line)
    return bool(match and not match["info"] and match["fence"][0] == fence[0] and len(match["fence"]) >= len(fence))


def parse(text: str, name: str = "chapter.md") -> Chapter:
    """Split a MyST chapter into labelled blocks, code cells and classification comments."""
    lines = text.splitlines()
    chapter = Chapter(name, lines)
    i = 0
    if lines and lines[0].strip() == "---":                      # jupytext front matter
        i = next((k for k in range(1, len(lines)) if lines[k].strip() == "---"), len(lines) - 1) + 1
    open_directives: list[tuple[str, str]] = []                 # (fence, name) of directives whose content is markdown
    while i < len(lines):
        line = lines[i]
        fence = FENCE.match(line)
        in_proof = any(name == "prf:proof" for _, name in open_directives)
        if fence and open_directives and _is_close(line, open_directives[-1][0]):
            open_directives.pop()
            i += 1
            continue
        if fence:
            info, marker = fence["info"], fence["fence"]
            directive = re.match(r"^\{(?P<name>[\w:-]+)\}", info)
            options, body_start = _options(lines, i + 1)
            end = next((k for k in range(body_start, len(lines)) if _is_close(lines[k], marker)), len(lines))
            if directive and directive["name"] == "code-cell":
                body = [(k + 1, lines[k]) for k in range(body_start, end)]
                chapter.cells.append(CodeCell(i + 1, body, _tags(options)))
                i = end + 1
                continue
            if directive and directive["name"] == "math":
                if "label" in options:
                    chapter.blocks.append(Block(options["label"], "math", i + 1))
                elif not in_proof:
                    chapter.unlabelled.append(Block("", "math", i + 1))
                i = end + 1
                continue
            if directive:                                       # prf:*, note, exercise, ...: markdown inside
                kind = directive["name"]
                if kind.startswith("prf:") and kind[4:] in PRF_KINDS and "label" in options:
                    chapter.blocks.append(Block(options["label"], kind, i + 1))
                open_directives.append((marker, kind))
                i = body_start
                continue
            i = end + 1                                         # a plain code block: nothing to parse inside
            continue
        stripped = line.strip()
        comment = CLASSIFICATION.match(line)
        if comment:
            chapter.comments.append((i + 1, comment["kind"], comment["label"]))
        elif stripped.startswith("$$"):
            rest, end = stripped[2:], i
            if not MATH_CLOSE.search(rest):                     # multi-line: find the closing $$
                end = next((k for k in range(i + 1, len(lines)) if MATH_CLOSE.search(lines[k].strip())), len(lines) - 1)
                rest = lines[end].strip()
            label = MATH_CLOSE.search(rest)
            if label and label["label"]:
                chapter.blocks.append(Block(label["label"], "$$", i + 1))
            elif not in_proof:
                chapter.unlabelled.append(Block("", "$$", i + 1))
            i = end + 1
            continue
        i += 1
    return chapter


def _classification_above(chapter: Chapter, block: Block) -> list[tuple[int, str, str]]:
    """The classification comments attached to a block: the comment lines directly above it,
    allowing one blank line between them and the block."""
    k = block.line - 2                                          # 0-based index of the line above
    if k >= 0 and not chapter.lines[k].strip():
        k -= 1
    found = []
    while k >= 0 and chapter.lines[k].lstrip().startswith("%"):
        match = CLASSIFICATION.match(chapter.lines[k])
        if match:
            found.append((k + 1, match["kind"], match["label"]))
        k -= 1
    return found


def problems(chapter: Chapter, min_claims: int = MIN_CLAIMS_PER_CHAPTER) -> list[str]:
    """Everything that breaks the convention, one message per problem, with file:line."""
    where = chapter.name
    found: list[str] = [f"{where}:{block.line}: unlabelled {block.kind} block outside a proof (label it, e.g. "
                        "'$$ ... $$ (prefix-name)', and classify it as a claim or a definition)"
                        for block in chapter.unlabelled]
    labels: dict[str, Block] = {}
    for block in chapter.blocks:
        if block.label in labels:
            found.append(f"{where}:{block.line}: label {block.label!r} also used at line {labels[block.label].line}")
        labels.setdefault(block.label, block)

    kinds: dict[str, str] = {}
    attached: set[int] = set()
    for block in chapter.blocks:
        comments = _classification_above(chapter, block)
        attached.update(line for line, _, _ in comments)
        own = [kind for _, kind, label in comments if label == block.label]
        others = [(line, label) for line, _, label in comments if label != block.label]
        for line, label in others:
            found.append(f"{where}:{line}: the comment names {label!r}, but the block below it is {block.label!r}")
        if not own:
            found.append(f"{where}:{block.line}: unclassified {block.kind} block {block.label!r} "
                         f"(add '% claim: {block.label}' or '% definition: {block.label}' directly above it)")
        elif len(set(own)) > 1:
            found.append(f"{where}:{block.line}: {block.label!r} is classified both as a claim and as a definition")
        else:
            kinds[block.label] = own[0]
    for line, kind, label in chapter.comments:
        if line not in attached:
            found.append(f"{where}:{line}: '% {kind}: {label}' is not directly above a labelled block"
                         + ("" if label in labels else f" (no block is labelled {label!r})"))

    asserted: set[str] = set()
    for cell in chapter.cells:
        for position, (line, text) in enumerate(cell.body):
            claim = CODE_CLAIM.match(text)
            if not claim:
                continue
            label = claim["label"]
            if label not in labels:
                found.append(f"{where}:{line}: '# claim: {label}' names no labelled block of this chapter")
                continue
            if kinds.get(label) == "definition":
                found.append(f"{where}:{line}: '# claim: {label}' but {label!r} is classified as a definition")
                continue
            if cell.tags & NOT_EXECUTED_TAGS:
                found.append(f"{where}:{line}: '# claim: {label}' is in a cell tagged "
                             f"{sorted(cell.tags & NOT_EXECUTED_TAGS)}, which does not fail the build")
                continue
            if not any(ASSERTION.search(after) for _, after in cell.body[position + 1:]):
                found.append(f"{where}:{line}: '# claim: {label}' is followed by no assert in its cell")
                continue
            asserted.add(label)

    claims = [label for label, kind in kinds.items() if kind == "claim"]
    for label in claims:
        if label not in asserted:
            found.append(f"{where}:{labels[label].line}: claim {label!r} has no code cell with "
                         f"'# claim: {label}' followed by an assert")
    if len(claims) < min_claims:
        found.append(f"{where}: {len(claims)} claim(s), at least {min_claims} expected")
    return found


def check_file(path: Path) -> list[str]:
    return problems(parse(path.read_text(), f"book/{path.name}"))


# --------------------------------------------------------------------------------------------
# The book's chapters


def test_the_chapters_are_found():
    assert [path.name[:2] for path in CHAPTERS] == [f"{n:02d}" for n in range(1, len(CHAPTERS) + 1)]
    assert len(CHAPTERS) >= 9


@pytest.mark.parametrize("path", CHAPTERS, ids=[path.stem for path in CHAPTERS])
def test_every_labelled_formula_is_classified_and_every_claim_asserted(path):
    found = check_file(path)
    assert found == [], f"{path.name}: {len(found)} problem(s) with the formula claims:\n" + "\n".join(found)


@pytest.mark.parametrize("path", CHAPTERS, ids=[path.stem for path in CHAPTERS])
def test_the_parser_finds_every_label_of_a_chapter(path):
    """Cross-check the parser with a plain search for the label markup, and count the code cells."""
    text = path.read_text()
    chapter = parse(text)
    dollar = re.findall(r"^\s*\$\$.*\$\$\s*\((\S+)\)\s*$|^\s*\$\$\s*\((\S+)\)\s*$", text, re.M)
    directives = re.findall(r"^\s*(?:`{3,}|:{3,})\{(?:math|prf:(?:" + "|".join(PRF_KINDS) + r"))\}.*\n\s*:label:\s*(\S+)",
                            text, re.M)
    expected = [a or b for a, b in dollar] + directives
    assert len(expected) >= 3
    assert sorted(block.label for block in chapter.blocks) == sorted(expected)
    assert len(chapter.cells) == text.count("```{code-cell}")


# --------------------------------------------------------------------------------------------
# The checker fails when it should: synthetic chapters

GOOD = '''---
jupytext:
  text_representation:
    format_name: myst
---

# A chapter

% definition: rule
$$
w \\leftarrow w - \\eta g
$$ (rule)

Some prose.

% claim: identity
$$
(a + b)^2 = a^2 + 2ab + b^2
$$ (identity)

% claim: thm-bound

```{prf:theorem} A bound
:label: thm-bound

% claim: inner
$$
x \\le y
$$ (inner)

```python
assert True     # a listing inside the theorem: not executed
```
```

% claim: sum
```{math}
:label: sum

1 + 2 = 3
```

```{code-cell} ipython3
s = "$$ not math $$ (fake)"
# claim: identity
a, b = 2.0, 3.0
assert (a + b) ** 2 == a ** 2 + 2 * a * b + b ** 2
```

```{code-cell} ipython3
:tags: [hide-input]

# claim: thm-bound
# claim: inner
x, y = 1, 2
assert x <= y
# claim: sum
assert 1 + 2 == 3
```
'''


def synthetic(text: str) -> list[str]:
    return problems(parse(text, "synthetic.md"))


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the only line of `text` that contains `needle`."""
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(hits) == 1, (needle, hits)
    return hits[0]


def test_a_chapter_that_follows_the_convention_passes():
    chapter = parse(GOOD, "synthetic.md")
    assert [(b.label, b.kind) for b in chapter.blocks] == [
        ("rule", "$$"), ("identity", "$$"), ("thm-bound", "prf:theorem"), ("inner", "$$"), ("sum", "math")]
    assert synthetic(GOOD) == []


def test_a_claim_without_an_assert_fails():
    text = GOOD.replace("assert 1 + 2 == 3", "print(1 + 2 == 3)")
    assert synthetic(text) == [
        f"synthetic.md:{line_of(text, '# claim: sum')}: '# claim: sum' is followed by no assert in its cell",
        f"synthetic.md:{line_of(text, ':label: sum') - 1}: claim 'sum' has no code cell with '# claim: sum' followed by an assert"]


def test_an_assert_before_the_claim_line_does_not_count():
    text = GOOD.replace("# claim: identity\na, b = 2.0, 3.0\nassert (a + b) ** 2 == a ** 2 + 2 * a * b + b ** 2",
                        "a, b = 2.0, 3.0\nassert (a + b) ** 2 == a ** 2 + 2 * a * b + b ** 2\n# claim: identity")
    assert any("'# claim: identity' is followed by no assert" in p for p in synthetic(text))


def test_a_claim_with_no_cell_at_all_fails():
    text = GOOD.replace("# claim: identity\n", "")
    assert synthetic(text) == [f"synthetic.md:{line_of(text, '$$ (identity)') - 2}: claim 'identity' has no code cell "
                               "with '# claim: identity' followed by an assert"]


def test_an_assert_in_a_plain_code_block_does_not_count():
    text = GOOD.replace("```{code-cell} ipython3\ns = ", "```python\ns = ")
    assert any("claim 'identity' has no code cell" in p for p in synthetic(text))


def test_a_claim_in_a_cell_that_is_not_executed_fails():
    text = GOOD.replace(":tags: [hide-input]", ":tags: [hide-input, skip-execution]")
    found = synthetic(text)
    assert any("'# claim: thm-bound' is in a cell tagged ['skip-execution']" in p for p in found)
    assert any("claim 'thm-bound' has no code cell" in p for p in found)


def test_an_unclassified_label_fails_with_its_line():
    text = GOOD.replace("% claim: identity\n", "")
    found = synthetic(text)
    assert found[0] == (f"synthetic.md:{line_of(text, '$$ (identity)') - 2}: unclassified $$ block 'identity' "
                        "(add '% claim: identity' or '% definition: identity' directly above it)"), found
    for kind, old in [("prf:theorem", "% claim: thm-bound\n"), ("math", "% claim: sum\n"), ("$$", "% definition: rule\n")]:
        found = synthetic(GOOD.replace(old, ""))
        assert any(f"unclassified {kind} block" in p for p in found), found


def test_a_classification_two_blank_lines_away_does_not_count():
    text = GOOD.replace("% claim: identity\n$$", "% claim: identity\n\n\n$$")
    found = synthetic(text)
    assert any("unclassified $$ block 'identity'" in p for p in found)
    assert any("'% claim: identity' is not directly above a labelled block" in p for p in found)


def test_a_claim_for_a_missing_label_fails():
    text = GOOD.replace("# claim: inner", "# claim: inner\n# claim: no-such-label")
    assert synthetic(text) == [f"synthetic.md:{line_of(text, 'no-such-label')}: '# claim: no-such-label' names no labelled block of this chapter"]


def test_a_claim_for_a_definition_fails():
    text = GOOD.replace("# claim: inner", "# claim: inner\n# claim: rule")
    assert synthetic(text) == [f"synthetic.md:{line_of(text, '# claim: rule')}: '# claim: rule' but 'rule' is classified as a definition"]


def test_a_comment_naming_another_block_fails():
    text = GOOD.replace("% claim: identity\n", "% claim: identiti\n")
    found = synthetic(text)
    assert f"synthetic.md:{line_of(text, 'identiti')}: the comment names 'identiti', but the block below it is 'identity'" in found
    assert any("unclassified $$ block 'identity'" in p for p in found)


def test_a_chapter_with_too_few_claims_fails():
    text = GOOD.replace("% claim: sum\n", "% definition: sum\n").replace("# claim: sum\n", "")
    assert synthetic(text) == []                                      # three claims left: enough
    text = text.replace("% claim: inner\n", "% definition: inner\n").replace("# claim: inner\n", "")
    assert synthetic(text) == ["synthetic.md: 2 claim(s), at least 3 expected"]


def test_a_duplicated_label_fails():
    text = GOOD.replace("$$ (rule)", "$$ (identity)").replace("% definition: rule", "% claim: identity")
    assert any("label 'identity' also used at line" in p for p in synthetic(text))


# --------------------------------------------------------------------------------------------
# Unlabelled display formulas: reported outside proofs, allowed inside them

WITH_PROOF = GOOD + '''
Some prose, then an unlabelled formula outside any proof:

$$
a = b
$$

```{prf:proof}
A step of a proof needs no label:

$$
x \\le \\frac{x + y}{2} \\le y
$$

and neither does a {math} block in it:

```{math}
1 \\le 2
```
```

:::{prf:proof}
A colon-fenced proof:
$$ y \\ge x $$
:::

```{prf:theorem} A theorem without labelled formulas
:label: thm-plain

$$
0 \\le 1
$$
```

```{math}
2 \\le 3
```
'''


def test_unlabelled_formulas_outside_proofs_are_reported_with_their_line():
    text = WITH_PROOF.replace("```{prf:theorem} A theorem without labelled formulas\n:label: thm-plain",
                              "```{prf:theorem} A theorem without labelled formulas")
    chapter = parse(text, "synthetic.md")
    lines = text.splitlines()
    outside = [n for n, line in enumerate(lines, start=1) if line in ("$$", "```{math}")
               and n + 1 <= len(lines) and lines[n] in ("a = b", "0 \\le 1", "2 \\le 3")]
    assert len(outside) == 3
    assert [(block.kind, block.line) for block in chapter.unlabelled] == [("$$", outside[0]), ("$$", outside[1]),
                                                                          ("math", outside[2])]
    found = synthetic(text)
    assert found[:3] == [f"synthetic.md:{line}: unlabelled {kind} block outside a proof (label it, e.g. "
                         "'$$ ... $$ (prefix-name)', and classify it as a claim or a definition)"
                         for kind, line in zip(("$$", "$$", "math"), outside)]
    assert found[3:] == []


def test_formulas_inside_proofs_are_not_reported():
    text = WITH_PROOF.replace("$$\na = b\n$$\n", "").replace("$$\n0 \\le 1\n$$\n", "") \
                     .replace("```{math}\n2 \\le 3\n```\n", "").replace(":label: thm-plain\n", "")
    assert text.count("$$") == GOOD.count("$$") + 4 and text.count("{math}") == GOOD.count("{math}") + 2
    assert parse(text, "synthetic.md").unlabelled == []
    assert synthetic(text) == []


def test_a_labelled_formula_below_a_proof_is_still_checked():
    # after the proof closes, the parser is back outside it: an unclassified label there is reported
    text = WITH_PROOF.replace("$$\na = b\n$$\n", "").replace("$$\n0 \\le 1\n$$\n", "") \
                     .replace("```{math}\n2 \\le 3\n```\n", "$$\n2 \\le 3\n$$ (after)\n")
    assert parse(text, "synthetic.md").unlabelled == []
    assert any("unclassified $$ block 'after'" in p for p in synthetic(text))
