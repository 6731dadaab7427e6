"""Tests of the Stacked-MNIST experiment and the image code it shares: the mode counter on
hand-built histograms, the classifier pipeline on a tiny separable set, stacking, MS-SSIM, the
networks, config, and a quick run end to end on drawn digits (no data set needed)."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from neuralmi.experiments import _images, stacked


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Any:
    """One torch thread (the experiments' default): on a shared 2-core machine two threads are
    several times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

# --------------------------------------------------------------------------- the mode counter


def _all_triples() -> np.ndarray:
    i = np.arange(1000)
    return np.stack([i // 100, (i // 10) % 10, i % 10], axis=1)


def test_count_modes_all_1000_modes_equally() -> None:
    labels = np.repeat(_all_triples(), 26, axis=0)  # 26,000 samples, 26 per mode
    m = _images.count_modes(labels)
    assert m["modes"] == 1000
    assert m["kl"] == pytest.approx(0.0, abs=1e-12)
    assert m["counts"].shape == (1000,) and set(m["counts"]) == {26}


def test_count_modes_one_mode() -> None:
    labels = np.tile([3, 1, 4], (26_000, 1))
    m = _images.count_modes(labels)
    assert m["modes"] == 1
    assert m["kl"] == pytest.approx(math.log(1000))
    assert m["counts"][314] == 26_000 and m["counts"].sum() == 26_000


def test_count_modes_hand_built_histogram() -> None:
    # 3 samples on mode 007, 1 on mode 999: q = (3/4, 1/4)
    labels = np.array([[0, 0, 7]] * 3 + [[9, 9, 9]])
    m = _images.count_modes(labels)
    assert m["modes"] == 2
    expected = 0.75 * math.log(1000 * 0.75) + 0.25 * math.log(1000 * 0.25)
    assert m["kl"] == pytest.approx(expected)
    assert m["counts"][7] == 3 and m["counts"][999] == 1


def test_count_modes_every_mode_once_but_one_twice() -> None:
    labels = np.concatenate([_all_triples(), [[5, 5, 5]]])
    m = _images.count_modes(labels)
    q = np.full(1000, 1 / 1001)
    q[555] = 2 / 1001
    assert m["modes"] == 1000
    assert m["kl"] == pytest.approx(float(np.sum(q * np.log(1000 * q))))


@pytest.mark.parametrize(("labels", "match"), [(np.array([1, 2, 3]), "2-D"), (np.array([[0, 0, 10]]), "0..9"),
                                               (np.array([[0, -1, 0]]), "0..9")])
def test_count_modes_rejects_bad_labels(labels: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        _images.count_modes(labels)


def test_kl_to_uniform_of_an_empty_histogram_is_none() -> None:
    assert _images.kl_to_uniform(np.zeros(5, dtype=int)) is None


# --------------------------------------------------------------------------- digits, stacking


def test_synthetic_digits_are_seeded_and_balanced() -> None:
    a, la = _images.synthetic_digits(200, seed=1)
    b, lb = _images.synthetic_digits(200, seed=1)
    assert a.dtype == np.uint8 and a.shape == (200, 28, 28)
    assert np.array_equal(a, b) and np.array_equal(la, lb)
    assert np.array_equal(np.bincount(la), [20] * 10)
    assert not np.array_equal(a, _images.synthetic_digits(200, seed=2)[0])


def test_stack_digits_uses_three_independent_digits() -> None:
    images = np.arange(50, dtype=np.uint8)[:, None, None] * np.ones((1, 28, 28), dtype=np.uint8)
    labels = np.arange(50) % 10
    x, y = _images.stack_digits(images, labels, 400, np.random.default_rng(0))
    assert x.shape == (400, 3, 28, 28) and y.shape == (400, 3)
    which = x[:, :, 0, 0].astype(int)  # each channel is the image of its index
    assert np.array_equal(y, labels[which])
    assert np.mean(which[:, 0] == which[:, 1]) < 0.1  # channels drawn independently


def test_load_digits_rejects_unknown_source() -> None:
    with pytest.raises(ValueError, match="data must be one of"):
        _images.load_digits("cifar")


# --------------------------------------------------------------------------- the classifier


@pytest.fixture(scope="module")
def tiny_classifier() -> tuple[Any, dict[str, Any], tuple[np.ndarray, np.ndarray]]:
    train = _images.synthetic_digits(400, seed=0)
    test = _images.synthetic_digits(200, seed=1)
    model, info = _images.train_classifier(train, test, epochs=6, seed=0, device=torch.device("cpu"), batch_size=32)
    return model, info, test


def test_classifier_learns_a_tiny_separable_set(tiny_classifier: Any) -> None:
    model, info, test = tiny_classifier
    assert info["n_train"] == 400 and info["n_test"] == 200 and info["epochs"] == 6
    assert info["test_accuracy"] >= 0.95  # ten drawn glyphs: separable
    x = torch.as_tensor(test[0]).unsqueeze(1).float() / 255.0
    assert np.mean(_images.classify(model, x) == test[1]) == pytest.approx(info["test_accuracy"])


def test_classifier_is_seeded() -> None:
    train, test = _images.synthetic_digits(100, seed=0), _images.synthetic_digits(50, seed=1)
    a, _ = _images.train_classifier(train, test, epochs=1, seed=3, device=torch.device("cpu"))
    b, _ = _images.train_classifier(train, test, epochs=1, seed=3, device=torch.device("cpu"))
    state = torch.get_rng_state()
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    assert torch.equal(state, torch.get_rng_state())  # global generator untouched


def test_stacked_modes_through_the_classifier(tiny_classifier: Any) -> None:
    """Per-channel labels of real stacked digits agree with the true labels as often as the
    classifier is right, and the mode counter counts the triples."""
    model, info, test = tiny_classifier
    x, y = _images.stack_digits(*test, 2000, np.random.default_rng(0))
    pred = _images.classify_channels(model, torch.as_tensor(x).float() / 255.0)
    assert pred.shape == (2000, 3)
    assert np.mean(pred == y) >= 0.95
    m_pred, m_true = _images.count_modes(pred), _images.count_modes(y)
    assert abs(m_pred["modes"] - m_true["modes"]) <= 0.1 * m_true["modes"]
    assert m_true["modes"] > 800  # 2000 draws of 1000 equally likely modes: 1000 (1 - e^-2) = 865


# --------------------------------------------------------------------------- MS-SSIM


def test_ms_ssim_equals_pytorch_msssim_with_its_settings() -> None:
    pytorch_msssim = pytest.importorskip("pytorch_msssim")
    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 3, 176, 176, generator=g)
    y = (x + 0.3 * torch.rand(3, 3, 176, 176, generator=g)).clamp(0, 1)
    ours = _images.ms_ssim(x, y, scales=5, win_size=11, weights=_images.MSSSIM_WEIGHTS)
    theirs = pytorch_msssim.ms_ssim(x, y, data_range=1.0, size_average=False)
    assert torch.allclose(ours, theirs, atol=1e-6)


def test_ms_ssim_at_28x28() -> None:
    pytest.importorskip("pytorch_msssim")
    images, _ = _images.synthetic_digits(20, seed=0)
    x = torch.as_tensor(images).unsqueeze(1).float() / 255.0
    same = _images.ms_ssim(x, x)
    assert same.shape == (20,) and torch.allclose(same, torch.ones(20), atol=1e-6)
    other = _images.ms_ssim(x, x.roll(1, dims=0))
    assert float(other.max()) < 0.9
    with pytest.raises(ValueError, match="need images larger than"):
        _images.ms_ssim(x, x, scales=5, win_size=11)


def test_ms_ssim_missing_package_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "pytorch_msssim", None)
    with pytest.raises(ValueError, match="pip install pytorch-msssim"):
        _images.require_msssim()


def test_import_neuralmi_does_not_import_msssim() -> None:
    import subprocess
    import sys

    code = ("import sys, neuralmi, neuralmi.experiments.stacked, neuralmi.experiments.ali; "
            "print('pytorch_msssim' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- networks


@pytest.mark.parametrize("arch", ["small", "mid", "dcgan"])
def test_networks_shapes(arch: str) -> None:
    cfg = stacked.Config(arch=arch)
    g, d = stacked._networks(cfg)
    z = torch.randn(4, cfg.noise_dim + cfg.code_dim)
    with torch.no_grad():
        x = g(z)
        assert x.shape == (4, 3, 28, 28) and float(x.abs().max()) <= 1.0
        assert d(x).shape == (4, 1)


def test_small_discriminator_is_much_smaller_than_the_generator() -> None:
    """The mode-dropping setting: the discriminator is tiny next to the generator (Unrolled GAN's D = 1/4 G)."""
    g, d = stacked._networks(stacked.Config(arch="small"))
    n_g = sum(p.numel() for p in g.parameters())
    n_d = sum(p.numel() for p in d.parameters())
    assert n_d < n_g / 50


def test_generator_rejects_impossible_sizes() -> None:
    with pytest.raises(ValueError, match="cannot go from"):
        _images.Generator(8, 1, (8, 4), (4, 10), 3)


# --------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"data": "cifar"}, "data must be one of"),
        ({"arch": "resnet"}, "arch must be one of"),
        ({"betas": (0.0, -1.0)}, "betas must be finite"),
        ({"betas": (1.0, 1.0)}, "betas must not repeat"),
        ({"code_classes": (10, 1)}, "code_classes must each be at least 2"),
        ({"steps": 0}, "steps must be a positive integer"),
        ({"n_train": 1}, "n_train must be None"),
        ({"lr_g": float("nan")}, "lr_g must be a positive number"),
        ({"evals": 5, "steps": 3}, "evals"),
        ({"noise": "cauchy"}, "noise must be"),
    ],
)
def test_config_validation(changes: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        stacked.Config(**changes)


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--quiet", action="store_true")
    stacked.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_config_from_args() -> None:
    cfg = stacked.config_from_args(_args())
    assert cfg.betas == (0.0, 1.0) and cfg.arch == "small" and cfg.data == "mnist-5k" and cfg.n_eval == 26_000
    paper = stacked.config_from_args(_args("--paper", "--beta", "2"))
    assert paper.arch == "dcgan" and paper.steps == 100_000 and paper.n_train == 128_000 and paper.g_steps == 2
    assert paper.betas == (0.0, 2.0) and paper.batch_size == 64 and paper.noise == "uniform"
    quick = stacked.config_from_args(_args("--quick", "--data", "synthetic", "--seeds", "2", "--no-clip"))
    assert quick.data == "synthetic" and quick.seeds == 2 and not quick.clip and quick.steps == stacked.quick_config().steps
    with pytest.raises(ValueError, match="exclude"):
        stacked.config_from_args(_args("--quick", "--paper"))
    mid = stacked.config_from_args(_args("--arch", "mid", "--noise-dim", "64", "--critic-lr", "1e-3", "--base-seed", "2",
                                         "--seeds", "1"))
    assert (mid.arch, mid.noise_dim, mid.critic_lr, mid.base_seed, mid.seeds) == ("mid", 64, 1e-3, 2, 1)
    assert cfg.jobs == 1 and stacked.config_from_args(_args("--jobs", "2")).jobs == 2


# --------------------------------------------------------------------------- a quick run, end to end


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    """One quick run through the command line on drawn digits (beta 0 and 1)."""
    from neuralmi.cli import main

    out = tmp_path_factory.mktemp("stacked")
    assert main(["experiment", "stacked", "--quick", "--quiet", "--data", "synthetic", "--beta", "1",
                 "--out", str(out)]) == 0
    return json.loads((out / "results.json").read_text()), out


def test_quick_run_structure(quick_results: tuple[dict, Path]) -> None:
    r, out = quick_results
    cfg = stacked.quick_config(data="synthetic", betas=(0.0, 1.0))
    assert r["experiment"] == "stacked" and r["steps"] == cfg.steps
    assert (out / "figure.png").stat().st_size > 10_000
    assert [row["beta"] for row in r["summary"]] == [0.0, 1.0]
    assert [(run["beta"], run["seed"]) for run in r["runs"]] == [(0.0, 0), (1.0, 0)]
    for run in r["runs"]:
        counts = np.asarray(run["final"]["counts"])
        assert counts.shape == (1000,) and counts.sum() == cfg.n_eval
        assert run["final"]["modes"] == int(np.sum(counts >= 1))
        assert run["final"]["kl"] == pytest.approx(_images.kl_to_uniform(counts))
        assert run["curve"]["step"] == [cfg.steps // 2, cfg.steps]
        assert run["curve"]["modes"][-1] == run["final"]["modes"]
        assert _images.decode_uint8(run["samples"]).shape == (cfg.n_plot, 3, 28, 28)
    plain, mine = r["runs"]
    assert all(v is None for v in plain["curve"]["mi_train"])
    assert all(v is not None and math.isfinite(v) for v in mine["curve"]["mi_train"])
    assert all(0.0 <= s <= 1.0 for s in mine["curve"]["clip_scale"])
    # same seed, same start: the first generator loss is the same, then the MI term changes training
    assert plain["curve"]["g_loss"] != mine["curve"]["g_loss"]
    # the real-data floor: held-out digits through the classifier, and by their true labels
    assert 0 < r["reference"]["modes"] <= 1000 and r["reference_true_labels"]["modes"] <= 1000
    assert 0.0 <= r["classifier"]["test_accuracy"] <= 1.0 and "stacked_accuracy" in r["classifier"]
    text = stacked.summarize(r)
    assert "real (floor)" in text and "GAN+MINE" in text and "paper:" in text


def test_quick_run_is_deterministic(quick_results: tuple[dict, Path]) -> None:
    r, _ = quick_results
    again = stacked.run(stacked.quick_config(data="synthetic", betas=(1.0,)))
    assert again["runs"][0]["final"] == r["runs"][1]["final"]
    assert again["runs"][0]["samples"] == r["runs"][1]["samples"]
    assert again["reference"] == r["reference"]


def test_jobs_give_the_same_numbers(quick_results: tuple[dict, Path]) -> None:
    r, _ = quick_results
    pooled = stacked.run(stacked.quick_config(data="synthetic", betas=(0.0, 1.0), jobs=2))
    assert [(run["beta"], run["seed"]) for run in pooled["runs"]] == [(run["beta"], run["seed"]) for run in r["runs"]]
    for a, b in zip(pooled["runs"], r["runs"]):
        assert a["final"] == b["final"] and a["samples"] == b["samples"]


def test_cli_missing_data_set_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from neuralmi.cli import main

    code = main(["experiment", "stacked", "--quick", "--quiet", "--data", "mnist", "--out", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("neuralmi: error:") and "--data-dir" in err and "\n" not in err
