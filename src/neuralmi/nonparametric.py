r"""Exact non-parametric and closed-form mutual information estimators (the baselines).

Four estimators, each a pure function with a scikit-learn style class twin that calls the very
same function (the class only adds state, torchmetrics style):

========================  ===================  ===================================================
function                  class                what it is
========================  ===================  ===================================================
:func:`ksg`               :class:`KSG`         Kraskov-Stögbauer-Grassberger k-NN estimators 1, 2
:func:`ksg_lnc`           :class:`KSGLNC`      KSG 2 + local non-uniformity correction (Gao 2015)
:func:`gaussian_mi`       :class:`GaussianMI`  closed form for a Gaussian fit (= CCA estimator)
:func:`binned_mi`         :class:`BinnedMI`    plug-in histogram estimator, optional Miller-Madow
========================  ===================  ===================================================

Conventions shared by all of them:

* ``x`` has shape ``(n, d_x)`` and ``y`` shape ``(n, d_y)``; a 1-D input of length ``n`` means
  ``(n, 1)``. NumPy arrays, nested sequences and torch tensors are accepted (all inputs go
  through :func:`neuralmi._validation.check_pair`, so NaN/inf, mismatched lengths and bad shapes
  raise a ``ValueError`` naming the problem). Computation is in float64.
* Results are plain Python ``float`` in **nats**.
* A **constant column** (zero sample variance) carries no information about anything. It is
  dropped with a :class:`ConstantColumnWarning` that names it; if every column of ``x`` (or of
  ``y``) is constant, the MI is exactly 0 and the function returns ``0.0`` with that warning.
  No estimator here ever returns NaN.

References:
    A. Kraskov, H. Stögbauer, P. Grassberger, "Estimating mutual information",
    Phys. Rev. E 69, 066138 (2004).
    S. Gao, G. Ver Steeg, A. Galstyan, "Efficient estimation of mutual information for strongly
    dependent variables", AISTATS 2015 (arXiv:1411.2003).
    G. A. Miller, "Note on the bias of information estimates" (1955).
"""

from __future__ import annotations

import functools
import math
import os
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import digamma

from neuralmi._validation import check_choice, check_pair, check_positive_int, drop_constant
from neuralmi._sklearn import SklearnTagsMixin
from neuralmi.exceptions import (
    ConstantColumnWarning,
    DependentColumnsWarning,
    HighDimensionWarning,
    TiedSamplesWarning,
    UncertifiableWarning,
)

__all__ = [
    "ksg",
    "ksg_lnc",
    "gaussian_mi",
    "binned_mi",
    "KSG",
    "KSGLNC",
    "GaussianMI",
    "BinnedMI",
    "fit_cca",
    "CCAFit",
    "oas_shrinkage",
    "joint_correlation",
    "shrunk_cca",
    "ConstantColumnWarning",
    "DependentColumnsWarning",
    "TiedSamplesWarning",
    "ksg_cmi",
    "gaussian_cmi",
    "mixed_ksg",
    "KSGCMI",
    "GaussianCMI",
    "MixedKSG",
]

# Leaf size of the k-d trees. 32 measured ~20-30 % faster than SciPy's default 16 for the
# box-counting queries of KSG in 5 dimensions, and no slower in 1 dimension.
_LEAFSIZE = 32

# Rows from which the marginal counts of KSG use scikit-learn's k-d tree (see _count_within).
_SKLEARN_MIN_ROWS = 5000

# Joint dimension above which the k-NN estimators warn of their bias towards 0.
_HIGH_DIM = 10

# Share of repeated values in a column above which KSG warns that the data look discrete.
_TIE_WARN_FRACTION = 0.05

# False-alarm probability used to set the LNC threshold alpha_{k,d} (see `_lnc_alpha`).
_LNC_FALSE_ALARM = 5e-3
_LNC_MC_DRAWS = 100_000


# ---------------------------------------------------------------------------------------------
# Shared validation helpers
# ---------------------------------------------------------------------------------------------


def _drop_constant(a: np.ndarray, name: str, estimator: str, stacklevel: int = 4) -> np.ndarray:
    """Return ``a`` without its constant columns, warning with their indices if there are any."""
    kept, _, msg = drop_constant(a, name, estimator)
    if msg is not None:
        warnings.warn(msg, ConstantColumnWarning, stacklevel=stacklevel)
    return kept


def _check_k(k: Any, n: int, name: str = "k") -> int:
    k = check_positive_int(k, name, minimum=1)
    if k >= n:
        raise ValueError(f"{name} must be smaller than the number of samples n={n}; got {k}")
    return k


def _check_workers(workers: Any) -> int:
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)):
        raise TypeError(f"workers must be an integer; got {type(workers).__name__}")
    if workers == 0 or workers < -1:
        raise ValueError(f"workers must be -1 (all cores) or a positive integer; got {workers}")
    return int(workers)


def _check_nonneg_float(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number; got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value) or value < 0.0:
        raise ValueError(f"{name} must be a finite number >= 0; got {value}")
    return value


def _check_seed(seed: Any) -> int | None:
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an integer or None; got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0; got {seed}")
    return int(seed)


def _check_variant(variant: Any) -> int:
    is_int = isinstance(variant, (int, np.integer)) and not isinstance(variant, bool)
    if not is_int or variant not in (1, 2):
        raise ValueError(f"variant must be 1 or 2 (KSG estimator 1 or 2); got {variant!r}")
    return int(variant)


def _check_alpha(alpha: Any) -> float | None:
    if alpha is None:
        return None
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.integer, np.floating)):
        raise TypeError(f"alpha must be a number in (0, 1] or None; got {type(alpha).__name__}")
    alpha = float(alpha)
    if not (0.0 < alpha <= 1.0):
        raise ValueError(f"alpha must be in (0, 1] (a volume-ratio threshold); got {alpha}")
    return alpha


# ---------------------------------------------------------------------------------------------
# KSG machinery
# ---------------------------------------------------------------------------------------------


def _jitter(a: np.ndarray, jitter: float, rng: np.random.Generator) -> np.ndarray:
    """Add N(0, (jitter * std_j)^2) noise to column j (std_j > 0: constant columns are gone)."""
    scale = jitter * a.std(axis=0)
    return a + rng.standard_normal(a.shape) * scale


def _warn_ties(a: np.ndarray, name: str, estimator: str) -> None:
    n = a.shape[0]
    for j in range(a.shape[1]):
        n_unique = np.unique(a[:, j]).size
        if n - n_unique > _TIE_WARN_FRACTION * n:
            warnings.warn(
                f"{name} column {j} has only {n_unique} distinct values among {n} samples; "
                f"{estimator} assumes continuous data with no ties, and ties bias it (usually "
                "upwards). Pass jitter=1e-10 (or larger) to break ties, or use binned_mi for "
                "discrete data",
                TiedSamplesWarning,
                stacklevel=4,
            )
            return


def _prepare_knn(
    x: Any, y: Any, k: Any, workers: Any, jitter: Any, seed: Any, estimator: str
) -> tuple[np.ndarray, np.ndarray, int, int] | None:
    """Validate the inputs of a k-NN estimator; return ``(x, y, k, workers)`` or None for MI=0."""
    xa, ya = check_pair(x, y, min_samples=2)
    k = _check_k(k, xa.shape[0])
    workers = _check_workers(workers)
    jitter = _check_nonneg_float(jitter, "jitter")
    seed = _check_seed(seed)
    xa = _drop_constant(xa, "x", estimator)
    ya = _drop_constant(ya, "y", estimator)
    if xa.shape[1] == 0 or ya.shape[1] == 0:
        return None
    if jitter > 0.0:
        rng = np.random.default_rng(seed)
        xa = _jitter(xa, jitter, rng)
        ya = _jitter(ya, jitter, rng)
    else:
        _warn_ties(xa, "x", estimator)
        _warn_ties(ya, "y", estimator)
    if xa.shape[1] + ya.shape[1] > _HIGH_DIM:
        warnings.warn(
            f"{estimator} in {xa.shape[1]} + {ya.shape[1]} dimensions: k-NN estimators are strongly "
            "biased towards 0 in high dimension (100 + 100 dimensions on 500 rows read 0.04 nats for "
            "4.7); use a neural estimate (neuralmi.estimate) there",
            HighDimensionWarning,
            stacklevel=4,
        )
    return xa, ya, k, workers


def _count_within_1d(col: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """Exact ``#{j : fl(|col_j - col_i|) <= radius_i}`` for a single column, in O(n log n).

    ``fl(col_j - col_i)`` (the rounded difference, exactly what a k-d tree compares) is
    monotone in ``col_j``, so the rows within the radius form one contiguous run of the sorted
    column. ``searchsorted`` on ``col_i +- radius_i`` finds its ends up to rounding of the sum;
    the ends are then moved, one distinct value at a time, until the exact test holds (one or two
    steps at most, since the rounding error is an ulp).
    """
    xs = np.sort(col)
    n = xs.size
    last = n - 1

    # upper end: hi = first sorted index whose value is too far above col
    hi = np.searchsorted(xs, col + radius, side="right")
    while True:
        step = (hi < n) & (xs[np.minimum(hi, last)] - col <= radius)
        if not step.any():
            break
        hi[step] = np.searchsorted(xs, xs[hi[step]], side="right")
    while True:
        step = (hi > 0) & (xs[np.maximum(hi - 1, 0)] - col > radius)
        if not step.any():
            break
        hi[step] = np.searchsorted(xs, xs[hi[step] - 1], side="left")

    # lower end: lo = first sorted index whose value is close enough below col
    lo = np.searchsorted(xs, col - radius, side="left")
    while True:
        step = (lo > 0) & (col - xs[np.maximum(lo - 1, 0)] <= radius)
        if not step.any():
            break
        lo[step] = np.searchsorted(xs, xs[lo[step] - 1], side="left")
    while True:
        step = (lo < n) & (col - xs[np.minimum(lo, last)] > radius)
        if not step.any():
            break
        lo[step] = np.searchsorted(xs, xs[lo[step]], side="right")
    return (hi - lo).astype(np.int64)


def _count_within(a: np.ndarray, radius: np.ndarray, workers: int) -> np.ndarray:
    """Number of rows ``j`` (the row itself included) with ``max|a_j - a_i| <= radius_i``.

    One column: sorted search (:func:`_count_within_1d`), several times faster than a tree.
    Several columns: a k-d tree box count. scikit-learn's ``KDTree.query_radius(...,
    count_only=True)`` counts a node whose box lies inside the query box without visiting its
    points, which SciPy's ``cKDTree.query_ball_point(..., return_length=True)`` does not:
    measured 0.20 s against 0.75 s for the 10,000 counts of KSG on 5 + 5 dimensions
    (``benchmarks/speed.py``). The queries run in ``workers`` threads (the tree releases the
    GIL); the result is identical to SciPy's (same float64 max-norm, same ``<=``), which is
    used below :data:`_SKLEARN_MIN_ROWS` rows (where importing scikit-learn costs more than it
    saves) and when scikit-learn is missing.
    """
    if a.shape[1] == 1:
        return _count_within_1d(a[:, 0], radius)
    try:
        if a.shape[0] < _SKLEARN_MIN_ROWS and "sklearn.neighbors" not in sys.modules:
            raise ImportError  # its import (~1 s) costs more than the faster counts save
        from sklearn.neighbors import KDTree  # noqa: PLC0415  (heavy import, only for KSG)
    except ImportError:
        tree = cKDTree(a, leafsize=_LEAFSIZE)
        order = tree.indices
        counts = np.empty(a.shape[0], dtype=np.int64)
        counts[order] = tree.query_ball_point(
            a[order], radius[order], p=np.inf, workers=workers, return_length=True
        )
        return counts
    a = np.ascontiguousarray(a, dtype=np.float64)
    radius = np.ascontiguousarray(radius, dtype=np.float64)
    tree = KDTree(a, leaf_size=20, metric="chebyshev")
    threads = _n_threads(workers)
    if threads == 1 or a.shape[0] < 4096:
        return tree.query_radius(a, radius, count_only=True).astype(np.int64)
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

    parts = np.array_split(np.arange(a.shape[0]), 4 * threads)
    with ThreadPoolExecutor(threads) as pool:
        counts = list(pool.map(lambda rows: tree.query_radius(a[rows], radius[rows], count_only=True), parts))
    return np.concatenate(counts).astype(np.int64)


def _n_threads(workers: int) -> int:
    """Threads for ``workers`` (``-1``: every core this process may use)."""
    if workers > 0:
        return workers
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def _joint_knn(
    xa: np.ndarray, ya: np.ndarray, k: int, workers: int
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k+1`` nearest rows of each row in the joint max-norm (the row itself included)."""
    z = np.hstack([xa, ya])
    tree = cKDTree(z, leafsize=_LEAFSIZE)
    order = tree.indices
    dist = np.empty((z.shape[0], k + 1))
    idx = np.empty((z.shape[0], k + 1), dtype=np.intp)
    dist[order], idx[order] = tree.query(z[order], k=k + 1, p=np.inf, workers=workers)
    return dist, idx


def _ksg_core(
    xa: np.ndarray, ya: np.ndarray, k: int, variant: int, workers: int, estimator: str
) -> tuple[float, np.ndarray, np.ndarray]:
    """KSG estimate (nats), the ``(n, k+1)`` joint neighbour indices it used, and the ``(n,)``
    per-sample terms whose mean is the estimate."""
    n = xa.shape[0]
    dist, idx = _joint_knn(xa, ya, k, workers)
    eps = dist[:, k]  # distance to the k-th neighbour (column 0 is the point itself, at 0)
    n_dup = int(np.count_nonzero(eps == 0.0))
    if n_dup:
        warnings.warn(
            f"{n_dup} of {n} samples have at least k={k} exact duplicates in the joint space, so "
            f"their k-NN radius is 0; {estimator} is biased on duplicated samples. Pass "
            "jitter=1e-10 (or larger) to break ties",
            TiedSamplesWarning,
            stacklevel=3,
        )
    if variant == 1:
        # strictly inside the joint radius: d < eps  <=>  d <= nextafter(eps, 0)
        r = np.nextafter(eps, 0.0)
        cx = _count_within(xa, r, workers)  # n_x + 1 (the point itself is counted)
        cy = _count_within(ya, r, workers)
        dup = eps == 0.0
        cx[dup] = 1  # nothing lies at a distance < 0
        cy[dup] = 1
        terms = digamma(k) + digamma(n) - (digamma(cx) + digamma(cy))
    else:
        # per-marginal radii: the largest marginal distance among the k joint neighbours
        # (the point itself is among the k+1 rows of idx, at marginal distance 0)
        ex = np.abs(xa[idx] - xa[:, None, :]).max(axis=(1, 2))
        ey = np.abs(ya[idx] - ya[:, None, :]).max(axis=(1, 2))
        nx = _count_within(xa, ex, workers) - 1  # <= radius; minus the point itself
        ny = _count_within(ya, ey, workers) - 1
        terms = digamma(k) - 1.0 / k + digamma(n) - (digamma(nx) + digamma(ny))
    return float(np.mean(terms)), idx, terms


def ksg(
    x: Any,
    y: Any,
    k: int = 3,
    variant: int = 1,
    workers: int = -1,
    jitter: float = 0.0,
    seed: int | None = 0,
) -> float:
    r"""Kraskov-Stögbauer-Grassberger k-nearest-neighbour estimate of I(X; Y) in nats.

    Distances are max-norms: in the joint space :math:`\|z-z'\| = \max(\|x-x'\|_\infty,
    \|y-y'\|_\infty)`. Let :math:`\epsilon_i` be the distance from sample *i* to its *k*-th
    nearest neighbour in the joint space and :math:`\psi` the digamma function.

    * **Estimator 1** (``variant=1``): :math:`n_x(i)` counts the samples *strictly* closer than
      :math:`\epsilon_i` to :math:`x_i` in the x space (likewise :math:`n_y`), and

      .. math:: \hat I_1 = \psi(k) + \psi(N) - \langle \psi(n_x+1) + \psi(n_y+1) \rangle.

    * **Estimator 2** (``variant=2``): :math:`\epsilon_x(i)` is the largest x-distance among the
      *k* joint neighbours, :math:`n_x(i)` counts the samples with x-distance
      :math:`\le \epsilon_x(i)` (likewise for y), and

      .. math:: \hat I_2 = \psi(k) - 1/k + \psi(N) - \langle \psi(n_x) + \psi(n_y) \rangle.

    Kraskov et al. (2004) find estimator 1 has the smaller statistical error and estimator 2 the
    smaller systematic error in higher dimension. Both are consistent, vanish for independent X
    and Y up to statistical fluctuations (so the estimate can be slightly negative), and
    strongly *under*-estimate large MI: they need a number of samples exponential in I
    (Gao et al. 2015; see :func:`ksg_lnc`).

    Computed on SciPy ``cKDTree`` s: one (k+1)-NN query in the joint space and one box count per
    marginal (``query_ball_point(..., return_length=True)``), O(N log N) for low dimension,
    no Python loop over samples. The counts exclude the sample itself.

    **Ties and duplicates break KSG.** It assumes a continuous density: repeated values (discrete
    or rounded data) make many distances equal or zero, and the estimate is then biased (often
    strongly upwards). A :class:`TiedSamplesWarning` is emitted when a column has more than 5 %
    repeated values or when a sample has ``k`` exact duplicates. ``jitter > 0`` adds seeded
    Gaussian noise of standard deviation ``jitter * std(column)`` to every column before the
    search, which breaks ties (``jitter=1e-10`` changes continuous data negligibly).

    Args:
        x: samples of X, shape ``(n, d_x)`` (or ``(n,)``).
        y: samples of Y, shape ``(n, d_y)`` (or ``(n,)``).
        k: number of neighbours, ``1 <= k < n`` (Kraskov et al. recommend 2-4).
        variant: 1 or 2, the estimator of Kraskov et al.
        workers: threads for the tree queries; ``-1`` uses all cores.
        jitter: relative noise added to break ties (0 = off).
        seed: seed of the jitter noise (``None``: fresh entropy); unused when ``jitter == 0``.

    Returns:
        The estimate in nats (a Python float; may be slightly negative for independent data).

    Raises:
        ValueError: bad shapes, NaN/inf, mismatched lengths, ``k`` not in ``[1, n)``, a variant
            other than 1 or 2, negative jitter, or ``workers`` 0 or < -1.
        TypeError: non-numeric input or non-integer ``k``/``workers``/``seed``.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x = rng.standard_normal(2000)
        >>> y = 0.6 * x + 0.8 * rng.standard_normal(2000)
        >>> round(ksg(x, y), 1)  # truth: -0.5 * log(1 - 0.36) = 0.223
        0.2
    """
    return _ksg(x, y, k, variant, workers, jitter, seed)[0]


def _ksg(
    x: Any, y: Any, k: int, variant: int, workers: int, jitter: float, seed: int | None
) -> tuple[float, float]:
    """:func:`ksg` and its standard error: the standard deviation of the per-sample terms over
    sqrt(n). The terms are not independent (they share neighbours), so this is a rough guide,
    not a calibrated interval."""
    variant = _check_variant(variant)
    prepared = _prepare_knn(x, y, k, workers, jitter, seed, "ksg")
    if prepared is None:
        return 0.0, 0.0
    xa, ya, k, workers = prepared
    mi, _, terms = _ksg_core(xa, ya, k, variant, workers, "ksg")
    n = xa.shape[0]
    # the most KSG can report: every point's k nearest neighbours the same in x, y and (x, y)
    ceiling = float(digamma(k) + digamma(n) - 2.0 * digamma(k + 1))
    if mi > ceiling - 1.0:
        warnings.warn(
            f"ksg's estimate {mi:.2f} nats is within 1 nat of the most it can report with n={n}, "
            f"k={k} ({ceiling:.2f}): Y is (nearly) a deterministic function of X, where the MI is "
            "infinite, or the MI is beyond what this sample resolves. The number is a floor, not an "
            "estimate",
            UncertifiableWarning,
            stacklevel=3,
        )
    return mi, float(np.std(terms, ddof=1) / math.sqrt(terms.shape[0]))


# ---------------------------------------------------------------------------------------------
# KSG with local non-uniformity correction
# ---------------------------------------------------------------------------------------------


def _log_volume_ratio(nb: np.ndarray) -> np.ndarray:
    r"""Return :math:`\log \bar V - \log V` for neighbourhoods ``nb`` of shape ``(m, k, d)``.

    ``nb`` holds the offsets of the k neighbours from the centre sample (an extra all-zero row,
    the sample itself, changes nothing). ``V`` is the volume of the smallest axis-aligned box
    centred on the sample that holds them, ``\bar V`` that of the smallest such box aligned with
    the principal axes of the neighbourhood (the eigenvectors of ``nb^T nb / k``). Entries are
    -inf/NaN where a box is degenerate (repeated coordinates).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        log_v = np.log(np.abs(nb).max(axis=1)).sum(axis=1)
        cov = np.einsum("mki,mkj->mij", nb, nb) / nb.shape[1]
        _, vecs = np.linalg.eigh(cov)
        proj = np.einsum("mki,mij->mkj", nb, vecs)
        log_vbar = np.log(np.abs(proj).max(axis=1)).sum(axis=1)
        return log_vbar - log_v


@functools.lru_cache(maxsize=64)
def _lnc_alpha(k: int, d: int) -> float:
    r"""Default LNC threshold :math:`\alpha_{k,d}`, by the criterion of Gao et al. (2015).

    The paper asks that the correction almost never fire where the density *is* locally
    uniform, i.e. that :math:`P(\bar V / V < \alpha_{k,d}) = \epsilon` for a uniform
    neighbourhood, with a small :math:`\epsilon`; we take :math:`\epsilon = 5 \times 10^{-3}`.
    By scale invariance, the k nearest neighbours (max-norm) of a point of a locally uniform
    density are k-1 points uniform in the cube :math:`[-1, 1]^d` and one (the k-th) uniform on
    its surface; alpha is the epsilon-quantile of :math:`\bar V / V` over 100,000 fixed-seed
    draws of such neighbourhoods (deterministic; cached per (k, d)).
    Some values: (k, d) = (5, 2) -> 0.33, (3, 2) -> 0.10, (10, 2) -> 0.60, (5, 3) -> 0.13,
    (10, 5) -> 0.24. The authors' released table (NPEET_LNC) has values of the same order (their
    false-alarm rates under this simulation range from 0.2 % to 1.8 %).
    """
    rng = np.random.default_rng(20150509)
    ratios = []
    chunk = 20_000
    for start in range(0, _LNC_MC_DRAWS, chunk):
        m = min(chunk, _LNC_MC_DRAWS - start)
        pts = rng.uniform(-1.0, 1.0, size=(m, k, d))
        face = rng.integers(0, d, size=m)
        pts[np.arange(m), k - 1, face] = rng.choice(np.array([-1.0, 1.0]), size=m)
        ratios.append(_log_volume_ratio(pts))
    log_ratio = np.concatenate(ratios)
    return float(np.exp(np.quantile(log_ratio, _LNC_FALSE_ALARM)))


def ksg_lnc(
    x: Any,
    y: Any,
    k: int = 5,
    alpha: float | None = None,
    workers: int = -1,
    jitter: float = 0.0,
    seed: int | None = 0,
) -> float:
    r"""KSG with the local non-uniformity correction (LNC) of Gao, Ver Steeg & Galstyan (2015).

    KSG assumes the density is uniform inside each k-NN box; for strongly dependent variables the
    k neighbours lie along a thin, tilted manifold, the box is mostly empty, and KSG
    under-estimates by a lot (it needs a number of samples exponential in the MI). LNC replaces,
    wherever the neighbourhood is detectably non-uniform, the axis-aligned box volume V(i) by the
    volume :math:`\bar V(i)` of the box aligned with the principal axes (local PCA) of the k
    neighbours, both centred on sample *i*:

    .. math::
        \hat I_{LNC} = \hat I_{KSG,2} - \frac1N \sum_i \log\frac{\bar V(i)}{V(i)}
        \,\mathbb 1\!\left[\frac{\bar V(i)}{V(i)} < \alpha_{k,d}\right],

    where d = d_x + d_y and :math:`\hat I_{KSG,2}` is estimator 2 of :func:`ksg` (the
    rectangle-based one, as in the paper). The correction is >= 0.

    **Choice of alpha.** The paper chooses :math:`\alpha_{k,d}` so that a locally *uniform*
    neighbourhood is flagged only with a small probability :math:`\epsilon`. With
    ``alpha=None`` we compute that threshold for :math:`\epsilon = 5\times10^{-3}` (our choice)
    by a deterministic Monte Carlo over uniform neighbourhoods in d = d_x + d_y dimensions
    (cached; about 0.33 for k=5, d=2, decreasing with d, increasing with k). A float in (0, 1]
    overrides it.

    Args:
        x: samples of X, shape ``(n, d_x)``.
        y: samples of Y, shape ``(n, d_y)``.
        k: neighbours; must satisfy ``d_x + d_y <= k < n`` (the local PCA needs at least as many
            neighbours as dimensions).
        alpha: threshold in (0, 1], or None for the default above.
        workers, jitter, seed: as in :func:`ksg`.

    Returns:
        The estimate in nats (a Python float).

    Raises:
        ValueError: as :func:`ksg`, plus ``k < d_x + d_y`` or alpha outside (0, 1].

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x = rng.uniform(0, 1, 2000)
        >>> y = x + rng.uniform(0, 1e-5, 2000)  # I = 0.5e-5 - log(1e-5) = 11.51 nats
        >>> round(ksg(x, y, k=5), 1), round(ksg_lnc(x, y, k=5), 1)
        (5.9, 11.3)
    """
    alpha = _check_alpha(alpha)
    prepared = _prepare_knn(x, y, k, workers, jitter, seed, "ksg_lnc")
    if prepared is None:
        return 0.0
    xa, ya, k, workers = prepared
    d = xa.shape[1] + ya.shape[1]
    if k < d:
        raise ValueError(
            f"ksg_lnc needs k >= d_x + d_y = {d} neighbours for its local PCA; got k={k}"
        )
    if alpha is None:
        alpha = _lnc_alpha(k, d)
    mi, idx, _ = _ksg_core(xa, ya, k, 2, workers, "ksg_lnc")
    z = np.hstack([xa, ya])
    # offsets of the k+1 returned rows; the sample's own row is zero and changes neither the
    # principal axes nor the box sizes (where the sample was not returned, eps = 0 and the
    # neighbourhood is degenerate, so the correction is skipped below)
    nb = z[idx] - z[:, None, :]
    log_ratio = _log_volume_ratio(nb)
    fire = np.isfinite(log_ratio) & (log_ratio < math.log(alpha))
    correction = -np.sum(log_ratio, where=fire) / xa.shape[0]
    return float(mi + correction)


# ---------------------------------------------------------------------------------------------
# Gaussian (CCA) closed form
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CCAFit:
    """Canonical correlation analysis of two samples, in float64 (see :func:`fit_cca`).

    Attributes:
        mean_x, mean_y: column means, ``(d_x,)`` and ``(d_y,)``.
        white_x, white_y: ``(d_x, r_x)`` and ``(d_y, r_y)`` maps such that
            ``(x - mean_x) @ white_x`` has identity sample covariance (``ddof=1``); ``r < d``
            when columns are (nearly) linear combinations of others.
        rho: the canonical correlations, descending, ``(min(r_x, r_y),)``.
        u, vt: ``(r_x, m)``, ``(m, r_y)``: the whitened cross-covariance is
            ``u @ diag(rho) @ vt``.
    """

    mean_x: np.ndarray
    mean_y: np.ndarray
    white_x: np.ndarray
    white_y: np.ndarray
    rho: np.ndarray
    u: np.ndarray
    vt: np.ndarray


def _whitening(a: np.ndarray, min_eig: float | None) -> tuple[np.ndarray, np.ndarray]:
    """For centred ``a`` (n, d): ``(P, Q)`` with ``a @ P = Q``, ``Q`` (n, r) orthonormal.

    Columns are standardised, then ``a = Q0 R`` (QR) and ``R = U S V^T``: ``Q = Q0 U[:, :r]``
    and ``P = V[:, :r] / S[:r]`` (scaled back). ``r`` is the numerical rank when ``min_eig`` is
    ``None``; otherwise directions whose eigenvalue of the correlation matrix is below
    ``min_eig * max(1, largest eigenvalue)`` are left out too (near-duplicate columns).
    """
    sd = a.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    q, r = np.linalg.qr(a / sd)
    u, s, vt = np.linalg.svd(r)
    if min_eig is None:
        keep = s > s[0] * max(a.shape) * np.finfo(np.float64).eps
    else:
        eig = s**2 / max(1, a.shape[0] - 1)
        keep = eig > min_eig * max(1.0, float(eig.max()))
    return (vt[keep].T / s[keep]) / sd[:, None], q @ u[:, keep]


def oas_shrinkage(z: np.ndarray) -> float:
    """The Oracle Approximating Shrinkage intensity (Chen, Wiesel, Eldar & Hero 2010) for the
    correlation matrix of ``z`` (n, p): the weight of the identity in ``(1 - a) R + a I``.

    Uses the same closed form as scikit-learn's ``oas`` (on standardised columns, so the target
    is the identity). Tends to 0 as n grows; close to 1 when p is large against n.
    """
    n, p = z.shape
    sd = z.std(axis=0)
    zs = (z - z.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    cov = zs.T @ zs / n
    mu = np.trace(cov) / p
    alpha = float(np.mean(cov**2))
    num = alpha + mu**2
    den = (n + 1) * (alpha - mu**2 / p)
    return 1.0 if den <= 0 else float(min(num / den, 1.0))


def joint_correlation(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Means ``(d_x + d_y,)``, standard deviations (``ddof=1``; 1 for constant columns) and the
    correlation matrix of ``[x, y]``: what :func:`shrunk_cca` needs."""
    z = np.hstack([x, y])
    mean = z.mean(axis=0)
    zc = z - mean
    sd = np.sqrt((zc**2).sum(axis=0) / max(1, z.shape[0] - 1))
    sd = np.where(sd > 0, sd, 1.0)
    zs = zc / sd
    r = zs.T @ zs / max(1, z.shape[0] - 1)
    return mean, sd, r


#: smallest eigenvalue :func:`shrunk_cca` lets a thresholded correlation matrix have
THRESHOLD_MIN_EIG = 0.01


def shrunk_cca(
    mean: np.ndarray,
    sd: np.ndarray,
    r: np.ndarray,
    dx: int,
    shrinkage: float,
    threshold: float = 0.0,
    rank: int | None = None,
) -> CCAFit:
    """CCA of the correlation matrix ``r`` shrunk towards the identity, ``(1 - a) r + a I``
    (``mean``, ``sd``, ``r`` from :func:`joint_correlation`; ``dx`` columns belong to x).

    ``threshold`` ``t`` > 0 first sets the off-diagonal correlations with ``|r| < t`` to zero
    (hard thresholding, Bickel & Levina 2008): when few pairs of columns are correlated, the
    many small sample correlations are noise (about ``1/sqrt(n)`` each) that adds up to a
    spurious dependence in high dimension, while shrinkage would also shrink the real ones.
    ``rank``: keep only the largest ``rank`` canonical correlations (the others set to 0): a
    low-rank fit, for dependence carried by few directions.

    A thresholded correlation matrix need not be positive definite; when its smallest eigenvalue
    is below :data:`THRESHOLD_MIN_EIG`, the shrinkage weight is raised to the least that lifts
    it there (an indefinite matrix would give canonical correlations of 1 and an exploding
    critic)."""
    return _keep_rank(shrunk_cca_path(mean, sd, r, dx, (shrinkage,), threshold)[0], rank)


def _keep_rank(fit: CCAFit, rank: int | None) -> CCAFit:
    """``fit`` with only its ``rank`` largest canonical correlations (``None``: all)."""
    if rank is None:
        return fit
    return replace(fit, rho=np.where(np.arange(fit.rho.shape[0]) < rank, fit.rho, 0.0))


def shrunk_cca_path(
    mean: np.ndarray, sd: np.ndarray, r: np.ndarray, dx: int, shrinkages: Sequence[float], threshold: float = 0.0
) -> list[CCAFit]:
    """:func:`shrunk_cca` for several shrinkage weights at once (no rank cut), one eigen
    decomposition per block for all of them: the blocks of ``(1 - a) R + a I`` have the
    eigenvectors of ``R``'s blocks and eigenvalues ``(1 - a) λ + a``."""
    if threshold > 0.0:
        r = np.where((np.abs(r) < threshold) & ~np.eye(r.shape[0], dtype=bool), 0.0, r)
        lam = float(np.linalg.eigvalsh(r)[0])
        floor = (THRESHOLD_MIN_EIG - lam) / (1.0 - lam) if lam < THRESHOLD_MIN_EIG else 0.0
    else:
        floor = 0.0
    lam_x, vec_x = np.linalg.eigh(r[:dx, :dx])
    lam_y, vec_y = np.linalg.eigh(r[dx:, dx:])
    cross = vec_x.T @ r[:dx, dx:] @ vec_y  # the cross block in the blocks' eigenbases

    def inv_sqrt(lam: np.ndarray, a: float) -> np.ndarray:  # diag of P^T block(a) P = I
        lam = (1.0 - a) * lam + a
        return 1.0 / np.sqrt(np.maximum(lam, 1e-12 * max(1.0, float(lam.max()))))

    fits = []
    for a in shrinkages:
        a = max(float(a), floor)
        sx, sy = inv_sqrt(lam_x, a), inv_sqrt(lam_y, a)
        u, rho, vt = np.linalg.svd((1.0 - a) * (sx[:, None] * cross * sy[None, :]), full_matrices=False)
        wx, wy = vec_x * sx, vec_y * sy
        fits.append(CCAFit(mean[:dx], mean[dx:], wx / sd[:dx, None], wy / sd[dx:, None], rho, u, vt))
    return fits


def fit_cca(
    x: np.ndarray,
    y: np.ndarray,
    min_eig: float | None = None,
    shrinkage: float | str | None = None,
    threshold: float = 0.0,
    rank: int | None = None,
) -> CCAFit:
    """Canonical correlation analysis of ``x`` (n, d_x) and ``y`` (n, d_y), float64.

    The single implementation of the Gaussian closed form: :func:`gaussian_mi` takes its MI,
    ``-1/2 sum log(1 - rho^2)``, and :class:`~neuralmi.critics.GaussianCritic` its log density
    ratio. Numerics: orthonormal bases by QR (no covariance matrix is formed), accurate for
    correlations near 1. ``min_eig``: see :func:`_whitening`.

    ``shrinkage``: ``None`` (the sample covariance), a weight ``a`` in [0, 1], or ``"oas"`` (the
    Oracle Approximating Shrinkage weight of the joint correlation matrix, :func:`oas_shrinkage`):
    the joint correlation matrix becomes ``(1 - a) R + a I``. In high dimension at small n the
    sample canonical correlations are biased upwards (a 100-dimensional pair fitted on 700 rows
    looks strongly dependent even when independent), and a critic built on them overfits;
    shrinkage pulls them towards 0. ``threshold``: cross-correlations below it in absolute value
    are set to zero first, and ``rank`` keeps only the largest canonical correlations (see
    :func:`shrunk_cca`).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    a = 0.0
    if shrinkage is not None:
        a = oas_shrinkage(np.hstack([x, y])) if shrinkage == "oas" else float(shrinkage)
        if not 0.0 <= a <= 1.0:
            raise ValueError(f"shrinkage must be 'oas', None or in [0, 1]; got {shrinkage!r}")
    if a > 0.0 or threshold > 0.0:
        return shrunk_cca(*joint_correlation(x, y), x.shape[1], a, threshold, rank)
    mx, my = x.mean(axis=0), y.mean(axis=0)
    px, qx = _whitening(x - mx, min_eig)
    py, qy = _whitening(y - my, min_eig)
    u, rho, vt = np.linalg.svd(qx.T @ qy, full_matrices=False)
    scale = math.sqrt(max(1, x.shape[0] - 1))
    return _keep_rank(CCAFit(mx, my, px * scale, py * scale, rho, u, vt), rank)


def _warn_rank(fit: CCAFit, dx: int, dy: int) -> None:
    for name, d, white in (("x", dx, fit.white_x), ("y", dy, fit.white_y)):
        rank = white.shape[1]
        if rank < d:
            warnings.warn(
                f"gaussian_mi: the columns of {name} span only {rank} of {d} dimensions (some are "
                f"linear combinations of others, e.g. a duplicated column); the MI is computed on the "
                f"{rank}-dimensional column space",
                DependentColumnsWarning,
                stacklevel=4,
            )


def gaussian_mi(x: Any, y: Any) -> float:
    r"""Mutual information of the Gaussian fitted to the samples (the CCA estimator), in nats.

    With the sample covariance :math:`S = \begin{pmatrix} S_{xx} & S_{xy}\\ S_{yx} &
    S_{yy}\end{pmatrix}`,

    .. math::
        \hat I = \tfrac12\left(\log\det S_{xx} + \log\det S_{yy} - \log\det S\right)
               = -\tfrac12 \sum_i \log(1 - \rho_i^2),

    where :math:`\rho_i` are the sample canonical correlations. This *is* the CCA estimator, so
    there is no separate ``cca_mi``. It is exact for jointly Gaussian data (up to sampling
    error), and for other data a lower bound in the large-sample limit on the MI of the
    Gaussian with the same covariance, i.e. it sees only linear dependence.

    Numerics: float64; the canonical correlations are the singular values of
    :math:`Q_x^\top Q_y`, with :math:`Q_x, Q_y` orthonormal bases of the centred samples (QR),
    which avoids forming covariance matrices and is accurate even for correlations near 1.
    The result is exactly invariant (to rounding) under invertible affine maps of x or y.

    Degenerate input: constant columns are dropped with a :class:`ConstantColumnWarning` (MI 0
    if all of x or all of y are constant). Linearly dependent columns (a duplicated column, a
    sum of others) give a :class:`DependentColumnsWarning` and the MI of the column space they
    span (the same MI: x is an invertible linear image of it). An exact linear relation
    between x and y (a canonical correlation of 1, infinite Gaussian MI) raises a ``ValueError``.

    Args:
        x: samples of X, shape ``(n, d_x)``.
        y: samples of Y, shape ``(n, d_y)``.

    Returns:
        The estimate in nats (a Python float, >= 0).

    Raises:
        ValueError: as :func:`ksg`, ``n < d_x + d_y + 1``, or x and y exactly linearly related.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x = rng.standard_normal((100_000, 2))
        >>> y = 0.6 * x + 0.8 * rng.standard_normal((100_000, 2))
        >>> round(gaussian_mi(x, y), 3)  # truth: -(2/2) * log(1 - 0.36) = 0.446
        0.444
    """
    return _gaussian(x, y)[0]


def _gaussian(x: Any, y: Any) -> tuple[float, float]:
    r""":func:`gaussian_mi` and its asymptotic standard error for jointly Gaussian data,
    :math:`\sqrt{\sum_i \rho_i^2 / n}` (delta method with
    :math:`\operatorname{Var}\hat\rho_i \approx (1-\rho_i^2)^2/n`); it does not cover the
    estimator's small upward bias, nor non-Gaussian data."""
    xa, ya = check_pair(x, y, min_samples=2)
    xa = _drop_constant(xa, "x", "gaussian_mi", stacklevel=4)
    ya = _drop_constant(ya, "y", "gaussian_mi", stacklevel=4)
    if xa.shape[1] == 0 or ya.shape[1] == 0:
        return 0.0, 0.0
    n, dx, dy = xa.shape[0], xa.shape[1], ya.shape[1]
    if n < dx + dy + 1:
        raise ValueError(
            f"gaussian_mi needs n >= d_x + d_y + 1 = {dx + dy + 1} samples for a non-singular "
            f"covariance; got n={n}"
        )
    fit = fit_cca(xa, ya)
    _warn_rank(fit, dx, dy)
    rho = fit.rho
    one_minus = (1.0 - rho) * (1.0 + rho)
    # singular joint covariance: x and y exactly linearly related (within rounding)
    if np.any(one_minus <= 4.0 * max(n, dx + dy) * np.finfo(np.float64).eps):
        raise ValueError(
            "x and y are exactly linearly related (a canonical correlation is 1, the joint "
            "covariance is singular): the Gaussian MI is infinite"
        )
    return float(-0.5 * np.sum(np.log(one_minus))), float(np.sqrt(np.sum(rho**2) / n))


# ---------------------------------------------------------------------------------------------
# Histogram (plug-in) estimator
# ---------------------------------------------------------------------------------------------

_BIN_STRATEGIES = ("quantile", "uniform")
_MAX_BINNED_DIM = 3
_MAX_BINNED_JOINT_DIM = 4


def _default_bins(n: int, d: int) -> int:
    """At least ~10 samples per joint cell on average: floor((n/10)^(1/d)), at least 2."""
    return max(2, int(math.floor((n / 10.0) ** (1.0 / d) + 1e-9)))


def _bin_codes(a: np.ndarray, bins: int, strategy: str) -> np.ndarray:
    """One integer code per row identifying its cell, dense in ``[0, #occupied cells)``."""
    codes = np.zeros(a.shape[0], dtype=np.int64)
    for j in range(a.shape[1]):
        col = a[:, j]
        if strategy == "uniform":
            lo, hi = col.min(), col.max()
            idx = np.floor((col - lo) / (hi - lo) * bins).astype(np.int64)
            np.clip(idx, 0, bins - 1, out=idx)
        else:  # equal frequency: cut at the interior quantiles; ties stay in one bin
            edges = np.quantile(col, np.arange(1, bins) / bins)
            idx = np.searchsorted(edges, col, side="right").astype(np.int64)
        # re-number the occupied cells densely so that codes never overflow (<= n)
        codes = np.unique(codes * bins + idx, return_inverse=True)[1].reshape(-1)
    return codes


def _entropy_from_codes(codes: np.ndarray) -> tuple[float, int]:
    """Plug-in entropy (nats) of the empirical distribution of ``codes``, and #occupied cells."""
    _, counts = np.unique(codes, return_counts=True)
    n = codes.shape[0]
    return float(math.log(n) - np.dot(counts, np.log(counts)) / n), int(counts.size)


def binned_mi(
    x: Any,
    y: Any,
    bins: int | None = None,
    strategy: str = "quantile",
    miller_madow: bool = False,
) -> float:
    r"""Plug-in (histogram) estimate of I(X; Y) in nats, for low-dimensional X and Y.

    Every column is cut into ``bins`` intervals, equal-frequency (``strategy="quantile"``,
    the default: robust to outliers, and invariant under monotone maps of each column) or
    equal-width between the column's min and max (``"uniform"``). With the empirical cell
    frequencies,

    .. math:: \hat I = \hat H(X) + \hat H(Y) - \hat H(X, Y), \qquad
              \hat H = -\sum_c \hat p_c \log \hat p_c .

    The plug-in estimate is biased upwards for finite n (roughly
    :math:`(m_{xy} - m_x - m_y + 1) / 2n` for :math:`m` occupied cells). ``miller_madow=True``
    adds the Miller-Madow correction :math:`(m - 1) / 2n` to each entropy, i.e. it adds
    :math:`(m_x + m_y - m_{xy} - 1) / 2n` to the MI; the result may then be slightly negative.
    The discretisation itself loses information (data processing), so for continuous data the
    estimate converges to the MI of the binned variables, which is below the true MI.

    Args:
        x: samples of X, shape ``(n, d_x)`` with ``d_x <= 3``.
        y: samples of Y, shape ``(n, d_y)`` with ``d_y <= 3``, and ``d_x + d_y <= 4``.
        bins: number of bins per column, >= 2. Default ``floor((n / 10) ** (1 / (d_x + d_y)))``
            (at least 2): about 10 samples per joint cell on average.
        strategy: ``"quantile"`` (equal frequency) or ``"uniform"`` (equal width).
        miller_madow: apply the Miller-Madow bias correction.

    Returns:
        The estimate in nats (a Python float).

    Raises:
        ValueError: as :func:`ksg`, too many dimensions, bins < 2, or an unknown strategy.

    Example:
        >>> x = np.repeat(np.arange(4.0), 25)
        >>> abs(binned_mi(x, x, bins=4, strategy="uniform") - math.log(4)) < 1e-12
        True
    """
    strategy = check_choice(strategy, "strategy", _BIN_STRATEGIES)
    if not isinstance(miller_madow, (bool, np.bool_)):
        raise TypeError(f"miller_madow must be a bool; got {type(miller_madow).__name__}")
    xa, ya = check_pair(x, y, min_samples=2)
    n, dx, dy = xa.shape[0], xa.shape[1], ya.shape[1]
    if dx > _MAX_BINNED_DIM or dy > _MAX_BINNED_DIM or dx + dy > _MAX_BINNED_JOINT_DIM:
        raise ValueError(
            f"binned_mi supports d_x, d_y <= {_MAX_BINNED_DIM} and d_x + d_y <= "
            f"{_MAX_BINNED_JOINT_DIM} (histograms need exponentially many samples in the "
            f"dimension); got d_x={dx}, d_y={dy}. Use ksg or a neural estimator instead"
        )
    if bins is None:
        bins = _default_bins(n, dx + dy)
    else:
        bins = check_positive_int(bins, "bins", minimum=2)
    xa = _drop_constant(xa, "x", "binned_mi", stacklevel=3)
    ya = _drop_constant(ya, "y", "binned_mi", stacklevel=3)
    if xa.shape[1] == 0 or ya.shape[1] == 0:
        return 0.0
    cx = _bin_codes(xa, bins, strategy)
    cy = _bin_codes(ya, bins, strategy)
    cxy = cx * (int(cy.max()) + 1) + cy
    hx, mx = _entropy_from_codes(cx)
    hy, my = _entropy_from_codes(cy)
    hxy, mxy = _entropy_from_codes(cxy)
    mi = hx + hy - hxy
    if miller_madow:
        mi += (mx + my - mxy - 1) / (2.0 * n)
    return float(mi)


# ---------------------------------------------------------------------------------------------
# Class twins (scikit-learn style); each calls the function above, no second copy of the maths
# ---------------------------------------------------------------------------------------------


_E = TypeVar("_E", bound="_MIEstimator")


class _MIEstimator(SklearnTagsMixin):
    """Base of the class twins: ``fit(x, y) -> self`` stores the estimate in ``mi_`` (nats)."""

    _mi: float | None = None
    #: standard error of ``mi_`` where the estimator gives one (KSG, Gaussian), else ``None``
    stderr_: float | None = None

    @property
    def mi_(self) -> float:
        """The estimate of the last :meth:`fit`, in nats."""
        if self._mi is None:
            raise AttributeError(f"{type(self).__name__} is not fitted yet; call fit(x, y) first")
        return self._mi

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor arguments, as a dict (``deep`` is accepted for scikit-learn)."""
        raise NotImplementedError

    def set_params(self: _E, **params: Any) -> _E:
        """Change constructor arguments (validated as in the constructor); returns ``self``.
        With :meth:`get_params` this makes ``sklearn.base.clone`` work."""
        current = self.get_params()
        unknown = sorted(set(params) - set(current))
        if unknown:
            raise ValueError(f"invalid parameter(s) {', '.join(unknown)} for {type(self).__name__}; valid: {', '.join(current) or 'none'}")
        type(self).__init__(self, **{**current, **params})
        return self

    def _estimate(self, x: Any, y: Any) -> float | tuple[float, float]:
        raise NotImplementedError

    def fit(self: _E, x: Any, y: Any) -> _E:
        """Estimate I(X; Y) from paired samples ``x`` (n, d_x) and ``y`` (n, d_y); return self."""
        out = self._estimate(x, y)
        if isinstance(out, tuple):
            self._mi, self.stderr_ = out
        else:
            self._mi = out
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{key}={value!r}" for key, value in self.get_params().items())
        return f"{type(self).__name__}({args})"


class KSG(_MIEstimator):
    """Class twin of :func:`ksg` (same arguments); ``KSG(k=3).fit(x, y).mi_``."""

    def __init__(
        self,
        k: int = 3,
        variant: int = 1,
        workers: int = -1,
        jitter: float = 0.0,
        seed: int | None = 0,
    ) -> None:
        self.k = check_positive_int(k, "k", minimum=1)
        self.variant = _check_variant(variant)
        self.workers = _check_workers(workers)
        self.jitter = _check_nonneg_float(jitter, "jitter")
        self.seed = _check_seed(seed)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {
            "k": self.k,
            "variant": self.variant,
            "workers": self.workers,
            "jitter": self.jitter,
            "seed": self.seed,
        }

    def _estimate(self, x: Any, y: Any) -> tuple[float, float]:
        p = self.get_params()
        return _ksg(x, y, p["k"], p["variant"], p["workers"], p["jitter"], p["seed"])


class KSGLNC(_MIEstimator):
    """Class twin of :func:`ksg_lnc` (same arguments); ``KSGLNC(k=5).fit(x, y).mi_``."""

    def __init__(
        self,
        k: int = 5,
        alpha: float | None = None,
        workers: int = -1,
        jitter: float = 0.0,
        seed: int | None = 0,
    ) -> None:
        self.k = check_positive_int(k, "k", minimum=1)
        self.alpha = _check_alpha(alpha)
        self.workers = _check_workers(workers)
        self.jitter = _check_nonneg_float(jitter, "jitter")
        self.seed = _check_seed(seed)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {
            "k": self.k,
            "alpha": self.alpha,
            "workers": self.workers,
            "jitter": self.jitter,
            "seed": self.seed,
        }

    def _estimate(self, x: Any, y: Any) -> float:
        return ksg_lnc(x, y, **self.get_params())


class GaussianMI(_MIEstimator):
    """Class twin of :func:`gaussian_mi`; ``GaussianMI().fit(x, y).mi_``."""

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {}

    def _estimate(self, x: Any, y: Any) -> tuple[float, float]:
        return _gaussian(x, y)


class BinnedMI(_MIEstimator):
    """Class twin of :func:`binned_mi` (same arguments); ``BinnedMI(bins=10).fit(x, y).mi_``."""

    def __init__(
        self, bins: int | None = None, strategy: str = "quantile", miller_madow: bool = False
    ) -> None:
        self.bins = None if bins is None else check_positive_int(bins, "bins", minimum=2)
        self.strategy = check_choice(strategy, "strategy", _BIN_STRATEGIES)
        if not isinstance(miller_madow, (bool, np.bool_)):
            raise TypeError(f"miller_madow must be a bool; got {type(miller_madow).__name__}")
        self.miller_madow = bool(miller_madow)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"bins": self.bins, "strategy": self.strategy, "miller_madow": self.miller_madow}

    def _estimate(self, x: Any, y: Any) -> float:
        return binned_mi(x, y, **self.get_params())


# ---------------------------------------------------------------------------------------------
# Conditional MI: Frenzel-Pompe (KSG analogue) and the Gaussian closed form
# ---------------------------------------------------------------------------------------------


def _check_z(z: Any, n: int) -> np.ndarray:
    """``z`` as float64 ``(n, d_z)``, or a ValueError/TypeError naming ``z``."""
    from neuralmi._validation import as_samples

    za = as_samples(z, "z")
    if za.shape[0] != n:
        raise ValueError(f"x, y and z must have the same number of samples (rows); got {n} and {za.shape[0]} (z)")
    return za


def _prepare_cmi(
    x: Any, y: Any, z: Any, estimator: str, k: Any = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Validate ``x``, ``y``, ``z`` (and ``k`` if given) and drop constant columns (with
    warnings); None means CMI 0."""
    xa, ya = check_pair(x, y, min_samples=2)
    za = _check_z(z, xa.shape[0])
    if k is not None:
        _check_k(k, xa.shape[0])
    xa = _drop_constant(xa, "x", estimator, stacklevel=5)
    ya = _drop_constant(ya, "y", estimator, stacklevel=5)
    if xa.shape[1] == 0 or ya.shape[1] == 0:
        return None
    kept, _, msg = drop_constant(za, "z", estimator)
    if msg is not None:  # a constant z conditions on nothing: I(X;Y|Z) = I(X;Y)
        msg = msg.replace(f"so {estimator} returns MI = 0", f"so {estimator} returns I(X;Y), conditioning on nothing")
        warnings.warn(msg, ConstantColumnWarning, stacklevel=4)
    return xa, ya, kept


def ksg_cmi(
    x: Any,
    y: Any,
    z: Any,
    k: int = 3,
    workers: int = -1,
    jitter: float = 0.0,
    seed: int | None = 0,
) -> float:
    r"""Frenzel-Pompe k-nearest-neighbour estimate of the conditional MI I(X; Y | Z), in nats.

    The KSG analogue for conditional MI (Frenzel & Pompe 2007; the estimator of NPEET's ``cmi``
    and infomeasure's KSG CMI). With max-norm distances, :math:`\epsilon_i` the distance from
    sample *i* to its *k*-th nearest neighbour in the joint (x, y, z) space, and
    :math:`n_{xz}(i)`, :math:`n_{yz}(i)`, :math:`n_z(i)` the numbers of other samples
    *strictly* closer than :math:`\epsilon_i` to sample *i* in the (x, z), (y, z) and z spaces,

    .. math:: \hat I = \psi(k) - \langle \psi(n_{xz}+1) + \psi(n_{yz}+1) - \psi(n_z+1) \rangle .

    Like KSG it is consistent, invariant under rescaling of a coordinate only through the
    max-norm (standardise coordinates of different units first), near zero when X and Y are
    conditionally independent (it can be slightly negative), and it degrades as the dimension
    of (x, y, z) grows: it under-estimates large CMI, and with many Z dimensions the
    neighbourhoods are wide and the estimate is biased (see ``docs/conditional.md``).

    With an all-constant ``z`` (after dropping constant columns) this is KSG estimator 1 of
    :func:`ksg` on ``x`` and ``y``, exactly.

    Computed on SciPy ``cKDTree`` s: one (k+1)-NN query in the joint space, one box count in each
    of the (x, z), (y, z) and z spaces; no Python loop over samples.

    Args:
        x, y, z: samples, ``(n, d_x)``, ``(n, d_y)``, ``(n, d_z)`` (1-D means one column).
        k: neighbours, ``1 <= k < n``.
        workers, jitter, seed: as in :func:`ksg` (jitter breaks ties in x, y and z).

    Returns:
        The estimate in nats (a Python float).

    Raises:
        ValueError: as :func:`ksg`, for ``z`` too (NaN/inf, other number of rows).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> z = rng.standard_normal(3000)
        >>> x = z + rng.standard_normal(3000); y = z + rng.standard_normal(3000)
        >>> round(ksg(x, y), 2), round(ksg_cmi(x, y, z), 2)   # I(X;Y) = 0.144, I(X;Y|Z) = 0
        (0.15, 0.01)
    """
    return _ksg_cmi(x, y, z, k, workers, jitter, seed)[0]


def _ksg_cmi(
    x: Any, y: Any, z: Any, k: Any, workers: Any, jitter: Any, seed: Any
) -> tuple[float, float]:
    """:func:`ksg_cmi` and the standard deviation of its per-sample terms over sqrt(n) (a rough
    guide, as for :func:`ksg`: the terms share neighbours)."""
    workers = _check_workers(workers)
    jitter = _check_nonneg_float(jitter, "jitter")
    seed = _check_seed(seed)
    prepared = _prepare_cmi(x, y, z, "ksg_cmi", k=k)
    if prepared is None:
        return 0.0, 0.0
    xa, ya, za = prepared
    k = int(k)
    if jitter > 0.0:
        rng = np.random.default_rng(seed)
        xa, ya = _jitter(xa, jitter, rng), _jitter(ya, jitter, rng)
        za = _jitter(za, jitter, rng) if za.shape[1] else za
    else:
        for a, name in ((xa, "x"), (ya, "y"), (za, "z")):
            _warn_ties(a, name, "ksg_cmi")
    terms = _ksg_cmi_terms(xa, ya, za, k, workers)
    return float(np.mean(terms)), float(np.std(terms, ddof=1) / math.sqrt(terms.shape[0]))


def _ksg_cmi_terms(xa: np.ndarray, ya: np.ndarray, za: np.ndarray, k: int, workers: int) -> np.ndarray:
    """The ``(n,)`` per-sample terms of the Frenzel-Pompe estimate (their mean is the estimate)."""
    n = xa.shape[0]
    joint = np.hstack([xa, ya, za])
    tree = cKDTree(joint, leafsize=_LEAFSIZE)
    order = tree.indices
    eps = np.empty(n)
    eps[order] = tree.query(joint[order], k=k + 1, p=np.inf, workers=workers)[0][:, k]
    dup = eps == 0.0
    if dup.any():
        warnings.warn(
            f"{int(dup.sum())} of {n} samples have at least k={k} exact duplicates in the joint "
            "space, so their k-NN radius is 0; ksg_cmi is biased on duplicated samples. Pass "
            "jitter=1e-10 (or larger) to break ties",
            TiedSamplesWarning,
            stacklevel=4,
        )
    r = np.nextafter(eps, 0.0)  # strictly inside: d < eps  <=>  d <= nextafter(eps, 0)
    c_xz = _count_within(np.hstack([xa, za]), r, workers)  # n_xz + 1 (the point itself)
    c_yz = _count_within(np.hstack([ya, za]), r, workers)
    c_z = _count_within(za, r, workers) if za.shape[1] else np.full(n, n, dtype=np.int64)
    for c in (c_xz, c_yz, c_z):
        c[dup] = 1
    return digamma(k) - digamma(c_xz) - digamma(c_yz) + digamma(c_z)


def _residualize(a: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """``a`` minus its least-squares projection on the orthonormal columns of ``basis``."""
    return a - basis @ (basis.T @ a)


def gaussian_cmi(x: Any, y: Any, z: Any) -> float:
    r"""Conditional MI I(X; Y | Z) of the Gaussian fitted to the samples, in nats (closed form).

    With the sample covariance :math:`S` of (x, y, z),

    .. math::
        \hat I = \tfrac12\left(\log\det S_{xz} + \log\det S_{yz} - \log\det S_{xyz}
                 - \log\det S_z\right) = -\tfrac12 \sum_i \log(1 - r_i^2),

    where :math:`r_i` are the sample *partial* canonical correlations of x and y given z: the
    canonical correlations (by :func:`fit_cca`, the one implementation of the Gaussian closed
    form) of the residuals of x and y after their least-squares regression on ``[1, z]``. Exact
    for jointly Gaussian data (up to sampling error); for other data it measures only the
    linear part of the conditional dependence. Invariant (to rounding) under invertible affine
    maps of x, y or z.

    Degenerate input: constant columns are dropped with a :class:`ConstantColumnWarning` (CMI 0
    for all-constant x or y; an all-constant z gives :func:`gaussian_mi`); a column of x or y
    that z determines exactly (a linear function of z) carries no information given z and is
    dropped with a :class:`DependentColumnsWarning`.

    Args:
        x, y, z: samples, ``(n, d_x)``, ``(n, d_y)``, ``(n, d_z)`` (1-D means one column).

    Returns:
        The estimate in nats (a Python float, >= 0).

    Raises:
        ValueError: as :func:`gaussian_mi`; ``n < d_x + d_y + d_z + 2``; z with NaN/inf or
            another number of rows.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> z = rng.standard_normal((100_000, 3))
        >>> e = rng.standard_normal((100_000, 2))
        >>> x = z.sum(1) + e[:, 0]; y = z[:, 0] - z[:, 1] + 0.6 * e[:, 0] + 0.8 * e[:, 1]
        >>> round(gaussian_cmi(x, y, z), 3)   # truth: -1/2 log(1 - 0.36) = 0.223
        0.224
    """
    return _gaussian_cmi(x, y, z)[0]


def _gaussian_cmi(x: Any, y: Any, z: Any) -> tuple[float, float]:
    """:func:`gaussian_cmi` and its asymptotic standard error ``sqrt(sum r_i^2 / (n - d_z))``
    (as for :func:`gaussian_mi`, with the residual degrees of freedom)."""
    prepared = _prepare_cmi(x, y, z, "gaussian_cmi")
    if prepared is None:
        return 0.0, 0.0
    xa, ya, za = prepared
    n, dx, dy, dz = xa.shape[0], xa.shape[1], ya.shape[1], za.shape[1]
    if n < dx + dy + dz + 2:
        raise ValueError(
            f"gaussian_cmi needs n >= d_x + d_y + d_z + 2 = {dx + dy + dz + 2} samples for a "
            f"non-singular covariance; got n={n}"
        )
    design = np.hstack([np.ones((n, 1)), za])
    sd = design.std(axis=0)
    sd[0] = 1.0
    q, r = np.linalg.qr(design / sd)
    diag = np.abs(np.diag(r))
    q = q[:, diag > diag.max() * max(design.shape) * np.finfo(np.float64).eps]
    residuals = []
    for a, name in ((xa, "x"), (ya, "y")):
        res = _residualize(a, q)
        explained = res.std(axis=0) <= 1e-10 * a.std(axis=0)
        if explained.any():
            warnings.warn(
                f"gaussian_cmi: {name} column(s) {np.flatnonzero(explained).tolist()} are linear "
                "functions of z and carry no information given z; they are dropped",
                DependentColumnsWarning,
                stacklevel=4,
            )
            res = res[:, ~explained]
        residuals.append(res)
    rx, ry = residuals
    if rx.shape[1] == 0 or ry.shape[1] == 0:
        return 0.0, 0.0
    fit = fit_cca(rx, ry)
    _warn_rank(fit, rx.shape[1], ry.shape[1])
    rho = fit.rho
    one_minus = (1.0 - rho) * (1.0 + rho)
    if np.any(one_minus <= 4.0 * max(n, dx + dy + dz) * np.finfo(np.float64).eps):
        raise ValueError(
            "x and y are exactly linearly related given z (a partial canonical correlation is "
            "1): the Gaussian conditional MI is infinite"
        )
    value = float(-0.5 * np.sum(np.log(one_minus)))
    return max(0.0, value), float(np.sqrt(np.sum(rho**2) / max(1, n - dz)))


# ---------------------------------------------------------------------------------------------
# Mixed (discrete-continuous) k-NN estimator of Gao, Kannan, Oh & Viswanath (2017)
# ---------------------------------------------------------------------------------------------


def mixed_ksg(x: Any, y: Any, k: int = 5, workers: int = -1) -> float:
    r"""The mixed k-NN estimate of I(X; Y) of Gao, Kannan, Oh & Viswanath (NeurIPS 2017), in nats.

    For discrete, continuous or mixed X and Y (a class label, counts, a variable with point
    masses), where KSG breaks on ties. With max-norm distances and :math:`\rho_i` the distance
    from sample *i* to its *k*-th nearest neighbour in the joint space:

    * :math:`\rho_i > 0`: :math:`\tilde k_i = k`, and :math:`n_x(i)`, :math:`n_y(i)` count the
      samples (the sample itself included) strictly closer than :math:`\rho_i` in x and in y;
    * :math:`\rho_i = 0` (sample *i* has at least k exact duplicates): :math:`\tilde k_i`,
      :math:`n_x(i)`, :math:`n_y(i)` count the samples (itself included) *equal* to it in
      (x, y), in x and in y;

    .. math:: \hat I = \langle \psi(\tilde k_i) + \log N - \psi(n_x(i)) - \psi(n_y(i)) \rangle .

    This follows the authors' released code (``wgao9/mixed_KSG``), with exact comparisons
    instead of its 1e-15 tolerances. On purely discrete data it is close to the plug-in
    estimate. (scikit-learn's ``mutual_info_classif`` uses a related but different k-NN
    estimator, Ross 2014, one feature at a time.)

    Args:
        x, y: samples, ``(n, d_x)`` and ``(n, d_y)`` (integer codes for categories).
        k: neighbours, ``1 <= k < n`` (the paper uses 5).
        workers: threads for the tree queries; ``-1`` uses all cores.

    Returns:
        The estimate in nats (a Python float; it can be slightly negative).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> c = rng.integers(0, 2, 4000)
        >>> x = 3.0 * c + rng.standard_normal(4000)   # two well-separated classes
        >>> round(mixed_ksg(x, c), 2)   # truth 0.527 (DiscreteContinuous(2, 1, spacing=3.0))
        0.53
    """
    return _mixed_ksg(x, y, k, workers)[0]


def _mixed_ksg(x: Any, y: Any, k: Any, workers: Any) -> tuple[float, float]:
    xa, ya = check_pair(x, y, min_samples=2)
    n = xa.shape[0]
    k = _check_k(k, n)
    workers = _check_workers(workers)
    xa = _drop_constant(xa, "x", "mixed_ksg", stacklevel=5)
    ya = _drop_constant(ya, "y", "mixed_ksg", stacklevel=5)
    if xa.shape[1] == 0 or ya.shape[1] == 0:
        return 0.0, 0.0
    dist, _ = _joint_knn(xa, ya, k, workers)
    rho = dist[:, k]
    ties = rho == 0.0
    r = np.where(ties, 0.0, np.nextafter(rho, 0.0))  # strictly inside, or exactly equal
    k_tilde = np.full(n, float(k))
    if ties.any():
        k_tilde[ties] = _count_within(np.hstack([xa, ya]), r, workers)[ties]
    nx = _count_within(xa, r, workers)
    ny = _count_within(ya, r, workers)
    terms = digamma(k_tilde) + math.log(n) - digamma(nx) - digamma(ny)
    return float(np.mean(terms)), float(np.std(terms, ddof=1) / math.sqrt(n))


class KSGCMI(SklearnTagsMixin):
    """Class twin of :func:`ksg_cmi` (same arguments); ``KSGCMI(k=3).fit(x, y, z).mi_``.

    ``mi_`` is the conditional MI I(X; Y | Z) in nats and ``stderr_`` the rough standard error of
    :func:`ksg_cmi`'s per-sample terms.
    """

    def __init__(self, k: int = 3, workers: int = -1, jitter: float = 0.0, seed: int | None = 0) -> None:
        self.k = check_positive_int(k, "k", minimum=1)
        self.workers = _check_workers(workers)
        self.jitter = _check_nonneg_float(jitter, "jitter")
        self.seed = _check_seed(seed)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"k": self.k, "workers": self.workers, "jitter": self.jitter, "seed": self.seed}

    def set_params(self, **params: Any) -> "KSGCMI":
        return _MIEstimator.set_params(self, **params)  # type: ignore[arg-type, return-value]

    def fit(self, x: Any, y: Any, z: Any) -> "KSGCMI":
        """Estimate I(X; Y | Z) from ``x`` (n, d_x), ``y`` (n, d_y), ``z`` (n, d_z); return self."""
        self.mi_, self.stderr_ = _ksg_cmi(x, y, z, **self.get_params())
        return self

    def __repr__(self) -> str:
        return _MIEstimator.__repr__(self)  # type: ignore[arg-type]


class GaussianCMI(SklearnTagsMixin):
    """Class twin of :func:`gaussian_cmi`; ``GaussianCMI().fit(x, y, z).mi_`` (with ``stderr_``)."""

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {}

    def set_params(self, **params: Any) -> "GaussianCMI":
        return _MIEstimator.set_params(self, **params)  # type: ignore[arg-type, return-value]

    def fit(self, x: Any, y: Any, z: Any) -> "GaussianCMI":
        """Estimate I(X; Y | Z) from ``x``, ``y``, ``z``; return self."""
        self.mi_, self.stderr_ = _gaussian_cmi(x, y, z)
        return self

    def __repr__(self) -> str:
        return "GaussianCMI()"


class MixedKSG(_MIEstimator):
    """Class twin of :func:`mixed_ksg` (same arguments); ``MixedKSG(k=5).fit(x, y).mi_``."""

    def __init__(self, k: int = 5, workers: int = -1) -> None:
        self.k = check_positive_int(k, "k", minimum=1)
        self.workers = _check_workers(workers)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"k": self.k, "workers": self.workers}

    def _estimate(self, x: Any, y: Any) -> tuple[float, float]:
        return _mixed_ksg(x, y, self.k, self.workers)
