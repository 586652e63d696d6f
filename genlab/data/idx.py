"""A reader for IDX files, the format of MNIST and Fashion-MNIST, and a loader that finds them offline.

An IDX file is a header followed by one array in C order, all big-endian:

    bytes 0–1   zero
    byte  2     type code of the values: 0x08 unsigned byte, 0x09 signed byte,
                0x0B 16-bit int, 0x0C 32-bit int, 0x0D 32-bit float, 0x0E 64-bit float
    byte  3     number of dimensions d
    then        d sizes, each a 32-bit unsigned integer
    then        the values

Images files are 3-D (N, 28, 28) of unsigned bytes, label files 1-D (N,). Files may be
gzip-compressed (ending in .gz), as they are distributed.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset

from genlab.checks import check_float_dtype, check_value_range

IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

DATASETS = ("fashion-mnist", "mnist")
SPLITS = {"train": "train", "test": "t10k"}  # the file-name prefix of each split
RANGES = {(0, 1), (-1, 1)}


def _check_path(path: object, name: str) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path (str or os.PathLike), got {type(path).__name__}")
    return Path(path)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (plain or .gz) into a numpy array of its stored shape and type.

    The result is in native byte order: uint8, int8, int16, int32, float32 or float64.
    Raises ValueError for a file that is not IDX (wrong magic number), an unknown type
    code, or data shorter or longer than the header announces.
    """
    path = _check_path(path, "path")
    if not path.is_file():
        raise FileNotFoundError(f"no IDX file at {path}")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path} is not an IDX file: it must start with two zero bytes, got {raw[:4]!r}")
    code, ndim = raw[2], raw[3]
    if code not in IDX_TYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_TYPES)
        raise ValueError(f"{path}: unknown IDX type code 0x{code:02X}; known codes are {known}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path} is truncated: the header announces {ndim} dimensions but the file ends first")
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_TYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        state = "truncated" if len(raw) - header < expected else "longer than its header says"
        raise ValueError(
            f"{path} is {state}: shape {shape} of {dtype.name} needs {expected} bytes of data, "
            f"found {len(raw) - header}"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))  # native byte order, and a writable copy


def search_paths(name: str, root: str | os.PathLike | None = None) -> list[Path]:
    """The folders `load_idx_dataset` looks in, in order, for the dataset `name`."""
    if not isinstance(name, str) or name not in DATASETS:
        raise ValueError(f"unknown IDX dataset {name!r}; choose one of {DATASETS} for name")
    folder = "FashionMNIST" if name == "fashion-mnist" else "MNIST"  # torchvision's folder names
    if root is not None:
        root = _check_path(root, "root")
        return [root, root / name, root / folder / "raw"]
    places: list[Path] = []
    if os.environ.get("GENLAB_DATA"):
        env = Path(os.environ["GENLAB_DATA"])
        places += [env, env / name, env / folder / "raw"]
    if name == "fashion-mnist":
        places.append(Path("/usr/share/datasets/fashion-mnist"))  # Debian package dataset-fashion-mnist
    places += [Path.home() / "data" / folder / "raw", Path("data") / folder / "raw"]
    return places


def _find(folder: Path, stem: str) -> Path | None:
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def load_idx_dataset(
    name: str = "fashion-mnist",
    split: str = "train",
    root: str | os.PathLike | None = None,
    value_range: tuple[int, int] = (-1, 1),
    dtype: torch.dtype = torch.float32,
) -> TensorDataset:
    """MNIST or Fashion-MNIST from local IDX files, as (image, label) pairs. Never downloads.

    Looks for {train,t10k}-images-idx3-ubyte[.gz] and {train,t10k}-labels-idx1-ubyte[.gz] in
    `root` if given, else in $GENLAB_DATA — each folder itself, its <name>/ subfolder, or the
    <Folder>/raw/ subfolder torchvision downloads to (Folder = FashionMNIST or MNIST) — then in
    /usr/share/datasets/fashion-mnist (Fashion-MNIST only), ~/data/<Folder>/raw and ./data/<Folder>/raw.

    Args:
        name: "fashion-mnist" or "mnist".
        split: "train" (60,000 images) or "test" (10,000).
        value_range: (-1, 1) for tanh-output generators, (0, 1) for Bernoulli decoders.
    Returns:
        TensorDataset of images (N, 1, 28, 28) and int64 labels (N,).
    Raises:
        FileNotFoundError listing every folder searched and how to get the files.
    """
    if not isinstance(split, str) or split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {tuple(SPLITS)} for split")
    check_value_range(value_range)
    check_float_dtype(dtype)
    places = search_paths(name, root)
    prefix = SPLITS[split]
    for folder in places:
        images_file = _find(folder, f"{prefix}-images-idx3-ubyte")
        labels_file = _find(folder, f"{prefix}-labels-idx1-ubyte")
        if images_file is not None and labels_file is not None:
            break
    else:
        looked = "\n".join(f"  {p}" for p in places)
        torchvision_name = "FashionMNIST" if name == "fashion-mnist" else "MNIST"
        debian = "  Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist\n" if name == "fashion-mnist" else ""
        raise FileNotFoundError(
            f"{name} ({split}) not found: no {prefix}-images-idx3-ubyte[.gz] with "
            f"{prefix}-labels-idx1-ubyte[.gz] in any of\n{looked}\n"
            f"To get the files:\n{debian}"
            f"  with torchvision (e.g. on Colab): torchvision.datasets.{torchvision_name}(root, download=True), "
            f"then pass the same root here or set the environment variable GENLAB_DATA to it"
        )
    images, labels = read_idx(images_file), read_idx(labels_file)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(
            f"{images_file} and {labels_file} do not match: images {images.shape}, labels {labels.shape}"
        )
    pixels = torch.from_numpy(images).to(dtype) / 255.0  # grey levels 0..255 -> [0, 1]
    if tuple(value_range) == (-1, 1):
        pixels = 2 * pixels - 1
    return TensorDataset(pixels.unsqueeze(1), torch.from_numpy(labels).long())  # (N, H, W) -> (N, 1, H, W)
