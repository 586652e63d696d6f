"""Small models shared by the tests."""

import torch
from torch import nn

import genlab


def tiny_gan(seed: int = 0) -> genlab.GAN:
    torch.manual_seed(seed)
    return genlab.GAN.mlp(data_dim=2, latent_dim=2, hidden=16, depth=2)


def tiny_vae(seed: int = 0) -> genlab.VAE:
    torch.manual_seed(seed)
    return genlab.VAE.mlp(data_dim=2, latent_dim=2, hidden=16, depth=1)


def linear_gaussian_vae(
    data_dim: int = 3,
    scales: tuple[float, float] = (2.0, 0.7),
    posterior_shift: float = 0.0,
    posterior_log_stretch: float = 0.0,
    seed: int = 0,
    cls: type = genlab.VAE,
):
    """A VAE whose model is linear-Gaussian, so every quantity has an exact answer.

    z ~ N(0, I_2), x|z ~ N(Wz + b, σ² I_data_dim) with W's columns orthogonal (lengths
    `scales`), so the true posterior is Gaussian with a diagonal covariance that an encoder
    can represent. The encoder is set to that exact posterior, then shifted/stretched by the
    arguments to make q deliberately wrong (`cls`: the VAE class, e.g. MaskedVAE). Returns the VAE and the exact marginal
    p(x) = N(b, WWᵀ + σ²I).
    """
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(data_dim, data_dim, generator=g))
    w = q[:, :2] * torch.tensor(scales)  # (data_dim, 2), WᵀW = diag(scales²)
    b = torch.randn(data_dim, generator=g)
    sigma = 0.5
    post_cov = torch.linalg.inv(torch.eye(2) + w.T @ w / sigma**2)  # diagonal
    a = post_cov @ w.T / sigma**2  # posterior mean = a (x - b)
    encoder, decoder = nn.Linear(data_dim, 4), nn.Linear(2, data_dim)
    with torch.no_grad():
        encoder.weight.zero_()
        encoder.weight[:2] = a
        encoder.bias[:2] = -a @ b + posterior_shift
        encoder.bias[2:] = torch.log(torch.diagonal(post_cov)) + posterior_log_stretch
        decoder.weight.copy_(w)
        decoder.bias.copy_(b)
    vae = cls(encoder, decoder, latent_dim=2, data_shape=(data_dim,), likelihood="gaussian", init_scale=sigma)
    marginal = torch.distributions.MultivariateNormal(b, w @ w.T + sigma**2 * torch.eye(data_dim))
    return vae, marginal


def gradient_norms_at_each_step(optimizers: dict) -> list[float]:
    """Wrap every optimizer's `step` so that it records the global norm of the gradients it is about to apply.

    Returns the list the norms go to. Clipping that happens after `step` (a reported mistake)
    leaves these norms unclipped; clipping before it bounds them.
    """
    norms: list[float] = []
    for opt in optimizers.values():
        original = opt.step

        def step(*args, _opt=opt, _original=original, **kwargs):
            grads = [p.grad for g in _opt.param_groups for p in g["params"] if p.grad is not None]
            norms.append(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads])).item())
            return _original(*args, **kwargs)

        opt.step = step
    return norms
