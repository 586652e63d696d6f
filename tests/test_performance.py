"""The benchmarks behind the appendix page *Performance*: fit_overhead.py, sequence_models.py, gpu.py, ddp_scaling.py.

Each is run with tiny settings (the numbers mean nothing, their form does), refuses to
replace an existing --out file without --overwrite, and the committed result files hold
every field book/appendix/performance.ipynb reads.
"""

import importlib
import json
import math
import os
import sys
import warnings
from pathlib import Path

import pytest
import torch

import genlab

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
RESULTS = ROOT / "book" / "appendix" / "results"


@pytest.fixture(scope="module")
def bench():
    """The benchmark modules, imported as the scripts import each other (benchmarks/ on sys.path)."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield {name: importlib.import_module(name) for name in ("fit_overhead", "sequence_models", "gpu", "ddp_scaling")}
    finally:
        sys.path.remove(str(BENCHMARKS))


def positive(x) -> bool:
    return isinstance(x, float) and math.isfinite(x) and x > 0


# ---------------------------------------------------------------------------------------------
# fit_overhead.py


def test_fit_overhead_measures_fit_against_the_plain_loop(bench):
    fo = bench["fit_overhead"]
    result = fo.measure(torch.device("cpu"), steps=2, repeats=1, cases=["VAE 64-256-8, digits"])
    assert result["device"] == "cpu" and result["torch"] == torch.__version__
    assert result["threads"] == torch.get_num_threads() and (result["steps"], result["repeats"]) == (2, 1)
    [row] = result["rows"]
    assert row["model"] == "VAE 64-256-8, digits" and row["batch_size"] == 128
    assert positive(row["plain_samples_per_s"]) and positive(row["fit_samples_per_s"])
    assert row["ratio"] == pytest.approx(row["fit_samples_per_s"] / row["plain_samples_per_s"])
    assert "VAE 64-256-8, digits" in fo.format_table(result).splitlines()[2]


def test_sequence_models_time_every_phase_and_model_against_its_plain_loop(bench):
    sm = bench["sequence_models"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", genlab.PhaseNotReached)
        result = sm.measure(torch.device("cpu"), steps=1, repeats=1, catalogue=sm.CASES)
    assert [row["model"] for row in result["rows"]] == list(sm.CASES)
    assert all(positive(row["plain_samples_per_s"]) and positive(row["fit_samples_per_s"]) for row in result["rows"])


@pytest.mark.parametrize("phase, plain, key", [("embedding", "plain_embedding", "reconstruction"),
                                                ("supervised", "plain_supervised", "supervised")])
def test_the_plain_timegan_phases_compute_the_losses_fit_trains(bench, phase, plain, key):
    """On one batch that is the whole data set (so the batch order cannot matter), the plain loop's
    first loss is the loss genlab's TimeGAN reports at step 0 of the same phase."""
    sm = bench["sequence_models"]
    data = sm.sines(torch.device("cpu"))[: sm.BATCH_SIZE]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", genlab.PhaseNotReached)
        history = genlab.fit(sm.make_timegan(phase), data, steps=1, batch_size=sm.BATCH_SIZE, progress=False)
    torch.manual_seed(0)
    assert getattr(sm, plain)(data, 1, sm.BATCH_SIZE)[0] == pytest.approx(history[key][0], rel=1e-5)


def test_fit_overhead_refuses_bad_settings(bench):
    fo = bench["fit_overhead"]
    with pytest.raises(ValueError, match="unknown cases"):
        fo.measure(torch.device("cpu"), steps=1, repeats=1, cases=["GPT"])
    with pytest.raises(ValueError, match="steps must be"):
        fo.measure(torch.device("cpu"), steps=0, repeats=1)


def test_fit_overhead_keeps_an_existing_out_file_unless_told(bench, tmp_path, monkeypatch, capsys):
    out = tmp_path / "fit.json"
    out.write_text("{}")
    monkeypatch.setattr(sys, "argv", ["fit_overhead.py", "--steps", "1", "--repeats", "1", "--out", str(out)])
    with pytest.raises(SystemExit) as exit_:
        bench["fit_overhead"].main()
    assert exit_.value.code == 2 and "pass --overwrite" in capsys.readouterr().err
    assert out.read_text() == "{}"
    monkeypatch.setattr(sys, "argv", [*sys.argv, "--overwrite"])
    bench["fit_overhead"].main()
    written = json.loads(out.read_text())
    assert [row["model"] for row in written["rows"]] == list(bench["fit_overhead"].CASES)
    assert "--steps 1 --repeats 1" in written["command"] and not list(tmp_path.glob("*.tmp"))


# ---------------------------------------------------------------------------------------------
# gpu.py (on the CPU)


def test_gpu_writes_fit_against_plain_beside_the_efficiency_table(bench, tmp_path):
    gpu = bench["gpu"]
    result = gpu.measure(torch.device("cpu"), steps=1, repeats=1, efficiency_steps=1,
                         cases=["MLP GAN, ring"], variants=("fp32",))
    # the efficiency table's own fields, as chapter 6 reads them
    assert set(result["rows"]) == {"fp32"} and result["device"] == "cpu" and "device_name" in result
    comparison = result["fit_vs_plain"]
    assert comparison["device_name"] == result["device_name"] and comparison["steps"] == 1
    [row] = comparison["rows"]
    assert (row["model"], row["precision"]) == ("MLP GAN, ring", "fp32")
    assert positive(row["plain_steps_per_s"]) and positive(row["fit_steps_per_s"])
    assert row["ratio"] == pytest.approx(row["fit_steps_per_s"] / row["plain_steps_per_s"])
    gpu.save(result, tmp_path / "gpu.json")
    assert json.loads((tmp_path / "gpu.json").read_text()) == json.loads(json.dumps(result))


def test_gpu_refuses_bf16_off_cuda_and_an_existing_out_file(bench, tmp_path, monkeypatch, capsys):
    gpu = bench["gpu"]
    with pytest.raises(ValueError, match="bf16 autocast"):
        gpu.fit_vs_plain(torch.device("cpu"), 1, 1, cases=["MLP GAN, ring"], precisions=["bf16 autocast"])
    out = tmp_path / "gpu.json"
    out.write_text("{}")
    monkeypatch.setattr(sys, "argv", ["gpu.py", "--device", "cpu", "--out", str(out)])
    with pytest.raises(SystemExit):
        gpu.main()
    assert "--out" in capsys.readouterr().err and out.read_text() == "{}"


# ---------------------------------------------------------------------------------------------
# ddp_scaling.py


@pytest.mark.slow
def test_ddp_scaling_runs_one_and_two_processes_and_one_process_with_two_threads(bench):
    ddp = bench["ddp_scaling"]
    result = ddp.measure(["vae"], [2], steps=1, warmup=1, repeats=1, batch_size=32, report=None, timeout=300)
    assert result["nproc"] == [1, 2]  # the one-process baseline is always run
    rows = [(r["processes"], r["threads_per_process"], r["ddp"]) for r in result["rows"]]
    assert rows == [(1, 1, False), (2, 1, True), (1, 2, False)]
    for row in result["rows"]:
        assert positive(row["steps_per_s"]) and row["images_per_s"] == pytest.approx(32 * row["steps_per_s"])
        assert row["efficiency"] == pytest.approx(row["speedup"] / row["cores"])
    assert result["rows"][0]["speedup"] == 1.0
    assert result["cores"] == os.cpu_count() and result["torch"] == torch.__version__
    table = ddp.format_table(result).splitlines()
    assert len(table) == 5 and table[3].split()[:4] == ["vae", "2", "1", "yes"]


def test_ddp_scaling_refuses_bad_settings_before_starting_anything(bench, tmp_path, monkeypatch, capsys):
    ddp = bench["ddp_scaling"]
    with pytest.raises(ValueError, match="batch_size 127 is the global batch"):
        ddp.measure(["dcgan"], [1, 2], batch_size=127)
    with pytest.raises(ValueError, match="models must be"):
        ddp.measure(["gpt"], [1])
    with pytest.raises(ValueError, match="nproc 0"):
        ddp.measure(["dcgan"], [0])
    out = tmp_path / "ddp.json"
    out.write_text("{}")
    with pytest.raises(SystemExit):
        ddp.main(["--out", str(out)])
    assert "pass --overwrite" in capsys.readouterr().err and out.read_text() == "{}"


def test_ddp_scaling_reports_a_failing_worker(bench):
    # launch() checks nothing itself: fit, in the workers, refuses a global batch 2 processes cannot split
    with pytest.raises(RuntimeError, match=r"(?s)2 process\(es\) of dcgan failed.*make it a multiple of 2"):
        bench["ddp_scaling"].launch("dcgan", 2, 1, device="cpu", batch_size=3, steps=1, warmup=1, repeats=1,
                                    timeout=300)


# ---------------------------------------------------------------------------------------------
# the committed results, as the page reads them


def test_committed_fit_overhead_result_has_what_the_page_shows():
    result = json.loads((RESULTS / "fit-overhead-cpu.json").read_text())
    for key in ("device", "device_name", "torch", "genlab", "threads", "steps", "repeats", "date", "command"):
        assert key in result, key
    assert result["device"] == "cpu" and result["command"].startswith("OMP_NUM_THREADS=1 python benchmarks/fit_overhead.py")
    assert {row["model"] for row in result["rows"]} == {"VAE 64-256-8, digits", "DCGAN (64, 32), 8x8 digits"}
    for row in result["rows"]:
        assert row["ratio"] == pytest.approx(row["fit_samples_per_s"] / row["plain_samples_per_s"])


def test_committed_sequence_models_result_has_what_the_page_shows(bench):
    result = json.loads((RESULTS / "sequence-models-cpu.json").read_text())
    assert {"device_name", "torch", "genlab", "date", "command", "threads", "repeats", "steps"} <= set(result)
    assert [row["model"] for row in result["rows"]] == list(bench["sequence_models"].CASES)
    assert all(positive(row["plain_samples_per_s"]) and positive(row["fit_samples_per_s"])
               and row["batch_size"] == 128 for row in result["rows"])
    assert "benchmarks/sequence_models.py" in result["command"]


def test_committed_ddp_scaling_result_has_what_the_page_shows():
    result = json.loads((RESULTS / "ddp-scaling-cpu.json").read_text())
    for key in ("device", "device_name", "cores", "torch", "genlab", "date", "batch_size", "steps", "repeats",
                "warmup", "threads", "command", "models"):
        assert key in result, key
    assert result["device"] == "cpu" and result["command"].startswith("python benchmarks/ddp_scaling.py")
    for model in result["models"]:
        rows = {(r["processes"], r["threads_per_process"]): r for r in result["rows"] if r["model"] == model}
        assert set(rows) == {(1, 1), (2, 1), (1, 2)}, model
        assert rows[(2, 1)]["ddp"] and not rows[(1, 2)]["ddp"] and rows[(1, 1)]["speedup"] == 1.0
        for row in rows.values():
            assert row["speedup"] == pytest.approx(row["steps_per_s"] / rows[(1, 1)]["steps_per_s"])
            assert row["efficiency"] == pytest.approx(row["speedup"] / row["cores"])


def test_a_committed_gpu_result_has_what_the_page_shows():
    path = RESULTS / "gpu.json"
    if not path.exists():  # the page then says how to make it; nothing else to check
        return
    result = json.loads(path.read_text())
    assert result["device"] == "cuda" and result["device_name"] and result["fit_vs_plain"]["rows"]
    for row in result["fit_vs_plain"]["rows"]:
        assert {"model", "precision", "plain_steps_per_s", "fit_steps_per_s", "ratio"} <= set(row)
