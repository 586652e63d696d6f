"""Measures of how good a generative model is."""

from genlab.metrics.classifier import DigitClassifier, ImageClassifier, digit_classifier
from genlab.metrics.distances import (
    PrecisionRecall,
    energy_distance,
    frechet_distance,
    frechet_distance_from_moments,
    median_bandwidth,
    mmd,
    precision_recall,
)
from genlab.metrics.fashion import FashionClassifier, fashion_classifier
from genlab.metrics.images import (
    ImageScores,
    digit_features,
    gaussian_blur,
    image_scores,
    real_floor,
    sharpness,
    split_halves,
)
from genlab.metrics.modes import MixtureMMD, ModeCoverage, mixture_mmd, mode_coverage
from genlab.metrics.sequences import (
    RepeatedScore,
    SequenceClassifier,
    discriminative_score,
    predictive_score,
    repeat_score,
)
from genlab.metrics.stacked import StackedModes, stacked_modes

__all__ = [
    "DigitClassifier",
    "FashionClassifier",
    "ImageClassifier",
    "ImageScores",
    "MixtureMMD",
    "ModeCoverage",
    "PrecisionRecall",
    "RepeatedScore",
    "StackedModes",
    "digit_classifier",
    "digit_features",
    "discriminative_score",
    "energy_distance",
    "fashion_classifier",
    "frechet_distance",
    "frechet_distance_from_moments",
    "gaussian_blur",
    "image_scores",
    "median_bandwidth",
    "mixture_mmd",
    "mmd",
    "mode_coverage",
    "precision_recall",
    "predictive_score",
    "real_floor",
    "repeat_score",
    "SequenceClassifier",
    "sharpness",
    "split_halves",
    "stacked_modes",
]
