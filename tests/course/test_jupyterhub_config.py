"""The example JupyterHub deployment (solutions/dlopt_reference/course/jupyterhub/) is consistent.

The configs are loaded the way JupyterHub and nbgrader load them (traitlets' ``PyFileConfigLoader``),
and must set the keys the exchange round trip (``test_exchange_round_trip.py``) and the PostgreSQL
gradebook (``test_postgres_gradebook.py``) rely on: one course id, one exchange root shared by the
instructor and the students, a PostgreSQL ``db_url`` for the instructor only, the course service and
the ``formgrade-<course>`` / ``nbgrader-<course>`` groups. The extension names the comments tell
admins to enable or disable must exist in the installed nbgrader.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from traitlets.config.loader import PyFileConfigLoader

FOLDER = Path(__file__).resolve().parents[2] / "solutions" / "dlopt_reference" / "course" / "jupyterhub"
FILES = {
    "hub": FOLDER / "jupyterhub_config.py",
    "instructor": FOLDER / "instructor" / "nbgrader_config.py",
    "student": FOLDER / "student" / "nbgrader_config.py",
}
COURSE_ID = "dlopt"


def load(path: Path):
    return PyFileConfigLoader(path.name, path=str(path.parent)).load_config()


@pytest.mark.parametrize("name", sorted(FILES))
def test_example_config_parses_as_python(name):
    path = FILES[name]
    compile(path.read_text(), str(path), "exec")
    assert load(path), f"{path} sets nothing"


def test_instructor_and_students_share_course_and_exchange():
    instructor, student = load(FILES["instructor"]), load(FILES["student"])
    assert instructor.CourseDirectory.course_id == student.CourseDirectory.course_id == COURSE_ID
    assert instructor.Exchange.root == student.Exchange.root
    assert instructor.Exchange.root.startswith("/")


def test_gradebook_on_postgres_for_the_instructor_only():
    instructor, student = load(FILES["instructor"]), load(FILES["student"])
    assert instructor.CourseDirectory.db_url.startswith("postgresql://")
    assert "db_url" not in student.CourseDirectory, "students must never reach the gradebook (hidden tests)"


def test_students_are_identified_by_their_os_user():
    assert "student_id" not in load(FILES["student"]).CourseDirectory


def test_hub_runs_the_course_service_for_the_course_groups():
    hub = load(FILES["hub"])
    assert [service["name"] for service in hub.JupyterHub.services] == [COURSE_ID]
    assert set(hub.JupyterHub.load_groups) == {f"formgrade-{COURSE_ID}", f"nbgrader-{COURSE_ID}"}
    grants = {role["name"]: role for role in hub.JupyterHub.load_roles}
    assert f"access:services!service={COURSE_ID}" in grants[f"formgrade-{COURSE_ID}"]["scopes"]
    assert grants[f"formgrade-{COURSE_ID}"]["groups"] == [f"formgrade-{COURSE_ID}"]
    students = set(hub.JupyterHub.load_groups[f"nbgrader-{COURSE_ID}"]["users"])
    assert students <= set(hub.Authenticator.allowed_users)
    assert not students & set(hub.JupyterHub.load_groups[f"formgrade-{COURSE_ID}"]["users"])


def test_named_extensions_exist_in_the_installed_nbgrader():
    prefix = Path(sys.prefix)
    lab = prefix / "share" / "jupyter" / "labextensions" / "@jupyter" / "nbgrader" / "static"
    plugins = {match for path in lab.glob("*.js") for match in re.findall(r"@jupyter/nbgrader:[a-z-]+", path.read_text())}
    server = json.loads((prefix / "etc" / "jupyter" / "jupyter_server_config.d" / "nbgrader.json").read_text())
    server_extensions = set(server["ServerApp"]["jpserver_extensions"])
    text = FILES["instructor"].read_text() + FILES["student"].read_text()
    named_plugins = set(re.findall(r"@jupyter/nbgrader:[a-z-]+", text))
    named_server = set(re.findall(r"nbgrader\.server_extensions\.[a-z_]+", text))
    assert named_plugins and named_plugins <= plugins, named_plugins - plugins
    assert named_server and named_server <= server_extensions, named_server - server_extensions
