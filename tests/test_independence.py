"""The permutation independence test: exact under independence, powerful under dependence."""

from __future__ import annotations

import numpy as np
import pytest

import neuralmi


def test_dependent_data_are_detected() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((600, 1))
    y = np.sin(3 * x) + 0.5 * rng.standard_normal((600, 1))
    test = neuralmi.independence_test(x, y, seed=0, steps=100, eval_every=50, n_permutations=39)
    assert test.p_value <= 0.05 and all(p <= 1 / 40 for p in test.fold_p_values)
    assert test.result.mi > 0 and "p = " in str(test)


def test_null_p_values_are_not_small_and_respect_the_resolution() -> None:
    rng = np.random.default_rng(1)
    small = 0
    for seed in range(4):
        x, y = rng.standard_normal((300, 2)), rng.standard_normal((300, 1))
        test = neuralmi.independence_test(x, y, seed=seed, steps=40, eval_every=20, n_permutations=39)
        assert test.p_value >= 2 / 40 and all(1 / 40 <= p <= 1 for p in test.fold_p_values)
        small += test.p_value <= 0.05
    assert small <= 1


def test_each_fold_is_read_with_the_critic_the_other_fold_chose() -> None:
    rng = np.random.default_rng(2)
    x = rng.standard_normal((500, 1))
    y = x + rng.standard_normal((500, 1))
    test = neuralmi.independence_test(x, y, seed=0, steps=60, eval_every=20, n_permutations=9)
    cfg = test.result.config
    # the observed statistics are the fold read-outs (with fewer marginal shuffles)
    assert np.allclose(test.fold_statistics, cfg["fold_values"], atol=0.05)


def test_bad_arguments() -> None:
    x = np.random.default_rng(3).standard_normal((100, 1))
    with pytest.raises(ValueError, match="neural method"):
        neuralmi.independence_test(x, x, method="ksg")
    with pytest.raises(ValueError, match="n_permutations"):
        neuralmi.independence_test(x, x, n_permutations=0)
