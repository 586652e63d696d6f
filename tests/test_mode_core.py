"""The core figure of mode_coverage keeps ranking samples that are too wide."""

import math

import pytest
import torch

import genlab
from genlab.metrics import mode_coverage
from genlab.metrics.modes import core_fraction


def widened(mixture, factor: float, n: int = 20_000, seed: int = 0) -> torch.Tensor:
    """Samples of `mixture` with every mode's std multiplied by `factor`."""
    g = torch.Generator().manual_seed(seed)
    component = torch.randint(len(mixture.centers), (n,), generator=g)
    return mixture.centers[component] + factor * mixture.std * torch.randn(n, 2, generator=g)


def uniform_disc(mixture, radius_in_std: float = 3.0, n: int = 20_000, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    component = torch.randint(len(mixture.centers), (n,), generator=g)
    r = radius_in_std * mixture.std * torch.rand(n, generator=g).sqrt()  # uniform over the disc's area
    angle = 2 * math.pi * torch.rand(n, generator=g)
    return mixture.centers[component] + torch.stack([r * angle.cos(), r * angle.sin()], dim=1)


def test_core_fraction_is_the_chi_square_ratio():
    assert core_fraction(3.0) == pytest.approx((1 - math.exp(-0.5)) / (1 - math.exp(-4.5)))
    assert core_fraction(3.0) == pytest.approx(0.398, abs=1e-3)


@pytest.mark.parametrize("make", [genlab.data.ring, genlab.data.grid])
def test_true_samples_score_one(make):
    mixture = make()
    assert mode_coverage(mixture.sample(20_000, seed=1), mixture).core == pytest.approx(1.0, abs=0.03)


def test_core_ranks_over_dispersion_where_spread_saturates():
    ring = genlab.data.ring()
    scores = [mode_coverage(widened(ring, f), ring) for f in (1.0, 1.5, 2.0, 3.0, 5.0)]
    cores = [s.core for s in scores]
    assert all(a > b + 0.03 for a, b in zip(cores, cores[1:]))  # strictly falling, with room
    # measured: core 1.00, 0.56, 0.44, 0.36, 0.32; spread 1.00, 1.28, 1.39, 1.48, 1.50 —
    # between wider models the core changes by at least twice as much as the spread, relatively
    for a, b in zip(scores[1:], scores[2:]):
        assert (a.core - b.core) / a.core > 2 * (b.spread - a.spread) / a.spread
    disc = mode_coverage(uniform_disc(ring), ring)
    assert disc.spread == pytest.approx(1.54, abs=0.03)
    assert disc.core == pytest.approx((1 / 9) / core_fraction(3.0), abs=0.02)  # 1/9 of the disc's area


def test_samples_too_tight_score_above_one_and_no_hq_sample_gives_nan():
    ring = genlab.data.ring()
    assert mode_coverage(widened(ring, 0.5), ring).core > 2.0
    assert math.isnan(mode_coverage(torch.full((10, 2), 50.0), ring).core)
