"""Chapter 7: every catalogued wrong answer is caught by a real autograde and diagnosed in the feedback."""

from __future__ import annotations

from wrong_answers import WrongAnswer, catalogue_tests

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
]


(course, test_model_answer_full_marks_and_blank_zero, test_wrong_answer_is_caught_and_diagnosed,
 test_isolated_regrade_agrees_with_nbgrader) = catalogue_tests(
    ASSIGNMENT, CATALOGUE
)
