"""benchmarks/efficiency.py: the table chapter 6 shows is measured and written as documented."""

import importlib
import json
import math
import sys
from pathlib import Path

import pytest
import torch

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def efficiency():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield importlib.import_module("efficiency")
    finally:
        sys.path.remove(str(BENCHMARKS))


def test_table_measures_each_variant_and_formats_ratios(efficiency):
    result = efficiency.table(torch.device("cpu"), steps=1, repeats=1, variants=("fp32", "channels_last"))
    assert result["device"] == "cpu" and result["torch"] == torch.__version__
    assert set(result["rows"]) == {"fp32", "channels_last"}
    for row in result["rows"].values():
        assert row["train_images_per_s"] > 0 and math.isfinite(row["sample_images_per_s"])
    text = efficiency.format_table(result)
    assert "fp32" in text.splitlines()[2] and " 1.00 " in text.splitlines()[2]


def test_unknown_variant_is_refused_and_a_failing_variant_is_reported(efficiency, monkeypatch):
    with pytest.raises(ValueError, match="unknown variants"):
        efficiency.table(torch.device("cpu"), steps=1, repeats=1, variants=("fp16",))

    def broken(*args):
        raise RuntimeError("no C++ compiler found\nmore detail")

    monkeypatch.setattr(efficiency, "measure", broken)
    result = efficiency.table(torch.device("cpu"), steps=1, repeats=1, variants=("torch.compile",))
    assert result["rows"]["torch.compile"] == {"error": "RuntimeError: no C++ compiler found"}
    assert "failed: RuntimeError" in efficiency.format_table(result)


def test_save_writes_the_table_whole(efficiency, tmp_path):
    result = {"rows": {"fp32": {"train_images_per_s": 1.0, "sample_images_per_s": 2.0}}, "device_name": "CPU, 1 threads"}
    path = tmp_path / "deep" / "efficiency-cpu.json"
    efficiency.save(result, path)
    assert json.loads(path.read_text()) == result and not list(path.parent.glob("*.tmp"))
