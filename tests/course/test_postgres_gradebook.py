"""The gradebook on a real PostgreSQL server, through nbgrader's ``CourseDirectory.db_url``.

A multi-user course keeps its gradebook in PostgreSQL (SQLite is not safe for concurrent writers;
see ``instructor/dlopt_course/jupyterhub/instructor/nbgrader_config.py``). This test starts a
throw-away PostgreSQL server from Debian's ``postgresql`` package (``bash .ci/run`` installs it),
runs a real ``generate_assignment`` + ``autograde`` of 01_sgd (the model answer and a wrong answer)
into it, and checks that the scores read back through ``nbgrader.api.Gradebook(db_url)`` equal those
of the same run on the default SQLite gradebook. The course's own ``grade`` then grades the same class
into a second PostgreSQL database, run as an unprivileged account (``tests/unprivileged.py``), and must
write the same scores.

PostgreSQL refuses to run as root: as root (CI) the server runs as the ``postgres`` OS user (via
``runuser``), in a folder it owns; otherwise it runs as the current user. If PostgreSQL is missing,
the test fails (it does not skip: a skip would hide a broken CI install) and says how to install it.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from dlopt_course.nbgrader_course import NbgraderCourse
from dlopt_course.submissions import model_answer, replace_in_solution
from unprivileged import hand_over, run_as_grader, world_folder

ASSIGNMENT = "01_sgd"
SIGN_FLIP = replace_in_solution("sgd_impl", 'w - config["learning_rate"] * dw', 'w + config["learning_rate"] * dw')
DATABASE = "dlopt_gradebook"


def postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        pytest.fail("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): `bash .ci/run` installs "
                    "Debian's postgresql package; on your machine run `apt-get install postgresql`", pytrace=False)
    return Path(found[-1]).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    """A PostgreSQL cluster in a temporary folder, listening on 127.0.0.1 only, trusting local connections."""

    def __init__(self):
        self.bin = postgres_bin()
        self.as_root = os.geteuid() == 0
        # Not under pytest's tmp_path: that folder is private to root, and the server runs as postgres.
        self.base = Path(tempfile.mkdtemp(prefix="dlopt-postgres-"))
        self.data, self.log = self.base / "data", self.base / "server.log"
        self.port = free_port()
        self.started = False
        if self.as_root:
            account = pwd.getpwnam("postgres")
            os.chown(self.base, account.pw_uid, account.pw_gid)

    def _run(self, tool: str, *args: str, timeout: float = 120) -> None:
        command = [str(self.bin / tool), *args]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, cwd=self.base, capture_output=True, text=True, timeout=timeout,
                                stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}{result.stderr}\n{log}")

    def start(self) -> "PostgresServer":
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.started = True  # from here on, stop() must run even if start fails half-way
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")
        import psycopg  # the driver SQLAlchemy 2 (so nbgrader) uses for postgresql:// URLs

        # CREATE DATABASE cannot run inside a transaction: autocommit.
        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres",
                             connect_timeout=30, autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {DATABASE}")
            connection.execute(f"CREATE DATABASE {DATABASE}_grade")
        return self

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def url_for_grade(self) -> str:
        """A second database, for the class graded by the course's ``grade``."""
        return f"{self.url}_grade"

    def stop(self) -> None:
        try:
            if self.started and (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "60", "stop", timeout=90)
        finally:
            shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture(scope="module")
def postgres(request):
    server = PostgresServer()
    request.addfinalizer(server.stop)
    return server.start()


def grade(course: NbgraderCourse, *db: str) -> None:
    """generate + submit (model, sign flipped) + autograde, all against the gradebook ``db`` names."""
    course.run("generate_assignment", ASSIGNMENT, "--force", *db)
    source, release = course.source(ASSIGNMENT), course.release(ASSIGNMENT)
    course.submit("model", ASSIGNMENT, model_answer(source, release))
    course.submit("sign_flipped", ASSIGNMENT, model_answer(source, release, edit=SIGN_FLIP))
    course.autograde(ASSIGNMENT, *db)


def read_scores(db_url: str) -> dict:
    """``{student: (score, max_score, {grade_id: score})}`` read through nbgrader's Gradebook API."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gradebook:
        return {
            submission.student_id: (
                submission.score,
                submission.max_score,
                {grade.name: grade.score
                 for grade in gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, submission.student_id).grades},
            )
            for submission in gradebook.assignment_submissions(ASSIGNMENT)
        }


@pytest.fixture(scope="module")
def both_gradebooks(postgres, tmp_path_factory, course_root):
    on_sqlite = NbgraderCourse.copy_of(course_root, tmp_path_factory.mktemp("sqlite_course"), [ASSIGNMENT])
    grade(on_sqlite)
    on_postgres = NbgraderCourse.copy_of(course_root, tmp_path_factory.mktemp("postgres_course"), [ASSIGNMENT])
    grade(on_postgres, f"--CourseDirectory.db_url={postgres.url}")
    return on_sqlite, on_postgres, postgres


def test_grade_writes_the_same_scores_into_postgres_as_an_ordinary_user(both_gradebooks):
    import sys

    on_sqlite, _, postgres = both_gradebooks
    course = NbgraderCourse.copy_of(on_sqlite.root.parent / on_sqlite.root.name, world_folder("dlopt-pg-") / "c",
                                    [ASSIGNMENT])
    with open(course.root / "nbgrader_config.py", "a") as config:
        config.write(f"\nc.CourseDirectory.db_url = {postgres.url_for_grade!r}\n")
    course.run("generate_assignment", ASSIGNMENT, "--force")
    source, release = course.source(ASSIGNMENT), course.release(ASSIGNMENT)
    course.submit("model", ASSIGNMENT, model_answer(source, release))
    course.submit("sign_flipped", ASSIGNMENT, model_answer(source, release, edit=SIGN_FLIP))
    hand_over(course.root)
    run = run_as_grader([sys.executable, "-m", "dlopt_course", "grade", ASSIGNMENT, "--root",
                         str(course.root), "--workers", "2", "--no-progress"], timeout=900)
    assert run.returncode == 0, run.stdout + run.stderr
    assert read_scores(postgres.url_for_grade) == read_scores(f"sqlite:///{on_sqlite.root / 'gradebook.db'}")
    assert not (course.root / "gradebook.db").exists()


def test_postgres_gradebook_holds_the_same_scores_as_sqlite(both_gradebooks):
    on_sqlite, on_postgres, postgres = both_gradebooks
    sqlite_scores = read_scores(f"sqlite:///{on_sqlite.root / 'gradebook.db'}")
    postgres_scores = read_scores(postgres.url)
    assert postgres_scores == sqlite_scores
    assert postgres_scores["model"][:2] == (24, 30)  # the 6 points of the written answers are graded by hand
    assert 0 < postgres_scores["sign_flipped"][0] < 24
    assert postgres_scores["sign_flipped"][2]["sgd_hidden"] == 0


def test_postgres_run_wrote_no_sqlite_gradebook(both_gradebooks):
    _, on_postgres, _ = both_gradebooks
    assert not (on_postgres.root / "gradebook.db").exists()
