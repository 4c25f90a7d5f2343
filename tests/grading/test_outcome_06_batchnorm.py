"""The outcome task of chapter 6, ``fold_batchnorm``: its reference, hidden grader and visible check.

1. the reference against independent oracles: the affine map read off by probing the layer followed
   by test-mode batch normalization (its value at 0 and along each unit vector), and on random inputs;
2. the hidden check gives full points to the reference and to right answers written differently (a
   diagonal matrix, einsum, a loop over columns, probing the composed map);
3. wrong answers lose points and are named (eps forgotten, no square root, beta or the running mean
   left out of the bias, the running statistics ignored, statistics of W, rows scaled); a wrong default
   of eps loses part of the points (only the layers that leave eps at its default);
4. hostile returns (NaN, inf, wrong shapes, wrong types, a crash, inputs modified in place) score
   nothing for that layer and never crash the grader; the score is the same on every run;
5. the visible check passes the right answers and stops the wrong ones.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlopt.checks import CheckFailure, check
from dlopt_reference.batchnorm import batchnorm_forward, fold_batchnorm
from dlopt_reference.grading import check_fold_batchnorm
from dlopt_reference.grading import fold_batchnorm as g_fold
from dlopt_reference.grading._report import GradingFailure
from outcome_checks import graded, says

POINTS = 7


def grade(function, points=POINTS) -> tuple[float, str]:
    """(points, message) of the hidden check (see ``outcome_checks.graded``)."""
    return graded(check_fold_batchnorm, function, points)


# --------------------------------------------------------------------------------------------
# 1. the reference against oracles


def _test_mode(z, gamma, beta, mean, var, eps):
    out, _ = batchnorm_forward(z, gamma, beta, {"mode": "test", "eps": eps, "running_mean": mean, "running_var": var})
    return out


def _probe_fold(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    """The affine map x -> BN(x @ W + b) read off by evaluating it at 0 and at each unit vector."""
    D_in = W.shape[0]
    probes = np.vstack([np.zeros(D_in), np.eye(D_in)])
    values = _test_mode(probes @ W + b, gamma, beta, running_mean, running_var, eps)
    return values[1:] - values[0], values[0].copy()


@pytest.mark.parametrize("seed", range(6))
def test_the_reference_equals_the_probed_affine_map_and_batchnorm_on_inputs(seed):
    rng = np.random.default_rng(seed)
    D_in, D = int(rng.integers(1, 8)), int(rng.integers(1, 8))
    W, b = rng.normal(size=(D_in, D)), rng.normal(size=D)
    gamma, beta = rng.normal(size=D), rng.normal(size=D)
    mean, var = rng.normal(size=D), np.concatenate([[1e-8], rng.uniform(0.1, 3.0, size=D - 1)])
    eps = float(rng.choice([1e-5, 1e-3]))
    W_f, b_f = fold_batchnorm(W, b, gamma, beta, mean, var, eps=eps)
    W_p, b_p = _probe_fold(W, b, gamma, beta, mean, var, eps)
    assert np.allclose(W_f, W_p, rtol=1e-9, atol=1e-12) and np.allclose(b_f, b_p, rtol=1e-9, atol=1e-12)
    x = rng.normal(size=(30, D_in))
    assert np.allclose(x @ W_f + b_f, _test_mode(x @ W + b, gamma, beta, mean, var, eps), rtol=1e-9, atol=1e-9)


def test_the_reference_on_the_docstring_example_by_hand():
    # z = 2x + 1, running mean 3, variance 4, eps 0: y = (2x + 1 - 3) / 2 = x - 1
    W_f, b_f = fold_batchnorm(np.array([[2.0]]), np.array([1.0]), np.ones(1), np.zeros(1), np.array([3.0]),
                              np.array([4.0]), eps=0.0)
    assert W_f.tolist() == [[1.0]] and b_f.tolist() == [-1.0]


def test_the_reference_returns_new_arrays_and_leaves_its_inputs_alone():
    W, b = np.ones((2, 3)), np.zeros(3)
    W_f, b_f = fold_batchnorm(W, b, np.ones(3), np.ones(3), np.zeros(3), np.ones(3))
    assert W_f is not W and b_f is not b and np.array_equal(W, np.ones((2, 3))) and np.array_equal(b, np.zeros(3))


# --------------------------------------------------------------------------------------------
# 2. right answers written differently


def fold_diagonal(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    S = np.diag(gamma / np.sqrt(running_var + eps))
    return W @ S, (b - running_mean) @ S + beta


def fold_einsum(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    inv_std = 1.0 / np.sqrt(running_var + eps)
    return np.einsum("ij,j->ij", W, gamma * inv_std), beta + gamma * inv_std * (b - running_mean)


def fold_column_loop(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    W_f, b_f = np.empty_like(W, dtype=float), np.empty(len(b))
    for j in range(W.shape[1]):
        a = gamma[j] / (running_var[j] + eps) ** 0.5
        W_f[:, j] = a * W[:, j]
        b_f[j] = beta[j] - a * running_mean[j] + a * b[j]
    return W_f, b_f


def fold_by_probing(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    """Evaluate test-mode batch normalization of the layer at 0 and at each unit vector: an affine map is
    determined by its value at 0 and its increments along a basis."""
    def layer_then_bn(x):
        return gamma * (x @ W + b - running_mean) / np.sqrt(running_var + eps) + beta

    at_zero = layer_then_bn(np.zeros((1, W.shape[0])))[0]
    return layer_then_bn(np.eye(W.shape[0])) - at_zero, at_zero


def fold_ufuncs(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    """The same factors through numpy ufuncs (np.reciprocal, np.multiply with an explicit new axis)."""
    scale = np.multiply(gamma, np.reciprocal(np.sqrt(np.add(running_var, eps))))
    return np.multiply(W, scale[np.newaxis, :]), np.add(np.multiply(np.subtract(b, running_mean), scale), beta)


RIGHT = [fold_batchnorm, fold_diagonal, fold_einsum, fold_column_loop, fold_by_probing, fold_ufuncs]


@pytest.mark.parametrize("function", RIGHT, ids=lambda f: f.__name__)
def test_right_answers_get_full_points(function):
    earned, text = grade(function)
    assert earned == POINTS, text
    assert "solved 12 of 12" in text


@pytest.mark.parametrize("function", RIGHT, ids=lambda f: f.__name__)
def test_right_answers_pass_the_visible_check(function, capsys):
    check("fold_batchnorm", function)
    assert capsys.readouterr().out.startswith("✓ fold_batchnorm")


def test_the_score_is_the_same_on_every_run():
    def slightly_wrong(W, b, gamma, beta, running_mean, running_var, eps=1e-3):   # a wrong default eps
        return fold_batchnorm(W, b, gamma, beta, running_mean, running_var, eps)

    first, second = grade(slightly_wrong), grade(slightly_wrong)
    assert first == second
    assert grade(fold_batchnorm) == grade(fold_batchnorm)


# --------------------------------------------------------------------------------------------
# 3. wrong answers


def _with_scale_and_bias(scale, bias):
    def fold(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
        s = scale(gamma, running_var, eps)
        return W * s, bias(b, beta, running_mean, s)
    return fold


def _right_scale(gamma, var, eps):
    return gamma / np.sqrt(var + eps)


def _right_bias(b, beta, mean, s):
    return (b - mean) * s + beta


def fold_batch_statistics_of_w(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    """The student has no inputs here; the nearest 'batch statistics' at hand are those of W's columns."""
    mean, var = W.mean(axis=0), W.var(axis=0)
    s = gamma / np.sqrt(var + eps)
    return W * s, (b - mean) * s + beta


def fold_rows(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    s = gamma / np.sqrt(running_var + eps)
    return (W.T * s).T if W.shape[0] == W.shape[1] else W * s[: W.shape[0], None], (b - running_mean) * s + beta


WRONG = [
    ("eps forgotten", _with_scale_and_bias(lambda g, v, e: g / np.sqrt(v), _right_bias)),
    ("not square-rooted", _with_scale_and_bias(lambda g, v, e: g / (v + e), _right_bias)),
    ("eps outside the square root", _with_scale_and_bias(lambda g, v, e: g / (np.sqrt(v) + e), _right_bias)),
    ("beta not folded into the bias", _with_scale_and_bias(_right_scale, lambda b, beta, m, s: (b - m) * s)),
    ("running mean not folded into the bias", _with_scale_and_bias(_right_scale, lambda b, beta, m, s: b * s + beta)),
    ("bias b is not scaled", _with_scale_and_bias(_right_scale, lambda b, beta, m, s: b - m * s + beta)),
    ("gamma not applied", _with_scale_and_bias(lambda g, v, e: 1 / np.sqrt(v + e), _right_bias)),
    ("running statistics are ignored",
     _with_scale_and_bias(lambda g, v, e: g / np.sqrt(1 + e), lambda b, beta, m, s: b * s + beta)),
    ("statistics computed from W instead of the running averages", fold_batch_statistics_of_w),
]


@pytest.mark.parametrize("diagnosis, function", WRONG, ids=[d for d, _ in WRONG])
def test_wrong_answers_score_zero_and_are_named(diagnosis, function):
    earned, text = grade(function)
    assert earned == 0, text
    assert says(text, "This looks like") and says(text, diagnosis), text


def test_rows_scaled_instead_of_columns_is_named_on_the_square_layers():
    earned, text = grade(fold_rows)
    assert earned < POINTS
    assert says(text, "rows of W are scaled instead of its columns"), text


def test_a_wrong_default_eps_loses_the_layers_that_use_the_default():
    def wrong_default(W, b, gamma, beta, running_mean, running_var, eps=1e-3):
        return fold_batchnorm(W, b, gamma, beta, running_mean, running_var, eps)

    defaults = sum(instance.data.eps is None for instance in g_fold.fold_instances())
    earned, text = grade(wrong_default)
    assert 0 < defaults < 12
    assert earned == pytest.approx(np.floor(100 * POINTS * (12 - defaults) / 12) / 100)
    assert "eps left at its default" in text


def test_a_failure_says_which_feature_and_whether_weights_or_bias():
    _, text = grade(WRONG[0][1])   # eps forgotten: the weights of a tiny-variance feature are too large
    assert "times what batch normalization's scaling needs" in text and "running_var" in text
    _, text = grade(WRONG[3][1])   # beta missing: weights right, bias off
    assert "its weights are right, its bias is off by" in text


def test_the_hidden_layers_are_fixed_and_each_has_a_feature_where_eps_matters():
    first, second = g_fold.fold_instances(), g_fold.fold_instances()
    assert len(first) == 12
    for a, b in zip(first, second):
        assert a.label == b.label and np.array_equal(a.data.W, b.data.W) and np.array_equal(a.data.x, b.data.x)
        assert np.any(a.data.running_var < 1e-5)
    assert any(i.data.W.shape[0] == i.data.W.shape[1] for i in first)
    assert {i.data.eps is None for i in first} == {True, False}


# --------------------------------------------------------------------------------------------
# 4. hostile answers


def _returning(value):
    def fold(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
        return value(W, b) if callable(value) else value
    return fold


def _modifies_w(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    s = gamma / np.sqrt(running_var + eps)
    W *= s
    return W.copy(), (b - running_mean) * s + beta


def _raises(*args, **kwargs):
    raise ZeroDivisionError("oops")


HOSTILE = [
    ("nan", _returning(lambda W, b: (np.full(W.shape, np.nan), b)), "NaN or infinite"),
    ("inf", _returning(lambda W, b: (W, np.full(b.shape, np.inf))), "NaN or infinite"),
    ("huge", _returning(lambda W, b: (W * 1e300, b)), "differ"),
    ("transposed", _returning(lambda W, b: (W.T.copy(), b)), "shape"),
    ("one array", _returning(lambda W, b: W), "pair"),
    ("None", _returning(None), "pair"),
    ("strings", _returning(("a", "b")), "not an array of numbers"),
    ("objects", _returning(lambda W, b: (np.array([object()] * W.size), b)), "not an array of numbers"),
    ("raises", _raises, "ZeroDivisionError"),
    ("in place", _modifies_w, "modified its input W in place"),
]


@pytest.mark.parametrize("name, function, words", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_answers_score_zero_without_crashing_the_grader(name, function, words, capsys):
    with pytest.raises(GradingFailure) as failure:
        check_fold_batchnorm(function, points=POINTS)
    assert words in str(failure.value), str(failure.value)
    assert capsys.readouterr().err == ""


def test_a_stub_is_reported_as_not_implemented():
    def stub(*args, **kwargs):
        raise NotImplementedError()

    with pytest.raises(GradingFailure, match="not implemented yet"):
        check_fold_batchnorm(stub, points=POINTS)


def test_not_a_function():
    with pytest.raises(GradingFailure, match="should be a function"):
        check_fold_batchnorm(None, points=POINTS)


# --------------------------------------------------------------------------------------------
# 5. the visible check stops wrong answers


@pytest.mark.parametrize("diagnosis, function", WRONG, ids=[d for d, _ in WRONG])
def test_wrong_answers_fail_the_visible_check(diagnosis, function):
    with pytest.raises(CheckFailure):
        check("fold_batchnorm", function)


@pytest.mark.parametrize("name, function, words", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_answers_fail_the_visible_check(name, function, words):
    with pytest.raises(CheckFailure):
        check("fold_batchnorm", function)


def test_the_visible_hint_names_eps_for_a_tiny_variance():
    with pytest.raises(CheckFailure, match=r"far below eps"):
        check("fold_batchnorm", WRONG[0][1])
    with pytest.raises(CheckFailure, match=r"misses exactly beta"):
        check("fold_batchnorm", WRONG[3][1])
