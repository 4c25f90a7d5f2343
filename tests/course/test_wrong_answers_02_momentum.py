"""Chapter 2: every catalogued wrong answer is caught by a real autograde and diagnosed in the feedback."""

from __future__ import annotations

from wrong_answers import HeldOut, RightAnswer, WrongAnswer, catalogue_tests

ASSIGNMENT = "02_momentum"
_VELOCITY = 'velocity = config["momentum"] * velocity - config["learning_rate"] * dw'
_AVERAGE = 'm = config["beta"] * m + (1 - config["beta"]) * dw'
_EMA_STEP = 'next_w = w - config["learning_rate"] * m'
CATALOGUE = [
    # sgd_momentum: the PyTorch form copied verbatim, the state, the signs, the EMA damping, the order, in place
    WrongAnswer("sgd_momentum", _VELOCITY + "\n    next_w = w + velocity",
                'velocity = config["momentum"] * velocity + dw\n    next_w = w - config["learning_rate"] * velocity',
                "buffer (PyTorch / TF 1) form"),
    WrongAnswer("sgd_momentum", '    config["velocity"] = velocity\n', "\n", "velocity is not stored"),
    WrongAnswer("sgd_momentum", "next_w = w + velocity", "next_w = w - velocity", "added with the wrong sign"),
    WrongAnswer("sgd_momentum", _VELOCITY,
                'velocity = config["momentum"] * velocity - config["learning_rate"] * (1 - config["momentum"]) * dw',
                "(1 - momentum) factor"),
    WrongAnswer("sgd_momentum", _VELOCITY + "\n    next_w = w + velocity", "next_w = w + velocity\n    " + _VELOCITY,
                "previous velocity"),
    WrongAnswer("sgd_momentum", _VELOCITY,
                'velocity *= config["momentum"]\n    velocity -= config["learning_rate"] * dw', "in place"),
    # sgd_momentum_ema: the (1 - beta) factor, the state, the sign, the order, Adam's bias correction
    WrongAnswer("sgd_momentum_ema", _AVERAGE, 'm = config["beta"] * m + dw', "missing (1 - beta)"),
    WrongAnswer("sgd_momentum_ema", _AVERAGE, 'm = (1 - config["beta"]) * m + config["beta"] * dw',
                "beta and (1 - beta) swapped"),
    WrongAnswer("sgd_momentum_ema", '    config["m"] = m\n', "\n", "m is not stored"),
    WrongAnswer("sgd_momentum_ema", _EMA_STEP, 'next_w = w + config["learning_rate"] * m', "sign of the update is flipped"),
    WrongAnswer("sgd_momentum_ema", _AVERAGE + "\n    " + _EMA_STEP, _EMA_STEP + "\n    " + _AVERAGE, "previous m"),
    WrongAnswer("sgd_momentum_ema", _EMA_STEP,
                'config["t"] = config.get("t", 0) + 1\n    '
                'next_w = w - config["learning_rate"] * m / (1 - config["beta"] ** config["t"])',
                "bias correction"),
    # heavy_ball_parameters (outcome): Nesterov's coefficient not squared, the EMA form's rate, a fixed 0.9
    WrongAnswer("heavy_ball_parameters", "momentum = ((root_L - root_mu) / (root_L + root_mu)) ** 2",
                "momentum = (root_L - root_mu) / (root_L + root_mu)", "not squared"),
    WrongAnswer("heavy_ball_parameters", "return float(learning_rate), float(momentum)",
                "return float(learning_rate / (1 - momentum)), float(momentum)", "moving-average form"),
    WrongAnswer("heavy_ball_parameters", "return float(learning_rate), float(momentum)",
                "return float(1.0 / L), 0.9", "fixed momentum of 0.9"),
]


# Held-out wrong answers (see wrong_answers.py): listed mistakes written with other algebra than the
# graders' known-mistake implementations, and mistakes no grader lists.
HELD_OUT = [
    HeldOut("sgd_momentum",
            'velocity = config["momentum"] * velocity - config["learning_rate"] * dw\n    next_w = w + velocity',
            'next_w = w + velocity\n    velocity = config["momentum"] * velocity - config["learning_rate"] * dw',
            "w is updated with the previous velocity", listed=True),
    HeldOut("sgd_momentum", 'config["momentum"] * velocity - config["learning_rate"] * dw',
            'config["momentum"] * (velocity - config["learning_rate"] * dw)', "next_w differs",
            also=("after step 1 of",)),
    HeldOut("sgd_momentum_ema", 'm = config["beta"] * m + (1 - config["beta"]) * dw',
            'm = m + config["beta"] * (dw - m)', "beta and (1 - beta) swapped", listed=True),
    HeldOut("sgd_momentum_ema", '(1 - config["beta"]) * dw', '(1 - config["beta"]) * dw ** 2', "next_w differs",
            also=("after step 1 of",)),
]


# Right answers written another way: full marks in every cell of their function.
RIGHTS: list[RightAnswer] = [
    RightAnswer("heavy_ball_parameters", "learning_rate = 4.0 / (root_L + root_mu) ** 2",
                "learning_rate = 4.0 / (L * (1 + np.sqrt(mu / L)) ** 2)"),
    RightAnswer("heavy_ball_parameters", "momentum = ((root_L - root_mu) / (root_L + root_mu)) ** 2",
                "momentum = (1 - 2 / (np.sqrt(L / mu) + 1)) ** 2"),
]

(course, test_model_answer_full_marks_and_blank_zero, test_wrong_answer_is_caught_and_diagnosed,
 test_isolated_regrade_agrees_with_nbgrader, test_diagnoses_are_specific,
 test_held_out_wrong_answer_is_caught, test_right_answer_written_differently_full_marks) = catalogue_tests(
    ASSIGNMENT, CATALOGUE, held_out=HELD_OUT, rights=RIGHTS)
