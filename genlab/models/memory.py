"""A recurrent regressor for memory tasks such as the adding problem (`genlab.data.tasks`).

It reads a sequence x_1 … x_T and predicts one number from its final state:

    h_t = cell(h_{t-1}, x_t)        (RNN, GRU or LSTM update)
    ŷ_t = w_out · h_t + b_out        (its own linear read-out)

trained on the squared error (ŷ_T − y)², the loss of the adding problem (Hochreiter &
Schmidhuber, 1997, experiment 4). It is not a generative model — it has no `sample` — but it
is `Trainable`: `genlab.fit` trains it, and its updates share `optimizer_step` (and with it
gradient clipping) with every other model in the package.

`marked_value_sensitivity` at the end measures, after training, how much the prediction
responds to each of the two numbers it must add — the gradient through time that a
model has learned to keep alive, or not.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from genlab.checks import check_count, check_positive
from genlab.models.base import Batch, Losses, Optimizers, Trainable, constructor
from genlab.nets import recurrent

OPTIMIZERS = ("adam", "sgd")


class RecurrentRegressor(Trainable):
    """Recurrent stack (RNN, GRU or LSTM) → linear read-out of the last state → one number.

    Data: a tuple (inputs (N, T, F), targets (N,)), e.g. from `genlab.data.adding_problem`.

    Args:
        features: F, inputs per time step.
        length: T, the sequence length (sets `data_shape` = (T, F)).
        cell: "rnn" (Elman, tanh), "gru" or "lstm".
        hidden: width of the recurrent state.
        optimizer: "adam", or "sgd" for plain gradient descent (no momentum).
        lr: learning rate.
        clip_norm: clip the gradient's global norm to this value before each update
            (Pascanu et al., 2013); None switches clipping off.
        recurrent_radius: for the "rnn" cell only, set W_hh to this multiple of a random
            orthogonal matrix, so its spectral radius is exactly this value; None keeps
            PyTorch's default initialisation. Values above 1 invite exploding gradients.
        truncate: truncated back-propagation through time (Williams & Peng, 1990): in training
            the sequence is read in chunks of this many steps and the state is detached between
            them, so the loss's gradient reaches at most `truncate` steps back; the forward pass
            (and every prediction) still reads the whole sequence. None back-propagates through
            all T steps.
    """

    @constructor
    def __init__(
        self,
        features: int,
        length: int,
        *,
        cell: str = "lstm",
        hidden: int = 32,
        optimizer: str = "adam",
        lr: float = 1e-2,
        clip_norm: float | None = None,
        recurrent_radius: float | None = None,
        truncate: int | None = None,
    ) -> None:
        super().__init__()
        for name, value in (("features", features), ("length", length), ("hidden", hidden)):
            check_count(value, name, minimum=1)
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {optimizer!r}; choose one of {OPTIMIZERS}")
        check_positive(lr, "lr")
        if clip_norm is not None:
            check_positive(clip_norm, "clip_norm (or None for no clipping)")
        if recurrent_radius is not None and cell != "rnn":
            raise ValueError(f"recurrent_radius applies to the plain 'rnn' cell only, not to {cell!r}")
        if recurrent_radius is not None:
            check_positive(recurrent_radius, "recurrent_radius")
        if truncate is not None:
            check_count(truncate, "truncate (or None for full back-propagation through time)", minimum=1)
        self.truncate = truncate
        self.data_shape = (length, features)
        self.cell, self.hidden = cell, hidden
        self.optimizer_name, self.lr, self.clip_norm = optimizer, lr, clip_norm
        self.rnn = recurrent(cell, features, hidden)  # (B, T, F) -> (B, T, hidden)
        self.readout = nn.Linear(hidden, 1)  # w_out, b_out: the read-out has weights of its own
        if recurrent_radius is not None:
            with torch.no_grad():
                # W_hh = r·Q with Q orthogonal: every eigenvalue has modulus exactly r.
                q, _ = torch.linalg.qr(torch.randn(hidden, hidden))
                self.rnn.weight_hh_l0.copy_(recurrent_radius * q)

    # --- the model -----------------------------------------------------------------------

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor | tuple[Tensor, Tensor]]:
        """Prediction after every prefix, and the final recurrent state.

        (B, T, F) -> predictions (B, T, 1), with [:, t] the answer after reading x_1 … x_{t+1};
        state (1, B, hidden), or (h, c) for an LSTM.
        """
        h, state = self.rnn(x)  # (B, T, hidden)
        return self.readout(h), state  # (B, T, 1)

    def predict(self, x: Tensor) -> Tensor:
        """The answer after the whole sequence: (B, T, F) -> (B,)."""
        predictions, _ = self(x)
        return predictions[:, -1, 0]

    def truncated_predict(self, x: Tensor) -> Tensor:
        """`predict` with the gradient cut every `truncate` steps: the same value, a shorter reach back."""
        if self.truncate is None:
            return self.predict(x)
        state = None
        for chunk in x.split(self.truncate, dim=1):
            if state is not None:  # the state's value carries on; its gradient stops here
                state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
            h, state = self.rnn(chunk, state)
        return self.readout(h[:, -1])[:, 0]

    def configure_optimizers(self) -> Optimizers:
        if self.optimizer_name == "sgd":  # plain gradient descent: θ ← θ − lr·∇L
            return {"model": torch.optim.SGD(self.parameters(), lr=self.lr)}
        return {"model": torch.optim.Adam(self.parameters(), lr=self.lr)}

    def _pair(self, batch: Batch) -> tuple[Tensor, Tensor]:
        if isinstance(batch, Tensor) or len(batch) != 2:
            raise TypeError(
                "RecurrentRegressor trains on (inputs, targets) pairs; pass data as a tuple "
                "(inputs (N, T, F), targets (N,)), e.g. genlab.data.adding_problem(...)"
            )
        x, y = batch
        self.check_data(x)
        if y.shape != (x.shape[0],):
            raise ValueError(f"targets must have shape ({x.shape[0]},), one number per sequence; got {tuple(y.shape)}")
        return x, y

    def train_step(self, batch: Batch, optimizers: Optimizers, step: int) -> Losses:
        x, y = self._pair(batch)
        # Squared error of the final answer (Hochreiter & Schmidhuber, 1997, experiment 4).
        loss = (self.truncated_predict(x) - y).pow(2).mean()
        self.optimizer_step(optimizers["model"], loss, self.clip_norm)
        # The norm of the gradient the update just used (after clipping, when clipping is on).
        grads = [p.grad.flatten() for p in self.parameters() if p.grad is not None]
        return {"mse": loss.detach(), "grad_norm": torch.cat(grads).norm()}

    @torch.no_grad()
    def mse(self, x: Tensor, y: Tensor, batch_size: int = 1024) -> float:
        """Mean squared error of the final answers on held-out data (inputs (N, T, F), targets (N,))."""
        x, y = self._pair((x, y))
        with self.evaluating():
            total = sum(
                (self.predict(xb.to(self.device)) - yb.to(self.device)).pow(2).sum().item()
                for xb, yb in zip(x.split(batch_size), y.split(batch_size))
            )
        return total / len(x)


def marked_value_sensitivity(model: RecurrentRegressor, x: Tensor) -> tuple[Tensor, Tensor]:
    """How much the final answer moves per unit change of each marked value: ∂ŷ_T / ∂v.

    For adding-problem inputs x (B, T, 2) — values in channel 0, two markers per row in
    channel 1 — returns the derivative of the prediction with respect to the first and
    the second marked value, shape (B, 2), and their lags T − 1 − position, shape (B, 2).
    A perfect adder has ∂ŷ/∂v = 1 for both, at every lag; a model whose gradient through
    time has vanished has ∂ŷ/∂v ≈ 0 for the early value.
    """
    if x.dim() != 3 or x.shape[2] != 2:
        raise ValueError(f"adding-problem inputs have shape (B, T, 2), got {tuple(x.shape)}")
    marked = x[:, :, 1] == 1
    if not (marked.sum(dim=1) == 2).all():
        raise ValueError("every row must have exactly two marked steps (channel 1 equal to 1)")
    x = x.detach().clone().to(model.device).requires_grad_(True)
    # Rows do not interact, so the gradient of the summed answers holds each row's own gradient;
    # autograd.grad leaves the parameters' .grad untouched.
    (grad,) = torch.autograd.grad(model.predict(x).sum(), x)
    positions = marked.to(model.device).nonzero()[:, 1].view(-1, 2)  # (B, 2), in time order
    rows = torch.arange(x.shape[0], device=model.device).unsqueeze(1)
    sensitivity = grad[rows, positions, 0]  # (B, 2): the value channel at the marked steps
    return sensitivity.detach(), x.shape[1] - 1 - positions
