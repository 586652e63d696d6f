"""Denoising diffusion probabilistic model (DDPM, Ho et al., 2020).

A fixed forward process adds Gaussian noise in T small steps,

    q(x_t | x_{t-1}) = N(√(1 − β_t) x_{t-1}, β_t I),   so   q(x_t | x_0) = N(√ᾱ_t x_0, (1 − ᾱ_t) I),

with ᾱ_t = Π_{s≤t} (1 − β_s), until x_T is almost pure noise. A network ε_θ(x_t, t) learns to
predict the noise ε in x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε; the loss is the paper's simplified bound

    L_simple = E_{t, x_0, ε} ||ε − ε_θ(x_t, t)||²,   t ~ U{1, …, T}.

Sampling runs the learned reverse process from x_T ~ N(0, I) (the paper's algorithm 2):

    x_{t-1} = (x_t − β_t / √(1 − ᾱ_t) · ε_θ(x_t, t)) / √(1 − β_t) + σ_t z,   z ~ N(0, I), σ_t² = β_t,

with no noise added at the last step. Like a VAE it is trained on a variational bound (whose
weighting L_simple drops) and, like a GAN, it maps noise to data — but through T network
calls, not one: the price of its stable, non-adversarial training is slow sampling.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import torch
from torch import Tensor, nn

from genlab import noise
from genlab.checks import check_fraction
from genlab.models.averaging import frozen_copy, update_average
from genlab.models.base import Batch, GenerativeModel, Losses, Optimizers, check_count, check_positive, constructor
from genlab.nets import MLP

SCHEDULES = ("linear", "cosine")


def noise_schedule(kind: str, timesteps: int) -> Tensor:
    """β_1 … β_T, shape (T,), float64.

    - "linear": from 1e-4 to 0.02 (Ho et al., 2020, section 4, for T = 1000); for another T the
      ends are rescaled by 1000 / T so that the total amount of noise stays the same.
    - "cosine": ᾱ_t = f(t) / f(0), f(t) = cos²((t/T + s) / (1 + s) · π/2), s = 0.008, with β_t
      capped at 0.999 (Nichol & Dhariwal, 2021, eq. 17).
    """
    if kind not in SCHEDULES:
        raise ValueError(f"unknown noise schedule {kind!r}; choose one of {SCHEDULES}")
    check_count(timesteps, "timesteps", minimum=2)
    if kind == "linear":
        scale = 1000 / timesteps
        return torch.linspace(1e-4 * scale, 0.02 * scale, timesteps, dtype=torch.float64).clamp(max=0.999)
    s = 0.008
    t = torch.arange(timesteps + 1, dtype=torch.float64) / timesteps
    f = torch.cos((t + s) / (1 + s) * math.pi / 2) ** 2
    alpha_bar = f / f[0]
    return (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=0.999)


class TimeEmbedding(nn.Module):
    """The sinusoidal embedding of a step t (Vaswani et al., 2017), (B,) integers -> (B, dim)."""

    def __init__(self, dim: int = 32, max_period: float = 10_000.0) -> None:
        super().__init__()
        if dim < 2 or dim % 2:
            raise ValueError(f"the time embedding's dim must be an even number ≥ 2, got {dim}")
        half = dim // 2
        self.register_buffer("frequencies", torch.exp(-math.log(max_period) * torch.arange(half) / half),
                             persistent=False)

    def forward(self, t: Tensor) -> Tensor:
        angles = t.float()[:, None] * self.frequencies[None]
        return torch.cat([angles.sin(), angles.cos()], dim=1)


class MLPDenoiser(nn.Module):
    """ε_θ(x_t, t) for flat data: an MLP reading x_t beside the embedding of t, (B, d), (B,) -> (B, d)."""

    def __init__(self, data_dim: int, hidden: int = 128, depth: int = 3, time_dim: int = 32) -> None:
        super().__init__()
        self.embed = TimeEmbedding(time_dim)
        self.net = MLP(data_dim + time_dim, data_dim, hidden, depth, activation=nn.SiLU)

    def forward(self, x: Tensor, t: Tensor) -> Tensor:
        return self.net(torch.cat([x, self.embed(t)], dim=1))


class DDPM(GenerativeModel):
    """A DDPM around any noise-prediction network.

    Args:
        denoiser: (x_t of shape (B, *data_shape), t of shape (B,) in 1..T) -> ε̂ of shape (B, *data_shape).
        data_shape: shape of one sample; data should have about unit scale, as the noise has.
        timesteps: T, the number of noising steps (1,000 in the paper).
        schedule: "linear" (the paper's) or "cosine" (Nichol & Dhariwal, 2021); see `noise_schedule`.
        lr: Adam's learning rate.
        ema: with a decay β in (0, 1), keep an exponential moving average of the denoiser's
            weights, θ̄ ← β θ̄ + (1 − β) θ after every update, and sample with it (the paper's
            samples use a decay of 0.9999; Ho et al., 2020, appendix B). 0 (default): none.
    """

    @constructor
    def __init__(
        self,
        denoiser: nn.Module,
        *,
        data_shape: Sequence[int],
        timesteps: int = 1000,
        schedule: str = "linear",
        lr: float = 1e-3,
        ema: float = 0.0,
    ) -> None:
        super().__init__()
        check_positive(lr, "lr")
        check_fraction(ema, "ema", hint="0 turns the average off")
        betas = noise_schedule(schedule, timesteps)
        self.denoiser = denoiser
        self.data_shape = tuple(data_shape)
        self.timesteps = timesteps
        self.schedule = schedule
        self.lr = lr
        self.ema = float(ema)
        self.denoiser_ema = frozen_copy(denoiser) if ema else None
        alpha_bar = torch.cumprod(1 - betas, dim=0)
        # Index 0 holds step t = 1. The schedule is fixed by the arguments, so it is not saved.
        for name, value in (("betas", betas), ("alpha_bar", alpha_bar)):
            self.register_buffer(name, value.float(), persistent=False)

    @classmethod
    @constructor
    def mlp(cls, data_dim: int = 2, hidden: int = 128, depth: int = 3, time_dim: int = 32, **kwargs) -> DDPM:
        """A DDPM on flat data (B, data_dim) with `MLPDenoiser`, for low-dimensional data such as the ring."""
        for name, value in (("data_dim", data_dim), ("hidden", hidden), ("depth", depth)):
            check_count(value, name, minimum=1)
        if check_count(time_dim, "time_dim", minimum=2) % 2:
            raise ValueError(f"time_dim must be even (sines and cosines in pairs), got {time_dim}")
        return cls(MLPDenoiser(data_dim, hidden, depth, time_dim), data_shape=(data_dim,), **kwargs)

    def configure_optimizers(self) -> Optimizers:
        return {"model": torch.optim.Adam(self.denoiser.parameters(), lr=self.lr)}

    def _broadcast(self, values: Tensor) -> Tensor:
        """(B,) -> (B, 1, …, 1), to scale samples of shape (B, *data_shape)."""
        return values.reshape(-1, *(1,) * len(self.data_shape))

    def noised(self, x0: Tensor, t: Tensor, eps: Tensor) -> Tensor:
        """A draw of q(x_t | x_0): √ᾱ_t x_0 + √(1 − ᾱ_t) ε, for steps t (B,) in 1..T."""
        alpha_bar = self._broadcast(self.alpha_bar[t - 1])
        return alpha_bar.sqrt() * x0 + (1 - alpha_bar).sqrt() * eps

    def loss(self, x0: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """L_simple on a batch: one uniformly drawn step and one noise draw per sample."""
        t = noise.integers(self.timesteps + 1, x0.shape[0], low=1, device=x0.device, generator=generator)
        eps = noise.normal_like(x0, generator)
        return (eps - self.denoiser(self.noised(x0, t, eps), t)).pow(2).flatten(1).sum(1).mean()

    def train_step(self, batch: Batch, optimizers: Optimizers, step: int) -> Losses:
        loss = self.loss(self.inputs(batch))
        self.optimizer_step(optimizers["model"], loss)
        if self.denoiser_ema is not None:
            self.update_ema()
        return {"loss": loss.detach()}

    def update_ema(self) -> None:
        """θ̄ ← β θ̄ + (1 − β) θ for the averaged denoiser."""
        update_average(self.denoiser_ema, self.denoiser, self.ema)

    @property
    def sampler(self) -> nn.Module:
        """The network the reverse process uses: the averaged denoiser when `ema` is set, else the denoiser."""
        return self.denoiser_ema if self.denoiser_ema is not None else self.denoiser

    @torch.no_grad()
    def reverse_process(self, n: int, generator: torch.Generator | None = None) -> Iterator[tuple[int, Tensor]]:
        """The reverse chain for n samples, step by step: (T, x_T), (T − 1, x_{T−1}), …, (0, x_0).

        x_T ~ N(0, I); each later x_{t−1} follows algorithm 2 of the paper (see the module
        docstring). Runs in eval mode; `sample` keeps only the last.
        """
        with self.evaluating():
            x = torch.randn(n, *self.data_shape, device=self.device, generator=generator)
            yield self.timesteps, x
            for t in range(self.timesteps, 0, -1):
                beta, alpha_bar = self.betas[t - 1], self.alpha_bar[t - 1]
                eps = self.sampler(x, torch.full((n,), t, device=self.device, dtype=torch.long))
                x = (x - beta / (1 - alpha_bar).sqrt() * eps) / (1 - beta).sqrt()
                if t > 1:
                    x = x + beta.sqrt() * torch.randn(x.shape, device=self.device, generator=generator)
                yield t - 1, x

    @torch.no_grad()
    def sample(self, n: int, *, condition: Tensor | None = None, generator: torch.Generator | None = None) -> Tensor:
        """n samples, shape (n, *data_shape), by the T steps of ancestral sampling (algorithm 2)."""
        self._check_n(n, condition, generator)
        for _, x in self.reverse_process(n, generator):
            pass
        return x
