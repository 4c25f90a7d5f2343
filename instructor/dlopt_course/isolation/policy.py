"""What the student's process may read, list and write: the policy :mod:`.confine` has the kernel enforce.

Readable: this interpreter's standard library and site-packages, a private copy of the helper package
``dlopt`` and the system files the runtime needs -- minus the course folder, the reference package, this
tool and the grading's temporary folders. Writable: only the process's own scratch folder (set per process).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np


def _helper_copy(helper: Path) -> Path:
    """A private copy of the helper package ``dlopt`` (a folder holding only ``dlopt/``), made once per content.

    The student's process may read it; it must not read the folder the package lives in (the course).
    """
    digest = hashlib.sha256()
    files = sorted(path for path in helper.rglob("*.py") if "__pycache__" not in path.parts)
    for path in files:
        digest.update(str(path.relative_to(helper)).encode() + b"\0" + path.read_bytes() + b"\0")
    shelf = Path(tempfile.gettempdir()) / f"dlopt-helper-{os.getuid()}" / digest.hexdigest()[:16]
    if not (shelf / "dlopt").is_dir():
        shelf.parent.mkdir(mode=0o755, exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix=".partial-", dir=shelf.parent))
        for path in files:
            target = partial / "dlopt" / path.relative_to(helper)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        os.chmod(partial, 0o755)
        try:
            os.rename(partial, shelf)
        except OSError:  # another worker made it first
            shutil.rmtree(partial, ignore_errors=True)
    return shelf


#: Files and folders of the system that the Python runtime, numpy and matplotlib read (never written).
SYSTEM_READ = ["/usr", "/lib", "/lib64", "/etc/ld.so.cache", "/etc/localtime", "/etc/fonts", "/dev/null",
               "/dev/zero", "/dev/urandom", "/dev/random", "/proc/cpuinfo", "/sys/devices/system/cpu"]


def sandbox_paths(course_root: Path, extra_deny: list[str] = ()) -> tuple[list[str], dict]:
    """``(sys_path, policy)`` for a student's process of the course in ``course_root``.

    ``sys_path``: the folders of numpy, matplotlib & co. (this interpreter's site-packages) and a
    folder with only a copy of the ``dlopt`` helper package. ``policy["read"]``: what the process may
    read: this interpreter's standard library and site-packages, the helper copy and the system files
    of :data:`SYSTEM_READ` -- minus the course folder, the reference package and this tool (and their
    install records) and ``extra_deny`` (the grading's temporary folders), cut out by :func:`confine.cover`. A folder
    asked for explicitly (a virtual environment inside the course folder) stays readable.
    ``policy["listable"]``: the folders that were split (their entries can be listed, as Python's import
    system does, but only the files of ``read`` can be opened). ``policy["write"]`` is set per process
    to its scratch folder.
    """
    import sysconfig

    import dlopt.problems
    import dlopt_reference.optim

    from . import confine

    course_root = Path(course_root).resolve()
    site = sorted({str(Path(np.__file__).resolve().parent.parent)})
    helper = Path(dlopt.problems.__file__).resolve().parent
    reference = Path(dlopt_reference.optim.__file__).resolve().parent
    tool = Path(__file__).resolve().parents[1]  # dlopt_course, this package
    shelf = _helper_copy(helper)
    runtime = {str(Path(sysconfig.get_paths()[key]).resolve()) for key in ("stdlib", "platstdlib")}
    runtime.add(str(Path(sys.base_prefix, "lib").resolve()))  # libpython, when it is a shared library
    excluded = [str(course_root), str(reference), str(reference.parent), str(tool), str(tool.parent),
                *map(str, extra_deny)]
    for folder in site:
        for pattern in ("*dlopt_reference*", "*dlopt_course*", "dlopt-course*", "__editable__*"):
            excluded += [str(path) for path in Path(folder).glob(pattern)]
    roots = sorted({os.path.realpath(root) for root in {*runtime, *site, str(shelf), *SYSTEM_READ}
                    if os.path.lexists(root)})
    excluded = [os.path.realpath(path) for path in excluded]
    readable = confine.cover(roots, excluded)
    # a root split around what it must not show stays listable (imports list site-packages), unread
    listable = sorted({str(folder) for path in excluded for folder in Path(path).parents
                       for root in roots if folder == Path(root) or Path(root) in folder.parents}
                      - set(readable))
    return [*site, str(shelf)], {"read": readable, "write": [], "listable": listable}
