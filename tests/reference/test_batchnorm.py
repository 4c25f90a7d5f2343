"""Tests of dlopt_reference.batchnorm: statistics, running averages, numerical gradients."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlopt_reference.batchnorm import batchnorm_backward, batchnorm_backward_alt, batchnorm_forward


def _data(seed=0, N=8, D=5, scale=1.0):
    rng = np.random.default_rng(seed)
    x = rng.normal(loc=rng.normal(size=D) * 3, scale=scale * rng.uniform(0.5, 2.0, size=D), size=(N, D))
    gamma = rng.uniform(0.5, 2.0, size=D)
    beta = rng.normal(size=D)
    return x, gamma, beta


def numerical_gradient(f, x, h=1e-5):
    """Central differences of the scalar function f at x (x is not modified)."""
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[index] += h
        minus[index] -= h
        grad[index] = (f(plus) - f(minus)) / (2 * h)
    return grad


def test_train_output_is_standardized():
    x, _, _ = _data()
    out, _ = batchnorm_forward(x, np.ones(5), np.zeros(5), {"mode": "train"})
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-12)
    # biased variance of x_hat is var / (var + eps), 1 up to eps / var
    np.testing.assert_allclose(out.var(axis=0), x.var(axis=0) / (x.var(axis=0) + 1e-5), rtol=1e-12)
    np.testing.assert_allclose(out.var(axis=0), 1.0, rtol=1e-4)


def test_train_output_has_mean_beta_and_std_gamma():
    x, gamma, beta = _data(1)
    out, _ = batchnorm_forward(x, gamma, beta, {"mode": "train", "eps": 1e-12})
    np.testing.assert_allclose(out.mean(axis=0), beta, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=0), gamma, rtol=1e-9)


def test_running_averages_written_back_cs231n_convention():
    x, gamma, beta = _data(2)
    running_mean, running_var = np.full(5, 0.5), np.full(5, 2.0)
    bn_param = {"mode": "train", "momentum": 0.8, "running_mean": running_mean, "running_var": running_var}
    _, cache = batchnorm_forward(x, gamma, beta, bn_param)
    # running = momentum * running + (1 - momentum) * batch, with the biased (ddof=0) batch variance
    expected_mean = 0.8 * 0.5 + 0.2 * x.mean(axis=0)
    expected_var = 0.8 * 2.0 + 0.2 * x.var(axis=0, ddof=0)
    np.testing.assert_allclose(bn_param["running_mean"], expected_mean, rtol=1e-14)
    np.testing.assert_allclose(bn_param["running_var"], expected_var, rtol=1e-14)
    np.testing.assert_allclose(cache["running_mean"], expected_mean, rtol=1e-14)
    np.testing.assert_allclose(cache["running_var"], expected_var, rtol=1e-14)
    # the caller's arrays were not written into: new arrays were stored
    np.testing.assert_array_equal(running_mean, 0.5)
    np.testing.assert_array_equal(running_var, 2.0)


def test_running_averages_default_to_zeros_and_converge():
    x, gamma, beta = _data(3)
    bn_param = {"mode": "train"}
    batchnorm_forward(x, gamma, beta, bn_param)
    # from zeros with momentum 0.9: 0.1 * batch statistics
    np.testing.assert_allclose(bn_param["running_mean"], 0.1 * x.mean(axis=0), rtol=1e-14)
    for _ in range(400):
        batchnorm_forward(x, gamma, beta, bn_param)
    # after n calls: (1 - 0.9^n) * batch statistics
    np.testing.assert_allclose(bn_param["running_mean"], x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(bn_param["running_var"], x.var(axis=0), rtol=1e-12)


def test_test_mode_uses_running_statistics_and_leaves_them():
    x, gamma, beta = _data(4)
    running_mean, running_var = np.linspace(-1, 1, 5), np.linspace(0.5, 2, 5)
    bn_param = {"mode": "test", "eps": 1e-3, "running_mean": running_mean, "running_var": running_var}
    out, _ = batchnorm_forward(x, gamma, beta, bn_param)
    np.testing.assert_allclose(out, gamma * (x - running_mean) / np.sqrt(running_var + 1e-3) + beta, rtol=1e-13)
    np.testing.assert_array_equal(bn_param["running_mean"], running_mean)
    np.testing.assert_array_equal(bn_param["running_var"], running_var)
    # absent running statistics are zeros: x / sqrt(eps)
    out, _ = batchnorm_forward(x, np.ones(5), np.zeros(5), {"mode": "test"})
    np.testing.assert_allclose(out, x / np.sqrt(1e-5), rtol=1e-13)


def test_forward_does_not_modify_arrays():
    x, gamma, beta = _data(5)
    bn_param = {"mode": "train", "running_mean": np.ones(5), "running_var": np.ones(5)}
    saved = copy.deepcopy((x, gamma, beta, bn_param))
    batchnorm_forward(x, gamma, beta, bn_param)
    for before, after in zip(saved[:3], (x, gamma, beta)):
        np.testing.assert_array_equal(before, after)
    np.testing.assert_array_equal(saved[3]["running_mean"], 1.0)


@pytest.mark.parametrize("N, D, scale", [(4, 3, 1.0), (10, 5, 1.0), (2, 1, 1.0), (6, 4, 1e-2)])
def test_backward_matches_numerical_gradient(N, D, scale):
    x, gamma, beta = _data(N + D, N, D, scale)
    dout = np.random.default_rng(99).normal(size=(N, D))

    def loss(x_=x, gamma_=gamma, beta_=beta):
        out, _ = batchnorm_forward(x_, gamma_, beta_, {"mode": "train"})
        return float(np.sum(out * dout))

    _, cache = batchnorm_forward(x, gamma, beta, {"mode": "train"})
    for backward in (batchnorm_backward, batchnorm_backward_alt):
        dx, dgamma, dbeta = backward(dout, cache)
        h = 1e-5 * scale
        np.testing.assert_allclose(dx, numerical_gradient(lambda v: loss(x_=v), x, h), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(dgamma, numerical_gradient(lambda v: loss(gamma_=v), gamma), rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(dbeta, numerical_gradient(lambda v: loss(beta_=v), beta), rtol=1e-5, atol=1e-7)


def test_backward_in_test_mode_matches_numerical_gradient():
    x, gamma, beta = _data(7, 5, 3)
    dout = np.random.default_rng(8).normal(size=(5, 3))
    bn_param = {"mode": "test", "running_mean": np.array([0.1, -0.2, 0.3]), "running_var": np.array([1.0, 2.0, 0.5])}

    def loss(v):
        return float(np.sum(batchnorm_forward(v, gamma, beta, dict(bn_param))[0] * dout))

    _, cache = batchnorm_forward(x, gamma, beta, dict(bn_param))
    for backward in (batchnorm_backward, batchnorm_backward_alt):
        dx, _, _ = backward(dout, cache)
        np.testing.assert_allclose(dx, numerical_gradient(loss, x), rtol=1e-6, atol=1e-8)


@settings(deadline=None, max_examples=25)
@given(N=st.integers(1, 12), D=st.integers(1, 6), seed=st.integers(0, 2 ** 16), log_scale=st.floats(-3, 3))
def test_backward_and_alt_agree(N, D, seed, log_scale):
    x, gamma, beta = _data(seed, N, D, 10.0 ** log_scale)
    dout = np.random.default_rng(seed + 1).normal(size=(N, D))
    _, cache = batchnorm_forward(x, gamma, beta, {"mode": "train"})
    staged = batchnorm_backward(dout, cache)
    closed = batchnorm_backward_alt(dout, cache)
    for a, b in zip(staged, closed):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9 * np.max(np.abs(a), initial=1.0))
    # dx sums to zero over the batch (the output is invariant to shifting a feature over the batch)
    np.testing.assert_allclose(staged[0].sum(axis=0), 0.0, atol=1e-8 * np.max(np.abs(staged[0]), initial=1.0) * N)


def test_validation():
    x, gamma, beta = _data()
    with pytest.raises(ValueError, match="invalid batchnorm mode 'eval'"):
        batchnorm_forward(x, gamma, beta, {"mode": "eval"})
    with pytest.raises(ValueError, match="bn_param must contain 'mode'"):
        batchnorm_forward(x, gamma, beta, {})
    with pytest.raises(TypeError, match="bn_param must be a dict"):
        batchnorm_forward(x, gamma, beta, None)
    with pytest.raises(ValueError, match=r"gamma must have shape \(5,\)"):
        batchnorm_forward(x, gamma[:3], beta, {"mode": "train"})
    with pytest.raises(ValueError, match=r"x must have shape \(N, D\)"):
        batchnorm_forward(x[0], gamma, beta, {"mode": "train"})
    with pytest.raises(ValueError, match=r"bn_param\['eps'\] must be > 0"):
        batchnorm_forward(x, gamma, beta, {"mode": "train", "eps": 0.0})
    with pytest.raises(ValueError, match=r"bn_param\['running_mean'\] must have shape \(5,\)"):
        batchnorm_forward(x, gamma, beta, {"mode": "train", "running_mean": np.zeros(4)})
    with pytest.raises(ValueError, match="x contains NaN"):
        batchnorm_forward(np.full((2, 5), np.nan), gamma, beta, {"mode": "train"})
    _, cache = batchnorm_forward(x, gamma, beta, {"mode": "train"})
    with pytest.raises(ValueError, match="x and dout must have the same shape"):
        batchnorm_backward(np.ones((3, 5)), cache)
    with pytest.raises(TypeError, match="cache must be the dict returned by batchnorm_forward"):
        batchnorm_backward_alt(np.ones_like(x), (x, gamma))
