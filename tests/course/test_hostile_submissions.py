"""Hostile submissions, graded through the real pipeline (``python -m dlopt_reference.course grade``).

One class of ``01_sgd``: honest bystanders (``model``, ``wrong``) are graded first; then every
attacker, each one submission of one attack class added to a blank or a wrong answer (its *base*,
graded too, as its own student). After the attackers are graded:

- no attack scores more than its base (the three attacks of the issue score exactly their base);
- the bystanders' gradebook rows and every file of theirs are byte-for-byte unchanged, and so are the
  course's sources and the reference package;
- each attack that the sandbox or the locked kernel refused, or that made the two verdicts disagree,
  is recorded as an incident naming the student.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from dlopt_reference.course.integrity import INCIDENTS_NAME, read_incidents
from dlopt_reference.course.nbgrader_course import NbgraderCourse
from dlopt_reference.course.submissions import model_answer, replace_in_solution

ASSIGNMENT = "01_sgd"
CELL_TIMEOUT = 15  # seconds per cell, in nbgrader and in the regrade (an endless loop costs this much)
WRONG = replace_in_solution("sgd_impl", 'w - config["learning_rate"] * dw', 'w + config["learning_rate"] * dw')

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
                             "libc.system(b'sqlite3 {main_db} \"UPDATE grade SET manual_score = 100\"')"),
    # 9. exhausting time, memory, output or processes; killing the kernel or the grader
    "endless_loop": ("blank", "def sgd(w, dw, config=None):\n    while True:\n        pass"),
    "memory": ("blank", "import numpy as np\ndef sgd(w, dw, config=None):\n"
                        "    hog = np.ones((1024, 1024, 1024), dtype=np.float64)  # 8 GiB\n    return w, config"),
    "output_flood": ("blank", "for _ in range(40):\n    print('x' * 100_000)"),
    "processes": ("blank", "import os, subprocess\n"
                           "try:\n    subprocess.Popen(['sleep', '600'])\nexcept Exception:\n    pass\n"
                           "try:\n    os.fork()\nexcept Exception:\n    pass"),
    "kill_the_grader": ("blank", "import os, signal\nfor pid in (os.getppid(), os.getpgid(0)):\n"
                                 "    try:\n        os.kill(pid, signal.SIGKILL)\n    except Exception:\n        pass"),
    "kernel_exit": ("blank", "import os\nos._exit(0)"),
}
ISSUE_ATTACKS = ("input_transformer", "numpy_allclose", "gradebook")


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


def _grade(root: Path, *students: str) -> subprocess.CompletedProcess:
    bin_dir = str(Path(sys.executable).parent)
    env = dict(os.environ, PATH=os.pathsep.join([bin_dir, os.environ.get("PATH", "")]))
    selection = [arg for student in students for arg in ("--student", student)]
    return subprocess.run([sys.executable, "-m", "dlopt_reference.course", "grade", ASSIGNMENT, "--root", str(root),
                           "--workers", "2", "--no-progress", *selection],
                          capture_output=True, text=True, timeout=3600, env=env)


@pytest.fixture(scope="module")
def graded(tmp_path_factory, course_root):
    course = NbgraderCourse.copy_of(course_root, tmp_path_factory.mktemp("hostile") / "course", [ASSIGNMENT])
    with open(course.root / "nbgrader_config.py", "a") as config:
        config.write(f"\nc.Execute.timeout = {CELL_TIMEOUT}\n")
    course.generate(ASSIGNMENT)
    source, release = course.source(ASSIGNMENT), course.release(ASSIGNMENT)
    bases = {"blank": release, "wrong": model_answer(source, release, edit=WRONG)}
    course.submit("model", ASSIGNMENT, model_answer(source, release))
    course.submit("wrong", ASSIGNMENT, bases["wrong"])
    bystanders = _grade(course.root, "model", "wrong")
    assert bystanders.returncode == 0, bystanders.stdout + bystanders.stderr

    database = course.root / "gradebook.db"
    import dlopt_reference.optim

    reference = Path(dlopt_reference.optim.__file__).resolve().parent
    values = {"main_db": str(database), "main_root": str(course.root), "optim": str(reference / "optim.py")}
    course.submit("blank", ASSIGNMENT, release)
    for name, (base, code) in ATTACKS.items():
        notebook = _edit_tests(bases[base]) if code is None else _with_cell(bases[base], _fill(code, values))
        course.submit(f"attack_{name}", ASSIGNMENT, notebook)

    before = {
        "rows": _rows(database, ["model", "wrong"]),
        "files": {folder: _tree(course.root / folder) for folder in
                  ("autograded/model", "autograded/wrong", "submitted/model", "submitted/wrong", "exercises")},
        "config": _sha(course.root / "nbgrader_config.py"),
        "reference": _tree(reference),
    }
    attackers = ["blank", *(f"attack_{name}" for name in ATTACKS)]
    run = _grade(course.root, *attackers)
    after = {
        "rows": _rows(database, ["model", "wrong"]),
        "files": {folder: _tree(course.root / folder) for folder in before["files"]},
        "config": _sha(course.root / "nbgrader_config.py"),
        "reference": _tree(reference),
    }
    return {"course": course, "run": run, "before": before, "after": after, "scores": _scores(database),
            "incidents": read_incidents(course.root / "autograded" / INCIDENTS_NAME)}


def test_the_grader_survives_every_attack(graded):
    run = graded["run"]
    assert "Traceback" not in run.stderr[-3000:], run.stdout[-3000:] + run.stderr[-3000:]
    assert "graded " in run.stdout, run.stdout + run.stderr


@pytest.mark.parametrize("name", list(ATTACKS))
def test_no_attack_scores_more_than_its_base(graded, name):
    scores = graded["scores"]
    base = ATTACKS[name][0]
    assert scores["model"] > scores["wrong"] > scores.get("blank", 0.0) == 0.0
    attack = scores.get(f"attack_{name}", 0.0)  # not graded at all (its kernel died) counts as nothing
    assert attack <= scores[base], (f"attack {name!r} scored {attack}, its base {base!r} {scores[base]}\n"
                                    + graded["run"].stdout[-2000:])
    if name in ISSUE_ATTACKS:
        assert attack == scores[base]


def test_bystanders_rows_and_files_are_byte_for_byte_unchanged(graded):
    before, after = graded["before"], graded["after"]
    assert after["rows"] == before["rows"]
    for folder, files in before["files"].items():
        assert after["files"][folder] == files, f"{folder} changed"
    assert after["config"] == before["config"]
    assert after["reference"] == before["reference"]


@pytest.mark.parametrize("name", ["input_transformer", "numpy_allclose", "gradebook", "call_the_reference",
                                  "reference_source_from_disk", "processes", "kill_the_grader", "ctypes_libc",
                                  "other_files", "grading_module"])
def test_attacks_are_recorded_as_incidents(graded, name):
    mine = [incident for incident in graded["incidents"] if incident.student == f"attack_{name}"]
    assert mine, f"no incident recorded for {name}; all incidents:\n" + "\n".join(map(str, graded["incidents"]))
    assert all(incident.assignment == ASSIGNMENT and incident.detail for incident in mine)


def test_honest_submissions_have_no_incident_and_full_marks(graded):
    honest = [incident for incident in graded["incidents"] if incident.student in ("model", "wrong", "blank")]
    assert honest == []
    assert graded["scores"]["model"] == 9.0
