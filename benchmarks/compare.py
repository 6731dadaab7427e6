"""Head-to-head tables from a `neuralmi bench` results file: one of our methods (the default,
``mine``) against every peer method, task by task, on the seeds where both ran.

    python benchmarks/compare.py docs/results/bench/results.csv [--ours mine] [--max-mi 3] [--seed 0]

Prints markdown: (1) per peer method, on how many tasks our method's absolute error is smaller
or equal, both mean absolute errors over those tasks, and the median ratio of the peer's wall
time to ours; (2) per task, the truth, our estimate and the best peer's. Errors are averaged
over the shared seeds of a task first. A peer's failed cells (no estimate) count as a loss for
the peer and are left out of its error.
"""

from __future__ import annotations

import argparse
import statistics
from collections import defaultdict
from typing import Any

from neuralmi.bench import read_results


def _by_task(rows: list[dict[str, Any]]) -> dict[str, dict[str, dict[int, dict[str, Any]]]]:
    out: dict[str, dict[str, dict[int, dict[str, Any]]]] = defaultdict(lambda: defaultdict(dict))
    for r in rows:
        out[r["task"]][r["method"]][r["seed"]] = r
    return out


def _mean(cells: list[dict[str, Any]], key: str) -> float | None:
    values = [c[key] for c in cells]
    return None if any(v is None for v in values) else statistics.fmean(values)


def compare(rows: list[dict[str, Any]], ours: str) -> str:
    """The two markdown tables (see the module docstring)."""
    tasks = _by_task(rows)
    peers = sorted({r["method"] for r in rows if r["library"] != "neuralmi"})
    lines = [
        f"| peer | tasks | `{ours}` better or equal | peer better | `{ours}` MAE | peer MAE | peer failed | peer time / `{ours}` time (median) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    best: dict[str, tuple[float, str, float | None, float]] = {}
    for peer in peers:
        wins = losses = failed = 0
        ours_err: list[float] = []
        peer_err: list[float] = []
        ratios: list[float] = []
        for task, methods in sorted(tasks.items()):
            seeds = sorted(set(methods.get(ours, {})) & set(methods.get(peer, {})))
            if not seeds:
                continue
            o = [methods[ours][s] for s in seeds]
            p = [methods[peer][s] for s in seeds]
            oe, pe = _mean(o, "abs_error"), _mean(p, "abs_error")
            if oe is None:
                continue
            if pe is None:
                failed += 1
                wins += 1
                continue
            ours_err.append(oe)
            peer_err.append(pe)
            wins += oe <= pe
            losses += oe > pe
            ot, pt = _mean(o, "seconds"), _mean(p, "seconds")
            if ot and pt:
                ratios.append(pt / ot)
            if task not in best or pe < best[task][0]:
                best[task] = (pe, peer, _mean(p, "estimate"), oe)
        if wins + losses == 0:
            continue
        lines.append(
            f"| {peer} | {wins + losses} | {wins} | {losses} | {statistics.fmean(ours_err):.3f} | "
            f"{statistics.fmean(peer_err):.3f} | {failed} | {statistics.median(ratios):.1f} |"
        )
    lines += [
        "",
        f"| task | true MI | `{ours}` estimate (mean over the seeds) | abs error | best peer | its abs error |",
        "|---|---:|---:|---:|---|---:|",
    ]
    for task, methods in sorted(tasks.items()):
        if task not in best or ours not in methods:
            continue
        pe, peer, _, _ = best[task]
        cells = list(methods[ours].values())
        est, err = _mean(cells, "estimate"), _mean(cells, "abs_error")
        mark = "" if err is not None and err <= pe else " (peer better)"
        lines.append(f"| {task} | {cells[0]['truth']:.3f} | {est:.3f} | {err:.3f}{mark} | {peer} | {pe:.3f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", help="results.csv written by neuralmi bench")
    parser.add_argument("--ours", default="mine", help="our method to compare (default mine)")
    parser.add_argument("--max-mi", type=float, default=None, help="only tasks with true MI up to this (nats)")
    parser.add_argument("--seed", type=int, default=None, help="only this seed (default: every seed)")
    args = parser.parse_args()
    rows = read_results(args.results)
    if args.max_mi is not None:
        rows = [r for r in rows if r["truth"] <= args.max_mi]
    if args.seed is not None:
        rows = [r for r in rows if r["seed"] == args.seed]
    print(compare(rows, args.ours), end="")


if __name__ == "__main__":
    main()
