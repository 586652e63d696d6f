"""VAE-GAN: a VAE whose reconstruction error is measured by a GAN's discriminator (Larsen et al., 2016).

A VAE compares a reconstruction x̃ = Dec(z), z ~ q(z|x), with x pixel by pixel, and a
factorised pixel likelihood is best served by a blurred average (chapter 5). VAE-GAN keeps
the VAE's encoder, prior and KL term, adds a discriminator Dis, and measures reconstruction
in the space of the discriminator's hidden features Dis_l, where a slightly shifted stroke
is close and a blurred one is far:

    L_prior = KL(q(z|x) || p(z))
    L_llike = −E_q[log N(Dis_l(x); Dis_l(x̃), I)] = ½ ||Dis_l(x) − Dis_l(x̃)||² + const
    L_GAN   = log Dis(x) + log(1 − Dis(x̃)) + log(1 − Dis(x_p)),   x_p = Dec(z_p), z_p ~ p(z)

(Larsen et al., 2016, eqs. 4–7). The three networks are trained on three losses from one
forward pass (their algorithm 1):

    encoder:        L_prior + L_llike
    decoder:        γ · L_llike − L_GAN     (here with the non-saturating form of −L_GAN)
    discriminator:  −L_GAN

The decoder *minimises* −L_GAN: it wants the discriminator fooled. Copying its GAN term with
the wrong sign (+L_GAN) trains the decoder to make the fakes easy to spot.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genlab import noise
from genlab import losses
from genlab.checks import check_betas, check_count, check_interval, check_non_negative, check_positive, check_widths
from genlab.losses import reparameterize
from genlab.models.base import (Batch, GenerativeModel, Losses, Optimizers, check_gaussian_encoder, constructor,
                                probe, probing)
from genlab.nets import MLP, conv_decoder, conv_encoder


class FeatureDiscriminator(nn.Sequential):
    """The discriminator's layers, called for both of its outputs at once: x ↦ (Dis_l(x), logit).

    Dis_l(x), the output of every layer but the last, flattened to (B, F), is what VAE-GAN
    compares reconstructions in; the last layer maps it to one logit per sample, (B,). One call
    gives both, so the network is only ever used through its forward (as DistributedDataParallel
    requires when `fit` runs under torchrun).
    """

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = x
        for layer in list(self)[:-1]:
            h = layer(h)
        features = h.flatten(1)
        return features, self[-1](features).reshape(x.shape[0])


class VAEGAN(GenerativeModel):
    """Encoder q(z|x), decoder (the generator) and a discriminator whose last hidden layer is Dis_l.

    Args:
        encoder: (B, *data_shape) -> (B, 2 * latent_dim): mean and log-variance of q(z|x).
        decoder: (B, latent_dim) -> (B, *data_shape), in the data's range.
        discriminator: an nn.Sequential whose last module maps the features Dis_l to one logit;
            everything before it computes Dis_l(x). Its layers are kept in a `FeatureDiscriminator`,
            whose one forward call returns both.
        latent_dim, data_shape: sizes.
        gamma: γ, the weight of the feature reconstruction in the decoder's loss against
            fooling the discriminator.
        beta: weight of the KL term in the encoder's loss (1 in the paper).
        lr, betas: Adam settings of all three optimizers.
        data_range: the interval the data and the decoder's outputs lie in.

    Raises:
        ValueError: for impossible settings, and — from one probe forward pass at construction — when
            the encoder does not output 2 * latent_dim numbers per sample, the decoder does not make
            samples of `data_shape`, or the discriminator cannot score them with one logit each; the
            message names the network and the expected and actual shapes.
    """

    @constructor
    def __init__(
        self,
        encoder: nn.Module,
        decoder: nn.Module,
        discriminator: nn.Sequential,
        *,
        latent_dim: int,
        data_shape: Sequence[int],
        gamma: float = 1.0,
        beta: float = 1.0,
        lr: float = 2e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        data_range: tuple[float, float] = (-1.0, 1.0),
    ) -> None:
        super().__init__()
        check_count(latent_dim, "latent_dim", minimum=1)
        check_positive(gamma, "gamma")
        check_positive(lr, "lr")
        check_non_negative(beta, "beta")
        check_betas(betas)
        check_interval(data_range, "data_range")
        if not isinstance(discriminator, nn.Sequential) or len(discriminator) < 2:
            raise TypeError("discriminator must be an nn.Sequential of feature layers followed by a final logit layer")
        self.encoder, self.decoder = encoder, decoder
        self.discriminator = FeatureDiscriminator(OrderedDict(discriminator.named_children()))
        self.latent_dim, self.data_shape = latent_dim, tuple(data_shape)
        self.gamma, self.beta, self.lr, self.betas = gamma, beta, lr, tuple(betas)
        self.data_range = tuple(data_range)
        self.check_shapes()

    @classmethod
    @constructor
    def mlp(cls, data_dim: int = 2, latent_dim: int = 2, hidden: int = 128, depth: int = 3, **kwargs) -> VAEGAN:
        """Fully connected networks for flat data such as the ring (data_range defaults to the reals)."""
        for name, value in (("data_dim", data_dim), ("latent_dim", latent_dim), ("hidden", hidden), ("depth", depth)):
            check_count(value, name, minimum=1)
        kwargs.setdefault("data_range", (-float("inf"), float("inf")))
        return cls(
            MLP(data_dim, 2 * latent_dim, hidden, depth),
            MLP(latent_dim, data_dim, hidden, depth),
            MLP(data_dim, 1, hidden, depth, activation=lambda: nn.LeakyReLU(0.2)),
            latent_dim=latent_dim,
            data_shape=(data_dim,),
            **kwargs,
        )

    @classmethod
    @constructor
    def dcgan(
        cls,
        image_shape: Sequence[int] = (1, 8, 8),
        latent_dim: int = 32,
        channels: Sequence[int] = (64, 32),
        **kwargs,
    ) -> VAEGAN:
        """DCGAN networks for images in [-1, 1]: the generator of `GAN.dcgan` as the decoder, its
        discriminator (features = the flattened last convolution) and a mirrored encoder."""
        image_shape, channels = tuple(image_shape), check_widths(channels, "channels")
        if len(image_shape) != 3:
            raise ValueError(f"image_shape must be (channels, height, width), got {image_shape}")
        check_count(latent_dim, "latent_dim", minimum=1)
        return cls(
            conv_encoder(image_shape, 2 * latent_dim, channels[::-1]),
            conv_decoder(latent_dim, image_shape, channels, batchnorm=True, out_activation=nn.Tanh()),
            conv_encoder(image_shape, 1, channels[::-1]),
            latent_dim=latent_dim,
            data_shape=image_shape,
            **kwargs,
        )

    def check_shapes(self) -> None:
        """Probe the three networks with two zero inputs in eval mode; raise ValueError naming the expected
        and the actual shape when they disagree with latent_dim and data_shape. Draws no random numbers
        and leaves batch-norm statistics untouched."""
        with probing(self.encoder, self.decoder, self.discriminator) as device:
            x = torch.zeros(2, *self.data_shape, device=device)
            out = probe(lambda: self.encoder(x), "the encoder", f"samples of shape {self.data_shape}")
            check_gaussian_encoder(out, self.latent_dim)
            z = torch.zeros(2, self.latent_dim, device=device)
            made = probe(lambda: self.decoder(z), "the decoder", f"codes of shape (B, {self.latent_dim})")
            if made.numel() != 2 * math.prod(self.data_shape):
                raise ValueError(
                    f"the decoder makes samples of shape {tuple(made.shape[1:])} but data_shape is {self.data_shape}; "
                    f"the discriminator and the data need {self.data_shape}: change the decoder's output layers "
                    f"(or data_shape) so the two agree"
                )
            *body, last = self.discriminator
            features = probe(lambda: nn.Sequential(*body)(x).flatten(1), "the discriminator's feature layers",
                             f"samples of shape {self.data_shape}")
            logits = probe(lambda: last(features), "the discriminator's last layer",
                           f"the features Dis_l(x) of shape (B, {features.shape[1]})")
            if logits.numel() != 2:
                raise ValueError(
                    f"the discriminator's last layer must output one logit per sample, (B,) or (B, 1); for "
                    f"features of shape (B, {features.shape[1]}) it gave {tuple(logits.shape[1:])} per sample"
                )

    def configure_optimizers(self) -> Optimizers:
        adam = lambda net: torch.optim.Adam(net.parameters(), lr=self.lr, betas=self.betas)
        return {"encoder": adam(self.encoder), "decoder": adam(self.decoder), "discriminator": adam(self.discriminator)}

    def check_data(self, x: Tensor) -> None:
        super().check_data(x)
        self.check_inputs(x, "the data", self.data_range, ", the range of the decoder's outputs: rescale it "
                          "(genlab.data.digits((-1, 1)) for digits)")

    # --- the networks ------------------------------------------------------------------------

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """q(z|x): mean and log-variance, each (B, latent_dim)."""
        mu, logvar = self.encoder(x).chunk(2, dim=-1)
        return mu, logvar

    def decode(self, z: Tensor) -> Tensor:
        return self.decoder(z).reshape(z.shape[0], *self.data_shape)

    def features(self, x: Tensor) -> Tensor:
        """Dis_l(x): the discriminator's last hidden layer, flattened, (B, F)."""
        return self.discriminator(x)[0]

    def logits(self, x: Tensor) -> Tensor:
        """The discriminator's logits, (B,)."""
        return self.discriminator(x)[1]

    # --- training ----------------------------------------------------------------------------

    def losses(self, x: Tensor) -> dict[str, Tensor]:
        """The three players' losses from one forward pass (Larsen et al., 2016, algorithm 1)."""
        mu, logvar = self.encode(x)
        x_tilde = self.decode(reparameterize(mu, logvar))
        x_prior = self.decode(noise.normal(x.shape[0], self.latent_dim, device=x.device, dtype=x.dtype))
        kl = losses.gaussian_kl(mu, logvar).mean()
        (f_real, real), (f_tilde, tilde) = self.discriminator(x), self.discriminator(x_tilde)
        # −log N(Dis_l(x); Dis_l(x̃), I) up to a constant, per example
        feature_nll = 0.5 * (f_real - f_tilde).pow(2).sum(dim=1).mean()
        prior = self.logits(x_prior)
        # −L_GAN for the discriminator: real digits are real, reconstructions and prior samples fake
        d_loss = F.softplus(-real).mean() + F.softplus(tilde).mean() + F.softplus(prior).mean()
        # the decoder wants both kinds of fakes taken for real (non-saturating form of −L_GAN)
        fool = losses.generator_loss(tilde) + losses.generator_loss(prior)
        return {
            "encoder": self.beta * kl + feature_nll,
            "decoder": self.gamma * feature_nll + fool,
            "discriminator": d_loss,
            "kl": kl,
            "feature_nll": feature_nll,
        }

    def train_step(self, batch: Batch, optimizers: Optimizers, step: int) -> Losses:
        """The three players' updates from one forward pass, with no .detach() anywhere: update() sends
        each loss into its own network's parameters only (see `Trainable.update`)."""
        out = self.losses(self.inputs(batch))
        # Gradients: "encoder" (β KL + feature NLL) → the encoder only, though it passes through the
        # decoder and Dis_l; "decoder" (γ feature NLL + fooling) → the decoder only, though it passes
        # through the discriminator; "discriminator" → the discriminator only, though x̃ and x_p carry
        # the decoder's and encoder's graphs. In a plain loop each loss needs backward(inputs=...) for this.
        self.update({optimizers[name]: out[name] for name in ("encoder", "decoder", "discriminator")})
        return {name: value.detach() for name, value in out.items()}

    # --- using the model ---------------------------------------------------------------------

    @torch.no_grad()
    def sample(self, n: int, *, condition: Tensor | None = None, generator: torch.Generator | None = None) -> Tensor:
        """n samples Dec(z), z ~ N(0, I), shape (n, *data_shape), in eval mode."""
        self._check_n(n, condition, generator)
        with self.evaluating():
            return self.decode(torch.randn(n, self.latent_dim, device=self.device, generator=generator))

    @torch.no_grad()
    def reconstruct(self, x: Tensor) -> Tensor:
        """Dec(μ(x)): the decoded posterior mean, (B, *data_shape), in eval mode."""
        self.check_data(x)
        with self.evaluating():
            return self.decode(self.encode(x)[0])
