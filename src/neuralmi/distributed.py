r"""Collectives for MI bounds across processes (``torch.distributed``): one global bound from
every rank's share of a batch, with gradients that flow back to each rank's own rows.

The pattern is open_clip's distributed contrastive loss (``gather_features``) and lightly's
``GatherLayer``: every rank gathers what the bound needs from the other ranks (scores, or the
``y`` batch for negatives), computes the bound on the *global* batch, and the backward pass of
each collective sends every rank the gradient of its own rows.

Every helper is a no-op (the local computation, bit for bit) when ``torch.distributed`` is not
initialised or the world has one process, so code written with them runs unchanged in a
single process.

The gradient convention
-----------------------
Each of the ``W`` ranks computes the **same global loss value** :math:`L` (the bound on the
global batch of :math:`B = \sum_r b_r` rows). The backward pass of every collective here
**sums** the incoming gradient over ranks (:func:`all_gather`: an all-reduce SUM of the
gathered gradient, then the rank's own slice; :func:`all_reduce_sum`: an all-reduce SUM).
So, for every parameter :math:`\theta`, the gradients :math:`g_r` left on the ranks add up to
:math:`\sum_r g_r = W\,\nabla_\theta L`: a path through rank ``r``'s own rows reaches ``r``
once from each of the ``W`` identical losses, and a path through replicated state (a
parameter used the same way on every rank, such as TUBA's baseline) gives the full gradient
once on each rank. **Averaging the gradients over ranks** (what ``DistributedDataParallel``
does, or :func:`average_gradients` after ``backward``) therefore leaves exactly
:math:`\nabla_\theta L`, the single-process gradient on the concatenated batch (up to
floating-point summation order). Do not also divide the loss by ``W``.

The one rule for code built on these helpers: every path from a rank's local tensors to the
loss must pass through a collective (a local mean that is not all-reduced would reach the
parameters with weight 1 instead of ``W``, and be divided by ``W`` by the averaging).

All ranks must call the collectives in the same order with the same shapes (rows may differ:
:func:`all_gather` takes uneven row counts). Scores are in nats where they are bounds.

>>> import torch
>>> world_size(), rank()
(1, 0)
>>> t = torch.tensor([0.0, 1.0, 2.0])
>>> bool(torch.isclose(global_logmeanexp(t), torch.logsumexp(t, 0) - torch.log(torch.tensor(3.0))))
True
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor, nn

__all__ = [
    "is_active",
    "world_size",
    "rank",
    "row_counts",
    "all_gather",
    "all_reduce_sum",
    "global_sum",
    "global_mean",
    "global_logmeanexp",
    "average_gradients",
    "synced_gradients",
    "comm_device",
]


def _dist() -> Any:
    import torch.distributed as dist

    return dist


def is_active() -> bool:
    """Whether ``torch.distributed`` is initialised with more than one process."""
    dist = _dist()
    return bool(dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1)


def world_size() -> int:
    """Number of processes (1 when ``torch.distributed`` is not initialised)."""
    dist = _dist()
    return int(dist.get_world_size()) if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    """This process's rank (0 when ``torch.distributed`` is not initialised)."""
    dist = _dist()
    return int(dist.get_rank()) if dist.is_available() and dist.is_initialized() else 0


def comm_device(like: Tensor | None = None) -> torch.device:
    """The device collectives run on: ``like``'s device, except that the NCCL backend needs the
    current CUDA device and gloo the CPU."""
    dist = _dist()
    if dist.is_available() and dist.is_initialized():
        backend = str(dist.get_backend()).lower()
        if backend == "nccl":
            return torch.device("cuda", torch.cuda.current_device())
        if backend == "gloo":
            return torch.device("cpu")
    return like.device if like is not None else torch.device("cpu")


def row_counts(n_local: int) -> list[int]:
    """Every rank's row count, in rank order (``[n_local]`` in one process). A collective."""
    if isinstance(n_local, bool) or not isinstance(n_local, int) or n_local < 0:
        raise ValueError(f"n_local must be a non-negative integer; got {n_local!r}")
    if not is_active():
        return [n_local]
    dist = _dist()
    dev = comm_device()
    mine = torch.tensor([n_local], dtype=torch.long, device=dev)
    out = [torch.zeros_like(mine) for _ in range(dist.get_world_size())]
    dist.all_gather(out, mine)
    return [int(c) for c in out]


def _gather_padded(t: Tensor, counts: list[int]) -> Tensor:
    """All ranks' ``t`` (rows may differ) concatenated in rank order, no gradient."""
    dist = _dist()
    dev = comm_device(t)
    longest = max(counts)
    src = t.detach().to(dev).contiguous()
    if src.shape[0] < longest:
        pad = src.new_zeros((longest - src.shape[0], *src.shape[1:]))
        src = torch.cat([src, pad])
    parts = [torch.empty_like(src) for _ in counts]
    dist.all_gather(parts, src)
    return torch.cat([p[:c] for p, c in zip(parts, counts)]).to(t.device)


class _AllGather(torch.autograd.Function):
    """Forward: rows of every rank, concatenated. Backward: the gradient of the gathered tensor
    summed over ranks (each rank's loss is the same global value), then this rank's rows."""

    @staticmethod
    def forward(ctx: Any, t: Tensor, counts: tuple[int, ...], me: int) -> Tensor:  # type: ignore[override]
        ctx.counts, ctx.me = counts, me
        return _gather_padded(t, list(counts))

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None]:  # type: ignore[override]
        dist = _dist()
        total = grad.detach().to(comm_device(grad)).contiguous().clone()
        dist.all_reduce(total, op=dist.ReduceOp.SUM)
        start = sum(ctx.counts[: ctx.me])
        return total[start : start + ctx.counts[ctx.me]].to(grad.device), None, None


def all_gather(t: Tensor, counts: list[int] | None = None) -> Tensor:
    r"""Every rank's ``t`` of shape ``(b_r, ...)`` concatenated in rank order, ``(sum_r b_r, ...)``,
    with gradients passed back to each rank's own rows (summed over ranks: see the module's
    gradient convention). Ranks may hold different numbers of rows; ``counts`` (from
    :func:`row_counts`) saves one collective when known. In one process: ``t`` itself.
    """
    if not isinstance(t, Tensor):
        raise TypeError(f"all_gather needs a tensor; got {type(t).__name__}")
    if t.ndim == 0:
        raise ValueError("all_gather needs a tensor with a leading row axis; got a scalar")
    if not is_active():
        return t
    counts = row_counts(int(t.shape[0])) if counts is None else [int(c) for c in counts]
    me = rank()
    if len(counts) != world_size() or counts[me] != t.shape[0]:
        raise ValueError(f"counts {counts} do not match this rank's {t.shape[0]} rows (rank {me})")
    return _AllGather.apply(t, tuple(counts), me)


def _summed(t: Tensor) -> Tensor:
    """A detached copy of ``t`` summed over ranks (on the communication device and back)."""
    dist = _dist()
    out = t.detach().to(comm_device(t)).contiguous().clone()
    dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out.to(t.device)


class _AllReduceSum(torch.autograd.Function):
    """Sum over ranks; its gradient is the sum over ranks too (see the module docstring)."""

    @staticmethod
    def forward(ctx: Any, t: Tensor) -> Tensor:  # type: ignore[override]
        return _summed(t)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:  # type: ignore[override]
        return _summed(grad)


def all_reduce_sum(t: Tensor) -> Tensor:
    """Differentiable all-reduce SUM of ``t`` (any shape, the same on every rank); the backward
    pass sums the gradient over ranks. In one process: ``t`` itself."""
    if not is_active():
        return t
    return _AllReduceSum.apply(t)


def _global_count(n: int, device: torch.device) -> int:
    if not is_active():
        return n
    dist = _dist()
    c = torch.tensor([n], dtype=torch.long, device=comm_device())
    dist.all_reduce(c, op=dist.ReduceOp.SUM)
    return int(c)


def global_sum(t: Tensor) -> Tensor:
    """Sum of all entries of ``t`` over every rank: a differentiable scalar."""
    return all_reduce_sum(t.sum())


def global_mean(t: Tensor) -> Tensor:
    """Mean of all entries of ``t`` over every rank (each rank may hold a different number of
    entries): a differentiable scalar. In one process: ``t.mean()``."""
    if not is_active():
        return t.mean()
    n = _global_count(t.numel(), t.device)
    if n == 0:
        raise ValueError("global_mean of no entries on any rank")
    return global_sum(t) / n


def global_logmeanexp(t: Tensor) -> Tensor:
    r"""Stable :math:`\log \frac1N \sum e^{t}` over all entries of ``t`` on every rank: an
    all-reduce MAX of the detached maximum ``c``, then a differentiable all-reduce SUM of
    :math:`e^{t - c}`, and the entry counts summed. A scalar (nats when ``t`` are scores)."""
    if not is_active():
        flat = t.reshape(-1)
        return torch.logsumexp(flat, dim=0) - math.log(flat.shape[0])
    dist = _dist()
    flat = t.reshape(-1)
    local_max = flat.detach().max() if flat.numel() else flat.new_tensor(float("-inf"))
    c = local_max.to(comm_device(t)).clone()
    dist.all_reduce(c, op=dist.ReduceOp.MAX)
    c = c.to(t.device)
    c = torch.where(torch.isfinite(c), c, torch.zeros_like(c))
    n = _global_count(flat.numel(), t.device)
    if n == 0:
        raise ValueError("global_logmeanexp of no entries on any rank")
    s = all_reduce_sum(torch.exp(flat - c).sum())
    return torch.log(s) + c - math.log(n)


def average_gradients(params: Iterable[nn.Parameter]) -> None:
    """All-reduce MEAN of each parameter's ``.grad`` (what DDP does), for loops without DDP: call
    it after ``backward()`` and before the optimiser's step. Parameters without a gradient are
    skipped (every rank must skip the same ones). A no-op in one process."""
    if not is_active():
        return
    dist = _dist()
    w = world_size()
    for p in params:
        if p.grad is not None:
            g = p.grad.to(comm_device(p.grad))
            dist.all_reduce(g, op=dist.ReduceOp.SUM)
            p.grad.copy_(g / w)


@contextmanager
def synced_gradients(params: Iterable[nn.Parameter]) -> Iterator[None]:
    """Within the block, the parameters' gradients are all-reduced to the mean over ranks as soon
    as ``backward`` has accumulated the last of them (post-accumulate-grad hooks, one all-reduce
    of all gradients flattened into one buffer, as DDP's buckets do), so a training loop that
    knows nothing of ranks steps every rank identically. As with DDP (without
    ``find_unused_parameters``), every parameter must receive a gradient in every backward."""
    if not is_active():
        yield
        return
    dist = _dist()
    w = world_size()
    live = [p for p in params if p.requires_grad]
    done: set[int] = set()

    def hook(p: Tensor) -> None:
        done.add(id(p))
        if len(done) < len(live):
            return
        done.clear()
        grads = [q.grad for q in live]
        assert all(g is not None for g in grads)
        flat = torch.cat([g.reshape(-1) for g in grads]).to(comm_device(grads[0]))  # type: ignore[union-attr]
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        flat = flat.to(grads[0].device) / w  # type: ignore[union-attr]
        start = 0
        for g in grads:
            g.copy_(flat[start : start + g.numel()].view_as(g))  # type: ignore[union-attr]
            start += g.numel()  # type: ignore[union-attr]

    handles = [p.register_post_accumulate_grad_hook(hook) for p in live]
    try:
        yield
    finally:
        for h in handles:
            h.remove()
