"""Your own functions, taken from your assignment notebooks, for the chapters you run yourself.

Each chapter of the book can be downloaded as a notebook (the link at the top of its page). Where the book
calls the course's functions (``sgd``, ``adam``, ``batchnorm_forward``, ...), the downloaded notebook calls
**yours**: the ones you wrote in the assignment notebooks::

    from dlopt.yours import functions_from
    sgd, minibatches = functions_from("01_sgd", "sgd", "minibatches")

:func:`functions_from` finds ``01_sgd.ipynb`` (next to the chapter, in a folder ``01_sgd/`` there or one
level up, or in your home: where the Assignment List puts it), runs the cells that define things (the
setup and your answer cells, and after them only cells of imports, definitions and assignments; never the
checks or the experiments) in a namespace of its own, and returns the functions you asked for. A function you have not
written yet still raises ``NotImplementedError``; calling it says which one, and where to write it.
Set the environment variable ``DLOPT_ASSIGNMENTS`` to a folder to look there first.
"""

from __future__ import annotations

import ast
import functools
import json
import os
from pathlib import Path

__all__ = ["NotWrittenYet", "find_assignment", "functions_from"]

#: statements a cell may hold and still be run to collect definitions (no loops, no bare calls: experiments)
_DEFINING = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef, ast.Assign, ast.AnnAssign)

_loaded: dict[tuple[str, float], dict] = {}


class NotWrittenYet(NotImplementedError):
    """A function of yours that still raises ``NotImplementedError`` (its stub)."""


def find_assignment(assignment: str) -> Path:
    """The path of ``<assignment>.ipynb``: in ``$DLOPT_ASSIGNMENTS``, the current folder, ``<assignment>/``
    there or one level up, or your home (``~/<assignment>/``, where JupyterHub's Assignment List puts it)."""
    name = f"{assignment}.ipynb"
    here, home = Path.cwd(), Path.home()
    places = [here / name, here / assignment / name, here.parent / assignment / name, home / assignment / name,
              home / name]
    if os.environ.get("DLOPT_ASSIGNMENTS"):
        folder = Path(os.environ["DLOPT_ASSIGNMENTS"])
        places = [folder / name, folder / assignment / name, *places]
    for place in places:
        if place.is_file() and not _is_chapter(place):
            return place
    raise FileNotFoundError(f"{name} not found; looked in:\n" + "\n".join(f"  {place}" for place in places)
                            + "\nPut this chapter's notebook next to your assignment notebooks, or set "
                              "DLOPT_ASSIGNMENTS to the folder that holds them.")


def _is_chapter(path: Path) -> bool:
    """Whether ``path`` is a downloaded chapter (its metadata says so), never an assignment."""
    try:
        return bool(json.loads(path.read_text(encoding="utf-8")).get("metadata", {}).get("dlopt", {}).get("chapter"))
    except (OSError, ValueError, AttributeError):
        return False


def _defines_only(source: str) -> bool:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    return bool(tree.body) and all(isinstance(node, _DEFINING) or
                                   (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
                                   for node in tree.body)


def _is_answer(cell: dict) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution"))


def _is_check(cell: dict) -> bool:
    nbgrader = cell.get("metadata", {}).get("nbgrader", {})
    return bool(nbgrader.get("grade")) and not nbgrader.get("solution")


def _namespace(path: Path) -> dict:
    """Run the defining cells of the notebook at ``path`` once per saved version; their namespace."""
    key = (str(path.resolve()), path.stat().st_mtime)
    if key not in _loaded:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        namespace: dict = {"__name__": f"dlopt.yours:{path.stem}"}
        last_answer = max((number for number, cell in enumerate(cells, start=1) if _is_answer(cell)), default=0)
        for number, cell in enumerate(cells, start=1):
            if cell.get("cell_type") != "code" or _is_check(cell):
                continue
            source = "".join(cell.get("source", []))
            if number > last_answer and not _defines_only(source):
                continue  # an experiment after the answers
            try:
                exec(compile(source, f"{path.name}, cell {number}", "exec"), namespace)  # noqa: S102 (your own code)
            except Exception as error:
                raise RuntimeError(f"cell {number} of {path} failed ({type(error).__name__}: {error}); fix it "
                                   "there (Run All in the assignment shows it), save, and run this cell again") \
                    from error
        _loaded[key] = namespace
    return _loaded[key]


def _yours(function, name: str, path: Path):
    @functools.wraps(function)
    def call(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except NotWrittenYet:
            raise
        except NotImplementedError as error:
            raise NotWrittenYet(f"{name} is not written yet: it still raises NotImplementedError in {path}. "
                                "Write it there, save the notebook, and run this cell again.") from error

    return call


def functions_from(assignment: str, *names: str):
    """Your functions ``names`` from your notebook ``<assignment>.ipynb`` (see :func:`find_assignment`).

    Returns one function for one name, else a tuple in the order asked. Raises ``FileNotFoundError`` (no
    notebook), ``RuntimeError`` (a cell that defines things fails) or ``NameError`` (a name the notebook does
    not define); calling a function you have not written yet raises :class:`NotWrittenYet`.
    """
    path = find_assignment(assignment)
    namespace = _namespace(path)
    found = []
    for name in names:
        if not callable(namespace.get(name)):
            raise NameError(f"{path} defines no function {name!r}: is its answer cell still there?")
        found.append(_yours(namespace[name], name, path))
    return found[0] if len(found) == 1 else tuple(found)
