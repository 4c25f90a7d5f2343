"""The leak check: nothing a student receives may contain a solution, a hidden test or the reference.

Markers are collected from the sources themselves, so the check follows the course as it grows.
They come in *groups*, one per thing that must stay hidden:

- each solution cell of each source assignment (its lines: the model answer);
- each hidden-test region (its lines), and each of nbgrader's marker comments (a group of one);
- each algorithm module of ``dlopt_reference`` (its lines of code), and each ``def``/``class``
  line of that package, graders included, and of this tool, sandbox included (a group of one: the
  names are ours).

One generic line proves nothing (``if not np.isfinite(loss):`` occurs in honest code), so a file
leaks a group when it holds at least ``min(2, size of the group)`` distinct lines of it: a
one-line answer (``next_w = w - config["learning_rate"] * dw``) is caught alone, a longer one by
any two of its lines. A line that the student version shows anyway is never a marker.

A file is scanned as the reader gets it: HTML without its tags and entities, notebooks cell by
cell (outputs included), anything else as text. Each leak names the file, the line and the group.
"""

from __future__ import annotations

import html
import io
import json
import re
import tokenize
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .notebooks import HIDDEN_BEGIN, HIDDEN_END, SOLUTION_BEGIN, SOLUTION_END, source_assignments, student_version

#: Shorter lines are too generic to be markers at all (``break``, ``return w``).
MIN_SOLUTION_LINE = 20
MIN_REFERENCE_LINE = 30


_SPACES = re.compile(r"\s+")
_TAG = re.compile(r"<[^>]*>")
_BINARY_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".ico", ".woff", ".woff2", ".ttf", ".eot", ".otf", ".pdf",
                    ".zip", ".db", ".pyc", ".whl", ".gz"}


def normalize(text: str) -> str:
    """Collapse runs of whitespace so that indentation and wrapping do not hide a match."""
    return _SPACES.sub(" ", text).strip()


@dataclass(frozen=True)
class Leak:
    """One forbidden line found in a student-facing file."""

    path: Path
    line: int
    what: str
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}: {self.text!r}"


class Markers:
    """Forbidden lines, each belonging to a named group (a solution cell, a module, ...)."""

    def __init__(self) -> None:
        self.group_of: dict[str, str] = {}
        self.members: dict[str, set[str]] = defaultdict(set)

    def add(self, group: str, line: str) -> None:
        line = normalize(line)
        if line and line not in self.group_of:
            self.group_of[line] = group
            self.members[group].add(line)

    def needed(self, group: str) -> int:
        """How many distinct lines of ``group`` make a leak."""
        return min(2, len(self.members[group]))

    def __len__(self) -> int:
        return len(self.group_of)

    def __iter__(self):
        return iter(self.group_of.items())


def _regions(source: str, begin: str, end: str) -> list[str]:
    pattern = re.compile(re.escape(begin) + r"[^\n]*\n(.*?)^[ \t]*" + re.escape(end), re.S | re.M)
    return [match.group(1) for match in pattern.finditer(source)]


def _python_lines(source: str) -> list[tuple[str, bool]]:
    """``(code, is_definition)`` for each line of Python source outside docstrings, comments stripped."""
    skip_rows: set[int] = set()
    comment_column: dict[int, int] = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.STRING and token.start[0] != token.end[0]:
            skip_rows.update(range(token.start[0], token.end[0] + 1))
        elif token.type == tokenize.COMMENT:
            comment_column[token.start[0]] = token.start[1]
    lines = []
    for row, line in enumerate(source.splitlines(), start=1):
        if row not in skip_rows:
            code = normalize(line[: comment_column.get(row, len(line))])
            lines.append((code, code.startswith(("def ", "class "))))
    return lines


def forbidden_markers(course_root: Path) -> Markers:
    """Collect the marker groups of the course at ``course_root`` (see the module docstring)."""
    import dlopt_reference
    course_root = Path(course_root)
    markers = Markers()
    for marker in (SOLUTION_BEGIN, SOLUTION_END, HIDDEN_BEGIN, HIDDEN_END):
        markers.add(f"an nbgrader marker ({marker})", marker.lstrip("# "))

    released_everywhere = []
    for notebook_path in source_assignments(course_root):
        notebook = nbformat.read(notebook_path, as_version=4)
        # A line the student version shows anyway (in the text, say) proves nothing.
        released = "\n".join(normalize(line) for cell in student_version(notebook).cells for line in cell.source.splitlines())
        released_everywhere.append(released)
        for cell in notebook.cells:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "?")
            solution_text = "\n".join(_regions(cell.source, SOLUTION_BEGIN, SOLUTION_END)) if cell.cell_type == "code" else (
                cell.source if cell.get("metadata", {}).get("nbgrader", {}).get("solution") else "")
            for line in solution_text.splitlines():
                code = normalize(line)
                if len(code) >= MIN_SOLUTION_LINE and code not in released:
                    markers.add(f"the model answer of {notebook_path.stem} ({grade_id})", code)
            for region in _regions(cell.source, HIDDEN_BEGIN, HIDDEN_END):
                for line in region.splitlines():
                    code = normalize(line)
                    if code and code not in released:
                        markers.add(f"a hidden test of {notebook_path.stem} ({grade_id})", code)

    released_text = "\n".join(released_everywhere)
    reference = Path(dlopt_reference.__file__).resolve().parent
    tool = Path(__file__).resolve().parent
    for package, path in [(package, path) for package in (reference, tool) for path in sorted(package.rglob("*.py"))]:
        # the algorithm modules hold the answers themselves: every public module at the reference's top
        is_algorithm = package == reference and path.parent == package and not path.stem.startswith("_")
        module = ".".join(path.relative_to(package.parent).with_suffix("").parts)
        for code, is_definition in _python_lines(path.read_text()):
            if code in released_text:
                continue
            # a special method (``def __call__(self, x):``) is Python's name, not ours: no marker
            if is_definition and len(code) >= MIN_SOLUTION_LINE and not code.startswith("def __"):
                markers.add(f"a definition in the source of {module} ({code})", code)
            elif is_algorithm and len(code) >= MIN_REFERENCE_LINE and not code.startswith(
                ("import ", "from ", "@", '"', "'", 'r"')
            ):
                markers.add(f"the source of {module}", code)
    return markers


def _readable_lines(path: Path) -> list[tuple[str, str]]:
    """``(location, text)`` pairs of a file as a reader sees it."""
    if path.suffix.lower() in _BINARY_SUFFIXES:
        return []
    try:
        raw = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return []
    if path.suffix == ".ipynb" or path.name.endswith(".ipynb.txt"):
        try:
            notebook = json.loads(raw)
            pairs = []
            for index, cell in enumerate(notebook.get("cells", [])):
                texts = [cell.get("source", "")]
                for output in cell.get("outputs", []):
                    texts.append(output.get("text", ""))
                    texts.extend(output.get("data", {}).get(kind, "") for kind in ("text/plain", "text/html", "text/markdown"))
                for text in texts:
                    text = "".join(text) if isinstance(text, list) else str(text)
                    pairs.extend((f"cell {index}", line) for line in text.splitlines())
            return pairs
        except (json.JSONDecodeError, AttributeError):
            pass
    lines = raw.splitlines()
    if path.suffix in {".html", ".htm", ".xml", ".svg"}:
        lines = [html.unescape(_TAG.sub("", line)) for line in lines]
    return [(f"line {row}", line) for row, line in enumerate(lines, start=1)]


def _files(paths) -> list[Path]:
    files: list[Path] = []
    for path in map(Path, paths):
        if not path.exists():
            raise FileNotFoundError(f"nothing to scan at {path}")
        files.extend(sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path])
    return files


def scan(paths, markers: Markers) -> list[Leak]:
    """Every leak in the given files (folders are walked); see the module docstring for the rule."""
    short = [(marker, group) for marker, group in markers if len(marker) < MIN_SOLUTION_LINE]
    leaks = []
    for path in _files(paths):
        hits: dict[str, dict[str, tuple[str, int]]] = defaultdict(dict)
        for location, line in _readable_lines(path):
            text = normalize(line)
            if len(text) < MIN_SOLUTION_LINE and not any(marker in text for marker, _ in short):
                continue
            for marker, group in markers:
                if marker in text and marker not in hits[group]:
                    row = int(location.split()[-1]) if location.startswith("line") else 0
                    hits[group][marker] = (location, row)
        for group, found in hits.items():
            if len(found) >= markers.needed(group):
                for marker, (location, row) in found.items():
                    leaks.append(Leak(path, row, f"{group} ({location})", marker))
    return leaks
