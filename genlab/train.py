"""`fit`: the one training loop every genlab model uses."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from pathlib import Path

import torch
from torch import Tensor
from torch.utils.data import TensorDataset

from genlab.checkpoint import load_checkpoint, save_checkpoint
from genlab.models.base import Batch, GenerativeModel

History = dict[str, list[float]]
Callback = Callable[[int, GenerativeModel, History], None]


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the message names the step and the loss."""


def device() -> torch.device:
    """The best available device: CUDA, then Apple's MPS, then the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


_default_device = device  # `fit` has an argument of the same name


def as_tensors(data: Tensor | TensorDataset | Sequence[Tensor]) -> tuple[Tensor, ...]:
    """Normalise the accepted data forms to a tuple of equally long tensors (samples first)."""
    if isinstance(data, Tensor):
        tensors: tuple[Tensor, ...] = (data,)
    elif isinstance(data, TensorDataset):
        tensors = tuple(data.tensors)
    elif isinstance(data, (tuple, list)) and data and all(isinstance(t, Tensor) for t in data):
        tensors = tuple(data)
    else:
        raise TypeError(f"data must be a Tensor, a TensorDataset or a tuple of Tensors, got {type(data).__name__}")
    n = len(tensors[0])
    if any(len(t) != n for t in tensors):
        raise ValueError(f"data tensors differ in length: {[len(t) for t in tensors]}")
    return tensors


def check_data(model: GenerativeModel, tensors: tuple[Tensor, ...], batch_size: int) -> None:
    """Raise a ValueError that names the problem with this data for this model."""
    x = tensors[0]
    if len(x) == 0:
        raise ValueError("the dataset is empty: there is nothing to train on")
    model.check_data(x)
    if x.is_floating_point() and not torch.isfinite(x).all():
        bad = (~torch.isfinite(x)).flatten(1).any(dim=1).nonzero().flatten()
        raise ValueError(
            f"the data contains NaN or infinite values in {len(bad)} sample(s), first at index {bad[0].item()}"
        )
    if not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if batch_size > len(x):
        raise ValueError(f"batch_size {batch_size} is larger than the dataset ({len(x)} samples)")


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


def _progress_enabled(progress: bool | None) -> bool:
    if progress is not None:
        return progress
    return sys.stderr.isatty() and not os.environ.get("CI")


LR_DECAYS = (None, "linear")


def set_lr_factor(optimizers: Sequence[torch.optim.Optimizer], factor: float) -> None:
    """Set each parameter group's learning rate to `factor` times its initial one."""
    for opt in optimizers:
        for group in opt.param_groups:
            group["lr"] = group.setdefault("initial_lr", group["lr"]) * factor


def fit(
    model: GenerativeModel,
    data: Tensor | TensorDataset | Sequence[Tensor],
    *,
    steps: int,
    batch_size: int,
    device: str | torch.device | None = None,
    seed: int | None = 0,
    amp: bool = False,
    callback: Callback | None = None,
    callback_every: int = 0,
    checkpoint: str | os.PathLike | None = None,
    checkpoint_every: int = 0,
    resume: bool = False,
    progress: bool | None = None,
    lr_decay: str | None = None,
) -> History:
    """Train `model` for `steps` updates on minibatches of `data`; return the loss history.

    Args:
        model: any genlab model (see `genlab.models.base`).
        data: samples (N, *model.data_shape), or a TensorDataset / tuple whose first
            tensor is the samples and whose others (labels, conditions) travel with them.
        steps: total number of updates, counted from step 0 even when resuming.
        batch_size: samples per update, 1 ≤ batch_size ≤ N.
        device: where to train; default `genlab.device()`. The data is moved there once.
        seed: seeds the global torch RNG (model noise) and the batch order; None leaves both as they are.
        amp: bfloat16 autocast around each step; CUDA only.
        callback: called as callback(step, model, history) after every `callback_every` steps.
        checkpoint: file for the training state, written atomically every `checkpoint_every`
            steps and at the end.
        resume: continue from `checkpoint` if it exists (bit-identical to an uninterrupted run on CPU).
        progress: show a tqdm bar; by default only on a terminal and never under CI.
        lr_decay: "linear" scales every optimizer's learning rate by 1 - step/steps, so the
            last updates are small and the iterates settle instead of circling the solution;
            None (default) keeps it constant. The rate is a function of the step alone, so
            resuming reproduces it.

    Returns:
        {loss name: [value at step 0, 1, …]} for all steps, including those before a resume.

    Raises:
        ValueError: for data of the wrong shape, empty or non-finite data, or impossible sizes.
        TrainingDiverged: when a loss becomes NaN or infinite; the last checkpoint is left intact.
    """
    if not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    if checkpoint_every < 0 or callback_every < 0:
        raise ValueError("checkpoint_every and callback_every must be non-negative")
    if (checkpoint_every or resume) and checkpoint is None:
        raise ValueError("checkpoint_every and resume need a checkpoint path")
    if lr_decay not in LR_DECAYS:
        raise ValueError(f"unknown lr_decay {lr_decay!r}; choose one of {LR_DECAYS}")
    tensors = as_tensors(data)
    check_data(model, tensors, batch_size)

    dev = torch.device(device) if device is not None else _default_device()
    if amp and dev.type != "cuda":
        raise ValueError(f"amp (bfloat16 autocast) is only supported on CUDA, not on {dev}")
    if seed is not None:
        torch.manual_seed(seed)
    model.to(dev).train()
    tensors = tuple(t.to(dev) for t in tensors)
    optimizers = model.configure_optimizers()

    history: History = {}
    start = 0
    if resume and checkpoint is not None and Path(checkpoint).exists():
        state = load_checkpoint(checkpoint, model, optimizers, map_location=dev)
        start, history = int(state["step"]), {k: list(v) for k, v in state["history"].items()}
        if start > steps:
            raise ValueError(f"checkpoint {checkpoint} is at step {start}, beyond the requested {steps} steps")

    sampler = EpochSampler(len(tensors[0]), batch_size, seed if seed is not None else 0, dev)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if amp else nullcontext()
    bar = None
    if _progress_enabled(progress):
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, initial=start, desc=type(model).__name__, dynamic_ncols=True)

    for step in range(start, steps):
        idx = sampler.indices(step)
        batch: Batch = tensors[0][idx] if len(tensors) == 1 else tuple(t[idx] for t in tensors)
        if lr_decay is not None:
            set_lr_factor(optimizers, 1 - step / steps)
        with autocast:
            losses = model.train_step(batch, optimizers)
        for name, value in losses.items():
            if not math.isfinite(value):
                where = f"; the last checkpoint {checkpoint} is left as it was" if checkpoint else ""
                raise TrainingDiverged(f"training diverged at step {step}: loss {name!r} = {value}{where}")
            history.setdefault(name, []).append(value)
        done = step + 1
        if checkpoint_every and done % checkpoint_every == 0:
            save_checkpoint(checkpoint, model, optimizers, step=done, history=history)
        if callback is not None and callback_every and done % callback_every == 0:
            callback(done, model, history)
        if bar is not None:
            bar.update(1)
            if done % 50 == 0:
                bar.set_postfix({k: f"{v:.3g}" for k, v in losses.items()}, refresh=False)
    if bar is not None:
        bar.close()
    if checkpoint is not None:
        save_checkpoint(checkpoint, model, optimizers, step=steps, history=history)
    return history
