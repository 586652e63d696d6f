"""Mode coverage on 2-D Gaussian mixtures, following the PacGAN protocol (Lin et al., 2018).

Each generated sample is assigned to its nearest mode in units of the mode's std
(the Mahalanobis distance of an isotropic Gaussian). A sample closer than 3 std is
*high quality*; a mode with at least one high-quality sample is *captured*; the
reverse KL compares the histogram of high-quality samples over modes with the
uniform distribution. We add the *spread*: how wide the high-quality samples are
inside their modes, relative to the truth — 1.0 for a perfect sampler, below 1 for
samples packed too tightly around the centres (collapse inside a mode) — and the
*core*: the share of high-quality samples within one std of their centre, relative to
the truth. The spread saturates for samples that are too wide (samples spread evenly
over the 3-std disc already score 1.54, near the ceiling of what the cut allows); the
core keeps ranking them (that uniform disc scores 0.28).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import NamedTuple

import torch
from torch import Tensor

from genlab.checks import check_positive, check_seed
from genlab.data.toy2d import GaussianMixture2D
from genlab.metrics.distances import mmd

# For a 2-D standard normal, r² ~ χ²₂ (exponential with mean 2). Given r < t:
# P(r < t) = 1 - exp(-t²/2) and E[r² | r < t] = 2 - t² exp(-t²/2) / (1 - exp(-t²/2)).


def kl_to_uniform(counts: Tensor) -> float:
    """KL(p̂ ‖ uniform) in nats for a histogram `counts` (K,) over K bins: Σ p log(p K)."""
    try:
        counts = torch.as_tensor(counts, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(f"counts must be a 1-D histogram of numbers, got {type(counts).__name__}") from err
    if counts.ndim != 1 or len(counts) == 0:
        raise ValueError(f"counts must be a non-empty 1-D histogram, got shape {tuple(counts.shape)}")
    if not torch.isfinite(counts).all():
        raise ValueError("counts contains NaN or infinite values; it must be a histogram of finite counts")
    if (counts < 0).any() or counts.sum() <= 0:
        raise ValueError("counts must be non-negative with a positive total")
    p = counts[counts > 0] / counts.sum()  # empty bins contribute 0 · log 0 = 0
    return float((p * torch.log(p * len(counts))).sum())


def truncated_fraction(threshold: float) -> float:
    """Fraction of a true mode's samples within `threshold` std (finite, > 0): 0.98889 for 3."""
    threshold = check_positive(threshold, "threshold")
    return 1 - math.exp(-(threshold**2) / 2)


def core_fraction(threshold: float, core: float = 1.0) -> float:
    """Fraction of a true mode's samples within `threshold` std that also lie within `core` std: 0.398 for 3 and 1."""
    core = check_positive(core, "core")
    return (1 - math.exp(-(core**2) / 2)) / truncated_fraction(threshold)


def truncated_rms(threshold: float) -> float:
    """Per-coordinate RMS offset, in std units, of true samples within `threshold` std (finite, > 0): 0.9744 for 3."""
    threshold = check_positive(threshold, "threshold")
    tail = math.exp(-(threshold**2) / 2)
    return math.sqrt((2 - threshold**2 * tail / (1 - tail)) / 2)


@dataclass(frozen=True)
class ModeCoverage:
    """Mode-coverage figures for one set of samples.

    Attributes:
        modes: number of modes captured (at most mixture.n_modes).
        high_quality: fraction of samples within `threshold` std of their nearest mode.
        reverse_kl: KL(p̂ ‖ uniform) for the histogram p̂ of high-quality samples over modes
            (inf when there is no high-quality sample).
        spread: RMS offset of high-quality samples from their mode centre, divided by what
            true samples give under the same cut (so 1.0 is right; nan without HQ samples).
        core: share of high-quality samples within 1 std of their mode centre, divided by
            what true samples give (0.398), so 1.0 is right, below 1 too wide, above 1 too
            tight (nan without HQ samples).
        counts: high-quality samples per mode, shape (K,).
    """

    modes: int
    high_quality: float
    reverse_kl: float
    spread: float
    core: float
    counts: Tensor

    def as_dict(self) -> dict[str, float]:
        d = asdict(self)
        d.pop("counts")
        return d


def _check_mixture(mixture: object) -> GaussianMixture2D:
    if not isinstance(mixture, GaussianMixture2D):
        raise TypeError(
            f"mixture must be a GaussianMixture2D (e.g. genlab.data.ring()), got {type(mixture).__name__}"
        )
    return mixture


def _check_points(samples: object) -> Tensor:
    """samples as a tensor of shape (n, 2) holding real numbers, or an error naming `samples`."""
    try:
        x = torch.as_tensor(samples)
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(f"samples must be a tensor of shape (n, 2), got {type(samples).__name__}") from err
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"samples must have shape (n, 2), got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"samples must hold real numbers as floating-point coordinates, got dtype {x.dtype} (convert "
                        f"with samples.float() if integer coordinates are really meant)")
    return x


def mode_coverage(samples: Tensor, mixture: GaussianMixture2D, threshold: float = 3.0) -> ModeCoverage:
    """Score samples (n, 2) against the mixture they should come from.

    samples must be finite (at least one); threshold, in std units, a finite number > 0.
    """
    threshold = check_positive(threshold, "threshold")
    _check_mixture(mixture)
    x = _check_points(samples).detach().to("cpu", torch.float64)
    if len(x) == 0:
        raise ValueError("samples is empty: no samples to score")
    if not torch.isfinite(x).all():
        raise ValueError("samples contain NaN or infinite values")
    centers = mixture.centers.to(torch.float64)
    distance, nearest = (torch.cdist(x, centers) / mixture.std).min(dim=1)  # (n,) in std units
    hq = distance < threshold
    counts = torch.bincount(nearest[hq], minlength=mixture.n_modes)
    n_hq = int(hq.sum())
    if n_hq:
        reverse_kl = kl_to_uniform(counts)
        rms = float(distance[hq].pow(2).mean().div(2).sqrt())  # per-coordinate RMS, std units
        spread = rms / truncated_rms(threshold)
        core = float((distance[hq] < 1).double().mean()) / core_fraction(threshold)
    else:
        reverse_kl, spread, core = math.inf, math.nan, math.nan
    return ModeCoverage(
        modes=int((counts > 0).sum()),
        high_quality=n_hq / len(x),
        reverse_kl=reverse_kl,
        spread=spread,
        core=core,
        counts=counts,
    )


# --- MMD to the true mixture --------------------------------------------------------------


class MixtureMMD(NamedTuple):
    """The MMD of samples to the true mixture, and what two true samples of that size give."""

    mmd: float
    floor: float


def mixture_bandwidths(mixture: GaussianMixture2D) -> tuple[float, float]:
    """The two RBF bandwidths `mixture_mmd` sums: (std, half the smallest distance between centres).

    The narrow kernel (ℓ = σ) only compares points within one mode, so it reacts to the shape
    of each mode: samples too wide, too tight, or off-centre. The wide kernel (half the
    mode spacing, 0.38 on the ring and 1.0 on the grid) still separates neighbouring modes
    but mostly measures how much mass each mode receives, so it reacts to missing or
    unevenly weighted modes even when the samples inside each mode are perfect.
    A median-heuristic bandwidth would be of the order of the whole ring or grid and see
    neither well.
    """
    _check_mixture(mixture)
    c = mixture.centers.to(torch.float64)
    d = torch.cdist(c, c)
    off_diagonal = d[~torch.eye(len(c), dtype=torch.bool)]
    spacing = off_diagonal[off_diagonal > 0].min().item() if len(c) > 1 else 1.0
    return mixture.std, spacing / 2


def mixture_mmd(samples: Tensor, mixture: GaussianMixture2D, seed: int = 0) -> MixtureMMD:
    """Squared MMD between samples (n, 2) and n fresh samples of the true mixture, with its floor.

    Uses `genlab.metrics.mmd` (unbiased) with the fixed pair of bandwidths of
    `mixture_bandwidths`, so numbers are comparable across models and runs on one mixture.
    `floor` is the same statistic between two independent true samples of size n: a value
    near it means the samples cannot be told apart from the mixture at this sample size.
    Both reference draws come from `seed`. samples must be finite.
    """
    _check_mixture(mixture)
    x = _check_points(samples)
    if len(x) < 2:
        raise ValueError(f"samples needs at least 2 samples for an MMD, got {len(x)}")
    if x.is_floating_point() and not torch.isfinite(x).all():
        raise ValueError("samples contain NaN or infinite values")
    g = torch.Generator().manual_seed(check_seed(seed))
    reference = mixture.sample(len(x), generator=g)
    second = mixture.sample(len(x), generator=g)
    bandwidths = mixture_bandwidths(mixture)
    return MixtureMMD(mmd=mmd(x, reference, bandwidths), floor=mmd(second, reference, bandwidths))
