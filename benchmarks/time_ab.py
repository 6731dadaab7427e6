"""Seconds per estimate under two settings, interleaved on the same samples.

    python benchmarks/time_ab.py --suite beyond-normal --n 10000 --a radial=False --b radial=True \\
        --out docs/results/timing/radial-10k.json

For every task of the suite (sample seed 0), ``neuralmi.estimate(x, y, seed=0, **A)`` and
``**B`` are timed one after the other, in the order A, B on even tasks and B, A on odd ones, so
that whatever else the machine is doing weighs on both alike. Prints the median seconds of
each setting over the tasks, the median of the per-task differences, and the mean absolute
error of each; writes every row to ``--out``. A warm-up estimate comes first (imports,
first-call costs). Settings are ``KEY=VALUE`` as in ``neuralmi bench --options``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import warnings

import neuralmi
from neuralmi.bench.grid import parse_options


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", choices=("default", "beyond-normal"), default="beyond-normal")
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--a", nargs="*", metavar="KEY=VALUE", default=[], help="setting A (default: the defaults)")
    ap.add_argument("--b", nargs="*", metavar="KEY=VALUE", default=[], help="setting B")
    ap.add_argument("--tasks", help="comma-separated task names (default: the whole suite)")
    ap.add_argument("--out", default="runs/time_ab.json")
    args = ap.parse_args()
    settings = {"A": parse_options(args.a), "B": parse_options(args.b)}
    names = neuralmi.tasks.BEYOND_NORMAL if args.suite == "beyond-normal" else neuralmi.tasks.names()
    if args.tasks:
        names = args.tasks.split(",")
    warnings.simplefilter("ignore")
    wx, wy = neuralmi.tasks.CorrelatedGaussian(dim=5, rho=0.5).sample(2_000, seed=99)
    for opts in settings.values():
        neuralmi.estimate(wx, wy, seed=0, progress=False, **opts)
    rows = []
    for i, name in enumerate(names):
        task = neuralmi.tasks.get(name)
        x, y = task.sample(args.n, seed=0)
        for label in ("A", "B") if i % 2 == 0 else ("B", "A"):
            t0 = time.perf_counter()
            res = neuralmi.estimate(x, y, seed=0, progress=False, **settings[label])
            rows.append({"task": name, "setting": label, "seconds": time.perf_counter() - t0,
                         "abs_error": abs(res.mi - task.mi), "truth": task.mi})
        print(name, *(f"{r['setting']} {r['seconds']:.2f} s" for r in rows[-2:]), flush=True)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump({"n": args.n, "suite": args.suite, "A": args.a, "B": args.b, "rows": rows}, fh, indent=1)
    sec = {k: {r["task"]: r["seconds"] for r in rows if r["setting"] == k} for k in settings}
    for k in settings:
        err = [r["abs_error"] for r in rows if r["setting"] == k]
        print(f"{k} {' '.join(args.a if k == 'A' else args.b) or '(defaults)'}: median {statistics.median(sec[k].values()):.2f} s,"
              f" MAE {statistics.mean(err):.4f}")
    print(f"median of per-task differences B - A: {statistics.median(sec['B'][t] - sec['A'][t] for t in sec['A']):+.2f} s")


if __name__ == "__main__":
    main()
