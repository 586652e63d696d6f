"""A small convolutional classifier for scikit-learn's 8×8 digits, used to judge generated digits.

Sample-quality measures for images need a network that "knows" the data: Inception
scores and FID use an ImageNet classifier; for 8×8 digits a few seconds of training on
the real training split give a classifier that is right about 99% of the time on
held-out digits. Asking it about generated digits tells us how often they look like
some digit (a confident label) and which digits appear (class coverage).

Training is deterministic: seeded, on the CPU, on `genlab.data.split(genlab.data.digits(), 0.2,
seed=0)`'s training part; the held-out part gives `test_accuracy`. The trained network is cached
per process, so every later call is free.

`ImageClassifier` holds what does not depend on the images' size — input checks, probabilities,
labels, features, accuracy — and `classifier_network` and `train_classifier` build and train the same
two-convolution network for any (1, H, W) with H and W multiples of 4: `DigitClassifier` is its
8×8 case, `genlab.metrics.fashion.FashionClassifier` its 28×28 one.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import TensorDataset

from genlab.checks import check_count, check_seed
from genlab.data import digits, split

IMAGE_SHAPE = (1, 8, 8)
N_CLASSES = 10


def classifier_network(image_shape: tuple[int, int, int] = IMAGE_SHAPE) -> nn.Sequential:
    """(B, 1, H, W) -> (B, 10) logits; H and W multiples of 4 (8×8 digits: the sizes below)."""
    _, h, w = image_shape
    return nn.Sequential(
        nn.Conv2d(1, 32, kernel_size=3, padding=1),  # (B, 1, 8, 8) -> (B, 32, 8, 8)
        nn.ReLU(),
        nn.MaxPool2d(2),  # -> (B, 32, 4, 4)
        nn.Conv2d(32, 64, kernel_size=3, padding=1),  # -> (B, 64, 4, 4)
        nn.ReLU(),
        nn.MaxPool2d(2),  # -> (B, 64, 2, 2)
        nn.Flatten(),  # -> (B, 256)
        nn.Linear(64 * (h // 4) * (w // 4), 128),  # features(): the 128 activations after this layer
        nn.ReLU(),
        nn.Dropout(0.3),
        nn.Linear(128, N_CLASSES),
    )


class ImageClassifier(nn.Module):
    """A trained classifier of images (N, *image_shape) with values in [-1, 1] into 10 classes.

    `net` maps (B, *image_shape) to (B, 10) logits and ends in (…, ReLU, Dropout, Linear), as
    `classifier_network` does: `features` are the activations before the dropout. Subclasses set
    `image_shape`, `name` (used in error messages) and `chunk`, the most images one forward
    pass takes (None: all at once).

    Attributes:
        test_accuracy: accuracy on held-out images never seen in training.
    """

    image_shape: tuple[int, int, int] = IMAGE_SHAPE
    name: str = "image classifier"
    chunk: int | None = None

    def __init__(self, net: nn.Sequential, test_accuracy: float = float("nan")) -> None:
        if not isinstance(net, nn.Module):
            raise TypeError(f"net must be a torch.nn.Module, got {type(net).__name__}")
        super().__init__()
        self.net = net
        self.test_accuracy = test_accuracy

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def _shape_text(self) -> str:
        return "(N, " + ", ".join(str(size) for size in self.image_shape) + ")"

    def _prepare(self, images: Tensor) -> Tensor:
        """images as float32 on the classifier's device; integer images are converted, values must lie in [-1, 1]."""
        try:
            x = torch.as_tensor(images)
        except (TypeError, ValueError, RuntimeError) as err:
            raise TypeError(f"images must be a tensor of shape {self._shape_text()}, got {type(images).__name__}") from err
        if x.ndim != 4 or tuple(x.shape[1:]) != tuple(self.image_shape):
            raise ValueError(f"images must have shape {self._shape_text()} for the {self.name}, got {tuple(x.shape)}")
        if x.dtype == torch.bool or x.is_complex():
            raise TypeError(f"images must hold real pixel values in [-1, 1], got dtype {x.dtype}")
        x = x.to(self.device, torch.float32)
        if not torch.isfinite(x).all():
            raise ValueError("images contain NaN or infinite values")
        if x.numel() and (x.min() < -1 - 1e-3 or x.max() > 1 + 1e-3):
            raise ValueError(
                f"images must have pixel values in [-1, 1] for the {self.name}, "
                f"got [{x.min().item():.3g}, {x.max().item():.3g}]; map [0, 1] images with 2x − 1"
            )
        return x

    def _batched(self, net: Callable[[Tensor], Tensor], images: Tensor) -> Tensor:
        """net on the checked images, `chunk` images at a time (all at once when chunk is None)."""
        x = self._prepare(images)
        if self.chunk is None or len(x) <= self.chunk:
            return net(x)
        return torch.cat([net(part) for part in x.split(self.chunk)])

    @torch.no_grad()
    def forward(self, images: Tensor) -> Tensor:
        """Logits, (N, *image_shape) -> (N, 10)."""
        return self._batched(self.net, images)

    @torch.no_grad()
    def predict_proba(self, images: Tensor) -> Tensor:
        """Class probabilities, (N, *image_shape) -> (N, 10); rows sum to 1."""
        return self(images).softmax(dim=1)

    @torch.no_grad()
    def predict(self, images: Tensor) -> Tensor:
        """Most probable class, (N, *image_shape) -> (N,) integers 0..9."""
        return self(images).argmax(dim=1)

    @torch.no_grad()
    def features(self, images: Tensor) -> Tensor:
        """The 128 penultimate activations, (N, *image_shape) -> (N, 128), e.g. for a Fréchet distance."""
        return self._batched(self.net[:-2], images)

    @torch.no_grad()
    def accuracy(self, dataset: TensorDataset | tuple[Tensor, Tensor]) -> float:
        """Fraction of (image, label) pairs classified correctly; labels are integers 0..9, shape (N,)."""
        if isinstance(dataset, TensorDataset):
            if len(dataset.tensors) != 2:
                raise ValueError(f"dataset must hold (images, labels), got {len(dataset.tensors)} tensors")
            images, labels = dataset.tensors
        elif isinstance(dataset, (tuple, list)) and len(dataset) == 2:
            images, labels = dataset
        else:
            raise TypeError(
                f"dataset must be a TensorDataset or an (images, labels) pair, got {type(dataset).__name__}"
            )
        labels = torch.as_tensor(labels)
        if labels.ndim != 1:
            raise ValueError(f"dataset's labels must have shape (N,), got {tuple(labels.shape)}")
        if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
            raise TypeError(f"dataset's labels must be integers 0..9, got dtype {labels.dtype}")
        if len(images) != len(labels) or len(images) == 0:
            raise ValueError(
                f"dataset needs as many labels as images, at least one: got {len(images)} and {len(labels)}"
            )
        return (self.predict(images).cpu() == torch.as_tensor(labels).cpu()).float().mean().item()


class DigitClassifier(ImageClassifier):
    """A trained 8×8 digit classifier for images (N, 1, 8, 8) with values in [-1, 1].

    Attributes:
        test_accuracy: accuracy on the held-out 20% of scikit-learn's digits.
    """

    image_shape = IMAGE_SHAPE
    name = "digit classifier"


@torch.enable_grad()
def train_classifier(build: Callable[[], nn.Module], images: Tensor, labels: Tensor, seed: int, epochs: int,
                     batch_size: int) -> nn.Module:
    """`build()`'s network trained with Adam(1e-3) and cross-entropy on (images, labels); frozen, in eval mode.

    Deterministic for a seed: initialisation (`build` runs right after seeding) and batch
    order use a forked RNG, so the global random state is left untouched.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = build()
        order = torch.Generator().manual_seed(seed)
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        net.train()
        for _ in range(epochs):
            perm = torch.randperm(len(images), generator=order)
            for i in range(0, len(images), batch_size):
                idx = perm[i : i + batch_size]
                loss = F.cross_entropy(net(images[idx]), labels[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def train_digit_classifier(seed: int = 0, epochs: int = 20, batch_size: int = 64) -> DigitClassifier:
    """Train the classifier from scratch on the CPU (a few seconds); deterministic for a seed.

    Leaves the global random state untouched: initialisation and batch order use a forked RNG.
    seed is an integer, epochs and batch_size positive integers.
    """
    seed = check_seed(seed)
    check_count(epochs, "epochs", minimum=1)
    check_count(batch_size, "batch_size", minimum=1)
    train, test = split(digits(), 0.2, seed=0)
    images, labels = train.tensors
    model = DigitClassifier(train_classifier(classifier_network, images, labels, seed, epochs, batch_size))
    model.test_accuracy = model.accuracy(test)
    return model


def parse_device(device: str | torch.device | None) -> torch.device:
    """`device` as a torch.device (None: the CPU), or a ValueError naming the argument."""
    try:
        return torch.device(device) if device is not None else torch.device("cpu")
    except (TypeError, RuntimeError, ValueError) as err:
        raise ValueError(
            f"device must be None, a torch.device or a name such as 'cpu' or 'cuda', got {device!r}"
        ) from err


@lru_cache(maxsize=None)
def _cached(seed: int, device: str) -> DigitClassifier:
    cpu = _cached(seed, "cpu") if device != "cpu" else None
    if cpu is None:
        return train_digit_classifier(seed)
    return copy.deepcopy(cpu).to(device)


def digit_classifier(device: str | torch.device | None = None, seed: int = 0) -> DigitClassifier:
    """The trained digit classifier on `device` (default: CPU), trained once per process and seed.

    The same object is returned on every call: treat it as read-only.
    """
    seed = check_seed(seed)
    return _cached(seed, str(parse_device(device)))
