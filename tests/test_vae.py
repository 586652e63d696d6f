"""The VAE: the importance-weighted bound against exact answers, the latent-space tools, conv shapes."""

import math

import pytest
import torch
from torch import nn

import genlab
from helpers import linear_gaussian_vae, tiny_vae


def test_exact_posterior_makes_every_importance_weight_equal_to_p_x():
    vae, marginal = linear_gaussian_vae()
    x = marginal.sample((16,))
    exact = marginal.log_prob(x)
    for k in (1, 7, 300):
        estimate = vae.log_likelihood(x, k, generator=torch.Generator().manual_seed(k), max_batch=200)
        assert torch.allclose(estimate, exact, atol=1e-4), k


@pytest.mark.statistical
def test_elbo_equals_log_p_x_in_expectation_at_the_exact_posterior(seed):
    torch.manual_seed(seed)
    vae, marginal = linear_gaussian_vae()
    x = marginal.sample((4,))
    with torch.no_grad():
        draws = vae.elbo(x.repeat(4000, 1)).reshape(4000, 4)
    standard_error = draws.std(0) / math.sqrt(len(draws))
    # seeds 0–9, 1 thread: at most 0.5–2.1 standard errors off
    assert ((draws.mean(0) - marginal.log_prob(x)).abs() < 5 * standard_error + 1e-4).all()


@pytest.mark.statistical
def test_iwae_approaches_log_p_x_as_k_grows_when_q_is_wrong(seed):
    vae, marginal = linear_gaussian_vae(posterior_shift=0.8, posterior_log_stretch=1.0)
    torch.manual_seed(seed)
    x = marginal.sample((256,))
    exact = marginal.log_prob(x)
    g = torch.Generator().manual_seed(seed + 1)
    gaps = [(exact - vae.log_likelihood(x, k, generator=g)).mean().item() for k in (1, 10, 100, 1000)]
    # seeds 0–9, 1 thread (256 points; 64 gave k = 1000 gaps down to −0.011): gaps 6.5–7.5, 1.22–1.37,
    # 0.088–0.25, −0.0006 to +0.028
    assert all(gap > -0.05 for gap in gaps), gaps  # a lower bound (up to Monte-Carlo noise)
    assert gaps[0] > 0.5, gaps  # q is far from the posterior: the ELBO is loose
    assert gaps[0] > gaps[1] > gaps[2] > gaps[3], gaps
    assert gaps[3] < 0.1 * gaps[0], gaps


@pytest.mark.statistical
def test_gap_at_k_1_is_the_kl_from_q_to_the_true_posterior(seed):
    # log p(x) - E_q[log p(x, z) - log q(z|x)] = KL(q(z|x) || p(z|x)) (the ELBO identity).
    vae, marginal = linear_gaussian_vae(posterior_shift=0.8, posterior_log_stretch=1.0)
    exact_vae, _ = linear_gaussian_vae()
    torch.manual_seed(seed)
    x = marginal.sample((8,))
    mu_q, logvar_q = vae.encode(x)
    mu_p, logvar_p = exact_vae.encode(x)
    kl = torch.distributions.kl_divergence(
        torch.distributions.Normal(mu_q, (0.5 * logvar_q).exp()),
        torch.distributions.Normal(mu_p, (0.5 * logvar_p).exp()),
    ).sum(-1)
    g = torch.Generator().manual_seed(seed + 1)
    gap = marginal.log_prob(x) - vae.log_likelihood(x.repeat(20_000, 1), 1, generator=g).reshape(20_000, 8).mean(0)
    kl = kl.detach()
    # seeds 0–9, 1 thread: mean difference 0.00001–0.021, largest 0.068–0.133
    assert (gap - kl).mean().abs() < 0.05, (gap, kl)
    assert torch.allclose(gap, kl, atol=0.25), (gap, kl)


@pytest.mark.statistical
def test_iwae_with_k_1_matches_the_elbo_in_expectation(seed):
    vae, marginal = linear_gaussian_vae(posterior_shift=0.5, posterior_log_stretch=0.5)
    torch.manual_seed(seed)
    x = marginal.sample((4,)).repeat(50_000, 1)
    iwae_1 = vae.log_likelihood(x, 1, generator=torch.Generator().manual_seed(seed + 1))
    with torch.no_grad():
        elbo = vae.elbo(x)
    # seeds 0–9, 1 thread: −0.015 to +0.017 apart (−0.068 to +0.042 with 5,000 copies of each point)
    assert iwae_1.mean().item() == pytest.approx(elbo.mean().item(), abs=0.05)


@pytest.mark.statistical
def test_iwae_on_a_trained_model_is_above_the_elbo_and_grows_with_k(ring_data, seed):
    model = tiny_vae(seed)
    genlab.fit(model, ring_data, steps=200, batch_size=128, device="cpu", seed=seed)
    x = ring_data[:256]
    torch.manual_seed(seed)
    with torch.no_grad():
        elbo = torch.stack([model.elbo(x) for _ in range(20)]).mean().item()
    g = torch.Generator().manual_seed(seed + 1)
    bounds = [model.log_likelihood(x, k, generator=g).mean().item() for k in (1, 5, 50)]
    # seeds 0–9, 1 thread: steps of 2.9–9.3 and 0.33–4.1 nats; k = 50 is 3.2–13.5 above the ELBO
    assert bounds[0] <= bounds[1] <= bounds[2], bounds
    assert bounds[2] > elbo + 0.05, (bounds, elbo)


@pytest.mark.statistical
def test_log_likelihood_is_reproducible_with_a_generator_and_chunking_keeps_memory_flat(seed):
    vae, marginal = linear_gaussian_vae(posterior_shift=0.3)
    torch.manual_seed(seed)
    x = marginal.sample((5,))
    first = vae.log_likelihood(x, 10_000, generator=torch.Generator().manual_seed(seed + 1), max_batch=640)
    again = vae.log_likelihood(x, 10_000, generator=torch.Generator().manual_seed(seed + 1), max_batch=640)
    assert torch.equal(first, again)
    one_pass = vae.log_likelihood(x, 10_000, generator=torch.Generator().manual_seed(seed + 2), max_batch=100_000)
    exact = marginal.log_prob(x)
    # both are k = 10,000 estimates from different draws: close to each other and to log p(x)
    # (seeds 0–9, 1 thread: 0.029–0.079 apart at most; mean gap to log p(x) −0.015 to +0.027, where
    # k = 1,000 gave 0.07–0.24 and −0.032 to +0.050)
    assert torch.allclose(first, one_pass, atol=0.3)
    assert ((exact - first).mean() > -0.1) and ((exact - first).mean() < 0.3)


def test_reconstruct_decodes_the_posterior_mean():
    torch.manual_seed(0)
    vae = genlab.VAE.mlp(data_dim=4, latent_dim=2, hidden=8, likelihood="bernoulli")
    x = torch.rand(6, 4)
    out = vae.reconstruct(x)
    assert out.shape == (6, 4)
    with torch.no_grad():
        expected = torch.sigmoid(vae.decoder(vae.encode(x)[0]))
    assert torch.allclose(out, expected)
    assert torch.equal(vae.reconstruct(x), out)  # no sampling involved


def test_interpolate_runs_from_one_reconstruction_to_the_other():
    torch.manual_seed(0)
    vae = genlab.VAE.conv((1, 8, 8), latent_dim=3, channels=(4, 8))
    x = torch.rand(2, 1, 8, 8)
    path = vae.interpolate(x[0], x[1:2], steps=5)
    assert path.shape == (5, 1, 8, 8)
    ends = vae.reconstruct(x)
    assert torch.allclose(path[0], ends[0], atol=1e-6)
    assert torch.allclose(path[-1], ends[1], atol=1e-6)
    with torch.no_grad():
        mu = vae.encode(x)[0]
        middle = torch.sigmoid(vae.decode(mu.mean(0, keepdim=True)))[0]
    assert torch.allclose(path[2], middle, atol=1e-6)


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28)])
def test_conv_vae_shapes(shape):
    torch.manual_seed(0)
    vae = genlab.VAE.conv(shape, latent_dim=5, channels=(8, 16))
    x = torch.rand(3, *shape)
    mu, logvar = vae.encode(x)
    assert mu.shape == logvar.shape == (3, 5)
    assert vae.decode(mu).shape == (3, *shape)
    assert vae.elbo(x).shape == (3,)
    assert vae.log_likelihood(x, 4).shape == (3,)
    assert vae.reconstruct(x).shape == (3, *shape)
    assert vae.sample(2).shape == (2, *shape)
    history = genlab.fit(vae, x.repeat(4, 1, 1, 1), steps=2, batch_size=4, device="cpu")
    assert len(history["loss"]) == 2


def test_conv_vae_gaussian_likelihood_outputs_means():
    torch.manual_seed(0)
    vae = genlab.VAE.conv((1, 8, 8), latent_dim=2, channels=(4,), likelihood="gaussian")
    x = torch.randn(2, 1, 8, 8)
    with torch.no_grad():
        assert torch.equal(vae.reconstruct(x), vae.decode(vae.encode(x)[0]))
    assert vae.log_scale.shape == (1, 8, 8)


def test_bad_arguments_are_named():
    vae, marginal = linear_gaussian_vae()
    x = marginal.sample((2,))
    with pytest.raises(ValueError, match="k, the number of importance samples"):
        vae.log_likelihood(x, 0)
    with pytest.raises(ValueError, match="k, the number of importance samples"):
        vae.log_likelihood(x, 2.5)
    with pytest.raises(ValueError, match="max_batch"):
        vae.log_likelihood(x, 2, max_batch=0)
    with pytest.raises(ValueError, match=r"shape \(B, 3\)"):
        vae.log_likelihood(torch.zeros(2, 4), 2)
    with pytest.raises(ValueError, match=r"shape \(B, 3\)"):
        vae.elbo(torch.zeros(3))
    with pytest.raises(ValueError, match="NaN"):
        vae.reconstruct(torch.full((2, 3), float("nan")))
    with pytest.raises(TypeError, match="Tensor"):
        vae.elbo([[0.0, 1.0, 2.0]])
    with pytest.raises(ValueError, match="steps"):
        vae.interpolate(x[0], x[1], steps=1)
    with pytest.raises(ValueError, match="x1 must be one sample"):
        vae.interpolate(x[0], x, steps=3)
    bernoulli = genlab.VAE.conv((1, 8, 8), latent_dim=2, channels=(4,))
    with pytest.raises(ValueError, match=r"\[0, 1\] for a Bernoulli"):
        bernoulli.elbo(torch.full((1, 1, 8, 8), 2.0))
    with pytest.raises(ValueError, match="cannot be halved"):
        genlab.VAE.conv((1, 10, 10), channels=(4, 8))
    with pytest.raises(ValueError, match="image_shape"):
        genlab.VAE.conv((8, 8))
    with pytest.raises(ValueError, match="channels"):
        genlab.VAE.conv((1, 8, 8), channels=())
    with pytest.raises(ValueError, match="latent_dim"):
        genlab.VAE.conv((1, 8, 8), latent_dim=0)


def test_networks_of_the_wrong_shape_are_named_at_construction():
    """A decoder for images of another size fails when the VAE is built, naming the decoder and both
    shapes — not at the first step with "shape '[32, 3, 32, 32]' is invalid for input of size 3200"."""
    from genlab.nets import MLP, conv_encoder

    encoder = conv_encoder((3, 32, 32), 16, (8,))
    with pytest.raises(ValueError, match=r"the decoder makes outputs of shape \(100,\) but data_shape is \(3, 32, 32\)"):
        genlab.VAE(encoder, MLP(8, 100, 16, 1), latent_dim=8, data_shape=(3, 32, 32))
    with pytest.raises(ValueError, match=r"the encoder must output 2 \* latent_dim = 6 numbers .* got shape \(4,\)"):
        genlab.VAE(MLP(2, 4, 16, 1), MLP(3, 2, 16, 1), latent_dim=3, data_shape=(2,))
    with pytest.raises(ValueError, match=r"the encoder cannot take samples of shape \(2,\): .*mat1 and mat2"):
        genlab.VAE(MLP(5, 4, 16, 1), MLP(2, 2, 16, 1), latent_dim=2, data_shape=(2,))
    with pytest.raises(ValueError, match=r"the decoder cannot take codes of shape \(B, 2\)"):
        genlab.VAE(MLP(2, 4, 16, 1), MLP(3, 2, 16, 1), latent_dim=2, data_shape=(2,))
    # a conditional VAE's networks read the one-hot label too: forgetting it is named
    with pytest.raises(ValueError, match=r"the encoder cannot take samples of shape \(5,\) \(data_shape \(2,\) and "
                                         r"3 one-hot classes\)"):
        genlab.VAE(MLP(2, 4, 16, 1), MLP(5, 2, 16, 1), latent_dim=2, data_shape=(2,), classes=3)


def test_the_shape_probe_changes_nothing():
    """The probe runs in eval mode without gradients: batch-norm statistics, each network's own mode and the
    random stream are as they were, and a flat decoder output of the right size is accepted (decode reshapes)."""
    from genlab.nets import MLP

    decoder = nn.Sequential(nn.Linear(2, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Linear(64, 64))
    encoder = nn.Sequential(nn.Flatten(), MLP(64, 4, 16, 1)).eval()
    stats = [t.clone() for t in decoder[1].buffers()]
    state = torch.get_rng_state()
    model = genlab.VAE(encoder, decoder, latent_dim=2, data_shape=(1, 8, 8), likelihood="bernoulli")
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(a, b) for a, b in zip(stats, decoder[1].buffers()))
    assert decoder.training and not encoder.training
    assert model.decode(torch.zeros(3, 2)).shape == (3, 1, 8, 8)
