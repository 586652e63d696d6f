"""Bidirectional GAN / adversarially learned inference (Donahue et al., 2017; Dumoulin et al., 2017).

A GAN's generator G: z ↦ x comes without an inverse. BiGAN (and, independently, ALI)
learns one — an encoder E: x ↦ z — inside the same game, by letting the discriminator
judge PAIRS (x, z) instead of samples: data with its code, (x, E(x)) with x ~ p_data,
is "real"; a generated sample with the noise that made it, (G(z), z) with
z ~ p(z) = N(0, I), is "fake":

    min_{G,E} max_D  E_x[log D(x, E(x))] + E_z[log(1 − D(G(z), z))]    (Donahue et al., 2017, section 3).

The discriminator can only be fooled when the two joint distributions
p_data(x) q(z|x) and p(z) p(x|z) agree; at that optimum E and G invert each other,
x = G(E(x)) for almost every x (Donahue et al., 2017, section 3) — without any
reconstruction loss: E learns inference from the adversarial signal alone.

G and E are trained together, as one player, with the non-saturating ("inverted labels")
form of the game: they minimise

    −E_z[log D(G(z), z)] − E_x[log(1 − D(x, E(x)))],

the minimax objective with the labels of the two kinds of pair swapped, whose gradients
stay strong while D still wins (Goodfellow et al., 2014, section 3; Donahue et al., 2017,
section 3). The gradient reaches E through D's z-input of the real pairs — E(x) must
therefore never be detached in this step, or the encoder would learn nothing.

The BiGAN encoder is deterministic; ALI's is a Gaussian q(z|x) = N(μ(x), diag σ²(x)) sampled
by reparameterisation, z = μ + σ ⊙ ε (Dumoulin et al., 2017; Kingma & Welling, 2014).
`stochastic_encoder` chooses between the two.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from genlab import noise
from genlab import losses
from genlab.checks import check_betas, check_flag, check_value_range, check_widths
from genlab.models.base import (Batch, CodeEncoder, GenerativeModel, Losses, Optimizers, check_count, check_positive,
                                constructor, probe, probing)
from genlab.nets import MLP, conv_decoder, conv_encoder


class PairDiscriminator(nn.Module):
    """D(x, z): a data branch and a code branch, concatenated and read by a joint network.

    (B, *data_shape), (B, latent_dim) -> (B, 1) logits. Both inputs are needed: D judges the
    pair, so it can tell a code that does not belong to its sample.
    """

    def __init__(self, x_branch: nn.Module, z_branch: nn.Module, joint: nn.Module) -> None:
        super().__init__()
        self.x_branch, self.z_branch, self.joint = x_branch, z_branch, joint

    def forward(self, x: Tensor, z: Tensor) -> Tensor:
        return self.joint(torch.cat([self.x_branch(x).flatten(1), self.z_branch(z).flatten(1)], dim=1))


class BiGAN(CodeEncoder, GenerativeModel):
    """BiGAN / ALI around any generator, encoder and pair discriminator.

    Args:
        generator: (B, latent_dim) -> (B, *data_shape).
        encoder: (B, *data_shape) -> (B, latent_dim), or (B, 2 * latent_dim) — mean and
            log-variance — with `stochastic_encoder`.
        discriminator: D(x, z) -> (B, 1) or (B,) logits, called with two arguments
            (e.g. a `PairDiscriminator`).
        latent_dim: size of z; the prior is N(0, I).
        data_shape: shape of one sample.
        stochastic_encoder: False (default): BiGAN's deterministic E(x). True: ALI's Gaussian
            q(z|x), reparameterised in training; `reconstruct` uses its mean.
        lr, betas: Adam settings of both optimizers (Radford et al., 2016: 2e-4, (0.5, 0.999)).
        value_range: (low, high) the generator's output cannot leave — (-1, 1) behind a Tanh,
            (0, 1) behind a sigmoid — so that `check_data` refuses data outside it; None
            (default) for an unbounded output.

    Optimizers:
        "discriminator": D;
        "generator": G and E together — one player of the game, one loss, one step.
    """

    @constructor
    def __init__(
        self,
        generator: nn.Module,
        encoder: nn.Module,
        discriminator: nn.Module,
        *,
        latent_dim: int,
        data_shape: Sequence[int],
        stochastic_encoder: bool = False,
        lr: float = 2e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        value_range: tuple[float, float] | None = None,
    ) -> None:
        super().__init__()
        check_count(latent_dim, "latent_dim", minimum=1)
        check_flag(stochastic_encoder, "stochastic_encoder")
        check_positive(lr, "lr")
        check_betas(betas)
        if value_range is not None:
            value_range = check_value_range(value_range, "value_range (or None for unbounded data)")
        self.generator = generator
        self.encoder = encoder
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.data_shape = tuple(data_shape)
        self.stochastic_encoder = bool(stochastic_encoder)
        self.lr = lr
        self.betas = tuple(betas)
        self.value_range = value_range
        self.check_shapes()

    @classmethod
    @constructor
    def mlp(
        cls,
        data_dim: int = 2,
        latent_dim: int = 2,
        hidden: int = 128,
        depth: int = 3,
        stochastic_encoder: bool = False,
        **kwargs,
    ) -> BiGAN:
        """Fully connected G, E and D for flat data such as the ring; D reads the concatenation [x, z]."""
        for name, value in (("data_dim", data_dim), ("latent_dim", latent_dim), ("hidden", hidden), ("depth", depth)):
            check_count(value, name, minimum=1)
        check_flag(stochastic_encoder, "stochastic_encoder")
        return cls(
            MLP(latent_dim, data_dim, hidden, depth),
            MLP(data_dim, (2 if stochastic_encoder else 1) * latent_dim, hidden, depth),
            PairDiscriminator(nn.Identity(), nn.Identity(),
                              MLP(data_dim + latent_dim, 1, hidden, depth, activation=lambda: nn.LeakyReLU(0.2))),
            latent_dim=latent_dim,
            data_shape=(data_dim,),
            stochastic_encoder=stochastic_encoder,
            **kwargs,
        )

    @classmethod
    @constructor
    def conv(
        cls,
        image_shape: Sequence[int] = (1, 8, 8),
        latent_dim: int = 32,
        channels: Sequence[int] = (128, 64),
        stochastic_encoder: bool = False,
        hidden: int = 128,
        **kwargs,
    ) -> BiGAN:
        """Convolutional BiGAN for images (C, H, W) with values in [-1, 1].

        G is the DCGAN generator of `GAN.dcgan` (widths `channels`, batch norm, Tanh). E mirrors
        it with strided convolutions (widths `channels` reversed, no batch norm). D has an image
        branch of the same shape ending in `hidden` features, a code branch (an MLP z ↦ `hidden`
        features), and a joint MLP on the two concatenated; LeakyReLU(0.2) throughout and no batch
        norm, so each pair's score depends on that pair alone.
        """
        image_shape = tuple(image_shape)
        if len(image_shape) != 3:
            raise ValueError(f"image_shape must be (channels, height, width), got {image_shape}")
        for name, value in (("latent_dim", latent_dim), ("hidden", hidden)):
            check_count(value, name, minimum=1)
        check_flag(stochastic_encoder, "stochastic_encoder")
        channels = check_widths(channels, "channels")
        leaky = lambda: nn.LeakyReLU(0.2)
        return cls(
            conv_decoder(latent_dim, image_shape, channels, batchnorm=True, out_activation=nn.Tanh()),
            conv_encoder(image_shape, (2 if stochastic_encoder else 1) * latent_dim, channels[::-1]),
            PairDiscriminator(
                nn.Sequential(conv_encoder(image_shape, hidden, channels[::-1]), leaky()),
                nn.Sequential(MLP(latent_dim, hidden, hidden, 1, activation=leaky), leaky()),
                MLP(2 * hidden, 1, hidden, 1, activation=leaky),
            ),
            latent_dim=latent_dim,
            data_shape=image_shape,
            stochastic_encoder=stochastic_encoder,
            value_range=(-1, 1),
            **kwargs,
        )

    def check_shapes(self) -> None:
        """Probe G, E and D with two zero inputs in eval mode; raise ValueError naming the shapes when they
        disagree. Draws no random numbers and leaves batch-norm statistics untouched."""
        with probing(self.generator, self.encoder, self.discriminator) as device:
            z = torch.zeros(2, self.latent_dim, device=device)
            x = torch.zeros(2, *self.data_shape, device=device)
            made = probe(lambda: self.generator(z), "the generator", f"noise of shape (B, {self.latent_dim})")
            if tuple(made.shape[1:]) != self.data_shape:
                raise ValueError(f"the generator makes samples of shape {tuple(made.shape[1:])} but data_shape is "
                                 f"{self.data_shape}; change its output layers (or data_shape) so the two agree")
            width = (2 if self.stochastic_encoder else 1) * self.latent_dim
            code = probe(lambda: self.encoder(x), "the encoder", f"samples of shape {self.data_shape}")
            if tuple(code.shape[1:]) != (width,):
                what = "mean and log-variance" if self.stochastic_encoder else "code"
                raise ValueError(f"the encoder must output {width} numbers per sample (its {what}), "
                                 f"got shape {tuple(code.shape[1:])}")
            scores = probe(lambda: self.discriminator(x, z), "the discriminator",
                           f"pairs (x, z) of shapes {self.data_shape} and ({self.latent_dim},), called as D(x, z)")
            if scores.numel() != 2:
                raise ValueError(f"the discriminator must output one logit per pair, (B,) or (B, 1); "
                                 f"it gave {tuple(scores.shape[1:])} per pair")

    def configure_optimizers(self) -> Optimizers:
        """Adam for D, and one Adam for G and E together: they are one player."""
        ge = [*self.generator.parameters(), *self.encoder.parameters()]
        return {
            "discriminator": torch.optim.Adam(self.discriminator.parameters(), lr=self.lr, betas=self.betas),
            "generator": torch.optim.Adam(ge, lr=self.lr, betas=self.betas),
        }

    # --- data ----------------------------------------------------------------------------

    def check_data(self, x: Tensor) -> None:
        super().check_data(x)
        self._check_inputs(x, "the training data")

    def _check_inputs(self, x: Tensor, name: str) -> None:
        """Raise a ValueError/TypeError naming what is wrong with x for this model."""
        self.check_inputs(x, name, self.value_range, ", the range of the generator's output: rescale the data "
                          "(e.g. genlab.data.digits((-1, 1)))")

    # --- the model -----------------------------------------------------------------------

    def prior(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """n draws z ~ N(0, I), (n, latent_dim), on the model's device."""
        return noise.normal(n, self.latent_dim, device=self.device, generator=generator)

    def logits(self, x: Tensor, z: Tensor) -> Tensor:
        """D's logits that the pairs (x, z) are real, (B,)."""
        return self.discriminator(x, z).reshape(x.shape[0])

    @torch.no_grad()
    def reconstruct(self, x: Tensor) -> Tensor:
        """G(E(x)) in eval mode, (B, *data_shape) -> (B, *data_shape); the posterior mean for ALI's encoder.

        Nothing in training asks for x ≈ G(E(x)): how close they are measures how well the game
        made E and G inverses.
        """
        self._check_inputs(x, "x")
        with self.evaluating():
            return self.generator(self.posterior(x)[0])

    # --- training ----------------------------------------------------------------------------

    def train_step(self, batch: Batch, optimizers: Optimizers, step: int) -> Losses:
        opt_d, opt_ge = optimizers["discriminator"], optimizers["generator"]
        x = self.inputs(batch)
        z = self.prior(x.shape[0])
        z_hat = self.code(x)  # (x, E(x)): the real pair
        x_hat = self.generator(z)  # (G(z), z): the fake pair

        # d_loss → D only (update()'s routing); the detaches save work only: no walk back through G or E.
        d_loss = losses.discriminator_loss(self.logits(x, z_hat.detach()), self.logits(x_hat.detach(), z))
        self.optimizer_step(opt_d, d_loss)

        # G and E against the updated D, labels swapped (non-saturating): −log D(G(z), z) for the fake
        # pairs and −log(1 − D(x, E(x))) = generator_loss(−logit) for the real ones. E(x) keeps its
        # graph: the encoder learns only through this second term.
        g_loss = losses.generator_loss(self.logits(x_hat, z)) + losses.generator_loss(-self.logits(x, z_hat))
        self.optimizer_step(opt_ge, g_loss)  # g_loss → G and E only, though it passes through D
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}

    # --- sampling ----------------------------------------------------------------------------

    @torch.no_grad()
    def sample(self, n: int, *, condition: Tensor | None = None, generator: torch.Generator | None = None) -> Tensor:
        """n generated samples G(z), z ~ N(0, I), shape (n, *data_shape), drawn in eval mode."""
        self._check_n(n, condition, generator)
        with self.evaluating():
            return self.generator(self.prior(n, generator)).reshape(n, *self.data_shape)
