"""``dlopt-course grade`` / ``export``: a synthetic class graded in parallel, resumably,
and exported for an LMS (scores with a Points Possible row and empty cells where ungraded; diagnoses apart).

One class (01_sgd and 05_lr_decay, 7 submissions each: model, blank, wrong and broken ones) is made once
and copied: one copy is graded by stock sequential ``nbgrader autograde`` (in the background), the other
by ``grade --workers 2`` run as an unprivileged account (``tests/unprivileged.py``), first with the test
hook ``DLOPT_GRADE_CRASH_AFTER=3`` (the grader stops right after its third merge, like a kill), then again
to finish. The finished gradebook must hold exactly the stock per-cell scores, except for the submission
whose code ends its own process: stock nbgrader cannot grade it at all, ``grade`` scores it. No timing is
asserted (the benchmark is ``bench-grading``, a script).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dlopt_course.bench_grading import compare, gradebook_scores, submit_kind
from dlopt_course.grading.course import FAILURES_NAME, LOG_NAME, graded_submissions, load_course
from dlopt_course.nbgrader_course import NbgraderCourse
from dlopt_course.submissions import combine_edits, model_answer, replace_in_solution
from unprivileged import hand_over, run_as_grader, world_folder

ASSIGNMENTS = ["01_sgd", "05_lr_decay"]
WRONG = {  # known wrong answers (tests/course/test_wrong_answers_*.py) and the diagnosis they must show
    ("wrong_a", "01_sgd"): (combine_edits(
        replace_in_solution("sgd_impl", 'w - config["learning_rate"] * dw', 'w + config["learning_rate"] * dw'),
        replace_in_solution("minibatches_impl",
                            "order = np.arange(n_examples) if rng is None else rng.permutation(n_examples)",
                            "order = np.arange(n_examples)")),
        ["sgd_hidden", "sign of the update is flipped", "minibatches_hidden", "not shuffled"]),
    ("wrong_b", "01_sgd"): (replace_in_solution("lr_range_test_impl", "np.geomspace(min_lr, max_lr, num_steps)",
                                                "np.linspace(min_lr, max_lr, num_steps)"),
                            ["lr_range_test_hidden", "geometrically"]),
    ("wrong_a", "05_lr_decay"): (replace_in_solution("step_decay_impl", "np.floor(epoch / epochs_drop)",
                                                     "(epoch / epochs_drop)"), ["step_decay_hidden", "no floor"]),
}
KINDS = {  # (student, assignment) -> kind of submission (submit_kind), or "wrong"
    **{(s, "01_sgd"): k for s, k in [("model", "model"), ("blank", "blank"), ("wrong_a", "wrong"),
                                      ("wrong_b", "wrong"), ("broken_json", "invalid_json"),
                                      ("broken_kernel", "kernel_dies"), ("broken_name", "misnamed")]},
    **{(s, "05_lr_decay"): k for s, k in [("model", "model"), ("blank", "blank"), ("wrong_a", "wrong"),
                                           ("half", "half"), ("broken_other", "other_assignment"),
                                           ("broken_json", "invalid_json"), ("broken_name", "misnamed")]},
}
BROKEN = {  # (student, assignment) -> what the report must say
    ("broken_json", "01_sgd"): "not a valid notebook",
    ("broken_name", "01_sgd"): "no 01_sgd.ipynb",
    ("broken_other", "05_lr_decay"): "not a notebook of 05_lr_decay",
    ("broken_json", "05_lr_decay"): "not a valid notebook",
    ("broken_name", "05_lr_decay"): "no 05_lr_decay.ipynb",
}
GOOD = sorted(set(KINDS) - set(BROKEN))
#: its first solution cell ends the process (``os._exit(1)``): stock nbgrader reports "Kernel died" and
#: grades nothing; ``grade`` runs the other cells in a fresh process and scores them
ENDS_ITSELF = ("broken_kernel", "01_sgd")
CRASH_AFTER = 3
TIMEOUT = 1200


def env(**extra: str) -> dict:
    bin_dir = str(Path(sys.executable).parent)
    return dict(os.environ, PATH=os.pathsep.join([bin_dir, os.environ.get("PATH", "")]), **extra)


def grade(root: Path, *args: str, **extra_env: str) -> subprocess.CompletedProcess:
    """``grade`` run as the unprivileged grading account, as an instructor runs it."""
    return run_as_grader([sys.executable, "-m", "dlopt_course", "grade", *args, "--root", str(root),
                          "--workers", "2"], timeout=TIMEOUT, env=env(**extra_env))


def graded(root: Path) -> set[tuple[str, str]]:
    _, coursedir = load_course(root)
    return graded_submissions(coursedir, ASSIGNMENTS)


@pytest.fixture(scope="module")
def run(tmp_path_factory, course_root):
    """The class graded by stock nbgrader (``stock``) and by ``grade`` with a crash, then resumed (``ours``)."""
    work = world_folder("dlopt-grade-class-")
    course = NbgraderCourse.copy_of(course_root, work / "base", ASSIGNMENTS)
    for assignment in ASSIGNMENTS:
        course.generate(assignment)
    for (student, assignment), kind in KINDS.items():
        if kind == "wrong":
            edit = WRONG[(student, assignment)][0]
            course.submit(student, assignment, model_answer(course.source(assignment), course.release(assignment),
                                                            edit=edit))
        else:
            submit_kind(course, student, assignment, kind, other="01_sgd")
    stock, ours = work / "stock", work / "ours"
    shutil.copytree(course.root, stock)
    shutil.copytree(course.root, ours)
    hand_over(ours)

    nbgrader = str(Path(sys.executable).with_name("nbgrader"))
    script = "; ".join(f"'{nbgrader}' autograde {a}" for a in ASSIGNMENTS)  # sequential, as an instructor would
    stock_process = subprocess.Popen(["bash", "-c", script], cwd=stock, env=env(), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
    try:
        crashed = grade(ours, *ASSIGNMENTS, DLOPT_GRADE_CRASH_AFTER=str(CRASH_AFTER))
        after_crash = graded(ours)
        resumed = grade(ours, *ASSIGNMENTS)
        stock_process.wait(timeout=TIMEOUT)
    finally:
        if stock_process.poll() is None:
            stock_process.kill()
            stock_process.wait()
    return {"stock": stock, "ours": ours, "crashed": crashed, "after_crash": after_crash, "resumed": resumed}


def test_a_parallel_scores_equal_stock_sequential_autograde(run):
    stock = gradebook_scores(run["stock"], ASSIGNMENTS)
    ours = gradebook_scores(run["ours"], ASSIGNMENTS)
    ends_itself = {key: value for key, value in ours.items() if key[:2] == ENDS_ITSELF}
    assert compare(stock, ours, set(BROKEN) | {ENDS_ITSELF}) == sorted(
        f"{key}: failed here but in our gradebook" for key in ends_itself)
    # the cells of the function whose cell ended the process score nothing; every other check passes
    assert ends_itself and all((value[0] == 0) == key[2].startswith("sgd_") for key, value in ends_itself.items())
    assert {(s, a) for s, a, _ in ours} == set(GOOD)
    # every check is scored; a written answer (``*_answer``) waits for an instructor, unless left blank (zero)
    written = {key: value for key, value in ours.items() if key[2].endswith("_answer")}
    assert written and all(value[0] is not None or value[2] for value in written.values())
    assert all(value[0] is not None for key, value in ours.items() if key not in written)
    for student, assignment in GOOD:
        assert (run["ours"] / "autograded" / student / assignment / f"{assignment}.ipynb").is_file()
    model = {key: value for key, value in ours.items() if key[0] == "model" and key not in written}
    assert model and all(value[0] == value[3] for value in model.values()), "the model answer lost points"
    assert all(value[2] and value[0] is None for key, value in written.items() if key[0] == "model")


def test_b_broken_submissions_are_reported_and_the_rest_graded(run):
    resumed = run["resumed"]
    assert resumed.returncode == 1, resumed.stdout + resumed.stderr
    log = (run["ours"] / "autograded" / LOG_NAME).read_text()
    for (student, assignment), reason in BROKEN.items():
        line = next((l for l in resumed.stdout.splitlines() if l.strip().startswith(f"{student} / {assignment}:")),
                    None)
        assert line is not None and reason in line, resumed.stdout
        assert f"FAILED {student} / {assignment}" in log
    assert graded(run["ours"]) == set(GOOD)


def test_c_rerun_grades_nothing_new_and_force_regrades(run):
    before = gradebook_scores(run["ours"], ASSIGNMENTS)
    again = grade(run["ours"], *ASSIGNMENTS)
    assert f"graded 0, already graded (skipped) {len(GOOD)}, failed {len(BROKEN)}" in again.stdout, again.stdout
    assert "unchanged since it failed" in again.stdout  # broken ones are not run again
    forced = grade(run["ours"], "01_sgd", "--student", "model", "--student", "wrong_a", "--force")
    assert "graded 2, already graded (skipped) 0, failed 0" in forced.stdout, forced.stdout + forced.stderr
    assert gradebook_scores(run["ours"], ASSIGNMENTS) == before


def test_d_a_crash_loses_nothing_merged_and_a_rerun_completes(run):
    crashed = run["crashed"]
    assert crashed.returncode != 0 and "SimulatedCrash" in crashed.stderr, crashed.stdout + crashed.stderr
    assert len(run["after_crash"]) == CRASH_AFTER
    resumed = run["resumed"].stdout
    assert f"graded {len(GOOD) - CRASH_AFTER}, already graded (skipped) {CRASH_AFTER}" in resumed, resumed
    # the resumed class equals stock: checked cell by cell in test_a


def export(run, tmp_path, *extra: str) -> tuple[subprocess.CompletedProcess, list[list[str]], list[dict]]:
    """``export`` of the graded class: the process, the scores CSV's rows and the diagnoses CSV's rows."""
    target = tmp_path / "grades.csv"
    result = subprocess.run([sys.executable, "-m", "dlopt_course", "export", *ASSIGNMENTS,
                             "--root", str(run["ours"]), "--csv", str(target), *extra],
                            capture_output=True, text=True, timeout=300, env=env())
    assert result.returncode == 0, result.stdout + result.stderr
    with open(target, newline="") as handle:
        scores = list(csv.reader(handle))
    with open(tmp_path / "grades.diagnoses.csv", newline="") as handle:
        diagnoses = list(csv.DictReader(handle))
    return result, scores, diagnoses


#: the roster an LMS gives: every student but ``half`` (graded, not listed), and ``absent``, who submitted nothing
ROSTER = {student: f"SIS-{index:03d}" for index, student in
          enumerate(sorted({s for s, _ in KINDS} - {"half"} | {"absent"}), start=1)}


def test_e_export_scores_for_an_lms_and_diagnoses_apart(run, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,lms_id,name\n" + "".join(f"{s},{i},Name of {s}\n" for s, i in ROSTER.items()))
    result, table, diagnoses = export(run, tmp_path, "--roster", str(roster))
    header, points, *rows = table
    assert header == ["student", "lms_id", *ASSIGNMENTS, "total"]
    rows = {row[0]: dict(zip(header, row)) for row in rows}
    points = dict(zip(header, points))

    cells = gradebook_scores(run["ours"], ASSIGNMENTS)
    maximum = {a: sum(value[3] for (s, b, _), value in cells.items() if s == "model" and b == a) for a in ASSIGNMENTS}
    assert points["student"] == "Points Possible" and points["lms_id"] == ""
    assert {a: float(points[a]) for a in ASSIGNMENTS} == maximum and all(maximum.values())
    assert float(points["total"]) == sum(maximum.values())

    assert set(rows) == {s for s, _ in KINDS} | {"absent"}
    assert {s: row["lms_id"] for s, row in rows.items()} == {**ROSTER, "half": ""}
    assert "no LMS id for 1 student(s) (not in the roster): half" in result.stdout
    scores = {key[:2]: 0.0 for key in cells}
    for (student, assignment, _), value in cells.items():
        scores[(student, assignment)] += value[0] or 0.0  # a written answer not graded yet counts 0
    for (student, assignment), score in scores.items():
        assert float(rows[student][assignment]) == score
    by_hand = sum(value[3] for (s, _, grade_id), value in cells.items() if s == "model" and grade_id.endswith("_answer"))
    assert by_hand > 0 and float(rows["model"]["total"]) == float(points["total"]) - by_hand, \
        "the model answer lost points"
    assert float(rows["wrong_a"]["total"]) == scores[("wrong_a", "01_sgd")] + scores[("wrong_a", "05_lr_decay")]
    assert float(rows["wrong_a"]["01_sgd"]) < maximum["01_sgd"] and rows["blank"]["01_sgd"] == "0"
    # not graded (broken), not submitted (half has no 01_sgd, absent nothing): empty cells, never 0
    ungraded = set(BROKEN) | {("half", "01_sgd"), ("absent", "01_sgd"), ("absent", "05_lr_decay")}
    for student, assignment in ungraded:
        assert rows[student][assignment] == "" and rows[student]["total"] == "", (student, assignment)
    assert {(s, a) for s in rows for a in ASSIGNMENTS if rows[s][a] == ""} == ungraded | {
        (s, a) for s in rows for a in ASSIGNMENTS if (s, a) not in KINDS}

    def about(student, assignment, kind):
        return [row for row in diagnoses if (row["student"], row["assignment"], row["kind"]) ==
                (student, assignment, kind)]
    assert {row["kind"] for row in diagnoses if row["student"] == "model"} == {"needs manual grading"}
    assert not [row for row in diagnoses if row["kind"] == "incident"], "an honest submission caused an incident"
    for (student, assignment), (_, expected) in WRONG.items():
        failed = about(student, assignment, "failed check")
        text = " | ".join(f"{row['check']}: {row['detail']}" for row in failed).lower()
        for piece in expected:
            assert piece.lower() in text, f"{student}/{assignment}: {text}"
    assert any("not implemented" in row["detail"] for row in about("blank", "01_sgd", "failed check"))
    for (student, assignment), reason in BROKEN.items():
        assert [row["detail"] for row in about(student, assignment, "not graded")] and \
            reason in about(student, assignment, "not graded")[0]["detail"]
    assert about("half", "01_sgd", "no submission") and about("absent", "05_lr_decay", "no submission")
    assert [row["kind"] for row in diagnoses if row["student"] == "half" and row["assignment"] == ""] == \
        ["not in roster"]
    failures = json.loads((run["ours"] / "autograded" / FAILURES_NAME).read_text())
    assert set(failures) == {f"{s}/{a}" for s, a in BROKEN}


def test_f_export_missing_as_zero(run, tmp_path):
    _, table, diagnoses = export(run, tmp_path, "--missing-as-zero")
    header, points, *rows = table
    assert header == ["student", *ASSIGNMENTS, "total"]  # no roster, no lms_id column
    rows = {row[0]: dict(zip(header, row)) for row in rows}
    for student, assignment in set(BROKEN) | {("half", "01_sgd")}:
        assert rows[student][assignment] == "0"
    assert float(rows["half"]["total"]) == float(rows["half"]["05_lr_decay"]) > 0
    assert any(row["kind"] == "not graded" for row in diagnoses)  # the reason is still given


def test_commands_are_registered(capsys):
    from dlopt_course.cli import main

    for command, option in [("grade", "--workers"), ("export", "--csv"), ("bench-grading", "--students")]:
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0
        assert option in capsys.readouterr().out


def test_grade_refuses_a_machine_that_cannot_confine_students_code(monkeypatch, tmp_path):
    """Without Landlock or seccomp, ``grade`` says what is missing and runs nothing (unless told to)."""
    from dlopt_course.grading import GradingSetupError, grade_class, schedule

    monkeypatch.setattr(schedule, "check_isolation", lambda: ["Landlock is not available (the kernel says ENOSYS)"])
    with pytest.raises(GradingSetupError) as refused:
        grade_class(tmp_path, ["01_sgd"])
    message = str(refused.value)
    assert "Landlock is not available" in message and "--allow-weak-isolation" in message
    assert not (tmp_path / "autograded").exists()  # nothing ran, nothing was written


def test_the_isolation_check_passes_on_this_machine():
    """CI's kernel must offer what the sandbox needs; otherwise every grading test here proves nothing."""
    from dlopt_course.integrity import check_isolation

    assert check_isolation() == []
