"""C-RNN-GAN and RCGAN (genlab.models.recurrent_gan): what each network may read, and each loss."""

import pytest
import torch

import genlab
from genlab import losses
from genlab.models.recurrent_gan import RecurrentGAN
from helpers import gradient_norms_at_each_step


def test_the_crnngan_discriminator_reads_both_ways_and_the_rcgan_one_forward_only():
    torch.manual_seed(0)
    x = torch.rand(2, 10, 3)
    y = x.clone()
    y[:, 6] += 1.0  # change step 7 only
    for model, sees_the_future in ((RecurrentGAN.crnngan(3, 10, hidden=8), True), (RecurrentGAN.rcgan(3, 10, hidden=8), False)):
        with torch.no_grad():
            (a, _), (b, _) = model.discriminate(x), model.discriminate(y)
        assert a.shape == (2, 10)  # one verdict per step
        assert not torch.allclose(a[:, 6:], b[:, 6:])
        assert torch.allclose(a[:, :6], b[:, :6]) != sees_the_future  # earlier steps see step 7 only both ways


def test_feed_previous_makes_each_output_depend_on_the_last():
    torch.manual_seed(0)
    model = RecurrentGAN.crnngan(2, 6, hidden=8)
    z = model.noise(3)
    out = model.generate(z)
    # output 4 reaches output 5 twice: through the state and as the next input
    (by_output,) = torch.autograd.grad(out[:, 4].sum(), model.g_rnn.weight_ih_l0, retain_graph=True)
    assert model.g_rnn.input_size == model.noise_dim + model.features
    assert by_output.abs().sum() > 0
    plain = RecurrentGAN.rcgan(2, 6, hidden=8)
    assert plain.g_rnn.input_size == plain.noise_dim


def test_feature_matching_loss_by_hand():
    torch.manual_seed(0)
    model = RecurrentGAN.crnngan(2, 5, hidden=8, feature_matching=True)
    x = torch.rand(16, 5, 2)
    optimizers = model.configure_optimizers()
    optimizers["discriminator"].step = lambda *a, **k: None  # freeze D so the loss can be recomputed
    optimizers["generator"].step = lambda *a, **k: None  # and G
    torch.manual_seed(3)
    out = model.train_step(x, optimizers, 0)
    torch.manual_seed(3)
    with torch.no_grad():
        fake = model.generate(model.noise(16))
        (_, f_real), (_, f_fake) = model.discriminate(x), model.discriminate(fake)
    expected = (f_real.mean(0) - f_fake.mean(0)).pow(2).sum(-1).mean()
    assert out["g_loss"].item() == pytest.approx(expected.item(), rel=1e-5)


def test_gan_losses_by_hand():
    torch.manual_seed(0)
    model = RecurrentGAN.rcgan(2, 5, hidden=8)
    x = torch.rand(16, 5, 2)
    optimizers = model.configure_optimizers()
    for opt in optimizers.values():
        opt.step = lambda *a, **k: None
    torch.manual_seed(3)
    out = model.train_step(x, optimizers, 0)
    torch.manual_seed(3)
    with torch.no_grad():
        fake = model.generate(model.noise(16))
        (real_logits, _), (fake_logits, _) = model.discriminate(x), model.discriminate(fake)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    d_expected = bce(real_logits, torch.ones_like(real_logits)) + bce(fake_logits, torch.zeros_like(fake_logits))
    g_expected = bce(fake_logits, torch.ones_like(fake_logits))  # non-saturating: −log D_t(G(z)) at every step
    assert out["d_loss"].item() == pytest.approx(d_expected.item(), rel=1e-5)
    assert out["g_loss"].item() == pytest.approx(g_expected.item(), rel=1e-5)
    assert d_expected.item() == pytest.approx(losses.discriminator_loss(real_logits.flatten(), fake_logits.flatten()).item())


def test_rcgan_reads_the_condition_in_both_networks():
    torch.manual_seed(0)
    model = RecurrentGAN.rcgan(3, 6, classes=4, hidden=8)
    z = model.noise(2)
    zeros, ones = torch.zeros(2, dtype=torch.long), torch.ones(2, dtype=torch.long)
    with torch.no_grad():
        assert not torch.allclose(model.generate(z, zeros), model.generate(z, ones))
        x = torch.rand(2, 6, 3)
        assert not torch.allclose(model.discriminate(x, zeros)[0], model.discriminate(x, ones)[0])
    samples = model.sample(4, condition=torch.tensor([0, 1, 2, 3]), generator=torch.Generator().manual_seed(0))
    assert samples.shape == (4, 6, 3)


def test_clipping_acts_before_each_step():
    """Clipping after optimizer.step() — a reported mistake — has no effect; here each step sees clipped gradients."""
    torch.manual_seed(0)
    model = RecurrentGAN.rcgan(2, 5, hidden=8, clip_norm=1e-3)
    optimizers = model.configure_optimizers()
    norms = gradient_norms_at_each_step(optimizers)
    model.train_step(torch.rand(16, 5, 2), optimizers, 0)
    assert len(norms) == 2 and max(norms) <= 1e-3 * (1 + 1e-4)


def test_bounded_outputs_and_bad_arguments():
    model = RecurrentGAN.crnngan(2, 5, hidden=8, output="sigmoid")
    samples = model.sample(32, generator=torch.Generator().manual_seed(0))
    assert samples.min() >= 0 and samples.max() <= 1
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\].*output='linear'"):
        genlab.fit(model, torch.rand(16, 5, 2) * 3, steps=1, batch_size=8)
    with pytest.raises(ValueError, match="noise must be 'step'.*got 'once'"):
        RecurrentGAN(2, 5, noise="once")
    with pytest.raises(ValueError, match="unknown output"):
        RecurrentGAN(2, 5, output="relu")
    with pytest.raises(ValueError, match="unknown cell"):
        RecurrentGAN(2, 5, cell="transformer")
    with pytest.raises(ValueError, match="noise_dim must be"):
        RecurrentGAN(2, 5, noise_dim=0)
    with pytest.raises(ValueError, match="d_lr"):
        RecurrentGAN(2, 5, d_lr=0)
    with pytest.raises(ValueError, match="conditional: pass fit the data as"):
        genlab.fit(RecurrentGAN.rcgan(2, 5, classes=3), torch.rand(16, 5, 2), steps=1, batch_size=8)


def test_two_time_scales():
    optimizers = RecurrentGAN.rcgan(2, 5, hidden=8, lr=1e-4, d_lr=4e-4).configure_optimizers()
    assert optimizers["generator"].param_groups[0]["lr"] == 1e-4
    assert optimizers["discriminator"].param_groups[0]["lr"] == 4e-4
    same = RecurrentGAN.rcgan(2, 5, hidden=8, lr=3e-4).configure_optimizers()
    assert same["generator"].param_groups[0]["lr"] == same["discriminator"].param_groups[0]["lr"] == 3e-4


def test_sequence_noise_is_one_draw_per_sequence_fed_at_every_step():
    model = RecurrentGAN.rcgan(2, 6, hidden=8, noise="sequence")
    z = model.noise(4, generator=torch.Generator().manual_seed(0))
    assert z.shape == (4, 6, model.noise_dim)
    assert torch.equal(z, z[:, :1].expand_as(z)) and not torch.equal(z[0], z[1])  # constant in time, not across sequences
    step = RecurrentGAN.rcgan(2, 6, hidden=8).noise(4, generator=torch.Generator().manual_seed(0))
    assert not torch.equal(step[:, 0], step[:, 1])  # the papers' noise: fresh at every step
    samples = model.sample(4, generator=torch.Generator().manual_seed(1))
    assert samples.shape == (4, 6, 2) and torch.equal(samples, model.sample(4, generator=torch.Generator().manual_seed(1)))
