#!/usr/bin/env python
"""Time and error against the number of samples and against dimension, with benchmark-mi beside.

    python benchmarks/scaling.py --out docs/results/scaling             # ~20 min on 2 cores

* **n**: a correlated Gaussian, 5 + 5 dimensions, rho 0.5 (0.719 nats), n = 10^3 ... 10^7 (one
  seed per size). neuralmi's default estimate at every size (above a million rows it reads the
  rows in one pass, see ``neuralmi.streaming``); neuralmi's KSG (k = 5) up to ``--ksg-max``
  rows; benchmark-mi's ``MINEEstimator`` and ``KSGEnsembleFirstEstimator(neighborhoods=(5,))``
  in their own virtualenv, each call killed after ``--budget`` seconds (recorded as not
  finished).
* **dimension**: n = 10,000, d + d dimensions for d = 1, 2, 5, 10, 25, 50, with rho set so
  that the MI is 1 nat at every d (``rho = sqrt(1 - e^(-2/d))``).

Writes ``scaling.json`` (every call) and ``scaling.png`` (four panels) under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

import neuralmi

HERE = Path(__file__).resolve().parent


def _peer(python: str, x: np.ndarray, y: np.ndarray, method: str, budget: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        case, out = Path(tmp) / "case.npz", Path(tmp) / "out.json"
        np.savez(case, x=x, y=y)
        try:
            subprocess.run(
                [python, str(HERE / "peer_speed.py"), str(case), str(out), "--methods", method],
                check=True, timeout=budget, capture_output=True,
            )
        except subprocess.TimeoutExpired:
            return {"estimate": None, "seconds": None, "error": f"not finished within {budget:.0f} s"}
        except subprocess.CalledProcessError as exc:
            return {"estimate": None, "seconds": None, "error": exc.stderr.decode()[-300:]}
        rec = json.loads(out.read_text())[0]
        return {"estimate": rec["estimate"], "seconds": rec["seconds"], "error": rec["error"]}


def _ours(x: np.ndarray, y: np.ndarray, method: str) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        if method == "mine":
            value = neuralmi.estimate(x, y, seed=0, progress=False).mi
        else:
            value = neuralmi.nonparametric.ksg(x, y, k=5)
        return {"estimate": value, "seconds": time.perf_counter() - t0, "error": None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("runs/scaling"))
    ap.add_argument("--sizes", default="1000,10000,100000,1000000,10000000")
    ap.add_argument("--dims", default="1,2,5,10,25,50")
    ap.add_argument("--ksg-max", type=int, default=100_000)
    ap.add_argument("--budget", type=float, default=300.0)
    ap.add_argument("--peers-python", default=str(HERE.parent / ".venv-peers" / "bin" / "python"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    peers = os.path.exists(args.peers_python)
    path = args.out / "scaling.json"
    rows = json.loads(path.read_text()) if path.exists() else []
    done = {(r["axis"], r["value"], r["library"], r["method"]) for r in rows}
    # warm-up (imports; 6,000 rows so that KSG imports scikit-learn's tree, ~1-2 s, here)
    wx, wy = neuralmi.tasks.CorrelatedGaussian(dim=2, rho=0.5).sample(6_000, seed=9)
    _ours(wx, wy, "mine")
    _ours(wx, wy, "ksg")

    def run(axis: str, value: int, task, n: int) -> None:
        x = y = None
        for library, method in (("neuralmi", "mine"), ("neuralmi", "ksg"), ("bmi", "mine"), ("bmi", "ksg")):
            if (axis, value, library, method) in done:
                continue
            if library == "bmi" and not peers:
                continue
            if x is None:
                x, y = task.sample(n, seed=0)
            slower = [r for r in rows if r["axis"] == axis and r["value"] < value and r["library"] == library
                      and r["method"] == method and r["estimate"] is None]
            if library == "neuralmi" and method == "ksg" and n > args.ksg_max:
                rec = {"estimate": None, "seconds": None, "error": f"not run above {args.ksg_max} rows"}
            elif slower:  # did not finish at a smaller size: not tried at a larger one
                rec = {"estimate": None, "seconds": None, "error": f"not tried: {slower[0]['error']} at {axis} = {slower[0]['value']}"}
            elif library == "neuralmi":
                rec = _ours(x, y, method)
            else:
                rec = _peer(args.peers_python, x, y, method, args.budget)
            row = {"axis": axis, "value": value, "n": n, "library": library, "method": method, "truth": task.mi, **rec}
            rows.append(row)
            path.write_text(json.dumps(rows, indent=1) + "\n")
            print(json.dumps(row), flush=True)

    for n in (int(v) for v in args.sizes.split(",")):
        run("n", n, neuralmi.tasks.CorrelatedGaussian(dim=5, rho=0.5), n)
    for d in (int(v) for v in args.dims.split(",")):
        run("dim", d, neuralmi.tasks.CorrelatedGaussian(dim=d, rho=math.sqrt(1 - math.exp(-2.0 / d))), 10_000)
    plot(rows, args.out / "scaling.png")


def plot(rows: list[dict], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    styles = {("neuralmi", "mine"): ("C0", "o", "neuralmi default (MINE)"), ("neuralmi", "ksg"): ("C1", "s", "neuralmi KSG k=5"),
              ("bmi", "mine"): ("C2", "^", "bmi MINEEstimator"), ("bmi", "ksg"): ("C3", "v", "bmi KSG k=5")}
    for col, (axis, label) in enumerate((("n", "samples n (5 + 5 dims, 0.72 nats)"), ("dim", "d (d + d dims, n = 10,000, 1 nat)"))):
        for key, (color, marker, name) in styles.items():
            sel = sorted((r for r in rows if r["axis"] == axis and (r["library"], r["method"]) == key and r["estimate"] is not None),
                         key=lambda r: r["value"])
            if not sel:
                continue
            xs = [r["value"] for r in sel]
            axes[0, col].plot(xs, [r["seconds"] for r in sel], color=color, marker=marker, label=name)
            axes[1, col].plot(xs, [abs(r["estimate"] - r["truth"]) for r in sel], color=color, marker=marker, label=name)
        for row in (0, 1):
            axes[row, col].set_xscale("log")
            axes[row, col].set_xlabel(label)
        axes[0, col].set_yscale("log")
        axes[0, col].set_ylabel("seconds per estimate")
        axes[1, col].set_ylabel("|estimate - truth| (nats)")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle("Time and error against n and dimension (one seed per point; missing points did not finish)")
    fig.tight_layout()
    fig.savefig(out, dpi=120)


if __name__ == "__main__":
    main()
