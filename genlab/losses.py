"""Loss functions, each written from the equation it implements.

GAN discriminators output logits l; D(x) = sigmoid(l). (For the hinge and Wasserstein
losses the same network outputs an unbounded critic score instead.) We use the identities
log sigmoid(l) = -softplus(-l) and log(1 - sigmoid(l)) = -softplus(l), which are
exact and numerically stable where the naive logarithms overflow.

Gaussians have one parameterisation throughout: a mean and a log-variance log σ² (`logvar`),
as a VAE's encoder outputs them (Kingma & Welling, 2014, appendix C.2). A model whose network
outputs log σ instead converts it once, as 2 · log σ.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from genlab.distributed import batch_random

GAN_LOSSES = ("minimax", "non-saturating", "hinge", "wgan-gp")


def _check_kind(kind: str) -> None:
    if kind not in GAN_LOSSES:
        raise ValueError(f"unknown GAN loss {kind!r}; choose one of {GAN_LOSSES}")


def discriminator_loss(real_logits: Tensor, fake_logits: Tensor, kind: str = "non-saturating") -> Tensor:
    """The discriminator's (critic's) loss on its outputs for real and generated samples.

    Args:
        real_logits, fake_logits: D's raw outputs, shape (B,) — logits for "minimax" and
            "non-saturating", unbounded critic scores for "hinge" and "wgan-gp".
        kind: one of GAN_LOSSES.
    Returns:
        A scalar to minimise.

    - "minimax", "non-saturating": -V(D, G) for a fixed G; D maximises
      E_x[log D(x)] + E_z[log(1 - D(G(z)))]  (Goodfellow et al., 2014, eq. 1).
      Both variants train D the same way; they differ only in the generator's loss.
    - "hinge": E_x[max(0, 1 - D(x))] + E_z[max(0, 1 + D(G(z)))]
      (the hinge loss of Lim & Ye, 2017, as used by Miyato et al., 2018).
    - "wgan-gp": E_z[D(G(z))] - E_x[D(x)], the negated Wasserstein-1 estimate of the
      Kantorovich–Rubinstein dual (Arjovsky et al., 2017, algorithm 1). The critic must also be
      kept 1-Lipschitz: add `gradient_penalty` (Gulrajani et al., 2017, eq. 3), which needs
      the critic itself and so is not computed here.
    """
    _check_kind(kind)
    if kind in ("minimax", "non-saturating"):
        # log D = -softplus(-l), log(1 - D) = -softplus(l): see the module docstring.
        return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
    if kind == "hinge":
        return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()
    return fake_logits.mean() - real_logits.mean()  # wgan-gp


def generator_loss(fake_logits: Tensor, kind: str = "non-saturating") -> Tensor:
    """The generator's loss on D's outputs for generated samples, shape (B,) -> scalar.

    - "minimax": minimise E_z[log(1 - D(G(z)))], the value function itself. Its
      gradient vanishes when D confidently rejects the fakes (l -> -inf).
    - "non-saturating": minimise -E_z[log D(G(z))], the fix proposed in the same paper
      (Goodfellow et al., 2014, section 3); same fixed point, strong early gradients.
    - "hinge", "wgan-gp": minimise -E_z[D(G(z))] (Lim & Ye, 2017;
      Arjovsky et al., 2017, algorithm 1; Gulrajani et al., 2017, algorithm 1).
    """
    _check_kind(kind)
    if kind == "minimax":
        return -F.softplus(fake_logits).mean()
    if kind == "non-saturating":
        return F.softplus(-fake_logits).mean()
    return -fake_logits.mean()  # hinge and wgan-gp


def gradient_penalty(
    critic: Callable[[Tensor], Tensor],
    real: Tensor,
    fake: Tensor,
    *,
    generator: torch.Generator | None = None,
) -> Tensor:
    """E[(||grad_x D(x_hat)||_2 - 1)^2] on random interpolates (Gulrajani et al., 2017, eq. 3).

    x_hat = eps * real + (1 - eps) * fake with one eps ~ U(0, 1) per sample; the gradient
    norm is taken per sample over all data dimensions.

    Args:
        critic: (B, *data_shape) -> (B,) or (B, 1) scores.
        real, fake: samples of the same shape (B, *data_shape); fake is detached here.
        generator: optional torch.Generator for eps.
    Returns:
        A scalar (multiply by λ, 10 in the paper, and add to the critic's loss).
    """
    if real.shape != fake.shape:
        raise ValueError(f"real and fake samples must have the same shape, got {tuple(real.shape)} and {tuple(fake.shape)}")
    eps_shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    eps = batch_random(torch.rand, eps_shape, device=real.device, dtype=real.dtype, generator=generator)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    scores = critic(x_hat)
    # create_graph=True: the penalty is itself differentiated w.r.t. the critic's weights.
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    grad_norm = grad.flatten(1).norm(2, dim=1)  # (B,)
    return (grad_norm - 1).pow(2).mean()


def r1_penalty(critic: Callable[[Tensor], Tensor], real: Tensor) -> Tensor:
    """E_x[||grad_x D(x)||_2^2] on real samples (the R1 regulariser of Mescheder et al., 2018, eq. 9).

    Penalising the discriminator's gradient on the data alone keeps it flat where the data are,
    so that at the equilibrium p_g = p_data the game has no force pushing G away; unlike the
    gradient penalty it needs no fake samples and no interpolates.

    Args:
        critic: (B, *data_shape) -> (B,) or (B, 1) scores.
        real: (B, *data_shape) real samples (detached here).
    Returns:
        A scalar; the paper adds γ/2 times it to the discriminator's loss (γ = 10 for its images).
    """
    x = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
    return grad.flatten(1).pow(2).sum(dim=1).mean()


def gaussian_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, diag exp(logvar)) || N(0, I)), summed over the last dimension: (B, d) -> (B,).

    Closed form from Kingma & Welling (2014), appendix B:
    -1/2 * sum(1 + log σ² - μ² - σ²).
    """
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=-1)


def linear_warmup(step: int, steps: int, final: float = 1.0) -> float:
    """A weight that rises linearly from 0 at step 0 to `final` at step `steps`, then stays there.

    The KL annealing of Bowman et al. (2016), computed from the training step alone so that a
    resumed run sees the same weights as an uninterrupted one; steps = 0 gives `final` throughout.
    """
    return final * min(1.0, step / steps) if steps else final


def gaussian_kl_between(mu_q: Tensor, logvar_q: Tensor, mu_p: Tensor, logvar_p: Tensor) -> Tensor:
    """KL(N(mu_q, diag exp(logvar_q)) || N(mu_p, diag exp(logvar_p))), summed over the last dimension.

    Closed form for two diagonal Gaussians, per dimension
    ½ (log σ_p² − log σ_q² + (σ_q² + (μ_q − μ_p)²) / σ_p² − 1); with μ_p = 0, log σ_p² = 0
    it is `gaussian_kl`. Used where the prior is learned, as the VRNN's p(z_t | h_{t−1}).
    """
    return 0.5 * (logvar_p - logvar_q + (logvar_q.exp() + (mu_q - mu_p).pow(2)) * torch.exp(-logvar_p) - 1).sum(dim=-1)


LOG_2PI = math.log(2 * math.pi)


def _logvar(logvar: Tensor | float | None, log_scale: Tensor | float | None, where: str) -> Tensor | float:
    """The log-variance given to `where`, from `log_scale` (log σ, the former argument) with a warning."""
    if log_scale is None:
        return 0.0 if logvar is None else logvar
    if logvar is not None:
        raise TypeError(f"{where} takes logvar (log σ²) or the older log_scale (log σ), not both")
    warnings.warn(f"{where}(..., log_scale=s) is deprecated: genlab's Gaussians take the log-variance, so pass "
                  f"logvar=2 * s", FutureWarning, stacklevel=3)
    return 2 * log_scale


def gaussian_log_density(x: Tensor, mean: Tensor | float = 0.0, *, logvar: Tensor | float | None = None,
                         log_scale: Tensor | float | None = None) -> Tensor:
    """log N(x; mean, σ²) with σ² = exp(logvar), entry by entry (broadcast, no sum); logvar 0 by default.

    log N(x; μ, σ²) = −½ ((x − μ)/σ)² − log σ − ½ log 2π (Bishop, 2006, eq. 1.46), computed with
    log σ = ½ logvar. Every Gaussian density in genlab — likelihoods, priors, posteriors,
    importance weights — is this one function, summed over the axes that make one sample.

    Like every Gaussian in `genlab.losses`, it takes the log-variance log σ², the encoders'
    output (`VAE.encode` returns (mu, logvar)); a network that outputs log σ passes 2 * log σ.
    `log_scale` (log σ) is the former, deprecated argument, kept for older code.
    """
    logvar = _logvar(logvar, log_scale, "gaussian_log_density")
    log_sigma = 0.5 * torch.as_tensor(logvar, dtype=x.dtype, device=x.device)
    z = (x - mean) * torch.exp(-log_sigma)
    return -0.5 * z.pow(2) - log_sigma - 0.5 * LOG_2PI


def gaussian_log_likelihood(x: Tensor, mean: Tensor, *, logvar: Tensor | None = None,
                            log_scale: Tensor | None = None) -> Tensor:
    """log N(x; mean, diag exp(logvar)), summed over all but the batch dimension: -> (B,).

    `log_scale` (log σ) is the former, deprecated argument: pass logvar = 2 * log_scale.
    """
    logvar = _logvar(logvar, log_scale, "gaussian_log_likelihood")
    return gaussian_log_density(x, mean, logvar=logvar).flatten(1).sum(dim=1)


def standard_normal_log_prob(z: Tensor) -> Tensor:
    """log N(z; 0, I), summed over the last dimension: (..., d) -> (...)."""
    return gaussian_log_density(z).sum(dim=-1)


def diagonal_normal_log_prob(z: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    """log N(z; μ, diag exp(logvar)), summed over the last dimension: (..., d) -> (...)."""
    return gaussian_log_density(z, mu, logvar=logvar).sum(dim=-1)


def reparameterize(
    mu: Tensor, logvar: Tensor, samples: tuple[int, ...] = (), *, generator: torch.Generator | None = None
) -> Tensor:
    """z = μ + σ ⊙ ε with ε ~ N(0, I): a draw from N(μ, diag exp(logvar)) that gradients flow through.

    The reparameterisation trick (Kingma & Welling, 2014, section 2.4): the randomness is in
    ε alone, so z is a differentiable function of μ and log σ². `samples` prepends axes for
    several draws per row: shape (*samples, *mu.shape).
    """
    eps = batch_random(torch.randn, (*samples, *mu.shape), batch_dim=len(samples), device=mu.device, dtype=mu.dtype,
                       generator=generator)
    return mu + torch.exp(0.5 * logvar) * eps


def bernoulli_log_likelihood(x: Tensor, logits: Tensor) -> Tensor:
    """log Bernoulli(x; sigmoid(logits)) for x in [0, 1], summed over all but the batch dimension."""
    return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(dim=1)
