"""The public API: every public name has a docstring, and the API reference page lists it.

Public: each name in `genlab.__all__`, and in each public submodule's `__all__` or, for a
module without one, each function and class it defines whose name does not start with "_".
The page itself is checked in the built book (tests/test_book.py, tests/e2e); this module
gives the list of names both use and checks the docstrings, which needs no build.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path
from types import ModuleType

import torch

import genlab

ROOT = Path(__file__).resolve().parents[1]
SUBMODULES = ["data", "metrics", "losses", "bench", "bench.search", "bench.tune", "bench.stats", "bench.claims",
              "distributed", "noise", "checkpoint", "imputation", "viz"]
PAGE = ROOT / "book" / "appendix" / "api.md"


def module_names(module: ModuleType) -> list[str]:
    """The public names of `module`: its `__all__`, else the functions and classes it defines."""
    names = getattr(module, "__all__", None)
    if names is not None:
        return list(names)
    return [name for name, obj in vars(module).items()
            if not name.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj))
            and obj.__module__ == module.__name__]


def public_names() -> dict[str, object]:
    """{dotted name as the API page documents it: object} for every public name.

    A name exported by `genlab` itself is documented there (as genlab.GAN, genlab.load, …),
    not again in the submodule it comes from.
    """
    found: dict[str, object] = {}
    top = {id(getattr(genlab, n)) for n in genlab.__all__ if not inspect.ismodule(getattr(genlab, n))}
    for name in genlab.__all__:
        found[f"genlab.{name}"] = getattr(genlab, name)
    for sub in SUBMODULES:
        module = importlib.import_module(f"genlab.{sub}")
        for name in module_names(module):
            obj = getattr(module, name)
            if id(obj) not in top or inspect.ismodule(obj):
                found[f"genlab.{sub}.{name}"] = obj
    return found


def docstring(dotted: str, obj: object) -> str:
    """The object's own docstring; for data, the `#:` comment or string that documents it."""
    if inspect.ismodule(obj) or inspect.isclass(obj) or inspect.isfunction(obj) or inspect.isbuiltin(obj):
        return (obj.__doc__ or "").strip()
    module, _, name = dotted.rpartition(".")
    return attribute_doc(importlib.import_module(module), name)


def attribute_doc(module: ModuleType, name: str) -> str:
    """The documentation autodoc reads for a module-level name: `#:` comment lines right above
    its assignment, and a string right after it."""
    source = inspect.getsource(module)
    lines, body = source.splitlines(), ast.parse(source).body
    for i, node in enumerate(body):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        if not any(isinstance(t, ast.Name) and t.id == name for t in targets):
            continue
        found, above = [], node.lineno - 2
        while above >= 0 and lines[above].strip().startswith("#:"):
            found.insert(0, lines[above].strip()[2:].strip())
            above -= 1
        after = body[i + 1] if i + 1 < len(body) else None
        if isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant) and isinstance(after.value.value, str):
            found.append(after.value.value)
        return " ".join(found).strip()
    return ""


def undocumented() -> list[str]:
    return sorted(dotted for dotted, obj in public_names().items() if not docstring(dotted, obj))


def test_every_public_name_has_a_docstring():
    names = public_names()
    assert len(names) > 120, f"only {len(names)} public names found"
    missing = undocumented()
    assert not missing, f"public names without a docstring: {missing}"


def test_every_imported_model_is_public():
    """A model importable from genlab is in its __all__, and so on the API page."""
    models = importlib.import_module("genlab.models")
    assert set(models.__all__) <= set(genlab.__all__), sorted(set(models.__all__) - set(genlab.__all__))


def test_the_page_documents_every_public_module():
    text = PAGE.read_text(encoding="utf-8")
    for module in ["genlab", "genlab.models", *(f"genlab.{s}" for s in SUBMODULES)]:
        assert f".. automodule:: {module}\n" in text, f"{module} has no section on {PAGE.name}"


def test_the_checks_can_fail(monkeypatch):
    """A public function without a docstring, and a data name without its comment, are caught."""
    def no_docs(x):
        return x

    monkeypatch.setattr(genlab.losses, "no_docs", no_docs, raising=False)
    no_docs.__module__ = "genlab.losses"
    assert "genlab.losses.no_docs" in undocumented()
    assert docstring("genlab.bench.REGISTRY", genlab.bench.REGISTRY)  # documented by its #: comment
    assert not docstring("genlab.losses.GAN_LOSSES", genlab.losses.GAN_LOSSES)  # a constant without one
    assert docstring("genlab.data.X", None) == ""  # no such assignment


if __name__ == "__main__":  # the coverage figure: python tests/test_api.py
    names = public_names()
    print(f"{len(names) - len(undocumented())} of {len(names)} public names documented")


def test_no_module_uses_another_modules_private_names():
    """Layering: a name that starts with "_" stays in its module. An import `from genlab.x import _y` or an
    attribute `genlab.x._y` from another module is refused (dunder names such as __version__ excepted)."""
    found = []
    for path in sorted((ROOT / "genlab").rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("genlab") \
                    and node.module != module:
                found += [f"{module}: from {node.module} import {a.name}" for a in node.names
                          if a.name.startswith("_") and not a.name.startswith("__")]
    assert not found, found


def test_the_checkpoint_module_knows_no_data_class():
    """Values such as a Vocabulary reach a checkpoint's JSON records through `genlab.records`, by a hook the
    class itself declares; the checkpoint code names none of them."""
    text = (ROOT / "genlab" / "checkpoint.py").read_text(encoding="utf-8")
    assert "Vocabulary" not in text and "genlab.data" not in text


def test_models_draw_their_training_noise_through_genlab_noise():
    """The math reads `noise.normal(...)`, `noise.uniform_like(x)`: the data-parallel share of a draw
    (`genlab.distributed.batch_random`) stays out of the model files."""
    found = [path.name for path in sorted((ROOT / "genlab" / "models").glob("*.py"))
             if "batch_random" in path.read_text(encoding="utf-8")]
    assert not found, f"model files that call batch_random directly: {found}"
    import genlab.noise

    with genlab.distributed.stepping(None):  # outside a data-parallel step: the plain torch draw
        g1, g2 = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
        assert torch.equal(genlab.noise.normal(3, 2, generator=g1), torch.randn(3, 2, generator=g2))
        assert torch.equal(genlab.noise.integers(5, 4, low=1, generator=g1), torch.randint(1, 5, (4,), generator=g2))
        x = torch.zeros(2, 3, dtype=torch.float64)
        assert genlab.noise.uniform_like(x).dtype == torch.float64 and genlab.noise.normal_like(x).shape == (2, 3)
