"""Honest resume: a checkpoint continues its own run or is refused, and never holds a poisoned state."""

from __future__ import annotations

import os

import pytest
import torch

import genlab
from genlab.checkpoint import CheckpointError, load_checkpoint, read_checkpoint, snapshots
from helpers import tiny_vae


def params(model):
    return [p.detach().clone() for p in model.state_dict().values()]


def first_run(path, data, **kwargs):
    model = tiny_vae()
    genlab.fit(model, data, **({"steps": 6, "batch_size": 32, "device": "cpu", "seed": 1, "checkpoint": path} | kwargs))
    return model


@pytest.mark.parametrize(
    "change, named",
    [
        (dict(batch_size=16), "batch_size"),
        (dict(seed=2), "seed"),
        (dict(data="other"), "data"),
        (dict(lr=5e-3), "optimizers"),
        (dict(lr_decay="linear"), "lr_decay"),
    ],
)
def test_a_different_run_is_refused_and_the_difference_named(change, named, ring_data, tmp_path):
    path = tmp_path / "run.pt"
    first_run(path, ring_data)
    data = ring_data.flip(0) if change.pop("data", None) else ring_data
    model = tiny_vae(seed=5)
    if "lr" in change:
        model.lr = change.pop("lr")
    before = params(model)
    settings = {"steps": 10, "batch_size": 32, "device": "cpu", "seed": 1} | change
    with pytest.raises(CheckpointError, match=f"different training run.*{named}") as info:
        genlab.fit(model, data, checkpoint=path, resume=True, **settings)
    assert str(path) in str(info.value)
    assert all(torch.equal(a, b) for a, b in zip(before, params(model))), "a refused resume leaves the model alone"


def test_more_steps_may_follow_but_not_when_the_learning_rate_decays_over_them(ring_data, tmp_path):
    path = tmp_path / "run.pt"
    first_run(path, ring_data)
    history = genlab.fit(tiny_vae(), ring_data, steps=10, batch_size=32, device="cpu", seed=1,
                         checkpoint=path, resume=True)
    assert len(history["loss"]) == 10
    decaying = tmp_path / "decay.pt"
    first_run(decaying, ring_data, lr_decay="linear")
    with pytest.raises(CheckpointError, match="steps"):
        genlab.fit(tiny_vae(), ring_data, steps=10, batch_size=32, device="cpu", seed=1,
                   checkpoint=decaying, resume=True, lr_decay="linear")


def test_a_missing_checkpoint_is_an_error_unless_a_fresh_start_is_asked_for(ring_data, tmp_path):
    path = tmp_path / "typo.pt"
    with pytest.raises(FileNotFoundError, match="resume='if-exists'"):
        genlab.fit(tiny_vae(), ring_data, steps=3, batch_size=32, device="cpu", checkpoint=path, resume=True)
    history = genlab.fit(tiny_vae(), ring_data, steps=3, batch_size=32, device="cpu", checkpoint=path,
                         resume="if-exists")
    assert len(history["loss"]) == 3 and path.exists()


class Exploding(genlab.VAE):
    """Its losses stay finite, but the update of step `explode_at` makes a weight infinite."""

    explode_at = 10**9

    def train_step(self, batch, optimizers, step):
        out = super().train_step(batch, optimizers, step)
        if step == self.explode_at:
            with torch.no_grad():
                next(self.parameters()).mul_(float("inf"))
        return out


def test_a_non_finite_update_never_reaches_a_checkpoint(ring_data, tmp_path):
    path = tmp_path / "run.pt"
    torch.manual_seed(0)
    model = Exploding.mlp(data_dim=2, latent_dim=2, hidden=16, depth=1)
    model.explode_at = 9  # the last update before the checkpoint of step 10: every loss so far is finite
    with pytest.raises(genlab.TrainingDiverged, match="parameters .* became NaN or infinite") as info:
        genlab.fit(model, ring_data, steps=20, batch_size=32, device="cpu", checkpoint=path, checkpoint_every=5)
    assert "step 10" in str(info.value)
    saved = read_checkpoint(path)
    assert saved["step"] == 5 and all(torch.isfinite(t).all() for t in saved["model"].values())
    # and the saved state resumes into a clean run
    torch.manual_seed(3)
    clean = Exploding.mlp(data_dim=2, latent_dim=2, hidden=16, depth=1)  # explode_at: never
    history = genlab.fit(clean, ring_data, steps=8, batch_size=32, device="cpu", checkpoint=path,
                         checkpoint_every=5, resume=True)
    assert len(history["loss"]) == 8 and all(map(torch.isfinite, map(torch.tensor, history["loss"])))


def test_the_last_k_checkpoints_are_kept(ring_data, tmp_path):
    path = tmp_path / "run.pt"
    genlab.fit(tiny_vae(), ring_data, steps=10, batch_size=32, device="cpu", checkpoint=path, checkpoint_every=2, keep=3)
    kept = snapshots(path)
    assert [read_checkpoint(p)["step"] for p in kept] == [6, 8, 10]
    assert read_checkpoint(path)["step"] == 10


def test_orphaned_temporary_files_are_cleaned(ring_data, tmp_path):
    path = tmp_path / "run.pt"
    orphan = tmp_path / ".run.pt.k1ll3d.tmp"
    orphan.write_bytes(b"half a checkpoint")
    unrelated = tmp_path / ".other.pt.abc.tmp"
    unrelated.write_bytes(b"not ours")
    genlab.fit(tiny_vae(), ring_data, steps=2, batch_size=32, device="cpu", checkpoint=path)
    assert not orphan.exists() and unrelated.exists()


def test_a_damaged_file_names_the_path_and_leaves_the_model_untouched(ring_data, tmp_path):
    path = tmp_path / "run.pt"
    first_run(path, ring_data)
    path.write_bytes(path.read_bytes()[: os.path.getsize(path) // 2])  # a crash mid-copy
    model = tiny_vae(seed=4)
    before = params(model)
    with pytest.raises(CheckpointError, match=f"{path}.*damaged"):
        load_checkpoint(path, model)
    with pytest.raises(CheckpointError, match="damaged"):
        genlab.fit(model, ring_data, steps=8, batch_size=32, device="cpu", checkpoint=path, resume=True)
    assert all(torch.equal(a, b) for a, b in zip(before, params(model)))


def test_a_checkpoint_of_another_model_is_refused_before_anything_is_loaded(ring_data, tmp_path):
    path = tmp_path / "run.pt"
    first_run(path, ring_data)
    torch.manual_seed(0)
    other = genlab.VAE.mlp(data_dim=2, latent_dim=2, hidden=8, depth=1)
    before = params(other)
    with pytest.raises(CheckpointError, match="different model.*other shape"):
        load_checkpoint(path, other)
    assert all(torch.equal(a, b) for a, b in zip(before, params(other)))


class Payload:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_a_pickle_with_code_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": 2, "model": Payload()}, path)
    with pytest.raises(CheckpointError, match="never unpickles code"):
        load_checkpoint(path, tiny_vae())


def test_a_directory_as_checkpoint_path_fails_before_training(ring_data, tmp_path):
    calls = []
    with pytest.raises(IsADirectoryError, match="is a directory"):
        genlab.fit(tiny_vae(), ring_data, steps=5, batch_size=32, device="cpu", checkpoint=tmp_path,
                   callback=lambda *a: calls.append(1), callback_every=1)
    assert not calls


def test_models_of_custom_networks_load_with_load_checkpoint_and_say_so(ring_data, tmp_path):
    from torch import nn

    model = genlab.VAE(nn.Linear(2, 4), nn.Linear(2, 2), latent_dim=2, data_shape=(2,))
    path = tmp_path / "custom.pt"
    genlab.fit(model, ring_data, steps=2, batch_size=32, device="cpu", checkpoint=path)
    with pytest.raises(CheckpointError, match="networks of your own.*load_checkpoint"):
        genlab.load(path)
    twin = genlab.VAE(nn.Linear(2, 4), nn.Linear(2, 2), latent_dim=2, data_shape=(2,))
    load_checkpoint(path, twin)
    assert all(torch.equal(a, b) for a, b in zip(params(model), params(twin)))
