"""Synthetic memory tasks: problems that can only be solved by remembering something for T steps.

- `adding_problem`: a stream of random numbers, two of them marked; the answer is the sum
  of the two marked numbers (Hochreiter & Schmidhuber, 1997, experiment 4; the variant
  with one mark in each half of the sequence follows Le et al., 2015).
- `copy_task`: a short string of symbols, a long blank delay, then a cue to reproduce the
  string (Hochreiter & Schmidhuber, 1997; Arjovsky et al., 2016).

Both come with the error of the best model that remembers nothing, the baseline that
any model must beat before it can claim to have used its memory.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from genlab.checks import check_memory, check_seed

ADDING_BASELINE_MSE = 1 / 6
"""MSE of always answering 1 on the adding problem: the sum of two independent U(0, 1)
numbers has mean 1 and variance 2 · 1/12 = 1/6, and no constant answer does better."""


def _check_positive_int(name: str, value: object, minimum: int = 1) -> None:
    """A ValueError naming `name` unless value is an integer ≥ minimum (booleans and floats are refused)."""
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer ≥ {minimum}, got {value!r}")


def adding_problem(n: int, length: int, *, seed: int = 0) -> tuple[Tensor, Tensor]:
    """n sequences of the adding problem with `length` time steps each.

    Each time step carries two numbers: a value drawn from U(0, 1) and a marker, 0 or 1.
    Exactly two steps are marked, one drawn uniformly from the first half of the sequence
    (positions 0 … ⌊length/2⌋ − 1) and one from the second half. The target is the sum of
    the two marked values, so a model must carry the first of them across up to
    `length` − 1 steps.

    Args:
        n: number of sequences, ≥ 1.
        length: T, time steps per sequence, ≥ 2 (one step per half at least).
        seed: the draws are a function of the seed alone (on the CPU).

    Returns:
        inputs (n, T, 2) float32, channel 0 the values and channel 1 the markers, and
        targets (n,) float32.
    """
    _check_positive_int("n", n)
    _check_positive_int("length", length, minimum=2)
    check_memory(n * length * 16, f"n × length = {n} × {length} steps")
    g = torch.Generator().manual_seed(check_seed(seed))
    values = torch.rand(n, length, generator=g)
    half = length // 2
    first = torch.randint(0, half, (n,), generator=g)  # a position in the first half
    second = torch.randint(half, length, (n,), generator=g)  # a position in the second half
    markers = torch.zeros(n, length)
    rows = torch.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    targets = values[rows, first] + values[rows, second]
    return torch.stack([values, markers], dim=2), targets


def copy_task(n: int, delay: int, *, n_symbols: int = 8, memory: int = 10, seed: int = 0) -> tuple[Tensor, Tensor]:
    """n sequences of the copy task: see `memory` symbols, wait `delay` steps, write them back.

    Token 0 is the blank, tokens 1 … n_symbols are the symbols, token n_symbols + 1 is the
    cue. An input row is the `memory` symbols, `delay` − 1 blanks, the cue, and `memory`
    blanks (length delay + 2·memory). Its target row is blank for the first delay + memory
    steps and then the same `memory` symbols (Arjovsky et al., 2016, section 4.1).

    Args:
        n: number of sequences, ≥ 1.
        delay: T, the number of steps between the last symbol shown and the cue, ≥ 1.
        n_symbols: size of the alphabet to remember, ≥ 1.
        memory: how many symbols to remember, ≥ 1.
        seed: the draws are a function of the seed alone.

    Returns:
        inputs and targets, each a LongTensor (n, delay + 2·memory) of token ids; inputs use
        ids 0 … n_symbols + 1, targets 0 … n_symbols.
    """
    _check_positive_int("n", n)
    _check_positive_int("delay", delay)
    _check_positive_int("n_symbols", n_symbols)
    _check_positive_int("memory", memory)
    g = torch.Generator().manual_seed(check_seed(seed))
    symbols = torch.randint(1, n_symbols + 1, (n, memory), generator=g)
    length = delay + 2 * memory
    inputs = torch.zeros(n, length, dtype=torch.long)
    inputs[:, :memory] = symbols
    inputs[:, memory + delay - 1] = n_symbols + 1  # the cue: "write now"
    targets = torch.zeros(n, length, dtype=torch.long)
    targets[:, -memory:] = symbols
    return inputs, targets


def copy_baseline_cross_entropy(delay: int, *, n_symbols: int = 8, memory: int = 10) -> float:
    """Mean cross-entropy per step, in nats, of the best model that remembers no symbol.

    It outputs blanks with certainty until the cue has passed and then a uniform guess over
    the symbols: memory · log(n_symbols) nats spread over delay + 2·memory steps
    (Arjovsky et al., 2016).
    """
    _check_positive_int("delay", delay)
    _check_positive_int("n_symbols", n_symbols)
    _check_positive_int("memory", memory)
    return memory * math.log(n_symbols) / (delay + 2 * memory)
