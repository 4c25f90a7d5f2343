"""Model ensembles and parameter averaging."""

from __future__ import annotations

import numpy as np

from ._validation import as_float_array, in_unit_interval

__all__ = ["ensemble_predict", "polyak_average", "ema_update"]


def _stack(arrays, name):
    """A float64 stack ``(M, ...)`` of ``M >= 1`` arrays of one shape (a list of arrays or an array)."""
    if isinstance(arrays, np.ndarray):
        stack = as_float_array(arrays, name)
        if stack.ndim < 1 or stack.shape[0] == 0:
            raise ValueError(f"{name} must hold at least one array (stacked along the first axis)")
        return stack
    if isinstance(arrays, (str, bytes)) or not hasattr(arrays, "__len__"):
        raise TypeError(f"{name} must be a list of arrays or an array stacked along the first axis")
    if len(arrays) == 0:
        raise ValueError(f"{name} must not be empty")
    members = [as_float_array(member, f"{name}[{i}]") for i, member in enumerate(arrays)]
    for i, member in enumerate(members[1:], start=1):
        if member.shape != members[0].shape:
            raise ValueError(f"all arrays in {name} must have the same shape, got {members[0].shape} "
                             f"for {name}[0] and {member.shape} for {name}[{i}]")
    return np.stack(members)


def ensemble_predict(probs):
    r"""Average the class probabilities of :math:`M` models.

    .. math::

        \bar p(y \mid x) = \frac{1}{M} \sum_{m=1}^{M} p_m(y \mid x)

    Averaging probabilities (not logits, not votes) keeps each row a probability distribution.

    Args:
        probs: a non-empty list of arrays of one shape, typically ``(N, C)`` (one row of class
            probabilities per example), or an array of shape ``(M, N, C)``.

    Returns:
        The mean over the models, shape ``(N, C)`` (float64).

    Example:
        >>> import numpy as np
        >>> ensemble_predict([np.array([[0.9, 0.1]]), np.array([[0.5, 0.5]])])
        array([[0.7, 0.3]])

    References:
        cs231n notes, "Model Ensembles"; Goodfellow, Bengio & Courville, *Deep Learning*, 7.11.
    """
    return _stack(probs, "probs").mean(axis=0)


def polyak_average(params_history):
    r"""Polyak–Ruppert averaging: the mean of the parameter iterates.

    .. math::

        \bar w_T = \frac{1}{T} \sum_{t=1}^{T} w_t

    Args:
        params_history: a non-empty list of parameter arrays of one shape (the iterates
            :math:`w_1, \dots, w_T`), or an array stacking them along the first axis.

    Returns:
        The average parameters, shaped like one iterate (float64).

    Example:
        >>> import numpy as np
        >>> polyak_average([np.array([0.0, 2.0]), np.array([1.0, 4.0])])
        array([0.5, 3. ])

    References:
        Polyak & Juditsky, "Acceleration of stochastic approximation by averaging", SIAM J. Control
        Optim. 1992; Ruppert 1988.
    """
    return _stack(params_history, "params_history").mean(axis=0)


def ema_update(average, params, decay=0.999):
    r"""One step of an exponential moving average of the parameters.

    .. math::

        \bar w \leftarrow \delta \, \bar w + (1 - \delta) \, w

    with :math:`\delta` = ``decay``. Neither input is modified.

    Args:
        average: the current average :math:`\bar w`.
        params: the current parameters :math:`w`, same shape.
        decay: :math:`\delta \in [0, 1]` (default ``0.999``; ``1`` freezes the average, ``0`` copies ``params``).

    Returns:
        The new average (a new float64 array).

    Example:
        >>> import numpy as np
        >>> ema_update(np.array([1.0]), np.array([3.0]), decay=0.75)
        array([1.5])

    References:
        TensorFlow ``tf.train.ExponentialMovingAverage`` (without its ``num_updates`` warm-up);
        optax ``ema``.
    """
    average = as_float_array(average, "average")
    params = as_float_array(params, "params")
    if average.shape != params.shape:
        raise ValueError(f"average and params must have the same shape, got {average.shape} and {params.shape}")
    decay = in_unit_interval(decay, "decay", closed_right=True)
    return decay * average + (1.0 - decay) * params
