"""One comparison table of every model in the book, built from the committed benchmark files.

Each benchmark (`python -m genlab.bench NAME`) writes NAME.json; the chapters commit theirs
under book/<chapter>/results/. `comparison` reads any number of such files and lays the
chosen figures side by side: one row per model (with its family), one column per figure,
the real-data floors and the published rows kept apart.

    tables = load_tables("book/05_analysis/results", "book/07_combining/results")
    table = comparison(tables)
    runs = runs_by_row(tables["grid"])  # the per-seed figures behind each row
    print(format_comparison(table))
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from genlab.bench.common import Column
from genlab.bench import stats

# Chapter 6's stabilisers: one change each to the GAN (grid) or the DCGAN (digits).
STABILISERS = ("GAN, hinge", "GAN, spectral norm", "GAN, TTUR", "GAN, R1",
               "DCGAN, hinge", "DCGAN, spectral norm", "DCGAN, TTUR", "DCGAN, R1", "DCGAN, WGAN-GP")
# The family of every model the benchmarks run: the three parents, the three hybrids, and
# the diffusion model of chapter 6's outlook.
FAMILIES = {
    "GAN": ["GAN", "PacGAN2", "PacGAN4", "WGAN-GP", "GAN + DRS", "DCGAN", "PacDCGAN2", "cGAN", *STABILISERS],
    "VAE": ["VAE", "CVAE"],
    "RNN": ["CharRNN", "SequenceRNN", "MDN-RNN"],
    "VAE × GAN": ["VAE-GAN", "AAE", "BiGAN", "ALI", "VAE-GAN, γ = 0.01", "VAE-GAN, γ = 0.1", "VAE-GAN, γ = 10"],
    "GAN × RNN": ["C-RNN-GAN", "RCGAN", "RCGAN, noise per sequence", "TimeGAN", "TimeGAN without supervised loss",
                  "TimeGAN without embedding", "TimeGAN without joint training"],
    "VAE × RNN": ["VRNN", "SequenceVAE", "SequenceVAE, KL annealing", "SequenceVAE, word dropout",
                  "SequenceVAE, annealing + word dropout", "SequenceVAE, free bits"],
    "diffusion": ["DDPM"],
}
FAMILY_OF = {model: family for family, models in FAMILIES.items() for model in models}
# Rows that take a model apart rather than offer one: left out of the comparison by default.
ABLATIONS = ("TimeGAN without supervised loss", "TimeGAN without embedding", "TimeGAN without joint training",
             "VAE-GAN, γ = 0.01", "VAE-GAN, γ = 0.1", "VAE-GAN, γ = 10")


@dataclass(frozen=True)
class Figure:
    """One column of the comparison: `key` of benchmark `benchmark`, and which way is better."""

    benchmark: str
    key: str
    label: str
    better: str  # "higher" or "lower"

    def __post_init__(self):
        if self.better not in ("higher", "lower"):
            raise ValueError(f"better must be 'higher' or 'lower', not {self.better!r}")


# The shared benchmarks of chapter 7's table, in the order of the book's data:
# 2-D mixtures, images, time series, text.
FIGURES = [
    Figure("ring", "modes", "ring modes (of 8)", "higher"),
    Figure("ring", "high_quality", "ring high-quality %", "higher"),
    Figure("grid", "modes", "grid modes (of 25)", "higher"),
    Figure("grid", "high_quality", "grid high-quality %", "higher"),
    Figure("stacked-digits", "modes", "stacked digits modes (of 1000)", "higher"),
    Figure("digits", "frechet", "digits Fréchet", "lower"),
    Figure("digits", "precision", "digits precision", "higher"),
    Figure("digits", "recall", "digits recall", "higher"),
    Figure("sines", "discriminative", "sines discriminative", "lower"),
    Figure("sines", "predictive", "sines predictive", "lower"),
    Figure("names", "bpc", "names bits/char", "lower"),
    Figure("names", "novel", "names novel %", "higher"),
]


def load_tables(*folders: str | Path) -> dict[str, dict]:
    """Every NAME.json summary in `folders`, by benchmark name, rows of the same benchmark merged.

    A benchmark may be split over folders (chapter 5 ran the parents on the ring, chapter 7
    the hybrids); its rows are joined. The same row in two folders is an error unless one
    has more seeds, which is then kept.
    """
    tables: dict[str, dict] = {}
    for folder in map(Path, folders):
        if not folder.is_dir():
            raise FileNotFoundError(f"no results folder {folder}")
        for path in sorted(folder.glob("*.json")):
            summary = json.loads(path.read_text())
            if "rows" not in summary or "columns" not in summary:
                continue  # not a benchmark summary (a sweep of settings, say)
            name = summary["name"]
            if name not in tables:
                tables[name] = {**summary, "rows": list(summary["rows"]), "runs": list(summary.get("runs", [])),
                                "sources": [str(path)]}
                continue
            merged = tables[name]
            merged["sources"].append(str(path))
            quoted = {(p["model"], p["source"]) for p in merged["published"]}
            merged["published"] = merged["published"] + [p for p in summary.get("published", [])
                                                          if (p["model"], p["source"]) not in quoted]
            if summary["error"] != merged["error"]:
                merged["error"] = "mixed"
            rows = {row["row"]: row for row in merged["rows"]}
            def take_runs(row_name: str) -> None:  # the per-seed runs travel with their row
                merged["runs"] = [run for run in merged["runs"] if run["row"] != row_name]
                merged["runs"] += [run for run in summary.get("runs", []) if run["row"] == row_name]

            for row in summary["rows"]:
                old = rows.get(row["row"])
                if old is None:
                    merged["rows"].append(row)
                    take_runs(row["row"])
                elif row["n"] > old["n"]:
                    merged["rows"][merged["rows"].index(old)] = row
                    take_runs(row["row"])
                elif row["n"] == old["n"] and row["kind"] == "model":
                    raise ValueError(f"{name}: row {row['row']!r} is in {merged['sources'][:-1]} and {path} "
                                     "with the same number of seeds; keep one of them")
    return tables


def runs_by_row(table: dict) -> dict[str, list[dict]]:
    """The per-seed runs of one (merged) table, by row, each row's runs in seed order."""
    out: dict[str, list[dict]] = {}
    for run in sorted(table.get("runs", []), key=lambda r: r["seed"]):
        out.setdefault(run["row"], []).append(run)
    return out


def _per_seed(runs: list[dict], key: str) -> list[float]:
    return [float(r[key]) for r in runs if key in r and r[key] is not None and math.isfinite(float(r[key]))]


def _not_shown_worse(values: list[float], best: list[float], better: str) -> bool:
    """Whether the book's test (genlab.bench.stats.compare) leaves a row level with the best one: True when the
    bootstrap interval of the difference of their means contains 0; a row with fewer than 2 seeds cannot be tested."""
    if len(values) < 2 or len(best) < 2:
        return False
    return stats.compare(values, best, higher_is_better=better != "lower").verdict == stats.NOT_SHOWN


def comparison(tables: dict[str, dict], figures: list[Figure] = FIGURES, skip: Iterable[str] = ABLATIONS) -> dict:
    """The comparison table: models (grouped by family), reference rows and published rows.

    Rows named in `skip` (by default the ablations) are left out, with their published rows.

    Returns {"figures": [...], "models": [...], "references": [...], "published": [...]}, each
    row {"row", "family" (models only), "values": {label: {"mean", "error", "n"} or None}}
    and, for models, "best": the labels where the row is the best model, or one that the book's
    test (`genlab.bench.stats.compare` on the per-seed values) does not show worse than the best.
    """
    missing = sorted({f.benchmark for f in figures} - set(tables))
    if missing:
        raise ValueError(f"no table for benchmark(s) {missing}: run `python -m genlab.bench NAME` first")
    models: dict[str, dict] = {}
    references: dict[str, dict] = {}
    published: dict[str, dict] = {}
    skip = set(skip)
    for figure in figures:
        table = tables[figure.benchmark]
        if figure.key not in {c["key"] for c in table["columns"]}:
            raise ValueError(f"benchmark {figure.benchmark!r} has no column {figure.key!r}")
        for row in table["rows"]:
            value = row[figure.key]
            if row["row"] in skip or math.isnan(value["mean"]):
                continue
            target = models if row["kind"] == "model" else references
            name = row["row"] if row["kind"] == "model" else f"{row['row']} ({figure.benchmark})"
            entry = target.setdefault(name, {"row": name, "values": {}})
            if row["kind"] == "model":
                entry["family"] = FAMILY_OF.get(row["row"], "other")
            entry["values"][figure.label] = {"mean": value["mean"], "error": value["error"], "n": value.get("n", row["n"])}
        for paper in table.get("published", []):
            if figure.key in paper["values"] and paper["model"] not in skip:
                mean, error = paper["values"][figure.key]
                name = f"{paper['model']} [{paper['source']}]"
                entry = published.setdefault(name, {"row": name, "values": {}})
                entry["values"][figure.label] = {"mean": mean, "error": math.nan if error is None else error, "n": None}
    order = {family: i for i, family in enumerate([*FAMILIES, "other"])}
    ranked = sorted(models.values(), key=lambda r: order[r["family"]])  # stable: benchmark order within a family
    for figure in figures:
        scored = [r for r in ranked if figure.label in r["values"]]
        if not scored:
            continue
        sign = 1 if figure.better == "lower" else -1
        top = min(scored, key=lambda r: sign * r["values"][figure.label]["mean"])
        seeds = runs_by_row(tables[figure.benchmark])
        best = _per_seed(seeds.get(top["row"], []), figure.key)
        for r in scored:
            if r is top or _not_shown_worse(_per_seed(seeds.get(r["row"], []), figure.key), best, figure.better):
                r.setdefault("best", []).append(figure.label)
    errors = {}
    for figure in figures:
        errors.setdefault(tables[figure.benchmark]["error"], []).append(figure.benchmark)
    return {"figures": [vars(f) for f in figures], "models": ranked,
            "errors": {kind: list(dict.fromkeys(names)) for kind, names in errors.items()},
            "references": list(references.values()), "published": list(published.values())}


def _cell(value: dict | None, column: dict | None) -> str:
    if value is None:
        return ""
    column = Column(**column) if column else Column("", "")
    text = column.fmt.format(value["mean"] * column.scale)
    return text if math.isnan(value["error"]) else f"{text} ± {column.fmt.format(value['error'] * column.scale)}"


def format_comparison(table: dict, tables: dict[str, dict] | None = None, markdown: bool = False) -> str:
    """The comparison as plain text (or a markdown table): best models marked with *.

    `tables` (from `load_tables`) supplies each figure's display format; without it, three decimals.
    """
    columns = {}
    for figure in table["figures"]:
        found = [c for c in (tables or {}).get(figure["benchmark"], {}).get("columns", []) if c["key"] == figure["key"]]
        columns[figure["label"]] = found[0] if found else None
    labels = [f["label"] for f in table["figures"]]
    header = ["model", "family", *labels]
    lines = []
    for group, rows in (("", table["models"]), ("reference", table["references"]), ("published", table["published"])):
        for row in rows:
            cells = [row["row"], row.get("family", group)]
            for label in labels:
                text = _cell(row["values"].get(label), columns[label])
                cells.append(text + (" *" if label in row.get("best", []) else ""))
            lines.append(cells)
    words = {"sd": "standard deviation over seeds", "se": "standard error of the mean over seeds",
             "mixed": "standard deviation or standard error, as each row's page says"}
    note = "± " + "; ".join(f"{words.get(kind, kind)} for {', '.join(names)}" for kind, names in table["errors"].items())
    note += ("; * the best model, and every model the book's test does not show worse than it (the 95 % bootstrap "
             "interval of the difference of means over seeds contains 0)")
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(cells) + " |" for cells in lines]
        return "\n".join(out) + "\n\n" + note
    widths = [max(len(r[i]) for r in [header, *lines]) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in [header, *lines]) + "\n" + note
