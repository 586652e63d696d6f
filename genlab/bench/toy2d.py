"""Mode collapse on 2-D Gaussian mixtures: the ring (8 modes) and the grid (25 modes).

The data and the metric follow the PacGAN protocol exactly (Lin et al., 2018; see
`genlab.data.ring`, `genlab.data.grid` and `genlab.metrics.mode_coverage`): 100,000 training
points, 2,500 generated samples per run, modes captured, high-quality samples, reverse KL,
plus our spread figure and, for models with a likelihood, the held-out negative
log-likelihood. Training budgets are ours — minutes per seed on a laptop CPU — and far
shorter than PacGAN's 400 epochs, which the tables say.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import torch

from genlab.bench.common import Benchmark, Column, Published
from genlab.data.toy2d import GaussianMixture2D, grid, ring
from genlab.metrics.modes import mode_coverage
from genlab.models.gan import GAN
from genlab.models.vae import VAE
from genlab.train import fit

N_TRAIN = 100_000
N_SAMPLES = 2_500
MIXTURES = {"ring": ring, "grid": grid}


@dataclass(frozen=True)
class Recipe:
    """How one row's model is built and trained: a factory name, its keyword arguments, the budget."""

    kind: str  # "gan" or "vae"
    kwargs: dict = field(default_factory=dict)
    steps: int = 3_000
    batch_size: int = 384  # a multiple of 2, 3 and 4, so every packing degree sees the same data

    def build(self) -> GAN | VAE:
        if self.kind == "gan":
            return GAN.mlp(**self.kwargs)
        return VAE.mlp(**self.kwargs)


_GAN = {"hidden": 128, "depth": 3, "lr": 1e-3}
RECIPES = {
    # Our own baseline: the chapter-1 MLP GAN with a larger batch and learning rate.
    "GAN": Recipe("gan", _GAN),
    # PacGAN (Lin et al., 2018): the same networks, the discriminator reading m samples at once.
    "PacGAN2": Recipe("gan", {**_GAN, "pack": 2}),
    "PacGAN3": Recipe("gan", {**_GAN, "pack": 3}),
    "PacGAN4": Recipe("gan", {**_GAN, "pack": 4}),
    # WGAN-GP with the paper's optimiser settings (Gulrajani et al., 2017); each step is 5 critic updates.
    "WGAN-GP": Recipe("gan", {"hidden": 128, "depth": 3, "loss": "wgan-gp", "d_steps": 5, "lr": 1e-4, "betas": (0.5, 0.9)}, steps=1_000),
    "VAE": Recipe("vae", {"latent_dim": 2, "hidden": 128, "depth": 3, "likelihood": "gaussian", "lr": 1e-3}),
}


def mixture(name: str) -> GaussianMixture2D:
    return MIXTURES[name]()


@functools.lru_cache(maxsize=8)
def train(data: str, model: str, seed: int, device: str) -> GAN | VAE:
    """The trained model of one row and seed (cached, so the DRS row reuses the GAN row's model)."""
    recipe = RECIPES[model]
    x = mixture(data).sample(N_TRAIN, seed=seed)
    torch.manual_seed(seed)
    net = recipe.build()
    fit(net, x, steps=recipe.steps, batch_size=recipe.batch_size, seed=seed, device=device, progress=False)
    return net.eval()


def heldout_nll(data: str, net: VAE | None, seed: int) -> float:
    """Negative log-likelihood (nats per point) of 2,500 fresh true points: exact for the true mixture,
    the IWAE bound (k = 100, Burda et al., 2016) for a VAE, which over-estimates it."""
    mix = mixture(data)
    x = mix.sample(N_SAMPLES, generator=torch.Generator().manual_seed(10_000 + seed))
    if net is None:
        return float(-mix.log_prob(x).mean())
    torch.manual_seed(seed)
    return float(-net.log_likelihood(x.to(net.device), k=100).mean())


def score(data: str, samples: torch.Tensor) -> dict[str, float]:
    return mode_coverage(samples.cpu(), mixture(data)).as_dict()


def _true_data(data: str):
    def runner(seed: int, device: torch.device) -> dict[str, float]:
        samples = mixture(data).sample(N_SAMPLES, generator=torch.Generator().manual_seed(20_000 + seed))
        return {**score(data, samples), "nll": heldout_nll(data, None, seed)}

    return runner


def _model(data: str, model: str):
    def runner(seed: int, device: torch.device) -> dict[str, float]:
        net = train(data, model, seed, str(device))
        samples = net.sample(N_SAMPLES, generator=torch.Generator(net.device).manual_seed(30_000 + seed))
        nll = heldout_nll(data, net, seed) if isinstance(net, VAE) else math.nan
        return {**score(data, samples), "nll": nll}

    return runner


def _rejection(data: str, model: str = "GAN"):
    def runner(seed: int, device: torch.device) -> dict[str, float]:
        net = train(data, model, seed, str(device))
        samples = net.rejection_sample(N_SAMPLES, generator=torch.Generator(net.device).manual_seed(40_000 + seed))
        return {**score(data, samples), "nll": math.nan}

    return runner


COLUMNS = [
    Column("modes", "modes", "{:.1f}"),
    Column("high_quality", "HQ %", "{:.1f}", scale=100),
    Column("reverse_kl", "reverse KL", "{:.3f}"),
    Column("spread", "spread", "{:.2f}"),
    Column("nll", "NLL (nats)", "{:.2f}"),
]

PACGAN = "Lin et al. 2018, Table 1"
VEEGAN = "Srivastava et al. 2017, Table 1"
_PUBLISHED = {
    "ring": [
        Published("GAN", PACGAN, {"modes": (6.3, 0.5), "high_quality": (0.982, 0.002), "reverse_kl": (0.45, 0.09)}),
        Published("ALI", PACGAN, {"modes": (6.6, 0.3), "high_quality": (0.976, 0.004), "reverse_kl": (0.36, 0.04)}),
        Published("PacGAN2", PACGAN, {"modes": (7.9, 0.1), "high_quality": (0.956, 0.020), "reverse_kl": (0.07, 0.03)}),
        Published("PacGAN3", PACGAN, {"modes": (7.8, 0.1), "high_quality": (0.977, 0.003), "reverse_kl": (0.10, 0.02)}),
        Published("PacGAN4", PACGAN, {"modes": (7.8, 0.1), "high_quality": (0.959, 0.014), "reverse_kl": (0.07, 0.02)}),
        Published("VEEGAN", VEEGAN, {"modes": (8, None), "high_quality": (0.529, None)}, note="VEEGAN's own networks, 5 runs"),
        Published("Unrolled GAN", VEEGAN, {"modes": (7.6, None), "high_quality": (0.356, None)}),
    ],
    "grid": [
        Published("GAN", PACGAN, {"modes": (17.3, 0.8), "high_quality": (0.948, 0.007), "reverse_kl": (0.70, 0.07)}),
        Published("ALI", PACGAN, {"modes": (24.1, 0.4), "high_quality": (0.957, 0.006), "reverse_kl": (0.14, 0.03)}),
        Published("PacGAN2", PACGAN, {"modes": (23.8, 0.7), "high_quality": (0.913, 0.008), "reverse_kl": (0.13, 0.04)}),
        Published("PacGAN3", PACGAN, {"modes": (24.6, 0.4), "high_quality": (0.942, 0.004), "reverse_kl": (0.06, 0.02)}),
        Published("PacGAN4", PACGAN, {"modes": (24.8, 0.2), "high_quality": (0.936, 0.006), "reverse_kl": (0.04, 0.01)}),
        Published("VEEGAN", VEEGAN, {"modes": (24.6, None), "high_quality": (0.40, None)}, note="VEEGAN's own networks, 5 runs"),
        Published("Unrolled GAN", VEEGAN, {"modes": (23.6, None), "high_quality": (0.16, None)}),
    ],
}

_NOTES = [
    "protocol differences: PacGAN trains 400 epochs (400,000 updates of batch 100) with G 4x400 ReLU+BatchNorm "
    "and a 3x200 maxout D; genlab gives every row the same short budget (GAN rows and VAE: 3,000 updates of batch "
    "384, MLP 3x128, lr 1e-3; WGAN-GP: 1,000 updates of 5 critic steps each) — same data, same metric, same 2,500 "
    "samples. s/seed is wall time on one CPU thread of a shared 2-core machine",
    "spread: RMS distance of high-quality samples from their mode centre over that of true samples under the same "
    "3-std cut; 1.00 is right, below 1 means samples packed too tightly (high quality that is not quality)",
    "GAN + DRS: the GAN row's model with discriminator rejection sampling (Azadi et al., 2019) — a different "
    "sampler, using only the model's own networks; its time is the sampling alone",
    "NLL: held-out negative log-likelihood in nats per point, exact for the true data, an upper bound (IWAE, k=100) "
    "for the VAE; GANs have none",
]


def _benchmark(data: str) -> Benchmark:
    n_modes = mixture(data).n_modes
    models = {name: _model(data, name) for name in RECIPES}
    models["GAN + DRS"] = _rejection(data)
    return Benchmark(
        name=data,
        title=f"Mode collapse on the {data} ({n_modes} Gaussian modes), PacGAN protocol, 2,500 samples per run",
        columns=COLUMNS,
        models=models,
        default_models=list(models),
        references={"true data": _true_data(data)},
        published=_PUBLISHED[data],
        error="se",
        notes=_NOTES,
    )


RING = _benchmark("ring")
GRID = _benchmark("grid")
