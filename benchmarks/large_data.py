"""Data larger than memory: estimate MI on a memory-mapped .npy of 10 million rows.

    python benchmarks/large_data.py make /tmp/big.npy --rows 10000000      # 3.2 GB, float32
    python benchmarks/large_data.py run /tmp/big.npy --out docs/results/large-data.json

``make`` writes ``rows`` samples of a correlated Gaussian with 20 + 20 float32 columns
(``neuralmi.tasks.CorrelatedGaussian(dim=20, rho=0.5)``, true MI 2.877 nats) into one
``(rows, 40)`` array, in blocks. ``run`` opens it with ``np.load(path, mmap_mode="r")``, calls
``neuralmi.estimate(a[:, :20], a[:, 20:], seed=0)`` with default settings (the rows are read in
one pass, see ``neuralmi.streaming``) and records the estimate, the time and the peak resident
memory of the process (``ru_maxrss``, which counts mapped file pages that stay resident).
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np

DIM, RHO = 20, 0.5


def make(path: Path, rows: int, block: int = 500_000) -> None:
    import neuralmi

    task = neuralmi.tasks.CorrelatedGaussian(dim=DIM, rho=RHO)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, 2 * DIM))
    for i, start in enumerate(range(0, rows, block)):
        stop = min(rows, start + block)
        x, y = task.sample(stop - start, seed=1000 + i)
        out[start:stop, :DIM] = x
        out[start:stop, DIM:] = y
        out.flush()
    del out
    print(f"wrote {path}: {rows} x {2 * DIM} float32 ({path.stat().st_size / 1e9:.2f} GB), true MI {task.mi:.4f} nats")


def run(path: Path, out: Path | None) -> dict:
    t_import = time.perf_counter()
    import neuralmi

    task = neuralmi.tasks.CorrelatedGaussian(dim=DIM, rho=RHO)
    a = np.load(path, mmap_mode="r")
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    res = neuralmi.estimate(a[:, :DIM], a[:, DIM:], seed=0, progress=False)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    record = {
        "file": str(path),
        "rows": int(a.shape[0]),
        "columns": [DIM, DIM],
        "dtype": str(a.dtype),
        "file_gb": round(path.stat().st_size / 1e9, 3),
        "truth": task.mi,
        "mi": res.mi,
        "stderr": res.stderr,
        "ci95": list(res.ci(0.95)),
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(peak, 1),
        "rss_after_import_mb": round(rss0, 1),
        "streamed": res.config.get("streamed"),
        "steps_taken": res.config.get("steps_taken"),
        "warnings": list(res.warnings),
        "import_seconds": round(t0 - t_import, 1),
    }
    print(json.dumps(record, indent=1))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(record, indent=1) + "\n")
    return record


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("path", type=Path)
    m.add_argument("--rows", type=int, default=10_000_000)
    r = sub.add_parser("run")
    r.add_argument("path", type=Path)
    r.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    if args.cmd == "make":
        make(args.path, args.rows)
    else:
        run(args.path, args.out)


if __name__ == "__main__":
    main()
