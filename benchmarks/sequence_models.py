"""How much does `genlab.fit` cost over a plain loop for the sequence models of chapter 7?

For TimeGAN (each of its three phases, timed apart), C-RNN-GAN, RCGAN and the VRNN, the same
networks, losses, optimizer settings and batch are trained twice: by `genlab.fit`, and by a
plain PyTorch loop written as the papers' code trains them — each phase computing only the
losses it steps, one `.item()` per step to log. The runs are interleaved (plain, fit, plain,
fit, …) and the medians compared, as in `fit_overhead.py`. Goal: fit / plain ≥ 0.95 for every
row. The sizes are those of the sines benchmark (24 steps of 5 features, batch 128; TimeGAN with
the official 3-layer GRUs of 24 units and two generator updates per joint step).

    python benchmarks/sequence_models.py [--steps 40] [--repeats 3] [--device cpu] [--out FILE [--overwrite]]

On a loaded machine read the ratios, not the seconds.
"""

from __future__ import annotations

import argparse
import warnings

import torch
import torch.nn.functional as F

import genlab
from fit_overhead import batches, command_line, format_table, measure
from genlab import losses
from genlab.models.timegan import bce, moment_loss, next_step_loss
from results import add_out_arguments, check_out, count, write_out

LENGTH, FEATURES, BATCH_SIZE = 24, 5, 128
LONG = 10**9  # a phase that lasts for the whole timed run


def sines(device: torch.device) -> torch.Tensor:
    return genlab.data.sines(n=1_024, length=LENGTH, features=FEATURES, seed=0).to(device)


# --- TimeGAN, one phase at a time ---------------------------------------------------------------

def make_timegan(phase: str) -> genlab.TimeGAN:
    """TimeGAN that stays in `phase` for every timed step (official sizes and updates)."""
    torch.manual_seed(0)
    steps = {"embedding": (LONG, 0), "supervised": (0, LONG), "joint": (0, 0)}[phase]
    return genlab.TimeGAN(length=LENGTH, features=FEATURES, embedding_steps=steps[0], supervised_steps=steps[1],
                          generator_updates=2)


def adam(model: genlab.TimeGAN, *nets: torch.nn.Module) -> torch.optim.Adam:
    return torch.optim.Adam([p for net in nets for p in net.parameters()], lr=model.lr)


def step(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


def plain_embedding(data: torch.Tensor, steps: int, batch_size: int) -> list[float]:
    """Phase 1: the embedder and recovery learn to reconstruct, 10 √L_R."""
    model = make_timegan("embedding").to(data.device)
    e, r = model.embedder, model.recovery
    opt = adam(model, e, r)
    log = []
    for x in batches(data, steps, batch_size):
        loss = 10 * torch.sqrt(F.mse_loss(r(e(x)), x))
        step(opt, loss)
        log.append(loss.item())
    return log


def plain_supervised(data: torch.Tensor, steps: int, batch_size: int) -> list[float]:
    """Phase 2: the supervisor learns to predict the next latent step of real sequences, L_S."""
    model = make_timegan("supervised").to(data.device)
    e, s = model.embedder, model.supervisor
    opt = adam(model, model.generator, s)
    log = []
    for x in batches(data, steps, batch_size):
        with torch.no_grad():
            h = e(x)
        loss = next_step_loss(h, s(h))
        step(opt, loss)
        log.append(loss.item())
    return log


def plain_joint(data: torch.Tensor, steps: int, batch_size: int) -> list[float]:
    """Phase 3: two generator and embedder updates, then the discriminator while its loss > 0.15."""
    model = make_timegan("joint").to(data.device)
    e, r, g, s, d = model.embedder, model.recovery, model.generator, model.supervisor, model.discriminator
    opt_e, opt_g, opt_d = adam(model, e, r), adam(model, g, s), adam(model, d)
    gamma = model.gamma
    log = []
    for x in batches(data, steps, batch_size):
        for _ in range(2):
            e_hat = g(torch.rand(len(x), LENGTH, model.noise_dim, device=x.device))
            h_hat = s(e_hat)
            h = e(x).detach()
            g_loss = (bce(d(h_hat), 1.0) + gamma * bce(d(e_hat), 1.0) + 100 * torch.sqrt(next_step_loss(h, s(h)))
                      + 100 * moment_loss(r(h_hat), x))
            step(opt_g, g_loss)
            h = e(x)
            e_loss = 10 * torch.sqrt(F.mse_loss(r(h), x)) + 0.1 * next_step_loss(h, s(h))
            step(opt_e, e_loss)
        with torch.no_grad():
            h = e(x)
            e_hat = g(torch.rand(len(x), LENGTH, model.noise_dim, device=x.device))
            h_hat = s(e_hat)
        d_loss = bce(d(h), 1.0) + bce(d(h_hat), 0.0) + gamma * bce(d(e_hat), 0.0)
        if d_loss.item() > model.d_threshold:
            step(opt_d, d_loss)
        log.append(g_loss.item())
    return log


# --- recurrent GANs and the VRNN -----------------------------------------------------------------

def make_crnngan() -> genlab.RecurrentGAN:
    torch.manual_seed(0)
    return genlab.RecurrentGAN.crnngan(FEATURES, LENGTH, hidden=64, lr=1e-4, d_lr=4e-4)


def make_rcgan() -> genlab.RecurrentGAN:
    torch.manual_seed(0)
    return genlab.RecurrentGAN.rcgan(FEATURES, LENGTH, hidden=64, lr=1e-4, d_lr=4e-4)


def plain_recurrent_gan(make):
    def loop(data: torch.Tensor, steps: int, batch_size: int) -> list[float]:
        model = make().to(data.device)
        opts = model.configure_optimizers()
        opt_d, opt_g = opts["discriminator"], opts["generator"]
        log = []
        for x in batches(data, steps, batch_size):
            fake = model.generate(model.noise(len(x)))
            real_logits, _ = model.discriminate(x)
            fake_logits, _ = model.discriminate(fake.detach())
            step(opt_d, losses.discriminator_loss(real_logits.flatten(), fake_logits.flatten()))
            fake_logits, _ = model.discriminate(fake)
            g_loss = losses.generator_loss(fake_logits.flatten())
            step(opt_g, g_loss)
            log.append(g_loss.item())
        return log
    return loop


def make_vrnn() -> genlab.VRNN:
    torch.manual_seed(0)
    return genlab.VRNN(FEATURES, LENGTH, latent_dim=8, hidden=64, lr=3e-3)


def plain_vrnn(data: torch.Tensor, steps: int, batch_size: int) -> list[float]:
    """The negative ELBO per step, one sample of z_≤T per sequence."""
    model = make_vrnn().to(data.device)
    opt = torch.optim.Adam(model.parameters(), lr=model.lr)
    log = []
    for x in batches(data, steps, batch_size):
        terms = model.step_terms(x)
        loss = -terms["log_px"].mean() + terms["kl"].mean()
        step(opt, loss)
        log.append(loss.item())
    return log


CASES = {
    "TimeGAN, embedding phase": (lambda: make_timegan("embedding"), plain_embedding, sines, BATCH_SIZE),
    "TimeGAN, supervised phase": (lambda: make_timegan("supervised"), plain_supervised, sines, BATCH_SIZE),
    "TimeGAN, joint phase": (lambda: make_timegan("joint"), plain_joint, sines, BATCH_SIZE),
    "C-RNN-GAN": (make_crnngan, plain_recurrent_gan(make_crnngan), sines, BATCH_SIZE),
    "RCGAN": (make_rcgan, plain_recurrent_gan(make_rcgan), sines, BATCH_SIZE),
    "VRNN": (make_vrnn, plain_vrnn, sines, BATCH_SIZE),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=count, default=40)
    parser.add_argument("--repeats", type=count, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--cases", nargs="+", choices=list(CASES), help="the rows to time (default all)")
    add_out_arguments(parser, "the rows")
    args = parser.parse_args()
    check_out(parser, args)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", genlab.PhaseNotReached)  # each TimeGAN row stays in one phase on purpose
        result = measure(torch.device(args.device), args.steps, args.repeats, args.cases, catalogue=CASES)
    result["command"] = command_line()
    print(format_table(result))
    write_out(result, args.out)


if __name__ == "__main__":
    main()
