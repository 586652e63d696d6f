"""A small Sphinx extension for the book's HTML.

It adds static/genlab.css (inline code wraps, so that no page is wider than a phone), and
under the title of each notebook page a line saying how its stored outputs were made: the
record `scripts/execute_notebooks.py` keeps in the notebook's metadata (genlab and torch
versions, device, threads, seed, wall time, date).

sphinx-thebe (which Jupyter Book 1 always loads, even with thebe switched off) registers
its inline configuration script once per reading pass, and the second copy makes every
page throw "Identifier 'THEBE_JS_URL' has already been declared" in the browser. Each
page keeps only the first copy of any script.
"""

from __future__ import annotations

import json
from pathlib import Path

from docutils import nodes

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


def execution_line(record: dict) -> str:
    """The sentence shown under a notebook page's title."""
    where = record["device"] if record["device"] != "cpu" else f"the CPU ({record['cpu']})"
    threads = f"{record['threads']} thread" + ("s" if record["threads"] != 1 else "")
    seed = "" if record.get("seed") is None else f", seed {record['seed']}"
    return (f"Outputs executed with genlab {record['genlab']}, torch {record['torch']} and Python {record['python']} "
            f"on {where}, {threads}{seed}, in {record['seconds']} s, on {record['date']}.")


def _stamp_notebook(app, doctree):
    source = Path(app.env.doc2path(app.env.docname))
    if source.suffix != ".ipynb":
        return
    record = json.loads(source.read_text(encoding="utf-8")).get("metadata", {}).get("genlab", {}).get("executed")
    if record is None:
        raise ValueError(f"{source}: no execution record; run `python scripts/execute_notebooks.py {source}`")
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None:
        return
    note = nodes.paragraph("", "", nodes.emphasis("", execution_line(record)), classes=["genlab-executed"])
    title = next(iter(section.findall(nodes.title)))
    section.insert(section.index(title) + 1, note)


def _add_static(app):
    app.config.html_static_path.append(str(STATIC))


def setup(app):
    app.connect("builder-inited", _add_static)
    app.add_css_file("genlab.css")
    app.connect("html-page-context", _drop_repeated_scripts)
    app.connect("doctree-read", _stamp_notebook)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
