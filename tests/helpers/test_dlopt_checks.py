"""dlopt.checks: the visible checks students run. They pass right answers, stop wrong ones with a
short message, say "not implemented yet" for stubs, and never import the hidden reference."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import dlopt.checks
from dlopt.checks import CheckFailure, check, needs_implementation, registered
from dlopt_course.catalog import MODULE_OF, reference_function

CHECKS_DIR = Path(dlopt.checks.__file__).parent


def test_every_student_function_has_a_visible_check():
    assert set(MODULE_OF) <= set(registered()), f"missing visible checks: {sorted(set(MODULE_OF) - set(registered()))}"


@pytest.mark.parametrize("name", registered())
def test_the_reference_passes_its_visible_check(name, capsys):
    check(name, reference_function(name))
    assert capsys.readouterr().out.startswith(f"✓ {name}")


@pytest.mark.parametrize("name", registered())
def test_a_stub_is_reported_as_not_implemented(name):
    def stub(*args, **kwargs):
        raise NotImplementedError()

    with pytest.raises(CheckFailure, match="not implemented yet"):
        check(name, stub)


@pytest.mark.parametrize("name", registered())
def test_a_function_returning_nothing_fails_with_a_message(name):
    with pytest.raises(CheckFailure):
        check(name, lambda *args, **kwargs: None)


@pytest.mark.parametrize("name", ["batchnorm_backward", "batchnorm_backward_alt"])
def test_the_backward_checks_build_the_cache_with_the_given_forward(name, capsys):
    forward = reference_function("batchnorm_forward")
    check(name, reference_function(name), forward)
    assert capsys.readouterr().out.startswith(f"✓ {name}")

    def stub(*args):
        raise NotImplementedError()

    with pytest.raises(CheckFailure, match="not implemented yet"):
        check(name, stub, forward)
    with pytest.raises(CheckFailure, match=r"must return a triple \(dx, dgamma, dbeta\)"):
        check(name, lambda dout, cache: None, forward)
    with pytest.raises(CheckFailure, match="your batchnorm_forward, which is not implemented yet"):
        check(name, reference_function(name), stub)
    with pytest.raises(CheckFailure, match="found none next to"):  # no forward passed, none in its namespace
        check(name, lambda dout, cache: (dout, dout[0], dout[0]))


def test_a_crash_is_one_line_naming_the_exception():
    def broken(w, dw, config=None):
        return w / undefined_name  # noqa: F821

    with pytest.raises(CheckFailure, match="NameError"):
        check("sgd", broken)


def test_the_notebook_shows_the_message_not_a_traceback():
    lines = CheckFailure("sgd: expected 1, got 2")._render_traceback_()
    assert len(lines) == 1 and "expected 1, got 2" in lines[0]


def test_experiments_say_when_functions_are_missing(capsys):
    with needs_implementation():
        raise NotImplementedError()
    assert "not implemented yet" in capsys.readouterr().out


def test_the_visible_checks_never_use_the_hidden_reference():
    for path in CHECKS_DIR.glob("*.py"):
        tree = ast.parse(path.read_text())
        imported = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
        imported += [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
        assert not any(name.startswith("dlopt_reference") for name in imported), path.name
