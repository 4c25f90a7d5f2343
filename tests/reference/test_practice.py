"""Tests of dlopt_reference.practice against independent derivations.

warmup_cosine against its closed form written per phase and against the TF1 cosine_decay of chapter 5
after the warmup; clip_by_global_norm against the norm of the concatenated vector; layer normalization
against batch normalization of the transpose (forward) and central differences (backward);
top_hessian_eigenvalue against numpy's eigvalsh of a dense Hessian, also of the course MLP.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlopt.mlp import MLP
from dlopt_reference.batchnorm import batchnorm_backward_alt, batchnorm_forward
from dlopt_reference.practice import (clip_by_global_norm, hessian_vector_product, layernorm_backward,
                                      layernorm_forward, top_hessian_eigenvalue, warmup_cosine)
from dlopt_reference.schedules import cosine_decay


# --- warmup_cosine ----------------------------------------------------------------------------

@pytest.mark.parametrize("lr, warmup, total, alpha", [(0.1, 10, 100, 0.0), (1.0, 0, 7, 0.1), (3e-4, 5, 6, 0.5),
                                                      (2.0, 1, 50, 0.0)])
def test_warmup_cosine_matches_its_phases(lr, warmup, total, alpha):
    for t in range(total + 5):
        got = warmup_cosine(lr, t, warmup, total, alpha)
        if t < warmup:
            expected = lr * t / warmup                                    # a straight line from 0
        else:
            # after the warmup: TF's cosine_decay restarted at step T_w, over T - T_w steps
            expected = cosine_decay(lr, t - warmup, total - warmup, alpha)
        assert got == pytest.approx(expected, rel=1e-12, abs=1e-15), t


def test_warmup_cosine_is_continuous_and_peaks_at_the_end_of_warmup():
    values = np.array([warmup_cosine(1.0, t, 20, 200) for t in range(201)])
    assert values.argmax() == 20 and values[20] == 1.0
    assert np.max(np.abs(np.diff(values))) <= 1 / 20 + 1e-12
    assert values[0] == 0.0 and values[-1] == pytest.approx(0.0, abs=1e-15)
    # the cosine half: symmetric about its midpoint, value (1 + alpha)/2 there
    assert warmup_cosine(1.0, 110, 20, 200) == pytest.approx(0.5)


@pytest.mark.parametrize("bad", [dict(total_steps=5, warmup_steps=5), dict(global_step=-1), dict(learning_rate=0.0)])
def test_warmup_cosine_rejects_bad_arguments(bad):
    arguments = dict(learning_rate=1.0, global_step=0, warmup_steps=5, total_steps=10) | bad
    with pytest.raises(ValueError):
        warmup_cosine(**arguments)


# --- clip_by_global_norm ----------------------------------------------------------------------

def test_clip_by_global_norm_is_the_clipped_concatenation():
    rng = np.random.default_rng(0)
    for max_norm in (0.1, 1.0, 5.0, 100.0):
        grads = [rng.normal(size=(3, 4)), rng.normal(size=5), np.array(2.0)]
        before = [g.copy() for g in grads]
        flat = np.concatenate([g.ravel() for g in grads])
        clipped, norm = clip_by_global_norm(grads, max_norm)
        assert norm == pytest.approx(np.linalg.norm(flat), rel=1e-14)
        expected = flat if np.linalg.norm(flat) <= max_norm else flat / np.linalg.norm(flat) * max_norm
        np.testing.assert_allclose(np.concatenate([c.ravel() for c in clipped]), expected, rtol=1e-13)
        assert [c.shape for c in clipped] == [g.shape for g in grads]
        assert all(np.array_equal(b, g) for b, g in zip(before, grads))
        assert np.linalg.norm(np.concatenate([c.ravel() for c in clipped])) <= max_norm * (1 + 1e-12)


def test_clip_by_global_norm_keeps_the_direction_clip_by_value_does_not():
    grads = [np.array([10.0, 0.1]), np.array([-3.0])]
    clipped, _ = clip_by_global_norm(grads, 1.0)
    flat, clipped_flat = np.concatenate(grads), np.concatenate(clipped)
    cosine = flat @ clipped_flat / (np.linalg.norm(flat) * np.linalg.norm(clipped_flat))
    assert cosine == pytest.approx(1.0, abs=1e-14)
    by_value = np.clip(flat, -1.0, 1.0)
    assert by_value @ flat / (np.linalg.norm(by_value) * np.linalg.norm(flat)) < 0.9


# --- layer normalization ----------------------------------------------------------------------

def test_layernorm_is_batchnorm_of_the_transpose():
    rng = np.random.default_rng(1)
    x = rng.normal(2.0, 3.0, size=(5, 7))
    out, _ = layernorm_forward(x, np.ones(7), np.zeros(7), {"eps": 1e-5})
    bn_out, bn_cache = batchnorm_forward(x.T, np.ones(5), np.zeros(5), {"mode": "train", "eps": 1e-5})
    np.testing.assert_allclose(out, bn_out.T, rtol=1e-12, atol=1e-14)
    # with gamma = 1 the backward passes agree too (gamma varies along different axes otherwise)
    dout = rng.normal(size=(5, 7))
    _, cache = layernorm_forward(x, np.ones(7), np.zeros(7), {"eps": 1e-5})
    dx, _, _ = layernorm_backward(dout, cache)
    np.testing.assert_allclose(dx, batchnorm_backward_alt(dout.T, bn_cache)[0].T, rtol=1e-10, atol=1e-13)


def _central_differences(f, x, h=1e-6):
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = h
        grad[index] = (f(x + step) - f(x - step)) / (2 * h)
    return grad


@pytest.mark.parametrize("N, D, scale", [(4, 6, 1.0), (3, 2, 1.0), (2, 5, 3e-3)])
def test_layernorm_backward_matches_central_differences(N, D, scale):
    rng = np.random.default_rng(N * D)
    x = rng.normal(size=(N, D)) * scale
    gamma, beta, dout = rng.uniform(0.5, 2, size=D), rng.normal(size=D), rng.normal(size=(N, D))
    ln_param = {"eps": 1e-5}

    def loss(x_, gamma_=gamma, beta_=beta):
        return np.sum(layernorm_forward(x_, gamma_, beta_, ln_param)[0] * dout)

    _, cache = layernorm_forward(x, gamma, beta, ln_param)
    dx, dgamma, dbeta = layernorm_backward(dout, cache)
    h = 1e-6 * scale
    np.testing.assert_allclose(dx, _central_differences(loss, x, h), rtol=1e-5, atol=1e-6 * np.abs(dx).max())
    np.testing.assert_allclose(dgamma, _central_differences(lambda g: loss(x, g), gamma), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dbeta, _central_differences(lambda b: loss(x, gamma, b), beta), rtol=1e-6, atol=1e-8)
    assert np.allclose(dx.sum(axis=1), 0.0, atol=1e-9 * np.abs(dx).max())   # shifting a row changes nothing


# --- the top Hessian eigenvalue ----------------------------------------------------------------

@pytest.mark.parametrize("eigenvalues", [[5.0, 1.0, 0.5, -0.2], [-4.0, 2.0, 1.0], [100.0, 90.0, 1.0, 0.0, -3.0]])
def test_power_iteration_against_eigvalsh(eigenvalues):
    rng = np.random.default_rng(len(eigenvalues))
    q, _ = np.linalg.qr(rng.normal(size=(len(eigenvalues),) * 2))
    H = (q * eigenvalues) @ q.T
    values, vectors = np.linalg.eigh(H)
    top = np.argmax(np.abs(values))
    eigenvalue, v = top_hessian_eigenvalue(lambda u: H @ u, rng.normal(size=len(eigenvalues)), num_iters=500)
    assert eigenvalue == pytest.approx(values[top], rel=1e-10)
    assert abs(v @ vectors[:, top]) == pytest.approx(1.0, abs=1e-8)
    assert np.linalg.norm(v) == pytest.approx(1.0)


def test_power_iteration_converges_at_the_predicted_rate():
    H = np.diag([2.0, 1.0])      # ratio 1/2: the eigenvalue error after K steps is about 4^-K
    errors = [2.0 - top_hessian_eigenvalue(lambda u: H @ u, np.array([1.0, 1.0]), k)[0] for k in range(1, 8)]
    # from v proportional to (2^K, 1): lambda = (2^(2K+1) + 1) / (4^K + 1) = 2 - 1 / (4^K + 1)
    np.testing.assert_allclose(errors, [1 / (4 ** k + 1) for k in range(1, 8)], rtol=1e-9)


def test_top_eigenvalue_of_the_course_mlp_by_finite_differences():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 3)), rng.integers(0, 3, size=20)
    model = MLP([3, 4, 3], np.random.default_rng(1))
    keys = list(model.params)
    shapes = [model.params[k].shape for k in keys]
    sizes = [int(np.prod(s)) for s in shapes]

    def grad(flat):
        pieces = np.split(flat, np.cumsum(sizes)[:-1])
        model.params = {k: p.reshape(s) for k, p, s in zip(keys, pieces, shapes)}
        _, grads = model.loss_and_grads(X, y)
        return np.concatenate([grads[k].ravel() for k in keys])

    w = np.concatenate([model.params[k].ravel() for k in keys])
    dense = np.column_stack([hessian_vector_product(grad, w, e, r=1e-5) for e in np.eye(len(w))])
    dense = (dense + dense.T) / 2
    values = np.linalg.eigvalsh(dense)
    expected = values[np.argmax(np.abs(values))]
    eigenvalue, _ = top_hessian_eigenvalue(lambda v: hessian_vector_product(grad, w, v, r=1e-5),
                                           np.random.default_rng(2).normal(size=len(w)), num_iters=300)
    assert eigenvalue == pytest.approx(expected, rel=1e-4)


def test_hessian_vector_product_is_exact_on_a_quadratic():
    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    v = np.array([0.3, -2.0])
    np.testing.assert_allclose(hessian_vector_product(lambda w: A @ w, np.array([1.0, 5.0]), v), A @ v, rtol=1e-9)
