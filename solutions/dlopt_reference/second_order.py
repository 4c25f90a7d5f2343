"""Second-order methods: the Newton step, the BFGS inverse-Hessian update and L-BFGS's two-loop recursion.

Vectors are 1-D arrays of length :math:`n`, matrices ``(n, n)``; nothing is inverted explicitly.
"""

from __future__ import annotations

import numpy as np

from ._validation import as_float_array

__all__ = ["newton_step", "bfgs_update", "lbfgs_direction"]


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
