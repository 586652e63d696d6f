"""Generative models, all following the protocol of `genlab.models.base`."""

from genlab.models.base import GenerativeModel, Trainable
from genlab.models.gan import GAN
from genlab.models.masked_vae import MaskedVAE
from genlab.models.memory import RecurrentRegressor
from genlab.models.rnn import CharRNN
from genlab.models.sequence_rnn import SequenceRNN
from genlab.models.vae import VAE

__all__ = ["GAN", "VAE", "CharRNN", "GenerativeModel", "MaskedVAE", "RecurrentRegressor", "SequenceRNN", "Trainable"]
