"""The benchmark harness: run models over seeds, summarise, print beside published rows, save.

A benchmark is declared once, as data (`Benchmark`): the columns it reports, the models it
can train (each a function of the seed and the device that trains one model and scores its
samples), reference rows computed the same way (true data, real-vs-real floors), and the
published numbers it is compared with. `run` does the rest, so every table in the book is
produced — and can be reproduced — by one command: `python -m genlab.bench NAME`.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from genlab.models import GenerativeModel
from genlab.train import device as default_device, fit

if TYPE_CHECKING:
    from genlab.bench.search import Tuning

def train_and_sample_images(
    build: Callable[[], GenerativeModel],
    images: torch.Tensor,
    n: int,
    seed: int,
    device: torch.device | str,
    *,
    steps: int,
    batch_size: int,
    labels: torch.Tensor | None = None,
    condition: torch.Tensor | None = None,
    bernoulli: bool = False,
    sample_offset: int = 30_000,
    **fit_options,
) -> tuple[GenerativeModel, torch.Tensor]:
    """The image benchmarks' protocol: train `build()` under `seed`, then draw n samples in [-1, 1].

    The model is built right after `torch.manual_seed(seed)` and fitted with the same seed, on
    `images` in [-1, 1] (with `labels` when it is conditional); samples come from a generator
    seeded with seed + sample_offset, of the classes in `condition` when the model is
    conditional (`condition` is ignored otherwise). Returns the trained model and the samples.
    bernoulli: a Bernoulli VAE, trained on [0, 1] and sampled as its decoder means mapped back to [-1, 1].
    fit_options (a callback, say) go to `fit`.
    """
    torch.manual_seed(seed)
    model = build()
    data = (images + 1) / 2 if bernoulli else images
    fit(model, (data, labels) if model.conditional else data, steps=steps, batch_size=min(batch_size, len(data)),
        device=device, seed=seed, progress=False, **fit_options)
    return model, draw_images(model, n, seed + sample_offset, condition=condition, bernoulli=bernoulli)


def draw_images(model: GenerativeModel, n: int, seed: int, *, condition: torch.Tensor | None = None,
                bernoulli: bool = False) -> torch.Tensor:
    """n samples in [-1, 1] from a generator seeded with `seed` (of the classes in `condition` when the
    model is conditional); a Bernoulli VAE gives its decoder means mapped back from [0, 1]."""
    g = torch.Generator(device=model.device).manual_seed(seed)
    condition = condition.to(model.device) if model.conditional and condition is not None else None
    if bernoulli:
        return 2 * model.sample(n, condition=condition, generator=g, noise=False) - 1
    return model.sample(n, condition=condition, generator=g)


Runner = Callable[[int, torch.device], dict[str, float]]
"""Trains (if needed) and scores one seed on one device; returns {column key: value}."""


@dataclass(frozen=True)
class Recipe:
    """How one row's model is built and trained: a factory of the untrained model and fit's budget.

    `train` builds the model right after `torch.manual_seed(seed)` (its initial weights) and
    fits it with the same seed (its batch order), so a row is reproduced by its seed alone.
    """

    build: Callable[[], GenerativeModel]
    steps: int
    batch_size: int = 128
    lr_decay: str | None = None

    def train(self, data, seed: int, device: torch.device | str | None = None, *, steps: int | None = None,
              **fit_options) -> GenerativeModel:
        """The model trained on `data` (a tensor, or a tuple of tensors) under `seed`; `steps` overrides the budget."""
        n = len(data[0] if isinstance(data, (tuple, list)) else data)
        torch.manual_seed(seed)
        model = self.build()
        fit(model, data, steps=self.steps if steps is None else steps, batch_size=min(self.batch_size, n),
            device=device if device is not None else default_device(), seed=seed, progress=False,
            lr_decay=self.lr_decay, **fit_options)
        return model


@dataclass(frozen=True)
class Column:
    """One reported figure: its key in the runners' dicts, its header and its format.

    `scale` multiplies values for display only (100 shows fractions as percentages);
    files always store the unscaled values.
    `goal`, for a column where lower is better and whose runs may split into groups (recurrent
    GANs that reach the floor on some seeds and not on others): a run is at the goal when its
    value is within `goal` of the floor, the mean of the first reference row that has the column.
    The summary then gives each row's median, quartiles and share of seeds at the goal beside
    its mean, and the table prints them.
    """

    key: str
    label: str
    fmt: str = "{:.3f}"
    scale: float = 1.0
    goal: float | None = None


@dataclass(frozen=True)
class Published:
    """A row quoted from a paper: {column key: (value, error or None)}, in unscaled units."""

    model: str
    source: str
    values: dict[str, tuple[float, float | None]]
    note: str = ""


@dataclass(frozen=True)
class Benchmark:
    """A benchmark declared as data; see the module docstring.

    error: "se" reports the standard error of the mean over seeds (PacGAN's convention),
    "sd" the standard deviation (TimeGAN's).
    prepare: one-off work that every row shares (training the scoring classifier, say), called
    with the device before the first run so that no row's seconds include it.
    tuning: how its rows are tuned (`genlab.bench.search.Tuning`), None if they are not.
    tuned: row -> the settings a search chose for it ({"params": raw values, "trials", …}),
        filled by `with_tuned`; each adds a row "ROW, tuned".
    """

    name: str
    title: str
    columns: Sequence[Column]
    models: dict[str, Runner]
    default_models: Sequence[str]
    references: dict[str, Runner] = field(default_factory=dict)
    published: Sequence[Published] = ()
    error: str = "se"
    notes: Sequence[str] = ()
    prepare: Callable[[torch.device], object] | None = None
    tuning: Tuning | None = None
    tuned: dict[str, dict] = field(default_factory=dict)

    def with_tuned(self, best: dict[str, dict]) -> Benchmark:
        """This benchmark with a row "ROW, tuned" for each row of `best` (row -> {"params": raw values, …},
        as `genlab.bench.tune` exports it), trained at the searched settings exactly as ROW is trained."""
        from genlab.bench.search import check_rows, decode, tuned_name

        if self.tuning is None:
            raise ValueError(f"benchmark {self.name!r} declares no search spaces, so it has no tuned rows")
        check_rows(self.tuning, list(best))
        for row, found in best.items():
            decode(self.tuning.spaces[row], found["params"])  # refuses settings outside the space
        models = dict(self.models)
        models.update({tuned_name(row): self.tuning.runner(row, found["params"]) for row, found in best.items()})
        return dataclasses.replace(self, models=models, tuned={**self.tuned, **best})

    def __post_init__(self) -> None:
        if self.error not in ("se", "sd"):
            raise ValueError(f"error must be 'se' or 'sd', got {self.error!r}")
        unknown = [m for m in self.default_models if m not in self.models]
        if unknown:
            raise ValueError(f"default models {unknown} are not among the models {list(self.models)}")


def measured(values: Iterable[float | None]) -> list[float]:
    """The values that were measured: all but None (null in a results file, a run saved before
    its column existed). NaN stays: a run that was asked for the figure and has none (a GAN's
    likelihood, the spread of no high-quality sample) makes the mean NaN, shown "–"."""
    return [v for v in values if v is not None]


def complete_runs(runs: Sequence[dict], columns: Iterable[str] = ()) -> list[dict]:
    """The runs of one file, each carrying every key that any of them carries and every column
    in `columns`: a key a run lacks is added as None (null in the file), "not measured".

    Runs kept from older files (by resume or merge) may predate a column or a cost record;
    filled in here, every run of a file written by `save` has the same keys.
    """
    keys = list(dict.fromkeys([k for r in runs for k in r] + list(columns)))
    return [{**r, **{k: None for k in keys if k not in r}} for r in runs]


def mean_and_error(values: Sequence[float], kind: str = "se") -> tuple[float, float]:
    """Mean and its standard error ("se") or the sample standard deviation ("sd"); error nan for n = 1."""
    if not values:
        raise ValueError("no values to summarise")
    n = len(values)
    mean = math.fsum(values) / n
    if n == 1:
        return mean, math.nan
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    return mean, (sd / math.sqrt(n) if kind == "se" else sd)


def run(
    benchmark: Benchmark,
    seeds: Iterable[int] = range(10),
    models: Sequence[str] | None = None,
    device: str | torch.device = "cpu",
    out: str | Path | None = None,
    references: bool = True,
    log: Callable[[str], None] | None = print,
    resume: bool = False,
    progress: bool | None = None,
) -> dict:
    """Run the references and models over `seeds`; return the summary, optionally written to `out`.

    Returns a dict with the benchmark's name, title, error kind, columns, notes, the published
    rows, `runs` (one dict per (row, seed): row, kind, seed, seconds (wall), cpu_seconds (of
    this process, all its threads), updates (where the row reports them) and every column) and
    `rows` (per row: kind "reference" or "model", n, and per column the mean, its error and the
    number of runs that measured it (runs kept from a file that predates a column hold None for
    it, and are left out of its mean); mean seconds).
    With `out`, writes out/<name>.csv (the runs) and out/<name>.json (everything) after every
    run, so an interrupted benchmark loses at most one run; with `resume`, every run already
    in out/<name>.json is kept: those of the rows and seeds asked for are not repeated, and
    those of other rows or seeds stay in the table (so a file grows one model or seed at a
    time). Saved runs of a row the benchmark no longer has are dropped, with a message.
    progress: a tqdm bar over the (row, seed) runs to compute, naming the one in progress; by
    default only on a terminal and never under CI, as in `fit`.
    """
    seeds = list(seeds)
    if not seeds:
        raise ValueError("at least one seed is needed")
    models = list(benchmark.default_models if models is None else models)
    unknown = [m for m in models if m not in benchmark.models]
    if unknown:
        raise ValueError(f"unknown model(s) {unknown} for benchmark {benchmark.name!r}; choose from {list(benchmark.models)}")
    twice = sorted({m for m in models if models.count(m) > 1})
    if twice:
        raise ValueError(f"model(s) {twice} named more than once; name each model once")
    device = torch.device(device)
    todo = [(name, "reference", fn) for name, fn in (benchmark.references.items() if references else [])]
    todo += [(name, "model", benchmark.models[name]) for name in models]

    done: dict[tuple[str, int], dict] = {}
    if resume:
        if out is None:
            raise ValueError("resume needs an output folder (out) to resume from")
        previous = Path(out) / f"{benchmark.name}.json"
        if previous.exists():
            saved = load(previous)
            if saved["name"] != benchmark.name:
                raise ValueError(f"{previous} holds results of benchmark {saved['name']!r}, not {benchmark.name!r}; "
                                 "resume from a file of the same benchmark")
            done = {(r["row"], r["seed"]): r for r in saved["runs"]}
    known = {**benchmark.references, **benchmark.models}
    gone = sorted({row for row, _ in done if row not in known})
    if gone and log:
        log(f"  dropping saved runs of rows {benchmark.name!r} no longer has: {gone}")
    asked = {name for name, _, _ in todo}
    # saved runs outside this call (other rows, other seeds) are kept as they are
    runs = [r for (row, seed), r in done.items() if row in known and (row not in asked or seed not in seeds)]
    todo_all = _rows_in_order(benchmark, asked | {r["row"] for r in runs})
    pending = [(name, seed) for seed in seeds for name, _, _ in todo if (name, seed) not in done]
    if pending and benchmark.prepare is not None:
        start = time.perf_counter()
        benchmark.prepare(device)
        if log:
            log(f"  prepared what every row shares in {time.perf_counter() - start:.1f} s (not counted in any row)")
    bar = None
    if pending and (progress if progress is not None else sys.stderr.isatty() and not os.environ.get("CI")):
        from tqdm.auto import tqdm

        bar = tqdm(total=len(pending), desc=benchmark.name, unit="run", dynamic_ncols=True)
        log = bar.write if log is print else log  # printed lines go above the bar
    # Seed by seed, so that an interrupted benchmark leaves whole seeds behind.
    for seed in seeds:
        for name, kind, fn in todo:
            if (name, seed) in done:
                runs.append(done[(name, seed)])
                continue
            if bar is not None:
                bar.set_description(f"{benchmark.name}: {name}, seed {seed}")
            start, cpu_start = time.perf_counter(), time.process_time()
            values = fn(seed, device)
            seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
            missing = [c.key for c in benchmark.columns if c.key not in values]
            if missing:
                raise ValueError(f"{benchmark.name}: row {name!r} returned no value for {missing}")
            runs.append({"row": name, "kind": kind, "seed": seed, "seconds": seconds, "cpu_seconds": cpu_seconds,
                         "threads": torch.get_num_threads(), **{k: float(v) for k, v in values.items()}})
            if log:
                shown = ", ".join(f"{c.key} {_fmt(c, values[c.key])}" for c in benchmark.columns)
                log(f"  {name} seed {seed}: {shown} ({seconds:.1f} s)")
            if bar is not None:
                bar.update()
            if out is not None:
                save(summarise(benchmark, _by_seed(runs, todo_all), seeds, device, todo_all), out)
    if bar is not None:
        bar.close()

    summary = summarise(benchmark, _by_seed(runs, todo_all), seeds, device, todo_all)
    if out is not None:
        save(summary, out)
    return summary


def merge(benchmark: Benchmark, summaries: Sequence[dict], device: str | torch.device = "cpu") -> dict:
    """One summary from the runs of several (seeds or models run as separate jobs, say).

    A (row, seed) saved in more than one summary is taken from the first that has it;
    runs of rows the benchmark no longer has are dropped.
    """
    known = {**benchmark.references, **benchmark.models}
    runs: dict[tuple[str, int], dict] = {}
    for summary in summaries:
        if summary.get("name") != benchmark.name:
            raise ValueError(f"cannot merge a {summary.get('name')!r} summary into benchmark {benchmark.name!r}")
        for r in summary["runs"]:
            if r["row"] in known:
                runs.setdefault((r["row"], r["seed"]), r)
    todo = _rows_in_order(benchmark, {row for row, _ in runs})
    merged = _by_seed(list(runs.values()), todo)
    return summarise(benchmark, merged, sorted({r["seed"] for r in merged}), torch.device(device), todo)


def _rows_in_order(benchmark: Benchmark, names: set[str]) -> list:
    """(name, kind, runner) of `names`: the references first, then the models, each in the benchmark's order."""
    return ([(name, "reference", fn) for name, fn in benchmark.references.items() if name in names]
            + [(name, "model", fn) for name, fn in benchmark.models.items() if name in names])


def _by_seed(runs: list[dict], todo: list) -> list[dict]:
    """The runs seed by seed, and within a seed in the order of the rows."""
    order = {name: i for i, (name, _, _) in enumerate(todo)}
    return sorted(runs, key=lambda r: (r["seed"], order[r["row"]]))


def summarise(benchmark: Benchmark, runs: list[dict], seeds: list[int], device: torch.device, todo: list) -> dict:
    """The summary dict of `run` from the runs so far (rows without runs are left out).

    Every run of the summary carries the same keys and every column (`complete_runs`).
    """
    runs = complete_runs(runs, [c.key for c in benchmark.columns])
    rows = []
    for name, kind, _ in todo:
        mine = sorted((r for r in runs if r["row"] == name), key=lambda r: r["seed"])
        if not mine:
            continue
        row = {"row": name, "kind": kind, "n": len(mine), "seconds": mean_and_error([r["seconds"] for r in mine], "sd")[0]}
        for key in ("cpu_seconds", "updates"):  # compute, where every run measured it
            if all(r.get(key) is not None for r in mine):
                row[key] = mean_and_error([r[key] for r in mine], "sd")[0]
        for c in benchmark.columns:
            # a run saved before a column existed holds None for it: left out, and n says so
            values = measured(r[c.key] for r in mine)
            mean, err = mean_and_error(values, benchmark.error) if values else (math.nan, math.nan)
            row[c.key] = {"mean": mean, "error": err, "n": len(values)}
        rows.append(row)
    for c in benchmark.columns:
        if c.goal is not None:
            _describe_at_goal(c, rows, runs)

    return {
        "name": benchmark.name,
        "title": benchmark.title,
        "error": benchmark.error,
        "device": str(device),
        "seeds": sorted({r["seed"] for r in runs}),
        "columns": [vars(c) for c in benchmark.columns],
        "notes": list(benchmark.notes),
        "published": [
            {"model": p.model, "source": p.source, "note": p.note, "values": {k: list(v) for k, v in p.values.items()}}
            for p in benchmark.published
        ],
        "tuned": benchmark.tuned,
        "runs": runs,
        "rows": rows,
    }


def _fmt(column: Column, value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return column.fmt.format(value * column.scale)


def _describe_at_goal(column: Column, rows: list[dict], runs: list[dict]) -> None:
    """Add median, quartiles and the share of seeds within `column.goal` of the floor to each row's entry."""
    from genlab.bench.stats import describe  # the book's one statistic

    floors = [r[column.key]["mean"] for r in rows if r["kind"] == "reference" and not math.isnan(r[column.key]["mean"])]
    if not floors:
        return
    bound = floors[0] + column.goal
    for row in rows:
        values = measured(r[column.key] for r in runs if r["row"] == row["row"])
        if not values or not all(math.isfinite(v) for v in values):
            continue
        d = describe(values, goal=lambda v: v <= bound)
        row[column.key].update(median=d.median, q1=d.q1, q3=d.q3, share=d.share, bound=bound)


def format_table(summary: dict) -> str:
    """The summary as a plain-text table: reference rows, genlab's rows, then the published ones."""
    columns = [Column(**c) for c in summary["columns"]]
    sign = "±"
    goals = {c.key: next((r[c.key]["bound"] for r in summary["rows"] if "bound" in r[c.key]), None)
             for c in columns if c.goal is not None}
    goals = {key: bound for key, bound in goals.items() if bound is not None}
    header = ["", "n"]
    for c in columns:
        header.append(c.label)
        if c.key in goals:
            header += ["median [q1, q3]", f"≤ floor + {c.goal:g}, %"]
    header.append("s/seed")
    lines = []
    for row in summary["rows"]:
        cells = [row["row"] + (" (reference)" if row["kind"] == "reference" else ""), str(row["n"])]
        for c in columns:
            m, e = row[c.key]["mean"], row[c.key]["error"]
            n = row[c.key].get("n", row["n"])  # fewer runs measured it than the row has
            cells.append(_fmt(c, m) + ("" if math.isnan(e) else f" {sign} {_fmt(c, e)}")
                         + ("" if n == row["n"] or math.isnan(m) else f" (n = {n})"))
            if c.key in goals:
                entry = row[c.key]
                cells += ([f"{_fmt(c, entry['median'])} [{_fmt(c, entry['q1'])}, {_fmt(c, entry['q3'])}]",
                           f"{100 * entry['share']:.0f}"] if "share" in entry else ["", ""])
        cells.append(f"{row['seconds']:.1f}")
        lines.append(cells)
    for p in summary["published"]:
        cells = [f"{p['model']} [{p['source']}]", ""]
        for c in columns:
            v = p["values"].get(c.key)
            if v is None:
                cells.append("")
            else:
                cells.append(_fmt(c, v[0]) + ("" if v[1] is None else f" {sign} {_fmt(c, v[1])}"))
            if c.key in goals:
                cells += ["", ""]
        cells.append("")
        lines.append(cells)
    widths = [max(len(r[i]) for r in [header, *lines]) for i in range(len(header))]
    def render(cells: list[str]) -> str:
        return "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(cells, widths)))
    error = "standard error of the mean" if summary["error"] == "se" else "standard deviation"
    seeds = summary["seeds"]
    if len(seeds) == 1:  # one run per row: no error to show
        over = f"one run per row, seed {seeds[0]}, on {summary['device']}"
    else:
        over = f"mean {sign} {error} over seeds {seeds} on {summary['device']}"
        if any(v[1] is not None for p in summary["published"] for v in p["values"].values()):
            over += f"; published rows: {sign} as their papers report it"
    if goals:
        over += ("; median [quartiles] and the share of seeds within a goal of the floor (the first reference "
                 "row's mean) beside the columns whose seeds split into groups")
    text = [summary["title"], over, ""]
    text += [render(header), render(["-" * w for w in widths])] + [render(r) for r in lines]
    notes = [f"{p['model']}: {p['note']}" for p in summary["published"] if p["note"]] + summary["notes"]
    if notes:
        text += [""] + [f"note: {n}" for n in notes]
    return "\n".join(text)


def save(summary: dict, out: str | Path) -> tuple[Path, Path]:
    """Write out/<name>.csv (one line per run) and out/<name>.json (the whole summary)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    keys = ["row", "kind", "seed", "seconds", "cpu_seconds", "updates"] + [c["key"] for c in summary["columns"]]
    csv_path, json_path = out / f"{summary['name']}.csv", out / f"{summary['name']}.json"
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=keys, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    order = {row["row"]: i for i, row in enumerate(summary["rows"])}  # the table's order, not the alphabet's
    writer.writerows(sorted(summary["runs"], key=lambda r: (r["seed"], order.get(r["row"], len(order)), r["row"])))
    atomic_write(csv_path, table.getvalue())
    atomic_write(json_path, json.dumps(summary, indent=1, allow_nan=True) + "\n")
    return csv_path, json_path


def atomic_write(path: Path, text: str) -> None:
    """Write to a temporary file beside `path` (named by this process, so two writers never share one),
    then rename it over: never a half-written file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def load(path: str | Path) -> dict:
    """A summary written by `save`, read from its NAME.json file and checked.

    Raises FileNotFoundError when there is no such file, and ValueError, naming the file and
    what is wrong with it, when it is a folder, not JSON, or not a summary (no `runs`, a run
    without its row, or a seed that is not a whole number...).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no benchmark results at {path}; regenerate them with `python -m genlab.bench NAME --out DIR`")
    if path.is_dir():
        raise ValueError(f"{path} is a folder; name the NAME.json file inside it")
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path} is not a benchmark results file: it is not valid JSON ({err})") from None
    problem = _summary_problem(summary)
    if problem:
        raise ValueError(f"{path} is not a benchmark results file: {problem}")
    return summary


def _summary_problem(summary) -> str | None:
    """What keeps `summary` (read from JSON) from being one that `save` wrote, or None."""
    if not isinstance(summary, dict):
        return f"it holds a JSON {type(summary).__name__}, not an object with the keys 'name' and 'runs'"
    for key, kind in (("name", str), ("runs", list), ("columns", list)):
        if not isinstance(summary.get(key), kind):
            return f"{key!r} is missing or not a {kind.__name__}" if key in summary else f"it has no {key!r}"
    number = (int, float)
    for i, r in enumerate(summary["runs"]):
        if not isinstance(r, dict):
            return f"run {i} is a {type(r).__name__}, not an object"
        if not isinstance(r.get("row"), str):
            return f"run {i} has no row name ('row')"
        if type(r.get("seed")) is not int:
            return f"run {i} ({r['row']}) has the seed {r.get('seed')!r}; a seed is a whole number"
        if not isinstance(r.get("seconds"), number) or isinstance(r.get("seconds"), bool):
            return f"run {i} ({r['row']}, seed {r['seed']}) has no number of seconds"
    return None
