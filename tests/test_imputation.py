"""Imputation with trained models, and the VAE's observed-data bound, against exact answers."""

import math

import pytest
import torch
from torch import nn

import genlab
from genlab import imputation as imp
from genlab.models import MaskedVAE
import helpers


def linear_gaussian_vae(seed: int = 0, cls: type = genlab.VAE):
    """The exact-posterior linear-Gaussian VAE of tests/helpers.py in 4 dimensions; returns (vae, joint p(x))."""
    return helpers.linear_gaussian_vae(data_dim=4, scales=(2.0, 1.2), seed=seed, cls=cls)


def gaussian_conditional_mean(joint, x, observed):
    """E[x_m | x_o] for a Gaussian joint: b_m + C_mo C_oo⁻¹ (x_o − b_o), for a fixed observed index set."""
    c, b = joint.covariance_matrix, joint.loc
    o, m = observed, ~observed
    return b[m] + (x[:, o] - b[o]) @ torch.linalg.solve(c[o][:, o], c[o][:, m])


def linear_gan(seed: int = 0) -> genlab.GAN:
    """A GAN whose generator is the linear map G(z) = Wz + b, from R² to R⁴."""
    torch.manual_seed(seed)
    return genlab.GAN(nn.Linear(2, 4), nn.Linear(4, 1), latent_dim=2, data_shape=(4,))


def digits_vae(seed: int = 0) -> genlab.VAE:
    torch.manual_seed(seed)
    return genlab.VAE.conv((1, 8, 8), latent_dim=4, channels=(8, 16))


# --- masks and baselines ------------------------------------------------------------------


def test_check_missing_names_each_problem():
    x = torch.rand(3, 4)
    mask = torch.rand(3, 4) > 0.5
    with pytest.raises(TypeError, match="boolean"):
        imp.check_missing(x, mask.float())
    with pytest.raises(TypeError, match="floating-point"):
        imp.check_missing(x.long(), mask)
    with pytest.raises(ValueError, match="shape"):
        imp.check_missing(x, mask[:, :3])
    bad = x.clone()
    bad[0, 0] = float("nan")
    observed = torch.ones_like(mask)
    with pytest.raises(ValueError, match="NaN"):
        imp.check_missing(bad, observed)
    # NaN where the mask says "missing" is fine and comes back as 0
    missing_first = observed.clone()
    missing_first[0, 0] = False
    filled, _ = imp.check_missing(bad, missing_first)
    assert filled[0, 0] == 0 and torch.equal(filled[1:], x[1:])


@pytest.mark.statistical
def test_masks_and_masked_mse(seed):
    mask = imp.bottom_half_mask((2, 1, 8, 8))
    assert mask[:, :, :4].all() and not mask[:, :, 4:].any()
    odd = imp.bottom_half_mask((1, 1, 5, 3))
    assert odd[0, 0, :3].all() and not odd[0, 0, 3:].any()
    random = imp.random_mask((500, 400), 0.3, generator=torch.Generator().manual_seed(seed))
    # seeds 0–9, 1 thread: missing fraction within 0.0012 of 0.3 (within 0.0038 at 20,000 entries)
    assert random.dtype == torch.bool and abs((~random).float().mean().item() - 0.3) < 0.005
    with pytest.raises(ValueError, match="missing fraction"):
        imp.random_mask((3,), 1.5)
    with pytest.raises(ValueError, match="image shape"):
        imp.bottom_half_mask((3, 8))
    truth = torch.zeros(2, 2)
    completed = torch.tensor([[1.0, 5.0], [3.0, 0.0]])
    known = torch.tensor([[False, True], [False, True]])
    assert imp.masked_mse(completed, truth, known) == pytest.approx((1 + 9) / 2)
    with pytest.raises(ValueError, match="nothing is missing"):
        imp.masked_mse(completed, truth, torch.ones(2, 2, dtype=torch.bool))


def test_mean_and_nearest_neighbour_fill_known_answers():
    reference = torch.tensor([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0], [10.0, 10.0, 10.0]])
    x = torch.tensor([[1.1, float("nan"), 2.9], [9.0, float("nan"), float("nan")]])
    mask = ~torch.isnan(x)
    filled = imp.mean_fill(x, mask, reference)
    assert torch.equal(filled[mask], x[mask])
    assert torch.allclose(filled[~mask], torch.tensor([4.0, 4.0, 13 / 3]))
    nearest = imp.nearest_neighbour_fill(x, mask, reference)
    assert torch.equal(nearest[mask], x[mask])
    assert torch.equal(nearest[0, 1], torch.tensor(2.0))  # closest on entries 0 and 2: row 1
    assert torch.equal(nearest[1, 1:], torch.tensor([10.0, 10.0]))  # closest on entry 0: row 2
    with pytest.raises(ValueError, match="reference"):
        imp.mean_fill(x, mask, reference[:, :2])


# --- every imputation keeps what was observed --------------------------------------------------


def imputers():
    vae, _ = linear_gaussian_vae()
    gan = linear_gan()
    reference = torch.randn(50, 4, generator=torch.Generator().manual_seed(3))
    g = lambda: torch.Generator().manual_seed(0)
    return {
        "mean": lambda x, m: imp.mean_fill(x, m, reference),
        "nearest": lambda x, m: imp.nearest_neighbour_fill(x, m, reference),
        "pseudo_gibbs": lambda x, m: imp.pseudo_gibbs(vae, x, m, 10, generator=g()),
        "metropolis": lambda x, m: imp.metropolis_within_gibbs(vae, x, m, 10, generator=g()),
        "gan": lambda x, m: imp.gan_inpaint(gan, x, m, 20, generator=g()),
    }


@pytest.mark.parametrize("name", list(imputers()))
def test_imputation_keeps_observed_entries_exactly_and_fills_the_rest(name):
    impute = imputers()[name]
    x = torch.randn(16, 4, generator=torch.Generator().manual_seed(1))
    mask = imp.random_mask(x.shape, 0.5, generator=torch.Generator().manual_seed(2))
    holes = torch.where(mask, x, torch.tensor(float("nan")))
    completed = impute(holes, mask)
    assert completed.shape == x.shape and torch.isfinite(completed).all()
    assert torch.equal(completed[mask], x[mask])
    # the values at missing positions are never read
    assert torch.equal(impute(torch.where(mask, x, torch.tensor(1e6)), mask), completed)
    # nothing missing: the input comes back unchanged
    assert torch.equal(impute(x, torch.ones_like(mask)), x)


@pytest.mark.parametrize("name", ["pseudo_gibbs", "metropolis", "gan"])
def test_random_imputations_repeat_with_a_seed_and_change_without_it(name):
    vae, _ = linear_gaussian_vae()
    gan = linear_gan()
    x = torch.randn(8, 4, generator=torch.Generator().manual_seed(1))
    mask = imp.random_mask(x.shape, 0.5, generator=torch.Generator().manual_seed(2))
    run = {
        "pseudo_gibbs": lambda s: imp.pseudo_gibbs(vae, x, mask, 4, generator=torch.Generator().manual_seed(s)),
        "metropolis": lambda s: imp.metropolis_within_gibbs(vae, x, mask, 4, generator=torch.Generator().manual_seed(s)),
        "gan": lambda s: imp.gan_inpaint(gan, x, mask, 3, generator=torch.Generator().manual_seed(s)),
    }[name]
    assert torch.equal(run(0), run(0))
    assert not torch.equal(run(0), run(1))


# --- known answers -----------------------------------------------------------------------------


@pytest.mark.statistical
@pytest.mark.parametrize("method", ["pseudo_gibbs", "metropolis"])
def test_vae_chains_reach_the_exact_gaussian_conditional_mean(method, seed):
    """With the exact posterior as encoder, both chains average to E[x_m | x_o] of the linear-Gaussian model."""
    vae, joint = linear_gaussian_vae()
    torch.manual_seed(seed)
    x = joint.sample(torch.Size([64]))
    observed = torch.tensor([True, False, True, False])
    mask = observed.expand_as(x).clone()
    exact = gaussian_conditional_mean(joint, x, observed)
    chain = imp.pseudo_gibbs if method == "pseudo_gibbs" else imp.metropolis_within_gibbs
    completed = chain(vae, x, mask, 4000, generator=torch.Generator().manual_seed(seed + 1))
    error = (completed[:, ~observed] - exact).abs().max().item()
    mean_fill_error = (joint.loc[~observed] - exact).abs().max().item()
    # seeds 0–9, 1 thread: error 0.020–0.028 (pseudo-Gibbs), 0.023–0.041 (Metropolis), at most 1.4% of the mean fill's
    assert error < 0.1, error
    assert error < 0.1 * mean_fill_error


def test_metropolis_acceptance_ratio_is_one_when_the_encoder_is_the_exact_posterior():
    """An independence proposal equal to the target conditional p(z | x) has acceptance ratio 1,
    so the chain is then plain Gibbs: the log-ratio the sampler computes must vanish."""
    from genlab.losses import diagonal_normal_log_prob, standard_normal_log_prob

    vae, joint = linear_gaussian_vae()
    x = joint.sample(torch.Size([8]))
    with torch.no_grad():
        mu, logvar = vae.encode(x)
        draw = lambda s: mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=torch.Generator().manual_seed(s))
        z, proposal = draw(1), draw(2)
        log_target = lambda z: vae.log_likelihood_given_z(x, vae.decode(z)) + standard_normal_log_prob(z)
        ratio = (log_target(proposal) - diagonal_normal_log_prob(proposal, mu, logvar)) - (
            log_target(z) - diagonal_normal_log_prob(z, mu, logvar)
        )
    assert ratio.abs().max() < 1e-4
    # and with a deliberately wrong encoder the ratio is not 1: the test has teeth
    with torch.no_grad():
        wrong = mu + 1.0
        ratio_wrong = (log_target(proposal) - diagonal_normal_log_prob(proposal, wrong, logvar)) - (
            log_target(z) - diagonal_normal_log_prob(z, wrong, logvar)
        )
    assert ratio_wrong.abs().max() > 0.1


@pytest.mark.statistical
def test_gan_inpainting_recovers_the_missing_entries_of_a_generated_point(seed):
    """G(z) = Wz + b with two observed entries: the observed-pixel loss has the unique minimiser z_true."""
    gan = linear_gan(seed)
    with torch.no_grad():
        # The rows of W that map to the observed entries are set to a random rotation: an
        # ill-conditioned pair (condition numbers up to ~300 for some seeds) slows Adam down so
        # much that 800 steps miss z_true, which is not what this test is about.
        rotation, _ = torch.linalg.qr(torch.randn(2, 2, generator=torch.Generator().manual_seed(seed)))
        gan.generator.weight[[0, 2]] = rotation
        z_true = torch.randn(10, 2, generator=torch.Generator().manual_seed(seed + 1))
        x = gan.generator(z_true)
    mask = torch.tensor([True, False, True, False]).expand_as(x).clone()
    g = lambda: torch.Generator().manual_seed(seed + 2)
    completed = imp.gan_inpaint(gan, x, mask, 800, lr=0.05, restarts=2, generator=g())
    # seeds 0–9, 1 thread: largest error 5e-7 (0.009–0.61 for 5 of them before the rotation)
    assert torch.allclose(completed, x, atol=1e-3)
    # the prior term pulls z toward 0, so the fill moves away from the truth (seeds 0–9: by 0.39–1.56)
    shrunk = imp.gan_inpaint(gan, x, mask, 800, prior_weight=5.0, generator=g())
    assert (shrunk - x).abs().max() > 1e-2


def test_gan_inpaint_leaves_the_networks_and_their_mode_alone():
    gan = linear_gan()
    before = {k: v.clone() for k, v in gan.state_dict().items()}
    gan.train()
    x = torch.randn(4, 4)
    imp.gan_inpaint(gan, x, imp.random_mask(x.shape, 0.5), 5, adversarial_weight=0.1)
    assert gan.training
    assert all(torch.equal(before[k], v) for k, v in gan.state_dict().items())
    assert all(p.grad is None for p in gan.parameters())


def test_bad_arguments_are_named():
    vae, _ = linear_gaussian_vae()
    gan = linear_gan()
    x = torch.randn(4, 4)
    mask = torch.ones(4, 4, dtype=torch.bool)
    with pytest.raises(ValueError, match="shape"):
        imp.pseudo_gibbs(vae, torch.randn(4, 3), torch.ones(4, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="steps"):
        imp.metropolis_within_gibbs(vae, x, mask, 0)
    with pytest.raises(ValueError, match="shape"):
        imp.gan_inpaint(gan, torch.randn(4, 5), torch.ones(4, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match="restarts"):
        imp.gan_inpaint(gan, x, mask, restarts=0)
    with pytest.raises(TypeError, match="boolean"):
        imp.gan_inpaint(gan, x, mask.int())


# --- the ELBO of the observed entries -------------------------------------------------------


def masked_digits_vae(seed: int = 0) -> MaskedVAE:
    torch.manual_seed(seed)
    return MaskedVAE.conv((1, 8, 8), latent_dim=4, channels=(8, 16))


def test_masked_elbo_equals_the_elbo_when_nothing_is_missing():
    vae = masked_digits_vae()
    x = genlab.data.digits((0, 1)).tensors[0][:16]
    torch.manual_seed(3)
    plain = vae.elbo(x)
    torch.manual_seed(3)
    masked = vae.masked_elbo(x, torch.ones_like(x, dtype=torch.bool))
    assert torch.equal(plain, masked)


def test_masked_elbo_ignores_the_values_at_missing_positions():
    vae = masked_digits_vae()
    x = genlab.data.digits((0, 1)).tensors[0][:16]
    mask = imp.random_mask(x.shape, 0.5, generator=torch.Generator().manual_seed(0))
    values = []
    for filler in (torch.zeros_like(x), torch.ones_like(x), torch.full_like(x, float("nan")), 1 - x):
        torch.manual_seed(3)
        values.append(vae.masked_elbo(torch.where(mask, x, filler), mask))
        values.append(vae.masked_elbo(torch.where(mask, x, filler), mask, 5, generator=torch.Generator().manual_seed(4)))
    for a, b in zip(values[::2], values[2::2]):
        assert torch.equal(a, b)
    for a, b in zip(values[1::2], values[3::2]):
        assert torch.equal(a, b)
    # and the missing entries do count in the ordinary ELBO
    torch.manual_seed(3)
    assert not torch.equal(vae.elbo(torch.where(mask, x, 1 - x)), values[0])


@pytest.mark.statistical
def test_masked_bound_approaches_the_exact_log_likelihood_of_the_observed_entries(seed):
    """For the linear-Gaussian model, log p(x_o) = log N(x_o; b_o, C_oo); the MIWAE bound reaches it as k grows.

    The encoder reads the zero-filled input; it is set to the exact posterior p(z|x_o) = N(m, S),
    with the diagonal variance 2·diag(S) ⪰ S, so that the importance weights are bounded.
    """
    vae, joint = linear_gaussian_vae(cls=MaskedVAE)
    torch.manual_seed(seed)
    x = joint.sample(torch.Size([32]))
    observed = torch.tensor([True, False, True, True])
    w, b, sigma = vae.decoder.weight.detach(), vae.decoder.bias.detach(), 0.5
    w_o = w[observed]
    s = torch.linalg.inv(torch.eye(2) + w_o.T @ w_o / sigma**2)
    gain = s @ w_o.T / sigma**2  # m = gain (x_o − b_o)
    with torch.no_grad():
        vae.encoder.weight.zero_()
        vae.encoder.weight[:2, observed] = gain
        vae.encoder.bias[:2] = -gain @ b[observed]
        vae.encoder.bias[2:] = torch.log(2 * torch.diagonal(s))
    mask = observed.expand_as(x).clone()
    exact = torch.distributions.MultivariateNormal(
        joint.loc[observed], joint.covariance_matrix[observed][:, observed]
    ).log_prob(x[:, observed])
    with torch.no_grad():
        tight = vae.masked_elbo(x, mask, 5000, generator=torch.Generator().manual_seed(seed + 1))
        loose = vae.masked_elbo(x, mask, 1, generator=torch.Generator().manual_seed(seed + 1))
    # seeds 0–9, 1 thread: largest error 0.015–0.027, mean error 0.005–0.008; k = 1 falls 0.22–0.60 below
    assert (tight - exact).abs().max() < 0.05 and (tight - exact).abs().mean() < 0.015
    assert loose.mean() < exact.mean() - 0.1  # k = 1: the ELBO, strictly below log p(x_o) as q is not exact


@pytest.mark.statistical
def test_masked_vae_trains_with_fit_and_rejects_bare_tensors(seed):
    x = genlab.data.digits((0, 1)).tensors[0][:256]
    mask = imp.random_mask(x.shape, 0.5, generator=torch.Generator().manual_seed(seed))
    for k in (1, 3):
        torch.manual_seed(seed)
        model = MaskedVAE.conv((1, 8, 8), latent_dim=4, channels=(8, 16), k=k)
        with torch.no_grad():
            before = model.masked_elbo(x, mask, 10, generator=torch.Generator().manual_seed(seed)).mean()
        history = genlab.fit(model, (torch.where(mask, x, 0.0), mask), steps=150, batch_size=64, device="cpu", seed=seed)
        with torch.no_grad():
            after = model.masked_elbo(x, mask, 10, generator=torch.Generator().manual_seed(seed)).mean()
        # seeds 0–9, 1 thread: the bound rises by 5.9–8.3 nats (k = 1 and k = 3 alike)
        assert len(history["loss"]) == 150 and after > before + 3
    with pytest.raises(ValueError, match="mask"):
        genlab.fit(model, x, steps=1, batch_size=8, device="cpu")
    with pytest.raises(ValueError, match="k"):
        MaskedVAE.conv((1, 8, 8), k=0)
    with pytest.raises(ValueError, match="β|beta"):
        MaskedVAE.conv((1, 8, 8), k=4, beta=0.5)
    with pytest.raises(ValueError, match="k"):
        model.masked_elbo(x, mask, 0)


# --- sequences ---------------------------------------------------------------------------------


def test_linear_gap_fill_is_exact_on_a_straight_line():
    t = torch.arange(10.0).view(1, 10, 1).repeat(2, 1, 2) * torch.tensor([0.5, -2.0])
    fill = imp.linear_gap_fill(t, 3, 7)
    assert torch.allclose(fill, t[:, 3:7])
    with pytest.raises(ValueError, match="start"):
        imp.linear_gap_fill(t, 0, 4)
    with pytest.raises(ValueError, match="start"):
        imp.linear_gap_fill(t, 3, 10)


def test_rnn_gap_fill_weights_and_shapes():
    torch.manual_seed(0)
    model = genlab.models.SequenceRNN(2, 12, hidden=8)
    x = torch.randn(3, 12, 2)
    x[:, 4:8] = float("nan")  # the gap's values are never read
    g = lambda: torch.Generator().manual_seed(0)
    past = imp.rnn_gap_fill(model, x, 4, 8, 20, use_future=False, generator=g())
    both = imp.rnn_gap_fill(model, x, 4, 8, 20, generator=g())
    assert past.paths.shape == both.paths.shape == (3, 20, 4, 2) and both.mean.shape == (3, 4, 2)
    assert torch.equal(past.paths, both.paths)  # the same draws, weighted differently
    assert torch.allclose(past.weights, torch.full((3, 20), 1 / 20))
    assert torch.allclose(both.weights.sum(1), torch.ones(3))
    assert torch.allclose(both.mean, (both.weights[..., None, None] * both.paths).sum(1))
    assert ((both.effective_size >= 1 - 1e-5) & (both.effective_size <= 20 + 1e-4)).all()
    assert torch.equal(imp.rnn_gap_fill(model, x, 4, 8, 20, generator=g()).mean, both.mean)
    with pytest.raises(ValueError, match="features"):
        imp.rnn_gap_fill(model, torch.randn(3, 12, 3), 4, 8)
    with pytest.raises(ValueError, match="n_paths"):
        imp.rnn_gap_fill(model, x, 4, 8, 0)
    bad = x.clone()
    bad[0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="outside the gap"):
        imp.rnn_gap_fill(model, bad, 4, 8)


@pytest.mark.statistical
def test_rnn_gap_fill_with_the_future_finds_the_right_branch(seed):
    """A known answer: a model that predicts x_t = x_{t-1} + noise. Paths through a gap are random
    walks from the last observed value; weighting by the first value after the gap must pull the
    fill toward it, while forward sampling stays at the last value before the gap."""
    model = genlab.models.SequenceRNN(1, 6, hidden=1, cell="rnn", min_log_scale=-1.0)
    with torch.no_grad():
        # h_t = tanh(a x_{t-1}) with a small a is ≈ a x_{t-1}; the head gives μ_t = h_t / a ≈ x_{t-1}, log σ = log 0.5
        a = 1e-3
        for name, p in model.rnn.named_parameters():
            p.zero_()
            if name == "weight_ih_l0":
                p.fill_(a)
        model.head.weight.zero_()
        model.head.bias.zero_()
        model.head.weight[0, 0] = 1 / a
        model.head.bias[1] = math.log(0.5)
    x = torch.zeros(1, 6, 1)
    x[0, 4:] = 2.0  # after the gap [1, 4) the series sits at 2
    g = lambda: torch.Generator().manual_seed(seed)
    past = imp.rnn_gap_fill(model, x, 1, 4, 16_000, use_future=False, generator=g())
    both = imp.rnn_gap_fill(model, x, 1, 4, 16_000, future_steps=1, generator=g())
    # seeds 0–9, 1 thread: forward fill within 0.017 of 0, bridge within 0.030 (within 0.062 at 4,000 paths)
    # exact: a Gaussian random walk bridge from 0 (t = 0) to 2 (t = 4) has mean 2t/4 at t = 1, 2, 3
    assert past.mean.abs().max() < 0.06
    assert torch.allclose(both.mean.flatten(), torch.tensor([0.5, 1.0, 1.5]), atol=0.1)
