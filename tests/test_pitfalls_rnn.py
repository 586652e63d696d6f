"""The recurrent-network mistakes of the source article, each reproduced and fixed (book/04_code/name_generator)."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import genlab
from genlab.data import Vocabulary, encode_corpus
from genlab.models import CharRNN
from genlab.models.rnn import sample_recomputing_prefix

B, T, FEATURES, HIDDEN = 6, 5, 3, 4


def influence_of_first_example(lstm: nn.LSTM, x: torch.Tensor) -> float:
    """How much the outputs for examples 1..B-1 (along dim 0) change when only example 0 changes."""
    changed = x.clone()
    changed[0] += 1.0
    return (lstm(x)[0][1:] - lstm(changed)[0][1:]).abs().max().item()


def test_pitfall_wrong_feature_size_raises():
    lstm = nn.LSTM(FEATURES, HIDDEN, batch_first=True)
    with pytest.raises(RuntimeError, match="input.size\\(-1\\) must be equal to input_size"):
        lstm(torch.randn(B, T, 100))


def test_pitfall_two_dimensional_input_is_read_as_one_sequence():
    torch.manual_seed(0)
    lstm = nn.LSTM(FEATURES, HIDDEN, batch_first=True)
    flat = torch.randn(B, FEATURES)  # meant as B examples, but PyTorch reads (T=B, features)
    assert influence_of_first_example(lstm, flat) > 1e-3, "examples leak into each other"
    fixed = flat.unsqueeze(1)  # (B, T=1, features): B sequences of one step each
    assert influence_of_first_example(lstm, fixed) == 0.0


def test_pitfall_missing_batch_first_mixes_the_batch():
    torch.manual_seed(0)
    x = torch.randn(B, T, FEATURES)  # batch-first data
    wrong = nn.LSTM(FEATURES, HIDDEN)  # expects (T, B, features): reads the batch as time
    right = genlab.nets.recurrent("lstm", FEATURES, HIDDEN)  # batch_first=True
    wrong_y, right_y = wrong(x)[0], right(x)[0]
    assert wrong_y.shape == right_y.shape == (B, T, HIDDEN), "no error: the shapes even agree"
    changed = x.clone()
    changed[0] += 1.0
    # Wrong: sequence 0 reaches sequences 1..B-1 along the axis the LSTM thinks is time.
    assert (wrong(changed)[0][1:] - wrong_y[1:]).abs().max() > 1e-3
    assert torch.equal(right(changed)[0][1:], right_y[1:])


@pytest.mark.statistical
def test_pitfall_categorical_loss_against_continuous_targets(seed):
    torch.manual_seed(seed)
    logits = torch.zeros(16, 10, requires_grad=True)
    with pytest.raises(RuntimeError):
        F.cross_entropy(logits, torch.randn(16))  # (B,) real numbers are not class indices
    # Random real (B, C) targets are accepted as "class probabilities", some negative: the loss
    # has no lower bound and minimising it just inflates the logits.
    targets = torch.randn(16, 10)
    opt = torch.optim.SGD([logits], lr=1.0)
    for _ in range(200):
        loss = F.cross_entropy(logits, targets)
        opt.zero_grad()
        loss.backward()
        opt.step()
    # seeds 0–9, 1 thread: −118 to −225
    assert loss.item() < -5.0, "a cross-entropy below zero is meaningless"
    # Fix: integer class targets (the next character); the loss is then ≥ 0 and ≈ log C at random.
    fresh = torch.zeros(16, 10)
    good = F.cross_entropy(fresh, torch.randint(0, 10, (16,)))
    assert good.item() == pytest.approx(torch.log(torch.tensor(10.0)).item(), rel=1e-6)


@pytest.mark.statistical
def test_pitfall_nothing_is_generated_fixed_by_an_o_t_sampler(seed):
    names = ["anna", "bob", "eve", "otto"]
    torch.manual_seed(seed)
    model = CharRNN(Vocabulary.from_corpus(names), cell="lstm", embedding_dim=8, hidden=16, lr=3e-2)
    genlab.fit(model, encode_corpus(names, model.vocab), steps=100, batch_size=4, device="cpu", seed=seed)
    steps_fed = []
    model.rnn.register_forward_hook(lambda module, args, out: steps_fed.append(args[0].shape[1]))
    fast = model.sample(4, max_len=20, generator=torch.Generator().manual_seed(seed))
    fast_cost, steps_fed[:] = sum(steps_fed), []
    slow = sample_recomputing_prefix(model, 4, max_len=20, generator=torch.Generator().manual_seed(seed))
    slow_cost, n = sum(steps_fed), len(steps_fed)  # n: tokens drawn (longest name + end token)
    assert torch.equal(fast, slow)
    assert (fast_cost, slow_cost) == (n, n * (n + 1) // 2), "T cell updates against T(T+1)/2"
    # Trained to the floor (4 names with distinct first letters), the model still gives a little
    # probability to other continuations, so a few samples in a thousand are new words: asking that
    # 20 samples all be corpus names fails for 8–20% of the seeds.
    generated = model.generate(1000, generator=torch.Generator().manual_seed(seed + 1))
    invented = sum(name not in names for name in generated) / len(generated)
    # seeds 0–9, 1 thread: 0.002–0.009 of the names are new
    assert invented < 0.05


def test_pitfall_output_layer_reusing_the_input_weights_and_hidden_bias():
    # The article's output y = W^T h + b reuses the input matrix W (not the recurrent U) and the
    # H-dimensional bias b. Reusing an input embedding as the output layer is weight tying, a
    # sound technique; the errors are the missing output parameters and the bias of size H.
    rnn = nn.RNN(29, 128, batch_first=True)  # W = weight_ih (128, 29), b = bias (128,)
    h = torch.randn(128)
    with pytest.raises(RuntimeError, match="size of tensor a \\(29\\) must match.*\\(128\\)"):
        rnn.weight_ih_l0.T @ h + rnn.bias_ih_l0  # y = W^T h + b with the input W and the hidden bias b
    model = CharRNN(Vocabulary("abcdefghijklmnopqrstuvwxyz"), hidden=128)
    assert model.output.weight.shape == (model.vocab.size, 128) and model.output.bias.shape == (model.vocab.size,)
    recurrent_ids = {id(p) for p in model.rnn.parameters()}
    assert not recurrent_ids & {id(p) for p in model.output.parameters()}
