"""The Fashion-MNIST classifier, the image metrics at 28×28, and the fashion benchmark — on synthetic IDX files.

None of these tests needs the real data: a small data set in which each class is a bright bar
at its own height is written as IDX files and found through GENLAB_DATA.
"""

import math

import numpy as np
import pytest
import torch
from test_idx import write_idx

from genlab import bench
from genlab.bench import compare
from genlab.bench import fashion as fashion_bench
from genlab.data import idx
from genlab.metrics import fashion, image_scores, real_floor, split_halves
from genlab.metrics.classifier import classifier_network
from genlab.metrics.fashion import FashionClassifier, fashion_classifier, subset, train_fashion_classifier

N_TRAIN, N_TEST = 240, 80


def bars(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n grey-level images (n, 28, 28) of faint noise with a bright bar at row 2·label + 4, and the labels."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n, dtype=np.uint8) % 10
    images = rng.integers(0, 60, size=(n, 28, 28), dtype=np.uint8)
    for i, label in enumerate(labels):
        images[i, 2 * label + 4 : 2 * label + 6, 4:24] = 255
    return images, labels


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A folder holding synthetic Fashion-MNIST IDX files (train: 240 images, test: 80; gzip for the test split)."""
    root = tmp_path_factory.mktemp("fashion")
    for prefix, n, seed, ext in (("train", N_TRAIN, 0, ""), ("t10k", N_TEST, 1, ".gz")):
        images, labels = bars(n, seed)
        write_idx(root / f"{prefix}-images-idx3-ubyte{ext}", images)
        write_idx(root / f"{prefix}-labels-idx1-ubyte{ext}", labels)
    return root


@pytest.fixture
def data(folder, monkeypatch):
    """GENLAB_DATA pointed at the synthetic files, and no classifier cached from elsewhere (before or after)."""
    monkeypatch.setenv("GENLAB_DATA", str(folder))
    fashion._cached.cache_clear()
    yield folder
    fashion._cached.cache_clear()


@pytest.fixture
def small(data):
    """A classifier trained briefly on the synthetic training images."""
    return train_fashion_classifier(seed=0, epochs=2, batch_size=16, n_train=200)


def test_classifier_trains_deterministically_and_reads_the_synthetic_classes(small):
    rng = torch.get_rng_state()
    again = train_fashion_classifier(seed=0, epochs=2, batch_size=16, n_train=200)
    assert torch.equal(rng, torch.get_rng_state()), "training must not touch the global random state"
    assert all(torch.equal(a, b) for a, b in zip(small.state_dict().values(), again.state_dict().values()))
    other = train_fashion_classifier(seed=1, epochs=2, batch_size=16, n_train=200)
    assert not torch.equal(small.net[0].weight, other.net[0].weight)
    images, labels = fashion.fashion_mnist("test").tensors
    assert images.shape == (N_TEST, 1, 28, 28) and images.min() == -1 and images.max() == 1
    features = small.features(images[:7])
    assert features.shape == (7, 128) and (features >= 0).all()  # activations after a ReLU
    p = small.predict_proba(images[:7])
    assert p.shape == (7, 10) and torch.allclose(p.sum(1), torch.ones(7), atol=1e-5)
    assert torch.equal(small.predict(images[:7]), p.argmax(1))
    assert small.test_accuracy == pytest.approx(small.accuracy((images, labels)))
    # one bar per class at its own height: a few dozen updates learn most of them (chance is 0.1)
    assert small.test_accuracy > 0.5


def test_evaluation_in_chunks_matches_one_pass(small, monkeypatch):
    images = fashion.fashion_mnist("test").tensors[0]
    monkeypatch.setattr(FashionClassifier, "chunk", 7)  # 80 images in 12 chunks
    chunked = small.features(images)
    assert torch.allclose(chunked, small.net[:-2](images), atol=1e-5)
    assert small.predict_proba(images).shape == (N_TEST, 10)


def test_shared_classifier_is_cached_per_process(data):
    clf = fashion_classifier()
    assert fashion_classifier("cpu") is clf and fashion_classifier(torch.device("cpu")) is clf
    assert isinstance(clf, FashionClassifier) and clf.image_shape == (1, 28, 28)
    assert 0 <= clf.test_accuracy <= 1


def test_bad_input_is_refused_with_the_argument_named():
    clf = FashionClassifier(classifier_network((1, 28, 28)))
    with pytest.raises(ValueError, match=r"images must have shape \(N, 1, 28, 28\) for the Fashion-MNIST classifier"):
        clf.predict(torch.zeros(3, 1, 8, 8))
    with pytest.raises(ValueError, match=r"pixel values in \[-1, 1\] for the Fashion-MNIST classifier"):
        clf.features(torch.full((2, 1, 28, 28), 255.0))  # grey levels, not [-1, 1]
    with pytest.raises(ValueError, match="NaN or infinite"):
        clf.predict_proba(torch.full((2, 1, 28, 28), float("nan")))
    with pytest.raises(TypeError, match=r"images must be a tensor of shape \(N, 1, 28, 28\)"):
        clf.predict("shirt")
    with pytest.raises(TypeError, match="net must be a torch.nn.Module"):
        FashionClassifier("net")
    for kwargs, message in [({"epochs": 0}, "epochs must be a positive integer, got 0"),
                            ({"batch_size": True}, "batch_size must be a positive integer, got True"),
                            ({"n_train": 0}, "n_train must be a positive integer, got 0"),
                            ({"seed": 1.5}, "seed must be an integer")]:
        with pytest.raises(ValueError, match=message):
            train_fashion_classifier(**kwargs)
    with pytest.raises(ValueError, match="device must be None"):
        fashion_classifier(device="gpu0")
    with pytest.raises(ValueError, match="n must be a positive integer"):
        subset(torch.zeros(4, 1, 28, 28), torch.zeros(4), 0)
    with pytest.raises(ValueError, match="images and labels must be as many"):
        subset(torch.zeros(4, 1, 28, 28), torch.zeros(3), 2)


def test_missing_files_say_what_to_install(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError) as info:
        train_fashion_classifier(root=tmp_path / "empty")
    message = str(info.value)
    assert "apt-get install dataset-fashion-mnist" in message and "GENLAB_DATA" in message
    assert str(tmp_path / "empty") in message
    # the benchmark, with every default place empty (Debian's folder included)
    search = idx.search_paths
    monkeypatch.setattr(idx, "search_paths", lambda name, root=None: search(name, tmp_path if root is None else root))
    with pytest.raises(FileNotFoundError, match="dataset-fashion-mnist"):
        fashion_bench.fashion_data()


def test_image_scores_and_real_floor_at_28_by_28(small):
    real = fashion.fashion_mnist("test").tensors[0]
    same = image_scores(real[:40], real[:40].clone(), classifier=small)
    assert same.frechet == pytest.approx(0.0, abs=1e-4) and (same.precision, same.recall) == (1.0, 1.0)
    floor = real_floor(real, seed=3, classifier=small)
    first, second = split_halves(real, 3)
    assert floor == image_scores(first, second, classifier=small)
    assert all(math.isfinite(v) for v in floor.as_dict().values())
    noise = torch.rand(40, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    scored = image_scores(noise, second, classifier=small)
    assert scored.frechet > 3 * floor.frechet and scored.recall < floor.recall  # 5.0x; recall 0 against 1
    # shapes are the classifier's: 28×28 for this one, 8×8 for the default digit classifier
    with pytest.raises(ValueError, match=r"fake must have shape \(N, 1, 28, 28\) for the Fashion-MNIST classifier"):
        image_scores(torch.zeros(6, 1, 8, 8), real[:6], classifier=small)
    with pytest.raises(ValueError, match=r"real must have shape \(N, 1, 28, 28\)"):
        image_scores(real[:6], torch.zeros(6, 1, 8, 8), classifier=small)
    with pytest.raises(ValueError, match=r"images must have shape \(N, 1, 28, 28\)"):
        real_floor(torch.zeros(10, 1, 8, 8), classifier=small)
    with pytest.raises(ValueError, match=r"fake must have shape \(N, 1, 8, 8\) for the digit classifier"):
        image_scores(real[:6], real[6:12])
    with pytest.raises(TypeError, match="classifier must be a DigitClassifier"):
        real_floor(real, classifier="cnn")


def test_any_classifier_with_features_and_probabilities_is_accepted(small):
    class Wrapper:  # no image_shape: only fake and real must agree
        def features(self, x):
            return small.features(x)

        def predict_proba(self, x):
            return small.predict_proba(x)

    real = fashion.fashion_mnist("test").tensors[0]
    assert image_scores(real[:40], real[40:], classifier=Wrapper()) == image_scores(real[:40], real[40:], classifier=small)
    with pytest.raises(ValueError, match="fake and real must have the same image shape"):
        image_scores(real[:6, :, :14, :14], real[:6], classifier=Wrapper())


def test_benchmark_protocol_and_registration(data, monkeypatch):
    monkeypatch.setattr(fashion_bench, "TRAIN_SIZE", 64)
    monkeypatch.setattr(fashion_bench, "HELD_OUT", 32)
    x_train, y_train, x_held, y_held = fashion_bench.fashion_data()
    assert x_train.shape == (64, 1, 28, 28) and x_held.shape == (32, 1, 28, 28) and len(y_train) == 64
    assert x_train.min() >= -1 and x_train.max() <= 1
    test_images, test_labels = fashion.fashion_mnist("test").tensors
    order = torch.randperm(N_TEST, generator=torch.Generator().manual_seed(fashion_bench.SPLIT_SEED))[:32]
    assert torch.equal(x_held, test_images[order]) and torch.equal(y_held, test_labels[order])  # test images only
    assert all(torch.equal(a, b) for a, b in zip(fashion_bench.fashion_data(), (x_train, y_train, x_held, y_held)))
    assert bench.get("fashion") is fashion_bench.BENCHMARK
    assert set(fashion_bench.BENCHMARK.models) == {"DCGAN", "VAE", "VAE-GAN"}
    assert set(fashion_bench.BENCHMARK.models) <= set(compare.FAMILY_OF)


def test_every_row_runs_end_to_end_on_tiny_data(data, monkeypatch, tmp_path):
    monkeypatch.setattr(fashion_bench, "TRAIN_SIZE", 64)
    monkeypatch.setattr(fashion_bench, "HELD_OUT", 32)
    keys = {c.key for c in fashion_bench.BENCHMARK.columns}
    for name, runner in fashion_bench.MODELS.items():
        values = runner(0, "cpu", steps=2, batch_size=16)
        assert set(values) == keys, name
        assert all(math.isfinite(v) for v in values.values()), (name, values)
        assert 0 <= values["precision"] <= 1 and 0 <= values["recall"] <= 1 and values["sharpness"] > 0
    # through the harness, with the recipe itself shrunk
    monkeypatch.setitem(fashion_bench.VAE_RECIPE, "steps", 2)
    summary = bench.run(fashion_bench.BENCHMARK, seeds=[0], models=["VAE"], out=tmp_path, log=None)
    rows = {r["row"]: r for r in summary["rows"]}
    assert set(rows) == {"real vs real", "VAE"}
    floor, vae = rows["real vs real"], rows["VAE"]
    assert floor["sharpness"]["mean"] == pytest.approx(1.0, abs=0.2)  # training images against their own set
    assert floor["frechet"]["mean"] < vae["frechet"]["mean"]  # two updates are far from real images
    assert (tmp_path / "fashion.json").exists()
