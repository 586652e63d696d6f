"""Checkpoints that are never half-written and load with `weights_only=True`.

A checkpoint holds everything needed to continue training exactly where it
stopped: model parameters, optimizer states, the step, the loss history and the
random-number-generator states.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

FORMAT_VERSION = 1


def rng_state() -> dict[str, object]:
    """The global torch RNG states (CPU, and every CUDA device when present)."""
    state: dict[str, object] = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, object]) -> None:
    torch.set_rng_state(state["cpu"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


def atomic_save(obj: object, path: str | os.PathLike) -> None:
    """torch.save to a temporary file beside `path`, then rename it over `path`.

    The rename is atomic on POSIX and Windows, so a crash mid-write leaves the
    previous file untouched and never a truncated one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    optimizers: Sequence[torch.optim.Optimizer],
    *,
    step: int,
    history: dict[str, list[float]] | None = None,
) -> None:
    """Write a complete training state to `path` atomically."""
    atomic_save(
        {
            "format": FORMAT_VERSION,
            "step": step,
            "model": model.state_dict(),
            "optimizers": [opt.state_dict() for opt in optimizers],
            "history": {k: list(v) for k, v in (history or {}).items()},
            "rng": rng_state(),
        },
        path,
    )


def load_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    optimizers: Sequence[torch.optim.Optimizer] = (),
    *,
    map_location: str | torch.device | None = None,
    restore_rng: bool = True,
) -> dict[str, object]:
    """Restore model (and optimizers, and RNG states) from `path`; return the raw checkpoint.

    Raises FileNotFoundError naming the path when it does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    ckpt = torch.load(path, map_location=map_location, weights_only=True)
    if ckpt.get("format") != FORMAT_VERSION:
        raise ValueError(f"{path} is not a genlab checkpoint of format {FORMAT_VERSION}")
    model.load_state_dict(ckpt["model"])
    if optimizers:
        if len(optimizers) != len(ckpt["optimizers"]):
            raise ValueError(
                f"{path} holds {len(ckpt['optimizers'])} optimizer states but the model has {len(optimizers)} optimizers"
            )
        for opt, state in zip(optimizers, ckpt["optimizers"]):
            opt.load_state_dict(state)
    if restore_rng:
        set_rng_state(ckpt["rng"])
    return ckpt
