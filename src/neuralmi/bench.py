r"""``neuralmi bench``: score MI estimators on the benchmark tasks with known MI.

The grid is *tasks x methods x seeds*. For every task (:mod:`neuralmi.tasks`) and seed ``s``
one sample of ``n`` pairs is drawn (``task.sample(n, seed=s)``) and every selected method
estimates I(X; Y) on that very sample with its **default settings**:

* neural (this library): ``neuralmi.estimate(x, y, method=m, seed=s)`` for ``mine``, ``dv``,
  ``nwj``, ``infonce``, ``js``, ``smile``, ``tuba``, ``minee`` (``--options`` overrides
  settings, e.g. for quick tests);
* baselines (this library, :mod:`neuralmi.nonparametric`): ``ksg`` (k = 3), ``ksg_lnc``
  (k = 5, so only where d_x + d_y <= 5), ``gaussian`` (the Gaussian/CCA closed form) and
  ``binned`` (only where d_x, d_y <= 3 and d_x + d_y <= 4);
* peers (``--peers``): benchmark-mi's and torch-mist's estimators, run in the peers' own
  Python environment by the runner ``neuralmi/_peers_runner.py`` (see its docstring for the
  protocol), fed the same samples through ``.npz`` files. The peers pin numpy<2 and
  jax==0.4.30, so they cannot share neuralmi's environment;
  ``bash benchmarks/setup_peers.sh .venv-peers`` (in a neuralmi checkout) creates theirs.

One *cell* is one (task, method, seed). Every finished cell is appended to ``results.csv``
(flushed and synced to disk at once) and ``results.json`` is rewritten, so an interrupted run
loses at most the cell in flight; rerunning the same command skips the cells already in
``results.csv`` (delete a row to recompute it). Failures (exceptions, time-outs, NaN) are
recorded as cells with an ``error`` and no estimate; ``--retry-errors`` recomputes them.
``config.json`` pins the settings that make cells comparable (``n``, ``--options`` and the
neural estimators' default settings): resuming into a folder made with other settings is
refused.

Cells run one at a time (ours in this process, the peers' in one long-lived subprocess that
waits idle meanwhile), so ``seconds`` is the wall time of one estimator call on an otherwise
idle process tree (for ours: the ``estimate`` call, pre-processing included; for the peers:
construction + fit + estimate, imports excluded).

At the end, the summary (mean absolute error and median seconds per method, overall and per
task family) is printed and written to ``summary.md``, and the figures to ``figure.png``
(estimate vs truth; error vs time per method) and ``tasks.png`` (estimates per task).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import csv
import dataclasses
import datetime
import json
import math
import os
import platform
import select
import subprocess
import sys
import time
import warnings
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from ._peers_runner import _time_limit, _Timeout

__all__ = [
    "DESCRIPTION",
    "BenchConfig",
    "OUR_METHODS",
    "NEURAL_METHODS",
    "BASELINE_METHODS",
    "DEFAULT_PEERS",
    "SLOW_PEERS",
    "COLUMNS",
    "add_arguments",
    "main",
    "run_bench",
    "resolve_tasks",
    "resolve_methods",
    "applicable",
    "parse_options",
    "read_results",
    "summarize",
    "plot",
]

DESCRIPTION = """Score MI estimators on the benchmark tasks with known MI (and, with --peers, the peer libraries).

Runs the grid tasks x methods x seeds at n samples: every method sees the same samples of a
(task, seed), with its default settings. Writes results.csv / results.json (one row per cell,
appended as cells finish: an interrupted run resumes where it stopped when the same command is
run again), summary.md (mean absolute error and median seconds per method, overall and per
task family; also printed), figure.png (estimate vs truth; error vs time per method) and
tasks.png (every estimate per task) to --out.

examples:
  neuralmi bench --tasks 'gauss-*' --methods mine,ksg --seeds 1
  neuralmi bench --peers --out runs/bench            # the full grid, with the peers
  neuralmi bench --methods gaussian,mine --options steps=50   # quick settings for a smoke test
"""

#: this library's neural methods, in the order they run
NEURAL_METHODS: tuple[str, ...] = ("mine", "dv", "nwj", "infonce", "js", "smile", "tuba", "minee")
#: this library's non-parametric / closed-form baselines
BASELINE_METHODS: tuple[str, ...] = ("ksg", "ksg_lnc", "gaussian", "binned")
OUR_METHODS: tuple[str, ...] = NEURAL_METHODS + BASELINE_METHODS

#: the peers run by ``--peers`` unless ``--peer-methods`` says otherwise: the library-default
#: estimators that take ~0.1-90 s per case at n = 10,000 on a 2-core CPU
DEFAULT_PEERS: tuple[str, ...] = (
    "bmi:ksg",
    "bmi:cca",
    "bmi:mine",
    "bmi:infonce",
    "bmi:nwj",
    "bmi:dv",
    "torch_mist:nwj",
    "torch_mist:js",
    "torch_mist:smile",
    "torch_mist:tuba",
    "torch_mist:infonce",
)
#: peers left out of the default set, and why (measured in benchmarks/results/peers-baseline)
SLOW_PEERS: dict[str, str] = {
    "torch_mist:mine": "230 s on a 1-D Gaussian (no early stopping by default)",
    "torch_mist:doe": "150 s on a 1-D Gaussian (no early stopping by default)",
    "torch_mist:club": "146 s on a 1-D Gaussian; an upper bound, not an estimate",
    "torch_mist:binned": "87 s on a 1-D Gaussian (no early stopping by default)",
    "torch_mist:pq": "290 s on a 1-D Gaussian (no early stopping by default)",
    "torch_mist:l1out": "over 300 s at d = 5 (no early stopping by default)",
    "torch_mist:gm": "over 300 s at d = 25",
    "torch_mist:alpha_tuba": "large negative values or NaN on most cases with its defaults",
    "torch_mist:flo": "large negative values or NaN on most cases with its defaults",
    "bmi:histogram": "fails for d_x + d_y > 32; 0.3-1.3 nats off at d <= 6",
    "bmi:kde": "diverges with the dimension (17 nats for a 1.2-nat task at d = 25)",
}

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

#: settings of the neural estimators that do not change an estimate (left out of the
#: fingerprint that guards resumption)
_NEUTRAL_SETTINGS = ("progress", "device", "threads", "seed", "method", "critic")

_PEERS_READY_TIMEOUT = 600.0  # seconds for the peers' process to import its libraries
_PEERS_GRACE = 120.0  # seconds past --timeout before a silent peers process is killed
_MAX_PEER_RESTARTS = 3


class BenchError(ValueError):
    """A usage or setup problem of ``neuralmi bench`` (one line, exit status 2 on the CLI)."""


# ---------------------------------------------------------------------------------------------
# configuration
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchConfig:
    """One benchmark run.

    Attributes:
        tasks: registered task names (see :func:`resolve_tasks`).
        methods: our methods (subset of :data:`OUR_METHODS`), in order.
        peer_methods: peer methods (``"bmi:ksg"``, ...); empty: no peers.
        n: samples per (task, seed).
        seeds: seeds ``0 .. seeds-1`` (for the task's sample and the estimator).
        peer_seeds: the peers run on seeds ``0 .. peer_seeds-1`` only (``<= seeds``).
        options: settings passed to every neural estimate (fields of
            :class:`~neuralmi.EstimatorConfig`); empty means the defaults.
        timeout: seconds after which one estimator call is abandoned and recorded as failed
            (None: no limit).
        out: output folder.
        peers_python: the peers' Python interpreter (needed when ``peer_methods``).
        retry_errors: recompute cells recorded with an error.
        progress: a progress bar on a terminal, one line per cell otherwise; False: silent.
    """

    tasks: tuple[str, ...]
    methods: tuple[str, ...] = OUR_METHODS
    peer_methods: tuple[str, ...] = ()
    n: int = 10_000
    seeds: int = 3
    peer_seeds: int | None = None
    options: tuple[tuple[str, Any], ...] = ()
    timeout: float | None = 600.0
    out: Path = Path("runs/bench")
    peers_python: Path | None = None
    retry_errors: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        from .tasks import get

        if not self.tasks:
            raise BenchError("tasks: empty selection")
        for name in self.tasks:
            get(name)  # ValueError naming the unknown task
        unknown = [m for m in self.methods if m not in OUR_METHODS]
        if unknown:
            raise BenchError(f"methods: unknown method(s) {', '.join(unknown)}; known: {', '.join(OUR_METHODS)}")
        if not self.methods and not self.peer_methods:
            raise BenchError("methods: nothing to run (no method and no peer method)")
        for name, value in (("n", self.n), ("seeds", self.seeds)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise BenchError(f"{name} must be a positive integer; got {value!r}")
        if self.n < 10:
            raise BenchError(f"n must be at least 10; got {self.n}")
        peer_seeds = self.seeds if self.peer_seeds is None else self.peer_seeds
        if isinstance(peer_seeds, bool) or not isinstance(peer_seeds, int) or not 1 <= peer_seeds <= self.seeds:
            raise BenchError(f"peer_seeds must be an integer in [1, seeds={self.seeds}]; got {peer_seeds!r}")
        object.__setattr__(self, "peer_seeds", peer_seeds)
        if self.timeout is not None and not self.timeout > 0:
            raise BenchError(f"timeout must be positive (or None); got {self.timeout}")
        if self.peer_methods and self.peers_python is None:
            raise BenchError("peers_python: needed to run peer methods")
        object.__setattr__(self, "out", Path(self.out))
        object.__setattr__(self, "options", tuple(sorted(dict(self.options).items())))
        check_options(dict(self.options))


def check_options(options: dict[str, Any]) -> None:
    """Raise a ValueError/TypeError unless ``options`` are valid neural estimator settings."""
    from .estimators import EstimatorConfig

    for name in ("method", "seed", "progress"):
        if name in options:
            raise BenchError(f"options: {name!r} is set by the benchmark itself")
    unknown = sorted(set(options) - set(EstimatorConfig.options()))
    if unknown:
        raise BenchError(f"options: unknown option(s) {', '.join(unknown)}; valid: {', '.join(EstimatorConfig.options())}")
    EstimatorConfig(**options)  # ValueError/TypeError naming a bad value


def resolve_tasks(pattern: str | None) -> list[str]:
    """Task names for a selection: None/"all" (the benchmark suite), or comma-separated names
    and ``fnmatch`` patterns (``"gauss-*,student-t-*"``), in the suite's order.

    Raises:
        BenchError: a name or pattern that matches nothing.
    """
    from .tasks import BENCHMARK, names

    every = names()  # builds the suite
    order = {name: i for i, name in enumerate(BENCHMARK)}
    if pattern is None or pattern.strip() == "all":
        chosen = list(every)
    else:
        items = [p.strip() for p in pattern.split(",") if p.strip()]
        if not items:
            raise BenchError("--tasks: empty selection")
        chosen = []
        for item in items:
            found = names(item)
            if not found:
                raise BenchError(f"--tasks: no task matches {item!r} (list them with: python -c 'import neuralmi; print(neuralmi.tasks.names())')")
            chosen.extend(n for n in found if n not in chosen)
    return sorted(chosen, key=lambda n: (order.get(n, len(order)), n))


def resolve_methods(text: str | None) -> list[str]:
    """Our methods for a selection: None/"all", "none", or comma-separated names and the groups
    "neural" and "baselines".

    Raises:
        BenchError: an unknown name.
    """
    if text is None or text.strip() == "all":
        return list(OUR_METHODS)
    items = [p.strip() for p in text.split(",") if p.strip()]
    if items == ["none"]:
        return []
    if not items:
        raise BenchError("--methods: empty selection (use 'none' to run only the peers)")
    out: list[str] = []
    for item in items:
        if item == "neural":
            chosen = list(NEURAL_METHODS)
        elif item == "baselines":
            chosen = list(BASELINE_METHODS)
        elif item in OUR_METHODS:
            chosen = [item]
        elif ":" in item:
            raise BenchError(f"--methods: {item!r} is a peer method; select peers with --peers --peer-methods")
        else:
            raise BenchError(
                f"--methods: unknown method {item!r}; known: {', '.join(OUR_METHODS)}, 'neural', 'baselines', 'all', 'none'"
            )
        out.extend(m for m in chosen if m not in out)
    return out


def resolve_peer_methods(text: str | None) -> list[str]:
    """Peer methods for a selection: None/"default" (:data:`DEFAULT_PEERS`), "all", library
    names ("bmi", "torch_mist") or comma-separated ``library:method`` names (the runner's
    ``--list``).

    Raises:
        BenchError: an unknown name.
    """
    from ._peers_runner import METHODS  # the runner's registry; imports only numpy

    if text is None or text.strip() == "default":
        return list(DEFAULT_PEERS)
    items = [p.strip() for p in text.split(",") if p.strip()]
    if not items:
        raise BenchError("--peer-methods: empty selection")
    libraries = {m.library for m in METHODS.values()}
    out: list[str] = []
    for item in items:
        if item == "default":
            chosen = list(DEFAULT_PEERS)
        elif item == "all":
            chosen = list(METHODS)
        elif item in libraries:
            chosen = [name for name, m in METHODS.items() if m.library == item]
        elif item in METHODS:
            chosen = [item]
        else:
            raise BenchError(
                f"--peer-methods: unknown peer method {item!r}; known: {', '.join(METHODS)}, "
                f"{', '.join(sorted(libraries))}, 'default', 'all'"
            )
        out.extend(m for m in chosen if m not in out)
    return out


def parse_options(items: Sequence[str] | None) -> dict[str, Any]:
    """``["steps=50", "hidden=(64, 64)"]`` -> ``{"steps": 50, "hidden": (64, 64)}``.

    Values are Python literals where they parse as one (numbers, tuples, True/None), strings
    otherwise.

    Raises:
        BenchError: an item without ``=``, or a key given twice.
    """
    out: dict[str, Any] = {}
    for item in items or ():
        key, sep, text = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise BenchError(f"--options: expected KEY=VALUE, got {item!r}")
        if key in out:
            raise BenchError(f"--options: {key!r} given twice")
        try:
            value: Any = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError):
            value = text.strip()
        out[key] = value
    return out


def applicable(method: str, dim_x: int, dim_y: int) -> str | None:
    """Why ``method`` (with its defaults) cannot run on a task of these dimensions, or None."""
    if method == "binned":
        from .nonparametric import _MAX_BINNED_DIM, _MAX_BINNED_JOINT_DIM

        if dim_x > _MAX_BINNED_DIM or dim_y > _MAX_BINNED_DIM or dim_x + dim_y > _MAX_BINNED_JOINT_DIM:
            return f"binned needs d_x, d_y <= {_MAX_BINNED_DIM} and d_x + d_y <= {_MAX_BINNED_JOINT_DIM}"
    if method == "ksg_lnc" and dim_x + dim_y > 5:
        return "ksg_lnc with its default k = 5 needs d_x + d_y <= 5"
    return None


def neural_defaults() -> dict[str, Any]:
    """The neural estimators' default settings that can change an estimate (JSON-ready)."""
    from .estimators import EstimatorConfig

    config = dataclasses.asdict(EstimatorConfig())
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in config.items() if k not in _NEUTRAL_SETTINGS}


# ---------------------------------------------------------------------------------------------
# results file
# ---------------------------------------------------------------------------------------------


def _cell_key(row: dict[str, Any]) -> tuple[str, str, int]:
    return (row["task"], row["method"], int(row["seed"]))


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
    """The rows of a ``results.csv`` (typed; malformed rows skipped; the last row of a cell
    wins).

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
        cells: dict[tuple[str, str, int], dict[str, Any]] = {}
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
        self.rows: dict[tuple[str, str, int], dict[str, Any]] = {_cell_key(r): r for r in rows}
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

    def done(self, key: tuple[str, str, int], retry_errors: bool) -> bool:
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


# ---------------------------------------------------------------------------------------------
# running our methods
# ---------------------------------------------------------------------------------------------


def _estimate_ours(
    method: str, x: np.ndarray, y: np.ndarray, seed: int, options: dict[str, Any]
) -> tuple[float, float | None, list[str]]:
    """(estimate, stderr, warnings) of one of our methods with its default settings."""
    from . import nonparametric
    from .estimators import estimate

    if method in NEURAL_METHODS:
        result = estimate(x, y, method=method, seed=seed, progress=False, **options)
        return result.mi, result.stderr, list(result.warnings)
    if method in ("ksg", "gaussian"):
        result = estimate(x, y, method=method)
        return result.mi, result.stderr, list(result.warnings)
    if method == "ksg_lnc":
        return nonparametric.ksg_lnc(x, y), None, []
    if method == "binned":
        return nonparametric.binned_mi(x, y), None, []
    raise BenchError(f"unknown method {method!r}")


def _run_ours(
    method: str, x: np.ndarray, y: np.ndarray, seed: int, options: dict[str, Any], timeout: float | None
) -> dict[str, Any]:
    """Run one of our methods; a failure of the estimator is recorded, not raised."""
    import torch

    out: dict[str, Any] = {"estimate": None, "stderr": None, "seconds": None, "error": None, "warnings": None}
    caught: list[str] = []
    start = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            with _time_limit(timeout):
                value, stderr, notes = _estimate_ours(method, x, y, seed, options)
            out["seconds"] = time.perf_counter() - start
        caught = notes + [str(w.message) for w in seen]
        if math.isfinite(value):
            out["estimate"] = float(value)
            out["stderr"] = float(stderr) if stderr is not None and math.isfinite(stderr) else None
        else:
            out["error"] = f"non-finite estimate: {value!r}"
    # A failing estimator is a measurement of the benchmark, not a crash of it. These are the
    # ways an estimate fails (bad numerics, degenerate data, out of memory, time-out); a
    # TypeError would be a bug in the harness and is left to propagate.
    except (ValueError, RuntimeError, ArithmeticError, MemoryError, np.linalg.LinAlgError, torch.OutOfMemoryError, _Timeout) as exc:
        out["seconds"] = time.perf_counter() - start
        out["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
    unique = list(dict.fromkeys(w.splitlines()[0][:200] for w in caught if w))
    out["warnings"] = " | ".join(unique)[:600] or None
    return out


# ---------------------------------------------------------------------------------------------
# the peers' process
# ---------------------------------------------------------------------------------------------


def runner_path() -> Path:
    """The peers runner script that ships with neuralmi."""
    return Path(__file__).resolve().with_name("_peers_runner.py")


def default_peers_python() -> Path | None:
    """``.venv-peers/bin/python`` in the working directory, else in the neuralmi checkout."""
    candidates = [Path(".venv-peers") / "bin" / "python", Path(__file__).resolve().parents[2] / ".venv-peers" / "bin" / "python"]
    for c in candidates:
        if c.exists():
            return c
    return None


_SETUP_HINT = (
    "create it with `bash benchmarks/setup_peers.sh .venv-peers` in a neuralmi source checkout, "
    "or pass --peers-python PATH to a Python that has benchmark-mi and torch-mist"
)


class _LineReader:
    """Line reader over a pipe with a deadline (no blocking past it)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buf = b""
        self.eof = False

    def readline(self, deadline: float | None) -> str | None:
        """The next line; "" at end of file; None when the deadline passed first."""
        while b"\n" not in self.buf:
            if self.eof:
                line, self.buf = self.buf, b""
                return line.decode("utf-8", "replace")
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([self.fd], [], [], wait)
            if not ready:
                return None
            chunk = os.read(self.fd, 65536)
            if not chunk:
                self.eof = True
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode("utf-8", "replace") + "\n"


class PeersProcess:
    """The peers' runner in serve mode (``python _peers_runner.py --serve``), restarted when it dies.

    Args:
        python: the peers' interpreter.
        log: file that receives the process's stderr (what the libraries print).
    """

    def __init__(self, python: Path, log: Path, runner: Path | None = None) -> None:
        self.python = Path(python)
        self.log_path = log
        self.runner = runner or runner_path()
        self.proc: subprocess.Popen[bytes] | None = None
        self.reader: _LineReader | None = None
        self.log: TextIO | None = None
        self.ready: dict[str, Any] = {}
        self._jobs = 0

    def start(self) -> dict[str, Any]:
        """Start the process and return its ``ready`` message.

        Raises:
            BenchError: it cannot start, or does not speak the protocol.
        """
        self.close()
        if not self.python.exists():
            raise BenchError(f"peers' Python not found: {self.python}; {_SETUP_HINT}")
        self.log = self.log_path.open("a", encoding="utf-8")
        self.log.write(f"\n=== {datetime.datetime.now().isoformat(timespec='seconds')} {self.python} {self.runner} --serve\n")
        self.log.flush()
        try:
            self.proc = subprocess.Popen(
                [str(self.python), str(self.runner), "--serve"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self.log,
            )
        except OSError as exc:
            raise BenchError(f"cannot start the peers' Python {self.python}: {exc}; {_SETUP_HINT}") from None
        assert self.proc.stdout is not None  # noqa: S101 - set by Popen above
        self.reader = _LineReader(self.proc.stdout.fileno())
        line = self.reader.readline(time.monotonic() + _PEERS_READY_TIMEOUT)
        message = self._decode(line) if line else None
        if message is None or message.get("event") != "ready":
            self.close()
            raise BenchError(
                f"the peers' Python {self.python} did not start the runner (no 'ready' message; see {self.log_path}); {_SETUP_HINT}"
            )
        self.ready = message
        return message

    @staticmethod
    def _decode(line: str) -> dict[str, Any] | None:
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            return None
        return message if isinstance(message, dict) else None

    def close(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                with contextlib.suppress(OSError):
                    assert self.proc.stdin is not None  # noqa: S101
                    self.proc.stdin.close()
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            for stream in (self.proc.stdin, self.proc.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
            self.proc = None
        if self.log is not None:
            self.log.close()
            self.log = None

    def _kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.close()

    def run(
        self, samples: Path, seed: int, methods: Sequence[str], timeout: float | None
    ) -> Iterator[dict[str, Any]]:
        """Run the methods on one samples file; yields one record per method, as they finish.

        A method during which the process dies, or stays silent for ``timeout`` + 120 s, gets
        an error record; the process is restarted for the remaining methods.
        """
        pending = list(methods)
        restarts = 0
        while pending:
            if self.proc is None or self.proc.poll() is not None:
                self.start()
            self._jobs += 1
            job_id = f"job{self._jobs}"
            job = {"id": job_id, "samples": str(samples), "seed": seed, "methods": pending, "timeout": timeout}
            try:
                assert self.proc is not None and self.proc.stdin is not None  # noqa: S101
                self.proc.stdin.write((json.dumps(job) + "\n").encode())
                self.proc.stdin.flush()
            except (BrokenPipeError, OSError):
                self._kill()
                restarts += 1
                if restarts > _MAX_PEER_RESTARTS:
                    break
                continue
            current: str | None = None
            limit = None if timeout is None else timeout + _PEERS_GRACE
            deadline = None if limit is None else time.monotonic() + limit
            failure: str | None = None
            while True:
                assert self.reader is not None  # noqa: S101
                line = self.reader.readline(deadline)
                if line is None:
                    failure = f"killed: the peers' process gave no answer for {limit:g} s"
                    break
                if line == "":
                    code = self.proc.wait() if self.proc is not None else None
                    failure = f"the peers' process exited (status {code}; see {self.log_path.name})"
                    break
                message = self._decode(line)
                if message is None or message.get("id") != job_id:
                    continue
                event = message.get("event")
                if event == "start":
                    current = message.get("method")
                    deadline = None if limit is None else time.monotonic() + limit
                elif event == "record" and message.get("method") in pending:
                    pending.remove(message["method"])
                    current = None
                    yield message
                elif event == "done":
                    break
            if failure is None:
                if pending:  # the runner skipped methods: should not happen
                    for m in pending:
                        yield self._failed(m, "no record from the peers' process")
                    pending = []
                break
            self._kill()
            victim = current if current in pending else (pending[0] if pending else None)
            if victim is not None:
                pending.remove(victim)
                yield self._failed(victim, failure, seconds=limit if failure.startswith("killed") else None)
            restarts += 1
            if restarts > _MAX_PEER_RESTARTS:
                break
        for m in pending:
            yield self._failed(m, "not run: the peers' process failed repeatedly")

    @staticmethod
    def _failed(method: str, error: str, seconds: float | None = None) -> dict[str, Any]:
        return {
            "event": "record",
            "library": method.split(":", 1)[0],
            "method": method,
            "estimate": None,
            "seconds": seconds,
            "error": error,
        }


# ---------------------------------------------------------------------------------------------
# the grid
# ---------------------------------------------------------------------------------------------


def _versions() -> dict[str, str]:
    import scipy
    import torch

    from . import __version__

    return {
        "neuralmi": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "torch": torch.__version__,
        "platform": platform.platform(),
        "cpus": str(os.cpu_count()),
        "git_commit": _git_commit(),
    }


def _git_commit() -> str | None:
    """The commit of the source checkout neuralmi runs from (None: not a git checkout)."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        proc = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def command(config: BenchConfig) -> str:
    """A ``neuralmi bench`` command line that reruns ``config`` (defaults left out)."""
    import shlex

    from .tasks import BENCHMARK

    parts = ["neuralmi", "bench"]
    if list(config.tasks) != list(BENCHMARK):
        parts += ["--tasks", ",".join(config.tasks)]
    if config.methods != OUR_METHODS:
        parts += ["--methods", ",".join(config.methods) or "none"]
    if config.n != 10_000:
        parts += ["--n", str(config.n)]
    if config.seeds != 3:
        parts += ["--seeds", str(config.seeds)]
    if config.options:
        parts += ["--options", *(f"{k}={v!r}" for k, v in config.options)]
    if config.timeout != 600.0:
        parts += ["--timeout", "none" if config.timeout is None else f"{config.timeout:g}"]
    if config.peer_methods:
        parts.append("--peers")
        if config.peer_methods != DEFAULT_PEERS:
            parts += ["--peer-methods", ",".join(config.peer_methods)]
        if config.peer_seeds != config.seeds:
            parts += ["--peer-seeds", str(config.peer_seeds)]
    parts += ["--out", str(config.out)]
    return " ".join(shlex.quote(p) for p in parts)


def _check_config_file(config: BenchConfig, peers_ready: dict[str, Any] | None) -> None:
    """Write config.json, or refuse to resume into a folder made with other settings."""
    path = config.out / "config.json"
    pinned = {"n": config.n, "options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in config.options}, "neural_defaults": neural_defaults()}
    previous: dict[str, Any] = {}
    if path.exists():
        try:
            previous = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BenchError(f"{path}: unreadable ({exc}); remove it or use another --out") from None
        for key, value in pinned.items():
            if key in previous and previous[key] != value:
                if key == "neural_defaults":
                    changed = sorted(k for k in set(value) | set(previous[key]) if value.get(k) != previous[key].get(k))
                    detail = ", ".join(f"{k}: {previous[key].get(k)!r} -> {value.get(k)!r}" for k in changed)
                    raise BenchError(
                        f"{config.out} holds results made with other neural default settings ({detail}); use another --out"
                    )
                raise BenchError(
                    f"{config.out} holds results made with {key} = {previous[key]!r}, this run asks for {value!r}; use another --out"
                )
    now = datetime.datetime.now().isoformat(timespec="seconds")
    record = {
        **pinned,
        "created": previous.get("created", now),
        "last_run": now,
        "command": command(config),
        "timeout": config.timeout,
        "versions": _versions(),
        "peers": previous.get("peers"),
    }
    if peers_ready is not None:
        record["peers"] = {"python": str(config.peers_python), "versions": peers_ready.get("versions")}
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


class _Progress:
    """A tqdm bar on a terminal, one line per cell otherwise, or nothing."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total = total
        self.count = 0
        self.enabled = enabled
        self.bar = None
        if enabled and total and sys.stderr.isatty():
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc="bench", unit="cell", dynamic_ncols=True)

    def start(self, text: str) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(text, refresh=True)

    def done(self, row: dict[str, Any]) -> None:
        self.count += 1
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(1)
            return
        est = "failed" if row["estimate"] is None else f"{row['estimate']:.4f}"
        secs = "-" if row["seconds"] is None else f"{row['seconds']:.1f} s"
        err = f"  [{row['error'][:80]}]" if row["error"] else ""
        width = len(str(self.total))
        print(
            f"[{self.count:>{width}}/{self.total}] {row['task']} {row['method']} seed {row['seed']}: "
            f"{est} (truth {row['truth']:.4f}) {secs}{err}",
            file=sys.stderr,
            flush=True,
        )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _make_row(task: Any, n: int, method: str, library: str, seed: int, out: dict[str, Any]) -> dict[str, Any]:
    truth = float(task.mi)
    est = out.get("estimate")
    if est is not None and not math.isfinite(est):
        out = {**out, "estimate": None, "error": out.get("error") or f"non-finite estimate: {est!r}"}
        est = None
    return {
        "task": task.name,
        "family": task.family,
        "dim_x": task.dim_x,
        "dim_y": task.dim_y,
        "n": n,
        "method": method,
        "library": library,
        "seed": seed,
        "estimate": est,
        "stderr": out.get("stderr"),
        "truth": truth,
        "abs_error": None if est is None else abs(est - truth),
        "seconds": out.get("seconds"),
        "error": (out.get("error") or None) and str(out["error"]).splitlines()[0][:500],
        "warnings": out.get("warnings") or None,
    }


def run_bench(config: BenchConfig) -> list[dict[str, Any]]:
    """Run the grid (skipping the cells already in ``config.out/results.csv``); returns every
    row of the results file.

    Raises:
        BenchError: bad settings, a results folder made with other settings, or a peers'
            environment that cannot run.
    """
    from .tasks import get

    config.out.mkdir(parents=True, exist_ok=True)
    store = ResultStore(config.out)
    options = dict(config.options)
    peers: PeersProcess | None = None
    try:
        ready = None
        if config.peer_methods:
            assert config.peers_python is not None  # noqa: S101 - checked by BenchConfig
            peers = PeersProcess(config.peers_python, config.out / "peers.log")
            ready = peers.start()
            known = ready.get("methods") or []
            unknown = [m for m in config.peer_methods if m not in known]
            if unknown:
                raise BenchError(f"--peer-methods: the peers' runner does not know {', '.join(unknown)}")
            missing = set(ready.get("missing") or [])
            absent = sorted({m.split(':')[0] for m in config.peer_methods} & missing)
            if absent:
                raise BenchError(f"the peers' Python {config.peers_python} lacks {', '.join(absent)}; {_SETUP_HINT}")
        _check_config_file(config, ready)

        # the pending cells, per (task, seed)
        plan: list[tuple[Any, int, list[str], list[str]]] = []
        total = 0
        for name in config.tasks:
            task = get(name)
            for seed in range(config.seeds):
                ours = [
                    m
                    for m in config.methods
                    if applicable(m, task.dim_x, task.dim_y) is None and not store.done((name, m, seed), config.retry_errors)
                ]
                theirs = []
                if seed < (config.peer_seeds or config.seeds):
                    theirs = [m for m in config.peer_methods if not store.done((name, m, seed), config.retry_errors)]
                if ours or theirs:
                    plan.append((task, seed, ours, theirs))
                    total += len(ours) + len(theirs)

        progress = _Progress(total, config.progress)
        if not plan and config.progress:
            print(f"nothing to run: every selected cell is already in {store.csv_path}", file=sys.stderr)
        samples_dir = config.out / ".samples"
        try:
            for task, seed, ours, theirs in plan:
                x, y = task.sample(config.n, seed=seed)
                for method in ours:
                    progress.start(f"{task.name} {method} s{seed}")
                    out = _run_ours(method, x, y, seed, options, config.timeout)
                    row = _make_row(task, config.n, method, "neuralmi", seed, out)
                    store.add(row)
                    progress.done(row)
                if theirs:
                    assert peers is not None  # noqa: S101
                    samples_dir.mkdir(exist_ok=True)
                    path = samples_dir / f"{task.name}-s{seed}.npz"
                    np.savez(path, x=x, y=y)
                    try:
                        progress.start(f"{task.name} peers s{seed}")
                        for record in peers.run(path, seed, theirs, config.timeout):
                            method = record["method"]
                            row = _make_row(task, config.n, method, str(record.get("library") or method.split(":")[0]), seed, record)
                            store.add(row)
                            progress.done(row)
                    finally:
                        path.unlink(missing_ok=True)
        finally:
            progress.close()
            with contextlib.suppress(OSError):
                samples_dir.rmdir()
    finally:
        if peers is not None:
            peers.close()
    return list(store.rows.values())


# ---------------------------------------------------------------------------------------------
# summary and figures
# ---------------------------------------------------------------------------------------------


def _method_order(rows: Sequence[dict[str, Any]]) -> list[str]:
    seen = list(dict.fromkeys(r["method"] for r in rows))
    rank = {m: i for i, m in enumerate(OUR_METHODS + DEFAULT_PEERS)}
    return sorted(seen, key=lambda m: (rank.get(m, len(rank)), m))


def _fmt(value: float | None, spec: str = ".3f") -> str:
    return "-" if value is None or not math.isfinite(value) else format(value, spec)


def _stats(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    errors = [r["abs_error"] for r in rows if r["abs_error"] is not None]
    seconds = [r["seconds"] for r in rows if r["seconds"] is not None and r["estimate"] is not None]
    return {
        "cells": len(rows),
        "failed": sum(1 for r in rows if r["estimate"] is None),
        "tasks": len({r["task"] for r in rows}),
        "mae": float(np.mean(errors)) if errors else None,
        "median_seconds": float(np.median(seconds)) if seconds else None,
    }


def summary_stats(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per method: overall and per-family statistics, and the tasks it is best on.

    Returns:
        ``{"methods": {method: {"library", "cells", "failed", "tasks", "mae",
        "median_seconds", "best_on", "families": {family: {...}}}}, "families": {family:
        n_tasks}}``. ``mae`` is the mean absolute error (nats) over the cells with an
        estimate; ``median_seconds`` the median wall time of those cells; ``best_on`` the
        number of tasks on which the method's mean absolute error over seeds is the smallest.
    """
    by_method: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_method[r["method"]].append(r)
    families: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        families[r["family"]].add(r["task"])
    # best method per task: smallest mean abs error over seeds (failed cells make a method ineligible)
    per_task: dict[str, dict[str, list[float | None]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        per_task[r["task"]][r["method"]].append(r["abs_error"])
    best: dict[str, int] = defaultdict(int)
    for task, methods in per_task.items():
        scores = {m: float(np.mean(v)) for m, v in methods.items() if v and all(e is not None for e in v)}
        if scores:
            best[min(scores, key=lambda m: scores[m])] += 1
    out: dict[str, Any] = {"methods": {}, "families": {f: len(t) for f, t in sorted(families.items())}}
    for method in _method_order(rows):
        mrows = by_method[method]
        stats = _stats(mrows)
        stats["library"] = mrows[0]["library"]
        stats["best_on"] = best.get(method, 0)
        stats["families"] = {}
        for fam in out["families"]:
            frows = [r for r in mrows if r["family"] == fam]
            if frows:
                stats["families"][fam] = _stats(frows)
        out["methods"][method] = stats
    return out


def summarize(rows: Sequence[dict[str, Any]], title: str | None = None) -> str:
    """Markdown tables: per method (overall) and per task family; see :func:`summary_stats`."""
    if not rows:
        return "no results yet\n"
    s = summary_stats(rows)
    methods = s["methods"]
    order = sorted(methods, key=lambda m: (methods[m]["mae"] is None, methods[m]["mae"] or 0.0))
    ns = sorted({r["n"] for r in rows})
    seeds = sorted({r["seed"] for r in rows})
    tasks = sorted({r["task"] for r in rows})
    lines = []
    if title:
        lines += [f"# {title}", ""]
    lines += [
        f"{len(tasks)} tasks, n = {', '.join(f'{v:,}' for v in ns)}, seeds {', '.join(map(str, seeds))}; "
        f"{len(rows)} cells. MAE: mean absolute error (nats) over the cells with an estimate; "
        "seconds: median wall time of one estimate; best on: tasks where the method has the "
        "smallest mean absolute error over seeds; failed: cells with no estimate (error, "
        "time-out or NaN), left out of the MAE.",
        "",
        "| method | library | tasks | cells | failed | MAE (nats) | median s | best on |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for m in order:
        st = methods[m]
        lines.append(
            f"| {m} | {st['library']} | {st['tasks']} | {st['cells']} | {st['failed']} | {_fmt(st['mae'])} "
            f"| {_fmt(st['median_seconds'], '.2f')} | {st['best_on']} |"
        )
    fams = list(s["families"])
    header = " | ".join(f"{f} ({s['families'][f]})" for f in fams)
    for what, key, spec in (("Mean absolute error (nats)", "mae", ".3f"), ("Median seconds", "median_seconds", ".2f")):
        lines += [
            "",
            f"{what} per task family (number of tasks in brackets; '-': not run or every cell failed):",
            "",
            f"| method | {header} |",
            "|---|" + "---:|" * len(fams),
        ]
        for m in order:
            fstats = methods[m]["families"]
            cells = [_fmt(fstats[f][key], spec) if f in fstats else "-" for f in fams]
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


_LIBRARY_COLORS = {"neuralmi": "tab:blue", "bmi": "tab:orange", "torch_mist": "tab:red"}


def _color(method: str, library: str) -> str:
    if library == "neuralmi" and method in BASELINE_METHODS:
        return "tab:green"
    return _LIBRARY_COLORS.get(library, "tab:gray")


def plot(rows: Sequence[dict[str, Any]], path: str | Path, tasks_path: str | Path | None = None) -> None:
    """Write the summary figure to ``path`` and, when ``tasks_path``, the per-task figure.

    ``path``: left, every method's mean estimate over seeds against the truth, one point per
    (task, method); right, mean absolute error against median seconds, one point per method.
    ``tasks_path``: one panel per task, every cell's estimate per method against the truth.
    """
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    if not rows:
        return
    s = summary_stats(rows)
    methods = _method_order(rows)
    library = {m: s["methods"][m]["library"] for m in methods}
    truths = {r["task"]: r["truth"] for r in rows}
    top = max(truths.values())

    fig = Figure(figsize=(15, 6.5), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    # left: mean estimate per (task, method) vs truth
    means: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in rows:
        if r["estimate"] is not None:
            means[(r["task"], r["method"])].append(r["estimate"])
    lo, hi = -0.1 * top - 0.5, 1.15 * top + 0.5
    for lib_is_ours in (False, True):  # ours on top
        for (task, m), vals in means.items():
            if (library[m] == "neuralmi") != lib_is_ours:
                continue
            est = float(np.mean(vals))
            clipped = float(np.clip(est, lo, hi))
            default = m == "mine"
            ax1.scatter(
                truths[task],
                clipped,
                s=60 if default else 18,
                marker="*" if default else ("o" if clipped == est else "v"),
                color="black" if default else _color(m, library[m]),
                alpha=1.0 if default else 0.55,
                zorder=3 if default else 2,
                linewidths=0,
            )
    ax1.plot([0, top], [0, top], color="black", lw=0.8, ls="--")
    ax1.set_xlabel("true MI (nats)")
    ax1.set_ylabel("estimate, mean over seeds (nats)")
    ax1.set_ylim(lo, hi)
    ax1.set_title("estimate vs truth (one point per task and method; clipped: triangles)")
    handles = [
        Line2D([], [], marker="*", color="black", ls="", markersize=10, label="neuralmi mine (default)"),
        Line2D([], [], marker="o", color="tab:blue", ls="", label="neuralmi neural"),
        Line2D([], [], marker="o", color="tab:green", ls="", label="neuralmi baselines"),
        Line2D([], [], marker="o", color="tab:orange", ls="", label="bmi"),
        Line2D([], [], marker="o", color="tab:red", ls="", label="torch_mist"),
    ]
    ax1.legend(handles=handles, loc="upper left", fontsize=8)
    # right: error vs time per method, labels nudged apart (greedy, in log-log units)
    points = []
    for m in methods:
        st = s["methods"][m]
        if st["mae"] is None or st["median_seconds"] is None or st["mae"] <= 0:
            continue
        t = max(st["median_seconds"], 1e-3)
        ax2.scatter(t, st["mae"], s=70 if m == "mine" else 35, color="black" if m == "mine" else _color(m, library[m]),
                    marker="*" if m == "mine" else "o", zorder=4 if m == "mine" else 3)
        note = f" ({st['failed']} failed)" if st["failed"] else ""
        points.append((math.log10(t), math.log10(st["mae"]), t, st["mae"], m + note))
    if points:
        ys = [p[1] for p in points]
        step = max(0.04, (max(ys) - min(ys)) / 40)  # one label height, in decades
        placed: list[tuple[float, float]] = []
        for lx, ly, t, mae, label in sorted(points, key=lambda p: (-p[1], p[0])):
            y = ly
            while any(abs(lx - px) < 0.9 and abs(y - py) < step for px, py in placed):
                y -= step
            placed.append((lx, y))
            note = ax2.annotate(label, (t, mae), xytext=(t * 1.12, 10 ** y), fontsize=7, va="center",
                                arrowprops={"arrowstyle": "-", "lw": 0.4, "color": "gray"} if y != ly else None)
            note.set_in_layout(False)
    ax2.set_xscale("log")
    ax2.set_yscale("log")
    ax2.set_xlabel("median seconds per estimate (log)")
    ax2.set_ylabel("mean absolute error, nats (log)")
    ax2.set_title("error vs time per method")
    ax2.grid(True, which="both", alpha=0.3)
    fig.suptitle(f"neuralmi bench: {len(truths)} tasks, n = {rows[0]['n']:,}")
    fig.savefig(path, dpi=110)

    if tasks_path is None:
        return
    order = list(dict.fromkeys(r["task"] for r in rows))
    cols = 6
    nrows = math.ceil(len(order) / cols)
    fig = Figure(figsize=(3.2 * cols, 0.16 * len(methods) * nrows + 1.2 * nrows + 0.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, cols, squeeze=False)).ravel()
    ypos = {m: i for i, m in enumerate(methods)}
    by_task: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_task[r["task"]].append(r)
    for ax, task in zip(axes, order):
        truth = truths[task]
        span = max(1.0, abs(truth))
        left, right = min(0.0, truth) - 0.3 * span, max(0.0, truth) + 0.6 * span
        for r in by_task[task]:
            y = ypos[r["method"]]
            if r["estimate"] is None:
                ax.scatter(left, y, marker="x", color="gray", s=12)
                continue
            e = float(np.clip(r["estimate"], left, right))
            ax.scatter(e, y, s=10, color="black" if r["method"] == "mine" else _color(r["method"], library[r["method"]]),
                       marker="o" if e == r["estimate"] else (">" if e == right else "<"), alpha=0.8, linewidths=0)
        ax.axvline(truth, color="black", lw=0.8)
        ax.set_xlim(left - 0.02 * span, right + 0.02 * span)
        ax.set_ylim(len(methods) - 0.5, -0.5)
        ax.set_yticks(range(len(methods)))
        ax.set_yticklabels(methods if ax in axes[::cols] else [], fontsize=6)
        ax.tick_params(axis="x", labelsize=6)
        ax.set_title(f"{task}\n(truth {truth:.3f})", fontsize=7)
        ax.grid(True, axis="x", alpha=0.3)
    for ax in axes[len(order):]:
        ax.set_visible(False)
    fig.suptitle("every estimate per task (vertical line: truth; x: failed; arrows: clipped)", fontsize=10)
    fig.savefig(tasks_path, dpi=90)


# ---------------------------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------------------------


def _timeout(text: str) -> float | None:
    if text.strip().lower() in ("none", "0"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds (or 'none'), got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected positive seconds (or 'none'), got {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``neuralmi bench``."""
    from .cli import _positive_int  # the command line's own argument types

    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--tasks", default="all", help="task names or fnmatch patterns, comma-separated, e.g. 'gauss-*,student-t-*' (default: all)")
    parser.add_argument(
        "--methods",
        default="all",
        help=f"our methods, comma-separated, or the groups 'neural', 'baselines', 'all' (default), 'none'; known: {', '.join(OUR_METHODS)}",
    )
    parser.add_argument("--n", type=_positive_int, default=10_000, help="samples per task and seed (default 10000)")
    parser.add_argument("--seeds", type=_positive_int, default=3, help="seeds 0..SEEDS-1 per task (default 3)")
    parser.add_argument("--out", default="runs/bench", help="output folder; rerunning into it resumes (default runs/bench)")
    parser.add_argument(
        "--options",
        nargs="+",
        metavar="KEY=VALUE",
        help="settings for every neural estimate instead of the defaults, e.g. --options steps=50 hidden='(32,)' (for quick runs)",
    )
    parser.add_argument("--timeout", type=_timeout, default=600.0, help="seconds before one estimate is abandoned and recorded as failed; 'none': no limit (default 600)")
    parser.add_argument("--retry-errors", action="store_true", help="recompute cells recorded with an error")
    parser.add_argument("--peers", action="store_true", help="also run the peer libraries (benchmark-mi, torch-mist) on the same samples")
    parser.add_argument(
        "--peer-methods",
        help=f"peer methods, comma-separated ('bmi:ksg,...'), 'bmi', 'torch_mist', 'all' or 'default' (default: {','.join(DEFAULT_PEERS)})",
    )
    parser.add_argument("--peer-seeds", type=_positive_int, help="run the peers on the first PEER_SEEDS seeds only (default: all seeds)")
    parser.add_argument(
        "--peers-python",
        help="Python of the peers' environment (default: .venv-peers/bin/python; create it with benchmarks/setup_peers.sh)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress output")


def config_from_args(args: argparse.Namespace) -> BenchConfig:
    """A :class:`BenchConfig` from parsed arguments (asks the peers' runner nothing)."""
    if not args.peers:
        given = [flag for flag, value in (("--peer-methods", args.peer_methods), ("--peer-seeds", args.peer_seeds), ("--peers-python", args.peers_python)) if value is not None]
        if given:
            raise BenchError(f"{', '.join(given)}: only with --peers")
    tasks = resolve_tasks(args.tasks)
    methods = resolve_methods(args.methods)
    options = parse_options(args.options)
    peer_methods: list[str] = []
    python: Path | None = None
    if args.peers:
        if args.peers_python is not None:
            python = Path(args.peers_python)
            if not python.exists():
                raise BenchError(f"--peers-python: {python} does not exist; {_SETUP_HINT}")
        else:
            python = default_peers_python()
            if python is None:
                raise BenchError(f"--peers: the peers' environment .venv-peers was not found; {_SETUP_HINT}")
        peer_methods = resolve_peer_methods(args.peer_methods)
    return BenchConfig(
        tasks=tuple(tasks),
        methods=tuple(methods),
        peer_methods=tuple(peer_methods),
        n=args.n,
        seeds=args.seeds,
        peer_seeds=args.peer_seeds,
        options=tuple(options.items()),
        timeout=args.timeout,
        out=Path(args.out),
        peers_python=python,
        retry_errors=args.retry_errors,
        progress=not args.quiet,
    )


def main(args: argparse.Namespace) -> int:
    """``neuralmi bench``: run the grid, then print and write the summary and figures."""
    config = config_from_args(args)
    t0 = time.perf_counter()
    rows = run_bench(config)
    wall = time.perf_counter() - t0
    text = summarize(rows, title="neuralmi bench")
    (config.out / "summary.md").write_text(text, encoding="utf-8")
    plot(rows, config.out / "figure.png", config.out / "tasks.png")
    if not args.quiet:
        print(text)
    print(
        f"wrote {config.out / 'results.csv'}, results.json, summary.md, figure.png, tasks.png ({wall:.0f} s)",
        file=sys.stderr if args.quiet else sys.stdout,
    )
    return 0
