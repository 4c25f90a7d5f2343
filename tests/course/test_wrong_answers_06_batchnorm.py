"""Chapter 6: every catalogued wrong answer is caught by a real autograde and diagnosed in the feedback.

The backward graders build their cache with the student's own ``batchnorm_forward`` and fail when it
is wrong, so a mistake in ``batchnorm_forward`` must not share a submission with a mistake in a
backward pass: forward mistakes are submitted one per notebook, the two backward passes' mistakes
are combined as in ``wrong_answers.grade_catalogue``.
"""

from __future__ import annotations

import pytest

from wrong_answers import HeldOut, RightAnswer, WrongAnswer, assert_caught, catalogue_tests, submissions_of

ASSIGNMENT = "06_batchnorm"
FORWARD, BACKWARD, ALT = "batchnorm_forward", "batchnorm_backward", "batchnorm_backward_alt"
FOLD = "fold_batchnorm"
ALT_DX = "dx = gamma / (N * std) * (N * dout - dbeta - x_hat * dgamma)"

CATALOGUE = [
    WrongAnswer(FORWARD, "sample_var = (x_centered ** 2).mean(axis=0)", "sample_var = x.var(axis=0, ddof=1)",
                "unbiased variance (ddof=1): batch normalization uses the biased batch variance"),
    WrongAnswer(FORWARD, "std = np.sqrt(sample_var + eps)", "std = np.sqrt(sample_var) + eps",
                "eps outside the square root"),
    WrongAnswer(FORWARD,
                "running_mean = momentum * running_mean + (1 - momentum) * sample_mean\n"
                "        running_var = momentum * running_var + (1 - momentum) * sample_var",
                "running_mean = (1 - momentum) * running_mean + momentum * sample_mean\n"
                "        running_var = (1 - momentum) * running_var + momentum * sample_var",
                "momentum weights swapped"),
    WrongAnswer(FORWARD, "x_centered = x - running_mean\n        std = np.sqrt(running_var + eps)",
                "x_centered = x - x.mean(axis=0)\n        std = np.sqrt(x.var(axis=0) + eps)",
                "test mode uses the batch statistics"),
    WrongAnswer(FORWARD,
                "        running_mean = momentum * running_mean + (1 - momentum) * sample_mean\n"
                "        running_var = momentum * running_var + (1 - momentum) * sample_var\n", "",
                "running averages not updated"),
    WrongAnswer(FORWARD, "running_var = momentum * running_var + (1 - momentum) * sample_var",
                "running_var = momentum * running_var + (1 - momentum) * x.var(axis=0, ddof=1)",
                "unbiased variance (ddof=1) in the running variance"),
    WrongAnswer(BACKWARD, "dmean = -dx_centered.sum(axis=0)", "dmean = 0.0", "gradient through the batch mean is missing"),
    WrongAnswer(BACKWARD, "dx_centered = dx_centered + 2 * x_centered * dvar / N", "dx_centered = dx_centered",
                "gradient through the batch variance is missing"),
    WrongAnswer(BACKWARD, "dx = dx_centered + dmean / N", "dx = dx_hat / std", "mean and variance treated as constants"),
    WrongAnswer(BACKWARD, "dstd = -(dx_hat * x_centered)", "dstd = (dx_hat * x_centered)", "sign error in the variance term"),
    WrongAnswer(BACKWARD, "dx_hat = dout * gamma", "dx_hat = dout", "gamma missing from dx"),
    WrongAnswer(BACKWARD, "dgamma = (dout * x_hat).sum(axis=0)", "dgamma = (dout * x_hat).mean(axis=0)",
                "dgamma averaged instead of summed"),
    WrongAnswer(ALT, ALT_DX, ALT_DX.replace("N * dout - dbeta - x_hat", "N * dout - x_hat"),
                "gradient through the batch mean is missing"),
    WrongAnswer(ALT, ALT_DX, ALT_DX.replace(" - x_hat * dgamma", ""), "gradient through the batch variance is missing"),
    WrongAnswer(ALT, ALT_DX, "dx = gamma * dout / std", "mean and variance treated as constants"),
    WrongAnswer(ALT, ALT_DX, ALT_DX.replace("- x_hat * dgamma", "+ x_hat * dgamma"), "sign error in the variance term"),
    WrongAnswer(ALT, ALT_DX, ALT_DX.replace("dx = gamma / (N * std)", "dx = 1 / (N * std)"), "gamma missing from dx"),
    # the outcome task: judged on hidden layers by the folded layer's outputs
    WrongAnswer(FOLD, "np.sqrt(running_var + eps)", "np.sqrt(running_var)", "eps forgotten"),
    WrongAnswer(FOLD, "np.sqrt(running_var + eps)", "(running_var + eps)", "the variance is not square-rooted"),
    WrongAnswer(FOLD, "b_folded = (b - running_mean) * scale + beta", "b_folded = (b - running_mean) * scale",
                "beta not folded into the bias"),
]


def submissions(catalogue: list[WrongAnswer]) -> dict[str, list[WrongAnswer]]:
    """``{student: wrong answers}``: one forward mistake per notebook; backward mistakes combined."""
    forward = [wrong for wrong in catalogue if wrong.function == FORWARD]
    backward = [wrong for wrong in catalogue if wrong.function != FORWARD]
    result = {f"wrong_forward_{k:02d}": [wrong] for k, wrong in enumerate(forward)}
    result.update({f"{student}_backward": wrongs for student, wrongs in submissions_of(backward).items()})
    return result


# Held-out wrong answers (see wrong_answers.py): listed mistakes written with other algebra than the
# graders' known-mistake implementations, and mistakes no grader lists.
HELD_OUT = [
    HeldOut(FORWARD, "std = np.sqrt(sample_var + eps)", "std = sample_var ** 0.5",
            "eps ignored: divide by sqrt(var + eps)", listed=True),
    HeldOut(FORWARD, "out = gamma * x_hat + beta", "out = gamma * (x_hat + beta)", "returned a wrong result",
            also=("out: values differ",)),
    HeldOut(BACKWARD, "N = dout.shape[0]", "N = dout.shape[0] - 1", "N - 1 instead of N in dx", listed=True),
    HeldOut(BACKWARD, "dvar = dstd / (2 * std)", "dvar = dstd / 2", "returned a wrong result",
            also=("dx: values differ",)),
    HeldOut(ALT, "dx = gamma / (N * std) * (", "dx = 1 / (N * std) * (", "gamma missing from dx", listed=True),
    HeldOut(ALT, "dgamma = (dout * x_hat).sum(axis=0)", "dgamma = (dout * x_hat ** 2).sum(axis=0)",
            "returned a wrong result", also=("dx: values differ",)),
]


# Right answers written another way: full marks in every cell of their function.
RIGHTS: list[RightAnswer] = [
    RightAnswer(FOLD, "W_folded = W * scale", "W_folded = W @ np.diag(scale)"),
    RightAnswer(FOLD, "b_folded = (b - running_mean) * scale + beta",
                "b_folded = beta + np.einsum('j,j->j', b, scale) - running_mean * scale"),
]

(course, test_model_answer_full_marks_and_blank_zero, _, test_isolated_regrade_agrees_with_nbgrader,
 test_diagnoses_are_specific, test_held_out_wrong_answer_is_caught,
 test_right_answer_written_differently_full_marks) = catalogue_tests(
    ASSIGNMENT, CATALOGUE, group=submissions, held_out=HELD_OUT, rights=RIGHTS)


@pytest.mark.parametrize("wrong", CATALOGUE, ids=lambda w: w.id)
def test_wrong_answer_is_caught_and_diagnosed(course, wrong):
    student = assert_caught(course, ASSIGNMENT, CATALOGUE, wrong, group=submissions)
    if wrong.function != FORWARD:
        cells = course.cell_scores(student, ASSIGNMENT)
        assert cells[f"{FORWARD}_hidden"] > 0, "a backward mistake must not be confused with a forward one"
