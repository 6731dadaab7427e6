"""Conditional MI: ksg_cmi against a brute-force reference, gaussian_cmi against the covariance
formula, and neuralmi.estimate(x, y, z=z) (neural chain rule, direct bound, baselines, bad input)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy.special import digamma

import neuralmi
from neuralmi import exceptions as W
from neuralmi import tasks
from neuralmi.conditional import ConditionalMI, LocalPermutationMI, _neighbours, estimate_conditional
from neuralmi.nonparametric import KSGCMI, GaussianCMI, gaussian_cmi, ksg, ksg_cmi


# ---------------------------------------------------------------------------------------------
# ksg_cmi: exact against a brute-force O(n^2) reference
# ---------------------------------------------------------------------------------------------


def _cheb(a: np.ndarray) -> np.ndarray:
    return np.abs(a[:, None, :] - a[None, :, :]).max(-1)


def brute_ksg_cmi(x: np.ndarray, y: np.ndarray, z: np.ndarray, k: int) -> float:
    """Frenzel-Pompe by full distance matrices (max-norm), counts strictly inside eps."""
    dx, dy, dz = _cheb(x), _cheb(y), _cheb(z)
    joint = np.maximum(np.maximum(dx, dy), dz)
    np.fill_diagonal(joint, np.inf)
    eps = np.sort(joint, axis=1)[:, k - 1]
    out = []
    for d in (np.maximum(dx, dz), np.maximum(dy, dz), dz):
        d = d.copy()
        np.fill_diagonal(d, np.inf)
        out.append((d < eps[:, None]).sum(axis=1))
    n_xz, n_yz, n_z = out
    return float(digamma(k) - np.mean(digamma(n_xz + 1) + digamma(n_yz + 1) - digamma(n_z + 1)))


@pytest.mark.parametrize("dims,k,seed", [((1, 1, 1), 3, 0), ((2, 1, 3), 1, 1), ((1, 3, 2), 5, 2), ((2, 2, 5), 4, 3)])
def test_ksg_cmi_matches_brute_force(dims: tuple[int, int, int], k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 400
    z = rng.standard_normal((n, dims[2]))
    x = z[:, : 1] + rng.standard_normal((n, dims[0]))
    y = z[:, -1:] ** 2 + 0.5 * x[:, :1] + rng.standard_normal((n, dims[1]))
    assert ksg_cmi(x, y, z, k=k) == pytest.approx(brute_ksg_cmi(x, y, z, k), abs=1e-12)


def test_ksg_cmi_with_constant_z_is_ksg() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((500, 2))
    y = x[:, :1] + rng.standard_normal((500, 1))
    with pytest.warns(W.ConstantColumnWarning, match="conditioning on nothing"):
        value = ksg_cmi(x, y, np.ones(500), k=3)
    assert value == pytest.approx(ksg(x, y, k=3, variant=1), abs=1e-12)


def test_ksg_cmi_near_truth_in_low_dimension() -> None:
    task = tasks.chain_gaussian(1)
    x, y, z = task.sample(4000, seed=0)
    assert abs(ksg_cmi(x, y, z)) < 0.03
    task = tasks.cmi_gaussian(0.5, 1)
    x, y, z = task.sample(4000, seed=1)
    assert abs(ksg_cmi(x, y, z) - 0.5) < 0.06
    # a translation of every coordinate leaves every max-norm distance, hence the estimate, alone
    assert ksg_cmi(x + 3.0, y - 1.0, z + 7.0) == pytest.approx(ksg_cmi(x, y, z), abs=1e-9)


def test_ksg_cmi_class_twin_and_bad_input() -> None:
    rng = np.random.default_rng(0)
    x, y, z = (rng.standard_normal((200, 1)) for _ in range(3))
    est = KSGCMI(k=4).fit(x, y, z)
    assert est.mi_ == ksg_cmi(x, y, z, k=4) and est.stderr_ > 0
    assert est.set_params(k=2).k == 2 and "k=2" in repr(est)
    z_nan = z.copy()
    z_nan[3, 0] = np.nan
    with pytest.raises(ValueError, match="z contains 1 NaN"):
        ksg_cmi(x, y, z_nan)
    with pytest.raises(ValueError, match="same number of samples"):
        ksg_cmi(x, y, z[:150])
    with pytest.raises(ValueError, match="k must be smaller"):
        ksg_cmi(x, y, z, k=200)


# ---------------------------------------------------------------------------------------------
# gaussian_cmi
# ---------------------------------------------------------------------------------------------


def _logdet_cmi(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> float:
    s = np.cov(np.hstack([x, y, z]).T)
    dx, dy = x.shape[1], y.shape[1]
    ix, iy = list(range(dx)), list(range(dx, dx + dy))
    iz = list(range(dx + dy, s.shape[0]))

    def ld(idx: list[int]) -> float:
        return float(np.linalg.slogdet(s[np.ix_(idx, idx)])[1])

    return 0.5 * (ld(ix + iz) + ld(iy + iz) - ld(ix + iy + iz) - ld(iz))


@pytest.mark.parametrize("dx,dy,dz", [(1, 1, 1), (2, 3, 4), (3, 1, 10)])
def test_gaussian_cmi_is_the_log_det_formula(dx: int, dy: int, dz: int) -> None:
    task = tasks.confounded_gaussian(dz, 0.6, dim_x=dx, dim_y=dy)
    x, y, z = task.sample(3000, seed=dx + dy + dz)
    assert gaussian_cmi(x, y, z) == pytest.approx(_logdet_cmi(x, y, z), abs=1e-9)
    big = task.sample(200_000, seed=1)
    assert gaussian_cmi(*big) == pytest.approx(task.cmi, abs=0.01)


def test_gaussian_cmi_affine_invariance_and_degenerate_columns() -> None:
    task = tasks.cmi_gaussian(1.0, 3)
    x, y, z = task.sample(2000, seed=0)
    rng = np.random.default_rng(0)
    a = gaussian_cmi(x, y, z)
    b = gaussian_cmi(3 * x - 1, -2 * y + 5, z @ rng.standard_normal((3, 3)) + 7)
    assert a == pytest.approx(b, abs=1e-10)
    # a column of x that z determines carries nothing given z: dropped with a warning
    with pytest.warns(W.DependentColumnsWarning, match="linear functions of z"):
        c = gaussian_cmi(np.hstack([x, (z @ np.array([1.0, 2.0, -1.0]))[:, None]]), y, z)
    assert c == pytest.approx(a, abs=1e-8)
    est = GaussianCMI().fit(x, y, z)
    assert est.mi_ == a and est.stderr_ > 0
    with pytest.raises(ValueError, match="n >= d_x"):
        gaussian_cmi(x[:5], y[:5], np.random.default_rng(1).standard_normal((5, 4)))


# ---------------------------------------------------------------------------------------------
# neuralmi.estimate(x, y, z=z)
# ---------------------------------------------------------------------------------------------

FAST = {"steps": 100, "seed": 0, "hidden": (32, 32)}


def test_estimate_with_z_baselines_are_mi_results() -> None:
    task = tasks.cmi_gaussian(0.5, 2)
    x, y, z = task.sample(3000, seed=0)
    for method, fn in (("ksg", ksg_cmi), ("gaussian", gaussian_cmi)):
        res = neuralmi.estimate(x, y, z=z, method=method)
        assert isinstance(res, neuralmi.MIResult) and res.method == method
        assert res.mi == pytest.approx(fn(x, y, z), abs=1e-12)
        assert res.stderr is not None and res.config["conditional"] is True
    res = neuralmi.estimate(x, y, z=z, method="ksg", k=5)
    assert res.config["k"] == 5
    with pytest.raises(TypeError, match="bad option"):
        neuralmi.estimate(x, y, z=z, method="gaussian", k=5)


def test_baseline_warnings_delivered_both_ways() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, (500, 1)).astype(float)  # ties: KSG warns
    y, z = rng.standard_normal((500, 1)), rng.standard_normal((500, 1))
    with pytest.warns(W.TiedSamplesWarning):
        res = neuralmi.estimate(x, y, z=z, method="ksg")
    assert any("distinct values" in m for m in res.warnings)


def test_chain_rule_on_a_gaussian_is_accurate_with_an_interval() -> None:
    task = tasks.cmi_gaussian(0.5, 3)
    x, y, z = task.sample(2000, seed=0)
    res = neuralmi.estimate(x, y, z=z, **FAST)
    assert res.method == "mine" and res.config["strategy"] == "chain"
    assert abs(res.mi - task.cmi) < 0.08
    lo, hi = res.ci(0.95)
    assert lo < res.mi < hi and 0.005 < res.stderr < 0.05
    terms = res.config["terms"]
    assert terms["I(X;Y,Z)"] - terms["I(X;Z)"] == pytest.approx(res.config["raw_value"], abs=1e-9)
    assert res.n_train + res.n_test == 2000


def test_chain_interval_contains_zero_on_a_markov_chain() -> None:
    task = tasks.chain_gaussian(2)
    assert task.cmi == 0.0 and task.mi_xy > 0.1
    x, y, z = task.sample(2000, seed=1)
    res = neuralmi.estimate(x, y, z=z, **FAST)
    lo, hi = res.ci(0.95)
    assert lo <= 0.0 <= hi and res.mi < 0.05
    # while the unconditional MI is clearly positive
    assert neuralmi.estimate(x, y, method="gaussian").mi > 0.1


def test_direct_strategy_runs_and_is_close() -> None:
    task = tasks.cmi_gaussian(0.5, 1)
    x, y, z = task.sample(2000, seed=0)
    res = neuralmi.estimate(x, y, z=z, strategy="direct", **FAST)
    assert res.config["strategy"] == "direct" and res.config["correction"] is True
    assert abs(res.mi - task.cmi) < 0.1
    assert set(res.config["terms"]) == {"KL(p || p(x,z) p~(y|z))", "KL(p(y,z) || p(z) p~(y|z))"}
    with pytest.raises(ValueError, match="strategy 'direct'"):
        ConditionalMI(method="infonce", strategy="direct")


def test_same_seed_same_number_and_sklearn_protocol() -> None:
    task = tasks.cmi_gaussian(0.5, 2)
    x, y, z = task.sample(1000, seed=0)
    a = estimate_conditional(x, y, z, steps=50, seed=3, hidden=(16,))
    b = estimate_conditional(x, y, z, steps=50, seed=3, hidden=(16,))
    assert a.mi == b.mi and a.stderr == b.stderr
    est = ConditionalMI(steps=100, seed=3)
    params = est.get_params()
    assert params["strategy"] == "chain" and params["steps"] == 100
    assert est.set_params(strategy="direct").strategy == "direct"
    with pytest.raises(ValueError, match="unknown strategy"):
        est.set_params(strategy="nope")
    assert est.strategy == "direct"  # a failed set_params leaves the estimator as it was


def test_bad_input_is_refused() -> None:
    rng = np.random.default_rng(0)
    x, y, z = (rng.standard_normal((300, 1)) for _ in range(3))
    bad = z.copy()
    bad[10, 0] = np.nan
    with pytest.raises(ValueError, match="z contains"):
        neuralmi.estimate(x, y, z=bad)
    with pytest.raises(ValueError, match="same number of samples"):
        neuralmi.estimate(x, y, z=z[:299])
    with pytest.raises(ValueError, match="unknown strategy"):
        neuralmi.estimate(x, y, z=z, strategy="both")
    with pytest.raises(TypeError, match="unknown option"):
        neuralmi.estimate(x, y, z=z, stepz=3)
    with pytest.raises(TypeError, match="factory"):
        neuralmi.estimate(x, y, z=z, critic=neuralmi.ConcatCritic(1, 2))
    with pytest.raises(TypeError, match="z must"):
        neuralmi.estimate(x, y, z="abc")


def test_constant_z_and_constant_x() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((600, 1))
    y = x + rng.standard_normal((600, 1))
    with pytest.warns(W.ConstantColumnWarning, match="conditioning on nothing"):
        res = neuralmi.estimate(x, y, z=np.zeros(600), **FAST)
    assert abs(res.mi - 0.5 * math.log(2)) < 0.1 and "I(X;Y)" in res.config["terms"]
    with pytest.warns(W.ConstantColumnWarning) as record:
        res = neuralmi.estimate(np.ones(600), y, z=x, **FAST)
    assert res.mi == 0.0 and res.stderr == 0.0
    assert any("constant" in m for m in res.warnings) and len(record) >= 1


def test_negative_raw_value_is_reported_as_zero_with_a_warning() -> None:
    rng = np.random.default_rng(5)
    z = rng.standard_normal((800, 3))
    x, y = z[:, :1] + rng.standard_normal((800, 1)), z[:, 1:2] + rng.standard_normal((800, 1))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = neuralmi.estimate(x, y, z=z, steps=50, seed=0, hidden=(16,))
    raw = res.config["raw_value"]
    assert res.mi == max(0.0, raw)
    if raw < 0:
        assert any(issubclass(w.category, W.NegativeEstimateWarning) for w in caught)
        assert any("below zero" in m for m in res.warnings)


def test_local_permutation_neighbours_and_evaluation() -> None:
    rng = np.random.default_rng(0)
    z = rng.standard_normal((50, 2))
    nb = _neighbours(z, 3)
    assert nb.shape == (50, 3) and not np.any(nb == np.arange(50)[:, None])
    d = np.linalg.norm(z[:, None] - z[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    assert np.allclose(np.sort(d, axis=1)[:, :3], np.take_along_axis(d, nb, axis=1))
    # a constant critic: the bound is exactly 0 and every influence 0
    import torch

    class Zero(torch.nn.Module):
        def forward(self, a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return torch.zeros(a.shape[0])

    from neuralmi.conditional import _pack

    y = rng.standard_normal((50, 1))
    obj = LocalPermutationMI(Zero(), 1, 3)
    ev = obj.evaluate(torch.as_tensor(z, dtype=torch.float32), torch.as_tensor(_pack(y, nb), dtype=torch.float32))
    assert ev.value == pytest.approx(0.0, abs=1e-12) and np.allclose(ev.influence, 0.0)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["cgauss-1x1-z20-cmi1", "cnoise-tanh-z5-gauss-d1-rho0.8", "halfcube-cgauss-1x1-z5-cmi1"])
def test_default_on_suite_tasks_at_5000(name: str) -> None:
    task = tasks.get(name)
    x, y, z = task.sample(5000, seed=0)
    res = neuralmi.estimate(x, y, z=z, seed=0)
    assert abs(res.mi - task.cmi) < 0.12


def test_between_fold_stderr() -> None:
    from neuralmi.conditional import between_fold_stderr

    # folds that agree within their noise: the plain standard error of the weighted mean
    assert between_fold_stderr([0.10, 0.11], [0.02, 0.02], [0.5, 0.5]) == pytest.approx(math.sqrt(2) * 0.01)
    # folds that disagree far beyond it: wider, by the between-fold variance
    wide = between_fold_stderr([0.0, 0.2], [0.02, 0.02], [0.5, 0.5])
    assert wide > 0.05
    # DerSimonian-Laird by hand: Q = 50, tau^2 = (50 - 1) / 1250
    prec = 1 / 0.02**2
    tau2 = (prec * 2 * 0.1**2 - 1) / (2 * prec - prec / 1)
    assert wide == pytest.approx(math.sqrt(0.5 * (0.02**2 + tau2)), rel=1e-9)


def test_negative_warning_tells_bias_from_noise() -> None:
    """A raw difference within two standard errors of 0 reads as 'no dependence found'; one far
    below 0 says the terms' gaps differ (a bias), not that X and Y are independent given Z."""
    from types import SimpleNamespace

    runs = [(label, 1.0, {"diverged": False, "evals": [SimpleNamespace(value=0.5)] * 2}) for label in ("a", "b")]
    est = ConditionalMI()
    noise = est._diagnose(-0.004, 0.003, [-0.004, -0.004], [0.003, 0.003], runs, 1500)
    bias = est._diagnose(-0.105, 0.010, [-0.1, -0.11], [0.01, 0.01], runs, 1500)
    (kind_n, text_n), (kind_b, text_b) = noise[-1], bias[-1]
    assert kind_n is W.NegativeEstimateWarning and "no conditional dependence" in text_n
    assert kind_b is W.NegativeEstimateWarning and "biased" in text_b and "10.5 standard errors" in text_b
    assert "no conditional dependence the critics could find" not in text_b
