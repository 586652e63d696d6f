"""Discriminator rejection sampling (DRS, Azadi et al., 2019): a trained GAN's samples, filtered.

A logit-trained discriminator D near its optimum estimates log p_data(x) / p_g(x) up to a
constant, so accepting the generator's samples with probability ∝ p_data / p_g corrects p_g
towards p_data. DRS accepts x with probability σ(F(x) − γ), where

    F(x) = l(x) − l_max − log(1 − exp(l(x) − l_max − ε)),

l the logit, l_max the largest logit seen so far and ε = 1e-6 (section 3.2 of the paper); γ is
a quantile of F over a burn-in batch, so a larger quantile rejects more. Only the model's own
networks are used — no training data — but the result is a different sampler from `sample`,
and a slower one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor

from genlab.checks import check_fraction
from genlab.models.base import check_count

if TYPE_CHECKING:
    from genlab.models.gan import GAN


def f_score(logit: Tensor, l_max: Tensor) -> Tensor:
    """F(x) from the logit l(x) and the largest logit seen, l_max."""
    d = logit - l_max
    return d - torch.log1p(-torch.exp(d - 1e-6))


@torch.no_grad()
def rejection_sample(gan: GAN, n: int, *, quantile: float = 0.8, burn_in: int = 10_000, batch_size: int = 10_000,
                     generator: torch.Generator | None = None) -> Tensor:
    """n samples of `gan` kept by DRS, (n, *data_shape); see the module docstring. (`GAN.rejection_sample`
    checks n and the generator, then calls this.)"""
    check_count(burn_in, "burn_in", minimum=1)
    check_count(batch_size, "batch_size", minimum=1)
    if gan.conditional:
        raise ValueError("rejection sampling is implemented for unconditional GANs only")
    if gan.loss not in ("non-saturating", "minimax") or gan.pack != 1:
        raise ValueError(
            "rejection sampling needs a discriminator whose logit estimates log p_data/p_g: a GAN "
            f"trained with the minimax or non-saturating loss and pack=1 (this one: loss={gan.loss!r}, pack={gan.pack})"
        )
    check_fraction(quantile, "quantile")

    def draw(m: int) -> Tensor:
        return gan.sampler(gan.prior(m, generator))

    with gan.evaluating():  # every exit, an error included, restores the mode the model was in
        l_max = gan.logits(draw(burn_in)).max()
        burn = gan.logits(draw(burn_in))
        if not (torch.isfinite(l_max) and torch.isfinite(burn).all()):
            raise ValueError(
                "the discriminator gives NaN or infinite logits, so it cannot rank samples for rejection "
                "sampling; check that its training did not diverge"
            )
        gamma = torch.quantile(f_score(burn, torch.maximum(l_max, burn.max())), quantile)
        kept: list[Tensor] = []
        total, tried = 0, 0
        while total < n:
            tried += 1
            if tried > 1000 and total == 0:
                raise RuntimeError(f"rejection sampling accepted nothing in {tried - 1} batches of "
                                   f"{batch_size}; lower the quantile")
            x = draw(batch_size)
            logit = gan.logits(x)
            l_max = torch.maximum(l_max, logit.max())
            u = torch.rand(batch_size, device=gan.device, generator=generator)
            accept = u < torch.sigmoid(f_score(logit, l_max) - gamma)
            kept.append(x[accept])
            total += int(accept.sum())
    return torch.cat(kept)[:n].reshape(n, *gan.data_shape)
