"""Example JupyterHub configuration for the dlopt course (one hub, one course, nbgrader 0.9).

An example, not a deployment: adapt the user names, the authenticator and the secrets. It follows
nbgrader's "one course, several graders" layout with JupyterHub >= 2 roles:

- every student and instructor logs in to the hub and gets a single-user server from the student
  image (``student/nbgrader_config.py``: fetch, submit, fetch feedback);
- the course is a hub-managed *service* named after the course id, ``dlopt``: a single-user
  server running as the OS user ``grader-dlopt`` in the course folder (a clone of this repository;
  ``instructor/nbgrader_config.py`` is that account's ``~/.jupyter/nbgrader_config.py``) from the instructor image,
  where the formgrader runs; instructors reach it through the hub ("Services" -> dlopt);
- the group ``formgrade-dlopt`` may use that service; the group ``nbgrader-dlopt`` lists the
  students (nbgrader's course list and assignment list read these group names:
  ``formgrade-<course_id>`` and ``nbgrader-<course_id>``).

The exchange (``/srv/nbgrader/exchange``) is a folder every user's server sees at the same path
(a local folder on one machine, a shared volume on Kubernetes) and that must exist, mode 777,
before the first ``release_assignment``: nbgrader creates ``dlopt/outbound``, ``dlopt/inbound``
(733) and ``dlopt/feedback`` in it. ``tests/course/test_exchange_round_trip.py`` runs this whole
path (release, fetch, submit, collect, autograde, feedback) with three students.

The gradebook lives in PostgreSQL (see ``instructor/nbgrader_config.py``): it holds the hidden tests,
so it is reachable from the grader's server only, never from a student's.
"""

c = get_config()  # noqa: F821 (provided by JupyterHub when it loads this file)

COURSE_ID = "dlopt"
GRADER_USER = f"grader-{COURSE_ID}"  # an OS account that owns the course folder
INSTRUCTORS = ["instructor1"]
STUDENTS = ["student1", "student2", "student3"]

# Who may log in (replace the authenticator with your institution's: OAuth, LDAP, ...).
c.JupyterHub.authenticator_class = "jupyterhub.auth.PAMAuthenticator"
c.Authenticator.allowed_users = set(INSTRUCTORS + STUDENTS)
c.Authenticator.admin_users = set(INSTRUCTORS)

# Everyone works in JupyterLab (nbgrader 0.9's extensions are JupyterLab extensions).
c.Spawner.default_url = "/lab"

# The groups nbgrader looks up: instructors grade, students take the course.
c.JupyterHub.load_groups = {
    f"formgrade-{COURSE_ID}": {"users": INSTRUCTORS + [GRADER_USER]},
    f"nbgrader-{COURSE_ID}": {"users": STUDENTS},
}

# Roles (JupyterHub >= 2): instructors may use the course service; students may see it exists
# (the course list of the assignment-list extension needs that), and nothing more.
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
    # The single-user servers need to read their user's groups for nbgrader's course list.
    {"name": "server", "scopes": ["inherit"]},
]

# The course service: the formgrader of the instructor image, run by the hub as GRADER_USER in the
# course folder (a clone of this repository, keeping its nbgrader_config.py); the grader account's
# ~/.jupyter/nbgrader_config.py is instructor/nbgrader_config.py.
c.JupyterHub.services = [
    {
        "name": COURSE_ID,
        "url": "http://127.0.0.1:9999",
        "command": ["jupyterhub-singleuser"],  # who may use it: the roles above, not a flag
        "user": GRADER_USER,
        "cwd": f"/home/{GRADER_USER}/dlopt",
        "environment": {"JUPYTERHUB_DEFAULT_URL": "/lab"},
        # No "api_token": for a service it starts itself, the hub generates one and passes it on.
    },
]
