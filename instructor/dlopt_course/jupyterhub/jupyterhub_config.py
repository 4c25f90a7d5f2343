"""JupyterHub configuration for the dlopt course: one machine, one course, nbgrader 0.9, JupyterHub 6.

It runs as shipped on one machine (``tests/hub/test_real_hub.py`` starts it), after the README's
*Many students: JupyterHub* steps, which also lay out the permissions (``hub-setup``):

- every student logs in (PAM: their account on this machine) and gets a JupyterLab server that runs as
  their own account from the **student environment** (``/opt/dlopt-student``: the helper package
  ``dlopt``, JupyterLab, nbgrader and ``jupyterhub`` for ``jupyterhub-singleuser``; never the reference);
  its ``etc/jupyter/nbgrader_config.py`` (written by ``hub-setup``) names the exchange and the course;
- the course is a hub-managed **service** named after the course id: a JupyterLab server running as the
  account ``grader-dlopt`` in the course folder (``/home/grader-dlopt/dlopt``, a clone of this repository
  with its ``.venv``), where the formgrader runs. Instructors reach it at ``/services/dlopt/`` (the hub's
  *Services* menu). ``~grader-dlopt/.jupyter/nbgrader_config.py`` (written by ``hub-setup``) gives the
  exchange, the course id and the gradebook, so the formgrader, ``nbgrader`` and the course's ``grade``
  all use the same gradebook;
- the group ``formgrade-dlopt`` may use that service; the group ``nbgrader-dlopt`` lists the students
  (nbgrader's course list and assignment list read these names: ``formgrade-<course_id>`` and
  ``nbgrader-<course_id>``).

Settings. Edit the constants below, or set the environment variables named beside them when starting
the hub (the test does, to use its throw-away accounts and folders): the accounts of instructors and
students (space-separated), the grader's account, the course folder and the two environments. A listed
user without an account on this machine is left out with one warning naming them all (JupyterHub would
otherwise log a KeyError for each of them).

Formgrader. JupyterHub (>= 4.1) forbids framing a user's pages (``Content-Security-Policy:
frame-ancestors 'none'``): inside JupyterLab, the *Formgrader* tab stays blank. That protection is kept
(relaxing it lets any page of the hub's origin, a student's among them, frame the grader's pages): the
formgrader opens in its own browser tab at ``/services/dlopt/formgrader``, where everything works, its
*Preview* links included (``hub-setup`` installs the course's formgrader settings, see
``formgrader_links.py``).

On Kubernetes (zero-to-jupyterhub), the same pieces map onto the chart's values:

- the student environment is the single-user image: ``pip install "./[student,hub]"``, the student config
  as ``/etc/jupyter/nbgrader_config.py`` and the extension commands of its docstring, in the Dockerfile;
- the course service is a Deployment of its own (the grader's image: ``requirements.txt``; the grader's
  nbgrader config and the formgrader extension as ``hub-setup`` writes them), registered in
  ``hub.services`` with its URL and an API token, and given the same roles as here (``hub.loadRoles``);
- the exchange is a ``ReadWriteMany`` volume mounted at the same path in every pod
  (``singleuser.storage.extraVolumes``), mode 1777; the course folder is a volume of the grader's pod only;
- the gradebook is a PostgreSQL database reachable from the grader's pod only (a NetworkPolicy), set with
  ``db_url`` in the grader's nbgrader config; ``grade`` supports it;
- users come from the authenticator (OAuth, LDAP); ``c.Spawner.cmd``, ``environment``, ``env_keep`` and the
  home-closing hook below are the image's business there (each pod has its own home volume).
"""

import os
import pwd
import signal
import stat
import sys

c = get_config()  # noqa: F821 (provided by JupyterHub when it loads this file)

COURSE_ID = "dlopt"
GRADER_USER = os.environ.get("DLOPT_GRADER_USER", f"grader-{COURSE_ID}")
INSTRUCTORS = os.environ.get("DLOPT_INSTRUCTORS", "instructor1").split()
STUDENTS = os.environ.get("DLOPT_STUDENTS", "student1 student2 student3").split()
COURSE_ROOT = os.environ.get("DLOPT_COURSE_ROOT", f"/home/{GRADER_USER}/{COURSE_ID}")
INSTRUCTOR_ENV = os.environ.get("DLOPT_INSTRUCTOR_ENV", f"{COURSE_ROOT}/.venv")
STUDENT_ENV = os.environ.get("DLOPT_STUDENT_ENV", f"/opt/{COURSE_ID}-student")
SERVICE_URL = os.environ.get("DLOPT_SERVICE_URL", "http://127.0.0.1:9999")


def with_accounts(names):
    """``names`` that have an account on this machine; one warning names the others."""
    present, missing = [], []
    for name in names:
        try:
            pwd.getpwnam(name)
            present.append(name)
        except KeyError:
            missing.append(name)
    if missing:
        print(f"[dlopt] WARNING: no account on this machine for {', '.join(missing)}: left out of the hub "
              "(create the accounts, or remove the names from the hub's settings)", file=sys.stderr)
    return present


INSTRUCTORS, STUDENTS = with_accounts(INSTRUCTORS), with_accounts(STUDENTS)
try:
    pwd.getpwnam(GRADER_USER)
except KeyError:
    raise SystemExit(f"[dlopt] the course service runs as {GRADER_USER!r}, which has no account here: create it "
                     "(README: 'Many students: JupyterHub'), or set DLOPT_GRADER_USER") from None

# Who may log in: their accounts on this machine (replace with your institution's OAuth or LDAP).
c.JupyterHub.authenticator_class = "jupyterhub.auth.PAMAuthenticator"
c.Authenticator.allowed_users = set(INSTRUCTORS + STUDENTS)
c.Authenticator.admin_users = set(INSTRUCTORS)

# Every user's server: JupyterLab from the student environment, in their home, as their own account.
# Only the variables named here reach it: never the hub's PYTHONPATH (which could name the reference).
c.Spawner.cmd = [f"{STUDENT_ENV}/bin/jupyterhub-singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.env_keep = ["LANG", "LC_ALL"]
c.Spawner.environment = {"PATH": f"{STUDENT_ENV}/bin:/usr/local/bin:/usr/bin:/bin"}


def close_home(spawner):
    """Before a user's server starts: their home is theirs alone (mode 700), so that classmates cannot
    read each other's work (many systems make homes world-readable, mode 755)."""
    home = pwd.getpwnam(spawner.user.name).pw_dir
    mode = stat.S_IMODE(os.stat(home).st_mode)
    if mode & 0o077:
        os.chmod(home, mode & 0o700)


c.Spawner.pre_spawn_hook = close_home

# The groups nbgrader looks up: instructors grade, students take the course.
c.JupyterHub.load_groups = {
    f"formgrade-{COURSE_ID}": {"users": INSTRUCTORS},
    f"nbgrader-{COURSE_ID}": {"users": STUDENTS},
}

# Roles: instructors may use the course service; students may see that it exists (the course list of
# the assignment-list extension asks), and nothing more.
c.JupyterHub.load_roles = [
    {
        "name": f"formgrade-{COURSE_ID}",
        "groups": [f"formgrade-{COURSE_ID}"],
        "scopes": [f"access:services!service={COURSE_ID}"],
    },
    {
        "name": f"nbgrader-{COURSE_ID}",
        "groups": [f"nbgrader-{COURSE_ID}"],
        "scopes": ["list:services", f"read:services!service={COURSE_ID}"],
    },
    # A single-user server reads its user's groups (nbgrader's course list).
    {"name": "server", "scopes": ["inherit"]},
]

# The course service: JupyterLab with the formgrader, from the grader's environment, as the grader's
# account, in the course folder. No "api_token": the hub makes one for a service it starts.
c.JupyterHub.services = [
    {
        "name": COURSE_ID,
        "url": SERVICE_URL,
        "command": [f"{INSTRUCTOR_ENV}/bin/jupyterhub-singleuser"],
        "user": GRADER_USER,
        "cwd": COURSE_ROOT,
        "oauth_no_confirm": True,  # the course's own service: no "authorize access?" page for instructors
        "environment": {
            "JUPYTERHUB_DEFAULT_URL": "/lab",
            "PATH": f"{INSTRUCTOR_ENV}/bin:/usr/local/bin:/usr/bin:/bin",
        },
    },
]


# Stopping the hub stops the course service with SIGINT first, then SIGTERM only after a timeout. A hub
# started in the background of a script (or with nohup) inherits SIGINT ignored and would pass that on
# to the service, whose Jupyter server then waits out the timeout (about 30 s): give it SIGINT back.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
