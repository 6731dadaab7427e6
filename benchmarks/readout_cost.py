"""What the interval's upper end costs: the seconds each estimate spends reading its critic on
its own training rows (``neuralmi.estimators.read_training``), beside the whole estimate.

    python benchmarks/readout_cost.py --suite beyond-normal --n 10000 --out docs/results/readout-cost-10k.json

For every task of the suite (sample seed 0), ``neuralmi.estimate(x, y, seed=0)`` with default
settings is timed, and so is every call of ``read_training`` inside it (the module attribute is
wrapped with a timer; nothing else changes). Prints the median seconds per estimate, the median
seconds of the training-row read and its median share. A warm-up estimate comes first.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import warnings

import neuralmi
from neuralmi import estimators


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", choices=("default", "beyond-normal"), default="beyond-normal")
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--tasks", help="comma-separated task names (default: the whole suite)")
    ap.add_argument("--out", default="runs/readout_cost.json")
    args = ap.parse_args()
    names = neuralmi.tasks.BEYOND_NORMAL if args.suite == "beyond-normal" else neuralmi.tasks.names()
    if args.tasks:
        names = args.tasks.split(",")
    spent = [0.0]
    inner = estimators.read_training

    def timed(*a, **k):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        try:
            return inner(*a, **k)
        finally:
            spent[0] += time.perf_counter() - t0

    estimators.read_training = timed
    warnings.simplefilter("ignore")
    wx, wy = neuralmi.tasks.CorrelatedGaussian(dim=5, rho=0.5).sample(2_000, seed=99)
    neuralmi.estimate(wx, wy, seed=0, progress=False)
    rows = []
    for name in names:
        task = neuralmi.tasks.get(name)
        x, y = task.sample(args.n, seed=0)
        spent[0] = 0.0
        t0 = time.perf_counter()
        neuralmi.estimate(x, y, seed=0, progress=False)
        total = time.perf_counter() - t0
        rows.append({"task": name, "seconds": total, "read_training": spent[0]})
        print(f"{name:45s} {total:6.2f} s, of which {spent[0]:.3f} s reading the training rows", flush=True)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump({"n": args.n, "suite": args.suite, "rows": rows}, fh, indent=1)
    print(
        f"median {statistics.median(r['seconds'] for r in rows):.2f} s per estimate; training-row read: median "
        f"{statistics.median(r['read_training'] for r in rows):.3f} s, median share "
        f"{100 * statistics.median(r['read_training'] / r['seconds'] for r in rows):.1f} %"
    )


if __name__ == "__main__":
    main()
