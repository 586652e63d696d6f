"""Tune a benchmark's rows alike: `python -m genlab.bench tune NAME --models … --trials N --out DIR`.

Every row gets the same search budget (N trials), the same sampler and the same pruning rule;
each trial trains the row once on its own tuning seed (`search.TUNING_SEED` + the trial's
number, never a reporting seed) and is scored by the benchmark's declared objective. The
searches use Optuna: a seeded TPE sampler (Bergstra et al., 2011) whose first trial is the
row's default recipe, a median pruner on the objective reported four times per trial, and an
SQLite study in DIR, so a search resumes where it stopped (run the same command again) and
several single-thread workers (`--workers`, or the same command started twice) share it.

What the book reads is plain JSON and CSV beside the study: DIR/NAME-tuning.json (every
trial of every row: settings, objective, intermediate values, seed, CPU-seconds, updates;
the best settings per row; the protocol) and DIR/NAME-tuning.csv (a line per trial), written
after every trial. `python -m genlab.bench NAME --tuned DIR/NAME-tuning.json` then trains
the rows "ROW, tuned" on the reporting seeds.

Optuna is an optional dependency (`pip install genlab[bench]`); only this command needs it.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import io
import json
import math
import multiprocessing
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import torch

from genlab.bench import REGISTRY, get
from genlab.bench.common import Benchmark, atomic_write
from genlab.bench.search import (TUNING_SEED, Pruned, Tuning, check_rows, decode, defaults, space_as_dict,
                                 tuned_name)

#: the protocol, the same for every row and benchmark (recorded in every export)
PROTOCOL = {
    "sampler": "TPE (Optuna), seeded per row, 6 start-up trials, multivariate; trial 0 is the default recipe",
    "pruner": "median: a trial is stopped at its 2nd, 3rd report if below the median of earlier trials there "
              "(after 4 trials)",
    "reports": 4,
    "tuning_seeds": f"{TUNING_SEED} + trial number",
}
STARTUP_TRIALS, PRUNER_STARTUP, PRUNER_WARMUP = 6, 4, 2  # pruning from the 2nd report on


def _optuna():
    try:
        import optuna
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("tuning needs Optuna: pip install 'genlab[bench]' (or pip install optuna)") from err
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # heartbeats and stale-trial retries are marked experimental / renamed across Optuna 4 and 5
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", category=FutureWarning, module="optuna")
    warnings.filterwarnings("ignore", category=FutureWarning, module=__name__)
    return optuna


def paths(out: str | Path, name: str) -> dict[str, Path]:
    """Where a benchmark's search lives in `out`: the study database, its JSON export and its CSV."""
    out = Path(out)
    return {"db": out / f"{name}-tuning.db", "json": out / f"{name}-tuning.json", "csv": out / f"{name}-tuning.csv"}


_STORAGES: dict[str, object] = {}


def _storage(db: Path):
    """The study database (one connection per file and process: opening one checks its schema, which is slow)."""
    key = str(Path(db).resolve())
    if key in _STORAGES and not Path(db).exists():  # the file was removed: start from its export again
        _STORAGES.pop(key).engine.dispose()
    if key not in _STORAGES:
        _STORAGES[key] = _open_storage(db)
    return _STORAGES[key]


def _open_storage(db: Path):
    _optuna()
    from optuna.storages import RDBStorage, RetryFailedTrialCallback

    # a trial whose process died (no heartbeat for 2 minutes) is marked failed and run again
    return RDBStorage(f"sqlite:///{db}", heartbeat_interval=30, grace_period=120,
                      failed_trial_callback=RetryFailedTrialCallback(max_retry=2),
                      engine_kwargs={"connect_args": {"timeout": 60}})


def _sampler_seed(benchmark: str, row: str) -> int:
    """A seed per (benchmark, row) that does not depend on Python's hash randomisation."""
    return sum((i + 1) * ord(ch) for i, ch in enumerate(f"{benchmark}/{row}")) % (2**31)


def _study(benchmark: Benchmark, row: str, db: Path, create: bool = True, worker: int = 0):
    """The study of `row` in `db` (created, with the default recipe as its first trial, if new).

    The sampler's seed depends on the row, the worker and the number of trials already in the
    study, so a resumed search or a second worker draws new settings instead of repeating old ones.
    """
    optuna = _optuna()
    tuning = benchmark.tuning
    pruner = optuna.pruners.MedianPruner(n_startup_trials=PRUNER_STARTUP, n_warmup_steps=PRUNER_WARMUP)
    if create:
        study = optuna.create_study(study_name=row, storage=_storage(db), pruner=pruner,
                                    direction=tuning.direction, load_if_exists=True)
    else:
        study = optuna.load_study(study_name=row, storage=_storage(db), pruner=pruner)
    seed = _sampler_seed(benchmark.name, row) + 1_000 * worker + len(study.trials)
    study.sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=STARTUP_TRIALS, multivariate=True)
    if not study.trials:
        study.set_user_attr("space", space_as_dict(tuning.spaces[row]))
        saved = _saved_trials(benchmark, row, db.with_name(f"{benchmark.name}-tuning.json"))
        if saved:  # the database is only a cache: a search resumes from its export
            for trial in saved:
                study.add_trial(trial)
        else:
            study.enqueue_trial(defaults(tuning.recipes[row], tuning.spaces[row]), user_attrs={"default": True})
    return study


def _distributions(space) -> dict:
    optuna = _optuna()
    return {name: (optuna.distributions.CategoricalDistribution(dist.labels) if hasattr(dist, "options")
                   else optuna.distributions.FloatDistribution(dist.low, dist.high, log=True))
            for name, dist in space.items()}


def _saved_trials(benchmark: Benchmark, row: str, export_path: Path) -> list:
    """The finished trials of `row` in a tuning export, as Optuna trials (to rebuild a study without its database)."""
    if not export_path.is_file():
        return []
    optuna = _optuna()
    entry = json.loads(export_path.read_text()).get("rows", {}).get(row)
    if entry is None:
        return []
    if entry["space"] != space_as_dict(benchmark.tuning.spaces[row]):
        raise ValueError(f"{export_path}: the saved search space of {row!r} differs from the declared one; "
                         "move the export away to start a new search")
    states = {"COMPLETE": optuna.trial.TrialState.COMPLETE, "PRUNED": optuna.trial.TrialState.PRUNED}
    trials = []
    for r in sorted(entry["trials"], key=lambda r: r["trial"]):
        if r["state"] not in states:
            continue
        attrs = {k: r[k] for k in ("seed", "cpu_seconds", "updates", "default") if r.get(k) is not None}
        attrs["saved_trial"] = r["trial"]
        trials.append(optuna.trial.create_trial(
            state=states[r["state"]], value=r["value"] if r["state"] == "COMPLETE" else None,
            params=r["params"], distributions=_distributions(benchmark.tuning.spaces[row]),
            intermediate_values={k + 1: v for k, v in enumerate(r["intermediate"])}, user_attrs=attrs))
    return trials


def _finished(study) -> int:
    optuna = _optuna()
    return sum(t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED) for t in study.trials)


class _OverBudget(Exception):
    """A trial started while the budget was already taken by earlier ones (two workers asked at once)."""


def _objective(benchmark: Benchmark, row: str, device: torch.device, budget: int):
    optuna = _optuna()
    tuning: Tuning = benchmark.tuning
    counted = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.RUNNING)

    def objective(trial) -> float:
        earlier = [t for t in trial.study.get_trials(deepcopy=False, states=counted) if t.number < trial.number]
        if len(earlier) >= budget:  # recorded as failed, never counted: every row gets exactly `budget` trials
            raise _OverBudget(f"{row}: trial {trial.number} is beyond the budget of {budget}")
        space = tuning.spaces[row]
        raw = {}
        for name, dist in space.items():
            if hasattr(dist, "options"):
                raw[name] = trial.suggest_categorical(name, dist.labels)
            else:
                raw[name] = trial.suggest_float(name, dist.low, dist.high, log=True)
        seed = TUNING_SEED + trial.number
        trial.set_user_attr("seed", seed)
        reports = []

        def report(step: int, value: float) -> bool:
            reports.append(step)
            trial.report(value, len(reports))
            trial.set_user_attr("report_steps", reports)
            return trial.should_prune()

        start = time.process_time()
        try:
            value, info = tuning.objective(row, raw, seed, device, report)
        except Pruned:
            trial.set_user_attr("cpu_seconds", time.process_time() - start)
            raise optuna.TrialPruned() from None
        trial.set_user_attr("cpu_seconds", time.process_time() - start)
        for key, v in info.items():
            trial.set_user_attr(key, v)
        if not math.isfinite(value):
            raise ValueError(f"{row}: trial {trial.number} returned a non-finite objective {value}")
        return value

    return objective


def _work(ref: tuple[str, str], row: str, trials: int, db: str, device: str, threads: int, out: str,
          rows: Sequence[str], worker: int = 0) -> None:
    """One worker: run trials of `row` until the study holds `trials` finished ones.

    ref: (module, attribute) of the benchmark, so that a worker process can import it.
    """
    torch.set_num_threads(threads)
    benchmark = getattr(importlib.import_module(ref[0]), ref[1])
    study = _study(benchmark, row, Path(db), create=False, worker=worker)
    objective = _objective(benchmark, row, torch.device(device), trials)

    def export_now(study, trial) -> None:
        export(benchmark, Path(out), rows, budget=trials)
        if _finished(study) >= trials:
            study.stop()

    optuna = _optuna()
    while (finished := _finished(study)) < trials:
        optuna.storages.fail_stale_trials(study)  # trials of a process that died are failed, then retried
        running = sum(t.state == optuna.trial.TrialState.RUNNING for t in study.get_trials(deepcopy=False))
        if finished + running >= trials:  # the last trials are another worker's: wait for them
            time.sleep(5)
            continue
        study.optimize(objective, n_trials=1, callbacks=[export_now], gc_after_trial=False, catch=(_OverBudget,))


def tune(
    benchmark: Benchmark,
    rows: Sequence[str],
    trials: int,
    out: str | Path,
    *,
    workers: int = 1,
    device: str = "cpu",
    threads: int = 1,
    log=print,
    ref: tuple[str, str] | None = None,
) -> dict:
    """Search every row of `rows` with `trials` trials (resuming what `out` already holds); return the export.

    Rows are searched one after the other; `workers` processes share each row's study.
    ref: (module, attribute) where worker processes find `benchmark`; default: the registry's entry.
    """
    if benchmark.tuning is None:
        raise ValueError(f"benchmark {benchmark.name!r} declares no search spaces")
    check_rows(benchmark.tuning, rows)
    if trials < 1:
        raise ValueError(f"trials must be at least 1, got {trials}")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    db = paths(out, benchmark.name)["db"]
    all_rows = list(dict.fromkeys([*_rows_in(db), *rows]))
    for row in rows:
        study = _study(benchmark, row, db)
        done = _finished(study)
        if done >= trials:
            log(f"{row}: {done} trials already finished")
            continue
        log(f"{row}: {done} of {trials} trials finished; searching with {workers} worker(s)")
        args = (ref or REGISTRY[benchmark.name], row, trials, str(db), device, threads, str(out), all_rows)
        if workers == 1:
            _work(*args)
        else:
            context = multiprocessing.get_context("spawn")
            procs = [context.Process(target=_work, args=(*args, k)) for k in range(workers)]
            for p in procs:
                p.start()
                time.sleep(2)  # let the first worker claim its trial before the next asks for one
            for p in procs:
                p.join()
            failed = [p.exitcode for p in procs if p.exitcode]
            if failed:
                raise RuntimeError(f"{row}: {len(failed)} worker(s) failed (exit codes {failed}); "
                                   "run the same command again to resume the search")
        best = export(benchmark, out, all_rows, budget=trials)["rows"][row]["best"]
        log(f"{row}: best objective {best['value']:.4f} (trial {best['trial']}) with {best['settings']}")
    return export(benchmark, out, all_rows, budget=trials)


def _rows_in(db: Path) -> list[str]:
    if not db.exists():
        return []
    optuna = _optuna()
    return [s.study_name for s in optuna.get_all_study_summaries(storage=_storage(db))]


def export(benchmark: Benchmark, out: Path, rows: Sequence[str] | None = None, budget: int | None = None) -> dict:
    """Write out/NAME-tuning.json and .csv from the study database; return the JSON's content.

    budget: the number of finished trials each row is given; the best of a row is chosen among its
    first `budget` finished trials only (None: the budget saved in the export, else all of them).
    """
    optuna = _optuna()
    where = paths(out, benchmark.name)
    rows = list(rows) if rows is not None else _rows_in(where["db"])
    if budget is None and where["json"].is_file():
        budget = json.loads(where["json"].read_text()).get("budget")
    result = {"benchmark": benchmark.name, "budget": budget, "objective": benchmark.tuning.description,
              "direction": benchmark.tuning.direction, "protocol": PROTOCOL, "rows": {}}
    lines = []
    for row in rows:
        try:
            study = optuna.load_study(study_name=row, storage=_storage(where["db"]))
        except KeyError:
            continue
        records = []
        for t in study.trials:
            value = t.value if t.state == optuna.trial.TrialState.COMPLETE else None  # a pruned trial has no final value
            record = {"trial": t.number, "state": t.state.name, "value": value, "params": t.params,
                      "seed": t.user_attrs.get("seed"), "default": bool(t.user_attrs.get("default")),
                      "cpu_seconds": t.user_attrs.get("cpu_seconds"), "updates": t.user_attrs.get("updates"),
                      "intermediate": [t.intermediate_values[k] for k in sorted(t.intermediate_values)]}
            records.append(record)
            lines.append({"row": row, **{k: v for k, v in record.items() if k not in ("params", "intermediate")},
                          "params": json.dumps(t.params, sort_keys=True)})
        finished = [r for r in records if r["state"] in ("COMPLETE", "PRUNED")]
        within = {r["trial"] for r in finished[:budget]} if budget is not None else {r["trial"] for r in finished}
        complete = [r for r in records if r["state"] == "COMPLETE" and r["trial"] in within]
        best = None
        if complete:
            pick = (max if benchmark.tuning.direction == "maximize" else min)(complete, key=lambda r: r["value"])
            settings = decode(benchmark.tuning.spaces[row], pick["params"])
            best = {"trial": pick["trial"], "value": pick["value"], "params": pick["params"],
                    "settings": {k: (list(v) if isinstance(v, tuple) else v) for k, v in settings.items()}}
        result["rows"][row] = {
            "space": space_as_dict(benchmark.tuning.spaces[row]),
            "finished": sum(r["state"] in ("COMPLETE", "PRUNED") for r in records),
            "pruned": sum(r["state"] == "PRUNED" for r in records),
            "cpu_seconds": math.fsum(r["cpu_seconds"] or 0.0 for r in records),
            "trials": records,
            "best": best,
        }
    atomic_write(where["json"], json.dumps(result, indent=1) + "\n")
    table = io.StringIO()
    keys = ["row", "trial", "state", "value", "seed", "default", "cpu_seconds", "updates", "params"]
    writer = csv.DictWriter(table, fieldnames=keys, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(lines)
    atomic_write(where["csv"], table.getvalue())
    return result


def load_best(path: str | Path, rows: Sequence[str] | None = None) -> dict[str, dict]:
    """row -> {"params", "value", "trial", "trials"} from a tuning export, for `Benchmark.with_tuned`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no tuning export at {path}; make one with `python -m genlab.bench tune NAME --out DIR`")
    try:
        data = json.loads(path.read_text())
        table = data["rows"]
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise ValueError(f"{path} is not a tuning export ({err})") from None
    chosen = {}
    for row, entry in table.items():
        if rows is not None and row not in rows:
            continue
        if entry.get("best") is None:
            continue
        chosen[row] = {"params": entry["best"]["params"], "value": entry["best"]["value"],
                       "trial": entry["best"]["trial"], "trials": min(entry["finished"], data.get("budget") or entry["finished"]),
                       "export": str(path)}
    return chosen


def best_so_far(export: dict, row: str) -> list[float]:
    """The best objective after 1, 2, … finished trials of `row` (pruned trials count, and do not improve it)."""
    entry = export["rows"][row]
    better = max if export["direction"] == "maximize" else min
    curve, best = [], None
    for r in sorted(entry["trials"], key=lambda r: r["trial"]):
        if r["state"] not in ("COMPLETE", "PRUNED"):
            continue
        if r["state"] == "COMPLETE":
            best = r["value"] if best is None else better(best, r["value"])
        curve.append(math.nan if best is None else best)
    return curve


def plot_search(export: dict, ax=None, rows: Sequence[str] | None = None):
    """Best objective against the number of trials, one line per row (the style of Lucic et al., 2018)."""
    import matplotlib.pyplot as plt

    ax = ax or plt.gca()
    for row in rows or list(export["rows"]):
        curve = best_so_far(export, row)
        ax.plot(range(1, len(curve) + 1), curve, marker="o", markersize=3, label=row)
    ax.set_xlabel("trials")
    ax.set_ylabel("best objective so far")
    ax.set_title(f"{export['benchmark']}: search budget against the best row found")
    ax.legend(fontsize="small")
    return ax


def main(argv: list[str] | None = None) -> None:
    """The command line `python -m genlab.bench tune NAME --models … --trials N --out DIR` (see the module)."""
    parser = argparse.ArgumentParser(prog="python -m genlab.bench tune", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("benchmark", choices=sorted(REGISTRY))
    parser.add_argument("--models", nargs="+", required=True, help="rows to tune (each needs a search space)")
    parser.add_argument("--trials", type=int, default=12, help="finished trials per row (default 12)")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="folder of the study (NAME-tuning.db) and its export; an existing study is resumed, "
                             "never replaced")
    parser.add_argument("--workers", type=int, default=1, help="processes sharing each row's study (default 1)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads per worker (default 1)")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    args = parser.parse_args(argv)
    for flag in ("trials", "workers", "threads"):
        if getattr(args, flag) < 1:
            parser.error(f"--{flag} must be at least 1, got {getattr(args, flag)}")
    benchmark = get(args.benchmark)
    if benchmark.tuning is None:
        parser.error(f"benchmark {args.benchmark!r} declares no search spaces yet")
    try:
        check_rows(benchmark.tuning, args.models)
    except ValueError as err:
        parser.error(str(err))
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"--out {args.out} is a file; name a folder")
    torch.set_num_threads(args.threads)
    print(f"tuning {args.models} on {args.benchmark}: {args.trials} trials each; objective: "
          f"{benchmark.tuning.description}")
    result = tune(benchmark, args.models, args.trials, args.out, workers=args.workers, device=args.device,
                  threads=args.threads)
    print(f"\nexport in {paths(args.out, benchmark.name)['json']}; train the tuned rows with "
          f"python -m genlab.bench {args.benchmark} --tuned {paths(args.out, benchmark.name)['json']} "
          f"--models {' '.join(repr(tuned_name(r)) for r in args.models)}")
    for row in args.models:
        entry = result["rows"][row]
        print(f"  {row}: {entry['finished']} trials ({entry['pruned']} pruned), "
              f"{entry['cpu_seconds'] / 3600:.2f} CPU-hours, best {entry['best']['value'] if entry['best'] else '–'}")
