"""The pytest markers mean what the README says: `distributed` and `book` tests are also `slow`,
so `make test-fast` (not slow, not statistical) leaves them out; every marker used is declared."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def marks_by_test() -> dict[str, set[str]]:
    """{file::test: the pytest.mark names on it, the module's pytestmark included}."""
    found = {}
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        module = {node.attr for stmt in tree.body if isinstance(stmt, ast.Assign)
                  and any(getattr(t, "id", "") == "pytestmark" for t in stmt.targets)
                  for node in ast.walk(stmt.value) if isinstance(node, ast.Attribute)
                  and getattr(node.value, "attr", "") == "mark"}
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
                marks = {d.attr if isinstance(d, ast.Attribute) else getattr(d.func, "attr", "")
                         for d in node.decorator_list
                         if "pytest.mark." in ast.unparse(d)}
                found[f"{path.relative_to(ROOT)}::{node.name}"] = marks | module
    return found


def test_distributed_and_book_tests_are_also_slow():
    marks = marks_by_test()
    assert any("distributed" in m for m in marks.values()) and any("book" in m for m in marks.values())
    unmarked = [test for test, m in marks.items() if m & {"distributed", "book"} and "slow" not in m]
    assert not unmarked, f"marked distributed or book but not slow: {unmarked}"


def test_every_marker_used_is_declared():
    declared = {line.split(":")[0] for line in
                tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["markers"]}
    builtin = {"parametrize", "skipif", "skip", "xfail", "usefixtures", "filterwarnings", "timeout"}
    used = set().union(*marks_by_test().values()) - builtin
    assert used <= declared, f"markers used but not declared in pyproject.toml: {sorted(used - declared)}"
