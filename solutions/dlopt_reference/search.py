"""Hyperparameter search: log-uniform sampling, random search and grid search.

Both searches return a list of trials ``{"params": {...}, "score": float}`` sorted best first, where
*lower scores are better* (a validation loss or error rate; negate an accuracy). The sort is stable,
so trials with equal scores keep the order in which they were run; a NaN score (a diverged run)
counts as the worst, after every number.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping

import numpy as np

from ._validation import as_real, positive_int

__all__ = ["sample_log_uniform", "random_search", "grid_search"]


def _check_rng(rng):
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), got {type(rng).__name__}")


def sample_log_uniform(rng, low, high, size=None):
    r"""Sample :math:`10^u` with :math:`u \sim \mathcal U[\text{low}, \text{high})`: log-uniform on
    :math:`[10^{\text{low}}, 10^{\text{high}})`.

    Learning rates and regularisation strengths matter on a multiplicative scale: a log-uniform
    sample spends as many draws between :math:`10^{-5}` and :math:`10^{-4}` as between
    :math:`10^{-2}` and :math:`10^{-1}`.

    Args:
        rng: a ``numpy.random.Generator``; exactly one call ``rng.uniform(low, high, size)`` is made.
        low, high: the exponents, ``low < high``.
        size: ``None`` for one float, or an int / tuple for an array.

    Returns:
        ``10 ** rng.uniform(low, high, size)``: a ``float`` when ``size`` is ``None``, else a float64 array.

    Example:
        >>> import numpy as np
        >>> sample = sample_log_uniform(np.random.default_rng(0), -6, -1, size=1000)
        >>> bool(sample.min() >= 1e-6 and sample.max() < 1e-1)
        True

    References:
        Bergstra & Bengio, "Random search for hyper-parameter optimization", JMLR 2012;
        cs231n notes, "Hyperparameter optimization".
    """
    _check_rng(rng)
    low = as_real(low, "low")
    high = as_real(high, "high")
    if not low < high:
        raise ValueError(f"low must be smaller than high (exponents of 10), got low={low}, high={high}")
    exponent = rng.uniform(low, high, size)
    if size is None:
        return float(10.0 ** exponent)
    return np.power(10.0, exponent)


def _score(objective, params):
    score = objective(dict(params))
    if isinstance(score, np.ndarray) and score.shape == ():
        score = score[()]
    if isinstance(score, (bool, np.bool_)) or not isinstance(score, (int, float, np.integer, np.floating)):
        raise TypeError(f"objective must return a real number (lower is better), got {type(score).__name__}")
    return float(score)


def _sorted(trials):
    # stable: ties keep trial order; NaN (a diverged run) after every number
    return sorted(trials, key=lambda trial: (math.isnan(trial["score"]), trial["score"]))


def random_search(objective, space, n_trials, rng):
    r"""Random search: evaluate ``objective`` at ``n_trials`` random points of ``space``.

    For each trial, every hyperparameter is drawn once, in the insertion order of ``space``, by
    calling its sampler with ``rng``; then ``objective(params)`` is called. So the results depend
    only on the seed of ``rng`` and the order of ``space``. With :math:`K` hyperparameters and
    :math:`T` = ``n_trials``:

    .. math::

        \theta_t \leftarrow \bigl(\text{sampler}_1(\text{rng}), \dots, \text{sampler}_K(\text{rng})\bigr),
        \qquad s_t \leftarrow \text{objective}(\theta_t), \qquad t = 1, \dots, T,

    and the trials are returned in increasing order of :math:`s_t`.

    Args:
        objective: callable ``params -> score`` taking a dict ``{name: value}`` (a copy) and
            returning a real number, *lower is better* (e.g. a validation loss).
        space: non-empty dict ``{name: sampler}`` where ``sampler(rng)`` returns one value, for
            example ``{"learning_rate": lambda rng: sample_log_uniform(rng, -6, -1),
            "momentum": lambda rng: rng.uniform(0.5, 0.99)}``.
        n_trials: number of trials, an integer >= 1.
        rng: a ``numpy.random.Generator``.

    Returns:
        A list of ``n_trials`` dicts ``{"params": {name: value}, "score": float}``, best (lowest)
        score first; ties keep the trial order; NaN scores come last.

    Example:
        >>> import numpy as np
        >>> trials = random_search(lambda p: (p["x"] - 0.3) ** 2, {"x": lambda rng: rng.uniform(0, 1)},
        ...                        20, np.random.default_rng(0))
        >>> len(trials), trials[0]["score"] <= trials[-1]["score"]
        (20, True)
    """
    if not callable(objective):
        raise TypeError("objective must be callable: params dict -> score")
    if not isinstance(space, Mapping):
        raise TypeError(f"space must be a dict name -> sampler(rng), got {type(space).__name__}")
    if not space:
        raise ValueError("space must contain at least one hyperparameter")
    for name, sampler in space.items():
        if not callable(sampler):
            raise TypeError(f"space[{name!r}] must be a callable sampler(rng), got {type(sampler).__name__}")
    n_trials = positive_int(n_trials, "n_trials")
    _check_rng(rng)
    trials = []
    for _ in range(n_trials):
        params = {name: sampler(rng) for name, sampler in space.items()}
        trials.append({"params": params, "score": _score(objective, params)})
    return _sorted(trials)


def grid_search(objective, grid):
    r"""Grid search: evaluate ``objective`` at every combination of the values in ``grid``.

    The combinations are ``itertools.product`` of the value lists in the insertion order of
    ``grid`` (the last hyperparameter varies fastest); that is also the order of ties in the result.

    Args:
        objective: callable ``params -> score`` as in :func:`random_search` (lower is better).
        grid: non-empty dict ``{name: values}``, each ``values`` a non-empty list, tuple or 1-D array.

    Returns:
        A list of :math:`\prod_k |\text{values}_k|` dicts ``{"params": {name: value}, "score": float}``,
        best (lowest) score first.

    Example:
        >>> trials = grid_search(lambda p: p["a"] * p["b"], {"a": [1, 2], "b": [3, -1]})
        >>> [(t["params"]["a"], t["params"]["b"], t["score"]) for t in trials]
        [(2, -1, -2.0), (1, -1, -1.0), (1, 3, 3.0), (2, 3, 6.0)]
    """
    if not callable(objective):
        raise TypeError("objective must be callable: params dict -> score")
    if not isinstance(grid, Mapping):
        raise TypeError(f"grid must be a dict name -> list of values, got {type(grid).__name__}")
    if not grid:
        raise ValueError("grid must contain at least one hyperparameter")
    names = list(grid)
    value_lists = []
    for name in names:
        values = grid[name]
        if isinstance(values, (str, bytes, Mapping)) or not hasattr(values, "__iter__"):
            raise TypeError(f"grid[{name!r}] must be a list of values, got {type(values).__name__}")
        values = list(values)
        if not values:
            raise ValueError(f"grid[{name!r}] must contain at least one value")
        value_lists.append(values)
    trials = []
    for combination in itertools.product(*value_lists):
        params = dict(zip(names, combination))
        trials.append({"params": params, "score": _score(objective, params)})
    return _sorted(trials)
