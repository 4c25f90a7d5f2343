r"""Step sizes from curvature: the outcome tasks of chapters 1-3.

Each function turns what is known about a problem's curvature (its Hessian, or the bounds
:math:`\mu \le \lambda_i \le L` on the eigenvalues of its Hessian) into the hyperparameters of an
update rule of the course, chosen so that the method converges as fast as theory allows:

- :func:`choose_learning_rate`: gradient descent (``sgd``) on a quadratic, from its Hessian;
- :func:`heavy_ball_parameters`: Polyak's heavy ball (``sgd_momentum``, the velocity form);
- :func:`nesterov_parameters`: Nesterov's method (``nesterov_momentum``), for every smooth strongly
  convex function, not only quadratics.

They are graded by outcome (``dlopt_reference.grading.step_sizes``): the answer is *used* on hidden
problems and must converge within a step budget, so any right derivation earns the points.
"""

from __future__ import annotations

import math

import numpy as np


def choose_learning_rate(hessian):
    r"""The fixed learning rate with the fastest worst-case convergence of gradient descent on a quadratic.

    On :math:`f(w) = \frac12 (w - w^\star)^\top H (w - w^\star)` with :math:`H` symmetric positive
    definite, gradient descent :math:`w \leftarrow w - \eta \nabla f(w)` multiplies the error along the
    eigenvector :math:`q_i` of :math:`H` by :math:`1 - \eta \lambda_i` at every step, so that

    .. math::

        \lVert w_t - w^\star \rVert \le \Bigl(\max_i \lvert 1 - \eta \lambda_i \rvert\Bigr)^t \lVert w_0 - w^\star \rVert .

    With :math:`\mu = \lambda_{\min}(H)`, :math:`L = \lambda_{\max}(H)` and :math:`\kappa = L/\mu`, the
    contraction factor :math:`\max(\lvert 1 - \eta\mu\rvert, \lvert 1 - \eta L\rvert)` is smallest when
    both ends balance:

    .. math::

        \eta^\star = \frac{2}{L + \mu}, \qquad \max_i \lvert 1 - \eta^\star \lambda_i \rvert = \frac{\kappa - 1}{\kappa + 1} .

    Args:
        hessian: array of shape ``(d, d)``, symmetric positive definite.

    Returns:
        The learning rate :math:`\eta^\star` as a Python float.

    Example:
        >>> choose_learning_rate(np.diag([1.0, 3.0]))   # 2 / (3 + 1)
        0.5

    References:
        Chapter 1 of the book (the theorem "Gradient descent on a quadratic"); Polyak, *Introduction
        to Optimization*, 1987, Section 1.4.
    """
    eigenvalues = np.linalg.eigvalsh(np.asarray(hessian, dtype=np.float64))
    mu, L = float(eigenvalues[0]), float(eigenvalues[-1])
    return 2.0 / (L + mu)


def heavy_ball_parameters(L, mu):
    r"""Polyak's optimal heavy-ball parameters for quadratics whose Hessian's spectrum lies in :math:`[\mu, L]`.

    The heavy ball in the course's velocity form (``sgd_momentum``, with momentum coefficient
    :math:`\beta`, ``config['momentum']``) is

    .. math::

        v \leftarrow \beta v - \eta \nabla f(w), \qquad w \leftarrow w + v,

    that is :math:`w_{t+1} = w_t - \eta \nabla f(w_t) + \beta (w_t - w_{t-1})`. On a quadratic every
    eigen-direction follows a linear recurrence of order two; with :math:`\kappa = L/\mu` the choice

    .. math::

        \eta = \frac{4}{(\sqrt L + \sqrt \mu)^2}, \qquad
        \beta = \Bigl(\frac{\sqrt\kappa - 1}{\sqrt\kappa + 1}\Bigr)^2

    puts both roots of every direction on the circle of radius :math:`\sqrt\beta`, so that the error
    decays like :math:`\bigl(\frac{\sqrt\kappa - 1}{\sqrt\kappa + 1}\bigr)^t` (up to a factor linear in
    :math:`t` at the two ends of the spectrum), the best rate of any such method on quadratics.

    Args:
        L: the largest eigenvalue of the Hessian (smoothness), ``L > 0``.
        mu: the smallest eigenvalue of the Hessian (strong convexity), ``0 < mu <= L``.

    Returns:
        ``(learning_rate, momentum)``: two Python floats, for ``config['learning_rate']`` and
        ``config['momentum']`` of ``sgd_momentum``.

    Example:
        >>> heavy_ball_parameters(9.0, 1.0)   # 4 / (3 + 1)^2, ((3 - 1) / (3 + 1))^2
        (0.25, 0.25)

    Note:
        In the moving-average form (``sgd_momentum_ema``: :math:`m \leftarrow \beta m + (1-\beta) g`,
        :math:`w \leftarrow w - \eta' m`) the same iterates need :math:`\eta' = \eta / (1 - \beta)`.

    References:
        Polyak, "Some methods of speeding up the convergence of iteration methods", 1964; chapter 2 of
        the book (Polyak's parameters).
    """
    L, mu = float(L), float(mu)
    root_L, root_mu = math.sqrt(L), math.sqrt(mu)
    learning_rate = 4.0 / (root_L + root_mu) ** 2
    momentum = ((root_L - root_mu) / (root_L + root_mu)) ** 2
    return learning_rate, momentum


def nesterov_parameters(L, mu):
    r"""Nesterov's constant-step parameters for an :math:`L`-smooth, :math:`\mu`-strongly convex function.

    For ``nesterov_momentum`` (the rewritten form; momentum coefficient :math:`\beta`,
    ``config['momentum']``) with :math:`\kappa = L/\mu`:

    .. math::

        \eta = \frac1L, \qquad \beta = \frac{\sqrt\kappa - 1}{\sqrt\kappa + 1} .

    For every such function (not only quadratics) the iterates :math:`w_t` of the look-ahead form then satisfy

    .. math::

        f(w_t) - f^\star \le \Bigl(1 - \frac{1}{\sqrt\kappa}\Bigr)^t
        \Bigl(f(w_0) - f^\star + \frac{\mu}{2} \lVert w_0 - w^\star \rVert^2\Bigr) .

    Args:
        L: a smoothness constant (an upper bound on the Hessian's eigenvalues), ``L > 0``.
        mu: a strong-convexity constant (a lower bound on them), ``0 < mu <= L``.

    Returns:
        ``(learning_rate, momentum)``: two Python floats, for ``config['learning_rate']`` and
        ``config['momentum']`` of ``nesterov_momentum``.

    Example:
        >>> nesterov_parameters(4.0, 1.0)   # 1/4, (2 - 1) / (2 + 1)
        (0.25, 0.3333333333333333)

    References:
        Nesterov, *Introductory Lectures on Convex Optimization*, 2004, Section 2.2 (constant step
        scheme III); chapter 3 of the book.
    """
    L, mu = float(L), float(mu)
    root_kappa = math.sqrt(L / mu)
    return 1.0 / L, (root_kappa - 1.0) / (root_kappa + 1.0)
