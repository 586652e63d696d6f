"""Re-execute notebooks in place, in path order, each in a fresh kernel started in its own folder.

    python scripts/execute_notebooks.py book            # every notebook under book/
    python scripts/execute_notebooks.py book/01_background/first_taste.ipynb

The stored outputs are what the rendered book shows and what nbval checks.
"""

from __future__ import annotations

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
    nbformat.write(nb, path)
    return seconds


def main(argv: list[str]) -> None:
    total = 0.0
    for path in notebooks(argv or ["book"]):
        seconds = execute(path)
        total += seconds
        print(f"{seconds:7.1f} s  {path}", flush=True)
    print(f"{total:7.1f} s  in all")


if __name__ == "__main__":
    main(sys.argv[1:])
