"""Held-out splits that are the same on every machine for the same seed."""

from __future__ import annotations

import torch
from torch import Tensor
from torch.utils.data import TensorDataset


def split(data: Tensor | TensorDataset, test_fraction: float = 0.2, *, seed: int = 0):
    """Shuffle with `seed` and cut off `test_fraction` of the samples: returns (train, test),
    each of the same type as `data`."""
    tensors = (data,) if isinstance(data, Tensor) else tuple(data.tensors)
    n = len(tensors[0])
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction}")
    n_test = round(n * test_fraction)
    if n_test == 0 or n_test == n:
        raise ValueError(f"cannot split {n} samples with test_fraction={test_fraction}: one side would be empty")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    test_idx, train_idx = perm[:n_test], perm[n_test:]
    if isinstance(data, Tensor):
        return data[train_idx], data[test_idx]
    return TensorDataset(*(t[train_idx] for t in tensors)), TensorDataset(*(t[test_idx] for t in tensors))
