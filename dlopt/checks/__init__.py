r"""Visible checks for the exercises: ``check("adam", adam)`` in a notebook.

Each check calls your function on a few small inputs whose answers are known independently
(computed by hand, or properties that every correct answer has) and answers in one short message:
what was called, what was expected, what came back, and a hint. They never use the course's hidden
reference: passing them is necessary, not sufficient; the hidden checks at submission test more
inputs.

>>> from dlopt.checks import check
>>> def sgd(w, dw, config=None):
...     raise NotImplementedError()
>>> check("sgd", sgd)
Traceback (most recent call last):
...
dlopt.checks._framework.CheckFailure: sgd is not implemented yet: write your code where it says YOUR CODE HERE ...
"""

from ._framework import CheckFailure, check, needs_implementation, registered

# Importing the chapter modules registers their checks.
from . import _chapter01  # noqa: F401
from . import _chapter02  # noqa: F401
from . import _chapter03  # noqa: F401
from . import _chapter04  # noqa: F401
from . import _chapter05  # noqa: F401
from . import _chapter06  # noqa: F401
from . import _chapter07  # noqa: F401
from . import _chapter08  # noqa: F401
from . import _chapter09  # noqa: F401
from . import _chapter10  # noqa: F401

__all__ = ["check", "CheckFailure", "needs_implementation", "registered"]
