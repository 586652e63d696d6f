"""How WGAN-GP's sample quality on the ring grows with its training budget.

    python benchmarks/wgan_budget.py                      # 3 seeds, up to 8,000 updates, prints only
    python benchmarks/wgan_budget.py --out book/05_analysis/results/wgan_budget.json

Trains the ring benchmark's WGAN-GP row (genlab.bench.toy2d, the same networks, data and
optimiser) for up to --steps generator updates and scores 2,500 samples every --every
updates with the PacGAN metric and the MMD² to the mixture. The ring table gives WGAN-GP
the GAN's compute (1,500 updates of five critic steps); this shows what more updates buy.
An existing --out file is kept unless --overwrite is given.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

from genlab.bench import toy2d


def trace(seed: int, steps: int, every: int) -> list[dict]:
    """Scores of the WGAN-GP row on the ring every `every` updates, for one seed."""
    points = []

    def measure(step, trained, history):
        points.append({"step": step, **toy2d.score("ring", trained.sample(toy2d.N_SAMPLES, 30_000 + seed))})

    toy2d.fit_recipe("ring", "WGAN-GP", seed, steps=steps, callback=measure, callback_every=every)
    return points


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=8_000)
    parser.add_argument("--every", type=int, default=500)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, help="write the traces here as JSON")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    args = parser.parse_args(argv)
    if args.out is not None and args.out.exists() and not args.overwrite:
        parser.error(f"{args.out} exists; pass --overwrite to replace it")
    torch.set_num_threads(args.threads)

    start = time.perf_counter()
    runs = {}
    for seed in range(args.seeds):
        runs[seed] = trace(seed, args.steps, args.every)
        last = runs[seed][-1]
        print(f"seed {seed}: " + ", ".join(f"{p['step']}: {100 * p['high_quality']:.0f}%" for p in runs[seed]
                                           if p["step"] in (1_500, 2_000, 4_000, 8_000) or p is last), flush=True)
    print(f"{'updates':>8s} {'HQ % (mean, min-max)':>22s} {'modes (min)':>12s} {'MMD² ×1e3 (mean)':>17s}")
    for i, point in enumerate(runs[0]):
        hq = [100 * r[i]["high_quality"] for r in runs.values()]
        modes = [r[i]["modes"] for r in runs.values()]
        mmd = [1e3 * r[i]["mmd"] for r in runs.values()]
        print(f"{point['step']:8d} {sum(hq) / len(hq):10.1f} ({min(hq):4.1f}-{max(hq):4.1f}) {min(modes):12d} "
              f"{sum(mmd) / len(mmd):17.2f}")
    print(f"total {time.perf_counter() - start:.0f} s")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.out.with_suffix(".tmp")
        tmp.write_text(json.dumps({"steps": args.steps, "every": args.every, "runs": runs}, indent=1))
        os.replace(tmp, args.out)  # never a half-written file
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
