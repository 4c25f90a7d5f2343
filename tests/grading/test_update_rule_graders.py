"""The graders of the update rules (chapters 1-4): right answers pass, every known mistake is named.

- the reference and the catalogue's own plain implementations pass every check;
- right answers written differently (cs231n's in-place config, float32, lists, other algebra) pass;
- every catalogued mistake is rejected and diagnosed as itself; so are wrong answers written the way
  students write them (``ch1_4_alternatives.WRONG_UPDATE_RULES``);
- a stub, an in-place update, a wrong return type give their own messages; nothing reaches stderr.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from dlopt_reference import grading, optim
from dlopt_reference.grading import GradingFailure
from dlopt_reference.grading._mistakes import PLAIN, UPDATE_RULE_MISTAKES
from dlopt_reference.grading._update_rules import RULES

from ch1_4_alternatives import RIGHT_UPDATE_RULES, WRONG_UPDATE_RULES, not_implemented, sgd_overflow

RULE_NAMES = list(RULES)


def check_of(name):
    return grading.CHECKS[name]


def failure_message(name, function) -> str:
    with pytest.raises(GradingFailure) as caught:
        check_of(name)(function)
    return str(caught.value)


def test_public_checks_and_registry():
    for name in RULE_NAMES:
        assert getattr(grading, f"check_{name}") is grading.CHECKS[name]
        assert grading.CHECKS[name].__name__ == f"check_{name}"
    assert issubclass(GradingFailure, AssertionError)


@pytest.mark.parametrize("name", RULE_NAMES)
def test_the_reference_passes(name):
    check_of(name)(getattr(optim, name))


@pytest.mark.parametrize("name", RULE_NAMES)
def test_the_catalogue_plain_implementation_passes(name):
    """The mutants are switches on these implementations: with no switch they must be right."""
    check_of(name)(PLAIN[name])


@pytest.mark.parametrize("name, function", RIGHT_UPDATE_RULES, ids=[f.__name__ for _, f in RIGHT_UPDATE_RULES])
def test_right_answers_written_differently_pass(name, function):
    check_of(name)(function)


CATALOGUE = [(name, mistake) for name, mistakes in UPDATE_RULE_MISTAKES.items() for mistake in mistakes]


@pytest.mark.parametrize(
    "name, mistake", CATALOGUE, ids=[f"{name}-{index}" for index, (name, _) in enumerate(CATALOGUE)]
)
def test_every_catalogued_mistake_is_rejected_and_named(name, mistake):
    message = failure_message(name, mistake.function)
    assert f"This looks like: {mistake.description}." in message, message


@pytest.mark.parametrize(
    "name, function, words", WRONG_UPDATE_RULES,
    ids=[f"{name}-{function.__name__}" for name, function, _ in WRONG_UPDATE_RULES],
)
def test_wrong_answers_written_by_students_are_diagnosed(name, function, words):
    message = failure_message(name, function)
    assert words in message, message


def test_message_format():
    message = failure_message("adam", UPDATE_RULE_MISTAKES["adam"][0].function)
    first = message.splitlines()[0]
    assert re.match(r"adam: after step \d+ of \d+ \(w shape \(.*\), config .*\) next_w differs: values differ", first), first
    assert "expected:" in message and "got:" in message
    assert message.rstrip().endswith("This looks like: no bias correction (divide m by 1 - beta1**t and v by 1 - beta2**t).")


def test_a_later_step_says_that_the_config_was_fed_back():
    message = failure_message("adam", next(m for m in UPDATE_RULE_MISTAKES["adam"] if m.description.startswith("m is not stored")).function)
    assert "config['m']" in message and "has no 'm'" in message
    message = failure_message("adagrad", UPDATE_RULE_MISTAKES["adagrad"][0].function)  # not accumulated
    assert "after step 2 of" in message and "config returned by the previous one" in message


@pytest.mark.parametrize("name", RULE_NAMES)
def test_a_stub_is_reported_as_not_implemented(name):
    assert "not implemented" in failure_message(name, not_implemented)


@pytest.mark.parametrize("name", ["sgd", "sgd_momentum", "adam", "nesterov_lookahead"])
def test_modifying_w_in_place_is_caught(name):
    reference = getattr(optim, name)

    def in_place(w, second, config=None):
        next_w, config = reference(w, second, config)
        w[...] = next_w
        return w, config

    message = failure_message(name, in_place)
    assert "modified its input w in place" in message, message


def test_modifying_dw_in_place_is_caught():
    def in_place(w, dw, config=None):
        next_w, config = optim.adam(w, dw, config)
        dw *= 2
        return next_w, config

    assert "modified its input dw in place" in failure_message("adam", in_place)


def test_the_look_ahead_point_is_checked():
    def gradient_at_w(w, grad_fn, config=None):
        config = dict(config or {})
        lr, mu = config.setdefault("learning_rate", 1e-2), config.setdefault("momentum", 0.9)
        v = mu * config.get("velocity", np.zeros_like(w)) - lr * grad_fn(w)
        config["velocity"] = v
        return w + v, config

    message = failure_message("nesterov_lookahead", gradient_at_w)
    assert "look-ahead point" in message and "grad_fn was called at" in message, message


def test_a_wrong_return_type_is_explained():
    assert "config a dict" in failure_message("sgd", lambda w, dw, config=None: (w - 0.01 * dw, None))
    assert "pair (next_w, config)" in failure_message("sgd", lambda w, dw, config=None: w - 0.01 * dw)
    assert "should be a function" in failure_message("sgd", None)


def test_a_wrong_default_gets_a_hint():
    def sgd_wrong_default(w, dw, config=None):
        config = dict(config or {})
        config.setdefault("learning_rate", 0.1)
        return w - config["learning_rate"] * dw, config

    message = failure_message("sgd", sgd_wrong_default)
    assert "the default learning_rate should be 0.01" in message, message


def test_t_must_be_an_integer_count():
    def adam_t_doubles(w, dw, config=None):
        next_w, config = optim.adam(w, dw, config)
        config["t"] = config["t"] + 0.5
        return next_w, config

    assert "config['t']" in failure_message("adam", adam_t_doubles)


@pytest.mark.parametrize("name, function", [("sgd", sgd_overflow)] + [(n, m.function) for n, m in CATALOGUE[::7]])
def test_nothing_is_printed_to_stderr(name, function, capfd):
    with pytest.raises(GradingFailure):
        check_of(name)(function)
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""


def test_warnings_from_the_student_do_not_escape(recwarn, capfd):
    import warnings

    def noisy(w, dw, config=None):
        warnings.warn("student warning")
        np.log(-np.ones(3))
        return optim.sgd(w, dw, config)

    grading.check_sgd(noisy)
    assert capfd.readouterr().err == ""
    assert len(recwarn) == 0


def test_prints_of_the_student_are_discarded(capfd):
    import sys

    def chatty(w, dw, config=None):
        print("debug", w)
        print("oops", file=sys.stderr)
        return optim.sgd(w, dw, config)

    grading.check_sgd(chatty)
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""


def test_an_exception_names_the_call():
    def crashes_on_none(w, dw, config=None):
        config.setdefault("learning_rate", 1e-2)
        return w - config["learning_rate"] * dw, config

    def crashes_at_step_two(w, dw, config=None):
        if config is not None and "velocity" in config:
            raise KeyError("momentum")
        return optim.sgd_momentum(w, dw, config)

    message = failure_message("sgd", crashes_on_none)
    assert "raised AttributeError" in message and "config None (the defaults)" in message, message
    message = failure_message("sgd_momentum", crashes_at_step_two)
    assert "raised KeyError" in message and "after step 2 of" in message, message


def _float32(value):
    return value.astype(np.float32) if isinstance(value, np.ndarray) else value


@pytest.mark.parametrize("name", RULE_NAMES)
def test_a_rule_computed_entirely_in_float32_passes(name):
    reference = getattr(optim, name)

    def float32_student(w, second, config=None):
        config = None if config is None else {key: _float32(value) for key, value in config.items()}
        next_w, config = reference(_float32(np.asarray(w)), _float32(second), config)
        return _float32(next_w), {key: _float32(value) for key, value in config.items()}

    check_of(name)(float32_student)


DEFAULTS = [(name, key) for name, spec in RULES.items() for key in spec.defaults]


@pytest.mark.parametrize("name, key", DEFAULTS, ids=[f"{n}-{k}" for n, k in DEFAULTS])
def test_every_wrong_default_is_caught_with_a_hint(name, key):
    reference, default = getattr(optim, name), RULES[name].defaults[key]
    wrong_default = default * 1.1 if key in ("learning_rate", "epsilon", "weight_decay") else default - 0.05

    def student(w, second, config=None):
        config = dict(config or {})
        config.setdefault(key, wrong_default)
        return reference(w, second, config)

    message = failure_message(name, student)
    assert f"the default {key} should be {default:g}" in message, message
