"""Chapter 9: every catalogued wrong answer is caught by a real autograde and diagnosed in the feedback."""

from __future__ import annotations

from wrong_answers import HeldOut, RightAnswer, WrongAnswer, catalogue_tests

ASSIGNMENT = "09_second_order"

_SOLVE = "np.linalg.solve(hessian, -grad)"
_LOOPS = """    for i in range(m - 1, -1, -1):
        alphas[i] = rhos[i] * (s_history[i] @ q)
        q = q - alphas[i] * y_history[i]
    gamma = (s_history[-1] @ y_history[-1]) / (y_history[-1] @ y_history[-1])
    r = gamma * q
    for i in range(m):"""
_SEARCH_LOOP = """    for _ in range(max_trials):
        if f(x + alpha * direction) <= fx + c1 * alpha * slope:
            return alpha
        alpha = shrink * alpha
    return alpha"""
_FIRST_LOOP = """    alphas = np.zeros(m)
    for i in range(m - 1, -1, -1):
        alphas[i] = rhos[i] * (s_history[i] @ q)
        q = q - alphas[i] * y_history[i]"""

CATALOGUE = [
    # newton_step
    WrongAnswer("newton_step", _SOLVE, "np.linalg.solve(hessian, grad)", "wrong sign"),
    WrongAnswer("newton_step", _SOLVE, "-hessian @ grad", "multiplied by the Hessian instead of its inverse"),
    WrongAnswer("newton_step", _SOLVE, "-grad", "the Hessian is ignored"),
    WrongAnswer("newton_step", _SOLVE, "-grad / np.diag(hessian)", "only the diagonal of the Hessian"),
    WrongAnswer("newton_step", _SOLVE, "-grad / hessian", "elementwise division by the Hessian"),
    WrongAnswer("newton_step", _SOLVE, "np.linalg.inv(hessian) @ grad", "wrong sign"),
    # bfgs_update
    WrongAnswer("bfgs_update", "np.outer(", "np.dot(", "dot products where outer products are needed"),
    WrongAnswer("bfgs_update", "left @ H_inv @ right", "left * H_inv * right", "elementwise products"),
    WrongAnswer("bfgs_update", " + rho * np.outer(s, s)", "", "the term + rho s s' is missing"),
    WrongAnswer("bfgs_update", "rho = 1.0 / (y @ s)", "rho = y @ s", "rho = y's instead of 1 / (y's)"),
    WrongAnswer("bfgs_update",
                "left = identity - rho * np.outer(s, y)\n    right = identity - rho * np.outer(y, s)",
                "left = identity - rho * np.outer(y, s)\n    right = identity - rho * np.outer(s, y)",
                "outer products in the wrong order"),
    WrongAnswer("bfgs_update", "return left @ H_inv @ right + rho * np.outer(s, s)",
                "Hs = H_inv @ s\n    return H_inv + rho * np.outer(y, y) - np.outer(Hs, Hs) / (s @ Hs)",
                "update of the Hessian B"),
    # lbfgs_direction
    WrongAnswer("lbfgs_direction", "return -r", "return r", "the direction is -H grad"),
    WrongAnswer("lbfgs_direction", _LOOPS,
                _LOOPS.replace("range(m - 1, -1, -1)", "OLDEST").replace("range(m):", "range(m - 1, -1, -1):")
                .replace("OLDEST", "range(m)"),
                "the two loops in the wrong order"),
    WrongAnswer("lbfgs_direction", "r = gamma * q", "r = q", "missing H0 scaling"),
    WrongAnswer("lbfgs_direction", "(s_history[-1] @ y_history[-1]) / (y_history[-1] @ y_history[-1])",
                "(s_history[0] @ y_history[0]) / (y_history[0] @ y_history[0])", "gamma from the oldest pair"),
    WrongAnswer("lbfgs_direction", _FIRST_LOOP,
                _FIRST_LOOP.replace("alphas = np.zeros(m)", "alphas = []")
                .replace("alphas[i] = rhos[i] * (s_history[i] @ q)", "alphas.append(rhos[i] * (s_history[i] @ q))")
                .replace("q = q - alphas[i] * y_history[i]", "q = q - alphas[-1] * y_history[i]"),
                "not matched to their pairs"),
    WrongAnswer("lbfgs_direction", "    if m == 0:\n        return -np.array(grad, dtype=float)\n", "",
                "an empty history is not handled"),
    # backtracking_line_search (outcome: the wrong sign still solves the problems where no step raises f by a hair)
    WrongAnswer("backtracking_line_search", "    fx = f(x)\n", "    return alpha\n", "no backtracking"),
    WrongAnswer("backtracking_line_search", "fx + c1 * alpha * slope", "fx - c1 * alpha * slope",
                "accepts steps that increase f", partial=True),
    WrongAnswer("backtracking_line_search", _SEARCH_LOOP,
                "    while f(x + alpha * direction) > fx + c1 * alpha * slope:\n        alpha * shrink\n    return alpha",
                "does not end"),
]


# Held-out wrong answers (see wrong_answers.py): listed mistakes written with other algebra than the
# graders' known-mistake implementations, and mistakes no grader lists.
HELD_OUT = [
    HeldOut("newton_step", "np.linalg.solve(hessian, -grad)", "np.linalg.inv(hessian) @ grad", "wrong sign",
            listed=True),
    HeldOut("newton_step", "np.linalg.solve(hessian, -grad)", "np.linalg.solve(hessian + np.eye(len(grad)), -grad)",
            "returned a wrong result", also=("newton_step(",)),
    HeldOut("bfgs_update", "rho = 1.0 / (y @ s)", "rho = 1.0 / np.dot(s, s)", "rho = 1 / (s's)", listed=True),
    HeldOut("bfgs_update", "rho * np.outer(s, s)", "rho * np.outer(s, y)", "returned a wrong result",
            also=("bfgs_update(",)),
    HeldOut("lbfgs_direction", "gamma = (s_history[-1] @ y_history[-1]) / (y_history[-1] @ y_history[-1])",
            "gamma = 1 / ((s_history[-1] @ y_history[-1]) / (y_history[-1] @ y_history[-1]))", "gamma inverted",
            listed=True),
    HeldOut("lbfgs_direction", "q = q - alphas[i] * y_history[i]", "q = q - alphas[i] * s_history[i]",
            "returned a wrong result", also=("lbfgs_direction(",)),
]


# Right answers written another way: full marks in every cell of their function.
RIGHTS: list[RightAnswer] = [
    # a shorter step from the minimiser of the quadratic through f(x), the slope and f(x + alpha d), kept in
    # [0.1 alpha, 0.5 alpha] (Nocedal & Wright, Section 3.5)
    RightAnswer("backtracking_line_search", "alpha = shrink * alpha",
                "alpha = max(0.1 * alpha, min(0.5 * alpha, -slope * alpha ** 2 / (2 * (f(x + alpha * direction) "
                "- fx - slope * alpha))))"),
    # other constants: a demanding c1 = 0.3 and a gentle shrink 0.8
    RightAnswer("backtracking_line_search", _SEARCH_LOOP,
                _SEARCH_LOOP.replace("c1 * alpha", "0.3 * alpha").replace("shrink * alpha", "0.8 * alpha")),
]

(course, test_model_answer_full_marks_and_blank_zero, test_wrong_answer_is_caught_and_diagnosed,
 test_isolated_regrade_agrees_with_nbgrader, test_diagnoses_are_specific,
 test_held_out_wrong_answer_is_caught, test_right_answer_written_differently_full_marks) = catalogue_tests(
    ASSIGNMENT, CATALOGUE, held_out=HELD_OUT, rights=RIGHTS)
