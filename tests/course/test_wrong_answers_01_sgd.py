"""Chapter 1: every catalogued wrong answer is caught by a real autograde and diagnosed in the feedback."""

from __future__ import annotations

from wrong_answers import WrongAnswer, catalogue_tests

ASSIGNMENT = "01_sgd"
CATALOGUE = [
    WrongAnswer("sgd", 'w - config["learning_rate"] * dw', 'w + config["learning_rate"] * dw', "sign of the update is flipped"),
    WrongAnswer("sgd", 'w - config["learning_rate"] * dw', "w - 1e-2 * dw", "learning_rate"),
    WrongAnswer("sgd", 'next_w = w - config["learning_rate"] * dw', 'w -= config["learning_rate"] * dw\n    next_w = w',
                "in place"),
    WrongAnswer("minibatches", "order = np.arange(n_examples) if rng is None else rng.permutation(n_examples)",
                "order = np.arange(n_examples)", "not shuffled"),
    WrongAnswer("minibatches", "for start in range(0, n_examples, batch_size)",
                "for start in range(0, n_examples - batch_size + 1, batch_size)", "dropped"),
    WrongAnswer("lr_range_test", "np.geomspace(min_lr, max_lr, num_steps)", "np.linspace(min_lr, max_lr, num_steps)",
                "geometrically"),
    WrongAnswer("lr_range_test", "if loss > divergence_factor * best:\n            break", "pass", "no early stop"),
]


(course, test_model_answer_full_marks_and_blank_zero, test_wrong_answer_is_caught_and_diagnosed,
 test_isolated_regrade_agrees_with_nbgrader) = catalogue_tests(
    ASSIGNMENT, CATALOGUE
)
