import math

import numpy as np
import pytest
import scipy.linalg
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from genlab.data import grid, ring
from genlab.metrics import (
    energy_distance,
    frechet_distance,
    frechet_distance_from_moments,
    median_bandwidth,
    mixture_mmd,
    mmd,
    precision_recall,
)
from genlab.metrics import distances
from genlab.metrics.modes import mixture_bandwidths


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def gaussian_mmd2(delta: float, s: float, ell: float, d: int) -> float:
    """MMD² between N(μ1, s²I) and N(μ2, s²I), ‖μ1 − μ2‖ = delta, under an RBF kernel of bandwidth ell.

    X − Y ~ N(δ, 2s²I), and per coordinate E exp(−w²/(2ℓ²)) = (ℓ²/(ℓ²+σ²))^{1/2} exp(−δ²/(2(ℓ²+σ²)))
    for w ~ N(δ, σ²). Within one distribution δ = 0, so MMD² = 2c(1 − exp(−δ²/(2(ℓ² + 2s²)))),
    c = (ℓ²/(ℓ² + 2s²))^{d/2}.
    """
    v = ell**2 + 2 * s**2
    c = (ell**2 / v) ** (d / 2)
    return 2 * c * (1 - math.exp(-(delta**2) / (2 * v)))


def keep_modes(x: torch.Tensor, mix, n_keep: int) -> torch.Tensor:
    return x[torch.cdist(x, mix.centers).argmin(1) < n_keep]


# --- known answers -------------------------------------------------------------------------


@pytest.mark.statistical
@pytest.mark.parametrize("bandwidth", [1.5, (0.7, 3.0)])
def test_mmd_matches_the_gaussian_closed_form(bandwidth, seed):
    n, d, s, delta = 3000, 2, 1.0, 1.0
    x = s * torch.randn(n, d, generator=gen(2 * seed))
    y = s * torch.randn(n, d, generator=gen(2 * seed + 1)) + torch.tensor([delta, 0.0])
    scales = [bandwidth] if isinstance(bandwidth, float) else bandwidth
    expected = sum(gaussian_mmd2(delta, s, ell, d) for ell in scales)
    # the estimator's standard deviation here is about 0.006 (1.5) and 0.007 (0.7 and 3.0), over 30 seeds;
    # seeds 0–9, 1 thread: −0.013 to +0.012 (1.5), −0.015 to +0.014 (0.7 and 3.0) from the closed form
    assert mmd(x, y, bandwidth) == pytest.approx(expected, abs=0.035)
    assert expected > 0.1


@pytest.mark.statistical
def test_mmd_is_unbiased_between_equal_distributions(seed):
    # 400 pairs of independent draws (x from one generator, y from another: no draw is reused). With
    # only 20 pairs the t statistic is unreliable: single estimates are skewed to the right, so most
    # small samples have a negative mean and a small spread (|t| up to 5.1 over seeds 0–9).
    draws = range(10_000 * seed, 10_000 * seed + 400)
    values = [mmd(torch.randn(200, 3, generator=gen(s)), torch.randn(200, 3, generator=gen(5_000 + s)), 1.0)
              for s in draws]
    # seeds 0–9, 1 thread: |mean| is 0.08–1.8 standard errors
    assert abs(np.mean(values)) < 4 * np.std(values) / math.sqrt(400)
    assert min(values) < 0  # a single unbiased estimate can be negative


def test_mmd_of_a_set_with_itself_has_its_exact_small_negative_value():
    x = torch.randn(50, 2, generator=gen(0))
    k = torch.exp(-torch.cdist(x.double(), x.double()).pow(2) / 2)
    n = len(x)
    # The i ≠ j sums against the full cross sum: MMD²_u(x, x) = −2(1 − S/n²)/(n − 1), S = Σ_ij k.
    assert mmd(x, x, 1.0) == pytest.approx(-2 * (1 - k.sum().item() / n**2) / (n - 1), rel=1e-9)


def test_median_bandwidth_of_known_points():
    x = torch.tensor([[0.0], [1.0]])
    y = torch.tensor([[3.0], [7.0]])
    # pairwise distances 1, 3, 7, 2, 6, 4: the lower median of the six is 3
    assert median_bandwidth(x, y) == pytest.approx(3.0)
    assert median_bandwidth(x, y[:1]) == pytest.approx(2.0)  # 1, 3, 2
    assert mmd(x, y) == pytest.approx(mmd(x, y, 3.0))


def test_energy_distance_of_two_point_masses():
    x = torch.full((5, 1), -1.0)
    y = torch.full((7, 1), 2.5)
    assert energy_distance(x, y) == pytest.approx(2 * 3.5)


def test_energy_distance_of_two_point_distributions():
    # X uniform on {0, 1}, Y = 0: E|X−Y| = 1/2, E|X−X'| over i ≠ j of [0, 1] is 1, E|Y−Y'| = 0
    x = torch.tensor([[0.0], [1.0]])
    y = torch.zeros(4, 1)
    assert energy_distance(x, y) == pytest.approx(2 * 0.5 - 1.0 - 0.0)


@pytest.mark.statistical
def test_frechet_distance_of_gaussian_samples_matches_their_true_moments(seed):
    n, d = 200_000, 3
    x = torch.randn(n, d, generator=gen(2 * seed))
    y = 2 * torch.randn(n, d, generator=gen(2 * seed + 1)) + torch.tensor([1.0, 0.0, 0.0])
    # ‖δ‖² + tr(I + 4I − 2·(4I)^{1/2}) = 1 + 3·(1 + 4 − 4) = 4
    # seeds 0–9, 1 thread: −0.010 to +0.015 from 4 (at 20,000 samples it was −0.071 to +0.065)
    assert frechet_distance(x, y) == pytest.approx(4.0, abs=0.1)
    moments = frechet_distance_from_moments(torch.zeros(d), torch.eye(d), torch.tensor([1.0, 0, 0]), 4 * torch.eye(d))
    assert moments == pytest.approx(4.0, abs=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_frechet_distance_matches_scipy_sqrtm(seed):
    rng = np.random.default_rng(seed)
    d = 6
    a, b = rng.normal(size=(d, d)), rng.normal(size=(d, d))
    c1, c2 = a @ a.T + 0.1 * np.eye(d), b @ b.T + 0.1 * np.eye(d)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    root = scipy.linalg.sqrtm(c1 @ c2).real
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(c1 + c2 - 2 * root)
    got = frechet_distance_from_moments(*(torch.from_numpy(v) for v in (mu1, c1, mu2, c2)))
    assert got == pytest.approx(expected, rel=1e-8, abs=1e-8)


def test_frechet_distance_handles_singular_covariances():
    x = torch.randn(100, 2, generator=gen(0))
    flat = torch.cat([x, torch.zeros(100, 3)], dim=1)  # rank 2 in 5 dimensions
    assert frechet_distance(flat, flat) == pytest.approx(0.0, abs=1e-8)


def test_precision_recall_of_identical_sets():
    x = torch.randn(300, 4, generator=gen(0))
    assert precision_recall(x, x.clone()) == distances.PrecisionRecall(1.0, 1.0)


def test_precision_recall_of_a_faraway_generator():
    real = torch.randn(300, 2, generator=gen(0))
    fake = torch.randn(300, 2, generator=gen(1)) + 100
    pr = precision_recall(real, fake)
    assert pr.precision == 0.0 and pr.recall == 0.0


@pytest.mark.statistical
def test_a_generator_covering_three_of_eight_modes_is_precise_but_lacks_recall(seed):
    mix = ring()
    real = mix.sample(2000, seed=2 * seed)
    fake = keep_modes(mix.sample(6000, seed=2 * seed + 1), mix, 3)[:2000]
    pr = precision_recall(real, fake)
    # seeds 0–9, 1 thread: precision 0.966–0.983, recall 3/8 − 0.013 to 3/8 + 0.018
    assert pr.precision > 0.9
    assert pr.recall == pytest.approx(3 / 8, abs=0.06)


@pytest.mark.statistical
def test_a_generator_emitting_the_mode_centres_is_precise_with_zero_recall(seed):
    mix = ring()
    real = mix.sample(2000, seed=seed)
    centres = mix.centers.repeat(250, 1)  # every centre 250 times: its k-NN balls have radius 0
    pr = precision_recall(real, centres)
    # A centre counts as precise when it lies in some real point's 3-NN ball, which a draw can miss:
    # seeds 0–59, 1 thread: all 8 centres in 54 draws, 7 of 8 (precision 0.875) in 6
    assert pr.precision >= 0.75
    assert pr.recall == 0.0
    # Its MMD to the mixture is well above what true samples of that size give
    result = mixture_mmd(centres, mix, seed=seed)
    # seeds 0–59, 1 thread: 23x to over 1,000x |floor| (one floor draw is a noisy yardstick)
    assert result.mmd > 10 * abs(result.floor)


@pytest.mark.statistical
def test_recall_drops_as_modes_are_dropped(seed):
    mix = grid()
    real = mix.sample(2500, seed=2 * seed)
    pool = mix.sample(20_000, seed=2 * seed + 1)
    recalls = [precision_recall(real, keep_modes(pool, mix, m)[:2500]).recall for m in (25, 15, 5)]
    # seeds 0–9, 1 thread: 0.957–0.971, 0.574–0.603, 0.182–0.213
    assert recalls[0] > recalls[1] > recalls[2]
    assert recalls[2] < 0.3


def test_precision_and_recall_swap_with_the_arguments():
    x = torch.randn(200, 3, generator=gen(0))
    y = 1.5 * torch.randn(150, 3, generator=gen(1)) + 0.5
    a, b = precision_recall(x, y), precision_recall(y, x)
    assert a.precision == b.recall and a.recall == b.precision
    assert a.precision != a.recall  # a wider fake distribution: the two differ


def test_block_size_does_not_change_any_result(monkeypatch):
    x = torch.randn(257, 3, generator=gen(0))
    y = torch.randn(190, 3, generator=gen(1)) * 1.3
    full = (mmd(x, y), energy_distance(x, y), precision_recall(x, y))
    monkeypatch.setattr(distances, "BLOCK_ENTRIES", 1000)  # blocks of a few rows
    small = (mmd(x, y), energy_distance(x, y), precision_recall(x, y))
    assert small[0] == pytest.approx(full[0], rel=1e-10, abs=1e-14)
    assert small[1] == pytest.approx(full[1], rel=1e-10)
    assert small[2] == full[2]


# --- monotonicity --------------------------------------------------------------------------


@pytest.mark.statistical
def test_all_distances_rise_with_added_noise(seed):
    mix = ring()
    real = mix.sample(1000, seed=3 * seed)
    base = mix.sample(1000, seed=3 * seed + 1)
    noise = torch.randn(base.shape, generator=gen(3 * seed + 2))
    scores = {"mmd": [], "energy": [], "frechet": [], "mixture": []}
    for level in (0.0, 0.3, 0.6, 1.0):  # the 2-D Fréchet distance barely sees smaller noise
        fake = base + level * noise
        scores["mmd"].append(mmd(real, fake, 0.3))
        scores["energy"].append(energy_distance(real, fake))
        scores["frechet"].append(frechet_distance(real, fake))
        scores["mixture"].append(mixture_mmd(fake, mix, seed=seed).mmd)
    # seeds 0–9, 1 thread: each noise step raises each distance by at least 18% (MMDs), 57% (Fréchet), 96% (energy)
    for name, values in scores.items():
        assert all(a < b for a, b in zip(values, values[1:])), (name, values)


@pytest.mark.statistical
def test_all_distances_rise_as_modes_are_dropped(seed):
    mix = grid()
    real = mix.sample(1500, seed=2 * seed)
    pool = mix.sample(20_000, seed=2 * seed + 1)
    scores = {"mmd": [], "energy": [], "frechet": [], "mixture": []}
    for kept in (25, 12, 4):
        fake = keep_modes(pool, mix, kept)[:1500]
        scores["mmd"].append(mmd(real, fake))
        scores["energy"].append(energy_distance(real, fake))
        scores["frechet"].append(frechet_distance(real, fake))
        scores["mixture"].append(mixture_mmd(fake, mix, seed=seed).mmd)
    # seeds 0–9, 1 thread: each step in dropped modes multiplies each distance by at least 2.5
    for name, values in scores.items():
        assert all(a < b for a, b in zip(values, values[1:])), (name, values)


# --- MMD to the true mixture ---------------------------------------------------------------


def test_mixture_bandwidths():
    assert mixture_bandwidths(ring()) == pytest.approx((0.01, math.sin(math.pi / 8)))
    assert mixture_bandwidths(grid()) == pytest.approx((0.05, 1.0))


@pytest.mark.statistical
@pytest.mark.parametrize("make", [ring, grid])
def test_mixture_mmd_separates_missing_modes_and_wrong_spread_from_the_floor(make, seed):
    mix = make()
    n = 2000
    for s in (2 * seed, 2 * seed + 1):
        true = mix.sample(n, seed=100 + s)
        g = gen(s)
        too_wide = mix.centers[torch.randint(mix.n_modes, (n,), generator=g)] + 3 * mix.std * torch.randn(n, 2, generator=g)
        few_modes = keep_modes(mix.sample(40 * n, seed=200 + s), mix, 3)[:n]
        good, floor = mixture_mmd(true, mix, seed=s)
        # true samples sit at the floor's scale; the bad samplers far above it
        noise = max(abs(floor), abs(good), 1e-4)
        # seeds 0–9 (20 draws per mixture), 1 thread: |true| ≤ 0.0011; too wide ≥ 8.5x the noise (grid;
        # 6.8x over 40 draws) and ≥ 19.6x (ring); three modes ≥ 160x the noise on top of the 0.1
        assert abs(good) < 5e-3
        assert mixture_mmd(too_wide, mix, seed=s).mmd > 3 * noise
        assert mixture_mmd(few_modes, mix, seed=s).mmd > 50 * noise + 0.1


def test_mixture_mmd_is_reproducible_and_rejects_bad_shapes():
    mix = ring()
    x = mix.sample(500, seed=0)
    assert mixture_mmd(x, mix, seed=3) == mixture_mmd(x, mix, seed=3)
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        mixture_mmd(torch.zeros(10, 3), mix)
    with pytest.raises(ValueError, match="at least 2"):
        mixture_mmd(torch.zeros(1, 2), mix)


# --- symmetry and invariances --------------------------------------------------------------


def test_symmetry():
    x = torch.randn(120, 3, generator=gen(0))
    y = torch.randn(90, 3, generator=gen(1)) * 2 + 1
    assert mmd(x, y) == pytest.approx(mmd(y, x), rel=1e-12)
    assert mmd(x, y, (0.5, 2.0)) == pytest.approx(mmd(y, x, (0.5, 2.0)), rel=1e-12)
    assert energy_distance(x, y) == pytest.approx(energy_distance(y, x), rel=1e-12)
    assert frechet_distance(x, y) == pytest.approx(frechet_distance(y, x), rel=1e-9)


def random_rotation(d: int, seed: int) -> torch.Tensor:
    q, r = torch.linalg.qr(torch.randn(d, d, generator=gen(seed), dtype=torch.float64))
    return q * torch.sign(torch.diagonal(r))


sizes = st.integers(min_value=4, max_value=30)


@settings(max_examples=25, deadline=None)
@given(n=sizes, m=sizes, d=st.integers(1, 4), seed=st.integers(0, 10_000), shift=st.floats(-50, 50))
def test_mmd_and_energy_are_invariant_to_translation_and_rotation(n, m, d, seed, shift):
    x = torch.randn(n, d, generator=gen(seed), dtype=torch.float64)
    y = torch.randn(m, d, generator=gen(seed + 1), dtype=torch.float64) * 1.5 + 0.3
    rot, offset = random_rotation(d, seed + 2), shift * torch.ones(d, dtype=torch.float64)
    xt, yt = x @ rot.T + offset, y @ rot.T + offset
    assert mmd(xt, yt) == pytest.approx(mmd(x, y), rel=1e-6, abs=1e-9)
    assert mmd(xt, yt, 0.8) == pytest.approx(mmd(x, y, 0.8), rel=1e-6, abs=1e-9)
    assert energy_distance(xt, yt) == pytest.approx(energy_distance(x, y), rel=1e-6, abs=1e-8)


@settings(max_examples=25, deadline=None)
@given(n=sizes, m=sizes, d=st.integers(1, 5), seed=st.integers(0, 10_000), scale=st.floats(0.01, 10))
def test_frechet_distance_is_non_negative_and_zero_for_identical_sets(n, m, d, seed, scale):
    x = scale * torch.randn(n, d, generator=gen(seed))
    y = torch.randn(m, d, generator=gen(seed + 1))
    assert frechet_distance(x, y) >= 0
    assert frechet_distance(x, x.clone()) == pytest.approx(0.0, abs=1e-6 * max(1.0, scale**2))


@settings(max_examples=25, deadline=None)
@given(n=sizes, d=st.integers(1, 5), seed=st.integers(0, 10_000), bandwidth=st.floats(0.1, 10))
def test_mmd_of_a_set_with_itself_is_nearly_zero(n, d, seed, bandwidth):
    x = torch.randn(n, d, generator=gen(seed))
    value = mmd(x, x, bandwidth)
    assert -2 / (n - 1) - 1e-12 <= value <= 1e-12


# --- bad input -----------------------------------------------------------------------------

ALL = [mmd, energy_distance, frechet_distance, precision_recall]


@pytest.mark.parametrize("fn", ALL)
def test_different_feature_dimensions_are_rejected(fn):
    with pytest.raises(ValueError, match="same feature dimension"):
        fn(torch.randn(10, 2), torch.randn(10, 3))


@pytest.mark.parametrize("fn", ALL)
def test_wrong_ndim_is_rejected(fn):
    with pytest.raises(ValueError, match=r"shape \(n, d\)"):
        fn(torch.randn(10), torch.randn(10, 1))
    with pytest.raises(ValueError, match=r"shape \(n, d\)"):
        fn(torch.randn(10, 1), torch.randn(10, 1, 1))


@pytest.mark.parametrize("fn", ALL)
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_values_are_rejected(fn, bad):
    x = torch.randn(10, 2)
    x[3, 1] = bad
    with pytest.raises(ValueError, match="NaN or infinite"):
        fn(x, torch.randn(10, 2))
    with pytest.raises(ValueError, match="NaN or infinite"):
        fn(torch.randn(10, 2), x)


@pytest.mark.parametrize("fn", [mmd, energy_distance, frechet_distance])
def test_too_few_samples_are_rejected(fn):
    with pytest.raises(ValueError, match="at least 2 samples"):
        fn(torch.randn(1, 2), torch.randn(5, 2))
    with pytest.raises(ValueError, match="at least 2 samples"):
        fn(torch.randn(5, 2), torch.randn(1, 2))


def test_precision_recall_needs_k_plus_one_samples_and_a_valid_k():
    with pytest.raises(ValueError, match="fake needs at least 4 samples"):
        precision_recall(torch.randn(10, 2), torch.randn(3, 2), k=3)
    with pytest.raises(ValueError, match="real needs at least 6 samples"):
        precision_recall(torch.randn(5, 2), torch.randn(10, 2), k=5)
    for k in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="positive integer"):
            precision_recall(torch.randn(10, 2), torch.randn(10, 2), k=k)


def test_bad_bandwidths_are_rejected():
    x, y = torch.randn(10, 2), torch.randn(10, 2)
    for bad in (0.0, -1.0, float("nan"), float("inf"), [], [1.0, -2.0]):
        with pytest.raises(ValueError, match="bandwidth"):
            mmd(x, y, bad)
    with pytest.raises(ValueError, match="distinct points"):
        median_bandwidth(torch.zeros(3, 2), torch.zeros(3, 2))


def test_non_numeric_input_is_a_type_error():
    with pytest.raises(TypeError, match="tensor of shape"):
        mmd("not samples", torch.randn(3, 2))
    with pytest.raises(TypeError, match="real numbers"):
        energy_distance(torch.ones(3, 2, dtype=torch.bool), torch.randn(3, 2))


def test_frechet_moments_with_mismatched_shapes_are_rejected():
    eye = torch.eye(3)
    with pytest.raises(ValueError, match=r"cov1 must have shape \(3, 3\)"):
        frechet_distance_from_moments(torch.zeros(3), torch.eye(2), torch.zeros(3), eye)
    with pytest.raises(ValueError, match="same dimension"):
        frechet_distance_from_moments(torch.zeros(3), eye, torch.zeros(2), torch.eye(2))
    with pytest.raises(ValueError, match="vector"):
        frechet_distance_from_moments(torch.zeros(3, 1), eye, torch.zeros(3), eye)
    with pytest.raises(ValueError, match="NaN or infinite"):
        frechet_distance_from_moments(torch.tensor([0.0, float("nan"), 0.0]), eye, torch.zeros(3), eye)
