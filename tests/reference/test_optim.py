"""Tests of dlopt_reference.optim: every rule against an independent derivation.

The model is optax's equivalence_test.py: one table of ``(ours, theirs, rtol)`` cases, 50 steps from
the same initial parameters with the same gradient sequence. "Theirs" is always written here, by
hand, from the published algorithm (or a framework's documented form), never by calling the rule.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from dlopt_reference import optim
from dlopt_reference.optim import (
    adadelta,
    adagrad,
    adam,
    adamw,
    nesterov_lookahead,
    nesterov_momentum,
    rmsprop,
    sgd,
    sgd_momentum,
    sgd_momentum_ema,
)

N_STEPS = 50
SHAPE = (3, 4)


def _gradients(seed=0, n=N_STEPS, shape=SHAPE):
    return np.random.default_rng(seed).normal(size=(n, *shape))


def _w0(seed=1, shape=SHAPE):
    return np.random.default_rng(seed).normal(size=shape)


def run(rule, config, grads=None, w0=None):
    """Run ``rule`` over a gradient sequence; return the iterates (after each step) and the final config."""
    grads = _gradients() if grads is None else grads
    w = _w0() if w0 is None else w0
    iterates = []
    for g in grads:
        w, config = rule(w, g, config)
        iterates.append(w)
    return np.array(iterates), config


# --------------------------------------------------------------------------------------------
# Hand-written loops of the published algorithms ("theirs")
# --------------------------------------------------------------------------------------------

def torch_sgd_momentum(lr, mu, nesterov=False):
    """torch.optim.SGD's documented algorithm (dampening 0): b <- mu b + g; w <- w - lr (g + mu b | b)."""
    def loop(grads, w0):
        w, b, out = w0.copy(), np.zeros_like(w0), []
        for t, g in enumerate(grads):
            b = g.copy() if t == 0 else mu * b + g   # PyTorch starts the buffer at the first gradient
            w = w - lr * ((g + mu * b) if nesterov else b)
            out.append(w)
        return np.array(out)
    return loop


def ema_momentum_loop(lr, beta):
    def loop(grads, w0):
        w, m, out = w0.copy(), np.zeros_like(w0), []
        for g in grads:
            m = beta * m + (1 - beta) * g
            w = w - lr * m
            out.append(w)
        return np.array(out)
    return loop


def adagrad_loop(lr, eps):
    def loop(grads, w0):
        w, c, out = w0.copy(), np.zeros_like(w0), []
        for g in grads:
            c = c + g ** 2
            w = w - lr * g / (np.sqrt(c) + eps)
            out.append(w)
        return np.array(out)
    return loop


def rmsprop_loop(lr, rho, eps, bias_correction=False):
    def loop(grads, w0):
        w, c, out = w0.copy(), np.zeros_like(w0), []
        for t, g in enumerate(grads, start=1):
            c = rho * c + (1 - rho) * g ** 2
            c_hat = c / (1 - rho ** t) if bias_correction else c
            w = w - lr * g / (np.sqrt(c_hat) + eps)
            out.append(w)
        return np.array(out)
    return loop


def zeiler_adadelta_loop(lr, rho, eps):
    """Zeiler 2012, Algorithm 1 (with PyTorch's learning rate multiplying the update)."""
    def loop(grads, w0):
        w, eg2, edx2, out = w0.copy(), np.zeros_like(w0), np.zeros_like(w0), []
        for g in grads:
            eg2 = rho * eg2 + (1 - rho) * g ** 2
            dx = -np.sqrt(edx2 + eps) / np.sqrt(eg2 + eps) * g     # RMS[dx]_{t-1} / RMS[g]_t
            edx2 = rho * edx2 + (1 - rho) * dx ** 2
            w = w + lr * dx
            out.append(w)
        return np.array(out)
    return loop


def tf_adam_loop(lr, b1, b2, eps):
    """The formulation just before Section 2.1 of Kingma & Ba (TensorFlow's): the bias corrections folded
    into a step size, and eps_hat = eps * sqrt(1 - b2^t) so that it equals Algorithm 1 exactly."""
    def loop(grads, w0):
        w, m, v, out = w0.copy(), np.zeros_like(w0), np.zeros_like(w0), []
        for t, g in enumerate(grads, start=1):
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g ** 2
            lr_t = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
            eps_hat = eps * np.sqrt(1 - b2 ** t)
            w = w - lr_t * m / (np.sqrt(v) + eps_hat)
            out.append(w)
        return np.array(out)
    return loop


def torch_adamw_loop(lr, b1, b2, eps, wd):
    """torch.optim.AdamW's documented algorithm (amsgrad=False, maximize=False):

    theta_t <- theta_{t-1} - gamma lambda theta_{t-1}; m_t, v_t; m_hat, v_hat;
    theta_t <- theta_t - gamma m_hat / (sqrt(v_hat) + eps).
    """
    def loop(grads, w0):
        theta, m, v, out = w0.copy(), np.zeros_like(w0), np.zeros_like(w0), []
        for t, g in enumerate(grads, start=1):
            theta = theta - lr * wd * theta
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g ** 2
            m_hat = m / (1 - b1 ** t)
            v_hat = v / (1 - b2 ** t)
            theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
            out.append(theta)
        return np.array(out)
    return loop


# (id, our rule, its config, their loop, rtol)
EQUIVALENCES = [
    ("sgd_momentum = torch SGD(momentum)", sgd_momentum, {"learning_rate": 0.05, "momentum": 0.9},
     torch_sgd_momentum(0.05, 0.9), 1e-12),
    # m = (1 - beta) b with torch's buffer b, so lr_ema * m = lr_ema (1 - beta) b: torch lr = lr_ema (1 - beta)
    ("sgd_momentum_ema = torch SGD with lr (1-beta)", sgd_momentum_ema, {"learning_rate": 0.3, "beta": 0.8},
     torch_sgd_momentum(0.3 * (1 - 0.8), 0.8), 1e-12),
    ("sgd_momentum_ema = EMA loop", sgd_momentum_ema, {"learning_rate": 0.1, "beta": 0.95},
     ema_momentum_loop(0.1, 0.95), 1e-12),
    ("nesterov_momentum = torch SGD(nesterov=True)", nesterov_momentum, {"learning_rate": 0.02, "momentum": 0.9},
     torch_sgd_momentum(0.02, 0.9, nesterov=True), 1e-12),
    ("adagrad = Duchi et al.", adagrad, {"learning_rate": 0.1, "epsilon": 1e-8}, adagrad_loop(0.1, 1e-8), 1e-12),
    ("rmsprop = Tieleman & Hinton", rmsprop, {"learning_rate": 0.01, "decay_rate": 0.9, "epsilon": 1e-6},
     rmsprop_loop(0.01, 0.9, 1e-6), 1e-12),
    # optax test_rms_match_adam: Adam with beta1 = 0 is RMSProp with bias correction
    ("adam(beta1=0) = RMSProp with bias correction", adam,
     {"learning_rate": 0.01, "beta1": 0.0, "beta2": 0.99, "epsilon": 1e-8},
     rmsprop_loop(0.01, 0.99, 1e-8, bias_correction=True), 1e-12),
    ("adam = Kingma & Ba, TF formulation with eps_hat", adam,
     {"learning_rate": 1e-2, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
     tf_adam_loop(1e-2, 0.9, 0.999, 1e-8), 1e-10),
    ("adamw = torch AdamW", adamw,
     {"learning_rate": 1e-2, "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-8, "weight_decay": 0.3},
     torch_adamw_loop(1e-2, 0.8, 0.99, 1e-8, 0.3), 1e-12),
    ("adamw defaults = torch AdamW defaults", adamw, None, torch_adamw_loop(1e-3, 0.9, 0.999, 1e-8, 1e-2), 1e-12),
    ("adam defaults = torch Adam defaults", adam, None, torch_adamw_loop(1e-3, 0.9, 0.999, 1e-8, 0.0), 1e-12),
    ("adadelta = Zeiler Algorithm 1", adadelta, {"rho": 0.95, "epsilon": 1e-6}, zeiler_adadelta_loop(1.0, 0.95, 1e-6),
     1e-12),
    ("adadelta lr 0.5 = torch Adadelta", adadelta, {"learning_rate": 0.5, "rho": 0.9, "epsilon": 1e-6},
     zeiler_adadelta_loop(0.5, 0.9, 1e-6), 1e-12),
    ("sgd = plain loop", sgd, {"learning_rate": 0.1}, torch_sgd_momentum(0.1, 0.0), 1e-12),
]


@pytest.mark.parametrize("name, rule, config, theirs, rtol", EQUIVALENCES, ids=[case[0] for case in EQUIVALENCES])
def test_equivalent_to_independent_form(name, rule, config, theirs, rtol):
    grads, w0 = _gradients(), _w0()
    ours, _ = run(rule, copy.deepcopy(config), grads, w0)
    np.testing.assert_allclose(ours, theirs(grads, w0), rtol=rtol, atol=1e-14)


# --------------------------------------------------------------------------------------------
# The three momentum conventions coincide under the learning-rate rescaling
# --------------------------------------------------------------------------------------------

def test_momentum_conventions_coincide():
    """cs231n v <- mu v - lr g, w += v; classic b <- gamma b + g, w -= eta b; EMA m <- beta m + (1-beta) g,
    w -= lr_ema m. With v = -eta b and m = (1 - beta) b: all equal when lr = eta, mu = gamma = beta and
    lr_ema = eta / (1 - beta)."""
    eta, mu = 0.04, 0.85
    grads, w0 = _gradients(3), _w0(4)
    cs231n, config_v = run(sgd_momentum, {"learning_rate": eta, "momentum": mu}, grads, w0)
    ema, config_m = run(sgd_momentum_ema, {"learning_rate": eta / (1 - mu), "beta": mu}, grads, w0)
    classic = torch_sgd_momentum(eta, mu)(grads, w0)
    np.testing.assert_allclose(cs231n, classic, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ema, classic, rtol=1e-10, atol=1e-13)
    # and the states are related by v = -eta b = -eta m / (1 - beta)
    np.testing.assert_allclose(config_v["velocity"], -eta * config_m["m"] / (1 - mu), rtol=1e-10)


def test_sgd_momentum_constant_gradient_closed_form():
    """Constant g: v_t = -lr g (1 - mu^t) / (1 - mu), w_t = w_0 - lr g / (1 - mu) * (t - mu (1 - mu^t) / (1 - mu))."""
    lr, mu, g, w0 = 0.1, 0.9, np.array([2.0, -1.0]), np.array([0.5, 0.5])
    iterates, config = run(sgd_momentum, {"learning_rate": lr, "momentum": mu}, np.tile(g, (20, 1)), w0)
    for t in (1, 2, 10, 20):
        expected = w0 - lr * g / (1 - mu) * (t - mu * (1 - mu ** t) / (1 - mu))
        np.testing.assert_allclose(iterates[t - 1], expected, rtol=1e-12)
    np.testing.assert_allclose(config["velocity"], -lr * g * (1 - mu ** 20) / (1 - mu), rtol=1e-12)


def test_sgd_momentum_hand_computed():
    # v1 = -0.1*2 = -0.2, w1 = 0.8; v2 = 0.9*(-0.2) - 0.1*1 = -0.28, w2 = 0.52
    w, config = sgd_momentum(np.array([1.0]), np.array([2.0]), {"learning_rate": 0.1, "momentum": 0.9})
    w, config = sgd_momentum(w, np.array([1.0]), config)
    np.testing.assert_allclose(w, [0.52])
    np.testing.assert_allclose(config["velocity"], [-0.28])


def test_momentum_zero_is_sgd():
    grads, w0 = _gradients(5), _w0(6)
    plain, _ = run(sgd, {"learning_rate": 0.07}, grads, w0)
    for rule in (sgd_momentum, nesterov_momentum):
        ours, _ = run(rule, {"learning_rate": 0.07, "momentum": 0.0}, grads, w0)
        np.testing.assert_allclose(ours, plain, rtol=1e-14)


# --------------------------------------------------------------------------------------------
# Nesterov: look-ahead form vs rewritten form
# --------------------------------------------------------------------------------------------

def _quadratic(seed=0, n=5):
    rng = np.random.default_rng(seed)
    Q = rng.normal(size=(n, n))
    A = Q @ Q.T + n * np.eye(n)
    b = rng.normal(size=n)
    return (lambda x: A @ x - b), np.linalg.solve(A, b), A


def test_nesterov_lookahead_and_rewritten_forms_agree_over_many_steps():
    """With w~ = w + mu v the rewritten update is exactly the look-ahead update: the rewritten iterate
    equals the look-ahead point of the textbook form at every step, and the velocities agree."""
    grad_fn, _, _ = _quadratic()
    lr, mu = 0.01, 0.9
    w = w_tilde = np.random.default_rng(7).normal(size=5)   # v = 0, so the look-ahead point is w itself
    config_a = {"learning_rate": lr, "momentum": mu}
    config_b = dict(config_a)
    for _ in range(200):
        w, config_a = nesterov_lookahead(w, grad_fn, config_a)
        w_tilde, config_b = nesterov_momentum(w_tilde, grad_fn(w_tilde), config_b)
        np.testing.assert_allclose(w_tilde, w + mu * config_a["velocity"], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(config_b["velocity"], config_a["velocity"], rtol=1e-10, atol=1e-12)


def test_nesterov_lookahead_evaluates_gradient_at_lookahead_point_once():
    calls = []

    def grad_fn(x):
        calls.append(x.copy())
        return 2 * x

    velocity = np.array([0.5, -1.0])
    w = np.array([1.0, 2.0])
    next_w, config = nesterov_lookahead(w, grad_fn, {"learning_rate": 0.1, "momentum": 0.8, "velocity": velocity})
    assert len(calls) == 1
    np.testing.assert_allclose(calls[0], [1.4, 1.2])          # w + 0.8 v
    # v = 0.8 v - 0.1 * 2 * [1.4, 1.2] = [0.4 - 0.28, -0.8 - 0.24]
    np.testing.assert_allclose(config["velocity"], [0.12, -1.04])
    np.testing.assert_allclose(next_w, [1.12, 0.96])


def test_nesterov_converges_on_quadratic():
    grad_fn, minimiser, _ = _quadratic(2)
    w, config = np.zeros(5), {"learning_rate": 0.02, "momentum": 0.9}
    for _ in range(800):
        w, config = nesterov_lookahead(w, grad_fn, config)
    np.testing.assert_allclose(w, minimiser, atol=1e-8)


def test_nesterov_lookahead_rejects_bad_grad_fn():
    with pytest.raises(TypeError, match="grad_fn must be callable"):
        nesterov_lookahead(np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match="same shape"):
        nesterov_lookahead(np.ones(2), lambda x: np.ones(3))


# --------------------------------------------------------------------------------------------
# Adaptive methods: closed forms
# --------------------------------------------------------------------------------------------

@settings(deadline=None, max_examples=40)
@given(g=st.floats(1e-3, 1e3) | st.floats(-1e3, -1e-3), lr=st.floats(1e-5, 1.0))
def test_adam_first_step_has_length_lr(g, lr):
    """m_hat = g and v_hat = g^2 after one step, so the step is lr * g / |g| = lr * sign(g) (eps = 0)."""
    w0 = np.array([0.3])
    w1, _ = adam(w0, np.array([g]), {"learning_rate": lr, "epsilon": 0.0})
    # atol: the subtraction w1 - w0 loses about eps(0.3) ~ 6e-17
    np.testing.assert_allclose(np.abs(w1 - w0), lr, rtol=1e-12, atol=1e-15)
    assert np.sign(w0 - w1)[0] == np.sign(g)
    # with the default eps the step is lr * |g| / (|g| + 1e-8)
    w1, _ = adam(w0, np.array([g]), {"learning_rate": lr})
    np.testing.assert_allclose(np.abs(w1 - w0), lr * abs(g) / (abs(g) + 1e-8), rtol=1e-9, atol=1e-15)


def test_adam_state_and_step_count():
    _, config = run(adam, None, _gradients(n=7))
    assert config["t"] == 7
    assert config["m"].dtype == np.float64 and config["v"].dtype == np.float64
    # constant gradient: m_hat = g and v_hat = g^2 at every step, so every step is lr * sign(g) (eps = 0)
    g = np.array([3.0, -0.2])
    iterates, _ = run(adam, {"learning_rate": 0.01, "epsilon": 0.0}, np.tile(g, (10, 1)), np.zeros(2))
    np.testing.assert_allclose(iterates[-1], -0.01 * 10 * np.sign(g), rtol=1e-10)


def test_adagrad_constant_gradient_closed_form():
    """Constant g: cache_k = k g^2, so w_t = w_0 - lr g sum_{k=1}^t 1 / (sqrt(k) |g| + eps)."""
    g, lr, eps = np.array([0.5, -4.0]), 0.1, 1e-8
    iterates, config = run(adagrad, {"learning_rate": lr, "epsilon": eps}, np.tile(g, (30, 1)), np.zeros(2))
    for t in (1, 5, 30):
        expected = -lr * g * sum(1.0 / (np.sqrt(k) * np.abs(g) + eps) for k in range(1, t + 1))
        np.testing.assert_allclose(iterates[t - 1], expected, rtol=1e-12)
    np.testing.assert_allclose(config["cache"], 30 * g ** 2)


def test_rmsprop_constant_gradient_closed_form():
    """Constant g: cache_t = (1 - rho^t) g^2, step_t = lr g / (sqrt(1 - rho^t) |g| + eps)."""
    g, lr, rho, eps = np.array([2.0, -0.1]), 0.01, 0.9, 1e-8
    iterates, config = run(rmsprop, {"learning_rate": lr, "decay_rate": rho, "epsilon": eps},
                           np.tile(g, (15, 1)), np.zeros(2))
    expected = -np.cumsum([lr * g / (np.sqrt(1 - rho ** t) * np.abs(g) + eps) for t in range(1, 16)], axis=0)
    np.testing.assert_allclose(iterates, expected, rtol=1e-12)
    np.testing.assert_allclose(config["cache"], (1 - rho ** 15) * g ** 2, rtol=1e-12)


def test_adadelta_first_step_hand_computed():
    # rho = 0.9, eps = 1e-6, g = 2: cache = 0.1 * 4 = 0.4; update = -sqrt(1e-6) / sqrt(0.4 + 1e-6) * 2
    w, config = adadelta(np.array([1.0]), np.array([2.0]))
    update = -np.sqrt(1e-6) / np.sqrt(0.4 + 1e-6) * 2.0
    np.testing.assert_allclose(config["cache"], [0.4])
    np.testing.assert_allclose(config["delta"], [0.1 * update ** 2])
    np.testing.assert_allclose(w, [1.0 + update])


def test_adamw_zero_gradient_is_pure_decay():
    """With g = 0 the moments stay 0 and the Adam step is 0/(0 + eps) = 0: w_t = (1 - lr wd)^t w_0."""
    w0 = np.array([1.0, -3.0])
    iterates, _ = run(adamw, {"learning_rate": 0.1, "weight_decay": 0.2}, np.zeros((5, 2)), w0)
    np.testing.assert_allclose(iterates[-1], (1 - 0.1 * 0.2) ** 5 * w0, rtol=1e-14)


def test_adamw_without_decay_is_adam_and_decay_is_decoupled():
    grads, w0 = _gradients(8), _w0(9)
    plain, _ = run(adam, {"learning_rate": 0.01}, grads, w0)
    no_decay, _ = run(adamw, {"learning_rate": 0.01, "weight_decay": 0.0}, grads, w0)
    np.testing.assert_allclose(no_decay, plain, rtol=1e-14)
    # decoupled: one step of adamw = (1 - lr wd) w0 + (adam's step from w0), not adam on g + wd w0
    w_adam, _ = adam(w0, grads[0], {"learning_rate": 0.01})
    w_adamw, _ = adamw(w0, grads[0], {"learning_rate": 0.01, "weight_decay": 0.5})
    np.testing.assert_allclose(w_adamw, w_adam - 0.01 * 0.5 * w0, rtol=1e-12)


def test_state_round_trip_equals_one_run():
    """Running 20 steps, then 30 more from the returned config, equals 50 steps in one go."""
    grads, w0 = _gradients(10), _w0(11)
    for rule in (sgd_momentum, sgd_momentum_ema, nesterov_momentum, adagrad, rmsprop, adadelta, adam, adamw):
        whole, _ = run(rule, None, grads, w0)
        first, config = run(rule, None, grads[:20], w0)
        second, _ = run(rule, config, grads[20:], first[-1])
        np.testing.assert_allclose(np.concatenate([first, second]), whole, rtol=1e-14, err_msg=rule.__name__)


# --------------------------------------------------------------------------------------------
# Contract: defaults, no input modified, state dtype (property-based)
# --------------------------------------------------------------------------------------------

RULES = {
    "sgd": (sgd, {"learning_rate": 1e-2}, []),
    "sgd_momentum": (sgd_momentum, {"learning_rate": 1e-2, "momentum": 0.9}, ["velocity"]),
    "sgd_momentum_ema": (sgd_momentum_ema, {"learning_rate": 1e-2, "beta": 0.9}, ["m"]),
    "nesterov_momentum": (nesterov_momentum, {"learning_rate": 1e-2, "momentum": 0.9}, ["velocity"]),
    "adagrad": (adagrad, {"learning_rate": 1e-2, "epsilon": 1e-8}, ["cache"]),
    "rmsprop": (rmsprop, {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8}, ["cache"]),
    "adadelta": (adadelta, {"learning_rate": 1.0, "rho": 0.9, "epsilon": 1e-6}, ["cache", "delta"]),
    "adam": (adam, {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}, ["m", "v"]),
    "adamw": (adamw, {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "weight_decay": 1e-2},
              ["m", "v"]),
}


@pytest.mark.parametrize("name", list(RULES))
def test_defaults_match_design_table(name):
    rule, defaults, state_keys = RULES[name]
    _, config = rule(np.ones(3), np.ones(3))
    for key, value in defaults.items():
        assert config[key] == value, key
    for key in state_keys:
        assert config[key].dtype == np.float64 and config[key].shape == (3,)
    if name in ("adam", "adamw"):
        assert config["t"] == 1


finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)


@settings(deadline=None, max_examples=15)
@given(name=st.sampled_from(sorted(RULES)), data=st.data(), shape=shapes)
def test_no_input_is_modified(name, data, shape):
    rule = RULES[name][0]
    w = data.draw(hnp.arrays(np.float64, shape, elements=finite))
    dw = data.draw(hnp.arrays(np.float64, shape, elements=finite))
    # a config with state from a first step, so that the state arrays are passed in too
    _, config = rule(w, dw, {"learning_rate": 0.01})
    saved = copy.deepcopy((w, dw, config))
    next_w, next_config = rule(w, dw, config)
    np.testing.assert_array_equal(w, saved[0])
    np.testing.assert_array_equal(dw, saved[1])
    assert config.keys() == saved[2].keys()
    for key in config:
        np.testing.assert_array_equal(config[key], saved[2][key])
    assert next_config is not config
    assert next_w is not w and next_w.shape == w.shape and next_w.dtype == np.float64
    assert np.all(np.isfinite(next_w))
    for key in RULES[name][2]:
        assert next_config[key].dtype == np.float64 and next_config[key] is not config[key]


@settings(deadline=None, max_examples=30)
@given(data=st.data(), shape=shapes, lr=st.floats(0, 10))
def test_sgd_on_any_input(data, shape, lr):
    w = data.draw(hnp.arrays(np.float64, shape, elements=finite))
    dw = data.draw(hnp.arrays(np.float64, shape, elements=finite))
    next_w, _ = sgd(w, dw, {"learning_rate": lr})
    np.testing.assert_allclose(next_w, w - lr * dw, rtol=1e-15, atol=0)


def test_integer_and_list_inputs_become_float64():
    next_w, config = sgd_momentum([1, 2], np.array([1, 1], dtype=np.int32), {"learning_rate": 1})
    assert next_w.dtype == np.float64 and config["velocity"].dtype == np.float64
    np.testing.assert_array_equal(next_w, [0.0, 1.0])


# --------------------------------------------------------------------------------------------
# Input validation
# --------------------------------------------------------------------------------------------

ALL_RULES = [RULES[name][0] for name in sorted(RULES)]


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.__name__)
def test_validation_common(rule):
    with pytest.raises(ValueError, match="w and dw must have the same shape"):
        rule(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="dw contains NaN or infinite"):
        rule(np.ones(2), np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="w contains NaN or infinite"):
        rule(np.array([np.inf, 1.0]), np.ones(2))
    with pytest.raises(ValueError, match="learning_rate must be >= 0"):
        rule(np.ones(2), np.ones(2), {"learning_rate": -0.1})
    with pytest.raises(TypeError, match="learning_rate must be a real number"):
        rule(np.ones(2), np.ones(2), {"learning_rate": "0.1"})
    with pytest.raises(TypeError, match="config must be a dict or None"):
        rule(np.ones(2), np.ones(2), [("learning_rate", 0.1)])
    with pytest.raises(TypeError, match="w must be a numeric array"):
        rule("abc", np.ones(2))
    with pytest.raises(TypeError, match="dw must be a numeric array"):
        rule(np.ones(2), None)


@pytest.mark.parametrize("rule, key", [
    (sgd_momentum, "momentum"), (nesterov_momentum, "momentum"), (sgd_momentum_ema, "beta"),
    (rmsprop, "decay_rate"), (adadelta, "rho"), (adam, "beta1"), (adam, "beta2"), (adamw, "beta1"),
    (adamw, "beta2"),
])
@pytest.mark.parametrize("value", [1.0, -0.1, 1.5])
def test_decay_rates_must_lie_in_unit_interval(rule, key, value):
    with pytest.raises(ValueError, match=rf"{key} must be in \[0, 1\)"):
        rule(np.ones(2), np.ones(2), {key: value})


@pytest.mark.parametrize("rule", [adagrad, rmsprop, adadelta, adam, adamw], ids=lambda r: r.__name__)
def test_negative_epsilon_refused(rule):
    with pytest.raises(ValueError, match="epsilon must be >= 0"):
        rule(np.ones(2), np.ones(2), {"epsilon": -1e-8})


@pytest.mark.parametrize("rule, key", [(sgd_momentum, "velocity"), (adagrad, "cache"), (adam, "m"), (adadelta, "delta")])
def test_state_of_wrong_shape_refused(rule, key):
    with pytest.raises(ValueError, match=rf"config\['{key}'\] has shape \(3,\) but w has shape \(2,\)"):
        rule(np.ones(2), np.ones(2), {key: np.zeros(3)})


def test_other_validation():
    with pytest.raises(ValueError, match="weight_decay must be >= 0"):
        adamw(np.ones(2), np.ones(2), {"weight_decay": -1.0})
    with pytest.raises(ValueError, match=r"config\['t'\] must be >= 0"):
        adam(np.ones(2), np.ones(2), {"t": -1})
    with pytest.raises(TypeError, match=r"config\['t'\] must be an integer"):
        adam(np.ones(2), np.ones(2), {"t": 1.5})
    with pytest.raises(ValueError, match="momentum must be in"):
        nesterov_lookahead(np.ones(2), lambda x: x, {"momentum": 1.0})


def test_public_names():
    for name in ["sgd", "sgd_momentum", "sgd_momentum_ema", "nesterov_momentum", "nesterov_lookahead", "adagrad",
                 "rmsprop", "adadelta", "adam", "adamw"]:
        assert callable(getattr(optim, name))
        assert getattr(optim, name).__doc__ and ".. math::" in getattr(optim, name).__doc__


@pytest.mark.parametrize("rule", [adagrad, rmsprop, adadelta, adam, adamw], ids=lambda r: r.__name__)
def test_zero_epsilon_and_zero_gradient_give_no_nan_and_no_warning(rule):
    """sqrt(cache) + eps = 0 only where every gradient so far was 0: that coordinate stays put (the eps -> 0
    limit), with no 0/0 NaN and no RuntimeWarning (a warning on stderr scores zero under nbgrader)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w, config = rule(np.array([1.0, 2.0]), np.array([0.0, 0.5]), {"epsilon": 0.0, "learning_rate": 0.1})
        w, config = rule(w, np.array([0.0, -0.5]), config)
    assert np.all(np.isfinite(w))
    if rule is not adamw:                  # adamw still decays the coordinate
        assert w[0] == 1.0
