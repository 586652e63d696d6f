"""Search spaces and the tuning protocol, declared as data (no search library needed to read them).

Every row of a benchmark trains one *recipe* (`genlab.bench.common.Recipe`): a model factory
and fit's budget. A row that can be tuned also declares a *search space* beside its recipe: a
mapping from a setting's name to the values it may take. A name is either a field of the
recipe (`steps`, `batch_size`, `lr_decay`) or a keyword of the model's factory (`lr`,
`betas`, `hidden`, `gamma`, `r1_weight`, …). `with_params` turns a recipe and a point of its
space into the recipe of that point, so the default recipe stays a row of its own and a tuned
row differs from it only by the values the search chose.

The protocol (the same for every row of a benchmark; Lucic et al., 2018; Melis et al., 2018):

- the same number of trials for every row, each trial one training run on a *tuning seed*
  (1000 + the trial's number), disjoint from the reporting seeds 0–9;
- one objective per benchmark, fixed in advance, measured on data the tables never report;
- intermediate values reported a few times per trial, so that a trial far below the median of
  the earlier ones at the same point can be stopped (pruned) — the same rule for every row;
- the best trial's settings then trained on the reporting seeds, and reported beside the
  default row.

`genlab.bench.tune` runs the searches (with Optuna, an optional dependency); this module only
declares them, so `import genlab` never needs a search library.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch

from genlab.bench.common import Recipe

#: trial t of every search trains on seed TUNING_SEED + t; the tables report seeds 0–9
TUNING_SEED = 1_000


@dataclass(frozen=True)
class LogUniform:
    """A positive number drawn uniformly in log scale between low and high (learning rates, weights)."""

    low: float
    high: float

    def __post_init__(self) -> None:
        if not (0 < self.low < self.high < math.inf):
            raise ValueError(f"LogUniform needs 0 < low < high < inf, got low={self.low}, high={self.high}")


@dataclass(frozen=True)
class Choice:
    """One of a few values (widths, code sizes, pairs of betas, on/off switches).

    Search libraries want plain labels, so each option is known to them by `label(option)`
    (its repr) and mapped back by `decode`.
    """

    options: tuple

    def __init__(self, *options) -> None:
        if not options:
            raise ValueError("Choice needs at least one option")
        labels = [self.label(o) for o in options]
        if len(set(labels)) != len(labels):
            raise ValueError(f"Choice options must differ, got {options}")
        object.__setattr__(self, "options", tuple(options))

    @staticmethod
    def label(option) -> str:
        return repr(option)

    @property
    def labels(self) -> list[str]:
        return [self.label(o) for o in self.options]

    def decode(self, label: str):
        for option in self.options:
            if self.label(option) == label:
                return option
        raise ValueError(f"{label!r} is not one of the options {self.labels}")


Distribution = LogUniform | Choice
Space = Mapping[str, Distribution]

_RECIPE_FIELDS = {f.name for f in dataclasses.fields(Recipe)} - {"build"}


def decode(space: Space, raw: Mapping[str, object]) -> dict[str, object]:
    """The settings a search library's raw values stand for (Choice labels mapped back to options)."""
    unknown = sorted(set(raw) - set(space))
    if unknown:
        raise ValueError(f"settings {unknown} are not in the search space {sorted(space)}")
    return {name: space[name].decode(value) if isinstance(space[name], Choice) else float(value)
            for name, value in raw.items()}


def with_params(recipe: Recipe, params: Mapping[str, object]) -> Recipe:
    """The recipe with `params` applied: recipe fields replaced, every other name passed to the model's factory."""
    fields = {k: v for k, v in params.items() if k in _RECIPE_FIELDS}
    model = {k: v for k, v in params.items() if k not in _RECIPE_FIELDS}
    build = functools.partial(recipe.build, **model) if model else recipe.build
    return dataclasses.replace(recipe, build=build, **fields)


def defaults(recipe: Recipe, space: Space) -> dict[str, str | float]:
    """The raw values of the default recipe, for the settings of `space` that it sets and that the space holds.

    The searches try these first (trial 0), so a tuned row is never worse than its default on
    the tuning objective for want of trying it.
    """
    keywords = _factory_defaults(recipe.build)
    keywords.update({f: getattr(recipe, f) for f in _RECIPE_FIELDS})
    raw: dict[str, str | float] = {}
    for name, dist in space.items():
        if name not in keywords:
            continue
        value = keywords[name]
        if isinstance(dist, Choice) and Choice.label(value) in dist.labels:
            raw[name] = Choice.label(value)
        elif isinstance(dist, LogUniform) and isinstance(value, (int, float)) and dist.low <= value <= dist.high:
            raw[name] = float(value)
    return raw


def _factory_defaults(build) -> dict[str, object]:
    """The settings `build()` uses: the defaults of the factory's signature, under those of the model
    class's constructor, under the arguments the model records it was built with (`model.config`, kept
    by genlab's constructors), under the keywords a functools.partial binds."""
    bound: dict[str, object] = {}
    fn = build
    while isinstance(fn, functools.partial):
        bound = {**fn.keywords, **bound}
        fn = fn.func
    with torch.random.fork_rng(devices=[]):  # building initialises weights: leave the global stream as it was
        model = build()
    values: dict[str, object] = {}
    for f in (fn, type(model).__init__):
        try:
            values.update({name: p.default for name, p in inspect.signature(f).parameters.items()
                           if p.default is not inspect.Parameter.empty})
        except (TypeError, ValueError):  # a builtin without a signature
            pass
    return {**values, **getattr(model, "config", {}).get("arguments", {}), **bound}


class Pruned(Exception):
    """Raised inside an objective when the search asks a trial to stop early."""


Report = Callable[[int, float], bool]
"""report(step, value) -> True when the search wants the trial stopped (the objective then raises Pruned)."""


@dataclass(frozen=True)
class Tuning:
    """How a benchmark's rows are tuned.

    spaces: row -> its search space (declared beside the row's recipe).
    recipes: row -> its default recipe (the search's first trial).
    objective: (row, raw params, seed, device, report) -> (value, info); trains the row with
        those settings on the tuning seed, calls `report(step, value)` a few times during
        training (and raises `Pruned` when it returns True), and returns the objective measured
        on data the tables never report, with `info` ({"updates", …}) to keep beside it.
    runner: (row, raw params) -> a row runner (seed, device) -> {column: value} training the
        tuned settings exactly as the default row is trained.
    description: the objective in words, printed by the search and shown in the book.
    direction: "maximize" or "minimize".
    """

    spaces: Mapping[str, Space]
    recipes: Mapping[str, Recipe]
    objective: Callable[[str, Mapping[str, object], int, torch.device, Report], tuple[float, dict]]
    runner: Callable[[str, Mapping[str, object]], Callable]
    description: str
    direction: str = "maximize"

    def __post_init__(self) -> None:
        if self.direction not in ("maximize", "minimize"):
            raise ValueError(f"direction must be 'maximize' or 'minimize', got {self.direction!r}")


TUNED = ", tuned"


def tuned_name(row: str) -> str:
    """The table's name for a row trained at its tuned settings: 'VAE-GAN' -> 'VAE-GAN, tuned'."""
    return row + TUNED


def space_as_dict(space: Space) -> dict[str, dict]:
    """A search space as plain JSON (for the study's export and the book's protocol table)."""
    out = {}
    for name, dist in space.items():
        if isinstance(dist, LogUniform):
            out[name] = {"kind": "log-uniform", "low": dist.low, "high": dist.high}
        else:
            out[name] = {"kind": "choice", "options": [Choice.label(o) for o in dist.options]}
    return out


def check_rows(tuning: Tuning, rows: Sequence[str]) -> None:
    """Raise ValueError naming the rows of `rows` that declare no search space."""
    unknown = [r for r in rows if r not in tuning.spaces]
    if unknown:
        raise ValueError(f"no search space for row(s) {unknown}; tunable rows: {list(tuning.spaces)}")
