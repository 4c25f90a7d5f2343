"""Model ensembles and parameter averaging."""

from __future__ import annotations

import numpy as np

from ._validation import as_float_array, in_unit_interval

__all__ = ["ensemble_predict", "polyak_average", "ema_update", "select_ensemble", "log_loss"]


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


def log_loss(probs, labels, *, floor=1e-15):
    r"""Mean negative log-likelihood of the true labels (cross-entropy), in nats.

    .. math:: \ell(p, y) = -\frac1N \sum_{n=1}^{N} \log \max(p_{n, y_n}, \varepsilon)

    The floor :math:`\varepsilon` (``1e-15``, as in scikit-learn) keeps a probability of exactly 0 finite.

    Args:
        probs: class probabilities, shape ``(N, C)``.
        labels: the true classes, integers in ``[0, C)``, shape ``(N,)``.

    Returns:
        The mean log loss, a Python float >= 0 (at most :math:`-\log \varepsilon \approx 34.5`).

    Example:
        >>> import numpy as np
        >>> round(log_loss(np.array([[0.5, 0.5], [0.9, 0.1]]), np.array([0, 0])), 4)   # (log 2 + log(1/0.9)) / 2
        0.3993
    """
    probs = np.asarray(probs, dtype=float)
    labels = np.asarray(labels, dtype=int)
    return float(-np.mean(np.log(np.maximum(probs[np.arange(len(labels)), labels], floor))))


def select_ensemble(val_probs, val_labels, size):
    r"""Greedy forward selection of an ensemble from a pool of models (Caruana et al. 2004).

    Start from the empty ensemble and add, ``size`` times, the model whose addition gives the
    lowest validation log loss of the averaged probabilities; a model may be added again
    (selection *with replacement*: a model picked twice gets twice the weight). With
    :math:`S_k` the multiset of the first :math:`k` picks and :math:`p_m` the validation
    probabilities of model :math:`m`:

    .. math::

        m_{k+1} \leftarrow \arg\min_{m} \; \ell\Bigl(\frac{1}{k + 1}\Bigl(\sum_{i \in S_k} p_i + p_m\Bigr), y\Bigr),
        \qquad S_{k+1} \leftarrow S_k \cup \{m_{k+1}\}

    where :math:`\ell` is :func:`log_loss`. The first pick is the best single model; later picks
    are judged by what they add to the ensemble, so a model that repeats the errors of those
    already chosen adds little, and one whose errors differ can win even if it is weaker alone.
    Ties go to the lowest index.

    Args:
        val_probs: the models' class probabilities on the validation set, shape ``(M, N, C)``
            (or a list of ``M`` arrays of shape ``(N, C)``).
        val_labels: the validation labels, integers in ``[0, C)``, shape ``(N,)``.
        size: the number of picks, an integer >= 1.

    Returns:
        A list of ``size`` model indices (Python ints in ``[0, M)``, repetitions allowed); the
        ensemble predicts the mean of the chosen models' probabilities, each pick counted once.

    Example:
        Four examples of class 0; the probability each model gives class 0. Model 1 is the best
        alone, model 0 almost a copy of it, model 2 weaker but wrong where the others are. After
        model 1, model 2 helps more than the near-copy (log loss 0.390 against 0.452):

        >>> import numpy as np
        >>> p_class0 = np.array([[0.9, 0.9, 0.9, 0.2], [0.9, 0.9, 0.9, 0.25], [0.6, 0.6, 0.4, 0.9]])
        >>> probs = np.stack([p_class0, 1 - p_class0], axis=-1)       # shape (M, N, C) = (3, 4, 2)
        >>> select_ensemble(probs, np.zeros(4, dtype=int), 3)
        [1, 2, 1]

    References:
        Caruana, Niculescu-Mizil, Crew & Ksikes, "Ensemble selection from libraries of models",
        ICML 2004, Section 2 (forward stepwise selection with replacement).
    """
    stack = _stack(val_probs, "val_probs")
    if stack.ndim != 3:
        raise ValueError(f"val_probs must have shape (M, N, C), got {stack.shape}")
    M, N, C = stack.shape
    labels = np.asarray(val_labels)
    if labels.shape != (N,) or not np.issubdtype(labels.dtype, np.integer) or np.any((labels < 0) | (labels >= C)):
        raise ValueError(f"val_labels must be {N} integers in [0, {C})")
    if isinstance(size, (bool, np.bool_)) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"size must be an integer >= 1, got {size!r}")
    true_class = stack[:, np.arange(N), labels]           # (M, N): each model's probability of the true class
    total = np.zeros(N)                                   # sum over the picks so far
    picks: list[int] = []
    for k in range(int(size)):
        candidates = (total + true_class) / (k + 1)       # (M, N): the ensemble with each model added
        losses = -np.mean(np.log(np.maximum(candidates, 1e-15)), axis=1)
        best = int(np.argmin(losses))
        picks.append(best)
        total = total + true_class[best]
    return picks
