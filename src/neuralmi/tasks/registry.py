"""A registry of tasks keyed by stable names, pre-filled with a benchmark suite.

``get(name)`` returns the task, ``names(pattern)`` lists names (``fnmatch`` patterns such as
``"gauss-*"``), ``register(task)`` adds one. The benchmark tasks are built lazily on first use
(nothing is computed at import time) and cached, so ``get`` returns the same object each time.

Naming scheme (every parameter is in the name):

=====================================  ==========================================================
``gauss-d{d}-rho{ρ}``                   :class:`CorrelatedGaussian`, X and Y in R^d
``gauss-dense-{dx}x{dy}-c{c}``          :func:`dense_gaussian`
``gauss-sparse-{dx}x{dy}-k{k}-rho{ρ}``  :func:`sparse_gaussian`
``student-t-{dx}x{dy}-dof{ν}-rho{ρ}``   :class:`StudentT`
``{transform}-{base name}``             :func:`transform` applied to both sides, e.g.
                                        ``halfcube-gauss-d2-rho0.75``
``channel-{f}-sigma{σ}``                :class:`NonlinearChannel`
``uniform-noise-a{a}``                  :class:`AdditiveUniform`
``bimodal-shift{s}-rho{ρ}``             :func:`bimodal_gaussian`
``classes-k{K}-d{d}-delta{Δ}``          :class:`DiscreteContinuous`
=====================================  ==========================================================

Also registered: the 40 tasks of benchmark-mi's "Beyond Normal" suite under bmi's own ids
(``1v1-normal-0.75``, ``multinormal-dense-50-50-0.5``, ...; :mod:`neuralmi.tasks.beyond_normal`),
listed in :data:`BEYOND_NORMAL` and by :func:`beyond_normal_names`. They are outside
:data:`BENCHMARK` and :func:`names` (the benchmark's task set is unchanged); :func:`get` finds them.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Callable

from neuralmi.interface import Task as TaskProtocol
from neuralmi.tasks.base import Task
from neuralmi.tasks.beyond_normal import BEYOND_NORMAL, beyond_normal_tasks
from neuralmi.tasks.gaussian import CorrelatedGaussian, dense_gaussian, sparse_gaussian
from neuralmi.tasks.mixture import DiscreteContinuous, bimodal_gaussian
from neuralmi.tasks.nonlinear import AdditiveUniform, NonlinearChannel
from neuralmi.tasks.student import StudentT
from neuralmi.tasks.transforms import asinh, embed, half_cube, normal_cdf, spiral, wiggly

__all__ = ["get", "names", "register", "unregister", "BENCHMARK", "BEYOND_NORMAL", "beyond_normal_names"]


def _benchmark_factories() -> list[Callable[[], Task]]:
    g = CorrelatedGaussian
    return [
        # componentwise-correlated Gaussians (the MINE paper's family), MI 0.14 .. 16.6 nats, dims 1+1 .. 25+25
        lambda: g(1, 0.5),
        lambda: g(2, 0.5),
        lambda: g(5, 0.75),
        lambda: g(20, 0.5),
        lambda: g(25, 0.2),
        # high MI
        lambda: g(5, 0.99),
        lambda: g(10, 0.95),
        lambda: g(20, 0.9),
        # dense and sparse interactions
        lambda: dense_gaussian(2, 2, 0.5),
        lambda: dense_gaussian(5, 5, 0.5),
        lambda: dense_gaussian(25, 25, 0.5),
        lambda: sparse_gaussian(5, 5, 2, 0.8),
        lambda: sparse_gaussian(25, 25, 2, 0.8),
        # Student-t (heavy tails; rho 0 is dependent but uncorrelated)
        lambda: StudentT(1, 1, dof=1, rho=0.0),
        lambda: StudentT(1, 1, dof=2, rho=0.5),
        lambda: StudentT(2, 2, dof=3, rho=0.5),
        lambda: StudentT(5, 5, dof=2, rho=0.0),
        lambda: StudentT(5, 5, dof=5, rho=0.5),
        # transformed Gaussians / Student-t (same MI as the base)
        lambda: normal_cdf(g(1, 0.75)),
        lambda: half_cube(g(2, 0.75)),
        lambda: half_cube(g(10, 0.5)),
        lambda: asinh(StudentT(1, 1, dof=1, rho=0.0)),
        lambda: asinh(StudentT(2, 2, dof=3, rho=0.5)),
        lambda: wiggly(g(5, 0.5)),
        lambda: spiral(g(3, 0.75)),
        lambda: spiral(normal_cdf(g(5, 0.5))),
        lambda: embed(g(2, 0.9), 10, 10, seed=0),
        # scalar channels
        lambda: NonlinearChannel("linear", 0.1),
        lambda: NonlinearChannel("cubic", 0.1),
        lambda: NonlinearChannel("sin", 0.1),
        lambda: NonlinearChannel("sin", 0.5),
        lambda: AdditiveUniform(0.1),
        lambda: AdditiveUniform(0.75),
        # mixture and discrete-continuous
        lambda: bimodal_gaussian(1.5, 0.5),
        lambda: DiscreteContinuous(4, 2, spacing=2.0),
        lambda: DiscreteContinuous(10, 5, spacing=3.0),
    ]


_TASKS: dict[str, TaskProtocol] = {}
_BUILT = False
#: names of the pre-registered benchmark suite (filled on first use of the registry)
BENCHMARK: list[str] = []


def _ensure_built() -> None:
    global _BUILT
    if _BUILT:
        return
    for factory in _benchmark_factories():
        task = factory()
        if task.name in _TASKS:
            raise RuntimeError(f"duplicate benchmark task name {task.name!r}")
        _TASKS[task.name] = task
        BENCHMARK.append(task.name)
    _BUILT = True


_BEYOND: dict[str, Task] = {}


def _beyond_normal() -> dict[str, Task]:
    """benchmark-mi's 40 tasks by name (built on first use)."""
    if not _BEYOND:
        _BEYOND.update((task.name, task) for task in beyond_normal_tasks())
    return _BEYOND


def beyond_normal_names(pattern: str | None = None) -> list[str]:
    """Names of benchmark-mi's "Beyond Normal" suite (:data:`BEYOND_NORMAL`, bmi's task ids), in
    bmi's order, optionally filtered by an ``fnmatch`` pattern (e.g. ``"multinormal-*"``)."""
    if pattern is not None and not isinstance(pattern, str):
        raise TypeError("pattern must be a string or None")
    return [n for n in BEYOND_NORMAL if pattern is None or fnmatch.fnmatchcase(n, pattern)]


def register(task: TaskProtocol, overwrite: bool = False) -> TaskProtocol:
    """Add ``task`` under ``task.name``; returns it.

    Any object with the :class:`neuralmi.interface.Task` protocol (``name``, ``dim_x``,
    ``dim_y``, ``mi``, ``sample(n, seed)``) can be registered, e.g. to run ``neuralmi bench`` on
    a distribution of one's own; it need not subclass :class:`~neuralmi.tasks.Task`.

    Raises:
        TypeError: not a task (the protocol's attributes are missing).
        ValueError: the name is taken and ``overwrite`` is false.
    """
    if not isinstance(task, TaskProtocol):
        raise TypeError(
            f"can only register tasks (name, dim_x, dim_y, mi, sample(n, seed)); got {type(task).__name__}"
        )
    _ensure_built()
    if task.name in BEYOND_NORMAL:
        raise ValueError(f"{task.name!r} is a task of benchmark-mi's suite; choose another name")
    if task.name in _TASKS and not overwrite:
        raise ValueError(f"a task named {task.name!r} is already registered (pass overwrite=True)")
    _TASKS[task.name] = task
    return task


def unregister(name: str) -> None:
    """Remove a task added with :func:`register` (benchmark tasks cannot be removed)."""
    _ensure_built()
    if name in BENCHMARK or name in BEYOND_NORMAL:
        raise ValueError(f"{name!r} is part of the benchmark suite and cannot be removed")
    if name not in _TASKS:
        raise ValueError(f"no task named {name!r} is registered")
    del _TASKS[name]


def names(pattern: str | None = None) -> list[str]:
    """Sorted registered names, optionally filtered by an ``fnmatch`` pattern (e.g. ``"gauss-*"``)."""
    _ensure_built()
    if pattern is not None and not isinstance(pattern, str):
        raise TypeError("pattern must be a string or None")
    found = sorted(_TASKS)
    return found if pattern is None else [n for n in found if fnmatch.fnmatchcase(n, pattern)]


def get(name: str) -> TaskProtocol:
    """The registered task called ``name``.

    Raises:
        ValueError: unknown name; the message lists close matches.
    """
    _ensure_built()
    if not isinstance(name, str):
        raise TypeError(f"name must be a string; got {type(name).__name__}")
    if name in BEYOND_NORMAL:
        return _beyond_normal()[name]
    try:
        return _TASKS[name]
    except KeyError:
        close = difflib.get_close_matches(name, [*_TASKS, *BEYOND_NORMAL], n=5, cutoff=0.6)
        hint = f"; did you mean: {', '.join(close)}" if close else "; see neuralmi.tasks.names()"
        raise ValueError(f"unknown task {name!r}{hint}") from None
