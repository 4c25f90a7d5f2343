"""The formgrader's file links under a base URL: a Jupyter server extension for the course service.

nbgrader 0.9's formgrader, opened in its own browser tab, links each assignment's name and *Preview* to
``"/tree/" + path``: right for a server at the root of its host, a 404 under JupyterHub, where the course
service lives at ``/services/<course>/`` (the tab inside JupyterLab would navigate instead, but JupyterHub
forbids framing a server's pages, and the course keeps that protection). This extension serves the
formgrader's ``utils.js`` with the server's base URL put in front of those links, ahead of the
formgrader's own copy; nothing else changes. ``hub-setup`` enables it for the grader's account
(``~/.jupyter/jupyter_server_config.json``).
"""

from __future__ import annotations

from pathlib import Path

from tornado import web

#: the line of nbgrader's ``static/js/utils.js`` that builds the link, and what it becomes
ORIGINAL = '.attr("href", prefix + path)'
FIXED = '.attr("href", base_url + prefix + path)'  # base_url: set by every formgrader page ("" at a root)


def fixed_utils_js() -> str:
    """nbgrader's ``utils.js`` with base-URL-aware links (raises if nbgrader's file no longer has the line)."""
    from nbgrader.server_extensions.formgrader import handlers

    text = (Path(handlers.static_path) / "js" / "utils.js").read_text()
    if ORIGINAL not in text:
        raise RuntimeError("nbgrader's formgrader utils.js changed: the link fix no longer applies")
    return text.replace(ORIGINAL, FIXED)


class FixedUtilsHandler(web.RequestHandler):
    """Serves :func:`fixed_utils_js` (a static file, public like the formgrader's own static files)."""

    def get(self):
        self.set_header("Content-Type", "application/javascript; charset=UTF-8")
        self.finish(fixed_utils_js())


def _jupyter_server_extension_points():
    return [{"module": __name__}]


def _load_jupyter_server_extension(serverapp) -> None:
    from jupyter_server.utils import url_path_join

    webapp = serverapp.web_app
    fixed_utils_js()  # fail at start, in the log, rather than with a broken page
    pattern = url_path_join(webapp.settings["base_url"], "formgrader/static/js/utils.js")
    webapp.add_handlers(".*$", [(pattern, FixedUtilsHandler)])
    # tornado tries host rules in order (the catch-all rule stays last): put this one first, so that it
    # answers before the formgrader's static route, whichever extension was loaded first
    rules = webapp.default_router.rules
    rules.insert(0, rules.pop(-2))
    serverapp.log.info("dlopt: formgrader links under %s", webapp.settings["base_url"])
