"""Sampling cost: carrying the hidden state (O(T)) against recomputing the prefix (O(T²)).

One character LSTM (hidden 128, vocabulary of the names corpus) draws one sequence
of `--length` characters both ways, in the same run and with the same random draws;
the end token is switched off so that both loops run to full length. The two
token sequences are checked to be identical before the times are printed.

    python benchmarks/rnn_sampling.py [--length 2000] [--hidden 128] [--device cpu] [--threads 1]

Measured with the defaults and --threads 1 (torch 2.13, 2-core CPU shared with other
jobs, so absolute times are inflated): carried 2.4 s, recomputed 40.3 s, ratio 16.9x;
a second run gave 3.9 s / 75.3 s, ratio 19.1x. The carried loop's time is mostly
per-step overhead; the recomputed loop's grows with the square of the length.
"""

from __future__ import annotations

import argparse
import time

import torch

import genlab
from genlab.data import Vocabulary, names_corpus
from genlab.models import CharRNN
from genlab.models.rnn import sample_recomputing_prefix


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=2000)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    dev = torch.device(args.device) if args.device else genlab.device()
    torch.manual_seed(0)
    model = CharRNN(Vocabulary.from_corpus(names_corpus("first")), cell="lstm", hidden=args.hidden).to(dev)
    with torch.no_grad():
        model.output.bias[model.vocab.end] = -1e4  # never end early: both loops draw `length` characters

    def timed(fn):
        g = torch.Generator(device=dev).manual_seed(0)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        tokens = fn(model, 1, max_len=args.length, generator=g)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        return tokens, time.perf_counter() - start

    model.sample(1, max_len=10)  # warm-up
    carried, t_carried = timed(lambda m, n, **kw: m.sample(n, **kw))
    recomputed, t_recomputed = timed(sample_recomputing_prefix)
    assert torch.equal(carried, recomputed), "both loops must draw the same tokens"
    assert len(model.vocab.decode(carried[0])) == args.length

    print(f"torch {torch.__version__}, device {dev}, {torch.get_num_threads()} threads; "
          f"LSTM hidden {args.hidden}, {args.length} characters")
    print(f"carried hidden state : {t_carried:8.3f} s  ({args.length} cell updates)")
    print(f"recomputed prefix    : {t_recomputed:8.3f} s  ({args.length * (args.length + 1) // 2} cell updates)")
    print(f"ratio                : {t_recomputed / t_carried:8.1f}x")


if __name__ == "__main__":
    main()
