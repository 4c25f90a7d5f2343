"""Graders for chapter 7, hyperparameter search.

Every call gets a freshly seeded ``np.random.Generator``, so the student's function, the reference
and each catalogued mistake draw the same numbers. Trials are ``{"params": {...}, "score": float}``
sorted best (lowest score) first; NaN scores (diverged runs) last. Among trials with equal scores any
order is accepted (a right answer that sorts with ``np.argsort`` passes).
"""

from __future__ import annotations

import copy
import itertools
import math
import numbers

import numpy as np

from .. import search as _reference
from ._common_checks import Case, Mistake, check_cases, compare_values, short
from ._report import show

__all__ = ["check_sample_log_uniform", "check_random_search", "check_grid_search", "check_successive_halving", "MISTAKES"]


# --------------------------------------------------------------------------------------------
# Observing the rng: did the function draw from the generator it was given?
# --------------------------------------------------------------------------------------------

def _rng_argument(args):
    return next((a for a in args if isinstance(a, np.random.Generator)), None)


def _observe_rng(function):
    """Wrap ``function`` to return ``(result, rng_untouched)``."""

    def observed(*args, **kwargs):
        rng = _rng_argument(args)
        before = copy.deepcopy(rng.bit_generator.state) if rng is not None else None
        result = function(*args, **kwargs)
        untouched = rng is not None and rng.bit_generator.state == before
        return result, untouched

    observed.__name__ = getattr(function, "__name__", "function")
    return observed


def _rng_unused(args, kwargs, got):
    return isinstance(got, tuple) and len(got) == 2 and got[1] is True


_RNG_UNUSED = Mistake(
    "the rng argument was not used (np.random.* or a new generator instead of the seeded rng given): "
    "draw every random number from rng", detector=_rng_unused)


# --------------------------------------------------------------------------------------------
# sample_log_uniform
# --------------------------------------------------------------------------------------------

def _compare_samples(expected, got):
    return compare_values(expected[0], got[0], rtol=1e-6, atol=0.0)


def _sampler(formula):
    def sample_log_uniform(rng, low, high, size=None):
        return formula(rng, low, high, size)

    return sample_log_uniform


SAMPLE_MISTAKES = [
    Mistake("linear instead of log-uniform: uniform(10**low, 10**high) puts almost every sample in the top decade; "
            "sample the exponent: 10 ** uniform(low, high)",
            _sampler(lambda rng, low, high, size: rng.uniform(10.0 ** low, 10.0 ** high, size))),
    Mistake("natural exponent: exp(uniform(low, high)); low and high are exponents of 10",
            _sampler(lambda rng, low, high, size: np.exp(rng.uniform(low, high, size)))),
    Mistake("the exponent is returned: uniform(low, high) without 10 ** ...",
            _sampler(lambda rng, low, high, size: rng.uniform(low, high, size))),
    Mistake("low and high swapped in rng.uniform",
            _sampler(lambda rng, low, high, size: 10.0 ** rng.uniform(high, low, size))),
    Mistake("low and high treated as values, not exponents (10 ** uniform(log10(low), log10(high)))",
            _sampler(lambda rng, low, high, size: 10.0 ** rng.uniform(np.log10(low), np.log10(high), size))),
    Mistake("integer exponents only (rng.integers); the exponent is a real number uniform in [low, high)",
            _sampler(lambda rng, low, high, size: 10.0 ** rng.integers(low, high, size))),
    Mistake("size ignored: one number returned where an array of the given size is asked for",
            _sampler(lambda rng, low, high, size: float(10.0 ** rng.uniform(low, high)))),
    Mistake("size=None gives an array of shape (1,); it must give a single float",
            _sampler(lambda rng, low, high, size: 10.0 ** rng.uniform(low, high, 1 if size is None else size))),
    Mistake("the base and the exponent swapped: uniform(low, high) ** 10",
            _sampler(lambda rng, low, high, size: rng.uniform(low, high, size) ** 10)),
    _RNG_UNUSED,
]


def _sample_case(seed, low, high, size, *, size_given=True):
    def make():
        rng = np.random.default_rng(seed)
        return ((rng, low, high, size) if size_given else (rng, low, high)), {}

    note = f"np.random.default_rng({seed}), low={low}, high={high}, " + (f"size={size!r}" if size_given else "size left at its default")
    return Case(make, note)


def _sample_cases():
    return [
        _sample_case(0, -6, -1, 5),
        _sample_case(1, -4, 0, (2, 3)),
        _sample_case(2, -3, 2, None),
        _sample_case(3, -5.5, -2.5, 10, size_given=True),
        _sample_case(4, -2, -1, None, size_given=False),
        _sample_case(5, 0, 3, 4),
        _sample_case(6, -7, -3, 1),
    ]


def check_sample_log_uniform(sample_log_uniform) -> None:
    """Grade ``sample_log_uniform(rng, low, high, size=None)`` (``10 ** rng.uniform(low, high, size)``)."""
    check_cases("sample_log_uniform", sample_log_uniform, _reference.sample_log_uniform, _sample_cases(),
                SAMPLE_MISTAKES, compare=_compare_samples, adapt=_observe_rng)


# --------------------------------------------------------------------------------------------
# Comparing lists of trials
# --------------------------------------------------------------------------------------------

def _is_nan(value):
    try:
        return math.isnan(value)
    except TypeError:
        return False


def _same_value(a, b):
    if isinstance(a, (numbers.Real, np.floating, np.integer)) and isinstance(b, (numbers.Real, np.floating, np.integer)) \
            and not isinstance(a, (bool, np.bool_)):
        a, b = float(a), float(b)
        return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= 1e-12 + 1e-6 * abs(a)
    try:
        return bool(a == b)
    except Exception:
        return False


def _canonical(trials):
    """Trials sorted by (NaN last, score, params), so that ties may come in any order."""
    return sorted(trials, key=lambda t: (_is_nan(t["score"]), 0.0 if _is_nan(t["score"]) else float(t["score"]),
                                         repr(sorted((k, repr(v)) for k, v in t["params"].items()))))


def _compare_trials(expected, got):
    expected_trials, got_trials = expected[0], got[0]
    if isinstance(expected_trials, dict) or isinstance(got_trials, dict):
        if not isinstance(got_trials, dict):
            return f"expected a single trial {show(expected_trials)}, got {show(got_trials)}"
        if not isinstance(expected_trials, dict):
            return f"expected a list of {len(expected_trials)} trials, got a single dict {show(got_trials)}"
        expected_trials, got_trials = [expected_trials], [got_trials]
    try:
        got_trials = list(got_trials)
    except TypeError:
        return f"expected a list of {len(expected_trials)} trials, got {show(got_trials)}"
    for index, trial in enumerate(got_trials):
        if not isinstance(trial, dict) or "params" not in trial or "score" not in trial:
            return (f"each trial must be a dict {{'params': {{...}}, 'score': float}}; trial {index} is {show(trial)}")
        if not isinstance(trial["params"], dict):
            return f"trial {index}: 'params' must be a dict name -> value, got {show(trial['params'])}"
    if len(got_trials) != len(expected_trials):
        return f"expected {len(expected_trials)} trials, got {len(got_trials)}"
    expected_scores = [t["score"] for t in expected_trials]
    try:
        got_scores = [float(t["score"]) for t in got_trials]
    except (TypeError, ValueError):
        return f"every 'score' must be a number; got {show([t['score'] for t in got_trials])}"
    for index, (want, have) in enumerate(zip(expected_scores, got_scores)):
        if not _same_value(want, have):
            return (f"the score of trial {index} (sorted best first, lowest score first, NaN last) should be "
                    f"{want!r}, got {have!r}\n  expected scores: {_short_list(expected_scores)}\n"
                    f"  got scores:      {_short_list(got_scores)}")
    for index, (want, have) in enumerate(zip(_canonical(expected_trials), _canonical(got_trials))):
        if set(want["params"]) != set(have["params"]):
            return f"a trial's params should have the names {sorted(want['params'])}, got {sorted(have['params'])}"
        for name in want["params"]:
            if not _same_value(want["params"][name], have["params"][name]):
                return (f"the trial with score {want['score']!r} should have params {short(want['params'])}, "
                        f"got {short(have['params'])}")
    return None


def _short_list(values):
    text = "[" + ", ".join(f"{v:.6g}" if isinstance(v, float) else repr(v) for v in values[:8]) + "]"
    return text if len(values) <= 8 else text[:-1] + f", ... ({len(values)} in all)]"


def _sort(trials, *, reverse=False, nan_last=True):
    if not nan_last:
        return sorted(trials, key=lambda t: t["score"], reverse=reverse)
    return sorted(trials, key=lambda t: (_is_nan(t["score"]) != reverse, t["score"] if not _is_nan(t["score"]) else 0.0),
                  reverse=reverse)


def _finish(trials, how):
    if how == "best_first":
        return _sort(trials)
    if how == "worst_first":
        return _sort(trials, reverse=True)
    if how == "unsorted":
        return trials
    if how == "nan_anywhere":
        return _sort(trials, nan_last=False)
    if how == "best_only":
        return _sort(trials)[0]
    if how == "negated":
        return _sort([{"params": t["params"], "score": -t["score"]} for t in trials])
    if how == "no_key":
        return sorted(trials)  # TypeError: '<' not supported between instances of 'dict' and 'dict'
    if how == "nan_first":
        return sorted(trials, key=lambda t: (not _is_nan(t["score"]), t["score"] if not _is_nan(t["score"]) else 0.0))
    raise ValueError(how)


_SORT_MISTAKES = [
    ("results sorted worst first: lower scores are better, so sort ascending (best = lowest score first)", "worst_first"),
    ("results not sorted: return the trials sorted best (lowest score) first", "unsorted"),
    ("score negated (higher treated as better); lower scores are better here", "negated"),
    ("only the best trial returned; return every trial, sorted best first", "best_only"),
    ("NaN scores (diverged runs) not placed last: sorting with NaN keys gives an arbitrary order", "nan_anywhere"),
    ("NaN scores (diverged runs) placed first; they count as the worst", "nan_first"),
    ("the trials are sorted without a key: sorted(trials) compares the dicts themselves and raises TypeError; "
     "sort by the score, e.g. sorted(trials, key=...) with NaN scores last", "no_key"),
]


# --------------------------------------------------------------------------------------------
# random_search
# --------------------------------------------------------------------------------------------

def _evaluate(objective, samples: list[dict], call: str) -> list[dict]:
    """The unsorted trials of a mutant: ``objective(params)`` per sample (``objective(**params)`` if
    ``call == "kwargs"``, a catalogued mistake)."""
    return [{"params": params, "score": float(objective(**params) if call == "kwargs" else objective(dict(params)))}
            for params in samples]


def _random_search_with(*, order="trial_major", finish="best_first", n_offset=0, space_order="insertion",
                        sample_once=False, call="dict"):
    def random_search(objective, space, n_trials, rng):
        names = {"insertion": list(space), "sorted": sorted(space), "reversed": list(reversed(list(space)))}[space_order]
        count = n_trials + n_offset
        if order == "trial_major":
            if sample_once:
                fixed = {name: space[name](rng) for name in names}
                samples = [dict(fixed) for _ in range(count)]
            else:
                samples = [{name: space[name](rng) for name in names} for _ in range(count)]
        else:
            columns = {name: [space[name](rng) for _ in range(count)] for name in names}
            samples = [{name: columns[name][i] for name in names} for i in range(count)]
        return _finish(_evaluate(objective, samples, call), finish)

    return random_search


RANDOM_SEARCH_MISTAKES = [
    Mistake(description, _random_search_with(finish=how)) for description, how in _SORT_MISTAKES
] + [
    Mistake("hyperparameters drawn column by column (all trials of one hyperparameter, then the next); draw every "
            "hyperparameter of a trial, in the order of space, before the next trial", _random_search_with(order="column_major")),
    Mistake("space iterated in sorted order; draw the hyperparameters in the insertion order of space",
            _random_search_with(space_order="sorted")),
    Mistake("space iterated in reverse order (reversed(space.items())); draw the hyperparameters in the insertion "
            "order of space", _random_search_with(space_order="reversed")),
    Mistake("parameters sampled once, before the loop: every trial evaluates the same point", _random_search_with(sample_once=True)),
    Mistake("one trial too many (range(n_trials + 1))", _random_search_with(n_offset=1)),
    Mistake("one trial too few (range(n_trials - 1) or range(1, n_trials))", _random_search_with(n_offset=-1)),
    Mistake("objective called with keyword arguments (objective(**params)); call objective(params) with the dict",
            _random_search_with(call="kwargs")),
    _RNG_UNUSED,
]


def _objective_smooth(params):
    return (math.log10(params["learning_rate"]) + 2.5) ** 2 + 3.0 * (params["momentum"] - 0.9) ** 2


def _objective_diverging(params):
    if params["learning_rate"] > 3e-2:
        return float("nan")
    return (math.log10(params["learning_rate"]) + 3.0) ** 2 + params.get("weight_decay", 0.0)


def _objective_layers(params):
    return float(params["layers"]) + (0.5 if params["activation"] == "tanh" else 0.0)


def _objective_layers_only(params):
    return float(params["layers"])


def _space_lr_momentum():
    return {"learning_rate": lambda rng: float(10.0 ** rng.uniform(-5, -1)),
            "momentum": lambda rng: float(rng.uniform(0.5, 0.99))}


def _space_three():
    return {"learning_rate": lambda rng: float(10.0 ** rng.uniform(-5, -0.5)),
            "weight_decay": lambda rng: float(10.0 ** rng.uniform(-6, -2)),
            "batch_size": lambda rng: int(rng.choice([16, 32, 64]))}


def _space_categorical():
    return {"activation": lambda rng: str(rng.choice(["relu", "tanh"])),
            "layers": lambda rng: int(rng.integers(1, 4))}


def _random_case(seed, objective, space_factory, n_trials, note):
    def make():
        return (objective, space_factory(), n_trials, np.random.default_rng(seed)), {}

    return Case(make, f"np.random.default_rng({seed}), {n_trials} trials, {note}")


def _random_cases():
    return [
        _random_case(0, _objective_smooth, _space_lr_momentum, 8, "space {learning_rate, momentum}"),
        _random_case(1, _objective_smooth, _space_lr_momentum, 1, "space {learning_rate, momentum}"),
        _random_case(7, _objective_diverging, _space_three, 12,
                     "space {learning_rate, weight_decay, batch_size}; the objective returns NaN for learning_rate > 0.03"),
        _random_case(3, _objective_layers, _space_categorical, 10, "categorical space, equal scores possible"),
        _random_case(4, _objective_layers_only, _space_categorical, 7, "categorical space, many equal scores"),
        _random_case(5, _objective_smooth, _space_lr_momentum, 20, "space {learning_rate, momentum}"),
    ]


def check_random_search(random_search) -> None:
    """Grade ``random_search(objective, space, n_trials, rng)`` (trials sorted best first)."""
    check_cases("random_search", random_search, _reference.random_search, _random_cases(), RANDOM_SEARCH_MISTAKES,
                compare=_compare_trials, adapt=_observe_rng)


# --------------------------------------------------------------------------------------------
# grid_search
# --------------------------------------------------------------------------------------------

def _grid_search_with(*, combine="product", finish="best_first", call="dict", skip_last=False):
    def grid_search(objective, grid):
        names = list(grid)
        value_lists = [list(grid[name])[:-1] if skip_last and len(grid[name]) > 1 else list(grid[name]) for name in names]
        if combine == "product":
            combinations = list(itertools.product(*value_lists))
        elif combine == "zip":
            combinations = list(zip(*value_lists))
        elif combine == "first_two":
            head = list(itertools.product(*value_lists[:2]))
            combinations = [c + tuple(v[0] for v in value_lists[2:]) for c in head]
        elif combine == "one_at_a_time":
            base = [v[0] for v in value_lists]
            combinations = [tuple(base)]
            for k, values in enumerate(value_lists):
                for value in values[1:]:
                    point = list(base)
                    point[k] = value
                    combinations.append(tuple(point))
        return _finish(_evaluate(objective, [dict(zip(names, c)) for c in combinations], call), finish)

    return grid_search


GRID_SEARCH_MISTAKES = [
    Mistake(description, _grid_search_with(finish=how)) for description, how in _SORT_MISTAKES
] + [
    Mistake("grid missing combinations: values zipped together instead of every combination "
            "(itertools.product)", _grid_search_with(combine="zip")),
    Mistake("grid missing combinations: only the first two hyperparameters are varied", _grid_search_with(combine="first_two")),
    Mistake("grid missing combinations: one hyperparameter varied at a time instead of every combination",
            _grid_search_with(combine="one_at_a_time")),
    Mistake("grid missing combinations: the last value of each hyperparameter is skipped (off by one in a range)",
            _grid_search_with(skip_last=True)),
    Mistake("objective called with keyword arguments (objective(**params)); call objective(params) with the dict",
            _grid_search_with(call="kwargs")),
]


def _grid_case(objective, grid_factory, note):
    def make():
        return (objective, grid_factory()), {}

    return Case(make, note)


def _grid_cases():
    return [
        _grid_case(_objective_smooth, lambda: {"learning_rate": [1e-4, 1e-3, 1e-2, 1e-1], "momentum": [0.5, 0.9, 0.99]},
                   "grid of 4 x 3"),
        _grid_case(_objective_diverging, lambda: {"learning_rate": [1e-1, 1e-4, 1e-3], "weight_decay": (0.0, 1e-4),
                                                  "batch_size": [32, 64]},
                   "grid of 3 x 2 x 2 (a tuple of values); NaN for learning_rate > 0.03"),
        _grid_case(_objective_diverging, lambda: {"learning_rate": [1e-3, 1e-1, 3e-3, 1e-4], "batch_size": [64]},
                   "grid of 4 x 1; NaN for learning_rate > 0.03"),
        _grid_case(_objective_layers, lambda: {"activation": ["relu", "tanh"], "layers": [1, 2, 3]},
                   "categorical grid of 2 x 3"),
        _grid_case(_objective_layers_only, lambda: {"layers": np.array([3, 1, 2]), "activation": ["tanh", "relu"]},
                   "grid with a numpy array of values; equal scores"),
        _grid_case(_objective_smooth, lambda: {"learning_rate": [1e-3], "momentum": [0.9, 0.5]},
                   "a hyperparameter with a single value"),
        _grid_case(lambda params: (params["x"] - 2) ** 2, lambda: {"x": [0, 1, 2, 3, 4]}, "one hyperparameter"),
    ]


def check_grid_search(grid_search) -> None:
    """Grade ``grid_search(objective, grid)`` (every combination, sorted best first)."""
    check_cases("grid_search", grid_search, _reference.grid_search, _grid_cases(), GRID_SEARCH_MISTAKES,
                compare=_compare_trials, adapt=_observe_rng)


# --------------------------------------------------------------------------------------------
# successive_halving
# --------------------------------------------------------------------------------------------

def _halving_with(*, keep="floor", budget="geometric", rungs="all", select="best", ties="index", nan="last",
                  final_order="budget_then_score", final_score="latest", call="positional", returned="all"):
    """A variant of the reference; every keyword names one way of getting a step wrong."""

    def successive_halving(train, configs, min_budget, max_budget, reduction_factor=3):
        configs = list(configs)
        r = reduction_factor
        budgets = []
        k = 0
        while min_budget * r ** k <= max_budget:
            budgets.append(min_budget * r ** k)
            k += 1
        if rungs == "one_fewer" and len(budgets) > 1:
            budgets = budgets[:-1]
        elif rungs == "one_more":
            budgets = budgets + [min_budget * r ** len(budgets)]
        if budget == "constant":
            budgets = [min_budget] * len(budgets)
        elif budget == "additive":
            budgets = [min_budget * (1 + k) for k in range(len(budgets))]
        elif budget == "from_max":
            budgets = [max_budget / r ** (len(budgets) - 1 - k) for k in range(len(budgets))]
        n = len(configs)

        def count(k):
            if keep == "floor":
                return max(1, n // r ** k)
            if keep == "ceil":
                return max(1, -(-n // r ** k))
            if keep == "half":
                return max(1, n // 2 ** k)
            if keep == "drop_fraction":  # removes 1/r per rung instead of keeping 1/r
                kept = n
                for _ in range(k):
                    kept = max(1, kept - kept // r)
                return kept
            if keep == "all":
                return n
            raise ValueError(keep)

        def rank(result, selecting=True):
            index, score = result
            isnan = math.isnan(score)
            value = 0.0 if isnan else score
            reversed_ties = ties == "reversed" or (ties == "reversed_selection" and selecting)
            tie = -index if reversed_ties else index
            if nan == "first":
                isnan = not isnan
            if select == "worst" and selecting:
                return (isnan, -value, tie)
            return (isnan, value, tie)

        first, latest = {}, {}
        survivors = list(range(n))
        for rung, b in enumerate(budgets):
            results = []
            for index in survivors:
                params = dict(configs[index])
                value = train(params, budget=b) if call == "keyword" else (train(b, params) if call == "swapped" else train(params, b))
                value = float(value)
                first.setdefault(index, value)
                latest[index] = (rung, b, value)
                results.append((index, value))
            if rung + 1 < len(budgets):
                ranked = sorted(results, key=rank)[:count(rung + 1)]
                survivors = [index for index, _ in ranked] if ties == "previous_rank" else sorted(i for i, _ in ranked)
        if final_score == "first":
            latest = {i: (latest[i][0], latest[i][1], first[i]) for i in latest}

        def final_key(index):
            rung, _, value = latest[index]
            if final_order == "score_only":
                return rank((index, value), selecting=False)
            return (-rung,) + rank((index, value), selecting=False)

        order = sorted(latest, key=final_key)
        trials = [{"params": dict(configs[i]), "budget": latest[i][1], "score": latest[i][2]} for i in order]
        if returned == "survivors":
            return [t for t in trials if t["budget"] == trials[0]["budget"]]
        if returned == "winner":
            return trials[0]
        return trials

    return successive_halving


HALVING_MISTAKES = [
    Mistake("the worst configurations are kept at each rung (sorted with reverse=True, or highest score taken as "
            "best); lower scores are better: keep the n_{k+1} lowest", _halving_with(select="worst")),
    Mistake("the budget does not grow: every rung trains with min_budget; rung k trains with "
            "min_budget * reduction_factor ** k", _halving_with(budget="constant")),
    Mistake("the budget grows additively (min_budget * (k + 1)); it is multiplied by reduction_factor at each "
            "rung: min_budget * reduction_factor ** k", _halving_with(budget="additive")),
    Mistake("the rung budgets are counted down from max_budget (max_budget / r ** (K - k)); they start at "
            "min_budget: b_k = min_budget * reduction_factor ** k", _halving_with(budget="from_max")),
    Mistake("wrong number kept per rung: rounded up (ceil(n / r ** k)); keep max(1, n // r ** k)",
            _halving_with(keep="ceil")),
    Mistake("wrong number kept per rung: half are kept whatever reduction_factor is; keep max(1, n // r ** k)",
            _halving_with(keep="half")),
    Mistake("wrong number kept per rung: 1/r of the configurations is dropped instead of 1/r kept; keep "
            "max(1, n // r ** k)", _halving_with(keep="drop_fraction")),
    Mistake("no configuration is eliminated: every configuration is trained at every rung",
            _halving_with(keep="all")),
    Mistake("one rung too few: the last rung whose budget min_budget * r ** K <= max_budget is skipped "
            "(off by one in the loop over rungs)", _halving_with(rungs="one_fewer")),
    Mistake("one rung too many: a rung with a budget above max_budget is trained (off by one: the rung budgets "
            "are min_budget * r ** k <= max_budget)", _halving_with(rungs="one_more")),
    Mistake("ties broken against the order of configs: among equal scores the configuration listed later ranks "
            "first; rank equal scores in the order of configs (a stable sort on the score)",
            _halving_with(ties="reversed")),
    Mistake("ties broken against the order of configs when the survivors are chosen: among equal scores at the "
            "cut, the configurations listed later were kept; keep those listed first (the key (isnan, score, index))",
            _halving_with(ties="reversed_selection")),
    Mistake("NaN scores (diverged runs) are ranked first; they count as the worst and must be eliminated first",
            _halving_with(nan="first")),
    Mistake("the result is sorted by score alone; sort by the budget reached (largest first), then by score: "
            "a score after a short run is not comparable with one after a long run",
            _halving_with(final_order="score_only")),
    Mistake("each configuration reports its score of rung 0; report the score at the largest budget it reached",
            _halving_with(final_score="first")),
    Mistake("only the configurations of the last rung are returned; return one trial per configuration",
            _halving_with(returned="survivors")),
    Mistake("only the winner is returned; return one trial per configuration, the winner first",
            _halving_with(returned="winner")),
    Mistake("train called with the budget as a keyword argument (train(params, budget=b)); call "
            "train(params, budget) positionally", _halving_with(call="keyword")),
    Mistake("the arguments of train swapped: train(budget, params); call train(params, budget)",
            _halving_with(call="swapped")),
]


def _compare_halving(expected, got):
    """The trials in exactly the expected order (ties are ordered by the configs' index)."""
    if isinstance(expected, dict) and isinstance(got, dict):
        expected, got = [expected], [got]
    if isinstance(expected, dict):
        return f"expected a single trial {show(expected)}, got {show(got)}"
    if isinstance(got, dict):
        return f"expected a list of {len(expected)} trials, one per configuration, got a single dict {show(got)}"
    try:
        got = list(got)
    except TypeError:
        return f"expected a list of {len(expected)} trials, got {show(got)}"
    for index, trial in enumerate(got):
        if not isinstance(trial, dict) or not {"params", "budget", "score"} <= set(trial):
            return (f"each trial must be a dict {{'params': {{...}}, 'budget': b, 'score': float}}; trial {index} "
                    f"is {show(trial)}")
    if len(got) != len(expected):
        return f"expected {len(expected)} trials (one per configuration), got {len(got)}"
    summary = lambda trials: _short_list([(short(t["params"]), t["budget"]) for t in trials])  # noqa: E731
    for index, (want, have) in enumerate(zip(expected, got)):
        if not isinstance(have["params"], dict) or set(want["params"]) != set(have["params"]) or not all(
                _same_value(want["params"][name], have["params"][name]) for name in want["params"]):
            return (f"trial {index} (sorted by budget reached, then best first) should be the configuration "
                    f"{short(want['params'])}, got {short(have['params'])}\n"
                    f"  expected (params, budget): {summary(expected)}\n  got (params, budget):      {summary(got)}")
        if not _same_value(want["budget"], have["budget"]):
            return (f"trial {index} ({short(want['params'])}) should have reached the budget {want['budget']!r}, "
                    f"got {have['budget']!r}\n  expected budgets: {_short_list([t['budget'] for t in expected])}\n"
                    f"  got budgets:      {_short_list([t['budget'] for t in got])}")
        if not _same_value(want["score"], have["score"]):
            return (f"trial {index} ({short(want['params'])}, budget {want['budget']!r}) should have the score "
                    f"{want['score']!r}, got {have['score']!r}")
    return None


def _train_bowl(params, budget):
    """A validation loss that falls with the budget towards (log10 lr + 2)^2 + (momentum - 0.9)^2."""
    return (math.log10(params["learning_rate"]) + 2.0) ** 2 + (params["momentum"] - 0.9) ** 2 + 1.0 / budget


def _train_crossing(params, epochs):
    """Curves that cross: a fast starter (small x) is overtaken by slow starters that end lower. (The budget's
    parameter is named ``epochs`` here: train must be called positionally.)"""
    return (1.0 - params["x"]) / epochs + 0.3 * params["x"] ** 2 - 0.5 * params["x"] * (1 - 1 / epochs)


def _train_diverging(params, budget):
    """NaN for learning rates above 0.3; otherwise a loss falling with the budget."""
    if params["learning_rate"] > 0.3:
        return float("nan")
    return (math.log10(params["learning_rate"]) + 1.5) ** 2 + 2.0 / budget


def _train_ties(params, budget):
    """Equal scores for every pair of configurations of the same level: tie order decides who survives."""
    return float(params["level"]) + 1.0 / budget


def _train_overfitting(params, budget):
    """A validation loss that rises with the budget: scores of different rungs are not comparable."""
    return params["x"] + 0.1 * budget


def _bowl_configs(seed, n):
    rng = np.random.default_rng(seed)
    return [{"learning_rate": float(10.0 ** rng.uniform(-4, 0)), "momentum": float(rng.uniform(0.5, 0.99))}
            for _ in range(n)]


def _halving_case(train, configs_factory, min_budget, max_budget, reduction_factor, note, *, default_r=False):
    def make():
        args = (train, configs_factory(), min_budget, max_budget)
        return (args, {}) if default_r else (args + (reduction_factor,), {})

    r_note = "reduction_factor left at its default 3" if default_r else f"reduction_factor={reduction_factor}"
    return Case(make, f"{note}; min_budget={min_budget!r}, max_budget={max_budget!r}, {r_note}")


def _halving_cases():
    return [
        _halving_case(_train_bowl, lambda: _bowl_configs(0, 27), 1, 27, 3, "27 configurations, rungs 1, 3, 9, 27",
                      default_r=True),
        _halving_case(_train_crossing, lambda: [{"x": float(x)} for x in np.random.default_rng(1).uniform(0, 1, 16)],
                      1, 8, 2, "16 configurations whose learning curves cross"),
        _halving_case(_train_bowl, lambda: _bowl_configs(2, 10), 1, 20, 3,
                      "10 configurations (not a power of 3), max_budget 20 is not a rung budget"),
        _halving_case(_train_diverging, lambda: [{"learning_rate": float(10.0 ** e)} for e in
                                                 np.random.default_rng(3).uniform(-3, 0.5, 12)],
                      2, 18, 3, "NaN scores for learning_rate > 0.3"),
        _halving_case(_train_ties, lambda: [{"level": level, "id": i} for i, level in
                                            enumerate([3, 1, 2, 1, 3, 2, 0, 2, 0])],
                      1, 9, 3, "equal scores: ties are ranked in the order of configs"),
        _halving_case(_train_crossing, lambda: [{"x": float(x)} for x in np.random.default_rng(5).uniform(0, 1, 30)],
                      0.5, 40.0, 4, "30 configurations, float budgets 0.5, 2, 8, 32"),
        _halving_case(_train_overfitting, lambda: [{"x": float(x)} for x in np.random.default_rng(8).uniform(0, 1, 9)],
                      1, 9, 3, "a validation loss that rises with the budget (overfitting)"),
        _halving_case(_train_bowl, lambda: _bowl_configs(6, 5), 3, 3, 2, "max_budget = min_budget: one rung only"),
        _halving_case(_train_bowl, lambda: _bowl_configs(7, 4), 1, 100, 2,
                      "4 configurations, 7 rungs: the last survivor keeps training"),
    ]


def check_successive_halving(successive_halving) -> None:
    """Grade ``successive_halving(train, configs, min_budget, max_budget, reduction_factor=3)``."""
    check_cases("successive_halving", successive_halving, _reference.successive_halving, _halving_cases(),
                HALVING_MISTAKES, compare=_compare_halving)


MISTAKES = {
    "sample_log_uniform": SAMPLE_MISTAKES,
    "random_search": RANDOM_SEARCH_MISTAKES,
    "grid_search": GRID_SEARCH_MISTAKES,
    "successive_halving": HALVING_MISTAKES,
}
