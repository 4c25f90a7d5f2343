r"""A tiny fully connected network in numpy, trained by any update rule you pass in.

The network maps inputs :math:`x \in \mathbb{R}^{D}` to class scores through hidden layers

.. math::

    h_0 = x, \qquad a_l = h_{l-1} W_l + b_l, \qquad h_l = \max(0, \operatorname{BN}_l(a_l)) \quad (l < L),
    \qquad s = h_{L-1} W_L + b_L ,

with optional batch normalization :math:`\operatorname{BN}_l` after each hidden affine layer and
before the ReLU, and the softmax cross-entropy loss with L2 regularization of the weights,

.. math::

    \mathcal{L} = \frac{1}{N} \sum_{i=1}^{N} \Bigl(\log \sum_{k} e^{s_{ik}} - s_{i y_i}\Bigr)
    + \frac{\lambda}{2} \sum_{l} \lVert W_l \rVert_F^2 .

The package contains no optimizer, no minibatching and no batch normalization: :func:`train` and
:class:`MLP` take those as arguments (the course's reference or your own functions), so the same
loop trains a network with whichever you are studying.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MLP", "train"]


class MLP:
    r"""A ReLU network with a softmax cross-entropy loss.

    Args:
        layer_sizes: ``[D, H_1, ..., H_{L-1}, C]``: inputs, hidden widths, classes.
        rng: a ``numpy.random.Generator`` for the initial weights.
        reg: the L2 regularization strength :math:`\lambda \ge 0`.
        weight_scale: standard deviation of the initial weights; ``None`` for He initialization
            :math:`\mathcal{N}(0, 2/\text{fan\_in})`.
        batchnorm: ``None``, or a pair ``(batchnorm_forward, batchnorm_backward)`` with the cs231n
            signatures ``forward(x, gamma, beta, bn_param) -> (out, cache)`` and
            ``backward(dout, cache) -> (dx, dgamma, dbeta)``; then every hidden layer has a batch
            normalization with parameters ``gamma<l>``, ``beta<l>`` and running averages.

    Attributes:
        params: dict ``W1, b1, ..., WL, bL`` (and ``gamma<l>, beta<l>``): the trainable arrays.
        bn_params: one ``bn_param`` dict per hidden layer (running averages), or ``[]``.
    """

    def __init__(self, layer_sizes, rng, reg: float = 0.0, weight_scale: float | None = None, batchnorm=None):
        layer_sizes = [int(n) for n in layer_sizes]
        if len(layer_sizes) < 2 or min(layer_sizes) < 1:
            raise ValueError(f"layer_sizes needs at least an input and an output size >= 1, got {layer_sizes}")
        if reg < 0:
            raise ValueError(f"reg must be >= 0, got {reg}")
        if batchnorm is not None and (len(batchnorm) != 2 or not all(map(callable, batchnorm))):
            raise TypeError("batchnorm must be None or a pair (batchnorm_forward, batchnorm_backward)")
        self.layer_sizes = layer_sizes
        self.num_layers = len(layer_sizes) - 1
        self.reg = float(reg)
        self.batchnorm = batchnorm
        self.params: dict[str, np.ndarray] = {}
        for layer, (fan_in, fan_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:]), start=1):
            scale = np.sqrt(2.0 / fan_in) if weight_scale is None else float(weight_scale)
            self.params[f"W{layer}"] = scale * rng.standard_normal((fan_in, fan_out))
            self.params[f"b{layer}"] = np.zeros(fan_out)
            if batchnorm is not None and layer < self.num_layers:
                self.params[f"gamma{layer}"] = np.ones(fan_out)
                self.params[f"beta{layer}"] = np.zeros(fan_out)
        self.bn_params = [{"mode": "train"} for _ in range(self.num_layers - 1)] if batchnorm is not None else []

    def _forward(self, X, mode: str):
        """Scores of shape ``(N, C)`` and the caches of every layer."""
        hidden = np.asarray(X, dtype=np.float64)
        caches = []
        for layer in range(1, self.num_layers + 1):
            W, b = self.params[f"W{layer}"], self.params[f"b{layer}"]
            affine = hidden @ W + b
            if layer == self.num_layers:
                caches.append((hidden, None, None))
                return affine, caches
            bn_cache = None
            if self.batchnorm is not None:
                bn_param = self.bn_params[layer - 1]
                bn_param["mode"] = mode
                affine, bn_cache = self.batchnorm[0](affine, self.params[f"gamma{layer}"], self.params[f"beta{layer}"], bn_param)
            caches.append((hidden, affine, bn_cache))
            hidden = np.maximum(affine, 0.0)
        raise AssertionError("unreachable")

    def loss_and_grads(self, X, y):
        r"""Training-mode loss and gradients on a batch.

        Args:
            X: inputs, shape ``(N, D)``.
            y: integer labels in ``[0, C)``, shape ``(N,)``.

        Returns:
            ``(loss, grads)``: the mean cross-entropy plus :math:`\frac{\lambda}{2}\sum_l\lVert W_l\rVert^2`,
            and a dict of gradients with the keys and shapes of :attr:`params`.
        """
        y = np.asarray(y)
        scores, caches = self._forward(X, "train")
        n_examples = scores.shape[0]
        shifted = scores - scores.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        loss = -log_probs[np.arange(n_examples), y].mean()
        loss += 0.5 * self.reg * sum(np.sum(self.params[f"W{l}"] ** 2) for l in range(1, self.num_layers + 1))

        grads: dict[str, np.ndarray] = {}
        upstream = np.exp(log_probs)
        upstream[np.arange(n_examples), y] -= 1.0
        upstream /= n_examples
        for layer in range(self.num_layers, 0, -1):
            hidden, pre_activation, bn_cache = caches[layer - 1]
            if layer < self.num_layers:
                upstream = upstream * (pre_activation > 0)
                if self.batchnorm is not None:
                    upstream, grads[f"gamma{layer}"], grads[f"beta{layer}"] = self.batchnorm[1](upstream, bn_cache)
            grads[f"W{layer}"] = hidden.T @ upstream + self.reg * self.params[f"W{layer}"]
            grads[f"b{layer}"] = upstream.sum(axis=0)
            upstream = upstream @ self.params[f"W{layer}"].T
        return float(loss), grads

    def predict_proba(self, X) -> np.ndarray:
        """Test-mode class probabilities, shape ``(N, C)``, rows summing to 1."""
        scores, _ = self._forward(X, "test")
        shifted = scores - scores.max(axis=1, keepdims=True)
        probs = np.exp(shifted)
        return probs / probs.sum(axis=1, keepdims=True)

    def accuracy(self, X, y) -> float:
        """Fraction of examples whose most probable class is the label."""
        return float(np.mean(self.predict_proba(X).argmax(axis=1) == np.asarray(y)))


def train(model: MLP, update_rule, X, y, *, minibatches, epochs: int = 5, batch_size: int = 64, config=None,
          rng=None, X_val=None, y_val=None, learning_rate_schedule=None) -> dict:
    r"""Train ``model`` with minibatches and an update rule, one config per parameter (as cs231n's Solver).

    At step :math:`t` (counting minibatches from 0) every parameter array :math:`w` is updated by
    ``w, config_w = update_rule(w, dw, config_w)``; with ``learning_rate_schedule`` given, each
    config's ``learning_rate`` is first set to ``learning_rate_schedule(t)``.

    Args:
        model: an :class:`MLP` (its ``params`` are replaced as training goes).
        update_rule: ``(w, dw, config) -> (next_w, config)``.
        X, y: training inputs ``(N, D)`` and labels ``(N,)``.
        minibatches: ``(X, y, batch_size, rng) -> [(X_batch, y_batch), ...]`` for one epoch.
        epochs, batch_size: the length of training and the minibatch size.
        config: the first config of every parameter (copied), e.g. ``{"learning_rate": 1e-2}``.
        rng: a ``numpy.random.Generator`` passed to ``minibatches`` (``None``: no shuffling).
        X_val, y_val: optional validation data.
        learning_rate_schedule: optional ``step -> learning_rate``.

    Returns:
        A dict: ``loss`` and ``learning_rate`` per step; ``train_acc`` and ``val_acc`` per epoch;
        ``diverged`` (True if the loss stopped being finite, which ends training).
    """
    configs = {name: dict(config or {}) for name in model.params}
    history = {"loss": [], "learning_rate": [], "train_acc": [], "val_acc": [], "diverged": False}
    step = 0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for _ in range(epochs):
            for X_batch, y_batch in minibatches(X, y, batch_size, rng):
                if learning_rate_schedule is not None:
                    learning_rate = float(learning_rate_schedule(step))
                    for name in configs:
                        configs[name]["learning_rate"] = learning_rate
                loss, grads = model.loss_and_grads(X_batch, y_batch)
                if not np.isfinite(loss):
                    history["diverged"] = True
                    history["loss"].append(loss)
                    return history
                for name in model.params:
                    model.params[name], configs[name] = update_rule(model.params[name], grads[name], configs[name])
                history["loss"].append(loss)
                history["learning_rate"].append(next(iter(configs.values())).get("learning_rate", np.nan))
                step += 1
            history["train_acc"].append(model.accuracy(X, y))
            if X_val is not None:
                history["val_acc"].append(model.accuracy(X_val, y_val))
    return history
