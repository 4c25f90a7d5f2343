"""``similarity`` measured: precision and recall on planted copies, and the time for a large synthetic class.

``dlopt-course bench-similarity [--students 300]`` builds, in temporary courses,

1. the planted class of 01_sgd and 02_momentum (:func:`planted_class`): the model answer and independent right
   answers from ``tests/grading/*_alternatives.py`` (each written differently), and copies of some of them,
   each disguised by renaming variables, reformatting, added comments and docstrings, reordered independent
   lines, or all four. A copy and its original (a "family") must be paired; two families must not be;
2. a synthetic class of N students x every assignment (:func:`synthetic_class`): each answer a random
   right answer (model or catalogue) with random disguises and a few lines of the student's own, and a
   few planted copy pairs,

runs :func:`~dlopt_course.similarity.similarity` on both and prints precision, recall and wall time
side by side. It is a script, not a test: the time depends on the machine and its load.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import io
import json
import random
import re
import shutil
import sys
import tempfile
import time
import tokenize
from itertools import combinations
from pathlib import Path

import nbformat

from .notebooks import SOLUTION_BEGIN, SOLUTION_END, student_version
from .similarity import similarity

PLANTED_ASSIGNMENTS = ["01_sgd", "02_momentum"]
CELL_HEADER = "import bisect\nimport itertools\nimport math\n\nimport numpy as np\n\n"
_KEEP = set(dir(builtins)) | {"np", "math", "itertools", "bisect"}


def rename(code: str, rng: random.Random | None = None) -> str:
    """Disguise (a): every parameter and local variable renamed (function names kept), nothing else changed."""
    rng = rng or random.Random(0)
    tree = ast.parse(code)
    defined = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    local = {n.arg for n in ast.walk(tree) if isinstance(n, ast.arg)}
    local |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    words = ["tmp", "val", "my", "x", "res", "the", "cur", "new"]
    mapping = {name: f"{rng.choice(words)}_{name[::-1].strip('_')}{rng.randrange(100)}"
               for name in sorted(local - defined - _KEEP)}
    keywords = {(n.lineno, n.col_offset) for n in ast.walk(tree) if isinstance(n, ast.keyword) and n.arg}
    lines = code.splitlines(keepends=True)
    edits, previous = [], None
    for token in tokenize.generate_tokens(io.StringIO(code).readline):
        if (token.type == tokenize.NAME and token.string in mapping and previous != "."
                and token.start not in keywords):
            edits.append((token.start, token.end, mapping[token.string]))
        fstring = token.type == tokenize.STRING and token.string.lower().lstrip("rb").startswith("f")
        if fstring and token.start[0] == token.end[0]:
            text = re.sub(r"\{(\w+)", lambda m: "{" + mapping.get(m.group(1), m.group(1)), token.string)
            edits.append((token.start, token.end, text))
        if token.type not in (tokenize.NL, tokenize.COMMENT):
            previous = token.string
    for (row, start), (_, end), new in reversed(edits):
        line = lines[row - 1]
        lines[row - 1] = line[:start] + new + line[end:]
    return "".join(lines)


def _simple(line: str) -> ast.stmt | None:
    """The statement of a line that is one whole simple statement (not a string), else None."""
    try:
        body = ast.parse(line.strip()).body
    except SyntaxError:
        return None
    if len(body) != 1 or isinstance(body[0], (ast.If, ast.For, ast.While, ast.With, ast.FunctionDef, ast.Return,
                                              ast.Raise, ast.Try, ast.Break, ast.Continue)):
        return None
    if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        return None
    return body[0]


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
        return True
    except SyntaxError:
        return False


def reformat(code: str) -> str:
    """Disguise (b): assignments' right-hand sides in parentheses over two lines, odd spacing, blank lines."""
    out = []
    for line in code.splitlines():
        match = re.match(r"^(\s*)([\w\[\]\"', .]+?)\s*=\s*(.+)$", line)
        statement = _simple(line)
        if match and isinstance(statement, ast.Assign) and _parses(match.group(3)):
            indent, target, value = match.groups()
            out.append(f"{indent}{target}   =(\n{indent}        {value.replace(', ', ' ,')}\n{indent}    )\n")
        else:
            out.append(line)
    result = "\n".join(out) + "\n"
    return result if _parses(result) else code


def comment(code: str, rng: random.Random | None = None) -> str:
    """Disguise (c): a comment on every simple statement, a comment line and a docstring in every block."""
    rng = rng or random.Random(0)
    notes = ["compute the update", "as in the lecture", "TODO check", "store it", "see the notes", "step"]
    out = []
    for line in code.splitlines():
        stripped = line.rstrip()
        if _simple(line) is not None:
            out.append(f"{stripped}  # {rng.choice(notes)}")
        elif stripped.endswith(":") and _parses(stripped.strip() + "\n    pass\n"):
            indent = re.match(r"\s*", line).group(0) + "    "
            out.append(stripped)
            if stripped.lstrip().startswith("def "):
                out.append(f'{indent}"""My implementation ({rng.choice(notes)})."""')
            out.append(f"{indent}# {rng.choice(notes)}")
        else:
            out.append(line)
    result = "\n".join(out) + "\n"
    return result if _parses(result) else code


def _names_of(statement: ast.stmt) -> set[str]:
    return {n.id for n in ast.walk(statement) if isinstance(n, ast.Name)} - _KEEP


def reorder(code: str, rng: random.Random | None = None) -> str:
    """Disguise (d): consecutive one-line statements of a block that share no variable, swapped."""
    rng = rng or random.Random(0)
    lines = code.splitlines()
    i = 0
    while i < len(lines) - 1:
        a, b = _simple(lines[i]), _simple(lines[i + 1])
        indent = lambda line: len(line) - len(line.lstrip())  # noqa: E731
        calls = [n for s in (a, b) if s is not None for n in ast.walk(s)
                 if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id not in _KEEP]
        if (a is not None and b is not None and not calls and indent(lines[i]) == indent(lines[i + 1])
                and not _names_of(a) & _names_of(b) and rng.random() < 0.9):
            lines[i], lines[i + 1] = lines[i + 1], lines[i]
            i += 2
        else:
            i += 1
    result = "\n".join(lines) + "\n"
    return result if _parses(result) else code


DISGUISES = {"rename": rename, "reformat": lambda code, rng=None: reformat(code), "comments": comment,
             "reorder": reorder}


def disguise_all(code: str, rng: random.Random | None = None) -> str:
    rng = rng or random.Random(0)
    return rename(comment(reformat(reorder(code, rng)), rng), rng)


def _grading_catalogues(course_root: Path):
    sys.path.insert(0, str(Path(course_root) / "tests" / "grading"))
    import ch1_4_alternatives as alt1_4
    import ch5_9_alternatives as alt5_9

    answers: dict[str, list] = {}
    for name, function in alt1_4.RIGHT_UPDATE_RULES:
        answers.setdefault(name, []).append(function)
    answers["minibatches"] = list(alt1_4.RIGHT_MINIBATCHES)
    answers["lr_range_test"] = list(alt1_4.RIGHT_LR_RANGE_TESTS)
    for name, functions in alt5_9.RIGHT_ANSWERS.items():
        answers.setdefault(name, []).extend(functions)
    return answers


def pasted(name: str, function) -> str:
    """A right answer of the catalogue as a student pastes it into the cell ``<name>_impl``."""
    code = CELL_HEADER + inspect.getsource(function).rstrip() + "\n"
    return code + (f"\n\n{name} = {function.__name__}\n" if function.__name__ != name else "")


class Assignment:
    """An assignment's source: its answer cells' model code and its release (as a JSON dict)."""

    def __init__(self, course_root: Path, name: str):
        source = nbformat.read(Path(course_root) / "exercises" / name / f"{name}.ipynb", as_version=4)
        self.name = name
        # the code answers (the report compares code; a written answer is read by an instructor)
        self.model = {c.metadata.nbgrader["grade_id"]: "\n".join(
            line for line in c.source.splitlines() if line.strip() not in (SOLUTION_BEGIN, SOLUTION_END))
            for c in source.cells if c.get("metadata", {}).get("nbgrader", {}).get("solution")
            and c.cell_type == "code"}
        self.release = json.loads(nbformat.writes(student_version(source)))
        self.stubs = {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"]) for c in self.release["cells"]
                      if c.get("metadata", {}).get("nbgrader", {}).get("solution")}

    def write(self, root: Path, student: str, cells: dict[str, str]) -> None:
        """``submitted/<student>/<name>/<name>.ipynb``: the release with ``cells`` (grade_id -> code) filled in."""
        notebook = dict(self.release, cells=[
            dict(c, source=cells[c["metadata"]["nbgrader"]["grade_id"]])
            if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") in cells else c
            for c in self.release["cells"]])
        folder = Path(root) / "submitted" / student / self.name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{self.name}.ipynb").write_text(json.dumps(notebook))


def planted_class(course_root: Path, name: str) -> dict[str, tuple[str, dict[str, str]]]:
    """``{student: (family, {grade_id: code})}``: one assignment's planted class (see the module's docstring).

    Families: ``model`` (the model answer, a renamed copy, a reordered copy), ``right_0`` (catalogue answers,
    a reformatted copy), ``right_1`` (catalogue answers, a commented copy and a copy with every disguise),
    and one family per remaining catalogue answer (that cell alone; the others left as released).
    """
    assignment, catalogue = Assignment(course_root, name), _grading_catalogues(course_root)
    # the functions with right answers written differently in the graders' catalogues (not the outcome tasks,
    # whose right answers are procedures with their own tests: their cells hold the model answer's code)
    functions = [g.removesuffix("_impl") for g in assignment.model if g.removesuffix("_impl") in catalogue]
    depth = min(len(catalogue[f]) for f in functions)
    rights = {k: {f"{f}_impl": pasted(f, catalogue[f][k]) for f in functions} for k in range(min(depth, 2))}
    cls = {"model": ("model", dict(assignment.model))}
    for k, cells in rights.items():
        cls[f"right_{k}"] = (f"right_{k}", cells)
    for f in functions:
        for k in range(min(depth, 2), len(catalogue[f])):
            cls[f"alt_{f}_{k}"] = (f"alt_{f}_{k}", {f"{f}_impl": pasted(f, catalogue[f][k])})
    copies = {"copy_rename": ("model", rename), "copy_reorder": ("model", reorder),
              "copy_reformat": ("right_0", DISGUISES["reformat"]), "copy_comments": ("right_1", comment),
              "copy_all": ("right_1", disguise_all)}
    for student, (family, disguise) in copies.items():
        original = cls[family][1]
        cls[student] = (family, {g: disguise(code, random.Random(f"{student}{g}")) for g, code in original.items()})
    return cls


def expected_pairs(cls: dict[str, tuple[str, dict]]) -> set[tuple[str, str]]:
    return {(a, b) for a, b in combinations(sorted(cls), 2) if cls[a][0] == cls[b][0]}


def _scores(found: set, expected: set, negatives: int) -> tuple[float, float]:
    precision = len(found & expected) / len(found) if found else 1.0
    return precision, len(found & expected) / len(expected) if expected else 1.0


def synthetic_class(course_root: Path, root: Path, students: int, seed: int = 0) -> set[tuple[str, str, str]]:
    """Write a class of ``students`` x every assignment into ``root``; return the planted (assignment, a, b)."""
    rng, catalogue = random.Random(seed), _grading_catalogues(course_root)
    names = sorted(p.name for p in (Path(course_root) / "exercises").iterdir() if (p / f"{p.name}.ipynb").exists())
    planted = set()
    for name in names:
        assignment = Assignment(course_root, name)
        shutil.copytree(Path(course_root) / "exercises" / name, root / "exercises" / name)
        answers = {}
        for s in range(students):
            cells = {}
            for grade_id, model in assignment.model.items():
                bases = [model] + [pasted(grade_id.removesuffix("_impl"), f)
                                   for f in catalogue.get(grade_id.removesuffix("_impl"), [])]
                code = rng.choice(bases)
                for disguise in rng.sample(list(DISGUISES.values()), rng.randrange(len(DISGUISES) + 1)):
                    code = disguise(code, rng)
                own = "\n".join(f"{rng.choice(['scale', 'check', 'n_seen'])}_{j} = {rng.randrange(10 ** 6)}"
                                for j in range(2))
                cells[grade_id] = f"{code.rstrip()}\n\n{own}\n"
            answers[f"s{s:03d}"] = cells
        for a, b in zip(*[iter(rng.sample(sorted(answers), 6))] * 2):
            answers[b] = {g: disguise_all(code, rng) for g, code in answers[a].items()}
            planted.add((name, *sorted((a, b))))
        for student, cells in answers.items():
            assignment.write(root, student, cells)
    return planted


def bench_similarity(course_root: Path, students: int = 300, keep: bool = False) -> int:
    work = Path(tempfile.mkdtemp(prefix="bench_similarity_"))
    try:
        found_all, expected_all = set(), set()
        for name in PLANTED_ASSIGNMENTS:
            root = work / f"planted_{name}"
            shutil.copytree(Path(course_root) / "exercises" / name, root / "exercises" / name)
            cls = planted_class(course_root, name)
            for student, (_, cells) in cls.items():
                Assignment(course_root, name).write(root, student, cells)
            report = similarity(root, [name])
            found_all |= {(name, p.student_a, p.student_b) for p in report.pairs}
            expected_all |= {(name, a, b) for a, b in expected_pairs(cls)}
        p_planted, r_planted = _scores(found_all, expected_all, 0)
        missed = sorted(expected_all - found_all)
        false = sorted(found_all - expected_all)
        synthetic = work / "synthetic"
        planted = synthetic_class(course_root, synthetic, students)
        names = sorted(p.name for p in (synthetic / "exercises").iterdir())
        start = time.perf_counter()
        report = similarity(synthetic, names)
        seconds = time.perf_counter() - start
        found = {(p.assignment, p.student_a, p.student_b) for p in report.pairs}
        p_synth, r_synth = _scores(found, planted, 0)
        print(f"{'':32}{'precision':>10}{'recall':>8}{'pairs':>7}{'seconds':>9}")
        print(f"{'planted (01_sgd, 02_momentum)':32}{p_planted:10.2f}{r_planted:8.2f}{len(expected_all):7d}")
        print(f"{f'synthetic ({students} x {len(names)})':32}{p_synth:10.2f}{r_synth:8.2f}{len(planted):7d}"
              f"{seconds:9.1f}")
        for label, rows in (("missed", missed), ("false", false), ("synthetic missed", sorted(planted - found)),
                            ("synthetic false", sorted(found - planted))):
            if rows:
                print(f"{label}: {', '.join(' '.join(r) for r in rows[:10])}")
        return 0
    finally:
        if keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
