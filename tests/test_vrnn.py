"""The variational RNN: its per-step ELBO, the importance-weighted bound, the scale floor, clipping."""

import math

import pytest
import torch

import genlab
from genlab.losses import gaussian_kl_between
from genlab.models import VRNN
from genlab.models.sequence_rnn import iid_gaussian_nll
from helpers import gradient_norms_at_each_step


def tiny(seed: int = 0, **kwargs) -> VRNN:
    torch.manual_seed(seed)
    return VRNN(2, 6, **({"latent_dim": 3, "hidden": 8} | kwargs))


def test_kl_between_two_diagonal_gaussians_matches_torch():
    g = torch.Generator().manual_seed(0)
    mu_q, mu_p, lv_q, lv_p = (torch.randn(5, 4, generator=g) for _ in range(4))
    q = torch.distributions.Normal(mu_q, (0.5 * lv_q).exp())
    p = torch.distributions.Normal(mu_p, (0.5 * lv_p).exp())
    expected = torch.distributions.kl_divergence(q, p).sum(dim=-1)
    torch.testing.assert_close(gaussian_kl_between(mu_q, lv_q, mu_p, lv_p), expected)


@pytest.mark.parametrize("length", [1, 4])
def test_elbo_by_hand_is_the_sum_of_the_per_step_terms(length):
    """Σ_t [log N(x_t; μ_x,t, σ_x,t²) − KL(N(μ_z,t, σ_z,t²) ‖ N(μ_0,t, σ_0,t²))] written out step by step: the
    heads read [·, h_{t−1}], z_t = μ_z,t + σ_z,t ε_t, and h_t = GRU([φ_x(x_t), φ_z(z_t)], h_{t−1}), with
    h_0 = 0 and every σ computed here from the heads' raw outputs (log σ = floor + softplus(raw − floor)).
    With T > 1 the recurrence carries x_<t and z_<t into each step's prior and posterior."""
    model = tiny(min_log_scale=-3.0).eval()
    x = torch.randn(4, length, 2, generator=torch.Generator().manual_seed(1))
    noise = torch.Generator().manual_seed(5)  # the draws elbo makes: one ε_t of shape (4, 3) per step, in order

    def normal(out):
        mean, raw = out.chunk(2, dim=-1)
        return torch.distributions.Normal(mean, (-3.0 + torch.nn.functional.softplus(raw + 3.0)).exp())

    with torch.no_grad():
        h, total = torch.zeros(4, 8), torch.zeros(4)
        for t in range(length):
            prior = normal(model.prior(h))
            posterior = normal(model.encoder(torch.cat([model.phi_x(x[:, t]), h], dim=-1)))
            z = posterior.loc + posterior.scale * torch.randn(4, 3, generator=noise)
            likelihood = normal(model.decoder(torch.cat([model.phi_z(z), h], dim=-1)))
            total += likelihood.log_prob(x[:, t]).sum(-1) - torch.distributions.kl_divergence(posterior, prior).sum(-1)
            h = model.cell(torch.cat([model.phi_x(x[:, t]), model.phi_z(z)], dim=-1), h)
        elbo = model.elbo(x, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(elbo, total)


def test_the_recurrence_reads_both_x_and_z():
    """h_t depends on x_t and on z_t: changing either changes the next step's prior."""
    model = tiny().eval()
    x = torch.randn(1, 2, 2)
    with torch.no_grad():
        base = model.step_terms(x, generator=torch.Generator().manual_seed(0))["kl"][0, 1]
        other_x = x.clone()
        other_x[0, 0] += 1.0
        changed_x = model.step_terms(other_x, generator=torch.Generator().manual_seed(0))["kl"][0, 1]
        changed_z = model.step_terms(x, generator=torch.Generator().manual_seed(1))["kl"][0, 1]
    assert not torch.isclose(base, changed_x) and not torch.isclose(base, changed_z)


@pytest.mark.statistical
def test_importance_weighted_bound_rises_with_k_and_starts_at_the_elbo(seed):
    model = tiny(seed=seed)
    x = genlab.data.sines(64, 6, 2, seed=seed)
    g = torch.Generator().manual_seed(seed)
    elbo = torch.stack([model.elbo(x, generator=g) for _ in range(50)]).mean().item()
    l1 = model.log_likelihood(x, k=1, generator=g).mean().item()
    l1_many = torch.stack([model.log_likelihood(x, k=1, generator=g) for _ in range(50)]).mean().item()
    l100 = model.log_likelihood(x, k=100, generator=g).mean().item()
    assert l1_many == pytest.approx(elbo, abs=0.05 * abs(elbo))  # E[L_1] = ELBO
    assert l100 > l1_many + 0.01 and l100 > l1  # E[L_k] grows with k (Burda et al., 2016, theorem 1)
    assert model.nll(x, k=100, generator=g) == pytest.approx(-l100 / 6, rel=0.05)


def test_scale_floor_keeps_a_perfect_fit_finite():
    """Raw scales far below the floor stay at the floor, so the likelihood of exact data stays finite."""
    model = tiny(min_log_scale=-4.0)
    with torch.no_grad():
        for head in (model.prior, model.encoder, model.decoder):
            head[-1].bias[head[-1].out_features // 2:] = -1e4  # raw log σ = −10,000
    x = torch.full((8, 6, 2), 0.5)
    terms = model.step_terms(x)
    assert torch.isfinite(terms["log_px"]).all() and torch.isfinite(terms["kl"]).all()
    mean, logvar = model._gaussian(torch.cat([torch.zeros(1, 2), torch.full((1, 2), -1e4)], dim=-1))
    assert torch.all(logvar == 2 * -4.0)  # log σ² at the floor of log σ
    loss = -terms["log_px"].mean()
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_clipping_acts_before_each_step():
    model = tiny(clip_norm=1e-3)
    optimizers = model.configure_optimizers()
    norms = gradient_norms_at_each_step(optimizers)
    model.train_step(100 * torch.randn(16, 6, 2), optimizers, 0)
    assert len(norms) == 1 and norms[0] <= 1e-3 * (1 + 1e-4)


def test_kl_warmup_is_a_function_of_the_step():
    model = tiny(kl_warmup=100)
    assert [model.kl_weight(s) for s in (0, 50, 100, 1000)] == [0.0, 0.5, 1.0, 1.0]
    assert tiny().kl_weight(0) == 1.0


def test_step_kl_and_samples():
    model = tiny()
    kl = model.step_kl(torch.randn(3, 6, 2))
    assert kl.shape == (3, 6) and (kl >= 0).all()
    assert model.sample(4, length=9, generator=torch.Generator().manual_seed(0)).shape == (4, 9, 2)


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="latent_dim"):
        VRNN(2, 6, latent_dim=0)
    with pytest.raises(ValueError, match="min_log_scale"):
        VRNN(2, 6, min_log_scale=-math.inf)
    with pytest.raises(ValueError, match=r"shape \(batch, time, 2\)"):
        tiny().log_likelihood(torch.zeros(3, 6, 3))
    with pytest.raises(ValueError, match="NaN"):
        tiny().elbo(torch.full((3, 6, 2), math.nan))


@pytest.mark.statistical
def test_a_short_training_run_beats_the_memoryless_baseline(seed):
    """300 updates on sines already put the held-out bound well below an i.i.d. Gaussian's exact NLL."""
    train, test = genlab.data.sines(512, 6, 2, seed=seed), genlab.data.sines(256, 6, 2, seed=seed + 100)
    model = tiny(seed=seed, hidden=16, lr=3e-3)
    genlab.fit(model, train, steps=300, batch_size=64, seed=seed, device="cpu", progress=False)
    baseline = iid_gaussian_nll(train, test).mean().item()
    bound = model.nll(test, k=20, generator=torch.Generator().manual_seed(seed))
    print(f"VRNN bound {bound:.3f}, i.i.d. baseline {baseline:.3f} nats per step")
    assert bound < baseline - 0.5
