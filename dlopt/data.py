r"""Data sets that need no download: scikit-learn's bundled digits, standardized and split.

The digits (UCI optical recognition of handwritten digits, as shipped inside scikit-learn) are
:math:`N = 1797` images of :math:`8 \times 8` pixels, flattened to :math:`d = 64` features, with
labels :math:`0, \dots, 9`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["DigitsSplit", "load_digits_split", "standardize"]


@dataclass(frozen=True)
class DigitsSplit:
    """A train/validation split: ``X_*`` shape ``(n, 64)`` float64, ``y_*`` shape ``(n,)`` int64."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray


def standardize(X_train, X_other=()):
    r"""Standardize features with the *training* statistics: :math:`x \mapsto (x - m) / s`.

    :math:`m` and :math:`s` are the per-feature mean and standard deviation of ``X_train``;
    features with :math:`s = 0` (always-blank pixels) are only centred (:math:`s` replaced by 1).

    Returns:
        ``(X_train_std, [X_std for X in X_other], mean, std)``.
    """
    X_train = np.asarray(X_train, dtype=np.float64)
    mean = X_train.mean(axis=0)
    std = X_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    others = [(np.asarray(X, dtype=np.float64) - mean) / std for X in X_other]
    return (X_train - mean) / std, others, mean, std


def load_digits_split(val_fraction: float = 0.2, seed: int = 0, standardized: bool = True) -> DigitsSplit:
    """The digits, shuffled with ``numpy.random.default_rng(seed)`` and split into train / validation.

    Args:
        val_fraction: fraction of the 1797 examples held out, in ``(0, 1)``.
        seed: the shuffle's seed (same seed, same split).
        standardized: standardize with the training statistics (:func:`standardize`); else raw
            pixel intensities ``0..16`` as float64.
    """
    from sklearn.datasets import load_digits  # bundled with scikit-learn: no download

    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    digits = load_digits()
    X = digits.data.astype(np.float64)
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(y))
    n_val = int(round(val_fraction * len(y)))
    val, train = order[:n_val], order[n_val:]
    X_train, X_val = X[train], X[val]
    if standardized:
        X_train, (X_val,), _, _ = standardize(X_train, [X_val])
    return DigitsSplit(X_train, y[train], X_val, y[val])
