"""Grades an LMS can import, and why: ``dlopt-course export A... --csv grades.csv``.

Two CSV files, read from the gradebook, the autograded notebooks and ``grade``'s own records (the
submissions it could not grade, the incidents):

- **scores** (``--csv``): a header ``student[, lms_id], <a>..., total``, then a ``Points Possible`` row
  (the convention of Canvas's gradebook CSV) with each assignment's maximum from the gradebook and
  their sum, then one row per student. A submission that is missing, was not graded or is not graded
  yet is an **empty cell** (an LMS reads empty as "not graded", 0 as a grade), and the total is empty
  while any assignment is; ``--missing-as-zero`` writes 0 instead. The ``lms_id`` column (e.g.
  Canvas's SIS user id) is there only with ``--roster``: a CSV with the columns ``student_id`` and
  ``lms_id``; every student of the roster gets a row, graded or not.
- **diagnoses** (``--diagnoses``, default ``<scores>.diagnoses.csv`` beside it): one row per problem,
  ``student, assignment, kind, check, detail``, where ``kind`` is ``failed check`` (``check`` is the
  grade id, ``detail`` the grader's diagnosis), ``not graded`` (the reason ``grade`` gave),
  ``no submission``, ``not graded yet``, ``needs manual grading``, ``comment`` (an instructor's comment on
  a written answer; ``check`` is its grade id), ``incident`` (what the submission attempted and was
  refused) or ``not in roster``. A written answer's manual score is in the scores like any other;
- **Canvas** (``--canvas``, with ``--roster``): the scores in the columns of Canvas's gradebook CSV, ready for
  its *Import* (see :func:`write_canvas`); ``--canvas-assignment 01_sgd=1234`` names an assignment's
  Canvas id.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from .grading.course import FAILURES_NAME, load_course, load_failures
from .integrity import INCIDENTS_NAME, read_incidents

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # terminal colours in a traceback

POINTS_POSSIBLE = "Points Possible"
DIAGNOSIS_COLUMNS = ["student", "assignment", "kind", "check", "detail"]


class ExportError(ValueError):
    """Bad input to ``export`` (an unknown assignment, an unreadable roster); the message says which."""


@dataclass
class ClassTable:
    """What ``export`` writes: the scores table and the diagnoses."""
    assignments: list[str]
    points_possible: dict[str, float]
    rows: list[dict[str, str]] = field(default_factory=list)     # student, [lms_id], <a>..., total
    diagnoses: list[dict[str, str]] = field(default_factory=list)  # DIAGNOSIS_COLUMNS
    with_lms_id: bool = False

    @property
    def score_columns(self) -> list[str]:
        return ["student", *(["lms_id"] if self.with_lms_id else []), *self.assignments, "total"]


def error_summary(cell, max_lines: int = 3) -> str | None:
    """The first lines of the error (or stderr) output of a graded cell, on one line."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            text = f"{output.get('ename', 'Error')}: {_ANSI.sub('', output.get('evalue', ''))}"
            break
    else:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                text = "stderr: " + _ANSI.sub("", output.get("text", ""))
                break
        else:
            # a check that gave partial credit printed what it found (an outcome check: the unsolved instances)
            printed = [output.get("text", "") for output in cell.get("outputs", [])
                       if output.get("output_type") == "stream" and output.get("name") == "stdout"]
            if not printed or not any(o.get("output_type") == "execute_result" for o in cell.get("outputs", [])):
                return None
            text = _ANSI.sub("", "".join(printed))
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    # the first lines, and the grader's diagnosis wherever it stands ("This looks like: ...", "Hint: ...")
    named = [line for line in lines[max_lines:] if line.lower().startswith(("this looks like", "hint"))]
    return " / ".join(lines[:max_lines] + named)


def read_roster(path: Path) -> dict[str, str]:
    """``student_id -> lms_id`` from a CSV with those two columns (others are ignored)."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:  # -sig: spreadsheets write a BOM
            reader = csv.DictReader(handle)
            missing = [name for name in ("student_id", "lms_id") if name not in (reader.fieldnames or [])]
            if missing:
                raise ExportError(f"{path}: the roster has no column {', '.join(missing)} "
                                  f"(its header: {', '.join(reader.fieldnames or []) or 'none'})")
            roster: dict[str, str] = {}
            for row in reader:
                student, lms_id = (row.get("student_id") or "").strip(), (row.get("lms_id") or "").strip()
                where = f"{path}:{reader.line_num}"
                if not student:
                    raise ExportError(f"{where}: a row without a student_id")
                if student in roster:
                    raise ExportError(f"{where}: student_id {student!r} appears twice in the roster")
                roster[student] = lms_id
    except OSError as error:
        raise ExportError(f"{path}: cannot read the roster ({error.strerror or error})") from error
    except (UnicodeDecodeError, csv.Error) as error:
        raise ExportError(f"{path}: not a readable CSV roster ({error})") from error
    return roster


def _failed_checks(root: Path, coursedir, student: str, assignment: str, submission) -> list[tuple[str, str]]:
    """``(grade id, diagnosis)`` of every check of ``submission`` that lost points."""
    import nbformat

    found = []
    for notebook in submission.notebooks:
        failed = {grade.name for grade in notebook.grades if grade.max_score and (grade.score or 0) < grade.max_score}
        path = root / coursedir.autograded_directory / student / assignment / f"{notebook.name}.ipynb"
        if not failed:
            continue
        if not path.exists():
            found += [(name, "no points (the autograded notebook is missing)") for name in sorted(failed)]
            continue
        for cell in nbformat.read(path, as_version=4).cells:
            metadata = cell.get("metadata", {}).get("nbgrader", {})
            if metadata.get("grade_id") in failed:
                summary = error_summary(cell)
                if summary is None and metadata.get("solution"):
                    continue  # a manually graded answer: its grader's comment is reported apart
                found.append((metadata["grade_id"], summary or "no points (no error output)"))
    return found


def _comments(submission) -> list[tuple[str, str]]:
    """``(grade id, comment)`` of every answer an instructor commented on (in formgrader, or by the API)."""
    return [(comment.name, comment.manual_comment.strip()) for notebook in submission.notebooks
            for comment in notebook.comments if (comment.manual_comment or "").strip()]


def class_table(root: Path, assignments: list[str], roster: dict[str, str] | None = None,
                missing_as_zero: bool = False) -> ClassTable:
    """The scores (one row per student) and the diagnoses of ``assignments`` (see the module docstring)."""
    from nbgrader.api import Gradebook, MissingEntry

    root = Path(root).resolve()
    _, coursedir = load_course(root)
    autograded = root / coursedir.autograded_directory
    failures = load_failures(autograded / FAILURES_NAME)
    incidents = [incident for incident in read_incidents(autograded / INCIDENTS_NAME)
                 if incident.assignment in assignments]
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        points = {}
        for assignment in assignments:
            try:
                points[assignment] = gradebook.find_assignment(assignment).max_score
            except MissingEntry:
                known = ", ".join(sorted(a.name for a in gradebook.assignments)) or "none"
                raise ExportError(f"no assignment {assignment!r} in the gradebook {coursedir.db_url} "
                                  f"(it has: {known})") from None
        table = ClassTable(list(assignments), points, with_lms_id=roster is not None)
        students = sorted({student.id for student in gradebook.students}
                          | {key.split("/")[0] for key in failures if key.split("/")[1] in assignments}
                          | {incident.student for incident in incidents}
                          | set(roster or {}))

        def note(student: str, assignment: str, kind: str, detail: str, check: str = "") -> None:
            table.diagnoses.append({"student": student, "assignment": assignment, "kind": kind, "check": check,
                                    "detail": detail})

        for student in students:
            row = {"student": student}
            if roster is not None:
                row["lms_id"] = roster.get(student, "")
                if student not in roster:
                    note(student, "", "not in roster", "this student has grades but no row in the roster: "
                                                       "no LMS id")
            total, complete = 0.0, True
            for assignment in assignments:
                failure = failures.get(f"{student}/{assignment}")
                try:
                    submission = gradebook.find_submission(assignment, student)
                except MissingEntry:
                    submission = None
                if failure:
                    earlier = "" if submission is None else \
                        f" (the gradebook holds {submission.score:g} from an earlier submission)"
                    note(student, assignment, "not graded", f"{failure['reason']}{earlier}")
                elif submission is None:
                    if (root / coursedir.submitted_directory / student / assignment).is_dir():
                        note(student, assignment, "not graded yet", "submitted, not graded yet (run grade)")
                    else:
                        note(student, assignment, "no submission", "nothing was submitted")
                if failure or submission is None:
                    row[assignment] = "0" if missing_as_zero else ""
                    complete = complete and missing_as_zero
                    continue
                row[assignment] = f"{submission.score:g}"
                total += submission.score
                if submission.needs_manual_grade:
                    note(student, assignment, "needs manual grading",
                         "some answers still need manual grading: the score counts only what is graded")
                for check, diagnosis in _failed_checks(root, coursedir, student, assignment, submission):
                    note(student, assignment, "failed check", diagnosis, check)
                for check, comment in _comments(submission):
                    note(student, assignment, "comment", comment, check)
            row["total"] = f"{total:g}" if complete else ""
            table.rows.append(row)
    for incident in incidents:
        note(incident.student, incident.assignment, "incident", f"{incident.kind}: {incident.detail}")
    table.diagnoses.sort(key=lambda row: (row["student"], row["assignment"]))  # stable: checks stay in order
    return table


def write_scores(table: ClassTable, path: Path) -> None:
    columns = table.score_columns
    points = {"student": POINTS_POSSIBLE, **{a: f"{table.points_possible[a]:g}" for a in table.assignments},
              "total": f"{sum(table.points_possible.values()):g}"}
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerow(points)
        writer.writerows(table.rows)


#: The first columns of Canvas's gradebook CSV (its export, and the file its import reads back).
CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_POINTS = "    Points Possible"  # as Canvas's own export writes it


def canvas_column(assignment: str, canvas_ids: dict[str, str]) -> str:
    """An assignment's column: ``"01_sgd (1234)"`` with its Canvas id (Canvas then matches the assignment by
    id), else its name (Canvas matches it by name, or makes a new assignment of that name)."""
    return f"{assignment} ({canvas_ids[assignment]})" if assignment in canvas_ids else assignment


def write_canvas(table: ClassTable, path: Path, canvas_ids: dict[str, str] | None = None) -> list[str]:
    """Write the scores as a Canvas gradebook CSV; return the students left out (no LMS id).

    The columns of Canvas's gradebook export, ``Student, ID, SIS User ID, SIS Login ID, Section``, then one
    per assignment; the second row is Canvas's ``Points Possible`` row. A student is identified by the
    ``SIS User ID`` (the roster's ``lms_id``); a student without one cannot be matched and is left out. An
    empty score stays empty: Canvas's import leaves such a cell unchanged (0 would be a grade). No total:
    Canvas computes its own.
    """
    if not table.with_lms_id:
        raise ExportError("a Canvas CSV needs the students' SIS user ids: pass --roster")
    canvas_ids = canvas_ids or {}
    unknown = sorted(set(canvas_ids) - set(table.assignments))
    if unknown:
        raise ExportError(f"--canvas-assignment names {', '.join(unknown)}, not among the exported assignments")
    columns = [canvas_column(assignment, canvas_ids) for assignment in table.assignments]
    left_out = [row["student"] for row in table.rows if not row["lms_id"]]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CANVAS_COLUMNS + columns)
        writer.writerow([CANVAS_POINTS, "", "", "", ""]
                        + [f"{table.points_possible[assignment]:g}" for assignment in table.assignments])
        for row in table.rows:
            if row["lms_id"]:
                writer.writerow([row["student"], "", row["lms_id"], "", ""] + [row[a] for a in table.assignments])
    return left_out


def write_diagnoses(table: ClassTable, path: Path) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=DIAGNOSIS_COLUMNS)
        writer.writeheader()
        writer.writerows(table.diagnoses)


def default_diagnoses_path(scores: Path) -> Path:
    scores = Path(scores)
    return scores.with_name(f"{scores.stem}.diagnoses.csv")


def parse_canvas_ids(pairs: list[str]) -> dict[str, str]:
    """``["01_sgd=1234", ...]`` -> ``{"01_sgd": "1234"}`` (a Canvas assignment id is a number)."""
    ids = {}
    for pair in pairs:
        assignment, _, number = pair.partition("=")
        if not assignment or not number.isdigit():
            raise ExportError(f"--canvas-assignment {pair!r}: write ASSIGNMENT=CANVAS_ID, e.g. 01_sgd=1234")
        ids[assignment] = number
    return ids


def export(root: Path, assignments: list[str], scores: Path, diagnoses: Path | None = None,
           roster: Path | None = None, missing_as_zero: bool = False, canvas: Path | None = None,
           canvas_ids: dict[str, str] | None = None) -> tuple[ClassTable, Path]:
    """Write the scores and the diagnoses files (and, with ``canvas``, a Canvas gradebook CSV); return the
    table and the diagnoses file's path."""
    diagnoses = default_diagnoses_path(scores) if diagnoses is None else Path(diagnoses)
    if Path(diagnoses).resolve() == Path(scores).resolve():
        raise ExportError(f"the scores and the diagnoses would both be written to {scores}")
    if canvas is not None and roster is None:
        raise ExportError("a Canvas CSV needs the students' SIS user ids: pass --roster")
    table = class_table(root, assignments, read_roster(roster) if roster is not None else None, missing_as_zero)
    write_scores(table, scores)
    write_diagnoses(table, diagnoses)
    if canvas is not None:
        write_canvas(table, canvas, canvas_ids)
    return table, diagnoses
