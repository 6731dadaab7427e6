"""Discrete tasks: stated MI against Monte Carlo, against independent computations, and the
structural claims."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neuralmi import tasks
from neuralmi.tasks import DiscreteContinuous, DiscreteTable, GaussianClasses, QuantizedGaussian, gaussian_classes, random_table, symmetric_channel
from tests.tasks.conftest import check_mc


@pytest.mark.parametrize("name", tasks.discrete_names())
def test_every_suite_task_matches_monte_carlo(name: str) -> None:
    task = tasks.get(name)
    assert task.name == name and task.discrete in ("y", "xy") and task.family == "discrete"
    check_mc(task, n=60_000)
    x, y = task.sample(100, seed=0)
    assert np.all(y == np.round(y)) and y.shape == (100, 1)
    if task.discrete == "xy":
        assert np.all(x == np.round(x))


def test_suite_is_outside_the_mi_benchmark() -> None:
    assert not set(tasks.discrete_names()) & set(tasks.names())
    assert len(tasks.discrete_names("labels-*")) >= 6


def test_line_layout_equals_the_existing_one_dimensional_integral() -> None:
    for k, d, sp in ((4, 2, 2.0), (10, 5, 3.0), (3, 1, 1.0)):
        assert gaussian_classes(k, d, spacing=sp).mi == pytest.approx(DiscreteContinuous(k, d, spacing=sp).mi, abs=1e-9)


def test_planar_layout_two_dimensional_integral_against_quadrature_free_limit() -> None:
    # far-apart classes: MI -> H(C); coincident-ish classes: MI -> 0
    far = gaussian_classes(6, 3, spacing=40.0, layout="circle", priors="skewed")
    p = np.arange(1, 7) / 21.0
    assert far.mi == pytest.approx(-np.sum(p * np.log(p)), abs=1e-6)
    near = gaussian_classes(6, 3, spacing=1e-3, layout="circle")
    assert near.mi < 1e-6


def test_per_class_sigma_and_validation() -> None:
    t = GaussianClasses([[0.0], [1.5], [4.0]], sigma=[1.0, 0.5, 2.0], priors=[0.2, 0.3, 0.5])
    check_mc(t, n=80_000)
    with pytest.raises(ValueError, match="line or a plane"):
        GaussianClasses(np.eye(4) * 3)
    with pytest.raises(ValueError, match="per-class sigmas"):
        GaussianClasses([[0.0, 0.0], [1.0, 1.0]], sigma=[1.0, 2.0])
    with pytest.raises(ValueError, match="integer codes"):
        t.log_ratio(np.zeros((2, 1)), np.array([[0.0], [3.0]]))


def test_quantized_gaussian_table_against_sampling_and_limits() -> None:
    t = QuantizedGaussian(0.6, bins_y=3, bins_x=4)
    table = t.table
    assert table.shape == (4, 3) and table.sum() == pytest.approx(1.0)
    assert table.sum(1) == pytest.approx(np.full(4, 0.25), abs=1e-9)  # equiprobable bins
    x, y = t.sample(400_000, seed=1)
    freq = np.histogram2d(x[:, 0], y[:, 0], bins=[np.arange(5) - 0.5, np.arange(4) - 0.5])[0] / 400_000
    assert np.abs(freq - table).max() < 3e-3
    # a continuous X keeps more information than its quantisation (data processing)
    assert QuantizedGaussian(0.6, bins_y=3).mi > t.mi
    assert QuantizedGaussian(0.0, bins_y=5).mi == pytest.approx(0.0, abs=1e-9)


def test_tables_closed_forms() -> None:
    k, e = 5, 0.2
    assert symmetric_channel(k, e).mi == pytest.approx(math.log(k) + e * math.log(e) + (1 - e) * math.log(1 - e) - e * math.log(k - 1), abs=1e-12)
    assert symmetric_channel(3, 2 / 3).mi == pytest.approx(0.0, abs=1e-12)
    assert DiscreteTable(np.outer([0.2, 0.8], [0.5, 0.3, 0.2])).mi == pytest.approx(0.0, abs=1e-12)
    t = random_table(3, 4, seed=2)
    assert t.name == "table-3x4-a1-seed2" and t.table.shape == (3, 4)
