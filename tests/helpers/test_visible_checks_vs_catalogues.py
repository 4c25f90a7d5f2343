"""The visible checks (``dlopt.checks.check(name, fn)``, 1 point each) against every catalogue.

- Every right answer of the alternatives modules (``tests/grading/ch1_4_alternatives.py`` and
  ``ch5_9_alternatives.py``: their ``RIGHT_*`` lists and dicts, read whatever they hold; a module
  without such lists contributes every function named after a check) and every model answer of the
  exercise notebooks passes its visible check; so do a few more right answers written here, in forms
  the hidden checks accept.
- Every catalogued wrong answer fails its visible check with a :class:`CheckFailure`: the ``WRONG_*``
  lists of the alternatives modules, the textual edits ``CATALOGUE`` of
  ``tests/course/test_wrong_answers_*.py`` (the notebook's model answer with ``old`` replaced by
  ``new``, executed in-process with the notebook's import cell), and the grader's own catalogues of
  known mistakes (``dlopt_reference.grading``).
- ``VISIBLE_CANNOT_SEE`` names the wrong answers a visible check does not see, each with the reason;
  for each, the test shows that the visible check passes it and the hidden check rejects it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import sys
from pathlib import Path
from typing import Callable, NamedTuple

import nbformat
import numpy as np
import pytest

from dlopt.checks import CheckFailure, check, registered
from dlopt_reference import grading
from dlopt_course.submissions import model_answer, replace_in_solution
from dlopt_reference.grading import batchnorm as grading_batchnorm
from dlopt_reference.grading import ensembles as grading_ensembles
from dlopt_reference.grading import schedules as grading_schedules
from dlopt_reference.grading import search as grading_search
from dlopt_reference.grading import practice as grading_practice
from dlopt_reference.grading import second_order as grading_second_order
from dlopt_reference.grading._mistakes import LR_RANGE_MISTAKES, MINIBATCH_MISTAKES, UPDATE_RULE_MISTAKES

ROOT = Path(__file__).resolve().parents[2]
GRADING_TESTS = ROOT / "tests" / "grading"
COURSE_TESTS = ROOT / "tests" / "course"
NAMES = registered()


def _import_by_path(name: str, path: Path, *search_path: Path):
    """The module at ``path``, imported under ``name`` (its fixtures and tests are not collected here)."""
    if name in sys.modules:
        return sys.modules[name]
    for folder in search_path:
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# the test modules of tests/grading import them under these names
ALTERNATIVES = [_import_by_path(name, GRADING_TESTS / f"{name}.py", GRADING_TESTS)
                for name in ("ch1_4_alternatives", "ch5_9_alternatives")]


class Answer(NamedTuple):
    id: str
    name: str          # the exercise function, the name of its visible check
    function: Callable
    others: tuple = ()  # further functions the check needs (the forward pass for the backward checks)


def _name_from_list(attribute: str) -> str:
    """``WRONG_LR_RANGE_TESTS`` -> ``lr_range_test``: the longest check name the list's name starts with."""
    tail = attribute.split("_", 1)[1].lower()
    candidates = [name for name in NAMES if tail.startswith(name)]
    assert candidates, f"{attribute}: no visible check named like it; entries must name their function"
    return max(candidates, key=len)


def _entries(module, prefix: str):
    """``(list name, check name, function)`` for every entry of the module's ``{prefix}*`` lists and dicts.

    An entry is a function, or a tuple holding the function and (optionally) its check's name.
    """
    for attribute, value in vars(module).items():
        if not attribute.startswith(prefix):
            continue
        items = ([(name, entry) for name, entries in value.items() for entry in entries] if isinstance(value, dict)
                 else [(None, entry) for entry in value])
        for name, entry in items:
            parts = entry if isinstance(entry, tuple) else (entry,)
            function = next(part for part in parts if callable(part))
            name = name or next((p for p in parts if isinstance(p, str) and p in NAMES), None) \
                or _name_from_list(attribute)
            yield attribute, name, function


#: backward check -> the forward pass whose cache it needs
FORWARD_OF = {"batchnorm_backward": "batchnorm_forward", "batchnorm_backward_alt": "batchnorm_forward",
              "layernorm_backward": "layernorm_forward"}


def _forwards(module, backward="batchnorm_backward"):
    """The right forward passes of a module that build the cache of ``backward``."""
    forward = FORWARD_OF[backward]
    right = getattr(module, "RIGHT_ANSWERS", {})
    if forward in right:
        return list(right[forward])
    return [getattr(module, forward)] if hasattr(module, forward) else []


def _named_functions(module):
    """For a module without ``RIGHT_*`` lists (whose functions are all right answers, as its docstring
    says): ``(module, check name, function)`` for each public function named after a check (``name`` or
    ``name_...``)."""
    for attribute, value in vars(module).items():
        if callable(value) and getattr(value, "__module__", None) == module.__name__ and not attribute.startswith("_"):
            names = [name for name in NAMES if attribute == name or attribute.startswith(name + "_")]
            if names:
                yield "functions", max(names, key=len), value


def right_answers() -> list[Answer]:
    answers = []
    for module in ALTERNATIVES:
        listed = any(attribute.startswith("RIGHT_") for attribute in vars(module))
        for attribute, name, function in _entries(module, "RIGHT_") if listed else _named_functions(module):
            where = f"{module.__name__}.{attribute}: {function.__name__}"
            if name in FORWARD_OF:
                answers += [Answer(f"{where} (cache of {forward.__name__})", name, function, (forward,))
                            for forward in _forwards(module, name)]
            else:
                answers.append(Answer(where, name, function))
    return answers


# More right answers, in forms the docstrings do not promise but the hidden checks accept (float32,
# a 0-d array, ties in another order): the visible checks must accept them too.


def sample_log_uniform_float32(rng, low, high, size=None):
    exponent = rng.uniform(low, high, size)
    return np.float32(10.0 ** exponent) if size is None else (10.0 ** exponent).astype(np.float32)


def sample_log_uniform_0d_array(rng, low, high, size=None):
    return np.power(10.0, np.asarray(rng.uniform(low, high, size)))


def _sorted_ties_last_first(trials):
    """Best first, nan last, and trials with equal scores in the reverse of the order they ran."""
    ranked = sorted(enumerate(trials), key=lambda it: (np.isnan(it[1]["score"]),
                                                       0.0 if np.isnan(it[1]["score"]) else it[1]["score"], -it[0]))
    return [trial for _, trial in ranked]


def random_search_ties_reversed(objective, space, n_trials, rng):
    trials = []
    for _ in range(n_trials):
        params = {name: sampler(rng) for name, sampler in space.items()}
        trials.append({"params": params, "score": objective(dict(params))})
    return _sorted_ties_last_first(trials)


def grid_search_ties_reversed(objective, grid):
    import itertools

    names = list(grid)
    trials = [{"params": dict(zip(names, values)), "score": np.float64(objective(dict(zip(names, values))))}
              for values in itertools.product(*grid.values())]
    return _sorted_ties_last_first(trials)


MORE_RIGHT = [Answer(f"{__name__}: {function.__name__}", name, function) for name, function in [
    ("sample_log_uniform", sample_log_uniform_float32),
    ("sample_log_uniform", sample_log_uniform_0d_array),
    ("random_search", random_search_ties_reversed),
    ("grid_search", grid_search_ties_reversed),
]]


# --------------------------------------------------------------------------------------------
# the notebooks' model answers, and the textual catalogues that edit them


def _notebook(assignment: str) -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "exercises" / assignment / f"{assignment}.ipynb", as_version=4)


def notebook_functions(assignment: str, edit=None) -> dict:
    """The namespace of the notebook's import cell and solution cells (model answers, ``edit`` applied)."""
    source = _notebook(assignment)
    filled = model_answer(source, source, edit=edit)
    namespace: dict = {}
    for cell in filled.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") or ""
        if cell.cell_type == "code" and (grade_id == "imports" or grade_id.endswith("_impl")):
            exec(compile(cell.source, f"{assignment}:{grade_id}", "exec"), namespace)
    return namespace


ASSIGNMENTS = sorted(path.name for path in (ROOT / "exercises").iterdir() if (path / f"{path.name}.ipynb").exists())


def model_answers() -> list[Answer]:
    answers = []
    for assignment in ASSIGNMENTS:
        namespace = notebook_functions(assignment)
        for cell in _notebook(assignment).cells:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") or ""
            if grade_id.endswith("_impl"):
                name = grade_id[:-len("_impl")]
                others = (namespace[FORWARD_OF[name]],) if name in FORWARD_OF else ()
                answers.append(Answer(f"{assignment}: model answer of {name}", name, namespace[name], others))
    return answers


def _catalogue_modules():
    return [_import_by_path(f"_catalogue_{path.stem}", path, COURSE_TESTS)
            for path in sorted(COURSE_TESTS.glob("test_wrong_answers_[0-9]*.py"))]


class TextualWrong(NamedTuple):
    id: str
    assignment: str
    wrong: object  # a tests/course/wrong_answers.WrongAnswer


def textual_wrong_answers() -> list[TextualWrong]:
    return [TextualWrong(f"{module.ASSIGNMENT}: {wrong.id}", module.ASSIGNMENT, wrong)
            for module in _catalogue_modules() for wrong in module.CATALOGUE]


def textual_answer(entry: TextualWrong) -> Answer:
    """The model answer with the catalogued edit, executed; the backward checks get the same notebook's forward."""
    wrong = entry.wrong
    edit = replace_in_solution(f"{wrong.function}_impl", wrong.old, wrong.new)
    namespace = notebook_functions(entry.assignment, edit)
    others = (namespace[FORWARD_OF[wrong.function]],) if wrong.function in FORWARD_OF else ()
    return Answer(entry.id, wrong.function, namespace[wrong.function], others)


# --------------------------------------------------------------------------------------------
# the wrong answers of the alternatives modules and of the grader's catalogues


def _as_student_forward(mistake_function):
    """A forward pass ``(out, cache)`` from a catalogued mistake ``(x, gamma, beta, bn_param) -> (out, mean, var)``."""
    def batchnorm_forward(x, gamma, beta, bn_param):
        out, running_mean, running_var = mistake_function(x, gamma, beta, bn_param)
        bn_param["running_mean"], bn_param["running_var"] = running_mean, running_var
        return out, (x, gamma, beta, dict(bn_param))
    return batchnorm_forward


def _as_student_backward(mistake_function):
    """A backward pass ``(dout, cache)`` from a catalogued mistake ``(x, gamma, beta, dout, bn_param) -> triple``."""
    def batchnorm_backward(dout, cache):
        x, gamma, beta, bn_param = cache
        return mistake_function(x, gamma, beta, dout, bn_param)
    return batchnorm_backward


def wrong_answers() -> list[Answer]:
    answers = []
    for module in ALTERNATIVES:
        for attribute, name, function in _entries(module, "WRONG_"):
            forwards = _forwards(module, name) if name in FORWARD_OF else []
            others = (forwards[0],) if forwards else ()
            answers.append(Answer(f"{module.__name__}.{attribute}: {function.__name__}", name, function, others))
    catalogues = {**UPDATE_RULE_MISTAKES, "minibatches": MINIBATCH_MISTAKES, "lr_range_test": LR_RANGE_MISTAKES,
                  **grading_schedules.MISTAKES, **grading_search.MISTAKES, **grading_ensembles.MISTAKES,
                  **grading_second_order.MISTAKES,
                  **{name: mistakes for name, mistakes in grading_practice.MISTAKES.items() if name != "layernorm_backward"}}
    for name, mistakes in catalogues.items():
        answers += [Answer(f"grading {name}: {mistake.description}", name, mistake.function)
                    for mistake in mistakes if mistake.function is not None]
    answers += [Answer(f"grading batchnorm_forward: {mistake.description}", "batchnorm_forward",
                       _as_student_forward(mistake.function)) for mistake in grading_batchnorm.FORWARD_MISTAKES]
    # a right forward pass whose cache is its inputs, for the catalogued backward mistakes
    right_forward = _as_student_forward(lambda x, gamma, beta, bn_param: (
        grading_batchnorm._reference.batchnorm_forward(x, gamma, beta, bn_param)[0],
        bn_param["running_mean"], bn_param["running_var"]))
    for name in ("batchnorm_backward", "batchnorm_backward_alt"):
        answers += [Answer(f"grading {name}: {mistake.description}", name, _as_student_backward(mistake.function),
                           (right_forward,)) for mistake in grading_batchnorm.BACKWARD_MISTAKES]
    # layer normalization: a right forward pass whose cache is its inputs, for the catalogued backward mistakes
    def right_layernorm_forward(x, gamma, beta, ln_param):
        out, _ = grading_practice._reference.layernorm_forward(x, gamma, beta, ln_param)
        return out, (x, gamma, beta, dict(ln_param))

    answers += [Answer(f"grading layernorm_backward: {mistake.description}", "layernorm_backward",
                       _as_student_backward(mistake.function), (right_layernorm_forward,))
                for mistake in grading_practice.LN_BACKWARD_MISTAKES]
    return answers


# --------------------------------------------------------------------------------------------
# the mistakes a visible check does not see, and why

#: wrong answer id -> why its visible check cannot see it (its hidden check does: see the test below)
VISIBLE_CANNOT_SEE: dict[str, str] = {}


def visible_verdict(answer: Answer) -> str | None:
    """None when the visible check passes, else its message."""
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            check(answer.name, answer.function, *answer.others)
        except CheckFailure as failure:
            return str(failure)
    return None


def _ids(answers):
    return [answer.id[:120] for answer in answers]


RIGHT = right_answers()
MODEL = model_answers()
TEXTUAL = textual_wrong_answers()
WRONG = wrong_answers()


@pytest.mark.parametrize("answer", RIGHT, ids=_ids(RIGHT))
def test_a_right_answer_of_the_alternatives_passes_its_visible_check(answer):
    message = visible_verdict(answer)
    assert message is None, f"{answer.id} loses its visible point:\n{message}"


@pytest.mark.parametrize("answer", MODEL, ids=_ids(MODEL))
def test_a_model_answer_of_a_notebook_passes_its_visible_check(answer):
    message = visible_verdict(answer)
    assert message is None, f"{answer.id} fails its visible check:\n{message}"


@pytest.mark.parametrize("answer", [a for a in WRONG if a.id not in VISIBLE_CANNOT_SEE],
                         ids=_ids([a for a in WRONG if a.id not in VISIBLE_CANNOT_SEE]))
def test_a_catalogued_wrong_answer_fails_its_visible_check(answer):
    assert visible_verdict(answer) is not None, f"{answer.id} passes the visible check of {answer.name}"


@pytest.mark.parametrize("entry", [e for e in TEXTUAL if e.id not in VISIBLE_CANNOT_SEE],
                         ids=_ids([e for e in TEXTUAL if e.id not in VISIBLE_CANNOT_SEE]))
def test_a_catalogued_edit_of_the_model_answer_fails_its_visible_check(entry):
    answer = textual_answer(entry)
    assert visible_verdict(answer) is not None, f"{answer.id} passes the visible check of {answer.name}"


def _every_wrong_by_id():
    return {**{answer.id: answer for answer in WRONG}, **{entry.id: entry for entry in TEXTUAL}}


def test_each_mistake_the_visible_check_cannot_see_passes_it_and_fails_the_hidden_check():
    """The list stays honest: every entry names a catalogued wrong answer, says why, passes its visible
    check (else it belongs in the tests above) and fails its hidden check."""
    every_wrong = _every_wrong_by_id()
    for wrong_id, reason in VISIBLE_CANNOT_SEE.items():
        assert reason.strip(), f"{wrong_id}: say why the visible check cannot see it"
        assert wrong_id in every_wrong, f"{wrong_id} is in no catalogue"
        answer = every_wrong[wrong_id]
        if isinstance(answer, TextualWrong):
            answer = textual_answer(answer)
        assert visible_verdict(answer) is None, f"{wrong_id} is seen by the visible check now: remove it from the list"
        with pytest.raises(AssertionError):
            grading.CHECKS[answer.name](answer.function, *answer.others)


@pytest.mark.parametrize("answer", MORE_RIGHT, ids=_ids(MORE_RIGHT))
def test_a_right_answer_the_hidden_check_accepts_passes_its_visible_check(answer):
    grading.CHECKS[answer.name](answer.function)
    message = visible_verdict(answer)
    assert message is None, f"{answer.id} loses its visible point:\n{message}"


def test_the_catalogues_were_found():
    modules = {answer.id.split(".")[0] for answer in RIGHT}
    assert modules == {"ch1_4_alternatives", "ch5_9_alternatives"}, modules
    assert len(TEXTUAL) >= 9 and {entry.assignment for entry in TEXTUAL} == set(ASSIGNMENTS)
    assert any(answer.id.startswith("ch1_4_alternatives.WRONG_") for answer in WRONG)


def test_every_visible_check_is_exercised_by_right_and_wrong_answers():
    right = {answer.name for answer in RIGHT + MODEL}
    wrong = {answer.name for answer in WRONG} | {entry.wrong.function for entry in TEXTUAL}
    assert set(NAMES) - right == set(), f"no right answer for {sorted(set(NAMES) - right)}"
    assert set(NAMES) - wrong == set(), f"no wrong answer for {sorted(set(NAMES) - wrong)}"
