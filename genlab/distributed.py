"""Data-parallel training over several processes: `fit` under `torchrun`.

    torchrun --nproc_per_node 4 train.py      # train.py calls genlab.fit(...) as usual

When `torchrun` starts it (one process or several), `fit` trains data-parallel:

- one process per device: the process group is NCCL's on CUDA (process i uses GPU
  LOCAL_RANK = i of its machine), gloo's on the CPU;
- rank 0's weights are copied to every process, and every network of the model that has
  trainable parameters is wrapped in `DistributedDataParallel`, so the gradients are
  averaged across processes during the backward pass; parameters that belong to no network
  (a VAE's learned output scale) are averaged by a hook. On CUDA, batch norm is converted
  to `SyncBatchNorm`: its statistics are those of the whole batch;
- `batch_size` is the *global* batch: every process draws the same permutation from the
  same stateless sampler and keeps its own 1/WORLD_SIZE of each batch;
- every per-sample random draw a model makes while training (a GAN's noise, a VAE's ε, the
  gradient penalty's interpolation weights, …) goes through `batch_random`, which draws for
  the whole batch — the same numbers on every process, since all are seeded alike — and
  keeps this process's rows. So N processes compute what one process would compute with the
  same global batch, up to the order of floating-point additions;
- the losses in the history are averaged across processes; only rank 0 writes checkpoints
  (atomically, as always), and resuming is exact.

What does not carry over exactly: on the CPU, batch norm normalises each process's part of
the batch by its own statistics (PyTorch's `SyncBatchNorm` needs a GPU); losses built on
batch statistics (TimeGAN's moment loss, C-RNN-GAN's feature matching) and means weighted
by token counts see each process's part; `nn.Dropout` draws its masks for each process's
part from the shared seed, so the parts get the same masks. All of these train correctly,
but differ from a one-process run. A decision a step takes from its data must agree across
processes: take it on `batch_mean(value)`. Callbacks run in every process; draw random
numbers in all of them alike (or with their own `torch.Generator`), and write files only
where `rank() == 0`.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from genlab.checks import record_differences


@dataclass
class Shard:
    """This process's part of a data-parallel run: `rank` of `world` processes."""

    rank: int = 0
    world: int = 1
    # set while a run is wrapped: the original networks and the hooks to remove afterwards
    networks: dict[str, nn.Module] = field(default_factory=dict)
    hooks: list = field(default_factory=list)
    batch_norms: list[tuple[nn.Module, str, nn.Module]] = field(default_factory=list)

    @property
    def is_main(self) -> bool:
        return self.rank == 0


# the shard of the train step being run, None outside `fit`'s steps (and in one-process runs)
_current: Shard | None = None


def launched() -> bool:
    """Whether this process belongs to a process group: started by `torchrun` (which sets
    WORLD_SIZE and MASTER_ADDR, even for one process), or one the caller initialised."""
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return True
    return "WORLD_SIZE" in os.environ and "MASTER_ADDR" in os.environ


def rank() -> int:
    """This process's rank: 0 in a one-process run; under `torchrun`, 0 … WORLD_SIZE - 1."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank()
    return int(os.environ.get("RANK", "0"))


def local_device(device: torch.device) -> torch.device:
    """The device of this process: CUDA device LOCAL_RANK when `device` is CUDA without an index."""
    if device.type == "cuda" and device.index is None:
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return device


class ProcessTimeout(RuntimeError):
    """A process of a data-parallel run did not answer in time (it froze, was stopped or died)."""


def start(device: torch.device, timeout: float = 300.0) -> Shard:
    """Join (or create) the process group that `torchrun` describes; return this process's shard.

    Every collective operation of a group created here waits at most `timeout` seconds for the
    other processes (a group the caller created keeps its own timeout).
    """
    dist = torch.distributed
    if not dist.is_available():
        raise RuntimeError("started by torchrun, but this PyTorch build has no torch.distributed; run without torchrun")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend, device_id=device if device.type == "cuda" else None,
                                timeout=datetime.timedelta(seconds=timeout))
    return Shard(dist.get_rank(), dist.get_world_size())


def check_same_run(shard: Shard, record: dict) -> None:
    """Raise ValueError in every process unless all processes were given the same run: the same
    data (by fingerprint), steps, batch size, seed and model. The message names each field that
    differs and the processes it differs in."""
    if shard.world == 1:
        return
    import json

    mine = json.dumps(record, default=str)
    records: list[str | None] = [None] * shard.world
    torch.distributed.all_gather_object(records, mine)
    first = json.loads(records[0])
    differences: dict[str, list[str]] = {}  # by field: at most two shown for each
    for other, text in enumerate(records[1:], start=1):
        for where, a, b in record_differences(first, json.loads(text)):
            differences.setdefault(where.split(".")[0].split("[")[0], []).append(
                f"{where}: {a!r} in process 0, {b!r} in process {other}")
    if differences:
        shown = [item for items in differences.values()
                 for item in items[:2] + ([f"({len(items) - 2} more)"] if len(items) > 2 else [])]
        raise ValueError(
            "the processes of this run were given different runs, which cannot train as one: "
            + "; ".join(shown)
            + ". Give every process the same data, steps, batch_size, seed and model"
        )


def explain_failure(err: BaseException, shard: Shard | None, step: int | None, timeout: float) -> BaseException | None:
    """A clear error for a collective operation that failed because another process froze or died,
    or None when `err` is something else (or already explained). `step`: None outside the steps."""
    if shard is None or shard.world == 1 or isinstance(err, ProcessTimeout):
        return None
    when = f"at step {step}" if step is not None else "before or after the training steps"
    text = str(err).lower()
    if "timed out" in text or "timeout" in text:
        return ProcessTimeout(
            f"{when}, a process of this {shard.world}-process run did not answer within {timeout:g} s "
            f"(it froze, was stopped, or died): the run is stopped. If a process may legitimately lag that "
            f"much, raise fit(distributed_timeout=...) ({err})"
        )
    if any(m in text for m in ("connection closed", "connection reset", "broken pipe", "peer")):
        return ProcessTimeout(
            f"{when}, another process of this {shard.world}-process run ended (its connection closed): "
            f"the run is stopped; see that process's error ({err})"
        )
    return None


def batch_random(draw: Callable[..., Tensor], size: tuple[int, ...], *, batch_dim: int = 0, **kwargs) -> Tensor:
    """`draw(size=size, **kwargs)` for a batch whose samples lie along `batch_dim`.

    In a data-parallel step the draw is made for the whole (global) batch and this process
    keeps its own rows, so every process uses the numbers a one-process run would use for
    the same samples; elsewhere it is exactly `draw(size=size, **kwargs)`. `draw` is
    `torch.randn`, `torch.rand`, or `torch.randint` with `high=` in kwargs.
    """
    size = tuple(size)
    shard = _current
    if shard is None or shard.world == 1:
        return draw(size=size, **kwargs)
    n = size[batch_dim]
    full = list(size)
    full[batch_dim] = n * shard.world
    return draw(size=tuple(full), **kwargs).narrow(batch_dim, shard.rank * n, n)


@contextlib.contextmanager
def stepping(shard: Shard | None) -> Iterator[None]:
    """Inside the block, `batch_random` draws for the global batch of `shard`'s run."""
    global _current
    previous, _current = _current, shard
    try:
        yield
    finally:
        _current = previous


def train_step(model: nn.Module, batch: object, optimizers: dict, step: int, shard: Shard | None) -> dict:
    """`model.train_step(batch, optimizers, step)`, explaining the error a wrapped network raises
    when the step uses it other than by calling it."""
    try:
        return model.train_step(batch, optimizers, step)
    except (AttributeError, TypeError) as err:
        if shard is None or "DistributedDataParallel" not in str(err):
            raise
        raise TypeError(
            f"{type(model).__name__}.train_step uses one of its networks other than by calling it ({err}); "
            f"under torchrun every network is wrapped in DistributedDataParallel, which averages gradients "
            f"only through forward(): compute what the step needs in the network's forward"
        ) from err


def _trainable(module: nn.Module) -> bool:
    return any(p.requires_grad for p in module.parameters())


def _average_gradient(world: int) -> Callable[[Tensor], None]:
    def hook(p: Tensor) -> None:
        torch.distributed.all_reduce(p.grad)
        p.grad.div_(world)

    return hook


def _no_buffer_sync() -> dict[str, bool]:
    """DDP's keyword that stops it copying rank 0's buffers into every process at each forward.

    That copy is in place, so a network called twice before one backward pass (VAE-GAN's
    decoder) would find the batch-norm statistics its first call saved changed (PyTorch 2.4
    refuses the backward). Buffers need no copying while training: synchronised batch norm
    keeps them equal, and on the CPU `fit` copies rank 0's at the end. The keyword was renamed
    after PyTorch 2.4.
    """
    import inspect

    from torch.nn.parallel import DistributedDataParallel

    if "forward_sync_buffers" in inspect.signature(DistributedDataParallel.__init__).parameters:
        return {"forward_sync_buffers": False}
    return {"broadcast_buffers": False}


_NO_BUFFER_SYNC = _no_buffer_sync()


def wrap(model: nn.Module, shard: Shard, device: torch.device) -> None:
    """Make `model` train data-parallel: rank 0's state everywhere, networks in DDP, loose
    parameters averaged by hooks, batch norm synchronised on CUDA. `unwrap` undoes it."""
    from torch.nn.parallel import DistributedDataParallel

    broadcast_state(model)
    if device.type == "cuda":
        _synchronise_batch_norm(model, shard)
    elif any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules()) and shard.is_main:
        warnings.warn(
            "batch norm on the CPU normalises each process's part of the batch by its own statistics "
            "(SyncBatchNorm needs a GPU); training is correct but differs from a one-process run",
            stacklevel=3,
        )
    in_networks = set()
    for name, child in list(model.named_children()):
        if _trainable(child):
            shard.networks[name] = child
            in_networks.update(id(p) for p in child.parameters())
            ids = [device.index] if device.type == "cuda" else None
            setattr(model, name, DistributedDataParallel(child, device_ids=ids, **_NO_BUFFER_SYNC))
    for p in model.parameters():
        if p.requires_grad and id(p) not in in_networks:
            shard.hooks.append(p.register_post_accumulate_grad_hook(_average_gradient(shard.world)))


@torch.no_grad()
def broadcast_state(model: nn.Module, buffers_only: bool = False) -> None:
    """Copy rank 0's parameters and buffers (or its buffers only) into every process."""
    for tensor in (model.buffers() if buffers_only else model.state_dict().values()):
        torch.distributed.broadcast(tensor, src=0)


def unwrap(model: nn.Module, shard: Shard) -> None:
    """Undo `wrap`: the original networks (and batch norms) back in place, hooks removed."""
    for name, child in shard.networks.items():
        setattr(model, name, child)
    for parent, name, original in shard.batch_norms:
        setattr(parent, name, original)
    for handle in shard.hooks:
        handle.remove()
    shard.networks, shard.hooks, shard.batch_norms = {}, [], []


@contextlib.contextmanager
def unwrapped(model: nn.Module, shard: Shard | None) -> Iterator[None]:
    """The model as it was given (no DDP wrappers in its state dict) inside the block."""
    if shard is None or not shard.networks:
        yield
        return
    wrappers = {name: getattr(model, name) for name in shard.networks}
    for name, child in shard.networks.items():
        setattr(model, name, child)
    try:
        yield
    finally:
        for name, wrapper in wrappers.items():
            setattr(model, name, wrapper)


def _synchronise_batch_norm(model: nn.Module, shard: Shard) -> None:
    """Replace every batch norm by a SyncBatchNorm sharing its parameters and statistics."""
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.modules.batchnorm._BatchNorm) and not isinstance(child, nn.SyncBatchNorm):
                synced = nn.SyncBatchNorm.convert_sync_batchnorm(child)
                setattr(parent, name, synced)
                shard.batch_norms.append((parent, name, child))


def average(values: Tensor, shard: Shard | None) -> Tensor:
    """The mean of `values` over the processes (unchanged in a one-process run)."""
    if shard is None or shard.world == 1:
        return values
    values = values.clone()
    torch.distributed.all_reduce(values)
    return values / shard.world


def batch_mean(value: Tensor) -> Tensor:
    """A mean over this process's part of the batch, made the mean over the whole batch.

    For the decisions a training step takes from its data — TimeGAN trains its discriminator
    only while its loss is above a threshold — which must come out the same on every process.
    Unchanged outside a data-parallel step.
    """
    return average(value.detach(), _current)


def check_in_sync(model: nn.Module, shard: Shard | None, step: int) -> None:
    """Raise RuntimeError if the processes no longer hold the same parameters.

    DDP averages a network's gradients only for computations that go through the network's
    `forward`; a gradient taken through another of its methods would silently stay local.
    Each network's parameters are summed, and the largest and smallest sums across processes
    compared: averaged gradients and identical optimizers keep them bit-identical.
    """
    if shard is None or shard.world == 1:
        return
    groups = {name: list(net.parameters()) for name, net in shard.networks.items()}
    in_networks = {id(p) for params in groups.values() for p in params}
    groups["the parameters outside the networks"] = [p for p in model.parameters() if id(p) not in in_networks]
    zero = torch.zeros((), dtype=torch.float64, device=next(model.parameters()).device)
    sums = torch.stack([sum((p.detach().double().sum() for p in params), zero) for params in groups.values()])
    extremes = torch.cat([sums, -sums])  # one all-reduce gives the maxima and the minima
    torch.distributed.all_reduce(extremes, op=torch.distributed.ReduceOp.MAX)
    spread = extremes[: len(sums)] + extremes[len(sums):]
    drifted = [name for name, s in zip(groups, spread.tolist()) if s != 0]
    if drifted:
        raise RuntimeError(
            f"by step {step} the processes hold different parameters in {', '.join(drifted)}: a gradient "
            f"reached them outside their forward(), which DistributedDataParallel does not average; "
            f"compute them through forward(), or train with one process"
        )


def barrier(shard: Shard | None) -> None:
    """Wait until every process gets here (nothing to wait for with one process)."""
    if shard is not None and shard.world > 1:
        torch.distributed.barrier()
