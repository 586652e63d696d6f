import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from genlab.data import idx
from genlab.data.idx import load_idx_dataset, read_idx, search_paths

DEBIAN = Path("/usr/share/datasets/fashion-mnist")  # where Debian's dataset-fashion-mnist puts the files
CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D, np.float64: 0x0E}


def write_idx(path: Path, array: np.ndarray, *, code: int | None = None) -> Path:
    """Write an IDX file by hand from the format's definition (big-endian header and values)."""
    code = CODES[array.dtype.type] if code is None else code
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    if path.suffix == ".gz":
        with gzip.open(path, "wb") as f:
            f.write(payload)
    else:
        path.write_bytes(payload)
    return path


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("dtype", list(CODES))
def test_round_trip_every_type(tmp_path, suffix, dtype):
    rng = np.random.default_rng(0)
    array = (rng.normal(size=(3, 4, 5)) * 100).astype(dtype)
    back = read_idx(write_idx(tmp_path / f"a-idx3{suffix}", array))
    assert back.dtype == np.dtype(dtype) and back.shape == (3, 4, 5)
    assert np.array_equal(back, array)
    assert back.dtype.isnative and back.flags.writeable


def test_header_is_big_endian(tmp_path):
    # a 1-D array of 258 labels: size 0x00000102 must be read as 258, not 0x02010000
    labels = np.arange(258, dtype=np.int16)
    path = write_idx(tmp_path / "labels-idx1", labels)
    assert path.read_bytes()[4:8] == b"\x00\x00\x01\x02"
    assert np.array_equal(read_idx(path), labels)
    # values too: int16 256 is stored as 0x01 0x00
    assert path.read_bytes()[8 + 2 * 256 : 8 + 2 * 257] == b"\x01\x00"


def test_wrong_magic(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(b"\x01\x00\x08\x01\x00\x00\x00\x01\x05")
    with pytest.raises(ValueError, match="two zero bytes"):
        read_idx(path)
    png = tmp_path / "y.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(png)


def test_unknown_type_code(tmp_path):
    path = write_idx(tmp_path / "x", np.zeros(4, np.uint8), code=0x0A)
    with pytest.raises(ValueError, match="unknown IDX type code 0x0A"):
        read_idx(path)


def test_truncated_and_too_long(tmp_path):
    path = write_idx(tmp_path / "x", np.zeros((2, 3, 3), np.uint8))
    data = path.read_bytes()
    path.write_bytes(data[:-1])
    with pytest.raises(ValueError, match="truncated.*18 bytes.*found 17"):
        read_idx(path)
    path.write_bytes(data[:9])  # header cut inside the dimension sizes
    with pytest.raises(ValueError, match="truncated"):
        read_idx(path)
    path.write_bytes(data + b"\x00")
    with pytest.raises(ValueError, match="longer than its header"):
        read_idx(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no IDX file"):
        read_idx(tmp_path / "nothing")


def fake_dataset(folder: Path, split: str = "train", n: int = 6, gz: bool = False) -> tuple[np.ndarray, np.ndarray]:
    prefix = "train" if split == "train" else "t10k"
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    images[0, 0, 0], images[0, 0, 1] = 0, 255
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    folder.mkdir(parents=True, exist_ok=True)
    ext = ".gz" if gz else ""
    write_idx(folder / f"{prefix}-images-idx3-ubyte{ext}", images)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte{ext}", labels)
    return images, labels


@pytest.mark.parametrize("gz", [False, True])
def test_load_from_root(tmp_path, gz):
    images, labels = fake_dataset(tmp_path, "test", gz=gz)
    data = load_idx_dataset("fashion-mnist", "test", root=tmp_path, value_range=(0, 1))
    x, y = data.tensors
    assert x.shape == (6, 1, 28, 28) and x.dtype == torch.float32
    assert y.dtype == torch.long and torch.equal(y, torch.from_numpy(labels).long())
    assert torch.allclose(x[:, 0] * 255, torch.from_numpy(images).float(), atol=1e-4)
    x11 = load_idx_dataset("fashion-mnist", "test", root=tmp_path).tensors[0]
    assert x11[0, 0, 0, 0] == -1 and x11[0, 0, 0, 1] == 1
    assert torch.allclose(x11, 2 * x - 1)


def test_torchvision_layout_and_env_var(tmp_path, monkeypatch):
    fake_dataset(tmp_path / "MNIST" / "raw", "train")
    assert len(load_idx_dataset("mnist", "train", root=tmp_path)) == 6  # root/MNIST/raw
    monkeypatch.setenv("GENLAB_DATA", str(tmp_path))
    assert len(load_idx_dataset("mnist", "train")) == 6


def test_not_found_lists_every_place(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_DATA", str(tmp_path / "env"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    # where Debian's dataset-fashion-mnist is installed, its folder holds the files: look past it
    find = idx._find
    monkeypatch.setattr(idx, "_find", lambda folder, stem: None if folder == DEBIAN else find(folder, stem))
    with pytest.raises(FileNotFoundError) as info:
        load_idx_dataset("fashion-mnist", "train")
    message = str(info.value)
    expected = [
        tmp_path / "env",
        tmp_path / "env" / "fashion-mnist",
        tmp_path / "env" / "FashionMNIST" / "raw",
        DEBIAN,
        tmp_path / "home" / "data" / "FashionMNIST" / "raw",
        Path("data") / "FashionMNIST" / "raw",
    ]
    assert search_paths("fashion-mnist") == expected
    for place in expected:
        assert f"  {place}\n" in message
    assert "train-images-idx3-ubyte" in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert "torchvision.datasets.FashionMNIST(root, download=True)" in message
    with pytest.raises(FileNotFoundError) as info:
        load_idx_dataset("mnist", "test", root=tmp_path / "r")
    assert f"  {tmp_path / 'r'}\n" in str(info.value) and "apt-get" not in str(info.value)


def test_labels_without_images_is_not_found(tmp_path):
    fake_dataset(tmp_path)
    (tmp_path / "train-images-idx3-ubyte").unlink()
    with pytest.raises(FileNotFoundError):
        load_idx_dataset("fashion-mnist", "train", root=tmp_path)


def test_mismatched_files(tmp_path):
    fake_dataset(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(5, np.uint8))
    with pytest.raises(ValueError, match="do not match"):
        load_idx_dataset("fashion-mnist", "train", root=tmp_path)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"name": "cifar"}, "unknown IDX dataset"), ({"split": "valid"}, "unknown split"), ({"value_range": (0, 255)}, "value_range")],
)
def test_argument_errors(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_idx_dataset(root=tmp_path, **kwargs)
