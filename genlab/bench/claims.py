"""The book's comparative sentences as records, decided by the tables they cite.

A summary page that restates a verdict by hand drifts from its evidence the first time a
table changes. Here each comparative statement is a `Claim`: the tables it reads, a function
that decides it from their per-seed values with the book's one test (`genlab.bench.stats`),
and its wording for each verdict. A page renders the sentence the data give (`render`), and a
unit test re-decides every claim against the committed tables, so a table change that
overturns a sentence the surrounding prose relies on (`Claim.expected`) fails the tests
instead of leaving the page wrong.

    >>> from genlab.bench import claims
    >>> tables = claims.Tables("book")
    >>> print(claims.render(claims.CLAIMS["vae-gan-recall"], tables))      # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from genlab.bench import stats

SUPPORTED, REFUTED, NOT_SHOWN = "supported", "refuted", "not shown"
VERDICTS = (SUPPORTED, REFUTED, NOT_SHOWN)


class Tables:
    """The committed results tables under a book folder, read once each: per-seed values by (table, row, column)."""

    def __init__(self, root: str | Path = "book") -> None:
        self.root = Path(root)
        self._cache: dict[str, dict] = {}

    def table(self, name: str) -> dict:
        """A results file, by its path under the root (e.g. '07_combining/results/digits.json')."""
        if name not in self._cache:
            path = self.root / name
            if not path.is_file():
                raise FileNotFoundError(f"claim evidence {path} is missing; regenerate it with `make tables`")
            self._cache[name] = json.loads(path.read_text())
        return self._cache[name]

    def values(self, name: str, row: str, column: str) -> list[float]:
        """The per-seed values of `column` for `row`, in seed order (NaN seeds refused by the test itself)."""
        runs = sorted((r for r in self.table(name)["runs"] if r["row"] == row), key=lambda r: r["seed"])
        if not runs:
            rows = sorted({r["row"] for r in self.table(name)["runs"]})
            raise KeyError(f"{name} has no runs of row {row!r}; its rows: {rows}")
        missing = [r["seed"] for r in runs if column not in r]
        if missing:
            raise KeyError(f"{name}: row {row!r} has no {column!r} on seeds {missing}")
        return [float(r[column]) for r in runs]


@dataclass(frozen=True)
class Outcome:
    """A claim decided: its verdict and the evidence, in words, that decided it."""

    verdict: str
    evidence: str

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")


@dataclass(frozen=True)
class Claim:
    """One comparative statement of the book.

    key: its name, for pages and tests.
    tables: the results files it reads (paths under the book folder).
    decide: tables -> Outcome.
    wording: verdict -> the sentence a page prints for it (every verdict needs one).
    expected: the verdict the surrounding prose relies on; the tests fail when the data give another.
    """

    key: str
    tables: tuple[str, ...]
    decide: Callable[[Tables], Outcome]
    wording: Mapping[str, str]
    expected: str
    where: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        missing = [v for v in VERDICTS if v not in self.wording]
        if missing:
            raise ValueError(f"claim {self.key!r} has no wording for verdict(s) {missing}")
        if self.expected not in VERDICTS:
            raise ValueError(f"claim {self.key!r}: expected must be one of {VERDICTS}, got {self.expected!r}")


def beats(table: str, a: str, b: str, column: str, *, higher_is_better: bool = True,
          table_b: str | None = None) -> Callable[[Tables], Outcome]:
    """Decide "row a beats row b on column" with the book's test: supported, refuted (b beats a) or not shown."""

    def decide(tables: Tables) -> Outcome:
        comparison = stats.compare(tables.values(table, a, column), tables.values(table_b or table, b, column),
                                   higher_is_better=higher_is_better)
        verdict = {stats.BETTER: SUPPORTED, stats.WORSE: REFUTED, stats.NOT_SHOWN: NOT_SHOWN}[comparison.verdict]
        return Outcome(verdict, f"{a} − {b} on {column}: {comparison}")

    return decide


def all_of(*deciders: Callable[[Tables], Outcome]) -> Callable[[Tables], Outcome]:
    """Supported when every part is; refuted when any part is refuted; otherwise not shown."""

    def decide(tables: Tables) -> Outcome:
        outcomes = [d(tables) for d in deciders]
        verdicts = {o.verdict for o in outcomes}
        verdict = REFUTED if REFUTED in verdicts else SUPPORTED if verdicts == {SUPPORTED} else NOT_SHOWN
        return Outcome(verdict, "; ".join(o.evidence for o in outcomes))

    return decide


def render(claim: Claim, tables: Tables, evidence: bool = True) -> str:
    """The sentence the data give for `claim`, with the evidence that decided it."""
    outcome = claim.decide(tables)
    text = claim.wording[outcome.verdict]
    return f"{text} ({outcome.evidence})" if evidence else text


DIGITS = "07_combining/results/digits.json"
GRID_5 = "05_analysis/results/grid.json"
RING_5 = "05_analysis/results/ring.json"
GRID_6 = "06_future/results/grid.json"
DIGITS_6 = "06_future/results/digits.json"


def _claims(*claims: Claim) -> dict[str, Claim]:
    return {c.key: c for c in claims}


CLAIMS: dict[str, Claim] = _claims(
    Claim(
        "vae-gan-recall",
        (DIGITS,),
        all_of(beats(DIGITS, "VAE-GAN", "DCGAN", "recall"), beats(DIGITS, "VAE-GAN", "VAE", "recall")),
        {SUPPORTED: "On the digits the VAE-GAN's recall beats both of its parents'.",
         REFUTED: "On the digits the VAE-GAN's recall is below one of its parents'.",
         NOT_SHOWN: "On the digits the seeds do not show the VAE-GAN's recall beating both of its parents'."},
        expected=SUPPORTED, where=("book/07_combining/comparison.ipynb", "book/08_summary/index.md")),
    Claim(
        "pacgan-grid-coverage",
        (GRID_5,),
        beats(GRID_5, "PacGAN2", "GAN", "all_modes"),
        {SUPPORTED: "On the grid, packing two samples makes a run cover all 25 modes more often than the GAN.",
         REFUTED: "On the grid, packing two samples makes a run cover all 25 modes less often than the GAN.",
         NOT_SHOWN: "On the grid, packing two samples does not cover all 25 modes more often than the GAN does."},
        expected=NOT_SHOWN, where=("book/08_summary/index.md",)),
    Claim(
        "pacgan-ring-coverage",
        (RING_5,),
        beats(RING_5, "PacGAN2", "GAN", "modes"),
        {SUPPORTED: "On the ring, packing two samples captures more modes than the GAN.",
         REFUTED: "On the ring, packing two samples captures fewer modes than the GAN.",
         NOT_SHOWN: "On the ring, the seeds do not show packing capturing more modes than the GAN."},
        expected=SUPPORTED, where=("book/08_summary/index.md",)),
    Claim(
        "ddpm-grid-coverage",
        (GRID_5, GRID_6),
        beats(GRID_6, "DDPM", "GAN", "all_modes", table_b=GRID_5),
        {SUPPORTED: "On the grid the DDPM covers all 25 modes more often than the GAN.",
         REFUTED: "On the grid the DDPM covers all 25 modes less often than the GAN.",
         NOT_SHOWN: "On the grid the seeds do not show the DDPM covering all 25 modes more often than the GAN."},
        expected=NOT_SHOWN, where=("book/06_future/diffusion.ipynb", "book/08_summary/index.md")),
    Claim(
        "drs-ring-quality",
        (RING_5,),
        beats(RING_5, "GAN + DRS", "GAN", "high_quality"),
        {SUPPORTED: "On the ring, rejection sampling raises the GAN's share of high-quality samples.",
         REFUTED: "On the ring, rejection sampling lowers the GAN's share of high-quality samples.",
         NOT_SHOWN: "On the ring, the seeds do not show rejection sampling raising the GAN's share of "
                    "high-quality samples."},
        expected=NOT_SHOWN, where=("book/05_analysis/gan_stability.ipynb",)),
    Claim(
        "r1-digits-frechet",
        (DIGITS, DIGITS_6),
        beats(DIGITS_6, "DCGAN, R1", "DCGAN", "frechet", higher_is_better=False, table_b=DIGITS),
        {SUPPORTED: "On the digits the R1 penalty lowers the DCGAN's Fréchet distance.",
         REFUTED: "On the digits the R1 penalty raises the DCGAN's Fréchet distance.",
         NOT_SHOWN: "On the digits the seeds do not show the R1 penalty lowering the DCGAN's Fréchet distance."},
        expected=SUPPORTED, where=("book/06_future/stabilising.ipynb",)),
)


def decide_all(tables: Tables) -> dict[str, Outcome]:
    """Every claim decided against `tables`."""
    return {key: claim.decide(tables) for key, claim in CLAIMS.items()}


def drifted(tables: Tables) -> dict[str, tuple[str, Outcome]]:
    """The claims whose verdict differs from the one the book's prose relies on: key -> (expected, outcome)."""
    return {key: (CLAIMS[key].expected, outcome) for key, outcome in decide_all(tables).items()
            if outcome.verdict != CLAIMS[key].expected}
