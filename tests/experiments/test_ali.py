"""Tests of the ALI + MINE experiment: the reconstruction metrics on exact cases, the stand-in
references, networks, config, and a quick run of all three models end to end on drawn digits."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from neuralmi.experiments import _images, ali

pytest.importorskip("pytorch_msssim")


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Any:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def digits_and_classifier() -> tuple[torch.Tensor, np.ndarray, Any]:
    train = _images.synthetic_digits(400, seed=0)
    images, labels = _images.synthetic_digits(100, seed=1)
    model, _ = _images.train_classifier(train, (images, labels), epochs=6, seed=0, device=torch.device("cpu"), batch_size=32)
    x = torch.as_tensor(images).unsqueeze(1).float() / 255.0
    return x, labels, model


# --------------------------------------------------------------------------- metrics, exact cases


def test_perfect_reconstruction(digits_and_classifier: Any) -> None:
    x, labels, model = digits_and_classifier
    m = ali.reconstruction_metrics(x, x.clone(), labels, model)
    assert m["recon_mse"] == 0.0 and m["recon_l2"] == 0.0
    assert m["ms_ssim"] == pytest.approx(1.0, abs=1e-6)
    assert m["recon_acc"] == pytest.approx(np.mean(_images.classify(model, x) == labels))


def test_reconstruction_error_by_hand(digits_and_classifier: Any) -> None:
    x, labels, model = digits_and_classifier
    x_hat = x.clone()
    x_hat[:, :, :, :14] = 0.0  # the left half blanked
    m = ali.reconstruction_metrics(x, x_hat, labels, model)
    sq = (x[:, :, :, :14].double() ** 2).flatten(1).sum(dim=1)
    assert m["recon_mse"] == pytest.approx(float((sq / 784).mean()))
    assert m["recon_l2"] == pytest.approx(float(sq.sqrt().mean()))
    assert 0.0 < m["ms_ssim"] < 1.0


def test_references(digits_and_classifier: Any) -> None:
    x, labels, model = digits_and_classifier
    ref = ali._reference(x, labels, model)
    assert ref["itself"]["recon_mse"] == 0.0
    same, rand = ref["same_class_other_image"], ref["random_other_image"]
    assert same["recon_mse"] > 0.0 and rand["recon_mse"] > 0.0
    assert same["ms_ssim"] > rand["ms_ssim"]  # another drawing of the same digit looks more alike
    assert same["recon_acc"] > 0.9 and rand["recon_acc"] < 0.3


def test_derangement_never_picks_itself() -> None:
    rng = np.random.default_rng(0)
    for n in (2, 3, 10, 101):
        idx = np.arange(n) * 7
        out = ali._derangement(idx, rng)
        assert sorted(out) == sorted(idx) and np.all(out != idx)
    assert list(ali._derangement(np.array([4]), rng)) == [4]


def test_spread_covers_a_sorted_split() -> None:
    labels = np.repeat(np.arange(10), 100)  # sorted by class, as mnist-5k's held-out split is
    idx = ali._spread(len(labels), 16)
    assert len(idx) == 16 and idx[0] == 0 and idx[-1] == 999 and set(labels[idx]) == set(range(10))
    assert list(ali._spread(5, 10)) == [0, 1, 2, 3, 4]


# --------------------------------------------------------------------------- networks and config


def test_network_shapes() -> None:
    for cfg in (ali.Config(), ali.Config(arch="conv"), ali.paper_config(), ali.quick_config()):
        enc, gen, disc = ali._networks(cfg)
        x = torch.rand(4, 1, 28, 28) * 2 - 1
        with torch.no_grad():
            z, mu = ali._encode(enc, x, torch.randn(4, cfg.z_dim))
            assert z.shape == mu.shape == (4, cfg.z_dim) and not torch.equal(z, mu)
            assert gen(z).shape == (4, 1, 28, 28)
            assert disc(x, z).shape == (4, 1)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"models": ("ali", "vae")}, "models must be among"),
        ({"models": ()}, "models must not be empty"),
        ({"models": ("ali", "ali")}, "models must not repeat"),
        ({"beta": 0.0}, "beta must be a positive number"),
        ({"kernel": 4}, "kernel must be odd"),
        ({"epochs": 0}, "epochs must be a positive integer"),
        ({"gen_widths": (8, 8)}, "three entries"),
        ({"dropout": 1.0}, "dropout"),
        ({"data": "svhn"}, "data must be one of"),
        ({"arch": "resnet"}, "arch must be one of"),
        ({"mlp_hidden": 0}, "mlp_hidden must be a positive integer"),
        ({"jobs": 0}, "jobs must be a positive integer"),
    ],
)
def test_config_validation(changes: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ali.Config(**changes)


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--quiet", action="store_true")
    ali.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_config_from_args() -> None:
    cfg = ali.config_from_args(_args())
    assert cfg.models == ("ali", "ali+mine", "alice-l2") and cfg.beta == 1.0 and cfg.epochs == 60
    assert cfg.arch == "mlp" and cfg.jobs == 1 and ali.config_from_args(_args("--arch", "conv")).arch == "conv"
    assert ali.config_from_args(_args("--jobs", "2")).jobs == 2
    assert ali.config_from_args(_args("--critic-lr", "1e-3")).critic_lr == 1e-3
    cfg = ali.config_from_args(_args("--models", "ali", "ali+mine", "--beta", "0.5", "--no-clip", "--seeds", "2"))
    assert cfg.models == ("ali", "ali+mine") and cfg.beta == 0.5 and not cfg.clip and cfg.seeds == 2
    paper = ali.config_from_args(_args("--paper"))
    assert paper.epochs == 100 and paper.arch == "conv"
    with pytest.raises(ValueError, match="exclude"):
        ali.config_from_args(_args("--quick", "--paper"))


# --------------------------------------------------------------------------- a quick run, end to end


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    from neuralmi.cli import main

    out = tmp_path_factory.mktemp("ali")
    assert main(["experiment", "ali", "--quick", "--quiet", "--data", "synthetic", "--out", str(out)]) == 0
    return json.loads((out / "results.json").read_text()), out


def test_quick_run_structure(quick_results: tuple[dict, Path]) -> None:
    r, out = quick_results
    cfg = ali.quick_config(data="synthetic")
    assert r["experiment"] == "ali" and (out / "figure.png").stat().st_size > 10_000
    assert [row["model"] for row in r["summary"]] == list(ali.MODELS)
    assert [(run["model"], run["seed"]) for run in r["runs"]] == [(m, 0) for m in ali.MODELS]
    steps = (cfg.n_data // cfg.batch_size) * cfg.epochs
    for run in r["runs"]:
        assert run["steps"] == steps and run["curve"]["epoch"] == [1, 2]
        for key, _ in ali.METRICS:
            assert run["curve"][key][-1] == run["final"][key]
            assert math.isfinite(run["final"][key])
        assert 0.0 <= run["final"]["recon_acc"] <= 1.0
        assert _images.decode_uint8(run["reconstructions"]).shape == (cfg.n_plot, 1, 28, 28)
    plain, mine, alice = r["runs"]
    assert all(v is None for v in plain["curve"]["mi_train"]) and all(v is None for v in alice["curve"]["mi_train"])
    assert all(v is not None and math.isfinite(v) for v in mine["curve"]["mi_train"])
    assert all(0.0 <= s <= 1.0 for s in mine["curve"]["clip_scale"])
    # same seed, same start: each model's own term changes training
    assert len({json.dumps(run["curve"]["eg_loss"]) for run in r["runs"]}) == 3
    assert r["reference"]["itself"]["ms_ssim"] == pytest.approx(1.0, abs=1e-6)
    text = ali.summarize(r)
    assert "ALICE(l2)" in text and "same class other image" in text and "paper" in text


def test_quick_run_is_deterministic(quick_results: tuple[dict, Path]) -> None:
    r, _ = quick_results
    again = ali.run(ali.quick_config(data="synthetic", models=("ali+mine",)))
    assert again["runs"][0]["final"] == r["runs"][1]["final"]
    assert again["runs"][0]["curve"]["mi_train"] == r["runs"][1]["curve"]["mi_train"]


def test_jobs_give_the_same_numbers(quick_results: tuple[dict, Path]) -> None:
    r, _ = quick_results
    pooled = ali.run(ali.quick_config(data="synthetic", jobs=2))
    assert [(run["model"], run["seed"]) for run in pooled["runs"]] == [(run["model"], run["seed"]) for run in r["runs"]]
    for a, b in zip(pooled["runs"], r["runs"]):
        assert a["final"] == b["final"] and a["curve"]["eg_loss"] == b["curve"]["eg_loss"]


def test_conv_networks_run_end_to_end() -> None:
    r = ali.run(ali.quick_config(data="synthetic", arch="conv", models=("ali+mine",)))
    final = r["runs"][0]["final"]
    assert r["config"]["arch"] == "conv" and all(math.isfinite(final[key]) for key, _ in ali.METRICS)
