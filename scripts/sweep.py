"""Sweep the book's checks over seeds and thread counts.

A seed fixes a result on one machine only: another CPU, another thread count or a GPU
changes the last bits of every floating-point sum, and training (a GAN's above all)
amplifies them. So every `assert` in a notebook must hold for any seed, with margin.
This tool measures that.

    python scripts/sweep.py book                        # every notebook, seeds 0-9
    python scripts/sweep.py book/03_math --runs 4       # a folder, seeds 0-3
    python scripts/sweep.py --tests                     # the statistical unit tests
    python scripts/sweep.py --report                    # only rewrite the report

Each notebook is executed with papermill once per seed: the seed goes into the cell
tagged `parameters` as `SEED` (papermill injects a cell after it). Even seeds run with
one thread, odd seeds with two, so half the runs take each float path; two one-thread
runs share the two cores. Inside the kernel an IPython AST transformer rewrites every
`assert` so that it records whether it held and, for a comparison, the values compared,
and carries on (so one failure does not hide the checks after it).

The statistical unit tests (marked `statistical`) run the same way, with the seed in the
environment variable GENLAB_TEST_SEED; pytest's assertion-pass hook records their values.

Every run is saved to sweep/runs/<notebook or tests>/<seed>-t<threads>.json together
with a hash of the code it ran; runs whose hash no longer matches are stale and left
out of the report, and a new sweep only executes the runs that are missing. The report,
one table per notebook, is book/appendix/checks.md.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import math
import operator
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = ROOT / "sweep" / "runs"
REPORT = ROOT / "book" / "appendix" / "checks.md"
RECORD_ENV = "GENLAB_SWEEP_RECORD"
TESTS_KEY = "tests"

# --------------------------------------------------------------------------------------
# Inside the kernel: every assert records itself instead of raising.
# --------------------------------------------------------------------------------------

_OPS = {
    ast.Lt: ("<", operator.lt), ast.LtE: ("<=", operator.le),
    ast.Gt: (">", operator.gt), ast.GtE: (">=", operator.ge),
    ast.Eq: ("==", operator.eq), ast.NotEq: ("!=", operator.ne),
    ast.Is: ("is", operator.is_), ast.IsNot: ("is not", operator.is_not),
    ast.In: ("in", lambda a, b: a in b), ast.NotIn: ("not in", lambda a, b: a not in b),
}
_BY_SYMBOL = {symbol: fn for symbol, fn in _OPS.values()}


def _number(x) -> float | None:
    """x as a float when it is one number (Python, NumPy or a one-element tensor)."""
    if isinstance(x, bool):
        return None
    try:
        if hasattr(x, "numel"):  # a tensor
            if x.numel() != 1:
                return None
        elif getattr(x, "size", 1) != 1:  # a NumPy array
            return None
        value = float(x)
    except (TypeError, ValueError, RuntimeError):
        return None
    return value if math.isfinite(value) else None


class _Recorder:
    def __init__(self, path: str):
        self.path = path
        self.cell = ""  # the source of the cell being run, to find it in the notebook later

    def see_cell(self, lines: list[str]) -> list[str]:
        """An IPython input transformer that only notes which cell is running."""
        self.cell = "".join(lines).strip()
        return lines

    def write(self, entry: dict) -> None:
        entry["cell"] = self.cell
        with open(self.path, "a") as f:
            f.write(json.dumps(entry) + "\n")

    def compare(self, source: str, operands: list, symbols: list[str]) -> bool:
        passed = all(_BY_SYMBOL[s](a, b) for s, a, b in zip(symbols, operands, operands[1:]))
        self.write({"assert": source, "passed": bool(passed),
                    "ops": symbols, "values": [_number(v) for v in operands]})
        return passed

    def truth(self, source: str, value) -> bool:
        self.write({"assert": source, "passed": bool(value)})
        return bool(value)


class _AssertRecorder(ast.NodeTransformer):
    """Rewrites `assert test` into a call that records the test and never raises."""

    def _record(self, test: ast.expr) -> ast.Call:
        source = ast.Constant(ast.unparse(test))
        recorder = ast.Name("__sweep_recorder__", ast.Load())
        if isinstance(test, ast.Compare) and all(type(op) in _OPS for op in test.ops):
            return ast.Call(ast.Attribute(recorder, "compare", ast.Load()), [
                source,
                ast.List([test.left, *test.comparators], ast.Load()),
                ast.List([ast.Constant(_OPS[type(op)][0]) for op in test.ops], ast.Load()),
            ], [])
        return ast.Call(ast.Attribute(recorder, "truth", ast.Load()), [source, test], [])

    def visit_Assert(self, node: ast.Assert) -> ast.AST:
        # `assert a and b` is recorded as two checks, evaluated in order as `and` would
        parts = node.test.values if isinstance(node.test, ast.BoolOp) and isinstance(node.test.op, ast.And) else [node.test]
        statement: ast.stmt = ast.Pass()
        for part in reversed(parts):
            statement = ast.If(self._record(part), [statement], [])
        return ast.fix_missing_locations(ast.copy_location(statement, node))


def install_recorder(shell=None) -> None:
    """Called from the kernel's IPython start-up file when the sweep runs a notebook."""
    path = os.environ.get(RECORD_ENV)
    if not path:
        return
    shell = shell or get_ipython()  # noqa: F821 (defined inside IPython)
    recorder = _Recorder(path)
    shell.user_ns["__sweep_recorder__"] = recorder
    shell.input_transformers_cleanup.insert(0, recorder.see_cell)
    shell.ast_transformers.append(_AssertRecorder())


# --------------------------------------------------------------------------------------
# Running notebooks and tests
# --------------------------------------------------------------------------------------


def notebooks(paths: list[str]) -> list[Path]:
    found: list[Path] = []
    for p in (Path(x).resolve() for x in paths):
        if p.is_dir():
            found += [n for n in sorted(p.rglob("*.ipynb"))
                      if not any(part.startswith((".", "_build")) for part in n.relative_to(ROOT).parts)]
        elif p.suffix == ".ipynb":
            found.append(p)
        else:
            raise SystemExit(f"not a notebook or folder: {p}")
    return found


def is_install_cell(source: str) -> bool:
    """Whether a code cell is the book's install cell (import genlab, else pip-install it).

    It runs only where genlab is missing, so it cannot change a result: the code hash leaves
    it out, and where the package comes from can change without staling a sweep.
    """
    installs = "%pip install" in source or '"pip", "install"' in source
    return "import genlab" in source and "except ImportError" in source and installs


def code_hash(notebook: Path) -> str:
    """A hash of the notebook's code cells but the install cell: results of other code are stale."""
    nb = json.loads(notebook.read_text())
    cells = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    code = "\n\0".join(source for source in cells if not is_install_cell(source))
    return hashlib.sha256(code.encode()).hexdigest()[:16]


def tests_hash() -> str:
    """A hash of the code the statistical tests can run (like a notebook's hash, it leaves out genlab).

    That is every tests/*.py without its other test functions (and without the test modules
    that have no statistical test at all): editing or adding a test that is not statistical
    leaves the sweep's runs current; any change to a statistical test, a
    fixture, a helper or a module's imports and constants makes them stale.
    """
    digest = hashlib.sha256()
    for path in sorted((ROOT / "tests").glob("*.py")):
        digest.update(statistical_code(path.read_text(encoding="utf-8"), path.name.startswith("test_")).encode())
    return digest.hexdigest()[:16]


def statistical_code(source: str, test_module: bool = True) -> str:
    """`source` without its top-level test functions (and test classes) not marked `statistical`.

    A test module with no statistical test gives "" (nothing in it runs in the sweep); other
    modules (conftest.py, helpers) are kept whole but for their tests.
    """
    tree = ast.parse(source)

    def marked(node) -> bool:
        return any("statistical" in ast.unparse(d) for d in getattr(node, "decorator_list", []))

    if any(isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "pytestmark" for t in n.targets)
           and "statistical" in ast.unparse(n.value) for n in tree.body):
        return "".join(line for line in source.splitlines(keepends=True) if line.strip())  # all statistical
    lines = source.splitlines(keepends=True)
    statistical = False
    for node in reversed(tree.body):
        is_test = (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test")
                   or isinstance(node, ast.ClassDef) and node.name.startswith("Test"))
        inner_marked = isinstance(node, ast.ClassDef) and any(marked(n) for n in node.body)
        if is_test and not marked(node) and not inner_marked:
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            del lines[first - 1:node.end_lineno]
        statistical = statistical or is_test and (marked(node) or inner_marked)
    if test_module and not statistical:
        return ""
    return "".join(line for line in lines if line.strip())  # blank lines left by the cuts do not count


def commit() -> str:
    """The commit the run was made at, with + when genlab/ had uncommitted changes."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+" if git("status", "--porcelain", "genlab") else "")


def key_of(notebook: Path) -> str:
    return str(notebook.relative_to(ROOT / "book").with_suffix(""))


def run_file(key: str, seed: int, threads: int) -> Path:
    return RUNS / key / f"seed{seed}-t{threads}.json"


def thread_env(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[name] = str(threads)
    env["PYTHONHASHSEED"] = "0"
    env["OMP_WAIT_POLICY"] = "PASSIVE"  # idle threads sleep: runs sharing the cores do not spin against each other
    return env


def check_parameters_cell(notebook: Path) -> None:
    nb = json.loads(notebook.read_text())
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(tagged) != 1 or "SEED" not in "".join(tagged[0]["source"]):
        raise SystemExit(f"{notebook}: needs exactly one cell tagged 'parameters' that sets SEED")


def cell_id(source: str) -> str:
    """A short name for a code cell's source, stable while its code is unchanged."""
    return hashlib.sha256(source.strip().encode()).hexdigest()[:12]


def cell_numbers(notebook: Path) -> dict[str, int]:
    """cell_id -> the cell's index in the notebook (as Jupyter counts cells, from 0)."""
    cells = json.loads(notebook.read_text())["cells"]
    return {cell_id("".join(c["source"])): i for i, c in enumerate(cells) if c["cell_type"] == "code"}


def run_notebook(notebook: Path, seed: int, threads: int, timeout: int) -> dict:
    """Execute `notebook` with SEED = seed on `threads` threads; return its recorded checks."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        startup = tmp / "ipython" / "profile_default" / "startup"
        startup.mkdir(parents=True)
        (startup / "00-sweep.py").write_text(
            f"import sys\nsys.path.insert(0, {str(ROOT / 'scripts')!r})\n"
            "import sweep\nsweep.install_recorder()\n"
        )
        record, executed = tmp / "record.jsonl", tmp / "executed.ipynb"
        record.touch()
        env = thread_env(threads)
        env.update({RECORD_ENV: str(record), "IPYTHONDIR": str(tmp / "ipython"), "MPLBACKEND": "Agg"})
        start = time.perf_counter()
        # papermill in its own process: the kernel inherits this run's environment (threads)
        proc = subprocess.run(
            [sys.executable, "-m", "papermill", str(notebook), str(executed), "-p", "SEED", str(seed),
             "-k", "python3", "--cwd", str(notebook.parent), "--no-progress-bar",
             "--execution-timeout", str(timeout)],
            env=env, capture_output=True, text=True,
        )
        seconds = time.perf_counter() - start
        error = None
        if proc.returncode != 0:
            lines = [line for line in proc.stderr.splitlines() if line.strip()]
            error = next((line for line in reversed(lines) if "Error" in line), lines[-1] if lines else "failed")[:300]
        checks = [json.loads(line) for line in record.read_text().splitlines() if line]
        for check in checks:  # cells are named by their code, numbered when reported
            check["cell"] = cell_id(check["cell"])
    return {"seed": seed, "threads": threads, "seconds": round(seconds, 1), "error": error, "checks": checks}


_TEST_PLUGIN = '''
import json, os, re
NUMBER = re.compile(r"[-+]?(?:\\d+\\.?\\d*|\\.\\d+)(?:e[-+]?\\d+)?")
def pytest_assertion_pass(item, lineno, orig, expl):
    first = expl.splitlines()[0] if expl else ""
    values = [float(v) for v in NUMBER.findall(first)]
    with open(os.environ["GENLAB_SWEEP_RECORD"], "a") as f:
        f.write(json.dumps({"cell": item.nodeid, "assert": orig, "passed": True, "expl": first, "values": values}) + "\\n")
def pytest_runtest_logreport(report):
    if report.when == "call" and report.failed:
        message = str(report.longrepr).splitlines()
        with open(os.environ["GENLAB_SWEEP_RECORD"], "a") as f:
            f.write(json.dumps({"cell": report.nodeid, "assert": "(test failed)", "passed": False,
                                "expl": " / ".join(l for l in message if l.startswith("E"))[:300]}) + "\\n")
'''


def run_tests(seed: int, threads: int, timeout: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "sweep_tests_plugin.py").write_text(_TEST_PLUGIN)
        record = tmp / "record.jsonl"
        record.touch()
        env = thread_env(threads)
        env.update({RECORD_ENV: str(record), "GENLAB_TEST_SEED": str(seed),
                    "PYTHONPATH": os.pathsep.join([str(tmp), env.get("PYTHONPATH", "")]),
                    "PYTHONPYCACHEPREFIX": str(tmp / "pycache")})  # fresh assertion rewriting
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-m", "statistical", "-p", "sweep_tests_plugin",
             "-o", "enable_assertion_pass_hook=true", "tests"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
        )
        seconds = time.perf_counter() - start
        checks = [json.loads(line) for line in record.read_text().splitlines() if line]
    error = None if proc.returncode in (0, 1) else f"pytest exit {proc.returncode}: {proc.stdout[-300:]}"
    return {"seed": seed, "threads": threads, "seconds": round(seconds, 1), "error": error, "checks": checks}


def sweep(targets: list[tuple[str, str, object]], runs: int, cores: int, timeout: int) -> None:
    """Execute every (target, seed) run that is missing for the target's current code."""
    jobs = []
    for key, digest, runner in targets:
        for seed in range(runs):
            threads = 1 if seed % 2 == 0 else 2
            path = run_file(key, seed, threads)
            if path.exists() and json.loads(path.read_text()).get("hash") == digest:
                continue
            jobs.append((key, digest, runner, seed, threads))
    print(f"{len(jobs)} runs to do", flush=True)

    def do(job):
        key, digest, runner, seed, threads = job
        result = runner(seed, threads, timeout)
        result.update(key=key, hash=digest, commit=commit())
        path = run_file(key, seed, threads)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(result, indent=1))
        os.replace(tmp, path)  # never a half-written run
        failed = sum(not c["passed"] for c in result["checks"])
        status = result["error"] or (f"{failed} failed checks" if failed else "ok")
        print(f"{key} seed {seed} ({threads} thr): {result['seconds']:.0f} s, "
              f"{len(result['checks'])} checks, {status}", flush=True)

    # one-thread runs share the cores; two-thread runs take both
    for threads, workers in ((1, cores), (2, max(1, cores // 2))):
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(do, [j for j in jobs if j[4] == threads]))


# --------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------


def _fmt(x: float) -> str:
    if x == 0:
        return "0"
    if abs(x) >= 1000 or abs(x) < 1e-3:
        return f"{x:.2e}"
    return f"{x:.4g}"


def summarise(results: list[dict]) -> list[dict]:
    """One row per assert: pass rate over runs and, for comparisons, values and slack."""
    rows: dict[tuple, dict] = {}
    for result in results:
        seen: dict[tuple, bool] = {}
        for check in result["checks"]:
            k = (check["cell"], check["assert"])
            row = rows.setdefault(k, {"cell": check["cell"], "assert": check["assert"], "runs": 0,
                                      "passed": 0, "observed": [], "bounds": [], "slack": [], "ops": None,
                                      "expl": []})
            seen[k] = seen.get(k, True) and check["passed"]
            values, ops = check.get("values"), check.get("ops")
            if ops and values and len(ops) <= 2 and all(o in ("<", "<=", ">", ">=") for o in ops):
                row["ops"] = ops
                if any(v is None for v in values):
                    continue
                row["observed"].append(values[1] if len(ops) == 2 else values[0])
                row["bounds"].append([values[0], values[2]] if len(ops) == 2 else [values[1]])
                # slack of each comparison: how far it is from failing (negative: failed)
                row["slack"].append(min(
                    (b - a) if o in ("<", "<=") else (a - b) for o, a, b in zip(ops, values, values[1:])
                ))
            elif "expl" in check and check["passed"]:
                row["expl"].append(check["expl"])
        for k, passed in seen.items():
            rows[k]["runs"] += 1
            rows[k]["passed"] += passed
    out = []
    for row in rows.values():
        obs = row.pop("observed")
        if obs:
            row["min"], row["median"], row["max"] = min(obs), statistics.median(obs), max(obs)
            bounds = row.pop("bounds")
            row["bound"] = [sorted({round(b[i], 12) for b in bounds}) for i in range(len(bounds[0]))]
            row["min_slack"] = min(row["slack"])
            # the margin in units of the observed spread: how many more ranges like the
            # observed one fit between the values and the bound (inf: the value never moved)
            spread = row["max"] - row["min"]
            row["relative_slack"] = row["min_slack"] / spread if spread > 0 else math.copysign(math.inf, row["min_slack"])
        else:
            row.pop("bounds")
        row.pop("slack")
        out.append(row)
    return sorted(out, key=lambda r: (str(type(r["cell"])), r["cell"]))


def _ratio(x: float) -> str:
    return ("∞" if x > 0 else "−∞") if math.isinf(x) else f"{x:.2g}×"


def _bound_text(row: dict) -> str:
    parts = []
    for bs in row["bound"]:
        parts.append(_fmt(bs[0]) if len(bs) == 1 else f"{_fmt(bs[0])} … {_fmt(bs[-1])}")
    ops = row["ops"]
    if len(ops) == 2:
        return f"{parts[0]} {ops[0]} · {ops[1]} {parts[1]}"
    return f"{ops[0]} {parts[0]}"


def _cell_text(text: str) -> str:
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= 90 else text[:87] + "…"


def load_results(key: str, digest: str, notebook: Path | None = None) -> tuple[list[dict], int]:
    """The saved runs of `key` made with code `digest` (cells numbered as in `notebook`), and how many are stale."""
    numbers = cell_numbers(notebook) if notebook is not None else {}
    results, stale = [], 0
    for path in sorted((RUNS / key).glob("*.json")):
        result = json.loads(path.read_text())
        if result.get("hash") != digest:
            stale += 1
            continue
        for check in result["checks"]:
            check["cell"] = numbers.get(check["cell"], check["cell"])
        results.append(result)
    return results, stale


HEADER = """# How the book's numbers are checked

Every number this book states in its prose is checked by an `assert` in a notebook
cell. A check that holds for one seed on one machine proves little: another CPU,
another thread count or a GPU changes the last bits of the floating-point sums, and
training amplifies them. So each notebook is executed once per seed (`SEED` = 0, 1, …;
even seeds with one thread, odd seeds with two), and every `assert` records whether
it held and, where it compares a number with a bound, the number. A bound is honest
when it lies outside the whole observed range: the **slack** column is the smallest
distance between a value and its bound over all runs (negative: it failed), and
**× range** divides it by the observed range (max − min) of the value: below 1, a
bound lies closer to the values than they lie to each other. Checks of exact
identities (a value that never moves) show ∞.

Not every small margin is a fragile check. Some asserts only record a number for this
report (a ratio is positive, a correlation lies in [−1, 1]); some are exact bounds of
the mathematics (a Jensen–Shannon divergence lies in [0, log 2]) or hold by
construction (a loop that stops once a value is below a threshold); and × range is
small for any value that spans orders of magnitude. Read the assert beside its slack.

The tables are regenerated by `make sweep` (`python scripts/sweep.py book --tests`),
which executes only the runs whose code changed since the last sweep.
## "A beats B": the book's one test

Where a page, the comparison of chapter 7 or the decision guide of chapter 8 says that one
row beats another, it means one test, implemented once (`genlab.bench.stats.compare`) and
applied to the per-seed values of the two rows: each row's seeds are resampled with
replacement, independently, 10,000 times (a fixed generator, so every machine gets the same
answer), and the 95 % percentile interval of the difference of the two means is read. If
the interval lies wholly on one side of 0, the better row beats the other; if it contains
0, the verdict is "not shown" — the seeds do not separate the rows, whatever their means
say. The test assumes no normal distribution (a GAN's scores over seeds rarely have one).
Every results table gives a row as its mean ± the standard error of the mean over seeds,
with n; a published row keeps the ± its paper reports. The comparative sentences of
chapter 7's comparison and of chapter 8 are records of `genlab.bench.claims`, each decided
by this test from the committed tables and printed in the wording of its verdict; a unit
test fails when a verdict the book relies on turns.
"""


def _cell_label(key: str, cell) -> str:
    return str(cell).split("::")[-1] if key == TESTS_KEY else str(cell)


def _section(key: str, digest: str, notebook: Path | None, smallest: list) -> list[str]:
    results, stale = load_results(key, digest, notebook)
    title = "Statistical unit tests (`pytest -m statistical`)" if key == TESTS_KEY else f"`{key}.ipynb`"
    lines = [f"## {title}", ""]
    if not results:
        return lines + [f"*Not swept for the current code* ({stale} stale runs).", ""]
    errors = [r for r in results if r["error"]]
    seconds = [r["seconds"] for r in results]
    seeds = ", ".join(str(r["seed"]) for r in sorted(results, key=lambda r: r["seed"]))
    threads = " and ".join(map(str, sorted({r["threads"] for r in results})))
    commits = ", ".join(sorted({r.get("commit", "?") for r in results}))
    summary = f"{len(results)} runs (seeds {seeds}; threads {threads}; at {commits}), {min(seconds):.0f}–{max(seconds):.0f} s each"
    if errors:
        summary += f"; **{len(errors)} runs stopped with an error**: " + "; ".join(
            f"seed {r['seed']}: {r['error']}" for r in errors)
    lines += [summary + ".", "",
              "| cell | assert | passed | observed min / median / max | bound | slack (× range) |",
              "|---|---|---|---|---|---|"]
    for row in summarise(results):
        passed = f"{row['passed']}/{row['runs']}" + ("" if row["passed"] == row["runs"] else " ✗")
        observed = bound = slack = ""
        if "min" in row:
            observed = f"{_fmt(row['min'])} / {_fmt(row['median'])} / {_fmt(row['max'])}"
            slack = f"{_fmt(row['min_slack'])} ({_ratio(row['relative_slack'])})"
            bound = _bound_text(row)
            smallest.append((row["relative_slack"], key, row))
        elif row.get("expl"):
            observed = _cell_text(row["expl"][0]) + (" …" if len(row["expl"]) > 1 else "")
        lines.append(f"| {_cell_text(_cell_label(key, row['cell']))} | `{_cell_text(row['assert'])}` | "
                     f"{passed} | {observed} | {bound} | {slack} |")
    return lines + [""]


def report(keys: list[tuple[str, str, Path | None]]) -> str:
    """The markdown report for (key, code hash, notebook or None for the tests): the
    smallest margins first, then one table per notebook."""
    smallest: list = []
    sections = [line for key, digest, notebook in keys for line in _section(key, digest, notebook, smallest)]
    top = sorted(smallest, key=lambda t: t[0])[:10]
    margins = ["## The smallest margins", "",
               "| notebook | cell | assert | slack (× range) |", "|---|---|---|---|"]
    margins += [f"| {key} | {_cell_label(key, row['cell'])} | `{_cell_text(row['assert'])}` | "
                f"{_fmt(row['min_slack'])} ({_ratio(row['relative_slack'])}) |" for _, key, row in top]
    return "\n".join([HEADER, *margins, "", *sections])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*", help="notebooks or folders to sweep")
    parser.add_argument("--tests", action="store_true", help="also sweep the statistical unit tests")
    parser.add_argument("--runs", type=int, default=10, help="seeds 0 .. N-1 (default 10)")
    parser.add_argument("--cores", type=int, default=2, help="cores to fill with one-thread runs (default 2)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell (notebooks) or per run (tests)")
    parser.add_argument("--report", action="store_true", help="only rewrite the report from the saved runs")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    targets = []
    for notebook in notebooks(args.paths):
        check_parameters_cell(notebook)
        targets.append((key_of(notebook), code_hash(notebook),
                        lambda seed, threads, timeout, nb=notebook: run_notebook(nb, seed, threads, timeout)))
    if args.tests:
        targets.append((TESTS_KEY, tests_hash(), run_tests))
    if not args.report:
        sweep(targets, args.runs, args.cores, args.timeout)

    # the report covers every notebook of the book, swept or not
    keys = [(key_of(nb), code_hash(nb), nb) for nb in notebooks([str(ROOT / "book")])]
    keys.append((TESTS_KEY, tests_hash(), None))
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(report(keys))
    print(f"report: {REPORT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
