"""Discrete sides: labels, the plug-in with its corrections (against brute force), the mixed k-NN
estimator (against a brute-force reference), the classifier bound, and bad input."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy.special import digamma

import neuralmi
from neuralmi import exceptions as W
from neuralmi import tasks
from neuralmi.discrete import (
    DETECT_MAX_CATEGORIES,
    DETECT_MIN_PER_CATEGORY,
    MIN_PER_CATEGORY,
    SparseTableWarning,
    _plugin,
    detect_discrete,
    encode_labels,
    estimate_discrete,
    plugin_mi,
)
from neuralmi.nonparametric import MixedKSG, mixed_ksg

FAST = {"steps": 100, "seed": 0, "folds": 3}


# ---------------------------------------------------------------------------------------------
# labels
# ---------------------------------------------------------------------------------------------


def test_encode_labels_any_hashable_and_joint_columns() -> None:
    codes, cats = encode_labels(np.array(["b", "a", "b", "c"]))
    assert codes.tolist() == [1, 0, 1, 2] and cats == ["a", "b", "c"]
    codes, cats = encode_labels([[1, "x"], [0, "y"], [1, "x"]])
    assert codes.tolist() == [1, 0, 1] and len(cats) == 2
    codes, _ = encode_labels(np.array([True, False, True]))
    assert codes.tolist() == [1, 0, 1]
    pd = pytest.importorskip("pandas")
    codes, cats = encode_labels(pd.Series(["lo", "hi", "lo"], name="grade"))
    assert cats == ["hi", "lo"]
    with pytest.raises(ValueError, match="missing"):
        encode_labels(pd.Series(["a", None, "b"]))
    with pytest.raises(ValueError, match="NaN"):
        encode_labels(np.array([1.0, np.nan]))


def test_detect_discrete() -> None:
    rng = np.random.default_rng(0)
    cont = rng.standard_normal((500, 2))
    assert detect_discrete(cont, rng.integers(0, 3, 500)) == "y"
    assert detect_discrete(np.array(["a", "b"] * 250), cont) == "x"
    assert detect_discrete(rng.integers(0, 4, 500), rng.integers(0, 2, 500)) == "xy"
    assert detect_discrete(cont, cont) is None
    assert detect_discrete(cont, np.arange(500)) is None  # integers, but one per row: continuous
    # floats are never discrete, not even with integer values or ties
    assert detect_discrete(cont, rng.integers(0, 3, 500).astype(float)) is None
    assert detect_discrete(np.round(cont), cont) is None
    assert detect_discrete(cont, np.array(["1.5", "2"] * 250)) is None  # text that reads as numbers
    # few values, but also few rows per value (fewer than DETECT_MIN_PER_CATEGORY): continuous
    assert DETECT_MIN_PER_CATEGORY == 10 and DETECT_MAX_CATEGORIES == 20
    assert detect_discrete(cont[:100], np.arange(100) % 11) is None
    assert detect_discrete(cont[:110], np.arange(110) % 11) == "y"
    assert detect_discrete(cont, np.arange(500) % 21) is None  # 21 values: too many to be taken as labels
    assert detect_discrete(cont, rng.integers(0, 2, 500).astype(bool)) == "y"
    assert detect_discrete(np.array([1, "b"] * 250, dtype=object), cont) == "x"  # a mix: not numbers
    assert detect_discrete(np.array([1, 2] * 250, dtype=object), cont) == "x"  # Python ints
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": rng.standard_normal(500), "b": rng.integers(0, 3, 500)})
    assert detect_discrete(frame, pd.Series(rng.integers(0, 3, 500))) == "y"  # a float column: continuous
    assert detect_discrete(cont, pd.Series(rng.standard_normal(500).round(1)).astype("category")) == "y"
    torch = pytest.importorskip("torch")
    assert detect_discrete(torch.zeros(500, 2), torch.randint(0, 3, (500,))) == "y"


# ---------------------------------------------------------------------------------------------
# plug-in with corrections
# ---------------------------------------------------------------------------------------------


def _plain(x: np.ndarray, y: np.ndarray) -> float:
    n = x.shape[0]
    joint = {}
    for a, b in zip(x, y):
        joint[(a, b)] = joint.get((a, b), 0) + 1
    px = {a: np.sum(x == a) / n for a in set(x)}
    py = {b: np.sum(y == b) / n for b in set(y)}
    return sum(c / n * math.log(c / n / (px[a] * py[b])) for (a, b), c in joint.items())


def test_plugin_corrections_against_brute_force() -> None:
    rng = np.random.default_rng(1)
    x = rng.integers(0, 4, 120)
    y = (x + rng.integers(0, 3, 120)) % 5
    plain = _plain(x, y)
    assert plugin_mi(x, y, correction=None) == pytest.approx(plain, abs=1e-12)
    mx, my, mxy = len(set(x)), len(set(y)), len(set(zip(x, y)))
    assert plugin_mi(x, y, correction="miller-madow") == pytest.approx(plain + (mx + my - mxy - 1) / 240, abs=1e-12)
    loo = np.mean([_plain(np.delete(x, i), np.delete(y, i)) for i in range(120)])
    assert plugin_mi(x, y) == pytest.approx(120 * plain - 119 * loo, abs=1e-10)  # jackknife, the default


def test_plugin_is_less_biased_than_plain_on_a_table() -> None:
    task = tasks.random_table(4, 6, seed=0)
    errs = {c: [] for c in ("jackknife", "miller-madow", None)}
    for seed in range(200):
        x, y = task.sample(200, seed=seed)
        for c in errs:
            errs[c].append(plugin_mi(x, y, correction=c) - task.mi)
    assert abs(np.mean(errs["jackknife"])) < abs(np.mean(errs[None])) / 3
    assert abs(np.mean(errs["miller-madow"])) < abs(np.mean(errs[None]))


def test_estimate_discrete_discrete_is_the_plugin_with_an_interval() -> None:
    task = tasks.symmetric_channel(5, 0.2)
    x, y = task.sample(4000, seed=0)
    res = neuralmi.estimate(x, y, discrete="xy")
    assert res.method == "plugin" and res.config["correction"] == "jackknife"
    assert res.mi == pytest.approx(max(0.0, plugin_mi(x, y)), abs=1e-12)
    lo, hi = res.ci(0.95)
    assert lo <= task.mi <= hi + 0.02 and 0.005 < res.stderr < 0.05
    mm = neuralmi.estimate(x, y, discrete="xy", method="plugin", correction="miller-madow")
    assert mm.config["correction"] == "miller-madow"
    with pytest.raises(TypeError, match="unknown option"):
        neuralmi.estimate(x, y, discrete="xy", method="plugin", steps=3)


def test_sparse_table_warns() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 20, 200), rng.integers(0, 20, 200)  # 400 cells for 200 rows
    with pytest.warns(SparseTableWarning):
        res = neuralmi.estimate(x, y, discrete="xy")
    assert any("occupied cells" in m for m in res.warnings)


# ---------------------------------------------------------------------------------------------
# mixed k-NN (Gao et al. 2017)
# ---------------------------------------------------------------------------------------------


def brute_mixed_ksg(x: np.ndarray, y: np.ndarray, k: int) -> float:
    """The authors' released algorithm, with exact comparisons, by full distance matrices."""
    n = x.shape[0]
    dx = np.abs(x[:, None, :] - x[None, :, :]).max(-1)
    dy = np.abs(y[:, None, :] - y[None, :, :]).max(-1)
    dxy = np.maximum(dx, dy)
    total = 0.0
    for i in range(n):
        rho = np.sort(np.delete(dxy[i], i))[k - 1]
        if rho == 0.0:
            kp, nx, ny = np.sum(dxy[i] == 0), np.sum(dx[i] == 0), np.sum(dy[i] == 0)
        else:
            kp, nx, ny = k, np.sum(dx[i] < rho), np.sum(dy[i] < rho)
        total += digamma(kp) + math.log(n) - digamma(nx) - digamma(ny)
    return total / n


@pytest.mark.parametrize("kind", ["continuous", "labels", "mixed"])
def test_mixed_ksg_matches_brute_force(kind: str) -> None:
    rng = np.random.default_rng(2)
    n = 300
    if kind == "continuous":
        x = rng.standard_normal((n, 2))
        y = x[:, :1] + rng.standard_normal((n, 1))
    elif kind == "labels":
        x = rng.integers(0, 3, (n, 1)).astype(float)
        y = (x + rng.integers(0, 2, (n, 1))) % 3
    else:
        c = rng.integers(0, 3, (n, 1)).astype(float)
        x = np.where(rng.random((n, 1)) < 0.3, 0.0, c + rng.standard_normal((n, 1)))  # a point mass at 0
        y = c
    assert mixed_ksg(x, y, k=4) == pytest.approx(brute_mixed_ksg(x, y, 4), abs=1e-12)
    assert MixedKSG(k=4).fit(x, y).mi_ == mixed_ksg(x, y, k=4)


def test_mixed_ksg_on_discrete_data_is_near_plugin() -> None:
    task = tasks.symmetric_channel(4, 0.1)
    x, y = task.sample(5000, seed=0)
    assert mixed_ksg(x, y) == pytest.approx(plugin_mi(x, y, correction=None), abs=0.02)


# ---------------------------------------------------------------------------------------------
# the classifier bound
# ---------------------------------------------------------------------------------------------


def test_classifier_on_gaussian_classes_with_string_labels() -> None:
    task = tasks.gaussian_classes(4, dim=3, spacing=2.0)
    x, y = task.sample(1500, seed=0)
    labels = np.array(["ant", "bee", "cat", "dog"])[y[:, 0].astype(int)]
    res = neuralmi.estimate(x, labels, discrete="y", **FAST)
    assert res.method == "classifier" and res.config["categories"] == {"y": 4}
    assert abs(res.mi - task.mi) < 0.08
    lo, hi = res.ci(0.95)
    assert lo < res.mi < hi and res.stderr < 0.05
    assert res.n_test == 1500 and res.config["folds"] == 3
    # the same with the roles swapped (discrete x)
    swapped = neuralmi.estimate(labels, x, discrete="x", **FAST)
    assert swapped.mi == pytest.approx(res.mi, abs=1e-9)


def test_classifier_is_repeatable_and_below_the_truth_on_average() -> None:
    task = tasks.gaussian_classes(3, dim=1, spacing=2.0)
    x, y = task.sample(800, seed=3)
    a = estimate_discrete(x, y, discrete="y", **FAST)
    b = estimate_discrete(x, y, discrete="y", **FAST)
    assert a.mi == b.mi and a.stderr == b.stderr


def test_other_neural_methods_run_on_one_hot() -> None:
    task = tasks.gaussian_classes(3, dim=2, spacing=3.0)
    x, y = task.sample(1000, seed=0)
    res = neuralmi.estimate(x, y, discrete="y", method="nwj", steps=100, seed=0)
    assert res.method == "nwj" and res.config["one_hot"] is True
    assert abs(res.mi - task.mi) < 0.25
    ksg_res = neuralmi.estimate(x, y, discrete="y", method="mixed_ksg")
    assert ksg_res.method == "mixed_ksg" and abs(ksg_res.mi - task.mi) < 0.1
    with pytest.raises(ValueError, match="continuous data"):
        neuralmi.estimate(x, y, discrete="y", method="gaussian")
    with pytest.raises(ValueError, match="both sides discrete"):
        neuralmi.estimate(x, y, discrete="y", method="plugin")


# ---------------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------------


def test_single_value_side_gives_zero_with_a_warning_both_ways() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 2))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = neuralmi.estimate(x, np.array(["same"] * 300), discrete="y")
    assert res.mi == 0.0 and res.stderr == 0.0
    assert any("single value" in m for m in res.warnings)
    assert any(issubclass(w.category, W.ConstantColumnWarning) for w in caught)
    res = neuralmi.estimate(np.zeros(300), rng.integers(0, 3, 300), discrete="xy")
    assert res.mi == 0.0


def test_too_many_categories_is_a_clear_error() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(1000)
    with pytest.raises(ValueError, match="too many categories"):
        neuralmi.estimate(x, np.arange(1000) % 400, discrete="y")
    ok = np.arange(1000) % (1000 // MIN_PER_CATEGORY)
    assert estimate_discrete(x, ok, discrete="y", method="mixed_ksg").method == "mixed_ksg"
    with pytest.raises(ValueError, match="too many categories"):
        plugin_mi(np.arange(100), np.arange(100) % 2)


# ---------------------------------------------------------------------------------------------
# detection by estimate (discrete="auto", the default)
# ---------------------------------------------------------------------------------------------


def _labels(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    c = rng.integers(0, 3, n)
    return rng.standard_normal((n, 2)) + c[:, None], c


def test_integer_labels_are_detected_and_the_result_says_so_both_ways() -> None:
    x, c = _labels()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = neuralmi.estimate(x, c, **FAST)
    assert res.method == "classifier" and res.config["discrete"] == "y"
    assert res.config["discrete_detected"] == {"y": "3 distinct integer values, 200 rows per value on average"}
    assert res.warnings[0].startswith("discrete side detected: discrete='y'") and "discrete='none'" in res.warnings[0]
    assert any(issubclass(w.category, W.DiscreteDetectedWarning) for w in caught)
    # the same number as declaring it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        declared = neuralmi.estimate(x, c, discrete="y", **FAST)
    assert declared.mi == res.mi and "discrete_detected" not in declared.config
    # both sides
    res = neuralmi.estimate(c % 2, c, method="plugin")
    assert res.method == "plugin" and set(res.config["discrete_detected"]) == {"x", "y"}


def test_text_labels_are_detected() -> None:
    x, c = _labels()
    text = np.array(["low", "mid", "high"])[c]
    res = neuralmi.estimate(x, text, method="mixed_ksg")
    assert res.method == "mixed_ksg" and res.config["discrete"] == "y"
    assert "not numbers" in res.config["discrete_detected"]["y"] and "discrete='none'" not in res.warnings[0]
    assert res.mi == neuralmi.estimate(x, text, discrete="y", method="mixed_ksg").mi
    pd = pytest.importorskip("pandas")
    res = neuralmi.estimate(pd.DataFrame(x, columns=["a", "b"]), pd.Series(text, name="grade"), method="mixed_ksg")
    assert res.config["discrete"] == "y" and res.config["columns_y"] == ["grade"]


def test_floats_with_ties_and_forced_continuous_are_not_detected() -> None:
    x, c = _labels()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = neuralmi.estimate(x, c.astype(float), steps=50, seed=0)
    assert res.method == "mine" and "discrete" not in res.config and "discrete_detected" not in res.config
    assert any(issubclass(w.category, W.DiscreteDataWarning) for w in caught)  # the advice to declare it
    assert not any(issubclass(w.category, W.DiscreteDetectedWarning) for w in caught)
    rounded = np.round(x * 2)  # floats with many ties
    assert "discrete" not in neuralmi.estimate(rounded, x[:, :1], method="ksg").config
    for none in ("none", None):
        res = neuralmi.estimate(x, c, discrete=none, steps=50, seed=0)
        assert res.method == "mine" and "discrete" not in res.config
    # an explicit continuous method or critic keeps integers continuous, as before detection
    assert neuralmi.estimate(x, c, method="ksg").method == "ksg"
    assert neuralmi.estimate(x, c, method="gaussian").method == "gaussian"
    assert "discrete" not in neuralmi.estimate(x, c, critic="separable", steps=20, seed=0).config
    with pytest.raises(ValueError, match="unknown discrete 'auto-detect'.*'auto', 'none', 'x', 'y', 'xy'"):
        neuralmi.estimate(x, c, discrete="auto-detect")


def test_conditional_with_a_detected_discrete_y() -> None:
    rng = np.random.default_rng(0)
    z = rng.standard_normal((600, 1))
    c = (z[:, 0] + rng.standard_normal(600) > 0).astype(np.int64)
    x = c[:, None] + rng.standard_normal((600, 1))
    res = neuralmi.estimate(x, c, z=z, **FAST)
    assert res.method == "classifier" and res.config["conditional"] is True and res.config["discrete"] == "y"
    assert "y" in res.config["discrete_detected"]
    # the conditional baselines and strategies keep integers continuous
    assert "discrete" not in neuralmi.estimate(x, c, z=z, method="ksg").config


def test_bad_input_with_detection() -> None:
    x, c = _labels()
    text = np.array(["low", "mid", "high"])[c]
    z = np.random.default_rng(1).standard_normal((600, 2))
    z[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        neuralmi.estimate(x, text, z=z)
    with pytest.raises(ValueError, match="same number of samples"):
        neuralmi.estimate(x[:500], text)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = neuralmi.estimate(x, np.array(["same"] * 600))
    assert res.mi == 0.0 and any("single value" in m for m in res.warnings)
    assert any(issubclass(w.category, W.ConstantColumnWarning) for w in caught)
    res = neuralmi.estimate(x, np.zeros(600, dtype=np.int64))  # one integer value: constant either way
    assert res.mi == 0.0
    with pytest.raises(ValueError, match="non-numeric values .* too many categories"):
        neuralmi.estimate(x, np.array([f"id{i}" for i in range(600)]))
    typo = np.arange(600).astype(object)
    typo[7] = "abc"
    with pytest.raises(ValueError, match="numbers and 1 non-numeric value.*'abc', row 7"):
        neuralmi.estimate(x, typo)
    with pytest.raises(ValueError, match="missing values"):
        neuralmi.estimate(x, np.array(["a", None] * 300, dtype=object))


def test_bad_input_is_refused() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 1))
    y = rng.integers(0, 2, 200)
    with pytest.raises(ValueError, match="same number of samples"):
        neuralmi.estimate(x, y[:150], discrete="y")
    with pytest.raises(ValueError, match="unknown discrete"):
        neuralmi.estimate(x, y, discrete="z")
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        neuralmi.estimate(bad, y, discrete="y")
    with pytest.raises(ValueError, match="folds"):
        neuralmi.estimate(x, y, discrete="y", folds=1)
    with pytest.raises(TypeError, match="unknown option"):
        neuralmi.estimate(x, y, discrete="y", stepz=3)


# ---------------------------------------------------------------------------------------------
# conditional, with a discrete side
# ---------------------------------------------------------------------------------------------


def test_discrete_conditional_chain_is_zero_and_positive_case() -> None:
    rng = np.random.default_rng(0)
    n = 1500
    x = rng.standard_normal((n, 1))
    z = x + 0.5 * rng.standard_normal((n, 1))
    y = (z[:, 0] + 0.5 * rng.standard_normal(n) > 0).astype(int)  # X -> Z -> Y: I(X;Y|Z) = 0
    res = neuralmi.estimate(x, y, z=z, discrete="y", **FAST)
    lo, hi = res.ci(0.95)
    assert res.method == "classifier" and lo <= 0.0 <= hi and res.mi < 0.05
    assert set(res.config["terms"]) == {"I(Y;X,Z)", "I(Y;Z)"}
    y2 = (x[:, 0] + 0.3 * rng.standard_normal(n) > 0).astype(int)  # Y depends on X beyond Z
    res2 = neuralmi.estimate(x, y2, z=z, discrete="y", **FAST)
    assert res2.mi > 0.1 and res2.ci(0.95)[0] > 0.0
    with pytest.raises(ValueError, match="classifier chain rule"):
        neuralmi.estimate(x, y, z=z, discrete="y", method="ksg")
