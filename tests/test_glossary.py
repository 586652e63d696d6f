"""The notation page and its glossary (book/appendix/notation.md) agree with the package.

Two directions are checked, both by `glossary_problems`, which reads the page's text:

- every name of genlab the page writes in backticks exists: a dotted name is imported and
  looked up attribute by attribute (an attribute that a model sets on itself in `__init__`
  counts), a call's keyword arguments are parameters of what it calls, an option written
  `name=value` is a parameter of some model or of `fit` and a quoted value is one the
  package spells, and a bare word is a parameter or an attribute of something in genlab;
- every model class that `genlab` and `genlab.models` export, and every option that names a
  technique among those the pages and the benchmark rows pass to the models, has an entry of
  the glossary that names it.

The tests at the end feed the function texts with a name too many or an entry too few, so the
check is seen to fail where it should.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import json
import pkgutil
import re
import textwrap
from dataclasses import fields, is_dataclass
from pathlib import Path

import pytest

import genlab

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "book" / "appendix" / "notation.md"

# Names on the page that are not genlab's: the parameters of PyTorch's recurrent layers.
NOT_GENLAB = {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"}
# Modules whose names a formula on the page may use (`CharRNN.nll(tokens) / math.log(2)`).
OTHER_MODULES = {"math", "torch"}
# The protocol every model follows; they are not models themselves.
PROTOCOL = {"GenerativeModel", "Trainable"}

# Options the pages and the benchmark rows pass to the models, in two kinds. A technique is
# something the book teaches and the glossary must define; a setting is a size, a learning
# rate or a count that needs no entry. An option a page starts to pass must be put in one of
# the two (test_every_option_the_pages_pass_is_classified), so a new technique cannot slip in
# without a glossary entry.
TECHNIQUES = {
    "pack", "spectral_norm", "loss", "gp_weight", "d_steps", "d_lr", "r1_weight", "ema",
    "truncate", "clip_norm", "kl_warmup", "word_dropout", "free_bits", "feature_matching",
    "stochastic_encoder", "components", "lr_decay", "beta", "classes", "recurrent_radius",
}
SETTINGS = {
    "data_dim", "data_shape", "image_shape", "latent_dim", "hidden", "depth", "channels", "layers",
    "embedding_dim", "features", "length", "lr", "betas", "dropout", "cell", "optimizer", "init_scale",
    "likelihood", "min_log_scale", "max_log_scale", "prior", "noise", "gamma", "embedding_steps",
    "supervised_steps", "generator_updates", "max_len", "steps", "batch_size", "seed", "device",
    "progress", "callback", "callback_every", "timesteps", "schedule", "time_dim", "categories",
    "discriminator_lr", "reconstruction", "noise_dim", "output", "bidirectional", "feed_previous",
    "value_range", "data_range", "k", "d_threshold", "supervised_loss", "embedding", "joint_embedding",
    "log_every", "checkpoint", "checkpoint_every", "keep", "resume", "overwrite", "amp",
}
# Options whose every string value a page passes must be named with it (`loss="hinge"`).
VALUED = {"loss"}


# --------------------------------------------------------------------------
# what genlab has


@functools.cache
def _modules() -> list:
    """genlab and every submodule of it but the benchmark harness, which the page does not describe."""
    found = [genlab]
    for info in pkgutil.walk_packages(genlab.__path__, "genlab."):
        if not info.name.startswith("genlab.bench"):
            found.append(importlib.import_module(info.name))
    return found


@functools.cache
def _objects() -> dict[str, list]:
    """Short name -> the classes and functions genlab defines under it."""
    names: dict[str, list] = {}
    for module in _modules():
        for name, obj in vars(module).items():
            if (inspect.isclass(obj) or inspect.isfunction(obj)) and getattr(obj, "__module__", "").startswith("genlab"):
                if not any(obj is other for other in names.get(name, [])):
                    names.setdefault(name, []).append(obj)
    return names


def _classes() -> list[type]:
    return [obj for objs in _objects().values() for obj in objs if inspect.isclass(obj)]


@functools.cache
def _instance_attributes(cls: type) -> frozenset[str]:
    """What `cls` (or a genlab base of it) sets on `self`, registers as a buffer or parameter,
    declares as a field, or annotates."""
    found: set[str] = set()
    for klass in cls.__mro__:
        if not klass.__module__.startswith("genlab"):
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) \
                    and isinstance(node.value, ast.Name) and node.value.id == "self":
                found.add(node.attr)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in ("register_buffer", "register_parameter") and node.args \
                    and isinstance(node.args[0], ast.Constant):
                found.add(node.args[0].value)
        found |= set(getattr(klass, "__annotations__", {}))
        found |= set(getattr(klass, "_fields", ()))
        if is_dataclass(klass):
            found |= {f.name for f in fields(klass)}
    return frozenset(found)


def _has(obj, name: str) -> bool:
    return hasattr(obj, name) or (inspect.isclass(obj) and name in _instance_attributes(obj))


def _parameters(fn) -> dict[str, inspect.Parameter]:
    """The parameters `fn` accepts. A class's are its __init__'s; where they end in **kwargs
    (a factory such as `GAN.mlp`, or a subclass such as MaskedVAE), those of the constructors
    of the class and its genlab bases, to which the keywords are passed on, count as well."""
    cls = fn if inspect.isclass(fn) else fn.__self__ if inspect.ismethod(fn) and inspect.isclass(fn.__self__) else None
    try:
        params = dict(inspect.signature(fn.__init__ if inspect.isclass(fn) else fn).parameters)
    except (TypeError, ValueError):
        return {}
    if cls is not None and any(p.kind is p.VAR_KEYWORD for p in params.values()):
        for klass in cls.__mro__:
            if klass.__module__.startswith("genlab") and "__init__" in vars(klass):
                params = {**inspect.signature(klass.__init__).parameters, **params}
    params.pop("self", None)
    return params


@functools.cache
def _callables() -> list:
    """Every function of genlab, and every class with its methods (bound to the class for factories)."""
    found = []
    for objs in _objects().values():
        for obj in objs:
            found.append(obj)
            if inspect.isclass(obj):
                found += [getattr(obj, name) for name, member in vars(obj).items()
                          if inspect.isfunction(member) or isinstance(member, (classmethod, staticmethod))]
    return found


@functools.cache
def _keywords() -> frozenset[str]:
    """Every parameter name of every genlab callable."""
    return frozenset(name for fn in _callables() for name in _parameters(fn))


@functools.cache
def _model_options() -> frozenset[str]:
    """The keyword parameters of the models' constructors and factories, and of `fit`."""
    found = set(_parameters(genlab.fit))
    for name in genlab.models.__all__:
        cls = getattr(genlab.models, name)
        found |= set(_parameters(cls))
        for member, value in vars(cls).items():
            if isinstance(value, classmethod):
                found |= set(_parameters(getattr(cls, member)))
    return frozenset(n for n in found if n not in ("args", "kwargs", "generator", "encoder", "decoder",
                                                  "discriminator", "denoiser", "vocab", "model", "data"))


@functools.cache
def _bare_words() -> frozenset[str]:
    """Words that name something of genlab: parameters, attributes, classes, functions, modules."""
    words = set(_keywords()) | set(_objects())
    for cls in _classes():
        words |= {n for n in dir(cls) if not n.startswith("_")} | _instance_attributes(cls)
    words |= {m.__name__.rpartition(".")[2] for m in _modules()}
    return frozenset(words)


@functools.cache
def _source_text() -> str:
    return "\n".join(Path(m.__file__).read_text(encoding="utf-8") for m in _modules())


def _quoted_in_package(value: str) -> bool:
    return f'"{value}"' in _source_text() or f"'{value}'" in _source_text()


# --------------------------------------------------------------------------
# reading the page


ROLE = re.compile(r"\{([\w:-]+)\}`([^`]+)`")
CODE = re.compile(r"(?<![`}])`([^`]+)`(?!`)")


def spans(text: str) -> list[str]:
    """The code spans of the text that may name genlab: `x`, and the targets of {py:...} roles."""
    found = []
    for role, content in ROLE.findall(text):
        if role.startswith("py:"):
            title, _, target = content.partition("<")
            found.append(target.rstrip(">").strip() if target else title.strip())
    found += CODE.findall(ROLE.sub("", text))
    return found


def _dotted(node) -> list[str] | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.insert(0, node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return [node.id, *parts]
    return None


def _resolve(parts: list[str]) -> tuple[list, str | None]:
    """The objects a dotted name may stand for, or an explanation of why it names nothing."""
    root, rest = parts[0], parts[1:]
    if root == "genlab":
        objs, i = [genlab], 0
        while i < len(rest):
            try:
                objs = [importlib.import_module(".".join(["genlab", *rest[: i + 1]]))]
            except ImportError:
                break
            i += 1
        rest = rest[i:]
    elif root in _objects():
        objs = list(_objects()[root])
    else:
        return [], f"{root!r} is not a name of genlab"
    for name in rest:
        found = [getattr(o, name) if hasattr(o, name) else None for o in objs if _has(o, name)]
        if not found:
            return [], f"{'.'.join(parts)}: {'.'.join(parts[:parts.index(name)])} has no {name!r}"
        objs = [f for f in found if f is not None] or [None]
    return objs, None


def span_problems(span: str) -> list[str]:
    """What in one code span names something genlab does not have."""
    span = span.strip()
    option = re.fullmatch(r"(\w+)=(.+)", span)
    if option:  # an option and its value: loss="hinge"
        name, value = option.groups()
        problems = [] if name in _model_options() | _keywords() else [f"`{span}`: genlab has no option {name!r}"]
        literal = re.fullmatch(r"[\"'](.*)[\"']", value)
        if literal and not _quoted_in_package(literal.group(1)):
            problems.append(f"`{span}`: genlab never spells the value {literal.group(1)!r}")
        return problems
    try:
        tree = ast.parse(span, mode="eval").body
    except SyntaxError:
        return []  # not code: <s>, [hidden:2 * hidden]
    if isinstance(tree, ast.Constant):
        value = tree.value
        if isinstance(value, str) and not _quoted_in_package(value):
            return [f"`{span}`: genlab never spells the value {value!r}"]
        return []
    if isinstance(tree, ast.Name):
        if tree.id in NOT_GENLAB or tree.id in _bare_words():
            return []
        return [f"`{span}`: nothing in genlab is called {tree.id!r}"]
    problems = []
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    inside = {id(n.func) for n in calls}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            parts = _dotted(node.func)
            if parts is None or parts[0] in OTHER_MODULES:
                continue
            if len(parts) == 1 and parts[0] not in _objects():
                # an unqualified method, as in `sample(n, condition=labels)`: some class has it
                owners = [getattr(c, parts[0]) for c in _classes() if callable(getattr(c, parts[0], None))]
                if not owners:
                    problems.append(f"`{span}`: no genlab class has a method {parts[0]!r}")
                    continue
            else:
                owners, why = _resolve(parts)
                if why:
                    problems.append(f"`{span}`: {why}")
                    continue
            accepted = set()
            for fn in owners:
                params = _parameters(fn) if fn is not None else {}
                accepted |= set(params)
            for keyword in node.keywords:
                if keyword.arg is not None and keyword.arg not in accepted:
                    problems.append(f"`{span}`: {'.'.join(parts)} takes no argument {keyword.arg!r}")
        elif isinstance(node, ast.Attribute) and id(node) not in inside:
            parts = _dotted(node)
            if parts is None or parts[0] in OTHER_MODULES:
                continue
            if not any(isinstance(p, ast.Attribute) and p.value is node for p in ast.walk(tree)):
                _, why = _resolve(parts)
                if why:
                    problems.append(f"`{span}`: {why}")
    return problems


def glossary_entries(text: str) -> dict[str, str]:
    """The entries of the page's Glossary section: term -> definition (MyST definition lists)."""
    _, found, section = text.partition("\n## Glossary\n")
    if not found:
        return {}
    section = re.split(r"\n## ", section)[0]
    entries: dict[str, str] = {}
    for block in re.split(r"\n\s*\n", section.strip()):
        lines = block.splitlines()
        if len(lines) >= 2 and lines[1].startswith(": "):
            entries[lines[0].strip()] = "\n".join(line.strip() for line in lines[1:])[2:]
    return entries


def _names_in(entry: str) -> tuple[set[str], set[str]]:
    """The genlab objects' qualified names and the options (with `loss="…"` values) an entry names."""
    objects, options = set(), set()
    for span in spans(entry):
        span = span.strip()
        option = re.fullmatch(r"(\w+)=(.+)", span)
        if option:
            options.add(option.group(1))
            options.add(f"{option.group(1)}={option.group(2)}")
            continue
        try:
            tree = ast.parse(span, mode="eval").body
        except SyntaxError:
            continue
        if isinstance(tree, ast.Name):
            options.add(tree.id)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                for keyword in node.keywords:
                    if keyword.arg:
                        options.add(keyword.arg)
                        if isinstance(keyword.value, ast.Constant) and isinstance(keyword.value.value, str):
                            options.add(f"{keyword.arg}={json.dumps(keyword.value.value)}")
            parts = _dotted(node) if isinstance(node, (ast.Attribute, ast.Name)) else None
            if parts:
                for i in range(1, len(parts) + 1):
                    objs, why = _resolve(parts[:i])
                    if not why:
                        objects |= {f"{o.__module__}.{o.__qualname__}" for o in objs if inspect.isclass(o)}
    return objects, options


def glossary_problems(text: str, techniques=None, valued=None) -> list[str]:
    """Everything wrong between the page's text and the package; [] when they agree.

    techniques: the options that need an entry (default: those of TECHNIQUES);
    valued: {option: values that need an entry each} (default: what the pages pass to `loss`).
    """
    techniques = TECHNIQUES if techniques is None else techniques
    valued = pages_values() if valued is None else valued
    problems = [p for span in spans(text) for p in span_problems(span)]
    entries = glossary_entries(text)
    if not entries:
        return problems + ["the page has no Glossary section with entries"]
    named_objects, named_options = set(), set()
    for body in entries.values():
        objects, options = _names_in(body)
        named_objects |= objects
        named_options |= options
    for name in sorted(set(genlab.models.__all__) - PROTOCOL):
        cls = getattr(genlab.models, name)
        if f"{cls.__module__}.{cls.__qualname__}" not in named_objects:
            problems.append(f"no glossary entry names the model {name}")
    for option in sorted(techniques):
        if option not in named_options:
            problems.append(f"no glossary entry names the option `{option}`")
    for option, values in sorted(valued.items()):
        for value in sorted(values):
            if f"{option}={json.dumps(value)}" not in named_options:
                problems.append(f"no glossary entry names `{option}={json.dumps(value)}`")
    return problems


# --------------------------------------------------------------------------
# what the pages pass


def _page_sources() -> list[tuple[str, str]]:
    """The code of every notebook of the book and of every benchmark module (whose rows the pages show)."""
    sources = []
    for path in sorted((ROOT / "book").rglob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        code = "\n".join(line for line in code.splitlines() if not line.lstrip().startswith(("%", "!")))
        sources.append((str(path.relative_to(ROOT)), code))
    for path in sorted((ROOT / "genlab" / "bench").glob("*.py")):
        sources.append((str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")))
    return sources


@functools.cache
def pages_options() -> dict[str, set[str]]:
    """Option -> where it is passed: every keyword argument of any call in the pages' code and the
    benchmark modules that is an option of a model or of `fit`."""
    options = _model_options()
    found: dict[str, set[str]] = {}
    for where, code in _page_sources():
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.Call):
                for keyword in node.keywords:
                    if keyword.arg in options:
                        found.setdefault(keyword.arg, set()).add(where)
    return found


@functools.cache
def pages_values() -> dict[str, frozenset[str]]:
    """Option of VALUED -> the string values the pages' code and the benchmark rows pass it."""
    found: dict[str, set[str]] = {}
    for _, code in _page_sources():
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.Call):
                for keyword in node.keywords:
                    if keyword.arg in VALUED and isinstance(keyword.value, ast.Constant) \
                            and isinstance(keyword.value.value, str):
                        found.setdefault(keyword.arg, set()).add(keyword.value.value)
    return {k: frozenset(v) for k, v in found.items()}


# --------------------------------------------------------------------------
# the tests


def test_the_page_and_the_package_agree():
    problems = glossary_problems(PAGE.read_text(encoding="utf-8"))
    assert not problems, "\n".join(problems)


def test_every_option_the_pages_pass_is_classified():
    unclassified = {k: sorted(v) for k, v in pages_options().items() if k not in TECHNIQUES | SETTINGS}
    assert not unclassified, f"options passed by the pages that are neither a technique nor a setting: {unclassified}"


def test_the_lists_of_options_name_real_options():
    options = _model_options()
    assert not (TECHNIQUES | SETTINGS | VALUED) - options, sorted((TECHNIQUES | SETTINGS | VALUED) - options)
    assert not TECHNIQUES & SETTINGS
    # the options the issue named are among those the pages use
    used = set(pages_options())
    assert {"spectral_norm", "r1_weight", "d_lr", "pack", "truncate", "loss"} <= used
    assert "hinge" in pages_values()["loss"]


# The checks fail where they should.

SMALL_PAGE = """# Notation and glossary

| symbol | meaning | in genlab |
|---|---|---|
| $m$ | the packing degree | `pack` of `GAN.mlp` |

## Glossary

Packing
: Judging $m$ samples at once (`pack`; {py:obj}`GAN.rejection_sample <genlab.GAN.rejection_sample>`).

Models
: `genlab.GAN`, `genlab.VAE`.
"""


def test_a_name_genlab_lacks_is_caught():
    assert glossary_problems(SMALL_PAGE, techniques={"pack"}, valued={}) == [
        f"no glossary entry names the model {name}" for name in sorted(set(genlab.models.__all__) - PROTOCOL - {"GAN", "VAE"})]
    bad = {
        "`GAN.no_such_method`": "GAN has no 'no_such_method'",
        "`genlab.NoSuchModel`": "genlab has no 'NoSuchModel'",
        "`fit(..., clip_norm=...)`": "fit takes no argument 'clip_norm'",
        "`GAN.mlp(spectral_norms=True)`": "GAN.mlp takes no argument 'spectral_norms'",
        "`spectral_norms`": "nothing in genlab is called 'spectral_norms'",
        "`spectral_norms=True`": "genlab has no option 'spectral_norms'",
        '`loss="hinges"`': "genlab never spells the value 'hinges'",
        "`NoSuchClass.method`": "'NoSuchClass' is not a name of genlab",
        "{py:obj}`x <genlab.losses.no_such_loss>`": "genlab.losses has no 'no_such_loss'",
    }
    for span, message in bad.items():
        text = SMALL_PAGE.replace("(`pack`;", f"(`pack`; {span};")
        problems = glossary_problems(text, techniques={"pack"}, valued={})
        assert any(message in p for p in problems), (span, problems)


def _without_entries_naming(text: str, name: str) -> str:
    """The page with every glossary entry that names `name` (a model or an option) left out."""
    head = text.partition("\n## Glossary\n")[0]
    kept = []
    for term, body in glossary_entries(text).items():
        objects, options = _names_in(body)
        if not ({o.rpartition(".")[2] for o in objects} | options) & {name}:
            kept.append(f"{term}\n: {body}")
    return head + "\n## Glossary\n\n" + "\n\n".join(kept) + "\n"


def test_a_missing_entry_is_caught():
    text = PAGE.read_text(encoding="utf-8")
    assert len(glossary_entries(text)) > 50
    assert glossary_problems(_without_entries_naming(text, "Nothing")) == []  # rebuilding the page changes nothing
    for name, expected in (("DDPM", "no glossary entry names the model DDPM"),
                           ("spectral_norm", "no glossary entry names the option `spectral_norm`"),
                           ("r1_weight", "no glossary entry names the option `r1_weight`"),
                           ('loss="hinge"', 'no glossary entry names `loss="hinge"`')):
        shorter = _without_entries_naming(text, name)
        assert len(glossary_entries(shorter)) < len(glossary_entries(text))
        assert expected in glossary_problems(shorter), name


def test_a_page_without_a_glossary_is_caught():
    assert glossary_problems("# Notation\n\n`genlab.GAN`\n", techniques=set(), valued={}) == [
        "the page has no Glossary section with entries"]


@pytest.mark.parametrize("span", ["<s>", "(h, c)", "x[..., 0]", "[hidden:2 * hidden]", "weight_ih_l0",
                                  "CharRNN.nll(tokens) / math.log(2)", "sample(n, condition=labels)"])
def test_text_that_is_not_a_genlab_name_passes(span):
    assert span_problems(span) == []
