"""neuralmi: mutual information estimation with neural networks.

>>> import neuralmi
>>> sorted(neuralmi.METHODS)[:3]
['dv', 'infonce', 'js']
"""

from . import bounds, critics, exceptions
from .critics import BilinearCritic, ConcatCritic, ConvCritic, GaussianCritic, SeparableCritic
from .estimators import DV, JS, MINE, MINEE, NWJ, SMILE, TUBA, EstimatorConfig, InfoNCE, NeuralEstimator, estimate
from .objectives import METHODS, MutualInformation
from .result import MIResult

__version__ = "0.10.0"


# submodules and names that load on first use, not on ``import neuralmi`` (SciPy's integrators
# and KD-trees cost import time that an estimate does not need)
_LAZY_MODULES = ("tasks", "nonparametric", "data", "regularizers", "preprocessing", "training", "objectives", "independence", "conditional", "discrete", "distributed")
_LAZY_NAMES = {
    "ksg": "nonparametric",
    "ksg_lnc": "nonparametric",
    "gaussian_mi": "nonparametric",
    "binned_mi": "nonparametric",
    "KSG": "nonparametric",
    "GaussianMI": "nonparametric",
    "adaptive_gradient_clipping": "regularizers",
    "independence_test": "independence",
    "IndependenceTest": "independence",
    "ksg_cmi": "nonparametric",
    "gaussian_cmi": "nonparametric",
    "mixed_ksg": "nonparametric",
    "KSGCMI": "nonparametric",
    "GaussianCMI": "nonparametric",
    "MixedKSG": "nonparametric",
    "ConditionalMI": "conditional",
    "estimate_conditional": "conditional",
    "plugin_mi": "discrete",
    "estimate_discrete": "discrete",
}


def __getattr__(name: str) -> object:
    import importlib

    if name in _LAZY_MODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _LAZY_NAMES:
        return getattr(importlib.import_module(f".{_LAZY_NAMES[name]}", __name__), name)
    raise AttributeError(f"module 'neuralmi' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_MODULES) | set(_LAZY_NAMES))

__all__ = [
    "estimate",
    "MIResult",
    "MutualInformation",
    "METHODS",
    "EstimatorConfig",
    "NeuralEstimator",
    "MINE",
    "DV",
    "NWJ",
    "InfoNCE",
    "JS",
    "SMILE",
    "TUBA",
    "MINEE",
    "ConcatCritic",
    "SeparableCritic",
    "BilinearCritic",
    "GaussianCritic",
    "ConvCritic",
    "ksg",
    "ksg_lnc",
    "gaussian_mi",
    "binned_mi",
    "adaptive_gradient_clipping",
    "independence_test",
    "IndependenceTest",
    "ksg_cmi",
    "gaussian_cmi",
    "mixed_ksg",
    "ConditionalMI",
    "plugin_mi",
    "bounds",
    "critics",
    "exceptions",
    "tasks",
    "nonparametric",
    "data",
    "regularizers",
]
