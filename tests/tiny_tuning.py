"""A benchmark that trains nothing, for the tuning tests: its objective is a known function of the settings."""

from __future__ import annotations

import functools
import math
import time

from genlab.bench.common import Benchmark, Column, Recipe
from genlab.bench.search import Choice, LogUniform, Pruned, Tuning, decode, with_params


def _build(lr: float = 1e-3, width: int = 8, flavour: str = "plain"):
    return {"lr": lr, "width": width, "flavour": flavour}


RECIPES = {"A": Recipe(functools.partial(_build, lr=1e-3, width=8), steps=40), "B": Recipe(_build, steps=40)}
SPACES = {"A": {"lr": LogUniform(1e-5, 1e-1), "width": Choice(4, 8, 16)},
          "B": {"lr": LogUniform(1e-5, 1e-1), "flavour": Choice("plain", "fancy")}}


def quality(settings: dict) -> float:
    """Best at lr = 1e-2 and the widest width / the fancy flavour."""
    bonus = {4: 0.0, 8: 0.1, 16: 0.2}.get(settings.get("width"), 0.0) + (0.2 if settings.get("flavour") == "fancy" else 0)
    return -(math.log10(settings["lr"]) + 2) ** 2 + bonus


def objective(row, raw, seed, device, report):
    recipe = with_params(RECIPES[row], decode(SPACES[row], raw))
    settings = recipe.build()
    value = quality(settings)
    for k in range(1, 4):  # intermediate values approach the final one
        time.sleep(0.01)
        if report(k * recipe.steps // 4, value - (4 - k)):
            raise Pruned(f"stopped at report {k}")
    report(recipe.steps, value)
    return value, {"updates": recipe.steps}


def runner(row, raw):
    def run(seed, device):
        recipe = with_params(RECIPES[row], decode(SPACES[row], raw) if raw else {})
        return {"quality": quality(recipe.build()) + 0.001 * seed, "updates": recipe.steps}
    return run


BENCHMARK = Benchmark(
    name="tiny", title="tiny", columns=[Column("quality", "quality")],
    models={row: runner(row, None) for row in RECIPES}, default_models=list(RECIPES),
    tuning=Tuning(spaces=SPACES, recipes=RECIPES, objective=objective, runner=runner, description="quality"),
)
