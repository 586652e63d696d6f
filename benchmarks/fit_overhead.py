"""How much does `genlab.fit` cost over a bare hand-written loop?

Both train the same MLP GAN on the same ring data with the same batches; the
runs are interleaved so that machine noise hits both alike, and the fastest of
several repeats is compared. Target: ratio ≤ 1.05.

    python benchmarks/fit_overhead.py [--steps 1000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

import torch

import genlab
from genlab.train import EpochSampler


def make_model() -> genlab.GAN:
    torch.manual_seed(0)
    return genlab.GAN.mlp(data_dim=2, latent_dim=2, hidden=128, depth=3)


def bare_loop(data: torch.Tensor, steps: int, batch_size: int) -> float:
    model = make_model()
    optimizers = model.configure_optimizers()
    torch.manual_seed(0)
    start = time.perf_counter()
    sampler = EpochSampler(len(data), batch_size, seed=0, device=data.device)
    for step in range(steps):
        model.train_step(data[sampler.indices(step)], optimizers)
    return time.perf_counter() - start


def with_fit(data: torch.Tensor, steps: int, batch_size: int) -> float:
    model = make_model()
    start = time.perf_counter()
    genlab.fit(model, data, steps=steps, batch_size=batch_size, device="cpu", seed=0, progress=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    data = genlab.data.ring().sample(100_000, seed=0)
    bare, fit = [], []
    with_fit(data, 50, args.batch_size)  # warm-up
    for _ in range(args.repeats):
        bare.append(bare_loop(data, args.steps, args.batch_size))
        fit.append(with_fit(data, args.steps, args.batch_size))
    b, f = min(bare), min(fit)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.steps} steps x {args.repeats} repeats")
    print(f"bare loop : {b:.3f} s  ({args.steps / b:.0f} steps/s)")
    print(f"genlab.fit: {f:.3f} s  ({args.steps / f:.0f} steps/s)")
    print(f"ratio fit / bare = {f / b:.3f}  (target <= 1.05)")


if __name__ == "__main__":
    main()
