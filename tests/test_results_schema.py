"""Every committed results file of the benchmarks follows one schema.

A results file is book/<chapter>/results/NAME.json as `python -m genlab.bench NAME` writes it
(`genlab.bench.common.save`), with NAME.csv beside it. Within one file every run carries the
same keys, among them every column the file declares; a value is a number, or null where the
run did not measure it (a run kept by --resume or --merge from a file older than the column).
NaN is a number here: the run was asked for the figure and has none (a GAN's likelihood).
The CSV holds the same runs and values, null written as an empty cell.

The tuning exports (results/tuning/NAME-tuning.json) have their own format, checked by
tests/test_tune.py; the files listed in OTHER_FORMATS are written by the scripts under
benchmarks/, not by the harness.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import math
from pathlib import Path

import pytest

from genlab.bench.common import load

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"

# results files that are not benchmark summaries: path -> what writes them
OTHER_FORMATS = {
    "book/05_analysis/results/wgan_budget.json": "benchmarks/wgan_budget.py",
    "book/06_future/results/efficiency-cpu.json": "benchmarks/efficiency.py",
    "book/appendix/results/ddp-scaling-cpu.json": "benchmarks/ddp_scaling.py",
    "book/appendix/results/fit-overhead-cpu.json": "benchmarks/fit_overhead.py",
    "book/appendix/results/sequence-models-cpu.json": "benchmarks/sequence_models.py",
}
TOP_LEVEL = {"name": str, "title": str, "error": str, "device": str, "seeds": list, "columns": list,
             "notes": list, "published": list, "runs": list, "rows": list}
# keys of a run that are not figures
LABELS = {"row": str, "kind": str}


def results_files() -> list[Path]:
    """Every results file of the book but the tuning exports."""
    found = sorted(BOOK.glob("*/results/**/*.json"))
    return [p for p in found if not (p.parent.name == "tuning" and p.name.endswith("-tuning.json"))]


def benchmark_files() -> list[Path]:
    return [p for p in results_files() if str(p.relative_to(ROOT)) not in OTHER_FORMATS]


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def schema_problems(summary: dict) -> list[str]:
    """What keeps a results summary from the one schema; [] when it follows it."""
    problems = [f"{key!r} is missing or not a {kind.__name__}" for key, kind in TOP_LEVEL.items()
                if not isinstance(summary.get(key), kind)]
    if problems:
        return problems
    if summary["error"] not in ("se", "sd"):
        problems.append(f"error is {summary['error']!r}, not 'se' or 'sd'")
    columns = [c.get("key") for c in summary["columns"]]
    runs = summary["runs"]
    if not runs:
        return problems + ["the file holds no runs"]
    keys = set(runs[0])
    for i, run in enumerate(runs):
        where = f"run {i} ({run.get('row')}, seed {run.get('seed')})"
        if set(run) != keys:
            lacks, extra = sorted(keys - set(run)), sorted(set(run) - keys)
            problems.append(f"{where} has other keys than run 0: lacks {lacks}, has {extra} besides")
        lacking = [c for c in columns if c not in run]
        if lacking:
            problems.append(f"{where} lacks the declared column(s) {lacking}")
        for key, kind in LABELS.items():
            if not isinstance(run.get(key), kind):
                problems.append(f"{where}: {key!r} is {run.get(key)!r}, not a {kind.__name__}")
        if run.get("kind") not in ("model", "reference"):
            problems.append(f"{where}: kind {run.get('kind')!r} is neither 'model' nor 'reference'")
        if type(run.get("seed")) is not int:
            problems.append(f"{where}: the seed {run.get('seed')!r} is not a whole number")
        if not _is_number(run.get("seconds")):
            problems.append(f"{where}: seconds {run.get('seconds')!r} is not a number")
        for key, value in run.items():
            if key in LABELS or key in ("seed", "seconds"):
                continue
            if value is not None and not _is_number(value):
                problems.append(f"{where}: {key} is {value!r}, neither a number nor null")
    if sorted({r["seed"] for r in runs if type(r.get("seed")) is int}) != summary["seeds"]:
        problems.append(f"seeds {summary['seeds']} are not the seeds of the runs")
    rows = [r.get("row") for r in summary["rows"]]
    if set(rows) != {r.get("row") for r in runs}:
        problems.append(f"the summary's rows {sorted(map(str, rows))} are not the rows of the runs")
    return problems


def _same(cell: str, value) -> bool:
    """Whether a CSV cell holds the JSON value: null is empty, NaN is 'nan'."""
    if value is None:
        return cell == ""
    if isinstance(value, str):
        return cell == value
    if cell == "":
        return False
    number = float(cell)
    return math.isnan(number) and math.isnan(value) or number == value


def csv_problems(summary: dict, text: str) -> list[str]:
    """Where the CSV beside a results file disagrees with it: other runs, or other values."""
    lines = list(csv.DictReader(io.StringIO(text)))
    header = next(csv.reader(io.StringIO(text)), [])
    problems = [f"the CSV has no column {key!r}" for key in ["row", "kind", "seed", *(c["key"] for c in summary["columns"])]
                if key not in header]
    if problems:
        return problems
    by_run = {(r["row"], r["seed"]): r for r in summary["runs"]}
    in_csv = {(line["row"], int(line["seed"])): line for line in lines}
    if len(lines) != len(summary["runs"]) or set(in_csv) != set(by_run):
        problems.append(f"the CSV holds {len(lines)} runs, the JSON {len(summary['runs'])}; "
                        f"only in the CSV: {sorted(set(in_csv) - set(by_run))[:5]}, "
                        f"only in the JSON: {sorted(set(by_run) - set(in_csv))[:5]}")
    for run_key in sorted(set(in_csv) & set(by_run)):
        line, run = in_csv[run_key], by_run[run_key]
        for key in header:
            if key in run and not _same(line[key], run[key]):
                problems.append(f"{run_key}: {key} is {line[key]!r} in the CSV and {run[key]!r} in the JSON")
    return problems


@pytest.mark.parametrize("path", benchmark_files(), ids=lambda p: str(p.relative_to(BOOK)))
def test_results_file_follows_the_schema(path):
    summary = load(path)  # the harness reads it
    problems = schema_problems(summary)
    assert not problems, "\n".join(problems)
    beside = path.with_suffix(".csv")
    if beside.exists():
        problems = csv_problems(summary, beside.read_text(encoding="utf-8"))
        assert not problems, "\n".join(problems[:20])


def test_every_results_file_is_a_benchmark_file_or_listed():
    assert benchmark_files(), "no results files found"
    for path in results_files():
        summary = json.loads(path.read_text(encoding="utf-8"))
        listed = str(path.relative_to(ROOT)) in OTHER_FORMATS
        is_benchmark = isinstance(summary, dict) and isinstance(summary.get("runs"), list) and "columns" in summary
        assert listed != is_benchmark, f"{path}: {'listed as another format but' if listed else 'not listed and not'} a benchmark file"
    for path, writer in OTHER_FORMATS.items():
        assert (ROOT / path).exists() and (ROOT / writer).exists(), (path, writer)


def test_the_tuning_reporting_files_are_included():
    reporting = [p for p in benchmark_files() if p.parent.name == "reporting"]
    assert reporting, "the tuned rows' reporting files are benchmark files and must be checked"


# The checks fail where they should.


@pytest.fixture(scope="module")
def good() -> dict:
    path = BOOK / "07_combining" / "results" / "sines.json"
    summary = load(path)
    assert schema_problems(summary) == [] and csv_problems(summary, path.with_suffix(".csv").read_text()) == []
    return summary


def test_a_run_missing_a_key_is_caught(good):
    broken = copy.deepcopy(good)
    del broken["runs"][3]["cpu_seconds" if "cpu_seconds" in broken["runs"][3] else "discriminative"]
    problems = schema_problems(broken)
    assert any("run 3" in p and "lacks" in p for p in problems), problems


def test_a_run_missing_a_declared_column_is_caught(good):
    # every run lacks it alike, as 52 runs of sines.json lacked nll before they were filled in
    broken = copy.deepcopy(good)
    for run in broken["runs"]:
        run.pop("nll")
    assert any("lacks the declared column(s) ['nll']" in p for p in schema_problems(broken))


@pytest.mark.parametrize("value", ["0.1", True, [0.1], {"mean": 0.1}])
def test_a_value_that_is_not_a_number_or_null_is_caught(good, value):
    broken = copy.deepcopy(good)
    broken["runs"][0]["predictive"] = value
    assert any("neither a number nor null" in p for p in schema_problems(broken))


def test_seconds_and_seeds_must_be_numbers(good):
    broken = copy.deepcopy(good)
    broken["runs"][0]["seconds"] = None
    broken["runs"][1]["seed"] = 1.0
    problems = schema_problems(broken)
    assert any("seconds None is not a number" in p for p in problems)
    assert any("the seed 1.0 is not a whole number" in p for p in problems)


def test_a_csv_that_disagrees_is_caught(good):
    path = BOOK / "07_combining" / "results" / "sines.csv"
    text = path.read_text()
    nll = next(r for r in good["runs"] if r["nll"] is None)
    assert csv_problems(good, text) == []
    lines = text.splitlines(keepends=True)
    assert any(p.startswith(f"the CSV holds {len(good['runs']) - 1} runs") for p in csv_problems(good, "".join(lines[:-1])))
    changed = copy.deepcopy(good)
    next(r for r in changed["runs"] if r["row"] == nll["row"] and r["seed"] == nll["seed"])["nll"] = 1.5
    assert any("nll is '' in the CSV and 1.5 in the JSON" in p for p in csv_problems(changed, text))
