"""The ``dlopt-course`` command line: its subcommands, their options and their help.

This module only parses; :mod:`.commands` runs each subcommand. Every subcommand answers ``--help``, and
every one exits with

- 0: done (and nothing to report);
- 1: it ran, and found problems: failed submissions, leaks, a stale file, files not imported, a failed build;
- 2: it could not run: a wrong option, not a course folder, a setup the command refuses.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import __version__

EXIT_CODES = "exit codes: 0 done; 1 ran and found problems; 2 could not run (bad options or setup)"

DESCRIPTION = """The instructor's tool of the course Optimization for Deep Learning.

The flow, and the command of each step (README, "The flow"):
  book        build-book, bench-build
  release     release, leak-check
  collect     import-submissions (an LMS download; JupyterHub: nbgrader collect)
  grade       grade, bench-grading, bench-outcomes, rubrics (written answers, graded in formgrader)
  report      export, similarity, bench-similarity, feedback-example
  hub         hub-setup

Run from the course root, or pass --root. `dlopt-course COMMAND --help` tells more of each command."""

#: Commands that work on an nbgrader course folder (which need not be the book's root).
NBGRADER_COMMANDS = ("grade", "export", "import-submissions")
#: Commands that need the course's sources: the book (``_config.yml``) and the exercises.
SOURCE_COMMANDS = ("build-book", "bench-build", "release", "hub-setup", "feedback-example", "bench-outcomes",
                   "rubrics", "leak-check")
#: Commands that copy the exercises into temporary courses.
BENCH_COMMANDS = ("bench-grading", "bench-similarity")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dlopt-course", description=DESCRIPTION, epilog=EXIT_CODES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the course root (default: current folder)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _book_commands(commands)
    _release_commands(commands)
    _grading_commands(commands)
    _report_commands(commands)
    _hub_commands(commands)
    return parser


def _command(commands, name: str, help: str, description: str | None = None, root_help: str | None = None):
    """A subcommand with its own ``--root`` (the one before the command is the default)."""
    sub = commands.add_parser(name, help=help, description=description or help[0].upper() + help[1:] + ".",
                              epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub.add_argument("--root", type=Path, default=argparse.SUPPRESS,
                     help=root_help or "the course root (default: the --root before the command, or the current "
                                       "folder)")
    return sub


_NBGRADER_ROOT = "the nbgrader course folder (default: the --root before the command, or the current folder)"


def _book_commands(commands) -> None:
    book = _command(commands, "build-book", "build the student edition of the book into _build/html",
                    "Make the student exercise pages (solutions and hidden tests removed), execute the chapters "
                    "that changed, and build the HTML book into _build/html.")
    book.add_argument("--no-strict", action="store_true", help="do not turn Sphinx warnings into errors")
    book.add_argument("--workers", type=int, default=None,
                      help="processes that execute uncached chapters before the build (default: one per core; 1: none)")
    bench = _command(commands, "bench-build", "time cold and warm builds of the book (on a copy)")
    bench.add_argument("--no-strict", action="store_true", help="do not turn Sphinx warnings into errors")
    bench.add_argument("--direct", action="store_true", help="also execute each chapter once with nbclient")
    bench.add_argument("--keep", action="store_true", help="keep the temporary copy and its build logs")


def _release_commands(commands) -> None:
    rel = _command(commands, "release", "validate, build and leak-check the student bundle dist/dlopt-VERSION",
                   "Validate and autograde every assignment (the model answer scores full marks, the blank release "
                   "zero), build the book, write the student bundle dist/dlopt-VERSION/ and its archive "
                   "dist/dlopt-VERSION.zip, and leak-check all of it. A released version is never replaced unless "
                   "--force (exit 2 otherwise). The full log goes to dist/dlopt-VERSION.log.")
    rel.add_argument("--version", required=True, help="the release's version, e.g. 2026.1")
    rel.add_argument("--out", type=Path, default=None, help="where the bundle goes (default: dist/ in the course root)")
    rel.add_argument("--no-strict", action="store_true", help="do not turn Sphinx warnings into errors")
    rel.add_argument("--force", action="store_true",
                     help="replace dlopt-VERSION (folder and zip) if it was already released")
    leak = _command(commands, "leak-check", "scan files for solutions, hidden tests, reference code",
                    "Fail (exit 1) if any file under PATH holds a solution, a hidden test, a line of the reference "
                    "package or of this tool; HTML is read as a reader sees it, zips are not opened (release does).")
    leak.add_argument("paths", nargs="+", type=Path, metavar="PATH")


def _grading_commands(commands) -> None:
    from . import import_submissions

    imp = _command(commands, "import-submissions", "place Canvas/Moodle downloads (a folder or zip) into submitted/",
                   import_submissions.__doc__, _NBGRADER_ROOT)
    imp.add_argument("assignment", metavar="ASSIGNMENT")
    imp.add_argument("download", type=Path, metavar="PATH", help="the LMS download: a folder or a .zip")
    imp.add_argument("--roster", type=Path, default=None, help="a CSV lms_id,student_id (default: the LMS id)")
    imp.add_argument("--dry-run", action="store_true", help="print the plan, write nothing")
    imp.add_argument("--force", action="store_true", help="replace existing different submissions")
    grade = _command(
        commands, "grade", "autograde a class in parallel, resumably, with students' code confined by the kernel",
        "Autograde every submission of ASSIGNMENT...: each notebook runs once, the student's code in a process the "
        "kernel confines (Landlock, seccomp), the tests in the grader's process, on parallel workers; nbgrader "
        "scores each result into the gradebook as it completes. A rerun skips what is graded; unreadable "
        "submissions are reported and skipped (exit 1).", _NBGRADER_ROOT)
    grade.add_argument("assignments", nargs="+", metavar="ASSIGNMENT")
    grade.add_argument("--workers", type=int, default=os.cpu_count(), help="worker processes (default: all cores)")
    grade.add_argument("--force", action="store_true", help="regrade submissions already graded")
    grade.add_argument("--student", action="append", dest="students", metavar="STUDENT",
                       help="grade only this student (repeatable)")
    grade.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    grade.add_argument("--allow-weak-isolation", action="store_true",
                       help="run students' code even where the kernel cannot confine it (Landlock and seccomp "
                            "missing); never for a real class")
    bench = _command(commands, "bench-grading", "time stock sequential autograde against `grade` (on copies)")
    bench.add_argument("--students", type=int, default=6, help="students per assignment (default 6)")
    bench.add_argument("--assignments", nargs="+", default=None, help="default: every assignment")
    bench.add_argument("--workers", type=int, default=os.cpu_count(), help="worker processes (default: all cores)")
    bench.add_argument("--keep", action="store_true", help="keep the temporary courses")
    outcomes = _command(commands, "bench-outcomes", "time each outcome check on its model answer, through the "
                                                    "sandbox")
    outcomes.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="assignment names (default: all)")
    rubric = _command(commands, "rubrics", "the written answers' questions, model answers and rubrics (instructors)",
                      "Write the written answers' questions, model answers and rubrics of ASSIGNMENT... as one "
                      "Markdown sheet, to keep beside formgrader while grading them by hand.")
    rubric.add_argument("assignments", nargs="+", metavar="ASSIGNMENT", help="assignment names, e.g. 02_momentum")
    rubric.add_argument("--out", type=Path, default=None, help="write the Markdown sheet here (default: print it)")


def _report_commands(commands) -> None:
    export = _command(
        commands, "export", "scores CSV for an LMS (Points Possible row, empty = not graded) and a diagnoses CSV",
        "Write the scores of ASSIGNMENT... as a CSV an LMS imports (a row per student, a column per assignment and "
        "the total, a 'Points Possible' row; an ungraded or missing submission is an empty cell) and, in a second "
        "CSV, why: each failed check's diagnosis, each instructor's comment, each submission not graded and why, "
        "each incident.", _NBGRADER_ROOT)
    export.add_argument("assignments", nargs="+", metavar="ASSIGNMENT")
    export.add_argument("--csv", type=Path, required=True, help="the scores CSV to write")
    export.add_argument("--diagnoses", type=Path, default=None,
                        help="the diagnoses CSV to write (default: <csv name>.diagnoses.csv beside it)")
    export.add_argument("--roster", type=Path, default=None,
                        help="a CSV with columns student_id and lms_id (e.g. Canvas SIS user id): adds an lms_id "
                             "column and a row for every student of the roster")
    export.add_argument("--missing-as-zero", action="store_true",
                        help="write 0, not an empty cell, for a missing or ungraded submission")
    export.add_argument("--canvas", type=Path, default=None,
                        help="also write the scores as a Canvas gradebook CSV (needs --roster: its lms_id is the SIS "
                             "User ID)")
    export.add_argument("--canvas-assignment", action="append", default=[], metavar="ASSIGNMENT=CANVAS_ID",
                        help="the Canvas id of an assignment, for its column in --canvas (repeatable)")
    sim = _command(
        commands, "similarity", "which submissions of an assignment were copied from one another (HTML report, CSV)",
        "Compare the answer cells of every submission of ASSIGNMENT... (released stub subtracted; formatting, "
        "comments, docstrings, variable names and the order of independent lines normalised away; code more than a "
        "tenth of a large class shares ignored) and report the pairs of students scoring at least --threshold: a "
        "CSV of pairs and one self-contained HTML page with the two students' code side by side. Independent right "
        "answers are not flagged: they agree on outputs, not on code. A submission that cannot be read is skipped "
        "and listed.", _NBGRADER_ROOT)
    sim.add_argument("assignments", nargs="+", metavar="ASSIGNMENT")
    sim.add_argument("--html", type=Path, required=True, help="the report to write (one file, works offline)")
    sim.add_argument("--csv", type=Path, default=None,
                     help="also write the pairs as CSV (assignment, student_a, student_b, score, cells)")
    sim.add_argument("--threshold", type=float, default=None,
                     help="report pairs scoring at least this (0..1; default 0.6, tuned by bench-similarity)")
    sim.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    bsim = _command(commands, "bench-similarity",
                    "precision and recall of `similarity` on planted copies, and its time on a synthetic class "
                    "(300 students x 10 assignments by default)")
    bsim.add_argument("--students", type=int, default=300, help="students of the synthetic class (default 300)")
    bsim.add_argument("--keep", action="store_true", help="keep the temporary courses")
    example = _command(commands, "feedback-example", "regenerate the grading page's feedback example",
                       "Autograde a planted submission for real and write book/_static/feedback_example.txt from "
                       "its feedback (--check: only compare, exit 1 if the committed file is stale).")
    example.add_argument("--check", action="store_true", help="only compare with the committed file (exit 1 if stale)")


def _hub_commands(commands) -> None:
    hub = _command(commands, "hub-setup", "(as root) lay out a JupyterHub course on one machine",
                   "Give the course folder to the grader's account (mode 700), make the exchange (root, 1777), write "
                   "the grader's and the student environment's nbgrader configs, turn the instructor extensions off "
                   "in the student environment, then check that no other account can reach the course.")
    hub.add_argument("--grader", required=True, help="the account that owns the course and runs the course service")
    hub.add_argument("--student-env", type=Path, required=True, help="the students' environment (a venv)")
    hub.add_argument("--exchange", type=Path, default=Path("/srv/nbgrader/exchange"), help="nbgrader's exchange")
    hub.add_argument("--db-url", default=None, help="the gradebook (default: SQLite in the course folder)")


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default: the command line), check the course folder, run the subcommand; its exit code."""
    from . import commands

    parser = build_parser()
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if args.command in NBGRADER_COMMANDS and not (root / "nbgrader_config.py").is_file():
        parser.error(f"{root} is not an nbgrader course folder (no nbgrader_config.py); use --root")
    if args.command in SOURCE_COMMANDS and not ((root / "_config.yml").is_file() and (root / "exercises").is_dir()):
        parser.error(f"{root} is not the course root (no _config.yml or exercises/ there); use --root")
    if args.command in BENCH_COMMANDS and not (root / "exercises").is_dir():
        parser.error(f"{root} has no exercises/; use --root")
    return commands.run(args, root)


if __name__ == "__main__":
    sys.exit(main())
