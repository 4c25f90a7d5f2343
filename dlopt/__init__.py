"""dlopt: the student helper package of the course *Optimization for Deep Learning*.

What the chapters and assignments share, and nothing a student is asked to write:

- :mod:`dlopt.problems` test problems with loss, gradient and (where cheap) Hessian:
  :class:`~dlopt.problems.Quadratic`, :class:`~dlopt.problems.Rosenbrock`,
  :class:`~dlopt.problems.LeastSquares` (per-example gradients, for minibatches) and
  :class:`~dlopt.problems.SoftmaxRegression`;
- :mod:`dlopt.data` scikit-learn's bundled digits, standardized and split (offline, seeded);
- :mod:`dlopt.plotting` contour plots with trajectories, loss curves on a log scale;
- :mod:`dlopt.gradcheck` central-difference gradients and the relative error (cs231n style);
- :mod:`dlopt.loop` a loop that runs any update rule ``f(w, dw, config) -> (next_w, config)``.
- :mod:`dlopt.interactive` slider figures for the static HTML book, drawn from precomputed curves.

Update rules themselves (SGD, momentum, Adam, ...) are *not* here: students write them.
"""

from .data import DigitsSplit, load_digits_split
from .gradcheck import check_gradient, numerical_gradient, rel_error
from .loop import run_update_rule
from .problems import LeastSquares, Quadratic, Rosenbrock, SoftmaxRegression, make_least_squares

__version__ = "0.1.0"

__all__ = [
    "DigitsSplit",
    "LeastSquares",
    "Quadratic",
    "Rosenbrock",
    "SoftmaxRegression",
    "check_gradient",
    "load_digits_split",
    "make_least_squares",
    "numerical_gradient",
    "rel_error",
    "run_update_rule",
]
