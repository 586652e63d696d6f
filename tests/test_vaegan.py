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


def test_feature_reconstruction_is_half_the_squared_distance_of_the_features_by_hand():
    """L_llike = ½ ‖Dis_l(x) − Dis_l(x̃)‖² per example, averaged over the batch (Larsen et al., 2016, eq. 6
    up to a constant), with x̃ = Dec(μ + σ ε) for the ε the model draws and Dis_l the discriminator's
    layers but the last, flattened; computed here without the model's own helpers."""
    model = small()
    x = digits()
    with torch.no_grad():
        torch.manual_seed(0)
        out = model.losses(x)
        torch.manual_seed(0)
        mu, logvar = model.encoder(x).chunk(2, dim=-1)
        x_tilde = model.decoder(mu + (0.5 * logvar).exp() * torch.randn(mu.shape)).reshape(x.shape)
        layers = list(model.discriminator)[:-1]
        features = [torch.nn.Sequential(*layers)(v).flatten(1) for v in (x, x_tilde)]
        expected = 0.5 * (features[0] - features[1]).pow(2).sum(dim=1).mean()
    assert expected > 0.01  # the reconstructions differ from the data, so the check below has something to check
    torch.testing.assert_close(out["feature_nll"], expected)
    torch.testing.assert_close(out["encoder"], model.beta * out["kl"] + expected)


def test_networks_of_the_wrong_shape_are_named_at_construction():
    from torch import nn

    from genlab.nets import MLP

    def build(decoder_out=2, discriminator=None, encoder_out=4):
        return genlab.VAEGAN(MLP(2, encoder_out, 16, 1), MLP(2, decoder_out, 16, 1),
                             discriminator if discriminator is not None else MLP(2, 1, 16, 2),
                             latent_dim=2, data_shape=(2,))

    build()
    with pytest.raises(ValueError, match=r"the decoder makes samples of shape \(3,\) but data_shape is \(2,\)"):
        build(decoder_out=3)
    with pytest.raises(ValueError, match=r"the encoder must output 2 \* latent_dim = 4 numbers .* got shape \(2,\)"):
        build(encoder_out=2)
    with pytest.raises(ValueError, match=r"discriminator's last layer must output one logit per sample.*gave \(3,\)"):
        build(discriminator=MLP(2, 3, 16, 2))
    with pytest.raises(ValueError, match=r"discriminator's last layer cannot take the features Dis_l\(x\) of shape "
                                         r"\(B, 8\)"):
        build(discriminator=nn.Sequential(nn.Linear(2, 8), nn.Linear(7, 1)))
    with pytest.raises(ValueError, match=r"discriminator's feature layers cannot take samples of shape \(2,\)"):
        build(discriminator=nn.Sequential(nn.Linear(3, 8), nn.Linear(8, 1)))
