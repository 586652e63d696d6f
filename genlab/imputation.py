"""Filling in missing values with trained generative models, and the baselines to beat.

Missing entries are described by a boolean `mask` of the data's shape, True where a
value was observed and False where it is missing; the values at missing positions may
be anything, NaN included, and are never read. Every imputation returns the data with
the observed entries unchanged (bit for bit) and the missing ones filled in:

- baselines: `mean_fill` (the average training value of each entry) and
  `nearest_neighbour_fill` (copy the missing part from the training sample closest on
  the observed part);
- a VAE: `pseudo_gibbs` (Rezende et al., 2014) and `metropolis_within_gibbs`
  (Mattei & Frellsen, 2018), two Markov chains that alternate between a code z and the
  missing entries;
- a GAN: `gan_inpaint`, a search for the code whose image best matches the observed
  entries (Yeh et al., 2017);
- sequences: `linear_gap_fill` and `rnn_gap_fill`, which fills a gap in a sequence with an
  autoregressive `SequenceRNN`, from the past alone or weighted by the observed future.

Images here are whatever the model was trained on: [0, 1] for a Bernoulli VAE, [-1, 1]
for a DCGAN.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

import torch
from torch import Tensor

from genlab.losses import diagonal_normal_log_prob, reparameterize, standard_normal_log_prob
from genlab.checks import check_count, check_probability, check_tensor

if TYPE_CHECKING:  # only for type hints: genlab.models.masked_vae imports this module
    from genlab.models.gan import GAN
    from genlab.models.sequence_rnn import SequenceRNN
    from genlab.models.vae import VAE


# --- masks ------------------------------------------------------------------------------


def check_missing(x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
    """Validate data with a missing-value mask; return (x with missing entries set to 0, mask).

    Raises:
        TypeError: x is not a floating-point tensor, or mask is not a boolean tensor.
        ValueError: the shapes differ, or an observed entry is NaN or infinite.
    """
    if not isinstance(x, Tensor) or not x.is_floating_point():
        raise TypeError(f"x must be a floating-point torch.Tensor, got {getattr(x, 'dtype', type(x).__name__)}")
    if not isinstance(mask, Tensor) or mask.dtype != torch.bool:
        raise TypeError(
            f"mask must be a boolean tensor (True = observed), got {getattr(mask, 'dtype', type(mask).__name__)}; "
            "convert a 0/1 mask with mask.bool()"
        )
    if mask.shape != x.shape:
        raise ValueError(f"mask must have the shape of x, {tuple(x.shape)}; got {tuple(mask.shape)}")
    mask = mask.to(x.device)
    if not torch.isfinite(x[mask]).all():
        raise ValueError("x has NaN or infinite values at observed positions (mask True); mark them missing")
    return torch.where(mask, x, torch.zeros((), dtype=x.dtype, device=x.device)), mask


def combine(x: Tensor, mask: Tensor, fill: Tensor) -> Tensor:
    """Observed entries from x, missing ones from fill (a tensor that broadcasts to x's shape)."""
    x, mask = check_missing(x, mask)
    check_tensor(fill, "fill")
    return torch.where(mask, x, fill.to(x.device, x.dtype).expand_as(x))


def _check_shape(shape: object) -> tuple[int, ...]:
    """shape as a tuple of non-negative ints (a single int n is taken as (n,), as torch does), or a ValueError."""
    if isinstance(shape, int) and not isinstance(shape, bool):
        shape = (shape,)
    if isinstance(shape, (str, bytes, bool)) or not hasattr(shape, "__iter__"):
        raise ValueError(f"shape must be a tuple of non-negative integers, got {shape!r}")
    shape = tuple(shape)
    return tuple(check_count(size, f"every size in shape {shape}") for size in shape)


def random_mask(shape: tuple[int, ...], missing: float, *, generator: torch.Generator | None = None,
                device: torch.device | str | None = None) -> Tensor:
    """Each entry missing independently with probability `missing` (missing completely at random).

    shape is a tuple of non-negative integers, missing a number in [0, 1].
    """
    shape = _check_shape(shape)
    check_probability(missing, "missing (the missing fraction)")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    return torch.rand(shape, generator=generator, device=device) >= missing


def bottom_half_mask(shape: tuple[int, ...], device: torch.device | str | None = None) -> Tensor:
    """Images (N, C, H, W): the top ⌈H/2⌉ rows observed, the bottom rows missing."""
    shape = _check_shape(shape)
    if len(shape) != 4:
        raise ValueError(f"shape must be an image shape (N, C, H, W) for a bottom-half mask, got {tuple(shape)}")
    mask = torch.ones(shape, dtype=torch.bool, device=device)
    mask[:, :, math.ceil(shape[2] / 2):] = False
    return mask


def masked_mse(completed: Tensor, truth: Tensor, mask: Tensor) -> float:
    """Mean squared error over the missing entries only (where mask is False).

    completed and truth are floating-point tensors of one shape, finite at the missing entries;
    mask is a boolean tensor of that shape (True = observed) with at least one False.
    """
    check_tensor(completed, "completed", floating=True)
    check_tensor(truth, "truth", floating=True)
    if not isinstance(mask, Tensor) or mask.dtype != torch.bool:
        raise TypeError(
            f"mask must be a boolean tensor (True = observed), got {getattr(mask, 'dtype', type(mask).__name__)}; "
            "convert a 0/1 mask with mask.bool()"
        )
    if completed.shape != truth.shape or mask.shape != truth.shape:
        raise ValueError(
            f"completed, truth and mask must have one shape; got completed {tuple(completed.shape)}, "
            f"truth {tuple(truth.shape)}, mask {tuple(mask.shape)}"
        )
    missing = ~mask.to(truth.device)
    if not missing.any():
        raise ValueError("nothing is missing: the error over missing entries is undefined (mask is all True)")
    for name, value in (("completed", completed.to(truth.device)), ("truth", truth)):
        if not torch.isfinite(value[missing]).all():
            raise ValueError(f"{name} has NaN or infinite values at missing positions (mask False)")
    return (completed.to(truth.device) - truth)[missing].pow(2).mean().item()


# --- baselines ----------------------------------------------------------------------------


def _check_reference(reference: Tensor, x: Tensor) -> None:
    """reference must be complete data (M ≥ 1, *x.shape[1:]) of real, finite numbers."""
    check_tensor(reference, "reference")
    if reference.dtype == torch.bool or reference.is_complex():
        raise TypeError(f"reference must hold real numbers, got dtype {reference.dtype}")
    if reference.ndim != x.ndim or reference.shape[1:] != x.shape[1:]:
        raise ValueError(
            f"reference samples must have the shape of x's samples, {tuple(x.shape[1:])}; "
            f"got reference of shape {tuple(reference.shape)}"
        )
    if len(reference) == 0:
        raise ValueError("reference holds no samples: it needs at least one complete sample")
    if reference.is_floating_point() and not torch.isfinite(reference).all():
        raise ValueError("reference contains NaN or infinite values; it must be complete data")


def mean_fill(x: Tensor, mask: Tensor, reference: Tensor) -> Tensor:
    """Fill each missing entry with that entry's mean over `reference` (complete data, (M, *shape))."""
    check_missing(x, mask)
    _check_reference(reference, x)
    return combine(x, mask, reference.to(x.device, x.dtype).mean(dim=0))


def nearest_neighbour_fill(x: Tensor, mask: Tensor, reference: Tensor) -> Tensor:
    """Copy the missing entries from the reference sample closest to x on x's observed entries.

    x, mask (B, *shape); reference (M, *shape), complete. The distance of x_i to r_j is
    Σ_j∈observed (x_ij − r_j)², computed for all pairs at once, (B, M).
    """
    x0, mask = check_missing(x, mask)
    _check_reference(reference, x)
    r = reference.to(x.device, x.dtype).flatten(1)  # (M, D)
    m, xm = mask.flatten(1).to(x.dtype), x0.flatten(1)  # (B, D); x0 is 0 where missing
    # Σ m (x − r)² = Σ m x² − 2 (m x)·r + m·r², expanded so no (B, M, D) tensor is needed
    distance = xm.pow(2).sum(1, keepdim=True) - 2 * xm @ r.T + m @ r.pow(2).T  # (B, M)
    nearest = r[distance.argmin(dim=1)].reshape(x.shape)
    return torch.where(mask, x0, nearest)


# --- a VAE: two Markov chains over (z, missing entries) ---------------------------------------


def _check_vae_inputs(vae: VAE, x: Tensor, mask: Tensor, steps: int) -> tuple[Tensor, Tensor]:
    x, mask = check_missing(x, mask)
    if tuple(x.shape[1:]) != vae.data_shape:
        raise ValueError(f"x must have shape (B, {', '.join(map(str, vae.data_shape))}) for this VAE, got {tuple(x.shape)}")
    check_count(steps, "steps", minimum=1)
    return x.to(vae.device), mask.to(vae.device)


@torch.no_grad()
def pseudo_gibbs(vae: VAE, x: Tensor, mask: Tensor, steps: int = 50, *, generator: torch.Generator | None = None) -> Tensor:
    """Iterate encoder and decoder with the observed entries clamped (Rezende et al., 2014).

    Starting from the zero-filled image, repeat: z ~ q(z | x̂), then x̂_missing = E[x_missing | z].
    If q were the exact posterior this would be a Gibbs sampler of p(z, x_m | x_o); with an
    approximate q it is a heuristic ("pseudo" Gibbs). Filling with the decoder's mean rather
    than a draw keeps the encoder's input like its training data (grey levels, not noise).

    x, mask: (B, *data_shape). Returns (B, *data_shape): the observed entries of x and, at
    missing ones, the average of E[x_m | z_t] over the second half of the chain.
    """
    x, mask = _check_vae_inputs(vae, x, mask, steps)
    with vae.evaluating():
        filled, total, kept = x, torch.zeros_like(x), 0
        for t in range(steps):
            mu, logvar = vae.encode(filled)
            mean = vae.mean(vae.decode(reparameterize(mu, logvar, generator=generator)))
            filled = torch.where(mask, x, mean)
            if t >= steps // 2:
                total, kept = total + mean, kept + 1
    return torch.where(mask, x, total / kept)


@torch.no_grad()
def metropolis_within_gibbs(
    vae: VAE, x: Tensor, mask: Tensor, steps: int = 50, *, generator: torch.Generator | None = None
) -> Tensor:
    """Sample p(z, x_m | x_o) exactly in the limit: Metropolis-within-Gibbs (Mattei & Frellsen, 2018).

    The state is a code z and the missing entries x_m. Each step proposes z' ~ q(z | x_o, x_m),
    accepts it with probability

        min(1, [p(x_o, x_m | z') p(z') q(z | x_o, x_m)] / [p(x_o, x_m | z) p(z) q(z' | x_o, x_m)]),

    then draws x_m ~ p(x_m | z). The encoder only proposes, so an imperfect q slows the chain
    down but does not bias it — unlike `pseudo_gibbs`. The chain starts from z ~ q(z | x_o, 0).

    x, mask: (B, *data_shape). Returns (B, *data_shape): observed entries of x and, at missing
    ones, the average of E[x_m | z_t] over the second half of the chain (an estimate of E[x_m | x_o]).
    """
    x, mask = _check_vae_inputs(vae, x, mask, steps)

    def log_joint(filled: Tensor, z: Tensor) -> tuple[Tensor, Tensor]:
        decoded = vae.decode(z)
        return vae.log_likelihood_given_z(filled, decoded) + standard_normal_log_prob(z), decoded

    with vae.evaluating():
        mu, logvar = vae.encode(x)
        z = reparameterize(mu, logvar, generator=generator)
        decoded = vae.decode(z)
        filled = torch.where(mask, x, vae.draw(decoded, generator=generator))
        total, kept = torch.zeros_like(x), 0
        for t in range(steps):
            mu, logvar = vae.encode(filled)
            proposal = reparameterize(mu, logvar, generator=generator)
            log_p_new, decoded_new = log_joint(filled, proposal)
            log_p_old, decoded_old = log_joint(filled, z)
            # log acceptance ratio of an independence proposal q(· | x_o, x_m)
            log_ratio = (log_p_new - diagonal_normal_log_prob(proposal, mu, logvar)) - (
                log_p_old - diagonal_normal_log_prob(z, mu, logvar)
            )
            u = torch.rand(log_ratio.shape, device=x.device, dtype=x.dtype, generator=generator)
            accept = torch.log(u) < log_ratio  # (B,)
            z = torch.where(accept.unsqueeze(1), proposal, z)
            keep = accept.view(-1, *([1] * (x.dim() - 1)))
            decoded = torch.where(keep, decoded_new, decoded_old)
            filled = torch.where(mask, x, vae.draw(decoded, generator=generator))  # x_m ~ p(x_m | z)
            if t >= steps // 2:
                total, kept = total + vae.mean(decoded), kept + 1
    return torch.where(mask, x, total / kept)


# --- a GAN: search the latent space ---------------------------------------------------------


def gan_inpaint(
    gan: GAN,
    x: Tensor,
    mask: Tensor,
    steps: int = 300,
    *,
    restarts: int = 4,
    lr: float = 0.05,
    prior_weight: float = 0.0,
    adversarial_weight: float = 0.0,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Fill the missing entries with G(z*), z* the code whose image best matches the observed ones.

    Semantic inpainting (Yeh et al., 2017): minimise over z, by Adam from `restarts` random
    starts per image,

        ‖mask ⊙ (G(z) − x)‖²  +  prior_weight · ½‖z‖²  +  adversarial_weight · log(1 − D(G(z))),

    the first term the "contextual" loss (squared rather than the paper's weighted L1), the
    second −log p(z) up to a constant, the third the paper's "perceptual" loss,
    which keeps G(z) where the discriminator believes it real. The start with the lowest
    contextual loss wins. The generator runs in eval mode (batch-norm running statistics)
    and its weights are untouched.

    x, mask: (B, *data_shape), values in the generator's range. Returns (B, *data_shape).
    """
    x, mask = check_missing(x, mask)
    if tuple(x.shape[1:]) != gan.data_shape:
        raise ValueError(f"x must have shape (B, {', '.join(map(str, gan.data_shape))}) for this GAN, got {tuple(x.shape)}")
    for name, value in (("steps", steps), ("restarts", restarts)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if min(prior_weight, adversarial_weight) < 0 or not lr > 0:
        raise ValueError("lr must be positive and the loss weights non-negative")
    x, mask = x.to(gan.device), mask.to(gan.device)
    b = x.shape[0]
    with gan.evaluating():
        # restarts copies of every image: (R·B, *data_shape), copy r of image i at row r·B + i
        target = x.repeat(restarts, *([1] * (x.dim() - 1)))
        observed = mask.repeat(restarts, *([1] * (x.dim() - 1))).to(x.dtype)
        z = gan.prior(restarts * b, generator).requires_grad_(True)
        optimizer = torch.optim.Adam([z], lr=lr)

        def contextual(image: Tensor) -> Tensor:
            return (observed * (image - target)).pow(2).flatten(1).sum(dim=1)  # (R·B,)

        with torch.enable_grad():
            for _ in range(steps):
                image = gan.generator(z)
                loss = contextual(image)
                if prior_weight:
                    loss = loss + prior_weight * 0.5 * z.pow(2).sum(dim=1)
                if adversarial_weight:
                    # perceptual loss log(1 − D) = −softplus(logit), minimised (Yeh et al., 2017)
                    loss = loss - adversarial_weight * torch.nn.functional.softplus(gan.logits(image))
                # gradient for z only: the networks' weights collect no gradient
                (z.grad,) = torch.autograd.grad(loss.sum(), z)
                optimizer.step()
        with torch.no_grad():
            image = gan.generator(z)
            best = contextual(image).reshape(restarts, b).argmin(dim=0)  # (B,)
            chosen = image.reshape(restarts, b, *x.shape[1:])[best, torch.arange(b, device=x.device)]
    return torch.where(mask, x, chosen)


# --- sequences: a gap in time ---------------------------------------------------------------


class GapFill(NamedTuple):
    """What `rnn_gap_fill` returns.

    mean: (B, G, F) the weighted mean of the paths, the point fill.
    paths: (B, K, G, F) sampled fills.
    weights: (B, K) normalised weights of the paths (uniform when the future is ignored).
    effective_size: (B,) 1 / Σ w², how many equally weighted paths the weights are worth.
    """

    mean: Tensor
    paths: Tensor
    weights: Tensor
    effective_size: Tensor


def _check_gap(x: Tensor, start: int, stop: int) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"x must be a tensor of sequences (batch, time, features), got {type(x).__name__}")
    if x.ndim != 3:
        raise ValueError(f"x must be sequences of shape (batch, time, features), got {tuple(x.shape)}")
    if x.dtype == torch.bool or x.is_complex():
        raise TypeError(f"x must hold real numbers, got dtype {x.dtype}")
    for name, value in (("start", start), ("stop", stop)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be an integer time index, got {value!r}")
    if not (isinstance(start, int) and isinstance(stop, int) and 1 <= start < stop < x.shape[1]):
        raise ValueError(
            f"the gap [start, stop) must have at least one observed step before and after it: "
            f"need 1 ≤ start < stop < {x.shape[1]}, got start={start}, stop={stop}"
        )
    if not torch.isfinite(x[:, :start]).all() or not torch.isfinite(x[:, stop:]).all():
        raise ValueError("x has NaN or infinite values outside the gap")


def linear_gap_fill(x: Tensor, start: int, stop: int) -> Tensor:
    """Straight line from x[:, start − 1] to x[:, stop] across the gap: (B, T, F) -> (B, stop − start, F).

    It needs the value after the gap: it uses the future.
    """
    _check_gap(x, start, stop)
    a, b = x[:, start - 1 : start], x[:, stop : stop + 1]  # (B, 1, F) each
    t = torch.arange(1, stop - start + 1, device=x.device, dtype=x.dtype).view(1, -1, 1) / (stop - start + 1)
    return a + t * (b - a)


@torch.no_grad()
def rnn_gap_fill(
    model: SequenceRNN,
    x: Tensor,
    start: int,
    stop: int,
    n_paths: int = 100,
    *,
    use_future: bool = True,
    future_steps: int | None = None,
    generator: torch.Generator | None = None,
) -> GapFill:
    """Fill x[:, start:stop] with an autoregressive model, from the past alone or also from the future.

    The model factorises p(x) = ∏_t p(x_t | x_<t), so it can only *sample* forward: K paths
    through the gap drawn from p(x_gap | x_before) ignore everything after the gap. With
    `use_future`, each path is weighted by how well it lets the model predict the observed
    steps after the gap, w_k ∝ p(x_after | x_before, path_k) — self-normalised importance
    sampling with the forward model as proposal, whose weighted paths approximate
    p(x_gap | x_before, x_after) as K grows (sampling-importance-resampling; Bishop, 2006,
    section 11.1.5). The same trained model, no retraining; the cost is K forward passes per sequence.

    x: (B, T, F) with finite values outside the gap (the gap's values are not read).
    future_steps: condition on only this many steps after the gap (default: all). The more
        observed steps a path must explain, the more unequal the weights become, until one
        path takes nearly all the weight (see `GapFill.effective_size`).
    Returns a `GapFill`.
    """
    _check_gap(x, start, stop)
    if not isinstance(n_paths, int) or n_paths < 1:
        raise ValueError(f"n_paths must be a positive integer, got {n_paths!r}")
    if future_steps is not None and (not isinstance(future_steps, int) or future_steps < 1):
        raise ValueError(f"future_steps must be a positive integer or None, got {future_steps!r}")
    if x.shape[-1] != model.features:
        raise ValueError(f"the model has {model.features} features, x has {x.shape[-1]}")
    with model.evaluating():
        x = x.to(model.device, model.start.dtype)
        b, length, f = x.shape
        k, gap = n_paths, stop - start
        prefix = x[:, :start].repeat_interleave(k, dim=0)  # (B·K, start, F), the K copies of sequence i together
        paths = model.sample(b * k, length=gap, prefix=prefix, generator=generator)  # (B·K, G, F)
        if use_future:
            full = torch.cat([prefix, paths, x[:, stop:].repeat_interleave(k, dim=0)], dim=1)  # (B·K, T, F)
            end = length if future_steps is None else min(length, stop + future_steps)
            full = full[:, :end]
            log_w = -model.step_nll(full)[:, stop:].sum(dim=1).reshape(b, k)  # log p(x_after | x_before, path)
            weights = torch.softmax(log_w, dim=1)
        else:
            weights = torch.full((b, k), 1.0 / k, device=x.device, dtype=x.dtype)
        paths = paths.reshape(b, k, gap, f)
        mean = (weights.view(b, k, 1, 1) * paths).sum(dim=1)
    return GapFill(mean, paths, weights, 1.0 / weights.pow(2).sum(dim=1))
