"""The training protocol, proved on small models before the hybrids need it.

- a three-phase model (TimeGAN trains in phases: embedding, supervised, joint) whose phase is a
  function of the step, so a resumed run repeats the uninterrupted one across phase boundaries;
- a three-optimizer model whose three losses come from one forward pass (VAE-GAN's encoder,
  decoder and discriminator), updated exactly as the equations say;
- losses that stay on the device and are read every `log_every` steps;
- a KL weight that anneals with the step and resumes exactly.
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

import genlab
from genlab.models.base import GenerativeModel, Trainable
from genlab.train import LossLog


class ThreePhase(Trainable):
    """Phase 0 trains `a`, phase 1 trains `b`, phase 2 trains both; the phase is read off the step."""

    PHASES = (4, 8)  # phase 0 for steps 0-3, phase 1 for 4-7, phase 2 afterwards

    def __init__(self) -> None:
        super().__init__()
        self.data_shape = (2,)
        self.a, self.b = nn.Linear(2, 2), nn.Linear(2, 2)

    def configure_optimizers(self):
        return {"a": torch.optim.Adam(self.a.parameters(), lr=1e-2), "b": torch.optim.Adam(self.b.parameters(), lr=1e-2)}

    def phase(self, step: int) -> int:
        return sum(step >= boundary for boundary in self.PHASES)

    def train_step(self, batch, optimizers, step):
        phase = self.phase(step)
        x = batch + 0.1 * torch.randn_like(batch)  # global RNG: resume must restore it too
        loss_a = (self.a(x) - x).pow(2).mean()
        loss_b = (self.b(self.a(x)) + x).pow(2).mean()
        chosen = {0: {optimizers["a"]: loss_a}, 1: {optimizers["b"]: loss_b},
                  2: {optimizers["a"]: loss_a, optimizers["b"]: loss_b}}[phase]
        self.update(chosen)
        return {"phase": torch.tensor(float(phase)), "loss_a": loss_a.detach(), "loss_b": loss_b.detach()}


class ThreePlayers(GenerativeModel):
    """Encoder, decoder and critic, three losses from one forward pass, as in VAE-GAN."""

    def __init__(self) -> None:
        super().__init__()
        self.data_shape = (3,)
        self.encoder, self.decoder, self.critic = nn.Linear(3, 2), nn.Linear(2, 3), nn.Linear(3, 1)

    def configure_optimizers(self):
        sgd = lambda m: torch.optim.SGD(m.parameters(), lr=0.1)
        return {"encoder": sgd(self.encoder), "decoder": sgd(self.decoder), "critic": sgd(self.critic)}

    def losses(self, x):
        z = self.encoder(x)
        x_hat = self.decoder(z)
        reconstruction = (self.critic(x_hat) - self.critic(x)).pow(2).mean() + (x_hat - x).pow(2).mean()
        encoder_loss = reconstruction + z.pow(2).mean()
        decoder_loss = reconstruction - self.critic(x_hat).mean()
        critic_loss = self.critic(x_hat).mean() - self.critic(x).mean() + self.critic(x).pow(2).mean()
        return encoder_loss, decoder_loss, critic_loss

    def train_step(self, batch, optimizers, step):
        encoder_loss, decoder_loss, critic_loss = self.losses(batch)
        self.update({optimizers["encoder"]: encoder_loss, optimizers["decoder"]: decoder_loss,
                     optimizers["critic"]: critic_loss})
        return {"encoder": encoder_loss.detach(), "decoder": decoder_loss.detach(), "critic": critic_loss.detach()}

    def sample(self, n, *, condition=None, generator=None):
        self._check_n(n, condition)
        return self.decoder(torch.randn(n, 2, generator=generator))


def params(model):
    return [p.detach().clone() for p in model.state_dict().values()]


def test_phases_follow_the_step():
    torch.manual_seed(0)
    history = genlab.fit(ThreePhase(), torch.randn(64, 2), steps=12, batch_size=16, device="cpu")
    assert history["phase"] == [0.0] * 4 + [1.0] * 4 + [2.0] * 4


@pytest.mark.parametrize("stop", [3, 4, 5, 8, 10])
def test_resume_is_exact_across_phase_boundaries(stop, tmp_path):
    data = torch.randn(64, 2, generator=torch.Generator().manual_seed(1))
    torch.manual_seed(0)
    full = ThreePhase()
    full_history = genlab.fit(full, data, steps=12, batch_size=16, device="cpu", seed=3)
    path = tmp_path / "run.pt"
    torch.manual_seed(0)
    genlab.fit(ThreePhase(), data, steps=stop, batch_size=16, device="cpu", seed=3, checkpoint=path)
    torch.manual_seed(99)
    resumed = ThreePhase()
    history = genlab.fit(resumed, data, steps=12, batch_size=16, device="cpu", seed=3, checkpoint=path, resume=True)
    assert history == full_history
    assert all(torch.equal(a, b) for a, b in zip(params(full), params(resumed)))


def test_a_phase_updates_only_its_own_networks():
    torch.manual_seed(0)
    model = ThreePhase()
    optimizers = model.configure_optimizers()
    b_before = [p.detach().clone() for p in model.b.parameters()]
    model.train_step(torch.randn(8, 2), optimizers, step=0)
    assert all(p.grad is None for p in model.b.parameters()), "phase 0 must not back-propagate into b"
    assert all(torch.equal(a, p) for a, p in zip(b_before, model.b.parameters()))


def test_three_losses_from_one_forward_pass_take_every_gradient_before_any_step():
    torch.manual_seed(0)
    model = ThreePlayers()
    x = torch.randn(16, 3)
    # The expected update, by hand: each loss differentiated with respect to its own player,
    # all at the current parameters, then θ ← θ − 0.1 ∇θ.
    reference = copy.deepcopy(model)
    losses = reference.losses(x)
    players = (reference.encoder, reference.decoder, reference.critic)
    expected = []
    for loss, player in zip(losses, players):
        grads = torch.autograd.grad(loss, list(player.parameters()), retain_graph=True)
        expected += [p.detach() - 0.1 * g for p, g in zip(player.parameters(), grads)]
    model.train_step(x, model.configure_optimizers(), 0)
    got = [p.detach() for m in (model.encoder, model.decoder, model.critic) for p in m.parameters()]
    assert all(torch.allclose(a, b, atol=1e-7) for a, b in zip(got, expected))


def test_stepping_one_player_before_the_next_gradient_fails_loudly():
    """Why `update` takes every gradient first: an optimizer step modifies the shared graph's leaves."""
    torch.manual_seed(0)
    model = ThreePlayers()
    optimizers = model.configure_optimizers()
    encoder_loss, decoder_loss, _ = model.losses(torch.randn(16, 3))
    model.optimizer_step(optimizers["decoder"], decoder_loss)  # no retain_graph, and the decoder moved
    with pytest.raises(RuntimeError):
        model.optimizer_step(optimizers["encoder"], encoder_loss)


def test_losses_are_read_from_the_device_once_every_log_every_steps(monkeypatch):
    flushes = []
    original = LossLog.flush

    def counting(self, checkpoint=None):
        flushes.append(len(self.pending))
        return original(self, checkpoint)

    monkeypatch.setattr(LossLog, "flush", counting)
    torch.manual_seed(0)
    history = genlab.fit(genlab.VAE.mlp(hidden=8, depth=1), torch.randn(64, 2), steps=250, batch_size=16,
                         device="cpu", log_every=100)
    assert [n for n in flushes if n] == [100, 100, 50]
    assert len(history["loss"]) == 250


def test_a_nan_loss_is_reported_with_its_own_step_even_when_read_later():
    class Poisoned(genlab.VAE):
        def train_step(self, batch, optimizers, step):
            return super().train_step(batch * float("nan") if step >= 37 else batch, optimizers, step)

    torch.manual_seed(0)
    model = Poisoned.mlp(hidden=8, depth=1)
    with pytest.raises(genlab.TrainingDiverged, match="step 37: loss 'loss' = nan"):
        genlab.fit(model, torch.randn(64, 2), steps=100, batch_size=16, device="cpu", log_every=50)


def test_kl_warmup_is_a_function_of_the_step_and_resumes_exactly(tmp_path):
    vae = genlab.VAE.mlp(hidden=8, depth=1, beta=2.0, kl_warmup=10)
    assert [vae.kl_weight(s) for s in (0, 5, 10, 50)] == [0.0, 1.0, 2.0, 2.0]
    data = torch.randn(128, 2, generator=torch.Generator().manual_seed(0))
    make = lambda seed: (torch.manual_seed(seed), genlab.VAE.mlp(hidden=8, depth=1, kl_warmup=10))[1]
    full = make(0)
    full_history = genlab.fit(full, data, steps=16, batch_size=16, device="cpu", seed=1)
    path = tmp_path / "vae.pt"
    genlab.fit(make(0), data, steps=6, batch_size=16, device="cpu", seed=1, checkpoint=path)
    resumed = make(5)
    history = genlab.fit(resumed, data, steps=16, batch_size=16, device="cpu", seed=1, checkpoint=path, resume=True)
    assert history == full_history
    assert all(torch.equal(a, b) for a, b in zip(params(full), params(resumed)))


@pytest.mark.parametrize("make", [
    lambda: genlab.GAN.mlp(hidden=8, depth=1, d_steps=2),
    lambda: genlab.AAE.mlp(hidden=8, depth=1),
    lambda: genlab.BiGAN.mlp(hidden=8, depth=1),
    lambda: genlab.RecurrentGAN(2, 2, hidden=4),
    lambda: genlab.TimeGAN(length=2, features=2, hidden=4, embedding_steps=1, supervised_steps=1),
], ids=["GAN", "AAE", "BiGAN", "RecurrentGAN", "TimeGAN"])
def test_update_routes_the_gradients_so_the_detaches_only_save_work(make, monkeypatch):
    """update() back-propagates each loss into its own optimizer's parameters only, which is what keeps a
    discriminator's loss out of the generator (`Trainable.update`). The `.detach()` calls in the train
    steps are there to spare autograd the walk into the other player: with every detach turned into a
    no-op, the parameters after three steps are bit for bit the same."""
    sequences = isinstance(make(), (genlab.RecurrentGAN, genlab.TimeGAN))
    x = torch.rand(16, 2, 2) if sequences else torch.randn(16, 2)  # (length 2, 2 features) in [0, 1], or the plane

    def train() -> list[torch.Tensor]:
        torch.manual_seed(0)
        model = make()
        optimizers = model.configure_optimizers()
        for step in range(3):
            model.train_step(x, optimizers, step)
        return [t.clone() for t in model.state_dict().values()]

    with_detach = train()
    monkeypatch.setattr(torch.Tensor, "detach", lambda self: self)
    assert torch.zeros(1, requires_grad=True).detach().requires_grad  # the no-op is in place
    without_detach = train()
    monkeypatch.undo()
    assert all(torch.equal(a, b) for a, b in zip(with_detach, without_detach))
