"""Example nbgrader configuration of the student image.

Install it in the image as ``/etc/jupyter/nbgrader_config.py`` (or in each user's
``~/.jupyter/``). The student image has ``pip install nbgrader==0.9.6`` and the student helper
package ``dlopt`` (``pip install .`` at the repository root), never ``dlopt_reference``.

A student only fetches, validates and submits, and fetches feedback: enable the assignment list
and validate extensions and disable the instructor ones:

    jupyter labextension disable --level=sys_prefix @jupyter/nbgrader:formgrader
    jupyter labextension disable --level=sys_prefix @jupyter/nbgrader:create-assignment
    jupyter labextension disable --level=sys_prefix @jupyter/nbgrader:course-list
    jupyter server extension disable --sys-prefix nbgrader.server_extensions.formgrader
    jupyter server extension disable --sys-prefix nbgrader.server_extensions.course_list
    (assignment-list and validate-assignment stay enabled)

Students are identified by their OS user (``JUPYTERHUB_USER`` in a ``jovyan`` container): do not
set ``CourseDirectory.student_id`` here. (The exchange test sets it, because its three students are
one OS user.)
"""

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "dlopt"

# The same exchange as the instructor's (the same path in every user's server).
c.Exchange.root = "/srv/nbgrader/exchange"

# Fetched assignments land in the user's home: ~/01_sgd/01_sgd.ipynb, feedback in ~/01_sgd/feedback/.
c.Exchange.assignment_dir = "."
