"""Small Sphinx fixes for the course book (loaded through _config.yml's ``local_extensions``).

- Jupyter Book 1 registers sphinx-thebe's inline configuration script twice, so every page
  logs ``Identifier 'THEBE_JS_URL' has already been declared`` in the browser console: each page
  here gets each script once.
"""

from __future__ import annotations


def _script_key(script) -> tuple:
    attributes = getattr(script, "attributes", {}) or {}
    return str(getattr(script, "filename", script) or ""), tuple(sorted((k, str(v)) for k, v in attributes.items()))


def deduplicate_scripts(app, pagename, templatename, context, doctree) -> None:
    """Keep the first of identical ``<script>`` entries of a page."""
    seen, unique = set(), []
    for script in context.get("script_files", []):
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    # Last of all handlers: others (sphinx.ext.mathjax among them) still add scripts in this event.
    app.connect("html-page-context", deduplicate_scripts, priority=999)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
