"""Stacked digits (the 8×8 analogue of Stacked MNIST): data, mode counting and the benchmark."""

import math

import pytest
import torch

import genlab
from genlab.data.stacked import digit_pool, mode_index, stacked_digits
from genlab.metrics import digit_classifier
from genlab.metrics.modes import kl_to_uniform
from genlab.metrics.stacked import classify_stacked, stacked_modes


@pytest.fixture(scope="module")
def real(seed):
    """26,000 stacks of training-split digits, the size of the published protocol."""
    return stacked_digits(26_000, seed=seed).tensors


@pytest.fixture(scope="module")
def classifier(seed):
    """The digit classifier trained with the test seed (the benchmark itself always uses seed 0)."""
    return digit_classifier(seed=seed)


def _rows(images: torch.Tensor) -> torch.Tensor:
    return images.reshape(len(images), -1)


# --- data -----------------------------------------------------------------------------


def test_shapes_types_and_value_ranges():
    images, labels = stacked_digits(50, seed=3).tensors
    assert images.shape == (50, 3, 8, 8) and images.dtype == torch.float32
    assert labels.shape == (50, 3) and labels.dtype == torch.long
    assert labels.min() >= 0 and labels.max() <= 9
    assert images.min() >= -1 and images.max() <= 1 and images.min() == -1  # blank background is -1
    unit, unit_labels = stacked_digits(50, seed=3, value_range=(0, 1)).tensors
    assert torch.equal(unit_labels, labels)
    torch.testing.assert_close(2 * unit - 1, images)


def test_each_channel_is_a_pool_digit_with_its_label():
    for split in ("train", "test", "all"):
        pool_images, pool_labels = digit_pool(split).tensors
        pool = _rows(pool_images)  # (M, 64)
        images, labels = stacked_digits(300, seed=1, split=split).tensors
        singles = images.reshape(-1, 64)  # channel c of image i is row 3i + c
        match = (singles[:, None, :] == pool[None, :, :]).all(dim=2)  # (900, M)
        assert match.any(dim=1).all(), f"a channel is not a digit of the {split!r} pool"
        # Some exact copy of the image in the pool carries the label we were given.
        carries = (match & (pool_labels[None, :] == labels.reshape(-1, 1))).any(dim=1)
        assert carries.all()


def test_splits_are_the_classifiers_split():
    train, test = genlab.data.split(genlab.data.digits(), 0.2, seed=0)
    assert torch.equal(digit_pool("train").tensors[0], train.tensors[0])
    assert torch.equal(digit_pool("test").tensors[0], test.tensors[0])
    assert len(digit_pool("train")) == 1438 and len(digit_pool("test")) == 359 and len(digit_pool("all")) == 1797
    # Held-out stacks are made of held-out digits only.
    held = stacked_digits(500, seed=0, split="test").tensors[0].reshape(-1, 64)
    in_test = (held[:, None] == _rows(test.tensors[0])[None]).all(2).any(1)
    assert in_test.all()


@pytest.mark.statistical
def test_labels_uniform_and_independent_across_channels(real):
    _, labels = real
    n = len(labels)
    for c in range(3):
        counts = torch.bincount(labels[:, c], minlength=10).double()
        # Binomial(26,000, 0.1): sd ≈ 48; 5 sd leaves room for every seed (seeds 0–9, 1 thread: at most 3.3 sd)
        assert (counts - n / 10).abs().max() < 5 * math.sqrt(n * 0.1 * 0.9)
    # Independence: all 1,000 triples appear, each about 26 times (Poisson sd ≈ 5).
    per_mode = torch.bincount(mode_index(labels), minlength=1000)
    # seeds 0–9, 1 thread: 8–14 to 42–48 stacks per triple
    assert (per_mode > 0).all() and per_mode.max() < 60


def test_same_seed_same_data_other_seed_other_data():
    a = stacked_digits(40, seed=7).tensors
    b = stacked_digits(40, seed=7).tensors
    c = stacked_digits(40, seed=8).tensors
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not torch.equal(a[1], c[1])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(n=0), "positive integer"),
        (dict(n=-5), "positive integer"),
        (dict(n=2.5), "positive integer"),
        (dict(n=10, split="validation"), "split must be one of"),
        (dict(n=10, value_range=(0, 255)), "value_range"),
    ],
)
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        stacked_digits(**kwargs)


def test_mode_index_known_answers_and_errors():
    assert mode_index(torch.tensor([[0, 0, 0], [9, 9, 9], [1, 2, 3]])).tolist() == [0, 999, 123]
    with pytest.raises(ValueError, match=r"shape \(N, 3\)"):
        mode_index(torch.zeros(4, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="digits 0..9"):
        mode_index(torch.tensor([[0, 10, 1]]))


# --- mode counting ----------------------------------------------------------------------


def test_kl_to_uniform_known_answers():
    assert kl_to_uniform(torch.full((1000,), 26)) == pytest.approx(0.0, abs=1e-12)
    assert kl_to_uniform(torch.tensor([5, 0, 0, 0])) == pytest.approx(math.log(4))
    assert kl_to_uniform(torch.tensor([3, 3, 0, 0])) == pytest.approx(math.log(2))
    with pytest.raises(ValueError, match="non-negative"):
        kl_to_uniform(torch.zeros(10))
    with pytest.raises(ValueError, match="1-D"):
        kl_to_uniform(torch.ones(2, 5))


@pytest.mark.statistical
def test_real_stacks_recover_their_labels(real, classifier):
    images, labels = real
    score = stacked_modes(images, classifier)
    assert score.counts.shape == (1000,) and int(score.counts.sum()) == len(images)
    assert score.modes == 1000  # the sample covers every triple (previous test) and they are all found
    # The only gap to 0 is finite-sample noise: the KL of the true labels' histogram,
    # ≈ 999 / (2 · 26,000) ≈ 0.019.
    true_kl = kl_to_uniform(torch.bincount(mode_index(labels), minlength=1000))
    # seeds 0–9, 1 thread: |KL − true KL| ≤ 0.0003, KL 0.018–0.021, confident 0.920–0.961
    assert abs(score.kl - true_kl) < 0.005 and score.kl < 0.03
    assert score.confident > 0.85


@pytest.mark.statistical
def test_held_out_stacks_show_the_classifiers_error(classifier, seed):
    images, labels = stacked_digits(1000, seed=seed, split="test").tensors
    predicted, confidence = classify_stacked(images, classifier)
    per_channel = (predicted == labels).float().mean().item()
    # seeds 0–9, 1 thread: 0.976–0.996; the smallest confidence 0.34–0.59
    assert 0.95 < per_channel < 1.0  # about 98% on digits the classifier never saw
    assert confidence.shape == (1000, 3) and ((confidence > 0.1) & (confidence <= 1)).all()


@pytest.mark.statistical
def test_modes_equal_distinct_recovered_triples_on_a_small_sample(classifier, seed):
    images, labels = stacked_digits(300, seed=seed).tensors
    predicted, _ = classify_stacked(images, classifier)
    score = stacked_modes(images, classifier)
    assert score.modes == len(torch.unique(mode_index(predicted)))
    # 300 draws over 1,000 triples cover about 1000 · (1 - e^-0.3) ≈ 259 of them.
    true_modes = len(torch.unique(mode_index(labels)))
    # seeds 0–9, 1 thread: 254–267 triples, all but at most one recovered
    assert 230 < true_modes < 290 and abs(score.modes - true_modes) <= 3


def _correctly_classified(images, labels):
    predicted, _ = classify_stacked(images)
    keep = (predicted == labels).all(dim=1)
    return images[keep], labels[keep]


def test_one_repeated_image_is_one_mode_with_kl_log_1000(real):
    images, labels = _correctly_classified(*(t[:50] for t in real))
    score = stacked_modes(images[:1].repeat(400, 1, 1, 1))
    assert score.modes == 1
    assert score.kl == pytest.approx(math.log(1000))
    assert score.counts[mode_index(labels[:1])].item() == 400


def test_ten_cycled_triples_are_ten_modes_with_kl_log_100(real):
    images, labels = _correctly_classified(*(t[:400] for t in real))
    modes = mode_index(labels)
    first = [int((modes == m).nonzero()[0]) for m in torch.unique(modes)[:10]]  # 10 different triples
    cycle = images[first].repeat(30, 1, 1, 1)  # 300 samples, 30 per triple
    score = stacked_modes(cycle)
    assert score.modes == 10
    assert score.kl == pytest.approx(math.log(100))


@pytest.mark.statistical
def test_kl_grows_as_modes_are_dropped(real, classifier):
    images, labels = real
    n = 4000
    kls, modes = [], []
    for k in (10, 5, 2, 1):  # keep only stacks whose first digit is below k: 100·k modes
        score = stacked_modes(images[labels[:, 0] < k][:n], classifier)
        kls.append(score.kl)
        modes.append(score.modes)
    # seeds 0–9, 1 thread: 975–984, 499–507, 200 and 100 modes; every KL within 0.016 of the value below
    assert all(a > b for a, b in zip(modes, modes[1:]))
    assert all(a < b for a, b in zip(kls, kls[1:]))
    # Ideal value log(10 / k), plus the finite-sample bias of a histogram's KL, about
    # (occupied bins - 1) / (2n) — 0.12 for 1,000 modes and 4,000 samples.
    for k, kl, m in zip((10, 5, 2, 1), kls, modes):
        assert kl == pytest.approx(math.log(10 / k) + (m - 1) / (2 * n), abs=0.04)


def test_unit_range_images_score_the_same(real):
    images = real[0][:500]
    a = stacked_modes(images)
    b = stacked_modes((images + 1) / 2, value_range=(0, 1))
    assert a.modes == b.modes and a.kl == pytest.approx(b.kl) and torch.equal(a.counts, b.counts)


@pytest.mark.statistical
def test_noise_is_rarely_confident(real, classifier, seed):
    noise = torch.rand(1000, 3, 8, 8, generator=torch.Generator().manual_seed(seed)) * 2 - 1
    noise_confident = stacked_modes(noise, classifier).confident
    real_confident = stacked_modes(real[0][:1000], classifier).confident
    # seeds 0–9, 1 thread: noise 0–0.003, real 0.927–0.963
    assert noise_confident < 0.1 < 0.85 < real_confident


def test_as_dict_drops_the_histogram(real):
    d = stacked_modes(real[0][:100]).as_dict()
    assert set(d) == {"modes", "kl", "confident"} and all(isinstance(v, (int, float)) for v in d.values())


@pytest.mark.parametrize(
    "images, kwargs, error, message",
    [
        (torch.zeros(5, 1, 8, 8), {}, ValueError, r"shape \(N, 3, 8, 8\)"),
        (torch.zeros(5, 3, 28, 28), {}, ValueError, r"shape \(N, 3, 8, 8\)"),
        (torch.zeros(3, 8, 8), {}, ValueError, r"shape \(N, 3, 8, 8\)"),
        (torch.zeros(0, 3, 8, 8), {}, ValueError, "no images"),
        (torch.full((2, 3, 8, 8), float("nan")), {}, ValueError, "NaN"),
        (torch.full((2, 3, 8, 8), 16.0), {}, ValueError, "value_range"),
        (torch.full((2, 3, 8, 8), -0.5), {"value_range": (0, 1)}, ValueError, "value_range"),
        (torch.zeros(2, 3, 8, 8), {"value_range": (0, 255)}, ValueError, "value_range"),
        (torch.zeros(2, 3, 8, 8), {"threshold": 1.5}, ValueError, "threshold"),
        (torch.zeros(2, 3, 8, 8).numpy(), {}, TypeError, "torch.Tensor"),
    ],
)
def test_bad_images_are_refused(images, kwargs, error, message):
    with pytest.raises(error, match=message):
        stacked_modes(images, **kwargs)


# --- the benchmark ----------------------------------------------------------------------


@pytest.mark.statistical
def test_benchmark_runs_end_to_end_with_tiny_sizes(tmp_path, seed):
    import dataclasses
    from functools import partial

    from genlab.bench import load, run
    from genlab.bench.stacked import BENCHMARK

    tiny = dict(steps=3, batch_size=16, n_train=64, n_samples=300)
    bench = dataclasses.replace(
        BENCHMARK,
        models={name: partial(fn, **tiny) for name, fn in BENCHMARK.models.items()},
        references={name: partial(fn, n=300) for name, fn in BENCHMARK.references.items()},
    )
    assert set(bench.models) == {"DCGAN", "PacDCGAN2", "VAE"}
    seeds = [2 * seed, 2 * seed + 1]
    summary = run(bench, seeds=seeds, models=["DCGAN", "PacDCGAN2", "VAE"], out=tmp_path, log=None)
    rows = {r["row"]: r for r in summary["rows"]}
    assert len(rows) == 5 and all(r["n"] == 2 for r in rows.values())
    for r in summary["runs"]:
        assert 1 <= r["modes"] <= 300 and math.isfinite(r["kl"]) and 0 <= r["kl"] <= math.log(1000) + 1e-9
        assert 0 <= r["confident"] <= 1
    # Real stacks: 300 draws cover about 259 triples, and the classifier finds them.
    # seeds 0–19 (pairs), 1 thread: 254.5–264 modes, confident 0.918–0.940; DCGAN confident 0 after 3 steps
    assert rows["true data, training digits"]["modes"]["mean"] > 230
    assert rows["true data, training digits"]["confident"]["mean"] > 0.85
    # Three training steps are far from a digit generator.
    assert rows["DCGAN"]["confident"]["mean"] < 0.5
    assert load(tmp_path / "stacked-digits.json")["rows"] == summary["rows"]
    assert "ANALOGUE" in " ".join(summary["notes"])
    assert all("MNIST 28×28" in p["source"] for p in summary["published"])


def test_benchmark_runner_is_deterministic_for_a_seed():
    from genlab.bench.stacked import BENCHMARK

    tiny = dict(steps=3, batch_size=16, n_train=64, n_samples=200)
    first = BENCHMARK.models["PacDCGAN2"](5, torch.device("cpu"), **tiny)
    again = BENCHMARK.models["PacDCGAN2"](5, torch.device("cpu"), **tiny)
    assert first == again and set(first) == {"modes", "kl", "confident"}
    assert all(isinstance(v, float) for v in first.values())
