"""Datasets used throughout the book; none of them needs a network connection."""

from genlab.data.images import digits
from genlab.data.split import split
from genlab.data.toy2d import GaussianMixture2D, grid, ring

__all__ = ["GaussianMixture2D", "digits", "grid", "ring", "split"]
