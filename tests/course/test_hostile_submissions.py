"""Hostile submissions, graded through the real pipeline (``python -m dlopt_reference.course grade``).

One class of ``01_sgd``, graded by ``grade`` run as an unprivileged account (``tests/unprivileged.py``):
honest bystanders (``model``, ``wrong``) are graded first; then every attacker, each one submission of
one attack added to a blank or a wrong answer (its *base*, graded too, as its own student), and the
submission folders that attack the grader with their files (links, hard links, code beside the
notebook). After the attackers are graded and their feedback generated:

- no attack scores more than its base, and every attacker whose notebook could be read has a score
  (breaking the process that runs it never leaves a submission ungraded);
- the bystanders' gradebook rows and every file of theirs are byte-for-byte unchanged, and so are the
  course's sources, its configuration and the reference package;
- no autograded notebook or feedback page of an attacker holds a line of the reference package;
- nothing an attacker printed reaches the grader's terminal, and no descriptor of the grader reached it;
- time is bounded: a submission that loops forever or sleeps in every cell costs at most 1.5 times the
  per-cell limit (plus the start of its process);
- each attack is recorded as an incident naming the student; honest students have none.

The kernel's part of the boundary (what holds when the audit hook that names incidents is walked
around) is attacked directly, without the hook, in ``tests/grading/test_confine.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from dlopt_reference.course.integrity import INCIDENTS_NAME, read_incidents
from dlopt_reference.course.nbgrader_course import NbgraderCourse
from dlopt_reference.course.submissions import model_answer, replace_in_solution
from unprivileged import hand_over, run_as_grader, world_folder

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
import os, sys
for fd in range(1024):
    try:
        os.fstat(fd)
    except OSError:
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


# name -> (base, code added as a new cell right after the sgd_impl cell, or a replacement of the stub)
ATTACKS = {
    # 1. IPython kernel tampering
    "input_transformer": ("blank", "get_ipython().input_transformers_post.append(lambda lines: ['pass\\n'])"),
    "custom_exception_handler": ("blank", "get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)"),
    "showtraceback": ("blank", "ip = get_ipython()\nip.showtraceback = lambda *a, **k: None\n"
                               "ip._showtraceback = lambda *a, **k: None"),
    "excepthook_and_displayhook": ("blank", "import sys\nsys.excepthook = lambda *a: None\n"
                                            "sys.displayhook = lambda *a: None"),
    # 2. monkeypatching numpy, builtins, the grading module, the reference
    "numpy_allclose": ("wrong", "import numpy as np\nnp.allclose = lambda *a, **k: True\n"
                                "np.array_equal = lambda *a, **k: True\nnp.isclose = lambda *a, **k: True\n"
                                "np.testing.assert_allclose = lambda *a, **k: None"),
    "builtins": ("blank", "import builtins\nbuiltins.isinstance = lambda *a: True\nbuiltins.AssertionError = "
                          "type('Nothing', (Exception,), {})\nbuiltins.NotImplementedError = builtins.AssertionError"),
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
    # 4. reading the grader's values from caller frames and globals
    "caller_frames": ("blank", "import sys, numpy as np\n"
                               "def sgd(w, dw, config=None):\n"
                               "    frame = sys._getframe(1)\n"
                               "    while frame is not None:\n"
                               "        for value in list(frame.f_locals.values()):\n"
                               "            if isinstance(value, np.ndarray) and value.shape == np.shape(w) and value is not w "
                               "and value is not dw:\n"
                               "                return value, config or {}\n"
                               "        frame = frame.f_back\n"
                               "    return w, config or {}"),
    # 5. importing or calling the reference, reading its source from disk
    "call_the_reference": ("blank", "from dlopt_reference.optim import sgd\n"
                                    "from dlopt_reference.data import minibatches\n"
                                    "from dlopt_reference.lr_range import lr_range_test"),
    "reference_source_from_disk": ("blank", "exec(open({optim!r}).read())"),
    # 6. objects that fake array behaviour
    "fake_arrays": ("blank", "import numpy as np\n"
                             "class Anything(np.ndarray):\n"
                             "    def __eq__(self, other): return np.ones(np.shape(other), bool)\n"
                             "    def __array_ufunc__(self, *a, **k): return True\n"
                             "    def __array_function__(self, *a, **k): return True\n"
                             "    def __sub__(self, other): return np.zeros(np.shape(other))\n"
                             "    __rsub__ = __sub__\n"
                             "def sgd(w, dw, config=None):\n"
                             "    return np.zeros(np.shape(w)).view(Anything), dict(config or {})"),
    # 7. editing or deleting test cells and their metadata (see _edit_tests)
    "edited_test_cells": ("blank", None),
    # 8. the gradebook, other students' files, the course's sources
    "gradebook": ("blank", GRADEBOOK_ATTACK),
    "other_files": ("blank", FILES_ATTACK),
    "ctypes_libc": ("blank", "import ctypes\nlibc = ctypes.CDLL(None)\n"
                             "libc.unlink({main_db!r}.encode())\nlibc.system(b'rm -rf {main_root}/exercises')"),
    # 9. exhausting time, memory, output or processes; killing the kernel or the grader
    "endless_loop": ("blank", "def sgd(w, dw, config=None):\n    while True:\n        pass"),
    "memory": ("blank", "import numpy as np\ndef sgd(w, dw, config=None):\n"
                        "    hog = np.ones((1024, 1024, 1024), dtype=np.float64)  # 8 GiB\n    return w, config"),
    "output_flood": ("blank", "for _ in range(40):\n    print('x' * 100_000)"),
    "processes": ("blank", "import os, subprocess\n"
                           "try:\n    subprocess.Popen(['sleep', '600'])\nexcept Exception:\n    pass\n"
                           "try:\n    os.fork()\nexcept Exception:\n    pass"),
    "kill_the_grader": ("blank", "import os, signal\nfor pid in (os.getppid(), -os.getpgid(0), -1):\n"
                                 "    try:\n        os.kill(pid, signal.SIGKILL)\n    except Exception:\n        pass"),
    "kernel_exit": ("blank", "import os\nos._exit(0)"),
    "endless_cell": ("blank", "while True:\n    pass"),
    "sleepy_cells": ("blank", None),  # every cell sleeps just under the limit (see _sleepy)
    "printing_cells": ("blank", None),  # 80 cells, each printing as much as a cell may keep (see _printing)
    "big_file": ("blank", "with open('big', 'wb') as handle:\n    handle.write(b'x' * (200 * 1024 ** 2))"),
    "chmod": ("blank", "import os\nfor path in ({main_db!r}, {source_notebook!r}, {model_notebook!r}):\n"
                       "    for mode in (0, 0o777):\n        try:\n            os.chmod(path, mode)\n"
                       "        except Exception:\n            pass"),
    "socket": ("blank", "import socket\nsocket.create_connection(('127.0.0.1', 5432), timeout=1)"),
    # 10. the boundary of the kernel: descriptors, paths relative to another folder, /proc, links
    "dir_fd_read": ("wrong", DIR_FD_READ),
    "dir_fd_write": ("blank", DIR_FD_WRITE),
    "proc_and_links": ("blank", PROC_AND_LINKS),
    "descriptors": ("blank", DESCRIPTORS),
    "secrets_to_feedback": ("blank", SECRETS_TO_FEEDBACK),
    # 11. text meant for the grader's terminal, log and other students' feedback; odd text and metadata
    "control_characters": ("blank", "for path in ('/nonexistent\\n{fake}\\nx', '/x\\x1b[2J\\x1b[H\\r{fake}'):\n"
                                    "    try:\n        open(path)\n    except Exception:\n        pass"),
    "surrogates": ("wrong", "try:\n    open('/nonexistent-\\udcff')\nexcept Exception:\n    pass\n"
                            "print('hello \\udcff')\ntry:\n    raise ValueError('bad \\udcff value')\n"
                            "except ValueError:\n    pass"),
    "refusal_flood": ("blank", REFUSAL_FLOOD),
    "json_bomb": ("blank", JSON_BOMB),
    "traceback_injection": ("blank", TRACEBACK_INJECTION),
    "scheduling": ("blank", "import os\nfor pid in range(1, 5000):\n    for change in (\n"
                            "            lambda: os.setpriority(os.PRIO_PROCESS, pid, 19),\n"
                            "            lambda: os.sched_setaffinity(pid, {0})):\n"
                            "        try:\n            change()\n        except OSError:\n            pass"),
    "metadata_edits": ("wrong", None),  # test cells made solutions, ungraded, worth "lots" (see _edit_metadata)
    "many_cells": ("blank", None),  # 3,000 cells with made-up grade ids (see _many_cells)
}

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
ISSUE_ATTACKS = ("input_transformer", "numpy_allclose", "gradebook", "dir_fd_read", "dir_fd_write")
#: attacks whose base is scored exactly (the attack changes nothing the checks see)
EXACT = ISSUE_ATTACKS + ("proc_and_links", "descriptors", "secrets_to_feedback", "chmod", "socket", "code_beside",
                         "surrogates", "control_characters", "scheduling", "metadata_edits")


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
    return run_as_grader([sys.executable, "-m", "dlopt_reference.course", "grade", ASSIGNMENT, "--root", str(root),
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
    import dlopt_reference.optim

    reference = Path(dlopt_reference.optim.__file__).resolve().parent
    values = {"sandbox": str(reference / "isolation" / "sandbox.py"), "main_db": str(database), "main_root": str(course.root), "optim": str(reference / "optim.py"),
              "source_notebook": str(course.root / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"),
              "model_notebook": str(course.root / "submitted" / "model" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"),
              "fake": FAKE}
    course.submit("blank", ASSIGNMENT, release)
    for name, (base, code) in ATTACKS.items():
        if name == "edited_test_cells":
            notebook = _edit_tests(bases[base])
        elif name == "sleepy_cells":
            notebook = _sleepy(bases[base])
        elif name == "printing_cells":
            notebook = _printing(bases[base])
        elif name == "metadata_edits":
            notebook = _edit_metadata(bases[base])
        elif name == "many_cells":
            notebook = _many_cells(bases[base])
        else:
            notebook = _with_cell(bases[base], _fill(code, values))
        course.submit(f"attack_{name}", ASSIGNMENT, notebook)
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

    before = {
        "rows": _rows(database, ["model", "wrong"]),
        "files": {folder: _tree(course.root / folder) for folder in
                  ("autograded/model", "autograded/wrong", "submitted/model", "submitted/wrong", "exercises")},
        "config": _sha(course.root / "nbgrader_config.py"),
        "reference": _tree(reference),
    }
    attackers = ["blank", *(f"attack_{name}" for name in [*ATTACKS, *FOLDER_ATTACKS]), *HONEST,
                 "model_odd_file_name", "model_odd_timestamp"]
    run = _grade(course.root, *attackers)
    after = {
        "rows": _rows(database, ["model", "wrong"]),
        "files": {folder: _tree(course.root / folder) for folder in before["files"]},
        "config": _sha(course.root / "nbgrader_config.py"),
        "reference": _tree(reference),
    }
    feedback = run_as_grader([str(Path(sys.executable).with_name("nbgrader")), "generate_feedback", ASSIGNMENT,
                              "--force"], cwd=course.root, timeout=1800)
    release_text = (course.root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text()
    return {"course": course, "run": run, "before": before, "after": after, "scores": _scores(database),
            "incidents": read_incidents(course.root / "autograded" / INCIDENTS_NAME), "feedback": feedback,
            "secrets": _secret_lines(reference, release_text),
            "seconds": _seconds((course.root / "autograded" / "grade_class.log").read_text())}


def test_the_grader_survives_every_attack(graded):
    run = graded["run"]
    assert "Traceback" not in run.stdout + run.stderr, run.stdout[-3000:] + run.stderr[-3000:]
    assert run.returncode == 1  # the refused folders are reported as not graded
    # blank, every notebook attack but the one with too many cells, the notebook beside code, the honest ones
    graded_count = 1 + len(ATTACKS) - 1 + 1 + len(HONEST) + 2
    assert f"graded {graded_count}, " in run.stdout, run.stdout + run.stderr


def test_nothing_of_an_attacker_reaches_the_graders_terminal(graded):
    """No line of ``grade``'s output is an attacker's (an incident quotes them escaped, on its own line)."""
    run = graded["run"]
    lines = (run.stdout + run.stderr).splitlines()
    assert not [line for line in lines if line.lstrip().startswith(("FAKE", "\r"))]
    assert "\x1b" not in run.stdout + run.stderr
    log = (graded["course"].root / "autograded" / "grade_class.log").read_text()
    assert not [line for line in log.splitlines() if line.lstrip().startswith("FAKE")]


def test_right_answers_written_as_students_write_them_get_full_marks(graded):
    for student in [*HONEST, "model_odd_file_name", "model_odd_timestamp"]:
        assert graded["scores"].get(student) == 9.0, (student, graded["run"].stdout[-3000:])


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


@pytest.mark.parametrize("name", [name for name in ATTACKS if name != "many_cells"])
def test_no_attack_scores_more_than_its_base_and_each_is_scored(graded, name):
    scores = graded["scores"]
    base = ATTACKS[name][0]
    assert scores["model"] > scores["wrong"] > scores.get("blank", 0.0) == 0.0
    assert f"attack_{name}" in scores, f"attack {name!r} was not graded:\n{graded['run'].stdout[-3000:]}"
    attack = scores[f"attack_{name}"]
    assert attack <= scores[base], (f"attack {name!r} scored {attack}, its base {base!r} {scores[base]}\n"
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
    assert after["rows"] == before["rows"]
    for folder, files in before["files"].items():
        assert after["files"][folder] == files, f"{folder} changed"
    assert after["config"] == before["config"]
    assert after["reference"] == before["reference"]


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


# Attacks on the student's own process only (IPython's transformers, numpy's functions, builtins) change
# nothing the grader uses and touch nothing outside: nothing is refused, so they leave no incident.
@pytest.mark.parametrize("name", ["gradebook", "call_the_reference",
                                  "reference_source_from_disk", "processes", "kill_the_grader", "ctypes_libc",
                                  "other_files", "grading_module", "dir_fd_read", "dir_fd_write", "proc_and_links",
                                  "secrets_to_feedback", "chmod", "socket", "descriptors", "control_characters",
                                  "refusal_flood", "json_bomb", *FOLDER_ATTACKS])
def test_attacks_are_recorded_as_incidents(graded, name):
    mine = [incident for incident in graded["incidents"] if incident.student == f"attack_{name}"]
    assert mine, f"no incident recorded for {name}; all incidents:\n" + "\n".join(map(str, graded["incidents"]))
    assert all(incident.assignment == ASSIGNMENT and incident.detail for incident in mine)


def test_honest_submissions_have_no_incident_and_full_marks(graded):
    honest = [incident for incident in graded["incidents"] if incident.student in ("model", "wrong", "blank")]
    assert honest == []
    assert graded["scores"]["model"] == 9.0
