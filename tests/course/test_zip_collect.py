"""``nbgrader zip_collect`` with the course's ``LmsCollector`` on Canvas and Moodle downloads.

Real ``nbgrader zip_collect 01_sgd`` runs in a copy of the course (whose ``nbgrader_config.py`` selects the
plugin) on downloads placed in ``downloaded/01_sgd/archive/``: each student's notebook must land in
``submitted/<student>/01_sgd/01_sgd.ipynb`` with the right content (the highest Canvas resubmission, the
roster's student id), and every file skipped must be named in the output.
"""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbgrader.utils import parse_utc

import dlopt_course
import dlopt_reference
from dlopt_course.nbgrader_course import NbgraderCourse
from dlopt_course.notebooks import student_version
from dlopt_course.submissions import model_answer

A = "01_sgd"


@pytest.fixture(scope="module")
def notebooks(course_root) -> dict[str, bytes]:
    """The model answer, the release and a marked copy of the release of ``A``, as file bytes (all different)."""
    source = nbformat.read(course_root / "exercises" / A / f"{A}.ipynb", as_version=4)
    release = student_version(source)
    marked = student_version(source)
    marked.metadata["handed_in_as"] = "an intermediate resubmission"
    made = {"model": nbformat.writes(model_answer(source, release)), "blank": nbformat.writes(release),
            "marked": nbformat.writes(marked)}
    assert len(set(made.values())) == 3
    return {name: text.encode() for name, text in made.items()}


@pytest.fixture
def course(tmp_path, course_root, notebooks) -> Path:
    """A copy of the course with ``A`` released (``zip_collect`` checks names against the release)."""
    root = NbgraderCourse.copy_of(course_root, tmp_path / "course", [A]).root
    (root / "release" / A).mkdir(parents=True)
    (root / "release" / A / f"{A}.ipynb").write_bytes(notebooks["blank"])
    return root


def archive(course: Path) -> Path:
    folder = course / "downloaded" / A / "archive"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def zip_collect(course: Path, *options: str) -> tuple[int, str]:
    """Run ``nbgrader zip_collect A`` in ``course`` with this checkout's packages; its exit code and output."""
    executable = Path(sys.executable).with_name("nbgrader")
    packages = [str(Path(dlopt_reference.__file__).resolve().parents[2]),
                str(Path(dlopt_reference.__file__).resolve().parents[1]),
                str(Path(dlopt_course.__file__).resolve().parents[1])]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(packages),
               PATH=os.pathsep.join([str(executable.parent), os.environ.get("PATH", "")]))
    result = subprocess.run([str(executable), "zip_collect", A, *options], cwd=course, env=env,
                            capture_output=True, text=True, timeout=300)
    return result.returncode, result.stdout + result.stderr


def submitted(course: Path) -> dict[str, bytes]:
    """``{student: notebook bytes}`` of ``submitted/*/A/A.ipynb``, and nothing else may be there."""
    found = {}
    for folder in sorted((course / "submitted").glob(f"*/{A}")):
        assert sorted(path.name for path in folder.iterdir()) in ([f"{A}.ipynb"], [f"{A}.ipynb", "timestamp.txt"])
        found[folder.parent.name] = (folder / f"{A}.ipynb").read_bytes()
    return found


def test_canvas_zip_with_resubmissions_copies_and_an_unparsable_name(course, notebooks):
    model, blank, marked = notebooks["model"], notebooks["blank"], notebooks["marked"]
    with zipfile.ZipFile(archive(course) / "submissions.zip", "w") as zipped:
        for name, data in {
            "doejane_4242_998877_01_sgd (1).ipynb": model,          # the browser's copy name
            "roeric_late_5151_998878_01_sgd.ipynb": blank,          # first hand-in
            "roeric_late_5151_998890_01_sgd-2.ipynb": marked,       # second
            "roeric_late_5151_998899_01_sgd-10.ipynb": model,       # the latest: -10 after -2, not before it
            "smithann_6161_998879_01_sgd-2.ipynb": model,           # a "-2" alone
            "01_sgd.ipynb": blank,                                  # no LMS name: whose?
            "kimsu_8181_998880_notes.pdf": b"%PDF-1.4",             # not a notebook
        }.items():
            zipped.writestr(zipfile.ZipInfo(name, date_time=(2026, 11, 30, 14, 5, 6)), data)

    code, output = zip_collect(course)
    assert code == 0, output
    assert submitted(course) == {"4242": model, "5151": model, "6161": model}
    assert "submissions/roeric_late_5151_998878_01_sgd.ipynb: an earlier submission of 5151, replaced by " \
           "submissions/roeric_late_5151_998899_01_sgd-10.ipynb" in output
    assert "submissions/roeric_late_5151_998890_01_sgd-2.ipynb: an earlier submission of 5151" in output
    assert "submissions/01_sgd.ipynb: a name no LMS gives" in output
    assert "submissions/kimsu_8181_998880_notes.pdf: not a notebook" in output
    stamp = (course / "submitted" / "4242" / A / "timestamp.txt").read_text()
    assert parse_utc(stamp) == datetime.datetime(2026, 11, 30, 14, 5, 6)  # the zip entry's time, not the run's


def test_moodle_folders_with_a_roster(course, notebooks):
    model, blank = notebooks["model"], notebooks["blank"]
    when = 1_780_000_000
    for name, data in {
        "Jane Doe_1234_assignsubmission_file_/01_sgd.ipynb": model,
        "Eric Ro_1235_assignsubmission_file_/01_sgd (1).ipynb": blank,
        "Mia Roe_1236_assignsubmission_file_/01_sgd.ipynb": model,     # Moodle numbers no resubmission:
        "Mia Roe_1236_assignsubmission_file_/01_sgd-2.ipynb": blank,   # two notebooks, no order
        "Bo Lee_1237_assignsubmission_file_/01_sgd.ipynb": model,      # not in the roster
    }.items():
        path = archive(course) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (when, when))
    (course / "roster.csv").write_text("lms_id,student_id\n1234,jdoe\n1235,ero\n1236,mroe\n")

    code, output = zip_collect(course, "--LmsCollector.roster=roster.csv")
    assert code == 0, output
    assert submitted(course) == {"jdoe": model, "ero": blank}
    assert "mroe has 2 01_sgd notebooks with no resubmission order" in output
    assert "Mia Roe_1236_assignsubmission_file_/01_sgd-2.ipynb" in output
    assert "Bo Lee_1237_assignsubmission_file_/01_sgd.ipynb: Moodle user 1237 is not in the roster" in output
    stamp = (course / "submitted" / "jdoe" / A / "timestamp.txt").read_text()
    assert parse_utc(stamp) == datetime.datetime.fromtimestamp(when, datetime.timezone.utc).replace(tzinfo=None)


def test_stock_zip_collect_cannot_order_canvas_resubmissions(course, notebooks):
    """Why the plugin picks the resubmission itself: nbgrader orders duplicates by timestamp only.

    Canvas names carry no time; without one nbgrader stops at the second file, and with equal times it keeps
    the later in sorted order, which is not the resubmissions' order.
    """
    assert sorted(["x_1_2_01_sgd.ipynb", "x_1_2_01_sgd-1.ipynb"])[-1] == "x_1_2_01_sgd.ipynb"
    assert sorted(["x_1_2_01_sgd-10.ipynb", "x_1_2_01_sgd-2.ipynb"])[-1] == "x_1_2_01_sgd-2.ipynb"
    for name, data in {"roeric_5151_1_01_sgd.ipynb": notebooks["blank"],
                       "roeric_5151_2_01_sgd-1.ipynb": notebooks["model"]}.items():
        (archive(course) / name).write_bytes(data)
    code, output = zip_collect(
        course, "--collector=nbgrader.plugins.FileNameCollectorPlugin",
        r"--FileNameCollectorPlugin.named_regexp=.*/[^_/]+_(?P<student_id>\d+)_\d+_(?P<file_id>01_sgd)(-\d+)?\.ipynb")
    assert code != 0 and "Duplicate submission file. No timestamps for comparison" in output, output
    assert submitted(course) == {}
    code, output = zip_collect(course, "--force")
    assert code == 0 and submitted(course) == {"5151": notebooks["model"]}, output
