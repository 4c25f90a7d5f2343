"""Learning-rate schedules with TensorFlow 1 ``tf.train.*_decay`` semantics.

Every schedule is a pure function of the step: ``schedule(learning_rate, global_step, ...) -> float``.
``global_step`` (``epoch`` for :func:`step_decay`) is an integer >= 0 (Python or numpy integer;
floats and booleans raise ``TypeError``, negative values ``ValueError``); the result is a Python
``float``. :class:`ReduceLROnPlateau` is the one stateful schedule: it reacts to a validation loss.
"""

from __future__ import annotations

import bisect
import math
import numpy as np

from ._validation import as_real, in_unit_interval, nonnegative, nonnegative_int, positive, positive_int

__all__ = [
    "exponential_decay",
    "inverse_time_decay",
    "natural_exp_decay",
    "piecewise_constant",
    "polynomial_decay",
    "cosine_decay",
    "step_decay",
    "schedule_for_budget",
    "ReduceLROnPlateau",
]


def _check_flag(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__}")
    return bool(value)


def _decay_exponent(global_step, decay_steps, staircase):
    """Validated ``p = global_step / decay_steps`` (floored with ``staircase``)."""
    global_step = nonnegative_int(global_step, "global_step")
    decay_steps = positive(decay_steps, "decay_steps")
    staircase = _check_flag(staircase, "staircase")
    p = global_step / decay_steps
    return float(math.floor(p)) if staircase else p


def exponential_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False):
    r"""Exponential decay, ``tf.train.exponential_decay``.

    Let :math:`\eta_0` be ``learning_rate``, :math:`r` be ``decay_rate``, :math:`k` be ``global_step``
    and :math:`T` be ``decay_steps``:

    .. math::

        p = k / T \quad (\lfloor k / T \rfloor \text{ with staircase}), \qquad \eta_k = \eta_0 \, r^{p}

    Args:
        learning_rate: :math:`\eta_0 \ge 0`.
        global_step: :math:`k`, an integer >= 0.
        decay_steps: :math:`T > 0`: the learning rate is multiplied by :math:`r` every :math:`T` steps.
        decay_rate: :math:`r \ge 0` (:math:`r < 1` decays).
        staircase: if ``True``, decay in discrete jumps at multiples of :math:`T`.

    Returns:
        The learning rate at step :math:`k` (a ``float``).

    Example:
        >>> round(exponential_decay(0.1, 15, 10, 0.5), 6), exponential_decay(0.1, 15, 10, 0.5, staircase=True)
        (0.035355, 0.05)
    """
    p = _decay_exponent(global_step, decay_steps, staircase)
    learning_rate = nonnegative(learning_rate, "learning_rate")
    decay_rate = nonnegative(decay_rate, "decay_rate")
    return float(learning_rate * decay_rate ** p)


def inverse_time_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False):
    r"""Inverse-time decay, ``tf.train.inverse_time_decay``.

    .. math::

        p = k / T \quad (\lfloor k / T \rfloor \text{ with staircase}), \qquad
        \eta_k = \frac{\eta_0}{1 + r \, p}

    with :math:`\eta_0` = ``learning_rate``, :math:`k` = ``global_step``, :math:`T` = ``decay_steps``
    and :math:`r` = ``decay_rate``.

    Args:
        learning_rate: :math:`\eta_0 \ge 0`.
        global_step: :math:`k`, an integer >= 0.
        decay_steps: :math:`T > 0`.
        decay_rate: :math:`r \ge 0`.
        staircase: if ``True``, use :math:`p = \lfloor k / T \rfloor` (discrete jumps at multiples of :math:`T`).

    Returns:
        The learning rate at step :math:`k` (a ``float``).

    Example:
        >>> inverse_time_decay(0.1, 20, 10, 0.5)   # 0.1 / (1 + 0.5 * 2)
        0.05
    """
    p = _decay_exponent(global_step, decay_steps, staircase)
    learning_rate = nonnegative(learning_rate, "learning_rate")
    decay_rate = nonnegative(decay_rate, "decay_rate")
    return float(learning_rate / (1.0 + decay_rate * p))


def natural_exp_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False):
    r"""Natural exponential decay, ``tf.train.natural_exp_decay``.

    .. math::

        p = k / T \quad (\lfloor k / T \rfloor \text{ with staircase}), \qquad
        \eta_k = \eta_0 \, e^{-r p}

    with :math:`\eta_0` = ``learning_rate``, :math:`k` = ``global_step``, :math:`T` = ``decay_steps``
    and :math:`r` = ``decay_rate``.

    Args:
        learning_rate: :math:`\eta_0 \ge 0`.
        global_step: :math:`k`, an integer >= 0.
        decay_steps: :math:`T > 0`.
        decay_rate: :math:`r \ge 0`.
        staircase: if ``True``, use :math:`p = \lfloor k / T \rfloor` (discrete jumps at multiples of :math:`T`).

    Returns:
        The learning rate at step :math:`k` (a ``float``).

    Example:
        >>> round(natural_exp_decay(1.0, 10, 10, 1.0), 6)   # exp(-1)
        0.367879
    """
    p = _decay_exponent(global_step, decay_steps, staircase)
    learning_rate = nonnegative(learning_rate, "learning_rate")
    decay_rate = nonnegative(decay_rate, "decay_rate")
    return float(learning_rate * math.exp(-decay_rate * p))


def piecewise_constant(global_step, boundaries, values):
    r"""Piecewise-constant learning rate, ``tf.train.piecewise_constant``.

    With boundaries :math:`b_0 < b_1 < \dots < b_{n-1}` and values :math:`v_0, \dots, v_n`:

    .. math::

        \eta_k = v_i \quad \text{for } b_{i-1} < k \le b_i \qquad (b_{-1} = -\infty,\ b_n = +\infty)

    so at a boundary (:math:`k = b_i`) the value is still the one on its left, :math:`v_i`.

    Args:
        global_step: :math:`k`, an integer >= 0.
        boundaries: strictly increasing real numbers (list, tuple or 1-D array).
        values: real numbers, one more than ``boundaries``.

    Returns:
        The learning rate at step :math:`k` (a ``float``).

    Example:
        >>> [piecewise_constant(k, [10, 20], [1.0, 0.5, 0.1]) for k in (0, 10, 11, 20, 21)]
        [1.0, 1.0, 0.5, 0.5, 0.1]
    """
    global_step = nonnegative_int(global_step, "global_step")
    if isinstance(boundaries, (str, bytes)) or isinstance(values, (str, bytes)):
        raise TypeError("boundaries and values must be sequences of numbers")
    boundaries = [as_real(b, f"boundaries[{i}]") for i, b in enumerate(boundaries)]
    values = [as_real(v, f"values[{i}]") for i, v in enumerate(values)]
    if len(values) != len(boundaries) + 1:
        raise ValueError(f"values must have one more element than boundaries, got {len(values)} values "
                         f"and {len(boundaries)} boundaries")
    if any(b >= c for b, c in zip(boundaries, boundaries[1:])):
        raise ValueError(f"boundaries must be strictly increasing, got {boundaries}")
    # the number of boundaries strictly below the step
    return float(values[bisect.bisect_left(boundaries, global_step)])


def polynomial_decay(learning_rate, global_step, decay_steps, end_learning_rate=1e-4, power=1.0, cycle=False):
    r"""Polynomial decay, ``tf.train.polynomial_decay`` (TensorFlow 1).

    Let :math:`\eta_0` = ``learning_rate``, :math:`\eta_{\text{end}}` = ``end_learning_rate``,
    :math:`k` = ``global_step``, :math:`T` = ``decay_steps`` and :math:`q` = ``power``. Without
    ``cycle`` the step is clipped at :math:`T`; with ``cycle`` the horizon is stretched to the next
    multiple of :math:`T` instead:

    .. math::

        T' &= T \cdot \max\bigl(1, \lceil k / T \rceil\bigr) \text{ if cycle, else } T' = T,\ k \leftarrow \min(k, T) \\
        \eta_k &= (\eta_0 - \eta_{\text{end}}) \left(1 - \frac{k}{T'}\right)^{q} + \eta_{\text{end}}

    At :math:`k = 0` the multiplier is 1 (TensorFlow treats step 0 specially, since
    :math:`\lceil 0 \rceil = 0`); at an exact multiple :math:`k = nT` with ``cycle`` the value is
    :math:`\eta_{\text{end}}` (the restart happens at :math:`k = nT + 1`).

    Args:
        learning_rate: :math:`\eta_0 \ge 0`.
        global_step: :math:`k`, an integer >= 0.
        decay_steps: :math:`T > 0`.
        end_learning_rate: :math:`\eta_{\text{end}} \ge 0` (default ``1e-4``).
        power: :math:`q \ge 0` (default ``1.0``: linear decay).
        cycle: restart the decay after every :math:`T` steps.

    Returns:
        The learning rate at step :math:`k` (a ``float``).

    Example:
        >>> polynomial_decay(0.1, 5, 10, 0.0), polynomial_decay(0.1, 50, 10, 0.0)
        (0.05, 0.0)
        >>> polynomial_decay(0.1, 15, 10, 0.0, cycle=True)   # T' = 20
        0.025
    """
    global_step = nonnegative_int(global_step, "global_step")
    decay_steps = positive(decay_steps, "decay_steps")
    learning_rate = nonnegative(learning_rate, "learning_rate")
    end_learning_rate = nonnegative(end_learning_rate, "end_learning_rate")
    power = nonnegative(power, "power")
    cycle = _check_flag(cycle, "cycle")
    step = float(global_step)
    if cycle:
        multiplier = 1.0 if global_step == 0 else math.ceil(step / decay_steps)
        decay_steps = decay_steps * multiplier
    else:
        step = min(step, decay_steps)
    return float((learning_rate - end_learning_rate) * (1.0 - step / decay_steps) ** power + end_learning_rate)


def cosine_decay(learning_rate, global_step, decay_steps, alpha=0.0):
    r"""Cosine decay, ``tf.train.cosine_decay`` (Loshchilov & Hutter's SGDR without restarts).

    With :math:`\eta_0` = ``learning_rate``, :math:`k` = ``global_step``, :math:`T` = ``decay_steps``
    and :math:`\alpha` = ``alpha``:

    .. math::

        k' = \min(k, T), \qquad
        \eta_k = \eta_0 \left( (1 - \alpha) \, \tfrac12 \left(1 + \cos\frac{\pi k'}{T}\right) + \alpha \right)

    so :math:`\eta_0` at step 0 and :math:`\alpha\eta_0` from step :math:`T` on.

    Args:
        learning_rate: :math:`\eta_0 \ge 0`.
        global_step: :math:`k`, an integer >= 0.
        decay_steps: :math:`T > 0`.
        alpha: the final fraction of the learning rate, in :math:`[0, 1]` (default ``0.0``).

    Returns:
        The learning rate at step :math:`k` (a ``float``).

    Example:
        >>> cosine_decay(0.1, 0, 10), round(cosine_decay(0.1, 5, 10), 12), cosine_decay(0.1, 99, 10, alpha=0.1)
        (0.1, 0.05, 0.010000000000000002)

    References:
        Loshchilov & Hutter, "SGDR: stochastic gradient descent with warm restarts", ICLR 2017.
    """
    global_step = nonnegative_int(global_step, "global_step")
    decay_steps = positive(decay_steps, "decay_steps")
    learning_rate = nonnegative(learning_rate, "learning_rate")
    alpha = in_unit_interval(alpha, "alpha", closed_right=True)
    step = min(float(global_step), decay_steps)
    cosine = 0.5 * (1.0 + math.cos(math.pi * step / decay_steps))
    return float(learning_rate * ((1.0 - alpha) * cosine + alpha))


def step_decay(learning_rate, epoch, drop=0.5, epochs_drop=10):
    r"""Step decay: multiply the learning rate by ``drop`` every ``epochs_drop`` epochs.

    .. math::

        \eta_e = \eta_0 \, d^{\lfloor e / E \rfloor}

    with :math:`\eta_0` = ``learning_rate``, :math:`e` = ``epoch``, :math:`d` = ``drop`` and
    :math:`E` = ``epochs_drop``. This is :func:`exponential_decay` with ``staircase=True``.

    Args:
        learning_rate: :math:`\eta_0 \ge 0`.
        epoch: :math:`e`, an integer >= 0.
        drop: :math:`d \in [0, 1]` (default ``0.5``).
        epochs_drop: :math:`E > 0` (default ``10``).

    Returns:
        The learning rate at epoch :math:`e` (a ``float``).

    Example:
        >>> [step_decay(0.1, e) for e in (0, 9, 10, 25)]
        [0.1, 0.1, 0.05, 0.025]
    """
    epoch = nonnegative_int(epoch, "epoch")
    learning_rate = nonnegative(learning_rate, "learning_rate")
    drop = in_unit_interval(drop, "drop", closed_right=True)
    epochs_drop = positive(epochs_drop, "epochs_drop")
    return float(learning_rate * drop ** math.floor(epoch / epochs_drop))


def schedule_for_budget(num_steps, max_learning_rate):
    r"""A learning-rate schedule for minibatch SGD with a fixed budget of steps: cosine decay to zero.

    Let :math:`K` be ``num_steps`` and :math:`\eta_{\max}` be ``max_learning_rate``, the largest rate at
    which the iteration is stable (e.g. :math:`1/L` for an :math:`L`-smooth loss). The rate starts at
    :math:`\eta_{\max}`, which makes the fastest progress while the iterate is far from a minimizer, and
    decays to zero over the budget, which removes the noise floor :math:`\propto \eta` of constant-rate SGD:

    .. math::

        \eta_k = \eta_{\max} \, \tfrac12 \left(1 + \cos\frac{\pi k}{K}\right), \qquad k = 0, \dots, K - 1 .

    Half the budget is spent above :math:`\eta_{\max}/2` (the rates sum to :math:`K\eta_{\max}/2`), and
    the last steps are taken at rates near zero. Any schedule with both properties (linear decay, step
    decay by factors of ten at one half and three quarters, warm-up then cosine) does as well.

    Args:
        num_steps: :math:`K \ge 1`, the number of SGD steps.
        max_learning_rate: :math:`\eta_{\max} > 0`.

    Returns:
        A float64 array of shape ``(num_steps,)``: the rate of step :math:`k` at index :math:`k`, every
        entry in :math:`(0, \eta_{\max}]`.

    Example:
        >>> schedule_for_budget(4, 0.1).round(6)
        array([0.1     , 0.085355, 0.05    , 0.014645])
    """
    num_steps = positive_int(num_steps, "num_steps")
    max_learning_rate = positive(max_learning_rate, "max_learning_rate")
    k = np.arange(num_steps)
    return max_learning_rate * 0.5 * (1.0 + np.cos(np.pi * k / num_steps))


class ReduceLROnPlateau:
    r"""Reduce the learning rate when the validation loss stops improving (Keras semantics).

    Call :meth:`step` once per epoch with the validation loss; it returns the learning rate for the
    next epoch. Exactly:

    - the loss *improves* when ``val_loss < best - min_delta`` (Keras' ``min_delta`` in ``'min'``
      mode, an absolute threshold); then ``best = val_loss`` and the counter of bad epochs is reset
      to 0. ``best`` starts at :math:`+\infty`, so the first call always improves;
    - otherwise the counter grows by one; when it reaches ``patience`` the learning rate becomes
      ``max(learning_rate * factor, min_lr)`` and the counter is reset to 0 (``best`` is kept).

    So with ``patience = p`` the first reduction happens at the :math:`p`-th consecutive epoch
    without improvement (Keras; PyTorch's ``ReduceLROnPlateau`` waits for :math:`p + 1` and uses a
    relative threshold by default). There is no cooldown.

    Args:
        learning_rate: the initial learning rate, >= ``min_lr``.
        factor: multiplier in :math:`[0, 1)` (default ``0.1``).
        patience: number of epochs without improvement before a reduction, an integer >= 0
            (default ``10``; ``0`` reduces at every epoch without improvement).
        min_lr: lower bound on the learning rate, >= 0 (default ``0.0``).
        min_delta: minimal decrease of the loss that counts as an improvement, >= 0 (default ``1e-4``).

    Attributes:
        learning_rate: the current learning rate.
        best: the best loss seen so far.
        num_bad_epochs: consecutive epochs without improvement since the last improvement or reduction.

    Example:
        >>> schedule = ReduceLROnPlateau(0.1, factor=0.5, patience=2)
        >>> [schedule.step(loss) for loss in [1.0, 0.9, 0.95, 0.93, 0.92, 0.91, 0.5]]
        [0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025]
    """

    def __init__(self, learning_rate, factor=0.1, patience=10, min_lr=0.0, min_delta=1e-4):
        self.learning_rate = nonnegative(learning_rate, "learning_rate")
        self.factor = in_unit_interval(factor, "factor")
        self.patience = nonnegative_int(patience, "patience")
        self.min_lr = nonnegative(min_lr, "min_lr")
        self.min_delta = nonnegative(min_delta, "min_delta")
        if self.min_lr > self.learning_rate:
            raise ValueError(f"min_lr must not exceed learning_rate, got min_lr={self.min_lr} "
                             f"and learning_rate={self.learning_rate}")
        self.best = math.inf
        self.num_bad_epochs = 0

    def step(self, val_loss) -> float:
        """Record one epoch's validation loss and return the learning rate for the next epoch."""
        if isinstance(val_loss, np.ndarray) and val_loss.shape == ():
            val_loss = val_loss[()]
        val_loss = as_real(val_loss, "val_loss")
        if val_loss < self.best - self.min_delta:
            self.best = val_loss
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
            if self.num_bad_epochs >= self.patience:
                self.learning_rate = max(self.learning_rate * self.factor, self.min_lr)
                self.num_bad_epochs = 0
        return float(self.learning_rate)

    def __repr__(self) -> str:
        return (f"ReduceLROnPlateau(learning_rate={self.learning_rate}, factor={self.factor}, "
                f"patience={self.patience}, min_lr={self.min_lr}, min_delta={self.min_delta})")
