"""The random draws of the models' math, each named for what it draws.

Every function draws the numbers of a whole batch, the batch along the first axis. Under
`torchrun` (see `genlab.distributed`) a process keeps its own rows of the draw made for the
global batch, so that N processes use exactly the numbers one process would use for the same
samples; elsewhere each is the plain torch call it names (`torch.randn`, `torch.rand`,
`torch.randint`), with the same results for the same generator.
"""

from __future__ import annotations

import torch
from torch import Tensor

from genlab.distributed import batch_random


def normal(*shape: int, device: torch.device | str | None = None, dtype: torch.dtype | None = None,
           generator: torch.Generator | None = None) -> Tensor:
    """ε ~ N(0, I) of `shape` (torch.randn)."""
    return batch_random(torch.randn, shape, device=device, dtype=dtype, generator=generator)


def uniform(*shape: int, device: torch.device | str | None = None, dtype: torch.dtype | None = None,
            generator: torch.Generator | None = None) -> Tensor:
    """u ~ U(0, 1) of `shape` (torch.rand)."""
    return batch_random(torch.rand, shape, device=device, dtype=dtype, generator=generator)


def integers(high: int, *shape: int, low: int = 0, device: torch.device | str | None = None,
             generator: torch.Generator | None = None) -> Tensor:
    """Integers uniform on {low, …, high − 1} of `shape` (torch.randint): categories, classes, timesteps."""
    return batch_random(torch.randint, shape, low=low, high=high, device=device, generator=generator)


def normal_like(x: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """ε ~ N(0, I) of x's shape, device and dtype."""
    return normal(*x.shape, device=x.device, dtype=x.dtype, generator=generator)


def uniform_like(x: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """u ~ U(0, 1) of x's shape, device and dtype."""
    return uniform(*x.shape, device=x.device, dtype=x.dtype, generator=generator)
