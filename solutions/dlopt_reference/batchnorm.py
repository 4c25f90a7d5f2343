"""Batch normalization for a fully connected layer (cs231n assignment 2 conventions).

``batchnorm_forward(x, gamma, beta, bn_param) -> (out, cache)`` and
``batchnorm_backward(dout, cache) -> (dx, dgamma, dbeta)`` follow cs231n's ``layers.py``.

The running averages: as in cs231n, the forward pass writes the updated ``running_mean`` and
``running_var`` back into the ``bn_param`` dict it is given (the only input it touches: it rebinds
these two keys to *new* arrays and never writes into ``x``, ``gamma``, ``beta`` or the arrays the
caller stored in ``bn_param``). The same updated values are also in ``cache['running_mean']`` and
``cache['running_var']``. Keep passing the same ``bn_param`` dict from one call to the next, and
switch its ``mode`` to ``'test'`` for inference.
"""

from __future__ import annotations

from collections.abc import MutableMapping

import numpy as np

from ._validation import as_float_array, as_real, check_same_shape, in_unit_interval, positive

__all__ = ["batchnorm_forward", "batchnorm_backward", "batchnorm_backward_alt", "fold_batchnorm"]

_CACHE_KEYS = ("mode", "x", "x_hat", "x_centered", "mean", "var", "std", "gamma", "eps")


def _running(bn_param, key, D):
    value = bn_param.get(key)
    if value is None:
        return np.zeros(D)
    value = as_float_array(value, f"bn_param[{key!r}]")
    if value.shape != (D,):
        raise ValueError(f"bn_param[{key!r}] must have shape ({D},), got {value.shape}")
    return value


def batchnorm_forward(x, gamma, beta, bn_param):
    r"""Forward pass of batch normalization over a minibatch ``x`` of shape ``(N, D)``.

    In ``'train'`` mode each feature is normalized with the statistics of the batch (biased variance)
    and the running averages are updated; in ``'test'`` mode the running averages are used instead.
    Let :math:`\epsilon` be ``bn_param['eps']`` and :math:`\rho` be ``bn_param['momentum']``:

    .. math::

        \mu_B &\leftarrow \frac{1}{N} \sum_i x_i, \qquad
        \sigma_B^2 \leftarrow \frac{1}{N} \sum_i (x_i - \mu_B)^2 \\
        \hat x_i &\leftarrow \frac{x_i - \mu_B}{\sqrt{\sigma_B^2 + \epsilon}}, \qquad
        y_i \leftarrow \gamma \hat x_i + \beta \\
        \mu_{\text{run}} &\leftarrow \rho \, \mu_{\text{run}} + (1 - \rho) \mu_B, \qquad
        \sigma^2_{\text{run}} \leftarrow \rho \, \sigma^2_{\text{run}} + (1 - \rho) \sigma^2_B

    and in test mode :math:`y_i = \gamma (x_i - \mu_{\text{run}}) / \sqrt{\sigma^2_{\text{run}} + \epsilon} + \beta`.

    Args:
        x: inputs, shape ``(N, D)`` with :math:`N \ge 1`.
        gamma: scale, shape ``(D,)``.
        beta: shift, shape ``(D,)``.
        bn_param: dict with ``mode`` (``'train'`` or ``'test'``, required), ``eps`` (default ``1e-5``,
            > 0), ``momentum`` (default ``0.9``, in :math:`[0, 1]`), ``running_mean`` and ``running_var``
            (shape ``(D,)``, zeros when absent).

    Returns:
        ``(out, cache)``: the output, shape ``(N, D)``, and a dict for the backward pass. The updated
        running averages are written back into ``bn_param`` (new arrays; in test mode the unchanged
        values, or zeros when absent) and are also ``cache['running_mean']``, ``cache['running_var']``.

    Example:
        >>> import numpy as np
        >>> x = np.array([[1.0, 10.0], [3.0, 30.0]])
        >>> bn_param = {"mode": "train"}
        >>> out, cache = batchnorm_forward(x, np.ones(2), np.zeros(2), bn_param)
        >>> np.round(out, 4), bn_param["running_mean"]
        (array([[-1., -1.],
               [ 1.,  1.]]), array([0.2, 2. ]))

    References:
        Ioffe & Szegedy, "Batch normalization: accelerating deep network training by reducing internal
        covariate shift", ICML 2015, Algorithm 1; cs231n assignment 2, ``layers.batchnorm_forward``.

    Note:
        PyTorch's ``BatchNorm1d(momentum=0.1)`` weights the *new* batch by its momentum
        (:math:`\mu_{\text{run}} \leftarrow 0.9 \mu_{\text{run}} + 0.1 \mu_B`, the same numbers as cs231n's
        0.9) and keeps the *unbiased* batch variance in ``running_var``; cs231n and this function keep
        the biased one. PyTorch also starts ``running_var`` at ones, cs231n at zeros.
    """
    if not isinstance(bn_param, MutableMapping):
        raise TypeError(f"bn_param must be a dict, got {type(bn_param).__name__}")
    if "mode" not in bn_param:
        raise ValueError("bn_param must contain 'mode' ('train' or 'test')")
    mode = bn_param["mode"]
    if mode not in ("train", "test"):
        raise ValueError(f"invalid batchnorm mode {mode!r}: expected 'train' or 'test'")
    x = as_float_array(x, "x")
    if x.ndim != 2 or x.shape[0] < 1:
        raise ValueError(f"x must have shape (N, D) with N >= 1, got {x.shape}")
    N, D = x.shape
    gamma = as_float_array(gamma, "gamma")
    beta = as_float_array(beta, "beta")
    if gamma.shape != (D,):
        raise ValueError(f"gamma must have shape ({D},) to match x of shape {x.shape}, got {gamma.shape}")
    if beta.shape != (D,):
        raise ValueError(f"beta must have shape ({D},) to match x of shape {x.shape}, got {beta.shape}")
    eps = positive(bn_param.get("eps", 1e-5), "bn_param['eps']")
    momentum = in_unit_interval(bn_param.get("momentum", 0.9), "bn_param['momentum']", closed_right=True)
    running_mean = _running(bn_param, "running_mean", D)
    running_var = _running(bn_param, "running_var", D)
    if np.any(running_var < 0):
        raise ValueError("bn_param['running_var'] must be >= 0")

    if mode == "train":
        mean = x.mean(axis=0)
        x_centered = x - mean
        var = (x_centered ** 2).mean(axis=0)
        running_mean = momentum * running_mean + (1.0 - momentum) * mean
        running_var = momentum * running_var + (1.0 - momentum) * var
    else:
        mean, var = running_mean.copy(), running_var.copy()
        x_centered = x - mean
    std = np.sqrt(var + eps)
    x_hat = x_centered / std
    out = gamma * x_hat + beta

    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    cache = {"mode": mode, "x": x, "x_hat": x_hat, "x_centered": x_centered, "mean": mean, "var": var,
             "std": std, "gamma": gamma, "beta": beta, "eps": eps,
             "running_mean": running_mean.copy(), "running_var": running_var.copy()}
    return out, cache


def _check_cache(dout, cache):
    if not isinstance(cache, dict) or any(key not in cache for key in _CACHE_KEYS):
        raise TypeError("cache must be the dict returned by batchnorm_forward")
    dout = as_float_array(dout, "dout")
    check_same_shape(cache["x"], dout, "x", "dout")
    return dout


def batchnorm_backward(dout, cache):
    r"""Backward pass of batch normalization, stage by stage through the computational graph.

    The forward pass is split into elementary operations,
    :math:`\mu = \tfrac1N\sum_i x_i`, :math:`c = x - \mu`, :math:`\sigma^2 = \tfrac1N \sum_i c_i^2`,
    :math:`s = \sqrt{\sigma^2 + \epsilon}`, :math:`\hat x = c / s`, :math:`y = \gamma \hat x + \beta`,
    and the chain rule is applied to each in reverse order; the paths through :math:`\mu` and
    :math:`\sigma^2` (which depend on every :math:`x_i`) are what make batch normalization's
    gradient differ from a per-example affine map.

    Args:
        dout: upstream gradient :math:`\partial L / \partial y`, shape ``(N, D)``.
        cache: the ``cache`` returned by :func:`batchnorm_forward`.

    Returns:
        ``(dx, dgamma, dbeta)`` with shapes ``(N, D)``, ``(D,)``, ``(D,)``. For a cache from
        ``'test'`` mode the statistics are constants and ``dx = gamma * dout / sqrt(running_var + eps)``.

    Example:
        The column ``x = (-1, -1, 0, 0, 0, 2)`` has mean 0 and variance 1, so :math:`\hat x \approx x`
        (``eps`` is 1e-5). With ``dout`` the first unit vector, :math:`\sum_i \delta_i = 1` and
        :math:`\sum_i \delta_i \hat x_i = -1`, so :math:`dx = (6\delta - 1 + \hat x)/6`
        (see :func:`batchnorm_backward_alt`), whose entries sum to 0:

        >>> import numpy as np
        >>> x = np.array([[-1.0], [-1.0], [0.0], [0.0], [0.0], [2.0]])
        >>> out, cache = batchnorm_forward(x, np.ones(1), np.zeros(1), {"mode": "train"})
        >>> dout = np.zeros((6, 1))
        >>> dout[0] = 1.0
        >>> dx, dgamma, dbeta = batchnorm_backward(dout, cache)
        >>> np.round(6 * dx.ravel(), 4), np.round(dgamma, 4), dbeta
        (array([ 4., -2., -1., -1., -1.,  1.]), array([-1.]), array([1.]))

    References:
        Ioffe & Szegedy 2015, Section 3; cs231n assignment 2, ``layers.batchnorm_backward``;
        Kratzert, "Understanding the backward pass through Batch Normalization Layer", 2016.
    """
    dout = _check_cache(dout, cache)
    x_hat, x_centered, std, gamma = cache["x_hat"], cache["x_centered"], cache["std"], cache["gamma"]
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)                          # y = gamma * x_hat + beta
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    if cache["mode"] == "test":
        return dx_hat / std, dgamma, dbeta
    dinv_std = (dx_hat * x_centered).sum(axis=0)      # x_hat = x_centered * inv_std
    dx_centered = dx_hat / std
    dstd = -dinv_std / std ** 2                        # inv_std = 1 / std
    dvar = 0.5 * dstd / std                            # std = sqrt(var + eps)
    dsquares = np.full_like(dout, 1.0 / N) * dvar      # var = mean(x_centered ** 2)
    dx_centered = dx_centered + 2.0 * x_centered * dsquares
    dmean = -dx_centered.sum(axis=0)                   # x_centered = x - mean
    dx = dx_centered + np.full_like(dout, 1.0 / N) * dmean   # mean = mean(x)
    return dx, dgamma, dbeta


def batchnorm_backward_alt(dout, cache):
    r"""Backward pass of batch normalization in the simplified closed form.

    With :math:`\hat x` the normalized input, :math:`s = \sqrt{\sigma_B^2 + \epsilon}` and sums over the
    batch (axis 0):

    .. math::

        \frac{\partial L}{\partial x} = \frac{\gamma}{N s}
        \left( N \, \delta - \sum_i \delta_i - \hat x \sum_i \delta_i \hat x_i \right),
        \qquad \frac{\partial L}{\partial \gamma} = \sum_i \delta_i \hat x_i,
        \qquad \frac{\partial L}{\partial \beta} = \sum_i \delta_i

    where :math:`\delta` is ``dout``. Same result as :func:`batchnorm_backward`.

    Args:
        dout: upstream gradient, shape ``(N, D)``.
        cache: the ``cache`` returned by :func:`batchnorm_forward`.

    Returns:
        ``(dx, dgamma, dbeta)`` with shapes ``(N, D)``, ``(D,)``, ``(D,)``.

    Example:
        The column ``x = (-1, -1, 0, 0, 0, 2)`` has :math:`N = 6`, mean 0 and variance 1, so
        :math:`\hat x \approx x` and :math:`s \approx 1`. With ``dout`` the first unit vector the formula
        gives :math:`dx = (6\delta - 1 - \hat x \cdot (-1))/6 = (4, -2, -1, -1, -1, 1)/6`:

        >>> import numpy as np
        >>> x = np.array([[-1.0], [-1.0], [0.0], [0.0], [0.0], [2.0]])
        >>> out, cache = batchnorm_forward(x, np.ones(1), np.zeros(1), {"mode": "train"})
        >>> dout = np.zeros((6, 1))
        >>> dout[0] = 1.0
        >>> dx, dgamma, dbeta = batchnorm_backward_alt(dout, cache)
        >>> np.round(6 * dx.ravel(), 4), np.round(dgamma, 4), dbeta
        (array([ 4., -2., -1., -1., -1.,  1.]), array([-1.]), array([1.]))

    References:
        Ioffe & Szegedy 2015, Section 3; cs231n assignment 2, ``layers.batchnorm_backward_alt``.
    """
    dout = _check_cache(dout, cache)
    x_hat, std, gamma = cache["x_hat"], cache["std"], cache["gamma"]
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    if cache["mode"] == "test":
        return gamma * dout / std, dgamma, dbeta
    dx = gamma / (N * std) * (N * dout - dbeta - x_hat * dgamma)
    return dx, dgamma, dbeta


def fold_batchnorm(W, b, gamma, beta, running_mean, running_var, eps=1e-5):
    r"""Fold an inference-mode batch normalization into the affine layer before it.

    At test time batch normalization is a fixed affine map of each feature: with the running
    averages :math:`\mu_{\text{run}}, \sigma^2_{\text{run}}` it computes
    :math:`y = \gamma (z - \mu_{\text{run}}) / \sqrt{\sigma^2_{\text{run}} + \epsilon} + \beta` of the
    layer's output :math:`z = x W + b`. An affine map of an affine map is affine, so one layer does
    both. Let :math:`s_j = \gamma_j / \sqrt{\sigma^2_{\text{run}, j} + \epsilon}` (one factor per output
    feature :math:`j`):

    .. math::

        W'_{ij} \leftarrow W_{ij} \, s_j, \qquad
        b'_j \leftarrow (b_j - \mu_{\text{run}, j}) \, s_j + \beta_j,

    and then :math:`x W' + b' = \gamma (x W + b - \mu_{\text{run}}) / \sqrt{\sigma^2_{\text{run}} + \epsilon} + \beta`
    for every input :math:`x`, which is ``batchnorm_forward(x @ W + b, gamma, beta, bn_param)`` in
    ``'test'`` mode. The batch statistics play no part: a deployed layer sees one example at a time.

    Args:
        W: weights, shape ``(D_in, D)`` (the layer computes ``x @ W + b`` for ``x`` of shape ``(N, D_in)``).
        b: bias, shape ``(D,)``.
        gamma, beta: the batch normalization's scale and shift, shape ``(D,)``.
        running_mean, running_var: its running averages, shape ``(D,)``, ``running_var >= 0``.
        eps: added to the variance inside the square root (default ``1e-5``, as in ``batchnorm_forward``).

    Returns:
        ``(W_folded, b_folded)``: new float64 arrays of shapes ``(D_in, D)`` and ``(D,)``; the inputs are
        not modified.

    Example:
        One input, one feature: :math:`z = 2x + 1`, running mean 3 and variance 4 (``eps=0`` for round
        numbers), :math:`\gamma = 1, \beta = 0` give :math:`y = (2x + 1 - 3)/2 = x - 1`:

        >>> import numpy as np
        >>> W_f, b_f = fold_batchnorm(np.array([[2.0]]), np.array([1.0]), np.ones(1), np.zeros(1),
        ...                           np.array([3.0]), np.array([4.0]), eps=0.0)
        >>> W_f, b_f
        (array([[1.]]), array([-1.]))

    References:
        Jacob et al., "Quantization and training of neural networks for efficient integer-arithmetic-only
        inference", CVPR 2018, Section 3.2 (batch normalization folding); PyTorch
        ``torch.nn.utils.fusion.fuse_linear_bn_weights``.
    """
    W = as_float_array(W, "W")
    if W.ndim != 2:
        raise ValueError(f"W must have shape (D_in, D), got {W.shape}")
    D = W.shape[1]
    vectors = {}
    for name, value in (("b", b), ("gamma", gamma), ("beta", beta), ("running_mean", running_mean),
                        ("running_var", running_var)):
        vectors[name] = as_float_array(value, name)
        if vectors[name].shape != (D,):
            raise ValueError(f"{name} must have shape ({D},) to match W of shape {W.shape}, got {vectors[name].shape}")
    if np.any(vectors["running_var"] < 0):
        raise ValueError("running_var must be >= 0")
    eps = as_real(eps, "eps")
    if eps < 0 or (eps == 0 and np.any(vectors["running_var"] == 0)):
        raise ValueError(f"eps must be >= 0, and > 0 where running_var is 0; got {eps}")
    scale = vectors["gamma"] / np.sqrt(vectors["running_var"] + eps)
    W_folded = W * scale                      # column j of W times s_j
    b_folded = (vectors["b"] - vectors["running_mean"]) * scale + vectors["beta"]
    return W_folded, b_folded
