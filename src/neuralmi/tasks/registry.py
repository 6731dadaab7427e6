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

Two more suites live beside it, outside :data:`BENCHMARK` and :func:`names` (so the MI
benchmark's task set is unchanged): :data:`CONDITIONAL_BENCHMARK`, tasks with known conditional
MI (:mod:`neuralmi.tasks.conditional`; ``sample`` returns ``(x, y, z)``), listed by
:func:`conditional_names`, and :data:`DISCRETE_BENCHMARK`, tasks with a discrete side
(:mod:`neuralmi.tasks.discrete`), listed by :func:`discrete_names`. :func:`get` finds all of them
(names: ``cgauss-*``, ``chain-*``, ``collider-*``, ``cnoise-*``, transformed ``{t}-cgauss-*``;
``labels-*``, ``qgauss-*``, ``channel-*``, ``table-*``).
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
        _ensure_extra_built()
        if name in _EXTRA:
            return _EXTRA[name]  # type: ignore[return-value]
        close = difflib.get_close_matches(name, [*_TASKS, *_EXTRA, *BEYOND_NORMAL], n=5, cutoff=0.6)
        hint = f"; did you mean: {', '.join(close)}" if close else "; see neuralmi.tasks.names()"
        raise ValueError(f"unknown task {name!r}{hint}") from None


# ---------------------------------------------------------------------------------------------
# The conditional-MI and discrete suites (outside BENCHMARK and names(): the MI benchmark's task
# set is unchanged; get() finds them)
# ---------------------------------------------------------------------------------------------

__all__ += ["CONDITIONAL_BENCHMARK", "DISCRETE_BENCHMARK", "conditional_names", "discrete_names"]


def _conditional_factories() -> list[Callable[[], object]]:
    from neuralmi.tasks.conditional import (
        AdditiveNoiseConditional,
        NonlinearChain,
        chain_gaussian,
        cmi_gaussian,
        collider_gaussian,
        transform_conditional,
    )
    from neuralmi.tasks.transforms import Asinh, HalfCube, NormalCDF, Spiral, Wiggly

    g = CorrelatedGaussian
    return [
        # confounded Gaussians: d_z 1..20, CMI 0.5..2 nats
        lambda: cmi_gaussian(0.5, 1),
        lambda: cmi_gaussian(1.0, 5),
        lambda: cmi_gaussian(0.5, 10),
        lambda: cmi_gaussian(1.0, 20),
        lambda: cmi_gaussian(2.0, 20),
        lambda: cmi_gaussian(1.0, 5, dim_x=2, dim_y=2),
        lambda: cmi_gaussian(2.0, 10, dim_x=3, dim_y=3),
        # colliders (MI 0, CMI > 0)
        lambda: collider_gaussian(1),
        lambda: collider_gaussian(5),
        # chains (CMI 0, MI > 0)
        lambda: chain_gaussian(1),
        lambda: chain_gaussian(5),
        lambda: chain_gaussian(20),
        lambda: NonlinearChain(1, "tanh"),
        lambda: NonlinearChain(5, "tanh"),
        lambda: NonlinearChain(10, "square"),
        # bijections of X, Y and Z (same CMI, non-Gaussian)
        lambda: transform_conditional(cmi_gaussian(1.0, 5), HalfCube(), HalfCube(), HalfCube()),
        lambda: transform_conditional(cmi_gaussian(1.0, 3), Asinh(), Wiggly(), Spiral()),
        lambda: transform_conditional(cmi_gaussian(0.5, 3), NormalCDF(), HalfCube(), Wiggly()),
        lambda: transform_conditional(collider_gaussian(3), HalfCube(), HalfCube(), HalfCube()),
        # non-linear confounding, Gaussian and Student-t noise
        lambda: AdditiveNoiseConditional(g(1, 0.8), 5, "tanh"),
        lambda: AdditiveNoiseConditional(g(2, 0.75), 10, "sin"),
        lambda: AdditiveNoiseConditional(g(1, 0.9), 20, "square"),
        lambda: AdditiveNoiseConditional(StudentT(1, 1, dof=3, rho=0.6), 5, "tanh"),
    ]


def _discrete_factories() -> list[Callable[[], object]]:
    from neuralmi.tasks.discrete import (
        GaussianClasses,
        QuantizedGaussian,
        gaussian_classes,
        random_table,
        symmetric_channel,
    )

    return [
        # class labels with Gaussian class-conditional features
        lambda: gaussian_classes(2, 1, spacing=2.0),
        lambda: gaussian_classes(4, 1, spacing=2.0),
        lambda: gaussian_classes(4, 5, spacing=2.0),
        lambda: gaussian_classes(10, 5, spacing=3.0),
        lambda: gaussian_classes(6, 3, spacing=2.0, layout="circle"),
        lambda: gaussian_classes(8, 10, spacing=3.0, layout="circle", priors="skewed"),
        lambda: GaussianClasses(
            [[0.0], [1.5], [4.0]], sigma=[1.0, 0.5, 2.0], priors=[0.2, 0.3, 0.5], name="labels-k3-d1-hetero"
        ),
        # continuous X, quantised Y
        lambda: QuantizedGaussian(0.5, bins_y=2),
        lambda: QuantizedGaussian(0.8, bins_y=4),
        lambda: QuantizedGaussian(0.95, bins_y=10),
        # discrete-discrete
        lambda: QuantizedGaussian(0.8, bins_y=4, bins_x=4),
        lambda: symmetric_channel(5, 0.2),
        lambda: symmetric_channel(20, 0.5),
        lambda: random_table(4, 6, seed=0),
    ]


_EXTRA: dict[str, object] = {}
_EXTRA_BUILT = False
#: names of the conditional-MI suite (filled on first use; see :func:`conditional_names`)
CONDITIONAL_BENCHMARK: list[str] = []
#: names of the discrete suite (filled on first use; see :func:`discrete_names`)
DISCRETE_BENCHMARK: list[str] = []


def _ensure_extra_built() -> None:
    global _EXTRA_BUILT
    if _EXTRA_BUILT:
        return
    _ensure_built()
    suites = ((_conditional_factories(), CONDITIONAL_BENCHMARK), (_discrete_factories(), DISCRETE_BENCHMARK))
    for factories, listing in suites:
        for factory in factories:
            task = factory()
            name = task.name  # type: ignore[attr-defined]
            if name in _EXTRA or name in _TASKS:
                raise RuntimeError(f"duplicate task name {name!r}")
            _EXTRA[name] = task
            listing.append(name)
    _EXTRA_BUILT = True


def conditional_names(pattern: str | None = None) -> list[str]:
    """Names of the conditional-MI suite (:data:`CONDITIONAL_BENCHMARK`), in suite order,
    optionally filtered by an ``fnmatch`` pattern. Each is a
    :class:`~neuralmi.tasks.conditional.ConditionalTask` (``get(name).sample(n, seed)`` returns
    ``(x, y, z)``; ``.cmi`` is the truth)."""
    _ensure_extra_built()
    if pattern is not None and not isinstance(pattern, str):
        raise TypeError("pattern must be a string or None")
    return [n for n in CONDITIONAL_BENCHMARK if pattern is None or fnmatch.fnmatchcase(n, pattern)]


def discrete_names(pattern: str | None = None) -> list[str]:
    """Names of the discrete suite (:data:`DISCRETE_BENCHMARK`), in suite order, optionally
    filtered by an ``fnmatch`` pattern; each task has ``discrete`` (``"y"`` or ``"xy"``)."""
    _ensure_extra_built()
    if pattern is not None and not isinstance(pattern, str):
        raise TypeError("pattern must be a string or None")
    return [n for n in DISCRETE_BENCHMARK if pattern is None or fnmatch.fnmatchcase(n, pattern)]
