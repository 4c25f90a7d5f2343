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
    if not isinstance(config, dict) or config.get("learning_rate", 1e-2) != 1e-2:
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
    X_before = X.copy()
    batches = as_list("minibatches", call("minibatches", minibatches, X, y, 3, np.random.default_rng(0)))
    unchanged("minibatches", "X", X_before, X)
    unchanged("minibatches", "y", np.arange(10), y)
    seen = np.concatenate([yb for _, yb in batches])
    if sorted(seen.tolist()) != list(range(10)):
        fail(f"with an rng every example must appear exactly once per epoch, got {seen.tolist()}",
             "shuffle the indices with rng.permutation(N), then slice them")
    if np.array_equal(seen, y):
        fail("with an rng the examples should be shuffled, but they came in their stored order",
             "use order = rng.permutation(N)")
    if not all(np.array_equal(Xb[:, 0], yb) for Xb, yb in batches):
        fail("X_batch and y_batch must hold the same examples", "index X and y with the same indices")
    # The order is the given generator's own permutation: a fresh default_rng(0) makes the same draw.
    order = np.random.default_rng(0).permutation(10)
    if not np.array_equal(seen, order):
        fail(f"minibatches(..., rng=default_rng(0)): the examples should come in the order "
             f"default_rng(0).permutation(10) = {order.tolist()}, got {seen.tolist()}",
             "make one call order = rng.permutation(N) with the rng you were given (no other generator, "
             "no other random call), then slice order")
    return "batch sizes, order without rng, the order of rng.permutation(N) with an rng"


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

    # Rates 4/3, 2, 3, 9/2, 27/4, 81/8 (ratio 3/2): w <- (1 - rate) w takes w = 1 to -1/3, 1/3, -2/3, 7/3, so
    # the losses are 1/2, 1/18, 1/18, 2/9, 49/18. The last is 49 times the smallest so far (> 16, the
    # divergence factor): the test records it and stops, before the sixth rate. (2/9 is 4 times the
    # smallest and 49/18 is 12.25 times the previous loss and 5.4 times the first: neither stops.)
    result = call("lr_range_test", lr_range_test, half_square, np.array([1.0]), min_lr=4 / 3, max_lr=81 / 8,
                  num_steps=6, divergence_factor=16.0)
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        fail("lr_range_test must return a pair (learning_rates, losses)")
    rates, losses = (np.asarray(r, dtype=float) for r in result)
    called = "lr_range_test(f(w) = w^2/2, w = [1], min_lr=4/3, max_lr=81/8, num_steps=6, divergence_factor=16)"
    expect_close("lr_range_test", f"{called}: the losses 1/2, 1/18, 1/18, 2/9, 49/18, stopping after 49/18 "
                 "(49 times the smallest loss so far)", [1 / 2, 1 / 18, 1 / 18, 2 / 9, 49 / 18], losses,
                 [([1 / 2, 1 / 18, 1 / 18, 2 / 9, 49 / 18, 25921 / 288],
                   "stop once loss > divergence_factor * (the smallest loss so far), the smallest, not the first "
                   "or the previous loss"),
                  ([1 / 2, 1 / 18, 1 / 18, 2 / 9], "record the diverging loss (and its rate) first, then stop")],
                 "stop once loss > divergence_factor * (the smallest loss so far), after recording that loss")
    expect_close("lr_range_test", f"{called}: the rates of the recorded steps", [4 / 3, 2, 3, 9 / 2, 27 / 4], rates,
                 hint="one rate per recorded loss: both lists stop at the same step")
    return "geometric rates, losses before each step, the early stop on divergence"


# --------------------------------------------------------------------------------------------
# choose_learning_rate, judged by what it does (the outcome tasks of chapters 1-3 share these helpers)


def as_real(name: str, what: str, value) -> float:
    """``value`` as a finite float, or a failure saying what came back."""
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        fail(f"{name}: the {what} should be one real number, got {short(value)}")
    number = float(value)
    if not np.isfinite(number):
        fail(f"{name}: the {what} is {number}", "return a finite number")
    return number


def as_rate_and_momentum(name: str, answer) -> tuple[float, float]:
    """A ``(learning_rate, momentum)`` pair with a positive rate and a momentum in [0, 1)."""
    if isinstance(answer, (str, bytes, dict)) or not hasattr(answer, "__len__") or len(answer) != 2:
        fail(f"{name} should return a pair (learning_rate, momentum), got {short(answer)}")
    rate, momentum = as_real(name, "learning rate", answer[0]), as_real(name, "momentum", answer[1])
    if rate <= 0:
        fail(f"{name}: the learning rate {rate:.4g} is not positive", "a step goes against the gradient: rate > 0")
    if not 0 <= momentum < 1:
        fail(f"{name}: the momentum {momentum:.4g} is outside [0, 1)", "with momentum >= 1 the velocity never decays")
    return rate, momentum


def run_to_tolerance(step, w0, minimizer, budget: int, tolerance: float) -> tuple[str, int, float]:
    """Iterate ``w, state = step(w, state)`` from ``w0`` (state None) for at most ``budget`` steps.

    Returns ``("converged", step, error)`` once ``||w - w*|| <= tolerance ||w0 - w*||``, ``("diverged", step,
    error)`` once the error exceeds a million times its start, else ``("slow", budget, error)``; errors are relative.
    """
    start = float(np.linalg.norm(w0 - minimizer))
    w, state, error = np.array(w0, dtype=float), None, 1.0
    with np.errstate(all="ignore"):
        for number in range(1, budget + 1):
            w, state = step(w, state)
            error = float(np.linalg.norm(w - minimizer)) / start
            if not error <= 1e6:
                return "diverged", number, error
            if error <= tolerance:
                return "converged", number, error
    return "slow", budget, error


def _gd_budget(kappa: float, tolerance: float) -> int:
    # 1.5 times the worst-case steps of the fastest fixed rate, whose contraction per step is (kappa-1)/(kappa+1)
    return int(np.ceil(1.5 * np.log(1 / tolerance) / np.log((kappa + 1) / (kappa - 1))))


@register("choose_learning_rate")
def check_choose_learning_rate(choose_learning_rate):
    from dlopt.problems import Quadratic

    tolerance = 1e-6
    solved = []
    for kappa, dim, smoothness, seed in ((1.2, 3, 5.0, 7), (50.0, 10, 0.2, 8)):
        quadratic = Quadratic.with_condition_number(kappa, dim=dim, smoothness=smoothness, seed=seed)
        hessian = quadratic.hessian()
        rate = as_real("choose_learning_rate", "learning rate",
                       call("choose_learning_rate", choose_learning_rate, hessian.copy()))
        where = f"on a quadratic with L = {smoothness:g} and condition number {kappa:g} (dimension {dim})"
        if rate <= 0:
            fail(f"choose_learning_rate returned {rate:.4g} {where}", "a learning rate is positive")
        budget = _gd_budget(kappa, tolerance)
        w0 = quadratic.minimizer + np.linspace(-2.0, 3.0, dim)
        outcome, step, error = run_to_tolerance(lambda w, _: (w - rate * quadratic.grad(w), None), w0,
                                                quadratic.minimizer, budget, tolerance)
        if outcome == "diverged" or (outcome == "slow" and rate * smoothness >= 2):
            fail(f"gradient descent with your learning rate {rate:.4g} diverges {where}",
                 "along the eigenvector of the largest eigenvalue L the error is multiplied by 1 - rate * L at "
                 "every step: how large may the rate be? (np.linalg.eigvalsh gives the eigenvalues)")
        if outcome == "slow":
            fail(f"gradient descent with your learning rate {rate:.4g} is too slow {where}: after {budget} steps "
                 f"the error is still {error:.2g} of its start (needed {tolerance:g})",
                 "every eigen-direction contracts by |1 - rate * lambda_i| per step and the slowest one sets the "
                 "speed: choose the rate that makes the worst of these factors as small as possible (the "
                 "chapter's theorem on gradient descent on a quadratic)")
        solved.append(f"kappa = {kappa:g} in {step} of {budget} steps")
    return "gradient descent with your rate converged " + ", ".join(solved)
