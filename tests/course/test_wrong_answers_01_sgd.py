"""Chapter 1: every catalogued wrong answer is caught by a real autograde and diagnosed in the feedback."""

from __future__ import annotations

from wrong_answers import HeldOut, RightAnswer, WrongAnswer, catalogue_tests

ASSIGNMENT = "01_sgd"
CATALOGUE = [
    WrongAnswer("sgd", 'w - config["learning_rate"] * dw', 'w + config["learning_rate"] * dw', "sign of the update is flipped"),
    WrongAnswer("sgd", 'w - config["learning_rate"] * dw', "w - 1e-2 * dw", "the learning rate from config is ignored"),
    WrongAnswer("sgd", 'next_w = w - config["learning_rate"] * dw', 'w -= config["learning_rate"] * dw\n    next_w = w',
                "in place"),
    WrongAnswer("minibatches", "order = np.arange(n_examples) if rng is None else rng.permutation(n_examples)",
                "order = np.arange(n_examples)", "not shuffled"),
    WrongAnswer("minibatches", "for start in range(0, n_examples, batch_size)",
                "for start in range(0, n_examples - batch_size + 1, batch_size)", "dropped"),
    WrongAnswer("lr_range_test", "np.geomspace(min_lr, max_lr, num_steps)", "np.linspace(min_lr, max_lr, num_steps)",
                "geometrically"),
    WrongAnswer("lr_range_test", "if loss > divergence_factor * best:\n            break", "pass", "no early stop"),
    # choose_learning_rate (outcome): 1/L is safe but ignores mu (partial credit), above 2/L, L from the trace
    WrongAnswer("choose_learning_rate", "return float(2.0 / (L + mu))", "return float(1.0 / L)", "ignores mu",
                partial=True),
    WrongAnswer("choose_learning_rate", "return float(2.0 / (L + mu))", "return float(2.1 / L)", "above 2/L"),
    WrongAnswer("choose_learning_rate", "return float(2.0 / (L + mu))", "return float(2.0 / np.trace(hessian))",
                "trace of H", partial=True),
]


# Held-out wrong answers (see wrong_answers.py): listed mistakes written with other algebra than the
# graders' known-mistake implementations, and mistakes no grader lists.
HELD_OUT = [
    HeldOut("sgd", 'w - config["learning_rate"] * dw', 'np.add(w, config["learning_rate"] * dw)',
            "the sign of the update is flipped", listed=True),
    HeldOut("sgd", 'w - config["learning_rate"] * dw', 'w - 0.5 * config["learning_rate"] * dw', "next_w differs",
            also=("after step 1 of", "config {'learning_rate': 0.1}")),
    HeldOut("minibatches", "range(0, n_examples, batch_size)",
            "range(0, n_examples - n_examples % batch_size, batch_size)", "dropped", listed=True),
    HeldOut("minibatches", "order = np.arange(n_examples) if", "order = np.arange(n_examples)[::-1] if",
            "with rng=None the examples keep their order", also=("batch 1 holds the examples",)),
    HeldOut("lr_range_test", "np.geomspace(min_lr, max_lr, num_steps)",
            "min_lr + (max_lr - min_lr) * np.arange(num_steps) / (num_steps - 1)", "linear spacing", listed=True),
    HeldOut("lr_range_test", "np.geomspace(min_lr, max_lr, num_steps)",
            "np.geomspace(min_lr, max_lr, num_steps + 1)[1:]", "learning_rates: values differ at index (0,)",
            also=("the default range",)),
]


# Right answers written another way: full marks in every cell of their function.
RIGHTS: list[RightAnswer] = [
    RightAnswer("choose_learning_rate", "eigenvalues = np.linalg.eigvalsh(hessian)",
                "eigenvalues = np.linalg.eigh(hessian)[0]"),
    RightAnswer("choose_learning_rate", "return float(2.0 / (L + mu))", "return float(1.9 / (L + mu))"),
]

(course, test_model_answer_full_marks_and_blank_zero, test_wrong_answer_is_caught_and_diagnosed,
 test_isolated_regrade_agrees_with_nbgrader, test_diagnoses_are_specific,
 test_held_out_wrong_answer_is_caught, test_right_answer_written_differently_full_marks) = catalogue_tests(
    ASSIGNMENT, CATALOGUE, held_out=HELD_OUT, rights=RIGHTS)
