"""Warning classes: one per kind of reason to distrust an estimate.

Every estimator delivers its warnings both ways: as plain-language strings in
:attr:`MIResult.warnings <neuralmi.MIResult.warnings>` and through :func:`warnings.warn` with one
of the classes below, so that the usual filters work::

    import warnings, neuralmi
    warnings.simplefilter("ignore", neuralmi.exceptions.TiedSamplesWarning)
    warnings.simplefilter("error", neuralmi.exceptions.NeuralMIWarning)   # every kind

This module imports nothing (it sits below everything else in the package).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

__all__ = [
    "NeuralMIWarning",
    "ConstantColumnWarning",
    "DependentColumnsWarning",
    "TiedSamplesWarning",
    "DivergenceWarning",
    "CeilingWarning",
    "UncertifiableWarning",
    "OverfittingWarning",
    "NoDependenceWarning",
    "NegativeEstimateWarning",
    "NoProgressWarning",
    "UnstableEstimateWarning",
    "DuplicateRowsWarning",
    "HighDimensionWarning",
    "DiscreteDataWarning",
    "DiscreteDetectedWarning",
    "emit",
]


class NeuralMIWarning(UserWarning):
    """Base class of every warning neuralmi issues."""


class ConstantColumnWarning(NeuralMIWarning):
    """A column of ``x`` or ``y`` has zero variance and was dropped (it carries no information)."""


class DependentColumnsWarning(NeuralMIWarning):
    """Some columns of x or y are exact linear combinations of others."""


class TiedSamplesWarning(NeuralMIWarning):
    """The samples have ties or duplicates, which bias the k-NN estimators (use ``jitter``)."""


class DivergenceWarning(NeuralMIWarning):
    """Training diverged (a NaN or infinite loss); the last good checkpoint was used."""


class CeilingWarning(NeuralMIWarning):
    """The estimate is close to a ceiling of its bound (InfoNCE: log of the batch size)."""


class UncertifiableWarning(NeuralMIWarning):
    """The estimate exceeds what the held-out sample can certify (about log n nats)."""


class OverfittingWarning(NeuralMIWarning):
    """The bound on training batches is well above the held-out bound."""


class NoDependenceWarning(NeuralMIWarning):
    """The held-out bound never rose above zero: independent data, or a critic that failed."""


class NegativeEstimateWarning(NeuralMIWarning):
    """The held-out bound was negative and 0 is reported."""


class NoProgressWarning(NeuralMIWarning):
    """Training never improved the held-out bound (early stopping at the first check)."""


class UnstableEstimateWarning(NeuralMIWarning):
    """Parts of the estimate (held-out folds) disagree beyond their error bars."""


class DuplicateRowsWarning(NeuralMIWarning):
    """Some rows are exact copies of others (repeated measurements or an artefact)."""


class HighDimensionWarning(NeuralMIWarning):
    """The estimator is known to be strongly biased at this dimension and sample size."""


class DiscreteDataWarning(NeuralMIWarning):
    """A side takes few distinct values: a discrete estimator fits it better."""


class DiscreteDetectedWarning(NeuralMIWarning):
    """``neuralmi.estimate`` found a discrete side on its own (``discrete="auto"``, the default)
    and used the estimator for discrete data; ``discrete="none"`` keeps integers continuous."""


def emit(found: Iterable[tuple[type[Warning], str]], stacklevel: int = 3) -> tuple[str, ...]:
    """Issue each ``(category, message)`` with :func:`warnings.warn`; return the messages.

    The returned tuple is what goes into :attr:`MIResult.warnings`.
    """
    messages = []
    for category, message in found:
        warnings.warn(message, category, stacklevel=stacklevel)
        messages.append(message)
    return tuple(messages)
