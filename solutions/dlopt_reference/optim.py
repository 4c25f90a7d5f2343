"""Update rules (cs231n assignment 2 convention).

Every rule has the signature ``rule(w, dw, config=None) -> (next_w, config)``:

- ``w`` and ``dw`` are arrays of the same shape: the parameters and the gradient of the loss
  with respect to them;
- ``config`` is a dict holding the hyperparameters (defaults filled in when absent) and the
  optimizer's state (velocity, caches, step count), which the rule writes back into the config it
  returns. Pass the returned config to the next call.

No rule modifies ``w``, ``dw`` or the ``config`` passed in: each returns new arrays and a new dict.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validation import (
    as_float_array,
    check_same_shape,
    config_with_defaults,
    in_unit_interval,
    nonnegative,
    nonnegative_int,
    state_array,
)


def _prepare(w: Any, dw: Any, config: dict | None, defaults: dict) -> tuple[np.ndarray, np.ndarray, dict]:
    """Validate ``w``/``dw`` and merge ``config`` over ``defaults`` (all copies)."""
    w = as_float_array(w, "w")
    dw = as_float_array(dw, "dw")
    check_same_shape(w, dw)
    config = config_with_defaults(config, defaults)
    config["learning_rate"] = nonnegative(config["learning_rate"], "learning_rate")
    return w, dw, config


def _divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator`` with 0 where the denominator is 0, silently.

    The adaptive rules divide by ``sqrt(cache) + epsilon``; it is 0 only when ``epsilon == 0`` and
    every gradient seen in that coordinate was 0, so the numerator is 0 too and the coordinate does
    not move (the limit as epsilon -> 0). No NaN, no ``RuntimeWarning``.
    """
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)


def sgd(w, dw, config=None):
    r"""Vanilla stochastic gradient descent.

    .. math::

        w \leftarrow w - \eta \, \nabla_w L

    where :math:`\eta` is ``config['learning_rate']`` and :math:`\nabla_w L` is ``dw``.

    Args:
        w: parameters, any shape.
        dw: gradient of the loss with respect to ``w``, same shape.
        config: dict with ``learning_rate`` (default ``1e-2``). SGD keeps no state.

    Returns:
        ``(next_w, config)``: the updated parameters (new array, same shape) and the config
        with its defaults filled in.

    Example:
        >>> import numpy as np
        >>> next_w, config = sgd(np.array([1.0, 2.0]), np.array([10.0, -10.0]), {"learning_rate": 0.1})
        >>> next_w
        array([0., 3.])
    """
    w, dw, config = _prepare(w, dw, config, {"learning_rate": 1e-2})
    next_w = w - config["learning_rate"] * dw
    return next_w, config


# --------------------------------------------------------------------------------------------
# Momentum
# --------------------------------------------------------------------------------------------

def sgd_momentum(w, dw, config=None):
    r"""Stochastic gradient descent with (heavy-ball) momentum, in cs231n's velocity form.

    Let :math:`\eta` be ``config['learning_rate']``, :math:`\mu` be ``config['momentum']`` and
    :math:`v` be the velocity ``config['velocity']`` (zeros at the first call):

    .. math::

        v &\leftarrow \mu \, v - \eta \, \nabla_w L \\
        w &\leftarrow w + v

    Args:
        w: parameters, any shape.
        dw: gradient of the loss with respect to ``w``, same shape.
        config: dict with ``learning_rate`` (default ``1e-2``), ``momentum`` (default ``0.9``, in
            :math:`[0, 1)`) and the state ``velocity`` (same shape as ``w``; zeros when absent).

    Returns:
        ``(next_w, config)``: the updated parameters and a new config holding the new ``velocity``.

    Example:
        >>> import numpy as np
        >>> w, config = sgd_momentum(np.array([1.0]), np.array([2.0]), {"learning_rate": 0.1})
        >>> w, config["velocity"]
        (array([0.8]), array([-0.2]))
        >>> w, config = sgd_momentum(w, np.array([2.0]), config)   # v = 0.9 * (-0.2) - 0.2
        >>> config["velocity"]
        array([-0.38])

    References:
        Polyak, "Some methods of speeding up the convergence of iteration methods", 1964;
        cs231n assignment 2, ``optim.sgd_momentum``.

    Note:
        Frameworks write the same method differently. PyTorch's ``SGD(momentum=mu)`` keeps a buffer
        :math:`b \leftarrow \mu b + \nabla_w L` and steps :math:`w \leftarrow w - \eta b` (and starts the
        buffer at the first gradient, which is the same as starting it at zero); since
        :math:`v = -\eta b` for a constant :math:`\eta`, the two produce the same iterates. The
        exponential-moving-average form is :func:`sgd_momentum_ema`; with the same :math:`\beta = \mu`
        it matches this one when its learning rate is :math:`\eta / (1 - \mu)`.
    """
    w, dw, config = _prepare(w, dw, config, {"learning_rate": 1e-2, "momentum": 0.9})
    config["momentum"] = in_unit_interval(config["momentum"], "momentum")
    velocity = state_array(config, "velocity", w)
    velocity = config["momentum"] * velocity - config["learning_rate"] * dw
    next_w = w + velocity
    config["velocity"] = velocity
    return next_w, config


def sgd_momentum_ema(w, dw, config=None):
    r"""Momentum as an exponential moving average of the gradients.

    Let :math:`\eta` be ``config['learning_rate']``, :math:`\beta` be ``config['beta']`` and :math:`m`
    be ``config['m']`` (zeros at the first call):

    .. math::

        m &\leftarrow \beta \, m + (1 - \beta) \, \nabla_w L \\
        w &\leftarrow w - \eta \, m

    Args:
        w: parameters, any shape.
        dw: gradient of the loss with respect to ``w``, same shape.
        config: dict with ``learning_rate`` (default ``1e-2``), ``beta`` (default ``0.9``, in
            :math:`[0, 1)`) and the state ``m`` (same shape as ``w``; zeros when absent).

    Returns:
        ``(next_w, config)``: the updated parameters and a new config holding the new ``m``.

    Example:
        >>> import numpy as np
        >>> w, config = sgd_momentum_ema(np.array([1.0]), np.array([2.0]), {"learning_rate": 0.1})
        >>> config["m"], w   # m = 0.1 * 2, w = 1 - 0.1 * 0.2
        (array([0.2]), array([0.98]))

    References:
        Andrew Ng's deep learning course (momentum as an EMA); d2l.ai, section "Momentum".

    Note:
        No bias correction: :math:`m` starts at zero, so the first steps are short by the factor
        :math:`1 - \beta^t`. Because :math:`m = (1-\beta) b` with PyTorch's buffer
        :math:`b \leftarrow \beta b + \nabla_w L`, this rule with learning rate :math:`\eta` equals
        :func:`sgd_momentum` (``momentum`` :math:`=\beta`) with learning rate :math:`(1-\beta)\eta`.
    """
    w, dw, config = _prepare(w, dw, config, {"learning_rate": 1e-2, "beta": 0.9})
    config["beta"] = in_unit_interval(config["beta"], "beta")
    beta = config["beta"]
    m = beta * state_array(config, "m", w) + (1.0 - beta) * dw
    next_w = w - config["learning_rate"] * m
    config["m"] = m
    return next_w, config


def nesterov_momentum(w, dw, config=None):
    r"""Nesterov's accelerated gradient, in the rewritten form that needs only the gradient at ``w``.

    Here ``w`` is the look-ahead point :math:`\tilde w = w_{\text{actual}} + \mu v` and ``dw`` the
    gradient there. Let :math:`\eta` be ``config['learning_rate']``, :math:`\mu` be
    ``config['momentum']`` and :math:`v` be ``config['velocity']`` (zeros at the first call):

    .. math::

        v_{\text{prev}} &\leftarrow v \\
        v &\leftarrow \mu \, v - \eta \, \nabla_{\tilde w} L \\
        \tilde w &\leftarrow \tilde w - \mu \, v_{\text{prev}} + (1 + \mu) \, v

    Args:
        w: the look-ahead parameters :math:`\tilde w`, any shape.
        dw: gradient of the loss at ``w``, same shape.
        config: dict with ``learning_rate`` (default ``1e-2``), ``momentum`` (default ``0.9``, in
            :math:`[0, 1)`) and the state ``velocity`` (zeros when absent).

    Returns:
        ``(next_w, config)``: the next look-ahead point and a new config holding the new ``velocity``.

    Example:
        >>> import numpy as np
        >>> w, config = nesterov_momentum(np.array([1.0]), np.array([2.0]), {"learning_rate": 0.1})
        >>> w   # v = -0.2; w = 1 - 0 + 1.9 * (-0.2)
        array([0.62])

    References:
        Nesterov, "A method of solving a convex programming problem with convergence rate
        O(1/k^2)", 1983; Sutskever, Martens, Dahl & Hinton, "On the importance of initialization and
        momentum in deep learning", ICML 2013; Bengio, Boulanger-Lewandowski & Pascanu, "Advances in
        optimizing recurrent networks", 2013 (the rewritten form); cs231n notes, "Nesterov Momentum".

    Note:
        This is the same sequence of iterates as :func:`nesterov_lookahead` with the change of
        variable :math:`\tilde w = w + \mu v`. PyTorch's ``SGD(nesterov=True)`` uses the buffer form
        :math:`b \leftarrow \mu b + g`, :math:`w \leftarrow w - \eta (g + \mu b)`, equal to this one
        for a constant learning rate (:math:`v = -\eta b`).
    """
    w, dw, config = _prepare(w, dw, config, {"learning_rate": 1e-2, "momentum": 0.9})
    config["momentum"] = in_unit_interval(config["momentum"], "momentum")
    mu = config["momentum"]
    velocity_prev = state_array(config, "velocity", w)
    velocity = mu * velocity_prev - config["learning_rate"] * dw
    next_w = w - mu * velocity_prev + (1.0 + mu) * velocity
    config["velocity"] = velocity
    return next_w, config


def nesterov_lookahead(w, grad_fn, config=None):
    r"""Nesterov's accelerated gradient in the textbook form: the gradient at the look-ahead point.

    Let :math:`\eta` be ``config['learning_rate']``, :math:`\mu` be ``config['momentum']``, :math:`v` be
    ``config['velocity']`` (zeros at the first call) and :math:`g(\cdot)` be ``grad_fn``:

    .. math::

        v &\leftarrow \mu \, v - \eta \, g(w + \mu v) \\
        w &\leftarrow w + v

    ``w`` is the actual point; ``grad_fn`` is called exactly once, with a new array holding
    :math:`w + \mu v`.

    Args:
        w: parameters, any shape.
        grad_fn: callable ``x -> gradient of the loss at x`` (an array shaped like ``w``).
        config: dict with ``learning_rate`` (default ``1e-2``), ``momentum`` (default ``0.9``, in
            :math:`[0, 1)`) and the state ``velocity`` (zeros when absent).

    Returns:
        ``(next_w, config)``: the updated parameters and a new config holding the new ``velocity``.

    Example:
        >>> import numpy as np
        >>> grad = lambda x: 2 * x            # L(x) = x**2
        >>> w, config = nesterov_lookahead(np.array([1.0]), grad, {"learning_rate": 0.1})
        >>> w                                  # v = -0.1 * 2 * 1
        array([0.8])

    References:
        Sutskever, Martens, Dahl & Hinton, "On the importance of initialization and momentum in deep
        learning", ICML 2013, eq. (3)-(4); cs231n notes, "Nesterov Momentum".

    Note:
        :func:`nesterov_momentum` produces the same iterates, tracked at the look-ahead point
        :math:`w + \mu v`; deep-learning frameworks implement that form because it needs the gradient
        only at the stored parameters.
    """
    if not callable(grad_fn):
        raise TypeError(f"grad_fn must be callable (x -> gradient at x), got {type(grad_fn).__name__}")
    w = as_float_array(w, "w")
    config = config_with_defaults(config, {"learning_rate": 1e-2, "momentum": 0.9})
    config["learning_rate"] = nonnegative(config["learning_rate"], "learning_rate")
    config["momentum"] = in_unit_interval(config["momentum"], "momentum")
    mu = config["momentum"]
    velocity = state_array(config, "velocity", w)
    lookahead = w + mu * velocity
    grad = as_float_array(grad_fn(lookahead), "grad_fn(w + momentum * velocity)")
    check_same_shape(w, grad, "w", "grad_fn(w + momentum * velocity)")
    velocity = mu * velocity - config["learning_rate"] * grad
    next_w = w + velocity
    config["velocity"] = velocity
    return next_w, config


# --------------------------------------------------------------------------------------------
# Adaptive methods
# --------------------------------------------------------------------------------------------

def adagrad(w, dw, config=None):
    r"""AdaGrad: per-coordinate step sizes from the sum of all squared gradients.

    Let :math:`\eta` be ``config['learning_rate']``, :math:`\epsilon` be ``config['epsilon']`` and
    :math:`c` be ``config['cache']`` (zeros at the first call); operations are element-wise:

    .. math::

        c &\leftarrow c + (\nabla_w L)^2 \\
        w &\leftarrow w - \eta \, \frac{\nabla_w L}{\sqrt{c} + \epsilon}

    Args:
        w: parameters, any shape.
        dw: gradient of the loss with respect to ``w``, same shape.
        config: dict with ``learning_rate`` (default ``1e-2``), ``epsilon`` (default ``1e-8``) and the
            state ``cache`` (zeros when absent).

    Returns:
        ``(next_w, config)``: the updated parameters and a new config holding the new ``cache``.

    Example:
        >>> import numpy as np
        >>> w, config = adagrad(np.array([1.0, 1.0]), np.array([3.0, -0.5]), {"learning_rate": 0.1})
        >>> np.round(w, 6)   # first step: w - lr * sign(dw) (up to epsilon)
        array([0.9, 1.1])

    References:
        Duchi, Hazan & Singer, "Adaptive subgradient methods for online learning and stochastic
        optimization", JMLR 2011; cs231n notes, "Adagrad".

    Note:
        :math:`\epsilon` is added outside the square root (cs231n, PyTorch). PyTorch's ``Adagrad`` has
        default ``eps=1e-10`` and ``initial_accumulator_value=0``; TensorFlow/Keras start the
        accumulator at ``0.1``.
    """
    w, dw, config = _prepare(w, dw, config, {"learning_rate": 1e-2, "epsilon": 1e-8})
    config["epsilon"] = nonnegative(config["epsilon"], "epsilon")
    cache = state_array(config, "cache", w) + dw * dw
    next_w = w - config["learning_rate"] * _divide(dw, np.sqrt(cache) + config["epsilon"])
    config["cache"] = cache
    return next_w, config


def rmsprop(w, dw, config=None):
    r"""RMSProp: AdaGrad with a leaky (exponentially decaying) average of squared gradients.

    Let :math:`\eta` be ``config['learning_rate']``, :math:`\rho` be ``config['decay_rate']``,
    :math:`\epsilon` be ``config['epsilon']`` and :math:`c` be ``config['cache']`` (zeros at the first
    call); operations are element-wise:

    .. math::

        c &\leftarrow \rho \, c + (1 - \rho) (\nabla_w L)^2 \\
        w &\leftarrow w - \eta \, \frac{\nabla_w L}{\sqrt{c} + \epsilon}

    Args:
        w: parameters, any shape.
        dw: gradient of the loss with respect to ``w``, same shape.
        config: dict with ``learning_rate`` (default ``1e-2``), ``decay_rate`` (default ``0.99``, in
            :math:`[0, 1)`), ``epsilon`` (default ``1e-8``) and the state ``cache`` (zeros when absent).

    Returns:
        ``(next_w, config)``: the updated parameters and a new config holding the new ``cache``.

    Example:
        >>> import numpy as np
        >>> w, config = rmsprop(np.array([1.0]), np.array([2.0]), {"learning_rate": 0.1})
        >>> config["cache"], np.round(w, 6)   # cache = 0.01 * 4; step = 0.1 * 2 / 0.2
        (array([0.04]), array([0.]))

    References:
        Tieleman & Hinton, Lecture 6.5 of "Neural Networks for Machine Learning", Coursera 2012;
        cs231n notes, "RMSprop".

    Note:
        :math:`\epsilon` is outside the square root (cs231n, PyTorch); TensorFlow 1's ``RMSPropOptimizer``
        puts it inside. No bias correction: the first steps are larger than later ones by about
        :math:`1/\sqrt{1-\rho^t}`. PyTorch calls :math:`\rho` ``alpha`` (default ``0.99``).
    """
    w, dw, config = _prepare(w, dw, config, {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8})
    config["decay_rate"] = in_unit_interval(config["decay_rate"], "decay_rate")
    config["epsilon"] = nonnegative(config["epsilon"], "epsilon")
    rho = config["decay_rate"]
    cache = rho * state_array(config, "cache", w) + (1.0 - rho) * dw * dw
    next_w = w - config["learning_rate"] * _divide(dw, np.sqrt(cache) + config["epsilon"])
    config["cache"] = cache
    return next_w, config


def adadelta(w, dw, config=None):
    r"""AdaDelta: RMSProp whose step is rescaled by a running average of past squared updates.

    Let :math:`\eta` be ``config['learning_rate']``, :math:`\rho` be ``config['rho']``, :math:`\epsilon`
    be ``config['epsilon']``, :math:`c` be ``config['cache']`` (average of squared gradients) and
    :math:`\delta` be ``config['delta']`` (average of squared updates), both zeros at the first call:

    .. math::

        c &\leftarrow \rho \, c + (1 - \rho) (\nabla_w L)^2 \\
        \Delta &\leftarrow -\frac{\sqrt{\delta + \epsilon}}{\sqrt{c + \epsilon}} \, \nabla_w L \\
        \delta &\leftarrow \rho \, \delta + (1 - \rho) \, \Delta^2 \\
        w &\leftarrow w + \eta \, \Delta

    Args:
        w: parameters, any shape.
        dw: gradient of the loss with respect to ``w``, same shape.
        config: dict with ``learning_rate`` (default ``1.0``, as in PyTorch: the paper has none),
            ``rho`` (default ``0.9``, in :math:`[0, 1)`), ``epsilon`` (default ``1e-6``) and the state
            ``cache`` and ``delta`` (zeros when absent).

    Returns:
        ``(next_w, config)``: the updated parameters and a new config holding ``cache`` and ``delta``.

    Example:
        >>> import numpy as np
        >>> w, config = adadelta(np.array([1.0]), np.array([2.0]))
        >>> np.round(1.0 - w, 8)   # sqrt(1e-6) / sqrt(0.1 * 4 + 1e-6) * 2
        array([0.00316227])

    References:
        Zeiler, "ADADELTA: an adaptive learning rate method", arXiv:1212.5701, 2012, Algorithm 1;
        PyTorch ``torch.optim.Adadelta``.

    Note:
        Unlike the other adaptive rules here, :math:`\epsilon` is *inside* both square roots, as in
        Algorithm 1 of the paper (and PyTorch, TensorFlow). The ``delta`` average is updated with the
        update :math:`\Delta` before it is scaled by :math:`\eta` (PyTorch's order); with the default
        :math:`\eta = 1` the distinction disappears.
    """
    w, dw, config = _prepare(w, dw, config, {"learning_rate": 1.0, "rho": 0.9, "epsilon": 1e-6})
    config["rho"] = in_unit_interval(config["rho"], "rho")
    config["epsilon"] = nonnegative(config["epsilon"], "epsilon")
    rho, eps = config["rho"], config["epsilon"]
    cache = rho * state_array(config, "cache", w) + (1.0 - rho) * dw * dw
    delta = state_array(config, "delta", w)
    update = -_divide(np.sqrt(delta + eps) * dw, np.sqrt(cache + eps))
    delta = rho * delta + (1.0 - rho) * update * update
    next_w = w + config["learning_rate"] * update
    config["cache"] = cache
    config["delta"] = delta
    return next_w, config


def _adam_moments(w, dw, config):
    """Shared part of Adam and AdamW: validate, update the moments and return the Adam step."""
    config["beta1"] = in_unit_interval(config["beta1"], "beta1")
    config["beta2"] = in_unit_interval(config["beta2"], "beta2")
    config["epsilon"] = nonnegative(config["epsilon"], "epsilon")
    beta1, beta2 = config["beta1"], config["beta2"]
    t = config.get("t")
    t = (0 if t is None else nonnegative_int(t, "config['t']")) + 1
    m = beta1 * state_array(config, "m", w) + (1.0 - beta1) * dw
    v = beta2 * state_array(config, "v", w) + (1.0 - beta2) * dw * dw
    m_hat = m / (1.0 - beta1 ** t)
    v_hat = v / (1.0 - beta2 ** t)
    step = _divide(m_hat, np.sqrt(v_hat) + config["epsilon"])
    config["m"], config["v"], config["t"] = m, v, t
    return step


def adam(w, dw, config=None):
    r"""Adam: momentum on the gradient and RMSProp scaling, both bias-corrected.

    Let :math:`\eta` be ``config['learning_rate']``, :math:`\beta_1, \beta_2` be ``config['beta1']``,
    ``config['beta2']``, :math:`\epsilon` be ``config['epsilon']``, and :math:`m, v, t` be the state
    ``config['m']``, ``config['v']`` (zeros at the first call) and ``config['t']`` (``0`` at the first
    call, so the first step uses :math:`t = 1`); operations are element-wise:

    .. math::

        t &\leftarrow t + 1 \\
        m &\leftarrow \beta_1 m + (1 - \beta_1) \nabla_w L \\
        v &\leftarrow \beta_2 v + (1 - \beta_2) (\nabla_w L)^2 \\
        \hat m &\leftarrow m / (1 - \beta_1^t), \qquad \hat v \leftarrow v / (1 - \beta_2^t) \\
        w &\leftarrow w - \eta \, \frac{\hat m}{\sqrt{\hat v} + \epsilon}

    Args:
        w: parameters, any shape.
        dw: gradient of the loss with respect to ``w``, same shape.
        config: dict with ``learning_rate`` (default ``1e-3``), ``beta1`` (default ``0.9``), ``beta2``
            (default ``0.999``), both in :math:`[0, 1)`, ``epsilon`` (default ``1e-8``) and the state
            ``m``, ``v`` (zeros when absent) and ``t`` (``0`` when absent).

    Returns:
        ``(next_w, config)``: the updated parameters and a new config holding ``m``, ``v`` and ``t``.

    Example:
        >>> import numpy as np
        >>> w, config = adam(np.array([1.0, 1.0]), np.array([50.0, -0.5]), {"learning_rate": 0.1})
        >>> np.round(w, 6), config["t"]   # the first step has length lr in every coordinate
        (array([0.9, 1.1]), 1)

    References:
        Kingma & Ba, "Adam: a method for stochastic optimization", ICLR 2015, Algorithm 1;
        cs231n assignment 2, ``optim.adam``.

    Note:
        :math:`\epsilon` is added outside the square root of the bias-corrected :math:`\hat v`
        (Algorithm 1; PyTorch, optax, cs231n). TensorFlow's ``AdamOptimizer`` used the formulation just
        before Section 2.1 of the paper, with :math:`\hat\epsilon` added to :math:`\sqrt{v}` before the
        correction, which differs by a factor :math:`\sqrt{1-\beta_2^t}` on :math:`\epsilon`.
    """
    w, dw, config = _prepare(w, dw, config, {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999,
                                             "epsilon": 1e-8, "t": 0})
    step = _adam_moments(w, dw, config)
    next_w = w - config["learning_rate"] * step
    return next_w, config


def adamw(w, dw, config=None):
    r"""AdamW: Adam with decoupled weight decay, exactly as PyTorch's ``torch.optim.AdamW``.

    With the notation of :func:`adam` and :math:`\lambda` = ``config['weight_decay']``, the decay is
    applied to the parameters before the Adam step, scaled by the learning rate, and never enters
    the moments:

    .. math::

        w &\leftarrow w - \eta \lambda \, w \qquad (\text{i.e. } w \leftarrow (1 - \eta\lambda) w) \\
        t &\leftarrow t + 1 \\
        m &\leftarrow \beta_1 m + (1 - \beta_1) \nabla_w L \\
        v &\leftarrow \beta_2 v + (1 - \beta_2) (\nabla_w L)^2 \\
        w &\leftarrow w - \eta \, \frac{m / (1 - \beta_1^t)}{\sqrt{v / (1 - \beta_2^t)} + \epsilon}

    ``dw`` is the gradient of the loss *without* the decay term, evaluated at the old parameters.

    Args:
        w: parameters, any shape.
        dw: gradient of the loss with respect to ``w``, same shape.
        config: as :func:`adam`, plus ``weight_decay`` (default ``1e-2``, PyTorch's default, >= 0).

    Returns:
        ``(next_w, config)``: the updated parameters and a new config holding ``m``, ``v`` and ``t``.

    Example:
        >>> import numpy as np
        >>> w, config = adamw(np.array([2.0]), np.array([0.0]), {"learning_rate": 0.1, "weight_decay": 0.5})
        >>> w   # zero gradient: only the decay acts, 2 * (1 - 0.1 * 0.5)
        array([1.9])

    References:
        Loshchilov & Hutter, "Decoupled weight decay regularization", ICLR 2019, Algorithm 2;
        PyTorch ``torch.optim.AdamW`` (its documented algorithm).

    Note:
        The paper multiplies the decay by a schedule multiplier :math:`\eta_t` only, not by the
        learning rate :math:`\alpha`; PyTorch (and this function) uses :math:`\eta\lambda`. optax's
        ``adamw`` also scales by the learning rate. Adding :math:`\lambda w` to the gradient instead
        (L2 regularisation, ``Adam(weight_decay=...)`` in PyTorch) is a different method.
    """
    w, dw, config = _prepare(w, dw, config, {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999,
                                             "epsilon": 1e-8, "weight_decay": 1e-2, "t": 0})
    config["weight_decay"] = nonnegative(config["weight_decay"], "weight_decay")
    decayed_w = w * (1.0 - config["learning_rate"] * config["weight_decay"])
    step = _adam_moments(w, dw, config)
    next_w = decayed_w - config["learning_rate"] * step
    return next_w, config
