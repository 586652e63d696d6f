"""Every page of the rendered book, as a reader meets it in a real browser (headless Chromium).

Run by ``make test-browser``, which builds the book first; each failure names its page.
The last test shows that each check can fail: a small site with one fault of each kind.
"""

from __future__ import annotations

import pytest
import yaml

from e2e import pages as checks
from e2e.pages import ROOT, Page, toc_pages

pytestmark = pytest.mark.slow  # builds the book and opens every page in a browser

PAGES = toc_pages()
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
REPO = CONFIG["repository"]["url"].rstrip("/").removeprefix("https://github.com/")
BRANCH = CONFIG["repository"].get("branch", "main")
COLAB = CONFIG["launch_buttons"]["colab_url"].rstrip("/")


def colab_address(page: Page) -> str | None:
    if not page.is_notebook:
        return None
    return f"{COLAB}/github/{REPO}/blob/{BRANCH}/{page.source.relative_to(ROOT).as_posix()}"


def colab_check(site, page):
    return checks.colab_problems(site, page, COLAB, colab_address(page))


# Each check returns the problems it finds on one page; every page must have none.
CHECKS = {
    "console errors and failed requests": checks.console_problems,
    "works offline": checks.offline_problems,
    "MathJax typeset every formula": checks.math_problems,
    "every image loads": checks.image_problems,
    "internal links and anchors resolve": checks.link_problems,
    "citations resolve": checks.citation_problems,
    "the Colab button opens this notebook": colab_check,
    "notebook pages say how they were executed": checks.execution_problems,
    "readable at a phone's width": checks.phone_problems,
}


@pytest.mark.parametrize("check", CHECKS.values(), ids=CHECKS.keys())
@pytest.mark.parametrize("page", PAGES, ids=[p.path.removesuffix(".html") for p in PAGES])
def test_page(site, page, check):
    assert not check(site, page), page.path


def test_a_screenshot_of_every_page(site):
    shots = [visit.screenshot for visit in site.visits.values()]
    assert len(shots) == 2 * len(PAGES)
    blank = [str(shot) for shot in shots if not shot.is_file() or shot.stat().st_size < 5_000]
    assert not blank, f"missing or blank screenshots: {blank}"


def test_every_page_of_the_table_of_contents_is_visited():
    assert len(PAGES) == len({p.path for p in PAGES}) >= 30
    assert all(p.source.is_file() for p in PAGES), [str(p.source) for p in PAGES if not p.source.is_file()]


BROKEN_PAGE = """<!DOCTYPE html><html><head><meta name="viewport" content="width=device-width">
<script>window.MathJax = {options: {ignoreHtmlClass: "tex2jax_ignore", processHtmlClass: "math"}};</script>
<script defer src="mathjax/tex-chtml.js"></script></head>
<body><main class="tex2jax_ignore">
<script>undefinedFunction();</script>
<p>Raw $$x^2$$ left behind, and a bad formula: <span class="math">\\(x^\\)</span>, an undefined macro:
<span class="math">\\(\\nosuchmacro x\\)</span>.</p>
<p>A citation that did not render: {cite}`nobody2020`, and one with no entry:
<a href="bibliography.html#cite-nobody2020">Nobody 2020</a>.</p>
<img src="missing.png" alt="missing"> <img src="https://example.org/remote.png" alt="remote">
<a href="other.html">no such page</a> <a href="bibliography.html#no-such-anchor">no such anchor</a>
<a href="https://colab.research.google.com/github/someone/else/blob/main/book/x.ipynb">Colab</a>
<div style="width: 900px">a block wider than a phone</div>
</main></body></html>"""


def test_each_check_catches_its_fault(browser, base_url_for, tmp_path):
    """A page with one fault of each kind: every check must report it."""
    site_root = tmp_path / "site"
    (site_root / "book").mkdir(parents=True)
    (site_root / "book" / "broken.html").write_text(BROKEN_PAGE)
    (site_root / "book" / "bibliography.html").write_text('<html><body><main class="tex2jax_ignore"><p id="cite-someone2021">S</p></main></body></html>')
    mathjax = next((ROOT / "_build" / "html" / "_static").glob("mathjax"), None)
    if mathjax is not None:
        (site_root / "book" / "mathjax").symlink_to(mathjax, target_is_directory=True)
    source = tmp_path / "broken.ipynb"
    source.write_text("{cite}`nobody2020` and $x$")
    pages = [Page("book/broken.html", source), Page("book/bibliography.html", tmp_path / "bibliography.md")]
    site = checks.visit_all(browser, site_root, base_url_for(site_root), tmp_path / "shots",
                            widths=(checks.DESKTOP, checks.PHONE), pages=pages)
    broken = pages[0]
    assert any("undefinedFunction" in p for p in checks.console_problems(site, broken))
    assert any("missing.png" in p for p in checks.console_problems(site, broken))  # a 404 is a failed request
    assert checks.offline_problems(site, broken) == ["asks another host for https://example.org/remote.png"]
    math = checks.math_problems(site, broken)
    assert any("raw TeX" in p for p in math)
    if mathjax is not None:  # with MathJax present, the bad formula is a TeX error
        assert any("TeX error: Missing superscript" in p for p in math), math
        assert any("undefined TeX macro" in p and "nosuchmacro" in p for p in math), math
    assert {p.split(":")[0] for p in checks.image_problems(site, broken)} == {"image did not load"}
    links = checks.link_problems(site, broken)
    assert any("no file book/other.html" in p for p in links) and any("no anchor #no-such-anchor" in p for p in links)
    citations = checks.citation_problems(site, broken)
    assert "an unrendered {cite} role" in citations and any("no bibliography entry" in p for p in citations)
    expected = "https://colab.research.google.com/github/genlab-book/genlab/blob/main/book/broken.ipynb"
    assert checks.colab_problems(site, broken, COLAB, expected)
    assert checks.colab_problems(site, pages[1], COLAB, None) == []
    assert any("px wide on a 390 px phone" in p for p in checks.phone_problems(site, broken))
    assert checks.execution_problems(site, broken) == ["0 execution lines, expected one"]


def test_the_api_page_shows_every_public_name_and_the_glossary_reaches_it(site):
    """In the browser: an entry (anchor) per public name on the API page, typeset signatures,
    and the glossary's links landing on those entries."""
    from test_api import public_names

    api = next(p for p in PAGES if p.path == "book/appendix/api.html")
    ids = site.ids(api.path)
    expected = {f"module-{name}" if type(obj).__name__ == "module" else name for name, obj in public_names().items()}
    assert not expected - ids, f"public names without an entry on the API page: {sorted(expected - ids)}"
    prose = site.visit(api).facts["prose"]
    assert "only rank 0 writes checkpoints" in " ".join(prose.split())  # fit's docstring, as text
    notation = next(p for p in PAGES if p.path == "book/appendix/notation.html")
    into_api = [url for url in site.visit(notation).facts["links"] if "/appendix/api.html#" in url]
    assert len(into_api) >= 20, into_api
    assert all(url.partition("#")[2] in ids for url in into_api)
