"""Loss functions, each written from the equation it implements.

Discriminators output logits l; D(x) = sigmoid(l). We use the identities
log sigmoid(l) = -softplus(-l) and log(1 - sigmoid(l)) = -softplus(l), which are
exact and numerically stable where the naive logarithms overflow.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

GAN_LOSSES = ("minimax", "non-saturating")


def discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """-V(D, G) for a fixed G: the discriminator maximises
    E_x[log D(x)] + E_z[log(1 - D(G(z)))]  (Goodfellow et al., 2014, eq. 1)."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_loss(fake_logits: Tensor, kind: str = "non-saturating") -> Tensor:
    """The generator's objective on D's logits for generated samples.

    - "minimax": minimise E_z[log(1 - D(G(z)))], the value function itself. Its
      gradient vanishes when D confidently rejects the fakes (l -> -inf).
    - "non-saturating": minimise -E_z[log D(G(z))], the fix proposed in the same paper
      (Goodfellow et al., 2014, section 3); same fixed point, strong early gradients.
    """
    if kind == "minimax":
        return -F.softplus(fake_logits).mean()
    if kind == "non-saturating":
        return F.softplus(-fake_logits).mean()
    raise ValueError(f"unknown GAN loss {kind!r}; choose one of {GAN_LOSSES}")


def gaussian_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, diag exp(logvar)) || N(0, I)), summed over the last dimension: (B, d) -> (B,).

    Closed form from Kingma & Welling (2014), appendix B:
    -1/2 * sum(1 + log σ² - μ² - σ²).
    """
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=-1)


def gaussian_log_likelihood(x: Tensor, mean: Tensor, log_scale: Tensor) -> Tensor:
    """log N(x; mean, exp(log_scale)²), summed over all but the batch dimension: -> (B,)."""
    z = (x - mean) * torch.exp(-log_scale)
    log_density = -0.5 * z.pow(2) - log_scale - 0.5 * math.log(2 * math.pi)
    return log_density.flatten(1).sum(dim=1)


def bernoulli_log_likelihood(x: Tensor, logits: Tensor) -> Tensor:
    """log Bernoulli(x; sigmoid(logits)) for x in [0, 1], summed over all but the batch dimension."""
    return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(dim=1)
