#!/usr/bin/env python
"""Samples per second of a training step, and the time to a default estimate at n = 10^6, on
whatever device is present (a GPU when there is one).

    python benchmarks/throughput.py --out docs/results/throughput-cpu.json
    python benchmarks/throughput.py --device cuda --out docs/results/throughput-cuda.json

* **steps**: ``MutualInformation`` (MINE, the default concat critic 64-64 with the Gaussian
  baseline) trained with ``neuralmi.training.train`` for ``--steps`` steps at several batch
  sizes; samples per second = steps x batch / seconds (each step also scores ``batch``
  shuffled pairs). Evaluation is pushed past the end of the run, so only steps are timed.
* **estimate**: ``neuralmi.estimate(x, y, seed=0, device=...)`` on 10^6 rows of a 5 + 5
  correlated Gaussian (rho 0.5, 0.719 nats) with default settings, and with ``compile=True``
  (``torch.compile`` of the critic) when ``--compile`` is given.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import warnings
from pathlib import Path

import torch

import neuralmi
from neuralmi.critics import GaussianCritic, ResidualCritic, make_critic
from neuralmi.training import TrainConfig, resolve_device, train


def steps_per_second(device: torch.device, batch: int, steps: int) -> float:
    task = neuralmi.tasks.CorrelatedGaussian(dim=5, rho=0.5)
    x, y = task.sample(100_000, seed=0)
    base = GaussianCritic.from_data(x, y)
    critic = ResidualCritic(base, make_critic("concat", 5, 5, (64, 64), "relu", 32, zero_init=True))
    module = neuralmi.MutualInformation(5, 5, method="mine", critic=critic, seed=0).to(device)
    xt = torch.as_tensor(x, dtype=torch.float32, device=device)
    yt = torch.as_tensor(y, dtype=torch.float32, device=device)
    fold = [(xt[:1000], yt[:1000])]
    cfg = TrainConfig(batch_size=batch, max_steps=steps, eval_every=10 * steps, patience=None, progress=False)
    train(module, xt, yt, fold, TrainConfig(batch_size=batch, max_steps=5, eval_every=50, patience=None, progress=False))
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    train(module, xt, yt, fold, cfg)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps * batch / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batches", default="512,4096")
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    device = resolve_device(None if args.device == "auto" else args.device)
    record: dict = {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "samples_per_second": {},
    }
    for b in (int(v) for v in args.batches.split(",")):
        record["samples_per_second"][b] = round(steps_per_second(device, b, args.steps))
        print(f"batch {b}: {record['samples_per_second'][b]:,} samples/s", flush=True)
    task = neuralmi.tasks.CorrelatedGaussian(dim=5, rho=0.5)
    x, y = task.sample(args.n, seed=0)
    runs = [("default", {})] + ([("compile", {"compile": True})] if args.compile else [])
    for label, extra in runs:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            res = neuralmi.estimate(x, y, seed=0, device=str(device), progress=False, **extra)
            seconds = time.perf_counter() - t0
        record[f"estimate_{label}"] = {
            "n": args.n, "seconds": round(seconds, 2), "mi": res.mi, "stderr": res.stderr, "truth": task.mi,
            "steps_taken": res.config["steps_taken"], "batch_size": res.config["batch_size"],
        }
        print(f"estimate ({label}) at n={args.n}: {seconds:.1f} s, {res.mi:.4f} nats (truth {task.mi:.4f})", flush=True)
    print(json.dumps(record, indent=1))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
