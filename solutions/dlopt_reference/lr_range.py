"""The learning-rate range test: sweep the learning rate upward and watch the loss."""

from __future__ import annotations

import numpy as np

from ._validation import as_float_array, positive, positive_int


def lr_range_test(loss_and_grad, w, min_lr=1e-6, max_lr=1.0, num_steps=100, divergence_factor=4.0):
    r"""Run the learning-rate range test with plain SGD steps.

    The learning rate grows geometrically from ``min_lr`` to ``max_lr`` over ``num_steps`` steps,

    .. math::

        \eta_k = \eta_{\min} \left(\frac{\eta_{\max}}{\eta_{\min}}\right)^{k/(K-1)}, \qquad k = 0, \dots, K-1,

    (``numpy.geomspace``). At step :math:`k` the test evaluates ``loss, dw = loss_and_grad(w)`` at the
    current parameters, records :math:`(\eta_k, \text{loss})`, then updates
    :math:`w \leftarrow w - \eta_k\, dw`. It stops early, after recording, once the loss exceeds
    ``divergence_factor`` times the smallest loss recorded so far; a non-finite loss stops it
    without being recorded. A good learning rate lies where the loss falls fastest, well below
    the point of divergence.

    Args:
        loss_and_grad: callable ``w -> (loss, dw)``; it may draw a fresh minibatch at each call.
        w: initial parameters (not modified).
        min_lr, max_lr: the range, :math:`0 < \eta_{\min} < \eta_{\max}`.
        num_steps: :math:`K \ge 2`.
        divergence_factor: stop when ``loss > divergence_factor * best`` (``> 1``).

    Returns:
        ``(learning_rates, losses)``: two float64 arrays of the same length (at most ``num_steps``).

    Example:
        On :math:`f(w) = w^2/2` (gradient :math:`w`) from :math:`w_0 = 1`, a step gives
        :math:`w_{k+1} = (1 - \eta_k) w_k`. With :math:`\eta = 0.2, 2, 20, 200, 2000` the iterates are
        :math:`1, 0.8, -0.8, 15.2` and the losses :math:`0.5, 0.32, 0.32, 115.52`; the last exceeds
        :math:`4 \times 0.32`, so the test stops after recording step 3 and never tries 2000:

        >>> import numpy as np
        >>> rates, losses = lr_range_test(lambda w: (0.5 * w @ w, w), np.ones(1),
        ...                               min_lr=0.2, max_lr=2000.0, num_steps=5)
        >>> rates.round(6).tolist(), losses.round(6).tolist()
        ([0.2, 2.0, 20.0, 200.0], [0.5, 0.32, 0.32, 115.52])

    References:
        Smith, "Cyclical learning rates for training neural networks", WACV 2017.
    """
    if not callable(loss_and_grad):
        raise TypeError("loss_and_grad must be callable: w -> (loss, dw)")
    w = as_float_array(w, "w")
    min_lr = positive(min_lr, "min_lr")
    max_lr = positive(max_lr, "max_lr")
    if min_lr >= max_lr:
        raise ValueError(f"min_lr must be smaller than max_lr, got {min_lr} and {max_lr}")
    num_steps = positive_int(num_steps, "num_steps")
    if num_steps < 2:
        raise ValueError(f"num_steps must be >= 2, got {num_steps}")
    divergence_factor = positive(divergence_factor, "divergence_factor")
    if divergence_factor <= 1:
        raise ValueError(f"divergence_factor must be > 1, got {divergence_factor}")

    schedule = np.geomspace(min_lr, max_lr, num_steps)
    learning_rates, losses = [], []
    best = np.inf
    for learning_rate in schedule:
        loss, dw = loss_and_grad(w.copy())
        loss = float(loss)
        if not np.isfinite(loss):
            break
        learning_rates.append(float(learning_rate))
        losses.append(loss)
        best = min(best, loss)
        if loss > divergence_factor * best:
            break
        dw = np.asarray(dw, dtype=np.float64)
        if dw.shape != w.shape:
            raise ValueError(f"loss_and_grad returned a gradient of shape {dw.shape} for w of shape {w.shape}")
        w = w - learning_rate * dw
    return np.array(learning_rates, dtype=np.float64), np.array(losses, dtype=np.float64)
