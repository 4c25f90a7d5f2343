"""Visible checks of exercise 8: ensemble_predict, polyak_average, ema_update (values computed by hand).

A wrong answer is compared with what the usual mistakes give on the same small inputs (worked out by
hand as well), so that the message can name the likely mistake.
"""

from __future__ import annotations

import numpy as np

from ._framework import call, expect_close, likely_mistake, register, unchanged


# --------------------------------------------------------------------------------------------
# ensemble_predict
# --------------------------------------------------------------------------------------------

P1 = [[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]]
P2 = [[0.5, 0.5], [0.4, 0.6], [0.1, 0.9]]
MEAN_P1_P2 = [[0.7, 0.3], [0.3, 0.7], [0.3, 0.7]]   # (P1 + P2) / 2, by hand
P3 = [[0.4, 0.6], [0.0, 1.0], [0.3, 0.7]]
MEAN_P1_P2_P3 = [[0.6, 0.4], [0.2, 0.8], [0.3, 0.7]]   # sums [[1.8, 1.2], [0.6, 2.4], [0.9, 2.1]] / 3, by hand

_ENSEMBLE_HINT = "average over the models only: for every example and class, (p_1 + ... + p_M) / M"


def _ensemble_mistakes(stack):
    """What the usual mistakes return for the models stacked as ``stack`` (shape (M, N, C))."""
    M, N, C = stack.shape
    votes = np.eye(C)[stack.argmax(axis=-1)].mean(axis=0)
    return [
        (stack.sum(axis=0), "sum instead of mean: divide the sum by the number of models M"),
        (stack.mean(axis=-1), "mean over the classes: average over the models (axis 0 of the stack) instead"),
        (stack.mean(axis=1), "mean over the examples: average over the models (axis 0 of the stack) instead"),
        (stack.mean(), "np.mean without an axis averages everything into one number: average over the models only"),
        (stack.mean(axis=0).argmax(axis=-1), "return the averaged probabilities, not the predicted labels (no argmax)"),
        (votes, "that is a majority vote: average the probabilities themselves, not the models' votes"),
        (stack.sum(axis=0) / C, "divided by the number of classes C: divide by the number of models M"),
        (stack.sum(axis=0) / N, "divided by the number of examples N: divide by the number of models M"),
        (stack[1:].sum(axis=0) / M, "the first model is left out of the sum: add every model"),
        (stack[:-1].sum(axis=0) / M, "the last model is left out of the sum: add every model"),
        (stack[0], "only the first model's probabilities come back: average all M models"),
        (stack[-1], "only the last model's probabilities come back: average all M models"),
        (stack.prod(axis=0), "product of the probabilities: take their (arithmetic) mean"),
        (stack.max(axis=0), "maximum over the models: take their mean"),
        (np.median(stack, axis=0), "median over the models: take their mean"),
    ]


def _expect_mean(ensemble_predict, probs, what, expected):
    copies = [np.array(p, dtype=float) for p in probs]
    got = call("ensemble_predict", ensemble_predict, probs)
    for before, after in zip(copies, probs):
        unchanged("ensemble_predict", "the models' probabilities", before, after)
    hint = likely_mistake(got, _ensemble_mistakes(np.stack([np.asarray(p, dtype=float) for p in probs])),
                          _ENSEMBLE_HINT)
    expect_close("ensemble_predict", what, expected, got, hint=hint)


@register("ensemble_predict")
def check_ensemble_predict(ensemble_predict):
    p1, p2 = np.array(P1), np.array(P2)
    _expect_mean(ensemble_predict, [p1, p2],
                 "ensemble_predict([p1, p2]) with p1 = [[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]] and "
                 "p2 = [[0.5, 0.5], [0.4, 0.6], [0.1, 0.9]] (2 models, 3 examples, 2 classes): (p1 + p2) / 2",
                 MEAN_P1_P2)

    stacked = np.stack([p1, p2, p2, p1])
    _expect_mean(ensemble_predict, stacked,
                 "ensemble_predict(np.stack([p1, p2, p2, p1])), an array of shape (M, N, C) = (4, 3, 2): "
                 "the same mean", MEAN_P1_P2)

    # A third model away from the other two, so that the mean of three differs from their median
    # (the median of 0.9, 0.5, 0.4 is 0.5; the mean is 1.8 / 3 = 0.6).
    p3 = np.array(P3)
    _expect_mean(ensemble_predict, (p1, p2, p3),
                 "ensemble_predict((p1, p2, p3)), a tuple of 3 models with p3 = [[0.4, 0.6], [0, 1], [0.3, 0.7]]: "
                 "(p1 + p2 + p3) / 3", MEAN_P1_P2_P3)

    _expect_mean(ensemble_predict, [p1], "ensemble_predict([p1]): an ensemble of one model predicts p1", P1)
    return "two models by hand, a stacked array, a tuple of three models, one model, inputs untouched"


# --------------------------------------------------------------------------------------------
# polyak_average
# --------------------------------------------------------------------------------------------

_POLYAK_HINT = "every iterate counts equally: (w_1 + ... + w_T) / T, averaged over the history (axis 0)"


def _polyak_mistakes(stack):
    """What the usual mistakes return for the iterates stacked as ``stack`` (shape (T, ...))."""
    T = len(stack)
    mistakes = [
        (stack.sum(axis=0), "sum instead of mean: divide the sum by the number of iterates T"),
        (stack.mean(axis=-1), "mean within each iterate: average over the history (axis 0) instead"),
        (stack.mean(), "np.mean without an axis averages everything into one number: average over the history only"),
        (stack[-1], "that is the last iterate, not the average of all of them"),
        (stack[0], "that is the first iterate, not the average of all of them"),
        (stack.sum(axis=0) / (T + 1), "divided by T + 1: divide by the number of iterates T"),
    ]
    if T > 1:
        mistakes += [
            (stack[1:].mean(axis=0), "the first iterate is left out: every iterate counts, the first included"),
            (stack[:-1].mean(axis=0), "the last iterate is left out: every iterate counts, the last included"),
            (stack.sum(axis=0) / (T - 1), "divided by T - 1: divide by the number of iterates T"),
            (np.median(stack, axis=0), "median instead of mean over the history"),
        ]
    return mistakes


def _expect_average(polyak_average, history, what, expected):
    copies = [np.array(w, dtype=float) for w in history]
    got = call("polyak_average", polyak_average, history)
    for before, after in zip(copies, history):
        unchanged("polyak_average", "the history", before, after)
    hint = likely_mistake(got, _polyak_mistakes(np.stack([np.asarray(w, dtype=float) for w in history])),
                          _POLYAK_HINT)
    expect_close("polyak_average", what, expected, got, hint=hint)


@register("polyak_average")
def check_polyak_average(polyak_average):
    _expect_average(polyak_average, [np.array([0.0, 2.0]), np.array([1.0, 4.0])],
                    "polyak_average([[0, 2], [1, 4]]): the mean of the two iterates", [0.5, 3.0])

    history = [np.full((2, 3), float(t)) for t in range(1, 5)]       # w_t = t everywhere, t = 1..4
    _expect_average(polyak_average, history,
                    "polyak_average of four (2, 3) matrices, w_t = t everywhere for t = 1..4: "
                    "(1 + 2 + 3 + 4) / 4 = 2.5 in every entry", np.full((2, 3), 2.5))

    stacked = np.stack(history)
    _expect_average(polyak_average, stacked,
                    "polyak_average of the same history stacked into one array of shape (T, 2, 3) = (4, 2, 3)",
                    np.full((2, 3), 2.5))

    # the median of 0, 3, 9 is 3, the mean 4
    _expect_average(polyak_average, (np.array([0.0, 3.0]), np.array([3.0, 0.0]), np.array([9.0, 6.0])),
                    "polyak_average(([0, 3], [3, 0], [9, 6])), a tuple of three iterates: [12, 9] / 3", [4.0, 3.0])

    _expect_average(polyak_average, [np.array([7.0, -1.0])],
                    "polyak_average([[7, -1]]): the average of one iterate is that iterate", [7.0, -1.0])
    return "averages by hand, matrices, a stacked array, a tuple, one iterate, the history untouched"


# --------------------------------------------------------------------------------------------
# ema_update
# --------------------------------------------------------------------------------------------

_EMA_HINT = "new average = decay * average + (1 - decay) * params"


def _ema_mistakes(average, params, decay):
    """What the usual mistakes return on these inputs."""
    a, p, d = np.asarray(average, dtype=float), np.asarray(params, dtype=float), decay
    mistakes = [
        ((1 - d) * a + d * p, "the weights are swapped: decay multiplies the average, (1 - decay) the params"),
        (d * a + p, "(1 - decay) is missing in front of params: new = decay * average + (1 - decay) * params"),
        (d * (a + p), "decay multiplies both terms: params are weighted by (1 - decay)"),
        ((1 - d) * (a + p), "(1 - decay) multiplies both terms: the average is weighted by decay"),
        ((1 - d) * p, "the old average is left out: new = decay * average + (1 - decay) * params"),
        (0.5 * (a + p), "a plain mean of the average and the params: weight them by decay and 1 - decay"),
        (a - (1 - d) * (p - a), "sign error: the average moves towards the params, a fraction (1 - decay) of the way"),
        ((1 - d) * a + p, "the factors are misplaced: new = decay * average + (1 - decay) * params"),
    ]
    if d != 1:
        mistakes.append(((d * a + (1 - d) * p) / (1 - d),
                         "divided by (1 - decay): the bias correction is not part of this update"))
    return mistakes


def _expect_ema(ema_update, average, params, decay, what, expected, hint=None):
    args = (average, params) if decay is None else (average, params, decay)
    got = call("ema_update", ema_update, *args)
    mistakes = _ema_mistakes(average, params, 0.999 if decay is None else decay)
    expect_close("ema_update", what, expected, got, hint=hint or likely_mistake(got, mistakes, _EMA_HINT))


@register("ema_update")
def check_ema_update(ema_update):
    average, params = np.array([1.0, -2.0]), np.array([3.0, 2.0])
    _expect_ema(ema_update, average, params, 0.75,
                "ema_update([1, -2], [3, 2], decay=0.75): 0.75 * [1, -2] + 0.25 * [3, 2]", [1.5, -1.0])
    unchanged("ema_update", "average", np.array([1.0, -2.0]), average)
    unchanged("ema_update", "params", np.array([3.0, 2.0]), params)

    default_mistakes = [
        ([0.01], "the default decay is 0.999, not 0.99 (the average moves 0.1% of the way)"),
        ([0.1], "the default decay is 0.999, not 0.9 (the average moves 0.1% of the way)"),
        ([0.999], "the weights are swapped: decay multiplies the average, (1 - decay) the params"),
    ]
    got = call("ema_update", ema_update, np.array([0.0]), np.array([1.0]))
    expect_close("ema_update", "ema_update([0], [1]) with the default decay 0.999: the average moves 0.1% of the way",
                 [0.001], got,
                 hint=likely_mistake(got, default_mistakes + _ema_mistakes([0.0], [1.0], 0.999), _EMA_HINT))

    average, params = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[5.0, 6.0], [7.0, 8.0]])
    _expect_ema(ema_update, average, params, 1.0,
                "ema_update(average, params, decay=1.0) on (2, 2) arrays: decay 1 leaves the average unchanged",
                [[1.0, 2.0], [3.0, 4.0]])
    _expect_ema(ema_update, average, params, 0.0,
                "ema_update(average, params, decay=0.0) on (2, 2) arrays: decay 0 returns (a copy of) params",
                [[5.0, 6.0], [7.0, 8.0]])
    unchanged("ema_update", "average", np.array([[1.0, 2.0], [3.0, 4.0]]), average)
    unchanged("ema_update", "params", np.array([[5.0, 6.0], [7.0, 8.0]]), params)
    return "one step by hand, the default decay, decays 1 and 0, inputs untouched"
