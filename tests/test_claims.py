"""One test for every comparison (genlab.bench.stats) and the book's claims decided by it (genlab.bench.claims)."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from genlab.bench import claims, stats

ROOT = Path(__file__).resolve().parents[1]


def test_describe_known_answers():
    d = stats.describe([1.0, 2.0, 3.0, 4.0], goal=lambda v: v <= 2)
    assert (d.n, d.mean, d.median, d.q1, d.q3, d.share) == (4, 2.5, 2.5, 1.75, 3.25, 0.5)
    assert d.se == pytest.approx(math.sqrt(5 / 3) / 2)
    assert math.isnan(stats.describe([7.0]).se)
    assert "± " in str(d) and "50 % at goal" in str(d)
    with pytest.raises(ValueError, match="non-empty"):
        stats.describe([])
    with pytest.raises(ValueError, match="non-finite"):
        stats.describe([1.0, math.nan])


def test_compare_separates_what_differs_and_nothing_else():
    low, high = [0.1, 0.2, 0.15, 0.12, 0.18], [0.9, 0.8, 0.85, 0.95, 0.88]
    better = stats.compare(high, low)
    assert better.verdict == stats.BETTER and better.low > 0 and better.difference == pytest.approx(0.726)
    assert stats.compare(low, high).verdict == stats.WORSE
    assert stats.compare(low, high, higher_is_better=False).verdict == stats.BETTER  # a distance: lower wins
    same = stats.compare([1.0, 2.0, 3.0, 4.0], [1.5, 2.5, 3.5, 2.0])
    assert same.verdict == stats.NOT_SHOWN and same.low < 0 < same.high
    # deterministic: the same verdict and interval on every call and machine
    assert stats.compare(high, low) == better
    with pytest.raises(ValueError, match="at least 2 seeds"):
        stats.compare([1.0], [2.0, 3.0])
    with pytest.raises(ValueError, match="level"):
        stats.compare(high, low, level=1.5)


def test_the_bootstrap_interval_matches_the_normal_theory_one_for_a_large_sample():
    import numpy as np

    rng = np.random.default_rng(3)
    a, b = rng.normal(1.0, 1.0, 400), rng.normal(0.8, 1.0, 400)
    c = stats.compare(a, b)
    half = 1.96 * math.sqrt(a.var(ddof=1) / 400 + b.var(ddof=1) / 400)
    assert c.low == pytest.approx(c.difference - half, abs=0.02) and c.high == pytest.approx(c.difference + half, abs=0.02)


def test_every_claim_has_wording_for_every_verdict_and_cites_existing_tables():
    tables = claims.Tables(ROOT / "book")
    for key, claim in claims.CLAIMS.items():
        assert set(claim.wording) >= set(claims.VERDICTS), key
        for name in claim.tables:
            assert (ROOT / "book" / name).is_file(), (key, name)
        for page in claim.where:
            assert (ROOT / page).is_file(), (key, page)
        # every verdict's wording formats with the claim's figures, not only the one the data give today
        figures = claim.figures(tables) if claim.figures else {}
        texts = {verdict: text.format(**figures) for verdict, text in claim.wording.items()}
        verdict = claim.decide(tables).verdict
        assert claims.render(claim, tables, evidence=False).replace(" %", "%") == texts[verdict].replace(" %", "%")


def test_every_claim_holds_on_the_committed_tables():
    drifted = claims.drifted(claims.Tables(ROOT / "book"))
    assert not drifted, "the tables no longer give the verdicts the book relies on: " + "; ".join(
        f"{key}: expected {expected}, the data say {outcome.verdict} ({outcome.evidence})"
        for key, (expected, outcome) in drifted.items())


def test_a_table_edited_to_contradict_a_claim_is_caught(tmp_path):
    claim = claims.CLAIMS["r1-digits-frechet"]
    for name in claim.tables:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "book" / name, tmp_path / name)
    edited = tmp_path / "06_future/results/digits.json"
    table = json.loads(edited.read_text())
    for run in table["runs"]:
        if run["row"] == "DCGAN, R1":
            run["frechet"] += 40.0  # R1 now far worse than the plain DCGAN
    edited.write_text(json.dumps(table))
    outcome = claim.decide(claims.Tables(tmp_path))
    assert outcome.verdict == claims.REFUTED and claim.expected == claims.SUPPORTED
    assert "raises the DCGAN's Fréchet distance" in claims.render(claim, claims.Tables(tmp_path))


def test_missing_evidence_is_named():
    tables = claims.Tables(ROOT / "book")
    with pytest.raises(KeyError, match="no runs of row 'Nope'"):
        tables.values(claims.DIGITS, "Nope", "recall")
    with pytest.raises(KeyError, match="has no 'nll' on seeds"):  # null: a run made before the column existed
        tables.values(claims.SINES, "true data", "nll")
    with pytest.raises(FileNotFoundError, match="make tables"):
        claims.Tables(ROOT / "nowhere").values("x.json", "a", "b")
    with pytest.raises(ValueError, match="no wording"):
        claims.Claim("k", (), lambda t: None, {claims.SUPPORTED: "s"}, expected=claims.SUPPORTED)


def _write_table(root: Path, name: str, rows: dict[str, dict[str, list[float]]]) -> None:
    """A minimal results file: rows -> column -> per-seed values."""
    runs = [{"row": row, "seed": seed, column: value}
            for row, columns in rows.items() for column, values in columns.items() for seed, value in enumerate(values)]
    merged: dict[tuple, dict] = {}
    for run in runs:
        merged.setdefault((run["row"], run["seed"]), {}).update(run)
    (root / name).parent.mkdir(parents=True, exist_ok=True)
    (root / name).write_text(json.dumps({"runs": list(merged.values())}))


def test_within_none_of_and_every_seed_decide_as_documented(tmp_path):
    _write_table(tmp_path, "t.json", {
        "a": {"x": [2.00, 2.01, 1.99, 2.02, 1.98], "y": [0, 0, 0, 0, 0]},
        "b": {"x": [2.01, 2.00, 2.02, 1.99, 2.00], "y": [0, 0, 1, 0, 0]},
        "far": {"x": [3.0, 3.1, 2.9, 3.05, 2.95]},
        "wide": {"x": [1.0, 3.0, 1.2, 2.9, 2.0]},
    })
    tables = claims.Tables(tmp_path)
    assert claims.within("t.json", "a", "b", "x", relative=0.02)(tables).verdict == claims.SUPPORTED
    assert claims.within("t.json", "far", "b", "x", relative=0.02)(tables).verdict == claims.REFUTED
    assert claims.within("t.json", "wide", "b", "x", relative=0.02)(tables).verdict == claims.NOT_SHOWN
    assert claims.none_of(claims.beats("t.json", "far", "b", "x"))(tables).verdict == claims.REFUTED
    assert claims.none_of(claims.beats("t.json", "a", "b", "x"))(tables).verdict == claims.SUPPORTED
    assert claims.every_seed("t.json", "a", "y", lambda v: v == 0, "is zero")(tables).verdict == claims.SUPPORTED
    outcome = claims.every_seed("t.json", "b", "y", lambda v: v == 0, "is zero")(tables)
    assert outcome.verdict == claims.REFUTED and "4 of 5 seeds" in outcome.evidence
    assert tables.mean("t.json", "far", "x") == pytest.approx(3.0)


def test_figures_fill_the_wording_and_percentages_take_a_space(tmp_path):
    _write_table(tmp_path, "t.json", {"a": {"x": [0.9, 0.92, 0.91]}, "b": {"x": [0.1, 0.12, 0.11]}})
    claim = claims.Claim("k", ("t.json",), claims.beats("t.json", "a", "b", "x"),
                         {claims.SUPPORTED: "a has {a:.0%} against {b:.0%}.", claims.REFUTED: "no.",
                          claims.NOT_SHOWN: "unclear."},
                         expected=claims.SUPPORTED,
                         figures=lambda t: {"a": t.mean("t.json", "a", "x"), "b": t.mean("t.json", "b", "x")})
    assert claims.render(claim, claims.Tables(tmp_path), evidence=False) == "a has 91 % against 11 %."


def test_every_guide_row_is_grounded_and_its_pages_exist():
    guide = ROOT / "book/08_summary"
    for row in claims.GUIDE:
        assert row.claims or row.measured, row.goal
        for page in row.where:
            assert ((guide / page).with_suffix(".ipynb").is_file() or (guide / page).with_suffix(".md").is_file()), page
    with pytest.raises(ValueError, match="unknown claims"):
        claims.GuideRow("g", "s", "c", ("x",), claims=("no-such-claim",))
    with pytest.raises(ValueError, match="not both or neither"):
        claims.GuideRow("g", "s", "c", ("x",))


def _markdown_outputs(path: Path) -> list[str]:
    nb = json.loads(path.read_text())
    return ["".join(o["data"]["text/markdown"]) for c in nb["cells"] if c["cell_type"] == "code"
            for o in c.get("outputs", []) if "text/markdown" in o.get("data", {})]


def test_the_pages_show_what_the_committed_tables_decide_today():
    """The guide and 7.6's reading as stored in the notebooks (what the rendered book shows) are the text the
    tables give now: a table changed without re-executing the page fails here."""
    tables = claims.Tables(ROOT / "book")
    assert claims.guide_markdown(tables) in _markdown_outputs(ROOT / "book/08_summary/index.ipynb")
    reading = [text for text in _markdown_outputs(ROOT / "book/07_combining/comparison.ipynb")
               if text.startswith("- **VAE × GAN")]
    assert len(reading) == 1
    for key in ("vae-gan-2d", "vae-gan-recall", "code-space-hybrids-2d", "sines-no-model-at-floor", "mdn-rnn-2d"):
        assert claims.render(claims.CLAIMS[key], tables, evidence=False) in reading[0], key


RENDERING_PAGES = ("book/06_future/index.ipynb", "book/07_combining/comparison.ipynb", "book/08_summary/index.ipynb")


@pytest.mark.parametrize("page", RENDERING_PAGES)
def test_every_claim_a_page_cites_is_shown_there_as_the_tables_decide_it(page):
    tables = claims.Tables(ROOT / "book")
    shown = "\n".join(_markdown_outputs(ROOT / page))
    cited = [key for key, claim in claims.CLAIMS.items() if page in claim.where]
    assert cited, page
    stale = [key for key in cited if claims.render(claims.CLAIMS[key], tables, evidence=False) not in shown]
    assert not stale, f"{page} shows another text than the tables give for {stale}: re-execute it"


def test_the_comparison_stars_follow_the_books_test():
    from genlab.bench.compare import Figure, comparison

    def table(name, rows):
        runs = [{"row": row, "seed": s, "score": v} for row, values in rows.items() for s, v in enumerate(values)]
        return {"name": name, "error": "se", "published": [], "columns": [{"key": "score", "label": "score", "fmt": "{:.2f}"}],
                "runs": runs, "rows": [{"row": row, "kind": "model", "n": len(values),
                                        "score": {"mean": sum(values) / len(values), "error": 0.0}}
                                       for row, values in rows.items()]}

    # "close" trails the best by more than the best's ± (0) but the test cannot separate them; "far" is worse
    tables = {"b": table("b", {"best": [1.0, 1.2, 0.8, 1.1, 0.9], "close": [0.9, 1.2, 0.7, 1.0, 0.8],
                               "far": [0.1, 0.2, 0.15, 0.1, 0.2]})}
    out = comparison(tables, figures=[Figure("b", "score", "score", "higher")], skip=())
    starred = {row["row"] for row in out["models"] if "score" in row.get("best", [])}
    assert starred == {"best", "close"}


def test_exercise_8_3_quotes_the_digits_table_and_a_verdict_it_gives():
    """Chapter 8's third exercise picks the VAE-GAN by recall: its figures are the table's, and the test backs it."""
    text = (ROOT / "book/08_summary/exercises.md").read_text()
    solution = text[text.index("**3. Choosing between"):text.index("**4. Open experiment")]
    tables = claims.Tables(ROOT / "book")
    for row, column in (("CVAE", "precision"), ("CVAE", "recall"), ("VAE-GAN", "recall"), ("DCGAN", "recall"),
                        ("VAE", "recall"), ("VAE-GAN", "precision")):
        quoted = f"{tables.mean(claims.DIGITS, row, column):.2f}".removeprefix("0")
        assert quoted in solution, (row, column, quoted)
    assert claims.CLAIMS["vae-gan-recall"].decide(tables).verdict == claims.SUPPORTED
