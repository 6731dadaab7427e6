"""Tests for neuralmi.result.MIResult: interval, units, JSON and the training-curve plot."""

from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from scipy import stats

from neuralmi.result import GAP_FACTOR, MIResult


def neural_result(**kw: object) -> MIResult:
    base = dict(
        mi=0.5,
        stderr=0.1,
        method="mine",
        config={"hidden": (8, 8), "lr": np.float64(1e-3), "steps": np.int64(100), "arr": np.arange(3)},
        history={"step": [0, 10, 20], "train": [float("nan"), 0.3, 0.45], "heldout": [0.1, 0.4, 0.5]},
        seconds=1.25,
        n_train=70,
        n_test=30,
        warnings=("something to note",),
    )
    base.update(kw)
    return MIResult(**base)  # type: ignore[arg-type]


def test_ci_is_normal_interval() -> None:
    r = neural_result()
    lo, hi = r.ci(0.95)
    z = stats.norm.ppf(0.975)
    assert lo == pytest.approx(0.5 - z * 0.1) and hi == pytest.approx(0.5 + z * 0.1)
    lo90, hi90 = r.ci(0.9)
    assert lo < lo90 < 0.5 < hi90 < hi
    assert r.ci(0.6826894921370859) == pytest.approx((0.4, 0.6))


@pytest.mark.parametrize("level", [0.0, 1.0, -0.5, 1.5, 95])
def test_ci_bad_level(level: float) -> None:
    with pytest.raises(ValueError, match="level"):
        neural_result().ci(level)


def test_ci_without_stderr_raises() -> None:
    r = MIResult(mi=0.3, stderr=None, method="binned")
    with pytest.raises(ValueError, match="no standard error"):
        r.ci()
    assert r.to_dict()["ci95"] is None
    assert "±" not in str(r)


def test_bits() -> None:
    assert MIResult(mi=math.log(2.0), stderr=None, method="x").bits == pytest.approx(1.0)
    assert neural_result(mi=1.0).bits == pytest.approx(1.0 / math.log(2.0))


def test_to_dict_and_json_round_trip(tmp_path: Path) -> None:
    r = neural_result(mi=0.1234567890123456789, stderr=0.0123456789012345)
    d = r.to_dict()
    assert set(d) >= {"mi", "bits", "stderr", "ci95", "method", "config", "history", "seconds", "n_train",
                      "n_test", "warnings"}
    text = r.to_json()
    back = json.loads(text)
    assert back["mi"] == r.mi and back["stderr"] == r.stderr  # floats round-trip exactly
    assert back["ci95"] == list(r.ci(0.95))
    assert back["bits"] == r.bits
    assert back["config"] == {"hidden": [8, 8], "lr": 1e-3, "steps": 100, "arr": [0, 1, 2]}
    assert back["history"]["train"] == [None, 0.3, 0.45]  # NaN becomes null
    assert back["warnings"] == ["something to note"]
    assert back["n_train"] == 70 and back["n_test"] == 30
    path = tmp_path / "r.json"
    assert r.to_json(path) == text
    assert json.loads(path.read_text()) == back


def test_json_has_no_nan_or_infinity() -> None:
    r = MIResult(
        mi=float("nan"),
        stderr=float("inf"),
        method="mine",
        config={"x": float("-inf"), "y": np.array([1.0, np.nan]), "z": np.float32(np.nan)},
        history={"step": [0], "train": [float("nan")], "heldout": [float("inf")]},
    )
    text = r.to_json(indent=None)
    assert "NaN" not in text and "Infinity" not in text
    back = json.loads(text)  # strict JSON
    assert back["mi"] is None and back["stderr"] is None and back["ci95"] == [None, None]
    assert back["config"] == {"x": None, "y": [1.0, None], "z": None}
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))


def test_ci_upper_end_reaches_the_training_read() -> None:
    z = stats.norm.ppf(0.975)
    r = neural_result(mi_train=0.8, stderr_train=0.05)
    lo, hi = r.ci(0.95)
    # the upper end's centre is the training read plus three times what it exceeds the held-out
    # read by (0.8 + 3 * 0.3: GAP_FACTOR 4 times the overfitting above the held-out read), its
    # margin the two errors in quadrature
    assert GAP_FACTOR == 4.0
    assert r.upper_read == pytest.approx(1.7)
    assert lo == pytest.approx(0.5 - z * 0.1) and hi == pytest.approx(1.7 + z * math.hypot(0.1, 0.05))
    # a training read at the held-out one adds nothing: the margin alone
    same = neural_result(mi_train=0.5, stderr_train=0.05)
    assert same.upper_read == 0.5 and same.ci(0.95)[1] == pytest.approx(0.5 + z * math.hypot(0.1, 0.05))
    # a training read below the held-out interval's upper end changes nothing
    assert neural_result(mi_train=0.45, stderr_train=0.05).ci(0.95) == pytest.approx((0.5 - z * 0.1, 0.5 + z * 0.1))
    assert "training rows" in r.interval_covers and "only" not in r.interval_covers
    assert "training rows" in str(r)
    d = r.to_dict()
    assert d["mi_train"] == 0.8 and d["stderr_train"] == 0.05 and d["ci95"][1] == pytest.approx(hi)
    assert d["upper_read"] == pytest.approx(1.7)
    assert "3 times what it reads them above unseen rows" in r.interval_covers
    assert neural_result(mi_train=0.8, stderr_train=0.05, certified=False).ci(0.95) == (0.0, math.inf)
    assert neural_result().to_dict()["mi_train"] is None and neural_result().upper_read is None
    # a training read below the held-out one is not mirrored downwards
    assert neural_result(mi_train=0.45, stderr_train=0.05).upper_read == 0.45
    inside = neural_result(mi_train=0.45, stderr_train=0.05)
    assert "is inside it" in inside.interval_covers and "up to" not in inside.interval_covers


def test_str_mentions_estimate_interval_and_warnings() -> None:
    s = str(neural_result())
    assert "0.5000" in s and "95% CI" in s and "[mine]" in s
    assert "warning: something to note" in s
    # the printed interval says what it covers (held-out sampling noise, not the bound's gap)
    assert "covers held-out sampling noise only" in s
    assert neural_result().to_dict()["ci_covers"].startswith("held-out sampling noise only")


def test_result_is_frozen() -> None:
    r = neural_result()
    with pytest.raises(AttributeError):
        r.mi = 1.0  # type: ignore[misc]


# ------------------------------------------------------------------ plot


def _is_png(path: Path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_writes_png(tmp_path: Path) -> None:
    path = tmp_path / "curve.png"
    ax = neural_result().plot(path, truth=0.55)
    assert _is_png(path) and path.stat().st_size > 1000
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("true MI 0.550" in s for s in labels)
    assert any("95% interval" in s for s in labels)
    assert ax.get_xlabel() == "training step"


def test_plot_leaves_backend_alone_and_closes_nothing_open(tmp_path: Path) -> None:
    import matplotlib.pyplot as plt

    before = matplotlib.get_backend()
    n_open = len(plt.get_fignums())
    try:
        plt.switch_backend("pdf")
        neural_result().plot(tmp_path / "a.png")
        assert matplotlib.get_backend() == "pdf"
        assert len(plt.get_fignums()) == n_open  # no pyplot figure left open
    finally:
        plt.switch_backend(before)
    assert _is_png(tmp_path / "a.png")


def test_plot_on_given_axes_saves_too(tmp_path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.add_subplot()
    out = neural_result(stderr=None).plot(tmp_path / "b.png", ax=ax)
    assert out is ax
    assert _is_png(tmp_path / "b.png")
    assert len(ax.lines) >= 3  # train, held-out, estimate


def test_plot_without_history_raises(tmp_path: Path) -> None:
    r = MIResult(mi=0.2, stderr=0.01, method="ksg")
    with pytest.raises(ValueError, match="no training history"):
        r.plot(tmp_path / "c.png")
    assert not (tmp_path / "c.png").exists()
    with pytest.raises(ValueError, match="no training history"):
        neural_result(history={"step": []}).plot()
