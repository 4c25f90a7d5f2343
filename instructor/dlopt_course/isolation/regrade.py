"""Run a submission once: the student's code in the sandbox, the tests here, every output kept.

For one (sanitized) submitted notebook and the instructor's source notebook of its assignment:

1. The **grader's namespace** is built here, in the grader's process, from the source notebook's setup
   cells (the code cells before the first solution cell: the instructor's imports).
2. The student's code runs in a :class:`~dlopt_course.isolation.sandbox.Sandbox` (a process the kernel
   confines): every code cell of the submission in order, except the test cells (recognised by their
   ``grade_id``) and cells left exactly as released (setup and experiment cells, which define nothing
   the tests use). A cell that fails is noted; the next one runs, as in a notebook. What a cell prints
   (bounded) becomes its output.
3. Each test cell runs **here**, from the *source* notebook's text (hidden tests included; the
   submission's copy of a test cell is never read), at the position where the submission has it. The
   names it needs that the grader's namespace lacks (the student's functions) are fetched from the
   sandbox: functions become :class:`~dlopt_course.isolation.sandbox.RemoteFunction` proxies, values
   arrive as plain data. The cell scores zero if it raises, its points if it shows nothing, and partial
   credit if its last line shows a number (an outcome check returns the points it earned), as nbgrader
   scores it; its output is what it printed, the number it showed and the diagnosis (never a frame of
   the grader's code).
4. Time: a limit per cell, a budget per submission; what ran out of time is never run again.

So the verdict depends only on the plain values the student's functions return: no tampering inside the
student's process (with numpy, IPython, the grading module or the test cells) can change it, and the
outputs -- the feedback -- hold only what the student's code printed and the checks' diagnoses.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import io
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .policy import sandbox_paths
from .sandbox import LIMIT_EVENTS, MAX_OUTPUT, Sandbox, SandboxError, StudentError, forget_student_lines, shared_zygote

HIDDEN_MARKERS = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
#: Characters of printed output kept for a whole submission (each cell keeps at most ``MAX_OUTPUT`` too).
MAX_PRINTED = 500_000
#: The note the student's process (and the sandbox) put where they stopped keeping a request's output.
_NOT_KEPT = re.compile(r"\[\.\.\. \d+ more characters of output not kept\]")


@dataclass
class CellVerdict:
    grade_id: str
    points: float
    max_points: float
    message: str = ""  # the diagnosis when the cell failed
    seconds: float = 0.0  # how long the check ran (the student's calls included)

    @property
    def passed(self) -> bool:
        return self.points == self.max_points


@dataclass
class RegradeResult:
    cells: dict[str, CellVerdict] = field(default_factory=dict)
    #: index of a code cell of the submission -> its outputs (nbformat output dicts: streams, an error)
    outputs: dict[int, list] = field(default_factory=dict)
    refused: list[tuple[str, str]] = field(default_factory=list)  # what the sandbox refused or the kernel stopped
    student_errors: list[str] = field(default_factory=list)       # cells of the student that failed
    timed_out: list[str] = field(default_factory=list)            # what ran out of time, and the budget
    seconds: float = 0.0

    @property
    def score(self) -> float:
        return sum(cell.points for cell in self.cells.values())

    @property
    def max_score(self) -> float:
        return sum(cell.max_points for cell in self.cells.values())


def _nbgrader(cell) -> dict:
    metadata = cell.get("metadata", {}).get("nbgrader", {})
    return metadata if isinstance(metadata, dict) else {}


def _text(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def strip_hidden_markers(source: str) -> str:
    return "\n".join(line for line in source.splitlines() if line.strip() not in HIDDEN_MARKERS)


@dataclass
class AssignmentTests:
    """What the regrade takes from the instructor's source notebook."""

    setup: list[str]                       # code cells before the first solution cell
    tests: dict[str, tuple[str, float]]    # grade_id -> (source with hidden tests, points), in order
    released: set[str]                     # sources of non-solution code cells (left as released)

    @classmethod
    def from_notebook(cls, source_notebook) -> "AssignmentTests":
        setup, tests, released, seen_solution = [], {}, set(), False
        for cell in source_notebook.cells:
            if cell.get("cell_type") != "code":
                continue
            meta, text = _nbgrader(cell), _text(cell)
            if meta.get("solution"):
                seen_solution = True
                continue
            if meta.get("grade") and meta.get("grade_id"):
                tests[meta["grade_id"]] = (strip_hidden_markers(text), float(meta.get("points", 0) or 0))
                continue
            released.add(text.strip())
            if not seen_solution:
                setup.append(text)
        return cls(setup, tests, released)


def _transform(source: str) -> str:
    """IPython syntax (``%magic``, ``!cmd``) as plain Python calling ``get_ipython()``."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 (the child's compile() reports the error)
        return source


def _loaded_names(source: str) -> list[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
    return sorted(name for name in names if not hasattr(builtins, name))


def _diagnosis(error: BaseException) -> str:
    try:
        message = str(error)
    except Exception:  # noqa: BLE001
        message = ""
    name = type(error).__name__
    text = f"{name}: {message}" if message else name
    where = getattr(error, "student_traceback", "")
    return (text + (f"\n{where}" if where else ""))[:4000]


def _stream(name: str, text: str) -> dict:
    return {"output_type": "stream", "name": name, "text": text}


def _error_output(error: BaseException | str) -> dict:
    """An nbformat error output holding only the diagnosis (never a frame of the grader's code).

    ``ename``/``evalue`` are the exception's type and whole message (where the checks write their
    diagnosis); the traceback shows only the student's lines where the error happened.
    """
    if isinstance(error, str):
        name, _, value = error.partition(": ")
        where: list[str] = []
    else:
        name, value = type(error).__name__, _message(error)
        if isinstance(error, StudentError):  # the student's own exception type, named in its message
            name, _, value = value.partition(": ")
        where = str(getattr(error, "student_traceback", "") or "").splitlines()
    return {"output_type": "error", "ename": name[:100] or "Error", "evalue": value[:4000],
            "traceback": [f"{name}: {value}"[:4000], *where[-8:]]}


def _message(error: BaseException) -> str:
    try:
        return str(error)
    except Exception:  # noqa: BLE001
        return "<the exception's message could not be shown>"


def regrade_notebook(source_notebook, submitted_notebook, course_root: Path, scratch: Path, *,
                     timeout: float = 120.0, budget: float | None = None, limits: dict | None = None,
                     extra_deny: list[str] = (), zygote_dir: Path | None = None,
                     confine: bool = True) -> RegradeResult:
    """Run ``submitted_notebook`` once against the tests of ``source_notebook`` (see the module docstring).

    ``timeout``: seconds per cell; ``budget``: seconds for the whole submission (default 1.5 x ``timeout``).
    A cell that times out is never run again (not when the process restarts, not by a later test), a
    function that timed out is not called again, and once the budget is spent the remaining test cells
    score zero without running. Returns the verdict of every test cell and the outputs of every cell run.
    """
    started = time.monotonic()
    budget = 1.5 * timeout if budget is None else budget
    spec = AssignmentTests.from_notebook(source_notebook)
    result = RegradeResult()
    grader_namespace: dict = {"__name__": "__grader__"}
    for text in spec.setup:
        exec(compile(text, "<setup>", "exec"), grader_namespace)  # the instructor's cell: trusted

    plan: list[tuple[str, str, int]] = []  # ("student", source, index) or ("test", grade_id, index)
    placed: set[str] = set()
    for index, cell in enumerate(getattr(submitted_notebook, "cells", [])):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        grade_id = _nbgrader(cell).get("grade_id")
        if grade_id in spec.tests:
            if grade_id not in placed:
                placed.add(grade_id)
                plan.append(("test", grade_id, index))
            continue
        text = _text(cell)
        if text.strip() and text.strip() not in spec.released:
            plan.append(("student", text, index))
    plan += [("test", grade_id, -1) for grade_id in spec.tests if grade_id not in placed]

    def left() -> float:
        return budget - (time.monotonic() - started)

    printed_so_far = [0]
    stopped_by: dict[str, str] = {}  # the first time each limit stopped something: limit -> what

    def reached(limit: str, what: str) -> None:
        assert limit in LIMIT_EVENTS, limit
        stopped_by.setdefault(limit, what)

    def spend(text: str) -> str:
        """``text``, cut where the submission's printed output reaches ``MAX_PRINTED`` characters in all."""
        if _NOT_KEPT.search(text):
            reached("output limit", f"a request printed more than {MAX_OUTPUT} characters; the rest was not kept")
        before = printed_so_far[0]
        printed_so_far[0] += len(text)
        if printed_so_far[0] <= MAX_PRINTED:
            return text
        reached("output limit", f"the submission printed more than {MAX_PRINTED} characters; the rest was not kept")
        if before > MAX_PRINTED:
            return ""
        return text[:MAX_PRINTED - before] + (f"\n[output not kept: the submission printed more than {MAX_PRINTED} "
                                              "characters in all]\n")

    sys_path, policy = sandbox_paths(course_root, extra_deny)
    # with a zygote_dir, students' processes are forked from a zygote that imported the setup once
    zygote = shared_zygote(spec.setup, sys_path, zygote_dir) if zygote_dir is not None else None
    with Sandbox(setup=spec.setup, policy=policy, sys_path=sys_path, scratch=scratch, limits=limits,
                 zygote=zygote, confine=confine) as box:
        box.start()  # the zygote's and the process's start are the grader's time, not the submission's budget
        started = time.monotonic()
        ran: list[str] = []  # the student's cells that finished (or failed) in time: replayed after a restart
        for kind, item, index in plan:
            if kind == "student":
                if left() <= 0:
                    result.outputs[index] = [_stream("stderr", "[not run: the submission's time budget is spent]\n")]
                    reached("time budget", f"the submission used its whole time budget ({budget:.0f} s); the rest "
                                           "was not run")
                    continue
                limit = min(timeout, left())
                error = box.run_cell(_transform(item), str(index), limit)
                out, err = box.take_output()
                outputs = [_stream(name, text) for name, text in (("stdout", spend(out)), ("stderr", spend(err))) if text]
                if error is not None:
                    outputs.append(_error_output(error))
                    result.student_errors.append(f"cell {index}: {_diagnosis(error).splitlines()[0]}")
                    if isinstance(error, SandboxError):  # it timed out or ended the process: never run again
                        if "timed out" in str(error):
                            result.timed_out.append(f"cell {index} (limit {limit:.0f} s)")
                            reached("time limit", f"cell {index} ran past its {limit:.0f} s and was stopped")
                        result.outputs[index] = outputs
                        continue
                result.outputs[index] = outputs
                ran.append(item)
                continue
            source, points = spec.tests[item]
            if left() <= 0:
                message = (f"TimeoutError: not run: the submission used its whole time budget ({budget:.0f} s) "
                           "before this check")
                result.cells[item] = CellVerdict(item, 0.0, points, message)
                result.outputs[index] = [_error_output(message)]
                reached("time budget", f"the submission used its whole time budget ({budget:.0f} s); the rest "
                                       "was not run")
                continue
            if not box.alive:  # a cell or test before killed it or timed out: start again, replay the cells
                box.start()
                for number, text in enumerate(ran, start=1):
                    box.run_cell(_transform(text), f"replay {number}", max(0.1, min(timeout, left())))
                box.take_output()
            limit = min(timeout, left())
            verdict, printed, error, shown = _run_test(box, item, source, points, grader_namespace, limit)
            if "timed out" in verdict.message:
                result.timed_out.append(f"{item} (limit {limit:.0f} s)")
                reached("time limit", f"the check {item} ran past its {limit:.0f} s and was stopped")
            result.cells[item] = verdict
            out, err = box.take_output()
            # what the student's code printed to stderr during a check is shown as stdout: nbgrader scores a
            # test cell with any stderr output zero, and printing is no mistake
            text = spend(printed + out + err)
            outputs = [_stream("stdout", text)] if text else []
            if shown is not None:
                outputs.append(_execute_result(shown))
            if error is not None:
                outputs.append(_error_output(error))
            result.outputs[index] = outputs
        result.refused = list(box.refused) + list(stopped_by.items())
        if box.refused_more:
            result.refused.append(("more refusals", f"{box.refused_more} more refusals were not kept"))
    forget_student_lines()
    result.seconds = time.monotonic() - started
    return result


def _run_test(box: Sandbox, grade_id: str, source: str, points: float, grader_namespace: dict,
              timeout: float) -> tuple[CellVerdict, str, BaseException | None, str | None]:
    """Run one test cell here, calling the student's functions in ``box``: ``(verdict, printed, error, shown)``.

    ``shown`` is the text IPython would show as the cell's result (``repr`` of the value of a last line
    that is an expression, unless it is ``None``); it decides partial credit (:func:`partial_points`).
    """
    namespace = dict(grader_namespace)
    wanted = [name for name in _loaded_names(source) if name not in namespace]
    printed = io.StringIO()
    body, last = _split_last_expression(source)
    shown = None
    started = time.monotonic()
    try:
        namespace.update(box.get(wanted))
        box.deadline = time.monotonic() + timeout
        with contextlib.redirect_stdout(printed):
            exec(compile(body, f"<test {grade_id}>", "exec"), namespace)
            if last is not None:
                value = eval(compile(last, f"<test {grade_id}>", "eval"), namespace)
                shown = None if value is None else repr(value)
    except Exception as error:  # noqa: BLE001 (any failure of the test cell scores zero, as in nbgrader)
        return (CellVerdict(grade_id, 0.0, points, _diagnosis(error), time.monotonic() - started),
                printed.getvalue()[:20_000], error, None)
    finally:
        box.deadline = None
    earned = points if shown is None else partial_points(shown, points)
    # a check that gave partial credit printed its diagnosis (which instances failed, and how)
    message = printed.getvalue()[:4000] if earned < points else ""
    verdict = CellVerdict(grade_id, earned, points, message, seconds=time.monotonic() - started)
    return verdict, printed.getvalue()[:20_000], None, shown


def _split_last_expression(source: str) -> tuple[ast.Module, ast.Expression | None]:
    """The cell without its last statement if that is an expression (IPython shows its value), and that expression."""
    tree = ast.parse(source)
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
        return tree, last
    return tree, None


def partial_points(shown: str, max_points: float) -> float:
    """The points of a test cell that showed ``shown``, by nbgrader's rule (``nbgrader.utils.get_partial_grade``).

    A number from 0 to ``max_points`` is the cell's score; text that is no number, or a negative one,
    leaves the cell its full points. A number above ``max_points`` stops nbgrader's autograde with an
    error; here it scores zero.
    """
    try:
        value = float(shown)
    except ValueError:
        return max_points
    if value < 0:
        return max_points
    return value if value <= max_points else 0.0


def _execute_result(shown: str) -> dict:
    return {"output_type": "execute_result", "execution_count": None, "metadata": {}, "data": {"text/plain": shown}}


def regrade_file(source_path: Path, submitted_path: Path, course_root: Path, scratch: Path, **options) -> RegradeResult:
    """:func:`regrade_notebook` of two notebook files (an unreadable submission raises ``ValueError``)."""
    source = nbformat.read(Path(source_path), as_version=4)
    try:
        submitted = nbformat.read(Path(submitted_path), as_version=4)
    except Exception as error:  # noqa: BLE001
        raise ValueError(f"{submitted_path} is not a readable notebook: {error}") from None
    return regrade_notebook(source, submitted, course_root, scratch, **options)
