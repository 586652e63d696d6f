"""The sequence-model mistakes the book's "Common pitfalls" section reproduces, each with its fix."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import genlab
from genlab.data.sequences import Scaler, chronological_split, co2, windows
from genlab.models.sequence_rnn import gaussian_nll, iid_gaussian_nll

# --- 1. a classification loss on continuous targets ---------------------------------------


def test_cross_entropy_rejects_continuous_targets():
    logits = torch.randn(8, 10)
    targets = torch.rand(8)  # real values in [0, 1), as a regression problem has
    with pytest.raises(RuntimeError, match="Long"):
        F.cross_entropy(logits, targets)


def test_casting_continuous_targets_to_classes_makes_the_loss_meaningless():
    g = torch.Generator().manual_seed(0)
    targets_a = torch.rand(256, generator=g)
    targets_b = torch.rand(256, generator=g) * 0.99  # a completely different series
    # the "sparse" class index of every value in [0, 1) is 0: both series become the same labels
    assert torch.equal(targets_a.long(), torch.zeros(256, dtype=torch.long))
    assert torch.equal(targets_a.long(), targets_b.long())
    # so training reaches a loss near 0 by always answering "class 0", whatever the data
    logits = torch.zeros(10, requires_grad=True)
    opt = torch.optim.Adam([logits], lr=0.5)
    for _ in range(100):
        loss = F.cross_entropy(logits.expand(256, 10), targets_a.long())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.01
    assert F.cross_entropy(logits.expand(256, 10), targets_b.long()).item() == pytest.approx(loss.item())


@pytest.mark.statistical
def test_gaussian_nll_fix_learns_the_targets(seed):
    g = torch.Generator().manual_seed(seed)
    targets = 0.3 + 0.05 * torch.randn(8192, 1, generator=g)
    mean, log_scale = torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)
    opt = torch.optim.Adam([mean, log_scale], lr=0.05)
    for _ in range(600):
        loss = gaussian_nll(targets, mean, log_scale).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    # seeds 0–9, 1 thread: mean within 0.0009 of 0.3, scale −1.7% to +0.6% from 0.05 (±3.5% at 2,048 targets)
    assert mean.item() == pytest.approx(0.3, abs=0.01)
    assert log_scale.exp().item() == pytest.approx(0.05, rel=0.1)
    # and the loss tells different series apart
    other = targets + 0.5
    assert gaussian_nll(other, mean, log_scale).mean() > loss + 10


# --- 2. letting the test period leak into training ----------------------------------------

WINDOW = 24
EXACT = "donot_use_mm_for_euclid_dist"


def honest_and_leaky_windows(seed: int = 0):
    """The monthly CO₂ series, its chronological split, and its windows split two ways: honestly
    (split first, then windows) and leakily (windows first, then a shuffled split drawn with `seed`)."""
    _, y = co2(monthly=True)
    train, test = chronological_split(y, 0.2)
    honest = windows(train, WINDOW), windows(test, WINDOW)
    leaky = genlab.data.split(windows(y, WINDOW), 0.2, seed=seed)  # windows first, shuffled split after
    return y, train, test, honest, leaky


@pytest.mark.statistical
def test_shuffled_windows_give_an_optimistic_test_score(seed):
    *_, honest, leaky = honest_and_leaky_windows(seed)
    honest_nll = iid_gaussian_nll(*honest).mean().item()
    leaky_nll = iid_gaussian_nll(*leaky).mean().item()
    # same model, same data: the shuffled split looks better by more than 2 nats per month
    # (seeds 0–9, 1 thread: by 2.38–2.48)
    assert leaky_nll < honest_nll - 2.0, (leaky_nll, honest_nll)


@pytest.mark.statistical
def test_shuffled_windows_share_values_with_the_test_set(seed):
    *_, honest, leaky = honest_and_leaky_windows(seed)
    # a test window of the shuffled split has a training window one step away from it whenever the
    # window before it went to training (4 times in 5). Distances are computed directly: the
    # matrix-product shortcut of cdist loses the exact zeros at values near 350 ppm.
    train, test = leaky
    nearest = torch.cdist(test[:, 1:, 0], train[:, :-1, 0], compute_mode=EXACT).min(dim=1).values
    # seeds 0–9, 1 thread: 0.75–0.85 of the test windows (0.58–0.68 with the shortcut)
    assert (nearest < 1e-9).float().mean() > 0.5
    train, test = honest
    nearest = torch.cdist(test[:, 1:, 0], train[:, :-1, 0], compute_mode=EXACT).min(dim=1).values
    assert nearest.min() > 1.0  # ppm: no test window is a shifted training window


def test_scaler_fitted_on_the_full_series_leaks_the_test_range():
    y, train, test, *_ = honest_and_leaky_windows()
    honest, leaky = Scaler("minmax").fit(train), Scaler("minmax").fit(y)
    assert honest.transform(test).max() > 1.2  # the future lies above the training range
    assert leaky.transform(test).max() == pytest.approx(1.0)  # the scaler knows where the future ends
    # a standard scaler *is* an iid Gaussian fit: fitted on everything, it scores the test 1.5 nats better
    fitted_on_all = iid_gaussian_nll(y.view(1, -1, 1), test.view(1, -1, 1)).mean().item()
    fitted_on_train = iid_gaussian_nll(train.view(1, -1, 1), test.view(1, -1, 1)).mean().item()
    assert fitted_on_all < fitted_on_train - 1.0, (fitted_on_all, fitted_on_train)


# --- 3. the LSTM input-shape mistake ---------------------------------------------------------


def test_lstm_without_batch_first_mixes_sequences():
    torch.manual_seed(0)
    lstm = nn.LSTM(input_size=3, hidden_size=8)  # PyTorch's default layout: (time, batch, features)
    x = torch.randn(4, 10, 3)  # (batch, time, features): 4 sequences of 10 steps
    out, _ = lstm(x)  # no error: it reads 4 time steps of a batch of 10
    y = x.clone()
    y[0] += 1.0  # change sequence 0 only
    out_y, _ = lstm(y)
    assert not torch.allclose(out[1], out_y[1])  # …and the output of sequence 1 changes: they are mixed
    # the fix: batch_first=True (genlab.nets.recurrent always sets it) keeps sequences apart
    fixed = genlab.nets.recurrent("lstm", 3, 8)
    with torch.no_grad():
        for name, p in lstm.named_parameters():
            getattr(fixed, name).copy_(p)
    out, _ = fixed(x)
    out_y, _ = fixed(y)
    assert torch.equal(out[1:], out_y[1:]) and not torch.allclose(out[0], out_y[0])
    # and it computes what the default layout computes on transposed input
    reference, _ = lstm(x.transpose(0, 1))
    assert torch.allclose(out, reference.transpose(0, 1), atol=1e-6)


def test_lstm_wrong_feature_axis_raises():
    lstm = genlab.nets.recurrent("lstm", 3, 8)
    with pytest.raises(RuntimeError, match="input.size\\(-1\\) must be equal to input_size"):
        lstm(torch.randn(4, 3, 10))  # (batch, features, time)
