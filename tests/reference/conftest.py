"""Hypothesis settings for the reference tests: deterministic (derandomized), no example database, no deadline.

Property tests choose their own ``max_examples``; the profile makes every run draw the same examples.
"""

from __future__ import annotations

from hypothesis import settings

settings.register_profile("dlopt-reference", derandomize=True, database=None, deadline=None, print_blob=True)
settings.load_profile("dlopt-reference")
