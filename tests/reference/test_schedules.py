"""Tests of dlopt_reference.schedules against hand-derived values (TensorFlow 1 semantics)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlopt_reference.schedules import (
    ReduceLROnPlateau,
    cosine_decay,
    exponential_decay,
    inverse_time_decay,
    natural_exp_decay,
    piecewise_constant,
    polynomial_decay,
    step_decay,
)

# --------------------------------------------------------------------------------------------
# exponential, inverse-time and natural-exp decay
# --------------------------------------------------------------------------------------------

# lr = 0.1, decay_steps = 10, decay_rate = 0.5. With staircase p = floor(step / 10):
# steps 0..9 -> p = 0, 10..19 -> p = 1, 20 -> p = 2.
STAIRCASE_P = {0: 0, 1: 0, 9: 0, 10: 1, 11: 1, 19: 1, 20: 2, 35: 3}


@pytest.mark.parametrize("step, p", sorted(STAIRCASE_P.items()))
def test_staircase_boundaries(step, p):
    assert exponential_decay(0.1, step, 10, 0.5, staircase=True) == pytest.approx(0.1 * 0.5 ** p, rel=1e-15)
    assert inverse_time_decay(0.1, step, 10, 0.5, staircase=True) == pytest.approx(0.1 / (1 + 0.5 * p), rel=1e-15)
    assert natural_exp_decay(0.1, step, 10, 0.5, staircase=True) == pytest.approx(0.1 * math.exp(-0.5 * p), rel=1e-15)


def test_continuous_hand_values():
    # step 15, decay_steps 10: p = 1.5
    assert exponential_decay(0.1, 15, 10, 0.5) == pytest.approx(0.1 / 2 ** 1.5, rel=1e-15)   # 0.0353553...
    assert exponential_decay(0.1, 15, 10, 0.5) == pytest.approx(0.035355339059327376, rel=1e-15)
    assert inverse_time_decay(0.1, 15, 10, 0.5) == pytest.approx(0.1 / 1.75, rel=1e-15)
    assert natural_exp_decay(0.1, 15, 10, 0.5) == pytest.approx(0.1 * math.exp(-0.75), rel=1e-15)
    # step 0: the initial rate, whatever the decay
    for schedule in (exponential_decay, inverse_time_decay, natural_exp_decay):
        assert schedule(0.3, 0, 7, 0.9) == 0.3
        assert schedule(0.3, 0, 7, 0.9, True) == 0.3


@pytest.mark.parametrize("schedule", [exponential_decay, inverse_time_decay, natural_exp_decay])
@pytest.mark.parametrize("k", [1, 2, 5])
def test_staircase_agrees_with_continuous_at_multiples(schedule, k):
    assert schedule(0.2, 7 * k, 7, 0.9, staircase=True) == pytest.approx(schedule(0.2, 7 * k, 7, 0.9), rel=1e-14)
    # just before the multiple the staircase still has the previous value
    assert schedule(0.2, 7 * k - 1, 7, 0.9, staircase=True) == pytest.approx(schedule(0.2, 7 * (k - 1), 7, 0.9))


def test_numpy_integer_step_and_float_return():
    value = exponential_decay(0.2, np.int64(23), 10, 0.9)
    assert type(value) is float and value == pytest.approx(0.2 * 0.9 ** 2.3)
    for value in (inverse_time_decay(1, 3, 2, 1), natural_exp_decay(1, 3, 2, 1), piecewise_constant(3, [1], [1, 2]),
                  polynomial_decay(1, 3, 10), cosine_decay(1, 3, 10), step_decay(1, 3)):
        assert type(value) is float


# --------------------------------------------------------------------------------------------
# piecewise_constant
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("step, expected", [
    (0, 1.0), (9, 1.0), (10, 1.0),     # step == boundary takes the left value
    (11, 0.5), (20, 0.5), (21, 0.1), (1000, 0.1),
])
def test_piecewise_constant(step, expected):
    assert piecewise_constant(step, [10, 20], [1.0, 0.5, 0.1]) == expected
    assert piecewise_constant(np.int64(step), (10, 20), np.array([1.0, 0.5, 0.1])) == expected


def test_piecewise_constant_validation():
    with pytest.raises(ValueError, match="one more element than boundaries"):
        piecewise_constant(0, [10, 20], [1.0, 0.5])
    with pytest.raises(ValueError, match="strictly increasing"):
        piecewise_constant(0, [20, 10], [1.0, 0.5, 0.1])
    with pytest.raises(ValueError, match="strictly increasing"):
        piecewise_constant(0, [10, 10], [1.0, 0.5, 0.1])
    with pytest.raises(TypeError, match=r"values\[1\] must be a real number"):
        piecewise_constant(0, [10], [1.0, "a"])
    assert piecewise_constant(5, [], [0.7]) == 0.7


# --------------------------------------------------------------------------------------------
# polynomial_decay
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("step, expected", [
    (0, 0.1),
    (5, 0.09 * 0.5 + 0.01),     # (lr - end) (1 - 5/10) + end = 0.055
    (10, 0.01),                 # the end value at decay_steps
    (11, 0.01), (50, 0.01),     # clipped after decay_steps
])
def test_polynomial_linear(step, expected):
    assert polynomial_decay(0.1, step, 10, 0.01) == pytest.approx(expected, rel=1e-14)


def test_polynomial_power_and_defaults():
    # power 2 at half way: 0.09 * 0.25 + 0.01
    assert polynomial_decay(0.1, 5, 10, 0.01, 2.0) == pytest.approx(0.0325, rel=1e-14)
    # defaults: end 1e-4, power 1: at step 4 of 10: (0.1 - 1e-4) * 0.6 + 1e-4
    assert polynomial_decay(0.1, 4, 10) == pytest.approx(0.0999 * 0.6 + 1e-4, rel=1e-14)
    assert polynomial_decay(0.1, 10, 10) == pytest.approx(1e-4, rel=1e-14)


@pytest.mark.parametrize("step, expected", [
    (0, 0.1),                          # step 0: multiplier forced to 1 (ceil(0) = 0 would divide by zero)
    (5, 0.055),                        # T' = 10
    (10, 0.01),                        # exact multiple: T' = 10 * ceil(1) = 10, the end value
    (11, 0.09 * (1 - 11 / 20) + 0.01),  # T' = 20: 0.0505
    (20, 0.01),                        # T' = 20
    (21, 0.09 * (1 - 21 / 30) + 0.01),  # T' = 30: 0.037
    (30, 0.01),
])
def test_polynomial_cycle(step, expected):
    assert polynomial_decay(0.1, step, 10, 0.01, 1.0, True) == pytest.approx(expected, rel=1e-13)


# --------------------------------------------------------------------------------------------
# cosine_decay, step_decay
# --------------------------------------------------------------------------------------------

def test_cosine_decay():
    assert cosine_decay(0.1, 0, 10) == 0.1
    assert cosine_decay(0.1, 5, 10) == pytest.approx(0.05, rel=1e-14)          # cos(pi/2) = 0
    # quarter way: 0.5 (1 + cos(pi/4)) = 0.5 + sqrt(2)/4
    assert cosine_decay(0.1, 25, 100) == pytest.approx(0.1 * (0.5 + math.sqrt(2) / 4), rel=1e-14)
    assert cosine_decay(0.1, 10, 10) == pytest.approx(0.0, abs=1e-18)
    assert cosine_decay(0.1, 1000, 10) == pytest.approx(0.0, abs=1e-18)        # clipped beyond decay_steps
    # alpha: the floor alpha * lr; half way ((1 - 0.2) * 0.5 + 0.2) lr = 0.6 lr
    assert cosine_decay(0.1, 10, 10, 0.2) == pytest.approx(0.02, rel=1e-14)
    assert cosine_decay(0.1, 99, 10, 0.2) == pytest.approx(0.02, rel=1e-14)
    assert cosine_decay(0.1, 5, 10, 0.2) == pytest.approx(0.06, rel=1e-14)


@pytest.mark.parametrize("epoch, expected", [(0, 0.1), (9, 0.1), (10, 0.05), (19, 0.05), (20, 0.025), (25, 0.025)])
def test_step_decay_defaults(epoch, expected):
    assert step_decay(0.1, epoch) == pytest.approx(expected, rel=1e-15)


@settings(deadline=None, max_examples=50)
@given(epoch=st.integers(0, 500), drop=st.floats(0.01, 1.0), epochs_drop=st.integers(1, 50))
def test_step_decay_is_staircase_exponential_decay(epoch, drop, epochs_drop):
    assert step_decay(0.3, epoch, drop, epochs_drop) == pytest.approx(
        exponential_decay(0.3, epoch, epochs_drop, drop, staircase=True), rel=1e-12)


# --------------------------------------------------------------------------------------------
# Properties: every decaying schedule is non-increasing in the step
# --------------------------------------------------------------------------------------------

@settings(deadline=None, max_examples=40)
@given(lr=st.floats(1e-6, 10), rate=st.floats(0, 1), decay_steps=st.integers(1, 50), staircase=st.booleans(),
       end_fraction=st.floats(0, 1), power=st.floats(0.1, 4), alpha=st.floats(0, 1), start=st.integers(0, 200))
def test_schedules_are_non_increasing(lr, rate, decay_steps, staircase, end_fraction, power, alpha, start):
    schedules = [
        lambda k: exponential_decay(lr, k, decay_steps, rate, staircase),
        lambda k: inverse_time_decay(lr, k, decay_steps, rate, staircase),
        lambda k: natural_exp_decay(lr, k, decay_steps, rate, staircase),
        lambda k: polynomial_decay(lr, k, decay_steps, lr * end_fraction, power),
        lambda k: cosine_decay(lr, k, decay_steps, alpha),
        lambda k: step_decay(lr, k, rate, decay_steps),
    ]
    for schedule in schedules:
        values = [schedule(k) for k in range(start, start + 2 * decay_steps + 2)]
        assert all(b <= a * (1 + 1e-12) for a, b in zip(values, values[1:]))
        assert all(0 <= v <= lr * (1 + 1e-12) for v in values)


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda step: exponential_decay(0.1, step, 10, 0.5),
    lambda step: inverse_time_decay(0.1, step, 10, 0.5),
    lambda step: natural_exp_decay(0.1, step, 10, 0.5),
    lambda step: piecewise_constant(step, [1], [1.0, 0.5]),
    lambda step: polynomial_decay(0.1, step, 10),
    lambda step: cosine_decay(0.1, step, 10),
])
def test_global_step_validation(call):
    with pytest.raises(TypeError, match="global_step must be an integer, got float"):
        call(1.0)
    with pytest.raises(TypeError, match="global_step must be an integer, got bool"):
        call(True)
    with pytest.raises(ValueError, match="global_step must be >= 0, got -1"):
        call(-1)


@pytest.mark.parametrize("decay_steps", [0, -10])
def test_decay_steps_validation(decay_steps):
    for schedule in (exponential_decay, inverse_time_decay, natural_exp_decay):
        with pytest.raises(ValueError, match="decay_steps must be > 0"):
            schedule(0.1, 5, decay_steps, 0.5)
    with pytest.raises(ValueError, match="decay_steps must be > 0"):
        polynomial_decay(0.1, 5, decay_steps)
    with pytest.raises(ValueError, match="decay_steps must be > 0"):
        cosine_decay(0.1, 5, decay_steps)


def test_other_validation():
    with pytest.raises(ValueError, match="learning_rate must be >= 0"):
        exponential_decay(-0.1, 5, 10, 0.5)
    with pytest.raises(ValueError, match="decay_rate must be >= 0"):
        natural_exp_decay(0.1, 5, 10, -0.5)
    with pytest.raises(TypeError, match="staircase must be True or False"):
        exponential_decay(0.1, 5, 10, 0.5, "yes")
    with pytest.raises(TypeError, match="cycle must be True or False"):
        polynomial_decay(0.1, 5, 10, cycle=1)
    with pytest.raises(ValueError, match=r"alpha must be in \[0, 1\]"):
        cosine_decay(0.1, 5, 10, 1.5)
    with pytest.raises(TypeError, match="epoch must be an integer"):
        step_decay(0.1, 2.0)
    with pytest.raises(ValueError, match="epochs_drop must be > 0"):
        step_decay(0.1, 2, 0.5, 0)
    with pytest.raises(ValueError, match=r"drop must be in \[0, 1\]"):
        step_decay(0.1, 2, 1.5)


# --------------------------------------------------------------------------------------------
# ReduceLROnPlateau (Keras semantics: improvement iff loss < best - min_delta; reduce at `patience` bad epochs)
# --------------------------------------------------------------------------------------------

def _run(schedule, losses):
    return [schedule.step(loss) for loss in losses]


def test_plateau_basic_scenario():
    # 1.0, 0.9 improve; 0.95 bad (1); 0.93 bad (2 = patience) -> 0.05, counter 0; 0.92 bad (1);
    # 0.91 bad (2) -> 0.025; 0.5 improves
    schedule = ReduceLROnPlateau(0.1, factor=0.5, patience=2)
    assert _run(schedule, [1.0, 0.9, 0.95, 0.93, 0.92, 0.91, 0.5]) == pytest.approx(
        [0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025], rel=1e-15)
    assert schedule.best == 0.5 and schedule.num_bad_epochs == 0


def test_plateau_never_below_min_lr():
    # constant loss: the first call improves on +inf, then every call is bad (patience 1):
    # 1 -> 0.1 -> max(0.01, 0.05) = 0.05 -> 0.05
    schedule = ReduceLROnPlateau(1.0, factor=0.1, patience=1, min_lr=0.05)
    assert _run(schedule, [1.0] * 5) == pytest.approx([1.0, 0.1, 0.05, 0.05, 0.05], rel=1e-15)


def test_plateau_min_delta():
    # 0.995 is not below 1.0 - 0.01: no improvement, so with patience 1 the rate drops
    assert _run(ReduceLROnPlateau(0.1, patience=1, min_delta=0.01), [1.0, 0.995]) == pytest.approx([0.1, 0.01])
    assert _run(ReduceLROnPlateau(0.1, patience=1, min_delta=0.0), [1.0, 0.995]) == pytest.approx([0.1, 0.1])
    # the default min_delta is 1e-4: a decrease of 5e-5 does not count
    assert _run(ReduceLROnPlateau(0.1, patience=1), [1.0, 1.0 - 5e-5]) == pytest.approx([0.1, 0.01])


def test_plateau_improvement_resets_counter():
    # patience 3: two bad epochs, then an improvement resets; the reduction comes at the 3rd bad epoch after it
    schedule = ReduceLROnPlateau(0.1, factor=0.1, patience=3)
    lrs = _run(schedule, [1.0, 1.1, 1.1, 0.5, 1.0, 1.0, 1.0, 1.0])
    assert lrs == pytest.approx([0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.01, 0.01], rel=1e-15)


def test_plateau_patience_zero_and_defaults():
    assert _run(ReduceLROnPlateau(1.0, factor=0.5, patience=0), [1.0, 2.0, 2.0, 0.1]) == pytest.approx(
        [1.0, 0.5, 0.25, 0.25])
    schedule = ReduceLROnPlateau(1.0)      # factor 0.1, patience 10
    lrs = _run(schedule, [1.0] * 12)
    assert lrs[:10] == [1.0] * 10 and lrs[10] == pytest.approx(0.1) and lrs[11] == pytest.approx(0.1)
    assert type(lrs[-1]) is float


def test_plateau_validation():
    with pytest.raises(ValueError, match=r"factor must be in \[0, 1\)"):
        ReduceLROnPlateau(0.1, factor=1.0)
    with pytest.raises(ValueError, match="min_lr must not exceed learning_rate"):
        ReduceLROnPlateau(0.1, min_lr=0.2)
    with pytest.raises(TypeError, match="patience must be an integer"):
        ReduceLROnPlateau(0.1, patience=2.5)
    schedule = ReduceLROnPlateau(0.1)
    with pytest.raises(ValueError, match="val_loss must be finite"):
        schedule.step(float("nan"))
    with pytest.raises(TypeError, match="val_loss must be a real number"):
        schedule.step("1.0")
    assert schedule.step(np.float32(1.0)) == 0.1
