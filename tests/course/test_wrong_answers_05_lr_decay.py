"""Chapter 5: every catalogued wrong answer is caught by a real autograde and diagnosed in the feedback."""

from __future__ import annotations

from wrong_answers import HeldOut, RightAnswer, WrongAnswer, catalogue_tests

ASSIGNMENT = "05_lr_decay"
_COSINE = "max_learning_rate * 0.5 * (1.0 + np.cos(np.pi * k / num_steps))"
CATALOGUE = [
    # step_decay: return float(learning_rate * drop ** np.floor(epoch / epochs_drop))
    WrongAnswer("step_decay", "np.floor(epoch / epochs_drop)", "(epoch / epochs_drop)", "no floor"),
    WrongAnswer("step_decay", "np.floor(epoch / epochs_drop)", "np.floor((epoch + 1) / epochs_drop)",
                "epochs counted from 1"),
    WrongAnswer("step_decay", "np.floor(epoch / epochs_drop)", "np.ceil(epoch / epochs_drop)", "ceil() instead of floor()"),
    WrongAnswer("step_decay", "learning_rate * drop **", "learning_rate * (1 - drop) **", "fraction removed"),
    # exponential_decay
    WrongAnswer("exponential_decay", "p = global_step / decay_steps\n    if staircase:\n        p = np.floor(p)",
                "p = global_step / decay_steps", "staircase ignored"),
    WrongAnswer("exponential_decay", "p = global_step / decay_steps", "p = global_step // decay_steps",
                "floor applied even when staircase=False"),
    WrongAnswer("exponential_decay", "decay_rate ** p", "np.exp(-decay_rate * p)", "natural exponential decay"),
    WrongAnswer("exponential_decay", "p = np.floor(p)", "p = np.round(p)", "round() instead of floor()"),
    # inverse_time_decay
    WrongAnswer("inverse_time_decay", "(1.0 + decay_rate * p)", "(decay_rate * p)", "missing the 1 in the denominator"),
    WrongAnswer("inverse_time_decay", "learning_rate / (1.0 + decay_rate * p)", "learning_rate * (1.0 + decay_rate * p)",
                "multiplied instead of divided"),
    WrongAnswer("inverse_time_decay", "learning_rate / (1.0 + decay_rate * p)", "learning_rate / (1.0 + decay_rate) ** p",
                "power instead of product"),
    WrongAnswer("inverse_time_decay", "p = global_step / decay_steps", "p = (global_step + 1) / decay_steps",
                "steps counted from 1"),
    # natural_exp_decay
    WrongAnswer("natural_exp_decay", "np.exp(-decay_rate * p)", "np.exp(decay_rate * p)", "sign of the exponent"),
    WrongAnswer("natural_exp_decay", "np.exp(-decay_rate * p)", "decay_rate ** p", "exponential decay (lr * decay_rate ** p)"),
    WrongAnswer("natural_exp_decay", "np.exp(-decay_rate * p)", "np.exp(-p / decay_rate)", "decay_rate divides"),
    WrongAnswer("natural_exp_decay", "p = np.floor(p)", "p = np.ceil(p)", "ceil() instead of floor()"),
    # piecewise_constant: the boundary convention (step == boundary keeps the left value)
    WrongAnswer("piecewise_constant", "if global_step > boundary:", "if global_step >= boundary:", "off by one at a boundary"),
    WrongAnswer("piecewise_constant",
                "index = 0\n    for boundary in boundaries:\n        if global_step > boundary:\n            index += 1",
                "index = np.digitize(global_step, boundaries)", "off by one at a boundary"),
    WrongAnswer("piecewise_constant", "float(values[index])", "float(values[min(index, len(boundaries) - 1)])",
                "the last value is never used"),
    # polynomial_decay: cycle at step 0 and at exact multiples, clipping
    WrongAnswer("polynomial_decay", "multiplier = 1.0 if step == 0 else np.ceil(step / decay_steps)",
                "multiplier = np.ceil(step / decay_steps)", "cycle at global_step 0"),
    WrongAnswer("polynomial_decay", "multiplier = 1.0 if step == 0 else np.ceil(step / decay_steps)",
                "multiplier = np.floor(step / decay_steps) + 1", "at exact multiples of decay_steps"),
    WrongAnswer("polynomial_decay", "step = min(step, decay_steps)", "pass", "not clamped"),
    WrongAnswer("polynomial_decay",
                "multiplier = 1.0 if step == 0 else np.ceil(step / decay_steps)\n        decay_steps = decay_steps * multiplier",
                "step = step % decay_steps", "cycle as a restart"),
    # cosine_decay
    WrongAnswer("cosine_decay", "step = min(global_step, decay_steps)", "step = global_step", "not clamped"),
    WrongAnswer("cosine_decay", "((1.0 - alpha) * cosine + alpha)", "(cosine + alpha)", "without the (1 - alpha) factor"),
    WrongAnswer("cosine_decay", "learning_rate * ((1.0 - alpha) * cosine + alpha)", "(learning_rate - alpha) * cosine + alpha",
                "eta_min"),
    WrongAnswer("cosine_decay", "np.pi * step / decay_steps", "step / decay_steps", "missing pi"),
    # schedule_for_budget (the outcome task): graded by SGD on hidden problems
    WrongAnswer("schedule_for_budget", _COSINE, "np.full(num_steps, max_learning_rate)", "a rate that never decays"),
    WrongAnswer("schedule_for_budget", _COSINE, "max_learning_rate * 0.5 ** (k / (num_steps / 20))", "decays too early"),
    WrongAnswer("schedule_for_budget", _COSINE, "2 * " + _COSINE, "above max_learning_rate"),
    WrongAnswer("schedule_for_budget", _COSINE, "max_learning_rate / (1.0 + 20 * k / num_steps)", "decays too early",
                partial=True),
]


# Held-out wrong answers (see wrong_answers.py): listed mistakes written with other algebra than the
# graders' known-mistake implementations, and mistakes no grader lists.
HELD_OUT = [
    HeldOut("step_decay", "drop ** np.floor(epoch / epochs_drop)", "np.exp(np.log(drop) * epoch / epochs_drop)",
            "no floor", listed=True),
    HeldOut("step_decay", "np.floor(epoch / epochs_drop)", "np.floor(epoch / (epochs_drop + 1))",
            "returned a wrong result", also=("step_decay(", "values differ: expected")),
    HeldOut("exponential_decay", "learning_rate * decay_rate ** p", "learning_rate / np.exp(decay_rate * p)",
            "natural exponential decay (lr * exp(-decay_rate * p))", listed=True),
    HeldOut("exponential_decay", "learning_rate * decay_rate ** p", "learning_rate * decay_rate ** p / decay_rate",
            "returned a wrong result", also=("exponential_decay(", "values differ: expected")),
    HeldOut("inverse_time_decay", "learning_rate / (1.0 + decay_rate * p)",
            "learning_rate * np.exp(p * np.log(decay_rate))", "exponential decay (lr * decay_rate ** p)",
            listed=True),
    HeldOut("inverse_time_decay", "learning_rate / (1.0 + decay_rate * p)",
            "learning_rate / (1.0 + decay_rate * p) ** 2", "returned a wrong result",
            also=("inverse_time_decay(", "values differ: expected")),
    HeldOut("natural_exp_decay", "np.exp(-decay_rate * p)", "np.power(10.0, -decay_rate * p)", "base 10 instead of e",
            listed=True),
    HeldOut("natural_exp_decay", "np.exp(-decay_rate * p)", "np.exp(-decay_rate * p * p)", "returned a wrong result",
            also=("natural_exp_decay(", "values differ: expected")),
    HeldOut("piecewise_constant", "if global_step > boundary", "if not global_step < boundary",
            "off by one at a boundary", listed=True),
    HeldOut("piecewise_constant", "return float(values[index])",
            "return float(values[index] if index < len(boundaries) else values[0])", "returned a wrong result",
            also=("piecewise_constant(", "values differ: expected")),
    HeldOut("polynomial_decay", "(learning_rate - end_learning_rate) * (1.0 - fraction) ** power + end_learning_rate",
            "learning_rate * (1.0 - fraction) ** power", "end_learning_rate ignored", listed=True),
    HeldOut("polynomial_decay", "fraction = step / decay_steps", "fraction = step / (decay_steps + 1)",
            "returned a wrong result", also=("polynomial_decay(", "values differ: expected")),
    HeldOut("cosine_decay", "0.5 * (1.0 + np.cos(np.pi * step / decay_steps))",
            "2 * np.cos(np.pi * step / decay_steps / 2) ** 2", "missing the factor 0.5", listed=True),
    HeldOut("cosine_decay", "np.cos(np.pi * step / decay_steps)", "np.cos(np.pi / 2 * step / decay_steps)",
            "returned a wrong result", also=("cosine_decay(", "values differ: expected")),
]


# Right answers written another way: full marks in every cell of their function.
RIGHTS: list[RightAnswer] = [
    RightAnswer("schedule_for_budget", _COSINE, "max_learning_rate * (1.0 - k / num_steps)"),
    RightAnswer("schedule_for_budget", _COSINE,
                "max_learning_rate * np.where(k < num_steps // 2, 1.0, np.where(k < 3 * num_steps // 4, 0.1, 0.01))"),
]

(course, test_model_answer_full_marks_and_blank_zero, test_wrong_answer_is_caught_and_diagnosed,
 test_isolated_regrade_agrees_with_nbgrader, test_diagnoses_are_specific,
 test_held_out_wrong_answer_is_caught, test_right_answer_written_differently_full_marks) = catalogue_tests(
    ASSIGNMENT, CATALOGUE, held_out=HELD_OUT, rights=RIGHTS)
