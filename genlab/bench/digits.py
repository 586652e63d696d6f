"""Digits: the book's image models and VAE × GAN hybrids on scikit-learn's 8×8 digits.

Protocol (chapter 5's): the 1,797 digits are split into two random halves (seed 0); every
model trains on the first half only and its samples (as many as the second half holds) are
scored against the second half with the digit classifier's features — Fréchet distance,
precision and recall — and with pixel sharpness as a multiple of the real digits'. The
"real vs real" row scores the first half against the second: the floor a perfect sampler
would reach. Conditional models (cGAN, CVAE) are asked for the held-out half's labels, and
`agree` is the share of samples the classifier assigns to the requested class.

Each model trains with its chapter-4 recipe (or that of the parent it extends): the DCGAN's
2,000 updates of 128, the convolutional VAE's 3,000 updates of 64.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

import genlab
from genlab.bench.common import Benchmark, Column, train_and_sample_images
from genlab.metrics import image_scores, real_floor, split_halves
from genlab.models import GAN, VAE, VAEGAN, GenerativeModel

SPLIT_SEED = 0
SAMPLE_OFFSET = 30_000  # keeps the sampling stream apart from the training seed's
GAN_RECIPE = dict(steps=2_000, batch_size=128)
VAE_RECIPE = dict(steps=3_000, batch_size=64)


def _data() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(train images, train labels, held-out images, held-out labels), images in [-1, 1]."""
    images, labels = genlab.data.digits((-1, 1)).tensors
    (x_train, x_held), (y_train, y_held) = split_halves(images, SPLIT_SEED), split_halves(labels, SPLIT_SEED)
    return x_train, y_train, x_held, y_held


def _score(samples: torch.Tensor, held_out: torch.Tensor, requested: torch.Tensor | None) -> dict[str, float]:
    classifier = genlab.metrics.digit_classifier(device=samples.device)
    scores = image_scores(samples, held_out.to(samples.device), classifier=classifier)
    floor = real_floor(genlab.data.digits((-1, 1)).tensors[0], seed=SPLIT_SEED, classifier=classifier)
    agree = math.nan
    if requested is not None:
        agree = (classifier.predict(samples).cpu() == requested).float().mean().item()
    return {"frechet": scores.frechet, "precision": scores.precision, "recall": scores.recall,
            "sharpness": scores.sharpness / floor.sharpness, "agree": agree}


def train_and_score(build: Callable[[], GenerativeModel], seed: int, device: torch.device, *, steps: int,
                    batch_size: int, bernoulli: bool = False) -> dict[str, float]:
    """Train `build()` under `seed` on the training half and score as many samples as the held-out half holds.

    bernoulli: a Bernoulli VAE, trained on [0, 1] and scored on its decoder means mapped back to [-1, 1].
    """
    x_train, y_train, x_held, y_held = _data()
    model, samples = train_and_sample_images(build, x_train, len(x_held), seed, device, steps=steps,
                                             batch_size=batch_size, labels=y_train, condition=y_held,
                                             bernoulli=bernoulli, sample_offset=SAMPLE_OFFSET)
    return _score(samples, x_held, y_held if model.conditional else None)


def dcgan(classes: int = 0, **kwargs) -> GAN:
    return GAN.dcgan((1, 8, 8), latent_dim=32, channels=(64, 32), **({"lr": 2e-4} | kwargs), classes=classes)


def conv_vae(classes: int = 0) -> VAE:
    return VAE.conv((1, 8, 8), latent_dim=8, channels=(32, 64), lr=2e-3, classes=classes)


def vaegan() -> VAEGAN:
    return VAEGAN.dcgan((1, 8, 8), latent_dim=32, channels=(64, 32), gamma=1.0)


def _gan_variant(steps: int = GAN_RECIPE["steps"], **kwargs) -> Callable[[int, torch.device], dict[str, float]]:
    """A DCGAN row with one change (chapter 6's stabilisers)."""
    return lambda seed, device: train_and_score(lambda: dcgan(**kwargs), seed, device, steps=steps,
                                                batch_size=GAN_RECIPE["batch_size"])


# Chapter 6's stabilisers, each one change to the DCGAN row, as on the grid (genlab.bench.toy2d).
# WGAN-GP takes the paper's optimiser and 5 critic steps per update (each with a double backward),
# so 500 updates cost about the DCGAN's 2,000.
STABILISERS = {
    "DCGAN, hinge": _gan_variant(loss="hinge"),
    "DCGAN, spectral norm": _gan_variant(spectral_norm=True),
    "DCGAN, TTUR": _gan_variant(lr=1e-4, d_lr=4e-4),
    "DCGAN, R1": _gan_variant(r1_weight=10.0),
    "DCGAN, WGAN-GP": _gan_variant(steps=500, loss="wgan-gp", d_steps=5, lr=1e-4, betas=(0.5, 0.9)),
}

MODELS = {
    "DCGAN": lambda seed, device: train_and_score(dcgan, seed, device, **GAN_RECIPE),
    "VAE": lambda seed, device: train_and_score(conv_vae, seed, device, bernoulli=True, **VAE_RECIPE),
    "VAE-GAN": lambda seed, device: train_and_score(vaegan, seed, device, **GAN_RECIPE),
    "cGAN": lambda seed, device: train_and_score(lambda: dcgan(classes=10), seed, device, **GAN_RECIPE),
    "CVAE": lambda seed, device: train_and_score(lambda: conv_vae(classes=10), seed, device, bernoulli=True,
                                                 **VAE_RECIPE),
    **STABILISERS,
}


def _real_vs_real(seed: int, device: torch.device) -> dict[str, float]:
    x_train, y_train, x_held, _ = _data()
    return _score(x_train.to(device), x_held, None) | {"agree": math.nan}


def _train_classifier(device: torch.device) -> None:
    """The scoring classifier, trained once (and cached) before the first row is timed."""
    genlab.metrics.digit_classifier(device=device)


BENCHMARK = Benchmark(
    name="digits",
    prepare=_train_classifier,
    title="8×8 digits: samples of each model scored against the held-out half (chapter 5's protocol)",
    columns=[
        Column("frechet", "Fréchet ↓", "{:.1f}"),
        Column("precision", "precision ↑", "{:.2f}"),
        Column("recall", "recall ↑", "{:.2f}"),
        Column("sharpness", "sharpness / real", "{:.2f}"),
        Column("agree", "class agrees % ↑", "{:.1f}", scale=100),
    ],
    models=MODELS,
    default_models=[name for name in MODELS if name not in STABILISERS],  # chapter 6: run them with --models
    references={"real vs real": _real_vs_real},
    error="sd",
    notes=[
        "train on one half of the 1,797 digits (split seed 0), score 899 samples against the other half "
        "with the book's digit classifier (Fréchet distance and k = 3 precision/recall on its 128 features)",
        "sharpness: mean squared Laplacian over the real digits' (1 = as sharp as real; below 0.6 blurred, "
        "above 1.25 noisier than real)",
        "DCGAN, VAE-GAN, cGAN: 2,000 updates of 128; VAE, CVAE: 3,000 updates of 64, scored on decoder means",
        "DCGAN, hinge / spectral norm / TTUR / R1 / WGAN-GP (chapter 6): the DCGAN with one change each; "
        "TTUR: learning rates 1e-4 for G, 4e-4 for D; R1: γ = 10; WGAN-GP: 500 updates of 5 critic steps, "
        "Adam(1e-4, 0.5, 0.9), λ = 10",
        "class agrees: conditional models asked for the held-out labels; share the classifier assigns to that class",
    ],
)
