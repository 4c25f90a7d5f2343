"""Run the instructor's commands as an ordinary user, even when the tests run as root.

File modes do not bind root: a grader that only works as root (it rewrites a read-only file, it needs
a folder only root may enter) passes every test run as root and fails for every instructor. So the
grading tests run ``grade`` as a throw-away unprivileged account (``dlopt-grader``, created here when the
tests run as root; without root they run as the current user, who is unprivileged already).

The course copies such a test grades live in a world-traversable temporary folder owned by that account
(pytest's own temporary folders are private to root). The interpreter and this checkout must be
reachable by the account: ``.ci/run`` grants traversal (``o+x``) on their parent folders.
"""

from __future__ import annotations

import atexit
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GRADER_USER = "dlopt-grader"
REPOSITORY = Path(__file__).resolve().parents[1]


def is_root() -> bool:
    return os.geteuid() == 0


def grader_account() -> pwd.struct_passwd | None:
    """The unprivileged account the grading tests use (``None``: not root, the current user is it)."""
    if not is_root():
        return None
    try:
        return pwd.getpwnam(GRADER_USER)
    except KeyError:
        pass
    # another test process may be creating it, or hold the lock of /etc/passwd for an account of its own
    for _ in range(50):
        done = subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                               GRADER_USER], capture_output=True, text=True)
        try:
            return pwd.getpwnam(GRADER_USER)
        except KeyError:
            time.sleep(0.2)
    raise RuntimeError(f"could not create the account {GRADER_USER}: {done.stderr}")


def _unreachable(path: Path) -> list[str]:
    """Parent folders of ``path`` that others cannot traverse."""
    blocked = []
    for parent in Path(path).resolve().parents:
        if not os.stat(parent).st_mode & stat.S_IXOTH:
            blocked.append(str(parent))
    return blocked


def check_reachable() -> None:
    """Fail with the reason if the unprivileged account cannot run this Python or read this checkout."""
    blocked = sorted(set(_unreachable(Path(os.path.realpath(sys.executable))) + _unreachable(REPOSITORY / "dlopt")
                         + _unreachable(Path(sys.prefix) / "bin")))
    if blocked and is_root():
        raise AssertionError(f"the unprivileged grading account cannot traverse {blocked}: run the tests with "
                             "`bash .ci/run` (it grants o+x on the parents of the interpreter and the checkout)")


def world_folder(prefix: str) -> Path:
    """A new folder under the system's temporary folder that the grading account can enter (give it the
    contents with :func:`hand_over`); removed when the test process exits."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=tempfile.gettempdir()))
    os.chmod(folder, 0o755)
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def hand_over(path: Path) -> None:
    """Give ``path`` (recursively) to the grading account."""
    account = grader_account()
    if account is None:
        return
    for folder, folders, files in os.walk(path):
        os.chown(folder, account.pw_uid, account.pw_gid)
        for name in files + [f for f in folders if os.path.islink(os.path.join(folder, f))]:
            os.chown(os.path.join(folder, name), account.pw_uid, account.pw_gid, follow_symlinks=False)


def run_as_grader(command: list[str], *, cwd: Path | None = None, env: dict | None = None,
                  timeout: float = 3600) -> subprocess.CompletedProcess:
    """Run ``command`` as the grading account (as the current user when not root)."""
    environment = dict(os.environ if env is None else env)
    bin_dir = str(Path(sys.executable).parent)
    environment["PATH"] = os.pathsep.join([bin_dir, environment.get("PATH", "")])
    account = grader_account()
    if account is None:
        return subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout)
    check_reachable()
    home = Path(tempfile.mkdtemp(prefix="dlopt-grader-home-"))
    os.chown(home, account.pw_uid, account.pw_gid)
    environment.update(HOME=str(home), USER=GRADER_USER, LOGNAME=GRADER_USER)
    for name in ("XDG_RUNTIME_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTER_DATA_DIR", "JUPYTER_CONFIG_DIR", "TMPDIR"):
        environment.pop(name, None)
    try:
        return subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout,
                              user=account.pw_uid, group=account.pw_gid, extra_groups=[])
    finally:
        shutil.rmtree(home, ignore_errors=True)
