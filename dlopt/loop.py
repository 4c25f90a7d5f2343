"""A loop that runs an update rule: the bookkeeping around ``f(w, dw, config) -> (next_w, config)``.

It knows nothing of any particular optimizer; pass the rule in (yours, or the course's).
"""

from __future__ import annotations

import numpy as np

__all__ = ["run_update_rule"]


def run_update_rule(update_rule, loss_and_grad, w0, config=None, num_steps: int = 100):
    r"""Iterate :math:`(w_{t+1}, \text{config}) = \text{update\_rule}(w_t, \nabla f(w_t), \text{config})`.

    Args:
        update_rule: callable ``(w, dw, config) -> (next_w, config)``.
        loss_and_grad: callable ``w -> (loss, dw)``; called once per step (it may draw a minibatch).
        w0: initial parameters (not modified).
        config: the first config (copied), or None.
        num_steps: number of updates :math:`T`.

    Returns:
        ``(trajectory, losses)``: ``trajectory`` has shape ``(T + 1, *w0.shape)`` (:math:`w_0, \dots, w_T`),
        ``losses`` shape ``(T + 1,)`` with :math:`f(w_0), \dots, f(w_T)`. Once the loss is not finite
        the run stops and the remaining entries are ``nan``.
    """
    w = np.array(w0, dtype=np.float64)
    config = None if config is None else dict(config)
    trajectory = np.full((num_steps + 1, *w.shape), np.nan)
    losses = np.full(num_steps + 1, np.nan)
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(num_steps + 1):
            loss, dw = loss_and_grad(w)
            trajectory[t], losses[t] = w, loss
            if t == num_steps or not np.isfinite(loss):
                break
            w, config = update_rule(w, dw, config)
    return trajectory, losses
