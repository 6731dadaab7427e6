"""Conditional MI and discrete-label MI against the peers: a thin wrapper of ``neuralmi bench``.

The runs are ``neuralmi bench --suite conditional`` and ``neuralmi bench --suite discrete``
(:mod:`neuralmi.bench`): every (task, n, seed) draws one sample that every method sees; ours are
the default estimate and the baselines (conditional: ``gaussian_cmi``, ``ksg_cmi``; discrete:
``mixed_ksg``, the plain ``plugin``), the peers npeet-plus, infomeasure and scikit-learn run in
their own environment through the bench's peers runner (see ``neuralmi bench --help``). This
script keeps the options it had before the bench knew these suites and translates them::

    python3.11 -m venv /tmp/venv-cmi-peers
    /tmp/venv-cmi-peers/bin/pip install npeet-plus==0.2.0 infomeasure==0.6.3 scikit-learn
    nice -n 10 python benchmarks/conditional_bench.py --part conditional --seeds 0,1,2 \\
        --peers-python /tmp/venv-cmi-peers/bin/python --out runs/conditional
    # is: neuralmi bench --suite conditional --n 5000 --seeds 3 --peers \\
    #         --peers-python /tmp/venv-cmi-peers/bin/python --out runs/conditional

``--with-direct`` and ``--with-residualize`` add the bench methods ``direct`` and
``residualized``. ``--report JSONL`` prints the tables of docs/conditional.md from the JSON-lines
file this script wrote before it was a wrapper (``docs/results/conditional/results.jsonl``, the
measurements published there); new runs write the bench's ``results.csv`` and ``summary.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np


def bench_argv(args: argparse.Namespace) -> list[str]:
    """The ``neuralmi bench`` arguments for this script's options."""
    seeds = [int(v) for v in args.seeds.split(",")]
    if seeds != list(range(len(seeds))):
        raise SystemExit(f"--seeds: neuralmi bench runs seeds 0..k-1; got {args.seeds!r}")
    default_n = "5000" if args.part == "conditional" else "1000,10000"
    methods = ["all"]
    if args.with_direct:
        methods.append("direct")
    if args.with_residualize:
        methods.append("residualized")
    argv = ["bench", "--suite", args.part, "--n", args.n or default_n, "--seeds", str(len(seeds)),
            "--methods", ",".join(methods), "--out", args.out or f"runs/{args.part}"]
    if args.tasks:
        argv += ["--tasks", args.tasks]
    if args.peers_python:
        argv += ["--peers", "--peers-python", args.peers_python]
    return argv


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


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--part", choices=("conditional", "discrete"))
    p.add_argument("--n", default=None, help="sample sizes, comma-separated (conditional 5000; discrete 1000,10000)")
    p.add_argument("--seeds", default="0,1,2", help="seeds 0..k-1, comma-separated")
    p.add_argument("--tasks", default=None, help="task names or fnmatch patterns, comma-separated")
    p.add_argument("--peers-python", default=None, help="python of the peers' venv (none: peers skipped)")
    p.add_argument("--with-direct", action="store_true", help="also the direct local-permutation strategy")
    p.add_argument("--with-residualize", action="store_true", help="also the chain rule with residualisation on Z")
    p.add_argument("--out", default=None, help="the bench's output folder (default runs/PART)")
    p.add_argument("--report", metavar="JSONL", help="print the tables from a results file of the earlier script and exit")
    p.add_argument("--print-command", action="store_true", help="print the neuralmi bench command and exit")
    args = p.parse_args()
    if args.report:
        print(report(args.report))
        return 0
    if args.part is None:
        p.error("--part is required (or --report)")
    argv = bench_argv(args)
    if args.print_command:
        print("neuralmi " + " ".join(argv))
        return 0
    from neuralmi.cli import main as neuralmi_main

    return neuralmi_main(argv)


if __name__ == "__main__":
    sys.exit(main())
