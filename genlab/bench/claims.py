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
import re
from collections.abc import Callable, Mapping, Sequence
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
        missing = [r["seed"] for r in runs if r.get(column) is None]  # absent, or null: not measured
        if missing:
            raise KeyError(f"{name}: row {row!r} has no {column!r} on seeds {missing}")
        return [float(r[column]) for r in runs]

    def mean(self, name: str, row: str, column: str) -> float:
        """The mean over seeds of `column` for `row`: the figure a sentence quotes."""
        values = self.values(name, row, column)
        return sum(values) / len(values)


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
    where: the pages that print it or rely on it.
    figures: tables -> {name: value}, the figures the wording quotes as {name} or {name:.2f}.
    """

    key: str
    tables: tuple[str, ...]
    decide: Callable[[Tables], Outcome]
    wording: Mapping[str, str]
    expected: str
    where: tuple[str, ...] = field(default=())
    figures: Callable[[Tables], Mapping[str, object]] | None = None

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


def none_of(*deciders: Callable[[Tables], Outcome]) -> Callable[[Tables], Outcome]:
    """"None of these holds": supported when no part is supported, refuted when one is."""

    def decide(tables: Tables) -> Outcome:
        outcomes = [d(tables) for d in deciders]
        verdict = REFUTED if any(o.verdict == SUPPORTED for o in outcomes) else SUPPORTED
        return Outcome(verdict, "none of: " + "; ".join(o.evidence for o in outcomes))

    return decide


def within(table: str, a: str, b: str, column: str, *, relative: float,
           table_b: str | None = None) -> Callable[[Tables], Outcome]:
    """"Row a is within ±relative of row b": supported when the test's interval of mean(a) − mean(b) lies
    inside ±relative·|mean(b)|, refuted when it lies wholly outside, otherwise not shown."""

    def decide(tables: Tables) -> Outcome:
        values_b = tables.values(table_b or table, b, column)
        comparison = stats.compare(tables.values(table, a, column), values_b)
        band = relative * abs(sum(values_b) / len(values_b))
        if -band <= comparison.low and comparison.high <= band:
            verdict = SUPPORTED
        elif comparison.low > band or comparison.high < -band:
            verdict = REFUTED
        else:
            verdict = NOT_SHOWN
        return Outcome(verdict, f"{a} − {b} on {column}: {comparison.difference:+.3g} "
                                f"[{comparison.low:+.3g}, {comparison.high:+.3g}] against the band ±{band:.3g}")

    return decide


def every_seed(table: str, row: str, column: str, test: Callable[[float], bool],
               description: str) -> Callable[[Tables], Outcome]:
    """"On every seed, row's column passes `test`": supported when all seeds do, refuted otherwise."""

    def decide(tables: Tables) -> Outcome:
        values = tables.values(table, row, column)
        passed = sum(bool(test(v)) for v in values)
        verdict = SUPPORTED if passed == len(values) else REFUTED
        return Outcome(verdict, f"{row} {description} on {passed} of {len(values)} seeds")

    return decide


def render(claim: Claim, tables: Tables, evidence: bool = True) -> str:
    """The sentence the data give for `claim`, its figures filled in, with the evidence that decided it."""
    outcome = claim.decide(tables)
    figures = claim.figures(tables) if claim.figures else {}
    text = re.sub(r"(\d)%", r"\1 %", claim.wording[outcome.verdict].format(**figures))  # the book writes "82 %"
    return f"{text} ({outcome.evidence})" if evidence else text


DIGITS = "07_combining/results/digits.json"
DIGITS_6 = "06_future/results/digits.json"
RING_5, GRID_5 = "05_analysis/results/ring.json", "05_analysis/results/grid.json"
RING_6, GRID_6 = "06_future/results/ring.json", "06_future/results/grid.json"
RING_7, GRID_7 = "07_combining/results/ring.json", "07_combining/results/grid.json"
RING_TUNED = "05_analysis/results/tuning/reporting/ring.json"
NAMES = "07_combining/results/names.json"
SINES = "07_combining/results/sines.json"
DIGIT_ROWS = "07_combining/results/digit-rows.json"

# where each 2-D row lives: chapter 5 ran the GANs and the VAE, chapter 6 the stabilisers and the
# DDPM, chapter 7 the hybrids and the MDN-RNN
_MIXTURE_ROWS = {
    5: ("GAN", "PacGAN2", "PacGAN4", "WGAN-GP", "GAN + DRS", "VAE"),
    6: ("GAN, hinge", "GAN, spectral norm", "GAN, TTUR", "GAN, R1", "DDPM"),
    7: ("VAE-GAN", "AAE", "BiGAN", "ALI"),
}
_MIXTURE_FILES = {"ring": {5: RING_5, 6: RING_6, 7: RING_7}, "grid": {5: GRID_5, 6: GRID_6, 7: GRID_7}}


def _mixture(data: str, row: str) -> str:
    """The results file that holds `row` of the ring or grid."""
    chapter = next(ch for ch, rows in _MIXTURE_ROWS.items() if row in rows or row == "MDN-RNN" and ch == 7)
    if data == "ring" and row in _MIXTURE_ROWS[6] and row != "DDPM":
        raise KeyError(f"chapter 6 ran {row!r} on the grid only")
    return _MIXTURE_FILES[data][chapter]


def mixture_beats(data: str, a: str, b: str, column: str) -> Callable[[Tables], Outcome]:
    """`beats` for two rows of the ring or grid, wherever each row's table is."""
    return beats(_mixture(data, a), a, b, column, table_b=_mixture(data, b))


def _claims(*claims: Claim) -> dict[str, Claim]:
    keys = [c.key for c in claims]
    duplicated = sorted({k for k in keys if keys.count(k) > 1})
    if duplicated:
        raise ValueError(f"claim keys must be unique, {duplicated} repeat")
    return {c.key: c for c in claims}


def _wording(supported: str, refuted: str, not_shown: str) -> dict[str, str]:
    return {SUPPORTED: supported, REFUTED: refuted, NOT_SHOWN: not_shown}


_HYBRIDS = ("AAE", "BiGAN", "ALI")
_STABILISERS_2D = ("GAN, hinge", "GAN, spectral norm", "GAN, TTUR", "GAN, R1")
_STABILISERS_DIGITS = ("DCGAN, hinge", "DCGAN, spectral norm", "DCGAN, TTUR", "DCGAN, WGAN-GP")
_SINES_MODELS = ("SequenceRNN", "VRNN", "C-RNN-GAN", "RCGAN", "RCGAN, noise per sequence", "TimeGAN")
_CURED = "SequenceVAE, annealing + word dropout"
_COMPARISON = "book/07_combining/comparison.ipynb"
_GUIDE = "book/08_summary/index.ipynb"
_CHAPTER_6 = "book/06_future/index.ipynb"


CLAIMS: dict[str, Claim] = _claims(
    # ---- the 2-D mixtures (ring: 8 modes, grid: 25; each row its default recipe, 10 seeds) ----
    Claim(
        "mdn-rnn-2d", (RING_5, GRID_5, RING_6, GRID_6, RING_7, GRID_7),
        all_of(*(mixture_beats(data, "MDN-RNN", row, "high_quality")
                 for data in ("ring", "grid") for rows in _MIXTURE_ROWS.values() for row in rows
                 if not (data == "ring" and row in _STABILISERS_2D))),
        _wording("On the ring and the grid the MDN-RNN has more high-quality samples ({ring:.0%} and {grid:.0%}) "
                 "than every GAN, VAE, hybrid and diffusion row.",
                 "On the ring or the grid some row has more high-quality samples than the MDN-RNN "
                 "({ring:.0%} and {grid:.0%}).",
                 "On the ring and the grid the MDN-RNN reaches {ring:.0%} and {grid:.0%} high-quality samples, "
                 "but the seeds do not separate it from every other row."),
        expected=SUPPORTED, where=(_COMPARISON, _GUIDE),
        figures=lambda t: {"ring": t.mean(RING_7, "MDN-RNN", "high_quality"),
                           "grid": t.mean(GRID_7, "MDN-RNN", "high_quality")}),
    Claim(
        "vae-gan-2d", (RING_5, GRID_5, RING_7, GRID_7),
        all_of(*(mixture_beats(data, "VAE-GAN", "VAE", "high_quality") for data in ("ring", "grid")),
               *(none_of(mixture_beats(data, "GAN", "VAE-GAN", "modes")) for data in ("ring", "grid"))),
        _wording("On both mixtures the VAE-GAN has more high-quality samples than the VAE (ring {ring:.0%} "
                 "against {ring_vae:.0%}) and the seeds never show it covering fewer modes than the GAN.",
                 "On one of the mixtures the VAE-GAN has fewer high-quality samples than the VAE, or covers "
                 "fewer modes than the GAN.",
                 "On the mixtures the seeds do not show the VAE-GAN sharper than the VAE on both (ring {ring:.0%} "
                 "against {ring_vae:.0%})."),
        expected=SUPPORTED, where=(_CHAPTER_6, _COMPARISON),
        figures=lambda t: {"ring": t.mean(RING_7, "VAE-GAN", "high_quality"),
                           "ring_vae": t.mean(RING_5, "VAE", "high_quality")}),
    Claim(
        "code-space-hybrids-2d", (RING_5, GRID_5, RING_7, GRID_7),
        all_of(*(mixture_beats(data, parent, hybrid, "high_quality")
                 for data in ("ring", "grid") for hybrid in _HYBRIDS for parent in ("GAN", "VAE"))),
        _wording("At their default recipes the AAE, BiGAN and ALI have fewer high-quality samples than either "
                 "parent on both mixtures (ring: at most {best:.0%}, against the GAN's {gan:.0%} and the VAE's "
                 "{vae:.0%}).",
                 "At their default recipes one of the AAE, BiGAN and ALI has more high-quality samples than a parent.",
                 "At their default recipes the seeds do not show every one of the AAE, BiGAN and ALI below both "
                 "parents (ring: at most {best:.0%}, against the GAN's {gan:.0%} and the VAE's {vae:.0%})."),
        expected=SUPPORTED, where=(_COMPARISON, _GUIDE),
        figures=lambda t: {"best": max(t.mean(RING_7, h, "high_quality") for h in _HYBRIDS),
                           "gan": t.mean(RING_5, "GAN", "high_quality"), "vae": t.mean(RING_5, "VAE", "high_quality")}),
    Claim(
        "code-space-hybrids-wide", (GRID_7,),
        all_of(*(every_seed(GRID_7, h, "spread", lambda v: v > 1.3, "has a spread above 1.3") for h in _HYBRIDS)),
        _wording("What they get wrong is measured: their samples are too wide. On the grid, on every seed, those "
                 "within three standard deviations of a mode sit {low:.2f} to {high:.2f} times as far from its centre "
                 "as the data's do (the VAE-GAN's {vaegan:.2f}).",
                 "On the grid their samples are not too wide on every seed (mean spread {low:.2f} to {high:.2f}).",
                 "On the grid their samples are not too wide on every seed (mean spread {low:.2f} to {high:.2f})."),
        expected=SUPPORTED, where=(_COMPARISON,),
        figures=lambda t: {"low": min(t.mean(GRID_7, h, "spread") for h in _HYBRIDS),
                           "high": max(t.mean(GRID_7, h, "spread") for h in _HYBRIDS),
                           "vaegan": t.mean(GRID_7, "VAE-GAN", "spread")}),
    Claim(
        "code-space-hybrids-ring-tuned", (RING_TUNED,),
        all_of(*(beats(RING_TUNED, f"{parent}, tuned", f"{hybrid}, tuned", "high_quality")
                 for hybrid in _HYBRIDS for parent in ("GAN", "VAE"))),
        _wording("Tuned alike (12 trials each) on the ring, they still trail both tuned parents: at most {best:.0%} "
                 "high-quality samples, against {gan:.0%} and {vae:.0%}.",
                 "Tuned alike on the ring, one of them overtakes a tuned parent.",
                 "Tuned alike (12 trials each) on the ring, the seeds no longer separate every one of them from both "
                 "tuned parents (at most {best:.0%} against {gan:.0%} and {vae:.0%})."),
        expected=SUPPORTED, where=(_COMPARISON,),
        figures=lambda t: {"best": max(t.mean(RING_TUNED, f"{h}, tuned", "high_quality") for h in _HYBRIDS),
                           "gan": t.mean(RING_TUNED, "GAN, tuned", "high_quality"),
                           "vae": t.mean(RING_TUNED, "VAE, tuned", "high_quality")}),
    Claim(
        "likelihood-models-cover", (RING_5, GRID_5, RING_7, GRID_7),
        all_of(*(every_seed(_mixture(data, row), row, "all_modes", lambda v: v == 1, "covers every mode")
                 for data in ("ring", "grid") for row in ("VAE", "MDN-RNN"))),
        _wording("The likelihood models (the VAE and the MDN-RNN) cover every mode of both mixtures on every seed.",
                 "A likelihood model (the VAE or the MDN-RNN) misses a mode on some seed.",
                 "A likelihood model (the VAE or the MDN-RNN) misses a mode on some seed."),
        expected=SUPPORTED, where=(_CHAPTER_6,)),
    Claim(
        "pacgan-ring-coverage", (RING_5,),
        beats(RING_5, "PacGAN2", "GAN", "modes"),
        _wording("On the ring, packing two samples captures more modes than the GAN ({pac:.1f} against {gan:.1f} of 8).",
                 "On the ring, packing two samples captures fewer modes than the GAN ({pac:.1f} against {gan:.1f} of 8).",
                 "On the ring, the seeds do not show packing capturing more modes than the GAN "
                 "({pac:.1f} against {gan:.1f} of 8)."),
        expected=SUPPORTED, where=(_CHAPTER_6, _GUIDE),
        figures=lambda t: {"pac": t.mean(RING_5, "PacGAN2", "modes"), "gan": t.mean(RING_5, "GAN", "modes")}),
    Claim(
        "pacgan-grid-coverage", (GRID_5,),
        beats(GRID_5, "PacGAN2", "GAN", "all_modes"),
        _wording("On the grid, packing two samples makes a run cover all 25 modes more often than the GAN.",
                 "On the grid, packing two samples makes a run cover all 25 modes less often than the GAN.",
                 "On the grid, packing does not cover all 25 modes more often than the GAN ({pac:.0%} of runs "
                 "against {gan:.0%})."),
        expected=NOT_SHOWN, where=(_CHAPTER_6, _GUIDE),
        figures=lambda t: {"pac": t.mean(GRID_5, "PacGAN2", "all_modes"), "gan": t.mean(GRID_5, "GAN", "all_modes")}),
    Claim(
        "pacgan-grid-quality", (GRID_5,),
        beats(GRID_5, "GAN", "PacGAN2", "high_quality"),
        _wording("There packing costs sample quality: {pac:.0%} high-quality samples against the GAN's {gan:.0%}.",
                 "There packing raises sample quality: {pac:.0%} high-quality samples against the GAN's {gan:.0%}.",
                 "There the seeds do not separate the two rows' sample quality ({pac:.0%} against {gan:.0%})."),
        expected=SUPPORTED, where=(_GUIDE,),
        figures=lambda t: {"pac": t.mean(GRID_5, "PacGAN2", "high_quality"),
                           "gan": t.mean(GRID_5, "GAN", "high_quality")}),
    Claim(
        "drs-adds-no-modes", (RING_5, GRID_5),
        all_of(*(none_of(beats(table, "GAN + DRS", "GAN", "modes")) for table in (RING_5, GRID_5))),
        _wording("Rejection sampling only re-weights the GAN's samples: it covers no more modes on either mixture.",
                 "Rejection sampling covers more modes than the GAN it filters.",
                 "Rejection sampling only re-weights the GAN's samples."),
        expected=SUPPORTED, where=(_GUIDE,)),
    Claim(
        "drs-ring-quality", (RING_5,),
        beats(RING_5, "GAN + DRS", "GAN", "high_quality"),
        _wording("On the ring, rejection sampling raises the GAN's share of high-quality samples.",
                 "On the ring, rejection sampling lowers the GAN's share of high-quality samples.",
                 "On the ring, the seeds do not show rejection sampling raising the GAN's share of "
                 "high-quality samples."),
        expected=NOT_SHOWN, where=("book/05_analysis/gan_stability.ipynb",)),
    Claim(
        "ddpm-ring-coverage", (RING_6,),
        every_seed(RING_6, "DDPM", "all_modes", lambda v: v == 1, "covers all 8 modes"),
        _wording("On the ring the DDPM covers all 8 modes on every seed.",
                 "On the ring the DDPM misses a mode on some seed.",
                 "On the ring the DDPM misses a mode on some seed."),
        expected=SUPPORTED, where=(_GUIDE, "book/06_future/diffusion.ipynb")),
    Claim(
        "ddpm-grid-coverage", (GRID_5, GRID_6),
        beats(GRID_6, "DDPM", "GAN", "all_modes", table_b=GRID_5),
        _wording("On the grid the DDPM covers all 25 modes more often than the GAN.",
                 "On the grid the DDPM covers all 25 modes less often than the GAN ({ddpm:.0%} of runs against {gan:.0%}).",
                 "On the grid the seeds do not show the DDPM covering all 25 modes more often than the GAN "
                 "({ddpm:.0%} of runs against {gan:.0%})."),
        expected=NOT_SHOWN, where=("book/06_future/diffusion.ipynb", _GUIDE),
        figures=lambda t: {"ddpm": t.mean(GRID_6, "DDPM", "all_modes"), "gan": t.mean(GRID_5, "GAN", "all_modes")}),
    Claim(
        "ddpm-grid-quality", (GRID_5, GRID_6),
        beats(GRID_5, "GAN", "DDPM", "high_quality", table_b=GRID_6),
        _wording("At this budget its grid samples are mostly off the modes: {ddpm:.0%} of high quality against the "
                 "GAN's {gan:.0%}.",
                 "On the grid its samples are more often of high quality than the GAN's ({ddpm:.0%} against {gan:.0%}).",
                 "On the grid the seeds do not separate its sample quality from the GAN's ({ddpm:.0%} against {gan:.0%})."),
        expected=SUPPORTED, where=(_GUIDE,),
        figures=lambda t: {"ddpm": t.mean(GRID_6, "DDPM", "high_quality"), "gan": t.mean(GRID_5, "GAN", "high_quality")}),
    Claim(
        "stabilisers-grid", (GRID_5, GRID_6),
        all_of(*(beats(GRID_5, "GAN", row, "high_quality", table_b=GRID_6) for row in _STABILISERS_2D),
               beats(GRID_5, "GAN", "WGAN-GP", "high_quality")),
        _wording("On the grid, at their default recipes, every stabiliser (hinge, spectral normalisation, TTUR, R1, "
                 "WGAN-GP) has fewer high-quality samples than the plain GAN.",
                 "On the grid one stabiliser, at its default recipe, has more high-quality samples than the plain GAN.",
                 "On the grid, at their default recipes, the seeds do not show every stabiliser below the plain GAN."),
        expected=SUPPORTED, where=(_GUIDE, _CHAPTER_6)),
    # ---- the 8×8 digits (each row its default recipe, 10 seeds) ----
    Claim(
        "vae-gan-recall", (DIGITS,),
        all_of(beats(DIGITS, "VAE-GAN", "DCGAN", "recall"), beats(DIGITS, "VAE-GAN", "VAE", "recall")),
        _wording("On the digits the VAE-GAN's recall ({vaegan:.2f}) beats both of its parents' (DCGAN {dcgan:.2f}, "
                 "VAE {vae:.2f}).",
                 "On the digits the VAE-GAN's recall ({vaegan:.2f}) is below one of its parents' (DCGAN {dcgan:.2f}, "
                 "VAE {vae:.2f}).",
                 "On the digits the seeds do not show the VAE-GAN's recall ({vaegan:.2f}) beating both of its "
                 "parents' (DCGAN {dcgan:.2f}, VAE {vae:.2f})."),
        expected=SUPPORTED, where=(_COMPARISON, _GUIDE),
        figures=lambda t: {m.lower().replace("-", ""): t.mean(DIGITS, m, "recall") for m in ("VAE-GAN", "DCGAN", "VAE")}),
    Claim(
        "vae-gan-precision", (DIGITS,),
        beats(DIGITS, "VAE", "VAE-GAN", "precision"),
        _wording("Its precision is below the VAE's ({vaegan:.2f} against {vae:.2f}): more of its samples fall outside "
                 "the real digits' neighbourhoods than the VAE's blurry averages do.",
                 "Its precision is above the VAE's ({vaegan:.2f} against {vae:.2f}).",
                 "The seeds do not separate its precision from the VAE's ({vaegan:.2f} against {vae:.2f})."),
        expected=SUPPORTED, where=(_COMPARISON,),
        figures=lambda t: {"vaegan": t.mean(DIGITS, "VAE-GAN", "precision"), "vae": t.mean(DIGITS, "VAE", "precision")}),
    Claim(
        "vae-blurrier-digits", (DIGITS,),
        beats(DIGITS, "DCGAN", "VAE", "sharpness"),
        _wording("VAE samples are blurrier than the DCGAN's (sharpness {vae:.2f} of the real digits' against {dcgan:.2f}).",
                 "VAE samples are sharper than the DCGAN's (sharpness {vae:.2f} against {dcgan:.2f}).",
                 "The seeds do not separate the VAE's sharpness from the DCGAN's ({vae:.2f} against {dcgan:.2f})."),
        expected=SUPPORTED, where=(_GUIDE,),
        figures=lambda t: {"vae": t.mean(DIGITS, "VAE", "sharpness"), "dcgan": t.mean(DIGITS, "DCGAN", "sharpness")}),
    Claim(
        "dcgan-precision-digits", (DIGITS,),
        beats(DIGITS, "VAE", "DCGAN", "precision"),
        _wording("But the DCGAN's sharp samples fall outside the real digits' neighbourhoods more often: precision "
                 "{dcgan:.2f} against the VAE's {vae:.2f}.",
                 "The DCGAN's samples are also more often inside the real digits' neighbourhoods: precision {dcgan:.2f} "
                 "against the VAE's {vae:.2f}.",
                 "The seeds do not separate the DCGAN's precision from the VAE's ({dcgan:.2f} against {vae:.2f})."),
        expected=SUPPORTED, where=(_GUIDE,),
        figures=lambda t: {"vae": t.mean(DIGITS, "VAE", "precision"), "dcgan": t.mean(DIGITS, "DCGAN", "precision")}),
    Claim(
        "r1-digits-frechet", (DIGITS, DIGITS_6),
        beats(DIGITS_6, "DCGAN, R1", "DCGAN", "frechet", higher_is_better=False, table_b=DIGITS),
        _wording("On the digits the R1 penalty lowers the DCGAN's Fréchet distance ({r1:.1f} against {dcgan:.1f}).",
                 "On the digits the R1 penalty raises the DCGAN's Fréchet distance ({r1:.1f} against {dcgan:.1f}).",
                 "On the digits the seeds do not show the R1 penalty lowering the DCGAN's Fréchet distance "
                 "({r1:.1f} against {dcgan:.1f})."),
        expected=SUPPORTED, where=(_CHAPTER_6, "book/06_future/stabilising.ipynb", _GUIDE),
        figures=lambda t: {"r1": t.mean(DIGITS_6, "DCGAN, R1", "frechet"), "dcgan": t.mean(DIGITS, "DCGAN", "frechet")}),
    Claim(
        "r1-only-digits", (DIGITS, DIGITS_6),
        none_of(*(beats(DIGITS_6, row, "DCGAN", "frechet", higher_is_better=False, table_b=DIGITS)
                  for row in _STABILISERS_DIGITS)),
        _wording("None of the other four (hinge, spectral normalisation, TTUR, WGAN-GP) is shown to lower it.",
                 "Another stabiliser lowers it too.",
                 "None of the other four is shown to lower it."),
        expected=SUPPORTED, where=(_GUIDE, _CHAPTER_6)),
    Claim(
        "r1-beats-vae-digits", (DIGITS, DIGITS_6),
        beats(DIGITS_6, "DCGAN, R1", "VAE", "frechet", higher_is_better=False, table_b=DIGITS),
        _wording("The R1 DCGAN's Fréchet distance is also below the VAE's ({vae:.1f}).",
                 "The R1 DCGAN's Fréchet distance is above the VAE's ({vae:.1f}).",
                 "The seeds do not separate the R1 DCGAN's Fréchet distance from the VAE's ({vae:.1f})."),
        expected=SUPPORTED, where=(_GUIDE,),
        figures=lambda t: {"vae": t.mean(DIGITS, "VAE", "frechet")}),
    Claim(
        "cvae-frechet", (DIGITS, DIGITS_6),
        all_of(*(beats(DIGITS, "CVAE", row, "frechet", higher_is_better=False) for row in ("DCGAN", "VAE", "VAE-GAN", "cGAN")),
               beats(DIGITS, "CVAE", "DCGAN, R1", "frechet", higher_is_better=False, table_b=DIGITS_6)),
        _wording("Asked for the held-out digits' own labels, the CVAE has the lowest Fréchet distance of the digit "
                 "models ({cvae:.1f}) and precision {precision:.2f}.",
                 "Asked for the held-out labels, the CVAE's Fréchet distance ({cvae:.1f}) is above another model's.",
                 "Asked for the held-out labels, the CVAE's Fréchet distance ({cvae:.1f}) is not shown below every "
                 "other digit model's."),
        expected=SUPPORTED, where=(_GUIDE,),
        figures=lambda t: {"cvae": t.mean(DIGITS, "CVAE", "frechet"), "precision": t.mean(DIGITS, "CVAE", "precision")}),
    Claim(
        "cvae-recall", (DIGITS,),
        all_of(*(beats(DIGITS, row, "CVAE", "recall") for row in ("DCGAN", "VAE", "VAE-GAN", "cGAN"))),
        _wording("Its recall is the lowest ({recall:.2f}): clean samples, little variety.",
                 "Its recall ({recall:.2f}) is not the lowest.",
                 "Its recall ({recall:.2f}) is not shown below every other model's."),
        expected=SUPPORTED, where=(_GUIDE,),
        figures=lambda t: {"recall": t.mean(DIGITS, "CVAE", "recall")}),
    # ---- sequences ----
    Claim(
        "sines-no-model-at-floor", (SINES,),
        all_of(*(beats(SINES, "true data", row, "discriminative", higher_is_better=False) for row in _SINES_MODELS)),
        _wording("No sequence model reaches the sines' real-data floor ({floor:.3f}): the best discriminative score "
                 "is {best:.3f} ({name}).",
                 "A sequence model reaches the sines' real-data floor ({floor:.3f}).",
                 "The seeds do not separate every sequence model from the sines' real-data floor ({floor:.3f}); "
                 "the best is {name} at {best:.3f}."),
        expected=SUPPORTED, where=(_COMPARISON, _GUIDE),
        figures=lambda t: {"floor": t.mean(SINES, "true data", "discriminative"),
                           **min(({"best": t.mean(SINES, m, "discriminative"), "name": m} for m in _SINES_MODELS),
                                 key=lambda d: d["best"])}),
    Claim(
        "sines-lowest", (SINES,),
        all_of(*(beats(SINES, best, row, "discriminative", higher_is_better=False)
                 for best in ("VRNN", "C-RNN-GAN") for row in ("SequenceRNN", "RCGAN", "RCGAN, noise per sequence"))),
        _wording("The VRNN ({vrnn:.3f}) and C-RNN-GAN ({crnn:.3f}) score below SequenceRNN and both RCGANs.",
                 "The VRNN or C-RNN-GAN scores above SequenceRNN or an RCGAN.",
                 "The VRNN ({vrnn:.3f}) and C-RNN-GAN ({crnn:.3f}) have the lowest means, but the seeds do not "
                 "separate both from SequenceRNN and both RCGANs."),
        expected=SUPPORTED, where=(_GUIDE,),
        figures=lambda t: {"vrnn": t.mean(SINES, "VRNN", "discriminative"),
                           "crnn": t.mean(SINES, "C-RNN-GAN", "discriminative")}),
    Claim(
        "rcgan-tstr", (DIGIT_ROWS,),
        beats(DIGIT_ROWS, "real (TRTR)", "RCGAN", "tstr"),
        _wording("A classifier trained on RCGAN's digits, read row by row, scores {tstr:.0%} on real ones, below "
                 "the {trtr:.0%} of one trained on real digits; the requested class is kept on {agree:.0%} of samples.",
                 "A classifier trained on RCGAN's digits scores above one trained on real digits.",
                 "The seeds do not separate training on RCGAN's digits ({tstr:.0%}) from training on real ones ({trtr:.0%})."),
        expected=SUPPORTED, where=(_GUIDE,),
        figures=lambda t: {"tstr": t.mean(DIGIT_ROWS, "RCGAN", "tstr"), "trtr": t.mean(DIGIT_ROWS, "real (TRTR)", "tstr"),
                           "agree": t.mean(DIGIT_ROWS, "RCGAN", "agree")}),
    Claim(
        "charrnn-vs-unigram", (NAMES,),
        beats(NAMES, "CharRNN", "unigram (add-one)", "bpc", higher_is_better=False),
        _wording("On held-out names CharRNN needs {charrnn:.2f} bits per character, against {unigram:.2f} for a "
                 "unigram model.",
                 "On held-out names CharRNN needs more bits per character than a unigram model.",
                 "On held-out names the seeds do not separate CharRNN from a unigram model."),
        expected=SUPPORTED, where=(_GUIDE,),
        figures=lambda t: {"charrnn": t.mean(NAMES, "CharRNN", "bpc"), "unigram": t.mean(NAMES, "unigram (add-one)", "bpc")}),
    Claim(
        "sequence-vae-bpc", (NAMES,),
        within(NAMES, _CURED, "CharRNN", "bpc", relative=0.02),
        _wording("With KL annealing and word dropout the sequence VAE is within 2 % of CharRNN's bits per "
                 "character ({vae:.3f} against {charrnn:.3f}).",
                 "With KL annealing and word dropout the sequence VAE is more than 2 % off CharRNN's bits per "
                 "character ({vae:.3f} against {charrnn:.3f}).",
                 "The seeds do not show the cured sequence VAE within 2 % of CharRNN's bits per character "
                 "({vae:.3f} against {charrnn:.3f})."),
        expected=SUPPORTED, where=(_COMPARISON, _GUIDE),
        figures=lambda t: {"vae": t.mean(NAMES, _CURED, "bpc"), "charrnn": t.mean(NAMES, "CharRNN", "bpc")}),
    Claim(
        "sequence-vae-novel", (NAMES,),
        beats(NAMES, _CURED, "CharRNN", "novel"),
        _wording("More of its samples are new names ({vae:.0%} against {charrnn:.0%}).",
                 "Fewer of its samples are new names ({vae:.0%} against {charrnn:.0%}).",
                 "The seeds do not show more of its samples being new names ({vae:.0%} against {charrnn:.0%})."),
        expected=SUPPORTED, where=(_COMPARISON, _GUIDE),
        figures=lambda t: {"vae": t.mean(NAMES, _CURED, "novel"), "charrnn": t.mean(NAMES, "CharRNN", "novel")}),
    Claim(
        "sequence-vae-collapse", (NAMES,),
        every_seed(NAMES, "SequenceVAE", "active", lambda v: v == 0, "has no active latent unit"),
        _wording("Without those cures its code collapses on every seed (no active unit).",
                 "Without those cures its code stays active on some seed.",
                 "Without those cures its code stays active on some seed."),
        expected=SUPPORTED, where=(_GUIDE,)),
)


def decide_all(tables: Tables) -> dict[str, Outcome]:
    """Every claim decided against `tables`."""
    return {key: claim.decide(tables) for key, claim in CLAIMS.items()}


def drifted(tables: Tables) -> dict[str, tuple[str, Outcome]]:
    """The claims whose verdict differs from the one the book's prose relies on: key -> (expected, outcome)."""
    return {key: (CLAIMS[key].expected, outcome) for key, outcome in decide_all(tables).items()
            if outcome.verdict != CLAIMS[key].expected}


def paragraph(keys: Sequence[str], tables: Tables) -> str:
    """The claims `keys` rendered one after another, as one paragraph of the data's verdicts."""
    return " ".join(render(CLAIMS[key], tables, evidence=False) for key in keys)


@dataclass(frozen=True)
class GuideRow:
    """A row of chapter 8's decision guide.

    goal: the reader's data and goal; start: what to start with (the prose relies on the claims'
    expected verdicts); condition: the benchmark, budget and tuning the evidence holds for;
    claims: keys of the claims that ground it, rendered as its "why"; measured: for a row grounded
    by a measurement made and asserted on its own page rather than by a results table, that
    measurement in words; where: the pages, as MyST {doc} links relative to chapter 8.
    """

    goal: str
    start: str
    condition: str
    where: tuple[str, ...]
    claims: tuple[str, ...] = ()
    measured: str = ""

    def __post_init__(self) -> None:
        if bool(self.claims) == bool(self.measured):
            raise ValueError(f"guide row {self.goal!r} needs claims or a page measurement, not both or neither")
        unknown = [k for k in self.claims if k not in CLAIMS]
        if unknown:
            raise ValueError(f"guide row {self.goal!r} names unknown claims {unknown}")


_TEN_SEEDS = "10 seeds, each row's default recipe"
GUIDE: tuple[GuideRow, ...] = (
    GuideRow("low-dimensional data (points, a few features), every mode covered",
             "an autoregressive model with a mixture output (`genlab.SequenceRNN` with `components`, the MDN-RNN)",
             f"ring and grid, {_TEN_SEEDS}", ("../07_combining/comparison", "../07_combining/vae_gan"),
             claims=("mdn-rnn-2d",)),
    GuideRow("images, varied samples that cover the data",
             "a DCGAN with the R1 penalty (`genlab.GAN.dcgan(r1_weight=10)`), or the VAE-GAN (`genlab.VAEGAN`)",
             f"8×8 digits, {_TEN_SEEDS}", ("../06_future/stabilising", "../07_combining/vae_gan"),
             claims=("r1-digits-frechet", "r1-beats-vae-digits", "vae-gan-recall")),
    GuideRow("images of a requested class, each sample clean", "conditional VAE (`genlab.VAE` with `classes`)",
             f"8×8 digits, asked for the held-out labels, {_TEN_SEEDS}", ("../07_combining/vae_gan",),
             claims=("cvae-frechet", "cvae-recall")),
    GuideRow("an encoder: codes, reconstructions, interpolation, imputation",
             "VAE (`genlab.VAE`), or the VAE-GAN for sharper reconstructions",
             "digits and the 2-D mixtures, 10 seeds", ("../04_code/conv_vae_digits", "../05_analysis/missing_data",
                                                       "../07_combining/vae_gan"),
             claims=("code-space-hybrids-2d",)),
    GuideRow("a GAN that must not drop modes",
             "it depends on the data: PacGAN (`genlab.GAN` with `pack=2`) on few, well-separated modes; on many "
             "modes, a likelihood model (the MDN-RNN, a VAE) rather than a GAN fix",
             f"ring and grid, {_TEN_SEEDS}", ("../05_analysis/gan_stability",),
             claims=("pacgan-ring-coverage", "pacgan-grid-coverage", "pacgan-grid-quality", "drs-adds-no-modes")),
    GuideRow("a likelihood, to compare models or flag unusual data",
             "an autoregressive model (exact), or a VAE with the importance-weighted bound",
             "names and sines", ("../04_code/name_generator", "../07_combining/vae_rnn"),
             measured="exact for `CharRNN` and `SequenceRNN` (the MDN-RNN among them); for a VAE the ELBO "
                      "under-states the likelihood, the IWAE bound much less"),
    GuideRow("text or other token sequences, best likelihood", "a character-level RNN (`genlab.CharRNN`)",
             f"names, {_TEN_SEEDS}", ("../04_code/name_generator",), claims=("charrnn-vs-unigram",)),
    GuideRow("text with a latent code (interpolation, more novel samples)",
             "sequence VAE with KL annealing and word dropout (`genlab.SequenceVAE`)",
             f"names, {_TEN_SEEDS}", ("../07_combining/vae_rnn",),
             claims=("sequence-vae-bpc", "sequence-vae-novel", "sequence-vae-collapse")),
    GuideRow("real-valued time series, realistic samples",
             "VRNN (`genlab.VRNN`) or a recurrent GAN (C-RNN-GAN, `genlab.RecurrentGAN.crnngan`), checked against "
             "the real-data floor",
             "sines, 10 seeds (TimeGAN 8), budgets of minutes far below the published ones",
             ("../07_combining/vae_rnn", "../07_combining/gan_rnn"), claims=("sines-lowest", "sines-no-model-at-floor")),
    GuideRow("labelled sequences, synthetic data for training a classifier",
             "RCGAN (`genlab.RecurrentGAN.rcgan`), judged by train-on-synthetic, test-on-real",
             f"digits read row by row, {_TEN_SEEDS}", ("../07_combining/gan_rnn",), claims=("rcgan-tstr",)),
    GuideRow("long-range dependencies in a sequence", "a gated cell (GRU or LSTM) with gradient clipping",
             "the adding problem", ("../05_analysis/long_range",),
             measured="the plain RNN remembers across about 8 steps, the GRU across all 64 tried; clipping keeps "
                      "training finite"),
    GuideRow("sequences too long to back-propagate through", "truncated back-propagation (`RecurrentRegressor(truncate=k)`)",
             "the adding problem", ("../06_future/sequences",),
             measured="an LSTM trained with windows of 2 or 8 steps still learns a 16–31-step dependency, at several "
                      "times full back-propagation's error"),
    GuideRow("stable training and every mode, sampling time no concern",
             "a diffusion model (`genlab.DDPM`) on few modes; 1,000 network calls per sample",
             f"ring and grid, {_TEN_SEEDS}", ("../06_future/diffusion",),
             claims=("ddpm-ring-coverage", "ddpm-grid-coverage", "ddpm-grid-quality")),
    GuideRow("a GAN that will not train",
             "change one thing at a time and measure it over seeds; the R1 penalty first on images",
             f"digits and grid, {_TEN_SEEDS} (untuned: a tuned stabiliser may do better)",
             ("../06_future/stabilising",), claims=("r1-digits-frechet", "r1-only-digits", "stabilisers-grid")),
    GuideRow("faster training on a CPU",
             "bfloat16 autocast where the CPU has bf16 instructions; measure before using `torch.compile`",
             "one image model on the book's CPU", ("../06_future/efficiency",),
             measured="bf16 trained 1.6 times and sampled 2.6 times faster; compilation slowed training to 0.56 times"),
)


def guide_markdown(tables: Tables) -> str:
    """Chapter 8's decision guide as a markdown table, each row's "why" rendered from its claims."""
    lines = ["| your data and goal | start with | why (measured) | measured on | where |", "|---|---|---|---|---|"]
    for row in GUIDE:
        why = paragraph(row.claims, tables) if row.claims else f"{row.measured} (checked on its page)"
        where = ", ".join(f"{{doc}}`{page}`" for page in row.where)
        lines.append(f"| {row.goal} | {row.start} | {why} | {row.condition} | {where} |")
    return "\n".join(lines)
