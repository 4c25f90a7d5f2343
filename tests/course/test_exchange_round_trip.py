"""The multi-user path: the full nbgrader exchange round trip, with a local exchange folder and three students.

instructor ``generate_assignment`` + ``release_assignment`` -> each student ``fetch_assignment`` -> edits
-> ``submit`` -> instructor ``collect`` -> ``autograde`` -> ``generate_feedback`` -> ``release_feedback``
-> each student ``fetch_feedback`` and reads their own feedback.

Each student is a separate home folder (``HOME``, ``JUPYTER_CONFIG_DIR``, ``JUPYTER_DATA_DIR`` point into
it) with its own ``nbgrader_config.py``: the course's example student config
(``instructor/dlopt_course/jupyterhub/student/nbgrader_config.py``) with the paths of this test
appended. nbgrader's exchange names a submission after the OS user unless
``CourseDirectory.student_id`` is set (``nbgrader/exchange/default/submit.py``, ``fetch_feedback.py``):
all students here are the same OS user, so each config sets it. ``fetch_feedback`` finds a student's
submissions in their own cache (``Exchange.cache``, by default in ``JUPYTER_DATA_DIR``).

Permissions: the exchange root must exist and be writable by everyone (mode 777, as on a real
multi-user machine); nbgrader creates ``dlopt/outbound`` (755), ``dlopt/inbound`` (733, set-GID) and
``dlopt/feedback`` itself. CI runs as root, where the mode checks pass anyway; the modes nbgrader
sets are asserted so that a real deployment's layout is what this test sees.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from dlopt_course.leaks import forbidden_markers, scan
from dlopt_course.nbgrader_course import NbgraderCourse
from dlopt_course.submissions import model_answer, replace_in_solution
from wrong_answers import visible_text

ASSIGNMENT = "01_sgd"
COURSE_ID = "dlopt"
EXAMPLE_STUDENT_CONFIG = (Path(__file__).resolve().parents[2] / "instructor" / "dlopt_course"
                          / "jupyterhub" / "student" / "nbgrader_config.py")
SIGN_FLIP = replace_in_solution("sgd_impl", 'w - config["learning_rate"] * dw', 'w + config["learning_rate"] * dw')


class Student:
    """One student: a home folder with its own nbgrader configuration, running nbgrader's student commands."""

    def __init__(self, name: str, home: Path, exchange: Path):
        self.name, self.home = name, home
        home.mkdir(parents=True)
        config = EXAMPLE_STUDENT_CONFIG.read_text() + (
            "\n# --- this test's paths (a JupyterHub user's home and the shared exchange) ---\n"
            f"c.CourseDirectory.root = {str(home)!r}\n"
            f"c.Exchange.root = {str(exchange)!r}\n"
            f"c.CourseDirectory.course_id = {COURSE_ID!r}\n"
            # All test students are one OS user: name each submission after the student, not the OS user.
            f"c.CourseDirectory.student_id = {name!r}\n"
        )
        (home / "nbgrader_config.py").write_text(config)

    def run(self, *args: str) -> str:
        executable = Path(sys.executable).with_name("nbgrader")
        command = [str(executable) if executable.exists() else "nbgrader", *args]
        env = dict(
            os.environ,
            HOME=str(self.home),
            JUPYTER_CONFIG_DIR=str(self.home / ".jupyter"),
            JUPYTER_DATA_DIR=str(self.home / ".local" / "share" / "jupyter"),
            JUPYTER_RUNTIME_DIR=str(self.home / ".local" / "share" / "jupyter" / "runtime"),
            PATH=os.pathsep.join([str(executable.parent), os.environ.get("PATH", "")]),
        )
        result = subprocess.run(command, cwd=self.home, env=env, capture_output=True, text=True, timeout=300)
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"student {self.name}: {' '.join(args)} failed:\n{output}"
        return output

    @property
    def notebook(self) -> Path:
        return self.home / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"

    def feedback_files(self) -> list[Path]:
        return sorted((self.home / ASSIGNMENT / "feedback").glob(f"*/{ASSIGNMENT}.html"))


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory, course_root):
    base = tmp_path_factory.mktemp("exchange_round_trip")
    exchange = base / "exchange"
    exchange.mkdir()
    exchange.chmod(0o777)  # a pre-existing, world-writable exchange root, as nbgrader requires

    course = NbgraderCourse.copy_of(course_root, base / "instructor", [ASSIGNMENT])
    on_exchange = (f"--Exchange.root={exchange}", f"--CourseDirectory.course_id={COURSE_ID}")
    course.generate(ASSIGNMENT)
    course.run("release_assignment", ASSIGNMENT, *on_exchange)

    students = {name: Student(name, base / "home" / name, exchange) for name in ("alice", "bob", "carol")}
    fetched = {}
    for name, student in students.items():
        student.run("fetch_assignment", ASSIGNMENT)
        fetched[name] = nbformat.read(student.notebook, as_version=4)

    source = course.source(ASSIGNMENT)
    edits = {"alice": model_answer, "bob": lambda s, r: model_answer(s, r, edit=SIGN_FLIP), "carol": None}
    for name, make in edits.items():
        student = students[name]
        if make is not None:  # carol submits the release untouched
            nbformat.write(make(source, fetched[name]), student.notebook)
        student.run("submit", ASSIGNMENT)

    course.run("collect", ASSIGNMENT, *on_exchange)
    course.autograde(ASSIGNMENT)
    course.generate_feedback(ASSIGNMENT)
    course.run("release_feedback", ASSIGNMENT, *on_exchange)
    for student in students.values():
        student.run("fetch_feedback", ASSIGNMENT)
    return course, students, exchange, fetched


def test_exchange_folders_have_nbgrader_modes(round_trip):
    _, _, exchange, _ = round_trip
    modes = {name: stat.S_IMODE((exchange / COURSE_ID / name).stat().st_mode) for name in ("outbound", "inbound")}
    # inbound: students may write (submit) but not list it, and it is set-GID (submissions get the course group)
    assert modes == {"outbound": 0o755, "inbound": 0o2733}
    assert (exchange / COURSE_ID / "outbound" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()


def test_each_student_fetched_the_release_not_the_source(round_trip, course_root):
    course, students, _, fetched = round_trip
    release = [cell.source for cell in course.release(ASSIGNMENT).cells]
    for name in students:
        assert [cell.source for cell in fetched[name].cells] == release, f"{name} fetched something else"
    leaks = scan([students["carol"].notebook], forbidden_markers(course_root))  # carol submitted it untouched
    assert leaks == [], "\n".join(map(str, leaks))


def test_collect_named_submissions_after_the_students(round_trip):
    course, students, exchange, _ = round_trip
    inbound = sorted(path.name.split("+")[0] for path in (exchange / COURSE_ID / "inbound").iterdir())
    assert inbound == sorted(students)
    for name in students:
        assert (course.root / "submitted" / name / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()


def test_scores_full_less_zero(round_trip):
    course, _, _, _ = round_trip
    scores = course.scores(ASSIGNMENT)
    # of 01_sgd's 30 points, its two written answers (6) wait for an instructor: the model earns the other 24
    assert scores["alice"] == (24, 30)
    assert 0 < scores["bob"][0] < 24 and scores["bob"][1] == 30
    assert scores["carol"] == (0, 30)
    cells = course.cell_scores("bob", ASSIGNMENT)
    assert cells["sgd_hidden"] == 0 and cells["minibatches_hidden"] == 4


def test_each_student_fetched_their_own_feedback_with_the_right_diagnosis(round_trip):
    _, students, _, _ = round_trip
    feedback = {}
    for name, student in students.items():
        files = student.feedback_files()
        assert len(files) == 1, f"{name} fetched {files}"
        feedback[name] = visible_text(files[0].read_text())
    totals = {name: re.search(r"Score: ([0-9.]+) / ([0-9.]+)", text).groups() for name, text in feedback.items()}
    assert totals["alice"] == ("24.0", "30.0") and totals["carol"] == ("0.0", "30.0")
    assert 0 < float(totals["bob"][0]) < 24
    assert "sign of the update is flipped" in feedback["bob"].lower()
    assert "implemented yet" in feedback["carol"].lower()  # the grader's diagnosis of an untouched stub
    for diagnosis in ("sign of the update is flipped", "implemented yet"):
        assert diagnosis not in feedback["alice"].lower()
