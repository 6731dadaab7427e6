#!/usr/bin/env python
"""Run the peer MI libraries (benchmark-mi, torch-mist) with their default settings.

This script is deliberately standalone: it imports nothing from neuralmi and is run *by file
path* under the peers' own virtualenv (``benchmarks/setup_peers.sh``), because the peers pin
``numpy<2`` and ``jax==0.4.30``. ``neuralmi bench --peers`` starts it as a subprocess. It ships
with the package as data (``neuralmi/bench/scripts/``, a folder that is not a Python package)
so that an installed neuralmi (which has no ``benchmarks/`` folder) can run it, but no module
of neuralmi imports it. ``benchmarks/peers.py`` is a thin wrapper around it. One-shot use::

    .venv-peers/bin/python src/neuralmi/bench/scripts/peers_runner.py --samples case.npz --out peers.json
    .venv-peers/bin/python src/neuralmi/bench/scripts/peers_runner.py --list

The ``.npz`` file holds ``x`` with shape ``(n, dx)`` and ``y`` with shape ``(n, dy)``
(1-D arrays are read as one column). Every selected estimator is run on the same samples
with the library's out-of-the-box settings:

* ``bmi:*``: ``bmi.estimators.<Class>(seed=seed).estimate(x, y)`` (neural estimators:
  10,000 max steps, batch 256, 50/50 train/test split, MLP (16, 8), lr 0.1, early stopping;
  ``seed`` replaces bmi's own default seed 42). Only ``verbose=False`` is set (no
  progress bar; it does not change the estimate).
* ``torch_mist:*``: ``torch_mist.estimate_mi((x, y), estimator=name, verbose=False)``
  (5,000 max iterations, batch 128, hidden_dims [128], 10 % validation split with early
  stopping, MI evaluated on all samples), after seeding ``torch``, ``numpy`` and
  ``random`` with ``seed``. Inputs are passed as float32 tensors (the models are float32).

The output JSON is a list of records::

    {"library": "bmi", "method": "bmi:ksg", "estimate": 0.14 | null,
     "seconds": 12.3, "error": null | "ValueError: ..."}

``estimate`` is in nats; ``seconds`` is the wall time of the estimator call only
(construction + fit + estimate; imports are done before the clock starts). An estimator
that raises, times out or returns a non-finite value gets ``estimate: null`` and the
reason in ``error``; the run goes on with the next method.

**Serve mode** (``--serve``, used by ``neuralmi bench``): one long-lived process, so that the
libraries are imported (and JAX warmed up) once per benchmark rather than once per sample set.
The protocol is JSON, one object per line. The runner's protocol channel is its original
stdout; everything else the libraries print (Python or C level) goes to stderr.

1. runner -> caller, once at start::

       {"event": "ready", "protocol": 1, "methods": [...], "missing": [...],
        "versions": {"python": ..., "numpy": ..., "bmi": ..., "torch_mist": ...}}

   ``missing`` lists the libraries that are not importable (their methods cannot run).
2. caller -> runner, one job per line (stdin)::

       {"id": "any string", "samples": "/path/case.npz", "seed": 0,
        "methods": ["bmi:ksg", ...], "timeout": 600.0 | null}

3. runner -> caller, per method of the job: ``{"event": "start", "id": ..., "method": ...}``,
   then ``{"event": "record", "id": ..., <record as above>}``; after the last method
   ``{"event": "done", "id": ...}``. A job that cannot be read (bad file, unknown method)
   gets one record per method with the reason in ``error``, then ``done``.
4. The runner exits when stdin is closed.

Library use: ``run_peers(x, y, methods=None, seed=0, timeout=None) -> list[dict]``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import importlib.util
import json
import math
import os
import platform
import random
import signal
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

if __name__ == "__main__" and sys.path and sys.path[0]:
    # Run as a script, Python puts this file's folder first on sys.path; keep it off, so that
    # nothing shipped next to this script can ever shadow a peer library's imports.
    with contextlib.suppress(OSError):
        if Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
            del sys.path[0]

import numpy as np  # noqa: E402

__all__ = [
    "METHODS",
    "PeerMethod",
    "PROTOCOL",
    "main",
    "resolve_methods",
    "run_one",
    "run_peers",
    "serve",
    "versions",
]

#: version of the serve-mode protocol (see the module docstring)
PROTOCOL = 1

# A runner gets (x, y, seed) and returns a zero-argument callable; the returned callable is
# the only thing that is timed. Runners do their (slow) imports before returning it.
Runner = Callable[[np.ndarray, np.ndarray, int], Callable[[], float]]


@dataclass(frozen=True)
class PeerMethod:
    """One peer estimator.

    Attributes:
        name: ``"<library>:<method>"``, e.g. ``"bmi:ksg"``.
        library: ``"bmi"`` or ``"torch_mist"``.
        description: what is called, in one line.
        runner: builds the timed call, see ``Runner``.
    """

    name: str
    library: str
    description: str
    runner: Runner


# ---------------------------------------------------------------------------------------
# benchmark-mi (import name ``bmi``), JAX based
# ---------------------------------------------------------------------------------------

_BMI_CLASSES: dict[str, tuple[str, bool]] = {
    # method -> (class in bmi.estimators, takes seed/verbose)
    "ksg": ("KSGEnsembleFirstEstimator", False),
    "cca": ("CCAMutualInformationEstimator", False),
    "histogram": ("HistogramEstimator", False),
    "kde": ("KDEMutualInformationEstimator", False),
    "mine": ("MINEEstimator", True),
    "infonce": ("InfoNCEEstimator", True),
    "nwj": ("NWJEstimator", True),
    "dv": ("DonskerVaradhanEstimator", True),
}


def _bmi_runner(class_name: str, neural: bool) -> Runner:
    def runner(x: np.ndarray, y: np.ndarray, seed: int) -> Callable[[], float]:
        import bmi.estimators  # noqa: PLC0415  (heavy import, kept out of module import)

        cls = getattr(bmi.estimators, class_name)

        def call() -> float:
            if neural:
                estimator = cls(seed=seed, verbose=False)
            else:
                estimator = cls()
            return float(estimator.estimate(x, y))

        return call

    return runner


# ---------------------------------------------------------------------------------------
# torch-mist, PyTorch based
# ---------------------------------------------------------------------------------------

_TORCH_MIST_ESTIMATORS: dict[str, str] = {
    # discriminative (critic based) lower bounds
    "mine": "MINE (Donsker-Varadhan with moving-average gradient correction)",
    "nwj": "NWJ / f-MINE lower bound",
    "infonce": "InfoNCE lower bound (separable critic)",
    "js": "Jensen-Shannon trained critic, NWJ-style evaluation",
    "smile": "SMILE (clipped DV, tau=5)",
    "tuba": "TUBA lower bound",
    "alpha_tuba": "alpha-TUBA (alpha=0.01)",
    "flo": "FLO lower bound",
    # generative (density model based)
    "doe": "Difference of entropies (conditional + marginal flows)",
    "gm": "Generative model, joint + marginal flows",
    "l1out": "Leave-one-out upper bound",
    "club": "CLUB upper bound",
    # quantised
    "binned": "k-means quantisation of x and y, 32 bins, plug-in MI",
    "pq": "k-means quantisation of y, 32 bins, learned q(Qy|x)",
}


def _torch_mist_runner(estimator_name: str) -> Runner:
    def runner(x: np.ndarray, y: np.ndarray, seed: int) -> Callable[[], float]:
        import torch  # noqa: PLC0415
        from torch_mist import estimate_mi  # noqa: PLC0415

        xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        yt = torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))

        def call() -> float:
            torch.manual_seed(seed)
            np.random.seed(seed)
            random.seed(seed)
            out = estimate_mi((xt, yt), estimator=estimator_name, verbose=False)
            # estimate_mi returns (mi, train_log) with the default logger, or mi alone.
            value = out[0] if isinstance(out, tuple) else out
            if isinstance(value, dict):
                raise TypeError(f"torch_mist returned a dict of estimates: {value!r}")
            return float(value)

        return call

    return runner


def _build_registry() -> dict[str, PeerMethod]:
    registry: dict[str, PeerMethod] = {}
    for method, (class_name, neural) in _BMI_CLASSES.items():
        name = f"bmi:{method}"
        registry[name] = PeerMethod(
            name=name,
            library="bmi",
            description=f"bmi.estimators.{class_name}() defaults",
            runner=_bmi_runner(class_name, neural),
        )
    for method, text in _TORCH_MIST_ESTIMATORS.items():
        name = f"torch_mist:{method}"
        registry[name] = PeerMethod(
            name=name,
            library="torch_mist",
            description=f"torch_mist.estimate_mi(estimator={method!r}) defaults: {text}",
            runner=_torch_mist_runner(method),
        )
    return registry


METHODS: dict[str, PeerMethod] = _build_registry()


# ---------------------------------------------------------------------------------------
# running
# ---------------------------------------------------------------------------------------


class _Timeout(BaseException):
    """Raised inside an estimator call by the SIGALRM handler.

    A BaseException so that a library's own ``except Exception`` cannot swallow it.
    """


@contextlib.contextmanager
def _time_limit(seconds: float | None):
    """Interrupt the body with ``_Timeout`` after ``seconds`` (POSIX main thread only; elsewhere
    no limit). ``neuralmi bench`` has its own copy for its own estimates.

    Python-level training loops are interrupted between steps; a long C call finishes first.
    """
    import threading

    if seconds is None or not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise _Timeout(f"timed out after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def resolve_methods(methods: Sequence[str] | str | None) -> list[str]:
    """Expand a method selection into registry names.

    Args:
        methods: None or "all" (every method), or names / comma-separated names; a bare
            library name (``"bmi"``, ``"torch_mist"``) selects all of that library's methods.

    Returns:
        Registry names in the order given (duplicates removed).

    Raises:
        ValueError: an unknown name.
    """
    if methods is None:
        return list(METHODS)
    if isinstance(methods, str):
        methods = [methods]
    items = [part.strip() for item in methods for part in item.split(",") if part.strip()]
    if not items:
        raise ValueError("methods: empty selection")
    out: list[str] = []
    for item in items:
        if item == "all":
            chosen = list(METHODS)
        elif item in {m.library for m in METHODS.values()}:
            chosen = [n for n, m in METHODS.items() if m.library == item]
        elif item in METHODS:
            chosen = [item]
        else:
            raise ValueError(
                f"methods: unknown method {item!r}; known: {', '.join(METHODS)} "
                "(or 'all', 'bmi', 'torch_mist')"
            )
        out.extend(n for n in chosen if n not in out)
    return out


def _as_2d(name: str, a: np.ndarray) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name}: expected shape (n, d), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: contains NaN or inf")
    return arr


def run_one(
    method: str, x: np.ndarray, y: np.ndarray, seed: int = 0, timeout: float | None = None
) -> dict[str, Any]:
    """Run one peer method; never raises for a failure of the peer itself.

    Args:
        method: registry name, e.g. ``"bmi:mine"``.
        x: shape (n, dx). y: shape (n, dy).
        seed: seed handed to the library.
        timeout: seconds after which the call is interrupted (None: no limit).

    Returns:
        ``{"library", "method", "estimate" (nats or None), "seconds", "error" (str or None)}``.
    """
    spec = METHODS[method]
    record: dict[str, Any] = {
        "library": spec.library,
        "method": spec.name,
        "estimate": None,
        "seconds": None,
        "error": None,
    }
    start = time.perf_counter()
    # The peers are third-party code: any failure of theirs is the measurement, so it is
    # recorded rather than propagated (the whole point of this harness).
    try:
        with contextlib.redirect_stdout(sys.stderr):
            call = spec.runner(x, y, seed)
            start = time.perf_counter()
            with _time_limit(timeout):
                value = call()
        record["seconds"] = time.perf_counter() - start
        if math.isfinite(value):
            record["estimate"] = value
        else:
            record["error"] = f"non-finite estimate: {value!r}"
    except (Exception, _Timeout) as exc:  # noqa: BLE001 - see comment above
        record["seconds"] = time.perf_counter() - start
        record["error"] = f"{type(exc).__name__}: {exc}"[:2000]
        traceback.print_exc(file=sys.stderr)
    return record


def run_peers(
    x: np.ndarray,
    y: np.ndarray,
    methods: Sequence[str] | str | None = None,
    seed: int = 0,
    timeout: float | None = None,
    progress: bool = False,
) -> list[dict[str, Any]]:
    """Run the selected peer estimators on the same samples.

    Args:
        x: shape (n, dx) (1-D is read as one column).
        y: shape (n, dy).
        methods: see ``resolve_methods``; None runs all.
        seed: seed handed to each library that takes one.
        timeout: per-method limit in seconds (None: no limit).
        progress: print one line per method to stderr.

    Returns:
        One record per method, see ``run_one``; ``estimate`` in nats.

    Raises:
        ValueError: bad shapes, NaN/inf, mismatched lengths or an unknown method.
    """
    x = _as_2d("x", x)
    y = _as_2d("y", y)
    if len(x) != len(y):
        raise ValueError(f"x and y: different numbers of samples ({len(x)} vs {len(y)})")
    names = resolve_methods(methods)
    records = []
    for name in names:
        if progress:
            print(f"[peers] {name} ...", file=sys.stderr, flush=True)
        record = run_one(name, x, y, seed=seed, timeout=timeout)
        if progress:
            est = record["estimate"]
            shown = "null" if est is None else f"{est:.4f}"
            print(
                f"[peers] {name}: estimate={shown} seconds={record['seconds']:.1f}"
                f" error={record['error']}",
                file=sys.stderr,
                flush=True,
            )
        records.append(record)
    return records


def versions() -> dict[str, str | None]:
    """Versions of Python, numpy and the peer libraries (None: not installed); imports nothing."""
    out: dict[str, str | None] = {"python": platform.python_version(), "numpy": np.__version__}
    for dist in ("benchmark-mi", "torch-mist", "torch", "jax"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = None
    return out


def missing_libraries() -> list[str]:
    """Peer libraries (import names) that cannot be imported here."""
    return sorted({m.library for m in METHODS.values() if importlib.util.find_spec(m.library) is None})


def _load_samples(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    with np.load(path) as data:
        if "x" not in data or "y" not in data:
            raise ValueError(f"{path}: needs arrays 'x' and 'y', has {data.files}")
        x, y = _as_2d("x", data["x"]), _as_2d("y", data["y"])
    if len(x) != len(y):
        raise ValueError(f"x and y: different numbers of samples ({len(x)} vs {len(y)})")
    return x, y


def _job_records(job: Any, emit: Callable[[dict[str, Any]], None]) -> None:
    """Run one serve-mode job, emitting start/record events and finally done."""
    job_id = job.get("id") if isinstance(job, dict) else None
    methods = job.get("methods") if isinstance(job, dict) else None
    names = [m for m in methods if isinstance(m, str)] if isinstance(methods, list) else []
    try:
        if not isinstance(job, dict):
            raise ValueError(f"a job must be a JSON object, got {type(job).__name__}")
        seed = job.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ValueError(f"seed must be an integer, got {seed!r}")
        timeout = job.get("timeout")
        if timeout is not None and not (isinstance(timeout, (int, float)) and timeout > 0):
            raise ValueError(f"timeout must be a positive number or null, got {timeout!r}")
        if not names or len(names) != len(methods):
            raise ValueError(f"methods must be a non-empty list of names, got {methods!r}")
        unknown = [m for m in names if m not in METHODS]
        if unknown:
            raise ValueError(f"unknown peer method(s) {', '.join(unknown)}")
        x, y = _load_samples(job["samples"])
    except (KeyError, OSError, ValueError) as exc:
        reason = f"bad job: {type(exc).__name__}: {exc}"[:2000]
        for name in names:
            spec = METHODS.get(name)
            library = spec.library if spec is not None else name.split(":")[0]
            emit({"event": "record", "id": job_id, "library": library, "method": name,
                  "estimate": None, "seconds": None, "error": reason})
        emit({"event": "done", "id": job_id})
        return
    for name in names:
        emit({"event": "start", "id": job_id, "method": name})
        record = run_one(name, x, y, seed=seed, timeout=timeout)
        emit({"event": "record", "id": job_id, **record})
    emit({"event": "done", "id": job_id})


def serve(stdin: IO[str] | None = None, channel: IO[str] | None = None) -> int:
    """Serve jobs from ``stdin`` (JSON lines) until it closes; see the module docstring.

    With the defaults the protocol goes to the process's original stdout, and file
    descriptor 1 is pointed at stderr so that nothing a library prints (even from C) can
    corrupt the protocol.
    """
    if stdin is None:
        stdin = sys.stdin
    if channel is None:
        sys.stdout.flush()
        channel = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
        os.dup2(2, 1)
        sys.stdout = sys.stderr

    def emit(event: dict[str, Any]) -> None:
        channel.write(json.dumps(event) + "\n")
        channel.flush()

    emit({"event": "ready", "protocol": PROTOCOL, "methods": list(METHODS),
          "missing": missing_libraries(), "versions": versions()})
    for line in stdin:
        line = line.strip()
        if not line:
            continue
        try:
            job = json.loads(line)
        except json.JSONDecodeError as exc:
            emit({"event": "done", "id": None, "error": f"bad job line: {exc}"})
            continue
        _job_records(job, emit)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=Path, help=".npz with arrays x (n,dx) and y (n,dy)")
    parser.add_argument("--out", type=Path, help="output JSON file")
    parser.add_argument(
        "--methods",
        default="all",
        help="comma-separated method names, library names or 'all' (default: all)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=None, help="per-method seconds")
    parser.add_argument("--list", action="store_true", help="print the method names and exit")
    parser.add_argument(
        "--serve", action="store_true", help="serve jobs read from stdin (the neuralmi bench protocol)"
    )
    args = parser.parse_args(argv)

    if args.serve:
        return serve()
    if args.list:
        for name, spec in METHODS.items():
            print(f"{name}\t{spec.description}")
        return 0
    if args.samples is None or args.out is None:
        parser.error("--samples and --out are required (or use --list)")
    try:
        methods = resolve_methods(args.methods)
        x, y = _load_samples(args.samples)
    except (OSError, ValueError) as exc:
        parser.error(str(exc))
    records = run_peers(x, y, methods, seed=args.seed, timeout=args.timeout, progress=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(records, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
