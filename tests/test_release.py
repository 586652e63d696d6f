"""scripts/release.py: one command sets the version everywhere it appears."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

import genlab

ROOT = Path(__file__).resolve().parents[1]


def load_release(root: Path):
    spec = importlib.util.spec_from_file_location("release_under_test", ROOT / "scripts" / "release.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.ROOT, module.VERSION_FILE, module.BOOK = root, root / "genlab" / "_version.py", root / "book"
    return module


@pytest.fixture
def copy(tmp_path) -> Path:
    """The files a release touches, copied: the version file, two notebooks, the config, the changelog."""
    (tmp_path / "genlab").mkdir()
    shutil.copy(ROOT / "genlab" / "_version.py", tmp_path / "genlab")
    for name in ("_config.yml", "CHANGELOG.md"):
        shutil.copy(ROOT / name, tmp_path)
    for rel in ("book/01_background/first_taste.ipynb", "book/appendix/performance.ipynb"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, tmp_path / rel)
    return tmp_path


def first_code(path: Path) -> str:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "".join(next(c for c in cells if c["cell_type"] == "code")["source"])


def test_the_version_has_one_source():
    assert load_release(ROOT).current_version() == genlab.__version__
    import tomllib

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in pyproject["project"] and "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "genlab._version.__version__"}


def test_a_release_sets_the_version_and_every_install_cell(copy, capsys):
    release = load_release(copy)
    before = {p: p.read_text(encoding="utf-8") for p in (copy / "book").rglob("*.ipynb")}
    release.main(["2.3.4"])
    assert release.current_version() == "2.3.4"
    for path, text in before.items():
        cell = first_code(path)
        assert "genlab @ git+https://github.com/genlab-book/genlab@v2.3.4" in cell and cell == release.install_cell("2.3.4")
        # nothing but the install cell changed
        old, new = json.loads(text), json.loads(path.read_text(encoding="utf-8"))
        assert [c for c in old["cells"] if c["source"] != new["cells"][old["cells"].index(c)]["source"]] == [
            next(c for c in old["cells"] if c["cell_type"] == "code")]
        assert old["metadata"] == new["metadata"]
    assert "CHANGELOG.md a '## 2.3.4 (YYYY-MM-DD)' section" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="not of the form X.Y.Z"):
        release.main(["2.3"])
    assert release.current_version() == "2.3.4"
