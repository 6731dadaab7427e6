"""The small protocols the rest of the package is written against.

- :class:`Task`: a distribution with known MI (:mod:`neuralmi.tasks`, the bench's grid);
- :class:`Estimator`: anything fitted to paired samples that exposes ``mi_`` (the estimator
  classes of :mod:`neuralmi.estimators` and :mod:`neuralmi.nonparametric`);
- :class:`Objective`: what the training loop trains (:func:`neuralmi.training.train`), which
  :class:`~neuralmi.MutualInformation` provides.

This module imports nothing else from ``neuralmi`` so that everything may import it without
cycles (the idea is taken from bmi's ``interface.py``).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["Task", "Estimator", "Objective", "Evaluated"]


@runtime_checkable
class Task(Protocol):
    """A joint distribution of (X, Y) whose mutual information is known.

    Attributes:
        name: a stable identifier that encodes the parameters, e.g. ``"gauss-d20-rho0.5"``.
        dim_x, dim_y: dimensions of X and Y.
        mi: the true mutual information I(X; Y) in nats.
    """

    name: str
    dim_x: int
    dim_y: int

    @property
    def mi(self) -> float: ...

    def sample(self, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` i.i.d. pairs; return float arrays ``x`` of shape (n, dim_x), ``y`` (n, dim_y)."""
        ...


@runtime_checkable
class Estimator(Protocol):
    """Anything that estimates MI from paired samples, scikit-learn style."""

    def fit(self, x: Any, y: Any) -> "Estimator": ...

    @property
    def mi_(self) -> float: ...


class Evaluated(Protocol):
    """A held-out evaluation (:class:`neuralmi.objectives.Evaluation`)."""

    value: float
    n: int

    @property
    def criterion(self) -> float: ...

    @property
    def stderr(self) -> float: ...


class Objective(Protocol):
    """What the training loop needs: parameters, a loss with the bound's value, a held-out
    evaluation, and ``state_dict`` for checkpoints. The loop knows nothing of which bound it is."""

    def parameters(self) -> Any: ...

    def train(self, mode: bool = True) -> Any: ...

    def eval(self) -> Any: ...

    def state_dict(self) -> dict[str, Any]: ...

    def critic_loss(self, x: Any, y: Any, with_value: bool = ...) -> Any:
        """``(loss, value)`` with ``with_value=True``: the loss to minimise and the bound's value."""
        ...

    def evaluate(self, x: Any, y: Any, n_shifts: int = ..., batch_size: int = ..., seed: int | None = ...) -> Evaluated: ...
