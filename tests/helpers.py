"""Small models shared by the tests."""

import torch

import genlab


def tiny_gan(seed: int = 0) -> genlab.GAN:
    torch.manual_seed(seed)
    return genlab.GAN.mlp(data_dim=2, latent_dim=2, hidden=16, depth=2)


def tiny_vae(seed: int = 0) -> genlab.VAE:
    torch.manual_seed(seed)
    return genlab.VAE.mlp(data_dim=2, latent_dim=2, hidden=16, depth=1)
