"""Train conformance cases with `genlab.fit`, in one process or as one of several under torchrun.

    python tests/distributed/worker.py OUT CASE [CASE ...] [--steps N] [--batch-size B] [--checkpoint DIR] [--resume]
        [--timeout SECONDS] [--freeze RANK:STEP] [--differ data,steps,model]
    python -m torch.distributed.run --standalone --nproc_per_node 2 tests/distributed/worker.py OUT CASE ...

Each process trains every named case (tests/test_conformance.py) from the same seed; rank 0
writes OUT, {case: {"state": the state dict, "history": the loss history}}, for
tests/test_distributed.py to compare. With --checkpoint, each case checkpoints to
DIR/<case>.pt (every --checkpoint-every steps); --resume continues from there.

For the failure tests: --freeze RANK:STEP stops process RANK with SIGSTOP after step STEP (a
helper kills it 10 s later, so that nothing is left behind); --differ gives process 1 other
data, another number of steps or a wider model than process 0.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parents[1]))  # tests/, for the conformance cases
import genlab  # noqa: E402
from test_conformance import CASES, build  # noqa: E402


class Bypassing(genlab.Trainable):
    """A model whose step reaches inside DistributedDataParallel (`net.module`), so that its
    gradients are never averaged: fit must notice that the processes drift apart."""

    data_shape = (2,)

    def __init__(self) -> None:
        super().__init__()
        self.net = torch.nn.Linear(2, 1)

    def configure_optimizers(self):
        return {"net": torch.optim.SGD(self.net.parameters(), lr=0.1)}

    def train_step(self, batch, optimizers, step):
        loss = getattr(self.net, "module", self.net)(batch).pow(2).mean()
        self.optimizer_step(optimizers["net"], loss)
        return {"loss": loss.detach()}


EXTRA = {"bypassing DDP": lambda: Bypassing()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("cases", nargs="+", choices=sorted(CASES) + sorted(EXTRA), metavar="CASE")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--checkpoint", type=Path)
    parser.add_argument("--checkpoint-every", type=int, default=0)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--expect-world", type=int, help="fail unless fit trained in this many processes")
    parser.add_argument("--timeout", type=float, default=300.0, help="fit's distributed_timeout")
    parser.add_argument("--freeze", help="RANK:STEP: stop process RANK after step STEP")
    parser.add_argument("--differ", default="", help="what process 1 has different: data, steps, model")
    args = parser.parse_args()
    rank = int(os.environ.get("RANK", "0"))
    differ = set(args.differ.split(",")) - {""} if rank == 1 else set()
    callback = None
    if args.freeze:
        frozen_rank, frozen_step = map(int, args.freeze.split(":"))

        def callback(step, model, history):
            if rank == frozen_rank and step == frozen_step:
                subprocess.Popen(["sh", "-c", f"sleep 6; kill -KILL {os.getpid()}"], start_new_session=True)
                os.kill(os.getpid(), signal.SIGSTOP)
    torch.set_num_threads(1)
    results = {}
    for name in args.cases:
        # a different initialisation on every process: fit must start them all from rank 0's
        seed = int(os.environ.get("RANK", "0")) + 100
        model = build(name, seed=seed) if name in CASES else EXTRA[name]()
        if "model" in differ:
            model = genlab.GAN.mlp(hidden=24, depth=1)
        data = CASES[name].data() if name in CASES else torch.randn(64, 2, generator=torch.Generator().manual_seed(0))
        if "data" in differ:
            data = data.flip(0)
        checkpoint = args.checkpoint / f"{name.replace(' ', '_')}.pt" if args.checkpoint else None
        history = genlab.fit(model, data, steps=args.steps + 2 * ("steps" in differ), batch_size=args.batch_size,
                             device="cpu", seed=args.seed, progress=False, log_every=2, checkpoint=checkpoint,
                             checkpoint_every=args.checkpoint_every, resume=args.resume,
                             distributed_timeout=args.timeout, callback=callback, callback_every=1 if callback else 0)
        results[name] = {"state": {k: v.detach().clone() for k, v in model.state_dict().items()},
                         "history": history}
    if args.expect_world is not None:
        world = torch.distributed.get_world_size() if torch.distributed.is_initialized() else 0
        assert world == args.expect_world, f"fit trained in a process group of {world}, not {args.expect_world}"
    if genlab.distributed.rank() == 0:
        torch.save(results, args.out)


if __name__ == "__main__":
    main()
