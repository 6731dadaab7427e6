"""Calibration and power of ``neuralmi.independence_test`` beside distance covariance and HSIC.

    pip install dcor hyppo          # the two reference tests (not dependencies of neuralmi)
    python benchmarks/independence.py --null 400 --reps 100 --out runs/independence.json

Null: ``--null`` independent data sets (X ~ N(0, I_2), Y ~ N(0, 1), n = 200): the share of
p-values <= 0.05 is the type-I error (the target is at most 5.5 %). Power: ``--reps`` data sets per
alternative and n (200, 500, 1000): linear (Y = X + 2 eps), quadratic (Y = X^2 + eps), sinusoid
(Y = sin(4 X) + eps), 20-d sparse (X in R^20, Y = X_1 X_2 + eps). Every test at alpha = 0.05 with
permutation p-values (neuralmi: 99 per held-out fold; dcor: 199 resamples; hyppo's HSIC: 199 reps).
Prints a table and writes every p-value to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np

ALTERNATIVES = {
    "linear": lambda x, e: x[:, :1] + 2.0 * e,
    "quadratic": lambda x, e: x[:, :1] ** 2 + e,
    "sinusoid": lambda x, e: np.sin(4.0 * x[:, :1]) + e,
    "sparse-20d": lambda x, e: x[:, :1] * x[:, 1:2] + e,
}


KINDS = ["null", *ALTERNATIVES]


def sample(kind: str, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    if kind == "null":
        return rng.standard_normal((n, 2)), rng.standard_normal((n, 1))
    dim = 20 if kind == "sparse-20d" else 1
    x = rng.standard_normal((n, dim))
    return x, ALTERNATIVES[kind](x, rng.standard_normal((n, 1)))


def p_values(x: np.ndarray, y: np.ndarray, seed: int, methods: list[str]) -> dict[str, float]:
    import neuralmi

    out: dict[str, float] = {}
    if "neuralmi" in methods:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out["neuralmi"] = neuralmi.independence_test(x, y, seed=seed, n_permutations=99, progress=False).p_value
    if "dcor" in methods:
        import dcor

        out["dcor"] = float(dcor.independence.distance_covariance_test(x, y, num_resamples=199, random_state=seed).pvalue)
    if "hsic" in methods:
        from hyppo.independence import Hsic

        out["hsic"] = float(Hsic().test(x, y, reps=199, workers=1, random_state=seed)[1])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--null", type=int, default=400)
    ap.add_argument("--reps", type=int, default=100)
    ap.add_argument("--n", default="200,500,1000")
    ap.add_argument("--methods", default="neuralmi,dcor,hsic")
    ap.add_argument("--alternatives", default=",".join(ALTERNATIVES), help="which alternatives (power)")
    ap.add_argument("--out", default="runs/independence.json")
    args = ap.parse_args()
    methods = args.methods.split(",")
    rows = []
    t0 = time.time()
    chosen = args.alternatives.split(",")
    unknown = sorted(set(chosen) - set(ALTERNATIVES))
    if unknown:
        raise SystemExit(f"unknown alternatives {unknown}; choose from {list(ALTERNATIVES)}")
    cases = [("null", 200, args.null)] * bool(args.null) + [
        (k, int(n), args.reps) for k in chosen for n in args.n.split(",") if args.reps
    ]
    for kind, n, reps in cases:
        for r in range(reps):
            rng = np.random.default_rng([KINDS.index(kind), n, r])  # stable across processes
            x, y = sample(kind, n, rng)
            rows.append({"case": kind, "n": n, "rep": r, **p_values(x, y, r, methods)})
        share = {m: float(np.mean([row[m] <= 0.05 for row in rows if row["case"] == kind and row["n"] == n])) for m in methods}
        label = "type-I error" if kind == "null" else "power"
        print(f"{kind:11s} n={n:5d} reps={reps:4d} {label}: " + "  ".join(f"{m} {v:.3f}" for m, v in share.items()), flush=True)
    with open(args.out, "w") as fh:
        json.dump({"rows": rows, "seconds": time.time() - t0, "methods": methods}, fh)


if __name__ == "__main__":
    main()
