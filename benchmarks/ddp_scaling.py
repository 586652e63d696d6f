"""Data-parallel scaling of `genlab.fit`: N processes under torchrun, one global batch.

For each N > 1 in --nproc the script starts itself N times with

    python -m torch.distributed.run --standalone --nproc_per_node N benchmarks/ddp_scaling.py --worker ...

and for N = 1 (always measured: the baseline) once as a plain process, without torchrun and
so without DDP: the speed-up is over `fit` as one runs it without thinking of processes.

Every process sets `torch.set_num_threads(--threads)` and trains the same model with
`genlab.fit` and the same *global* batch (--batch-size, default 128): each process computes
1/N of it and DistributedDataParallel averages the gradients (gloo on the CPU, NCCL on
CUDA). After a warm-up fit, --repeats fits of --steps steps are timed and rank 0 writes the
median to a temporary JSON file that this launcher reads. The models are a DCGAN for 28×28
images (`GAN.dcgan((1, 28, 28), latent_dim=32, channels=(64, 32))`) and a convolutional VAE,
on synthetic 28×28 images drawn from a seeded generator (no data is downloaded: the content
of the images does not change the arithmetic).

Each row gives steps/s, images/s, the speed-up over one process and the parallel
efficiency (speed-up / cores used). On the CPU one more row per N > 1 trains in *one*
process with N × --threads threads and no DDP: the same cores used by intra-op threading,
the comparison that says whether processes are worth it there.

    python benchmarks/ddp_scaling.py [--nproc 1 2] [--threads 1] [--models dcgan vae]
        [--steps 60] [--repeats 3] [--out FILE [--overwrite]]

On a larger machine, or on GPUs (process i uses GPU LOCAL_RANK = i; `fit` does this when
device="cuda"):

    python benchmarks/ddp_scaling.py --nproc 1 2 4 8
    python benchmarks/ddp_scaling.py --nproc 1 2 4 8 --device cuda --batch-size 1024

--out writes every row as JSON with the machine (CPU model from /proc/cpuinfo, cores, GPU
name on CUDA), torch's and genlab's versions, the settings and the date. An existing file
is kept unless --overwrite is given.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch

import genlab
from results import add_out_arguments, check_out, write_out

MODELS = ("dcgan", "vae")
IMAGES = 4096  # synthetic 28×28 training images


def make_model(name: str) -> genlab.Trainable:
    torch.manual_seed(0)
    if name == "dcgan":
        return genlab.GAN.dcgan((1, 28, 28), latent_dim=32, channels=(64, 32))
    if name == "vae":
        return genlab.VAE.conv((1, 28, 28), latent_dim=16, channels=(32, 64))
    raise ValueError(f"unknown model {name!r}; choose from {MODELS}")


DESCRIPTIONS = {
    "dcgan": "DCGAN 28×28, latent 32, channels (64, 32)",
    "vae": "conv VAE 28×28, latent 16, channels (32, 64)",
}


def make_data(name: str, n: int = IMAGES) -> torch.Tensor:
    """n random 28×28 images from a seeded generator: in [-1, 1] for the GAN, [0, 1] for the VAE."""
    g = torch.Generator().manual_seed(0)
    images = torch.rand(n, 1, 28, 28, generator=g)
    return images * 2 - 1 if name == "dcgan" else images


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown CPU"


# ---------------------------------------------------------------------------------------------
# one process of a run (started by torchrun)


def worker(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    # DDP on the CPU: batch norm uses each process's statistics (fit warns once per fit); the
    # timing does not depend on it
    warnings.filterwarnings("ignore", message="batch norm on the CPU")
    device = torch.device(args.device)
    data = make_data(args.model, max(IMAGES, args.batch_size))

    def run(steps: int) -> float:
        model = make_model(args.model)
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        genlab.fit(model, data, steps=steps, batch_size=args.batch_size, device=device, seed=0, progress=False)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start

    run(args.warmup)  # also joins the process group: not timed
    seconds = [run(args.steps) for _ in range(args.repeats)]
    if genlab.distributed.rank() == 0:
        result = {"seconds": statistics.median(seconds), "all_seconds": seconds,
                  "world_size": int(os.environ.get("WORLD_SIZE", "1")), "threads": torch.get_num_threads()}
        if device.type == "cuda":
            result["device_name"] = torch.cuda.get_device_name(genlab.distributed.local_device(device))
        tmp = Path(args.result).with_suffix(".tmp")
        tmp.write_text(json.dumps(result))
        os.replace(tmp, args.result)
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


# ---------------------------------------------------------------------------------------------
# the launcher


def launch(model: str, processes: int, threads: int, *, device: str, batch_size: int, steps: int,
           warmup: int, repeats: int, timeout: float = 1800) -> dict:
    """Run `processes` processes of `threads` threads (under torchrun when more than one); rank 0's timing."""
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "timing.json"
        # one process runs plainly, without torchrun: the baseline is fit as everyone runs it, no DDP
        launcher = [sys.executable] if processes == 1 else [
            sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}"]
        command = [*launcher, str(Path(__file__).resolve()), "--worker", "--result", str(result), "--models", model,
                   "--device", device, "--threads", str(threads), "--batch-size", str(batch_size),
                   "--steps", str(steps), "--warmup", str(warmup), "--repeats", str(repeats)]
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)
        if done.returncode != 0 or not result.is_file():
            raise RuntimeError(f"{processes} process(es) of {model} failed (exit {done.returncode}):\n"
                               f"{done.stderr[-3000:]}")
        return json.loads(result.read_text())


def measure(models=("dcgan",), nproc=(1, 2), *, threads: int = 1, device: str = "cpu", batch_size: int = 128,
            steps: int = 60, warmup: int = 5, repeats: int = 3, threads_rows: bool | None = None,
            report=print, timeout: float = 1800) -> dict:
    """Time every model on every N in `nproc` (1 is always included: the baseline).

    threads_rows (default: on the CPU) adds, for each N > 1, one process of N × threads threads;
    a launch that takes longer than `timeout` seconds is stopped with an error."""
    models, nproc = list(models), sorted(set(nproc) | {1})
    unknown = [m for m in models if m not in MODELS]
    if unknown or not models:
        raise ValueError(f"models must be some of {MODELS}, got {models}")
    for name, value in (("threads", threads), ("batch_size", batch_size), ("steps", steps), ("warmup", warmup),
                        ("repeats", repeats), *((f"nproc {n}", n) for n in nproc)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer ≥ 1, got {value!r}")
    bad = [n for n in nproc if batch_size % n]
    if bad:
        raise ValueError(f"batch_size {batch_size} is the global batch, split over the processes: "
                         f"it must be a multiple of every --nproc, not of {bad}")
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
    if device == "cuda" and torch.cuda.device_count() < max(nproc):
        raise ValueError(f"--nproc {max(nproc)} needs {max(nproc)} GPUs; this machine has {torch.cuda.device_count()}")
    if threads_rows is None:
        threads_rows = device == "cpu"
    settings = dict(device=device, batch_size=batch_size, steps=steps, warmup=warmup, repeats=repeats,
                    timeout=timeout)
    rows = []
    for model in models:
        runs = [(n, threads) for n in nproc]
        if threads_rows:
            runs += [(1, n * threads) for n in nproc if n > 1]
        base = None
        for processes, t in runs:
            timing = launch(model, processes, t, **settings)
            seconds = timing["seconds"]
            row = {"model": model, "processes": processes, "threads_per_process": t, "ddp": processes > 1,
                   "cores": processes * t, "seconds": seconds, "all_seconds": timing["all_seconds"],
                   "steps_per_s": steps / seconds, "images_per_s": steps * batch_size / seconds}
            if "device_name" in timing:
                row["device_name"] = timing["device_name"]
            base = base if base is not None else row["steps_per_s"]  # the first run: 1 process, `threads` threads
            row["speedup"] = row["steps_per_s"] / base
            row["efficiency"] = row["speedup"] / (processes if device == "cuda" else processes * t / threads)
            rows.append(row)
            if report is not None:
                report(format_row(row))
    info = {
        "description": "genlab.fit under torchrun --standalone; global batch split over the processes",
        "models": {m: DESCRIPTIONS[m] for m in models},
        "images": f"{max(IMAGES, batch_size)} synthetic 28×28 images (seeded torch.rand)",
        "device": device,
        "device_name": (rows[0].get("device_name") if device == "cuda" else None) or cpu_name(),
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "genlab": genlab.__version__,
        "python": platform.python_version(),
        "threads": threads,
        "nproc": nproc,
        "date": datetime.date.today().isoformat(),
        **{k: v for k, v in settings.items() if k != "device"},
        "rows": rows,
    }
    return info


HEADER = (f"{'model':6s} {'processes':>9s} {'threads':>8s} {'DDP':>4s} {'steps/s':>8s} {'images/s':>9s} "
          f"{'speed-up':>9s} {'efficiency':>11s}")


def format_row(row: dict) -> str:
    return (f"{row['model']:6s} {row['processes']:9d} {row['threads_per_process']:8d} "
            f"{'yes' if row['ddp'] else 'no':>4s} {row['steps_per_s']:8.2f} {row['images_per_s']:9.0f} "
            f"{row['speedup']:8.2f}× {row['efficiency']:10.0%}")


def format_table(result: dict) -> str:
    lines = [f"{result['device_name']} ({result['cores']} cores), torch {result['torch']}; global batch "
             f"{result['batch_size']}, medians of {result['repeats']} fits of {result['steps']} steps", HEADER]
    lines += [format_row(row) for row in result["rows"]]
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nproc", type=int, nargs="+", default=[1, 2], help="numbers of processes (default 1 2)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process (default 1)")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--batch-size", type=int, default=128, help="the global batch (default 128)")
    parser.add_argument("--steps", type=int, default=60, help="steps per timed fit")
    parser.add_argument("--warmup", type=int, default=5, help="steps of the untimed first fit")
    parser.add_argument("--repeats", type=int, default=3, help="timed fits; the median is reported")
    add_out_arguments(parser, "the rows")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        if not args.result:
            parser.error("--worker needs --result FILE, where rank 0 writes its timing")
        args.model = args.models[0]
        worker(args)
        return
    check_out(parser, args)
    try:
        print(HEADER)
        result = measure(args.models, args.nproc, threads=args.threads, device=args.device,
                         batch_size=args.batch_size, steps=args.steps, warmup=args.warmup, repeats=args.repeats)
    except ValueError as err:
        parser.error(str(err))
    result["command"] = " ".join(["python", "benchmarks/ddp_scaling.py", *(sys.argv[1:] if argv is None else argv)])
    print()
    print(format_table(result))
    write_out(result, args.out)


if __name__ == "__main__":
    main()
