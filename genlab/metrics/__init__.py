"""Measures of how good a generative model is."""

from genlab.metrics.classifier import DigitClassifier, digit_classifier
from genlab.metrics.modes import ModeCoverage, mode_coverage

__all__ = ["DigitClassifier", "ModeCoverage", "digit_classifier", "mode_coverage"]
