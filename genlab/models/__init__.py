"""Generative models, all following the protocol of `genlab.models.base`."""

from genlab.models.base import GenerativeModel
from genlab.models.gan import GAN
from genlab.models.vae import VAE

__all__ = ["GAN", "VAE", "GenerativeModel"]
