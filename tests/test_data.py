import math

import pytest
import torch

from genlab.data import digits, grid, ring


def test_ring_matches_the_pacgan_protocol():
    mix = ring()
    assert mix.n_modes == 8 and mix.std == 0.01
    # eight distinct modes on the unit circle, 45 degrees apart (no duplicate at 2π)
    assert torch.allclose(mix.centers.norm(dim=1), torch.ones(8))
    assert torch.unique(mix.centers.round(decimals=4), dim=0).shape[0] == 8
    angles = torch.atan2(mix.centers[:, 1], mix.centers[:, 0]) % (2 * math.pi)
    assert torch.allclose(angles.sort().values, torch.arange(8) * math.pi / 4, atol=1e-6)


def test_grid_matches_the_pacgan_protocol():
    mix = grid()
    assert mix.n_modes == 25 and mix.std == 0.05
    assert sorted(set(mix.centers.flatten().tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    assert torch.unique(mix.centers, dim=0).shape[0] == 25


@pytest.mark.statistical
@pytest.mark.parametrize("make", [ring, grid])
def test_samples_have_the_stated_std_and_equal_weights(make, seed):
    mix = make()
    x = mix.sample(100_000, seed=seed)
    nearest = torch.cdist(x, mix.centers).argmin(dim=1)
    offsets = x - mix.centers[nearest]
    counts = torch.bincount(nearest, minlength=mix.n_modes).float()
    # seeds 0–9, 1 thread: std within ±0.4% of the stated one; largest weight error 2.4% (ring), 5.0% (grid)
    assert offsets.std().item() == pytest.approx(mix.std, rel=0.02)
    assert (counts / counts.mean() - 1).abs().max() < 0.1


def test_sampling_is_seeded():
    mix = ring()
    assert torch.equal(mix.sample(100, seed=3), mix.sample(100, seed=3))
    assert not torch.equal(mix.sample(100, seed=3), mix.sample(100, seed=4))


def test_log_prob_integrates_to_one_on_a_mode():
    mix = grid(std=0.5)
    xs = torch.linspace(-7, 7, 561)
    gx, gy = torch.meshgrid(xs, xs, indexing="ij")
    pts = torch.stack([gx.flatten(), gy.flatten()], 1)
    mass = mix.log_prob(pts).exp().sum() * (xs[1] - xs[0]) ** 2
    assert mass.item() == pytest.approx(1.0, abs=1e-3)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="negative"):
        ring().sample(-1, seed=0)
    with pytest.raises(ValueError, match="n_modes"):
        ring(n_modes=0)
    with pytest.raises(ValueError, match="std"):
        ring(std=0.0)
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        ring().log_prob(torch.zeros(3, 3))


@pytest.mark.parametrize("value_range", [(0, 1), (-1, 1)])
def test_digits_are_scaled_as_asked(value_range):
    images, labels = digits(value_range).tensors
    assert images.shape == (1797, 1, 8, 8) and labels.shape == (1797,)
    assert images.min().item() == value_range[0] and images.max().item() == value_range[1]
    assert sorted(labels.unique().tolist()) == list(range(10))


def test_digits_reject_other_ranges():
    with pytest.raises(ValueError, match="value_range"):
        digits((0, 255))


def test_split_is_seeded_disjoint_and_complete():
    from genlab.data import split

    data = digits()
    train, test = split(data, 0.25, seed=1)
    assert len(train) + len(test) == len(data) and len(test) == round(0.25 * len(data))
    again_train, _ = split(data, 0.25, seed=1)
    assert torch.equal(train.tensors[0], again_train.tensors[0])
    x = torch.arange(10.0)
    a, b = split(x, 0.3, seed=0)
    assert sorted(torch.cat([a, b]).tolist()) == x.tolist()
    with pytest.raises(ValueError, match="test_fraction"):
        split(x, 1.5)
    with pytest.raises(ValueError, match="one side would be empty"):
        split(x[:2], 0.1)
