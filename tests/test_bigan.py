"""BiGAN / ALI: the discriminator judges (x, z) pairs, the encoder learns through it, samples cover the ring."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import genlab
from genlab import losses
from genlab.metrics import mmd, mode_coverage
from genlab.models.bigan import PairDiscriminator


def small(**kwargs) -> genlab.BiGAN:
    torch.manual_seed(0)
    return genlab.BiGAN.mlp(hidden=16, depth=2, **kwargs)


def small_conv(**kwargs) -> genlab.BiGAN:
    torch.manual_seed(0)
    return genlab.BiGAN.conv((1, 8, 8), latent_dim=8, channels=(8, 4), hidden=16, **kwargs)


def data_for(model: genlab.BiGAN, n: int = 32) -> torch.Tensor:
    if model.data_shape == (2,):
        return genlab.data.ring().sample(n, seed=0)
    return genlab.data.digits((-1, 1)).tensors[0][:n]


MAKERS = {
    "mlp": lambda: small(),
    "mlp stochastic": lambda: small(stochastic_encoder=True),
    "conv": lambda: small_conv(),
    "conv stochastic": lambda: small_conv(stochastic_encoder=True),
}


class PairRecorder(nn.Module):
    """Wraps a pair discriminator and remembers the shapes of the (x, z) pairs it is given."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net
        self.seen: list[tuple[tuple[int, ...], tuple[int, ...]]] = []

    def forward(self, x, z):
        self.seen.append((tuple(x.shape), tuple(z.shape)))
        return self.net(x, z)


# --- shapes and the protocol -------------------------------------------------------------------


@pytest.mark.parametrize("name", MAKERS)
def test_shapes(name):
    model = MAKERS[name]()
    x = data_for(model, 5)
    mu, logvar = model.posterior(x)
    assert mu.shape == (5, model.latent_dim)
    assert (logvar is not None) == model.stochastic_encoder
    assert model.encode(x).shape == (5, model.latent_dim)
    assert model.reconstruct(x).shape == x.shape
    assert model.sample(6).shape == (6, *model.data_shape)
    assert model.logits(x, model.encode(x)).shape == (5,)


def test_conv_outputs_lie_in_minus_one_one():
    model = small_conv()
    x = data_for(model, 6)
    for out in (model.sample(6), model.reconstruct(x)):
        assert out.min() >= -1 and out.max() <= 1  # Tanh, like data scaled to [-1, 1]


def test_stochastic_encoder_draws_and_reconstructs_from_the_mean():
    model = small(stochastic_encoder=True)
    x = data_for(model, 5)
    g = lambda s: torch.Generator().manual_seed(s)
    a, b = model.encode(x, generator=g(0)), model.encode(x, generator=g(1))
    assert not torch.equal(a, b)  # a draw from q(z|x), not a point
    assert torch.equal(a, model.encode(x, generator=g(0)))
    mu, _ = model.posterior(x)
    with torch.no_grad(), model.evaluating():
        assert torch.equal(model.reconstruct(x), model.generator(mu))


def test_generator_optimizer_owns_generator_and_encoder():
    model = small()
    opts = model.configure_optimizers()
    assert set(opts) == {"discriminator", "generator"}
    owned = {name: {id(p) for g in opt.param_groups for p in g["params"]} for name, opt in opts.items()}
    assert owned["generator"] == {id(p) for p in [*model.generator.parameters(), *model.encoder.parameters()]}
    assert owned["discriminator"] == {id(p) for p in model.discriminator.parameters()}


@pytest.mark.parametrize("name", MAKERS)
def test_train_step_losses_are_finite_and_detached(name):
    model = MAKERS[name]()
    out = model.train_step(data_for(model), model.configure_optimizers(), 0)
    assert set(out) == {"d_loss", "g_loss"}
    for key, value in out.items():
        assert value.dim() == 0 and not value.requires_grad and math.isfinite(value.item()), key


# --- the discriminator reads pairs ------------------------------------------------------------------


@pytest.mark.parametrize("name", MAKERS)
def test_discriminator_reads_pairs_of_data_and_code(name):
    model = MAKERS[name]()
    model.discriminator = PairRecorder(model.discriminator)
    model.train_step(data_for(model), model.configure_optimizers(), 0)
    pair = ((32, *model.data_shape), (32, model.latent_dim))
    # real and fake pairs for D's step, then both again for the generator's step
    assert model.discriminator.seen == [pair] * 4


@pytest.mark.parametrize("name", ["mlp", "conv"])
def test_discriminator_judges_the_code_as_well_as_the_sample(name):
    model = MAKERS[name]()
    x = data_for(model, 8)
    z = torch.randn(8, model.latent_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        base = model.logits(x, z)
        assert not torch.allclose(base, model.logits(x, z + 1))  # another code, another score
        assert not torch.allclose(base, model.logits(torch.flip(x, [0]), z))  # another sample, another score
    if name == "mlp":
        assert model.discriminator.joint[0].in_features == 2 + model.latent_dim  # [x, z] side by side
    else:
        assert isinstance(model.discriminator, PairDiscriminator)


# --- the encoder learns through the pair discriminator -----------------------------------------------


class DetachedEncoderBiGAN(genlab.BiGAN):
    """The pitfall: E(x) detached in the generator step, so the encoder never receives a gradient."""

    def train_step(self, batch, optimizers, step):
        x = self.inputs(batch)
        z = self.prior(x.shape[0])
        z_hat, x_hat = self.encode(x), self.generator(z)
        d_loss = losses.discriminator_loss(self.logits(x, z_hat.detach()), self.logits(x_hat.detach(), z))
        self.optimizer_step(optimizers["discriminator"], d_loss)
        g_loss = losses.generator_loss(self.logits(x_hat, z)) + losses.generator_loss(-self.logits(x, z_hat.detach()))
        self.optimizer_step(optimizers["generator"], g_loss)
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}


def encoder_gradients(model: genlab.BiGAN) -> list[float]:
    """The gradient norm of every encoder parameter after the last step (0 for none)."""
    return [float(p.grad.norm()) if p.grad is not None else 0.0 for p in model.encoder.parameters()]


@pytest.mark.parametrize("name", MAKERS)
def test_encoder_receives_a_gradient_in_the_generator_step(name):
    model = MAKERS[name]()
    opts = model.configure_optimizers()
    before = [p.detach().clone() for p in model.encoder.parameters()]
    model.train_step(data_for(model), opts, 0)
    # update() zeroes each optimizer's gradients before its step: what is left is the generator step's
    assert all(g > 0 for g in encoder_gradients(model))
    assert all(not torch.equal(a, p) for a, p in zip(before, model.encoder.parameters()))


def test_the_detached_encoder_pitfall_leaves_the_encoder_untrained():
    torch.manual_seed(0)
    model = DetachedEncoderBiGAN.mlp(hidden=16, depth=2)
    before = [p.detach().clone() for p in model.encoder.parameters()]
    model.train_step(data_for(model), model.configure_optimizers(), 0)
    assert all(g == 0 for g in encoder_gradients(model))
    assert all(torch.equal(a, p) for a, p in zip(before, model.encoder.parameters()))


def test_generator_step_gradient_reaches_the_encoder_through_the_real_pairs_only():
    """∂/∂E of −log(1 − D(x, E(x))) is what trains E; the fake pairs' term does not depend on E."""
    model = small()
    x = data_for(model)
    z = model.prior(32, torch.Generator().manual_seed(0))
    params = list(model.encoder.parameters())
    fake_term = losses.generator_loss(model.logits(model.generator(z), z))
    real_term = losses.generator_loss(-model.logits(x, model.encode(x)))
    assert all(g is None for g in torch.autograd.grad(fake_term, params, allow_unused=True))
    assert all(g.abs().sum() > 0 for g in torch.autograd.grad(real_term, params))


# --- arguments and data it must refuse -------------------------------------------------------------


@pytest.mark.parametrize("kwargs, match", [
    (dict(latent_dim=0), "latent_dim must be a positive integer"),
    (dict(hidden=-3), "hidden must be a positive integer"),
    (dict(depth=1.5), "depth must be a positive integer"),
    (dict(lr=-1e-3), "lr must be a finite number > 0"),
    (dict(lr=math.nan), "lr must be a finite number > 0"),
    (dict(stochastic_encoder=1), "stochastic_encoder must be True or False"),
    (dict(value_range=(0, 2)), "value_range"),
])
def test_bad_arguments_are_refused_by_name(kwargs, match):
    with pytest.raises(ValueError, match=match):
        genlab.BiGAN.mlp(**kwargs)


def test_custom_networks_of_the_wrong_shape_are_refused():
    mlp = genlab.nets.MLP
    pair = lambda: PairDiscriminator(nn.Identity(), nn.Identity(), mlp(4, 1, 8, 1))
    with pytest.raises(ValueError, match=r"generator makes samples of shape \(3,\)"):
        genlab.BiGAN(mlp(2, 3, 8, 1), mlp(2, 2, 8, 1), pair(), latent_dim=2, data_shape=(2,))
    with pytest.raises(ValueError, match="encoder must output 4 numbers"):
        genlab.BiGAN(mlp(2, 2, 8, 1), mlp(2, 2, 8, 1), pair(), latent_dim=2, data_shape=(2,), stochastic_encoder=True)
    with pytest.raises(ValueError, match=r"discriminator cannot take pairs \(x, z\)"):
        genlab.BiGAN(mlp(2, 2, 8, 1), mlp(2, 2, 8, 1), mlp(4, 1, 8, 1), latent_dim=2, data_shape=(2,))


def test_conv_bigan_refuses_data_outside_minus_one_one():
    model = small_conv()
    images = genlab.data.digits((0, 1)).tensors[0][:64] * 2
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(ValueError, match=r"must lie in \[-1, 1\], the range of the generator's output"):
        genlab.fit(model, images, steps=1, batch_size=16, device="cpu")
    assert all(torch.equal(a, p) for a, p in zip(before, model.parameters()))
    with pytest.raises(ValueError, match=r"x must lie in \[-1, 1\]"):
        model.reconstruct(images[:2])
    genlab.fit(small(), genlab.data.ring().sample(64, seed=0) * 5, steps=1, batch_size=16, device="cpu")  # unbounded


# --- training on the ring ----------------------------------------------------------------------------


@pytest.mark.statistical
def test_training_on_the_ring_covers_several_modes(seed):
    ring = genlab.data.ring()
    x = ring.sample(2048, seed=seed)
    torch.manual_seed(seed)
    model = genlab.BiGAN.mlp(hidden=128, depth=2, lr=1e-3)
    g = lambda: torch.Generator().manual_seed(seed)
    before = model.sample(2000, generator=g())
    genlab.fit(model, x, steps=2000, batch_size=128, device="cpu", seed=seed)
    after = model.sample(2000, generator=g())
    # modes hit within 10 std (0.1; neighbouring modes are 0.77 apart) of their centre
    modes_before = mode_coverage(before, ring, threshold=10).modes
    modes_after = mode_coverage(after, ring, threshold=10).modes
    # seeds 0–9, 1 thread: 0 modes before training, 5–8 of 8 after; MMD² to the data 0.265–0.390
    # before, 0.0051–0.025 after
    assert modes_before == 0
    assert modes_after >= 3
    assert mmd(after, x) < 0.08
