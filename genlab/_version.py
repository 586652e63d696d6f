"""genlab's version, in one place: the package metadata (pyproject.toml), `genlab.__version__`,
the notebooks' install cell (which installs the release tagged vVERSION) and the execution
record under each page all read it from here. `python scripts/release.py X.Y.Z` changes it."""

__version__ = "0.1.0"
