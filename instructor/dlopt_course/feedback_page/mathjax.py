"""MathJax for the feedback page, inlined so that the page renders math with no network and alone.

The feedback HTML travels on its own: ``nbgrader release_feedback`` and ``fetch_feedback`` copy only
the ``.html`` file, so a script kept next to it would not reach the student. The page therefore holds
MathJax 3 itself: the ``tex-svg-full`` component of the installed ``sphinx-mathjax-offline`` package
(the one the book serves). SVG output needs no font files, and the full component holds every TeX
extension, so MathJax never fetches anything.
"""

from __future__ import annotations

import functools
import json
from importlib import metadata
from pathlib import Path

#: The component inlined: TeX input, SVG output (fonts drawn as paths), all TeX extensions.
COMPONENT = "sphinx-mathjax-offline/static/mathjax/tex-svg-full.js"

#: MathJax's configuration: the delimiters nbconvert leaves in the page; load nothing more; no
#: context menu (its accessibility tools would fetch speech-rule files).
CONFIG = {
    "tex": {
        "inlineMath": [["$", "$"], ["\\(", "\\)"]],
        "displayMath": [["$$", "$$"], ["\\[", "\\]"]],
        "processEscapes": True,
        "processEnvironments": True,
    },
    "loader": {"load": []},
    "options": {"enableMenu": False},
}


class MathJaxMissing(RuntimeError):
    """The MathJax component to inline is not installed."""


@functools.lru_cache(maxsize=1)
def mathjax_source() -> str:
    """The JavaScript of the MathJax component, checked to be safe inside an HTML ``<script>``."""
    try:
        path = Path(metadata.distribution("sphinx-mathjax-offline").locate_file(COMPONENT))
    except metadata.PackageNotFoundError:
        path = None
    if path is None or not path.is_file():
        raise MathJaxMissing(
            f"the feedback page inlines MathJax from the package sphinx-mathjax-offline ({COMPONENT}), "
            "which is not installed: pip install -r requirements.txt")
    source = path.read_text(encoding="utf-8")
    # Inside <script>, "</script" would end the element early and "<script" changes how the parser
    # reads what follows: refuse rather than ship a page that breaks.
    if "<script" in source.lower() or "</script" in source.lower():
        raise MathJaxMissing(f"{path} holds a <script> tag and cannot be inlined in a <script> element")
    return source


def mathjax_config() -> str:
    """The ``window.MathJax`` configuration as a JavaScript statement."""
    return "window.MathJax = " + json.dumps(CONFIG) + ";"
