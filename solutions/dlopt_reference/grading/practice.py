"""Graders for chapter 10, training recipes in practice.

- ``check_warmup_cosine``: every phase of the schedule (inside and at the ends of the warmup, the
  cosine, after its end), ``warmup_steps = 0``, learning rates other than 1, ``alpha`` given or left out.
- ``check_clip_by_global_norm``: lists of arrays of several shapes whose global norm is above, below or
  near the threshold, tiny gradients (where PyTorch's 1e-6 shows), tuples; the returned norm is the
  norm before clipping; the arrays given must not change.
- ``check_layernorm_forward``: the output on batches of several shapes, rows of tiny variance (where eps
  matters), ``ln_param`` with and without ``eps`` and with other keys (``mode``), a batch of one example.
- ``check_layernorm_backward(layernorm_backward, layernorm_forward=None)``: ``(dx, dgamma, dbeta)``; the
  cache comes from the student's forward pass when it is given (its layout is the student's choice).
- ``check_top_hessian_eigenvalue``: symmetric matrices with a clear gap between the two dominant
  eigenvalues (so that every correct power iteration has converged to the tolerance), a dominant
  eigenvalue that is negative, large eigenvalues, ``num_iters`` given or left out. The eigenvector is
  compared up to its sign.
"""

from __future__ import annotations

import numpy as np

from .. import practice as _reference
from ._common_checks import Case, Mistake, check_cases, compare_tuple, compare_values, short
from ._report import GradingFailure, call_student, quiet, show

__all__ = ["check_warmup_cosine", "check_clip_by_global_norm", "check_layernorm_forward", "check_layernorm_backward",
           "check_top_hessian_eigenvalue", "MISTAKES"]

_RTOL, _ATOL = 1e-6, 1e-9


# --------------------------------------------------------------------------------------------
# warmup_cosine
# --------------------------------------------------------------------------------------------

def _warmup_cosine(learning_rate, global_step, warmup_steps, total_steps, alpha=0.0, *, warmup="t/W",
                   progress="after_warmup", clamp=True, use_alpha=True, alpha_absolute=False, half=True,
                   shape="cosine", default_alpha=None):
    """A warmup + cosine schedule with one switch away from the reference."""
    if default_alpha is not None and alpha == 0.0:
        alpha = default_alpha
    t, W, T = global_step, warmup_steps, total_steps
    if warmup == "t/W" and t < W:
        return learning_rate * t / W
    if warmup == "(t+1)/W" and t < W:
        return learning_rate * (t + 1) / W
    if warmup == "min":
        factor = min(1.0, t / W)                 # raises ZeroDivisionError for W = 0
        if factor < 1.0:
            return learning_rate * factor
    if progress == "after_warmup":
        p = (t - W) / (T - W)
    elif progress == "over_total":
        p = t / T
    elif progress == "shifted_over_total":
        p = (t - W) / T
    if clamp:
        p = min(max(p, 0.0), 1.0)
    if shape == "cosine":
        decay = 0.5 * (1 + np.cos(np.pi * p)) if half else 1 + np.cos(np.pi * p)
    elif shape == "linear":
        decay = 1.0 - p
    elif shape == "quarter":
        decay = np.cos(0.5 * np.pi * p)
    if not use_alpha:
        return float(learning_rate * decay)
    if alpha_absolute:
        return float(alpha + (learning_rate - alpha) * decay)
    return float(learning_rate * (alpha + (1 - alpha) * decay))


def _wc(**switches):
    def warmup_cosine(learning_rate, global_step, warmup_steps, total_steps, alpha=0.0):
        return _warmup_cosine(learning_rate, global_step, warmup_steps, total_steps, alpha, **switches)

    return warmup_cosine


WARMUP_COSINE_MISTAKES = [
    Mistake("warmup off by one: the rate is learning_rate * t / warmup_steps (0 at step 0), not (t + 1) / warmup_steps",
            _wc(warmup="(t+1)/W")),
    Mistake("no warmup: the rate grows linearly from 0 during the first warmup_steps steps", _wc(warmup="none",
                                                                                                   progress="over_total")),
    Mistake("warmup_steps = 0 not handled: t / warmup_steps divides by zero; with no warmup the cosine starts at once",
            _wc(warmup="min")),
    Mistake("cosine progress counted from step 0 over total_steps; it is (t - warmup_steps) / (total_steps - warmup_steps)",
            _wc(progress="over_total")),
    Mistake("cosine progress (t - warmup_steps) / total_steps; the decay lasts total_steps - warmup_steps steps",
            _wc(progress="shifted_over_total")),
    Mistake("not clamped after total_steps: the cosine rises again; the rate stays at alpha * learning_rate",
            _wc(clamp=False)),
    Mistake("alpha ignored: the rate decays to alpha * learning_rate, not to 0", _wc(use_alpha=False)),
    Mistake("alpha used as an absolute final rate; it is a fraction of learning_rate: "
            "learning_rate * (alpha + (1 - alpha) * cosine)", _wc(alpha_absolute=True)),
    Mistake("the factor 1/2 of the cosine is missing: 0.5 * (1 + cos(pi * progress))", _wc(half=False)),
    Mistake("linear decay instead of cosine after the warmup", _wc(shape="linear")),
    Mistake("a quarter cosine cos(pi/2 * progress); the schedule is 0.5 * (1 + cos(pi * progress))", _wc(shape="quarter")),
    Mistake("wrong default for alpha (the default is 0.0)", _wc(default_alpha=0.1)),
]


def _warmup_cosine_cases():
    cases = []
    for lr, W, T, alpha in [(1.0, 4, 20, 0.0), (0.3, 10, 50, 0.1), (2.5e-3, 3, 8, 0.25), (0.1, 0, 12, 0.0),
                            (0.05, 1, 5, 0.5)]:
        steps = sorted({0, 1, max(W - 1, 0), W, W + 1, (W + T) // 2, T - 1, T, T + 3})
        for t in steps:
            note = f"warmup_steps={W}, total_steps={T}, step {t}"
            if alpha == 0.0 and (lr, W) != (0.1, 0):
                cases.append(Case(lambda lr=lr, t=t, W=W, T=T: ((lr, t, W, T), {}), note + ", alpha left out"))
            else:
                cases.append(Case(lambda lr=lr, t=t, W=W, T=T, alpha=alpha: ((lr, t, W, T, alpha), {}),
                                  note + f", alpha={alpha}"))
    return cases


def check_warmup_cosine(warmup_cosine) -> None:
    """Grade ``warmup_cosine(learning_rate, global_step, warmup_steps, total_steps, alpha=0.0) -> rate``."""
    check_cases("warmup_cosine", warmup_cosine, _reference.warmup_cosine, _warmup_cosine_cases(),
                WARMUP_COSINE_MISTAKES, compare=lambda e, g: compare_values(e, g, rtol=_RTOL, atol=1e-12))


# --------------------------------------------------------------------------------------------
# clip_by_global_norm
# --------------------------------------------------------------------------------------------

def _arrays(grads):
    return [np.asarray(g, dtype=float) for g in grads]


def _clip(kind):
    def clip_by_global_norm(grads, max_norm):
        arrays = _arrays(grads)
        squares = sum(float(np.sum(g * g)) for g in arrays)
        norm = float(np.sqrt(squares))
        if kind == "torch_eps":
            scale = min(1.0, max_norm / (norm + 1e-6))
            return [g * scale for g in arrays], norm
        if kind == "per_array":
            return [g * (max_norm / max(np.linalg.norm(g), max_norm)) for g in arrays], norm
        if kind == "by_value":
            return [np.clip(g, -max_norm, max_norm) for g in arrays], norm
        if kind == "always":
            return [g * (max_norm / norm) for g in arrays], norm
        if kind == "no_sqrt":
            return [g * (max_norm / max(squares, max_norm)) for g in arrays], squares
        if kind == "norm_after":
            clipped = [g * (max_norm / max(norm, max_norm)) for g in arrays]
            return clipped, float(np.sqrt(sum(np.sum(c * c) for c in clipped)))
        if kind == "inverted":
            return [g * (max(norm, max_norm) / max_norm) for g in arrays], norm
        if kind == "sum_of_norms":
            total = float(sum(np.linalg.norm(g) for g in arrays))
            return [g * (max_norm / max(total, max_norm)) for g in arrays], total
        if kind == "max_of_norms":
            largest = float(max(np.linalg.norm(g) for g in arrays))
            return [g * (max_norm / max(largest, max_norm)) for g in arrays], largest
        if kind == "rms":
            rms = float(np.sqrt(squares / sum(g.size for g in arrays)))
            return [g * (max_norm / max(rms, max_norm)) for g in arrays], rms
        if kind == "list_only":
            return [g * (max_norm / max(norm, max_norm)) for g in arrays]
        raise ValueError(kind)

    return clip_by_global_norm


CLIP_MISTAKES = [
    Mistake("PyTorch's clip_grad_norm_ convention, max_norm / (norm + 1e-6): this function follows "
            "tf.clip_by_global_norm, max_norm / max(norm, max_norm), without eps", _clip("torch_eps")),
    Mistake("each array clipped by its own norm; all arrays share one factor computed from the global norm",
            _clip("per_array")),
    Mistake("clipping by value (each entry into [-max_norm, max_norm]); clip the global norm", _clip("by_value")),
    Mistake("the gradients are rescaled even when their norm is below max_norm; only scale when norm > max_norm",
            _clip("always")),
    Mistake("the norm without the square root: the global norm is sqrt(sum of the squares of all entries)",
            _clip("no_sqrt")),
    Mistake("the returned norm is the norm after clipping; return the global norm before clipping",
            _clip("norm_after")),
    Mistake("the factor is inverted: multiply by max_norm / norm, not norm / max_norm", _clip("inverted")),
    Mistake("the global norm as the sum of the arrays' norms; it is sqrt(sum of their squared norms)",
            _clip("sum_of_norms")),
    Mistake("the global norm as the largest of the arrays' norms; it is sqrt(sum of their squared norms)",
            _clip("max_of_norms")),
    Mistake("a root-mean-square instead of the norm: sum the squares, do not average them", _clip("rms")),
    Mistake("only the clipped list is returned; return the pair (clipped, global_norm)", _clip("list_only")),
]


def _clip_case(seed, shapes, target_norm, max_norm, *, container=list, note=""):
    def make():
        rng = np.random.default_rng(seed)
        grads = [rng.normal(size=shape) for shape in shapes]
        norm = np.sqrt(sum(np.sum(g * g) for g in grads))
        grads = [g * (target_norm / norm) for g in grads]
        return (container(grads), max_norm), {}

    text = f"{len(shapes)} arrays of shapes {', '.join(str(s) for s in shapes)}, global norm {target_norm:g}, " \
           f"max_norm {max_norm:g}"
    return Case(make, text + (f", {note}" if note else ""))


def _clip_cases():
    return [
        _clip_case(0, [(3,), (2, 2)], 10.0, 1.0),
        _clip_case(1, [(4, 3), (3,), (3, 2), (2,)], 7.5, 5.0),
        _clip_case(2, [(5,)], 0.3, 1.0, note="below the threshold"),
        _clip_case(3, [(2, 3), (3,)], 2.0, 50.0, note="far below the threshold"),
        _clip_case(4, [(10,), (1,)], 1e-3, 1e-4, note="tiny gradients"),
        _clip_case(5, [(3, 3), (3,), (3, 1), (1,)], 0.9999, 1.0, note="just below the threshold"),
        _clip_case(6, [(6,), (2, 2)], 3.0, 2.0, container=tuple, note="given as a tuple"),
        _clip_case(7, [(1, 4), (4,), (100,)], 40.0, 0.5, note="one array much larger than the others"),
    ]


def _compare_clip(expected, got):
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return f"expected a pair (clipped, global_norm), got {show(got)}"
    clipped, norm = got
    if not isinstance(clipped, (list, tuple)) or len(clipped) != len(expected[0]):
        return f"clipped: expected a list of {len(expected[0])} arrays, got {show(clipped)}"
    for index, (want, have) in enumerate(zip(expected[0], clipped)):
        difference = compare_values(want, have, rtol=_RTOL, atol=1e-12)
        if difference is not None:
            return f"clipped[{index}]: {difference}"
    difference = compare_values(expected[1], norm, rtol=_RTOL, atol=1e-12)
    return None if difference is None else f"global_norm: {difference}"


def check_clip_by_global_norm(clip_by_global_norm) -> None:
    """Grade ``clip_by_global_norm(grads, max_norm) -> (clipped, global_norm)``."""
    check_cases("clip_by_global_norm", clip_by_global_norm, _reference.clip_by_global_norm, _clip_cases(),
                CLIP_MISTAKES, compare=_compare_clip, input_names=("grads",))


# --------------------------------------------------------------------------------------------
# layernorm_forward: graded on out
# --------------------------------------------------------------------------------------------

def _ln_forward_mistake(*, axis=1, ddof=0, eps_mode="inside", affine="normal", center=True, default_eps=1e-5):
    def layernorm_forward(x, gamma, beta, ln_param):
        x = np.asarray(x, dtype=float)
        eps = ln_param.get("eps", default_eps)
        mean = x.mean(axis=axis, keepdims=True) if center else 0.0
        var = x.var(axis=axis, ddof=ddof, keepdims=True)
        if eps_mode == "inside":
            x_hat = (x - mean) / np.sqrt(var + eps)
        elif eps_mode == "outside":
            x_hat = (x - mean) / (np.sqrt(var) + eps)
        elif eps_mode == "none":
            x_hat = (x - mean) / np.sqrt(var)
        elif eps_mode == "nosqrt":
            x_hat = (x - mean) / (var + eps)
        if affine == "normal":
            out = gamma * x_hat + beta
        elif affine == "swapped":
            out = beta * x_hat + gamma
        elif affine == "no_gamma":
            out = x_hat + beta
        elif affine == "no_beta":
            out = gamma * x_hat
        return out, None

    return layernorm_forward


LN_FORWARD_MISTAKES = [
    Mistake("statistics over the batch (axis=0, batch normalization); layer normalization normalizes each example "
            "over its features (axis=1)", _ln_forward_mistake(axis=0)),
    Mistake("unbiased variance (ddof=1): layer normalization uses the biased variance (divide by D)",
            _ln_forward_mistake(ddof=1)),
    Mistake("eps outside the square root: use sqrt(var + eps), not sqrt(var) + eps", _ln_forward_mistake(eps_mode="outside")),
    Mistake("eps ignored: divide by sqrt(var + eps)", _ln_forward_mistake(eps_mode="none")),
    Mistake("missing square root: divide by sqrt(var + eps), not var + eps", _ln_forward_mistake(eps_mode="nosqrt")),
    Mistake("gamma and beta swapped: out = gamma * x_hat + beta", _ln_forward_mistake(affine="swapped")),
    Mistake("gamma not applied: out = gamma * x_hat + beta", _ln_forward_mistake(affine="no_gamma")),
    Mistake("beta not added: out = gamma * x_hat + beta", _ln_forward_mistake(affine="no_beta")),
    Mistake("mean not subtracted before dividing (that is RMSNorm's statistic, without the mean)",
            _ln_forward_mistake(center=False)),
    Mistake("wrong default for eps (the default is 1e-5, as PyTorch's nn.LayerNorm)", _ln_forward_mistake(default_eps=1e-3)),
    Mistake("wrong default for eps (the default is 1e-5, as PyTorch's nn.LayerNorm)", _ln_forward_mistake(default_eps=1e-8)),
    Mistake("wrong default for eps (the default is 1e-5, as PyTorch's nn.LayerNorm)", _ln_forward_mistake(default_eps=1e-12)),
]


def _ln_case(seed, N, D, *, scale=1.0, eps=True, extra=False):
    def make():
        rng = np.random.default_rng(seed)
        x = rng.normal(loc=rng.normal(size=(N, 1)) * 2, scale=scale * rng.uniform(0.5, 2.0, size=(N, 1)), size=(N, D))
        gamma = rng.uniform(0.5, 2.0, size=D)
        beta = rng.normal(size=D)
        ln_param = {}
        if eps:
            ln_param["eps"] = 1e-5 * rng.uniform(0.5, 3.0)
        if extra:
            ln_param["mode"] = "train"
        return (x, gamma, beta, ln_param), {}

    note = f"N={N}, D={D}" + ("" if eps else ", ln_param without eps") + (", ln_param with a 'mode' key" if extra else "")
    if scale != 1.0:
        note += f", rows of scale {scale:g} (eps matters)"
    return Case(make, note)


def _ln_cases():
    cases = [_ln_case(seed, N, D) for seed, (N, D) in enumerate([(4, 3), (10, 5), (2, 7), (1, 6), (6, 2)])]
    cases += [_ln_case(20, 5, 4, scale=1e-3), _ln_case(21, 3, 5, eps=False), _ln_case(22, 4, 6, eps=False, scale=2e-3),
              _ln_case(23, 3, 4, extra=True)]
    return cases


def _forward_output(forward):
    def observed(x, gamma, beta, ln_param):
        result = forward(x, gamma, beta, ln_param)
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise TypeError(f"layernorm_forward must return (out, cache), got {type(result).__name__}")
        return result[0]

    observed.__name__ = getattr(forward, "__name__", "layernorm_forward")
    return observed


def check_layernorm_forward(layernorm_forward) -> None:
    """Grade ``layernorm_forward(x, gamma, beta, ln_param) -> (out, cache)`` (the output)."""
    if not callable(layernorm_forward):
        raise GradingFailure("layernorm_forward should be a function")
    check_cases("layernorm_forward", layernorm_forward, _reference.layernorm_forward, _ln_cases(), LN_FORWARD_MISTAKES,
                compare=lambda e, g: compare_values(e, g, rtol=_RTOL, atol=_ATOL),
                input_names=("x", "gamma", "beta"), adapt=_forward_output)


# --------------------------------------------------------------------------------------------
# layernorm_backward: the function under test is (x, gamma, beta, dout, ln_param) -> (dx, dgamma, dbeta)
# --------------------------------------------------------------------------------------------

def _ln_backward_mistake(kind):
    def observed(x, gamma, beta, dout, ln_param):
        eps = ln_param.get("eps", 1e-5)
        D = x.shape[1]
        mean = x.mean(axis=1, keepdims=True)
        var = x.var(axis=1, ddof=1 if kind == "ddof1" else 0, keepdims=True)
        std = np.sqrt(var) + eps if kind == "eps_outside" else np.sqrt(var + eps)
        x_hat = (x - mean) / std
        dbeta = dout.sum(axis=0)
        dgamma = (dout * x_hat).sum(axis=0)
        g = dout * gamma
        sum_g = g.sum(axis=1, keepdims=True)
        sum_gx = (g * x_hat).sum(axis=1, keepdims=True)
        dx = (D * g - sum_g - x_hat * sum_gx) / (D * std)
        if kind == "no_mean_term":
            dx = (D * g - x_hat * sum_gx) / (D * std)
        elif kind == "no_var_term":
            dx = (D * g - sum_g) / (D * std)
        elif kind == "constant_stats":
            dx = g / std
        elif kind == "var_sign":
            dx = (D * g - sum_g + x_hat * sum_gx) / (D * std)
        elif kind == "gamma_outside":
            dx = gamma * (D * dout - dout.sum(axis=1, keepdims=True)
                          - x_hat * (dout * x_hat).sum(axis=1, keepdims=True)) / (D * std)
        elif kind == "no_gamma":
            dx = (D * dout - dout.sum(axis=1, keepdims=True) - x_hat * (dout * x_hat).sum(axis=1, keepdims=True)) / (D * std)
        elif kind == "batch_axis":
            N = x.shape[0]
            dx = (N * g - g.sum(axis=0) - x_hat * (g * x_hat).sum(axis=0)) / (N * std)
        elif kind == "divide_by_n":
            N = x.shape[0]
            dx = (N * g - sum_g - x_hat * sum_gx) / (N * std)
        elif kind == "dgamma_axis1":
            dgamma = (dout * x_hat).sum(axis=1)
        elif kind == "dbeta_axis1":
            dbeta = dout.sum(axis=1)
        elif kind == "dgamma_x":
            dgamma = (dout * x).sum(axis=0)
        elif kind == "dgamma_no_sum":
            dgamma = dout * x_hat
        elif kind == "dbeta_no_sum":
            dbeta = dout
        elif kind == "swapped":
            dgamma, dbeta = dbeta, dgamma
        return dx, dgamma, dbeta

    return observed


LN_BACKWARD_MISTAKES = [
    Mistake("the gradient through the mean of each example is missing: dx needs the term -sum_k dx_hat_k / D",
            _ln_backward_mistake("no_mean_term")),
    Mistake("the gradient through the variance of each example is missing: dx needs the term "
            "-x_hat * sum_k dx_hat_k x_hat_k / D", _ln_backward_mistake("no_var_term")),
    Mistake("mean and variance treated as constants: dx = gamma * dout / sqrt(var + eps) ignores that they depend on x",
            _ln_backward_mistake("constant_stats")),
    Mistake("sign error in the variance term of dx", _ln_backward_mistake("var_sign")),
    Mistake("gamma taken out of the sums (batch normalization's formula): in layer normalization gamma varies along "
            "the normalized axis, so the sums run over dx_hat = dout * gamma", _ln_backward_mistake("gamma_outside")),
    Mistake("gamma missing from dx (dx_hat = dout * gamma)", _ln_backward_mistake("no_gamma")),
    Mistake("sums over the batch (axis=0, batch normalization's backward); layer normalization sums over the "
            "features of each example (axis=1)", _ln_backward_mistake("batch_axis")),
    Mistake("the batch size N where the number of features D belongs in dx", _ln_backward_mistake("divide_by_n")),
    Mistake("unbiased variance (ddof=1) in the backward pass; the forward pass uses the biased one",
            _ln_backward_mistake("ddof1")),
    Mistake("eps outside the square root in the backward pass", _ln_backward_mistake("eps_outside")),
    Mistake("dgamma summed over the wrong axis: gamma has one entry per feature, sum over the batch (axis=0)",
            _ln_backward_mistake("dgamma_axis1")),
    Mistake("dbeta summed over the wrong axis: beta has one entry per feature, sum over the batch (axis=0)",
            _ln_backward_mistake("dbeta_axis1")),
    Mistake("dgamma = sum(dout * x); it must be sum(dout * x_hat) with the normalized input", _ln_backward_mistake("dgamma_x")),
    Mistake("dgamma not summed over the batch", _ln_backward_mistake("dgamma_no_sum")),
    Mistake("dbeta not summed over the batch", _ln_backward_mistake("dbeta_no_sum")),
    Mistake("dgamma and dbeta swapped in the returned tuple", _ln_backward_mistake("swapped")),
]


def _ln_backward_case(seed, N, D, *, scale=1.0):
    def make():
        rng = np.random.default_rng(seed)
        x = rng.normal(loc=rng.normal(size=(N, 1)), scale=scale * rng.uniform(0.5, 2.0, size=(N, 1)), size=(N, D))
        gamma = rng.uniform(0.5, 2.0, size=D)
        beta = rng.normal(size=D)
        dout = rng.normal(size=(N, D))
        return (x, gamma, beta, dout, {"eps": 1e-5}), {}

    return Case(make, f"N={N}, D={D}" + (f", rows of scale {scale:g}" if scale != 1.0 else ""))


def _ln_backward_cases():
    cases = [_ln_backward_case(seed, N, D) for seed, (N, D) in enumerate([(4, 3), (10, 5), (3, 7), (2, 6), (5, 2)])]
    cases.append(_ln_backward_case(20, 4, 6, scale=1e-3))
    return cases


def check_layernorm_backward(layernorm_backward, layernorm_forward=None) -> None:
    """Grade ``layernorm_backward(dout, cache) -> (dx, dgamma, dbeta)``.

    Pass the student's ``layernorm_forward`` too when the cache layout is theirs (the usual case in the
    notebook); without it the cache comes from the reference forward pass.
    """
    name = "layernorm_backward"
    if not callable(layernorm_backward):
        raise GradingFailure(f"{name} should be a function")
    if layernorm_forward is not None:
        try:
            check_layernorm_forward(layernorm_forward)
        except GradingFailure as failure:
            raise GradingFailure(
                f"{name} is graded with the cache of your layernorm_forward, which must be correct first:\n{failure}"
            ) from None
        forward, from_student = layernorm_forward, True
    else:
        forward, from_student = _reference.layernorm_forward, False

    def observed(backward, forward_fn, student):
        def run(x, gamma, beta, dout, ln_param):
            if student:
                _, cache = call_student(f"layernorm_forward (to build the cache for {name})", forward_fn,
                                        x, gamma, beta, ln_param)
            else:
                with quiet():
                    _, cache = forward_fn(x, gamma, beta, ln_param)
            return backward(dout, cache)

        run.__name__ = name
        return run

    forward_name = "your layernorm_forward" if from_student else "the reference layernorm_forward"

    def describe(args, kwargs):
        x, gamma, beta, dout, ln_param = args
        return (f"{name}(dout, cache) with dout of shape {dout.shape} and the cache of {forward_name}"
                f"({short(x)}, {short(gamma)}, {short(beta)}, {short(ln_param)})")

    try:
        check_cases(name, observed(layernorm_backward, forward, from_student),
                    observed(_reference.layernorm_backward, _reference.layernorm_forward, False),
                    _ln_backward_cases(), LN_BACKWARD_MISTAKES,
                    compare=compare_tuple(["dx", "dgamma", "dbeta"], rtol=_RTOL, atol=_ATOL),
                    input_names=("x", "gamma", "beta", "dout"), describe=describe)
    except GradingFailure as failure:
        if from_student or "raised" not in str(failure) or "not implemented" in str(failure):
            raise
        raise GradingFailure(
            f"{failure}\n(The cache came from the reference layernorm_forward, a dict with keys such as 'x_hat'. If "
            f"your backward expects the cache of your own forward pass, grade both: "
            f"check_{name}({name}, layernorm_forward).)"
        ) from None


# --------------------------------------------------------------------------------------------
# top_hessian_eigenvalue
# --------------------------------------------------------------------------------------------

def _power(kind, default_iters=100):
    def top_hessian_eigenvalue(hvp, v0, num_iters=default_iters):
        start = np.array(v0, dtype=float) / np.linalg.norm(v0)
        v = start
        iters = 10 if kind == "fixed_iters" else num_iters
        for _ in range(iters):
            w = np.asarray(hvp(start if kind == "from_v0" else v), dtype=float)
            v = w if kind == "unnormalized" else w / np.linalg.norm(w)
        Hv = np.asarray(hvp(v), dtype=float)
        if kind == "abs":
            return float(np.linalg.norm(Hv)), v
        if kind == "rayleigh_of_start":
            return float(start @ hvp(start)), v
        if kind == "squared":
            return float(Hv @ Hv), v
        if kind == "hv_vector":
            return float(v @ Hv), Hv
        if kind == "swapped":
            return v, float(v @ Hv)
        return float(v @ Hv), v

    return top_hessian_eigenvalue


POWER_MISTAKES = [
    Mistake("the sign is lost: ||H v|| is |lambda|; the eigenvalue is the Rayleigh quotient v'Hv of the unit vector v",
            _power("abs")),
    Mistake("v is not normalized in the loop: divide H v by its norm at every iteration (v'Hv needs ||v|| = 1)",
            _power("unnormalized")),
    Mistake("the eigenvalue is the Rayleigh quotient of the starting vector; compute v'Hv after the iterations",
            _power("rayleigh_of_start")),
    Mistake("num_iters is ignored (a fixed number of iterations)", _power("fixed_iters")),
    Mistake("every iteration multiplies the starting vector: v <- H v / ||H v|| must use the current v",
            _power("from_v0")),
    Mistake("the eigenvalue is ||H v||^2; it is v'Hv", _power("squared")),
    Mistake("the returned eigenvector is H v; return the unit vector v", _power("hv_vector")),
    Mistake("the pair is returned in the wrong order: (eigenvalue, eigenvector)", _power("swapped")),
    Mistake("wrong default for num_iters (the default is 100)", _power("correct", default_iters=20)),
]


def _symmetric(rng, eigenvalues):
    q, _ = np.linalg.qr(rng.normal(size=(len(eigenvalues), len(eigenvalues))))
    return (q * np.asarray(eigenvalues, dtype=float)) @ q.T


def _power_case(seed, eigenvalues, num_iters, note):
    def make():
        rng = np.random.default_rng(seed)
        H = _symmetric(rng, eigenvalues)

        def hvp(v):
            return H @ v

        v0 = rng.normal(size=len(eigenvalues))
        return ((hvp, v0), {} if num_iters is None else {"num_iters": num_iters})

    iterations = "num_iters left out" if num_iters is None else f"num_iters={num_iters}"
    return Case(make, f"H symmetric {len(eigenvalues)} x {len(eigenvalues)}, {note}, {iterations}")


def _power_cases():
    return [
        _power_case(0, [4.0, 1.0, 0.5], 60, "eigenvalues 4, 1, 0.5"),
        _power_case(1, [10.0, 3.0, 2.0, 1.0, 0.1], 80, "eigenvalues 10, 3, 2, 1, 0.1"),
        _power_case(2, [-6.0, 2.0, 1.0], 80, "a NEGATIVE dominant eigenvalue -6 (others 2, 1)"),
        _power_case(3, [2.0, 1.7, 1.0, 0.5, -0.3, 0.0], 400, "eigenvalues 2, 1.7, ... (a small gap)"),
        _power_case(4, [50.0, 20.0, 5.0, 1.0], 600, "large eigenvalues 50, 20, 5, 1"),
        _power_case(5, [3.0, 2.4, 1.0, 0.2], None, "eigenvalues 3, 2.4, 1, 0.2 (a small gap)"),
        _power_case(6, [1.0, 0.1], 40, "eigenvalues 1, 0.1"),
    ]


def _compare_power(expected, got):
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return f"expected a pair (eigenvalue, eigenvector), got {show(got)}"
    eigenvalue, vector = got
    try:
        if np.ndim(eigenvalue) != 0:
            return f"eigenvalue: expected a number, got {show(eigenvalue)}"
    except Exception:
        return f"eigenvalue: expected a number, got {show(eigenvalue)}"
    difference = compare_values(expected[0], eigenvalue, rtol=_RTOL, atol=_ATOL)
    if difference is not None:
        return f"eigenvalue: {difference}"
    want = np.asarray(expected[1], dtype=float)
    try:
        have = np.asarray(vector, dtype=float)
    except (TypeError, ValueError):
        return f"eigenvector: expected an array, got {show(vector)}"
    if have.shape == want.shape:
        sign = np.sign(np.sum(have * want)) or 1.0
        have = have * sign        # an eigenvector is defined up to its sign
    difference = compare_values(want, have, rtol=1e-5, atol=1e-6)
    return None if difference is None else f"eigenvector (compared up to its sign): {difference}"


def check_top_hessian_eigenvalue(top_hessian_eigenvalue) -> None:
    """Grade ``top_hessian_eigenvalue(hvp, v0, num_iters=100) -> (eigenvalue, eigenvector)``."""
    check_cases("top_hessian_eigenvalue", top_hessian_eigenvalue, _reference.top_hessian_eigenvalue, _power_cases(),
                POWER_MISTAKES, compare=_compare_power, input_names=("hvp", "v0"))


MISTAKES = {
    "warmup_cosine": WARMUP_COSINE_MISTAKES,
    "clip_by_global_norm": CLIP_MISTAKES,
    "layernorm_forward": LN_FORWARD_MISTAKES,
    "layernorm_backward": LN_BACKWARD_MISTAKES,
    "top_hessian_eigenvalue": POWER_MISTAKES,
}
