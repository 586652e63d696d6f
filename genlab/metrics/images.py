"""Quality measures for generated images, computed on the features of a small classifier of the real ones.

Without Inception weights (offline, and meaningless for 8×8 digits anyway) the natural
feature extractor is `genlab.metrics.digit_classifier()`, a CNN trained on the real
digits. On its 128 penultimate features we compute the Fréchet distance and k-NN
precision/recall; on the pixels themselves a sharpness score. Every number has a floor:
`real_floor` scores one half of the real digits against the other half, which is what a
perfect generator would get with that many samples.

All images have pixel values in [-1, 1] — map a Bernoulli VAE's [0, 1] output with 2x − 1
first — and the shape the classifier reads: (N, 1, 8, 8) for the default digit classifier,
(N, 1, 28, 28) for `genlab.metrics.fashion_classifier()`. Any classifier with `features` and
`predict_proba` methods (and, to have shapes checked up front, an `image_shape` attribute)
can be passed instead.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from genlab.checks import check_count, check_non_negative, check_seed
from genlab.metrics.classifier import DigitClassifier, ImageClassifier, digit_classifier
from genlab.metrics.distances import frechet_distance, precision_recall

# A confident label: the classifier's top probability above this.
CONFIDENCE = 0.9

# Discrete Laplacian (5-point stencil): the second derivative in x plus in y.
LAPLACIAN = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def _check_images(images: Tensor, name: str = "images") -> Tensor:
    if not isinstance(images, Tensor):
        raise TypeError(f"{name} must be a Tensor of shape (N, C, H, W), got {type(images).__name__}")
    if images.ndim != 4:
        raise ValueError(f"{name} must have shape (N, C, H, W), got {tuple(images.shape)}")
    if images.dtype == torch.bool or images.is_complex():
        raise TypeError(f"{name} must hold real pixel values, got dtype {images.dtype}")
    if images.shape[1] < 1:
        raise ValueError(f"{name} must have at least one channel, got shape {tuple(images.shape)}")
    if images.shape[2] < 3 or images.shape[3] < 3:
        raise ValueError(f"{name} must be at least 3×3 pixels, got {tuple(images.shape[2:])}")
    if not torch.isfinite(images).all():
        raise ValueError(f"{name} contain NaN or infinite values")
    return images


def _check_classifier(classifier: object) -> None:
    if classifier is not None and not (
        isinstance(classifier, ImageClassifier)
        or (callable(getattr(classifier, "features", None)) and callable(getattr(classifier, "predict_proba", None)))
    ):
        raise TypeError(
            f"classifier must be a DigitClassifier (genlab.metrics.digit_classifier()), a FashionClassifier "
            f"(genlab.metrics.fashion_classifier()), another object with features and predict_proba methods, "
            f"or None, got {type(classifier).__name__}"
        )


def _expected_shape(classifier: object) -> tuple[tuple[int, ...] | None, str]:
    """The (C, H, W) `classifier` reads (None if it does not say) and its name for messages."""
    if classifier is None:
        return DigitClassifier.image_shape, DigitClassifier.name
    shape = getattr(classifier, "image_shape", None)
    return (tuple(shape) if shape is not None else None), getattr(classifier, "name", "classifier")


def _check_for(images: Tensor, name: str, classifier: object) -> Tensor:
    """Images `classifier` can read (the digit classifier's when None): (N, *image_shape), finite."""
    _check_images(images, name)
    shape, what = _expected_shape(classifier)
    if shape is not None and tuple(images.shape[1:]) != shape:
        expected = "(N, " + ", ".join(str(size) for size in shape) + ")"
        raise ValueError(f"{name} must have shape {expected} for the {what}, got {tuple(images.shape)}")
    return images


def _check_digits(images: Tensor, name: str) -> Tensor:
    """Images the digit classifier can read: (N, 1, 8, 8), finite."""
    return _check_for(images, name, None)


def sharpness(images: Tensor) -> Tensor:
    """Mean squared Laplacian per image: (N, C, H, W) -> (N,).

    The 5-point Laplacian responds to edges and fine detail and is zero on linear ramps, so
    blurring (which removes high frequencies) lowers it. It is taken on the interior
    (H − 2) × (W − 2) pixels only, so padding invents no edges at the border. Scale matters:
    pass images in [-1, 1] so that numbers are comparable (real 8×8 digits average about 4).
    Integer images are converted to float32 first.
    """
    x = _check_images(images).to(torch.float32)
    n, c, h, w = x.shape
    kernel = LAPLACIAN.to(x.device).expand(c, 1, 3, 3)
    response = F.conv2d(x, kernel, groups=c)  # (N, C, H - 2, W - 2), no padding
    return response.pow(2).flatten(1).mean(dim=1)


def gaussian_blur(images: Tensor, sigma: float) -> Tensor:
    """Blur images (N, C, H, W) with a Gaussian of std `sigma` pixels; same shape out.

    Reflect padding keeps the border as bright as its neighbours. sigma = 0 returns a copy.
    images must be floating-point; sigma a finite number ≥ 0.
    """
    x = _check_images(images)
    if not x.is_floating_point():
        raise TypeError(f"images must hold floating-point values to be blurred, got dtype {x.dtype}; use .float()")
    sigma = check_non_negative(sigma, "sigma")  # in pixels: "sigma must be a finite number ≥ 0, got nan"
    if sigma == 0:
        return x.clone()
    radius = max(1, min(math.ceil(3 * sigma), min(x.shape[2:]) - 1))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    weights = torch.exp(-(t**2) / (2 * sigma**2))
    weights = weights / weights.sum()
    c = x.shape[1]
    padded = F.pad(x, (radius, radius, radius, radius), mode="reflect")
    # The 2-D Gaussian is separable: one pass along the rows, one along the columns.
    rows = F.conv2d(padded, weights.reshape(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(rows, weights.reshape(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def digit_features(images: Tensor, classifier: DigitClassifier | None = None) -> Tensor:
    """The digit classifier's 128 penultimate activations: (N, 1, 8, 8) in [-1, 1] -> (N, 128).

    By default the shared classifier of `genlab.metrics.digit_classifier()` on the images'
    device; its held-out accuracy is `classifier.test_accuracy` (about 0.98).
    """
    _check_digits(images, "images")
    _check_classifier(classifier)
    if classifier is None:
        classifier = digit_classifier(device=images.device)
    return classifier.features(images)


@dataclass(frozen=True)
class ImageScores:
    """Scores of a set of images against real ones.

    Attributes:
        frechet: Fréchet distance between classifier features (lower is better).
        precision: fraction of the images on the real images' k-NN feature manifold (quality).
        recall: fraction of real images on the images' k-NN feature manifold (diversity).
        sharpness: mean of `sharpness` over the images (real 8×8 digits: about 4).
        confident: fraction of images the classifier labels with probability > 0.9.
    """

    frechet: float
    precision: float
    recall: float
    sharpness: float
    confident: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def image_scores(fake: Tensor, real: Tensor, classifier: ImageClassifier | None = None, k: int = 3) -> ImageScores:
    """Score generated images fake (M, C, H, W) against real images real (N, C, H, W), both in [-1, 1].

    Fréchet distance and precision/recall (k neighbours) use the classifier's features
    (`digit_features` for the default digit classifier); sharpness and the confident fraction
    describe `fake` alone. Both sets must have the classifier's `image_shape`: (1, 8, 8) for
    the digit classifier (the default, on fake's device), (1, 28, 28) for the Fashion-MNIST one.
    Set sizes matter for all three feature scores: compare with `real_floor` at the same sizes
    (M = N = half the data set).
    """
    _check_classifier(classifier)
    _check_for(fake, "fake", classifier)
    _check_for(real, "real", classifier)
    if tuple(fake.shape[1:]) != tuple(real.shape[1:]):
        raise ValueError(f"fake and real must have the same image shape, got {tuple(fake.shape)} and {tuple(real.shape)}")
    k = check_count(k, "k", minimum=1)
    if classifier is None:
        classifier = digit_classifier(device=fake.device)
    real = real.to(fake.device)
    f_fake, f_real = classifier.features(fake), classifier.features(real)
    pr = precision_recall(f_real, f_fake, k=k)
    top = classifier.predict_proba(fake).max(dim=1).values
    return ImageScores(
        frechet=frechet_distance(f_fake, f_real),
        precision=pr.precision,
        recall=pr.recall,
        sharpness=sharpness(fake).mean().item(),
        confident=(top > CONFIDENCE).double().mean().item(),
    )


def split_halves(images: Tensor, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Two disjoint random halves of images (N, ...): ((N // 2, ...), (N - N // 2, ...))."""
    if not isinstance(images, Tensor):
        raise TypeError(f"images must be a torch.Tensor of at least 2 images, got {type(images).__name__}")
    if images.ndim < 1 or len(images) < 2:
        raise ValueError(
            f"images must hold at least 2 images to split in halves, got shape {tuple(images.shape)}"
        )
    seed = check_seed(seed)
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed)).to(images.device)
    half = len(images) // 2
    return images[order[:half]], images[order[half:]]


def real_floor(images: Tensor, seed: int = 0, classifier: ImageClassifier | None = None, k: int = 3) -> ImageScores:
    """`image_scores` of one random half of real images (N, C, H, W) against the other half.

    The row every table of generated images should show: what a generator that samples
    the data distribution exactly would score with N // 2 samples against N - N // 2 real ones.
    Images have the classifier's shape ((1, 8, 8) for the default digit classifier).
    """
    _check_classifier(classifier)
    first, second = split_halves(_check_for(images, "images", classifier), seed)
    return image_scores(first, second, classifier=classifier, k=k)
