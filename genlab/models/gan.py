"""Generative adversarial network (Goodfellow et al., 2014).

A generator G maps noise z ~ N(0, I) to data space; a discriminator D maps a sample
to a score — for the original GAN a logit, the log-odds that the sample is real. They play

    min_G max_D V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))],

alternating gradient steps for D and for G. The same loop trains the later variants
that change only the two losses (hinge, Wasserstein with gradient penalty); see
`genlab.losses` and the `loss` argument below.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from genlab import losses
from genlab.models.base import Batch, GenerativeModel
from genlab.nets import MLP, conv_decoder, conv_encoder


class GAN(GenerativeModel):
    """A GAN around any generator and discriminator.

    Args:
        generator: (B, latent_dim) -> (B, *data_shape).
        discriminator: (B, *data_shape) -> (B, 1) or (B,) scores (logits for the original GAN).
        latent_dim: size of the noise vector z.
        data_shape: shape of one sample, e.g. (2,) or (1, 8, 8).
        loss: "non-saturating" (default), "minimax", "hinge" or "wgan-gp"; see `genlab.losses`.
        lr, betas: Adam settings shared by both players (Radford et al., 2016 use 2e-4, (0.5, 0.999);
            Gulrajani et al., 2017 use 1e-4, (0, 0.9) with d_steps=5 for WGAN-GP).
        d_steps: discriminator (critic) updates per generator update. Each critic step draws
            fresh noise; the real batch is the same for all of them (one batch per `train_step`).
        gp_weight: λ of the gradient penalty, used only by "wgan-gp" (Gulrajani et al., 2017: 10).

    Raises:
        ValueError: for an unknown loss or impossible settings, and — from one probe forward
            pass at construction — when the generator's samples do not have shape `data_shape`
            or the discriminator cannot score them; the message names both shapes.
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
        d_steps: int = 1,
        gp_weight: float = 10.0,
    ) -> None:
        super().__init__()
        if loss not in losses.GAN_LOSSES:
            raise ValueError(f"unknown GAN loss {loss!r}; choose one of {losses.GAN_LOSSES}")
        if not isinstance(d_steps, int) or d_steps < 1:
            raise ValueError(f"d_steps must be a positive integer, got {d_steps!r}")
        if not gp_weight >= 0:
            raise ValueError(f"gp_weight must be non-negative, got {gp_weight!r}")
        if not isinstance(latent_dim, int) or latent_dim < 1:
            raise ValueError(f"latent_dim must be a positive integer, got {latent_dim!r}")
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.data_shape = tuple(data_shape)
        self.loss = loss
        self.lr = lr
        self.betas = betas
        self.d_steps = d_steps
        self.gp_weight = gp_weight
        self.check_shapes()

    @classmethod
    def mlp(
        cls,
        data_dim: int = 2,
        latent_dim: int = 2,
        hidden: int = 128,
        depth: int = 3,
        spectral_norm: bool = False,
        **kwargs,
    ) -> GAN:
        """Fully connected generator and discriminator, for low-dimensional data such as the ring.

        `spectral_norm=True` normalises every layer of the discriminator (Miyato et al., 2018).
        """
        return cls(
            MLP(latent_dim, data_dim, hidden, depth),
            MLP(data_dim, 1, hidden, depth, activation=lambda: nn.LeakyReLU(0.2), spectral_norm=spectral_norm),
            latent_dim=latent_dim,
            data_shape=(data_dim,),
            **kwargs,
        )

    @classmethod
    def dcgan(
        cls,
        image_shape: Sequence[int] = (1, 8, 8),
        latent_dim: int = 32,
        channels: Sequence[int] = (128, 64),
        spectral_norm: bool = False,
        **kwargs,
    ) -> GAN:
        """A DCGAN (Radford et al., 2016) for images (C, H, W) with values in [-1, 1].

        The generator projects z to a (channels[0], H/2^L, W/2^L) map and doubles it with
        transposed convolutions, batch norm and ReLU, ending in Tanh; the discriminator mirrors
        it with strided convolutions and LeakyReLU(0.2), widths channels reversed. H and W must
        be multiples of 2^L, L = len(channels): with two layers 8×8 and 28×28 both work.
        The discriminator has no batch norm, so each sample's score depends on that sample
        only — which the gradient penalty assumes — and `spectral_norm` can be used instead.
        """
        image_shape = tuple(image_shape)
        if len(image_shape) != 3:
            raise ValueError(f"image_shape must be (channels, height, width), got {image_shape}")
        channels = tuple(channels)
        return cls(
            conv_decoder(latent_dim, image_shape, channels, batchnorm=True, out_activation=nn.Tanh()),
            conv_encoder(image_shape, 1, channels[::-1], spectral_norm=spectral_norm),
            latent_dim=latent_dim,
            data_shape=image_shape,
            **kwargs,
        )

    @torch.no_grad()
    def check_shapes(self) -> None:
        """Probe both networks with two zero inputs; raise ValueError naming the shapes if they disagree.

        Runs in eval mode, so batch norm statistics and spectral-norm power iterations are untouched,
        and draws no random numbers.
        """
        param = next(self.generator.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
        g_mode, d_mode = self.generator.training, self.discriminator.training
        self.generator.eval()
        self.discriminator.eval()
        try:
            z = torch.zeros(2, self.latent_dim, device=device)
            try:
                fake = self.generator(z)
            except RuntimeError as err:
                raise ValueError(f"the generator cannot take noise of shape (B, {self.latent_dim}): {err}") from err
            made = tuple(fake.shape[1:])
            if made != self.data_shape:
                raise ValueError(
                    f"the generator makes samples of shape {made} but data_shape is {self.data_shape}; "
                    f"the discriminator and the data need {self.data_shape}: change the generator's output "
                    f"layers (or data_shape) so the two agree"
                )
            try:
                scores = self.discriminator(fake)
            except RuntimeError as err:
                raise ValueError(
                    f"the discriminator cannot take samples of shape {self.data_shape}, the shape the "
                    f"generator makes and data_shape: {err}"
                ) from err
            if scores.numel() != 2:
                raise ValueError(
                    f"the discriminator must output one score per sample, (B,) or (B, 1); for samples of "
                    f"shape {self.data_shape} it gave {tuple(scores.shape[1:])} per sample"
                )
        finally:
            self.generator.train(g_mode)
            self.discriminator.train(d_mode)

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
        """Discriminator outputs (logits, or critic scores for hinge and WGAN-GP), (B, *data_shape) -> (B,)."""
        return self.discriminator(x).reshape(x.shape[0])

    def discriminator_step(self, real: Tensor, fake: Tensor, opt_d: torch.optim.Optimizer) -> dict[str, float]:
        """One update of D on real samples and (detached) generated samples; returns its losses."""
        # Fakes are detached so this step does not reach G's weights.
        d_loss = losses.discriminator_loss(self.logits(real), self.logits(fake.detach()), self.loss)
        out = {}
        if self.loss == "wgan-gp":
            # Keep the critic close to 1-Lipschitz (Gulrajani et al., 2017, eq. 3).
            gp = losses.gradient_penalty(self.logits, real, fake)
            d_loss = d_loss + self.gp_weight * gp
            out["gp"] = gp.item()
        self.optimizer_step(opt_d, d_loss)
        return {"d_loss": d_loss.item(), **out}

    def train_step(self, batch: Batch, optimizers: Sequence[torch.optim.Optimizer]) -> dict[str, float]:
        opt_d, opt_g = optimizers
        real = self.inputs(batch)
        # d_steps - 1 extra critic updates, each on fresh fakes; no graph through G is needed there.
        for _ in range(self.d_steps - 1):
            with torch.no_grad():
                fake = self.generator(self.prior(real.shape[0]))
            self.discriminator_step(real, fake, opt_d)
        # The last critic step's fakes keep their graph and are reused for the generator step.
        fake = self.generator(self.prior(real.shape[0]))
        out = self.discriminator_step(real, fake, opt_d)

        # Generator step against the updated discriminator. D's gradients from this
        # backward pass are discarded by its next zero_grad.
        g_loss = losses.generator_loss(self.logits(fake), self.loss)
        self.optimizer_step(opt_g, g_loss)
        return {**out, "g_loss": g_loss.item()}

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
