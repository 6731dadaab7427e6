#!/usr/bin/env python
"""Peer side of ``benchmarks/speed.py``: time benchmark-mi's MINE and KSG on given samples.

Runs in the peers' virtualenv (``bash benchmarks/setup_peers.sh``); never imports neuralmi::

    .venv-peers/bin/python benchmarks/peer_speed.py case.npz out.json [--methods mine,ksg5] [--k 5]

Settings: ``bmi.estimators.MINEEstimator(seed=seed, verbose=False)`` (its defaults: 10,000
steps, batch 256, hidden (16, 8), half the rows held out) and
``bmi.estimators.KSGEnsembleFirstEstimator(neighborhoods=(k,))`` (its default metric,
Euclidean; one k). Each call is timed in a process that has already imported the library
(JAX's compilation inside the call is counted, as a user would see it).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("samples")
    ap.add_argument("out")
    ap.add_argument("--methods", default="mine,ksg")
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    import bmi.estimators as E  # noqa: PLC0415

    data = np.load(args.samples)
    x, y = data["x"], data["y"]
    records = []
    for method in args.methods.split(","):
        if method == "mine":
            est = E.MINEEstimator(seed=args.seed, verbose=False)
        elif method == "ksg":
            est = E.KSGEnsembleFirstEstimator(neighborhoods=(args.k,))
        else:
            raise SystemExit(f"unknown method {method}")
        t0 = time.perf_counter()
        try:
            value, error = float(est.estimate(x, y)), None
        except Exception as exc:  # a peer's failure is the measurement
            value, error = None, f"{type(exc).__name__}: {exc}"
        records.append({"method": method, "estimate": value, "seconds": time.perf_counter() - t0, "error": error})
    with open(args.out, "w") as fh:
        json.dump(records, fh)


if __name__ == "__main__":
    main()
