"""Hyperparameter search: log-uniform sampling, random search, grid search, successive halving, and tuning
a learning rate and a weight decay under a budget of trials.

The searches return a list of trials ``{"params": {...}, "score": float}`` sorted best first, where
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

__all__ = ["sample_log_uniform", "random_search", "grid_search", "successive_halving", "rung_schedule",
           "tune_hyperparameters"]

#: The search space of :func:`tune_hyperparameters`: name -> (low, high) exponents of 10. Both are scale
#: parameters (a factor of 2 matters as much at 1e-4 as at 1e-1), searched on a log scale.
TUNING_SPACE = {"learning_rate": (-5.0, 0.0), "weight_decay": (-6.0, -1.0)}


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


def rung_schedule(n_configs, min_budget, max_budget, reduction_factor=3):
    r"""The rungs of :func:`successive_halving`: a list of ``(n_k, b_k)``, configurations and budget per rung.

    With :math:`n` = ``n_configs``, :math:`b_0` = ``min_budget``, :math:`B` = ``max_budget`` and
    :math:`r` = ``reduction_factor``:

    .. math::

        K = \max\{k : b_0 r^k \le B\}, \qquad b_k = b_0 r^k, \qquad
        n_k = \max\bigl(1, \lfloor n / r^k \rfloor\bigr), \qquad k = 0, \dots, K.

    Args:
        n_configs: :math:`n`, an integer >= 1.
        min_budget: :math:`b_0 > 0`.
        max_budget: :math:`B \ge b_0`.
        reduction_factor: :math:`r`, an integer >= 2.

    Returns:
        A list of :math:`K + 1` tuples ``(n_k, b_k)``; ``b_k`` is computed as ``min_budget * r ** k`` (an int
        when ``min_budget`` is one).

    Example:
        >>> rung_schedule(27, 1, 27, 3)
        [(27, 1), (9, 3), (3, 9), (1, 27)]
        >>> rung_schedule(10, 1, 20, 3)
        [(10, 1), (3, 3), (1, 9)]
    """
    n_configs = positive_int(n_configs, "n_configs")
    as_real(min_budget, "min_budget")
    as_real(max_budget, "max_budget")
    if isinstance(reduction_factor, (bool, np.bool_)) or not isinstance(reduction_factor, (int, np.integer)) \
            or reduction_factor < 2:
        raise ValueError(f"reduction_factor must be an integer >= 2, got {reduction_factor!r}")
    reduction_factor = int(reduction_factor)
    if not (math.isfinite(min_budget) and min_budget > 0):
        raise ValueError(f"min_budget must be a positive number, got {min_budget!r}")
    if not (math.isfinite(max_budget) and max_budget >= min_budget):
        raise ValueError(f"max_budget must be a number >= min_budget, got {max_budget!r}")
    rungs = []
    k = 0
    while min_budget * reduction_factor ** k <= max_budget:
        rungs.append((max(1, n_configs // reduction_factor ** k), min_budget * reduction_factor ** k))
        k += 1
    return rungs


def successive_halving(train, configs, min_budget, max_budget, reduction_factor=3):
    r"""Successive halving: train every configuration briefly, then give :math:`r` times the budget to the best
    :math:`1/r` of them, rung after rung.

    Let :math:`n` = ``len(configs)``, :math:`b_0` = ``min_budget``, :math:`B` = ``max_budget`` and
    :math:`r` = ``reduction_factor``. The rungs are :math:`k = 0, \dots, K` with
    :math:`K = \max\{k : b_0 r^k \le B\}` (see :func:`rung_schedule`):

    .. math::

        S_0 &\leftarrow \{1, \dots, n\}, \qquad b_k = b_0 r^k, \qquad n_k = \max(1, \lfloor n / r^k \rfloor) \\
        s_{i,k} &\leftarrow \text{train}(\text{configs}_i, b_k) \quad \text{for } i \in S_k
            \text{ (in increasing } i\text{)} \\
        S_{k+1} &\leftarrow \text{the } n_{k+1} \text{ members of } S_k \text{ with the lowest } s_{i,k}

    Ranking uses the key (NaN, score, index): lower scores first, a NaN score (a diverged run) after every
    number, equal scores in the order of ``configs``. Each call of ``train`` starts from scratch
    with the given budget (no checkpoint is resumed). The total budget is :math:`\sum_k n_k b_k`, which
    is :math:`(K + 1)\, n\, b_0` when :math:`n = r^K`, instead of :math:`n\, b_K` for training every
    configuration with the largest budget.

    Args:
        train: callable ``(params, budget) -> score`` taking a copy of one configuration (a dict)
            and a budget (e.g. a number of epochs), returning a real number, *lower is better*.
        configs: a non-empty list of dicts ``{name: value}`` (e.g. drawn by a random search).
        min_budget: :math:`b_0 > 0`, the budget of rung 0.
        max_budget: :math:`B \ge b_0`, no rung's budget exceeds it.
        reduction_factor: :math:`r`, an integer >= 2: each rung keeps :math:`1/r` of the
            configurations and multiplies the budget by :math:`r`.

    Returns:
        A list of ``len(configs)`` dicts ``{"params": {name: value}, "budget": b, "score": float}``,
        one per configuration, with the largest budget it was trained with and its score there;
        sorted by that budget, largest first, then as in the ranking above (best first). The first
        trial is the winner.

    Example:
        >>> configs = [{"x": x} for x in (0.9, 0.1, 0.5, 0.3, 0.7, 0.2, 0.8, 0.6, 0.4)]
        >>> trials = successive_halving(lambda p, budget: abs(p["x"] - 0.27) + 1 / budget, configs, 1, 9)
        >>> [(t["params"]["x"], t["budget"]) for t in trials[:4]]
        [(0.3, 9), (0.2, 3), (0.4, 3), (0.1, 1)]

    References:
        Jamieson & Talwalkar, "Non-stochastic best arm identification and hyperparameter optimization",
        AISTATS 2016; Li et al., "Hyperband", JMLR 2018 (Algorithm 1, inner loop).
    """
    if not callable(train):
        raise TypeError("train must be callable: (params dict, budget) -> score")
    if isinstance(configs, (str, bytes, Mapping)) or not hasattr(configs, "__iter__"):
        raise TypeError(f"configs must be a list of dicts, got {type(configs).__name__}")
    configs = list(configs)
    if not configs:
        raise ValueError("configs must contain at least one configuration")
    for index, config in enumerate(configs):
        if not isinstance(config, Mapping):
            raise TypeError(f"configs[{index}] must be a dict name -> value, got {type(config).__name__}")
    rungs = rung_schedule(len(configs), min_budget, max_budget, reduction_factor)

    def rank(result):
        index, score = result
        return (math.isnan(score), score, index)

    latest = {}
    survivors = list(range(len(configs)))
    for rung, (_, budget) in enumerate(rungs):
        results = []
        for index in survivors:
            score = _score(lambda params: train(params, budget), configs[index])
            latest[index] = (rung, budget, score)
            results.append((index, score))
        if rung + 1 < len(rungs):
            keep = rungs[rung + 1][0]
            survivors = sorted(index for index, _ in sorted(results, key=rank)[:keep])
    order = sorted(latest, key=lambda index: (-latest[index][0],) + rank((index, latest[index][2])))
    return [{"params": dict(configs[index]), "budget": latest[index][1], "score": latest[index][2]} for index in order]


def tune_hyperparameters(objective, budget, rng):
    r"""Find a good ``learning_rate`` and ``weight_decay`` with at most ``budget`` calls of ``objective``.

    The search space is :math:`\eta \in [10^{-5}, 1]`, :math:`\lambda \in [10^{-6}, 10^{-1}]`, searched in
    the exponents :math:`x = (\log_{10} \eta, \log_{10} \lambda)` (``TUNING_SPACE``), where a box
    :math:`[\ell, h]` of exponents is a box of ratios. Coarse to fine, with :math:`T` = ``budget``:

    .. math::

        x_t &\sim \mathcal U[\ell, h] \quad (t = 1, \dots, \lceil T/2 \rceil)
            \qquad \text{(log-uniform random search)} \\
        r_t &= \tfrac{h - \ell}{4} \cdot 8^{-(t - \lceil T/2 \rceil) / (T - \lceil T/2 \rceil)}, \qquad
        x_t \sim \mathcal U\bigl[\max(\ell, \hat x - r_t), \min(h, \hat x + r_t)\bigr]
            \quad (t > \lceil T/2 \rceil)

    where :math:`\hat x` is the best point so far (lowest loss; NaN counts as the worst). The box
    around the best shrinks from a quarter of the range to a 32nd.

    Args:
        objective: callable ``config -> loss`` taking a dict ``{"learning_rate": float, "weight_decay":
            float}`` and returning the validation loss (lower is better; ``inf`` or NaN for a diverged run).
        budget: the largest number of calls of ``objective``, an integer >= 1.
        rng: a ``numpy.random.Generator``, the only source of randomness.

    Returns:
        The best configuration evaluated, ``{"learning_rate": float, "weight_decay": float}``.

    Example:
        >>> import math
        >>> import numpy as np
        >>> def loss(config):  # best at learning_rate 1e-3, weight_decay 1e-4
        ...     return (math.log10(config["learning_rate"]) + 3) ** 2 + 0.1 * (math.log10(config["weight_decay"]) + 4) ** 2
        >>> best = tune_hyperparameters(loss, 40, np.random.default_rng(0))
        >>> bool(loss(best) < 0.05), sorted(best)
        (True, ['learning_rate', 'weight_decay'])

    References:
        Bergstra & Bengio, "Random search for hyper-parameter optimization", JMLR 2012; cs231n notes,
        "Hyperparameter optimization" (coarse to fine, on a log scale).
    """
    if not callable(objective):
        raise TypeError("objective must be callable: config dict -> loss")
    budget = positive_int(budget, "budget")
    _check_rng(rng)
    names = list(TUNING_SPACE)
    low = np.array([TUNING_SPACE[name][0] for name in names])
    high = np.array([TUNING_SPACE[name][1] for name in names])
    best_exponents, best_loss = None, math.nan

    def evaluate(exponents):
        nonlocal best_exponents, best_loss
        loss = _score(objective, {name: float(10.0 ** e) for name, e in zip(names, exponents)})
        if best_exponents is None or (not math.isnan(loss) and not loss >= best_loss):
            best_exponents, best_loss = exponents, loss

    explore = (budget + 1) // 2
    for _ in range(explore):
        evaluate(rng.uniform(low, high))
    refine = budget - explore
    for t in range(1, refine + 1):
        radius = (high - low) / 4 * 8.0 ** (-t / refine)
        evaluate(rng.uniform(np.maximum(low, best_exponents - radius), np.minimum(high, best_exponents + radius)))
    return {name: float(10.0 ** e) for name, e in zip(names, best_exponents)}
