"""The instructor's tool as its own package: what the reference pulls in, the tool's import graph, its
module sizes, and its command line (``--help`` on every subcommand, ``--version``, exit codes)."""

from __future__ import annotations

import ast
import io
import re
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest

import dlopt_course
from dlopt_course.cli import build_parser, main

TOOL = Path(dlopt_course.__file__).resolve().parent
REPOSITORY = Path(__file__).resolve().parents[2]
#: A module longer than this states at its top why it is one module (a line "One module because ...").
MAX_LINES = 400
SUBCOMMANDS = ("build-book", "bench-build", "release", "leak-check", "import-submissions", "grade", "bench-grading",
               "bench-outcomes", "rubrics", "export", "similarity", "bench-similarity", "feedback-example",
               "hub-setup")


def _modules() -> dict[str, Path]:
    """``{dotted name: file}`` of every module of the tool."""
    found = {}
    for path in sorted(TOOL.rglob("*.py")):
        parts = path.relative_to(TOOL.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The tool's modules that ``name`` imports, at its top or inside a function (``from . import x`` included)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # ``from . import confine`` imports the module confine; ``from .course import X`` the module course
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        found |= {target for target in targets if target in known and target != name}
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), and modules importing themselves."""
    index, low, stack, on_stack, components = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return components


def test_importing_the_reference_loads_nothing_of_the_tool():
    """``dlopt_reference`` and its graders load no tool, no nbgrader, no sandbox, no progress bars."""
    code = ("import pkgutil, importlib, sys, dlopt_reference\n"
            "for m in pkgutil.walk_packages(dlopt_reference.__path__, 'dlopt_reference.'):\n"
            "    importlib.import_module(m.name)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('dlopt_course', 'nbgrader', 'tqdm', 'nbconvert', 'jupyter_book')))\n"
            "print(len([m for m in sys.modules if m.startswith('dlopt_reference.')]))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    loaded, reference_modules = result.stdout.strip().splitlines()
    assert loaded == "[]"
    assert int(reference_modules) >= 10  # the walk did import the reference's modules (graders included)


def test_the_reference_package_holds_no_tool():
    import dlopt_reference

    reference = Path(dlopt_reference.__file__).resolve().parent
    assert not (reference / "course").exists() and not (reference / "isolation").exists()
    sources = "\n".join(path.read_text() for path in reference.rglob("*.py"))
    assert "dlopt_course" not in sources and "import nbgrader" not in sources and "from nbgrader" not in sources


def test_the_cycle_finder_finds_a_planted_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_of_the_tool_imports_a_module_that_imports_it_back():
    modules = _modules()
    graph = {name: _imports(name, path, set(modules)) for name, path in modules.items()}
    assert graph["dlopt_course.grading.schedule"] >= {"dlopt_course.grading.prepare", "dlopt_course.grading.merge"}
    assert _cycles(graph) == []


def test_long_modules_say_why_they_are_one_module():
    long = {}
    for name, path in _modules().items():
        lines = path.read_text().splitlines()
        if len(lines) > MAX_LINES:
            docstring = ast.get_docstring(ast.parse(path.read_text())) or ""
            if "One module because" not in docstring:
                long[name] = len(lines)
    assert long == {}, f"over {MAX_LINES} lines with no reason stated at the top: {long}"


HISTORY = re.compile(r"\bissues?\s*#?\s*\d+|\bas before\b|\bpreviously\b|\bused to (be|do)\b|"
                     r"\bthis session\b|\bwas added\b", re.IGNORECASE)


def _comments_and_docstrings(path: Path) -> list[tuple[int, str]]:
    source = path.read_text()
    found = [(token.start[0], token.string) for token in tokenize.generate_tokens(io.StringIO(source).readline)
             if token.type == tokenize.COMMENT]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            docstring = ast.get_docstring(node)
            if docstring:
                found.append((getattr(node, "lineno", 1), docstring))
    return found


def test_the_history_finder_finds_planted_history(tmp_path):
    planted = tmp_path / "m.py"
    planted.write_text('"""Grading, as before issue 5."""\nx = 1  # added for Issue #12\ny = "issue 3"\n')
    assert [row for row, text in _comments_and_docstrings(planted) if HISTORY.search(text)] == [2, 1]


def test_no_comment_or_docstring_tells_the_code_s_history():
    """Comments and docstrings say what the code does and why, never which issue added it."""
    found = [f"{path.relative_to(REPOSITORY)}:{row}: {text.strip()[:100]}"
             for path in [*TOOL.rglob("*.py"), *(REPOSITORY / "solutions").rglob("*.py")]
             for row, text in _comments_and_docstrings(path) if HISTORY.search(text)]
    assert found == [], "\n".join(found)


def test_every_subcommand_answers_help_and_is_listed(capsys):
    parser = build_parser()
    listed = set(parser._subparsers._group_actions[0].choices)
    assert listed == set(SUBCOMMANDS)
    for command in SUBCOMMANDS:
        with pytest.raises(SystemExit) as done:
            main([command, "--help"])
        assert done.value.code == 0, command
        text = capsys.readouterr().out
        assert f"dlopt-course {command}" in text and "exit codes: 0 done" in text, command


def test_version_and_exit_codes(tmp_path, capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"dlopt-course {dlopt_course.__version__}"
    with pytest.raises(SystemExit) as done:  # an unknown subcommand: could not run
        main(["no-such-command"])
    assert done.value.code == 2
    with pytest.raises(SystemExit) as done:  # not a course folder: could not run, and says so
        main(["--root", str(tmp_path), "grade", "01_sgd"])
    assert done.value.code == 2 and "not an nbgrader course folder" in capsys.readouterr().err
    planted = tmp_path / "page.html"
    planted.write_text("<p>### BEGIN SOLUTION</p>")
    assert main(["--root", str(REPOSITORY), "leak-check", str(planted)]) == 1  # ran, found a problem
    clean = tmp_path / "clean.txt"
    clean.write_text("nothing to see\n")
    assert main(["--root", str(REPOSITORY), "leak-check", str(clean)]) == 0


def test_the_console_script_is_installed_and_runs():
    """``requirements.txt`` installs the command; it runs the same ``main``."""
    script = Path(sys.executable).with_name("dlopt-course")
    assert script.is_file(), f"no {script}: is `-e ./instructor` in requirements.txt installed?"
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == f"dlopt-course {dlopt_course.__version__}"
    result = subprocess.run([sys.executable, "-m", "dlopt_course", "--version"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0 and dlopt_course.__version__ in result.stdout
