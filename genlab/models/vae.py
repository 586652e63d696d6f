"""Variational autoencoder (Kingma & Welling, 2014; Rezende et al., 2014).

A latent-variable model: a code z ~ p(z) = N(0, I) and a decoder p_θ(x|z) (the
likelihood) define p_θ(x) = ∫ p_θ(x|z) p(z) dz. An encoder q_φ(z|x) (the approximate
posterior) is trained with the decoder by maximising the evidence lower bound

    ELBO(x) = E_{q_φ(z|x)}[log p_θ(x|z)] - β · KL(q_φ(z|x) || p(z)) ≤ log p_θ(x)   (β = 1),

with the expectation estimated by one reparameterised sample z = μ + σ ⊙ ε, ε ~ N(0, I)
(Kingma & Welling, 2014, eq. 10). There is no discriminator and no adversarial step.

For evaluation, `log_likelihood` computes the importance-weighted bound of Burda et al.
(2016), which tightens toward log p_θ(x) as the number of samples k grows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genlab import losses
from genlab.losses import diagonal_normal_log_prob, reparameterize, standard_normal_log_prob
from genlab.checks import check_non_negative, check_widths
from genlab.models.base import (Batch, GenerativeModel, Losses, Optimizers, check_count, check_gaussian_encoder,
                                check_positive, constructor, probe, probing)
from genlab.nets import MLP, attach_condition, conv_decoder, conv_encoder

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
        kl_warmup: anneal the KL weight linearly from 0 at step 0 to `beta` at step kl_warmup
            (Bowman et al., 2016), a cure for posterior collapse; 0 (default) uses beta from
            the start. The weight is a function of the step, so resuming reproduces it.
        init_scale: initial σ of a Gaussian likelihood. Starting near σ = 1 on data of
            small variance lets the KL term win before the decoder learns to use z: the
            model settles on a single broad Gaussian (posterior collapse).
        lr: Adam learning rate.
        classes: K > 0 makes a conditional VAE (CVAE, Sohn et al., 2015): the data are
            (samples, labels) pairs, and the encoder q(z|x, y) and decoder p(x|z, y) both read
            the one-hot label (`genlab.nets.attach_condition`), so p(x|y) = ∫ p(x|z, y) p(z) dz
            and `sample(n, condition=labels)` draws digits of the requested classes. The
            encoder and decoder must take the extra K inputs; `mlp` and `conv` build them so.

    Raises:
        ValueError: for impossible settings, and — from one probe forward pass at construction — when
            the encoder does not output 2 * latent_dim numbers per sample or the decoder does not make
            samples of `data_shape`; the message names the expected and the actual shape.
    """

    @constructor
    def __init__(
        self,
        encoder: nn.Module,
        decoder: nn.Module,
        *,
        latent_dim: int,
        data_shape: Sequence[int],
        likelihood: str = "gaussian",
        beta: float = 1.0,
        kl_warmup: int = 0,
        init_scale: float = 0.1,
        lr: float = 1e-3,
        classes: int = 0,
    ) -> None:
        super().__init__()
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"unknown likelihood {likelihood!r}; choose one of {LIKELIHOODS}")
        check_non_negative(beta, "beta")
        check_count(latent_dim, "latent_dim", minimum=1)
        check_count(kl_warmup, "kl_warmup")
        check_count(classes, "classes")
        check_positive(lr, "lr")
        check_positive(init_scale, "init_scale", hint="it is the Gaussian likelihood's σ at the start, such as 0.1")
        self.encoder = encoder
        self.decoder = decoder
        self.latent_dim = latent_dim
        self.data_shape = tuple(data_shape)
        self.likelihood = likelihood
        self.beta = beta
        self.kl_warmup = kl_warmup
        self.classes = classes
        self.lr = lr
        if likelihood == "gaussian":
            # log σ of p(x|z), one per data dimension, learned with the rest.
            self.log_scale = nn.Parameter(torch.full(self.data_shape, math.log(init_scale)))
        self.check_shapes()

    @classmethod
    @constructor
    def mlp(cls, data_dim: int = 2, latent_dim: int = 2, hidden: int = 128, depth: int = 2, **kwargs) -> VAE:
        """Fully connected encoder and decoder for flat data of size data_dim."""
        for name, value in (("data_dim", data_dim), ("latent_dim", latent_dim), ("hidden", hidden), ("depth", depth)):
            check_count(value, name, minimum=1)
        k = check_count(kwargs.get("classes", 0), "classes")
        return cls(
            MLP(data_dim + k, 2 * latent_dim, hidden, depth),
            MLP(latent_dim + k, data_dim, hidden, depth),
            latent_dim=latent_dim,
            data_shape=(data_dim,),
            **kwargs,
        )

    @classmethod
    @constructor
    def conv(
        cls,
        image_shape: Sequence[int] = (1, 8, 8),
        latent_dim: int = 8,
        channels: Sequence[int] = (32, 64),
        likelihood: str = "bernoulli",
        **kwargs,
    ) -> VAE:
        """Convolutional encoder and decoder for images (C, H, W).

        The encoder halves H and W once per entry of `channels` (so H and W must be
        multiples of 2^len(channels)) and ends in 2 * latent_dim numbers; the decoder
        mirrors it and has no output activation: its (B, C, H, W) output is read as
        logits (Bernoulli) or means (Gaussian). No batch normalisation, so that every
        image's likelihood depends on that image alone (a requirement of the bounds).
        """
        image_shape = tuple(image_shape)
        if len(image_shape) != 3:
            raise ValueError(f"image_shape must be (channels, height, width), got {image_shape}")
        check_count(latent_dim, "latent_dim", minimum=1)
        channels = check_widths(channels, "channels")
        k = check_count(kwargs.get("classes", 0), "classes")
        c, h, w = image_shape
        return cls(
            conv_encoder((c + k, h, w), 2 * latent_dim, channels),
            conv_decoder(latent_dim + k, image_shape, channels[::-1], batchnorm=False),
            latent_dim=latent_dim,
            data_shape=image_shape,
            likelihood=likelihood,
            **kwargs,
        )

    def check_shapes(self) -> None:
        """Probe the encoder and the decoder with two zero inputs in eval mode; raise ValueError naming the
        expected and the actual shape when either disagrees with latent_dim and data_shape. Draws no
        random numbers and leaves batch-norm statistics untouched."""
        with probing(self.encoder, self.decoder) as device:
            labels = torch.zeros(2, dtype=torch.long, device=device) if self.classes else None
            x = attach_condition(torch.zeros(2, *self.data_shape, device=device), labels, self.classes)
            with_labels = f" (data_shape {self.data_shape} and {self.classes} one-hot classes)" if self.classes else ""
            out = probe(lambda: self.encoder(x), "the encoder", f"samples of shape {tuple(x.shape[1:])}{with_labels}")
            check_gaussian_encoder(out, self.latent_dim)
            z = attach_condition(torch.zeros(2, self.latent_dim, device=device), labels, self.classes)
            out = probe(lambda: self.decoder(z), "the decoder", f"codes of shape (B, {z.shape[1]}){with_labels}")
            if out.numel() != 2 * math.prod(self.data_shape):
                raise ValueError(
                    f"the decoder makes outputs of shape {tuple(out.shape[1:])} but data_shape is {self.data_shape}; "
                    f"change its output layers (or data_shape) so the two agree"
                )

    def configure_optimizers(self) -> Optimizers:
        return {"model": torch.optim.Adam(self.parameters(), lr=self.lr)}

    def check_data(self, x: Tensor) -> None:
        super().check_data(x)
        self._check_inputs(x, "the training data")

    # --- the model ----------------------------------------------------------------------

    def encode(self, x: Tensor, labels: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """q(z|x) (q(z|x, y) given labels): mean and log-variance, each (B, latent_dim)."""
        mu, logvar = self.encoder(attach_condition(x, labels, self.classes)).chunk(2, dim=-1)
        return mu, logvar

    def decode(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """Parameters of p(x|z) (p(x|z, y) given labels): mean (Gaussian) or logits (Bernoulli), (B, *data_shape)."""
        return self.decoder(attach_condition(z, labels, self.classes)).reshape(z.shape[0], *self.data_shape)

    def log_likelihood_terms(self, x: Tensor, decoded: Tensor) -> Tensor:
        """log p(x_j|z) for every entry j of x, (B, *data_shape): the decoder's entries are independent given z."""
        if self.likelihood == "gaussian":
            # σ² = exp(2 log σ): the learned log σ as the log-variance that genlab's Gaussians take
            return losses.gaussian_log_density(x, decoded, logvar=2 * self.log_scale)
        return -F.binary_cross_entropy_with_logits(decoded, x, reduction="none")

    def log_likelihood_given_z(self, x: Tensor, decoded: Tensor) -> Tensor:
        """log p(x|z) per example, (B,): the sum of `log_likelihood_terms` over each sample's entries."""
        return self.log_likelihood_terms(x, decoded).flatten(1).sum(dim=1)

    def mean(self, decoded: Tensor) -> Tensor:
        """E[x|z] from the decoder's output: the mean itself (Gaussian) or sigmoid(logits) (Bernoulli)."""
        return decoded if self.likelihood == "gaussian" else torch.sigmoid(decoded)

    # --- training: the ELBO -------------------------------------------------------------

    def elbo_terms(self, x: Tensor, labels: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """One-sample reconstruction term E_q[log p(x|z)] and KL(q(z|x) || p(z)), each (B,)."""
        mu, logvar = self.encode(x, labels)
        z = reparameterize(mu, logvar)
        reconstruction = self.log_likelihood_given_z(x, self.decode(z, labels))
        return reconstruction, losses.gaussian_kl(mu, logvar)

    def elbo(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        """Per-example evidence lower bound (β = 1, whatever the training β), (B, *data_shape) -> (B,).

        One-sample estimate of the reconstruction term, closed-form KL
        (Kingma & Welling, 2014, eq. 10 and appendix B).
        """
        self._check_inputs(x, "x")
        reconstruction, kl = self.elbo_terms(x, self._labels_for(x, labels))
        return reconstruction - kl

    def kl_weight(self, step: int) -> float:
        """The KL term's weight at training step `step`: beta, reached linearly over kl_warmup steps."""
        return losses.linear_warmup(step, self.kl_warmup, self.beta)

    def train_step(self, batch: Batch, optimizers: Optimizers, step: int) -> Losses:
        reconstruction, kl = self.elbo_terms(self.inputs(batch), self.batch_labels(batch))
        weight = self.kl_weight(step)
        loss = -(reconstruction - (kl if weight == 1 else weight * kl)).mean()  # maximise the (β-weighted) ELBO
        self.optimizer_step(optimizers["model"], loss)
        return {"loss": loss.detach(), "reconstruction": -reconstruction.mean().detach(), "kl": kl.mean().detach()}

    # --- evaluation: the importance-weighted bound --------------------------------------

    @torch.no_grad()
    def log_likelihood(
        self,
        x: Tensor,
        k: int = 100,
        *,
        labels: Tensor | None = None,
        generator: torch.Generator | None = None,
        max_batch: int = 4096,
    ) -> Tensor:
        """Importance-weighted estimate of log p(x) (Burda et al., 2016, eq. 8), (B, *data_shape) -> (B,).

            L_k(x) = log (1/k) Σ_{i=1..k} p(x, z_i) / q(z_i|x),   z_i ~ q(z|x),

        with log p(x, z) = log p(x|z) + log p(z). L_1 is the ELBO in expectation;
        E[L_k] ≤ E[L_{k+1}] ≤ log p(x) (Burda et al., 2016, theorem 1), and L_k → log p(x)
        as k → ∞. The k samples are drawn in chunks of at most `max_batch` decoder
        evaluations and combined with a running logsumexp, so memory does not grow with k.
        """
        self._check_inputs(x, "x")
        check_count(k, "k, the number of importance samples,", minimum=1)
        check_count(max_batch, "max_batch", minimum=1)
        b = x.shape[0]
        labels = self._labels_for(x, labels)
        mu, logvar = self.encode(x, labels)  # (B, d) each
        chunk = max(1, max_batch // max(b, 1))  # importance samples per pass
        total = torch.full((b,), -math.inf, device=x.device, dtype=mu.dtype)
        done = 0
        while done < k:
            c = min(chunk, k - done)
            z = reparameterize(mu, logvar, (c,), generator=generator)  # (c, B, d)
            decoded = self.decode(z.reshape(c * b, -1), None if labels is None else labels.repeat(c))  # (c·B, …)
            x_rep = x.unsqueeze(0).expand(c, *x.shape).reshape(c * b, *self.data_shape)
            log_px_z = self.log_likelihood_given_z(x_rep, decoded).reshape(c, b)
            # log importance weight: log p(x|z) + log p(z) - log q(z|x), (c, B)
            log_w = log_px_z + standard_normal_log_prob(z) - diagonal_normal_log_prob(z, mu, logvar)
            total = torch.logaddexp(total, torch.logsumexp(log_w, dim=0))
            done += c
        return total - math.log(k)

    # --- using the latent space ---------------------------------------------------------

    @torch.no_grad()
    def reconstruct(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        """Decode the posterior mean: E[x | z = μ_φ(x)], (B, *data_shape) -> (B, *data_shape).

        Means for a Gaussian likelihood, pixel probabilities for a Bernoulli one. A conditional
        VAE needs the labels of x; decoding with other labels transfers x's style to them.
        """
        self._check_inputs(x, "x")
        labels = self._labels_for(x, labels)
        mu, _ = self.encode(x, labels)
        return self.mean(self.decode(mu, labels))

    def _labels_for(self, x: Tensor, labels: Tensor | None) -> Tensor | None:
        """Check the labels that must (conditional model) or must not (unconditional) come with x."""
        if not self.conditional:
            if labels is not None:
                raise ValueError(f"this {type(self).__name__} is unconditional: call it without labels")
            return None
        if labels is None:
            raise ValueError(f"this {type(self).__name__} is conditional ({self.classes} classes): pass labels=")
        return self.check_labels(labels, len(x)).to(x.device)

    @torch.no_grad()
    def interpolate(self, x0: Tensor, x1: Tensor, steps: int = 8) -> Tensor:
        """Decode the straight line between the posterior means of x0 and x1.

        x0, x1: one sample each, shape data_shape or (1, *data_shape).
        Returns (steps, *data_shape): row 0 is reconstruct(x0), row steps - 1 is reconstruct(x1).
        """
        check_count(steps, "steps (the points on the path, both ends included)", minimum=2)
        if self.conditional:
            raise ValueError("interpolate walks the latent space of an unconditional VAE; with a conditional one, "
                             "decode the path yourself: mean(decode(z, labels))")
        ends = []
        for name, x in (("x0", x0), ("x1", x1)):
            if tuple(x.shape) == self.data_shape:
                x = x.unsqueeze(0)
            if tuple(x.shape) != (1, *self.data_shape):
                raise ValueError(
                    f"{name} must be one sample of shape {self.data_shape} or (1, {', '.join(map(str, self.data_shape))}), "
                    f"got {tuple(x.shape)}"
                )
            self._check_inputs(x, name)
            ends.append(self.encode(x)[0])  # posterior mean, (1, d)
        t = torch.linspace(0, 1, steps, device=ends[0].device, dtype=ends[0].dtype).unsqueeze(1)  # (steps, 1)
        z = (1 - t) * ends[0] + t * ends[1]  # (steps, d)
        return self.mean(self.decode(z))

    @torch.no_grad()
    def sample(
        self,
        n: int,
        *,
        condition: Tensor | None = None,
        generator: torch.Generator | None = None,
        noise: bool = True,
    ) -> Tensor:
        """Draw x ~ p(x) = ∫ p(x|z) p(z) dz, shape (n, *data_shape), in eval mode.

        noise=False returns the decoder's mean (Gaussian) or pixel probabilities
        (Bernoulli) instead of a draw from p(x|z).
        """
        self._check_n(n, condition, generator)
        labels = self.sample_labels(n, condition, generator)
        with self.evaluating():
            z = torch.randn(n, self.latent_dim, device=self.device, generator=generator)
            decoded = self.decode(z, labels)
        return self.draw(decoded, generator=generator) if noise else self.mean(decoded)

    def draw(self, decoded: Tensor, *, generator: torch.Generator | None = None) -> Tensor:
        """x ~ p(x|z) from the decoder's output: a Gaussian or a Bernoulli draw per entry."""
        if self.likelihood == "gaussian":
            eps = torch.randn(decoded.shape, device=decoded.device, dtype=decoded.dtype, generator=generator)
            return decoded + self.log_scale.exp() * eps
        return torch.bernoulli(torch.sigmoid(decoded), generator=generator)

    def _check_inputs(self, x: Tensor, name: str) -> None:
        """Raise a ValueError/TypeError naming what is wrong with x for this model."""
        if self.likelihood == "bernoulli":
            self.check_inputs(x, name, (0, 1), " for a Bernoulli likelihood")
        else:
            self.check_inputs(x, name)
