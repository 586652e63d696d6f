"""Command line: python -m genlab.bench ring|grid|stacked-digits|digits|fashion|digit-rows|sines|co2|names [--seeds N] [--models …] [--out DIR];
python -m genlab.bench tune NAME --models … --trials N --out DIR searches rows' settings (genlab.bench.tune).

Where the results go (NAME.csv, one line per run, and NAME.json, the whole summary):

- without --out, to a new folder bench-runs/NAME-YYYYmmdd-HHMMSS/ under the current
  directory, never an existing one, so a quick trial cannot replace a table anyone relies on;
- with --out DIR, to DIR; if DIR already holds NAME.json or NAME.csv the command stops
  unless --resume (keep the saved runs, compute only the missing ones) or --overwrite
  (start again and replace the files) says what to do with them.

`python -m genlab.bench NAME --help` lists the rows of benchmark NAME.

Jobs run side by side (different --first-seed or --models, each with its own --out) are
joined with --merge A/NAME.json B/NAME.json --out DIR (with --resume, DIR's own file first).

The committed tables that chapter 5 reads are regenerated with
--out book/05_analysis/results --overwrite (see `make tables`).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

from genlab.bench import REGISTRY, format_table, get, load, run, save
from genlab.bench.common import merge

RUNS_FOLDER = Path("bench-runs")


def fresh_run_folder(name: str, parent: Path = RUNS_FOLDER) -> Path:
    """Create and return a new, empty folder parent/<name>-<YYYYmmdd-HHMMSS>[-k] for one run.

    The folder is created here (not just named) so that two runs started in the same second
    cannot pick the same one: the second gets a -2, -3, … suffix.
    """
    parent.mkdir(parents=True, exist_ok=True)
    stem = f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    for k in range(1, 1000):
        folder = parent / (stem if k == 1 else f"{stem}-{k}")
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder
    raise RuntimeError(f"could not create a new run folder {parent / stem}-k")


def at_least(low: int):
    """argparse type: a whole number of at least `low`."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value
    return parse


positive = at_least(1)


def usable_device(text: str) -> str:
    """argparse type: a torch device that this machine has."""
    try:
        device = torch.device(text)
    except (RuntimeError, ValueError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a device torch knows; use cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise argparse.ArgumentTypeError(f"{text!r}: torch finds no CUDA GPU on this machine; use --device cpu")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise argparse.ArgumentTypeError(f"{text!r}: this machine has {torch.cuda.device_count()} CUDA GPU(s)")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise argparse.ArgumentTypeError(f"{text!r}: torch finds no MPS device on this machine; use --device cpu")
    if device.type not in ("cpu", "cuda", "mps"):
        raise argparse.ArgumentTypeError(f"{text!r}: the benchmarks run on cpu, cuda or mps")
    return text


def benchmark_help(name: str) -> str:
    """The description `NAME --help` shows: the benchmark's title, rows and notes."""
    benchmark = get(name)
    lines = [f"{benchmark.title}", "", f"rows of {name!r} (--models; * = run when --models is not given):"]
    lines += [f"  {row}{' *' if row in benchmark.default_models else ''}" for row in benchmark.models]
    if benchmark.references:
        lines += ["", "reference rows (left out with --no-references):"] + [f"  {row}" for row in benchmark.references]
    if benchmark.notes:
        lines += ["", "notes:"] + [f"  {note}" for note in benchmark.notes]
    return "\n".join(lines)


def _out_problem(out: Path) -> str | None:
    """Why results cannot be written to the folder `out`, or None."""
    if out.exists():
        if not out.is_dir():
            return f"--out {out} is a file, not a folder; name a folder (it is created if missing)"
        return None if os.access(out, os.W_OK) else f"--out {out}: this folder is not writable"
    parent = next((p for p in out.parents if p.exists()), Path("."))
    if not parent.is_dir():
        return f"--out {out}: {parent} is a file, so no folder can be created under it"
    return None if os.access(parent, os.W_OK) else f"--out {out}: cannot create it, {parent} is not writable"


def main(argv: list[str] | None = None) -> None:
    """Parse `argv` (default: the command line), run the benchmark, print its table and save it.

    `python -m genlab.bench tune …` searches the rows' settings instead (see `genlab.bench.tune`).
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["tune"]:
        from genlab.bench.tune import main as tune

        return tune(argv[1:])
    named = next((a for a in argv if a in REGISTRY), None)
    asks_help = "-h" in argv or "--help" in argv
    parser = argparse.ArgumentParser(
        prog="python -m genlab.bench",
        description=benchmark_help(named) if named and asks_help else __doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("benchmark", choices=sorted(REGISTRY), help="the benchmark to run; NAME --help lists its rows")
    parser.add_argument("--seeds", type=int, default=10, metavar="N",
                        help="how many seeds: FIRST .. FIRST+N-1, FIRST being --first-seed (default 10)")
    parser.add_argument("--first-seed", type=at_least(0), default=0, metavar="FIRST",
                        help="the first seed (default 0); jobs run side by side take different ranges")
    parser.add_argument("--models", nargs="+", help="models to run (default: the benchmark's default set)")
    parser.add_argument("--no-references", action="store_true", help="skip the reference rows (true data, floors)")
    parser.add_argument("--device", type=usable_device, default="cpu", help="torch device, e.g. cpu or cuda")
    parser.add_argument("--threads", type=positive, metavar="N",
                        help="torch CPU threads (the committed tables were made with 1)")
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help=f"folder for NAME.csv and NAME.json (default: a new folder {RUNS_FOLDER}/NAME-YYYYmmdd-HHMMSS/); "
        "a folder that already holds them needs --resume or --overwrite",
    )
    parser.add_argument("--no-save", action="store_true", help="print only")
    existing = parser.add_mutually_exclusive_group()
    existing.add_argument(
        "--resume", action="store_true", help="keep the runs already saved in --out DIR and compute only the missing ones"
    )
    existing.add_argument(
        "--overwrite", action="store_true", help="replace NAME.csv and NAME.json in --out DIR, discarding the runs they hold"
    )
    parser.add_argument("--tuned", type=Path, metavar="FILE",
                        help="a tuning export (NAME-tuning.json, from `python -m genlab.bench tune`): adds a row "
                             "'ROW, tuned' for each row it holds, trained at the settings the search chose")
    parser.add_argument("--list", action="store_true", help="list the benchmark's models and exit")
    parser.add_argument("--merge", nargs="+", type=Path, metavar="FILE",
                        help="join the runs of these NAME.json files into --out DIR instead of running anything")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")
    if args.resume and args.out is None:
        # A fresh folder holds nothing to resume from; the run to continue must be named.
        parser.error("--resume needs --out DIR, the folder of the run to continue")
    if args.models:
        twice = sorted({m for m in args.models if args.models.count(m) > 1})
        if twice:
            parser.error(f"--models names {', '.join(twice)} more than once; name each model once")
    if args.out is not None and not args.no_save and (problem := _out_problem(args.out)):
        parser.error(problem)
    if args.threads:
        torch.set_num_threads(args.threads)

    benchmark = get(args.benchmark)
    if args.tuned is not None:
        from genlab.bench.tune import load_best

        try:
            benchmark = benchmark.with_tuned(load_best(args.tuned))
        except (ValueError, FileNotFoundError) as err:
            parser.error(f"--tuned {args.tuned}: {err}")
    if args.list:
        for name in benchmark.models:
            print(name + (" (default)" if name in benchmark.default_models else ""))
        return

    if args.merge:
        if args.out is None:
            parser.error("--merge needs --out DIR, the folder to write the joined NAME.json and NAME.csv to")
        target = args.out / f"{benchmark.name}.json"
        if target.exists() and not (args.resume or args.overwrite):
            parser.error(f"{target} already exists; pass --resume to merge into it (its runs first) or --overwrite")
        sources = ([target] if target.exists() and args.resume else []) + list(args.merge)
        try:
            summaries = [load(path) for path in sources]
            for path, saved in zip(sources, summaries):
                if saved["name"] != benchmark.name:
                    raise ValueError(f"{path} holds results of benchmark {saved['name']!r}, not {benchmark.name!r}")
            summary = merge(benchmark, summaries, args.device)
        except (ValueError, FileNotFoundError) as err:
            parser.error(f"--merge: {err}")
        save(summary, args.out)
        print(format_table(summary))
        print(f"\nmerged {len(sources)} files; results in {args.out}/{benchmark.name}.csv and .json")
        return

    out, created = None, False
    if not args.no_save:
        if args.out is None:
            out, created = fresh_run_folder(benchmark.name), True
        else:
            out = args.out
            saved = [p for p in (out / f"{benchmark.name}.json", out / f"{benchmark.name}.csv") if p.exists()]
            if saved and not (args.resume or args.overwrite):
                parser.error(
                    f"{saved[0]} already exists; pass --resume to keep its runs and add the missing ones, "
                    "or --overwrite to replace it"
                )
        print(f"results go to {out}/{benchmark.name}.csv and .json")

    start = time.perf_counter()
    try:
        summary = run(
            benchmark,
            seeds=range(args.first_seed, args.first_seed + args.seeds),
            models=args.models,
            device=args.device,
            out=out,
            references=not args.no_references,
            resume=args.resume,
        )
    except ValueError as err:
        if created and not any(out.iterdir()):
            out.rmdir()  # refused before the first run: leave no empty folder behind
        parser.error(str(err))
    print()
    print(format_table(summary))
    print(f"\ntotal {time.perf_counter() - start:.0f} s" + ("" if out is None else f"; results in {out}/{benchmark.name}.csv and .json"))


if __name__ == "__main__":
    main()
