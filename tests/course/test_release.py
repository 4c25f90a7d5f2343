"""The one-command release (``dlopt-course release``), run once for real.

The release validates and autogrades every assignment in a temporary course, builds the book (a warm
rebuild: the session's ``built_book`` fixture has built it first, so the jupyter cache is warm) and
writes ``dlopt-<version>/`` and its archive ``dlopt-<version>.zip``. The tests check its layout and
content, that the console output is short and names the log, that a second release of the same
version is refused and leaves the first one byte for byte, and that the bundle check
(:func:`check_bundle`) fails, naming the file, on a solution planted into a zipped notebook and into
an HTML page of a copy of the bundle.
"""

from __future__ import annotations

import hashlib
import html
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from dlopt_course.catalog import ASSIGNMENTS
from dlopt_course.notebooks import SOLUTION_BEGIN, SOLUTION_END
from dlopt_course.release import STUDENT_PACKAGES, write_zip
from dlopt_course.release_checks import check_archive, check_bundle

VERSION = "2026.1"


STALE_MARK = "stale-from-an-earlier-release.txt"


@pytest.fixture(scope="module")
def released(built_book, course_root, tmp_path_factory):
    """``(out folder, completed process)`` of one release run into a temporary ``--out``.

    The version was released there before (a stale folder and archive of the same name are planted), so this
    one run is also the test of ``--force``: the new bundle replaces both (the tests below check it is whole).
    """
    out = tmp_path_factory.mktemp("dist")
    (out / f"dlopt-{VERSION}").mkdir()
    (out / f"dlopt-{VERSION}" / STALE_MARK).write_text("an earlier release's file")
    with zipfile.ZipFile(out / f"dlopt-{VERSION}.zip", "w") as stale:
        stale.writestr(f"dlopt-{VERSION}/{STALE_MARK}", "an earlier release's archive")
    result = subprocess.run(
        [sys.executable, "-m", "dlopt_course", "--root", str(course_root),
         "release", "--version", VERSION, "--out", str(out), "--force"],
        cwd=course_root, capture_output=True, text=True, timeout=1800,
    )
    return out, result


@pytest.fixture(scope="module")
def bundle(released) -> Path:
    out, result = released
    assert result.returncode == 0, f"the release failed:\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
    return out / f"dlopt-{VERSION}"


def test_release_validates_every_assignment_and_passes_the_leak_check(released, bundle):
    out, result = released
    for assignment in ASSIGNMENTS:
        assert f"{assignment}: ok: validate passed, model answer " in result.stdout, f"no validation result for {assignment}"
    assert "leak check: passed (0 problems)" in result.stdout
    # no .partial, no .rejected: the folder, its archive and the log
    assert sorted(path.name for path in out.iterdir()) == [f"dlopt-{VERSION}", f"dlopt-{VERSION}.log",
                                                           f"dlopt-{VERSION}.zip"]


def test_the_output_is_short_and_the_full_log_is_in_the_output_folder(released, bundle):
    out, result = released
    lines = (result.stdout + result.stderr).splitlines()
    assert len(lines) <= 30, f"{len(lines)} lines:\n" + "\n".join(lines)
    log = out / f"dlopt-{VERSION}.log"
    assert str(log) in result.stdout
    text = log.read_text()
    # the tools' own output is there, not on the console: the book build's command line
    assert "running:" in text and "build" in text and "running:" not in result.stdout
    # each assignment's line has the time that assignment took (all of them are short, not cumulative)
    for assignment in ASSIGNMENTS:
        line = next(line for line in lines if f"] {assignment}: ok" in line)
        assert line.endswith(" s)"), line


def test_the_archive_holds_exactly_the_bundle_folder(released, bundle):
    out, _ = released
    files = {f"{bundle.name}/{path.relative_to(bundle).as_posix()}": path.read_bytes()
             for path in bundle.rglob("*") if path.is_file()}
    with zipfile.ZipFile(out / f"{bundle.name}.zip") as zipped:
        members = {info.filename: zipped.read(info) for info in zipped.infolist() if not info.is_dir()}
    assert sorted(members) == sorted(files)
    assert members == files


def test_force_replaced_the_earlier_release_of_the_version(released, bundle):
    out, _ = released
    assert not (bundle / STALE_MARK).exists()
    with zipfile.ZipFile(out / f"{bundle.name}.zip") as zipped:
        names = zipped.namelist()
    assert f"{bundle.name}/{STALE_MARK}" not in names and f"{bundle.name}/README.txt" in names


def _digest(folder: Path) -> dict[str, str]:
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def test_a_second_release_of_the_same_version_is_refused_and_changes_nothing(released, bundle, course_root):
    out, _ = released
    before = _digest(out)
    again = subprocess.run(
        [sys.executable, "-m", "dlopt_course", "--root", str(course_root),
         "release", "--version", VERSION, "--out", str(out)],
        cwd=course_root, capture_output=True, text=True, timeout=600,
    )
    assert again.returncode == 2
    assert str(bundle) in again.stderr and "already released" in again.stderr and "--force" in again.stderr
    assert _digest(out) == before  # the folder, the archive and the first release's log, byte for byte


def test_bundle_layout(bundle):
    for name in ("README.txt", "requirements.txt", "pyproject.toml", "dlopt/__init__.py", "book/index.html"):
        assert (bundle / name).is_file(), f"the bundle has no {name}"
    assert sorted(path.name for path in (bundle / "assignments").iterdir()) == sorted(f"{a}.zip" for a in ASSIGNMENTS)
    assert list((bundle / "book").rglob("_sources/**/01_sgd.ipynb")), "the book's downloadable sources are missing"
    names = {path.name for path in bundle.rglob("*")}
    assert "gradebook.db" not in names and "dlopt_reference" not in names
    readme = (bundle / "README.txt").read_text()
    assert "python3 -m venv .venv && .venv/bin/pip install -r requirements.txt" in readme
    assert VERSION in readme


def test_student_requirements_pin_the_student_packages_and_never_the_reference(bundle, course_root):
    lines = [line.strip() for line in (bundle / "requirements.txt").read_text().splitlines()]
    code = [line for line in lines if line and not line.startswith("#")]
    assert not [line for line in code if "dlopt_reference" in line or "solutions" in line or line.startswith("-e")]
    assert "./" in code
    course_pins = {line.split("==")[0].lower(): line for line in (course_root / "requirements.txt").read_text().split()
                   if "==" in line}
    assert sorted(line for line in code if line != "./") == sorted(course_pins[name] for name in STUDENT_PACKAGES)


@pytest.mark.parametrize("assignment", list(ASSIGNMENTS))
def test_each_zip_holds_the_student_notebook_with_stubs(bundle, assignment):
    with zipfile.ZipFile(bundle / "assignments" / f"{assignment}.zip") as zipped:
        member = f"{assignment}/{assignment}.ipynb"
        assert member in zipped.namelist()
        notebook = nbformat.reads(zipped.read(member).decode(), as_version=4)
    stubs = {cell.metadata["nbgrader"]["grade_id"]: cell.source for cell in notebook.cells
             if cell.get("metadata", {}).get("nbgrader", {}).get("solution")}
    for function in ASSIGNMENTS[assignment]:
        source = stubs[f"{function}_impl"]
        assert f"def {function}(" in source and "raise NotImplementedError()" in source
    text = "\n".join(cell.source for cell in notebook.cells)
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text


def _sgd_model_lines(course_root: Path) -> list[str]:
    """The model answer of ``sgd`` (the lines between the solution markers of the source's sgd_impl)."""
    source = nbformat.read(course_root / "exercises" / "01_sgd" / "01_sgd.ipynb", as_version=4)
    cell = next(c for c in source.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "sgd_impl")
    lines = cell.source.splitlines()
    begin = next(i for i, line in enumerate(lines) if line.strip() == SOLUTION_BEGIN)
    end = next(i for i, line in enumerate(lines) if line.strip() == SOLUTION_END)
    answer = [line for line in lines[begin + 1:end] if line.strip()]
    assert answer, "the sgd_impl cell has no model answer"
    return answer


def test_the_bundle_check_finds_solutions_planted_in_a_zip_and_a_page(bundle, course_root, tmp_path):
    copy = tmp_path / bundle.name
    shutil.copytree(bundle, copy)
    answer = _sgd_model_lines(course_root)

    # 1. into the sgd stub of the notebook inside assignments/01_sgd.zip
    archive = copy / "assignments" / "01_sgd.zip"
    member = "01_sgd/01_sgd.ipynb"
    with zipfile.ZipFile(archive) as zipped:
        contents = {name: zipped.read(name) for name in zipped.namelist()}
    notebook = nbformat.reads(contents[member].decode(), as_version=4)
    stub = next(c for c in notebook.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "sgd_impl")
    stub.source = stub.source.replace("raise NotImplementedError()", "\n    ".join(line.strip() for line in answer))
    contents[member] = nbformat.writes(notebook).encode()
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        for name, data in contents.items():
            zipped.writestr(name, data)

    # 2. into the book's page of that exercise, as a highlighted code block at the end of the body
    page = next(path for path in sorted((copy / "book").rglob("01_sgd.html")) if "_generated" in path.parts)
    text = page.read_text()
    planted = "".join(f'<span class="n">{html.escape(line)}</span>\n' for line in answer)
    text = text.replace("</body>", f'<div class="highlight"><pre>\n{planted}</pre></div>\n</body>', 1)
    page.write_text(text)
    assert "</body>" in text
    planted_row = next(row for row, line in enumerate(text.splitlines(), start=1)
                       if html.escape(answer[0].strip()) in line)

    # 3. and things that must never ship, whatever their content: the gradebook, the instructors' packages
    (copy / "gradebook.db").write_bytes(b"")
    (copy / "dlopt_reference").mkdir()
    (copy / "dlopt_reference" / "grading.py").write_text("")
    (copy / "tools" / "dlopt_course").mkdir(parents=True)
    (copy / "tools" / "dlopt_course" / "cli.py").write_text("")

    problems = check_bundle(copy, course_root)
    report = "\n".join(problems)
    expected = {
        f"{archive}!{member}:": "the model answer of 01_sgd (sgd_impl)",
        f"{page}:{planted_row}:": "the model answer of 01_sgd (sgd_impl)",
        f"{copy}/gradebook.db:": "gradebook.db",
        f"{copy}/dlopt_reference:": "package dlopt_reference must never be shipped",
        f"{copy}/dlopt_reference/grading.py:": "module of dlopt_reference",
        f"{copy}/tools/dlopt_course:": "package dlopt_course must never be shipped",
        f"{copy}/tools/dlopt_course/cli.py:": "module of dlopt_course",
    }
    for prefix, what in expected.items():
        assert any(p.startswith(prefix) and what in p for p in problems), f"nothing reported for {prefix}\n{report}"
    # nothing else: the files left as released are clean
    others = [p for p in problems if not p.startswith((f"{archive}!{member}:", f"{page}:", f"{copy}/gradebook.db:",
                                                      f"{copy}/dlopt_reference", f"{copy}/tools/dlopt_course"))]
    assert others == [], report


def test_the_archive_check_finds_a_solution_planted_in_a_page_and_the_member_that_differs(bundle, course_root,
                                                                                         tmp_path):
    copy = tmp_path / bundle.name
    shutil.copytree(bundle, copy)
    answer = _sgd_model_lines(course_root)
    page = next(path for path in sorted((copy / "book").rglob("01_sgd.html")) if "_generated" in path.parts)
    planted = "".join(f'<span class="n">{html.escape(line)}</span>\n' for line in answer)
    block = f'<div class="highlight"><pre>\n{planted}</pre></div>\n'
    page.write_text(page.read_text().replace("</body>", f"{block}</body>", 1))
    archive = tmp_path / "planted.zip"
    write_zip(copy, archive, prefix=bundle.name)
    member = f"{bundle.name}/{page.relative_to(copy).as_posix()}"

    problems = check_archive(archive, bundle, course_root)  # the archive against the released folder
    report = "\n".join(problems)
    differs = f"{archive}!{member}: differs from {bundle / page.relative_to(copy)}"
    leaks = [p for p in problems if p.startswith(f"{archive}!{member}:") and p != differs]
    assert leaks and all("the model answer of 01_sgd (sgd_impl)" in p for p in leaks), report
    assert sorted(problems) == sorted([*leaks, differs]), report  # nothing else: the rest is as released
    assert check_archive(bundle.parent / f"{bundle.name}.zip", bundle, course_root) == []


@pytest.mark.parametrize("given_out", [f"dlopt-{VERSION}", f"dlopt-{VERSION}.zip"])
def test_a_folder_or_archive_given_out_is_refused_before_any_work(course_root, tmp_path, given_out):
    """Without the real release: the refusal comes first, whichever of the two is there."""
    target = tmp_path / given_out
    if target.suffix == ".zip":
        target.write_bytes(b"the archive students have")
    else:
        target.mkdir()
        (target / "README.txt").write_text("the bundle students have")
    before = _digest(tmp_path)
    refused = subprocess.run(
        [sys.executable, "-m", "dlopt_course", "--root", str(course_root),
         "release", "--version", VERSION, "--out", str(tmp_path)],
        cwd=course_root, capture_output=True, text=True, timeout=600,
    )
    assert refused.returncode == 2 and f"{target} exists" in refused.stderr, refused.stdout + refused.stderr
    assert "--force" in refused.stderr and refused.stdout == ""
    assert _digest(tmp_path) == before and sorted(p.name for p in tmp_path.iterdir()) == [given_out]


@pytest.mark.parametrize("requirement", ["-e ./solutions", "dlopt-reference==0.1.0", "./instructor",
                                         "dlopt_course @ file:///course/instructor"])
def test_a_requirement_on_an_instructors_package_is_refused(course_root, tmp_path, requirement):
    """The bundle's requirements.txt may name the student packages and ./ (dlopt); never the reference or the tool."""
    bundle = tmp_path / "dlopt-check"
    bundle.mkdir()
    (bundle / "requirements.txt").write_text(f"numpy==2.4.6\n./\n{requirement}  # added by mistake\n")
    problems = check_bundle(bundle, course_root)
    assert [p for p in problems if p.startswith(f"{bundle / 'requirements.txt'}:3:")], problems
    assert not [p for p in problems if ":1:" in p or ":2:" in p], problems
