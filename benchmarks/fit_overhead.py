"""How much does `genlab.fit` cost over the loop people write by hand?

For each model, the same networks, data, optimizer settings and batch size are trained
twice: by `genlab.fit`, and by a plain loop written as in a tutorial — draw a batch,
compute the loss, `zero_grad`, `backward`, `step`, and one `.item()` per step to log it.
The runs are interleaved (plain, fit, plain, fit, …) so that machine noise hits both
alike, and the medians are compared. Target: fit / plain ≥ 0.97 in samples per second.

    python benchmarks/fit_overhead.py [--steps 600] [--repeats 5] [--device cpu] [--out FILE [--overwrite]]

--out writes the rows as JSON with the device's name, torch's and genlab's versions, the
thread count, the steps, the repeats and the date (the appendix page *Performance* shows
it). An existing file is kept unless --overwrite is given.
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import time
from pathlib import Path

import torch

import genlab
from results import add_out_arguments, check_out, count, write_out
from genlab import losses


def digits(device: torch.device, value_range=(0, 1)) -> torch.Tensor:
    return genlab.data.digits(value_range).tensors[0].to(device)


def make_vae() -> genlab.VAE:
    torch.manual_seed(0)  # 64-256-8: one hidden layer of 256 units, 8 latent dimensions
    return genlab.VAE.mlp(data_dim=64, latent_dim=8, hidden=256, depth=1, likelihood="bernoulli", lr=1e-3)


def make_dcgan() -> genlab.GAN:
    torch.manual_seed(0)
    return genlab.GAN.dcgan((1, 8, 8), latent_dim=32, channels=(64, 32), lr=2e-4)


def batches(data: torch.Tensor, steps: int, batch_size: int):
    """A fresh permutation each epoch, incomplete batches dropped: what fit does, written plainly."""
    per_epoch = len(data) // batch_size
    for step in range(steps):
        if step % per_epoch == 0:
            perm = torch.randperm(len(data), device=data.device)
        k = step % per_epoch
        yield data[perm[k * batch_size : (k + 1) * batch_size]]


def plain_vae(data: torch.Tensor, steps: int, batch_size: int) -> list[float]:
    model = make_vae().to(data.device)
    opt = torch.optim.Adam(model.parameters(), lr=model.lr)
    log = []
    for x in batches(data, steps, batch_size):
        mu, logvar = model.encoder(x).chunk(2, dim=-1)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        reconstruction = losses.bernoulli_log_likelihood(x, model.decoder(z))
        loss = -(reconstruction - losses.gaussian_kl(mu, logvar)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        log.append(loss.item())
    return log


def plain_dcgan(data: torch.Tensor, steps: int, batch_size: int) -> list[float]:
    model = make_dcgan().to(data.device)
    g, d = model.generator, model.discriminator
    opt_g = torch.optim.Adam(g.parameters(), lr=model.lr, betas=model.betas)
    opt_d = torch.optim.Adam(d.parameters(), lr=model.lr, betas=model.betas)
    log = []
    for real in batches(data, steps, batch_size):
        fake = g(torch.randn(len(real), model.latent_dim, device=data.device))
        d_loss = losses.discriminator_loss(d(real).flatten(), d(fake.detach()).flatten())
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        g_loss = losses.generator_loss(d(fake).flatten())
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        log.append(g_loss.item())
    return log


CASES = {
    "VAE 64-256-8, digits": (make_vae, plain_vae, lambda dev: digits(dev).flatten(1), 128),
    "DCGAN (64, 32), 8x8 digits": (make_dcgan, plain_dcgan, lambda dev: digits(dev, (-1, 1)), 128),
}


def timed(fn, device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def measure(device: torch.device, steps: int, repeats: int, cases=None, catalogue: dict | None = None) -> dict:
    """fit against the plain loop for each case (default all of `catalogue`, itself by default this
    script's CASES): samples per second, medians. A catalogue maps a name to (make the model,
    plain loop(data, steps, batch_size), data on a device, batch size)."""
    catalogue = CASES if catalogue is None else catalogue
    from efficiency import device_name  # efficiency.py imports `timed` from here: imported late

    for name, value, minimum in (("steps", steps, 1), ("repeats", repeats, 1)):
        if not isinstance(value, int) or value < minimum:
            raise ValueError(f"{name} must be an integer ≥ {minimum}, got {value!r}")
    names = list(catalogue) if cases is None else list(cases)
    unknown = [name for name in names if name not in catalogue]
    if unknown:
        raise ValueError(f"unknown cases {unknown}; choose from {list(catalogue)}")
    rows = []
    for name in names:
        make, plain, data_fn, batch_size = catalogue[name]
        data = data_fn(device)

        def with_fit() -> None:
            genlab.fit(make(), data, steps=steps, batch_size=batch_size, device=device, seed=0, progress=False)

        def by_hand() -> None:
            torch.manual_seed(0)
            plain(data, steps, batch_size)

        by_hand(), with_fit()  # warm-up
        plain_times, fit_times = [], []
        for _ in range(repeats):
            plain_times.append(timed(by_hand, device))
            fit_times.append(timed(with_fit, device))
        p, f = statistics.median(plain_times), statistics.median(fit_times)
        rows.append({"model": name, "batch_size": batch_size,
                     "plain_samples_per_s": steps * batch_size / p, "fit_samples_per_s": steps * batch_size / f,
                     "ratio": p / f})
    return {
        "device": device.type,
        "device_name": device_name(device),
        "torch": torch.__version__,
        "genlab": genlab.__version__,
        "threads": torch.get_num_threads(),
        "steps": steps,
        "repeats": repeats,
        "date": datetime.date.today().isoformat(),
        "rows": rows,
    }


def command_line() -> str:
    """How this script was run, as the reader would type it (the environment's thread setting first)."""
    threads = os.environ.get("OMP_NUM_THREADS")
    prefix = f"OMP_NUM_THREADS={threads} " if threads else ""
    return prefix + " ".join(["python", "benchmarks/" + Path(sys.argv[0]).name, *sys.argv[1:]])


def format_table(result: dict) -> str:
    lines = [f"torch {result['torch']}, {result['device_name']}, {result['steps']} steps, "
             f"{result['repeats']} interleaved repeats, medians",
             f"{'model':28s} {'plain loop':>14s} {'genlab.fit':>14s} {'fit / plain':>12s}"]
    for row in result["rows"]:
        lines.append(f"{row['model']:28s} {row['plain_samples_per_s']:9.0f} /s   "
                     f"{row['fit_samples_per_s']:9.0f} /s   {row['ratio']:11.3f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=count, default=600)
    parser.add_argument("--repeats", type=count, default=5)
    parser.add_argument("--device", default="cpu")
    add_out_arguments(parser, "the rows")
    args = parser.parse_args()
    check_out(parser, args)
    result = measure(torch.device(args.device), args.steps, args.repeats)
    result["command"] = command_line()
    print(format_table(result))
    write_out(result, args.out)


if __name__ == "__main__":
    main()
