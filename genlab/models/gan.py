"""Generative adversarial network (Goodfellow et al., 2014).

A generator G maps noise z ~ N(0, I) to data space; a discriminator D maps a sample
to a logit, the log-odds that it is real. They play

    min_G max_D V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))],

alternating one gradient step for D and one for G.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from genlab import losses
from genlab.models.base import Batch, GenerativeModel
from genlab.nets import MLP


class GAN(GenerativeModel):
    """A GAN around any generator and discriminator.

    Args:
        generator: (B, latent_dim) -> (B, *data_shape).
        discriminator: (B, *data_shape) -> (B, 1) or (B,) logits.
        latent_dim: size of the noise vector z.
        data_shape: shape of one sample, e.g. (2,) or (1, 8, 8).
        loss: generator objective, "non-saturating" (default) or "minimax"; see `genlab.losses`.
        lr, betas: Adam settings shared by both players (Radford et al., 2016 use 2e-4, (0.5, 0.999)).
    """

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        *,
        latent_dim: int,
        data_shape: Sequence[int],
        loss: str = "non-saturating",
        lr: float = 2e-4,
        betas: tuple[float, float] = (0.5, 0.999),
    ) -> None:
        super().__init__()
        if loss not in losses.GAN_LOSSES:
            raise ValueError(f"unknown GAN loss {loss!r}; choose one of {losses.GAN_LOSSES}")
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.data_shape = tuple(data_shape)
        self.loss = loss
        self.lr = lr
        self.betas = betas

    @classmethod
    def mlp(cls, data_dim: int = 2, latent_dim: int = 2, hidden: int = 128, depth: int = 3, **kwargs) -> GAN:
        """Fully connected generator and discriminator, for low-dimensional data such as the ring."""
        return cls(
            MLP(latent_dim, data_dim, hidden, depth),
            MLP(data_dim, 1, hidden, depth, activation=lambda: nn.LeakyReLU(0.2)),
            latent_dim=latent_dim,
            data_shape=(data_dim,),
            **kwargs,
        )

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        """[discriminator optimizer, generator optimizer]."""
        return [
            torch.optim.Adam(self.discriminator.parameters(), lr=self.lr, betas=self.betas),
            torch.optim.Adam(self.generator.parameters(), lr=self.lr, betas=self.betas),
        ]

    def prior(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """z ~ N(0, I), shape (n, latent_dim)."""
        return torch.randn(n, self.latent_dim, device=self.device, generator=generator)

    def logits(self, x: Tensor) -> Tensor:
        """Discriminator logits, shape (B,)."""
        return self.discriminator(x).reshape(x.shape[0])

    def train_step(self, batch: Batch, optimizers: Sequence[torch.optim.Optimizer]) -> dict[str, float]:
        opt_d, opt_g = optimizers
        real = self.inputs(batch)
        fake = self.generator(self.prior(real.shape[0]))

        # Discriminator ascends V: fakes are detached so G is not updated here.
        d_loss = losses.discriminator_loss(self.logits(real), self.logits(fake.detach()))
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()

        # Generator step against the updated discriminator. D's gradients from this
        # backward pass are discarded by its next zero_grad.
        g_loss = losses.generator_loss(self.logits(fake), self.loss)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        return {"d_loss": d_loss.item(), "g_loss": g_loss.item()}

    @torch.no_grad()
    def sample(self, n: int, *, generator: torch.Generator | None = None) -> Tensor:
        """n generated samples, shape (n, *data_shape)."""
        self._check_n(n)
        was_training = self.training
        self.eval()
        x = self.generator(self.prior(n, generator)).reshape(n, *self.data_shape)
        self.train(was_training)
        return x


# At the discriminator's optimum the value function equals -log 4 + 2 JSD(p_data || p_g)
# (Goodfellow et al., 2014, theorem 1); -log 4 is its global minimum.
OPTIMAL_VALUE = -math.log(4)
