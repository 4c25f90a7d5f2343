"""Tests of dlopt_reference.ensembles against closed forms."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlopt_reference.ensembles import ema_update, ensemble_predict, polyak_average


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_ensemble_predict_hand_computed():
    probs = [np.array([[0.9, 0.1], [0.2, 0.8]]), np.array([[0.5, 0.5], [0.4, 0.6]]), np.array([[0.1, 0.9], [0.0, 1.0]])]
    # column means: (0.9 + 0.5 + 0.1) / 3 = 0.5, (0.2 + 0.4 + 0.0) / 3 = 0.2
    np.testing.assert_allclose(ensemble_predict(probs), [[0.5, 0.5], [0.2, 0.8]], rtol=1e-15)
    np.testing.assert_allclose(ensemble_predict(np.stack(probs)), [[0.5, 0.5], [0.2, 0.8]], rtol=1e-15)


@settings(deadline=None, max_examples=25)
@given(M=st.integers(1, 6), N=st.integers(1, 5), C=st.integers(2, 5), seed=st.integers(0, 2 ** 16))
def test_ensemble_predict_rows_are_distributions(M, N, C, seed):
    probs = [_softmax(np.random.default_rng(seed + m).normal(size=(N, C)) * 3) for m in range(M)]
    saved = copy.deepcopy(probs)
    mean = ensemble_predict(probs)
    assert mean.shape == (N, C) and mean.dtype == np.float64
    np.testing.assert_allclose(mean.sum(axis=1), 1.0, rtol=1e-12)
    assert np.all(mean >= np.min(probs, axis=0) - 1e-15) and np.all(mean <= np.max(probs, axis=0) + 1e-15)
    for p, q in zip(probs, saved):
        np.testing.assert_array_equal(p, q)


def test_single_model_ensemble_is_the_model():
    p = _softmax(np.random.default_rng(0).normal(size=(4, 3)))
    np.testing.assert_array_equal(ensemble_predict([p]), p)


def test_polyak_average_of_arithmetic_sequence():
    # iterates w_t = w_0 + t d, t = 0..T-1: the mean is w_0 + (T - 1)/2 d
    w0, d, T = np.array([1.0, -2.0]), np.array([0.5, 0.25]), 9
    history = [w0 + t * d for t in range(T)]
    np.testing.assert_allclose(polyak_average(history), w0 + 4 * d, rtol=1e-15)


def test_polyak_average_equals_running_mean():
    """The incremental mean a_t = a_{t-1} + (w_t - a_{t-1}) / t gives the same average."""
    history = list(np.random.default_rng(1).normal(size=(20, 3, 2)))
    running = np.zeros((3, 2))
    for t, w in enumerate(history, start=1):
        running = running + (w - running) / t
    np.testing.assert_allclose(polyak_average(history), running, rtol=1e-12, atol=1e-15)


def test_ema_update_closed_form():
    """Constant params p from a_0: a_n = d^n a_0 + (1 - d^n) p."""
    a0, p, d = np.array([4.0, -1.0]), np.array([1.0, 1.0]), 0.9
    average = a0
    for _ in range(25):
        average = ema_update(average, p, d)
    np.testing.assert_allclose(average, d ** 25 * a0 + (1 - d ** 25) * p, rtol=1e-13)
    # hand: 0.75 * 1 + 0.25 * 3 = 1.5; decay 0 copies the params, decay 1 keeps the average
    np.testing.assert_allclose(ema_update(np.array([1.0]), np.array([3.0]), decay=0.75), [1.5])
    np.testing.assert_array_equal(ema_update(a0, p, 0.0), p)
    np.testing.assert_array_equal(ema_update(a0, p, 1.0), a0)
    # the default decay is 0.999
    np.testing.assert_allclose(ema_update(np.array([0.0]), np.array([1.0])), [0.001], rtol=1e-12)


def test_ema_update_does_not_modify_inputs():
    average, params = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    new = ema_update(average, params, 0.5)
    assert new is not average
    np.testing.assert_array_equal(average, [1.0, 2.0])
    np.testing.assert_array_equal(params, [3.0, 4.0])


def test_validation():
    with pytest.raises(ValueError, match="probs must not be empty"):
        ensemble_predict([])
    with pytest.raises(ValueError, match=r"all arrays in probs must have the same shape, got \(2, 3\) for probs\[0\]"):
        ensemble_predict([np.ones((2, 3)) / 3, np.ones((2, 2)) / 2])
    with pytest.raises(ValueError, match="probs contains NaN"):
        ensemble_predict(np.full((2, 2, 2), np.nan))
    with pytest.raises(TypeError, match="probs must be a list of arrays"):
        ensemble_predict(None)
    with pytest.raises(ValueError, match="params_history must not be empty"):
        polyak_average([])
    with pytest.raises(ValueError, match="params_history must hold at least one array"):
        polyak_average(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="average and params must have the same shape"):
        ema_update(np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match=r"decay must be in \[0, 1\]"):
        ema_update(np.ones(2), np.ones(2), 1.5)
