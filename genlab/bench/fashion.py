"""Fashion-MNIST: the book's image models and the VAE-GAN on 28×28 images of clothes.

Protocol (the digits benchmark's, at Fashion-MNIST's size): every model trains on a fixed
subset of the training split — `TRAIN_SIZE` = 10,000 of the 60,000 images, drawn with seed
`SPLIT_SEED` = 0 — and its samples, as many as the held-out set holds, are scored against
`HELD_OUT` = 2,000 test images (also drawn with seed 0, never seen by any model) on the
features of `genlab.metrics.fashion_classifier()`: Fréchet distance and k = 3
precision/recall on its 128 penultimate activations. Sharpness is the samples' mean squared
Laplacian as a multiple of the training subset's. The "real vs real" row scores 2,000
images of the training subset against the held-out ones: the floor a perfect sampler would
reach with that many samples.

Budgets: each row its own recipe, chosen from step times measured on one thread to cost
roughly the same (the committed table measured 87–102 s a seed, see s/seed). The DCGAN gets 1,500 updates of 128 (about 90 ms each; 19
passes over the 10,000 images), the VAE 5,000 of 64 (about 26 ms each; 32 passes), the
VAE-GAN — three networks, the encoder and decoder updated through the discriminator's
features — 1,500 of 64 (about 0.1 s each; 10 passes). The digits recipes do not carry over:
a 28×28 image costs about 12 times an 8×8 digit, and 2,000 updates of 128 would take about
3.5 minutes for the DCGAN and 8 for the VAE-GAN (0.24 s a step). These are budgets, not
convergence: the table compares the models at equal, small compute. Each run adds about 5 s
(reading the data, sampling, scoring), and the scoring classifier under a minute once per
process.

Data come offline from Debian's `dataset-fashion-mnist` package or from IDX files in the
folder GENLAB_DATA names (`genlab.data.load_idx_dataset`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from genlab.bench.common import Benchmark, Column, train_and_sample_images
from genlab.metrics import image_scores, sharpness
from genlab.metrics.fashion import fashion_classifier, fashion_mnist, subset
from genlab.models import GAN, VAE, VAEGAN, GenerativeModel

SPLIT_SEED = 0
TRAIN_SIZE = 10_000
HELD_OUT = 2_000
K = 3  # neighbours for precision and recall
SAMPLE_OFFSET = 30_000  # keeps the sampling stream apart from the training seed's
IMAGE_SHAPE = (1, 28, 28)
GAN_RECIPE = dict(steps=1_500, batch_size=128)
VAE_RECIPE = dict(steps=5_000, batch_size=64)
VAEGAN_RECIPE = dict(steps=1_500, batch_size=64)


def fashion_data() -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(train images, train labels, held-out images, held-out labels), images (N, 1, 28, 28) in [-1, 1].

    TRAIN_SIZE training images and HELD_OUT test images, each drawn under SPLIT_SEED.
    """
    x_train, y_train = subset(*fashion_mnist("train").tensors, TRAIN_SIZE, SPLIT_SEED)
    x_held, y_held = subset(*fashion_mnist("test").tensors, HELD_OUT, SPLIT_SEED)
    return x_train, y_train, x_held, y_held


def score(samples: Tensor, held_out: Tensor, train: Tensor) -> dict[str, float]:
    """Fréchet distance, precision and recall of samples against held_out; sharpness as a multiple of train's."""
    classifier = fashion_classifier(device=samples.device)
    scores = image_scores(samples, held_out.to(samples.device), classifier=classifier, k=K)
    return {"frechet": scores.frechet, "precision": scores.precision, "recall": scores.recall,
            "sharpness": scores.sharpness / sharpness(train).mean().item()}


def train_and_score(build: Callable[[], GenerativeModel], seed: int, device: torch.device | str, *, steps: int,
                    batch_size: int, bernoulli: bool = False) -> dict[str, float]:
    """Train `build()` under `seed` on the training subset and score as many samples as the held-out set holds.

    bernoulli: a Bernoulli VAE, trained on [0, 1] and scored on its decoder means mapped back to [-1, 1].
    """
    x_train, _, x_held, _ = fashion_data()
    _, samples = train_and_sample_images(build, x_train, len(x_held), seed, device, steps=steps,
                                         batch_size=batch_size, bernoulli=bernoulli, sample_offset=SAMPLE_OFFSET)
    return score(samples, x_held, x_train)


def dcgan() -> GAN:
    return GAN.dcgan(IMAGE_SHAPE, latent_dim=64, channels=(64, 32), lr=2e-4)


def conv_vae() -> VAE:
    return VAE.conv(IMAGE_SHAPE, latent_dim=16, channels=(32, 64), lr=1e-3)


def vaegan() -> VAEGAN:
    return VAEGAN.dcgan(IMAGE_SHAPE, latent_dim=64, channels=(64, 32), gamma=1.0)


def _row(build: Callable[[], GenerativeModel], recipe: dict[str, int], bernoulli: bool = False):
    """The runner of one row: `recipe`'s budget, which `steps` and `batch_size` override (for quick checks)."""
    def runner(seed: int, device: torch.device | str = "cpu", *, steps: int | None = None,
               batch_size: int | None = None) -> dict[str, float]:
        return train_and_score(build, seed, device, steps=recipe["steps"] if steps is None else steps,
                               batch_size=recipe["batch_size"] if batch_size is None else batch_size,
                               bernoulli=bernoulli)
    return runner


MODELS = {
    "DCGAN": _row(dcgan, GAN_RECIPE),
    "VAE": _row(conv_vae, VAE_RECIPE, bernoulli=True),
    "VAE-GAN": _row(vaegan, VAEGAN_RECIPE),
}


def _real_vs_real(seed: int, device: torch.device | str = "cpu") -> dict[str, float]:
    """HELD_OUT training images against the held-out test images (no training; the same for every seed)."""
    x_train, _, x_held, _ = fashion_data()
    return score(x_train[: len(x_held)].to(device), x_held, x_train)


def _train_classifier(device: torch.device) -> None:
    """The scoring classifier, trained once (and cached) before the first row is timed."""
    fashion_classifier(device=device)


BENCHMARK = Benchmark(
    name="fashion",
    prepare=_train_classifier,
    title="Fashion-MNIST 28×28: samples of each model scored against held-out test images",
    columns=[
        Column("frechet", "Fréchet ↓", "{:.1f}"),
        Column("precision", "precision ↑", "{:.2f}"),
        Column("recall", "recall ↑", "{:.2f}"),
        Column("sharpness", "sharpness / real", "{:.2f}"),
    ],
    models=MODELS,
    default_models=list(MODELS),
    references={"real vs real": _real_vs_real},
    error="se",
    notes=[
        "train on 10,000 Fashion-MNIST training images (drawn with seed 0), score 2,000 samples against 2,000 "
        "held-out test images with the book's Fashion-MNIST classifier (Fréchet distance and k = 3 "
        "precision/recall on its 128 features; about 0.88 test accuracy)",
        "real vs real: 2,000 of the training images against the held-out ones, the floor at these sizes",
        "sharpness: mean squared Laplacian over the training images' (1 = as sharp as real)",
        "each row its own budget (its seconds per seed are in s/seed): DCGAN 1,500 updates of 128; "
        "VAE 5,000 updates of 64, scored on decoder means; VAE-GAN 1,500 updates of 64 — budgets, not "
        "convergence (a 28×28 image costs about 12 times an 8×8 digit)",
    ],
)
