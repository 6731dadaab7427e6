"""Input validation: neuralmi._validation, and the checks of the estimators' entry points.

Only input handling here (the estimators' accuracy is tested elsewhere); training runs use a few
dozen steps.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import neuralmi
from neuralmi._validation import as_samples, check_choice, check_pair, check_positive_int, column_names
from neuralmi.estimators import EstimatorConfig

torch.set_num_threads(1)

FAST = {"steps": 30, "eval_every": 10, "hidden": (8,), "eval_shifts": 4, "progress": False}


# ------------------------------------------------------------------ _validation


@settings(max_examples=100, deadline=None)
@given(
    arrays(np.float64, st.tuples(st.integers(1, 20), st.integers(1, 4)), elements=st.floats(-1e9, 1e9)),
    st.data(),
)
def test_any_nan_or_inf_raises(a: np.ndarray, data: st.DataObject) -> None:
    i = data.draw(st.integers(0, a.shape[0] - 1))
    j = data.draw(st.integers(0, a.shape[1] - 1))
    bad = data.draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    a = a.copy()
    a[i, j] = bad
    for arg in (a, a.tolist(), torch.as_tensor(a), a.astype(np.float32)):
        with pytest.raises(ValueError, match="NaN"):
            as_samples(arg, "x")
    with pytest.raises(ValueError, match=f"row {i}, column {j}"):
        as_samples(a)


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(1, 5)), elements=st.floats(-10, 10)))
def test_three_d_raises(a: np.ndarray) -> None:
    with pytest.raises(ValueError, match="1-D .* or 2-D"):
        as_samples(a, "x")
    with pytest.raises(ValueError, match="2-D"):
        as_samples(torch.as_tensor(a), "x")


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, st.integers(1, 30), elements=st.floats(-1e6, 1e6)))
def test_one_d_becomes_column(a: np.ndarray) -> None:
    out = as_samples(a)
    assert out.shape == (a.shape[0], 1) and out.dtype == np.float64
    np.testing.assert_array_equal(out[:, 0], a)
    out_t = as_samples(torch.as_tensor(a, dtype=torch.float32))
    assert out_t.shape == (a.shape[0], 1)


@settings(max_examples=20, deadline=None)
@given(st.text(max_size=20))
def test_strings_raise_type_error(s: str) -> None:
    with pytest.raises(TypeError, match="string"):
        as_samples(s, "x")
    with pytest.raises(TypeError):
        as_samples(s.encode(), "x")


@pytest.mark.parametrize(
    "bad",
    [
        np.array(["a", "b"]),
        [["1", "x"]],
        np.array([1 + 2j, 3j]),
        [object(), object()],
        [[1, 2], [3]],  # ragged
        np.array([np.datetime64("2020-01-01")]),
    ],
)
def test_non_numeric_raise_type_error(bad: object) -> None:
    with pytest.raises(TypeError, match="x"):
        as_samples(bad, "x")


@pytest.mark.parametrize(
    "bad, match",
    [(5.0, "scalar"), (np.zeros((0, 2)), "no samples"), (np.zeros((3, 0)), "no features"), ([], "no samples")],
)
def test_empty_or_scalar_raise(bad: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        as_samples(bad)


@pytest.mark.parametrize(
    "tensor",
    [
        torch.arange(6.0).reshape(3, 2),
        torch.arange(6.0, requires_grad=True).reshape(3, 2),
        torch.arange(6, dtype=torch.int64).reshape(3, 2),
        torch.arange(6.0).reshape(3, 2).to(torch.bfloat16),
        torch.arange(6.0).reshape(3, 2).half(),
        torch.arange(6.0).reshape(2, 3).T,  # non-contiguous
    ],
)
def test_torch_tensors_accepted(tensor: torch.Tensor) -> None:
    out = as_samples(tensor)
    assert out.dtype == np.float64 and out.shape == tuple(tensor.shape)
    np.testing.assert_array_equal(out, tensor.detach().double().numpy())


def test_bool_and_int_arrays_become_float() -> None:
    assert as_samples(np.array([True, False])).tolist() == [[1.0], [0.0]]
    assert as_samples([[1, 2], [3, 4]]).dtype == np.float64


def test_check_pair() -> None:
    x, y = check_pair([1.0, 2.0, 3.0], np.ones((3, 2)))
    assert x.shape == (3, 1) and y.shape == (3, 2)
    with pytest.raises(ValueError, match="same number of samples"):
        check_pair(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="at least 5 samples"):
        check_pair(np.ones(3), np.ones(3), min_samples=5)
    with pytest.raises(ValueError, match="y contains"):
        check_pair(np.ones(3), [1.0, np.nan, 2.0])


def test_check_choice_and_positive_int() -> None:
    assert check_choice("a", "thing", ("a", "b")) == "a"
    with pytest.raises(ValueError, match="unknown thing 'c'; choose one of: a, b"):
        check_choice("c", "thing", ("a", "b"))
    with pytest.raises(ValueError, match="unknown thing"):
        check_choice(None, "thing", ("a", "b"))
    assert check_positive_int(np.int64(3), "k") == 3
    with pytest.raises(TypeError, match="k must be an integer"):
        check_positive_int(2.0, "k")
    with pytest.raises(TypeError, match="k must be an integer"):
        check_positive_int(True, "k")
    with pytest.raises(ValueError, match="k must be >= 2"):
        check_positive_int(1, "k", minimum=2)


# ------------------------------------------------------------------ pandas inputs


@pytest.fixture()
def frame():  # noqa: ANN201 - pandas is optional for the package, so no annotation
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(3)
    a = rng.standard_normal(50)
    return pd.DataFrame(
        {"a": a, "b": rng.integers(0, 5, 50), "c": a + rng.standard_normal(50), "flag": a > 0,
         "name": [f"s{i}" for i in range(50)]},
        index=np.arange(100, 150),
    )


def test_check_pair_accepts_dataframe_and_series(frame) -> None:  # noqa: ANN001
    x, y = check_pair(frame[["a", "b"]], frame["c"])
    assert x.dtype == np.float64 and x.shape == (50, 2) and y.shape == (50, 1)
    np.testing.assert_array_equal(x, frame[["a", "b"]].to_numpy(dtype=float))
    np.testing.assert_array_equal(y[:, 0], frame["c"].to_numpy())
    x, _ = check_pair(frame[["flag"]], frame["c"])  # bool columns are numbers
    np.testing.assert_array_equal(x[:, 0], frame["flag"].to_numpy(dtype=float))
    # mixed with arrays: rows are paired by position
    x, y = check_pair(frame["a"], frame["c"].to_numpy())
    np.testing.assert_array_equal(y[:, 0], frame["c"].to_numpy())


def test_non_numeric_column_is_typeerror_naming_it(frame) -> None:  # noqa: ANN001
    with pytest.raises(TypeError, match=r"x: column 'name' is not numeric"):
        check_pair(frame[["a", "name"]], frame["c"])
    with pytest.raises(TypeError, match=r"y: column 'name' is not numeric"):
        check_pair(frame["a"], frame["name"])
    with pytest.raises(TypeError, match=r"column 'a' is not numeric \(dtype category"):
        as_samples(frame[["a"]].astype("category"))


def test_dataframe_missing_values_name_the_column(frame) -> None:  # noqa: ANN001
    pd = pytest.importorskip("pandas")
    df = frame[["a", "c"]].copy()
    df.iloc[4, 1] = np.nan
    with pytest.raises(ValueError, match=r"x contains 1 NaN .*row 4, column 1 \('c'\)"):
        as_samples(df, "x")
    nullable = pd.Series([1, None, 3], dtype="Int64", name="k")
    with pytest.raises(ValueError, match=r"row 1, column 0 \('k'\)"):
        as_samples(nullable, "y")


def test_pandas_indexes_must_agree(frame) -> None:  # noqa: ANN001
    shuffled = frame["c"].sample(frac=1.0, random_state=0)
    with pytest.raises(ValueError, match="different indexes.*by position"):
        check_pair(frame[["a"]], shuffled)
    check_pair(frame[["a"]], shuffled.loc[frame.index])  # aligned: fine
    check_pair(frame[["a"]], shuffled.to_numpy())  # an array: paired by position


def test_column_names(frame) -> None:  # noqa: ANN001
    pd = pytest.importorskip("pandas")
    assert column_names(frame[["a", "b"]], "x") == ["a", "b"]
    assert column_names(frame["c"], "y") == ["c"]
    assert column_names(pd.DataFrame(np.zeros((2, 2))), "x") == ["0", "1"]  # labels as str
    assert column_names(pd.Series([1.0, 2.0]), "y") is None  # an unnamed Series
    assert column_names(frame["a"].to_numpy(), "x") is None
    assert column_names(torch.zeros(3, 2), "x") is None
    assert column_names([[1.0, 2.0]], "x") is None


def test_estimate_accepts_pandas(frame) -> None:  # noqa: ANN001
    res = neuralmi.estimate(frame[["a", "b"]], frame["c"], method="gaussian")
    ref = neuralmi.estimate(frame[["a", "b"]].to_numpy(dtype=float), frame["c"].to_numpy(), method="gaussian")
    assert math.isfinite(res.mi) and res.mi == ref.mi
    # a text column makes x a discrete side (detected): 50 distinct values in 50 rows are too many
    # categories, and a continuous method could not read labels anyway
    with pytest.raises(ValueError, match="non-numeric values.*too many categories"):
        neuralmi.estimate(frame[["a", "name"]], frame["c"], method="gaussian")
    with pytest.raises(TypeError, match="column 'name'"):  # declared continuous: the column is named
        neuralmi.estimate(frame[["a", "name"]], frame["c"], method="gaussian", discrete="none")


# ------------------------------------------------------------------ estimators: input checks


@pytest.fixture(scope="module")
def xy() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 2))
    return x, x + rng.standard_normal((200, 2))


@pytest.mark.parametrize("method", ["mine", "ksg", "gaussian"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_estimate_rejects_nan_inf(xy: tuple[np.ndarray, np.ndarray], method: str, bad: float) -> None:
    x, y = xy
    x = x.copy()
    x[7, 1] = bad
    with pytest.raises(ValueError, match=r"x contains .*NaN or infinite.* row 7, column 1"):
        neuralmi.estimate(x, y, method=method)
    with pytest.raises(ValueError, match="y contains"):
        neuralmi.estimate(y, x, method=method)


@pytest.mark.parametrize("method", ["mine", "nwj", "ksg", "gaussian"])
def test_estimate_rejects_mismatched_lengths(xy: tuple[np.ndarray, np.ndarray], method: str) -> None:
    x, y = xy
    with pytest.raises(ValueError, match="same number of samples.*199 and 200"):
        neuralmi.estimate(x[:199], y, method=method)


def test_estimate_too_few_samples(xy: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = xy
    with pytest.raises(ValueError, match="at least 40 samples; got 39"):
        neuralmi.estimate(x[:39], y[:39], **FAST)
    with pytest.raises(ValueError, match="at least"):
        neuralmi.MINE(**FAST).fit(x[:3], y[:3])
    res = neuralmi.estimate(x[:40], y[:40], folds=None, **FAST)  # the minimum works, in one split
    assert math.isfinite(res.mi) and res.n_train + res.n_test == 40
    res = neuralmi.estimate(x[:40], y[:40], **FAST)  # ... and cross-fitted (folds="auto": 5 folds of 8)
    assert math.isfinite(res.mi) and res.n_test == 40 and res.config["folds"] == 5


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"method": "mien"}, ValueError, "unknown method 'mien'"),
        ({"method": "MINE"}, ValueError, "unknown method"),
        ({"method": 3}, TypeError, "method must be a string"),
        ({"critic": "mlp"}, ValueError, "unknown critic 'mlp'"),
        ({"critic": 3}, TypeError, "critic must be"),
        ({"transform": "log"}, ValueError, "unknown transform 'log'"),
        ({"marginal": "all"}, ValueError, "unknown marginal"),
        ({"step": 10}, TypeError, "unknown option.*step"),
        ({"learning_rate": 0.1, "steps": 10}, TypeError, "unknown option.*learning_rate"),
        ({"hidden": (8, 0)}, ValueError, "hidden"),
        ({"hidden": ("a",)}, TypeError, "hidden"),
        ({"test_size": 1.0}, ValueError, "test_size"),
        ({"test_size": 0.0}, ValueError, "test_size"),
        ({"batch_size": 1}, ValueError, "batch_size"),
        ({"batch_size": 64.0}, ValueError, "batch_size"),
        ({"lr": -1.0}, ValueError, "lr"),
        ({"lr": float("nan")}, ValueError, "lr"),
        ({"steps": 0}, ValueError, "steps"),
        ({"epochs": 0}, ValueError, "epochs"),
        ({"eval_every": 0}, ValueError, "eval_every"),
        ({"patience": 0}, ValueError, "patience"),
        ({"ema_rate": 0.0}, ValueError, "ema_rate"),
        ({"ema_rate": 2.0}, ValueError, "ema_rate"),
        ({"eval_shifts": 0}, ValueError, "eval_shifts"),
        ({"weight_decay": -1.0}, ValueError, "weight_decay"),
        ({"embed_dim": 0}, ValueError, "embed_dim"),
        ({"seed": 1.5}, TypeError, "seed"),
        ({"device": "tpu"}, ValueError, "device"),
        ({"method": "ksg", "steps": 10}, TypeError, "ksg"),
    ],
)
def test_estimate_bad_options(xy: tuple[np.ndarray, np.ndarray], kwargs: dict, exc: type, match: str) -> None:
    x, y = xy
    with pytest.raises(exc, match=match):
        neuralmi.estimate(x, y, **kwargs)


@pytest.mark.parametrize("cls", [neuralmi.MINE, neuralmi.NWJ, neuralmi.InfoNCE])
def test_estimator_classes_validate_on_construction(cls: type) -> None:
    with pytest.raises(TypeError, match="unknown option"):
        cls(stpes=10)
    with pytest.raises(ValueError, match="lr"):
        cls(lr=0)


def test_unknown_activation_raises(xy: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = xy
    with pytest.raises(ValueError, match="unknown activation 'nope'"):
        neuralmi.estimate(x, y, activation="nope", **{k: v for k, v in FAST.items()})


def test_config_rejects_unknown_activation_on_construction() -> None:
    with pytest.raises(ValueError, match="activation"):
        EstimatorConfig(activation="nope")


def test_config_rejects_hidden_string() -> None:
    with pytest.raises(TypeError, match="hidden"):
        EstimatorConfig(hidden="64")  # type: ignore[arg-type]


@pytest.mark.parametrize("kwargs", [{"smile_tau": 0.0}, {"remine_weight": -1.0}])
def test_config_rejects_bad_smile_tau_and_remine_weight(kwargs: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        EstimatorConfig(**kwargs)


def test_negative_seed_error_names_seed(xy: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = xy
    with pytest.raises(ValueError, match="seed"):
        neuralmi.estimate(x, y, seed=-1, **FAST)


def test_batch_size_larger_than_training_split(xy: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = xy  # 200 samples, test_size 0.3 -> 140 for training
    with pytest.raises(ValueError, match="batch_size 141 is larger than the 140 training samples"):
        neuralmi.estimate(x, y, batch_size=141, test_size=0.3, folds=None, **FAST)
    assert math.isfinite(neuralmi.estimate(x, y, batch_size=140, test_size=0.3, folds=None, **FAST).mi)
    # cross-fitted (the default at 200 rows: 5 folds), each critic trains on 160 rows
    with pytest.raises(ValueError, match=r"batch_size 161 is larger than the 160 training samples \(a critic's share with 5 folds\)"):
        neuralmi.estimate(x, y, batch_size=161, **FAST)


def test_estimate_before_fit_raises(xy: tuple[np.ndarray, np.ndarray]) -> None:
    with pytest.raises(ValueError, match="not fitted"):
        neuralmi.MINE().estimate(*xy)


def test_estimate_new_data_with_wrong_columns(xy: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = xy
    est = neuralmi.MINE(**FAST).fit(x, y)
    with pytest.raises(ValueError, match="columns"):
        est.estimate(x[:, :1], y)
    with pytest.raises(ValueError, match="NaN"):
        est.estimate(np.full_like(x, np.nan), y)
    res = est.estimate(x[:50], y[:50])
    assert res.n_test == 50 and math.isfinite(res.mi)


# ------------------------------------------------------------------ constant columns


def test_constant_column_is_dropped_with_warning(xy: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = xy
    xc = np.column_stack([x, np.full(len(x), 4.0)])
    with pytest.warns(neuralmi.exceptions.ConstantColumnWarning, match=r"x column\(s\) \[2\] are constant"):
        res = neuralmi.estimate(xc, y, **FAST)
    assert math.isfinite(res.mi) and res.stderr is not None and math.isfinite(res.stderr)
    assert any("x column(s) [2] are constant" in w for w in res.warnings)
    # the constant column changes nothing: same estimate as without it
    ref = neuralmi.estimate(x, y, **FAST)
    assert res.mi == ref.mi


@pytest.mark.parametrize("which", ["x", "y"])
@pytest.mark.parametrize("method", ["mine", "nwj"])
def test_all_constant_gives_zero_with_warning(xy: tuple[np.ndarray, np.ndarray], which: str, method: str) -> None:
    x, y = xy
    const = np.full((len(x), 2), -1.5)
    args = (const, y) if which == "x" else (x, const)
    res = neuralmi.estimate(*args, method=method, **FAST)
    assert res.mi == 0.0
    assert any(f"every column of {which} is constant" in w for w in res.warnings)


# ------------------------------------------------------------------ determinism and tensors


@pytest.mark.parametrize("method", ["mine", "infonce", "minee"])
def test_same_seed_bit_identical(xy: tuple[np.ndarray, np.ndarray], method: str) -> None:
    x, y = xy
    a = neuralmi.estimate(x, y, method=method, seed=0, steps=50, eval_every=10, hidden=(8,), progress=False)
    b = neuralmi.estimate(x, y, method=method, seed=0, steps=50, eval_every=10, hidden=(8,), progress=False)
    assert a.mi == b.mi and a.stderr == b.stderr
    np.testing.assert_array_equal(np.array(a.history["heldout"]), np.array(b.history["heldout"]))
    c = neuralmi.estimate(x, y, method=method, seed=1, steps=50, eval_every=10, hidden=(8,), progress=False)
    assert c.mi != a.mi


def test_torch_tensor_input_gives_same_result_as_numpy(xy: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = xy
    a = neuralmi.estimate(x, y, **FAST)
    b = neuralmi.estimate(torch.as_tensor(x), torch.as_tensor(y), **FAST)
    assert a.mi == b.mi
    c = neuralmi.estimate(torch.as_tensor(x[:, 0]), torch.as_tensor(y[:, :1], dtype=torch.float32), **FAST)
    assert math.isfinite(c.mi) and c.config["method"] == "mine"


def test_estimate_leaves_global_torch_rng_alone(xy: tuple[np.ndarray, np.ndarray]) -> None:
    torch.manual_seed(123)
    expected = torch.randn(3)
    torch.manual_seed(123)
    neuralmi.estimate(*xy, **FAST)
    assert torch.equal(torch.randn(3), expected)
