"""Visible checks of exercise 6: batchnorm_forward, batchnorm_backward, batchnorm_backward_alt.

The expected values of the small cases are worked out by hand (the comments say how). For the
4 x 3 batch below, OUT, DX and DGAMMA were computed in float64 with the course's reference
implementation (the forward pass, and the closed form of ``batchnorm_backward_alt`` for the
gradients of L = sum(out * dout)) and pasted here; ``tests/helpers/test_visible_check_values.py``
re-derives them independently: OUT from the formulas of the forward pass, DX and DGAMMA by central
differences of L computed with a forward pass written in the test (agreeing to 1e-7 of each
column's largest entry), and DBETA = the column sums of DOUT by hand.
The cache is the student's own design, so the backward checks build it with the student's
``batchnorm_forward``: passed explicitly (``check("batchnorm_backward", batchnorm_backward,
batchnorm_forward)``) or found next to the backward pass (the notebook's namespace).
"""

from __future__ import annotations

import inspect

import numpy as np

from ._framework import call, expect_close, fail, register, short

# One train-mode batch (N = 4, D = 3); the third feature has a tiny variance (3.25e-6), where eps matters.
X = np.array([[1.0, 10.0, 0.001], [3.0, -20.0, -0.002], [-2.0, 5.0, 0.003], [0.5, 15.0, 0.0]])
GAMMA = np.array([1.5, 0.5, 2.0])
BETA = np.array([0.1, -0.2, 0.3])
DOUT = np.array([[0.3, -1.2, 0.5], [1.1, 0.4, -0.7], [-0.6, 0.9, 0.2], [0.25, -0.3, 1.0]])
OUT = np.array([[0.41583758498295564, 0.07854299958163308, 0.5747211278973781],
                [2.1003047048920527, -1.0356289987448992, -1.0736056394868903],
                [-2.1108630948806892, -0.10715233347278898, 1.6736056394868903],
                [-0.005279194994318545, 0.2642383326360551, 0.02527887210262192]])
DX = np.array([[-0.0746804732515939, -0.03521808082021636, 126.99372893369362],
               [0.03236380537930144, -0.00576295737200414, -470.13596793004126],
               [0.017423176788427728, 0.037779395207773764, -79.30628786471479],
               [0.024893491083864554, 0.0032016429844467426, 422.4485268610625]])
DGAMMA = np.array([2.396856339370652, -1.448423597824492, 0.5494422557947561])
DBETA = np.array([1.05, -0.2, 1.0])  # the column sums of DOUT


def pair(name, result, what="(out, cache)"):
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        fail(f"{name} must return a pair {what}, got {short(result)}")
    return result


@register("batchnorm_forward")
def check_batchnorm_forward(batchnorm_forward):
    name = "batchnorm_forward"
    x = np.array([[1.0, 10.0], [3.0, 30.0]])  # batch means [2, 20], biased variances [1, 100]
    x_before = x.copy()
    bn_param = {"mode": "train"}
    out, _ = pair(name, call(name, batchnorm_forward, x, np.array([1.0, 2.0]), np.array([0.0, 5.0]), bn_param))
    if not np.array_equal(x, x_before):
        fail(f"{name} modified x in place", "compute new arrays (x - mean) instead of changing x (x -= mean)")
    got = np.asarray(out, dtype=float) if isinstance(out, np.ndarray) else out
    unbiased = [[-0.70711, 2 * -0.70711 + 5], [0.70711, 2 * 0.70711 + 5]]
    hint = "x_hat = (x - mean) / sqrt(var + eps) per feature (axis 0, over the batch), then out = gamma * x_hat + beta"
    if isinstance(got, np.ndarray) and got.shape == (2, 2):
        if np.allclose(got, unbiased, atol=1e-4):
            hint = "use the biased batch variance: divide by N (x.var(axis=0), ddof=0), not by N - 1"
        elif np.allclose(got, [[-1.0, -1.0], [1.0, 1.0]], atol=1e-4):
            hint = "scale and shift: out = gamma * x_hat + beta"
        elif np.allclose(got, [[-1.0, 7.0], [-1.0, 7.0]], atol=1e-4):
            hint = "normalize over the batch (axis=0: one mean and variance per feature, i.e. per column)"
    expect_close(name, "train mode, x = [[1, 10], [3, 30]], gamma = [1, 2], beta = [0, 5] "
                 "(batch means [2, 20], variances [1, 100])", [[-1.0, 3.0], [1.0, 7.0]], out, hint=hint, atol=1e-4)

    means, variances = bn_param.get("running_mean"), bn_param.get("running_var")
    expect_close(name, "running_mean after one train step from zeros: 0.9 * 0 + 0.1 * [2, 20]", [0.2, 2.0], means,
                 hint="momentum weights the OLD value: momentum * running_mean + (1 - momentum) * mean"
                 if np.allclose(np.asarray(means, dtype=float), [1.8, 18.0]) else
                 "write the new running averages into bn_param (the given last lines do it)")
    v = np.asarray(variances, dtype=float) if variances is not None else None
    expect_close(name, "running_var after one train step from zeros: 0.1 * the biased variances [1, 100]", [0.1, 10.0],
                 variances, hint="use the biased variance (divide by N), not the unbiased one" if v is not None
                 and np.allclose(v, [0.2, 20.0]) else "keep the variance, not the standard deviation" if v is not None
                 and np.allclose(v, [0.1, 1.0]) else "momentum * running_var + (1 - momentum) * var")

    stored_mean, stored_var = np.array([1.0, 1.0]), np.array([2.0, 2.0])
    bn_param = {"mode": "train", "momentum": 0.5, "running_mean": stored_mean, "running_var": stored_var}
    call(name, batchnorm_forward, x, np.ones(2), np.zeros(2), bn_param)
    if not (np.array_equal(stored_mean, [1.0, 1.0]) and np.array_equal(stored_var, [2.0, 2.0])):
        fail(f"{name} modified the running_mean / running_var arrays stored in bn_param in place",
             "compute new arrays (momentum * running_mean + ...) instead of running_mean *= ...")
    expect_close(name, "running_mean with momentum 0.5 from [1, 1]: 0.5 * [1, 1] + 0.5 * [2, 20]", [1.5, 10.5],
                 bn_param.get("running_mean"), hint="read the momentum from bn_param (default 0.9)")

    tiny = {"mode": "train"}
    out, _ = pair(name, call(name, batchnorm_forward, np.array([[0.0], [0.002]]), np.ones(1), np.zeros(1), tiny))
    got = np.asarray(out, dtype=float)
    hint = "x_hat = (x - mean) / sqrt(var + eps), with the default eps = 1e-5"
    if got.shape == (2, 1) and np.allclose(got, [[-1.0], [1.0]], atol=1e-3):
        hint = "eps is missing: divide by sqrt(var + eps), default eps = 1e-5 (it matters when var is tiny)"
    elif got.shape == (2, 1) and np.allclose(got, [[-0.990099], [0.990099]], atol=1e-4):
        hint = "eps goes inside the square root: sqrt(var + eps), not sqrt(var) + eps"
    # x - mean = -+0.001 and sqrt(var + eps) = sqrt(1.1e-5) = 0.001 * sqrt(11): x_hat = -+1 / sqrt(11)
    expect_close(name, "train mode on a tiny variance, x = [[0], [0.002]] (var 1e-6, default eps 1e-5)",
                 [[-1 / np.sqrt(11)], [1 / np.sqrt(11)]], out, hint=hint)

    running_mean, running_var = np.array([1.0, -1.0]), np.array([4.0, 0.25])
    bn_param = {"mode": "test", "running_mean": running_mean, "running_var": running_var}
    out, _ = pair(name, call(name, batchnorm_forward, np.array([[3.0, 0.0]]), np.array([2.0, 1.0]),
                             np.array([0.5, 0.0]), bn_param))
    got = np.asarray(out, dtype=float)
    hint = "test mode: out = gamma * (x - running_mean) / sqrt(running_var + eps) + beta"
    if got.shape == (1, 2) and np.allclose(got, [[0.5, 0.0]]):
        hint = "test mode uses the running averages, not the statistics of the batch"
    expect_close(name, "test mode, x = [[3, 0]], running_mean [1, -1], running_var [4, 0.25], gamma [2, 1], "
                 "beta [0.5, 0]: 2 * (3 - 1) / sqrt(4 + 1e-5) + 0.5 and 1 * (0 + 1) / sqrt(0.25 + 1e-5)",
                 [[2 * 2 / np.sqrt(4 + 1e-5) + 0.5, 1 / np.sqrt(0.25 + 1e-5)]], out, hint=hint, rtol=1e-7)
    for key, before in [("running_mean", [1.0, -1.0]), ("running_var", [4.0, 0.25])]:
        if not np.allclose(np.asarray(bn_param.get(key), dtype=float), before) or not np.array_equal(
                {"running_mean": running_mean, "running_var": running_var}[key], before):
            fail(f"{name}: test mode must not change the running averages; {key} became {short(bn_param.get(key))}",
                 "update running_mean and running_var only in train mode")

    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 5.0, size=(200, 4))
    gamma, beta = np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.0, -1.0, 1.0, 2.0])
    out, _ = pair(name, call(name, batchnorm_forward, x, gamma, beta, {"mode": "train"}))
    expect_close(name, "train mode on 200 random examples: the mean of each output feature is beta", beta,
                 np.mean(np.asarray(out, dtype=float), axis=0), atol=1e-8)
    expect_close(name, "train mode on 200 random examples: the standard deviation of each output feature is gamma",
                 gamma, np.std(np.asarray(out, dtype=float), axis=0), rtol=1e-5)
    return "train mode by hand, running averages, eps on a tiny variance, test mode, mean beta and std gamma"


def find_forward(name, backward, others):
    """The student's batchnorm_forward: passed explicitly, or defined next to the backward pass."""
    if others:
        return others[0]
    namespace = getattr(inspect.unwrap(backward), "__globals__", {})
    forward = namespace.get("batchnorm_forward")
    if not callable(forward):
        probe(name, backward)
        fail(f"check({name!r}, {name}) builds its cache with your batchnorm_forward, but found none next to {name}",
             f"run the cell that defines batchnorm_forward first, or pass it: check({name!r}, {name}, batchnorm_forward)")
    return forward


def probe(name, backward):
    """Say "not implemented yet" for a stub even when no cache can be built (anything else is ignored)."""
    try:
        call(name, backward, DOUT.copy(), None)
    except Exception as error:
        if "not implemented yet" in str(error):
            raise


def train_cache(name, backward, forward):
    """Build the student's cache for the fixed batch, after checking that their forward gets it right."""
    try:
        result = call("batchnorm_forward", forward, X.copy(), GAMMA.copy(), BETA.copy(), {"mode": "train"})
    except Exception as error:
        probe(name, backward)
        reason = "is not implemented yet" if "not implemented yet" in str(error) else f"failed: {error}"
        fail(f"{name}: the check builds its cache with your batchnorm_forward, which {reason}",
             "make check('batchnorm_forward', batchnorm_forward) pass first")
    out, cache = pair("batchnorm_forward", result)
    if np.shape(out) != X.shape or not np.allclose(np.asarray(out, dtype=float), OUT, rtol=1e-6, atol=1e-9):
        probe(name, backward)
        fail(f"{name}: the check builds its cache with your batchnorm_forward, but its output is wrong on the "
             f"batch {short(X)}", "make check('batchnorm_forward', batchnorm_forward) pass first")
    return cache


def check_gradients(name, backward, others, dx_hint):
    forward = find_forward(name, backward, others)
    cache = train_cache(name, backward, forward)
    dout = DOUT.copy()
    result = call(name, backward, dout, cache)
    if not (isinstance(result, (tuple, list)) and len(result) == 3):
        fail(f"{name} must return a triple (dx, dgamma, dbeta), got {short(result)}")
    dx, dgamma, dbeta = result
    shapes = tuple(np.shape(a) for a in result)
    if shapes != (X.shape, GAMMA.shape, BETA.shape):
        fail(f"{name}: shapes: expected dx {X.shape}, dgamma {GAMMA.shape}, dbeta {BETA.shape}; "
             f"got {shapes[0]}, {shapes[1]}, {shapes[2]}",
             "dx has the shape of x; dgamma and dbeta are sums over the batch (axis=0)")
    if not np.array_equal(dout, DOUT):
        fail(f"{name} modified dout in place", "compute new arrays (dout * gamma) instead of changing dout (dout *= ...)")
    what = "gradients of L = sum(out * dout) on a 4 x 3 batch (train mode, default eps)"
    expect_close(name, f"dbeta, {what}", DBETA, dbeta, hint="dbeta is the sum of dout over the batch (axis=0)")
    expect_close(name, f"dgamma, {what}", DGAMMA, dgamma,
                 hint="dgamma = sum over the batch of dout * x_hat (the normalized input, not x)")
    got = np.asarray(dx, dtype=float)
    scale = np.abs(DX).max(axis=0)
    if not np.allclose(got.sum(axis=0) / scale, 0.0, atol=1e-6):
        hint = ("each column of dx must sum to 0 (adding a constant to a feature of x does not change out): "
                "the gradient through mu is missing or wrong; mu is used by every example, so its gradient "
                "(a sum over the batch) flows back into every x_i")
    elif np.allclose(got[:, :2], DX[:, :2], rtol=1e-4, atol=1e-9):  # eps barely matters for these two
        hint = ("only the third feature, whose variance (3.25e-6) is tiny, is wrong: use s = sqrt(var + eps), "
                "the same s as in the forward pass")
    else:
        hint = dx_hint
    expect_close(name, f"dx, {what}", DX, dx, hint=hint)
    return "shapes, dbeta, dgamma and dx on a batch with one tiny-variance feature, dx sums to 0, dout untouched"


@register("batchnorm_backward")
def check_batchnorm_backward(batchnorm_backward, *others):
    return check_gradients(
        "batchnorm_backward", batchnorm_backward, others,
        "c = x - mu receives gradient along two paths (directly into x_hat, and through sigma^2): add them up; "
        "compare each stage with numerical_gradient from dlopt.gradcheck")


@register("batchnorm_backward_alt")
def check_batchnorm_backward_alt(batchnorm_backward_alt, *others):
    return check_gradients(
        "batchnorm_backward_alt", batchnorm_backward_alt, others,
        "dx = gamma / (N * s) * (N * dout - sum_k dout_k - x_hat * sum_k dout_k * x_hat_k), sums over the batch "
        "(axis=0), s = sqrt(var + eps): compare your line with the formula term by term")


# --------------------------------------------------------------------------------------------
# fold_batchnorm (an outcome task): the folded layer must do what the layer and its test-mode
# batch normalization do, on inputs the function never sees. Judged by outputs only: any algebra
# that gives the same layer passes. The expected outputs come from the test-mode formula of
# batch normalization (section 1 of the notebook), applied to x @ W + b.
# --------------------------------------------------------------------------------------------

def _test_mode_batchnorm(z, gamma, beta, running_mean, running_var, eps):
    """What batch normalization outputs in test mode for the pre-activations ``z`` (shape (N, D))."""
    return gamma * (z - running_mean) / np.sqrt(running_var + eps) + beta


def _fold_layers():
    """Two visible layers: a small one (one feature with a running variance far below eps) and a random one."""
    small = dict(W=np.array([[1.0, -2.0, 0.5], [0.0, 1.0, 3.0]]), b=np.array([0.5, 0.0, -1.0]),
                 gamma=np.array([2.0, 0.5, 1.5]), beta=np.array([0.1, -0.3, 0.0]),
                 running_mean=np.array([1.0, -0.5, 2.0]), running_var=np.array([4.0, 1e-7, 0.25]), eps=None)
    rng = np.random.default_rng(20260806)
    D_in, D = 5, 4
    random = dict(W=rng.normal(scale=0.3, size=(D_in, D)), b=rng.normal(size=D), gamma=rng.uniform(0.5, 2.0, size=D),
                  beta=rng.normal(size=D), running_mean=rng.normal(size=D),
                  running_var=np.array([0.8, 3e-6, 2.5, 0.04]), eps=1e-3)
    return [("a 2 x 3 layer whose feature 1 has running_var 1e-7 (far below eps), eps left at its default", small),
            ("a random 5 x 4 layer, feature 1 with running_var 3e-6, eps=1e-3 given", random)]


def _fold_hint(layer, eps, W_folded, b_folded, j):
    """A hint from how feature j goes wrong: its slope (how the output moves with x) or its offset (at x = 0)."""
    base = _test_mode_batchnorm(layer["b"][None, :], layer["gamma"], layer["beta"], layer["running_mean"],
                                layer["running_var"], eps)[0]
    offset_right = np.isclose(b_folded[j], base[j], rtol=1e-6, atol=1e-9)
    slope = np.array([_test_mode_batchnorm((layer["b"] + layer["W"][i])[None, :], layer["gamma"], layer["beta"],
                                           layer["running_mean"], layer["running_var"], eps)[0, j] - base[j]
                      for i in range(layer["W"].shape[0])])
    slope_right = np.allclose(W_folded[:, j], slope, rtol=1e-6, atol=1e-9 * np.max(np.abs(slope)))
    if slope_right and not offset_right:
        if np.isclose(b_folded[j] + layer["beta"][j], base[j], rtol=1e-6):
            return (f"at x = 0 your layer's output {j} misses exactly beta[{j}] = {layer['beta'][j]:g}: batch "
                    "normalization's shift must end up in the folded bias too")
        return (f"the weights are right, but at x = 0 your layer outputs {b_folded[j]:.6g} for feature {j} where the "
                f"layer and batch normalization give {base[j]:.6g} (the value for z = b): everything that shifts "
                "z (the layer's bias, the running mean) passes through batch normalization's scaling before beta is added")
    ratio = float(W_folded[:, j] @ slope / (slope @ slope))
    var = layer["running_var"][j]
    if var < eps and np.isclose(ratio, np.sqrt((var + eps) / var), rtol=1e-3):
        return (f"feature {j}'s running variance ({var:g}) is far below eps ({eps:g}): batch normalization divides by "
                f"sqrt(running_var + eps), and your weights for it are {ratio:.4g} times too large")
    return (f"as x changes, your output {j} moves {ratio:.4g} times as fast as batch normalization's "
            f"(running_var {var:g}, gamma {layer['gamma'][j]:g}, eps {eps:g}): per output feature, batch normalization "
            "multiplies z by one factor; which one?")


@register("fold_batchnorm")
def check_fold_batchnorm(fold_batchnorm):
    name = "fold_batchnorm"
    x = np.random.default_rng(11).normal(size=(20, 5))   # held-out inputs, never given to fold_batchnorm
    for what, layer in _fold_layers():
        eps = 1e-5 if layer["eps"] is None else layer["eps"]
        keys = ("W", "b", "gamma", "beta", "running_mean", "running_var")
        args = [layer[key].copy() for key in keys]
        kwargs = {} if layer["eps"] is None else {"eps": layer["eps"]}
        result = call(name, fold_batchnorm, *args, **kwargs)
        for key, given in zip(keys, args):
            if not np.array_equal(given, layer[key]):
                fail(f"{name} modified {key} in place", "return new arrays; the original layer may still be in use")
        W_folded, b_folded = pair(name, result, "(W_folded, b_folded)")
        W_shape, b_shape = layer["W"].shape, layer["b"].shape
        try:
            W_folded, b_folded = np.asarray(W_folded, dtype=float), np.asarray(b_folded, dtype=float)
        except (TypeError, ValueError):
            fail(f"{name} on {what}: W_folded and b_folded must be arrays of numbers, got {short(result)}")
        if W_folded.shape != W_shape or b_folded.shape != b_shape:
            fail(f"{name} on {what}: returned shapes {W_folded.shape} and {b_folded.shape}; the folded layer has "
                 f"the shapes of W {W_shape} and b {b_shape}")
        inputs = x[:, :W_shape[0]]
        expected = _test_mode_batchnorm(inputs @ layer["W"] + layer["b"], layer["gamma"], layer["beta"],
                                        layer["running_mean"], layer["running_var"], eps)
        got = inputs @ W_folded + b_folded
        scale = np.maximum(np.max(np.abs(expected), axis=0), 1e-12)
        error = np.max(np.abs(got - expected), axis=0) / scale
        if not np.all(np.isfinite(got)) or np.any(error > 1e-6):
            j = int(np.argmax(np.where(np.isfinite(error), error, np.inf)))
            hint = ("your layer's outputs hold nan or inf" if not np.all(np.isfinite(got))
                    else _fold_hint(layer, eps, W_folded, b_folded, j))
            expect_close(name, f"{what}: the outputs x @ W_folded + b_folded on 20 inputs x, against the layer followed "
                         f"by test-mode batch normalization (output feature {j})", expected[:, j], got[:, j],
                         hint=hint, rtol=1e-6, atol=1e-6 * scale[j])
    return "two layers (tiny running variances, eps given and default) reproduce test-mode batch normalization"
