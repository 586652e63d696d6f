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

from genlab.checks import check_count, check_memory, check_positive, check_seed, check_tensor


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
        check_tensor(self.centers, "centers", ndim=2, shape="(K, 2)", floating=True)
        if self.centers.shape[1] != 2:
            raise ValueError(f"centers must have shape (K, 2), got {tuple(self.centers.shape)}")
        check_tensor(self.centers, "centers", nonempty=True, finite=True)
        check_positive(self.std, "std")
        if not isinstance(self.name, str):
            raise TypeError(f"name must be a string, got {type(self.name).__name__}")

    @property
    def n_modes(self) -> int:
        return self.centers.shape[0]

    def sample(self, n: int, *, seed: int | None = None, generator: torch.Generator | None = None) -> Tensor:
        """Draw n points, shape (n, 2): a uniformly chosen mode plus isotropic noise.

        Give either a seed (reproducible on its own) or a generator (to continue a stream), not both.
        """
        n = check_count(n, "n")  # "n must be a non-negative integer, got -1"
        check_memory(n * 32, f"n = {n} points")
        if seed is not None:
            seed = check_seed(seed)
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
        if seed is not None and generator is not None:
            raise ValueError("give either seed or generator, not both: the seed would be ignored")
        if generator is None:
            generator = torch.Generator()
            generator.manual_seed(seed if seed is not None else torch.seed())
        component = torch.randint(self.n_modes, (n,), generator=generator)
        noise = torch.randn(n, 2, generator=generator)
        return self.centers[component] + self.std * noise

    def log_prob(self, x: Tensor) -> Tensor:
        """Exact log-density of points x, shape (n, 2) -> (n,), in x's floating-point dtype.

        Infinite points get log-density −inf; NaN points are refused.
        """
        check_tensor(x, "x", ndim=2, shape="(n, 2)", floating=True)
        if x.shape[1] != 2:
            raise ValueError(f"x must have shape (n, 2), got {tuple(x.shape)}")
        if torch.isnan(x).any():
            raise ValueError("x contains NaN: a point with a NaN coordinate has no density")
        sq = torch.cdist(x.double(), self.centers.double()).pow(2)  # (n, K)
        log_normal = -sq / (2 * self.std**2) - math.log(2 * math.pi * self.std**2)
        return (torch.logsumexp(log_normal, dim=1) - math.log(self.n_modes)).to(x.dtype)


def ring(n_modes: int = 8, radius: float = 1.0, std: float = 0.01) -> GaussianMixture2D:
    """Modes at radius * (cos 2πk/K, sin 2πk/K), k = 0..K-1 (K distinct angles; 2π itself is excluded).

    n_modes is a positive integer, radius and std finite numbers > 0.
    """
    check_count(n_modes, "n_modes", minimum=1)
    check_positive(radius, "radius")
    check_positive(std, "std")
    angles = 2 * math.pi * torch.arange(n_modes, dtype=torch.float64) / n_modes
    centers = radius * torch.stack([angles.cos(), angles.sin()], dim=1)
    return GaussianMixture2D(centers.float(), std, name="ring")


def grid(side: int = 5, spacing: float = 2.0, std: float = 0.05) -> GaussianMixture2D:
    """Modes on a side x side lattice centred at the origin: {-4, -2, 0, 2, 4}^2 by default.

    side is a positive integer, spacing and std finite numbers > 0.
    """
    check_count(side, "side", minimum=1)
    check_positive(spacing, "spacing")
    check_positive(std, "std")
    axis = spacing * (torch.arange(side, dtype=torch.float32) - (side - 1) / 2)
    xs, ys = torch.meshgrid(axis, axis, indexing="ij")
    centers = torch.stack([xs.flatten(), ys.flatten()], dim=1)
    return GaussianMixture2D(centers, std, name="grid")
