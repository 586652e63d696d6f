"""Mode collapse on 2-D Gaussian mixtures: the ring (8 modes) and the grid (25 modes).

The mixtures and the metric follow the PacGAN protocol exactly (Lin et al., 2018; see
`genlab.data.ring`, `genlab.data.grid` and `genlab.metrics.mode_coverage`): 2,500 generated
samples per run, modes captured, high-quality samples, reverse KL, plus our spread and core
figures and, for models with a likelihood, the held-out negative log-likelihood.

The training recipe is ours and the same for every row, with two choices any practitioner
would make: the data are *standardised* (divided by their overall standard deviation,
0.707 for the ring and 2.83 for the grid, and samples multiplied back), so that the
networks see inputs of unit scale; and every minibatch is *fresh* — the mixture is a
simulator, so the training set holds steps × batch points and no point is seen twice
(PacGAN trains on a fixed set of 100,000). Budgets are minutes per seed on one CPU thread,
far shorter than PacGAN's 400 epochs, which the tables say.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass

import torch

from genlab.bench.common import Benchmark, Column, Published, Recipe
from genlab.bench.search import Choice, LogUniform, Pruned, Report, Space, Tuning, decode, with_params
from genlab.data.toy2d import GaussianMixture2D, grid, ring
from genlab.metrics.modes import mixture_mmd, mode_coverage
from genlab.models.aae import AAE
from genlab.models.base import GenerativeModel
from genlab.models.bigan import BiGAN
from genlab.models.diffusion import DDPM
from genlab.models.gan import GAN
from genlab.models.sequence_rnn import SequenceRNN
from genlab.models.vae import VAE
from genlab.models.vaegan import VAEGAN
from genlab.train import fit

N_SAMPLES = 2_500
MIXTURES = {"ring": ring, "grid": grid}


def _point_rnn(**kwargs) -> SequenceRNN:
    """An autoregressive model of 2-D points: each point (x, y) is read as a sequence of two steps, x then y."""
    return SequenceRNN(features=1, length=2, **kwargs)


def _recipe(build, steps: int = 8_000, lr_decay: str | None = None, **kwargs) -> Recipe:
    # batches of 256: a multiple of 2 and 4, so both packing degrees see the same data
    return Recipe(functools.partial(build, **kwargs), steps=steps, batch_size=256, lr_decay=lr_decay)


_GAN = {"hidden": 128, "depth": 3, "lr": 5e-4}
RECIPES = {
    # Our baseline: chapter 1's MLP GAN (non-saturating loss), on standardised fresh data.
    "GAN": _recipe(GAN.mlp, **_GAN),
    # PacGAN (Lin et al., 2018): the same networks, the discriminator reading m samples at once.
    "PacGAN2": _recipe(GAN.mlp, **_GAN, pack=2),
    "PacGAN4": _recipe(GAN.mlp, **_GAN, pack=4),
    # WGAN-GP (Gulrajani et al., 2017): Algorithm 1's learning rate 1e-4, 5 critic updates per
    # generator update and λ = 10, with the β = (0.5, 0.9) of the authors' toy script (Algorithm 1
    # has β1 = 0). Each update costs about five of the GAN's (five critic steps, each with a double
    # backward for the penalty), so 1,500 updates were meant to match the GAN's 8,000; the tables'
    # s/seed columns say what each row actually took.
    "WGAN-GP": _recipe(GAN.mlp, hidden=128, depth=3, loss="wgan-gp", d_steps=5, lr=1e-4, betas=(0.5, 0.9), steps=1_500),
    # Chapter 6's stabilisers, each one change to the GAN row (run them with --models):
    # the hinge loss (Lim & Ye, 2017; Miyato et al., 2018); spectral normalisation of every
    # discriminator layer (Miyato et al., 2018); two time scales, with SAGAN's learning rates
    # 1e-4 for G and 4e-4 for D (Heusel et al., 2017; Zhang et al., 2019); the R1 penalty on real
    # data with the paper's γ = 10 (Mescheder et al., 2018).
    "GAN, hinge": _recipe(GAN.mlp, **_GAN, loss="hinge"),
    "GAN, spectral norm": _recipe(GAN.mlp, **_GAN, spectral_norm=True),
    "GAN, TTUR": _recipe(GAN.mlp, **(_GAN | {"lr": 1e-4}), d_lr=4e-4),
    "GAN, R1": _recipe(GAN.mlp, **_GAN, r1_weight=10.0),
    "VAE": _recipe(VAE.mlp, latent_dim=2, hidden=128, depth=3, likelihood="gaussian", lr=1e-3),
    # The VAE × GAN hybrids of chapter 7, with the GAN row's networks and budget.
    "VAE-GAN": _recipe(VAEGAN.mlp, latent_dim=2, hidden=128, depth=3, lr=5e-4),
    "AAE": _recipe(AAE.mlp, latent_dim=2, hidden=128, depth=3, prior="gaussian", lr=5e-4),
    "BiGAN": _recipe(BiGAN.mlp, latent_dim=2, hidden=128, depth=3, lr=5e-4),
    "ALI": _recipe(BiGAN.mlp, latent_dim=2, hidden=128, depth=3, lr=5e-4, stochastic_encoder=True),
    # Maximum likelihood instead of a game: p(x, y) = p(x) p(y | x), each factor a mixture of
    # 10 Gaussians computed by chapter 4's recurrent model (a mixture density network, Bishop
    # 1994; Graves 2013). 20,000 updates at a linearly decaying rate (its seconds are in the table).
    # Chapter 6's outlook: a small DDPM (Ho et al., 2020) — the paper's 1,000 steps and linear
    # schedule, an MLP of the GAN's size reading the step's sinusoidal embedding. One update is
    # half a GAN update (one network, one pass): 16,000 updates at a linearly decaying rate
    # (measured, it takes well under the GAN's seconds per seed: see the table).
    "DDPM": _recipe(DDPM.mlp, hidden=128, depth=3, lr=1e-3, steps=16_000, lr_decay="linear"),
    "MDN-RNN": _recipe(_point_rnn, hidden=64, components=10, lr=3e-3, clip_norm=None, steps=20_000,
                       lr_decay="linear"),
}

# What each row's search may change: the knobs its paper exposes, around the default recipe.
# Every trial keeps the row's budget (its number of updates of 256 points) and its networks are
# at most as wide and deep as the default's (3 × 128), so a tuned row never costs more compute
# than its default row (the tables measure it): the search buys settings, not size.
_ADAM = {"lr": LogUniform(5e-5, 3e-3), "betas": Choice((0.5, 0.999), (0.0, 0.9), (0.5, 0.9), (0.9, 0.999))}
_WIDTH = {"hidden": Choice(64, 128), "depth": Choice(2, 3)}
_GAN_SPACE: Space = {**_ADAM, **_WIDTH, "latent_dim": Choice(2, 8, 32), "d_steps": Choice(1, 2), "ema": Choice(0.0, 0.999)}
_CODE = {"latent_dim": Choice(2, 4, 8)}
SPACES: dict[str, Space] = {
    "GAN": _GAN_SPACE,
    "PacGAN2": _GAN_SPACE,
    "PacGAN4": _GAN_SPACE,
    # the authors' toy script uses λ = 0.1 ("smaller lambda seems to help for toy tasks")
    "WGAN-GP": {**_ADAM, **_WIDTH, "gp_weight": Choice(0.1, 1.0, 10.0), "d_steps": Choice(1, 5), "ema": Choice(0.0, 0.999)},
    "GAN, hinge": _GAN_SPACE,
    "GAN, spectral norm": _GAN_SPACE,
    "GAN, TTUR": {**_GAN_SPACE, "d_lr": LogUniform(1e-4, 3e-3)},
    "GAN, R1": {**_GAN_SPACE, "r1_weight": LogUniform(0.01, 30.0)},
    "VAE": {"lr": LogUniform(1e-4, 3e-3), **_WIDTH, **_CODE, "beta": Choice(0.5, 1.0),
            "kl_warmup": Choice(0, 2_000)},
    "DDPM": {"lr": LogUniform(1e-4, 3e-3), **_WIDTH, "ema": Choice(0.0, 0.999)},
    # VAE-GAN's γ weighs the feature-space reconstruction against the adversarial term
    "VAE-GAN": {**_ADAM, **_WIDTH, **_CODE, "gamma": LogUniform(0.01, 10.0), "beta": Choice(0.5, 1.0)},
    "AAE": {**_ADAM, **_WIDTH, **_CODE, "stochastic_encoder": Choice(False, True)},
    "BiGAN": {**_ADAM, **_WIDTH, **_CODE},
    "ALI": {**_ADAM, **_WIDTH, **_CODE},
}


def mixture(name: str) -> GaussianMixture2D:
    return MIXTURES[name]()


@dataclass(frozen=True)
class Trained:
    """A trained row model and the scale it was trained at: it models x / scale."""

    net: GenerativeModel
    scale: float

    def sample(self, n: int, seed: int, *, rejection: bool = False) -> torch.Tensor:
        """n samples (n, 2) on the CPU in the data's own units; `rejection` draws them by the GAN's DRS."""
        draw = self.net.rejection_sample if rejection else self.net.sample
        samples = draw(n, generator=torch.Generator(self.net.device).manual_seed(seed))
        return samples.reshape(n, 2).cpu() * self.scale  # a sequence model's (n, 2, 1) becomes (n, 2)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor | None:
        """log p(x) per point (n,) in the data's own units, or None for a model without a likelihood.

        Exact for the autoregressive model, the IWAE bound (k = 100) for a VAE. By the change of
        variables, log p(x) = log p_model(x / s) − 2 log s in two dimensions.
        """
        x = x.to(self.net.device) / self.scale
        if isinstance(self.net, SequenceRNN):
            log_p = self.net.log_prob(x.unsqueeze(-1))
        elif isinstance(self.net, VAE):
            log_p = self.net.log_likelihood(x, k=100)
        else:
            return None
        return log_p.detach().cpu() - 2 * math.log(self.scale)


def fit_recipe(
    data: str,
    model: str,
    seed: int,
    device: str | torch.device = "cpu",
    *,
    steps: int | None = None,
    callback=None,
    callback_every: int | None = None,
    params: dict | None = None,
) -> tuple[Trained, dict[str, list[float]]]:
    """Train row `model` on mixture `data` with `seed` exactly as the benchmark does.

    Returns the trained model and fit()'s loss history. `steps` overrides the recipe's
    budget; `callback(step, trained, history)`, if given, is called every `callback_every`
    steps (None: when `fit` reads the losses) with the model as trained so far; `params`
    (settings of the row's search space, `SPACES[model]`) replace the recipe's.
    """
    recipe = with_params(RECIPES[model], params or {})
    recipe = recipe if steps is None else dataclasses.replace(recipe, steps=steps)
    x = mixture(data).sample(recipe.steps * recipe.batch_size, seed=seed)  # a fresh point for every draw
    scale = float(x.std())  # overall std: 0.707 on the ring, 2.83 on the grid
    torch.manual_seed(seed)
    net = recipe.build()
    hook = None if callback is None else (lambda step, m, history: callback(step, Trained(m, scale), history))
    x = (x / scale).reshape(len(x), *net.data_shape)  # (N, 2), or (N, 2, 1) for a sequence model
    history = fit(net, x, steps=recipe.steps, batch_size=recipe.batch_size, seed=seed, device=device,
                  progress=False, callback=hook, callback_every=callback_every, lr_decay=recipe.lr_decay)
    return Trained(net.eval(), scale), history


@functools.lru_cache(maxsize=8)
def train(data: str, model: str, seed: int, device: str, raw: tuple = ()) -> Trained:
    """The trained model of one row and seed (cached, so the DRS row reuses the GAN row's model).

    raw: the row's tuned settings as sorted (name, raw value) pairs, () for its default recipe.
    """
    return fit_recipe(data, model, seed, device, params=decode(SPACES[model], dict(raw)) if raw else None)[0]


def heldout_nll(data: str, model: Trained | None, seed: int) -> float:
    """Negative log-likelihood (nats per point) of 2,500 fresh true points: exact for the true mixture
    and the autoregressive model, the IWAE bound (k = 100, Burda et al., 2016) for a VAE, which
    over-estimates it; NaN for a model without a likelihood."""
    mix = mixture(data)
    x = mix.sample(N_SAMPLES, generator=torch.Generator().manual_seed(10_000 + seed))
    if model is None:
        return float(-mix.log_prob(x).mean())
    torch.manual_seed(seed)
    with torch.no_grad():
        log_p = model.log_prob(x)
    return math.nan if log_p is None else float(-log_p.mean())


def score(data: str, samples: torch.Tensor) -> dict[str, float]:
    coverage = mode_coverage(samples.cpu(), mixture(data))
    return {
        **coverage.as_dict(),
        # 1 for a run that captured every mode, so its mean is the share of runs without collapse
        "all_modes": float(coverage.modes == mixture(data).n_modes),
        # distance to the whole mixture, defined for any sampler however blurred (floor about 1e-4)
        "mmd": mixture_mmd(samples.cpu(), mixture(data)).mmd,
    }


def _true_data(data: str):
    def runner(seed: int, device: torch.device) -> dict[str, float]:
        samples = mixture(data).sample(N_SAMPLES, generator=torch.Generator().manual_seed(20_000 + seed))
        return {**score(data, samples), "nll": heldout_nll(data, None, seed)}

    return runner


def _model(data: str, model: str, raw: dict | None = None):
    key = tuple(sorted((raw or {}).items()))
    updates = with_params(RECIPES[model], decode(SPACES[model], raw) if raw else {}).steps

    def runner(seed: int, device: torch.device) -> dict[str, float]:
        trained = train(data, model, seed, str(device), key)
        return {**score(data, trained.sample(N_SAMPLES, 30_000 + seed)), "nll": heldout_nll(data, trained, seed),
                "updates": updates}

    return runner


OBJECTIVE = ("coverage first, then quality: (modes captured) / (modes) for a run that misses a mode, "
             "1 + (high-quality share) for a run that captures every mode — so any run that covers the "
             "mixture beats any run that does not, and among those the sharper wins; measured on 2,500 "
             "samples drawn with seeds the tables never use, reported 4 times per trial")


def objective_value(data: str, samples: torch.Tensor) -> float:
    """The tuning objective of `OBJECTIVE` for one run's samples (in [0, 2], higher is better)."""
    scores = score(data, samples)
    n = mixture(data).n_modes
    return 1 + scores["high_quality"] if scores["modes"] == n else scores["modes"] / n


def _objective(data: str):
    def objective(row: str, raw, seed: int, device, report: Report) -> tuple[float, dict]:
        recipe = with_params(RECIPES[row], decode(SPACES[row], raw))
        every = recipe.steps // 4

        def measure(step: int, trained: Trained, history) -> None:
            if step < recipe.steps and report(step, objective_value(data, trained.sample(N_SAMPLES, 50_000 + seed))):
                raise Pruned(f"stopped at step {step}")

        # a quarter of the budget between reports (none under 4 steps)
        trained, _ = fit_recipe(data, row, seed, device, params=decode(SPACES[row], raw),
                                callback=measure if every else None, callback_every=every or None)
        value = objective_value(data, trained.sample(N_SAMPLES, 50_000 + seed))
        report(recipe.steps, value)
        return value, {"updates": recipe.steps}

    return objective


def _rejection(data: str, model: str = "GAN"):
    def runner(seed: int, device: torch.device) -> dict[str, float]:
        trained = train(data, model, seed, str(device))
        return {**score(data, trained.sample(N_SAMPLES, 40_000 + seed, rejection=True)), "nll": math.nan}

    return runner


COLUMNS = [
    Column("modes", "modes", "{:.1f}"),
    Column("all_modes", "all %", "{:.0f}", scale=100),
    Column("high_quality", "HQ %", "{:.1f}", scale=100),
    Column("reverse_kl", "reverse KL", "{:.3f}"),
    Column("spread", "spread", "{:.2f}"),
    Column("core", "core", "{:.2f}"),
    Column("mmd", "MMD² ×1e3", "{:.2f}", scale=1e3),
    Column("nll", "NLL (nats)", "{:.2f}"),
]

PACGAN = "Lin et al. 2018, Table 1"
VEEGAN = "Srivastava et al. 2017, Table 1"
GDPP = "Elfeki et al. 2019"
_PUBLISHED = {
    "ring": [
        Published("GAN", PACGAN, {"modes": (6.3, 0.5), "high_quality": (0.982, 0.002), "reverse_kl": (0.45, 0.09)}),
        Published("ALI", PACGAN, {"modes": (6.6, 0.3), "high_quality": (0.976, 0.004), "reverse_kl": (0.36, 0.04)}),
        Published("ALI", VEEGAN, {"modes": (2.8, None), "high_quality": (0.0013, None)}),
        Published("GDPP-GAN", GDPP, {"modes": (8.0, None), "high_quality": (0.717, None)}),
        Published("PacGAN2", PACGAN, {"modes": (7.9, 0.1), "high_quality": (0.956, 0.020), "reverse_kl": (0.07, 0.03)}),
        Published("PacGAN3", PACGAN, {"modes": (7.8, 0.1), "high_quality": (0.977, 0.003), "reverse_kl": (0.10, 0.02)}),
        Published("PacGAN4", PACGAN, {"modes": (7.8, 0.1), "high_quality": (0.959, 0.014), "reverse_kl": (0.07, 0.02)}),
        Published("VEEGAN", VEEGAN, {"modes": (8, None), "high_quality": (0.529, None)}, note="VEEGAN's own networks, 5 runs"),
        Published("Unrolled GAN", VEEGAN, {"modes": (7.6, None), "high_quality": (0.356, None)}),
    ],
    "grid": [
        Published("GAN", PACGAN, {"modes": (17.3, 0.8), "high_quality": (0.948, 0.007), "reverse_kl": (0.70, 0.07)}),
        Published("ALI", PACGAN, {"modes": (24.1, 0.4), "high_quality": (0.957, 0.006), "reverse_kl": (0.14, 0.03)}),
        Published("ALI", VEEGAN, {"modes": (15.8, None), "high_quality": (0.016, None)}),
        Published("GDPP-GAN", GDPP, {"modes": (24.8, None), "high_quality": (0.685, None)}),
        Published("PacGAN2", PACGAN, {"modes": (23.8, 0.7), "high_quality": (0.913, 0.008), "reverse_kl": (0.13, 0.04)}),
        Published("PacGAN3", PACGAN, {"modes": (24.6, 0.4), "high_quality": (0.942, 0.004), "reverse_kl": (0.06, 0.02)}),
        Published("PacGAN4", PACGAN, {"modes": (24.8, 0.2), "high_quality": (0.936, 0.006), "reverse_kl": (0.04, 0.01)}),
        Published("VEEGAN", VEEGAN, {"modes": (24.6, None), "high_quality": (0.40, None)}, note="VEEGAN's own networks, 5 runs"),
        Published("Unrolled GAN", VEEGAN, {"modes": (23.6, None), "high_quality": (0.16, None)}),
    ],
}

_NOTES = [
    "protocol differences: PacGAN trains 400 epochs (400,000 updates of batch 100 on a fixed set of 100,000 points) "
    "with G 4x400 ReLU+BatchNorm and a 3x200 maxout D; genlab gives each row its own recipe — the GANs, VAE and "
    "hybrids 8,000 updates of batch 256, WGAN-GP 1,500 updates of 5 critic steps each, the DDPM 16,000, the MDN-RNN "
    "20,000 — so their compute differs (s/seed), MLPs 3x128, on standardised data with a fresh minibatch every "
    "step — same mixtures, same metric, same 2,500 samples. s/seed is wall time on one CPU thread",
    "spread: RMS distance of high-quality samples from their mode centre over that of true samples under the same "
    "3-std cut; 1.00 is right, below 1 means samples packed too tightly (high quality that is not quality). "
    "core: share of high-quality samples within 1 std of their centre over the truth's 0.398; below 1 means "
    "samples too wide — it keeps ranking them where the spread saturates",
    "all %: the share of runs that captured every mode (the rest collapsed onto fewer)",
    "MMD²: squared maximum mean discrepancy to 2,500 fresh true points with two RBF bandwidths (the mode std and "
    "half the mode spacing; genlab.metrics.mixture_mmd); two true samples give about 0 ± 0.001 ×1e-3",
    "GAN, hinge / spectral norm / TTUR / R1 (chapter 6): the GAN row with one change each — the hinge loss; "
    "spectral normalisation of D; learning rates 1e-4 for G and 4e-4 for D; the R1 penalty, γ = 10",
    "DDPM (chapter 6): denoising diffusion, T = 1,000 steps of the linear schedule 1e-4 … 0.02, an MLP 3x128 "
    "(SiLU) predicting the noise from the point and its step, 16,000 updates of 256 at a linearly decaying rate; "
    "each sample takes 1,000 network calls",
    "GAN + DRS: the GAN row's model with discriminator rejection sampling (Azadi et al., 2019) — a different "
    "sampler, using only the model's own networks; its time is the sampling alone",
    "NLL: held-out negative log-likelihood in nats per point, exact for the true data and the MDN-RNN, an upper "
    "bound (IWAE, k=100) for the VAE; GANs and the hybrids without a decoder likelihood have none",
    "MDN-RNN: chapter 4's recurrent model reading each point as two steps, x then y, each a mixture of 10 "
    "Gaussians, trained by maximum likelihood (20,000 updates of 256, learning rate decaying linearly); its "
    "samples come from the model alone, one step at a time",
]


def _benchmark(data: str) -> Benchmark:
    n_modes = mixture(data).n_modes
    models = {name: _model(data, name) for name in RECIPES}
    models["GAN + DRS"] = _rejection(data)
    # chapter 6's and chapter 7's rows: run them with --models
    extra = ("GAN, hinge", "GAN, spectral norm", "GAN, TTUR", "GAN, R1", "DDPM", "VAE-GAN", "AAE", "BiGAN", "ALI", "MDN-RNN")
    return Benchmark(
        name=data,
        title=f"Mode collapse on the {data} ({n_modes} Gaussian modes), PacGAN protocol, 2,500 samples per run",
        columns=COLUMNS,
        models=models,
        default_models=[name for name in models if name not in extra],
        references={"true data": _true_data(data)},
        published=_PUBLISHED[data],
        error="se",
        notes=_NOTES,
        tuning=Tuning(spaces=SPACES, recipes=RECIPES, objective=_objective(data), runner=lambda row, raw: _model(data, row, raw),
                      description=OBJECTIVE),
    )


RING = _benchmark("ring")
GRID = _benchmark("grid")
