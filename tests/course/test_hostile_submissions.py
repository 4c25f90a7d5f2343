"""Hostile submissions: each attack first works against stock ``nbgrader autograde``, then ``grade`` stops it.

Every attack in ``ATTACKS`` and ``FOLDER_ATTACKS`` has an *effect* (``EFFECTS``): a predicate on the outcome
of a grading run that is true when the attack succeeded (a score above its base, a bystander's gradebook
row or file changed, a reference line in the attacker's notebook, a process left running, a connection
received, ...). Two tests per attack:

- ``test_attack_works_against_stock_nbgrader[name]``: the attack is graded by stock ``nbgrader autograde``
  (as the same unprivileged account, in a separate copy of the course; attacks that would spoil the others
  -- deleting files, killing the grader, timing -- each in a fresh copy of their own) and its effect holds;
- ``test_attack_is_stopped_by_grade[name]``: the same attack, graded by ``dlopt-course
  grade`` (as the unprivileged account ``tests/unprivileged.py`` provides), and its effect does not hold.

``ROBUSTNESS`` holds inputs with no effect against stock nbgrader that a test could show (see its
comment): they target the project's own grader machinery, or stock nbgrader already handles them. The
grader must survive them, score them as their base and keep its terminal and log clean.

Graded by ``grade`` in one class: honest bystanders (``model``, ``wrong``) first; then every attacker and
robustness input (one submission added to a blank or a wrong answer, its *base*, graded too), the
submission folders that attack with their files, and right answers written as students write them.
Besides the effects, the tests check that every attacker whose notebook could be read is scored, that
nothing of an attacker reaches the grader's terminal, that time and output are bounded, that each attack
is recorded as an incident naming the student, and that honest students have none.

The kernel's part of the boundary (what holds when the audit hook that names incidents is walked
around) is attacked directly, without the hook, in ``tests/grading/test_confine.py``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from dlopt_course.integrity import INCIDENTS_NAME, read_incidents
from dlopt_course.nbgrader_course import NbgraderCourse
from dlopt_course.submissions import model_answer, replace_in_solution
from unprivileged import grader_account, hand_over, run_as_grader, world_folder

ASSIGNMENT = "01_sgd"
CELL_TIMEOUT = 10  # seconds per cell (c.Execute.timeout); the budget of a submission is 1.5 times that
WRONG = replace_in_solution("sgd_impl", 'w - config["learning_rate"] * dw', 'w + config["learning_rate"] * dw')
FAKE = "FAKE-SUMMARY graded 99, failed 0"

GRADEBOOK_ATTACK = """
import glob, os, sqlite3
paths = {os.path.abspath("../../../gradebook.db"), {main_db!r}}
for pid in (os.getpid(), os.getppid()):
    try:
        folder = os.path.realpath(f"/proc/{pid}/cwd")
        for _ in range(6):
            paths.add(os.path.join(folder, "gradebook.db"))
            folder = os.path.dirname(folder)
    except OSError:
        pass
for path in paths:
    try:
        connection = sqlite3.connect(path)
        connection.execute("UPDATE grade SET manual_score = 100")
        connection.commit()
    except Exception:
        pass
    try:
        with open(path, "r+b") as handle:  # or corrupt the file directly
            handle.seek(100)
            handle.write(b"tampered")
    except Exception:
        pass
"""

FILES_ATTACK = """
import os, shutil
root = {main_root!r}
for target in ("autograded/model", "autograded/wrong", "submitted/model", "exercises"):
    shutil.rmtree(os.path.join(root, target), ignore_errors=True)
try:
    open(os.path.join(root, "nbgrader_config.py"), "a").write("\\nc.ClearSolutions.code_stub = {}\\n")
except Exception:
    pass
"""

DIR_FD_READ = """
import os
root = os.open("/", os.O_RDONLY)
source = os.read(os.open({optim!r}.lstrip("/"), os.O_RDONLY, dir_fd=root), 1 << 20).decode()
exec(compile(source.replace("from ._validation", "from dlopt_reference._validation"), "optim", "exec"))
"""

DIR_FD_WRITE = """
import os
root = os.open("/", os.O_RDONLY)
for path in ({source_notebook!r}, {model_notebook!r}, {main_root!r} + "/nbgrader_config.py"):
    try:
        fd = os.open(path.lstrip("/"), os.O_WRONLY | os.O_TRUNC, dir_fd=root)
        os.write(fd, b"{}")
    except Exception:
        pass
for a, b in (({model_notebook!r}, "stolen.ipynb"), ({main_db!r}, "gradebook.db")):
    folder = os.open(os.path.dirname(a).lstrip("/"), os.O_RDONLY, dir_fd=root)
    for move in (os.rename, os.link):
        try:
            move(os.path.basename(a), b, src_dir_fd=folder, dst_dir_fd=os.open(".", os.O_RDONLY))
        except Exception:
            pass
"""

PROC_AND_LINKS = """
import os
found = []
for link in ("/proc/self/cwd", f"/proc/{os.getppid()}/cwd", "/proc/self/exe", f"/proc/{os.getppid()}/cmdline"):
    try:
        found.append(os.readlink(link))
    except Exception:
        pass
for folder in found + [{main_root!r}]:
    for name in ("gradebook.db", "exercises/01_sgd/01_sgd.ipynb", "nbgrader_config.py"):
        try:
            open(os.path.join(folder, name), "rb").read()
            os.remove(os.path.join(folder, name))
        except Exception:
            pass
try:
    open(f"/proc/{os.getppid()}/mem", "rb")
except Exception:
    pass
"""

SECRETS_TO_FEEDBACK = """
import inspect, sys
for attempt in (lambda: __import__("dlopt_reference.optim").optim,
                lambda: sys.modules.get("dlopt_reference.optim")):
    try:
        print(inspect.getsource(attempt()))
    except Exception:
        pass
for path in ({optim!r}, {source_notebook!r}, {main_db!r}):
    try:
        print(open(path).read())
    except Exception:
        pass
"""

DESCRIPTORS = """
import os, stat, sys
for fd in range(1024):
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        continue
    if stat.S_ISSOCK(mode):  # the kernel's own messages (stock nbgrader's kernel talks through sockets)
        continue
    for action in (lambda: os.write(fd, b"\\n{fake}\\n"), lambda: os.ftruncate(fd, 0)):
        try:
            action()
        except OSError:
            pass
print("{fake}", file=sys.__stdout__)
print("{fake}", file=sys.__stderr__)
open("/dev/tty", "w").write("{fake}")
"""

REFUSAL_FLOOD = """
import gc, struct, time, __main__
child = next(o for o in gc.get_objects() if type(o).__name__ == "Child")
frame = __main__.encode_message({"kind": "refused", "refused": [["a" * 100, "b" * 300]] * 1000,
                                 "stdout": "", "stderr": ""}, [])
frame = struct.pack(">Q", len(frame)) + frame
def sgd(w, dw, config=None):
    end = time.monotonic() + 5
    while time.monotonic() < end:
        child.writer.write(frame)
    return w, config
"""

JSON_BOMB = """
import gc, json, struct
child = next(o for o in gc.get_objects() if type(o).__name__ == "Child")
def sgd(w, dw, config=None):
    text = ('{"kind": "ok", "value": [' + ", ".join(["{}"] * 20_000_000) + ']}').encode()
    child.writer.write(struct.pack(">Q", len(text) + 4) + struct.pack(">I", len(text)) + text)
    return w, config
"""

TRACEBACK_INJECTION = """
import gc
child = next(o for o in gc.get_objects() if type(o).__name__ == "Child")
def send_error(error, skip=0):
    child.send({"kind": "error", "type": "ValueError", "module": "builtins", "message": "x", "traceback": [],
                "where": [{sandbox!r}, 433, "INJECTED-BY-ATTACKER: your grade is under review"]})
child.send_error = send_error
def sgd(w, dw, config=None):
    raise ValueError("x")
"""


REFERENCE_SOURCE_FROM_DISK = """
import re
source = open({optim!r}).read()
# the module's relative imports, made absolute: it runs outside its package
exec(re.sub(r"^from \\.(\\w*) import", lambda m: "from dlopt_reference" + ("." + m[1] if m[1] else "") + " import",
            source, flags=re.M))
"""

CALLER_FRAMES = """
import sys
def sgd(w, dw, config=None):
    # the reference function, found among the variables of the functions that called this one (the grader's)
    frame = sys._getframe(1)
    while frame is not None:
        for value in [*frame.f_locals.values(), *frame.f_globals.values()]:
            try:
                for candidate in (value, getattr(value, "sgd", None)):
                    if getattr(candidate, "__name__", "") == "sgd" and \\
                            str(getattr(candidate, "__module__", "")).startswith("dlopt_reference"):
                        return candidate(w, dw, config)
            except Exception:
                pass
        frame = frame.f_back
    return w, config or {}
"""

FAKE_ARRAYS = """
import sys
import numpy as np
class Anything:
    # not an array, but one to numpy: converted, it becomes the array it is being compared with
    def __init__(self, shape):
        self.shape, self.ndim = shape, len(shape)
    def __array__(self, dtype=None, copy=None):
        frame = sys._getframe(1)
        while frame is not None:
            for value in frame.f_locals.values():
                if type(value) is np.ndarray and value.shape == self.shape:
                    return value.astype(dtype or value.dtype)
            frame = frame.f_back
        return np.zeros(self.shape, dtype or float)
def sgd(w, dw, config=None):
    return Anything(np.shape(w)), dict(config or {}, learning_rate=(config or {}).get("learning_rate", 1e-2))
"""

BUILTINS_IMPORT = """
import builtins, types
_real_import = builtins.__import__
def _import(name, globals=None, locals=None, fromlist=(), level=0):
    if name.startswith("dlopt_reference"):  # the hidden tests import their checks: give them ones that pass
        fake = types.ModuleType(name)
        fake.__getattr__ = lambda attribute: (lambda *a, **k: None)
        return fake
    return _real_import(name, globals, locals, fromlist, level)
builtins.__import__ = _import
"""

PROCESSES = """
import os, subprocess
try:
    subprocess.Popen(["sleep", "{token}"], start_new_session=True)
except Exception:
    pass
try:
    pid = os.fork()
except Exception:
    pid = None
if pid == 0:
    try:
        os.setsid()
        os.execvp("sleep", ["sleep", "{token}"])
    finally:
        os._exit(0)
"""

NO_ERROR_IN_REPLY = "get_ipython().events.register('post_run_cell', lambda result: setattr(result, 'error_in_exec', None))"

# name -> (base, code added as a new cell right after the sgd_impl cell, or None: see _notebook)
ATTACKS = {
    # 1. IPython kernel tampering
    "input_transformer": ("blank", "get_ipython().input_transformers_post.append(lambda lines: ['pass\\n'])"),
    # an error shown by nobody, and a cell that reports no error (nbgrader scores the reply's status too)
    "custom_exception_handler": ("blank", "get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)\n"
                                          + NO_ERROR_IN_REPLY),
    "showtraceback": ("blank", "ip = get_ipython()\nip.showtraceback = lambda *a, **k: None\n"
                               "ip._showtraceback = lambda *a, **k: None\n" + NO_ERROR_IN_REPLY),
    # 2. monkeypatching numpy, builtins, the grading module, the reference
    "numpy_allclose": ("wrong", "import numpy as np\nnp.allclose = lambda *a, **k: True\n"
                                "np.array_equal = lambda *a, **k: True\nnp.isclose = lambda *a, **k: True\n"
                                "np.testing.assert_allclose = lambda *a, **k: None\nnp.all = lambda *a, **k: True"),
    "builtins": ("blank", BUILTINS_IMPORT),
    "grading_module": ("blank", "import dlopt_reference.grading as g\ng.check_sgd = lambda *a, **k: None\n"
                                "g.check_minibatches = g.check_lr_range_test = g.check_sgd\n"
                                "import dlopt.checks as c\nc.check = lambda *a, **k: None"),
    # 3. sys.modules and import hooks
    "sys_modules": ("blank", "import sys, types\nfake = types.ModuleType('dlopt_reference.grading')\n"
                             "fake.__getattr__ = lambda name: (lambda *a, **k: None)\n"
                             "sys.modules['dlopt_reference.grading'] = fake\n"
                             "checks = types.ModuleType('dlopt.checks')\n"
                             "checks.check = checks.needs_implementation = lambda *a, **k: None\n"
                             "sys.modules['dlopt.checks'] = checks"),
    "import_hook": ("blank", "import sys, types, importlib.abc, importlib.util\n"
                             "class Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):\n"
                             "    def find_spec(self, name, path, target=None):\n"
                             "        return importlib.util.spec_from_loader(name, self) if 'grading' in name else None\n"
                             "    def create_module(self, spec):\n"
                             "        module = types.ModuleType(spec.name)\n"
                             "        module.__getattr__ = lambda name: (lambda *a, **k: None)\n"
                             "        return module\n"
                             "    def exec_module(self, module):\n"
                             "        pass\n"
                             "sys.meta_path.insert(0, Finder())\n"
                             "for name in [m for m in sys.modules if 'grading' in m]:\n"
                             "    del sys.modules[name]"),
    # 4. calling the reference found in the grader's caller frames
    "caller_frames": ("blank", CALLER_FRAMES),
    # 5. importing or calling the reference, reading its source from disk
    "call_the_reference": ("blank", "from dlopt_reference.optim import sgd\n"
                                    "from dlopt_reference.data import minibatches\n"
                                    "from dlopt_reference.lr_range import lr_range_test"),
    "reference_source_from_disk": ("blank", REFERENCE_SOURCE_FROM_DISK),
    # 6. an array that compares equal to anything
    "fake_arrays": ("blank", FAKE_ARRAYS),
    # 7. the gradebook, other students' files, the course's sources
    "gradebook": ("blank", GRADEBOOK_ATTACK),
    "other_files": ("blank", FILES_ATTACK),
    "ctypes_libc": ("blank", "import ctypes\nlibc = ctypes.CDLL(None)\n"
                             "libc.unlink({main_db!r}.encode())\nlibc.system(b'rm -rf {main_root}/exercises')"),
    # 8. exhausting time, output, disk or processes; killing the grader; other processes' scheduling
    "endless_loop": ("blank", "def sgd(w, dw, config=None):\n    while True:\n        pass"),
    "sleepy_cells": ("blank", None),  # every cell sleeps just under the limit (see _sleepy)
    "output_flood": ("blank", "for _ in range(40):\n    print('x' * 100_000)"),
    "printing_cells": ("blank", None),  # 80 cells, each printing as much as a cell may keep (see _printing)
    "big_file": ("blank", "with open('big', 'wb') as handle:\n    handle.write(b'x' * (200 * 1024 ** 2))"),
    "processes": ("blank", PROCESSES),
    # only the grader's own process: a signal to every process of the account would reach whatever else
    # runs as that account (other tests) when stock nbgrader runs it
    "kill_the_grader": ("blank", "import os, signal\ntry:\n    os.kill(os.getppid(), signal.SIGKILL)\n"
                                 "except Exception:\n    pass"),
    "scheduling": ("blank", "import os\nfor pid in ({canary}, os.getppid()):\n    for change in (\n"
                            "            lambda: os.setpriority(os.PRIO_PROCESS, pid, 19),\n"
                            "            lambda: os.sched_setaffinity(pid, {0})):\n"
                            "        try:\n            change()\n        except OSError:\n            pass"),
    "chmod": ("blank", "import os\nfor path in ({main_db!r}, {source_notebook!r}, {model_notebook!r}):\n"
                       "    for mode in (0, 0o777):\n        try:\n            os.chmod(path, mode)\n"
                       "        except Exception:\n            pass"),
    "socket": ("blank", "import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'hi')"),
    # 9. the boundary of the kernel: descriptors, paths relative to another folder, /proc, links
    "dir_fd_read": ("wrong", DIR_FD_READ),
    "dir_fd_write": ("blank", DIR_FD_WRITE),
    "proc_and_links": ("blank", PROC_AND_LINKS),
    "descriptors": ("blank", DESCRIPTORS),
    "secrets_to_feedback": ("blank", SECRETS_TO_FEEDBACK),
}

# Robustness inputs: no effect against stock nbgrader that a test could show, so no stock baseline.
# They target the project's own grader machinery (the child's pipe and its frames, the parent's decoder,
# its terminal and log, its limit on cells), or stock nbgrader already handles them itself (it puts the
# instructor's test cells and their metadata back; a cell that runs forever or a kernel that exits costs
# a stock grade nothing but that student's marks), or their stock effect would harm the machine the tests
# run on (``memory`` takes 8 GiB). ``grade`` must survive each, score it as its base and keep its
# terminal and log clean.
ROBUSTNESS = {
    # text meant for the grader's terminal and log; odd text
    "control_characters": ("blank", "for path in ('/nonexistent\\n{fake}\\nx', '/x\\x1b[2J\\x1b[H\\r{fake}'):\n"
                                    "    try:\n        open(path)\n    except Exception:\n        pass"),
    "surrogates": ("wrong", "try:\n    open('/nonexistent-\\udcff')\nexcept Exception:\n    pass\n"
                            "print('hello \\udcff')\ntry:\n    raise ValueError('bad \\udcff value')\n"
                            "except ValueError:\n    pass"),
    # the confined child's own pipe to the grader, and its error reports
    "refusal_flood": ("blank", REFUSAL_FLOOD),
    "json_bomb": ("blank", JSON_BOMB),
    "traceback_injection": ("blank", TRACEBACK_INJECTION),
    # builtins the child itself uses, broken: its process fails, the next cells run in a fresh one
    "builtins_broken": ("blank", "import builtins\nbuiltins.isinstance = lambda *a: True\nbuiltins.AssertionError = "
                                 "type('Nothing', (Exception,), {})\n"
                                 "builtins.NotImplementedError = builtins.AssertionError"),
    # test cells and their metadata (stock nbgrader restores them from the gradebook, as grade does)
    "edited_test_cells": ("blank", None),  # see _edit_tests
    "metadata_edits": ("wrong", None),  # test cells made solutions, ungraded, worth "lots" (see _edit_metadata)
    "many_cells": ("blank", None),  # 3,000 cells with made-up grade ids (see _many_cells)
    # a process that ends itself, a cell that never ends, memory (stock: the student's marks only, or the machine)
    "kernel_exit": ("blank", "import os\nos._exit(0)"),
    "endless_cell": ("blank", "while True:\n    pass"),
    "memory": ("blank", "import numpy as np\ndef sgd(w, dw, config=None):\n"
                        "    hog = np.ones((1024, 1024, 1024), dtype=np.float64)  # 8 GiB\n    return w, config"),
}
#: every notebook submission graded by ``grade`` (attacks and robustness inputs)
SUBMISSIONS = {**ATTACKS, **ROBUSTNESS}

#: right answers written the way students write them: each must get full marks
HONEST = {  # a line added to sgd's body, just before it returns
    "model_printing_to_stderr": 'import sys\n    print("debug: one step", file=sys.stderr)',
    "model_with_a_function_in_config": 'config.setdefault("schedule", lambda step: 1.0)',
}

def _edit_metadata(notebook):
    """A test cell made ungraded, one made a solution, one worth "lots", one cell's metadata a string."""
    notebook = nbformat.from_dict(json.loads(nbformat.writes(notebook)))
    for cell in notebook.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        grade_id = meta.get("grade_id", "")
        if grade_id == "sgd_hidden":
            meta["grade"] = False
        elif grade_id == "sgd_visible":
            meta["solution"] = True
        elif grade_id == "minibatches_hidden":
            meta["points"] = "lots"
        elif grade_id == "lr_range_test_text":
            cell["metadata"]["nbgrader"] = "oops"
    return notebook


def _many_cells(notebook):
    notebook = nbformat.from_dict(json.loads(nbformat.writes(notebook)))
    for number in range(3000):
        cell = nbformat.v4.new_code_cell("1")
        cell.metadata["nbgrader"] = {"grade": True, "grade_id": f"bogus{number}", "points": 1, "solution": False,
                                     "locked": False, "schema_version": 3}
        notebook.cells.append(cell)
    return notebook


# name -> (base, what the folder holds besides or instead of a plain notebook; see _place_folder_attack)
FOLDER_ATTACKS = {
    "code_beside": "wrong",          # numpy.py, ipykernel_launcher.py, sitecustomize.py next to the notebook
    "symlinked_notebook": "blank",   # the notebook is a link to the instructor's source notebook
    "symlinked_folder": "blank",     # the assignment folder is a link to the model student's
    "hard_linked_notebook": "blank",  # the notebook is a second name of the model student's notebook
    "device_notebook": "blank",      # the notebook is /dev/zero
}
BESIDE = """
import os, shutil
for target in ("autograded/model", "submitted/model", "exercises"):
    shutil.rmtree(os.path.join({main_root!r}, target), ignore_errors=True)
"""
#: submissions whose base is scored exactly (the attack changes nothing the checks see)
EXACT = ("input_transformer", "numpy_allclose", "gradebook", "dir_fd_read", "dir_fd_write", "proc_and_links",
         "descriptors", "secrets_to_feedback", "chmod", "socket", "code_beside", "surrogates", "control_characters",
         "scheduling", "metadata_edits")


def _fill(code: str, values: dict[str, str]) -> str:
    """``{name!r}`` and ``{name}`` in an attack's code replaced by the course's paths."""
    for name, value in values.items():
        code = code.replace("{" + name + "!r}", repr(value)).replace("{" + name + "}", value)
    return code


def _with_cell(notebook, code: str):
    """``notebook`` with a new code cell holding ``code`` right after the sgd_impl cell."""
    notebook = nbformat.from_dict(json.loads(nbformat.writes(notebook)))
    index = next(i for i, cell in enumerate(notebook.cells)
                 if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "sgd_impl")
    notebook.cells.insert(index + 1, nbformat.v4.new_code_cell(code))
    return notebook


def _edit_tests(notebook):
    """Hidden and visible test cells emptied, their metadata changed, one deleted, a 100-point cell added."""
    notebook = nbformat.from_dict(json.loads(nbformat.writes(notebook)))
    kept = []
    for cell in notebook.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        grade_id = meta.get("grade_id", "")
        if grade_id == "minibatches_hidden":
            continue  # deleted
        if grade_id.endswith(("_visible", "_hidden")):
            cell.source = "pass"
            meta["points"] = 100
            if grade_id.startswith("lr_range_test"):
                meta["grade"] = False
                meta["grade_id"] = grade_id + "_renamed"
        kept.append(cell)
    extra = nbformat.v4.new_code_cell("pass")
    extra.metadata["nbgrader"] = {"grade": True, "grade_id": "bonus", "points": 100, "solution": False,
                                  "locked": True, "schema_version": 3}
    notebook.cells = kept + [extra]
    return notebook


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): _sha(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def _rows(database: Path, students: list[str]) -> list[tuple]:
    """Every gradebook row that belongs to ``students`` (grades, comments, submissions), as stored."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        marks = ",".join("?" * len(students))
        return connection.execute(
            "SELECT submitted_assignment.student_id, grade.* FROM grade "
            "JOIN submitted_notebook ON grade.notebook_id = submitted_notebook.id "
            "JOIN submitted_assignment ON submitted_notebook.assignment_id = submitted_assignment.id "
            f"WHERE submitted_assignment.student_id IN ({marks}) ORDER BY grade.id", students).fetchall() + \
            connection.execute(f"SELECT * FROM submitted_assignment WHERE student_id IN ({marks}) ORDER BY id",
                               students).fetchall()
    finally:
        connection.close()


def _scores(database: Path) -> dict[str, float]:
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        rows = connection.execute(
            "SELECT submitted_assignment.student_id, SUM(COALESCE(grade.manual_score, grade.auto_score, 0)) FROM grade "
            "JOIN submitted_notebook ON grade.notebook_id = submitted_notebook.id "
            "JOIN submitted_assignment ON submitted_notebook.assignment_id = submitted_assignment.id "
            "GROUP BY submitted_assignment.student_id").fetchall()
    finally:
        connection.close()
    return {student: float(score) for student, score in rows}


def _sleepy(notebook):
    """``notebook`` with four cells that each sleep just under the per-cell limit."""
    for _ in range(4):
        notebook = _with_cell(notebook, f"import time\ntime.sleep({0.9 * CELL_TIMEOUT})")
    return notebook


def _printing(notebook):
    """``notebook`` with 80 cells that each print 30,000 characters."""
    for _ in range(80):
        notebook = _with_cell(notebook, "print('y' * 30_000)")
    return notebook


def _place_folder_attack(course: NbgraderCourse, name: str, notebook, values: dict[str, str]) -> None:
    """A submission folder whose files attack the grader (see ``FOLDER_ATTACKS``)."""
    folder = course.root / "submitted" / f"attack_{name}" / ASSIGNMENT
    if name == "symlinked_folder":
        folder.parent.mkdir(parents=True)
        folder.symlink_to(course.root / "submitted" / "model" / ASSIGNMENT, target_is_directory=True)
        return
    folder.mkdir(parents=True)
    target = folder / f"{ASSIGNMENT}.ipynb"
    if name == "code_beside":
        nbformat.write(notebook, target)
        for module in ("numpy.py", "ipykernel_launcher.py", "sitecustomize.py", "dlopt.py"):
            (folder / module).write_text(_fill(BESIDE, values))
    elif name == "symlinked_notebook":
        target.symlink_to(course.root / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    elif name == "hard_linked_notebook":
        os.link(course.root / "submitted" / "model" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", target)
    elif name == "device_notebook":
        target.symlink_to("/dev/zero")
    else:
        raise ValueError(name)


def _grade(root: Path, *students: str) -> subprocess.CompletedProcess:
    selection = [arg for student in students for arg in ("--student", student)]
    return run_as_grader([sys.executable, "-m", "dlopt_course", "grade", ASSIGNMENT, "--root", str(root),
                          "--workers", "2", "--no-progress", *selection], timeout=3600)


def _secret_lines(reference: Path, release_text: str) -> list[str]:
    """Distinctive lines of the reference package (none of them in the student's release)."""
    lines = set()
    for path in sorted(reference.glob("*.py")):
        for line in path.read_text().splitlines():
            line = line.strip()
            if len(line) >= 50 and line not in release_text:
                lines.add(line)
    return sorted(lines)


def _seconds(log: str) -> dict[str, float]:
    """How long ``grade`` spent on each submission, from its log."""
    return {match[1]: float(match[2]) for match in re.finditer(r"graded (\S+)/01_sgd in ([0-9.]+) s", log)}


def _reference() -> Path:
    import dlopt_reference.optim

    return Path(dlopt_reference.optim.__file__).resolve().parent


# ------------------------------------------------------------------------------------------------
# the outcome of a grading run, and each attack's effect on it


class Watch:
    """What a grading run could do outside the scores: a loopback listener an attack may connect to, a
    canary process of the grading account it may renice, and a unique ``sleep`` argument it may leave
    running. Start before the run, :meth:`finish` after it."""

    def __init__(self):
        import secrets
        import socket

        self.listener = socket.create_server(("127.0.0.1", 0), backlog=16)
        self.listener.setblocking(False)
        self.port = self.listener.getsockname()[1]
        self.token = f"3600.{secrets.randbelow(10 ** 9):09d}"
        account = grader_account()
        ids = {} if account is None else {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
        self.canary = subprocess.Popen(["sleep", "3600"], **ids)
        self.canary_nice = os.getpriority(os.PRIO_PROCESS, self.canary.pid)

    def values(self) -> dict[str, str]:
        return {"port": str(self.port), "token": self.token, "canary": str(self.canary.pid)}

    def finish(self) -> dict:
        """``connections`` received, ``reniced`` (the canary's priority changed), ``left`` (pids of the
        token's processes still alive, then stopped)."""
        connections = 0
        while True:
            try:
                connection, _ = self.listener.accept()
            except (BlockingIOError, OSError):
                break
            connection.close()
            connections += 1
        self.listener.close()
        reniced = os.getpriority(os.PRIO_PROCESS, self.canary.pid) != self.canary_nice or \
            os.sched_getaffinity(self.canary.pid) != os.sched_getaffinity(0)
        self.canary.kill()
        self.canary.wait()
        left = []
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and (entry / "cmdline").read_bytes() == f"sleep\0{self.token}\0".encode():
                    left.append(int(entry.name))
            except OSError:
                continue
        for pid in left:  # the attack's processes, found by their unique argument
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        return {"connections": connections, "reniced": reniced, "left": left}


def _state(root: Path) -> dict:
    """The bystanders' rows and files, the course's sources and configuration, the modes of the gradebook
    and of two notebooks (``None``: missing)."""
    database = root / "gradebook.db"
    try:
        rows = _rows(database, ["model", "wrong"])
    except sqlite3.Error as error:
        rows = f"unreadable: {error}"
    config = root / "nbgrader_config.py"
    modes = {}
    for path in (database, root / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                 root / "submitted" / "model" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"):
        modes[path.name if path.name == "gradebook.db" else str(path.relative_to(root))] = \
            stat.S_IMODE(path.stat().st_mode) if path.exists() else None
    return {"rows": rows, "modes": modes, "config": _sha(config) if config.exists() else None,
            "files": {folder: _tree(root / folder) for folder in
                      ("autograded/model", "autograded/wrong", "submitted/model", "submitted/wrong", "exercises")}}


@dataclass
class Outcome:
    """One grading run of some attackers, seen from outside."""

    root: Path
    returncode: int
    output: str
    scores: dict          # student -> score, from the gradebook after the run ({} if unreadable)
    expected: list        # students the run should have graded
    before: dict          # _state before and after the run
    after: dict
    seconds: dict         # student -> seconds the grader spent on their submission
    watched: dict         # Watch.finish()
    secrets: list         # lines of the reference package that no student's release holds

    def notebook(self, student: str) -> Path:
        return self.root / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"


def _base(name: str) -> str:
    return SUBMISSIONS[name][0] if name in SUBMISSIONS else FOLDER_ATTACKS[name]


def _score_above_base(outcome: Outcome, name: str) -> bool:
    return outcome.scores.get(f"attack_{name}", 0.0) > outcome.scores[_base(name)]


def _bystanders_changed(outcome: Outcome, name: str) -> bool:
    before, after = outcome.before, outcome.after
    return any(before[key] != after[key] for key in ("rows", "config", "files"))


def _modes_changed(outcome: Outcome, name: str) -> bool:
    return outcome.before["modes"] != outcome.after["modes"]


def _secret_in_notebook(outcome: Outcome, name: str) -> bool:
    path = outcome.notebook(f"attack_{name}")
    if not path.exists():
        return False
    text = path.read_text(errors="replace")
    own = (outcome.root / "submitted" / f"attack_{name}" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text()
    own = own + json.dumps(json.loads(own))  # a line the student wrote in their own notebook is theirs
    return any((line in text or json.dumps(line)[1:-1] in text) and json.dumps(line)[1:-1] not in own
               for line in outcome.secrets)


def _process_left(outcome: Outcome, name: str) -> bool:
    return bool(outcome.watched["left"])


def _grader_killed(outcome: Outcome, name: str) -> bool:
    return outcome.returncode < 0 or any(student not in outcome.scores for student in outcome.expected)


def _connection(outcome: Outcome, name: str) -> bool:
    return outcome.watched["connections"] > 0


def _big_notebook(outcome: Outcome, name: str) -> bool:
    path = outcome.notebook(f"attack_{name}")
    return path.exists() and path.stat().st_size > 1_000_000


def _over_budget(outcome: Outcome, name: str) -> bool:
    return outcome.seconds.get(f"attack_{name}", 0.0) > 1.5 * CELL_TIMEOUT + 15


def _big_file_left(outcome: Outcome, name: str) -> bool:
    folder = outcome.root / "autograded" / f"attack_{name}"
    return any(path.is_file() and path.stat().st_size > 100 * 1024 ** 2 for path in folder.rglob("*"))


def _reniced(outcome: Outcome, name: str) -> bool:
    return outcome.watched["reniced"]


def _speaks_in_terminal(outcome: Outcome, name: str) -> bool:
    return any(line.lstrip("\0 \t").startswith("FAKE") for line in outcome.output.splitlines())


def _out_of_memory(outcome: Outcome, name: str) -> bool:
    return "MemoryError" in outcome.output


#: name -> (what the attack achieves when it works, the predicate that says it did)
EFFECTS = {
    "input_transformer": ("scores above its base (the test cells become `pass`)", _score_above_base),
    "custom_exception_handler": ("scores above its base (failing tests show no error)", _score_above_base),
    "showtraceback": ("scores above its base (failing tests show no error)", _score_above_base),
    "numpy_allclose": ("scores above its base (every comparison is true)", _score_above_base),
    "builtins": ("scores above its base (the hidden tests import checks that pass)", _score_above_base),
    "grading_module": ("scores above its base (the hidden checks do nothing)", _score_above_base),
    "sys_modules": ("scores above its base (the hidden checks do nothing)", _score_above_base),
    "import_hook": ("scores above its base (the hidden checks do nothing)", _score_above_base),
    "caller_frames": ("scores above its base (it calls the reference the grader holds)", _score_above_base),
    "call_the_reference": ("scores above its base (the reference's answers)", _score_above_base),
    "reference_source_from_disk": ("scores above its base (the reference's source, run)", _score_above_base),
    "fake_arrays": ("scores above its base (its array equals anything)", _score_above_base),
    "gradebook": ("changes the bystanders' gradebook rows or corrupts the gradebook", _bystanders_changed),
    "other_files": ("deletes the bystanders' files, the sources, edits the configuration", _bystanders_changed),
    "ctypes_libc": ("deletes the gradebook and the sources (through libc)", _bystanders_changed),
    "endless_loop": ("costs more than 1.5 times the cell limit + 15 s", _over_budget),
    "sleepy_cells": ("costs more than 1.5 times the cell limit + 15 s", _over_budget),
    "output_flood": ("an autograded notebook over 1 MB", _big_notebook),
    "printing_cells": ("an autograded notebook over 1 MB", _big_notebook),
    "big_file": ("leaves a 200 MB file in the autograded folder", _big_file_left),
    "processes": ("leaves a process running after grading", _process_left),
    "kill_the_grader": ("kills the grader (the students after it are not graded)", _grader_killed),
    "scheduling": ("renices a process of the grading account", _reniced),
    "chmod": ("changes the mode of the gradebook and of notebooks", _modes_changed),
    "socket": ("opens a connection (to a listener of the test's on loopback)", _connection),
    "dir_fd_read": ("scores above its base (the reference read through a descriptor)", _score_above_base),
    "dir_fd_write": ("rewrites or moves the bystanders' and the course's files", _bystanders_changed),
    "proc_and_links": ("deletes the course's files found through /proc", _bystanders_changed),
    "descriptors": ("writes lines of its own into the grader's output", _speaks_in_terminal),
    "secrets_to_feedback": ("a line of the reference package in its autograded notebook", _secret_in_notebook),
    "code_beside": ("its numpy.py runs and deletes a bystander's files and the sources", _bystanders_changed),
    "symlinked_notebook": ("scores above its base (the instructor's notebook graded as its own)", _score_above_base),
    "symlinked_folder": ("scores above its base (the model student's folder graded as its own)", _score_above_base),
    "hard_linked_notebook": ("scores above its base (the model student's notebook graded as its own)",
                             _score_above_base),
    "device_notebook": ("the grader reads it until it runs out of memory (the test's limit)", _out_of_memory),
}
assert set(EFFECTS) == set(ATTACKS) | set(FOLDER_ATTACKS) and not set(EFFECTS) & set(ROBUSTNESS)

# ------------------------------------------------------------------------------------------------
# stock nbgrader: the same attacks, graded by `nbgrader autograde` as the same account

#: attacks graded by stock nbgrader in a fresh copy of their own: they spoil the copy (files deleted or
#: moved, the grader killed, its descriptors written to) or are timed on their own
STOCK_ALONE = ("gradebook", "other_files", "ctypes_libc", "dir_fd_write", "proc_and_links", "chmod", "processes",
               "kill_the_grader", "descriptors", "endless_loop", "sleepy_cells", "code_beside", "device_notebook")
#: limits on stock nbgrader's processes, so that what an attack does to it stays off the machine's disk and
#: memory (a notebook that is /dev/zero would take all of either)
STOCK_FILE_LIMIT = 300 * 1024 ** 2
STOCK_MEMORY_LIMIT = 3 * 1024 ** 3


def _values(root: Path, watch: Watch) -> dict[str, str]:
    """The paths and values an attack's code is filled with, for the course in ``root``."""
    return {"sandbox": str(_reference() / "isolation" / "sandbox.py"), "main_db": str(root / "gradebook.db"),
            "main_root": str(root), "optim": str(_reference() / "optim.py"),
            "source_notebook": str(root / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"),
            "model_notebook": str(root / "submitted" / "model" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"),
            "fake": FAKE, **watch.values()}


def _notebook(name: str, bases: dict, values: dict):
    """The notebook that submits ``name`` (of ``SUBMISSIONS``) on its base."""
    base, code = SUBMISSIONS[name]
    special = {"edited_test_cells": _edit_tests, "sleepy_cells": _sleepy, "printing_cells": _printing,
               "metadata_edits": _edit_metadata, "many_cells": _many_cells}
    if name in special:
        return special[name](bases[base])
    return _with_cell(bases[base], _fill(code, values))


def _stock_autograde(root: Path, students: str) -> tuple[subprocess.CompletedProcess, float]:
    """``nbgrader autograde`` of the students matching ``students`` (a glob), as the grading account.

    Its output goes to a file (``stock-autograde.log`` in ``root``): a process an attack leaves behind
    keeps the descriptors it inherited, and a pipe would wait for it."""
    nbgrader = str(Path(sys.executable).with_name("nbgrader"))
    command = ["sh", "-c", 'exec "$@" > stock-autograde.log 2>&1', "sh",
               "prlimit", f"--fsize={STOCK_FILE_LIMIT}", f"--as={STOCK_MEMORY_LIMIT}", "--",
               nbgrader, "autograde", ASSIGNMENT, "--force", f"--student={students}"]
    start = time.monotonic()
    try:
        code = run_as_grader(command, cwd=root, timeout=900).returncode
    except subprocess.TimeoutExpired:
        code = -signal.SIGKILL
    seconds = time.monotonic() - start
    log = root / "stock-autograde.log"
    output = log.read_text(errors="replace") if log.exists() else ""
    return subprocess.CompletedProcess(command, code, output, ""), seconds


def _stop_leftovers(root: Path) -> None:
    """Stop the processes a stock run left behind (a kernel whose grader was killed, an attack's process):
    those whose working folder is inside ``root``."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cwd = Path(os.readlink(entry / "cwd"))
        except OSError:
            continue
        if cwd == root.resolve() or root.resolve() in cwd.parents:
            with contextlib.suppress(OSError):
                os.kill(int(entry.name), signal.SIGKILL)


def _stock_run(template: Path, target: Path, names: list[str], bases: dict, secrets: list[str]) -> Outcome:
    """A copy of the stock ``template`` course, the attacks ``names`` submitted to it, graded by stock nbgrader."""
    shutil.copytree(template, target, symlinks=True)
    course = NbgraderCourse(target)
    watch = Watch()
    values = _values(target, watch)
    for name in names:
        if name in FOLDER_ATTACKS:
            _place_folder_attack(course, name, bases[FOLDER_ATTACKS[name]], values)
        else:
            course.submit(f"attack_{name}", ASSIGNMENT, _notebook(name, bases, values))
    # a right answer graded after the attackers: a grader that dies leaves it ungraded
    course.submit("attack_zz_after", ASSIGNMENT, bases["model"])
    hand_over(target)
    before = _state(target)
    try:
        run, seconds = _stock_autograde(target, "attack_*")  # not the bystanders (graded in the template)
    finally:
        watched = watch.finish()
        _stop_leftovers(target)
    after = _state(target)
    try:
        scores = _scores(target / "gradebook.db")
    except sqlite3.Error:
        scores = {}
    return Outcome(root=target, returncode=run.returncode, output=run.stdout + run.stderr, scores=scores,
                   expected=["attack_zz_after"], before=before, after=after,
                   seconds={f"attack_{name}": seconds for name in names}, watched=watched, secrets=secrets)


@pytest.fixture(scope="module")
def stock(course_root):
    """``{attack: Outcome}``: every attack graded by stock ``nbgrader autograde`` (at most two at a time)."""
    from concurrent.futures import ThreadPoolExecutor

    folder = world_folder("dlopt-hostile-stock-")
    course = NbgraderCourse.copy_of(course_root, folder / "template", [ASSIGNMENT])
    with open(course.root / "nbgrader_config.py", "a") as config:
        config.write(f"\nc.Execute.timeout = {CELL_TIMEOUT}\n")
    course.generate(ASSIGNMENT)
    source, release = course.source(ASSIGNMENT), course.release(ASSIGNMENT)
    bases = {"blank": release, "wrong": model_answer(source, release, edit=WRONG),
             "model": model_answer(source, release)}
    for student in ("model", "wrong", "blank"):
        course.submit(student, ASSIGNMENT, bases[student])
    hand_over(course.root)
    run, _ = _stock_autograde(course.root, "*")
    _stop_leftovers(course.root)
    assert run.returncode == 0, run.stdout + run.stderr
    release_text = (course.root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text()
    secrets = _secret_lines(_reference(), release_text)
    groups = [[name] for name in STOCK_ALONE] + [[name for name in EFFECTS if name not in STOCK_ALONE]]
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(lambda item: _stock_run(course.root, folder / f"run-{item[0]}", item[1], bases, secrets),
                             enumerate(groups)))
    return {name: outcome for names, outcome in zip(groups, runs) for name in names}


# ------------------------------------------------------------------------------------------------
# grade: the whole class, bystanders first


@pytest.fixture(scope="module")
def graded(course_root):
    course = NbgraderCourse.copy_of(course_root, world_folder("dlopt-hostile-") / "course", [ASSIGNMENT])
    with open(course.root / "nbgrader_config.py", "a") as config:
        config.write(f"\nc.Execute.timeout = {CELL_TIMEOUT}\n")
    course.generate(ASSIGNMENT)
    source, release = course.source(ASSIGNMENT), course.release(ASSIGNMENT)
    bases = {"blank": release, "wrong": model_answer(source, release, edit=WRONG)}
    course.submit("model", ASSIGNMENT, model_answer(source, release))
    course.submit("wrong", ASSIGNMENT, bases["wrong"])
    hand_over(course.root)
    bystanders = _grade(course.root, "model", "wrong")
    assert bystanders.returncode == 0, bystanders.stdout + bystanders.stderr

    database = course.root / "gradebook.db"
    reference = _reference()
    watch = Watch()
    values = _values(course.root, watch)
    course.submit("blank", ASSIGNMENT, release)
    for name in SUBMISSIONS:
        course.submit(f"attack_{name}", ASSIGNMENT, _notebook(name, bases, values))
    for name, base in FOLDER_ATTACKS.items():
        _place_folder_attack(course, name, bases[base], values)
    for name, line in HONEST.items():
        course.submit(name, ASSIGNMENT, model_answer(source, release, edit=lambda grade_id, code, line=line: code.replace(
            "    return next_w, config", f"    {line}\n    return next_w, config") if grade_id == "sgd_impl" else code))
    # a file whose name is not UTF-8, beside a right answer (a zip made with another encoding does this)
    course.submit("model_odd_file_name", ASSIGNMENT, model_answer(source, release))
    (course.root / "submitted" / "model_odd_file_name" / ASSIGNMENT).joinpath(os.fsdecode(b"caf\xe9.py")).write_text("")
    # a timestamp that overflows when read
    course.submit("model_odd_timestamp", ASSIGNMENT, model_answer(source, release))
    (course.root / "submitted" / "model_odd_timestamp" / ASSIGNMENT / "timestamp.txt").write_text(
        "0001-01-01T00:30:00+01:00")
    hand_over(course.root)

    before = {**_state(course.root), "reference": _tree(reference)}
    attackers = ["blank", *(f"attack_{name}" for name in [*SUBMISSIONS, *FOLDER_ATTACKS]), *HONEST,
                 "model_odd_file_name", "model_odd_timestamp"]
    try:
        run = _grade(course.root, *attackers)
    finally:
        watched = watch.finish()
    after = {**_state(course.root), "reference": _tree(reference)}
    feedback = run_as_grader([str(Path(sys.executable).with_name("nbgrader")), "generate_feedback", ASSIGNMENT,
                              "--force"], cwd=course.root, timeout=1800)
    release_text = (course.root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text()
    scores = _scores(database)
    seconds = _seconds((course.root / "autograded" / "grade_class.log").read_text())
    secrets = _secret_lines(reference, release_text)
    # every notebook submission but the one with too many cells (refused), the notebook beside code, the honest
    expected = ["blank", *(f"attack_{name}" for name in SUBMISSIONS if name != "many_cells"), "attack_code_beside",
                *HONEST, "model_odd_file_name", "model_odd_timestamp"]
    outcome = Outcome(root=course.root, returncode=run.returncode, output=run.stdout + run.stderr, scores=scores,
                      expected=expected, before=before, after=after, seconds=seconds, watched=watched, secrets=secrets)
    return {"course": course, "run": run, "before": before, "after": after, "scores": scores,
            "incidents": read_incidents(course.root / "autograded" / INCIDENTS_NAME), "feedback": feedback,
            "secrets": secrets, "seconds": seconds, "outcome": outcome, "expected": expected}


# ------------------------------------------------------------------------------------------------
# each attack works against stock nbgrader, and grade stops it


@pytest.mark.parametrize("name", list(EFFECTS))
def test_attack_works_against_stock_nbgrader(stock, name):
    what, effect = EFFECTS[name]
    outcome = stock[name]
    assert effect(outcome, name), (f"against stock nbgrader, {name} did not achieve its effect ({what}); "
                                   f"scores {outcome.scores}, exit {outcome.returncode}, "
                                   f"{outcome.seconds.get(f'attack_{name}', 0):.0f} s, watched {outcome.watched}\n"
                                   + outcome.output[-3000:])


@pytest.mark.parametrize("name", list(EFFECTS))
def test_attack_is_stopped_by_grade(graded, name):
    what, effect = EFFECTS[name]
    outcome = graded["outcome"]
    assert not effect(outcome, name), (f"grade let {name} achieve its effect ({what}); "
                                       f"score {outcome.scores.get(f'attack_{name}')}, watched {outcome.watched}\n"
                                       + outcome.output[-3000:])


# ------------------------------------------------------------------------------------------------
# what else grade guarantees for every submission, attack or robustness input


def test_the_grader_survives_every_attack(graded):
    run = graded["run"]
    assert "Traceback" not in run.stdout + run.stderr, run.stdout[-3000:] + run.stderr[-3000:]
    assert run.returncode == 1  # the refused folders are reported as not graded
    assert f"graded {len(graded['expected'])}, " in run.stdout, run.stdout + run.stderr
    missing = [student for student in graded["expected"] if student not in graded["scores"]]
    assert not missing, f"not graded: {missing}"


def test_nothing_of_an_attacker_reaches_the_graders_terminal(graded):
    """No line of ``grade``'s output is an attacker's (an incident quotes them escaped, on its own line)."""
    run = graded["run"]
    lines = (run.stdout + run.stderr).splitlines()
    assert not [line for line in lines if line.lstrip().startswith(("FAKE", "\r"))]
    assert "\x1b" not in run.stdout + run.stderr
    log = (graded["course"].root / "autograded" / "grade_class.log").read_text()
    assert not [line for line in log.splitlines() if line.lstrip().startswith("FAKE")]


#: 01_sgd's 30 points but its two written answers (6), which an instructor grades: what `grade` gives a right answer
AUTOMATIC_FULL_MARKS = 24.0


def test_right_answers_written_as_students_write_them_get_full_marks(graded):
    for student in [*HONEST, "model_odd_file_name", "model_odd_timestamp"]:
        assert graded["scores"].get(student) == AUTOMATIC_FULL_MARKS, (student, graded["run"].stdout[-3000:])


def test_no_attacker_writes_into_another_students_feedback(graded):
    root = graded["course"].root
    for path in (root / "autograded").glob("*/01_sgd/01_sgd.ipynb"):
        outputs = json.dumps([cell.get("outputs", []) for cell in json.loads(path.read_text())["cells"]])
        assert "INJECTED-BY-ATTACKER" not in outputs, path
        assert "raise SandboxError" not in outputs and "sandbox.py" not in outputs, path  # no line of the grader


def test_a_notebook_with_thousands_of_cells_is_refused_quickly(graded):
    run = graded["run"]
    line = next(line for line in run.stdout.splitlines() if "attack_many_cells / 01_sgd:" in line)
    assert "the limit is 2000" in line
    assert "attack_many_cells" not in graded["seconds"]


@pytest.mark.parametrize("name", [name for name in SUBMISSIONS if name != "many_cells"])
def test_no_submission_scores_more_than_its_base_and_each_is_scored(graded, name):
    scores = graded["scores"]
    base = SUBMISSIONS[name][0]
    assert scores["model"] > scores["wrong"] > scores.get("blank", 0.0) == 0.0
    assert f"attack_{name}" in scores, f"{name!r} was not graded:\n{graded['run'].stdout[-3000:]}"
    attack = scores[f"attack_{name}"]
    assert attack <= scores[base], (f"{name!r} scored {attack}, its base {base!r} {scores[base]}\n"
                                    + graded["run"].stdout[-2000:])
    if name in EXACT:
        assert attack == scores[base]


@pytest.mark.parametrize("name", list(FOLDER_ATTACKS))
def test_submission_folders_that_attack_are_refused_or_scored_as_their_base(graded, name):
    scores, run = graded["scores"], graded["run"]
    student = f"attack_{name}"
    if name == "code_beside":  # the notebook is graded, the code beside it never runs
        assert scores[student] == scores[FOLDER_ATTACKS[name]]
        return
    assert student not in scores
    line = next(line for line in run.stdout.splitlines() if line.strip().startswith(f"{student} / {ASSIGNMENT}:"))
    assert "refused" in line or "no 01_sgd.ipynb" in line, line


def test_bystanders_rows_and_files_are_byte_for_byte_unchanged(graded):
    before, after = graded["before"], graded["after"]
    for key in ("rows", "modes", "config", "reference"):
        assert after[key] == before[key], f"{key} changed"
    for folder, files in before["files"].items():
        assert after["files"][folder] == files, f"{folder} changed"


def test_no_secret_in_any_autograded_notebook_or_feedback_of_an_attacker(graded):
    import html

    assert graded["feedback"].returncode == 0, graded["feedback"].stdout + graded["feedback"].stderr
    secrets = graded["secrets"]
    assert len(secrets) > 50  # the check has something to find
    root = graded["course"].root
    pages = [path for folder in ("autograded", "feedback") for path in (root / folder).glob("attack_*/**/*")
             if path.is_file()]
    assert any(path.suffix == ".html" for path in pages) and any(path.suffix == ".ipynb" for path in pages)
    for path in pages:
        text = path.read_text(errors="replace")
        text = html.unescape(text) if path.suffix == ".html" else text
        # a line the student wrote in their own notebook is theirs (a right answer can match the reference)
        student = path.relative_to(root).parts[1]
        own = (root / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text()
        own = own + json.dumps(json.loads(own))
        found = [line for line in secrets if (line in text or json.dumps(line)[1:-1] in text)
                 and json.dumps(line)[1:-1] not in own]
        assert not found, f"{path.relative_to(root)} holds reference lines: {found[:3]}"


@pytest.mark.parametrize("name", ["endless_loop", "endless_cell", "sleepy_cells", "refusal_flood", "json_bomb"])
def test_time_is_bounded_by_the_budget(graded, name):
    seconds = graded["seconds"][f"attack_{name}"]
    assert seconds <= 1.5 * CELL_TIMEOUT + 15, f"{name} took {seconds} s (limit {CELL_TIMEOUT} s per cell)"


def test_output_is_capped(graded):
    root = graded["course"].root / "autograded"
    flood = root / "attack_output_flood" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert flood.stat().st_size < 1_000_000
    assert "more characters of output not kept" in flood.read_text()
    many = root / "attack_printing_cells" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert many.stat().st_size < 1_000_000  # 80 cells x 20,000 kept characters would be 1.6 MB
    assert "the submission printed more than" in many.read_text()


#: attacks whose only trace is the limit that stopped them or the attempt that was named, and that
#: incident: reading the sandbox's call stack (the frames of the code that called the student's function),
#: returning an object that poses as an array, running long, printing a lot, writing a big file, changing
#: another process's scheduling
LIMIT_OR_NAME = {
    "caller_frames": ("refused in the sandbox", "reading the sandbox's frames"),
    "fake_arrays": ("tampered in the sandbox", "student code returned an object posing as an array"),
    "endless_loop": ("stopped at a limit", "time limit"),
    "sleepy_cells": ("stopped at a limit", "time budget"),
    "output_flood": ("stopped at a limit", "output limit"),
    "printing_cells": ("stopped at a limit", "output limit"),
    "big_file": ("stopped at a limit", "file size limit"),
    "scheduling": ("refused in the sandbox", "os."),
}
#: robustness inputs where something was refused (an open of a path outside the sandbox) or broken (the
#: child's pipe); the others refuse or replace nothing: editing test cells, their metadata or adding
#: cells is undone or refused by nbgrader's steps; exiting, looping, running out of memory are a
#: process's own business; the injected traceback changes the child's own reply, which the parent ignores;
#: broken builtins break the child's own reply before it can report them
ROBUSTNESS_INCIDENTS = ("control_characters", "surrogates", "refusal_flood", "json_bomb")


@pytest.mark.parametrize("name", [*EFFECTS, *ROBUSTNESS_INCIDENTS])
def test_attacks_are_recorded_as_incidents(graded, name):
    mine = [incident for incident in graded["incidents"] if incident.student == f"attack_{name}"]
    assert mine, f"no incident recorded for {name}; all incidents:\n" + "\n".join(map(str, graded["incidents"]))
    assert all(incident.assignment == ASSIGNMENT and incident.detail for incident in mine)


@pytest.mark.parametrize("name", sorted(LIMIT_OR_NAME))
def test_limits_and_named_attempts_are_the_incident(graded, name):
    kind, event = LIMIT_OR_NAME[name]
    mine = [incident for incident in graded["incidents"] if incident.student == f"attack_{name}"]
    assert any(incident.kind == kind and incident.detail.startswith(event) for incident in mine), mine


@pytest.mark.parametrize("name", ["input_transformer", "showtraceback", "numpy_allclose", "builtins", "sys_modules",
                                  "import_hook"])
def test_tampering_with_the_students_own_process_is_named(graded, name):
    """Replacing what a grader in the student's process would use is an incident, though it changes no score."""
    mine = [incident for incident in graded["incidents"] if incident.student == f"attack_{name}"]
    assert any(incident.kind == "tampered in the sandbox" and incident.detail.startswith("student code ")
               for incident in mine), mine


def test_honest_submissions_have_no_incident_and_full_marks(graded):
    # what the two odd folders hold beside their notebook is noted (a file ignored, a timestamp refused);
    # nothing their code did is recorded
    honest = [incident for incident in graded["incidents"]
              if incident.student in ("model", "wrong", "blank", *HONEST, "model_odd_file_name", "model_odd_timestamp")
              and not (incident.student.startswith("model_odd_") and incident.kind == "submission folder")]
    assert honest == [], honest
    assert graded["scores"]["model"] == AUTOMATIC_FULL_MARKS
