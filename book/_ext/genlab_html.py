"""A small Sphinx extension for the book's HTML.

It adds static/genlab.css (inline code wraps, so that no page is wider than a phone).

sphinx-thebe (which Jupyter Book 1 always loads, even with thebe switched off) registers
its inline configuration script once per reading pass, and the second copy makes every
page throw "Identifier 'THEBE_JS_URL' has already been declared" in the browser. Each
page keeps only the first copy of any script.
"""

from __future__ import annotations

from pathlib import Path

STATIC = Path(__file__).parent / "static"


def _drop_repeated_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for script in scripts:
        # the same inline script is registered once with filename None and once with ""
        key = (str(getattr(script, "filename", script) or ""), tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    context["script_files"] = kept


def _add_static(app):
    app.config.html_static_path.append(str(STATIC))


def setup(app):
    app.connect("builder-inited", _add_static)
    app.add_css_file("genlab.css")
    app.connect("html-page-context", _drop_repeated_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
