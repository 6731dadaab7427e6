"""Conditional MI and discrete-label MI: neuralmi against the peers on the same samples.

Two parts (``--part``):

* ``conditional`` — the suite ``neuralmi.tasks.conditional_names()`` (Gaussian and non-Gaussian,
  d_z 1..20, CMI 0..2 nats, chains with CMI 0) at ``--n`` (default 5000): neuralmi's default
  conditional estimate (``neuralmi.estimate(x, y, z=z)``: the chain rule), optionally the direct
  local-permutation bound (``--with-direct``), ``ksg_cmi`` and ``gaussian_cmi``, and the peers
  npeet-plus (``mi(x, y, z)``, its KSG CMI, k=3) and infomeasure (``cmi(..., approach="ksg")``,
  its default k=4).
* ``discrete`` — the suite ``neuralmi.tasks.discrete_names()`` at ``--n 1000,10000``: neuralmi's
  default (``neuralmi.estimate(x, y, discrete=task.discrete)``: the classifier bound, or the
  jackknifed plug-in when both sides are discrete) and ``mixed_ksg``, against scikit-learn's
  ``mutual_info_classif`` (per feature: the maximum over features is reported — by the data
  processing inequality each feature's MI is a lower bound on I(X; Y), so the maximum is the
  tightest bound those numbers give; on one-feature tasks it is simply its estimate), npeet-plus
  (``micd`` for a continuous X, ``midd`` for two discrete sides) and infomeasure (``approach=
  "miller_madow"`` for two discrete sides, its KSG on the label codes otherwise — it has no
  mixed estimator).

The peers run in their own virtual environment (``--peers-python``; they are never dependencies
of neuralmi), created with::

    python3.11 -m venv /tmp/venv-cmi-peers
    /tmp/venv-cmi-peers/bin/pip install npeet-plus==0.2.0 infomeasure==0.6.3 scikit-learn

Each (task, seed) draws one sample; every method sees that sample. Results are appended to a
JSON-lines file (``--out``), one row per (task, n, seed, method); re-running skips the rows
already there. ``--report`` prints the tables of ``docs/conditional.md`` from that file::

    nice -n 10 python benchmarks/conditional_bench.py --part conditional --seeds 0,1,2 \\
        --peers-python /tmp/venv-cmi-peers/bin/python --out docs/results/conditional/results.jsonl
    python benchmarks/conditional_bench.py --report docs/results/conditional/results.jsonl
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

PEER_RUNNER = r'''
import json, sys, time, warnings
import numpy as np
warnings.simplefilter("ignore")
data = np.load(sys.argv[1], allow_pickle=False)
part, seed = sys.argv[2], int(sys.argv[3])
out = []

def run(library, method, fn):
    t0 = time.perf_counter()
    try:
        value = float(fn())
        out.append({"library": library, "method": method, "estimate": value, "seconds": time.perf_counter() - t0})
    except Exception as exc:  # a peer failing is a result too
        out.append({"library": library, "method": method, "error": f"{type(exc).__name__}: {exc}"[:300], "seconds": time.perf_counter() - t0})

np.random.seed(seed)
import npeet_plus, infomeasure as im
if part == "conditional":
    x, y, z = data["x"], data["y"], data["z"]
    run("npeet-plus", "cmi (KSG, k=3)", lambda: npeet_plus.mi(x, y, z=z, k=3, base=np.e))
    run("infomeasure", "cmi ksg (k=4)", lambda: im.cmi(x, y, cond=z, approach="ksg"))
else:
    from sklearn.feature_selection import mutual_info_classif
    x, y, discrete = data["x"], data["y"], str(data["discrete"])
    labels = y[:, 0].astype(np.int64)
    if discrete == "xy":
        xc = x[:, 0].astype(np.int64)
        run("scikit-learn", "mutual_info_classif", lambda: mutual_info_classif(x.astype(np.int64), labels, discrete_features=True, random_state=seed).max())
        run("npeet-plus", "midd", lambda: npeet_plus.midd(xc, labels, base=np.e))
        run("infomeasure", "miller_madow", lambda: im.mi(xc, labels, approach="miller_madow"))
    else:
        run("scikit-learn", "mutual_info_classif (max over features)", lambda: mutual_info_classif(x, labels, discrete_features=False, random_state=seed).max())
        run("npeet-plus", "micd (k=3)", lambda: npeet_plus.micd(x, y, k=3, base=np.e, warning=False))
        run("infomeasure", "ksg on codes (k=4)", lambda: im.mi(x, y.astype(float), approach="ksg"))
print(json.dumps(out))
'''


def _done(path: Path) -> set[tuple]:
    keys = set()
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                keys.add((r["task"], r["n"], r["seed"], r["library"], r["method"]))
    return keys


def _ours(label: str, fn, truth: float, base: dict) -> dict:
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fn()
    lo, hi = res.ci(0.95) if res.stderr is not None else (None, None)
    return {
        **base, "library": "neuralmi", "method": label, "estimate": res.mi, "stderr": res.stderr,
        "lo": lo, "hi": hi if hi is None or math.isfinite(hi) else None, "certified": res.certified,
        "raw": res.config.get("raw_value", res.mi), "warnings": len(res.warnings), "seconds": time.perf_counter() - t0,
    }


def _peers(python: str, part: str, seed: int, arrays: dict, base: dict) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        npz, script = Path(tmp) / "sample.npz", Path(tmp) / "runner.py"
        np.savez(npz, **arrays)
        script.write_text(PEER_RUNNER)
        proc = subprocess.run([python, str(script), str(npz), part, str(seed)], capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        return [{**base, "library": "peers", "method": "runner", "error": proc.stderr[-500:]}]
    return [{**base, **row} for row in json.loads(proc.stdout.strip().splitlines()[-1])]


def run_conditional(args: argparse.Namespace) -> None:
    import neuralmi
    from neuralmi import tasks

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = _done(out)
    names = tasks.conditional_names(args.tasks)
    for n in args.n:
        for seed in args.seeds:
            for name in names:
                task = tasks.get(name)
                x, y, z = task.sample(n, seed=seed)
                base = {"part": "conditional", "task": name, "family": task.family, "dim_z": task.dim_z, "n": n, "seed": seed, "truth": task.cmi}
                ours = [
                    ("default (chain rule)", lambda: neuralmi.estimate(x, y, z=z, seed=seed)),
                    ("ksg_cmi (k=3)", lambda: neuralmi.estimate(x, y, z=z, method="ksg")),
                    ("gaussian_cmi", lambda: neuralmi.estimate(x, y, z=z, method="gaussian")),
                ]
                if args.with_direct:
                    ours.append(("direct (local permutation)", lambda: neuralmi.estimate(x, y, z=z, strategy="direct", seed=seed)))
                if args.with_residualize:
                    ours.append(("chain rule, residualised", lambda: neuralmi.estimate(x, y, z=z, residualize=True, seed=seed)))
                rows = []
                for label, fn in ours:
                    if (name, n, seed, "neuralmi", label) not in done:
                        rows.append(_ours(label, fn, task.cmi, base))
                if args.peers_python and (name, n, seed, "npeet-plus", "cmi (KSG, k=3)") not in done:
                    rows += _peers(args.peers_python, "conditional", seed, {"x": x, "y": y, "z": z}, base)
                with out.open("a") as fh:
                    for r in rows:
                        fh.write(json.dumps(r) + "\n")
                        print(f"{name:45s} n={n} s{seed} {r['library']:11s} {r['method']:28s} {r.get('estimate', float('nan')):8.4f} (truth {task.cmi:.4f}) {r.get('seconds', 0):6.1f}s", flush=True)


def run_discrete(args: argparse.Namespace) -> None:
    import neuralmi
    from neuralmi import tasks

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = _done(out)
    names = tasks.discrete_names(args.tasks)
    for n in args.n:
        for seed in args.seeds:
            for name in names:
                task = tasks.get(name)
                x, y = task.sample(n, seed=seed)
                base = {"part": "discrete", "task": name, "family": task.discrete, "dim_x": task.dim_x, "n": n, "seed": seed, "truth": task.mi}
                if task.discrete == "xy":
                    default = lambda: neuralmi.estimate(x, y, discrete="xy")  # noqa: E731  (plug-in: no seed)
                else:
                    default = lambda: neuralmi.estimate(x, y, discrete=task.discrete, seed=seed)  # noqa: E731
                ours = [("default", default), ("mixed_ksg (k=5)", lambda: neuralmi.estimate(x, y, discrete=task.discrete, method="mixed_ksg"))]
                rows = []
                for label, fn in ours:
                    if (name, n, seed, "neuralmi", label) not in done:
                        rows.append(_ours(label, fn, task.mi, base))
                if args.peers_python and not any(k[:3] == (name, n, seed) and k[3] == "scikit-learn" for k in done):
                    rows += _peers(args.peers_python, "discrete", seed, {"x": x, "y": y, "discrete": np.array(task.discrete)}, base)
                with out.open("a") as fh:
                    for r in rows:
                        fh.write(json.dumps(r) + "\n")
                        print(f"{name:34s} n={n} s{seed} {r['library']:12s} {r['method']:38s} {r.get('estimate', float('nan')):8.4f} (truth {task.mi:.4f}) {r.get('seconds', 0):6.1f}s", flush=True)


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def _load(path: str) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def _mae(rows: list[dict]) -> float:
    return float(np.mean([abs(r["estimate"] - r["truth"]) for r in rows])) if rows else float("nan")


def report(path: str) -> str:
    rows = [r for r in _load(path) if "estimate" in r]
    errors = [r for r in _load(path) if "error" in r]
    lines: list[str] = []
    for part in ("conditional", "discrete"):
        prows = [r for r in rows if r["part"] == part]
        if not prows:
            continue
        for n in sorted({r["n"] for r in prows}):
            nrows = [r for r in prows if r["n"] == n]
            methods = sorted({(r["library"], r["method"]) for r in nrows}, key=lambda m: (m[0] != "neuralmi", m))
            seeds = sorted({r["seed"] for r in nrows})
            lines.append(f"\n### {part}, n = {n} ({len({r['task'] for r in nrows})} tasks, seeds {', '.join(map(str, seeds))})\n")
            if part == "conditional":
                groups = {
                    "all": lambda r: True,
                    "CMI > 0": lambda r: r["truth"] > 0,
                    "chains (CMI 0)": lambda r: r["truth"] == 0,
                    "Gaussian": lambda r: r["family"] in ("gaussian", "collider") or r["task"].startswith("chain-gauss"),
                    "non-Gaussian": lambda r: not (r["family"] in ("gaussian", "collider") or r["task"].startswith("chain-gauss")),
                    "d_z <= 5": lambda r: r["dim_z"] <= 5,
                    "d_z 10-20": lambda r: r["dim_z"] >= 10,
                }
            else:
                groups = {
                    "all": lambda r: True,
                    "continuous X, discrete Y": lambda r: r["family"] == "y",
                    "both discrete": lambda r: r["family"] == "xy",
                    "one feature": lambda r: r["family"] == "y" and r["dim_x"] == 1,
                    "several features": lambda r: r["family"] == "y" and r["dim_x"] > 1,
                }
            lines.append("| library | method | " + " | ".join(f"MAE {g}" for g in groups) + " | median s |")
            lines.append("|---|---|" + "---:|" * (len(groups) + 1))
            for lib, m in methods:
                mr = [r for r in nrows if (r["library"], r["method"]) == (lib, m)]
                cells = [f"{_mae([r for r in mr if f(r)]):.3f}" for f in groups.values()]
                lines.append(f"| {lib} | {m} | " + " | ".join(cells) + f" | {np.median([r['seconds'] for r in mr]):.2f} |")
            if part == "discrete":
                # each library with its estimator for each kind of task (one per kind)
                lines.append("\nEach library with its own estimator for each kind of task (continuous X with labels; two discrete sides):\n")
                lines.append("| library | estimators | " + " | ".join(f"MAE {g}" for g in groups) + " |")
                lines.append("|---|---|" + "---:|" * len(groups))
                libs = {"neuralmi": ("default",)} | {lib: tuple(sorted({m for l2, m in methods if l2 == lib})) for lib, _ in methods if lib != "neuralmi"}
                for lib, ms in libs.items():
                    mr = [r for r in nrows if r["library"] == lib and r["method"] in ms]
                    cells = [f"{_mae([r for r in mr if f(r)]):.3f}" for f in groups.values()]
                    lines.append(f"| {lib} | {' / '.join(ms)} | " + " | ".join(cells) + " |")
            if part == "conditional":
                chains = [r for r in nrows if r["truth"] == 0 and r.get("lo") is not None and r["library"] == "neuralmi"]
                if chains:
                    lines.append("\nChains (CMI = 0): share of 95 % intervals that contain 0")
                    for m in sorted({r["method"] for r in chains}):
                        cr = [r for r in chains if r["method"] == m]
                        inside = sum(1 for r in cr if r["lo"] <= 0.0 <= (r["hi"] if r["hi"] is not None else math.inf))
                        lines.append(f"- {m}: {inside} of {len(cr)} ({100.0 * inside / len(cr):.0f} %)")
            # per task
            lines.append("\nPer task (mean over seeds; truth first):\n")
            lines.append("| task | truth | " + " | ".join(f"{lib}: {m}" for lib, m in methods) + " |")
            lines.append("|---|---:|" + "---:|" * len(methods))
            for task in dict.fromkeys(r["task"] for r in nrows):
                tr = [r for r in nrows if r["task"] == task]
                cells = []
                for lib, m in methods:
                    v = [r["estimate"] for r in tr if (r["library"], r["method"]) == (lib, m)]
                    cells.append(f"{np.mean(v):.3f}" if v else "—")
                lines.append(f"| {task} | {tr[0]['truth']:.3f} | " + " | ".join(cells) + " |")
    if errors:
        lines.append("\nFailures:")
        for e in errors:
            lines.append(f"- {e['task']} n={e['n']} seed {e['seed']} {e['library']} {e['method']}: {e['error']}")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--part", choices=("conditional", "discrete"))
    p.add_argument("--n", default=None, help="sample sizes, comma-separated (conditional 5000; discrete 1000,10000)")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--tasks", default=None, help="fnmatch pattern of task names")
    p.add_argument("--peers-python", default=None, help="python of the peers' venv (none: peers skipped)")
    p.add_argument("--with-direct", action="store_true", help="also the direct local-permutation strategy")
    p.add_argument("--with-residualize", action="store_true", help="also the chain rule with residualisation on Z")
    p.add_argument("--out", default="docs/results/conditional/results.jsonl")
    p.add_argument("--report", metavar="JSONL", help="print the tables from a results file and exit")
    args = p.parse_args()
    if args.report:
        print(report(args.report))
        return
    if args.part is None:
        p.error("--part is required (or --report)")
    default_n = "5000" if args.part == "conditional" else "1000,10000"
    args.n = [int(v) for v in (args.n or default_n).split(",")]
    args.seeds = [int(v) for v in args.seeds.split(",")]
    (run_conditional if args.part == "conditional" else run_discrete)(args)


if __name__ == "__main__":
    sys.exit(main())
