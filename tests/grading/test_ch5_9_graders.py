"""Tests of the graders of chapters 5-10 (schedules, batchnorm, search, ensembles, second order, practice).

1. every check passes on the reference and on independent correct implementations written differently;
2. every catalogued mistake is rejected, with its own diagnosis in the message ("This looks like: ...");
   hand-written wrong answers (not taken from the catalogue) get the expected diagnosis too;
3. a stub raising NotImplementedError gives "not implemented";
4. nothing reaches stderr, even for overflowing or warning-raising wrong answers; inputs modified in
   place are reported; every check is fast.
"""

from __future__ import annotations

import math
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

import ch5_9_alternatives as alt  # noqa: E402

from dlopt_reference import batchnorm as ref_batchnorm  # noqa: E402
from dlopt_reference import ensembles as ref_ensembles  # noqa: E402
from dlopt_reference import schedules as ref_schedules  # noqa: E402
from dlopt_reference import search as ref_search  # noqa: E402
from dlopt_reference import practice as ref_practice  # noqa: E402
from dlopt_reference import second_order as ref_second_order  # noqa: E402
from dlopt_reference.grading import batchnorm as g_batchnorm  # noqa: E402
from dlopt_reference.grading import ensembles as g_ensembles  # noqa: E402
from dlopt_reference.grading import schedules as g_schedules  # noqa: E402
from dlopt_reference.grading import search as g_search  # noqa: E402
from dlopt_reference.grading import practice as g_practice  # noqa: E402
from dlopt_reference.grading import second_order as g_second_order  # noqa: E402
from dlopt_reference.grading._report import GradingFailure  # noqa: E402

# ---------------------------------------------------------------------------------------------
# The registry: function name -> (check, reference, independent correct implementations)
# ---------------------------------------------------------------------------------------------

_PAIRS = ((g_schedules, ref_schedules), (g_search, ref_search), (g_ensembles, ref_ensembles),
          (g_second_order, ref_second_order), (g_practice, ref_practice))

# every function of these graders that has right answers in ch5_9_alternatives (the backward passes,
# which grade a student's backward with their own forward pass: below)
PLAIN = {name: (getattr(grader, f"check_{name}"), getattr(reference, name), right)
         for name, right in alt.RIGHT_ANSWERS.items() for grader, reference in _PAIRS
         if hasattr(grader, f"check_{name}") and name != "layernorm_backward"}

PLAIN_CATALOGUES = {**g_schedules.MISTAKES, **g_search.MISTAKES, **g_ensembles.MISTAKES, **g_second_order.MISTAKES,
                    **{name: m for name, m in g_practice.MISTAKES.items() if name != "layernorm_backward"}}

ALL_CHECKS = {name: entry[0] for name, entry in PLAIN.items()}
ALL_CHECKS.update({
    "batchnorm_forward": g_batchnorm.check_batchnorm_forward,
    "batchnorm_backward": g_batchnorm.check_batchnorm_backward,
    "batchnorm_backward_alt": g_batchnorm.check_batchnorm_backward_alt,
    "layernorm_backward": g_practice.check_layernorm_backward,
})

# the backward passes are graded with a forward pass that builds their cache
FORWARD_OF = {"batchnorm_backward": alt.batchnorm_forward, "batchnorm_backward_alt": alt.batchnorm_forward,
              "layernorm_backward": alt.layernorm_forward}


def _message(check, function, *args) -> str:
    with pytest.raises(GradingFailure) as failure:
        check(function, *args)
    return str(failure.value)


# ---------------------------------------------------------------------------------------------
# 1. right answers pass
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(PLAIN))
def test_reference_passes(name):
    check, reference, _ = PLAIN[name]
    check(reference)


@pytest.mark.parametrize("name, index", [(name, i) for name, entry in sorted(PLAIN.items()) for i in range(len(entry[2]))])
def test_alternative_correct_implementation_passes(name, index):
    check, _, alternatives = PLAIN[name]
    check(alternatives[index])


def test_batchnorm_reference_passes():
    g_batchnorm.check_batchnorm_forward(ref_batchnorm.batchnorm_forward)
    g_batchnorm.check_batchnorm_backward(ref_batchnorm.batchnorm_backward)
    g_batchnorm.check_batchnorm_backward_alt(ref_batchnorm.batchnorm_backward_alt)
    g_batchnorm.check_batchnorm_backward(ref_batchnorm.batchnorm_backward, ref_batchnorm.batchnorm_forward)
    g_batchnorm.check_batchnorm_backward_alt(ref_batchnorm.batchnorm_backward_alt, ref_batchnorm.batchnorm_forward)


@pytest.mark.parametrize("forward", alt.RIGHT_ANSWERS["batchnorm_forward"], ids=lambda f: f.__name__)
def test_batchnorm_alternatives_with_their_own_cache_pass(forward):
    """Every right forward pass, and every right backward pass given the cache of each right forward pass."""
    g_batchnorm.check_batchnorm_forward(forward)
    for backward in alt.RIGHT_ANSWERS["batchnorm_backward"]:
        g_batchnorm.check_batchnorm_backward(backward, forward)
        # the staged and the closed form are interchangeable
        g_batchnorm.check_batchnorm_backward_alt(backward, forward)
    for backward_alt in alt.RIGHT_ANSWERS["batchnorm_backward_alt"]:
        g_batchnorm.check_batchnorm_backward_alt(backward_alt, forward)


def test_batchnorm_backward_with_a_wrong_forward_says_so():
    def forward_ddof1(x, gamma, beta, bn_param):
        out, cache = alt.batchnorm_forward(x, gamma, beta, bn_param)
        return out * 1.01, cache

    message = _message(g_batchnorm.check_batchnorm_backward, alt.batchnorm_backward, forward_ddof1)
    assert "batchnorm_forward" in message and "correct first" in message


# ---------------------------------------------------------------------------------------------
# 2. every catalogued mistake is rejected with its own diagnosis
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, index", [(name, i) for name, mistakes in sorted(PLAIN_CATALOGUES.items())
                                         for i in range(len(mistakes)) if mistakes[i].function is not None])
def test_catalogued_mistake_is_diagnosed(name, index):
    mistake = PLAIN_CATALOGUES[name][index]
    message = _message(ALL_CHECKS[name], mistake.function)
    assert f"This looks like: {mistake.description}" in message, message


def _student_forward(mistake_function):
    """A student-style forward (out, cache) built from a mistake written as (x, gamma, beta, bn_param) -> triple."""

    def batchnorm_forward(x, gamma, beta, bn_param):
        out, running_mean, running_var = mistake_function(x, gamma, beta, bn_param)
        bn_param["running_mean"], bn_param["running_var"] = running_mean, running_var
        return out, (x, gamma, beta, dict(bn_param))

    return batchnorm_forward


_CORRECT_FORWARD_WITH_INPUT_CACHE = _student_forward(
    lambda x, gamma, beta, bn_param: (
        alt.batchnorm_forward(x, gamma, beta, bn_param)[0], bn_param.get("running_mean"), bn_param.get("running_var"))
)


@pytest.mark.parametrize("index", range(len(g_batchnorm.FORWARD_MISTAKES)))
def test_batchnorm_forward_mistake_is_diagnosed(index):
    mistake = g_batchnorm.FORWARD_MISTAKES[index]
    message = _message(g_batchnorm.check_batchnorm_forward, _student_forward(mistake.function))
    assert f"This looks like: {mistake.description}" in message, message


@pytest.mark.parametrize("check", [g_batchnorm.check_batchnorm_backward, g_batchnorm.check_batchnorm_backward_alt])
@pytest.mark.parametrize("index", range(len(g_batchnorm.BACKWARD_MISTAKES)))
def test_batchnorm_backward_mistake_is_diagnosed(index, check):
    mistake = g_batchnorm.BACKWARD_MISTAKES[index]

    def backward(dout, cache):
        x, gamma, beta, bn_param = cache
        return mistake.function(x, gamma, beta, dout, bn_param)

    message = _message(check, backward, _CORRECT_FORWARD_WITH_INPUT_CACHE)
    assert f"This looks like: {mistake.description}" in message, message


def test_layernorm_reference_and_alternative_pass():
    g_practice.check_layernorm_backward(ref_practice.layernorm_backward)
    g_practice.check_layernorm_backward(ref_practice.layernorm_backward, ref_practice.layernorm_forward)
    g_practice.check_layernorm_backward(alt.layernorm_backward, alt.layernorm_forward)


_CORRECT_LN_FORWARD_WITH_INPUT_CACHE = _student_forward(
    lambda x, gamma, beta, ln_param: (alt.layernorm_forward(x, gamma, beta, ln_param)[0], None, None))


@pytest.mark.parametrize("index", range(len(g_practice.LN_BACKWARD_MISTAKES)))
def test_layernorm_backward_mistake_is_diagnosed(index):
    mistake = g_practice.LN_BACKWARD_MISTAKES[index]

    def backward(dout, cache):
        x, gamma, beta, ln_param = cache
        return mistake.function(x, gamma, beta, dout, ln_param)

    message = _message(g_practice.check_layernorm_backward, backward, _CORRECT_LN_FORWARD_WITH_INPUT_CACHE)
    assert f"This looks like: {mistake.description}" in message, message


def test_layernorm_backward_with_a_wrong_forward_says_so():
    def forward_axis0(x, gamma, beta, ln_param):
        out, cache = alt.layernorm_forward(x.T, np.ones(x.shape[0]), np.zeros(x.shape[0]), ln_param)
        return gamma * out.T + beta, cache

    message = _message(g_practice.check_layernorm_backward, alt.layernorm_backward, forward_axis0)
    assert "layernorm_forward" in message and "correct first" in message


# Hand-written wrong answers, as students write them (not taken from the catalogue).

def _exp_staircase_ignored(learning_rate, global_step, decay_steps, decay_rate, staircase=False):
    return learning_rate * decay_rate ** (global_step / decay_steps)


def _exp_is_natural(learning_rate, global_step, decay_steps, decay_rate, staircase=False):
    p = global_step // decay_steps if staircase else global_step / decay_steps
    return learning_rate * np.exp(-decay_rate * p)


def _piecewise_off_by_one(global_step, boundaries, values):
    for i, boundary in enumerate(boundaries):
        if global_step < boundary:
            return values[i]
    return values[-1]


def _polynomial_floor_cycle(learning_rate, global_step, decay_steps, end_learning_rate=1e-4, power=1.0, cycle=False):
    if cycle:
        decay_steps = decay_steps * max(1, np.floor(global_step / decay_steps))
    else:
        global_step = min(global_step, decay_steps)
    return (learning_rate - end_learning_rate) * (1 - global_step / decay_steps) ** power + end_learning_rate


def _polynomial_cycle_zero(learning_rate, global_step, decay_steps, end_learning_rate=1e-4, power=1.0, cycle=False):
    if cycle:
        decay_steps = decay_steps * np.ceil(global_step / decay_steps)  # numpy: 0/0 gives nan, not an error
    else:
        global_step = min(global_step, decay_steps)
    return (learning_rate - end_learning_rate) * (1 - global_step / decay_steps) ** power + end_learning_rate


def _cosine_no_clamp(learning_rate, global_step, decay_steps, alpha=0.0):
    cosine = 0.5 * (1 + np.cos(np.pi * global_step / decay_steps))
    return learning_rate * ((1 - alpha) * cosine + alpha)


def _step_decay_no_floor(learning_rate, epoch, drop=0.5, epochs_drop=10):
    return learning_rate * np.power(drop, epoch / epochs_drop)


def _ensemble_vote(probs):
    labels = np.array([p.argmax(axis=1) for p in probs])
    n_classes = probs[0].shape[1]
    return np.stack([(labels == c).mean(axis=0) for c in range(n_classes)], axis=1)


def _ensemble_wrong_axis(probs):
    return np.mean(np.array(probs), axis=2)


def _ema_swapped(average, params, decay=0.999):
    return decay * params + (1 - decay) * average


def _newton_plus(grad, hessian):
    return np.linalg.inv(hessian) @ grad


def _newton_times_h(grad, hessian):
    return -np.dot(hessian, grad)


def _bfgs_hessian_formula(H_inv, s, y):
    B = H_inv
    return B + np.outer(y, y) / np.dot(y, s) - B @ np.outer(s, s) @ B / (s @ B @ s)


def _bfgs_rho_ss(H_inv, s, y):
    rho = 1 / np.dot(s, s)
    eye = np.eye(len(s))
    return (eye - rho * np.outer(s, y)) @ H_inv @ (eye - rho * np.outer(y, s)) + rho * np.outer(s, s)


def _lbfgs(grad, s_history, y_history, *, swap_loops=False, gamma_one=False, oldest_gamma=False, plus=False):
    q = np.array(grad, dtype=float)
    k = len(s_history)
    rhos = [1 / (y_history[i] @ s_history[i]) for i in range(k)]
    alphas = [0.0] * k
    order = list(range(k)) if swap_loops else list(reversed(range(k)))
    for i in order:
        alphas[i] = rhos[i] * (s_history[i] @ q)
        q -= alphas[i] * y_history[i]
    gamma = 1.0
    if k and not gamma_one:
        j = 0 if oldest_gamma else -1
        gamma = (s_history[j] @ y_history[j]) / (y_history[j] @ y_history[j])
    r = gamma * q
    for i in reversed(order):
        beta = rhos[i] * (y_history[i] @ r)
        r += s_history[i] * (alphas[i] - beta)
    return r if plus else -r


def _log_uniform_global_rng(rng, low, high, size=None):
    return 10 ** np.random.uniform(low, high, size)


def _log_uniform_linear(rng, low, high, size=None):
    return rng.uniform(10 ** low, 10 ** high, size=size)


def _log_uniform_natural(rng, low, high, size=None):
    return np.exp(rng.uniform(low, high, size))


def _random_search_new_rng(objective, space, n_trials, rng):
    rng = np.random.default_rng(12345)
    trials = []
    for _ in range(n_trials):
        params = {name: sampler(rng) for name, sampler in space.items()}
        trials.append({"params": params, "score": objective(params)})
    return sorted(trials, key=lambda t: (np.isnan(t["score"]), t["score"]))


def _random_search_worst_first(objective, space, n_trials, rng):
    trials = []
    for _ in range(n_trials):
        params = {name: sampler(rng) for name, sampler in space.items()}
        trials.append({"params": params, "score": objective(params)})
    return sorted(trials, key=lambda t: t["score"], reverse=True)


def _grid_search_zip(objective, grid):
    names = list(grid)
    trials = [{"params": dict(zip(names, values)), "score": objective(dict(zip(names, values)))}
              for values in zip(*grid.values())]
    return sorted(trials, key=lambda t: (np.isnan(t["score"]), t["score"]))


def _warmup_hf_plus_one(learning_rate, global_step, warmup_steps, total_steps, alpha=0.0):
    if global_step < warmup_steps:
        return learning_rate * float(global_step + 1) / float(max(1, warmup_steps))
    progress = float(global_step - warmup_steps) / float(max(1, total_steps - warmup_steps))
    return learning_rate * max(0.0, 0.5 * (1.0 + math.cos(math.pi * progress)))


def _clip_torch(grads, max_norm):
    total = np.linalg.norm(np.stack([np.linalg.norm(g) for g in grads]))
    coefficient = min(max_norm / (total + 1e-6), 1.0)
    return [g * coefficient for g in grads], total


def _clip_each(grads, max_norm):
    out = []
    for g in grads:
        n = np.sqrt((g ** 2).sum())
        out.append(g * max_norm / n if n > max_norm else g.copy())
    return out, np.sqrt(sum((g ** 2).sum() for g in grads))


def _layernorm_over_batch(x, gamma, beta, ln_param):
    mu, var = x.mean(0), x.var(0)
    return gamma * (x - mu) / np.sqrt(var + ln_param.get("eps", 1e-5)) + beta, None


def _power_norm(hvp, v0, num_iters=100):
    v = v0 / np.linalg.norm(v0)
    lam = 0.0
    for _ in range(num_iters):
        w = hvp(v)
        lam = np.linalg.norm(w)
        v = w / lam
    return lam, v


HAND_WRITTEN = [
    ("warmup_cosine", _warmup_hf_plus_one, "warmup off by one"),
    ("clip_by_global_norm", _clip_torch, "PyTorch's clip_grad_norm_ convention"),
    ("clip_by_global_norm", _clip_each, "each array clipped by its own norm"),
    ("layernorm_forward", _layernorm_over_batch, "statistics over the batch"),
    ("top_hessian_eigenvalue", _power_norm, "the sign is lost"),
    ("sample_log_uniform", _log_uniform_global_rng, "rng argument was not used"),
    ("sample_log_uniform", _log_uniform_linear, "linear instead of log-uniform"),
    ("sample_log_uniform", _log_uniform_natural, "natural exponent"),
    ("random_search", _random_search_new_rng, "rng argument was not used"),
    ("random_search", _random_search_worst_first, "sorted worst first"),
    ("grid_search", _grid_search_zip, "grid missing combinations"),
    ("exponential_decay", _exp_staircase_ignored, "staircase ignored"),
    ("exponential_decay", _exp_is_natural, "natural exponential decay"),
    ("piecewise_constant", _piecewise_off_by_one, "off by one at a boundary"),
    ("polynomial_decay", _polynomial_floor_cycle, "floor instead of ceil"),
    ("polynomial_decay", _polynomial_cycle_zero, "at step 0"),
    ("cosine_decay", _cosine_no_clamp, "not clamped"),
    ("step_decay", _step_decay_no_floor, "no floor"),
    ("ensemble_predict", _ensemble_vote, "majority vote"),
    ("ensemble_predict", _ensemble_wrong_axis, "wrong axis"),
    ("ema_update", _ema_swapped, "weights swapped"),
    ("newton_step", _newton_plus, "wrong sign"),
    ("newton_step", _newton_times_h, "instead of its inverse"),
    ("bfgs_update", _bfgs_hessian_formula, "update of the Hessian B"),
    ("bfgs_update", _bfgs_rho_ss, "rho = 1 / (s's)"),
    ("lbfgs_direction", lambda g, s, y: _lbfgs(g, s, y, swap_loops=True), "loops in the wrong order"),
    ("lbfgs_direction", lambda g, s, y: _lbfgs(g, s, y, gamma_one=True), "missing H0 scaling"),
    ("lbfgs_direction", lambda g, s, y: _lbfgs(g, s, y, oldest_gamma=True), "oldest pair"),
    ("lbfgs_direction", lambda g, s, y: _lbfgs(g, s, y, plus=True), "returns +H grad"),
]


@pytest.mark.parametrize("name, wrong, diagnosis", HAND_WRITTEN, ids=[f"{n}-{d}" for n, _, d in HAND_WRITTEN])
def test_hand_written_mistake_is_diagnosed(name, wrong, diagnosis):
    message = _message(ALL_CHECKS[name], wrong)
    assert "This looks like:" in message and diagnosis in message, message
    assert f"{name}(" in message  # the message names the call


def test_batchnorm_hand_written_mistakes_are_diagnosed():
    def forward_unbiased(x, gamma, beta, bn_param):
        out, cache = alt.batchnorm_forward(x, gamma, beta, bn_param)
        if bn_param["mode"] == "train":
            x_hat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0, ddof=1) + bn_param.get("eps", 1e-5))
            out = gamma * x_hat + beta
        return out, cache

    def forward_torch_momentum(x, gamma, beta, bn_param):
        before_mean = bn_param.get("running_mean", np.zeros(x.shape[1]))
        before_var = bn_param.get("running_var", np.zeros(x.shape[1]))
        out, cache = alt.batchnorm_forward(x, gamma, beta, bn_param)
        if bn_param["mode"] == "train":
            m = bn_param.get("momentum", 0.9)
            bn_param["running_mean"] = m * x.mean(axis=0) + (1 - m) * before_mean
            bn_param["running_var"] = m * x.var(axis=0) + (1 - m) * before_var
        return out, cache

    def forward_test_batch_stats(x, gamma, beta, bn_param):
        return alt.batchnorm_forward(x, gamma, beta, {**bn_param, "mode": "train"} if bn_param["mode"] == "test" else bn_param)

    def backward_no_mean_term(dout, cache):
        x_hat, gamma, std = cache["x_hat"], cache["gamma"], cache["std"]
        dx = gamma / std * (dout - x_hat * (dout * x_hat).mean(axis=0))
        return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)

    def backward_dgamma_axis(dout, cache):
        dx, _, dbeta = alt.batchnorm_backward_alt(dout, cache)
        return dx, (dout * cache["x_hat"]).sum(axis=1), dbeta

    check_fwd = g_batchnorm.check_batchnorm_forward
    assert "unbiased variance" in _message(check_fwd, forward_unbiased)
    assert "momentum weights swapped" in _message(check_fwd, forward_torch_momentum)
    assert "test mode uses the batch statistics" in _message(check_fwd, forward_test_batch_stats)
    check_bwd = g_batchnorm.check_batchnorm_backward
    assert "batch mean is missing" in _message(check_bwd, backward_no_mean_term, alt.batchnorm_forward)
    assert "dgamma summed over the wrong axis" in _message(check_bwd, backward_dgamma_axis, alt.batchnorm_forward)


def test_catalogues_are_long_and_unique():
    """Long: at least 150 mistakes in all, at least 5 per function.

    Unique: no function name is in two graders' catalogues (merging them into one dict would silently drop
    one), and no catalogue lists the same wrong implementation twice: two entries never have the same code
    with the same constants, defaults and captured values (source location aside, so a body pasted twice
    counts as one), and two entries without a function never share a description. Two entries may share
    a description: they are different code with the same diagnosis (e.g. the unbiased variance in the
    batch statistics only, or in the running variance too).
    """
    import functools
    import types

    sources = [g_schedules.MISTAKES, g_search.MISTAKES, g_ensembles.MISTAKES, g_second_order.MISTAKES,
               g_batchnorm.MISTAKES, g_practice.MISTAKES]
    names = [name for source in sources for name in source]
    assert len(names) == len(set(names)), sorted({name for name in names if names.count(name) > 1})
    catalogues = {**PLAIN_CATALOGUES, **g_batchnorm.MISTAKES,
                  "layernorm_backward": g_practice.MISTAKES["layernorm_backward"]}
    assert sorted(catalogues) == sorted(names)
    assert sum(len(m) for m in catalogues.values()) >= 150

    def fingerprint(obj, active=()):
        """What a wrong implementation computes with: its code, constants, defaults and captured values."""
        if id(obj) in active:                                   # a closure that refers to itself
            return "<recursive>"
        active = active + (id(obj),)
        if isinstance(obj, functools.partial):
            return ("partial", fingerprint(obj.func, active), fingerprint(obj.args, active),
                    fingerprint(obj.keywords, active))
        if isinstance(obj, types.FunctionType):
            cells = tuple(fingerprint(cell.cell_contents, active) for cell in obj.__closure__ or ())
            return ("function", fingerprint(obj.__code__, active), fingerprint(obj.__defaults__, active),
                    fingerprint(obj.__kwdefaults__, active), cells)
        if isinstance(obj, types.CodeType):
            return ("code", obj.co_code, obj.co_names, fingerprint(obj.co_consts, active))
        if isinstance(obj, (tuple, list)):
            return (type(obj).__name__, *(fingerprint(item, active) for item in obj))
        if isinstance(obj, dict):
            return ("dict", *sorted((repr(key), fingerprint(value, active)) for key, value in obj.items()))
        if isinstance(obj, np.ndarray):
            return ("array", obj.dtype.str, obj.shape, obj.tobytes())
        return repr(obj)

    for name, mistakes in catalogues.items():
        assert len(mistakes) >= 5, name
        seen = {}
        for mistake in mistakes:
            key = ("description", mistake.description) if mistake.function is None else fingerprint(mistake.function)
            assert key not in seen, f"{name}: {mistake.description!r} repeats {seen[key]!r}"
            seen[key] = mistake.description


# ---------------------------------------------------------------------------------------------
# 3. stubs, 4. stderr, inputs, types
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(ALL_CHECKS))
def test_stub_is_reported_as_not_implemented(name):
    def stub(*args, **kwargs):
        raise NotImplementedError

    args = (FORWARD_OF[name],) if name in FORWARD_OF else ()
    message = _message(ALL_CHECKS[name], stub, *args)
    assert "not implemented" in message


def test_backward_with_a_stub_forward_is_not_implemented():
    def stub(*args, **kwargs):
        raise NotImplementedError

    assert "not implemented" in _message(g_batchnorm.check_batchnorm_backward, alt.batchnorm_backward, stub)


def _overflowing(*args, **kwargs):
    warnings.warn("a student's warning", RuntimeWarning)
    print("student debug output", file=sys.stderr)
    return np.exp(np.float64(1000.0)) * np.ones(1) - np.inf


@pytest.mark.parametrize("name", sorted(ALL_CHECKS))
def test_nothing_reaches_stderr(name, capfd):
    quiet_failures = []
    for wrong in (_overflowing, lambda *a, **k: np.float64(1e308) * 10, lambda *a, **k: np.log(np.zeros(3))):
        args = (FORWARD_OF[name],) if name in FORWARD_OF else ()
        try:
            ALL_CHECKS[name](wrong, *args)
        except GradingFailure as failure:
            quiet_failures.append(str(failure))
    captured = capfd.readouterr()
    assert len(quiet_failures) == 3
    assert "RuntimeWarning" not in captured.err and "overflow" not in captured.err
    # only the student's own print may appear; the graders add nothing
    assert captured.err.replace("student debug output\n", "") == ""


def test_modifying_an_input_is_reported():
    def newton_in_place(grad, hessian):
        grad *= -1
        return np.linalg.solve(hessian, grad)

    def ema_in_place(average, params, decay=0.999):
        average *= decay
        average += (1 - decay) * params
        return average

    def forward_in_place(x, gamma, beta, bn_param):
        out, cache = alt.batchnorm_forward(x.copy(), gamma, beta, bn_param)
        x -= x.mean(axis=0)
        return out, cache

    assert "in place" in _message(g_second_order.check_newton_step, newton_in_place)
    assert "in place" in _message(g_ensembles.check_ema_update, ema_in_place)
    assert "in place" in _message(g_batchnorm.check_batchnorm_forward, forward_in_place)


def test_wrong_type_and_shape_are_reported_readably():
    message = _message(g_ensembles.check_polyak_average, lambda history: "average")
    assert "polyak_average(" in message
    message = _message(g_second_order.check_newton_step, lambda g, h: -np.linalg.solve(h, g)[:, None])
    assert "shape" in message
    message = _message(g_batchnorm.check_batchnorm_forward, lambda x, gamma, beta, bn_param: x)
    assert "batchnorm_forward" in message


def test_message_names_the_call_and_the_values():
    message = _message(g_schedules.check_exponential_decay, _exp_staircase_ignored)
    assert "exponential_decay(" in message and "expected" in message and "got" in message


def test_checks_are_exported_from_the_grading_package():
    import dlopt_reference.grading as grading

    for name, check in ALL_CHECKS.items():
        assert getattr(grading, f"check_{name}") is check
        assert grading.CHECKS[name] is check


@pytest.mark.parametrize("function, words", alt.WRONG_SUCCESSIVE_HALVING,
                         ids=[function.__name__ for function, _ in alt.WRONG_SUCCESSIVE_HALVING])
def test_successive_halving_mistakes_written_differently_are_diagnosed(function, words):
    """Wrong answers written independently of the grader's catalogue are caught and named."""
    assert words in _message(g_search.check_successive_halving, function)
