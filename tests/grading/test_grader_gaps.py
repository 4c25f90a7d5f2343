"""Wrong answers found by the chapter authors that the graders missed or misdiagnosed.

Each test is a wrong answer written the way a student writes it (not taken from the catalogue), and
asserts that the grader rejects it with the expected words in its "This looks like: ..." diagnosis.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlopt_reference import grading
from dlopt_reference.grading import GradingFailure


def failure_message(check, function, *args) -> str:
    with pytest.raises(GradingFailure) as caught:
        check(function, *args)
    return str(caught.value)


def diagnosis(check, function, *args) -> str:
    message = failure_message(check, function, *args)
    assert "This looks like: " in message, message
    return message.split("This looks like: ", 1)[1]


def _defaults(config, **defaults):
    if config is None:
        config = {}
    for key, value in defaults.items():
        config.setdefault(key, value)
    return config


# --------------------------------------------------------------------------------------------
# 0. the wording of the buffer-form momentum and sign diagnoses


def test_the_buffer_momentum_form_is_not_attributed_to_sutskever():
    """PyTorch's buffer form is not Sutskever et al.'s 'classical momentum' (that is the velocity form)."""
    def momentum_pytorch(w, dw, config=None):
        config = _defaults(config, learning_rate=1e-2, momentum=0.9)
        v = config["momentum"] * config.get("velocity", np.zeros_like(w)) + dw
        config["velocity"] = v
        return w - config["learning_rate"] * v, config

    text = diagnosis(grading.check_sgd_momentum, momentum_pytorch)
    assert "(PyTorch / TF 1) form v = mu*v + dw, w -= lr*v" in text
    assert "Sutskever" not in text


@pytest.mark.parametrize("name", ["sgd_momentum_ema", "adagrad", "rmsprop", "adadelta"])
def test_a_flipped_sign_says_what_was_done_and_what_is_right(name):
    from dlopt_reference import optim

    def flipped(w, dw, config=None):
        next_w, config = getattr(optim, name)(w, dw, config)
        return 2 * w - next_w, config  # w + (step) instead of w - (step)

    text = diagnosis(grading.CHECKS[name], flipped)
    assert "the sign of the update is flipped (w + " in text and "the update is " in text, text


# --------------------------------------------------------------------------------------------
# 1. a hyperparameter hard-coded


def test_momentum_hard_coded_is_named():
    def momentum_fixed(w, dw, config=None):
        config = _defaults(config, learning_rate=1e-2, momentum=0.9)
        velocity = 0.9 * config.get("velocity", np.zeros_like(w)) - config["learning_rate"] * dw
        config["velocity"] = velocity
        return w + velocity, config

    message = failure_message(grading.check_sgd_momentum, momentum_fixed)
    assert "'momentum': 0.7" in message  # the failing run uses a non-default momentum
    assert "This looks like: the momentum from config is ignored (a fixed value is used)" in message


@pytest.mark.parametrize("name, key, value", [
    ("sgd_momentum_ema", "beta", 0.9), ("nesterov_momentum", "momentum", 0.9), ("rmsprop", "decay_rate", 0.99),
    ("adam", "beta1", 0.9), ("adam", "beta2", 0.999), ("adamw", "weight_decay", 1e-2),
])
def test_other_hard_coded_hyperparameters_are_named(name, key, value):
    from dlopt_reference import optim

    def fixed(w, dw, config=None):
        given = dict(config or {})
        next_w, returned = getattr(optim, name)(w, dw, {**given, key: value})
        returned[key] = given.get(key, value)
        return next_w, returned

    assert diagnosis(grading.CHECKS[name], fixed).startswith(f"the {key} from config is ignored")


# --------------------------------------------------------------------------------------------
# 2. the state stored but never read back


def test_velocity_never_read_back_is_plain_sgd():
    def momentum_fresh_velocity(w, dw, config=None):
        config = _defaults(config, learning_rate=1e-2, momentum=0.9)
        velocity = np.zeros_like(w)
        velocity = config["momentum"] * velocity - config["learning_rate"] * dw
        config["velocity"] = velocity
        return w + velocity, config

    def momentum_other_key(w, dw, config=None):
        config = _defaults(config, learning_rate=1e-2, momentum=0.9)
        velocity = config.get("v", np.zeros_like(w))
        velocity = config["momentum"] * velocity - config["learning_rate"] * dw
        config["velocity"] = velocity
        return w + velocity, config

    for wrong in (momentum_fresh_velocity, momentum_other_key):
        text = diagnosis(grading.check_sgd_momentum, wrong)
        assert text.startswith("the velocity is not read back from config (each call starts from zero: "
                               "this is plain SGD)"), text


def test_other_state_never_read_back_is_named():
    def rmsprop_fresh_cache(w, dw, config=None):
        config = _defaults(config, learning_rate=1e-2, decay_rate=0.99, epsilon=1e-8)
        cache = config["decay_rate"] * np.zeros_like(w) + (1 - config["decay_rate"]) * dw**2
        config["cache"] = cache
        return w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"]), config

    def adam_m_other_key(w, dw, config=None):
        config = _defaults(config, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8)
        m = config.get("m1", np.zeros_like(w))
        v = config.get("v", np.zeros_like(w))
        t = config.get("t", 0) + 1
        m = config["beta1"] * m + (1 - config["beta1"]) * dw
        v = config["beta2"] * v + (1 - config["beta2"]) * dw**2
        m_hat, v_hat = m / (1 - config["beta1"] ** t), v / (1 - config["beta2"] ** t)
        config.update(m=m, v=v, t=t)
        return w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"]), config

    assert diagnosis(grading.check_rmsprop, rmsprop_fresh_cache).startswith("the cache is not read back from config")
    assert diagnosis(grading.check_adam, adam_m_other_key).startswith("the first moment m is not read back")


# --------------------------------------------------------------------------------------------
# 3. sgd_momentum_ema: ties at step 1 are decided on the whole run


def _ema(w, dw, config, *, m_start=None, raw=False, average_sign=1.0, twice=False):
    config = _defaults(config, learning_rate=1e-2, beta=0.9)
    beta = config["beta"]
    m = config.get("m", dw if m_start == "dw" else np.zeros_like(w))
    m = beta * m + average_sign * (1 - beta) * dw
    config["m"] = m
    step = dw if raw else m
    if twice:
        step = (1 - beta) * step
    return w - config["learning_rate"] * step, config


@pytest.mark.parametrize("switches, words", [
    ({"m_start": "dw"}, "m starts at the first gradient"),
    ({"raw": True}, "the step uses the raw gradient (w - lr*dw)"),
    ({"average_sign": -1.0}, "the sign inside the average is flipped"),
    ({"twice": True}, "(1 - beta) applied twice"),
], ids=["m-starts-at-dw", "raw-gradient-step", "sign-inside-average", "one-minus-twice"])
def test_ema_momentum_mistakes_are_diagnosed_on_the_whole_run(switches, words):
    def wrong(w, dw, config=None):
        return _ema(w, dw, config, **switches)

    text = diagnosis(grading.check_sgd_momentum_ema, wrong)
    assert text.startswith(words), text
    assert "missing (1 - beta)" not in text and "bias correction" not in text


# --------------------------------------------------------------------------------------------
# 4. Nesterov


def _lookahead(w, grad_fn, config, *, extra_call=False, negated=False, damping=False, fresh=False):
    config = _defaults(config, learning_rate=1e-2, momentum=0.9)
    mu, lr = config["momentum"], config["learning_rate"]
    v = np.zeros_like(w) if fresh else config.get("velocity", np.zeros_like(w))
    if extra_call:
        grad_fn(w)  # "just to look at it"
    if negated:  # v = mu*v + lr*g, w - v: the look-ahead point is then w - mu*v
        g = grad_fn(w - mu * v)
        v = mu * v + lr * g
        next_w = w - v
    else:
        g = grad_fn(w + mu * v)
        v = mu * v - lr * (1 - mu if damping else 1.0) * g
        next_w = w + v
    config["velocity"] = v
    return next_w, config


def test_lookahead_calling_grad_fn_twice_fails():
    message = failure_message(grading.check_nesterov_lookahead, lambda w, g, c=None: _lookahead(w, g, c, extra_call=True))
    assert "grad_fn was called 2 times in one step" in message and "exactly once" in message


def test_lookahead_never_calling_grad_fn_fails():
    def no_call(w, grad_fn, config=None):
        config = _defaults(config, learning_rate=1e-2, momentum=0.9)
        return w.copy(), config

    assert "grad_fn was never called" in failure_message(grading.check_nesterov_lookahead, no_call)


@pytest.mark.parametrize("switches, words", [
    ({"negated": True}, "the velocity is stored with the opposite sign"),
    ({"damping": True}, "a (1 - momentum) factor on the gradient"),
    ({"fresh": True}, "the velocity is not read back from config"),
])
def test_lookahead_mistakes_are_named(switches, words):
    text = diagnosis(grading.check_nesterov_lookahead, lambda w, g, c=None: _lookahead(w, g, c, **switches))
    assert text.startswith(words), text


def _nesterov(w, dw, config, *, negated=False, damping=False, fresh=False):
    config = _defaults(config, learning_rate=1e-2, momentum=0.9)
    mu, lr = config["momentum"], config["learning_rate"]
    v_prev = np.zeros_like(w) if fresh else config.get("velocity", np.zeros_like(w))
    if negated:
        v = mu * v_prev + lr * dw
        next_w = w + mu * v_prev - (1 + mu) * v
    else:
        v = mu * v_prev - lr * (1 - mu if damping else 1.0) * dw
        next_w = w - mu * v_prev + (1 + mu) * v
    config["velocity"] = v
    return next_w, config


@pytest.mark.parametrize("switches, words", [
    ({"negated": True}, "the velocity is stored with the opposite sign"),
    ({"damping": True}, "a (1 - momentum) factor on the gradient"),
    ({"fresh": True}, "the velocity is not read back from config"),
])
def test_nesterov_momentum_mistakes_are_named(switches, words):
    text = diagnosis(grading.check_nesterov_momentum, lambda w, dw, c=None: _nesterov(w, dw, c, **switches))
    assert text.startswith(words), text


# --------------------------------------------------------------------------------------------
# 5. the new state not stored, with a stub that pre-fills it via setdefault


def test_state_prefilled_by_setdefault_and_never_stored_is_not_stored():
    def adagrad_setdefault(w, dw, config=None):
        config = _defaults(config, learning_rate=1e-2, epsilon=1e-8)
        config.setdefault("cache", np.zeros_like(w))
        cache = config["cache"] + dw**2  # never written back
        return w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"]), config

    def rmsprop_setdefault(w, dw, config=None):
        config = _defaults(config, learning_rate=1e-2, decay_rate=0.99, epsilon=1e-8)
        config.setdefault("cache", np.zeros_like(w))
        cache = config["decay_rate"] * config["cache"] + (1 - config["decay_rate"]) * dw**2
        return w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"]), config

    def adam_setdefault_v(w, dw, config=None):
        config = _defaults(config, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8)
        config.setdefault("m", np.zeros_like(w))
        config.setdefault("v", np.zeros_like(w))
        config.setdefault("t", 0)
        config["t"] += 1
        config["m"] = config["beta1"] * config["m"] + (1 - config["beta1"]) * dw
        v = config["beta2"] * config["v"] + (1 - config["beta2"]) * dw**2
        m_hat = config["m"] / (1 - config["beta1"] ** config["t"])
        v_hat = v / (1 - config["beta2"] ** config["t"])
        return w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"]), config

    def momentum_setdefault(w, dw, config=None):
        config = _defaults(config, learning_rate=1e-2, momentum=0.9)
        config.setdefault("velocity", np.zeros_like(w))
        velocity = config["momentum"] * config["velocity"] - config["learning_rate"] * dw
        return w + velocity, config

    assert diagnosis(grading.check_adagrad, adagrad_setdefault).startswith("the cache is not stored in config")
    assert diagnosis(grading.check_rmsprop, rmsprop_setdefault).startswith("the cache is not stored in config")
    assert diagnosis(grading.check_adam, adam_setdefault_v).startswith("v is not stored in config")
    assert diagnosis(grading.check_sgd_momentum, momentum_setdefault).startswith("the velocity is not stored in config")


# --------------------------------------------------------------------------------------------
# 6. adam: t never incremented, betas swapped in the moment updates only


def _adam(w, dw, config, *, increment=True, swap_moments=False):
    config = _defaults(config, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8)
    b1, b2 = config["beta1"], config["beta2"]
    a1, a2 = (b2, b1) if swap_moments else (b1, b2)
    m = a1 * config.get("m", np.zeros_like(w)) + (1 - a1) * dw
    v = a2 * config.get("v", np.zeros_like(w)) + (1 - a2) * dw**2
    t = config.get("t", 0)
    if increment:
        t = t + 1
    m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
    config.update(m=m, v=v, t=t)
    return w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"]), config


def test_adam_t_never_incremented_divides_by_zero():
    text = diagnosis(grading.check_adam, lambda w, dw, c=None: _adam(w, dw, c, increment=False))
    assert text.startswith("t is read from config but never incremented"), text
    assert "1 - beta**0 = 0" in text


def test_adam_betas_swapped_in_the_moments_only():
    text = diagnosis(grading.check_adam, lambda w, dw, c=None: _adam(w, dw, c, swap_moments=True))
    assert text.startswith("beta1 and beta2 swapped in the moment updates"), text


# --------------------------------------------------------------------------------------------
# 7. piecewise_constant: values[index - 1] without a clamp


def test_piecewise_unclamped_index_minus_one_is_named():
    def piecewise_constant(global_step, boundaries, values):
        index = 0
        for boundary in boundaries:
            if global_step > boundary:
                index += 1
        return values[index - 1]  # at step 0 this is values[-1]

    text = diagnosis(grading.check_piecewise_constant, piecewise_constant)
    assert text.startswith("values shifted by one, unclamped"), text
    assert "values[-1]" in text


# --------------------------------------------------------------------------------------------
# 8. search: a TypeError is matched on its message, not only its type


def _search_trials(objective, combinations):
    return [{"params": params, "score": float(objective(params))} for params in combinations]


def test_sorted_without_a_key_is_not_called_keyword_arguments():
    def random_search(objective, space, n_trials, rng):
        samples = [{name: sample(rng) for name, sample in space.items()} for _ in range(n_trials)]
        return sorted(_search_trials(objective, samples))

    def grid_search(objective, grid):
        import itertools
        names = list(grid)
        combinations = [dict(zip(names, values)) for values in itertools.product(*(grid[n] for n in names))]
        return sorted(_search_trials(objective, combinations))

    for check, wrong in ((grading.check_random_search, random_search), (grading.check_grid_search, grid_search)):
        text = diagnosis(check, wrong)
        assert text.startswith("the trials are sorted without a key"), text
        assert "keyword arguments" not in text


def test_keyword_arguments_still_named():
    def random_search(objective, space, n_trials, rng):
        samples = [{name: sample(rng) for name, sample in space.items()} for _ in range(n_trials)]
        trials = [{"params": p, "score": float(objective(**p))} for p in samples]
        return sorted(trials, key=lambda t: t["score"])

    assert diagnosis(grading.check_random_search, random_search).startswith("objective called with keyword arguments")


def test_space_iterated_in_reverse_is_named():
    def random_search(objective, space, n_trials, rng):
        trials = []
        for _ in range(n_trials):
            params = {}
            for name, sample in reversed(space.items()):
                params[name] = sample(rng)
            trials.append({"params": params, "score": float(objective(params))})
        scores = np.array([t["score"] for t in trials])
        return [trials[i] for i in np.argsort(scores)]

    assert diagnosis(grading.check_random_search, random_search).startswith("space iterated in reverse order")


# --------------------------------------------------------------------------------------------
# 9. ensembles


@pytest.mark.parametrize("decay, start", [(0.5, "first"), (0.999, "first"), (0.999, "zeros"), (0.8, "first"),
                                          (0.37, "zeros"), (0.95, "zeros")])
def test_polyak_average_as_an_ema_of_any_decay_is_named(decay, start):
    def ema_update(average, params, decay=0.999):
        return decay * average + (1 - decay) * params

    def polyak_average(params_history):
        history = [np.asarray(p, dtype=float) for p in params_history]
        average = history[0] if start == "first" else np.zeros_like(history[0])
        for params in history[1:] if start == "first" else history:
            average = ema_update(average, params, decay)
        return average

    text = diagnosis(grading.check_polyak_average, polyak_average)
    assert text.startswith("an exponential moving average instead of the plain (uniform) average"), text


@pytest.mark.parametrize("wrong, words", [
    (lambda probs: sum(np.asarray(p) for p in probs) / np.asarray(probs[0]).shape[0],
     "divided by the number of examples instead of the number of models"),
    (lambda probs: np.exp(np.mean([np.log(p) for p in probs], axis=0)), "geometric mean without renormalising"),
    (lambda probs: sum(np.asarray(p) for p in list(probs)[1:]) / len(probs), "a model is left out of the sum"),
    (lambda probs: sum(np.asarray(probs[i]) for i in range(len(probs) - 1)) / len(probs),
     "a model is left out of the sum"),
], ids=["by-examples", "geometric-unnormalised", "drop-first", "drop-last"])
def test_ensemble_predict_mistakes_are_named(wrong, words):
    text = diagnosis(grading.check_ensemble_predict, wrong)
    assert text.startswith(words), text


def test_ema_update_mistakes_are_named():
    def bias_corrected(average, params, decay=0.999):
        new = decay * average + (1 - decay) * params
        return new / (1 - decay)

    def misplaced(average, params, decay=0.999):
        return (1 - decay) * average + params

    assert diagnosis(grading.check_ema_update, bias_corrected).startswith("a bias correction inside the update")
    assert diagnosis(grading.check_ema_update, misplaced).startswith("the factors misplaced")
