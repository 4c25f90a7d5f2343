"""Example nbgrader configuration of the instructor image (the ``dlopt`` course service).

Install it as ``~/.jupyter/nbgrader_config.py`` of the grader account (``grader-dlopt``), whose
server runs in the course folder ``~/dlopt`` (a clone of this repository). nbgrader reads both files:
this one, then the repository's ``nbgrader_config.py`` in the working folder (source folder, stubs,
ignore list, ``Execute.timeout``, the course's feedback page), so the course settings stay in one place. The instructor image has the whole
``requirements.txt`` installed (``dlopt_reference`` grades) plus a PostgreSQL driver
(``psycopg[binary]``, pinned there: SQLAlchemy 2 opens ``postgresql://`` URLs with psycopg 3).

nbgrader's JupyterLab extensions to enable on this image (all of them, the default after
``pip install nbgrader``):

    jupyter labextension enable --level=sys_prefix @jupyter/nbgrader:formgrader
    jupyter labextension enable --level=sys_prefix @jupyter/nbgrader:create-assignment
    jupyter labextension enable --level=sys_prefix @jupyter/nbgrader:course-list
    jupyter labextension enable --level=sys_prefix @jupyter/nbgrader:assignment-list
    jupyter labextension enable --level=sys_prefix @jupyter/nbgrader:validate-assignment
    jupyter server extension enable --sys-prefix nbgrader.server_extensions.formgrader
"""

import os

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "dlopt"
c.CourseDirectory.root = "/home/grader-dlopt/dlopt"

# The exchange every user's server mounts at the same path (must exist, mode 777).
c.Exchange.root = "/srv/nbgrader/exchange"

# The gradebook in PostgreSQL rather than SQLite: several graders (the formgrader, a parallel
# autograde, a script) may write at once, which SQLite does not allow. The database holds the
# hidden tests: give this URL (and its password) to the grader's server only.
c.CourseDirectory.db_url = os.environ.get(
    "DLOPT_GRADEBOOK_URL", "postgresql://nbgrader@db.internal:5432/dlopt_gradebook"
)

# Submissions are collected by student name; on a hub every student is their own OS user.
c.CollectApp.check_owner = True

# `nbgrader collect` with the course's collector: a submission's time is the kernel's record of when the
# student last changed it (it cannot be forged earlier), and links in a submission are never followed.
c.ExchangeFactory.collect = "dlopt_reference.course.trusted_collect.TrustedCollect"
