"""Visible checks of exercise 1: sgd, minibatches, lr_range_test (values computed by hand)."""

from __future__ import annotations

import numpy as np

from ._framework import call, expect_close, fail, register, short, unchanged


def as_list(name, batches):
    try:
        return list(batches)
    except TypeError:
        fail(f"{name} must return a list of (X_batch, y_batch) pairs, got {short(batches)}")


@register("sgd")
def check_sgd(sgd):
    w, dw = np.array([1.0, -2.0, 3.0]), np.array([0.5, 0.5, -1.0])
    w_before, dw_before = w.copy(), dw.copy()
    result = call("sgd", sgd, w, dw, {"learning_rate": 0.1})
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        fail(f"sgd must return a pair (next_w, config), got {type(result).__name__}")
    next_w, config = result
    unchanged("sgd", "w", w_before, w)
    unchanged("sgd", "dw", dw_before, dw)
    expect_close("sgd", "sgd(w=[1, -2, 3], dw=[0.5, 0.5, -1], learning_rate=0.1) should be w - 0.1*dw",
                 [0.95, -2.05, 3.1], next_w,
                 hint="the step goes against the gradient: next_w = w - learning_rate * dw")
    next_w, config = call("sgd", sgd, w, dw)
    if not isinstance(config, dict) or config.get("learning_rate") != 1e-2:
        fail(f"sgd(w, dw) with no config: the returned config should hold learning_rate 0.01, got {config!r}",
             "start with config = {} when config is None, then config.setdefault('learning_rate', 1e-2)")
    expect_close("sgd", "sgd(w, dw) with the default learning rate 0.01", [0.995, -2.005, 3.01], next_w)
    return "one step by hand, the default learning rate, inputs untouched"


@register("minibatches")
def check_minibatches(minibatches):
    X, y = np.arange(10.0).reshape(10, 1), np.arange(10)
    batches = as_list("minibatches", call("minibatches", minibatches, X, y, 4))
    sizes = [len(yb) for _, yb in batches]
    if sizes != [4, 4, 2]:
        fail(f"minibatches(10 examples, batch_size=4): expected batch sizes [4, 4, 2], got {sizes}",
             "the last batch holds the remaining examples; do not drop it")
    if not np.array_equal(np.concatenate([yb for _, yb in batches]), y):
        fail("minibatches(..., rng=None) must keep the examples in their order",
             "shuffle only when an rng is given")
    batches = as_list("minibatches", call("minibatches", minibatches, X, y, 3, np.random.default_rng(0)))
    seen = np.concatenate([yb for _, yb in batches])
    if sorted(seen.tolist()) != list(range(10)):
        fail(f"with an rng every example must appear exactly once per epoch, got {seen.tolist()}",
             "shuffle the indices with rng.permutation(N), then slice them")
    if np.array_equal(seen, y):
        fail("with an rng the examples should be shuffled, but they came in their stored order",
             "use order = rng.permutation(N)")
    if not all(np.array_equal(Xb[:, 0], yb) for Xb, yb in batches):
        fail("X_batch and y_batch must hold the same examples", "index X and y with the same indices")
    return "batch sizes, order without rng, every example once with rng"


@register("lr_range_test")
def check_lr_range_test(lr_range_test):
    def half_square(w):  # f(w) = w^2 / 2, gradient w
        return 0.5 * float(w @ w), w.copy()

    w0 = np.array([1.0])
    result = call("lr_range_test", lr_range_test, half_square, w0, min_lr=1e-3, max_lr=10.0, num_steps=5)
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        fail("lr_range_test must return a pair (learning_rates, losses)")
    rates, losses = (np.asarray(r, dtype=float) for r in result)
    unchanged("lr_range_test", "w", np.array([1.0]), w0)
    if len(rates) != len(losses):
        fail(f"learning_rates and losses must have the same length, got {len(rates)} and {len(losses)}")
    if len(rates) < 3:
        fail(f"on f(w) = w^2/2 from w = 1 the test should record at least 3 steps, got {len(rates)}")
    expect_close("lr_range_test", "the first three learning rates of geomspace(1e-3, 10, 5)", [1e-3, 1e-2, 1e-1],
                 rates[:3], hint="the rates grow geometrically: np.geomspace(min_lr, max_lr, num_steps)")
    expect_close("lr_range_test", "the first two losses: f(w0) = 0.5, then after one step with rate 1e-3",
                 [0.5, 0.5 * (1 - 1e-3) ** 2], losses[:2],
                 hint="record the loss at the current w, then take the step w - rate * dw")
    return "geometric rates, losses before each step"
