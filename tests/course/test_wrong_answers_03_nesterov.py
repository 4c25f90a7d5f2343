"""Chapter 3: every catalogued wrong answer is caught by a real autograde and diagnosed in the feedback."""

from __future__ import annotations

from wrong_answers import HeldOut, RightAnswer, WrongAnswer, catalogue_tests

ASSIGNMENT = "03_nesterov"
_LOOKAHEAD_GRADIENT = "gradient = grad_fn(w + mu * velocity)"
_LOOKAHEAD_UPDATE = 'velocity = mu * velocity - config["learning_rate"] * gradient\n    next_w = w + velocity'
_REWRITTEN_UPDATE = "next_w = w - mu * velocity_prev + (1 + mu) * velocity"
CATALOGUE = [
    # nesterov_lookahead: where the gradient is taken, the state, the update of the look-ahead form
    WrongAnswer("nesterov_lookahead", _LOOKAHEAD_GRADIENT, "gradient = grad_fn(w)",
                "evaluated at w, not at the look-ahead point"),
    WrongAnswer("nesterov_lookahead", _LOOKAHEAD_GRADIENT, "gradient = grad_fn(w + velocity)", "misses mu"),
    WrongAnswer("nesterov_lookahead", _LOOKAHEAD_GRADIENT, "gradient = grad_fn(w - mu * velocity)",
                "look-ahead point has the wrong sign"),
    WrongAnswer("nesterov_lookahead", 'config["velocity"] = velocity', "pass", "velocity is not stored in config"),
    WrongAnswer("nesterov_lookahead", _LOOKAHEAD_UPDATE,
                'velocity = mu * velocity - config["learning_rate"] * gradient\n'
                '    next_w = w + mu * velocity - config["learning_rate"] * gradient',
                "rewritten form's update"),
    WrongAnswer("nesterov_lookahead", "next_w = w + velocity", "w += velocity\n    next_w = w",
                "modified its input w in place"),
    # nesterov_momentum: the rewritten update, the state, PyTorch's convention
    WrongAnswer("nesterov_momentum", _REWRITTEN_UPDATE, "next_w = w - mu * velocity + (1 + mu) * velocity",
                "keep a copy of the old velocity"),
    WrongAnswer("nesterov_momentum", _REWRITTEN_UPDATE, "next_w = w + mu * velocity_prev + (1 + mu) * velocity",
                "the sign of the mu*v_prev term"),
    WrongAnswer("nesterov_momentum", _REWRITTEN_UPDATE, "next_w = w - mu * velocity_prev + (1 - mu) * velocity",
                "(1 - mu) instead of (1 + mu)"),
    WrongAnswer("nesterov_momentum", 'config["velocity"] = velocity', "pass", "velocity is not stored in config"),
    WrongAnswer("nesterov_momentum", 'velocity = mu * velocity_prev - config["learning_rate"] * dw\n    ' + _REWRITTEN_UPDATE,
                'velocity = mu * velocity_prev + dw\n    next_w = w - config["learning_rate"] * (dw + mu * velocity)',
                "PyTorch's units"),
    WrongAnswer("nesterov_momentum", _REWRITTEN_UPDATE, "w -= mu * velocity_prev - (1 + mu) * velocity\n    next_w = w",
                "modified its input w in place"),
    # nesterov_parameters (outcome): Polyak's heavy-ball parameters, no momentum (both solve a few problems)
    WrongAnswer("nesterov_parameters", "return float(1.0 / L), float((root_kappa - 1.0) / (root_kappa + 1.0))",
                "return float(4.0 / (np.sqrt(L) + np.sqrt(mu)) ** 2), float(((root_kappa - 1.0) / (root_kappa + 1.0)) ** 2)",
                "heavy-ball parameters", partial=True),
    WrongAnswer("nesterov_parameters", "return float(1.0 / L), float((root_kappa - 1.0) / (root_kappa + 1.0))",
                "return float(1.0 / L), 0.0", "plain gradient descent", partial=True),
]


# Held-out wrong answers (see wrong_answers.py): listed mistakes written with other algebra than the
# graders' known-mistake implementations, and mistakes no grader lists.
HELD_OUT = [
    HeldOut("nesterov_lookahead", "gradient = grad_fn(w + mu * velocity)", "gradient = grad_fn(w.copy())",
            "the gradient is evaluated at w, not at the look-ahead point", listed=True),
    HeldOut("nesterov_lookahead", "next_w = w + velocity", "next_w = w + mu * velocity", "next_w differs",
            also=("after step 1 of",)),
    HeldOut("nesterov_momentum", "next_w = w - mu * velocity_prev + (1 + mu) * velocity",
            "next_w = w - mu * velocity_prev + velocity - mu * velocity", "(1 - mu) instead of (1 + mu)",
            listed=True),
    HeldOut("nesterov_momentum", "next_w = w - mu * velocity_prev + (1 + mu) * velocity",
            "next_w = w - mu * velocity + (1 + mu) * velocity_prev", "next_w differs", also=("after step 1 of",)),
]


# Right answers written another way: full marks in every cell of their function.
RIGHTS: list[RightAnswer] = [
    RightAnswer("nesterov_parameters", "return float(1.0 / L), float((root_kappa - 1.0) / (root_kappa + 1.0))",
                "s = np.sqrt(3 * L / mu + 1)\n    return float(4 / (3 * L + mu)), float((s - 2) / (s + 2))"),
    RightAnswer("nesterov_parameters", "root_kappa = np.sqrt(L / mu)", "root_kappa = 1 / np.sqrt(mu / L)"),
]

(course, test_model_answer_full_marks_and_blank_zero, test_wrong_answer_is_caught_and_diagnosed,
 test_isolated_regrade_agrees_with_nbgrader, test_diagnoses_are_specific,
 test_held_out_wrong_answer_is_caught, test_right_answer_written_differently_full_marks) = catalogue_tests(
    ASSIGNMENT, CATALOGUE, held_out=HELD_OUT, rights=RIGHTS)
