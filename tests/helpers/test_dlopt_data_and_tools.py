"""dlopt.data, dlopt.gradcheck, dlopt.loop and dlopt.plotting."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

import dlopt
from dlopt.data import load_digits_split, standardize
from dlopt.gradcheck import check_gradient, numerical_gradient, rel_error
from dlopt.loop import run_update_rule
from dlopt.plotting import plot_contours, plot_loss_curves, plot_lr_range, plot_trajectory, use_course_style
from dlopt.problems import Quadratic, Rosenbrock


def test_digits_shapes_and_types():
    split = load_digits_split()
    assert split.X_train.shape == (1438, 64) and split.X_val.shape == (359, 64)
    assert split.y_train.shape == (1438,) and split.y_val.shape == (359,)
    assert split.X_train.dtype == np.float64 and split.y_train.dtype == np.int64
    assert set(np.unique(split.y_train)) == set(range(10))


def test_digits_are_standardized_with_training_statistics():
    split = load_digits_split()
    assert np.allclose(split.X_train.mean(axis=0), 0.0, atol=1e-12)
    std = split.X_train.std(axis=0)
    assert np.all(np.isclose(std, 1.0) | np.isclose(std, 0.0))
    raw = load_digits_split(standardized=False)
    assert raw.X_train.min() == 0.0 and raw.X_train.max() == 16.0


def test_digits_are_deterministic_and_seeded():
    a, b, c = load_digits_split(seed=1), load_digits_split(seed=1), load_digits_split(seed=2)
    assert np.array_equal(a.X_train, b.X_train) and np.array_equal(a.y_val, b.y_val)
    assert not np.array_equal(a.y_train, c.y_train)
    assert load_digits_split(val_fraction=0.5).X_val.shape[0] == round(0.5 * 1797)
    with pytest.raises(ValueError):
        load_digits_split(val_fraction=1.0)


def test_standardize_leaves_constant_features_centred():
    X = np.array([[1.0, 5.0], [3.0, 5.0]])
    X_std, (other,), mean, std = standardize(X, [np.array([[2.0, 6.0]])])
    assert np.allclose(X_std, [[-1.0, 0.0], [1.0, 0.0]])
    assert np.allclose(other, [[0.0, 1.0]])
    assert np.allclose(mean, [2.0, 5.0]) and np.allclose(std, [1.0, 1.0])


def test_numerical_gradient_of_known_functions():
    w = np.array([[1.0, -2.0], [0.5, 3.0]])
    assert np.allclose(numerical_gradient(lambda v: float(np.sum(v ** 3)), w), 3 * w ** 2, rtol=1e-8)
    assert np.array_equal(w, [[1.0, -2.0], [0.5, 3.0]]), "numerical_gradient must not modify w"
    assert check_gradient(lambda v: float(np.sin(v).sum()), np.cos, np.linspace(0, 1, 5)) < 1e-8


def test_rel_error():
    assert rel_error(np.ones(3), np.ones(3)) == 0.0
    assert np.isclose(rel_error([1.0], [3.0]), 0.5)
    assert rel_error([0.0], [0.0]) == 0.0


def gradient_step(w, dw, config=None):
    """A test double of an update rule (a fixed step 0.1), defined here so that dlopt never holds one."""
    return w - 0.1 * dw, config


def test_run_update_rule_records_the_trajectory():
    problem = Quadratic(np.diag([1.0, 2.0]), np.zeros(2))
    trajectory, losses = run_update_rule(gradient_step, problem.loss_and_grad, np.ones(2), num_steps=3)
    assert trajectory.shape == (4, 2) and losses.shape == (4,)
    assert np.allclose(trajectory[1], [0.9, 0.8])
    assert np.allclose(trajectory[3], [0.9 ** 3, 0.8 ** 3])
    assert np.isclose(losses[3], problem.loss(trajectory[3]))


def test_run_update_rule_stops_on_divergence():
    problem = Quadratic(np.diag([100.0]), np.zeros(1))
    trajectory, losses = run_update_rule(lambda w, dw, c: (w - 1.0 * dw, c), problem.loss_and_grad, np.ones(1),
                                         num_steps=400)
    assert np.isnan(losses[-1]) and not np.isfinite(losses).all()


def test_plots_draw_without_error():
    use_course_style()
    fig, axes = plt.subplots(1, 3)
    plot_contours(Rosenbrock().loss, (-2, 2), (-1, 3), ax=axes[0], resolution=30, minimizer=[1, 1])
    plot_trajectory(np.array([[0.0, 0.0], [0.5, 0.5], [np.nan, np.nan]]), ax=axes[0], label="path")
    plot_loss_curves({"a": [1.0, 0.5, 0.1], "b": [1.0, 2.0, np.inf]}, ax=axes[1])
    plot_lr_range(np.geomspace(1e-3, 1, 10), np.linspace(2, 1, 10), ax=axes[2], smooth=0.5, mark=0.1)
    assert axes[1].get_yscale() == "log" and axes[2].get_xscale() == "log"
    plt.close(fig)


def test_dlopt_holds_no_update_rule_or_stub():
    """dlopt ships to students: none of the assignment stubs may exist in it."""
    stubs = ["sgd", "minibatches", "lr_range_test", "sgd_momentum", "adam", "adagrad", "rmsprop", "adamw",
             "nesterov_momentum", "batchnorm_forward", "newton_step", "random_search", "cosine_decay"]
    import pkgutil
    import importlib
    modules = [dlopt] + [importlib.import_module(f"dlopt.{m.name}") for m in pkgutil.iter_modules(dlopt.__path__)]
    for module in modules:
        for name in stubs:
            assert not hasattr(module, name), f"{module.__name__}.{name} would give an answer away"


def test_dlopt_contains_no_line_of_a_solution_or_of_the_reference(course_root):
    """The leak check of the course, run on the helper package that ships with every release."""
    from dlopt_course.leaks import forbidden_markers, scan

    leaks = scan([course_root / "dlopt"], forbidden_markers(course_root))
    assert leaks == [], "\n".join(map(str, leaks))
