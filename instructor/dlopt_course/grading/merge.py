"""Step 4 of grading a submission, in the grader's process: the run's outputs into the notebook, nbgrader's
scoring into the gradebook, the notebook into ``autograded/``; and what the run reports as incidents."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from pathlib import Path

from ..integrity import Incident
from ..intake import SECRET_NAME

def _remove_tree(path: Path) -> None:
    """``rmtree`` that also removes read-only files and folders (nbgrader writes autograded files 444)."""
    def retry(function, name, _):
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(name), stat.S_IRWXU)
            os.chmod(name, stat.S_IRWXU)
        function(name)

    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path, onerror=retry)


def _fill_outputs(notebook, run: dict) -> None:
    """Give each code cell the outputs of the one run (the cells are those the run was given)."""
    import nbformat

    outputs = run.get("outputs", {})
    for index, cell in enumerate(notebook.cells):
        if cell.get("cell_type") == "code":
            cell["outputs"] = [nbformat.from_dict(_writable(output)) for output in outputs.get(str(index), [])]
            cell["execution_count"] = None


def _writable(value):
    """``value`` with every string encodable (a lone surrogate of the student's becomes a backslash escape)."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, list):
        return [_writable(item) for item in value]
    if isinstance(value, dict):
        return {_writable(key): _writable(item) for key, item in value.items()}
    return value


def merge(config, coursedir, student: str, assignment: str, prepared: dict, result: dict) -> None:
    """Write one graded submission into the gradebook and ``autograded/`` (see the module docstring)."""
    import datetime

    import nbformat
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.preprocessors import AssignLatePenalties, SaveAutoGrades

    root = Path(coursedir.root)
    destination = root / coursedir.autograded_directory / student / assignment
    # 1. the old autograded folder goes first: from here until step 3, the submission counts as ungraded
    _remove_tree(destination)

    # 2. the gradebook, as stock autograde writes it (Autograde.init_assignment, then its preprocessors)
    db_url = coursedir.db_url
    timestamp = datetime.datetime.fromisoformat(prepared["timestamp"]) if prepared["timestamp"] else None
    with Gradebook(db_url, coursedir.course_id) as gradebook:
        gradebook.update_or_create_student(student)
        if timestamp:
            gradebook.update_or_create_submission(assignment, student, timestamp=timestamp)
        else:
            gradebook.update_or_create_submission(assignment, student)
        known = {notebook.name for notebook in gradebook.find_assignment(assignment).notebooks}
        for name in sorted(known - set(prepared["notebooks"])):  # a notebook not handed in scores zero
            submission = gradebook.find_submission_notebook(name, assignment, student)
            for grade in submission.grades:
                grade.auto_score = 0
                grade.needs_manual_grade = False
            gradebook.db.commit()
    scored = {}
    for name, text in prepared["notebooks"].items():
        if name not in known:
            continue
        notebook = nbformat.reads(text, as_version=4)
        _fill_outputs(notebook, result["notebooks"][name])
        resources = {"nbgrader": {"notebook": name, "assignment": assignment, "student": student, "db_url": db_url}}
        for preprocessor in (SaveAutoGrades(config=config), AssignLatePenalties(config=config)):
            notebook, resources = preprocessor.preprocess(notebook, resources)
        scored[name] = notebook
    try:
        with Gradebook(db_url, coursedir.course_id) as gradebook:
            gradebook.find_submission(assignment, student)
    except MissingEntry as error:  # pragma: no cover (update_or_create_submission made it)
        raise RuntimeError(f"merge of {student}/{assignment} left no submission") from error

    # 3. the autograded folder, placed atomically (written beside it, then renamed)
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.parent / f".{assignment}.partial"
    _remove_tree(partial)
    partial.mkdir()
    for name, notebook in scored.items():
        nbformat.write(notebook, partial / f"{name}.ipynb")
    if prepared["timestamp"]:
        (partial / "timestamp.txt").write_text(timestamp.strftime("%Y-%m-%d %H:%M:%S.%f %Z").strip())
    if prepared.get("secret"):  # generate_feedback copies it on; release_feedback names the page with it
        (partial / SECRET_NAME).write_text(prepared["secret"])
    os.replace(partial, destination)


def _incident_kind(event: str) -> str:
    from ..isolation import LIMIT_EVENTS

    if event == "tampered":
        return "tampered in the sandbox"
    return "stopped at a limit" if event in LIMIT_EVENTS else "refused in the sandbox"


def incidents(result: dict, notes: list[str], student: str, assignment: str) -> list[Incident]:
    """What the sandbox refused or the kernel stopped, what the student's code replaced in its own process
    (``tampered``: numpy's functions, builtins, import hooks, ...), the limits (time, output, file size) that
    stopped it, and the files of the folder that were refused."""
    found = [Incident(student, assignment, _incident_kind(event), detail if event == "tampered" else f"{event}: {detail}")
             for run in (result or {}).get("notebooks", {}).values() for event, detail in run.get("refused", [])]
    found += [Incident(student, assignment, "submission folder", note) for note in notes]
    return found
