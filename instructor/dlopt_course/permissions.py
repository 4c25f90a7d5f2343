"""Who else on this machine can reach the course's files: the checks behind ``hub-setup`` and ``grade``.

On a machine shared with students (a JupyterHub on one server), the file modes are the boundary: the
course folder holds the model answers (``exercises/``), the reference package and its venv, the gradebook
(which stores the hidden tests) and the collected submissions. A student's account must reach none of
them. The kernel enforces file modes; this module only reads them, to say what is open before anything
is graded.

"Another account" is any account but the file's owner (and root, whom modes do not bind). Access through
the file's group counts as open when that group has any member but the owner.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
from pathlib import Path

#: nbgrader's exchange when its configuration names none.
DEFAULT_EXCHANGE = Path("/srv/nbgrader/exchange")


def _group_has_others(gid: int, owner_uid: int) -> bool:
    """Whether any account but ``owner_uid`` belongs to group ``gid`` (as a member or as its primary group)."""
    owner = pwd.getpwuid(owner_uid).pw_name if _known_uid(owner_uid) else None
    try:
        members = set(grp.getgrgid(gid).gr_mem)
    except KeyError:
        members = set()
    members |= {entry.pw_name for entry in pwd.getpwall() if entry.pw_gid == gid}
    return bool(members - {owner})


def _known_uid(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
        return True
    except KeyError:
        return False


def _others_may(info: os.stat_result, bit_other: int, bit_group: int) -> bool:
    """Whether accounts other than the owner hold the permission (other bit, or group bit of a shared group)."""
    if info.st_mode & bit_other:
        return True
    return bool(info.st_mode & bit_group) and _group_has_others(info.st_gid, info.st_uid)


def closed_ancestor(path: Path) -> Path | None:
    """The first folder on the way to ``path`` (``path`` itself included if a folder) that other accounts
    cannot enter, or ``None`` when they can reach all the way into it."""
    path = Path(os.path.abspath(path))
    chain = [*reversed(path.parents), path] if path.is_dir() else list(reversed(path.parents))
    for folder in chain:
        if not _others_may(os.stat(folder), stat.S_IXOTH, stat.S_IXGRP):
            return folder
    return None


def exposure(path: Path) -> str | None:
    """Why other accounts can read ``path`` (a file: its content; a folder: what is inside), or ``None``.

    A file is exposed when every folder above it can be entered by others and the file itself read by
    them; a folder, when others can enter it and all folders above it.
    """
    path = Path(os.path.abspath(path))
    if not path.exists():
        return None
    if closed_ancestor(path) is not None:
        return None
    info = os.stat(path)
    if path.is_dir():
        return f"{path} (mode {stat.filemode(info.st_mode)}) can be entered by other accounts"
    if _others_may(info, stat.S_IROTH, stat.S_IRGRP):
        return f"{path} (mode {stat.filemode(info.st_mode)}) can be read by other accounts"
    return None


def listable_by_others(folder: Path) -> str | None:
    """Why other accounts can list ``folder`` (read its names), or ``None``."""
    folder = Path(os.path.abspath(folder))
    if not folder.is_dir() or closed_ancestor(folder.parent) is not None:
        return None
    info = os.stat(folder)
    if _others_may(info, stat.S_IROTH, stat.S_IRGRP):
        return f"{folder} (mode {stat.filemode(info.st_mode)}) can be listed by other accounts"
    return None


def course_exposures(root: Path, gradebook: Path | None, reference: Path, inbound: Path | None) -> list[str]:
    """What of an instructor's course other accounts of this machine can reach (empty: nothing).

    - ``root``: the course folder (model answers, submissions, feedback, usually the gradebook and venv);
    - ``gradebook``: the SQLite gradebook, wherever it is (it stores the hidden tests);
    - ``reference``: the folder of the reference package this grader imports;
    - ``inbound``: the exchange's inbound folder: students may drop submissions in it, never list it
      (each submission's folder is named with a random suffix, so one student cannot find another's).
    """
    found = [exposure(root)]
    if gradebook is not None:
        found.append(exposure(gradebook))
    found.append(exposure(reference))
    if inbound is not None:
        found.append(listable_by_others(inbound))
    return [problem for problem in found if problem]
