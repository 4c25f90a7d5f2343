"""Outcome grader of chapter 6: folding an inference-mode batch normalization into the affine layer before it.

``check_fold_batchnorm(fold_batchnorm, points)`` draws hidden layers (random shapes and scales,
running statistics with tiny variances where ``eps`` matters, ``eps`` given or left at its
default), folds each with the student's function, and feeds held-out inputs through the folded
layer. A layer is solved when its outputs ``x @ W_folded + b_folded`` match what the original
pair does, ``batchnorm_forward(x @ W + b, gamma, beta, {'mode': 'test', ...})``, to a relative
tolerance of ``1e-6`` per output feature. Nothing is compared with the reference's ``(W, b)``:
any algebra that gives the same layer passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .. import batchnorm as _reference
from ._outcome import Instance, Outcome, OutcomeReport, grade_by_outcome
from ._report import GradingFailure, call_student, quiet

__all__ = ["check_fold_batchnorm", "FOLD_MISTAKES", "fold_instances"]

#: A folded layer matches when every output is within RTOL of its feature's scale (float64 rounding is ~1e-15).
RTOL = 1e-6
#: Held-out inputs per layer.
N_INPUTS = 64
#: The hidden layers (one seed each).
N_LAYERS = 12
_SEED = 6_2026

TASK = ("fold_batchnorm: each hidden layer is folded by your function and must give, on held-out inputs, "
        "the outputs of the layer followed by test-mode batch normalization (relative tolerance 1e-6).")


@dataclass(frozen=True)
class Layer:
    """An affine layer ``x @ W + b`` followed by an inference-mode batch normalization, and held-out inputs."""

    W: np.ndarray
    b: np.ndarray
    gamma: np.ndarray
    beta: np.ndarray
    running_mean: np.ndarray
    running_var: np.ndarray
    eps: float | None          # None: left at the function's default (1e-5)
    x: np.ndarray              # held-out inputs, shape (N_INPUTS, D_in)

    @property
    def eps_value(self) -> float:
        return 1e-5 if self.eps is None else self.eps

    def arguments(self) -> tuple[tuple, dict]:
        """Fresh copies of the arguments of ``fold_batchnorm`` (the student may not touch ours)."""
        args = tuple(a.copy() for a in (self.W, self.b, self.gamma, self.beta, self.running_mean, self.running_var))
        return args, ({} if self.eps is None else {"eps": self.eps})

    def expected_outputs(self) -> np.ndarray:
        """What the layer and its batch normalization compute in test mode on the held-out inputs."""
        bn_param = {"mode": "test", "eps": self.eps_value, "running_mean": self.running_mean.copy(),
                    "running_var": self.running_var.copy()}
        with quiet():
            out, _ = _reference.batchnorm_forward(self.x @ self.W + self.b, self.gamma, self.beta, bn_param)
        return out


def _draw_layer(seed: int, *, square: bool = False) -> tuple[str, Layer]:
    rng = np.random.default_rng(seed)
    D_in = int(rng.integers(1, 13))
    D = D_in if square else int(rng.integers(1, 11))
    weight_scale = 10.0 ** rng.uniform(-2, 1)
    input_scale = 10.0 ** rng.uniform(-1, 1)
    W = rng.normal(scale=weight_scale, size=(D_in, D))
    b = rng.normal(scale=weight_scale, size=D)
    z_scale = weight_scale * input_scale * np.sqrt(D_in)          # the typical size of x @ W
    running_mean = b + rng.normal(scale=z_scale, size=D)
    running_var = z_scale ** 2 * rng.uniform(0.3, 3.0, size=D)
    tiny = rng.random(D) < 0.35                                   # features whose variance is below eps
    tiny[rng.integers(D)] = True                                  # at least one in every layer
    running_var[tiny] = 10.0 ** rng.uniform(-9, -5.5, size=int(tiny.sum()))
    gamma = rng.uniform(0.2, 3.0, size=D) * rng.choice([1.0, 1.0, 1.0, -1.0], size=D)
    beta = rng.normal(scale=2.0, size=D)
    eps = None if rng.random() < 0.5 else float(rng.choice([1e-5, 1e-3, 1e-4, 2e-5]))
    x = rng.normal(scale=input_scale, size=(N_INPUTS, D_in)) + rng.normal(scale=input_scale, size=D_in)
    layer = Layer(W, b, gamma, beta, running_mean, running_var, eps, x)
    label = (f"layer {seed - _SEED + 1}: W of shape {W.shape}, weights of scale {weight_scale:.2g}, "
             f"{int(tiny.sum())} of {D} features with running_var below 1e-5, "
             + ("eps left at its default" if eps is None else f"eps={eps:g}"))
    return label, layer


def fold_instances(seed0: int = _SEED, count: int = N_LAYERS) -> list[Instance]:
    """The hidden layers: ``count`` seeds from ``seed0``; every third one square (D_in = D)."""
    instances = []
    for k in range(count):
        label, layer = _draw_layer(seed0 + k, square=(k % 3 == 2))
        instances.append(Instance(label, layer))
    return instances


# --------------------------------------------------------------------------------------------
# Reading and judging an answer
# --------------------------------------------------------------------------------------------

def _as_matrix(value, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """``value`` as a finite float array of ``shape``, else a GradingFailure saying what came back."""
    try:
        with quiet():
            array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise GradingFailure(f"{name} is not an array of numbers (got {type(value).__name__})") from None
    if array.shape != shape:
        raise GradingFailure(f"{name} has shape {array.shape}; the folded layer needs shape {shape}")
    if not np.all(np.isfinite(array)):
        raise GradingFailure(f"{name} holds NaN or infinite values")
    return array


def read_answer(result, layer: Layer) -> tuple[np.ndarray, np.ndarray]:
    """The student's ``(W_folded, b_folded)``, checked for type, shape and finiteness."""
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise GradingFailure(f"fold_batchnorm must return a pair (W_folded, b_folded), got {type(result).__name__}"
                             + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else ""))
    W_folded = _as_matrix(result[0], "W_folded", layer.W.shape)
    b_folded = _as_matrix(result[1], "b_folded", layer.b.shape)
    return W_folded, b_folded


def _column_scale(values: np.ndarray) -> np.ndarray:
    """Per output feature, the size its outputs are judged against (never 0)."""
    return np.maximum(np.max(np.abs(values), axis=0), 1e-12)


def mismatch(layer: Layer, W_folded: np.ndarray, b_folded: np.ndarray) -> str | None:
    """None when the folded layer reproduces batch normalization's outputs, else what differs, in its terms."""
    expected = layer.expected_outputs()
    with quiet():
        got = layer.x @ W_folded + b_folded
    scale = _column_scale(expected)
    error = np.max(np.abs(got - expected), axis=0) / scale           # per output feature
    if np.all(error <= RTOL):
        return None
    j = int(np.argmax(error))
    # Split the error of feature j into its slope (the weights) and its offset (the bias).
    with quiet():
        needed_slope = layer.gamma[j] / np.sqrt(layer.running_var[j] + layer.eps_value) * layer.W[:, j]
        needed_offset = float(np.mean(expected[:, j] - layer.x @ needed_slope))
        norm = float(needed_slope @ needed_slope)
        ratio = float(W_folded[:, j] @ needed_slope / norm) if norm > 0 else float("nan")
        slope_right = np.allclose(W_folded[:, j], needed_slope, rtol=RTOL, atol=RTOL * np.max(np.abs(needed_slope)))
    where = (f"output feature {j} (running_var {layer.running_var[j]:.3g}, eps {layer.eps_value:g}, "
             f"gamma {layer.gamma[j]:.3g})")
    if slope_right:
        cause = (f"its weights are right, its bias is off by {float(b_folded[j]) - needed_offset:.4g} "
                 f"(the outputs need {needed_offset:.4g})")
    elif np.isfinite(ratio) and np.allclose(W_folded[:, j], ratio * needed_slope, rtol=1e-4,
                                            atol=1e-4 * np.max(np.abs(needed_slope))):
        cause = f"its weights are {ratio:.4g} times what batch normalization's scaling needs"
    else:
        cause = "its weights are not a multiple of the layer's column W[:, j]"
    return (f"on {N_INPUTS} held-out inputs the folded layer's outputs differ from test-mode batch normalization's "
            f"by up to {error[j]:.3g} of the feature's scale at {where}: {cause}")


def _attempt(student_fn: Callable, instance: Instance) -> Outcome:
    layer: Layer = instance.data
    args, kwargs = layer.arguments()
    before = [a.copy() for a in args]
    result = call_student("fold_batchnorm", student_fn, *args, **kwargs)
    names = ("W", "b", "gamma", "beta", "running_mean", "running_var")
    changed = [name for name, a, b in zip(names, before, args) if not np.array_equal(a, b)]
    if changed:
        return Outcome(False, f"fold_batchnorm modified its input {changed[0]} in place: return new arrays", result)
    W_folded, b_folded = read_answer(result, layer)
    problem = mismatch(layer, W_folded, b_folded)
    if problem is None:
        return Outcome(True, "", (W_folded, b_folded))
    return Outcome(False, problem, (W_folded, b_folded))


# --------------------------------------------------------------------------------------------
# Known mistakes: each maps a layer to the (W, b) it would return
# --------------------------------------------------------------------------------------------

def _fold_with(scale_fn, bias_fn):
    def fold(layer: Layer):
        s = scale_fn(layer)
        return layer.W * s, bias_fn(layer, s)
    return fold


def _s(layer):
    return layer.gamma / np.sqrt(layer.running_var + layer.eps_value)


def _right_bias(layer, s):
    return (layer.b - layer.running_mean) * s + layer.beta


def _weight_statistics(layer: Layer):
    mean, var = layer.W.mean(axis=0), layer.W.var(axis=0)
    s = layer.gamma / np.sqrt(var + layer.eps_value)
    return layer.W * s, (layer.b - mean) * s + layer.beta


def _rows_scaled(layer: Layer):
    s = _s(layer)
    if layer.W.shape[0] != layer.W.shape[1]:
        return None
    return layer.W * s[:, None], _right_bias(layer, s)


#: (description, layer -> (W_folded, b_folded) or None where the mistake cannot be made)
FOLD_MISTAKES: list[tuple[str, Callable]] = [
    ("eps forgotten: batch normalization divides by the square root of running_var + eps, which matters where "
     "the running variance is tiny", _fold_with(lambda l: l.gamma / np.sqrt(l.running_var), _right_bias)),
    ("the variance is not square-rooted: the features are divided by the standard deviation, "
     "sqrt(running_var + eps), not by the variance", _fold_with(lambda l: l.gamma / (l.running_var + l.eps_value),
                                                                _right_bias)),
    ("eps outside the square root: sqrt(running_var + eps), not sqrt(running_var) + eps",
     _fold_with(lambda l: l.gamma / (np.sqrt(l.running_var) + l.eps_value), _right_bias)),
    ("beta not folded into the bias: the folded bias must include batch normalization's shift beta",
     _fold_with(_s, lambda l, s: (l.b - l.running_mean) * s)),
    ("the running mean not folded into the bias: the folded bias must subtract running_mean before scaling",
     _fold_with(_s, lambda l, s: l.b * s + l.beta)),
    ("the layer's bias b is not scaled: b passes through batch normalization's scaling like x @ W does",
     _fold_with(_s, lambda l, s: l.b - l.running_mean * s + l.beta)),
    ("the layer's bias b is dropped from the folded bias", _fold_with(_s, lambda l, s: -l.running_mean * s + l.beta)),
    ("gamma not applied: batch normalization scales each normalized feature by gamma",
     _fold_with(lambda l: 1.0 / np.sqrt(l.running_var + l.eps_value), _right_bias)),
    ("the running statistics are ignored (as if the running mean were 0 and the variance 1)",
     _fold_with(lambda l: l.gamma / np.sqrt(1.0 + l.eps_value), lambda l, s: l.b * s + l.beta)),
    ("statistics computed from W instead of the running averages: at test time batch normalization uses "
     "running_mean and running_var", _weight_statistics),
    ("the rows of W are scaled instead of its columns: output feature j is column j of W", _rows_scaled),
]


def _matches(mistake: Callable, layer: Layer, answer) -> bool:
    try:
        with quiet():
            folded = mistake(layer)
    except Exception:
        return False
    if folded is None or not isinstance(answer, tuple):
        return False
    W_m, b_m = folded
    W_s, b_s = answer
    return (W_m.shape == W_s.shape and np.allclose(W_s, W_m, rtol=1e-6, atol=1e-12)
            and np.allclose(b_s, b_m, rtol=1e-6, atol=1e-12))


def recognise(report: OutcomeReport) -> str | None:
    """The known mistake that reproduces the student's (W, b) on at least half of the failed layers."""
    failed = [(instance.data, outcome.answer) for instance, outcome in zip(report.instances, report.outcomes)
              if not outcome.solved and isinstance(outcome.answer, tuple)]
    if not failed:
        return None
    best, best_count = None, 0
    for description, mistake in FOLD_MISTAKES:
        count = sum(_matches(mistake, layer, answer) for layer, answer in failed)
        if count > best_count:
            best, best_count = description, count
    return best if best_count * 2 >= len(failed) else None


def check_fold_batchnorm(fold_batchnorm, points: float = 7) -> float:
    """Grade ``fold_batchnorm(W, b, gamma, beta, running_mean, running_var, eps=1e-5) -> (W_folded, b_folded)``.

    Each of the hidden layers is solved when the folded layer reproduces test-mode batch
    normalization's outputs on held-out inputs (relative tolerance 1e-6 per output feature).
    Returns the points earned, ``points * solved / layers`` (see :func:`._outcome.grade_by_outcome`).
    """
    if not callable(fold_batchnorm):
        raise GradingFailure("fold_batchnorm should be a function")
    return grade_by_outcome("fold_batchnorm", fold_batchnorm, fold_instances(), _attempt, points,
                            recognise=recognise, task=TASK)
