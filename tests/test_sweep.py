"""The seed sweep (scripts/sweep.py) records every assert of a notebook, runs on."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("sweep", ROOT / "scripts" / "sweep.py")
sweep = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sweep)


def write_notebook(path: Path, cells: list[tuple[str, str]], parameters: int | None = 1) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for i, (kind, source) in enumerate(cells):
        cell = nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source)
        if i == parameters:
            cell.metadata["tags"] = ["parameters"]
        nb.cells.append(cell)
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return write_notebook(tmp_path_factory.mktemp("nb") / "tiny.ipynb", [
        ("markdown", "# a page"),
        ("code", "SEED = 0\nLIMIT = 2"),
        ("code", "import torch\nvalue = torch.tensor(0.5 + SEED)\nassert value > 0.25\nassert 0 <= SEED < LIMIT"),
        ("markdown", "text"),
        ("code", "assert value.item() >= 0 and SEED != 3\nassert [1, 2] == [1, 2]\nprint('after the failures')"),
    ])


@pytest.fixture(scope="module")
def executed(tiny) -> dict[int, dict]:
    """The tiny notebook, whose checks depend on SEED, swept over seeds 0 and 3 (cells numbered)."""
    numbers = sweep.cell_numbers(tiny)
    results = {seed: sweep.run_notebook(tiny, seed, threads=1, timeout=120) for seed in (0, 3)}
    for result in results.values():
        for check in result["checks"]:
            check["cell"] = numbers[check["cell"]]
    return results


@pytest.mark.slow
def test_every_assert_is_recorded_with_its_values_and_original_cell(executed):
    checks = executed[0]["checks"]
    assert executed[0]["error"] is None
    assert [(c["cell"], c["assert"], c["passed"]) for c in checks] == [
        (2, "value > 0.25", True),
        (2, "0 <= SEED < LIMIT", True),
        (4, "value.item() >= 0", True),
        (4, "SEED != 3", True),
        (4, "[1, 2] == [1, 2]", True),
    ]
    assert checks[0]["values"] == [0.5, 0.25]  # a 0-d tensor is recorded as a number
    assert checks[1]["values"] == [0, 0, 2] and checks[1]["ops"] == ["<=", "<"]
    assert checks[4]["values"] == [None, None]  # lists are not numbers


@pytest.mark.slow
def test_the_seed_reaches_the_notebook_and_failures_do_not_stop_it(executed):
    checks = {(c["cell"], c["assert"]): c for c in executed[3]["checks"]}
    assert checks[2, "0 <= SEED < LIMIT"]["passed"] is False
    assert checks[2, "0 <= SEED < LIMIT"]["values"] == [0, 3, 2]
    assert checks[4, "SEED != 3"]["passed"] is False
    assert checks[4, "[1, 2] == [1, 2]"]["passed"] is True  # recorded after two failures
    assert executed[3]["error"] is None


@pytest.mark.slow
def test_summary_gives_pass_rates_ranges_and_the_smallest_slack(executed):
    rows = {r["assert"]: r for r in sweep.summarise(list(executed.values()))}
    value = rows["value > 0.25"]
    assert (value["passed"], value["runs"]) == (2, 2)
    assert (value["min"], value["max"], value["bound"]) == (0.5, 3.5, [[0.25]])
    assert value["min_slack"] == pytest.approx(0.25)
    assert value["relative_slack"] == pytest.approx(0.25 / 3.0)
    seed = rows["0 <= SEED < LIMIT"]
    assert (seed["passed"], seed["runs"]) == (1, 2)
    assert seed["min_slack"] == -1  # 3 exceeds the bound 2 by 1: it failed
    assert rows["value.item() >= 0"]["min_slack"] == pytest.approx(0.5)
    assert rows["[1, 2] == [1, 2]"]["passed"] == 2 and "min" not in rows["[1, 2] == [1, 2]"]


def test_a_cell_that_raises_is_reported_as_an_error(tmp_path):
    path = write_notebook(tmp_path / "broken.ipynb", [
        ("markdown", "# a page"), ("code", "SEED = 0"), ("code", "assert SEED == 0\nraise RuntimeError('boom')"),
        ("code", "assert True"),
    ])
    result = sweep.run_notebook(path, 1, threads=1, timeout=120)
    assert "RuntimeError" in result["error"] and "boom" in result["error"]
    assert [c["assert"] for c in result["checks"]] == ["SEED == 0"]  # the cell after the error never ran


def test_a_notebook_without_a_parameters_cell_is_refused(tmp_path):
    path = write_notebook(tmp_path / "plain.ipynb", [("code", "SEED = 0")], parameters=None)
    with pytest.raises(SystemExit, match="parameters"):
        sweep.check_parameters_cell(path)


def test_every_book_notebook_has_a_parameters_cell_that_sets_the_seed():
    for notebook in sweep.notebooks([str(ROOT / "book")]):
        sweep.check_parameters_cell(notebook)


@pytest.mark.slow
def test_the_report_lists_failures_and_unswept_notebooks(tiny, tmp_path, monkeypatch):
    monkeypatch.setattr(sweep, "RUNS", tmp_path)
    for seed in (0, 3):
        result = sweep.run_notebook(tiny, seed, threads=1, timeout=120)
        path = sweep.run_file("tiny", seed, 1)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({**result, "hash": "abc", "commit": "x"}))
    text = sweep.report([("tiny", "abc", tiny), ("never", "def", None)])
    assert "| 2 | `0 <= SEED < LIMIT` | 1/2 ✗ |" in text
    assert "Not swept for the current code" in text
    stale = sweep.report([("tiny", "changed", tiny)])
    assert "2 stale runs" in stale


def test_only_code_a_statistical_test_can_run_makes_its_sweep_stale():
    # (kept inside the test: module-level code, imports included, counts as code the statistical tests run)
    import textwrap

    module = textwrap.dedent('''
        import pytest

        LIMIT = 3


        def helper(x):
            return x + 1


        @pytest.mark.statistical
        def test_trained_value_in_bounds():
            assert helper(1) < LIMIT


        def test_plain(tmp_path):
            assert helper(0) == 1


        class TestPlain:
            def test_it(self):
                assert True
        ''')
    code = sweep.statistical_code
    base = code(module)
    assert "test_trained_value_in_bounds" in base and "def helper" in base
    assert "test_plain" not in base and "TestPlain" not in base
    # editing or adding a test that is not statistical changes nothing
    assert code(module.replace("helper(0) == 1", "helper(0) != 0")) == base
    assert code(module + "\n\ndef test_new():\n    assert 1\n") == base
    # the statistical test, a helper or a constant it uses: stale
    for before, after in [("< LIMIT", "<= LIMIT"), ("x + 1", "x + 2"), ("LIMIT = 3", "LIMIT = 4")]:
        assert code(module.replace(before, after)) != base, before
    # a module marked statistical as a whole keeps every test
    whole = "import pytest\npytestmark = pytest.mark.statistical\n" + module
    assert "test_plain" in code(whole)
    # a test module without a statistical test counts for nothing; a helper module counts but for its tests
    plain = module.replace("@pytest.mark.statistical\n", "")
    assert code(plain) == "" and "def helper" in code(plain, test_module=False)


def test_the_install_cell_does_not_count_towards_the_code_hash(tmp_path):
    install = 'try:\n    import genlab\nexcept ImportError:\n    %pip install -q "genlab @ git+https://x/y"\n    import genlab\n'
    body = [("markdown", "# t"), ("code", "SEED = 0"), ("code", "assert SEED >= 0")]
    base = sweep.code_hash(write_notebook(tmp_path / "a.ipynb", [("code", install), *body], parameters=2))
    moved = install.replace("git+https://x/y", "git+https://x/z")
    assert sweep.code_hash(write_notebook(tmp_path / "b.ipynb", [("code", moved), *body], parameters=2)) == base
    changed = [*body[:2], ("code", "assert SEED >= 1")]
    assert sweep.code_hash(write_notebook(tmp_path / "c.ipynb", [("code", install), *changed], parameters=2)) != base
    assert sweep.is_install_cell(install) and not sweep.is_install_cell("import genlab\n")
    # the cell that installs through pip as a subprocess (the book's own) is left out too, so
    # replacing the one by the other stales no swept result
    release = importlib.util.spec_from_file_location("release", ROOT / "scripts" / "release.py")
    module = importlib.util.module_from_spec(release)
    release.loader.exec_module(module)
    cell = module.install_cell("9.9.9")
    assert sweep.is_install_cell(cell) and '"pip", "install"' in cell
    assert sweep.code_hash(write_notebook(tmp_path / "d.ipynb", [("code", cell), *body], parameters=2)) == base
    for notebook in module.notebooks():
        first = module.first_code_cell(json.loads(notebook.read_text(encoding="utf-8")))
        assert sweep.is_install_cell("".join(first["source"])), notebook
