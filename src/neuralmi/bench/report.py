"""The summary of a ``neuralmi bench`` run: statistics, markdown tables and figures
(matplotlib is imported only when a figure is drawn)."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .methods import (
    BASELINE_METHODS,
    CONDITIONAL_METHODS,
    CONDITIONAL_PEERS,
    DEFAULT_PEERS,
    DISCRETE_METHODS,
    DISCRETE_PEERS,
    EXTRA_METHODS,
    OUR_METHODS,
)

__all__ = ["plot", "summarize", "summary_by_n", "summary_stats"]


def _method_order(rows: Sequence[dict[str, Any]]) -> list[str]:
    seen = list(dict.fromkeys(r["method"] for r in rows))
    known = OUR_METHODS + DEFAULT_PEERS + CONDITIONAL_METHODS + EXTRA_METHODS["conditional"] + DISCRETE_METHODS
    rank = {m: i for i, m in enumerate(dict.fromkeys(known + CONDITIONAL_PEERS + DISCRETE_PEERS))}
    return sorted(seen, key=lambda m: (rank.get(m, len(rank)), m))


def _fmt(value: float | None, spec: str = ".3f") -> str:
    return "-" if value is None or not math.isfinite(value) else format(value, spec)


def _stats(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    errors = [r["abs_error"] for r in rows if r["abs_error"] is not None]
    seconds = [r["seconds"] for r in rows if r["seconds"] is not None and r["estimate"] is not None]
    # the published convention (e.g. benchmark-mi's tables): average each task's estimates over
    # seeds first, then the absolute error of that mean, averaged over tasks
    by_task: dict[tuple[str, int], list[float]] = defaultdict(list)
    truth: dict[tuple[str, int], float] = {}
    for r in rows:
        if r["estimate"] is not None:
            key = (r["task"], int(r["n"]))
            by_task[key].append(r["estimate"])
            truth[key] = r["truth"]
    seed_mean = [abs(float(np.mean(v)) - truth[k]) for k, v in by_task.items()]
    return {
        "cells": len(rows),
        "failed": sum(1 for r in rows if r["estimate"] is None),
        "tasks": len({r["task"] for r in rows}),
        "mae": float(np.mean(errors)) if errors else None,
        "mae_seed_mean": float(np.mean(seed_mean)) if seed_mean else None,
        "median_seconds": float(np.median(seconds)) if seconds else None,
    }


def summary_stats(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per method: overall and per-family statistics, and the tasks it is best on.

    Returns:
        ``{"methods": {method: {"library", "cells", "failed", "tasks", "mae", "mae_seed_mean",
        "median_seconds", "best_on", "families": {family: {...}}}}, "families": {family:
        n_tasks}}``. ``mae`` is the mean absolute error (nats) over the cells with an
        estimate; ``mae_seed_mean`` the absolute error of each (task, n)'s estimate averaged
        over seeds, averaged over the tasks (the convention of published tables);
        ``median_seconds`` the median wall time of those cells; ``best_on`` the number of
        tasks on which the method's mean absolute error over seeds is the smallest.
    """
    by_method: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_method[r["method"]].append(r)
    families: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        families[r["family"]].add(r["task"])
    # best method per task: smallest mean abs error over seeds (failed cells make a method ineligible)
    per_task: dict[str, dict[str, list[float | None]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        per_task[r["task"]][r["method"]].append(r["abs_error"])
    best: dict[str, int] = defaultdict(int)
    for task, methods in per_task.items():
        scores = {m: float(np.mean(v)) for m, v in methods.items() if v and all(e is not None for e in v)}
        if scores:
            best[min(scores, key=lambda m: scores[m])] += 1
    out: dict[str, Any] = {"methods": {}, "families": {f: len(t) for f, t in sorted(families.items())}}
    for method in _method_order(rows):
        mrows = by_method[method]
        stats = _stats(mrows)
        stats["library"] = mrows[0]["library"]
        stats["best_on"] = best.get(method, 0)
        stats["families"] = {}
        for fam in out["families"]:
            frows = [r for r in mrows if r["family"] == fam]
            if frows:
                stats["families"][fam] = _stats(frows)
        out["methods"][method] = stats
    return out


def summary_by_n(rows: Sequence[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """:func:`summary_stats` of the rows of each sample size: ``{n: summary}``, n increasing."""
    by_n: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_n[int(r["n"])].append(r)
    return {n: summary_stats(by_n[n]) for n in sorted(by_n)}


def summarize(rows: Sequence[dict[str, Any]], title: str | None = None, kind: str = "mi") -> str:
    """Markdown tables: per method (overall) and per task family; see :func:`summary_stats`.
    For the conditional and discrete suites (``kind``), also every task's estimate per method
    (:func:`per_task_table`) and, for tasks whose truth is 0, how often each method's interval
    contains 0 (:func:`zero_coverage`).

    With several sample sizes: first the mean absolute error and the median seconds of every
    method at every n (:func:`summary_by_n`), then those tables for each n in turn.
    """
    if not rows:
        return "no results yet\n"
    ns = sorted({int(r["n"]) for r in rows})
    if len(ns) == 1:
        return _summarize_one(rows, title, kind)
    per_n = summary_by_n(rows)
    seeds = sorted({r["seed"] for r in rows})
    tasks = sorted({r["task"] for r in rows})
    methods = _method_order(rows)
    # order: by the MAE at the largest n where the method has one
    def rank(m: str) -> tuple[int, float]:
        for n in reversed(ns):
            st = per_n[n]["methods"].get(m)
            if st is not None and st["mae"] is not None:
                return (0, st["mae"])
        return (1, 0.0)

    order = sorted(methods, key=rank)
    lines = [f"# {title}", ""] if title else []
    lines += [
        f"{len(tasks)} tasks, n = {', '.join(f'{v:,}' for v in ns)}, seeds {', '.join(map(str, seeds))}; "
        f"{len(rows)} cells. MAE: mean absolute error (nats) over the cells of that n with an estimate "
        "(each cell one task and seed); seconds: median wall time of one estimate; failed: cells with "
        "no estimate (error, time-out or NaN), left out of the MAE.",
        "",
        "Mean absolute error (nats) per method and sample size; first over every cell, then (as in "
        "published tables) of each task's estimate averaged over the seeds:",
        "",
        "| method | library | "
        + " | ".join(f"n = {n:,}" for n in ns)
        + " | "
        + " | ".join(f"seed-mean n = {n:,}" for n in ns)
        + " | failed |",
        "|---|---|" + "---:|" * (2 * len(ns) + 1),
    ]
    for m in order:
        cells = []
        means = []
        failed = 0
        library = next(r["library"] for r in rows if r["method"] == m)
        for n in ns:
            st = per_n[n]["methods"].get(m)
            cells.append("-" if st is None else _fmt(st["mae"]))
            means.append("-" if st is None else _fmt(st["mae_seed_mean"]))
            failed += 0 if st is None else st["failed"]
        lines.append(f"| {m} | {library} | " + " | ".join(cells + means) + f" | {failed} |")
    lines += [
        "",
        "Median seconds per estimate, per method and sample size:",
        "",
        "| method | " + " | ".join(f"n = {n:,}" for n in ns) + " |",
        "|---|" + "---:|" * len(ns),
    ]
    for m in order:
        cells = []
        for n in ns:
            st = per_n[n]["methods"].get(m)
            cells.append("-" if st is None else _fmt(st["median_seconds"], ".2f"))
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    for n in ns:
        part = _summarize_one([r for r in rows if int(r["n"]) == n], None, kind)
        lines += ["", f"## n = {n:,}", "", part.rstrip("\n")]
    return "\n".join(lines) + "\n"


def zero_coverage(rows: Sequence[dict[str, Any]], level_z: float = 1.959963984540054) -> dict[str, tuple[int, int]]:
    """Per method, over the cells of tasks whose truth is 0 (the conditional suite's chains,
    CMI = 0) that have an estimate and a standard error: ``(inside, cells)``, where inside
    counts the 95 % intervals ``estimate ± 1.96 stderr`` (clipped at 0, as
    :meth:`neuralmi.MIResult.ci`) that contain 0, i.e. ``estimate − 1.96 stderr <= 0``."""
    out: dict[str, tuple[int, int]] = {}
    for m in _method_order(rows):
        cells = [r for r in rows if r["method"] == m and r["truth"] == 0 and r["estimate"] is not None and r["stderr"] is not None]
        if cells:
            inside = sum(1 for r in cells if r["estimate"] - level_z * r["stderr"] <= 0.0)
            out[m] = (inside, len(cells))
    return out


def per_task_table(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Markdown lines: every task (in the rows' order) with its truth and each method's
    estimate averaged over seeds ('-': no estimate)."""
    methods = _method_order(rows)
    lines = ["| task | truth | " + " | ".join(methods) + " |", "|---|---:|" + "---:|" * len(methods)]
    for task in dict.fromkeys(r["task"] for r in rows):
        tr = [r for r in rows if r["task"] == task]
        cells = []
        for m in methods:
            vals = [r["estimate"] for r in tr if r["method"] == m and r["estimate"] is not None]
            cells.append(_fmt(float(np.mean(vals))) if vals else "-")
        lines.append(f"| {task} | {tr[0]['truth']:.3f} | " + " | ".join(cells) + " |")
    return lines


def _summarize_one(rows: Sequence[dict[str, Any]], title: str | None, kind: str = "mi") -> str:
    s = summary_stats(rows)
    methods = s["methods"]
    order = sorted(methods, key=lambda m: (methods[m]["mae"] is None, methods[m]["mae"] or 0.0))
    ns = sorted({r["n"] for r in rows})
    seeds = sorted({r["seed"] for r in rows})
    tasks = sorted({r["task"] for r in rows})
    lines = []
    if title:
        lines += [f"# {title}", ""]
    lines += [
        f"{len(tasks)} tasks, n = {', '.join(f'{v:,}' for v in ns)}, seeds {', '.join(map(str, seeds))}; "
        f"{len(rows)} cells. MAE: mean absolute error (nats) over the cells with an estimate; "
        "seconds: median wall time of one estimate; best on: tasks where the method has the "
        "smallest mean absolute error over seeds; failed: cells with no estimate (error, "
        "time-out or NaN), left out of the MAE.",
        "",
        "| method | library | tasks | cells | failed | MAE (nats) | median s | best on |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for m in order:
        st = methods[m]
        lines.append(
            f"| {m} | {st['library']} | {st['tasks']} | {st['cells']} | {st['failed']} | {_fmt(st['mae'])} "
            f"| {_fmt(st['median_seconds'], '.2f')} | {st['best_on']} |"
        )
    fams = list(s["families"])
    header = " | ".join(f"{f} ({s['families'][f]})" for f in fams)
    for what, key, spec in (("Mean absolute error (nats)", "mae", ".3f"), ("Median seconds", "median_seconds", ".2f")):
        lines += [
            "",
            f"{what} per task family (number of tasks in brackets; '-': not run or every cell failed):",
            "",
            f"| method | {header} |",
            "|---|" + "---:|" * len(fams),
        ]
        for m in order:
            fstats = methods[m]["families"]
            cells = [_fmt(fstats[f][key], spec) if f in fstats else "-" for f in fams]
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
    if kind != "mi":
        zero = zero_coverage(rows)
        if zero:
            what = "chains (CMI = 0)" if kind == "conditional" else "tasks with MI = 0"
            lines += ["", f"{what}: how often the 95 % interval (estimate ± 1.96 stderr) contains 0, per method with a standard error:", ""]
            lines += [f"- {m}: {inside} of {cells} ({100.0 * inside / cells:.0f} %)" for m, (inside, cells) in zero.items()]
        lines += ["", "Per task: the truth and each method's estimate, mean over seeds (nats):", ""]
        lines += per_task_table(rows)
    return "\n".join(lines) + "\n"


_LIBRARY_COLORS = {
    "neuralmi": "tab:blue",
    "bmi": "tab:orange",
    "torch_mist": "tab:red",
    "npeet_plus": "tab:orange",
    "infomeasure": "tab:red",
    "sklearn": "tab:purple",
}
#: the library-default estimate, drawn as a black star: "mine" on the MI suites, "default" on the
#: conditional and discrete suites
_DEFAULTS = ("mine", "default")


def _color(method: str, library: str) -> str:
    if library == "neuralmi" and method in BASELINE_METHODS + CONDITIONAL_METHODS[1:] + DISCRETE_METHODS[1:]:
        return "tab:green"
    return _LIBRARY_COLORS.get(library, "tab:gray")


def plot(rows: Sequence[dict[str, Any]], path: str | Path, tasks_path: str | Path | None = None) -> None:
    """Write the summary figure to ``path`` and, when ``tasks_path``, the per-task figure.

    ``path``: left, every method's mean estimate over seeds against the truth, one point per
    (task, method); right, mean absolute error against median seconds, one point per method.
    ``tasks_path``: one panel per task, every cell's estimate per method against the truth.

    With several sample sizes, ``path`` shows instead the mean absolute error of every method
    against n (left) and against its median seconds (right, one line per method through its
    sizes), and ``tasks_path`` has one row per (method, n).
    """
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    if not rows:
        return
    s = summary_stats(rows)
    methods = _method_order(rows)
    library = {m: s["methods"][m]["library"] for m in methods}
    truths = {r["task"]: r["truth"] for r in rows}
    top = max(truths.values())
    ns = sorted({int(r["n"]) for r in rows})
    if len(ns) > 1:
        _plot_sizes(rows, path, methods, library)
        if tasks_path is not None:
            _plot_tasks(rows, tasks_path, methods, library, ns)
        return

    fig = Figure(figsize=(15, 6.5), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    # left: mean estimate per (task, method) vs truth
    means: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in rows:
        if r["estimate"] is not None:
            means[(r["task"], r["method"])].append(r["estimate"])
    lo, hi = -0.1 * top - 0.5, 1.15 * top + 0.5
    for lib_is_ours in (False, True):  # ours on top
        for (task, m), vals in means.items():
            if (library[m] == "neuralmi") != lib_is_ours:
                continue
            est = float(np.mean(vals))
            clipped = float(np.clip(est, lo, hi))
            default = m in _DEFAULTS
            ax1.scatter(
                truths[task],
                clipped,
                s=60 if default else 18,
                marker="*" if default else ("o" if clipped == est else "v"),
                color="black" if default else _color(m, library[m]),
                alpha=1.0 if default else 0.55,
                zorder=3 if default else 2,
                linewidths=0,
            )
    ax1.plot([0, top], [0, top], color="black", lw=0.8, ls="--")
    ax1.set_xlabel("true MI (nats)")
    ax1.set_ylabel("estimate, mean over seeds (nats)")
    ax1.set_ylim(lo, hi)
    ax1.set_title("estimate vs truth (one point per task and method; clipped: triangles)")
    handles = [
        Line2D([], [], marker="*", color="black", ls="", markersize=10,
               label="neuralmi mine (default)" if "mine" in methods else "neuralmi default"),
        Line2D([], [], marker="o", color="tab:blue", ls="", label="neuralmi neural"),
        Line2D([], [], marker="o", color="tab:green", ls="", label="neuralmi baselines"),
    ]
    for lib in dict.fromkeys(library[m] for m in methods if library[m] != "neuralmi"):
        handles.append(Line2D([], [], marker="o", color=_LIBRARY_COLORS.get(lib, "tab:gray"), ls="", label=lib))
    ax1.legend(handles=handles, loc="upper left", fontsize=8)
    # right: error vs time per method, labels nudged apart (greedy, in log-log units)
    points = []
    for m in methods:
        st = s["methods"][m]
        if st["mae"] is None or st["median_seconds"] is None or st["mae"] <= 0:
            continue
        t = max(st["median_seconds"], 1e-3)
        star = m in _DEFAULTS
        ax2.scatter(t, st["mae"], s=70 if star else 35, color="black" if star else _color(m, library[m]),
                    marker="*" if star else "o", zorder=4 if star else 3)
        note = f" ({st['failed']} failed)" if st["failed"] else ""
        points.append((math.log10(t), math.log10(st["mae"]), t, st["mae"], m + note))
    if points:
        ys = [p[1] for p in points]
        step = max(0.04, (max(ys) - min(ys)) / 40)  # one label height, in decades
        placed: list[tuple[float, float]] = []
        for lx, ly, t, mae, label in sorted(points, key=lambda p: (-p[1], p[0])):
            y = ly
            while any(abs(lx - px) < 0.9 and abs(y - py) < step for px, py in placed):
                y -= step
            placed.append((lx, y))
            note = ax2.annotate(label, (t, mae), xytext=(t * 1.12, 10 ** y), fontsize=7, va="center",
                                arrowprops={"arrowstyle": "-", "lw": 0.4, "color": "gray"} if y != ly else None)
            note.set_in_layout(False)
    ax2.set_xscale("log")
    ax2.set_yscale("log")
    if points:  # explicit limits: equal errors (peers that agree exactly) leave log autoscaling nothing to span
        low = min(min(p[3] for p in points), min(10**y for _, y in placed))
        ax2.set_ylim(low / 1.5, max(p[3] for p in points) * 1.5)
    ax2.set_xlabel("median seconds per estimate (log)")
    ax2.set_ylabel("mean absolute error, nats (log)")
    ax2.set_title("error vs time per method")
    ax2.grid(True, which="both", alpha=0.3)
    fig.suptitle(f"neuralmi bench: {len(truths)} tasks, n = {rows[0]['n']:,}")
    fig.savefig(path, dpi=110)

    if tasks_path is None:
        return
    _plot_tasks(rows, tasks_path, methods, library, ns)


def _plot_sizes(rows: Sequence[dict[str, Any]], path: str | Path, methods: list[str], library: dict[str, str]) -> None:
    """Mean absolute error against n and against median seconds, one line per method."""
    from matplotlib.figure import Figure

    per_n = summary_by_n(rows)
    ns = list(per_n)
    fig = Figure(figsize=(14, 6), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    seconds: list[float] = []
    for i, m in enumerate(methods):
        pts = [(n, per_n[n]["methods"][m]) for n in ns if m in per_n[n]["methods"]]
        pts = [(n, st) for n, st in pts if st["mae"] is not None and st["mae"] > 0]
        if not pts:
            continue
        default = m in _DEFAULTS
        # one colour per method here (the lines tell the methods apart); the default in black
        style = {"color": "black" if default else f"C{i % 10}", "marker": "*" if default else "o",
                 "lw": 2.0 if default else 1.2, "markersize": 9 if default else 5,
                 "ls": "-" if library[m] == "neuralmi" else "--"}
        ax1.plot([n for n, _ in pts], [st["mae"] for _, st in pts], label=m, **style)
        timed = [(max(st["median_seconds"], 1e-3), st["mae"], n) for n, st in pts if st["median_seconds"] is not None]
        if timed:
            seconds += [t for t, _, _ in timed]
            ax2.plot([t for t, _, _ in timed], [e for _, e, _ in timed], **style)
            for t, e, n in timed:
                note = ax2.annotate(f"{m} {n:,}", (t, e), xytext=(3, 3), textcoords="offset points", fontsize=7)
                note.set_in_layout(False)
    for ax in (ax1, ax2):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.grid(True, which="both", alpha=0.3)
        ax.set_ylabel("mean absolute error, nats (log)")
    ax1.set_xticks(ns)
    ax1.set_xticklabels([f"{n:,}" for n in ns])
    ax1.set_xlabel("samples n (log)")
    ax1.set_title("error against sample size")
    ax1.legend(fontsize=8)
    if seconds:  # room for the labels on the right
        ax2.set_xlim(min(seconds) / 2, max(seconds) * 4)
    ax2.set_xlabel("median seconds per estimate (log)")
    ax2.set_title("error against time (one line per method through its sizes)")
    tasks = {r["task"] for r in rows}
    fig.suptitle(f"neuralmi bench: {len(tasks)} tasks, n = {', '.join(f'{n:,}' for n in ns)}")
    fig.savefig(path, dpi=110)


def _plot_tasks(
    rows: Sequence[dict[str, Any]], tasks_path: str | Path, methods: list[str], library: dict[str, str], ns: list[int]
) -> None:
    """One panel per task: every cell's estimate, one row per method (per method and n when
    there are several sizes), against the truth."""
    from matplotlib.figure import Figure

    truths = {r["task"]: r["truth"] for r in rows}

    def label(method: str, n: int) -> str:
        return method if len(ns) == 1 else f"{method} n={n:,}"

    labels = [label(m, n) for m in methods for n in ns]
    order = list(dict.fromkeys(r["task"] for r in rows))
    cols = 6
    nrows = math.ceil(len(order) / cols)
    fig = Figure(figsize=(3.2 * cols, 0.16 * len(labels) * nrows + 1.2 * nrows + 0.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, cols, squeeze=False)).ravel()
    ypos = {lab: i for i, lab in enumerate(labels)}
    by_task: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_task[r["task"]].append(r)
    for ax, task in zip(axes, order):
        truth = truths[task]
        span = max(1.0, abs(truth))
        left, right = min(0.0, truth) - 0.3 * span, max(0.0, truth) + 0.6 * span
        for r in by_task[task]:
            y = ypos[label(r["method"], int(r["n"]))]
            if r["estimate"] is None:
                ax.scatter(left, y, marker="x", color="gray", s=12)
                continue
            e = float(np.clip(r["estimate"], left, right))
            ax.scatter(e, y, s=10, color="black" if r["method"] in _DEFAULTS else _color(r["method"], library[r["method"]]),
                       marker="o" if e == r["estimate"] else (">" if e == right else "<"), alpha=0.8, linewidths=0)
        ax.axvline(truth, color="black", lw=0.8)
        ax.set_xlim(left - 0.02 * span, right + 0.02 * span)
        ax.set_ylim(len(labels) - 0.5, -0.5)
        ax.set_yticks(range(len(labels)))
        ax.set_yticklabels(labels if ax in axes[::cols] else [], fontsize=6)
        ax.tick_params(axis="x", labelsize=6)
        ax.set_title(f"{task}\n(truth {truth:.3f})", fontsize=7)
        ax.grid(True, axis="x", alpha=0.3)
    for ax in axes[len(order):]:
        ax.set_visible(False)
    fig.suptitle("every estimate per task (vertical line: truth; x: failed; arrows: clipped)", fontsize=10)
    fig.savefig(tasks_path, dpi=90)
