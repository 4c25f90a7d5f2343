"""``export``'s input checks, without a graded class (the export itself: ``test_grade_class.py``, test_e/f)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlopt_course.export import ExportError, default_diagnoses_path, export, read_roster


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


def _table(with_lms_id: bool = True):
    from dlopt_course.export import ClassTable

    table = ClassTable(["01_sgd", "02_momentum"], {"01_sgd": 9.0, "02_momentum": 6.0}, with_lms_id=with_lms_id)
    table.rows = [{"student": "ada", "lms_id": "SIS-1", "01_sgd": "9", "02_momentum": "4.5", "total": "13.5"},
                  {"student": "bob", "lms_id": "SIS-2", "01_sgd": "", "02_momentum": "6", "total": ""},
                  {"student": "cy", "lms_id": "", "01_sgd": "3", "02_momentum": "", "total": ""}]
    return table


def test_the_canvas_csv_has_canvas_columns_and_leaves_ungraded_cells_empty(tmp_path):
    """The layout of Canvas's gradebook export (which its import reads): five identity columns, one column
    per assignment named ``Name (id)``, the ``Points Possible`` row second; the SIS User ID identifies."""
    import csv

    from dlopt_course.export import write_canvas

    path = tmp_path / "canvas.csv"
    left_out = write_canvas(_table(), path, {"01_sgd": "1234"})
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "01_sgd (1234)", "02_momentum"]
    assert rows[1] == ["    Points Possible", "", "", "", "", "9", "6"]
    assert rows[2:] == [["ada", "", "SIS-1", "", "", "9", "4.5"], ["bob", "", "SIS-2", "", "", "", "6"]]
    assert left_out == ["cy"]  # no SIS User ID: Canvas could not match the row


def test_a_canvas_csv_needs_the_roster_and_known_assignments(tmp_path):
    from dlopt_course.export import parse_canvas_ids, write_canvas

    with pytest.raises(ExportError, match="pass --roster"):
        write_canvas(_table(with_lms_id=False), tmp_path / "canvas.csv")
    with pytest.raises(ExportError, match="03_nesterov, not among the exported"):
        write_canvas(_table(), tmp_path / "canvas.csv", {"03_nesterov": "1"})
    with pytest.raises(ExportError, match="pass --roster"):
        export(tmp_path, ["01_sgd"], tmp_path / "grades.csv", canvas=tmp_path / "canvas.csv")
    assert parse_canvas_ids(["01_sgd=12", "02_momentum=7"]) == {"01_sgd": "12", "02_momentum": "7"}
    with pytest.raises(ExportError, match="ASSIGNMENT=CANVAS_ID"):
        parse_canvas_ids(["01_sgd:12"])
    assert not (tmp_path / "canvas.csv").exists()
