"""A/B of the default estimate between two source trees, on the same samples.

    git worktree add /tmp/old <commit>
    python benchmarks/ab_default.py /tmp/old  out_old.json
    python benchmarks/ab_default.py .         out_new.json

Runs ``neuralmi.estimate(x, y, seed=0)`` from ``TREE/src`` on every task of the default suite
(n = 10,000, sample seed 0) and prints the median seconds per estimate and the mean absolute
error (up to 3 nats, and over all tasks); writes ``(task, seconds, abs error, truth)`` rows as JSON.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import warnings

sys.path.insert(0, sys.argv[1] + "/src")
import neuralmi  # noqa: E402

warnings.simplefilter("ignore")
out = []
for name in neuralmi.tasks.names():
    task = neuralmi.tasks.get(name)
    x, y = task.sample(10_000, seed=0)
    t0 = time.perf_counter()
    res = neuralmi.estimate(x, y, seed=0, progress=False)
    out.append((name, time.perf_counter() - t0, abs(res.mi - task.mi), task.mi))
low = [row for row in out if row[3] <= 3]
print(
    neuralmi.__file__,
    f"median s {statistics.median(r[1] for r in out):.2f}",
    f"MAE<=3 nats {statistics.mean(r[2] for r in low):.4f}",
    f"MAE all {statistics.mean(r[2] for r in out):.4f}",
)
json.dump(out, open(sys.argv[2], "w"))
