"""The reference docstrings state their maths and show a worked example, and every example runs.

``help(adam)`` is what an instructor or a student reads first, so each algorithm module of
``dlopt_reference`` (every public module that is not a package; the package ``grading`` holds the graders,
not algorithms) is held to one contract:

- the module has a docstring;
- every public function or class has a docstring with an ``Args:`` section, a ``Returns:`` section
  (functions), its maths (``:math:`` or ``.. math::``) or its shapes, and at least one doctest example
  (``>>>``), unless ``NO_EXAMPLE`` below names it with a reason; the public methods of a class have a
  docstring;
- the module's doctests run without a failure, and there is at least one.

The checker is itself tested on synthetic modules: it must reject a module whose functions have no
example, no docstring or no maths, and an example that prints something else than it claims.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil
import types

import pytest

import dlopt_reference

# packages of dlopt_reference that hold graders, not algorithms (the instructor's tool is dlopt_course)
TOOLING_PACKAGES = {"grading"}

# the algorithm modules known when this test was written: discovery must find at least these
KNOWN_ALGORITHM_MODULES = {"optim", "schedules", "batchnorm", "search", "ensembles", "second_order", "practice", "data",
                           "lr_range"}

# "module.name" -> why that public function or class has no doctest example (none is exempt today)
NO_EXAMPLE: dict[str, str] = {}


def algorithm_modules() -> list[str]:
    """The public, non-package modules of dlopt_reference (``_validation`` is private)."""
    return sorted(info.name for info in pkgutil.iter_modules(dlopt_reference.__path__)
                  if not info.ispkg and not info.name.startswith("_"))


def public_objects(module: types.ModuleType) -> list[tuple[str, object]]:
    """The public functions and classes defined in ``module`` (not the ones it imports)."""
    return [(name, obj) for name, obj in vars(module).items()
            if not name.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj))
            and getattr(obj, "__module__", None) == module.__name__]


def _states_maths_or_shapes(doc: str) -> bool:
    return ":math:" in doc or ".. math::" in doc or "shape" in doc


def docstring_problems(module: types.ModuleType, no_example: dict[str, str] = NO_EXAMPLE) -> list[str]:
    """Everything in ``module`` that breaks the docstring contract of this file, one line per problem."""
    problems = []
    if not (module.__doc__ or "").strip():
        problems.append(f"{module.__name__}: no module docstring")
    public = public_objects(module)
    if not public:
        problems.append(f"{module.__name__}: no public function or class")
    exported = getattr(module, "__all__", None)
    if exported is not None and set(exported) != {name for name, _ in public}:
        problems.append(f"{module.__name__}: __all__ {sorted(exported)} is not the public functions and classes "
                        f"{sorted(name for name, _ in public)}")
    parser = doctest.DocTestParser()
    for name, obj in public:
        where = f"{module.__name__}.{name}"
        doc = obj.__doc__ or ""   # not inspect.getdoc: a class must not borrow its base class's docstring
        if not doc.strip():
            problems.append(f"{where}: no docstring")
            continue
        if "Args:" not in doc:
            problems.append(f"{where}: no Args section")
        if inspect.isfunction(obj) and "Returns:" not in doc:
            problems.append(f"{where}: no Returns section")
        if not _states_maths_or_shapes(doc):
            problems.append(f"{where}: states neither its maths (:math: or .. math::) nor its shapes")
        if not parser.get_examples(doc, name) and f"{module.__name__.split('.')[-1]}.{name}" not in no_example:
            problems.append(f"{where}: no doctest example (>>>)")
        if inspect.isclass(obj):
            for method_name, method in vars(obj).items():
                public_method = not method_name.startswith("_") and inspect.isfunction(method)
                if public_method and not (method.__doc__ or "").strip():
                    problems.append(f"{where}.{method_name}: no docstring")
    return problems


def run_examples(module: types.ModuleType) -> tuple[int, int, str]:
    """Run every doctest of ``module``: ``(failed, attempted, report)``."""
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    report: list[str] = []
    for test in doctest.DocTestFinder().find(module, module.__name__):
        runner.run(test, out=report.append)
    failed, attempted = runner.summarize(verbose=False)
    return failed, attempted, "".join(report)


def assert_examples_run(module: types.ModuleType) -> None:
    failed, attempted, report = run_examples(module)
    assert attempted > 0, f"{module.__name__} has no doctest example"
    assert failed == 0, report


# ---------------------------------------------------------------------------------------------
# the reference modules
# ---------------------------------------------------------------------------------------------

def test_every_algorithm_module_is_checked():
    found = set(algorithm_modules())
    assert KNOWN_ALGORITHM_MODULES <= found, KNOWN_ALGORITHM_MODULES - found
    packages = {info.name for info in pkgutil.iter_modules(dlopt_reference.__path__) if info.ispkg}
    assert packages == TOOLING_PACKAGES, "a new package must be classified: algorithms (checked here) or tooling"


def test_every_exemption_names_a_public_object_and_gives_a_reason():
    for key, reason in NO_EXAMPLE.items():
        module_name, name = key.split(".")
        module = importlib.import_module(f"dlopt_reference.{module_name}")
        assert name in dict(public_objects(module)), f"stale exemption {key}"
        assert reason.strip(), f"exemption {key} gives no reason"


@pytest.mark.parametrize("name", algorithm_modules())
def test_docstring_examples_run(name):
    assert_examples_run(importlib.import_module(f"dlopt_reference.{name}"))


@pytest.mark.parametrize("name", algorithm_modules())
def test_every_public_function_documents_its_maths_and_shows_an_example(name):
    problems = docstring_problems(importlib.import_module(f"dlopt_reference.{name}"))
    assert problems == [], "\n".join(problems)


# ---------------------------------------------------------------------------------------------
# the checker rejects what it should
# ---------------------------------------------------------------------------------------------

def _module(source: str) -> types.ModuleType:
    module = types.ModuleType("synthetic")
    exec(compile(source, "<synthetic>", "exec"), module.__dict__)
    return module


_DOCUMENTED = '''
r"""A synthetic algorithm module."""


def scale(w, factor):
    r"""Scale the parameters: :math:`w \\leftarrow c\\, w`.

    Args:
        w: parameters, any shape.
        factor: :math:`c`.

    Returns:
        The scaled parameters.
    {example}
    """
    return factor * w
'''

_EXAMPLE = '''
    Example:
        >>> scale(2.0, 3.0)
        {printed}
'''


def test_a_documented_module_with_a_correct_example_passes():
    module = _module(_DOCUMENTED.replace("{example}", _EXAMPLE.replace("{printed}", "6.0")))
    assert docstring_problems(module) == []
    assert_examples_run(module)
    assert run_examples(module)[:2] == (0, 1)


def test_a_module_without_examples_is_rejected():
    module = _module(_DOCUMENTED.replace("{example}", ""))
    assert docstring_problems(module) == ["synthetic.scale: no doctest example (>>>)"]
    assert run_examples(module)[:2] == (0, 0)
    with pytest.raises(AssertionError, match="no doctest example"):
        assert_examples_run(module)
    # an exemption with a reason lifts the requirement for that function only
    assert docstring_problems(module, {"synthetic.scale": "a reason"}) == []


def test_a_wrong_example_fails():
    module = _module(_DOCUMENTED.replace("{example}", _EXAMPLE.replace("{printed}", "5.0")))
    assert docstring_problems(module) == []
    with pytest.raises(AssertionError, match="Expected:\\s+5.0\\s+Got:\\s+6.0"):
        assert_examples_run(module)


def test_missing_docstrings_maths_and_sections_are_rejected():
    module = _module('''
def undocumented(w):
    return w


def vague(w):
    """Does something useful.

    >>> vague(1)
    1
    """
    return w


class Schedule:
    """A schedule with no example: :math:`\\\\eta_t`.

    Args:
        learning_rate: :math:`\\\\eta_0`.
    """

    def step(self):
        return 0.0
''')
    assert docstring_problems(module) == [
        "synthetic: no module docstring",
        "synthetic.undocumented: no docstring",
        "synthetic.vague: no Args section",
        "synthetic.vague: no Returns section",
        "synthetic.vague: states neither its maths (:math: or .. math::) nor its shapes",
        "synthetic.Schedule: no doctest example (>>>)",
        "synthetic.Schedule.step: no docstring",
    ]


def test_an_empty_module_and_a_wrong_all_are_rejected():
    assert docstring_problems(_module('"""Nothing here."""')) == ["synthetic: no public function or class"]
    module = _module(_DOCUMENTED.replace("{example}", _EXAMPLE.replace("{printed}", "6.0"))
                     + "\n__all__ = ['scale', 'shift']\n")
    assert docstring_problems(module) == [
        "synthetic: __all__ ['scale', 'shift'] is not the public functions and classes ['scale']"]
