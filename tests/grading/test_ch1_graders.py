"""The graders of chapter 1's ``minibatches`` and ``lr_range_test``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dlopt_reference import grading
from dlopt_reference.data import minibatches
from dlopt_reference.grading import GradingFailure, check_lr_range_test, check_minibatches
from dlopt_reference.grading._mistakes import LR_RANGE_MISTAKES, MINIBATCH_MISTAKES, _lr_range_test, _minibatches
from dlopt_reference.lr_range import lr_range_test

from ch1_4_alternatives import (
    RIGHT_LR_RANGE_TESTS, RIGHT_MINIBATCHES, WRONG_LR_RANGE_TESTS, WRONG_MINIBATCHES, lr_range_test_overflow,
)

NOTEBOOK = Path(__file__).resolve().parents[2] / "exercises" / "01_sgd" / "01_sgd.ipynb"


def model_solution(name):
    """The solution cell ``<name>_impl`` of the chapter-1 notebook, executed."""
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    source = next("".join(c["source"]) for c in cells
                  if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == f"{name}_impl")
    namespace = {"np": np}
    exec(source, namespace)
    return namespace[name]


def failure_message(check, function) -> str:
    with pytest.raises(GradingFailure) as caught:
        check(function)
    return str(caught.value)


def test_registry():
    assert grading.CHECKS["minibatches"] is check_minibatches
    assert grading.CHECKS["lr_range_test"] is check_lr_range_test


@pytest.mark.parametrize("function", [minibatches, _minibatches, *RIGHT_MINIBATCHES], ids=lambda f: f.__name__)
def test_minibatches_right_answers_pass(function):
    check_minibatches(function)


@pytest.mark.parametrize("name", ["sgd", "minibatches", "lr_range_test"])
def test_the_notebook_model_solutions_pass(name):
    grading.CHECKS[name](model_solution(name))


@pytest.mark.parametrize("mistake", MINIBATCH_MISTAKES, ids=lambda m: m.description[:40])
def test_minibatches_catalogued_mistakes_are_named(mistake):
    message = failure_message(check_minibatches, mistake.function)
    assert f"This looks like: {mistake.description}." in message, message


@pytest.mark.parametrize("function, words", WRONG_MINIBATCHES, ids=[f.__name__ for f, _ in WRONG_MINIBATCHES])
def test_minibatches_wrong_answers_are_diagnosed(function, words):
    message = failure_message(check_minibatches, function)
    assert words in message, message


def test_minibatches_missing_examples_have_their_own_message():
    def drop_last(X, y, batch_size, rng=None):
        return [(X[i:i + batch_size], y[i:i + batch_size]) for i in range(0, len(X) - len(X) % batch_size, batch_size)]

    message = failure_message(check_minibatches, drop_last)
    assert "every example must appear exactly once per epoch" in message and "[8, 9] are missing" in message


@pytest.mark.parametrize("function", [lr_range_test, _lr_range_test, *RIGHT_LR_RANGE_TESTS], ids=lambda f: f.__name__)
def test_lr_range_test_right_answers_pass(function):
    check_lr_range_test(function)


@pytest.mark.parametrize("mistake", LR_RANGE_MISTAKES, ids=lambda m: m.description[:40])
def test_lr_range_test_catalogued_mistakes_are_named(mistake):
    message = failure_message(check_lr_range_test, mistake.function)
    assert f"This looks like: {mistake.description}." in message, message


@pytest.mark.parametrize("function, words", WRONG_LR_RANGE_TESTS, ids=[f.__name__ for f, _ in WRONG_LR_RANGE_TESTS])
def test_lr_range_test_wrong_answers_are_diagnosed(function, words):
    message = failure_message(check_lr_range_test, function)
    assert words in message, message


def test_lr_range_test_message_names_the_problem():
    message = failure_message(check_lr_range_test, WRONG_LR_RANGE_TESTS[0][0])
    assert message.startswith("lr_range_test on f(w) = ")
    assert "learning_rates" in message or "steps" in message


@pytest.mark.parametrize("check, function", [
    (check_lr_range_test, lr_range_test_overflow),
    (check_minibatches, lambda X, y, b, rng=None: [(X / 0.0, y)]),
])
def test_chapter1_checks_print_nothing(check, function, capfd):
    with pytest.raises(GradingFailure):
        check(function)
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""


def test_a_crash_names_the_call():
    def crashes_with_rng(X, y, batch_size, rng=None):
        if rng is not None:
            raise ValueError("no rng please")
        return minibatches(X, y, batch_size)

    message = failure_message(check_minibatches, crashes_with_rng)
    assert "raised ValueError: no rng please" in message and "rng=np.random.default_rng(0)" in message, message
