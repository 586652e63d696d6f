"""Throughput of one image model four ways: fp32, bf16 autocast, channels_last and torch.compile.

The model is a DCGAN for 28×28 images (`GAN.dcgan((1, 28, 28), channels=(128, 64))`, the
size Fashion-MNIST needs), trained with batches of 128 random images in [-1, 1]: the data's
content does not change the arithmetic. For each variant it measures training throughput
(images per second; one discriminator and one generator update per step, by the model's own
`train_step`) and sampling throughput (images per second, batches of 1,024). Each variant is
built afresh, warmed up (torch.compile compiles then), and timed in interleaved repeats;
the table shows medians.

    python benchmarks/efficiency.py [--device cpu] [--steps 20] [--repeats 3] [--out FILE [--overwrite]]

--out writes the table as JSON with the device, the CPU or GPU name, torch's version and the
thread count, which chapter 6 shows beside the table. An existing file is kept unless --overwrite.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import statistics
from contextlib import nullcontext

import torch

import genlab
from fit_overhead import timed
from results import add_out_arguments, check_out, save, write_out  # noqa: F401 (save: part of this module's interface, tested)

VARIANTS = ("fp32", "bf16 autocast", "channels_last", "torch.compile")
BATCH, SAMPLES = 128, 1024


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor() or "unknown CPU"
    return f"{model}, {torch.get_num_threads()} threads"


def build(variant: str, device: torch.device) -> tuple[genlab.GAN, dict, object]:
    """The model, its optimizers and the autocast context of one variant."""
    torch.manual_seed(0)
    model = genlab.GAN.dcgan((1, 28, 28), latent_dim=64, channels=(128, 64)).to(device)
    if variant == "channels_last":
        model = model.to(memory_format=torch.channels_last)
    if variant == "torch.compile":
        model.generator = torch.compile(model.generator)
        model.discriminator = torch.compile(model.discriminator)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if variant == "bf16 autocast" else nullcontext()
    return model, model.configure_optimizers(), autocast


def measure(variant: str, device: torch.device, steps: int, repeats: int) -> dict[str, float]:
    model, optimizers, autocast = build(variant, device)
    data = torch.rand(BATCH, 1, 28, 28, device=device) * 2 - 1
    if variant == "channels_last":
        data = data.contiguous(memory_format=torch.channels_last)

    def train() -> None:
        for step in range(steps):
            with autocast:
                model.train_step(data, optimizers, step)

    def sample() -> None:
        with autocast:
            model.sample(SAMPLES)

    train(), sample()  # warm-up: compilation, allocator, CUDA kernels
    train_times, sample_times = [], []
    for _ in range(repeats):
        train_times.append(timed(train, device))
        sample_times.append(timed(sample, device))
    return {"train_images_per_s": steps * BATCH / statistics.median(train_times),
            "sample_images_per_s": SAMPLES / statistics.median(sample_times)}


def table(device: torch.device, steps: int, repeats: int, variants=VARIANTS) -> dict:
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        raise ValueError(f"unknown variants {sorted(unknown)}; choose from {VARIANTS}")
    rows = {}
    for variant in variants:
        try:
            rows[variant] = measure(variant, device, steps, repeats)
        except Exception as err:  # e.g. torch.compile without a C++ compiler: say so, keep the others
            rows[variant] = {"error": f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"}
    return {
        "model": "DCGAN 28×28, channels (128, 64), batch 128",
        "device": device.type,
        "device_name": device_name(device),
        "torch": torch.__version__,
        "genlab": genlab.__version__,
        "steps": steps,
        "repeats": repeats,
        "date": datetime.date.today().isoformat(),
        "rows": rows,
    }


def format_table(result: dict) -> str:
    lines = [f"{result['model']}; torch {result['torch']}, {result['device_name']}; medians of {result['repeats']}",
             f"{'variant':16s} {'train img/s':>12s} {'× fp32':>7s} {'sample img/s':>13s} {'× fp32':>7s}"]
    base = result["rows"].get("fp32", {})
    for variant, row in result["rows"].items():
        if "error" in row:
            lines.append(f"{variant:16s} failed: {row['error']}")
            continue
        ratios = [row[k] / base[k] if k in base else float("nan") for k in ("train_images_per_s", "sample_images_per_s")]
        lines.append(f"{variant:16s} {row['train_images_per_s']:12.0f} {ratios[0]:7.2f} "
                     f"{row['sample_images_per_s']:13.0f} {ratios[1]:7.2f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    add_out_arguments(parser)
    args = parser.parse_args()
    check_out(parser, args)
    if args.threads:
        torch.set_num_threads(args.threads)
    result = table(torch.device(args.device), args.steps, args.repeats)
    print(format_table(result))
    write_out(result, args.out)


if __name__ == "__main__":
    main()
