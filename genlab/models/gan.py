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

from genlab import noise
from genlab import losses
from genlab.checks import check_betas, check_flag, check_fraction, check_non_negative, check_widths
from genlab.models.base import (Batch, GenerativeModel, Losses, Optimizers, check_count, check_positive, constructor,
                                probe, probing)
from genlab.models import rejection
from genlab.models.averaging import frozen_copy, update_average
from genlab.nets import MLP, attach_condition, conv_decoder, conv_encoder


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
        pack: PacGAN packing degree m (Lin et al., 2018): the discriminator judges m samples at
            once — all real or all generated — concatenated along the first data axis, so it must
            take inputs of shape (m * data_shape[0], *data_shape[1:]). A generator that repeats
            itself is easier to catch among m of its samples than in one. Batch sizes must be
            multiples of m. 1 is the ordinary GAN.
        categories: K > 0 adds a discrete latent code: z = [one_hot(c), ε] with c uniform on K
            categories and ε ~ N(0, I_latent_dim), so the generator takes latent_dim + K inputs
            (as in InfoGAN's categorical code, Chen et al., 2016, without its information term;
            a generator with one shared body per category as in MGAN, Hoang et al., 2018). Each
            category's samples can sit in one mode without a continuous path between modes.
        classes: K > 0 makes a conditional GAN (cGAN, Mirza & Osindero, 2014): the data are
            (samples, labels) pairs, the generator takes the one-hot label with its noise and
            the discriminator judges a sample together with its label (`genlab.nets.attach_condition`),
            so the generator must make samples of the class it is asked for:
            `sample(n, condition=labels)`. Not with packing.
        ema: with a decay β in (0, 1), keep an exponential moving average of the generator's
            weights, θ̄ ← β θ̄ + (1 − β) θ after every generator update, and sample from it
            (Yazıcı et al., 2019). Averaging cancels the oscillation of the iterates around the
            equilibrium that the two-player game causes; 0 (default) samples from G itself.
        d_lr: the discriminator's learning rate when it should differ from the generator's — the
            two time-scale update rule (TTUR, Heusel et al., 2017); None (default) uses `lr`.
        r1_weight: γ of the R1 penalty (Mescheder et al., 2018): γ/2 · E_x||∇_x D(x)||² on the real
            batch is added to the discriminator's loss (`genlab.losses.r1_penalty`); the paper uses
            γ = 10. 0 (default) turns it off.

    Raises:
        ValueError: for an unknown loss or impossible settings, and — from one probe forward
            pass at construction — when the generator's samples do not have shape `data_shape`
            or the discriminator cannot score them; the message names both shapes.
    """

    @constructor
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
        pack: int = 1,
        categories: int = 0,
        classes: int = 0,
        ema: float = 0.0,
        d_lr: float | None = None,
        r1_weight: float = 0.0,
    ) -> None:
        super().__init__()
        if loss not in losses.GAN_LOSSES:
            raise ValueError(f"unknown GAN loss {loss!r}; choose one of {losses.GAN_LOSSES}")
        check_count(d_steps, "d_steps", minimum=1)
        check_non_negative(gp_weight, "gp_weight")
        check_non_negative(r1_weight, "r1_weight", hint="0 turns the R1 penalty off")
        check_count(latent_dim, "latent_dim", minimum=1)
        check_count(pack, "pack", minimum=1)
        check_count(categories, "categories")
        check_count(classes, "classes")
        if classes and pack > 1:
            raise ValueError("a conditional GAN (classes > 0) cannot pack samples: use pack=1")
        check_positive(lr, "lr")
        check_betas(betas)
        if d_lr is not None:
            check_positive(d_lr, "d_lr (or None for the generator's lr)")
        check_fraction(ema, "ema", hint="0 turns the average off")
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.data_shape = tuple(data_shape)
        self.loss = loss
        self.lr = lr
        self.d_lr = lr if d_lr is None else d_lr
        self.betas = betas
        self.d_steps = d_steps
        self.gp_weight = gp_weight
        self.r1_weight = r1_weight
        self.pack = pack
        self.categories = categories
        self.classes = classes
        self.ema = ema
        self.check_shapes()
        # The averaged generator is a frozen copy: it is saved in checkpoints with the rest.
        self.generator_ema = frozen_copy(generator) if ema else None

    @property
    def input_dim(self) -> int:
        """Size of the generator's input: the noise plus the one-hot code and label, if any."""
        return self.latent_dim + self.categories + self.classes

    @classmethod
    @constructor
    def mlp(
        cls,
        data_dim: int = 2,
        latent_dim: int = 2,
        hidden: int = 128,
        depth: int = 3,
        spectral_norm: bool = False,
        pack: int = 1,
        categories: int = 0,
        classes: int = 0,
        **kwargs,
    ) -> GAN:
        """Fully connected generator and discriminator, for low-dimensional data such as the ring.

        `spectral_norm=True` normalises every layer of the discriminator (Miyato et al., 2018).
        With `pack=m` the discriminator reads m samples side by side, (B/m, m * data_dim).
        """
        for name, value, minimum in (("data_dim", data_dim, 1), ("latent_dim", latent_dim, 1), ("hidden", hidden, 1),
                                     ("depth", depth, 1), ("pack", pack, 1), ("categories", categories, 0),
                                     ("classes", classes, 0)):
            check_count(value, name, minimum=minimum)
        check_flag(spectral_norm, "spectral_norm")
        return cls(
            MLP(latent_dim + categories + classes, data_dim, hidden, depth),
            MLP(pack * data_dim + classes, 1, hidden, depth, activation=lambda: nn.LeakyReLU(0.2),
                spectral_norm=spectral_norm),
            latent_dim=latent_dim,
            data_shape=(data_dim,),
            pack=pack,
            categories=categories,
            classes=classes,
            **kwargs,
        )

    @classmethod
    @constructor
    def dcgan(
        cls,
        image_shape: Sequence[int] = (1, 8, 8),
        latent_dim: int = 32,
        channels: Sequence[int] = (128, 64),
        spectral_norm: bool = False,
        pack: int = 1,
        categories: int = 0,
        classes: int = 0,
        **kwargs,
    ) -> GAN:
        """A DCGAN (Radford et al., 2016) for images (C, H, W) with values in [-1, 1].

        The generator projects z to a (channels[0], H/2^L, W/2^L) map and doubles it with
        transposed convolutions, batch norm and ReLU, ending in Tanh; the discriminator mirrors
        it with strided convolutions and LeakyReLU(0.2), widths channels reversed. With `pack=m`
        it reads m images stacked along the channel axis, (B/m, m * C, H, W) (PacDCGAN). H and W must
        be multiples of 2^L, L = len(channels): with two layers 8×8 and 28×28 both work.
        The discriminator has no batch norm, so each sample's score depends on that sample
        only — which the gradient penalty assumes — and `spectral_norm` can be used instead.
        """
        image_shape = tuple(image_shape)
        if len(image_shape) != 3:
            raise ValueError(f"image_shape must be (channels, height, width), got {image_shape}")
        for name, value, minimum in (("latent_dim", latent_dim, 1), ("pack", pack, 1), ("categories", categories, 0),
                                     ("classes", classes, 0)):
            check_count(value, name, minimum=minimum)
        check_flag(spectral_norm, "spectral_norm")
        channels = check_widths(channels, "channels")
        c, h, w = image_shape
        return cls(
            conv_decoder(latent_dim + categories + classes, image_shape, channels, batchnorm=True,
                         out_activation=nn.Tanh()),
            conv_encoder((pack * c + classes, h, w), 1, channels[::-1], spectral_norm=spectral_norm),
            latent_dim=latent_dim,
            data_shape=image_shape,
            pack=pack,
            categories=categories,
            classes=classes,
            **kwargs,
        )

    def check_shapes(self) -> None:
        """Probe both networks with two zero inputs; raise ValueError naming the shapes if they disagree.

        Runs in eval mode, so batch norm statistics and spectral-norm power iterations are untouched,
        and draws no random numbers.
        """
        with probing(self.generator, self.discriminator) as device:
            z = torch.zeros(2 * self.pack, self.input_dim, device=device)
            labels = torch.zeros(2, dtype=torch.long, device=device) if self.classes else None
            fake = probe(lambda: self.generator(z), "the generator", f"noise of shape (B, {self.input_dim})")
            made = tuple(fake.shape[1:])
            if made != self.data_shape:
                raise ValueError(
                    f"the generator makes samples of shape {made} but data_shape is {self.data_shape}; "
                    f"the discriminator and the data need {self.data_shape}: change the generator's output "
                    f"layers (or data_shape) so the two agree"
                )
            packed = attach_condition(self.packed(fake), labels, self.classes)
            packing = f" packed {self.pack} at a time as {tuple(packed.shape[1:])}" if self.pack > 1 else ""
            scores = probe(lambda: self.discriminator(packed), "the discriminator",
                           f"samples of shape {self.data_shape}{packing}, the shape the generator makes and "
                           f"data_shape")
            if scores.numel() != 2:
                raise ValueError(
                    f"the discriminator must output one score per sample, (B,) or (B, 1); for samples of "
                    f"shape {tuple(packed.shape[1:])} it gave {tuple(scores.shape[1:])} per sample"
                )

    def configure_optimizers(self) -> Optimizers:
        """One Adam optimizer per player (the discriminator's at `d_lr`)."""
        return {
            "discriminator": torch.optim.Adam(self.discriminator.parameters(), lr=self.d_lr, betas=self.betas),
            "generator": torch.optim.Adam(self.generator.parameters(), lr=self.lr, betas=self.betas),
        }

    def prior(self, n: int, generator: torch.Generator | None = None, labels: Tensor | None = None) -> Tensor:
        """The generator's input, shape (n, input_dim): z ~ N(0, I), after the one-hot code (if any)
        and the one-hot class labels of a conditional GAN."""
        eps = noise.normal(n, self.latent_dim, device=self.device, generator=generator)
        if self.categories:
            c = noise.integers(self.categories, n, device=self.device, generator=generator)
            eps = torch.cat([nn.functional.one_hot(c, self.categories).to(eps.dtype), eps], dim=1)
        return attach_condition(eps, labels, self.classes) if self.classes else eps

    def packed(self, x: Tensor) -> Tensor:
        """Group consecutive samples m = pack at a time: (B, C, ...) -> (B/m, m * C, ...)."""
        if x.shape[0] % self.pack:
            raise ValueError(f"with pack={self.pack} the batch size must be a multiple of {self.pack}, got {x.shape[0]}")
        return x.reshape(x.shape[0] // self.pack, self.pack * x.shape[1], *x.shape[2:])

    def logits(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        """Discriminator outputs (logits, or critic scores for hinge and WGAN-GP), (B, *data_shape) -> (B / pack,).

        A conditional GAN's discriminator judges each sample with its label.
        """
        return self._scores(attach_condition(self.packed(x), labels, self.classes))

    def _scores(self, packed: Tensor) -> Tensor:
        return self.discriminator(packed).reshape(packed.shape[0])

    def discriminator_step(
        self, real: Tensor, fake: Tensor, opt_d: torch.optim.Optimizer, labels: Tensor | None = None
    ) -> Losses:
        """One update of D on real samples and (detached) generated samples, both of class `labels`.

        d_loss reaches D's parameters only: update() routes it there (see `Trainable.update`).
        """
        # The detach saves work only: update() keeps d_loss out of G anyway; without it autograd
        # would still walk the graph back through G, whose parameters this step does not train.
        d_loss = losses.discriminator_loss(self.logits(real, labels), self.logits(fake.detach(), labels), self.loss)
        out = {}
        # Both penalties differentiate D with respect to its (packed) input, the data only: a
        # conditional GAN's label is attached inside the critic.
        critic = self._scores if labels is None else (lambda x: self._scores(attach_condition(x, labels, self.classes)))
        if self.loss == "wgan-gp":
            # Keep the critic close to 1-Lipschitz (Gulrajani et al., 2017, eq. 3).
            gp = losses.gradient_penalty(critic, self.packed(real), self.packed(fake))
            d_loss = d_loss + self.gp_weight * gp
            out["gp"] = gp.detach()
        if self.r1_weight:
            r1 = losses.r1_penalty(critic, self.packed(real))
            d_loss = d_loss + self.r1_weight / 2 * r1
            out["r1"] = r1.detach()
        self.optimizer_step(opt_d, d_loss)
        return {"d_loss": d_loss.detach(), **out}

    def train_step(self, batch: Batch, optimizers: Optimizers, step: int) -> Losses:
        """d_steps updates of D, then one of G. Gradients: d_loss → D only, g_loss → G only (update()'s routing)."""
        opt_d, opt_g = optimizers["discriminator"], optimizers["generator"]
        real, labels = self.inputs(batch), self.batch_labels(batch)  # labels: None unless conditional
        if real.shape[0] % self.pack:
            raise ValueError(f"with pack={self.pack} the batch size must be a multiple of {self.pack}, got {real.shape[0]}")
        # d_steps - 1 extra critic updates, each on fresh fakes; no graph through G is needed there
        # (no_grad saves memory and time; the gradients would be D's alone either way).
        for _ in range(self.d_steps - 1):
            with torch.no_grad():
                fake = self.generator(self.prior(real.shape[0], labels=labels))
            self.discriminator_step(real, fake, opt_d, labels)
        # The last critic step's fakes keep their graph and are reused for the generator step.
        fake = self.generator(self.prior(real.shape[0], labels=labels))
        out = self.discriminator_step(real, fake, opt_d, labels)

        # Generator step against the updated discriminator: g_loss passes through D, but update()
        # back-propagates it into G's weights only, so D is neither moved nor left with gradients.
        g_loss = losses.generator_loss(self.logits(fake, labels), self.loss)
        self.optimizer_step(opt_g, g_loss)
        if self.generator_ema is not None:
            self.update_ema()
        return {**out, "g_loss": g_loss.detach()}

    def update_ema(self) -> None:
        """θ̄ ← β θ̄ + (1 − β) θ for the averaged generator; its buffers (batch-norm statistics) are copied."""
        update_average(self.generator_ema, self.generator, self.ema, copy_buffers=True)

    @property
    def sampler(self) -> nn.Module:
        """The network that `sample` uses: the averaged generator when `ema` is set, else G."""
        return self.generator_ema if self.generator_ema is not None else self.generator

    @torch.no_grad()
    def sample(self, n: int, *, condition: Tensor | None = None, generator: torch.Generator | None = None) -> Tensor:
        """n generated samples, shape (n, *data_shape), drawn in eval mode.

        A conditional GAN draws samples of the classes in `condition` ((n,) labels), or of
        uniformly drawn classes when it is None.
        """
        self._check_n(n, condition, generator)
        labels = self.sample_labels(n, condition, generator)
        with self.evaluating():
            return self.sampler(self.prior(n, generator, labels)).reshape(n, *self.data_shape)

    def rejection_sample(self, n: int, *, quantile: float = 0.8, burn_in: int = 10_000, batch_size: int = 10_000,
                         generator: torch.Generator | None = None) -> Tensor:
        """n samples kept by discriminator rejection sampling (DRS, Azadi et al., 2019), (n, *data_shape):
        see `genlab.models.rejection`. A larger `quantile` (of the burn-in's scores) rejects more."""
        self._check_n(n, generator=generator)
        return rejection.rejection_sample(self, n, quantile=quantile, burn_in=burn_in, batch_size=batch_size,
                                          generator=generator)


# At the discriminator's optimum the value function equals -log 4 + 2 JSD(p_data || p_g)
# (Goodfellow et al., 2014, theorem 1); -log 4 is its global minimum.
OPTIMAL_VALUE = -math.log(4)
