import math

import pytest
import torch

from genlab.data import grid, ring
from genlab.metrics import mode_coverage
from genlab.metrics.modes import truncated_fraction, truncated_rms


@pytest.mark.statistical
def test_truncation_constants(seed):
    assert truncated_fraction(3) == pytest.approx(0.98889, abs=1e-5)
    # Monte Carlo check of the truncated RMS of a 2-D standard normal
    r2 = torch.randn(2_000_000, 2, generator=torch.Generator().manual_seed(seed)).pow(2).sum(1)
    inside = r2[r2 < 9]
    # seeds 0–9, 1 thread: −0.0004 to +0.0010 from the closed form (standard deviation about 0.0004)
    assert math.sqrt(inside.mean().item() / 2) == pytest.approx(truncated_rms(3), abs=3e-3)


@pytest.mark.statistical
@pytest.mark.parametrize("make, kl_limit", [(ring, 0.006), (grid, 0.012)])
def test_true_samples_score_the_published_limit(make, kl_limit, seed):
    mix = make()
    scores = [mode_coverage(mix.sample(2500, seed=s), mix) for s in range(20 * seed, 20 * seed + 20)]
    # seeds 0–9, 1 thread (ring, grid): all modes; high quality 0.989 ± 0.0009; reverse KL 0.0011–0.0017
    # (ring), 0.0045–0.0054 (grid); spread within 0.0053 of 1
    assert all(s.modes == mix.n_modes for s in scores)
    assert sum(s.high_quality for s in scores) / 20 == pytest.approx(0.989, abs=0.003)
    assert sum(s.reverse_kl for s in scores) / 20 < kl_limit
    assert sum(s.spread for s in scores) / 20 == pytest.approx(1.0, abs=0.02)


def test_a_generator_that_emits_the_centres_is_perfect_but_has_zero_spread():
    mix = ring()
    score = mode_coverage(mix.centers.repeat(10, 1), mix)
    assert (score.modes, score.high_quality, score.spread) == (8, 1.0, 0.0)
    assert score.reverse_kl == pytest.approx(0.0, abs=1e-12)


@pytest.mark.statistical
def test_three_of_eight_modes(seed):
    mix = ring()
    x = mix.sample(3000, seed=seed)
    keep = torch.cdist(x, mix.centers).argmin(1) < 3
    score = mode_coverage(x[keep], mix)
    # seeds 0–9, 1 thread: reverse KL 0.000007–0.0021 above log(8/3)
    assert score.modes == 3
    assert score.reverse_kl == pytest.approx(math.log(8 / 3), abs=0.01)


@pytest.mark.statistical
def test_noise_lowers_quality_and_widens_spread(seed):
    mix = ring()
    x = mix.sample(20_000, seed=2 * seed)
    noisy = x + 0.01 * torch.randn(x.shape, generator=torch.Generator().manual_seed(2 * seed + 1))
    clean, blurred = mode_coverage(x, mix), mode_coverage(noisy, mix)
    # seeds 0–9, 1 thread: high quality −0.0025 to +0.0044 from 1 − e^−2.25 (±0.015 at 2,500 samples);
    # spread ratio 1.24–1.25
    assert blurred.high_quality == pytest.approx(1 - math.exp(-2.25), abs=0.02)  # χ²₂ < 9/2
    assert blurred.spread > clean.spread


def test_no_high_quality_samples():
    score = mode_coverage(torch.full((10, 2), 50.0), ring())
    assert score.modes == 0 and score.high_quality == 0 and math.isinf(score.reverse_kl)


@pytest.mark.parametrize("bad, message", [
    (torch.zeros(5, 3), r"shape \(n, 2\)"),
    (torch.zeros(0, 2), "no samples"),
    (torch.tensor([[float("nan"), 0.0]]), "NaN"),
])
def test_bad_samples_are_named(bad, message):
    with pytest.raises(ValueError, match=message):
        mode_coverage(bad, ring())
