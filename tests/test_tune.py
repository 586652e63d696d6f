"""Tuning every row alike (genlab.bench.search, genlab.bench.tune): the protocol, resumption, workers, tuned rows."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
import torch

pytest.importorskip("optuna")

import tiny_tuning  # noqa: E402  (tests/ is on the path)

from genlab import bench  # noqa: E402
from genlab.bench import search, tune  # noqa: E402
from genlab.bench.__main__ import main  # noqa: E402

REF = ("tiny_tuning", "BENCHMARK")
QUIET = dict(ref=REF, log=lambda message: None)


def test_search_spaces_are_data_and_decode_back_to_settings():
    space = {"lr": search.LogUniform(1e-4, 1e-2), "betas": search.Choice((0.5, 0.999), (0.0, 0.9)),
             "flag": search.Choice(False, True)}
    assert search.decode(space, {"lr": 3e-3, "betas": "(0.0, 0.9)", "flag": "True"}) == \
        {"lr": 3e-3, "betas": (0.0, 0.9), "flag": True}
    with pytest.raises(ValueError, match="not one of the options"):
        search.decode(space, {"betas": "(0.1, 0.2)"})
    with pytest.raises(ValueError, match="not in the search space"):
        search.decode(space, {"momentum": 0.9})
    with pytest.raises(ValueError, match="0 < low < high"):
        search.LogUniform(0.0, 1.0)
    with pytest.raises(ValueError, match="must differ"):
        search.Choice(1, 1)
    assert search.space_as_dict(space)["betas"] == {"kind": "choice", "options": ["(0.5, 0.999)", "(0.0, 0.9)"]}


def test_with_params_changes_the_recipe_and_the_factory_and_nothing_else():
    recipe = tiny_tuning.RECIPES["A"]
    tuned = search.with_params(recipe, {"lr": 0.05, "steps": 7})
    assert tuned.steps == 7 and tuned.batch_size == recipe.batch_size
    assert tuned.build() == {"lr": 0.05, "width": 8, "flavour": "plain"}
    assert recipe.build()["lr"] == 1e-3  # the default row is untouched


def test_the_first_trial_of_every_ring_row_is_its_default_recipe():
    from genlab.bench import toy2d

    for row, space in toy2d.SPACES.items():
        raw = search.defaults(toy2d.RECIPES[row], space)
        # every searched setting has a default inside the space, so trial 0 is exactly the default row
        assert set(raw) == set(space), (row, set(space) - set(raw))
        recipe = search.with_params(toy2d.RECIPES[row], search.decode(space, raw))
        assert recipe.steps == toy2d.RECIPES[row].steps
        assert recipe.build().state_dict().keys() == toy2d.RECIPES[row].build().state_dict().keys()
    assert search.defaults(toy2d.RECIPES["WGAN-GP"], toy2d.SPACES["WGAN-GP"])["gp_weight"] == "10.0"
    assert "0.1" in toy2d.SPACES["WGAN-GP"]["gp_weight"].labels  # the authors' toy λ is searched


def test_a_search_runs_its_trials_writes_its_export_and_finds_the_optimum(tmp_path):
    result = tune.tune(tiny_tuning.BENCHMARK, ["A", "B"], 8, tmp_path, **QUIET)
    for row in ("A", "B"):
        entry = result["rows"][row]
        assert entry["finished"] == 8
        trials = entry["trials"]
        assert trials[0]["default"] and trials[0]["params"] == search.defaults(tiny_tuning.RECIPES[row],
                                                                                tiny_tuning.SPACES[row])
        assert [t["seed"] for t in trials] == [search.TUNING_SEED + t["trial"] for t in trials]
        complete = [t for t in trials if t["state"] == "COMPLETE"]
        best = max(complete, key=lambda t: t["value"])
        assert entry["best"]["value"] == best["value"] and entry["best"]["trial"] == best["trial"]
        # the value is the known quality of the settings the export says were chosen
        chosen = search.with_params(tiny_tuning.RECIPES[row], entry["best"]["settings"]).build()
        assert entry["best"]["value"] == pytest.approx(tiny_tuning.quality(chosen))
        assert all(len(t["intermediate"]) == (4 if t["state"] == "COMPLETE" else len(t["intermediate"])) for t in trials)
        assert all(t["updates"] == 40 for t in complete)
    # better than the default: the search moved towards lr = 1e-2
    assert result["rows"]["A"]["best"]["value"] > result["rows"]["A"]["trials"][0]["value"]
    saved = json.loads((tmp_path / "tiny-tuning.json").read_text())
    assert saved == json.loads(json.dumps(result))
    lines = (tmp_path / "tiny-tuning.csv").read_text().strip().splitlines()
    assert lines[0].startswith("row,trial,state,value") and len(lines) == 1 + sum(
        len(e["trials"]) for e in result["rows"].values())
    assert saved["protocol"] == tune.PROTOCOL and saved["objective"] == "quality"


def test_the_median_pruner_stops_trials_below_the_median():
    # the tiny objective's reports are value - 3, - 2, - 1: bad settings fall below the median early
    curve_states = None
    import tempfile

    with tempfile.TemporaryDirectory() as out:
        result = tune.tune(tiny_tuning.BENCHMARK, ["A"], 10, out, **QUIET)
        curve_states = [t["state"] for t in result["rows"]["A"]["trials"]]
        pruned = [t for t in result["rows"]["A"]["trials"] if t["state"] == "PRUNED"]
    assert curve_states[: tune.PRUNER_STARTUP] == ["COMPLETE"] * tune.PRUNER_STARTUP  # never before 4 trials
    assert pruned and all(len(t["intermediate"]) in (2, 3) for t in pruned)  # from the 2nd report on


def test_an_interrupted_search_resumes_from_its_export_alone(tmp_path):
    first = tune.tune(tiny_tuning.BENCHMARK, ["A"], 5, tmp_path, **QUIET)["rows"]["A"]["trials"]
    (tmp_path / "tiny-tuning.db").unlink()  # the database is a cache; the committed export is the record
    again = tune.tune(tiny_tuning.BENCHMARK, ["A"], 8, tmp_path, **QUIET)["rows"]["A"]
    assert again["finished"] == 8
    keep = ("trial", "state", "value", "params", "seed", "intermediate")
    assert [{k: t[k] for k in keep} for t in again["trials"][:5]] == [{k: t[k] for k in keep} for t in first]
    # the resumed sampler draws new settings rather than repeating the first ones
    old = {json.dumps(t["params"], sort_keys=True) for t in first}
    assert not {json.dumps(t["params"], sort_keys=True) for t in again["trials"][5:]} & old
    # asking for what is already there runs nothing
    assert tune.tune(tiny_tuning.BENCHMARK, ["A"], 8, tmp_path, **QUIET)["rows"]["A"]["trials"] == again["trials"]


def test_a_changed_search_space_is_refused_on_resume(tmp_path, monkeypatch):
    tune.tune(tiny_tuning.BENCHMARK, ["A"], 2, tmp_path, **QUIET)
    (tmp_path / "tiny-tuning.db").unlink()
    monkeypatch.setitem(tiny_tuning.SPACES, "A", {"lr": search.LogUniform(1e-4, 1e-1)})
    with pytest.raises(ValueError, match="search space of 'A' differs"):
        tune.tune(tiny_tuning.BENCHMARK, ["A"], 3, tmp_path, **QUIET)


@pytest.mark.slow
def test_two_workers_share_one_study_and_stop_at_the_budget(tmp_path):
    result = tune.tune(tiny_tuning.BENCHMARK, ["B"], 6, tmp_path, workers=2, **QUIET)
    entry = result["rows"]["B"]
    assert entry["finished"] == 6 and len(entry["trials"]) == 6
    assert len({json.dumps(t["params"], sort_keys=True) for t in entry["trials"]}) == 6  # no setting drawn twice


def test_tuned_rows_train_the_chosen_settings_and_record_their_compute(tmp_path):
    export = tune.tune(tiny_tuning.BENCHMARK, ["A"], 6, tmp_path, **QUIET)
    best = tune.load_best(tmp_path / "tiny-tuning.json")
    assert set(best) == {"A"} and best["A"]["trials"] == 6
    benchmark = tiny_tuning.BENCHMARK.with_tuned(best)
    summary = bench.run(benchmark, seeds=[0, 1], models=["A", "A, tuned"], log=None)
    rows = {r["row"]: r for r in summary["rows"]}
    assert rows["A, tuned"]["quality"]["mean"] == pytest.approx(export["rows"]["A"]["best"]["value"] + 0.0005)
    assert rows["A"]["quality"]["mean"] == pytest.approx(tiny_tuning.quality(tiny_tuning.RECIPES["A"].build()) + 0.0005)
    assert summary["tuned"]["A"]["params"] == export["rows"]["A"]["best"]["params"]
    for run in summary["runs"]:
        assert run["updates"] == 40 and run["cpu_seconds"] >= 0 and run["threads"] == torch.get_num_threads()
    with pytest.raises(ValueError, match="no search space"):
        tiny_tuning.BENCHMARK.with_tuned({"C": {"params": {}}})
    with pytest.raises(ValueError, match="not one of the options"):
        tiny_tuning.BENCHMARK.with_tuned({"A": {"params": {"width": "5"}}})


def test_best_so_far_never_gets_worse():
    export = {"direction": "maximize", "rows": {"A": {"trials": [
        {"trial": 0, "state": "COMPLETE", "value": 1.0}, {"trial": 1, "state": "PRUNED", "value": None},
        {"trial": 2, "state": "COMPLETE", "value": 0.5}, {"trial": 3, "state": "FAIL", "value": None},
        {"trial": 4, "state": "COMPLETE", "value": 2.0}]}}}
    assert tune.best_so_far(export, "A") == [1.0, 1.0, 1.0, 2.0]


def test_ring_objective_puts_coverage_first():
    from genlab.bench import toy2d
    from genlab.data import ring

    truth = ring().sample(2_500, seed=3)
    assert 1.9 < toy2d.objective_value("ring", truth) <= 2
    one_mode = truth[(truth[:, 0] > 0.5) & (truth[:, 1].abs() < 0.3)]
    assert toy2d.objective_value("ring", one_mode) == pytest.approx(1 / 8)


def test_a_ring_trial_runs_reports_and_can_be_pruned(monkeypatch):
    import dataclasses

    from genlab.bench import toy2d

    monkeypatch.setattr(toy2d, "RECIPES", {k: dataclasses.replace(r, steps=40) for k, r in toy2d.RECIPES.items()})
    monkeypatch.setattr(toy2d, "N_SAMPLES", 300)
    reports = []
    raw = search.defaults(toy2d.RECIPES["ALI"], toy2d.SPACES["ALI"])
    value, info = toy2d.RING.tuning.objective("ALI", raw, 1000, torch.device("cpu"),
                                              lambda step, v: reports.append((step, v)) or False)
    assert [s for s, _ in reports] == [10, 20, 30, 40] and reports[-1][1] == value and info == {"updates": 40}
    with pytest.raises(search.Pruned):
        toy2d.RING.tuning.objective("ALI", raw, 1000, torch.device("cpu"), lambda step, v: True)


def test_command_line_refuses_bad_requests_before_searching(tmp_path, capsys):
    for argv, message in ((["tune", "ring", "--models", "Nope", "--out", str(tmp_path)], "no search space"),
                          (["tune", "ring", "--models", "GAN", "--trials", "0", "--out", str(tmp_path)], "--trials"),
                          (["tune", "ring", "--models", "GAN", "--workers", "0", "--out", str(tmp_path)], "--workers")):
        with pytest.raises(SystemExit):
            main(argv)
        assert message in capsys.readouterr().err
    afile = tmp_path / "file"
    afile.write_text("x")
    with pytest.raises(SystemExit):
        main(["tune", "ring", "--models", "GAN", "--out", str(afile)])
    assert "is a file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["ring", "--tuned", str(afile), "--list"])
    assert "--tuned" in capsys.readouterr().err and not list(tmp_path.glob("*.db"))


def test_import_genlab_needs_no_search_library():
    code = "import sys, genlab, genlab.bench, genlab.bench.toy2d, genlab.bench.search; print('optuna' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_a_digits_trial_never_sees_the_held_out_half(monkeypatch):
    import dataclasses

    from genlab.bench import digits

    x_fit, y_fit, x_val, y_val = digits.tuning_split()
    x_train, _, x_held, _ = digits._data()
    assert len(x_fit) + len(x_val) == len(x_train) and len(x_val) == len(x_train) // 4
    rows = lambda x: {tuple(r.flatten().tolist()) for r in x}  # noqa: E731
    assert rows(x_fit) | rows(x_val) <= rows(x_train) and not rows(x_val) & rows(x_held) - rows(x_train)
    monkeypatch.setattr(digits, "RECIPES", {k: dataclasses.replace(r, steps=8) for k, r in digits.RECIPES.items()})
    reports = []
    for row in ("CVAE", "DCGAN"):
        raw = search.defaults(digits.RECIPES[row], digits.SPACES[row])
        assert set(raw) == set(digits.SPACES[row])  # trial 0 is exactly the default row
        value, info = digits.BENCHMARK.tuning.objective(row, raw, 1000, torch.device("cpu"),
                                                        lambda step, v: reports.append((step, v)) or False)
        assert info == {"updates": 8} and math.isfinite(value) and value > 0 and reports[-1] == (8, value)
    assert [s for s, _ in reports] == [2, 4, 6, 8] * 2
    assert digits.BENCHMARK.tuning.direction == "minimize"


def test_the_best_trial_is_chosen_within_the_budget_only(tmp_path):
    result = tune.tune(tiny_tuning.BENCHMARK, ["A"], 6, tmp_path, **QUIET)
    assert result["budget"] == 6
    first = tune.export(tiny_tuning.BENCHMARK, tmp_path, ["A"], budget=3)
    values = [t["value"] for t in first["rows"]["A"]["trials"][:3] if t["state"] == "COMPLETE"]
    assert first["rows"]["A"]["best"]["value"] == max(values) and first["rows"]["A"]["best"]["trial"] < 3
    assert tune.export(tiny_tuning.BENCHMARK, tmp_path, ["A"])["budget"] == 3  # the saved budget is kept
    assert tune.load_best(tmp_path / "tiny-tuning.json")["A"]["trials"] == 3


def test_a_trial_started_beyond_the_budget_is_not_counted(tmp_path):
    tune.tune(tiny_tuning.BENCHMARK, ["B"], 3, tmp_path, **QUIET)
    optuna = pytest.importorskip("optuna")
    study = optuna.load_study(study_name="B", storage=tune._storage(tmp_path / "tiny-tuning.db"))
    objective = tune._objective(tiny_tuning.BENCHMARK, "B", torch.device("cpu"), budget=3)
    study.optimize(objective, n_trials=1, catch=(tune._OverBudget,))  # as a second worker arriving late would
    assert study.trials[-1].state == optuna.trial.TrialState.FAIL
    assert tune.export(tiny_tuning.BENCHMARK, tmp_path, ["B"], budget=3)["rows"]["B"]["finished"] == 3
