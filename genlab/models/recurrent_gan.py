"""GANs whose generator and discriminator are recurrent networks: C-RNN-GAN and RCGAN.

Both play the GAN game of chapter 3 on whole sequences x = (x_1, …, x_T):

- the generator G is a recurrent network fed fresh noise z_t at every step (one draw per
  sequence, step and noise feature), with an output layer x̂_t = W h_t + b on each step's
  state. In C-RNN-GAN (Mogren, 2016) its input at step t is also its own previous output
  x̂_{t−1} ("feed previous"), so the sequence is built autoregressively.
- the discriminator D is a recurrent network that reads x_1, …, x_T and gives a logit at
  *every* step, l_t = w·h_t + c. Its loss is the GAN cross-entropy averaged over the
  steps, D's and G's alike (Esteban et al., 2017, eq. 1–2):

      L_D = −(1/T) Σ_t [log D_t(x) + log(1 − D_t(G(z)))],   L_G = −(1/T) Σ_t log D_t(G(z))

  (G's loss in the non-saturating form, Goodfellow et al., 2014, section 3). C-RNN-GAN's
  discriminator is bidirectional, so each step's verdict reads the whole sequence; RCGAN's
  reads forward only.

RCGAN (Esteban et al., 2017) conditions both networks on a label c: the one-hot code of c
is appended to the generator's input and to the discriminator's input at every step, so
D judges whether x is a real sequence *of class c* (Mirza & Osindero, 2014).

Feature matching (Salimans et al., 2016), an option C-RNN-GAN uses, replaces G's loss by
the squared distance between the mean discriminator features of a real and a generated
batch, ‖E f(x) − E f(G(z))‖², with f the discriminator's recurrent outputs at every step;
D is trained as before.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genlab import noise
from genlab import losses
from genlab.checks import check_betas, check_flag, check_value_range
from genlab.models.base import Batch, GenerativeModel, Losses, Optimizers, check_count, check_positive, constructor
from genlab.nets import RECURRENT_CELLS, recurrent

OUTPUTS = {"linear": None, "sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}


def one_hot_steps(labels: Tensor | None, classes: int, length: int, dtype: torch.dtype) -> Tensor | None:
    """Labels (B,) -> their one-hot codes repeated at every step, (B, length, classes); None stays None."""
    if labels is None:
        return None
    return F.one_hot(labels, classes).to(dtype).unsqueeze(1).expand(-1, length, -1)


def with_condition(x: Tensor, code: Tensor | None) -> Tensor:
    """x (B, T, F) with the per-step condition code (B, T, K) appended: (B, T, F + K)."""
    return x if code is None else torch.cat([x, code], dim=-1)


class RecurrentGAN(GenerativeModel):
    """A recurrent generator and a recurrent discriminator that scores every step.

    Data are sequences (length, features). `RecurrentGAN.crnngan` and `RecurrentGAN.rcgan`
    build the two published configurations; the constructor exposes every choice.

    Args:
        features: F, values per step.
        length: T, the length of the generated (and training) sequences.
        noise_dim: noise values drawn per step.
        hidden: width of both recurrent networks.
        layers: stacked recurrent layers in each network.
        cell: "lstm" (both papers), "gru" or "rnn".
        bidirectional: D reads the sequence both ways (C-RNN-GAN) or forward only (RCGAN).
        feed_previous: G's input at step t includes its own output at t − 1 (C-RNN-GAN).
        noise: "step" draws fresh noise for every step (both papers); "sequence" draws one
            vector per sequence and feeds it at every step, so whatever varies from one
            sequence to another (a frequency, a phase) is set once and kept.
        feature_matching: G minimises the feature-matching loss instead of the GAN loss.
        classes: K > 0 for a label-conditioned model (RCGAN); data are (sequences, labels).
        output: G's output layer: "linear" (unbounded), "sigmoid" (data in [0, 1]) or
            "tanh" (data in [−1, 1]); a bounded output makes `fit` refuse data outside it.
        lr, betas: Adam settings of both players.
        d_lr: the discriminator's learning rate when it should differ from the generator's
            (two time-scales, Heusel et al., 2017); None: lr. A recurrent discriminator
            at the generator's rate tends to stay at chance while the generator keeps ahead.
        clip_norm: each player's gradient norm is clipped to this before its step; None: off.

    Optimizers: "discriminator" and "generator".
    """

    @constructor
    def __init__(
        self,
        features: int,
        length: int,
        *,
        noise_dim: int = 8,
        hidden: int = 64,
        layers: int = 1,
        cell: str = "lstm",
        bidirectional: bool = False,
        feed_previous: bool = False,
        noise: str = "step",
        feature_matching: bool = False,
        classes: int = 0,
        output: str = "linear",
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.5, 0.999),
        d_lr: float | None = None,
        clip_norm: float | None = None,
    ) -> None:
        super().__init__()
        for name, value in (("features", features), ("length", length), ("noise_dim", noise_dim),
                            ("hidden", hidden), ("layers", layers)):
            check_count(value, name, minimum=1)
        check_count(classes, "classes", minimum=0)
        if cell not in RECURRENT_CELLS:
            raise ValueError(f"unknown cell {cell!r}; choose one of {tuple(RECURRENT_CELLS)}")
        if noise not in ("step", "sequence"):
            raise ValueError(f"noise must be 'step' (fresh at every step) or 'sequence' (one draw per sequence), "
                             f"got {noise!r}")
        if output not in OUTPUTS:
            raise ValueError(f"unknown output {output!r}; choose one of {tuple(OUTPUTS)}")
        for name, value in (("bidirectional", bidirectional), ("feed_previous", feed_previous),
                            ("feature_matching", feature_matching)):
            check_flag(value, name)
        check_positive(lr, "lr")
        check_betas(betas)
        if d_lr is not None:
            check_positive(d_lr, "d_lr (or None for the generator's lr)")
        if clip_norm is not None:
            check_positive(clip_norm, "clip_norm (or None for no clipping)")
        self.features, self.length, self.noise_dim, self.classes = features, length, noise_dim, classes
        self.data_shape = (length, features)
        self.bidirectional, self.feed_previous = bool(bidirectional), bool(feed_previous)
        self.feature_matching, self.noise_per = bool(feature_matching), noise
        self.output, self.value_range = output, OUTPUTS[output]
        self.lr, self.betas, self.clip_norm = lr, tuple(betas), clip_norm
        self.d_lr = lr if d_lr is None else d_lr

        g_inputs = noise_dim + classes + (features if feed_previous else 0)
        self.g_rnn = recurrent(cell, g_inputs, hidden, layers)
        self.g_out = nn.Linear(hidden, features)
        self.d_rnn = recurrent(cell, features + classes, hidden, layers, bidirectional=self.bidirectional)
        self.d_out = nn.Linear(hidden * (2 if self.bidirectional else 1), 1)

    @classmethod
    @constructor
    def crnngan(cls, features: int, length: int, *, hidden: int = 64, **kwargs) -> RecurrentGAN:
        """C-RNN-GAN (Mogren, 2016): LSTMs, G fed noise and its previous output, D bidirectional."""
        options = {"cell": "lstm", "bidirectional": True, "feed_previous": True, **kwargs}
        return cls(features, length, hidden=hidden, **options)

    @classmethod
    @constructor
    def rcgan(cls, features: int, length: int, *, classes: int = 0, hidden: int = 64, **kwargs) -> RecurrentGAN:
        """RCGAN (Esteban et al., 2017): LSTMs, fresh noise per step, D forward only, both conditioned on a label."""
        options = {"cell": "lstm", "bidirectional": False, "feed_previous": False, **kwargs}
        return cls(features, length, hidden=hidden, classes=classes, **options)

    def configure_optimizers(self) -> Optimizers:
        generator = [*self.g_rnn.parameters(), *self.g_out.parameters()]
        discriminator = [*self.d_rnn.parameters(), *self.d_out.parameters()]
        return {
            "discriminator": torch.optim.Adam(discriminator, lr=self.d_lr, betas=self.betas),
            "generator": torch.optim.Adam(generator, lr=self.lr, betas=self.betas),
        }

    def check_data(self, x: Tensor) -> None:
        super().check_data(x)
        self.check_inputs(x, "the training data", self.value_range,
                          f", the range of the generator's {self.output} output: rescale the data or choose "
                          "output='linear'")

    # --- the two networks ------------------------------------------------------------------

    def noise(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """Noise for n sequences, (n, length, noise_dim): z_t ~ N(0, I) drawn at every step, or (noise="sequence")
        one z ~ N(0, I) per sequence repeated at every step."""
        if self.noise_per == "sequence":
            z = noise.normal(n, 1, self.noise_dim, device=self.device, generator=generator)
            return z.expand(-1, self.length, -1)
        return noise.normal(n, self.length, self.noise_dim, device=self.device, generator=generator)

    def _squash(self, x: Tensor) -> Tensor:
        return torch.sigmoid(x) if self.output == "sigmoid" else torch.tanh(x) if self.output == "tanh" else x

    def generate(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """G: noise (B, T, noise_dim) [and labels (B,)] -> sequences (B, T, features)."""
        code = one_hot_steps(labels, self.classes, z.shape[1], z.dtype)
        inputs = with_condition(z, code)
        if not self.feed_previous:
            out, _ = self.g_rnn(inputs)
            return self._squash(self.g_out(out))
        previous = torch.zeros(z.shape[0], 1, self.features, device=z.device, dtype=z.dtype)
        state, steps = None, []
        for t in range(z.shape[1]):  # step by step: each input holds the output just made
            out, state = self.g_rnn(torch.cat([inputs[:, t : t + 1], previous], dim=-1), state)
            previous = self._squash(self.g_out(out))
            steps.append(previous)
        return torch.cat(steps, dim=1)

    def discriminate(self, x: Tensor, labels: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """D: sequences (B, T, F) [and labels] -> per-step logits (B, T) and features (B, T, hidden [×2])."""
        features, _ = self.d_rnn(with_condition(x, one_hot_steps(labels, self.classes, x.shape[1], x.dtype)))
        return self.d_out(features).squeeze(-1), features

    # --- training ----------------------------------------------------------------------------

    def train_step(self, batch: Batch, optimizers: Optimizers, step: int) -> Losses:
        x, labels = self.inputs(batch), self.batch_labels(batch)
        fake = self.generate(self.noise(x.shape[0]), labels)

        real_logits, real_features = self.discriminate(x, labels)
        fake_logits, _ = self.discriminate(fake.detach(), labels)  # detached to save work; update() keeps G out
        # the GAN cross-entropy at every step, averaged over steps and sequences
        d_loss = losses.discriminator_loss(real_logits.flatten(), fake_logits.flatten())
        self.update({optimizers["discriminator"]: d_loss}, self.clip_norm)  # d_loss → D only

        fake_logits, fake_features = self.discriminate(fake, labels)
        if self.feature_matching:  # ‖E f(x) − E f(G(z))‖², the means over the batch, at every step
            # the real features are a fixed target; detached to save work (update() would keep D out anyway)
            g_loss = (real_features.detach().mean(0) - fake_features.mean(0)).pow(2).sum(-1).mean()
        else:
            g_loss = losses.generator_loss(fake_logits.flatten())
        self.update({optimizers["generator"]: g_loss}, self.clip_norm)  # g_loss → G only, though it passes D
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}

    # --- sampling ----------------------------------------------------------------------------

    @torch.no_grad()
    def sample(self, n: int, *, condition: Tensor | None = None, generator: torch.Generator | None = None) -> Tensor:
        """n generated sequences (n, length, features) in eval mode; labels `condition` (n,) for a conditional model
        (uniform random labels when None)."""
        self._check_n(n, condition, generator)
        with self.evaluating():
            labels = self.sample_labels(n, condition, generator)
            return self.generate(self.noise(n, generator), labels)
