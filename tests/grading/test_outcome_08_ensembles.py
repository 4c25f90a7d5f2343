"""The outcome task of chapter 8, ``select_ensemble``: its reference, hidden grader and visible check.

1. the reference against independent oracles: its first pick is the best single model, each later pick
   is the best addition found by brute force with scikit-learn's ``log_loss``, and it never does worse
   on validation than the best single model;
2. the hidden check gives full points to sound selections written differently: the reference, the best
   prefix of its picks (early stopping), selection without replacement that stops when the validation
   loss stops improving, greedy selection on the Brier score, Caruana's sorted initialisation, greedy
   with ties broken by accuracy; each beats the better baseline on every hidden pool by far more than
   the required gain, so the margin is not what lets them pass;
3. what does not beat the baselines loses points, named: every model averaged, the best model alone,
   the worst models, the top-k by individual validation loss (it keeps points on the pools where
   ``size`` is small enough to stay among the good models), selection without replacement forced to
   ``size`` distinct models; greedy on accuracy (a different metric) keeps most points but not all;
4. hostile returns score nothing for that pool and never crash the grader; the score is the same on
   every run;
5. the visible check passes the sound selections and stops the wrong ones.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import log_loss as sk_log_loss

from dlopt.checks import CheckFailure, check
from dlopt_reference.ensembles import log_loss, select_ensemble
from dlopt_reference.grading import check_select_ensemble
from dlopt_reference.grading import ensemble_selection as g_sel
from dlopt_reference.grading._report import GradingFailure
from outcome_checks import graded, says

POINTS = 11


def grade(function, points=POINTS) -> tuple[float, str]:
    """(points, message) of the hidden check (see ``outcome_checks.graded``)."""
    return graded(check_select_ensemble, function, points)


def ensemble_loss(probs, labels, picks) -> float:
    return log_loss(np.asarray(probs)[list(picks)].mean(axis=0), labels)


# --------------------------------------------------------------------------------------------
# 1. the reference against oracles


@pytest.mark.parametrize("seed", range(4))
def test_each_pick_is_the_best_addition_by_brute_force(seed):
    pool = g_sel.make_pool(900 + seed, n_test=10)
    probs, labels, C = pool.val_probs, pool.val_labels, pool.val_probs.shape[2]
    picks = select_ensemble(probs, labels, 6)
    assert len(picks) == 6 and all(isinstance(m, int) for m in picks)
    for k in range(6):
        losses = [sk_log_loss(labels, probs[picks[:k] + [m]].mean(axis=0), labels=range(C)) for m in range(pool.M)]
        assert losses[picks[k]] == pytest.approx(min(losses), rel=1e-9)
    assert picks[0] == int(np.argmin([sk_log_loss(labels, p, labels=range(C)) for p in probs]))
    assert ensemble_loss(probs, labels, picks) <= ensemble_loss(probs, labels, picks[:1])


def test_the_docstring_example_by_hand():
    p_class0 = np.array([[0.9, 0.9, 0.9, 0.2], [0.9, 0.9, 0.9, 0.25], [0.6, 0.6, 0.4, 0.9]])
    probs = np.stack([p_class0, 1 - p_class0], axis=-1)
    labels = np.zeros(4, dtype=int)
    assert select_ensemble(probs, labels, 3) == [1, 2, 1]
    # -(log .75 + log .75 + log .65 + log .575) / 4 and -(log .9 + log .9 + log .9 + log .225) / 4
    assert ensemble_loss(probs, labels, [1, 2]) == pytest.approx(-np.mean(np.log([0.75, 0.75, 0.65, 0.575])))
    assert ensemble_loss(probs, labels, [1, 0]) == pytest.approx(-np.mean(np.log([0.9, 0.9, 0.9, 0.225])))
    assert ensemble_loss(probs, labels, [1, 2]) < ensemble_loss(probs, labels, [1, 0])


def test_the_reference_accepts_a_list_of_models():
    pool = g_sel.make_pool(950, n_test=10)
    assert select_ensemble(list(pool.val_probs), pool.val_labels, 4) == select_ensemble(pool.val_probs,
                                                                                          pool.val_labels, 4)


# --------------------------------------------------------------------------------------------
# 2. sound selections written differently


def best_prefix(val_probs, val_labels, size):
    """Caruana's greedy selection, keeping the prefix of the picks with the lowest validation loss."""
    picks = select_ensemble(val_probs, val_labels, size)
    losses = [ensemble_loss(val_probs, val_labels, picks[:k]) for k in range(1, len(picks) + 1)]
    return picks[:int(np.argmin(losses)) + 1]


def without_replacement_early_stop(val_probs, val_labels, size):
    probs = np.asarray(val_probs)
    chosen, current = [], np.inf
    while len(chosen) < min(size, len(probs)):
        rest = [m for m in range(len(probs)) if m not in chosen]
        best = min(rest, key=lambda m: ensemble_loss(probs, val_labels, chosen + [m]))
        if ensemble_loss(probs, val_labels, chosen + [best]) >= current:
            break
        chosen.append(best)
        current = ensemble_loss(probs, val_labels, chosen)
    return chosen


def greedy_brier(val_probs, val_labels, size):
    probs = np.asarray(val_probs)
    one_hot = np.eye(probs.shape[2])[val_labels]
    chosen = []
    for _ in range(size):
        chosen.append(min(range(len(probs)),
                          key=lambda m: np.mean(np.sum((probs[chosen + [m]].mean(axis=0) - one_hot) ** 2, axis=1))))
    return chosen


def sorted_initialisation(val_probs, val_labels, size):
    """Caruana et al.'s variant: start from the 2 best models, then add greedily (with replacement)."""
    probs = np.asarray(val_probs)
    own = [log_loss(p, val_labels) for p in probs]
    chosen = [int(m) for m in np.argsort(own)[:min(2, size)]]
    while len(chosen) < size:
        chosen.append(min(range(len(probs)), key=lambda m: ensemble_loss(probs, val_labels, chosen + [m])))
    return np.array(chosen)          # an integer array is a fine list of indices


def greedy_accuracy_tie_break(val_probs, val_labels, size):
    """Greedy on the log loss, ties (to 1e-12) broken by the higher validation accuracy."""
    probs = np.asarray(val_probs)
    chosen = []
    for _ in range(size):
        def key(m):
            mean = probs[chosen + [m]].mean(axis=0)
            return (round(log_loss(mean, val_labels), 12), -np.mean(mean.argmax(axis=1) == val_labels))
        chosen.append(min(range(len(probs)), key=key))
    return tuple(chosen)


RIGHT = [select_ensemble, best_prefix, without_replacement_early_stop, greedy_brier, sorted_initialisation,
         greedy_accuracy_tie_break]


@pytest.mark.parametrize("function", RIGHT, ids=lambda f: f.__name__)
def test_sound_selections_get_full_points(function):
    earned, text = grade(function)
    assert earned == POINTS, text
    assert "solved 12 of 12" in text


@pytest.mark.parametrize("function", RIGHT, ids=lambda f: f.__name__)
def test_sound_selections_beat_the_better_baseline_by_far_more_than_the_required_gain(function):
    """The docstring's claim on the hidden pools: at least 0.018 nats, 3.6 times MIN_GAIN."""
    for instance in g_sel.selection_instances():
        pool = instance.data
        picks = [int(m) for m in function(pool.val_probs, pool.val_labels, pool.size)]
        best = pool.best_on_validation()
        better_baseline = min(pool.test_loss([best]), pool.test_loss(range(pool.M)))
        assert better_baseline - pool.test_loss(picks) >= 0.018, instance.label


@pytest.mark.parametrize("function", RIGHT, ids=lambda f: f.__name__)
def test_sound_selections_pass_the_visible_check(function, capsys):
    check("select_ensemble", function)
    assert capsys.readouterr().out.startswith("✓ select_ensemble")


def test_the_score_is_the_same_on_every_run():
    assert grade(top_k) == grade(top_k)
    assert grade(select_ensemble) == grade(select_ensemble)


# --------------------------------------------------------------------------------------------
# 3. what does not beat the baselines


def _own_losses(val_probs, val_labels):
    return np.array([log_loss(p, val_labels) for p in np.asarray(val_probs)])


def average_everything(val_probs, val_labels, size):
    return list(range(len(val_probs)))


def best_alone(val_probs, val_labels, size):
    return [int(np.argmin(_own_losses(val_probs, val_labels)))]


def worst_repeated(val_probs, val_labels, size):
    return [int(np.argmax(_own_losses(val_probs, val_labels)))] * size


def greedy_maximising(val_probs, val_labels, size):
    """Greedy with argmax for argmin: it builds the worst ensemble it can."""
    probs = np.asarray(val_probs)
    chosen = []
    for _ in range(size):
        chosen.append(max(range(len(probs)), key=lambda m: ensemble_loss(probs, val_labels, chosen + [m])))
    return chosen


def top_k(val_probs, val_labels, size):
    return [int(m) for m in np.argsort(_own_losses(val_probs, val_labels))[:min(size, len(val_probs))]]


def without_replacement_forced(val_probs, val_labels, size):
    probs = np.asarray(val_probs)
    chosen = []
    while len(chosen) < min(size, len(probs)):
        rest = [m for m in range(len(probs)) if m not in chosen]
        chosen.append(min(rest, key=lambda m: ensemble_loss(probs, val_labels, chosen + [m])))
    return chosen


ZERO = [
    (average_everything, "every model averaged"),
    (best_alone, "the best single model alone"),
    (worst_repeated, "the worst models"),
    (greedy_maximising, "the worst models"),
]


@pytest.mark.parametrize("function, diagnosis", ZERO, ids=[f.__name__ for f, _ in ZERO])
def test_the_baselines_and_the_worst_score_zero_and_are_named(function, diagnosis):
    earned, text = grade(function)
    assert earned == 0, text
    assert says(text, "This looks like") and says(text, diagnosis), text


PARTIAL = [
    (top_k, "top-k models by their own validation loss"),
    (without_replacement_forced, "forward selection without replacement forced to size distinct models"),
]


@pytest.mark.parametrize("function, diagnosis", PARTIAL, ids=[f.__name__ for f, _ in PARTIAL])
def test_top_k_and_forced_distinct_picks_keep_only_the_pools_where_size_is_small(function, diagnosis):
    earned, text = grade(function)
    assert 0 < earned <= POINTS / 2, text
    assert says(text, "This looks like") and says(text, diagnosis), text
    for instance in g_sel.selection_instances():     # where it fails, size exceeds the good models
        pool = instance.data
        picks = function(pool.val_probs, pool.val_labels, pool.size)
        solved, _ = g_sel.judge(pool, picks)
        good = pool.M - pool.kinds.count("overconfident")
        if not solved:
            assert min(pool.size, pool.M) > good - 1, instance.label


def test_greedy_on_accuracy_optimises_another_metric_and_keeps_most_points_but_not_all():
    def greedy_accuracy(val_probs, val_labels, size):
        probs = np.asarray(val_probs)
        chosen = []
        for _ in range(size):
            chosen.append(min(range(len(probs)), key=lambda m: (
                -np.mean(probs[chosen + [m]].mean(axis=0).argmax(axis=1) == val_labels),
                ensemble_loss(probs, val_labels, chosen + [m]))))
        return chosen

    earned, text = grade(greedy_accuracy)
    assert POINTS / 2 < earned < POINTS, text
    assert "This looks like" not in text     # no known mistake claimed for it


def test_a_failure_shows_the_held_out_and_validation_losses_against_the_baselines():
    _, text = grade(top_k)
    assert "held-out log loss" in text and "the best single model on validation (model" in text
    assert "on the validation data your function was given its log loss is" in text
    assert "of its weight is on models whose own validation log loss is more than twice" in text


def test_the_hidden_pools_are_fixed_and_hold_every_kind_of_model():
    first, second = g_sel.selection_instances(), g_sel.selection_instances()
    assert len(first) == 12
    for a, b in zip(first, second):
        assert a.label == b.label and np.array_equal(a.data.test_probs, b.data.test_probs)
        assert {"clustered", "independent", "overconfident"} <= set(a.data.kinds)
        assert a.data.test_probs.shape[1] == g_sel.N_TEST
    assert any(i.data.size >= i.data.M for i in first) and any(i.data.size < i.data.M for i in first)


# --------------------------------------------------------------------------------------------
# 4. hostile answers


def _returning(value):
    def select(val_probs, val_labels, size):
        return value(len(val_probs), size) if callable(value) else value
    return select


def _raises(val_probs, val_labels, size):
    raise IndexError("list index out of range")


HOSTILE = [
    ("None", _returning(None), "must return a list of model indices"),
    ("empty", _returning([]), "returned no model"),
    ("nan", _returning([np.nan, 0]), "integer model indices"),
    ("inf", _returning([np.inf]), "integer model indices"),
    ("fractions", _returning([0.5, 1.5]), "integer model indices"),
    ("booleans", _returning([True, False]), "integer model indices"),
    ("strings", _returning(["0", "1"]), "integer model indices"),
    ("a string", _returning("012"), "must return a list of model indices"),
    ("out of range", _returning(lambda M, size: [M]), "out of range"),
    ("negative", _returning([-1]), "out of range"),
    ("too many", _returning(lambda M, size: [0] * (size + 1)), "more than size"),
    ("2-d array", _returning(lambda M, size: np.zeros((2, 2), dtype=int)), "flat list"),
    ("huge", _returning([10 ** 30]), "out of range"),
    ("raises", _raises, "IndexError"),
]


@pytest.mark.parametrize("name, function, words", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_answers_score_zero_without_crashing_the_grader(name, function, words, capsys):
    with pytest.raises(GradingFailure) as failure:
        check_select_ensemble(function, points=POINTS)
    assert words in str(failure.value), str(failure.value)
    assert capsys.readouterr().err == ""


def test_the_validation_data_given_are_copies():
    def vandal(val_probs, val_labels, size):
        val_probs[:] = 0.0
        val_labels[:] = 0
        return select_ensemble(np.full((len(val_probs), 1, 2), 0.5), np.zeros(1, dtype=int), size)

    earned, _ = grade(vandal)             # it picks model 0 everywhere; the grader's data are intact
    assert earned < POINTS
    assert grade(select_ensemble)[0] == POINTS


def test_a_stub_is_reported_as_not_implemented():
    def stub(*args):
        raise NotImplementedError()

    with pytest.raises(GradingFailure, match="not implemented yet"):
        check_select_ensemble(stub, points=POINTS)


# --------------------------------------------------------------------------------------------
# 5. the visible check stops wrong answers


@pytest.mark.parametrize("function", [f for f, _ in ZERO + PARTIAL], ids=lambda f: f.__name__)
def test_wrong_selections_fail_the_visible_check(function):
    with pytest.raises(CheckFailure):
        check("select_ensemble", function)


@pytest.mark.parametrize("name, function, words", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_answers_fail_the_visible_check(name, function, words):
    with pytest.raises(CheckFailure):
        check("select_ensemble", function)
