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

Tuning (`python -m genlab.bench tune digits`) never sees the held-out half: a trial trains on
three quarters of the training half and is scored by the Fréchet distance of as many samples
as the remaining quarter (the validation split, seed 1) holds, against that quarter.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import torch

import genlab
from genlab.bench.common import Benchmark, Column, Recipe, draw_images, train_and_sample_images
from genlab.bench.search import Choice, LogUniform, Pruned, Report, Space, Tuning, decode, with_params
from genlab.metrics import image_scores, real_floor, split_halves
from genlab.models import GAN, VAE, VAEGAN, BiGAN, GenerativeModel

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
            "sharpness": scores.sharpness / floor.sharpness, "agree": agree, "code_1nn": math.nan,
            "class_kept": math.nan}


@torch.no_grad()
def inversion_scores(model: BiGAN, x_train: torch.Tensor, y_train: torch.Tensor, x_held: torch.Tensor,
                     y_held: torch.Tensor) -> dict[str, float]:
    """How well a BiGAN's encoder inverts its generator, on the held-out half.

    code_1nn: accuracy of a 1-nearest-neighbour classifier on the codes — each held-out digit
    gets the label of the training digit whose code E(x) is nearest (Euclidean), as in the
    BiGAN paper's MNIST test of its encoder's features (Donahue et al., 2017);
    class_kept: the share of held-out digits x whose reconstruction G(E(x)) the digit classifier
    assigns to x's own class (chance: 10 %).
    """
    device = next(model.parameters()).device
    with model.evaluating():
        codes_train = model.posterior(x_train.to(device))[0]
        codes_held = model.posterior(x_held.to(device))[0]
    nearest = torch.cdist(codes_held, codes_train).argmin(dim=1).cpu()
    classifier = genlab.metrics.digit_classifier(device=device)
    kept = classifier.predict(model.reconstruct(x_held.to(device))).cpu() == y_held
    return {"code_1nn": (y_train[nearest] == y_held).float().mean().item(), "class_kept": kept.float().mean().item()}


def _train_and_sample(build: Callable[[], GenerativeModel], seed: int, device: torch.device, *, steps: int,
                      batch_size: int, bernoulli: bool) -> tuple[GenerativeModel, torch.Tensor]:
    """The protocol's training and sampling: on the training half, as many samples as the held-out half holds."""
    x_train, y_train, x_held, y_held = _data()
    return train_and_sample_images(build, x_train, len(x_held), seed, device, steps=steps, batch_size=batch_size,
                                   labels=y_train, condition=y_held, bernoulli=bernoulli, sample_offset=SAMPLE_OFFSET)


def train_and_score(build: Callable[[], GenerativeModel], seed: int, device: torch.device, *, steps: int,
                    batch_size: int, bernoulli: bool = False) -> dict[str, float]:
    """Train `build()` under `seed` on the training half and score as many samples as the held-out half holds.

    bernoulli: a Bernoulli VAE, trained on [0, 1] and scored on its decoder means mapped back to [-1, 1].
    """
    x_train, y_train, x_held, y_held = _data()
    model, samples = _train_and_sample(build, seed, device, steps=steps, batch_size=batch_size, bernoulli=bernoulli)
    scores = _score(samples, x_held, y_held if model.conditional else None)
    if isinstance(model, BiGAN):
        scores |= inversion_scores(model, x_train, y_train, x_held, y_held)
    return scores


def dcgan(classes: int = 0, latent_dim: int = 32, channels: tuple[int, ...] = (64, 32), lr: float = 2e-4,
          **kwargs) -> GAN:
    return GAN.dcgan((1, 8, 8), latent_dim=latent_dim, channels=channels, lr=lr, classes=classes, **kwargs)


def conv_vae(classes: int = 0, latent_dim: int = 8, channels: tuple[int, ...] = (32, 64), lr: float = 2e-3,
             **kwargs) -> VAE:
    return VAE.conv((1, 8, 8), latent_dim=latent_dim, channels=channels, lr=lr, classes=classes, **kwargs)


def vaegan(latent_dim: int = 32, channels: tuple[int, ...] = (64, 32), gamma: float = 1.0, **kwargs) -> VAEGAN:
    return VAEGAN.dcgan((1, 8, 8), latent_dim=latent_dim, channels=channels, gamma=gamma, **kwargs)


def bigan(stochastic_encoder: bool = False, latent_dim: int = 32, channels: tuple[int, ...] = (64, 32),
          lr: float = 2e-4, **kwargs) -> BiGAN:
    """BiGAN (ALI with `stochastic_encoder`) with the DCGAN's generator widths."""
    return BiGAN.conv((1, 8, 8), latent_dim=latent_dim, channels=channels, lr=lr,
                      stochastic_encoder=stochastic_encoder, **kwargs)


def _gan(steps: int = GAN_RECIPE["steps"], **kwargs) -> Recipe:
    return Recipe(functools.partial(dcgan, **kwargs), steps=steps, batch_size=GAN_RECIPE["batch_size"])


def _vae(**kwargs) -> Recipe:
    return Recipe(functools.partial(conv_vae, **kwargs), **VAE_RECIPE)


GAMMAS = (0.01, 0.1, 10.0)  # the VAE-GAN row itself has γ = 1

# Chapter 6's stabilisers, each one change to the DCGAN row, as on the grid (genlab.bench.toy2d).
# WGAN-GP takes the paper's optimiser and 5 critic steps per update (each with a double backward),
# so 500 updates cost about the DCGAN's 2,000.
STABILISER_RECIPES = {
    "DCGAN, hinge": _gan(loss="hinge"),
    "DCGAN, spectral norm": _gan(spectral_norm=True),
    "DCGAN, TTUR": _gan(lr=1e-4, d_lr=4e-4),
    "DCGAN, R1": _gan(r1_weight=10.0),
    "DCGAN, WGAN-GP": _gan(steps=500, loss="wgan-gp", d_steps=5, lr=1e-4, betas=(0.5, 0.9)),
}
RECIPES = {
    "DCGAN": _gan(),
    "VAE": _vae(),
    "VAE-GAN": Recipe(vaegan, **GAN_RECIPE),
    "cGAN": _gan(classes=10),
    "CVAE": _vae(classes=10),
    # BiGAN / ALI with the DCGAN's generator and budget; their encoders are scored too (code_1nn, class_kept)
    "BiGAN": Recipe(bigan, **GAN_RECIPE),
    "ALI": Recipe(functools.partial(bigan, stochastic_encoder=True), **GAN_RECIPE),
    **STABILISER_RECIPES,
    # the VAE-GAN's γ varied (chapter 7): the weight of the feature reconstruction against the adversarial term
    **{f"VAE-GAN, γ = {gamma:g}": Recipe(functools.partial(vaegan, gamma=gamma), **GAN_RECIPE)
       for gamma in GAMMAS},
}
BERNOULLI = {"VAE", "CVAE"}  # trained on [0, 1], scored on decoder means

# What each row's search may change (see genlab.bench.search): the optimiser, the code size, the
# paper's own weights; channels at most the default's, so a tuned row never costs more.
_ADAM = {"lr": LogUniform(5e-5, 2e-3), "betas": Choice((0.5, 0.999), (0.0, 0.9), (0.5, 0.9))}
_DCGAN_SPACE: Space = {**_ADAM, "latent_dim": Choice(16, 32, 64), "channels": Choice((64, 32), (32, 16)),
                       "d_steps": Choice(1, 2), "ema": Choice(0.0, 0.999)}
_VAE_SPACE: Space = {"lr": LogUniform(3e-4, 5e-3), "latent_dim": Choice(4, 8, 16), "channels": Choice((32, 64), (16, 32)),
                     "beta": Choice(0.5, 1.0), "kl_warmup": Choice(0, 500)}
SPACES: dict[str, Space] = {
    "DCGAN": _DCGAN_SPACE,
    "cGAN": _DCGAN_SPACE,
    "VAE": _VAE_SPACE,
    "CVAE": _VAE_SPACE,
    # γ weighs the feature-space reconstruction against the adversarial term (Larsen et al., 2016)
    "VAE-GAN": {**_ADAM, "latent_dim": Choice(8, 16, 32), "gamma": LogUniform(0.01, 10.0), "beta": Choice(0.5, 1.0)},
    "BiGAN": {**_ADAM, "latent_dim": Choice(8, 16, 32), "channels": Choice((64, 32), (32, 16))},
    "ALI": {**_ADAM, "latent_dim": Choice(8, 16, 32), "channels": Choice((64, 32), (32, 16))},
    "DCGAN, hinge": _DCGAN_SPACE,
    "DCGAN, spectral norm": _DCGAN_SPACE,
    "DCGAN, TTUR": {**_DCGAN_SPACE, "d_lr": LogUniform(1e-4, 3e-3)},
    "DCGAN, R1": {**_DCGAN_SPACE, "r1_weight": LogUniform(0.01, 30.0)},
    "DCGAN, WGAN-GP": {**_ADAM, "latent_dim": Choice(16, 32, 64), "gp_weight": Choice(0.1, 1.0, 10.0),
                       "d_steps": Choice(1, 5)},
}


def _recipe(name: str, raw: dict | None = None) -> Recipe:
    return with_params(RECIPES[name], decode(SPACES[name], raw) if raw else {})


def row_samples(name: str, seed: int, n: int = 24, device: torch.device | str = "cpu",
                raw: dict | None = None) -> torch.Tensor:
    """The first n of the samples row `name` is scored on under `seed`, in [-1, 1] (n, 1, 8, 8).

    The row is trained exactly as in the table (same recipe, data, seeds and sampling stream;
    `raw` = tuned settings, as in `--tuned`), so these are the digits its scores describe.
    """
    if name not in RECIPES:
        raise ValueError(f"unknown row {name!r} for the digits benchmark; choose from {list(RECIPES)}")
    if not 1 <= n <= len(_data()[2]):
        raise ValueError(f"n must be between 1 and {len(_data()[2])} (the held-out half), got {n}")
    recipe = _recipe(name, raw)
    _, samples = _train_and_sample(recipe.build, seed, torch.device(device), steps=recipe.steps,
                                   batch_size=recipe.batch_size, bernoulli=name in BERNOULLI)
    return samples[:n].cpu()


def _row(name: str, raw: dict | None = None) -> Callable[[int, torch.device], dict[str, float]]:
    recipe = _recipe(name, raw)

    def runner(seed: int, device: torch.device) -> dict[str, float]:
        scores = train_and_score(recipe.build, seed, device, steps=recipe.steps, batch_size=recipe.batch_size,
                                 bernoulli=name in BERNOULLI)
        return {**scores, "updates": recipe.steps}

    return runner


STABILISERS = {name: _row(name) for name in STABILISER_RECIPES}
MODELS = {name: _row(name) for name in RECIPES}

VALIDATION_SEED = 1
OBJECTIVE = ("Fréchet distance (classifier features) of as many samples as the validation quarter holds, against "
             "that quarter: the training half split 3 : 1 (seed 1), trained on three quarters; the held-out half "
             "is never seen; reported 4 times per trial (lower is better)")


def tuning_split() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(fit images, fit labels, validation images, validation labels): the training half split 3 : 1."""
    x_train, y_train, _, _ = _data()
    order = torch.randperm(len(x_train), generator=torch.Generator().manual_seed(VALIDATION_SEED))
    val, fit_ = order[: len(order) // 4], order[len(order) // 4:]
    return x_train[fit_], y_train[fit_], x_train[val], y_train[val]


def _objective(row: str, raw, seed: int, device: torch.device, report: Report) -> tuple[float, dict]:
    recipe = with_params(RECIPES[row], decode(SPACES[row], raw))
    x_fit, y_fit, x_val, y_val = tuning_split()
    bernoulli = row in BERNOULLI
    classifier = genlab.metrics.digit_classifier(device=device)

    def frechet(model) -> float:
        samples = draw_images(model, len(x_val), seed + SAMPLE_OFFSET, condition=y_val, bernoulli=bernoulli)
        return image_scores(samples, x_val.to(samples.device), classifier=classifier).frechet

    def measure(step: int, model, history) -> None:
        if step < recipe.steps and report(step, frechet(model)):
            raise Pruned(f"stopped at step {step}")

    model, _ = train_and_sample_images(recipe.build, x_fit, 1, seed, device, steps=recipe.steps,
                                       batch_size=recipe.batch_size, labels=y_fit, bernoulli=bernoulli,
                                       # a quarter of the budget between reports (none under 4 steps)
                                       callback=measure if recipe.steps >= 4 else None,
                                       callback_every=recipe.steps // 4 or None)
    value = frechet(model)
    report(recipe.steps, value)
    return value, {"updates": recipe.steps}


def _real_vs_real(seed: int, device: torch.device) -> dict[str, float]:
    """The floor of every column: the training half scored as samples; for the encoder columns, the
    pixels themselves as codes (1-NN on raw pixels) and x itself as its own reconstruction."""
    x_train, y_train, x_held, y_held = _data()
    nearest = torch.cdist(x_held.flatten(1), x_train.flatten(1)).argmin(dim=1)
    classifier = genlab.metrics.digit_classifier(device=device)
    return _score(x_train.to(device), x_held, None) | {
        "code_1nn": (y_train[nearest] == y_held).float().mean().item(),
        "class_kept": (classifier.predict(x_held.to(device)).cpu() == y_held).float().mean().item()}


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
        Column("code_1nn", "code 1-NN % ↑", "{:.1f}", scale=100),
        Column("class_kept", "G(E(x)) class % ↑", "{:.1f}", scale=100),
    ],
    models=MODELS,
    # chapter 6's stabilisers, chapter 7's BiGAN / ALI and the VAE-GAN's γ: run them with --models
    default_models=[name for name in MODELS if name not in STABILISERS and name not in ("BiGAN", "ALI")
                    and not name.startswith("VAE-GAN, γ")],
    references={"real vs real": _real_vs_real},
    error="se",
    tuning=Tuning(spaces=SPACES, recipes=RECIPES, objective=_objective, runner=_row, description=OBJECTIVE,
                  direction="minimize"),
    notes=[
        "train on one half of the 1,797 digits (split seed 0), score 899 samples against the other half "
        "with the book's digit classifier (Fréchet distance and k = 3 precision/recall on its 128 features)",
        "sharpness: mean squared Laplacian over the real digits' (1 = as sharp as real; below 0.6 blurred, "
        "above 1.25 noisier than real)",
        "DCGAN, VAE-GAN, cGAN: 2,000 updates of 128; VAE, CVAE: 3,000 updates of 64, scored on decoder means",
        "VAE-GAN, γ = 0.01 / 0.1 / 10 (chapter 7): the VAE-GAN row (γ = 1) with the weight of its feature-space "
        "reconstruction against the adversarial term changed",
        "DCGAN, hinge / spectral norm / TTUR / R1 / WGAN-GP (chapter 6): the DCGAN with one change each; "
        "TTUR: learning rates 1e-4 for G, 4e-4 for D; R1: γ = 10; WGAN-GP: 500 updates of 5 critic steps, "
        "Adam(1e-4, 0.5, 0.9), λ = 10",
        "class agrees: conditional models asked for the held-out labels; share the classifier assigns to that class",
        "BiGAN, ALI: the DCGAN's generator and budget with an encoder; code 1-NN: held-out digits labelled by the "
        "training digit with the nearest code E(x) (the BiGAN paper's test of its encoder); G(E(x)) class: share of "
        "held-out digits whose reconstruction the classifier assigns to their own class (chance 10 %)",
    ],
)
