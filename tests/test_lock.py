"""requirements-lock.txt, from which `make install` builds: complete, hashed, and within every
bound that pyproject.toml and environment.yml state."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from test_packaging import conda_set, pip_set

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements-lock.txt"


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(text: str) -> dict[str, tuple[Version, list[str]]]:
    """{name: (version, [hashes])} of a pip requirements file made of `name==version \\ --hash=...` entries."""
    entries: dict[str, tuple[Version, list[str]]] = {}
    joined = re.sub(r"\\\n", " ", text)  # continuation lines
    for line in joined.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        assert not line.startswith("-"), f"option line {line!r} in the lock: it must hold only pinned packages"
        requirement, *options = line.split()
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", requirement)
        assert match, f"{requirement!r} in the lock is not pinned with =="
        hashes = [o.removeprefix("--hash=") for o in options if o.startswith("--hash=sha256:")]
        assert len(hashes) == len(options), f"{requirement}: unexpected options {options}"
        name = normalise(match.group(1))
        assert name not in entries, f"{name} is locked twice"
        entries[name] = (Version(match.group(2)), hashes)
    return entries


@pytest.fixture(scope="module")
def lock():
    return read_lock(LOCK.read_text())


def test_every_locked_package_is_pinned_and_hashed(lock):
    assert len(lock) > 50, f"only {len(lock)} packages in {LOCK.name}"
    unhashed = [name for name, (_, hashes) in lock.items() if not hashes]
    assert not unhashed, f"locked without a hash: {unhashed}"
    assert "genlab" not in lock, "the package itself is installed from the working tree, not the lock"


def pyproject_bounds() -> dict[str, str]:
    """{name: specifier} of the dependencies and of every extra in pyproject.toml (the lock holds them all)."""
    found = pip_set()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    for texts in project["optional-dependencies"].values():
        for text in texts:
            requirement = Requirement(text)
            found.setdefault(normalise(requirement.name), str(requirement.specifier))
    return found


@pytest.mark.parametrize("source", ["pyproject.toml", "environment.yml"])
def test_the_lock_satisfies_every_stated_bound(lock, source):
    bounds = pyproject_bounds() if source == "pyproject.toml" else conda_set()
    missing = sorted(name for name in bounds if name not in lock)
    assert not missing, f"named in {source} but not locked: {missing}"
    outside = {name: (str(lock[name][0]), spec) for name, spec in bounds.items()
               if not SpecifierSet(spec).contains(lock[name][0], prereleases=True)}
    assert not outside, f"locked versions outside {source}'s bounds: {outside}"


def test_the_lock_holds_the_cpu_torch_its_input_names(lock):
    pins = [Requirement(line) for line in (ROOT / "requirements-lock.in").read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    for pin in pins:
        assert normalise(pin.name) in lock and pin.specifier.contains(lock[normalise(pin.name)][0]), (str(pin), lock.get(pin.name))
    assert lock["torch"][0].local == "cpu", "the lock must hold PyTorch's CPU build"


def test_make_install_builds_from_the_lock_exactly():
    makefile = (ROOT / "Makefile").read_text()
    rule = makefile[makefile.index("$(VENV)/.installed:"):makefile.index("@touch $@")]
    assert "$(LOCK)" in rule.splitlines()[0], "the environment is not rebuilt when the lock changes"
    assert "--require-hashes --no-deps -r $(LOCK)" in rule
    assert "--no-deps --no-build-isolation -e ." in rule and "pip check" in rule
    assert re.search(r"^LOCK\s*:=\s*requirements-lock.txt$", makefile, re.M)


def test_the_lock_reader_catches_what_it_must(lock):
    assert read_lock("a==1.0 \\\n    --hash=sha256:00\nb==2 --hash=sha256:11\n") == {
        "a": (Version("1.0"), ["sha256:00"]), "b": (Version("2"), ["sha256:11"])}
    for bad in ("a>=1.0 --hash=sha256:00", "a==1 --hash=sha256:0\nA==2 --hash=sha256:1", "-e .", "a==1 --no-binary x"):
        with pytest.raises(AssertionError):
            read_lock(bad)
    assert not read_lock("a==1")["a"][1]  # no hash: caught by the test above
    assert not SpecifierSet(">=3").contains(Version("2.13.0+cpu"))
