"""Every number a visible check expects is confirmed by right answers written with algebra of their own.

The visible checks (``dlopt/checks``) compare a student's result with values worked out by hand on small
inputs (``[0.942, -2.029]`` after two momentum steps, the rates of a step schedule, ...). Those values are
not pasted from the reference: here each comparison a visible check makes (``expect_close``, and
``expect_rates`` for the schedules) is recorded while the right answers of
``tests/grading/ch1_4_alternatives.py`` and ``ch5_9_alternatives.py`` run through it. Those answers are
written independently of the reference and of the checks (loops for vectorised code, other orderings of
the same algebra, closed forms). In float64, at least one of them must reproduce each expected value to
``1e-12`` relative, a million times tighter than the checks' own tolerance (``1e-6``), so a hand-worked
value that is merely close would be caught.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

import dlopt.checks as checks

HERE = Path(__file__).resolve().parent
RECORDERS = ("expect_close", "expect_rates")
RTOL, ATOL = 1e-12, 1e-15
#: Expected values that are exact only without the epsilon of a denominator (or of a variance), as the
#: check says in its text ("the first step has length learning_rate"): (check, start of the comparison's
#: description) -> the tolerance that epsilon's effect needs, and why. Central differences computed by the
#: check itself (layer norm's dgamma) are exact only to their truncation error.
APPROXIMATE = {
    ("adagrad", "adagrad(w=[1, 1], dw=[3, -4]"): (1e-8, "epsilon = 1e-8 beside sqrt(cache) = 3 and 4"),
    ("adagrad", "the second step is learning_rate / sqrt(2)"): (1e-8, "epsilon = 1e-8 beside sqrt(cache)"),
    ("adamw", "adamw(w=[2, -4], dw=[1, 1]"): (1e-8, "epsilon = 1e-8 beside sqrt(v_hat) = 1"),
    ("rmsprop", "the first step, w - 0.1 * dw / sqrt(cache)"): (1e-7, "epsilon = 1e-8 beside sqrt(cache) ~ 0.16"),
    ("rmsprop", "the second step: a zero gradient"): (1e-7, "epsilon = 1e-8 beside sqrt(cache) ~ 0.35"),
    ("rmsprop", "with the defaults the first step"): (1e-7, "epsilon = 1e-8 beside sqrt(0.01 dw^2) = 0.1"),
    ("batchnorm_forward", "train mode, x = [[1, 10], [3, 30]]"): (1e-5, "eps = 1e-5 added to the variance 1"),
    ("batchnorm_forward", "train mode on 200 random examples"): (1e-6, "eps = 1e-5 added to variances ~ 10-100"),
    ("layernorm_backward", "dgamma, gradients of L = sum(out * dout)"): (1e-8, "central differences, step 1e-6"),
}


def _visible_module():
    """The right answers and the runner of ``test_visible_checks_vs_catalogues.py`` (not collected twice)."""
    if "visible_checks_vs_catalogues" in sys.modules:
        return sys.modules["visible_checks_vs_catalogues"]
    spec = importlib.util.spec_from_file_location("visible_checks_vs_catalogues",
                                                  HERE / "test_visible_checks_vs_catalogues.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["visible_checks_vs_catalogues"] = module
    spec.loader.exec_module(module)
    return module


def _float64(value) -> np.ndarray | None:
    """``value`` as a float64 array when it is numbers computed in float64 (else None: not comparable
    to 1e-12, e.g. a float32 right answer, or a value that is no array of numbers)."""
    try:
        array = np.asarray(value)
    except Exception:  # noqa: BLE001
        return None
    if array.dtype != np.float64 and not (array.dtype.kind in "iub" or array.dtype == object):
        return None
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None


@pytest.fixture(scope="module")
def comparisons(monkeypatch_module):
    """``{(check name, what): [(expected, got, answer id), ...]}`` over every right answer."""
    visible = _visible_module()
    records: dict = defaultdict(list)
    current = {"id": None}
    for module_name in [name for name in dir(checks) if name.startswith("_chapter")]:
        module = importlib.import_module(f"dlopt.checks.{module_name}")
        for recorder in RECORDERS:
            original = getattr(module, recorder, None)
            if original is None:
                continue

            def recording(name, what, expected, got, *args, _original=original, **kwargs):
                records[(name, what)].append((expected, got, current["id"]))
                return _original(name, what, expected, got, *args, **kwargs)

            monkeypatch_module.setattr(module, recorder, recording)
    for answer in visible.RIGHT:
        current["id"] = answer.id
        visible.visible_verdict(answer)
    return records


@pytest.fixture(scope="module")
def monkeypatch_module():
    patcher = pytest.MonkeyPatch()
    yield patcher
    patcher.undo()


def test_the_visible_checks_compare_many_values(comparisons):
    assert len(comparisons) >= 60, sorted(comparisons)
    names = {name for name, _ in comparisons}
    assert len(names) >= 25, sorted(names)


def _approximate(name: str, what: str) -> float | None:
    for (check, start), (rtol, _) in APPROXIMATE.items():
        if name == check and what.startswith(start):
            return rtol
    return None


def _confirmed(seen, rtol: float) -> bool:
    for expected, got, _ in seen:
        expected_array, got_array = _float64(expected), _float64(got)
        if expected_array is None or got_array is None or expected_array.shape != got_array.shape:
            continue
        if np.allclose(got_array, expected_array, rtol=rtol, atol=ATOL):
            return True
    return False


def test_every_expected_value_is_reproduced_by_an_independent_right_answer(comparisons):
    unconfirmed = []
    for (name, what), seen in sorted(comparisons.items(), key=lambda item: item[0]):
        if not _confirmed(seen, _approximate(name, what) or RTOL):
            closest = [(np.asarray(expected).tolist(), np.asarray(got).tolist(), who) for expected, got, who in seen[:2]]
            unconfirmed.append(f"{name}: {what}: {closest}")
    assert not unconfirmed, "expected values no right answer reproduces to 1e-12:\n" + "\n".join(unconfirmed)


def test_the_approximations_are_needed_and_each_is_used(comparisons):
    """Each listed approximation matches comparisons, one of them not exact to 1e-12 (else it is not needed)."""
    for (check, start), (rtol, reason) in APPROXIMATE.items():
        matching = [seen for (name, what), seen in comparisons.items() if name == check and what.startswith(start)]
        assert matching, f"no comparison of {check} starts with {start!r}"
        assert not all(_confirmed(seen, RTOL) for seen in matching), f"{check}: {start}: exact, not {reason}"
