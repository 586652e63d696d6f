"""Character-level recurrent language model (Elman, 1990; Hochreiter & Schmidhuber, 1997).

A sequence x_1 … x_T is generated one token at a time by the chain rule

    p(x_1, …, x_T) = ∏_t p(x_t | x_<t),

where a recurrent state h_t summarises the prefix. For the vanilla (Elman) cell

    h_t = tanh(W_xh e(x_t) + W_hh h_{t-1} + b_h)        (recurrent update)
    p(x_{t+1} | x_≤t) = softmax(W_hy h_t + b_y)           (output layer)

with e(x) a learned embedding. The output layer has its OWN weights W_hy, b_y: they
map a hidden vector to one score per token, a different job (and a different shape,
vocabulary × hidden) from the update's weights. Writing the output as W^T h_t + b with
the update's input matrix W and its hidden-sized bias b, as some introductions do, is
wrong: tying the output to the input embedding is a known technique (Press and Wolf,
2017), but it needs the shapes to fit and an output bias of vocabulary size. GRU and LSTM cells replace
the update line with gated versions; the output layer stays the same.

Tokens follow `genlab.data.text.Vocabulary`: padding, begin and end ids plus
characters. Training uses teacher forcing (the true prefix is fed in); sampling
feeds the model its own draws, carrying the hidden state so that each step costs the
same: O(T) for a sequence of length T.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genlab.data.text import Vocabulary, check_vocabulary
from genlab.checks import check_count, check_fraction, check_optimisation, check_sampling, check_sizes
from genlab.models.base import Batch, GenerativeModel, Losses, Optimizers, constructor
from genlab.nets import recurrent

State = Tensor | tuple[Tensor, Tensor]  # h, or (h, c) for an LSTM; each (layers, B, hidden)


def sample_next(
    logits: Tensor,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Draw one token per row from softmax(logits / temperature), restricted to the top_k scores.

    (B, V) logits -> (B,) token ids. Temperature < 1 sharpens the distribution and > 1
    flattens it; as it tends to 0 the draw becomes the argmax (greedy). top_k=1 is
    exactly greedy; top_k larger than V means no restriction.
    """
    check_sampling(temperature, top_k)
    logits = logits / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = logits.topk(top_k, dim=-1).values[..., -1:]  # (B, 1): the k-th largest score
        logits = logits.masked_fill(logits < kth, -math.inf)
    probs = logits.softmax(dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


def trim_padding(tokens: Tensor, pad: int) -> Tensor:
    """Drop trailing columns of (N, T) token ids that are padding in every row (they cost time and count nothing).

    Finding them means reading a number back from the device, which makes a GPU wait; so
    only CPU tensors (where reading is free) are trimmed.
    """
    if tokens.device.type != "cpu":
        return tokens
    used = (tokens != pad).any(dim=0).nonzero()
    return tokens[:, : int(used.max()) + 1] if len(used) else tokens


def draw_tokens(
    step,
    state: State | None,
    n: int,
    vocab: Vocabulary,
    max_len: int,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
) -> Tensor:
    """n rows of tokens drawn one at a time from a recurrent decoder: (n, max_len + 1) token ids.

    `step(tokens (n, 1), state) -> (logits (n, 1, V), state)` advances the decoder by one token
    from `state` (None: zeros). Each row holds the characters, then the end token, then
    padding (the begin token is not included); a row without an end token was cut at
    `max_len` characters. Only the newest token is fed in, the state carried, so T tokens
    cost T cell updates. Shared by `CharRNN.sample` and `SequenceVAE.sample`.
    """
    out = torch.full((n, max_len + 1), vocab.pad, dtype=torch.long, device=device)
    token = torch.full((n, 1), vocab.begin, dtype=torch.long, device=device)
    done = torch.zeros(n, dtype=torch.bool, device=device)
    for t in range(max_len + 1):  # up to max_len characters, then room for the end token
        logits, state = step(token, state)  # one step: (n, 1) -> (n, 1, V)
        nxt = sample_next(logits[:, -1], temperature=temperature, top_k=top_k, generator=generator)
        if t == max_len:  # max_len characters drawn: keep an end token, cut anything else
            nxt = nxt.masked_fill(nxt != vocab.end, vocab.pad)
        out[:, t] = nxt.masked_fill(done, vocab.pad)
        done |= nxt == vocab.end
        if done.all():
            break
        token = nxt.unsqueeze(1)
    return out


class CharRNN(GenerativeModel):
    """Embedding → recurrent stack (RNN, GRU or LSTM) → its own linear output layer.

    Data: LongTensor (N, T) of token ids, each row `<s> c_1 … c_L </s> <pad> …` as made by
    `genlab.data.encode_corpus`.

    Args:
        vocab: the token vocabulary; `generate` decodes with it.
        cell: "rnn" (Elman, tanh), "gru" or "lstm".
        embedding_dim, hidden, layers: sizes of the embedding and the recurrent stack.
        dropout: between recurrent layers (only with layers > 1) and before the output layer.
        lr: Adam learning rate.
        clip_norm: the gradient's global norm is clipped to this value before each update
            (Pascanu et al., 2013); None switches clipping off.
        max_len: default number of characters `sample` draws at most.
    """

    @constructor
    def __init__(
        self,
        vocab: Vocabulary,
        *,
        cell: str = "lstm",
        embedding_dim: int = 32,
        hidden: int = 128,
        layers: int = 1,
        dropout: float = 0.0,
        lr: float = 3e-3,
        clip_norm: float | None = 1.0,
        max_len: int = 32,
    ) -> None:
        super().__init__()
        check_vocabulary(vocab)
        if cell not in ("rnn", "gru", "lstm"):
            raise ValueError(f"unknown cell {cell!r}; choose 'rnn', 'gru' or 'lstm'")
        check_sizes(embedding_dim=embedding_dim, hidden=hidden, layers=layers, max_len=max_len)
        check_optimisation(lr, clip_norm)
        check_fraction(dropout, "dropout")
        self.vocab = vocab
        self.cell, self.hidden, self.layers = cell, hidden, layers
        self.lr, self.clip_norm, self.max_len = lr, clip_norm, max_len
        # Rows may have any length T, so there is no fixed data_shape; `check_data` is overridden.
        self.data_shape = None
        self.embedding = nn.Embedding(vocab.size, embedding_dim, padding_idx=vocab.pad)
        self.rnn = recurrent(cell, embedding_dim, hidden, layers, dropout=dropout if layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(hidden, vocab.size)  # W_hy, b_y: the output layer's own weights
        # Padding and begin never follow a token, so the model gives them probability 0:
        # the distribution is over the characters and the end token only.
        impossible = torch.zeros(vocab.size, dtype=torch.bool)
        impossible[[vocab.pad, vocab.begin]] = True
        self.register_buffer("impossible", impossible, persistent=False)

    # --- the model -----------------------------------------------------------------------

    def forward(self, tokens: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """Next-token logits after each position, and the final recurrent state.

        (B, T) token ids -> logits (B, T, V), with logits[:, t] scoring x_{t+1} given x_≤t;
        state: None (zeros) or the state returned by a previous call, to continue from there.
        """
        e = self.embedding(tokens)  # (B, T) -> (B, T, embedding_dim)
        h, state = self.rnn(e, state)  # (B, T, hidden)
        logits = self.output(self.dropout(h))  # (B, T, V)
        return logits.masked_fill(self.impossible, -math.inf), state

    def configure_optimizers(self) -> Optimizers:
        return {"model": torch.optim.Adam(self.parameters(), lr=self.lr)}

    def prepare_data(self, x: Tensor) -> Tensor:
        return x  # token ids stay integers; check_data says what is wrong with anything else

    def check_data(self, x: Tensor) -> None:
        """Raise unless x is an (N, T ≥ 2) integer tensor of ids in the vocabulary, each row starting with <s>."""
        if not isinstance(x, Tensor):
            raise TypeError(f"CharRNN expects a tensor of token ids, got {type(x).__name__}")
        if x.is_floating_point() or x.is_complex() or x.dtype == torch.bool:
            raise TypeError(
                f"CharRNN expects integer token ids (torch.long), got dtype {x.dtype}; "
                "encode text with genlab.data.encode_corpus"
            )
        if x.dim() != 2 or x.shape[1] < 2:
            raise ValueError(
                f"CharRNN expects token ids of shape (N, T) with T ≥ 2 (begin token plus at least one target), "
                f"got shape {tuple(x.shape)}"
            )
        if x.numel() and (x.min() < 0 or x.max() >= self.vocab.size):
            raise ValueError(
                f"token ids must lie in 0..{self.vocab.size - 1} (the vocabulary size is {self.vocab.size}), "
                f"got ids from {x.min().item()} to {x.max().item()}"
            )
        if x.numel() and (x[:, 0] != self.vocab.begin).any():
            raise ValueError(f"every row must start with the begin token (id {self.vocab.begin})")

    # --- training and evaluation --------------------------------------------------------

    def token_nll(self, tokens: Tensor) -> tuple[Tensor, Tensor]:
        """Negative log-likelihood of every predicted token, and which of them count.

        (B, T) -> nll (B, T-1) in nats and mask (B, T-1). Counted are the characters and
        the end token; the begin token is given, never predicted, and padding is ignored.
        """
        inputs, targets = tokens[:, :-1], tokens[:, 1:]  # teacher forcing: predict x_{t+1} from x_≤t
        logits, _ = self(inputs)
        nll = F.cross_entropy(logits.transpose(1, 2), targets, reduction="none", ignore_index=self.vocab.pad)
        return nll, targets != self.vocab.pad

    def train_step(self, batch: Batch, optimizers: Optimizers, step: int) -> Losses:
        tokens = self._trim(self.inputs(batch))
        nll, mask = self.token_nll(tokens)
        # Maximum likelihood under the chain rule: mean -log p(x_{t+1} | x_≤t) per counted token.
        loss = nll.sum() / mask.sum()
        self.optimizer_step(optimizers["model"], loss, self.clip_norm)
        return {"loss": loss.detach()}

    @torch.no_grad()
    def log_prob(self, tokens: Tensor, batch_size: int = 1024) -> Tensor:
        """log p(x) in nats of each row (end token included), shape (N,)."""
        self.check_data(tokens)
        with self.evaluating():
            out = []
            for chunk in tokens.to(self.device).split(batch_size):
                nll, _ = self.token_nll(self._trim(chunk))
                out.append(-nll.sum(dim=1))
        return torch.cat(out)

    @torch.no_grad()
    def nll(self, tokens: Tensor, batch_size: int = 1024) -> float:
        """Held-out negative log-likelihood in nats per predicted token.

        Predicted tokens are the characters and the end token of each row (the begin token
        is given; padding is not a token). Divide by ln 2 for bits per character, counting
        the end token as a character.
        """
        total = self.log_prob(tokens, batch_size).sum().item()
        counted = (tokens[:, 1:] != self.vocab.pad).sum().item()
        return -total / counted

    def _trim(self, tokens: Tensor) -> Tensor:
        return trim_padding(tokens, self.vocab.pad)

    # --- generation ---------------------------------------------------------------------

    @torch.no_grad()
    def sample(
        self,
        n: int,
        *,
        max_len: int | None = None,
        temperature: float = 1.0,
        top_k: int | None = None,
        condition: Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """n sequences drawn one token at a time, shape (n, max_len + 1) of token ids.

        Each row holds the characters, then the end token, then padding (the begin token
        is not included). A row without an end token was cut at `max_len` characters. The
        recurrent state is carried from step to step and only the newest token is fed in,
        so drawing T tokens costs T cell updates. `generator` must live on the model's device.
        """
        self._check_n(n, condition, generator)
        check_sampling(temperature, top_k)
        max_len = check_count(self.max_len if max_len is None else max_len, "max_len", minimum=1)
        with self.evaluating():
            return draw_tokens(self, None, n, self.vocab, max_len, temperature=temperature, top_k=top_k,
                               generator=generator, device=self.device)

    def generate(self, n: int, **kwargs) -> list[str]:
        """n generated strings; keyword arguments as for `sample`."""
        return [self.vocab.decode(row) for row in self.sample(n, **kwargs).cpu()]

    @torch.no_grad()
    def next_token_probs(self, prefix: str, temperature: float = 1.0) -> Tensor:
        """p(next token | <s> prefix) over the whole vocabulary, shape (V,)."""
        check_sampling(temperature, None)
        with self.evaluating():
            tokens = torch.tensor([[self.vocab.begin, *self.vocab.encode(prefix)]], device=self.device)
            logits, _ = self(tokens)
        return (logits[0, -1] / temperature).softmax(dim=-1)


@torch.no_grad()
def sample_recomputing_prefix(
    model: CharRNN,
    n: int,
    *,
    max_len: int | None = None,
    temperature: float = 1.0,
    top_k: int | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """The naive sampling loop, kept as a reference: it re-reads the whole prefix from a zero
    state at every step, so T tokens cost 1 + 2 + … + T = O(T²) cell updates.

    Same arguments and, for the same generator, the same tokens as `CharRNN.sample`.
    """
    model._check_n(n, generator=generator)
    check_sampling(temperature, top_k)
    max_len = model.max_len if max_len is None else max_len
    vocab = model.vocab
    with model.evaluating():
        prefix = torch.full((n, 1), vocab.begin, dtype=torch.long, device=model.device)
        out = torch.full((n, max_len + 1), vocab.pad, dtype=torch.long, device=model.device)
        done = torch.zeros(n, dtype=torch.bool, device=model.device)
        for t in range(max_len + 1):
            logits, _ = model(prefix)  # the whole prefix again, from a zero state
            nxt = sample_next(logits[:, -1], temperature=temperature, top_k=top_k, generator=generator)
            if t == max_len:
                nxt = nxt.masked_fill(nxt != vocab.end, vocab.pad)
            out[:, t] = nxt.masked_fill(done, vocab.pad)
            done |= nxt == vocab.end
            if done.all():
                break
            prefix = torch.cat([prefix, nxt.unsqueeze(1)], dim=1)
    return out


def input_gradient_by_lag(rnn: nn.Module, x: Tensor, *, generator: torch.Generator | None = None) -> Tensor:
    """How strongly the last hidden state depends on each earlier input: backpropagation through time, measured.

    Takes L = ⟨u, h_T⟩ for a fixed random unit vector u and returns, for each lag k = 0 … T-1,
    the mean over the batch of ‖∂L/∂x_{T-k}‖. By the chain rule this gradient passes through
    the product of Jacobians ∂h_T/∂h_{T-1} ⋯ ∂h_{T-k+1}/∂h_{T-k}, so its decay or growth with
    k shows vanishing or exploding gradients.

    Args:
        rnn: a batch-first recurrent module, (B, T, F) -> (outputs (B, T, H), state).
        x: inputs, shape (B, T, F).
        generator: draws u (on x's device).

    Returns:
        (T,) gradient norms, index k = lag (0 = the last input).
    """
    if x.dim() != 3:
        raise ValueError(f"inputs must have shape (B, T, F), got {tuple(x.shape)}")
    x = x.detach().clone().requires_grad_(True)
    outputs, _ = rnn(x)
    h_last = outputs[:, -1]  # (B, H)
    u = torch.randn(h_last.shape[-1], generator=generator, device=x.device, dtype=h_last.dtype)
    (h_last @ (u / u.norm())).sum().backward()
    per_step = x.grad.norm(dim=2).mean(dim=0)  # (T,), index t = position in time
    return per_step.flip(0)  # index k = T-1-t = lag
