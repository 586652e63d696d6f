"""Plots the book uses again and again: 2-D samples against the true modes, image grids, loss curves."""

from __future__ import annotations

import math
import numbers

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import Tensor

from genlab.checks import check_count, check_positive


def _as_tensor(value: object, name: str, shape: str) -> Tensor:
    """value as a CPU tensor of real numbers, or a TypeError naming `name`."""
    try:
        t = torch.as_tensor(value)
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(f"{name} must be a tensor of shape {shape}, got {type(value).__name__}") from err
    if t.is_complex():
        raise TypeError(f"{name} must hold real numbers, got dtype {t.dtype}")
    return t.detach().cpu()


def _axes(ax):
    if ax is not None and not hasattr(ax, "scatter"):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    return ax


def plot_samples_2d(samples: Tensor, centers: Tensor | None = None, *, ax=None, title: str | None = None,
                    limit: float | None = None, s: float = 2.0):
    """Scatter generated points (n, 2) with the true mode centres (K, 2) as red crosses.

    Non-finite samples are not drawn (a diverged model can still be shown); limit, the half-width
    of the square shown, and the marker size s are finite numbers > 0.
    """
    pts = _as_tensor(samples, "samples", "(n, 2)")
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"samples must have shape (n, 2), got {tuple(pts.shape)}")
    c = None
    if centers is not None:
        c = _as_tensor(centers, "centers", "(K, 2)")
        if c.ndim != 2 or c.shape[1] != 2 or len(c) == 0:
            raise ValueError(f"centers must have shape (K, 2) with K ≥ 1, got {tuple(c.shape)}")
        if c.is_floating_point() and not torch.isfinite(c).all():
            raise ValueError("centers contains NaN or infinite values")
    if limit is not None:
        limit = check_positive(limit, "limit")
    check_positive(s, "s")
    ax = _axes(ax)
    ax.scatter(pts[:, 0], pts[:, 1], s=s, alpha=0.5, color="tab:blue", linewidths=0, label="samples")
    if c is not None:
        ax.scatter(c[:, 0], c[:, 1], marker="x", s=40, color="tab:red", label="true modes")
        if limit is None:
            limit = 1.3 * float(c.abs().max())
    if limit is not None:
        ax.set_xlim(-limit, limit)
        ax.set_ylim(-limit, limit)
    ax.set_aspect("equal")
    if title:
        ax.set_title(title)
    return ax


def image_grid(images: Tensor, *, nrow: int | None = None, value_range: tuple[float, float] = (-1, 1),
               ax=None, title: str | None = None, padding: int = 1):
    """Tile images (N, C, H, W) with C = 1 or 3 into one picture; values are clipped to value_range.

    At least one image; nrow (images per row, default about √N) a positive integer or None;
    value_range two finite numbers low < high; padding a non-negative integer.
    """
    x = _as_tensor(images, "images", "(N, C, H, W)").float()
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"images must have shape (N, 1 or 3, H, W), got {tuple(x.shape)}")
    if len(x) == 0:
        raise ValueError("images is empty: there is nothing to tile")
    if nrow is not None:
        nrow = check_count(nrow, "nrow", minimum=1)
    padding = check_count(padding, "padding")
    try:
        lo, hi = value_range
    except (TypeError, ValueError):
        raise ValueError(f"value_range must be a pair (low, high), got {value_range!r}") from None
    finite = all(isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v) for v in (lo, hi))
    if not finite or not lo < hi:
        raise ValueError(f"value_range must be two finite numbers low < high, got {value_range!r}")
    x = ((x - lo) / (hi - lo)).clamp(0, 1)
    n, c, h, w = x.shape
    nrow = nrow or math.ceil(math.sqrt(n))
    ncol = math.ceil(n / nrow)
    canvas = torch.ones(c, ncol * (h + padding) + padding, nrow * (w + padding) + padding)
    for i in range(n):
        r, q = divmod(i, nrow)
        top, left = padding + r * (h + padding), padding + q * (w + padding)
        canvas[:, top : top + h, left : left + w] = x[i]
    ax = _axes(ax)
    picture = canvas[0].numpy() if c == 1 else canvas.permute(1, 2, 0).numpy()
    ax.imshow(picture, cmap="gray" if c == 1 else None, vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def plot_losses(history: dict[str, list[float]], *, ax=None, smooth: int = 1, title: str | None = None):
    """Loss curves against the step; `smooth` > 1 draws a running mean over that many steps.

    history maps each curve's name to a 1-D sequence of numbers; smooth is a positive integer.
    """
    if not callable(getattr(history, "items", None)):
        raise TypeError(f"history must be a dict of name -> list of losses, got {type(history).__name__}")
    smooth = check_count(smooth, "smooth", minimum=1)
    curves = {}
    for name, values in history.items():
        try:
            curves[name] = np.asarray(values, dtype=float)
        except (TypeError, ValueError):
            raise TypeError(f"history[{name!r}] must be a sequence of numbers, got {type(values).__name__}") from None
        if curves[name].ndim != 1:
            raise ValueError(f"history[{name!r}] must be 1-D, one loss per step, got shape {curves[name].shape}")
    ax = _axes(ax)
    for name, v in curves.items():
        if smooth > 1 and len(v) >= smooth:
            v = np.convolve(v, np.ones(smooth) / smooth, mode="valid")
            steps = np.arange(smooth, smooth + len(v))
        else:
            steps = np.arange(1, len(v) + 1)
        ax.plot(steps, v, label=name, lw=1)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend()
    if title:
        ax.set_title(title)
    return ax
