"""Sequences: the sines of the TimeGAN protocol, two real series, and the tools to model them.

- `sines`: synthetic multivariate sine waves exactly as in Yoon et al. (2019).
- `co2`, `sunspots`: two public-domain series shipped with the package as small CSV files
  (taken from the datasets bundled with statsmodels), so nothing is downloaded.
- `chronological_split`, `windows`, `Scaler`: turn one long series into training and test
  windows without letting the test period leak into training.
"""

from __future__ import annotations

import csv
from importlib import resources

import numpy as np
import torch
from torch import Tensor

from genlab.checks import check_count, check_finite, check_flag, check_memory, check_seed

SCALER_KINDS = ("minmax", "standard")


# --- synthetic: sines ------------------------------------------------------------------


def sines(n: int = 10_000, length: int = 24, features: int = 5, seed: int = 0) -> Tensor:
    """Sine waves of the TimeGAN protocol (Yoon et al., 2019), shape (n, length, features).

    For every sequence and every feature a frequency f and a phase φ are drawn
    independently from U(0, 0.1); the values are sin(f·t + φ) for t = 0, …, length − 1,
    mapped by (x + 1) / 2 as the official code does — so they lie in about [0.5, 1].
    The features of one sequence are therefore independent of each other.
    n, length and features are positive integers; seed an integer.
    """
    for name, value in (("n", n), ("length", length), ("features", features)):
        check_count(value, name, minimum=1)
    check_memory(n * length * features * 24, f"n × length × features = {n} × {length} × {features} values")
    g = torch.Generator().manual_seed(check_seed(seed))
    frequency = 0.1 * torch.rand(n, 1, features, generator=g, dtype=torch.float64)
    phase = 0.1 * torch.rand(n, 1, features, generator=g, dtype=torch.float64)
    t = torch.arange(length, dtype=torch.float64).view(1, length, 1)
    return ((torch.sin(frequency * t + phase) + 1) / 2).float()


# --- real series shipped with the package -------------------------------------------------


def _read_csv(name: str) -> tuple[list[str], list[str]]:
    """The two columns of a vendored CSV file (lines starting with '#' are its provenance)."""
    text = resources.files("genlab.data").joinpath("files", name).read_text(encoding="utf-8")
    rows = list(csv.reader(line for line in text.splitlines() if line and not line.startswith("#")))
    body = rows[1:]  # rows[0] is the column header
    return [r[0] for r in body], [r[1] for r in body]


def co2(interpolate: bool = True, monthly: bool = False) -> tuple[np.ndarray, Tensor]:
    """Weekly atmospheric CO2 at Mauna Loa, March 1958 – December 2001, in ppm (Keeling & Whorf).

    2,284 consecutive weeks; 59 weeks have no measurement.

    Args:
        interpolate: fill each missing week by linear interpolation in time between the
            nearest measured weeks (the series has no gap at either end); False keeps NaN.
        monthly: average the (interpolated) weeks ending in each calendar month, which
            removes most of the week-to-week measurement noise and leaves trend and
            seasonal cycle: 526 months, March 1958 – December 2001.
    Returns:
        dates: numpy datetime64[D] array (2284,), the Saturday ending each week, or
            datetime64[M] months (526,) when monthly.
        values: float64 tensor (2284,) or (526,) of CO2 mole fractions in ppm.
    """
    check_flag(interpolate, "interpolate")
    check_flag(monthly, "monthly")
    dates, raw = _read_csv("co2.csv")
    values = np.array([float(v) if v else np.nan for v in raw])
    days = np.array(dates, dtype="datetime64[D]")
    if interpolate:
        missing = np.isnan(values)
        t = days.astype(np.int64)  # days since 1970: interpolate in time, not in row number
        values[missing] = np.interp(t[missing], t[~missing], values[~missing])
    if monthly:
        if not interpolate:
            raise ValueError("monthly=True needs the gaps filled: use interpolate=True")
        months, which = np.unique(days.astype("datetime64[M]"), return_inverse=True)
        values = np.bincount(which, weights=values) / np.bincount(which)
        return months, torch.from_numpy(values)
    return days, torch.from_numpy(values)


def sunspots() -> tuple[np.ndarray, Tensor]:
    """Yearly mean sunspot number, 1700 – 2008 (NOAA National Geophysical Data Center).

    Returns:
        years: int64 numpy array (309,).
        values: float64 tensor (309,) of sunspot numbers (non-negative, no gaps).
    """
    years, raw = _read_csv("sunspots.csv")
    return np.array(years, dtype=np.int64), torch.tensor([float(v) for v in raw], dtype=torch.float64)


# --- from one long series to training windows -----------------------------------------------


def _as_series(series: Tensor) -> Tensor:
    """Validate a series and give it a feature axis: (T,) or (T, F) -> (T, F)."""
    if not isinstance(series, Tensor):
        raise TypeError(f"series must be a torch.Tensor, got {type(series).__name__}")
    if series.ndim not in (1, 2):
        raise ValueError(f"series must have shape (T,) or (T, features), got {tuple(series.shape)}")
    if series.dtype == torch.bool or series.is_complex():
        raise TypeError(f"series must hold real numbers, got dtype {series.dtype}")
    if series.is_floating_point() and torch.isnan(series).any():
        first = torch.isnan(series).reshape(len(series), -1).any(dim=1).nonzero()[0].item()
        raise ValueError(f"series contains NaN (first at time index {first}); fill the gaps first")
    return series.unsqueeze(-1) if series.ndim == 1 else series


def chronological_split(series: Tensor, test_fraction: float = 0.2) -> tuple[Tensor, Tensor]:
    """Cut a series in time: the first part for training, the last `test_fraction` for testing.

    (T, …) -> (T_train, …), (T_test, …). No shuffling, for two reasons. A model of a
    series is used to predict what comes *after* the data it saw, so the test must lie
    after the training period. And overlapping windows of a series are near-copies of
    each other: shuffling windows before splitting puts, next to every test window, training
    windows that share all but a few of its values, and the test score measures memory
    instead of prediction. Make windows *after* splitting, from each part separately.

    test_fraction is a number strictly between 0 and 1.
    """
    if not isinstance(series, Tensor):
        raise TypeError(f"series must be a torch.Tensor, got {type(series).__name__}")
    if series.ndim == 0:
        raise ValueError("series must have a time axis, got a 0-d tensor")
    check_finite(test_fraction, "test_fraction")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction}")
    n_test = round(len(series) * test_fraction)
    if n_test == 0 or n_test == len(series):
        raise ValueError(f"cannot split a series of length {len(series)} with test_fraction={test_fraction}")
    return series[: len(series) - n_test], series[len(series) - n_test :]


def windows(series: Tensor, length: int, stride: int = 1) -> Tensor:
    """All windows of `length` consecutive steps, starting every `stride` steps.

    (T,) or (T, F) -> (N, length, F) with N = ⌊(T − length) / stride⌋ + 1; a 1-D series
    gets F = 1. Window i is series[i·stride : i·stride + length] (a copy).
    length and stride are positive integers.
    """
    x = _as_series(series)
    for name, value in (("length", length), ("stride", stride)):
        check_count(value, name, minimum=1)  # "length must be a positive integer, got 0"
    if len(x) < length:
        raise ValueError(f"series of length {len(x)} is shorter than one window of length {length}")
    # unfold gives (N, F, length): a view; transpose to (N, length, F) and copy.
    return x.unfold(0, length, stride).transpose(1, 2).contiguous()


class Scaler:
    """Per-feature affine scaling, fitted on training data only and exactly invertible.

    kind="minmax" maps the fitted minimum and maximum of each feature to 0 and 1;
    kind="standard" maps its mean and standard deviation to 0 and 1. The last axis is
    the feature axis (a 1-D series is one feature); statistics are taken over all other
    axes, so a scaler fitted on a series (T, F) also transforms windows (N, length, F).
    Fit it on the training part: statistics of the whole series would tell the model
    the range of the test period (see `chronological_split`).

    transform(x) = (x − shift) / scale, inverse_transform(y) = y · scale + shift, computed
    in float64 and returned in the input's dtype. A constant feature gets scale 1.
    """

    def __init__(self, kind: str = "minmax") -> None:
        if not isinstance(kind, str) or kind not in SCALER_KINDS:
            raise ValueError(f"unknown scaler kind {kind!r}; choose one of {SCALER_KINDS}")
        self.kind = kind
        self.shift: Tensor | None = None  # (F,) or () for a 1-D series
        self.scale: Tensor | None = None

    def fit(self, x: Tensor) -> Scaler:
        """Learn shift and scale per feature from x (…, F) or (T,), finite values only; returns self."""
        x = self._check(x, "x", fitting=True).double()
        flat = x.reshape(-1, x.shape[-1]) if x.ndim > 1 else x.reshape(-1, 1)
        if self.kind == "minmax":
            low, high = flat.min(dim=0).values, flat.max(dim=0).values
            shift, scale = low, high - low
        else:
            shift, scale = flat.mean(dim=0), flat.std(dim=0, unbiased=False)
        scale = torch.where(scale > 0, scale, torch.ones_like(scale))  # constant feature: leave it unscaled
        self.shift, self.scale = (shift, scale) if x.ndim > 1 else (shift[0], scale[0])
        return self

    def transform(self, x: Tensor) -> Tensor:
        """(x − shift) / scale, same shape and dtype as x."""
        x = self._check(x, "x")
        return ((x.double() - self.shift.to(x.device)) / self.scale.to(x.device)).to(x.dtype)

    def inverse_transform(self, y: Tensor) -> Tensor:
        """y · scale + shift: back to the original units, same shape and dtype as y."""
        y = self._check(y, "y")
        return (y.double() * self.scale.to(y.device) + self.shift.to(y.device)).to(y.dtype)

    def fit_transform(self, x: Tensor) -> Tensor:
        return self.fit(x).transform(x)

    def inverse_scale(self, s: Tensor) -> Tensor:
        """Back to original units for a *spread* (a standard deviation): s · scale, no shift."""
        s = self._check(s, "s")
        return (s.double() * self.scale.to(s.device)).to(s.dtype)

    def _check(self, x: Tensor, name: str = "x", fitting: bool = False) -> Tensor:
        if not isinstance(x, Tensor):
            raise TypeError(
                f"{name} must be a torch.Tensor (the Scaler works on torch tensors), got {type(x).__name__}"
            )
        if not x.is_floating_point():
            raise TypeError(
                f"{name} must hold floating-point data for the Scaler, got {x.dtype}; convert it with .double()"
            )
        if x.numel() == 0:
            raise ValueError(f"{name} is an empty tensor (shape {tuple(x.shape)}); the Scaler needs data")
        if torch.isnan(x).any():
            raise ValueError(f"{name} contains NaN; fill the gaps first")
        if fitting:
            if torch.isinf(x).any():
                raise ValueError(
                    f"{name} contains infinite values: a Scaler fitted on them would map everything to NaN"
                )
            return x
        if self.shift is None or self.scale is None:
            raise RuntimeError("this Scaler is not fitted yet: call fit(train) first")
        features = self.shift.numel() if self.shift.ndim else None
        if features is not None and (x.ndim == 0 or x.shape[-1] != features):
            raise ValueError(
                f"{name} must have {features} features on its last axis, as the Scaler was fitted on; "
                f"got shape {tuple(x.shape)}"
            )
        return x
