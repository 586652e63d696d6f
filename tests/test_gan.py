"""GAN losses, gradient penalty, spectral normalisation, DCGAN shapes and the shape probe."""

import math

import pytest
import torch
from torch import nn

import genlab
from genlab import losses
from genlab.nets import MLP, conv_decoder, conv_encoder

REAL = torch.tensor([0.5, 2.0, -1.0])
FAKE = torch.tensor([-2.0, 0.0, 0.5])


def log_sigmoid(x: float) -> float:
    return math.log(1 / (1 + math.exp(-x)))


def test_original_gan_losses_match_the_value_function_by_hand():
    # -V = -mean log D(x) - mean log(1 - D(G(z))), D = sigmoid, written out term by term.
    expected_d = -sum(log_sigmoid(r) for r in REAL.tolist()) / 3 - sum(log_sigmoid(-f) for f in FAKE.tolist()) / 3
    for kind in ("minimax", "non-saturating"):  # both train D the same way
        assert losses.discriminator_loss(REAL, FAKE, kind).item() == pytest.approx(expected_d, rel=1e-6)
    assert losses.generator_loss(FAKE, "minimax").item() == pytest.approx(
        sum(log_sigmoid(-f) for f in FAKE.tolist()) / 3, rel=1e-6)
    assert losses.generator_loss(FAKE, "non-saturating").item() == pytest.approx(
        -sum(log_sigmoid(f) for f in FAKE.tolist()) / 3, rel=1e-6)


def test_hinge_losses_by_hand():
    # max(0, 1 - [0.5, 2, -1]) = [0.5, 0, 2]; max(0, 1 + [-2, 0, 0.5]) = [0, 1, 1.5]
    assert losses.discriminator_loss(REAL, FAKE, "hinge").item() == pytest.approx(2.5 / 3 + 2.5 / 3)
    assert losses.generator_loss(FAKE, "hinge").item() == pytest.approx(0.5)  # -mean([-2, 0, 0.5])


def test_wasserstein_losses_by_hand():
    # critic loss: mean D(fake) - mean D(real) = -0.5 - 0.5
    assert losses.discriminator_loss(REAL, FAKE, "wgan-gp").item() == pytest.approx(-1.0)
    assert losses.generator_loss(FAKE, "wgan-gp").item() == pytest.approx(0.5)


def test_unknown_loss_is_refused_everywhere():
    with pytest.raises(ValueError, match="unknown GAN loss 'wgan'"):
        losses.discriminator_loss(REAL, FAKE, "wgan")
    with pytest.raises(ValueError, match="unknown GAN loss"):
        losses.generator_loss(FAKE, "lsgan")
    with pytest.raises(ValueError, match="unknown GAN loss"):
        genlab.GAN.dcgan(loss="hinge-ish")


def linear_critic(dim: int, norm: float) -> nn.Linear:
    torch.manual_seed(0)
    critic = nn.Linear(dim, 1)
    with torch.no_grad():
        critic.weight.mul_(norm / critic.weight.norm())
    return critic


def test_gradient_penalty_vanishes_for_a_unit_norm_linear_critic():
    real, fake = torch.randn(32, 5), torch.randn(32, 5) + 3
    # f(x) = w·x + b with |w| = 1 has gradient norm 1 everywhere.
    assert losses.gradient_penalty(linear_critic(5, 1.0), real, fake).item() == pytest.approx(0, abs=1e-10)
    # |w| = 2.5: gradient norm 2.5 everywhere, penalty (2.5 - 1)^2.
    assert losses.gradient_penalty(linear_critic(5, 2.5), real, fake).item() == pytest.approx(2.25, rel=1e-5)


def test_gradient_penalty_norm_is_per_sample_over_all_image_dimensions():
    real, fake = torch.randn(8, 1, 4, 4), torch.randn(8, 1, 4, 4)
    unit = nn.Sequential(nn.Flatten(), linear_critic(16, 1.0))
    assert losses.gradient_penalty(unit, real, fake).item() == pytest.approx(0, abs=1e-10)
    # f(x) = |x|^2 / 2 has gradient x: the penalty is mean (|x_hat| - 1)^2 on the interpolates.
    square = lambda x: 0.5 * x.pow(2).flatten(1).sum(1)  # noqa: E731
    gp = losses.gradient_penalty(square, real, fake, generator=torch.Generator().manual_seed(3))
    eps = torch.rand(8, 1, 1, 1, generator=torch.Generator().manual_seed(3))
    x_hat = eps * real + (1 - eps) * fake
    expected = (x_hat.flatten(1).norm(dim=1) - 1).pow(2).mean()
    assert gp.item() == pytest.approx(expected.item(), rel=1e-5)
    assert gp.item() > 0.1


def test_gradient_penalty_trains_the_critic_and_checks_shapes():
    critic = linear_critic(3, 2.0)
    losses.gradient_penalty(critic, torch.randn(4, 3), torch.randn(4, 3)).backward()
    assert critic.weight.grad is not None and critic.weight.grad.norm() > 0  # second-order graph kept
    with pytest.raises(ValueError, match="same shape"):
        losses.gradient_penalty(critic, torch.randn(4, 3), torch.randn(5, 3))


def largest_singular_values(module: nn.Module) -> list[float]:
    out = []
    for layer in module.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d)):
            out.append(torch.linalg.matrix_norm(layer.weight.detach().flatten(1), ord=2).item())
    return out


@pytest.mark.statistical
@pytest.mark.parametrize("make", [
    lambda sn: genlab.GAN.mlp(data_dim=2, hidden=32, spectral_norm=sn),
    lambda sn: genlab.GAN.dcgan((1, 8, 8), channels=(16, 8), spectral_norm=sn),
])
def test_spectral_norm_keeps_the_largest_singular_value_at_one(make, seed):
    torch.manual_seed(seed)
    plain, normed = make(False), make(True)
    x = torch.randn(16, *normed.data_shape)
    for _ in range(100):  # each training-mode forward refines the power-iteration estimate
        normed.discriminator(x)
    sigmas = largest_singular_values(normed.discriminator)
    # seeds 0–9, 1 thread: largest |σ − 1| 4e-5 (MLP; up to 0.011 after only 30 forwards) and 2e-7 (DCGAN);
    # without spectral normalisation some |σ − 1| is at least 0.36
    assert len(sigmas) >= 3 and all(abs(s - 1) < 0.02 for s in sigmas), sigmas
    assert not all(abs(s - 1) < 0.02 for s in largest_singular_values(plain.discriminator))


@pytest.mark.statistical
def test_spectrally_normalised_mlp_discriminator_is_1_lipschitz(seed):
    torch.manual_seed(seed)
    d = MLP(2, 1, 64, 3, activation=lambda: nn.LeakyReLU(0.2), spectral_norm=True)
    for _ in range(30):
        d(torch.randn(64, 2))
    d.eval()
    x, y = torch.randn(500, 2) * 3, torch.randn(500, 2) * 3
    with torch.no_grad():
        ratio = (d(x) - d(y)).abs().squeeze(1) / (x - y).norm(dim=1)
    # seeds 0–9, 1 thread: largest ratio 0.015–0.045 (the product of the layers' norms is a loose bound)
    assert ratio.max() <= 1.01


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28), (3, 8, 8), (3, 32, 32)])
def test_dcgan_shapes_and_one_update(shape):
    torch.manual_seed(0)
    gan = genlab.GAN.dcgan(shape, latent_dim=8, channels=(16, 8))
    x = gan.sample(5, generator=torch.Generator().manual_seed(0))
    assert x.shape == (5, *shape)
    assert x.min() >= -1 and x.max() <= 1  # Tanh output, like data scaled to [-1, 1]
    assert gan.logits(x).shape == (5,)
    before = [p.detach().clone() for p in gan.parameters()]
    out = gan.train_step(torch.rand(6, *shape) * 2 - 1, gan.configure_optimizers(), 0)
    assert set(out) == {"d_loss", "g_loss"} and all(math.isfinite(v) for v in out.values())
    assert all(not torch.equal(a, b) for a, b in zip(before, gan.parameters()))


def test_dcgan_refuses_impossible_image_shapes():
    with pytest.raises(ValueError, match="multiples of 4"):
        genlab.GAN.dcgan((1, 10, 10))
    with pytest.raises(ValueError, match="channels, height, width"):
        genlab.GAN.dcgan((8, 8))


def test_generator_discriminator_shape_mismatch_names_both_shapes():
    # The generator makes 3×32×32 images while the data and discriminator are 1×28×28.
    g = conv_decoder(16, (3, 32, 32), (16, 8), out_activation=nn.Tanh())
    d = conv_encoder((1, 28, 28), 1, (8, 16))
    with pytest.raises(ValueError, match=r"generator makes samples of shape \(3, 32, 32\).*\(1, 28, 28\)"):
        genlab.GAN(g, d, latent_dim=16, data_shape=(1, 28, 28))
    # Generator and data agree, but the discriminator was built for another size.
    g28 = conv_decoder(16, (1, 28, 28), (16, 8), out_activation=nn.Tanh())
    with pytest.raises(ValueError, match=r"discriminator cannot take samples of shape \(1, 28, 28\)"):
        genlab.GAN(g28, conv_encoder((1, 32, 32), 1, (8, 16)), latent_dim=16, data_shape=(1, 28, 28))
    with pytest.raises(ValueError, match="generator cannot take noise of shape"):
        genlab.GAN(g28, conv_encoder((1, 28, 28), 1, (8, 16)), latent_dim=7, data_shape=(1, 28, 28))
    with pytest.raises(ValueError, match="one score per sample"):
        genlab.GAN(MLP(2, 2), MLP(2, 3), latent_dim=2, data_shape=(2,))


def test_shape_probe_has_no_side_effects():
    torch.manual_seed(0)
    g = conv_decoder(8, (1, 8, 8), (16, 8), out_activation=nn.Tanh())
    d = conv_encoder((1, 8, 8), 1, (8, 16))
    stats = [b.clone() for b in g.buffers()]
    rng = torch.get_rng_state()
    gan = genlab.GAN(g, d, latent_dim=8, data_shape=(1, 8, 8))
    assert torch.equal(rng, torch.get_rng_state())
    assert all(torch.equal(a, b) for a, b in zip(stats, g.buffers()))
    assert gan.generator.training and gan.discriminator.training


def test_bad_gan_settings():
    with pytest.raises(ValueError, match="d_steps"):
        genlab.GAN.mlp(d_steps=0)
    with pytest.raises(ValueError, match="gp_weight"):
        genlab.GAN.mlp(loss="wgan-gp", gp_weight=-1.0)
    with pytest.raises(ValueError, match="latent_dim"):
        genlab.GAN(MLP(2, 2), MLP(2, 1), latent_dim=0, data_shape=(2,))


def test_d_steps_updates_the_critic_on_fresh_noise_each_time():
    torch.manual_seed(0)
    gan = genlab.GAN.mlp(hidden=16, depth=2, loss="wgan-gp", d_steps=3)
    noises = []
    prior = gan.prior
    gan.prior = lambda n, generator=None, labels=None: noises.append(prior(n, generator, labels)) or noises[-1]
    optimizers = gan.configure_optimizers()
    opt_d, opt_g = optimizers["discriminator"], optimizers["generator"]
    out = gan.train_step(torch.randn(32, 2), optimizers, 0)
    assert len(noises) == 3 and not torch.equal(noises[0], noises[1]) and not torch.equal(noises[1], noises[2])
    d_param = next(gan.discriminator.parameters())
    g_param = next(gan.generator.parameters())
    assert opt_d.state[d_param]["step"].item() == 3
    assert opt_g.state[g_param]["step"].item() == 1
    assert set(out) == {"d_loss", "gp", "g_loss"} and out["gp"] >= 0


@pytest.mark.parametrize("loss", ["minimax", "non-saturating", "hinge", "wgan-gp"])
def test_each_loss_updates_every_parameter(loss, ring_data):
    torch.manual_seed(0)
    gan = genlab.GAN.mlp(hidden=16, depth=2, loss=loss)
    # The critic's output bias is left out: the hinge (inside its margin) and Wasserstein losses
    # are differences of means, so adding a constant to every score changes neither.
    params = {n: p for n, p in gan.named_parameters() if n != "discriminator.4.bias"}
    before = {n: p.detach().clone() for n, p in params.items()}
    out = gan.train_step(ring_data[:64], gan.configure_optimizers(), 0)
    assert all(math.isfinite(v) for v in out.values())
    assert all(not torch.equal(before[n], p) for n, p in params.items())


def test_r1_penalty_by_hand():
    # A linear critic w·x + b has gradient w at every x: the penalty is ||w||² whatever the data.
    critic = linear_critic(3, norm=2.0)
    x = torch.randn(5, 3)
    assert losses.r1_penalty(critic, x).item() == pytest.approx(4.0, rel=1e-5)
    # D(x) = Σ x² has gradient 2x, so the penalty is the mean of 4 ||x||² over the batch.
    quadratic = lambda x: x.pow(2).flatten(1).sum(1)  # noqa: E731
    images = torch.randn(4, 1, 2, 2)
    expected = (4 * images.flatten(1).pow(2).sum(1)).mean().item()
    assert losses.r1_penalty(quadratic, images).item() == pytest.approx(expected, rel=1e-5)


def test_r1_penalty_reaches_the_critic_weights_and_not_the_data():
    torch.manual_seed(0)
    critic = MLP(2, 1, 8, 2)
    x = torch.randn(16, 2, requires_grad=True)
    losses.r1_penalty(critic, x).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in critic.parameters() if p.dim() > 1)
    assert x.grad is None  # the real batch is detached: nothing flows back to whatever made it


@pytest.mark.parametrize("classes", [0, 3])
def test_r1_weight_adds_half_gamma_times_the_penalty_to_the_discriminator_loss(classes):
    data = torch.randn(32, 2)
    batch = (data, torch.arange(32) % 3) if classes else data
    out = {}
    for gamma in (0.0, 10.0):
        torch.manual_seed(0)
        gan = genlab.GAN.mlp(hidden=16, depth=2, r1_weight=gamma, classes=classes)
        torch.manual_seed(1)  # the same noise for both
        out[gamma] = gan.train_step(batch, gan.configure_optimizers(), 0)
    assert "r1" not in out[0.0] and out[10.0]["r1"] > 0
    assert out[10.0]["d_loss"].item() == pytest.approx(out[0.0]["d_loss"].item() + 5 * out[10.0]["r1"].item(), rel=1e-5)


def test_two_time_scales_give_the_discriminator_its_own_learning_rate():
    gan = genlab.GAN.mlp(hidden=8, depth=2, lr=1e-4, d_lr=4e-4)
    optimizers = gan.configure_optimizers()
    assert optimizers["generator"].param_groups[0]["lr"] == 1e-4
    assert optimizers["discriminator"].param_groups[0]["lr"] == 4e-4
    same = genlab.GAN.mlp(hidden=8, depth=2, lr=3e-4).configure_optimizers()
    assert same["discriminator"].param_groups[0]["lr"] == same["generator"].param_groups[0]["lr"] == 3e-4


def test_stabiliser_settings_are_checked_and_saved(tmp_path):
    from genlab.checkpoint import save_checkpoint

    with pytest.raises(ValueError, match="d_lr"):
        genlab.GAN.mlp(d_lr=0.0)
    with pytest.raises(ValueError, match="r1_weight must be a finite number ≥ 0"):
        genlab.GAN.mlp(r1_weight=-1.0)
    gan = genlab.GAN.mlp(hidden=8, depth=2, d_lr=4e-4, r1_weight=10.0)
    path = tmp_path / "gan.pt"
    save_checkpoint(path, gan, gan.configure_optimizers(), step=0)
    loaded = genlab.load(path)
    assert (loaded.d_lr, loaded.r1_weight) == (4e-4, 10.0)
