"""Small real images that ship with scikit-learn, so everything runs offline."""

from __future__ import annotations

import torch
from torch.utils.data import TensorDataset

from genlab.checks import check_float_dtype, check_value_range

RANGES = {(0, 1), (-1, 1)}


def digits(value_range: tuple[int, int] = (-1, 1), dtype: torch.dtype = torch.float32) -> TensorDataset:
    """scikit-learn's 1,797 handwritten digits as a dataset of (image, label) pairs.

    Args:
        value_range: (-1, 1) for tanh-output generators, (0, 1) for Bernoulli decoders.
        dtype: a floating-point dtype for the images.
    Returns:
        TensorDataset of images (1797, 1, 8, 8) and integer labels (1797,).
    """
    check_value_range(value_range)
    check_float_dtype(dtype)
    from sklearn.datasets import load_digits  # bundled with scikit-learn, no download

    bunch = load_digits()
    pixels = torch.as_tensor(bunch.images, dtype=dtype) / 16.0  # grey levels 0..16 -> [0, 1]
    if tuple(value_range) == (-1, 1):
        pixels = 2 * pixels - 1
    images = pixels.unsqueeze(1)  # (N, 8, 8) -> (N, 1, 8, 8)
    labels = torch.as_tensor(bunch.target, dtype=torch.long)
    return TensorDataset(images, labels)
