"""Stacked digits, 1,000 modes: an 8×8 analogue of the Stacked MNIST benchmark.

Stacked MNIST (Srivastava et al., 2017; Lin et al., 2018) trains a DCGAN on images whose
three channels are three random MNIST digits and counts, over 26,000 generated samples,
how many of the 1,000 digit triples a pretrained classifier finds, and the KL divergence
between the triples' histogram and the uniform one. Without a download there is no MNIST,
so this benchmark uses scikit-learn's 8×8 digits (`genlab.data.stacked_digits`) and the
8×8 digit classifier (`genlab.metrics.stacked_modes`): the same counting rule on smaller,
simpler images. It is an analogue, and its numbers are not comparable with the papers'.

Rows:

- references, computed like models for every seed: 26,000 real stacks of the digits the
  models train on ("true data, training digits") and of the 359 digits that neither the
  models nor the classifier saw ("true data, held-out digits"). Both show the ceiling of
  the counting rule: all 1,000 modes and a KL of about 0.02, which is the finite-sample
  KL of 26,000 draws from a uniform histogram, (1000 − 1) / (2 · 26,000) ≈ 0.019;
- "DCGAN": `GAN.dcgan` on (3, 8, 8) images; "PacDCGAN2": the same networks with the
  discriminator reading two samples at a time (`pack=2`, Lin et al., 2018);
- "VAE" (not run by default): `VAE.conv` with a Bernoulli decoder, scored on its means.

Run it with `python -m genlab.bench stacked-digits --seeds 3`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

import genlab
from genlab.bench.common import Benchmark, Column, Published
from genlab.data.stacked import stacked_digits
from genlab.metrics.stacked import stacked_modes
from genlab.models import GAN, VAE, GenerativeModel

IMAGE_SHAPE = (3, 8, 8)
N_SAMPLES = 26_000  # as in the papers
N_TRAIN = 50_000  # stacks to train on, drawn from the 1,438 training digits
STEPS = 2_000
BATCH_SIZE = 128  # a multiple of every packing degree used here
LATENT_DIM = 32

# Offsets that keep a seed's draws apart: training data uses the seed itself.
HELD_OUT_DRAW, TRAIN_DRAW, MODEL_SAMPLES = 10_000, 20_000, 30_000


def _scores(images: torch.Tensor, value_range: tuple[int, int] = (-1, 1)) -> dict[str, float]:
    s = stacked_modes(images, value_range=value_range)
    return {"modes": float(s.modes), "kl": s.kl, "confident": s.confident}


# --- reference rows ---------------------------------------------------------------------


def score_true_data(
    seed: int, device: torch.device | str | None = None, *, split: str = "test", n: int = N_SAMPLES
) -> dict[str, float]:
    """The counting rule's ceiling: n real stacks of the `split` digits ("test": held-out, "train": training)."""
    offset = HELD_OUT_DRAW if split == "test" else TRAIN_DRAW
    images, _ = stacked_digits(n, seed=seed + offset, split=split).tensors
    return _scores(images.to(device) if device is not None else images)


# --- models -----------------------------------------------------------------------------


def train_and_score(
    build: Callable[[], GenerativeModel],
    seed: int,
    device: torch.device | str | None = None,
    *,
    steps: int = STEPS,
    batch_size: int = BATCH_SIZE,
    n_train: int = N_TRAIN,
    n_samples: int = N_SAMPLES,
) -> dict[str, float]:
    """Build a model under `seed`, train it on n_train stacks of training digits, score n_samples of its samples.

    `build` makes the model; a VAE (Bernoulli decoder) trains on [0, 1] images and is scored
    on its decoder means, every other model trains on [-1, 1] images and is scored on `sample`.
    """
    torch.manual_seed(seed)  # the model's initial weights
    model = build()
    bernoulli = isinstance(model, VAE)
    value_range = (0, 1) if bernoulli else (-1, 1)
    data = stacked_digits(n_train, seed=seed, value_range=value_range)
    genlab.fit(model, data, steps=steps, batch_size=batch_size, device=device, seed=seed, progress=False)
    g = torch.Generator(model.device).manual_seed(seed + MODEL_SAMPLES)
    if bernoulli:
        samples = model.sample(n_samples, generator=g, noise=False)  # pixel probabilities, in [0, 1]
    else:
        samples = model.sample(n_samples, generator=g)
    return _scores(samples, value_range)


def dcgan(pack: int = 1) -> GAN:
    """The DCGAN of this benchmark; `pack=2` gives PacDCGAN2 (same networks, D reads two images)."""
    return GAN.dcgan(IMAGE_SHAPE, latent_dim=LATENT_DIM, pack=pack)


def conv_vae() -> VAE:
    return VAE.conv(IMAGE_SHAPE, latent_dim=16, likelihood="bernoulli")


def _dcgan_row(seed: int, device: torch.device, **sizes) -> dict[str, float]:
    return train_and_score(dcgan, seed, device, **sizes)


def _pacdcgan2_row(seed: int, device: torch.device, **sizes) -> dict[str, float]:
    return train_and_score(lambda: dcgan(pack=2), seed, device, **sizes)


def _vae_row(seed: int, device: torch.device, **sizes) -> dict[str, float]:
    return train_and_score(conv_vae, seed, device, **sizes)


def _true_held_out_row(seed: int, device: torch.device, **sizes) -> dict[str, float]:
    return score_true_data(seed, device, split="test", **sizes)


def _true_training_row(seed: int, device: torch.device, **sizes) -> dict[str, float]:
    return score_true_data(seed, device, split="train", **sizes)


# The published rows are Stacked MNIST (28×28) with the papers' networks: another protocol.
VEEGAN = "Srivastava et al. 2017, Table 2; MNIST 28×28"
PACGAN = "Lin et al. 2018, Table 2; MNIST 28×28"

def _train_classifier(device: torch.device) -> None:
    """The scoring classifier, trained once (and cached) before the first row is timed."""
    genlab.metrics.digit_classifier(device=device)


BENCHMARK = Benchmark(
    name="stacked-digits",
    prepare=_train_classifier,
    title="Stacked digits (8×8 analogue of Stacked MNIST): 1,000 modes counted over 26,000 samples",
    columns=[
        Column("modes", "modes (of 1000) ↑", "{:.1f}"),
        Column("kl", "KL ↓", "{:.2f}"),
        Column("confident", "confident % ↑", "{:.1f}", scale=100),
    ],
    models={"DCGAN": _dcgan_row, "PacDCGAN2": _pacdcgan2_row, "VAE": _vae_row},
    default_models=["DCGAN", "PacDCGAN2"],
    references={"true data, held-out digits": _true_held_out_row, "true data, training digits": _true_training_row},
    published=[
        Published("DCGAN", VEEGAN, {"modes": (99.0, None), "kl": (3.4, None)}),
        Published("ALI", VEEGAN, {"modes": (16.0, None), "kl": (5.4, None)}),
        Published("Unrolled GAN", VEEGAN, {"modes": (48.7, None), "kl": (4.32, None)}),
        Published("VEEGAN", VEEGAN, {"modes": (150.0, None), "kl": (2.95, None)}),
        Published("DCGAN", PACGAN, {"modes": (78.9, 6.46), "kl": (4.50, None)}),
        Published("PacDCGAN2", PACGAN, {"modes": (1000.0, 0.0), "kl": (0.06, None)}),
    ],
    error="se",  # PacGAN's convention
    notes=[
        "an ANALOGUE of Stacked MNIST: three scikit-learn 8×8 digits per image, counted by genlab's "
        "8×8 digit classifier; the published rows are MNIST 28×28 with other networks and protocols",
        f"models train {STEPS} steps of batch {BATCH_SIZE} on {N_TRAIN:,} stacks of the classifier's 1,438 "
        "training digits; modes and KL over 26,000 samples, as in the papers",
        "confident: samples whose three channels all get a top class probability above 0.9",
        "KL of a perfect sampler is not 0 but ≈ 0.019 for 26,000 samples (finite-sample noise): see the true-data rows",
    ],
)
