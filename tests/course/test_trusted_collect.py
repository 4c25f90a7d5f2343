"""``nbgrader collect`` with the course's collector: times the student cannot forge, no link followed.

An exchange's inbound folder holds what the students' own processes wrote. Two hostile submissions:
``forger`` claims (in its folder name, its ``timestamp.txt`` and its files' modification times) that it
was handed in in 2020; ``linker`` hands in a link to the instructor's source notebook. With stock
``nbgrader collect`` both work (the control: the 2020 time is believed, the link is copied as the model
answer). With ``c.ExchangeFactory.collect = "dlopt_course.trusted_collect.TrustedCollect"`` the
time is the kernel's change time (never earlier than the last change) and the link is left out; ``grade``
then records that time and the lateness that follows from it.
"""

from __future__ import annotations

import datetime
import os
import sys
from pathlib import Path

import nbformat
import pytest

from dlopt_course.nbgrader_course import NbgraderCourse
from dlopt_course.submissions import model_answer
from unprivileged import hand_over, run_as_grader, world_folder

ASSIGNMENT = "01_sgd"
COURSE_ID = "dlopt"
CLAIMED = "2020-01-01 00:00:00.000000 UTC"
TRUSTED = 'c.ExchangeFactory.collect = "dlopt_course.trusted_collect.TrustedCollect"\n'
STOCK = 'c.ExchangeFactory.collect = "nbgrader.exchange.default.collect.ExchangeCollect"\n'


def _course(base: Path, exchange: Path, course_root: Path, trusted: bool) -> NbgraderCourse:
    course = NbgraderCourse.copy_of(course_root, base, [ASSIGNMENT])
    with open(course.root / "nbgrader_config.py", "a") as config:
        config.write(f"\nc.Exchange.root = {str(exchange)!r}\nc.CourseDirectory.course_id = {COURSE_ID!r}\n"
                     + (TRUSTED if trusted else STOCK))  # the course's own config selects the trusted one
    course.generate(ASSIGNMENT)
    return course


def _hand_in(exchange: Path, course: NbgraderCourse) -> None:
    """The two hostile inbound records, as a student's process could write them."""
    inbound = exchange / COURSE_ID / "inbound"
    inbound.mkdir(parents=True, exist_ok=True)
    forger = inbound / f"forger+{ASSIGNMENT}+{CLAIMED}+x1"
    forger.mkdir()
    nbformat.write(model_answer(course.source(ASSIGNMENT), course.release(ASSIGNMENT)), forger / f"{ASSIGNMENT}.ipynb")
    (forger / "timestamp.txt").write_text(CLAIMED)
    past = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc).timestamp()
    for path in (forger / f"{ASSIGNMENT}.ipynb", forger / "timestamp.txt", forger):
        os.utime(path, (past, past))
    linker = inbound / f"linker+{ASSIGNMENT}+{CLAIMED}+x2"
    linker.mkdir()
    (linker / f"{ASSIGNMENT}.ipynb").symlink_to(course.root / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")


@pytest.fixture(scope="module")
def collected(course_root):
    base = world_folder("dlopt-collect-")
    started = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - datetime.timedelta(seconds=2)
    runs = {}
    for trusted in (False, True):
        exchange = base / f"exchange-{trusted}"
        exchange.mkdir()
        course = _course(base / f"course-{trusted}", exchange, course_root, trusted)
        _hand_in(exchange, course)
        output = course.run("collect", ASSIGNMENT)
        runs[trusted] = (course, output)
    return runs, started


def _collected_time(course: NbgraderCourse, student: str) -> datetime.datetime:
    from nbgrader.utils import parse_utc

    return parse_utc((course.root / "submitted" / student / ASSIGNMENT / "timestamp.txt").read_text())


def test_stock_collect_believes_the_claimed_time_and_follows_the_link(collected):
    runs, _ = collected
    stock, _ = runs[False]
    assert _collected_time(stock, "forger") == datetime.datetime(2020, 1, 1)
    copied = stock.root / "submitted" / "linker" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert copied.is_file() and not copied.is_symlink()
    assert copied.read_text() == (stock.root / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text()


def test_the_course_collector_takes_the_kernels_time(collected):
    runs, started = collected
    course, _ = runs[True]
    collected_at = _collected_time(course, "forger")
    assert started <= collected_at <= datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def test_the_course_collector_copies_no_link(collected):
    runs, _ = collected
    course, output = runs[True]
    folder = course.root / "submitted" / "linker" / ASSIGNMENT
    assert not os.path.lexists(folder / f"{ASSIGNMENT}.ipynb")
    assert "left out" in output and "symbolic link" in output


def test_grade_records_the_trusted_time_and_the_lateness(collected):
    from nbgrader.api import Gradebook

    runs, started = collected
    course, _ = runs[True]
    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}", COURSE_ID) as gradebook:
        gradebook.update_or_create_assignment(ASSIGNMENT, duedate=datetime.datetime(2024, 1, 1))
    # Grading needs no exchange. With one on this machine, `grade` first checks that no other account can
    # reach the course (tests/hub/test_real_hub.py); this test's checkout, reference included, is readable
    # by every account by design (tests/unprivileged.py), so its course forgets the exchange once collected.
    config = course.root / "nbgrader_config.py"
    config.write_text("".join(line for line in config.read_text().splitlines(keepends=True)
                              if not line.startswith("c.Exchange.root")))
    hand_over(course.root)
    run = run_as_grader([sys.executable, "-m", "dlopt_course", "grade", ASSIGNMENT, "--root",
                         str(course.root), "--workers", "1", "--no-progress"], timeout=900)
    assert "forger" not in "".join(line for line in run.stdout.splitlines() if "not graded" in line)
    with Gradebook(f"sqlite:///{course.root / 'gradebook.db'}", COURSE_ID) as gradebook:
        submission = gradebook.find_submission(ASSIGNMENT, "forger")
        assert submission.timestamp >= started
        assert submission.total_seconds_late > 0
        assert submission.score == 24  # all but the written answers, which an instructor grades
