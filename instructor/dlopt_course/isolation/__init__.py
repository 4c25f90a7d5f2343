"""Grading that does not trust the student's process (see ``book/integrity.md`` for the threat model).

- :mod:`.child`: the locked-down process that runs a student's code (audit hook, resource limits);
- :mod:`.wire`: the strict decoder of the plain values it sends back;
- :mod:`.sandbox`: :class:`Sandbox` and :class:`RemoteFunction`, a student's function called from here;
- :mod:`.policy`: what that process may read and write (:func:`~.policy.sandbox_paths`);
- :mod:`.confine`: the kernel's rules that hold it there (Landlock, seccomp);
- :mod:`.regrade`: :func:`regrade_notebook`, the verdict computed in the grader's process.
"""

from .regrade import CellVerdict, RegradeResult, regrade_file, regrade_notebook
from .sandbox import LIMIT_EVENTS, RemoteFunction, Sandbox, SandboxError, StudentError

__all__ = ["CellVerdict", "LIMIT_EVENTS", "RegradeResult", "regrade_file", "regrade_notebook", "RemoteFunction",
           "Sandbox", "SandboxError", "StudentError"]
