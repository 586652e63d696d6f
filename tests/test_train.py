import os
from pathlib import Path

import pytest
import torch
from torch.utils.data import TensorDataset

import genlab
from genlab import losses
from genlab.checkpoint import atomic_save, load_checkpoint
from helpers import tiny_gan, tiny_vae


def params(model) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.state_dict().values()]


@pytest.mark.statistical
@pytest.mark.parametrize("make", [tiny_gan, tiny_vae])
def test_fit_returns_one_value_per_step_and_learns(make, ring_data, seed):
    """Against the same model untrained, on held-out ring samples: the VAE's importance-weighted NLL bound
    falls; for the GAN, the discriminator's loss on real data against the trained generator's samples falls
    below the untrained discriminator's. (A GAN's generator has no such one-sided measure after a short run:
    its samples' distance to the data rises and falls as the two players chase each other.)"""
    untrained, model = make(seed), make(seed)
    history = genlab.fit(model, ring_data, steps=200, batch_size=64, device="cpu", seed=seed)
    assert set(history) == ({"loss", "reconstruction", "kl"} if make is tiny_vae else {"d_loss", "g_loss"})
    assert all(len(v) == 200 for v in history.values())
    held_out = genlab.data.ring().sample(2000, seed=1000 + seed)
    g = lambda: torch.Generator().manual_seed(7)
    with torch.no_grad():
        if make is tiny_vae:
            nll = {m: -m.log_likelihood(held_out, k=10, generator=g()).mean().item() for m in (untrained, model)}
            # seeds 0–9, 1 thread (2 threads give the same): trained/untrained 0.10–0.52 (33–49 nats to 3–18)
            assert nll[model] < 0.75 * nll[untrained]
        else:
            fake = model.sample(2000, generator=g())
            d_loss = {m: losses.discriminator_loss(m.logits(held_out), m.logits(fake)).item()
                      for m in (untrained, model)}
            # seeds 0–9, 1 thread (2 threads give the same): lower by 0.034–0.109, from about log 4
            assert d_loss[model] < d_loss[untrained] - 0.015


@pytest.mark.statistical
def test_vae_loss_goes_down(ring_data, seed):
    history = genlab.fit(tiny_vae(seed), ring_data, steps=300, batch_size=128, device="cpu", seed=seed)
    first, last = sum(history["loss"][:20]) / 20, sum(history["loss"][-20:]) / 20
    # seeds 0–9, 1 thread: down by 39–51
    assert last < first - 0.5


def test_same_seed_same_result_on_cpu(ring_data):
    a, b = tiny_gan(), tiny_gan()
    ha = genlab.fit(a, ring_data, steps=20, batch_size=32, device="cpu", seed=5)
    hb = genlab.fit(b, ring_data, steps=20, batch_size=32, device="cpu", seed=5)
    assert ha == hb
    assert all(torch.equal(x, y) for x, y in zip(params(a), params(b)))
    c = tiny_gan()
    genlab.fit(c, ring_data, steps=20, batch_size=32, device="cpu", seed=6)
    assert not all(torch.equal(x, y) for x, y in zip(params(a), params(c)))


def test_fit_accepts_tuples_and_tensor_datasets(ring_data):
    labels = torch.arange(len(ring_data))
    for data in [(ring_data, labels), TensorDataset(ring_data, labels)]:
        history = genlab.fit(tiny_vae(), data, steps=3, batch_size=16, device="cpu")
        assert len(history["loss"]) == 3


def test_labels_given_to_an_unconditional_model_are_ignored_as_documented(ring_data):
    """Documented behaviour: an unconditional model reads the samples only, so a labelled data
    set trains it exactly as the samples alone do (and a conditional one reads the labels)."""
    labels = torch.arange(len(ring_data)) % 4
    alone, labelled = tiny_vae(), tiny_vae()
    h1 = genlab.fit(alone, ring_data, steps=3, batch_size=16, device="cpu")
    h2 = genlab.fit(labelled, (ring_data, labels), steps=3, batch_size=16, device="cpu")
    assert h1 == h2 and all(torch.equal(a, b) for a, b in zip(alone.parameters(), labelled.parameters()))
    assert "an unconditional one\n            reads the samples only and ignores the rest" in genlab.fit.__doc__


def test_every_sample_is_seen_once_per_epoch(ring_data):
    seen = []

    class Recorder(genlab.VAE):
        def train_step(self, batch, optimizers, step):
            seen.append(batch[1])
            return {"loss": torch.zeros(())}

    torch.manual_seed(0)
    model = Recorder.mlp(hidden=4, depth=1)
    index = torch.arange(len(ring_data))
    genlab.fit(model, (ring_data, index), steps=8, batch_size=64, device="cpu")  # 512 / 64 = 8 batches
    assert torch.equal(torch.cat(seen).sort().values, index)


@pytest.mark.parametrize("make", [tiny_gan, tiny_vae])
def test_resume_is_bit_identical_to_an_uninterrupted_run(make, ring_data, tmp_path):
    # 512 samples in batches of 48: 10 batches an epoch, so the resume happens mid-epoch.
    full = make()
    full_history = genlab.fit(full, ring_data, steps=25, batch_size=48, device="cpu", seed=1)

    ckpt = tmp_path / "run.pt"
    first = make()
    genlab.fit(first, ring_data, steps=13, batch_size=48, device="cpu", seed=1, checkpoint=ckpt)
    resumed = make(seed=99)  # a different initialisation: everything must come from the checkpoint
    torch.manual_seed(12345)  # and from no global state left behind
    history = genlab.fit(resumed, ring_data, steps=25, batch_size=48, device="cpu", seed=1,
                         checkpoint=ckpt, resume=True)
    assert all(torch.equal(x, y) for x, y in zip(params(full), params(resumed)))
    assert history == full_history
    assert torch.equal(full.sample(5, generator=torch.Generator().manual_seed(0)),
                       resumed.sample(5, generator=torch.Generator().manual_seed(0)))


def test_checkpoint_contents_load_with_weights_only(ring_data, tmp_path):
    ckpt = tmp_path / "gan.pt"
    gan = tiny_gan()
    genlab.fit(gan, ring_data, steps=6, batch_size=32, device="cpu", checkpoint=ckpt, checkpoint_every=3)
    state = torch.load(ckpt, weights_only=True)
    assert state["step"] == 6 and len(state["optimizers"]) == 2
    assert set(state["history"]) == {"d_loss", "g_loss"} and len(state["history"]["d_loss"]) == 6
    other = tiny_gan(seed=3)
    load_checkpoint(ckpt, other, restore_rng=False)
    assert all(torch.equal(x, y) for x, y in zip(params(gan), params(other)))


class PoisonedVAE(genlab.VAE):
    """A VAE whose data turns to NaN from step `poison_at` on, as a diverging run would."""

    poison_at = 10**9
    calls = 0

    def train_step(self, batch, optimizers, step):
        self.calls += 1
        if self.calls > self.poison_at:
            batch = batch * float("nan")
        return super().train_step(batch, optimizers, step)


def test_divergence_stops_with_step_and_loss_and_keeps_last_good_checkpoint(ring_data, tmp_path):
    ckpt = tmp_path / "run.pt"
    torch.manual_seed(0)
    model = PoisonedVAE.mlp(hidden=16, depth=1)
    model.poison_at = 17
    with pytest.raises(genlab.TrainingDiverged, match=r"step 17: loss 'loss' = nan") as info:
        genlab.fit(model, ring_data, steps=40, batch_size=32, device="cpu", checkpoint=ckpt, checkpoint_every=5)
    assert str(ckpt) in str(info.value)

    # The checkpoint is the one from step 15, finite and equal to a clean run's step 15.
    clean = tiny_vae()
    genlab.fit(clean, ring_data, steps=15, batch_size=32, device="cpu")
    state = torch.load(ckpt, weights_only=True)
    assert state["step"] == 15
    assert all(torch.isfinite(t).all() for t in state["model"].values())
    assert all(torch.equal(a, b) for a, b in zip(state["model"].values(), params(clean)))
    assert sorted(p.name for p in tmp_path.iterdir()) == [".run.pt.lock", "run.pt"]  # no temporary file left


def test_an_interrupted_write_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    path = tmp_path / "state.pt"
    atomic_save({"step": 1}, path)

    def failing_save(obj, f):
        f.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        atomic_save({"step": 2}, path)
    monkeypatch.undo()
    assert torch.load(path, weights_only=True) == {"step": 1}
    assert os.listdir(tmp_path) == ["state.pt"]


def test_callback_is_called_on_schedule(ring_data):
    calls = []
    genlab.fit(tiny_vae(), ring_data, steps=10, batch_size=32, device="cpu",
               callback=lambda step, model, history: calls.append((step, len(history["loss"]))), callback_every=4)
    assert calls == [(4, 4), (8, 8)]


def test_a_callback_without_callback_every_runs_whenever_the_losses_are_read(ring_data):
    """Left out, callback_every calls the callback every log_every steps and after the last step, so a
    callback is never silently skipped (before, it was never called); 0 with a callback is refused."""
    calls = []
    genlab.fit(tiny_vae(), ring_data, steps=7, batch_size=32, device="cpu", log_every=3,
               callback=lambda step, model, history: calls.append((step, len(history["loss"]))))
    assert calls == [(3, 3), (6, 6), (7, 7)]
    calls.clear()
    genlab.fit(tiny_vae(), ring_data, steps=5, batch_size=32, device="cpu",  # fewer steps than log_every
               callback=lambda step, model, history: calls.append(step))
    assert calls == [5]
    with pytest.raises(ValueError, match="callback_every=0 would never call the callback"):
        genlab.fit(tiny_vae(), ring_data, steps=5, batch_size=32, device="cpu", callback=print, callback_every=0)
    assert genlab.fit(tiny_vae(), ring_data, steps=2, batch_size=32, device="cpu", callback_every=0)  # no callback


def test_numpy_arrays_train_as_the_same_tensors_would():
    """A numpy array is data like the tensor it holds (float64 converted to float32 as for tensors), alone
    or in a tuple; what cannot be data is refused with the conversion to make."""
    import numpy as np

    ring = genlab.data.ring().sample(128, seed=0).double()
    from_tensor = genlab.fit(tiny_vae(), ring, steps=5, batch_size=32, device="cpu")
    from_numpy = genlab.fit(tiny_vae(), ring.numpy(), steps=5, batch_size=32, device="cpu")
    assert from_numpy == from_tensor
    images, labels = genlab.data.digits((0, 1)).tensors
    cvae = lambda: genlab.VAE.conv((1, 8, 8), latent_dim=2, channels=(4,), classes=10)
    torch.manual_seed(0)
    with_tensors = genlab.fit(cvae(), (images[:64], labels[:64]), steps=3, batch_size=16, device="cpu")
    torch.manual_seed(0)
    with_arrays = genlab.fit(cvae(), (images[:64].numpy(), labels[:64].numpy()), steps=3, batch_size=16, device="cpu")
    assert with_arrays == with_tensors
    reversed_view = np.ascontiguousarray(ring.numpy())[::-1]  # negative strides: copied, not refused
    assert genlab.fit(tiny_vae(), reversed_view, steps=1, batch_size=32, device="cpu")
    with pytest.raises(TypeError, match=r"got list: convert it with torch.as_tensor\(data, dtype=torch.float32\)"):
        genlab.fit(tiny_vae(), ring.tolist(), steps=1, batch_size=32, device="cpu")


def test_zero_steps_is_allowed(ring_data):
    assert genlab.fit(tiny_vae(), ring_data, steps=0, batch_size=32, device="cpu") == {}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(data=torch.zeros(10, 3)), r"expects samples of shape \(2,\).*got data of shape \(10, 3\)"),
        (dict(data=torch.zeros(10)), r"got data of shape \(10,\)"),
        (dict(data=torch.zeros(0, 2)), "dataset is empty"),
        (dict(batch_size=0), "batch_size must be a positive integer"),
        (dict(batch_size=-4), "batch_size must be a positive integer"),
        (dict(batch_size=1000), "batch_size 1000 is larger than the dataset"),
        (dict(steps=-1), "steps must be a non-negative integer"),
        (dict(data=torch.tensor([[0.0, 1.0], [float("nan"), 0.0], [1.0, 1.0]])), "NaN or infinite .* first at index 1"),
        (dict(data=torch.tensor([[0.0, float("inf")], [1.0, 1.0]])), "NaN or infinite"),
        (dict(amp=True), "only supported on CUDA"),
        (dict(resume=True), "need a checkpoint path"),
    ],
)
def test_bad_input_is_named(kwargs, message, ring_data):
    args = dict(data=ring_data[:100], steps=5, batch_size=16, device="cpu") | kwargs
    data = args.pop("data")
    with pytest.raises(ValueError, match=message):
        genlab.fit(tiny_vae(), data, **args)


def test_wrong_data_type_is_named():
    with pytest.raises(TypeError, match="data must be a Tensor"):
        genlab.fit(tiny_vae(), [[0.0, 1.0]], steps=1, batch_size=1, device="cpu")


def test_missing_checkpoint_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "nothing.pt", tiny_vae())


def test_default_device_is_a_real_device():
    dev = genlab.device()
    assert torch.zeros(1, device=dev).device.type == dev.type
    if not torch.cuda.is_available():
        assert dev.type in {"cpu", "mps"}


def test_progress_bar_is_quiet_off_a_terminal(ring_data, capsys):
    genlab.fit(tiny_vae(), ring_data, steps=5, batch_size=32, device="cpu")
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_linear_lr_decay_reaches_zero_and_resumes_identically(tmp_path, ring_data):
    from helpers import tiny_gan

    seen = []
    model = tiny_gan()
    original = model.train_step

    def spy(batch, optimizers, step):
        seen.append(optimizers["discriminator"].param_groups[0]["lr"])
        return original(batch, optimizers, step)

    model.train_step = spy
    genlab.fit(model, ring_data, steps=10, batch_size=32, lr_decay="linear")
    assert seen[0] == pytest.approx(model.lr)
    assert seen == pytest.approx([model.lr * (1 - s / 10) for s in range(10)])

    # Interrupted at step 4 and resumed: the same weights as one uninterrupted run.
    whole = tiny_gan()
    genlab.fit(whole, ring_data, steps=8, batch_size=32, lr_decay="linear")
    ck = tmp_path / "gan.pt"

    def stop(step, model, history):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        genlab.fit(tiny_gan(), ring_data, steps=8, batch_size=32, lr_decay="linear", checkpoint=ck,
                   checkpoint_every=4, callback=stop, callback_every=4)
    resumed = tiny_gan(seed=5)
    genlab.fit(resumed, ring_data, steps=8, batch_size=32, lr_decay="linear", checkpoint=ck, resume=True)
    for a, b in zip(whole.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="lr_decay"):
        genlab.fit(tiny_gan(), ring_data, steps=2, batch_size=32, lr_decay="cosine")
