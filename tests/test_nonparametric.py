"""Tests of neuralmi.nonparametric: KSG (1, 2), KSG+LNC, Gaussian/CCA and binned MI."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.special import digamma

from neuralmi.nonparametric import (
    KSG,
    KSGLNC,
    BinnedMI,
    ConstantColumnWarning,
    DependentColumnsWarning,
    GaussianMI,
    TiedSamplesWarning,
    binned_mi,
    gaussian_mi,
    ksg,
    ksg_lnc,
)


def gaussian_pair(n: int, d: int, rho: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """d independent pairs (x_i, y_i), each standard normal with correlation rho."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    y = rho * x + math.sqrt(1.0 - rho**2) * rng.standard_normal((n, d))
    return x, y


def gaussian_truth(d: int, rho: float) -> float:
    return -0.5 * d * math.log(1.0 - rho**2)


# ---------------------------------------------------------------------------------------------
# Brute-force O(n^2) reference for KSG, written independently of the tree implementation
# ---------------------------------------------------------------------------------------------


def ksg_reference(x: np.ndarray, y: np.ndarray, k: int, variant: int) -> float:
    n = x.shape[0]
    dx = np.abs(x[:, None, :] - x[None, :, :]).max(axis=-1)
    dy = np.abs(y[:, None, :] - y[None, :, :]).max(axis=-1)
    dz = np.maximum(dx, dy)
    np.fill_diagonal(dz, np.inf)  # a point is not its own neighbour
    if variant == 1:
        eps = np.sort(dz, axis=1)[:, k - 1]
        np.fill_diagonal(dx, np.inf)
        np.fill_diagonal(dy, np.inf)
        nx = (dx < eps[:, None]).sum(axis=1)
        ny = (dy < eps[:, None]).sum(axis=1)
        return float(digamma(k) + digamma(n) - np.mean(digamma(nx + 1) + digamma(ny + 1)))
    knn = np.argsort(dz, axis=1)[:, :k]
    ex = np.take_along_axis(dx, knn, axis=1).max(axis=1)
    ey = np.take_along_axis(dy, knn, axis=1).max(axis=1)
    np.fill_diagonal(dx, np.inf)
    np.fill_diagonal(dy, np.inf)
    nx = (dx <= ex[:, None]).sum(axis=1)
    ny = (dy <= ey[:, None]).sum(axis=1)
    return float(digamma(k) - 1.0 / k + digamma(n) - np.mean(digamma(nx) + digamma(ny)))


def _dependent_sample(n: int, dx: int, dy: int, dist: str, seed: int):
    rng = np.random.default_rng(seed)
    if dist == "gauss":
        x = rng.standard_normal((n, dx))
        y = 0.7 * x[:, :1] + rng.standard_normal((n, dy))
    elif dist == "uniform":
        x = rng.uniform(-1, 1, (n, dx))
        y = np.sin(3 * x[:, :1]) + 0.3 * rng.uniform(-1, 1, (n, dy))
    else:  # heavy tails
        x = rng.standard_t(2, (n, dx))
        y = x[:, :1] ** 3 + rng.standard_t(3, (n, dy))
    return x, y


@pytest.mark.parametrize("variant", [1, 2])
@pytest.mark.parametrize(
    "n, dx, dy, k, dist",
    [
        (20, 1, 1, 1, "gauss"),
        (57, 1, 1, 3, "gauss"),
        (200, 1, 1, 5, "uniform"),
        (150, 2, 1, 2, "heavy"),
        (300, 2, 3, 4, "gauss"),
        (120, 3, 3, 10, "uniform"),
        (90, 1, 4, 7, "heavy"),
    ],
)
def test_ksg_equals_brute_force_reference(n, dx, dy, k, dist, variant):
    x, y = _dependent_sample(n, dx, dy, dist, seed=n + 7 * k)
    assert ksg(x, y, k=k, variant=variant) == pytest.approx(
        ksg_reference(x, y, k, variant), abs=1e-9
    )


@pytest.mark.filterwarnings("ignore::neuralmi.nonparametric.TiedSamplesWarning")
@pytest.mark.parametrize("dx", [1, 2])
def test_ksg1_equals_reference_on_tied_grid_data(dx):
    # Estimator 1 depends only on distances, so it is well defined even with ties; values on a
    # decimal grid make many distances equal the radius exactly (up to rounding of 0.1 steps),
    # which exercises the exact boundary semantics of the sorted 1-D count and the tree count.
    rng = np.random.default_rng(dx)
    x = rng.integers(0, 15, size=(400, dx)) * 0.1 + 0.3
    y = x[:, :1] + rng.integers(0, 4, size=(400, 1)) * 0.1
    x = x + rng.integers(0, 2, size=(400, dx)) * 1e-9
    for k in (1, 3, 6):
        assert ksg(x, y, k=k) == pytest.approx(ksg_reference(x, y, k, 1), abs=1e-9)


def test_ksg_single_thread_equals_all_threads():
    x, y = gaussian_pair(800, 2, 0.5, seed=3)
    assert ksg(x, y, workers=1) == ksg(x, y, workers=-1)


@pytest.mark.parametrize("variant", [1, 2])
def test_ksg_accuracy_on_correlated_gaussian(variant):
    x, y = gaussian_pair(5000, 1, 0.6, seed=0)
    assert ksg(x, y, k=3, variant=variant) == pytest.approx(gaussian_truth(1, 0.6), abs=0.03)


@pytest.mark.parametrize("d", [1, 2])
def test_ksg_independent_is_near_zero(d):
    rng = np.random.default_rng(11)
    x = rng.standard_normal((5000, d))
    y = rng.uniform(size=(5000, d))
    assert abs(ksg(x, y)) < 0.02
    assert abs(ksg(x, y, variant=2)) < 0.02


def test_ksg_exact_symmetries():
    x, y = gaussian_pair(500, 2, 0.7, seed=5)
    base = ksg(x, y, k=4)
    # scaling every coordinate by a power of two scales all distances exactly
    assert ksg(4.0 * x, 4.0 * y, k=4) == base
    # swapping the roles of x and y, and permuting the samples, change only summation order
    assert ksg(y, x, k=4) == pytest.approx(base, abs=1e-12)
    perm = np.random.default_rng(0).permutation(500)
    assert ksg(x[perm], y[perm], k=4) == pytest.approx(base, abs=1e-12)


def test_ksg_detects_dependence_scale_with_k():
    x, y = gaussian_pair(2000, 1, 0.9, seed=2)
    values = [ksg(x, y, k=k) for k in (2, 4, 8)]
    assert all(abs(v - gaussian_truth(1, 0.9)) < 0.08 for v in values)


def test_ksg_accepts_torch_tensors_and_1d_inputs():
    x, y = gaussian_pair(300, 1, 0.5, seed=4)
    ref = ksg(x, y)
    assert ksg(torch.from_numpy(x[:, 0]), torch.from_numpy(y)) == ref
    assert ksg(x[:, 0].tolist(), y[:, 0]) == ref
    assert isinstance(ref, float)


def test_ksg_class_twin_shares_the_function():
    x, y = gaussian_pair(400, 2, 0.4, seed=8)
    est = KSG(k=5, variant=2)
    with pytest.raises(AttributeError, match="not fitted"):
        _ = est.mi_
    assert est.fit(x, y) is est
    assert est.mi_ == ksg(x, y, k=5, variant=2)
    assert "KSG(k=5, variant=2" in repr(est)


# ---------------------------------------------------------------------------------------------
# Ties, duplicates, jitter, constant columns
# ---------------------------------------------------------------------------------------------


def test_ksg_warns_on_discrete_data_and_jitter_breaks_ties():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, size=1000).astype(float)
    y = x + rng.integers(0, 2, size=1000)
    with pytest.warns(TiedSamplesWarning, match="jitter"):
        tied = ksg(x, y)
    assert np.isfinite(tied)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = ksg(x, y, jitter=1e-8, seed=1)
        b = ksg(x, y, jitter=1e-8, seed=1)
        c = ksg(x, y, jitter=1e-8, seed=2)
    assert a == b  # same seed, same result bit for bit
    assert a != c
    assert np.isfinite(a)


def test_ksg_warns_on_exact_duplicate_points():
    x, y = gaussian_pair(200, 1, 0.5, seed=1)
    x = np.repeat(x, 5, axis=0)  # every point five times: k=3 neighbours at distance 0
    y = np.repeat(y, 5, axis=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = ksg(x, y, k=3)
    messages = [str(w.message) for w in caught if issubclass(w.category, TiedSamplesWarning)]
    assert any("1000 samples have at least k=3 exact duplicates" in m for m in messages)
    assert np.isfinite(value)


def test_jitter_on_continuous_data_changes_little():
    x, y = gaussian_pair(2000, 1, 0.6, seed=6)
    assert ksg(x, y, jitter=1e-10) == pytest.approx(ksg(x, y), abs=1e-6)


@pytest.mark.parametrize(
    "fn",
    [
        lambda x, y: ksg(x, y),
        lambda x, y: ksg(x, y, variant=2),
        lambda x, y: ksg_lnc(x, y, k=5),
        gaussian_mi,
        lambda x, y: binned_mi(x, y, bins=6),
    ],
    ids=["ksg1", "ksg2", "lnc", "gaussian", "binned"],
)
def test_constant_column_is_dropped_with_a_warning(fn):
    x, y = gaussian_pair(600, 2, 0.5, seed=9)
    y = y[:, :1] + y[:, 1:]  # binned_mi allows d_x + d_y <= 4 (3 + 1 here)
    x_const = np.column_stack([x[:, 0], np.full(600, 3.0), x[:, 1]])
    with pytest.warns(ConstantColumnWarning, match=r"x column\(s\) \[1\]"):
        with_const = fn(x_const, y)
    assert with_const == pytest.approx(fn(x, y), abs=1e-12)
    # every column of y constant: MI is exactly 0, never NaN
    with pytest.warns(ConstantColumnWarning, match="every column of y is constant"):
        assert fn(x, np.ones((600, 2))) == 0.0


# ---------------------------------------------------------------------------------------------
# KSG + local non-uniformity correction
# ---------------------------------------------------------------------------------------------


def test_lnc_fixes_ksg_underestimation_on_strongly_dependent_gaussian():
    rho = 0.9999999  # MI = 7.71 nats in one dimension
    x, y = gaussian_pair(5000, 1, rho, seed=0)
    truth = gaussian_truth(1, rho)
    err_ksg = abs(ksg(x, y, k=5) - truth)
    err_lnc = abs(ksg_lnc(x, y, k=5) - truth)
    assert err_ksg > 0.8  # plain KSG is more than 0.8 nat low here
    assert err_lnc < 0.5 * err_ksg


def test_lnc_on_near_deterministic_relation_of_gao_et_al():
    # X ~ U(0, 1), Y = X + U(0, a): I = h(Y) - log a = a/2 - log a (Gao et al. 2015, Sec. 5)
    a = 1e-5
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, 5000)
    y = x + rng.uniform(0, a, 5000)
    truth = a / 2 - math.log(a)  # 11.51 nats
    assert truth - ksg(x, y, k=5) > 3.0  # KSG saturates near log(n)
    assert ksg_lnc(x, y, k=5) == pytest.approx(truth, abs=0.5)


def test_lnc_at_moderate_mi_stays_accurate():
    x, y = gaussian_pair(5000, 1, 0.6, seed=2)
    assert ksg_lnc(x, y) == pytest.approx(gaussian_truth(1, 0.6), abs=0.03)


def test_lnc_correction_is_nonnegative_and_vanishes_for_tiny_alpha():
    x, y = gaussian_pair(1000, 2, 0.95, seed=3)
    plain = ksg(x, y, k=6, variant=2)
    assert ksg_lnc(x, y, k=6, alpha=1e-300) == plain  # no neighbourhood is ever flagged
    assert ksg_lnc(x, y, k=6) >= plain
    assert ksg_lnc(x, y, k=6, alpha=1.0) >= ksg_lnc(x, y, k=6)  # larger alpha fires more


def test_lnc_class_twin_and_parameter_checks():
    x, y = gaussian_pair(300, 2, 0.8, seed=4)
    assert KSGLNC(k=6).fit(x, y).mi_ == ksg_lnc(x, y, k=6)
    with pytest.raises(ValueError, match="k >= d_x \\+ d_y = 4"):
        ksg_lnc(x, y, k=3)
    for bad in (0.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="alpha"):
            ksg_lnc(x, y, alpha=bad)
        with pytest.raises(ValueError, match="alpha"):
            KSGLNC(alpha=bad)


# ---------------------------------------------------------------------------------------------
# Gaussian (CCA) closed form
# ---------------------------------------------------------------------------------------------


def _random_covariance(d: int, rng: np.random.Generator) -> np.ndarray:
    a = rng.standard_normal((d, d))
    return a @ a.T + 0.5 * np.eye(d)


def _mi_from_covariance(cov: np.ndarray, dx: int) -> float:
    ld = lambda m: np.linalg.slogdet(m)[1]  # noqa: E731
    return 0.5 * (ld(cov[:dx, :dx]) + ld(cov[dx:, dx:]) - ld(cov))


def test_gaussian_mi_converges_to_the_population_value():
    rng = np.random.default_rng(0)
    cov = _random_covariance(5, rng)
    z = rng.multivariate_normal(np.zeros(5), cov, size=200_000)
    assert gaussian_mi(z[:, :2], z[:, 2:]) == pytest.approx(_mi_from_covariance(cov, 2), abs=0.01)


def test_gaussian_mi_equals_the_logdet_formula_on_the_sample_covariance():
    rng = np.random.default_rng(1)
    cov = _random_covariance(6, rng)
    z = rng.multivariate_normal(rng.standard_normal(6), cov, size=300)
    expected = _mi_from_covariance(np.cov(z, rowvar=False), 3)
    assert gaussian_mi(z[:, :3], z[:, 3:]) == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize("d, rho", [(2, 0.5), (20, 0.3)])
def test_gaussian_mi_on_the_papers_gaussians(d, rho):
    x, y = gaussian_pair(50_000, d, rho, seed=d)
    # the estimator's bias is about d_x d_y / 2n (0.004 for d = 20), its sd about 0.006
    assert gaussian_mi(x, y) == pytest.approx(gaussian_truth(d, rho), abs=0.025)


def test_gaussian_mi_is_invariant_under_invertible_affine_maps():
    x, y = gaussian_pair(1000, 3, 0.6, seed=2)
    rng = np.random.default_rng(3)
    a = rng.standard_normal((3, 3)) + 3 * np.eye(3)
    b = rng.standard_normal((2, 2)) + 2 * np.eye(2)
    base = gaussian_mi(x, y[:, :2])
    assert gaussian_mi(x @ a + 5.0, y[:, :2]) == pytest.approx(base, abs=1e-8)
    assert gaussian_mi(x, y[:, :2] @ b - 1.0) == pytest.approx(base, abs=1e-8)
    assert gaussian_mi(y[:, :2], x) == pytest.approx(base, abs=1e-12)


def test_gaussian_mi_high_correlation_is_accurate():
    x, y = gaussian_pair(100_000, 1, 0.99999, seed=5)
    assert gaussian_mi(x, y) == pytest.approx(gaussian_truth(1, 0.99999), abs=0.02)


def test_gaussian_mi_dependent_columns_use_the_column_space():
    # duplicated or combined columns add no information: the MI is that of the columns they
    # are made of (exactly, to rounding), with a warning naming the variable
    x, y = gaussian_pair(2000, 2, 0.5, seed=0)
    base = gaussian_mi(x, y)
    with pytest.warns(DependentColumnsWarning, match="columns of x span only 2 of 3"):
        assert gaussian_mi(np.column_stack([x, x[:, 0]]), y) == pytest.approx(base, abs=1e-9)
    with pytest.warns(DependentColumnsWarning, match="columns of y span only 2 of 3"):
        assert gaussian_mi(x, np.column_stack([y, 2 * y[:, 1] - y[:, 0]])) == pytest.approx(base, abs=1e-9)
    # a 2-D pair seen through 10 linear mixtures each
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((2, 10)), rng.standard_normal((2, 10))
    with pytest.warns(DependentColumnsWarning):
        assert gaussian_mi(x @ a, y @ b) == pytest.approx(base, abs=1e-9)


def test_gaussian_mi_rejects_exact_linear_relations_and_too_few_samples():
    x, y = gaussian_pair(200, 2, 0.5, seed=0)
    with pytest.raises(ValueError, match="exactly linearly related"):
        gaussian_mi(x, x @ np.array([[1.0, 2.0], [0.5, -1.0]]) + 3.0)
    with pytest.raises(ValueError, match="needs n >= d_x \\+ d_y \\+ 1 = 5"):
        gaussian_mi(x[:4], y[:4])


def test_gaussian_mi_class_twin():
    x, y = gaussian_pair(300, 2, 0.5, seed=1)
    assert GaussianMI().fit(torch.from_numpy(x), y).mi_ == gaussian_mi(x, y)


# ---------------------------------------------------------------------------------------------
# Binned plug-in estimator
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_binned_mi_exact_on_a_discrete_copy(strategy):
    x = np.repeat(np.arange(4.0), 25)
    assert binned_mi(x, x, bins=4, strategy=strategy) == pytest.approx(math.log(4), abs=1e-12)
    # Miller-Madow adds (m_x + m_y - m_xy - 1) / 2n = (4 + 4 - 4 - 1) / 200
    assert binned_mi(x, x, bins=4, strategy=strategy, miller_madow=True) == pytest.approx(
        math.log(4) + 3 / 200, abs=1e-12
    )


def test_binned_mi_quantile_bins_invariant_under_monotone_maps():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1000, 2))
    y = x[:, :1] + rng.standard_normal((1000, 1))
    base = binned_mi(x, y, bins=7)
    warped = np.column_stack([np.exp(x[:, 0]), x[:, 1] ** 3])
    assert binned_mi(warped, np.arctan(y), bins=7) == base


def test_binned_mi_on_gaussians_and_miller_madow_reduces_bias():
    x, y = gaussian_pair(20_000, 1, 0.6, seed=1)
    truth = gaussian_truth(1, 0.6)
    plug_in = binned_mi(x, y)
    corrected = binned_mi(x, y, miller_madow=True)
    assert abs(corrected - truth) < abs(plug_in - truth)
    assert corrected == pytest.approx(truth, abs=0.02)
    rng = np.random.default_rng(2)
    xi, yi = rng.standard_normal(20_000), rng.standard_normal(20_000)
    assert binned_mi(xi, yi) > 0.02  # the plug-in bias on independent data
    assert abs(binned_mi(xi, yi, miller_madow=True)) < 0.01


def test_binned_mi_dimension_limits_and_options():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((100, 5))
    assert np.isfinite(binned_mi(z[:, :3], z[:, 3:4]))
    assert np.isfinite(binned_mi(z[:, :2], z[:, 2:4]))
    with pytest.raises(ValueError, match="d_x=4"):
        binned_mi(z[:, :4], z[:, 4])
    with pytest.raises(ValueError, match="d_x=3, d_y=2"):
        binned_mi(z[:, :3], z[:, 3:])
    with pytest.raises(ValueError, match="bins must be >= 2"):
        binned_mi(z[:, 0], z[:, 1], bins=1)
    with pytest.raises(ValueError, match="unknown strategy"):
        binned_mi(z[:, 0], z[:, 1], strategy="kmeans")
    with pytest.raises(TypeError, match="miller_madow"):
        binned_mi(z[:, 0], z[:, 1], miller_madow="yes")


def test_binned_mi_class_twin():
    x, y = gaussian_pair(500, 1, 0.5, seed=3)
    est = BinnedMI(bins=8, strategy="uniform", miller_madow=True)
    assert est.fit(x, y).mi_ == binned_mi(x, y, bins=8, strategy="uniform", miller_madow=True)
    with pytest.raises(ValueError, match="unknown strategy"):
        BinnedMI(strategy="equal")


# ---------------------------------------------------------------------------------------------
# Input validation
# ---------------------------------------------------------------------------------------------

ESTIMATORS = {
    "ksg": ksg,
    "ksg2": lambda x, y: ksg(x, y, variant=2),
    "lnc": lambda x, y: ksg_lnc(x, y, k=2, alpha=0.5),
    "gaussian": gaussian_mi,
    "binned": lambda x, y: binned_mi(x, y, bins=2),
}


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(sorted(ESTIMATORS)),
    n=st.integers(6, 30),
    dx=st.integers(1, 2),
    which=st.sampled_from(["x", "y"]),
    bad=st.sampled_from([np.nan, np.inf, -np.inf]),
    data=st.data(),
)
def test_non_finite_values_raise(name, n, dx, which, bad, data):
    rng = np.random.default_rng(n)
    x = rng.standard_normal((n, dx))
    y = rng.standard_normal((n, 1))
    target = x if which == "x" else y
    row = data.draw(st.integers(0, n - 1))
    col = data.draw(st.integers(0, target.shape[1] - 1))
    target[row, col] = bad
    with pytest.raises(ValueError, match=f"{which} contains"):
        ESTIMATORS[name](x, y)


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(sorted(ESTIMATORS)),
    shape_x=st.lists(st.integers(0, 6), min_size=0, max_size=4),
    shape_y=st.lists(st.integers(0, 6), min_size=1, max_size=3),
)
def test_bad_shapes_raise_value_error(name, shape_x, shape_y):
    x = np.ones(shape_x)
    y = np.ones(shape_y)
    ok_x = x.ndim in (1, 2) and x.size > 0
    ok_y = y.ndim in (1, 2) and y.size > 0
    assume(not (ok_x and ok_y and x.shape[0] == y.shape[0] and x.shape[0] >= 2))
    with pytest.raises(ValueError):
        ESTIMATORS[name](x, y)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 40), k=st.integers(-3, 60))
def test_k_outside_range_raises(n, k):
    x, y = gaussian_pair(n, 1, 0.5, seed=n)
    if 1 <= k < n:
        assert np.isfinite(ksg(x, y, k=k))
    else:
        with pytest.raises(ValueError, match="k must be"):
            ksg(x, y, k=k)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"k": 2.5}, TypeError, "k must be an integer"),
        ({"k": True}, TypeError, "k must be an integer"),
        ({"variant": 3}, ValueError, "variant must be 1 or 2"),
        ({"variant": "1"}, ValueError, "variant must be 1 or 2"),
        ({"workers": 0}, ValueError, "workers"),
        ({"workers": -2}, ValueError, "workers"),
        ({"jitter": -1e-3}, ValueError, "jitter"),
        ({"jitter": float("nan")}, ValueError, "jitter"),
        ({"seed": -1}, ValueError, "seed"),
        ({"seed": 1.5}, TypeError, "seed"),
    ],
)
def test_ksg_parameter_validation(kwargs, exc, match):
    x, y = gaussian_pair(50, 1, 0.5, seed=0)
    with pytest.raises(exc, match=match):
        ksg(x, y, **kwargs)
    with pytest.raises(exc, match=match):
        KSG(**kwargs)


def test_mismatched_lengths_and_strings_are_rejected():
    with pytest.raises(ValueError, match="same number of samples"):
        ksg(np.zeros((10, 1)) + np.arange(10)[:, None], np.arange(9.0))
    with pytest.raises(TypeError, match="numeric"):
        gaussian_mi("abc", np.arange(3.0))


@pytest.mark.parametrize("workers", [1, 2])
def test_count_within_sklearn_path_equals_scipy_counts(workers):
    """The marginal counts of KSG above _SKLEARN_MIN_ROWS (scikit-learn's tree, in threads) equal
    SciPy's box counts exactly, radii on the boundary and rounded (tied) data included."""
    from scipy.spatial import cKDTree

    from neuralmi import nonparametric as npm

    rng = np.random.default_rng(3)
    n = npm._SKLEARN_MIN_ROWS + 1000
    a = np.round(rng.standard_normal((n, 3)), 2)  # many ties
    # radii equal to actual distances (boundary cases) and in between
    other = a[rng.integers(0, n, n)]
    radius = np.abs(a - other).max(axis=1)
    radius[::3] = np.nextafter(radius[::3], 0.0)
    expected = cKDTree(a).query_ball_point(a, radius, p=np.inf, return_length=True)
    got = npm._count_within(a, radius, workers)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, expected)
