import math

import pytest
import torch

import genlab
from genlab.models.sequence_rnn import SequenceRNN, gaussian_nll, iid_gaussian_nll, random_walk_nll

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def tiny_model() -> SequenceRNN:
    """One feature, one Elman unit, every weight set by hand."""
    model = SequenceRNN(1, 3, hidden=1, cell="rnn")
    with torch.no_grad():
        model.start.fill_(0.5)
        model.rnn.weight_ih_l0.fill_(0.8)
        model.rnn.weight_hh_l0.fill_(-0.6)
        model.rnn.bias_ih_l0.fill_(0.1)
        model.rnn.bias_hh_l0.fill_(0.2)
        model.head.weight.copy_(torch.tensor([[1.5], [-0.7]]))  # rows: μ, log σ
        model.head.bias.copy_(torch.tensor([0.3, -0.2]))
    return model


def test_nll_equals_hand_computation():
    model = tiny_model()
    x = [0.4, -1.0, 2.0]
    expected, h, previous = [], 0.0, 0.5  # h_0 = 0, x_0 = the start value
    for value in x:
        h = math.tanh(0.8 * previous + 0.1 - 0.6 * h + 0.2)  # Elman: h_t = tanh(W x_{t−1} + U h_{t−1} + b)
        mu, log_sigma = 1.5 * h + 0.3, -0.7 * h - 0.2
        expected.append(0.5 * ((value - mu) / math.exp(log_sigma)) ** 2 + log_sigma + 0.5 * math.log(2 * math.pi))
        previous = value
    with torch.no_grad():
        per_step = model.step_nll(torch.tensor(x).view(1, 3, 1))
        per_sequence = model.nll(torch.tensor(x).view(1, 3, 1))
        log_p = model.log_prob(torch.tensor(x).view(1, 3, 1))
    assert per_step.shape == (1, 3)
    assert per_step[0].tolist() == pytest.approx(expected, rel=1e-5)
    assert per_sequence == pytest.approx(sum(expected) / 3, rel=1e-5)
    assert log_p.shape == (1,) and log_p.item() == pytest.approx(-sum(expected), rel=1e-5)


def test_gaussian_nll_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    x, mean, log_scale = (torch.randn(4, 5, 3, generator=g) for _ in range(3))
    reference = -torch.distributions.Normal(mean, log_scale.exp()).log_prob(x).sum(-1)
    assert torch.allclose(gaussian_nll(x, mean, log_scale), reference, atol=1e-5)


def test_features_are_summed_and_steps_averaged():
    torch.manual_seed(0)
    model = SequenceRNN(3, 5, hidden=8)
    x = torch.randn(2, 5, 3)
    with torch.no_grad():
        mean, log_scale = model.predict(x)
        manual = -torch.distributions.Normal(mean, log_scale.exp()).log_prob(x).sum(-1)
        assert torch.allclose(model.log_prob(x), -manual.sum(1), atol=1e-5)
        assert model.nll(x) == pytest.approx(manual.mean().item(), rel=1e-5)


def test_prediction_depends_on_the_past_only():
    torch.manual_seed(0)
    model = SequenceRNN(2, 6, hidden=8, cell="lstm")
    x = torch.randn(1, 6, 2)
    y = x.clone()
    y[0, 3] += 5.0  # change step 4 (index 3)
    with torch.no_grad():
        (ma, sa), (mb, sb) = model.predict(x), model.predict(y)
    assert torch.equal(ma[0, :4], mb[0, :4]) and torch.equal(sa[0, :4], sb[0, :4])  # steps ≤ 4 cannot see it
    assert not torch.allclose(ma[0, 4:], mb[0, 4:])  # later steps do


def noisy_sines(n: int, length: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(length).float()
    phase = 2 * math.pi * torch.rand(n, 1, generator=g)
    return (torch.sin(2 * math.pi * t / 12 + phase) + 0.1 * torch.randn(n, length, generator=g)).unsqueeze(-1)


@pytest.mark.statistical
def test_learns_a_noisy_sine_far_beyond_an_iid_gaussian(seed):
    train, test = noisy_sines(512, 24, seed=2 * seed), noisy_sines(256, 24, seed=2 * seed + 1)
    torch.manual_seed(seed)
    model = SequenceRNN(1, 24, hidden=16, lr=1e-2)
    history = genlab.fit(model, train, steps=200, batch_size=64, device="cpu", seed=seed)
    assert history["nll"][-1] < history["nll"][0]
    with torch.no_grad():
        rnn = model.step_nll(test)[:, 2:].mean().item()  # once the phase can be read from two steps
    iid = iid_gaussian_nll(train, test)[:, 2:].mean().item()
    # iid ≈ ½ log(2πe · 0.51) ≈ 1.08 nats; the noise floor is ½ log(2πe · 0.01) ≈ −0.88 nats
    # seeds 0–9, 1 thread: iid within 0.003 of it; rnn −0.67 to −0.57, 1.66–1.75 nats below iid
    assert iid == pytest.approx(0.5 * math.log(2 * math.pi * math.e * 0.51), abs=0.05)
    assert rnn < iid - 1.2, (rnn, iid)


def test_baselines_by_hand():
    train = torch.tensor([[0.0, 1.0, 3.0], [2.0, 2.0, 4.0]]).unsqueeze(-1)  # steps: 1, 2, 0, 2 -> RMS √2.25
    test = torch.tensor([[1.0, 2.0, 0.0]]).unsqueeze(-1)
    s = math.sqrt((1 + 4 + 0 + 4) / 4)
    expected = [0.5 * (d / s) ** 2 + math.log(s) + 0.5 * math.log(2 * math.pi) for d in (1.0, -2.0)]
    assert random_walk_nll(train, test)[0].tolist() == pytest.approx(expected)
    m, sd = train.mean().item(), train.std(unbiased=False).item()
    expected = [0.5 * ((v - m) / sd) ** 2 + math.log(sd) + 0.5 * math.log(2 * math.pi) for v in (1.0, 2.0, 0.0)]
    assert iid_gaussian_nll(train, test)[0].tolist() == pytest.approx(expected)
    with pytest.raises(ValueError, match="features"):
        iid_gaussian_nll(train, torch.zeros(1, 3, 2))
    with pytest.raises(ValueError, match="two steps"):
        random_walk_nll(train[:, :1], test)
    with pytest.raises(ValueError, match="shape"):
        random_walk_nll(train[0], test)


@pytest.mark.parametrize("cell", ["gru", "lstm", "rnn"])
def test_sampling_shapes_and_seeding(cell):
    torch.manual_seed(0)
    model = SequenceRNN(3, 7, hidden=8, cell=cell)
    x = model.sample(5, generator=torch.Generator().manual_seed(1))
    assert x.shape == (5, 7, 3)
    assert model.sample(4, length=11).shape == (4, 11, 3)
    again = model.sample(5, generator=torch.Generator().manual_seed(1))
    other = model.sample(5, generator=torch.Generator().manual_seed(2))
    assert torch.equal(x, again) and not torch.equal(x, other)
    assert model.sample(0).shape == (0, 7, 3)


def test_sampler_carries_the_state_it_would_recompute():
    """Each draw is μ_t + σ_t ε_t with μ_t, σ_t of the full (teacher-forced) pass over the draws."""
    torch.manual_seed(0)
    model = SequenceRNN(2, 9, hidden=8, layers=2, cell="lstm")
    prefix = torch.randn(3, 4, 2)
    for given in (None, prefix):
        x = model.sample(3, length=9, generator=torch.Generator().manual_seed(5), prefix=given)
        g = torch.Generator().manual_seed(5)
        eps = torch.cat([torch.randn(3, 1, 2, generator=g) for _ in range(9)], dim=1)
        full = x if given is None else torch.cat([given, x], dim=1)
        with torch.no_grad():
            mean, log_scale = model.predict(full)
        mean, log_scale = mean[:, -9:], log_scale[:, -9:]
        assert torch.allclose(x, mean + log_scale.exp() * eps, atol=1e-5)


@pytest.mark.statistical
def test_forecast_continues_one_sequence(seed):
    torch.manual_seed(seed)
    model = SequenceRNN(1, 10, hidden=8)
    prefix = torch.randn(6, 1)
    paths = model.forecast(prefix, horizon=4, n_samples=20, generator=torch.Generator().manual_seed(seed))
    assert paths.shape == (20, 4, 1)
    assert paths[:, 0].std() > 0  # different draws
    # the first forecast step is distributed as p(x_7 | x_1..6): check mean and spread
    many = model.forecast(prefix, horizon=1, n_samples=20_000, generator=torch.Generator().manual_seed(seed + 1))
    with torch.no_grad():
        mean, log_scale = model.predict(torch.cat([prefix, torch.zeros(1, 1)]).unsqueeze(0))
    # σ depends on the random initial weights (0.86–1.67 for seeds 0–9), so the mean is allowed 5
    # standard errors σ/√n rather than a fixed 0.05 (which is 4.2 of them at σ = 1.67)
    sigma = log_scale[0, -1, 0].exp().item()
    # seeds 0–9, 1 thread: mean within 1.7 standard errors; spread −0.8% to +0.5% from σ
    assert many.mean().item() == pytest.approx(mean[0, -1, 0].item(), abs=5 * sigma / math.sqrt(len(many)))
    assert many.std().item() == pytest.approx(sigma, rel=0.05)


def test_gradient_clipping():
    torch.manual_seed(0)
    model = SequenceRNN(1, 5, hidden=8, clip_norm=1e-3)
    model.train_step(100 * torch.randn(16, 5, 1), model.configure_optimizers(), 0)  # huge errors: huge raw gradient
    norm = torch.norm(torch.stack([p.grad.norm() for p in model.parameters()]))
    assert norm.item() <= 1e-3 * (1 + 1e-4)


def test_scale_is_clamped():
    model = SequenceRNN(1, 4, hidden=4, min_log_scale=-2.0, max_log_scale=1.0)
    with torch.no_grad():
        model.head.bias.copy_(torch.tensor([0.0, -50.0]))
        _, log_scale = model.predict(torch.zeros(2, 4, 1))
    assert torch.all(log_scale == -2.0)


@pytest.mark.parametrize("device", DEVICES)
def test_fit_and_sample_on_device(device):
    torch.manual_seed(0)
    model = SequenceRNN(2, 8, hidden=8)
    data = torch.randn(64, 8, 2)
    history = genlab.fit(model, data, steps=5, batch_size=16, device=device, seed=0)
    assert len(history["nll"]) == 5
    assert model.sample(3, generator=torch.Generator(device=device).manual_seed(0)).device.type == device
    prefix = data[0].to(device)
    assert model.forecast(prefix, 4, 5).device.type == device
    assert model.log_prob(data[:4].to(device)).shape == (4,)


def test_fit_is_reproducible_on_cpu():
    data = noisy_sines(64, 12, seed=0)
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = SequenceRNN(1, 12, hidden=8)
        runs.append(genlab.fit(model, data, steps=10, batch_size=16, device="cpu", seed=3)["nll"])
    assert runs[0] == runs[1]


def test_errors():
    with pytest.raises(ValueError, match="features"):
        SequenceRNN(0, 5)
    with pytest.raises(ValueError, match="length"):
        SequenceRNN(2, 0)
    with pytest.raises(ValueError, match="unknown cell"):
        SequenceRNN(2, 5, cell="transformer")
    with pytest.raises(ValueError, match="clip_norm"):
        SequenceRNN(2, 5, clip_norm=0)
    model = SequenceRNN(2, 5, hidden=4)
    with pytest.raises(ValueError, match=r"\(batch, time, 2\)"):
        model.nll(torch.zeros(4, 5))  # features axis missing
    with pytest.raises(ValueError, match=r"\(batch, time, 2\)"):
        model.nll(torch.zeros(4, 5, 3))
    with pytest.raises(TypeError, match="Tensor"):
        model.nll([[0.0, 1.0]])
    with pytest.raises(ValueError, match="non-negative integer"):
        model.sample(-1)
    with pytest.raises(ValueError, match="length"):
        model.sample(2, length=0)
    with pytest.raises(ValueError, match="prefix"):
        model.sample(2, prefix=torch.zeros(2, 3, 5))
    with pytest.raises(ValueError, match="3 sequences but n = 2"):
        model.sample(2, prefix=torch.zeros(3, 4, 2))
    with pytest.raises(ValueError, match=r"\(time, features\)"):
        model.forecast(torch.zeros(1, 4, 2), 3)
    with pytest.raises(ValueError, match=r"shape \(5, 2\)"):
        genlab.fit(model, torch.zeros(32, 6, 2), steps=1, batch_size=8, device="cpu")
