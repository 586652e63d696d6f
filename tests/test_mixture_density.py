"""SequenceRNN with a mixture of Gaussians per step (a mixture density network on a recurrence)."""

import math

import pytest
import torch

from genlab.bench import toy2d
from genlab.models.sequence_rnn import SequenceRNN
from genlab.train import fit


def test_step_nll_matches_torch_distributions():
    torch.manual_seed(0)
    model = SequenceRNN(3, 5, hidden=8, components=4)
    x = torch.randn(6, 5, 3)
    with torch.no_grad():
        log_weight, mean, log_scale = model.predict_mixture(x)
        reference = torch.distributions.MixtureSameFamily(
            torch.distributions.Categorical(logits=log_weight),
            torch.distributions.Independent(torch.distributions.Normal(mean, log_scale.exp()), 1),
        )
        assert log_weight.shape == (6, 5, 4) and mean.shape == log_scale.shape == (6, 5, 4, 3)
        assert torch.allclose(log_weight.exp().sum(-1), torch.ones(6, 5))
        assert torch.allclose(model.step_nll(x), -reference.log_prob(x), atol=1e-5)
        assert torch.allclose(model.log_prob(x), reference.log_prob(x).sum(1), atol=1e-4)


def test_one_component_is_the_plain_gaussian_model():
    torch.manual_seed(0)
    model = SequenceRNN(2, 4, hidden=8)
    x = torch.randn(3, 4, 2)
    with torch.no_grad():
        log_weight, mean, log_scale = model.predict_mixture(x)
        plain_mean, plain_log_scale = model.predict(x)
    assert torch.equal(log_weight, torch.zeros(3, 4, 1))
    assert torch.equal(mean.squeeze(-2), plain_mean) and torch.equal(log_scale.squeeze(-2), plain_log_scale)


def test_components_start_spread_over_the_standardised_range():
    torch.manual_seed(0)
    model = SequenceRNN(1, 3, hidden=8, components=5)
    with torch.no_grad():
        _, mean, log_scale = model.predict_mixture(torch.zeros(200, 3, 1))
    centres = mean[:, 0, :, 0].mean(0)  # the first step's component means, averaged over nothing but noise-free input
    assert torch.allclose(centres, torch.linspace(-2, 2, 5), atol=0.6)  # the bias sets them; weights add < 0.6
    assert (centres.diff() > 0).all()  # side by side, in order: none starts on top of another


def test_sampling_picks_components_by_their_weights():
    model = SequenceRNN(1, 1, hidden=4, components=2, min_log_scale=-9)
    with torch.no_grad():
        model.head.weight.zero_()  # every step's mixture is the head's bias alone
        model.head.bias.copy_(torch.tensor([math.log(0.3), math.log(0.7), -5.0, -9.0, 5.0, -9.0]))
    samples = model.sample(20_000, generator=torch.Generator().manual_seed(0)).flatten()
    assert torch.equal(samples, model.sample(20_000, generator=torch.Generator().manual_seed(0)).flatten())
    assert ((samples + 5).abs() < 0.01).logical_or((samples - 5).abs() < 0.01).all()  # on a component, σ = e^−9
    # share at −5: binomial(20,000, 0.3) has standard deviation 0.0032; 5 of them
    assert abs((samples < 0).float().mean().item() - 0.3) < 0.016


@pytest.mark.statistical
def test_a_mixture_models_a_two_valued_next_step_that_one_gaussian_blurs(seed):
    """x_2 = x_1 ± 1 with equal odds: one Gaussian must cover both branches, two components sit on them."""
    g = torch.Generator().manual_seed(seed)
    first = torch.randn(4_096, generator=g)
    second = first + torch.where(torch.rand(4_096, generator=g) < 0.5, -1.0, 1.0) + 0.05 * torch.randn(4_096, generator=g)
    x = torch.stack([first, second], dim=1).unsqueeze(-1)
    train, test = x[:3_072], x[3_072:]
    nll = {}
    for components in (1, 2):
        torch.manual_seed(seed)
        model = SequenceRNN(1, 2, hidden=16, components=components, lr=3e-3)
        fit(model, train, steps=600, batch_size=128, seed=seed, progress=False)
        with torch.no_grad():
            nll[components] = model.step_nll(test)[:, 1].mean().item()
    # exact: one Gaussian at best 0.5 log(2πe · 1.0025) = 1.42; the true mixture log 2 + 0.5 log(2πe · 0.05²) = −1.19
    assert nll[1] > 1.3
    assert nll[2] < -0.5


def test_the_point_model_of_the_ring_is_a_density_in_the_data_units():
    """Trained.log_prob (the table's NLL) integrates to 1 over the plane, scale change included."""
    torch.manual_seed(0)
    model = toy2d.Trained(toy2d.RECIPES["MDN-RNN"].build(), scale=0.7)  # untrained: broad components
    axis = torch.linspace(-8, 8, 401)
    xx, yy = torch.meshgrid(axis, axis, indexing="ij")
    with torch.no_grad():
        density = model.log_prob(torch.stack([xx.flatten(), yy.flatten()], dim=1)).exp()
    assert density.sum().item() * (axis[1] - axis[0]).item() ** 2 == pytest.approx(1.0, abs=0.01)
