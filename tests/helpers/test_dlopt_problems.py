"""dlopt.problems: gradients against central differences, Hessians, smoothness constants."""

from __future__ import annotations

import numpy as np
import pytest

from dlopt.gradcheck import numerical_gradient, rel_error
from dlopt.problems import LeastSquares, Quadratic, Rosenbrock, SoftmaxRegression, make_least_squares


def random_spd(dim, seed):
    M = np.random.default_rng(seed).standard_normal((dim, dim))
    return M @ M.T + 0.1 * np.eye(dim)


@pytest.mark.parametrize("seed", range(3))
def test_quadratic_gradient_hessian_and_smoothness(seed):
    rng = np.random.default_rng(seed)
    A, b = random_spd(4, seed), rng.standard_normal(4)
    problem = Quadratic(A, b)
    w = rng.standard_normal(4)
    assert rel_error(problem.grad(w), numerical_gradient(problem.loss, w)) < 1e-7
    assert np.array_equal(problem.hessian(w), problem.A)
    hessian_numeric = np.array([numerical_gradient(lambda v, j=j: problem.grad(v)[j], w) for j in range(4)])
    assert rel_error(problem.hessian(w), hessian_numeric) < 1e-6
    eigenvalues = np.linalg.eigvalsh(A)
    assert np.isclose(problem.smoothness, eigenvalues[-1])
    assert np.isclose(problem.strong_convexity, eigenvalues[0])
    assert np.isclose(problem.condition_number, eigenvalues[-1] / eigenvalues[0])
    assert np.allclose(problem.grad(problem.minimizer), 0.0, atol=1e-10)
    assert np.isclose(problem.min_value, -0.5 * b @ np.linalg.solve(A, b))


def test_quadratic_smoothness_bounds_the_gradient_change():
    """L = lambda_max(A) is the smallest L with ||grad f(u) - grad f(v)|| <= L ||u - v||."""
    problem = Quadratic(random_spd(5, 7), np.zeros(5))
    rng = np.random.default_rng(1)
    ratios = []
    for _ in range(200):
        u, v = rng.standard_normal(5), rng.standard_normal(5)
        ratios.append(np.linalg.norm(problem.grad(u) - problem.grad(v)) / np.linalg.norm(u - v))
    assert max(ratios) <= problem.smoothness * (1 + 1e-12)
    top = np.linalg.eigh(problem.A)[1][:, -1]
    assert np.isclose(np.linalg.norm(problem.grad(top) - problem.grad(0 * top)), problem.smoothness)


@pytest.mark.parametrize("kappa, dim, rotate", [(1.0, 2, True), (10.0, 2, False), (100.0, 5, True)])
def test_quadratic_with_condition_number(kappa, dim, rotate):
    problem = Quadratic.with_condition_number(kappa, dim=dim, smoothness=2.0, rotate=rotate, seed=3)
    assert np.isclose(problem.smoothness, 2.0)
    assert np.isclose(problem.condition_number, kappa)
    assert np.allclose(problem.minimizer, np.ones(dim))
    again = Quadratic.with_condition_number(kappa, dim=dim, smoothness=2.0, rotate=rotate, seed=3)
    assert np.array_equal(problem.A, again.A)


def test_quadratic_rejects_bad_input():
    with pytest.raises(ValueError):
        Quadratic(np.array([[1.0, 2.0], [0.0, 1.0]]), np.zeros(2))
    with pytest.raises(ValueError):
        Quadratic(np.eye(2), np.zeros(3))
    with pytest.raises(ValueError):
        Quadratic(np.eye(2), np.zeros(2)).grad(np.zeros(3))


@pytest.mark.parametrize("point", [(-1.2, 1.0), (0.5, -0.3), (2.0, 3.0)])
def test_rosenbrock_gradient_and_hessian(point):
    problem = Rosenbrock()
    w = np.array(point)
    assert rel_error(problem.grad(w), numerical_gradient(problem.loss, w)) < 1e-7
    hessian_numeric = np.array([numerical_gradient(lambda v, j=j: problem.grad(v)[j], w) for j in range(2)])
    assert rel_error(problem.hessian(w), hessian_numeric) < 1e-6
    assert problem.loss(problem.minimizer) == 0.0
    assert np.allclose(problem.grad(problem.minimizer), 0.0)


def test_least_squares_gradients_and_minibatches():
    problem = make_least_squares(n_examples=50, n_features=4, seed=2)
    w = np.random.default_rng(0).standard_normal(4)
    assert rel_error(problem.grad(w), numerical_gradient(problem.loss, w)) < 1e-7
    per_example = problem.per_example_grads(w)
    assert per_example.shape == (50, 4)
    for i in (0, 17, 49):
        assert rel_error(per_example[i], numerical_gradient(lambda v: problem.per_example_losses(v)[i], w)) < 1e-7
    assert np.allclose(per_example.mean(axis=0), problem.grad(w))
    idx = np.array([3, 9, 11])
    assert np.allclose(problem.grad(w, idx), per_example[idx].mean(axis=0))
    assert np.isclose(problem.loss(w, idx), problem.per_example_losses(w)[idx].mean())
    assert rel_error(problem.grad(w, idx), numerical_gradient(lambda v: problem.loss(v, idx), w)) < 1e-7
    assert np.isclose(problem.smoothness, np.linalg.eigvalsh(problem.X.T @ problem.X / 50)[-1])
    assert np.allclose(problem.grad(problem.minimizer), 0.0, atol=1e-12)
    hessian_numeric = np.array([numerical_gradient(lambda v, j=j: problem.grad(v)[j], w) for j in range(4)])
    assert rel_error(problem.hessian(), hessian_numeric) < 1e-6


def test_least_squares_is_deterministic():
    a, b = make_least_squares(seed=5), make_least_squares(seed=5)
    assert np.array_equal(a.X, b.X) and np.array_equal(a.y, b.y)
    assert not np.array_equal(a.X, make_least_squares(seed=6).X)
    assert isinstance(a, LeastSquares) and a.X.shape == (200, 5)


@pytest.mark.parametrize("l2", [0.0, 0.1])
def test_softmax_regression_gradient(l2):
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((30, 3)), rng.integers(0, 4, 30)
    problem = SoftmaxRegression(X, y, n_classes=4, l2=l2)
    W = problem.init_params(scale=0.5, seed=1)
    assert W.shape == (4, 4)
    assert rel_error(problem.grad(W), numerical_gradient(problem.loss, W)) < 1e-6
    idx = np.arange(7)
    assert rel_error(problem.grad(W, idx), numerical_gradient(lambda V: problem.loss(V, idx), W)) < 1e-6
    assert np.isclose(problem.loss(np.zeros((4, 4))), np.log(4))
    assert np.allclose(problem.probabilities(W).sum(axis=1), 1.0)
    assert 0.0 <= problem.accuracy(W) <= 1.0
