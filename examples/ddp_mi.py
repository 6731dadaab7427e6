"""MutualInformation as a term inside a user's DistributedDataParallel model.

    torchrun --nproc_per_node=2 examples/ddp_mi.py            # 2 CPU processes, gloo
    torchrun --nproc_per_node=2 examples/ddp_mi.py --method infonce
    python examples/ddp_mi.py                                 # one process, no torch.distributed

Two encoders f(x), g(y) are trained to keep what two noisy views of one 2-D signal share, by
maximising a MINE (or InfoNCE, NWJ, ...) bound on I(f(x); g(y)) (InfoMax, as in Deep InfoMax
or contrastive learning). Each rank draws its own local batch; with ``distributed=True`` the
bound is computed on the *global* batch: the critic's scores (and the y batch, for the
shuffled pairs and InfoNCE's negatives) are gathered from every rank with gradients, and
MINE's moving average is updated from the global batch, so it is the same on every rank (the
script checks it). By neuralmi.distributed's convention every rank computes the same loss, and
DDP's gradient averaging then gives the single-process gradient of the global batch: do not
divide the loss by the world size.

The views are x = s + 0.3 e1, y = s + 0.3 e2 (s, e1, e2 standard normal in 2-D), so
I(f(x); g(y)) <= I(x; y) = -log(1 - (1/1.09)^2) = 1.84 nats. Runs in well under 30 s on a CPU.
"""

from __future__ import annotations

import argparse
import math
import os
import time

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP

from neuralmi import MutualInformation
from neuralmi import distributed as nmd


class InfoMax(nn.Module):
    """Encoders of each view and the MI term; ``forward`` returns the loss to minimise."""

    def __init__(self, method: str) -> None:
        super().__init__()
        self.f = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 2))
        self.g = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 2))
        critic = "separable" if method == "infonce" else "concat"
        self.mi = MutualInformation(2, 2, method=method, critic=critic, hidden=(64,), seed=0, distributed=True)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # critic_loss carries the method's training gradient (MINE's corrected one) to the
        # critic and, through the encodings, to the encoders; value is the global batch's bound
        return self.mi.critic_loss(self.f(x), self.g(y), with_value=True)


def views(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    s = torch.randn(n, 2, generator=gen)
    return s + 0.3 * torch.randn(n, 2, generator=gen), s + 0.3 * torch.randn(n, 2, generator=gen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--method", default="mine", help="a bound of neuralmi.METHODS (default mine)")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch", type=int, default=128, help="rows per process and step")
    args = parser.parse_args()

    launched = "RANK" in os.environ  # torchrun sets RANK, WORLD_SIZE, MASTER_ADDR, ...
    if launched:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    torch.set_num_threads(1)
    rank, world = nmd.rank(), nmd.world_size()
    torch.manual_seed(0)  # the same initial weights on every rank (DDP also broadcasts rank 0's)
    model = InfoMax(args.method)
    ddp = DDP(model) if launched else model
    opt = torch.optim.Adam(ddp.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(1000 + rank)  # each rank its own data
    t0 = time.perf_counter()
    values = []
    for _ in range(args.steps):
        x, y = views(args.batch, gen)
        loss, value = ddp(x, y)
        opt.zero_grad()
        loss.backward()  # DDP averages the gradients over ranks
        opt.step()
        values.append(float(value))
    seconds = time.perf_counter() - t0

    # the moving average and the weights are the same on every rank
    state = torch.stack([model.mi.log_ema.detach().reshape(()), sum(p.detach().sum() for p in model.parameters())])
    everyone = nmd.all_gather(state.reshape(1, 2)).nan_to_num(nan=0.0)  # no moving average: NaN
    same = bool((everyone == everyone[0]).all())
    if rank == 0:
        tail = sum(values[-50:]) / len(values[-50:])
        print(f"{world} process(es), global batch {args.batch * world}, {args.steps} steps, {seconds:.1f} s")
        print(f"{args.method} bound on training batches (last 50 steps): {tail:.3f} nats "
              f"(ceiling I(x; y) = {-math.log(1 - (1 / 1.09) ** 2):.2f})")
        print(f"moving average and weights equal on every rank: {same}")
    if launched:
        dist.destroy_process_group()
    if not same:
        raise SystemExit("ranks disagree")


if __name__ == "__main__":
    main()
