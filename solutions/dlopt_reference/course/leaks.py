"""The leak check: nothing a student receives may contain a solution, a hidden test or the reference.

Markers are collected from the sources themselves, so the check follows the course as it grows:

- every solution line of every source assignment (the model answers);
- every hidden-test line, and nbgrader's solution / hidden-test marker comments;
- every line of code (not docstrings or comments) of the ``dlopt_reference`` package.

A file is scanned as the reader would get it: HTML without its tags and entities, notebooks cell
by cell (including outputs), anything else as text. Each hit names the file, the line and the marker.
"""

from __future__ import annotations

import html
import io
import json
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .notebooks import HIDDEN_BEGIN, HIDDEN_END, SOLUTION_BEGIN, SOLUTION_END, hidden_lines, source_assignments, student_version

#: Shorter lines are too generic to prove a leak (``break``, ``return w``).
MIN_SOLUTION_LINE = 20
MIN_REFERENCE_LINE = 30

_SPACES = re.compile(r"\s+")
_TAG = re.compile(r"<[^>]*>")
_BINARY_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".svg", ".ico", ".woff", ".woff2", ".ttf", ".eot", ".otf", ".pdf", ".zip", ".db", ".pyc"}


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


#: The modules of dlopt_reference that hold the answers themselves: each of their code lines is a marker.
ALGORITHM_MODULES = ("optim", "data", "lr_range", "schedules", "batchnorm", "search", "ensembles", "second_order")


def _reference_code_lines(package_dir: Path) -> list[str]:
    """Distinctive lines of the reference package's source.

    From the algorithm modules (the answers): every line of code of at least
    ``MIN_REFERENCE_LINE`` characters that is not a docstring, comment or import. From every
    module (graders and tooling included): every ``def``/``class`` line, whose names are specific
    to this package. Generic lines such as ``rng = np.random.default_rng(seed)`` in the graders
    prove nothing and would flag honest book code.
    """
    lines: set[str] = set()
    for path in sorted(package_dir.rglob("*.py")):
        is_algorithm = path.parent == package_dir and path.stem in ALGORITHM_MODULES
        source = path.read_text()
        skip_rows: set[int] = set()
        comment_column: dict[int, int] = {}
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.STRING and token.start[0] != token.end[0]:
                skip_rows.update(range(token.start[0], token.end[0] + 1))
            elif token.type == tokenize.COMMENT:
                comment_column[token.start[0]] = token.start[1]
        for row, line in enumerate(source.splitlines(), start=1):
            if row in skip_rows:
                continue
            code = normalize(line[: comment_column.get(row, len(line))])
            if code.startswith(("def ", "class ")):
                if len(code) >= MIN_SOLUTION_LINE:
                    lines.add(code)
            elif is_algorithm and len(code) >= MIN_REFERENCE_LINE and not code.startswith(
                ("import ", "from ", "@", '"', "'", 'r"')
            ):
                lines.add(code)
    return sorted(lines)


def forbidden_markers(course_root: Path, reference_package: Path | None = None) -> dict[str, str]:
    """Map each normalized forbidden line to a description of where it comes from."""
    course_root = Path(course_root)
    markers: dict[str, str] = {}
    for marker in (SOLUTION_BEGIN, SOLUTION_END, HIDDEN_BEGIN, HIDDEN_END):
        markers[normalize(marker.lstrip("# "))] = "an nbgrader marker comment"
    released_everywhere = ""
    for notebook_path in source_assignments(course_root):
        notebook = nbformat.read(notebook_path, as_version=4)
        # A line the student version shows anyway (in the text, say) proves nothing.
        released = "\n".join(normalize(line) for cell in student_version(notebook).cells for line in cell.source.splitlines())
        released_everywhere += released + "\n"
        solutions, hidden = hidden_lines(notebook)
        for line in solutions:
            code = normalize(line)
            if len(code) >= MIN_SOLUTION_LINE and code not in released:
                markers.setdefault(code, f"a solution line of {notebook_path.stem}")
        for line in hidden:
            code = normalize(line)
            if code and code not in released:
                markers.setdefault(code, f"a hidden test of {notebook_path.stem}")
    if reference_package is None:
        reference_package = Path(__file__).resolve().parents[1]
    for code in _reference_code_lines(reference_package):
        if code not in released_everywhere:
            markers.setdefault(code, "source code of dlopt_reference")
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
    if path.suffix in {".html", ".htm", ".xml"}:
        lines = [html.unescape(_TAG.sub("", line)) for line in lines]
    return [(f"line {row}", line) for row, line in enumerate(lines, start=1)]


def scan(paths, markers: dict[str, str]) -> list[Leak]:
    """Every occurrence of a marker in the given files (folders are walked)."""
    files: list[Path] = []
    for path in map(Path, paths):
        files.extend(sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path])
    leaks = []
    for path in files:
        for location, line in _readable_lines(path):
            text = normalize(line)
            if len(text) < MIN_SOLUTION_LINE and not any(m in text for m in markers if len(m) < MIN_SOLUTION_LINE):
                continue
            for marker, what in markers.items():
                if marker in text:
                    row = int(location.split()[-1]) if location.startswith("line") else 0
                    leaks.append(Leak(path, row, f"{what} ({location})", marker))
    return leaks
