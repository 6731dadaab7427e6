"""Coverage of the default estimate's nominal 95 % interval over independent data sets.

    python benchmarks/interval_coverage.py --reps 100 --n 1000,10000 --out runs/coverage.json

For each distribution (Gaussian d=2 and d=20 up to 3 nats, Student-t with 3 degrees of freedom,
a non-linear channel, additive uniform noise, a spiral, a bimodal mixture, ...) and each n,
``--reps`` independent samples are drawn (seed = replicate) and ``neuralmi.estimate(x, y,
seed=replicate)`` is run with default settings; the table gives the share of intervals
``res.ci(0.95)`` that contain the true MI, the mean error, the mean width, the mean error of the
training read (``mi_train``, the interval's upper end before its margin) and the share flagged
not certified.
``--options KEY=VALUE ...`` passes settings to every estimate (e.g. ``radial=True``).
``--tasks beyond-normal`` runs benchmark-mi's 40 tasks (``neuralmi.tasks.BEYOND_NORMAL``) instead
of the eight; ``--first R`` starts at replicate R (fresh data sets for checking a rule chosen on
the first ones).
Every estimate is written to ``--out``; rerunning with the same ``--out`` resumes.
``--rescore`` estimates nothing: it recomputes every row's interval (``lo``, ``hi``,
``covered``) from its recorded ``mi``, ``stderr``, ``mi_train``, ``stderr_train`` and
``certified`` with the installed ``MIResult.ci``, prints the table and rewrites ``--out`` (for a
change of the interval's rule that leaves the estimates as they are).
(Not named ``coverage.py``: as the script's own directory comes first on ``sys.path``, that name
would shadow the ``coverage`` package for every script in ``benchmarks/``; numba, which hyppo
imports, reads ``coverage.types``.)
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings

import numpy as np

import neuralmi

TASKS = [
    "gauss-d2-rho0.5",
    "gauss-d20-rho0.5",
    "student-t-2x2-dof3-rho0.5",
    "channel-sin-sigma0.5",
    "uniform-noise-a0.75",
    "spiral-gauss-d3-rho0.75",
    "bimodal-shift1.5-rho0.5",
    "halfcube-gauss-d2-rho0.75",
]


def rescore(rows: list[dict], out: str) -> None:
    """Recompute each row's 95 % interval from its recorded fields; print the table; rewrite ``out``."""
    from neuralmi.result import MIResult

    for r in rows:
        if "mi_train" not in r:
            raise SystemExit(f"{out}: rows without mi_train/stderr_train (written before 0.6.0) cannot be rescored")
        res = MIResult(mi=r["mi"], stderr=r["stderr"], method="mine", n_train=1, certified=r["certified"],
                       mi_train=r["mi_train"], stderr_train=r["stderr_train"])
        lo, hi = res.ci(0.95)
        r.update(lo=lo, hi=None if hi == float("inf") else hi, covered=bool(lo <= r["truth"] <= hi))
    with open(out, "w") as fh:
        json.dump(rows, fh)
    for name, n in dict.fromkeys((r["task"], r["n"]) for r in rows):
        sel = [r for r in rows if r["task"] == name and r["n"] == n]
        report(name, n, sel)
    overall(rows, sorted({r["task"] for r in rows}))


def report(name: str, n: int, sel: list[dict]) -> None:
    print(
        f"{name:28s} n={n:6d} sets={len(sel):4d} coverage {np.mean([r['covered'] for r in sel]):.3f} "
        f"mean error {np.mean([r['mi'] - r['truth'] for r in sel]):+.3f} "
        f"mean width {np.mean([r['hi'] - r['lo'] for r in sel if r['hi'] is not None]):.3f} "
        f"training-read error {np.mean([r['mi_train'] - r['truth'] for r in sel if r.get('mi_train') is not None]):+.3f} "
        f"not certified {np.mean([not r['certified'] for r in sel]):.2f} "
        f"median s {np.median([r['seconds'] for r in sel]):.1f}",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=100)
    ap.add_argument("--n", default="1000,10000")
    ap.add_argument("--tasks", default=",".join(TASKS),
                    help="comma-separated task names; 'beyond-normal' for benchmark-mi's 40 tasks")
    ap.add_argument("--first", type=int, default=0,
                    help="first replicate (data sets --first ... --first + --reps - 1; fresh sets for a check)")
    ap.add_argument("--out", default="runs/coverage.json")
    ap.add_argument("--rescore", action="store_true",
                    help="recompute the recorded rows' intervals with the installed MIResult.ci; estimate nothing")
    ap.add_argument("--options", nargs="*", metavar="KEY=VALUE", default=None,
                    help="settings passed to neuralmi.estimate, e.g. radial=True (default: none, the defaults)")
    args = ap.parse_args()
    from neuralmi.bench.grid import parse_options

    options = parse_options(args.options)
    rows = json.load(open(args.out)) if os.path.exists(args.out) else []
    if args.rescore:
        return rescore(rows, args.out)
    done = {(r["task"], r["n"], r["rep"]) for r in rows}
    names = neuralmi.tasks.beyond_normal_names() if args.tasks == "beyond-normal" else args.tasks.split(",")
    for name in names:
        task = neuralmi.tasks.get(name)
        for n in (int(v) for v in args.n.split(",")):
            for rep in range(args.first, args.first + args.reps):
                if (name, n, rep) in done:
                    continue
                x, y = task.sample(n, seed=10_000 + rep)
                t0 = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    res = neuralmi.estimate(x, y, seed=rep, progress=False, **options)
                lo, hi = res.ci(0.95)
                rows.append(
                    {"task": name, "n": n, "rep": rep, "truth": task.mi, "mi": res.mi, "stderr": res.stderr,
                     "mi_train": res.mi_train, "stderr_train": res.stderr_train,
                     "lo": lo, "hi": None if hi == float("inf") else hi, "covered": bool(lo <= task.mi <= hi),
                     "certified": res.certified, "seconds": time.perf_counter() - t0}
                )
                with open(args.out, "w") as fh:
                    json.dump(rows, fh)
            report(name, n, [r for r in rows if r["task"] == name and r["n"] == n])
    overall(rows, names)


def overall(rows: list[dict], names: list[str]) -> None:
    """One line per n over every selected task whose truth is at most 3 nats (the target's range)."""
    if len(names) < 2:
        return
    for n in sorted({r["n"] for r in rows if r["task"] in names}):
        report("all tasks up to 3 nats", n, [r for r in rows if r["task"] in names and r["n"] == n and r["truth"] <= 3.0])


if __name__ == "__main__":
    main()
