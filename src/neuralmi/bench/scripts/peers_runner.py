#!/usr/bin/env python
"""Run the peer MI libraries (benchmark-mi, torch-mist; for conditional and discrete MI
npeet-plus, infomeasure, scikit-learn) with their default settings.

This script is deliberately standalone: it imports nothing from neuralmi and is run *by file
path* under the peers' own virtualenv (``benchmarks/setup_peers.sh``), because the peers pin
``numpy<2`` and ``jax==0.4.30``. ``neuralmi bench --peers`` starts it as a subprocess. It ships
with the package as data (``neuralmi/bench/scripts/``, a folder that is not a Python package)
so that an installed neuralmi (which has no ``benchmarks/`` folder) can run it, but no module
of neuralmi imports it. ``benchmarks/peers.py`` is a thin wrapper around it. One-shot use::

    .venv-peers/bin/python src/neuralmi/bench/scripts/peers_runner.py --samples case.npz --out peers.json
    .venv-peers/bin/python src/neuralmi/bench/scripts/peers_runner.py --list

The ``.npz`` file holds ``x`` with shape ``(n, dx)`` and ``y`` with shape ``(n, dy)``
(1-D arrays are read as one column), and optionally ``z`` ``(n, dz)`` (conditional MI, for
the ``cmi`` methods) or ``discrete`` (``"y"``: ``y`` holds integer label codes; ``"xy"``: both
do; for the discrete methods). Every selected estimator is run on the same samples with the
library's out-of-the-box settings:

* ``bmi:*``: ``bmi.estimators.<Class>(seed=seed).estimate(x, y)`` (neural estimators:
  10,000 max steps, batch 256, 50/50 train/test split, MLP (16, 8), lr 0.1, early stopping;
  ``seed`` replaces bmi's own default seed 42). Only ``verbose=False`` is set (no
  progress bar; it does not change the estimate).
* ``torch_mist:*``: ``torch_mist.estimate_mi((x, y), estimator=name, verbose=False)``
  (5,000 max iterations, batch 128, hidden_dims [128], 10 % validation split with early
  stopping, MI evaluated on all samples), after seeding ``torch``, ``numpy`` and
  ``random`` with ``seed``. Inputs are passed as float32 tensors (the models are float32).
* conditional MI I(X; Y | Z) (``z`` in the file): ``npeet_plus:cmi`` is
  ``npeet_plus.mi(x, y, z=z, k=3, base=e)`` (Frenzel-Pompe KSG), ``infomeasure:cmi_ksg`` is
  ``infomeasure.cmi(x, y, cond=z, approach="ksg")`` (its default k = 4).
* a discrete side (``discrete`` in the file), each library's estimator for labels with
  continuous features (``"y"``) / for two discrete sides (``"xy"``; several columns form one
  joint label): ``npeet_plus:micd+midd`` is ``micd(x, y, k=3)`` / ``midd``;
  ``infomeasure:ksg+miller_madow`` is ``mi(x, y, approach="ksg")`` on the label codes (it has no
  mixed estimator) / ``mi(approach="miller_madow")``; ``sklearn:mutual_info_classif`` is the
  largest per-feature value of ``mutual_info_classif(x, labels)`` (each a lower bound on
  I(X; Y) by data processing; ``discrete_features=True`` for two discrete sides);
  ``sklearn:mutual_info_regression`` (labels only) the largest of
  ``mutual_info_regression(labels, x_j, discrete_features=True)`` over the features ``x_j``.
  ``numpy.random`` and ``random`` are seeded with ``seed`` first (npeet adds noise with them).

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

Library use: ``run_peers(x, y, methods=None, seed=0, timeout=None, z=None, discrete=None)
-> list[dict]``.
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
    "Sample",
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

@dataclass(frozen=True)
class Sample:
    """The samples of one job: ``x`` ``(n, dx)``, ``y`` ``(n, dy)``, and ``z`` ``(n, dz)`` for
    conditional MI or ``discrete`` (``"y"``, ``"xy"``) for a discrete side."""

    x: np.ndarray
    y: np.ndarray
    z: np.ndarray | None = None
    discrete: str | None = None


# A runner gets (sample, seed) and returns a zero-argument callable; the returned callable is
# the only thing that is timed. Runners do their (slow) imports before returning it.
Runner = Callable[[Sample, int], Callable[[], float]]


@dataclass(frozen=True)
class PeerMethod:
    """One peer estimator.

    Attributes:
        name: ``"<library>:<method>"``, e.g. ``"bmi:ksg"``.
        library: the import name: ``"bmi"``, ``"torch_mist"``, ``"npeet_plus"``,
            ``"infomeasure"`` or ``"sklearn"``.
        description: what is called, in one line.
        runner: builds the timed call, see ``Runner``.
        kind: what it estimates: ``"mi"`` I(X; Y), ``"conditional"`` I(X; Y | Z) (needs ``z``)
            or ``"discrete"`` I(X; Y) with a discrete side (needs ``discrete``).
    """

    name: str
    library: str
    description: str
    runner: Runner
    kind: str = "mi"


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
    def runner(sample: Sample, seed: int) -> Callable[[], float]:
        import bmi.estimators  # noqa: PLC0415  (heavy import, kept out of module import)

        x, y = sample.x, sample.y

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
    def runner(sample: Sample, seed: int) -> Callable[[], float]:
        import torch  # noqa: PLC0415
        from torch_mist import estimate_mi  # noqa: PLC0415

        xt = torch.from_numpy(np.ascontiguousarray(sample.x, dtype=np.float32))
        yt = torch.from_numpy(np.ascontiguousarray(sample.y, dtype=np.float32))

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


# ---------------------------------------------------------------------------------------
# conditional MI and a discrete side: npeet-plus, infomeasure, scikit-learn
# ---------------------------------------------------------------------------------------


def _codes(a: np.ndarray) -> np.ndarray:
    """Integer codes ``(n,)`` of the rows of a discrete side (several columns: one joint label)."""
    return np.unique(a, axis=0, return_inverse=True)[1].reshape(-1).astype(np.int64)


def _seeded(seed: int, fn: Callable[[], Any]) -> Callable[[], float]:
    def call() -> float:
        np.random.seed(seed)
        random.seed(seed)
        return float(fn())

    return call


def _npeet_cmi(sample: Sample, seed: int) -> Callable[[], float]:
    import npeet_plus  # noqa: PLC0415

    return _seeded(seed, lambda: npeet_plus.mi(sample.x, sample.y, z=sample.z, k=3, base=np.e))


def _infomeasure_cmi(sample: Sample, seed: int) -> Callable[[], float]:
    import infomeasure  # noqa: PLC0415

    return _seeded(seed, lambda: infomeasure.cmi(sample.x, sample.y, cond=sample.z, approach="ksg"))


def _npeet_discrete(sample: Sample, seed: int) -> Callable[[], float]:
    import npeet_plus  # noqa: PLC0415

    if sample.discrete == "xy":
        cx, cy = _codes(sample.x), _codes(sample.y)
        return _seeded(seed, lambda: npeet_plus.midd(cx, cy, base=np.e))
    return _seeded(seed, lambda: npeet_plus.micd(sample.x, sample.y, k=3, base=np.e, warning=False))


def _infomeasure_discrete(sample: Sample, seed: int) -> Callable[[], float]:
    import infomeasure  # noqa: PLC0415

    if sample.discrete == "xy":
        cx, cy = _codes(sample.x), _codes(sample.y)
        return _seeded(seed, lambda: infomeasure.mi(cx, cy, approach="miller_madow"))
    codes = _codes(sample.y).astype(np.float64)
    return _seeded(seed, lambda: infomeasure.mi(sample.x, codes, approach="ksg"))


def _sklearn_classif(sample: Sample, seed: int) -> Callable[[], float]:
    from sklearn.feature_selection import mutual_info_classif  # noqa: PLC0415

    labels = _codes(sample.y)
    if sample.discrete == "xy":
        cx = _codes(sample.x)[:, None]
        return _seeded(seed, lambda: mutual_info_classif(cx, labels, discrete_features=True, random_state=seed).max())
    return _seeded(seed, lambda: mutual_info_classif(sample.x, labels, discrete_features=False, random_state=seed).max())


def _sklearn_regression(sample: Sample, seed: int) -> Callable[[], float]:
    from sklearn.feature_selection import mutual_info_regression  # noqa: PLC0415

    if sample.discrete != "y":
        raise ValueError("mutual_info_regression needs a continuous target: labels with continuous features only")
    labels = _codes(sample.y)[:, None]

    def best() -> float:
        return max(
            float(mutual_info_regression(labels, sample.x[:, j], discrete_features=True, random_state=seed)[0])
            for j in range(sample.x.shape[1])
        )

    return _seeded(seed, best)


_OTHER_PEERS: tuple[tuple[str, str, str, Runner], ...] = (
    ("npeet_plus:cmi", "conditional", "npeet_plus.mi(x, y, z=z, k=3): Frenzel-Pompe KSG CMI", _npeet_cmi),
    ("infomeasure:cmi_ksg", "conditional", "infomeasure.cmi(x, y, cond=z, approach='ksg'), k=4", _infomeasure_cmi),
    ("npeet_plus:micd+midd", "discrete", "npeet_plus.micd(x, y, k=3) for labels / midd for two discrete sides", _npeet_discrete),
    (
        "infomeasure:ksg+miller_madow",
        "discrete",
        "infomeasure.mi(approach='ksg') on the label codes / 'miller_madow' for two discrete sides",
        _infomeasure_discrete,
    ),
    (
        "sklearn:mutual_info_classif",
        "discrete",
        "max over features of sklearn mutual_info_classif (discrete_features=True for two discrete sides)",
        _sklearn_classif,
    ),
    (
        "sklearn:mutual_info_regression",
        "discrete",
        "max over features x_j of sklearn mutual_info_regression(labels, x_j, discrete_features=True); labels only",
        _sklearn_regression,
    ),
)


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
    for name, kind, description, runner in _OTHER_PEERS:
        registry[name] = PeerMethod(name=name, library=name.split(":")[0], description=description, runner=runner, kind=kind)
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
            library name (``"bmi"``, ``"torch_mist"``, ...) selects all of that library's methods.

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
                f"(or 'all', {', '.join(repr(lib) for lib in dict.fromkeys(m.library for m in METHODS.values()))})"
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


def _check_kind(spec: PeerMethod, sample: Sample) -> None:
    """A ValueError unless the sample holds what the method estimates."""
    if spec.kind == "conditional" and sample.z is None:
        raise ValueError(f"{spec.name} estimates I(X;Y|Z): the samples need z")
    if spec.kind == "discrete" and sample.discrete not in ("y", "xy"):
        raise ValueError(f"{spec.name} needs a discrete side: discrete 'y' or 'xy', got {sample.discrete!r}")
    if spec.kind != "conditional" and sample.z is not None:
        raise ValueError(f"{spec.name} estimates I(X;Y), not I(X;Y|Z)")
    if spec.kind == "mi" and sample.discrete is not None:
        raise ValueError(f"{spec.name} is for continuous samples, not a discrete side")


def run_one(
    method: str,
    x: np.ndarray,
    y: np.ndarray,
    seed: int = 0,
    timeout: float | None = None,
    z: np.ndarray | None = None,
    discrete: str | None = None,
) -> dict[str, Any]:
    """Run one peer method; never raises for a failure of the peer itself.

    Args:
        method: registry name, e.g. ``"bmi:mine"``.
        x: shape (n, dx). y: shape (n, dy).
        seed: seed handed to the library.
        timeout: seconds after which the call is interrupted (None: no limit).
        z: shape (n, dz), for the conditional methods.
        discrete: ``"y"`` or ``"xy"``, for the discrete methods.

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
            sample = Sample(x, y, z, discrete)
            _check_kind(spec, sample)
            call = spec.runner(sample, seed)
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
    z: np.ndarray | None = None,
    discrete: str | None = None,
) -> list[dict[str, Any]]:
    """Run the selected peer estimators on the same samples.

    Args:
        x: shape (n, dx) (1-D is read as one column).
        y: shape (n, dy).
        methods: see ``resolve_methods``; None runs all.
        seed: seed handed to each library that takes one.
        timeout: per-method limit in seconds (None: no limit).
        progress: print one line per method to stderr.
        z: shape (n, dz), for the conditional methods.
        discrete: ``"y"`` or ``"xy"``, for the discrete methods.

    Returns:
        One record per method, see ``run_one``; ``estimate`` in nats.

    Raises:
        ValueError: bad shapes, NaN/inf, mismatched lengths or an unknown method.
    """
    x = _as_2d("x", x)
    y = _as_2d("y", y)
    if len(x) != len(y):
        raise ValueError(f"x and y: different numbers of samples ({len(x)} vs {len(y)})")
    if z is not None:
        z = _as_2d("z", z)
        if len(z) != len(x):
            raise ValueError(f"x and z: different numbers of samples ({len(x)} vs {len(z)})")
    names = resolve_methods(methods)
    records = []
    for name in names:
        if progress:
            print(f"[peers] {name} ...", file=sys.stderr, flush=True)
        record = run_one(name, x, y, seed=seed, timeout=timeout, z=z, discrete=discrete)
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
    for dist in ("benchmark-mi", "torch-mist", "torch", "jax", "npeet-plus", "infomeasure", "scikit-learn"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = None
    return out


def missing_libraries() -> list[str]:
    """Peer libraries (import names) that cannot be imported here."""
    return sorted({m.library for m in METHODS.values() if importlib.util.find_spec(m.library) is None})


def _load_samples(path: str | Path) -> Sample:
    with np.load(path) as data:
        if "x" not in data or "y" not in data:
            raise ValueError(f"{path}: needs arrays 'x' and 'y', has {data.files}")
        x, y = _as_2d("x", data["x"]), _as_2d("y", data["y"])
        z = _as_2d("z", data["z"]) if "z" in data else None
        discrete = str(data["discrete"]) if "discrete" in data else None
    if len(x) != len(y) or (z is not None and len(z) != len(x)):
        raise ValueError(f"x, y (and z): different numbers of samples ({len(x)} vs {len(y)})")
    if discrete not in (None, "y", "xy"):
        raise ValueError(f"{path}: discrete must be 'y' or 'xy', got {discrete!r}")
    return Sample(x, y, z, discrete)


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
        sample = _load_samples(job["samples"])
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
        record = run_one(name, sample.x, sample.y, seed=seed, timeout=timeout, z=sample.z, discrete=sample.discrete)
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
    parser.add_argument("--samples", type=Path, help=".npz with arrays x (n,dx) and y (n,dy) (and z, or discrete)")
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
        sample = _load_samples(args.samples)
    except (OSError, ValueError) as exc:
        parser.error(str(exc))
    records = run_peers(sample.x, sample.y, methods, seed=args.seed, timeout=args.timeout, progress=True,
                        z=sample.z, discrete=sample.discrete)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(records, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
