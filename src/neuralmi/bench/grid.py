"""The grid of ``neuralmi bench``: its configuration, the tasks and options it runs, and the
run itself (our cells in this process, the peers' through :class:`~.peers.PeersProcess`)."""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import datetime
import json
import math
import os
import platform
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..interface import Task
from .methods import (
    EXTRA_METHODS,
    NEURAL_METHODS,
    SUITE_KIND,
    BenchError,
    applicable,
    kind_methods,
    kind_peers,
    peer_applicable,
)
from .peers import PeersProcess, default_peers_python, setup_hint
from .store import ResultStore

__all__ = [
    "SUITES",
    "BenchConfig",
    "check_options",
    "command",
    "neural_defaults",
    "parse_options",
    "resolve_tasks",
    "run_bench",
    "suite_tasks",
]

#: settings of the neural estimators that do not change an estimate (left out of the
#: fingerprint that guards resumption)
_NEUTRAL_SETTINGS = ("progress", "device", "threads", "seed", "method", "critic")

#: the task suites of ``--suite``: name -> description
SUITES: dict[str, str] = {
    "default": "neuralmi's benchmark (neuralmi.tasks.BENCHMARK, 36 tasks) and any task registered with neuralmi.tasks.register",
    "beyond-normal": "benchmark-mi's 40 'Beyond Normal' tasks (Czyż et al., NeurIPS 2023) under bmi's ids (neuralmi.tasks.BEYOND_NORMAL)",
    "conditional": "23 tasks with known conditional MI I(X;Y|Z) (neuralmi.tasks.conditional_names(): d_z 1-20, CMI 0-2 nats, chains with CMI 0)",
    "discrete": "14 tasks with a discrete side (neuralmi.tasks.discrete_names(): class labels with Gaussian features, quantised Gaussians, tables)",
}


# ---------------------------------------------------------------------------------------------
# configuration
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchConfig:
    """One benchmark run.

    Attributes:
        tasks: registered task names (see :func:`resolve_tasks`).
        methods: our methods, in order (for the suite's kind, see
            :func:`~.methods.resolve_methods`); None: all of the suite's (:data:`OUR_METHODS`
            for the MI suites).
        peer_methods: peer methods (``"bmi:ksg"``, ...) of the suite's kind; empty: no peers.
        n: samples per (task, seed): one size or several (every cell records its n); stored
            as a tuple of distinct sizes in increasing order.
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
        suite: the suite ``tasks`` were chosen from (:data:`SUITES`; recorded in the command).
    """

    tasks: tuple[str, ...]
    methods: tuple[str, ...] | None = None
    peer_methods: tuple[str, ...] = ()
    n: int | tuple[int, ...] = 10_000
    seeds: int = 3
    peer_seeds: int | None = None
    options: tuple[tuple[str, Any], ...] = ()
    timeout: float | None = 600.0
    out: Path = Path("runs/bench")
    peers_python: Path | None = None
    retry_errors: bool = False
    progress: bool = True
    suite: str = "default"

    def __post_init__(self) -> None:
        from ..tasks import get

        if self.suite not in SUITES:
            raise BenchError(f"suite: unknown suite {self.suite!r}; known: {', '.join(SUITES)}")
        if not self.tasks:
            raise BenchError("tasks: empty selection")
        kind = self.kind
        for name in self.tasks:
            task = get(name)  # ValueError naming the unknown task
            if _task_kind(task) != kind:
                raise BenchError(f"tasks: {name!r} is not a task of the {self.suite} suite (use --suite {_suite_of(task)})")
        neural, baselines = kind_methods(kind)
        known = neural + baselines + EXTRA_METHODS[kind]
        if self.methods is None:
            object.__setattr__(self, "methods", neural + baselines)
        object.__setattr__(self, "methods", tuple(self.methods))
        unknown = [m for m in self.methods if m not in known]
        if unknown:
            raise BenchError(f"methods: unknown method(s) {', '.join(unknown)} on the {self.suite} suite; known: {', '.join(known)}")
        wrong = [m for m in self.peer_methods if m not in kind_peers(kind)[1]]
        if wrong:
            raise BenchError(f"peer_methods: {', '.join(wrong)} do not estimate what the {self.suite} suite's tasks hold")
        if not self.methods and not self.peer_methods:
            raise BenchError("methods: nothing to run (no method and no peer method)")
        sizes = (self.n,) if isinstance(self.n, int) else tuple(self.n)
        if not sizes:
            raise BenchError("n: give at least one sample size")
        for name, value in [*(("n", v) for v in sizes), ("seeds", self.seeds)]:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise BenchError(f"{name} must be a positive integer; got {value!r}")
        if min(sizes) < 10:
            raise BenchError(f"n must be at least 10; got {min(sizes)}")
        object.__setattr__(self, "n", tuple(sorted(set(sizes))))
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

    @property
    def kind(self) -> str:
        """What the suite's tasks hold: ``"mi"``, ``"conditional"`` or ``"discrete"``."""
        return SUITE_KIND[self.suite]


def _task_kind(task: Any) -> str:
    """``"conditional"`` (a task with ``.cmi``), ``"discrete"`` (with ``.discrete``) or ``"mi"``."""
    if hasattr(task, "cmi"):
        return "conditional"
    return "discrete" if getattr(task, "discrete", None) in ("y", "xy") else "mi"


def _suite_of(task: Any) -> str:
    kind = _task_kind(task)
    return kind if kind != "mi" else "default"


def check_options(options: dict[str, Any]) -> None:
    """Raise a ValueError/TypeError unless ``options`` are valid neural estimator settings."""
    from ..estimators import EstimatorConfig

    for name in ("method", "seed", "progress"):
        if name in options:
            raise BenchError(f"options: {name!r} is set by the benchmark itself")
    unknown = sorted(set(options) - set(EstimatorConfig.options()))
    if unknown:
        raise BenchError(f"options: unknown option(s) {', '.join(unknown)}; valid: {', '.join(EstimatorConfig.options())}")
    EstimatorConfig(**options)  # ValueError/TypeError naming a bad value


def suite_tasks(suite: str = "default") -> list[str]:
    """Every task of a suite (:data:`SUITES`), in the suite's order: ``"default"``, the
    benchmark (:data:`neuralmi.tasks.BENCHMARK`) and then any task registered by the user
    (sorted); ``"beyond-normal"``, benchmark-mi's 40 tasks in bmi's order; ``"conditional"``
    and ``"discrete"``, :func:`neuralmi.tasks.conditional_names` and
    :func:`neuralmi.tasks.discrete_names`.

    Raises:
        BenchError: an unknown suite.
    """
    from ..tasks import BENCHMARK, BEYOND_NORMAL, conditional_names, discrete_names, names

    if suite == "beyond-normal":
        return list(BEYOND_NORMAL)
    if suite == "conditional":
        return conditional_names()
    if suite == "discrete":
        return discrete_names()
    if suite != "default":
        raise BenchError(f"--suite: unknown suite {suite!r}; known: {', '.join(SUITES)}")
    every = names()  # builds the benchmark
    order = {name: i for i, name in enumerate(BENCHMARK)}
    return sorted(every, key=lambda n: (order.get(n, len(order)), n))


def resolve_tasks(pattern: str | None, suite: str = "default") -> list[str]:
    """Task names for a selection within a suite (:func:`suite_tasks`): None/"all" (the whole
    suite), or comma-separated names and ``fnmatch`` patterns (``"gauss-*,student-t-*"``), in
    the suite's order.

    Raises:
        BenchError: an unknown suite, or a name or pattern that matches nothing in the suite.
    """
    import fnmatch

    pool = suite_tasks(suite)
    if pattern is None or pattern.strip() == "all":
        return pool
    items = [p.strip() for p in pattern.split(",") if p.strip()]
    if not items:
        raise BenchError("--tasks: empty selection")
    chosen: set[str] = set()
    for item in items:
        found = [n for n in pool if fnmatch.fnmatchcase(n, item)]
        if not found:
            elsewhere = [s for s in SUITES if s != suite and any(fnmatch.fnmatchcase(n, item) for n in suite_tasks(s))]
            listing = {
                "beyond-normal": "neuralmi.tasks.BEYOND_NORMAL",
                "conditional": "neuralmi.tasks.conditional_names()",
                "discrete": "neuralmi.tasks.discrete_names()",
            }.get(suite, "neuralmi.tasks.names()")
            hint = (
                f"; it is in the suite {elsewhere[0]!r} (add --suite {elsewhere[0]})"
                if elsewhere
                else f" (list them with: python -c 'import neuralmi; print({listing})')"
            )
            raise BenchError(f"--tasks: no task matches {item!r} in the {suite} suite{hint}")
        chosen.update(found)
    return [n for n in pool if n in chosen]


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


def neural_defaults() -> dict[str, Any]:
    """The neural estimators' default settings that can change an estimate (JSON-ready)."""
    from ..estimators import EstimatorConfig

    config = dataclasses.asdict(EstimatorConfig())
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in config.items() if k not in _NEUTRAL_SETTINGS}


# ---------------------------------------------------------------------------------------------
# running our methods
# ---------------------------------------------------------------------------------------------


class _Timeout(BaseException):
    """Raised inside an estimator call by the SIGALRM handler.

    A BaseException so that a library's own ``except Exception`` cannot swallow it.
    """


@contextlib.contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    """Interrupt the body with ``_Timeout`` after ``seconds`` (POSIX main thread only; elsewhere
    no limit). The peers' runner script has its own copy: it runs in the peers' Python and
    imports nothing from neuralmi.

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


def _estimate_ours(
    method: str,
    x: np.ndarray,
    y: np.ndarray,
    seed: int,
    options: dict[str, Any],
    z: np.ndarray | None = None,
    discrete: str | None = None,
) -> tuple[float, float | None, list[str]]:
    """(estimate, stderr, warnings) of one of our methods with its default settings; with ``z``
    of the conditional suite's methods, with ``discrete`` of the discrete suite's."""
    from .. import nonparametric
    from ..estimators import estimate

    if z is not None or discrete is not None:
        result = _estimate_other(method, x, y, seed, options, z, discrete)
        return result.mi, result.stderr, list(result.warnings)
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


def _estimate_other(
    method: str,
    x: np.ndarray,
    y: np.ndarray,
    seed: int,
    options: dict[str, Any],
    z: np.ndarray | None,
    discrete: str | None,
) -> Any:
    """One of our methods of the conditional suite (``z``) or the discrete suite (``discrete``)."""
    from ..estimators import estimate

    neural = {"seed": seed, "progress": False, **options}
    if z is not None:
        calls: dict[str, Any] = {
            "default": lambda: estimate(x, y, z=z, discrete="none", **neural),
            "direct": lambda: estimate(x, y, z=z, discrete="none", strategy="direct", **neural),
            "residualized": lambda: estimate(x, y, z=z, discrete="none", residualize=True, **neural),
            "gaussian_cmi": lambda: estimate(x, y, z=z, discrete="none", method="gaussian"),
            "ksg_cmi": lambda: estimate(x, y, z=z, discrete="none", method="ksg"),
        }
    else:
        calls = {
            # two discrete sides: the jackknifed plug-in, which takes no neural settings
            "default": lambda: estimate(x, y, discrete=discrete, **(neural if discrete != "xy" else {})),
            "mixed_ksg": lambda: estimate(x, y, discrete=discrete, method="mixed_ksg"),
            "plugin": lambda: estimate(x, y, discrete=discrete, method="plugin", correction=None),
        }
    if method not in calls:
        raise BenchError(f"unknown method {method!r}")
    return calls[method]()


def _run_ours(
    method: str,
    x: np.ndarray,
    y: np.ndarray,
    seed: int,
    options: dict[str, Any],
    timeout: float | None,
    z: np.ndarray | None = None,
    discrete: str | None = None,
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
                extra = {k: v for k, v in (("z", z), ("discrete", discrete)) if v is not None}
                value, stderr, notes = _estimate_ours(method, x, y, seed, options, **extra)
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
# the grid
# ---------------------------------------------------------------------------------------------


def _versions() -> dict[str, str]:
    import scipy
    import torch

    from .. import __version__

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
    root = Path(__file__).resolve().parents[3]
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

    parts = ["neuralmi", "bench"]
    if config.suite != "default":
        parts += ["--suite", config.suite]
    if list(config.tasks) != suite_tasks(config.suite):
        parts += ["--tasks", ",".join(config.tasks)]
    neural, baselines = kind_methods(config.kind)
    if config.methods != neural + baselines:
        parts += ["--methods", ",".join(config.methods or ()) or "none"]
    if config.n != (10_000,):
        parts += ["--n", ",".join(map(str, config.n))]
    if config.seeds != 3:
        parts += ["--seeds", str(config.seeds)]
    if config.options:
        parts += ["--options", *(f"{k}={v!r}" for k, v in config.options)]
    if config.timeout != 600.0:
        parts += ["--timeout", "none" if config.timeout is None else f"{config.timeout:g}"]
    if config.peer_methods:
        parts.append("--peers")
        if config.peer_methods != kind_peers(config.kind)[0]:
            parts += ["--peer-methods", ",".join(config.peer_methods)]
        if config.peer_seeds != config.seeds:
            parts += ["--peer-seeds", str(config.peer_seeds)]
        default = default_peers_python(config.kind)
        if config.peers_python is not None and (default is None or Path(config.peers_python).resolve() != default.resolve()):
            parts += ["--peers-python", str(config.peers_python)]
    parts += ["--out", str(config.out)]
    return " ".join(shlex.quote(p) for p in parts)


def _check_config_file(config: BenchConfig, peers_ready: dict[str, Any] | None) -> None:
    """Write config.json, or refuse to resume into a folder made with other settings."""
    path = config.out / "config.json"
    # n: one size is pinned as a number (as before several sizes were possible), several as a list
    sizes = list(config.n)
    pinned = {
        "n": sizes[0] if len(sizes) == 1 else sizes,
        "options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in config.options},
        "neural_defaults": neural_defaults(),
    }
    previous: dict[str, Any] = {}
    if path.exists():
        try:
            previous = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BenchError(f"{path}: unreadable ({exc}); remove it or use another --out") from None
        # the MI suites (default, beyond-normal) may share a folder; CMI or discrete cells may not
        # join MI cells, nor each other (their truths are other quantities)
        if previous.get("kind", "mi") != config.kind:
            raise BenchError(
                f"{config.out} holds results of the {previous.get('kind', 'mi')} kind of suite, this run is of the "
                f"{config.kind} kind (--suite {config.suite}); use another --out"
            )
        if "n" in previous:
            before = previous["n"] if isinstance(previous["n"], list) else [previous["n"]]
            if set(sizes) <= set(before):
                pinned["n"] = previous["n"]  # a run over some of the folder's sizes resumes them
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
        **({"kind": config.kind} if config.kind != "mi" else {}),
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
            f"[{self.count:>{width}}/{self.total}] {row['task']} n {row['n']} {row['method']} seed {row['seed']}: "
            f"{est} (truth {row['truth']:.4f}) {secs}{err}",
            file=sys.stderr,
            flush=True,
        )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _family(task: Any) -> str:
    """The row's family: the task's, except on the discrete suite, where it is the kind of
    task: ``labels-1d`` / ``labels-multi`` (labels with one / several continuous features) or
    ``two-discrete``."""
    discrete = getattr(task, "discrete", None) if not hasattr(task, "cmi") else None
    if discrete == "xy":
        return "two-discrete"
    if discrete == "y":
        return "labels-1d" if task.dim_x == 1 else "labels-multi"
    return str(task.family)


def _make_row(task: Task, n: int, method: str, library: str, seed: int, out: dict[str, Any]) -> dict[str, Any]:
    truth = float(task.cmi if hasattr(task, "cmi") else task.mi)
    est = out.get("estimate")
    if est is not None and not math.isfinite(est):
        out = {**out, "estimate": None, "error": out.get("error") or f"non-finite estimate: {est!r}"}
        est = None
    return {
        "task": task.name,
        "family": _family(task),
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
    from ..tasks import get

    config.out.mkdir(parents=True, exist_ok=True)
    store = ResultStore(config.out)
    options = dict(config.options)
    peers: PeersProcess | None = None
    try:
        ready = None
        if config.peer_methods:
            assert config.peers_python is not None  # noqa: S101 - checked by BenchConfig
            peers = PeersProcess(config.peers_python, config.out / "peers.log", hint=setup_hint(config.kind))
            ready = peers.start()
            known = ready.get("methods") or []
            unknown = [m for m in config.peer_methods if m not in known]
            if unknown:
                raise BenchError(f"--peer-methods: the peers' runner does not know {', '.join(unknown)}")
            missing = set(ready.get("missing") or [])
            absent = sorted({m.split(':')[0] for m in config.peer_methods} & missing)
            if absent:
                raise BenchError(f"the peers' Python {config.peers_python} lacks {', '.join(absent)}; {setup_hint(config.kind)}")
        _check_config_file(config, ready)

        # the pending cells, per (n, task, seed): the smaller sizes first
        plan: list[tuple[int, Any, int, list[str], list[str]]] = []
        total = 0
        for n in config.n:
            for name in config.tasks:
                task = get(name)
                discrete = getattr(task, "discrete", None) if config.kind == "discrete" else None
                for seed in range(config.seeds):
                    ours = [
                        m
                        for m in config.methods or ()
                        if applicable(m, task.dim_x, task.dim_y, discrete) is None
                        and not store.done((name, m, seed, n), config.retry_errors)
                    ]
                    theirs = []
                    if seed < (config.peer_seeds or config.seeds):
                        theirs = [
                            m
                            for m in config.peer_methods
                            if peer_applicable(m, discrete) is None and not store.done((name, m, seed, n), config.retry_errors)
                        ]
                    if ours or theirs:
                        plan.append((n, task, seed, ours, theirs))
                        total += len(ours) + len(theirs)

        progress = _Progress(total, config.progress)
        if not plan and config.progress:
            print(f"nothing to run: every selected cell is already in {store.csv_path}", file=sys.stderr)
        samples_dir = config.out / ".samples"
        try:
            for n, task, seed, ours, theirs in plan:
                # one sample of (task, n, seed), seen by every method
                sample = task.sample(n, seed=seed)
                x, y = sample[0], sample[1]
                extra: dict[str, Any] = {}
                if config.kind == "conditional":
                    extra["z"] = sample[2]
                elif config.kind == "discrete":
                    extra["discrete"] = task.discrete
                for method in ours:
                    progress.start(f"{task.name} n{n} {method} s{seed}")
                    out = _run_ours(method, x, y, seed, options, config.timeout, **extra)
                    row = _make_row(task, n, method, "neuralmi", seed, out)
                    store.add(row)
                    progress.done(row)
                if theirs:
                    assert peers is not None  # noqa: S101
                    samples_dir.mkdir(exist_ok=True)
                    path = samples_dir / f"{task.name}-n{n}-s{seed}.npz"
                    np.savez(path, x=x, y=y, **{k: np.asarray(v) for k, v in extra.items()})
                    try:
                        progress.start(f"{task.name} n{n} peers s{seed}")
                        for record in peers.run(path, seed, theirs, config.timeout):
                            method = record["method"]
                            row = _make_row(task, n, method, str(record.get("library") or method.split(":")[0]), seed, record)
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
