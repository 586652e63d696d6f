"""Fixtures of the browser test: the built book served on localhost, and one visit to each page.

The book is read from ``_build/html`` (``make book`` builds it; ``GENLAB_BOOK_HTML`` names
another folder). Chromium is Debian's (``apt-get install chromium``), or the executable that
``GENLAB_CHROMIUM`` names; Playwright drives it and never downloads a browser of its own.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest

from e2e.pages import DESKTOP, PHONE, Site, visit_all

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Headless and quiet: no sandbox (CI runs as root), and none of the background connections
# that a closed network refuses.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]


def chromium_path() -> str | None:
    named = os.environ.get("GENLAB_CHROMIUM")
    if named:
        return named
    return next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)


@pytest.fixture(scope="session")
def site_dir() -> Path:
    site = Path(os.environ.get("GENLAB_BOOK_HTML", ROOT / "_build" / "html"))
    if not (site / "book" / "index.html").is_file():
        pytest.fail(f"no built book in {site}: run `make book` first (or set GENLAB_BOOK_HTML)", pytrace=False)
    return site


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def base_url_for():
    """serve(folder) -> the base URL of a local HTTP server for that folder (stopped at the end)."""
    servers = []

    def serve(folder: Path) -> str:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}/"

    yield serve
    for server in servers:
        server.shutdown()


@pytest.fixture(scope="session")
def base_url(site_dir, base_url_for):
    return base_url_for(site_dir)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    if executable is None:
        pytest.fail("no Chromium found: install Debian's `chromium` package, or set GENLAB_CHROMIUM "
                    "to a Chromium or Chrome executable", pytrace=False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def site(site_dir, base_url, browser) -> Site:
    """Every page of the book visited once at a desktop width and once at a phone's."""
    shots = ROOT / "_build" / "screenshots"
    return visit_all(browser, site_dir, base_url, shots, widths=(DESKTOP, PHONE))
