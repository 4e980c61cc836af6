"""A small Sphinx extension used by the course's book build (``_config.yml`` loads it).

Sphinx 7.4 registers the inline configuration scripts of sphinx-thebe and sphinx-togglebutton
twice when they are added after the builder starts, so each page declared ``const THEBE_JS_URL``
twice, a JavaScript error on every page. This extension keeps the first copy of each script.
"""

from __future__ import annotations

__all__: list[str] = []


def _script_key(script) -> tuple:
    """Scripts are the same when their file (``None`` and ``""`` both mean inline) and attributes are."""
    filename = getattr(script, "filename", script) or ""
    attributes = getattr(script, "attributes", {}) or {}
    return str(filename), tuple(sorted((k, str(v)) for k, v in attributes.items()))


def _dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple] = set()
    unique = []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def setup(app):
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
