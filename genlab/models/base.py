"""The protocol every genlab model follows, so that one `fit` trains them all.

A model is an `nn.Module` that also knows how to train itself one step at a time:

- `configure_optimizers()` returns its optimizers (one for a VAE, two for a GAN,
  three for models such as the adversarial autoencoder);
- `train_step(batch, optimizers)` performs one update and returns its losses as floats;
- `sample(n)` draws n new data points.

`batch` is a tensor, or a tuple of tensors when the data carries more than the
samples themselves (labels, conditions): element 0 is always the samples.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

Batch = Tensor | tuple[Tensor, ...]


class GenerativeModel(nn.Module):
    """Base class: subclasses set `data_shape` and implement the three protocol methods."""

    data_shape: tuple[int, ...]

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        raise NotImplementedError

    def train_step(self, batch: Batch, optimizers: Sequence[torch.optim.Optimizer]) -> dict[str, float]:
        raise NotImplementedError

    def sample(self, n: int, *, generator: torch.Generator | None = None) -> Tensor:
        raise NotImplementedError

    # --- helpers shared by every model -------------------------------------------------

    @staticmethod
    def inputs(batch: Batch) -> Tensor:
        """The samples of a batch (element 0 when the batch is a tuple)."""
        return batch if isinstance(batch, Tensor) else batch[0]

    def check_data(self, x: Tensor) -> None:
        """Raise ValueError unless x has shape (N, *data_shape)."""
        if tuple(x.shape[1:]) != tuple(self.data_shape):
            raise ValueError(
                f"{type(self).__name__} expects samples of shape {tuple(self.data_shape)}, "
                f"so data of shape (N, {', '.join(map(str, self.data_shape))}); got data of shape {tuple(x.shape)}"
            )

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def optimizer_step(self, optimizer: torch.optim.Optimizer, loss: Tensor, clip_norm: float | None = None) -> None:
        """One gradient step on `loss`: clear old gradients, backpropagate, optionally clip, update.

        With `clip_norm`, the gradient of this optimizer's parameters is rescaled when its norm
        exceeds clip_norm (Pascanu et al., 2013, algorithm 1).
        """
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if clip_norm is not None:
            params = [p for group in optimizer.param_groups for p in group["params"]]
            nn.utils.clip_grad_norm_(params, clip_norm)
        optimizer.step()

    def _check_n(self, n: int) -> None:
        if not isinstance(n, int) or n < 0:
            raise ValueError(f"number of samples must be a non-negative integer, got {n!r}")
