"""Which submissions of an assignment were copied from one another: ``similarity A... --html report.html``.

Each answer cell (nbgrader ``solution: true``, matched by ``grade_id``) of every submission is read with
:func:`~dlopt_course.intake.read_submission` (never any other way: submissions are hostile input)
and reduced to a set of fingerprints that survive the usual disguises of a copy:

- formatting, comments and docstrings: the code is parsed with :mod:`ast` and unparsed (a cell that does
  not parse falls back to its tokens), every string statement is dropped;
- renamed variables: local names become ``v0, v1, ...`` in order of first use; builtins, imported
  modules (``np``), attribute and keyword names are kept, since they carry the meaning;
- reordered independent lines: every block is put in a canonical order (the dependency graph of its
  statements, walked smallest-statement-first), so any order a student may legally choose gives the same code.

The fingerprints are the hashed ``K``-grams of the normalised tokens. The released stub's fingerprints
are subtracted (a blank release pairs nobody), and so are those held by many submissions of the class
(code everybody writes, e.g. the only sensible one-liner, is no evidence of copying). A pair's score is
the Jaccard index of the two students' remaining fingerprints over all answer cells together, so a cell
weighs by its size. Candidate pairs come from an inverted index (fingerprint -> students), never from all
pairs. Independent right answers agree on outputs, not on code: they share few rare fingerprints.
Answers equal to the model answer are not set aside: the stub and the common-code filter suffice (the
planted and synthetic classes of ``bench_similarity.py`` need nothing more), and two students handing in the
model answer itself, in a class where few do, is worth a look.
"""

from __future__ import annotations

import ast
import builtins
import concurrent.futures
import contextlib
import csv
import html
import io
import json
import os
import re
import sys
import tokenize
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

from .intake import read_submission
from .notebooks import student_version

K = 6                     #: tokens per fingerprint
THRESHOLD = 0.6           #: pairs scoring at least this are reported (tuned on bench-similarity's planted set:
#: disguised copies score 1.0; independent right answers at most 0.42, cs231n's momentum being the model's code)
MIN_SHARED = 8            #: and sharing at least this many rare fingerprints (one shared line is no evidence)
COMMON_FRACTION = 0.1     #: a fingerprint in more than this fraction of the submissions ...
COMMON_MIN = 10           #: ... and in more than this many submissions is common code, not evidence
KEPT_NAMES = frozenset(dir(builtins)) | {"np", "numpy", "math", "itertools", "bisect", "self"}
_TOKEN = re.compile(r"[A-Za-z_]\w*|\d[\w.]*|\S")


class SimilarityError(ValueError):
    """An assignment the course does not have, or one without any submission."""


def _effects(statement: ast.stmt) -> tuple[set[str], set[str], bool]:
    """``(reads, writes, barrier)`` of a statement; a barrier (control flow, calls of unknown functions) stays put."""
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        return set(), {(a.asname or a.name).split(".")[0] for a in statement.names} - KEPT_NAMES, False
    if not isinstance(statement, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr)):
        return set(), set(), True
    reads, writes = set(), set()
    for node in ast.walk(statement):
        if isinstance(node, ast.Name):
            (reads if isinstance(node.ctx, ast.Load) else writes).add(node.id)
        elif isinstance(node, (ast.Subscript, ast.Attribute)) and isinstance(node.ctx, ast.Store):
            writes |= {n.id for n in ast.walk(node.value) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.Call):
            target = node.func
            if isinstance(target, ast.Attribute):
                if isinstance(target.value, ast.Name):
                    writes.add(target.value.id)
            elif not (isinstance(target, ast.Name) and target.id in KEPT_NAMES):
                return set(), set(), True
    return reads - KEPT_NAMES, writes - KEPT_NAMES, False


_NAME = re.compile(r"Name\('(\w+)'")


class _Normaliser(ast.NodeTransformer):
    """Drops string statements, orders blocks canonically, renames local names in order of first use."""

    def __init__(self, kept: set[str]):
        self.kept, self.names = kept, {}

    def _rename(self, name: str) -> str:
        if name in self.kept:
            return name
        return self.names.setdefault(name, f"v{len(self.names)}")

    def _canonical_order(self, body: list[ast.stmt]) -> list[ast.stmt]:
        """The statements of a block in the one order every legal reordering of it maps to.

        The dependency graph of the block is walked taking, among the statements whose predecessors are
        placed, the smallest by its text with names numbered as they will be (names first met in this
        block by the order placed so far; names not met yet blanked).
        """
        effects = [_effects(s) for s in body]
        before = {j: {i for i in range(j) if effects[i][2] or effects[j][2] or effects[i][1] & (
            effects[j][0] | effects[j][1]) or effects[j][1] & effects[i][0]} for j in range(len(body))}
        dumps: dict[int, str] = {}
        local: dict[str, str] = {}
        placed: list[int] = []
        scanned = 0

        def dump(j: int) -> str:
            if j not in dumps:
                dumps[j] = ast.dump(body[j], annotate_fields=False)
            return dumps[j]

        def key(j: int) -> str:
            nonlocal scanned
            for i in placed[scanned:]:
                for word in _NAME.findall(dump(i)):
                    if word not in self.kept and word not in self.names:
                        local.setdefault(word, f"L{len(local)}")
            scanned = len(placed)
            return _NAME.sub(lambda m: "Name('%s'" % (m.group(1) if m.group(1) in self.kept else self.names.get(
                m.group(1)) or local.get(m.group(1), "_")), dump(j))

        while len(placed) < len(body):
            ready = [j for j in range(len(body)) if j not in placed and before[j] <= set(placed)]
            placed.append(ready[0] if len(ready) == 1 else min(ready, key=lambda j: (key(j), j)))
        return [body[j] for j in placed]

    def _order_blocks(self, node):
        for attribute in ("body", "orelse", "finalbody"):
            block = getattr(node, attribute, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                block = [s for s in block if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)
                                                  and isinstance(s.value.value, str))] or [ast.Pass()]
                setattr(node, attribute, self._canonical_order(block))

    def generic_visit(self, node):
        self._order_blocks(node)
        return super().generic_visit(node)

    def visit_Name(self, node):
        node.id = self._rename(node.id)
        return node

    def visit_arg(self, node):
        node.arg, node.annotation = self._rename(node.arg), None
        return node

    def visit_FunctionDef(self, node):
        node.name = self._rename(node.name)
        node.returns, node.decorator_list = None, [self.visit(d) for d in node.decorator_list]
        node.args = self.visit(node.args)
        self._order_blocks(node)
        node.body = [self.visit(statement) for statement in node.body]
        return node

    visit_AsyncFunctionDef = visit_FunctionDef


def normalised_tokens(code: str) -> list[str]:
    """The tokens of ``code`` with formatting, comments, docstrings, local names and legal order taken out."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError):
        return _fallback_tokens(code)
    kept = set(KEPT_NAMES)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            kept |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    try:
        return _TOKEN.findall(ast.unparse(_Normaliser(kept).visit(tree)))
    except RecursionError:
        return _fallback_tokens(code)


def _fallback_tokens(code: str) -> list[str]:
    """Tokens of code that does not parse: comments dropped, names renamed in order of first use."""
    names: dict[str, str] = {}
    try:
        words = [t.string for t in tokenize.generate_tokens(io.StringIO(code).readline)
                 if t.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                                   tokenize.DEDENT, tokenize.ENDMARKER)]
    except (tokenize.TokenError, SyntaxError, IndentationError):
        words = _TOKEN.findall(re.sub(r"#[^\n]*", "", code))
    keywords = set(__import__("keyword").kwlist) | KEPT_NAMES
    return [names.setdefault(w, f"v{len(names)}") if w.isidentifier() and w not in keywords else w for w in words]


def _hash(tokens: list[str]) -> int:
    data = "\x1f".join(tokens).encode()
    return zlib.crc32(data) << 32 | zlib.adler32(data)


def fingerprints(code: str) -> set[int]:
    """The hashed ``K``-grams of the normalised tokens (the whole stream if shorter); the same in every process."""
    tokens = normalised_tokens(code)
    if len(tokens) < K:
        return {_hash(tokens)} if tokens else set()
    return {_hash(tokens[i:i + K]) for i in range(len(tokens) - K + 1)}


def answer_prints(stub_prints: dict[str, set[int]], cells: dict[str, str]) -> set[tuple[str, int]]:
    """A submission's ``(grade_id, fingerprint)`` pairs, the released stub's fingerprints taken out."""
    return {(g, f) for g, stub in stub_prints.items() for f in fingerprints(cells.get(g, "")) - stub}


def _prints_job(job):
    return answer_prints(*job)


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    if isinstance(source, list):
        source = "".join(part for part in source if isinstance(part, str))
    return source if isinstance(source, str) else ""


def answer_cells(notebook: dict) -> dict[str, str]:
    """``{grade_id: code}`` of a notebook's code cells marked ``solution: true`` (a hostile one: shapes checked)."""
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    found: dict[str, str] = {}
    for cell in cells if isinstance(cells, list) else []:
        meta = cell.get("metadata", {}) if isinstance(cell, dict) else {}
        meta = meta.get("nbgrader", {}) if isinstance(meta, dict) else {}
        if isinstance(meta, dict) and meta.get("solution") is True and cell.get("cell_type") == "code":
            grade_id = meta.get("grade_id")
            if isinstance(grade_id, str) and grade_id not in found:
                found[grade_id] = _source(cell)
    return found


@dataclass
class Pair:
    """Two students whose answers to one assignment share much rare code."""

    assignment: str
    student_a: str
    student_b: str
    score: float
    cells: list[str]  # the answer cells they share most of, by grade_id


@dataclass
class Report:
    pairs: list[Pair] = field(default_factory=list)
    code: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)  # (assignment, student) -> cells
    skipped: list[str] = field(default_factory=list)  # submissions not read, and why
    students: dict[str, int] = field(default_factory=dict)  # assignment -> submissions compared


def compare_assignment(assignment: str, stubs: dict[str, str], prints: dict[str, set[tuple[str, int]]],
                       threshold: float = THRESHOLD) -> list[Pair]:
    """The pairs of students (``prints``: their :func:`answer_prints`) scoring at least ``threshold``."""
    frequency = Counter(f for held in prints.values() for f in held)
    common = max(COMMON_MIN, COMMON_FRACTION * len(prints))
    prints = {s: {f for f in held if frequency[f] <= common} for s, held in prints.items()}
    index: dict[tuple, list[str]] = defaultdict(list)
    for student in sorted(prints):
        for f in prints[student]:
            index[f].append(student)
    shared: Counter = Counter()
    for holders in index.values():
        if len(holders) > 1:
            shared.update(combinations(holders, 2))
    pairs = []
    for (a, b), count in shared.items():
        if count < MIN_SHARED:
            continue
        score = count / len(prints[a] | prints[b])
        if score >= threshold:
            both = prints[a] & prints[b]
            cells = [g for g in stubs if sum(1 for f in both if f[0] == g) >= MIN_SHARED // 2]
            pairs.append(Pair(assignment, a, b, round(score, 3), cells))
    return sorted(pairs, key=lambda p: (-p.score, p.student_a, p.student_b))


def similarity(course_root: Path, assignments: list[str], threshold: float = THRESHOLD,
               workers: int | None = None, progress: bool = False) -> Report:
    """Compare every submission of each assignment of the course at ``course_root`` with every other.

    Submissions are read here; their fingerprints are computed by ``workers`` processes (default: all cores).
    ``progress``: a bar on stderr, a step per submission fingerprinted.
    """
    from tqdm import tqdm

    root = Path(course_root)
    submitted = root / "submitted"
    report, classes = Report(), []
    workers = (os.cpu_count() or 1) if workers is None else workers
    for assignment in assignments:
        source = root / "exercises" / assignment / f"{assignment}.ipynb"
        if not re.fullmatch(r"[\w.-]+", assignment) or not source.is_file():
            raise SimilarityError(f"unknown assignment {assignment!r}: no {source}")
        import nbformat

        stubs = answer_cells(json.loads(nbformat.writes(student_version(nbformat.read(source, as_version=4)))))
        answers: dict[str, dict[str, str]] = {}
        students = sorted(e.name for e in os.scandir(submitted) if e.is_dir(follow_symlinks=False)) \
            if submitted.is_dir() else []
        for student in students:
            if not (submitted / student / assignment).exists():
                continue
            found = read_submission(submitted, student, assignment, [assignment])
            why = "; ".join(found.refused) if assignment not in found.notebooks else ""
            try:
                cells = answer_cells(json.loads(found.notebooks[assignment])) if not why else {}
            except (ValueError, RecursionError):
                why = "not a valid notebook (JSON)"
            if why or not cells:
                report.skipped.append(f"{student} / {assignment}: {why or 'no answer cells'}")
                continue
            answers[student] = cells
            report.code[(assignment, student)] = cells
        if not answers:
            raise SimilarityError(f"no submissions of {assignment} in {submitted}")
        report.students[assignment] = len(answers)
        classes.append((assignment, stubs, answers))
    stub_prints = {a: {g: fingerprints(code) for g, code in stubs.items()} for a, stubs, _ in classes}
    jobs = [(stub_prints[a], cells) for a, _, answers in classes for cells in answers.values()]
    bar = tqdm(total=len(jobs), desc="similarity", unit="submission", file=sys.stderr, dynamic_ncols=True,
               disable=not progress)
    computed = []
    with bar, contextlib.ExitStack() as stack:
        if workers > 1 and len(jobs) > 200:
            pool = stack.enter_context(concurrent.futures.ProcessPoolExecutor(workers))
            held_by_job = pool.map(_prints_job, jobs, chunksize=64)
        else:
            held_by_job = map(_prints_job, jobs)
        for held in held_by_job:
            computed.append(held)
            bar.update(1)
    results = iter(computed)
    for assignment, stubs, answers in classes:
        prints = {student: next(results) for student in answers}
        report.pairs.extend(compare_assignment(assignment, stubs, prints, threshold))
    report.pairs.sort(key=lambda p: (-p.score, p.assignment, p.student_a, p.student_b))
    return report


def write_csv(report: Report, path: Path) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["assignment", "student_a", "student_b", "score", "cells"])
        for p in report.pairs:
            writer.writerow([p.assignment, p.student_a, p.student_b, f"{p.score:.3f}", ";".join(p.cells)])


_STYLE = """body{font-family:sans-serif;margin:1em 2em;color:#222}table.sum td,table.sum th{padding:2px 10px;
text-align:left}details{border:1px solid #ccc;margin:.6em 0;padding:.3em .6em}summary{cursor:pointer;font-weight:bold}
.cols{display:flex;gap:1em}.cols div{flex:1;min-width:0}pre{background:#f6f6f6;padding:.5em;overflow-x:auto;
font-size:12px}.hi{color:#b00}"""


def write_html(report: Report, path: Path, threshold: float = THRESHOLD) -> None:
    """One self-contained page: a summary table, then each pair's answers side by side (escaped text)."""
    e = lambda text: html.escape(str(text), quote=True)  # noqa: E731
    out = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>Similarity report</title>",
           f"<style>{_STYLE}</style></head><body><h1>Similarity report</h1>",
           f"<p>{len(report.pairs)} pair(s) at or above {threshold:.2f}, highest first. Submissions compared: "
           + ", ".join(f"{e(a)}: {n}" for a, n in report.students.items())
           + ". A score is the share of rare normalised code the two have in common; read the code before "
             "deciding anything.</p><table class='sum'><tr><th>#</th><th>assignment</th><th>students</th>"
             "<th>score</th><th>cells</th></tr>"]
    for n, p in enumerate(report.pairs, 1):
        out.append(f"<tr><td><a href='#p{n}'>{n}</a></td><td>{e(p.assignment)}</td><td>{e(p.student_a)} &amp; "
                   f"{e(p.student_b)}</td><td class='hi'>{p.score:.2f}</td><td>{e(', '.join(p.cells))}</td></tr>")
    out.append("</table>")
    for n, p in enumerate(report.pairs, 1):
        a, b = report.code[(p.assignment, p.student_a)], report.code[(p.assignment, p.student_b)]
        out.append(f"<details id='p{n}' {'open' if n <= 10 else ''}><summary>#{n} {e(p.assignment)}: "
                   f"{e(p.student_a)} &amp; {e(p.student_b)}, score {p.score:.2f}</summary>")
        for grade_id in p.cells or sorted(set(a) | set(b)):
            out.append(f"<h4>{e(grade_id)}</h4><div class='cols'><div><b>{e(p.student_a)}</b><pre>"
                       f"{e(a.get(grade_id, ''))}</pre></div><div><b>{e(p.student_b)}</b><pre>"
                       f"{e(b.get(grade_id, ''))}</pre></div></div>")
        out.append("</details>")
    if report.skipped:
        out.append("<h2>Not compared</h2><ul>" + "".join(f"<li>{e(s)}</li>" for s in report.skipped) + "</ul>")
    out.append("</body></html>")
    Path(path).write_text("\n".join(out), encoding="utf-8")
