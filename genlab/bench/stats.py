"""One statistic and one test for every table and every comparative sentence of the book.

A row's figure is its **mean ± standard error over seeds, with n**; where a set of runs is
bimodal (recurrent GANs that either reach the floor or do not), the median, the inter-quartile
range and the share of seeds at the goal are given beside it (`describe`).

"A beats B" always means the same test (`compare`): the 95 % bootstrap percentile interval of
the difference of the two means — each row's seeds resampled with replacement, independently,
10,000 times with a fixed seed — lies wholly on one side of 0. An interval that contains 0 is
"not shown": the seeds do not separate the two rows, whatever their means say. The test makes
no normality assumption (a GAN's per-seed scores rarely are normal) and is deterministic, so a
page that quotes a verdict gets the same one on every machine.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

LEVEL = 0.95
RESAMPLES = 10_000
BOOTSTRAP_SEED = 0

BETTER, WORSE, NOT_SHOWN = "better", "worse", "not shown"


@dataclass(frozen=True)
class Description:
    """A row's per-seed values summarised: n, mean ± standard error, median, quartiles, and the share at a goal."""

    n: int
    mean: float
    se: float
    median: float
    q1: float
    q3: float
    share: float | None = None

    def __str__(self) -> str:
        text = f"{self.mean:.3g} ± {self.se:.2g} (n = {self.n})"
        return text if self.share is None else f"{text}, {100 * self.share:.0f} % at goal"


def _values(values: Sequence[float], name: str) -> np.ndarray:
    array = np.asarray([float(v) for v in values], dtype=np.float64)
    if array.ndim != 1 or len(array) == 0:
        raise ValueError(f"{name} must be a non-empty sequence of per-seed values, got {values!r}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} holds non-finite values {array[~np.isfinite(array)].tolist()}; "
                         "drop or explain those seeds before comparing")
    return array


def describe(values: Sequence[float], goal=None) -> Description:
    """n, mean ± standard error (NaN for n = 1), median, quartiles, and the share of values with goal(v) true."""
    x = _values(values, "values")
    se = float(x.std(ddof=1) / math.sqrt(len(x))) if len(x) > 1 else math.nan
    q1, median, q3 = (float(q) for q in np.quantile(x, [0.25, 0.5, 0.75]))
    share = None if goal is None else float(np.mean([bool(goal(v)) for v in x]))
    return Description(len(x), float(x.mean()), se, median, q1, q3, share)


@dataclass(frozen=True)
class Comparison:
    """The difference of means (a − b) and its bootstrap interval, read in the direction that is better."""

    difference: float
    low: float
    high: float
    verdict: str  # BETTER (a beats b), WORSE (b beats a) or NOT_SHOWN
    n_a: int
    n_b: int

    def __str__(self) -> str:
        return (f"{self.difference:+.3g} [{self.low:+.3g}, {self.high:+.3g}] "
                f"({self.n_a} against {self.n_b} seeds): {self.verdict}")


def compare(a: Sequence[float], b: Sequence[float], *, higher_is_better: bool = True, level: float = LEVEL,
            resamples: int = RESAMPLES, seed: int = BOOTSTRAP_SEED) -> Comparison:
    """Does row a beat row b? The bootstrap interval of mean(a) − mean(b) at `level`, and its verdict.

    Needs at least 2 seeds a row: one seed carries no spread to test against.
    """
    x, y = _values(a, "a"), _values(b, "b")
    if len(x) < 2 or len(y) < 2:
        raise ValueError(f"a comparison needs at least 2 seeds a row, got {len(x)} and {len(y)}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    rng = np.random.Generator(np.random.PCG64(seed))
    means_x = x[rng.integers(0, len(x), size=(resamples, len(x)))].mean(axis=1)
    means_y = y[rng.integers(0, len(y), size=(resamples, len(y)))].mean(axis=1)
    low, high = (float(q) for q in np.quantile(means_x - means_y, [(1 - level) / 2, (1 + level) / 2]))
    difference = float(x.mean() - y.mean())
    if low > 0 or high < 0:
        a_higher = low > 0
        verdict = BETTER if a_higher == higher_is_better else WORSE
    else:
        verdict = NOT_SHOWN
    return Comparison(difference, low, high, verdict, len(x), len(y))
