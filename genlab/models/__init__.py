"""Generative models, all following the protocol of `genlab.models.base`."""

from genlab.models.aae import AAE
from genlab.models.base import GenerativeModel, Trainable
from genlab.models.bigan import BiGAN
from genlab.models.diffusion import DDPM
from genlab.models.gan import GAN
from genlab.models.masked_vae import MaskedVAE
from genlab.models.memory import RecurrentRegressor
from genlab.models.recurrent_gan import RecurrentGAN
from genlab.models.rnn import CharRNN
from genlab.models.sequence_rnn import SequenceRNN
from genlab.models.sequence_vae import SequenceVAE
from genlab.models.timegan import TimeGAN
from genlab.models.vae import VAE
from genlab.models.vaegan import VAEGAN
from genlab.models.vrnn import VRNN

__all__ = ["AAE", "DDPM", "GAN", "VAE", "BiGAN", "CharRNN", "GenerativeModel", "MaskedVAE", "RecurrentGAN", "RecurrentRegressor", "SequenceRNN", "SequenceVAE", "TimeGAN",
           "Trainable", "VAEGAN", "VRNN"]
