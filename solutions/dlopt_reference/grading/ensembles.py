"""Graders for chapter 8, model ensembles and parameter averaging.

Predictions come as lists, tuples or stacked arrays of class-probability arrays (rows sum to 1),
with the number of models, examples and classes all different so that a mean over the wrong axis
shows. Parameter histories and averages are arrays of several shapes.
"""

from __future__ import annotations

import numpy as np

from .. import ensembles as _reference
from ._common_checks import Case, Mistake, check_cases, compare_values

__all__ = ["check_ensemble_predict", "check_polyak_average", "check_ema_update", "MISTAKES"]

_RTOL, _ATOL = 1e-6, 1e-10


def _compare(expected, got):
    return compare_values(expected, got, rtol=_RTOL, atol=_ATOL)


def _stack(items):
    return np.stack([np.asarray(item, dtype=float) for item in items])


def _softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


# --------------------------------------------------------------------------------------------
# ensemble_predict
# --------------------------------------------------------------------------------------------

def _votes(probs):
    stacked = _stack(probs)
    winners = stacked.argmax(axis=-1)
    one_hot = np.eye(stacked.shape[-1])[winners]
    return one_hot.mean(axis=0)


def _geometric(probs):
    stacked = _stack(probs)
    g = np.exp(np.log(stacked).mean(axis=0))
    return g / g.sum(axis=-1, keepdims=True)


_MODEL_DROPPED = ("a model is left out of the sum (e.g. sum(probs[1:]), or a loop over range(1, M)) but the sum is "
                  "divided by the number of models M: add every model")

ENSEMBLE_MISTAKES = [
    Mistake("mean over the wrong axis: average over the models (axis 0 of the stack), not over the classes",
            lambda probs: _stack(probs).mean(axis=-1)),
    Mistake("mean over the wrong axis: average over the models (axis 0 of the stack), not over the examples",
            lambda probs: _stack(probs).mean(axis=1)),
    Mistake("majority vote (fraction of models voting for each class) instead of the mean of the probabilities",
            _votes),
    Mistake("majority vote: the predicted labels of a vote instead of the mean class probabilities",
            lambda probs: _votes(probs).argmax(axis=-1)),
    Mistake("argmax of the mean: return the averaged probabilities, not the labels",
            lambda probs: _stack(probs).mean(axis=0).argmax(axis=-1)),
    Mistake("sum instead of mean over the models", lambda probs: _stack(probs).sum(axis=0)),
    Mistake("geometric mean (renormalised) instead of the arithmetic mean of the probabilities", _geometric),
    Mistake("product of the probabilities instead of their mean", lambda probs: _stack(probs).prod(axis=0)),
    Mistake("a single number: np.mean without axis averages everything", lambda probs: _stack(probs).mean()),
    Mistake("only the first model's probabilities are returned", lambda probs: _stack(probs)[0]),
    Mistake("only the last model's probabilities are returned", lambda probs: _stack(probs)[-1]),
    Mistake("divided by the number of classes instead of the number of models",
            lambda probs: _stack(probs).sum(axis=0) / _stack(probs).shape[-1]),
    Mistake("maximum over the models instead of the mean", lambda probs: _stack(probs).max(axis=0)),
    Mistake("median over the models instead of the mean", lambda probs: np.median(_stack(probs), axis=0)),
    Mistake("divided by the number of examples instead of the number of models",
            lambda probs: _stack(probs).sum(axis=0) / _stack(probs).shape[1]),
    Mistake("geometric mean without renormalising (exp(mean(log p)) does not sum to 1 over the classes) instead "
            "of the arithmetic mean of the probabilities", lambda probs: np.exp(np.log(_stack(probs)).mean(axis=0))),
    Mistake(_MODEL_DROPPED, lambda probs: _stack(probs)[1:].sum(axis=0) / len(_stack(probs))),
    Mistake(_MODEL_DROPPED, lambda probs: _stack(probs)[:-1].sum(axis=0) / len(_stack(probs))),
]


def _ensemble_case(seed, K, N, C, *, container="list"):
    def make():
        rng = np.random.default_rng(seed)
        models = [_softmax(rng.normal(scale=2.0, size=(N, C))) for _ in range(K)]
        probs = {"list": models, "tuple": tuple(models), "array": np.stack(models)}[container]
        return (probs,), {}

    return Case(make, f"{K} models, {N} examples, {C} classes, given as a {container}")


def _ensemble_cases():
    cases = [_ensemble_case(seed, K, N, C) for seed, (K, N, C) in enumerate(
        [(3, 5, 4), (2, 7, 3), (5, 4, 6), (4, 1, 3), (7, 3, 2)])]
    cases.append(_ensemble_case(10, 3, 6, 5, container="array"))
    cases.append(_ensemble_case(11, 4, 5, 3, container="tuple"))
    cases.append(_ensemble_case(12, 1, 4, 3))
    return cases


def check_ensemble_predict(ensemble_predict) -> None:
    """Grade ``ensemble_predict(probs)``: the mean of the models' class probabilities."""
    check_cases("ensemble_predict", ensemble_predict, _reference.ensemble_predict, _ensemble_cases(),
                ENSEMBLE_MISTAKES, compare=_compare, input_names=("probs",))


# --------------------------------------------------------------------------------------------
# polyak_average
# --------------------------------------------------------------------------------------------

def _ema_of_history(history, decay=0.9, start="first"):
    stacked = _stack(history)
    average = stacked[0] if start == "first" else np.zeros_like(stacked[0])
    for params in (stacked[1:] if start == "first" else stacked):
        average = decay * average + (1 - decay) * params
    return average


_EMA_INSTEAD = "an exponential moving average instead of the plain (uniform) average"


def _fits_some_ema(args, kwargs, got) -> bool:
    """Whether ``got`` is an exponential moving average of the history for *some* decay (fitted)."""
    from scipy.optimize import minimize_scalar

    history = _stack(args[0])
    got = np.asarray(got, dtype=float)
    if len(history) < 3 or got.shape != history.shape[1:]:
        return False
    for start in ("first", "zeros"):
        def residual(decay):
            return float(np.sum((_ema_of_history(history, decay, start) - got) ** 2))

        grid = np.linspace(0.0, 1.0, 201)
        best = grid[int(np.argmin([residual(d) for d in grid]))]
        fitted = minimize_scalar(residual, bounds=(max(best - 0.005, 0.0), min(best + 0.005, 1.0)), method="bounded",
                                 options={"xatol": 1e-13})
        decay = float(fitted.x)
        if 0.0 < decay < 1.0 and _compare(_ema_of_history(history, decay, start), got) is None:
            return True
    return False


POLYAK_MISTAKES = [
    Mistake("mean over the wrong axis: average over the history (axis 0), not within each parameter array",
            lambda history: _stack(history).mean(axis=-1)),
    Mistake("a single number: np.mean without axis averages everything", lambda history: _stack(history).mean()),
    Mistake("only the last parameters are returned (that is the final iterate, not the Polyak average)",
            lambda history: _stack(history)[-1]),
    Mistake("only the first parameters are returned", lambda history: _stack(history)[0]),
    Mistake("sum instead of mean over the history", lambda history: _stack(history).sum(axis=0)),
    Mistake("the first entry of the history is left out of the average", lambda history: _stack(history)[1:].mean(axis=0)),
    Mistake("the last entry of the history is left out of the average", lambda history: _stack(history)[:-1].mean(axis=0)),
    Mistake("divided by len(history) + 1 instead of len(history)",
            lambda history: _stack(history).sum(axis=0) / (len(_stack(history)) + 1)),
    Mistake("divided by len(history) - 1 instead of len(history)",
            lambda history: _stack(history).sum(axis=0) / (len(_stack(history)) - 1)),
    Mistake(_EMA_INSTEAD, _ema_of_history),
    Mistake("median instead of mean over the history", lambda history: np.median(_stack(history), axis=0)),
    Mistake(_EMA_INSTEAD, lambda history: _ema_of_history(history, 0.5)),
    Mistake(_EMA_INSTEAD, lambda history: _ema_of_history(history, 0.999)),
    Mistake(_EMA_INSTEAD, lambda history: _ema_of_history(history, 0.999, "zeros")),
    Mistake(_EMA_INSTEAD, lambda history: _ema_of_history(history, 0.5, "zeros")),
    Mistake(_EMA_INSTEAD, detector=_fits_some_ema),
]


def _history_case(seed, T, shape, *, container="list"):
    def make():
        rng = np.random.default_rng(seed)
        history = [rng.normal(size=shape) + 0.1 * t for t in range(T)]
        value = {"list": history, "tuple": tuple(history), "array": np.stack(history)}[container]
        return (value,), {}

    return Case(make, f"history of {T} parameter arrays of shape {shape}, given as a {container}")


def _polyak_cases():
    cases = [_history_case(seed, T, shape) for seed, (T, shape) in enumerate(
        [(5, (3,)), (2, (4, 3)), (10, (2,)), (3, (2, 3, 4)), (7, (6,))])]
    cases.append(_history_case(20, 4, (5,), container="array"))
    cases.append(_history_case(21, 3, (3, 2), container="tuple"))
    cases.append(_history_case(22, 1, (4,)))
    return cases


def check_polyak_average(polyak_average) -> None:
    """Grade ``polyak_average(params_history)``: the uniform average of the iterates."""
    check_cases("polyak_average", polyak_average, _reference.polyak_average, _polyak_cases(), POLYAK_MISTAKES,
                compare=_compare, input_names=("params_history",))


# --------------------------------------------------------------------------------------------
# ema_update
# --------------------------------------------------------------------------------------------

def _ema(formula, default=0.999):
    def ema_update(average, params, decay=default):
        return formula(np.asarray(average, dtype=float), np.asarray(params, dtype=float), decay)

    return ema_update


EMA_MISTAKES = [
    Mistake("decay weights swapped: new = decay * average + (1 - decay) * params",
            _ema(lambda a, p, d: (1 - d) * a + d * p)),
    Mistake("wrong default for decay (the default is 0.999)", _ema(lambda a, p, d: d * a + (1 - d) * p, default=0.99)),
    Mistake("wrong default for decay (the default is 0.999)", _ema(lambda a, p, d: d * a + (1 - d) * p, default=0.9)),
    Mistake("(1 - decay) missing: new = decay * average + params", _ema(lambda a, p, d: d * a + p)),
    Mistake("decay applied to both terms: new = decay * (average + params)", _ema(lambda a, p, d: d * (a + p))),
    Mistake("(1 - decay) applied to both terms", _ema(lambda a, p, d: (1 - d) * (a + p))),
    Mistake("the old average is ignored", _ema(lambda a, p, d: (1 - d) * p)),
    Mistake("params returned unchanged (the average must move only a fraction 1 - decay towards them)",
            _ema(lambda a, p, d: p.copy())),
    Mistake("the average returned unchanged", _ema(lambda a, p, d: a.copy())),
    Mistake("plain mean of the average and the parameters", _ema(lambda a, p, d: 0.5 * (a + p))),
    Mistake("sign error: new = average - (1 - decay) * (params - average)", _ema(lambda a, p, d: a - (1 - d) * (p - a))),
    Mistake("a bias correction inside the update (the result divided by 1 - decay): ema_update returns the plain "
            "decay * average + (1 - decay) * params; a bias correction is not part of this update",
            _ema(lambda a, p, d: (d * a + (1 - d) * p) / (1 - d) if d != 1 else a)),
    Mistake("the factors misplaced: (1 - decay) * average + params; the update is "
            "decay * average + (1 - decay) * params", _ema(lambda a, p, d: (1 - d) * a + p)),
]


def _ema_case(seed, shape, decay):
    def make():
        rng = np.random.default_rng(seed)
        average = rng.normal(size=shape)
        params = average + rng.normal(size=shape)
        return ((average, params) if decay is None else (average, params, decay)), {}

    note = f"shape {shape}, " + ("decay left at its default" if decay is None else f"decay={decay}")
    return Case(make, note)


def _ema_cases():
    cases = [_ema_case(seed, shape, decay) for seed, (shape, decay) in enumerate(
        [((3,), 0.9), ((4, 2), 0.5), ((5,), 0.99), ((2, 3, 2), 0.75), ((6,), 0.0)])]
    cases += [_ema_case(30 + seed, shape, None) for seed, shape in enumerate([(4,), (3, 3)])]
    return cases


def check_ema_update(ema_update) -> None:
    """Grade ``ema_update(average, params, decay=0.999) -> new_average``."""
    check_cases("ema_update", ema_update, _reference.ema_update, _ema_cases(), EMA_MISTAKES,
                compare=_compare, input_names=("average", "params"))


MISTAKES = {
    "ensemble_predict": ENSEMBLE_MISTAKES,
    "polyak_average": POLYAK_MISTAKES,
    "ema_update": EMA_MISTAKES,
}
