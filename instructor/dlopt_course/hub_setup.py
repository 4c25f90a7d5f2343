"""``hub-setup``: lay out a JupyterHub course on one machine, so that students reach only their own work.

Run once as root, with the grader's environment, after cloning the course into the grader's home
(the README's *Many students: JupyterHub* section gives the whole sequence)::

    sudo /home/grader-dlopt/dlopt/.venv/bin/dlopt-course \\
        --root /home/grader-dlopt/dlopt hub-setup --grader grader-dlopt --student-env /opt/dlopt-student

What it does, each step checked afterwards:

1. **the course folder** belongs to the grader's account, mode 700 (and the grader's home, if the course
   is in it): model answers, reference, gradebook, collected submissions are the grader's alone;
2. **the exchange** (``/srv/nbgrader/exchange``) exists, owned by root, mode 1777: every account may
   create in it (nbgrader asks for 777), and the sticky bit keeps anyone from removing or renaming what
   another account created there (the course's ``dlopt/`` folder, a classmate's submission);
3. **the grader's nbgrader configuration**, ``~grader/.jupyter/nbgrader_config.py``: the shipped
   ``instructor/nbgrader_config.py`` with this machine's course folder, exchange and gradebook (mode 600:
   a PostgreSQL URL may hold a password); and, in ``~grader/.jupyter/jupyter_server_config.json``, the
   course's server extension that makes the formgrader's links work under the hub (``formgrader_links.py``);
4. **the student environment**: it must not be able to import ``dlopt_reference`` or ``dlopt_course``; its
   ``etc/jupyter/nbgrader_config.py`` becomes the shipped ``student/nbgrader_config.py`` with this
   machine's exchange; nbgrader's instructor extensions (and JupyterLab's news prompt) are disabled and
   locked there.

Then it runs the checks ``grade`` runs at its start (:func:`dlopt_course.permissions.course_exposures`)
and prints the layout. It exits 1 if anything is still open, 2 if it could not run (not root, no such
account, no student environment).
"""

from __future__ import annotations

import json
import os
import pwd
import subprocess
from pathlib import Path

from .permissions import DEFAULT_EXCHANGE, course_exposures

HUB_FOLDER = Path(__file__).resolve().parent / "jupyterhub"

#: nbgrader's instructor plugins and server extensions, off in the student environment.
INSTRUCTOR_PLUGINS = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                      "@jupyter/nbgrader:course-list")
#: JupyterLab's news prompt, off in the student environment: a class's hub works offline.
OFFLINE_PLUGINS = ("@jupyterlab/apputils-extension:announcements",)
INSTRUCTOR_SERVER_EXTENSIONS = ("nbgrader.server_extensions.formgrader", "nbgrader.server_extensions.course_list")


class HubSetupError(RuntimeError):
    """The layout could not be made (the message says why and what to do)."""


def _chown_tree(top: Path, uid: int, gid: int) -> None:
    """Give ``top`` and everything in it to ``uid:gid``, never following a link."""
    os.lchown(top, uid, gid)
    for folder, folders, files in os.walk(top, followlinks=False):
        for name in folders + files:
            os.lchown(os.path.join(folder, name), uid, gid)


def _write_private(path: Path, text: str, owner: pwd.struct_passwd) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chown(path.parent, owner.pw_uid, owner.pw_gid)
    path.write_text(text)
    os.chown(path, owner.pw_uid, owner.pw_gid)
    os.chmod(path, 0o600)


def enable_server_extension(path: Path, name: str, owner: pwd.struct_passwd) -> None:
    """Turn on a Jupyter server extension in a user's ``jupyter_server_config.json`` (what
    ``jupyter server extension enable --user`` writes), keeping the rest of the file."""
    config = json.loads(path.read_text()) if path.exists() else {}
    config.setdefault("ServerApp", {}).setdefault("jpserver_extensions", {})[name] = True
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2) + "\n")
    os.chown(path, owner.pw_uid, owner.pw_gid)


def instructor_config(root: Path, exchange: Path, db_url: str) -> str:
    """The grader's ``nbgrader_config.py``: the shipped file, then this machine's paths."""
    return ((HUB_FOLDER / "instructor" / "nbgrader_config.py").read_text()
            + "\n# --- this machine (written by hub-setup) ---\n"
            + f"c.CourseDirectory.root = {str(root)!r}\n"
            + f"c.Exchange.root = {str(exchange)!r}\n"
            + f"c.CourseDirectory.db_url = {db_url!r}\n")


def student_config(exchange: Path) -> str:
    """The student environment's ``nbgrader_config.py``: the shipped file, then this machine's exchange."""
    return ((HUB_FOLDER / "student" / "nbgrader_config.py").read_text()
            + "\n# --- this machine (written by hub-setup) ---\n"
            + f"c.Exchange.root = {str(exchange)!r}\n")


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    if result.returncode != 0:
        raise HubSetupError(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")


def check_student_env(student_env: Path) -> None:
    """Refuse a folder that is not a student environment, or one that can import the reference or this tool."""
    python, singleuser = student_env / "bin" / "python", student_env / "bin" / "jupyterhub-singleuser"
    if not python.exists() or not singleuser.exists():
        raise HubSetupError(f"{student_env} is not a student environment with jupyterhub-singleuser; make it with "
                            f"`python3 -m venv {student_env} && {student_env}/bin/pip install \"./[student,hub]\"`")
    for package, what in (("dlopt_reference", "the reference"), ("dlopt_course", "the instructor's tool")):
        probe = subprocess.run([str(python), "-I", "-c", "import importlib.util, sys; "
                                f"sys.exit(importlib.util.find_spec({package!r}) is not None)"],
                               env={"PATH": "/usr/bin:/bin"})
        if probe.returncode != 0:
            raise HubSetupError(f"{student_env} can import {package} ({what}): a student environment must never "
                                "hold it; make a new one from the student package alone")


def configure_student_env(student_env: Path, exchange: Path) -> None:
    """The student environment's nbgrader config, and nbgrader's instructor extensions off and locked."""
    config = student_env / "etc" / "jupyter" / "nbgrader_config.py"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(student_config(exchange))
    config.chmod(0o644)
    jupyter = str(student_env / "bin" / "jupyter")
    for action in ("disable", "lock"):
        _run([jupyter, "labextension", action, "--level=sys_prefix", *INSTRUCTOR_PLUGINS, *OFFLINE_PLUGINS])
    for extension in INSTRUCTOR_SERVER_EXTENSIONS:
        _run([jupyter, "server", "extension", "disable", "--sys-prefix", extension])


def hub_setup(root: Path, grader: str, student_env: Path, exchange: Path = DEFAULT_EXCHANGE,
              db_url: str | None = None) -> int:
    """Lay out the course for a hub on this machine (module docstring); return the exit code."""
    if os.geteuid() != 0:
        raise HubSetupError("hub-setup changes owners and modes: run it as root")
    try:
        account = pwd.getpwnam(grader)
    except KeyError:
        raise HubSetupError(f"no account {grader!r} on this machine: create it first "
                            f"(useradd --create-home {grader})") from None
    root = root.resolve()
    if not (root / "nbgrader_config.py").is_file():
        raise HubSetupError(f"{root} is not the course folder (no nbgrader_config.py there); use --root")
    db_url = db_url or f"sqlite:///{root / 'gradebook.db'}"
    check_student_env(student_env)  # before anything changes

    # 1. the course folder, the grader's alone
    _chown_tree(root, account.pw_uid, account.pw_gid)
    os.chmod(root, 0o700)
    home = Path(account.pw_dir)
    if home in root.parents:
        os.chmod(home, 0o700)

    # 2. the exchange: everyone may create, no one may remove what another created
    exchange.mkdir(parents=True, exist_ok=True)
    os.chown(exchange, 0, 0)
    os.chmod(exchange, 0o1777)

    # 3. the grader's nbgrader configuration
    _write_private(home / ".jupyter" / "nbgrader_config.py", instructor_config(root, exchange, db_url), account)
    enable_server_extension(home / ".jupyter" / "jupyter_server_config.json",
                            "dlopt_course.formgrader_links", account)

    # 4. the student environment
    configure_student_env(student_env, exchange)

    import dlopt_reference

    gradebook = Path(db_url[len("sqlite:///"):]) if db_url.startswith("sqlite:///") else None
    problems = course_exposures(root, gradebook, Path(dlopt_reference.__file__).parent,
                                exchange / "dlopt" / "inbound")
    print(f"course folder   {root}: owner {grader}, mode 700")
    print(f"exchange        {exchange}: owner root, mode 1777")
    print(f"grader config   {home / '.jupyter' / 'nbgrader_config.py'} (gradebook {db_url.split('@')[-1]})")
    print(f"student env     {student_env}: no dlopt_reference, no dlopt_course; instructor extensions off and "
          "locked")
    for problem in problems:
        print(f"STILL OPEN: {problem}")
    return 1 if problems else 0
