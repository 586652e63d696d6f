import math

import pytest
import torch
from torch import nn

import genlab
from genlab.data import Vocabulary, encode_corpus
from genlab.models import CharRNN
from genlab.models.rnn import input_gradient_by_lag, sample_next, sample_recomputing_prefix

NAMES = ["anna", "bob", "carla", "dave", "eve", "ida", "otto", "ulla"]


def tiny(cell: str = "gru", seed: int = 0, **kwargs) -> CharRNN:
    torch.manual_seed(seed)
    return CharRNN(Vocabulary.from_corpus(NAMES), cell=cell, embedding_dim=8, hidden=16, **kwargs)


def constant_logits(model: CharRNN, bias: torch.Tensor) -> CharRNN:
    """Make every step's logits equal to `bias`, whatever the state."""
    with torch.no_grad():
        model.output.weight.zero_()
        model.output.bias.copy_(bias)
    return model


@pytest.mark.statistical
def test_train_step_returns_a_finite_loss_and_updates_the_network(seed):
    model = tiny(seed=seed)
    data = encode_corpus(NAMES, model.vocab)
    before = [p.detach().clone() for p in model.rnn.parameters()]
    out = model.train_step(data, model.configure_optimizers(), 0)
    assert set(out) == {"loss"} and math.isfinite(out["loss"])
    # At initialisation the prediction is close to uniform over the V - 2 possible tokens
    # (seeds 0–9, 1 thread: −1.2% to +3.5% from log(V − 2)).
    assert out["loss"] == pytest.approx(math.log(model.vocab.size - 2), rel=0.1)
    assert all(not torch.equal(a, b) for a, b in zip(before, model.rnn.parameters()))


@pytest.mark.statistical
@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_overfits_a_tiny_corpus_down_to_the_first_letter(cell, seed):
    model = tiny(cell, seed, lr=3e-2)
    data = encode_corpus(NAMES, model.vocab)
    history = genlab.fit(model, data, steps=120, batch_size=8, device="cpu", seed=seed)
    # seeds 0–9, 1 thread, all three cells: the last loss is 0.158–0.171 of the first
    assert history["loss"][-1] < 0.25 * history["loss"][0]
    # Once every name is memorised only its first letter is uncertain: 8 names cost 8·log 8 nats
    # over 30 characters + 8 end tokens, the lowest possible loss.
    floor = 8 * math.log(8) / (sum(map(len, NAMES)) + len(NAMES))
    # seeds 0–9, 1 thread: 0.0012–0.0033 nats above the floor; greedy samples always corpus names
    assert model.nll(data) == pytest.approx(floor, abs=0.03)
    assert set(model.generate(50, top_k=1)) <= set(NAMES)


def test_top_k_one_and_low_temperature_are_greedy_and_deterministic():
    model = tiny("lstm")
    data = encode_corpus(NAMES, model.vocab)
    genlab.fit(model, data, steps=60, batch_size=8, device="cpu", seed=0)
    greedy = model.sample(20, top_k=1, generator=torch.Generator().manual_seed(0))
    assert (greedy == greedy[0]).all(), "greedy decoding ignores the random draws"
    assert torch.equal(greedy, model.sample(20, top_k=1, generator=torch.Generator().manual_seed(99)))
    cold = model.sample(20, temperature=1e-4, generator=torch.Generator().manual_seed(5))
    assert torch.equal(cold, greedy)
    # And it is the argmax, step by step.
    prefix = [model.vocab.begin]
    for t in range(greedy.shape[1]):
        logits, _ = model(torch.tensor([prefix]))
        nxt = int(logits[0, -1].argmax())
        assert greedy[0, t].item() == nxt
        if nxt == model.vocab.end:
            break
        prefix.append(nxt)


def test_top_k_restricts_the_support():
    model = tiny("rnn")
    vocab = model.vocab
    bias = torch.zeros(vocab.size)
    ranked = [vocab.index[c] for c in "aeo"]  # the three highest scores, end token below them
    bias[ranked] = torch.tensor([3.0, 2.9, 2.8])
    bias[vocab.end] = 1.0
    constant_logits(model, bias)
    g = torch.Generator().manual_seed(0)
    seen = set(model.sample(200, max_len=10, top_k=3, generator=g).flatten().tolist())
    assert seen == set(ranked) | {vocab.pad}, "only the three best characters; rows are cut at max_len"
    unrestricted = set(model.sample(200, max_len=10, generator=g).flatten().tolist())
    assert unrestricted > seen, "without top_k other characters appear too"
    assert vocab.begin not in unrestricted, "the begin token has probability zero"


@pytest.mark.statistical
def test_sample_next_top_k_and_temperature_on_hand_set_logits(seed):
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.2]])).repeat(100_000, 1)
    g = torch.Generator().manual_seed(seed)
    counts = torch.bincount(sample_next(logits, generator=g), minlength=3) / 100_000
    # seeds 0–9, 1 thread: every frequency below within 0.003 of its target (within 0.009 at 20,000 draws)
    assert torch.allclose(counts, torch.tensor([0.5, 0.3, 0.2]), atol=0.015)
    counts = torch.bincount(sample_next(logits, top_k=2, generator=g), minlength=3) / 100_000
    assert counts[2] == 0 and counts[0] == pytest.approx(0.5 / 0.8, abs=0.015)
    hot = torch.bincount(sample_next(logits, temperature=2.0, generator=g), minlength=3) / 100_000
    expected = torch.tensor([0.5, 0.3, 0.2]).sqrt() / torch.tensor([0.5, 0.3, 0.2]).sqrt().sum()
    assert torch.allclose(hot, expected, atol=0.015)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_carried_state_sampling_equals_recomputing_the_prefix(cell):
    model = tiny(cell, layers=2)
    fast = model.sample(64, max_len=12, generator=torch.Generator().manual_seed(7))
    slow = sample_recomputing_prefix(model, 64, max_len=12, generator=torch.Generator().manual_seed(7))
    assert torch.equal(fast, slow)
    assert len({model.vocab.decode(r) for r in fast}) > 10, "an untrained model gives many different rows"


def test_sampling_feeds_one_token_per_step():
    model = tiny("lstm")
    lengths = []
    model.rnn.register_forward_hook(lambda module, args, out: lengths.append(args[0].shape[1]))
    model.sample(8, max_len=15, generator=torch.Generator().manual_seed(0))
    assert lengths and set(lengths) == {1} and len(lengths) <= 16
    lengths.clear()
    sample_recomputing_prefix(model, 8, max_len=15, generator=torch.Generator().manual_seed(0))
    assert lengths == list(range(1, len(lengths) + 1)), "the naive loop re-reads a growing prefix"


def test_sample_rows_are_well_formed():
    model = tiny("gru")
    rows = model.sample(100, max_len=6, generator=torch.Generator().manual_seed(1))
    assert rows.shape == (100, 7) and rows.dtype == torch.long
    vocab = model.vocab
    for row in rows.tolist():
        n_chars = next((i for i, t in enumerate(row) if t in (vocab.end, vocab.pad)), len(row))
        assert all(t >= 3 for t in row[:n_chars]) and n_chars <= 6
        assert all(t == vocab.pad for t in row[n_chars + 1:])
    assert model.generate(100, max_len=6, generator=torch.Generator().manual_seed(1)) == [
        vocab.decode(r) for r in rows
    ]


def test_nll_matches_a_hand_computation():
    model = tiny("rnn", seed=3)
    vocab = model.vocab
    data = encode_corpus(["ada", "bo"], vocab)  # rows <s> a d a </s> and <s> b o </s> <pad>
    rnn = model.rnn
    W_ih, W_hh, b_ih, b_hh = rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0, rnn.bias_hh_l0
    total, count = 0.0, 0
    for row in data.tolist():
        h = torch.zeros(model.hidden)
        for x, y in zip(row[:-1], row[1:]):
            if y == vocab.pad:
                break
            h = torch.tanh(W_ih @ model.embedding.weight[x] + b_ih + W_hh @ h + b_hh)  # Elman update
            logits = model.output.weight @ h + model.output.bias  # the output layer's own weights
            logits[[vocab.pad, vocab.begin]] = -math.inf
            total -= torch.log_softmax(logits, dim=0)[y].item()
            count += 1
    assert count == 4 + 3  # characters plus one end token per name; no begin, no padding
    assert model.nll(data) == pytest.approx(total / count, rel=1e-5)
    log_p = model.log_prob(data)
    assert log_p.shape == (2,) and -log_p.sum().item() == pytest.approx(total, rel=1e-5)


def test_next_token_probs_is_a_distribution_over_possible_tokens():
    model = tiny("gru")
    p = model.next_token_probs("an")
    assert p.shape == (model.vocab.size,) and p.sum().item() == pytest.approx(1.0, abs=1e-6)
    assert p[model.vocab.pad] == 0 and p[model.vocab.begin] == 0
    sharp = model.next_token_probs("an", temperature=0.1)
    assert sharp.argmax() == p.argmax() and sharp.max() > p.max()


def test_gradient_clipping_bounds_the_update():
    seen = []

    class Recording(torch.optim.SGD):
        def step(self, closure=None):
            grads = [p.grad for g in self.param_groups for p in g["params"] if p.grad is not None]
            seen.append(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(x) for x in grads])).item())
            return super().step(closure)

    data = encode_corpus(NAMES, tiny().vocab)
    for clip, bound in [(0.01, 0.01), (None, None)]:
        model = tiny("rnn", clip_norm=clip)
        model.train_step(data, {"model": Recording(model.parameters(), lr=0.1)}, 0)
        if bound is not None:
            assert seen[-1] == pytest.approx(bound, rel=1e-4)
        else:
            assert seen[-1] > 0.1, "unclipped, the first gradient is far larger than 0.01"


def test_same_seed_same_model_and_samples():
    data = encode_corpus(NAMES, tiny().vocab)
    runs = []
    for _ in range(2):
        model = tiny("gru")
        genlab.fit(model, data, steps=20, batch_size=4, device="cpu", seed=1)
        runs.append(model.sample(10, generator=torch.Generator().manual_seed(2)))
    assert torch.equal(*runs)


def test_bad_data_is_named():
    model = tiny()
    good = encode_corpus(NAMES, model.vocab)
    with pytest.raises(TypeError, match="integer token ids"):
        genlab.fit(model, good.float(), steps=1, batch_size=2)
    with pytest.raises(ValueError, match=r"shape \(N, T\)"):
        genlab.fit(model, good[:, 0], steps=1, batch_size=2)
    with pytest.raises(ValueError, match=r"ids must lie in 0\.\.15"):
        genlab.fit(model, good + 5, steps=1, batch_size=2)
    with pytest.raises(ValueError, match="begin token"):
        genlab.fit(model, good[:, 1:], steps=1, batch_size=2)
    with pytest.raises(ValueError, match="clip_norm"):
        tiny(clip_norm=0.0)


@pytest.mark.parametrize("kwargs, match", [
    (dict(temperature=0.0), "temperature"),
    (dict(temperature=-1.0), "temperature"),
    (dict(temperature=float("nan")), "temperature"),
    (dict(top_k=0), "top_k"),
    (dict(top_k=2.5), "top_k"),
    (dict(max_len=0), "max_len"),
])
def test_bad_sampling_arguments_are_named(kwargs, match):
    model = tiny()
    with pytest.raises(ValueError, match=match):
        model.sample(2, **kwargs)
    with pytest.raises(ValueError, match="number of samples"):
        model.sample(-1)


def test_input_gradient_by_lag_matches_powers_of_the_recurrent_matrix():
    # Identity input weights, no bias, tiny inputs: the tanh RNN is linear, so
    # ∂h_T/∂x_{T-k} = W_hh^k and, for W_hh = r·Q with Q orthogonal, every norm is exactly r^k.
    torch.manual_seed(0)
    rnn = genlab.nets.recurrent("rnn", 8, 8, bias=False)
    q, _ = torch.linalg.qr(torch.randn(8, 8))
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.eye(8))
        rnn.weight_hh_l0.copy_(0.7 * q)
    norms = input_gradient_by_lag(rnn, 1e-6 * torch.randn(3, 12, 8), generator=torch.Generator().manual_seed(0))
    assert norms.shape == (12,)
    assert torch.allclose(norms, 0.7 ** torch.arange(12.0), rtol=1e-4)
    with pytest.raises(ValueError, match=r"\(B, T, F\)"):
        input_gradient_by_lag(rnn, torch.randn(12, 8))
