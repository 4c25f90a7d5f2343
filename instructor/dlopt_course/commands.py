"""What each ``dlopt-course`` subcommand does with its parsed options (:mod:`.cli` parses them).

Each ``run_*`` function takes the options and the course folder, prints what it did, and returns the exit
code of :mod:`.cli` (0 done; 1 ran and found problems; 2 could not run). The modules of the tool are
imported only by the command that needs them, so ``--help`` and a quick command stay quick.
"""

from __future__ import annotations

import sys
from pathlib import Path


def run(args, root: Path) -> int:
    """Run the subcommand ``args.command`` on the course at ``root``; its exit code."""
    runner = _RUNNERS[args.command]
    return runner(args, root)


def _fail(command: str, error: Exception) -> int:
    print(f"{command}: {error}", file=sys.stderr)
    return 2


# --------------------------------------------------------------------------------------------------
# the book

def run_build_book(args, root: Path) -> int:
    from .build_book import build_book

    return build_book(root, strict=not args.no_strict, workers=args.workers)


def run_bench_build(args, root: Path) -> int:
    from .bench_build import bench_build

    return bench_build(root, strict=not args.no_strict, direct=args.direct, keep=args.keep)


# --------------------------------------------------------------------------------------------------
# the release

def run_release(args, root: Path) -> int:
    from .release import release

    return release(root, args.version, args.out if args.out is not None else root / "dist",
                   strict=not args.no_strict, force=args.force)


def run_leak_check(args, root: Path) -> int:
    from .leaks import forbidden_markers, scan

    leaks = scan(args.paths, forbidden_markers(root))
    for leak in leaks:
        print(leak)
    print(f"leak check: {len(leaks)} leak(s) in {', '.join(map(str, args.paths))}")
    return 1 if leaks else 0


# --------------------------------------------------------------------------------------------------
# collection and grading

def run_import_submissions(args, root: Path) -> int:
    from .import_submissions import import_submissions

    return import_submissions(root, args.assignment, args.download, roster_csv=args.roster, dry_run=args.dry_run,
                              force=args.force)


def run_grade(args, root: Path) -> int:
    from .grading import GradingSetupError, grade_class
    from .grading.course import LOG_NAME
    from .integrity import INCIDENTS_NAME

    try:
        report = grade_class(root, args.assignments, workers=args.workers, force=args.force,
                             students=args.students, progress=not args.no_progress,
                             allow_weak_isolation=args.allow_weak_isolation)
    except GradingSetupError as error:
        return _fail("grade", error)
    print(f"graded {len(report.graded)}, already graded (skipped) {len(report.skipped)}, "
          f"failed {len(report.failures)} in {report.seconds:.1f} s")
    if report.failures:
        print("not graded (student / assignment: reason):")
        for failure in report.failures:
            print(f"  {failure}")
        print(f"details: {root / 'autograded' / LOG_NAME}")
    if report.incidents:
        print(f"{len(report.incidents)} incident(s) (what submissions attempted and were refused, or changed in "
              f"their own process; see {root / 'autograded' / INCIDENTS_NAME}):")
        for incident in report.incidents[:50]:
            print(f"  {incident}")
    return 1 if report.failures else 0


def run_bench_grading(args, root: Path) -> int:
    from .bench_grading import bench_grading

    return bench_grading(root, students=args.students, assignments=args.assignments, workers=args.workers,
                         keep=args.keep)


def run_bench_outcomes(args, root: Path) -> int:
    from .bench_outcomes import bench_outcomes

    return bench_outcomes(root, args.assignments or None)


def run_rubrics(args, root: Path) -> int:
    from .rubrics import rubric_sheet

    try:
        sheet = rubric_sheet(root, args.assignments)
    except FileNotFoundError as error:
        return _fail("rubrics", error)
    if args.out is None:
        print(sheet)
    else:
        args.out.write_text(sheet)
        print(f"wrote {args.out}")
    return 0


# --------------------------------------------------------------------------------------------------
# reports

def run_export(args, root: Path) -> int:
    from .export import ExportError, export, parse_canvas_ids

    try:
        table, diagnoses = export(root, args.assignments, args.csv, args.diagnoses, args.roster,
                                  args.missing_as_zero, args.canvas, parse_canvas_ids(args.canvas_assignment))
    except ExportError as error:
        return _fail("export", error)
    empty = sum(1 for row in table.rows for a in table.assignments if row[a] == "")
    print(f"wrote {args.csv}: {len(table.rows)} student(s), {empty} empty (ungraded or missing) score(s)")
    print(f"wrote {diagnoses}: {len(table.diagnoses)} diagnosis row(s)")
    if args.canvas is not None:
        print(f"wrote {args.canvas}: Canvas gradebook CSV, the students with an LMS id")
    unlisted = [row["student"] for row in table.rows if table.with_lms_id and not row["lms_id"]]
    if unlisted:
        print(f"no LMS id for {len(unlisted)} student(s) (not in the roster): {', '.join(unlisted)}")
    return 0


def run_similarity(args, root: Path) -> int:
    from .similarity import THRESHOLD, SimilarityError, similarity, write_csv, write_html

    threshold = THRESHOLD if args.threshold is None else args.threshold
    try:
        report = similarity(root, args.assignments, threshold, progress=not args.no_progress)
    except SimilarityError as error:
        return _fail("similarity", error)
    write_html(report, args.html, threshold)
    print(f"compared {', '.join(f'{a}: {n} submission(s)' for a, n in report.students.items())}")
    print(f"{len(report.pairs)} pair(s) at or above {threshold:.2f}; wrote {args.html}")
    for pair in report.pairs[:20]:
        print(f"  {pair.score:.2f}  {pair.assignment}  {pair.student_a} & {pair.student_b}  ({', '.join(pair.cells)})")
    if args.csv is not None:
        write_csv(report, args.csv)
        print(f"wrote {args.csv}")
    if report.skipped:
        print(f"not compared ({len(report.skipped)}):")
        for line in report.skipped:
            print(f"  {line}")
    return 0


def run_bench_similarity(args, root: Path) -> int:
    from .bench_similarity import bench_similarity

    return bench_similarity(root, students=args.students, keep=args.keep)


def run_feedback_example(args, root: Path) -> int:
    from .feedback_example import EXAMPLE_PATH, feedback_example

    text, path = feedback_example(root), root / EXAMPLE_PATH
    if args.check:
        same = path.is_file() and path.read_text() == text
        print(f"{path}: {'up to date' if same else 'STALE, regenerate it'}")
        return 0 if same else 1
    path.write_text(text)
    print(f"wrote {path}")
    return 0


# --------------------------------------------------------------------------------------------------
# a course on a shared machine

def run_hub_setup(args, root: Path) -> int:
    from .hub_setup import HubSetupError, hub_setup

    try:
        return hub_setup(root, args.grader, args.student_env.resolve(), args.exchange, args.db_url)
    except HubSetupError as error:
        return _fail("hub-setup", error)


_RUNNERS = {
    "build-book": run_build_book, "bench-build": run_bench_build,
    "release": run_release, "leak-check": run_leak_check,
    "import-submissions": run_import_submissions, "grade": run_grade, "bench-grading": run_bench_grading,
    "bench-outcomes": run_bench_outcomes, "rubrics": run_rubrics,
    "export": run_export, "similarity": run_similarity, "bench-similarity": run_bench_similarity,
    "feedback-example": run_feedback_example,
    "hub-setup": run_hub_setup,
}
