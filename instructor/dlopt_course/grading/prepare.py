"""Steps 1 and 2 of grading a submission, in the grader's process: read it as hostile input, then sanitize
each notebook with nbgrader's own steps, so that only the student's answers are the student's."""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

from ..intake import read_submission

def fingerprint(folder: Path) -> str:
    """A digest of a submission folder's regular files (links and others by name only, never followed)."""
    digest = hashlib.sha256()
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError:
        return ""
    for entry in entries:
        digest.update(entry.name.encode(errors="replace") + b"\0")
        with contextlib.suppress(OSError):
            info = entry.stat(follow_symlinks=False)
            digest.update(f"{info.st_mode}:{info.st_size}:{info.st_mtime_ns}".encode())
    return digest.hexdigest()


#: The most cells a submitted notebook may have (the assignments have about 30).
MAX_CELLS = 2000


def prepare(config, coursedir, student: str, assignment: str, notebooks: list[str],
             grade_ids: list[str], expected: dict) -> tuple[dict | None, str | None, list[str]]:
    """``(task data, None, notes)`` for a gradable submission, or ``(None, reason, notes)``.

    The task data holds each sanitized notebook as JSON text, the submission's timestamp and the files
    that were refused or ignored (``notes``).
    """
    import nbformat
    from nbgrader.preprocessors import CheckCellMetadata, ClearOutput, DeduplicateIds, OverwriteCells, \
        OverwriteKernelspec

    root = Path(coursedir.root)
    found = read_submission(root / coursedir.submitted_directory, student, assignment, notebooks)
    notes = [f"refused: {text}" for text in found.refused]
    notes += [f"ignored, never run: {name}" for name in found.code_beside]
    if not found.notebooks:
        refused = [text for text in found.refused if ".ipynb" in text]
        if refused:
            return None, refused[0], notes
        present = sorted(text.rsplit(" (", 1)[0] for text in found.ignored if ".ipynb" in text)
        expected = " or ".join(f"{name}.ipynb" for name in notebooks)
        return None, f"no {expected} in the submission (found: {', '.join(present) or 'no notebook'})", notes
    sanitized = {}
    for name, data in found.notebooks.items():
        try:
            notebook = nbformat.reads(data.decode("utf-8"), as_version=4)
        except Exception as error:  # noqa: BLE001 (any unreadable notebook is a broken submission)
            first = str(error).strip().splitlines()[0] if str(error).strip() else ""
            return None, f"{name}.ipynb is not a valid notebook ({type(error).__name__}: {first[:200]})", notes
        if len(notebook.cells) > MAX_CELLS:
            return None, f"{name}.ipynb has {len(notebook.cells)} cells (the limit is {MAX_CELLS})", notes
        ids = {cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") for cell in notebook.cells
               if isinstance(cell.get("metadata"), dict) and isinstance(cell["metadata"].get("nbgrader"), dict)}
        if grade_ids and not ids & set(grade_ids):
            return None, f"not a notebook of {assignment}: none of its graded cells is in the submission", notes
        _reset_metadata(notebook, expected.get(name, {}))
        resources = {"nbgrader": {"notebook": name, "assignment": assignment, "student": student,
                                  "db_url": coursedir.db_url}}
        try:
            for step in (ClearOutput(config=config), DeduplicateIds(config=config),
                         OverwriteKernelspec(config=config), OverwriteCells(config=config)):
                notebook, resources = step.preprocess(notebook, resources)
            # cells the gradebook does not know lose their grade_id above: they are plain cells, and the
            # test cells a student deleted are put back (run and scored as if never deleted)
            for cell in notebook.cells:
                if "grade_id" not in cell.get("metadata", {}).get("nbgrader", {"grade_id": None}):
                    del cell["metadata"]["nbgrader"]
            for step in (OverwriteCells(config=config, add_missing_cells=True), CheckCellMetadata(config=config)):
                notebook, resources = step.preprocess(notebook, resources)
        except Exception as error:  # noqa: BLE001 (nbgrader refuses the notebook: its reason is the report)
            return None, f"{name}.ipynb: nbgrader cannot grade it ({type(error).__name__}: {str(error)[:200]})", notes
        sanitized[name] = nbformat.writes(notebook)
    timestamp = found.timestamp.isoformat() if found.timestamp else None
    return {"notebooks": sanitized, "timestamp": timestamp, "secret": found.secret}, None, notes


def _reset_metadata(notebook, expected: dict) -> None:
    """Each cell's nbgrader metadata as the gradebook records it: a student cannot turn a test cell into a
    solution, change its points or unlock it. Cells the gradebook does not know are plain cells."""
    for cell in notebook.cells:
        metadata = cell.get("metadata")
        if not isinstance(metadata, dict) or "nbgrader" not in metadata:
            continue
        meta = metadata["nbgrader"]
        grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
        if not isinstance(grade_id, str) or grade_id not in expected:
            del metadata["nbgrader"]
            continue
        meta.pop("points", None)
        meta.update(expected[grade_id], schema_version=3)
