"""Adversarial autoencoder (Makhzani et al., 2015).

An autoencoder whose codes are pushed towards a chosen prior p(z) by a GAN played in
code space. The encoder q(z|x) and the data define the aggregate posterior

    q(z) = ∫ q(z|x) p_data(x) dx,

and a discriminator D that reads CODES z — never data — plays the GAN game (Goodfellow et
al., 2014; Makhzani et al., 2015, eq. 1) in code space, with the encoder as its generator:

    min_E max_D  E_{z ~ p(z)}[log D(z)] + E_{x ~ p_data}[log(1 − D(E(x)))],

whose equilibrium has q(z) = p(z). Meanwhile encoder and decoder minimise the
reconstruction error of x ↦ z = E(x) ↦ x̂ = decoder(z). Once q(z) matches p(z),
decoding prior draws gives new data: the decoder is a generator for p(z), like a GAN's.

Each `train_step` runs the paper's two phases (section 2) in order:
  1. reconstruction: encoder and decoder take a step on the reconstruction error;
  2. regularisation: D takes a step to tell prior draws z ~ p(z) (real) from codes E(x)
     (fake), then the encoder takes a step to make D call its codes real — the
     non-saturating generator loss −log D(E(x)) (Goodfellow et al., 2014, section 3).

Unlike the VAE's per-example KL(q(z|x) || p(z)), which needs p(z)'s density in closed
form, the adversarial term matches the aggregate q(z) to p(z) and needs only samples of
p(z): a ring of ten Gaussians or a swiss roll is as easy to impose as N(0, I)
(section 2.1).

With labels (section 2.3), the discriminator also reads the one-hot label y of each code,
and on the prior side the code of label k is drawn from mixture component k: the
discriminator then matches q(z|y) to p(z|y) class by class, so each class lands on its
own component, and the decoder, which never sees y, reads the class off z's position.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genlab import noise
from genlab import losses
from genlab.checks import check_betas, check_flag, check_widths
from genlab.models.base import (Batch, CodeEncoder, GenerativeModel, Losses, Optimizers, check_count, check_positive,
                                constructor, probe, probing)
from genlab.nets import MLP, conv_decoder, conv_encoder

Prior = Callable[[int, torch.Generator | None], Tensor]

PRIORS = ("gaussian", "mixture", "swiss-roll")
RECONSTRUCTIONS = ("mse", "bernoulli")

# The "mixture" prior: equal-weight isotropic Gaussians with centres evenly spaced on a circle.
# Neighbouring centres are 2 r sin(π/10) ≈ 1.24 apart for ten components, about 5 standard
# deviations, so the components barely overlap, as in the paper's figures.
MIXTURE_COMPONENTS = 10
MIXTURE_RADIUS = 2.0
MIXTURE_STD = 0.25
# The "swiss-roll" prior: two turns of an Archimedean spiral out to radius SWISS_ROLL_RADIUS.
SWISS_ROLL_RADIUS = 2.0
SWISS_ROLL_TURNS = 2
SWISS_ROLL_STD = 0.05


def mixture_centers(
    components: int = MIXTURE_COMPONENTS, radius: float = MIXTURE_RADIUS, device: torch.device | str | None = None
) -> Tensor:
    """Centres of the "mixture" prior, (components, 2): radius · (cos 2πk/K, sin 2πk/K).

    Computed where they are needed, so that a training step copies nothing from the host.
    """
    angles = (2 * math.pi / components) * torch.arange(components, device=device, dtype=torch.float32)
    return radius * torch.stack([angles.cos(), angles.sin()], dim=1)


def swiss_roll_point(s: Tensor) -> Tensor:
    """The noiseless spiral at position s ∈ [0, 1] along it, (...) -> (..., 2).

    Radius R·s and angle 2π·turns·s: the radius grows by R/turns per turn.
    """
    angle = 2 * math.pi * SWISS_ROLL_TURNS * s
    return SWISS_ROLL_RADIUS * s.unsqueeze(-1) * torch.stack([angle.cos(), angle.sin()], dim=-1)


def draw_prior(
    name: str,
    n: int,
    latent_dim: int,
    *,
    components: int = MIXTURE_COMPONENTS,
    labels: Tensor | None = None,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> Tensor:
    """n draws from a named prior, (n, latent_dim).

    - "gaussian": N(0, I).
    - "mixture": 2-D; component k ~ uniform on 0..components−1 (or k = labels[i] when
      labels are given), then z = centre_k + MIXTURE_STD · ε.
    - "swiss-roll": 2-D; s = √u with u ~ U(0, 1), so that the density along the spiral
      grows with the radius and the points are spread evenly over its area, then
      z = spiral(s) + SWISS_ROLL_STD · ε.
    """
    if name == "gaussian":
        return noise.normal(n, latent_dim, device=device, generator=generator)
    if name == "mixture":
        if labels is None:
            labels = noise.integers(components, n, device=device, generator=generator)
        centers = mixture_centers(components, device=device)
        eps = noise.normal(n, 2, device=device, generator=generator)
        return centers[labels] + MIXTURE_STD * eps
    if name == "swiss-roll":
        s = noise.uniform(n, device=device, generator=generator).sqrt()
        eps = noise.normal(n, 2, device=device, generator=generator)
        return swiss_roll_point(s) + SWISS_ROLL_STD * eps
    raise ValueError(f"unknown prior {name!r}; choose one of {PRIORS} or pass a callable prior(n, generator)")


def one_hot(labels: Tensor, classes: int, dtype: torch.dtype) -> Tensor:
    """(B,) integer labels -> (B, classes), by comparison: unlike F.one_hot it never reads the
    labels back to the host to check their range, so a training step stays free of syncs."""
    return (labels.unsqueeze(1) == torch.arange(classes, device=labels.device)).to(dtype)


class AAE(CodeEncoder, GenerativeModel):
    """An adversarial autoencoder around any encoder, decoder and code discriminator.

    Args:
        encoder: (B, *data_shape) -> (B, latent_dim), or (B, 2 * latent_dim) — mean and
            log-variance — with `stochastic_encoder`.
        decoder: (B, latent_dim) -> (B, *data_shape): the reconstruction itself ("mse") or
            its logits ("bernoulli").
        discriminator: (B, latent_dim + classes) -> (B, 1) or (B,) logits. It reads codes
            (and one-hot labels), never data.
        latent_dim: size of z.
        data_shape: shape of one sample.
        prior: p(z): "gaussian" (N(0, I)), "mixture" (ten 2-D Gaussians on a circle, or
            `classes` of them) or "swiss-roll" (2-D), see `draw_prior`; or any callable
            prior(n, generator) -> (n, latent_dim) tensor. A name is stored in the
            checkpoint's constructor record; a callable cannot be, so `genlab.load` cannot
            rebuild such a model (build it again and use `genlab.load_checkpoint`). The
            argument is kept as `prior_spec`; `model.prior(n, generator)` draws from it.
        classes: K > 0 makes the model label-conditional (section 2.3): batches are
            (x, labels) with integer labels in 0..K−1, the prior must be "mixture" (with K
            components) and `sample` takes the labels as its condition. 0: unconditional.
        stochastic_encoder: False (default): q(z|x) is a point mass at E(x), the paper's main
            choice (section 2); its aggregate posterior
            can still match a continuous prior, because the data itself is random. True:
            q(z|x) = N(μ(x), diag σ²(x)), sampled by reparameterisation (Kingma & Welling,
            2014), the paper's "Gaussian posterior" option.
        reconstruction: "mse" (default; squared error summed over a sample's entries —
            a Gaussian likelihood of fixed variance, for real-valued data) or "bernoulli"
            (cross-entropy with the decoder's output read as logits; for data in [0, 1],
            which `check_data` enforces). With "bernoulli", `decode` applies the sigmoid,
            so reconstructions and samples lie in [0, 1] like the data.
        lr: Adam learning rate of the encoder and the decoder.
        discriminator_lr: Adam learning rate of the discriminator; None uses lr.
        betas: Adam's (β1, β2) for all three optimizers; β1 = 0.5 as in GANs (Radford et
            al., 2016), since two of the three play an adversarial game.

    Optimizers — each parameter has exactly one owner, as `fit` requires:
        "decoder": the decoder, stepped once per train_step (reconstruction phase);
        "encoder": the encoder, stepped twice: on the reconstruction error, then, as the
            generator of the code-space GAN, on the non-saturating adversarial loss;
        "discriminator": the discriminator, stepped once (regularisation phase).
    Makhzani et al. give each phase its own optimizer and learning rate; here the encoder
    takes part in both phases, and two optimizers over the same weights are refused, so its
    one Adam state sees both gradients in turn — Adam's per-coordinate normalisation keeps
    the two steps of comparable size whatever the losses' scales.
    """

    @constructor
    def __init__(
        self,
        encoder: nn.Module,
        decoder: nn.Module,
        discriminator: nn.Module,
        *,
        latent_dim: int,
        data_shape: Sequence[int],
        prior: str | Prior = "gaussian",
        classes: int = 0,
        stochastic_encoder: bool = False,
        reconstruction: str = "mse",
        lr: float = 1e-3,
        discriminator_lr: float | None = None,
        betas: tuple[float, float] = (0.5, 0.999),
    ) -> None:
        super().__init__()
        check_count(latent_dim, "latent_dim", minimum=1)
        check_count(classes, "classes")
        check_flag(stochastic_encoder, "stochastic_encoder")
        check_positive(lr, "lr")
        check_betas(betas)
        if discriminator_lr is not None:
            check_positive(discriminator_lr, "discriminator_lr (or None to use lr)")
        if reconstruction not in RECONSTRUCTIONS:
            raise ValueError(f"unknown reconstruction loss {reconstruction!r}; choose one of {RECONSTRUCTIONS}")
        _check_prior(prior, latent_dim, classes)
        self.encoder = encoder
        self.decoder = decoder
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.data_shape = tuple(data_shape)
        self.prior_spec = prior  # the constructor's argument: a name, or the callable itself
        self.classes = classes
        self.stochastic_encoder = bool(stochastic_encoder)
        self.reconstruction = reconstruction
        self.lr = lr
        self.discriminator_lr = discriminator_lr if discriminator_lr is not None else lr
        self.betas = tuple(betas)
        self.check_shapes()

    @classmethod
    @constructor
    def mlp(
        cls,
        data_dim: int = 2,
        latent_dim: int = 2,
        hidden: int = 128,
        depth: int = 2,
        prior: str | Prior = "gaussian",
        classes: int = 0,
        stochastic_encoder: bool = False,
        **kwargs,
    ) -> AAE:
        """Fully connected encoder, decoder and code discriminator (ReLU; LeakyReLU(0.2) for D).

        The discriminator reads latent_dim + classes numbers: the code and its one-hot label.
        """
        for name, value, minimum in (("data_dim", data_dim, 1), ("latent_dim", latent_dim, 1), ("hidden", hidden, 1),
                                     ("depth", depth, 1), ("classes", classes, 0)):
            check_count(value, name, minimum=minimum)
        check_flag(stochastic_encoder, "stochastic_encoder")
        return cls(
            MLP(data_dim, (2 if stochastic_encoder else 1) * latent_dim, hidden, depth),
            MLP(latent_dim, data_dim, hidden, depth),
            MLP(latent_dim + classes, 1, hidden, depth, activation=lambda: nn.LeakyReLU(0.2)),
            latent_dim=latent_dim,
            data_shape=(data_dim,),
            prior=prior,
            classes=classes,
            stochastic_encoder=stochastic_encoder,
            **kwargs,
        )

    @classmethod
    @constructor
    def conv(
        cls,
        image_shape: Sequence[int] = (1, 8, 8),
        latent_dim: int = 8,
        channels: Sequence[int] = (32, 64),
        prior: str | Prior = "gaussian",
        classes: int = 0,
        stochastic_encoder: bool = False,
        hidden: int = 128,
        depth: int = 2,
        reconstruction: str = "bernoulli",
        **kwargs,
    ) -> AAE:
        """Convolutional encoder and decoder for images (C, H, W) with values in [0, 1].

        As in `VAE.conv`: the encoder halves H and W once per entry of `channels` (so H and
        W must be multiples of 2^len(channels)); the decoder mirrors it, without batch norm,
        and its output is read as logits ("bernoulli", the default) so that reconstructions
        and samples lie in [0, 1]. The discriminator is an MLP on codes (`hidden` wide,
        `depth` layers) — images never reach it.
        """
        image_shape = tuple(image_shape)
        if len(image_shape) != 3:
            raise ValueError(f"image_shape must be (channels, height, width), got {image_shape}")
        for name, value, minimum in (("latent_dim", latent_dim, 1), ("hidden", hidden, 1), ("depth", depth, 1),
                                     ("classes", classes, 0)):
            check_count(value, name, minimum=minimum)
        check_flag(stochastic_encoder, "stochastic_encoder")
        channels = check_widths(channels, "channels")
        return cls(
            conv_encoder(image_shape, (2 if stochastic_encoder else 1) * latent_dim, channels),
            conv_decoder(latent_dim, image_shape, channels[::-1], batchnorm=False),
            MLP(latent_dim + classes, 1, hidden, depth, activation=lambda: nn.LeakyReLU(0.2)),
            latent_dim=latent_dim,
            data_shape=image_shape,
            prior=prior,
            classes=classes,
            stochastic_encoder=stochastic_encoder,
            reconstruction=reconstruction,
            **kwargs,
        )

    def check_shapes(self) -> None:
        """Probe the three networks with two zero inputs in eval mode; raise ValueError naming the shapes
        when they disagree. Draws no random numbers and leaves batch-norm statistics untouched."""
        with probing(self.encoder, self.decoder, self.discriminator) as device:
            width = (2 if self.stochastic_encoder else 1) * self.latent_dim
            x = torch.zeros(2, *self.data_shape, device=device)
            out = probe(lambda: self.encoder(x), "the encoder", f"samples of shape {self.data_shape}")
            if tuple(out.shape[1:]) != (width,):
                what = "mean and log-variance" if self.stochastic_encoder else "code"
                raise ValueError(f"the encoder must output {width} numbers per sample (its {what}), "
                                 f"got shape {tuple(out.shape[1:])}")
            z = torch.zeros(2, self.latent_dim, device=device)
            out = probe(lambda: self.decoder(z), "the decoder", f"codes of shape (B, {self.latent_dim})")
            if out[0].numel() != math.prod(self.data_shape):
                raise ValueError(f"the decoder makes outputs of shape {tuple(out.shape[1:])} but data_shape is "
                                 f"{self.data_shape}; change its output layers (or data_shape) so the two agree")
            width = self.latent_dim + self.classes
            codes = torch.zeros(2, width, device=device)
            out = probe(lambda: self.discriminator(codes), "the discriminator",
                        f"codes and one-hot labels of shape (B, {width})")
            if out.numel() != 2:
                raise ValueError(f"the discriminator must output one logit per code, (B,) or (B, 1); "
                                 f"it gave {tuple(out.shape[1:])} per code")

    def configure_optimizers(self) -> Optimizers:
        """One Adam per network; the encoder's takes a step in both phases (see the class docstring)."""
        adam = lambda module, lr: torch.optim.Adam(module.parameters(), lr=lr, betas=self.betas)
        return {
            "decoder": adam(self.decoder, self.lr),
            "encoder": adam(self.encoder, self.lr),
            "discriminator": adam(self.discriminator, self.discriminator_lr),
        }

    # --- data ----------------------------------------------------------------------------

    def check_data(self, x: Tensor) -> None:
        super().check_data(x)
        self._check_inputs(x, "the training data")

    def _check_inputs(self, x: Tensor, name: str) -> None:
        """Raise a ValueError/TypeError naming what is wrong with x for this model."""
        if self.reconstruction == "bernoulli":
            self.check_inputs(x, name, (0, 1), " for the Bernoulli reconstruction loss (the decoder's sigmoid output "
                              "cannot leave [0, 1]): scale images to [0, 1] (e.g. genlab.data.digits((0, 1))) or use "
                              "reconstruction='mse'")
        else:
            self.check_inputs(x, name)

    def _check_batch_labels(self, labels: object, n: int) -> Tensor:
        """A training batch's labels: `check_labels` on the CPU; on an accelerator the dtype and shape only.

        Reading the labels' range back would make the host wait for the device every step; there an
        out-of-range label surfaces as an indexing error in the prior instead. (`fit` has already
        checked every label once, before training, through `check_extras`.)
        """
        if not isinstance(labels, Tensor) or labels.device.type == "cpu":
            return self.check_labels(labels, n, "the labels")
        if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
            raise TypeError(f"the labels must be an integer tensor of class labels, got {labels.dtype}")
        if tuple(labels.shape) != (n,):
            raise ValueError(f"the labels must have shape ({n},), one label per sample; got {tuple(labels.shape)}")
        return labels.long()

    def _split(self, batch: Batch) -> tuple[Tensor, Tensor | None]:
        """(samples, labels) of a batch; labels None for an unconditional model (extra tensors are ignored)."""
        x = self.inputs(batch)
        if not self.conditional:
            return x, None
        if isinstance(batch, Tensor) or len(batch) < 2:
            raise TypeError(
                f"an AAE with classes={self.classes} trains on (samples, labels) pairs: pass the data as a tuple "
                f"(x (N, {', '.join(map(str, self.data_shape))}), labels (N,)) or a TensorDataset, "
                f"e.g. genlab.data.digits((0, 1))"
            )
        return x, self._check_batch_labels(batch[1], x.shape[0])

    # --- the model -----------------------------------------------------------------------

    def decoder_output(self, z: Tensor) -> Tensor:
        """The decoder's raw output, (B, latent_dim) -> (B, *data_shape): logits for "bernoulli"."""
        return self.decoder(z).reshape(z.shape[0], *self.data_shape)

    def decode(self, z: Tensor) -> Tensor:
        """The reconstruction in data space, (B, latent_dim) -> (B, *data_shape); in [0, 1] for "bernoulli"."""
        out = self.decoder_output(z)
        return torch.sigmoid(out) if self.reconstruction == "bernoulli" else out

    @torch.no_grad()
    def reconstruct(self, x: Tensor) -> Tensor:
        """decode(μ(x)): the reconstruction from the posterior mean (E(x) when deterministic), in eval mode."""
        self._check_inputs(x, "x")
        with self.evaluating():
            return self.decode(self.posterior(x)[0])

    def reconstruction_error(self, x: Tensor, z: Tensor) -> Tensor:
        """Per-example reconstruction loss of x from code z, (B,): summed over the sample's entries.

        "mse": ‖x − G(z)‖²; "bernoulli": −Σ_j [x_j log p_j + (1 − x_j) log(1 − p_j)], p = sigmoid(logits).
        """
        out = self.decoder_output(z)
        if self.reconstruction == "bernoulli":
            terms = F.binary_cross_entropy_with_logits(out, x, reduction="none")
        else:
            terms = (out - x).pow(2)
        return terms.flatten(1).sum(dim=1)

    def prior(self, n: int, generator: torch.Generator | None = None, *, labels: Tensor | None = None) -> Tensor:
        """n draws z ~ p(z), (n, latent_dim), on the model's device; with labels (n,), label k from component k."""
        if callable(self.prior_spec):
            z = self.prior_spec(n, generator).to(self.device)
            if tuple(z.shape) != (n, self.latent_dim):
                raise ValueError(f"the prior must return (n, latent_dim) = ({n}, {self.latent_dim}), "
                                 f"got {tuple(z.shape)}")
            return z
        return draw_prior(self.prior_spec, n, self.latent_dim, components=self.components, labels=labels,
                          generator=generator, device=self.device)

    @property
    def components(self) -> int:
        """The number of components of the "mixture" prior: one per class, else MIXTURE_COMPONENTS."""
        return self.classes or MIXTURE_COMPONENTS

    def logits(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """The discriminator's logits that codes z (B, latent_dim) come from the prior, (B,).

        A conditional model appends the one-hot labels: D reads (B, latent_dim + classes).
        """
        if self.conditional:
            z = torch.cat([z, one_hot(labels, self.classes, z.dtype)], dim=1)
        return self.discriminator(z).reshape(z.shape[0])

    # --- training --------------------------------------------------------------------------

    def train_step(self, batch: Batch, optimizers: Optimizers, step: int) -> Losses:
        x, labels = self._split(batch)
        opt_enc, opt_dec, opt_d = optimizers["encoder"], optimizers["decoder"], optimizers["discriminator"]

        # Phase 1, reconstruction: encoder and decoder both step on the same loss and forward pass
        # (rec → the encoder's parameters and, separately, the decoder's: update()'s routing).
        rec = self.reconstruction_error(x, self.code(x)).mean()
        self.update({opt_enc: rec, opt_dec: rec})

        # Phase 2, regularisation. Codes from the encoder as the reconstruction step left it; the
        # prior side uses the batch's own labels, so D compares p(z|y) with q(z|y) class by class.
        z_fake = self.code(x)
        z_real = self.prior(x.shape[0], labels=labels)
        # d_loss → D only (update()'s routing); the detach saves work only: no walk back through the encoder.
        d_loss = losses.discriminator_loss(self.logits(z_real, labels), self.logits(z_fake.detach(), labels))
        self.optimizer_step(opt_d, d_loss)
        # The encoder, as generator, against the updated D: non-saturating −log D(E(x)). update()
        # back-propagates into the encoder's weights only, so D's gradient is left alone.
        g_loss = losses.generator_loss(self.logits(z_fake, labels))
        self.optimizer_step(opt_enc, g_loss)
        return {"reconstruction": rec.detach(), "d_loss": d_loss.detach(), "g_loss": g_loss.detach()}

    # --- sampling ----------------------------------------------------------------------------

    @torch.no_grad()
    def sample(self, n: int, *, condition: Tensor | None = None, generator: torch.Generator | None = None) -> Tensor:
        """n new samples, (n, *data_shape): z ~ p(z), decoded, in eval mode.

        For a conditional model, `condition` is (n,) integer labels choosing each code's mixture
        component; None draws the labels uniformly (from `generator`).
        """
        self._check_n(n, condition, generator)
        labels = self.sample_labels(n, condition, generator)  # None for an unconditional model
        with self.evaluating():
            return self.decode(self.prior(n, generator, labels=labels))


def _check_prior(prior: object, latent_dim: int, classes: int) -> None:
    """Refuse an unknown prior name, a 2-D prior in another dimension, or labels without the mixture."""
    if callable(prior):
        if classes:
            raise ValueError("a label-conditional AAE (classes > 0) needs prior='mixture', one component per class; "
                             "a callable prior cannot be told the labels")
        z = prior(2, torch.Generator().manual_seed(0))  # its own generator: the global RNG is left alone
        if not isinstance(z, Tensor) or tuple(z.shape) != (2, latent_dim) or not z.is_floating_point():
            got = tuple(z.shape) if isinstance(z, Tensor) else type(z).__name__
            raise ValueError(f"prior(n, generator) must return a floating-point tensor of shape (n, latent_dim); "
                             f"prior(2, generator) gave {got}, expected (2, {latent_dim})")
        return
    if prior not in PRIORS:
        raise ValueError(f"unknown prior {prior!r}; choose one of {PRIORS} or pass a callable prior(n, generator)")
    if prior in ("mixture", "swiss-roll") and latent_dim != 2:
        raise ValueError(f"the {prior!r} prior is 2-dimensional: it needs latent_dim=2, got latent_dim={latent_dim}")
    if classes and prior != "mixture":
        raise ValueError(f"a label-conditional AAE (classes={classes}) needs prior='mixture', one component per "
                         f"class, got prior={prior!r}")
