"""Chapter 7: every catalogued wrong answer is caught by a real autograde and diagnosed in the feedback."""

from __future__ import annotations

from wrong_answers import HeldOut, RightAnswer, WrongAnswer, catalogue_tests

ASSIGNMENT = "07_hyperparameter_search"
SORT = 'sorted(trials, key=lambda trial: (math.isnan(trial["score"]), trial["score"]))'
DRAW = "        params = {name: sampler(rng) for name, sampler in space.items()}\n"
CATALOGUE = [
    # sample_log_uniform
    WrongAnswer("sample_log_uniform", "rng.uniform(low, high, size)",
                "np.log10(rng.uniform(10.0 ** low, 10.0 ** high, size))", "linear instead of log-uniform"),
    WrongAnswer("sample_log_uniform", "10.0 ** exponent", "np.exp(exponent)", "natural exponent"),
    WrongAnswer("sample_log_uniform", "rng.uniform(low, high, size)", "rng.uniform(high, low, size)", "swapped"),
    WrongAnswer("sample_log_uniform", "rng.uniform(low, high, size)", "np.random.uniform(low, high, size)",
                "rng argument was not used"),
    WrongAnswer("sample_log_uniform", "rng.uniform(low, high, size)",
                "rng.uniform(np.log10(low), np.log10(high), size)", "treated as values, not exponents"),
    WrongAnswer("sample_log_uniform", "rng.uniform(low, high, size)", "rng.uniform(low, high)", "size ignored"),
    # random_search
    WrongAnswer("random_search", SORT, SORT[:-1] + ", reverse=True)", "worst first"),
    WrongAnswer("random_search", SORT, 'sorted(trials, key=lambda trial: trial["score"])', "NaN scores"),
    WrongAnswer("random_search", "    for _ in range(n_trials):\n" + DRAW,
                DRAW.replace("        ", "    ", 1) + "    for _ in range(n_trials):\n", "sampled once"),
    WrongAnswer("random_search", "sampler(rng)", "sampler(np.random.default_rng())", "rng argument was not used"),
    WrongAnswer("random_search", "objective(dict(params))", "objective(**params)", "keyword arguments"),
    WrongAnswer("random_search", "return " + SORT, "return trials", "not sorted"),
    # grid_search
    WrongAnswer("grid_search", "itertools.product(", "zip(", "zipped together"),
    WrongAnswer("grid_search", SORT, 'sorted(trials, key=lambda trial: trial["score"])', "NaN scores"),
    WrongAnswer("grid_search", SORT, SORT[:-1] + ", reverse=True)", "worst first"),
    WrongAnswer("grid_search", "return " + SORT, "return " + SORT + "[0]", "only the best trial"),
    WrongAnswer("grid_search", "objective(dict(params))", "objective(**params)", "keyword arguments"),
    WrongAnswer("grid_search", "(grid[name] for name in names)", "(grid[name][:-1] for name in names)",
                "last value of each hyperparameter is skipped"),
    # successive_halving
    WrongAnswer("successive_halving", "key=lambda result: rank(*result))[:keep]",
                "key=lambda result: rank(*result), reverse=True)[:keep]", "worst configurations are kept"),
    WrongAnswer("successive_halving", "        budget = min_budget * reduction_factor ** rung\n",
                "        budget = min_budget\n", "the budget does not grow"),
    WrongAnswer("successive_halving", "keep = max(1, n // reduction_factor ** rung)",
                "keep = max(1, -(-n // reduction_factor ** rung))", "rounded up"),
    WrongAnswer("successive_halving", "** (rung + 1) > max_budget", "** (rung + 1) >= max_budget", "one rung too few"),
    WrongAnswer("successive_halving", "return (math.isnan(score), score, index)",
                "return (math.isnan(score), score, -index)", "ties broken against the order of configs"),
    WrongAnswer("successive_halving", "train(dict(configs[index]), budget)",
                "train(dict(configs[index]), budget=budget)", "budget as a keyword argument"),
    WrongAnswer("successive_halving", "(-latest[index][0],) + rank(", "() + rank(", "sorted by score alone"),
    # tune_hyperparameters (an outcome task: judged on hidden tuning problems, partial credit)
    WrongAnswer("tune_hyperparameters", "return rng.uniform(lower, upper)",
                "return np.log10(rng.uniform(10.0 ** lower, 10.0 ** upper))", "a search on a linear scale",
                partial=True),
    WrongAnswer("tune_hyperparameters", "for t in range(1, budget + 1):", "for t in range(budget + 1):",
                "over the budget"),
    WrongAnswer("tune_hyperparameters", '"weight_decay": float(10.0 ** exponents[1])', '"weight_decay": 1e-4',
                "weight_decay was never varied", partial=True),
]


# Held-out wrong answers (see wrong_answers.py): listed mistakes written with other algebra than the
# graders' known-mistake implementations, and mistakes no grader lists.
HELD_OUT = [
    HeldOut("sample_log_uniform", "10.0 ** exponent", "np.exp(exponent)", "natural exponent", listed=True),
    HeldOut("sample_log_uniform", "rng.uniform(low, high, size)", "rng.uniform(low, high + 1, size)",
            "returned a wrong result", also=("sample_log_uniform(",)),
    HeldOut("random_search", "for _ in range(n_trials)", "for _ in range(-1, n_trials)", "one trial too many",
            listed=True),
    HeldOut("random_search", '"score": score}', '"score": round(score, 3)}', "returned a wrong result",
            also=("random_search(",)),
    HeldOut("grid_search", "grid[name] for name in names", "grid[name][:-1] for name in names",
            "the last value of each hyperparameter is skipped", listed=True),
    HeldOut("grid_search", "params = dict(zip(names, combination))",
            "params = dict(zip(names, reversed(combination)))", "returned a wrong result", also=("grid_search(",)),
]


# Right answers written another way: full marks in every cell of their function.
RIGHTS: list[RightAnswer] = [
    # the whole budget on a log-uniform random search, no refinement
    RightAnswer("tune_hyperparameters", "explore = (budget + 1) // 2", "explore = budget"),
    # the exponent drawn on the natural-log scale: the same distribution, other arithmetic
    RightAnswer("tune_hyperparameters", "return rng.uniform(lower, upper)",
                "return rng.uniform(lower * math.log(10), upper * math.log(10)) / math.log(10)"),
]

(course, test_model_answer_full_marks_and_blank_zero, test_wrong_answer_is_caught_and_diagnosed,
 test_isolated_regrade_agrees_with_nbgrader, test_diagnoses_are_specific,
 test_held_out_wrong_answer_is_caught, test_right_answer_written_differently_full_marks) = catalogue_tests(
    ASSIGNMENT, CATALOGUE, held_out=HELD_OUT, rights=RIGHTS)
