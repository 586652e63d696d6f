"""The DDPM: its noise schedules, the forward process, the loss and the reverse-process sampler."""

import math

import pytest
import torch
from torch import nn

import genlab
from genlab.models.diffusion import DDPM, TimeEmbedding, noise_schedule


def test_linear_schedule_is_the_papers():
    betas = noise_schedule("linear", 1000)
    assert betas[0].item() == pytest.approx(1e-4) and betas[-1].item() == pytest.approx(0.02)
    alpha_bar = torch.cumprod(1 - betas, 0)
    # Ho et al. (2020): with this schedule x_T is almost pure noise, ᾱ_T ≈ 4e-5.
    assert 2e-5 < alpha_bar[-1].item() < 8e-5
    # Fewer steps, the same total noise: ᾱ_T stays tiny.
    assert torch.cumprod(1 - noise_schedule("linear", 100), 0)[-1].item() < 1e-4


def test_cosine_schedule_follows_its_formula():
    T, s = 50, 0.008
    alpha_bar = torch.cumprod(1 - noise_schedule("cosine", T), 0)
    f = lambda t: math.cos((t / T + s) / (1 + s) * math.pi / 2) ** 2  # noqa: E731
    for t in (1, 10, 25, 40):
        assert alpha_bar[t - 1].item() == pytest.approx(f(t) / f(0), rel=1e-9)
    assert noise_schedule("cosine", T).max().item() <= 0.999


def test_bad_settings_name_the_argument():
    with pytest.raises(ValueError, match="unknown noise schedule 'quadratic'"):
        genlab.DDPM.mlp(schedule="quadratic")
    with pytest.raises(ValueError, match="timesteps"):
        genlab.DDPM.mlp(timesteps=1)
    with pytest.raises(ValueError, match="lr"):
        genlab.DDPM.mlp(lr=0.0)
    with pytest.raises(ValueError, match="even"):
        TimeEmbedding(7)


def test_forward_process_has_the_closed_form_marginal():
    torch.manual_seed(0)
    model = genlab.DDPM.mlp(hidden=8, depth=1, timesteps=100)
    x0 = torch.full((200_000, 2), 3.0)
    for t in (1, 50, 100):
        a = model.alpha_bar[t - 1].item()
        xt = model.noised(x0, torch.full((len(x0),), t), torch.randn_like(x0))
        assert xt.mean().item() == pytest.approx(3 * math.sqrt(a), abs=0.01)
        assert xt.std().item() == pytest.approx(math.sqrt(1 - a), rel=0.01)


class OracleDenoiser(nn.Module):
    """The exact E[ε | x_t] when the data are N(mean, std² I): the best possible noise predictor."""

    def __init__(self, alpha_bar: torch.Tensor, mean: float, std: float) -> None:
        super().__init__()
        self.alpha_bar, self.mean, self.std = alpha_bar, mean, std
        self.unused = nn.Parameter(torch.zeros(1))  # a model needs one parameter for its device

    def forward(self, x, t):
        a = self.alpha_bar[t - 1][:, None]
        variance = a * self.std**2 + 1 - a
        return (1 - a).sqrt() / variance * (x - a.sqrt() * self.mean)


class Zero(nn.Module):
    def forward(self, x, t):
        return torch.zeros_like(x)


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_sampler_with_the_exact_denoiser_recovers_the_data_distribution(schedule):
    model = genlab.DDPM(nn.Identity(), data_shape=(2,), timesteps=200, schedule=schedule)
    model.denoiser = OracleDenoiser(model.alpha_bar, mean=2.0, std=0.5)
    x = model.sample(20_000, generator=torch.Generator().manual_seed(0))
    assert x.shape == (20_000, 2)
    assert x.mean().item() == pytest.approx(2.0, abs=0.02)
    assert x.std().item() == pytest.approx(0.5, rel=0.03)
    assert torch.corrcoef(x.T)[0, 1].abs().item() < 0.03  # independent coordinates, as in the data


def test_loss_is_the_squared_noise_error_and_the_exact_denoiser_beats_zero():
    model = genlab.DDPM(nn.Identity(), data_shape=(2,), timesteps=100)
    x0 = 2.0 + 0.5 * torch.randn(50_000, 2, generator=torch.Generator().manual_seed(1))
    model.denoiser = Zero()
    # Predicting no noise costs E||ε||² = 2 (the dimension).
    assert model.loss(x0, generator=torch.Generator().manual_seed(2)).item() == pytest.approx(2.0, rel=0.02)
    model.denoiser = OracleDenoiser(model.alpha_bar, mean=2.0, std=0.5)
    assert model.loss(x0, generator=torch.Generator().manual_seed(2)).item() < 1.0


def test_training_lowers_the_loss_and_samples_come_from_the_denoiser():
    torch.manual_seed(0)
    model = genlab.DDPM.mlp(data_dim=2, hidden=32, depth=2, timesteps=50, lr=3e-3)
    x = 1.0 + 0.3 * torch.randn(2_000, 2, generator=torch.Generator().manual_seed(0))
    history = genlab.fit(model, x, steps=400, batch_size=128, progress=False, log_every=20)
    assert sum(history["loss"][-5:]) / 5 < 0.6 * sum(history["loss"][:2]) / 2
    samples = model.sample(1_000, generator=torch.Generator().manual_seed(0))
    assert torch.isfinite(samples).all() and samples.shape == (1_000, 2)


def test_reverse_process_runs_from_noise_to_the_sample():
    torch.manual_seed(0)
    model = genlab.DDPM.mlp(hidden=8, depth=1, timesteps=10)
    steps = list(model.reverse_process(4, generator=torch.Generator().manual_seed(3)))
    assert [t for t, _ in steps] == list(range(10, -1, -1))
    assert torch.equal(steps[-1][1], model.sample(4, generator=torch.Generator().manual_seed(3)))
    assert model.training  # eval mode inside, the previous mode after


def test_ema_averages_the_denoiser_and_sampling_uses_the_average(tmp_path):
    with pytest.raises(ValueError, match="ema must be a number in"):
        DDPM.mlp(ema=1.0)
    with pytest.raises(ValueError, match="ema must be a number in"):
        DDPM.mlp(ema=True)
    assert DDPM.mlp().denoiser_ema is None and "denoiser_ema.net.0.weight" not in DDPM.mlp().state_dict()
    torch.manual_seed(0)
    model = DDPM.mlp(hidden=16, depth=2, timesteps=20, ema=0.5)
    before = [p.detach().clone() for p in model.denoiser.parameters()]
    x = torch.randn(64, 2)
    genlab.fit(model, x, steps=1, batch_size=32, device="cpu", seed=0, progress=False)
    after = list(model.denoiser.parameters())
    for p_avg, p0, p1 in zip(model.denoiser_ema.parameters(), before, after):
        assert torch.allclose(p_avg, 0.5 * p0 + 0.5 * p1)  # θ̄ = β θ0 + (1 − β) θ1, starting from θ0
        assert not p_avg.requires_grad
    assert model.sampler is model.denoiser_ema
    # sampling reads the average: replacing the trained denoiser by noise changes nothing
    g = lambda: torch.Generator().manual_seed(1)  # noqa: E731
    first = model.sample(8, generator=g())
    with torch.no_grad():
        for p in model.denoiser.parameters():
            p.add_(torch.randn_like(p))
    assert torch.equal(model.sample(8, generator=g()), first)
    genlab.fit(model, x, steps=2, batch_size=32, device="cpu", seed=0, progress=False, checkpoint=tmp_path / "d.pt",
               overwrite=True)
    loaded = genlab.load(tmp_path / "d.pt")
    assert loaded.ema == 0.5 and torch.equal(loaded.sample(8, generator=g()), model.sample(8, generator=g()))
