"""Data larger than memory: one pass that reduces the rows to the samples an estimate reads.

A neural estimate reads three samples of the rows: a training pool (Adam draws its minibatches
from it) and two held-out folds (checkpoint selection and the read-out). With the defaults it
draws at most ``steps * batch_size`` = 1,024,000 training rows, and the standard error of a
read-out on 300,000 held-out rows is about 0.003 nats (20 + 20 Gaussian columns, 2.9 nats), so
more rows than that change the estimate by less than its own noise. For inputs too large for memory — a memory-mapped ``.npy``
(``np.load(path, mmap_mode="r")``, or column slices of one), an array with more than
:data:`STREAM_MIN_ROWS` rows, or an iterable of ``(x, y)`` batches such as a
``torch.utils.data.DataLoader`` — :func:`collect` makes **one pass** over the rows:

1. every batch is checked like an in-memory input (numeric, finite, consistent widths);
2. every row goes to training or to held-out fold A or B by a coin seeded with ``seed`` and the
   batch number (``test_size`` of the rows are held out, half in each fold);
3. a uniform random sample of at most ``train_rows`` training rows and ``heldout_rows``
   held-out rows is kept (reservoir sampling with random keys: each row draws a key, the rows
   with the smallest keys are kept; memory stays at the cap plus one batch).

The in-memory estimate then runs on those rows with exactly that split (the transform and the
Gaussian baseline are fitted on the training sample, the critic trains on it, and the two folds
select and read as usual), so peak memory is set by the caps, not by the data: 1.2 GB for 20 + 20
columns at the default caps (measured, ``benchmarks/large_data.py``: float64 rows, their
transformed copies, the rank transform's quantiles and the Gaussian baseline's QR). Pages of a
memory-mapped input are released after each batch is read, so they do not accumulate in the
process's resident memory.

What this costs: the estimate is a function of the sampled rows (it does not use every held-out
row: the interval is that of the sample read, which is honest, only slightly wider than reading
all rows), and exact copies of rows are detected only within the sample.
"""

from __future__ import annotations

import mmap
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validation import as_samples

__all__ = ["STREAM_MIN_ROWS", "TRAIN_ROWS", "HELDOUT_ROWS", "StreamSample", "is_stream", "iter_batches", "collect"]

#: arrays with more rows than this are streamed rather than copied into memory whole
STREAM_MIN_ROWS = 1_000_000
#: training rows kept (the default training run draws 1,024,000 rows with replacement)
TRAIN_ROWS = 300_000
#: held-out rows kept, both folds together
HELDOUT_ROWS = 300_000
#: rows read from an array at a time
CHUNK_ROWS = 65_536


@dataclass(frozen=True)
class StreamSample:
    """The rows an estimate reads, collected in one pass.

    Attributes:
        x, y: float64 ``(m, d_x)``, ``(m, d_y)``: the training sample, then fold A, then fold B,
            each in random order.
        n_train, n_a, n_b: rows of each part in ``x``/``y``.
        rows: rows seen in the pass; train_rows, heldout_rows: of those, how many fell to
            training and to the held-out folds.
    """

    x: np.ndarray
    y: np.ndarray
    n_train: int
    n_a: int
    n_b: int
    rows: int
    train_rows: int
    heldout_rows: int

    def split(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Row indices of the training sample, fold A and fold B in :attr:`x`/:attr:`y`."""
        a, b = self.n_train, self.n_train + self.n_a
        return np.arange(a), np.arange(a, b), np.arange(b, b + self.n_b)

    def summary(self) -> dict[str, int]:
        """What the pass saw and kept (for ``result.config["streamed"]``)."""
        return {
            "rows": self.rows,
            "train_rows": self.train_rows,
            "heldout_rows": self.heldout_rows,
            "train_sample": self.n_train,
            "heldout_sample": self.n_a + self.n_b,
        }


def _rows(a: Any) -> int | None:
    shape = getattr(a, "shape", None)
    return int(shape[0]) if shape is not None and len(shape) >= 1 else None


def is_stream(x: Any, y: Any) -> bool:
    """Whether ``(x, y)`` is streamed: ``y is None`` (``x`` an iterable of ``(x, y)`` batches), a
    memory-mapped array with more than :data:`STREAM_MIN_ROWS` rows, or any array that long."""
    if y is None:
        return True
    n = _rows(x)
    return n is not None and n > STREAM_MIN_ROWS and _rows(y) == n


def _mapping(a: Any) -> mmap.mmap | None:
    """The ``mmap`` behind a ``np.memmap`` (or a view of one), else ``None``."""
    while a is not None:
        mm = getattr(a, "_mmap", None)
        if isinstance(mm, mmap.mmap):
            return mm
        a = getattr(a, "base", None)
    return None


def _release(*arrays: Any) -> None:
    """Drop the pages of memory-mapped inputs from this process (the OS keeps them cached), so
    that reading a large file does not grow resident memory."""
    for a in arrays:
        mm = _mapping(a)
        if mm is not None and hasattr(mm, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
            try:
                mm.madvise(mmap.MADV_DONTNEED)
            except (OSError, ValueError):  # pragma: no cover - e.g. a closed or anonymous map
                pass


def _as_batch(b: Any, name: str, index: int) -> np.ndarray:
    if hasattr(b, "detach"):  # torch tensor, possibly on a GPU
        b = b.detach().cpu().numpy()
    try:
        return as_samples(b, name)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"batch {index}: {exc}") from None


def iter_batches(x: Any, y: Any, chunk_rows: int = CHUNK_ROWS) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Checked float64 batches ``(b, d_x)``, ``(b, d_y)`` of a stream.

    ``y is None``: ``x`` is an iterable of ``(x, y)`` pairs of arrays or tensors (a
    ``DataLoader`` yields lists ``[x, y]``). Otherwise ``x`` and ``y`` are arrays (memory-mapped
    or not) with the same number of rows, read ``chunk_rows`` rows at a time.

    Raises:
        TypeError: ``x`` is not iterable, a batch is not an ``(x, y)`` pair, non-numeric data.
        ValueError: NaN/inf, unequal row counts, widths that change between batches.
    """
    if y is None:
        if isinstance(x, np.ndarray) or hasattr(x, "detach") or not isinstance(x, Iterable):
            raise TypeError(
                "y is missing: pass x and y, or as x an iterable of (x, y) batches (e.g. a DataLoader)"
            )
        for i, batch in enumerate(x):
            if not isinstance(batch, (tuple, list)) or len(batch) != 2:
                raise TypeError(
                    f"batch {i} of the iterable is a {type(batch).__name__}, not an (x, y) pair"
                )
            xb, yb = _as_batch(batch[0], "x", i), _as_batch(batch[1], "y", i)
            if xb.shape[0] != yb.shape[0]:
                raise ValueError(f"batch {i}: x has {xb.shape[0]} rows and y {yb.shape[0]}")
            yield xb, yb
        return
    n, ny = _rows(x), _rows(y)
    if n is None or ny is None:
        raise TypeError("x and y must be arrays with a first (row) axis, or pass an iterable of batches as x")
    if n != ny:
        raise ValueError(f"x and y must have the same number of samples (rows); got {n} and {ny}")
    for i, start in enumerate(range(0, n, chunk_rows)):
        stop = min(n, start + chunk_rows)
        xb, yb = _as_batch(x[start:stop], "x", i), _as_batch(y[start:stop], "y", i)
        _release(x, y)
        yield xb, yb


class _Reservoir:
    """A uniform random sample of at most ``cap`` rows of a stream (the rows with the smallest
    random keys)."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.keys: list[np.ndarray] = []
        self.xs: list[np.ndarray] = []
        self.ys: list[np.ndarray] = []
        self.held = 0
        self.seen = 0

    def add(self, keys: np.ndarray, xb: np.ndarray, yb: np.ndarray) -> None:
        self.seen += keys.shape[0]
        if not keys.shape[0]:
            return
        self.keys.append(keys)
        self.xs.append(xb)
        self.ys.append(yb)
        self.held += keys.shape[0]
        if self.held > self.cap + max(self.cap // 4, CHUNK_ROWS):
            self._prune()

    def _prune(self) -> None:
        keys = np.concatenate(self.keys)
        keep = np.argsort(keys, kind="stable")[: self.cap]
        self.keys = [keys[keep]]
        self.xs = [np.concatenate(self.xs)[keep]]
        self.ys = [np.concatenate(self.ys)[keep]]
        self.held = keep.shape[0]

    def rows(self, dx: int, dy: int) -> tuple[np.ndarray, np.ndarray]:
        """The kept rows in key order (a random order)."""
        if not self.keys:
            return np.empty((0, dx)), np.empty((0, dy))
        self._prune()
        return self.xs[0], self.ys[0]


def collect(
    x: Any,
    y: Any,
    test_size: float,
    seed: int,
    train_rows: int = TRAIN_ROWS,
    heldout_rows: int = HELDOUT_ROWS,
) -> StreamSample:
    """One pass over a stream: check every row, split it, keep uniform samples (module docstring).

    Args:
        x, y: arrays (memory-mapped or not) ``(n, d_x)``, ``(n, d_y)``; or ``x`` an iterable of
            ``(x, y)`` batches and ``y`` ``None``.
        test_size: share of the rows held out (half in each fold).
        seed: seeds the split coins and the sampling keys.
        train_rows, heldout_rows: caps of the training sample and of the two folds together.

    Raises:
        ValueError: bad values (see :func:`iter_batches`), widths changing between batches,
            or too few rows for a training part and two held-out folds.
    """
    train = _Reservoir(train_rows)
    folds = [_Reservoir(heldout_rows // 2), _Reservoir(heldout_rows - heldout_rows // 2)]
    widths: tuple[int, int] | None = None
    rows = 0
    for i, (xb, yb) in enumerate(iter_batches(x, y)):
        if widths is None:
            widths = (xb.shape[1], yb.shape[1])
        elif (xb.shape[1], yb.shape[1]) != widths:
            raise ValueError(
                f"batch {i} has {xb.shape[1]} x and {yb.shape[1]} y columns; the first had {widths[0]} and {widths[1]}"
            )
        rng = np.random.default_rng([int(seed), 0x5EED, i])
        coin = rng.random(xb.shape[0])
        keys = rng.random(xb.shape[0])
        rows += xb.shape[0]
        held = coin < test_size
        in_a = coin < test_size / 2
        for reservoir, mask in ((train, ~held), (folds[0], in_a), (folds[1], held & ~in_a)):
            reservoir.add(keys[mask], xb[mask], yb[mask])
    if widths is None:
        raise ValueError("the data have no rows (the iterable yielded no batch)")
    xt, yt = train.rows(*widths)
    xa, ya = folds[0].rows(*widths)
    xb_, yb_ = folds[1].rows(*widths)
    if min(xt.shape[0], xa.shape[0], xb_.shape[0]) < 2:
        raise ValueError(
            f"only {rows} rows: too few to split into a training part and two held-out folds "
            f"(test_size={test_size})"
        )
    return StreamSample(
        x=np.concatenate([xt, xa, xb_]),
        y=np.concatenate([yt, ya, yb_]),
        n_train=xt.shape[0],
        n_a=xa.shape[0],
        n_b=xb_.shape[0],
        rows=rows,
        train_rows=train.seen,
        heldout_rows=folds[0].seen + folds[1].seen,
    )
