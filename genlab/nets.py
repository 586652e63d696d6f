"""Reusable network blocks shared by the models."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn


def MLP(
    in_dim: int,
    out_dim: int,
    hidden: int = 128,
    depth: int = 3,
    activation: Callable[[], nn.Module] = nn.ReLU,
    out_activation: nn.Module | None = None,
    spectral_norm: bool = False,
) -> nn.Sequential:
    """A multilayer perceptron with `depth` hidden layers of width `hidden`.

    (B, in_dim) -> (B, out_dim). `depth=0` gives a single linear map.
    `spectral_norm=True` divides each weight by its largest singular value (Miyato et al., 2018),
    making every linear layer 1-Lipschitz; used for discriminators.
    """
    if min(in_dim, out_dim, hidden) < 1 or depth < 0:
        raise ValueError(f"impossible MLP size: in={in_dim}, out={out_dim}, hidden={hidden}, depth={depth}")
    wrap = nn.utils.parametrizations.spectral_norm if spectral_norm else (lambda m: m)
    layers: list[nn.Module] = []
    width = in_dim
    for _ in range(depth):
        layers += [wrap(nn.Linear(width, hidden)), activation()]
        width = hidden
    layers.append(wrap(nn.Linear(width, out_dim)))
    if out_activation is not None:
        layers.append(out_activation)
    return nn.Sequential(*layers)


def _check_image_shape(image_shape: tuple[int, int, int], n_down: int) -> None:
    c, h, w = image_shape
    factor = 2**n_down
    if c < 1 or h % factor or w % factor or h < factor or w < factor:
        raise ValueError(
            f"image shape {tuple(image_shape)} cannot be halved {n_down} times: "
            f"height and width must be multiples of {factor}"
        )


def conv_encoder(
    image_shape: tuple[int, int, int],
    out_dim: int,
    channels: tuple[int, ...] = (32, 64),
    activation: Callable[[], nn.Module] = lambda: nn.LeakyReLU(0.2),
    batchnorm: bool = False,
    spectral_norm: bool = False,
) -> nn.Sequential:
    """Strided convolutions that halve height and width per layer, then a linear head.

    (B, C, H, W) -> (B, channels[0], H/2, W/2) -> … -> (B, channels[-1], H/2^L, W/2^L) -> (B, out_dim).
    Used as the DCGAN discriminator (out_dim = 1) and the VAE encoder (out_dim = 2 * latent).
    """
    _check_image_shape(image_shape, len(channels))
    wrap = nn.utils.parametrizations.spectral_norm if spectral_norm else (lambda m: m)
    layers: list[nn.Module] = []
    c_in, (h, w) = image_shape[0], image_shape[1:]
    for i, c_out in enumerate(channels):
        layers.append(wrap(nn.Conv2d(c_in, c_out, kernel_size=4, stride=2, padding=1)))  # halves H and W
        if batchnorm and i > 0:  # no normalisation on the input layer (Radford et al., 2016)
            layers.append(nn.BatchNorm2d(c_out))
        layers.append(activation())
        c_in, h, w = c_out, h // 2, w // 2
    layers += [nn.Flatten(), wrap(nn.Linear(c_in * h * w, out_dim))]
    return nn.Sequential(*layers)


def conv_decoder(
    in_dim: int,
    image_shape: tuple[int, int, int],
    channels: tuple[int, ...] = (64, 32),
    activation: Callable[[], nn.Module] = nn.ReLU,
    batchnorm: bool = True,
    out_activation: nn.Module | None = None,
) -> nn.Sequential:
    """A linear map to a small feature map, then transposed convolutions that double it per layer.

    (B, in_dim) -> (B, channels[0], H/2^L, W/2^L) -> … -> (B, C, H, W).
    Used as the DCGAN generator (out_activation = Tanh) and the VAE decoder (logits or means).
    """
    _check_image_shape(image_shape, len(channels))
    c, h, w = image_shape
    h0, w0 = h // 2 ** len(channels), w // 2 ** len(channels)
    layers: list[nn.Module] = [nn.Linear(in_dim, channels[0] * h0 * w0), nn.Unflatten(1, (channels[0], h0, w0))]
    if batchnorm:
        layers.append(nn.BatchNorm2d(channels[0]))
    layers.append(activation())
    for c_in, c_out in zip(channels, channels[1:]):
        layers.append(nn.ConvTranspose2d(c_in, c_out, kernel_size=4, stride=2, padding=1))  # doubles H and W
        if batchnorm:
            layers.append(nn.BatchNorm2d(c_out))
        layers.append(activation())
    layers.append(nn.ConvTranspose2d(channels[-1], c, kernel_size=4, stride=2, padding=1))
    if out_activation is not None:
        layers.append(out_activation)
    return nn.Sequential(*layers)


def attach_condition(x: Tensor, labels: Tensor | None, classes: int) -> Tensor:
    """x with a one-hot class label attached, the input of a conditional network (Mirza & Osindero, 2014).

    Flat inputs (B, F) get K more features, (B, F + K); images (B, C, H, W) get K constant
    planes, (B, C + K, H, W), so a convolution sees the label at every position. With labels
    None, x is returned unchanged.
    """
    if labels is None:
        return x
    code = nn.functional.one_hot(labels, classes).to(x.dtype)  # (B, K)
    if x.dim() > 2:
        code = code.reshape(*code.shape, *(1,) * (x.dim() - 2)).expand(-1, -1, *x.shape[2:])
    return torch.cat([x, code], dim=1)


RECURRENT_CELLS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


def recurrent(cell: str, input_size: int, hidden: int, layers: int = 1, **kwargs) -> nn.RNNBase:
    """A batch-first recurrent stack chosen by name: "rnn" (Elman, tanh), "gru" or "lstm".

    (B, T, input_size) -> outputs (B, T, hidden) and the final state.
    """
    if cell not in RECURRENT_CELLS:
        raise ValueError(f"unknown recurrent cell {cell!r}; choose one of {tuple(RECURRENT_CELLS)}")
    if min(input_size, hidden, layers) < 1:
        raise ValueError(f"impossible recurrent size: input={input_size}, hidden={hidden}, layers={layers}")
    return RECURRENT_CELLS[cell](input_size, hidden, num_layers=layers, batch_first=True, **kwargs)
