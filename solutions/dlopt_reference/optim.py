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

from ._validation import as_float_array, check_same_shape, config_with_defaults, nonnegative


def _prepare(w: Any, dw: Any, config: dict | None, defaults: dict) -> tuple[np.ndarray, np.ndarray, dict]:
    """Validate ``w``/``dw`` and merge ``config`` over ``defaults`` (all copies)."""
    w = as_float_array(w, "w")
    dw = as_float_array(dw, "dw")
    check_same_shape(w, dw)
    config = config_with_defaults(config, defaults)
    config["learning_rate"] = nonnegative(config["learning_rate"], "learning_rate")
    return w, dw, config


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
