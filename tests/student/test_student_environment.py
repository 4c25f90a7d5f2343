"""The student environment, alone: README's student command, then every assignment in its kernel.

SLOW (a few minutes: it builds a virtual environment from nothing; pip's cache is used). It runs
in CI like every other test; deselect it locally with ``-m "not slow"``.

One environment per test session, made the way the README tells students: the base Python (never
the project's ``.venv``), ``python -m venv``, then ``pip install "./[student]"`` in a folder holding
a copy of only ``dlopt/`` and ``pyproject.toml`` (non-editable), which the install leaves as it was
(no ``build/``, no ``*.egg-info/``); then the README's command that disables and locks nbgrader's
instructor plugins, which leaves the students' plugins on. Then, with kernels of THAT
environment (nbclient runs from its Python, in a subprocess, with Jupyter's and IPython's user
folders redirected into the temporary folder so that no other kernel spec or startup file is used):

- ``dlopt_reference`` cannot be imported there;
- each assignment's student version (nbgrader's own preprocessors, as in the release) runs with its
  stubs: the only errors are in the ``*_visible`` cells and say "not implemented yet";
- each model answer (the release with the solutions filled in) runs without any error and every
  visible check prints its ✓ line;
- no visible cell writes to stderr;
- two chapters, downloaded as notebooks, run there on a student's own functions (model answers in the
  student's assignment folders), and name a function the student has not written yet.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from dlopt_course.chapter_notebooks import chapter_file_name, chapter_notebook, function_homes
from dlopt_course.notebooks import source_assignments, student_version
from dlopt_course.submissions import model_answer

pytestmark = pytest.mark.slow

COURSE_ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENTS = [path.stem for path in source_assignments(COURSE_ROOT)]
PROBE = "dlopt-environment-probe"

# Runs in the student environment: execute notebooks (errors allowed, they are what we inspect)
# and write them back, each with a last cell saying which Python ran the kernel.
DRIVER = r'''
import json, sys
from pathlib import Path
import nbformat
from nbclient import NotebookClient

PROBE_CODE = """import importlib.util, json, sys
import dlopt
print(json.dumps({"prefix": sys.prefix, "dlopt": dlopt.__file__,
                  "dlopt_reference": importlib.util.find_spec("dlopt_reference") is not None}))"""

for source, target in json.loads(sys.argv[1]):
    notebook = nbformat.read(source, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(PROBE_CODE, metadata={"tags": [sys.argv[2]]}))
    client = NotebookClient(notebook, kernel_name="python3", timeout=300, allow_errors=True,
                            resources={"metadata": {"path": str(Path(source).parent)}})
    client.execute()
    nbformat.write(notebook, target)
'''


def _base_python() -> str:
    """The system Python the project's venv was made from (never a virtual environment's)."""
    candidates = [getattr(sys, "_base_executable", None), shutil.which("python3.11"), shutil.which("python3")]
    for candidate in candidates:
        if not candidate or not Path(candidate).exists():
            continue
        prefix = subprocess.run([candidate, "-c", "import sys; print(sys.prefix == sys.base_prefix)"],
                                capture_output=True, text=True)
        if prefix.stdout.strip() == "True":
            return candidate
    pytest.fail(f"no base Python found among {candidates}")


def _student_env(home: Path, venv: Path) -> dict[str, str]:
    """The environment of a student's shell: only the student venv on PATH, nothing of ours."""
    env = {key: value for key, value in os.environ.items()
           if key not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "JUPYTER_PATH", "MPLBACKEND"}}
    env.update(PATH=os.pathsep.join([str(venv / "bin"), "/usr/bin", "/bin"]), HOME=str(home),
               JUPYTER_DATA_DIR=str(home / "jupyter-data"), JUPYTER_CONFIG_DIR=str(home / "jupyter-config"),
               IPYTHONDIR=str(home / "ipython"), MPLCONFIGDIR=str(home / "matplotlib"))
    return env


INSTRUCTOR_PLUGINS = {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                      "@jupyter/nbgrader:course-list"}
STUDENT_PLUGINS = {"@jupyter/nbgrader:assignment-list", "@jupyter/nbgrader:validate-assignment"}


def _files(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


def readme_lock_command() -> str:
    """The README's (bash) command that disables and locks nbgrader's instructor plugins."""
    readme = (COURSE_ROOT / "README.md").read_text(encoding="utf-8")
    blocks = [block for block in re.findall(r"```bash\n(.*?)```", readme, re.S) if "labextension" in block]
    assert len(blocks) == 1, f"the README should have one bash block about labextension, not {len(blocks)}"
    command = blocks[0].strip()
    assert "disable" in command and "lock" in command, command
    return command


@pytest.fixture(scope="session")
def student_venv(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A virtual environment made by the README's student commands; ``(its python, env)``."""
    root = tmp_path_factory.mktemp("student")
    bundle = root / "bundle"  # what students receive: dlopt/ and pyproject.toml, nothing else
    shutil.copytree(COURSE_ROOT / "dlopt", bundle / "dlopt", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(COURSE_ROOT / "pyproject.toml", bundle / "pyproject.toml")
    before = _files(bundle)
    (root / "home").mkdir()
    env = _student_env(root / "home", root / "venv")
    for command in ([_base_python(), "-m", "venv", str(root / "venv")],
                    [str(root / "venv" / "bin" / "pip"), "install", "--disable-pip-version-check", "./[student]"]):
        result = subprocess.run(command, cwd=bundle, capture_output=True, text=True, env=env, timeout=1200)
        assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    after = _files(bundle)
    assert after == before, f"installing left files in the student's folder: {sorted(set(after) - set(before))}"
    # the README's command, with its .venv/ being this environment
    lock = readme_lock_command().replace(".venv/bin/", f"{root / 'venv' / 'bin'}/")
    result = subprocess.run(["bash", "-c", lock], cwd=bundle, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, f"{lock} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return root / "venv" / "bin" / "python", env


def test_student_environment_has_no_reference_package(student_venv, tmp_path):
    python, env = student_venv
    for package in ("dlopt_reference", "dlopt_course"):  # the reference, the instructor's tool
        result = subprocess.run([str(python), "-c", f"import {package}"], cwd=tmp_path, capture_output=True,
                                text=True, env=env)
        assert result.returncode != 0 and f"No module named '{package}'" in result.stderr, result.stderr
    installed = subprocess.run([str(python), "-m", "pip", "list", "--format=json"], capture_output=True, text=True,
                               env=env, check=True)
    names = {package["name"].lower().replace("_", "-") for package in json.loads(installed.stdout)}
    assert "dlopt-reference" not in names and "dlopt-course" not in names
    assert {"dlopt", "numpy", "matplotlib", "scikit-learn", "jupyterlab", "nbgrader", "ipykernel"} <= names
    dlopt = subprocess.run([str(python), "-c", "import dlopt; print(dlopt.__file__)"], cwd=tmp_path,
                           capture_output=True, text=True, env=env, check=True)
    assert "site-packages" in dlopt.stdout, f"dlopt is not installed non-editable: {dlopt.stdout}"


def test_instructor_plugins_are_disabled_and_locked(student_venv):
    """JupyterLab's settings of the environment (``sys_prefix`` level) after the README's command."""
    python, _ = student_venv
    page_config = python.parent.parent / "etc" / "jupyter" / "labconfig" / "page_config.json"
    settings = json.loads(page_config.read_text(encoding="utf-8"))
    disabled = {name for name, on in settings.get("disabledExtensions", {}).items() if on}
    locked = {name for name, on in settings.get("lockedExtensions", {}).items() if on}
    assert INSTRUCTOR_PLUGINS <= disabled and INSTRUCTOR_PLUGINS <= locked, settings
    assert not STUDENT_PLUGINS & (disabled | locked), settings


@pytest.fixture(scope="session")
def executed(student_venv, tmp_path_factory) -> dict[tuple[str, str], nbformat.NotebookNode]:
    """``{(kind, assignment): notebook}`` executed by student kernels; kind is "release" or "model"."""
    python, env = student_venv
    work = tmp_path_factory.mktemp("notebooks")
    jobs: dict[str, list[tuple[str, str]]] = {"release": [], "model": []}
    for assignment in ASSIGNMENTS:
        source = nbformat.read(COURSE_ROOT / "exercises" / assignment / f"{assignment}.ipynb", as_version=4)
        release = student_version(source)
        for kind, notebook in (("release", release), ("model", model_answer(source, release))):
            folder = work / kind / assignment
            # the release holds the assignment folder's other files too (none today)
            shutil.copytree(COURSE_ROOT / "exercises" / assignment, folder,
                            ignore=shutil.ignore_patterns("*.ipynb", ".*", "__pycache__"))
            nbformat.write(notebook, folder / f"{assignment}.ipynb")
            jobs[kind].append((str(folder / f"{assignment}.ipynb"), str(folder / f"{assignment}.executed.ipynb")))
    driver = work / "driver.py"
    driver.write_text(DRIVER)
    # the two kinds in parallel, each in its own process with the student's Python
    processes = {kind: subprocess.Popen([str(python), str(driver), json.dumps(pairs), PROBE], cwd=work, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for kind, pairs in jobs.items()}
    for kind, process in processes.items():
        out, err = process.communicate(timeout=1800)
        assert process.returncode == 0, f"executing the {kind} notebooks failed:\n{out[-3000:]}\n{err[-6000:]}"
    return {(kind, Path(source).parent.name): nbformat.read(target, as_version=4)
            for kind, pairs in jobs.items() for source, target in pairs}


def _grade_id(cell) -> str:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")


def _code_cells(notebook, python: Path) -> list:
    """The notebook's code cells, after checking that the probe cell ran in the student environment."""
    probe = notebook.cells[-1]
    assert PROBE in probe.metadata.get("tags", [])
    facts = json.loads("".join(output.get("text", "") for output in probe.outputs if output.output_type == "stream"))
    assert Path(facts["prefix"]).resolve() == python.parent.parent.resolve(), facts
    assert "site-packages" in facts["dlopt"] and not facts["dlopt_reference"], facts
    return [cell for cell in notebook.cells[:-1] if cell.cell_type == "code"]


def _describe(index: int, cell) -> str:
    label = _grade_id(cell) or (cell.source.strip().splitlines() or [""])[0][:70]
    return f"code cell {index} ({label})"


def _errors(cell) -> list[str]:
    return [f"{output.ename}: {output.evalue}" for output in cell.outputs if output.output_type == "error"]


def _stream(cell, name: str) -> str:
    return "".join(output.text for output in cell.outputs if output.output_type == "stream" and output.name == name)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_student_release_runs_with_stubs(executed, student_venv, assignment):
    """Only the visible checks fail, each saying "not implemented yet"; experiments say so in a line."""
    cells = _code_cells(executed["release", assignment], student_venv[0])
    problems = []
    for index, cell in enumerate(cells):
        errors, visible = _errors(cell), _grade_id(cell).endswith("_visible")
        if visible and not errors:
            problems.append(f"{_describe(index, cell)}: the visible check of a stub did not fail")
        for error in errors:
            if not visible:
                problems.append(f"{_describe(index, cell)}: an error outside the visible checks: {error[:300]}")
            elif "not implemented yet" not in error:
                problems.append(f"{_describe(index, cell)}: does not say 'not implemented yet': {error[:300]}")
        if visible and _stream(cell, "stderr"):
            problems.append(f"{_describe(index, cell)}: writes to stderr: {_stream(cell, 'stderr')[:300]}")
    assert not problems, f"{assignment} (student release, stubs only):\n" + "\n".join(problems)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_model_answer_runs_and_passes_visible_checks(executed, student_venv, assignment):
    cells = _code_cells(executed["model", assignment], student_venv[0])
    problems = []
    for index, cell in enumerate(cells):
        grade_id = _grade_id(cell)
        for error in _errors(cell):
            problems.append(f"{_describe(index, cell)}: {error[:300]}")
        if grade_id.endswith("_visible"):
            name = grade_id.removesuffix("_visible")
            if f"✓ {name}" not in _stream(cell, "stdout"):
                problems.append(f"{_describe(index, cell)}: no '✓ {name}' line; printed {_stream(cell, 'stdout')[:200]!r}")
            if _stream(cell, "stderr"):
                problems.append(f"{_describe(index, cell)}: writes to stderr: {_stream(cell, 'stderr')[:300]}")
    assert not problems, f"{assignment} (model answer):\n" + "\n".join(problems)


#: two chapters run in the student environment on a student's own functions (the model answers)
CHAPTERS = ("02_momentum", "03_nesterov")


@pytest.fixture(scope="session")
def chapters_run(student_venv, tmp_path_factory) -> dict[str, nbformat.NotebookNode]:
    """``{name: executed notebook}``: the downloadable notebooks of :data:`CHAPTERS`, next to a student's folders
    ``01_sgd/``, ``02_momentum/``, ``03_nesterov/`` holding model answers; and ``03_nesterov (stub)``, the same
    chapter with ``03_nesterov`` left as released."""
    python, env = student_venv
    homes = function_homes(COURSE_ROOT)
    jobs = []
    for kind in ("model", "stub"):
        folder = tmp_path_factory.mktemp(f"chapters-{kind}")
        for assignment in ("01_sgd", "02_momentum", "03_nesterov"):
            source = nbformat.read(COURSE_ROOT / "exercises" / assignment / f"{assignment}.ipynb", as_version=4)
            release = student_version(source)
            mine = release if (kind == "stub" and assignment == "03_nesterov") else model_answer(source, release)
            (folder / assignment).mkdir()
            nbformat.write(mine, folder / assignment / f"{assignment}.ipynb")
        for chapter in (CHAPTERS if kind == "model" else ("03_nesterov",)):
            name = chapter_file_name(chapter)
            nbformat.write(chapter_notebook(COURSE_ROOT / "book" / f"{chapter}.md", homes), folder / name)
            jobs.append((str(folder / name), str(folder / f"{chapter}.executed.ipynb")))
    driver = tmp_path_factory.mktemp("chapters-driver") / "driver.py"
    driver.write_text(DRIVER)
    result = subprocess.run([str(python), str(driver), json.dumps(jobs), PROBE], env=env, capture_output=True,
                            text=True, timeout=1800)
    assert result.returncode == 0, f"running the chapters failed:\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
    names = [*(f"{chapter}" for chapter in CHAPTERS), "03_nesterov (stub)"]
    return {name: nbformat.read(target, as_version=4) for name, (_, target) in zip(names, jobs)}


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_a_chapter_runs_on_the_students_own_functions(chapters_run, student_venv, chapter):
    cells = _code_cells(chapters_run[chapter], student_venv[0])
    errors = [f"{_describe(index, cell)}: {error[:300]}" for index, cell in enumerate(cells) for error in _errors(cell)]
    assert not errors, f"{chapter} on the model answers:\n" + "\n".join(errors)
    assert any("functions_from(" in cell.source for cell in cells)
    assert sum(1 for cell in cells if cell.outputs) > 5  # it ran: printed lines and figures


def test_a_chapter_names_the_function_not_written_yet(chapters_run, student_venv):
    cells = _code_cells(chapters_run["03_nesterov (stub)"], student_venv[0])
    errors = [error for cell in cells for error in _errors(cell)]
    assert errors, "a chapter on an unwritten function ran without an error"
    assert errors[0].startswith("NotWrittenYet: nesterov_")
    assert "is not written yet: it still raises NotImplementedError in" in errors[0]
    assert "03_nesterov/03_nesterov.ipynb" in errors[0]
