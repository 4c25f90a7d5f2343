r"""Visible checks of exercise 10: warmup_cosine, clip_by_global_norm, layernorm_forward, layernorm_backward,
top_hessian_eigenvalue.

Every expected value is worked out by hand in the comments (a cosine at a quarter turn, a 3-4-5
triangle, a row of variance 1e-4 next to eps = 1e-5, diagonal matrices), or is a property every right
answer has. The backward pass of layer normalization is compared with central differences of
L = sum(out * dout) computed with the student's own forward pass, after that forward pass has passed
its hand-computed values.
"""

from __future__ import annotations

import inspect

import numpy as np

from ._framework import call, expect_close, fail, likely_mistake, register, same, short, unchanged

# --------------------------------------------------------------------------------------------
# warmup_cosine
# --------------------------------------------------------------------------------------------

# learning_rate 1, warmup_steps 2, total_steps 6: the warmup gives 0, 1/2, then the cosine runs over 4 steps,
# 0.5 * (1 + cos(pi * k / 4)) for k = 0..4: 1, (2 + sqrt 2) / 4, 1/2, (2 - sqrt 2) / 4, 0; after step 6 it stays 0.
SCHEDULE = [0.0, 0.5, 1.0, (2 + np.sqrt(2)) / 4, 0.5, (2 - np.sqrt(2)) / 4, 0.0, 0.0]
_SCHEDULE_MISTAKES = [
    ([0.5, 1.0, 1.0, (2 + np.sqrt(2)) / 4, 0.5, (2 - np.sqrt(2)) / 4, 0.0, 0.0],
     "the warmup starts at 0: the rate is learning_rate * t / warmup_steps, not (t + 1) / warmup_steps"),
    ([0.5, 1.0, 2.0, 1 + np.sqrt(2) / 2, 1.0, 1 - np.sqrt(2) / 2, 0.0, 0.0],
     "the cosine factor is 0.5 * (1 + cos(pi * progress)): the 1/2 is missing"),
    ([0.0, 0.5, 1.0, 0.75, 0.5, 0.25, 0.0, 0.0], "the decay is a cosine, not a straight line"),
]


@register("warmup_cosine")
def check_warmup_cosine(warmup_cosine):
    name = "warmup_cosine"
    got = [call(name, warmup_cosine, 1.0, t, 2, 6) for t in range(8)]
    hint = likely_mistake(got, _SCHEDULE_MISTAKES,
                          "t < warmup_steps: learning_rate * t / warmup_steps; then the cosine over "
                          "progress = (t - warmup_steps) / (total_steps - warmup_steps), clamped to 1")
    if same(got[:3], SCHEDULE[:3]) and not same(got[6:], SCHEDULE[6:]):
        hint = "after total_steps the rate stays at alpha * learning_rate: clamp the progress to 1"
    elif same(got[:3], SCHEDULE[:3]) and not same(got, SCHEDULE):
        hint = ("the cosine runs over the total_steps - warmup_steps steps after the warmup: "
                "progress = (t - warmup_steps) / (total_steps - warmup_steps)")
    expect_close(name, "steps 0..7 with learning_rate=1, warmup_steps=2, total_steps=6 (by hand: 0, 1/2, 1, "
                 "(2 + sqrt 2)/4, 1/2, (2 - sqrt 2)/4, 0, 0)", SCHEDULE, got, hint=hint)

    # alpha = 0.5, learning_rate 0.2: halfway through the cosine 0.2 * (0.5 + 0.5 * 0.5) = 0.15; at the end 0.1
    got = [call(name, warmup_cosine, 0.2, t, 2, 6, alpha=0.5) for t in (4, 6, 10)]
    expect_close(name, "learning_rate=0.2, alpha=0.5 at steps 4, 6, 10: 0.2 * (0.5 + 0.5 * 0.5), then 0.2 * 0.5",
                 [0.15, 0.1, 0.1], got,
                 [([0.1, 0.0, 0.0], "alpha is the final rate as a fraction of learning_rate: decay to alpha * learning_rate"),
                  ([0.35, 0.2, 0.2], "alpha is a fraction of learning_rate: learning_rate * (alpha + (1 - alpha) * cosine)")],
                 hint="learning_rate * (alpha + (1 - alpha) * 0.5 * (1 + cos(pi * progress)))")

    # warmup_steps = 0: no warmup, the cosine starts at once: 1, 1/2 at step 2 of 4, 0 at step 4
    got = [call(name, warmup_cosine, 1.0, t, 0, 4) for t in (0, 2, 4)]
    expect_close(name, "warmup_steps=0, total_steps=4 at steps 0, 2, 4 (no warmup: the cosine from step 0)",
                 [1.0, 0.5, 0.0], got, hint="with warmup_steps = 0 there is no warmup (do not divide by it)")
    return "the warmup, the cosine and its clamp by hand, alpha, no warmup"


# --------------------------------------------------------------------------------------------
# clip_by_global_norm
# --------------------------------------------------------------------------------------------

def _pair(name, result):
    if not (isinstance(result, (tuple, list)) and len(result) == 2 and isinstance(result[0], (list, tuple))):
        fail(f"{name} must return a pair (clipped, global_norm) with clipped a list of arrays, got {short(result)}")
    return result


@register("clip_by_global_norm")
def check_clip_by_global_norm(clip_by_global_norm):
    name = "clip_by_global_norm"
    grads = [np.array([3.0, 0.0]), np.array([[4.0]])]      # global norm sqrt(9 + 16) = 5
    clipped, norm = _pair(name, call(name, clip_by_global_norm, grads, 1.0))
    if not (np.array_equal(grads[0], [3.0, 0.0]) and np.array_equal(grads[1], [[4.0]])):
        fail(f"{name} modified the arrays of grads in place", "return new arrays (g * scale), not g *= scale")
    expect_close(name, "global_norm of [3, 0] and [[4]]: sqrt(3^2 + 4^2) = 5 (the norm before clipping)", 5.0, norm,
                 [(25.0, "the norm is the square ROOT of the sum of squares"),
                  (7.0, "the global norm is sqrt(sum of squared norms), not the sum of the arrays' norms"),
                  (1.0, "return the norm BEFORE clipping")],
                 hint="sqrt of the sum of the squares of ALL entries of all arrays")
    if len(clipped) != 2:
        fail(f"{name}: expected 2 clipped arrays, got {len(clipped)}")
    expect_close(name, "[3, 0] clipped to global norm 1: [3, 0] / 5", [0.6, 0.0], clipped[0],
                 [([1.0, 0.0], "each array is scaled by the SAME factor max_norm / global_norm (not clipped by value, "
                               "not by its own norm)"),
                  ([15.0, 0.0], "the factor is max_norm / norm, not norm / max_norm")],
                 hint="every array times max_norm / max(global_norm, max_norm)")
    expect_close(name, "[[4]] clipped to global norm 1: [[4]] / 5 (same shape as given)", [[0.8]], clipped[1],
                 hint="every array times max_norm / max(global_norm, max_norm); keep each array's shape")

    clipped, norm = _pair(name, call(name, clip_by_global_norm, (np.array([3.0, 0.0]), np.array([[4.0]])), 10.0))
    expect_close(name, "a tuple of arrays with global norm 5 and max_norm 10: unchanged", [3.0, 0.0], clipped[0],
                 hint="below the threshold the gradients are returned unchanged (scale only when norm > max_norm)")
    expect_close(name, "a tuple of arrays with global norm 5 and max_norm 10: unchanged", [[4.0]], clipped[1],
                 hint="below the threshold the gradients are returned unchanged")

    # tiny gradients: norm 5e-4 clipped to 1e-4 gives [6e-5, 8e-5] exactly (PyTorch's +1e-6 would show here)
    clipped, norm = _pair(name, call(name, clip_by_global_norm, [np.array([3e-4, 4e-4])], 1e-4))
    expect_close(name, "[3e-4, 4e-4] (norm 5e-4) clipped to 1e-4: [6e-5, 8e-5]", [6e-5, 8e-5], clipped[0],
                 hint="scale by max_norm / max(norm, max_norm), without an eps (PyTorch's clip_grad_norm_ adds 1e-6 "
                      "to the norm; this function follows tf.clip_by_global_norm)", rtol=1e-7, atol=1e-15)
    return "the 3-4-5 case by hand, below the threshold, tiny gradients, inputs untouched"


# --------------------------------------------------------------------------------------------
# layernorm_forward
# --------------------------------------------------------------------------------------------

# Rows of variance 1 and 1e-4 (deviations +-1 and +-0.01), default eps 1e-5:
# x_hat = +-1 / sqrt(1 + 1e-5) and +-0.01 / sqrt(1.1e-4) = +-1 / sqrt(1.1).
LN_X = np.array([[1.0, 3.0], [0.0, 0.02]])
LN_OUT = np.array([[-1 / np.sqrt(1 + 1e-5), 1 / np.sqrt(1 + 1e-5)], [-1 / np.sqrt(1.1), 1 / np.sqrt(1.1)]])


def _ln_pair(name, result):
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        fail(f"{name} must return a pair (out, cache), got {short(result)}")
    return result


@register("layernorm_forward")
def check_layernorm_forward(layernorm_forward):
    name = "layernorm_forward"
    x = LN_X.copy()
    out, _ = _ln_pair(name, call(name, layernorm_forward, x, np.ones(2), np.zeros(2), {}))
    if not np.array_equal(x, LN_X):
        fail(f"{name} modified x in place", "compute new arrays (x - mean), not x -= mean")
    got = np.asarray(out, dtype=float) if isinstance(out, np.ndarray) else out
    hint = "per example (each row, axis=1): x_hat = (x - mean) / sqrt(var + eps) with the biased variance"
    if isinstance(got, np.ndarray) and got.shape == (2, 2):
        if np.allclose(got, [[-1, 1], [-1, 1]], atol=1e-4):
            hint = "eps is missing or too small: divide by sqrt(var + eps), default eps = 1e-5 (it matters when var is tiny)"
        elif np.allclose(got[1], [-0.999, 0.999], atol=2e-4):
            hint = "eps goes inside the square root: sqrt(var + eps), not sqrt(var) + eps"
        elif np.allclose(got[:, 0], got[:, 1], atol=1e-6) or np.allclose(got, [[1, 1], [-1, -1]], atol=1e-2):
            hint = "normalize each example over its features (axis=1), not each feature over the batch"
        elif np.allclose(np.abs(got), 1 / np.sqrt(2), atol=1e-3) or np.allclose(got[0], [-1 / np.sqrt(2), 1 / np.sqrt(2)],
                                                                                  atol=1e-4):
            hint = "use the biased variance (divide by D, ddof=0)"
    expect_close(name, "x = [[1, 3], [0, 0.02]] (row variances 1 and 1e-4), gamma = 1, beta = 0, default eps 1e-5: "
                 "+-1/sqrt(1 + 1e-5) and +-1/sqrt(1.1)", LN_OUT, out, hint=hint)

    # deviations [-2, -1, 3] from the mean 3, biased variance 14/3
    x_hat = np.array([[-2.0, -1.0, 3.0]]) / np.sqrt(14 / 3 + 1e-5)
    gamma, beta = np.array([1.0, 2.0, 3.0]), np.array([0.5, 0.0, -1.0])
    out, _ = _ln_pair(name, call(name, layernorm_forward, np.array([[1.0, 2.0, 6.0]]), gamma, beta, {}))
    expect_close(name, "x = [[1, 2, 6]], gamma = [1, 2, 3], beta = [0.5, 0, -1]: gamma * (x - 3) / sqrt(14/3 + eps) + beta",
                 gamma * x_hat + beta, out,
                 [(beta * x_hat + gamma, "gamma and beta swapped: out = gamma * x_hat + beta"),
                  (x_hat + beta, "multiply by gamma: out = gamma * x_hat + beta"),
                  (gamma * x_hat, "add beta: out = gamma * x_hat + beta")],
                 hint="out = gamma * x_hat + beta, x_hat = (x - mean) / sqrt(var + eps) over the row")

    # ln_param may carry other keys (the course's MLP passes 'mode'); eps = 0.25 given: +-1 / sqrt(1.25)
    out, _ = _ln_pair(name, call(name, layernorm_forward, np.array([[0.0, 2.0]]), np.ones(2), np.zeros(2),
                                 {"mode": "train", "eps": 0.25}))
    expect_close(name, "x = [[0, 2]] with ln_param = {'mode': 'train', 'eps': 0.25}: +-1 / sqrt(1 + 0.25)",
                 [[-1 / np.sqrt(1.25), 1 / np.sqrt(1.25)]], out, hint="read eps from ln_param (default 1e-5)")

    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 5.0, size=(6, 50))
    out, _ = _ln_pair(name, call(name, layernorm_forward, x, np.ones(50), np.zeros(50), {}))
    out = np.asarray(out, dtype=float)
    expect_close(name, "6 random rows of 50 features, gamma = 1, beta = 0: every output row has mean 0",
                 np.zeros(6), out.mean(axis=1), atol=1e-8, hint="subtract the mean of each row")
    return "two rows by hand (eps on a tiny variance), gamma and beta, ln_param with other keys, rows of mean 0"


# --------------------------------------------------------------------------------------------
# layernorm_backward
# --------------------------------------------------------------------------------------------

# A 3 x 4 batch (N != D) whose last row has a tiny variance (where eps matters), gamma varying.
LB_X = np.array([[1.0, -2.0, 0.5, 3.0], [0.2, 0.1, -0.4, 0.3], [0.003, -0.002, 0.004, 0.0]])
LB_GAMMA = np.array([1.5, 0.5, 2.0, -1.0])
LB_BETA = np.array([0.1, -0.2, 0.3, 0.0])
LB_DOUT = np.array([[0.3, -1.2, 0.5, 0.7], [1.1, 0.4, -0.7, 0.2], [-0.6, 0.9, 0.2, -0.3]])


def _probe(name, backward):
    """Say "not implemented yet" for a stub even when no cache can be built (anything else is ignored)."""
    try:
        call(name, backward, LB_DOUT.copy(), None)
    except AssertionError as error:
        if "not implemented yet" in str(error):
            raise


def _find_forward(name, backward, others):
    if others:
        return others[0]
    forward = getattr(inspect.unwrap(backward), "__globals__", {}).get("layernorm_forward")
    if not callable(forward):
        _probe(name, backward)
        fail(f"check({name!r}, {name}) builds its cache with your layernorm_forward, but found none next to {name}",
             f"run the cell that defines layernorm_forward first, or pass it: check({name!r}, {name}, layernorm_forward)")
    return forward


def _central_differences(loss, array, h=1e-7):
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        step = np.zeros_like(array)
        step[index] = h
        grad[index] = (loss(array + step) - loss(array - step)) / (2 * h)
    return grad


@register("layernorm_backward")
def check_layernorm_backward(layernorm_backward, *others):
    name = "layernorm_backward"
    forward = _find_forward(name, layernorm_backward, others)
    try:
        check_layernorm_forward(forward)
    except AssertionError as failure:
        _probe(name, layernorm_backward)     # say "not implemented yet" for the backward stub itself first
        fail(f"{name}: the check builds its cache with your layernorm_forward, which fails its own check:\n  {failure}",
             "make check('layernorm_forward', layernorm_forward) pass first")

    def loss(x=LB_X, gamma=LB_GAMMA, beta=LB_BETA):
        out, _ = call("layernorm_forward", forward, x, gamma, beta, {})
        return float(np.sum(np.asarray(out, dtype=float) * LB_DOUT))

    _, cache = call("layernorm_forward", forward, LB_X.copy(), LB_GAMMA.copy(), LB_BETA.copy(), {})
    dout = LB_DOUT.copy()
    result = call(name, layernorm_backward, dout, cache)
    if not (isinstance(result, (tuple, list)) and len(result) == 3):
        fail(f"{name} must return a triple (dx, dgamma, dbeta), got {short(result)}")
    if not np.array_equal(dout, LB_DOUT):
        fail(f"{name} modified dout in place", "compute new arrays (dout * gamma), not dout *= gamma")
    dx, dgamma, dbeta = result
    shapes = tuple(np.shape(a) for a in result)
    if shapes != ((3, 4), (4,), (4,)):
        fail(f"{name}: shapes: expected dx (3, 4), dgamma (4,), dbeta (4,); got {shapes[0]}, {shapes[1]}, {shapes[2]}",
             "dx has the shape of x; dgamma and dbeta have one entry per feature (sums over the batch, axis=0)")
    what = "gradients of L = sum(out * dout) on a 3 x 4 batch (default eps), compared with central differences"
    expect_close(name, f"dbeta, {what}", LB_DOUT.sum(axis=0), dbeta, hint="dbeta is the sum of dout over the batch (axis=0)")
    expect_close(name, f"dgamma, {what}", _central_differences(lambda g: loss(gamma=g), LB_GAMMA), dgamma,
                 hint="dgamma = sum over the batch of dout * x_hat (the normalized input, not x)", rtol=1e-5, atol=1e-7)
    expected = _central_differences(lambda x: loss(x=x), LB_X)
    got = np.asarray(dx, dtype=float)
    scale = np.abs(expected).max(axis=1, keepdims=True)
    if not np.allclose(got.sum(axis=1) / scale.ravel(), 0.0, atol=1e-6):
        hint = ("each ROW of dx must sum to 0 (adding a constant to an example does not change its output): the "
                "gradient through the row mean is missing or wrong, or the sums run over the batch instead of the row")
    elif np.allclose(got[:2], expected[:2], rtol=1e-4, atol=1e-6):
        hint = "only the last row, whose variance is tiny, is wrong: use s = sqrt(var + eps) as in the forward pass"
    else:
        hint = ("dx = (D * dx_hat - sum_k dx_hat_k - x_hat * sum_k dx_hat_k x_hat_k) / (D * s), dx_hat = dout * gamma, "
                "sums over the features of each row (axis=1); gamma stays inside the sums")
    if not np.allclose(got, expected, rtol=1e-5, atol=1e-6 * scale):
        fail(f"{name}: dx, {what}:\n  expected {short(expected)}\n  got      {short(got)}", hint)
    return "dbeta, dgamma and dx against central differences of your forward pass, rows of dx sum to 0, dout untouched"


# --------------------------------------------------------------------------------------------
# top_hessian_eigenvalue
# --------------------------------------------------------------------------------------------

class _CountingProduct:
    """``v -> H v`` that counts its calls."""

    def __init__(self, H):
        self.H, self.calls = H, 0

    def __call__(self, v):
        self.calls += 1
        return self.H @ v


def _eigenpair(name, result, n):
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        fail(f"{name} must return a pair (eigenvalue, eigenvector), got {short(result)}")
    eigenvalue, vector = result
    if np.ndim(eigenvalue) != 0:
        fail(f"{name} must return (eigenvalue, eigenvector) in this order; the first item is {short(eigenvalue)}")
    vector = np.asarray(vector, dtype=float)
    if vector.shape != (n,):
        fail(f"{name}: the eigenvector must have the shape of v0, ({n},), got {vector.shape}")
    return float(eigenvalue), vector


def _up_to_sign(expected, vector):
    return vector * (np.sign(vector @ expected) or 1.0)


@register("top_hessian_eigenvalue")
def check_top_hessian_eigenvalue(top_hessian_eigenvalue):
    name = "top_hessian_eigenvalue"
    # diag(3, 1) from v0 = [1, 1]: after k steps v is proportional to (3^k, 1), so 60 steps give e1 and 3
    H = np.diag([3.0, 1.0])
    v0 = np.array([1.0, 1.0])
    hvp = _CountingProduct(H)
    eigenvalue, vector = _eigenpair(name, call(name, top_hessian_eigenvalue, hvp, v0, num_iters=60), 2)
    if not np.array_equal(v0, [1.0, 1.0]):
        fail(f"{name} modified v0 in place", "start from a normalized copy: v = v0 / norm(v0)")
    expect_close(name, "H = diag(3, 1), v0 = [1, 1], num_iters=60: the top eigenvalue 3", 3.0, eigenvalue,
                 [(2.0, "the eigenvalue is computed at the starting vector: take v'Hv after the iterations"),
                  (2.8, "every iteration must multiply the CURRENT v (v <- H v / ||H v||), not v0"),
                  (9.0, "the eigenvalue is v'Hv, not ||H v||^2")],
                 hint="normalize v at every iteration (v <- H v / ||H v||) and return v'Hv with ||v|| = 1")
    expect_close(name, "H = diag(3, 1): the eigenvector [1, 0] (up to its sign), of norm 1", [1.0, 0.0],
                 _up_to_sign(np.array([1.0, 0.0]), vector),
                 [([3.0, 0.0], "return the unit vector v, not H v")], hint="return the normalized iterate v")
    if not 60 <= hvp.calls <= 62:
        fail(f"{name}: with num_iters=60 hvp was called {hvp.calls} times; expected 60 or 61",
             "run num_iters power iterations (one product each) and one more product for v'Hv")

    # a NEGATIVE dominant eigenvalue: power iteration finds -4 (with its sign) and e1
    H = np.diag([-4.0, 1.0, 2.0])
    eigenvalue, vector = _eigenpair(name, call(name, top_hessian_eigenvalue, _CountingProduct(H), np.ones(3),
                                               num_iters=100), 3)
    expect_close(name, "H = diag(-4, 1, 2), v0 = [1, 1, 1]: the dominant eigenvalue -4, with its sign", -4.0, eigenvalue,
                 [(4.0, "the sign is lost: ||H v|| is |lambda|; the eigenvalue is v'Hv with ||v|| = 1")],
                 hint="return the Rayleigh quotient v'Hv of the unit vector v")

    # num_iters left out: 100 by default
    hvp = _CountingProduct(np.diag([2.0, 1.0]))
    call(name, top_hessian_eigenvalue, hvp, np.array([1.0, 1.0]))
    if not 100 <= hvp.calls <= 101:
        fail(f"{name}: called without num_iters, hvp was called {hvp.calls} times; the default is num_iters=100")

    # a random symmetric 6 x 6 matrix with eigenvalues 5, 2, 1, 0.5, 0, -1 (built from an orthogonal Q)
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    H = (q * np.array([5.0, 2.0, 1.0, 0.5, 0.0, -1.0])) @ q.T
    eigenvalue, vector = _eigenpair(name, call(name, top_hessian_eigenvalue, _CountingProduct(H), rng.normal(size=6),
                                               num_iters=100), 6)
    expect_close(name, "a random symmetric 6 x 6 H with eigenvalues 5, 2, 1, 0.5, 0, -1: the top eigenvalue 5", 5.0,
                 eigenvalue, hint="v <- H v / ||H v||, num_iters times, then v'Hv")
    expect_close(name, "the same H: the eigenvector of 5 (up to its sign)", q[:, 0], _up_to_sign(q[:, 0], vector),
                 rtol=1e-6, atol=1e-8)
    return "diag(3, 1) and diag(-4, 1, 2) by hand, hvp called num_iters (+1) times, default 100, a 6 x 6 matrix"


def _is_number(value) -> bool:
    """A real number (a Python or numpy scalar, or a 0-d numeric array); not a bool, a string or None."""
    if isinstance(value, (bool, np.bool_)):
        return False
    return isinstance(value, (int, float, np.integer, np.floating)) or (
        isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf")


# --------------------------------------------------------------------------------------------
# stable_learning_rate (an outcome task: judged by what gradient descent does with the rate)
# --------------------------------------------------------------------------------------------

_GRADIENT_BUDGET = 100      # calls of grad_fn, as in the hidden check
_NOT_TIMID = 0.4            # the smallest acceptable rate, as a fraction of 2 / L
_GAP = 1e-6                 # gradient descent must bring f - f* to this fraction of its start


class _GradientCalls:
    """``grad_fn`` for the student's function: counts its calls and stops past the budget."""

    def __init__(self, grad):
        self.grad, self.calls = grad, 0

    def __call__(self, w):
        self.calls += 1
        if self.calls > _GRADIENT_BUDGET:
            fail(f"stable_learning_rate called grad_fn more than {_GRADIENT_BUDGET} times",
                 "a Hessian-vector product by central differences costs two gradients: count your power iterations")
        return self.grad(np.array(w, dtype=float))


def _descent(loss, grad, w, rate, max_steps):
    """``(steps to reach the gap, None)`` or ``(None, the gap reached as a fraction of the start)``."""
    gap0, gap = loss(w), loss(w)
    for step in range(1, max_steps + 1):
        w = w - rate * grad(w)
        gap = loss(w) if np.all(np.isfinite(w)) else np.inf
        if gap <= _GAP * gap0:
            return step, None
        if not gap <= 1e8 * gap0:
            break
    return None, gap / gap0


def _quadratic_problem(eigenvalues, seed, distance):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((len(eigenvalues), len(eigenvalues))))
    A = (q * np.asarray(eigenvalues, dtype=float)) @ q.T
    A = 0.5 * (A + A.T)
    w_star = rng.standard_normal(len(eigenvalues))
    direction = rng.standard_normal(len(eigenvalues))
    start = w_star + distance * direction / np.linalg.norm(direction)
    return (lambda w: float(0.5 * (w - w_star) @ A @ (w - w_star)), lambda w: A @ (w - w_star), start,
            float(np.max(eigenvalues)))


def _log_cosh_problem():
    """f(w) = sum_i c_i log cosh(w_i), minimum 0 at w = 0; near 0 its Hessian is about diag(c)."""
    c = np.geomspace(0.5, 40.0, 12)
    start = np.full(12, 0.01)
    sharpness = float(np.max(c / np.cosh(start) ** 2))
    return (lambda w: float(np.sum(c * np.log(np.cosh(w)))), lambda w: c * np.tanh(w), start, sharpness)


_RATE_PROBLEMS = [
    ("a 2-D quadratic, Hessian eigenvalues 10 and 1, started at distance 1", lambda: _quadratic_problem([10.0, 1.0], 0, 1.0)),
    ("a 50-D quadratic whose top eigenvalue 200 stands above 48 eigenvalues between 70 and 100, started at "
     "distance 1e-3 from the minimum", lambda: _quadratic_problem(
         np.concatenate([[200.0], np.linspace(70.0, 100.0, 48), [3.0]]), 1, 1e-3)),
    ("the separable loss sum_i c_i log cosh(w_i), c from 0.5 to 40, near its minimum", _log_cosh_problem),
]


@register("stable_learning_rate")
def check_stable_learning_rate(stable_learning_rate):
    name = "stable_learning_rate"
    solved = []
    for seed, (what, make) in enumerate(_RATE_PROBLEMS):
        loss, grad, start, sharpness = make()
        edge = 2.0 / sharpness
        counted = _GradientCalls(grad)
        w = start.copy()
        rate = call(name, stable_learning_rate, counted, w, np.random.default_rng(100 + seed))
        unchanged(name, "w", start, w)
        if not _is_number(rate):
            fail(f"{name}: {what}: returned {short(rate)}", "return the learning rate, a positive number")
        rate = float(rate)
        if not (np.isfinite(rate) and rate > 0):
            fail(f"{name}: {what}: returned the learning rate {rate}", "a learning rate is a positive, finite number")
        where = f"your rate {rate:.4g} is {rate / edge:.3g} x 2/L (L = {sharpness:g}, 2/L = {edge:.4g})"
        if rate < _NOT_TIMID * edge:
            fail(f"{name}: {what}: {where}, below {_NOT_TIMID:g} x 2/L: gradient descent would crawl",
                 "base the rate on the curvature: the largest eigenvalue L of the Hessian at w, which "
                 "Hessian-vector products (finite differences of grad_fn) reveal; then take a sizeable fraction of 2/L")
        needed, _ = _descent(loss, grad, start, _NOT_TIMID * edge, 100_000)
        budget = int(np.ceil(1.5 * needed))
        steps, reached = _descent(loss, grad, start, rate, budget)
        if steps is None:
            fail(f"{name}: {what}: gradient descent with your rate does not reach f - f* <= {_GAP:g} (f(w) - f*) in "
                 f"{budget} steps (it stands at {reached:.3g} of the start): {where}",
                 "the rate must come from the curvature, not from the size of the gradient: near a minimum the "
                 "gradient is tiny whatever the curvature" if rate > 10 * edge else
                 "at 2/L and above, the error along the top eigenvector of the Hessian does not shrink: estimate L "
                 "well (enough power iterations: an unconverged vector underestimates it) and keep a safety margin "
                 "below 2/L" if rate >= 0.98 * edge else
                 "the rate must suit the curvature along the whole path; keep a margin below 2/L")
        solved.append(f"{rate / edge:.2f} x 2/L in {steps} steps")
    return "gradient descent converges with your rates: " + ", ".join(solved)
