"""Measures of how good a generative model is."""

from genlab.metrics.modes import ModeCoverage, mode_coverage

__all__ = ["ModeCoverage", "mode_coverage"]
