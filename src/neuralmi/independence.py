"""A permutation test of independence whose statistic is a held-out neural MI bound.

:func:`independence_test` fits an estimator once (:func:`neuralmi.estimate`'s procedure), then
tests H0: X and Y are independent, on each held-out fold separately: the fold is read with the
critic that the *other* fold selected (so the critic, the transforms and the selection depend on
the training rows and the other fold only), and its statistic is compared with the same
read-out on the fold with ``y`` permuted. Under H0 the fold's pairs are exchangeable given
everything the critic depends on, so each fold's p-value is exact in finite samples (up to the
``1 / (B + 1)`` resolution); the two are combined by Bonferroni, ``min(1, 2 min(p_A, p_B))``,
which stays valid whatever their dependence. Nothing is retrained per permutation: a test costs
one fit plus ``2 B`` read-outs.

With ``folds=K`` (K-fold cross-fitting) each of the K folds is tested with its own critic
(trained on the other folds only) and the K p-values are combined by Bonferroni,
``min(1, K min_k p_k)``. Critic ``k``'s weights never depend on fold ``k``, but its stopping step
is chosen from the other critics' curves, and they were trained on fold ``k``: that one number
is the only way fold ``k``'s pairing reaches its critic, so the p-values are exact up to that
one choice (as with any cross-validated number of steps).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .result import MIResult

__all__ = ["IndependenceTest", "independence_test"]

#: marginal shuffles per read-out of the statistic (observed and permuted alike)
TEST_SHIFTS = 8


@dataclass(frozen=True)
class IndependenceTest:
    """The outcome of :func:`independence_test`.

    Attributes:
        p_value: the Bonferroni combination of the held-out folds' permutation p-values (two
            folds; K with ``folds=K``).
        fold_p_values: each held-out fold's exact permutation p-value.
        fold_statistics: each fold's held-out bound (nats) on the observed pairs.
        n_permutations: permutations per fold.
        result: the MI estimate of the same fit (:class:`~neuralmi.MIResult`).
    """

    p_value: float
    fold_p_values: tuple[float, ...]
    fold_statistics: tuple[float, ...]
    n_permutations: int
    result: MIResult
    config: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return (
            f"independence test (permutation, {self.n_permutations} per held-out fold): "
            f"p = {self.p_value:.4g}\n{self.result}"
        )


def independence_test(
    x: Any, y: Any, method: str = "mine", n_permutations: int = 199, alpha: float | None = None, **options: Any
) -> IndependenceTest:
    """Test whether ``x`` and ``y`` (paired samples, ``(n, d_x)``, ``(n, d_y)``) are independent.

    Args:
        x, y: as for :func:`neuralmi.estimate`.
        method: a neural method (default ``"mine"``).
        n_permutations: permutations of ``y`` within each held-out fold (``B``); the smallest
            attainable p-value is ``2 / (B + 1)``.
        alpha: unused by the computation; accepted so that ``alpha`` documents intent in logs
            (the decision is ``p_value <= alpha``).
        **options: settings of the estimate (:class:`~neuralmi.EstimatorConfig` fields, e.g.
            ``seed``, ``steps``). Unlike :func:`~neuralmi.estimate`, the test uses one split
            (``folds=None``) at every sample size unless ``folds=K`` is given.

    Returns:
        An :class:`IndependenceTest`.

    Example:
        >>> import numpy as np, neuralmi
        >>> rng = np.random.default_rng(0)
        >>> x = rng.standard_normal((600, 1)); y = np.sin(3 * x) + 0.5 * rng.standard_normal((600, 1))
        >>> neuralmi.independence_test(x, y, seed=0, steps=200, n_permutations=99).p_value < 0.05
        True
    """
    from ._validation import check_positive_int
    from .estimators import NEURAL_METHODS, NeuralEstimator, explicit_folds

    if method not in NEURAL_METHODS:
        raise ValueError(f"independence_test needs a neural method ({', '.join(NEURAL_METHODS)}); got {method!r}")
    b = check_positive_int(n_permutations, "n_permutations", minimum=1)
    # one split and two held-out folds unless folds=K is asked for: the test's calibration and
    # power were measured so (folds="auto" would cross-fit small samples, K Bonferroni-combined folds)
    if not explicit_folds(options.get("folds")):
        options["folds"] = None
    est = NeuralEstimator(method=method, **options).fit(x, y)
    if est.critic_ is None:  # a constant side: independent by construction
        return IndependenceTest(1.0, (1.0, 1.0), (0.0, 0.0), b, est.result_)
    module = est.module_
    seed = int(est.config.seed)
    rng = np.random.default_rng(seed + 31337)
    final_state = {k: v.clone() for k, v in module.state_dict().items()}
    with est.threads():
        p_values, statistics = _permutation_p_values(est, module, b, rng, seed)
    module.load_state_dict(final_state)
    p = min(1.0, len(p_values) * min(p_values))
    return IndependenceTest(
        p_value=p,
        fold_p_values=tuple(p_values),
        fold_statistics=tuple(statistics),
        n_permutations=b,
        result=est.result_,
        config={"method": method, "n_permutations": b, "alpha": alpha, "shifts": TEST_SHIFTS},
    )


def _permutation_p_values(
    est: Any, module: Any, b: int, rng: np.random.Generator, seed: int
) -> tuple[list[float], list[float]]:
    """Each held-out fold's observed read-out and its exact permutation p-value."""
    p_values, statistics = [], []
    for k, (xf, yf, state, _) in enumerate(est.readout_):
        module.load_state_dict(state)
        module.eval()

        def read(yy: torch.Tensor) -> float:
            # the same marginal shuffles for the observed and every permuted fold
            return module.evaluate(xf, yy, n_shifts=TEST_SHIFTS, batch_size=est.batch_size_, seed=seed + 7 * k).value

        observed = read(yf)
        n = xf.shape[0]
        exceed = sum(read(yf[torch.as_tensor(rng.permutation(n))]) >= observed for _ in range(b))
        p_values.append((1 + exceed) / (b + 1))
        statistics.append(observed)
    return p_values, statistics
