"""Generative models, all following the protocol of `genlab.models.base`."""

from genlab.models.base import GenerativeModel
from genlab.models.gan import GAN
from genlab.models.memory import RecurrentRegressor
from genlab.models.rnn import CharRNN
from genlab.models.sequence_rnn import SequenceRNN
from genlab.models.vae import MaskedVAE, VAE

__all__ = ["CharRNN", "GAN", "GenerativeModel", "MaskedVAE", "RecurrentRegressor", "SequenceRNN", "VAE"]
