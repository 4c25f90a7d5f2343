"""``export``'s input checks, without a graded class (the export itself: ``test_grade_class.py``, test_e/f)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlopt_reference.course.export import ExportError, default_diagnoses_path, export, read_roster


def test_a_roster_maps_student_ids_to_lms_ids(tmp_path):
    roster = tmp_path / "roster.csv"
    # a spreadsheet's byte order mark, extra columns, spaces around the values
    roster.write_bytes("\ufeffstudent_id,name,lms_id\nada, Ada ,SIS-1\nbob,Bob, SIS-2 \ncy,Cy,\n".encode())
    assert read_roster(roster) == {"ada": "SIS-1", "bob": "SIS-2", "cy": ""}


@pytest.mark.parametrize("text, message", [
    ("student,lms_id\nada,SIS-1\n", "the roster has no column student_id"),
    ("student_id,sis\nada,SIS-1\n", "the roster has no column lms_id"),
    ("student_id,lms_id\nada,SIS-1\nada,SIS-2\n", ":3: student_id 'ada' appears twice"),
    ("student_id,lms_id\nada,SIS-1\n,SIS-2\n", ":3: a row without a student_id"),
])
def test_a_bad_roster_is_refused_naming_the_line(tmp_path, text, message):
    roster = tmp_path / "roster.csv"
    roster.write_text(text)
    with pytest.raises(ExportError) as refused:
        read_roster(roster)
    assert str(roster) in str(refused.value) and message in str(refused.value)


def test_a_missing_roster_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(ExportError, match="cannot read the roster"):
        export(tmp_path, ["01_sgd"], tmp_path / "grades.csv", roster=tmp_path / "nowhere.csv")
    assert list(tmp_path.iterdir()) == []


def test_the_diagnoses_go_beside_the_scores_never_over_them(tmp_path):
    assert default_diagnoses_path(Path("out/grades.csv")) == Path("out/grades.diagnoses.csv")
    with pytest.raises(ExportError, match="both be written"):
        export(tmp_path, ["01_sgd"], tmp_path / "grades.csv", diagnoses=tmp_path / "grades.csv")
    assert list(tmp_path.iterdir()) == []
