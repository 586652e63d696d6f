"""A VAE trained on incompletely observed data (Mattei & Frellsen, 2019; Nazabal et al., 2020).

Missing entries are described by a boolean mask of the data's shape, True where a value
was observed. The encoder reads x with its missing entries set to 0; the likelihood counts
the observed entries only — since the decoder's entries are independent given z,
p(x_o|z) simply leaves out the factors of the missing ones — so the model never has to
explain values nobody measured. The bound it maximises, for k importance samples,

    log p(x_o) ≥ E_{z_1..k ~ q(z|x̃)} log (1/k) Σ_i p(x_o|z_i) p(z_i) / q(z_i|x̃),

is the MIWAE bound; for k = 1 it is the observed-data ELBO.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from genlab import losses
from genlab.imputation import check_missing
from genlab.losses import diagonal_normal_log_prob, reparameterize, standard_normal_log_prob
from genlab.models.base import Batch, Losses, Optimizers, Trainable, check_count, constructor
from genlab.models.vae import VAE


class MaskedVAE(VAE):
    """A VAE whose batches are (x, mask) pairs; every other method is the VAE's.

    Give `fit` the data as (x with missing entries filled by any finite value in the
    data's range, mask).

    Args:
        k: importance samples per example; 1 is the masked ELBO (and honours β),
            k > 1 the tighter MIWAE bound (needs β = 1).
        *args, **kwargs: as for `VAE`, including the `mlp` and `conv` constructors.
    """

    @constructor
    def __init__(self, *args, k: int = 1, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.classes:
            raise ValueError("MaskedVAE trains on (x, mask) pairs and cannot be conditional: use classes=0")
        check_count(k, "k, the number of importance samples,", minimum=1)
        if k > 1 and self.beta != 1:
            raise ValueError(f"the importance-weighted bound (k = {k}) has no β; use k = 1 for beta = {self.beta}")
        self.k = k

    def check_data(self, x: Tensor) -> None:
        Trainable.check_data(self, x)  # the values at missing positions are never read

    def check_extras(self, extras: tuple[Tensor, ...]) -> None:
        if not extras:
            raise ValueError("MaskedVAE trains on (x, mask) pairs: pass fit the data as (x, mask)")

    def masked_log_likelihood_given_z(self, x: Tensor, decoded: Tensor, mask: Tensor) -> Tensor:
        """log p(x_o|z) = Σ_{observed j} log p(x_j|z) per example, (B,); missing values are never read."""
        x = torch.where(mask, x, torch.zeros((), dtype=x.dtype, device=x.device))  # NaN·0 would still be NaN
        terms = self.log_likelihood_terms(x, decoded)
        return torch.where(mask, terms, torch.zeros_like(terms)).flatten(1).sum(dim=1)

    def masked_elbo_terms(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """One-sample E_q[log p(x_o|z)] and KL(q(z|x̃) || p(z)), each (B,), where x̃ is x with
        its missing entries set to 0 (the encoder's input) and x_o its observed entries.

        With every entry observed this is exactly `elbo_terms` (same random draw).
        """
        x, mask = self._check_masked(x, mask)
        mu, logvar = self.encode(x)
        z = reparameterize(mu, logvar)
        reconstruction = self.masked_log_likelihood_given_z(x, self.decode(z), mask)
        return reconstruction, losses.gaussian_kl(mu, logvar)

    def masked_elbo(self, x: Tensor, mask: Tensor, k: int = 1, *, generator: torch.Generator | None = None) -> Tensor:
        """A lower bound on log p(x_o), the likelihood of the observed entries only, (B, *data_shape) -> (B,).

        mask: bool, x's shape, True where x was observed; values at missing positions
        (NaN allowed) are ignored. k = 1 uses the closed-form KL, so with nothing missing and
        the same random state it equals `elbo(x)` exactly; k > 1 is the MIWAE bound.
        """
        check_count(k, "k, the number of importance samples,", minimum=1)
        if k == 1 and generator is None:
            reconstruction, kl = self.masked_elbo_terms(x, mask)
            return reconstruction - kl
        x, mask = self._check_masked(x, mask)
        b = x.shape[0]
        mu, logvar = self.encode(x)  # (B, d) each
        z = reparameterize(mu, logvar, (k,), generator=generator)  # (k, B, d)
        decoded = self.decode(z.reshape(k * b, -1))
        repeat = lambda t: t.unsqueeze(0).expand(k, *t.shape).reshape(k * b, *self.data_shape)
        log_px_z = self.masked_log_likelihood_given_z(repeat(x), decoded, repeat(mask)).reshape(k, b)
        # log importance weight: log p(x_o|z) + log p(z) - log q(z|x̃), (k, B)
        log_w = log_px_z + standard_normal_log_prob(z) - diagonal_normal_log_prob(z, mu, logvar)
        return torch.logsumexp(log_w, dim=0) - math.log(k)

    def _check_masked(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """Validate (x, mask) and return x with its missing entries set to 0, and the mask."""
        x, mask = check_missing(x, mask)
        self._check_inputs(x, "x")
        return x, mask

    def train_step(self, batch: Batch, optimizers: Optimizers, step: int) -> Losses:
        if isinstance(batch, Tensor) or len(batch) < 2:
            raise ValueError("MaskedVAE trains on (x, mask) pairs: pass fit the data as (x, mask)")
        x, mask = batch[0], batch[1]
        if self.k == 1:
            reconstruction, kl = self.masked_elbo_terms(x, mask)
            loss = -(reconstruction - self.kl_weight(step) * kl).mean()  # maximise the observed-data ELBO
            out = {"reconstruction": -reconstruction.mean().detach(), "kl": kl.mean().detach()}
        else:
            loss = -self.masked_elbo(x, mask, self.k).mean()  # maximise the MIWAE bound
            out = {}
        self.optimizer_step(optimizers["model"], loss)
        return {"loss": loss.detach(), **out}
