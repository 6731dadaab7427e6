r"""Non-linear dependence and equitability (the MINE paper's second experiment, its Figure 2).

``X ~ U(-1, 1)`` and ``Y = f(X) + σ·ε`` with ``ε ~ N(0, 1)`` and ``f ∈ {x, x³, sin x}``. The
true MI is :attr:`neuralmi.tasks.NonlinearChannel.mi` (numerical integration):

.. math:: I(X; Y) = h(Y) - \tfrac12 \log(2\pi e \sigma^2), \qquad
          p(y) = \tfrac12 \int_{-1}^{1} \varphi_\sigma(y - f(x))\,dx.

``σ = 0`` has infinite MI, so the default grid runs over [0.05, 0.9]. For every ``(f, σ, seed)``
one sample is drawn (the same ``x`` and ``ε`` for the three functions at a given seed, so the
comparison across ``f`` is paired) and each method estimates I(X; Y): by default MINE (plain
concat critic, standardised inputs, no Gaussian baseline, fixed training settings) and, as a
reference, KSG.

The paper's claim is that MINE's estimate "depends on σ and not on f" (equitability). Note that
the *true* MI at a given σ does depend on ``f`` (at σ = 0.5: 0.42 nats for x, 0.23 for x³, 0.37
for sin x), so an accurate estimator cannot be literally independent of ``f``. ``run`` therefore
reports, per σ and method: the spread of the estimates across ``f``, the spread of the truths
across ``f``, and the spread of the errors across ``f`` (an estimator whose error does not depend
on ``f`` is *self-equitable*: its value is a function of the true MI alone).
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._common import (
    check_training,
    float_list,
    jsonable,
    paper_estimate,
    point_record,
    progress_bar,
    set_tuple,
    str_list,
)

__all__ = [
    "DESCRIPTION",
    "Config",
    "quick_config",
    "add_arguments",
    "config_from_args",
    "run",
    "plot",
    "summarize",
    "METHOD_LABELS",
    "FUNCTION_LABELS",
]

DESCRIPTION = """MINE on Y = f(X) + sigma*noise, f in {x, x^3, sin x}: estimate vs sigma against the true MI (paper Fig. 2).

X ~ U(-1, 1); true MI by numerical integration. The equitability claim: the estimate depends on
sigma, not on f. Writes figure.png (estimate vs sigma per f with the truth, one panel per method,
plus estimate vs true MI) and results.json (every point: setting, truth, estimate, stderr,
seconds; spreads across f per sigma)."""

METHOD_LABELS: dict[str, str] = {
    "mine": "MINE",
    "nwj": "MINE-f (NWJ)",
    "dv": "DV (biased)",
    "infonce": "InfoNCE",
    "ksg": "KSG",
}
FUNCTION_LABELS: dict[str, str] = {"linear": "y = x + σε", "cubic": "y = x³ + σε", "sin": "y = sin x + σε"}
_F_COLORS = {"linear": "tab:blue", "cubic": "tab:red", "sin": "tab:green"}

DEFAULT_SIGMAS: tuple[float, ...] = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)

#: relative error below which an estimate counts as matching the truth in the claim checks
CLOSE_REL_ERROR = 0.15
#: spread across f (relative to the mean over f) below which an estimate "does not depend on f"
FLAT_REL_SPREAD = 0.10


@dataclass(frozen=True)
class Config:
    """Settings of the non-linear experiment (validated on construction).

    Attributes:
        fs: channel functions, keys of :data:`FUNCTION_LABELS`.
        sigmas: noise standard deviations, each in [0.01, 100] (σ = 0 would be infinite MI).
        methods: keys of :data:`METHOD_LABELS`.
        n_samples: pairs drawn per (f, σ, seed).
        seeds: repetitions; seed ``s`` draws the sample and initialises the critic.
        base_seed: the first seed.
        hidden, batch_size, lr, steps, eval_every, patience, test_size, ema_rate: critic
            architecture (ReLU MLP on [x, y]) and Adam training settings of the neural methods.
        ksg_k: neighbours of KSG.
        truth_points: σ values on which the truth curve of the figure is computed.
        device: passed to :func:`neuralmi.estimate`.
        progress: progress bar over the grid; ``None`` shows it only on a terminal.
        threads: torch CPU threads while the experiment runs (restored afterwards).
    """

    fs: tuple[str, ...] = ("linear", "cubic", "sin")
    sigmas: tuple[float, ...] = DEFAULT_SIGMAS
    methods: tuple[str, ...] = ("mine", "ksg")
    n_samples: int = 5000
    seeds: int = 3
    base_seed: int = 0
    hidden: tuple[int, ...] = (128, 128)
    batch_size: int = 256
    lr: float = 1e-3
    steps: int = 2000
    eval_every: int = 100
    patience: int | None = 5
    test_size: float = 0.3
    ema_rate: float = 0.01
    ksg_k: int = 3
    truth_points: int = 40
    device: str = "auto"
    progress: bool | None = None
    threads: int = 1

    def __post_init__(self) -> None:
        set_tuple(self, "fs", str)
        set_tuple(self, "sigmas", float)
        set_tuple(self, "methods", str)
        set_tuple(self, "hidden", int)
        bad_f = [f for f in self.fs if f not in FUNCTION_LABELS]
        if not self.fs or bad_f or len(set(self.fs)) != len(self.fs):
            raise ValueError(f"fs must be distinct names from {', '.join(FUNCTION_LABELS)}; got {self.fs}")
        if not self.sigmas or any(not (0.01 <= s <= 100.0) for s in self.sigmas):
            raise ValueError(
                f"sigmas must be non-empty, each in [0.01, 100] (sigma = 0 has infinite MI); got {self.sigmas}"
            )
        if len(set(self.sigmas)) != len(self.sigmas):
            raise ValueError(f"sigmas must not repeat; got {self.sigmas}")
        bad_m = [m for m in self.methods if m not in METHOD_LABELS]
        if not self.methods or bad_m or len(set(self.methods)) != len(self.methods):
            raise ValueError(f"methods must be distinct names from {', '.join(METHOD_LABELS)}; got {self.methods}")
        if not self.hidden or any(h < 1 for h in self.hidden):
            raise ValueError(f"hidden must be non-empty positive widths; got {self.hidden}")
        check_training(self)
        if isinstance(self.ksg_k, bool) or not isinstance(self.ksg_k, int) or self.ksg_k < 1:
            raise ValueError(f"ksg_k must be a positive integer; got {self.ksg_k!r}")
        if isinstance(self.truth_points, bool) or not isinstance(self.truth_points, int) or self.truth_points < 2:
            raise ValueError(f"truth_points must be an integer >= 2; got {self.truth_points!r}")




def quick_config(**changes: Any) -> Config:
    """A small run (seconds) for smoke tests: three σ values, one seed, short training."""
    base = Config(
        sigmas=(0.1, 0.3, 0.9),
        n_samples=1000,
        seeds=1,
        hidden=(32, 32),
        batch_size=128,
        lr=3e-3,
        steps=150,
        eval_every=50,
        patience=None,
        truth_points=6,
    )
    return dataclasses.replace(base, **changes)


# ---------------------------------------------------------------------------------- command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The experiment's own options (the CLI adds --quick, --seeds, --out, --device, --quiet)."""
    d = Config()
    parser.add_argument("--sigmas", type=float_list, help="noise levels, e.g. 0.1,0.3,0.9 (default: 10 values from 0.05 to 0.9)")
    parser.add_argument("--functions", type=str_list, dest="fs", help=f"subset of {','.join(FUNCTION_LABELS)} (default all)")
    parser.add_argument("--methods", type=str_list, help=f"subset of {','.join(METHOD_LABELS)} (default {','.join(d.methods)})")
    parser.add_argument("--n", type=int, dest="n_samples", help=f"samples per point (default {d.n_samples})")
    parser.add_argument("--steps", type=int, help=f"training steps of the neural methods (default {d.steps})")


def config_from_args(args: argparse.Namespace) -> Config:
    """Build the :class:`Config` from parsed arguments (``--quick`` starts from
    :func:`quick_config`; explicit options override)."""
    base = quick_config() if getattr(args, "quick", False) else Config()
    changes: dict[str, Any] = {}
    for name in ("sigmas", "fs", "methods", "n_samples", "steps"):
        value = getattr(args, name, None)
        if value is not None:
            changes[name] = value
    if getattr(args, "seeds", None) is not None:
        changes["seeds"] = args.seeds
    if getattr(args, "device", None) is not None:
        changes["device"] = args.device
    if getattr(args, "quiet", False):
        changes["progress"] = False
    return dataclasses.replace(base, **changes)


# ---------------------------------------------------------------------------------- running



def _curves(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for p in points:
        groups.setdefault((p["f"], p["sigma"], p["method"]), []).append(p)
    out = []
    for (f, sigma, method), ps in groups.items():
        est = np.array([p["estimate"] for p in ps])
        out.append(
            {
                "f": f,
                "sigma": sigma,
                "method": method,
                "truth": ps[0]["truth"],
                "mean": float(est.mean()),
                "sd": float(est.std(ddof=1)) if len(est) > 1 else 0.0,
                "seeds": len(est),
                "seconds": float(sum(p["seconds"] for p in ps)),
            }
        )
    return out


def _equitability(curves: list[dict[str, Any]], method: str, sigmas: tuple[float, ...]) -> list[dict[str, Any]]:
    """Per σ: the spread (max - min) across f of the mean estimates, of the truths and of the
    errors, and the spreads relative to the mean over f."""
    rows = []
    for s in sigmas:
        cs = [c for c in curves if c["method"] == method and c["sigma"] == s]
        if len(cs) < 2:
            continue
        est = np.array([c["mean"] for c in cs])
        tru = np.array([c["truth"] for c in cs])
        err = est - tru
        rows.append(
            {
                "sigma": s,
                "estimate_by_f": {c["f"]: c["mean"] for c in cs},
                "truth_by_f": {c["f"]: c["truth"] for c in cs},
                "estimate_spread": float(est.max() - est.min()),
                "truth_spread": float(tru.max() - tru.min()),
                "error_spread": float(err.max() - err.min()),
                "estimate_rel_spread": float((est.max() - est.min()) / max(abs(est.mean()), 1e-12)),
                "truth_rel_spread": float((tru.max() - tru.min()) / tru.mean()),
            }
        )
    return rows


def _summary(curves: list[dict[str, Any]], cfg: Config) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for m in cfg.methods:
        per_f = {}
        for f in cfg.fs:
            cs = [c for c in curves if c["method"] == m and c["f"] == f]
            tru = np.array([c["truth"] for c in cs])
            est = np.array([c["mean"] for c in cs])
            per_f[f] = {
                "mean_abs_error": float(np.mean(np.abs(est - tru))),
                "mean_error": float(np.mean(est - tru)),
                "mean_rel_error": float(np.mean(np.abs(est - tru) / tru)),
                "mean_seed_sd": float(np.mean([c["sd"] for c in cs])),
            }
        eq = _equitability(curves, m, cfg.sigmas)
        out[m] = {
            "per_f": per_f,
            "equitability": eq,
            "mean_estimate_rel_spread": float(np.mean([r["estimate_rel_spread"] for r in eq])) if eq else None,
            "mean_truth_rel_spread": float(np.mean([r["truth_rel_spread"] for r in eq])) if eq else None,
            "mean_estimate_spread": float(np.mean([r["estimate_spread"] for r in eq])) if eq else None,
            "mean_truth_spread": float(np.mean([r["truth_spread"] for r in eq])) if eq else None,
            "mean_error_spread": float(np.mean([r["error_spread"] for r in eq])) if eq else None,
        }
    return out


def _claims(summary: dict[str, Any], cfg: Config) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "criterion": (
            f"'does not depend on f': the spread of the mean estimates across f, relative to their "
            f"mean, averaged over sigma, is below {FLAT_REL_SPREAD}; 'matches the truth': the mean "
            f"relative error is below {CLOSE_REL_ERROR} for every f; 'self-equitable': the spread of "
            "the errors across f is below a quarter of the spread of the truths across f (the "
            "estimate is a function of the true MI, whatever f)"
        )
    }
    if "mine" not in summary or len(cfg.fs) < 2:
        return claims
    s = summary["mine"]
    claims["mine_independent_of_f"] = {
        "claim": "MINE's estimate depends on sigma, not on f (the paper's equitability)",
        "mean_estimate_rel_spread": s["mean_estimate_rel_spread"],
        "mean_truth_rel_spread": s["mean_truth_rel_spread"],
        "holds": bool(s["mean_estimate_rel_spread"] < FLAT_REL_SPREAD),
    }
    rel = {f: v["mean_rel_error"] for f, v in s["per_f"].items()}
    claims["mine_matches_truth"] = {
        "claim": "MINE's estimate matches the true MI for every f",
        "mean_rel_error": rel,
        "holds": bool(all(v < CLOSE_REL_ERROR for v in rel.values())),
    }
    claims["mine_self_equitable"] = {
        "claim": "MINE's error does not depend on f (its estimate is a function of the true MI)",
        "mean_error_spread": s["mean_error_spread"],
        "mean_truth_spread": s["mean_truth_spread"],
        "holds": bool(s["mean_error_spread"] < 0.25 * s["mean_truth_spread"]),
    }
    return claims


def run(config: Config) -> dict[str, Any]:
    """Run the grid ``fs × sigmas × seeds × methods``.

    Returns a JSON-serialisable dict: ``experiment``, ``config``, ``points`` (one per estimate:
    ``f``, ``sigma``, ``method``, ``seed``, ``truth``, ``estimate``, ``stderr``, ``seconds``,
    ...), ``curves`` (mean and sd over seeds per ``(f, sigma, method)``), ``truth_curve``
    (``{f: [[sigma, mi], ...]}``), ``summary`` (errors per f; spreads across f per sigma),
    ``claims`` and ``seconds``.
    """
    import torch

    import neuralmi
    from neuralmi.tasks import NonlinearChannel

    if not isinstance(config, Config):
        raise TypeError(f"config must be a nonlinear.Config; got {type(config).__name__}")
    t0 = time.perf_counter()
    old_threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    points: list[dict[str, Any]] = []
    total = len(config.fs) * len(config.sigmas) * config.seeds * len(config.methods)
    bar = progress_bar(total, config.progress, "nonlinear")
    try:
        for sigma in config.sigmas:
            for f in config.fs:
                task = NonlinearChannel(f, sigma)
                for s in range(config.seeds):
                    seed = config.base_seed + s
                    x, y = task.sample(config.n_samples, seed=seed)
                    for method in config.methods:
                        bar.set_postfix_str(f"sigma={sigma:.2f} {f} {method}")
                        res = paper_estimate(x, y, method, config, seed)
                        points.append(point_record({"f": f, "sigma": sigma, "method": method}, task.mi, res, seed))
                        bar.update(1)
    finally:
        bar.close()
        torch.set_num_threads(old_threads)
    lo, hi = min(config.sigmas), max(config.sigmas)
    grid = np.geomspace(lo, hi, config.truth_points)
    truth_curve = {f: [[float(s), NonlinearChannel(f, float(s)).mi] for s in grid] for f in config.fs}
    curves = _curves(points)
    summary = _summary(curves, config)
    return jsonable(
        {
            "experiment": "nonlinear",
            "description": DESCRIPTION.splitlines()[0],
            "config": asdict(config),
            "labels": {m: METHOD_LABELS[m] for m in config.methods},
            "function_labels": {f: FUNCTION_LABELS[f] for f in config.fs},
            "points": points,
            "curves": curves,
            "truth_curve": truth_curve,
            "summary": summary,
            "claims": _claims(summary, config),
            "versions": {"neuralmi": neuralmi.__version__, "torch": torch.__version__, "numpy": np.__version__},
            "seconds": time.perf_counter() - t0,
        }
    )


# ---------------------------------------------------------------------------------- reporting
def plot(results: dict[str, Any], path: str | Path) -> None:
    """Write the figure: one panel per method (estimate, mean ± sd over seeds, against σ for each
    f, with the true MI as a dashed line of the same colour), and a last panel of estimate against
    true MI for all f (equitable estimators put every f on one curve)."""
    from matplotlib.figure import Figure

    methods = list(results["labels"])
    fs = list(results["function_labels"])
    curves = results["curves"]
    n = len(methods) + 1
    fig = Figure(figsize=(4.6 * n, 4.2))
    axes = fig.subplots(1, n, squeeze=False)[0]
    top = 1.1 * max(max(mi for _, mi in tc) for tc in results["truth_curve"].values())
    top = max(top, 1.1 * max(c["mean"] for c in curves))
    for ax, m in zip(axes, methods):
        for f in fs:
            tc = np.array(results["truth_curve"][f])
            ax.plot(tc[:, 0], tc[:, 1], ls="--", lw=1.2, color=_F_COLORS[f], alpha=0.8)
            cs = sorted((c for c in curves if c["method"] == m and c["f"] == f), key=lambda c: c["sigma"])
            ax.errorbar(
                [c["sigma"] for c in cs], [c["mean"] for c in cs], yerr=[c["sd"] for c in cs],
                fmt="o-", ms=3.5, lw=1, capsize=2, color=_F_COLORS[f], label=results["function_labels"][f],
            )
        ax.plot([], [], ls="--", color="black", label="true MI (dashed)")
        ax.set_xlabel("noise σ")
        ax.set_ylabel("MI (nats)")
        ax.set_ylim(0, top)
        ax.set_title(f"{results['labels'][m]}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    ax = axes[-1]
    markers = ["o", "s", "^", "D", "v"]
    for i, m in enumerate(methods):
        for f in fs:
            cs = [c for c in curves if c["method"] == m and c["f"] == f]
            ax.errorbar(
                [c["truth"] for c in cs], [c["mean"] for c in cs], yerr=[c["sd"] for c in cs],
                fmt=markers[i % len(markers)], ms=4, capsize=2, color=_F_COLORS[f], alpha=0.8,
                label=f"{results['labels'][m]}, {f}",
            )
    ax.plot([0, top], [0, top], color="black", lw=1, label="estimate = truth")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel("true MI (nats)")
    ax.set_ylabel("estimate (nats)")
    ax.set_title("estimate vs truth, all f")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    cfg = results["config"]
    fig.suptitle(
        f"X ~ U(-1,1), Y = f(X) + σε  (n = {cfg['n_samples']}, {cfg['seeds']} seed(s); error bars: sd over seeds)",
        fontsize=11,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def summarize(results: dict[str, Any]) -> str:
    """A text table: per method and σ, the mean estimate for each f next to its truth, and the
    spreads across f; then the claims."""
    fs = list(results["function_labels"])
    lines = []
    for m, s in results["summary"].items():
        lines.append(f"{results['labels'][m]}: estimate (truth) per f; spread across f of estimates / truths")
        lines.append("  sigma " + "".join(f"{f:>18}" for f in fs) + "   est.spread  true.spread")
        for row in s["equitability"]:
            cells = "".join(
                f"{row['estimate_by_f'].get(f, float('nan')):9.3f} ({row['truth_by_f'].get(f, float('nan')):5.3f})"
                for f in fs
            )
            lines.append(f"  {row['sigma']:5.2f} {cells}   {row['estimate_spread']:10.3f}  {row['truth_spread']:11.3f}")
        errs = ", ".join(f"{f} {v['mean_rel_error']:.3f}" for f, v in s["per_f"].items())
        lines.append(f"  mean relative error: {errs}")
        lines.append("")
    for c in results["claims"].values():
        if isinstance(c, dict):
            lines.append(f"claim: {c['claim']}: {'holds' if c['holds'] else 'does NOT hold'}")
    return "\n".join(lines)
