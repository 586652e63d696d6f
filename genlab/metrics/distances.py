"""Distances between two sets of samples: MMD, energy distance, Fréchet distance, precision and recall.

Each function compares samples x (n, d) from one distribution with samples y (m, d) from
another — generated against real data, or real against real for the floor that finite
samples leave. Inputs may live on any device; the arithmetic is done in float64 on the
device of x, and the results are Python floats.

- `mmd`: maximum mean discrepancy with a Gaussian (RBF) kernel (Gretton et al., 2012).
- `energy_distance`: Székely & Rizzo's energy statistic, kernel-free.
- `frechet_distance`: the 2-Wasserstein distance between Gaussians fitted to two feature
  sets, the formula behind FID (Heusel et al., 2017).
- `precision_recall`: quality and diversity separately, with k-nearest-neighbour manifolds
  (Kynkäänniemi et al., 2019).

Pairwise distances are computed in row blocks, so 10,000 × 10,000 comparisons need tens of
megabytes, not gigabytes.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from genlab.checks import check_count

# Entries of one block of pairwise distances (float64): 2**22 entries are 32 MiB.
BLOCK_ENTRIES = 2**22
# The median heuristic looks at no more than this many pooled points (evenly spaced), so its
# cost stays bounded while remaining deterministic.
MEDIAN_POINTS = 2_000


def _as_samples(x: Tensor, name: str, device: torch.device | None = None) -> Tensor:
    """Check that x is an (n, d) finite array; return it as float64 on `device` (default: its own)."""
    if not isinstance(x, Tensor):
        try:
            x = torch.as_tensor(x)
        except (TypeError, ValueError, RuntimeError) as err:
            raise TypeError(f"{name} must be a tensor of shape (n, d), got {type(x).__name__}") from err
    if x.ndim != 2:
        raise ValueError(f"{name} must have shape (n, d) — one row per sample — got shape {tuple(x.shape)}")
    if x.is_complex() or x.dtype == torch.bool:
        raise TypeError(f"{name} must hold real numbers, got dtype {x.dtype}")
    if x.shape[1] == 0:
        raise ValueError(f"{name} must have at least one feature (column), got shape {tuple(x.shape)}")
    x = x.detach().to(device if device is not None else x.device, torch.float64)
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return x


def _pair(x: Tensor, y: Tensor, min_samples: int = 2, names: tuple[str, str] = ("x", "y")) -> tuple[Tensor, Tensor]:
    """Validate two sample sets against each other; both come back as float64 on x's device."""
    x = _as_samples(x, names[0])
    y = _as_samples(y, names[1], x.device)
    if x.shape[1] != y.shape[1]:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same feature dimension, got {x.shape[1]} and {y.shape[1]}"
        )
    for name, s in zip(names, (x, y)):
        if len(s) < min_samples:
            raise ValueError(f"{name} needs at least {min_samples} samples, got {len(s)}")
    return x, y


def _blocked_sum(a: Tensor, b: Tensor, fn: Callable[[Tensor], Tensor]) -> Tensor:
    """Σ_ij fn(‖a_i − b_j‖²), computed over row blocks of a. Returns a 0-d float64 tensor."""
    rows = max(1, BLOCK_ENTRIES // max(len(b), 1))
    total = torch.zeros((), dtype=torch.float64, device=a.device)
    for start in range(0, len(a), rows):
        sq = torch.cdist(a[start : start + rows], b).pow(2)  # (rows, m)
        total = total + fn(sq).sum()
    return total


# --- maximum mean discrepancy -------------------------------------------------------------


def median_bandwidth(x: Tensor, y: Tensor) -> float:
    """Median pairwise Euclidean distance of the pooled sample (the "median heuristic").

    x: (n, d), y: (m, d). At most `MEDIAN_POINTS` evenly spaced pooled points are used,
    so the result is deterministic and cheap for large sets. For an even number of pairs the
    lower of the two middle values is taken (`torch.median`). Distances of a point to
    itself are left out. Raises ValueError when all points coincide (the median is 0).
    """
    x, y = _pair(x, y, min_samples=1)
    pooled = torch.cat([x, y])
    if len(pooled) > MEDIAN_POINTS:
        pooled = pooled[torch.linspace(0, len(pooled) - 1, MEDIAN_POINTS, device=pooled.device).long()]
    d = torch.cdist(pooled, pooled)
    upper = torch.triu_indices(len(pooled), len(pooled), offset=1, device=pooled.device)
    median = d[upper[0], upper[1]].median().item()
    if not median > 0:
        raise ValueError("the median heuristic needs distinct points: the median pairwise distance is 0")
    return median


def _bandwidths(x: Tensor, y: Tensor, bandwidth: float | Sequence[float] | None) -> list[float]:
    if bandwidth is None:
        return [median_bandwidth(x, y)]
    if isinstance(bandwidth, numbers.Real):
        values = [bandwidth]
    elif isinstance(bandwidth, (str, bytes)):
        raise ValueError(f"bandwidth must be None, a positive number or a sequence of them, got {bandwidth!r}")
    else:
        try:
            values = list(bandwidth)
        except TypeError:
            raise ValueError(
                f"bandwidth must be None, a positive number or a sequence of them, got {type(bandwidth).__name__}"
            ) from None
    if not values:
        raise ValueError("bandwidth must be None, a positive number or a non-empty sequence of them")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v) or not v > 0:
            raise ValueError(f"every bandwidth must be a positive finite number, got {v!r}")
    return [float(v) for v in values]


def mmd(x: Tensor, y: Tensor, bandwidth: float | Sequence[float] | None = None) -> float:
    """Unbiased estimate of the squared maximum mean discrepancy between x (n, d) and y (m, d).

    The kernel is k(a, b) = Σ_ℓ exp(−‖a − b‖² / (2ℓ²)), one Gaussian term per bandwidth ℓ:
    `bandwidth` None uses the median heuristic (`median_bandwidth`), a number one ℓ, a
    sequence several (a sum of kernels sees differences at several scales at once).

    Being unbiased, the estimate averages to the true MMD² ≥ 0 but a single value can be
    slightly negative when the two distributions are equal or close; its noise shrinks
    like 1/n. Needs at least 2 samples in each set.
    """
    x, y = _pair(x, y)
    scales = _bandwidths(x, y, bandwidth)

    def kernel(sq: Tensor) -> Tensor:
        return sum(torch.exp(-sq / (2 * ell**2)) for ell in scales)

    n, m = len(x), len(y)
    diagonal = len(scales)  # k(a, a) = 1 per kernel term
    # Gretton et al. (2012), eq. 3: MMD²_u = 1/(n(n−1)) Σ_{i≠j} k(x_i, x_j)
    #   + 1/(m(m−1)) Σ_{i≠j} k(y_i, y_j) − 2/(nm) Σ_{i,j} k(x_i, y_j).
    k_xx = (_blocked_sum(x, x, kernel) - n * diagonal) / (n * (n - 1))
    k_yy = (_blocked_sum(y, y, kernel) - m * diagonal) / (m * (m - 1))
    k_xy = _blocked_sum(x, y, kernel) / (n * m)
    return (k_xx + k_yy - 2 * k_xy).item()


# --- energy distance ----------------------------------------------------------------------


def energy_distance(x: Tensor, y: Tensor) -> float:
    """Energy distance 2E‖X − Y‖ − E‖X − X'‖ − E‖Y − Y'‖ between x (n, d) and y (m, d).

    Székely & Rizzo (2013), eq. 2.1. The within-set expectations are U-statistics (pairs
    i ≠ j, divided by n(n − 1)), so the estimate is unbiased and can be slightly negative
    for equal distributions. It is zero in the population exactly when the distributions
    are equal, is invariant to translations and rotations, and needs no bandwidth.
    Needs at least 2 samples in each set.
    """
    x, y = _pair(x, y)
    n, m = len(x), len(y)
    distance = torch.sqrt  # fn receives squared distances; the diagonal contributes 0
    e_xy = _blocked_sum(x, y, distance) / (n * m)
    e_xx = _blocked_sum(x, x, distance) / (n * (n - 1))
    e_yy = _blocked_sum(y, y, distance) / (m * (m - 1))
    return (2 * e_xy - e_xx - e_yy).item()


# --- Fréchet distance ---------------------------------------------------------------------


def _symmetric_sqrt(c: Tensor) -> Tensor:
    """Square root of a symmetric positive semi-definite matrix via its eigendecomposition."""
    values, vectors = torch.linalg.eigh((c + c.T) / 2)
    # Round-off can make zero eigenvalues of a PSD matrix slightly negative.
    return (vectors * values.clamp(min=0).sqrt()) @ vectors.T


def _as_real(value: object, name: str) -> Tensor:
    """value as a tensor of real numbers, or a TypeError naming `name`."""
    try:
        t = torch.as_tensor(value)
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(f"{name} must be a tensor of real numbers, got {type(value).__name__}") from err
    if t.is_complex() or t.dtype == torch.bool:
        raise TypeError(f"{name} must hold real numbers, got dtype {t.dtype}")
    return t


def frechet_distance_from_moments(mu1: Tensor, cov1: Tensor, mu2: Tensor, cov2: Tensor) -> float:
    """Fréchet (2-Wasserstein²) distance between N(mu1, cov1) and N(mu2, cov2); mu: (d,), cov: (d, d).

        d² = ‖μ1 − μ2‖² + tr(C1 + C2 − 2 (C1^{1/2} C2 C1^{1/2})^{1/2})

    (Dowson & Landau, 1982; the formula of FID, Heusel et al., 2017, eq. 6). The matrix square
    roots use symmetric eigendecompositions, with eigenvalues clamped at 0, instead of a general
    `sqrtm`: C1^{1/2} C2 C1^{1/2} is symmetric PSD, so this is exact up to round-off and stable.
    """
    mus, covs = [], []
    for name, mu, cov in (("1", mu1, cov1), ("2", mu2, cov2)):
        mu = _as_real(mu, f"mu{name}").detach().to(torch.float64)
        cov = _as_real(cov, f"cov{name}").detach().to(mu.device, torch.float64)
        if mu.ndim != 1:
            raise ValueError(f"mu{name} must be a vector (d,), got shape {tuple(mu.shape)}")
        if cov.shape != (len(mu), len(mu)):
            raise ValueError(f"cov{name} must have shape ({len(mu)}, {len(mu)}) to match mu{name}, got {tuple(cov.shape)}")
        if not (torch.isfinite(mu).all() and torch.isfinite(cov).all()):
            raise ValueError(f"mu{name} or cov{name} contains NaN or infinite values")
        if len(mu) == 0:
            raise ValueError(f"mu{name} is empty: the Gaussians need at least one dimension")
        if (cov - cov.T).abs().max() > 1e-5 * cov.abs().max():
            raise ValueError(f"cov{name} must be a symmetric covariance matrix, got an asymmetric one")
        mus.append(mu)
        covs.append(cov)
    if len(mus[0]) != len(mus[1]):
        raise ValueError(f"the two Gaussians must have the same dimension, got {len(mus[0])} and {len(mus[1])}")
    mu1, mu2 = mus[0], mus[1].to(mus[0].device)
    c1, c2 = covs[0], covs[1].to(mus[0].device)
    root1 = _symmetric_sqrt(c1)
    middle = root1 @ c2 @ root1
    trace_sqrt = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp(min=0).sqrt().sum()
    d2 = (mu1 - mu2).pow(2).sum() + torch.trace(c1) + torch.trace(c2) - 2 * trace_sqrt
    return max(d2.item(), 0.0)  # ≥ 0 in exact arithmetic; round-off can leave −1e-15


def frechet_distance(x: Tensor, y: Tensor) -> float:
    """Fréchet distance between Gaussians fitted to feature sets x (n, d) and y (m, d).

    Means and unbiased covariances of each set go into `frechet_distance_from_moments`.
    On a digit classifier's features this is the "Fréchet distance" of the book's image
    tables (FID uses Inception features instead). The estimate is biased upwards for small
    sets: always compare it with the real-vs-real value at the same sizes.

    A set with no more samples than dimensions has a singular covariance: the distance is still
    computed (singular covariances are allowed), but a UserWarning naming the set says that it
    is then dominated by the sample size.
    """
    x, y = _pair(x, y)
    for name, s in (("x", x), ("y", y)):
        if len(s) <= s.shape[1]:
            warnings.warn(
                f"frechet_distance: {name} has {len(s)} samples in {s.shape[1]} dimensions, so its covariance is "
                f"singular and the distance mostly measures the sample size; use more than {s.shape[1]} samples",
                UserWarning, stacklevel=2)
    return frechet_distance_from_moments(x.mean(0), torch.cov(x.T).reshape(x.shape[1], -1),
                                         y.mean(0), torch.cov(y.T).reshape(y.shape[1], -1))


# --- precision and recall -----------------------------------------------------------------


@dataclass(frozen=True)
class PrecisionRecall:
    """Improved precision and recall (Kynkäänniemi et al., 2019).

    Attributes:
        precision: fraction of generated samples inside the real data's k-NN manifold (quality).
        recall: fraction of real samples inside the generated data's k-NN manifold (diversity).
    """

    precision: float
    recall: float


def _knn_radii(points: Tensor, k: int) -> Tensor:
    """Distance from each point (n, d) to its k-th nearest other point, (n,)."""
    rows = max(1, BLOCK_ENTRIES // len(points))
    radii = []
    for start in range(0, len(points), rows):
        d = torch.cdist(points[start : start + rows], points)  # (rows, n), includes the point itself
        radii.append(d.topk(k + 1, dim=1, largest=False).values[:, k])  # index 0 is the point itself
    return torch.cat(radii)


def _inside_manifold(queries: Tensor, support: Tensor, radii: Tensor) -> Tensor:
    """Boolean (q,): is each query within radii[i] of some support point i?"""
    rows = max(1, BLOCK_ENTRIES // len(support))
    inside = []
    for start in range(0, len(queries), rows):
        d = torch.cdist(queries[start : start + rows], support)  # (rows, s)
        inside.append((d <= radii).any(dim=1))
    return torch.cat(inside)


def precision_recall(real: Tensor, fake: Tensor, k: int = 3) -> PrecisionRecall:
    """Precision and recall of generated samples fake (m, d) against real samples real (n, d).

    Each set's manifold is the union of balls around its samples, each ball reaching that
    sample's k-th nearest neighbour in the same set (Kynkäänniemi et al., 2019, eq. 1–2).
    A fake sample counts toward precision if it lies in the real manifold; a real sample
    counts toward recall if it lies in the fake manifold. So precision(real, fake) equals
    recall(fake, real). Both sets need at least k + 1 samples; use equal sizes to compare runs.
    """
    k = check_count(k, "k", minimum=1)  # "k must be a positive integer, got 0": the number of neighbours
    real, fake = _pair(real, fake, min_samples=k + 1, names=("real", "fake"))
    real_radii, fake_radii = _knn_radii(real, k), _knn_radii(fake, k)
    precision = _inside_manifold(fake, real, real_radii).double().mean().item()
    recall = _inside_manifold(real, fake, fake_radii).double().mean().item()
    return PrecisionRecall(precision=precision, recall=recall)
