"""Second-order methods: the Newton step, the BFGS inverse-Hessian update, L-BFGS's two-loop recursion
and the backtracking (Armijo) line search that makes them converge from far away.

Vectors are 1-D arrays of length :math:`n`, matrices ``(n, n)``; nothing is inverted explicitly.
"""

from __future__ import annotations

import numpy as np

from ._validation import as_float_array

__all__ = ["newton_step", "bfgs_update", "lbfgs_direction", "backtracking_line_search"]


def _vector(value, name):
    vector = as_float_array(value, name)
    if vector.ndim != 1 or vector.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {vector.shape}")
    return vector


def _square(value, name, n):
    matrix = as_float_array(value, name)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"{name} must be a square matrix, got shape {matrix.shape}")
    if matrix.shape[0] != n:
        raise ValueError(f"{name} has shape {matrix.shape} but the vectors have length {n}")
    return matrix


def newton_step(grad, hessian):
    r"""The Newton step :math:`p = -H^{-1} g`, computed by solving :math:`H p = -g`.

    The step minimises the quadratic model :math:`m(p) = f + g^\top p + \tfrac12 p^\top H p` when
    :math:`H` is positive definite; on a quadratic function, one step from any point lands on the
    minimiser. With an indefinite :math:`H` it points to a saddle point of the model (no check is made).

    Args:
        grad: gradient :math:`g`, shape ``(n,)``.
        hessian: Hessian :math:`H`, shape ``(n, n)``.

    Returns:
        The step :math:`p`, shape ``(n,)`` (the new point is ``w + p``).

    Raises:
        ValueError: shapes do not match, or :math:`H` is singular (to working precision).

    Example:
        >>> import numpy as np
        >>> newton_step(np.array([2.0, -4.0]), np.diag([2.0, 4.0]))
        array([-1.,  1.])

    References:
        Nocedal & Wright, *Numerical Optimization*, 2nd ed., eq. (2.15) and Section 3.3.
    """
    grad = _vector(grad, "grad")
    hessian = _square(hessian, "hessian", grad.size)
    singular = ValueError("hessian is singular (to working precision): the Newton step is not defined")
    # singular to working precision: condition number beyond 1 / machine epsilon (not a determinant test)
    with np.errstate(all="ignore"):
        condition = np.linalg.cond(hessian)
    if not condition < 1.0 / np.finfo(np.float64).eps:
        raise singular
    try:
        step = np.linalg.solve(hessian, -grad)
    except np.linalg.LinAlgError:
        raise singular from None
    if not np.all(np.isfinite(step)):
        raise singular
    return step


def bfgs_update(H_inv, s, y):
    r"""The BFGS update of an inverse-Hessian approximation.

    With :math:`s = w_{k+1} - w_k`, :math:`y = \nabla f_{k+1} - \nabla f_k` and
    :math:`\rho = 1 / (y^\top s)`:

    .. math::

        H \leftarrow (I - \rho \, s y^\top) \, H \, (I - \rho \, y s^\top) + \rho \, s s^\top

    The result is symmetric, satisfies the secant equation :math:`H_{\text{new}} y = s`, and is
    positive definite when :math:`H` is and the curvature condition :math:`y^\top s > 0` holds.

    Args:
        H_inv: current approximation :math:`H` of the inverse Hessian, symmetric, shape ``(n, n)``.
        s: the step, shape ``(n,)``.
        y: the change of gradient, shape ``(n,)``.

    Returns:
        The updated approximation, shape ``(n, n)`` (a new array).

    Raises:
        ValueError: shapes do not match, ``H_inv`` is not symmetric, or :math:`y^\top s \le 0`.

    Example:
        >>> import numpy as np
        >>> H = bfgs_update(np.eye(2), np.array([1.0, 0.0]), np.array([2.0, 0.0]))
        >>> H, H @ np.array([2.0, 0.0])
        (array([[0.5, 0. ],
               [0. , 1. ]]), array([1., 0.]))

    References:
        Nocedal & Wright, *Numerical Optimization*, 2nd ed., eq. (6.17) (BFGS, inverse form).
    """
    s = _vector(s, "s")
    y = _vector(y, "y")
    if s.shape != y.shape:
        raise ValueError(f"s and y must have the same shape, got {s.shape} and {y.shape}")
    H_inv = _square(H_inv, "H_inv", s.size)
    scale = np.max(np.abs(H_inv)) if H_inv.size else 0.0
    if not np.allclose(H_inv, H_inv.T, rtol=1e-10, atol=1e-12 * scale):
        raise ValueError("H_inv must be symmetric")
    curvature = float(y @ s)
    if not curvature > 0:
        raise ValueError(f"curvature condition y's > 0 fails (y's = {curvature:g}): the BFGS update is not "
                         "defined (use a line search satisfying the Wolfe conditions, or skip the update)")
    rho = 1.0 / curvature
    V = np.eye(s.size) - rho * np.outer(s, y)
    return V @ H_inv @ V.T + rho * np.outer(s, s)


def _history(history, name, n):
    if isinstance(history, np.ndarray):
        if history.ndim != 2:
            raise ValueError(f"{name} given as an array must have shape (m, n), got {history.shape}")
        history = list(history)
    if isinstance(history, (str, bytes)) or not hasattr(history, "__len__"):
        raise TypeError(f"{name} must be a list of vectors (oldest first)")
    vectors = [_vector(v, f"{name}[{i}]") for i, v in enumerate(history)]
    for i, v in enumerate(vectors):
        if v.size != n:
            raise ValueError(f"{name}[{i}] has length {v.size} but grad has length {n}")
    return vectors


def lbfgs_direction(grad, s_history, y_history):
    r"""The L-BFGS search direction :math:`-H_k \nabla f_k` by the two-loop recursion.

    :math:`H_k` is the matrix obtained by applying the BFGS update (:func:`bfgs_update`) with the
    stored pairs :math:`(s_i, y_i)`, oldest first, to the initial matrix
    :math:`H_k^0 = \gamma_k I`, :math:`\gamma_k = s_{k-1}^\top y_{k-1} / y_{k-1}^\top y_{k-1}` (newest pair;
    :math:`H_k^0 = I` when the history is empty). :math:`H_k` is never formed: with
    :math:`\rho_i = 1 / (y_i^\top s_i)`,

    .. math::

        q &\leftarrow g \\
        \text{for } i = k-1, \dots, k-m:\quad \alpha_i &\leftarrow \rho_i s_i^\top q, \quad q \leftarrow q - \alpha_i y_i \\
        r &\leftarrow \gamma_k \, q \\
        \text{for } i = k-m, \dots, k-1:\quad \beta &\leftarrow \rho_i y_i^\top r, \quad r \leftarrow r + s_i (\alpha_i - \beta) \\
        d &\leftarrow -r

    Args:
        grad: gradient :math:`g`, shape ``(n,)``.
        s_history: list of the last :math:`m` steps :math:`s_i`, oldest first (or an ``(m, n)`` array).
        y_history: list of the matching gradient changes :math:`y_i`, same length.

    Returns:
        The direction :math:`-H_k g`, shape ``(n,)``.

    Raises:
        ValueError: lengths or shapes do not match, or a pair has :math:`y_i^\top s_i \le 0`.

    Example:
        >>> import numpy as np
        >>> lbfgs_direction(np.array([1.0, 1.0]), [], [])
        array([-1., -1.])
        >>> lbfgs_direction(np.array([1.0, 1.0]), [np.array([1.0, 0.0])], [np.array([2.0, 0.0])])
        array([-0.5, -0.5])

    References:
        Nocedal & Wright, *Numerical Optimization*, 2nd ed., Algorithm 7.4 and eq. (7.20).
    """
    grad = _vector(grad, "grad")
    s_history = _history(s_history, "s_history", grad.size)
    y_history = _history(y_history, "y_history", grad.size)
    if len(s_history) != len(y_history):
        raise ValueError(f"s_history and y_history must have the same length, got {len(s_history)} "
                         f"and {len(y_history)}")
    rhos = []
    for i, (s, y) in enumerate(zip(s_history, y_history)):
        curvature = float(y @ s)
        if not curvature > 0:
            raise ValueError(f"curvature condition fails for pair {i}: y's = {curvature:g} must be > 0")
        rhos.append(1.0 / curvature)
    if not s_history:
        return -grad
    q = grad.copy()
    alphas = [0.0] * len(s_history)
    for i in reversed(range(len(s_history))):
        alphas[i] = rhos[i] * (s_history[i] @ q)
        q = q - alphas[i] * y_history[i]
    s_newest, y_newest = s_history[-1], y_history[-1]
    r = (s_newest @ y_newest) / (y_newest @ y_newest) * q
    for i in range(len(s_history)):
        beta = rhos[i] * (y_history[i] @ r)
        r = r + s_history[i] * (alphas[i] - beta)
    return -r


def backtracking_line_search(f, grad, x, direction, alpha=1.0, c1=1e-4, shrink=0.5, max_trials=50):
    r"""A step length along a descent direction by backtracking until the Armijo condition holds.

    Let :math:`\alpha_0` be ``alpha``, :math:`c_1` ``c1``, :math:`\rho` ``shrink``, :math:`d` the
    direction and :math:`g = \nabla f(x)` (so that :math:`g^\top d < 0`):

    .. math::

        \alpha \leftarrow \alpha_0; \qquad
        \text{while } f(x + \alpha d) > f(x) + c_1 \alpha\, g^\top d: \quad \alpha \leftarrow \rho\, \alpha

    The *sufficient decrease* (Armijo) condition asks for a decrease of at least the fraction
    :math:`c_1` of what the tangent line promises. Since :math:`g^\top d < 0`, it holds for every small
    enough :math:`\alpha` (for a smooth :math:`f`), so the loop ends; it never accepts a step that
    increases :math:`f`. Trying :math:`\alpha_0 = 1` first keeps the full (quasi-)Newton step whenever it
    is good enough, which is what gives Newton and BFGS their fast local convergence.

    Args:
        f: the objective, a function ``x -> float``.
        grad: its gradient, a function ``x -> array`` of the shape of ``x``.
        x: the current point, shape ``(n,)``.
        direction: a descent direction :math:`d` at ``x``, shape ``(n,)``.
        alpha: the first step length tried, :math:`\alpha_0 > 0` (default 1).
        c1: the Armijo constant, :math:`0 < c_1 < 1` (default ``1e-4``, Nocedal & Wright's choice).
        shrink: the factor :math:`0 < \rho < 1` applied after each rejected trial (default 0.5).
        max_trials: the number of trial steps before giving up (default 50); then the tiny step
            ``shrink ** max_trials * alpha`` is returned untested.

    Returns:
        The step length :math:`\alpha`, a Python float (the next point is ``x + alpha * direction``).
        ``f`` is evaluated at most ``max_trials + 1`` times and ``grad`` once.

    Raises:
        ValueError: the direction is not a descent direction (:math:`g^\top d \ge 0`), or shapes differ.

    Example:
        On :math:`f(x) = x^2` from :math:`x = 1` along :math:`d = -4`, the step 1 lands on 9 and 1/2 on 1
        (no sufficient decrease); 1/4 lands on the minimiser:

        >>> import numpy as np
        >>> f, grad = lambda x: float(x @ x), lambda x: 2 * x
        >>> backtracking_line_search(f, grad, np.array([1.0]), np.array([-4.0]))
        0.25

    References:
        Nocedal & Wright, *Numerical Optimization*, 2nd ed., Algorithm 3.1 and eq. (3.4);
        Armijo, "Minimization of functions having Lipschitz continuous first partial derivatives", 1966.
    """
    x = _vector(x, "x")
    direction = _vector(direction, "direction")
    if direction.shape != x.shape:
        raise ValueError(f"x and direction must have the same shape, got {x.shape} and {direction.shape}")
    alpha, c1, shrink = float(alpha), float(c1), float(shrink)
    if not (alpha > 0 and 0 < c1 < 1 and 0 < shrink < 1):
        raise ValueError(f"need alpha > 0, 0 < c1 < 1 and 0 < shrink < 1, got {alpha}, {c1}, {shrink}")
    slope = float(np.asarray(grad(x), dtype=float) @ direction)
    if not slope < 0:
        raise ValueError(f"direction is not a descent direction: g'd = {slope:g} must be < 0")
    fx = float(f(x))
    for _ in range(int(max_trials)):
        if float(f(x + alpha * direction)) <= fx + c1 * alpha * slope:
            return alpha
        alpha *= shrink
    return alpha        # rho^max_trials alpha_0: tiny, untested (the search gave up)
