"""The protocol every genlab model follows, so that one `fit` trains them all.

A model is an `nn.Module` that also knows how to train itself one step at a time:

- `configure_optimizers()` returns its optimizers by name — {"model": …} for a VAE,
  {"discriminator": …, "generator": …} for a GAN, three for a VAE-GAN;
- `train_step(batch, optimizers, step)` performs update number `step` (counted from 0)
  and returns its losses as 0-dimensional tensors, left on the device: `fit` reads them
  only every `log_every` steps, so a GPU is never made to wait for the host. Anything
  that changes during training — a KL weight, a training phase — is computed from
  `step`, so that a resumed run repeats the uninterrupted one exactly;
- `update({optimizer: loss, …})` is the one way a model takes gradient steps: each
  optimizer's loss is back-propagated into that optimizer's parameters only, and all
  gradients are taken before any parameter changes, so several losses may share one
  forward pass.

Generative models (`GenerativeModel`) also draw new data with
`sample(n, *, condition=None, generator=None)`, and those with a tractable density
give `log_prob(x)`. Models that only predict (`genlab.models.RecurrentRegressor`) are
`Trainable` but not generative.

`batch` is a tensor, or a tuple of tensors when the data carries more than the samples
themselves (labels, conditions, masks): element 0 is always the samples.

Models made by a constructor marked `@constructor` remember its arguments; checkpoints
store them, and `genlab.load(path)` rebuilds the trained model from the file alone.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import math
import os
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import torch
from torch import Tensor, nn

from genlab.checks import check_count, check_generator, check_positive
from genlab.losses import reparameterize

Batch = Tensor | tuple[Tensor, ...]
Optimizers = dict[str, torch.optim.Optimizer]
Losses = dict[str, Tensor]

# every Trainable subclass by class name: genlab.load looks constructors up here
REGISTRY: dict[str, type[Trainable]] = {}


def constructor(fn: Callable) -> Callable:
    """Mark `__init__` or a classmethod whose arguments rebuild the model.

    The bound arguments (defaults filled in) are kept as `model.config` and saved with
    every checkpoint, so `genlab.load` can call the same constructor again. The outermost
    call wins: `VAE.conv(...)` records `conv`, not the `__init__` it calls.
    """
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def wrapper(first: Any, *args: Any, **kwargs: Any) -> Any:
        global _constructing
        if not _constructing:  # the outermost call: sizes that cannot fit are refused before any allocation
            _check_model_size(fn, first, args, kwargs)
        _constructing += 1
        try:
            out = fn(first, *args, **kwargs)
        finally:
            _constructing -= 1
        bound = signature.bind(first, *args, **kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        arguments.pop(next(iter(arguments)))  # self or cls
        for name, param in signature.parameters.items():
            if param.kind is inspect.Parameter.VAR_KEYWORD:
                arguments.update(arguments.pop(name))
        model = first if fn.__name__ == "__init__" else out
        model.config = {"class": type(model).__name__, "constructor": fn.__name__, "arguments": arguments}
        return out

    wrapper.genlab_constructor = True  # genlab.load calls only constructors marked so
    return wrapper


_constructing = 0  # how many @constructor calls are under way (only the outermost checks sizes)


def _check_model_size(fn: Callable, first: Any, args: tuple, kwargs: dict) -> None:
    """Build the model on PyTorch's "meta" device, which allocates nothing, and refuse sizes whose
    parameters would not fit in memory with a ValueError naming the size arguments.

    The meta build draws no random numbers (the CPU generator's state is restored regardless); a
    constructor that cannot run on "meta" is simply built for real.
    """
    global _constructing
    if torch.get_default_device().type == "meta":
        return
    rng = torch.get_rng_state()
    _constructing += 1
    try:
        with torch.device("meta"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if fn.__name__ == "__init__":
                model = type(first).__new__(type(first))
                fn(model, *args, **kwargs)
            else:
                model = fn(first, *args, **kwargs)
        size = sum(t.numel() * t.element_size() for t in (*model.parameters(), *model.buffers()))
    except Exception:
        return
    finally:
        _constructing -= 1
        torch.set_rng_state(rng)
    available = _memory_bytes(torch.device("cpu"))
    if available and size > available:
        named = sorted(((k, v) for k, v in inspect.signature(fn).bind(first, *args, **kwargs).arguments.items()
                        if isinstance(v, int) and not isinstance(v, bool) and v > 1), key=lambda kv: -kv[1])
        owner = first.__name__ if isinstance(first, type) else type(first).__name__
        sizes = ", ".join(f"{k}={v}" for k, v in named[:3]) or "its sizes"
        raise ValueError(
            f"{owner}.{fn.__name__}({sizes}) would need {size / 2**30:.0f} GiB for its parameters alone, more than "
            f"the {available / 2**30:.0f} GiB of memory here: choose smaller sizes"
        )


def parameters_of(optimizer: torch.optim.Optimizer) -> list[Tensor]:
    return [p for group in optimizer.param_groups for p in group["params"]]


@contextlib.contextmanager
def probing(*nets: nn.Module) -> Iterator[torch.device]:
    """The block in which a constructor probes its networks' shapes: `nets` in eval mode and gradients off
    inside it, each network back in its own mode after it (whatever the exit). Yields the device of their
    parameters (the CPU when they have none).

    In eval mode a forward pass on zeros moves no batch-norm statistics and no spectral-norm vectors,
    and no layer draws random numbers, so probing leaves the model and every random state as they were.
    """
    modes = [net.training for net in nets]
    param = next((p for net in nets for p in net.parameters()), None)
    try:
        for net in nets:
            net.eval()
        with torch.no_grad():
            yield param.device if param is not None else torch.device("cpu")
    finally:
        for net, mode in zip(nets, modes):
            net.train(mode)


def check_gaussian_encoder(out: Tensor, latent_dim: int) -> None:
    """Refuse a probed encoder output that is not (mean, log-variance) of a latent_dim-dimensional q(z|x)."""
    if tuple(out.shape[1:]) != (2 * latent_dim,):
        raise ValueError(
            f"the encoder must output 2 * latent_dim = {2 * latent_dim} numbers per sample (the mean "
            f"and log-variance of q(z|x)), got shape {tuple(out.shape[1:])}: change its last layer (or "
            f"latent_dim) so the two agree"
        )


def probe(call: Callable[[], Tensor], name: str, what: str) -> Tensor:
    """call(), one probing forward pass of the network `name`; when it fails, a ValueError saying that
    `name` cannot take `what` (PyTorch's own message follows)."""
    try:
        return call()
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"{name} cannot take {what}: {err}") from err


def _memory_bytes(device: torch.device) -> int:
    """Total memory of a device: the GPU's, or the machine's for the CPU (0 when unknown)."""
    if device.type == "cuda":
        return torch.cuda.get_device_properties(device).total_memory
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return 0


class Trainable(nn.Module):
    """Anything `genlab.fit` can train: subclasses set `data_shape` and implement the step."""

    data_shape: tuple[int, ...] | None  # one sample's shape; None for sequences of any length
    config: dict[str, Any] | None = None  # set by @constructor

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        REGISTRY[cls.__name__] = cls

    def configure_optimizers(self) -> Optimizers:
        raise NotImplementedError

    def train_step(self, batch: Batch, optimizers: Optimizers, step: int) -> Losses:
        raise NotImplementedError

    def phase_starts(self) -> dict[str, int]:
        """{phase: its first step}, in order, for a model that trains differently by phase (TimeGAN:
        embedding, supervised, joint); {} for one that trains alike at every step. `fit` warns
        when its `steps` end before the last phase has begun."""
        return {}

    # --- data --------------------------------------------------------------------------

    @staticmethod
    def inputs(batch: Batch) -> Tensor:
        """The samples of a batch (element 0 when the batch is a tuple)."""
        return batch if isinstance(batch, Tensor) else batch[0]

    def prepare_data(self, x: Tensor) -> Tensor:
        """The samples as this model trains on them: float64 becomes float32 (the documented
        conversion); other dtypes are refused with a message that says what to pass."""
        if x.dtype == torch.float64:
            return x.float()
        if x.dtype in (torch.float16, torch.bfloat16):
            raise TypeError(
                f"{type(self).__name__} trains on float32 data (float64 is converted), got dtype {x.dtype}: convert "
                f"it with x.float(); for mixed precision on CUDA pass fit(amp=True)"
            )
        if not x.is_floating_point():
            raise TypeError(
                f"{type(self).__name__} trains on floating-point data, got dtype {x.dtype}; "
                f"convert it with x.float() (and scale it to the range the model expects)"
            )
        return x

    def check_extras(self, extras: tuple[Tensor, ...]) -> None:
        """Check the tensors that travel with the samples (labels, masks, targets); nothing by default."""

    def check_data(self, x: Tensor) -> None:
        """Raise ValueError unless x has shape (N, *data_shape); models add their own range checks."""
        if tuple(x.shape[1:]) != tuple(self.data_shape):
            raise ValueError(
                f"{type(self).__name__} expects samples of shape {tuple(self.data_shape)}, "
                f"so data of shape (N, {', '.join(map(str, self.data_shape))}); got data of shape {tuple(x.shape)}"
            )

    def check_inputs(
        self, x: object, name: str = "x", value_range: tuple[float, float] | None = None, why: str = ""
    ) -> None:
        """Raise a TypeError/ValueError naming what is wrong with samples x for this model: not a
        tensor, not of shape (B, *data_shape), NaN or infinite values, or values outside
        `value_range` (`why` says why the range is required, and what to do)."""
        if not isinstance(x, Tensor):
            raise TypeError(f"{name} must be a Tensor, got {type(x).__name__}")
        if tuple(x.shape[1:]) != tuple(self.data_shape):
            raise ValueError(f"{name} must have shape (B, {', '.join(map(str, self.data_shape))}) for this "
                             f"{type(self).__name__}, got {tuple(x.shape)}")
        if not torch.isfinite(x).all():
            raise ValueError(f"{name} contains NaN or infinite values")
        if value_range is not None and x.numel():
            low, high = value_range
            if ((x < low) | (x > high)).any():
                raise ValueError(f"{name} must lie in [{low:g}, {high:g}]{why}, got values in "
                                 f"[{x.min().item():.3g}, {x.max().item():.3g}]")

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @contextlib.contextmanager
    def evaluating(self):
        """Eval mode inside the block (dropout off, batch-norm statistics frozen), the previous mode after it."""
        was_training = self.training
        self.eval()
        try:
            yield self
        finally:
            self.train(was_training)

    # --- gradient steps ----------------------------------------------------------------

    def update(self, losses: Mapping[torch.optim.Optimizer, Tensor], clip_norm: float | None = None) -> None:
        """One gradient step of each optimizer on its own loss.

        Gradient routing: each loss is back-propagated into its own optimizer's parameters
        and nowhere else (`loss.backward(inputs=those parameters)`). A discriminator's loss
        computed on a generator's samples therefore never moves, nor leaves gradients in, the
        generator, with or without `.detach()`; a generator's loss computed through the
        discriminator never moves the discriminator. Every gradient is taken before any
        parameter changes, so the losses may come from one shared forward pass (VAE-GAN's
        encoder, decoder and discriminator losses). The models follow one convention: the
        routing is update()'s, and a `.detach()` or `torch.no_grad()` left in a `train_step`
        is there to save work or memory (no graph built or walked through a network whose
        parameters the loss does not train), with a comment saying so — it changes no
        gradient. In a plain loop that calls `loss.backward()`, the same losses need the
        detaches, or backward(inputs=...), to keep each player's gradient its own.

        With `clip_norm`, each optimizer's gradient is rescaled when its global norm exceeds
        clip_norm (Pascanu et al., 2013, algorithm 1) — before its step, where clipping has an
        effect.
        """
        items = list(losses.items())
        for i, (optimizer, loss) in enumerate(items):
            optimizer.zero_grad(set_to_none=True)
            # Restricting the backward pass to the optimizer's parameters costs time; a lone
            # optimizer that owns every trainable parameter needs no restriction.
            inputs = None if len(items) == 1 and self._owns_all(optimizer) else parameters_of(optimizer)
            loss.backward(inputs=inputs, retain_graph=i < len(items) - 1)
        for optimizer, _ in items:
            if clip_norm is not None:
                nn.utils.clip_grad_norm_(parameters_of(optimizer), clip_norm)
            optimizer.step()

    def _owns_all(self, optimizer: torch.optim.Optimizer) -> bool:
        """Whether `optimizer` updates every trainable parameter of the model (remembered per optimizer)."""
        owns = getattr(optimizer, "_genlab_owns_all", None)
        if owns is None:
            mine = {id(p) for p in parameters_of(optimizer)}
            owns = all(id(p) in mine for p in self.parameters() if p.requires_grad)
            optimizer._genlab_owns_all = owns
        return owns

    def optimizer_step(self, optimizer: torch.optim.Optimizer, loss: Tensor, clip_norm: float | None = None) -> None:
        """One gradient step of one optimizer: `update({optimizer: loss}, clip_norm)`."""
        self.update({optimizer: loss}, clip_norm)


class CodeEncoder:
    """An encoder E(x) that is deterministic, or Gaussian when `stochastic_encoder` is set
    (its output then holds the mean and log-variance); shared by the AAE and BiGAN/ALI."""

    encoder: nn.Module
    stochastic_encoder: bool

    def posterior(self, x: Tensor) -> tuple[Tensor, Tensor | None]:
        """q(z|x): the mean and log-variance, each (B, latent_dim); (E(x), None) for a deterministic encoder."""
        out = self.encoder(x)
        if not self.stochastic_encoder:
            return out, None
        mu, logvar = out.chunk(2, dim=-1)
        return mu, logvar

    def encode(self, x: Tensor, *, generator: torch.Generator | None = None) -> Tensor:
        """A code z ~ q(z|x), (B, *data_shape) -> (B, latent_dim): E(x), or μ + σ ⊙ ε for a Gaussian encoder.

        Differentiable (training steps use it); wrap it in torch.no_grad() to read codes.
        """
        self.check_inputs(x, "x")
        check_generator(generator)
        return self.code(x, generator=generator)

    def code(self, x: Tensor, *, generator: torch.Generator | None = None) -> Tensor:
        """`encode` without the checks of x, for the training steps."""
        mu, logvar = self.posterior(x)
        return mu if logvar is None else reparameterize(mu, logvar, generator=generator)


class GenerativeModel(Trainable):
    """A trainable model that draws new data: `sample(n, *, condition=None, generator=None)`.

    Conditional models (`classes` = K > 0) train on (samples, labels) pairs, labels in 0..K-1,
    and sample given labels: `sample(n, condition=labels)`.
    """

    classes: int = 0  # K > 0: a class-conditional model

    @property
    def conditional(self) -> bool:
        return self.classes > 0

    def check_labels(self, labels: object, n: int | None = None, name: str = "labels") -> Tensor:
        """Class labels for this conditional model: an integer tensor (n,) of values in 0..classes-1."""
        if not isinstance(labels, Tensor) or labels.is_floating_point() or labels.dtype == torch.bool:
            raise TypeError(f"{name} must be an integer tensor of class labels, got {getattr(labels, 'dtype', type(labels).__name__)}")
        if labels.dim() != 1 or (n is not None and len(labels) != n):
            expected = f"({n},)" if n is not None else "(N,)"
            raise ValueError(f"{name} must have shape {expected}, one label per sample; got {tuple(labels.shape)}")
        if len(labels) and (labels.min() < 0 or labels.max() >= self.classes):
            raise ValueError(f"{name} must lie in 0..{self.classes - 1} ({self.classes} classes), got "
                             f"{labels.min().item()}..{labels.max().item()}")
        return labels.long()

    def check_extras(self, extras: tuple[Tensor, ...]) -> None:
        if self.conditional:
            if not extras:
                raise ValueError(f"{type(self).__name__} is conditional: pass fit the data as (samples, labels)")
            self.check_labels(extras[0], name="the labels (data[1])")

    def batch_labels(self, batch: Batch) -> Tensor | None:
        """The labels of a batch for a conditional model (element 1), None for an unconditional one."""
        return batch[1] if self.conditional else None

    def sample_labels(self, n: int, condition: Tensor | None, generator: torch.Generator | None) -> Tensor | None:
        """The labels to sample with: the condition given, uniform ones when it is None; None if unconditional."""
        if not self.conditional:
            return None
        if condition is None:
            return torch.randint(self.classes, (n,), device=self.device, generator=generator)
        return self.check_labels(condition, n, name="condition").to(self.device)

    def sample(self, n: int, *, condition: Tensor | None = None, generator: torch.Generator | None = None) -> Tensor:
        raise NotImplementedError

    def _check_n(self, n: int, condition: Tensor | None = None, generator: object = None) -> None:
        """Check a number of samples (that an unconditional model got no condition, and the generator)."""
        check_count(n, "n, the number of samples,")
        check_generator(generator)
        if condition is not None and not self.conditional:
            raise ValueError(f"{type(self).__name__} is unconditional: call sample(n) without a condition")
        if self.data_shape is not None and n:
            size = n * math.prod(self.data_shape) * 4
            available = _memory_bytes(self.device)
            if available and size > available:
                raise ValueError(
                    f"sample({n}) would need {size / 2**30:.0f} GiB for the samples alone, more than the "
                    f"{available / 2**30:.0f} GiB of {self.device}; draw them in chunks"
                )
