"""Tests of dlopt_reference.second_order: closed forms, the secant equation, scipy, and the dense BFGS
recursion that the L-BFGS two-loop recursion must reproduce (the idea of optax's lbfgs_test.py)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import BFGS, LbfgsInvHessProduct, rosen, rosen_der, rosen_hess

from dlopt_reference.second_order import bfgs_update, lbfgs_direction, newton_step


def _spd(n, seed, condition=10.0):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    return Q @ np.diag(np.geomspace(1.0, condition, n)) @ Q.T


def _pairs(n, m, seed):
    """m pairs (s, y = A s) from a quadratic with SPD Hessian A: y's > 0 for every pair."""
    A = _spd(n, seed)
    rng = np.random.default_rng(seed + 1)
    s_history = [rng.normal(size=n) for _ in range(m)]
    return s_history, [A @ s for s in s_history], A


# --------------------------------------------------------------------------------------------
# newton_step
# --------------------------------------------------------------------------------------------

def test_newton_hand_computed():
    # H = diag(2, 4), g = (2, -4): p = -(2/2, -4/4) = (-1, 1)
    np.testing.assert_allclose(newton_step(np.array([2.0, -4.0]), np.diag([2.0, 4.0])), [-1.0, 1.0])


@pytest.mark.parametrize("seed", range(5))
def test_newton_solves_a_quadratic_in_one_step(seed):
    """f(x) = x'Ax/2 - b'x: gradient A x - b, Hessian A; the minimiser A^{-1} b (scipy) is reached in one step."""
    n = 6
    A = _spd(n, seed, condition=1e4)
    rng = np.random.default_rng(seed)
    b, x0 = rng.normal(size=n), rng.normal(size=n)
    x1 = x0 + newton_step(A @ x0 - b, A)
    np.testing.assert_allclose(x1, scipy.linalg.solve(A, b, assume_a="pos"), rtol=1e-9, atol=1e-12)


def test_newton_converges_on_rosenbrock():
    """Pure Newton from (-1.2, 1) reaches the minimiser (1, 1) of Rosenbrock's function quickly."""
    x = np.array([-1.2, 1.0])
    for _ in range(10):
        x = x + newton_step(rosen_der(x), rosen_hess(x))
    np.testing.assert_allclose(x, [1.0, 1.0], atol=1e-10)
    assert rosen(x) < 1e-20


def test_newton_does_not_modify_inputs():
    g, H = np.array([1.0, 2.0]), np.array([[2.0, 1.0], [1.0, 3.0]])
    g0, H0 = g.copy(), H.copy()
    newton_step(g, H)
    np.testing.assert_array_equal(g, g0)
    np.testing.assert_array_equal(H, H0)


def test_newton_validation():
    with pytest.raises(ValueError, match="hessian is singular"):
        newton_step(np.ones(2), np.array([[1.0, 2.0], [2.0, 4.0]]))
    with pytest.raises(ValueError, match="hessian is singular"):
        newton_step(np.ones(2), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="hessian must be a square matrix"):
        newton_step(np.ones(2), np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"hessian has shape \(3, 3\) but the vectors have length 2"):
        newton_step(np.ones(2), np.eye(3))
    with pytest.raises(ValueError, match="grad must be a non-empty 1-D array"):
        newton_step(np.ones((2, 1)), np.eye(2))


# --------------------------------------------------------------------------------------------
# bfgs_update
# --------------------------------------------------------------------------------------------

def test_bfgs_hand_computed():
    # H = I, s = e1, y = 2 e1: rho = 1/2, V = I - (1/2) s y' = diag(0, 1), V H V' + rho s s' = diag(1/2, 1)
    np.testing.assert_allclose(bfgs_update(np.eye(2), np.array([1.0, 0.0]), np.array([2.0, 0.0])),
                               np.diag([0.5, 1.0]))


@settings(deadline=None, max_examples=30)
@given(n=st.integers(1, 8), seed=st.integers(0, 2 ** 16))
def test_bfgs_secant_symmetry_positive_definiteness(n, seed):
    H = _spd(n, seed)
    rng = np.random.default_rng(seed)
    s = rng.normal(size=n)
    y = _spd(n, seed + 1) @ s          # y's > 0
    H_new = bfgs_update(H, s, y)
    np.testing.assert_allclose(H_new @ y, s, rtol=1e-8, atol=1e-10 * np.abs(s).max())
    np.testing.assert_allclose(H_new, H_new.T, rtol=1e-12, atol=1e-14 * np.abs(H_new).max())
    assert np.linalg.eigvalsh((H_new + H_new.T) / 2).min() > 0


def test_bfgs_matches_scipy():
    """scipy.optimize.BFGS (inverse form, initial matrix I) applies eq. (6.17) too."""
    n = 5
    s_history, y_history, _ = _pairs(n, 7, 3)
    theirs = BFGS(init_scale=1.0)
    theirs.initialize(n, "inv_hess")
    H = np.eye(n)
    for s, y in zip(s_history, y_history):
        theirs.update(s, y)
        H = bfgs_update(H, s, y)
    np.testing.assert_allclose(H, theirs.get_matrix(), rtol=1e-10, atol=1e-12)


def test_bfgs_with_exact_line_search_recovers_inverse_hessian():
    """On a quadratic with exact line searches BFGS ends after n steps with H_n = A^{-1} (the classical
    quadratic-termination property: the steps are A-conjugate and H_n A s_i = s_i for all of them)."""
    n = 5
    A = _spd(n, 11, condition=50.0)
    b = np.random.default_rng(11).normal(size=n)
    x, H = np.zeros(n), np.eye(n)
    g = A @ x - b
    for _ in range(n):
        p = -H @ g
        alpha = -(g @ p) / (p @ A @ p)             # exact minimiser along p
        x_new = x + alpha * p
        g_new = A @ x_new - b
        H = bfgs_update(H, x_new - x, g_new - g)
        x, g = x_new, g_new
    np.testing.assert_allclose(H, np.linalg.inv(A), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(x, np.linalg.solve(A, b), rtol=1e-9, atol=1e-12)


def test_bfgs_validation():
    with pytest.raises(ValueError, match="curvature condition y's > 0 fails"):
        bfgs_update(np.eye(2), np.array([1.0, 0.0]), np.array([-1.0, 0.0]))
    with pytest.raises(ValueError, match="curvature condition y's > 0 fails"):
        bfgs_update(np.eye(2), np.array([1.0, 0.0]), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="H_inv must be symmetric"):
        bfgs_update(np.array([[1.0, 1.0], [0.0, 1.0]]), np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match="s and y must have the same shape"):
        bfgs_update(np.eye(2), np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match="H_inv must be a square matrix"):
        bfgs_update(np.ones((2, 3)), np.ones(2), np.ones(2))
    H, s, y = np.eye(2), np.array([1.0, 2.0]), np.array([3.0, 1.0])
    bfgs_update(H, s, y)
    np.testing.assert_array_equal(H, np.eye(2))
    np.testing.assert_array_equal(s, [1.0, 2.0])


# --------------------------------------------------------------------------------------------
# lbfgs_direction
# --------------------------------------------------------------------------------------------

def dense_lbfgs_matrix(s_history, y_history):
    """Materialise H_k of eq. (7.19): H <- V_i' H V_i + rho_i s_i s_i' from H_k^0 = gamma I, oldest pair first."""
    n = s_history[0].size
    s_k, y_k = s_history[-1], y_history[-1]
    H = (s_k @ y_k) / (y_k @ y_k) * np.eye(n)
    for s, y in zip(s_history, y_history):
        rho = 1.0 / (y @ s)
        V = np.eye(n) - rho * np.outer(y, s)
        H = V.T @ H @ V + rho * np.outer(s, s)
    return H


@pytest.mark.parametrize("n, m, seed", [(2, 1, 0), (5, 3, 1), (10, 10, 2), (8, 12, 3), (20, 5, 4)])
def test_two_loop_equals_dense_recursion(n, m, seed):
    s_history, y_history, _ = _pairs(n, m, seed)
    grad = np.random.default_rng(seed + 100).normal(size=n)
    expected = -dense_lbfgs_matrix(s_history, y_history) @ grad
    np.testing.assert_allclose(lbfgs_direction(grad, s_history, y_history), expected, rtol=1e-9, atol=1e-12)
    # the same matrix by repeated bfgs_update from gamma I
    gamma = (s_history[-1] @ y_history[-1]) / (y_history[-1] @ y_history[-1])
    H = gamma * np.eye(n)
    for s, y in zip(s_history, y_history):
        H = bfgs_update(H, s, y)
    np.testing.assert_allclose(-H @ grad, expected, rtol=1e-9, atol=1e-12)
    # histories stacked as (m, n) arrays are accepted too
    np.testing.assert_allclose(lbfgs_direction(grad, np.array(s_history), np.array(y_history)), expected,
                               rtol=1e-12, atol=1e-14)


def test_two_loop_matches_scipy_when_gamma_is_one():
    """scipy's LbfgsInvHessProduct runs the two-loop recursion with H0 = I. Choose the newest pair with
    s'y = y'y (s = y + z, z orthogonal to y), so that gamma = 1 and the two must agree."""
    n, m = 6, 4
    s_history, y_history, _ = _pairs(n, m - 1, 5)
    rng = np.random.default_rng(6)
    y = rng.normal(size=n)
    z = rng.normal(size=n)
    z -= (z @ y) / (y @ y) * y
    s_history.append(y + 0.3 * z)
    y_history.append(y)
    assert np.isclose(s_history[-1] @ y, y @ y)
    grad = rng.normal(size=n)
    theirs = LbfgsInvHessProduct(np.array(s_history), np.array(y_history))
    np.testing.assert_allclose(lbfgs_direction(grad, s_history, y_history), -theirs.matvec(grad), rtol=1e-9)


def test_lbfgs_empty_history_is_steepest_descent_and_secant():
    grad = np.array([1.0, -2.0, 3.0])
    np.testing.assert_array_equal(lbfgs_direction(grad, [], []), -grad)
    # secant on the newest pair: -direction(y_newest) = H y_newest = s_newest
    s_history, y_history, _ = _pairs(4, 3, 9)
    np.testing.assert_allclose(-lbfgs_direction(y_history[-1], s_history, y_history), s_history[-1], rtol=1e-9)


def test_lbfgs_validation():
    s_history, y_history, _ = _pairs(3, 2, 0)
    with pytest.raises(ValueError, match="s_history and y_history must have the same length"):
        lbfgs_direction(np.ones(3), s_history, y_history[:1])
    with pytest.raises(ValueError, match=r"s_history\[1\] has length 2 but grad has length 3"):
        lbfgs_direction(np.ones(3), [np.ones(3), np.ones(2)], y_history)
    with pytest.raises(ValueError, match="curvature condition fails for pair 0"):
        lbfgs_direction(np.ones(3), [np.ones(3)], [-np.ones(3)])
    with pytest.raises(TypeError, match="s_history must be a list of vectors"):
        lbfgs_direction(np.ones(3), None, [])
    saved = [s.copy() for s in s_history]
    lbfgs_direction(np.ones(3), s_history, y_history)
    for s, s0 in zip(s_history, saved):
        np.testing.assert_array_equal(s, s0)
