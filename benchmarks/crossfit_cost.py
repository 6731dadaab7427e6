#!/usr/bin/env python
"""Seconds of a default estimate against K-fold cross-fitting (``folds=3``, ``folds=5``) on one
device, and the interval each gives (with 0.6.0's upper end from the training rows).

    python benchmarks/crossfit_cost.py --device cuda --n 10000,100000 --out docs/results/crossfit-cost-cuda.json

A 5 + 5 correlated Gaussian (rho 0.5, 0.719 nats) and the Student-t 2 + 2 with 3 degrees of
freedom (0.399 nats), sample seed 0, ``neuralmi.estimate(x, y, seed=0, device=...)``; one warm-up
estimate first (CUDA context, first-call costs). Each row: seconds, estimate, interval,
``mi_train``, and whether the K critics were trained as one vectorised model.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import neuralmi


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--n", default="10000,100000")
    ap.add_argument("--folds", default="none,3,5")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    tasks = [neuralmi.tasks.CorrelatedGaussian(dim=5, rho=0.5), neuralmi.tasks.get("student-t-2x2-dof3-rho0.5")]
    wx, wy = tasks[0].sample(2_000, seed=99)
    neuralmi.estimate(wx, wy, seed=0, device=args.device, progress=False)
    rows = []
    for task in tasks:
        for n in (int(v) for v in args.n.split(",")):
            x, y = task.sample(n, seed=0)
            for folds in args.folds.split(","):
                k = None if folds == "none" else int(folds)
                t0 = time.perf_counter()
                res = neuralmi.estimate(x, y, seed=0, device=args.device, folds=k, progress=False)
                row = {"task": task.name, "n": n, "folds": k, "seconds": time.perf_counter() - t0, "truth": task.mi,
                       "mi": res.mi, "ci95": list(res.ci(0.95)), "mi_train": res.mi_train,
                       "device": res.config["device"], "vectorised": res.config.get("vectorised")}
                rows.append(row)
                print(f"{task.name:28s} n={n:7d} folds={str(k):4s} {row['seconds']:6.2f} s  {res.mi:.4f} "
                      f"[{row['ci95'][0]:.4f}, {row['ci95'][1]:.4f}] truth {task.mi:.4f} train-read {res.mi_train} "
                      f"({row['device']}, vectorised={row['vectorised']})", flush=True)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"rows": rows}, indent=1))


if __name__ == "__main__":
    main()
