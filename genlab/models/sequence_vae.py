"""A variational autoencoder for character sequences (Bowman et al., 2016).

A recurrent encoder reads a whole name and gives a Gaussian posterior over one code z for
the name; a recurrent decoder, started from a state computed from z, spells the name one
character at a time, as `CharRNN` does:

    q(z | x) = N(μ(x), diag σ²(x)),   (μ, log σ²) = W_q h_enc(x) + b_q      (h_enc: the state after </s>)
    p(x | z) = Π_t p(x_t | x_<t, z),   h_dec,0 = tanh(W_z z + b_z)
    ELBO(x) = E_q[log p(x | z)] − KL(q(z | x) ‖ N(0, I))

The decoder is a full language model: it can model every name without looking at z, and
early in training, when z still carries noise, ignoring it is the cheapest way to cut the
KL term to zero. This is *posterior collapse*: KL → 0, q(z | x) = p(z) for every x, and a
"VAE" that is a CharRNN with extra weights. The three cures, all options here:

- KL annealing (`kl_warmup`): the KL weight rises from 0 to 1, so the encoder first learns
  to carry information while it costs nothing (Bowman et al., 2016, section 3.1);
- word dropout (`word_dropout`): each character the decoder is fed (not the targets) is
  replaced, with that probability, by a blank token, so the decoder cannot rely on the
  prefix and must get what it lost from z (their section 3.1). It drops whole tokens at the
  input; dropout on the embedding vectors is something else;
- free bits (`free_bits` = λ nats per latent dimension; Kingma et al., 2016, appendix C.8):
  each dimension's KL, averaged over the batch, counts as max(λ, KL_j), so the objective
  stops pushing a dimension's KL down below λ.

`log_likelihood` gives the importance-weighted bound (Burda et al., 2016) for a fair
comparison with a CharRNN's exact likelihood; `latent_usage` measures collapse.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genlab import noise
from genlab.checks import (check_count, check_non_negative, check_optimisation, check_probability, check_sampling,
                           check_sizes)
from genlab.data.text import Vocabulary, check_vocabulary, encode_corpus
from genlab.losses import diagonal_normal_log_prob, linear_warmup, reparameterize, standard_normal_log_prob
from genlab.models.base import Batch, GenerativeModel, Losses, Optimizers, constructor
from genlab.models.rnn import State, draw_tokens, trim_padding
from genlab.nets import recurrent


def gaussian_kl_per_dimension(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(μ, σ²) ‖ N(0, 1)) of each latent dimension, not summed: (B, d) -> (B, d)."""
    return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp())


def active_units(means: Tensor, threshold: float = 0.01) -> int:
    """How many latent dimensions the data move: Cov_x(E_q[z_j | x]) > threshold (Burda et al., 2016, section 5.2).

    `means` (N, d) are the posterior means of N inputs. A collapsed dimension has the same
    posterior for every input, so its mean does not vary across them.
    """
    if means.ndim != 2 or len(means) < 2:
        raise ValueError(f"means must have shape (N, latent_dim) with N ≥ 2, got {tuple(means.shape)}")
    return int((means.double().var(dim=0) > threshold).sum())


@dataclass(frozen=True)
class LatentUsage:
    """How much a sequence VAE uses its code, measured on held-out data.

    kl: mean KL(q(z | x) ‖ p(z)) in nats per sequence; reconstruction: mean −E_q[log p(x | z)]
    in nats per sequence; active: active units of `latent_dim`; kl_share: the KL's share of
    the negative ELBO (how much of the bound the code carries).
    """

    kl: float
    reconstruction: float
    active: int
    latent_dim: int
    kl_share: float

    @property
    def collapsed(self) -> bool:
        """The decoder ignores z: KL under 0.1 nats per sequence, or no active unit."""
        return self.kl < 0.1 or self.active == 0


class SequenceVAE(GenerativeModel):
    """Recurrent encoder → z → recurrent decoder, on rows of token ids as `CharRNN` trains on.

    Data: LongTensor (N, T) of rows `<s> c_1 … c_L </s> <pad> …` made by `genlab.data.encode_corpus`.

    Args:
        vocab: the token vocabulary.
        latent_dim: size of z.
        cell: "gru" or "lstm", for both encoder and decoder.
        embedding_dim, hidden: sizes of the (shared) character embedding and of each recurrent state.
        lr: Adam learning rate.
        kl_warmup: the KL weight rises linearly from 0 to 1 over this many steps; 0: weight 1 throughout.
        word_dropout: probability that a character fed to the decoder is replaced by the blank token.
        free_bits: λ, in nats per latent dimension (0: off).
        clip_norm: the gradient's global norm is clipped to this value before each update; None: off.
        max_len: default number of characters `sample` draws at most.
    """

    @constructor
    def __init__(
        self,
        vocab: Vocabulary,
        *,
        latent_dim: int = 16,
        cell: str = "gru",
        embedding_dim: int = 32,
        hidden: int = 128,
        lr: float = 3e-3,
        kl_warmup: int = 0,
        word_dropout: float = 0.0,
        free_bits: float = 0.0,
        clip_norm: float | None = 1.0,
        max_len: int = 32,
    ) -> None:
        super().__init__()
        check_vocabulary(vocab)
        if cell not in ("gru", "lstm"):
            raise ValueError(f"unknown cell {cell!r}; choose 'gru' or 'lstm'")
        check_sizes(latent_dim=latent_dim, embedding_dim=embedding_dim, hidden=hidden, max_len=max_len)
        check_count(kl_warmup, "kl_warmup")
        check_optimisation(lr, clip_norm)
        check_probability(word_dropout, "word_dropout")
        check_non_negative(free_bits, "free_bits", hint="nats per latent dimension, 0 turns it off")
        self.vocab, self.latent_dim, self.cell, self.hidden = vocab, latent_dim, cell, hidden
        self.lr, self.kl_warmup, self.word_dropout, self.free_bits = lr, kl_warmup, word_dropout, free_bits
        self.clip_norm, self.max_len = clip_norm, max_len
        self.data_shape = None  # rows of any length; check_data is overridden
        self.blank = vocab.size  # the extra input token that word dropout puts in place of a character
        self.embedding = nn.Embedding(vocab.size + 1, embedding_dim, padding_idx=vocab.pad)
        self.encoder = recurrent(cell, embedding_dim, hidden)
        self.to_posterior = nn.Linear(hidden, 2 * latent_dim)  # h_enc -> (μ, log σ²)
        self.to_state = nn.Linear(latent_dim, hidden)  # z -> the decoder's initial state
        self.decoder = recurrent(cell, embedding_dim, hidden)
        self.output = nn.Linear(hidden, vocab.size)
        impossible = torch.zeros(vocab.size, dtype=torch.bool)  # padding and begin never follow a token
        impossible[[vocab.pad, vocab.begin]] = True
        self.register_buffer("impossible", impossible, persistent=False)

    def configure_optimizers(self) -> Optimizers:
        return {"model": torch.optim.Adam(self.parameters(), lr=self.lr)}

    def prepare_data(self, x: Tensor) -> Tensor:
        return x  # token ids stay integers

    def check_data(self, x: Tensor) -> None:
        """Raise unless x is an (N, T ≥ 2) integer tensor of ids in the vocabulary, each row starting with <s>."""
        if not isinstance(x, Tensor):
            raise TypeError(f"SequenceVAE expects a tensor of token ids, got {type(x).__name__}")
        if x.is_floating_point() or x.is_complex() or x.dtype == torch.bool:
            raise TypeError(f"SequenceVAE expects integer token ids (torch.long), got dtype {x.dtype}; "
                            "encode text with genlab.data.encode_corpus")
        if x.dim() != 2 or x.shape[1] < 2:
            raise ValueError(f"SequenceVAE expects token ids of shape (N, T) with T ≥ 2, got shape {tuple(x.shape)}")
        if x.numel() and (x.min() < 0 or x.max() >= self.vocab.size):
            raise ValueError(f"token ids must lie in 0..{self.vocab.size - 1} (the vocabulary size is "
                             f"{self.vocab.size}), got ids from {x.min().item()} to {x.max().item()}")
        if x.numel() and (x[:, 0] != self.vocab.begin).any():
            raise ValueError(f"every row must start with the begin token (id {self.vocab.begin})")

    # --- encoder and decoder ------------------------------------------------------------

    def encode(self, tokens: Tensor) -> tuple[Tensor, Tensor]:
        """q(z | x): mean and log-variance, each (B, latent_dim), from the encoder's state after each row's last token."""
        out, _ = self.encoder(self.embedding(tokens))  # (B, T, hidden)
        last = (tokens != self.vocab.pad).sum(dim=1) - 1  # index of </s> (or of the last token of a cut row)
        h = out[torch.arange(len(tokens), device=tokens.device), last]
        mu, logvar = self.to_posterior(h).chunk(2, dim=-1)
        return mu, logvar

    def initial_state(self, z: Tensor) -> State:
        """The decoder's state before <s>: tanh(W_z z + b_z), (B, d) -> (1, B, hidden) (and a zero cell for an LSTM)."""
        h = torch.tanh(self.to_state(z)).unsqueeze(0)
        return (h, torch.zeros_like(h)) if self.cell == "lstm" else h

    def decode(self, inputs: Tensor, state: State) -> tuple[Tensor, State]:
        """Next-token logits after each input token (B, T) -> (B, T, V), and the decoder's final state."""
        out, state = self.decoder(self.embedding(inputs), state)
        return self.output(out).masked_fill(self.impossible, -math.inf), state

    def drop_words(self, inputs: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Word dropout on the decoder's input tokens (B, T): each character becomes the blank token with
        probability `word_dropout`; the begin token and padding stay. Targets are never changed."""
        if not self.word_dropout:
            return inputs
        characters = (inputs != self.vocab.pad) & (inputs != self.vocab.begin) & (inputs != self.vocab.end)
        drop = noise.uniform(*inputs.shape, device=inputs.device, generator=generator) < self.word_dropout
        return inputs.masked_fill(characters & drop, self.blank)

    def reconstruction_nll(self, tokens: Tensor, z: Tensor, *, dropout: bool = False) -> Tensor:
        """−log p(x | z) in nats of each row (characters and </s>; padding ignored): (B, T), (B, d) -> (B,)."""
        inputs, targets = tokens[:, :-1], tokens[:, 1:]
        if dropout:
            inputs = self.drop_words(inputs)
        logits, _ = self.decode(inputs, self.initial_state(z))
        nll = F.cross_entropy(logits.transpose(1, 2), targets, reduction="none", ignore_index=self.vocab.pad)
        return nll.sum(dim=1)

    # --- training -----------------------------------------------------------------------

    def kl_weight(self, step: int) -> float:
        return linear_warmup(step, self.kl_warmup)

    def train_step(self, batch: Batch, optimizers: Optimizers, step: int) -> Losses:
        tokens = self._trim(self.inputs(batch))
        mu, logvar = self.encode(tokens)
        reconstruction = self.reconstruction_nll(tokens, reparameterize(mu, logvar), dropout=True)  # (B,)
        kl = gaussian_kl_per_dimension(mu, logvar)  # (B, d)
        if self.free_bits:  # Σ_j max(λ, mean over the batch of KL_j), times B to match the sums below
            kl_term = kl.mean(dim=0).clamp(min=self.free_bits).sum() * len(tokens)
        else:
            kl_term = kl.sum()
        counted = (tokens[:, 1:] != self.vocab.pad).sum()
        # the negative (KL-weighted) ELBO of the batch, per predicted token
        loss = (reconstruction.sum() + self.kl_weight(step) * kl_term) / counted
        self.optimizer_step(optimizers["model"], loss, self.clip_norm)
        return {"loss": loss.detach(), "reconstruction": reconstruction.mean().detach(),
                "kl": kl.sum(dim=1).mean().detach()}

    # --- evaluation ---------------------------------------------------------------------

    @torch.no_grad()
    def log_likelihood(self, tokens: Tensor, k: int = 100, *, generator: torch.Generator | None = None,
                       max_batch: int = 8192) -> Tensor:
        """The importance-weighted bound L_k on log p(x) in nats of each row (Burda et al., 2016, eq. 8): (B,).

        L_k = log (1/k) Σ_i p(x | z_i) p(z_i) / q(z_i | x), z_i ~ q(z | x); L_1 is the ELBO in
        expectation and L_k rises towards log p(x) with k. Decoded in chunks of at most
        `max_batch` rows, combined by a running logsumexp.
        """
        self.check_data(tokens)
        check_count(k, "k, the number of importance samples,", minimum=1)
        with self.evaluating():
            tokens = self._trim(tokens).to(self.device)
            b = len(tokens)
            mu, logvar = self.encode(tokens)
            chunk = max(1, max_batch // max(b, 1))
            total = torch.full((b,), -math.inf, device=self.device)
            done = 0
            while done < k:
                c = min(chunk, k - done)
                z = reparameterize(mu, logvar, (c,), generator=generator)  # (c, B, d)
                log_px_z = -self.reconstruction_nll(tokens.repeat(c, 1), z.reshape(c * b, -1)).view(c, b)
                log_w = log_px_z + standard_normal_log_prob(z) - diagonal_normal_log_prob(z, mu, logvar)
                total = torch.logaddexp(total, torch.logsumexp(log_w, dim=0))
                done += c
            return total - math.log(k)

    @torch.no_grad()
    def nll(self, tokens: Tensor, k: int = 100, *, generator: torch.Generator | None = None) -> float:
        """Held-out NLL bound in nats per predicted token (characters and </s>), as `CharRNN.nll` counts them.

        From the importance-weighted bound, so an upper bound on the true NLL; divide by ln 2 for bits.
        """
        total = self.log_likelihood(tokens, k, generator=generator).sum().item()
        return -total / (tokens[:, 1:] != self.vocab.pad).sum().item()

    @torch.no_grad()
    def latent_usage(self, tokens: Tensor, *, threshold: float = 0.01,
                     generator: torch.Generator | None = None) -> LatentUsage:
        """KL, reconstruction, active units and the KL's share of the bound on `tokens` (one draw of z each)."""
        self.check_data(tokens)
        with self.evaluating():
            tokens = self._trim(tokens).to(self.device)
            mu, logvar = self.encode(tokens)
            kl = gaussian_kl_per_dimension(mu, logvar).sum(dim=1).mean().item()
            reconstruction = self.reconstruction_nll(tokens, reparameterize(mu, logvar, generator=generator)).mean().item()
            return LatentUsage(kl=kl, reconstruction=reconstruction, active=active_units(mu, threshold),
                               latent_dim=self.latent_dim, kl_share=kl / (kl + reconstruction))

    def _trim(self, tokens: Tensor) -> Tensor:
        return trim_padding(tokens, self.vocab.pad)

    # --- generation and the latent space ------------------------------------------------

    @torch.no_grad()
    def sample(self, n: int, *, z: Tensor | None = None, max_len: int | None = None, temperature: float = 1.0,
               top_k: int | None = None, condition: Tensor | None = None,
               generator: torch.Generator | None = None) -> Tensor:
        """n names decoded one character at a time from z ~ N(0, I) (or the given z, (n, latent_dim)).

        Returns token ids (n, max_len + 1) as `CharRNN.sample` does; top_k=1 decodes greedily.
        """
        self._check_n(n, condition, generator)
        check_sampling(temperature, top_k)
        max_len = check_count(self.max_len if max_len is None else max_len, "max_len", minimum=1)
        if z is None:
            z = torch.randn(n, self.latent_dim, device=self.device, generator=generator)
        elif not isinstance(z, Tensor) or tuple(z.shape) != (n, self.latent_dim):
            raise ValueError(f"z must be a tensor of shape ({n}, {self.latent_dim}), got "
                             f"{tuple(z.shape) if isinstance(z, Tensor) else type(z).__name__}")
        with self.evaluating():
            return draw_tokens(self.decode, self.initial_state(z.to(self.device)), n, self.vocab, max_len,
                               temperature=temperature, top_k=top_k, generator=generator, device=self.device)

    def generate(self, n: int, **kwargs) -> list[str]:
        """n generated strings; keyword arguments as for `sample`."""
        return [self.vocab.decode(row) for row in self.sample(n, **kwargs).cpu()]

    @torch.no_grad()
    def interpolate(self, start: str, end: str, steps: int = 8) -> list[str]:
        """The names decoded greedily along the straight line between the posterior means of two names.

        Returns `steps` strings, the first decoded at μ(start), the last at μ(end).
        """
        check_count(steps, "steps", minimum=2)
        with self.evaluating():
            mu, _ = self.encode(encode_corpus([start, end], self.vocab).to(self.device))
            weights = torch.linspace(0, 1, steps, device=self.device).unsqueeze(1)
            path = (1 - weights) * mu[0] + weights * mu[1]  # (steps, d)
            return self.generate(steps, z=path, top_k=1)
