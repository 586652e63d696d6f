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

Every checkpoint also records a SHA-256 digest of each tensor's bytes and one of everything
else (the step, the history, both records, the optimizers' settings); loading recomputes them,
so a flipped bit or a hand edit is a `CheckpointError` that names the file and the tensor.
Checkpoints written before digests were recorded (format 2) still load, with a warning
that their contents cannot be verified.

A damaged or edited file of any kind is a `CheckpointError` naming the path and what is
wrong, found before anything large is allocated: `load` builds the model on PyTorch's "meta"
device first (no memory) and compares its shapes with the tensors the file actually holds.
"""

from __future__ import annotations

import contextlib
import copy
import errno
import hashlib
import json
import os
import pickle
import re
import socket
import tempfile
import time
import warnings
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from genlab.records import from_json, to_json

FORMAT_VERSION = 3
# format 2: the same contents without digests; still read, with a warning
READABLE_FORMATS = (2, 3)


class CheckpointError(ValueError):
    """A checkpoint that cannot be used here; the message names the file and the reason."""


class CheckpointInUse(CheckpointError):
    """Another run is writing this checkpoint; the message names the path and that run's process."""


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
    """`.NAME.PID@HOST.`: the writer's process and machine are part of every temporary name, so
    that the clean-up of orphans can tell a dead writer's file from a live one's."""
    return f".{path.name}.{os.getpid()}@{socket.gethostname()}."


def _explain_write_error(err: BaseException, path: Path) -> OSError | None:
    """A clear OSError for a write that failed because the disk is full, else None.

    A full disk shows up as OSError(ENOSPC) (or EDQUOT, over quota) when Python writes, and as
    PyTorch's RuntimeError "... unexpected pos ..." or "... file write failed" when its zip
    writer does.
    """
    full = isinstance(err, OSError) and err.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
    if isinstance(err, RuntimeError) and any(m in str(err) for m in ("unexpected pos", "file write failed")):
        full = True
    if not full:
        return None
    try:
        stats = os.statvfs(path.parent)
        free = f"{stats.f_bavail * stats.f_frsize / 2**20:.1f} MiB free there now"
    except (OSError, AttributeError):
        free = "free space unknown"
    return OSError(
        errno.ENOSPC,
        f"no space left on the device to write the checkpoint {path} ({free}); the previous checkpoint, if "
        f"any, is left as it was. Free some space, or checkpoint to another disk",
    )


def atomic_save(obj: object, path: str | os.PathLike) -> None:
    """torch.save to a temporary file beside `path`, then rename it over `path`.

    The rename is atomic on POSIX and Windows, so a crash mid-write leaves the
    previous file untouched and never a truncated one. A full disk is an OSError(ENOSPC)
    that names `path`.
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
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        explained = _explain_write_error(err, path)
        if explained is not None:
            raise explained from err
        raise


# .NAME.<rest>.tmp and .STEM.stepNNNNNNNNN.SUFFIX.<rest>.tmp; <rest> is PID@HOST.RANDOM (older
# versions wrote RANDOM alone)
def _orphan_pattern(path: Path) -> re.Pattern[str]:
    names = f"(?:{re.escape(path.name)}|{re.escape(path.stem)}\\.step\\d{{9}}{re.escape(path.suffix)})"
    return re.compile(rf"\.{names}\.(?:(?P<pid>\d+)@(?P<host>[^/]*)\.)?[^./]+\.tmp")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def remove_orphans(path: str | os.PathLike) -> list[Path]:
    """Delete the temporary files that killed writers left beside `path` (and beside its kept
    copies, `<stem>.step<N><suffix>`); return them.

    A file is an orphan when its writer, named in the file name, no longer runs on this machine.
    Files of a live process, and files written on another machine (which cannot be asked), are
    left alone; files of older genlab versions, which named no writer, are orphans.
    """
    path = Path(path)
    if not path.parent.is_dir():
        return []
    pattern, host = _orphan_pattern(path), socket.gethostname()
    orphans = []
    for candidate in sorted(path.parent.iterdir()):
        match = pattern.fullmatch(candidate.name)
        if match is None:
            continue
        if match["pid"] is not None and (match["host"] != host or _alive(int(match["pid"]))):
            continue
        candidate.unlink(missing_ok=True)
        orphans.append(candidate)
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


# --- one writer per checkpoint -----------------------------------------------------------------


def lock_path(path: str | os.PathLike) -> Path:
    """The lock file beside a checkpoint, `.NAME.lock` (it stays after the run: a lock file that is
    deleted on release can let two runs lock two different files)."""
    path = Path(path)
    return path.with_name(f".{path.name}.lock")


def _holder_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.holder")


def _describe_holder(path: Path) -> str:
    try:
        holder = json.loads(_holder_path(path).read_text())
        return f"process {holder['pid']} on {holder['host']}, running since {holder['since']}"
    except (OSError, ValueError, TypeError, KeyError):
        return "a process that has not yet said which (it is starting or ending)"


@contextlib.contextmanager
def writer_lock(path: str | os.PathLike) -> Iterator[None]:
    """Hold the checkpoint `path` for one run: a second run on the same path, in this process or
    another, on this machine or another sharing the directory (where the file system supports
    locks), is refused at once with CheckpointInUse naming the path and the run that holds it.

    The directory is created if needed, so a path that cannot be written is found here, before
    any training, as an OSError naming it.
    """
    from filelock import FileLock, Timeout

    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(lock_path(path)), timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise CheckpointInUse(
                f"checkpoint {path} is being written by another run ({_describe_holder(path)}); two runs on one "
                f"path would overwrite each other. Wait for it to end, or give this run another checkpoint path"
            ) from None
    except OSError as err:
        raise type(err)(
            err.errno,
            f"cannot write the checkpoint {path}: {err.strerror or err}"
            f"{f' ({err.filename})' if err.filename else ''}; choose a checkpoint path in a directory you can "
            f"write to",
        ) from err
    try:
        try:
            _holder_path(path).write_text(json.dumps({
                "pid": os.getpid(), "host": socket.gethostname(),
                "since": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
            }))
        except OSError as err:
            explained = _explain_write_error(err, path)
            raise explained or type(err)(
                err.errno, f"cannot write the checkpoint {path}: {err.strerror or err}; choose a checkpoint "
                f"path in a directory you can write to") from err
        yield
    finally:
        _holder_path(path).unlink(missing_ok=True)
        lock.release()


# --- JSON records --------------------------------------------------------------------------------


def encode_config(config: Mapping[str, Any] | None) -> str | None:
    """The model's constructor record as JSON, or None when it cannot be stored (custom networks)."""
    if config is None:
        return None
    try:
        return json.dumps(to_json(config))
    except TypeError:
        return None


# --- digests --------------------------------------------------------------------------------------


def _tensor_digest(t: torch.Tensor) -> str:
    """SHA-256 of a tensor's dtype, shape and bytes."""
    t = t.detach().cpu().contiguous()
    digest = hashlib.sha256(f"{t.dtype}{tuple(t.shape)}".encode())
    if t.numel():
        digest.update(t.reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


def _walk(value: Any, where: str, tensors: dict[str, torch.Tensor]) -> Any:
    """The plain-data skeleton of `value` (each tensor replaced by its name, collected in `tensors`)."""
    if isinstance(value, torch.Tensor):
        tensors[where] = value
        return {"tensor": where}
    if isinstance(value, Mapping):
        return [[str(k), _walk(v, f"{where}/{k}", tensors)] for k, v in value.items()]
    if isinstance(value, (list, tuple)):
        return [_walk(v, f"{where}/{i}", tensors) for i, v in enumerate(value)]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def digests(state: Mapping[str, Any]) -> dict[str, Any]:
    """{"tensors": {name: digest}, "record": digest of everything that is not a tensor}.

    Tensors are named by their place in the checkpoint: "model/encoder.0.weight",
    "optimizers/generator/state/0/exp_avg", "rng/cpu".
    """
    tensors: dict[str, torch.Tensor] = {}
    skeleton = _walk({k: v for k, v in state.items() if k != "digests"}, "", tensors)
    record = hashlib.sha256(json.dumps(skeleton, sort_keys=False).encode()).hexdigest()
    return {"tensors": {name.lstrip("/"): _tensor_digest(t) for name, t in tensors.items()}, "record": record}


def _verify(path: Path, ckpt: dict[str, Any]) -> None:
    """Raise CheckpointError unless every recorded digest matches what the file holds."""
    recorded = ckpt.get("digests")
    if not isinstance(recorded, dict) or not isinstance(recorded.get("tensors"), dict):
        raise CheckpointError(f"{path} has lost its digests (the 'digests' entry is missing or damaged): "
                              f"its contents cannot be verified")
    found = digests(ckpt)
    expected = recorded["tensors"]
    missing = sorted(expected.keys() - found["tensors"].keys())
    extra = sorted(found["tensors"].keys() - expected.keys())
    changed = sorted(k for k in expected.keys() & found["tensors"].keys() if expected[k] != found["tensors"][k])
    if missing or extra or changed:
        what = "; ".join(
            f"{label} {', '.join(names[:3])}{' …' if len(names) > 3 else ''}"
            for label, names in (("changed tensor", changed), ("missing tensor", missing),
                                 ("unrecorded tensor", extra)) if names
        )
        raise CheckpointError(
            f"{path} is damaged or was edited: {what} (the bytes do not match the digest written with them); "
            f"resume from an older copy (fit(keep=...) keeps several) or start afresh"
        )
    if found["record"] != recorded.get("record"):
        raise CheckpointError(
            f"{path} is damaged or was edited: its record (step, history, run or model settings, optimizer "
            f"settings) does not match the digest written with it; resume from an older copy (fit(keep=...) "
            f"keeps several) or start afresh"
        )


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
    """Write a complete training state to `path` atomically, with a digest of every tensor.

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
        "run": json.dumps(to_json(run)) if run is not None else None,
        "config": encode_config(getattr(model, "config", None)),
    }
    state["digests"] = digests(state)
    atomic_save(state, path)
    if keep > 1:
        atomic_save(state, snapshot_path(path, step))
        for old in snapshots(path)[:-keep]:
            old.unlink(missing_ok=True)


def _check_structure(path: Path, ckpt: dict[str, Any]) -> None:
    """Raise CheckpointError naming the first entry that is missing or of the wrong kind."""

    def refuse(what: str) -> CheckpointError:
        return CheckpointError(f"{path} is damaged or was edited: {what}")

    required = {"step": int, "model": dict, "optimizers": dict, "history": dict, "rng": dict}
    for key, kind in required.items():
        if key not in ckpt:
            raise refuse(f"it has no {key!r} entry")
        if not isinstance(ckpt[key], kind) or (kind is int and isinstance(ckpt[key], bool)):
            raise refuse(f"its {key!r} entry is a {type(ckpt[key]).__name__}, not a {kind.__name__}")
    if ckpt["step"] < 0:
        raise refuse(f"its step is {ckpt['step']}")
    for name, value in ckpt["model"].items():
        if not isinstance(name, str) or not isinstance(value, torch.Tensor):
            raise refuse(f"its model entry {name!r} is a {type(value).__name__}, not a tensor")
    for name, state in ckpt["optimizers"].items():
        if not isinstance(state, dict) or not isinstance(state.get("state"), dict) \
                or not isinstance(state.get("param_groups"), list) \
                or not all(isinstance(g, dict) and isinstance(g.get("params"), list) for g in state["param_groups"]):
            raise refuse(f"the state of optimizer {name!r} is not an optimizer's state dict")
    for name, values in ckpt["history"].items():
        if not isinstance(values, list) or not all(isinstance(v, (int, float)) for v in values):
            raise refuse(f"its history of {name!r} is not a list of numbers")
    cpu = ckpt["rng"].get("cpu")
    if not isinstance(cpu, torch.Tensor) or cpu.dtype != torch.uint8 or cpu.shape != torch.get_rng_state().shape:
        raise refuse("its random-number-generator state ('rng') is missing or of the wrong size")
    for key in ("run", "config"):
        if ckpt.get(key) is not None and not isinstance(ckpt[key], str):
            raise refuse(f"its {key!r} record is a {type(ckpt[key]).__name__}, not JSON text")


def read_checkpoint(path: str | os.PathLike, map_location: str | torch.device | None = None) -> dict[str, Any]:
    """The raw contents of a genlab checkpoint, verified; every failure is a CheckpointError naming the path."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        archive = zipfile.is_zipfile(path)
    except (zipfile.BadZipFile, OSError, ValueError):  # an end record damaged past what is_zipfile expects
        archive = False
    if not archive:  # torch.save writes zip archives; anything else is no checkpoint
        raise CheckpointError(
            f"{path} is damaged or not a checkpoint: it is truncated or another kind of file ({path.stat().st_size} bytes, "
            f"not the archive torch.save writes); resume from an older copy (fit(keep=...) keeps several) or "
            f"start afresh"
        )
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f"{path} is damaged, or holds more than tensors and plain data (genlab never unpickles code): "
            f"refused ({err})"
        ) from err
    except Exception as err:  # truncated, overwritten, not a torch file at all
        raise CheckpointError(
            f"{path} is damaged or not a checkpoint ({type(err).__name__}: {err}); resume from an older copy "
            f"(fit(keep=...) keeps several) or start afresh"
        ) from err
    if not isinstance(ckpt, dict) or ckpt.get("format") not in READABLE_FORMATS:
        found = ckpt.get("format") if isinstance(ckpt, dict) else type(ckpt).__name__
        raise CheckpointError(f"{path} is not a genlab checkpoint of format {FORMAT_VERSION} (found {found!r})")
    _check_structure(path, ckpt)
    if ckpt["format"] >= 3:
        _verify(path, ckpt)
    else:
        warnings.warn(
            f"{path} was written by an older genlab, without digests: it is loaded, but damage to it cannot be "
            f"detected. Save it again (fit(..., resume=True) writes a checkpoint with digests) to protect it",
            UserWarning,
            stacklevel=3,
        )
    for key in ("run", "config"):
        try:
            ckpt[key] = from_json(json.loads(ckpt[key])) if ckpt.get(key) is not None else None
        except (ValueError, TypeError, KeyError) as err:
            raise CheckpointError(f"{path} is damaged or was edited: its {key!r} record is not valid ({err})") from err
        if ckpt[key] is not None and not isinstance(ckpt[key], dict):
            raise CheckpointError(f"{path} is damaged or was edited: its {key!r} record is not a mapping")
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
            _check_optimizer_state(path, name, opt, saved[name])


def _check_optimizer_state(path: Path, name: str, opt: torch.optim.Optimizer, saved: Mapping[str, Any]) -> None:
    """An optimizer's saved state must have every setting of each group and, for each parameter,
    moments of the parameter's shape: torch would accept others and fail (or worse) at the next step."""
    for i, (group, saved_group) in enumerate(zip(opt.param_groups, saved["param_groups"])):
        for key in group:
            if key not in saved_group:
                raise CheckpointError(f"{path}: optimizer {name!r} parameter group {i} has no {key!r}")
    shapes = {}
    for group, saved_group in zip(opt.param_groups, saved["param_groups"]):
        for p, index in zip(group["params"], saved_group["params"]):
            shapes[index] = tuple(p.shape)
    for index, state in saved["state"].items():
        if index not in shapes or not isinstance(state, dict):
            raise CheckpointError(f"{path}: optimizer {name!r} holds a state for parameter {index!r}, which it does not have")
        for key, value in state.items():
            if isinstance(value, torch.Tensor) and value.dim() > 0 and tuple(value.shape) != shapes[index]:
                raise CheckpointError(
                    f"{path}: optimizer {name!r} holds a state {key!r} of shape {tuple(value.shape)} for a parameter "
                    f"of shape {shapes[index]}"
                )


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
        CheckpointError: the file is damaged, edited, refused, or from a different model.
    """
    path = Path(path)
    ckpt = read_checkpoint(path, map_location)
    _check_compatible(path, ckpt, model, optimizers or {})
    model_before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    optimizers_before = {name: copy.deepcopy(opt.state_dict()) for name, opt in (optimizers or {}).items()}
    try:
        model.load_state_dict(ckpt["model"])
        for name, opt in (optimizers or {}).items():
            opt.load_state_dict(ckpt["optimizers"][name])
    except Exception as err:  # an optimizer state of the right sizes but the wrong contents
        model.load_state_dict(model_before)
        for name, opt in (optimizers or {}).items():
            opt.load_state_dict(optimizers_before[name])
        raise CheckpointError(f"{path} does not fit this model and its optimizers ({type(err).__name__}: {err})") from err
    if restore_rng:
        set_rng_state(ckpt["rng"])
    return ckpt


def _constructor_of(path: Path, config: Mapping[str, Any]) -> Callable[..., nn.Module]:
    """The constructor a checkpoint's record names, or a CheckpointError: only genlab's models and
    their constructors marked @constructor are ever called."""
    from genlab.models.base import REGISTRY

    if not isinstance(config.get("class"), str) or not isinstance(config.get("constructor"), str) \
            or not isinstance(config.get("arguments"), dict):
        raise CheckpointError(f"{path} is damaged or was edited: its constructor record lacks a class, a "
                              f"constructor or the arguments")
    cls = REGISTRY.get(config["class"])
    if cls is None:
        raise CheckpointError(f"{path} holds a {config['class']}, which is not a model genlab knows")
    make = cls if config["constructor"] == "__init__" else getattr(cls, config["constructor"], None)
    marked = cls.__init__ if config["constructor"] == "__init__" else make
    if not getattr(marked, "genlab_constructor", False):
        raise CheckpointError(
            f"{path} names {config['class']}.{config['constructor']}, which is not a constructor genlab records"
        )
    return make


def load(path: str | os.PathLike, device: str | torch.device | None = None) -> nn.Module:
    """The trained model saved at `path`, rebuilt from its constructor record, in eval mode.

    Works for every model made by one of genlab's constructors (`GAN.dcgan`, `VAE.conv`,
    `CharRNN(...)`, …). A model built around networks of your own has no record: build it
    the same way and call `load_checkpoint(path, model)`.

    The record is first followed on PyTorch's "meta" device, which allocates nothing, and the
    shapes compared with the tensors the file holds; so an edited record (hidden=200000) is
    refused before any memory is taken.
    """
    from genlab.checks import check_device

    if device is not None:
        check_device(device)
    path = Path(path)
    ckpt = read_checkpoint(path, map_location="cpu")
    config = ckpt["config"]
    if config is None:
        raise CheckpointError(
            f"{path} has no constructor record: the model was built from networks of your own. Build it the "
            f"same way and call genlab.load_checkpoint({str(path)!r}, model)"
        )
    make = _constructor_of(path, config)
    rng = torch.get_rng_state()
    try:
        with torch.device("meta"):
            skeleton = make(**config["arguments"])
    except Exception as err:
        raise CheckpointError(
            f"{path}: its constructor record {config['class']}.{config['constructor']}(...) does not build a "
            f"model ({type(err).__name__}: {err})"
        ) from err
    finally:
        torch.set_rng_state(rng)  # the skeleton draws nothing, but the caller's random stream stays untouched
    _check_compatible(path, ckpt, skeleton, {})
    model = make(**config["arguments"])
    _check_compatible(path, ckpt, model, {})
    model.load_state_dict(ckpt["model"])
    if device is not None:
        model.to(device)
    return model.eval()
