"""What other accounts can reach, read from file modes (``dlopt_course.permissions``).

The real attack is ``tests/hub/test_real_hub.py`` (a student's account against a course laid out by
``hub-setup``); here each rule of the reading is shown on small trees, both ways: an open mode is named,
the closed one is not.
"""

from __future__ import annotations

import grp
import os
import pwd
from pathlib import Path

import pytest

from dlopt_course.grading.course import shared_machine_exposures
from dlopt_course.permissions import closed_ancestor, course_exposures, exposure, listable_by_others
from unprivileged import world_folder


@pytest.fixture
def base():
    """A new folder every account can enter (pytest's own temporary folders are private)."""
    return world_folder("dlopt-permissions-")


@pytest.fixture
def tree(base):
    """``<base>/course/{exercises/a.ipynb, gradebook.db}``."""
    (base / "course" / "exercises").mkdir(parents=True)
    (base / "course" / "exercises" / "a.ipynb").write_text("{}")
    (base / "course" / "gradebook.db").write_text("")
    if closed_ancestor(base) is not None:
        pytest.fail(f"{closed_ancestor(base)} is closed to other accounts: the test needs an open path to start from")
    return base / "course"


def test_a_folder_others_can_enter_is_named_and_mode_700_closes_it(tree):
    os.chmod(tree, 0o755)
    assert closed_ancestor(tree) is None, "the test needs a path every account can enter"
    assert exposure(tree) == f"{tree} (mode drwxr-xr-x) can be entered by other accounts"
    os.chmod(tree, 0o700)
    assert exposure(tree) is None
    assert closed_ancestor(tree / "exercises" / "a.ipynb") == tree


def test_a_file_is_exposed_only_if_every_folder_above_it_is_open(tree):
    os.chmod(tree, 0o755)
    notebook = tree / "exercises" / "a.ipynb"
    os.chmod(notebook, 0o644)
    assert exposure(notebook) == f"{notebook} (mode -rw-r--r--) can be read by other accounts"
    os.chmod(notebook, 0o600)
    assert exposure(notebook) is None
    os.chmod(notebook, 0o644)
    os.chmod(tree / "exercises", 0o700)  # a closed folder on the way hides it
    assert exposure(notebook) is None


def test_group_access_counts_only_when_the_group_has_other_members(tree):
    owner = pwd.getpwuid(os.stat(tree).st_uid)

    def others_in(group) -> set[str]:  # members, and accounts whose primary group it is, but the owner
        primary = {p.pw_name for p in pwd.getpwall() if p.pw_gid == group.gr_gid}
        return (set(group.gr_mem) | primary) - {owner.pw_name}

    shared = next((g for g in grp.getgrall() if others_in(g)), None)  # e.g. nogroup, nobody's
    private = next((g for g in grp.getgrall() if not others_in(g)), None)
    if shared is None or private is None:
        pytest.fail("this machine needs a group with other members and one without to test group access")
    os.chmod(tree, 0o750)
    os.chown(tree, -1, shared.gr_gid)
    assert "can be entered by other accounts" in exposure(tree)
    os.chown(tree, -1, private.gr_gid)
    assert exposure(tree) is None


def test_an_inbound_folder_must_not_be_listable(base):
    inbound = base / "inbound"
    inbound.mkdir()
    os.chmod(inbound, 0o2733)  # nbgrader's mode: drop in, never list
    assert listable_by_others(inbound) is None
    os.chmod(inbound, 0o755)
    assert listable_by_others(inbound) == f"{inbound} (mode drwxr-xr-x) can be listed by other accounts"


def test_course_exposures_lists_each_open_part(tree, base):
    reference = base / "reference"
    reference.mkdir(mode=0o700)
    os.chmod(tree, 0o755)
    gradebook = tree / "gradebook.db"
    os.chmod(gradebook, 0o644)
    found = course_exposures(tree, gradebook, reference, None)
    assert found == [f"{tree} (mode drwxr-xr-x) can be entered by other accounts",
                     f"{gradebook} (mode -rw-r--r--) can be read by other accounts"]
    os.chmod(tree, 0o700)
    assert course_exposures(tree, gradebook, reference, None) == []


class _Config(dict):
    """Enough of a traitlets config for ``shared_machine_exposures``."""

    def __getattr__(self, name):
        return self[name]


def test_grade_checks_only_where_the_course_exchange_exists(tree, base):
    class Coursedir:
        root, db_url, course_id = str(tree), f"sqlite:///{tree / 'gradebook.db'}", "dlopt"

    os.chmod(tree, 0o755)
    absent = _Config(Exchange=_Config(root=str(base / "no-exchange")))
    assert shared_machine_exposures(absent, Coursedir) == []  # a laptop: nobody else here
    exchange = base / "exchange"
    exchange.mkdir()
    present = _Config(Exchange=_Config(root=str(exchange)))
    assert f"{tree} (mode drwxr-xr-x) can be entered by other accounts" in shared_machine_exposures(present, Coursedir)
