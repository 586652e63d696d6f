"""The source article's GAN code errors, each reproduced in a few lines and then fixed with genlab."""

import pytest
import torch
from torch import nn

import genlab
from genlab import losses
from genlab.nets import MLP, conv_decoder, conv_encoder


def test_pitfall_image_shape_mismatch():
    # Generator makes 3×32×32 images, discriminator is built for 1×28×28 ones.
    torch.manual_seed(0)
    g = conv_decoder(16, (3, 32, 32), (16, 8), out_activation=nn.Tanh())
    d = conv_encoder((1, 28, 28), 1, (8, 16))
    with pytest.raises(RuntimeError):  # unchecked: a cryptic matrix-size error deep inside D
        d(g(torch.randn(4, 16)))
    with pytest.raises(ValueError, match=r"\(3, 32, 32\).*\(1, 28, 28\)"):  # genlab names both shapes
        genlab.GAN(g, d, latent_dim=16, data_shape=(1, 28, 28))
    # The fix: build both networks from the one data shape.
    gan = genlab.GAN.dcgan((1, 28, 28), latent_dim=16, channels=(16, 8))
    assert gan.sample(2).shape == (2, 1, 28, 28) and gan.logits(gan.sample(2)).shape == (2,)


def train_discriminator(loss_fn, seed: int, steps: int = 200) -> tuple[float, float]:
    """Train a small D to tell N(2, 0.5²) 'real' from N(-2, 0.5²) 'fake'; return mean D on each.

    `seed` draws the initial weights and both data sets.
    """
    torch.manual_seed(seed)
    d = MLP(1, 1, 16, 2)
    opt = torch.optim.Adam(d.parameters(), lr=1e-2)
    real, fake = 2 + 0.5 * torch.randn(256, 1), -2 + 0.5 * torch.randn(256, 1)
    for _ in range(steps):
        loss = loss_fn(d(real).squeeze(1), d(fake).squeeze(1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return torch.sigmoid(d(real)).mean().item(), torch.sigmoid(d(fake)).mean().item()


@pytest.mark.statistical
def test_pitfall_discriminator_loss_with_the_wrong_sign(seed):
    # Minimising V = E[log D(x)] + E[log(1 - D(G(z)))] itself, instead of -V, teaches D the
    # opposite of its job; V has no lower bound, so the "loss" only keeps falling.
    def wrong(real_logits, fake_logits):
        return -losses.discriminator_loss(real_logits, fake_logits)  # = V, written stably

    d_real, d_fake = train_discriminator(wrong, seed)
    # seeds 0–9, 1 thread: D(real) ≤ 0.004 and D(fake) = 1.0 with the wrong sign; 0.9996–0.9999 and
    # 0.00005–0.0007 with the right one
    assert d_real < 0.05 and d_fake > 0.95, "D calls the real data fake and the fakes real"
    d_real, d_fake = train_discriminator(losses.discriminator_loss, seed)  # the fix: minimise -V
    assert d_real > 0.95 and d_fake < 0.05


def test_pitfall_generator_loss_times_zero_labels_has_zero_gradient():
    torch.manual_seed(0)
    gan = genlab.GAN.mlp(hidden=16, depth=2)
    fake_logits = gan.logits(gan.generator(gan.prior(64)))
    labels = torch.zeros(64)  # the "generated" labels
    wrong = (torch.log(torch.sigmoid(fake_logits)) * labels).mean()
    wrong.backward()
    norm = torch.sqrt(sum(p.grad.pow(2).sum() for p in gan.generator.parameters()))
    assert norm.item() == 0.0, "G never learns: its loss is identically zero"
    gan.zero_grad()
    losses.generator_loss(gan.logits(gan.generator(gan.prior(64)))).backward()  # the fix
    norm = torch.sqrt(sum(p.grad.pow(2).sum() for p in gan.generator.parameters()))
    assert norm.item() > 1e-3


def test_pitfall_minimax_generator_loss_saturates():
    # When D confidently rejects the fakes (D(G(z)) = 1e-3), the minimax gradient w.r.t. the
    # logit is D(G(z)) ≈ 1e-3 while the non-saturating one is 1 - D(G(z)) ≈ 1.
    logit = torch.full((1,), torch.logit(torch.tensor(1e-3)).item(), requires_grad=True)
    grads = {}
    for kind in ("minimax", "non-saturating"):
        logit.grad = None
        losses.generator_loss(logit, kind).backward()
        grads[kind] = logit.grad.abs().item()
    assert grads["minimax"] == pytest.approx(1e-3, rel=1e-3)
    assert grads["non-saturating"] == pytest.approx(1 - 1e-3, rel=1e-3)
