"""PacGAN packing, the categorical latent code, the averaged generator and rejection sampling."""

import math

import pytest
import torch
from torch import nn

import genlab
from genlab.metrics import mode_coverage


class Recorder(nn.Module):
    """A linear discriminator that remembers the shape of its last input."""

    def __init__(self, in_dim: int) -> None:
        super().__init__()
        self.linear = nn.Linear(in_dim, 1)
        self.seen: list[tuple[int, ...]] = []

    def forward(self, x):
        self.seen.append(tuple(x.shape))
        return self.linear(x)


@pytest.mark.parametrize("pack", [2, 3, 4])
def test_packed_discriminator_sees_m_samples_side_by_side(pack):
    torch.manual_seed(0)
    d = Recorder(2 * pack)
    gan = genlab.GAN(genlab.nets.MLP(2, 2, 8, 1), d, latent_dim=2, data_shape=(2,), pack=pack)
    x = torch.arange(2.0 * 12).reshape(12, 2)
    packed = gan.packed(x)
    assert packed.shape == (12 // pack, 2 * pack)
    # Pack i holds samples i*m .. i*m+m-1 in order, so no sample is split or mixed up.
    assert torch.equal(packed[1], x[pack : 2 * pack].reshape(-1))
    d.seen.clear()
    gan.train_step(x, gan.configure_optimizers(), 0)
    assert set(d.seen) == {(12 // pack, 2 * pack)}


def test_packed_dcgan_stacks_images_along_channels():
    gan = genlab.GAN.dcgan(image_shape=(3, 8, 8), channels=(16, 8), pack=2)
    x = torch.randn(6, 3, 8, 8)
    assert gan.packed(x).shape == (3, 6, 8, 8)
    assert gan.logits(x).shape == (3,)
    assert gan.sample(5).shape == (5, 3, 8, 8)  # sampling is unaffected by packing


def test_packing_refuses_batches_that_do_not_divide():
    gan = genlab.GAN.mlp(hidden=8, depth=1, pack=3)
    with pytest.raises(ValueError, match="multiple of 3"):
        gan.train_step(torch.randn(10, 2), gan.configure_optimizers(), 0)
    with pytest.raises(ValueError, match="pack must be a positive integer"):
        genlab.GAN(genlab.nets.MLP(2, 2, 8, 1), genlab.nets.MLP(2, 1, 8, 1), latent_dim=2, data_shape=(2,), pack=0)


def test_packed_wgan_gp_penalises_the_packed_input():
    torch.manual_seed(0)
    gan = genlab.GAN.mlp(hidden=8, depth=1, pack=2, loss="wgan-gp")
    out = gan.train_step(torch.randn(8, 2), gan.configure_optimizers(), 0)
    assert math.isfinite(out["gp"]) and out["gp"] >= 0


@pytest.mark.statistical
def test_categorical_code_is_one_hot_and_uniform(seed):
    torch.manual_seed(seed)
    gan = genlab.GAN.mlp(latent_dim=3, categories=5, hidden=8, depth=1)
    z = gan.prior(80_000, torch.Generator().manual_seed(seed))
    assert z.shape == (80_000, 8) and gan.input_dim == 8
    code = z[:, :5]
    assert torch.equal(code.sum(1), torch.ones(80_000))
    assert set(code.unique().tolist()) == {0.0, 1.0}
    freq = code.mean(0)
    # seeds 0–9, 1 thread: frequencies within 0.0036 of 0.2 (0.0064 at 20,000 draws), std within 0.0032 of 1
    assert torch.allclose(freq, torch.full((5,), 0.2), atol=0.01)
    assert abs(float(z[:, 5:].std()) - 1) < 0.02
    with pytest.raises(ValueError, match="categories"):
        genlab.GAN.mlp(categories=-1)


def test_without_a_code_the_prior_is_unchanged():
    # Adding the option must not change the noise (and so the results) of existing models.
    gan = genlab.GAN.mlp(latent_dim=4, hidden=8, depth=1)
    z = gan.prior(6, torch.Generator().manual_seed(3))
    assert torch.equal(z, torch.randn(6, 4, generator=torch.Generator().manual_seed(3)))


def test_averaged_generator_follows_the_moving_average_and_is_sampled(ring_data):
    torch.manual_seed(0)
    beta = 0.9
    gan = genlab.GAN.mlp(hidden=8, depth=1, ema=beta)
    avg = [p.detach().clone() for p in gan.generator.parameters()]
    opts = gan.configure_optimizers()
    for i in range(5):
        gan.train_step(ring_data[i * 32 : (i + 1) * 32], opts, i)
        avg = [beta * a + (1 - beta) * p.detach() for a, p in zip(avg, gan.generator.parameters())]
    for a, p in zip(avg, gan.generator_ema.parameters()):
        assert torch.allclose(a, p, atol=1e-6)
        assert not p.requires_grad
    z = gan.prior(7, torch.Generator().manual_seed(1))
    expected = gan.generator_ema(z)
    assert torch.allclose(gan.sample(7, generator=torch.Generator().manual_seed(1)), expected)
    assert not torch.allclose(expected, gan.generator(z))
    assert "generator_ema.0.weight" in gan.state_dict()  # saved in checkpoints
    with pytest.raises(ValueError, match="ema"):
        genlab.GAN.mlp(ema=1.0)


class LookupGenerator(nn.Module):
    """Half of its samples on the true modes, half far away, chosen by the sign of z[:, 0]."""

    def __init__(self, centers):
        super().__init__()
        self.register_buffer("centers", centers)
        self.scale = nn.Parameter(torch.tensor(1.0))

    def forward(self, z):
        k = (z[:, 1].abs() * 1000).long() % len(self.centers)
        good = self.centers[k] + 0.01 * z[:, 2:4]
        bad = 3 + z[:, 2:4]
        return torch.where(z[:, :1] > 0, good, bad) * self.scale


class NearModes(nn.Module):
    """A logit that is high near the modes and very low far from them, as a trained D would be."""

    def __init__(self, centers):
        super().__init__()
        self.register_buffer("centers", centers)

    def forward(self, x):
        return (4 - 20 * torch.cdist(x, self.centers).min(1).values).unsqueeze(1)


@pytest.mark.statistical
def test_rejection_sampling_keeps_what_the_discriminator_accepts(seed):
    ring = genlab.data.ring()
    gan = genlab.GAN(LookupGenerator(ring.centers), NearModes(ring.centers), latent_dim=4, data_shape=(2,))
    g = torch.Generator().manual_seed(seed)
    plain = mode_coverage(gan.sample(2_500, generator=g), ring)
    kept = gan.rejection_sample(2_500, generator=g)
    drs = mode_coverage(kept, ring)
    assert kept.shape == (2_500, 2)
    # seeds 0–9, 1 thread: plain 0.480–0.508, after rejection 0.992–0.998 with all 8 modes
    assert 0.45 < plain.high_quality < 0.55
    assert drs.high_quality > 0.98 and drs.modes == 8


def test_rejection_sampling_refuses_critics_that_are_not_density_ratios():
    for kwargs in ({"loss": "wgan-gp"}, {"loss": "hinge"}, {"pack": 2}):
        gan = genlab.GAN.mlp(hidden=8, depth=1, **kwargs)
        with pytest.raises(ValueError, match="rejection sampling needs"):
            gan.rejection_sample(10)
    with pytest.raises(ValueError, match="quantile"):
        genlab.GAN.mlp(hidden=8, depth=1).rejection_sample(10, quantile=1.0)


@pytest.mark.parametrize("training", [True, False])
def test_rejection_sampling_restores_the_mode_on_every_exit(training):
    """The model comes back in the mode it was in — after samples, after a refusal, and after an error
    raised midway through the sampling loop."""
    gan = genlab.GAN.mlp(hidden=8, depth=1).train(training)
    gan.rejection_sample(4, burn_in=50, batch_size=50)
    assert gan.training is training and gan.discriminator.training is training
    calls = []

    def failing(x, labels=None):
        calls.append(gan.training)
        if len(calls) == 3:  # the two burn-in passes went through; the first sampling batch fails
            raise RuntimeError("out of memory")
        return genlab.GAN.logits(gan, x, labels)

    gan.logits = failing
    with pytest.raises(RuntimeError, match="out of memory"):
        gan.rejection_sample(4, burn_in=50, batch_size=50)
    assert calls == [False] * 3  # it ran in eval mode ...
    assert gan.training is training and gan.generator.training is training  # ... and left it as it found it
    gan.logits = lambda x, labels=None: torch.full((x.shape[0],), float("nan"))
    with pytest.raises(ValueError, match="NaN or infinite logits"):
        gan.rejection_sample(4, burn_in=50, batch_size=50)
    assert gan.training is training
