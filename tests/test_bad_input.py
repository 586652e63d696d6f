"""A catalogue of bad input to the models, `fit` and checkpoints: each gets a clear error that names
the argument (or the problem) and says what to do. Data and metrics have their own catalogue in
test_bad_input_data.py."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import torch
from torch import nn

import genlab
from genlab.data import Vocabulary, encode_corpus
from genlab.models import CharRNN, MaskedVAE, RecurrentRegressor, SequenceRNN

RING = genlab.data.ring().sample(64, seed=0)
VOCAB = Vocabulary("abc")


def gan(**kwargs):
    return genlab.GAN.mlp(hidden=8, depth=1, **kwargs)


def vae(**kwargs):
    return genlab.VAE.mlp(hidden=8, depth=1, **kwargs)


def fit(model=None, data=RING, **kwargs):
    return genlab.fit(model or vae(), data, **({"steps": 2, "batch_size": 16, "device": "cpu"} | kwargs))


NAN = math.nan


def touch(name: str, content: bytes = b"") -> str:
    Path(name).write_bytes(content)
    return name


def nan_gan():
    model = gan()
    with torch.no_grad():
        model.discriminator[-1].bias.fill_(float("nan"))
    return model


CATALOGUE = [
    # --- fit: counts and settings
    ("steps float", lambda: fit(steps=1.5), ValueError, "steps must be a non-negative integer"),
    ("steps bool", lambda: fit(steps=True), ValueError, "steps must be"),
    ("steps negative", lambda: fit(steps=-1), ValueError, "steps must be"),
    ("batch_size bool", lambda: fit(batch_size=True), ValueError, "batch_size must be a positive integer"),
    ("batch_size zero", lambda: fit(batch_size=0), ValueError, "batch_size must be a positive integer"),
    ("batch_size too large", lambda: fit(batch_size=65), ValueError, "batch_size 65 is larger than the dataset"),
    ("data scaled by 1e30", lambda: fit(data=RING * 1e30), ValueError, "the data's values reach 1.*e\\+30: .*standardise"),
    ("checkpoint_every float", lambda: fit(checkpoint_every=1.5, checkpoint="x.pt"), ValueError, "checkpoint_every must be"),
    ("callback_every negative", lambda: fit(callback_every=-1), ValueError, "callback_every must be"),
    ("keep zero", lambda: fit(keep=0), ValueError, "keep must be a positive integer"),
    ("log_every zero", lambda: fit(log_every=0), ValueError, "log_every must be a positive integer"),
    ("resume string", lambda: fit(resume="yes", checkpoint="x.pt"), ValueError, "resume must be one of"),
    ("resume without path", lambda: fit(resume=True), ValueError, "need a checkpoint path"),
    ("seed negative", lambda: fit(seed=-1), ValueError, "seed must be a non-negative integer"),
    ("seed float", lambda: fit(seed=0.5), ValueError, "seed must be"),
    ("lr_decay unknown", lambda: fit(lr_decay="cosine"), ValueError, "unknown lr_decay 'cosine'"),
    ("amp on cpu", lambda: fit(amp=True), ValueError, "only supported on CUDA"),
    ("callback not callable", lambda: fit(callback=3, callback_every=1), TypeError, "callback must be callable"),
    ("model not a genlab model", lambda: fit(nn.Linear(2, 2)), TypeError, "model must be a genlab model"),
    # --- fit: data
    ("data a list", lambda: fit(data=[[0.0, 1.0]]), TypeError, "data must be a Tensor"),
    ("data empty", lambda: fit(data=torch.zeros(0, 2)), ValueError, "dataset is empty"),
    ("data wrong shape", lambda: fit(data=torch.zeros(64, 3)), ValueError, r"expects samples of shape \(2,\)"),
    ("data 0-d", lambda: fit(data=torch.tensor(1.0)), ValueError, "first axis"),
    ("data integer", lambda: fit(data=torch.zeros(64, 2, dtype=torch.long)), TypeError, "floating-point data.*x.float()"),
    ("data boolean", lambda: fit(data=torch.zeros(64, 2, dtype=torch.bool)), TypeError, "floating-point data"),
    ("data NaN", lambda: fit(data=RING.clone().index_fill_(0, torch.tensor([5]), float("nan"))), ValueError,
     "NaN or infinite values in 1 sample.*index 5"),
    ("data tensors of unequal length", lambda: fit(data=(RING, torch.zeros(10))), ValueError, "differ in length"),
    ("bernoulli VAE on [-1, 1] data", lambda: fit(genlab.VAE.conv((1, 8, 8), latent_dim=2, channels=(4, 8)),
                                                  genlab.data.digits((-1, 1)).tensors[0][:64]),
     ValueError, r"must lie in \[0, 1\] for a Bernoulli likelihood"),
    ("masked VAE without its mask", lambda: fit(MaskedVAE.mlp(hidden=8, depth=1)), ValueError, r"\(x, mask\) pairs"),
    ("char model on floats", lambda: fit(CharRNN(VOCAB, hidden=8), encode_corpus(["ab", "cab"] * 16, VOCAB).float()),
     TypeError, "integer token ids"),
    ("char ids outside the vocabulary", lambda: fit(CharRNN(VOCAB, hidden=8), torch.full((32, 4), 9).index_fill_(1, torch.tensor([0]), 1)),
     ValueError, "token ids must lie in 0..5"),
    ("regressor without targets", lambda: fit(RecurrentRegressor(2, 5, hidden=4), torch.zeros(32, 5, 2)),
     TypeError, r"\(inputs, targets\) pairs"),
    # --- checkpoints
    ("checkpoint is a directory", lambda: fit(checkpoint="."), IsADirectoryError, "is a directory"),
    ("load a missing file", lambda: genlab.load("no-such-file.pt"), FileNotFoundError, "no checkpoint at no-such-file.pt"),
    # --- GAN
    ("GAN latent_dim zero", lambda: gan(latent_dim=0), ValueError, "latent_dim must be a positive integer"),
    ("GAN latent_dim bool", lambda: gan(latent_dim=True), ValueError, "latent_dim must be"),
    ("GAN d_steps zero", lambda: gan(d_steps=0), ValueError, "d_steps must be a positive integer"),
    ("GAN pack float", lambda: gan(pack=1.5), ValueError, "pack must be a positive integer"),
    ("GAN categories negative", lambda: gan(categories=-1), ValueError, "categories must be a non-negative integer"),
    ("GAN ema one", lambda: gan(ema=1.0), ValueError, r"ema must be a number in \[0, 1\), got 1.0; 0 turns the average off"),
    ("GAN lr NaN", lambda: gan(lr=float("nan")), ValueError, "lr must be a finite number > 0"),
    ("GAN loss unknown", lambda: gan(loss="lsgan"), ValueError, "unknown GAN loss 'lsgan'"),
    ("GAN shapes disagree", lambda: genlab.GAN(nn.Linear(2, 3), nn.Linear(2, 1), latent_dim=2, data_shape=(2,)),
     ValueError, r"generator makes samples of shape \(3,\) but data_shape is \(2,\)"),
    ("sample negative", lambda: gan().sample(-1), ValueError, "n, the number of samples, must be a non-negative integer"),
    ("sample bool", lambda: gan().sample(True), ValueError, "number of samples"),
    ("sample float", lambda: gan().sample(2.0), ValueError, "number of samples"),
    ("sample beyond memory", lambda: gan().sample(10**13), ValueError, "draw them in chunks"),
    ("condition for an unconditional model", lambda: gan().sample(2, condition=torch.zeros(2)), ValueError, "unconditional"),
    ("rejection sampling with a NaN discriminator", lambda: nan_gan().rejection_sample(4, burn_in=100, batch_size=100),
     ValueError, "NaN or infinite logits"),
    ("rejection sampling quantile 1", lambda: gan().rejection_sample(4, quantile=1.0), ValueError, r"quantile must be a number in \[0, 1\)"),
    ("rejection sampling burn_in zero", lambda: gan().rejection_sample(4, burn_in=0), ValueError, "burn_in must be"),
    ("rejection sampling for WGAN-GP", lambda: gan(loss="wgan-gp").rejection_sample(4), ValueError, "log p_data/p_g"),
    # --- VAE
    ("VAE beta negative", lambda: vae(beta=-1.0), ValueError, "beta must be a finite number ≥ 0"),
    ("VAE beta NaN", lambda: vae(beta=float("nan")), ValueError, "beta must be"),
    ("VAE kl_warmup float", lambda: vae(kl_warmup=0.5), ValueError, "kl_warmup must be a non-negative integer"),
    ("VAE likelihood unknown", lambda: vae(likelihood="poisson"), ValueError, "unknown likelihood 'poisson'"),
    ("VAE init_scale zero", lambda: vae(init_scale=0.0), ValueError, "init_scale must be a finite number > 0"),
    ("VAE lr zero", lambda: vae(lr=0), ValueError, "lr must be a finite number > 0"),
    ("VAE image_shape flat", lambda: genlab.VAE.conv((8, 8)), ValueError, r"image_shape must be \(channels, height, width\)"),
    ("VAE importance samples zero", lambda: vae().log_likelihood(RING, 0), ValueError, "k, the number of importance samples"),
    ("VAE interpolation of one point", lambda: vae().interpolate(RING[0], RING[1], steps=1), ValueError, "steps"),
    ("VAE elbo of the wrong shape", lambda: vae().elbo(torch.zeros(4, 3)), ValueError, r"x must have shape \(B, 2\)"),
    ("VAE elbo of NaN", lambda: vae().elbo(torch.full((4, 2), float("nan"))), ValueError, "x contains NaN"),
    ("MaskedVAE k zero", lambda: MaskedVAE.mlp(k=0), ValueError, "k, the number of importance samples"),
    # --- recurrent models
    ("CharRNN cell unknown", lambda: CharRNN(VOCAB, cell="transformer"), ValueError, "unknown cell 'transformer'"),
    ("CharRNN hidden zero", lambda: CharRNN(VOCAB, hidden=0), ValueError, "hidden must be a positive integer"),
    ("CharRNN vocab a string", lambda: CharRNN("abc"), TypeError, "vocab must be a genlab.data.Vocabulary"),
    ("CharRNN dropout one", lambda: CharRNN(VOCAB, dropout=1.0), ValueError, r"dropout must be a number in \[0, 1\)"),
    ("CharRNN temperature zero", lambda: CharRNN(VOCAB).sample(2, temperature=0), ValueError, "temperature must be"),
    ("CharRNN top_k zero", lambda: CharRNN(VOCAB).sample(2, top_k=0), ValueError, "top_k must be a positive integer"),
    ("CharRNN max_len zero", lambda: CharRNN(VOCAB).sample(2, max_len=0), ValueError, "max_len must be a positive integer"),
    ("SequenceRNN features zero", lambda: SequenceRNN(0, 5), ValueError, "features must be a positive integer"),
    ("SequenceRNN clip_norm zero", lambda: SequenceRNN(1, 5, clip_norm=0), ValueError, "clip_norm"),
    ("SequenceRNN components zero", lambda: SequenceRNN(1, 5, components=0), ValueError, "components must be"),
    ("SequenceRNN mixture predict", lambda: SequenceRNN(1, 5, components=2).predict(torch.zeros(1, 5, 1)), ValueError,
     "use predict_mixture"),
    ("SequenceRNN sample length zero", lambda: SequenceRNN(1, 5).sample(2, length=0), ValueError, "length must be"),
    ("VRNN latent_dim zero", lambda: genlab.VRNN(2, 5, latent_dim=0), ValueError, "latent_dim must be a positive integer"),
    ("VRNN lr negative", lambda: genlab.VRNN(2, 5, lr=-1.0), ValueError, "lr must be a finite number > 0"),
    ("VRNN importance samples zero", lambda: genlab.VRNN(2, 5).log_likelihood(torch.zeros(3, 5, 2), k=0), ValueError,
     "k, the number of importance samples"),
    ("VRNN wrong feature count", lambda: genlab.VRNN(2, 5).elbo(torch.zeros(3, 5, 1)), ValueError,
     r"x must have shape \(batch, time, 2\)"),
    ("SequenceVAE vocab a list", lambda: genlab.SequenceVAE(["a", "b"]), TypeError, "vocab must be a genlab.data.Vocabulary"),
    ("SequenceVAE word_dropout above one", lambda: genlab.SequenceVAE(VOCAB, word_dropout=2.0), ValueError,
     r"word_dropout must be a number in \[0, 1\]"),
    ("SequenceVAE free_bits negative", lambda: genlab.SequenceVAE(VOCAB, free_bits=-0.5), ValueError, "free_bits must be"),
    ("SequenceVAE interpolation of one step", lambda: genlab.SequenceVAE(VOCAB).interpolate("ab", "ba", steps=1),
     ValueError, "steps must be an integer ≥ 2"),
    ("regressor optimizer unknown", lambda: RecurrentRegressor(2, 5, optimizer="rmsprop"), ValueError, "unknown optimizer"),
    # --- fit: the settings and data that went through unchecked
    ("progress a string", lambda: fit(progress="no"), ValueError, r"progress \(True, False or None.*\) must be True or False"),
    ("overwrite a string", lambda: fit(overwrite="yes"), ValueError, "overwrite must be True or False"),
    ("distributed_timeout zero", lambda: fit(distributed_timeout=0), ValueError, r"distributed_timeout \(seconds\) must be"),
    ("seed 2**70", lambda: fit(seed=2**70), ValueError, r"seed must be a non-negative integer below 2\*\*44"),
    ("device unknown", lambda: fit(device="nosuch"), ValueError, "device must be a device such as 'cpu'"),
    ("device of no kind genlab trains on", lambda: fit(device="meta"), ValueError, "device 'meta': genlab trains on"),
    *([("device cuda without CUDA", lambda: fit(device="cuda"), ValueError, "device 'cuda': CUDA is not available")]
      if not torch.cuda.is_available() else []),
    *([("device mps without MPS", lambda: fit(device="mps"), ValueError, "device 'mps': Apple's MPS is not available")]
      if not torch.backends.mps.is_available() else []),
    ("data float16", lambda: fit(data=RING.half()), TypeError, r"trains on float32 data.*torch.float16.*x.float\(\)"),
    ("data bfloat16", lambda: fit(data=RING.bfloat16()), TypeError, "trains on float32 data.*torch.bfloat16"),
    # --- checkpoints: replaced, unwritable, damaged
    ("checkpoint exists without resume or overwrite", lambda: fit(checkpoint=touch("x.pt")), FileExistsError,
     "checkpoint x.pt exists already: pass resume=True.*overwrite=True"),
    ("checkpoint inside a file", lambda: fit(checkpoint=Path(touch("file")) / "x.pt"), OSError,
     "cannot write the checkpoint file/x.pt"),
    ("load a 1-byte file", lambda: genlab.load(touch("x.pt", b"P")), genlab.CheckpointError,
     "x.pt is damaged or not a checkpoint: it is truncated"),
    ("load to an unknown device", lambda: genlab.load("x.pt", device="nosuch"), ValueError, "device must be a device"),
    # --- constructors: every setting checked before torch sees it
    ("GAN betas above one", lambda: gan(betas=(0.5, 1.5)), ValueError, r"betas must be Adam's \(beta1, beta2\)"),
    ("GAN hidden beyond memory", lambda: genlab.GAN.mlp(hidden=10**7), ValueError,
     r"GAN.mlp\(hidden=10000000.*GiB for its parameters alone.*choose smaller sizes"),
    ("VAE latent_dim beyond memory", lambda: genlab.VAE.mlp(latent_dim=10**9), ValueError,
     r"VAE.mlp\(latent_dim=1000000000.*GiB"),
    ("VAEGAN data_range with NaN", lambda: genlab.VAEGAN.mlp(data_range=(0, NAN)), ValueError,
     r"data_range must be a pair \(low, high\).*got \(0, nan\)"),
    ("VAEGAN data_range reversed", lambda: genlab.VAEGAN.mlp(data_range=(1, -1)), ValueError, "data_range must be a pair"),
    ("VAEGAN betas above one", lambda: genlab.VAEGAN.mlp(betas=(0.5, 2.0)), ValueError, "betas must be Adam's"),
    ("VAEGAN betas a number", lambda: genlab.VAEGAN.mlp(betas=0.5), ValueError, "betas must be Adam's.*got 0.5"),
    ("VAEGAN channels zero", lambda: genlab.VAEGAN.dcgan((1, 8, 8), channels=(0, 4)), ValueError,
     "channels must be a non-empty sequence of positive integers"),
    ("VAEGAN channels a string", lambda: genlab.VAEGAN.dcgan((1, 8, 8), channels="ab"), ValueError,
     "channels must be a non-empty sequence"),
    ("BiGAN betas negative", lambda: genlab.BiGAN.mlp(betas=(-0.5, 0.9)), ValueError, "betas must be Adam's"),
    ("AAE betas of three", lambda: genlab.AAE.mlp(betas=(0.5, 0.9, 0.9)), ValueError, "betas must be Adam's"),
    # --- NaN through the public methods
    ("SequenceRNN prefix with NaN", lambda: SequenceRNN(1, 5).sample(2, prefix=torch.full((2, 3, 1), NAN)), ValueError,
     "prefix contains NaN"),
    ("SequenceRNN log_prob of NaN", lambda: SequenceRNN(1, 5).log_prob(torch.full((2, 5, 1), NAN)), ValueError,
     "x contains NaN"),
    ("SequenceRNN nll of NaN", lambda: SequenceRNN(1, 5).nll(torch.full((2, 5, 1), NAN)), ValueError, "x contains NaN"),
    ("BiGAN encode of NaN", lambda: genlab.BiGAN.mlp(hidden=8, depth=1).encode(torch.full((2, 2), NAN)), ValueError,
     "x contains NaN"),
    ("AAE encode of the wrong shape", lambda: genlab.AAE.mlp(hidden=8, depth=1).encode(torch.zeros(2, 3)), ValueError,
     r"x must have shape \(B, 2\)"),
    # --- generators that are not generators
    ("GAN sample generator a string", lambda: gan().sample(2, generator="abc"), TypeError,
     "generator must be a torch.Generator"),
    ("VAE sample generator an int", lambda: vae().sample(2, generator=0), TypeError, "generator must be a torch.Generator"),
    ("CharRNN sample generator a string", lambda: CharRNN(VOCAB).sample(2, generator="abc"), TypeError,
     "generator must be a torch.Generator"),
    ("rejection sampling generator a string", lambda: gan().rejection_sample(2, generator="abc"), TypeError,
     "generator must be a torch.Generator"),
    ("BiGAN encode generator a string", lambda: genlab.BiGAN.mlp(hidden=8, depth=1, stochastic_encoder=True)
     .encode(torch.zeros(2, 2), generator="abc"), TypeError, "generator must be a torch.Generator"),
]


@pytest.mark.parametrize("call, error, message", [c[1:] for c in CATALOGUE], ids=[c[0] for c in CATALOGUE])
def test_bad_input_gets_a_clear_error(call, error, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(error, match=message):
        call()


def test_the_catalogue_is_large_and_its_names_unique():
    names = [c[0] for c in CATALOGUE]
    assert len(names) == len(set(names)) and len(names) >= 60


def test_float64_data_is_converted_not_refused():
    model = vae()
    history = fit(model, RING.double())
    assert len(history["loss"]) == 2 and next(model.parameters()).dtype == torch.float32


def test_the_size_check_of_the_constructors_draws_nothing_and_changes_no_model(monkeypatch):
    """Constructors first build the model on the "meta" device to refuse impossible sizes; the
    models they build, and the random stream after them, are exactly those without the check."""
    from genlab.models import base

    def build():
        torch.manual_seed(0)
        models = [genlab.GAN.dcgan((1, 8, 8), latent_dim=4, channels=(8, 4)), genlab.VAEGAN.mlp(hidden=8),
                  genlab.TimeGAN(length=6, features=2, hidden=4), CharRNN(VOCAB, hidden=8)]
        return [m.state_dict() for m in models], torch.randn(3)

    checked, after_checked = build()
    monkeypatch.setattr(base, "_check_model_size", lambda *args: None)
    unchecked, after_unchecked = build()
    assert torch.equal(after_checked, after_unchecked)
    for a, b in zip(checked, unchecked):
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# --- every numeric option of every model constructor, through the shared checks of genlab.checks

SEQUENCES = {"features": 2, "length": 6}
#: (build(**options), {option: kind}) for each model; `kind` names the values the option must refuse
OPTIONS = {
    "GAN": (lambda **kw: genlab.GAN.mlp(**({"hidden": 8, "depth": 1} | kw)),
            {"data_dim": "count1", "latent_dim": "count1", "hidden": "count1", "depth": "count1", "pack": "count1",
             "categories": "count", "classes": "count", "d_steps": "count1", "lr": "positive", "d_lr": "positive",
             "gp_weight": "non-negative", "r1_weight": "non-negative", "ema": "fraction"}),
    "VAE": (lambda **kw: genlab.VAE.mlp(**({"hidden": 8, "depth": 1} | kw)),
            {"data_dim": "count1", "latent_dim": "count1", "hidden": "count1", "depth": "count1", "classes": "count",
             "beta": "non-negative", "kl_warmup": "count", "init_scale": "positive", "lr": "positive"}),
    "VAE.conv": (lambda **kw: genlab.VAE.conv((1, 8, 8), **({"channels": (4,)} | kw)), {"latent_dim": "count1"}),
    "MaskedVAE": (lambda **kw: MaskedVAE.mlp(**({"hidden": 8, "depth": 1} | kw)), {"k": "count1", "beta": "non-negative"}),
    "VAEGAN": (lambda **kw: genlab.VAEGAN.mlp(**({"hidden": 8, "depth": 1} | kw)),
               {"data_dim": "count1", "latent_dim": "count1", "hidden": "count1", "depth": "count1",
                "gamma": "positive", "beta": "non-negative", "lr": "positive"}),
    "AAE": (lambda **kw: genlab.AAE.mlp(**({"hidden": 8, "depth": 1} | kw)),
            {"latent_dim": "count1", "hidden": "count1", "lr": "positive", "discriminator_lr": "positive"}),
    "BiGAN": (lambda **kw: genlab.BiGAN.mlp(**({"hidden": 8, "depth": 1} | kw)),
              {"latent_dim": "count1", "hidden": "count1", "lr": "positive"}),
    "DDPM": (lambda **kw: genlab.DDPM.mlp(**({"hidden": 8, "depth": 1, "timesteps": 10} | kw)),
             {"hidden": "count1", "timesteps": "count2", "time_dim": "count2", "lr": "positive", "ema": "fraction"}),
    "TimeGAN": (lambda **kw: genlab.TimeGAN(**(SEQUENCES | {"hidden": 4} | kw)),
                {"features": "count1", "hidden": "count1", "layers": "count1", "noise_dim": "count1",
                 "generator_updates": "count1", "embedding_steps": "count", "supervised_steps": "count",
                 "gamma": "non-negative", "d_threshold": "non-negative", "lr": "positive"}),
    "VRNN": (lambda **kw: genlab.VRNN(**(SEQUENCES | {"latent_dim": 2, "hidden": 4} | kw)),
             {"features": "count1", "length": "count1", "latent_dim": "count1", "hidden": "count1",
              "kl_warmup": "count", "lr": "positive", "clip_norm": "positive", "min_log_scale": "finite"}),
    "SequenceRNN": (lambda **kw: SequenceRNN(**(SEQUENCES | {"hidden": 4} | kw)),
                    {"features": "count1", "hidden": "count1", "layers": "count1", "components": "count1",
                     "lr": "positive", "clip_norm": "positive", "min_log_scale": "finite", "max_log_scale": "finite"}),
    "SequenceVAE": (lambda **kw: genlab.SequenceVAE(VOCAB, **({"latent_dim": 2, "hidden": 4} | kw)),
                    {"latent_dim": "count1", "hidden": "count1", "kl_warmup": "count", "lr": "positive",
                     "word_dropout": "probability", "free_bits": "non-negative", "clip_norm": "positive"}),
    "CharRNN": (lambda **kw: CharRNN(VOCAB, **({"hidden": 4} | kw)),
                {"embedding_dim": "count1", "hidden": "count1", "layers": "count1", "max_len": "count1",
                 "dropout": "fraction", "lr": "positive", "clip_norm": "positive"}),
    "RecurrentGAN": (lambda **kw: genlab.RecurrentGAN(**(SEQUENCES | {"hidden": 4} | kw)),
                     {"noise_dim": "count1", "hidden": "count1", "layers": "count1", "classes": "count",
                      "lr": "positive", "d_lr": "positive", "clip_norm": "positive"}),
    "RecurrentRegressor": (lambda **kw: RecurrentRegressor(**(SEQUENCES | {"hidden": 4, "cell": "rnn"} | kw)),
                           {"hidden": "count1", "lr": "positive", "clip_norm": "positive",
                            "recurrent_radius": "positive", "truncate": "count1"}),
}
INF, BOOL, TEXT = math.inf, True, "1"
BAD = {  # every kind refuses inf, NaN and True (a bool is not a number) and a number given as text
    "count": [INF, NAN, BOOL, TEXT, 1.5, -1],
    "count1": [INF, NAN, BOOL, TEXT, 1.5, -1, 0],
    "count2": [INF, NAN, BOOL, TEXT, 2.5, -1, 1],
    "positive": [INF, NAN, BOOL, TEXT, -1.0, 0.0],
    "non-negative": [INF, NAN, BOOL, TEXT, -1.0],
    "finite": [INF, -INF, NAN, BOOL, TEXT],
    "fraction": [INF, NAN, BOOL, TEXT, -0.1, 1.0],
    "probability": [INF, NAN, BOOL, TEXT, -0.1, 1.5],
}
BAD_OPTIONS = [(model, option, value) for model, (_, options) in OPTIONS.items()
               for option, kind in options.items() for value in BAD[kind]]


@pytest.mark.parametrize("model, option, value", BAD_OPTIONS,
                         ids=[f"{m} {o}={v!r}" for m, o, v in BAD_OPTIONS])
def test_every_numeric_option_is_checked_alike(model, option, value):
    """One message for every model: "<option> must be <what>, got <value>" (then, for some, what to do)."""
    build, _ = OPTIONS[model]
    with pytest.raises(ValueError, match=rf"^{option}\b.* must be .*got {re.escape(repr(value))}") as caught:
        build(**{option: value})
    assert str(caught.value).startswith(option)


@pytest.mark.parametrize("model", OPTIONS)
def test_the_options_table_builds_each_model_when_the_values_are_good(model):
    build, options = OPTIONS[model]
    assert isinstance(build(), genlab.models.Trainable)
