"""A course folder driven through the real nbgrader command line (generate, autograde, feedback).

Used by the tests and by the instructors' tooling; every step runs the ``nbgrader`` executable of
this Python environment in its own process, exactly as an instructor would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat


class NbgraderError(RuntimeError):
    """An nbgrader command failed; the message holds its output."""


class NbgraderCourse:
    """A course folder with ``nbgrader_config.py``, ``exercises/``, ``release/``, ``submitted/``, ...

    Args:
        root: the course folder.
    """

    def __init__(self, root: Path):
        self.root = Path(root)

    @classmethod
    def copy_of(cls, course_root: Path, target: Path, assignments: list[str]) -> "NbgraderCourse":
        """A fresh course in ``target`` holding the given source assignments of ``course_root``."""
        course_root, target = Path(course_root), Path(target)
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(course_root / "nbgrader_config.py", target / "nbgrader_config.py")
        for name in assignments:
            shutil.copytree(course_root / "exercises" / name, target / "exercises" / name,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        return cls(target)

    def run(self, *args: str, timeout: float = 900) -> str:
        """Run ``nbgrader ARGS`` in the course folder; return its output or raise :class:`NbgraderError`."""
        executable = Path(sys.executable).with_name("nbgrader")
        command = [str(executable) if executable.exists() else "nbgrader", *args]
        # nbgrader runs helper executables (alembic) by name: this environment's bin/ comes first on PATH.
        env = dict(os.environ, PATH=os.pathsep.join([str(executable.parent), os.environ.get("PATH", "")]))
        result = subprocess.run(command, cwd=self.root, capture_output=True, text=True, timeout=timeout, env=env)
        output = result.stdout + result.stderr
        if result.returncode != 0:
            raise NbgraderError(f"{' '.join(command)} failed ({result.returncode}):\n{output}")
        return output

    def source(self, assignment: str) -> nbformat.NotebookNode:
        return nbformat.read(self.root / "exercises" / assignment / f"{assignment}.ipynb", as_version=4)

    def release(self, assignment: str) -> nbformat.NotebookNode:
        return nbformat.read(self.root / "release" / assignment / f"{assignment}.ipynb", as_version=4)

    def generate(self, assignment: str) -> None:
        self.run("generate_assignment", assignment, "--force")

    def submit(self, student: str, assignment: str, notebook: nbformat.NotebookNode) -> Path:
        """Place a student's notebook where ``nbgrader autograde`` looks for it."""
        folder = self.root / "submitted" / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{assignment}.ipynb"
        nbformat.write(notebook, path)
        return path

    def autograde(self, assignment: str, *extra: str) -> str:
        return self.run("autograde", assignment, "--force", *extra)

    def generate_feedback(self, assignment: str) -> str:
        return self.run("generate_feedback", assignment, "--force")

    def feedback_html(self, student: str, assignment: str) -> str:
        return (self.root / "feedback" / student / assignment / f"{assignment}.html").read_text()

    def scores(self, assignment: str) -> dict[str, tuple[float, float]]:
        """``{student: (score, max_score)}`` for an assignment, read from the gradebook."""
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{self.root / 'gradebook.db'}") as gradebook:
            return {
                submission.student_id: (submission.score, submission.max_score)
                for submission in gradebook.assignment_submissions(assignment)
            }

    def cell_scores(self, student: str, assignment: str) -> dict[str, float]:
        """``{grade_id: score}`` of one submission's graded cells."""
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{self.root / 'gradebook.db'}") as gradebook:
            submission = gradebook.find_submission_notebook(assignment, assignment, student)
            return {grade.name: grade.score for grade in submission.grades}
