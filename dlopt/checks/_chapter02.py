"""Visible checks of exercise 2: sgd_momentum, sgd_momentum_ema (values computed by hand).

The hints come from the values that the usual mistakes produce on the same inputs (also computed
by hand): when your answer equals one of them, the message names that mistake.
"""

from __future__ import annotations

import numpy as np

from ._framework import call, expect_close, fail, register, unchanged
from ._update_rules import expect_defaults, state_unchanged, stored, take_step


# --------------------------------------------------------------------------------------------
# sgd_momentum: v = mu*v - lr*dw; w = w + v


@register("sgd_momentum")
def check_sgd_momentum(sgd_momentum):
    name = "sgd_momentum"
    w, dw = np.array([1.0, -2.0]), np.array([2.0, 1.0])
    w_before, dw_before = w.copy(), dw.copy()
    call_text = "sgd_momentum(w=[1, -2], dw=[2, 1], {learning_rate: 0.1, momentum: 0.9})"

    w1, config = take_step(name, sgd_momentum, w, dw, {"learning_rate": 0.1, "momentum": 0.9})
    unchanged(name, "w", w_before, w)
    unchanged(name, "dw", dw_before, dw)
    velocity = stored(name, config, "velocity", "velocity v")
    expect_close(name, f"{call_text}, first step: the stored velocity v = 0.9*0 - 0.1*dw", [-0.2, -0.1], velocity, [
        ([0.2, 0.1], "v points downhill: v = mu*v - lr*dw (minus the gradient), then w + v"),
        ([2.0, 1.0], "this course keeps the learning rate inside the velocity (cs231n, Keras): v = mu*v - lr*dw, "
                     "not PyTorch's buffer v = mu*v + dw"),
        ([-2.0, -1.0], "the learning rate goes inside the velocity: v = mu*v - lr*dw"),
        ([-0.02, -0.01], "the velocity is 10x too small: is config['learning_rate'] used, and is there a stray "
                         "(1 - momentum) factor? (that belongs to the EMA form of part 2)"),
        ([-1.8, -0.9], "momentum and learning_rate are swapped: v = momentum*v - learning_rate*dw"),
    ], hint="v = mu*v - lr*dw, with v = 0 before the first step")
    expect_close(name, f"{call_text}, first step: next_w = w + v", [0.8, -2.1], w1, [
        ([1.2, -1.9], "the velocity is added: w + v (with v = mu*v - lr*dw), not w - v"),
        ([1.0, -2.0], "update w with the NEW velocity: compute v first, then next_w = w + v"),
    ], hint="next_w = w + v, with the new velocity v")

    velocity_given = np.array(velocity, dtype=float).copy()
    w2, config = take_step(name, sgd_momentum, w1, dw, config)
    state_unchanged(name, "velocity", velocity_given, velocity, "v = mu*v - lr*dw")
    velocity = stored(name, config, "velocity", "velocity v")
    expect_close(name, "second step, fed the returned config and dw = [2, 1] again: v = 0.9*[-0.2, -0.1] - 0.1*dw",
           [-0.38, -0.19], velocity, [
               ([-0.2, -0.1], "the velocity of the previous step is not used: read v = config['velocity'] "
                              "(zeros only when the key is absent)"),
           ], hint="v = mu*v - lr*dw, starting from the v stored in config by the previous step")
    expect_close(name, "second step: next_w = w + v = [0.8, -2.1] + [-0.38, -0.19]", [0.42, -2.29], w2, [
        ([0.6, -2.2], "update w with the NEW velocity: compute v first, then next_w = w + v"),
    ])

    w1, config = take_step(name, sgd_momentum, w, dw)
    expect_defaults(name, config, {"learning_rate": 1e-2, "momentum": 0.9})
    expect_close(name, "sgd_momentum(w=[1, -2], dw=[2, 1]) with the defaults (learning rate 0.01)", [0.98, -2.01], w1)
    unchanged(name, "w", w_before, w)
    unchanged(name, "dw", dw_before, dw)

    velocity_given = np.array([1.0])
    w1, config = take_step(name, sgd_momentum, np.array([0.0]), np.array([1.0]),
                           {"learning_rate": 0.1, "momentum": 0.5, "velocity": velocity_given})
    state_unchanged(name, "velocity", np.array([1.0]), velocity_given, "v = mu*v - lr*dw")
    expect_close(name, "sgd_momentum(w=[0], dw=[1], {learning_rate: 0.1, momentum: 0.5, velocity: [1]}): "
                 "v = 0.5*1 - 0.1*1", [0.4], stored(name, config, "velocity", "velocity v"), [
               ([0.8], "use config['momentum'], not a fixed 0.9"),
               ([-0.1], "start from the velocity given in config['velocity'] (zeros only when it is absent)"),
           ])
    expect_close(name, "that step's next_w = w + v", [0.4], w1)
    return "two steps by hand, the state in config, the defaults, a given velocity, inputs untouched"


# --------------------------------------------------------------------------------------------
# sgd_momentum_ema: m = beta*m + (1 - beta)*dw; w = w - lr*m


@register("sgd_momentum_ema")
def check_sgd_momentum_ema(sgd_momentum_ema):
    name = "sgd_momentum_ema"
    w, dw = np.array([1.0, -2.0]), np.array([2.0, 1.0])
    w_before, dw_before = w.copy(), dw.copy()
    call_text = "sgd_momentum_ema(w=[1, -2], dw=[2, 1], {learning_rate: 0.1, beta: 0.9})"
    step_mistakes = [
        ([1.02, -1.99], "m is an average gradient (pointing uphill): subtract it, next_w = w - lr*m"),
        ([0.8, -2.1], "the step uses m itself: next_w = w - lr*m, with no bias correction (m / (1 - beta**t) "
                      "belongs to Adam) and not the raw gradient dw"),
        ([1.0, -2.0], "update w with the NEW average: compute m first, then next_w = w - lr*m"),
        ([0.998, -2.001], "the step is 10x too small: use config['learning_rate'], and do not multiply by "
                          "(1 - beta) again (m already carries it)"),
    ]

    w1, config = take_step(name, sgd_momentum_ema, w, dw, {"learning_rate": 0.1, "beta": 0.9})
    unchanged(name, "w", w_before, w)
    unchanged(name, "dw", dw_before, dw)
    m = stored(name, config, "m", "moving average m")
    expect_close(name, f"{call_text}, first step: the stored average m = 0.9*0 + 0.1*dw", [0.2, 0.1], m, [
        ([2.0, 1.0], "the first average is (1 - beta)*dw: m starts at 0 (not at dw) and the gradient is weighted "
                     "by (1 - beta): m = beta*m + (1 - beta)*dw"),
        ([1.8, 0.9], "beta weighs the old average and (1 - beta) the new gradient: m = beta*m + (1 - beta)*dw"),
        ([-0.2, -0.1], "the average is added up with a plus sign: m = beta*m + (1 - beta)*dw"),
    ], hint="m = beta*m + (1 - beta)*dw, with m = 0 before the first step")
    expect_close(name, f"{call_text}, first step: next_w = w - 0.1*m", [0.98, -2.01], w1, step_mistakes,
           hint="next_w = w - lr*m, with the new average m")

    m_given = np.array(m, dtype=float).copy()
    w2, config = take_step(name, sgd_momentum_ema, w1, dw, config)
    state_unchanged(name, "m", m_given, m, "m = beta*m + (1 - beta)*dw")
    m = stored(name, config, "m", "moving average m")
    expect_close(name, "second step, fed the returned config and dw = [2, 1] again: m = 0.9*[0.2, 0.1] + 0.1*dw",
           [0.38, 0.19], m, [
               ([0.2, 0.1], "the average of the previous step is not used: read m = config['m'] "
                            "(zeros only when the key is absent)"),
           ], hint="m = beta*m + (1 - beta)*dw, starting from the m stored in config by the previous step")
    expect_close(name, "second step: next_w = w - 0.1*m = [0.98, -2.01] - 0.1*[0.38, 0.19]", [0.942, -2.029], w2, [
        ([0.78, -2.11], "no bias correction in this rule: next_w = w - lr*m (m / (1 - beta**t) belongs to Adam)"),
    ])

    w1, config = take_step(name, sgd_momentum_ema, w, dw)
    expect_defaults(name, config, {"learning_rate": 1e-2, "beta": 0.9})
    expect_close(name, "sgd_momentum_ema(w=[1, -2], dw=[2, 1]) with the defaults (learning rate 0.01, beta 0.9)",
           [0.998, -2.001], w1)

    config = {"beta": 0.5}
    for _ in range(3):
        _, config = take_step(name, sgd_momentum_ema, w, dw, config)
    expect_close(name, "three steps with the constant gradient dw = [2, 1] and beta 0.5: m = (1 - 0.5**3)*dw "
                 "(no bias correction)", [1.75, 0.875], stored(name, config, "m", "moving average m"), [
               ([0.542, 0.271], "use config['beta'], not a fixed 0.9"),
               ([2.0, 1.0], "m is the plain average m = beta*m + (1 - beta)*dw, without bias correction"),
           ], hint="m = beta*m + (1 - beta)*dw, starting from the m stored by the previous call")
    unchanged(name, "w", w_before, w)
    unchanged(name, "dw", dw_before, dw)
    return "two steps by hand, the state in config, the defaults, a constant gradient, inputs untouched"


# --------------------------------------------------------------------------------------------
# heavy_ball_parameters(L, mu), judged by what sgd_momentum does with them


def _heavy_ball_budget(kappa: float, tolerance: float) -> int:
    # 1.5 times the worst case of the best heavy-ball parameters: the error along the top eigenvector behaves
    # like (-r)^t (1 + (1 + r) t) with r = (sqrt(kappa) - 1) / (sqrt(kappa) + 1)
    r = (np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1)
    t = 1
    while r ** t * (1 + (1 + r) * t) > tolerance:
        t += 1
    return int(np.ceil(1.5 * t))


@register("heavy_ball_parameters")
def check_heavy_ball_parameters(heavy_ball_parameters):
    from dlopt.problems import Quadratic

    from ._chapter01 import as_rate_and_momentum, run_to_tolerance

    tolerance = 1e-12
    solved = []
    for kappa, dim, smoothness, seed in ((100.0, 10, 2.0, 21), (1000.0, 5, 0.5, 22)):
        quadratic = Quadratic.with_condition_number(kappa, dim=dim, smoothness=smoothness, seed=seed)
        mu = smoothness / kappa
        rate, momentum = as_rate_and_momentum(
            "heavy_ball_parameters", call("heavy_ball_parameters", heavy_ball_parameters, smoothness, mu))
        where = f"with L = {smoothness:g}, mu = {mu:g} (condition number {kappa:g}, dimension {dim})"

        def step(w, velocity):
            velocity = (0.0 if velocity is None else momentum * velocity) - rate * quadratic.grad(w)
            return w + velocity, velocity     # sgd_momentum's velocity form

        budget = _heavy_ball_budget(kappa, tolerance)
        w0 = quadratic.minimizer + np.linspace(-2.0, 3.0, dim)
        outcome, done, error = run_to_tolerance(step, w0, quadratic.minimizer, budget, tolerance)
        if outcome == "diverged":
            fail(f"sgd_momentum with your learning rate {rate:.4g} and momentum {momentum:.4g} diverges {where}",
                 "the course's sgd_momentum adds v = momentum * v - learning_rate * dw to w (the velocity form); "
                 "a learning rate derived for the moving-average form (sgd_momentum_ema) is too large by 1/(1 - momentum)")
        if outcome == "slow":
            fail(f"sgd_momentum with your learning rate {rate:.4g} and momentum {momentum:.4g} is too slow {where}: "
                 f"after {budget} steps the error is still {error:.2g} of its start (needed {tolerance:g})",
                 "on a quadratic each eigen-direction follows a recurrence of order two; the best parameters make "
                 "the slowest (mu) and the fastest (L) direction contract equally fast (the chapter's section on "
                 "Polyak's parameters); a fixed momentum such as 0.9 cannot suit every condition number")
        solved.append(f"kappa = {kappa:g} in {done} of {budget} steps")
    return "sgd_momentum with your parameters converged " + ", ".join(solved)
