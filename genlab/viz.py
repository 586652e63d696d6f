"""Plots the book uses again and again: 2-D samples against the true modes, image grids, loss curves."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import Tensor


def _axes(ax):
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    return ax


def plot_samples_2d(samples: Tensor, centers: Tensor | None = None, *, ax=None, title: str | None = None,
                    limit: float | None = None, s: float = 2.0):
    """Scatter generated points (n, 2) with the true mode centres (K, 2) as red crosses."""
    ax = _axes(ax)
    pts = torch.as_tensor(samples).detach().cpu()
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"samples must have shape (n, 2), got {tuple(pts.shape)}")
    ax.scatter(pts[:, 0], pts[:, 1], s=s, alpha=0.5, color="tab:blue", linewidths=0, label="samples")
    if centers is not None:
        c = torch.as_tensor(centers).cpu()
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
    """Tile images (N, C, H, W) with C = 1 or 3 into one picture; values are clipped to value_range."""
    x = torch.as_tensor(images).detach().cpu().float()
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"images must have shape (N, 1 or 3, H, W), got {tuple(x.shape)}")
    lo, hi = value_range
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
    """Loss curves against the step; `smooth` > 1 draws a running mean over that many steps."""
    ax = _axes(ax)
    for name, values in history.items():
        v = np.asarray(values, dtype=float)
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
