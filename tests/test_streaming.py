"""Data larger than memory: the one-pass sampling of neuralmi.streaming and its use by fit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import neuralmi
from neuralmi import streaming
from neuralmi.estimators import MINE


def _pair(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    return neuralmi.tasks.CorrelatedGaussian(dim=2, rho=0.8).sample(n, seed=seed)


def _batches(x: np.ndarray, y: np.ndarray, size: int) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(x[i : i + size], y[i : i + size]) for i in range(0, x.shape[0], size)]


def test_collect_splits_every_row_and_respects_the_caps():
    x, y = _pair(20_000)
    s = streaming.collect(x, y, test_size=0.3, seed=0, train_rows=5_000, heldout_rows=2_000)
    assert s.rows == 20_000
    assert s.train_rows + s.heldout_rows == 20_000
    assert abs(s.heldout_rows / 20_000 - 0.3) < 0.02  # a seeded coin per row
    assert (s.n_train, s.n_a + s.n_b) == (5_000, 2_000)
    tr, fa, fb = s.split()
    assert len(tr) + len(fa) + len(fb) == s.x.shape[0] == s.y.shape[0]
    # every kept row is a row of the data, paired as it was
    rows = {tuple(r) for r in np.hstack([x, y]).round(12)}
    assert all(tuple(r) in rows for r in np.hstack([s.x, s.y]).round(12)[:200])
    # the training sample and the folds share no row
    kept = [{tuple(r) for r in s.x[idx]} for idx in (tr, fa, fb)]
    assert not (kept[0] & kept[1]) and not (kept[0] & kept[2]) and not (kept[1] & kept[2])


def test_collect_keeps_a_uniform_sample_of_a_sorted_stream():
    """Rows sorted by x (the worst order for a sample taken from the front) still give a
    uniform sample: the kept rows' mean and spread match the data's."""
    x, y = _pair(50_000, seed=1)
    order = np.argsort(x[:, 0])
    x, y = x[order], y[order]
    s = streaming.collect(x, y, test_size=0.3, seed=0, train_rows=3_000, heldout_rows=3_000)
    for part in s.split():
        assert abs(s.x[part, 0].mean() - x[:, 0].mean()) < 0.1
        assert abs(s.x[part, 0].std() - x[:, 0].std()) < 0.1
        # and in random order (checkpoint selection reads the first rows of each fold)
        assert abs(np.corrcoef(np.arange(len(part)), s.x[part, 0])[0, 1]) < 0.1


def test_collect_is_repeatable_and_independent_of_array_vs_batches():
    x, y = _pair(6_000)
    a = streaming.collect(_batches(x, y, streaming.CHUNK_ROWS), None, 0.3, seed=3)
    b = streaming.collect(x, y, 0.3, seed=3)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)
    c = streaming.collect(x, y, 0.3, seed=4)
    assert not np.array_equal(b.x, c.x)


def test_estimate_from_a_dataloader_matches_the_truth_and_reports_what_it_read():
    task = neuralmi.tasks.CorrelatedGaussian(dim=2, rho=0.8)
    x, y = task.sample(8_000, seed=0)
    ds = torch.utils.data.TensorDataset(torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32))
    loader = torch.utils.data.DataLoader(ds, batch_size=500)
    res = neuralmi.estimate(loader, seed=0, steps=300, progress=False)
    assert abs(res.mi - task.mi) < 4 * res.stderr + 0.05
    lo, hi = res.ci(0.95)
    assert lo < task.mi < hi + 0.05
    streamed = res.config["streamed"]
    assert streamed["rows"] == 8_000
    assert streamed["train_sample"] == res.n_train and streamed["heldout_sample"] == res.n_test
    # a generator (one pass only) works too
    res2 = neuralmi.estimate(((xb, yb) for xb, yb in _batches(x, y, 700)), seed=0, steps=300, progress=False)
    assert abs(res2.mi - task.mi) < 0.15


def test_memory_mapped_input_above_the_threshold_is_streamed(tmp_path, monkeypatch):
    x, y = _pair(3_000)
    path = tmp_path / "xy.npy"
    np.save(path, np.hstack([x, y]).astype(np.float32))
    a = np.load(path, mmap_mode="r")
    assert streaming._mapping(a[:, :2]) is not None  # column views reach the file's mapping
    assert not streaming.is_stream(a[:, :2], a[:, 2:])
    monkeypatch.setattr(streaming, "STREAM_MIN_ROWS", 1_000)
    assert streaming.is_stream(a[:, :2], a[:, 2:])
    est = MINE(seed=0, steps=100, progress=False).fit(a[:, :2], a[:, 2:])
    assert est.result_.config["streamed"]["rows"] == 3_000
    assert est.n_features_in_x_ == 2 and est.n_features_in_y_ == 2
    assert est.mi_ > 0.5  # truth 1.02


@pytest.mark.parametrize(
    "batches, kind, match",
    [
        ([(np.ones((5, 2)), np.ones((5, 1)))] * 2 + [(np.full((5, 2), np.nan), np.ones((5, 1)))], ValueError, "batch 2"),
        ([(np.random.rand(5, 2), np.random.rand(5, 1)), (np.random.rand(5, 3), np.random.rand(5, 1))], ValueError, "batch 1 has 3 x"),
        ([(np.random.rand(5, 2), np.random.rand(4, 1))], ValueError, "batch 0: x has 5 rows and y 4"),
        ([np.random.rand(5, 3)], TypeError, "not an \\(x, y\\) pair"),
        ([], ValueError, "no rows"),
        ([(np.array([["a", "b"]] * 5), np.random.rand(5, 1))], TypeError, "batch 0"),
    ],
)
def test_bad_streams_get_clear_errors(batches, kind, match):
    with pytest.raises(kind, match=match):
        streaming.collect(batches, None, 0.3, seed=0)


def test_missing_y_is_a_clear_type_error():
    x, _ = _pair(200)
    with pytest.raises(TypeError, match="y is missing"):
        neuralmi.estimate(x)
    with pytest.raises(TypeError, match="y is missing: method 'ksg'"):
        neuralmi.estimate(_batches(*_pair(200), 50), method="ksg")
    with pytest.raises(ValueError, match="too few"):
        streaming.collect(_batches(*_pair(6), 3), None, 0.3, seed=0)
