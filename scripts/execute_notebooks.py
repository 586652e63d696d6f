"""Re-execute notebooks in place, in path order, each in a fresh kernel started in its own folder.

    python scripts/execute_notebooks.py book            # every notebook under book/
    python scripts/execute_notebooks.py book/01_background/first_taste.ipynb

The stored outputs are what the rendered book shows and what nbval checks. Each notebook
also records how it was executed, in its metadata under "genlab" → "executed" (genlab,
torch and Python versions, device, CPU, threads, seed, wall time, date); the book prints
it under each notebook page's title.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def notebooks(paths: list[str]) -> list[Path]:
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += [n for n in sorted(p.rglob("*.ipynb"))
                      if not any(part.startswith((".", "_build")) for part in n.parts)]
        elif p.suffix == ".ipynb":
            found.append(p)
        else:
            raise SystemExit(f"not a notebook or folder: {p}")
    return found


def execute(path: Path, timeout: int = 900) -> float:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    seconds = time.perf_counter() - start
    for cell in nb.cells:  # keep diffs small: no per-cell timestamps
        cell.metadata.pop("execution", None)
    nb.metadata.setdefault("genlab", {})["executed"] = execution_record(nb, seconds)
    nbformat.write(nb, path)
    return seconds


def execution_record(nb, seconds: float) -> dict:
    """How the notebook was just executed (the kernel runs in this process's environment)."""
    import torch

    import genlab

    seeds = [m.group(1) for cell in nb.cells if "parameters" in cell.metadata.get("tags", [])
             for m in [re.search(r"^SEED\s*=\s*(\d+)", cell.source, re.M)] if m]
    if torch.cuda.is_available():
        device = f"cuda ({torch.cuda.get_device_name(0)})"
    else:
        device = "cpu"
    threads = os.environ.get("OMP_NUM_THREADS") or str(torch.get_num_threads())
    return {
        "genlab": genlab.__version__, "torch": torch.__version__, "python": platform.python_version(),
        "device": device, "cpu": cpu_name(), "threads": int(threads),
        "seed": int(seeds[0]) if seeds else None, "seconds": round(seconds), "date": datetime.date.today().isoformat(),
    }


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description="Execute notebooks in place, from a clean kernel, in order.")
    parser.add_argument("paths", nargs="*", default=["book"], help="notebooks or folders (default: book)")
    parser.add_argument("--timeout", type=int, default=900, help="seconds any one cell may take (default 900)")
    args = parser.parse_args(argv)
    total = 0.0
    for path in notebooks(args.paths):
        seconds = execute(path, args.timeout)
        total += seconds
        print(f"{seconds:7.1f} s  {path}", flush=True)
    print(f"{total:7.1f} s  in all")


if __name__ == "__main__":
    main(sys.argv[1:])
