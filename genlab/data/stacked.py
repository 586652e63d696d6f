"""Stacked digits: an offline analogue of Stacked MNIST with 1,000 modes.

Stacked MNIST (Metz et al., 2017; Srivastava et al., 2017; Lin et al., 2018) puts three
independently drawn MNIST digits into the three channels of one image, so the data has
10 × 10 × 10 = 1,000 equally likely modes, one per triple of digit labels. MNIST needs
a download; scikit-learn's 8×8 digits ship with the library, so here each channel is an
8×8 digit instead of a 28×28 one. The counting rule is the same (see
`genlab.metrics.stacked_modes`), but the images are smaller and simpler: the results are
an analogue of the published benchmark, not the same benchmark.

Which digits are stacked matters because the mode counter is itself a classifier,
`genlab.metrics.digit_classifier()`, trained on the training part of
`genlab.data.split(genlab.data.digits(), 0.2, seed=0)`. The `split` argument picks the pool:

- "train" (default): the classifier's 1,438 training digits. Models learn from these,
  so the 359 held-out digits stay unseen by both the models and the classifier.
- "test": the 359 held-out digits. Stacks of them show how well the classifier labels
  digits it has never seen — the honest ceiling a generator's new digits can reach.
- "all": all 1,797 digits.
"""

from __future__ import annotations

import torch
from torch.utils.data import TensorDataset

from genlab.checks import check_seed, check_value_range

from genlab.data.images import digits
from genlab.data.split import split as split_dataset

# The held-out split used by the digit classifier (genlab/metrics/classifier.py).
HELD_OUT_FRACTION = 0.2
SPLIT_SEED = 0
SPLITS = ("train", "test", "all")
N_CHANNELS = 3
N_MODES = 10**N_CHANNELS


def digit_pool(split: str = "train", value_range: tuple[int, int] = (-1, 1)) -> TensorDataset:
    """The single digits that stacks are drawn from: images (M, 1, 8, 8) and labels (M,).

    M is 1,438 for "train", 359 for "test" and 1,797 for "all" (see the module docstring).
    """
    if not isinstance(split, str) or split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    check_value_range(value_range)
    data = digits(value_range)
    if split == "all":
        return data
    train, test = split_dataset(data, HELD_OUT_FRACTION, seed=SPLIT_SEED)
    return train if split == "train" else test


def stacked_digits(
    n: int,
    seed: int = 0,
    value_range: tuple[int, int] = (-1, 1),
    split: str = "train",
) -> TensorDataset:
    """n images made of three independently drawn digits, one per channel.

    Each channel independently gets a digit label drawn uniformly from 0..9 and then an
    image of that digit drawn uniformly, with replacement, from the pool that `split` names;
    so all 1,000 label triples are exactly equally likely.

    Args:
        n: number of stacked images, at least 1.
        seed: the draw is a pure function of (n, seed, split): the same on every machine.
        value_range: (-1, 1) for tanh-output generators, (0, 1) for Bernoulli decoders.
        split: "train" (default), "test" or "all"; see the module docstring.
    Returns:
        TensorDataset of images (n, 3, 8, 8) and labels (n, 3): labels[i, c] is the digit
        shown in channel c of image i. The mode of image i is 100·l0 + 10·l1 + l2.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n (the number of stacked images) must be a positive integer, got {n!r}")
    seed = check_seed(seed)
    pool_images, pool_labels = digit_pool(split, value_range).tensors
    # Pool indices grouped by class: class k owns order[start[k] : start[k] + size[k]].
    order = torch.argsort(pool_labels, stable=True)
    size = torch.bincount(pool_labels, minlength=10)
    start = torch.cumsum(size, 0) - size
    g = torch.Generator().manual_seed(seed)
    # The label first, uniform over 0..9, then an image of that class: the pools are not
    # class-balanced (the 359 held-out digits hold 30 to 51 of a class), and drawing images
    # directly would make some triples rarer than others.
    labels = torch.randint(10, (n, N_CHANNELS), generator=g)  # (n, 3)
    offset = (torch.rand(n, N_CHANNELS, generator=g) * size[labels]).long().clamp(max=size[labels] - 1)
    index = order[start[labels] + offset]  # (n, 3) indices into the pool
    images = pool_images[index].squeeze(2)  # (n, 3, 1, 8, 8) -> (n, 3, 8, 8)
    return TensorDataset(images, labels)


def mode_index(labels: torch.Tensor) -> torch.Tensor:
    """The mode of each label triple, (N, 3) digits 0..9 -> (N,) integers 0..999."""
    try:
        labels = torch.as_tensor(labels)
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(f"labels must be an integer tensor of shape (N, 3), got {type(labels).__name__}") from err
    if labels.ndim != 2 or labels.shape[1] != N_CHANNELS:
        raise ValueError(f"labels must have shape (N, 3), got {tuple(labels.shape)}")
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise ValueError(f"labels must be integer digits 0..9, got dtype {labels.dtype}")
    if labels.numel() and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(
            f"labels must be integer digits 0..9, got values in [{labels.min().item()}, {labels.max().item()}]"
        )
    return labels[:, 0] * 100 + labels[:, 1] * 10 + labels[:, 2]
