"""Course tooling for instructors: ``python -m dlopt_reference.course COMMAND``.

Commands (run from the course root, or pass ``--root``):

- ``build-book``   make the student exercise pages and build the HTML book into ``_build/html``
- ``leak-check PATH...``  fail if any file under PATH holds a solution, a hidden test or reference code
- ``bench-build``  time a cold build, a warm rebuild and the chapters' execution, on a copy of the course
- ``feedback-example``  regenerate ``book/_static/feedback_example.txt`` from a real autograde (``--check``: compare)
- ``release --version V [--out dist] [--force]``  validate and autograde every assignment, build the book,
  write the student bundle ``dist/dlopt-V/`` and its archive ``dist/dlopt-V.zip`` and leak-check all of it;
  never replaces a released version unless ``--force``; full log in ``dist/dlopt-V.log`` (see ``release.py``)
- ``grade A... [--root COURSE] [--workers N] [--force]``  autograde a class in parallel, resumably
  (scores identical to ``nbgrader autograde``); ``bench-grading`` (see ``grade_class.py``)
- ``import-submissions A PATH [--roster CSV] [--dry-run]``  place Canvas/Moodle downloads (a folder or a zip)
  into ``submitted/`` for ``grade`` (see ``import_submissions.py``)
- ``hub-setup --grader USER --student-env DIR [--exchange DIR] [--db-url URL]``  (as root) lay out a
  JupyterHub course on one machine: owners, modes, the exchange, both nbgrader configs (see ``hub_setup.py``)
- ``export A... --csv F [--roster R] [--missing-as-zero]``  scores for an LMS and, beside them, the
  diagnoses (see ``export.py``)
- ``bench-outcomes [A...]``  the time each outcome check takes on its model answer, through the sandbox (see
  ``bench_outcomes.py``)
- ``rubrics A... [--out F]``  the written answers' questions, model answers and rubrics, for grading them by
  hand in formgrader (see ``rubrics.py``)
- ``similarity A... --html report.html [--csv pairs.csv] [--threshold T]``  which submissions were copied from
  one another (see ``similarity.py``); ``bench-similarity`` (precision, recall and time; see ``bench_similarity.py``)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .bench_build import bench_build
from .build_book import build_book
from .grade_class import GRADING_COMMANDS, add_grading_commands, run_grading_command
from .leaks import forbidden_markers, scan
from .release import release


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dlopt_reference.course", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the course root (default: current folder)")
    commands = parser.add_subparsers(dest="command", required=True)
    book = commands.add_parser("build-book", help="build the student edition of the book")
    book.add_argument("--no-strict", action="store_true", help="do not turn Sphinx warnings into errors")
    book.add_argument("--workers", type=int, default=None,
                      help="processes that execute uncached chapters before the build (default: one per core; 1: none)")
    leak = commands.add_parser("leak-check", help="scan files for solutions, hidden tests, reference code")
    leak.add_argument("paths", nargs="+", type=Path)
    bench = commands.add_parser("bench-build", help="time cold and warm builds of the book (on a copy)")
    bench.add_argument("--no-strict", action="store_true", help="do not turn Sphinx warnings into errors")
    bench.add_argument("--direct", action="store_true", help="also execute each chapter once with nbclient")
    bench.add_argument("--keep", action="store_true", help="keep the temporary copy and its build logs")
    rel = commands.add_parser("release", help="validate, build and leak-check the student bundle dist/dlopt-VERSION and its zip")
    rel.add_argument("--version", required=True, help="the release's version, e.g. 2026.1")
    rel.add_argument("--out", type=Path, default=None, help="where the bundle goes (default: dist/ in the course root)")
    rel.add_argument("--no-strict", action="store_true", help="do not turn Sphinx warnings into errors")
    rel.add_argument("--force", action="store_true",
                     help="replace dlopt-VERSION (folder and zip) if it was already released")
    add_grading_commands(commands)
    hub = commands.add_parser("hub-setup", help="(as root) lay out a JupyterHub course on one machine",
                              description="Give the course folder to the grader's account (mode 700), make the "
                                          "exchange (root, 1777), write the grader's and the student environment's "
                                          "nbgrader configs, turn the instructor extensions off in the student "
                                          "environment, then check that no other account can reach the course.")
    hub.add_argument("--grader", required=True, help="the account that owns the course and runs the course service")
    hub.add_argument("--student-env", type=Path, required=True, help="the students' environment (a venv)")
    hub.add_argument("--exchange", type=Path, default=Path("/srv/nbgrader/exchange"), help="nbgrader's exchange")
    hub.add_argument("--db-url", default=None, help="the gradebook (default: SQLite in the course folder)")
    outcomes = commands.add_parser("bench-outcomes", help="time each outcome check on its model answer")
    outcomes.add_argument("assignments", nargs="*", help="assignment names (default: all)")
    rubric = commands.add_parser("rubrics", help="the rubrics of the written answers (for instructors)")
    rubric.add_argument("assignments", nargs="+", help="assignment names, e.g. 02_momentum")
    rubric.add_argument("--out", type=Path, default=None, help="write the Markdown sheet here (default: print it)")
    example = commands.add_parser("feedback-example", help="regenerate the grading page's feedback example")
    example.add_argument("--check", action="store_true", help="only compare with the committed file (exit 1 if stale)")
    args = parser.parse_args(argv)

    root = args.root.resolve()
    if args.command in GRADING_COMMANDS:  # an nbgrader course folder, not necessarily the book's root
        return run_grading_command(args, root, parser)
    if not (root / "_config.yml").is_file() or not (root / "exercises").is_dir():
        parser.error(f"{root} is not the course root (no _config.yml or exercises/ there); use --root")
    if args.command == "build-book":
        return build_book(root, strict=not args.no_strict, workers=args.workers)
    if args.command == "bench-build":
        return bench_build(root, strict=not args.no_strict, direct=args.direct, keep=args.keep)
    if args.command == "release":
        return release(root, args.version, args.out if args.out is not None else root / "dist",
                       strict=not args.no_strict, force=args.force)
    if args.command == "hub-setup":
        from .hub_setup import HubSetupError, hub_setup

        try:
            return hub_setup(root, args.grader, args.student_env.resolve(), args.exchange, args.db_url)
        except HubSetupError as error:
            print(f"hub-setup: {error}", file=sys.stderr)
            return 2
    if args.command == "feedback-example":
        from .feedback_example import EXAMPLE_PATH, feedback_example

        text, path = feedback_example(root), root / EXAMPLE_PATH
        if args.check:
            same = path.is_file() and path.read_text() == text
            print(f"{path}: {'up to date' if same else 'STALE, regenerate it'}")
            return 0 if same else 1
        path.write_text(text)
        print(f"wrote {path}")
        return 0
    if args.command == "bench-outcomes":
        from .bench_outcomes import bench_outcomes

        return bench_outcomes(root, args.assignments or None)
    if args.command == "rubrics":
        from .rubrics import rubric_sheet

        try:
            sheet = rubric_sheet(root, args.assignments)
        except FileNotFoundError as error:
            print(f"rubrics: {error}", file=sys.stderr)
            return 2
        if args.out is None:
            print(sheet)
        else:
            args.out.write_text(sheet)
            print(f"wrote {args.out}")
        return 0
    if args.command == "leak-check":
        leaks = scan(args.paths, forbidden_markers(root))
        for leak in leaks:
            print(leak)
        print(f"leak check: {len(leaks)} leak(s) in {', '.join(map(str, args.paths))}")
        return 1 if leaks else 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
