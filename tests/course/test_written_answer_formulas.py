"""Every formula a written answer's model answer states, checked numerically.

The model answers are what instructors grade against, so their maths must be right. Each test first finds
its formula, verbatim, in the model answer (so a reworded answer cannot leave a stale check behind), then
checks it against a computation that does not use it: exact enumeration, a simulation of the recursion,
a fixed point, or linear algebra.
"""

from __future__ import annotations

import itertools
from functools import lru_cache
from pathlib import Path

import nbformat
import numpy as np
import pytest

from dlopt_reference.batchnorm import batchnorm_backward, batchnorm_forward
from dlopt_reference.second_order import bfgs_update

EXERCISES = Path(__file__).resolve().parents[2] / "exercises"


@lru_cache(maxsize=None)
def model_answer(assignment: str, grade_id: str) -> str:
    """The text of the written answer ``grade_id`` of ``assignment``, model answer and rubric included."""
    notebook = nbformat.read(EXERCISES / assignment / f"{assignment}.ipynb", as_version=4)
    for cell in notebook.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            return cell.source
    raise LookupError(f"no cell {grade_id} in {assignment}")


def states(assignment: str, grade_id: str, *formulas: str) -> None:
    text = model_answer(assignment, grade_id)
    for formula in formulas:
        assert formula in text, f"{assignment} {grade_id} no longer states {formula!r}: update this test"


def test_gradient_descent_error_recursion_and_its_stability_condition():
    states("01_sgd", "step_size_limit_answer", r"$e_{t+1} = (I - \eta H)\,e_t$",
           r"$\lvert 1 - \eta\lambda_i\rvert < 1$")
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    eigenvalues = np.array([0.5, 1.0, 3.0, 8.0])
    H = Q @ np.diag(eigenvalues) @ Q.T
    w_star, w = rng.normal(size=4), rng.normal(size=4)
    for eta in (0.1, 0.24, 0.26):  # 2/L = 0.25: the last rate breaks |1 - eta*lambda| < 1 for lambda = 8
        e, x = w - w_star, w.copy()
        for _ in range(200):
            x = x - eta * (H @ (x - w_star))
            e = (np.eye(4) - eta * H) @ e
            assert np.allclose(x - w_star, e, atol=1e-9 * max(1.0, np.abs(e).max()))
        converges = bool(np.all(np.abs(1 - eta * eigenvalues) < 1))
        assert (np.linalg.norm(x - w_star) < 1e-3) == converges, eta


def test_minibatch_gradient_is_unbiased_with_the_finite_population_variance():
    states("01_sgd", "minibatch_gradient_answer", r"$\mathbb{E}[\hat g] = \nabla f(w)$",
           r"$\mathbb{E}\lVert \hat g - \nabla f(w)\rVert^2 = \frac{N-B}{B(N-1)}\sigma^2$")
    rng = np.random.default_rng(1)
    N, d = 7, 3
    gradients = rng.normal(size=(N, d))  # the per-example gradients
    full = gradients.mean(axis=0)
    sigma2 = np.mean(np.sum((gradients - full) ** 2, axis=1))  # their variance about the full gradient
    for B in range(1, N + 1):  # every minibatch of size B, each equally likely: exact expectations
        estimates = np.array([gradients[list(batch)].mean(axis=0) for batch in itertools.combinations(range(N), B)])
        assert np.allclose(estimates.mean(axis=0), full)
        variance = np.mean(np.sum((estimates - full) ** 2, axis=1))
        assert variance == pytest.approx((N - B) / (B * (N - 1)) * sigma2, rel=1e-12)


def test_momentum_velocity_under_a_constant_gradient():
    states("02_momentum", "effective_learning_rate_answer", r"-\eta g\,\frac{1 - \beta^t}{1-\beta}$",
           r"$-\frac{\eta}{1-\beta}\, g$")
    eta, beta, g = 0.05, 0.9, np.array([1.0, -2.0])
    v = np.zeros(2)
    for t in range(1, 200):
        v = beta * v - eta * g
        assert np.allclose(v, -eta * g * (1 - beta ** t) / (1 - beta))
    assert np.allclose(v, -eta / (1 - beta) * g, rtol=1e-8)


def test_nesterov_error_recurrence_on_a_quadratic():
    states("03_nesterov", "lookahead_gradient_answer", r"$c_{t+1} = a(1+\beta)c_t - a\beta c_{t-1}$",
           r"$a = 1 - \eta\lambda_i$")
    for eta, lam, beta in [(0.1, 2.0, 0.9), (0.3, 5.0, 0.5), (0.01, 1.0, 0.99)]:
        w, v, history = 1.0, 0.0, [1.0]
        for _ in range(60):
            v = beta * v - eta * lam * (w + beta * v)  # the gradient at the look-ahead point
            w = w + v
            history.append(w)
        a = 1 - eta * lam
        for t in range(1, len(history) - 1):
            assert history[t + 1] == pytest.approx(a * (1 + beta) * history[t] - a * beta * history[t - 1],
                                                   abs=1e-12)


def test_nesterov_rewritten_form_follows_the_same_iterates():
    states("03_nesterov", "rewritten_form_answer", r"$\tilde w' = w' + \beta v' = \tilde w - \beta v + (1+\beta)v'$",
           r"$w_t = \tilde w_t - \beta v_t$")
    rng = np.random.default_rng(3)
    A = rng.normal(size=(3, 3))
    H, b = A @ A.T + np.eye(3), rng.normal(size=3)
    grad = lambda x: H @ x - b  # noqa: E731
    eta, beta = 0.05, 0.8
    w, v = rng.normal(size=3), np.zeros(3)
    w_tilde, v_tilde = w + beta * v, v.copy()
    for _ in range(100):
        v = beta * v - eta * grad(w + beta * v)
        w = w + v
        v_next = beta * v_tilde - eta * grad(w_tilde)
        w_tilde = w_tilde - beta * v_tilde + (1 + beta) * v_next
        v_tilde = v_next
        assert np.allclose(w, w_tilde - beta * v_tilde)


def test_adam_moment_bias():
    states("04_adaptive", "bias_correction_answer", r"$m_t = (1 - \beta_1)\sum_{k=1}^{t} \beta_1^{t-k} g_k$",
           r"$\mathbb{E}[m_t] = (1 - \beta_1^t)\,\mathbb{E}[g]$", r"$\mathbb{E}[v_t] = (1 - \beta_2^t)\,\mathbb{E}[g^2]$")
    rng = np.random.default_rng(4)
    for beta in (0.9, 0.999):
        gradients = rng.normal(loc=0.7, size=(60, 2000))  # 2000 independent runs of 60 steps
        m = np.zeros(2000)
        for t in range(1, 61):
            m = beta * m + (1 - beta) * gradients[t - 1]
            weights = (1 - beta) * beta ** (t - np.arange(1, t + 1))
            assert np.allclose(m, weights @ gradients[:t])
            assert weights.sum() == pytest.approx(1 - beta ** t, rel=1e-12)  # so E[m_t] = (1 - beta^t) E[g]


def test_l2_penalty_in_sgd_is_a_decay_of_the_weights():
    states("04_adaptive", "decoupled_weight_decay_answer", r"$w - \eta(g + \lambda w) = (1 - \eta\lambda)w - \eta g$")
    rng = np.random.default_rng(5)
    w, g = rng.normal(size=5), rng.normal(size=5)
    eta, lam = 0.1, 0.01
    assert np.allclose(w - eta * (g + lam * w), (1 - eta * lam) * w - eta * g)


@pytest.mark.parametrize("eta, lam", [(0.1, 1.0), (0.5, 2.0), (0.01, 0.3)])
def test_the_noise_floor_of_constant_rate_sgd(eta, lam):
    states("05_lr_decay", "decay_beats_constant_answer", r"$w_{t+1} = (1 - \eta\lambda_i)w_t - \eta\xi_t$",
           r"$\eta\sigma^2/(2(2 - \eta\lambda_i)) \approx \eta\sigma^2/4$")
    sigma2 = 0.3
    floor = eta * sigma2 / (2 * (2 - eta * lam))
    variance = 0.0  # E[w_t^2] by its own recursion, run to its fixed point
    for _ in range(100_000):
        variance = (1 - eta * lam) ** 2 * variance + eta ** 2 * sigma2
    assert lam / 2 * variance == pytest.approx(floor, rel=1e-9)  # the excess loss f = lambda/2 w^2
    rng = np.random.default_rng(6)  # and a simulation: 4000 chains, long past the transient
    w = np.ones(4000)
    for _ in range(int(20 / (eta * lam))):
        w = (1 - eta * lam) * w - eta * rng.normal(scale=np.sqrt(sigma2), size=w.size)
    assert np.mean(lam / 2 * w ** 2) == pytest.approx(floor, rel=0.1)
    if eta * lam <= 0.01:  # the approximation is for small steps: eta * lambda << 1
        assert floor == pytest.approx(eta * sigma2 / 4, rel=0.01)


def test_a_uniform_draw_lands_in_the_top_decade_and_a_log_uniform_one_spreads_evenly():
    states("07_hyperparameter_search", "log_scale_answer", r"$P(x > 0.1) = (1 - 0.1) / (1 - 10^{-5}) \approx 0.9$",
           r"$x = 10^{u}$ with $u \sim \mathcal U[-5, 0]$")
    rng = np.random.default_rng(7)
    uniform = rng.uniform(1e-5, 1.0, size=400_000)
    assert np.mean(uniform > 0.1) == pytest.approx((1 - 0.1) / (1 - 1e-5), abs=0.003)
    assert np.mean(uniform < 1e-3) == pytest.approx(1e-3, abs=3e-4)  # "about one in a thousand"
    log_uniform = 10 ** rng.uniform(-5, 0, size=400_000)
    shares = np.histogram(np.log10(log_uniform), bins=[-5, -4, -3, -2, -1, 0])[0] / log_uniform.size
    assert np.allclose(shares, 0.2, atol=0.003)


@pytest.mark.parametrize("M, r", [(1, 0.0), (5, 0.0), (5, 0.3), (20, 0.9), (10, 1.0)])
def test_the_variance_of_an_ensemble_average(M, r):
    states("08_ensembles", "ensemble_variance_answer",
           r"\frac{1}{M^2}\bigl(M\sigma^2 + M(M-1)r\sigma^2\bigr) = r\sigma^2 + \frac{1-r}{M}\sigma^2")
    sigma2 = 2.5
    covariance = sigma2 * ((1 - r) * np.eye(M) + r * np.ones((M, M)))  # equal variances, equal correlations
    average = np.full(M, 1 / M)
    assert average @ covariance @ average == pytest.approx(r * sigma2 + (1 - r) / M * sigma2, rel=1e-12)


@pytest.mark.parametrize("eta, lam", [(0.1, 1.0), (0.02, 0.5)])
def test_polyak_averaging_variances(eta, lam):
    states("08_ensembles", "polyak_averaging_answer", r"$\eta\sigma^2/\lambda_i$", r"$\sigma^2/(\lambda_i^2 T)$",
           r"$1/(\eta\lambda_i)$")
    sigma2, a = 0.4, 1 - eta * lam
    stationary = eta ** 2 * sigma2 / (1 - a ** 2)  # the fixed point of V = a^2 V + eta^2 sigma^2
    assert 0.5 <= stationary / (eta * sigma2 / lam) <= 1  # "of order eta sigma^2 / lambda"
    for T in (10_000, 100_000):  # the average of T stationary iterates: autocovariances V a^|i-j|
        lags = np.arange(1, T)
        variance = stationary / T * (1 + 2 * np.sum((1 - lags / T) * a ** lags))
        assert variance * lam ** 2 * T / sigma2 == pytest.approx(1.0, rel=20 / (eta * lam * T) + 1e-3)


def test_newton_steps_are_affine_invariant():
    states("09_second_order", "affine_invariance_answer", r"$p_z = -(A^\top H A)^{-1} A^\top g = -A^{-1} H^{-1} g$",
           r"$A p_z = -H^{-1} g = p_x$")
    rng = np.random.default_rng(9)
    B = rng.normal(size=(4, 4))
    H, A, g = B @ B.T + np.eye(4), rng.normal(size=(4, 4)) + 3 * np.eye(4), rng.normal(size=4)
    p_z = -np.linalg.solve(A.T @ H @ A, A.T @ g)
    assert np.allclose(p_z, -np.linalg.solve(A, np.linalg.solve(H, g)))
    assert np.allclose(A @ p_z, -np.linalg.solve(H, g))


def test_the_bfgs_update_meets_the_secant_condition_and_stays_positive_definite():
    states("09_second_order", "curvature_condition_answer", r"$H_{+} y = s$", r"$y^\top s = y^\top H_{+} y > 0$")
    rng = np.random.default_rng(10)
    for _ in range(30):  # one update of a random positive definite H, with y^T s > 0
        B = rng.normal(size=(5, 5))
        s, y = rng.normal(size=5), rng.normal(size=5)
        if y @ s <= 0:
            y = -y
        H = bfgs_update(B @ B.T + np.eye(5), s, y)
        assert np.allclose(H @ y, s)
        assert y @ s == pytest.approx(y @ H @ y)
        assert np.all(np.linalg.eigvalsh((H + H.T) / 2) > 0)


def test_batchnorm_with_a_batch_of_one_outputs_beta_and_passes_no_gradient():
    states("06_batchnorm", "batch_of_one_answer", r"$\hat x = 0 / \sqrt{\epsilon} = 0$", r"$y = \beta$")
    rng = np.random.default_rng(11)
    x, gamma, beta = rng.normal(size=(1, 4)), rng.normal(size=4), rng.normal(size=4)
    out, cache = batchnorm_forward(x, gamma, beta, {"mode": "train", "eps": 1e-5})
    assert np.allclose(out, beta[None, :])
    dx, _, _ = batchnorm_backward(rng.normal(size=(1, 4)), cache)
    assert np.allclose(dx, 0.0)
