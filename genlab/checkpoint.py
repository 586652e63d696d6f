"""Checkpoints that are never half-written, never unpickle code, and say what is wrong with them.

A checkpoint holds everything needed to continue training exactly where it stopped —
model parameters, every optimizer's state by name, the step, the loss history, the
random-number-generator states — and two records in JSON:

- `run`: what the training run was (total steps, batch size, seed, a fingerprint of the
  data, each optimizer's settings), so that `fit(resume=True)` refuses to continue a
  different run and says what differs;
- `config`: the constructor and arguments that built the model (see
  `genlab.models.base.constructor`), so that `load(path)` rebuilds the trained model
  from the file alone.

Files are written to a temporary file and renamed over the target, so a crash leaves the
previous checkpoint intact, and loaded with `torch.load(weights_only=True)`, which
refuses anything but tensors and plain data.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

FORMAT_VERSION = 2


class CheckpointError(ValueError):
    """A checkpoint that cannot be used here; the message names the file and the reason."""


def rng_state() -> dict[str, object]:
    """The global torch RNG states (CPU, and every CUDA device when present)."""
    state: dict[str, object] = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, object]) -> None:
    """Restore the random number generators from a state that `rng_state` returned."""
    torch.set_rng_state(state["cpu"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


def _temporary_prefix(path: Path) -> str:
    return f".{path.name}."


def atomic_save(obj: object, path: str | os.PathLike) -> None:
    """torch.save to a temporary file beside `path`, then rename it over `path`.

    The rename is atomic on POSIX and Windows, so a crash mid-write leaves the
    previous file untouched and never a truncated one.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"checkpoint path {path} is a directory; give a file name such as {path / 'model.pt'}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=_temporary_prefix(path), suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_orphans(path: str | os.PathLike) -> list[Path]:
    """Delete temporary files that a killed writer left beside `path`; return them."""
    path = Path(path)
    if not path.parent.is_dir():
        return []
    orphans = sorted(path.parent.glob(f"{_temporary_prefix(path)}*.tmp"))
    for orphan in orphans:
        orphan.unlink(missing_ok=True)
    return orphans


def snapshot_path(path: str | os.PathLike, step: int) -> Path:
    """Where the copy of the checkpoint at `step` is kept when more than one is kept."""
    path = Path(path)
    return path.with_name(f"{path.stem}.step{step:09d}{path.suffix}")


def snapshots(path: str | os.PathLike) -> list[Path]:
    """The kept copies of `path`, oldest first."""
    path = Path(path)
    pattern = re.compile(re.escape(path.stem) + r"\.step(\d{9})" + re.escape(path.suffix) + "$")
    found = [p for p in path.parent.glob(f"{path.stem}.step*{path.suffix}") if pattern.match(p.name)]
    return sorted(found)


# --- JSON records --------------------------------------------------------------------------------


def _to_json(value: Any) -> Any:
    from genlab.data.text import Vocabulary  # a constructor argument of the text models

    if isinstance(value, Vocabulary):
        return {"__vocabulary__": "".join(value.characters)}
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _to_json(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"{type(value).__name__} cannot be stored in a checkpoint's JSON record")


def _from_json(value: Any) -> Any:
    from genlab.data.text import Vocabulary

    if isinstance(value, dict):
        if set(value) == {"__vocabulary__"}:
            return Vocabulary(value["__vocabulary__"])
        return {k: _from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return tuple(_from_json(v) for v in value)
    return value


def encode_config(config: Mapping[str, Any] | None) -> str | None:
    """The model's constructor record as JSON, or None when it cannot be stored (custom networks)."""
    if config is None:
        return None
    try:
        return json.dumps(_to_json(config))
    except TypeError:
        return None


# --- saving and loading --------------------------------------------------------------------------


def save_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    optimizers: Mapping[str, torch.optim.Optimizer],
    *,
    step: int,
    history: Mapping[str, list[float]] | None = None,
    run: Mapping[str, Any] | None = None,
    keep: int = 1,
) -> None:
    """Write a complete training state to `path` atomically.

    With keep = k > 1 a copy is also kept as `<stem>.step<N><suffix>` and only the newest
    k copies remain, so a run can go back further than its last checkpoint.
    """
    state = {
        "format": FORMAT_VERSION,
        "step": step,
        "model": model.state_dict(),
        "optimizers": {name: opt.state_dict() for name, opt in optimizers.items()},
        "history": {k: list(v) for k, v in (history or {}).items()},
        "rng": rng_state(),
        "run": json.dumps(_to_json(run)) if run is not None else None,
        "config": encode_config(getattr(model, "config", None)),
    }
    atomic_save(state, path)
    if keep > 1:
        atomic_save(state, snapshot_path(path, step))
        for old in snapshots(path)[:-keep]:
            old.unlink(missing_ok=True)


def read_checkpoint(path: str | os.PathLike, map_location: str | torch.device | None = None) -> dict[str, Any]:
    """The raw contents of a genlab checkpoint; every failure is a CheckpointError naming the path."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f"{path} holds more than tensors and plain data, and genlab never unpickles code: refused ({err})"
        ) from err
    except Exception as err:  # truncated, overwritten, not a torch file at all
        raise CheckpointError(
            f"{path} is damaged or not a checkpoint ({type(err).__name__}: {err}); resume from an older copy "
            f"(fit(keep=...) keeps several) or start afresh"
        ) from err
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT_VERSION:
        found = ckpt.get("format") if isinstance(ckpt, dict) else type(ckpt).__name__
        raise CheckpointError(f"{path} is not a genlab checkpoint of format {FORMAT_VERSION} (found {found!r})")
    for key in ("run", "config"):
        ckpt[key] = _from_json(json.loads(ckpt[key])) if ckpt.get(key) is not None else None
    return ckpt


def _check_compatible(path: Path, ckpt: Mapping[str, Any], model: nn.Module, optimizers: Mapping) -> None:
    """Raise CheckpointError, before anything is loaded, if the checkpoint does not fit."""
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in ckpt["model"].items()}
    if expected != found:
        missing = sorted(expected.keys() - found.keys())
        unexpected = sorted(found.keys() - expected.keys())
        resized = sorted(k for k in expected.keys() & found.keys() if expected[k] != found[k])
        details = "; ".join(
            f"{label}: {', '.join(items[:4])}{' …' if len(items) > 4 else ''}"
            for label, items in (("missing", missing), ("unexpected", unexpected), ("other shape", resized))
            if items
        )
        raise CheckpointError(f"{path} was saved from a different model ({details})")
    if optimizers:
        saved = ckpt["optimizers"]
        if set(saved) != set(optimizers):
            raise CheckpointError(
                f"{path} holds optimizers {sorted(saved)} but the model has {sorted(optimizers)}"
            )
        for name, opt in optimizers.items():
            sizes = [len(g["params"]) for g in opt.param_groups]
            saved_sizes = [len(g["params"]) for g in saved[name]["param_groups"]]
            if sizes != saved_sizes:
                raise CheckpointError(f"{path}: optimizer {name!r} has parameter groups of sizes {saved_sizes} there, {sizes} here")


def load_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    optimizers: Mapping[str, torch.optim.Optimizer] | None = None,
    *,
    map_location: str | torch.device | None = None,
    restore_rng: bool = True,
) -> dict[str, Any]:
    """Restore model (and optimizers, and RNG states) from `path`; return the raw checkpoint.

    Everything is checked before anything is loaded, so a checkpoint that does not fit
    leaves the model and optimizers as they were.

    Raises:
        FileNotFoundError: there is no file at `path`.
        CheckpointError: the file is damaged, refused, or from a different model.
    """
    path = Path(path)
    ckpt = read_checkpoint(path, map_location)
    _check_compatible(path, ckpt, model, optimizers or {})
    model.load_state_dict(ckpt["model"])
    for name, opt in (optimizers or {}).items():
        opt.load_state_dict(ckpt["optimizers"][name])
    if restore_rng:
        set_rng_state(ckpt["rng"])
    return ckpt


def load(path: str | os.PathLike, device: str | torch.device | None = None) -> nn.Module:
    """The trained model saved at `path`, rebuilt from its constructor record, in eval mode.

    Works for every model made by one of genlab's constructors (`GAN.dcgan`, `VAE.conv`,
    `CharRNN(...)`, …). A model built around networks of your own has no record: build it
    the same way and call `load_checkpoint(path, model)`.
    """
    from genlab.models.base import REGISTRY

    path = Path(path)
    ckpt = read_checkpoint(path, map_location="cpu")
    config = ckpt["config"]
    if config is None:
        raise CheckpointError(
            f"{path} has no constructor record: the model was built from networks of your own. Build it the "
            f"same way and call genlab.load_checkpoint({str(path)!r}, model)"
        )
    cls = REGISTRY.get(config["class"])
    if cls is None:
        raise CheckpointError(f"{path} holds a {config['class']}, which is not a model genlab knows")
    make = cls if config["constructor"] == "__init__" else getattr(cls, config["constructor"])
    model = make(**config["arguments"])
    _check_compatible(path, ckpt, model, {})
    model.load_state_dict(ckpt["model"])
    if device is not None:
        model.to(device)
    return model.eval()
