"""Visible checks of exercise 3: nesterov_lookahead, nesterov_momentum (values computed by hand).

Both forms on f(w) = w^2 (gradient 2w) from w = 1 with learning rate 0.1 and momentum 0.9: the
look-ahead form goes 1 -> 0.8 -> 0.496 with velocities -0.2, -0.304; the rewritten form stores the
look-ahead points w + mu*v: 1 -> 0.62 -> 0.2224, with the same velocities.
"""

from __future__ import annotations

import numpy as np

from ._update_rules import expect_defaults, state_unchanged, stored, take_step
from ._framework import call, expect_close, fail, register, short, unchanged

# The look-ahead points w + mu*v of the textbook form on f(w) = (w1^2 + 4 w2^2)/2 - w1 + 2 w2 (gradient
# [w1 - 1, 4 w2 + 2]) from w = [2, 1] with learning rate 0.2 and momentum 0.8, steps 1 to 6 (exact decimals).
LOOKAHEAD_POINTS = [
    [1.64, -1.16],
    [1.2816, -0.9776],
    [0.995904, -0.566336],
    [0.81387776, -0.44746496],
    [0.7346054144, -0.4704736256],
    [0.736950030336, -0.497776111616],
]


def quadratic_grad(x):
    return np.array([1.0, 4.0]) * x - np.array([1.0, -2.0])


# --------------------------------------------------------------------------------------------
# nesterov_lookahead: v = mu*v - lr*grad(w + mu*v); w = w + v


@register("nesterov_lookahead")
def check_nesterov_lookahead(nesterov_lookahead):
    name = "nesterov_lookahead"
    calls = []

    def grad_square(x):  # f(x) = x^2; records where it is called
        calls.append(np.array(x, dtype=float).copy())
        return 2 * np.asarray(x, dtype=float)

    def called_once(step):
        if len(calls) != 1:
            fail(f"{name}: grad_fn must be called exactly once per step, at step {step} it was called "
                 f"{len(calls)} times" + (f" (at {', '.join(short(c) for c in calls)})" if calls else ""),
                 "call grad_fn once, at the look-ahead point w + mu*v, and use that gradient")
        return calls.pop()

    w = np.array([1.0])
    call_text = "nesterov_lookahead(w=[1], grad_fn=x -> 2x, {learning_rate: 0.1, momentum: 0.9})"
    w1, config = take_step(name, nesterov_lookahead, w, grad_square, {"learning_rate": 0.1, "momentum": 0.9})
    unchanged(name, "w", np.array([1.0]), w)
    expect_close(name, f"{call_text}, first step: v = 0, so grad_fn is called at the look-ahead point w + mu*v = w",
           [1.0], called_once(1), hint="the velocity is zeros when config has none")
    velocity = stored(name, config, "velocity", "velocity v")
    expect_close(name, f"{call_text}, first step: the stored velocity v = 0.9*0 - 0.1*2*1", [-0.2], velocity, [
        ([0.2], "v points downhill: v = mu*v - lr*grad (minus the gradient), then w + v"),
        ([-0.02], "the velocity is 10x too small: is config['learning_rate'] used, and is there a stray "
                  "(1 - momentum) factor?"),
        ([-2.0], "the learning rate goes inside the velocity: v = mu*v - lr*grad"),
    ], hint="v = mu*v - lr*grad_fn(w + mu*v)")
    expect_close(name, f"{call_text}, first step: next_w = w + v", [0.8], w1, [
        ([1.2], "the velocity is added: w + v (with v = mu*v - lr*grad), not w - v"),
        ([0.62], "the look-ahead form updates next_w = w + v; w - mu*v_prev + (1 + mu)*v is the rewritten "
                 "form of part 2"),
        ([1.0], "update w with the NEW velocity: next_w = w + v"),
    ], hint="next_w = w + v")

    velocity_given = np.array(velocity, dtype=float).copy()
    w2, config = take_step(name, nesterov_lookahead, w1, grad_square, config)
    state_unchanged(name, "velocity", velocity_given, velocity, "v = mu*v_prev - lr*grad")
    expect_close(name, "second step, fed the returned config: grad_fn is called at the look-ahead point "
                 "w + mu*v = 0.8 + 0.9*(-0.2)", [0.62], called_once(2), [
               ([0.8], "the gradient is taken at the look-ahead point w + mu*v (with v = config['velocity'] from "
                       "the previous call), not at w: that would be plain momentum"),
               ([0.98], "the look-ahead point is w + mu*v, not w - mu*v"),
               ([0.6], "the look-ahead point is w + mu*v: multiply the velocity by mu"),
           ])
    expect_close(name, "second step: v = 0.9*(-0.2) - 0.1*2*0.62", [-0.304],
           stored(name, config, "velocity", "velocity v"), [
               ([-0.124], "start from the velocity stored in config by the previous call"),
           ])
    expect_close(name, "second step: next_w = w + v = 0.8 - 0.304", [0.496], w2)

    velocity_given = np.array([1.0])
    def grad_one(x):  # f(x) = x; records where it is called
        calls.append(np.array(x, dtype=float).copy())
        return np.ones_like(np.asarray(x, dtype=float))

    w1, config = take_step(name, nesterov_lookahead, np.array([0.0]), grad_one,
                           {"learning_rate": 0.1, "momentum": 0.5, "velocity": velocity_given})
    state_unchanged(name, "velocity", np.array([1.0]), velocity_given, "v = mu*v_prev - lr*grad")
    expect_close(name, "nesterov_lookahead(w=[0], grad_fn=x -> [1], {learning_rate: 0.1, momentum: 0.5, velocity: [1]}): "
                 "grad_fn is called at w + mu*v", [0.5], called_once(3), [
               ([0.9], "use config['momentum'], not a fixed 0.9"),
               ([0.0], "start from the velocity given in config['velocity'] (zeros only when it is absent)"),
           ])
    expect_close(name, "that step's velocity v = 0.5*1 - 0.1*1", [0.4], stored(name, config, "velocity", "velocity v"),
           [([0.8], "use config['momentum'], not a fixed 0.9")])
    expect_close(name, "that step's next_w = w + v", [0.4], w1)

    w1, config = take_step(name, nesterov_lookahead, np.zeros(3), lambda x: np.ones(3))
    expect_defaults(name, config, {"learning_rate": 1e-2, "momentum": 0.9})
    expect_close(name, "nesterov_lookahead(w=zeros(3), grad_fn=x -> ones) with the defaults (learning rate 0.01)",
           [-0.01, -0.01, -0.01], w1)
    return "two steps on w^2 by hand, where grad_fn is called, the state in config, the defaults, inputs untouched"


# --------------------------------------------------------------------------------------------
# nesterov_momentum: v = mu*v_prev - lr*dw; w = w - mu*v_prev + (1 + mu)*v


@register("nesterov_momentum")
def check_nesterov_momentum(nesterov_momentum):
    name = "nesterov_momentum"
    w, dw = np.array([1.0]), np.array([2.0])
    call_text = "nesterov_momentum(w=[1], dw=[2], {learning_rate: 0.1, momentum: 0.9})"
    velocity_mistakes = [
        ([0.2], "v points downhill: v = mu*v_prev - lr*dw, the same velocity as in part 1"),
        ([2.0], "this course keeps the learning rate inside the velocity (cs231n, Keras): v = mu*v_prev - lr*dw, "
                "not PyTorch's buffer mu*buf + dw"),
        ([-0.02], "the velocity is 10x too small: is config['learning_rate'] used, and is there a stray "
                  "(1 - momentum) factor?"),
    ]

    w1, config = take_step(name, nesterov_momentum, w, dw, {"learning_rate": 0.1, "momentum": 0.9})
    unchanged(name, "w", np.array([1.0]), w)
    unchanged(name, "dw", np.array([2.0]), dw)
    velocity = stored(name, config, "velocity", "velocity v")
    expect_close(name, f"{call_text}, first step: the stored velocity v = 0.9*0 - 0.1*2", [-0.2], velocity,
           velocity_mistakes, hint="v = mu*v_prev - lr*dw, with v_prev = 0 before the first step")
    expect_close(name, f"{call_text}, first step: next_w = w - 0.9*0 + 1.9*(-0.2)", [0.62], w1, [
        ([0.8], "that is plain momentum (w + v), or v_prev was read after the velocity was updated (keep the old "
                "velocity): the rewritten form is next_w = w - mu*v_prev + (1 + mu)*v"),
        ([0.98], "the new velocity is weighted by (1 + mu), not (1 - mu): next_w = w - mu*v_prev + (1 + mu)*v"),
        ([1.38], "the signs are flipped: next_w = w - mu*v_prev + (1 + mu)*v"),
        ([1.0], "update w with the NEW velocity: next_w = w - mu*v_prev + (1 + mu)*v"),
    ], hint="next_w = w - mu*v_prev + (1 + mu)*v")

    velocity_given = np.array(velocity, dtype=float).copy()
    w2, config = take_step(name, nesterov_momentum, w1, 2 * w1, config)  # f(w) = w^2: the gradient at 0.62 is 1.24
    state_unchanged(name, "velocity", velocity_given, velocity, "v = mu*v_prev - lr*dw")
    expect_close(name, "second step, fed the returned config and dw = 2*0.62 (f(w) = w^2): v = 0.9*(-0.2) - 0.1*1.24",
           [-0.304], stored(name, config, "velocity", "velocity v"), [
               ([-0.124], "start from the velocity stored in config by the previous call (v_prev)"),
           ])
    expect_close(name, "second step: next_w = 0.62 - 0.9*(-0.2) + 1.9*(-0.304), the look-ahead point w + mu*v "
                 "= 0.496 + 0.9*(-0.304) of the textbook form", [0.2224], w2, [
               ([-0.1376], "the mu*v_prev term is subtracted: next_w = w - mu*v_prev + (1 + mu)*v"),
           ], hint="next_w = w - mu*v_prev + (1 + mu)*v, with v_prev the velocity before this step")

    velocity_given = np.array([1.0])
    w1, config = take_step(name, nesterov_momentum, np.array([0.0]), np.array([1.0]),
                           {"learning_rate": 0.1, "momentum": 0.5, "velocity": velocity_given})
    state_unchanged(name, "velocity", np.array([1.0]), velocity_given, "v = mu*v_prev - lr*dw")
    expect_close(name, "nesterov_momentum(w=[0], dw=[1], {learning_rate: 0.1, momentum: 0.5, velocity: [1]}): "
                 "v = 0.5*1 - 0.1*1", [0.4], stored(name, config, "velocity", "velocity v"), [
               ([0.8], "use config['momentum'], not a fixed 0.9"),
               ([-0.1], "start from the velocity given in config['velocity'] (zeros only when it is absent)"),
           ])
    expect_close(name, "that step's next_w = 0 - 0.5*1 + 1.5*0.4", [0.1], w1)

    w1, config = take_step(name, nesterov_momentum, np.array([1.0, -2.0]), np.array([2.0, 1.0]))
    expect_defaults(name, config, {"learning_rate": 1e-2, "momentum": 0.9})
    expect_close(name, "nesterov_momentum(w=[1, -2], dw=[2, 1]) with the defaults: next_w = w + 1.9*(-0.01*dw)",
           [0.962, -2.019], w1)

    # the same iterates as the look-ahead form: the stored w is the look-ahead point w + mu*v
    w_tilde, config = np.array([2.0, 1.0]), {"learning_rate": 0.2, "momentum": 0.8}
    for step, expected in enumerate(LOOKAHEAD_POINTS, start=1):
        w_tilde, config = take_step(name, nesterov_momentum, w_tilde, quadratic_grad(np.asarray(w_tilde, dtype=float)),
                                    config)
        expect_close(name, f"step {step} of a run on f(w) = (w1^2 + 4 w2^2)/2 - w1 + 2 w2 from [2, 1] (learning rate 0.2, "
                     "momentum 0.8): nesterov_momentum should track the look-ahead point w + mu*v of the textbook "
                     "form", expected, w_tilde, hint="feed back the returned config: next_w = w - mu*v_prev + (1 + mu)*v")
    return "two steps by hand, the state in config, the defaults, 6 steps agreeing with the look-ahead form"


# --------------------------------------------------------------------------------------------
# nesterov_parameters(L, mu), judged by what nesterov_momentum does with them


def _nesterov_budget(kappa: float, tolerance: float) -> int:
    # Nesterov's guarantee f(w_t) - f* <= (1 - 1/sqrt(kappa))^t (f(w_0) - f* + mu/2 |w_0 - w*|^2) forces
    # |w_t - w*| <= tolerance |w_0 - w*| once (1 - 1/sqrt(kappa))^t (kappa + 1) <= tolerance^2
    return int(np.ceil(np.log((kappa + 1) / tolerance ** 2) / -np.log(1 - 1 / np.sqrt(kappa))))


def _lessard_recht_packard_grad(x):
    """The gradient of the book's one-dimensional function (mu = 1, L = 25), which is not a quadratic."""
    x = float(x[0])
    return np.array([25 * x if x < 1 else (x + 24 if x < 2 else 25 * x - 24)])


@register("nesterov_parameters")
def check_nesterov_parameters(nesterov_parameters):
    from dlopt.problems import Quadratic

    from ._chapter01 import as_rate_and_momentum, run_to_tolerance

    tolerance = 1e-6
    quadratic = Quadratic.with_condition_number(200.0, dim=8, smoothness=3.0, seed=31)
    problems = (
        ("a quadratic with L = 3, mu = 0.015 (condition number 200)", 3.0, 0.015, quadratic.grad,
         quadratic.minimizer, quadratic.minimizer + np.linspace(-2.0, 3.0, 8)),
        ("the book's Lessard-Recht-Packard function (L = 25, mu = 1), from x = 3.3", 25.0, 1.0,
         _lessard_recht_packard_grad, np.zeros(1), np.array([3.3])),
    )
    solved = []
    for where, L, mu, grad, minimizer, w0 in problems:
        rate, momentum = as_rate_and_momentum(
            "nesterov_parameters", call("nesterov_parameters", nesterov_parameters, L, mu))

        def step(w, velocity):
            previous = np.zeros_like(w) if velocity is None else velocity
            velocity = momentum * previous - rate * grad(w)
            return w - momentum * previous + (1 + momentum) * velocity, velocity   # nesterov_momentum

        budget = _nesterov_budget(L / mu, tolerance)
        outcome, done, error = run_to_tolerance(step, w0, minimizer, budget, tolerance)
        if outcome == "diverged":
            fail(f"nesterov_momentum with your learning rate {rate:.4g} and momentum {momentum:.4g} diverges on {where}",
                 "Nesterov's method is stable for a narrower range of learning rates than the heavy ball (the "
                 "chapter's theorem on a quadratic): parameters tuned for the heavy ball do not carry over")
        if outcome == "slow":
            fail(f"nesterov_momentum with your learning rate {rate:.4g} and momentum {momentum:.4g} is too slow on "
                 f"{where}: after {budget} steps the error is still {error:.2g} of its start (needed {tolerance:g})",
                 "the budget is what Nesterov's guarantee for smooth strongly convex functions promises: use the "
                 "parameters that come with that guarantee, which depend on L and on the condition number L/mu")
        solved.append(f"{where.split(' (')[0].split(' with')[0]} in {done} of {budget} steps")
    return "nesterov_momentum with your parameters converged on " + ", ".join(solved)
