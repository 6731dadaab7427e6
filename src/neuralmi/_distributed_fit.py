"""The sharded estimate: :func:`neuralmi.estimate` with ``distributed=True`` under ``torchrun``
(or ``neuralmi estimate --nproc N``), each rank passing its own shard of the rows.

How it works (and what it costs):

1. the shards are checked on each rank, then **all-gathered in rank order** (rank 0's rows
   first), so every rank holds the global sample: memory ``n * (dim_x + dim_y) * 8`` bytes per
   rank (float64), as in one process. Everything that is fitted once, not per step (the
   train / held-out split, the per-column transform, the Gaussian baseline critic, the
   initial weights), is then computed from the same global rows with the same seed on every
   rank, so it is identical everywhere and identical to the single-process estimate;
2. each training step draws the global batch from the loop's generator, seeded identically on
   every rank; rank ``r`` scores its slice of the batch (positions ``r*B//W`` to
   ``(r+1)*B//W``), the bound is taken over the global batch with the collectives of
   :mod:`neuralmi.distributed` (every rank computes the same loss), and each parameter's
   gradient is all-reduced to the mean after ``backward`` (as DDP does), which by the
   module's convention is the single-process gradient of the global batch. Parameters, Adam's
   state and every decision of the loop (early stopping, checkpoint selection) stay identical
   on every rank;
3. the held-out evaluations and the final read-out are computed on every rank (replicated,
   not split): they are deterministic, so every rank returns the same estimate and interval.

With the same global rows and seed, 1 and W processes agree to floating-point tolerance (the
gradient sums run in another order). Only the training steps are divided among the processes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from . import distributed
from ._validation import check_pair
from .estimators import BASELINE_METHODS, NEURAL_METHODS, NeuralEstimator, _baseline, explicit_folds
from .objectives import MutualInformation
from .result import MIResult
from .training import TrainConfig, TrainResult, train

__all__ = ["gather_shards", "estimate_sharded"]


def gather_shards(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """Every rank's ``(x, y)`` rows concatenated in rank order, as float64 ``(n, dx)`` and
    ``(n, dy)`` arrays, on every rank. A collective: call it on every rank.

    Raises:
        ValueError: on every rank, when any rank's shard is invalid or the ranks' columns differ
            (checked together before any data moves, so no rank is left waiting).
    """
    error: str | None = None
    try:
        xa, ya = check_pair(x, y, min_samples=1)
        dims = [xa.shape[1], ya.shape[1], xa.shape[0]]
    except (ValueError, TypeError) as exc:
        error, dims = str(exc), [-1, -1, 0]
    if not distributed.is_active():
        if error is not None:
            raise ValueError(error)
        return xa, ya
    table = distributed._gather_padded(torch.tensor([dims], dtype=torch.long), [1] * distributed.world_size())
    bad = [r for r in range(table.shape[0]) if int(table[r, 0]) < 0]
    if bad:
        me = distributed.rank()
        raise ValueError(error if me in bad else f"the shard of rank {bad[0]} is invalid (see that rank's error)")
    if len({(int(a), int(b)) for a, b, _ in table.tolist()}) > 1:
        shapes = ", ".join(f"rank {r}: {int(a)}+{int(b)}" for r, (a, b, _) in enumerate(table.tolist()))
        raise ValueError(f"the ranks' shards have different numbers of columns (x+y): {shapes}")
    counts = [int(c) for c in table[:, 2]]
    both = torch.from_numpy(np.hstack([xa, ya]))
    full = distributed._gather_padded(both, counts).numpy()
    return full[:, : xa.shape[1]], full[:, xa.shape[1] :]


class _BatchSlice:
    """The training loop's view of a :class:`MutualInformation` whose steps are split across
    ranks: ``critic_loss`` scores this rank's slice of the global batch (the module gathers the
    rest); everything else is the module's own."""

    def __init__(self, module: MutualInformation) -> None:
        self.module = module
        self.rank, self.world = distributed.rank(), distributed.world_size()

    def parameters(self) -> Any:
        return self.module.parameters()

    def train(self, mode: bool = True) -> "_BatchSlice":
        self.module.train(mode)
        return self

    def eval(self) -> "_BatchSlice":
        self.module.eval()
        return self

    def state_dict(self) -> dict[str, Any]:
        return self.module.state_dict()

    def evaluate(self, *args: Any, **kwargs: Any) -> Any:
        return self.module.evaluate(*args, **kwargs)

    def critic_loss(self, x: torch.Tensor, y: torch.Tensor, with_value: bool = False) -> Any:
        b = x.shape[0]
        lo, hi = self.rank * b // self.world, (self.rank + 1) * b // self.world
        self.module._row_counts = [(r + 1) * b // self.world - r * b // self.world for r in range(self.world)]
        return self.module.critic_loss(x[lo:hi], y[lo:hi], with_value=with_value)  # type: ignore[call-overload]


class _ShardedEstimator(NeuralEstimator):
    """A :class:`NeuralEstimator` whose ``fit`` takes this rank's shard and trains data-parallel
    across ranks (see the module docstring)."""

    def fit(self, x: Any, y: Any) -> "_ShardedEstimator":
        xa, ya = gather_shards(x, y)
        super().fit(xa, ya)
        return self

    def _train(
        self,
        module: MutualInformation,
        x_train: torch.Tensor,
        y_train: torch.Tensor,
        select: list[tuple[torch.Tensor, torch.Tensor]],
        tcfg: TrainConfig,
    ) -> TrainResult:
        world = distributed.world_size()
        if world == 1:
            return train(module, x_train, y_train, select, tcfg)
        batch = min(tcfg.batch_size, x_train.shape[0])
        if batch < 2 * world:
            raise ValueError(f"batch size {batch} is too small to give each of {world} processes 2 rows")
        module.distributed = True
        try:
            with distributed.synced_gradients(p for p in module.parameters() if p.requires_grad):
                return train(_BatchSlice(module), x_train, y_train, select, tcfg)  # type: ignore[arg-type]
        finally:
            module.distributed, module._row_counts = False, None  # the fitted module reads locally (read, score)


def estimate_sharded(x: Any, y: Any, method: str = "mine", critic: Any = "auto", **options: Any) -> MIResult:
    """:func:`neuralmi.estimate` on the rows of every rank (``x``, ``y``: this rank's shard).
    The same :class:`~neuralmi.MIResult` comes back on every rank; ``result.config["processes"]``
    records the number of ranks. In one process it is the plain estimate."""
    if method not in (*NEURAL_METHODS, *BASELINE_METHODS):
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join((*NEURAL_METHODS, *BASELINE_METHODS))}")
    if explicit_folds(options.get("folds")):
        raise ValueError(
            "folds= (K-fold cross-fitting) is not available with distributed=True (the sharded "
            "estimate trains one critic): leave folds=None"
        )
    options = {**options, "folds": None}  # "auto" means one split here, at any size
    # the options are checked before any collective (every rank gets the same ones)
    sharded = None if method in BASELINE_METHODS else _ShardedEstimator(method=method, critic=critic, **options)
    xa, ya = gather_shards(x, y)
    if sharded is None:
        result = _baseline(xa, ya, method, options)
    else:  # the rows are gathered already: fit them as NeuralEstimator.fit does
        result = NeuralEstimator.fit(sharded, xa, ya).result_
    result.config["processes"] = distributed.world_size()
    return result


def _spawned(
    rank: int, world: int, init_file: str, out_dir: str, load: dict[str, Any], method: str, critic: Any, options: dict[str, Any]
) -> None:
    """One process of :func:`spawn_estimate`: read the file, keep this rank's rows, estimate."""
    import os
    import pickle

    import torch.distributed as dist

    from .data import load_pair

    import warnings

    warnings.simplefilter("ignore")  # the launcher re-issues the result's warnings, once
    opts = dict(options)
    device = str(opts.get("device", "auto"))
    cuda = torch.cuda.is_available() and device in ("auto", "cuda")
    if cuda:  # one GPU per rank (round robin when there are fewer GPUs than ranks)
        torch.cuda.set_device(rank % torch.cuda.device_count())
        opts["device"] = f"cuda:{rank % torch.cuda.device_count()}"
    dist.init_process_group("nccl" if cuda else "gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    out: dict[str, Any] = {}
    try:
        error: Exception | None = None
        x: Any = None
        y: Any = None
        try:
            xa, ya = load_pair(**load)
            lo, hi = rank * xa.shape[0] // world, (rank + 1) * xa.shape[0] // world
            x, y = xa[lo:hi], ya[lo:hi]
            out["shape"] = (xa.shape[0], xa.shape[1], ya.shape[1])
            del xa, ya
        except (ValueError, TypeError, OSError) as exc:
            error = exc  # the estimate's shard check then stops every rank together
        try:
            out["result"] = estimate_sharded(x, y, method=method, critic=critic, **opts)
        except (ValueError, TypeError) as exc:
            out["error"] = str(error if error is not None else exc)
    finally:
        dist.destroy_process_group()
    if rank == 0 or "error" in out:
        with open(os.path.join(out_dir, f"rank{rank}.pkl"), "wb") as fh:
            pickle.dump(out, fh)


def spawn_estimate(
    nproc: int, load: dict[str, Any], method: str = "mine", critic: Any = "auto", **options: Any
) -> tuple[MIResult, tuple[int, int, int]]:
    """Start ``nproc`` processes on this machine (torch.multiprocessing, spawn; gloo on CPU,
    NCCL on CUDA, a file rendezvous in a temporary folder); each reads the data with
    :func:`neuralmi.data.load_pair` (keyword arguments ``load``), keeps its contiguous share of
    the rows and runs :func:`estimate_sharded`. Returns rank 0's result and ``(n, dim_x, dim_y)``.

    Raises:
        ValueError: ``nproc`` is not a positive integer, or the one-line error of a rank (bad
            data or options).
    """
    import pickle
    import tempfile
    from pathlib import Path

    import torch.multiprocessing as mp

    if isinstance(nproc, bool) or not isinstance(nproc, int) or nproc < 1:
        raise ValueError(f"nproc must be a positive integer; got {nproc!r}")
    with tempfile.TemporaryDirectory(prefix="neuralmi-dist-") as tmp:
        args = (nproc, str(Path(tmp) / "store"), tmp, load, method, critic, options)
        mp.start_processes(_spawned, args=args, nprocs=nproc, join=True, start_method="spawn")
        outs = {}
        for path in sorted(Path(tmp).glob("rank*.pkl")):
            with open(path, "rb") as fh:
                outs[int(path.stem[4:])] = pickle.load(fh)
    errors = [o["error"] for _, o in sorted(outs.items()) if "error" in o]
    if errors:
        raise ValueError(errors[0])
    if 0 not in outs or "result" not in outs[0]:  # pragma: no cover - a rank died without an error
        raise RuntimeError("the processes ended without a result")
    return outs[0]["result"], outs[0]["shape"]
