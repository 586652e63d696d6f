"""Benchmarks that reproduce the reference tables: `python -m genlab.bench NAME`.

Each benchmark lives in its own module as a `BENCHMARK` object (see `genlab.bench.common`);
modules are imported only when asked for, so listing benchmarks stays cheap.
"""

from __future__ import annotations

import importlib

from genlab.bench.common import Benchmark, Column, Published, Recipe, format_table, load, run, save

#: The benchmarks by command-line name: name -> (module, attribute holding its `Benchmark`).
REGISTRY = {
    "ring": ("genlab.bench.toy2d", "RING"),
    "grid": ("genlab.bench.toy2d", "GRID"),
    "stacked-digits": ("genlab.bench.stacked", "BENCHMARK"),
    "digits": ("genlab.bench.digits", "BENCHMARK"),
    "digit-rows": ("genlab.bench.digit_rows", "BENCHMARK"),
    "fashion": ("genlab.bench.fashion", "BENCHMARK"),
    "sines": ("genlab.bench.sines", "BENCHMARK"),
    "co2": ("genlab.bench.co2", "BENCHMARK"),
    "names": ("genlab.bench.names", "BENCHMARK"),
}


def get(name: str) -> Benchmark:
    """The benchmark registered under `name`."""
    if name not in REGISTRY:
        raise ValueError(f"unknown benchmark {name!r}; choose from {sorted(REGISTRY)}")
    module, attr = REGISTRY[name]
    return getattr(importlib.import_module(module), attr)


__all__ = ["REGISTRY", "Benchmark", "Column", "Published", "Recipe", "format_table", "get", "load", "run", "save"]
