"""The variational recurrent neural network, VRNN (Chung et al., 2015): a latent variable at every step.

A plain autoregressive RNN (`SequenceRNN`) puts all its randomness in the output: given
the past, x_t is one Gaussian. The VRNN adds a latent z_t at every step, drawn before x_t
from a prior that the recurrence itself computes, so that each step's distribution is a
continuous mixture of Gaussians and the randomness can also steer the state. With a
state h_t (a GRU) and feature extractors φ_x, φ_z (one linear layer and a ReLU each):

    prior          p(z_t | h_{t−1})       = N(μ_0,t, diag σ_0,t²),   (μ_0,t, log σ_0,t) = f_prior(h_{t−1})
    generation     p(x_t | z_t, h_{t−1})  = N(μ_x,t, diag σ_x,t²),   (μ_x,t, log σ_x,t) = f_dec(φ_z(z_t), h_{t−1})
    recurrence     h_t = GRU([φ_x(x_t), φ_z(z_t)], h_{t−1})
    inference      q(z_t | x_t, h_{t−1})  = N(μ_z,t, diag σ_z,t²),   (μ_z,t, log σ_z,t) = f_enc(φ_x(x_t), h_{t−1})

(Chung et al., 2015, eqs. 5–9). Because h_{t−1} summarises x_<t and z_<t, the joint and
the approximate posterior factorise over time, and the evidence lower bound is a sum of
per-step terms (their eq. 11):

    log p(x_≤T) ≥ E_q [ Σ_t  log p(x_t | z_≤t, x_<t) − KL(q(z_t | x_≤t, z_<t) ‖ p(z_t | x_<t, z_<t)) ],

each KL between two diagonal Gaussians in closed form, the expectation estimated with
one reparameterised draw of z_1 … z_T. For evaluation the importance-weighted bound
(Burda et al., 2016) replaces the one-sample ELBO: k whole trajectories z_≤T ~ q, weights
w = Π_t p(x_t | …) p(z_t | …) / q(z_t | …), bound log (1/k) Σ w.

Every log σ has a soft floor: log σ = floor + softplus(raw − floor), never below `min_log_scale`.
Without one, near-deterministic data (the sines) drive σ towards 0, the likelihood's
1/σ² towards infinity, and the loss to NaN — a failure users of public VRNN code report.
The floored log σ is then doubled once, into the log-variance log σ² that every Gaussian of
`genlab.losses` takes.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genlab.checks import check_count, check_finite, check_optimisation, check_sizes
from genlab.losses import diagonal_normal_log_prob, gaussian_kl_between, linear_warmup, reparameterize
from genlab.models.base import Batch, GenerativeModel, Losses, Optimizers, constructor
from genlab.nets import MLP


class VRNN(GenerativeModel):
    """A variational RNN on real-valued sequences of shape (length, features).

    Args:
        features: F, values per time step.
        length: T, the training sequences' length (sets `data_shape`; `sample` takes any length).
        latent_dim: size of each z_t.
        hidden: width of the GRU state, of φ_x, φ_z and of the hidden layer of each head.
        lr: Adam learning rate.
        kl_warmup: the KL terms' weight rises linearly from 0 at step 0 to 1 at step kl_warmup
            (computed from the step, so a resumed run repeats the uninterrupted one); 0: always 1.
        clip_norm: the gradient's global norm is clipped to this value before each update; None: no clipping.
        min_log_scale: floor of every log σ (data, prior and posterior).
    """

    @constructor
    def __init__(
        self,
        features: int,
        length: int,
        *,
        latent_dim: int = 8,
        hidden: int = 64,
        lr: float = 1e-3,
        kl_warmup: int = 0,
        clip_norm: float | None = None,
        min_log_scale: float = -5.0,
    ) -> None:
        super().__init__()
        check_sizes(features=features, length=length, latent_dim=latent_dim, hidden=hidden)
        check_count(kl_warmup, "kl_warmup")
        check_optimisation(lr, clip_norm)
        check_finite(min_log_scale, "min_log_scale")
        self.features, self.length, self.latent_dim, self.hidden = features, length, latent_dim, hidden
        self.data_shape = (length, features)
        self.lr, self.kl_warmup, self.clip_norm, self.min_log_scale = lr, kl_warmup, clip_norm, min_log_scale
        self.phi_x = nn.Sequential(nn.Linear(features, hidden), nn.ReLU())
        self.phi_z = nn.Sequential(nn.Linear(latent_dim, hidden), nn.ReLU())
        self.prior = MLP(hidden, 2 * latent_dim, hidden, depth=1)  # h_{t−1} -> (μ_0, log σ_0)
        self.encoder = MLP(2 * hidden, 2 * latent_dim, hidden, depth=1)  # [φ_x(x_t), h_{t−1}] -> (μ_z, log σ_z)
        self.decoder = MLP(2 * hidden, 2 * features, hidden, depth=1)  # [φ_z(z_t), h_{t−1}] -> (μ_x, log σ_x)
        self.cell = nn.GRUCell(2 * hidden, hidden)  # [φ_x(x_t), φ_z(z_t)], h_{t−1} -> h_t

    def configure_optimizers(self) -> Optimizers:
        return {"model": torch.optim.Adam(self.parameters(), lr=self.lr)}

    # --- the model --------------------------------------------------------------------

    def _gaussian(self, out: Tensor) -> tuple[Tensor, Tensor]:
        """A head's output (B, 2d) -> mean and log-variance (B, d), log σ softly floored at min_log_scale."""
        mean, raw = out.chunk(2, dim=-1)
        log_scale = self.min_log_scale + F.softplus(raw - self.min_log_scale)
        return mean, 2 * log_scale  # log σ² = 2 log σ

    def step_terms(self, x: Tensor, *, generator: torch.Generator | None = None) -> dict[str, Tensor]:
        """One pass over x (B, T, F) with one draw z_≤T ~ q; each term per sequence and step, (B, T):

        - "log_px": log p(x_t | z_≤t, x_<t), features summed;
        - "kl": KL(q(z_t | x_≤t, z_<t) ‖ p(z_t | x_<t, z_<t)) in closed form;
        - "log_ratio": log p(z_t | …) − log q(z_t | …) at the drawn z_t (the importance weight's part).
        """
        b, t_max, _ = x.shape
        h = x.new_zeros(b, self.hidden)
        features = self.phi_x(x)  # (B, T, H): φ_x of every step at once
        log_px, kl, log_ratio = [], [], []
        for t in range(t_max):
            prior_mean, prior_logvar = self._gaussian(self.prior(h))
            post_mean, post_logvar = self._gaussian(self.encoder(torch.cat([features[:, t], h], dim=-1)))
            z = reparameterize(post_mean, post_logvar, generator=generator)
            phi_z = self.phi_z(z)
            mean, logvar = self._gaussian(self.decoder(torch.cat([phi_z, h], dim=-1)))
            log_px.append(diagonal_normal_log_prob(x[:, t], mean, logvar))
            kl.append(gaussian_kl_between(post_mean, post_logvar, prior_mean, prior_logvar))
            log_ratio.append(diagonal_normal_log_prob(z, prior_mean, prior_logvar)
                             - diagonal_normal_log_prob(z, post_mean, post_logvar))
            h = self.cell(torch.cat([features[:, t], phi_z], dim=-1), h)
        return {name: torch.stack(terms, dim=1) for name, terms in
                (("log_px", log_px), ("kl", kl), ("log_ratio", log_ratio))}

    def elbo(self, x: Tensor, *, generator: torch.Generator | None = None) -> Tensor:
        """The one-sample evidence lower bound of each sequence, Σ_t (log p(x_t | …) − KL_t): (B, T, F) -> (B,)."""
        self._check_sequences(x)
        terms = self.step_terms(x, generator=generator)
        return (terms["log_px"] - terms["kl"]).sum(dim=1)

    def kl_weight(self, step: int) -> float:
        """The KL terms' weight at training step `step` (1 after the warm-up)."""
        return linear_warmup(step, self.kl_warmup)

    def train_step(self, batch: Batch, optimizers: Optimizers, step: int) -> Losses:
        terms = self.step_terms(self.inputs(batch))
        weight = self.kl_weight(step)
        reconstruction, kl = -terms["log_px"].mean(), terms["kl"].mean()  # per sequence step, in nats
        loss = reconstruction + weight * kl  # the negative (KL-weighted) ELBO, per step
        self.optimizer_step(optimizers["model"], loss, self.clip_norm)
        return {"loss": loss.detach(), "reconstruction": reconstruction.detach(), "kl": kl.detach()}

    # --- evaluation -------------------------------------------------------------------

    @torch.no_grad()
    def log_likelihood(self, x: Tensor, k: int = 100, *, generator: torch.Generator | None = None,
                       max_batch: int = 8192) -> Tensor:
        """The importance-weighted bound L_k on log p(x) of each sequence (Burda et al., 2016): (B, T, F) -> (B,).

        L_k = log (1/k) Σ_i Π_t p(x_t | z_≤t^(i), x_<t) p(z_t^(i) | …) / q(z_t^(i) | …), with k whole
        trajectories z^(i) ~ q. L_1 is the ELBO in expectation and L_k rises towards log p(x) with k.
        Trajectories are run in chunks of at most `max_batch` sequences, combined by a running logsumexp.
        """
        self._check_sequences(x)
        check_count(k, "k, the number of importance samples,", minimum=1)
        check_count(max_batch, "max_batch", minimum=1)
        with self.evaluating():
            x = x.to(self.device, self.phi_x[0].weight.dtype)
            b = x.shape[0]
            chunk = max(1, max_batch // max(b, 1))
            total = torch.full((b,), -math.inf, device=x.device)
            done = 0
            while done < k:
                c = min(chunk, k - done)
                terms = self.step_terms(x.repeat(c, 1, 1), generator=generator)  # row i·B + j: sample i of sequence j
                log_w = (terms["log_px"] + terms["log_ratio"]).sum(dim=1).view(c, b)
                total = torch.logaddexp(total, torch.logsumexp(log_w, dim=0))
                done += c
            return total - math.log(k)

    @torch.no_grad()
    def nll(self, x: Tensor, k: int = 100, *, generator: torch.Generator | None = None) -> float:
        """Held-out negative log-likelihood bound in nats per time step, −Σ L_k(x) / (B·T): an upper bound on the true NLL."""
        return -self.log_likelihood(x, k, generator=generator).sum().item() / (x.shape[0] * x.shape[1])

    @torch.no_grad()
    def step_kl(self, x: Tensor, *, generator: torch.Generator | None = None) -> Tensor:
        """KL(q(z_t | …) ‖ p(z_t | …)) in nats at every step of x (B, T, F), one draw of z: (B, T).

        Where it is high, the data at that step told the model something its prior did not expect.
        """
        self._check_sequences(x)
        with self.evaluating():
            return self.step_terms(x.to(self.device), generator=generator)["kl"]

    # --- generation -------------------------------------------------------------------

    @torch.no_grad()
    def sample(self, n: int, *, length: int | None = None, condition: Tensor | None = None,
               generator: torch.Generator | None = None) -> Tensor:
        """n sequences drawn step by step from the model: z_t from the prior, then x_t, then h_t: (n, length, F)."""
        self._check_n(n, condition, generator)
        length = check_count(self.length if length is None else length, "length", minimum=1)
        with self.evaluating():
            h = torch.zeros(n, self.hidden, device=self.device)
            steps = []
            for _ in range(length):
                prior_mean, prior_logvar = self._gaussian(self.prior(h))
                z = reparameterize(prior_mean, prior_logvar, generator=generator)
                phi_z = self.phi_z(z)
                mean, logvar = self._gaussian(self.decoder(torch.cat([phi_z, h], dim=-1)))
                eps = torch.randn(mean.shape, device=mean.device, dtype=mean.dtype, generator=generator)
                x_t = mean + torch.exp(0.5 * logvar) * eps
                steps.append(x_t)
                h = self.cell(torch.cat([self.phi_x(x_t), phi_z], dim=-1), h)
            return torch.stack(steps, dim=1)

    # --- checks -----------------------------------------------------------------------

    def _check_sequences(self, x: object, name: str = "x") -> None:
        if not isinstance(x, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
        if x.ndim != 3 or x.shape[-1] != self.features or x.shape[1] < 1:
            raise ValueError(f"{name} must have shape (batch, time, {self.features}) with at least one step, "
                             f"got {tuple(x.shape)}")
        if not torch.isfinite(x).all():
            raise ValueError(f"{name} contains NaN or infinite values; VRNN has no masking, so pass complete sequences")
