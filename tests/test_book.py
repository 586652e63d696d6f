"""The book builds cleanly and its pages are wired up correctly.

The build runs once per test session into a temporary folder, with Sphinx
warnings turned into errors (``-W``) and nitpicky reference checking (``-n``),
so a broken cross-reference or citation fails here.  The checks below then
inspect the HTML that was produced.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

import genlab

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
REPO_URL = CONFIG["repository"]["url"].rstrip("/")

# The chapter-1 notebook page, whose Colab button and images are checked.
CH1_NOTEBOOK = "book/01_background/first_taste"

# Files in book/ that are not pages.
NOT_PAGES = {"references.bib", "sanitize.cfg"}


# --------------------------------------------------------------------------
# helpers


def _toc_files(node) -> list[str]:
    """Every ``root``/``file`` entry of the table of contents, in order."""
    found: list[str] = []
    if isinstance(node, dict):
        for key in ("root", "file"):
            if isinstance(node.get(key), str):
                found.append(node[key])
        for value in node.values():
            if isinstance(value, (list, dict)):
                found.extend(_toc_files(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_toc_files(item))
    return found


def _strip_suffix(path: str) -> str:
    for suffix in (".md", ".ipynb"):
        if path.endswith(suffix):
            return path[: -len(suffix)]
    return path


TOC_FILES = [_strip_suffix(f) for f in _toc_files(TOC)]


class _Tags(HTMLParser):
    """Collects (tag, attributes) for every start tag of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: (v or "") for k, v in attrs}))

    handle_startendtag = handle_starttag


def _tags(page: Path) -> list[tuple[str, dict[str, str]]]:
    parser = _Tags()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.tags


def _is_external(url: str) -> bool:
    return url.startswith(("http://", "https://", "//"))


def _local_target(page: Path, url: str) -> Path:
    """The file a relative URL on ``page`` points at (query/fragment dropped)."""
    path = url.split("#", 1)[0].split("?", 1)[0]
    return (page.parent / path).resolve()


def _notebooks() -> list[Path]:
    return sorted(
        p
        for p in BOOK.rglob("*.ipynb")
        if "_build" not in p.parts and ".ipynb_checkpoints" not in p.parts
    )


def _source_text(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


# --------------------------------------------------------------------------
# the build


@pytest.fixture(scope="module")
def html(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("book")
    jb = Path(sys.executable).parent / "jupyter-book"
    assert jb.exists(), f"jupyter-book not found next to {sys.executable}"
    cmd = [str(jb), "build", str(ROOT), "--path-output", str(out),
           "-W", "-n", "--keep-going"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (
        f"book build failed ({proc.returncode})\n"
        f"--- stdout ---\n{proc.stdout[-8000:]}\n--- stderr ---\n{proc.stderr[-8000:]}"
    )
    site = out / "_build" / "html"
    assert (site / "index.html").is_file()
    return site


def _pages(html: Path) -> list[Path]:
    """The site's pages (theme templates copied into _static are not pages)."""
    return sorted(p for p in html.rglob("*.html") if "_static" not in p.relative_to(html).parts)


# --------------------------------------------------------------------------
# structure


@pytest.mark.slow
@pytest.mark.book
def test_index_exists(html):
    assert (html / "index.html").is_file()
    assert (html / "book" / "index.html").is_file()


@pytest.mark.slow
@pytest.mark.book
def test_every_toc_entry_has_a_page(html):
    assert TOC_FILES[0] == "book/index"
    missing = [f for f in TOC_FILES if not (html / f"{f}.html").is_file()]
    assert not missing, f"toc entries without an HTML page: {missing}"


@pytest.mark.slow
@pytest.mark.book
def test_chapters_in_order(html):
    chapters = [
        "book/01_background/index",
        "book/02_concepts/index",
        "book/03_math/index",
        "book/04_code/index",
        "book/05_analysis/index",
        "book/06_future/index",
        "book/07_combining/index",
        "book/08_summary/index",
    ]
    for chapter in chapters:
        assert (html / f"{chapter}.html").is_file(), chapter
    positions = [TOC_FILES.index(c) for c in chapters]
    assert positions == sorted(positions), "chapters are out of order in _toc.yml"
    assert TOC_FILES[-1] == "book/bibliography"


@pytest.mark.slow
@pytest.mark.book
def test_only_toc_pages_are_built(html):
    """Nothing outside the toc (the venv, the package, tests) becomes a page."""
    expected = {f"{f}.html" for f in TOC_FILES}
    expected |= {"index.html", "genindex.html", "search.html"}
    built = {p.relative_to(html).as_posix() for p in _pages(html)}
    extra = sorted(built - expected)
    assert not extra, f"pages built that are not in _toc.yml: {extra[:20]}"


def test_every_book_source_is_in_the_toc():
    """A page left out of _toc.yml would silently vanish from the book."""
    listed = set(TOC_FILES)
    sources = [
        p for p in BOOK.rglob("*")
        if p.suffix in {".md", ".ipynb"}
        and "_build" not in p.parts
        and ".ipynb_checkpoints" not in p.parts
        and p.name not in NOT_PAGES
    ]
    orphans = sorted(
        _strip_suffix(p.relative_to(ROOT).as_posix())
        for p in sources
        if _strip_suffix(p.relative_to(ROOT).as_posix()) not in listed
    )
    assert not orphans, f"files under book/ missing from _toc.yml: {orphans}"


# --------------------------------------------------------------------------
# math, served locally


@pytest.mark.slow
@pytest.mark.book
def test_mathjax_is_served_locally(html):
    loaders = 0
    for page in _pages(html):
        for tag, attrs in _tags(page):
            src = attrs.get("src", "")
            if tag != "script" or "mathjax" not in src.lower():
                continue
            loaders += 1
            assert not _is_external(src), f"{page.name} loads MathJax from {src}"
            target = _local_target(page, src)
            assert target.is_file(), f"{page.name}: MathJax file {target} missing"
            assert (html / "_static") in target.parents, (
                f"{page.name}: MathJax at {target} is not under _static"
            )
    assert loaders > 0, "no page loads MathJax, although the book has math"


@pytest.mark.slow
@pytest.mark.book
def test_dollar_math_is_rendered(html):
    text = (html / "book" / "index.html").read_text(encoding="utf-8")
    # $...$ becomes \(...\) and $$...$$ becomes \[...\] inside math elements.
    assert re.search(r'class="math[^"]*"[^>]*>\s*\\\(', text), "no inline math"
    assert re.search(r'class="math[^"]*"[^>]*>\s*\\\[', text), "no display math"


@pytest.mark.slow
@pytest.mark.book
def test_no_external_scripts_or_stylesheets(html):
    """Pages work offline: no script or stylesheet comes from another host."""
    offenders = []
    for page in _pages(html):
        for tag, attrs in _tags(page):
            if tag == "script" and _is_external(attrs.get("src", "")):
                offenders.append((page.relative_to(html).as_posix(), attrs["src"]))
            if (tag == "link" and "stylesheet" in attrs.get("rel", "")
                    and _is_external(attrs.get("href", ""))):
                offenders.append((page.relative_to(html).as_posix(), attrs["href"]))
    assert not offenders, f"external resources: {offenders[:20]}"


# --------------------------------------------------------------------------
# bibliography


def _cited_keys() -> set[str]:
    keys: set[str] = set()
    pattern = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")
    texts = [p.read_text(encoding="utf-8") for p in BOOK.rglob("*.md")
             if "_build" not in p.parts]
    for nb in _notebooks():
        cells = json.loads(nb.read_text(encoding="utf-8")).get("cells", [])
        texts += [_source_text(c) for c in cells if c.get("cell_type") == "markdown"]
    for text in texts:
        for group in pattern.findall(text):
            keys.update(k.strip() for k in group.split(",") if k.strip())
    return keys


@pytest.mark.slow
@pytest.mark.book
def test_bibliography_lists_the_cited_works(html):
    cited = _cited_keys()
    assert {"goodfellow2014gan", "kingma2014vae"} <= cited
    page = (html / "book" / "bibliography.html").read_text(encoding="utf-8")
    # bibtex_cite_id in _config.yml gives every entry the anchor cite-<key>.
    missing = sorted(k for k in cited if f'id="cite-{k.lower()}"' not in page)
    assert not missing, f"cited but absent from the bibliography: {missing}"


# --------------------------------------------------------------------------
# launch button and images on the chapter-1 notebook


@pytest.mark.slow
@pytest.mark.book
def test_colab_link_points_at_the_notebook(html):
    parts = urlparse(REPO_URL).path.strip("/").split("/")
    org, repo = parts[0], parts[1]
    branch = CONFIG["repository"].get("branch", "main")
    book_path = (CONFIG["repository"].get("path_to_book") or "").strip("/")
    prefix = f"{book_path}/" if book_path else ""
    colab = CONFIG["launch_buttons"]["colab_url"].rstrip("/")
    expected = f"{colab}/github/{org}/{repo}/blob/{branch}/{prefix}{CH1_NOTEBOOK}.ipynb"

    page = html / f"{CH1_NOTEBOOK}.html"
    links = [a.get("href", "") for tag, a in _tags(page) if tag == "a"]
    colab_links = [h for h in links if h.startswith(colab)]
    assert colab_links == [expected], f"Colab links: {colab_links}, expected {expected}"


@pytest.mark.slow
@pytest.mark.book
def test_chapter1_images_exist(html):
    for name in ("book/01_background/index", CH1_NOTEBOOK):
        page = html / f"{name}.html"
        for tag, attrs in _tags(page):
            src = attrs.get("src", "")
            if tag != "img" or not src or src.startswith("data:"):
                continue
            assert not _is_external(src), f"{name}: external image {src}"
            assert _local_target(page, src).is_file(), f"{name}: missing image {src}"


# --------------------------------------------------------------------------
# the notebooks' install cell


_GIT_URL = re.compile(r"git\+(https?://[^\s\"'@#]+)(?:@([^\s\"'#]+))?")


def _install_call(tree: ast.AST) -> ast.Call | None:
    """The cell's `subprocess.run([...])` call, or None."""
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "run"
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "subprocess"):
            return node
    return None


def _install_cell_problem(nb: Path) -> str | None:
    """Why the notebook's first code cell is not the install cell, or None."""
    cells = json.loads(nb.read_text(encoding="utf-8")).get("cells", [])
    code = [c for c in cells if c.get("cell_type") == "code"]
    if not code:
        return None
    src = _source_text(code[0])
    lines = [ln.strip() for ln in src.splitlines()]
    if "try:" not in lines or "import genlab" not in lines:
        return "does not try `import genlab`"
    if not any(ln.startswith("except ImportError") for ln in lines):
        return "does not fall back on ImportError"
    try:
        tree = ast.parse(src)
    except SyntaxError:
        return "is not plain Python (an IPython magic or shell escape hands GENLAB_SOURCE to a shell)"
    if 'os.environ.get("GENLAB_SOURCE"' not in src:
        return "does not let GENLAB_SOURCE name the package's source"
    call = _install_call(tree)
    if call is None or not call.args or not isinstance(call.args[0], ast.List):
        return "does not run pip through subprocess.run([...]) with a list of arguments"
    args = call.args[0].elts
    words = [a.value if isinstance(a, ast.Constant) else None for a in args]
    if words[1:4] != ["-m", "pip", "install"] or ast.unparse(args[0]) != "sys.executable":
        return "does not run `sys.executable -m pip install`"
    if not (isinstance(args[-1], ast.Name) and args[-1].id == "GENLAB_SOURCE"):
        return "does not pass GENLAB_SOURCE to pip as one argument of its own"
    if any(k.arg == "shell" for k in call.keywords) or "os.system" in src or "os.popen" in src:
        return "hands the command to a shell"
    urls = _GIT_URL.findall(src)
    if not urls:
        return "has no git+<url> to install from"
    for url, ref in urls:
        url = url.rstrip("/")
        url = url[:-4] if url.endswith(".git") else url
        if url != REPO_URL:
            return f"installs from {url}, but _config.yml says {REPO_URL}"
        if ref != f"v{genlab.__version__}":
            return f"installs the release {ref or '(none: the main branch)'}, but genlab is {genlab.__version__}: run scripts/release.py"
    return None


def test_install_cell_uses_the_configured_repository_and_the_package_version():
    notebooks = _notebooks()
    assert notebooks, "no notebooks under book/"
    problems = {
        nb.relative_to(ROOT).as_posix(): why
        for nb in notebooks
        if (why := _install_cell_problem(nb)) is not None
    }
    assert not problems, f"first code cell is not the install cell: {problems}"
    # and exactly the cell scripts/release.py writes, for this version
    expected = _release().install_cell(genlab.__version__)
    differ = [nb.relative_to(ROOT).as_posix() for nb in notebooks
              if _source_text(next(c for c in json.loads(nb.read_text(encoding="utf-8"))["cells"]
                                   if c["cell_type"] == "code")) != expected]
    assert not differ, f"install cells that differ from scripts/release.py's for {genlab.__version__}: {differ}"


def _release():
    spec = importlib.util.spec_from_file_location("release", ROOT / "scripts" / "release.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _notebook(tmp_path: Path, source: str) -> Path:
    path = tmp_path / f"nb{len(list(tmp_path.iterdir()))}.ipynb"
    cells = [{"cell_type": "markdown", "metadata": {}, "source": "# t"}]
    if source:
        cells.append({"cell_type": "code", "metadata": {}, "source": source, "outputs": [], "execution_count": None})
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def test_install_cell_check_itself(tmp_path):
    """The checker accepts the release's cell and rejects a wrong URL, version, shell or argument."""
    good = _release().install_cell(genlab.__version__)
    release = f"@v{genlab.__version__}"

    def problem(source: str) -> str | None:
        return _install_cell_problem(_notebook(tmp_path, source))

    assert problem(good) is None
    assert problem("") is None
    assert "installs from https://github.com/x/y" in problem(good.replace(REPO_URL, "https://github.com/x/y"))
    assert "the release v0.0.1" in problem(good.replace(release, "@v0.0.1"))
    assert "main branch" in problem(good.replace(release, ""))
    assert problem("import genlab\n")
    # the cell of earlier versions: GENLAB_SOURCE interpolated into a %pip line, which IPython runs in a shell
    old = (f'try:\n    import genlab\nexcept ImportError:\n    import os\n'
           f'    GENLAB_SOURCE = os.environ.get("GENLAB_SOURCE", "genlab @ git+{REPO_URL}{release}")\n'
           '    %pip install -q "{GENLAB_SOURCE}"\n    import genlab\n')
    assert "not plain Python" in problem(old)
    assert "shell" in problem(good.replace("check=True", "check=True, shell=True"))
    assert "one argument" in problem(good.replace("GENLAB_SOURCE]", "*GENLAB_SOURCE.split()]"))
    assert "one argument" in problem(good.replace('"-q", GENLAB_SOURCE]', '"-q", f"{GENLAB_SOURCE}", "-U"]'))
    assert "subprocess.run" in problem(good.replace("subprocess.run([", "os.system(' '.join([").replace("check=True)", "))"))


_HARNESS = """
import json, subprocess, sys
sys.modules["genlab"] = None  # as on Colab: genlab is not importable
calls, real_run = [], subprocess.run
def run(args, *more, **options):
    calls.append({"args": list(args) if isinstance(args, (list, tuple)) else args, "shell": options.get("shell", False)})
    return real_run(args, *more, **options) if sys.argv[2] == "real" else None
subprocess.run = run
try:
    exec(compile(open(sys.argv[1]).read(), "install cell", "exec"), {})
    outcome = "ok"
except BaseException as err:
    outcome = type(err).__name__
print(json.dumps({"calls": calls, "outcome": outcome}))
"""


def _run_install_cell(tmp_path: Path, source: str, value: str, mode: str) -> dict:
    cell, harness = tmp_path / "cell.py", tmp_path / "harness.py"
    cell.write_text(source)
    harness.write_text(_HARNESS)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"GENLAB_SOURCE": value}
    done = subprocess.run([sys.executable, str(harness), str(cell), mode], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_install_cell_hands_genlab_source_to_pip_as_one_argument(tmp_path):
    """Run as Python, the first cell of every notebook gives pip GENLAB_SOURCE whole and no shell
    ever sees it: a value with a command in it is a (bad) package name to pip, nothing more."""
    first = _source_text(next(c for c in json.loads(_notebooks()[0].read_text(encoding="utf-8"))["cells"]
                              if c["cell_type"] == "code"))
    hostile = "x$(touch INJECTED).whl; touch INJECTED2 `touch INJECTED3`"
    recorded = _run_install_cell(tmp_path, first, hostile, "record")
    assert recorded["outcome"] in ("ImportError", "ModuleNotFoundError")  # the import after the (recorded, not run) install
    assert [c["args"] for c in recorded["calls"]] == [[sys.executable, "-m", "pip", "install", "-q", hostile]]
    assert not any(c["shell"] for c in recorded["calls"])
    # for real: pip refuses the name, the cell stops with pip's error, and nothing ran
    real = _run_install_cell(tmp_path, first, hostile, "real")
    assert real["outcome"] == "CalledProcessError"
    assert not list(tmp_path.glob("INJECTED*")), "a command inside GENLAB_SOURCE ran"


# --------------------------------------------------------------------------
# how each notebook's stored outputs were made


RECORD_KEYS = {"genlab", "torch", "python", "device", "cpu", "threads", "seed", "seconds", "date"}


def test_every_notebook_records_how_it_was_executed():
    """scripts/execute_notebooks.py leaves a record; the seed in it is the parameters cell's."""
    for path in _notebooks():
        nb = json.loads(path.read_text(encoding="utf-8"))
        record = nb["metadata"].get("genlab", {}).get("executed")
        assert record is not None, f"{path}: no execution record; run `python scripts/execute_notebooks.py {path}`"
        assert set(record) == RECORD_KEYS, f"{path}: record keys {sorted(record)}"
        parameters = [_source_text(c) for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
        seed = re.search(r"^SEED\s*=\s*(\d+)", parameters[0], re.M)
        assert record["seed"] == int(seed.group(1)), f"{path}: recorded seed {record['seed']}, parameters cell {seed.group(0)}"
        assert record["seconds"] >= 0 and record["threads"] >= 1 and re.fullmatch(r"\d{4}-\d\d-\d\d", record["date"])


@pytest.mark.slow
@pytest.mark.book
def test_notebook_pages_print_their_execution_record(html):
    path = next(p for p in _notebooks() if p.stem == "first_taste")
    record = json.loads(path.read_text(encoding="utf-8"))["metadata"]["genlab"]["executed"]
    page = (html / CH1_NOTEBOOK).with_suffix(".html").read_text(encoding="utf-8")
    line = re.search(r'<p class="genlab-executed">(.*?)</p>', page, re.S)
    assert line, "no execution line on the chapter-1 notebook page"
    for fact in (f"genlab {record['genlab']}", f"torch {record['torch']}", f"seed {record['seed']}", f"in {record['seconds']} s"):
        assert fact in line.group(1), (fact, line.group(1))
    assert "genlab-executed" not in (html / "book" / "index.html").read_text(encoding="utf-8")


def test_every_figure_is_captioned():
    """A code cell that draws a figure is followed by a markdown caption starting with *Figure."""
    missing = []
    for path in _notebooks():
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for i, cell in enumerate(cells):
            draws = cell["cell_type"] == "code" and any("image/png" in o.get("data", {}) for o in cell.get("outputs", []))
            following = _source_text(cells[i + 1]).lstrip() if i + 1 < len(cells) else ""
            if draws and not (cells[i + 1]["cell_type"] == "markdown" and following.startswith("*Figure")):
                missing.append(f"{path.relative_to(BOOK)} cell {cell.get('id')}")
    assert not missing, f"figures without a caption cell after them: {missing}"


# --------------------------------------------------------------------------
# the API reference


@pytest.mark.slow
@pytest.mark.book
def test_api_page_documents_every_public_name(html):
    from test_api import public_names

    page = (html / "book" / "appendix" / "api.html").read_text(encoding="utf-8")
    ids = set(re.findall(r'id="([^"]+)"', page))
    expected = {(f"module-{name}" if inspect.ismodule(obj) else name) for name, obj in public_names().items()}
    missing = sorted(expected - ids)
    assert not missing, f"public names missing from the API page: {missing}"


@pytest.mark.slow
@pytest.mark.book
def test_glossary_links_into_the_api_page(html):
    page = html / "book" / "appendix" / "notation.html"
    api = set(re.findall(r'id="([^"]+)"', (html / "book" / "appendix" / "api.html").read_text(encoding="utf-8")))
    links = [attrs.get("href", "") for tag, attrs in _tags(page) if tag == "a" and "api.html#" in attrs.get("href", "")]
    assert len(links) >= 20, f"only {len(links)} links from the glossary into the API page"
    broken = [link for link in links if link.split("#", 1)[1] not in api]
    assert not broken, f"glossary links to no entry of the API page: {broken}"
