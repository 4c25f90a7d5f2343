"""nbgrader configuration of the student environment (every student's server on the hub).

``hub-setup`` installs it as ``<student env>/etc/jupyter/nbgrader_config.py`` with this machine's exchange
appended. The student environment is ``pip install "./[student,hub]"`` in a fresh venv: the helper
package ``dlopt``, JupyterLab, nbgrader, and ``jupyterhub`` (whose ``jupyterhub-singleuser`` the hub
starts); never ``dlopt_reference`` nor ``dlopt_course``.

Students fetch, validate and submit, and fetch feedback. ``hub-setup`` turns nbgrader's instructor
extensions off there and locks them (JupyterLab's extension manager cannot turn a locked plugin back on):

    jupyter labextension disable --level=sys_prefix @jupyter/nbgrader:formgrader @jupyter/nbgrader:create-assignment @jupyter/nbgrader:course-list
    jupyter labextension lock --level=sys_prefix @jupyter/nbgrader:formgrader @jupyter/nbgrader:create-assignment @jupyter/nbgrader:course-list
    jupyter server extension disable --sys-prefix nbgrader.server_extensions.formgrader
    jupyter server extension disable --sys-prefix nbgrader.server_extensions.course_list

(the Assignment List and Validate stay on). Students are identified by their account (the user the
server runs as): do not set ``CourseDirectory.student_id`` here.
"""

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "dlopt"

# The same exchange as the grader's (the same path in every user's server).
c.Exchange.root = "/srv/nbgrader/exchange"

# Fetched assignments land in the user's home: ~/01_sgd/01_sgd.ipynb, feedback in ~/01_sgd/feedback/.
c.Exchange.assignment_dir = "."
