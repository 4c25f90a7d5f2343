"""``import-submissions``: Canvas and Moodle downloads (folders and zips) placed into ``submitted/``.

Each download is made here as the LMS names its files; the command must place every recognisable notebook
as ``submitted/<student>/<assignment>/<assignment>.ipynb`` with its time, report every file it does not
place (exit 1), refuse hostile zip entries, and the class it imported must grade: the student whose
notebook arrived as ``04_adaptive (1).ipynb`` gets full marks for the model answer.
"""

from __future__ import annotations

import datetime
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from dlopt_course.bench_grading import gradebook_scores
from dlopt_course.import_submissions import MAX_NOTEBOOK_BYTES, import_submissions, parse_name
from dlopt_course.nbgrader_course import NbgraderCourse
from dlopt_course.notebooks import student_version
from dlopt_course.submissions import model_answer
from unprivileged import hand_over, run_as_grader, world_folder

A = "04_adaptive"
OTHER = "01_sgd"


@pytest.fixture(scope="module")
def notebooks(course_root) -> dict[str, bytes]:
    """The model answer and the untouched release of ``A``, and the model answer of ``OTHER``, as file bytes."""
    made = {}
    for name in (A, OTHER):
        source = nbformat.read(course_root / "exercises" / name / f"{name}.ipynb", as_version=4)
        release = student_version(source)
        made[f"{name} model"] = nbformat.writes(model_answer(source, release)).encode()
        made[f"{name} blank"] = nbformat.writes(release).encode()
    return made


@pytest.fixture
def course(tmp_path, course_root) -> Path:
    return NbgraderCourse.copy_of(course_root, tmp_path / "course", [A, OTHER]).root


def run(course: Path, download: Path, *options: str, capsys=None) -> tuple[int, str]:
    lines: list[str] = []
    roster = None
    if "--roster" in options:
        roster = Path(options[options.index("--roster") + 1])
    code = import_submissions(course, A, download, roster_csv=roster, dry_run="--dry-run" in options,
                              force="--force" in options, out=lines.append)
    return code, "\n".join(lines)


def placed(course: Path) -> dict[str, bytes]:
    """``{student: notebook bytes}`` of everything in ``submitted/*/A/``."""
    return {folder.parent.name: (folder / f"{A}.ipynb").read_bytes()
            for folder in sorted((course / "submitted").glob(f"*/{A}"))}


def write_files(folder: Path, files: dict[str, bytes], when: float = 1_780_000_000) -> Path:
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (when, when))
    return folder


def write_zip(path: Path, files: dict[str, bytes], when=(2026, 11, 30, 14, 5, 6)) -> Path:
    with zipfile.ZipFile(path, "w") as zipped:
        for name, data in files.items():
            zipped.writestr(zipfile.ZipInfo(name, date_time=when), data)
    return path


def test_lms_names_are_parsed():
    assert parse_name("doejane_4242_998877_04_adaptive.ipynb") == ("Canvas", "4242", "04_adaptive.ipynb")
    assert parse_name("doejane_late_4242_998877_04_adaptive-2.ipynb") == ("Canvas", "4242", "04_adaptive-2.ipynb")
    assert parse_name("Jane Doe_1234_assignsubmission_file_/04_adaptive.ipynb") == ("Moodle", "1234",
                                                                                      "04_adaptive.ipynb")
    assert parse_name("Jane Doe_1234_assignsubmission_file_04_adaptive (1).ipynb") == (
        "Moodle", "1234", "04_adaptive (1).ipynb")
    assert parse_name("04_adaptive.ipynb") is None
    assert parse_name("jane_doe_homework.ipynb") is None


def test_canvas_folder_with_renamed_copies_and_resubmissions(course, tmp_path, notebooks):
    model, blank = notebooks[f"{A} model"], notebooks[f"{A} blank"]
    download = write_files(tmp_path / "canvas", {
        "doejane_4242_998877_04_adaptive (1).ipynb": model,       # the browser's copy name
        "roeric_late_5151_998878_04_adaptive.ipynb": blank,       # late: first hand-in
        "roeric_late_5151_998890_04_adaptive-1.ipynb": model,     # ... and its resubmission, which wins
        "smithann_6161_998879_04_adaptive-2.ipynb": model,        # a "-2" copy alone
    })
    code, output = run(course, download)
    assert code == 0, output
    assert placed(course) == {"4242": model, "5151": model, "6161": model}
    assert "roeric_late_5151_998878_04_adaptive.ipynb: an earlier submission of 5151" in output
    stamp = (course / "submitted" / "4242" / A / "timestamp.txt").read_text()
    from nbgrader.utils import parse_utc

    assert parse_utc(stamp) == datetime.datetime(2026, 5, 28, 20, 26, 40)  # the file's time, in UTC
    # run again: nothing changes, nothing is reported
    again, output = run(course, download)
    assert again == 0 and "unchanged" in output, output


def test_moodle_folders_and_flattened_names_with_a_roster(course, tmp_path, notebooks):
    model = notebooks[f"{A} model"]
    download = write_files(tmp_path / "moodle", {
        "Jane Doe_1234_assignsubmission_file_/04_adaptive.ipynb": model,
        "Eric Ro_1235_assignsubmission_file_04_adaptive (1).ipynb": model,
    })
    roster = tmp_path / "roster.csv"
    roster.write_text("lms_id,student_id\n1234,jdoe\n1235,ero\n")
    code, output = run(course, download, "--roster", str(roster))
    assert code == 0, output
    assert placed(course) == {"jdoe": model, "ero": model}


def test_zip_of_canvas_downloads_uses_the_entry_times(course, tmp_path, notebooks):
    model = notebooks[f"{A} model"]
    download = write_zip(tmp_path / "submissions.zip", {"doejane_4242_998877_04_adaptive (1).ipynb": model,
                                                        "Eric Ro_1235_assignsubmission_file_/04_adaptive.ipynb": model})
    code, output = run(course, download, "--dry-run")
    assert code == 0 and "-> submitted/4242/04_adaptive/04_adaptive.ipynb" in output, output
    assert placed(course) == {}  # a dry run writes nothing
    code, output = run(course, download)
    assert code == 0, output
    assert placed(course) == {"4242": model, "1235": model}
    assert (course / "submitted" / "4242" / A / "timestamp.txt").read_text() == "2026-11-30 14:05:06.000000 UTC"


def test_every_file_not_placed_is_reported_with_exit_1(course, tmp_path, notebooks):
    model, other = notebooks[f"{A} model"], notebooks[f"{OTHER} model"]
    download = write_files(tmp_path / "mixed", {
        "doejane_4242_1_04_adaptive (1).ipynb": model,            # two notebooks, no order between them
        "doejane_4242_2_04_adaptive (2).ipynb": model,
        "roeric_5151_3_01_sgd.ipynb": other,                       # named as another assignment
        "smithann_6161_4_homework.ipynb": other,                   # renamed, and its content is another's
        "leebo_7171_5_04_adaptive.ipynb": b'{"cells": [',          # not JSON
        "kimsu_8181_6_notes.pdf": b"%PDF-1.4",                     # not a notebook
        "04_adaptive.ipynb": model,                                # no LMS name: whose?
        "ok_9191_7_04_adaptive.ipynb": model,                      # the one good file
        "Mia Doe_1234_assignsubmission_file_/04_adaptive.ipynb": model,     # Moodle numbers no resubmission:
        "Mia Doe_1234_assignsubmission_file_/04_adaptive-2.ipynb": model,   # two notebooks, no order
    })
    roster = tmp_path / "roster.csv"
    roster.write_text("lms_id,student_id\n4242,jdoe\n5151,ero\n6161,asmith\n7171,blee\n8181,skim\n1234,mdoe\n")
    code, output = run(course, download, "--roster", str(roster))
    assert code == 1, output
    assert placed(course) == {}  # 9191 is not in the roster: nothing is placed
    expected = [
        "jdoe: 2 notebooks with no resubmission order",
        "mdoe: 2 notebooks with no resubmission order",
        "roeric_5151_3_01_sgd.ipynb: named as a notebook of 01_sgd",
        "smithann_6161_4_homework.ipynb: a notebook of 01_sgd, not of 04_adaptive",
        "leebo_7171_5_04_adaptive.ipynb: not a valid notebook",
        "kimsu_8181_6_notes.pdf: not a notebook",
        "04_adaptive.ipynb: a name no LMS gives",
        "ok_9191_7_04_adaptive.ipynb: Canvas user 9191 is not in the roster",
    ]
    for text in expected:
        assert text in output, output
    assert f"{len(expected)} file(s) not imported" in output


def test_an_existing_different_submission_is_not_replaced_without_force(course, tmp_path, notebooks):
    model, blank = notebooks[f"{A} model"], notebooks[f"{A} blank"]
    first = write_files(tmp_path / "first", {"doejane_4242_1_04_adaptive.ipynb": blank})
    second = write_files(tmp_path / "second", {"doejane_4242_2_04_adaptive.ipynb": model})
    assert run(course, first)[0] == 0
    code, output = run(course, second)
    assert code == 1 and "exists and differs" in output and placed(course) == {"4242": blank}, output
    assert run(course, second, "--force")[0] == 0 and placed(course) == {"4242": model}


def test_hostile_zips_are_refused_entry_by_entry(course, tmp_path, notebooks):
    model = notebooks[f"{A} model"]
    archive = tmp_path / "hostile.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("../evil_1_2_04_adaptive.ipynb", model)
        zipped.writestr("/abs_3_4_04_adaptive.ipynb", model)
        link = zipfile.ZipInfo("linky_5_6_04_adaptive.ipynb")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zipped.writestr(link, "/work/main/exercises/04_adaptive/04_adaptive.ipynb")
        zipped.writestr("bomb_7_8_04_adaptive.ipynb", b"\0" * (MAX_NOTEBOOK_BYTES + 10))
        zipped.writestr("good_9_10_04_adaptive.ipynb", model)
    # a bomb that lies: its headers declare 100 bytes, it inflates to more than the limit
    liar = tmp_path / "liar.zip"
    with zipfile.ZipFile(liar, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("liar_11_12_04_adaptive.ipynb", b"\0" * (MAX_NOTEBOOK_BYTES + 10))
    raw = bytearray(liar.read_bytes())
    with zipfile.ZipFile(liar) as zipped:
        info = zipped.getinfo("liar_11_12_04_adaptive.ipynb")
    size = (MAX_NOTEBOOK_BYTES + 10).to_bytes(4, "little")
    for start in (info.header_offset, raw.rfind(b"PK\x01\x02")):  # the local and the central header
        at = raw.index(size, start)
        raw[at:at + 4] = (100).to_bytes(4, "little")
    liar.write_bytes(bytes(raw))

    code, output = run(course, archive)
    assert code == 1, output
    assert placed(course) == {"9": model}
    assert "../evil_1_2_04_adaptive.ipynb: a path outside the download" in output
    assert "/abs_3_4_04_adaptive.ipynb: a path outside the download" in output
    assert "linky_5_6_04_adaptive.ipynb: a symbolic link (refused)" in output
    assert f"bomb_7_8_04_adaptive.ipynb: declares {MAX_NOTEBOOK_BYTES + 10} bytes" in output
    assert not (tmp_path / "evil_1_2_04_adaptive.ipynb").exists() and not list(course.parent.glob("evil*"))

    code, output = run(course, liar)
    assert code == 1 and "liar_11_12_04_adaptive.ipynb:" in output, output
    assert "(refused)" in output.split("liar_11_12_04_adaptive.ipynb:")[1].splitlines()[0]
    assert "11" not in placed(course)


def test_links_in_a_folder_are_refused(course, tmp_path, notebooks):
    download = write_files(tmp_path / "links", {"real_1_2_04_adaptive.ipynb": notebooks[f"{A} model"]})
    (download / "thief_3_4_04_adaptive.ipynb").symlink_to(course / "exercises" / A / f"{A}.ipynb")
    code, output = run(course, download)
    assert code == 1 and "thief_3_4_04_adaptive.ipynb: a symbolic link (refused)" in output, output
    assert set(placed(course)) == {"1"}


def test_the_command_is_registered_and_an_imported_renamed_copy_grades_full_marks(course_root, notebooks):
    """Through the command line: a Canvas zip imported, then ``grade`` (as the grading account) on it."""
    work = world_folder("dlopt-import-")
    course = NbgraderCourse.copy_of(course_root, work / "course", [A])
    course.generate(A)
    model = nbformat.writes(model_answer(course.source(A), course.release(A))).encode()
    download = write_zip(work / "canvas.zip", {"doejane_4242_998877_04_adaptive (1).ipynb": model,
                                               "roeric_5151_998878_04_adaptive.ipynb":
                                                   nbformat.writes(course.release(A)).encode()})
    command = [sys.executable, "-m", "dlopt_course", "import-submissions", A, str(download),
               "--root", str(course.root)]
    imported = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    hand_over(course.root)
    bin_dir = str(Path(sys.executable).parent)
    graded = run_as_grader([sys.executable, "-m", "dlopt_course", "grade", A, "--root", str(course.root),
                            "--workers", "2", "--no-progress"], timeout=1200,
                           env=dict(os.environ, PATH=os.pathsep.join([bin_dir, os.environ.get("PATH", "")])))
    assert graded.returncode == 0 and "graded 2" in graded.stdout, graded.stdout + graded.stderr
    scores = gradebook_scores(course.root, [A])
    renamed = {key: value for key, value in scores.items() if key[0] == "4242"}
    # every check at full marks; the written answers (the model's text) wait for an instructor
    assert renamed and all(value[0] == value[3] for key, value in renamed.items()
                           if not key[2].endswith("_answer")), renamed
    assert all(value[2] for key, value in renamed.items() if key[2].endswith("_answer")), renamed
    blank = {key: value for key, value in scores.items() if key[0] == "5151"}
    assert blank and sum(value[0] for value in blank.values()) == 0, blank


@pytest.mark.parametrize("text, message", [
    ("id,name\n4242,jdoe\n", "the roster needs the columns lms_id,student_id"),
    ("lms_id,student_id\n4242,../jdoe\n", "roster.csv:2: needs an lms_id and a student_id"),
    ("lms_id,student_id\n4242,jdoe\n4242,jdoe2\n", "lms_id 4242 is listed twice"),
])
def test_a_bad_roster_stops_before_anything_is_written(course, tmp_path, notebooks, text, message):
    download = write_files(tmp_path / "canvas", {"doejane_4242_1_04_adaptive.ipynb": notebooks[f"{A} model"]})
    roster = tmp_path / "roster.csv"
    roster.write_text(text)
    code, output = run(course, download, "--roster", str(roster))
    assert code == 2 and message in output and placed(course) == {}, output
