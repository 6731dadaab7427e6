"""Input checking shared by every entry point.

Every public function that takes samples passes them through :func:`as_samples` or
:func:`check_pair`, so that bad input fails early with a ``ValueError``/``TypeError`` that names
the problem, instead of a traceback from deep inside torch or a silent NaN.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

__all__ = ["as_samples", "check_pair", "check_choice", "check_positive_int", "column_names", "drop_constant"]


def _pandas_object(a: Any) -> str | None:
    """``"frame"`` or ``"series"`` for a pandas object, else None (never imports pandas)."""
    pd = sys.modules.get("pandas")  # a DataFrame implies pandas is imported
    if pd is None:
        return None
    if isinstance(a, pd.DataFrame):
        return "frame"
    if isinstance(a, pd.Series):
        return "series"
    return None


def _pandas_to_numpy(a: Any, name: str) -> np.ndarray:
    """A DataFrame or Series as float64; a non-numeric column is a TypeError naming it."""
    types = sys.modules["pandas"].api.types
    columns = a.dtypes.items() if _pandas_object(a) == "frame" else [(a.name, a.dtype)]
    for label, dtype in columns:
        if types.is_complex_dtype(dtype):
            raise TypeError(f"{name} must be real-valued; column {label!r} has complex dtype {dtype}")
        if not types.is_numeric_dtype(dtype):
            raise TypeError(
                f"{name}: column {label!r} is not numeric (dtype {dtype}); convert it "
                "(e.g. pd.to_numeric) or leave it out"
            )
    return a.to_numpy(dtype=np.float64, na_value=np.nan)


def column_names(a: Any, name: str = "x") -> list[str] | None:
    """The column names of ``a`` if it is a pandas DataFrame or a named Series, else None.

    A DataFrame gives ``[str(c) for c in a.columns]``, a Series with a name ``[str(a.name)]``;
    arrays, tensors, sequences and unnamed Series give None. ``name`` (``"x"`` or ``"y"``, the
    side ``a`` is) is accepted for symmetry with :func:`as_samples` and is not used. pandas is
    never imported here.
    """
    kind = _pandas_object(a)
    if kind == "frame":
        return [str(c) for c in a.columns]
    if kind == "series" and a.name is not None:
        return [str(a.name)]
    return None


def _to_numpy(a: Any, name: str) -> np.ndarray:
    """Convert an array-like, a pandas object or a torch tensor (any device) to a NumPy array."""
    if _pandas_object(a) is not None:
        return _pandas_to_numpy(a, name)
    torch = sys.modules.get("torch")  # a tensor implies torch is imported: never import it here
    if torch is not None and isinstance(a, torch.Tensor):
        t = a.detach().to("cpu")
        if t.is_floating_point() and t.dtype not in (torch.float16, torch.float32, torch.float64):
            t = t.to(torch.float64)  # bfloat16 and float8 have no NumPy dtype
        return t.numpy()
    if isinstance(a, (str, bytes)):
        raise TypeError(f"{name} must be numeric samples (an array or a tensor), not a string")
    try:
        out = np.asarray(a)
    except Exception as exc:  # noqa: BLE001 - re-raised with a clear message
        raise TypeError(f"{name} could not be read as an array: {exc}") from None
    return out


def as_samples(a: Any, name: str = "x") -> np.ndarray:
    """Return ``a`` as a float64 array of shape ``(n, d)``.

    Accepts NumPy arrays, nested sequences, torch tensors and pandas DataFrames/Series (numeric
    columns only; rows are taken in order, the index is ignored). A 1-D input of length ``n``
    means ``n`` samples of a scalar and becomes ``(n, 1)``.

    Raises:
        TypeError: the input is not numeric (strings, objects, complex numbers).
        ValueError: the input has more than 2 dimensions, no samples, no features, or holds
            NaN or infinite values.
    """
    arr = _to_numpy(a, name)
    if arr.dtype == object or arr.dtype.kind in "USV":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError(
                f"{name} must hold numbers only; found non-numeric values (dtype {arr.dtype})"
            ) from None
    if arr.dtype.kind == "c":
        raise TypeError(f"{name} must be real-valued; got complex dtype {arr.dtype}")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric; got dtype {arr.dtype}")
    if arr.ndim == 0:
        raise ValueError(f"{name} must be a 1-D or 2-D array of samples; got a scalar")
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be 1-D (n,) or 2-D (n, d); got shape {tuple(arr.shape)}. "
            "Flatten images or other structured samples first."
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{name} has no samples (shape {tuple(arr.shape)})")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} has no features (shape {tuple(arr.shape)})")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    finite = np.isfinite(arr)
    if not finite.all():
        bad = np.argwhere(~finite)[0]
        kind = "NaN" if np.isnan(arr[bad[0], bad[1]]) else "infinite"
        n_bad = int((~finite).sum())
        labels = column_names(a, name)
        label = f" ({labels[bad[1]]!r})" if labels is not None else ""
        raise ValueError(
            f"{name} contains {n_bad} NaN or infinite value(s) (first: {kind} at row {bad[0]}, "
            f"column {bad[1]}{label}); remove or impute them before estimating MI"
        )
    return arr


def check_pair(x: Any, y: Any, min_samples: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Validate paired samples; return both as float64 ``(n, dx)`` and ``(n, dy)`` arrays.

    Row ``i`` of ``x`` is paired with row ``i`` of ``y``. When both are pandas objects, their
    indexes must be equal: pandas would pair rows by label, this pairs them by position.

    Raises:
        ValueError: different numbers of rows, fewer than ``min_samples`` rows, pandas inputs
            with different indexes, or any error of :func:`as_samples`.
    """
    xa = as_samples(x, "x")
    ya = as_samples(y, "y")
    if xa.shape[0] != ya.shape[0]:
        raise ValueError(
            f"x and y must have the same number of samples (rows); got {xa.shape[0]} and {ya.shape[0]}"
        )
    if _pandas_object(x) and _pandas_object(y) and not x.index.equals(y.index):
        raise ValueError(
            "x and y are pandas objects with different indexes; rows are paired by position, "
            "not by label: align them first (e.g. y = y.loc[x.index]) or pass .to_numpy()"
        )
    if xa.shape[0] < min_samples:
        raise ValueError(f"need at least {min_samples} samples; got {xa.shape[0]}")
    return xa, ya


def check_choice(value: Any, name: str, choices: tuple[str, ...] | list[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise a ValueError listing them."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"unknown {name} {value!r}; choose one of: {', '.join(choices)}")
    return value


def check_positive_int(value: Any, name: str, minimum: int = 1) -> int:
    """Return ``value`` as an int if it is an integer >= ``minimum``, else raise."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer; got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}")
    return int(value)


def drop_constant(a: np.ndarray, name: str, estimator: str) -> tuple[np.ndarray, list[int], str | None]:
    """Drop the constant (zero-variance) columns of ``a`` ``(n, d)``.

    Returns ``(kept, keep, message)``: ``a`` without its constant columns, the indices of the
    columns kept, and a plain-language message naming the dropped columns (``None`` when none
    was dropped). The caller issues the message as a
    :class:`~neuralmi.exceptions.ConstantColumnWarning`.
    """
    const = np.ptp(a, axis=0) == 0.0
    keep = np.flatnonzero(~const).tolist()
    if not const.any():
        return a, keep, None
    cols = np.flatnonzero(const).tolist()
    if const.all():
        msg = (
            f"every column of {name} is constant ({name} columns {cols}); a constant carries no "
            f"information, so {estimator} returns MI = 0"
        )
    else:
        msg = f"{name} column(s) {cols} are constant (zero variance) and carry no information; {estimator} drops them"
    return a[:, keep], keep, msg
