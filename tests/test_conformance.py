"""One conformance test for every model in the package: the protocol of `genlab.models.base`, held.

Every trainable class in genlab must appear in CASES (a test checks that), so a new model is
covered by registering it here: a small constructor, a few training samples, and data it must refuse.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import torch

import genlab
from genlab.data import Vocabulary, encode_corpus
from genlab.models import CharRNN, GenerativeModel, MaskedVAE, RecurrentRegressor, SequenceRNN, Trainable
from genlab.models.base import REGISTRY

NAMES = ["anna", "bob", "carla", "dave", "eve", "ida", "otto", "ulla"] * 8
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _ring():
    return genlab.data.ring().sample(64, seed=0)


def _digits(value_range=(-1, 1)):
    return genlab.data.digits(value_range).tensors[0][:64]


def _labelled_digits(value_range=(-1, 1)):
    images, labels = genlab.data.digits(value_range).tensors
    return (images[:64], labels[:64])


def _masked_digits():
    x = _digits((0, 1))
    mask = genlab.imputation.random_mask(x.shape, 0.3, generator=torch.Generator().manual_seed(0))
    return (torch.where(mask, x, 0.0), mask)


@dataclass(frozen=True)
class Case:
    make: Callable[[], Trainable]
    data: Callable[[], object]
    bad: Callable[[], object]  # data the model must refuse with a clear error


VOCAB = Vocabulary.from_corpus(NAMES)
CASES = {
    "GAN.mlp": Case(lambda: genlab.GAN.mlp(hidden=16, depth=2), _ring, lambda: torch.zeros(64, 3)),
    # (with the hinge or Wasserstein loss the critic's output bias gets no gradient at all: scores
    # enter the loss as differences of means, so the every-parameter check would not apply)
    "GAN.mlp minimax d_steps ema packed": Case(
        lambda: genlab.GAN.mlp(hidden=16, depth=2, loss="minimax", d_steps=2, ema=0.9, pack=2),
        _ring,
        lambda: torch.zeros(64, 2, 1),
    ),
    "GAN.mlp spectral norm TTUR R1": Case(
        lambda: genlab.GAN.mlp(hidden=16, depth=2, spectral_norm=True, lr=1e-4, d_lr=4e-4, r1_weight=10.0), _ring,
        lambda: torch.zeros(64, 3)),
    "DDPM.mlp": Case(lambda: genlab.DDPM.mlp(hidden=16, depth=2, timesteps=20), _ring, lambda: torch.zeros(64, 3)),
    "GAN.dcgan": Case(lambda: genlab.GAN.dcgan((1, 8, 8), latent_dim=8, channels=(8, 4)), _digits,
                      lambda: torch.zeros(64, 1, 7, 7)),
    "VAE.mlp": Case(lambda: genlab.VAE.mlp(hidden=16, depth=1), _ring, lambda: torch.zeros(64, 3)),
    "VAE.conv": Case(lambda: genlab.VAE.conv((1, 8, 8), latent_dim=4, channels=(8, 16)), lambda: _digits((0, 1)),
                     lambda: _digits((-1, 1))),  # a Bernoulli likelihood needs data in [0, 1]
    "GAN.dcgan conditional": Case(lambda: genlab.GAN.dcgan((1, 8, 8), latent_dim=8, channels=(8, 4), classes=10),
                                  _labelled_digits, lambda: _digits()),  # labels missing
    "VAE.conv conditional": Case(lambda: genlab.VAE.conv((1, 8, 8), latent_dim=4, channels=(8, 16), classes=10),
                                 lambda: _labelled_digits((0, 1)),
                                 lambda: (_digits((0, 1)), torch.full((64,), 10))),  # label 10 of 10 classes
    "VAEGAN.dcgan": Case(lambda: genlab.VAEGAN.dcgan((1, 8, 8), latent_dim=4, channels=(8, 4)), _digits,
                         lambda: _digits((0, 1)) * 2),  # outside the decoder's [-1, 1]
    "VAEGAN.mlp": Case(lambda: genlab.VAEGAN.mlp(hidden=16, depth=2), _ring, lambda: torch.zeros(64, 3)),
    "MaskedVAE.conv": Case(lambda: MaskedVAE.conv((1, 8, 8), latent_dim=4, channels=(8, 16)), _masked_digits,
                           lambda: torch.zeros(64, 64)),
    "CharRNN": Case(lambda: CharRNN(VOCAB, embedding_dim=8, hidden=16), lambda: encode_corpus(NAMES, VOCAB),
                    lambda: encode_corpus(NAMES, VOCAB).float()),
    "SequenceRNN": Case(lambda: SequenceRNN(2, 12, hidden=8), lambda: genlab.data.sines(64, 12, 2, seed=0),
                        lambda: torch.zeros(64, 12, 3)),
    "RecurrentGAN.crnngan feature matching": Case(
        lambda: genlab.RecurrentGAN.crnngan(2, 12, hidden=8, feature_matching=True, output="sigmoid"),
        lambda: genlab.data.sines(64, 12, 2, seed=0), lambda: genlab.data.sines(64, 12, 2, seed=0) * 2),  # > 1
    "RecurrentGAN.rcgan conditional": Case(
        lambda: genlab.RecurrentGAN.rcgan(8, 8, classes=10, hidden=8),
        lambda: (_digits((0, 1)).reshape(64, 8, 8), genlab.data.digits((0, 1)).tensors[1][:64]),
        lambda: _digits((0, 1)).reshape(64, 8, 8)),  # labels missing
    # phases of one step each, so that three steps of fit reach joint training
    "TimeGAN": Case(lambda: genlab.TimeGAN(length=12, features=2, hidden=8, layers=2, embedding_steps=1, supervised_steps=1),
                    lambda: genlab.data.sines(64, 12, 2, seed=0), lambda: genlab.data.sines(64, 12, 2, seed=0) - 1),
    "TimeGAN without embedding": Case(
        lambda: genlab.TimeGAN(length=12, features=2, hidden=8, layers=2, embedding=False, supervised_steps=1),
        lambda: genlab.data.sines(64, 12, 2, seed=0), lambda: torch.zeros(64, 11, 2)),
    "VRNN": Case(lambda: genlab.VRNN(2, 12, latent_dim=2, hidden=8, kl_warmup=2),
                 lambda: genlab.data.sines(64, 12, 2, seed=0), lambda: torch.zeros(64, 12, 3)),
    "SequenceVAE": Case(lambda: genlab.SequenceVAE(VOCAB, latent_dim=2, embedding_dim=8, hidden=16, kl_warmup=2,
                                                   word_dropout=0.3, free_bits=0.1),
                        lambda: encode_corpus(NAMES, VOCAB), lambda: encode_corpus(NAMES, VOCAB)[:, 1:]),  # no <s>
    "SequenceRNN mixture": Case(lambda: SequenceRNN(2, 12, hidden=8, components=3),
                                lambda: genlab.data.sines(64, 12, 2, seed=0), lambda: torch.zeros(64, 12, 1)),
    "RecurrentRegressor": Case(lambda: RecurrentRegressor(2, 10, hidden=8), lambda: genlab.data.adding_problem(64, 10),
                               lambda: genlab.data.adding_problem(64, 10)[0]),  # targets missing
    "AAE.mlp gaussian": Case(lambda: genlab.AAE.mlp(hidden=16, depth=2), _ring, lambda: torch.zeros(64, 3)),
    "AAE.mlp swiss-roll stochastic": Case(
        lambda: genlab.AAE.mlp(hidden=16, depth=2, prior="swiss-roll", stochastic_encoder=True), _ring,
        lambda: torch.zeros(64, 2, 1),
    ),
    "AAE.conv mixture conditional": Case(
        lambda: genlab.AAE.conv((1, 8, 8), latent_dim=2, channels=(8, 16), prior="mixture", classes=10, hidden=16),
        lambda: tuple(t[:64] for t in genlab.data.digits((0, 1)).tensors),
        lambda: tuple(t[:64] for t in genlab.data.digits((-1, 1)).tensors),  # the Bernoulli loss needs [0, 1]
    ),
    "BiGAN.mlp": Case(lambda: genlab.BiGAN.mlp(hidden=16, depth=2), _ring, lambda: torch.zeros(64, 3)),
    "BiGAN.conv stochastic": Case(
        lambda: genlab.BiGAN.conv((1, 8, 8), latent_dim=8, channels=(8, 4), hidden=16, stochastic_encoder=True),
        _digits,
        lambda: _digits((0, 1)) * 2,  # outside the generator's [-1, 1]
    ),
}


def build(name: str, seed: int = 0) -> Trainable:
    torch.manual_seed(seed)
    return CASES[name].make()


def state(model: torch.nn.Module) -> list[torch.Tensor]:
    return [t.detach().clone().cpu() for t in model.state_dict().values()]


def first_batch(data, n: int = 32):
    return data[:n] if isinstance(data, torch.Tensor) else tuple(t[:n] for t in data)


def test_every_model_class_has_a_case():
    covered = {type(CASES[name].make()).__name__ for name in CASES}
    models = {name for name, cls in REGISTRY.items()
              if cls.__module__.startswith("genlab.models.") and cls not in (Trainable, GenerativeModel)}
    assert models <= covered, f"models without a conformance case: {sorted(models - covered)}"


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", CASES)
def test_train_step_returns_finite_detached_losses_on_the_device(name, device):
    model = build(name).to(device)
    batch = first_batch(CASES[name].data())
    batch = batch.to(device) if isinstance(batch, torch.Tensor) else tuple(t.to(device) for t in batch)
    out = model.train_step(batch, model.configure_optimizers(), 0)
    assert out, "a step must report at least one loss"
    for key, value in out.items():
        assert isinstance(value, torch.Tensor) and value.dim() == 0, key
        assert value.device.type == device and not value.requires_grad, key
        assert math.isfinite(value.item()), key


@pytest.mark.parametrize("name", CASES)
def test_optimizers_are_named_and_own_disjoint_parameters(name):
    model = build(name)
    optimizers = model.configure_optimizers()
    assert isinstance(optimizers, dict) and optimizers and all(isinstance(k, str) for k in optimizers)
    owned = [id(p) for opt in optimizers.values() for g in opt.param_groups for p in g["params"]]
    assert len(owned) == len(set(owned))
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    assert set(owned) == trainable, "every trainable parameter belongs to exactly one optimizer"


@pytest.mark.parametrize("name", CASES)
def test_fit_updates_every_parameter(name):
    model = build(name)
    before = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    history = genlab.fit(model, CASES[name].data(), steps=3, batch_size=16, device="cpu")
    assert history and all(len(v) == 3 and all(map(math.isfinite, v)) for v in history.values())
    unchanged = [n for n, p in model.named_parameters() if p.requires_grad and torch.equal(before[n], p)]
    assert not unchanged, f"parameters that no update reached: {unchanged}"


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", [n for n in CASES if isinstance(build(n), GenerativeModel)])
def test_sample_shape_dtype_device_and_determinism(name, device):
    model = build(name).to(device)
    model.train()
    draw = lambda: model.sample(5, generator=torch.Generator(device=device).manual_seed(3))
    x = draw()
    assert x.device.type == device and model.training, "sample leaves the model's mode as it was"
    if model.data_shape is None:  # token sequences of any length
        assert x.dtype == torch.long and x.shape[0] == 5
    else:
        assert x.shape == (5, *model.data_shape) and x.dtype == torch.float32
    assert torch.equal(x, draw())
    assert model.sample(0).shape[0] == 0
    if model.conditional:
        labels = torch.arange(5) % model.classes
        assert model.sample(5, condition=labels).shape == x.shape
        with pytest.raises(ValueError, match="condition must lie in"):
            model.sample(2, condition=torch.tensor([0, model.classes]))
        with pytest.raises(ValueError, match=r"condition must have shape \(2,\)"):
            model.sample(2, condition=torch.zeros(3, dtype=torch.long))
    else:
        with pytest.raises(ValueError, match="unconditional"):
            model.sample(2, condition=torch.zeros(2, dtype=torch.long))


@pytest.mark.parametrize("name", CASES)
def test_checkpoint_rebuilds_the_trained_model(name, tmp_path):
    model = build(name)
    path = tmp_path / "model.pt"
    genlab.fit(model, CASES[name].data(), steps=3, batch_size=16, device="cpu", checkpoint=path)
    loaded = genlab.load(path)
    assert type(loaded) is type(model) and not loaded.training
    assert all(torch.equal(a, b) for a, b in zip(state(model), state(loaded)))
    if isinstance(model, GenerativeModel):
        model.eval()
        g = lambda: torch.Generator().manual_seed(0)
        assert torch.equal(model.sample(4, generator=g()), loaded.sample(4, generator=g()))


@pytest.mark.parametrize("name", CASES)
def test_resume_is_exact(name, tmp_path):
    data = CASES[name].data()
    full = build(name)
    full_history = genlab.fit(full, data, steps=6, batch_size=16, device="cpu", seed=2)
    path = tmp_path / "run.pt"
    genlab.fit(build(name), data, steps=4, batch_size=16, device="cpu", seed=2, checkpoint=path)
    resumed = build(name, seed=7)  # everything must come from the checkpoint
    history = genlab.fit(resumed, data, steps=6, batch_size=16, device="cpu", seed=2, checkpoint=path, resume=True)
    assert history == full_history
    assert all(torch.equal(a, b) for a, b in zip(state(full), state(resumed)))


@pytest.mark.parametrize("name", CASES)
def test_malformed_data_is_refused_before_training(name):
    model = build(name)
    before = state(model)
    with pytest.raises((ValueError, TypeError)) as info:
        genlab.fit(model, CASES[name].bad(), steps=2, batch_size=16, device="cpu")
    assert len(str(info.value)) > 20
    assert all(torch.equal(a, b) for a, b in zip(before, state(model)))
