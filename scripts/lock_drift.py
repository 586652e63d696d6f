"""Print how the running environment differs from a lock file: `python scripts/lock_drift.py requirements-lock.txt`.

Lists each locked package installed at another version (newer or older), each locked package
missing, and each installed package the lock does not name. `make test-latest` runs it in its
environment of newest versions, so that its report says which new releases it tested.
Exits 0 whatever it finds: it informs, the tests decide.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def normalise(name: str) -> str:
    """A distribution name as the package index compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path: Path) -> dict[str, str]:
    """{normalised name: version} of every `name==version` line of a requirements lock."""
    pins = {}
    for line in path.read_text().splitlines():
        match = PIN.match(line.strip())
        if match:
            pins[normalise(match.group(1))] = match.group(2)
    return pins


def installed() -> dict[str, str]:
    return {normalise(d.metadata["Name"]): d.version for d in metadata.distributions() if d.metadata["Name"]}


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.splitlines()[0], file=sys.stderr)
        return 2
    lock, here = read_lock(Path(argv[0])), installed()
    changed = sorted((name, lock[name], here[name]) for name in lock if name in here and here[name] != lock[name])
    missing = sorted(name for name in lock if name not in here)
    extra = sorted(name for name in here if name not in lock and name not in ("pip", "genlab"))
    print(f"{len(changed)} of {len(lock)} locked packages at another version than {argv[0]}:")
    for name, old, new in changed:
        print(f"  {name}: {old} -> {new}")
    if missing:
        print(f"locked but not installed: {', '.join(missing)}")
    if extra:
        print(f"installed but not locked: {', '.join(extra)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
