"""Names: a character language model against sequence VAEs, with and without the cures for posterior collapse.

Data: the US Census first names (`genlab.data.names_corpus("first")`), split 90/10 at
random with seed 0 as chapter 4 splits them (4,647 names for training, 516 held out).

Columns, all on the held-out names:

- bits per character: −log₂ p(x) per predicted token (characters and the end token), exact
  for CharRNN, the importance-weighted bound with k = 100 (Burda et al., 2016) for a VAE —
  an upper bound, so a VAE row can only look worse than its true likelihood;
- KL: KL(q(z | x) ‖ p(z)) in nats per name; active units: latent dimensions whose posterior
  mean varies across names (variance > .01; Burda et al., 2016); KL share: the KL's part of
  the negative ELBO, i.e. how much of the bound the code carries;
- novel: the share of 1,000 sampled names that are not training names.

A reference row, "unigram (add-one)", gives the bits per character of a model without any
context (character frequencies of the training names, add-one smoothed).

Run it with `python -m genlab.bench names --seeds 10`.
"""

from __future__ import annotations

import math

import torch

import genlab
from genlab.bench.common import Benchmark, Column, Published, Recipe
from genlab.data import Vocabulary, encode_corpus, names_corpus, split_names

SPLIT_SEED, TEST_FRACTION = 0, 0.1  # chapter 4's split
SAMPLES, SAMPLE_OFFSET, BOUND_OFFSET = 1_000, 30_000, 40_000
IMPORTANCE_SAMPLES = 100
HIDDEN, EMBEDDING, LATENT = 64, 32, 16
STEPS, WARMUP, WORD_DROPOUT = 2_000, 1_000, 0.25
NAN = math.nan


def names_data() -> tuple[Vocabulary, torch.Tensor, torch.Tensor, set[str]]:
    """(vocabulary, training rows, held-out rows, the set of training names)."""
    names = names_corpus("first")
    train_names, test_names = split_names(names, TEST_FRACTION, seed=SPLIT_SEED)
    vocab = Vocabulary.from_corpus(names)
    train = encode_corpus(train_names, vocab)
    return vocab, train, encode_corpus(test_names, vocab, max_len=train.shape[1] - 2), set(train_names)


def _vae(vocab: Vocabulary, **cures) -> genlab.SequenceVAE:
    return genlab.SequenceVAE(vocab, latent_dim=LATENT, embedding_dim=EMBEDDING, hidden=HIDDEN, **cures)


# Every row's network has the same embedding and a decoder of the same size (a GRU of 64 units);
# the VAE adds an encoder GRU and the two linear maps in and out of z. Each model gets its own
# regulariser: without one, both overfit the 4,647 names within 2,000 updates (held-out bits per
# character rise after about 1,000), CharRNN gets dropout before its output layer, the VAE rows
# their cures.
RECIPES = {
    "CharRNN": lambda vocab: genlab.CharRNN(vocab, cell="gru", embedding_dim=EMBEDDING, hidden=HIDDEN, dropout=0.3),
    "SequenceVAE": lambda vocab: _vae(vocab),
    "SequenceVAE, KL annealing": lambda vocab: _vae(vocab, kl_warmup=WARMUP),
    "SequenceVAE, word dropout": lambda vocab: _vae(vocab, word_dropout=WORD_DROPOUT),
    "SequenceVAE, annealing + word dropout": lambda vocab: _vae(vocab, kl_warmup=WARMUP, word_dropout=WORD_DROPOUT),
    "SequenceVAE, free bits": lambda vocab: _vae(vocab, free_bits=0.25),
}


def train(name: str, seed: int, device: torch.device | str | None = None, *, steps: int | None = None):
    """Row `name`'s model trained under `seed` on the training names (`steps` overrides the budget)."""
    vocab, rows, _, _ = names_data()
    return Recipe(lambda: RECIPES[name](vocab), steps=STEPS).train(rows, seed, device, steps=steps)


def score(model, seed: int) -> dict[str, float]:
    """The columns for a trained CharRNN or SequenceVAE."""
    _, _, held_out, train_names = names_data()
    held_out = held_out.to(model.device)
    sampler = torch.Generator(device=model.device).manual_seed(seed + SAMPLE_OFFSET)
    generated = model.generate(SAMPLES, generator=sampler)
    values = {"novel": sum(name not in train_names for name in generated) / SAMPLES,
              "kl": NAN, "active": NAN, "kl_share": NAN}
    if isinstance(model, genlab.SequenceVAE):
        g = torch.Generator(device=model.device).manual_seed(seed + BOUND_OFFSET)
        values["bpc"] = model.nll(held_out, k=IMPORTANCE_SAMPLES, generator=g) / math.log(2)
        usage = model.latent_usage(held_out, generator=g)
        values |= {"kl": usage.kl, "active": usage.active, "kl_share": usage.kl_share}
    else:
        values["bpc"] = model.nll(held_out) / math.log(2)
    return values


def _row(name: str):
    def runner(seed: int, device: torch.device | str | None = None, *, steps: int | None = None) -> dict[str, float]:
        return score(train(name, seed, device, steps=steps), seed)

    return runner


def unigram(seed: int, device: torch.device | str | None = None) -> dict[str, float]:
    """Bits per character without context: add-one smoothed character frequencies of the training names."""
    vocab, rows, held_out, _ = names_data()
    targets = rows[:, 1:][rows[:, 1:] != vocab.pad]
    counts = torch.bincount(targets, minlength=vocab.size).double() + 1.0
    counts[[vocab.pad, vocab.begin]] = 0  # never predicted
    p = counts / counts.sum()
    tokens = held_out[:, 1:][held_out[:, 1:] != vocab.pad]
    return {"bpc": -p[tokens].log2().mean().item(), "kl": NAN, "active": NAN, "kl_share": NAN, "novel": NAN}


BENCHMARK = Benchmark(
    name="names",
    title="US Census first names: 4,647 for training, 516 held out",
    columns=[
        Column("bpc", "bits/char ↓", "{:.3f}"),
        Column("kl", "KL (nats/name)", "{:.2f}"),
        Column("active", f"active units (of {LATENT})", "{:.1f}"),
        Column("kl_share", "KL share of bound %", "{:.1f}", scale=100),
        Column("novel", "novel %", "{:.1f}", scale=100),
    ],
    models={name: _row(name) for name in RECIPES},
    default_models=list(RECIPES),
    references={"unigram (add-one)": unigram},
    published=[
        Published("VAE, annealing + word dropout (PTB)", "Bowman et al. 2016, Table 1",
                  {"kl": (2.0, None)}, note="Penn Treebank sentences, not names; KL in nats per sentence"),
    ],
    error="se",
    notes=[
        f"every model: GRUs of {HIDDEN} units, embeddings of {EMBEDDING}, Adam (lr 3e-3), {STEPS:,} updates of 128, "
        "gradient norm clipped at 1; CharRNN: dropout .3 before its output layer; the VAEs: z of 16 dimensions, "
        "the decoder's initial state tanh(W z + b)",
        f"KL annealing: the weight rises linearly from 0 to 1 over the first {WARMUP:,} updates; word dropout: "
        f"each character fed to the decoder becomes a blank token with probability {WORD_DROPOUT}; free bits: λ = .25 nats "
        "per latent dimension (Kingma et al., 2016)",
        f"bits per character of a VAE: the importance-weighted bound with k = {IMPORTANCE_SAMPLES} (an upper "
        "bound on its true value); of CharRNN: exact",
        "KL, active units and KL share on the held-out names, one draw of z per name for the reconstruction term",
    ],
)

__all__ = ["BENCHMARK", "names_data", "score", "train"]
