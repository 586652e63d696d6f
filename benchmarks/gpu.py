"""Steps per second of `genlab.fit` against a plain hand-written loop, on a GPU (or any device).

Four models — an MLP GAN on the ring, the DCGAN and the convolutional VAE on 8×8 digits,
SequenceRNN on sines — each trained by `fit` and by the loop people write (one `.item()`
per step), in fp32 and with bfloat16 autocast (CUDA only), interleaved, medians.
Goal on a GPU: fit / plain ≥ 0.95. Then the efficiency table of `efficiency.py` on the same
device (fp32, bf16 autocast, channels_last, torch.compile).

    python benchmarks/gpu.py [--device cuda] [--steps 300] [--repeats 3] [--out FILE [--overwrite]]

--out writes one JSON file: the efficiency table's fields at the top level (so chapter 6 can
read it as it reads efficiency.py's), with the device's name (torch.cuda.get_device_name on
a GPU), and under "fit_vs_plain" the rows of the first table, one per model and precision.
An existing file is kept unless --overwrite. `--device cpu` runs the same on the CPU.
"""

from __future__ import annotations

import argparse
import statistics
from contextlib import nullcontext
from pathlib import Path

import torch

import genlab
from efficiency import VARIANTS, device_name, format_table, table
from fit_overhead import batches, command_line, timed
from results import add_out_arguments, check_out, count, save, write_out  # noqa: F401 (save: for the tests)
from genlab import losses


def mlp_gan():
    return genlab.GAN.mlp(data_dim=2, latent_dim=2, hidden=128, depth=3)


def dcgan():
    return genlab.GAN.dcgan((1, 8, 8), latent_dim=32, channels=(64, 32))


def conv_vae():
    return genlab.VAE.conv((1, 8, 8), latent_dim=8, channels=(32, 64), lr=2e-3)


def sequence_rnn():
    return genlab.SequenceRNN(5, 24, hidden=64)


def plain_gan(model, data, steps, batch_size, autocast):
    g, d = model.generator, model.discriminator
    opt_g = torch.optim.Adam(g.parameters(), lr=model.lr, betas=model.betas)
    opt_d = torch.optim.Adam(d.parameters(), lr=model.lr, betas=model.betas)
    for real in batches(data, steps, batch_size):
        with autocast:
            fake = g(torch.randn(len(real), model.latent_dim, device=data.device))
            d_loss = losses.discriminator_loss(d(real).flatten(), d(fake.detach()).flatten())
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        with autocast:
            g_loss = losses.generator_loss(d(fake).flatten())
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        g_loss.item()


def plain_vae(model, data, steps, batch_size, autocast):
    opt = torch.optim.Adam(model.parameters(), lr=model.lr)
    for x in batches(data, steps, batch_size):
        with autocast:
            mu, logvar = model.encode(x)
            z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
            reconstruction = losses.bernoulli_log_likelihood(x, model.decode(z))
            loss = -(reconstruction - losses.gaussian_kl(mu, logvar)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss.item()


def plain_sequence(model, data, steps, batch_size, autocast):
    opt = torch.optim.Adam(model.parameters(), lr=model.lr)
    for x in batches(data, steps, batch_size):
        with autocast:
            loss = model.step_nll(x).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), model.clip_norm)
        opt.step()
        loss.item()


CASES = {
    "MLP GAN, ring": (mlp_gan, plain_gan, lambda: genlab.data.ring().sample(20_000, seed=0), 256),
    "DCGAN, digits": (dcgan, plain_gan, lambda: genlab.data.digits((-1, 1)).tensors[0], 128),
    "conv VAE, digits": (conv_vae, plain_vae, lambda: genlab.data.digits((0, 1)).tensors[0], 128),
    "SequenceRNN, sines": (sequence_rnn, plain_sequence, lambda: genlab.data.sines(2_000, 24, 5), 128),
}


def fit_vs_plain(device: torch.device, steps: int, repeats: int, cases=None, precisions=None) -> dict:
    """Steps per second of fit and of the plain loop for each case and precision, medians.

    precisions defaults to fp32, and bf16 autocast on CUDA (autocast here is CUDA's only)."""
    names = list(CASES) if cases is None else list(cases)
    unknown = [name for name in names if name not in CASES]
    if unknown:
        raise ValueError(f"unknown cases {unknown}; choose from {list(CASES)}")
    if precisions is None:
        precisions = ["fp32"] + (["bf16 autocast"] if device.type == "cuda" else [])
    bad = [p for p in precisions if p not in ("fp32", "bf16 autocast")]
    if bad or ("bf16 autocast" in precisions and device.type != "cuda"):
        raise ValueError(f"precisions must be 'fp32' or (on CUDA) 'bf16 autocast', got {list(precisions)} on {device}")
    rows = []
    for label in names:
        make, plain, data_fn, batch_size = CASES[label]
        data = data_fn().to(device)
        for precision in precisions:
            amp = precision != "fp32"

            def by_hand() -> None:
                torch.manual_seed(0)
                autocast = torch.autocast("cuda", dtype=torch.bfloat16) if amp else nullcontext()
                plain(make().to(device), data, steps, batch_size, autocast)

            def with_fit() -> None:
                torch.manual_seed(0)
                genlab.fit(make(), data, steps=steps, batch_size=batch_size, device=device, amp=amp,
                           progress=False)

            by_hand(), with_fit()  # warm-up (and CUDA kernels compiled)
            plain_times, fit_times = [], []
            for _ in range(repeats):
                plain_times.append(timed(by_hand, device))
                fit_times.append(timed(with_fit, device))
            p, f = statistics.median(plain_times), statistics.median(fit_times)
            rows.append({"model": label, "precision": precision, "batch_size": batch_size,
                         "plain_steps_per_s": steps / p, "fit_steps_per_s": steps / f, "ratio": p / f})
    return {"device_name": device_name(device), "steps": steps, "repeats": repeats, "rows": rows}


def format_fit_vs_plain(result: dict) -> str:
    lines = [f"{result['device_name']}; {result['steps']} steps, {result['repeats']} interleaved repeats, medians",
             f"{'model':22s} {'precision':>13s} {'plain steps/s':>14s} {'fit steps/s':>12s} {'fit / plain':>12s}"]
    for row in result["rows"]:
        lines.append(f"{row['model']:22s} {row['precision']:>13s} {row['plain_steps_per_s']:14.0f} "
                     f"{row['fit_steps_per_s']:12.0f} {row['ratio']:12.3f}")
    return "\n".join(lines)


def measure(device: torch.device, steps: int, repeats: int, efficiency_steps: int = 20, cases=None,
            variants=VARIANTS) -> dict:
    """Both tables in one result: the efficiency table's fields, plus "fit_vs_plain"."""
    comparison = fit_vs_plain(device, steps, repeats, cases)
    print(f"torch {torch.__version__}, " + format_fit_vs_plain(comparison))
    result = table(device, steps=efficiency_steps, repeats=repeats, variants=variants)
    print()
    print(format_table(result))
    return {**result, "fit_vs_plain": comparison}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=count, default=300)
    parser.add_argument("--repeats", type=count, default=3)
    add_out_arguments(parser, "both tables")
    args = parser.parse_args()
    check_out(parser, args)
    result = measure(torch.device(args.device), args.steps, args.repeats)
    result["command"] = command_line()
    write_out(result, args.out)


if __name__ == "__main__":
    main()
