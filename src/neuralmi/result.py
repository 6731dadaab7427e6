"""The result of an MI estimate: the number, its error bar, how it was made and how training went."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from statistics import NormalDist

__all__ = ["MIResult"]

LN2 = math.log(2.0)
Z95 = NormalDist().inv_cdf(0.975)
#: the interval's upper end assumes that the held-out bound falls short of the truth by at most
#: this many times what the critic reads on its own training rows above unseen ones (0.8.0 and
#: 0.9.0: 2; 4 since 0.10.0, set from a spiral at 10,000 rows, where 2 covered 62 % of 100
#: samples; see :attr:`MIResult.upper_read`)
GAP_FACTOR = 4.0


def _jsonable(obj: Any) -> Any:
    """Convert NumPy scalars/arrays, tuples and non-finite floats into plain JSON values."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "tolist"):
        return _jsonable(obj.tolist())
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, (str, int, bool)) or obj is None:
        return obj
    return repr(obj)


@dataclass(frozen=True)
class MIResult:
    """An estimate of I(X; Y).

    Attributes:
        mi: the estimate in nats.
        stderr: its standard error in nats. For neural methods it is the delta-method standard
            error of the held-out bound for the trained critic(s): it covers the sampling noise of
            the held-out data (joint and marginal terms, and their correlation), not the gap
            between the bound and the true MI, nor the variability from retraining with another
            seed (with ``folds=K``, the larger of that and the spread of the K fold values,
            ``sd / sqrt(K)``, which does carry the K critics' training randomness); the gap is
            what :attr:`mi_train` gives the interval :meth:`ci` room for. For KSG and the
            Gaussian estimator it is an asymptotic standard error (see their docstrings).
            ``None`` where the method gives none.
        method: the method's name, e.g. ``"mine"``.
        config: every setting that produced the number (JSON-serialisable).
        history: training curves: ``step``, ``train`` and ``heldout`` bound values (empty for
            non-neural methods).
        seconds: wall time of the whole estimate.
        n_train, n_test: samples used to train the critic and to evaluate it.
        warnings: plain-language reasons to distrust the number (empty when none).
        certified: ``False`` when the estimate is beyond what the sample can certify (a neural
            estimate within 1 nat of log of the held-out samples, a KSG estimate within 1 nat of
            its ceiling; e.g. Y a deterministic function of X): ``ci`` returns ``(0, inf)`` and the
            printed line says so instead of printing a confident interval.
        mi_train: the optimistic read-out (nats), for the bounds that are lower bounds for any
            critic (MINE/DV, NWJ, InfoNCE, JS, TUBA): the same critic(s) read on the rows they
            were trained on. A critic fitted to its rows reads them high and unseen rows low;
            :meth:`ci` reaches up to :attr:`upper_read`, the training read plus three times
            what it exceeds ``mi`` by (measured: see the README's coverage table). ``None`` for
            the other methods.
        stderr_train: the delta-method standard error of ``mi_train`` (nats).
    """

    mi: float
    stderr: float | None
    method: str
    config: dict[str, Any] = field(default_factory=dict)
    history: dict[str, list[Any]] = field(default_factory=dict)
    seconds: float = 0.0
    n_train: int = 0
    n_test: int = 0
    warnings: tuple[str, ...] = ()
    certified: bool = True
    mi_train: float | None = None
    stderr_train: float | None = None

    @property
    def interval_covers(self) -> str:
        """What the interval :meth:`ci` accounts for, in a few words (printed beside it)."""
        if self.n_train == 0:
            return "asymptotic sampling noise only, not the estimator's bias"
        folds = self.config.get("folds")
        noise = f"held-out sampling noise and the spread of the {folds} cross-fitted critics" if folds else "held-out sampling noise"
        if self.mi_train is None:
            return f"{noise}, not the bound's gap to the truth" if folds else f"{noise} only, not the bound's gap to the truth nor retraining"
        if self.stderr is not None and self.ci(0.95)[1] <= self.mi + Z95 * self.stderr:
            return (
                f"{noise}; the critic's bound on its own training rows, {self.mi_train:.4f}, is inside it "
                "(no sign of a gap between the bound and the truth)"
            )
        return (
            f"{noise}; above, the critic's bound on its own training rows, {self.mi_train:.4f}, plus "
            f"{GAP_FACTOR - 1:g} times what it reads them above unseen rows (the bound's gap to the "
            f"truth, assumed at most {GAP_FACTOR:g} times the critic's overfitting)"
        )

    @property
    def bits(self) -> float:
        """The estimate in bits."""
        return self.mi / LN2

    @property
    def upper_read(self) -> float | None:
        """The centre of the interval's upper end (nats): ``mi_train + 3 * max(0, mi_train - mi)``,
        the training read plus three times what it exceeds the held-out one by (0.10.0; 0.8.0
        and 0.9.0 added it once). ``None`` without a training read.

        The difference ``mi_train - mi`` is what the critic gains on the rows it was fitted to
        over unseen rows (its overfitting); the rule assumes that the bound's shortfall from the
        truth on unseen rows is at most :data:`GAP_FACTOR` (4) times that. Measured (README,
        "Does the interval cover the truth?"): on a spiral at 10,000 rows the critic reads unseen
        rows 0.21 below the truth on average and its own rows 0.09 above them, so twice the
        overfitting covered the truth in 62 % of 100 samples, three times in 95 % and four times
        in 99 % (on 250 other samples: 90 % and 96 %); where the critic barely overfits
        (Gaussians) the addition is ~0.01-0.02 nats.
        """
        if self.mi_train is None:
            return None
        return self.mi_train + (GAP_FACTOR - 1.0) * max(0.0, self.mi_train - self.mi)

    def ci(self, level: float = 0.95) -> tuple[float, float]:
        """A normal-approximation confidence interval (nats): ``mi ± z * stderr``, its upper end
        raised to ``upper_read + z * sqrt(stderr² + stderr_train²)`` where that is higher
        (:attr:`upper_read` = ``mi_train + 3 * max(0, mi_train - mi)``).

        Below, it inherits the meaning of :attr:`stderr` (sampling noise of the evaluation data);
        above, it also allows for the bound's gap to the truth, from what the critic reads on its
        own training rows (:attr:`mi_train`; not for every method). The two errors are added in
        quadrature: the training read's delta-method error treats the critic as fixed, but how
        far a critic fits its own rows varies from sample to sample about as much as its
        held-out read does. No interval on finite samples can guarantee an upper end on MI
        without assumptions about the distribution: this one assumes that the held-out bound
        falls short of the truth by at most four times (:data:`GAP_FACTOR`) what the critic
        gains on its own rows over unseen ones.

        Raises:
            ValueError: ``level`` not in (0, 1), or the method gives no standard error.
        """
        if not 0.0 < level < 1.0:
            raise ValueError(f"level must be in (0, 1); got {level}")
        if self.stderr is None:
            raise ValueError(f"method {self.method!r} gives no standard error, so no interval")
        z = NormalDist().inv_cdf(0.5 + level / 2.0)
        if not self.certified:
            return (0.0, math.inf)
        low = self.mi - z * self.stderr
        high = self.mi + z * self.stderr
        if self.mi_train is not None and self.stderr_train is not None:
            high = max(high, self.upper_read + z * math.hypot(self.stderr, self.stderr_train))
        return (0.0 if low < 0 else low, high)  # MI is never negative (NaN stays NaN)

    def to_dict(self) -> dict[str, Any]:
        """A plain dictionary (JSON-serialisable) of every field, plus ``bits``, ``ci95`` and ``upper_read``."""
        out = {
            "mi": self.mi,
            "bits": self.bits,
            "stderr": self.stderr,
            "ci95": list(self.ci(0.95)) if self.stderr is not None else None,
            "ci_covers": self.interval_covers if self.stderr is not None else None,
            "certified": self.certified,
            "mi_train": self.mi_train,
            "stderr_train": self.stderr_train,
            "upper_read": self.upper_read,
            "method": self.method,
            "config": self.config,
            "history": self.history,
            "seconds": self.seconds,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "warnings": list(self.warnings),
        }
        return _jsonable(out)

    def to_json(self, path: str | Path | None = None, indent: int | None = 2) -> str:
        """The result as JSON text; also written to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=indent)
        if path is not None:
            Path(path).write_text(text + "\n")
        return text

    def __str__(self) -> str:
        if not self.certified:
            s = (
                f"I(X;Y) = {self.mi:.4f} nats [{self.method}], NOT CERTIFIED: more than this sample can "
                "certify, so no interval (the true MI may be far higher, even infinite; see the warnings)"
            )
        elif self.stderr is None:
            s = f"I(X;Y) = {self.mi:.4f} nats ({self.bits:.4f} bits) [{self.method}]"
        else:
            lo, hi = self.ci(0.95)
            s = (
                f"I(X;Y) = {self.mi:.4f} ± {self.stderr:.4f} nats, 95% CI [{lo:.4f}, {hi:.4f}] "
                f"({self.bits:.4f} bits) [{self.method}]\n  the interval covers {self.interval_covers}"
            )
        for w in self.warnings:
            s += f"\n  warning: {w}"
        return s

    def plot(self, path: str | Path | None = None, truth: float | None = None, ax: Any = None) -> Any:
        """Plot the training curve: the bound on training batches and on held-out data per step,
        the final estimate with its 95% interval, and ``truth`` if known. Returns the matplotlib
        Axes; saves a PNG when ``path`` is given (the figure of ``ax`` when ``ax`` is given).

        With a ``path`` and no ``ax`` the figure is drawn off-screen, without pyplot: the matplotlib
        backend in use is left alone and no figure stays open.

        Raises:
            ValueError: the result has no training history (a non-neural method).
        """
        if not self.history.get("step"):
            raise ValueError(f"method {self.method!r} has no training history to plot")
        fig = None
        if ax is None:
            if path is not None:
                from matplotlib.figure import Figure

                fig = Figure(figsize=(6.4, 4.0))
                ax = fig.add_subplot()
            else:
                import matplotlib.pyplot as plt

                fig, ax = plt.subplots(figsize=(6.4, 4.0))
        steps = self.history["step"]
        train = [float("nan") if v is None else v for v in self.history.get("train", [])]
        held = [float("nan") if v is None else v for v in self.history.get("heldout", [])]
        ax.plot(steps, train, label="bound on training batches", color="tab:blue", alpha=0.7)
        ax.plot(steps, held, label="bound on held-out data", color="tab:orange")
        ax.axhline(self.mi, color="tab:orange", ls="--", lw=1, label=f"estimate {self.mi:.3f}")
        if self.stderr is not None:
            lo, hi = self.ci(0.95)
            ax.axhspan(lo, hi, color="tab:orange", alpha=0.15, label="95% interval")
        if truth is not None:
            ax.axhline(truth, color="black", lw=1.2, label=f"true MI {truth:.3f}")
        ax.set_xlabel("training step")
        ax.set_ylabel("MI (nats)")
        ax.set_title(f"{self.method}: training curve")
        ax.legend(loc="lower right", fontsize=8)
        if fig is not None:
            fig.tight_layout()
        if path is not None:
            ax.figure.savefig(path, dpi=120)
        return ax
