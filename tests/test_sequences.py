import math

import numpy as np
import pytest
import torch
from scipy import stats

from genlab.data.sequences import Scaler, chronological_split, co2, sines, sunspots, windows

# --- sines -------------------------------------------------------------------------------


def test_sines_shape_range_and_dtype():
    x = sines(n=300, length=24, features=5, seed=0)
    assert x.shape == (300, 24, 5) and x.dtype == torch.float32
    # f·t + φ lies in [0, 0.1·23 + 0.1] = [0, 2.4], where sin ≥ sin(2.4) > 0: values in [0.5, 1].
    assert x.min() >= 0.5 - 1e-6 and x.max() <= 1.0
    assert x.min() < 0.55 and x.max() > 0.99  # the range is actually used


def test_sines_seeding():
    assert torch.equal(sines(50, seed=3), sines(50, seed=3))
    assert not torch.equal(sines(50, seed=3), sines(50, seed=4))


@pytest.mark.statistical
def test_sines_follow_the_protocol_formula(seed):
    """Recover f and φ from the first two steps and rebuild every value from them."""
    x = sines(n=2_000, length=24, features=5, seed=seed).double()
    angle = torch.asin(2 * x - 1)  # invertible while f·t + φ ≤ π/2, true for t = 0, 1
    phase = angle[:, 0]
    frequency = angle[:, 1] - angle[:, 0]
    t = torch.arange(24, dtype=torch.float64).view(1, 24, 1)
    rebuilt = (torch.sin(frequency.unsqueeze(1) * t + phase.unsqueeze(1)) + 1) / 2
    assert torch.allclose(rebuilt, x, atol=1e-5)
    for draws in (frequency, phase):
        values = draws.flatten().numpy()
        assert values.min() >= -1e-5 and values.max() <= 0.1 + 1e-5
        # U(0, 0.1): a Kolmogorov–Smirnov test should not reject (10,000 draws each); its p-value is
        # uniform when the draws are, so this fails for one seed in a thousand (seeds 0–9: p 0.023–0.88)
        assert stats.kstest(values / 0.1, "uniform").pvalue > 1e-3
        # seeds 0–9, 1 thread: mean within 0.00065 of 0.05, variance within 1.4e-5 of 1/1200
        assert abs(values.mean() - 0.05) < 0.002 and abs(values.var() - 0.01 / 12) < 0.0001


@pytest.mark.statistical
def test_sines_features_are_independent(seed):
    x = sines(n=16_000, length=24, features=2, seed=seed)
    r = np.corrcoef(x[:, 5, 0].numpy(), x[:, 5, 1].numpy())[0, 1]
    # seeds 0–9, 1 thread: |r| ≤ 0.015 (≤ 0.036 at 4,000 sequences; the standard error is now 0.008)
    assert abs(r) < 0.06


@pytest.mark.parametrize("kwargs", [{"n": 0}, {"length": -1}, {"features": 2.5}])
def test_sines_rejects_impossible_sizes(kwargs):
    with pytest.raises(ValueError, match="positive integer"):
        sines(**kwargs)


# --- real series -------------------------------------------------------------------------


def test_co2_has_59_gaps_and_interpolates_them_linearly():
    dates, raw = co2(interpolate=False)
    _, filled = co2()
    assert len(dates) == len(raw) == len(filled) == 2284
    missing = torch.isnan(raw)
    assert missing.sum().item() == 59
    assert not torch.isnan(filled).any()
    assert torch.equal(filled[~missing], raw[~missing])  # measured weeks untouched
    # consecutive weeks: an isolated gap gets the mean of its two neighbours
    assert set(np.diff(dates).astype(int)) == {7}
    idx = missing.nonzero().flatten().tolist()
    isolated = [i for i in idx if not missing[i - 1] and not missing[i + 1]]
    assert isolated
    for i in isolated:
        assert filled[i].item() == pytest.approx((raw[i - 1] + raw[i + 1]).item() / 2)
    # a run of gaps is filled on the straight line between its ends
    run = [i for i in idx if missing[i + 1]][0]
    left, right = run - 1, run + 1
    while missing[right]:
        right += 1
    line = np.interp(np.arange(left, right + 1), [left, right], [raw[left].item(), raw[right].item()])
    assert np.allclose(filled[left : right + 1].numpy(), line)


def test_co2_known_values_and_dates():
    dates, y = co2()
    assert str(dates[0]) == "1958-03-29" and str(dates[-1]) == "2001-12-29"
    assert y[0].item() == pytest.approx(316.1) and y[-1].item() == pytest.approx(371.5)
    assert 310 < y.min() and y.max() < 380
    # the well-known rise: the last year is higher than the first by about 55 ppm
    assert 45 < (y[-52:].mean() - y[:52].mean()).item() < 65


def test_co2_monthly_means():
    dates, weekly = co2()
    months, monthly = co2(monthly=True)
    assert len(months) == len(monthly) == 526
    assert str(months[0]) == "1958-03" and str(months[-1]) == "2001-12"
    in_june_1990 = dates.astype("datetime64[M]") == np.datetime64("1990-06")
    k = int(np.nonzero(months == np.datetime64("1990-06"))[0][0])
    assert monthly[k].item() == pytest.approx(weekly[torch.from_numpy(in_june_1990)].mean().item())
    with pytest.raises(ValueError, match="interpolate"):
        co2(interpolate=False, monthly=True)


def test_sunspots():
    years, y = sunspots()
    assert len(years) == len(y) == 309 and years[0] == 1700 and years[-1] == 2008
    assert np.all(np.diff(years) == 1)
    assert (y >= 0).all() and not torch.isnan(y).any()
    assert y[0].item() == 5 and y[-1].item() == pytest.approx(2.9)
    # the 11-year cycle: the autocorrelation of the centred series peaks near lag 11
    z = (y - y.mean()).numpy()
    acf = [np.dot(z[:-k], z[k:]) / np.dot(z, z) for k in range(1, 16)]
    assert int(np.argmax(acf[5:])) + 6 in (10, 11, 12)


# --- windows -----------------------------------------------------------------------------


def test_windows_shapes_and_contents():
    s = torch.arange(10.0)
    w = windows(s, 4)
    assert w.shape == (7, 4, 1)
    assert torch.equal(w[2, :, 0], torch.tensor([2.0, 3, 4, 5]))
    w = windows(s, 4, stride=3)
    assert w.shape == (3, 4, 1) and torch.equal(w[:, 0, 0], torch.tensor([0.0, 3, 6]))
    multi = torch.stack([s, -s], dim=1)  # (10, 2)
    w = windows(multi, 5, stride=2)
    assert w.shape == (3, 5, 2) and torch.equal(w[1], multi[2:7])
    assert windows(s, 10).shape == (1, 10, 1)


def test_windows_are_copies():
    s = torch.arange(6.0)
    w = windows(s, 3)
    w[0, 0, 0] = 100
    assert s[0] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((torch.tensor([1.0, float("nan"), 3.0]), 2), "NaN"),
        ((torch.arange(5.0), 6), "shorter than one window"),
        ((torch.arange(5.0), 0), "positive integer"),
        ((torch.arange(5.0), -2), "positive integer"),
        ((torch.arange(5.0), 2, 0), "positive integer"),
        ((torch.zeros(2, 3, 4), 2), "shape"),
    ],
)
def test_windows_errors(args, message):
    with pytest.raises(ValueError, match=message):
        windows(*args)


def test_windows_rejects_non_tensors():
    with pytest.raises(TypeError, match="torch.Tensor"):
        windows([1.0, 2.0, 3.0], 2)


# --- chronological split -------------------------------------------------------------------


def test_chronological_split_keeps_time_order():
    s = torch.arange(100.0)
    train, test = chronological_split(s, 0.2)
    assert torch.equal(train, s[:80]) and torch.equal(test, s[80:])
    assert train.max() < test.min()  # everything in the test lies after the training period


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 0.001])
def test_chronological_split_errors(fraction):
    with pytest.raises(ValueError):
        chronological_split(torch.arange(100.0), fraction)


# --- scaler ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["minmax", "standard"])
def test_scaler_round_trip_and_statistics(kind):
    g = torch.Generator().manual_seed(0)
    train = torch.randn(200, 3, generator=g, dtype=torch.float64) * torch.tensor([1.0, 10.0, 0.1]) + 5
    test = torch.randn(50, 3, generator=g, dtype=torch.float64) * 3
    scaler = Scaler(kind).fit(train)
    y = scaler.transform(train)
    if kind == "minmax":
        assert torch.allclose(y.min(dim=0).values, torch.zeros(3, dtype=torch.float64))
        assert torch.allclose(y.max(dim=0).values, torch.ones(3, dtype=torch.float64))
    else:
        assert torch.allclose(y.mean(dim=0), torch.zeros(3, dtype=torch.float64), atol=1e-12)
        assert torch.allclose(y.std(dim=0, unbiased=False), torch.ones(3, dtype=torch.float64))
    for x in (train, test, windows(test, 7)):  # also (N, length, F) windows
        assert torch.allclose(scaler.inverse_transform(scaler.transform(x)), x, rtol=0, atol=1e-12)
    # float32 in, float32 out, still invertible to float32 precision
    x32 = test.float()
    back = scaler.inverse_transform(scaler.transform(x32))
    assert back.dtype == torch.float32 and torch.allclose(back, x32, atol=1e-5)


def test_scaler_uses_train_statistics_only():
    train, test = torch.arange(10.0), torch.arange(10.0, 20.0)
    scaler = Scaler("minmax").fit(train)
    assert scaler.transform(test).min() > 1  # the test lies beyond the training range
    assert scaler.transform(torch.tensor([0.0, 9.0])).tolist() == [0.0, 1.0]


def test_scaler_of_1d_series_applies_to_windows():
    s = torch.arange(20.0, dtype=torch.float64)
    scaler = Scaler("standard").fit(s)
    w = windows(s, 4)
    assert torch.allclose(scaler.transform(w)[:, :, 0], windows(scaler.transform(s), 4)[:, :, 0])
    assert scaler.inverse_scale(torch.tensor(1.0, dtype=torch.float64)).item() == pytest.approx(s.std(unbiased=False).item())


def test_scaler_constant_feature_stays_finite():
    x = torch.stack([torch.ones(10), torch.arange(10.0)], dim=1)
    scaler = Scaler("standard").fit(x)
    y = scaler.transform(x)
    assert torch.isfinite(y).all() and torch.allclose(y[:, 0], torch.zeros(10))
    assert torch.allclose(scaler.inverse_transform(y), x, atol=1e-6)


def test_scaler_errors():
    with pytest.raises(ValueError, match="unknown scaler"):
        Scaler("robust")
    with pytest.raises(RuntimeError, match="not fitted"):
        Scaler().transform(torch.ones(3))
    with pytest.raises(ValueError, match="NaN"):
        Scaler().fit(torch.tensor([1.0, float("nan")]))
    scaler = Scaler().fit(torch.randn(10, 2))
    with pytest.raises(ValueError, match="NaN"):
        scaler.transform(torch.tensor([[1.0, float("nan")]]))
    with pytest.raises(ValueError, match="2 features"):
        scaler.transform(torch.randn(10, 3))
    with pytest.raises(TypeError, match="floating-point"):
        Scaler().fit(torch.arange(5))
    with pytest.raises(ValueError, match="empty"):
        Scaler().fit(torch.empty(0))


def test_scaler_standard_is_an_iid_gaussian_fit():
    # the log-density of an iid Gaussian fitted by the scaler's statistics, computed two ways
    x = torch.randn(500, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 2 + 3
    scaler = Scaler("standard").fit(x)
    z = scaler.transform(x)
    via_scaler = (-0.5 * z**2 - 0.5 * math.log(2 * math.pi)).sum() - len(x) * math.log(scaler.scale.item())
    direct = torch.distributions.Normal(x.mean(), x.std(unbiased=False)).log_prob(x).sum()
    assert via_scaler.item() == pytest.approx(direct.item())
