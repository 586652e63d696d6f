"""Variational autoencoder (Kingma & Welling, 2014; Rezende et al., 2014).

An encoder q_φ(z|x) (the approximate posterior) and a decoder p_θ(x|z) (the
likelihood) are trained together by maximising the evidence lower bound

    ELBO(x) = E_{q_φ(z|x)}[log p_θ(x|z)] - β · KL(q_φ(z|x) || p(z)) ≤ log p_θ(x)   (β = 1),

with the expectation estimated by one reparameterised sample z = μ + σ ⊙ ε, ε ~ N(0, I).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from genlab import losses
from genlab.models.base import Batch, GenerativeModel
from genlab.nets import MLP

LIKELIHOODS = ("gaussian", "bernoulli")


class VAE(GenerativeModel):
    """A VAE around any encoder and decoder.

    Args:
        encoder: (B, *data_shape) -> (B, 2 * latent_dim): the mean and log-variance of q(z|x).
        decoder: (B, latent_dim) -> (B, *data_shape): the mean (Gaussian) or logits (Bernoulli) of p(x|z).
        latent_dim: size of z.
        data_shape: shape of one sample.
        likelihood: "gaussian" (with a learned per-dimension scale) or "bernoulli" (data in [0, 1]).
        beta: weight of the KL term (β-VAE, Higgins et al., 2017); 1 gives the true ELBO.
        init_scale: initial σ of a Gaussian likelihood. Starting near σ = 1 on data of
            small variance lets the KL term win before the decoder learns to use z: the
            model settles on a single broad Gaussian (posterior collapse).
        lr: Adam learning rate.
    """

    def __init__(
        self,
        encoder: nn.Module,
        decoder: nn.Module,
        *,
        latent_dim: int,
        data_shape: Sequence[int],
        likelihood: str = "gaussian",
        beta: float = 1.0,
        init_scale: float = 0.1,
        lr: float = 1e-3,
    ) -> None:
        super().__init__()
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"unknown likelihood {likelihood!r}; choose one of {LIKELIHOODS}")
        if beta < 0:
            raise ValueError(f"beta must be non-negative, got {beta}")
        self.encoder = encoder
        self.decoder = decoder
        self.latent_dim = latent_dim
        self.data_shape = tuple(data_shape)
        self.likelihood = likelihood
        self.beta = beta
        self.lr = lr
        if likelihood == "gaussian":
            # log σ of p(x|z), one per data dimension, learned with the rest.
            if not init_scale > 0:
                raise ValueError(f"init_scale must be positive, got {init_scale}")
            self.log_scale = nn.Parameter(torch.full(self.data_shape, math.log(init_scale)))

    @classmethod
    def mlp(cls, data_dim: int = 2, latent_dim: int = 2, hidden: int = 128, depth: int = 2, **kwargs) -> VAE:
        """Fully connected encoder and decoder for flat data of size data_dim."""
        return cls(
            MLP(data_dim, 2 * latent_dim, hidden, depth),
            MLP(latent_dim, data_dim, hidden, depth),
            latent_dim=latent_dim,
            data_shape=(data_dim,),
            **kwargs,
        )

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        return [torch.optim.Adam(self.parameters(), lr=self.lr)]

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """q(z|x): mean and log-variance, each (B, latent_dim)."""
        mu, logvar = self.encoder(x).chunk(2, dim=-1)
        return mu, logvar

    def decode(self, z: Tensor) -> Tensor:
        """Parameters of p(x|z): mean (Gaussian) or logits (Bernoulli), (B, *data_shape)."""
        return self.decoder(z).reshape(z.shape[0], *self.data_shape)

    def log_likelihood_given_z(self, x: Tensor, decoded: Tensor) -> Tensor:
        """log p(x|z) per example, (B,)."""
        if self.likelihood == "gaussian":
            return losses.gaussian_log_likelihood(x, decoded, self.log_scale)
        return losses.bernoulli_log_likelihood(x, decoded)

    def elbo_terms(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """One-sample reconstruction term E_q[log p(x|z)] and KL(q(z|x) || p(z)), each (B,)."""
        mu, logvar = self.encode(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)  # reparameterisation trick
        reconstruction = self.log_likelihood_given_z(x, self.decode(z))
        return reconstruction, losses.gaussian_kl(mu, logvar)

    def elbo(self, x: Tensor) -> Tensor:
        """Per-example evidence lower bound (β = 1, whatever the training β), (B,)."""
        reconstruction, kl = self.elbo_terms(x)
        return reconstruction - kl

    def train_step(self, batch: Batch, optimizers: Sequence[torch.optim.Optimizer]) -> dict[str, float]:
        (opt,) = optimizers
        reconstruction, kl = self.elbo_terms(self.inputs(batch))
        loss = -(reconstruction - self.beta * kl).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"loss": loss.item(), "reconstruction": -reconstruction.mean().item(), "kl": kl.mean().item()}

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None, noise: bool = True) -> Tensor:
        """Draw x ~ p(x) = ∫ p(x|z) p(z) dz, shape (n, *data_shape).

        noise=False returns the decoder's mean (Gaussian) or pixel probabilities
        (Bernoulli) instead of a draw from p(x|z).
        """
        self._check_n(n)
        z = torch.randn(n, self.latent_dim, device=self.device, generator=generator)
        decoded = self.decode(z)
        if self.likelihood == "gaussian":
            if not noise:
                return decoded
            eps = torch.randn(decoded.shape, device=decoded.device, generator=generator)
            return decoded + self.log_scale.exp() * eps
        probs = torch.sigmoid(decoded)
        return torch.bernoulli(probs, generator=generator) if noise else probs
