"""Chapter 10: every catalogued wrong answer is caught by a real autograde and diagnosed in the feedback.

The backward grader builds its cache with the student's own ``layernorm_forward`` and fails when it is
wrong, so a mistake in ``layernorm_backward`` never shares a submission with one in ``layernorm_forward``:
the mistakes of the four other functions are combined as in ``wrong_answers.grade_catalogue``, and the
backward mistakes are submitted one per notebook.
"""

from __future__ import annotations

import pytest

from wrong_answers import HeldOut, RightAnswer, WrongAnswer, assert_caught, catalogue_tests, submissions_of

ASSIGNMENT = "10_practice"
FORWARD, BACKWARD = "layernorm_forward", "layernorm_backward"

_PROGRESS = "min(global_step - warmup_steps, total_steps - warmup_steps) / (total_steps - warmup_steps)"
_NORM = "float(np.sqrt(sum(np.sum(g * g) for g in grads)))"
_SCALE = "scale = max_norm / max(global_norm, max_norm)"
_RETURN = "return [g * scale for g in grads], global_norm"
_STATS = "mean = x.mean(axis=1, keepdims=True)\n    var = x.var(axis=1, keepdims=True)"
_DX = """dx = (D * dx_hat - dx_hat.sum(axis=1, keepdims=True)
          - x_hat * (dx_hat * x_hat).sum(axis=1, keepdims=True)) / (D * std)"""
_LAMBDA = "return float(v @ hvp(v)), v"

CATALOGUE = [
    # warmup_cosine
    WrongAnswer("warmup_cosine", "return learning_rate * global_step / warmup_steps",
                "return learning_rate * (global_step + 1) / warmup_steps", "warmup off by one"),
    WrongAnswer("warmup_cosine", _PROGRESS, "(global_step - warmup_steps) / (total_steps - warmup_steps)",
                "not clamped after total_steps"),
    WrongAnswer("warmup_cosine", _PROGRESS, "min(global_step, total_steps) / total_steps",
                "cosine progress counted from step 0 over total_steps"),
    WrongAnswer("warmup_cosine", "0.5 * (1.0 + np.cos(np.pi * progress))", "1.0 + np.cos(np.pi * progress)",
                "the factor 1/2 of the cosine is missing"),
    WrongAnswer("warmup_cosine", "(alpha + (1.0 - alpha) * cosine)", "cosine", "alpha ignored"),
    WrongAnswer("warmup_cosine", "alpha=0.0):", "alpha=0.1):", "wrong default for alpha"),
    # clip_by_global_norm
    WrongAnswer("clip_by_global_norm", _SCALE, "scale = min(1.0, max_norm / (global_norm + 1e-6))",
                "PyTorch's clip_grad_norm_ convention"),
    WrongAnswer("clip_by_global_norm", _RETURN, "return [np.clip(g, -max_norm, max_norm) for g in grads], global_norm",
                "clipping by value"),
    WrongAnswer("clip_by_global_norm", _SCALE, "scale = max_norm / global_norm",
                "rescaled even when their norm is below max_norm"),
    WrongAnswer("clip_by_global_norm", _NORM, "float(sum(np.sum(g * g) for g in grads))", "without the square root"),
    WrongAnswer("clip_by_global_norm", _NORM, "float(sum(np.linalg.norm(g) for g in grads))",
                "the sum of the arrays' norms"),
    WrongAnswer("clip_by_global_norm", _RETURN, "return [g * scale for g in grads]", "only the clipped list is returned"),
    # layernorm_forward
    WrongAnswer(FORWARD, _STATS, _STATS.replace("axis=1", "axis=0"), "statistics over the batch (axis=0"),
    WrongAnswer(FORWARD, "var = x.var(axis=1, keepdims=True)", "var = x.var(axis=1, ddof=1, keepdims=True)",
                "unbiased variance (ddof=1)"),
    WrongAnswer(FORWARD, "std = np.sqrt(var + eps)", "std = np.sqrt(var) + eps", "eps outside the square root"),
    WrongAnswer(FORWARD, "out = gamma * x_hat + beta", "out = x_hat + beta", "gamma not applied"),
    WrongAnswer(FORWARD, 'eps = ln_param.get("eps", 1e-5)', 'eps = ln_param.get("eps", 1e-3)', "wrong default for eps"),
    WrongAnswer(FORWARD, "x_hat = (x - mean) / std", "x_hat = x / std", "mean not subtracted"),
    # layernorm_backward
    WrongAnswer(BACKWARD, _DX, _DX.replace(" - dx_hat.sum(axis=1, keepdims=True)", ""),
                "the gradient through the mean of each example is missing"),
    WrongAnswer(BACKWARD, "    dx_hat = dout * gamma\n" + "    " + _DX,
                "    dx_hat = dout\n    " + _DX.replace("/ (D * std)", "* gamma / (D * std)"),
                "gamma taken out of the sums"),
    WrongAnswer(BACKWARD, "dx_hat = dout * gamma", "dx_hat = dout", "gamma missing from dx"),
    WrongAnswer(BACKWARD, _DX, "dx = dx_hat / std", "mean and variance treated as constants"),
    WrongAnswer(BACKWARD, "dgamma = (dout * x_hat).sum(axis=0)", "dgamma = (dout * x_hat).sum(axis=1)",
                "dgamma summed over the wrong axis"),
    WrongAnswer(BACKWARD, "dbeta = dout.sum(axis=0)", "dbeta = dout", "dbeta not summed over the batch"),
    # top_hessian_eigenvalue
    WrongAnswer("top_hessian_eigenvalue", _LAMBDA, "return float(np.linalg.norm(hvp(v))), v", "the sign is lost"),
    WrongAnswer("top_hessian_eigenvalue", "v = w / np.linalg.norm(w)", "v = w", "v is not normalized in the loop"),
    WrongAnswer("top_hessian_eigenvalue", "for _ in range(num_iters):", "for _ in range(10):", "num_iters is ignored"),
    WrongAnswer("top_hessian_eigenvalue", "num_iters=100):", "num_iters=20):", "wrong default for num_iters"),
    WrongAnswer("top_hessian_eigenvalue", _LAMBDA, "return float(v @ hvp(v)), hvp(v)",
                "the returned eigenvector is H v"),
    WrongAnswer("top_hessian_eigenvalue", "w = hvp(v)", "w = hvp(v0)",
                "every iteration multiplies the starting vector"),
    # stable_learning_rate (outcome: partial credit for the hidden problems a wrong rate still solves)
    WrongAnswer("stable_learning_rate", "return 1.0 / sharpness", "return 2.0 / sharpness", "edge of stability",
                partial=True),
    WrongAnswer("stable_learning_rate", "return 1.0 / sharpness", "return 1.0 / np.linalg.norm(grad_fn(w))",
                "from the gradient norm"),
    WrongAnswer("stable_learning_rate", "for _ in range(30):", "for _ in range(2):", "sharpness L is underestimated",
                partial=True),
]


def submissions(catalogue: list[WrongAnswer]) -> dict[str, list[WrongAnswer]]:
    """``{student: wrong answers}``: backward mistakes one per notebook; the others combined."""
    backward = [wrong for wrong in catalogue if wrong.function == BACKWARD]
    others = [wrong for wrong in catalogue if wrong.function != BACKWARD]
    result = dict(submissions_of(others))
    result.update({f"wrong_backward_{k:02d}": [wrong] for k, wrong in enumerate(backward)})
    return result


# Held-out wrong answers (see wrong_answers.py): a listed mistake written with other algebra than the
# grader's known-mistake implementation, and mistakes no grader lists.
HELD_OUT = [
    HeldOut("warmup_cosine", "0.5 * (1.0 + np.cos(np.pi * progress))", "(0.5 * (1.0 + np.cos(np.pi * progress))) ** 2",
            "returned a wrong result", also=("values differ: expected",)),
    HeldOut("clip_by_global_norm", "[g * scale for g in grads]", "[g * scale ** 2 for g in grads]",
            "returned a wrong result", also=("clipped[0]: values differ",)),
    HeldOut(FORWARD, "out = gamma * x_hat + beta", "out = gamma * (x_hat + beta)", "returned a wrong result",
            also=("values differ at index",)),
    HeldOut("top_hessian_eigenvalue", "return float(v @ hvp(v)), v", "return float(np.linalg.norm(hvp(v))), v",
            "the sign is lost", listed=True),
]

# Right answers written another way: full marks in every cell of their function.
_POWER = """    r = 1e-4
    v = rng.standard_normal(w.shape)
    v = v / np.linalg.norm(v)
    sharpness = 0.0
    for _ in range(30):
        hv = (grad_fn(w + r * v) - grad_fn(w - r * v)) / (2 * r)"""

RIGHTS: list[RightAnswer] = [
    # a smaller margin: 1.5 / L is still safely below the edge 2 / L
    RightAnswer("stable_learning_rate", "return 1.0 / sharpness", "return 1.5 / sharpness"),
    # forward differences from one stored gradient: one call per product, so 60 power iterations
    RightAnswer("stable_learning_rate", _POWER,
                _POWER.replace("    r = 1e-4\n", "    r = 1e-5\n    g0 = grad_fn(w)\n").replace("range(30)", "range(60)")
                .replace("(grad_fn(w + r * v) - grad_fn(w - r * v)) / (2 * r)", "(grad_fn(w + r * v) - g0) / r")),
]

(course, test_model_answer_full_marks_and_blank_zero, _, test_isolated_regrade_agrees_with_nbgrader,
 test_diagnoses_are_specific, test_held_out_wrong_answer_is_caught,
 test_right_answer_written_differently_full_marks) = catalogue_tests(
    ASSIGNMENT, CATALOGUE, group=submissions, held_out=HELD_OUT, rights=RIGHTS)


@pytest.mark.parametrize("wrong", CATALOGUE, ids=lambda w: w.id)
def test_wrong_answer_is_caught_and_diagnosed(course, wrong):
    student = assert_caught(course, ASSIGNMENT, CATALOGUE, wrong, group=submissions)
    if wrong.function == BACKWARD:
        cells = course.cell_scores(student, ASSIGNMENT)
        assert cells[f"{FORWARD}_hidden"] > 0, "a backward mistake must not be confused with a forward one"
