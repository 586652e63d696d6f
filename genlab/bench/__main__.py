"""Command line: python -m genlab.bench ring|grid|stacked-digits|sines [--seeds N] [--models …]."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from genlab.bench import REGISTRY, format_table, get, run

DEFAULT_OUT = Path("book/05_analysis/results")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m genlab.bench", description=__doc__)
    parser.add_argument("benchmark", choices=sorted(REGISTRY))
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0 .. N-1 (default 10)")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--models", nargs="+", help="models to run (default: the benchmark's default set)")
    parser.add_argument("--no-references", action="store_true", help="skip the reference rows (true data, floors)")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"folder for NAME.csv and NAME.json (default {DEFAULT_OUT})")
    parser.add_argument("--no-save", action="store_true", help="print only")
    parser.add_argument("--resume", action="store_true", help="keep the runs already saved in --out instead of repeating them")
    parser.add_argument("--list", action="store_true", help="list the benchmark's models and exit")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")
    if args.threads:
        torch.set_num_threads(args.threads)

    benchmark = get(args.benchmark)
    if args.list:
        for name in benchmark.models:
            print(name + (" (default)" if name in benchmark.default_models else ""))
        return
    start = time.perf_counter()
    try:
        summary = run(
            benchmark,
            seeds=range(args.first_seed, args.first_seed + args.seeds),
            models=args.models,
            device=args.device,
            out=None if args.no_save else args.out,
            references=not args.no_references,
            resume=args.resume,
        )
    except ValueError as err:
        parser.error(str(err))
    print()
    print(format_table(summary))
    print(f"\ntotal {time.perf_counter() - start:.0f} s" + ("" if args.no_save else f"; results in {args.out}/{benchmark.name}.csv and .json"))


if __name__ == "__main__":
    main()
