"""Digit rows: a conditional recurrent GAN judged by train-on-synthetic, test-on-real.

RCGAN's paper (Esteban et al., 2017) trains on MNIST read as sequences; this is its small
analogue: scikit-learn's 8×8 digits, each read row by row as 8 steps of 8 values in [0, 1],
with the digit's class as the condition. The 1,797 digits are split into two random halves
(seed 0, as the digits benchmark); models train on the first half only. Scores, with
`genlab.metrics.SequenceClassifier` (a GRU of 32 units reading the rows; 2,000 Adam steps):

- TSTR: a classifier trained on the generated sequences, labelled with the class each was
  asked for (one per held-out digit, with that digit's label), tested on the held-out half;
- agree: the share of generated sequences that a classifier trained on the real first half
  assigns to the class they were asked for (does the model respect its condition?);
- the reference row "real (TRTR)" trains on the real first half instead: its TSTR column is
  train-on-real, test-on-real, the accuracy a perfect generator's samples would give, and its
  agree column is that classifier's accuracy on the real held-out half.

Run it with `python -m genlab.bench digit-rows --seeds 10 --models RCGAN`.
"""

from __future__ import annotations

import torch

import genlab
from genlab.bench.common import Benchmark, Column, Recipe
from genlab.metrics import SequenceClassifier, split_halves

SPLIT_SEED = 0  # the digits benchmark's split
SAMPLE_OFFSET = 30_000  # keeps the sampling stream apart from the training seed's
CLASSIFIER_OFFSET = 40_000  # and the classifiers' from both
CLASSES = 10
CLASSIFIER_ITERATIONS = 2_000


def digit_rows() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(train rows, train labels, held-out rows, held-out labels): digits in [0, 1] as (N, 8 steps, 8 values)."""
    images, labels = genlab.data.digits((0, 1)).tensors
    rows = images[:, 0]  # (N, 1, 8, 8) -> (N, 8, 8): step t is pixel row t
    (x_train, x_held), (y_train, y_held) = split_halves(rows, SPLIT_SEED), split_halves(labels, SPLIT_SEED)
    return x_train, y_train, x_held, y_held


def classifier(x: torch.Tensor, labels: torch.Tensor, seed: int) -> SequenceClassifier:
    """The benchmark's judge trained on (x, labels) under `seed`."""
    return SequenceClassifier.fit(x, labels, CLASSES, seed=seed + CLASSIFIER_OFFSET,
                                  iterations=CLASSIFIER_ITERATIONS, device="cpu")


def score(generated: torch.Tensor, requested: torch.Tensor, seed: int) -> dict[str, float]:
    """TSTR accuracy and agreement of `generated` (N, 8, 8) asked for the classes `requested` (N,)."""
    x_train, y_train, x_held, y_held = digit_rows()
    generated, requested = generated.cpu(), requested.cpu()
    tstr = classifier(generated, requested, seed).accuracy(x_held, y_held)
    agree = classifier(x_train, y_train, seed).accuracy(generated, requested)
    return {"tstr": tstr, "agree": agree}


def rcgan() -> genlab.RecurrentGAN:
    """The row's RCGAN: LSTMs of 64 units, a linear output, two time-scales.

    (A sigmoid output, bounded like the pixels, saturates early and the generator collapses
    to one constant sequence; the linear output's samples are clipped to [0, 1] instead.)
    """
    return genlab.RecurrentGAN.rcgan(8, 8, classes=CLASSES, hidden=64, lr=4e-4, d_lr=1.6e-3)


RCGAN_RECIPE = Recipe(rcgan, steps=10_000, batch_size=64, lr_decay="linear")


def train_rcgan(seed: int, device: torch.device | str | None = None, *, steps: int | None = None) -> genlab.RecurrentGAN:
    """The row's RCGAN trained under `seed` on the first half, (rows, labels); `steps` overrides the recipe."""
    x_train, y_train, _, _ = digit_rows()
    return RCGAN_RECIPE.train((x_train, y_train), seed, device, steps=steps)


def train_and_score_rcgan(seed: int, device: torch.device | str | None = None, *,
                          steps: int | None = None) -> dict[str, float]:
    """RCGAN trained on the first half, asked for the held-out half's labels, scored."""
    model = train_rcgan(seed, device, steps=steps)
    _, _, _, y_held = digit_rows()
    g = torch.Generator(device=model.device).manual_seed(seed + SAMPLE_OFFSET)
    samples = model.sample(len(y_held), condition=y_held.to(model.device), generator=g)
    return score(samples.clamp(0, 1), y_held, seed)  # pixels live in [0, 1]


def real_rows(seed: int, device: torch.device | str | None = None) -> dict[str, float]:
    """TRTR: the classifier trained on the real first half; both columns on the held-out half."""
    x_train, y_train, x_held, y_held = digit_rows()
    accuracy = classifier(x_train, y_train, seed).accuracy(x_held, y_held)
    return {"tstr": accuracy, "agree": accuracy}


BENCHMARK = Benchmark(
    name="digit-rows",
    title="8×8 digits read row by row (8 steps × 8 values), the class as condition: TSTR against TRTR",
    columns=[
        Column("tstr", "TSTR accuracy % ↑", "{:.1f}", scale=100),
        Column("agree", "class agrees % ↑", "{:.1f}", scale=100),
    ],
    models={"RCGAN": train_and_score_rcgan},
    default_models=["RCGAN"],
    references={"real (TRTR)": real_rows},
    error="se",
    notes=[
        "an analogue of RCGAN's MNIST-as-sequences experiment (Esteban et al., 2017), not a reproduction: "
        "8×8 digits, 898 training sequences",
        "train on one half of the 1,797 digits (split seed 0); 899 samples, one per held-out digit, asked for its label",
        "judge: a GRU classifier of 32 units, 2,000 Adam steps (lr 1e-3, batches of 128); TSTR trains it on "
        "the samples, agree trains it on the real first half",
        "RCGAN: LSTMs of 64 units, linear output clipped to [0, 1], Adam β = (0.5, 0.999) at lr 4e-4 (G) "
        "and 1.6e-3 (D) decaying linearly to 0, 10,000 updates of 64 (about a minute on one CPU core)",
    ],
)
