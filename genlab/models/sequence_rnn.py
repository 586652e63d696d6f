"""An autoregressive recurrent model of real-valued sequences (Elman, 1990; Hochreiter & Schmidhuber, 1997).

The density of a sequence x_1, …, x_T (each x_t a vector of F features) is factorised
by the chain rule, and each factor is a diagonal Gaussian whose parameters a recurrent
network computes from the past:

    p(x_1, …, x_T) = ∏_t N(x_t; μ_t, diag σ_t²),   (μ_t, log σ_t) = W_out h_t + b_out,
    h_t = RNN(h_{t−1}, x_{t−1}),   with x_0 = s, a learned start vector.

The output layer (W_out, b_out) has weights of its own, separate from the recurrent
weights. The start vector s plays the part of a start token: it lets the first step have
a learned distribution p(x_1) = N(μ_1, σ_1²) with the same machinery as every other step.
Training maximises the exact log-likelihood with teacher forcing — the true x_{t−1} is
the input at step t — and sampling feeds each draw back in, carrying the hidden state,
so generating T steps costs T recurrent steps.

With `components = K > 1` each factor is instead a mixture of K diagonal Gaussians, a
mixture density network (Bishop, 1994) on top of the recurrence, as in Graves (2013):

    p(x_t | x_<t) = Σ_k π_tk N(x_t; μ_tk, diag σ_tk²),   (logits_t, μ_t, log σ_t) = W_out h_t + b_out,

with π_t = softmax(logits_t). One Gaussian can only put its mass *between* two possible
next values; a mixture can put it *on* each of them.

`iid_gaussian_nll` and `random_walk_nll` at the end are the two baselines any such model
must beat: no memory at all, and "next value = this value plus noise".
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from genlab.checks import check_count, check_finite, check_optimisation, check_sizes
from genlab.losses import gaussian_log_density
from genlab.models.base import Batch, GenerativeModel, Losses, Optimizers, constructor
from genlab.nets import recurrent


def gaussian_nll(x: Tensor, mean: Tensor, log_scale: Tensor) -> Tensor:
    """−log N(x; mean, exp(log_scale)²) summed over the last (feature) axis: (…, F) -> (…).

    −log N(x; μ, σ²) = ½ ((x − μ)/σ)² + log σ + ½ log 2π, per feature (Bishop, 2006, eq. 1.46).
    """
    return -gaussian_log_density(x, mean, logvar=2 * log_scale).sum(dim=-1)  # log σ² = 2 log σ


class SequenceRNN(GenerativeModel):
    """A recurrent autoregressive model with a diagonal Gaussian (or a mixture of them) for each next step.

    Data are sequences of shape (length, features); `length` is the training window,
    but `nll` and `sample` accept any length.

    Args:
        features: F, values per time step.
        length: T, the length of the training sequences (sets `data_shape`).
        hidden: width of the recurrent state.
        layers: number of stacked recurrent layers.
        cell: "gru", "lstm" or "rnn" (Elman, tanh).
        components: K, Gaussians in each step's distribution; K > 1 makes it a mixture.
        lr: Adam learning rate.
        clip_norm: the gradient's global norm is clipped to this value before each update
            (Pascanu et al., 2013), against exploding gradients through time; None switches
            clipping off.
        min_log_scale, max_log_scale: log σ is clamped to this range so that a perfectly
            predictable stretch of data cannot drive σ to 0 and the likelihood to infinity.
    """

    @constructor
    def __init__(
        self,
        features: int,
        length: int,
        *,
        hidden: int = 64,
        layers: int = 1,
        cell: str = "gru",
        components: int = 1,
        lr: float = 1e-3,
        clip_norm: float | None = 1.0,
        min_log_scale: float = -7.0,
        max_log_scale: float = 3.0,
    ) -> None:
        super().__init__()
        check_sizes(features=features, length=length, hidden=hidden, layers=layers, components=components)
        if cell not in ("rnn", "gru", "lstm"):
            raise ValueError(f"unknown cell {cell!r}; choose 'rnn', 'gru' or 'lstm'")
        check_optimisation(lr, clip_norm)
        check_finite(min_log_scale, "min_log_scale")
        check_finite(max_log_scale, "max_log_scale")
        if not min_log_scale < max_log_scale:
            raise ValueError(f"min_log_scale must be below max_log_scale, got {min_log_scale} and {max_log_scale}")
        self.features, self.length, self.components = features, length, components
        self.data_shape = (length, features)
        self.lr, self.clip_norm = lr, clip_norm
        self.min_log_scale, self.max_log_scale = min_log_scale, max_log_scale
        self.start = nn.Parameter(torch.zeros(features))  # x_0: the input that predicts the first step
        self.rnn = recurrent(cell, features, hidden, layers)  # batch first: (B, T, F) -> (B, T, H)
        # its own output weights: h_t -> (μ_t, log σ_t), with K > 1 also the K mixture logits first
        self.head = nn.Linear(hidden, 2 * features if components == 1 else components * (1 + 2 * features))
        if components > 1:
            self._spread_components()

    @torch.no_grad()
    def _spread_components(self) -> None:
        """Start the K components side by side rather than on top of one another.

        With the default initialisation every component starts near 0 with σ near 1, they
        receive nearly the same gradients, and training tends to end with a few broad
        components each straddling several modes while the rest die (weight → 0). Spreading
        the means' biases evenly over [−2, 2] per feature — the range of standardised data —
        with σ about the spacing lets each component claim the data nearest to it.
        """
        k, f = self.components, self.features
        bias = self.head.bias[k:].view(k, 2, f)  # per component: μ biases, then log σ biases
        bias[:, 0] = torch.linspace(-2.0, 2.0, k).unsqueeze(-1)
        bias[:, 1] = math.log(4.0 / k)

    def configure_optimizers(self) -> Optimizers:
        return {"model": torch.optim.Adam(self.parameters(), lr=self.lr)}

    # --- the model --------------------------------------------------------------------

    def _check_sequences(self, x: Tensor, name: str = "x") -> None:
        if not isinstance(x, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
        if x.ndim != 3 or x.shape[-1] != self.features or x.shape[1] < 1:
            raise ValueError(
                f"{name} must have shape (batch, time, {self.features}) with at least one step, "
                f"got {tuple(x.shape)}"
            )

    def _check_values(self, x: Tensor, name: str = "x") -> None:
        """Sequences given to a public method: of the right shape and finite (NaN would pass through the
        recurrence silently)."""
        self._check_sequences(x, name)
        if not torch.isfinite(x).all():
            raise ValueError(f"{name} contains NaN or infinite values")

    def _gaussian(self, out: Tensor) -> tuple[Tensor, Tensor]:
        """Recurrent outputs (B, T, H) -> μ and log σ, each (B, T, F)."""
        mean, log_scale = self.head(out).chunk(2, dim=-1)
        return mean, log_scale.clamp(self.min_log_scale, self.max_log_scale)

    def _mixture(self, out: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Recurrent outputs (B, T, H) -> log π (B, T, K), μ and log σ, each (B, T, K, F)."""
        if self.components == 1:
            mean, log_scale = self._gaussian(out)
            return torch.zeros_like(mean[..., :1]), mean.unsqueeze(-2), log_scale.unsqueeze(-2)
        k, f = self.components, self.features
        params = self.head(out)
        logits, rest = params.split([k, 2 * k * f], dim=-1)
        mean, log_scale = rest.unflatten(-1, (k, 2 * f)).chunk(2, dim=-1)
        return logits.log_softmax(dim=-1), mean, log_scale.clamp(self.min_log_scale, self.max_log_scale)

    def _shifted_inputs(self, x: Tensor) -> Tensor:
        """Teacher forcing: the input at step t is x_{t−1}, at step 1 the start vector. (B, T, F) -> (B, T, F)."""
        start = self.start.expand(x.shape[0], 1, self.features)
        return torch.cat([start, x[:, :-1]], dim=1)

    def predict(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Parameters of p(x_t | x_<t) for every step of x (B, T, F): μ and log σ, each (B, T, F).

        For a single Gaussian per step; a mixture's parameters come from `predict_mixture`.
        """
        if self.components > 1:
            raise ValueError(f"predict gives one Gaussian per step; this model has components = "
                             f"{self.components}, so use predict_mixture")
        self._check_sequences(x)
        out, _ = self.rnn(self._shifted_inputs(x))
        return self._gaussian(out)

    def predict_mixture(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Mixture parameters of p(x_t | x_<t) for every step of x (B, T, F): log π (B, T, K), μ and log σ (B, T, K, F).

        Any K, including 1 (then log π = 0).
        """
        self._check_sequences(x)
        out, _ = self.rnn(self._shifted_inputs(x))
        return self._mixture(out)

    def step_nll(self, x: Tensor) -> Tensor:
        """−log p(x_t | x_<t) in nats for each sequence and step (features summed): (B, T, F) -> (B, T)."""
        if self.components == 1:
            mean, log_scale = self.predict(x)
            return gaussian_nll(x, mean, log_scale)
        log_weight, mean, log_scale = self.predict_mixture(x)
        # −log Σ_k π_k N(x_t; μ_k, σ_k²), the sum taken in log space (log-sum-exp) so no term underflows
        return -(log_weight - gaussian_nll(x.unsqueeze(-2), mean, log_scale)).logsumexp(dim=-1)

    def log_prob(self, x: Tensor) -> Tensor:
        """log p(x) in nats of each sequence, by the chain rule: (B, T, F) -> (B,)."""
        self._check_values(x)
        return -self.step_nll(x).sum(dim=1)

    @torch.no_grad()
    def nll(self, x: Tensor) -> float:
        """Held-out negative log-likelihood in nats per time step, −Σ log p(x) / (B·T), as a number."""
        self._check_values(x)
        return self.step_nll(x).mean().item()

    def train_step(self, batch: Batch, optimizers: Optimizers, step: int) -> Losses:
        x = self.inputs(batch)
        # Exact NLL by the chain rule, teacher forced, per step: −(1/T) Σ_t log N(x_t; μ_t, σ_t²).
        loss = self.step_nll(x).mean(dim=1).mean()  # averaged over the steps of each sequence, then the batch
        self.optimizer_step(optimizers["model"], loss, self.clip_norm)
        return {"nll": loss.detach()}

    # --- generation -------------------------------------------------------------------

    def _draw(self, out: Tensor, generator: torch.Generator | None) -> Tensor:
        if self.components == 1:
            mean, log_scale = self._gaussian(out)
        else:  # pick a component k ~ π, then draw from its Gaussian
            log_weight, means, log_scales = self._mixture(out)
            k = torch.multinomial(log_weight.exp().flatten(0, -2), 1, generator=generator).view(*log_weight.shape[:-1], 1, 1)
            index = k.expand(*k.shape[:-1], self.features)
            mean, log_scale = means.gather(-2, index).squeeze(-2), log_scales.gather(-2, index).squeeze(-2)
        eps = torch.randn(mean.shape, device=mean.device, dtype=mean.dtype, generator=generator)
        return mean + log_scale.exp() * eps

    @torch.no_grad()
    def sample(
        self,
        n: int,
        *,
        length: int | None = None,
        condition: Tensor | None = None,
        generator: torch.Generator | None = None,
        prefix: Tensor | None = None,
    ) -> Tensor:
        """Draw n sequences x_t ~ p(x_t | x_<t), one step at a time, in eval mode: (n, length, F).

        With a prefix (n, P, F) or (P, F) — data the model reads first — the draws continue
        it: the result holds the `length` new steps only. The hidden state is carried from
        step to step, so each new step costs one recurrent step. `length` defaults to the
        training length.
        """
        self._check_n(n, condition, generator)
        length = check_count(self.length if length is None else length, "length", minimum=1)
        with self.evaluating():
            start = self.start.expand(n, 1, self.features)
            if prefix is None:
                previous, state = start, None
            else:
                if isinstance(prefix, Tensor) and prefix.ndim == 2:
                    prefix = prefix.unsqueeze(0).expand(n, *prefix.shape)
                self._check_values(prefix, "prefix")
                if prefix.shape[0] != n:
                    raise ValueError(f"prefix holds {prefix.shape[0]} sequences but n = {n}")
                prefix = prefix.to(self.device, self.start.dtype)
                # Read start, x_1, …, x_{P−1}; the last prefix value becomes the next input.
                _, state = self.rnn(torch.cat([start, prefix[:, :-1]], dim=1))
                previous = prefix[:, -1:]
            steps = []
            for _ in range(length):
                out, state = self.rnn(previous, state)  # (n, 1, F) -> (n, 1, H)
                previous = self._draw(out, generator)
                steps.append(previous)
            return torch.cat(steps, dim=1)

    def forecast(
        self, prefix: Tensor, horizon: int, n_samples: int = 100, *, generator: torch.Generator | None = None
    ) -> Tensor:
        """Sample paths that continue one observed sequence: prefix (P, F) -> (n_samples, horizon, F).

        Their mean and quantiles give a point forecast with uncertainty bands.
        """
        if not isinstance(prefix, Tensor) or prefix.ndim != 2:
            raise ValueError(
                f"forecast takes one observed sequence of shape (time, features), got "
                f"{tuple(prefix.shape) if isinstance(prefix, Tensor) else type(prefix).__name__}"
            )
        return self.sample(n_samples, length=horizon, generator=generator, prefix=prefix)


# --- baselines ------------------------------------------------------------------------------


def iid_gaussian_nll(train: Tensor, test: Tensor) -> Tensor:
    """Baseline without memory: every value ~ N(m, s²), m and s per feature from the training windows.

    train (N, T, F), test (M, T', F) -> per-step NLL in nats (M, T'), features summed.
    """
    _check_pair(train, test)
    flat = train.reshape(-1, train.shape[-1]).double()
    mean, log_scale = flat.mean(dim=0), flat.std(dim=0, unbiased=False).log()
    return gaussian_nll(test.double(), mean, log_scale).to(test.dtype)


def random_walk_nll(train: Tensor, test: Tensor) -> Tensor:
    """Persistence baseline: x_t ~ N(x_{t−1}, s²), s per feature the RMS step change in the training windows.

    train (N, T, F), test (M, T', F) -> per-step NLL in nats (M, T' − 1) for steps 2, …, T'
    (the first step has no predecessor).
    """
    _check_pair(train, test)
    if train.shape[1] < 2 or test.shape[1] < 2:
        raise ValueError("the random walk needs sequences of at least two steps")
    steps = train.diff(dim=1).reshape(-1, train.shape[-1]).double()
    log_scale = 0.5 * steps.pow(2).mean(dim=0).log()
    test = test.double()
    return gaussian_nll(test[:, 1:], test[:, :-1], log_scale).to(train.dtype)


def _check_pair(train: Tensor, test: Tensor) -> None:
    for name, x in (("train", train), ("test", test)):
        if not isinstance(x, Tensor) or x.ndim != 3:
            raise ValueError(f"{name} must be a tensor of shape (N, time, features)")
    if train.shape[-1] != test.shape[-1]:
        raise ValueError(f"train has {train.shape[-1]} features, test {test.shape[-1]}")
