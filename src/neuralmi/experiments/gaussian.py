r"""MINE vs KSG on correlated Gaussians (the MINE paper's first experiment, its Figure 1).

``X, Y ∈ R^d``; the pairs ``(X_i, Y_i)`` are independent standard bivariate normals with
correlation ``rho``, so the true mutual information is

.. math:: I(X; Y) = -\tfrac{d}{2} \log(1 - \rho^2) \quad \text{nats}.

For every dimension ``d`` (default 2 and 20), correlation ``rho`` (default 15 values in
(-1, 1), ±0.99 and 0 included) and seed, one sample of ``n_samples`` pairs is drawn and every
method estimates I(X; Y) on that same sample:

* ``mine``: MINE (Donsker–Varadhan value, moving-average gradient correction);
* ``nwj``: MINE-f (the f-divergence / NWJ bound);
* ``dv``: DV with plain minibatch gradients ("MINE (biased)");
* ``infonce``: InfoNCE (capped at log(batch size));
* ``ksg``: the Kraskov–Stögbauer–Grassberger k-nearest-neighbour estimator;
* ``neuralmi`` (optional, off by default): this library's default estimator (MINE on a
  rank-transformed input with a closed-form Gaussian critic under a neural residual). It is not
  part of the paper; it is exact by construction on Gaussians and is shown only for reference.

The neural methods use *plain* critics as in the paper: an MLP on the concatenated ``[x, y]``
(InfoNCE: the separable critic ``f(x)ᵀg(y)`` by default, so that all B×B pairs are cheap), inputs
standardised per column, no Gaussian baseline, and the fixed training settings of :class:`Config`
(so results do not move when the library's defaults are retuned). Every estimate is read on
held-out samples the critic was not trained on.

``run`` returns every point (setting, truth, estimate, standard error, seconds), the mean and
the standard deviation over seeds per curve point, per-(dimension, method) error summaries and
the paper's three claims checked against stated criteria.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._common import (
    check_training,
    float_list,
    int_list,
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
]

DESCRIPTION = """MINE, MINE-f, DV, InfoNCE and KSG against the true MI of correlated Gaussians (paper Fig. 1).

X, Y in R^d (d in {2, 20} by default), componentwise correlation rho over (-1, 1); truth
I = -(d/2) log(1 - rho^2). Writes figure.png (estimate vs rho per method, error bars over seeds,
one panel per d) and results.json (every point: setting, truth, estimate, stderr, seconds)."""

#: method key -> label in figures and tables
METHOD_LABELS: dict[str, str] = {
    "mine": "MINE",
    "nwj": "MINE-f (NWJ)",
    "dv": "DV (biased)",
    "infonce": "InfoNCE",
    "ksg": "KSG",
    "neuralmi": "neuralmi default (not in paper)",
}
_NEURAL = ("mine", "nwj", "dv", "infonce")
_COLORS = {
    "mine": "tab:red",
    "nwj": "tab:orange",
    "dv": "tab:purple",
    "infonce": "tab:green",
    "ksg": "tab:blue",
    "neuralmi": "tab:gray",
}

DEFAULT_RHOS: tuple[float, ...] = (
    -0.99, -0.95, -0.9, -0.8, -0.6, -0.4, -0.2, 0.0, 0.2, 0.4, 0.6, 0.8, 0.9, 0.95, 0.99,
)


@dataclass(frozen=True)
class Config:
    """Settings of the Gaussian experiment (validated on construction).

    Attributes:
        dims: dimensions ``d`` of X and of Y (one figure panel each).
        rhos: componentwise correlations, each in (-1, 1).
        methods: keys of :data:`METHOD_LABELS`.
        n_samples: pairs drawn per (d, rho, seed); neural methods hold out ``test_size`` of them.
        seeds: repetitions; seed ``s`` draws the sample and initialises the critic.
        base_seed: the first seed.
        hidden: hidden layer widths of the critics (ReLU MLPs).
        batch_size, lr, steps, eval_every, patience, test_size, ema_rate: training settings of
            the neural methods (Adam; see :class:`neuralmi.EstimatorConfig`).
        infonce_critic: ``"separable"`` or ``"concat"`` for InfoNCE.
        ksg_k: neighbours of KSG.
        device: passed to :func:`neuralmi.estimate` (``"auto"``, ``"cpu"``, ``"cuda"``).
        progress: progress bar over the grid; ``None`` shows it only on a terminal.
        threads: torch CPU threads while the experiment runs (restored afterwards); 1 is fastest
            for these small networks on a shared CPU.
    """

    dims: tuple[int, ...] = (2, 20)
    rhos: tuple[float, ...] = DEFAULT_RHOS
    methods: tuple[str, ...] = ("mine", "nwj", "dv", "infonce", "ksg")
    n_samples: int = 5000
    seeds: int = 2
    base_seed: int = 0
    hidden: tuple[int, ...] = (128, 128)
    batch_size: int = 256
    lr: float = 1e-3
    steps: int = 2000
    eval_every: int = 100
    patience: int | None = 5
    test_size: float = 0.3
    ema_rate: float = 0.01
    infonce_critic: str = "separable"
    ksg_k: int = 3
    device: str = "auto"
    progress: bool | None = None
    threads: int = 1

    def __post_init__(self) -> None:
        set_tuple(self, "dims", int)
        set_tuple(self, "rhos", float)
        set_tuple(self, "methods", str)
        set_tuple(self, "hidden", int)
        if not self.dims or any(d < 1 for d in self.dims):
            raise ValueError(f"dims must be non-empty positive integers; got {self.dims}")
        if len(set(self.dims)) != len(self.dims):
            raise ValueError(f"dims must not repeat; got {self.dims}")
        if not self.rhos or any(not (-1.0 < r < 1.0) for r in self.rhos):
            raise ValueError(f"rhos must be non-empty, each strictly between -1 and 1; got {self.rhos}")
        if len(set(self.rhos)) != len(self.rhos):
            raise ValueError(f"rhos must not repeat; got {self.rhos}")
        unknown = [m for m in self.methods if m not in METHOD_LABELS]
        if not self.methods or unknown:
            raise ValueError(
                f"methods must be a non-empty subset of {', '.join(METHOD_LABELS)}; got {self.methods}"
            )
        if len(set(self.methods)) != len(self.methods):
            raise ValueError(f"methods must not repeat; got {self.methods}")
        if not self.hidden or any(h < 1 for h in self.hidden):
            raise ValueError(f"hidden must be non-empty positive widths; got {self.hidden}")
        check_training(self)
        if self.infonce_critic not in ("separable", "concat"):
            raise ValueError(f"infonce_critic must be 'separable' or 'concat'; got {self.infonce_critic!r}")
        if not isinstance(self.ksg_k, int) or self.ksg_k < 1:
            raise ValueError(f"ksg_k must be a positive integer; got {self.ksg_k!r}")




def quick_config(**changes: Any) -> Config:
    """A small run (seconds) for smoke tests: d = 2, four correlations, one seed, short training."""
    base = Config(
        dims=(2,),
        rhos=(-0.9, 0.0, 0.5, 0.9),
        n_samples=1000,
        seeds=1,
        hidden=(32, 32),
        batch_size=128,
        lr=3e-3,
        steps=150,
        eval_every=50,
        patience=None,
    )
    return dataclasses.replace(base, **changes)


# ---------------------------------------------------------------------------------- command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The experiment's own options (the CLI adds --quick, --seeds, --out, --device, --quiet)."""
    d = Config()
    parser.add_argument("--dims", type=int_list, help=f"dimensions of X and Y, e.g. 2,20 (default {','.join(map(str, d.dims))})")
    parser.add_argument("--rhos", type=float_list, help=f"correlations in (-1, 1); write --rhos=-0.9,0,0.9 when the list starts with a minus (default: {len(d.rhos)} values from -0.99 to 0.99)")
    parser.add_argument(
        "--methods",
        type=str_list,
        help=f"comma-separated subset of {','.join(METHOD_LABELS)} (default {','.join(d.methods)})",
    )
    parser.add_argument("--with-default", action="store_true", help="add the library's default estimator as an extra curve (not in the paper)")
    parser.add_argument("--n", type=int, dest="n_samples", help=f"samples per point (default {d.n_samples})")
    parser.add_argument("--steps", type=int, help=f"training steps of the neural methods (default {d.steps})")


def config_from_args(args: argparse.Namespace) -> Config:
    """Build the :class:`Config` from parsed command-line arguments (``--quick`` starts from
    :func:`quick_config`; explicit options override)."""
    base = quick_config() if getattr(args, "quick", False) else Config()
    changes: dict[str, Any] = {}
    for name in ("dims", "rhos", "methods", "n_samples", "steps"):
        value = getattr(args, name, None)
        if value is not None:
            changes[name] = value
    if getattr(args, "with_default", False):
        methods = changes.get("methods", base.methods)
        if "neuralmi" not in methods:
            changes["methods"] = (*methods, "neuralmi")
    if getattr(args, "seeds", None) is not None:
        changes["seeds"] = args.seeds
    if getattr(args, "device", None) is not None:
        changes["device"] = args.device
    if getattr(args, "quiet", False):
        changes["progress"] = False
    return dataclasses.replace(base, **changes)


# ---------------------------------------------------------------------------------- running


def _curve_stats(points: list[dict[str, Any]], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """Group points by ``keys`` (+ method); mean and standard deviation over seeds."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for p in points:
        groups.setdefault(tuple(p[k] for k in keys) + (p["method"],), []).append(p)
    out = []
    for key, ps in groups.items():
        est = np.array([p["estimate"] for p in ps])
        out.append(
            {
                **dict(zip(keys, key[:-1])),
                "method": key[-1],
                "truth": ps[0]["truth"],
                "mean": float(est.mean()),
                "sd": float(est.std(ddof=1)) if len(est) > 1 else 0.0,
                "seeds": len(est),
                "mean_stderr": _mean_or_none([p["stderr"] for p in ps]),
                "seconds": float(sum(p["seconds"] for p in ps)),
            }
        )
    return out


def _mean_or_none(values: list[Any]) -> float | None:
    vals = [v for v in values if v is not None]
    return float(np.mean(vals)) if vals else None


#: relative error below which an estimator counts as "close to the truth" in the claim checks
CLOSE_REL_ERROR = 0.15
#: MI (nats) below which relative errors are not used (they blow up near rho = 0)
MIN_TRUTH_FOR_REL = 0.1


def _error_summary(curves: list[dict[str, Any]]) -> dict[str, float]:
    truth = np.array([c["truth"] for c in curves])
    mean = np.array([c["mean"] for c in curves])
    err = mean - truth
    rel_mask = truth >= MIN_TRUTH_FOR_REL
    return {
        "mean_abs_error": float(np.mean(np.abs(err))),
        "mean_error": float(np.mean(err)),
        "mean_rel_error": float(np.mean(np.abs(err[rel_mask]) / truth[rel_mask])) if rel_mask.any() else float("nan"),
        "max_abs_error": float(np.max(np.abs(err))),
        "mean_seed_sd": float(np.mean([c["sd"] for c in curves])),
        "points": len(curves),
    }


def _paired_difference(points: list[dict[str, Any]], dim: int, a: str, b: str) -> dict[str, float] | None:
    """Mean over (rho, seed) of estimate(a) - estimate(b) on the same samples, its standard
    error, and the share of pairs where ``a`` is the higher (both are lower bounds in
    expectation, so higher is tighter unless above the truth)."""
    ea = {(p["rho"], p["seed"]): p["estimate"] for p in points if p["dim"] == dim and p["method"] == a}
    eb = {(p["rho"], p["seed"]): p["estimate"] for p in points if p["dim"] == dim and p["method"] == b}
    keys = sorted(set(ea) & set(eb))
    if not keys:
        return None
    diff = np.array([ea[k] - eb[k] for k in keys])
    se = float(diff.std(ddof=1) / math.sqrt(len(diff))) if len(diff) > 1 else float("nan")
    return {"mean": float(diff.mean()), "stderr": se, "share_higher": float(np.mean(diff > 0)), "pairs": len(diff)}


def _claims(
    summary: dict[str, dict[str, dict[str, float]]], dims: tuple[int, ...], points: list[dict[str, Any]]
) -> dict[str, Any]:
    """The paper's claims against stated criteria (see CLOSE_REL_ERROR)."""
    claims: dict[str, Any] = {
        "criterion": (
            f"'close to the truth' means a mean relative error |mean over seeds - truth| / truth below "
            f"{CLOSE_REL_ERROR} over the correlations with truth >= {MIN_TRUTH_FOR_REL} nats; "
            "'tighter' means a smaller mean absolute error over all correlations (mine_minus_nwj: "
            "paired differences of the estimates on the same samples, mean ± stderr)"
        )
    }
    lo, hi = min(dims), max(dims)
    if "mine" in next(iter(summary.values()), {}):
        rel = {str(d): summary[str(d)]["mine"]["mean_rel_error"] for d in dims}
        claims["mine_close_to_truth"] = {
            "claim": "MINE close to the truth in every dimension",
            "mean_rel_error": rel,
            "holds": bool(all(v < CLOSE_REL_ERROR for v in rel.values())),
        }
    if "ksg" in next(iter(summary.values()), {}) and lo != hi:
        r_lo = summary[str(lo)]["ksg"]["mean_rel_error"]
        r_hi = summary[str(hi)]["ksg"]["mean_rel_error"]
        claims["ksg_good_low_worse_high"] = {
            "claim": f"KSG good at d={lo}, worse at d={hi}",
            "mean_rel_error": {str(lo): r_lo, str(hi): r_hi},
            "holds": bool(r_lo < CLOSE_REL_ERROR and r_hi > r_lo),
        }
    if all(m in next(iter(summary.values()), {}) for m in ("mine", "nwj")):
        per_dim = {
            str(d): {
                "mine_mean_abs_error": summary[str(d)]["mine"]["mean_abs_error"],
                "nwj_mean_abs_error": summary[str(d)]["nwj"]["mean_abs_error"],
                "mine_mean_seed_sd": summary[str(d)]["mine"]["mean_seed_sd"],
                "nwj_mean_seed_sd": summary[str(d)]["nwj"]["mean_seed_sd"],
                "mine_minus_nwj": _paired_difference(points, d, "mine", "nwj"),
            }
            for d in dims
        }
        claims["mine_tighter_than_minef"] = {
            "claim": "MINE tighter than MINE-f (NWJ)",
            "per_dim": per_dim,
            "holds": bool(all(v["mine_mean_abs_error"] < v["nwj_mean_abs_error"] for v in per_dim.values())),
        }
    return claims


def run(config: Config) -> dict[str, Any]:
    """Run the grid ``dims × rhos × seeds × methods``.

    Returns a JSON-serialisable dict: ``experiment``, ``config``, ``points`` (one per estimate:
    ``dim``, ``rho``, ``method``, ``seed``, ``truth``, ``estimate``, ``stderr``, ``seconds``,
    ...), ``curves`` (mean and standard deviation over seeds per ``(dim, rho, method)``),
    ``summary`` (per dimension and method: mean absolute / relative / signed error, mean seed
    standard deviation), ``claims`` and ``seconds`` (total wall time).
    """
    import torch

    import neuralmi
    from neuralmi.tasks import CorrelatedGaussian

    if not isinstance(config, Config):
        raise TypeError(f"config must be a gaussian.Config; got {type(config).__name__}")
    t0 = time.perf_counter()
    old_threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    points: list[dict[str, Any]] = []
    total = len(config.dims) * len(config.rhos) * config.seeds * len(config.methods)
    bar = progress_bar(total, config.progress, "gaussian")
    try:
        for dim in config.dims:
            for rho in config.rhos:
                task = CorrelatedGaussian(dim, rho)
                for s in range(config.seeds):
                    seed = config.base_seed + s
                    x, y = task.sample(config.n_samples, seed=seed)
                    for method in config.methods:
                        bar.set_postfix_str(f"d={dim} rho={rho:+.2f} {method}")
                        res = paper_estimate(x, y, method, config, seed)
                        points.append(point_record({"dim": dim, "rho": rho, "method": method}, task.mi, res, seed))
                        bar.update(1)
    finally:
        bar.close()
        torch.set_num_threads(old_threads)
    curves = _curve_stats(points, ("dim", "rho"))
    summary = {
        str(d): {m: _error_summary([c for c in curves if c["dim"] == d and c["method"] == m]) for m in config.methods}
        for d in config.dims
    }
    return jsonable({
        "experiment": "gaussian",
        "description": DESCRIPTION.splitlines()[0],
        "config": asdict(config),
        "labels": {m: METHOD_LABELS[m] for m in config.methods},
        "truth_formula": "I = -(d/2) log(1 - rho^2) nats",
        "points": points,
        "curves": curves,
        "summary": summary,
        "claims": _claims(summary, config.dims, points),
        "versions": {"neuralmi": neuralmi.__version__, "torch": torch.__version__, "numpy": np.__version__},
        "seconds": time.perf_counter() - t0,
    })



def plot(results: dict[str, Any], path: str | Path) -> None:
    """Write the figure: one panel per dimension, estimate (mean ± sd over seeds) against rho per
    method, and the true MI. Points above the panel's range are drawn as triangles on its top
    edge, labelled with their value."""
    from matplotlib.figure import Figure

    curves = results["curves"]
    dims = sorted({c["dim"] for c in curves})
    methods = list(results["labels"])
    fig = Figure(figsize=(5.2 * len(dims), 4.4))
    axes = fig.subplots(1, len(dims), squeeze=False)[0]
    n_methods = len(methods)
    for ax, dim in zip(axes, dims):
        rhos = np.array(sorted({c["rho"] for c in curves if c["dim"] == dim}))
        span = float(rhos.max() - rhos.min()) or 1.0
        grid = np.linspace(min(-0.995, rhos.min()), max(0.995, rhos.max()), 400)
        truth = -0.5 * dim * np.log1p(-grid**2)
        top = 1.25 * float(-0.5 * dim * np.log1p(-np.max(np.abs(rhos)) ** 2)) + 0.2
        ax.plot(grid, truth, color="black", lw=1.5, label="true MI", zorder=1)
        off_scale: list[str] = []
        for i, m in enumerate(methods):
            cs = sorted((c for c in curves if c["dim"] == dim and c["method"] == m), key=lambda c: c["rho"])
            if not cs:
                continue
            offset = (i - (n_methods - 1) / 2) * 0.006 * span  # keep error bars apart
            r = np.array([c["rho"] for c in cs]) + offset
            mean = np.array([c["mean"] for c in cs])
            sd = np.array([c["sd"] for c in cs])
            inside = mean <= top
            ax.errorbar(
                r[inside], mean[inside], yerr=sd[inside], fmt="o-", ms=3.5, lw=1, capsize=2,
                color=_COLORS.get(m), label=results["labels"][m], zorder=2,
            )
            if (~inside).any():
                ax.plot(r[~inside], np.full((~inside).sum(), top * 0.975), ls="none", marker="^",
                        color=_COLORS.get(m), ms=7, zorder=3)
                out_r = np.abs(np.array([c["rho"] for c in cs])[~inside])
                off_scale.append(
                    f"{results['labels'][m]} off scale (▲) at |rho| {out_r.min():g}–{out_r.max():g}: "
                    f"{mean[~inside].min():.0f} to {mean[~inside].max():.0f} nats"
                )
        if off_scale:
            ax.text(0.5, 0.9, "\n".join(off_scale), transform=ax.transAxes, ha="center", va="top", fontsize=7.5,
                    bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "0.7"})
        ax.set_ylim(-0.05 * top, top)
        ax.set_xlabel("correlation rho")
        ax.set_ylabel("MI (nats)")
        ax.set_title(f"d = {dim}  (n = {results['config']['n_samples']}, {results['config']['seeds']} seed(s))")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, loc="upper center")
    fig.suptitle("Correlated Gaussians: estimates vs true MI (error bars: sd over seeds)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def summarize(results: dict[str, Any]) -> str:
    """A short text table: per dimension and method, the mean absolute and relative errors and
    the estimates at a few correlations; then the claims."""
    curves = results["curves"]
    labels = results["labels"]
    lines = []
    for dim in sorted({c["dim"] for c in curves}):
        rhos = sorted({c["rho"] for c in curves if c["dim"] == dim})
        show = [r for r in rhos if r >= 0][-4:] or rhos[-4:]
        truth = {r: -0.5 * dim * math.log1p(-r * r) for r in show}
        head = f"d = {dim}".ljust(30) + "".join(f"rho={r:<+6.2f}".rjust(12) for r in show) + "   mean|err|  rel.err"
        lines.append(head)
        lines.append("  true MI".ljust(30) + "".join(f"{truth[r]:12.3f}" for r in show))
        for m, s in results["summary"][str(dim)].items():
            by_rho = {c["rho"]: c for c in curves if c["dim"] == dim and c["method"] == m}
            cells = "".join(
                f"{by_rho[r]['mean']:7.3f}±{by_rho[r]['sd']:<4.2f}" if r in by_rho else " " * 12 for r in show
            )
            lines.append(f"  {labels[m]}".ljust(30) + cells + f"   {s['mean_abs_error']:9.3f}  {s['mean_rel_error']:7.3f}")
        lines.append("")
    for key, c in results["claims"].items():
        if isinstance(c, dict):
            lines.append(f"claim: {c['claim']}: {'holds' if c['holds'] else 'does NOT hold'}")
    return "\n".join(lines)
