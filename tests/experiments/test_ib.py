"""Tests of the information-bottleneck experiment: VIB's KL and the information-plane bounds
(exact cases), the config, the data split, a quick run end to end on tiny IDX files, the CLI."""

from __future__ import annotations

import argparse
import json
import math
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from neuralmi import bounds
from neuralmi.experiments import ib

torch.set_num_threads(1)


def _write_idx(path: Path, arr: np.ndarray) -> None:
    """Write a uint8 array in the IDX format (magic 0x0000 08 ndim, big-endian sizes)."""
    head = struct.pack(">BBBB", 0, 0, 0x08, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    path.write_bytes(head + arr.astype(np.uint8).tobytes())


def _tiny_mnist(folder: Path, n_train: int = 160, n_test: int = 60, seed: int = 0) -> Path:
    """Tiny MNIST-like IDX files: 3 classes, each a bright block at its own place plus noise."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 3, size=n).astype(np.uint8)
        images = rng.integers(0, 60, size=(n, 28, 28)).astype(np.uint8)
        for i, c in enumerate(labels):
            images[i, 4 + 7 * c : 10 + 7 * c, 8:20] = 220
        _write_idx(folder / f"{prefix}-images-idx3-ubyte", images)
        _write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels)
    return folder


# --------------------------------------------------------------------------- VIB's KL


def test_kl_standard_normal_matches_the_closed_form_and_torch() -> None:
    g = torch.Generator().manual_seed(0)
    mean = torch.randn(7, 5, generator=g, dtype=torch.float64)
    std = torch.rand(7, 5, generator=g, dtype=torch.float64) * 2 + 0.05
    ours = ib.kl_standard_normal(mean, std)
    assert ours.shape == (7,)
    # by hand, coordinate by coordinate
    hand = sum(0.5 * (mean[:, d] ** 2 + std[:, d] ** 2 - 1.0 - torch.log(std[:, d] ** 2)) for d in range(5))
    assert torch.allclose(ours, hand, rtol=1e-12)
    ref = torch.distributions.kl_divergence(
        torch.distributions.Normal(mean, std), torch.distributions.Normal(torch.zeros_like(mean), torch.ones_like(std))
    ).sum(dim=1)
    assert torch.allclose(ours, ref, rtol=1e-10)
    assert float(ib.kl_standard_normal(torch.zeros(1, 3), torch.ones(1, 3))) == 0.0


def test_kl_is_the_mean_log_ratio_by_monte_carlo() -> None:
    g = torch.Generator().manual_seed(1)
    mean, std = torch.tensor([[0.7, -1.2]], dtype=torch.float64), torch.tensor([[0.4, 1.5]], dtype=torch.float64)
    z = mean + std * torch.randn(200_000, 2, generator=g, dtype=torch.float64)
    q = torch.distributions.Normal(mean, std).log_prob(z).sum(1)
    p = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(1)
    mc = float((q - p).mean())
    assert mc == pytest.approx(float(ib.kl_standard_normal(mean, std)), abs=0.01)


# --------------------------------------------------------------------------- the information plane


def test_log_density_matrix_is_every_pairs_log_density() -> None:
    g = torch.Generator().manual_seed(2)
    mean = torch.randn(6, 4, generator=g, dtype=torch.float64)
    std = torch.rand(6, 4, generator=g, dtype=torch.float64) + 0.1
    z = torch.randn(6, 4, generator=g, dtype=torch.float64)
    s = ib.gaussian_log_density_matrix(z, mean, std)
    ref = torch.distributions.Normal(mean[None, :, :], std[None, :, :]).log_prob(z[:, None, :]).sum(-1)
    assert torch.allclose(s, ref, rtol=1e-10, atol=1e-10)


def test_log_density_matrix_keeps_nearly_deterministic_codes_exact() -> None:
    # std 1e-7 around means of size ~1: expanded into matrix products the squares cancel
    # (errors of ~1e4 nats); summed directly, the matrix matches torch.distributions, in blocks too
    g = torch.Generator().manual_seed(3)
    mean = torch.randn(50, 8, generator=g, dtype=torch.float64)
    std = torch.full((50, 8), 1e-7, dtype=torch.float64)
    z = mean + std * torch.randn(50, 8, generator=g, dtype=torch.float64)
    ref = torch.distributions.Normal(mean[None, :, :], std[None, :, :]).log_prob(z[:, None, :]).sum(-1)
    for block in (8_000_000, 8 * 50 * 3):  # all rows at once; 3 rows per block
        s = ib.gaussian_log_density_matrix(z, mean, std, max_elements=block)
        assert torch.allclose(s.diagonal(), ref.diagonal(), rtol=1e-9, atol=1e-6)
        assert torch.allclose(s, ref, rtol=1e-9)
    plane = ib.information_plane(mean, std, torch.Generator().manual_seed(0))
    assert plane["ixz_lower"] == pytest.approx(math.log(50), abs=1e-9)  # InfoNCE at its cap, not -1e6


def test_mean_sd_leaves_out_missing_and_non_finite_readings() -> None:
    stat = ib._mean_sd([1.0, float("nan"), 3.0, None])
    assert stat["mean"] == 2.0 and stat["n"] == 2 and stat["n_missing"] == 2
    assert ib._mean_sd([None, float("inf")])["mean"] is None


def test_information_plane_sandwiches_a_known_mi() -> None:
    # x ~ N(0, 1) per coordinate, code z = x + sigma * eps: I(X; Z) = d/2 log(1 + 1/sigma^2)
    d, sigma, n = 3, 1.0, 1500
    g = torch.Generator().manual_seed(3)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    plane = ib.information_plane(x, torch.full_like(x, sigma), torch.Generator().manual_seed(4))
    truth = d / 2 * math.log(1 + 1 / sigma**2)
    assert plane["ixz_lower"] < truth < plane["ixz_club"]
    assert plane["ixz_lower"] > truth - 0.1  # InfoNCE with the true conditional and n >> e^I is tight
    # CLUB with the true conditional exceeds I by the lautum information: per coordinate
    # rho^2 = 1 / (1 + sigma^2) and CLUB = rho^2 / (1 - rho^2) = 1 / sigma^2
    assert plane["ixz_club"] == pytest.approx(d / sigma**2, rel=0.1)
    # the marginal of z is Gaussian here, so the rate against the fitted Gaussian is the MI itself
    assert plane["ixz_rate"] == pytest.approx(truth, abs=0.05)
    assert plane["ixz_upper"] == min(plane["ixz_club"], plane["ixz_rate"])
    # a deterministic code: InfoNCE reads its cap log n and the information is infinite
    det = ib.information_plane(x, None, torch.Generator())
    assert det["ixz_lower"] == math.log(n) and det["ixz_upper"] is None


# --------------------------------------------------------------------------- config


def test_config_defaults_and_cpu_epochs() -> None:
    cfg = ib.Config()
    assert cfg.methods == ib.METHOD_NAMES
    assert cfg.train_epochs == ib.CPU_EPOCHS["mnist-5k"] and cfg.selection_epochs == cfg.train_epochs
    assert ib.Config(data="fashion-mnist").train_epochs == ib.CPU_EPOCHS["fashion-mnist"]
    assert ib.Config(epochs=7, select_epochs=3).selection_epochs == 3
    assert cfg.learning_rate == 1e-3 and ib.Config(lr=3e-4).learning_rate == 3e-4
    paper = ib.Config(preset="paper", data="fashion-mnist")
    assert paper.train_epochs == 200 and paper.learning_rate == 1e-4
    # schedules: the paper's x0.97 every 2 epochs; the cpu preset's exponential decay to 1e-4
    assert paper.lr_at(1, 200) == 1e-4 and paper.lr_at(5, 200) == pytest.approx(1e-4 * 0.97**2)
    assert cfg.lr_at(1, 50) == 1e-3 and cfg.lr_at(50, 50) == pytest.approx(1e-4)
    assert cfg.lr_at(25, 50) == pytest.approx(1e-3 * 0.1 ** (24 / 49))
    assert ib.Config(lr=2e-3, lr_end=2e-5).lr_at(11, 11) == pytest.approx(2e-5)
    assert ib.Config(beta=0.01).needs_selection() is False
    assert ib.Config(methods=["baseline"]).needs_selection() is False
    assert ib.Config().needs_selection() is True


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"data": "cifar"}, "data must be one of"),
        ({"methods": ("vib", "dropout")}, "methods must be among"),
        ({"methods": ()}, "methods must not be empty"),
        ({"beta": -1.0}, "beta must be"),
        ({"beta_grid": (1e-3, 1e-3)}, "beta_grid must not repeat"),
        ({"epochs": 0}, "epochs must be a positive integer or None"),
        ({"val_size": 1.0}, "val_size must be in"),
        ({"batch_size": 1}, "batch_size must be at least 2"),
        ({"critic_noise": (0.3,)}, "critic_noise must hold 3"),
        ({"polyak": 1.0}, "polyak must be in"),
        ({"lr": 0.0}, "lr must be a positive number"),
        ({"preset": "gpu"}, "preset must be one of"),
        ({"jobs": 0}, "jobs must be a positive integer"),
    ],
)
def test_config_rejects(changes: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ib.Config(**changes)


def test_config_methods_must_be_a_sequence() -> None:
    with pytest.raises(TypeError, match="methods must be a sequence"):
        ib.Config(methods="vib")


# --------------------------------------------------------------------------- data


def test_validation_split_is_carved_from_the_training_set(tmp_path: Path) -> None:
    folder = _tiny_mnist(tmp_path / "idx")
    cfg = ib.quick_config(data="mnist", data_dir=str(folder), val_size=0.25)
    data = ib.load_data(cfg)
    assert data["train"][0].shape == (160, 784) and data["test"][0].shape == (60, 784)
    assert len(data["val"][1]) == 40 and len(data["fit"][1]) == 120
    # val and fit partition the training set; the test set is separate
    rows = {r.tobytes() for r in data["train"][0]}
    assert {r.tobytes() for r in data["val"][0]} | {r.tobytes() for r in data["fit"][0]} == rows
    assert not {r.tobytes() for r in data["val"][0]} & {r.tobytes() for r in data["fit"][0]}
    again = ib.load_data(cfg)
    assert np.array_equal(again["val"][0], data["val"][0])


def test_missing_data_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not found|does not exist"):
        ib.load_data(ib.quick_config(data="mnist", data_dir=str(tmp_path / "nothing")))
    with pytest.raises(ValueError, match="data_dir"):
        ib.load_data(ib.quick_config(data="mnist"))


# --------------------------------------------------------------------------- a quick run, end to end


def test_quick_run_end_to_end(tmp_path: Path) -> None:
    folder = _tiny_mnist(tmp_path / "idx")
    cfg = ib.quick_config(data="mnist", data_dir=str(folder), val_size=0.25)
    res = ib.run(cfg)
    assert res["experiment"] == "ib" and res["epochs"] == 2
    assert [row["method"] for row in res["summary"]] == list(ib.METHOD_NAMES)
    # beta chosen on the validation split for each regularised method, from the grid
    assert set(res["selection"]) == {"vib", "mine", "club"}
    for method, sel in res["selection"].items():
        assert sel["chosen"] in cfg.beta_grid and len(sel["val_error"]) == len(cfg.beta_grid)
        assert all(r["n_held"] == 40 and r["n_train"] == 120 for r in sel["runs"])
        row = next(r for r in res["summary"] if r["method"] == method)
        assert row["beta"] == sel["chosen"]
    assert len(res["runs"]) == 4
    for r in res["runs"]:
        f = r["final"]
        assert r["n_train"] == 160 and r["n_held"] == 60  # final runs: the whole training set, the test set
        assert 0.0 <= f["error"] <= 100.0 and 0.0 <= f["error_sampled"] <= 100.0
        assert math.isfinite(f["ce"]) and math.isfinite(f["izy_lower"]) and f["izy_lower"] <= math.log(3) + 1e-9
        if r["method"] == "baseline":
            assert f["ixz_upper"] is None and f["ixz_lower"] == pytest.approx(math.log(60))
            assert f["error_sampled"] == f["error"]
        else:
            assert f["ixz_lower"] <= f["ixz_upper"] == min(f["ixz_club"], f["ixz_rate"])
            assert math.isfinite(f["train_reg"])
        assert r["curve"]["epoch"] == [1, 2]
    json.dumps(res)  # serialisable as it is
    ib.plot(res, tmp_path / "figure.png")
    assert (tmp_path / "figure.png").stat().st_size > 10_000
    text = ib.summarize(res)
    assert "baseline" in text and "1.38" in text and "selection vib" in text


def test_same_seed_same_numbers(tmp_path: Path) -> None:
    folder = _tiny_mnist(tmp_path / "idx")
    cfg = ib.quick_config(data="mnist", data_dir=str(folder), methods=("mine",), beta=0.01, epochs=1, evals=1)
    a, b = ib.run(cfg), ib.run(cfg)
    assert a["runs"][0]["final"] == b["runs"][0]["final"]
    assert a["selection"] == {} and a["runs"][0]["beta"] == 0.01


def test_a_collapsed_mine_run_is_named_and_left_out_of_the_plane(tmp_path: Path) -> None:
    folder = _tiny_mnist(tmp_path / "idx")
    cfg = ib.quick_config(data="mnist", data_dir=str(folder), methods=("mine",), beta=0.01, epochs=1, evals=1, seeds=2)
    res = ib.run(cfg)
    assert not any(ib._collapsed(r) for r in res["runs"])
    assert "note:" not in ib.summarize(res)
    res["runs"][0]["final"]["train_reg"] = -1.5e9  # as fashion-mnist's seed 0 ended
    assert ib._collapsed(res["runs"][0]) and not ib._collapsed(res["runs"][1])
    assert "note: mine seed 0: MINE's estimate of I(X;Z) ended at -1.5e+09 nats" in ib.summarize(res)
    ib.plot(res, tmp_path / "figure.png")
    assert (tmp_path / "figure.png").stat().st_size > 10_000


def test_selection_ranks_a_collapsed_run_last() -> None:
    def row(method: str, error: float, ce: float, reg: float | None, diverged: int | None = None) -> dict:
        return {"method": method, "diverged_at_step": diverged, "final": {"error": error, "ce": ce, "train_reg": reg}}

    rows = [row("mine", 10.55, 0.27, -33.2), row("mine", 10.60, 0.28, 2.5), row("mine", 10.60, 0.27, 2.4)]
    assert min(rows, key=ib._selection_key) is rows[2]  # the collapsed run's lower error does not win
    rows = [row("vib", 9.0, 0.2, 40.0, diverged=100), row("vib", 11.0, 0.3, 40.0)]
    assert min(rows, key=ib._selection_key) is rows[1]


def test_jobs_give_the_same_numbers_as_one_process(tmp_path: Path) -> None:
    # the selection (2 betas) and the final runs in 2 spawned processes: every run is seeded on
    # its own, so the choice and every reading equal the one-process run's
    folder = _tiny_mnist(tmp_path / "idx")
    cfg = ib.quick_config(data="mnist", data_dir=str(folder), val_size=0.25, methods=("baseline", "vib"), epochs=1,
                          evals=1, seeds=2)
    one = ib.run(cfg)
    two = ib.run(ib.replace(cfg, jobs=2))
    assert two["selection"]["vib"]["chosen"] == one["selection"]["vib"]["chosen"]
    assert two["selection"]["vib"]["val_ce"] == one["selection"]["vib"]["val_ce"]
    assert [(r["method"], r["seed"]) for r in two["runs"]] == [(r["method"], r["seed"]) for r in one["runs"]]
    assert [r["final"] for r in two["runs"]] == [r["final"] for r in one["runs"]]
    assert two["config"]["jobs"] == 2


# --------------------------------------------------------------------------- command line


def _parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    p.add_argument("--seeds", type=int, default=None)
    p.add_argument("--device", default="auto")
    p.add_argument("--quiet", action="store_true")
    ib.add_arguments(p)
    return p.parse_args(argv)


def test_config_from_args() -> None:
    cfg = ib.config_from_args(_parse(["--data", "fashion-mnist", "--method", "vib,mine", "--beta-grid", "1e-3,1e-2",
                                      "--seeds", "2", "--epochs", "5", "--quiet", "--jobs", "2"]))
    assert cfg.jobs == 2
    assert cfg.methods == ("vib", "mine") and cfg.beta_grid == (1e-3, 1e-2) and cfg.seeds == 2
    assert cfg.train_epochs == 5 and cfg.progress is False
    paper = ib.config_from_args(_parse(["--paper"]))
    assert paper.preset == "paper" and paper.train_epochs == ib.PAPER_EPOCHS == 200 and paper.learning_rate == 1e-4
    for extra in (["--epochs", "3"], ["--lr", "0.01"]):
        with pytest.raises(ValueError, match="--paper"):
            ib.config_from_args(_parse(["--paper", *extra]))


def test_cli_runs_the_quick_experiment(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from neuralmi import cli

    folder = _tiny_mnist(tmp_path / "idx", n_train=80, n_test=30)
    out = tmp_path / "out"
    code = cli.main(["experiment", "ib", "--quick", "--quiet", "--data", "mnist", "--data-dir", str(folder),
                     "--method", "baseline,club", "--beta", "0.01", "--out", str(out)])
    assert code == 0
    res = json.loads((out / "results.json").read_text())
    assert [r["method"] for r in res["runs"]] == ["baseline", "club"]
    assert (out / "figure.png").exists()
    assert "Information bottleneck on mnist" in capsys.readouterr().out


def test_cli_missing_data_set_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from neuralmi import cli

    code = cli.main(["experiment", "ib", "--quick", "--quiet", "--data", "mnist", "--data-dir", str(tmp_path / "none"),
                     "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("neuralmi: error:") and err.count("\n") == 1
