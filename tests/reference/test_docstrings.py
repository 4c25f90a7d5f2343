"""The examples in the reference docstrings run and print what they claim (they are what help() shows)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["optim", "schedules", "batchnorm", "search", "ensembles", "second_order", "data", "lr_range"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"dlopt_reference.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


@pytest.mark.parametrize("name", MODULES)
def test_every_public_function_documents_its_maths(name):
    module = importlib.import_module(f"dlopt_reference.{name}")
    public = [obj for key, obj in vars(module).items()
              if not key.startswith("_") and callable(obj) and getattr(obj, "__module__", None) == module.__name__]
    assert public
    for obj in public:
        assert obj.__doc__ and "Args:" in obj.__doc__, f"{obj.__name__} lacks an Args section"
