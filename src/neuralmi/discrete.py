r"""Mutual information with a discrete side: class labels, categories, counts.

``neuralmi.estimate(x, y, discrete="y")`` (or ``"x"``, ``"xy"``) lands here
(:func:`estimate_discrete`). The discrete side may hold integers, strings, booleans or any
hashable values (a pandas column of strings included); several columns form one joint label.

Methods (``method=``):

``"classifier"`` (what the default ``"mine"`` means with one discrete side)
    A classifier :math:`q(y \mid x)` — a softmax whose logits are linear discriminant analysis
    fitted on the training rows plus an MLP residual that starts at zero — trained by cross
    entropy with the same split, early stopping and cross-fold read-out as every neural estimate.
    On each held-out row, :math:`t_i = \log q(y_i\mid x_i) - \log \hat p(y_i) + (K-1)/2n` with
    :math:`\hat p` the label frequencies of all rows (their Miller–Madow entropy); the estimate
    is the mean, :math:`\hat H(Y) - \mathrm{CE}`. Since :math:`E[\log q(y\mid x)] = -H(Y\mid X) -
    E_x\,\mathrm{KL}(p(\cdot\mid x)\,\|\,q(\cdot\mid x))`, it is a lower bound in expectation
    up to the O(1/n²) bias of the corrected entropy (the Barber–Agakov bound; the DV bound's
    optimal critic for a discrete Y is exactly :math:`\log p(y\mid x)/p(y)`). Its standard
    error is that of the mean of :math:`t_i` on the held-out rows.

``"plugin"`` (what ``"mine"`` means when both sides are discrete)
    The plug-in MI of the contingency table with a bias correction: ``correction="jackknife"``
    (default, leave-one-out over the rows, computed in closed form per cell),
    ``"miller-madow"`` or ``None``; standard error by the delta method. :func:`plugin_mi`.

``"mixed_ksg"`` (also ``"ksg"``)
    The mixed k-NN estimator of Gao et al. (2017), :func:`neuralmi.mixed_ksg`, on the codes.

Any other neural method (``"nwj"``, ``"infonce"``, ...) runs :func:`neuralmi.estimate` on the
one-hot encoding of the discrete side(s).

Bad input: NaN/None in a discrete side, or in the other side, is a ``ValueError``; a discrete
side with a single value gives MI 0 with a :class:`~neuralmi.exceptions.ConstantColumnWarning`;
more categories than the samples allow (more than one per ``MIN_PER_CATEGORY`` = 5 rows on
average, or more than :data:`MAX_CATEGORIES`) is a ``ValueError`` saying so.
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from dataclasses import asdict, replace
from typing import Any

import numpy as np
import torch
from scipy.special import xlogy
from torch import Tensor, nn

from . import exceptions as W
from ._validation import as_samples, check_choice, column_names
from .critics import mlp
from .objectives import Evaluation
from .result import MIResult

__all__ = [
    "estimate_discrete",
    "estimate_discrete_conditional",
    "plugin_mi",
    "encode_labels",
    "detect_discrete",
    "resolve_discrete",
    "mark_detected",
    "DISCRETE_CHOICES",
    "DETECT_MAX_CATEGORIES",
    "DETECT_MIN_PER_CATEGORY",
    "ClassifierMI",
    "SparseTableWarning",
    "DISCRETE_SIDES",
    "MIN_PER_CATEGORY",
    "MAX_CATEGORIES",
    "CORRECTIONS",
]

DISCRETE_SIDES = ("x", "y", "xy")
#: fewest samples per category on average: a discrete side with more categories than
#: ``n / MIN_PER_CATEGORY`` is refused (its MI cannot be estimated from so few repeats)
MIN_PER_CATEGORY = 5
#: most categories a discrete side may have (a softmax over more is not what this is for)
MAX_CATEGORIES = 1000
CORRECTIONS = ("jackknife", "miller-madow", None)


def _check_correction(correction: Any) -> str | None:
    if correction is not None and correction not in ("jackknife", "miller-madow"):
        raise ValueError(f"unknown correction {correction!r}; choose one of: 'jackknife', 'miller-madow', None")
    return correction


class SparseTableWarning(W.NeuralMIWarning):
    """The contingency table has many cells for the number of samples: the plug-in MI (even
    bias-corrected) is unreliable."""


# ---------------------------------------------------------------------------------------------
# Labels
# ---------------------------------------------------------------------------------------------


def _as_label_array(a: Any, name: str) -> np.ndarray:
    """A 2-D object/number array of the raw values of ``a`` (pandas, torch, lists, arrays)."""
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(a, (pd.DataFrame, pd.Series)):
        if a.isna().to_numpy().any():
            raise ValueError(f"{name} (discrete) contains missing values (NaN/None); remove or impute them")
        arr = a.to_numpy()
    else:
        torch_mod = sys.modules.get("torch")
        if torch_mod is not None and isinstance(a, torch_mod.Tensor):
            arr = a.detach().cpu().numpy()
        elif isinstance(a, (str, bytes)):
            raise TypeError(f"{name} must be an array of labels, not a single string")
        else:
            arr = np.asarray(a)
    if arr.ndim == 0:
        raise ValueError(f"{name} must be a 1-D or 2-D array of labels; got a scalar")
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 1-D or 2-D; got shape {tuple(arr.shape)}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} has no samples or no columns (shape {tuple(arr.shape)})")
    if arr.dtype.kind == "c":
        raise TypeError(f"{name} must not be complex")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError(f"{name} (discrete) contains NaN or infinite values; remove or impute them")
    if arr.dtype == object:
        for v in arr.ravel():
            if v is None or (isinstance(v, float) and not math.isfinite(v)):
                raise ValueError(f"{name} (discrete) contains missing values (NaN/None); remove or impute them")
    return arr


def encode_labels(a: Any, name: str = "y") -> tuple[np.ndarray, list[Any]]:
    """Integer codes ``(n,)`` in ``0..K-1`` for the rows of a discrete variable, and the ``K``
    categories (values, or tuples of values for several columns), in sorted order.

    Accepts integers, floats, booleans, strings, mixed objects, pandas and torch inputs; several
    columns form one joint label.

    Raises:
        ValueError: missing values (NaN/None), bad shapes.
    """
    arr = _as_label_array(a, name)
    if arr.shape[1] == 1:
        col = arr[:, 0]
        try:
            cats, codes = np.unique(col, return_inverse=True)
        except TypeError:  # unorderable mix (e.g. ints and strings): order by text
            text = np.array([f"{type(v).__name__}:{v}" for v in col])
            _, first, codes = np.unique(text, return_index=True, return_inverse=True)
            cats = col[first]
        return codes.reshape(-1).astype(np.int64), list(cats.tolist())
    text_rows = [tuple(row) for row in arr.tolist()]
    index: dict[Any, int] = {}
    codes = np.empty(len(text_rows), dtype=np.int64)
    for i, row in enumerate(text_rows):
        codes[i] = index.setdefault(row, len(index))
    order = sorted(index, key=lambda r: tuple(f"{type(v).__name__}:{v}" for v in r))
    remap = np.empty(len(index), dtype=np.int64)
    for new, row in enumerate(order):
        remap[index[row]] = new
    return remap[codes], order


def _too_many_categories(k: int, n: int) -> str | None:
    """Why ``k`` categories among ``n`` samples are too many to estimate MI from (None when they
    are not): more than one per :data:`MIN_PER_CATEGORY` samples, or more than
    :data:`MAX_CATEGORIES`."""
    limit = min(MAX_CATEGORIES, n // MIN_PER_CATEGORY)
    if k <= limit:
        return None
    return (
        f"{k} distinct values among {n} samples: too many categories to estimate MI from (at most {limit}: "
        f"{MIN_PER_CATEGORY} samples per category on average, and at most {MAX_CATEGORIES})"
    )


def _check_categories(k: int, n: int, name: str) -> None:
    too_many = _too_many_categories(k, n)
    if too_many:
        raise ValueError(
            f"{name} has {too_many}. If {name} is continuous, do not declare it discrete; otherwise merge "
            "rare categories or collect more samples"
        )


#: ``discrete=`` of :func:`neuralmi.estimate`: detect (default), no discrete side, or the sides
DISCRETE_CHOICES = ("auto", "none", "x", "y", "xy")
#: detection: a numeric side is discrete when it has at most this many distinct values ...
DETECT_MAX_CATEGORIES = 20
#: ... and at least this many rows per value on average (twice the :data:`MIN_PER_CATEGORY`
#: that a declared side needs: detection is the cautious one)
DETECT_MIN_PER_CATEGORY = 10
#: with ``z``, these options belong to the continuous conditional estimators
_CONTINUOUS_CONDITIONAL_OPTIONS = ("strategy", "neighbours", "correction", "residualize")


def _numbers_kind(values: np.ndarray) -> str:
    """"integer", "float" or "text" for an object/string array, by its values."""
    flat = values.ravel()
    if values.dtype == object:
        if all(isinstance(v, (bool, int, np.integer, np.bool_)) for v in flat):
            return "integer"
        if all(isinstance(v, (float, np.floating, int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in flat):
            return "float"
    try:
        values.astype(np.float64)  # text that reads as numbers is read as numbers, as before
    except (TypeError, ValueError):
        return "text"
    return "float"


def _side_kind(a: Any) -> tuple[str, np.ndarray | None]:
    """How detection sees one side: ``("text", arr)`` (values that cannot be read as numbers,
    or a pandas categorical), ``("integer", arr)`` (integers or booleans), ``("float", None)``
    (floats: never discrete), or ``("", None)`` (not an array of samples: left to the estimator
    to refuse). Floats are classified from the dtype alone, without a copy."""
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(a, (pd.Series, pd.DataFrame)):
        dtypes = [a.dtype] if isinstance(a, pd.Series) else list(a.dtypes)
        if any(isinstance(dt, pd.CategoricalDtype) for dt in dtypes):
            try:
                return "text", _as_label_array(a, "x")
            except ValueError:
                return "text", None
            except TypeError:
                return "", None
        if dtypes and all(pd.api.types.is_float_dtype(dt) for dt in dtypes):
            return "float", None
    torch_mod = sys.modules.get("torch")
    if torch_mod is not None and isinstance(a, torch_mod.Tensor):
        if a.is_floating_point() or a.is_complex():
            return "float", None
    elif isinstance(a, np.ndarray) and a.dtype.kind in "fc":
        return "float", None
    try:
        arr = _as_label_array(a, "x")
    except ValueError as exc:  # missing labels: the discrete estimator names them
        return ("text", None) if "missing values" in str(exc) else ("", None)
    except TypeError:
        return "", None
    kind = arr.dtype.kind
    if kind in "biu":
        return "integer", arr
    if kind in "OUSV":
        found = "text" if kind == "V" else _numbers_kind(arr)
        return found, arr if found != "float" else None
    return "float", None


def _text_cells(arr: np.ndarray) -> tuple[Any, int, int]:
    """The first value of ``arr`` that does not read as a number (else the first value), its
    row, and how many values do not read as numbers."""
    first, row, count = None, 0, 0
    for i, v in enumerate(arr.ravel()):
        try:
            float(v)
        except (TypeError, ValueError):
            count += 1
            if first is None:
                first, row = v, i // arr.shape[1]
    if first is None:
        first = arr.ravel()[0]
    return (first.item() if isinstance(first, np.generic) else first), row, count


def _distinct_rows(arr: np.ndarray, cap: int) -> int:
    """Distinct rows of an integer/boolean array, or ``cap + 1`` as soon as there are more than
    ``cap`` (a first look at 10,000 rows saves the full count on large continuous-like data)."""
    arr = np.asarray(arr, dtype=np.int64)
    for part in (arr[:10_000], arr):
        k = np.unique(part, axis=0).shape[0] if arr.shape[1] > 1 else np.unique(part).size
        if k > cap:
            return cap + 1
    return int(k)


def detect_discrete(x: Any, y: Any, max_categories: int = DETECT_MAX_CATEGORIES) -> str | None:
    """Which sides look discrete: ``"x"``, ``"y"``, ``"xy"`` or None. The rule of
    ``neuralmi.estimate(x, y)`` (``discrete="auto"``, its default):

    * values that cannot be read as numbers (strings, mixed objects) and pandas categoricals are
      discrete: no continuous estimator can read them;
    * integers and booleans (integer or bool dtypes, or Python ints in an object array) are
      discrete when the side (its rows, with several columns) takes at most ``max_categories``
      (20) distinct values *and* has at least :data:`DETECT_MIN_PER_CATEGORY` (10) rows per
      value on average; counts with many values, or few rows per value, stay continuous;
    * floats are never discrete, even with ties or integer values (rounded measurements are
      continuous data): declare such a side with ``discrete="y"`` (the estimator says so with a
      :class:`~neuralmi.exceptions.DiscreteDataWarning` when it looks discrete). Text that reads
      as numbers (``"1.5"``) counts as floats.
    """
    sides = ""
    for side, a in (("x", x), ("y", y)):
        kind, arr = _side_kind(a)
        if kind == "text" or (kind == "integer" and arr is not None and _few_values(arr, max_categories) is not None):
            sides += side
    return sides or None


def _few_values(arr: np.ndarray, max_categories: int) -> int | None:
    """The number of distinct rows of ``arr`` when it is at most ``max_categories`` with at least
    :data:`DETECT_MIN_PER_CATEGORY` rows per value on average, else None."""
    k = _distinct_rows(arr, max_categories)
    return k if k <= max_categories and arr.shape[0] >= DETECT_MIN_PER_CATEGORY * k else None


def resolve_discrete(
    x: Any, y: Any, discrete: Any, *, method: str = "mine", critic: Any = "auto", z: Any = None,
    options: dict[str, Any] | None = None,
) -> tuple[str | None, dict[str, str]]:
    """The discrete sides ``neuralmi.estimate`` uses for ``discrete=``, and why, for detected
    ones: ``(sides or None, {side: reason})``.

    ``discrete``: ``"auto"`` (detect, :func:`detect_discrete`), ``"none"`` or None (no discrete
    side: both continuous), ``"x"``, ``"y"`` or ``"xy"`` (declared). With ``"auto"``, text is
    always discrete; integer sides are taken as discrete only where a discrete estimator exists
    for what was asked: the default method (``"mine"``) or a discrete one (``"classifier"``,
    ``"plugin"``, ``"mixed_ksg"``) with the default critic, and with ``z`` only the default
    chain rule (``"mine"``/``"classifier"``, none of ``strategy``, ``neighbours``,
    ``correction``, ``residualize``). Any other choice (``method="ksg"``, ``"gaussian"``,
    ``"nwj"``, a named critic) keeps integer data continuous, as before detection existed.

    Raises:
        ValueError: an unknown value of ``discrete``.
    """
    if discrete is None or discrete == "none":
        return None, {}
    if not isinstance(discrete, str) or discrete not in DISCRETE_CHOICES:
        raise ValueError(
            f"unknown discrete {discrete!r}; choose one of: {', '.join(repr(c) for c in DISCRETE_CHOICES)} "
            "(or None, the same as 'none')"
        )
    if discrete != "auto":
        return discrete, {}
    options = options or {}
    if z is None:
        numeric = method in ("mine", "classifier", "plugin", "mixed_ksg")
    else:
        numeric = method in ("mine", "classifier") and not set(options) & set(_CONTINUOUS_CONDITIONAL_OPTIONS)
    numeric = numeric and isinstance(critic, str) and critic == "auto"
    sides, reasons = "", {}
    for side, a in (("x", x), ("y", y)):
        kind, arr = _side_kind(a)
        if kind == "text" and arr is None:  # missing labels: the discrete estimator says where
            sides += side
            reasons[side] = "values that are not numbers"
        elif kind == "text":
            example, row, count = _text_cells(arr)
            k = len(encode_labels(arr, side)[1])
            too_many = _too_many_categories(k, arr.shape[0])
            if too_many and 2 * count < arr.size:  # numbers with a few bad cells, not labels
                raise ValueError(
                    f"{side} holds numbers and {count} non-numeric value(s) (first: {example!r}, row {row}, counting "
                    f"from 0): fix or remove those cells. (Read as labels, {side} would have {too_many}.)"
                )
            if too_many:
                raise ValueError(
                    f"{side} holds non-numeric values (e.g. {example!r}), so it can only be a discrete side, but it has "
                    f"{too_many}. Merge rare categories or collect more samples"
                )
            sides += side
            reasons[side] = f"values that are not numbers, e.g. {example!r}; {k} categor{'y' if k == 1 else 'ies'}"
        elif kind == "integer" and numeric and arr is not None and (k := _few_values(arr, DETECT_MAX_CATEGORIES)):
            what = "boolean" if arr.dtype.kind == "b" else "integer"
            reasons[side] = f"{k} distinct {what} values, {arr.shape[0] / k:.0f} rows per value on average"
            sides += side
    return sides or None, reasons


def mark_detected(result: MIResult, reasons: dict[str, str], stacklevel: int = 3) -> MIResult:
    """``result`` saying which sides were detected as discrete, both ways, as every note of the
    library: a :class:`~neuralmi.exceptions.DiscreteDetectedWarning` (also in
    ``result.warnings``) and ``result.config["discrete_detected"]`` (side -> reason)."""
    if not reasons:
        return result
    sides = "".join(reasons)
    because = "; ".join(f"{side}: {why}" for side, why in reasons.items())
    numeric = any(not why.startswith("values that are not numbers") for why in reasons.values())
    undo = " Pass discrete='none' to treat integers as continuous." if numeric else ""
    message = (
        f"discrete side detected: discrete={sides!r} ({because}); estimated by '{result.method}', the estimator "
        f"for a discrete side.{undo}"
    )
    warnings.warn(message, W.DiscreteDetectedWarning, stacklevel=stacklevel)
    return replace(
        result, warnings=(message, *result.warnings), config={**result.config, "discrete_detected": dict(reasons)}
    )


def _one_hot(codes: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros((codes.shape[0], k))
    out[np.arange(codes.shape[0]), codes] = 1.0
    return out


# ---------------------------------------------------------------------------------------------
# Plug-in (discrete-discrete)
# ---------------------------------------------------------------------------------------------


def _xlogx(c: np.ndarray) -> np.ndarray:
    return xlogy(c, c)


def _plugin(cx: np.ndarray, cy: np.ndarray, correction: str | None) -> tuple[float, float, int, int, int]:
    """Plug-in MI of codes with a correction; ``(value, stderr, K_x, K_y, occupied cells)``."""
    n = cx.shape[0]
    kx, ky = int(cx.max()) + 1, int(cy.max()) + 1
    cell = cx * ky + cy
    joint = np.bincount(cell, minlength=kx * ky).reshape(kx, ky).astype(np.float64)
    nx, ny = joint.sum(1), joint.sum(0)
    occupied = joint > 0
    m_xy, m_x, m_y = int(occupied.sum()), int((nx > 0).sum()), int((ny > 0).sum())
    s_xy, s_x, s_y = _xlogx(joint).sum(), _xlogx(nx).sum(), _xlogx(ny).sum()
    plug = (s_xy - s_x - s_y) / n + math.log(n)
    # per-row pointwise MI, for the delta-method standard error
    pmi = np.log(joint[cx, cy] * n / (nx[cx] * ny[cy]))
    stderr = float(np.std(pmi, ddof=1) / math.sqrt(n)) if n > 1 else 0.0
    if correction == "miller-madow":
        value = plug + (m_x + m_y - m_xy - 1) / (2.0 * n)
    elif correction == "jackknife" and n > 2:
        a_idx, b_idx = np.nonzero(occupied)
        c_ab, c_a, c_b = joint[a_idx, b_idx], nx[a_idx], ny[b_idx]
        # the MI without one row of cell (a, b), for every occupied cell at once
        s_xy_l = s_xy - _xlogx(c_ab) + _xlogx(c_ab - 1)
        s_x_l = s_x - _xlogx(c_a) + _xlogx(c_a - 1)
        s_y_l = s_y - _xlogx(c_b) + _xlogx(c_b - 1)
        loo = (s_xy_l - s_x_l - s_y_l) / (n - 1) + math.log(n - 1)
        value = n * plug - (n - 1) * float(np.dot(c_ab, loo)) / n
    else:
        value = plug
    return float(value), stderr, kx, ky, m_xy


def plugin_mi(x: Any, y: Any, correction: str | None = "jackknife") -> float:
    r"""Plug-in estimate of I(X; Y) for two discrete variables (nats), bias-corrected.

    .. math:: \hat I = \sum_{a,b} \hat p_{ab} \log\frac{\hat p_{ab}}{\hat p_a \hat p_b}

    on the contingency table of the rows (several columns on a side form one joint label; any
    hashable values). The plug-in value is biased upwards by about
    :math:`(K_x - 1)(K_y - 1)/2n`; ``correction``:

    * ``"jackknife"`` (default): :math:`n\hat I - (n-1)\,\overline{\hat I_{-i}}`, the
      leave-one-out jackknife, exact and in closed form per occupied cell;
    * ``"miller-madow"``: adds :math:`(m_x + m_y - m_{xy} - 1)/2n` (``m``: occupied cells);
    * ``None``: the plain plug-in value.

    A corrected value can be slightly negative for independent variables.

    Raises:
        ValueError: different numbers of rows, missing values, an unknown correction, or more
            categories than the samples allow.

    Example:
        >>> x = np.array([0, 0, 1, 1] * 250); y = np.array([0, 0, 1, 1] * 250)
        >>> round(plugin_mi(x, y, correction=None), 4)   # log 2
        0.6931
    """
    _check_correction(correction)
    cx, _ = encode_labels(x, "x")
    cy, _ = encode_labels(y, "y")
    if cx.shape[0] != cy.shape[0]:
        raise ValueError(f"x and y must have the same number of samples (rows); got {cx.shape[0]} and {cy.shape[0]}")
    for codes, name in ((cx, "x"), (cy, "y")):
        _check_categories(int(codes.max()) + 1, codes.shape[0], name)
    return _plugin(cx, cy, correction)[0]


# ---------------------------------------------------------------------------------------------
# Classifier critic
# ---------------------------------------------------------------------------------------------


def _oas(cov: np.ndarray, n: int) -> np.ndarray:
    """Oracle-approximating shrinkage (Chen et al. 2010) of a covariance towards ``mu·I``."""
    p = cov.shape[0]
    mu = float(np.trace(cov)) / p
    alpha = float(np.mean(cov**2))
    num = alpha + mu**2
    den = (n + 1.0) * (alpha - mu**2 / p)
    shrink = 1.0 if den <= 0 else min(1.0, num / den)
    return (1.0 - shrink) * cov + shrink * mu * np.eye(p)


class _LDA(nn.Module):
    """Fixed logits of linear discriminant analysis: ``x Σ⁻¹ μ_kᵀ − ½ μ_k Σ⁻¹ μ_kᵀ + log π_k``
    (pooled, OAS-shrunk covariance; priors smoothed by half a count)."""

    def __init__(self, x: np.ndarray, codes: np.ndarray, k: int) -> None:
        super().__init__()
        n, d = x.shape
        counts = np.bincount(codes, minlength=k).astype(np.float64)
        means = np.zeros((k, d))
        np.add.at(means, codes, x)
        overall = x.mean(axis=0)
        seen = counts > 0
        means[seen] /= counts[seen, None]
        means[~seen] = overall  # a class absent from the training rows: no evidence either way
        centred = x - means[codes]
        cov = _oas(centred.T @ centred / max(1, n - k), n)
        prec_means = np.linalg.solve(cov, means.T)  # (d, K)
        bias = -0.5 * np.sum(means.T * prec_means, axis=0) + np.log((counts + 0.5) / (n + 0.5 * k))
        self.register_buffer("weight", torch.as_tensor(prec_means, dtype=torch.float32))
        self.register_buffer("bias", torch.as_tensor(bias, dtype=torch.float32))

    def forward(self, x: Tensor) -> Tensor:
        return x @ self.weight + self.bias


class _Classifier(nn.Module):
    """``logits(x) = baseline(x) + net(x)`` (the network's output layer starts at zero)."""

    def __init__(self, baseline: nn.Module | None, net: nn.Module) -> None:
        super().__init__()
        self.baseline, self.net = baseline, net

    def forward(self, x: Tensor) -> Tensor:
        out = self.net(x)
        return out if self.baseline is None else out + self.baseline(x)


class ClassifierMI(nn.Module):
    r"""The classifier bound :math:`E[\log q(y\mid x) - \log \hat p(y)] + c` as a trainable
    objective (:class:`neuralmi.interface.Objective`): ``critic_loss`` is the cross entropy,
    ``evaluate`` the held-out bound with per-row influence (``y`` holds the integer codes, one
    column).

    Args:
        classifier: ``x -> (B, K)`` logits.
        n_classes: ``K``.
        log_p: ``(K,)`` log label frequencies over *all* rows (the entropy term; its noise
            cancels against the classifier's on the same rows).
        correction: added to every row's term: the Miller–Madow correction ``(K_occupied − 1)
            / 2n`` of that plug-in entropy, so the entropy part is unbiased to O(1/n²) and the
            bound's expectation sits below the MI by the classifier's error only.
    """

    def __init__(self, classifier: nn.Module, n_classes: int, log_p: np.ndarray, correction: float = 0.0) -> None:
        super().__init__()
        self.classifier = classifier
        self.n_classes = int(n_classes)
        self.correction = float(correction)
        self.register_buffer("log_prior", torch.as_tensor(log_p, dtype=torch.float64))

    def _codes(self, y: Tensor) -> Tensor:
        return y.reshape(-1).round().long()

    def critic_loss(self, x: Tensor, y: Tensor, with_value: bool = False) -> Any:
        codes = self._codes(y)
        logp = torch.log_softmax(self.classifier(x), dim=1)
        picked = logp.gather(1, codes[:, None])[:, 0]
        loss = -picked.mean()
        if with_value:
            return loss, (picked.double() - self.log_prior[codes]).mean().detach() + self.correction
        return loss

    @torch.no_grad()
    def log_q(self, x: Tensor, y: Tensor) -> Tensor:
        """``log q(y_i | x_i)`` per row, float64 on the CPU."""
        codes = self._codes(y)
        logp = torch.log_softmax(self.classifier(x).double(), dim=1)
        return logp.gather(1, codes[:, None])[:, 0].cpu()

    @torch.no_grad()
    def evaluate(self, x: Tensor, y: Tensor, n_shifts: int = 0, batch_size: int = 0, seed: int | None = None) -> Evaluation:
        codes = self._codes(y).cpu()
        t = self.log_q(x, y) - self.log_prior.cpu()[codes] + self.correction
        return Evaluation(float(t.mean()), (t - t.mean()).numpy(), int(t.shape[0]))


#: the per-column transforms the classifier chooses between (on held-out training rows): the
#: Gaussian discriminant is exact on standardised Gaussian class-conditionals, the rank
#: transform is robust to heavy tails
CLASSIFIER_TRANSFORMS = ("standardize", "rank")


def _fit_classifier(
    feats: np.ndarray,
    codes: np.ndarray,
    k: int,
    fit_rows: np.ndarray,
    select_rows: np.ndarray,
    cfg: Any,
    log_p: np.ndarray,
    correction: float,
    batch: int,
    device: torch.device,
    threads: Any,
    transform: str | None,
) -> tuple[ClassifierMI, Any, dict[str, Any]]:
    """Train one classifier on ``fit_rows``, choosing its transform (unless given) and its
    checkpoint on ``select_rows``; returns the module, the fitted transform and the run."""
    from .preprocessing import fit_transform
    from .training import TrainConfig, train

    def tens(a: np.ndarray) -> Tensor:
        return torch.as_tensor(a, dtype=torch.float32, device=device)

    yc = tens(codes[:, None].astype(np.float64))
    candidates = CLASSIFIER_TRANSFORMS if transform is None else (transform,)
    best = None
    for kind in candidates:
        tf = fit_transform(feats[fit_rows], kind)
        ft = tf(feats)
        base = _LDA(ft[fit_rows], codes[fit_rows], k) if cfg.gaussian_baseline else None
        net = mlp(ft.shape[1], cfg.hidden, k, cfg.activation, zero_last=base is not None)
        module = ClassifierMI(_Classifier(base, net), k, log_p, correction).to(device)
        score = module.evaluate(tens(ft[select_rows]), yc[select_rows]).value if len(candidates) > 1 else 0.0
        if best is None or score > best[0]:
            best = (score, module, tf, ft)
    _, module, tf, ft = best
    threads(module, batch, device)
    steps = cfg.steps if cfg.epochs is None else max(1, math.ceil(cfg.epochs * len(fit_rows) / batch))
    tcfg = TrainConfig(
        batch_size=min(batch, len(fit_rows)), lr=cfg.lr, max_steps=steps, eval_every=min(cfg.eval_every, steps),
        patience=cfg.patience, idle_patience=cfg.idle_patience, weight_decay=cfg.weight_decay, seed=cfg.seed,
        progress=cfg.progress,
    )
    xs = tens(ft)
    run = train(module, xs[fit_rows], yc[fit_rows], [(xs[select_rows], yc[select_rows])], tcfg)
    module.load_state_dict(run.best_states[0])
    module.eval()
    return module, tf, {"steps": run.steps, "diverged": run.diverged, "transform": tf.kind}


def _classifier_terms(
    features: list[np.ndarray],
    codes: np.ndarray,
    k: int,
    critic: Any,
    options: dict[str, Any],
) -> tuple[list[np.ndarray], Any, dict[str, Any]]:
    """K-fold cross-fitted classifier bounds: for each feature set, the ``(n,)`` per-row terms
    ``log q(y_i | f_i) − log p̂(y_i) + c``, each row read by a classifier that never saw it
    (trained on the other folds, its transform and checkpoint chosen on a selection part of
    them). The feature sets share the folds, so their per-row differences are paired."""
    from .estimators import NeuralEstimator
    from .training import resolve_device

    if critic not in ("auto", "concat"):
        raise ValueError(f"the classifier critic is an MLP on the features; critic {critic!r} does not apply (use 'auto')")
    options = dict(options)
    n_folds = options.pop("folds", 5)
    if isinstance(n_folds, bool) or not isinstance(n_folds, (int, np.integer)) or n_folds < 2:
        raise ValueError(f"folds must be an integer >= 2; got {n_folds!r}")
    transform = options.pop("transform", None)
    # the classifier starts at the discriminant and usually stops early: check it more often
    options = {"eval_every": 50, "patience": 3, **options}
    est = NeuralEstimator(method="mine", critic="concat", **options)
    cfg = est.config
    if transform is not None:
        from .preprocessing import TRANSFORMS

        check_choice(transform, "transform", TRANSFORMS)
    device = resolve_device(cfg.device)
    n = codes.shape[0]
    n_folds = int(min(n_folds, n // 4))
    counts = np.bincount(codes, minlength=k).astype(np.float64)
    with np.errstate(divide="ignore"):
        log_p = np.log(counts / n)  # only observed labels are ever looked up
    correction = (np.count_nonzero(counts) - 1) / (2.0 * n)
    perm = np.random.default_rng(cfg.seed).permutation(n)
    fold_of = np.empty(n, dtype=np.int64)
    fold_of[perm] = np.arange(n) % n_folds
    terms = [np.empty(n) for _ in features]
    info: dict[str, Any] = {"folds": n_folds, "steps": [], "transforms": [], "diverged": False}
    previous = torch.get_num_threads()
    try:
        # the seed reaches only a forked CPU generator: the caller's random state is left alone
        with torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed(int(cfg.seed))
            _fill_terms(terms, info, features, codes, k, fold_of, n_folds, cfg, est, log_p, correction, device, transform)
    finally:
        torch.set_num_threads(previous)
    info["fold_of"] = fold_of
    return terms, cfg, info


def _fill_terms(
    terms: list[np.ndarray], info: dict[str, Any], features: list[np.ndarray], codes: np.ndarray, k: int,
    fold_of: np.ndarray, n_folds: int, cfg: Any, est: Any, log_p: np.ndarray, correction: float,
    device: torch.device, transform: str | None,
) -> None:
    select_share = cfg.test_size / 2.0
    for f in range(n_folds):
        held = np.flatnonzero(fold_of == f)
        rest = np.flatnonzero(fold_of != f)
        rng = np.random.default_rng(cfg.seed + 7919 * (f + 1))
        rest = rest[rng.permutation(rest.shape[0])]
        n_sel = max(2, int(round(select_share * rest.shape[0])))
        select_rows, fit_rows = rest[:n_sel], rest[n_sel:]
        batch = est._batch_size(len(fit_rows))
        for j, feats in enumerate(features):
            module, tf, run = _fit_classifier(
                feats, codes, k, fit_rows, select_rows, cfg, log_p, correction, batch, device, est._threads, transform
            )
            xt = torch.as_tensor(tf(feats[held]), dtype=torch.float32, device=device)
            yt = torch.as_tensor(codes[held, None].astype(np.float64), dtype=torch.float32, device=device)
            ev = module.evaluate(xt, yt)
            terms[j][held] = ev.influence + ev.value
            info["steps"].append(run["steps"])
            info["transforms"].append(run["transform"])
            info["diverged"] = info["diverged"] or run["diverged"]


def _summarise(t: np.ndarray, fold_of: np.ndarray) -> tuple[float, float, list[float], list[float]]:
    """Mean of per-row terms, its standard error (sampling noise, plus the between-fold variance
    of the folds' classifiers when they disagree beyond it), and the per-fold values."""
    from .conditional import between_fold_stderr

    n = t.shape[0]
    value = float(t.mean())
    folds = sorted(set(fold_of.tolist()))
    sizes = np.array([np.sum(fold_of == f) for f in folds], dtype=float)
    fold_values = [float(t[fold_of == f].mean()) for f in folds]
    fold_se = [float(np.std(t[fold_of == f], ddof=1) / math.sqrt(max(1, int(np.sum(fold_of == f))))) for f in folds]
    # each fold is read by its own classifier: the folds' disagreement beyond noise widens it
    stderr = between_fold_stderr(fold_values, fold_se, sizes / n)
    return value, stderr, fold_values, fold_se


# ---------------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------------


def _emit(found: list[tuple[type[Warning], str]]) -> tuple[str, ...]:
    messages = tuple(dict.fromkeys(m for _, m in found))
    kinds = {m: c for c, m in found}
    for m in messages:
        warnings.warn(m, kinds[m], stacklevel=4)
    return messages


def _result(mi: float, stderr: float | None, method: str, config: dict[str, Any], found: list, t0: float, n_train: int, n_test: int) -> MIResult:
    return MIResult(mi=mi, stderr=stderr, method=method, config=config, seconds=time.perf_counter() - t0, n_train=n_train, n_test=n_test, warnings=_emit(found))


def _prepare(
    x: Any, y: Any, discrete: str, names: dict[str, list[str] | None]
) -> tuple[dict[str, np.ndarray], dict[str, int], list[tuple[type[Warning], str]]]:
    """Validate both sides: codes for the discrete ones, float arrays for the others."""
    check_choice(discrete, "discrete", DISCRETE_SIDES)
    out: dict[str, np.ndarray] = {}
    kinds: dict[str, int] = {}
    found: list[tuple[type[Warning], str]] = []
    for side, a in (("x", x), ("y", y)):
        if side in discrete:
            codes, cats = encode_labels(a, side)
            out[side], kinds[side] = codes, len(cats)
        else:
            out[side] = as_samples(a, side)
    n_x, n_y = out["x"].shape[0], out["y"].shape[0]
    if n_x != n_y:
        raise ValueError(f"x and y must have the same number of samples (rows); got {n_x} and {n_y}")
    n = n_x
    for side, k in kinds.items():
        if k == 1:
            found.append((W.ConstantColumnWarning,
                f"the discrete {side} takes a single value: a constant carries no information, so MI = 0"))
        _check_categories(k, n, side)
    return out, kinds, found


def estimate_discrete(
    x: Any,
    y: Any,
    discrete: str = "y",
    method: str = "mine",
    critic: Any = "auto",
    **options: Any,
) -> MIResult:
    """Estimate I(X; Y) in nats when X and/or Y is discrete (see the module docstring).

    What ``neuralmi.estimate(x, y, discrete=...)`` calls.

    Args:
        x, y: samples; the discrete side(s) as labels of any hashable type (strings welcome).
        discrete: ``"x"``, ``"y"`` or ``"xy"``.
        method: ``"mine"`` (default: the classifier for one discrete side, the plug-in for two),
            ``"classifier"``, ``"plugin"`` (both discrete), ``"mixed_ksg"``/``"ksg"``, or another
            neural method (run on the one-hot encoding).
        critic: ``"auto"`` for the classifier; other neural methods take the usual critics.
        **options: classifier/neural: fields of :class:`~neuralmi.EstimatorConfig` (``steps``,
            ``hidden``, ``seed``, ``transform``, ...); plug-in: ``correction``; mixed k-NN: ``k``.

    Returns:
        An :class:`~neuralmi.MIResult`; ``config["categories"]`` holds the number of categories.

    Example:
        >>> import numpy as np, neuralmi
        >>> task = neuralmi.tasks.gaussian_classes(4, dim=2, spacing=2.0)
        >>> x, y = task.sample(4000, seed=0)
        >>> labels = np.array(["a", "b", "c", "d"])[y[:, 0].astype(int)]   # strings are fine
        >>> res = neuralmi.estimate(x, labels, discrete="y", seed=0, steps=300)
        >>> abs(res.mi - task.mi) < 0.05, res.method
        (True, 'classifier')
    """
    t0 = time.perf_counter()
    if not isinstance(method, str):
        raise TypeError(f"method must be a string; got {type(method).__name__}")
    names = {"x": column_names(x, "x"), "y": column_names(y, "y")}
    data, kinds, found = _prepare(x, y, discrete, names)
    n = data["x"].shape[0]
    config: dict[str, Any] = {"discrete": discrete, "categories": kinds}
    for side, cols in names.items():
        if cols is not None:
            config[f"columns_{side}"] = cols
    both = discrete == "xy"
    if method == "mine" or method == "auto":
        method = "plugin" if both else "classifier"
    if any(k == 1 for k in kinds.values()):
        return _result(0.0, 0.0, method, {**config, "method": method}, found, t0, 0, n)
    # a continuous side with every column constant carries nothing either
    for side in "xy":
        if side not in discrete and np.all(np.ptp(data[side], axis=0) == 0):
            found.append((W.ConstantColumnWarning, f"every column of {side} is constant: MI = 0"))
            return _result(0.0, 0.0, method, {**config, "method": method}, found, t0, 0, n)

    if method == "plugin":
        if not both:
            raise ValueError("method 'plugin' needs both sides discrete (discrete='xy'); use 'classifier' or 'mixed_ksg'")
        correction = options.pop("correction", "jackknife")
        if options:
            raise TypeError(f"unknown option(s) for method 'plugin': {', '.join(sorted(options))}; valid: correction")
        _check_correction(correction)
        value, stderr, kx, ky, cells = _plugin(data["x"], data["y"], correction)
        if cells > n / MIN_PER_CATEGORY:
            found.append((SparseTableWarning,
                f"the table has {cells} occupied cells for {n} samples (fewer than {MIN_PER_CATEGORY} per cell on "
                "average): the plug-in estimate, even bias-corrected, is unreliable; merge categories or collect "
                "more samples"))
        config.update(method="plugin", correction=correction, occupied_cells=cells, raw_value=value)
        if value < 0:
            found.append((W.NegativeEstimateWarning, f"the bias-corrected estimate was {value:.4f} nats (below zero); 0 is reported"))
        return _result(max(0.0, value), stderr, "plugin", config, found, t0, 0, n)

    if method in ("mixed_ksg", "ksg"):
        from .nonparametric import _mixed_ksg

        k_nn = options.pop("k", 5)
        if options:
            raise TypeError(f"unknown option(s) for method {method!r}: {', '.join(sorted(options))}; valid: k")
        xs = data["x"] if "x" not in discrete else data["x"][:, None].astype(np.float64)
        ys = data["y"] if "y" not in discrete else data["y"][:, None].astype(np.float64)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value, stderr = _mixed_ksg(xs, ys, k_nn, -1)
        found += [(w.category, str(w.message)) for w in caught]
        config.update(method="mixed_ksg", k=k_nn)
        return _result(value, stderr, "mixed_ksg", config, found, t0, 0, n)

    if method == "gaussian":
        raise ValueError("method 'gaussian' assumes continuous data; with a discrete side use 'classifier', 'plugin' or 'mixed_ksg'")

    if method == "classifier":
        label_side = "y" if "y" in discrete else "x"
        other = "x" if label_side == "y" else "y"
        feats = data[other] if other not in discrete else _one_hot(data[other], kinds[other])
        (t,), cfg, info = _classifier_terms([feats], data[label_side], kinds[label_side], critic, options)
        raw, stderr, fold_values, fold_se = _summarise(t, info["fold_of"])
        config.update(
            asdict(cfg), method="classifier", label=label_side, raw_value=raw, fold_values=fold_values,
            folds=info["folds"], steps_taken=info["steps"], transforms=info["transforms"],
        )
        config.pop("transform", None)
        found += _diagnose(raw, fold_values, fold_se, info["diverged"])
        return _result(max(0.0, raw), stderr, "classifier", config, found, t0, n - n // info["folds"], n)

    # any other neural bound: on the one-hot encoding of the discrete side(s)
    from .estimators import estimate

    xs = data["x"] if "x" not in discrete else _one_hot(data["x"], kinds["x"])
    ys = data["y"] if "y" not in discrete else _one_hot(data["y"], kinds["y"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = estimate(xs, ys, method=method, critic=critic, **options)
    found += [(w.category, str(w.message)) for w in caught]
    config.update(res.config, one_hot=True)
    return _result(res.mi, res.stderr, res.method, config, found, t0, res.n_train, res.n_test)


def _diagnose(raw: float, fold_values: list[float], fold_se: list[float], diverged: bool) -> list[tuple[type[Warning], str]]:
    out: list[tuple[type[Warning], str]] = []
    if diverged:
        out.append((W.DivergenceWarning, "training diverged (the loss became NaN or infinite); the estimate uses the last good checkpoint"))
    v, se = np.array(fold_values), np.maximum(np.array(fold_se), 1e-12)
    centre = float(np.sum(v / se**2) / np.sum(1 / se**2))
    worst = int(np.argmax(np.abs(v - centre) / se))
    if abs(v[worst] - centre) > 4 * se[worst] + 0.05:
        shown = ", ".join(f"{a:.3f}" for a in v)
        out.append((W.UnstableEstimateWarning,
            f"the held-out folds disagree ({shown}) more than their error bars allow: the estimate is unstable"))
    if raw < 0:
        out.append((W.NegativeEstimateWarning,
            f"the held-out estimate was {raw:.4f} nats (below zero); MI cannot be negative, so 0 is reported: the "
            "classifier found no dependence"))
    return out


def estimate_discrete_conditional(
    x: Any,
    y: Any,
    z: Any,
    discrete: str = "y",
    method: str = "mine",
    critic: Any = "auto",
    **options: Any,
) -> MIResult:
    r"""I(X; Y | Z) in nats when X and/or Y is discrete: the chain rule with classifier critics.

    With the label side Y (``discrete="y"``; ``"x"`` swaps the roles, CMI being symmetric;
    ``"xy"`` one-hot encodes X as features), two classifiers :math:`q(y\mid x,z)` and
    :math:`q(y\mid z)` are trained on the same split and read on the same held-out rows:
    :math:`\hat I = \overline{\log q(y_i\mid x_i,z_i) - \log q(y_i\mid z_i)}`, with the standard
    error of that mean (the interval of the difference). ``method`` must be ``"mine"`` (the
    default) or ``"classifier"``. Z is continuous (one-hot encode a categorical Z yourself).
    """
    from .conditional import check_z

    t0 = time.perf_counter()
    if method not in ("mine", "auto", "classifier"):
        raise ValueError(f"with discrete= and z=, the method is the classifier chain rule ('mine' or 'classifier'); got {method!r}")
    names = {"x": column_names(x, "x"), "y": column_names(y, "y"), "z": column_names(z, "z")}
    data, kinds, found = _prepare(x, y, discrete, names)
    n = data["x"].shape[0]
    za = check_z(z, n)
    config: dict[str, Any] = {"discrete": discrete, "categories": kinds, "conditional": True}
    for side, cols in names.items():
        if cols is not None:
            config[f"columns_{side}"] = cols
    if any(k == 1 for k in kinds.values()):
        return _result(0.0, 0.0, "classifier", {**config, "method": "classifier"}, found, t0, 0, n)
    label_side = "y" if "y" in discrete else "x"
    other = "x" if label_side == "y" else "y"
    feats = data[other] if other not in discrete else _one_hot(data[other], kinds[other])
    keep = np.ptp(za, axis=0) > 0
    if not keep.all():
        found.append((W.ConstantColumnWarning, f"z column(s) {np.flatnonzero(~keep).tolist()} are constant and carry no information; dropped"))
        za = za[:, keep]
    if za.shape[1] == 0:
        res = estimate_discrete(x, y, discrete=discrete, method="classifier", critic=critic, **options)
        return replace(res, warnings=(*_emit(found), *res.warnings))
    labels = (f"I({label_side.upper()};{other.upper()},Z)", f"I({label_side.upper()};Z)")
    (t_full, t_z), cfg, info = _classifier_terms([np.hstack([feats, za]), za], data[label_side], kinds[label_side], critic, options)
    raw, stderr, fold_values, fold_se = _summarise(t_full - t_z, info["fold_of"])
    config.update(
        asdict(cfg), method="classifier", label=label_side, raw_value=raw, fold_values=fold_values, folds=info["folds"],
        terms={labels[0]: float(t_full.mean()), labels[1]: float(t_z.mean())}, transforms=info["transforms"],
    )
    config.pop("transform", None)
    found += _diagnose(raw, fold_values, fold_se, info["diverged"])
    n_train, n_test = n - n // info["folds"], n
    return _result(max(0.0, raw), stderr, "classifier", config, found, t0, n_train, n_test)
