"""Graders: one ``check_<function>(student_function)`` per exercise, called from the hidden test cells.

Each check of an *implement* task runs the student's function next to the reference on generated
inputs and returns ``None`` when everything matches. Otherwise it raises :class:`GradingFailure`
(an ``AssertionError``) whose message says which call differs, what was expected and what came back,
and names the likely mistake ("This looks like: no bias correction ..."). Nothing is printed.

Each check of an *outcome* task (``check_choose_learning_rate(choose_learning_rate, points=8)``)
uses the student's function on hidden problem instances and returns the points earned, which
nbgrader takes as the cell's partial credit; it prints which instances were not solved and why, or
raises :class:`GradingFailure` when none was (see ``_outcome.py``).

Warnings are silenced everywhere, because any stderr output scores a graded cell zero.

``CHECKS`` maps each function name (``"adam"``) to its check, for tooling.
"""

from __future__ import annotations

from ._report import GradingFailure
from ._update_rules import check_update_rule
from ._chapter1 import check_lr_range_test, check_minibatches


def _update_rule_check(name: str):
    def check(student_fn) -> None:
        check_update_rule(name, student_fn)

    check.__name__ = check.__qualname__ = f"check_{name}"
    check.__doc__ = (
        f"Compare the student's ``{name}`` with ``dlopt_reference.optim.{name}`` over many runs "
        f"(shapes, seeds, gradient scales, configs, float32); raise :class:`GradingFailure` on a difference."
    )
    return check


# chapters 1-4: the update rules
check_sgd = _update_rule_check("sgd")
check_sgd_momentum = _update_rule_check("sgd_momentum")
check_sgd_momentum_ema = _update_rule_check("sgd_momentum_ema")
check_nesterov_momentum = _update_rule_check("nesterov_momentum")
check_nesterov_lookahead = _update_rule_check("nesterov_lookahead")
check_adagrad = _update_rule_check("adagrad")
check_rmsprop = _update_rule_check("rmsprop")
check_adadelta = _update_rule_check("adadelta")
check_adam = _update_rule_check("adam")
check_adamw = _update_rule_check("adamw")

# chapters 5-10
from .schedules import (check_cosine_decay, check_exponential_decay, check_inverse_time_decay,
                        check_natural_exp_decay, check_piecewise_constant, check_polynomial_decay,
                        check_step_decay)
from .batchnorm import check_batchnorm_backward, check_batchnorm_backward_alt, check_batchnorm_forward
from .search import check_grid_search, check_random_search, check_sample_log_uniform, check_successive_halving
from .ensembles import check_ema_update, check_ensemble_predict, check_polyak_average
from .second_order import check_bfgs_update, check_lbfgs_direction, check_newton_step
from .practice import (check_clip_by_global_norm, check_layernorm_backward, check_layernorm_forward,
                       check_top_hessian_eigenvalue, check_warmup_cosine)

# the outcome tasks, one per chapter: judged by what the student's answers do on hidden instances
# (partial credit: each returns the points earned, see _outcome.py)
from .step_sizes import check_choose_learning_rate, check_heavy_ball_parameters, check_nesterov_parameters
from .badly_scaled import check_train_badly_scaled
from .schedule_budget import check_schedule_for_budget
from .fold_batchnorm import check_fold_batchnorm
from .tuning import check_tune_hyperparameters
from .ensemble_selection import check_select_ensemble
from .line_search import check_backtracking_line_search
from .stable_rate import check_stable_learning_rate


# --- keep this block last: every check_* name defined above becomes part of CHECKS -----------
CHECKS = {
    _name[len("check_"):]: _value
    for _name, _value in sorted(globals().items())
    if _name.startswith("check_") and callable(_value) and _name != "check_update_rule"
}
__all__ = ["GradingFailure", "CHECKS", "check_update_rule", *(f"check_{_key}" for _key in CHECKS)]
