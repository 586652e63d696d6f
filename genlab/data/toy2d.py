"""Two-dimensional Gaussian mixtures: the ring and the grid of the mode-collapse literature.

Both follow the PacGAN protocol (Lin et al., 2018): the ring has 8 modes on the unit
circle with standard deviation 0.01, the grid has 25 modes on {-4, -2, 0, 2, 4}^2
with standard deviation 0.05. Components are equally likely.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class GaussianMixture2D:
    """An equal-weight mixture of isotropic Gaussians in the plane.

    Attributes:
        centers: mode centres, shape (K, 2).
        std: the standard deviation shared by every mode and both coordinates.
        name: a short label used in plots and tables.
    """

    centers: Tensor
    std: float
    name: str = "mixture"

    def __post_init__(self) -> None:
        if self.centers.ndim != 2 or self.centers.shape[1] != 2:
            raise ValueError(f"centers must have shape (K, 2), got {tuple(self.centers.shape)}")
        if not self.std > 0:
            raise ValueError(f"std must be positive, got {self.std}")

    @property
    def n_modes(self) -> int:
        return self.centers.shape[0]

    def sample(self, n: int, *, seed: int | None = None, generator: torch.Generator | None = None) -> Tensor:
        """Draw n points, shape (n, 2): a uniformly chosen mode plus isotropic noise.

        Give either a seed (reproducible on its own) or a generator (to continue a stream).
        """
        if n < 0:
            raise ValueError(f"cannot draw a negative number of samples (n={n})")
        if generator is None:
            generator = torch.Generator()
            generator.manual_seed(seed if seed is not None else torch.seed())
        component = torch.randint(self.n_modes, (n,), generator=generator)
        noise = torch.randn(n, 2, generator=generator)
        return self.centers[component] + self.std * noise

    def log_prob(self, x: Tensor) -> Tensor:
        """Exact log-density of points x, shape (n, 2) -> (n,)."""
        if x.ndim != 2 or x.shape[1] != 2:
            raise ValueError(f"x must have shape (n, 2), got {tuple(x.shape)}")
        sq = torch.cdist(x.double(), self.centers.double()).pow(2)  # (n, K)
        log_normal = -sq / (2 * self.std**2) - math.log(2 * math.pi * self.std**2)
        return (torch.logsumexp(log_normal, dim=1) - math.log(self.n_modes)).to(x.dtype)


def ring(n_modes: int = 8, radius: float = 1.0, std: float = 0.01) -> GaussianMixture2D:
    """Modes at radius * (cos 2πk/K, sin 2πk/K), k = 0..K-1 (K distinct angles; 2π itself is excluded)."""
    if n_modes < 1:
        raise ValueError(f"n_modes must be at least 1, got {n_modes}")
    angles = 2 * math.pi * torch.arange(n_modes, dtype=torch.float64) / n_modes
    centers = radius * torch.stack([angles.cos(), angles.sin()], dim=1)
    return GaussianMixture2D(centers.float(), std, name="ring")


def grid(side: int = 5, spacing: float = 2.0, std: float = 0.05) -> GaussianMixture2D:
    """Modes on a side x side lattice centred at the origin: {-4, -2, 0, 2, 4}^2 by default."""
    if side < 1:
        raise ValueError(f"side must be at least 1, got {side}")
    axis = spacing * (torch.arange(side, dtype=torch.float32) - (side - 1) / 2)
    xs, ys = torch.meshgrid(axis, axis, indexing="ij")
    centers = torch.stack([xs.flatten(), ys.flatten()], dim=1)
    return GaussianMixture2D(centers, std, name="grid")
