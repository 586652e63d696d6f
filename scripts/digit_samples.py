"""Save the first samples of some digits rows, trained exactly as in their table, for a page to show.

    python scripts/digit_samples.py "VAE-GAN" "VAE-GAN, γ = 0.01" --seed 0 --out samples.npz

The file holds `rows` (the row names), `samples` (rows × n × 8 × 8, in [-1, 1]) and `seed`;
it is read with numpy.load (no pickles). An existing file is kept unless --overwrite.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from genlab.bench import digits


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rows", nargs="+", help=f"rows of the digits benchmark: {', '.join(digits.RECIPES)}")
    parser.add_argument("--seed", type=int, default=0, help="the training seed (default 0)")
    parser.add_argument("-n", type=int, default=24, help="samples per row (default 24)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1, as the tables)")
    parser.add_argument("--out", type=Path, required=True, help="the .npz file to write")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    args = parser.parse_args(argv)
    unknown = [row for row in args.rows if row not in digits.RECIPES]
    if unknown:
        parser.error(f"unknown row(s) {unknown}; choose from {list(digits.RECIPES)}")
    if args.out.exists() and not args.overwrite:
        parser.error(f"--out {args.out} exists; pass --overwrite to replace it")
    torch.set_num_threads(args.threads)
    samples = []
    for row in args.rows:
        print(f"training {row!r}, seed {args.seed}", file=sys.stderr)
        samples.append(digits.row_samples(row, args.seed, args.n).squeeze(1).numpy())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    partial = args.out.with_suffix(".partial.npz")
    np.savez_compressed(partial, rows=np.array(args.rows), samples=np.stack(samples), seed=np.array(args.seed))
    partial.replace(args.out)


if __name__ == "__main__":
    main()
