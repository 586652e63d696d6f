"""The two scores TimeGAN made the standard for generated time series (Yoon et al., 2019).

Both train a small recurrent network *after* the generator is done ("post hoc") and read
its result as a score; lower is better for both.

- `discriminative_score`: can a classifier tell real from generated sequences?
  A one-layer GRU with ⌊F/2⌋ units reads each sequence; a linear layer on its last state
  says real or generated. It is trained on 80% of each set and tested on the other 20%;
  the score is |test accuracy − 0.5| — 0 when the two sets are indistinguishable to it,
  0.5 when it separates them perfectly.
- `predictive_score`: "train on synthetic, test on real". A one-layer GRU reads the first
  F − 1 features of steps 1, …, T − 1 and predicts the last feature at steps 2, …, T. It
  learns from `train` (generated sequences) and is judged by its mean absolute error on
  `test` (real sequences). Trained on real sequences instead it gives the floor: the best
  that data as good as the real data can reach.

Both follow the official TimeGAN code: batches of 128 drawn at random each iteration,
Adam with learning rate 1e-3, 2,000 iterations for the classifier, 5,000 for the
predictor, hidden width ⌊F/2⌋, a sigmoid on the predictor's output trained with the
absolute error. The predictor's sigmoid assumes data scaled into [0, 1], as in that code.
Differences: torch's `nn.GRU` instead of TensorFlow 1's GRU cell (a slightly different
gate formula and initialisation), and every random choice (initial weights, split,
batches) drawn from one seeded generator so that a seed fixes the result on the CPU.

`repeat_score` runs either score over several seeds and returns mean and standard
deviation, the form in which TimeGAN reports them (10 repetitions).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genlab.checks import check_count, check_positive, check_seed

BATCH_SIZE = 128  # as the official TimeGAN code
LEARNING_RATE = 1e-3  # Adam's default there
TRAIN_FRACTION = 0.8  # the discriminative score's 80/20 split


class PostHocGRU(nn.Module):
    """A one-layer GRU with a linear read-out: the network both scores train.

    per_step=False: (B, T, inputs) -> (B, outputs), from the last hidden state (classifier).
    per_step=True:  (B, T, inputs) -> (B, T, outputs), one output per step (next-step predictor).

    The weights are drawn from `generator` (uniform ±1/√hidden, torch's own GRU rule), not
    from the global random state, so building one does not disturb the caller's seeds.
    """

    def __init__(
        self, inputs: int, hidden: int, *, per_step: bool, generator: torch.Generator, outputs: int = 1
    ) -> None:
        check_count(inputs, "inputs", minimum=1)
        check_count(hidden, "hidden", minimum=1)
        check_count(outputs, "outputs", minimum=1)
        if not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
        super().__init__()
        self.per_step = per_step
        # Built without initialising ("meta" tensors), then given memory and drawn from `generator`.
        self.gru = nn.GRU(inputs, hidden, batch_first=True, device="meta")
        self.readout = nn.Linear(hidden, outputs, device="meta")
        self.to_empty(device="cpu")
        bound = 1 / math.sqrt(hidden)
        with torch.no_grad():
            for p in self.parameters():
                p.uniform_(-bound, bound, generator=generator)

    def forward(self, x: Tensor) -> Tensor:
        out, last = self.gru(x)  # out (B, T, H), last (1, B, H)
        return self.readout(out if self.per_step else last[-1])


# --- the two scores ---------------------------------------------------------------------


def discriminative_score(
    real: Tensor,
    fake: Tensor,
    seed: int = 0,
    iterations: int = 2000,
    hidden: int | None = None,
    device: str | torch.device | None = None,
    *,
    batch_size: int = BATCH_SIZE,
    lr: float = LEARNING_RATE,
) -> float:
    """|test accuracy − 0.5| of a post-hoc GRU classifier of real against generated sequences.

    Args:
        real: real sequences (N, T, F); fake: generated sequences (M, T, F); N, M ≥ 5 so
            that both the 80% training part and the 20% test part hold some of each.
        seed: fixes the split, the initial weights and the batches.
        iterations: Adam steps; each sees `batch_size` real and `batch_size` generated
            sequences drawn at random from the training parts.
        hidden: GRU width; default ⌊F/2⌋ (at least 1), as in TimeGAN.
        device: where to train; default the device of `real`.
    Returns:
        A float in [0, 0.5]; 0 means the classifier does no better than chance.
    """
    _check_sequences(real=real, fake=fake)
    _check_sizes(iterations, batch_size, lr)
    for name, x in (("real", real), ("fake", fake)):
        if len(x) < 5:
            raise ValueError(f"{name} holds {len(x)} sequences; the 80/20 split needs at least 5")
    features = real.shape[-1]
    hidden = _hidden(hidden, features)
    dev = _device(device, real)
    g = torch.Generator().manual_seed(check_seed(seed))

    # Split each set on its own, 80% to train the classifier and 20% to test it.
    real_train, real_test = _split(real.to(dev, torch.float32), g)
    fake_train, fake_test = _split(fake.to(dev, torch.float32), g)
    net = PostHocGRU(features, hidden, per_step=False, generator=g).to(dev)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    for _ in range(iterations):
        x_real = real_train[_batch(len(real_train), batch_size, g).to(dev)]
        x_fake = fake_train[_batch(len(fake_train), batch_size, g).to(dev)]
        # One pass over both halves: the same result as two, at half the per-step overhead.
        logit_real, logit_fake = net(torch.cat([x_real, x_fake])).split([len(x_real), len(x_fake)])
        # Binary cross-entropy, real labelled 1 and generated 0, one mean per set summed
        # (TimeGAN's discriminative_metrics: d_loss = d_loss_real + d_loss_fake).
        loss = F.binary_cross_entropy_with_logits(
            logit_real, torch.ones_like(logit_real)
        ) + F.binary_cross_entropy_with_logits(logit_fake, torch.zeros_like(logit_fake))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    with torch.no_grad():
        correct = (net(real_test) > 0).sum() + (net(fake_test) <= 0).sum()  # logit > 0 ⇔ p > 0.5
    accuracy = correct.item() / (len(real_test) + len(fake_test))
    return abs(accuracy - 0.5)


def predictive_score(
    train: Tensor,
    test: Tensor,
    seed: int = 0,
    iterations: int = 5000,
    hidden: int | None = None,
    device: str | torch.device | None = None,
    *,
    target: str = "last",
    batch_size: int = BATCH_SIZE,
    lr: float = LEARNING_RATE,
) -> float:
    """Mean absolute error on `test` of a next-step predictor trained on `train` (TSTR).

    With target="last" (TimeGAN's score) the predictor reads features 1, …, F − 1 at steps
    1, …, T − 1 and predicts feature F at steps 2, …, T; with target="next" (for a series
    of one feature, where "the others" do not exist) it reads all F features at steps
    1, …, T − 1 and predicts all of them one step ahead. Predictions go through a sigmoid,
    so the data should lie in [0, 1].

    Args:
        train: the sequences the predictor learns from (N, T, F): generated ones to score a
            generator, real ones (disjoint from `test`) for the floor. T ≥ 2, and F ≥ 2
            for target="last".
        test: real sequences (M, T, F) to measure the error on.
        seed: fixes the initial weights and the batches.
        iterations: Adam steps on random batches of `batch_size` training sequences.
        hidden: GRU width; default ⌊F/2⌋ (at least 1), as in TimeGAN.
        device: where to train; default the device of `train`.
    Returns:
        The mean absolute error over all test sequences and predicted steps.
    """
    _check_sequences(train=train, test=test)
    _check_sizes(iterations, batch_size, lr)
    _, length, features = train.shape
    if target not in ("last", "next"):
        raise ValueError(f"target must be 'last' (TimeGAN's score) or 'next' (every feature one step ahead), "
                         f"got {target!r}")
    if target == "last" and features < 2:
        raise ValueError(
            f"train and test need at least 2 features for the predictive score (it predicts the last from "
            f"the others), got {features}; for a single series use target='next'"
        )
    if length < 2:
        raise ValueError(f"train and test need sequences of at least 2 steps for the predictive score, got {length}")
    hidden = _hidden(hidden, features)
    dev = _device(device, train)
    g = torch.Generator().manual_seed(check_seed(seed))

    def inputs_and_targets(x: Tensor) -> tuple[Tensor, Tensor]:
        x = x.to(dev, torch.float32)
        if target == "next":
            return x[:, :-1], x[:, 1:]  # (B, T−1, F) -> (B, T−1, F)
        return x[:, :-1, :-1], x[:, 1:, -1:]  # (B, T−1, F−1) -> (B, T−1, 1)

    train_x, train_y = inputs_and_targets(train)
    test_x, test_y = inputs_and_targets(test)
    inputs, outputs = (features, features) if target == "next" else (features - 1, 1)
    net = PostHocGRU(inputs, hidden, per_step=True, generator=g, outputs=outputs).to(dev)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    for _ in range(iterations):
        idx = _batch(len(train_x), batch_size, g).to(dev)
        # Absolute error of the sigmoid output (TimeGAN's predictive_metrics: tf.losses.absolute_difference).
        loss = (torch.sigmoid(net(train_x[idx])) - train_y[idx]).abs().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    with torch.no_grad():
        error = (torch.sigmoid(net(test_x)) - test_y).abs().mean()
    return error.item()


class SequenceClassifier(PostHocGRU):
    """A GRU that reads a sequence and names its class: the judge of TSTR and of conditional generators.

    Train-on-synthetic, test-on-real (TSTR; Esteban et al., 2017): fit it on generated
    (sequence, label) pairs and measure its accuracy on real ones; the same classifier fit on
    real pairs (TRTR) is the reference. Fit on real pairs, it also checks a conditional
    generator: does it recognise the class each sample was asked for?

    Build it with `SequenceClassifier.fit(x, labels, classes, seed=…)`; (B, T, F) -> logits (B, classes).
    """

    def __init__(self, features: int, classes: int, hidden: int, generator: torch.Generator) -> None:
        check_count(classes, "classes", minimum=2)
        super().__init__(features, hidden, per_step=False, generator=generator, outputs=classes)

    @classmethod
    def fit(
        cls,
        x: Tensor,
        labels: Tensor,
        classes: int,
        *,
        seed: int = 0,
        iterations: int = 2000,
        hidden: int = 32,
        batch_size: int = BATCH_SIZE,
        lr: float = LEARNING_RATE,
        device: str | torch.device | None = None,
    ) -> SequenceClassifier:
        """A classifier trained with Adam on random batches of (x (N, T, F), labels (N,) in 0..classes−1)."""
        _check_sequences(x=x)
        _check_sizes(iterations, batch_size, lr)
        check_count(classes, "classes", minimum=2)
        labels = _check_labels(labels, len(x), classes)
        dev = _device(device, x)
        g = torch.Generator().manual_seed(check_seed(seed))
        net = cls(x.shape[-1], classes, check_count(hidden, "hidden", minimum=1), g).to(dev)
        x, labels = x.to(dev, torch.float32), labels.to(dev)
        opt = torch.optim.Adam(net.parameters(), lr=lr)
        for _ in range(iterations):
            idx = _batch(len(x), batch_size, g).to(dev)
            loss = F.cross_entropy(net(x[idx]), labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return net.eval()

    @torch.no_grad()
    def accuracy(self, x: Tensor, labels: Tensor) -> float:
        """The share of sequences x (N, T, F) whose predicted class is their label (N,)."""
        _check_sequences(x=x)
        labels = _check_labels(labels, len(x), self.readout.out_features)
        device = self.readout.weight.device
        return (self(x.to(device, torch.float32)).argmax(-1) == labels.to(device)).float().mean().item()


class RepeatedScore(NamedTuple):
    """A score repeated over seeds: mean, sample standard deviation (n − 1) and the values."""

    mean: float
    sd: float
    values: list[float]


def repeat_score(score: Callable[..., float], *args, seeds: Iterable[int] = range(10), **kwargs) -> RepeatedScore:
    """Run `score(*args, seed=s, **kwargs)` for every seed s; sd is nan for a single seed.

    Example: repeat_score(discriminative_score, real, fake, seeds=range(10), iterations=500).
    """
    if not callable(score):
        raise TypeError(f"score must be a callable such as discriminative_score, got {type(score).__name__}")
    try:
        seeds = list(seeds)
    except TypeError:
        raise TypeError(f"seeds must be an iterable of integers, got {type(seeds).__name__}") from None
    if not seeds:
        raise ValueError("seeds is empty: repeat_score needs at least one seed")
    seeds = [check_seed(s, "every seed in seeds") for s in seeds]
    values = [float(score(*args, seed=s, **kwargs)) for s in seeds]
    sd = statistics.stdev(values) if len(values) > 1 else math.nan
    return RepeatedScore(statistics.fmean(values), sd, values)


# --- helpers ----------------------------------------------------------------------------


def _check_sequences(**sets: Tensor) -> None:
    """Each set must be a finite float tensor (N, T, F), all with the same (T, F)."""
    for name, x in sets.items():
        if not isinstance(x, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor of shape (N, T, F), got {type(x).__name__}")
        if not x.is_floating_point():
            raise TypeError(f"{name} must hold floating-point values, got {x.dtype}")
        if x.ndim != 3 or min(x.shape) < 1:
            raise ValueError(f"{name} must have shape (N, T, F) with no empty axis, got {tuple(x.shape)}")
        if not torch.isfinite(x).all():
            raise ValueError(f"{name} contains NaN or infinite values")
    (first, a), *rest = sets.items()
    for name, b in rest:
        if a.shape[1:] != b.shape[1:]:
            raise ValueError(
                f"{first} has sequences of shape (T, F) = {tuple(a.shape[1:])} but {name} has {tuple(b.shape[1:])}"
            )


def _check_labels(labels: object, n: int, classes: int) -> Tensor:
    if not isinstance(labels, Tensor) or labels.is_floating_point() or labels.dtype == torch.bool:
        raise TypeError(f"labels must be an integer tensor of classes, got {getattr(labels, 'dtype', type(labels).__name__)}")
    if labels.shape != (n,):
        raise ValueError(f"labels must have shape ({n},), one per sequence, got {tuple(labels.shape)}")
    if n and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(f"labels must lie in 0..{classes - 1}, got {labels.min().item()}..{labels.max().item()}")
    return labels.long()


def _check_sizes(iterations: int, batch_size: int, lr: float) -> None:
    for name, value in (("iterations", iterations), ("batch_size", batch_size)):
        check_count(value, name, minimum=1)  # "iterations must be a positive integer, got 2.5"
    check_positive(lr, "lr")


def _hidden(hidden: int | None, features: int) -> int:
    if hidden is None:
        return max(1, features // 2)  # TimeGAN: int(dim / 2)
    return check_count(hidden, "hidden", minimum=1)


def _device(device: str | torch.device | None, default: Tensor) -> torch.device:
    """torch.device(device), or the device of `default` for None; an error naming `device` otherwise."""
    if device is None:
        return default.device
    try:
        return torch.device(device)
    except (TypeError, RuntimeError, ValueError) as err:
        raise ValueError(
            f"device must be None, a torch.device or a name such as 'cpu' or 'cuda', got {device!r}"
        ) from err


def _split(x: Tensor, g: torch.Generator) -> tuple[Tensor, Tensor]:
    """A random TRAIN_FRACTION / rest split of the sequences of x (N, T, F)."""
    order = torch.randperm(len(x), generator=g).to(x.device)
    cut = int(TRAIN_FRACTION * len(x))
    return x[order[:cut]], x[order[cut:]]


def _batch(n: int, batch_size: int, g: torch.Generator) -> Tensor:
    """batch_size distinct indices below n, a fresh random draw each call (all n when n is smaller)."""
    return torch.randperm(n, generator=g)[:batch_size]
