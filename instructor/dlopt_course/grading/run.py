"""Step 3 of grading a submission, in a worker process: run each sanitized notebook once, the student's cells
in the sandbox the kernel confines, the test cells here (:func:`dlopt_course.isolation.regrade_notebook`).
Only plain data goes back to the grader's process."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

def worker_init(workdir: str) -> None:
    """A worker's stderr goes to a file (the terminal keeps the progress line); it dies with the grader."""
    import threading
    import warnings

    warnings.filterwarnings("ignore")
    handle = os.open(os.path.join(workdir, f"worker-{os.getpid()}.stderr"), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(handle, 2)
    os.close(handle)
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def grade_one(task: dict) -> dict:
    """Run the sanitized notebooks of one submission (in a worker process); plain data back."""
    import nbformat

    from ..isolation import regrade_notebook

    start = time.monotonic()
    root, workdir = Path(task["root"]), Path(task["workdir"])
    result = {"student": task["student"], "assignment": task["assignment"], "ok": False, "reason": None,
              "notebooks": {}}
    try:
        for name, text in task["notebooks"].items():
            source = nbformat.read(root / task["source_dir"] / task["assignment"] / f"{name}.ipynb", as_version=4)
            notebook = nbformat.reads(text, as_version=4)
            scratch = Path(tempfile.mkdtemp(prefix=f"{task['assignment']}-{name}-", dir=workdir / "scratch"))
            try:
                run = regrade_notebook(source, notebook, root, scratch, timeout=task["timeout"],
                                       budget=task["budget"], extra_deny=[task["workdir"]],
                                       zygote_dir=workdir / f"zygotes-{os.getpid()}", confine=task["confine"])
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
            result["notebooks"][name] = {
                "cells": {grade_id: [v.points, v.max_points, v.message] for grade_id, v in run.cells.items()},
                "outputs": {str(index): outputs for index, outputs in run.outputs.items()},
                "refused": [list(item) for item in run.refused], "timed_out": run.timed_out,
                "seconds": run.seconds}
        result["ok"] = True
    except Exception as error:  # noqa: BLE001 (a worker never raises: every problem is a failure report)
        result["reason"] = f"{type(error).__name__}: {error}"
    finally:
        result["seconds"] = time.monotonic() - start
    return result
