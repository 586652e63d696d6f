"""`fit`: the one training loop every genlab model uses."""

from __future__ import annotations

import hashlib
import inspect
import json
import math
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from contextlib import ExitStack, nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import TensorDataset

from genlab import distributed
from genlab.checkpoint import (
    CheckpointError,
    encode_config,
    load_checkpoint,
    read_checkpoint,
    remove_orphans,
    save_checkpoint,
    snapshots,
    writer_lock,
)
from genlab.checks import check_device, check_flag, check_positive, record_differences
from genlab.models.base import Batch, Optimizers, Trainable, check_count, parameters_of
from genlab.records import to_json

History = dict[str, list[float]]
Callback = Callable[[int, Trainable, History], None]


class PhaseNotReached(UserWarning):
    """`fit(steps)` ends before the model's last training phase begins (TimeGAN's joint phase, say)."""


class TrainingDiverged(RuntimeError):
    """A loss or a parameter became NaN or infinite; the message names the step and the loss.

    `history` holds the losses of the steps trained before it (up to the last read).
    """

    history: History | None = None


def device() -> torch.device:
    """The best available device: CUDA, then Apple's MPS, then the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


_default_device = device  # `fit` has an argument of the same name


def as_tensors(data: Tensor | np.ndarray | TensorDataset | Sequence[Tensor | np.ndarray]) -> tuple[Tensor, ...]:
    """Normalise the accepted data forms to a tuple of equally long tensors (samples first).

    A numpy array becomes the tensor of the same dtype (float64 samples are then converted to float32
    like float64 tensors, see `Trainable.prepare_data`).
    """
    as_tensor = lambda t: torch.from_numpy(np.ascontiguousarray(t)) if isinstance(t, np.ndarray) else t
    if isinstance(data, (Tensor, np.ndarray)):
        tensors: tuple[Tensor, ...] = (as_tensor(data),)
    elif isinstance(data, TensorDataset):
        tensors = tuple(data.tensors)
    elif isinstance(data, (tuple, list)) and data and all(isinstance(t, (Tensor, np.ndarray)) for t in data):
        tensors = tuple(as_tensor(t) for t in data)
    else:
        raise TypeError(
            f"data must be a Tensor or numpy array of samples, a TensorDataset, or a tuple of them (samples first), "
            f"got {type(data).__name__}: convert it with torch.as_tensor(data, dtype=torch.float32)"
        )
    if tensors[0].dim() == 0:
        raise ValueError("data must hold samples along its first axis; got a 0-dimensional tensor")
    n = len(tensors[0])
    if any(t.dim() == 0 or len(t) != n for t in tensors):
        raise ValueError(f"data tensors differ in length: {[len(t) if t.dim() else 0 for t in tensors]}")
    return tensors


#: data beyond this magnitude are refused by `fit` with a request to standardise them
MAX_DATA_SCALE = 1e6


def check_data(model: Trainable, tensors: tuple[Tensor, ...], batch_size: int) -> tuple[Tensor, ...]:
    """The data as the model trains on it (float64 → float32), or a ValueError that names the problem."""
    check_count(batch_size, "batch_size", minimum=1)
    x = tensors[0]
    if len(x) == 0:
        raise ValueError("the dataset is empty: there is nothing to train on")
    x = model.prepare_data(x)
    if x.is_floating_point() and not torch.isfinite(x).all():
        bad = (~torch.isfinite(x)).reshape(len(x), -1).any(dim=1).nonzero().flatten()
        raise ValueError(
            f"the data contains NaN or infinite values in {len(bad)} sample(s), first at index {bad[0].item()}"
        )
    if x.is_floating_point() and x.numel() and (peak := x.abs().max().item()) > MAX_DATA_SCALE:
        # such values train to finite but meaningless losses (a GAN on data scaled by 1e30 reports d_loss 6e28)
        raise ValueError(
            f"the data's values reach {peak:.3g}: networks train on values of order 1, so standardise the data "
            "first (genlab.data.Scaler, or divide by its standard deviation) and scale the samples back"
        )
    model.check_data(x)
    model.check_extras(tensors[1:])
    if batch_size > len(x):
        raise ValueError(f"batch_size {batch_size} is larger than the dataset ({len(x)} samples)")
    return (x, *tensors[1:])


def fingerprint(tensors: Sequence[Tensor]) -> str:
    """A short hash of the data's shapes, dtypes and values: resuming on other data is refused."""
    digest = hashlib.sha256()
    for t in tensors:
        t = t.detach().cpu().contiguous()
        digest.update(f"{tuple(t.shape)}{t.dtype}".encode())
        digest.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()[:16]


def optimizer_settings(optimizers: Optimizers) -> dict[str, Any]:
    """Each optimizer's type and hyperparameters (per parameter group), as plain data."""
    out = {}
    for name, opt in optimizers.items():
        groups = []
        for group in opt.param_groups:
            groups.append({k: v for k, v in group.items() if k not in ("params", "initial_lr")
                           and (v is None or isinstance(v, (bool, int, float, str, tuple, list)))})
        out[name] = {"type": type(opt).__name__, "groups": groups}
    return out


class EpochSampler:
    """Batches of indices, each epoch a fresh permutation drawn from (seed, epoch).

    Stateless in the step: batch k is a pure function of (seed, k), so a resumed
    run sees exactly the batches the uninterrupted run would have seen.
    Incomplete last batches are dropped.
    """

    def __init__(self, n: int, batch_size: int, seed: int, device: torch.device) -> None:
        self.n, self.batch_size, self.seed, self.device = n, batch_size, seed, device
        self.per_epoch = n // batch_size
        self._epoch, self._perm = -1, torch.empty(0)

    def indices(self, step: int) -> Tensor:
        epoch, k = divmod(step, self.per_epoch)
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._epoch, self._perm = epoch, torch.randperm(self.n, generator=g).to(self.device)
        return self._perm[k * self.batch_size : (k + 1) * self.batch_size]


class LossLog:
    """The losses of every step, kept on the device and read in one transfer every `every` steps.

    Reading a GPU tensor makes the host wait for the device; doing it once per step for
    every loss is what makes hand-written loops slow. `flush` moves the pending steps to the
    history and raises TrainingDiverged at the first non-finite value.
    """

    def __init__(self, history: History, start: int, shard: distributed.Shard | None = None) -> None:
        self.history, self.first_pending, self.shard = history, start, shard
        self.names: list[str] | None = None
        self.pending: list[Tensor] = []

    def append(self, losses: dict[str, Tensor | float]) -> None:
        if self.names is None:
            self.names = list(losses)
        values = list(losses.values())
        if isinstance(values[0], Tensor) and values[0].device.type != "cpu":
            self.pending.append(torch.stack([v.detach().float().reshape(()) for v in values]))
        else:  # on the CPU reading a number costs nothing
            self.pending.append([float(v) for v in values])

    def flush(self, checkpoint: str | None = None) -> None:
        """`checkpoint`: what to say of the last checkpoint when a loss is not finite, e.g.
        "the checkpoint run.pt of step 40 is left as it was" (None when there is none)."""
        if not self.pending:
            return
        pending, self.pending = self.pending, []
        if isinstance(pending[0], Tensor):
            pending = torch.stack(pending)
        if self.shard is not None:  # the mean over the processes: one all-reduce for all pending steps
            pending = distributed.average(torch.as_tensor(pending, dtype=torch.float64), self.shard)
        # the one transfer from the device, for all pending steps
        rows = pending.cpu().tolist() if isinstance(pending, Tensor) else pending
        for i, row in enumerate(rows):
            for name, value in zip(self.names, row):
                if not math.isfinite(value):
                    where = f"; {checkpoint}" if checkpoint else ""
                    raise TrainingDiverged(
                        f"training diverged at step {self.first_pending + i}: loss {name!r} = {value}{where}"
                    )
        for name, column in zip(self.names, zip(*rows)):
            self.history.setdefault(name, []).extend(column)
        self.first_pending += len(rows)


def _progress_enabled(progress: bool | None) -> bool:
    if progress is not None:
        return progress
    return sys.stderr.isatty() and not os.environ.get("CI")


LR_DECAYS = (None, "linear")
RESUME = (False, True, "if-exists")


def set_lr_factor(optimizers: Optimizers, factor: float) -> None:
    """Set each parameter group's learning rate to `factor` times its initial one."""
    for opt in optimizers.values():
        for group in opt.param_groups:
            group["lr"] = group.setdefault("initial_lr", group["lr"]) * factor


def _readable(run: dict[str, Any]) -> dict[str, Any]:
    """A run record with each optimizer's single parameter group unnested, so that a difference
    reads "optimizers.generator.lr" rather than "optimizers.generator.groups[0].lr"."""
    out = dict(run)
    if isinstance(run.get("optimizers"), dict):
        out["optimizers"] = {}
        for name, settings in run["optimizers"].items():
            groups = settings.get("groups") if isinstance(settings, dict) else None
            if isinstance(groups, (list, tuple)) and len(groups) == 1 and isinstance(groups[0], dict):
                settings = {"type": settings.get("type"), **groups[0]}
            out["optimizers"][name] = settings
    return out


def _check_run(path: Path, saved: dict[str, Any] | None, run: dict[str, Any], old_format: bool = False) -> None:
    """Refuse to continue a checkpoint written by a different run; name every field that differs."""
    if saved is None:
        raise CheckpointError(f"{path} records no run settings, so resuming it cannot be checked; start afresh")
    # More steps may follow a checkpoint, unless the learning rate decays over the total number.
    growable = () if run.get("lr_decay") else ("steps",)
    # checkpoints of format 2 recorded no model settings: only what they recorded is compared
    keys = [key for key in run if key not in growable and (key in saved or not old_format)]
    differences = [f"{where}: {a!r} in the checkpoint, {b!r} now" for where, a, b in
                   record_differences(_readable({k: saved.get(k) for k in keys}), _readable({k: run[k] for k in keys}))]
    if differences:
        raise CheckpointError(
            f"{path} was written by a different training run; resuming would mix the two. Differences: "
            + "; ".join(differences)
            + ". Use the run's settings, or a new checkpoint path to start afresh"
        )


def _check_finite_parameters(model: Trainable, step: int, checkpoint: str | None = None) -> None:
    """A non-finite update must never be saved as the last good state, nor returned as a trained model.
    `checkpoint` says what became of the last checkpoint (None when there is none)."""
    params = [p for p in model.parameters()]
    if not params or torch.stack([torch.isfinite(p).all() for p in params]).all():
        return
    bad = [name for name, p in model.named_parameters() if not torch.isfinite(p).all()]
    raise TrainingDiverged(
        f"training diverged by step {step}: parameters {', '.join(bad[:3])} became NaN or infinite "
        f"(the losses were still finite: an update exploded)" + (f"; {checkpoint}" if checkpoint else "")
    )


DISTRIBUTED_TIMEOUT = 300.0  # seconds
SEED_LIMIT = 2**44  # EpochSampler seeds epoch e with seed * 1_000_003 + e, which must stay below 2**64


def fit(
    model: Trainable,
    data: Tensor | TensorDataset | Sequence[Tensor],
    *,
    steps: int,
    batch_size: int,
    device: str | torch.device | None = None,
    seed: int | None = 0,
    amp: bool = False,
    callback: Callback | None = None,
    callback_every: int | None = None,
    checkpoint: str | os.PathLike | None = None,
    checkpoint_every: int = 0,
    keep: int = 1,
    resume: bool | str = False,
    progress: bool | None = None,
    lr_decay: str | None = None,
    log_every: int = 100,
    overwrite: bool = False,
    distributed_timeout: float = DISTRIBUTED_TIMEOUT,
) -> History:
    """Train `model` for `steps` updates on minibatches of `data`; return the loss history.

    Started by `torchrun`, `fit` trains data-parallel (`genlab.distributed`):
    `batch_size` is the global batch, split evenly over the processes, each process trains on its
    own device (CUDA device LOCAL_RANK when a GPU is asked for), the history holds the losses
    averaged over the processes, and only rank 0 writes checkpoints and shows progress. The
    result is the one-process result up to float rounding, except where batch statistics enter.

    Args:
        model: any genlab model (see `genlab.models.base`).
        data: samples (N, *model.data_shape), or a TensorDataset / tuple whose first
            tensor is the samples and whose others (labels, conditions) travel with them.
            numpy arrays are accepted wherever tensors are (as tensors of the same dtype).
            A conditional model (classes=K) reads data[1] as its labels; an unconditional one
            reads the samples only and ignores the rest, so a labelled data set such as
            `genlab.data.stacked_digits()` can be given to either as it is.
            float64 samples are converted to float32; other dtypes must match the model.
        steps: total number of updates, counted from step 0 even when resuming.
        batch_size: samples per update, 1 ≤ batch_size ≤ N (under torchrun: over all processes).
        device: where to train; default `genlab.device()`. The data is moved there once.
        seed: seeds the global torch RNG (model noise) and the batch order; None leaves both as they are.
        amp: bfloat16 autocast around each step; CUDA only.
        callback: called as callback(step, model, history) after every `callback_every` steps
            (under torchrun in every process: act only where genlab.distributed.rank() == 0).
        callback_every: how often, in steps, to call `callback`. None (default): whenever `fit`
            reads the losses anyway — every `log_every` steps and after the last step — so the
            callback costs no extra wait for the device and runs at least once. With a callback,
            0 is refused (it would never be called); without one, the value is not used.
        checkpoint: file for the training state, written atomically every `checkpoint_every`
            steps and at the end, and never with a non-finite loss or parameter in it. A run
            holds the path for its whole length (a lock file `.NAME.lock` beside it): a second
            run on the same path is refused at once, naming the process that holds it. The
            directory must be writable; that is checked before the first step.
        keep: how many checkpoints to keep: the newest is always at `checkpoint`; with
            keep > 1 the last `keep` are also kept as `<stem>.step<N><suffix>`.
        resume: True continues from `checkpoint`, which must exist and must come from the
            same run (batch size, seed, data, optimizer settings; only `steps` may grow) —
            anything else is refused with the differences named. "if-exists" continues when
            the file exists and starts afresh when it does not. On CPU the result is
            bit-identical to an uninterrupted run.
        progress: True or False: show a tqdm bar; None (default): only on a terminal and never under CI.
        lr_decay: "linear" scales every optimizer's learning rate by 1 - step/steps, so the
            last updates are small and the iterates settle instead of circling the solution;
            None (default) keeps it constant. The rate is a function of the step alone, so
            resuming reproduces it.
        log_every: the losses stay on the device and are read (and checked for NaN, with the
            parameters) once every `log_every` steps, before every checkpoint and callback, and
            at the end.
        overwrite: an existing `checkpoint` (or its kept copies) is replaced only when this is
            True; without it, and without `resume`, a run refuses to start on an existing file.
        distributed_timeout: under torchrun, the seconds any collective operation may wait for
            the other processes (default 300) before the run is stopped with an error that
            says a process did not answer (one that froze or died). Applies when `fit` creates
            the process group (with gloo on the CPU, NCCL on CUDA); a group you initialise
            yourself keeps its own timeout.

    Returns:
        {loss name: [value at step 0, 1, …]} for all steps, including those before a resume.

    Raises:
        ValueError: for data of the wrong shape, empty or non-finite data, or impossible sizes.
        TypeError: for data of a type or dtype the model cannot train on.
        FileNotFoundError: resume=True and there is no checkpoint.
        CheckpointError: the checkpoint is damaged or comes from a different run or model.
        TrainingDiverged: a loss or parameter became NaN or infinite; the message names the
            step and the loss, and the last checkpoint is left intact. Its `history` holds the
            losses of the steps before.
        FileExistsError: `checkpoint` exists and neither `resume` nor `overwrite` was given.
        CheckpointInUse: another run holds `checkpoint`.
        OSError: the checkpoint cannot be written: an unwritable directory (before the first
            step), or a full disk (errno ENOSPC, naming the path; the error's `history` holds
            the losses so far).
        distributed.ProcessTimeout: under torchrun, a process did not answer within
            `distributed_timeout` seconds.
        ValueError: under torchrun, the processes were given different runs (data, steps,
            batch size, seed or model); the message names what differs.
    """
    _check_arguments(locals())
    checkpoint = Path(checkpoint) if checkpoint is not None else None
    tensors = check_data(model, as_tensors(data), batch_size)
    _warn_unreached_phase(model, steps)
    dev, shard = _placement(device, amp, batch_size, distributed_timeout)
    with ExitStack() as held:
        if checkpoint is not None and (shard is None or shard.is_main):
            # one writer per path, for the whole run; also finds an unwritable directory before any step
            held.enter_context(writer_lock(checkpoint))
            if not resume and not overwrite and (checkpoint.exists() or snapshots(checkpoint)):
                raise FileExistsError(
                    f"checkpoint {checkpoint} exists already: pass resume=True to continue its run, "
                    f"overwrite=True to replace it, or choose another path"
                )
        try:
            run = _Run(model, tensors, steps=steps, batch_size=batch_size, dev=dev, shard=shard, seed=seed, amp=amp,
                       checkpoint=checkpoint, keep=keep, resume=resume, lr_decay=lr_decay, progress=progress,
                       callback=callback, callback_every=callback_every, log_every=log_every,
                       timeout=distributed_timeout)
            return _loop(run, lr_decay=lr_decay, checkpoint_every=checkpoint_every, log_every=log_every)
        except RuntimeError as err:  # a collective before or after the steps (the pre-flight check, the last barrier)
            explained = distributed.explain_failure(err, shard, None, distributed_timeout)
            if explained is None:
                raise
            raise explained from err


def _loop(run: _Run, *, lr_decay: str | None, checkpoint_every: int, log_every: int) -> History:
    """The training loop: one update per step; on their schedules, the losses read (and checked for
    NaN), a checkpoint written and the callback called."""
    model, optimizers, shard, steps = run.model, run.optimizers, run.shard, run.steps
    step = run.start
    try:
        for step in range(run.start, steps):
            batch = run.batch(step)
            if lr_decay is not None:
                set_lr_factor(optimizers, 1 - step / steps)
            with run.autocast, distributed.stepping(shard):
                losses = distributed.train_step(model, batch, optimizers, step, shard)
            run.log.append(losses)  # kept on the device until read
            done = step + 1
            if done % log_every == 0:
                run.read_losses(done)
            if checkpoint_every and done % checkpoint_every == 0:
                run.save(done)
            if run.callback_due(done):
                run.call_back(done)
            run.show_progress(done)
        run.finish()
    except Exception as err:
        raise run.failure(err, step)  # the losses so far kept in the error; a stalled process named
    finally:
        run.close()
    distributed.barrier(shard)  # the last checkpoint is written before any process returns
    return run.history


def _check_arguments(given: dict[str, Any]) -> None:
    """fit's arguments other than the data, checked before anything is done (`given`: fit's locals())."""
    steps, callback, callback_every, checkpoint = given["steps"], given["callback"], given["callback_every"], given["checkpoint"]
    resume, seed, model = given["resume"], given["seed"], given["model"]
    check_count(steps, "steps")
    check_count(given["checkpoint_every"], "checkpoint_every")
    if callback_every is not None:
        check_count(callback_every, "callback_every")
    check_count(given["keep"], "keep", minimum=1)
    check_count(given["log_every"], "log_every", minimum=1)
    if resume not in RESUME or (resume is not False and not isinstance(resume, (bool, str))):
        raise ValueError(f"resume must be one of {RESUME}, got {resume!r}")
    if (given["checkpoint_every"] or resume) and checkpoint is None:
        raise ValueError("checkpoint_every and resume need a checkpoint path: pass checkpoint='run.pt'")
    if given["lr_decay"] not in LR_DECAYS:
        raise ValueError(f"unknown lr_decay {given['lr_decay']!r}; choose one of {LR_DECAYS}")
    if seed is not None:
        check_count(seed, "seed")
        if seed >= SEED_LIMIT:
            raise ValueError(f"seed must be a non-negative integer below 2**44 (each epoch's batch order is seeded "
                             f"from it in 64 bits), got {seed!r}")
    if given["progress"] is not None:
        check_flag(given["progress"], "progress (True, False or None for automatic)")
    check_flag(given["overwrite"], "overwrite")
    check_positive(given["distributed_timeout"], "distributed_timeout (seconds)")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable as callback(step, model, history), got {type(callback).__name__}")
    if callback is not None and callback_every == 0:
        raise ValueError("callback_every=0 would never call the callback: pass a number of steps, or leave "
                         "callback_every out to call it every log_every steps and after the last step")
    if not isinstance(model, Trainable):
        raise TypeError(f"model must be a genlab model (genlab.models.base.Trainable), got {type(model).__name__}")
    if checkpoint is not None and Path(checkpoint).is_dir():
        raise IsADirectoryError(
            f"checkpoint {checkpoint} is a directory; give a file name such as {Path(checkpoint) / 'model.pt'}"
        )


def _placement(device: str | torch.device | None, amp: bool, batch_size: int,
               distributed_timeout: float) -> tuple[torch.device, distributed.Shard | None]:
    """The device to train on, and this process's shard when started by torchrun (None otherwise)."""
    dev = check_device(device) if device is not None else _default_device()
    if amp and dev.type != "cuda":
        raise ValueError(f"amp (bfloat16 autocast) is only supported on CUDA, not on {dev}")
    if not distributed.launched():
        return dev, None
    dev = distributed.local_device(dev)
    shard = distributed.start(dev, timeout=distributed_timeout)
    if batch_size % shard.world:
        raise ValueError(
            f"batch_size {batch_size} is the global batch, split evenly over the {shard.world} processes: "
            f"make it a multiple of {shard.world}"
        )
    return dev, shard


class _Run:
    """One training run, prepared for `_loop`: the model on its device with its optimizers (restored
    from the checkpoint when resuming), the data and the batch order, the loss log, the progress bar,
    and what is read, written and called on the way."""

    def __init__(self, model: Trainable, tensors: tuple[Tensor, ...], *, steps: int, batch_size: int,
                 dev: torch.device, shard: distributed.Shard | None, seed: int | None, amp: bool,
                 checkpoint: Path | None, keep: int, resume: bool | str, lr_decay: str | None,
                 progress: bool | None, callback: Callback | None, callback_every: int | None, log_every: int,
                 timeout: float) -> None:
        self.model, self.steps, self.shard, self.checkpoint, self.keep = model, steps, shard, checkpoint, keep
        self.callback, self.callback_every, self.log_every = callback, callback_every, log_every
        self.main, self.timeout = shard is None or shard.is_main, timeout
        if seed is not None:
            torch.manual_seed(seed)
        model.to(dev).train()
        self.optimizers = model.configure_optimizers()
        _check_disjoint(self.optimizers)
        self.record = None  # what a checkpoint must match to be resumed, and all processes must share
        if checkpoint is not None or shard is not None:
            self.record = {"steps": steps, "batch_size": batch_size, "seed": seed, "data": fingerprint(tensors),
                           "optimizers": optimizer_settings(self.optimizers), "lr_decay": lr_decay,
                           "model": type(model).__name__, **_model_settings(model)}
        if shard is not None:  # before any collective that assumes it: every process trains the same run
            distributed.check_same_run(shard, {**self.record, "parameters": {
                k: list(v.shape) for k, v in model.state_dict().items()}})
        self.history: History = {}
        self.start = 0
        self.last_saved: str | None = None  # what a divergence message says of the checkpoint
        self.stale: list[Path] = []  # the kept copies of a run being replaced: removed at the first save
        if checkpoint is not None:
            self._restore(resume, dev)
        self.tensors = tuple(t.to(dev) for t in tensors)
        self.sampler = EpochSampler(len(tensors[0]), batch_size, seed if seed is not None else 0, dev)
        # this process's share of each (global) batch
        self.local = slice(0, batch_size) if shard is None else slice(shard.rank * batch_size // shard.world,
                                                                      (shard.rank + 1) * batch_size // shard.world)
        self.autocast = torch.autocast("cuda", dtype=torch.bfloat16) if amp else nullcontext()
        self.log = LossLog(self.history, self.start, shard)
        self.bar = None
        if self.main and _progress_enabled(progress):
            from tqdm.auto import tqdm

            self.bar = tqdm(total=steps, initial=self.start, desc=type(model).__name__, dynamic_ncols=True)
        if shard is not None:
            distributed.wrap(model, shard, dev)

    def _restore(self, resume: bool | str, dev: torch.device) -> None:
        """Continue from the checkpoint when resuming (after checking it comes from this run)."""
        checkpoint = self.checkpoint
        if self.main:
            remove_orphans(checkpoint)
        if resume is True and not checkpoint.exists():
            raise FileNotFoundError(
                f"no checkpoint at {checkpoint} to resume from; pass resume='if-exists' to start afresh when there is none"
            )
        if resume and checkpoint.exists():
            saved = read_checkpoint(checkpoint, map_location="cpu")
            # checked before anything is loaded: a refused checkpoint leaves the model as it was
            _check_run(checkpoint, _as_json(saved["run"]), _as_json(self.record), old_format=saved["format"] < 3)
            lengths = {name: len(values) for name, values in saved["history"].items()}
            if any(n != saved["step"] for n in lengths.values()):
                raise CheckpointError(
                    f"{checkpoint} is damaged or was edited: it is at step {saved['step']} but its history holds "
                    f"{lengths} values; resume from an older copy or start afresh"
                )
            if saved["step"] > self.steps:
                raise ValueError(f"checkpoint {checkpoint} is at step {saved['step']}, beyond the requested {self.steps} steps")
            state = load_checkpoint(checkpoint, self.model, self.optimizers, map_location=dev)
            self.start, self.history = int(state["step"]), {k: list(v) for k, v in state["history"].items()}
            self.last_saved = f"the checkpoint {checkpoint} of step {self.start} is left as it was"
        elif self.main:  # overwrite=True (an existing file was refused before otherwise)
            if checkpoint.exists():
                self.last_saved = f"the checkpoint {checkpoint} of the run it replaces is left as it was"
            self.stale = snapshots(checkpoint)

    def batch(self, step: int) -> Batch:
        idx = self.sampler.indices(step)[self.local]
        return self.tensors[0][idx] if len(self.tensors) == 1 else tuple(t[idx] for t in self.tensors)

    def read_losses(self, step: int) -> None:
        """Read the pending losses, and check the parameters too: both must be finite (else TrainingDiverged)."""
        self.log.flush(self.last_saved)
        _check_finite_parameters(self.model, step, self.last_saved)

    def save(self, step: int) -> None:
        """Write the checkpoint of `step` (rank 0 only: the processes hold the same state)."""
        self.read_losses(step)
        distributed.check_in_sync(self.model, self.shard, step)
        if self.main:
            for old in self.stale:
                old.unlink(missing_ok=True)
            self.stale.clear()
            with distributed.unwrapped(self.model, self.shard):
                save_checkpoint(self.checkpoint, self.model, self.optimizers, step=step, history=self.history,
                                run=self.record, keep=self.keep)
            self.last_saved = f"the checkpoint {self.checkpoint} of step {step} is left as it was"

    def callback_due(self, done: int) -> bool:
        if self.callback is None:
            return False
        if self.callback_every:
            return done % self.callback_every == 0
        return done % self.log_every == 0 or done == self.steps

    def call_back(self, done: int) -> None:
        self.log.flush(self.last_saved)
        with distributed.unwrapped(self.model, self.shard):
            self.callback(done, self.model, self.history)

    def show_progress(self, done: int) -> None:
        if self.bar is not None:
            self.bar.update(1)
            if done % self.log_every == 0:
                self.bar.set_postfix({k: f"{v[-1]:.3g}" for k, v in self.history.items()}, refresh=False)

    def finish(self) -> None:
        """After the last step: the losses read, the last checkpoint written, the processes in sync."""
        if self.bar is not None:
            self.bar.close()
        self.read_losses(self.steps)
        if self.checkpoint is not None:
            self.save(self.steps)
        else:
            distributed.check_in_sync(self.model, self.shard, self.steps)
        if self.shard is not None:  # every process returns rank 0's model, batch-norm statistics included
            distributed.broadcast_state(self.model, buffers_only=True)

    def failure(self, err: Exception, step: int) -> Exception:
        """The error to raise for `err`: with the losses trained so far in its `.history` (a divergence,
        a checkpoint that could not be written), or naming the process that stalled (under torchrun)."""
        if isinstance(err, TrainingDiverged):
            err.history = self.history
            return err
        if isinstance(err, OSError):  # a checkpoint that could not be written: keep the losses so far
            done = len(next(iter(self.history.values()), []))
            note = f"the losses of the {done} steps trained so far are in this error's .history"
            kept = OSError(err.errno, f"{err.strerror}; {note}") if err.errno is not None else OSError(f"{err}; {note}")
            kept.history, kept.__cause__ = self.history, err
            return kept
        if isinstance(err, RuntimeError):
            explained = distributed.explain_failure(err, self.shard, step, self.timeout)
            if explained is not None:
                explained.__cause__ = err
                return explained
        return err

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        if self.shard is not None:
            distributed.unwrap(self.model, self.shard)


def _warn_unreached_phase(model: Trainable, steps: int) -> None:
    """Warn (PhaseNotReached) when `steps` stop before the model's last phase starts."""
    starts = model.phase_starts()
    if not starts:
        return
    last, start = list(starts.items())[-1]
    if steps <= start:
        phases = ", ".join(f"{name} from step {first}" for name, first in starts.items())
        warnings.warn(f"fit(steps={steps}) ends before {type(model).__name__}'s {last!r} phase, which starts at step "
                      f"{start} ({phases}): pass steps > {start}, or shorten the phases before it",
                      PhaseNotReached, stacklevel=3)


def _model_settings(model: Trainable) -> dict[str, Any]:
    """The constructor and its arguments that built `model`, as part of the run record (none for a
    model built around networks of one's own)."""
    config = getattr(model, "config", None)
    encoded = encode_config(config) if config is not None else None
    if encoded is None:
        return {"constructor": None, "settings": None}
    config = json.loads(encoded)
    settings = config["arguments"]
    # A constructor such as GAN.mlp passes its **kwargs on to __init__ and records only those given:
    # the defaults of __init__ fill the rest, so that loss="wgan-gp" differs from a default loss.
    for name, param in inspect.signature(type(model).__init__).parameters.items():
        if name not in settings and param.default is not inspect.Parameter.empty:
            default = encode_config({"value": param.default})
            if default is not None:
                settings[name] = json.loads(default)["value"]
    return {"constructor": f"{config['class']}.{config['constructor']}", "settings": settings}


def _as_json(value: Any) -> Any:
    """A record as plain JSON data, so that tuples and lists (and vocabularies) compare alike."""
    return json.loads(json.dumps(to_json(value))) if value is not None else None


def _check_disjoint(optimizers: Optimizers) -> None:
    if not isinstance(optimizers, dict) or not optimizers:
        raise TypeError(
            f"configure_optimizers must return a non-empty dict of named optimizers, got {type(optimizers).__name__}"
        )
    owner: dict[int, str] = {}
    for name, opt in optimizers.items():
        for p in parameters_of(opt):
            if id(p) in owner:
                raise ValueError(f"optimizers {owner[id(p)]!r} and {name!r} share a parameter; each must own its own")
            owner[id(p)] = name
