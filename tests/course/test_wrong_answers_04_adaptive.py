"""Chapter 4: every catalogued wrong answer is caught by a real autograde and diagnosed in the feedback."""

from __future__ import annotations

from wrong_answers import HeldOut, RightAnswer, WrongAnswer, catalogue_tests, submissions_of

ASSIGNMENT = "04_adaptive"
_ADAGRAD_DENOMINATOR = 'np.sqrt(cache) + config["epsilon"]'
_BIAS_CORRECTION = 'm_hat = m / (1 - beta1 ** t)\n    v_hat = v / (1 - beta2 ** t)'
_DECAY = 'decayed_w = w - config["learning_rate"] * config["weight_decay"] * w'
_STORE_ADAM_STATE = 'config["m"], config["v"], config["t"] = m, v, t'
_ADAM_STEP = "w, config = adam(w, dw, config)"
_ADAM_RATE = 'config = {"learning_rate": 0.3}'
_OUTCOME = "train_badly_scaled"
CATALOGUE = [
    # adagrad
    WrongAnswer("adagrad", _ADAGRAD_DENOMINATOR, 'np.sqrt(cache + config["epsilon"])', "eps inside the square root"),
    WrongAnswer("adagrad", 'cache = config["cache"] + dw ** 2', "cache = dw ** 2", "not accumulated"),
    WrongAnswer("adagrad", 'cache = config["cache"] + dw ** 2', 'cache = 0.99 * config["cache"] + 0.01 * dw ** 2',
                "that is RMSProp"),
    WrongAnswer("adagrad", f"({_ADAGRAD_DENOMINATOR})", '(np.sqrt(config["cache"]) + config["epsilon"])', "old cache"),
    WrongAnswer("adagrad", f"dw / ({_ADAGRAD_DENOMINATOR})", 'dw / np.sqrt(cache) + config["epsilon"]',
                "missing parentheses"),
    WrongAnswer("adagrad", 'cache = config["cache"] + dw ** 2', 'cache = config["cache"] + np.abs(dw)', "sums |dw|"),
    # rmsprop
    WrongAnswer("rmsprop", 'np.sqrt(cache) + config["epsilon"]', 'np.sqrt(cache + config["epsilon"])',
                "eps inside the square root"),
    WrongAnswer("rmsprop", "(1 - rho) * dw ** 2", "dw ** 2", "missing (1 - decay_rate)"),
    WrongAnswer("rmsprop", 'rho * config["cache"] + (1 - rho) * dw ** 2', '(1 - rho) * config["cache"] + rho * dw ** 2',
                "swapped"),
    WrongAnswer("rmsprop", 'rho * config["cache"] + (1 - rho) * dw ** 2', 'config["cache"] + dw ** 2', "that is Adagrad"),
    WrongAnswer("rmsprop", '(np.sqrt(cache) + config["epsilon"])', '(cache + config["epsilon"])', "no square root"),
    WrongAnswer("rmsprop", '(np.sqrt(cache) + config["epsilon"])', '(np.sqrt(config["cache"]) + config["epsilon"])',
                "old cache"),
    # adadelta
    WrongAnswer("adadelta", 'np.sqrt(config["delta"] + eps)', 'np.sqrt(config["delta"])', "eps missing from the numerator"),
    WrongAnswer("adadelta", 'delta = rho * config["delta"] + (1 - rho) * update ** 2', 'delta = config["delta"]',
                "delta is never updated"),
    WrongAnswer("adadelta", 'next_w = w + config["learning_rate"] * update', "next_w = w + update",
                "learning rate is ignored"),
    WrongAnswer("adadelta", "(1 - rho) * update ** 2", '(1 - rho) * (config["learning_rate"] * update) ** 2',
                "scaled by the learning rate"),
    WrongAnswer("adadelta", 'np.sqrt(config["delta"] + eps) / np.sqrt(cache + eps)',
                '(np.sqrt(config["delta"]) + eps) / (np.sqrt(cache) + eps)', "eps outside the square roots"),
    WrongAnswer("adadelta", "np.sqrt(cache + eps)", 'np.sqrt(config["cache"] + eps)', "old cache"),
    # adam
    WrongAnswer("adam", _BIAS_CORRECTION, "m_hat = m\n    v_hat = v", "no bias correction"),
    WrongAnswer("adam", 'np.sqrt(v_hat) + config["epsilon"]', 'np.sqrt(v_hat + config["epsilon"])',
                "eps inside the square root"),
    WrongAnswer("adam", _STORE_ADAM_STATE, 'config["m"], config["v"] = m, v', "never incremented"),
    WrongAnswer("adam", 'beta1, beta2 = config["beta1"], config["beta2"]', 'beta2, beta1 = config["beta1"], config["beta2"]',
                "beta1 and beta2 swapped"),
    WrongAnswer("adam", _STORE_ADAM_STATE, 'config["m"], config["v"], config["t"] = m_hat, v_hat, t',
                "m_hat and v_hat are stored"),
    WrongAnswer("adam", '(np.sqrt(v_hat) + config["epsilon"])', 'np.sqrt(v_hat) + config["epsilon"]',
                "eps added to the parameters"),
    # adamw
    WrongAnswer("adamw", _DECAY, 'dw = dw + config["weight_decay"] * w\n    decayed_w = w', "L2 regularisation"),
    WrongAnswer("adamw", _DECAY, 'decayed_w = w - config["weight_decay"] * w', "not multiplied by the learning rate"),
    WrongAnswer("adamw", _DECAY, "decayed_w = w", "no weight decay at all"),
    WrongAnswer("adamw", 'next_w = decayed_w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])',
                'next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])\n'
                '    next_w = next_w - config["learning_rate"] * config["weight_decay"] * next_w',
                "applied after the Adam step"),
    WrongAnswer("adamw", _BIAS_CORRECTION, "m_hat = m\n    v_hat = v", "no bias correction"),
    WrongAnswer("adamw", _DECAY, 'decayed_w = w + config["learning_rate"] * config["weight_decay"] * w', "wrong sign"),
    # train_badly_scaled (the outcome task): graded on hidden problems, each wrong answer in a submission of its own
    WrongAnswer("train_badly_scaled", _ADAM_STEP, "w = w - 0.01 * dw", "the flat directions were left behind"),
    WrongAnswer("train_badly_scaled", _ADAM_STEP, "w = w - 0.1 * dw", "a step too large for the steepest direction"),
    WrongAnswer("train_badly_scaled", _ADAM_STEP, _ADAM_STEP + "\n        loss, _ = loss_and_grad(w)  # the new loss, for a log",
                "more gradient evaluations than the budget"),
    WrongAnswer("train_badly_scaled", _ADAM_RATE, 'config = {"learning_rate": 0.04}', "solved 3 of 5 hidden instances",
                partial=True),
]


# Held-out wrong answers (see wrong_answers.py): listed mistakes written with other algebra than the
# graders' known-mistake implementations, and mistakes no grader lists.
HELD_OUT = [
    HeldOut("adagrad", 'dw / (np.sqrt(cache) + config["epsilon"])', 'dw / np.power(cache + config["epsilon"], 0.5)',
            "eps inside the square root", listed=True),
    HeldOut("adagrad", 'cache = config["cache"] + dw ** 2', 'cache = (config["cache"] + dw) ** 2', "next_w differs",
            also=("after step", "w shape (5,)")),
    HeldOut("rmsprop", 'cache = rho * config["cache"] + (1 - rho) * dw ** 2',
            'cache = config["cache"] + rho * (dw ** 2 - config["cache"])', "decay_rate and (1 - decay_rate) swapped",
            listed=True),
    HeldOut("rmsprop", "(1 - rho) * dw ** 2", "(1 - rho) * np.abs(dw)", "next_w differs",
            also=("after step", "w shape (5,)")),
    HeldOut("adadelta", 'next_w = w + config["learning_rate"] * update',
            'next_w = w - np.sqrt(config["delta"] + eps) / np.sqrt(cache + eps) * dw', "the learning rate is ignored",
            listed=True),
    HeldOut("adadelta", "(1 - rho) * update ** 2", "(1 - rho) * update", "config['delta'] differs",
            also=("after step", "w shape (5,)")),
    HeldOut("adam", "m_hat = m / (1 - beta1 ** t)\n    v_hat = v / (1 - beta2 ** t)",
            "m_hat = m * (1 - beta1) ** -t\n    v_hat = v * (1 - beta2) ** -t",
            "the bias correction divides by (1 - beta)**t instead of 1 - beta**t", listed=True),
    HeldOut("adam", "(1 - beta2) * dw ** 2", "(1 - beta2) * m ** 2", "next_w differs",
            also=("after step", "w shape (5,)")),
    HeldOut("adamw", 'decayed_w = w - config["learning_rate"] * config["weight_decay"] * w',
            'decayed_w = w * (1 - config["weight_decay"])', "the decay is not multiplied by the learning rate",
            listed=True),
    HeldOut("adamw", 'config["weight_decay"] * w\n', 'config["weight_decay"] * np.sign(w)\n', "next_w differs",
            also=("after step", "w shape (5,)")),
]


# Right answers written another way: full marks in every cell of their function.
RIGHTS: list[RightAnswer] = [
    RightAnswer("train_badly_scaled", _ADAM_RATE, 'config = {"learning_rate": 1.0}'),
    RightAnswer("train_badly_scaled", f"{_ADAM_RATE}\n    for _ in range(num_steps):\n        loss, dw = loss_and_grad(w)\n"
                                      f"        {_ADAM_STEP}",
                'config = {"learning_rate": 3.0}\n    for _ in range(num_steps):\n        loss, dw = loss_and_grad(w)\n'
                "        w, config = adagrad(w, dw, config)"),
]


def group(catalogue: list[WrongAnswer]) -> dict[str, list[WrongAnswer]]:
    """As :func:`submissions_of`, but each wrong answer of the outcome task in a submission of its own.

    ``train_badly_scaled`` calls the notebook's ``adam``: sharing a submission with a wrong ``adam`` would
    change what it does, and its diagnosis with it.
    """
    submissions = submissions_of([wrong for wrong in catalogue if wrong.function != _OUTCOME])
    outcome = [wrong for wrong in catalogue if wrong.function == _OUTCOME]
    return {**submissions, **{f"wrong_outcome_{k:02d}": [wrong] for k, wrong in enumerate(outcome)}}


(course, test_model_answer_full_marks_and_blank_zero, test_wrong_answer_is_caught_and_diagnosed,
 test_isolated_regrade_agrees_with_nbgrader, test_diagnoses_are_specific,
 test_held_out_wrong_answer_is_caught, test_right_answer_written_differently_full_marks) = catalogue_tests(
    ASSIGNMENT, CATALOGUE, group=group, held_out=HELD_OUT, rights=RIGHTS)
