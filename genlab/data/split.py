"""Held-out splits that are the same on every machine for the same seed."""

from __future__ import annotations

import torch
from torch import Tensor
from torch.utils.data import TensorDataset

from genlab.checks import check_finite, check_seed


def split(data: Tensor | TensorDataset, test_fraction: float = 0.2, *, seed: int = 0):
    """Shuffle with `seed` and cut off `test_fraction` of the samples: returns (train, test),
    each of the same type as `data`.

    data is a tensor with at least one dimension (samples along the first) or a TensorDataset;
    test_fraction a number strictly between 0 and 1; seed an integer.
    """
    if not isinstance(data, (Tensor, TensorDataset)):
        raise TypeError(f"data must be a torch.Tensor or a TensorDataset, got {type(data).__name__}")
    tensors = (data,) if isinstance(data, Tensor) else tuple(data.tensors)
    if tensors[0].ndim == 0:
        raise ValueError("data must have a first axis of samples to split, got a 0-d tensor")
    n = len(tensors[0])
    check_finite(test_fraction, "test_fraction")
    seed = check_seed(seed)
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
