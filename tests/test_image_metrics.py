import pytest
import torch

import genlab
from genlab.metrics import (
    ImageScores,
    digit_classifier,
    digit_features,
    gaussian_blur,
    image_scores,
    real_floor,
    sharpness,
    split_halves,
)


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    return genlab.data.digits((-1, 1)).tensors[0]


def test_sharpness_known_answers():
    constant = torch.full((2, 1, 8, 8), 0.3)
    rows, cols = torch.meshgrid(torch.arange(8.0), torch.arange(8.0), indexing="ij")
    ramp = (0.1 * rows - 0.2 * cols).reshape(1, 1, 8, 8)  # linear: the Laplacian vanishes
    checker = ((rows + cols) % 2 * 2 - 1).reshape(1, 1, 8, 8)  # ±1: each interior pixel gives ∓8
    assert torch.allclose(sharpness(constant), torch.zeros(2))
    assert sharpness(ramp).item() == pytest.approx(0.0, abs=1e-10)
    assert sharpness(checker).item() == pytest.approx(64.0)
    assert sharpness(torch.cat([checker, 0.5 * checker])).tolist() == pytest.approx([64.0, 16.0])


def test_gaussian_blur_keeps_constants_and_sums_and_zero_is_identity():
    constant = torch.full((3, 1, 8, 8), -0.4)
    assert torch.allclose(gaussian_blur(constant, 1.0), constant, atol=1e-6)
    x = torch.randn(4, 2, 8, 8, generator=torch.Generator().manual_seed(0))
    assert torch.equal(gaussian_blur(x, 0.0), x)
    blurred = gaussian_blur(x, 0.7)
    assert blurred.shape == x.shape
    assert blurred.std() < x.std()


@pytest.mark.statistical
def test_blur_lowers_sharpness_and_raises_the_frechet_distance(images, seed):
    first, second = split_halves(images, seed=seed)
    classifier = digit_classifier(seed=seed)
    sharp, fd = [], []
    for sigma in (0.0, 0.5, 1.0):
        scores = image_scores(gaussian_blur(first, sigma), second, classifier)
        sharp.append(scores.sharpness)
        fd.append(scores.frechet)
    # seeds 0–9, 1 thread: sharpness falls 2.75–2.76x then 13.7–14.0x; Fréchet rises 11–20x then 6.5–7.8x
    assert sharp[0] > 2 * sharp[1] > 4 * sharp[2]
    assert fd[0] < fd[1] < fd[2]
    assert fd[1] > 5 * fd[0]


def test_digit_features(images):
    classifier = digit_classifier()
    assert classifier.test_accuracy >= 0.97
    features = digit_features(images[:10])
    assert features.shape == (10, 128)
    assert torch.equal(features, classifier.features(images[:10]))
    assert (features >= 0).all()  # activations after a ReLU


def test_identical_sets_score_perfectly(images):
    s = image_scores(images[:400], images[:400].clone())
    assert s.frechet == pytest.approx(0.0, abs=1e-6)
    assert (s.precision, s.recall) == (1.0, 1.0)
    assert s.sharpness == pytest.approx(sharpness(images[:400]).mean().item())


@pytest.mark.statistical
def test_real_floor_is_close_to_perfect_and_reproducible(images, seed):
    classifier = digit_classifier(seed=seed)
    floor = real_floor(images, seed=seed, classifier=classifier)
    assert isinstance(floor, ImageScores)
    assert floor == real_floor(images, seed=seed, classifier=classifier)
    # seeds 0–9, 1 thread: Fréchet 1.2–2.8, precision 0.904–0.934, recall 0.912–0.938, confident 0.962–0.978
    assert floor.frechet < 10
    assert floor.precision > 0.85 and floor.recall > 0.85
    assert floor.confident > 0.9
    assert floor.sharpness == pytest.approx(sharpness(split_halves(images, seed)[0]).mean().item())


@pytest.mark.statistical
def test_noise_images_score_badly(images, seed):
    classifier = digit_classifier(seed=seed)
    noise = torch.rand(500, 1, 8, 8, generator=torch.Generator().manual_seed(seed)) * 2 - 1
    s = image_scores(noise, split_halves(images, seed)[1], classifier)
    floor = real_floor(images, seed=seed, classifier=classifier)
    # seeds 0–9, 1 thread: Fréchet 71–166x the floor; recall ≤ 0.010. Precision is not reliably small:
    # 0.004–0.32 (up to 0.38 over 12 classifier seeds × 3 draws), as the k-NN balls of outlying real
    # digits are wide in feature space and take in some noise images
    assert s.frechet > 20 * floor.frechet
    assert s.precision < 0.6 and s.recall < 0.1


def test_split_halves_are_disjoint_and_cover_the_data():
    x = torch.arange(11.0).reshape(11, 1)
    a, b = split_halves(x, seed=3)
    assert (len(a), len(b)) == (5, 6)
    assert sorted(torch.cat([a, b]).flatten().tolist()) == list(range(11))
    c, _ = split_halves(x, seed=4)
    assert not torch.equal(a, c)


def test_bad_images_are_rejected(images):
    with pytest.raises(ValueError, match=r"shape \(N, C, H, W\)"):
        sharpness(torch.zeros(5, 8, 8))
    with pytest.raises(ValueError, match="at least 3×3"):
        sharpness(torch.zeros(5, 1, 2, 8))
    nan = images[:5].clone()
    nan[0, 0, 0, 0] = float("nan")
    for fn in (sharpness, digit_features, lambda x: gaussian_blur(x, 1.0)):
        with pytest.raises(ValueError, match="NaN or infinite"):
            fn(nan)
    with pytest.raises(ValueError, match="NaN or infinite"):
        image_scores(images[:10], nan)
    with pytest.raises(TypeError, match="must be a Tensor"):
        sharpness([[0.0]])
    with pytest.raises(ValueError, match="sigma"):
        gaussian_blur(images[:2], -1.0)
    with pytest.raises(ValueError, match=r"pixel values in \[-1, 1\]"):
        digit_features(images[:5] * 16)  # grey levels, not [-1, 1]
    with pytest.raises(ValueError, match=r"\(N, 1, 8, 8\)"):
        digit_features(torch.zeros(4, 1, 16, 16))
    with pytest.raises(ValueError, match="at least 4 samples"):
        image_scores(images[:3], images[:100])
    with pytest.raises(ValueError, match="at least 2 images"):
        split_halves(images[:1])
