"""VAE-GAN (Larsen et al., 2016): three players, three losses from one forward pass."""

from __future__ import annotations

import copy

import pytest
import torch

import genlab


def small(seed: int = 0) -> genlab.VAEGAN:
    torch.manual_seed(seed)
    return genlab.VAEGAN.dcgan((1, 8, 8), latent_dim=4, channels=(8, 4))


def digits(n: int = 32) -> torch.Tensor:
    return genlab.data.digits((-1, 1)).tensors[0][:n]


def test_each_player_steps_on_its_own_loss_at_the_same_parameters():
    """Algorithm 1 of the paper: θ_Enc on L_prior + L_llike, θ_Dec on γ L_llike − L_GAN, θ_Dis on L_GAN,
    every gradient taken at the parameters before the step."""
    model = small()
    x = digits()
    reference = copy.deepcopy(model)
    torch.manual_seed(5)
    out = reference.losses(x)
    expected = {}
    for name in ("encoder", "decoder", "discriminator"):
        net = getattr(reference, name)
        grads = torch.autograd.grad(out[name], list(net.parameters()), retain_graph=True)
        expected[name] = [p.detach() - 0.1 * g for p, g in zip(net.parameters(), grads)]
    sgd = {name: torch.optim.SGD(getattr(model, name).parameters(), lr=0.1)
           for name in ("encoder", "decoder", "discriminator")}
    torch.manual_seed(5)
    model.train_step(x, sgd, 0)
    for name, params in expected.items():
        got = list(getattr(model, name).parameters())
        assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(got, params)), name


def test_the_decoder_wants_the_discriminator_fooled_and_the_discriminator_does_not():
    """The sign of the GAN term: raising every fake's logit (the discriminator taking fakes for real)
    lowers the decoder's loss and raises the discriminator's. A decoder loss with +L_GAN, as copied
    wrongly in some ports, would do the opposite."""
    model = small()
    x = digits()
    with torch.no_grad():
        torch.manual_seed(1)
        before = model.losses(x)
        model.discriminator[-1].bias += 3.0  # every logit up by 3: fakes look more real, reals too
        torch.manual_seed(1)
        after = model.losses(x)
    assert after["decoder"] < before["decoder"] - 0.5
    assert after["encoder"].item() == pytest.approx(before["encoder"].item())  # no GAN term in the encoder's loss
    # the discriminator's loss on fakes rises by more than its loss on reals falls
    assert after["discriminator"] > before["discriminator"]


def test_reconstruction_is_measured_in_the_discriminators_features():
    model = small()
    x = digits()
    f = model.features(x)
    assert f.shape == (len(x), 8 * 2 * 2)  # the flattened output of the last convolution: 8 channels, 2×2
    with torch.no_grad():
        torch.manual_seed(0)
        out = model.losses(x)
    assert out["feature_nll"] > 0 and torch.isfinite(out["kl"])


def test_data_outside_the_decoders_range_is_refused():
    with pytest.raises(ValueError, match=r"must lie in \[-1, 1\]"):
        genlab.fit(small(), digits() * 2, steps=1, batch_size=8, device="cpu")
