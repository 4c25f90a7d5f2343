"""Minibatches: the sampling half of minibatch SGD."""

from __future__ import annotations

import numpy as np

from ._validation import positive_int


def minibatches(X, y, batch_size, rng=None):
    r"""Split a dataset into minibatches for one epoch.

    With :math:`N` examples and batch size :math:`B`, an epoch has :math:`\lceil N / B \rceil`
    minibatches; every example appears in exactly one of them. With ``rng`` given, the examples
    are visited in the order ``rng.permutation(N)`` (sampling without replacement, reshuffled each
    epoch by calling again); with ``rng=None`` they keep their order. The last minibatch holds the
    remaining :math:`N - B\lfloor (N-1)/B \rfloor` examples and may be smaller than ``batch_size``.

    The minibatch gradient :math:`\frac{1}{B}\sum_{i \in \mathcal{B}} \nabla \ell_i(w)` is an unbiased
    estimate of the full gradient when :math:`\mathcal{B}` is drawn uniformly.

    Args:
        X: inputs, shape ``(N, ...)``.
        y: targets, shape ``(N, ...)``, the same ``N``.
        batch_size: :math:`B \ge 1`.
        rng: a ``numpy.random.Generator`` or ``None`` (no shuffling).

    Returns:
        A list of ``(X_batch, y_batch)`` pairs (new arrays), in visiting order.

    Example:
        Five examples in batches of two: :math:`\lceil 5/2 \rceil = 3` minibatches, the last one
        holding :math:`5 - 2\lfloor 4/2 \rfloor = 1` example. With a generator the visiting order is
        the permutation an identically seeded generator draws:

        >>> import numpy as np
        >>> X, y = np.arange(10).reshape(5, 2), np.arange(5)
        >>> [y_batch.tolist() for _, y_batch in minibatches(X, y, 2)]
        [[0, 1], [2, 3], [4]]
        >>> minibatches(X, y, 2)[2][0]
        array([[8, 9]])
        >>> shuffled = minibatches(X, y, 2, rng=np.random.default_rng(0))
        >>> order = np.random.default_rng(0).permutation(5)
        >>> bool(np.array_equal(np.concatenate([y_batch for _, y_batch in shuffled]), order))
        True
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim == 0 or y.ndim == 0:
        raise ValueError("X and y must have a leading example axis")
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X and y must have the same number of examples, got {X.shape[0]} and {y.shape[0]}")
    batch_size = positive_int(batch_size, "batch_size")
    if rng is not None and not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator or None, got {type(rng).__name__}")
    n_examples = X.shape[0]
    order = np.arange(n_examples) if rng is None else rng.permutation(n_examples)
    return [
        (X[order[start:start + batch_size]], y[order[start:start + batch_size]])
        for start in range(0, n_examples, batch_size)
    ]
