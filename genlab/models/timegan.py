"""TimeGAN (Yoon, Jarrett & van der Schaar, 2019): a GAN played in a learned latent space of sequences.

Five recurrent networks, each a stack of `layers` cells followed by a linear layer on every
step (a sigmoid after all but the discriminator's, as in the official code):

    embedder    e:  x_{1:T} ↦ h_{1:T}            (data to latent sequences)
    recovery    r:  h_{1:T} ↦ x̃_{1:T}           (latent back to data)
    generator   g:  z_{1:T} ↦ ê_{1:T}            (noise to latent sequences)
    supervisor  s:  h_{1:t} ↦ ĥ_{t+1}            (one step ahead, in latent space)
    discriminator d: h_{1:T} ↦ logits y_{1:T}    (real or generated, at every step)

The losses, with MSE the mean squared error and BCE the binary cross-entropy on logits
(the paper's equations, in the official code's form):

    reconstruction  L_R = MSE(x, r(e(x)))                                           (paper eq. 7)
    supervised      L_S = MSE(h_{2:T}, s(h)_{1:T−1}),  h = e(x)                      (eq. 9)
    unsupervised    L_U = BCE(d(s(ê)), 1) + γ BCE(d(ê), 1),  ê = g(z)                (eq. 8, G's side)
    moments         L_V = mean |σ̂ − σ| + mean |μ̂ − μ|, the per-(step, feature) standard
                          deviations and means over the batch of x̂ = r(s(ê)) and of x
    discriminator   L_D = BCE(d(h), 1) + BCE(d(s(ê)), 0) + γ BCE(d(ê), 0)

Training has three phases, chosen by the step number alone so that a checkpoint taken in
any phase resumes exactly:

1. steps [0, embedding_steps): embedder and recovery minimise 10 √L_R;
2. the next `supervised_steps`: supervisor (with generator, which gets no gradient here)
   minimises L_S on real latent sequences;
3. the rest, joint training: per step, `generator_updates` times — generator and supervisor
   minimise L_U + 100 √L_S + 100 L_V, then embedder and recovery minimise
   10 √L_R + 0.1 L_S — then the discriminator minimises L_D, but only while L_D > 0.15
   (it is not allowed to win outright).

The noise z_t is drawn independently for every sequence, step and feature from U(0, 1), as
in the official code (the paper speaks of a Wiener process); data are expected in [0, 1],
the range of the recovery network's sigmoid.

Three switches give the paper's ablations (its Table 4): `supervised_loss=False` drops L_S
from phases 2 and 3; `embedding=False` plays the game in data space (embedder and recovery
become identities, phase 1 is skipped); `joint_embedding=False` keeps embedder and recovery
fixed after phase 1.
"""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genlab import noise
from genlab.checks import check_flag, check_non_negative
from genlab.distributed import batch_mean
from genlab.models.base import Batch, GenerativeModel, Losses, Optimizers, check_count, check_positive, constructor
from genlab.nets import RECURRENT_CELLS, recurrent


class StepNet(nn.Module):
    """A recurrent stack with a linear layer on every step's state, optionally squashed by a sigmoid.

    (B, T, inputs) -> (B, T, outputs).
    """

    def __init__(self, cell: str, inputs: int, hidden: int, outputs: int, layers: int, sigmoid: bool = True) -> None:
        super().__init__()
        self.rnn = recurrent(cell, inputs, hidden, layers)
        self.out = nn.Linear(hidden, outputs)
        self.sigmoid = sigmoid

    def forward(self, x: Tensor) -> Tensor:
        y = self.out(self.rnn(x)[0])
        return torch.sigmoid(y) if self.sigmoid else y


def bce(logits: Tensor, target: float) -> Tensor:
    """Binary cross-entropy of logits against a constant label, averaged over every element."""
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def moment_loss(generated: Tensor, real: Tensor) -> Tensor:
    """L_V: mean |σ̂ − σ| + mean |μ̂ − μ| over steps and features, the moments taken over the batch.

    σ = √(var + 1e-6), the population variance as in the official code; no square root is
    taken of the sum.
    """
    std = lambda x: torch.sqrt(x.var(dim=0, unbiased=False) + 1e-6)
    return (std(generated) - std(real)).abs().mean() + (generated.mean(0) - real.mean(0)).abs().mean()


def next_step_loss(h: Tensor, predicted: Tensor) -> Tensor:
    """L_S, the supervised loss: the supervisor's output at step t, s(h)_t, predicts h_{t+1}:
    MSE(h[:, 1:], s(h)[:, :−1]). (The switch `TimeGAN(supervised_loss=False)` leaves it out of training.)"""
    return F.mse_loss(predicted[:, :-1], h[:, 1:])


def __getattr__(name: str):
    # the loss function was called `supervised_loss`, the name of TimeGAN's switch
    if name == "supervised_loss":
        warnings.warn("genlab.models.timegan.supervised_loss is now next_step_loss (the name supervised_loss is "
                      "TimeGAN's switch)", FutureWarning, stacklevel=2)
        return next_step_loss
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class TimeGAN(GenerativeModel):
    """TimeGAN on sequences (length, features) with values in [0, 1].

    Args (keywords only, the sizes in the data's order (length, features)):
        length: T, sequence length.
        features: F, values per step.
        hidden: width of every recurrent network and of the latent sequences (official: 24).
        layers: cells per network (official: 3); the supervisor has one fewer (at least 1).
        cell: "gru" (official), "lstm" or "rnn".
        noise_dim: noise values per step; default F, as in the official code.
        gamma: weight γ of the unsupervised loss on the generator's own latent ê (official: 1).
        embedding_steps, supervised_steps: lengths of phases 1 and 2; joint training is the rest.
        generator_updates: generator and embedder updates per joint step (official: 2).
        d_threshold: the discriminator steps only while its loss exceeds this (official: 0.15).
        supervised_loss, embedding, joint_embedding: the ablation switches (module docstring).
        lr: Adam learning rate of every optimizer (official: TensorFlow's default, 1e-3).

    Optimizers: "embedding" (embedder + recovery), "generator" (generator + supervisor),
    "discriminator".
    """

    @constructor
    def __init__(
        self,
        *,
        length: int,
        features: int,
        hidden: int = 24,
        layers: int = 3,
        cell: str = "gru",
        noise_dim: int | None = None,
        gamma: float = 1.0,
        embedding_steps: int = 1_000,
        supervised_steps: int = 1_000,
        generator_updates: int = 2,
        d_threshold: float = 0.15,
        supervised_loss: bool = True,
        embedding: bool = True,
        joint_embedding: bool = True,
        lr: float = 1e-3,
    ) -> None:
        super().__init__()
        noise_dim = features if noise_dim is None else noise_dim
        for name, value in (("length", length), ("features", features), ("hidden", hidden), ("layers", layers),
                            ("noise_dim", noise_dim), ("generator_updates", generator_updates)):
            check_count(value, name, minimum=1)
        for name, value in (("embedding_steps", embedding_steps), ("supervised_steps", supervised_steps)):
            check_count(value, name, minimum=0)
        if length < 2:
            raise ValueError(f"length must be at least 2 (the supervised loss predicts one step ahead), got {length}")
        if cell not in RECURRENT_CELLS:
            raise ValueError(f"unknown cell {cell!r}; choose one of {tuple(RECURRENT_CELLS)}")
        for name, value in (("supervised_loss", supervised_loss), ("embedding", embedding),
                            ("joint_embedding", joint_embedding)):
            check_flag(value, name)
        check_positive(lr, "lr")
        check_non_negative(gamma, "gamma")
        check_non_negative(d_threshold, "d_threshold", hint="0 trains the discriminator at every joint step")
        self.features, self.length, self.noise_dim = features, length, noise_dim
        self.data_shape = (length, features)
        self.gamma, self.d_threshold, self.lr = float(gamma), float(d_threshold), lr
        self.generator_updates = generator_updates
        self.use_supervised_loss, self.use_embedding = bool(supervised_loss), bool(embedding)
        self.joint_embedding = bool(joint_embedding) and self.use_embedding
        # without the embedding, the game is played on the data themselves: latent width = F
        self.embedding_steps = embedding_steps if self.use_embedding else 0
        self.supervised_steps = supervised_steps
        latent = hidden if self.use_embedding else features
        self.latent_dim = latent
        if self.use_embedding:
            self.embedder = StepNet(cell, features, hidden, latent, layers)
            self.recovery = StepNet(cell, latent, hidden, features, layers)
        else:
            self.embedder, self.recovery = nn.Identity(), nn.Identity()
        self.generator = StepNet(cell, noise_dim, hidden, latent, layers)
        self.supervisor = StepNet(cell, latent, hidden, latent, max(layers - 1, 1))
        self.discriminator = StepNet(cell, latent, hidden, 1, layers, sigmoid=False)

    def configure_optimizers(self) -> Optimizers:
        """One Adam per player, kept across the phases: "embedding" (embedder and recovery; phase 1 and
        joint), "generator" (generator and supervisor; phase 2 and joint), "discriminator". The
        official code gives phases 1 and 2 Adam states of their own; here a player carries its
        Adam state from one phase into the next."""
        adam = lambda *nets: torch.optim.Adam([p for net in nets for p in net.parameters()], lr=self.lr)
        optimizers = {"generator": adam(self.generator, self.supervisor), "discriminator": adam(self.discriminator)}
        if self.use_embedding:  # identities have nothing to train
            optimizers["embedding"] = adam(self.embedder, self.recovery)
        return optimizers

    def check_data(self, x: Tensor) -> None:
        super().check_data(x)
        self.check_inputs(x, "the training data", (0.0, 1.0),
                          ", the range of the recovery network's sigmoid: rescale each feature to [0, 1] "
                          "with genlab.data.Scaler('minmax').fit(x).transform(x) (min-max, as the official code does)")

    def phase(self, step: int) -> str:
        """"embedding", "supervised" or "joint": the training phase of `step`."""
        if step < self.embedding_steps:
            return "embedding"
        return "supervised" if step < self.embedding_steps + self.supervised_steps else "joint"

    def phase_starts(self) -> dict[str, int]:
        """The first step of each phase that has any steps: joint training starts at
        embedding_steps + supervised_steps, so `fit(steps)` must go beyond it to train adversarially."""
        starts, step = {}, 0
        for name, length in (("embedding", self.embedding_steps), ("supervised", self.supervised_steps)):
            if length:
                starts[name], step = step, step + length
        return {**starts, "joint": step}

    # --- the networks together ------------------------------------------------------------------

    def noise(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """z ~ U(0, 1), independently for every sequence, step and feature: (n, length, noise_dim)."""
        return noise.uniform(n, self.length, self.noise_dim, device=self.device, generator=generator)

    def generate(self, z: Tensor) -> Tensor:
        """Noise (B, T, noise_dim) -> sequences x̂ = r(s(g(z))), (B, T, F)."""
        return self.recovery(self.supervisor(self.generator(z)))

    # --- training ---------------------------------------------------------------------------------

    def _supervised(self, h: Tensor) -> Tensor:
        """L_S on latent sequences h, or 0 when the supervised loss is switched off."""
        return next_step_loss(h, self.supervisor(h)) if self.use_supervised_loss else h.new_zeros(())

    def _reconstruction(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """h = e(x) and the embedding's loss 10 √L_R."""
        h = self.embedder(x)
        return h, 10 * torch.sqrt(F.mse_loss(self.recovery(h), x))

    def _generator_loss(self, x: Tensor) -> Tensor:
        """L_U + 100 √L_S + 100 L_V for a fresh batch of noise. It passes through d and r too, but the
        "generator" optimizer's update sends its gradient into g and s only."""
        e_hat = self.generator(self.noise(x.shape[0]))
        h_hat = self.supervisor(e_hat)
        loss_u = bce(self.discriminator(h_hat), 1.0) + self.gamma * bce(self.discriminator(e_hat), 1.0)
        loss_s = self._supervised(self.embedder(x).detach())  # detached to save work: e is not trained here
        return loss_u + 100 * torch.sqrt(loss_s) + 100 * moment_loss(self.recovery(h_hat), x)

    def _discriminator_loss(self, x: Tensor) -> Tensor:
        """L_D on real latent sequences and on fresh fakes, with gradients for d only."""
        with torch.no_grad():  # saves work only: the "discriminator" update would train d alone anyway
            h = self.embedder(x)
            e_hat = self.generator(self.noise(x.shape[0]))
            h_hat = self.supervisor(e_hat)
        return (bce(self.discriminator(h), 1.0) + bce(self.discriminator(h_hat), 0.0)
                + self.gamma * bce(self.discriminator(e_hat), 0.0))

    def train_step(self, batch: Batch, optimizers: Optimizers, step: int) -> Losses:
        """One step of the phase `step` falls in. Every step reports the same four losses —
        "reconstruction" (10 √L_R), "supervised" (L_S), "generator" and "discriminator" — those a
        phase does not train computed without gradients, to show where each player stands.

        Each update trains its optimizer's networks only (`Trainable.update`): "embedding" e and r,
        "generator" g and s, "discriminator" d, whatever other networks the loss passes through."""
        x = self.inputs(batch)
        phase = self.phase(step)
        if phase != "joint":
            if phase == "embedding":
                h, loss_r = self._reconstruction(x)
                self.update({optimizers["embedding"]: loss_r})  # 10 √L_R → e and r
                h = h.detach()  # its graph is spent: h is data for L_S below
            else:
                with torch.no_grad():  # logged only: e and r are not trained in this phase
                    h, loss_r = self._reconstruction(x)
            loss_s = next_step_loss(h, self.supervisor(h))
            if phase == "supervised" and self.use_supervised_loss:
                self.update({optimizers["generator"]: loss_s})  # L_S → s (g takes no part in L_S)
            with torch.no_grad():  # logged only: where the players stand before the joint phase
                g_loss, d_loss = self._generator_loss(x), self._discriminator_loss(x)
            return {"reconstruction": loss_r.detach(), "supervised": loss_s.detach(), "generator": g_loss,
                    "discriminator": d_loss}

        for _ in range(self.generator_updates):
            g_loss = self._generator_loss(x)
            self.update({optimizers["generator"]: g_loss})  # → g and s only, though it passes d and r
            h, loss_r = self._reconstruction(x)
            loss_s = self._supervised(h)
            if self.joint_embedding:  # embedder and recovery: reconstruct, and help the supervisor predict
                self.update({optimizers["embedding"]: loss_r + 0.1 * loss_s})  # → e and r only, not s
        d_loss = self._discriminator_loss(x)
        # a discriminator that already wins is not trained further (decided on the whole batch under torchrun)
        if batch_mean(d_loss).item() > self.d_threshold:
            self.update({optimizers["discriminator"]: d_loss})
        return {"reconstruction": loss_r.detach(), "supervised": loss_s.detach(), "generator": g_loss.detach(),
                "discriminator": d_loss.detach()}

    # --- sampling -----------------------------------------------------------------------------------

    @torch.no_grad()
    def sample(self, n: int, *, condition: Tensor | None = None, generator: torch.Generator | None = None) -> Tensor:
        """n generated sequences r(s(g(z))), z ~ U(0, 1), shape (n, length, features), in eval mode."""
        self._check_n(n, condition, generator)
        with self.evaluating():
            return self.generate(self.noise(n, generator))
