"""A small convolutional classifier for Fashion-MNIST's 28×28 images, used to judge generated clothes.

The digit classifier's recipe (`genlab.metrics.classifier`) at Fashion-MNIST's size: the same
two 3×3 convolutions (32 and 64 channels, each followed by 2×2 max pooling, 28 → 14 → 7),
then 64 · 7 · 7 = 3,136 → 128 features → 10 classes, trained with Adam(1e-3) and
cross-entropy. Its 128 penultimate activations (`features`) are what the Fréchet distance and
precision/recall of `genlab.metrics.image_scores` compare, as Inception features are for FID.

Training is deterministic: seeded, on the CPU, with a forked RNG (the global random state is
left as it was), on a fixed subset of the training split — `N_TRAIN` = 20,000 of the 60,000
images, drawn with seed `SUBSET_SEED` = 0 whatever the classifier's seed — for `EPOCHS` = 3
passes of 64-image batches: under a minute on one CPU thread (about 50 s, reading the files
and scoring the test split included), for 0.88 accuracy on the 10,000 test images (`test_accuracy`; 0.85
after one pass). More data and epochs buy a point or two; the scores need a classifier that
separates the ten kinds of clothes, not the best one. The trained network is cached per
process, so every later call is free.

The data are read offline by `genlab.data.load_idx_dataset("fashion-mnist", …)`: Debian's
`dataset-fashion-mnist` package, or IDX files in the folder GENLAB_DATA names.
"""

from __future__ import annotations

import copy
import os
from functools import lru_cache

import torch
from torch.utils.data import TensorDataset

from genlab.checks import check_count, check_seed
from genlab.data.idx import load_idx_dataset
from genlab.metrics.classifier import ImageClassifier, classifier_network, parse_device, train_classifier

IMAGE_SHAPE = (1, 28, 28)
N_TRAIN = 20_000
SUBSET_SEED = 0
EPOCHS = 3
# Fashion-MNIST's ten classes, in label order.
CLASSES = ("T-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot")


class FashionClassifier(ImageClassifier):
    """A trained Fashion-MNIST classifier for images (N, 1, 28, 28) with values in [-1, 1].

    Labels are 0..9, named in `CLASSES`. Images go through the network 500 at a time (the
    first feature map holds 32 × 28 × 28 numbers per image).

    Attributes:
        test_accuracy: accuracy on Fashion-MNIST's 10,000 test images.
    """

    image_shape = IMAGE_SHAPE
    name = "Fashion-MNIST classifier"
    chunk = 500


def fashion_mnist(split: str = "train", root: str | os.PathLike | None = None) -> TensorDataset:
    """Fashion-MNIST's `split` ("train" or "test") as images (N, 1, 28, 28) in [-1, 1] and labels (N,).

    Read offline from `root`, or from the places `genlab.data.idx.search_paths` lists
    (GENLAB_DATA first, then Debian's /usr/share/datasets/fashion-mnist). A FileNotFoundError
    lists every place searched and says how to get the files (apt-get install
    dataset-fashion-mnist, or set GENLAB_DATA to a folder holding them).
    """
    return load_idx_dataset("fashion-mnist", split, root=root, value_range=(-1, 1))


def subset(images: torch.Tensor, labels: torch.Tensor, n: int, seed: int = SUBSET_SEED) -> tuple[torch.Tensor, torch.Tensor]:
    """n images and their labels drawn without replacement under `seed` (all of them, shuffled, if fewer)."""
    n = check_count(n, "n", minimum=1)
    if len(images) != len(labels):
        raise ValueError(f"images and labels must be as many, got {len(images)} and {len(labels)}")
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:n]
    return images[order], labels[order]


def train_fashion_classifier(
    seed: int = 0,
    epochs: int = EPOCHS,
    batch_size: int = 64,
    n_train: int = N_TRAIN,
    root: str | os.PathLike | None = None,
) -> FashionClassifier:
    """Train the classifier from scratch on the CPU (under a minute on one thread); deterministic for a seed.

    Trains on `n_train` training images (a subset fixed by `SUBSET_SEED`, not by `seed`; all
    of them if the split holds fewer) for `epochs` passes and reports its accuracy on the test
    split. Leaves the global random state untouched. seed is an integer; epochs, batch_size and
    n_train positive integers; root, if given, the folder holding the IDX files.
    Raises:
        FileNotFoundError: no Fashion-MNIST files found; the message says where it looked and
            how to get them.
    """
    seed = check_seed(seed)
    check_count(epochs, "epochs", minimum=1)
    check_count(batch_size, "batch_size", minimum=1)
    check_count(n_train, "n_train", minimum=1)
    images, labels = subset(*fashion_mnist("train", root).tensors, n_train)
    test = fashion_mnist("test", root)
    net = train_classifier(lambda: classifier_network(IMAGE_SHAPE), images, labels, seed, epochs, batch_size)
    model = FashionClassifier(net)
    model.test_accuracy = model.accuracy(test)
    return model


@lru_cache(maxsize=None)
def _cached(seed: int, device: str) -> FashionClassifier:
    if device == "cpu":
        return train_fashion_classifier(seed)
    return copy.deepcopy(_cached(seed, "cpu")).to(device)


def fashion_classifier(device: str | torch.device | None = None, seed: int = 0) -> FashionClassifier:
    """The trained Fashion-MNIST classifier on `device` (default: CPU), trained once per process and seed.

    The first call reads the data and trains (under a minute on one CPU thread); the same
    object is returned on every later call: treat it as read-only.
    """
    seed = check_seed(seed)
    return _cached(seed, str(parse_device(device)))
