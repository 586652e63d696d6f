"""Reusable network blocks shared by the models."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn


def MLP(
    in_dim: int,
    out_dim: int,
    hidden: int = 128,
    depth: int = 3,
    activation: Callable[[], nn.Module] = nn.ReLU,
    out_activation: nn.Module | None = None,
) -> nn.Sequential:
    """A multilayer perceptron with `depth` hidden layers of width `hidden`.

    (B, in_dim) -> (B, out_dim). `depth=0` gives a single linear map.
    """
    if min(in_dim, out_dim, hidden) < 1 or depth < 0:
        raise ValueError(f"impossible MLP size: in={in_dim}, out={out_dim}, hidden={hidden}, depth={depth}")
    layers: list[nn.Module] = []
    width = in_dim
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), activation()]
        width = hidden
    layers.append(nn.Linear(width, out_dim))
    if out_activation is not None:
        layers.append(out_activation)
    return nn.Sequential(*layers)
