r"""Training recipes in practice: warmup + cosine schedule, global-norm clipping, layer normalization,
and the top Hessian eigenvalue by power iteration.

- ``warmup_cosine(learning_rate, global_step, warmup_steps, total_steps, alpha=0.0)`` is optax's
  ``warmup_cosine_decay_schedule`` with ``init_value=0`` and ``end_value=alpha * learning_rate``
  (``total_steps`` counts the warmup, as optax's ``decay_steps`` does).
- ``clip_by_global_norm(grads, max_norm) -> (clipped, global_norm)`` follows TensorFlow's
  ``tf.clip_by_global_norm`` (no epsilon).
- ``layernorm_forward(x, gamma, beta, ln_param) -> (out, cache)`` and
  ``layernorm_backward(dout, cache) -> (dx, dgamma, dbeta)`` follow cs231n's ``layers.py``.
- ``top_hessian_eigenvalue(hvp, v0, num_iters=100) -> (eigenvalue, eigenvector)`` is power
  iteration on Hessian-vector products.
- ``stable_learning_rate(grad_fn, w, rng) -> learning_rate`` measures the sharpness at ``w`` with
  gradients only (power iteration on finite-difference Hessian-vector products) and returns ``1 / L``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ._validation import as_float_array, check_same_shape, nonnegative, positive

__all__ = ["warmup_cosine", "clip_by_global_norm", "layernorm_forward", "layernorm_backward",
           "top_hessian_eigenvalue", "hessian_vector_product", "stable_learning_rate"]

_LN_CACHE_KEYS = ("x_hat", "std", "gamma")


def warmup_cosine(learning_rate, global_step, warmup_steps, total_steps, alpha=0.0):
    r"""Linear warmup from 0 to ``learning_rate``, then cosine decay to ``alpha * learning_rate``.

    Let :math:`\eta` be ``learning_rate``, :math:`t` ``global_step``, :math:`T_w` ``warmup_steps`` and
    :math:`T` ``total_steps`` (the warmup included):

    .. math::

        \eta_t = \begin{cases}
            \eta \, t / T_w & 0 \le t < T_w \\
            \eta \left(\alpha + (1 - \alpha)\,\tfrac12\bigl(1 + \cos(\pi\, \tfrac{t - T_w}{T - T_w})\bigr)\right)
                & T_w \le t \le T \\
            \alpha\, \eta & t > T
        \end{cases}

    With :math:`T_w = 0` there is no warmup and the schedule is TensorFlow's ``cosine_decay``.

    Args:
        learning_rate: the peak rate :math:`\eta > 0`, reached at step ``warmup_steps``.
        global_step: the step :math:`t`, an integer >= 0.
        warmup_steps: :math:`T_w \ge 0`, the length of the linear warmup.
        total_steps: :math:`T > T_w`, the step at which the decay ends.
        alpha: the final rate as a fraction of ``learning_rate`` (default 0).

    Returns:
        The learning rate at step ``global_step``, a Python float.

    Example:
        >>> [warmup_cosine(1.0, t, 2, 6) for t in range(8)]
        [0.0, 0.5, 1.0, 0.8535533905932737, 0.5, 0.14644660940672627, 0.0, 0.0]

    References:
        Goyal et al., "Accurate, large minibatch SGD: training ImageNet in 1 hour", 2017 (gradual warmup);
        Loshchilov & Hutter, "SGDR: stochastic gradient descent with warm restarts", ICLR 2017 (cosine);
        optax ``warmup_cosine_decay_schedule``.

    Note:
        Hugging Face's ``get_cosine_schedule_with_warmup`` uses the same formula without ``alpha``;
        PyTorch's ``LinearLR(start_factor=...)`` cannot start at exactly 0 (its factor must be > 0).
    """
    learning_rate = positive(learning_rate, "learning_rate")
    step = int(global_step)
    if step != global_step or step < 0:
        raise ValueError(f"global_step must be an integer >= 0, got {global_step!r}")
    warmup_steps = int(nonnegative(warmup_steps, "warmup_steps"))
    total_steps = int(total_steps)
    if total_steps <= warmup_steps:
        raise ValueError(f"total_steps ({total_steps}) must exceed warmup_steps ({warmup_steps})")
    alpha = float(alpha)
    if step < warmup_steps:
        return float(learning_rate * step / warmup_steps)
    progress = min(step - warmup_steps, total_steps - warmup_steps) / (total_steps - warmup_steps)
    cosine = 0.5 * (1.0 + np.cos(np.pi * progress))
    return float(learning_rate * (alpha + (1.0 - alpha) * cosine))


def clip_by_global_norm(grads, max_norm):
    r"""Rescale a list of gradient arrays so that their joint Euclidean norm is at most ``max_norm``.

    With :math:`g_1, \dots, g_k` the arrays and :math:`c` ``max_norm``:

    .. math::

        \lVert g \rVert = \sqrt{\textstyle\sum_i \lVert g_i \rVert_F^2}, \qquad
        g_i \leftarrow g_i \, \frac{c}{\max(\lVert g \rVert, c)} .

    Every array is scaled by the *same* factor, so the direction of the whole gradient is kept
    (clipping each array by its own norm, or each entry by value, changes the direction).

    Args:
        grads: a list (or tuple) of numpy arrays of any shapes.
        max_norm: the threshold :math:`c > 0`.

    Returns:
        ``(clipped, global_norm)``: a list of NEW arrays with the shapes of ``grads``, and the norm
        :math:`\lVert g \rVert` *before* clipping, a float. The inputs are not modified.

    Example:
        The global norm of ``[3, 0]`` and ``[[4]]`` is 5; clipped to 1 they become ``[0.6, 0]`` and ``[[0.8]]``:

        >>> import numpy as np
        >>> clipped, norm = clip_by_global_norm([np.array([3.0, 0.0]), np.array([[4.0]])], 1.0)
        >>> clipped, norm
        ([array([0.6, 0. ]), array([[0.8]])], 5.0)

    References:
        Pascanu, Mikolov & Bengio, "On the difficulty of training recurrent neural networks", ICML 2013,
        Algorithm 1; TensorFlow ``tf.clip_by_global_norm``.

    Note:
        TensorFlow computes ``t * clip_norm / max(global_norm, clip_norm)``, as here. PyTorch's
        ``torch.nn.utils.clip_grad_norm_`` multiplies by ``min(1, max_norm / (norm + 1e-6))`` (in place):
        with tiny gradients, or a norm just above ``max_norm``, it clips slightly differently.
        ``tf.clip_by_value`` / ``clip_grad_value_`` clip each entry and change the direction.
    """
    if isinstance(grads, np.ndarray) or not isinstance(grads, (list, tuple)):
        raise TypeError(f"grads must be a list or tuple of arrays, got {type(grads).__name__}")
    max_norm = positive(max_norm, "max_norm")
    arrays = [as_float_array(g, f"grads[{i}]") for i, g in enumerate(grads)]
    global_norm = float(np.sqrt(sum(float(np.sum(g * g)) for g in arrays)))
    scale = max_norm / max(global_norm, max_norm)
    return [g * scale for g in arrays], global_norm


def layernorm_forward(x, gamma, beta, ln_param):
    r"""Forward pass of layer normalization: each example (row of ``x``) normalized over its features.

    Let :math:`\epsilon` be ``ln_param['eps']`` and :math:`D` the number of features:

    .. math::

        \mu_i \leftarrow \frac1D \sum_j x_{ij}, \qquad
        \sigma_i^2 \leftarrow \frac1D \sum_j (x_{ij} - \mu_i)^2, \qquad
        \hat x_{ij} \leftarrow \frac{x_{ij} - \mu_i}{\sqrt{\sigma_i^2 + \epsilon}}, \qquad
        y_{ij} \leftarrow \gamma_j \hat x_{ij} + \beta_j .

    Unlike batch normalization there are no running averages and no train/test difference: the
    statistics are those of the example itself (other keys of ``ln_param``, such as ``mode``, are
    ignored, so that the course's ``MLP`` can use it where it expects batch normalization).

    Args:
        x: inputs, shape ``(N, D)``.
        gamma: scale, shape ``(D,)``.
        beta: shift, shape ``(D,)``.
        ln_param: dict with ``eps`` (default ``1e-5``, > 0).

    Returns:
        ``(out, cache)``: the output, shape ``(N, D)``, and a dict for :func:`layernorm_backward`.

    Example:
        The first row has variance 1, the second 1e-4, as small as ``eps``, which damps it by
        :math:`1/\sqrt 2`:

        >>> import numpy as np
        >>> x = np.array([[1.0, 3.0], [0.0, 0.02]])
        >>> out, cache = layernorm_forward(x, np.ones(2), np.zeros(2), {"eps": 0.0001})
        >>> np.round(out, 4)
        array([[-1.    ,  1.    ],
               [-0.7071,  0.7071]])

    References:
        Ba, Kiros & Hinton, "Layer normalization", 2016; cs231n assignment 2, ``layers.layernorm_forward``.

    Note:
        PyTorch's ``nn.LayerNorm`` (eps 1e-5) and Keras's ``LayerNormalization`` (epsilon 1e-3) both put eps
        inside the square root, as here; some implementations (the original Transformer's
        ``a * (x - mean) / (std + eps) + b`` in popular tutorials) add it to the standard deviation.
    """
    if not isinstance(ln_param, Mapping):
        raise TypeError(f"ln_param must be a dict, got {type(ln_param).__name__}")
    x = as_float_array(x, "x")
    if x.ndim != 2 or x.shape[1] < 1:
        raise ValueError(f"x must have shape (N, D) with D >= 1, got {x.shape}")
    D = x.shape[1]
    gamma = as_float_array(gamma, "gamma")
    beta = as_float_array(beta, "beta")
    if gamma.shape != (D,) or beta.shape != (D,):
        raise ValueError(f"gamma and beta must have shape ({D},), got {gamma.shape} and {beta.shape}")
    eps = positive(ln_param.get("eps", 1e-5), "ln_param['eps']")
    mean = x.mean(axis=1, keepdims=True)
    x_centered = x - mean
    var = (x_centered ** 2).mean(axis=1, keepdims=True)
    std = np.sqrt(var + eps)
    x_hat = x_centered / std
    out = gamma * x_hat + beta
    cache = {"x": x, "x_hat": x_hat, "mean": mean, "var": var, "std": std, "gamma": gamma, "eps": eps}
    return out, cache


def layernorm_backward(dout, cache):
    r"""Backward pass of layer normalization.

    With :math:`\delta` = ``dout``, :math:`\hat\delta_{ij} = \delta_{ij}\gamma_j`,
    :math:`s_i = \sqrt{\sigma_i^2 + \epsilon}` and sums over the features of each example (axis 1):

    .. math::

        \frac{\partial L}{\partial x_{ij}} = \frac{1}{D s_i}
        \Bigl( D\, \hat\delta_{ij} - \sum_k \hat\delta_{ik} - \hat x_{ij} \sum_k \hat\delta_{ik} \hat x_{ik} \Bigr),
        \qquad \frac{\partial L}{\partial \gamma_j} = \sum_i \delta_{ij} \hat x_{ij},
        \qquad \frac{\partial L}{\partial \beta_j} = \sum_i \delta_{ij} .

    This is batch normalization's closed form applied to the transpose, with :math:`\gamma` inside the
    sums because it varies along the normalized axis.

    Args:
        dout: upstream gradient :math:`\partial L / \partial y`, shape ``(N, D)``.
        cache: the ``cache`` returned by :func:`layernorm_forward`.

    Returns:
        ``(dx, dgamma, dbeta)`` with shapes ``(N, D)``, ``(D,)``, ``(D,)``.

    Example:
        The row ``x = (-1, -1, 0, 0, 0, 2)`` has mean 0 and variance 1 (:math:`\hat x \approx x`). With
        ``dout`` the first unit vector and :math:`\gamma = 1`, :math:`dx = (6\delta - 1 + \hat x)/6`:

        >>> import numpy as np
        >>> x = np.array([[-1.0, -1.0, 0.0, 0.0, 0.0, 2.0]])
        >>> out, cache = layernorm_forward(x, np.ones(6), np.zeros(6), {})
        >>> dout = np.zeros((1, 6))
        >>> dout[0, 0] = 1.0
        >>> dx, dgamma, dbeta = layernorm_backward(dout, cache)
        >>> np.round(6 * dx.ravel(), 4), dbeta
        (array([ 4., -2., -1., -1., -1.,  1.]), array([1., 0., 0., 0., 0., 0.]))

    References:
        Ba, Kiros & Hinton 2016; cs231n assignment 2, ``layers.layernorm_backward``.
    """
    if not isinstance(cache, dict) or any(key not in cache for key in _LN_CACHE_KEYS):
        raise TypeError("cache must be the dict returned by layernorm_forward")
    dout = as_float_array(dout, "dout")
    x_hat, std, gamma = cache["x_hat"], cache["std"], cache["gamma"]
    check_same_shape(x_hat, dout, "x", "dout")
    D = dout.shape[1]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    dx = (D * dx_hat - dx_hat.sum(axis=1, keepdims=True)
          - x_hat * (dx_hat * x_hat).sum(axis=1, keepdims=True)) / (D * std)
    return dx, dgamma, dbeta


def top_hessian_eigenvalue(hvp, v0, num_iters=100):
    r"""The dominant eigenvalue of a symmetric matrix :math:`H` known only through products :math:`v \mapsto Hv`.

    Power iteration from :math:`v_0`, then the Rayleigh quotient of the last iterate:

    .. math::

        v \leftarrow v_0 / \lVert v_0 \rVert; \qquad
        \text{repeat } K \text{ times: } v \leftarrow Hv / \lVert Hv \rVert; \qquad
        \lambda \leftarrow v^\top H v .

    If :math:`|\lambda_1| > |\lambda_2| \ge \dots` and :math:`v_0` is not orthogonal to the top
    eigenvector, :math:`v` converges to it at the rate :math:`|\lambda_2/\lambda_1|^K` and :math:`\lambda`
    (with its sign) at the rate :math:`|\lambda_2/\lambda_1|^{2K}`. Near a minimum the Hessian is
    (nearly) positive semi-definite and the dominant eigenvalue is the largest, the sharpness :math:`L`.

    Args:
        hvp: a function ``v -> H v`` on arrays of the shape of ``v0`` (e.g. :func:`hessian_vector_product`).
        v0: the starting vector (nonzero), any shape.
        num_iters: :math:`K \ge 0`, the number of power iterations (``num_iters + 1`` calls of ``hvp``).

    Returns:
        ``(eigenvalue, eigenvector)``: :math:`\lambda` as a float and the unit vector :math:`v`, a NEW array
        of the shape of ``v0``.

    Example:
        >>> import numpy as np
        >>> H = np.diag([3.0, 1.0])
        >>> eigenvalue, v = top_hessian_eigenvalue(lambda v: H @ v, np.array([1.0, 1.0]), num_iters=60)
        >>> round(eigenvalue, 12), np.round(v, 12)
        (3.0, array([1., 0.]))

    References:
        Golub & Van Loan, *Matrix Computations*, Section 8.2.1; Pearlmutter, "Fast exact multiplication by
        the Hessian", 1994; Cohen et al., "Gradient descent on neural networks typically occurs at the edge
        of stability", ICLR 2021 (which tracks this quantity during training).
    """
    if not callable(hvp):
        raise TypeError("hvp must be a function v -> H v")
    v = as_float_array(v0, "v0")
    norm = np.linalg.norm(v)
    if not norm > 0:
        raise ValueError("v0 must be a nonzero vector")
    num_iters = int(nonnegative(num_iters, "num_iters"))
    v = v / norm
    for _ in range(num_iters):
        w = np.asarray(hvp(v), dtype=float)
        norm = np.linalg.norm(w)
        if norm == 0.0:          # v is in the null space: H v = 0 is an eigenpair with eigenvalue 0
            return 0.0, v
        v = w / norm
    return float(np.sum(v * np.asarray(hvp(v), dtype=float))), v


def hessian_vector_product(grad_fn, w, v, r=1e-4):
    r"""The product of the Hessian of :math:`f` at ``w`` with ``v``, by central differences of gradients.

    .. math::

        \nabla^2 f(w)\, v \approx \frac{\nabla f(w + r\, \hat v) - \nabla f(w - r\, \hat v)}{2 r}\,\lVert v \rVert,
        \qquad \hat v = v / \lVert v \rVert ,

    exact for a quadratic and with an error :math:`O(r^2)` for a smooth :math:`f` (two gradient calls,
    no second derivatives; Pearlmutter's R-operator gives the exact product at the same cost).

    Args:
        grad_fn: the gradient ``w -> grad f(w)`` (arrays of the shape of ``w``).
        w: the point, an array.
        v: the direction, an array of the shape of ``w``.
        r: the finite-difference step along the unit direction (default ``1e-4``).

    Returns:
        An approximation of :math:`\nabla^2 f(w)\, v`, a new array of the shape of ``w``.

    Example:
        For :math:`f(w) = w_1^2 + 3 w_1 w_2` the Hessian is ``[[2, 3], [3, 0]]``:

        >>> import numpy as np
        >>> grad = lambda w: np.array([2 * w[0] + 3 * w[1], 3 * w[0]])
        >>> np.round(hessian_vector_product(grad, np.array([0.5, -1.0]), np.array([1.0, 2.0])), 8)
        array([8., 3.])
    """
    w = as_float_array(w, "w")
    v = as_float_array(v, "v")
    check_same_shape(w, v, "w", "v")
    norm = np.linalg.norm(v)
    if norm == 0.0:
        return np.zeros_like(w)
    unit = v / norm
    plus = np.asarray(grad_fn(w + r * unit), dtype=float)
    minus = np.asarray(grad_fn(w - r * unit), dtype=float)
    return (plus - minus) / (2.0 * r) * norm


def stable_learning_rate(grad_fn, w, rng):
    r"""A learning rate for gradient descent from ``w``, stable and not timid, from gradient evaluations only.

    Gradient descent :math:`w \leftarrow w - \eta \nabla f(w)` on a quadratic with Hessian :math:`H`
    multiplies the error along an eigenvector of eigenvalue :math:`\lambda` by :math:`1 - \eta\lambda`:
    it converges exactly when :math:`0 < \eta < 2 / L`, :math:`L = \lambda_{\max}(H)`, and near a
    minimum a smooth loss behaves like its quadratic model. :math:`L` is estimated by power iteration
    (:func:`top_hessian_eigenvalue`, 30 iterations from a random unit vector drawn with ``rng``) on the
    Hessian-vector products of :func:`hessian_vector_product` (two gradients each), and

    .. math::

        \eta = 1 / \hat L ,

    half the edge of stability: the top direction then converges in one step and every other direction
    contracts by :math:`1 - \lambda / \hat L \in [0, 1)`. The power iteration's Rayleigh quotient
    :math:`\hat L \le L` can only err low, and the factor 2 of margin absorbs that error.

    Args:
        grad_fn: the gradient ``w -> grad f(w)`` (arrays of the shape of ``w``); called 62 times.
        w: the point where the rate is measured (the start of gradient descent), an array.
        rng: a ``numpy.random.Generator`` for the starting vector of the power iteration.

    Returns:
        The learning rate :math:`\eta > 0`, a Python float.

    Raises:
        ValueError: the estimated top eigenvalue is not positive (no minimum nearby: no stable rate).

    Example:
        On :math:`f(w) = \tfrac12 w^\top \mathrm{diag}(4, 1)\, w` the sharpness is 4; the rate is 1/4
        (2/L = 0.5 would make the first coordinate oscillate forever):

        >>> import numpy as np
        >>> rate = stable_learning_rate(lambda w: np.array([4.0, 1.0]) * w, np.array([1.0, 1.0]),
        ...                             np.random.default_rng(0))
        >>> round(rate, 10)
        0.25

    References:
        Nesterov, *Lectures on Convex Optimization*, 2nd ed., Theorem 2.1.14 (the rate 1/L);
        Cohen et al., "Gradient descent on neural networks typically occurs at the edge of stability",
        ICLR 2021; LeCun, Simard & Pearlmutter, "Automatic learning rate maximization by on-line estimation
        of the Hessian's eigenvectors", NIPS 1992 (the power iteration on gradients).
    """
    w = as_float_array(w, "w")
    v0 = rng.standard_normal(w.shape)
    sharpness, _ = top_hessian_eigenvalue(lambda v: hessian_vector_product(grad_fn, w, v), v0, num_iters=30)
    if not sharpness > 0:
        raise ValueError(f"the top Hessian eigenvalue estimate is {sharpness:g}: no minimum nearby")
    return float(1.0 / sharpness)
