"""The 40 tasks of the "Beyond Normal" benchmark, rebuilt from neuralmi's building blocks.

Czyż, Grabowski, Vogt, Beerenwinkel, Marx, "Beyond Normal: On the Evaluation of Mutual
Information Estimators", NeurIPS 2023; the suite is ``bmi.benchmark.BENCHMARK_TASKS`` of the
package benchmark-mi (github.com/cbg-ethz/bmi, ``src/bmi/benchmark/task_list.py``). Every task
keeps bmi's id as its name and samples the same distribution as bmi's definition (the random
numbers differ: bmi draws with JAX or SciPy, neuralmi with NumPy's ``default_rng(seed)``):

=========================================  ====================================================
bmi task (id pattern)                      here
=========================================  ====================================================
``1v1-normal-0.75``                        :class:`CorrelatedGaussian` (1, 0.75)
``multinormal-dense-{d}-{d}-0.5``          :func:`dense_gaussian` (d, d, 0.5): every
                                           correlation 0.5 (bmi: ``I·0.5 + 0.5``)
``multinormal-sparse-{d}-{d}-2-2.0``       :func:`sparse_gaussian` (d, d, 2, 0.8): bmi's latent
                                           model with λ = η = 2, ε = 1 has correlation
                                           λ²/(λ² + ε²) = 0.8 in two pairs, 0 elsewhere
``student-identity-{d}-{d}-{ν}``           :class:`StudentT` (d, d, ν), identity dispersion
``1v1-additive-{ε}``                       X ~ U(0, 1), Y = X + U(−ε, ε): :class:`AdditiveUniform`
                                           (a = 2ε, on (−1, 1)) mapped by u -> (u + 1)/2
``1v1-bimodal-0.75``                       ``1v1-normal-0.75`` with marginals mapped by
                                           :class:`GaussianToMixture`: X to 0.3·N(0, 1) +
                                           0.7·N(5, 1), Y to 0.5·N(−1, 1) + 0.5·N(3, 1)
``wiggly-1v1-normal-0.75``                 :class:`SineSum` maps (bmi's ``wiggly_x``/``wiggly_y``)
``normal_cdf-…``, ``half_cube-…``,         :class:`NormalCDF`, :class:`HalfCube`, :class:`Asinh`
``asinh-…``                                on both sides
``spiral-…``                               :class:`PlaneSpiral`: X rotated in the plane (0, 1) by
                                           ``|x|²/d_x``, Y in the plane (1, 2) by ``|y|²/d_y``
``swissroll_x-normal_cdf-1v1-normal-0.75`` :class:`SwissRoll` of X (uniform on (0, 1)), Y kept
=========================================  ====================================================

The true MI is that of the Gaussian or Student-t base (every map is injective), computed in
closed form; ``tests/tasks/test_beyond_normal.py`` checks each against the value benchmark-mi
0.1.3 reports, and every task has ``log_ratio`` (the Monte Carlo check of its MI).

>>> from neuralmi import tasks
>>> len(tasks.BEYOND_NORMAL)
40
>>> round(tasks.get("multinormal-sparse-3-3-2-2.0").mi, 4)
1.0217
"""

from __future__ import annotations

from collections.abc import Callable

from neuralmi.tasks.base import Task
from neuralmi.tasks.gaussian import CorrelatedGaussian, dense_gaussian, sparse_gaussian
from neuralmi.tasks.nonlinear import AdditiveUniform
from neuralmi.tasks.student import StudentT
from neuralmi.tasks.transforms import (
    Affine,
    Asinh,
    GaussianToMixture,
    HalfCube,
    NormalCDF,
    PlaneSpiral,
    SineSum,
    SwissRoll,
    transform,
)

__all__ = ["BEYOND_NORMAL", "beyond_normal_tasks", "WIGGLY_X", "WIGGLY_Y"]

#: bmi's ``wiggly_x``: x + 0.4 sin(x) + 0.2 sin(1.7x + 1) + 0.03 sin(3.3x − 2.5)
WIGGLY_X: tuple[tuple[float, float, float], ...] = ((0.4, 1.0, 0.0), (0.2, 1.7, 1.0), (0.03, 3.3, -2.5))
#: bmi's ``wiggly_y``: x − 0.4 sin(0.4x) + 0.17 sin(1.3x + 3.5) + 0.02 sin(4.3x − 2.5)
WIGGLY_Y: tuple[tuple[float, float, float], ...] = ((-0.4, 0.4, 0.0), (0.17, 1.3, 3.5), (0.02, 4.3, -2.5))

#: the 40 task ids of ``bmi.benchmark.BENCHMARK_TASKS``, in bmi's order
BEYOND_NORMAL: list[str] = [
    # one-dimensional
    "1v1-normal-0.75",
    "normal_cdf-1v1-normal-0.75",
    "1v1-additive-0.1",
    "1v1-additive-0.75",
    "1v1-bimodal-0.75",
    "wiggly-1v1-normal-0.75",
    "half_cube-1v1-normal-0.75",
    "student-identity-1-1-1",
    "asinh-student-identity-1-1-1",
    # embedding
    "swissroll_x-normal_cdf-1v1-normal-0.75",
    # multinormal
    "multinormal-dense-2-2-0.5",
    "multinormal-dense-3-3-0.5",
    "multinormal-dense-5-5-0.5",
    "multinormal-dense-25-25-0.5",
    "multinormal-dense-50-50-0.5",
    "multinormal-sparse-2-2-2-2.0",
    "multinormal-sparse-3-3-2-2.0",
    "multinormal-sparse-5-5-2-2.0",
    "multinormal-sparse-25-25-2-2.0",
    # Student-t
    "student-identity-2-2-1",
    "student-identity-2-2-2",
    "student-identity-3-3-2",
    "student-identity-3-3-3",
    "student-identity-5-5-2",
    "student-identity-5-5-3",
    # transformed
    "normal_cdf-multinormal-sparse-3-3-2-2.0",
    "normal_cdf-multinormal-sparse-5-5-2-2.0",
    "normal_cdf-multinormal-sparse-25-25-2-2.0",
    "half_cube-multinormal-sparse-3-3-2-2.0",
    "half_cube-multinormal-sparse-5-5-2-2.0",
    "half_cube-multinormal-sparse-25-25-2-2.0",
    "spiral-multinormal-sparse-3-3-2-2.0",
    "spiral-multinormal-sparse-5-5-2-2.0",
    "spiral-multinormal-sparse-25-25-2-2.0",
    "spiral-normal_cdf-multinormal-sparse-3-3-2-2.0",
    "spiral-normal_cdf-multinormal-sparse-5-5-2-2.0",
    "spiral-normal_cdf-multinormal-sparse-25-25-2-2.0",
    "asinh-student-identity-2-2-1",
    "asinh-student-identity-3-3-2",
    "asinh-student-identity-5-5-2",
]


# --------------------------------------------------------------------------------- base tasks
def _binormal() -> Task:
    return CorrelatedGaussian(1, 0.75, name="1v1-normal-0.75")


def _dense(d: int) -> Task:
    return dense_gaussian(d, d, 0.5, name=f"multinormal-dense-{d}-{d}-0.5")


def _sparse(d: int) -> Task:
    # bmi: GaussianLVMParametrization(n_interacting=2, alpha=0, lambd=2, beta=0, eta=2, epsilon=1):
    # var = ε² + λ² = ε² + η² = 5 on every coordinate, cov(X_i, Y_i) = λ² = 4 for i < 2
    return sparse_gaussian(d, d, 2, 0.8, name=f"multinormal-sparse-{d}-{d}-2-2.0")


def _student(d: int, dof: int) -> Task:
    return StudentT(d, d, dof=dof, rho=0.0, name=f"student-identity-{d}-{d}-{dof}")


# ---------------------------------------------------------------------------------- transforms
def _both(prefix: str, base: Task, make: Callable[[], object]) -> Task:
    """bmi's ``{prefix}-{base id}``: the same coordinatewise map on X and Y."""
    return transform(base, make(), make(), name=f"{prefix}-{base.name}")


def _normal_cdf(base: Task) -> Task:
    return _both("normal_cdf", base, NormalCDF)


def _half_cube(base: Task) -> Task:
    return _both("half_cube", base, HalfCube)


def _asinh(base: Task) -> Task:
    return _both("asinh", base, Asinh)


def _spiral(base: Task) -> Task:
    # bmi's transform_spiral_task(speed=1, normalize_speed=True): generators so(d_x)(0, 1) and
    # so(d_y)(1, 2), speeds 1/d_x and 1/d_y
    fx = PlaneSpiral(1.0 / base.dim_x, 0, 1)
    fy = PlaneSpiral(1.0 / base.dim_y, 1, 2)
    return transform(base, fx, fy, name=f"spiral-{base.name}")


def _additive(epsilon: float) -> Task:
    # bmi: X ~ U(0, 1), Y = X + N, N ~ U(−ε, ε). AdditiveUniform(a) has X' ~ U(−1, 1) and
    # Y' = X' + U(−a, a); (X' + 1)/2 and (Y' + 1)/2 with a = 2ε are bmi's X and Y.
    half = Affine(0.5, 0.5)
    task = transform(AdditiveUniform(2.0 * epsilon), half, half, name=f"1v1-additive-{epsilon}")
    task.family = "additive-noise"
    return task


def _bimodal() -> Task:
    # bmi: the uniform pair Φ(X), Φ(Y) of 1v1-normal-0.75 mapped by the inverse CDFs of
    # 0.3·N(0, 1) + 0.7·N(5, 1) (X) and 0.5·N(−1, 1) + 0.5·N(3, 1) (Y)
    fx = GaussianToMixture([0.3, 0.7], [0.0, 5.0], name="bimodal_x")
    fy = GaussianToMixture([0.5, 0.5], [-1.0, 3.0], name="bimodal_y")
    return transform(_binormal(), fx, fy, name="1v1-bimodal-0.75")


def _wiggly() -> Task:
    return transform(_binormal(), SineSum(WIGGLY_X, name="wiggly_x"), SineSum(WIGGLY_Y, name="wiggly_y"),
                     name="wiggly-1v1-normal-0.75")


def _swissroll() -> Task:
    base = _normal_cdf(_binormal())
    return transform(base, SwissRoll(), None, name=f"swissroll_x-{base.name}")


def beyond_normal_tasks() -> list[Task]:
    """New instances of the 40 tasks, in the order of :data:`BEYOND_NORMAL`."""
    out: list[Task] = [
        _binormal(),
        _normal_cdf(_binormal()),
        _additive(0.1),
        _additive(0.75),
        _bimodal(),
        _wiggly(),
        _half_cube(_binormal()),
        _student(1, 1),
        _asinh(_student(1, 1)),
        _swissroll(),
    ]
    out += [_dense(d) for d in (2, 3, 5, 25, 50)]
    out += [_sparse(d) for d in (2, 3, 5, 25)]
    out += [_student(d, dof) for d, dof in ((2, 1), (2, 2), (3, 2), (3, 3), (5, 2), (5, 3))]
    out += [_normal_cdf(_sparse(d)) for d in (3, 5, 25)]
    out += [_half_cube(_sparse(d)) for d in (3, 5, 25)]
    out += [_spiral(_sparse(d)) for d in (3, 5, 25)]
    out += [_spiral(_normal_cdf(_sparse(d))) for d in (3, 5, 25)]
    out += [_asinh(_student(d, dof)) for d, dof in ((2, 1), (3, 2), (5, 2))]
    names = [t.name for t in out]
    if names != BEYOND_NORMAL:  # pragma: no cover - guards the two lists against drift
        raise RuntimeError("beyond_normal_tasks() and BEYOND_NORMAL disagree")
    return out
