"""The conda environment and the pip extras name the same packages with the same bounds."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"pytorch": "torch"}  # conda-forge's name -> PyPI's


def requirement(text: str) -> tuple[str, str]:
    """'numpy>=1.24  # note' -> ('numpy', '>=1.24'), names normalised as pip does."""
    match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*(\[[^\]]*\])?\s*([<>=!~].*?)?\s*(#.*)?", text)
    assert match, f"cannot read the requirement {text!r}"
    name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
    return CONDA_NAMES.get(name, name), (match.group(3) or "").replace(" ", "")


def pip_set() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    found = {}
    for text in [*project["dependencies"], *project["optional-dependencies"]["book"], *project["optional-dependencies"]["test"]]:
        name, spec = requirement(text)
        assert found.get(name, spec) == spec, f"{name} has two bounds in pyproject.toml: {found[name]} and {spec}"
        found[name] = spec
    return found


def conda_set() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    found = {}
    for entry in env["dependencies"]:
        texts = entry["pip"] if isinstance(entry, dict) else [entry]
        for text in texts:
            if text.startswith("-e") or text.split("=")[0] in ("python", "pip"):
                continue
            name, spec = requirement(text)
            found[name] = spec
    return found


def test_environment_yml_matches_the_pip_extras():
    pip, conda = pip_set(), conda_set()
    assert sorted(pip) == sorted(conda), (f"only in pyproject.toml: {sorted(set(pip) - set(conda))}; "
                                          f"only in environment.yml: {sorted(set(conda) - set(pip))}")
    differ = {name: (pip[name], conda[name]) for name in pip if pip[name] != conda[name]}
    assert not differ, f"bounds differ (pyproject.toml, environment.yml): {differ}"


def test_requirements_are_read_as_pip_reads_them():
    assert requirement("torch>=2.4") == ("torch", ">=2.4")
    assert requirement("pytorch>=2.4") == ("torch", ">=2.4")
    assert requirement("jupyter_book >=1.0,<2  # the book") == ("jupyter-book", ">=1.0,<2")
    assert requirement("names") == ("names", "")
