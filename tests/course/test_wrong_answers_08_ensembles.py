"""Chapter 8: every catalogued wrong answer is caught by a real autograde and diagnosed in the feedback."""

from __future__ import annotations

from wrong_answers import HeldOut, RightAnswer, WrongAnswer, catalogue_tests

ASSIGNMENT = "08_ensembles"
CATALOGUE = [
    WrongAnswer("ensemble_predict", "stacked.mean(axis=0)", "stacked.mean(axis=-1)", "not over the classes"),
    WrongAnswer("ensemble_predict", "stacked.mean(axis=0)", "stacked.mean(axis=1)", "not over the examples"),
    WrongAnswer("ensemble_predict", "stacked.mean(axis=0)", "stacked.mean()", "np.mean without axis"),
    WrongAnswer("ensemble_predict", "stacked.mean(axis=0)", "stacked.sum(axis=0)", "sum instead of mean"),
    WrongAnswer("ensemble_predict", "stacked.mean(axis=0)", "stacked.mean(axis=0).argmax(axis=1)",
                "return the averaged probabilities, not the labels"),
    WrongAnswer("ensemble_predict", "return stacked.mean(axis=0)",
                "votes = np.eye(stacked.shape[-1])[stacked.argmax(axis=-1)]\n    return votes.mean(axis=0)",
                "majority vote"),
    WrongAnswer("polyak_average", "history.mean(axis=0)", "history[-1]", "final iterate, not the Polyak average"),
    WrongAnswer("polyak_average", "history.mean(axis=0)", "history[1:].mean(axis=0)",
                "first entry of the history is left out"),
    WrongAnswer("polyak_average", "history.mean(axis=0)", "history.sum(axis=0) / (len(history) + 1)",
                "len(history) + 1"),
    WrongAnswer("polyak_average", "history.mean(axis=0)", "history.mean(axis=-1)", "wrong axis"),
    WrongAnswer("polyak_average",
                "history = np.asarray(params_history, dtype=float)   # shape (T, *shape of one iterate)\n"
                "    return history.mean(axis=0)",
                "total = params_history[0]\n    for w in params_history[1:]:\n        total += w\n"
                "    return total / len(params_history)",
                "in place"),
    WrongAnswer("polyak_average", "history.mean(axis=0)", "history.sum(axis=0)", "sum instead of mean"),
    WrongAnswer("ema_update", "decay * average + (1.0 - decay) * params", "(1.0 - decay) * average + decay * params",
                "decay weights swapped"),
    WrongAnswer("ema_update", "decay=0.999", "decay=0.99", "wrong default for decay"),
    WrongAnswer("ema_update", "decay * average + (1.0 - decay) * params", "decay * average + params",
                "(1 - decay) missing"),
    WrongAnswer("ema_update", "new_average = decay * average + (1.0 - decay) * params",
                "average *= decay\n    average += (1.0 - decay) * params\n    new_average = average", "in place"),
    WrongAnswer("ema_update", "decay * average + (1.0 - decay) * params", "average - (1.0 - decay) * (params - average)",
                "sign error"),
    WrongAnswer("ema_update", "decay * average + (1.0 - decay) * params", "0.5 * (average + params)",
                "plain mean of the average and the parameters"),
    # the outcome task: judged on hidden pools by the chosen ensemble's held-out log loss
    WrongAnswer("select_ensemble", "best = int(np.argmin(candidate_losses))", "best = int(np.argmax(candidate_losses))",
                "the worst models"),
    WrongAnswer("select_ensemble", "    return picks", "    return list(range(len(probs)))", "every model averaged"),
    WrongAnswer("select_ensemble", "    return picks",
                "    own_losses = -np.log(np.maximum(true_class, 1e-15)).mean(axis=1)\n"
                "    return [int(m) for m in np.argsort(own_losses)[:min(size, len(own_losses))]]",
                "top-k models by their own validation loss", partial=True),
]


# Held-out wrong answers (see wrong_answers.py): listed mistakes written with other algebra than the
# graders' known-mistake implementations, and mistakes no grader lists.
HELD_OUT = [
    HeldOut("ensemble_predict", "stacked.mean(axis=0)", "np.add.reduce(stacked, axis=0)",
            "sum instead of mean over the models", listed=True),
    HeldOut("ensemble_predict", "stacked.mean(axis=0)", "stacked[1:].mean(axis=0)", "returned a wrong result",
            also=("ensemble_predict(",)),
    HeldOut("polyak_average", "history.mean(axis=0)", "history[:-1].sum(axis=0) / (len(history) - 1)",
            "the last entry of the history is left out of the average", listed=True),
    HeldOut("polyak_average", "history.mean(axis=0)",
            "np.average(history, axis=0, weights=np.arange(1, len(history) + 1))", "returned a wrong result",
            also=("polyak_average(",)),
    HeldOut("ema_update", "decay * average + (1.0 - decay) * params", "average + decay * (params - average)",
            "decay weights swapped", listed=True),
    HeldOut("ema_update", "decay * average + (1.0 - decay) * params",
            "decay ** 2 * average + (1.0 - decay ** 2) * params", "returned a wrong result", also=("ema_update(",)),
]


# Right answers written another way: full marks in every cell of their function.
RIGHTS: list[RightAnswer] = [
    # early stopping: keep the prefix of the picks whose ensemble has the lowest validation loss
    RightAnswer("select_ensemble", "    return picks",
                "    prefix_means = np.cumsum(true_class[picks], axis=0) / np.arange(1, len(picks) + 1)[:, None]\n"
                "    prefix_losses = -np.log(np.maximum(prefix_means, 1e-15)).mean(axis=1)\n"
                "    return picks[:int(np.argmin(prefix_losses)) + 1]"),
    # the Brier score instead of the log loss as the selection criterion (a proper scoring rule too)
    RightAnswer("select_ensemble",
                "        candidate_losses = -np.log(np.maximum((total + true_class) / (k + 1), 1e-15)).mean(axis=1)",
                "        chosen_sum = probs[picks].sum(axis=0)\n"
                "        one_hot = np.eye(probs.shape[2])[labels]\n"
                "        candidate_losses = (((chosen_sum + probs) / (k + 1) - one_hot) ** 2).sum(axis=2).mean(axis=1)"),
]

(course, test_model_answer_full_marks_and_blank_zero, test_wrong_answer_is_caught_and_diagnosed,
 test_isolated_regrade_agrees_with_nbgrader, test_diagnoses_are_specific,
 test_held_out_wrong_answer_is_caught, test_right_answer_written_differently_full_marks) = catalogue_tests(
    ASSIGNMENT, CATALOGUE, held_out=HELD_OUT, rights=RIGHTS)
