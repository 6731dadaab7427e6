"""The results of ``neuralmi bench``: ``results.csv`` (one row per cell, appended and synced as
cells finish, so an interrupted run resumes) and ``results.json`` (rewritten per cell)."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

from .methods import BenchError

__all__ = ["COLUMNS", "ResultStore", "read_results"]

#: the columns of results.csv, in order
COLUMNS: tuple[str, ...] = (
    "task",
    "family",
    "dim_x",
    "dim_y",
    "n",
    "method",
    "library",
    "seed",
    "estimate",
    "stderr",
    "truth",
    "abs_error",
    "seconds",
    "error",
    "warnings",
)
_INT_COLUMNS = ("dim_x", "dim_y", "n", "seed")
_FLOAT_COLUMNS = ("estimate", "stderr", "truth", "abs_error", "seconds")


def _cell_key(row: dict[str, Any]) -> tuple[str, str, int, int]:
    """A cell: (task, method, seed, n); a folder may hold several sample sizes."""
    return (row["task"], row["method"], int(row["seed"]), int(row["n"]))


def _parse_row(raw: dict[str, str | None]) -> dict[str, Any] | None:
    """A row of results.csv as typed values, or None when it is malformed (e.g. cut short)."""
    if None in raw or any(raw.get(c) is None for c in COLUMNS):
        return None
    row: dict[str, Any] = {c: raw[c] for c in COLUMNS}
    try:
        for c in _INT_COLUMNS:
            row[c] = int(raw[c])  # type: ignore[arg-type]
        for c in _FLOAT_COLUMNS:
            text = raw[c]
            row[c] = float(text) if text not in ("", None) else None
    except ValueError:
        return None
    if not row["task"] or not row["method"]:
        return None
    row["error"] = row["error"] or None
    row["warnings"] = row["warnings"] or None
    if row["estimate"] is None and row["error"] is None:
        return None
    return row


def read_results(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a ``results.csv`` (typed; malformed rows skipped; the last row of a cell,
    ``(task, method, seed, n)``, wins).

    Raises:
        ValueError: the file is not a results file of ``neuralmi bench``.
    """
    rows, _ = _read_results(Path(path))
    return rows


def _read_results(path: Path) -> tuple[list[dict[str, Any]], int]:
    if not path.exists():
        return [], 0
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None:
            return [], 0
        missing = [c for c in COLUMNS if c not in reader.fieldnames]
        if missing:
            raise BenchError(f"{path}: not a neuralmi bench results file (missing columns {', '.join(missing)})")
        cells: dict[tuple[str, str, int, int], dict[str, Any]] = {}
        bad = 0
        for raw in reader:
            row = _parse_row(raw)
            if row is None:
                bad += 1
                continue
            cells.pop(_cell_key(row), None)
            cells[_cell_key(row)] = row
    return list(cells.values()), bad


def _fmt_float(value: float | None) -> str:
    return "" if value is None else repr(float(value))


class ResultStore:
    """results.csv (append, flush and fsync per cell) plus results.json (rewritten per cell)."""

    def __init__(self, out: Path) -> None:
        self.csv_path = out / "results.csv"
        self.json_path = out / "results.json"
        rows, bad = _read_results(self.csv_path)
        self.rows: dict[tuple[str, str, int, int], dict[str, Any]] = {_cell_key(r): r for r in rows}
        self.dropped = bad
        if bad or self._has_duplicates():
            self._rewrite()

    def _has_duplicates(self) -> bool:
        if not self.csv_path.exists():
            return False
        with self.csv_path.open(newline="", encoding="utf-8") as fh:
            lines = sum(1 for _ in csv.reader(fh))
        return lines - 1 != len(self.rows)

    def _rewrite(self) -> None:
        tmp = self.csv_path.with_suffix(".csv.tmp")
        with tmp.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(COLUMNS)
            for row in self.rows.values():
                writer.writerow(self._cells(row))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.csv_path)
        self.write_json()

    @staticmethod
    def _cells(row: dict[str, Any]) -> list[str]:
        out = []
        for c in COLUMNS:
            value = row.get(c)
            if c in _FLOAT_COLUMNS:
                out.append(_fmt_float(value))
            else:
                out.append("" if value is None else str(value))
        return out

    def done(self, key: tuple[str, str, int, int], retry_errors: bool) -> bool:
        """Whether the cell ``(task, method, seed, n)`` has a row (with no error, when
        ``retry_errors``)."""
        row = self.rows.get(key)
        return row is not None and not (retry_errors and row["error"] is not None)

    def add(self, row: dict[str, Any]) -> None:
        key = _cell_key(row)
        replaced = key in self.rows
        self.rows.pop(key, None)
        self.rows[key] = row
        if replaced:  # a retried cell: keep one row per cell
            self._rewrite()
            return
        new = not self.csv_path.exists() or self.csv_path.stat().st_size == 0
        with self.csv_path.open("a", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            if new:
                writer.writerow(COLUMNS)
            writer.writerow(self._cells(row))
            fh.flush()
            os.fsync(fh.fileno())
        self.write_json()

    def write_json(self) -> None:
        tmp = self.json_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(list(self.rows.values()), indent=1, allow_nan=False) + "\n", encoding="utf-8")
        os.replace(tmp, self.json_path)
