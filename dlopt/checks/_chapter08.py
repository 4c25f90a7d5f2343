"""Visible checks of exercise 8: ensemble_predict, polyak_average, ema_update (values computed by hand).

A wrong answer is compared with what the usual mistakes give on the same small inputs (worked out by
hand as well), so that the message can name the likely mistake.
"""

from __future__ import annotations

import numpy as np

from ._framework import call, expect_close, fail, likely_mistake, register, short, unchanged


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


# --------------------------------------------------------------------------------------------
# select_ensemble (an outcome task): the chosen ensemble must beat, on held-out data the function
# never sees, both the best single model on validation and the average of all models.
# --------------------------------------------------------------------------------------------

#: How much lower the ensemble's held-out log loss must be than each baseline's (nats).
MIN_GAIN = 0.005


def _log_loss(probs, labels):
    """Mean negative log-probability of the true labels (floored at 1e-15)."""
    return float(-np.mean(np.log(np.maximum(probs[np.arange(len(labels)), labels], 1e-15))))


def _softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _visible_pool(seed, n_val, n_test, size):
    """A pool of 10 models of 4 classes: 3 good ones that make nearly the same errors, 3 good ones with their
    own errors, 4 overconfident bad ones; probabilities on validation and on held-out test data."""
    rng = np.random.default_rng(seed)
    C = 4
    specs = ([(2.6, "cluster", 0.9, 1.0)] * 3 + [(2.4, f"own {i}", 0.0, 1.0) for i in range(3)]
             + [(0.5, f"bad {i}", 0.0, 4.0) for i in range(4)])
    specs = [specs[i] for i in rng.permutation(len(specs))]

    def draw(n):
        labels = rng.integers(0, C, size=n)
        shared, probs = {}, []
        for signal, group, rho, temperature in specs:
            if group not in shared:
                shared[group] = rng.normal(size=(n, C))
            noise = np.sqrt(rho) * shared[group] + np.sqrt(1 - rho) * rng.normal(size=(n, C))
            probs.append(_softmax(temperature * (signal * np.eye(C)[labels] + 1.5 * noise)))
        return np.stack(probs), labels

    val_probs, val_labels = draw(n_val)
    test_probs, test_labels = draw(n_test)
    return val_probs, val_labels, test_probs, test_labels, size


def _read_picks(result, M, size):
    name = "select_ensemble"
    if result is None or isinstance(result, (str, bytes, dict)):
        fail(f"{name} must return a list of model indices, got {short(result)}")
    try:
        items = list(np.asarray(result).ravel()) if isinstance(result, np.ndarray) else list(result)
    except TypeError:
        fail(f"{name} must return a list of model indices, got {short(result)}")
    if not items:
        fail(f"{name} returned no model", "an ensemble holds at least one model")
    if len(items) > size:
        fail(f"{name} returned {len(items)} picks with size={size}", "return at most size model indices")
    picks = []
    for item in items:
        try:
            value = float(item)
        except (TypeError, ValueError):
            fail(f"{name}: the picks must be integer model indices, got {short(item)}")
        if isinstance(item, (bool, np.bool_)) or not np.isfinite(value) or value != int(value) or not 0 <= value < M:
            fail(f"{name}: the picks must be integer model indices from 0 to {M - 1}, got {short(item)}")
        picks.append(int(value))
    return picks


def _counted(picks):
    """``[3, 1, 3]`` -> ``1, 3 (x2)``."""
    return ", ".join(f"{m}" + (f" (x{picks.count(m)})" if picks.count(m) > 1 else "") for m in sorted(set(picks)))


@register("select_ensemble")
def check_select_ensemble(select_ensemble):
    name = "select_ensemble"
    for seed, n_val, size in [(808, 400, 20), (809, 300, 6)]:
        val_probs, val_labels, test_probs, test_labels, size = _visible_pool(seed, n_val, 3000, size)
        M = len(val_probs)
        given = val_probs.copy()
        picks = _read_picks(call(name, select_ensemble, given, val_labels.copy(), size), M, size)
        if not np.array_equal(given, val_probs):
            fail(f"{name} modified val_probs in place", "work on copies of the models' probabilities")
        val_losses = np.array([_log_loss(p, val_labels) for p in val_probs])
        best = int(np.argmin(val_losses))
        ours = _log_loss(test_probs[picks].mean(axis=0), test_labels)
        baselines = {f"the best model on validation alone (model {best})": _log_loss(test_probs[best], test_labels),
                     f"the average of all {M} models": _log_loss(test_probs.mean(axis=0), test_labels)}
        not_beaten = [f"{what} ({loss:.3f})" for what, loss in baselines.items() if ours > loss - MIN_GAIN]
        if not not_beaten:
            continue
        weight_bad = np.mean([val_losses[m] > 2 * val_losses[best] for m in picks])
        if set(picks) == {best}:
            hint = "one model is not an ensemble: which models correct the errors of the best one?"
        elif weight_bad > 0:
            hint = (f"{weight_bad:.0%} of your ensemble's weight is on models whose validation log loss is more than "
                    f"twice model {best}'s: they are confidently wrong, and a confident mistake costs a lot of log "
                    "loss. Judge each addition by the validation loss of the whole ensemble")
        else:
            hint = ("models that make the same errors add little to each other: judge each addition by what it does "
                    "to the validation loss of the whole ensemble, and allow a model to be picked more than once")
        fail(f"{name} on a pool of {M} models (4 classes, {n_val} validation examples, size={size}): your ensemble "
             f"(models {_counted(picks)}) has held-out log loss {ours:.3f}; it must beat " + " and ".join(not_beaten)
             + f" by {MIN_GAIN} nats. On the validation data it has {_log_loss(val_probs[picks].mean(axis=0), val_labels):.3f}, "
             f"model {best} alone {val_losses[best]:.3f}", hint)
    return "on two pools of models the ensemble beats the best single model and the average of all, on held-out data"
