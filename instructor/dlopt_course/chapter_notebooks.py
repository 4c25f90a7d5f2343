"""Each chapter as a notebook a student can run: the book's code on the student's own functions.

The chapters (``book/NN_*.md``, MyST notebooks) call the course's functions from ``dlopt_reference``, which
students never have. :func:`chapter_notebook` turns a chapter into an ``.ipynb`` in which every such import
becomes a call of the student package's :func:`dlopt.yours.functions_from`, which takes the function from
the student's assignment notebook that asks for it::

    from dlopt_reference.optim import sgd, sgd_momentum      # in the book
    sgd = functions_from("01_sgd", "sgd")                     # in the download
    sgd_momentum = functions_from("02_momentum", "sgd_momentum")

Which assignment asks for a function is read from the source assignments (the ``def`` lines of their
answer cells). A chapter that imports anything of ``dlopt_reference`` that no assignment asks students to
write cannot become a student notebook, and the build stops, naming it. The notebooks are written into
``book/_notebooks/`` (git-ignored) before the book is built; each chapter page links its own with
Sphinx's ``{download}`` role, so the release's leak check reads them like every other download.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat

from .notebooks import source_assignments

#: Where the chapter notebooks go inside the book (made at build time).
NOTEBOOKS_DIR = Path("book") / "_notebooks"

_DEF = re.compile(r"^(?:def|class) (\w+)\b", re.M)

INTRODUCTION = """\
**This chapter runs on your own functions.** Where the book uses the course's implementations, this notebook
uses yours, taken from your assignment notebooks by `dlopt.yours.functions_from`. Put it in the folder that holds
your assignment notebooks (or their folders, such as `01_sgd/`), in the course's environment. A function you have
not written yet stops the cell that calls it with a message naming it; your results may differ from the book's
where your functions do."""


def function_homes(course_root: Path) -> dict[str, str]:
    """``{name: assignment}`` for every function (and class) an answer cell of a source assignment defines."""
    homes = {}
    for path in source_assignments(course_root):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
                for name in _DEF.findall(cell.source):
                    homes.setdefault(name, path.stem)
    return homes


def _student_imports(names: list[str], homes: dict[str, str], where: str) -> list[str]:
    missing = [name for name in names if name not in homes]
    if missing:
        raise ValueError(f"{where} imports {', '.join(missing)} from dlopt_reference, which no assignment asks "
                         "students to write: define it in the chapter, or move it to the dlopt package")
    by_assignment: dict[str, list[str]] = {}
    for name in names:
        by_assignment.setdefault(homes[name], []).append(name)
    lines = []
    for assignment, group in by_assignment.items():
        quoted = ", ".join(f'"{name}"' for name in group)
        lines.append(f'{", ".join(group)} = functions_from("{assignment}", {quoted})  # yours')
    return lines


def rewrite_cell(source: str, homes: dict[str, str], where: str) -> str:
    """``source`` with each ``from dlopt_reference... import ...`` replaced by the student's functions."""
    tree = ast.parse(source)
    imports = [node for node in tree.body if isinstance(node, ast.ImportFrom) and node.module
               and node.module.split(".")[0] == "dlopt_reference"]
    if not imports:
        if "dlopt_reference" in source:
            raise ValueError(f"{where} uses dlopt_reference other than by `from dlopt_reference.m import f`")
        return source
    lines = source.splitlines()
    for node in reversed(imports):
        names = [alias.name for alias in node.names]
        if any(alias.asname for alias in node.names):
            raise ValueError(f"{where}: `import ... as ...` from dlopt_reference is not supported")
        lines[node.lineno - 1:node.end_lineno] = _student_imports(names, homes, where)
    first = imports[0].lineno - 1
    lines.insert(first, "from dlopt.yours import functions_from")
    return "\n".join(lines)


def chapter_notebook(chapter: Path, homes: dict[str, str]) -> nbformat.NotebookNode:
    """The student notebook of the MyST chapter ``chapter`` (no outputs; see the module's docstring)."""
    import jupytext

    notebook = jupytext.read(chapter)
    for number, cell in enumerate(notebook.cells, start=1):
        if cell.cell_type == "code":
            cell.source = rewrite_cell(cell.source, homes, f"{chapter.name}, cell {number}")
            cell.outputs, cell.execution_count = [], None
    notebook.cells.insert(0, nbformat.v4.new_markdown_cell(INTRODUCTION))
    notebook.metadata.pop("jupytext", None)
    notebook.metadata["dlopt"] = {"chapter": chapter.stem}  # dlopt.yours never takes it for an assignment
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for number, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{number}"  # fixed ids: the same chapter gives the same file
    return notebook


def chapter_file_name(chapter: str) -> str:
    """``02_momentum`` -> ``02_momentum_chapter.ipynb``: never the name of the assignment notebook beside it."""
    return f"{chapter}_chapter.ipynb"


def write_chapter_notebooks(course_root: Path) -> list[Path]:
    """Write ``book/_notebooks/<chapter>_chapter.ipynb`` for every chapter ``book/NN_*.md``; unchanged files are left
    as they are (a rebuild does not copy them again); return the paths."""
    course_root = Path(course_root)
    homes = function_homes(course_root)
    out_dir = course_root / NOTEBOOKS_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for chapter in sorted((course_root / "book").glob("[0-9][0-9]_*.md")):
        text = nbformat.writes(chapter_notebook(chapter, homes)) + "\n"
        target = out_dir / chapter_file_name(chapter.stem)
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
        written.append(target)
    for stale in set(out_dir.iterdir()) - set(written):
        stale.unlink()
    return written
