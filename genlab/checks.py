"""Argument checks shared by the whole package: each error names the argument and what it needs."""

from __future__ import annotations

import math
import numbers

# The checks of numbers below share one message: "{name} must be {what it must be}, got {value!r}",
# then, when the caller gives one, a hint that says what to do ("; 0 turns the average off").


def _refuse(name: str, requirement: str, value: object, hint: str) -> ValueError:
    return ValueError(f"{name} must be {requirement}, got {value!r}" + (f"; {hint}" if hint else ""))


def _is_real(value: object) -> bool:
    """A real number, and not a boolean (True is 1 to Python, but never a setting's value here)."""
    return not isinstance(value, bool) and isinstance(value, numbers.Real)


def check_count(value: object, name: str, *, minimum: int = 0, hint: str = "") -> int:
    """`value` as an int, or a ValueError naming `name` (booleans and 1.0 are not counts)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        kind = {0: "a non-negative integer", 1: "a positive integer"}.get(minimum, f"an integer ≥ {minimum}")
        raise _refuse(name, kind, value, hint)
    return int(value)


def check_sizes(**sizes: object) -> None:
    """Each keyword a positive integer (a layer width, a length, a count of features), or a ValueError naming it."""
    for name, value in sizes.items():
        check_count(value, name, minimum=1)


def check_sampling(temperature: object, top_k: object) -> None:
    """The settings of drawing a token from logits: a temperature > 0 and a top_k that is None (no cut-off)
    or a positive integer, or a ValueError naming the argument."""
    check_positive(temperature, "temperature", hint="for greedy decoding use top_k=1")
    if top_k is not None:
        check_count(top_k, "top_k", minimum=1, hint="pass None for no cut-off")


def check_optimisation(lr: object, clip_norm: object) -> None:
    """A learning rate > 0 and a clipping norm that is None (off) or > 0, or a ValueError naming the argument."""
    check_positive(lr, "lr")
    if clip_norm is not None:
        check_positive(clip_norm, "clip_norm (or None for no clipping)")


def check_positive(value: object, name: str, *, hint: str = "") -> float:
    """`value` as a finite float > 0, or a ValueError naming `name`."""
    if not _is_real(value) or not math.isfinite(value) or value <= 0:
        raise _refuse(name, "a finite number > 0", value, hint)
    return float(value)


def check_finite(value: object, name: str, *, hint: str = "") -> float:
    """`value` as a finite float (any sign), or a ValueError naming `name` (booleans are not numbers here)."""
    if not _is_real(value) or not math.isfinite(value):
        raise _refuse(name, "a finite number", value, hint)
    return float(value)


def check_non_negative(value: object, name: str, *, hint: str = "") -> float:
    """`value` as a finite float ≥ 0, or a ValueError naming `name`."""
    if not _is_real(value) or not math.isfinite(value) or value < 0:
        raise _refuse(name, "a finite number ≥ 0", value, hint)
    return float(value)


def check_probability(value: object, name: str, *, hint: str = "") -> float:
    """`value` as a float in [0, 1], or a ValueError naming `name` (NaN and booleans are refused)."""
    if not _is_real(value) or not 0 <= value <= 1:
        raise _refuse(name, "a number in [0, 1]", value, hint)
    return float(value)


def check_fraction(value: object, name: str, *, hint: str = "") -> float:
    """`value` as a float in [0, 1) — a decay, a dropout rate, a quantile — or a ValueError naming `name`
    (NaN and booleans are refused)."""
    if not _is_real(value) or not 0 <= value < 1:
        raise _refuse(name, "a number in [0, 1)", value, hint)
    return float(value)


def check_seed(value: object, name: str = "seed") -> int:
    """`value` as an int that torch.Generator.manual_seed accepts, or a ValueError naming `name`.

    Any integer in [-2**63, 2**64) is a seed (numpy integers included); booleans and floats are not.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not -(2**63) <= value < 2**64:
        raise ValueError(f"{name} must be an integer in [-2**63, 2**64), got {value!r}")
    return int(value)


def check_flag(value: object, name: str) -> bool:
    """`value` as a bool, or a ValueError naming `name`: only True and False (numpy's included) are flags."""
    if not isinstance(value, bool) and type(value).__name__ not in ("bool", "bool_"):  # numpy's bool is np.bool_
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_value_range(value: object, name: str = "value_range",
                      allowed: tuple[tuple[int, int], ...] = ((0, 1), (-1, 1))) -> tuple[int, int]:
    """`value` as one of the `allowed` (low, high) pairs, or a ValueError naming `name`."""
    try:
        pair = tuple(value)  # type: ignore[arg-type]
    except TypeError:
        pair = None
    if pair is None or any(isinstance(v, bool) for v in pair) or pair not in allowed:
        choices = " or ".join(str(a) for a in allowed)
        raise ValueError(f"{name} must be {choices}, got {value!r}")
    return pair  # type: ignore[return-value]


def check_float_dtype(dtype: object, name: str = "dtype"):
    """`dtype` if it is a floating-point torch.dtype, else a TypeError naming `name`."""
    import torch

    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"{name} must be a floating-point torch.dtype such as torch.float32, got {dtype!r}")
    return dtype


def check_tensor(
    value: object,
    name: str,
    *,
    ndim: int | tuple[int, ...] | None = None,
    shape: str | None = None,
    floating: bool = False,
    nonempty: bool = False,
    finite: bool = False,
):
    """`value` itself if it is a torch.Tensor that meets every requirement asked for, else an error naming `name`.

    Args:
        ndim: the number of dimensions, or a tuple of allowed numbers.
        shape: how to describe the expected shape in the message, e.g. "(n, 2)".
        floating: require a floating-point dtype (TypeError otherwise).
        nonempty: require at least one element.
        finite: refuse NaN and ±inf.
    Raises:
        TypeError: not a tensor, or not floating-point when required.
        ValueError: a wrong number of dimensions, no elements, or non-finite values.
    """
    import torch  # here, so that importing genlab.checks stays cheap

    described = f" of shape {shape}" if shape else ""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor{described}, got {type(value).__name__}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else ndim
        if value.ndim not in allowed:
            if shape:
                raise ValueError(f"{name} must have shape {shape}, got {tuple(value.shape)}")
            expected = " or ".join(f"{d}-D" for d in allowed)
            raise ValueError(f"{name} must be {expected}, got shape {tuple(value.shape)}")
    if floating and not value.is_floating_point():
        raise TypeError(f"{name} must hold floating-point values, got dtype {value.dtype}; convert it with .float()")
    if nonempty and value.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(value.shape)}); it needs at least one element")
    if finite and (value.is_floating_point() or value.is_complex()) and not torch.isfinite(value).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return value


def record_differences(first: object, second: object, where: str = "") -> list[tuple[str, object, object]]:
    """(path, first value, second value) for each leaf where two nested records differ, the path
    naming it as "optimizers.generator.lr" or "settings.channels[1]"."""
    if isinstance(first, dict) and isinstance(second, dict):
        out = []
        for key in [*first, *(k for k in second if k not in first)]:
            out += record_differences(first.get(key), second.get(key), f"{where}.{key}" if where else str(key))
        return out
    if isinstance(first, (list, tuple)) and isinstance(second, (list, tuple)) and len(first) == len(second) \
            and any(isinstance(v, (dict, list, tuple)) for v in (*first, *second)):
        return [d for i, (a, b) in enumerate(zip(first, second)) for d in record_differences(a, b, f"{where}[{i}]")]
    return [] if first == second else [(where, first, second)]


def check_betas(value: object, name: str = "betas") -> tuple[float, float]:
    """Adam's (β1, β2): two numbers in [0, 1), or a ValueError naming `name`."""
    try:
        pair = tuple(value)  # type: ignore[arg-type]
    except TypeError:
        pair = ()
    if len(pair) != 2 or any(isinstance(v, bool) or not isinstance(v, numbers.Real) or not 0 <= v < 1 for v in pair):
        raise ValueError(f"{name} must be Adam's (beta1, beta2), two numbers in [0, 1) such as (0.5, 0.999), "
                         f"got {value!r}")
    return pair  # type: ignore[return-value]


def check_interval(value: object, name: str) -> tuple[float, float]:
    """(low, high) with low < high, neither NaN (±inf allowed: an unbounded side), or a ValueError naming `name`."""
    try:
        pair = tuple(value)  # type: ignore[arg-type]
    except TypeError:
        pair = ()
    if len(pair) != 2 or any(isinstance(v, bool) or not isinstance(v, numbers.Real) or math.isnan(v) for v in pair) \
            or not pair[0] < pair[1]:
        raise ValueError(f"{name} must be a pair (low, high) of numbers with low < high (±inf for an unbounded "
                         f"side), got {value!r}")
    return pair  # type: ignore[return-value]


def check_widths(value: object, name: str) -> tuple[int, ...]:
    """A non-empty sequence of positive integers (layer widths, channel counts), or a ValueError naming `name`."""
    try:
        widths = tuple(value)  # type: ignore[arg-type]
    except TypeError:
        widths = ()
    if isinstance(value, str) or not widths or any(
            isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1 for v in widths):
        raise ValueError(f"{name} must be a non-empty sequence of positive integers such as (64, 32), got {value!r}")
    return tuple(int(v) for v in widths)


def check_generator(value: object, name: str = "generator") -> None:
    """None or a torch.Generator, or a TypeError naming `name`."""
    import torch

    if value is not None and not isinstance(value, torch.Generator):
        raise TypeError(f"{name} must be a torch.Generator (or None for the global random state), "
                        f"got {type(value).__name__}")


def memory_bytes() -> int:
    """This machine's total memory in bytes (0 when unknown)."""
    import os

    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return 0


def check_memory(n_bytes: int, name: str) -> None:
    """A ValueError naming `name` when an allocation of n_bytes could not fit in this machine's memory,
    raised before the allocator is asked (whose error names neither the argument nor the fix)."""
    available = memory_bytes()
    if available and n_bytes > available:
        raise ValueError(f"{name} asks for {n_bytes / 2**30:.0f} GiB, more than the {available / 2**30:.0f} GiB of "
                         f"memory here: ask for less (in chunks, if need be)")


def check_device(device: object, name: str = "device") -> "torch.device":
    """`device` as a torch.device that exists on this machine, or a ValueError naming `name`."""
    import torch

    try:
        dev = torch.device(device)  # type: ignore[arg-type]
    except (RuntimeError, TypeError, ValueError) as err:
        raise ValueError(
            f"{name} must be a device such as 'cpu', 'cuda', 'cuda:1' or 'mps' (or None for the best available), "
            f"got {device!r}"
        ) from err
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"{name} {device!r}: CUDA is not available on this machine; pass 'cpu', or None for "
                             f"the best available device")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"{name} {device!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    elif dev.type == "mps":
        if getattr(torch.backends, "mps", None) is None or not torch.backends.mps.is_available():
            raise ValueError(f"{name} {device!r}: Apple's MPS is not available on this machine; pass 'cpu', or "
                             f"None for the best available device")
    elif dev.type != "cpu":
        raise ValueError(f"{name} {device!r}: genlab trains on 'cpu', 'cuda' or 'mps', not on {dev.type!r}")
    return dev
