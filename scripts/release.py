"""Release steps that touch several files: `python scripts/release.py X.Y.Z`, then `--build`.

`python scripts/release.py X.Y.Z` writes the version X.Y.Z into genlab/_version.py (the one
place it is kept: the package metadata and `genlab.__version__` read it) and rewrites the
first code cell of every notebook under book/ to install that release, `genlab @
git+<repository>@vX.Y.Z`, the repository being _config.yml's. A reader on Colab then gets the
package that made the outputs on the page, not whatever the main branch holds that day.

`python scripts/release.py --build` builds the wheel and the sdist into dist/ and runs
`twine check` on them. The README's "Make a release" lists the steps in order.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
VERSION_FILE = ROOT / "genlab" / "_version.py"
BOOK = ROOT / "book"

# The notebooks' first code cell. GENLAB_SOURCE (a wheel's path, a fork, another tag) replaces the
# release it installs; pip receives it as one argument, never through a shell, so no value of
# it can run a command.
INSTALL_CELL = '''try:
    import genlab
except ImportError:  # on Colab: install the book's own release (GENLAB_SOURCE may name another source, e.g. a wheel)
    import os, subprocess, sys
    GENLAB_SOURCE = os.environ.get("GENLAB_SOURCE", "genlab @ git+{url}@v{version}")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", GENLAB_SOURCE], check=True)
    import genlab'''

RELEASE = re.compile(r"^\d+\.\d+\.\d+$")


def repository_url() -> str:
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    return config["repository"]["url"].rstrip("/")


def current_version() -> str:
    match = re.search(r'^__version__ = "([^"]+)"$', VERSION_FILE.read_text(encoding="utf-8"), re.M)
    if not match:
        raise SystemExit(f"no __version__ = \"X.Y.Z\" line in {VERSION_FILE}")
    return match.group(1)


def install_cell(version: str | None = None) -> str:
    """The install cell for `version` (default: the package's)."""
    return INSTALL_CELL.format(url=repository_url(), version=version or current_version())


def notebooks() -> list[Path]:
    return sorted(p for p in BOOK.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts and "_build" not in p.parts)


def first_code_cell(notebook: dict) -> dict | None:
    return next((c for c in notebook.get("cells", []) if c.get("cell_type") == "code"), None)


def set_install_cells(version: str) -> list[Path]:
    """Make every notebook's first code cell the install cell of `version`; returns the notebooks changed."""
    changed = []
    source = install_cell(version)
    lines = source.splitlines(keepends=True)
    for path in notebooks():
        notebook = json.loads(path.read_text(encoding="utf-8"))
        cell = first_code_cell(notebook)
        if cell is None or "".join(cell["source"]) == source:
            continue
        if "import genlab" not in "".join(cell["source"]):
            raise SystemExit(f"{path}: its first code cell is not the install cell; fix it by hand")
        cell["source"] = lines
        path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        changed.append(path)
    return changed


def set_version(version: str) -> None:
    if not RELEASE.match(version):
        raise SystemExit(f"version {version!r} is not of the form X.Y.Z")
    text = VERSION_FILE.read_text(encoding="utf-8")
    VERSION_FILE.write_text(re.sub(r'^__version__ = "[^"]+"$', f'__version__ = "{version}"', text, flags=re.M),
                            encoding="utf-8")
    changed = set_install_cells(version)
    print(f"genlab/_version.py: {version}; install cells updated in {len(changed)} notebooks")
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    if f"## {version} " not in changelog and f"## {version}\n" not in changelog:
        print(f"now give CHANGELOG.md a '## {version} (YYYY-MM-DD)' section for what changed", file=sys.stderr)


def build(out: Path) -> None:
    """The wheel and the sdist into `out`, then `twine check` on both."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    code = ("import setuptools.build_meta as b, sys; "
            "print(b.build_wheel(sys.argv[1])); print(b.build_sdist(sys.argv[1]))")
    subprocess.run([sys.executable, "-c", code, str(out)], cwd=ROOT, check=True)
    subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *map(str, sorted(out.iterdir()))], check=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python scripts/release.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("version", nargs="?", help="the new version, X.Y.Z")
    parser.add_argument("--build", action="store_true", help="build dist/ and run twine check on it")
    args = parser.parse_args(argv)
    if not args.version and not args.build:
        parser.error("name a version X.Y.Z, or --build")
    if args.version:
        set_version(args.version)
    if args.build:
        build(ROOT / "dist")


if __name__ == "__main__":
    main()
