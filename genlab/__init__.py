"""genlab: GANs, VAEs, RNN sequence models and their combinations, in small readable PyTorch."""

from genlab import bench, data, imputation, losses, metrics, models, viz
from genlab.checkpoint import load_checkpoint, save_checkpoint
from genlab.models import GAN, VAE, GenerativeModel
from genlab.train import TrainingDiverged, device, fit

__version__ = "0.1.0"

__all__ = [
    "GAN",
    "VAE",
    "GenerativeModel",
    "TrainingDiverged",
    "bench",
    "data",
    "device",
    "fit",
    "imputation",
    "load_checkpoint",
    "losses",
    "metrics",
    "models",
    "save_checkpoint",
    "viz",
]
