r"""Neural MI estimators: a critic, a bound and the training loop, fitted to data.

:func:`estimate` is the one-call entry point: it trains and returns an
:class:`~neuralmi.MIResult`. The classes (:class:`MINE`, :class:`NWJ`, ...) are scikit-learn
estimators: configure, ``fit(x, y)`` (this trains, and estimates on held-out rows), read the
fitted attributes (``mi_``, ``stderr_``, ``critic_``, ``result_``). On other samples, the
trained critic is only *read*, never retrained: ``read(x_new, y_new)`` gives an ``MIResult``
and ``score(x_new, y_new)`` its value as a float (higher is better: every neural value but
SMILE's and MI-NEE's is a lower bound, so scikit-learn's model selection, which maximises
``score`` on held-out folds, picks the tightest critic). ``get_params``/``set_params`` make
``sklearn.base.clone`` and ``GridSearchCV`` work (scikit-learn itself is not needed).

What ``fit`` does, in order:

1. checks the input (NaN/inf, shapes, lengths, enough samples) and drops constant columns;
2. splits the samples into a training part and a held-out part (``test_size``), the held-out
   part into two folds;
3. fits a per-column transform on the training part (default: rank-to-Gaussian, see
   :mod:`neuralmi.preprocessing`) and applies it to both;
4. builds the critic: by default a closed-form Gaussian critic fitted on the training part plus
   a neural residual that starts at zero (so training starts from the Gaussian-copula bound and
   learns what is not Gaussian);
5. trains with Adam on the method's bound (:mod:`neuralmi.training`), evaluating both held-out
   folds as it goes; each fold selects its checkpoint and stops selecting on its own;
6. reports each fold's bound under the checkpoint selected (and the stopping time decided) by
   the *other* fold (so the number is read on data that neither trained, selected nor stopped
   the critic), averaged, with a delta-method standard error.

With ``folds=K`` (:attr:`EstimatorConfig.folds`), steps 2-6 are K-fold cross-fitting instead
(:mod:`neuralmi.ensemble`): K folds, K critics each trained on all folds but its own (with its
own transform and baseline), selected and stopped by the others' held-out curves, each read once
on its own fold; every row is read, and the standard error includes the between-fold spread.
The default, ``folds="auto"``, cross-fits with :data:`AUTO_FOLDS` folds up to
:data:`AUTO_FOLDS_MAX_ROWS` rows (where reading only 30 % of the rows makes the estimate noisy)
and uses the one split above that.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from . import exceptions as W
from ._sklearn import SklearnTagsMixin
from ._validation import check_choice, check_pair, column_names, drop_constant
from .critics import ACTIVATIONS, CRITICS, ResidualCritic, gaussian_baseline, make_critic
from .objectives import (
    DEFAULT_EVAL_SHIFTS,
    DEFAULT_HIDDEN,
    MARGINALS,
    METHODS,
    Evaluation,
    MutualInformation,
    check_bound_options,
)
from .preprocessing import TRANSFORMS, fit_transform
from .result import MIResult
from .streaming import collect, is_stream
from .training import TrainConfig, TrainResult, num_threads, resolve_device, train

__all__ = [
    "EstimatorConfig",
    "NeuralEstimator",
    "MINE",
    "DV",
    "NWJ",
    "InfoNCE",
    "JS",
    "SMILE",
    "TUBA",
    "MINEE",
    "estimate",
    "NEURAL_METHODS",
    "BASELINE_METHODS",
]

NEURAL_METHODS = tuple(METHODS)
BASELINE_METHODS = ("ksg", "gaussian")

#: fewest samples a neural estimate accepts (training part, and two held-out folds)
MIN_SAMPLES = 40
#: rows of each held-out fold read when selecting checkpoints during training
SELECT_MAX = 8192
#: marginal pairs per held-out fold in the final read-out (fewer shifts for very large folds)
EVAL_PAIRS = 2_000_000
#: marginal pairs of the read-out of a critic on its own training rows (the interval's upper end)
TRAIN_PAIRS = 65_536
#: ``folds="auto"``: K-fold cross-fitting with this K for data of at most AUTO_FOLDS_MAX_ROWS rows
AUTO_FOLDS = 5
#: ``folds="auto"``: the most rows that are cross-fitted (above: one split, one critic)
AUTO_FOLDS_MAX_ROWS = 5000
#: methods whose value is a lower bound on the MI for any critic: the same critic read on its own
#: training rows (to which it was fitted) gives the interval's optimistic upper end
LOWER_BOUND_METHODS = ("mine", "dv", "nwj", "infonce", "js", "tuba")

CriticSpec = str | nn.Module | Callable[[int, int], nn.Module]


@dataclass(frozen=True)
class EstimatorConfig:
    """Every setting of a neural estimate, validated on construction.

    Attributes:
        method: the bound, one of :data:`~neuralmi.objectives.METHODS`.
        critic: ``"concat"`` (MLP on [x, y]), ``"separable"`` (f(x)·g(y)), ``"bilinear"``
            (xᵀWy), ``"gaussian"`` (the closed-form Gaussian critic alone, no training), or
            ``"custom"`` when an ``nn.Module``/factory was passed.
        hidden: hidden layer widths of the critic's network(s).
        activation: activation function name.
        embed_dim: embedding size of separable/bilinear critics.
        gaussian_baseline: add the closed-form Gaussian critic (fitted on the training part)
            under the network, which then learns a residual from zero. Ignored for MI-NEE and
            custom critics.
        baseline_shrinkage: how the Gaussian critic's correlation matrix is regularised:
            ``"cv"`` (the default: the shrinkage weight, correlation threshold and rank, and
            plain or magnitude features, with or without the radial columns, whose critic reads
            highest on held-out parts of the training rows; see
            :func:`~neuralmi.critics.gaussian_baseline`), ``"oas"``, a weight in [0, 1] of the
            identity, or ``None`` (the sample correlations, which overfit in high dimension at
            small n); the last three use the plain features (no radial columns).
        marginal: ``"shuffle"`` or ``"pairs"`` (see :class:`~neuralmi.MutualInformation`).
        transform: per-column input transform, one of :data:`~neuralmi.preprocessing.TRANSFORMS`.
        radial: append to each side of at least two columns two radial columns, the
            rank-to-Gaussian squared norms of its transformed columns and of their Student-t (2
            degrees of freedom) scores (:func:`~neuralmi.preprocessing.fit_transform`; functions
            of the side, so the MI is unchanged): the critic sees a side's overall magnitude
            directly, measured for light and for heavy tails; the Gaussian baseline takes them
            only on held-out evidence. Built-in critics only (a critic module or factory of
            yours gets the plain columns); not with ``minee``. On by default since 0.5.0 (the
            Student-t norm since 0.9.0; measured in ``docs/beyond_normal.md``);
            ``radial=False`` is 0.4.0's estimator.
        test_size: share of the samples held out for evaluation (never trained on). Ignored
            with ``folds``.
        folds: ``"auto"`` (the default since 0.7.0): ``AUTO_FOLDS`` (5) when there are at most
            ``AUTO_FOLDS_MAX_ROWS`` (5,000 since 0.8.0; 2,000 in 0.7.0) distinct rows and they
            are in memory, else ``None`` (measured on the 40-task suite, 6 seeds: at 1,000 rows
            the held-out read of 300 rows was the largest part of the error; at 5,000 rows the
            MAE fell 0.0533 → 0.0500 and 0.0466 → 0.0451 for 4.1x the time; see the README). ``None``: one training part and two
            held-out folds (``test_size``), one critic. An integer ``K >= 3``: K-fold cross-fitting (:mod:`neuralmi.ensemble`):
            the rows are split into K folds at random (copies of a row in one fold), critic
            ``k`` is trained on all folds but ``k`` (with its own transform and Gaussian
            baseline fitted on them), its checkpoint and stopping time are chosen from the
            other critics' held-out curves on their own folds, and it is read on fold ``k``
            once; the estimate is the fold-size-weighted mean of the K read-outs, so every row
            is read and ~``(K-1)/K`` of them train each critic. Its standard error is the
            larger of the delta-method one (the folds' sampling noise, combined) and the
            between-fold spread ``sd(fold values) / sqrt(K)`` (which also carries the
            training randomness of the K critics). Costs about K critics' training (measured on
            one CPU thread, K=5: 2-5x one critic's time per step for concat critics, trained as
            one vectorised model, 4-7x for the others, trained in a loop; a whole estimate
            2.4x the default's CPU time with K=3, 3.9x with K=5) and memory for K transformed
            copies of the rows. Not with streamed or distributed input, nor conditional MI.
        batch_size: samples per step; ``None`` picks ``min(512, training samples)``.
        lr: Adam learning rate.
        steps: maximum optimisation steps (``epochs`` overrides it when given).
        epochs: passes over the training part; ``None`` uses ``steps``.
        eval_every: steps between held-out evaluations (early stopping granularity).
        patience: evaluations without improvement before stopping; ``None`` disables.
        idle_patience: the patience of a fold on which the critic has not improved on its
            starting point yet (``None``: ``patience``); see :class:`~neuralmi.training.TrainConfig`.
        weight_decay: Adam's L2 weight decay.
        ema_rate: MINE's moving-average weight of the newest batch.
        smile_tau: SMILE's clip threshold.
        remine_weight, remine_target: ReMINE penalty (DV family); 0 disables.
        eval_shifts: marginal permutations used for the final held-out evaluation.
        compile: wrap the critic's forward in ``torch.compile`` (dynamic shapes). Worth it for
            long runs on a GPU; on a CPU the first compile takes ~30 s (measured), longer than a
            default estimate, so it is off by default.
        threads: CPU threads for torch during the fit (restored afterwards). ``None``: one
            thread for small critics (where more threads only add synchronisation cost, and a
            busy second core slows a multi-threaded step many times over), torch's default for
            large ones.
        seed: makes the whole estimate repeatable (split, initialisation, batches).
        device: ``"auto"`` (GPU when present), ``"cpu"``, ``"cuda"``, ...
        progress: progress bar; ``None`` shows it only on a terminal.
    """

    method: str = "mine"
    critic: str = "concat"
    hidden: tuple[int, ...] = DEFAULT_HIDDEN
    activation: str = "relu"
    embed_dim: int = 32
    gaussian_baseline: bool = True
    baseline_shrinkage: str | float | None = "cv"
    marginal: str = "shuffle"
    transform: str = "rank"
    radial: bool = True
    test_size: float = 0.3
    folds: int | str | None = "auto"
    batch_size: int | None = None
    lr: float = TrainConfig.lr
    steps: int = TrainConfig.max_steps
    epochs: float | None = None
    eval_every: int = TrainConfig.eval_every
    patience: int | None = TrainConfig.patience
    idle_patience: int | None = TrainConfig.idle_patience
    weight_decay: float = TrainConfig.weight_decay
    ema_rate: float = 0.01
    smile_tau: float = 5.0
    remine_weight: float = 0.0
    remine_target: float = 0.0
    eval_shifts: int = DEFAULT_EVAL_SHIFTS
    compile: bool = False
    threads: int | None = None
    seed: int = 0
    device: str = "auto"
    progress: bool | None = None

    def __post_init__(self) -> None:
        check_choice(self.method, "method", NEURAL_METHODS)
        check_choice(self.critic, "critic", (*CRITICS, "custom"))
        check_choice(self.marginal, "marginal", MARGINALS)
        check_choice(self.transform, "transform", TRANSFORMS)
        check_choice(self.activation, "activation", tuple(ACTIVATIONS))
        if isinstance(self.hidden, (str, bytes)):
            raise TypeError(f"hidden must be a sequence of layer widths such as (128, 128); got {self.hidden!r}")
        try:
            hidden = tuple(int(h) for h in self.hidden)
        except (TypeError, ValueError):
            raise TypeError(f"hidden must be a sequence of layer widths; got {self.hidden!r}") from None
        if any(h < 1 for h in hidden):
            raise ValueError(f"hidden layer widths must be positive; got {hidden}")
        object.__setattr__(self, "hidden", hidden)
        if not 0.0 < self.test_size < 1.0:
            raise ValueError(f"test_size must be in (0, 1); got {self.test_size}")
        if explicit_folds(self.folds):
            if isinstance(self.folds, bool) or not isinstance(self.folds, (int, np.integer)) or self.folds < 3:
                raise ValueError(
                    f"folds must be 'auto', None (one training part, two held-out folds) or an integer "
                    f">= 3 (K-fold cross-fitting); got {self.folds!r}"
                )
            object.__setattr__(self, "folds", int(self.folds))
        if self.batch_size is not None and (
            isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 2
        ):
            raise ValueError(f"batch_size must be an integer >= 2 (or None); got {self.batch_size!r}")
        if self.epochs is not None and not (self.epochs > 0):
            raise ValueError(f"epochs must be positive; got {self.epochs}")
        if self.embed_dim < 1:
            raise ValueError(f"embed_dim must be positive; got {self.embed_dim}")
        check_bound_options(self.ema_rate, self.smile_tau, self.remine_weight)
        b = self.baseline_shrinkage
        if not (b is None or b in ("cv", "oas") or (isinstance(b, (int, float)) and not isinstance(b, bool) and 0 <= b <= 1)):
            raise ValueError(f"baseline_shrinkage must be 'cv', 'oas', None or a weight in [0, 1]; got {b!r}")
        if self.eval_shifts < 1:
            raise ValueError(f"eval_shifts must be >= 1; got {self.eval_shifts}")
        if not isinstance(self.compile, bool):
            raise TypeError(f"compile must be True or False; got {self.compile!r}")
        if not isinstance(self.radial, (bool, np.bool_)):
            raise TypeError(f"radial must be True or False; got {self.radial!r}")
        if self.threads is not None and (not isinstance(self.threads, int) or self.threads < 1):
            raise ValueError(f"threads must be a positive integer or None; got {self.threads!r}")
        if not isinstance(self.seed, (int, np.integer)) or isinstance(self.seed, bool):
            raise TypeError(f"seed must be an integer; got {self.seed!r}")
        if self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer; got {self.seed}")
        if self.device != "auto":
            resolve_device(self.device)  # raises a ValueError for unknown/unavailable devices
        # the loop's own checks (lr, steps, eval_every, patience, weight decay)
        TrainConfig(
            batch_size=self.batch_size or 2,
            lr=self.lr,
            max_steps=self.steps,
            eval_every=self.eval_every,
            patience=self.patience,
            idle_patience=self.idle_patience,
            weight_decay=self.weight_decay,
        )

    @classmethod
    def options(cls) -> tuple[str, ...]:
        """Names of all settings."""
        return tuple(f.name for f in fields(cls))


def _make_config(method: str, critic: CriticSpec, kwargs: dict[str, Any]) -> EstimatorConfig:
    unknown = sorted(set(kwargs) - set(EstimatorConfig.options()))
    if unknown:
        raise TypeError(
            f"unknown option(s) {', '.join(unknown)}; valid options: {', '.join(EstimatorConfig.options())}"
        )
    if critic == "auto":  # InfoNCE scores all B x B pairs per step: give it the cheap separable critic
        critic = "separable" if method == "infonce" else "concat"
    name = critic if isinstance(critic, str) else "custom"
    if not isinstance(critic, str) and not (isinstance(critic, nn.Module) or callable(critic)):
        raise TypeError(f"critic must be a name, an nn.Module or a factory; got {type(critic).__name__}")
    return EstimatorConfig(method=method, critic=name, **kwargs)


def _blas_threads(n: int) -> Any:
    """Limit NumPy's BLAS to ``n`` threads for the estimate (restored afterwards).

    The matrices of an estimate are small (at most a few hundred columns): one thread does them
    in microseconds, while a second thread only adds synchronisation, and on a busy machine a
    spinning BLAS thread makes a 233x50 product 30 times slower (measured: 0.35 ms against
    10 ms). Uses threadpoolctl when it is installed; otherwise changes nothing.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        return contextlib.nullcontext()
    return threadpool_limits(limits=n, user_api="blas")


def _readout_seed(seed: int, fold: int) -> int:
    """Seed of the marginal pairs of fold ``fold``'s final read-out (other pairs than the ones
    checkpoint selection used)."""
    return seed + 104_729 * (fold + 1)


def _shuffled_rows(n: int, seed: int, groups: np.ndarray | None) -> np.ndarray:
    """``range(n)`` in random order; with ``groups`` (a group id per row), the rows of a group
    stay together and the groups come in random order."""
    if groups is None:
        return np.random.default_rng(seed).permutation(n)
    order = np.random.default_rng(seed).permutation(int(groups.max()) + 1)
    return np.argsort(order[groups], kind="stable")


def _cut(perm: np.ndarray, cuts: list[int], groups: np.ndarray | None) -> list[np.ndarray]:
    """``perm`` split at positions ``cuts``; with ``groups``, each cut moved forward to the first
    row of a group, so that no group has rows in two parts."""
    if groups is not None:
        g = groups[perm]
        starts = np.r_[np.flatnonzero(np.r_[True, g[1:] != g[:-1]]), len(perm)]
        cuts = [int(starts[np.searchsorted(starts, c)]) for c in cuts]
    return np.split(perm, cuts)


def train_steps(cfg: EstimatorConfig, n_train: float, batch: int) -> int:
    """Optimisation steps: ``cfg.steps``, or ``cfg.epochs`` passes over ``n_train`` rows."""
    return cfg.steps if cfg.epochs is None else max(1, math.ceil(cfg.epochs * n_train / batch))


def train_config(
    cfg: EstimatorConfig, batch: int, max_steps: int, steps: int, eval_threads: int | None = None
) -> TrainConfig:
    """The training loop's settings from an estimator's ``cfg`` (evaluations every
    ``cfg.eval_every`` steps, at most every ``steps``, on ``eval_threads`` CPU threads)."""
    return TrainConfig(
        batch_size=batch,
        eval_threads=eval_threads,
        lr=cfg.lr,
        max_steps=max_steps,
        eval_every=min(cfg.eval_every, steps),
        patience=cfg.patience,
        idle_patience=cfg.idle_patience,
        weight_decay=cfg.weight_decay,
        seed=cfg.seed,
        progress=cfg.progress,
    )


def _over_ceiling(evals: list[Evaluation]) -> tuple[int, float, int] | None:
    """The first cross-fitted fold whose read is within 1 nat of log(its rows), the most a
    sample of that size can certify: ``(fold, value, rows)``; ``None`` if there is none."""
    for k, e in enumerate(evals):
        if e.value > math.log(e.n) - 1.0:
            return k, float(e.value), int(e.n)
    return None


def _certified(found: list[tuple[type[Warning], str]]) -> bool:
    """Whether a fit's warnings leave its interval standing: :meth:`NeuralEstimator._diagnose`
    is where the certification ceilings are checked (no :class:`UncertifiableWarning` found)."""
    return not any(kind is W.UncertifiableWarning for kind, _ in found)


def explicit_folds(folds: object) -> bool:
    """Whether the setting ``folds`` asks for K-fold cross-fitting itself (anything but ``None``
    and ``"auto"``, which may mean one split); checked with ``isinstance`` so that an array
    passed by mistake reaches the validation's own error."""
    return folds is not None and not (isinstance(folds, str) and folds == "auto")


def resolve_folds(folds: int | str | None, n: int) -> int | None:
    """The K of K-fold cross-fitting for ``n`` distinct rows under the setting ``folds``
    (``None``: one split): ``"auto"`` is :data:`AUTO_FOLDS` for :data:`MIN_SAMPLES` to
    :data:`AUTO_FOLDS_MAX_ROWS` rows, else ``None``."""
    if isinstance(folds, str):
        return AUTO_FOLDS if MIN_SAMPLES <= n <= AUTO_FOLDS_MAX_ROWS else None
    return folds


def read_folds(
    reads: list[tuple[nn.Module, dict[str, torch.Tensor], torch.Tensor, torch.Tensor]],
    cfg: EstimatorConfig,
    batch: int,
    threads: int | None = None,
) -> list[Evaluation]:
    """The final read-out: for each ``(module, state, x_fold, y_fold)`` (fold ``k`` in order),
    the objective's bound under ``state`` on the fold, with fold ``k``'s read-out seed, on
    ``threads`` CPU threads (``None``: as they are)."""
    evals: list[Evaluation] = []
    for k, (module, state, xf, yf) in enumerate(reads):
        module.load_state_dict(state)
        module.eval()
        # at most ~EVAL_PAIRS marginal pairs per fold: more shifts add nothing once n is large
        shifts = max(4, min(cfg.eval_shifts, EVAL_PAIRS // max(1, xf.shape[0])))
        with num_threads(threads):
            evals.append(module.evaluate(xf, yf, n_shifts=shifts, batch_size=batch, seed=_readout_seed(cfg.seed, k)))
    return evals


def read_training(
    reads: list[tuple[nn.Module, dict[str, torch.Tensor], torch.Tensor, torch.Tensor, float]],
    cfg: EstimatorConfig,
    batch: int,
    threads: int | None = None,
) -> tuple[float, float]:
    """The optimistic read-out: each critic's bound on the rows it was trained on.

    ``reads``: ``(module, state, x_train, y_train, weight)`` per held-out read-out, the critic
    (``state``) that read fold ``k`` with its training rows and fold ``k``'s weight in the
    estimate. Returns ``(value, stderr)`` in nats: the weighted mean of the training-row bounds
    and the weighted mean of their delta-method standard errors (the reads share rows, so their
    errors are not averaged down). A critic fitted to its rows reads them high (that is the gap
    that checkpoint selection measures), while the held-out read-out reads low: the truth lies
    between them as far as the critic could fit the density ratio. At most ``TRAIN_PAIRS``
    marginal pairs per read (fewer shifts for large training parts); identical states are read
    once.
    """
    done: dict[int, Evaluation] = {}
    value = se = 0.0
    for k, (module, state, xs, ys, weight) in enumerate(reads):
        key = id(state)
        if key not in done:
            module.load_state_dict(state)
            module.eval()
            shifts = max(2, min(cfg.eval_shifts, TRAIN_PAIRS // max(1, xs.shape[0])))
            with num_threads(threads):
                done[key] = module.evaluate(
                    xs, ys, n_shifts=shifts, batch_size=batch, seed=_readout_seed(cfg.seed, k) + 1
                )
        value += weight * done[key].value
        se += weight * done[key].stderr
    return float(value), float(se)


def _split(
    n: int, test_size: float, seed: int, groups: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random train / held-out fold A / held-out fold B indices.

    With ``groups`` (a group id per row, e.g. identical rows share one), whole groups are
    assigned, so that no group has rows on both sides of a split.
    """
    n_test = max(4, int(round(test_size * n)))
    n_train = n - n_test
    tr, fa, fb = _cut(_shuffled_rows(n, seed, groups), [n_train, n_train + n_test // 2], groups)
    return tr, fa, fb


def _kfold(n: int, k: int, seed: int, groups: np.ndarray | None = None) -> list[np.ndarray]:
    """``k`` random folds of ``range(n)`` (index arrays, sizes within one group of ``n / k``).

    With ``groups`` (a group id per row), whole groups are assigned, as in :func:`_split`: no
    group has rows in two folds."""
    cuts = [int(round(i * n / k)) for i in range(1, k)]
    return [np.sort(part) for part in _cut(_shuffled_rows(n, seed, groups), cuts, groups)]


def _row_ids(*blocks: np.ndarray) -> np.ndarray:
    """A group id per row, identical rows of ``[blocks...]`` (``(n, d_i)`` arrays) sharing one.

    Rows are hashed to one float64 each (a fixed random projection), which ``np.unique`` sorts
    ~10x faster than whole rows. Equal rows always share a key; distinct rows share one only by
    a rounding coincidence, so rows whose key is shared are compared in full, and the exact
    row-wise ``np.unique`` settles any collision.
    """
    rng = np.random.default_rng(0x1D5)
    key = sum(b @ rng.standard_normal(b.shape[1]) for b in blocks)
    _, first, inverse, counts = np.unique(key, return_index=True, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    shared = np.flatnonzero(counts[inverse] > 1)
    if shared.size and any((b[shared] != b[first[inverse[shared]]]).any() for b in blocks):
        _, inverse = np.unique(np.hstack(blocks), axis=0, return_inverse=True)  # a collision
        inverse = inverse.reshape(-1)
    return inverse


def _duplicate_groups(xa: np.ndarray, ya: np.ndarray) -> np.ndarray | None:
    """A group id per row, identical rows of ``[x, y]`` sharing one; ``None`` when all differ."""
    inverse = _row_ids(xa, ya)
    return inverse if inverse.max() + 1 < xa.shape[0] else None


def _cluster_stderr(ev: Evaluation, groups: np.ndarray) -> float:
    """Standard error of a held-out value whose rows come in groups of copies: the influence
    values summed within each group (copies are one observation, not several)."""
    _, ids = np.unique(groups, return_inverse=True)
    ids = ids.reshape(-1)
    centred = ev.influence - ev.influence.mean()
    sums = np.bincount(ids, weights=centred)  # one total per group of copies
    m = sums.shape[0]
    if m < 2:
        return float("inf")
    return float(math.sqrt(m / (m - 1) * np.sum(sums**2)) / ev.n)


class NeuralEstimator(SklearnTagsMixin):
    """A neural MI estimator (scikit-learn style). See the module docstring for what ``fit`` does.

    Args:
        method: the bound (default ``"mine"``). Only this base class takes it: the subclasses
            (:class:`MINE`, :class:`NWJ`, ...) fix their method, and passing ``method=`` to one
            is a ``TypeError``.
        critic: a critic name (``"auto"``: separable for InfoNCE, concat otherwise; ``"concat"``,
            ``"separable"``, ``"bilinear"``, ``"gaussian"``),
            an ``nn.Module`` with ``forward(x, y) -> (B,)``, or a factory
            ``f(dim_x, dim_y) -> nn.Module`` (called with the dimensions after constant columns
            are dropped).
        **options: any field of :class:`EstimatorConfig`.

    Fitted attributes (after :meth:`fit`): ``mi_`` (nats), ``stderr_``, ``result_``
    (:class:`~neuralmi.MIResult`), ``critic_`` (the trained ``nn.Module``), ``module_`` (the
    :class:`~neuralmi.MutualInformation` holding it), ``transform_x_``, ``transform_y_``,
    ``n_features_in_x_`` and ``n_features_in_y_`` (columns of ``x`` and ``y`` seen in ``fit``;
    ``n_features_in_`` is ``x``'s, as in scikit-learn, where ``x`` plays ``X``), ``folds_`` (the
    K cross-fitted, ``None`` for one split: what ``folds="auto"`` chose). With K folds:
    ``modules_`` (the K objectives, ``modules_[k]`` holding critic ``k`` at its selected
    checkpoint) and ``transforms_`` (each critic's ``(transform_x, transform_y)``); ``module_``,
    ``critic_``, ``transform_x_`` and ``transform_y_`` are fold 0's (a critic trained on the other
    K-1 folds), which :meth:`read` and :meth:`score` use; ``readout_`` holds one
    ``(x_fold, y_fold, state, rows)`` per fold.

    ``fit`` trains; :meth:`read` and :meth:`score` only read the trained critic on other samples.
    """

    #: the method a subclass fixes (``None``: the base class, which takes ``method=``)
    fixed_method: ClassVar[str | None] = None

    def __init__(self, method: str = "mine", critic: CriticSpec = "auto", **options: Any) -> None:
        # scikit-learn's convention: keep the arguments exactly as given (clone checks identity)
        self._params: dict[str, Any] = {"method": method, "critic": critic, **options}
        self._configure()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.fixed_method is None:
            return

        def __init__(self: NeuralEstimator, critic: CriticSpec = "auto", **options: Any) -> None:
            if "method" in options:
                raise TypeError(
                    f"{type(self).__name__} always uses method {self.fixed_method!r}; to choose the "
                    "method, use NeuralEstimator(method=...) or neuralmi.estimate(..., method=...)"
                )
            self._params = {"critic": critic, **options}
            self._configure()

        __init__.__doc__ = f"Configure {cls.__name__}: ``critic`` and any field of :class:`EstimatorConfig` but ``method``."
        cls.__init__ = __init__  # type: ignore[method-assign]

    def _configure(self) -> None:
        params = dict(self._params)
        method = params.pop("method", self.fixed_method)
        critic = params.pop("critic", "auto")
        self.config = _make_config(method, critic, params)
        self._critic_spec = self.config.critic if isinstance(critic, str) else critic

    @property
    def method(self) -> str:
        """The bound this estimator trains and reads."""
        return self.config.method

    # ------------------------------------------------------------------ scikit-learn protocol
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Every setting, as given (defaults for those not given): ``critic``, ``method`` (base
        class only) and each field of :class:`EstimatorConfig`. ``deep`` is accepted for
        scikit-learn and changes nothing (a critic module is a value here, not a sub-estimator)."""
        names = ["critic", *(f.name for f in fields(EstimatorConfig) if f.name not in ("method", "critic"))]
        if self.fixed_method is None:
            names.insert(0, "method")
        defaults = {f.name: f.default for f in fields(EstimatorConfig)}
        defaults["critic"] = "auto"
        return {name: self._params.get(name, defaults[name]) for name in names}

    def set_params(self, **params: Any) -> "NeuralEstimator":
        """Change settings (validated at once, as in the constructor); returns ``self``. A fitted
        estimator keeps its fitted attributes until the next :meth:`fit`."""
        valid = self.get_params()
        unknown = sorted(set(params) - set(valid))
        if unknown:
            raise ValueError(
                f"invalid parameter(s) {', '.join(unknown)} for {type(self).__name__}; "
                f"valid: {', '.join(valid)}"
            )
        old = self._params
        self._params = {**old, **params}
        try:
            self._configure()
        except (TypeError, ValueError):
            self._params = old
            raise
        return self

    def __repr__(self) -> str:
        defaults = EstimatorConfig(method=self.config.method)
        changed = {k: v for k, v in asdict(self.config).items() if getattr(defaults, k) != v}
        if self.fixed_method is not None:
            changed.pop("method", None)
        args = ", ".join(f"{k}={v!r}" for k, v in changed.items())
        return f"{type(self).__name__}({args})"

    # ------------------------------------------------------------------ building blocks
    def _radial(self, a: np.ndarray) -> bool:
        """Whether side ``a`` (``(n, d)``) gets the radial columns: ``radial`` is on, the critic
        is a built-in one, ``d >= 2``, and the method is not ``minee`` (whose reference
        divergences are infinite on data with a column that is a function of the others)."""
        cfg = self.config
        return bool(cfg.radial) and cfg.method != "minee" and isinstance(self._critic_spec, str) and a.shape[1] >= 2

    def _build_critic(self, x_train: np.ndarray, y_train: np.ndarray, extra: tuple[int, int] = (0, 0)) -> nn.Module:
        """The critic to train on ``x_train`` ``(n, dx)``, ``y_train`` ``(n, dy)`` (transformed rows);
        ``extra``: how many of each side's last columns are derived (the radial columns), which
        the Gaussian baseline takes only on held-out evidence (:func:`~neuralmi.critics.gaussian_baseline`)."""
        cfg = self.config
        dx, dy = x_train.shape[1], y_train.shape[1]
        spec = self._critic_spec
        if isinstance(spec, nn.Module):  # train a copy: the user's module stays untouched
            return copy.deepcopy(spec)
        if callable(spec) and not isinstance(spec, str):
            critic = spec(dx, dy)
            if not isinstance(critic, nn.Module):
                raise TypeError(f"the critic factory must return an nn.Module; got {type(critic).__name__}")
            return critic
        if cfg.critic == "gaussian":
            return self._baseline(x_train, y_train, extra)
        use_baseline = cfg.gaussian_baseline and cfg.method != "minee"
        net = make_critic(cfg.critic, dx, dy, cfg.hidden, cfg.activation, cfg.embed_dim, zero_init=use_baseline)
        if not use_baseline:
            return net
        return ResidualCritic(self._baseline(x_train, y_train, extra), net)

    def _baseline(self, x_train: np.ndarray, y_train: np.ndarray, extra: tuple[int, int]) -> nn.Module:
        """The closed-form Gaussian critic (the Gaussian log density ratio), shifted by +1 for NWJ,
        whose optimal critic is ``1 + log ratio`` (unshifted, NWJ reads it ``1/e`` = 0.37 nats
        short of its DV value; every other bound's optimum is the log ratio up to a constant they
        ignore, or exactly)."""
        baseline = gaussian_baseline(x_train, y_train, self.config.baseline_shrinkage, extra)
        if self.config.method == "nwj":
            baseline.const.add_(1.0)
        return baseline

    def _batch_size(self, n_train: int, folds: int | None = None) -> int:
        b = self.config.batch_size
        if b is None:
            return max(2, min(512, n_train))
        if b > n_train:
            split = f"test_size={self.config.test_size}" if folds is None else f"a critic's share with {folds} folds"
            raise ValueError(
                f"batch_size {b} is larger than the {n_train} training samples ({split}); pass a "
                "smaller batch_size or more samples"
            )
        return b

    # ------------------------------------------------------------------ fit / read
    def fit(self, x: Any, y: Any = None) -> "NeuralEstimator":
        """Train the critic on ``x``, ``y`` (arrays, tensors, DataFrames or Series, ``(n, dx)``,
        ``(n, dy)``; 1-D means one column) and estimate I(X; Y) on held-out samples. Returns
        ``self``. Warnings go to ``result_.warnings`` and through :func:`warnings.warn`.

        Data larger than memory: memory-mapped arrays (``np.load(path, mmap_mode="r")``) and
        arrays of more than :data:`~neuralmi.streaming.STREAM_MIN_ROWS` rows, or ``x`` an
        iterable of ``(x, y)`` batches (e.g. a ``DataLoader``) with ``y`` left out, are read in
        one pass that keeps uniform samples of the training and held-out rows
        (:mod:`neuralmi.streaming`); ``result_.config["streamed"]`` says what was seen and kept."""
        previous = torch.get_num_threads()
        try:
            # the seed drives initialisation through torch's CPU generator (critics are built on
            # the CPU, then moved): fork it, and seed only it, so the caller's random state is
            # left exactly as it was on every device (torch.manual_seed would reseed CUDA's too)
            with torch.random.fork_rng(devices=[]), _blas_threads(self.config.threads or 1):
                torch.default_generator.manual_seed(int(self.config.seed))
                self._fit(x, y)
        finally:
            torch.set_num_threads(previous)
        for message in self.result_.warnings:
            warnings.warn(message, self._warning_kinds.get(message, W.NeuralMIWarning), stacklevel=2)
        return self

    def _train(
        self,
        module: MutualInformation,
        x_train: torch.Tensor,
        y_train: torch.Tensor,
        select: list[tuple[torch.Tensor, torch.Tensor]],
        tcfg: TrainConfig,
    ) -> TrainResult:
        """The training loop (:func:`neuralmi.training.train`); a seam for the sharded estimate
        of :mod:`neuralmi._distributed_fit`, which splits each step's batch across processes."""
        return train(module, x_train, y_train, select, tcfg)

    def _threads(self, module: nn.Module, batch: int, device: torch.device, eval_rows: int = 0) -> int | None:
        """Set torch's CPU threads for the training steps and return those for the held-out
        evaluations of folds of ``eval_rows`` rows (at most :data:`SELECT_MAX` are read; ``None``
        off the CPU). ``config.threads`` fixes both;
        otherwise work below ~5e7 multiply-adds (a step of a small critic, a few milliseconds)
        runs on one thread, where a second only adds synchronisation, and larger work (an
        evaluation reads every row against :attr:`TrainConfig.select_shifts` shuffles) on the
        threads the caller had. Measured on 2 cores, 1,500 rows x 16 shuffles through the default
        critic: 17-23 ms on one thread, 9-11 ms on two."""
        if device.type != "cpu":
            return None
        if self.config.threads is not None:
            torch.set_num_threads(self.config.threads)
            return self.config.threads
        available = torch.get_num_threads()
        flops = sum(p.numel() for p in module.parameters()) * 2
        if flops * batch < 5e7:
            torch.set_num_threads(1)
        pairs = min(eval_rows, SELECT_MAX) * (TrainConfig.select_shifts + 1)
        return available if flops * pairs >= 5e7 else torch.get_num_threads()

    def _fit(self, x: Any, y: Any) -> None:
        t0 = time.perf_counter()
        cfg = self.config
        split, streamed = None, None
        if is_stream(x, y):  # one pass keeps uniform samples of the rows: see neuralmi.streaming
            if explicit_folds(cfg.folds):
                raise ValueError(
                    "folds= (K-fold cross-fitting) needs all rows in memory; this input is streamed "
                    "(an iterable of (x, y) batches, or more than neuralmi.streaming.STREAM_MIN_ROWS "
                    "rows): pass folds=None"
                )
            sample = collect(x, y, cfg.test_size, cfg.seed)
            x, y, split, streamed = sample.x, sample.y, sample.split(), sample.summary()
            del sample
        names = {"x": column_names(x, "x"), "y": column_names(y, "y")}
        xa, ya = check_pair(x, y, min_samples=MIN_SAMPLES)
        self.n_features_in_x_, self.n_features_in_y_ = xa.shape[1], ya.shape[1]
        self.n_features_in_ = self.n_features_in_x_
        found: list[tuple[type[Warning], str]] = []
        xa, self.keep_x_, msg_x = drop_constant(xa, "x", "the estimate")
        ya, self.keep_y_, msg_y = drop_constant(ya, "y", "the estimate")
        for keep, msg in ((self.keep_x_, msg_x), (self.keep_y_, msg_y)):
            if msg is not None:
                found.append((W.ConstantColumnWarning, msg))
            if not keep:
                return self._constant_result(found, t0, xa.shape[0], names)
        device = resolve_device(cfg.device)
        groups = _duplicate_groups(xa, ya)
        if groups is not None:
            n_copies = xa.shape[0] - (int(groups.max()) + 1)
            where = (
                "copies are kept on one side of every split (so no copy is read after training on its twin)"
                if split is None
                else "the rows were split as they streamed past, so copies may be read after training on "
                "their twins (the estimate can be too high)"
            )
            found.append(
                (
                    W.DuplicateRowsWarning,
                    f"{n_copies} of the {xa.shape[0]} rows are exact copies of other rows: {where}, and they "
                    "are counted as one observation in the standard error. If they are an artefact, remove them",
                )
            )
        for side, a in (("x", xa), ("y", ya)):
            distinct = int(_row_ids(a).max()) + 1
            if distinct <= 20 and a.shape[0] >= 10 * distinct:
                found.append(
                    (
                        W.DiscreteDataWarning,
                        f"{side} takes only {distinct} distinct values: it looks discrete, and a continuous "
                        f"critic reads such data low (labels against their one-hot codes: 34 % low). "
                        f"Declare it with discrete='{side}'",
                    )
                )
        distinct = int(groups.max()) + 1 if groups is not None else xa.shape[0]
        self.folds_ = resolve_folds(cfg.folds, distinct) if split is None else None
        if self.folds_ is not None:
            return self._fit_crossfit(xa, ya, groups, found, names, t0, device, self.folds_)
        tr, fa, fb = _split(xa.shape[0], cfg.test_size, cfg.seed, groups) if split is None else split
        if min(len(fa), len(fb)) < 2 or len(tr) < 2:
            raise ValueError(
                f"only {int(groups.max()) + 1 if groups is not None else xa.shape[0]} distinct rows: too "
                "few to split into training and held-out parts"
            )
        self.transform_x_ = fit_transform(xa[tr], cfg.transform, self._radial(xa))
        self.transform_y_ = fit_transform(ya[tr], cfg.transform, self._radial(ya))
        xt, yt = self.transform_x_(xa), self.transform_y_(ya)
        # only the transformed rows are read from here: drop the others (a large input's memory)
        x = y = xa = ya = a = None

        def tens(a: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(a, dtype=torch.float32, device=device)

        batch = self._batch_size(len(tr))
        steps = train_steps(cfg, len(tr), batch)
        extra = (self.transform_x_.n_derived, self.transform_y_.n_derived)
        module = self._objective(self._build_critic(xt[tr], yt[tr], extra), xt.shape[1], yt.shape[1], cfg.seed, device)
        x_train, y_train = tens(xt[tr]), tens(yt[tr])
        if cfg.method == "minee":  # the reference Gaussians match the training rows
            module.fit_reference(x_train, y_train)
        folds = [(tens(xt[f]), tens(yt[f])) for f in (fa, fb)]
        eval_threads = self._threads(module, batch, device, min(len(fa), len(fb)))
        trainable = self._trainable()
        tcfg = train_config(cfg, batch, steps if trainable else 1, steps, eval_threads)
        if trainable:
            # checkpoint selection reads a fixed subset of each fold (enough to rank checkpoints;
            # large data sets would otherwise spend most of the time evaluating)
            select = [(xf[:SELECT_MAX], yf[:SELECT_MAX]) for xf, yf in folds]
            run = self._train(module, x_train, y_train, select, tcfg)
            states, best_steps, history = run.best_states, run.best_steps, run.history
            diverged, stopped_early, steps_taken = run.diverged, run.stopped_early, run.steps
            stop_steps = run.stop_steps
        else:
            state = {k: v.clone() for k, v in module.state_dict().items()}
            states, best_steps, history = [state, state], [0, 0], {}
            diverged = stopped_early = False
            steps_taken, stop_steps = 0, [None, None]

        # cross-fold reporting: fold k is read under the checkpoint chosen on the other fold;
        # kept (rows, critic state) so that independence_test can re-read permuted folds
        self.readout_ = [(xf, yf, states[1 - k], f) for k, ((xf, yf), f) in enumerate(zip(folds, (fa, fb)))]
        evals = read_folds([(module, states[1 - k], xf, yf) for k, (xf, yf) in enumerate(folds)], cfg, batch, eval_threads)
        value, fold_se, stderr = self._pool(evals, groups, (fa, fb))
        optimistic = None
        if cfg.method in LOWER_BOUND_METHODS:
            # fold k's critic read on the training rows; one read when both folds chose one checkpoint
            same = best_steps[0] == best_steps[1]
            n_read = sum(e.n for e in evals)
            optimistic = read_training(
                [
                    (module, states[0] if same else states[1 - k], x_train, y_train, evals[k].n / n_read)
                    for k in range(2)
                ],
                cfg, batch, eval_threads,
            )
        # keep the checkpoint that does best on both folds together as the fitted critic
        mean_scores = []
        for state in states:
            module.load_state_dict(state)
            with num_threads(eval_threads):
                mean_scores.append(
                    sum(
                        module.evaluate(xf[:SELECT_MAX], yf[:SELECT_MAX], n_shifts=4, batch_size=batch).criterion
                        for xf, yf in folds
                    )
                )
        module.load_state_dict(states[int(np.argmax(mean_scores))])
        module.eval()

        found += self._diagnose(value, stderr, history, batch, diverged, stopped_early, best_steps, evals)
        if value < 0:
            found.append(self._negative(value, "critic"))
        config = self._set_fitted(module, batch, device, value, stderr, steps, steps_taken)
        config["selected_steps"] = best_steps
        config["stop_steps"] = stop_steps
        config["fold_values"] = [e.value for e in evals]
        if streamed is not None:
            config["streamed"] = streamed
        self._set_result(
            found, names, config, t0, mi=self.mi_, stderr=stderr, history=history,
            n_train=len(tr), n_test=len(fa) + len(fb), certified=_certified(found), **self._upper(optimistic),
        )

    def _fit_crossfit(
        self,
        xa: np.ndarray,
        ya: np.ndarray,
        groups: np.ndarray | None,
        found: list[tuple[type[Warning], str]],
        names: dict[str, list[str] | None],
        t0: float,
        device: torch.device,
        k_n: int,
    ) -> None:
        """``fit`` with ``folds=K`` (``k_n``): K critics, critic ``k`` trained on every fold but ``k`` and read
        on fold ``k`` (:mod:`neuralmi.ensemble`). ``xa`` ``(n, dx)``, ``ya`` ``(n, dy)``: the checked
        rows, constant columns dropped; ``groups``: a group id per row (copies share one) or ``None``."""
        cfg = self.config
        fold_rows = _kfold(xa.shape[0], k_n, cfg.seed, groups)
        if min(len(f) for f in fold_rows) < 2:
            distinct = int(groups.max()) + 1 if groups is not None else xa.shape[0]
            raise ValueError(f"only {distinct} distinct rows: too few to split into {k_n} folds of 2 or more rows")
        from . import ensemble

        transforms, modules, train_sets, heldout = [], [], [], []

        def tens(a: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(a, dtype=torch.float32, device=device)

        rest = [np.sort(np.concatenate([f for j, f in enumerate(fold_rows) if j != k])) for k in range(k_n)]
        batch = self._batch_size(min(len(r) for r in rest), k_n)
        n_train = float(np.mean([len(r) for r in rest]))
        steps = train_steps(cfg, n_train, batch)
        for k in range(k_n):
            # everything critic k depends on comes from the other folds' rows
            tx = fit_transform(xa[rest[k]], cfg.transform, self._radial(xa))
            ty = fit_transform(ya[rest[k]], cfg.transform, self._radial(ya))
            xs, ys = tx(xa[rest[k]]), ty(ya[rest[k]])
            module = self._objective(self._build_critic(xs, ys, (tx.n_derived, ty.n_derived)), xs.shape[1], ys.shape[1], cfg.seed + 1009 * k, device)
            train_sets.append((tens(xs), tens(ys)))
            if cfg.method == "minee":
                module.fit_reference(*train_sets[-1])
            transforms.append((tx, ty))
            modules.append(module)
            heldout.append((tens(tx(xa[fold_rows[k]])), tens(ty(ya[fold_rows[k]]))))
        xa = ya = None  # type: ignore[assignment]
        eval_threads = self._threads(modules[0], batch * k_n, device, min(len(f) for f in fold_rows))
        trainable = self._trainable()
        vectorised = False
        if trainable:
            tcfg = train_config(cfg, batch, steps, steps, eval_threads)
            select = [(xf[:SELECT_MAX], yf[:SELECT_MAX]) for xf, yf in heldout]
            run = ensemble.train_crossfit(modules, train_sets, select, tcfg, vectorise=not cfg.compile)
            states, best_steps, history = run.best_states, run.best_steps, run.history
            diverged, stopped_early, steps_taken, stop_steps = run.diverged, run.stopped_early, run.steps, run.stop_steps
            vectorised = run.vectorised
        else:
            states = [{k: v.clone() for k, v in m.state_dict().items()} for m in modules]
            best_steps, history, diverged, stopped_early = [0] * k_n, {}, False, False
            steps_taken, stop_steps = 0, [None] * k_n

        # critic k read on fold k, once; the (rows, critic state) pairs are kept for independence_test
        self.readout_ = [(xf, yf, states[k], f) for k, ((xf, yf), f) in enumerate(zip(heldout, fold_rows))]
        evals = read_folds(
            [(m, states[k], xf, yf) for k, (m, (xf, yf)) in enumerate(zip(modules, heldout))], cfg, batch, eval_threads
        )
        fold_values = np.array([e.value for e in evals])
        value, fold_se, delta_se = self._pool(evals, groups, fold_rows)
        optimistic = None
        if cfg.method in LOWER_BOUND_METHODS:  # critic k read on its own training rows
            n_read = sum(e.n for e in evals)
            optimistic = read_training(
                [(m, states[k], xs, ys, evals[k].n / n_read) for k, (m, (xs, ys)) in enumerate(zip(modules, train_sets))],
                cfg, batch, eval_threads,
            )
        del train_sets
        spread_se = float(np.std(fold_values, ddof=1) / math.sqrt(k_n))
        stderr = max(delta_se, spread_se)

        found += self._diagnose(value, stderr, history, batch, diverged, stopped_early, best_steps, evals, crossfit=True)
        if spread_se > 2.0 * delta_se + 0.01:
            found.append(
                (
                    W.UnstableEstimateWarning,
                    f"the {k_n} folds' values ({', '.join(f'{v:.3f}' for v in fold_values)}) disagree more "
                    "than their error bars allow: the critics differ (training noise, heavy tails or too "
                    f"few samples), and the standard error is their spread ({spread_se:.3f} nats)",
                )
            )
        if value < 0:
            found.append(self._negative(value, "critics"))
        # the fitted critic (read, score): fold 0's, with its own transforms
        self.modules_ = modules
        self.transforms_ = transforms
        modules[0].load_state_dict(states[0])
        self.transform_x_, self.transform_y_ = transforms[0]
        config = self._set_fitted(modules[0], batch, device, value, stderr, steps, steps_taken)
        config.update(
            selected_steps=best_steps,
            stop_steps=stop_steps,
            fold_values=fold_values.tolist(),
            fold_sizes=[int(len(f)) for f in fold_rows],
            fold_stderrs=[float(s) for s in fold_se],
            stderr_delta=delta_se,
            stderr_between=spread_se,
            vectorised=vectorised,
        )
        n = sum(e.n for e in evals)
        self._set_result(
            found, names, config, t0, mi=self.mi_, stderr=stderr, history=history,
            n_train=int(round(n_train)), n_test=n, certified=_certified(found), **self._upper(optimistic),
        )

    def _negative(self, value: float, who: str) -> tuple[type[Warning], str]:
        """The warning for a held-out bound ``value`` below zero (reported as 0); ``who``: "critic"
        (one split) or "critics" (cross-fitted). For MI-NEE it names the likely cause."""
        why = (
            "MI-NEE's marginal divergences exceed the joint one: X or Y may lie near a "
            "lower-dimensional set, where D(P_X||R_X) is infinite and MI-NEE is ill-posed"
            if self.config.method == "minee"
            else f"the data show no dependence the {who} could find"
        )
        return (
            W.NegativeEstimateWarning,
            f"the held-out bound was {value:.4f} nats (below zero); MI cannot be negative, so 0 is reported: {why}",
        )

    @staticmethod
    def _upper(optimistic: tuple[float, float] | None) -> dict[str, float | None]:
        """The result's ``mi_train`` and ``stderr_train`` from :func:`read_training`'s pair."""
        if optimistic is None or not all(math.isfinite(v) for v in optimistic):
            return {"mi_train": None, "stderr_train": None}
        return {"mi_train": optimistic[0], "stderr_train": optimistic[1]}

    def _trainable(self) -> bool:
        """Whether the critic has anything to train (the Gaussian critic alone has not, except
        under TUBA's learned baseline and MI-NEE's critics)."""
        return self.config.critic != "gaussian" or self.config.method in ("tuba", "minee")

    def _objective(self, critic: nn.Module, dx: int, dy: int, seed: int, device: torch.device) -> MutualInformation:
        """The :class:`~neuralmi.MutualInformation` of ``critic`` with this estimator's bound
        settings, on ``device`` (its forward compiled with ``compile=True``)."""
        cfg = self.config
        module = MutualInformation(
            dx,
            dy,
            method=cfg.method,
            critic=critic,
            hidden=cfg.hidden,
            activation=cfg.activation,
            marginal=cfg.marginal,
            ema_rate=cfg.ema_rate,
            smile_tau=cfg.smile_tau,
            remine_weight=cfg.remine_weight,
            remine_target=cfg.remine_target,
            seed=seed,
        ).to(device)
        if cfg.compile:  # the forward only: the module, its state dict and checkpoints are unchanged
            module.critic.forward = torch.compile(module.critic.forward, dynamic=True)
        return module

    def _pool(
        self, evals: list[Evaluation], groups: np.ndarray | None, rows: Any
    ) -> tuple[float, list[float], float]:
        """The folds' values averaged by size: ``(value, per-fold standard errors, the delta-method
        standard error of the average)``; with ``groups``, copies of a row (``groups[rows[k]]``)
        count as one observation."""
        sizes = np.array([e.n for e in evals], dtype=float)
        w = sizes / sizes.sum()
        value = float(sum(wk * e.value for wk, e in zip(w, evals)))
        if groups is None or self.config.method == "infonce":
            fold_se = [e.stderr for e in evals]
        else:  # copies of a row are one observation
            fold_se = [_cluster_stderr(e, groups[f]) for e, f in zip(evals, rows)]
        return value, fold_se, float(math.sqrt(sum((wk * se) ** 2 for wk, se in zip(w, fold_se))))

    def _set_fitted(
        self,
        module: MutualInformation,
        batch: int,
        device: torch.device,
        value: float,
        stderr: float,
        steps: int,
        steps_taken: int,
    ) -> dict[str, Any]:
        """Set the fitted attributes every neural fit shares; returns the start of the result's
        ``config`` (the settings, with the batch size, steps and device actually used)."""
        self.module_ = module
        self.critic_ = module.critic
        self.batch_size_ = batch
        self.device_ = device
        self.mi_ = max(0.0, value)
        self.stderr_ = stderr
        config = asdict(self.config)
        config.update(batch_size=batch, steps=steps, steps_taken=steps_taken, device=str(device),
                      folds=getattr(self, "folds_", None))
        return config

    def _set_result(
        self,
        found: list[tuple[type[Warning], str]],
        names: dict[str, list[str] | None],
        config: dict[str, Any],
        t0: float,
        **fields_: Any,
    ) -> None:
        for side, cols in names.items():
            if cols is not None:
                config[f"columns_{side}"] = cols
        self._warning_kinds = {message: kind for kind, message in found}
        self.result_ = MIResult(
            method=self.config.method,
            config=config,
            seconds=time.perf_counter() - t0,
            warnings=tuple(message for _, message in found),
            **fields_,
        )

    def _constant_result(
        self, found: list[tuple[type[Warning], str]], t0: float, n: int, names: dict[str, list[str] | None]
    ) -> None:
        self.mi_, self.stderr_ = 0.0, 0.0
        self.critic_ = None
        self._set_result(found, names, asdict(self.config), t0, mi=0.0, stderr=0.0, n_train=0, n_test=n)

    def _diagnose(
        self,
        value: float,
        stderr: float,
        history: dict[str, list[Any]],
        batch: int,
        diverged: bool,
        stopped_early: bool,
        best_steps: list[int],
        evals: list[Evaluation],
        crossfit: bool = False,
    ) -> list[tuple[type[Warning], str]]:
        """The warnings of a fit: ``evals`` are the held-out reads, one per fold, each by its own
        critic when ``crossfit`` (K-fold), else the one critic's two held-out folds."""
        cfg = self.config
        out: list[tuple[type[Warning], str]] = []
        if diverged:
            out.append((W.DivergenceWarning,
                "training diverged (the loss became NaN or infinite); the estimate uses the last good "
                "checkpoint. Try a smaller lr, the 'nwj' or 'smile' method, or transform='rank'"
            ))
        if cfg.method == "infonce" and value > math.log(batch) - 0.5:
            out.append((W.CeilingWarning,
                f"InfoNCE is capped at log(batch size) = {math.log(batch):.3f} nats and the estimate "
                f"{value:.3f} is close to it: the true MI may be higher. Use a larger batch_size or 'mine'"
            ))
        n_test = sum(e.n for e in evals)
        # cross-fitted (each read by its own critic on its own fold): each fold has a ceiling too
        over = _over_ceiling(evals) if crossfit else None
        if value > math.log(n_test) - 1.0:
            out.append((W.UncertifiableWarning,
                f"the estimate ({value:.2f} nats) is within 1 nat of log(held-out samples) = "
                f"{math.log(n_test):.2f}: a sample of this size cannot certify that much information "
                "(McAllester & Stratos 2020), so the number is not reliable and no interval is given. "
                "Y may be (nearly) a deterministic function of X, where the MI is infinite"
            ))
        elif over is not None:
            out.append((W.UncertifiableWarning,
                f"fold {over[0]}'s read ({over[1]:.2f} nats) is within 1 nat of log(its {over[2]} rows) = "
                f"{math.log(over[2]):.2f}: a fold of this size cannot certify that much information "
                "(McAllester & Stratos 2020), so the average is not reliable and no interval is given. "
                "Y may be (nearly) a deterministic function of X, where the MI is infinite"
            ))
        if history.get("heldout"):
            train_vals = [v for v in history.get("train", []) if v is not None and math.isfinite(v)]
            if train_vals:
                tail = float(np.mean(train_vals[-3:]))
                gap = tail - value
                if gap > max(0.1, 0.2 * abs(value), 4 * stderr):
                    out.append((W.OverfittingWarning,
                        f"the bound on training batches ({tail:.3f}) is well above the held-out "
                        f"estimate ({value:.3f}): the critic overfits. More samples, a smaller "
                        "critic or fewer steps would help; the held-out number is the honest one"
                    ))
            held = [v for v in history["heldout"] if math.isfinite(v)]
            if held and max(held) <= 0.0:
                out.append((W.NoDependenceWarning,
                    "the held-out bound never rose above zero: either X and Y are (nearly) "
                    "independent or the critic failed to learn"
                ))
        uses_baseline = cfg.gaussian_baseline and cfg.critic in ("concat", "separable", "bilinear")
        if stopped_early and max(best_steps) == 0 and not uses_baseline and cfg.critic != "gaussian":
            out.append((W.NoProgressWarning,
                "early stopping fired at the first check: training never improved the held-out "
                "bound. Try another lr or method"
            ))
        if len(evals) == 2 and abs(evals[0].value - evals[1].value) > 4 * math.hypot(evals[0].stderr, evals[1].stderr) + 0.05:
            out.append((W.UnstableEstimateWarning,
                f"the two held-out folds disagree ({evals[0].value:.3f} vs {evals[1].value:.3f}) more "
                "than their error bars allow: the estimate is unstable (heavy tails or too few samples)"
            ))
        return out

    @contextlib.contextmanager
    def threads(self) -> Any:
        """The fitted estimator's thread policy for work outside :meth:`fit` (reading new samples,
        permutation tests): as during ``fit``, then restored."""
        previous = torch.get_num_threads()
        try:
            with _blas_threads(self.config.threads or 1):
                if getattr(self, "module_", None) is not None:
                    # outside fit the work is reading held-out rows: the evaluations' threads
                    readout = getattr(self, "readout_", None) or []
                    rows = min(len(r[0]) for r in readout) if readout else 0
                    n = self._threads(self.module_, self.batch_size_, self.device_, rows)
                    if n is not None:
                        torch.set_num_threads(n)
                yield
        finally:
            torch.set_num_threads(previous)

    def _check_fitted(self) -> None:
        if not hasattr(self, "result_"):
            raise ValueError(f"this {type(self).__name__} is not fitted yet; call fit(x, y) first")

    def read(self, x: Any, y: Any) -> MIResult:
        """Read the trained critic's bound on other samples ``x``, ``y`` (the same columns as in
        ``fit``), with its standard error, as an :class:`~neuralmi.MIResult`. Nothing is trained:
        to estimate MI on new data, use :func:`neuralmi.estimate` or :meth:`fit`.

        Raises:
            ValueError: not fitted yet, or ``x``/``y`` have other numbers of columns than in ``fit``.
        """
        t0 = time.perf_counter()
        self._check_fitted()
        xa, ya = check_pair(x, y, min_samples=2)
        if (xa.shape[1], ya.shape[1]) != (self.n_features_in_x_, self.n_features_in_y_):
            raise ValueError(
                f"x and y must have the {self.n_features_in_x_} and {self.n_features_in_y_} columns seen in "
                f"fit; got {xa.shape[1]} and {ya.shape[1]}"
            )
        if self.critic_ is None:
            return self.result_
        xa, ya = xa[:, self.keep_x_], ya[:, self.keep_y_]
        xt = torch.as_tensor(self.transform_x_(xa), dtype=torch.float32, device=self.device_)
        yt = torch.as_tensor(self.transform_y_(ya), dtype=torch.float32, device=self.device_)
        # the same marginal pairs for the same rows every time: repeatable, and read() == score()
        seed = _readout_seed(self.config.seed, 2)
        with self.threads():
            ev = self.module_.evaluate(xt, yt, n_shifts=self.config.eval_shifts, batch_size=self.batch_size_, seed=seed)
        return replace(
            self.result_,
            mi=max(0.0, ev.value),
            stderr=ev.stderr,
            history={},
            seconds=time.perf_counter() - t0,
            n_train=self.result_.n_train,
            n_test=ev.n,
            warnings=(),
        )

    def score(self, x: Any, y: Any) -> float:
        """The trained critic's bound on other samples, in nats (:meth:`read`'s ``mi``). Higher
        is better, which is what scikit-learn's model selection maximises."""
        return self.read(x, y).mi

    def estimate(self, x: Any, y: Any) -> MIResult:
        """Deprecated name of :meth:`read` (it never trained; :func:`neuralmi.estimate` does)."""
        warnings.warn(
            "NeuralEstimator.estimate(x, y) is renamed read(x, y): it only reads the trained critic "
            "(neuralmi.estimate(x, y) trains a new one)",
            FutureWarning,
            stacklevel=2,
        )
        return self.read(x, y)


class MINE(NeuralEstimator):
    """MINE (Belghazi et al. 2018): DV bound, moving-average corrected gradients."""

    fixed_method = "mine"


class DV(NeuralEstimator):
    """Donsker–Varadhan bound with plain minibatch gradients (the seeds' ``mine_biased``)."""

    fixed_method = "dv"


class NWJ(NeuralEstimator):
    """NWJ / MINE-f / f-divergence bound."""

    fixed_method = "nwj"


class InfoNCE(NeuralEstimator):
    """InfoNCE / CPC; capped at log(batch size)."""

    fixed_method = "infonce"


class JS(NeuralEstimator):
    """Jensen–Shannon training, NWJ read-out (Poole et al. 2019)."""

    fixed_method = "js"


class SMILE(NeuralEstimator):
    """SMILE: JS training, clipped DV read-out (Song & Ermon 2020)."""

    fixed_method = "smile"


class TUBA(NeuralEstimator):
    """TUBA bound with a learned baseline (Poole et al. 2019)."""

    fixed_method = "tuba"


class MINEE(NeuralEstimator):
    """MI-NEE: three DV divergences against a Gaussian product reference (Chan et al. 2019)."""

    fixed_method = "minee"


def _baseline(x: Any, y: Any, method: str, options: dict[str, Any]) -> MIResult:
    """KSG or the Gaussian closed form, wrapped in an :class:`MIResult` (no training, no split)."""
    from .nonparametric import KSG, GaussianMI

    t0 = time.perf_counter()
    cls = KSG if method == "ksg" else GaussianMI
    try:
        est = cls(**options)
    except TypeError as exc:
        raise TypeError(f"bad option for method {method!r}: {exc}") from None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(x, y)
    for w in caught:  # delivered both ways: re-issued to the caller's filters, and kept in the result
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    n = check_pair(x, y, min_samples=1)[0].shape[0]
    config = {"method": method, **est.get_params()}
    for side, a in (("x", x), ("y", y)):
        cols = column_names(a, side)
        if cols is not None:
            config[f"columns_{side}"] = cols
    return MIResult(
        mi=est.mi_,
        stderr=est.stderr_,
        method=method,
        config=config,
        seconds=time.perf_counter() - t0,
        n_train=0,
        n_test=n,
        warnings=tuple(dict.fromkeys(str(w.message) for w in caught)),
        certified=not any(issubclass(w.category, W.UncertifiableWarning) for w in caught),
    )


def estimate(
    x: Any,
    y: Any = None,
    method: str = "mine",
    critic: CriticSpec = "auto",
    *,
    z: Any = None,
    discrete: str | None = "auto",
    distributed: bool = False,
    **options: Any,
) -> MIResult:
    """Estimate I(X; Y) in nats from paired samples, with an error bar and diagnostics.

    Args:
        x, y: ``(n, dx)`` and ``(n, dy)`` arrays, torch tensors (any device), pandas
            DataFrames or Series (their column names go into ``result.config``); 1-D means one
            column. Rows are paired samples. Data larger than memory: memory-mapped arrays,
            arrays of more than a million rows, or ``x`` an iterable of ``(x, y)`` batches
            (e.g. a ``DataLoader``) with ``y`` left out, read in one pass by the neural
            methods (:mod:`neuralmi.streaming`).
        method: a neural bound (``"mine"`` default, ``"dv"``, ``"nwj"``, ``"infonce"``, ``"js"``,
            ``"smile"``, ``"tuba"``, ``"minee"``) or a baseline (``"ksg"``, ``"gaussian"``).
        critic: critic name, ``nn.Module`` or factory (neural methods only).
        z: samples of Z ``(n, dz)``: estimate the conditional MI I(X; Y | Z)
            (:func:`neuralmi.conditional.estimate_conditional`).
        discrete: which side is discrete (labels, categories): ``"auto"`` (default) detects it,
            ``"none"`` (or None) treats both sides as continuous, ``"x"``, ``"y"`` or ``"xy"``
            declare it (:func:`neuralmi.discrete.estimate_discrete`). Detection
            (:func:`neuralmi.discrete.detect_discrete`) is conservative: values that are not
            numbers (strings, pandas categoricals) are discrete; integers and booleans only with
            at most 20 distinct values and at least 10 rows per value, and only for the default
            method (or ``"classifier"``, ``"plugin"``, ``"mixed_ksg"``) with the default critic;
            floats never. A detected side is reported by a
            :class:`~neuralmi.exceptions.DiscreteDetectedWarning` (in ``result.warnings`` too)
            and ``result.config["discrete_detected"]``.
        distributed: ``x``, ``y`` are this process's shard of the rows, and every process of
            an initialised ``torch.distributed`` group (e.g. under ``torchrun``) calls
            ``estimate`` with its own shard: the rows are gathered in rank order and the
            training steps split across processes; every rank returns the same result, equal
            (to float tolerance) to the one-process estimate on all rows. Not with ``z`` or
            ``discrete``. See :mod:`neuralmi._distributed_fit` and docs/distributed.md.
        **options: fields of :class:`EstimatorConfig` (neural methods), or the baseline's own
            keyword arguments (e.g. ``k`` for KSG).

    Returns:
        An :class:`~neuralmi.MIResult`.

    Example:
        >>> import numpy as np, neuralmi
        >>> rng = np.random.default_rng(0)
        >>> x = rng.standard_normal((2000, 1)); y = x + rng.standard_normal((2000, 1))
        >>> res = neuralmi.estimate(x, y, seed=0, steps=200)
        >>> abs(res.mi - 0.5 * np.log(2)) < 0.1
        True
    """
    if not isinstance(method, str):
        raise TypeError(f"method must be a string; got {type(method).__name__}")
    if not isinstance(distributed, bool):
        raise TypeError(f"distributed must be True or False; got {distributed!r}")
    from .discrete import estimate_discrete, mark_detected, resolve_discrete

    declared = resolve_discrete(None, None, discrete)[0] if discrete != "auto" else None  # validates
    if y is None and (distributed or z is not None or declared is not None or method in BASELINE_METHODS):
        what = f"method {method!r} needs" if method in BASELINE_METHODS else "z=, discrete= and distributed=True need"
        raise TypeError(
            f"y is missing: {what} x and y arrays (an iterable of (x, y) batches is read by the "
            "neural methods only)"
        )
    if distributed:  # this process's shard of the rows (never detected); see neuralmi._distributed_fit
        if z is not None or declared is not None:
            raise ValueError("distributed=True estimates I(X;Y) only: not with z or discrete")
        from ._distributed_fit import estimate_sharded

        return estimate_sharded(x, y, method=method, critic=critic, **options)
    detected: dict[str, str] = {}
    if discrete == "auto" and y is not None:  # see neuralmi.discrete.resolve_discrete
        declared, detected = resolve_discrete(x, y, "auto", method=method, critic=critic, z=z, options=options)
    if z is not None:  # conditional MI I(X; Y | Z): see neuralmi.conditional
        from .conditional import estimate_conditional

        res = estimate_conditional(x, y, z, method=method, critic=critic, discrete=declared, **options)
        return mark_detected(res, detected)
    if declared is not None:  # a discrete side: see neuralmi.discrete
        res = estimate_discrete(x, y, discrete=declared, method=method, critic=critic, **options)
        return mark_detected(res, detected)
    if method in BASELINE_METHODS:
        return _baseline(x, y, method, options)
    check_choice(method, "method", (*NEURAL_METHODS, *BASELINE_METHODS))
    return NeuralEstimator(method=method, critic=critic, **options).fit(x, y).result_
