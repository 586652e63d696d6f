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
        assert claims.render(claim, tables, evidence=False) in claim.wording.values()


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
    with pytest.raises(FileNotFoundError, match="make tables"):
        claims.Tables(ROOT / "nowhere").values("x.json", "a", "b")
    with pytest.raises(ValueError, match="no wording"):
        claims.Claim("k", (), lambda t: None, {claims.SUPPORTED: "s"}, expected=claims.SUPPORTED)
