"""The API reference page's docstrings, read the way they are written.

genlab's docstrings are plain text in the Markdown habit: `name` for code, shapes such as
(N, *data_shape), continuation lines indented under the line they continue. reStructuredText,
which autodoc hands them to, reads `x` as a reference, a lone * as the start of emphasis and an
indented line as a quotation. Before napoleon (which turns Args:/Raises: sections into fields)
and docutils see a docstring, each line is rewritten here: code spans become inline literals,
the characters rST would take as markup outside them are escaped, and a blank line is put
where the indentation changes, so the layout reads as the source does.

napoleon is then applied here, not on its own: to functions, classes and modules only (it
would read a property's first line, "Size of the input: …", as "type: description"), and with
Returns/Yields read as plain sections (their text names shapes, not one return type).
"""

from __future__ import annotations

import re

from sphinx.ext import napoleon

CODE = re.compile(r"``.+?``|`[^`]+`")
MARKUP = re.compile(r"([\\*|])|(?<=\w)_(?=\W|$)")


def _escape(text: str) -> str:
    return MARKUP.sub(lambda m: "\\" + m.group(0), text)


def rst_line(line: str) -> str:
    """One docstring line with its code spans as inline literals and other markup escaped."""
    out, pos = [], 0
    for match in CODE.finditer(line):
        out.append(_escape(line[pos:match.start()]))
        out.append("``" + match.group(0).strip("`") + "``")
        pos = match.end()
    out.append(_escape(line[pos:]))
    return "".join(out)


SECTION = re.compile(r"^\s*[A-Z]\w*( \w+)?:\s*$")  # "Args:", "Keyword Args:": napoleon's section headers


def rst_lines(lines: list[str]) -> list[str]:
    """The docstring's lines rewritten; a blank line wherever the indentation changes (but
    under a section header), so that rST sees paragraphs and indented blocks, not errors."""
    result, indent = [], None
    for line in lines:
        if line.strip():
            here = len(line) - len(line.lstrip())
            previous = result[-1] if result else ""
            if indent is not None and here != indent and previous.strip() and not SECTION.match(previous):
                result.append("")
            indent = here
        result.append(rst_line(line))
    return result


def _process(app, what, name, obj, options, lines: list[str]) -> None:
    lines[:] = rst_lines(lines)
    if what not in ("attribute", "property", "data"):
        napoleon._process_docstring(app, what, name, obj, options, lines)


def _take_over_napoleon(app) -> None:
    """Remove napoleon's own docstring handler: `_process` calls it where it fits."""
    for listener in list(app.events.listeners.get("autodoc-process-docstring", [])):
        if listener.handler is napoleon._process_docstring:
            app.disconnect(listener.id)


def setup(app):
    app.setup_extension("sphinx.ext.napoleon")
    app.connect("builder-inited", _take_over_napoleon)
    app.connect("autodoc-process-docstring", _process)
    app.config.napoleon_custom_sections = ["Returns", "Yields", "Raises"]  # plain sections under their own names
    return {"parallel_read_safe": True, "parallel_write_safe": True}
