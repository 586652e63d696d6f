"""Nothing lost, nothing silent: checksummed checkpoints, one writer per path, honest resume,
and the edges of divergence (a full disk, no checkpoint yet, an unwritable path)."""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
import zipfile

import pytest
import torch

import genlab
from genlab.checkpoint import (
    CheckpointError,
    CheckpointInUse,
    digests,
    load_checkpoint,
    read_checkpoint,
    remove_orphans,
    snapshots,
)
from helpers import tiny_gan, tiny_vae

FIT = {"steps": 4, "batch_size": 32, "device": "cpu", "seed": 1}


def params(model):
    return [p.detach().clone() for p in model.state_dict().values()]


def trained(path, data, make=tiny_vae, **kwargs):
    model = make()
    genlab.fit(model, data, checkpoint=path, **(FIT | kwargs))
    return model


def edit(path, change, fix_digests=False):
    """Load a checkpoint as a hand editor would, change it, save it again (with its digests
    recomputed when `fix_digests`, as a careful editor would)."""
    state = torch.load(path, weights_only=True)
    change(state)
    if fix_digests:
        state["digests"] = digests(state)
    torch.save(state, path)


# --- 1. checksums ------------------------------------------------------------------------------------


def test_every_bit_flip_is_detected_or_harmless(ring_data, tmp_path):
    """Flip one bit at 120 places spread over the file: each load is refused with a CheckpointError
    naming the file, or (a flip in the archive's bookkeeping) yields exactly the saved contents."""
    path = tmp_path / "run.pt"
    trained(path, ring_data)
    original, good = path.read_bytes(), read_checkpoint(path)
    damaged = tmp_path / "damaged.pt"
    refused = 0
    for i in range(120):
        position = i * len(original) // 120 + 7
        flipped = bytearray(original)
        flipped[position] ^= 1 << (i % 8)
        damaged.write_bytes(bytes(flipped))
        try:
            state = read_checkpoint(damaged)
        except CheckpointError as err:
            assert str(damaged) in str(err)
            refused += 1
            continue
        assert state["step"] == good["step"] and state["history"] == good["history"], position
        assert all(torch.equal(state["model"][k], v) for k, v in good["model"].items()), position
    assert refused > 60


def test_a_damaged_end_of_archive_is_called_damaged(ring_data, tmp_path):
    """A flip in the archive's end record that makes it claim several disks (zipfile raises
    BadZipFile from its own check) is a CheckpointError too."""
    path = tmp_path / "run.pt"
    trained(path, ring_data)
    raw = bytearray(path.read_bytes())
    raw[raw.rindex(b"PK\x06\x07") + 6] ^= 1  # the zip64 locator's disk number
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match=rf"{path} is damaged or not a checkpoint"):
        read_checkpoint(path)


def test_a_changed_tensor_is_named(ring_data, tmp_path):
    path = tmp_path / "run.pt"
    trained(path, ring_data)
    # flip one bit inside the stored bytes of a tensor, leaving the archive valid
    with zipfile.ZipFile(path) as archive:
        # a weight or an optimizer moment (the largest record, 5056 bytes, is the RNG state)
        records = [i for i in archive.infolist() if "/data/" in i.filename and 64 <= i.file_size < 5000]
        info = max(records, key=lambda i: i.file_size)
    raw = bytearray(path.read_bytes())
    header = raw[info.header_offset: info.header_offset + 30]
    start = info.header_offset + 30 + int.from_bytes(header[26:28], "little") + int.from_bytes(header[28:30], "little")
    raw[start + info.file_size // 2] ^= 0x10
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match=rf"{path}.*changed tensor (model|optimizers)/\S+") as info:
        load_checkpoint(path, tiny_vae())
    assert "digest" in str(info.value)


@pytest.mark.parametrize(
    "change, named",
    [
        (lambda s: s.update(step=7), "record"),
        (lambda s: s["history"]["loss"].__setitem__(0, 0.0), "record"),
        (lambda s: s["model"].__setitem__("encoder.0.weight", s["model"]["encoder.0.weight"] * 2), "changed tensor model/encoder.0.weight"),
        (lambda s: s["model"].pop("encoder.0.bias"), "missing tensor model/encoder.0.bias"),
        (lambda s: s.pop("digests"), "lost its digests"),
    ],
    ids=["step", "history", "weight", "missing weight", "digests removed"],
)
def test_a_hand_edit_is_refused_by_the_digests(change, named, ring_data, tmp_path):
    path = tmp_path / "run.pt"
    trained(path, ring_data)
    edit(path, change)
    with pytest.raises(CheckpointError, match=rf"{path}.*{named}"):
        read_checkpoint(path)


HIDDEN = 200_000  # a model of 2 × 200000² weights: 320 GB


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda s: s.update(step="5"), r"'step' entry is a str"),
        (lambda s: s.update(step=-1), r"its step is -1"),
        (lambda s: s.update(model=[1, 2]), r"'model' entry is a list"),
        (lambda s: s["model"].update({"encoder.0.weight": [0.0]}), r"model entry 'encoder.0.weight' is a list"),
        (lambda s: s.pop("rng"), r"no 'rng' entry"),
        (lambda s: s["rng"].update(cpu=torch.zeros(3, dtype=torch.uint8)), r"random-number-generator state"),
        (lambda s: s["history"].update(loss="low"), r"history of 'loss' is not a list of numbers"),
        (lambda s: s["optimizers"].update(model=[]), r"optimizer 'model' is not an optimizer's state dict"),
        (lambda s: s.update(config="{not json"), r"'config' record is not valid"),
        (lambda s: s.update(config="[1, 2]"), r"'config' record is not a mapping"),
        (lambda s: s.update(config=json.dumps({"class": "VAE"})), r"lacks a class, a constructor or the arguments"),
        (lambda s: s.update(config=json.dumps({"class": "VAE", "constructor": "__subclasshook__", "arguments": {}})),
         r"not a constructor genlab records"),
        (lambda s: s.update(config=json.dumps({"class": "Popen", "constructor": "__init__", "arguments": {}})),
         r"not a model genlab knows"),
        (lambda s: s.update(config=json.dumps({"class": "VAE", "constructor": "mlp", "arguments": {"nope": 1}})),
         r"does not build a model"),
        (lambda s: s.update(config=json.dumps({"class": "VAE", "constructor": "mlp", "arguments": {
            "data_dim": 2, "latent_dim": 2, "hidden": HIDDEN, "depth": 2}})), r"different model"),
        (lambda s: s.update(format=99), r"not a genlab checkpoint of format"),
    ],
    ids=["step str", "step negative", "model list", "tensor list", "rng missing", "rng size", "history str",
         "optimizer list", "config not json", "config list", "config incomplete", "constructor not marked",
         "class unknown", "arguments unknown", "hidden 200000", "format"],
)
def test_an_edited_file_with_recomputed_digests_is_still_refused_with_the_path_named(change, message, ring_data,
                                                                                     tmp_path):
    """A careful editor who recomputes the digests still gets a CheckpointError naming the path
    and the entry, from `genlab.load` as from `load_checkpoint`, before anything large is built."""
    path = tmp_path / "run.pt"
    trained(path, ring_data)
    edit(path, change, fix_digests=True)
    started = time.monotonic()
    with pytest.raises(CheckpointError, match=message) as info:
        genlab.load(path)
    assert str(path) in str(info.value)
    assert time.monotonic() - started < 10  # hidden=200000 is refused from the shapes, never allocated


def test_an_edited_optimizer_state_is_refused_and_leaves_model_and_optimizer_alone(ring_data, tmp_path):
    path = tmp_path / "run.pt"
    trained(path, ring_data)
    original = path.read_bytes()
    edit(path, lambda s: s["optimizers"]["model"]["param_groups"][0].pop("lr"), fix_digests=True)
    model = tiny_vae(seed=3)
    before = params(model)
    optimizers = model.configure_optimizers()
    with pytest.raises(CheckpointError, match=f"{path}: optimizer 'model' parameter group 0 has no 'lr'"):
        load_checkpoint(path, model, optimizers)
    path.write_bytes(original)
    edit(path, lambda s: s["optimizers"]["model"]["state"][0].update(exp_avg=torch.zeros(3)), fix_digests=True)
    with pytest.raises(CheckpointError, match=rf"{path}: optimizer 'model' holds a state 'exp_avg' of shape \(3,\) "
                                              rf"for a parameter of shape"):
        load_checkpoint(path, model, optimizers)
    path.write_bytes(original)
    assert all(torch.equal(a, b) for a, b in zip(before, params(model)))
    assert "lr" in optimizers["model"].param_groups[0]


def test_a_step_that_disagrees_with_the_history_is_refused_on_resume(ring_data, tmp_path):
    path = tmp_path / "run.pt"
    trained(path, ring_data)
    edit(path, lambda s: s.update(step=2), fix_digests=True)
    with pytest.raises(CheckpointError, match=r"at step 2 but its history holds \{'loss': 4"):
        genlab.fit(tiny_vae(), ring_data, checkpoint=path, resume=True, **(FIT | {"steps": 8}))


@pytest.mark.parametrize("content", [b"P", b"", b"not a checkpoint at all\n" * 10], ids=["1 byte", "empty", "text"])
def test_a_truncated_or_foreign_file_is_called_so_not_malicious(content, tmp_path):
    path = tmp_path / "run.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=rf"{path} is damaged or not a checkpoint: it is truncated") as info:
        genlab.load(path)
    assert "code" not in str(info.value)


def test_a_checkpoint_without_digests_loads_with_a_warning(ring_data, tmp_path):
    """Checkpoints of format 2 (written before digests) load, warn that they cannot be verified,
    and resume; the next save protects them."""
    path = tmp_path / "old.pt"
    model = trained(path, ring_data)

    def older(state):
        state.pop("digests")
        state["format"] = 2
        run = json.loads(state["run"])
        for key in ("constructor", "settings"):  # format 2 recorded no model settings
            run.pop(key)
        state["run"] = json.dumps(run)

    edit(path, older)
    with pytest.warns(UserWarning, match=f"{path} was written by an older genlab, without digests"):
        loaded = genlab.load(path)
    assert all(torch.equal(a, b) for a, b in zip(params(model), params(loaded)))
    with pytest.warns(UserWarning, match="without digests"):
        genlab.fit(tiny_vae(), ring_data, checkpoint=path, resume=True, **(FIT | {"steps": 6}))
    assert read_checkpoint(path)["format"] == 3


# --- 2. one writer per path --------------------------------------------------------------------------

HOLD = textwrap.dedent("""
    import sys
    from genlab.checkpoint import writer_lock
    with writer_lock(sys.argv[1]):
        print("held", flush=True)
        sys.stdin.read()
""")


def test_a_second_run_on_the_same_path_is_refused_at_once_naming_the_holder(ring_data, tmp_path):
    path = tmp_path / "run.pt"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        steps = []
        started = time.monotonic()
        with pytest.raises(CheckpointInUse, match=rf"{path} is being written by another run \(process "
                                                  rf"{holder.pid} on {socket.gethostname()}"):
            genlab.fit(tiny_vae(), ring_data, checkpoint=path, callback=lambda *a: steps.append(1), callback_every=1,
                       **FIT)
        assert time.monotonic() - started < 5 and not steps and not path.exists()
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    genlab.fit(tiny_vae(), ring_data, checkpoint=path, **FIT)  # released when the holder ended
    # and within one process, a run inside another run's callback is refused too
    inner = []

    def nested(step, model, history):
        with pytest.raises(CheckpointInUse):
            genlab.fit(tiny_vae(), ring_data, checkpoint=path, resume=True, **FIT)
        inner.append(step)

    genlab.fit(tiny_vae(), ring_data, checkpoint=path, overwrite=True, callback=nested, callback_every=2, **FIT)
    assert inner == [2, 4]


def dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_orphans_of_dead_writers_go_and_live_writers_files_stay(ring_data, tmp_path):
    host, dead = socket.gethostname(), dead_pid()
    live = subprocess.Popen(["sleep", "30"])
    try:
        files = {
            f".run.pt.{dead}@{host}.a1b2.tmp": False,  # False: an orphan, removed
            f".run.step000000004.pt.{dead}@{host}.x_y9.tmp": False,  # a kept copy's (keep > 1)
            ".run.pt.k1ll3d.tmp": False,  # written by an older genlab
            f".run.pt.{live.pid}@{host}.c3d4.tmp": True,  # True: a live writer's, kept
            f".run.pt.{dead}@another-machine.e5f6.tmp": True,  # another machine's: cannot be asked
            ".other.pt.abc.tmp": True,
            ".run.pt.lock": True,
        }
        for name in files:
            (tmp_path / name).write_bytes(b"part of a checkpoint")
        genlab.fit(tiny_vae(), ring_data, checkpoint=tmp_path / "run.pt", **FIT)
        for name, stays in files.items():
            assert (tmp_path / name).exists() == stays, name
    finally:
        live.kill()
        live.wait()


KILLED_WRITER = textwrap.dedent("""
    import os, signal, sys
    import torch
    import genlab
    calls = [0]
    fsync = os.fsync

    def dying_fsync(fd):  # the 4th file written (the second save's kept copy) dies half-way
        calls[0] += 1
        if calls[0] == 4:
            os.kill(os.getpid(), signal.SIGKILL)
        fsync(fd)

    os.fsync = dying_fsync
    torch.manual_seed(0)
    data = genlab.data.ring().sample(256, seed=0)
    genlab.fit(genlab.VAE.mlp(hidden=16, depth=1), data, steps=8, batch_size=32, device="cpu", seed=1,
               checkpoint=sys.argv[1], checkpoint_every=2, keep=3)
""")


def test_a_kill_during_a_save_loses_nothing_and_leaves_no_orphan_behind(tmp_path):
    path = tmp_path / "run.pt"
    killed = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(path)], capture_output=True, timeout=120)
    assert killed.returncode == -9
    orphans = [p.name for p in tmp_path.glob(".run.step*.tmp")]
    assert len(orphans) == 1, os.listdir(tmp_path)
    assert read_checkpoint(path)["step"] == 4  # the main file of the second save was written
    torch.manual_seed(0)
    data = genlab.data.ring().sample(256, seed=0)
    history = genlab.fit(genlab.VAE.mlp(hidden=16, depth=1), data, steps=8, batch_size=32, device="cpu", seed=1,
                         checkpoint=path, checkpoint_every=2, keep=3, resume=True)
    assert len(history["loss"]) == 8
    # the copy of step 4 was never written; the last three that were remain
    assert sorted(p.name for p in tmp_path.iterdir()) == [".run.pt.lock", "run.pt", "run.step000000002.pt",
                                                          "run.step000000006.pt", "run.step000000008.pt"]


def test_remove_orphans_matches_every_temporary_name_genlab_writes(tmp_path, monkeypatch):
    """Whatever atomic_save names its temporary files, remove_orphans recognises them (once their
    writer is gone)."""
    from genlab import checkpoint

    names = []
    real_mkstemp = checkpoint.tempfile.mkstemp

    def recording(**kwargs):
        fd, name = real_mkstemp(**kwargs)
        names.append(name)
        return fd, name

    monkeypatch.setattr(checkpoint.tempfile, "mkstemp", recording)
    monkeypatch.setattr(checkpoint.torch, "save", lambda obj, f: (_ for _ in ()).throw(KeyboardInterrupt))
    for target in (tmp_path / "run.pt", checkpoint.snapshot_path(tmp_path / "run.pt", 12)):
        with pytest.raises(KeyboardInterrupt):
            checkpoint.atomic_save({}, target)
    monkeypatch.undo()
    assert len(names) == 2
    for name in names:  # as a killed process would have left them
        open(name, "wb").close()
    monkeypatch.setattr(checkpoint, "_alive", lambda pid: False)
    assert sorted(str(p) for p in remove_orphans(tmp_path / "run.pt")) == sorted(names)


def test_an_existing_checkpoint_is_replaced_only_when_asked(ring_data, tmp_path):
    path = tmp_path / "run.pt"
    trained(path, ring_data, keep=2, checkpoint_every=2)
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match=f"checkpoint {path} exists already: pass resume=True.*overwrite=True"):
        genlab.fit(tiny_vae(), ring_data, checkpoint=path, **FIT)
    assert path.read_bytes() == before
    path.unlink()  # kept copies alone count too
    with pytest.raises(FileExistsError, match="overwrite=True"):
        genlab.fit(tiny_vae(), ring_data, checkpoint=path, keep=2, **FIT)
    genlab.fit(tiny_vae(), ring_data, checkpoint=path, overwrite=True, **(FIT | {"steps": 3, "seed": 5}))
    assert read_checkpoint(path)["step"] == 3 and snapshots(path) == []  # the replaced run's copies are gone


def test_an_unwritable_checkpoint_path_is_found_before_the_first_step(ring_data, tmp_path):
    (tmp_path / "file").write_text("a file, not a directory")
    steps = []
    with pytest.raises(OSError, match=rf"cannot write the checkpoint {tmp_path / 'file' / 'run.pt'}"):
        genlab.fit(tiny_vae(), ring_data, checkpoint=tmp_path / "file" / "run.pt",
                   callback=lambda *a: steps.append(1), callback_every=1, **FIT)
    assert not steps


# --- 3. honest resume --------------------------------------------------------------------------------


def test_a_gan_cannot_resume_as_a_wgan_gp(ring_data, tmp_path):
    path = tmp_path / "gan.pt"
    trained(path, ring_data, make=tiny_gan)
    torch.manual_seed(0)
    wgan = genlab.GAN.mlp(data_dim=2, latent_dim=2, hidden=16, depth=2, loss="wgan-gp")
    with pytest.raises(CheckpointError, match=r"different training run.*settings\.loss: 'non-saturating' in the "
                                              r"checkpoint, 'wgan-gp' now"):
        genlab.fit(wgan, ring_data, checkpoint=path, resume=True, **(FIT | {"steps": 8}))


def test_a_changed_learning_rate_is_named_in_one_line(ring_data, tmp_path):
    path = tmp_path / "vae.pt"
    trained(path, ring_data)
    torch.manual_seed(0)
    faster = genlab.VAE.mlp(data_dim=2, latent_dim=2, hidden=16, depth=1, lr=5e-3)
    with pytest.raises(CheckpointError) as info:
        genlab.fit(faster, ring_data, checkpoint=path, resume=True, **(FIT | {"steps": 8}))
    message = str(info.value)
    assert "optimizers.model.lr: 0.001 in the checkpoint, 0.005 now" in message
    assert "settings.lr: 0.001 in the checkpoint, 0.005 now" in message
    assert "{" not in message and len(message) < 500


# --- 5. divergence edges -------------------------------------------------------------------------------


class Exploding(genlab.VAE):
    """Its losses stay finite, but the update of step `explode_at` makes a weight infinite."""

    explode_at = 10**9

    def train_step(self, batch, optimizers, step):
        out = super().train_step(batch, optimizers, step)
        if step == self.explode_at:
            with torch.no_grad():
                next(self.parameters()).mul_(float("inf"))
        return out


def exploding(at):
    torch.manual_seed(0)
    model = Exploding.mlp(data_dim=2, latent_dim=2, hidden=16, depth=1)
    model.explode_at = at
    return model


def test_non_finite_parameters_are_never_returned_without_a_checkpoint(ring_data):
    with pytest.raises(genlab.TrainingDiverged, match="by step 10: parameters .* became NaN") as info:
        genlab.fit(exploding(9), ring_data, **(FIT | {"steps": 10}))  # the last update: only the end sees it
    assert "checkpoint" not in str(info.value)
    assert len(info.value.history["loss"]) == 10
    with pytest.raises(genlab.TrainingDiverged, match="by step 4: parameters"):  # and at each read of the losses
        genlab.fit(exploding(3), ring_data, log_every=4, **(FIT | {"steps": 10}))


def test_a_divergence_before_the_first_save_speaks_of_no_checkpoint(ring_data, tmp_path):
    path = tmp_path / "run.pt"
    with pytest.raises(genlab.TrainingDiverged) as info:
        genlab.fit(exploding(2), ring_data, checkpoint=path, checkpoint_every=5, log_every=1, **(FIT | {"steps": 10}))
    assert "checkpoint" not in str(info.value) and not path.exists()
    with pytest.raises(genlab.TrainingDiverged, match=rf"the checkpoint {path} of step 5 is left as it was"):
        genlab.fit(exploding(6), ring_data, checkpoint=path, checkpoint_every=5, log_every=1, **(FIT | {"steps": 10}))


def enospc(obj, f):
    f.write(b"the first bytes")
    raise OSError(errno.ENOSPC, "No space left on device")


def torch_zip_writer_failure(obj, f):
    f.write(b"the first bytes")
    raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 4416 vs 4310")


@pytest.mark.parametrize("failing_save", [enospc, torch_zip_writer_failure], ids=["ENOSPC", "torch zip writer"])
def test_a_full_disk_is_named_with_the_path_and_the_history_is_kept(failing_save, ring_data, tmp_path, monkeypatch):
    path = tmp_path / "run.pt"
    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(OSError, match=rf"no space left on the device to write the checkpoint {path}.*the losses of "
                                      rf"the 4 steps trained so far are in this error's \.history") as info:
        genlab.fit(tiny_vae(), ring_data, checkpoint=path, **FIT)
    assert info.value.errno == errno.ENOSPC
    assert len(info.value.history["loss"]) == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == [".run.pt.lock"]  # no half-written file


def test_records_hold_the_classes_that_declare_a_tag_and_nothing_else():
    """genlab.records: a Vocabulary is written as its characters under its tag and read back equal, as any
    class registered with `recordable` would be; an unregistered object is refused by name."""
    from genlab.data import Vocabulary
    from genlab.records import RECORDABLE, from_json, recordable, to_json

    vocab = Vocabulary("abc")
    record = to_json({"vocab": vocab, "sizes": (1, 2), "name": "x"})
    assert record == {"vocab": {"__vocabulary__": "abc"}, "sizes": [1, 2], "name": "x"}
    back = from_json(json.loads(json.dumps(record)))
    assert back["vocab"].tokens == vocab.tokens and back["sizes"] == (1, 2)

    @recordable("__test_pair__")
    class Pair:
        def __init__(self, a, b):
            self.a, self.b = a, b

        def to_record(self):
            return [self.a, self.b]

        @classmethod
        def from_record(cls, data):
            return cls(*data)

    try:
        pair = from_json(to_json({"p": Pair(1, 2)}))["p"]
        assert (pair.a, pair.b) == (1, 2)
        with pytest.raises(ValueError, match="taken"):
            recordable("__test_pair__")(type("Other", (), {}))
    finally:
        del RECORDABLE["__test_pair__"]
    with pytest.raises(TypeError, match="object cannot be stored"):
        to_json(object())
