"""The Colab path, simulated: genlab built as a wheel and an sdist, installed by the notebooks' own
install cell into a fresh environment that has torch and Jupyter but not genlab.

Colab gives a notebook a Python with torch and a Jupyter kernel and nothing of this book; the
notebook's first code cell must then install genlab and every dependency it declares. Here:

1. genlab's wheel and sdist are built from a copy of the package (`setuptools.build_meta`, the
   backend pyproject.toml names), both must carry the package data, pass `twine check` and
   carry the metadata the package index shows (version, links, classifiers, the README);
2. in one fresh virtual environment with only torch and the wheel, `import genlab` and a short
   `fit` must work — nothing beyond the declared dependencies is needed;
3. in another with only torch, ipykernel and nbclient, one notebook of every chapter runs from
   top to bottom, unchanged, with GENLAB_SOURCE pointing the install cell at the built wheel;
   afterwards genlab must be installed in that environment, from the wheel.

It needs the package index (pip downloads torch and genlab's dependencies, from the local cache
when it can). Run by `make test-colab`, part of `make test`.
"""

from __future__ import annotations

import email
import json
import os
import shutil
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from pathlib import Path

import pytest
import torch
import yaml

pytestmark = pytest.mark.slow  # builds a wheel and fresh environments, and runs notebooks in them

ROOT = Path(__file__).resolve().parents[2]
BOOK = ROOT / "book"
# One notebook of every chapter that has notebooks (chapter 8 has none), the quickest of each, and the appendix.
NOTEBOOKS = [
    "01_background/first_taste.ipynb",
    "02_concepts/rnn.ipynb",
    "03_math/rnn_math.ipynb",
    "04_code/name_generator.ipynb",
    "05_analysis/gan_stability.ipynb",
    "06_future/efficiency.ipynb",
    "07_combining/applications.ipynb",
    "appendix/performance.ipynb",
]
CONFIG_URL = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["repository"]["url"].rstrip("/")
TORCH = f"torch=={torch.__version__.split('+')[0]}"  # the same release as the test's own, CPU build here


def run(*args: str | Path, cwd: Path | None = None, env: dict | None = None, timeout: int = 900) -> str:
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(map(str, args))} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def fresh_env(path: Path, *packages: str) -> Path:
    """A new virtual environment at `path` with `packages` installed; returns its python."""
    run(sys.executable, "-m", "venv", path)
    python = path / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", *packages, timeout=1800)
    return python


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> dict[str, Path]:
    """genlab's wheel and sdist, built from a clean copy of what the package is made of."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "genlab", src / "genlab", ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("dist")
    build = textwrap.dedent(f"""
        import setuptools.build_meta as backend
        wheel, sdist = backend.build_wheel({str(out)!r}), backend.build_sdist({str(out)!r})
        print("BUILT", wheel, sdist)
    """)
    built = [line for line in run(sys.executable, "-c", build, cwd=src).splitlines() if line.startswith("BUILT ")]
    wheel, sdist = built[-1].split()[1:]
    return {"wheel": out / wheel, "sdist": out / sdist}


def test_wheel_and_sdist_carry_the_package_and_its_data(dist):
    wheel_names = zipfile.ZipFile(dist["wheel"]).namelist()
    sdist_names = tarfile.open(dist["sdist"]).getnames()
    data = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "genlab" / "data" / "files").glob("*.csv"))
    modules = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "genlab").rglob("*.py"))
    assert data, "no data files found in genlab/data/files"
    for name in data + modules:
        assert name in wheel_names, f"{name} missing from the wheel"
        assert any(n.endswith("/" + name) for n in sdist_names), f"{name} missing from the sdist"
    assert not any("tests/" in n or n.startswith("book/") for n in wheel_names)


def test_twine_check_passes_and_the_metadata_is_complete(dist):
    """What the package index would show: a valid description, the links, the classifiers, the version."""
    out = run(sys.executable, "-m", "twine", "check", "--strict", dist["wheel"], dist["sdist"])
    assert out.count("PASSED") == 2, out
    with zipfile.ZipFile(dist["wheel"]) as wheel:
        name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = email.message_from_string(wheel.read(name).decode("utf-8"))
    import genlab

    assert metadata["Version"] == genlab.__version__
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert metadata.get_payload().strip() == (ROOT / "README.md").read_text(encoding="utf-8").strip()
    urls = dict(u.split(", ", 1) for u in metadata.get_all("Project-URL"))
    assert set(urls) >= {"Homepage", "Documentation", "Source", "Changelog"}, urls
    assert urls["Source"] == CONFIG_URL
    classifiers = metadata.get_all("Classifier")
    python = metadata["Requires-Python"].removeprefix(">=")
    assert f"Programming Language :: Python :: {python}" in classifiers, (python, classifiers)
    assert any(c.startswith("Topic ::") for c in classifiers) and any(c.startswith("Intended Audience ::") for c in classifiers)


def test_import_needs_only_the_declared_dependencies(dist, tmp_path):
    python = fresh_env(tmp_path / "env", TORCH, str(dist["wheel"]))
    check = textwrap.dedent("""
        import torch, genlab
        from genlab import bench, viz  # the lazily imported parts too
        model = genlab.VAE.mlp(hidden=8, depth=1)
        history = genlab.fit(model, genlab.data.ring().sample(256, seed=0), steps=3, batch_size=64, progress=False)
        print(genlab.__file__, len(history["loss"]) if "loss" in history else sorted(history))
    """)
    out = run(python, "-c", check, cwd=tmp_path)
    assert str(tmp_path / "env") in out, f"genlab was not imported from the fresh environment: {out}"


def test_one_notebook_per_chapter_runs_through_its_install_cell(dist, tmp_path):
    python = fresh_env(tmp_path / "colab", TORCH, "ipykernel", "nbclient", "nbformat")
    show = subprocess.run([python, "-m", "pip", "show", "genlab"], capture_output=True, text=True)
    assert show.returncode != 0, "genlab must not be installed before the notebooks run"
    runner = textwrap.dedent("""
        import sys, nbformat
        from nbclient import NotebookClient
        path = sys.argv[1]
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": sys.argv[2]}}).execute()
        print("ran", path)
    """)
    env = {**os.environ, "GENLAB_SOURCE": str(dist["wheel"]), "OMP_NUM_THREADS": "1",
           "PATH": f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("PYTHONPATH", None)  # nothing of the repository on the path: only what the cell installs
    # the kernel must be the fresh environment's own python
    run(python, "-m", "ipykernel", "install", "--prefix", tmp_path / "colab", "--name", "python3", env=env)
    env["JUPYTER_PATH"] = str(tmp_path / "colab" / "share" / "jupyter")
    for name in NOTEBOOKS:
        notebook = BOOK / name
        out = run(python, "-c", runner, notebook, notebook.parent, env=env, timeout=1800)
        assert f"ran {notebook}" in out
    info = run(python, "-m", "pip", "show", "-f", "genlab")
    assert "Version: " in info and str(tmp_path / "colab") in info
    installed = json.loads(run(python, "-m", "pip", "list", "--format", "json"))
    assert {p["name"].lower() for p in installed} >= {"genlab", "numpy", "matplotlib", "scikit-learn", "names"}
