"""Datasets used throughout the book; none of them needs a network connection."""

from genlab.data.idx import load_idx_dataset, read_idx
from genlab.data.images import digits
from genlab.data.sequences import Scaler, chronological_split, co2, sines, sunspots, windows
from genlab.data.split import split
from genlab.data.stacked import stacked_digits
from genlab.data.tasks import adding_problem, copy_task
from genlab.data.text import Vocabulary, encode_corpus, names_corpus, split_names
from genlab.data.toy2d import GaussianMixture2D, grid, ring

__all__ = [
    "GaussianMixture2D",
    "Scaler",
    "Vocabulary",
    "adding_problem",
    "chronological_split",
    "co2",
    "copy_task",
    "digits",
    "encode_corpus",
    "grid",
    "load_idx_dataset",
    "names_corpus",
    "read_idx",
    "ring",
    "sines",
    "split",
    "split_names",
    "stacked_digits",
    "sunspots",
    "windows",
]
