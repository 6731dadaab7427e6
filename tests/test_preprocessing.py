"""Tests for neuralmi.preprocessing: rank-to-Gaussian, standardize, asinh, and their input checks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import special, stats

import neuralmi
from neuralmi.preprocessing import TRANSFORMS, ColumnTransform, fit_transform

FINITE = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
# few distinct values, so ties are common
TIED = st.sampled_from([-3.0, -1.0, 0.0, 0.5, 2.0, 7.0])


@settings(max_examples=100, deadline=None)
@given(
    arrays(np.float64, st.tuples(st.integers(1, 30), st.integers(1, 3)), elements=st.one_of(FINITE, TIED)),
    arrays(np.float64, st.integers(1, 40), elements=st.one_of(st.floats(-2e6, 2e6), TIED)),
)
def test_rank_transform_monotone_per_column(train: np.ndarray, query: np.ndarray) -> None:
    tr = fit_transform(train, "rank")
    q = np.sort(query)
    out = tr(np.repeat(q[:, None], train.shape[1], axis=1))
    assert np.isfinite(out).all()
    assert (np.diff(out, axis=0) >= -1e-12).all()
    # within the range of the normal scores of n points
    n = train.shape[0]
    bound = -special.ndtri(0.5 / n)
    assert (np.abs(out) <= bound + 1e-9).all()


def test_rank_transform_of_training_data_is_normal_scores() -> None:
    rng = np.random.default_rng(0)
    n = 1000
    a = np.column_stack([rng.exponential(size=n), rng.standard_cauchy(size=n), rng.uniform(size=n) ** 5])
    tr = fit_transform(a, "rank")
    z = tr(a)
    expected = special.ndtri((np.arange(n) + 0.5) / n)
    for j in range(a.shape[1]):
        np.testing.assert_allclose(np.sort(z[:, j]), expected, rtol=0, atol=1e-12)
        # same order as the input column
        np.testing.assert_array_equal(np.argsort(z[:, j], kind="stable"), np.argsort(a[:, j], kind="stable"))
        assert abs(z[:, j].mean()) < 1e-12
        assert 0.98 < z[:, j].std() < 1.0
        assert stats.kstest(z[:, j], "norm").pvalue > 0.5


def test_rank_transform_ties_get_mid_ranks() -> None:
    train = np.array([[1.0], [2.0], [2.0], [2.0], [5.0]])
    tr = fit_transform(train, "rank")
    out = tr(train).ravel()
    n = 5
    # 0-based ranks 0; 1, 2, 3 (mid-rank 2); 4 -> u = rank + 0.5
    expected = special.ndtri(np.array([0.5, 2.5, 2.5, 2.5, 4.5]) / n)
    np.testing.assert_allclose(out, expected, atol=1e-12)
    assert out[1] == 0.0  # the middle of the data maps to 0


def test_rank_transform_gap_midpoints_and_clips_out_of_range() -> None:
    train = np.array([[1.0], [2.0], [3.0], [4.0]])
    tr = fit_transform(train, "rank")
    n = 4
    out = tr(np.array([[-100.0], [1.0], [2.5], [3.25], [3.9], [4.0], [1e9]])).ravel()
    # below min -> as min; in a gap -> midpoint of the neighbours' probabilities, wherever in the gap
    u = np.array([0.5, 0.5, 2.0, 3.0, 3.0, 3.5, 3.5])
    np.testing.assert_allclose(out, special.ndtri(u / n), atol=1e-12)


def test_rank_transform_is_invariant_under_increasing_maps() -> None:
    rng = np.random.default_rng(3)
    train, test = rng.standard_normal((200, 2)), rng.standard_normal((50, 2))
    warp = lambda a: np.sinh(3 * a) + a**3  # noqa: E731 - strictly increasing
    a = fit_transform(train, "rank")(test)
    b = fit_transform(warp(train), "rank")(warp(test))
    np.testing.assert_array_equal(a, b)


def test_rank_transform_constant_column_is_finite() -> None:
    tr = fit_transform(np.full((6, 1), 3.0), "rank")
    out = tr(np.array([[2.0], [3.0], [4.0]])).ravel()
    assert np.isfinite(out).all() and out[1] == 0.0


def test_standardize_and_asinh() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(loc=[5.0, -2.0], scale=[3.0, 0.1], size=(500, 2))
    st_ = fit_transform(a, "standardize")
    z = st_(a)
    np.testing.assert_allclose(z.mean(0), 0.0, atol=1e-12)
    np.testing.assert_allclose(z.std(0), 1.0, atol=1e-12)
    np.testing.assert_allclose(st_.mean, a.mean(0))
    np.testing.assert_allclose(st_.scale, a.std(0))
    asinh = fit_transform(a, "asinh")
    np.testing.assert_allclose(asinh(a), np.arcsinh(z), atol=1e-12)
    # asinh compresses tails: an outlier 1000 sd away lands near log(2000)
    far = asinh(np.array([[5.0 + 3000.0, -2.0]]))
    assert far[0, 0] == pytest.approx(np.arcsinh((3000.0 + 5.0 - a[:, 0].mean()) / a[:, 0].std()))
    assert far[0, 0] < 9.0


def test_standardize_constant_column_keeps_scale_one() -> None:
    a = np.column_stack([np.full(4, 2.0), np.arange(4.0)])
    tr = fit_transform(a, "standardize")
    assert tr.scale[0] == 1.0
    np.testing.assert_array_equal(tr(a)[:, 0], 0.0)


def test_none_is_identity_copy() -> None:
    a = np.arange(6.0).reshape(3, 2)
    tr = fit_transform(a, "none")
    out = tr(a)
    np.testing.assert_array_equal(out, a)
    assert out is not a
    out[0, 0] = 99.0
    assert a[0, 0] == 0.0


def test_one_d_input_is_one_column() -> None:
    tr = fit_transform(np.array([3.0, 1.0, 2.0]), "rank")
    assert tr.mean.shape == (1,)
    np.testing.assert_allclose(tr(np.array([[2.0]])), [[0.0]], atol=1e-12)


@pytest.mark.parametrize("kind", TRANSFORMS)
def test_shape_errors(kind: str) -> None:
    tr = fit_transform(np.zeros((5, 2)) + np.arange(5.0)[:, None], kind)
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        tr(np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        tr(np.zeros(3))
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        tr(np.zeros((2, 2, 1)))
    with pytest.raises(ValueError, match="NaN"):
        tr(np.array([[0.0, np.nan]]))
    with pytest.raises(ValueError, match="NaN"):
        tr(np.array([[np.inf, 0.0]]))


@pytest.mark.parametrize("kind", ["Rank", "quantile", "", "standardise"])
def test_unknown_kind(kind: str) -> None:
    with pytest.raises(ValueError, match="unknown transform"):
        fit_transform(np.zeros((3, 1)), kind)
    with pytest.raises(ValueError, match="unknown transform"):
        ColumnTransform(kind, np.zeros(1), np.ones(1))


def test_fit_input_errors() -> None:
    with pytest.raises(ValueError, match="NaN"):
        fit_transform(np.array([[1.0], [np.nan]]), "rank")
    with pytest.raises(ValueError, match="no samples"):
        fit_transform(np.zeros((0, 2)), "standardize")
    with pytest.raises(ValueError, match="shape"):
        fit_transform(np.zeros((2, 2, 2)), "standardize")
    with pytest.raises(TypeError):
        fit_transform("abc", "standardize")  # type: ignore[arg-type]


def test_column_transform_checks_its_fields() -> None:
    with pytest.raises(ValueError, match="same length"):
        ColumnTransform("standardize", np.zeros(2), np.ones(3))
    with pytest.raises(ValueError, match="quantiles"):
        ColumnTransform("rank", np.zeros(2), np.ones(2), (np.arange(3.0),))


# --------------------------------------------------------------------------- the radial column


@pytest.mark.parametrize("kind", TRANSFORMS)
def test_radial_columns_are_the_rank_gaussian_squared_norms(kind: str) -> None:
    from neuralmi.preprocessing import RADIAL_TAIL_DOF

    rng = np.random.default_rng(5)
    train, test = rng.standard_normal((300, 3)) * [1.0, 2.0, 0.5], rng.standard_normal((40, 3))
    plain, radial = fit_transform(train, kind), fit_transform(train, kind, radial=True)
    assert plain.n_out == 3 and radial.n_out == 5 and radial.n_derived == 2 and plain.n_derived == 0
    out = radial(test)
    np.testing.assert_array_equal(out[:, :3], plain(test))  # the columns themselves are unchanged
    n = len(train)
    tail = lambda a: (stats.t.ppf(stats.norm.cdf(a), RADIAL_TAIL_DOF) ** 2).sum(1)  # noqa: E731
    for col, norm in ((3, lambda a: (a**2).sum(1)), (4, tail)):
        sq_train, sq_test = norm(plain(train)), norm(plain(test))
        # the training rows' own radial values are their normal scores
        np.testing.assert_allclose(radial(train)[:, col], special.ndtri((stats.rankdata(sq_train) - 0.5) / n), atol=1e-12)
        # a query row: increasing in its squared norm, and equal norms give equal values
        order = np.argsort(sq_test)
        assert np.all(np.diff(out[order, col]) >= 0)


def test_the_tail_radial_column_recovers_a_student_t_sides_norm() -> None:
    # a Student-t side with 2 degrees of freedom and identity dispersion: its rank-transformed
    # columns mapped to t_2 scores are the raw columns again (up to the empirical CDF), so the
    # second radial column orders the rows as |x|^2 does; the first (Gaussian scores) does not
    x, _ = neuralmi.tasks.get("student-identity-3-3-2").sample(4000, seed=0)
    out = fit_transform(x, "rank", radial=True)(x)
    raw = (x**2).sum(1)
    assert stats.spearmanr(out[:, 4], raw)[0] > 0.999  # measured 0.9995
    assert stats.spearmanr(out[:, 3], raw)[0] < 0.997  # measured 0.9958


def test_extreme_values_give_finite_radial_columns() -> None:
    train = np.array([[0.0, 1.0], [1e6, -1e6], [-3.0, 2.0], [5.0, 0.5]])
    t = fit_transform(train, "standardize", radial=True)
    assert np.isfinite(t(np.array([[1e300, -1e300], [0.0, 0.0]]))).all()


def test_radial_column_keeps_the_rank_transform_invariant_under_increasing_maps() -> None:
    rng = np.random.default_rng(3)
    train, test = rng.standard_normal((200, 3)), rng.standard_normal((50, 3))
    warp = lambda a: np.sinh(3 * a) + a**3  # noqa: E731 - strictly increasing
    a = fit_transform(train, "rank", radial=True)(test)
    b = fit_transform(warp(train), "rank", radial=True)(warp(test))
    np.testing.assert_array_equal(a, b)
