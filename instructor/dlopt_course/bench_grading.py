"""A synthetic class, graded by stock sequential ``nbgrader autograde`` and by ``grade`` (parallel), timed.

``dlopt-course bench-grading --students N [--assignments A...]`` makes a course with
the given assignments (default: all of them) released, and N submissions per assignment (a mix of model
answers, wrong answers, blank releases and broken files), copies it twice, grades one copy with
``nbgrader autograde A`` per assignment and the other with ``dlopt-course grade``,
prints notebooks per minute for both and their ratio, and checks that every grade cell got the same score.
It is a script, not a test: timings depend on the machine and its load.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from .catalog import ASSIGNMENTS
from .nbgrader_course import NbgraderCourse
from .submissions import model_answer

#: the kinds of submission, in the order students get them (student k: KINDS[k % len(KINDS)])
KINDS = ("model", "half", "blank", "model", "half", "invalid_json")


def _grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def half_answer(source, release):
    """The model answer with every second function of the assignment left unimplemented."""
    functions = [(_grade_id(c) or "").removesuffix("_impl") for c in source.cells
                 if c.get("metadata", {}).get("nbgrader", {}).get("solution")]
    keep = set(functions[::2])
    stubs = {_grade_id(cell): cell.source for cell in release.cells}
    return model_answer(source, release, edit=lambda gid, code: code if gid.removesuffix("_impl") in keep else stubs[gid])


def submit_kind(course: NbgraderCourse, student: str, assignment: str, kind: str, other: str | None = None) -> None:
    """Place a submission of ``kind`` (model, half, blank, invalid_json, misnamed, kernel_dies, other_assignment)."""
    source, release = course.source(assignment), course.release(assignment)
    folder = course.root / "submitted" / student / assignment
    if kind == "model":
        course.submit(student, assignment, model_answer(source, release))
    elif kind == "half":
        course.submit(student, assignment, half_answer(source, release))
    elif kind == "blank":
        course.submit(student, assignment, release)
    elif kind == "invalid_json":
        folder.mkdir(parents=True, exist_ok=True)
        text = json.dumps(nbformat.from_dict(model_answer(source, release)))
        (folder / f"{assignment}.ipynb").write_text(text[: len(text) // 2])  # cut in the middle
    elif kind == "misnamed":
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(model_answer(source, release), folder / f"{assignment} (1).ipynb")
    elif kind == "kernel_dies":
        def edit(grade_id: str, code: str, first=[True]) -> str:  # noqa: B006
            if first[0]:
                first[0] = False
                return "import os\nos._exit(1)\n" + code
            return code
        course.submit(student, assignment, model_answer(source, release, edit=edit))
    elif kind == "other_assignment":
        assert other is not None
        course.submit(student, assignment, model_answer(course.source(other), course.release(other)))
    else:
        raise ValueError(f"unknown kind of submission {kind!r}")


def make_class(course_root: Path, target: Path, assignments: list[str], students: int) -> NbgraderCourse:
    course = NbgraderCourse.copy_of(course_root, target, assignments)
    for assignment in assignments:
        course.generate(assignment)
    for assignment in assignments:
        for k in range(students):
            submit_kind(course, f"s{k:03d}", assignment, KINDS[k % len(KINDS)])
    return course


def gradebook_scores(root: Path, assignments: list[str]) -> dict[tuple[str, str, str], tuple]:
    """``{(student, assignment, grade_id): (auto_score, manual_score, needs_manual_grade, max_score)}``."""
    from nbgrader.api import Gradebook

    scores = {}
    with Gradebook(f"sqlite:///{Path(root) / 'gradebook.db'}") as gradebook:
        for assignment in assignments:
            for submission in gradebook.assignment_submissions(assignment):
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        scores[(submission.student_id, assignment, grade.name)] = (
                            grade.auto_score, grade.manual_score, grade.needs_manual_grade, grade.max_score)
    return scores


def compare(stock: dict, ours: dict, failed: set[tuple[str, str]]) -> list[str]:
    """Differences between two gradebooks' cell scores; submissions ``ours`` could not grade must score
    nothing in ``stock`` either (stock leaves them without a score)."""
    problems = []
    for key in sorted(set(stock) | set(ours)):
        student, assignment, _ = key
        if (student, assignment) in failed:
            if key in ours:
                problems.append(f"{key}: failed here but in our gradebook")
            if key in stock and stock[key][0] not in (None, 0):
                problems.append(f"{key}: failed here but stock scored it {stock[key][0]}")
            continue
        if stock.get(key) != ours.get(key):
            problems.append(f"{key}: stock {stock.get(key)} != ours {ours.get(key)}")
    return problems


def _env() -> dict:
    bin_dir = str(Path(sys.executable).parent)
    return dict(os.environ, PATH=os.pathsep.join([bin_dir, os.environ.get("PATH", "")]))


def bench_grading(course_root: Path, students: int = 6, assignments: list[str] | None = None,
                  workers: int | None = None, keep: bool = False) -> int:
    assignments = assignments or list(ASSIGNMENTS)
    workers = workers or os.cpu_count() or 1
    workdir = Path(tempfile.mkdtemp(prefix="dlopt-bench-grading-"))
    try:
        print(f"making a class of {students} students x {len(assignments)} assignment(s) in {workdir} ...")
        course = make_class(course_root, workdir / "stock", assignments, students)
        shutil.copytree(workdir / "stock", workdir / "ours", symlinks=True)
        notebooks = students * len(assignments)

        start = time.monotonic()
        for assignment in assignments:  # stock: fails (exit 1) when a submission is broken, after grading the rest
            subprocess.run([str(Path(sys.executable).with_name("nbgrader")), "autograde", assignment],
                           cwd=course.root, capture_output=True, text=True, env=_env())
        stock_seconds = time.monotonic() - start

        def grade(folder: str) -> tuple[float, subprocess.CompletedProcess]:
            start = time.monotonic()
            run = subprocess.run([sys.executable, "-m", "dlopt_course", "grade", *assignments,
                                  "--root", str(workdir / folder), "--workers", str(workers), "--no-progress"],
                                 capture_output=True, text=True, env=_env())
            return time.monotonic() - start, run

        ours_seconds, ours_run = grade("ours")
        print(ours_run.stdout.strip())

        from .grading.course import FAILURES_NAME

        failures = json.loads((workdir / "ours" / "autograded" / FAILURES_NAME).read_text()) \
            if (workdir / "ours" / "autograded" / FAILURES_NAME).exists() else {}
        failed = {tuple(key.split("/")) for key in failures}
        problems = compare(gradebook_scores(workdir / "stock", assignments),
                           gradebook_scores(workdir / "ours", assignments), failed)
        stock_rate, ours_rate = notebooks / stock_seconds * 60, notebooks / ours_seconds * 60
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"\n{notebooks} submissions ({students} students x {len(assignments)} assignments; "
              f"{len(failed)} broken), {os.cpu_count()} cores, load average {load:.1f}")
        print("| | seconds | notebooks / minute |\n|---|---|---|")
        print(f"| stock sequential `nbgrader autograde` | {stock_seconds:.1f} | {stock_rate:.1f} |")
        print(f"| `grade --workers {workers}` (every notebook run once, student code confined by the kernel) | "
              f"{ours_seconds:.1f} | {ours_rate:.1f} |")
        ratio = ours_rate / stock_rate
        print(f"speed-up over stock: {ratio:.2f}x (target on 2 cores: >= 3x) {'PASS' if ratio >= 3 else 'MISS'}")
        if problems:
            print(f"scores DIFFER in {len(problems)} grade cell(s):")
            print("\n".join(problems[:20]))
            return 1
        print("scores: identical for every (student, assignment, grade cell)")
        return bench_endless_loop(course_root, workdir / "loop", students, workers)
    finally:
        if keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


ENDLESS_CELL_TIMEOUT = 10  #: the per-cell limit of the endless-loop experiment (seconds)


def bench_endless_loop(course_root: Path, workdir: Path, students: int, workers: int) -> int:
    """``students`` model answers of 01_sgd graded alone, then with one endless loop added.

    Target: the class with the loop takes at most 1.2 times the class alone plus the loop's bound (1.5
    times the per-cell limit, here ``ENDLESS_CELL_TIMEOUT``): one hostile submission costs one worker its
    bound, never the class.
    """
    course = NbgraderCourse.copy_of(course_root, workdir / "alone", ["01_sgd"])
    with open(course.root / "nbgrader_config.py", "a") as config:
        config.write(f"\nc.Execute.timeout = {ENDLESS_CELL_TIMEOUT}\n")
    course.generate("01_sgd")
    source, release = course.source("01_sgd"), course.release("01_sgd")
    for k in range(students):
        course.submit(f"s{k:03d}", "01_sgd", model_answer(source, release))
    shutil.copytree(course.root, workdir / "with_loop", symlinks=True)
    loop = model_answer(source, release, edit=lambda grade_id, code: "def sgd(w, dw, config=None):\n    while True:\n"
                        "        pass" if grade_id == "sgd_impl" else code)
    NbgraderCourse(workdir / "with_loop").submit("zz_endless_loop", "01_sgd", loop)
    seconds = {}
    for folder in ("alone", "with_loop"):
        start = time.monotonic()
        subprocess.run([sys.executable, "-m", "dlopt_course", "grade", "01_sgd", "--root",
                        str(workdir / folder), "--workers", str(workers), "--no-progress"],
                       capture_output=True, text=True, env=_env())
        seconds[folder] = time.monotonic() - start
    bound = 1.2 * seconds["alone"] + 1.5 * ENDLESS_CELL_TIMEOUT
    print(f"\nendless loop: {students} model answers {seconds['alone']:.1f} s; with one endless loop "
          f"{seconds['with_loop']:.1f} s (target <= 1.2 x alone + 1.5 x the {ENDLESS_CELL_TIMEOUT} s cell limit "
          f"= {bound:.1f} s) {'PASS' if seconds['with_loop'] <= bound else 'MISS'}")
    return 0
