"""benchmark-mi's 40-task "Beyond Normal" suite rebuilt in neuralmi.tasks: names, dimensions and
true MI against benchmark-mi's own values, Monte Carlo checks of every MI, and the new maps
(Swiss roll, plane spiral, bmi's wiggly sums, the bimodal marginals) against bmi's outputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from neuralmi import tasks
from neuralmi.tasks import (
    Affine,
    GaussianToMixture,
    PlaneSpiral,
    SineSum,
    SwissRoll,
    TransformedTask,
)
from neuralmi.tasks.beyond_normal import WIGGLY_X, WIGGLY_Y, beyond_normal_tasks

from .conftest import check_mc

# Reference values: benchmark-mi 0.1.3 (PyPI; github.com/cbg-ethz/bmi, src/bmi/benchmark/
# task_list.py), read as
#     {t.id: (t.dim_x, t.dim_y, t.mutual_information) for t in bmi.benchmark.BENCHMARK_TASKS.values()}
# in a separate Python 3.11 environment (jax 0.4.30, numpy 1.26.4; bmi pins numpy<2, so it
# cannot be installed beside neuralmi). Same order as BENCHMARK_TASKS.
BMI_REFERENCE: dict[str, tuple[int, int, float]] = {
    "1v1-normal-0.75": (1, 1, 0.41333928659223396),
    "normal_cdf-1v1-normal-0.75": (1, 1, 0.41333928659223396),
    "1v1-additive-0.1": (1, 1, 1.7094379663467407),  # bmi evaluates ε − log 2ε with jnp (float32)
    "1v1-additive-0.75": (1, 1, 0.3333333333333333),
    "1v1-bimodal-0.75": (1, 1, 0.41333928659223396),
    "wiggly-1v1-normal-0.75": (1, 1, 0.41333928659223396),
    "half_cube-1v1-normal-0.75": (1, 1, 0.41333928659223396),
    "student-identity-1-1-1": (1, 1, 0.22417142752923613),
    "asinh-student-identity-1-1-1": (1, 1, 0.22417142752923613),
    "swissroll_x-normal_cdf-1v1-normal-0.75": (2, 1, 0.41333928659223396),
    "multinormal-dense-2-2-0.5": (2, 2, 0.2938933324510593),
    "multinormal-dense-3-3-0.5": (3, 3, 0.41333928659223407),
    "multinormal-dense-5-5-0.5": (5, 5, 0.5928118328288701),
    "multinormal-dense-25-25-0.5": (25, 25, 1.2921837216593275),
    "multinormal-dense-50-50-0.5": (50, 50, 1.6242653743036897),
    "multinormal-sparse-2-2-2-2.0": (2, 2, 1.0216512475319819),
    "multinormal-sparse-3-3-2-2.0": (3, 3, 1.0216512475319819),
    "multinormal-sparse-5-5-2-2.0": (5, 5, 1.021651247531981),
    "multinormal-sparse-25-25-2-2.0": (25, 25, 1.0216512475319774),
    "student-identity-2-2-1": (2, 2, 0.43194562200144127),
    "student-identity-2-2-2": (2, 2, 0.1931471805599454),
    "student-identity-3-3-2": (3, 3, 0.29092192268276484),
    "student-identity-3-3-3": (3, 3, 0.17871185309236282),
    "student-identity-5-5-2": (5, 5, 0.44815067691532917),
    "student-identity-5-5-3": (5, 5, 0.29854362265275824),
    "normal_cdf-multinormal-sparse-3-3-2-2.0": (3, 3, 1.0216512475319819),
    "normal_cdf-multinormal-sparse-5-5-2-2.0": (5, 5, 1.021651247531981),
    "normal_cdf-multinormal-sparse-25-25-2-2.0": (25, 25, 1.0216512475319774),
    "half_cube-multinormal-sparse-3-3-2-2.0": (3, 3, 1.0216512475319819),
    "half_cube-multinormal-sparse-5-5-2-2.0": (5, 5, 1.021651247531981),
    "half_cube-multinormal-sparse-25-25-2-2.0": (25, 25, 1.0216512475319774),
    "spiral-multinormal-sparse-3-3-2-2.0": (3, 3, 1.0216512475319819),
    "spiral-multinormal-sparse-5-5-2-2.0": (5, 5, 1.021651247531981),
    "spiral-multinormal-sparse-25-25-2-2.0": (25, 25, 1.0216512475319774),
    "spiral-normal_cdf-multinormal-sparse-3-3-2-2.0": (3, 3, 1.0216512475319819),
    "spiral-normal_cdf-multinormal-sparse-5-5-2-2.0": (5, 5, 1.021651247531981),
    "spiral-normal_cdf-multinormal-sparse-25-25-2-2.0": (25, 25, 1.0216512475319774),
    "asinh-student-identity-2-2-1": (2, 2, 0.43194562200144127),
    "asinh-student-identity-3-3-2": (3, 3, 0.29092192268276484),
    "asinh-student-identity-5-5-2": (5, 5, 0.44815067691532917),
}

NAMES = list(BMI_REFERENCE)


def test_forty_tasks_with_bmis_ids_in_bmis_order() -> None:
    assert len(NAMES) == 40
    assert tasks.BEYOND_NORMAL == NAMES
    assert [t.name for t in beyond_normal_tasks()] == NAMES
    assert tasks.beyond_normal_names() == NAMES
    assert tasks.beyond_normal_names("multinormal-dense-*") == NAMES[10:15]
    # found by get(), kept out of names() and BENCHMARK (the existing suite is unchanged)
    assert not set(tasks.names()) & set(NAMES)
    assert len(tasks.BENCHMARK) == 36 and not set(tasks.BENCHMARK) & set(NAMES)
    with pytest.raises(ValueError, match="benchmark suite"):
        tasks.unregister("1v1-normal-0.75")
    with pytest.raises(ValueError, match="benchmark-mi"):
        tasks.register(tasks.CorrelatedGaussian(1, 0.5, name="1v1-normal-0.75"))
    with pytest.raises(ValueError, match="did you mean: 1v1-normal-0.75"):
        tasks.get("1v1-normal-0.7")


@pytest.mark.parametrize("name", NAMES)
def test_name_dimensions_and_mi_match_benchmark_mi(name: str) -> None:
    dim_x, dim_y, mi = BMI_REFERENCE[name]
    task = tasks.get(name)
    assert task is tasks.get(name) and task.name == name
    assert (task.dim_x, task.dim_y) == (dim_x, dim_y)
    if name == "1v1-additive-0.1":
        # bmi's value went through float32 (jnp.log); the float64 value of its formula is exact
        assert task.mi == pytest.approx(0.1 - math.log(0.2), abs=1e-15)
        assert task.mi == pytest.approx(mi, abs=1e-7)
    else:
        assert task.mi == pytest.approx(mi, rel=1e-12, abs=1e-14)
    x, y = task.sample(50, seed=3)
    assert x.shape == (50, dim_x) and y.shape == (50, dim_y)
    assert np.isfinite(x).all() and np.isfinite(y).all()
    x2, _ = task.sample(50, seed=3)
    np.testing.assert_array_equal(x, x2)


def _mc_size(task: tasks.Task) -> int:
    return 20_000 if task.dim_x + task.dim_y >= 50 else 40_000


@pytest.mark.parametrize("name", NAMES)
def test_mi_vs_monte_carlo_of_the_log_ratio(name: str) -> None:
    task = tasks.get(name)
    assert task.has_log_ratio
    check_mc(task, n=_mc_size(task), seed=2024)


@pytest.mark.parametrize("name", [n for n in NAMES if isinstance(tasks.get(n), TransformedTask)])
def test_transformed_tasks_map_their_base_samples(name: str) -> None:
    task = tasks.get(name)
    assert task.mi == task.base.mi
    x, y = task.sample(500, seed=5)
    bx, by = task.base.sample(500, seed=5)
    np.testing.assert_array_equal(x, task.fx(bx) if task.fx is not None else bx)
    np.testing.assert_array_equal(y, task.fy(by) if task.fy is not None else by)
    np.testing.assert_allclose(task.log_ratio(x, y), task.base.log_ratio(bx, by), atol=1e-6)


def test_base_distributions_are_bmis() -> None:
    g = tasks.get
    # dense: every correlation 0.5 (bmi: eye·(1 − 0.5) + 0.5)
    cov = g("multinormal-dense-5-5-0.5").cov
    np.testing.assert_array_equal(cov, np.eye(10) * 0.5 + 0.5)
    # 2-pair: bmi's latent-variable covariance (λ = η = 2, ε = 1) as a correlation matrix
    cov = g("multinormal-sparse-5-5-2-2.0").cov
    expected = np.eye(10)
    expected[0, 5] = expected[5, 0] = expected[1, 6] = expected[6, 1] = 4.0 / 5.0
    np.testing.assert_allclose(cov, expected, atol=1e-15)
    # Student-t: identity dispersion, bmi's degrees of freedom
    st = g("student-identity-3-3-2")
    assert st.dof == 2.0 and np.array_equal(st.cov, np.eye(6))
    assert g("1v1-normal-0.75").cov[0, 1] == 0.75


def test_additive_noise_is_bmis_uniform_model() -> None:
    # X ~ U(0, 1), Y = X + N, N ~ U(−ε, ε)
    for eps in (0.1, 0.75):
        task = tasks.get(f"1v1-additive-{eps}")
        assert task.family == "additive-noise"
        x, y = task.sample(20_000, seed=1)
        noise = y[:, 0] - x[:, 0]
        assert stats.kstest(x[:, 0], "uniform").pvalue > 1e-3
        assert stats.kstest(noise, stats.uniform(-eps, 2 * eps).cdf).pvalue > 1e-3
        assert abs(np.corrcoef(x[:, 0], noise)[0, 1]) < 0.03
    assert tasks.get("1v1-additive-0.75").mi == pytest.approx(0.25 / 0.75, abs=1e-15)


def test_bimodal_marginals_are_bmis_mixtures() -> None:
    x, y = tasks.get("1v1-bimodal-0.75").sample(20_000, seed=2)

    def mixture_cdf(weights, means):  # type: ignore[no-untyped-def]
        return lambda t: sum(w * stats.norm.cdf(t - m) for w, m in zip(weights, means))

    assert stats.kstest(x[:, 0], mixture_cdf([0.3, 0.7], [0.0, 5.0])).pvalue > 1e-3
    assert stats.kstest(y[:, 0], mixture_cdf([0.5, 0.5], [-1.0, 3.0])).pvalue > 1e-3


# Outputs of bmi's own maps at fixed points (benchmark-mi 0.1.3 with jax_enable_x64):
# bmi.benchmark.tasks.wiggly.wiggly_x / wiggly_y, bmi.transforms.swissroll2d, the samplers'
# .transform of the spiral and bimodal tasks.
_T = np.array([-3.0, -0.7, 0.0, 0.4, 2.5])
_BMI_WIGGLY_X = [-2.887824455747616, -0.9656016591173016, 0.15034003263846063, 0.7268377969908348, 2.5523535866312863]
_BMI_WIGGLY_Y = [-2.6994478509404938, -0.4864018331031931, -0.07160259158931451, 0.19135419504040937, 2.258371182824333]
_BMI_SWISSROLL = [  # at u = 0.05, 0.3, 0.5, 0.9
    [1.1206275290424646e-01, -2.1993553612570202e-01],
    [1.1094920221288392e-01, 3.4146653311332065e-01],
    [-4.4879895051282759e-01, 1.6488605946186768e-16],
    [5.0832036923152613e-01, 3.6931636609809104e-01],
]
_BMI_BIMODAL_X = [-1.433666186210587, 2.7840343419686064, 4.434057008006391, 5.397057998720527, 7.370961044477156]
_BMI_BIMODAL_Y = [-2.690143444433204, -0.7024718948153463, 0.9999999999999432, 3.040366119344924, 5.243902723665599]


def test_maps_agree_with_bmis_outputs() -> None:
    np.testing.assert_allclose(tasks.get("wiggly-1v1-normal-0.75").fx(_T[:, None])[:, 0], _BMI_WIGGLY_X, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(tasks.get("wiggly-1v1-normal-0.75").fy(_T[:, None])[:, 0], _BMI_WIGGLY_Y, rtol=1e-14, atol=1e-15)
    swiss = tasks.get("swissroll_x-normal_cdf-1v1-normal-0.75").fx
    np.testing.assert_allclose(swiss(np.array([[0.05], [0.3], [0.5], [0.9]])), _BMI_SWISSROLL, rtol=1e-13, atol=1e-15)
    # bmi inverts the mixture CDFs by bisection to 1e-12 (applied to Φ(z)); z = −2, −0.5, 0, 0.7, 2.5
    bimodal = tasks.get("1v1-bimodal-0.75")
    z = np.array([[-2.0], [-0.5], [0.0], [0.7], [2.5]])
    np.testing.assert_allclose(bimodal.fx(z)[:, 0], _BMI_BIMODAL_X, atol=1e-9)
    np.testing.assert_allclose(bimodal.fy(z)[:, 0], _BMI_BIMODAL_Y, atol=1e-9)
    # spiral: X rotated in the plane (0, 1) by |x|²/3, Y in the plane (1, 2) by |y|²/3
    spiral = tasks.get("spiral-multinormal-sparse-3-3-2-2.0")
    x = np.array([[0.3, -1.2, 0.8], [1.5, 0.2, -0.4]])
    y = np.array([[-0.5, 1.1, 0.7], [0.9, -1.3, 2.0]])
    np.testing.assert_allclose(spiral.fx(x), [[1.019145510102651, -0.7009582221770477, 0.8], [0.8812083078727939, 1.230232465079656, -0.4]], atol=1e-13)
    np.testing.assert_allclose(spiral.fy(y), [[-0.5, 0.45206169438873384, 1.2229637052939826], [0.8999999999999999, -0.9257225976434574, -2.1984170833152312]], atol=1e-13)
    spiral5 = tasks.get("spiral-multinormal-sparse-5-5-2-2.0")
    x5 = np.array([[0.3, -1.2, 0.8, 0.1, -2.0]])
    np.testing.assert_allclose(spiral5.fx(x5), [[1.2319457454116636, -0.1109489989233801, 0.8, 0.1, -2.0]], atol=1e-13)
    np.testing.assert_allclose(spiral5.fy(x5), [[0.3, -1.1498739755891845, -0.8705112522321141, 0.1, -2.0]], atol=1e-13)


# ---------------------------------------------------------------------------- the new maps
NEW_MAPS = [
    Affine(0.5, 0.5),
    Affine(-3.0, 1.0),
    SineSum(WIGGLY_X),
    SineSum(WIGGLY_Y),
    PlaneSpiral(0.2, 0, 1),
    PlaneSpiral(-1.0, 1, 3),
    GaussianToMixture([0.3, 0.7], [0.0, 5.0]),
    GaussianToMixture([1, 2, 1], [-4.0, 0.0, 6.0], [0.5, 1.0, 2.0]),
]


@pytest.mark.parametrize("bij", NEW_MAPS, ids=lambda b: b.name)
def test_new_maps_invert(bij) -> None:  # type: ignore[no-untyped-def]
    x = np.random.default_rng(0).standard_normal((3000, 4)) * 2
    np.testing.assert_allclose(bij.inverse(bij(x)), x, atol=1e-9)


def test_coordinatewise_new_maps_are_increasing_and_the_mixture_tails_are_finite() -> None:
    t = np.linspace(-30, 30, 20_001)
    for bij in (SineSum(WIGGLY_X), SineSum(WIGGLY_Y), GaussianToMixture([0.5, 0.5], [-1.0, 3.0])):
        assert np.all(np.diff(bij(t)) > 0), bij.name
    g = GaussianToMixture([0.3, 0.7], [0.0, 5.0])
    z = np.array([-38.0, -20.0, 20.0, 38.0])
    out = g(z)
    assert np.all(np.isfinite(out)) and np.all(np.diff(out) > 0)
    np.testing.assert_allclose(g.inverse(out), z, rtol=1e-9)


def test_swiss_roll_is_injective_on_the_unit_interval() -> None:
    u = np.linspace(1e-6, 1 - 1e-6, 10_001)[:, None]
    out = SwissRoll()(u)
    assert out.shape == (10_001, 2)
    np.testing.assert_allclose(SwissRoll().inverse(out), u, atol=1e-12)
    # the radius grows with u: distinct points of the interval land on distinct points
    assert np.all(np.diff(np.hypot(out[:, 0], out[:, 1])) > 0)
    with pytest.raises(ValueError, match="one coordinate"):
        SwissRoll().out_dim(2)


def test_new_maps_reject_bad_parameters() -> None:
    with pytest.raises(ValueError, match="sum"):
        SineSum([(0.6, 1.0, 0.0), (0.5, 1.0, 0.0)])
    with pytest.raises(ValueError, match="triples"):
        SineSum([0.1, 0.2])
    with pytest.raises(ValueError, match="non-zero"):
        Affine(0.0)
    with pytest.raises(ValueError, match="i < j"):
        PlaneSpiral(1.0, 2, 1)
    with pytest.raises(ValueError, match="dimension"):
        PlaneSpiral(1.0, 1, 2).out_dim(2)
    with pytest.raises(ValueError, match="positive"):
        GaussianToMixture([1.0, -1.0], [0.0, 1.0])
