"""The benchmark harness and the ring/grid benchmark."""

import dataclasses
import functools
import json
import math

import pytest
import torch

import genlab
from genlab import bench
from genlab.bench import Benchmark, Column, Published
from genlab.bench.__main__ import main
from genlab.bench.common import mean_and_error


def test_mean_and_error_known_answers():
    assert mean_and_error([1.0, 2.0, 3.0, 4.0], "sd") == pytest.approx((2.5, math.sqrt(5 / 3)))
    assert mean_and_error([1.0, 2.0, 3.0, 4.0], "se") == pytest.approx((2.5, math.sqrt(5 / 3) / 2))
    mean, err = mean_and_error([7.0])
    assert mean == 7.0 and math.isnan(err)
    with pytest.raises(ValueError, match="no values"):
        mean_and_error([])


def toy_benchmark(error="se"):
    # Known per-seed values, so the summary can be checked by hand.
    return Benchmark(
        name="toy",
        title="A toy benchmark",
        columns=[Column("a", "A", "{:.1f}"), Column("b", "B %", "{:.0f}", scale=100)],
        models={"m1": lambda seed, device: {"a": seed, "b": 0.5}, "m2": lambda seed, device: {"a": 10 + seed, "b": math.nan}},
        default_models=["m1"],
        references={"truth": lambda seed, device: {"a": 0.0, "b": 1.0}},
        published=[Published("paper model", "Someone 2020", {"a": (3.0, 0.5)}, note="other networks")],
        error=error,
        notes=["a protocol note"],
    )


def test_run_summarises_every_row_over_the_seeds(tmp_path):
    summary = bench.run(toy_benchmark(), seeds=[0, 1, 2], models=["m1", "m2"], out=tmp_path, log=None)
    assert [r["row"] for r in summary["rows"]] == ["truth", "m1", "m2"]
    assert [r["kind"] for r in summary["rows"]] == ["reference", "model", "model"]
    m1 = summary["rows"][1]
    assert m1["n"] == 3 and m1["a"]["mean"] == pytest.approx(1.0)
    assert m1["a"]["error"] == pytest.approx(1 / math.sqrt(3))  # sd 1 over sqrt(3) seeds
    assert len(summary["runs"]) == 9
    assert [(r["row"], r["seed"]) for r in summary["runs"][:3]] == [("truth", 0), ("m1", 0), ("m2", 0)]  # seed by seed
    # Files: one CSV line per run, JSON round trip through `load`.
    lines = (tmp_path / "toy.csv").read_text().strip().splitlines()
    assert lines[0] == "row,kind,seed,seconds,cpu_seconds,updates,a,b" and len(lines) == 10
    assert bench.load(tmp_path / "toy.json")["rows"][2]["a"]["mean"] == pytest.approx(11.0)
    table = bench.format_table(summary)
    for text in ["truth (reference)", "1.0 ± 0.6", "50 ± 0", "paper model [Someone 2020]", "3.0 ± 0.5", "note: a protocol note", "note: paper model: other networks"]:
        assert text in table
    assert "–" in table  # nan shown as a dash, not "nan"


def test_resume_keeps_saved_runs_and_only_computes_the_rest(tmp_path):
    toy = toy_benchmark()
    bench.run(toy, seeds=[0, 1], out=tmp_path, log=None)
    calls = []

    def counting(seed, device):
        calls.append(seed)
        return {"a": 100.0, "b": 0.0}

    again = dataclasses.replace(toy, models={"m1": counting, "m2": toy.models["m2"]})
    summary = bench.run(again, seeds=[0, 1, 2], out=tmp_path, resume=True, log=None)
    assert calls == [2]  # seeds 0 and 1 of m1 were read back, not recomputed
    m1 = next(r for r in summary["rows"] if r["row"] == "m1")
    assert m1["a"]["mean"] == pytest.approx((0 + 1 + 100) / 3)
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind
    with pytest.raises(ValueError, match="resume needs an output folder"):
        bench.run(toy, seeds=[0], resume=True, log=None)


def test_resume_with_fewer_rows_or_other_seeds_keeps_every_saved_run(tmp_path):
    toy = toy_benchmark()
    bench.run(toy, seeds=[0, 1], models=["m1", "m2"], out=tmp_path, log=None)
    # one model, one new seed, no references: the truth and m2 rows must survive untouched
    summary = bench.run(toy, seeds=[2], models=["m1"], references=False, out=tmp_path, resume=True, log=None)
    assert [(r["row"], r["kind"], r["n"]) for r in summary["rows"]] == [("truth", "reference", 2), ("m1", "model", 3), ("m2", "model", 2)]
    assert [(r["row"], r["seed"]) for r in summary["runs"][:3]] == [("truth", 0), ("m1", 0), ("m2", 0)]
    assert summary["seeds"] == [0, 1, 2] and len(summary["runs"]) == 7
    assert [(r["row"], r["n"]) for r in bench.load(tmp_path / "toy.json")["rows"]] == [("truth", 2), ("m1", 3), ("m2", 2)]
    # a row the benchmark no longer has is dropped, and said so
    renamed = dataclasses.replace(toy, models={"m1": toy.models["m1"]}, default_models=["m1"])
    messages = []
    summary = bench.run(renamed, seeds=[0], models=["m1"], out=tmp_path, resume=True, log=messages.append)
    assert [r["row"] for r in summary["rows"]] == ["truth", "m1"]
    assert any("'m2'" in m and "no longer has" in m for m in messages)


def test_standard_deviation_when_asked():
    summary = bench.run(toy_benchmark("sd"), seeds=[0, 1, 2], references=False, log=None)
    assert [r["row"] for r in summary["rows"]] == ["m1"]
    assert summary["rows"][0]["a"]["error"] == pytest.approx(1.0)


def test_harness_errors_name_the_problem(tmp_path):
    toy = toy_benchmark()
    with pytest.raises(ValueError, match="unknown model"):
        bench.run(toy, seeds=[0], models=["nope"], log=None)
    with pytest.raises(ValueError, match="at least one seed"):
        bench.run(toy, seeds=[], log=None)
    broken = dataclasses.replace(toy, models={"m1": lambda seed, device: {"a": 1.0}})
    with pytest.raises(ValueError, match=r"row 'm1' returned no value for \['b'\]"):
        bench.run(broken, seeds=[0], references=False, log=None)
    with pytest.raises(ValueError, match="default models"):
        dataclasses.replace(toy, default_models=["m3"])
    with pytest.raises(ValueError, match="error must be"):
        dataclasses.replace(toy, error="iqr")
    with pytest.raises(ValueError, match="unknown benchmark"):
        bench.get("cifar")
    with pytest.raises(FileNotFoundError, match="python -m genlab.bench"):
        bench.load(tmp_path / "missing.json")


def test_command_line_lists_models_and_refuses_bad_arguments(capsys):
    main(["ring", "--list"])
    listed = capsys.readouterr().out.split("\n")
    assert "GAN (default)" in listed and "PacGAN4 (default)" in listed and "GAN + DRS (default)" in listed
    with pytest.raises(SystemExit):
        main(["ring", "--seeds", "0"])
    with pytest.raises(SystemExit):
        main(["ring", "--models", "NoSuchGAN", "--no-save"])


@pytest.fixture
def toy_cli(monkeypatch, tmp_path):
    """The command line with a benchmark "toy" (instant runners), run from an empty folder; yields that folder."""
    from genlab.bench import __main__ as cli

    monkeypatch.setitem(bench.REGISTRY, "toy", ("not imported", "not imported"))
    monkeypatch.setattr(cli, "get", lambda name: toy_benchmark())
    monkeypatch.chdir(tmp_path)
    yield tmp_path


def test_command_line_saves_each_run_in_a_new_folder_by_default(toy_cli, monkeypatch, capsys):
    from genlab.bench import __main__ as cli

    committed = toy_cli / "book" / "05_analysis" / "results" / "toy.json"
    committed.parent.mkdir(parents=True)
    committed.write_text("the committed table")
    monkeypatch.setattr(cli.time, "strftime", lambda fmt: "20240101-120000")  # both runs in the same second
    main(["toy", "--seeds", "2"])
    main(["toy", "--seeds", "1"])
    first, second = toy_cli / "bench-runs" / "toy-20240101-120000", toy_cli / "bench-runs" / "toy-20240101-120000-2"
    assert sorted((toy_cli / "bench-runs").iterdir()) == [first, second]
    assert len(bench.load(first / "toy.json")["runs"]) == 4 and len(bench.load(second / "toy.json")["runs"]) == 2
    assert (first / "toy.csv").exists() and "results go to bench-runs/toy-20240101-120000-2/toy.csv" in capsys.readouterr().out
    assert committed.read_text() == "the committed table"
    assert sorted(p.name for p in toy_cli.iterdir()) == ["bench-runs", "book"]  # nothing written beside them
    # A run refused before it started leaves no empty folder behind.
    with pytest.raises(SystemExit):
        main(["toy", "--models", "nope"])
    assert sorted((toy_cli / "bench-runs").iterdir()) == [first, second]


def test_command_line_refuses_to_replace_saved_results_unless_told_how(toy_cli, capsys):
    out = toy_cli / "results"
    main(["toy", "--seeds", "2", "--out", str(out)])
    saved = (out / "toy.json").read_text()
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["toy", "--seeds", "1", "--out", str(out)])
    message = capsys.readouterr().err
    assert f"{out / 'toy.json'} already exists" in message and "--resume" in message and "--overwrite" in message
    assert (out / "toy.json").read_text() == saved
    for conflicting in (["--resume", "--overwrite"], ["--resume"]):  # both at once; resume with nothing named
        with pytest.raises(SystemExit):
            main(["toy", "--seeds", "1", *conflicting] + (["--out", str(out)] if len(conflicting) == 2 else []))
    assert (out / "toy.json").read_text() == saved and not (toy_cli / "bench-runs").exists()


def test_command_line_overwrite_replaces_and_resume_extends(toy_cli):
    out = toy_cli / "results"
    main(["toy", "--seeds", "2", "--out", str(out)])
    main(["toy", "--seeds", "1", "--out", str(out), "--overwrite"])
    replaced = bench.load(out / "toy.json")["runs"]
    assert sorted((r["row"], r["seed"]) for r in replaced) == [("m1", 0), ("truth", 0)]
    main(["toy", "--seeds", "3", "--out", str(out), "--resume"])
    extended = bench.load(out / "toy.json")["runs"]
    assert sorted((r["row"], r["seed"]) for r in extended) == sorted((row, s) for row in ("m1", "truth") for s in range(3))
    # Seed 0 was read back, not run again: its timing is the saved one.
    assert [r for r in extended if r["seed"] == 0] == [r for r in replaced if r["seed"] == 0]


def test_command_line_merges_jobs_run_side_by_side(toy_cli):
    main(["toy", "--seeds", "2", "--out", str(toy_cli / "a")])
    main(["toy", "--seeds", "2", "--first-seed", "1", "--models", "m1", "m2", "--no-references", "--out", str(toy_cli / "b")])
    out = toy_cli / "results"
    main(["toy", "--merge", str(toy_cli / "a" / "toy.json"), str(toy_cli / "b" / "toy.json"), "--out", str(out)])
    merged = bench.load(out / "toy.json")
    assert [(r["row"], r["n"]) for r in merged["rows"]] == [("truth", 2), ("m1", 3), ("m2", 2)]
    assert merged["seeds"] == [0, 1, 2] and [(r["row"], r["seed"]) for r in merged["runs"][:3]] == [("truth", 0), ("m1", 0), ("truth", 1)]
    a_seed1 = next(r for r in bench.load(toy_cli / "a" / "toy.json")["runs"] if (r["row"], r["seed"]) == ("m1", 1))
    assert next(r for r in merged["runs"] if (r["row"], r["seed"]) == ("m1", 1)) == a_seed1  # the first file wins
    saved = (out / "toy.json").read_text()
    with pytest.raises(SystemExit):  # never replaces a saved table unless told how
        main(["toy", "--merge", str(toy_cli / "a" / "toy.json"), "--out", str(out)])
    assert (out / "toy.json").read_text() == saved
    with pytest.raises(SystemExit):
        main(["toy", "--merge", str(toy_cli / "a" / "toy.json")])  # no --out


def test_resume_and_merge_write_every_column_for_every_run(toy_cli, monkeypatch, capsys):
    """Runs kept from a file older than a column get the column as null (not measured), so every
    run of the file written has the same keys; the summary's mean and n use the runs that have it."""
    from genlab.bench import __main__ as cli
    from genlab.bench.common import Column

    main(["toy", "--seeds", "2", "--models", "m1", "--out", str(toy_cli / "old")])
    old = toy_benchmark()
    newer = dataclasses.replace(old, columns=[*old.columns, Column("c", "C", "{:.1f}")],
                                models={"m1": lambda seed, device: {"a": seed, "b": 0.5, "c": 7.0}},
                                references={"truth": lambda seed, device: {"a": 0.0, "b": 1.0, "c": math.nan}})
    monkeypatch.setattr(cli, "get", lambda name: newer)
    for argv in (["--seeds", "3", "--models", "m1", "--out", str(toy_cli / "old"), "--resume"],
                 ["--merge", str(toy_cli / "old" / "toy.json"), "--out", str(toy_cli / "merged")]):
        capsys.readouterr()
        main(["toy", *argv])
        folder = toy_cli / ("merged" if "--merge" in argv else "old")
        summary = bench.load(folder / "toy.json")
        assert len({frozenset(r) for r in summary["runs"]}) == 1 and "c" in summary["runs"][0]
        assert [(r["row"], r["seed"], r["c"]) for r in summary["runs"] if r["seed"] < 2] == [
            ("truth", 0, None), ("m1", 0, None), ("truth", 1, None), ("m1", 1, None)]
        rows = {r["row"]: r for r in summary["rows"]}
        assert rows["m1"]["n"] == 3 and rows["m1"]["c"] == {"mean": 7.0, "error": pytest.approx(math.nan, nan_ok=True), "n": 1}
        assert rows["m1"]["a"]["n"] == 3 and rows["truth"]["c"]["n"] == 1 and math.isnan(rows["truth"]["c"]["mean"])
        assert "7.0 (n = 1)" in capsys.readouterr().out  # the table says how many runs the mean is over
        lines = (folder / "toy.csv").read_text().splitlines()
        assert lines[0].endswith(",a,b,c") and sum(line.endswith(",") for line in lines) == 4  # null: an empty cell


def test_summaries_leave_null_out_and_keep_nan():
    from genlab.bench.common import complete_runs, measured

    assert measured([1.0, None, 3.0]) == [1.0, 3.0]
    assert math.isnan(bench.common.mean_and_error(measured([1.0, math.nan]))[0])  # asked for, and none: "–"
    runs = complete_runs([{"row": "x", "seed": 0, "a": 1.0}, {"row": "x", "seed": 1, "b": 2.0}], ["a", "c"])
    assert runs == [{"row": "x", "seed": 0, "a": 1.0, "b": None, "c": None},
                    {"row": "x", "seed": 1, "b": 2.0, "a": None, "c": None}]


@pytest.fixture
def quick_recipes(monkeypatch):
    from genlab.bench import toy2d

    quick = {k: dataclasses.replace(r, steps=20, batch_size=48) for k, r in toy2d.RECIPES.items()}
    monkeypatch.setattr(toy2d, "RECIPES", quick)
    toy2d.train.cache_clear()
    yield toy2d
    toy2d.train.cache_clear()


@pytest.mark.statistical
def test_true_data_rows_are_at_the_theoretical_limit(quick_recipes, seed):
    for benchmark, n_modes in ((quick_recipes.RING, 8), (quick_recipes.GRID, 25)):
        values = benchmark.references["true data"](seed, torch.device("cpu"))
        # seeds 0–9, 1 thread, both mixtures: all modes; high quality −0.0033 to +0.0047 from 1 − e^−4.5;
        # spread −0.014 to +0.010 from 1; reverse KL 0.0006–0.0093
        assert values["modes"] == n_modes
        assert abs(values["high_quality"] - (1 - math.exp(-4.5))) < 0.01
        assert abs(values["spread"] - 1) < 0.05
        assert values["reverse_kl"] < 0.02
    # Exact NLL of the ring: -log of the mixture density, known in closed form for one mode.
    ring_nll = quick_recipes.RING.references["true data"](seed, torch.device("cpu"))["nll"]
    # seeds 0–9, 1 thread: −0.009 to +0.033 from the exact value (standard error about 0.02 at 2,500 points)
    assert ring_nll == pytest.approx(math.log(8) + math.log(2 * math.pi * 0.01**2) + 1, abs=0.08)


def test_every_ring_row_runs_end_to_end(quick_recipes, tmp_path, monkeypatch):
    monkeypatch.setattr(quick_recipes, "N_SAMPLES", 500)  # the MMD² column costs O(n²): keep this test quick
    summary = bench.run(quick_recipes.RING, seeds=[0], out=tmp_path, log=None)
    rows = {r["row"]: r for r in summary["rows"]}
    assert set(rows) == {"true data", "GAN", "PacGAN2", "PacGAN4", "WGAN-GP", "VAE", "GAN + DRS"}
    for name, row in rows.items():
        assert 0 <= row["modes"]["mean"] <= 8 and 0 <= row["high_quality"]["mean"] <= 1
    assert math.isfinite(rows["VAE"]["nll"]["mean"]) and math.isnan(rows["GAN"]["nll"]["mean"])
    assert rows["true data"]["all_modes"]["mean"] == 1 and rows["true data"]["mmd"]["mean"] < 0.01 < rows["GAN"]["mmd"]["mean"]
    saved = json.loads((tmp_path / "ring.json").read_text())
    assert saved["published"][0]["source"] == "Lin et al. 2018, Table 1"


def test_chapter_seven_ring_rows_run_end_to_end(quick_recipes, tmp_path, monkeypatch):
    monkeypatch.setattr(quick_recipes, "N_SAMPLES", 500)
    rows = ["VAE-GAN", "AAE", "BiGAN", "ALI", "MDN-RNN"]
    assert not set(rows) & set(quick_recipes.RING.default_models)  # run only when asked for
    summary = bench.run(quick_recipes.RING, seeds=[0], models=rows, references=False, out=tmp_path, log=None)
    result = {r["row"]: r for r in summary["rows"]}
    assert set(result) == set(rows)
    for row in result.values():
        assert 0 <= row["modes"]["mean"] <= 8 and 0 <= row["high_quality"]["mean"] <= 1
    # the autoregressive model has an exact likelihood; the adversarial hybrids none
    assert math.isfinite(result["MDN-RNN"]["nll"]["mean"]) and math.isnan(result["ALI"]["nll"]["mean"])


def test_sines_gan_rows_run_end_to_end():
    from genlab.bench import sines

    assert set(sines.GAN_RECIPES) <= set(sines.BENCHMARK.models) and sines.BENCHMARK.default_models == ["SequenceRNN"]
    for name in sines.GAN_RECIPES:
        values = sines.BENCHMARK.models[name](0, "cpu", n=64, steps=3, discriminative_iterations=2,
                                              predictive_iterations=2)
        assert 0 <= values["discriminative"] <= 0.5 and values["predictive"] > 0


def test_digit_rows_benchmark_scores_rcgan_against_train_on_real(monkeypatch):
    from genlab.bench import digit_rows

    x_train, y_train, x_held, y_held = digit_rows.digit_rows()
    assert x_train.shape == (898, 8, 8) and x_held.shape == (899, 8, 8)
    assert 0 <= x_train.min() and x_train.max() <= 1 and len(y_train) == 898
    monkeypatch.setattr(digit_rows, "CLASSIFIER_ITERATIONS", 300)
    real = digit_rows.BENCHMARK.references["real (TRTR)"](0, "cpu")
    assert real["tstr"] > 0.6  # the rows carry the class
    # a "generator" that returns held-out digits of the wrong class: TSTR and agreement collapse
    wrong = digit_rows.score(x_held, (y_held + 1) % 10, seed=0)
    assert wrong["tstr"] < 0.2 and wrong["agree"] < 0.2
    # and the real held-out digits with their own labels agree as well as TRTR
    right = digit_rows.score(x_held, y_held, seed=0)
    assert right["agree"] == real["agree"]
    values = digit_rows.BENCHMARK.models["RCGAN"](0, "cpu", steps=3)
    assert 0 <= values["tstr"] <= 1 and 0 <= values["agree"] <= 1


def test_co2_benchmark_windows_come_from_two_periods_and_every_row_runs(monkeypatch):
    from genlab.bench import co2

    train, held_out, scaler = co2.co2_windows()
    assert train.shape == (1804, 24, 1) and held_out.shape == (434, 24, 1)
    assert train.min() == 0 and train.max() == 1  # scaled to the training windows' range
    # each window is centred on its own mean (in ppm): the level is left to the trend
    assert scaler.inverse_transform(train).mean(dim=1).abs().max() < 1e-4
    # the held-out windows continue the series: the first starts where the training part ends
    _, values = genlab.data.co2()
    assert torch.allclose(scaler.inverse_transform(held_out[0]).squeeze(-1).double(),
                          values[1827:1851] - values[1827:1851].mean(), atol=1e-4)
    monkeypatch.setattr(co2, "DISCRIMINATIVE_ITERATIONS", 3)
    monkeypatch.setattr(co2, "PREDICTIVE_ITERATIONS", 3)
    for runner in [*co2.BENCHMARK.references.values(),
                   *(functools.partial(run, steps=3) for run in co2.BENCHMARK.models.values())]:
        values = runner(0, "cpu")
        assert 0 <= values["discriminative"] <= 0.5 and 0 < values["predictive"] < 1


def test_names_benchmark_rows_run_end_to_end():
    from genlab.bench import names

    vocab, train, held_out, train_names = names.names_data()
    assert len(train) == len(train_names) == 4647 and len(held_out) == 516
    assert not set(vocab.decode(row) for row in held_out) & train_names, "held-out names are not training names"
    unigram = names.BENCHMARK.references["unigram (add-one)"](0)
    assert 3.5 < unigram["bpc"] < 5  # 26 letters and the end token: at most log2(27) = 4.75 bits
    for name in ("CharRNN", "SequenceVAE, annealing + word dropout"):
        values = names.BENCHMARK.models[name](0, "cpu", steps=3)
        assert set(values) == {c.key for c in names.BENCHMARK.columns}
        assert unigram["bpc"] - 0.5 < values["bpc"] < 6 and 0 <= values["novel"] <= 1
    assert values["kl"] >= 0 and 0 <= values["active"] <= names.LATENT and 0 <= values["kl_share"] <= 1


def test_sines_likelihood_rows_report_a_held_out_nll(monkeypatch):
    from genlab.bench import sines

    monkeypatch.setattr(sines, "N_HELD_OUT", 32)
    monkeypatch.setattr(sines, "IMPORTANCE_SAMPLES", 3)
    sizes = dict(n=64, discriminative_iterations=2, predictive_iterations=2)
    vrnn = sines.BENCHMARK.models["VRNN"](0, "cpu", steps=3, **sizes)
    rnn = sines.BENCHMARK.models["SequenceRNN"](0, "cpu", steps=3, **sizes)
    gan = sines.BENCHMARK.models["RCGAN"](0, "cpu", steps=3, **sizes)
    assert math.isfinite(vrnn["nll"]) and math.isfinite(rnn["nll"]) and math.isnan(gan["nll"])
    assert vrnn["nll"] != rnn["nll"] and sines.held_out(0).shape == (32, sines.LENGTH, sines.FEATURES)
    assert not torch.equal(sines.held_out(0), sines.sines(32, sines.LENGTH, sines.FEATURES, seed=0))


# --------------------------------------------------------------------------
# the command line as a newcomer meets it, and every bad input refused before training


@pytest.fixture
def counting_cli(toy_cli, monkeypatch):
    """toy_cli whose runners count their calls: yields (folder, calls)."""
    from genlab.bench import __main__ as cli

    calls = []

    def runner(value):
        def run(seed, device):
            calls.append(seed)
            return {"a": value + seed, "b": 0.5}
        return run

    toy = dataclasses.replace(toy_benchmark(), models={"m1": runner(0), "m2": runner(10)},
                              references={"truth": runner(-1)})
    monkeypatch.setattr(cli, "get", lambda name: toy)
    yield toy_cli, calls


def refused(capsys, argv) -> str:
    """The one line of error that `main(argv)` ends with (after the usage line argparse prints)."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit:
        main(argv)
    assert exit.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err and err[-1].startswith("python -m genlab.bench: error: "), err
    return err[-1]


def test_command_line_refuses_bad_result_files_naming_them(counting_cli, capsys):
    folder, calls = counting_cli
    good = folder / "good"
    main(["toy", "--seeds", "1", "--out", str(good)])
    calls.clear()
    saved = json.loads((good / "toy.json").read_text())
    cases = {
        "no-runs": {k: v for k, v in saved.items() if k != "runs"},
        "string-seed": {**saved, "runs": [{**saved["runs"][0], "seed": "0"}]},
        "a-list": [saved],
        "other": {**saved, "name": "ring"},
    }
    for name, content in cases.items():
        (folder / name).mkdir()
        (folder / name / "toy.json").write_text(json.dumps(content))
    (folder / "corrupt").mkdir()
    (folder / "corrupt" / "toy.json").write_text('{"name": "toy", "runs": [')
    (folder / "notes.txt").write_text("not a table")
    expected = {"no-runs": "has no 'runs'", "string-seed": "has the seed '0'", "a-list": "holds a JSON list",
                "other": "holds results of benchmark 'ring'", "corrupt": "not valid JSON"}
    for name, words in expected.items():
        path = folder / name / "toy.json"
        # resuming from the file, and merging it
        for argv in (["toy", "--seeds", "2", "--out", str(folder / name), "--resume"],
                     ["toy", "--merge", str(path), "--out", str(folder / f"merged-{name}")]):
            line = refused(capsys, argv)
            assert str(path) in line and words in line, (name, argv, line)
    assert str(folder / "notes.txt") in refused(capsys, ["toy", "--merge", str(folder / "notes.txt"), "--out", "m"])
    line = refused(capsys, ["toy", "--merge", str(good), "--out", "m"])  # a folder, not its NAME.json
    assert f"{good} is a folder" in line
    assert calls == [], "a refused command trained something"


@pytest.mark.parametrize("argv, words", [
    (["--threads", "-1"], "argument --threads: must be at least 1, got -1"),
    (["--threads", "0"], "argument --threads: must be at least 1, got 0"),
    (["--threads", "two"], "argument --threads: 'two' is not a whole number"),
    (["--device", "nosuch"], "argument --device: 'nosuch' is not a device torch knows"),
    (["--first-seed", "-3"], "argument --first-seed: must be at least 0, got -3"),
    (["--models", "m1", "m1"], "--models names m1 more than once"),
    (["--models", "m1", "m2", "m1", "m2"], "--models names m1, m2 more than once"),
])
def test_command_line_refuses_bad_arguments_before_training(counting_cli, capsys, argv, words):
    folder, calls = counting_cli
    line = refused(capsys, ["toy", "--seeds", "1", "--out", str(folder / "r"), *argv])
    assert words in line
    assert calls == [] and not (folder / "r").exists()


def test_command_line_refuses_a_device_this_machine_lacks(counting_cli, capsys, monkeypatch):
    folder, calls = counting_cli
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert "argument --device: 'cuda': torch finds no CUDA GPU" in refused(capsys, ["toy", "--device", "cuda", "--no-save"])
    assert "argument --device: 'cuda:1'" in refused(capsys, ["toy", "--device", "cuda:1", "--no-save"])
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert "argument --device: 'mps': torch finds no MPS device" in refused(capsys, ["toy", "--device", "mps", "--no-save"])
    assert calls == []


def test_command_line_refuses_an_out_that_is_a_file(counting_cli, capsys):
    folder, calls = counting_cli
    (folder / "a-file").write_text("x")
    line = refused(capsys, ["toy", "--seeds", "1", "--out", str(folder / "a-file")])
    assert f"--out {folder / 'a-file'} is a file" in line
    line = refused(capsys, ["toy", "--seeds", "1", "--out", str(folder / "a-file" / "below")])
    assert f"{folder / 'a-file'} is a file" in line
    line = refused(capsys, ["toy", "--merge", str(folder / "x.json"), "--out", str(folder / "a-file")])
    assert "is a file" in line
    assert calls == [] and (folder / "a-file").read_text() == "x"


def test_models_named_twice_are_refused_by_run_too():
    with pytest.raises(ValueError, match=r"\['m1'\] named more than once"):
        bench.run(toy_benchmark(), seeds=[0], models=["m1", "m1"], log=None)


def test_each_benchmark_has_its_own_help(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["ring", "--help"])
    assert exit.value.code == 0
    text = capsys.readouterr().out
    ring = bench.get("ring")
    assert ring.title in text and "rows of 'ring'" in text
    for row in ring.models:
        assert f"  {row}{' *' if row in ring.default_models else ''}\n" in text, row
    for row in ring.references:
        assert f"  {row}\n" in text
    assert "--seeds N" in text and "--first-seed FIRST" in text
    with pytest.raises(SystemExit):
        main(["--help"])
    general = " ".join(capsys.readouterr().out.split())
    assert "rows of '" not in general and "NAME --help lists its rows" in general
    # the seed options say what they do, --first-seed included
    assert "FIRST .. FIRST+N-1" in general and "the first seed (default 0)" in general


def test_shared_preparation_is_done_once_and_charged_to_no_row(tmp_path):
    import time

    prepared = []

    def prepare(device):
        prepared.append(device)
        time.sleep(0.3)

    toy = dataclasses.replace(toy_benchmark(), prepare=prepare)
    lines = []
    summary = bench.run(toy, seeds=[0, 1], out=tmp_path, log=lines.append)
    assert prepared == [torch.device("cpu")]
    assert all(r["seconds"] < 0.2 for r in summary["runs"]), summary["runs"]
    assert any("not counted in any row" in line for line in lines)
    bench.run(toy, seeds=[0, 1], out=tmp_path, log=None, resume=True)  # nothing left to run: nothing to prepare
    assert len(prepared) == 1
    from genlab.bench import digits, fashion, stacked
    assert all(b.BENCHMARK.prepare is not None for b in (digits, fashion, stacked))


def test_progress_bar_names_the_row_and_seed_and_is_quiet_off_a_terminal(tmp_path, capsys, monkeypatch):
    bench.run(toy_benchmark(), seeds=[0, 1], models=["m1", "m2"], log=None, progress=True)
    err = capsys.readouterr().err
    assert "toy: m2, seed 1" in err and "6/6" in err
    monkeypatch.delenv("CI", raising=False)
    bench.run(toy_benchmark(), seeds=[0], log=None)  # stderr is not a terminal here
    assert capsys.readouterr().err == ""


def test_one_seed_table_claims_no_error_and_csv_keeps_the_table_order(tmp_path):
    summary = bench.run(toy_benchmark(), seeds=[4], models=["m2", "m1"], out=tmp_path, log=None)
    table = bench.format_table(summary)
    assert "one run per row, seed 4" in table and "standard error" not in table
    assert "mean ± standard error of the mean over seeds [3, 4]" in bench.format_table(
        bench.run(toy_benchmark(), seeds=[3, 4], log=None))
    rows = [line.split(",")[0] for line in (tmp_path / "toy.csv").read_text().splitlines()[1:]]
    assert rows == ["truth", "m1", "m2"] == [r["row"] for r in summary["rows"]]


def test_readme_reproduces_tables_on_one_thread():
    """The committed tables were made with --threads 1; every command that computes a row says so."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    commands = [line for line in readme.splitlines() if "-m genlab.bench " in line]
    computing = [c for c in commands if "--merge" not in c and "--list" not in c and "--help" not in c]
    assert computing, "no benchmark command in the README"
    assert all("--threads 1" in c for c in computing), [c for c in computing if "--threads 1" not in c]


def test_digit_bigan_rows_score_their_encoders_against_the_pixel_floor(monkeypatch):
    from genlab.bench import digits

    monkeypatch.setattr(digits, "RECIPES", {k: dataclasses.replace(r, steps=10) for k, r in digits.RECIPES.items()})
    floor = digits.BENCHMARK.references["real vs real"](0, torch.device("cpu"))
    # 1-NN on raw pixels and the classifier on x itself: the ceilings an encoder is read against
    assert 0.95 < floor["code_1nn"] <= 1 and 0.95 < floor["class_kept"] <= 1
    for row in ("BiGAN", "ALI"):
        values = digits._row(row)(0, torch.device("cpu"))
        assert 0 <= values["code_1nn"] <= 1 and 0 <= values["class_kept"] <= 1 and values["updates"] == 10
    vae = digits._row("VAE")(0, torch.device("cpu"))
    assert math.isnan(vae["code_1nn"]) and math.isnan(vae["class_kept"])  # only models with an encoder of G


def test_inversion_scores_of_a_perfect_inverse_are_at_the_floor():
    from genlab.bench import digits

    # E = the pixels flattened, G = the pixels reshaped: G(E(x)) = x and the codes are the pixels
    x_train, y_train, x_held, y_held = digits._data()
    model = genlab.BiGAN.conv((1, 8, 8), latent_dim=64, channels=(8, 8))
    model.encoder = torch.nn.Flatten()
    model.generator = torch.nn.Unflatten(1, (1, 8, 8))
    scores = digits.inversion_scores(model, x_train, y_train, x_held, y_held)
    floor = digits.BENCHMARK.references["real vs real"](0, torch.device("cpu"))
    assert scores == pytest.approx({"code_1nn": floor["code_1nn"], "class_kept": floor["class_kept"]})


def test_a_goal_column_gets_median_quartiles_and_the_share_at_the_floor():
    """Seeds that split into two groups: the mean describes neither, the median and the share at the goal do."""
    columns = [bench.Column("score", "score ↓", "{:.3f}", goal=0.02)]
    values = {"truth": [0.01, 0.0, 0.02], "split": [0.02, 0.03, 0.25, 0.28, 0.29]}

    def runner(row):
        return lambda seed, device: {"score": values[row][seed]}

    toy = bench.Benchmark(name="toy-goal", title="t", columns=columns, models={"split": runner("split")},
                          default_models=["split"], references={"truth": runner("truth")})
    runs = [{"row": row, "kind": "reference" if row == "truth" else "model", "seed": seed, "seconds": 1.0,
             "score": value} for row, vs in values.items() for seed, value in enumerate(vs)]
    summary = bench.common.summarise(toy, runs, [0, 1, 2, 3, 4], torch.device("cpu"),
                                     bench.common._rows_in_order(toy, set(values)))
    split = next(r for r in summary["rows"] if r["row"] == "split")["score"]
    assert split["bound"] == pytest.approx(0.03)  # the truth's mean, 0.01, plus the goal
    assert split["share"] == pytest.approx(0.4) and split["median"] == pytest.approx(0.25)
    assert (split["q1"], split["q3"]) == (pytest.approx(0.03), pytest.approx(0.28))
    text = bench.format_table(summary)
    assert "median [q1, q3]" in text and "≤ floor + 0.02, %" in text and "0.250 [0.030, 0.280]" in text


def test_digit_row_samples_are_the_samples_the_row_is_scored_on(monkeypatch):
    from genlab.bench import digits

    monkeypatch.setattr(digits, "RECIPES", {k: dataclasses.replace(r, steps=10) for k, r in digits.RECIPES.items()})
    _, _, x_held, y_held = digits._data()
    for row in ("VAE-GAN, γ = 10", "VAE"):
        samples = digits.row_samples(row, 3, n=len(x_held))
        scores = digits._score(samples, x_held, None)
        row_scores = digits._row(row)(3, torch.device("cpu"))
        assert scores["frechet"] == row_scores["frechet"] and scores["recall"] == row_scores["recall"]
        assert torch.equal(digits.row_samples(row, 3, n=5), samples[:5])
    with pytest.raises(ValueError, match="unknown row 'VAE-GAN, γ = 3'"):
        digits.row_samples("VAE-GAN, γ = 3", 0)
    with pytest.raises(ValueError, match="n must be between 1 and"):
        digits.row_samples("VAE", 0, n=0)
