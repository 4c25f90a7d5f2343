r"""Test problems: a loss :math:`f(w)` with its gradient, and its Hessian where that is cheap.

Every problem has ``loss(w) -> float`` and ``grad(w) -> array shaped like w``. The finite-sum
problems (:class:`LeastSquares`, :class:`SoftmaxRegression`) are averages over examples,

.. math::

    f(w) = \frac{1}{N} \sum_{i=1}^{N} \ell_i(w),

and accept an optional index array ``idx`` so that the loss and gradient of a minibatch
:math:`\mathcal{B} \subseteq \{1, \dots, N\}` can be formed:
:math:`\frac{1}{|\mathcal{B}|} \sum_{i \in \mathcal{B}} \nabla \ell_i(w)`.

All arrays are ``float64``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Quadratic", "Rosenbrock", "LeastSquares", "SoftmaxRegression", "make_least_squares"]


def _as_vector(w, dim: int, name: str = "w") -> np.ndarray:
    vector = np.asarray(w, dtype=np.float64)
    if vector.shape != (dim,):
        raise ValueError(f"{name} must have shape ({dim},), got {vector.shape}")
    return vector


class Quadratic:
    r"""The quadratic :math:`f(w) = \tfrac12 w^\top A w - b^\top w` with symmetric :math:`A`.

    .. math::

        \nabla f(w) = A w - b, \qquad \nabla^2 f(w) = A .

    With :math:`A` positive definite the minimizer is :math:`w^\star = A^{-1} b`. The gradient is
    :math:`L`-Lipschitz with :math:`L = \lambda_{\max}(A)` (:attr:`smoothness`), and :math:`f` is
    :math:`\mu`-strongly convex with :math:`\mu = \lambda_{\min}(A)` (:attr:`strong_convexity`);
    :math:`\kappa = L / \mu` is the condition number.

    Args:
        A: symmetric matrix, shape ``(d, d)``.
        b: vector, shape ``(d,)``.

    Example:
        >>> problem = Quadratic(np.diag([1.0, 10.0]), np.zeros(2))
        >>> problem.smoothness, problem.condition_number
        (10.0, 10.0)
    """

    def __init__(self, A, b):
        A = np.array(A, dtype=np.float64)
        b = np.array(b, dtype=np.float64)
        if A.ndim != 2 or A.shape[0] != A.shape[1]:
            raise ValueError(f"A must be square, got shape {A.shape}")
        if b.shape != (A.shape[0],):
            raise ValueError(f"b must have shape ({A.shape[0]},), got {b.shape}")
        if not np.allclose(A, A.T):
            raise ValueError("A must be symmetric")
        self.A = 0.5 * (A + A.T)
        self.b = b
        self.dim = A.shape[0]
        self.eigenvalues = np.linalg.eigvalsh(self.A)

    @classmethod
    def with_condition_number(cls, condition_number: float, dim: int = 2, smoothness: float = 1.0,
                              rotate: bool = True, seed: int = 0) -> "Quadratic":
        r"""A positive definite quadratic with prescribed :math:`L` and :math:`\kappa = L / \mu`.

        The eigenvalues are spaced geometrically from :math:`\mu = L/\kappa` to :math:`L`;
        :math:`A = Q \operatorname{diag}(\lambda) Q^\top` with a random orthogonal :math:`Q`
        (seeded) when ``rotate``, else :math:`Q = I`. :math:`b = A\mathbf{1}`, so
        :math:`w^\star = \mathbf{1}`.
        """
        if condition_number < 1:
            raise ValueError(f"condition_number must be >= 1, got {condition_number}")
        eigenvalues = np.geomspace(smoothness / condition_number, smoothness, dim)
        if rotate:
            Q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((dim, dim)))
        else:
            Q = np.eye(dim)
        A = (Q * eigenvalues) @ Q.T
        A = 0.5 * (A + A.T)
        return cls(A, A @ np.ones(dim))

    def loss(self, w) -> float:
        r""":math:`f(w) = \tfrac12 w^\top A w - b^\top w`; ``w`` shape ``(d,)``."""
        w = _as_vector(w, self.dim)
        return float(0.5 * w @ self.A @ w - self.b @ w)

    def grad(self, w) -> np.ndarray:
        r""":math:`\nabla f(w) = A w - b`, shape ``(d,)``."""
        w = _as_vector(w, self.dim)
        return self.A @ w - self.b

    def hessian(self, w=None) -> np.ndarray:
        r""":math:`\nabla^2 f(w) = A` (constant), shape ``(d, d)``."""
        return self.A.copy()

    def loss_and_grad(self, w) -> tuple[float, np.ndarray]:
        """``(loss(w), grad(w))``: the signature a range test or a training loop expects."""
        return self.loss(w), self.grad(w)

    @property
    def smoothness(self) -> float:
        r""":math:`L = \lambda_{\max}(A)`, the Lipschitz constant of the gradient (for :math:`A \succeq 0`)."""
        return float(self.eigenvalues[-1])

    @property
    def strong_convexity(self) -> float:
        r""":math:`\mu = \lambda_{\min}(A)`."""
        return float(self.eigenvalues[0])

    @property
    def condition_number(self) -> float:
        r""":math:`\kappa = \lambda_{\max}(A) / \lambda_{\min}(A)` (infinite when :math:`\lambda_{\min} \le 0`)."""
        return float(self.eigenvalues[-1] / self.eigenvalues[0]) if self.eigenvalues[0] > 0 else float("inf")

    @property
    def minimizer(self) -> np.ndarray:
        r""":math:`w^\star = A^{-1} b` (a linear solve; requires :math:`A \succ 0`)."""
        return np.linalg.solve(self.A, self.b)

    @property
    def min_value(self) -> float:
        r""":math:`f(w^\star) = -\tfrac12 b^\top A^{-1} b`."""
        return self.loss(self.minimizer)


class Rosenbrock:
    r"""Rosenbrock's banana :math:`f(x, y) = (a - x)^2 + b\,(y - x^2)^2`, minimum 0 at :math:`(a, a^2)`.

    .. math::

        \nabla f = \begin{pmatrix} -2(a - x) - 4 b x (y - x^2) \\ 2 b (y - x^2) \end{pmatrix}, \qquad
        \nabla^2 f = \begin{pmatrix} 2 - 4b(y - 3x^2) & -4bx \\ -4bx & 2b \end{pmatrix}.

    Parameters are ``w = [x, y]``, shape ``(2,)``. Defaults ``a = 1``, ``b = 100``.
    """

    dim = 2

    def __init__(self, a: float = 1.0, b: float = 100.0):
        self.a = float(a)
        self.b = float(b)

    def loss(self, w) -> float:
        x, y = _as_vector(w, 2)
        return float((self.a - x) ** 2 + self.b * (y - x ** 2) ** 2)

    def grad(self, w) -> np.ndarray:
        x, y = _as_vector(w, 2)
        return np.array([-2.0 * (self.a - x) - 4.0 * self.b * x * (y - x ** 2), 2.0 * self.b * (y - x ** 2)])

    def hessian(self, w) -> np.ndarray:
        x, y = _as_vector(w, 2)
        return np.array([[2.0 - 4.0 * self.b * (y - 3.0 * x ** 2), -4.0 * self.b * x],
                         [-4.0 * self.b * x, 2.0 * self.b]])

    def loss_and_grad(self, w) -> tuple[float, np.ndarray]:
        return self.loss(w), self.grad(w)

    @property
    def minimizer(self) -> np.ndarray:
        return np.array([self.a, self.a ** 2])


class LeastSquares:
    r"""Linear least squares as a finite sum: :math:`\ell_i(w) = \tfrac12 (x_i^\top w - y_i)^2`.

    .. math::

        f(w) = \frac{1}{2N} \lVert X w - y \rVert^2, \qquad
        \nabla \ell_i(w) = (x_i^\top w - y_i)\, x_i, \qquad
        \nabla f(w) = \frac1N X^\top (X w - y), \qquad
        \nabla^2 f = \frac1N X^\top X .

    Args:
        X: design matrix, shape ``(N, d)``.
        y: targets, shape ``(N,)``.

    ``loss``, ``grad`` and ``loss_and_grad`` take an optional ``idx`` (integer array of example
    indices): then they average over those examples only, which gives the minibatch loss and the
    minibatch gradient.
    """

    def __init__(self, X, y):
        X = np.array(X, dtype=np.float64)
        y = np.array(y, dtype=np.float64)
        if X.ndim != 2 or y.shape != (X.shape[0],):
            raise ValueError(f"X must be (N, d) and y (N,), got {X.shape} and {y.shape}")
        self.X, self.y = X, y
        self.n_examples, self.dim = X.shape

    def _subset(self, idx):
        if idx is None:
            return self.X, self.y
        idx = np.asarray(idx)
        if idx.size == 0:
            raise ValueError("idx selects no example")
        return self.X[idx], self.y[idx]

    def residuals(self, w, idx=None) -> np.ndarray:
        r""":math:`r_i = x_i^\top w - y_i`, shape ``(N,)`` (or ``(len(idx),)``)."""
        X, y = self._subset(idx)
        return X @ _as_vector(w, self.dim) - y

    def per_example_losses(self, w, idx=None) -> np.ndarray:
        r""":math:`\ell_i(w) = \tfrac12 r_i^2`, shape ``(N,)``."""
        return 0.5 * self.residuals(w, idx) ** 2

    def per_example_grads(self, w, idx=None) -> np.ndarray:
        r""":math:`\nabla \ell_i(w) = r_i\, x_i`, stacked as rows: shape ``(N, d)``."""
        X, _ = self._subset(idx)
        return self.residuals(w, idx)[:, None] * X

    def loss(self, w, idx=None) -> float:
        r"""Mean of :math:`\ell_i(w)` over all examples, or over ``idx``."""
        return float(np.mean(self.per_example_losses(w, idx)))

    def grad(self, w, idx=None) -> np.ndarray:
        r""":math:`\frac{1}{|\mathcal{B}|} X_{\mathcal{B}}^\top r_{\mathcal{B}}`, shape ``(d,)`` (all examples when ``idx`` is None)."""
        X, _ = self._subset(idx)
        return X.T @ self.residuals(w, idx) / X.shape[0]

    def loss_and_grad(self, w, idx=None) -> tuple[float, np.ndarray]:
        return self.loss(w, idx), self.grad(w, idx)

    def hessian(self, w=None) -> np.ndarray:
        r""":math:`\frac1N X^\top X`, shape ``(d, d)``."""
        return self.X.T @ self.X / self.n_examples

    @property
    def smoothness(self) -> float:
        r""":math:`L = \lambda_{\max}(X^\top X / N)`."""
        return float(np.linalg.eigvalsh(self.hessian())[-1])

    @property
    def minimizer(self) -> np.ndarray:
        """The least-squares solution (``numpy.linalg.lstsq``)."""
        return np.linalg.lstsq(self.X, self.y, rcond=None)[0]


def make_least_squares(n_examples: int = 200, n_features: int = 5, noise: float = 0.1, seed: int = 0) -> LeastSquares:
    r"""Generated regression data :math:`y = X w_{\text{true}} + \varepsilon` as a :class:`LeastSquares`.

    :math:`X_{ij} \sim \mathcal{N}(0, 1)`, :math:`w_{\text{true}} \sim \mathcal{N}(0, I)`,
    :math:`\varepsilon_i \sim \mathcal{N}(0, \sigma^2)` with :math:`\sigma` = ``noise``; seeded.
    The true weights are kept in the attribute ``w_true``.
    """
    generator = np.random.default_rng(seed)
    X = generator.standard_normal((n_examples, n_features))
    w_true = generator.standard_normal(n_features)
    y = X @ w_true + noise * generator.standard_normal(n_examples)
    problem = LeastSquares(X, y)
    problem.w_true = w_true
    return problem


class SoftmaxRegression:
    r"""Multinomial logistic (softmax) regression with optional L2 penalty, as a finite sum.

    Parameters are one matrix :math:`W` of shape ``(d + 1, K)``: the last row is the bias. With
    :math:`\tilde x_i = (x_i, 1)`, logits :math:`z_i = W^\top \tilde x_i` and
    :math:`p_i = \operatorname{softmax}(z_i)`,

    .. math::

        \ell_i(W) = -\log p_{i, y_i}, \qquad
        f(W) = \frac1N \sum_i \ell_i(W) + \frac{\lambda}{2} \lVert W \rVert_F^2, \qquad
        \nabla f(W) = \frac1N \tilde X^\top (P - Y) + \lambda W,

    where :math:`Y` is the one-hot matrix of the labels and :math:`\lambda` is ``l2``.

    Args:
        X: inputs, shape ``(N, d)``.
        y: integer labels in ``0..K-1``, shape ``(N,)``.
        n_classes: :math:`K` (default: ``max(y) + 1``).
        l2: :math:`\lambda \ge 0`.
    """

    def __init__(self, X, y, n_classes: int | None = None, l2: float = 0.0):
        X = np.array(X, dtype=np.float64)
        y = np.asarray(y)
        if X.ndim != 2 or y.shape != (X.shape[0],):
            raise ValueError(f"X must be (N, d) and y (N,), got {X.shape} and {y.shape}")
        self.X = np.hstack([X, np.ones((X.shape[0], 1))])
        self.y = y.astype(np.int64)
        self.n_classes = int(n_classes if n_classes is not None else self.y.max() + 1)
        self.n_examples = len(X)
        self.shape = (X.shape[1] + 1, self.n_classes)
        self.l2 = float(l2)

    def init_params(self, scale: float = 0.0, seed: int = 0) -> np.ndarray:
        """Initial parameters, shape ``(d + 1, K)``: zeros, or ``scale`` times standard normals (seeded)."""
        return scale * np.random.default_rng(seed).standard_normal(self.shape)

    def _subset(self, idx):
        if idx is None:
            return self.X, self.y
        idx = np.asarray(idx)
        return self.X[idx], self.y[idx]

    def _check(self, W) -> np.ndarray:
        W = np.asarray(W, dtype=np.float64)
        if W.shape != self.shape:
            raise ValueError(f"W must have shape {self.shape}, got {W.shape}")
        return W

    def probabilities(self, W, X=None) -> np.ndarray:
        r""":math:`\operatorname{softmax}(W^\top \tilde x)` row by row, shape ``(N, K)``; ``X`` without the bias column."""
        W = self._check(W)
        Xa = self.X if X is None else np.hstack([np.asarray(X, dtype=np.float64), np.ones((len(X), 1))])
        logits = Xa @ W
        logits = logits - logits.max(axis=1, keepdims=True)
        expd = np.exp(logits)
        return expd / expd.sum(axis=1, keepdims=True)

    def loss_and_grad(self, W, idx=None) -> tuple[float, np.ndarray]:
        """Loss and gradient (shape of ``W``) over all examples, or over ``idx``."""
        W = self._check(W)
        X, y = self._subset(idx)
        logits = X @ W
        logits = logits - logits.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(logits).sum(axis=1))
        log_p = logits - log_norm[:, None]
        n = X.shape[0]
        loss = -log_p[np.arange(n), y].mean() + 0.5 * self.l2 * float(np.sum(W * W))
        delta = np.exp(log_p)
        delta[np.arange(n), y] -= 1.0
        return float(loss), X.T @ delta / n + self.l2 * W

    def loss(self, W, idx=None) -> float:
        return self.loss_and_grad(W, idx)[0]

    def grad(self, W, idx=None) -> np.ndarray:
        return self.loss_and_grad(W, idx)[1]

    def accuracy(self, W, X=None, y=None) -> float:
        """Fraction of correct arg-max predictions (on the training data unless ``X, y`` given)."""
        probs = self.probabilities(W, X)
        labels = self.y if y is None else np.asarray(y)
        return float(np.mean(probs.argmax(axis=1) == labels))
