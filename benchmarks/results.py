"""Writing a benchmark's result as JSON: `--out FILE [--overwrite]`, shared by the scripts whose
results the book reads. An existing file is never replaced without --overwrite, and a file is
never half-written."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path


def save(result: dict, path: Path) -> None:
    """Write `result` to `path` as JSON, atomically: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def add_out_arguments(parser: argparse.ArgumentParser, what: str = "the table") -> None:
    parser.add_argument("--out", type=Path, help=f"write {what} here as JSON")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out file")


def check_out(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse, before anything is measured, to replace an existing --out file without --overwrite."""
    if args.out is not None and args.out.exists() and not args.overwrite:
        parser.error(f"--out {args.out} exists; pass --overwrite to replace it")


def write_out(result: dict, out: Path | None) -> None:
    """Save `result` to `out` (when given) and say where."""
    if out is not None:
        save(result, out)
        print(f"written to {out}")


def count(text: str) -> int:
    """An argparse type: an integer ≥ 1 (steps, repeats), or an error naming the value."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value
