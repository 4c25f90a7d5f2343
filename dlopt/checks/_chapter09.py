"""Visible checks of exercise 9: newton_step, bfgs_update, lbfgs_direction.

Small cases computed by hand (exact fractions), and properties every right answer has: one Newton
step solves a quadratic, the BFGS update is symmetric, positive definite and satisfies the secant
equation H_new y = s, and the L-BFGS matrix satisfies the secant equation of the newest pair.
"""

from __future__ import annotations

import numpy as np

from ._framework import call, expect_close, likely_mistake, same, fail, register, short, unchanged
from ..problems import Quadratic, Rosenbrock


def as_array(name: str, what: str, got, shape) -> np.ndarray:
    """``got`` as a float array of ``shape``, or a failure saying what came back."""
    try:
        array = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        fail(f"{name}: {what}: expected an array of shape {shape}, got {short(got)}")
    if array.shape != shape:
        fail(f"{name}: {what}: expected an array of shape {shape}, got shape {array.shape} ({short(got)})",
             "s y' is an OUTER product (np.outer(s, y)), an (n, n) matrix; s @ y of 1-D arrays is a number"
             if name == "bfgs_update" else None)
    return array


def spd_matrix(rng, eigenvalues) -> np.ndarray:
    """A random symmetric positive definite matrix with the given eigenvalues."""
    Q, _ = np.linalg.qr(rng.standard_normal((len(eigenvalues), len(eigenvalues))))
    return (Q * np.asarray(eigenvalues, dtype=float)) @ Q.T


# --------------------------------------------------------------------------------------------
# newton_step
# --------------------------------------------------------------------------------------------

_NEWTON_HINT = "the step p solves the linear system H p = -g (np.linalg.solve; not an elementwise division), shape (n,)"


def _newton_mistakes(g, H):
    """What the usual mistakes return on these inputs."""
    return [
        (np.linalg.solve(H, g), "wrong sign: the step is -H^{-1} g, it goes against the gradient"),
        (-H @ g, "multiplied by H instead of solving with it: the step is -H^{-1} g, not -H g"),
        (H @ g, "multiplied by H instead of solving with it, and the sign: the step is -H^{-1} g"),
        (-g, "the Hessian is ignored (that is a gradient step -g): solve H p = -g"),
        (g, "the Hessian is ignored and the sign is wrong: solve H p = -g"),
        (-g / np.diag(H), "only the diagonal of H is used: solve the full system H p = -g"),
    ]


@register("newton_step")
def check_newton_step(newton_step):
    g, H = np.array([2.0, -4.0]), np.diag([2.0, 4.0])
    step = call("newton_step", newton_step, g, H)
    unchanged("newton_step", "grad", np.array([2.0, -4.0]), g)
    unchanged("newton_step", "hessian", np.diag([2.0, 4.0]), H)
    expect_close("newton_step", "newton_step(g=[2, -4], H=diag(2, 4)): the step -H^{-1} g = [-2/2, 4/4]",
                 [-1.0, 1.0], step, hint=likely_mistake(step, _newton_mistakes(g, H), _NEWTON_HINT))

    quadratic = Quadratic.with_condition_number(1000.0, dim=6, seed=1)      # minimizer: all ones
    w = np.array([3.0, -1.0, 0.5, 2.0, -4.0, 0.0])
    g, H = quadratic.grad(w), quadratic.hessian(w)
    g_before, H_before = g.copy(), H.copy()
    step = call("newton_step", newton_step, g, H)
    unchanged("newton_step", "grad", g_before, g)
    unchanged("newton_step", "hessian", H_before, H)
    step = as_array("newton_step", "the step on a quadratic in 6 dimensions", step, (6,))
    expect_close("newton_step", "on a quadratic (6 dimensions, condition number 1000, a full Hessian) one Newton "
                 "step w + newton_step(grad(w), hessian(w)) reaches the minimizer [1, ..., 1]",
                 quadratic.minimizer, w + step, rtol=1e-6, atol=1e-8,
                 hint=likely_mistake(step, _newton_mistakes(g, H), _NEWTON_HINT))
    return "a diagonal Hessian by hand, one step to the minimizer of a quadratic, inputs untouched"


# --------------------------------------------------------------------------------------------
# bfgs_update
# --------------------------------------------------------------------------------------------

_BFGS_FORMULA = "H_new = (I - rho s y') H (I - rho y s') + rho s s' with rho = 1 / (y's)"


def _parallel(u, v) -> bool:
    return bool(np.isclose(abs(u @ v), np.linalg.norm(u) * np.linalg.norm(v), rtol=1e-9, atol=1e-12))


def _bfgs_diagnosis(H, s, y, H_new) -> str:
    """A hint from the properties of a wrong ``H_new`` (shape already checked).

    When s and y are parallel many wrong updates coincide, so only the unambiguous signs are read.
    """
    if same(H_new, H):
        return f"H came back unchanged: {_BFGS_FORMULA}"
    if not np.allclose(H_new, H_new.T, rtol=1e-6, atol=1e-9):
        return ("H_new is not symmetric: H is multiplied on BOTH sides, (I - rho s y') on the left and "
                "(I - rho y s') on the right, with matrix products (@) and outer products (np.outer)")
    if same(H_new @ y, np.zeros_like(s)):
        return f"H_new y = 0 instead of s: the term + rho s s' is missing ({_BFGS_FORMULA})"
    if same(H_new @ y, -s):
        return "H_new y = -s instead of s: the term rho s s' is added, not subtracted"
    if _parallel(s, y):
        pass
    elif same(H_new @ s, y):
        return ("H_new s = y: that is the secant equation of the Hessian itself (s and y swapped, or the update "
                "of the Hessian B); bfgs_update approximates the INVERSE Hessian, H_new y = s")
    elif same(H_new @ y, (y @ y) / (y @ s) * y):
        return "H_new y = (y'y / y's) y instead of s: the last term is + rho s s', not rho y y'"
    elif same(H_new @ y, s):
        return (f"H_new satisfies the secant equation H_new y = s but is not the BFGS update (the DFP update "
                f"H + ss'/y's - Hyy'H/y'Hy?): {_BFGS_FORMULA}")
    return (f"the secant equation H_new y = s fails (H_new y = {short(H_new @ y)}, s = {short(s)}): check "
            f"rho = 1 / (y's), that s y' and y s' are outer products (np.outer) in this order, and the signs; "
            f"{_BFGS_FORMULA}")


def _expect_bfgs(bfgs_update, H, s, y, what, expected):
    inputs = (H.copy(), s.copy(), y.copy())
    got = call("bfgs_update", bfgs_update, H, s, y)
    for label, before, after in zip(("H_inv", "s", "y"), inputs, (H, s, y)):
        unchanged("bfgs_update", label, before, after)
    H_new = as_array("bfgs_update", what, got, H.shape)
    expect_close("bfgs_update", what, expected, H_new, hint=_bfgs_diagnosis(H, s, y, H_new))


# Two updates of H = I by hand: (s, y) and the result.
BFGS_BY_HAND_INPUTS = [([1.0, 0.0], [1.0, 1.0]), ([1.0, 0.0], [2.0, 0.0])]
BFGS_BY_HAND = [[[2.0, -1.0], [-1.0, 1.0]], [[0.5, 0.0], [0.0, 1.0]]]


@register("bfgs_update")
def check_bfgs_update(bfgs_update):
    for (s, y), expected, rho in zip(BFGS_BY_HAND_INPUTS, BFGS_BY_HAND, ("1", "1/2")):
        _expect_bfgs(bfgs_update, np.eye(2), np.array(s), np.array(y),
                     f"bfgs_update(H=I, s=[{s[0]:g}, {s[1]:g}], y=[{y[0]:g}, {y[1]:g}]) (rho = {rho}, by hand)",
                     expected)

    rng = np.random.default_rng(0)
    A = spd_matrix(rng, [1.0, 2.0, 5.0, 10.0, 50.0])                 # an SPD "Hessian"
    H = np.eye(5)
    for update in range(1, 4):
        s = rng.standard_normal(5)
        y = A @ s                                                     # y's = s'As > 0
        inputs = (H.copy(), s.copy(), y.copy())
        got = call("bfgs_update", bfgs_update, H, s, y)
        for label, before, after in zip(("H_inv", "s", "y"), inputs, (H, s, y)):
            unchanged("bfgs_update", label, before, after)
        what = f"update {update} of 3 from H = I, random s and y = A s (A symmetric positive definite, 5 x 5)"
        H_new = as_array("bfgs_update", what, got, (5, 5))
        hint = _bfgs_diagnosis(H, s, y, H_new)
        if not np.allclose(H_new, H_new.T, rtol=1e-6, atol=1e-9):
            fail(f"bfgs_update: {what}: H_new is not symmetric", hint)
        if not same(H_new @ y, s):
            fail(f"bfgs_update: {what}: the secant equation H_new y = s fails:\n  s        {short(s)}\n"
                 f"  H_new y  {short(H_new @ y)}", hint)
        if not np.all(np.linalg.eigvalsh(H_new) > 0):
            fail(f"bfgs_update: {what}: H_new is not positive definite (H is, and y's > 0)", hint)
        H = H_new
    return "two updates by hand; the secant equation, symmetry and positive definiteness; inputs untouched"


# --------------------------------------------------------------------------------------------
# lbfgs_direction
# --------------------------------------------------------------------------------------------

_LBFGS_HINT = ("follow the two loops of the notebook: the first from the newest pair (s_history[-1]) to the oldest, "
               "alpha_i = rho_i s_i'q; r = gamma q with gamma = s'y / y'y of the NEWEST pair; the second from the "
               "oldest to the newest, reusing each pair's own alpha_i; return -r")
_GAMMA_NEWEST = "gamma = s'y / y'y, computed from the NEWEST pair (s_history[-1], y_history[-1])"

# One pair s = [1, 0], y = [2, 0]: gamma = 1/2 and H = diag(1/2, 1/2), so -H [1, 1] = [-1/2, -1/2].
ONE_PAIR_DIRECTION = [-0.5, -0.5]
# Two pairs, oldest first: s = ([1, 0], [0, 1]), y = ([1, 1], [1, 2]); gamma = 2/5; g = [1, 0].
# By hand (exact fractions), -H g = [-7/5, 7/10]; the usual mistakes give the other values.
TWO_PAIRS_S = ([1.0, 0.0], [0.0, 1.0])
TWO_PAIRS_Y = ([1.0, 1.0], [1.0, 2.0])
TWO_PAIRS_DIRECTION = [-7 / 5, 7 / 10]
_TWO_PAIRS_MISTAKES = [
    ([7 / 5, -7 / 10], "wrong sign: the direction is -H g (a descent direction), return -r"),
    ([-1.0, 0.0], "the history is ignored (that is -g): apply the two loops"),
    ([-2 / 5, 0.0], "only H0 = gamma I is applied (-gamma g): the two loops are missing"),
    ([-8 / 5, 3 / 5], "the loops run in the wrong order: the first goes from the newest pair to the oldest, "
                      "the second from the oldest to the newest"),
    ([-13 / 8, 5 / 8], "the histories are ordered OLDEST first: the newest pair is s_history[-1], y_history[-1]"),
    ([-2 / 5, -4 / 5], "the alphas are not matched to their pairs in the second loop: each alpha_i belongs to "
                       "pair i (they were computed newest first)"),
    ([-2.0, 1.0], f"the H0 scaling is missing: the second loop starts from r = gamma q, {_GAMMA_NEWEST}"),
    ([-3 / 2, 3 / 4], _GAMMA_NEWEST),
    ([-7 / 2, 7 / 4], f"gamma is inverted: {_GAMMA_NEWEST}, not y'y / s'y"),
    ([-7 / 5, 1.0], "rho_i = 1 / (y_i's_i), not 1 / (s_i's_i)"),
    ([3 / 10, -13 / 20], "in the first loop alpha_i = rho_i s_i'q (s, not y)"),
    ([7 / 5, 3 / 2], "sign error in the second loop: r = r + s_i (alpha_i - beta)"),
]


def _lbfgs(lbfgs_direction, g, s_history, y_history, what):
    """Call lbfgs_direction, check that the inputs are untouched, return the direction as an array."""
    copies = (g.copy(), [s.copy() for s in s_history], [y.copy() for y in y_history])
    got = call("lbfgs_direction", lbfgs_direction, g, s_history, y_history)
    for before, after in zip([copies[0], *copies[1], *copies[2]], [g, *s_history, *y_history]):
        if not np.array_equal(before, after):
            fail("lbfgs_direction modified grad or the histories in place",
                 "q = grad does not copy, so q -= ... changes grad: write q = q - ... (or start from a copy)")
    return as_array("lbfgs_direction", what, got, g.shape)


@register("lbfgs_direction")
def check_lbfgs_direction(lbfgs_direction):
    g = np.array([1.0, 1.0])
    try:
        d = _lbfgs(lbfgs_direction, g, [], [], "lbfgs_direction(g=[1, 1], [], [])")
    except AssertionError as error:
        if " raised " not in str(error):   # not implemented yet, or a message with its own hint
            raise
        fail(f"{error}", "with an empty history (no pairs yet) the direction is -g")
    expect_close("lbfgs_direction", "lbfgs_direction(g=[1, 1], [], []): with an empty history the direction is -g",
                 [-1.0, -1.0], d, hint=likely_mistake(d, [([1.0, 1.0], "wrong sign: the direction is -g")],
                                                      "with an empty history the direction is -g"))

    d = _lbfgs(lbfgs_direction, g, [np.array([1.0, 0.0])], [np.array([2.0, 0.0])],
               "lbfgs_direction(g=[1, 1], [s], [y]) with s = [1, 0], y = [2, 0]")
    expect_close("lbfgs_direction", "lbfgs_direction(g=[1, 1], [s], [y]) with s = [1, 0], y = [2, 0]: gamma = 1/2 "
                 "and H = diag(1/2, 1/2), so -H g = [-0.5, -0.5]", ONE_PAIR_DIRECTION, d,
                 hint=likely_mistake(d, [([0.5, 0.5], "wrong sign: the direction is -H g, return -r"),
                                         ([-1.0, -1.0], "the history is ignored (that is -g): apply the two loops"),
                                         ([-0.5, -1.0], f"the H0 scaling is missing: r = gamma q, {_GAMMA_NEWEST}"),
                                         ([-0.5, -2.0], f"gamma is inverted: {_GAMMA_NEWEST}, not y'y / s'y"),
                                         ([-1.5, -0.5], "rho_i = 1 / (y_i's_i), not 1 / (s_i's_i)"),
                                         ([-1.0, -0.5], "in the first loop alpha_i = rho_i s_i'q (s, not y)"),
                                         ([0.5, -0.5], "sign error in the second loop: r = r + s_i (alpha_i - beta)")],
                                     _LBFGS_HINT))

    s_history = tuple(np.array(s) for s in TWO_PAIRS_S)
    y_history = tuple(np.array(y) for y in TWO_PAIRS_Y)
    d = _lbfgs(lbfgs_direction, np.array([1.0, 0.0]), s_history, y_history,
               "two pairs given as tuples, oldest first")
    expect_close("lbfgs_direction", "lbfgs_direction(g=[1, 0], s_history=([1, 0], [0, 1]), "
                 "y_history=([1, 1], [1, 2])), oldest first, gamma = 2/5 (by hand)", TWO_PAIRS_DIRECTION, d,
                 hint=likely_mistake(d, _TWO_PAIRS_MISTAKES, _LBFGS_HINT))

    rng = np.random.default_rng(1)
    A = spd_matrix(rng, np.geomspace(1.0, 100.0, 6))
    s_history = [rng.standard_normal(6) for _ in range(4)]
    y_history = [A @ s for s in s_history]
    what = "4 pairs y_i = A s_i (A symmetric positive definite, 6 x 6), grad = y_newest"
    d = _lbfgs(lbfgs_direction, y_history[-1].copy(), s_history, y_history, what)
    if not same(d, -s_history[-1]):
        newest_first = same(_lbfgs(lbfgs_direction, y_history[0].copy(), s_history, y_history, what),
                              -s_history[0])
        fail(f"lbfgs_direction: {what}: H satisfies the secant equation of the newest pair, H y_newest = s_newest, "
             f"so the direction must be -s_newest:\n  expected {short(-s_history[-1])}\n  got      {short(d)}",
             "the histories are ordered OLDEST first: the newest pair is s_history[-1], y_history[-1]"
             if newest_first else _LBFGS_HINT)
    g = rng.standard_normal(6)
    d = _lbfgs(lbfgs_direction, g, s_history, y_history, "4 pairs, a random gradient")
    if not g @ d < 0:
        fail(f"lbfgs_direction: 4 pairs, a random gradient g: the direction must be a descent direction, g'd < 0, "
             f"got g'd = {g @ d:.6g}", "return -r: the direction is -H g")
    return "empty history, one and two pairs by hand, the secant equation, a descent direction, inputs untouched"


def _is_number(value) -> bool:
    """A real number (a Python or numpy scalar, or a 0-d numeric array); not a bool, a string or None."""
    if isinstance(value, (bool, np.bool_)):
        return False
    return isinstance(value, (int, float, np.integer, np.floating)) or (
        isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf")


# --------------------------------------------------------------------------------------------
# backtracking_line_search (an outcome task: judged by what the step does, not by its value)
# --------------------------------------------------------------------------------------------

_SEARCH_BUDGET = 100   # evaluations of f in one search, as in the hidden check
_SHORTER = ("a step that raises f must be rejected: try shorter and shorter steps until f has dropped by at least "
            "a small fraction of the decrease the slope g'd promises (g'd < 0)")


class _CountedCalls:
    """``f`` (or its gradient) for one search: counts the calls and stops the search past the budget."""

    def __init__(self, function, what):
        self.function, self.what, self.calls = function, what, 0

    def __call__(self, x):
        self.calls += 1
        if self.calls > _SEARCH_BUDGET:
            fail(f"backtracking_line_search evaluated {self.what} more than {_SEARCH_BUDGET} times in one search",
                 "each rejected trial must make the step shorter, and the loop must stop as soon as the "
                 "decrease is sufficient")
        return self.function(np.array(x, dtype=float))


def _search(backtracking_line_search, f, grad, x, d, what):
    """Call the student's search once; return (alpha, f_new, calls of f) after checking the answer's type."""
    counted_f, counted_grad = _CountedCalls(f, "f"), _CountedCalls(grad, "the gradient")
    x_before, d_before = x.copy(), d.copy()
    alpha = call("backtracking_line_search", backtracking_line_search, counted_f, counted_grad, x, d)
    unchanged("backtracking_line_search", "x", x_before, x)
    unchanged("backtracking_line_search", "direction", d_before, d)
    if not _is_number(alpha):
        fail(f"backtracking_line_search: {what}: returned {short(alpha)}",
             "return the step length alpha, a positive number (the grader computes the new point x + alpha d)")
    alpha = float(alpha)
    if not (np.isfinite(alpha) and alpha > 0):
        fail(f"backtracking_line_search: {what}: returned the step length {alpha}",
             "the step length along a descent direction is a positive, finite number")
    return alpha, float(f(x + alpha * d)), counted_f.calls


def _expect_decrease(backtracking_line_search, f, grad, x, d, what):
    fx = float(f(x))
    alpha, f_new, calls = _search(backtracking_line_search, f, grad, x, d, what)
    if not f_new < fx:
        fail(f"backtracking_line_search: {what}: the step length {alpha:g} takes f from {fx:.9g} up to {f_new:.9g}"
             + (" (f was never evaluated)" if calls == 0 else ""), _SHORTER)
    return alpha


# The curvature of this quadratic along -g (g at x0) is 2 (1 + 1e-5): the unit step lands a hair past the
# mirror point, where f is a little HIGHER than at x0.
_OVERSHOOT_A = np.diag([1.0, 3.0]) * (2.0 * (1.0 + 1e-5) / (28.0 / 10.0))
_OVERSHOOT_X0 = np.array([1.0, 1.0])


@register("backtracking_line_search")
def check_backtracking_line_search(backtracking_line_search):
    what = "f(x) = x^2 at x = [1] along d = [-3] (the step 1 lands on -2, where f = 4 > 1)"
    _expect_decrease(backtracking_line_search, lambda x: float(x @ x), lambda x: 2 * x, np.array([1.0]),
                     np.array([-3.0]), what)

    quadratic = lambda x: float(0.5 * x @ _OVERSHOOT_A @ x)  # noqa: E731
    g = _OVERSHOOT_A @ _OVERSHOOT_X0
    _expect_decrease(backtracking_line_search, quadratic, lambda x: _OVERSHOOT_A @ x, _OVERSHOOT_X0.copy(), -g,
                     f"a 2-D quadratic where the step 1 along -g raises f by a hair (from "
                     f"{quadratic(_OVERSHOOT_X0):.9g} to {quadratic(_OVERSHOOT_X0 - g):.9g})")

    # steepest descent with your step lengths on Rosenbrock from (-1.2, 1): f must fall at every step
    rosenbrock = Rosenbrock()
    w = np.array([-1.2, 1.0])
    start = rosenbrock.loss(w)
    for iteration in range(1, 301):
        g = rosenbrock.grad(w)
        alpha = _expect_decrease(backtracking_line_search, rosenbrock.loss, rosenbrock.grad, w, -g,
                                 f"steepest descent on Rosenbrock from (-1.2, 1), iteration {iteration}")
        w = w - alpha * g
    if not rosenbrock.loss(w) < 1.0:
        fail(f"backtracking_line_search: 300 iterations of steepest descent on Rosenbrock from (-1.2, 1) with your "
             f"step lengths only bring f from {start:.4g} to {rosenbrock.loss(w):.4g} (expected below 1)",
             "try the full step (alpha = 1) first and shrink it by a constant factor only while the decrease is "
             "insufficient: steps much shorter than needed make the descent crawl")
    return ("a step that overshoots is rejected, a hair of increase is rejected, 300 steps of steepest descent on "
            f"Rosenbrock (f from {start:.4g} to {rosenbrock.loss(w):.2g})")
