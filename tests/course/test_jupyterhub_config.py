"""The JupyterHub configuration the course ships (instructor/dlopt_course/jupyterhub/) is consistent.

A quick check of the files, loaded the way JupyterHub and nbgrader load them (traitlets'
``PyFileConfigLoader``); ``tests/hub/test_real_hub.py`` runs them on a real hub. One course id, one exchange
shared by the grader and the students, a gradebook for the grader only (SQLite in the course folder by
default), the course service and the ``formgrade-<course>`` / ``nbgrader-<course>`` groups; users without an
account on the machine are left out with one warning (not a KeyError per user at the hub's start), and a
missing grader's account stops the hub with a message that says what to do. The extension names the
comments tell admins to enable or disable must exist in the installed nbgrader.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from traitlets.config.loader import PyFileConfigLoader

REPOSITORY = Path(__file__).resolve().parents[2]
FOLDER = REPOSITORY / "instructor" / "dlopt_course" / "jupyterhub"
FILES = {
    "hub": FOLDER / "jupyterhub_config.py",
    "instructor": FOLDER / "instructor" / "nbgrader_config.py",
    "student": FOLDER / "student" / "nbgrader_config.py",
}
COURSE_ID = "dlopt"


def load(path: Path):
    return PyFileConfigLoader(path.name, path=str(path.parent)).load_config()


@pytest.fixture(autouse=True)
def accounts_that_exist(monkeypatch):
    """The hub config's users, set to accounts every Linux machine has."""
    monkeypatch.setenv("DLOPT_GRADER_USER", "root")
    monkeypatch.setenv("DLOPT_INSTRUCTORS", "root")
    monkeypatch.setenv("DLOPT_STUDENTS", "nobody")


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


def test_gradebook_in_the_course_folder_for_the_grader_only():
    instructor, student = load(FILES["instructor"]), load(FILES["student"])
    assert instructor.CourseDirectory.db_url == f"sqlite:///{instructor.CourseDirectory.root}/gradebook.db"
    assert "db_url" not in student.CourseDirectory, "students must never reach the gradebook (hidden tests)"


def test_users_without_an_account_are_left_out_with_one_warning(monkeypatch, capsys):
    monkeypatch.setenv("DLOPT_STUDENTS", "nobody dlopt-no-such-user-1 dlopt-no-such-user-2")
    hub = load(FILES["hub"])
    assert hub.JupyterHub.load_groups[f"nbgrader-{COURSE_ID}"]["users"] == ["nobody"]
    assert hub.Authenticator.allowed_users == {"root", "nobody"}
    warnings = [line for line in capsys.readouterr().err.splitlines() if "no account" in line]
    assert len(warnings) == 1 and "dlopt-no-such-user-1, dlopt-no-such-user-2" in warnings[0]


def test_a_missing_grader_account_stops_the_hub_with_a_message(monkeypatch):
    monkeypatch.setenv("DLOPT_GRADER_USER", "dlopt-no-such-grader")
    with pytest.raises(SystemExit, match="'dlopt-no-such-grader', which has no account here: create it"):
        load(FILES["hub"])


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


def test_student_environment_pins_are_those_of_requirements():
    """The students' servers (``pip install "./[student,hub]"``) run the versions the course is tested with."""
    import tomllib

    extras = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    pins = dict(re.findall(r"^([A-Za-z0-9_.\-\[\]]+)==(\S+)", (REPOSITORY / "requirements.txt").read_text(),
                           re.M))
    assert any(requirement.startswith("jupyterhub==") for requirement in extras["hub"])
    for requirement in extras["student"] + extras["hub"]:
        name, version = requirement.split("==")
        assert pins.get(name) == version, (requirement, pins.get(name))
