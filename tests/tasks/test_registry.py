"""The registry and the benchmark suite: every registered task is checked."""

from __future__ import annotations

import numpy as np
import pytest

import neuralmi.interface
from neuralmi import tasks
from neuralmi.tasks import CorrelatedGaussian, TransformedTask

from .conftest import check_mc

ALL = tasks.names()
FAMILIES = {"gaussian", "student-t", "transformed", "nonlinear", "additive-noise", "mixture", "discrete"}


def _mc_size(task: tasks.Task) -> int:
    if task.family == "nonlinear" and getattr(task, "f", "linear") != "linear":
        return 20_000  # log p(y) needs a quadrature per sample
    return 100_000


def test_suite_size_and_coverage() -> None:
    assert 25 <= len(ALL) <= 40
    assert ALL == sorted(ALL) and len(set(ALL)) == len(ALL)
    assert set(tasks.BENCHMARK) == set(ALL)
    objs = [tasks.get(n) for n in ALL]
    assert {t.family for t in objs} == FAMILIES
    totals = [t.dim_x + t.dim_y for t in objs]
    assert min(totals) == 2 and max(totals) == 50
    mis = [t.mi for t in objs]
    assert min(mis) < 0.2 and max(mis) > 10
    assert sum(m > 9 for m in mis) >= 3
    dofs = {t.dof for t in objs if t.family == "student-t"}
    assert {1.0, 2.0, 3.0, 5.0} <= dofs
    prefixes = {n.split("-")[0] for n in ALL if tasks.get(n).family == "transformed"}
    assert {"normalcdf", "halfcube", "asinh", "wiggly", "spiral", "embed10x10s0"} <= prefixes


@pytest.mark.parametrize("name", ALL)
def test_task_basics(name: str) -> None:
    task = tasks.get(name)
    assert task is tasks.get(name)
    assert task.name == name
    assert isinstance(task, neuralmi.interface.Task)
    assert task.family in FAMILIES
    assert np.isfinite(task.mi) and task.mi >= 0
    x, y = task.sample(64, seed=11)
    assert x.shape == (64, task.dim_x) and y.shape == (64, task.dim_y)
    assert x.dtype == np.float64 and y.dtype == np.float64
    assert np.isfinite(x).all() and np.isfinite(y).all()
    x2, y2 = task.sample(64, seed=11)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    x3, y3 = task.sample(64, seed=12)
    assert not np.array_equal(x, x3)
    assert task.has_log_ratio


@pytest.mark.parametrize("name", [n for n in ALL if tasks.get(n).family != "transformed"])
def test_stated_mi_vs_monte_carlo(name: str) -> None:
    task = tasks.get(name)
    check_mc(task, n=_mc_size(task))


@pytest.mark.parametrize("name", [n for n in ALL if tasks.get(n).family == "transformed"])
def test_transformed_members(name: str) -> None:
    task = tasks.get(name)
    assert isinstance(task, TransformedTask)
    assert task.mi == task.base.mi
    x, y = task.sample(2000, seed=5)
    bx, by = task.base.sample(2000, seed=5)
    np.testing.assert_array_equal(x, task.fx(bx) if task.fx is not None else bx)
    np.testing.assert_array_equal(y, task.fy(by) if task.fy is not None else by)
    np.testing.assert_allclose(task.log_ratio(x, y), task.base.log_ratio(bx, by), atol=1e-6)


def test_names_pattern() -> None:
    gauss = tasks.names("gauss-*")
    assert "gauss-d20-rho0.5" in gauss
    assert all(n.startswith("gauss-") for n in gauss)
    assert tasks.names("student-t-*") == [n for n in ALL if n.startswith("student-t-")]
    assert len(tasks.names("*gauss-*")) > len(gauss)
    assert tasks.names("no-such-*") == []
    with pytest.raises(TypeError):
        tasks.names(3)  # type: ignore[arg-type]


def test_paper_task_available() -> None:
    assert tasks.get("gauss-d20-rho0.5").mi == CorrelatedGaussian(20, 0.5).mi
    assert tasks.get("gauss-d2-rho0.5").dim_x == 2


def test_unknown_name_suggests_close_matches() -> None:
    with pytest.raises(ValueError, match="gauss-d20-rho0.5") as err:
        tasks.get("gauss-d20-rho0.55")
    assert "unknown task" in str(err.value)
    with pytest.raises(ValueError, match="names()"):
        tasks.get("zzzzzzzz")
    with pytest.raises(TypeError):
        tasks.get(5)  # type: ignore[arg-type]


def test_register_and_unregister() -> None:
    task = CorrelatedGaussian(3, 0.3, name="test-registry-gauss")
    try:
        assert tasks.register(task) is task
        assert tasks.get("test-registry-gauss") is task
        assert "test-registry-gauss" in tasks.names("test-*")
        with pytest.raises(ValueError, match="already registered"):
            tasks.register(CorrelatedGaussian(3, 0.4, name="test-registry-gauss"))
        other = CorrelatedGaussian(3, 0.4, name="test-registry-gauss")
        tasks.register(other, overwrite=True)
        assert tasks.get("test-registry-gauss") is other
    finally:
        tasks.unregister("test-registry-gauss")
    assert "test-registry-gauss" not in tasks.names()
    with pytest.raises(ValueError, match="benchmark"):
        tasks.unregister("gauss-d20-rho0.5")
    with pytest.raises(ValueError, match="no task"):
        tasks.unregister("test-registry-gauss")
    with pytest.raises(TypeError):
        tasks.register("gauss")  # type: ignore[arg-type]


def test_any_object_with_the_task_protocol_can_be_registered() -> None:
    # the registry types against neuralmi.interface.Task, not the base class
    import numpy as np

    class MyTask:
        name, dim_x, dim_y, mi = "test-registry-duck", 1, 1, 0.0

        def sample(self, n: int, seed: int = 0):
            rng = np.random.default_rng(seed)
            return rng.standard_normal((n, 1)), rng.standard_normal((n, 1))

    task = MyTask()
    try:
        assert tasks.register(task) is task and tasks.get("test-registry-duck") is task
    finally:
        tasks.unregister("test-registry-duck")
