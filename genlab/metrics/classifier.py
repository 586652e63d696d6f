"""A small convolutional classifier for scikit-learn's 8×8 digits, used to judge generated digits.

Sample-quality measures for images need a network that "knows" the data: Inception
scores and FID use an ImageNet classifier; for 8×8 digits a few seconds of training on
the real training split give a classifier that is right about 98% of the time on
held-out digits. Asking it about generated digits tells us how often they look like
some digit (a confident label) and which digits appear (class coverage).

Training is deterministic: seeded, on the CPU, on `genlab.data.split(genlab.data.digits(), 0.2,
seed=0)`'s training part; the held-out part gives `test_accuracy`. The trained network is cached
per process, so every later call is free.
"""

from __future__ import annotations

import copy
from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import TensorDataset

from genlab.data import digits, split

IMAGE_SHAPE = (1, 8, 8)
N_CLASSES = 10


def _network() -> nn.Sequential:
    """(B, 1, 8, 8) -> (B, 10) logits."""
    return nn.Sequential(
        nn.Conv2d(1, 32, kernel_size=3, padding=1),  # (B, 1, 8, 8) -> (B, 32, 8, 8)
        nn.ReLU(),
        nn.MaxPool2d(2),  # -> (B, 32, 4, 4)
        nn.Conv2d(32, 64, kernel_size=3, padding=1),  # -> (B, 64, 4, 4)
        nn.ReLU(),
        nn.MaxPool2d(2),  # -> (B, 64, 2, 2)
        nn.Flatten(),  # -> (B, 256)
        nn.Linear(64 * 2 * 2, 128),  # features(): the 128 activations after this layer
        nn.ReLU(),
        nn.Dropout(0.3),
        nn.Linear(128, N_CLASSES),
    )


class DigitClassifier(nn.Module):
    """A trained 8×8 digit classifier for images (N, 1, 8, 8) with values in [-1, 1].

    Attributes:
        test_accuracy: accuracy on the held-out 20% of scikit-learn's digits.
    """

    def __init__(self, net: nn.Sequential, test_accuracy: float = float("nan")) -> None:
        super().__init__()
        self.net = net
        self.test_accuracy = test_accuracy

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def _prepare(self, images: Tensor) -> Tensor:
        x = torch.as_tensor(images)
        if x.ndim != 4 or tuple(x.shape[1:]) != IMAGE_SHAPE:
            raise ValueError(f"the digit classifier expects images of shape (N, 1, 8, 8), got {tuple(x.shape)}")
        x = x.to(self.device, torch.float32)
        if not torch.isfinite(x).all():
            raise ValueError("the images contain NaN or infinite values")
        if x.numel() and (x.min() < -1 - 1e-3 or x.max() > 1 + 1e-3):
            raise ValueError(
                f"the digit classifier expects pixel values in [-1, 1], got [{x.min().item():.3g}, {x.max().item():.3g}]"
            )
        return x

    @torch.no_grad()
    def forward(self, images: Tensor) -> Tensor:
        """Logits, (N, 1, 8, 8) -> (N, 10)."""
        return self.net(self._prepare(images))

    @torch.no_grad()
    def predict_proba(self, images: Tensor) -> Tensor:
        """Class probabilities, (N, 1, 8, 8) -> (N, 10); rows sum to 1."""
        return self(images).softmax(dim=1)

    @torch.no_grad()
    def predict(self, images: Tensor) -> Tensor:
        """Most probable digit, (N, 1, 8, 8) -> (N,) integers 0..9."""
        return self(images).argmax(dim=1)

    @torch.no_grad()
    def features(self, images: Tensor) -> Tensor:
        """The 128 penultimate activations, (N, 1, 8, 8) -> (N, 128), e.g. for a Fréchet distance."""
        return self.net[:-2](self._prepare(images))

    @torch.no_grad()
    def accuracy(self, dataset: TensorDataset | tuple[Tensor, Tensor]) -> float:
        """Fraction of (image, label) pairs classified correctly."""
        images, labels = dataset.tensors if isinstance(dataset, TensorDataset) else dataset
        if len(images) != len(labels) or len(images) == 0:
            raise ValueError(f"need as many labels as images, at least one: got {len(images)} and {len(labels)}")
        return (self.predict(images).cpu() == torch.as_tensor(labels).cpu()).float().mean().item()


@torch.enable_grad()
def train_digit_classifier(seed: int = 0, epochs: int = 20, batch_size: int = 64) -> DigitClassifier:
    """Train the classifier from scratch on the CPU (a few seconds); deterministic for a seed.

    Leaves the global random state untouched: initialisation and batch order use a forked RNG.
    """
    train, test = split(digits(), 0.2, seed=0)
    images, labels = train.tensors
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = _network()
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
    model = DigitClassifier(net)
    model.test_accuracy = model.accuracy(test)
    return model


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
    dev = torch.device(device) if device is not None else torch.device("cpu")
    return _cached(seed, str(dev))
