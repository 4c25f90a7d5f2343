"""Tests of dlopt_reference.lr_range.lr_range_test against its docstring's contract.

On the quadratic :math:`f(w) = \\sum_i a_i w_i^2 / 2` (gradient :math:`a \\odot w`) an SGD step is
:math:`w_{k+1} = (1 - \\eta_k a) \\odot w_k`, so the iterates have the closed form
:math:`w_k = \\prod_{j<k} (1 - \\eta_j a) \\odot w_0`. The hand-derived cases and the default sweep
(every factor in :math:`[0, 1)`, well conditioned) are compared with that closed form; the randomised
cases with a hand-written loop of the documented procedure, stepping ``w - rate * dw`` as the docstring
writes it (the same rounding, so a loss within rounding of the threshold cannot shift the stop). The
learning rates are the docstring's formula :math:`\\eta_k = \\eta_{\\min} (\\eta_{\\max}/\\eta_{\\min})^{k/(K-1)}`
and ``np.geomspace``. The early stop is derived by hand, and checked on scripted loss sequences that put
a loss exactly on the threshold.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlopt_reference.lr_range import lr_range_test


def _quadratic(a, seen=None):
    """``w -> (sum(a w^2) / 2, a w)``, recording every ``w`` it is called with in ``seen``."""
    def loss_and_grad(w):
        if seen is not None:
            seen.append(np.array(w, copy=True))
        return 0.5 * float(np.sum(a * w * w)), a * w
    return loss_and_grad


def _scripted(losses):
    """A loss_and_grad that returns the given losses in turn and a zero gradient."""
    values = iter(losses)
    return lambda w: (next(values), np.zeros_like(w))


def _rates_by_formula(min_lr, max_lr, num_steps):
    k = np.arange(num_steps)
    return min_lr * (max_lr / min_lr) ** (k / (num_steps - 1))


def test_hand_example_stops_after_recording_the_diverged_step():
    """a = 1, w0 = 1, rates 0.2, 2, 20, 200, 2000; factors 1 - rate = 0.8, -1, -19, -199.

    w = 1, 0.8, -0.8, 15.2 and the losses w^2/2 = 0.5, 0.32, 0.32, 115.52. At step 2, 0.32 <= 4 * 0.32;
    at step 3, 115.52 > 4 * 0.32 = 1.28: the loss is recorded and the test stops; 2000 is never tried.
    """
    seen = []
    rates, losses = lr_range_test(_quadratic(1.0, seen), np.ones(1), min_lr=0.2, max_lr=2000.0, num_steps=5)
    np.testing.assert_allclose(rates, [0.2, 2.0, 20.0, 200.0], rtol=1e-14)
    np.testing.assert_allclose(losses, [0.5, 0.32, 0.32, 115.52], rtol=1e-12)
    np.testing.assert_allclose(np.ravel(seen), [1.0, 0.8, -0.8, 15.2], rtol=1e-13)
    # the same run with a factor of 400 goes on: 115.52 <= 400 * 0.32 = 128, and the last step is recorded
    rates, losses = lr_range_test(_quadratic(1.0), np.ones(1), min_lr=0.2, max_lr=2000.0, num_steps=5,
                                  divergence_factor=400.0)
    # w4 = (1 - 200) * 15.2 = -3024.8, loss 3024.8^2 / 2 = 4574707.52
    np.testing.assert_allclose(losses, [0.5, 0.32, 0.32, 115.52, 4574707.52], rtol=1e-12)
    assert len(rates) == 5


def test_the_threshold_is_strict_and_uses_the_best_loss_so_far():
    # factor 4, best 0.5 after step 1: 2.0 == 4 * 0.5 does not stop, 2.5 > 2.0 does (and is recorded)
    rates, losses = lr_range_test(_scripted([1.0, 0.5, 2.0, 2.5, 0.1, 0.1]), np.zeros(2),
                                  min_lr=1e-3, max_lr=1.0, num_steps=6)
    np.testing.assert_array_equal(losses, [1.0, 0.5, 2.0, 2.5])
    np.testing.assert_array_equal(rates, np.geomspace(1e-3, 1.0, 6)[:4])
    # the best loss so far, not the first: 3.9 <= 4 * 1.0 goes on; then best 0.5, and 2.1 > 4 * 0.5 stops
    _, losses = lr_range_test(_scripted([1.0, 3.9, 0.5, 2.1, 0.1]), np.zeros(1), min_lr=1e-3, max_lr=1.0,
                              num_steps=5)
    np.testing.assert_array_equal(losses, [1.0, 3.9, 0.5, 2.1])
    # another factor moves the stop: with 5, 2.1 <= 2.5 and the run completes
    _, losses = lr_range_test(_scripted([1.0, 3.9, 0.5, 2.1, 0.1]), np.zeros(1), min_lr=1e-3, max_lr=1.0,
                              num_steps=5, divergence_factor=5.0)
    np.testing.assert_array_equal(losses, [1.0, 3.9, 0.5, 2.1, 0.1])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_non_finite_loss_stops_without_being_recorded(bad):
    rates, losses = lr_range_test(_scripted([1.0, 0.9, bad, 0.5]), np.zeros(1), min_lr=0.01, max_lr=1.0,
                                  num_steps=4)
    np.testing.assert_array_equal(losses, [1.0, 0.9])
    np.testing.assert_array_equal(rates, np.geomspace(0.01, 1.0, 4)[:2])
    rates, losses = lr_range_test(_scripted([bad]), np.zeros(1), min_lr=0.01, max_lr=1.0, num_steps=4)
    assert rates.shape == losses.shape == (0,) and rates.dtype == losses.dtype == np.float64


def test_defaults_sweep_1e_6_to_1_in_100_steps():
    """With a = 1 every factor 1 - rate is in [0, 1): the loss never rises and all 100 steps are recorded."""
    rates, losses = lr_range_test(_quadratic(np.ones(3)), np.array([1.0, -2.0, 0.5]))
    np.testing.assert_allclose(rates, _rates_by_formula(1e-6, 1.0, 100), rtol=1e-12)
    np.testing.assert_array_equal(rates, np.geomspace(1e-6, 1.0, 100))
    factors = np.concatenate([[1.0], np.cumprod(1.0 - rates[:-1])])      # prod_{j<k} (1 - rate_j)
    np.testing.assert_allclose(losses, 0.5 * 5.25 * factors ** 2, rtol=1e-12)


@settings(max_examples=60)
@given(a=st.lists(st.floats(0.1, 10.0), min_size=1, max_size=3), seed=st.integers(0, 2 ** 16),
       min_exponent=st.integers(-4, -1), decades=st.integers(1, 4), num_steps=st.integers(2, 40),
       divergence_factor=st.sampled_from([1.5, 4.0, 10.0]))
def test_matches_a_hand_written_loop_on_a_quadratic(a, seed, min_exponent, decades, num_steps, divergence_factor):
    """The docstring's procedure written out: evaluate, record, stop once loss > factor * best, step."""
    a = np.array(a)
    w0 = np.random.default_rng(seed).normal(size=a.shape)
    w0_saved = w0.copy()
    min_lr, max_lr = 10.0 ** min_exponent, 10.0 ** (min_exponent + decades)
    seen = []
    rates, losses = lr_range_test(_quadratic(a, seen), w0, min_lr, max_lr, num_steps, divergence_factor)
    np.testing.assert_array_equal(w0, w0_saved)                            # w is not modified

    schedule = _rates_by_formula(min_lr, max_lr, num_steps)
    expected_rates, expected_losses, iterates, best, w = [], [], [], np.inf, w0.copy()
    for rate in np.geomspace(min_lr, max_lr, num_steps):
        iterates.append(w)
        loss = 0.5 * float(np.sum(a * w * w))
        expected_rates.append(rate)
        expected_losses.append(loss)
        best = min(best, loss)
        if loss > divergence_factor * best:
            break
        w = w - rate * (a * w)                                             # w_{k+1} = (1 - rate_k a) w_k
    n = len(expected_losses)
    assert rates.dtype == losses.dtype == np.float64 and rates.shape == losses.shape == (n,)
    np.testing.assert_allclose(rates, schedule[:n], rtol=1e-12)
    np.testing.assert_array_equal(rates, expected_rates)
    np.testing.assert_allclose(losses, expected_losses, rtol=1e-12, atol=0)
    # the gradient is taken at the current parameters: loss_and_grad saw exactly the iterates
    assert len(seen) == n
    for w_seen, w_expected in zip(seen, iterates):
        np.testing.assert_allclose(w_seen, w_expected, rtol=1e-12, atol=0)


def test_the_callable_may_not_modify_the_caller_s_w():
    def vandal(w):
        loss = float(w @ w)
        w[:] = 1e6                                   # writes into the array it was handed
        return loss, np.zeros_like(w)

    w = np.array([1.0, 2.0])
    lr_range_test(vandal, w, min_lr=0.1, max_lr=1.0, num_steps=3)
    np.testing.assert_array_equal(w, [1.0, 2.0])


@pytest.mark.parametrize("kwargs, error", [
    ({"min_lr": 1.0, "max_lr": 1.0}, ValueError),
    ({"min_lr": 2.0, "max_lr": 1.0}, ValueError),
    ({"min_lr": 0.0}, ValueError),
    ({"num_steps": 1}, ValueError),
    ({"num_steps": 2.0}, TypeError),
    ({"divergence_factor": 1.0}, ValueError),
])
def test_invalid_arguments_are_refused(kwargs, error):
    with pytest.raises(error):
        lr_range_test(_quadratic(1.0), np.ones(2), **kwargs)


def test_a_non_callable_and_a_misshapen_gradient_are_refused():
    with pytest.raises(TypeError):
        lr_range_test(None, np.ones(2))
    with pytest.raises(ValueError, match="shape"):
        lr_range_test(lambda w: (1.0, np.ones(3)), np.ones(2))
