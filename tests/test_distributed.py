"""neuralmi.distributed, MutualInformation(distributed=True) and the sharded estimate, with real
torch.distributed: the gloo backend in 2 CPU processes (torch.multiprocessing.spawn, a FileStore
rendezvous), no mocks.

One spawn runs every two-process check (starting processes costs seconds); each test then
compares what the ranks saved with a single-process reference computed here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

import neuralmi
from neuralmi import distributed
from neuralmi.objectives import MutualInformation

WORLD = 2
#: rows of each rank in the gradient checks: uneven on purpose (the global batch is 12)
COUNTS = (5, 7)
GRAD_METHODS = ("dv", "mine", "nwj", "infonce", "js", "smile", "tuba", "minee", "club")
ESTIMATE = dict(method="mine", steps=30, eval_every=10, batch_size=64, hidden=(16,), seed=3, progress=False)
ESTIMATE_N = 240


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(11)
    x = torch.randn(sum(COUNTS), 3, generator=g)
    y = x[:, :2] + 0.5 * torch.randn(sum(COUNTS), 2, generator=g)
    return x, y


def _estimate_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    x = rng.standard_normal((ESTIMATE_N, 2))
    return x, x + rng.standard_normal((ESTIMATE_N, 2))


def _model(method: str, marginal: str = "shuffle", distributed_: bool = False) -> nn.ModuleDict:
    """Two encoders (so the gradient to gathered inputs is checked) and the MI term."""
    torch.manual_seed(0)
    return nn.ModuleDict(
        {
            "ex": nn.Linear(3, 2),
            "ey": nn.Linear(2, 2),
            "mi": MutualInformation(2, 2, method=method, hidden=(8,), marginal=marginal, seed=4, distributed=distributed_),
        }
    )


def _step(model: nn.ModuleDict, x: torch.Tensor, y: torch.Tensor, warm: int) -> tuple[float, float]:
    """``warm`` critic_loss calls (MINE's moving average moves), then one backward of the
    critic loss through the encoders; returns (loss, log_ema)."""
    mi = model["mi"]
    with torch.no_grad():
        for _ in range(warm):
            mi.critic_loss(model["ex"](x), model["ey"](y))
    loss = mi.critic_loss(model["ex"](x), model["ey"](y))
    loss.backward()
    return float(loss.detach()), float(mi.log_ema)


def _grads(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: p.grad.detach().clone() for k, p in model.named_parameters() if p.grad is not None}


def _cases() -> list[tuple[str, str]]:
    return [(m, "shuffle") for m in GRAD_METHODS] + [("dv", "pairs"), ("club", "pairs")]


def _worker(rank: int, init_file: str, out_dir: str) -> None:
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=WORLD)
    try:
        out: dict[str, Any] = {}
        x, y = _batch()
        lo = sum(COUNTS[:rank])
        xs, ys = x[lo : lo + COUNTS[rank]], y[lo : lo + COUNTS[rank]]
        for method, marginal in _cases():
            model = _model(method, marginal, distributed_=True)
            loss, log_ema = _step(model, xs, ys, warm=3 if method == "mine" else 0)
            distributed.average_gradients(model.parameters())
            out[f"{method}-{marginal}"] = {"loss": loss, "log_ema": log_ema, "grads": _grads(model)}
        t = torch.arange(float(COUNTS[rank])) + 10 * rank
        out["lme"] = float(distributed.global_logmeanexp(t))
        out["mean"] = float(distributed.global_mean(t))
        out["gathered"] = distributed.all_gather(t).tolist()
        xe, ye = _estimate_data()
        cut = [0, 100, ESTIMATE_N]  # uneven shards
        res = neuralmi.estimate(xe[cut[rank] : cut[rank + 1]], ye[cut[rank] : cut[rank + 1]], distributed=True, **ESTIMATE)
        out["estimate"] = (res.mi, res.stderr, res.config["processes"], res.config["steps_taken"])
        torch.save(out, os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def ranks(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    import torch.multiprocessing as mp

    d = tmp_path_factory.mktemp("dist")
    mp.spawn(_worker, args=(str(d / "store"), str(d)), nprocs=WORLD, join=True)
    return [torch.load(d / f"rank{r}.pt") for r in range(WORLD)]


@pytest.mark.parametrize("case", [f"{m}-{k}" for m, k in _cases()])
def test_gathered_gradient_equals_single_process_gradient(ranks: list[dict[str, Any]], case: str) -> None:
    method, marginal = case.split("-")
    x, y = _batch()
    model = _model(method, marginal)
    loss, _ = _step(model, x, y, warm=3 if method == "mine" else 0)
    want = _grads(model)
    for r in ranks:
        assert r[case]["loss"] == pytest.approx(loss, rel=1e-5, abs=1e-6)  # the same global value
        got = r[case]["grads"]
        assert set(got) == set(want)
        for name, g in want.items():
            torch.testing.assert_close(got[name], g, rtol=1e-4, atol=1e-6, msg=f"{case}: {name}")


def test_mine_moving_average_equal_on_every_rank(ranks: list[dict[str, Any]]) -> None:
    x, y = _batch()
    _, single = _step(_model("mine"), x, y, warm=3)
    values = [r["mine-shuffle"]["log_ema"] for r in ranks]
    assert values[0] == values[1]  # bit for bit: updated from the same reduced value
    assert values[0] == pytest.approx(single, rel=1e-6)


def test_global_reductions(ranks: list[dict[str, Any]]) -> None:
    t = torch.cat([torch.arange(float(COUNTS[0])), torch.arange(float(COUNTS[1])) + 10])
    for r in ranks:
        assert r["gathered"] == t.tolist()
        assert r["mean"] == pytest.approx(float(t.mean()))
        assert r["lme"] == pytest.approx(float(torch.logsumexp(t, 0) - np.log(t.numel())), rel=1e-6)


def test_sharded_estimate_equals_single_process(ranks: list[dict[str, Any]]) -> None:
    x, y = _estimate_data()
    single = neuralmi.estimate(x, y, folds=None, **ESTIMATE)  # sharded: one split at any size
    for r in ranks:
        mi, stderr, processes, steps = r["estimate"]
        assert processes == WORLD
        assert steps == single.config["steps_taken"]
        assert mi == pytest.approx(single.mi, abs=1e-4)
        assert stderr == pytest.approx(single.stderr, rel=1e-3)
    assert ranks[0]["estimate"] == ranks[1]["estimate"]


def test_helpers_are_noops_in_one_process() -> None:
    t = torch.randn(6, requires_grad=True)
    assert distributed.all_gather(t) is t
    assert distributed.row_counts(6) == [6]
    assert torch.equal(distributed.global_mean(t), t.mean())
    with pytest.raises(ValueError):
        distributed.all_gather(torch.tensor(1.0))
    with pytest.raises(ValueError, match="seed"):
        MutualInformation(2, 2, distributed=True, seed=None)


def test_distributed_flag_unchanged_in_one_process() -> None:
    x, y = _batch()
    for method in ("mine", "infonce"):
        a, b = _model(method), _model(method, distributed_=True)
        (la, ea), (lb, eb) = _step(a, x, y, warm=1), _step(b, x, y, warm=1)
        assert la == lb and (ea == eb or (np.isnan(ea) and np.isnan(eb)))
        for name, g in _grads(a).items():
            assert torch.equal(g, _grads(b)[name])


def test_cli_nproc_prints_one_result(tmp_path: Path) -> None:
    x, y = _estimate_data()
    path = tmp_path / "pair.npz"
    np.savez(path, x=x, y=y)
    cmd = [sys.executable, "-m", "neuralmi.cli", "estimate", str(path), "--nproc", "2", "--steps", "20", "--quiet"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert sum(line.startswith("I(X;Y) = ") for line in done.stdout.splitlines()) == 1
    assert "2 processes" in done.stdout


def test_cli_nproc_bad_value_is_one_line(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "neuralmi.cli", "estimate", "x.npz", "--nproc", "0"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("neuralmi: error:")
