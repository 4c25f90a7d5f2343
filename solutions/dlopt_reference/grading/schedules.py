"""Graders for chapter 5, learning-rate decay (TensorFlow 1 ``tf.train.*_decay`` semantics).

Each ``check_<schedule>(student_function)`` evaluates the student's schedule next to
:mod:`dlopt_reference.schedules` at many steps, including the ones where mistakes show: step 0,
the steps just before, at and after a staircase boundary, exact multiples of ``decay_steps`` with
``cycle=True``, steps past ``decay_steps``, a step equal to a piecewise boundary, and calls that leave
optional arguments to their defaults (positionally, so that the defaults matter).
"""

from __future__ import annotations

import math

import numpy as np

from .. import schedules as _reference
from ._common_checks import Mistake, check_cases, compare_values, fixed_case

__all__ = [
    "check_step_decay",
    "check_exponential_decay",
    "check_inverse_time_decay",
    "check_natural_exp_decay",
    "check_piecewise_constant",
    "check_polynomial_decay",
    "check_cosine_decay",
    "MISTAKES",
]

_RTOL, _ATOL = 1e-6, 1e-12


def _compare(expected, got):
    return compare_values(expected, got, rtol=_RTOL, atol=_ATOL)


# --------------------------------------------------------------------------------------------
# Exponent p = global_step / decay_steps, and the ways students compute it
# --------------------------------------------------------------------------------------------

def _p(step, decay_steps, staircase):
    p = step / decay_steps
    return math.floor(p) if staircase else p


def _p_ignore_staircase(step, decay_steps, staircase):
    return step / decay_steps


def _p_always_staircase(step, decay_steps, staircase):
    return math.floor(step / decay_steps)


def _p_round(step, decay_steps, staircase):
    return round(step / decay_steps) if staircase else step / decay_steps


def _p_ceil(step, decay_steps, staircase):
    return math.ceil(step / decay_steps) if staircase else step / decay_steps


def _p_no_division(step, decay_steps, staircase):
    return step


def _p_plus_one(step, decay_steps, staircase):
    p = (step + 1) / decay_steps
    return math.floor(p) if staircase else p


def _p_inverted(step, decay_steps, staircase):
    p = decay_steps / step if step else 0.0
    return math.floor(p) if staircase else p


_P_MISTAKES = [
    ("staircase ignored: with staircase=True the exponent must be floor(global_step / decay_steps)", _p_ignore_staircase),
    ("floor applied even when staircase=False (integer division global_step // decay_steps)", _p_always_staircase),
    ("round() instead of floor() for staircase", _p_round),
    ("ceil() instead of floor() for staircase", _p_ceil),
    ("decay_steps ignored: the exponent must be global_step / decay_steps, not global_step", _p_no_division),
    ("steps counted from 1: (global_step + 1) / decay_steps instead of global_step / decay_steps", _p_plus_one),
    ("ratio inverted: decay_steps / global_step instead of global_step / decay_steps", _p_inverted),
]


def _with_p(formula, p_function):
    def schedule(learning_rate, global_step, decay_steps, decay_rate, staircase=False):
        return formula(learning_rate, decay_rate, p_function(global_step, decay_steps, staircase))

    return schedule


def _exp_formula(lr, rate, p):
    return lr * rate ** p


def _natural_formula(lr, rate, p):
    return lr * math.exp(-rate * p)


def _inverse_formula(lr, rate, p):
    return lr / (1.0 + rate * p)


def _family_mistakes(formula, own_mistakes):
    mistakes = [Mistake(description, _with_p(formula, p_function)) for description, p_function in _P_MISTAKES]
    mistakes += [Mistake(description, _with_p(wrong, _p)) for description, wrong in own_mistakes]
    return mistakes


def _decay_cases():
    """Cases shared by exponential, inverse-time and natural-exp decay."""
    cases = []
    for lr, decay_steps, rate in [(0.1, 10, 0.5), (1.0, 7, 0.96), (0.01, 100, 0.3), (0.5, 3, 2.0)]:
        for step in sorted({0, 1, decay_steps - 1, decay_steps, decay_steps + 1, 2 * decay_steps - 1,
                            2 * decay_steps, 3 * decay_steps + decay_steps // 2, 25 * decay_steps + 1}):
            for staircase in (False, True):
                cases.append(fixed_case(lr, step, decay_steps, rate, staircase, note=f"staircase={staircase}"))
    # staircase left to its default (positionally absent), and a numpy integer step
    cases.append(fixed_case(0.1, 15, 10, 0.5, note="staircase left at its default (False)"))
    cases.append(fixed_case(0.2, np.int64(23), 10, 0.9, note="global_step given as numpy int64"))
    cases.append(fixed_case(0.2, 23, 10, 0.9, staircase=True, note="staircase given by keyword"))
    return cases


# --------------------------------------------------------------------------------------------
# exponential_decay, natural_exp_decay, inverse_time_decay
# --------------------------------------------------------------------------------------------

EXPONENTIAL_MISTAKES = _family_mistakes(_exp_formula, [
    ("natural exponential decay (lr * exp(-decay_rate * p)) instead of lr * decay_rate ** p", _natural_formula),
    ("decay_rate used as the fraction removed: lr * (1 - decay_rate) ** p instead of lr * decay_rate ** p",
     lambda lr, rate, p: lr * (1.0 - rate) ** p),
    ("inverse time decay (lr / (1 + decay_rate * p)) instead of lr * decay_rate ** p", _inverse_formula),
    ("exponent applied to the learning rate: (lr * decay_rate) ** p", lambda lr, rate, p: (lr * rate) ** p),
    ("negative exponent: lr * decay_rate ** (-p)", lambda lr, rate, p: lr * rate ** (-p)),
    ("linear instead of exponential: lr * decay_rate * p", lambda lr, rate, p: lr * rate * p),
    ("learning rate not multiplied in: decay_rate ** p", lambda lr, rate, p: rate ** p),
])

NATURAL_EXP_MISTAKES = _family_mistakes(_natural_formula, [
    ("exponential decay (lr * decay_rate ** p) instead of natural exp decay lr * exp(-decay_rate * p)", _exp_formula),
    ("sign of the exponent: lr * exp(+decay_rate * p) grows instead of decaying", lambda lr, rate, p: lr * math.exp(rate * p)),
    ("base 10 instead of e: lr * 10 ** (-decay_rate * p)", lambda lr, rate, p: lr * 10.0 ** (-rate * p)),
    ("inverse time decay (lr / (1 + decay_rate * p)) instead of lr * exp(-decay_rate * p)", _inverse_formula),
    ("decay_rate divides instead of multiplying: lr * exp(-p / decay_rate)", lambda lr, rate, p: lr * math.exp(-p / rate)),
    ("decay_rate used as 1 - decay_rate: lr * exp(-(1 - decay_rate) * p)", lambda lr, rate, p: lr * math.exp(-(1.0 - rate) * p)),
    ("learning rate not multiplied in: exp(-decay_rate * p)", lambda lr, rate, p: math.exp(-rate * p)),
])

INVERSE_TIME_MISTAKES = _family_mistakes(_inverse_formula, [
    ("missing the 1 in the denominator: lr / (decay_rate * p) instead of lr / (1 + decay_rate * p)",
     lambda lr, rate, p: lr / (rate * p)),
    ("multiplied instead of divided: lr * (1 + decay_rate * p)", lambda lr, rate, p: lr * (1.0 + rate * p)),
    ("exponential decay (lr * decay_rate ** p) instead of inverse time decay", _exp_formula),
    ("natural exp decay (lr * exp(-decay_rate * p)) instead of inverse time decay", _natural_formula),
    ("power instead of product: lr / (1 + decay_rate) ** p", lambda lr, rate, p: lr / (1.0 + rate) ** p),
    ("decay_rate divides p: lr / (1 + p / decay_rate)", lambda lr, rate, p: lr / (1.0 + p / rate)),
    ("decay_rate outside the parentheses: lr / (1 + p) * decay_rate", lambda lr, rate, p: lr / (1.0 + p) * rate),
    ("operator precedence: lr / 1 + decay_rate * p", lambda lr, rate, p: lr / 1.0 + rate * p),
    ("subtraction instead of addition: lr / (1 - decay_rate * p)", lambda lr, rate, p: lr / (1.0 - rate * p)),
])


def check_exponential_decay(exponential_decay) -> None:
    """Grade ``exponential_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False)``."""
    check_cases("exponential_decay", exponential_decay, _reference.exponential_decay, _decay_cases(),
                EXPONENTIAL_MISTAKES, compare=_compare)


def check_natural_exp_decay(natural_exp_decay) -> None:
    """Grade ``natural_exp_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False)``."""
    check_cases("natural_exp_decay", natural_exp_decay, _reference.natural_exp_decay, _decay_cases(),
                NATURAL_EXP_MISTAKES, compare=_compare)


def check_inverse_time_decay(inverse_time_decay) -> None:
    """Grade ``inverse_time_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False)``."""
    check_cases("inverse_time_decay", inverse_time_decay, _reference.inverse_time_decay, _decay_cases(),
                INVERSE_TIME_MISTAKES, compare=_compare)


# --------------------------------------------------------------------------------------------
# step_decay
# --------------------------------------------------------------------------------------------

def _step_decay_with(exponent, default_drop=0.5, default_epochs_drop=10, factor=lambda drop: drop):
    def step_decay(learning_rate, epoch, drop=default_drop, epochs_drop=default_epochs_drop):
        return learning_rate * factor(drop) ** exponent(epoch, epochs_drop)

    return step_decay


_floor = lambda epoch, epochs_drop: math.floor(epoch / epochs_drop)  # noqa: E731

STEP_DECAY_MISTAKES = [
    Mistake("no floor: drop ** (epoch / epochs_drop) decays smoothly; the step schedule needs floor(epoch / epochs_drop)",
            _step_decay_with(lambda e, d: e / d)),
    Mistake("epochs counted from 1: floor((1 + epoch) / epochs_drop) instead of floor(epoch / epochs_drop)",
            _step_decay_with(lambda e, d: math.floor((1 + e) / d))),
    Mistake("round() instead of floor()", _step_decay_with(lambda e, d: round(e / d))),
    Mistake("ceil() instead of floor()", _step_decay_with(lambda e, d: math.ceil(e / d))),
    Mistake("epochs_drop ignored: drop ** epoch", _step_decay_with(lambda e, d: e)),
    Mistake("drop used as the fraction removed: (1 - drop) ** floor(epoch / epochs_drop)",
            _step_decay_with(_floor, factor=lambda drop: 1.0 - drop)),
    Mistake("epoch and epochs_drop swapped: floor(epochs_drop / epoch)",
            _step_decay_with(lambda e, d: math.floor(d / e) if e else 0)),
    Mistake("linear drop: learning_rate * drop * floor(epoch / epochs_drop)",
            lambda learning_rate, epoch, drop=0.5, epochs_drop=10: learning_rate * drop * math.floor(epoch / epochs_drop)),
    Mistake("linear drop: learning_rate * (1 - drop * floor(epoch / epochs_drop))",
            lambda learning_rate, epoch, drop=0.5, epochs_drop=10: learning_rate * (1 - drop * math.floor(epoch / epochs_drop))),
    Mistake("wrong default for drop (the default is drop=0.5)", _step_decay_with(_floor, default_drop=0.1)),
    Mistake("wrong default for epochs_drop (the default is epochs_drop=10)", _step_decay_with(_floor, default_epochs_drop=5)),
]


def _step_decay_cases():
    cases = []
    for lr, drop, epochs_drop in [(0.1, 0.5, 10), (1.0, 0.25, 3), (0.02, 0.9, 7)]:
        for epoch in sorted({0, 1, epochs_drop - 1, epochs_drop, epochs_drop + 1, 2 * epochs_drop,
                             3 * epochs_drop - 1, 5 * epochs_drop + 2}):
            cases.append(fixed_case(lr, epoch, drop, epochs_drop))
    for epoch in (0, 9, 10, 11, 20, 37):
        cases.append(fixed_case(0.1, epoch, note="drop and epochs_drop left at their defaults"))
    for epoch in (4, 9, 10, 25):
        cases.append(fixed_case(0.3, epoch, 0.2, note="epochs_drop left at its default"))
    cases.append(fixed_case(0.3, 12, epochs_drop=4, note="drop left at its default"))
    return cases


def check_step_decay(step_decay) -> None:
    """Grade ``step_decay(learning_rate, epoch, drop=0.5, epochs_drop=10)``."""
    check_cases("step_decay", step_decay, _reference.step_decay, _step_decay_cases(), STEP_DECAY_MISTAKES,
                compare=_compare)


# --------------------------------------------------------------------------------------------
# piecewise_constant
# --------------------------------------------------------------------------------------------

def _piecewise_with(index_of):
    def piecewise_constant(global_step, boundaries, values):
        return values[index_of(global_step, list(boundaries), list(values))]

    return piecewise_constant


def _count_below(step, boundaries):
    return sum(1 for boundary in boundaries if step > boundary)


PIECEWISE_MISTAKES = [
    Mistake("off by one at a boundary: at global_step == boundaries[i] the value is still values[i] "
            "(the new value starts after the boundary, step > boundary)",
            _piecewise_with(lambda s, b, v: sum(1 for boundary in b if s >= boundary))),
    Mistake("the last value is never used (steps past the last boundary must give values[-1])",
            _piecewise_with(lambda s, b, v: min(_count_below(s, b), len(b) - 1))),
    Mistake("values shifted by one: values[i + 1] where values[i] is due",
            _piecewise_with(lambda s, b, v: min(_count_below(s, b) + 1, len(v) - 1))),
    Mistake("values shifted by one: values[i - 1] where values[i] is due",
            _piecewise_with(lambda s, b, v: max(_count_below(s, b) - 1, 0))),
    Mistake("values shifted by one, unclamped: values[i - 1] where values[i] is due, and before the first boundary "
            "index -1 wraps around to values[-1] (Python's negative indexing)",
            _piecewise_with(lambda s, b, v: _count_below(s, b) - 1)),
    Mistake("only the first boundary is looked at",
            _piecewise_with(lambda s, b, v: 1 if s > b[0] else 0)),
]


def _piecewise_cases():
    cases = []
    for boundaries, values in [([10, 20], [1.0, 0.5, 0.1]), ([5], [0.3, 0.03]),
                               ([3, 7, 50, 100], [1.0, 0.7, 0.4, 0.2, 0.05])]:
        steps = {0, 1, 1000}
        for boundary in boundaries:
            steps |= {boundary - 1, boundary, boundary + 1}
        for step in sorted(steps):
            cases.append(fixed_case(step, boundaries, values))
    cases.append(fixed_case(20, (10, 20), (1.0, 0.5, 0.1), note="boundaries and values given as tuples"))
    cases.append(fixed_case(np.int64(21), [10, 20], [1.0, 0.5, 0.1], note="global_step given as numpy int64"))
    return cases


def check_piecewise_constant(piecewise_constant) -> None:
    """Grade ``piecewise_constant(global_step, boundaries, values)``."""
    check_cases("piecewise_constant", piecewise_constant, _reference.piecewise_constant, _piecewise_cases(),
                PIECEWISE_MISTAKES, compare=_compare)


# --------------------------------------------------------------------------------------------
# polynomial_decay
# --------------------------------------------------------------------------------------------

def _polynomial_with(*, cycle_mode="ceil", clamp=True, end_default=1e-4, power_default=1.0, formula=None):
    def polynomial_decay(learning_rate, global_step, decay_steps, end_learning_rate=end_default,
                         power=power_default, cycle=False):
        step, steps = global_step, decay_steps
        if cycle and cycle_mode != "ignore":
            if cycle_mode == "ceil":
                steps = decay_steps * (math.ceil(step / decay_steps) if step else 1)
            elif cycle_mode == "floor":
                steps = decay_steps * max(math.floor(step / decay_steps), 1)
            elif cycle_mode == "floor_raw":
                steps = decay_steps * math.floor(step / decay_steps)
            elif cycle_mode == "ceil_zero":
                steps = decay_steps * math.ceil(step / decay_steps)
            elif cycle_mode == "modulo":
                step = step % decay_steps
            elif cycle_mode == "floor_plus_one":
                steps = decay_steps * (math.floor(step / decay_steps) + 1)
        elif clamp:
            step = min(step, decay_steps)
        fraction = step / steps
        if formula is not None:
            return formula(learning_rate, end_learning_rate, power, fraction)
        return (learning_rate - end_learning_rate) * (1.0 - fraction) ** power + end_learning_rate

    return polynomial_decay


POLYNOMIAL_MISTAKES = [
    Mistake("cycle with floor instead of ceil: decay_steps must be stretched to decay_steps * ceil(global_step / decay_steps)",
            _polynomial_with(cycle_mode="floor")),
    Mistake("cycle at global_step 0 (or a multiple of decay_steps) mishandled: at step 0 the multiplier "
            "ceil(0 / decay_steps) = 0 must be replaced by 1 (TensorFlow does this)",
            _polynomial_with(cycle_mode="ceil_zero")),
    Mistake("cycle with floor instead of ceil, and no guard for global_step < decay_steps",
            _polynomial_with(cycle_mode="floor_raw")),
    Mistake("cycle with floor(global_step / decay_steps) + 1 instead of ceil: at exact multiples of decay_steps the "
            "learning rate must reach end_learning_rate, not restart",
            _polynomial_with(cycle_mode="floor_plus_one")),
    Mistake("cycle as a restart (global_step % decay_steps); TensorFlow's cycle stretches decay_steps to the next "
            "multiple instead", _polynomial_with(cycle_mode="modulo")),
    Mistake("cycle ignored: with cycle=True the schedule must restart past decay_steps",
            _polynomial_with(cycle_mode="ignore")),
    Mistake("global_step not clamped to decay_steps (past decay_steps the rate must stay at end_learning_rate)",
            _polynomial_with(clamp=False)),
    Mistake("end_learning_rate ignored (the rate decays to 0 instead of end_learning_rate)",
            _polynomial_with(formula=lambda lr, end, power, f: lr * (1.0 - f) ** power)),
    Mistake("learning_rate not reduced by end_learning_rate: lr * (1 - p) ** power + end_learning_rate",
            _polynomial_with(formula=lambda lr, end, power, f: lr * (1.0 - f) ** power + end)),
    Mistake("power ignored (linear decay)",
            _polynomial_with(formula=lambda lr, end, power, f: (lr - end) * (1.0 - f) + end)),
    Mistake("power applied to p instead of (1 - p)",
            _polynomial_with(formula=lambda lr, end, power, f: (lr - end) * (1.0 - f ** power) + end)),
    Mistake("decays in the wrong direction: (lr - end) * p ** power + end",
            _polynomial_with(formula=lambda lr, end, power, f: (lr - end) * f ** power + end)),
    Mistake("wrong default for end_learning_rate (the default is 1e-4)", _polynomial_with(end_default=0.0)),
    Mistake("wrong default for power (the default is 1.0)", _polynomial_with(power_default=2.0)),
]


def _polynomial_cases():
    cases = []
    for lr, decay_steps, end, power in [(0.1, 10, 0.001, 1.0), (1.0, 7, 0.01, 2.0), (0.5, 4, 0.0, 0.5)]:
        for step in sorted({0, 1, decay_steps - 1, decay_steps, decay_steps + 1, 2 * decay_steps,
                            2 * decay_steps + 1, 3 * decay_steps - 1, 5 * decay_steps + 2}):
            for cycle in (False, True):
                cases.append(fixed_case(lr, step, decay_steps, end, power, cycle, note=f"cycle={cycle}"))
    for step in (0, 3, 10, 50):
        cases.append(fixed_case(0.1, step, 10, note="end_learning_rate, power and cycle left at their defaults"))
    cases.append(fixed_case(0.1, 4, 10, 0.01, note="power and cycle left at their defaults"))
    cases.append(fixed_case(0.1, 25, 10, cycle=True, note="cycle given by keyword, other defaults"))
    return cases


def check_polynomial_decay(polynomial_decay) -> None:
    """Grade ``polynomial_decay(learning_rate, global_step, decay_steps, end_learning_rate=1e-4, power=1.0, cycle=False)``."""
    check_cases("polynomial_decay", polynomial_decay, _reference.polynomial_decay, _polynomial_cases(),
                POLYNOMIAL_MISTAKES, compare=_compare)


# --------------------------------------------------------------------------------------------
# cosine_decay
# --------------------------------------------------------------------------------------------

def _cosine_with(*, clamp=True, alpha_default=0.0, cosine=None, combine=None):
    def cosine_decay(learning_rate, global_step, decay_steps, alpha=alpha_default):
        step = min(global_step, decay_steps) if clamp else global_step
        fraction = step / decay_steps
        value = cosine(fraction) if cosine else 0.5 * (1.0 + math.cos(math.pi * fraction))
        if combine:
            return combine(learning_rate, alpha, value)
        return learning_rate * ((1.0 - alpha) * value + alpha)

    return cosine_decay


COSINE_MISTAKES = [
    Mistake("global_step not clamped to decay_steps (past decay_steps the cosine rises again; it must stay at alpha * lr)",
            _cosine_with(clamp=False)),
    Mistake("alpha ignored (the rate must end at alpha * learning_rate)",
            _cosine_with(combine=lambda lr, alpha, c: lr * c)),
    Mistake("alpha added without the (1 - alpha) factor: lr * (cosine + alpha)",
            _cosine_with(combine=lambda lr, alpha, c: lr * (c + alpha))),
    Mistake("alpha used as an absolute minimum learning rate (PyTorch's eta_min); here it is a fraction of learning_rate",
            _cosine_with(combine=lambda lr, alpha, c: (lr - alpha) * c + alpha)),
    Mistake("alpha not multiplied by the learning rate: lr * (1 - alpha) * cosine + alpha",
            _cosine_with(combine=lambda lr, alpha, c: lr * (1.0 - alpha) * c + alpha)),
    Mistake("missing the factor 0.5: 1 + cos(pi * p) goes from 2 to 0",
            _cosine_with(cosine=lambda f: 1.0 + math.cos(math.pi * f))),
    Mistake("missing pi: cos(global_step / decay_steps) instead of cos(pi * global_step / decay_steps)",
            _cosine_with(cosine=lambda f: 0.5 * (1.0 + math.cos(f)))),
    Mistake("a full period: cos(2 * pi * p) instead of cos(pi * p)",
            _cosine_with(cosine=lambda f: 0.5 * (1.0 + math.cos(2 * math.pi * f)))),
    Mistake("sign: 0.5 * (1 - cos(pi * p)) increases instead of decreasing",
            _cosine_with(cosine=lambda f: 0.5 * (1.0 - math.cos(math.pi * f)))),
    Mistake("the cosine without the 1 + ...: 0.5 * cos(pi * p)",
            _cosine_with(cosine=lambda f: 0.5 * math.cos(math.pi * f))),
    Mistake("wrong default for alpha (the default is 0.0)", _cosine_with(alpha_default=0.1)),
]


def _cosine_cases():
    cases = []
    for lr, decay_steps, alpha in [(0.1, 10, 0.0), (1.0, 7, 0.2), (0.5, 100, 0.05)]:
        for step in sorted({0, 1, decay_steps // 3, decay_steps // 2, decay_steps - 1, decay_steps,
                            decay_steps + 1, 2 * decay_steps, 3 * decay_steps + 5}):
            cases.append(fixed_case(lr, step, decay_steps, alpha))
    for step in (0, 4, 10, 17):
        cases.append(fixed_case(0.1, step, 10, note="alpha left at its default"))
    return cases


def check_cosine_decay(cosine_decay) -> None:
    """Grade ``cosine_decay(learning_rate, global_step, decay_steps, alpha=0.0)``."""
    check_cases("cosine_decay", cosine_decay, _reference.cosine_decay, _cosine_cases(), COSINE_MISTAKES,
                compare=_compare)


#: Every catalogue, by function name (the tests run each mistake through its check).
MISTAKES = {
    "step_decay": STEP_DECAY_MISTAKES,
    "exponential_decay": EXPONENTIAL_MISTAKES,
    "inverse_time_decay": INVERSE_TIME_MISTAKES,
    "natural_exp_decay": NATURAL_EXP_MISTAKES,
    "piecewise_constant": PIECEWISE_MISTAKES,
    "polynomial_decay": POLYNOMIAL_MISTAKES,
    "cosine_decay": COSINE_MISTAKES,
}
