"""``hub-setup`` refuses, before changing anything, what it cannot lay out safely.

Its layout itself (owners, modes, configs) is checked on a real hub in ``tests/hub/test_real_hub.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dlopt_course.hub_setup import HubSetupError, check_student_env, hub_setup

REPOSITORY = Path(__file__).resolve().parents[2]


def test_it_must_run_as_root(monkeypatch, tmp_path):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(HubSetupError, match="run it as root"):
        hub_setup(REPOSITORY, "root", tmp_path)


def test_the_grader_account_must_exist(monkeypatch, tmp_path):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    with pytest.raises(HubSetupError, match=r"no account 'dlopt-no-such-grader'.*useradd --create-home"):
        hub_setup(REPOSITORY, "dlopt-no-such-grader", tmp_path)


def test_a_folder_that_is_no_student_environment_is_refused(tmp_path):
    with pytest.raises(HubSetupError, match=r"is not a student environment.*\[student,hub\]"):
        check_student_env(tmp_path)


def test_an_environment_with_the_reference_is_refused():
    """This test run's own environment has jupyterhub-singleuser and can import dlopt_reference."""
    environment = Path(sys.prefix)
    assert (environment / "bin" / "jupyterhub-singleuser").exists()
    with pytest.raises(HubSetupError, match="can import dlopt_reference"):
        check_student_env(environment)


def test_the_command_reports_a_refusal_with_exit_code_2(tmp_path):
    done = subprocess.run([sys.executable, "-m", "dlopt_course", "--root", str(REPOSITORY), "hub-setup",
                           "--grader", "dlopt-no-such-grader", "--student-env", str(tmp_path)],
                          capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("hub-setup: ")
