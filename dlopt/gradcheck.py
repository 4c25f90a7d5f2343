r"""Gradient checking with central differences (as in cs231n's ``gradient_check.py``).

For :math:`f: \mathbb{R}^{n} \to \mathbb{R}` the central difference

.. math::

    \frac{\partial f}{\partial w_j} \approx \frac{f(w + h e_j) - f(w - h e_j)}{2h}

has error :math:`O(h^2)`. Compare analytic and numerical gradients with the relative error

.. math::

    \operatorname{rel\_error}(a, b) = \max_j \frac{|a_j - b_j|}{\max(10^{-8}, |a_j| + |b_j|)} ;

with float64 and :math:`h = 10^{-5}`, values around :math:`10^{-7}` or below mean agreement.
"""

from __future__ import annotations

import numpy as np

__all__ = ["numerical_gradient", "rel_error", "check_gradient"]


def numerical_gradient(f, w, h: float = 1e-5) -> np.ndarray:
    """Central-difference gradient of the scalar function ``f`` at ``w`` (any shape; ``w`` is not modified).

    Args:
        f: callable ``w -> float``.
        w: point, array of any shape.
        h: step.

    Returns:
        Array shaped like ``w``.
    """
    point = np.array(w, dtype=np.float64)
    grad = np.zeros_like(point)
    flat_w, flat_grad = point.reshape(-1), grad.reshape(-1)
    for j in range(flat_w.size):
        old = flat_w[j]
        flat_w[j] = old + h
        f_plus = float(f(point.copy()))
        flat_w[j] = old - h
        f_minus = float(f(point.copy()))
        flat_w[j] = old
        flat_grad[j] = (f_plus - f_minus) / (2.0 * h)
    return grad


def rel_error(a, b) -> float:
    r"""Largest elementwise relative error :math:`|a - b| / \max(10^{-8}, |a| + |b|)`."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def check_gradient(f, grad_f, w, h: float = 1e-5) -> float:
    """``rel_error(grad_f(w), numerical_gradient(f, w, h))``."""
    return rel_error(grad_f(np.array(w, dtype=np.float64)), numerical_gradient(f, w, h))
