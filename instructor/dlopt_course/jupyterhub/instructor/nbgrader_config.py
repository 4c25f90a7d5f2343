"""nbgrader configuration of the grader's account (``grader-dlopt``), for the course service on a hub.

``hub-setup`` installs it as ``~grader-dlopt/.jupyter/nbgrader_config.py``, with this machine's course
folder, exchange and gradebook appended. nbgrader reads it, then the course folder's own
``nbgrader_config.py`` (source folder, stubs, ignore list, ``Execute.timeout``, the course's feedback page),
so the formgrader of the course service, the ``nbgrader`` commands and the course's ``grade`` all see one
course, one exchange and one gradebook.

The grader's environment is the course folder's ``.venv`` (the whole ``requirements.txt``: nbgrader,
JupyterLab, jupyterhub for ``jupyterhub-singleuser``, ``dlopt_reference``, ``dlopt_course``, the PostgreSQL
driver), where
all of nbgrader's extensions stay enabled (the default after ``pip install nbgrader``).
"""

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "dlopt"
c.CourseDirectory.root = "/home/grader-dlopt/dlopt"

# The exchange every user's server sees at the same path (hub-setup makes it: root, mode 1777).
c.Exchange.root = "/srv/nbgrader/exchange"

# The gradebook stores the hidden tests. On one machine: SQLite in the course folder (mode 700, so the
# grader's alone); every writer (the formgrader, `nbgrader`, `grade`) is the grader's account on local
# disk, where SQLite's locks hold. Several graders' pods, or a network file system: PostgreSQL, reachable
# from the grader's server only, e.g. (hub-setup --db-url; `grade` supports it)
#   c.CourseDirectory.db_url = "postgresql://nbgrader:PASSWORD@db.internal:5432/dlopt_gradebook"
c.CourseDirectory.db_url = "sqlite:////home/grader-dlopt/dlopt/gradebook.db"

# Submissions are collected by student name; on a hub every student is their own account.
c.CollectApp.check_owner = True

# `nbgrader collect` with the course's collector: a submission's time is the kernel's record of when the
# student last changed it (it cannot be forged earlier), and links in a submission are never followed.
c.ExchangeFactory.collect = "dlopt_course.trusted_collect.TrustedCollect"
