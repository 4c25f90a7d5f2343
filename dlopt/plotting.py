"""Plots shared by the chapters: contour plots of 2-D losses with trajectories, loss curves.

One style for the whole course (:func:`use_course_style`); every function takes an optional
``ax`` and returns it, so figures can be composed with ``plt.subplots``.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["use_course_style", "plot_contours", "plot_trajectory", "plot_loss_curves", "plot_lr_range"]

COURSE_STYLE = {
    "figure.figsize": (6.0, 4.0),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "font.size": 10,
}


def use_course_style() -> None:
    """Apply the course's matplotlib settings (grid, no top/right spines, frameless legends)."""
    plt.rcParams.update(COURSE_STYLE)


def _axes(ax):
    return plt.subplots()[1] if ax is None else ax


def plot_contours(loss, xlim=(-2.0, 2.0), ylim=(-2.0, 2.0), ax=None, levels: int = 20, log_levels: bool = True,
                  resolution: int = 200, minimizer=None):
    r"""Contour lines of a loss of two parameters :math:`f(w_1, w_2)` on a grid.

    Args:
        loss: callable ``w -> float`` with ``w`` of shape ``(2,)``.
        xlim, ylim: the box :math:`[x_0, x_1] \times [y_0, y_1]`.
        levels: number of contour levels.
        log_levels: space the levels geometrically above the grid's minimum (shows valleys well).
        resolution: grid points per axis.
        minimizer: optional point ``(2,)`` marked with a star.

    Returns:
        The axes.
    """
    ax = _axes(ax)
    xs = np.linspace(*xlim, resolution)
    ys = np.linspace(*ylim, resolution)
    grid_x, grid_y = np.meshgrid(xs, ys)
    values = np.array([loss(np.array([x, y])) for x, y in zip(grid_x.ravel(), grid_y.ravel())]).reshape(grid_x.shape)
    if log_levels:
        low = values.min()
        span = values.max() - low
        level_values = low + np.geomspace(span * 1e-4, span, levels)
    else:
        level_values = levels
    ax.contour(grid_x, grid_y, values, levels=level_values, cmap="viridis", linewidths=0.8)
    if minimizer is not None:
        ax.plot(*np.asarray(minimizer), marker="*", markersize=12, color="black", linestyle="none")
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel("$w_1$")
    ax.set_ylabel("$w_2$")
    return ax


def plot_trajectory(trajectory, ax=None, label=None, color=None, marker: str = "o", markersize: float = 3):
    """Draw the iterates ``trajectory`` (shape ``(T + 1, 2)``) as a line with markers; non-finite rows are dropped."""
    ax = _axes(ax)
    trajectory = np.asarray(trajectory, dtype=np.float64)
    trajectory = trajectory[np.all(np.isfinite(trajectory), axis=1)]
    ax.plot(trajectory[:, 0], trajectory[:, 1], marker=marker, markersize=markersize, linewidth=1, label=label,
            color=color)
    return ax


def plot_loss_curves(curves, ax=None, logy: bool = True, xlabel: str = "step", ylabel: str = "loss"):
    """Loss curves, one per entry of ``curves`` (a dict ``label -> sequence of losses``), log-scaled y by default.

    Non-finite values (a diverged run) end the curve.
    """
    ax = _axes(ax)
    for label, losses in curves.items():
        losses = np.asarray(losses, dtype=np.float64)
        steps = np.arange(len(losses))
        finite = np.isfinite(losses)
        ax.plot(steps[finite], losses[finite], label=label, linewidth=1.5)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend()
    return ax


def plot_lr_range(learning_rates, losses, ax=None, smooth: float = 0.0, mark=None):
    r"""Loss against learning rate on a log x-axis (the LR range test plot).

    Args:
        learning_rates, losses: arrays of the same length.
        smooth: if ``> 0``, also draw the exponential moving average
            :math:`s_k = \beta s_{k-1} + (1-\beta)\,\text{loss}_k` with :math:`\beta` = ``smooth``,
            bias-corrected by :math:`1 - \beta^{k+1}`.
        mark: optional learning rate to mark with a vertical line.
    """
    ax = _axes(ax)
    learning_rates = np.asarray(learning_rates, dtype=np.float64)
    losses = np.asarray(losses, dtype=np.float64)
    ax.plot(learning_rates, losses, linewidth=1, alpha=0.5 if smooth else 1.0, label="loss")
    if smooth:
        average, smoothed = 0.0, []
        for k, loss in enumerate(losses):
            average = smooth * average + (1 - smooth) * loss
            smoothed.append(average / (1 - smooth ** (k + 1)))
        ax.plot(learning_rates, smoothed, linewidth=2, label="smoothed")
    if mark is not None:
        ax.axvline(mark, color="black", linestyle="--", linewidth=1, label=f"chosen: {mark:.3g}")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss")
    ax.legend()
    return ax
