"""genlab: GANs, VAEs, RNN sequence models and their combinations, in small readable PyTorch.

`import genlab` loads the models, training and metrics only; the plotting helpers
(`genlab.viz`, matplotlib) and the benchmark harness (`genlab.bench`) load on first use.
"""

import importlib

from genlab import data, distributed, imputation, losses, metrics, models
from genlab.checkpoint import CheckpointError, CheckpointInUse, load, load_checkpoint, save_checkpoint
from genlab.models import (
    AAE,
    DDPM,
    GAN,
    VAE,
    BiGAN,
    CharRNN,
    GenerativeModel,
    MaskedVAE,
    RecurrentGAN,
    RecurrentRegressor,
    SequenceRNN,
    SequenceVAE,
    TimeGAN,
    Trainable,
    VAEGAN,
    VRNN,
)
from genlab._version import __version__
from genlab.train import PhaseNotReached, TrainingDiverged, device, fit

_LAZY = ("bench", "viz")


def __getattr__(name: str):
    if name in _LAZY:
        module = importlib.import_module(f"genlab.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'genlab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = [
    "AAE",
    "DDPM",
    "GAN",
    "VAE",
    "BiGAN",
    "CharRNN",
    "CheckpointError",
    "CheckpointInUse",
    "GenerativeModel",
    "MaskedVAE",
    "PhaseNotReached",
    "RecurrentGAN",
    "RecurrentRegressor",
    "SequenceRNN",
    "SequenceVAE",
    "TimeGAN",
    "Trainable",
    "TrainingDiverged",
    "VAEGAN",
    "VRNN",
    "bench",
    "data",
    "device",
    "fit",
    "imputation",
    "load",
    "load_checkpoint",
    "losses",
    "metrics",
    "models",
    "save_checkpoint",
    "viz",
]
