"""An exponential moving average of a network's weights, sampled from instead of the network.

θ̄ ← β θ̄ + (1 − β) θ after every update of θ. Averaging the iterates cancels the oscillation
around the equilibrium that a two-player game causes (Yazıcı et al., 2019, for GAN
generators), and the noise of late small-batch steps (Ho et al., 2020, sample their DDPM
from such an average). `GAN(ema=β)` and `DDPM(ema=β)` keep one.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


def frozen_copy(net: nn.Module) -> nn.Module:
    """The average's starting point: a copy of `net` that no optimizer trains (saved in checkpoints)."""
    return copy.deepcopy(net).requires_grad_(False)


@torch.no_grad()
def update_average(average: nn.Module, net: nn.Module, decay: float, copy_buffers: bool = False) -> None:
    """θ̄ ← decay · θ̄ + (1 − decay) · θ for every parameter; with `copy_buffers`, buffers (batch-norm
    statistics) are copied from `net`, since an average of running statistics describes no network."""
    for p_avg, p in zip(average.parameters(), net.parameters()):
        p_avg.lerp_(p, 1 - decay)
    if copy_buffers:
        for b_avg, b in zip(average.buffers(), net.buffers()):
            b_avg.copy_(b)
