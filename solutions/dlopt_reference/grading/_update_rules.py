"""The grader of update rules (chapters 1-4): ``check_update_rule(name, student_fn)``.

The student's rule runs next to the reference (``dlopt_reference.optim.<name>``) on generated
runs: several shapes and seeds, gradients of size 1, 1e-8 (where the place of eps matters) and
1e3, some gradient entries exactly zero, 3-10 steps feeding the returned config back (so that the
state must be stored), ``config=None`` (the defaults matter), explicit non-default configs, a
config that already holds state, and float32 inputs. Each side gets its own deep copies. After
every step the check compares ``next_w`` and every state key of DESIGN.md, checks that the inputs
were not modified in place and that the result is a pair ``(next_w, config)`` with ``config`` a
dict. On the first difference the catalogue of known mistakes (:mod:`._mistakes`) is replayed on
the same run to name the likely error: the mistakes that reproduce the student's steps so far are
candidates, and when several are (a tie at step 1 is common), the one reproducing the most of the
student's outputs over every step of every run wins. ``nesterov_lookahead`` must call ``grad_fn``
exactly once per step.

Tolerances: ``|got - expected| <= rtol*|expected| + atol`` with ``atol = rtol * max|expected|``
(the scale of the whole array), ``rtol = 1e-6`` for float64 inputs and ``1e-5`` for float32 inputs:
reordered float arithmetic and state kept in float32 pass, every catalogued mistake fails.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ._mistakes import UPDATE_RULE_MISTAKES, Mistake
from ._report import GradingFailure, arrays_differ, call_student, quiet, show

_MISSING = object()


@dataclass(frozen=True)
class RuleSpec:
    """What DESIGN.md says about one rule, plus two non-default configs that tell mistakes apart."""

    defaults: dict
    state: tuple[str, ...]
    configs: tuple[dict, dict]
    preset_state: Callable[[np.random.Generator, tuple], dict] = lambda rng, shape: {}
    int_state: tuple[str, ...] = ()
    lookahead: bool = False


def _normal(rng, shape, scale=1.0):
    return scale * rng.standard_normal(shape)


def _positive(rng, shape, scale=1.0):
    return scale * (0.1 + rng.random(shape))


_ADAM_DEFAULTS = {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}

RULES: dict[str, RuleSpec] = {
    "sgd": RuleSpec(
        defaults={"learning_rate": 1e-2},
        state=(),
        configs=({"learning_rate": 0.1}, {"learning_rate": 0.37}),
    ),
    "sgd_momentum": RuleSpec(
        defaults={"learning_rate": 1e-2, "momentum": 0.9},
        state=("velocity",),
        configs=({"learning_rate": 0.1, "momentum": 0.7}, {"learning_rate": 0.05, "momentum": 0.5}),
        preset_state=lambda rng, shape: {"velocity": _normal(rng, shape, 0.1)},
    ),
    "sgd_momentum_ema": RuleSpec(
        defaults={"learning_rate": 1e-2, "beta": 0.9},
        state=("m",),
        configs=({"learning_rate": 0.1, "beta": 0.7}, {"learning_rate": 0.3, "beta": 0.6}),
        preset_state=lambda rng, shape: {"m": _normal(rng, shape, 0.5)},
    ),
    "nesterov_momentum": RuleSpec(
        defaults={"learning_rate": 1e-2, "momentum": 0.9},
        state=("velocity",),
        configs=({"learning_rate": 0.1, "momentum": 0.7}, {"learning_rate": 0.05, "momentum": 0.5}),
        preset_state=lambda rng, shape: {"velocity": _normal(rng, shape, 0.1)},
    ),
    "nesterov_lookahead": RuleSpec(
        defaults={"learning_rate": 1e-2, "momentum": 0.9},
        state=("velocity",),
        configs=({"learning_rate": 0.1, "momentum": 0.7}, {"learning_rate": 0.05, "momentum": 0.5}),
        preset_state=lambda rng, shape: {"velocity": _normal(rng, shape, 0.3)},
        lookahead=True,
    ),
    "adagrad": RuleSpec(
        defaults={"learning_rate": 1e-2, "epsilon": 1e-8},
        state=("cache",),
        configs=({"learning_rate": 0.1, "epsilon": 1e-4}, {"learning_rate": 0.5, "epsilon": 1e-6}),
        preset_state=lambda rng, shape: {"cache": _positive(rng, shape, 2.0)},
    ),
    "rmsprop": RuleSpec(
        defaults={"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8},
        state=("cache",),
        configs=(
            {"learning_rate": 0.05, "decay_rate": 0.9, "epsilon": 1e-6},
            {"learning_rate": 0.01, "decay_rate": 0.7, "epsilon": 1e-4},
        ),
        preset_state=lambda rng, shape: {"cache": _positive(rng, shape, 1.0)},
    ),
    "adadelta": RuleSpec(
        defaults={"learning_rate": 1.0, "rho": 0.9, "epsilon": 1e-6},
        state=("cache", "delta"),
        configs=(
            {"learning_rate": 0.5, "rho": 0.8, "epsilon": 1e-4},
            {"learning_rate": 2.0, "rho": 0.95, "epsilon": 1e-5},
        ),
        preset_state=lambda rng, shape: {"cache": _positive(rng, shape, 1.0), "delta": _positive(rng, shape, 0.01)},
    ),
    "adam": RuleSpec(
        defaults=dict(_ADAM_DEFAULTS),
        state=("m", "v", "t"),
        int_state=("t",),
        configs=(
            {"learning_rate": 0.05, "beta1": 0.8, "beta2": 0.95, "epsilon": 1e-6},
            {"learning_rate": 0.01, "beta1": 0.5, "beta2": 0.9, "epsilon": 1e-4},
        ),
        preset_state=lambda rng, shape: {"m": _normal(rng, shape, 0.1), "v": _positive(rng, shape, 0.05), "t": 3},
    ),
    "adamw": RuleSpec(
        defaults=dict(_ADAM_DEFAULTS, weight_decay=1e-2),
        state=("m", "v", "t"),
        int_state=("t",),
        configs=(
            {"learning_rate": 0.1, "beta1": 0.8, "beta2": 0.95, "epsilon": 1e-6, "weight_decay": 0.3},
            {"learning_rate": 0.02, "beta1": 0.5, "beta2": 0.9, "epsilon": 1e-4, "weight_decay": 0.5},
        ),
        preset_state=lambda rng, shape: {"m": _normal(rng, shape, 0.1), "v": _positive(rng, shape, 0.05), "t": 3},
    ),
}


@dataclass(frozen=True)
class Run:
    """One generated run: ``steps`` calls from ``w0`` with the same gradient sequence for everyone."""

    shape: tuple
    seed: int
    steps: int
    config: str = "none"  # "none" | "first" | "second" | "preset" (first config + state) | "partial"
    scale: float = 1.0
    dtype: type = np.float64
    sparse: bool = False


RUNS: tuple[Run, ...] = (
    Run((5,), 0, 5, "first"),
    Run((3, 4), 1, 5, "none"),
    Run((2, 3, 4), 2, 10, "second"),
    Run((1,), 3, 3, "none"),
    Run((3, 4), 4, 4, "preset"),
    Run((5,), 5, 4, "partial"),
    Run((3, 4), 6, 5, "none", scale=1e-8),
    Run((2, 3, 4), 7, 5, "first", scale=1e-8),
    Run((5,), 8, 5, "none", scale=1e3),
    Run((3, 4), 9, 5, "second", scale=1e3),
    Run((3, 4), 10, 5, "none", sparse=True),
    Run((3, 4), 11, 5, "none", dtype=np.float32),
    Run((2, 3, 4), 12, 5, "first", dtype=np.float32),
)


@dataclass
class _Inputs:
    """The concrete inputs of one run (built once, copied for every implementation)."""

    w0: np.ndarray
    config0: dict | None
    gradients: list  # arrays (update rules) or None (look-ahead: the gradient comes from grad_fn)
    curvature: np.ndarray | None = None
    target: np.ndarray | None = None
    scale: float = 1.0
    calls: list = field(default_factory=list)

    def grad_fn(self, calls: list) -> Callable:
        """A deterministic quadratic gradient ``scale * a * (x - b)`` recording where it is called."""
        curvature, target, scale = self.curvature, self.target, self.scale

        def grad_fn(x):
            x = np.array(x, dtype=np.float64)
            calls.append(x.copy())
            return scale * curvature * (x - target)

        return grad_fn


def _build(spec: RuleSpec, run: Run) -> _Inputs:
    rng = np.random.default_rng(1000 + run.seed)
    w0 = rng.standard_normal(run.shape)
    mask = rng.random(run.shape) < 0.4 if run.sparse else np.zeros(run.shape, dtype=bool)
    if spec.lookahead:
        gradients = [None] * run.steps
        curvature = np.where(mask, 0.0, 0.5 + 1.5 * rng.random(run.shape))
        target = rng.standard_normal(run.shape)
    else:
        gradients = [np.where(mask, 0.0, run.scale * rng.standard_normal(run.shape)).astype(run.dtype)
                     for _ in range(run.steps)]
        curvature = target = None
    if run.config == "none":
        config0 = None
    elif run.config == "partial":
        config0 = {"learning_rate": spec.configs[0]["learning_rate"]}
    else:
        config0 = dict(spec.configs[1] if run.config == "second" else spec.configs[0])
        if run.config == "preset":
            for key, value in spec.preset_state(rng, run.shape).items():
                config0[key] = value.astype(run.dtype) if isinstance(value, np.ndarray) else value
    return _Inputs(w0.astype(run.dtype), config0, gradients, curvature, target, run.scale)


def _describe_config(config: Mapping | None) -> str:
    if config is None:
        return "config None (the defaults)"
    parts = []
    for key, value in config.items():
        text = f"<array shape {value.shape}>" if isinstance(value, np.ndarray) else repr(value)
        parts.append(f"{key!r}: {text}")
    return "config {" + ", ".join(parts) + "}"


def _describe_run(run: Run, inputs: _Inputs, step: int) -> str:
    details = [f"w shape {run.shape}"]
    if run.dtype != np.float64:
        details.append(f"{np.dtype(run.dtype).name} inputs")
    if run.scale != 1.0:
        details.append(f"gradients of size ~{run.scale:g}")
    if run.sparse:
        details.append("some gradient entries exactly 0")
    config = _describe_config(inputs.config0)
    if step > 1:
        config = f"starting from {config}, each call given the config returned by the previous one"
    details.append(config)
    return f"after step {step} of {run.steps} ({', '.join(details)})"


# --------------------------------------------------------------------------------------------
# comparison


def _tolerance(run: Run) -> float:
    return 1e-5 if run.dtype == np.float32 else 1e-6


def _array_difference(expected, got, rtol: float, *, nan_equal: bool = False) -> str | None:
    if got is None:
        return "got None instead of an array"
    with quiet():
        expected = np.asarray(expected, dtype=np.float64)
        try:
            got_array = np.asarray(got, dtype=np.float64)
        except (TypeError, ValueError):
            return f"expected an array, got {show(got)}"
        if nan_equal and got_array.shape == expected.shape:
            both = (np.isnan(expected) & np.isnan(got_array)) | (np.isinf(expected) & (expected == got_array))
            if np.any(both):
                expected, got_array = np.where(both, 0.0, expected), np.where(both, 0.0, got_array)
        finite = expected[np.isfinite(expected)]
        scale = float(np.max(np.abs(finite))) if finite.size else 0.0
        return arrays_differ(expected, got_array, rtol=rtol, atol=max(rtol * scale, 1e-300))


def _state_value(config, key):
    if not isinstance(config, Mapping):
        return _MISSING
    value = config.get(key, _MISSING)
    return _MISSING if value is None else value


def _step_difference(
    spec: RuleSpec, expected: tuple, got: tuple, rtol: float, *, nan_equal: bool = False,
) -> tuple[str, str] | None:
    """``(what, how)`` for the first output that differs (``next_w``, then each state key), else None."""
    (want_w, want_config), (have_w, have_config) = expected, got
    difference = _array_difference(want_w, have_w, rtol, nan_equal=nan_equal)
    if difference is not None:
        return "next_w", difference
    for key in spec.state:
        want, have = _state_value(want_config, key), _state_value(have_config, key)
        if want is _MISSING and have is _MISSING:
            continue
        if have is _MISSING:
            keys = sorted(map(str, have_config)) if isinstance(have_config, Mapping) else []
            return f"config[{key!r}]", (
                f"the returned config has no {key!r} (its keys: {keys}); "
                f"store the state in config so that the next call continues from it"
            )
        if want is _MISSING:
            return f"config[{key!r}]", f"expected no {key!r}, got {show(have)}"
        if key in spec.int_state:
            try:
                same = int(np.asarray(have)) == int(want) and float(np.asarray(have)) == float(int(want))
            except (TypeError, ValueError):
                same = False
            if not same:
                return f"config[{key!r}]", f"expected the integer {int(want)}, got {show(have)}"
            continue
        difference = _array_difference(want, have, rtol, nan_equal=nan_equal)
        if difference is not None:
            return f"config[{key!r}]", difference
    return None


def _unpack(name: str, result, where: str) -> tuple[Any, dict]:
    if isinstance(result, (str, bytes)) or not isinstance(result, Sequence) or len(result) != 2:
        raise GradingFailure(
            f"{name} should return a pair (next_w, config), {where} it returned {show(result)}."
        )
    next_w, config = result
    if not isinstance(config, Mapping):
        raise GradingFailure(
            f"{name} should return (next_w, config) with config a dict; {where} the second value is "
            f"{show(config)}. Return the config dict that holds the hyperparameters and the state."
        )
    return next_w, config


def _modified(before: Any, after: Any) -> bool:
    if isinstance(before, np.ndarray):
        return not (
            isinstance(after, np.ndarray) and after.shape == before.shape
            and bool(np.array_equal(before, after, equal_nan=True))
        )
    return False


def _in_place_failure(name: str, pristine: dict, given: dict, where: str) -> None:
    """Raise if an array the student was given (w, dw, an array in config) changed."""
    for label, before in pristine.items():
        if label == "config":
            continue
        if _modified(before, given[label]):
            raise GradingFailure(
                f"{name} modified its input {label} in place ({where}). Return a new array: "
                f"next_w = w - ..., not w -= ... (the caller still needs the old values)."
            )
    if isinstance(pristine.get("config"), Mapping):
        for key, before in pristine["config"].items():
            if isinstance(before, np.ndarray) and _modified(before, given["config_arrays"].get(key)):
                raise GradingFailure(
                    f"{name} modified the array config[{key!r}] it was given in place ({where}). Compute a "
                    f"new array (e.g. m = beta*m + ..., not m *= beta) and store it in the returned config."
                )


# --------------------------------------------------------------------------------------------
# running one implementation along a run


def _call(function: Callable, spec: RuleSpec, inputs: _Inputs, w, gradient, config, calls: list):
    second = inputs.grad_fn(calls) if spec.lookahead else gradient
    return function(w, second, config)


def _replay(function: Callable, spec: RuleSpec, inputs: _Inputs, steps: int, *, partial: bool = False) -> list | None:
    """A mutant's outputs along the first ``steps`` steps of the run, or None if it fails.

    With ``partial``, the outputs up to a failing step are returned instead of None.
    """
    outputs, w, config = [], inputs.w0.copy(), copy.deepcopy(inputs.config0)
    try:
        with quiet():
            for step in range(steps):
                gradient = None if inputs.gradients[step] is None else inputs.gradients[step].copy()
                result = _call(function, spec, inputs, w.copy(), gradient, copy.deepcopy(config), [])
                next_w, config = result
                outputs.append((next_w, copy.deepcopy(config)))
                w = np.asarray(next_w).copy()
    except Exception:
        return outputs if partial else None
    return outputs


def _agrees(spec: RuleSpec, first: list, second: list, rtol: float) -> bool:
    if first is None or second is None or len(first) != len(second):
        return False
    try:
        return all(_step_difference(spec, a, b, rtol, nan_equal=True) is None for a, b in zip(first, second))
    except Exception:
        return False


def _student_outputs(student_fn: Callable, spec: RuleSpec, inputs: _Inputs, steps: int) -> list | None:
    try:
        outputs = _replay(student_fn, spec, inputs, steps, partial=True)
    except Exception:
        return None
    return [(w, c) if isinstance(c, Mapping) else (w, {}) for w, c in outputs]


def _matching_steps(spec: RuleSpec, mutant: list | None, student: list, rtol: float) -> int:
    """How many of the student's outputs (step by step) the mutant reproduces."""
    if mutant is None:
        return 0
    count = 0
    for a, b in zip(mutant, student):
        try:
            count += _step_difference(spec, a, b, rtol, nan_equal=True) is None
        except Exception:
            pass
    return count


def _diagnose(
    name: str, spec: RuleSpec, student_fn: Callable, run: Run, inputs: _Inputs, student_trajectory: list,
    expected_step: tuple,
) -> str | None:
    """The description of the catalogued mistake that reproduces the student's run, if any."""
    rtol = _tolerance(run)
    steps = len(student_trajectory)
    candidates: list[Mistake] = []
    for mistake in UPDATE_RULE_MISTAKES.get(name, []):
        outputs = _replay(mistake.function, spec, inputs, steps)
        if outputs is None or not _agrees(spec, outputs, student_trajectory, rtol):
            continue
        if _step_difference(spec, expected_step, outputs[-1], rtol, nan_equal=True) is None:
            continue  # indistinguishable from the right answer here
        candidates.append(mistake)
    if len({mistake.description for mistake in candidates}) <= 1:
        return candidates[0].description if candidates else None
    # Several fit the steps so far (often a tie decided at step 1): compare them on the whole evidence, every
    # step of this run and of all the other runs; the mistake reproducing most of the student's outputs wins
    # (ties: the catalogue's order).
    scores = [0] * len(candidates)
    for other in [run, *(other for other in RUNS if other != run)]:
        other_inputs = _build(spec, other)
        student = _student_outputs(student_fn, spec, other_inputs, other.steps)
        if not student:
            continue
        for index, mistake in enumerate(candidates):
            mutant = _replay(mistake.function, spec, other_inputs, other.steps, partial=True)
            scores[index] += _matching_steps(spec, mutant, student, _tolerance(other))
    best = max(range(len(candidates)), key=lambda index: (scores[index], -index))
    return candidates[best].description


def _default_hint(spec: RuleSpec, run: Run, inputs: _Inputs, student_config: Mapping) -> str | None:
    """A sentence about a wrong default value, when the run started from config=None."""
    if inputs.config0 is not None and run.config != "partial":
        return None
    given = inputs.config0 or {}
    for key, default in spec.defaults.items():
        if key in given or key not in student_config:
            continue
        try:
            value = float(student_config[key])
        except (TypeError, ValueError):
            continue
        if not np.isclose(value, default, rtol=1e-12, atol=0):
            return (f"the default {key} should be {default:g} (DESIGN: {spec.defaults}), "
                    f"the returned config has {key} = {student_config[key]!r}")
    return None


def _lookahead_hint(spec: RuleSpec, reference_calls: list, student_calls: list, rtol: float) -> str | None:
    if not spec.lookahead or not reference_calls:
        return None
    point = reference_calls[-1]
    if not student_calls:
        return "grad_fn was never called: evaluate the gradient at the look-ahead point w + momentum*velocity"
    for call in student_calls:
        if np.shape(call) == point.shape and _array_difference(point, call, rtol) is None:
            return None
    with np.printoptions(precision=6, threshold=8, edgeitems=2):
        return (f"grad_fn was called at {np.array2string(np.asarray(student_calls[0]))}, but the look-ahead point "
                f"w + momentum*velocity is {np.array2string(point)}")


# --------------------------------------------------------------------------------------------
# the check


def check_update_rule(name: str, student_fn: Callable, *, runs: Sequence[Run] = RUNS) -> None:
    """Compare the student's update rule ``name`` with ``dlopt_reference.optim.<name>``; raise on a difference.

    Raises :class:`GradingFailure` (an ``AssertionError``) whose message says which call differs
    (step k of a run, the shape, the config), what was expected and what came back, and the
    likely mistake when the catalogue recognises it.
    """
    from .. import optim

    spec = RULES[name]
    reference = getattr(optim, name)
    if not callable(student_fn):
        raise GradingFailure(f"{name} should be a function, got {show(student_fn)}")
    second_name = "grad_fn" if spec.lookahead else "dw"
    for run in runs:
        inputs = _build(spec, run)
        rtol = _tolerance(run)
        reference_w, reference_config = inputs.w0.copy(), copy.deepcopy(inputs.config0)
        student_w, student_config = inputs.w0.copy(), copy.deepcopy(inputs.config0)
        trajectory = []
        for step in range(run.steps):
            where = _describe_run(run, inputs, step + 1)
            gradient = inputs.gradients[step]
            reference_calls: list = []
            with quiet():
                expected = _call(reference, spec, inputs, reference_w.copy(),
                                 None if gradient is None else gradient.copy(), copy.deepcopy(reference_config),
                                 reference_calls)
            given = {"w": np.array(student_w, copy=True)}
            if gradient is not None:
                given[second_name] = gradient.copy()
            given_config = copy.deepcopy(student_config)
            pristine = copy.deepcopy(given)
            pristine["config"] = copy.deepcopy(given_config)
            given_arrays = dict(given_config) if isinstance(given_config, Mapping) else {}
            student_calls: list = []
            second = inputs.grad_fn(student_calls) if spec.lookahead else given[second_name]
            try:
                result = call_student(name, student_fn, given["w"], second, given_config)
            except GradingFailure as failure:
                if "NotImplementedError" in str(failure):
                    raise
                raise GradingFailure(f"{failure}\n  The call: {name}, {where}.") from None
            given["config_arrays"] = given_arrays
            _in_place_failure(name, pristine, given, where)
            if spec.lookahead and len(student_calls) == 0:
                raise GradingFailure(
                    f"{name}: {where}: grad_fn was never called. Call it exactly once per step, at the look-ahead "
                    f"point w + momentum*velocity, and use the gradient it returns."
                )
            if spec.lookahead and len(student_calls) > 1:
                with np.printoptions(precision=6, threshold=8, edgeitems=2):
                    points = ", ".join(np.array2string(np.asarray(call)) for call in student_calls[:4])
                    right = np.array2string(reference_calls[-1]) if reference_calls else "w + momentum*velocity"
                raise GradingFailure(
                    f"{name}: {where}: grad_fn was called {len(student_calls)} times in one step (at {points}). "
                    f"Call it exactly once per step, at the look-ahead point w + momentum*velocity (here {right}): "
                    f"a gradient is the expensive part of a step, and Nesterov's method needs only that one."
                )
            got = _unpack(name, result, where)
            trajectory.append((got[0], copy.deepcopy(got[1])))
            difference = _step_difference(spec, expected, got, rtol)
            if difference is None and spec.lookahead:
                hint = _lookahead_hint(spec, reference_calls, student_calls, rtol)
                if hint is not None:
                    difference = ("the call of grad_fn", hint)
            if difference is not None:
                what, how = difference
                lines = [f"{name}: {where} {what} differs: {how}"]
                diagnosis = _diagnose(name, spec, student_fn, run, inputs, trajectory, expected)
                if diagnosis:
                    lines.append(f"This looks like: {diagnosis}.")
                for hint in (_default_hint(spec, run, inputs, got[1]),
                             _lookahead_hint(spec, reference_calls, student_calls, rtol) if what != "the call of grad_fn" else None):
                    if hint:
                        lines.append(f"Hint: {hint}.")
                raise GradingFailure("\n".join(lines))
            reference_w, reference_config = expected[0], expected[1]
            student_w, student_config = np.array(got[0], copy=True), copy.deepcopy(got[1])
