"""Mode counting on stacked digits, the Stacked MNIST protocol (Srivastava et al., 2017; Lin et al., 2018).

A pretrained digit classifier labels each of the three channels of a generated image;
the label triple is its mode, one of 1,000. Over many samples (26,000 in the papers) we
report how many modes appear at least once and the KL divergence between the histogram
of modes and the uniform distribution over all 1,000 — 0 for a perfectly even spread,
log 1000 ≈ 6.91 when every sample falls in one mode.

Here the classifier is `genlab.metrics.digit_classifier()`, trained on 8×8 digits, so the
numbers belong to the 8×8 analogue built by `genlab.data.stacked_digits`, not to MNIST.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import Tensor

from genlab.checks import check_count, check_finite, check_value_range
from genlab.data.stacked import N_CHANNELS, N_MODES, mode_index
from genlab.metrics.classifier import DigitClassifier, digit_classifier
from genlab.metrics.modes import kl_to_uniform

IMAGE_SHAPE = (N_CHANNELS, 8, 8)
RANGES = {(0, 1), (-1, 1)}


@dataclass(frozen=True)
class StackedModes:
    """Mode figures for one set of stacked-digit samples.

    Attributes:
        modes: number of the 1,000 label triples that at least one sample falls in.
        kl: KL(p̂ ‖ uniform over 1,000) for the histogram p̂ of samples over modes, in nats.
        confident: fraction of samples whose three channels all get a top class probability
            above `threshold` — a rough quality figure: blurry or hybrid digits fail it.
        counts: samples per mode, shape (1000,); mode = 100·l0 + 10·l1 + l2.
    """

    modes: int
    kl: float
    confident: float
    counts: Tensor

    def as_dict(self) -> dict[str, float]:
        d = asdict(self)
        d.pop("counts")
        return d


def _check_images(images: Tensor, value_range: tuple[int, int]) -> Tensor:
    if not isinstance(images, Tensor):
        raise TypeError(f"images must be a torch.Tensor, got {type(images).__name__}")
    check_value_range(value_range)
    if images.ndim != 4 or tuple(images.shape[1:]) != IMAGE_SHAPE:
        raise ValueError(f"images (stacked digits) must have shape (N, 3, 8, 8), got {tuple(images.shape)}")
    if len(images) == 0:
        raise ValueError("images is empty: no images to score")
    if images.dtype == torch.bool or images.is_complex():
        raise TypeError(f"images must hold real pixel values, got dtype {images.dtype}")
    x = images.detach().float()  # integer images are converted to float32
    if not torch.isfinite(x).all():
        raise ValueError("images contain NaN or infinite values")
    lo, hi = value_range
    if x.min() < lo - 1e-3 or x.max() > hi + 1e-3:
        raise ValueError(
            f"images should lie in value_range {tuple(value_range)}, got [{x.min().item():.3g}, {x.max().item():.3g}]"
        )
    return x if lo == -1 else 2 * x - 1  # the classifier reads [-1, 1]


def classify_stacked(
    images: Tensor,
    classifier: DigitClassifier | None = None,
    *,
    value_range: tuple[int, int] = (-1, 1),
    batch_size: int = 8192,
) -> tuple[Tensor, Tensor]:
    """Label every channel of stacked digits (N, 3, 8, 8).

    Returns:
        labels (N, 3), the most probable digit per channel, and confidence (N, 3), its probability;
        both on the CPU.
    batch_size (a positive integer) is how many single digits the classifier sees at once.
    """
    x = _check_images(images, value_range)
    check_count(batch_size, "batch_size", minimum=1)
    if classifier is not None and not isinstance(classifier, DigitClassifier):
        raise TypeError(f"classifier must be a DigitClassifier or None, got {type(classifier).__name__}")
    # Fetched outside any no_grad block: the first call trains the classifier.
    clf = classifier if classifier is not None else digit_classifier(x.device)
    singles = x.reshape(-1, 1, 8, 8)  # (N, 3, 8, 8) -> (3N, 1, 8, 8): channel c of image i is row 3i + c
    # In chunks: the classifier's first feature map is 32 × 8 × 8 per digit.
    probs = torch.cat([clf.predict_proba(chunk.to(clf.device)).cpu() for chunk in singles.split(batch_size)])
    confidence, labels = probs.max(dim=1)
    return labels.reshape(-1, N_CHANNELS), confidence.reshape(-1, N_CHANNELS)


def stacked_modes(
    images: Tensor,
    classifier: DigitClassifier | None = None,
    *,
    value_range: tuple[int, int] = (-1, 1),
    threshold: float = 0.9,
) -> StackedModes:
    """Count the modes of stacked digits (N, 3, 8, 8) with a digit classifier.

    Args:
        images: generated (or real) stacked digits with values in `value_range`; integer
            images are converted to float32.
        classifier: defaults to `genlab.metrics.digit_classifier()` on the images' device.
        value_range: (-1, 1) (tanh generators) or (0, 1) (Bernoulli decoders).
        threshold: the top class probability a channel needs to count as confidently labelled.
    Raises:
        TypeError: images that are not a tensor.
        ValueError: a wrong shape, no images, NaN or values outside `value_range`.
    """
    check_finite(threshold, "threshold")
    if not 0 <= threshold < 1:
        raise ValueError(f"threshold must lie in [0, 1), got {threshold}")
    labels, confidence = classify_stacked(images, classifier, value_range=value_range)
    counts = torch.bincount(mode_index(labels), minlength=N_MODES)
    return StackedModes(
        modes=int((counts > 0).sum()),
        # The Stacked MNIST KL (Srivastava et al., 2017; Lin et al., 2018): mode histogram against uniform.
        kl=kl_to_uniform(counts),
        confident=float((confidence > threshold).all(dim=1).float().mean()),
        counts=counts,
    )


# Every sample in one mode: KL(δ ‖ uniform) = log 1000, the largest value the KL can take.
MAX_KL = math.log(N_MODES)
