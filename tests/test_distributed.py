"""`fit` under torchrun: two CPU processes (gloo) train as one process does with the same global batch.

The runs are real: `python -m torch.distributed.run --standalone --nproc_per_node 2` starts
tests/distributed/worker.py twice, and each process trains conformance cases with `genlab.fit`
from a *different* initialisation (fit must start them from rank 0's weights).
"""

from __future__ import annotations

import os
import time
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import genlab
from genlab import distributed
from test_conformance import CASES

WORKER = Path(__file__).parent / "distributed" / "worker.py"

# Cases whose losses are means over the samples and that draw all their training noise through
# `batch_random`: two processes must reproduce one process up to the order of float additions.
# (The others use batch statistics — batch norm on the CPU, TimeGAN's moments, feature matching,
# token-weighted means — which each process computes on its half; they are checked to train.)
EXACT = ["GAN.mlp", "VAE.mlp", "GAN.mlp minimax d_steps ema packed", "GAN.mlp spectral norm TTUR R1",
         "DDPM.mlp", "VAE.conv conditional", "VAEGAN.mlp", "MaskedVAE.conv", "SequenceRNN mixture",
         "RecurrentGAN.rcgan conditional", "VRNN", "AAE.conv mixture conditional", "BiGAN.mlp"]
# observed: at most 3.4e-7 (parameters) after 8 steps, on 1 thread per process
PARAMETER_TOLERANCE = 1e-5


def run(out: Path, cases: list[str], *options: str, processes: int | str = 2,
        check: bool = True) -> subprocess.CompletedProcess:
    """Run the worker: in `processes` processes under torchrun, in a plain process when processes is 1,
    in one process under torchrun when it is "torchrun 1"."""
    n = int(str(processes).split()[-1])
    launcher = [sys.executable] if processes == 1 else [
        sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={n}"]
    result = subprocess.run([*launcher, str(WORKER), str(out), *cases, *options], capture_output=True, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300)
    if check:
        assert result.returncode == 0, result.stderr[-4000:]
    return result


def load(path: Path) -> dict:
    return torch.load(path, weights_only=True)


def assert_states_close(a: dict, b: dict, atol: float) -> None:
    assert a.keys() == b.keys()
    for key, value in a.items():
        if value.is_floating_point():
            torch.testing.assert_close(value, b[key], rtol=0, atol=atol, msg=lambda m: f"{key}: {m}")
        else:
            assert torch.equal(value, b[key]), key


@pytest.mark.slow
@pytest.mark.distributed
def test_two_processes_train_as_one_process_with_the_same_global_batch(tmp_path):
    run(tmp_path / "one.pt", EXACT, "--steps", "8", processes=1)
    run(tmp_path / "two.pt", EXACT, "--steps", "8", "--expect-world", "2", processes=2)
    one, two = load(tmp_path / "one.pt"), load(tmp_path / "two.pt")
    for name in EXACT:
        assert_states_close(two[name]["state"], one[name]["state"], PARAMETER_TOLERANCE)
        # the history holds the mean over both processes: each process's own loss is of its half
        # of the batch, which differs from the whole batch's by far more than this
        assert two[name]["history"].keys() == one[name]["history"].keys()
        for loss, values in one[name]["history"].items():
            torch.testing.assert_close(torch.tensor(two[name]["history"][loss]), torch.tensor(values),
                                       rtol=1e-5, atol=1e-5, msg=lambda m: f"{name} {loss}: {m}")


@pytest.mark.slow
@pytest.mark.distributed
def test_one_process_under_torchrun_trains_exactly_as_a_plain_process(tmp_path):
    """The code path of any number of processes (process group, DDP wrappers), run with one."""
    cases = ["GAN.mlp", "VAE.mlp"]
    run(tmp_path / "plain.pt", cases, processes=1)
    run(tmp_path / "torchrun.pt", cases, "--expect-world", "1", processes="torchrun 1")
    plain, launched = load(tmp_path / "plain.pt"), load(tmp_path / "torchrun.pt")
    for name in cases:
        assert_states_close(launched[name]["state"], plain[name]["state"], atol=0)
        assert launched[name]["history"] == plain[name]["history"]


@pytest.mark.slow
@pytest.mark.distributed
def test_every_model_trains_on_two_processes_and_rank_0_writes_loadable_checkpoints(tmp_path):
    result = run(tmp_path / "two.pt", list(CASES), "--checkpoint", str(tmp_path / "ckpt"), "--checkpoint-every", "2")
    two = load(tmp_path / "two.pt")
    assert "batch norm on the CPU normalises each process's part of the batch" in result.stderr
    written = sorted(p.name for p in (tmp_path / "ckpt").iterdir())
    files = [f"{name.replace(' ', '_')}.pt" for name in CASES]
    assert written == sorted(files + [f".{f}.lock" for f in files])  # each with its lock file; no temporary files left
    for name in CASES:
        state = two[name]["state"]
        assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point()), name
        assert all(len(v) == 6 for v in two[name]["history"].values()), name
        # a plain model's state dict, with no DistributedDataParallel prefixes: genlab.load rebuilds it
        loaded = genlab.load(tmp_path / "ckpt" / f"{name.replace(' ', '_')}.pt", device="cpu").state_dict()
        assert_states_close(loaded, state, atol=0)


@pytest.mark.slow
@pytest.mark.distributed
def test_a_resumed_two_process_run_equals_an_uninterrupted_one(tmp_path):
    cases = ["GAN.mlp", "VAE.mlp"]
    run(tmp_path / "whole.pt", cases, "--steps", "8", "--checkpoint", str(tmp_path / "a"), "--checkpoint-every", "4")
    run(tmp_path / "half.pt", cases, "--steps", "4", "--checkpoint", str(tmp_path / "b"))
    run(tmp_path / "resumed.pt", cases, "--steps", "8", "--checkpoint", str(tmp_path / "b"), "--resume")
    whole, resumed = load(tmp_path / "whole.pt"), load(tmp_path / "resumed.pt")
    for name in cases:
        assert_states_close(resumed[name]["state"], whole[name]["state"], atol=0)
        assert resumed[name]["history"] == whole[name]["history"]


@pytest.mark.slow
@pytest.mark.distributed
def test_processes_that_drift_apart_are_stopped_with_the_network_named(tmp_path):
    result = run(tmp_path / "x.pt", ["bypassing DDP"], check=False)
    assert result.returncode != 0
    assert "by step 6 the processes hold different parameters in net" in result.stderr


@pytest.mark.slow
@pytest.mark.distributed
def test_the_global_batch_must_split_evenly_over_the_processes(tmp_path):
    result = run(tmp_path / "x.pt", ["VAE.mlp"], "--batch-size", "31", check=False)
    assert result.returncode != 0
    assert "batch_size 31 is the global batch, split evenly over the 2 processes" in result.stderr


# --- the pieces, in one process ---------------------------------------------------------------------


@pytest.mark.parametrize("batch_dim, size", [(0, (4, 3)), (1, (5, 4, 2))])
def test_batch_random_gives_each_process_its_rows_of_the_one_process_draw(batch_dim, size):
    for draw, kwargs in ((torch.randn, {}), (torch.rand, {}), (torch.randint, {"high": 7})):
        torch.manual_seed(0)
        whole = distributed.batch_random(draw, tuple(s * 3 if d == batch_dim else s for d, s in enumerate(size)),
                                         batch_dim=batch_dim, **kwargs)
        parts = []
        for rank in range(3):
            torch.manual_seed(0)
            with distributed.stepping(distributed.Shard(rank, 3)):
                parts.append(distributed.batch_random(draw, size, batch_dim=batch_dim, **kwargs))
        assert all(p.shape == size for p in parts)
        assert torch.equal(torch.cat(parts, dim=batch_dim), whole)
    # outside a step, the draw is the plain one
    torch.manual_seed(0)
    plain = torch.randn(size)
    torch.manual_seed(0)
    assert torch.equal(distributed.batch_random(torch.randn, size), plain)


def test_a_step_that_uses_a_wrapped_network_other_than_by_calling_it_is_explained():
    class Model(genlab.Trainable):
        def train_step(self, batch, optimizers, step):
            raise TypeError("'DistributedDataParallel' object is not subscriptable")

    with pytest.raises(TypeError, match="other than by calling it.*only through forward"):
        distributed.train_step(Model(), None, {}, 0, distributed.Shard(0, 2))
    with pytest.raises(TypeError, match="not subscriptable"):  # one process: the error as it was
        distributed.train_step(Model(), None, {}, 0, None)


# --- failures are bounded and named ----------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.distributed
def test_a_frozen_process_ends_the_run_within_the_timeout(tmp_path):
    """Process 1 stops (SIGSTOP) after step 2; process 0, waiting for it in the next collective,
    gives up after the 3 s timeout with an error that says so, instead of gloo's 30 minutes."""
    start = time.monotonic()
    result = run(tmp_path / "x.pt", ["VAE.mlp"], "--steps", "50", "--timeout", "3", "--freeze", "1:2", check=False)
    assert result.returncode != 0
    assert "did not answer within 3 s" in result.stderr, result.stderr[-3000:]
    assert time.monotonic() - start < 120


@pytest.mark.slow
@pytest.mark.distributed
def test_processes_given_different_runs_are_refused_with_the_differences_named(tmp_path):
    result = run(tmp_path / "x.pt", ["GAN.mlp"], "--differ", "data,steps,model", check=False)
    assert result.returncode != 0
    message = result.stderr
    assert "the processes of this run were given different runs" in message, message[-3000:]
    for field in ("data: ", "steps: 6 in process 0, 8 in process 1", "settings.hidden: 16 in process 0, 24",
                  "parameters.generator.0.weight: [16, 2] in process 0, [24, 2]"):
        assert field in message, (field, message[-3000:])
    assert "collective mismatch" not in message.lower()
