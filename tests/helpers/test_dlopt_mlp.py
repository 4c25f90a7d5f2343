"""dlopt.mlp: gradients against central differences, training with the reference rules."""

from __future__ import annotations

import numpy as np
import pytest

from dlopt.data import load_digits_split
from dlopt.gradcheck import numerical_gradient, rel_error
from dlopt.mlp import MLP, train
from dlopt_reference.batchnorm import batchnorm_backward, batchnorm_forward
from dlopt_reference.data import minibatches
from dlopt_reference.optim import adam, sgd


@pytest.mark.parametrize("batchnorm", [None, (batchnorm_forward, batchnorm_backward)], ids=["plain", "batchnorm"])
@pytest.mark.parametrize("reg", [0.0, 0.1])
def test_gradients_match_central_differences(batchnorm, reg):
    rng = np.random.default_rng(0)
    model = MLP([4, 6, 5, 3], rng=rng, reg=reg, batchnorm=batchnorm)
    for name in model.params:  # random biases and BN shifts: no pre-activation sits on the ReLU's kink at 0
        if name.startswith(("b", "beta")):
            model.params[name] = 0.1 * rng.standard_normal(model.params[name].shape)
    X, y = rng.standard_normal((7, 4)), rng.integers(0, 3, size=7)
    _, grads = model.loss_and_grads(X, y)
    for name, value in model.params.items():
        def loss_at(v, name=name):
            saved = model.params[name]
            model.params[name] = v
            loss = model.loss_and_grads(X, y)[0]
            model.params[name] = saved
            return loss
        numerical = numerical_gradient(loss_at, value)
        assert rel_error(grads[name], numerical) < 1e-6, name


def test_loss_at_initialization_is_log_of_the_number_of_classes():
    """With tiny weights every class is equally likely: the cross-entropy is log C."""
    rng = np.random.default_rng(1)
    model = MLP([10, 20, 5], rng=rng, weight_scale=1e-6)
    loss, _ = model.loss_and_grads(rng.standard_normal((50, 10)), rng.integers(0, 5, size=50))
    assert np.isclose(loss, np.log(5), atol=1e-6)


def test_regularization_adds_half_lambda_times_squared_weights():
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((5, 3)), rng.integers(0, 2, size=5)
    plain = MLP([3, 4, 2], rng=np.random.default_rng(3))
    regularized = MLP([3, 4, 2], rng=np.random.default_rng(3), reg=0.5)
    expected = 0.25 * (np.sum(plain.params["W1"] ** 2) + np.sum(plain.params["W2"] ** 2))
    assert np.isclose(regularized.loss_and_grads(X, y)[0] - plain.loss_and_grads(X, y)[0], expected)


def test_probabilities_sum_to_one():
    model = MLP([4, 8, 3], rng=np.random.default_rng(0))
    probs = model.predict_proba(np.random.default_rng(1).standard_normal((9, 4)))
    assert probs.shape == (9, 3) and np.allclose(probs.sum(axis=1), 1.0)


@pytest.mark.parametrize("update_rule, config", [(sgd, {"learning_rate": 0.1}), (adam, {"learning_rate": 1e-2})])
def test_training_on_digits_learns(update_rule, config):
    data = load_digits_split()
    model = MLP([64, 32, 10], rng=np.random.default_rng(0))
    history = train(model, update_rule, data.X_train, data.y_train, minibatches=minibatches, epochs=3,
                    batch_size=64, config=config, rng=np.random.default_rng(1), X_val=data.X_val, y_val=data.y_val)
    assert not history["diverged"]
    assert np.mean(history["loss"][-10:]) < 0.5 * history["loss"][0]
    assert history["val_acc"][-1] > 0.85
    assert len(history["learning_rate"]) == len(history["loss"])


def test_schedule_sets_the_learning_rate_of_every_step():
    data = load_digits_split()
    model = MLP([64, 10], rng=np.random.default_rng(0))
    history = train(model, sgd, data.X_train[:256], data.y_train[:256], minibatches=minibatches, epochs=2,
                    batch_size=64, learning_rate_schedule=lambda step: 0.1 / (1 + step))
    assert np.allclose(history["learning_rate"], [0.1 / (1 + t) for t in range(8)])


def test_divergence_stops_training_without_warnings(recwarn):
    data = load_digits_split()
    model = MLP([64, 32, 10], rng=np.random.default_rng(0))
    history = train(model, sgd, data.X_train, data.y_train, minibatches=minibatches, epochs=3,
                    batch_size=64, config={"learning_rate": 1e4}, rng=np.random.default_rng(1))
    assert history["diverged"]
    assert len(recwarn) == 0
