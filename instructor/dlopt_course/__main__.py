"""``python -m dlopt_course``: the same as the ``dlopt-course`` command (see :mod:`.cli`)."""

import sys

from .cli import main

sys.exit(main())
