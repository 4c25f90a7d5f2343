"""Graders for chapter 9, second-order methods.

Inputs are random symmetric positive definite (SPD) matrices of several sizes (1 to 10), curvature
pairs ``y = A s`` of an SPD ``A`` (so that ``s'y > 0``), and L-BFGS histories of length 0 to 6,
ordered oldest first. Equivalent algebra passes (``np.linalg.inv`` instead of ``solve``, the
expanded BFGS formula, a materialised inverse Hessian instead of the two-loop recursion).
"""

from __future__ import annotations

import numpy as np

from .. import second_order as _reference
from ._common_checks import Case, Mistake, check_cases, compare_values

__all__ = ["check_newton_step", "check_bfgs_update", "check_lbfgs_direction", "MISTAKES"]

_RTOL, _ATOL = 1e-6, 1e-9


def _compare(expected, got):
    return compare_values(expected, got, rtol=_RTOL, atol=_ATOL)


def _spd(rng, n, condition=10.0):
    """A random SPD matrix with eigenvalues spread between 1 and ``condition``."""
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    eigenvalues = np.geomspace(1.0, condition, n) * rng.uniform(0.5, 2.0)
    return (q * eigenvalues) @ q.T


# --------------------------------------------------------------------------------------------
# newton_step
# --------------------------------------------------------------------------------------------

NEWTON_MISTAKES = [
    Mistake("wrong sign: the Newton step is -H^{-1} g (solve(H, g) gives +H^{-1} g)",
            lambda grad, hessian: np.linalg.solve(hessian, grad)),
    Mistake("multiplied by the Hessian instead of its inverse: the step is -H^{-1} g, not -H g",
            lambda grad, hessian: -hessian @ grad),
    Mistake("multiplied by the Hessian with the wrong sign: the step is -H^{-1} g, not H g",
            lambda grad, hessian: hessian @ grad),
    Mistake("the Hessian is ignored (a plain gradient step -g)", lambda grad, hessian: -np.asarray(grad)),
    Mistake("only the diagonal of the Hessian used: -g / diag(H)",
            lambda grad, hessian: -np.asarray(grad) / np.diag(hessian)),
    Mistake("elementwise division by the Hessian (g / H); use np.linalg.solve(H, g)",
            lambda grad, hessian: -np.asarray(grad) / np.asarray(hessian)),
    Mistake("elementwise division by the Hessian (g / H); use np.linalg.solve(H, g)",
            lambda grad, hessian: -(np.asarray(grad)[:, None] / np.asarray(hessian)).sum(axis=1)),
]


def _newton_case(seed, n, condition=10.0):
    def make():
        rng = np.random.default_rng(seed)
        hessian = _spd(rng, n, condition)
        grad = rng.normal(size=n)
        return (grad, hessian), {}

    return Case(make, f"random SPD Hessian of size {n}, condition number {condition:g}")


def _newton_cases():
    return [_newton_case(seed, n, c) for seed, (n, c) in enumerate(
        [(1, 1.0), (2, 5.0), (3, 10.0), (5, 30.0), (10, 100.0), (4, 1e3)])]


def check_newton_step(newton_step) -> None:
    """Grade ``newton_step(grad, hessian) -> step`` (the step is -H^{-1} grad)."""
    check_cases("newton_step", newton_step, _reference.newton_step, _newton_cases(), NEWTON_MISTAKES,
                compare=_compare, input_names=("grad", "hessian"))


# --------------------------------------------------------------------------------------------
# bfgs_update
# --------------------------------------------------------------------------------------------

def _bfgs(H, s, y, *, rho=None, left=None, right=None, last=None):
    n = len(s)
    eye = np.eye(n)
    rho = 1.0 / (y @ s) if rho is None else rho
    left = eye - rho * np.outer(s, y) if left is None else left
    right = eye - rho * np.outer(y, s) if right is None else right
    last = rho * np.outer(s, s) if last is None else last
    return left @ H @ right + last


def _bfgs_b_formula(H, s, y):
    Hs = H @ s
    return H + np.outer(y, y) / (y @ s) - np.outer(Hs, Hs) / (s @ Hs)


def _dfp_inverse(H, s, y):
    Hy = H @ y
    return H + np.outer(s, s) / (y @ s) - np.outer(Hy, Hy) / (y @ Hy)


def _dot_instead_of_outer(H, s, y):
    n = len(s)
    rho = 1.0 / (y @ s)
    return (np.eye(n) - rho * (s @ y)) @ H @ (np.eye(n) - rho * (y @ s)) + rho * (s @ s)


def _vec(f):
    def wrapped(H_inv, s, y):
        return f(np.asarray(H_inv, dtype=float), np.asarray(s, dtype=float).ravel(), np.asarray(y, dtype=float).ravel())

    return wrapped


BFGS_MISTAKES = [
    Mistake("the BFGS update of the Hessian B (B + yy'/y's - Bss'B/s'Bs) applied to the inverse; "
            "the inverse update is (I - rho s y') H (I - rho y s') + rho s s'", _vec(_bfgs_b_formula)),
    Mistake("DFP update instead of BFGS: H + ss'/y's - Hyy'H/y'Hy", _vec(_dfp_inverse)),
    Mistake("rho = 1 / (s's); it is rho = 1 / (y's)", _vec(lambda H, s, y: _bfgs(H, s, y, rho=1.0 / (s @ s)))),
    Mistake("rho = 1 / (y'y); it is rho = 1 / (y's)", _vec(lambda H, s, y: _bfgs(H, s, y, rho=1.0 / (y @ y)))),
    Mistake("rho = y's instead of 1 / (y's)", _vec(lambda H, s, y: _bfgs(H, s, y, rho=y @ s))),
    Mistake("s and y swapped in the update", _vec(lambda H, s, y: _bfgs(H, y, s))),
    Mistake("outer products in the wrong order: (I - rho y s') H (I - rho s y'); it is (I - rho s y') H (I - rho y s')",
            _vec(lambda H, s, y: _bfgs(H, s, y, left=np.eye(len(s)) - np.outer(y, s) / (y @ s),
                                       right=np.eye(len(s)) - np.outer(s, y) / (y @ s)))),
    Mistake("the term + rho s s' is missing", _vec(lambda H, s, y: _bfgs(H, s, y, last=np.zeros((len(s), len(s)))))),
    Mistake("rho y y' added instead of rho s s'", _vec(lambda H, s, y: _bfgs(H, s, y, last=np.outer(y, y) / (y @ s)))),
    Mistake("sign error: (I + rho s y') H (I + rho y s')",
            _vec(lambda H, s, y: _bfgs(H, s, y, left=np.eye(len(s)) + np.outer(s, y) / (y @ s),
                                       right=np.eye(len(s)) + np.outer(y, s) / (y @ s)))),
    Mistake("the term rho s s' subtracted instead of added",
            _vec(lambda H, s, y: _bfgs(H, s, y, last=-np.outer(s, s) / (y @ s)))),
    Mistake("only one side of the product: (I - rho s y') H + rho s s'",
            _vec(lambda H, s, y: _bfgs(H, s, y, right=np.eye(len(s))))),
    Mistake("dot products where outer products are needed (s @ y of 1-D arrays is a number; use np.outer(s, y))",
            _vec(_dot_instead_of_outer)),
    Mistake("elementwise products where matrix products are needed (use @ between matrices)",
            _vec(lambda H, s, y: (np.eye(len(s)) - np.outer(s, y) / (y @ s)) * H * (np.eye(len(s)) - np.outer(y, s) / (y @ s))
                 + np.outer(s, s) / (y @ s))),
    Mistake("the old H_inv returned unchanged", _vec(lambda H, s, y: H.copy())),
]


def _bfgs_case(seed, n, *, identity=False):
    def make():
        rng = np.random.default_rng(seed)
        A = _spd(rng, n, 20.0)
        H_inv = np.eye(n) if identity else np.linalg.inv(_spd(rng, n, 5.0))
        s = rng.normal(size=n)
        y = A @ s
        return (H_inv, s, y), {}

    return Case(make, f"size {n}, " + ("H_inv = I" if identity else "random SPD H_inv") + ", y = A s with A SPD")


def _bfgs_cases():
    cases = [_bfgs_case(seed, n) for seed, n in enumerate([1, 2, 3, 5, 8, 4, 6])]
    cases += [_bfgs_case(50 + seed, n, identity=True) for seed, n in enumerate([2, 5])]
    return cases


def check_bfgs_update(bfgs_update) -> None:
    """Grade ``bfgs_update(H_inv, s, y) -> H_inv_new`` (the BFGS update of the inverse Hessian)."""
    check_cases("bfgs_update", bfgs_update, _reference.bfgs_update, _bfgs_cases(), BFGS_MISTAKES,
                compare=_compare, input_names=("H_inv", "s", "y"))


# --------------------------------------------------------------------------------------------
# lbfgs_direction
# --------------------------------------------------------------------------------------------

def _two_loop(grad, s_history, y_history, *, first_order="newest_first", gamma_pair="newest", gamma_kind="sy/yy",
              rho_kind="ys", reverse_alphas=True, alpha_vector="s", second_sign=1.0, sign=-1.0, empty_ok=True,
              list_newest_first=False):
    grad = np.asarray(grad, dtype=float)
    s_list = [np.asarray(s, dtype=float) for s in s_history]
    y_list = [np.asarray(y, dtype=float) for y in y_history]
    if list_newest_first:
        s_list, y_list = s_list[::-1], y_list[::-1]
    pairs = list(zip(s_list, y_list))
    rho = [1.0 / ((y @ s) if rho_kind == "ys" else (s @ s)) for s, y in pairs]
    indices = list(range(len(pairs)))
    first = indices[::-1] if first_order == "newest_first" else indices
    second = indices if first_order == "newest_first" else indices[::-1]
    q = grad.copy()
    alphas = {}
    alpha_sequence = []
    for i in first:
        s, y = pairs[i]
        alpha = rho[i] * ((s if alpha_vector == "s" else y) @ q)
        alphas[i] = alpha
        alpha_sequence.append(alpha)
        q = q - alpha * y
    if pairs or not empty_ok:
        s, y = pairs[-1] if gamma_pair == "newest" else pairs[0]
        gamma = {"sy/yy": (s @ y) / (y @ y), "yy/sy": (y @ y) / (s @ y), "ss/sy": (s @ s) / (s @ y),
                 "one": 1.0}[gamma_kind]
    else:
        gamma = 1.0
    r = gamma * q
    for position, i in enumerate(second):
        s, y = pairs[i]
        beta = rho[i] * (y @ r)
        alpha = alphas[i] if reverse_alphas else alpha_sequence[position]
        r = r + second_sign * s * (alpha - beta)
    return sign * r


def _lbfgs(**options):
    def lbfgs_direction(grad, s_history, y_history):
        return _two_loop(grad, s_history, y_history, **options)

    return lbfgs_direction


LBFGS_MISTAKES = [
    Mistake("returns +H grad; the direction is -H grad (a descent direction)", _lbfgs(sign=1.0)),
    Mistake("the two loops in the wrong order: the first loop goes from the newest pair to the oldest, "
            "the second from the oldest to the newest", _lbfgs(first_order="oldest_first")),
    Mistake("history read newest first; s_history and y_history are ordered oldest first (the newest pair is last)",
            _lbfgs(list_newest_first=True)),
    Mistake("the alphas of the first loop are not matched to their pairs in the second loop "
            "(they were stored newest first: reverse them or index by pair)", _lbfgs(reverse_alphas=False)),
    Mistake("missing H0 scaling: start the second loop from gamma * q with gamma = s'y / y'y (newest pair)",
            _lbfgs(gamma_kind="one")),
    Mistake("gamma from the oldest pair; H0 = (s'y / y'y) I uses the newest pair", _lbfgs(gamma_pair="oldest")),
    Mistake("gamma inverted: it is s'y / y'y, not y'y / s'y", _lbfgs(gamma_kind="yy/sy")),
    Mistake("gamma = s's / s'y; it is s'y / y'y", _lbfgs(gamma_kind="ss/sy")),
    Mistake("rho = 1 / (s's); it is rho = 1 / (y's)", _lbfgs(rho_kind="ss")),
    Mistake("alpha = rho y'q in the first loop; it is alpha = rho s'q", _lbfgs(alpha_vector="y")),
    Mistake("sign error in the second loop: r += s (alpha - beta)", _lbfgs(second_sign=-1.0)),
    Mistake("the history is ignored: -grad is steepest descent, not L-BFGS",
            lambda grad, s_history, y_history: -np.asarray(grad, dtype=float)),
    Mistake("only H0 applied: -gamma * grad (the two loops are missing)",
            lambda grad, s_history, y_history: -np.asarray(grad, dtype=float) * (
                (s_history[-1] @ y_history[-1]) / (y_history[-1] @ y_history[-1]) if len(s_history) else 1.0)),
    Mistake("an empty history is not handled: with no pairs the direction is -grad", _lbfgs(empty_ok=False)),
]


def _lbfgs_case(seed, n, m, *, container=list):
    def make():
        rng = np.random.default_rng(seed)
        s_history = [rng.normal(size=n) for _ in range(m)]
        # each pair from its own SPD matrix (as along a non-quadratic path): s'y > 0 and no order is special
        y_history = [_spd(rng, n, 30.0) @ s for s in s_history]
        grad = rng.normal(size=n)
        return (grad, container(s_history), container(y_history)), {}

    note = f"size {n}, history of {m} pair{'s' if m != 1 else ''} (oldest first)"
    if container is not list:
        note += f", histories given as {container.__name__}s"
    return Case(make, note)


def _lbfgs_cases():
    cases = []
    for seed, (n, m) in enumerate([(3, 0), (2, 1), (3, 2), (5, 3), (6, 5), (10, 4), (4, 6), (1, 2)]):
        cases.append(_lbfgs_case(seed, n, m))
    cases.append(_lbfgs_case(40, 5, 3, container=tuple))
    return cases


def check_lbfgs_direction(lbfgs_direction) -> None:
    """Grade ``lbfgs_direction(grad, s_history, y_history) -> direction`` (two-loop recursion, -H grad)."""
    check_cases("lbfgs_direction", lbfgs_direction, _reference.lbfgs_direction, _lbfgs_cases(), LBFGS_MISTAKES,
                compare=_compare, input_names=("grad", "s_history", "y_history"))


MISTAKES = {
    "newton_step": NEWTON_MISTAKES,
    "bfgs_update": BFGS_MISTAKES,
    "lbfgs_direction": LBFGS_MISTAKES,
}
