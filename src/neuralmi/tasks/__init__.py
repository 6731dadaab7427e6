"""Distributions of ``(X, Y)`` with known mutual information (nats).

Every task has ``name``, ``dim_x``, ``dim_y``, ``family``, the property ``mi``,
``sample(n, seed)`` and, where the density is available, ``log_ratio(x, y)`` (pointwise MI).

>>> from neuralmi import tasks
>>> task = tasks.CorrelatedGaussian(dim=20, rho=0.5)
>>> x, y = task.sample(10_000, seed=0)
>>> round(task.mi, 4)
2.8768
>>> tasks.get("gauss-d20-rho0.5").mi == task.mi
True
"""

from neuralmi.tasks.base import Task
from neuralmi.tasks.beyond_normal import BEYOND_NORMAL
from neuralmi.tasks.gaussian import (
    CorrelatedGaussian,
    GaussianTask,
    dense_gaussian,
    rho_for_mi,
    sparse_gaussian,
    staircase,
)
from neuralmi.tasks.mixture import DiscreteContinuous, GaussianMixture2D, bimodal_gaussian
from neuralmi.tasks.nonlinear import AdditiveUniform, NonlinearChannel
from neuralmi.tasks.conditional import (
    AdditiveNoiseConditional,
    ConditionalGaussian,
    ConditionalTask,
    NonlinearChain,
    TransformedConditional,
    chain_gaussian,
    cmi_gaussian,
    collider_gaussian,
    confounded_gaussian,
    transform_conditional,
)
from neuralmi.tasks.discrete import (
    DiscreteTable,
    GaussianClasses,
    QuantizedGaussian,
    gaussian_classes,
    random_table,
    symmetric_channel,
)
from neuralmi.tasks.registry import BENCHMARK, beyond_normal_names, get, names, register, unregister
from neuralmi.tasks.registry import CONDITIONAL_BENCHMARK, DISCRETE_BENCHMARK, conditional_names, discrete_names
from neuralmi.tasks.student import StudentT, student_t_mi_correction
from neuralmi.tasks.transforms import (
    Affine,
    Asinh,
    Bijection,
    GaussianToMixture,
    HalfCube,
    Linear,
    NormalCDF,
    PlaneSpiral,
    SineSum,
    Spiral,
    SwissRoll,
    TransformedTask,
    Wiggly,
    asinh,
    embed,
    half_cube,
    normal_cdf,
    rotate,
    spiral,
    transform,
    wiggly,
)

__all__ = [
    "Task",
    "GaussianTask",
    "CorrelatedGaussian",
    "dense_gaussian",
    "sparse_gaussian",
    "rho_for_mi",
    "staircase",
    "StudentT",
    "student_t_mi_correction",
    "Bijection",
    "NormalCDF",
    "HalfCube",
    "Asinh",
    "Wiggly",
    "Spiral",
    "Linear",
    "Affine",
    "SineSum",
    "PlaneSpiral",
    "SwissRoll",
    "GaussianToMixture",
    "TransformedTask",
    "transform",
    "normal_cdf",
    "half_cube",
    "asinh",
    "wiggly",
    "spiral",
    "rotate",
    "embed",
    "NonlinearChannel",
    "AdditiveUniform",
    "GaussianMixture2D",
    "bimodal_gaussian",
    "DiscreteContinuous",
    "get",
    "names",
    "register",
    "unregister",
    "BENCHMARK",
    "ConditionalTask",
    "ConditionalGaussian",
    "confounded_gaussian",
    "cmi_gaussian",
    "chain_gaussian",
    "collider_gaussian",
    "TransformedConditional",
    "transform_conditional",
    "AdditiveNoiseConditional",
    "NonlinearChain",
    "CONDITIONAL_BENCHMARK",
    "conditional_names",
    "GaussianClasses",
    "gaussian_classes",
    "QuantizedGaussian",
    "DiscreteTable",
    "symmetric_channel",
    "random_table",
    "DISCRETE_BENCHMARK",
    "discrete_names",
    "BEYOND_NORMAL",
    "beyond_normal_names",
]
