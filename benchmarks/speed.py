#!/usr/bin/env python
"""Speed against benchmark-mi, side by side in one run, on the same samples.

    python benchmarks/speed.py --out docs/results/speed            # needs .venv-peers

For each case (n = 10,000 rows, 5 + 5 dimensions: a correlated Gaussian and a Student-t pair
with 5 degrees of freedom) and seed, the same samples go to

* ``neuralmi.estimate(x, y, seed=seed)`` (defaults) and benchmark-mi's ``MINEEstimator``
  (defaults), and
* ``neuralmi.ksg(x, y, k=5)`` and benchmark-mi's ``KSGEnsembleFirstEstimator(neighborhoods=(5,))``,

one after the other on the same machine; the peers run in their own virtualenv
(``benchmarks/peer_speed.py``, through ``--peers-python``). Writes ``speed.json`` (every call)
and ``speed.md`` (medians, speed-up, absolute errors) under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

import neuralmi

HERE = Path(__file__).resolve().parent

CASES = {
    "gaussian-5x5-rho0.75": lambda: neuralmi.tasks.CorrelatedGaussian(dim=5, rho=0.75),
    "student-t-5x5-dof5-rho0.5": lambda: neuralmi.tasks.get("student-t-5x5-dof5-rho0.5"),
}


def _ours(x: np.ndarray, y: np.ndarray, seed: int) -> list[dict]:
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        res = neuralmi.estimate(x, y, seed=seed, progress=False)
        out.append({"method": "mine", "estimate": res.mi, "seconds": time.perf_counter() - t0})
        t0 = time.perf_counter()
        v = neuralmi.nonparametric.ksg(x, y, k=5)
        out.append({"method": "ksg", "estimate": v, "seconds": time.perf_counter() - t0})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("runs/speed"))
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--peers-python", default=str(HERE.parent / ".venv-peers" / "bin" / "python"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if not os.path.exists(args.peers_python):
        raise SystemExit(f"no peers' python at {args.peers_python}: run bash benchmarks/setup_peers.sh first")
    # warm-up: imports and first-call costs are not what is compared (6,000 rows: KSG's counts
    # use scikit-learn's tree from 5,000 rows, whose first import takes ~1 s)
    wx, wy = neuralmi.tasks.CorrelatedGaussian(dim=5, rho=0.5).sample(6_000, seed=99)
    _ours(wx, wy, 0)
    rows = []
    for name, make in CASES.items():
        task = make()
        for seed in range(args.seeds):
            x, y = task.sample(args.n, seed=seed)
            with tempfile.TemporaryDirectory() as tmp:
                case = Path(tmp) / "case.npz"
                np.savez(case, x=x, y=y)
                for r in _ours(x, y, seed):
                    rows.append({"case": name, "seed": seed, "library": "neuralmi", "truth": task.mi, **r})
                subprocess.run(
                    [args.peers_python, str(HERE / "peer_speed.py"), str(case), str(Path(tmp) / "p.json"), "--seed", str(seed)],
                    check=True,
                )
                for r in json.loads((Path(tmp) / "p.json").read_text()):
                    rows.append({"case": name, "seed": seed, "library": "bmi", "truth": task.mi, **r})
            print(json.dumps(rows[-4:]), flush=True)
    (args.out / "speed.json").write_text(json.dumps(rows, indent=1) + "\n")
    lines = [
        f"n = {args.n}, {args.seeds} seeds per case; medians over cases and seeds; |error| = mean absolute error (nats)",
        "",
        "| estimator | neuralmi s | bmi s | speed-up | neuralmi abs. error | bmi abs. error |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for method, label in (("mine", "default estimate vs bmi MINEEstimator"), ("ksg", "KSG k=5 vs bmi KSG k=5")):
        ours = [r for r in rows if r["method"] == method and r["library"] == "neuralmi"]
        peer = [r for r in rows if r["method"] == method and r["library"] == "bmi" and r["estimate"] is not None]
        t_o = statistics.median(r["seconds"] for r in ours)
        t_p = statistics.median(r["seconds"] for r in peer)
        e_o = statistics.mean(abs(r["estimate"] - r["truth"]) for r in ours)
        e_p = statistics.mean(abs(r["estimate"] - r["truth"]) for r in peer)
        lines.append(f"| {label} | {t_o:.2f} | {t_p:.2f} | {t_p / t_o:.1f}x | {e_o:.3f} | {e_p:.3f} |")
    lines += ["", "Per case (median seconds, mean abs. error):", "", "| case | estimator | library | s | abs. error |", "|---|---|---|---:|---:|"]
    for name in CASES:
        for method in ("mine", "ksg"):
            for lib in ("neuralmi", "bmi"):
                sel = [r for r in rows if r["case"] == name and r["method"] == method and r["library"] == lib and r["estimate"] is not None]
                if sel:
                    lines.append(
                        f"| {name} | {method} | {lib} | {statistics.median(r['seconds'] for r in sel):.2f} | "
                        f"{statistics.mean(abs(r['estimate'] - r['truth']) for r in sel):.3f} |"
                    )
    lines += ["", f"Command: `python benchmarks/speed.py --out {args.out} --n {args.n} --seeds {args.seeds}`; "
              f"machine: {os.cpu_count()} CPU cores, {sys.platform}."]
    (args.out / "speed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
