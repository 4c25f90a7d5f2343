"""The course's assignments and the reference function behind each student stub (DESIGN.md's table)."""

from __future__ import annotations

import importlib

#: assignment -> the functions students implement, in notebook order.
ASSIGNMENTS: dict[str, tuple[str, ...]] = {
    "01_sgd": ("sgd", "minibatches", "lr_range_test", "choose_learning_rate"),
    "02_momentum": ("sgd_momentum", "sgd_momentum_ema", "heavy_ball_parameters"),
    "03_nesterov": ("nesterov_lookahead", "nesterov_momentum", "nesterov_parameters"),
    "04_adaptive": ("adagrad", "rmsprop", "adadelta", "adam", "adamw", "train_badly_scaled"),
    "05_lr_decay": ("step_decay", "exponential_decay", "inverse_time_decay", "natural_exp_decay",
                    "piecewise_constant", "polynomial_decay", "cosine_decay", "schedule_for_budget"),
    "06_batchnorm": ("batchnorm_forward", "batchnorm_backward", "batchnorm_backward_alt", "fold_batchnorm"),
    "07_hyperparameter_search": ("sample_log_uniform", "random_search", "grid_search", "successive_halving",
                                 "tune_hyperparameters"),
    "08_ensembles": ("ensemble_predict", "polyak_average", "ema_update", "select_ensemble"),
    "09_second_order": ("newton_step", "bfgs_update", "lbfgs_direction", "backtracking_line_search"),
    "10_practice": ("warmup_cosine", "clip_by_global_norm", "layernorm_forward", "layernorm_backward",
                    "top_hessian_eigenvalue", "stable_learning_rate"),
}

#: assignment -> its outcome task: a function judged by what its answers do on hidden problem instances
#: (``dlopt_reference.grading._outcome``), not by comparison with the reference's outputs.
OUTCOME_TASKS: dict[str, str] = {
    "01_sgd": "choose_learning_rate", "02_momentum": "heavy_ball_parameters", "03_nesterov": "nesterov_parameters",
    "04_adaptive": "train_badly_scaled", "05_lr_decay": "schedule_for_budget", "06_batchnorm": "fold_batchnorm",
    "07_hyperparameter_search": "tune_hyperparameters", "08_ensembles": "select_ensemble",
    "09_second_order": "backtracking_line_search", "10_practice": "stable_learning_rate",
}

#: function -> the module of dlopt_reference that holds its reference implementation.
MODULE_OF: dict[str, str] = {
    "sgd": "optim", "minibatches": "data", "lr_range_test": "lr_range",
    **{name: "optim" for name in ASSIGNMENTS["02_momentum"] + ASSIGNMENTS["03_nesterov"] + ASSIGNMENTS["04_adaptive"]},
    **{name: "schedules" for name in ASSIGNMENTS["05_lr_decay"]},
    **{name: "batchnorm" for name in ASSIGNMENTS["06_batchnorm"]},
    **{name: "search" for name in ASSIGNMENTS["07_hyperparameter_search"]},
    **{name: "ensembles" for name in ASSIGNMENTS["08_ensembles"]},
    **{name: "second_order" for name in ASSIGNMENTS["09_second_order"]},
    **{name: "practice" for name in ASSIGNMENTS["10_practice"]},
    # outcome tasks of chapters 1-4, whose reference answers have modules of their own
    "choose_learning_rate": "step_sizes", "heavy_ball_parameters": "step_sizes", "nesterov_parameters": "step_sizes",
    "train_badly_scaled": "badly_scaled",
}


def reference_function(name: str):
    """The reference implementation of a student-facing function, e.g. ``reference_function('adam')``."""
    if name not in MODULE_OF:
        raise KeyError(f"{name!r} is not a student-facing function of the course")
    module = importlib.import_module(f"dlopt_reference.{MODULE_OF[name]}")
    return getattr(module, name)
