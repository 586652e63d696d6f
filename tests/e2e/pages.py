"""Visit every page of the built book in Chromium and record what a reader would meet.

One visit per page and width gathers everything the tests check (console errors, failed
and external requests, MathJax's output, images, links, the Colab button, the page's
width) into a `Visit`, and keeps a screenshot under ``_build/screenshots/<width>/``.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from urllib.parse import unquote, urlparse


ROOT = Path(__file__).resolve().parents[2]
DESKTOP = ("desktop", {"width": 1280, "height": 900})
PHONE = ("phone", {"width": 390, "height": 844})  # a phone's CSS width

# Everything the tests need from a page, read in the page itself once MathJax is done.
READ_PAGE = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  const images = [...document.images];
  await Promise.all(images.map(img => { img.loading = "eager"; return img.decode().catch(() => null); }));
  const main = document.querySelector("main") || document.body;
  const prose = main.cloneNode(true);
  prose.querySelectorAll("pre, code, script, style, mjx-container, .math").forEach(e => e.remove());
  const math = [...document.querySelectorAll("article .math, main .math")];
  return {
    ids: [...document.querySelectorAll("[id]")].map(e => e.id)
          .concat([...document.querySelectorAll("a[name]")].map(a => a.name)),
    links: [...document.querySelectorAll("a[href]")].map(a => a.href),
    images: images.map(img => ({src: img.getAttribute("src"), ok: img.complete && img.naturalWidth > 0,
                                 alt: img.getAttribute("alt")})),
    math: math.length,
    typeset: math.filter(e => e.querySelector("mjx-container")).length,
    mathErrors: [...document.querySelectorAll("mjx-merror")].map(e => e.getAttribute("data-mjx-error") || e.textContent),
    // MathJax shows an undefined macro as its name in red instead of failing
    undefinedMacros: [...document.querySelectorAll("mjx-container")]
      .filter(e => e.querySelector('mjx-mtext[style*="color: red"]'))
      .map(e => { const m = e.querySelector("mjx-assistive-mml mtext[mathcolor=red]"); return m ? m.textContent : "?"; }),
    prose: prose.innerText,
    executed: [...document.querySelectorAll(".genlab-executed")].map(e => e.innerText),
    scrollWidth: document.documentElement.scrollWidth,
    mainWidth: main.getBoundingClientRect().width,
  };
}"""


@dataclasses.dataclass
class Page:
    path: str          # the HTML page, relative to the site: book/03_math/vae_math.html
    source: Path       # its source in the repository (.md or .ipynb)

    @property
    def is_notebook(self) -> bool:
        return self.source.suffix == ".ipynb"


@dataclasses.dataclass
class Visit:
    page: Page
    width: str
    errors: list[str]          # console errors and uncaught exceptions
    failed: list[str]          # requests to the site that failed or answered >= 400
    external: list[str]        # requests to other hosts (blocked: the book must work offline)
    facts: dict                # what READ_PAGE returned
    screenshot: Path


@dataclasses.dataclass
class Site:
    root: Path
    base_url: str
    pages: list[Page]
    visits: dict[tuple[str, str], Visit]   # (page path, width) -> visit

    def visit(self, page: Page, width: str = "desktop") -> Visit:
        return self.visits[page.path, width]

    def ids(self, path: str) -> set[str] | None:
        """The ids on a visited page (None for a file that is not a visited page)."""
        visit = self.visits.get((path, "desktop"))
        return None if visit is None else set(visit.facts["ids"])

    def local_path(self, url: str) -> str | None:
        """The site-relative path of a URL on this site (None for another host)."""
        if not url.startswith(self.base_url):
            return None
        path = unquote(urlparse(url).path).lstrip("/")
        return path + "index.html" if path.endswith("/") or not path else path


def toc_pages() -> list[Page]:
    """The pages of _toc.yml, in order (as the static book test reads them), each with its source file."""
    from test_book import TOC_FILES

    pages = []
    for name in TOC_FILES:
        sources = [ROOT / f"{name}{suffix}" for suffix in (".md", ".ipynb")]
        source = next((s for s in sources if s.exists()), sources[0])
        pages.append(Page(f"{name}.html", source))
    return pages


def visit_all(browser, site_root: Path, base_url: str, shots: Path, widths=(DESKTOP,), pages=None) -> Site:
    pages = toc_pages() if pages is None else pages
    visits = {}
    for width, viewport in widths:
        context = browser.new_context(viewport=viewport, is_mobile=width == "phone", has_touch=width == "phone")
        for page in pages:
            visits[page.path, width] = _visit(context, page, width, base_url, shots / width)
        context.close()
    return Site(site_root, base_url, pages, visits)


def _visit(context, page: Page, width: str, base_url: str, shots: Path) -> Visit:
    errors, failed, external = [], [], []
    tab = context.new_page()

    def route(route):
        if route.request.url.startswith(base_url):
            route.continue_()
        else:
            external.append(route.request.url)
            route.abort()

    tab.route("**/*", route)
    tab.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    tab.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    tab.on("requestfailed", lambda request: failed.append(f"{request.url} ({request.failure})")
           if request.url.startswith(base_url) else None)
    tab.on("response", lambda response: failed.append(f"{response.url} (HTTP {response.status})")
           if response.status >= 400 else None)
    tab.goto(base_url + page.path, wait_until="load")
    facts = tab.evaluate(READ_PAGE)
    shots.mkdir(parents=True, exist_ok=True)
    screenshot = shots / (page.path.removesuffix(".html").replace("/", "__") + ".png")
    tab.screenshot(path=str(screenshot), full_page=True)
    tab.close()
    # a blocked request to another host also logs a console error: it is reported as external
    errors = [e for e in errors if "net::ERR_FAILED" not in e or not external]
    return Visit(page, width, errors, failed, external, facts, screenshot)


# --------------------------------------------------------------------------------------
# The checks: each returns the problems it finds on one page (an empty list when none).
# --------------------------------------------------------------------------------------


def console_problems(site: Site, page: Page) -> list[str]:
    found = []
    for (path, width), visit in site.visits.items():
        if path == page.path:
            found += [f"{width}: console error {e}" for e in visit.errors]
            found += [f"{width}: failed request {f}" for f in visit.failed]
    return found


def offline_problems(site: Site, page: Page) -> list[str]:
    return [f"asks another host for {url}" for url in sorted(set(site.visit(page).external))]


def math_problems(site: Site, page: Page) -> list[str]:
    facts = site.visit(page).facts
    found = [f"{facts['math'] - facts['typeset']} of {facts['math']} formulas not typeset"] if facts["typeset"] < facts["math"] else []
    found += [f"TeX error: {e}" for e in facts["mathErrors"]]
    found += [f"undefined TeX macro {name}" for name in facts["undefinedMacros"]]
    found += [f"raw TeX in the text: {raw!r}" for raw in re.findall(r"\$\$|\\\(|\\\[|\\begin\{", facts["prose"])[:5]]
    if page.source.is_file() and page.source.read_text(encoding="utf-8").count("$") >= 2 and not facts["math"]:
        found.append("the source has $…$ math but the page shows none")
    return found


def image_problems(site: Site, page: Page) -> list[str]:
    return [f"image did not load: {img['src']}" for img in site.visit(page).facts["images"] if not img["ok"]]


def link_problems(site: Site, page: Page) -> list[str]:
    found = []
    for url in site.visit(page).facts["links"]:
        path = site.local_path(url.split("#")[0])
        if path is None:
            continue
        if not (site.root / path).is_file():
            found.append(f"{url}: no file {path}")
            continue
        fragment, ids = url.partition("#")[2], site.ids(path)
        if fragment and ids is not None and unquote(fragment) not in ids:
            found.append(f"{url}: no anchor #{fragment} on {path}")
    return found


def citation_problems(site: Site, page: Page, bibliography: str = "book/bibliography.html") -> list[str]:
    facts = site.visit(page).facts
    found = ["an unrendered {cite} role"] if "{cite" in facts["prose"] else []
    entries = site.ids(bibliography) or set()
    found += [f"no bibliography entry for {url}" for url in facts["links"]
              if "#cite-" in url and url.partition("#")[2] not in entries]
    if page.source.is_file() and "{cite" in page.source.read_text(encoding="utf-8") and not any("#cite-" in u for u in facts["links"]):
        found.append("the source cites but the page links to no bibliography entry")
    return found


def colab_problems(site: Site, page: Page, colab: str, expected: str | None) -> list[str]:
    """`expected`: the one Colab address a notebook page must link to (None: no Colab link)."""
    links = sorted({url for url in site.visit(page).facts["links"] if url.startswith(colab)})
    if expected is None:
        return [f"not a notebook, but links to {url}" for url in links]
    return [] if links == [expected] else [f"Colab links {links}, expected [{expected}]"]


def phone_problems(site: Site, page: Page) -> list[str]:
    facts, width = site.visit(page, PHONE[0]).facts, PHONE[1]["width"]
    found = [f"{facts['scrollWidth']} px wide on a {width} px phone"] if facts["scrollWidth"] > width + 1 else []
    if facts["mainWidth"] < 0.75 * width:
        found.append(f"the text column is {facts['mainWidth']:.0f} px wide on a {width} px phone")
    return found


def execution_problems(site: Site, page: Page) -> list[str]:
    """A notebook page says once, under its title, how its outputs were made; other pages do not."""
    lines = site.visit(page).facts["executed"]
    if not page.is_notebook:
        return [f"not a notebook, but says {line!r}" for line in lines]
    if len(lines) != 1:
        return [f"{len(lines)} execution lines, expected one"]
    wanted = ["genlab", "torch", "seed", " s, on "]
    return [f"the execution line {lines[0]!r} does not give the {w.strip(' ,')}" for w in wanted if w not in lines[0]]
