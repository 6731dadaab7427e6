"""Tests of the GAN + MINE experiment: data, metrics (exact cases), config, a quick run, the CLI."""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import integrate

from neuralmi.experiments import gan

# --------------------------------------------------------------------------- data


def test_grid_centres() -> None:
    c = gan.grid_centres()
    assert c.shape == (25, 2)
    assert len({tuple(p) for p in c}) == 25
    assert set(np.unique(c)) == {-4.0, -2.0, 0.0, 2.0, 4.0}


def test_25gaussians_data_is_seeded_and_on_the_grid() -> None:
    a = gan.make_data("25gaussians", 5000, 0.05, np.random.default_rng(3))
    b = gan.make_data("25gaussians", 5000, 0.05, np.random.default_rng(3))
    assert np.array_equal(a, b)
    resid = a - np.round(a / 2.0) * 2.0  # offset from the nearest grid point
    assert abs(resid.std() - 0.05) < 0.003
    assert set(np.unique(np.round(a / 2.0) * 2.0)) == {-4.0, -2.0, 0.0, 2.0, 4.0}


def test_spiral_length_matches_the_integral() -> None:
    sp = gan.Spiral()
    exact, _ = integrate.quad(
        lambda t: math.hypot(t / math.pi, 1.0 / math.pi), sp.theta_min, sp.theta_max
    )
    assert sp.length == pytest.approx(exact, rel=1e-6)


def test_spiral_samples_are_uniform_along_the_arc() -> None:
    sp = gan.Spiral()
    x = sp.sample(20_000, 0.0, np.random.default_rng(0))
    dist, s = sp.project(x)
    assert dist.max() < 1e-2
    counts, _ = np.histogram(s, bins=10, range=(0.0, sp.length))
    assert counts.min() > 0.9 * 2000 and counts.max() < 1.1 * 2000


def test_unknown_data() -> None:
    with pytest.raises(ValueError, match="data must be one of"):
        gan.make_data("moons", 10, 0.05, np.random.default_rng(0))


# --------------------------------------------------------------------------- metrics, exact cases


def test_mode_metrics_exact_case() -> None:
    centres = gan.grid_centres()
    # 10 modes hit exactly, 100 samples each; 4 samples on an 11th mode (below the threshold of
    # 0.1 * 1100 / 25 = 4.4); 96 far from every mode
    x = np.concatenate([np.repeat(centres[:10], 100, axis=0), np.repeat(centres[10:11], 4, axis=0),
                        np.full((96, 2), 1.0)])
    m = gan.mode_metrics(x, std=0.05)
    assert m["modes"] == 10
    assert m["modes_any"] == 11
    assert m["quality"] == pytest.approx(1004 / 1100)
    q = np.array([100] * 10 + [4]) / 1004
    assert m["kl"] == pytest.approx(float(np.sum(q * np.log(25 * q))))
    assert sum(m["counts"]) == 1004


def test_mode_metrics_quality_radius_is_three_std() -> None:
    x = np.array([[0.0, 0.149], [0.0, 0.151], [2.0 + 0.1, 0.1], [3.0, 3.0]])
    m = gan.mode_metrics(x, std=0.05)
    assert m["quality"] == pytest.approx(2 / 4)  # 0.149 and |(0.1, 0.1)| = 0.141 are inside


def test_mode_metrics_uniform_and_collapsed() -> None:
    centres = gan.grid_centres()
    uniform = gan.mode_metrics(np.repeat(centres, 40, axis=0), std=0.05)
    assert uniform["modes"] == 25 and uniform["kl"] == pytest.approx(0.0, abs=1e-12)
    collapsed = gan.mode_metrics(np.repeat(centres[:1], 1000, axis=0), std=0.05)
    assert collapsed["modes"] == 1 and collapsed["kl"] == pytest.approx(math.log(25))
    nothing = gan.mode_metrics(np.full((10, 2), 1.0), std=0.05)
    assert nothing["quality"] == 0.0 and nothing["kl"] is None and nothing["modes"] == 0


def test_real_data_scores_near_perfect() -> None:
    real = gan.make_data("25gaussians", 10_000, 0.05, np.random.default_rng(1))
    m = gan.mode_metrics(real, std=0.05)
    assert m["modes"] == 25
    assert m["quality"] == pytest.approx(1 - math.exp(-4.5), abs=0.005)
    assert m["kl"] < 0.01
    sp = gan.Spiral()
    real = sp.sample(10_000, 0.05, np.random.default_rng(1))
    s = gan.spiral_metrics(real, std=0.05, spiral=sp)
    assert s["arc_coverage"] == 1.0 and s["quality"] > 0.98 and s["kl"] < 0.02


def test_spiral_metrics_half_the_arc_and_a_point() -> None:
    sp = gan.Spiral()
    rng = np.random.default_rng(0)
    x = sp.sample(20_000, 0.0, rng)
    _, s = sp.project(x)
    half = x[s < sp.length / 2]
    m = gan.spiral_metrics(half, std=0.05, spiral=sp)
    assert m["arc_coverage"] == pytest.approx(0.5, abs=0.02)
    assert m["quality"] == 1.0
    assert m["kl"] == pytest.approx(math.log(2), abs=0.02)
    point = gan.spiral_metrics(np.repeat(x[:1], 500, axis=0), std=0.05, spiral=sp)
    assert point["arc_coverage"] == pytest.approx(0.01) and point["kl"] == pytest.approx(math.log(100))
    off = gan.spiral_metrics(np.zeros((50, 2)), std=0.05, spiral=sp)  # the origin: 0.5 from the curve
    assert off["quality"] == 0.0 and off["arc_coverage"] == 0.0 and off["kl"] is None


# --------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"data": "moons"}, "data must be one of"),
        ({"betas": (0.0, -1.0)}, "betas must be finite and >= 0"),
        ({"betas": (1.0, 1.0)}, "betas must not repeat"),
        ({"betas": ()}, "betas must not be empty"),
        ({"seeds": 0}, "seeds must be a positive integer"),
        ({"batch_size": 5000}, "batch_size must be between"),
        ({"n_codes": 1}, "n_codes must be at least 2"),
        ({"lr": float("nan")}, "lr must be a positive number"),
        ({"mi_until": 1.5}, "mi_until"),
        ({"min_share": 0.0}, "min_share"),
        ({"gen_hidden": (0,)}, "gen_hidden must hold positive widths"),
    ],
)
def test_config_validation(changes: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        gan.Config(**changes)


def test_config_steps() -> None:
    cfg = gan.Config()
    assert cfg.steps_per_epoch == 16 and cfg.steps == 16 * cfg.epochs
    assert gan.Config(n_data=257).steps_per_epoch == 1  # a trailing single point is dropped
    assert gan.Config(n_data=258).steps_per_epoch == 2


def test_run_with_a_trailing_single_point() -> None:
    r = gan.run(gan.quick_config(n_data=129, batch_size=64, epochs=2, betas=(0.0,)))
    assert r["runs"][0]["steps"] == 4 and r["runs"][0]["curve"]["step"][-1] == 4


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--quiet", action="store_true")
    gan.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_config_from_args_adds_the_baseline() -> None:
    assert gan.config_from_args(_args()).betas == (0.0, 1.0)
    assert gan.config_from_args(_args("--beta", "2")).betas == (0.0, 2.0)
    assert gan.config_from_args(_args("--beta", "0.5", "2", "0")).betas == (0.0, 0.5, 2.0)
    assert gan.config_from_args(_args("--beta", "2", "--no-baseline")).betas == (2.0,)
    cfg = gan.config_from_args(_args("--quick", "--data", "spiral", "--seeds", "2", "--no-clip"))
    assert cfg.data == "spiral" and cfg.seeds == 2 and not cfg.clip and cfg.epochs == gan.quick_config().epochs


def test_config_from_args_progress_follows_quiet() -> None:
    """Like the other experiments: --quiet turns progress off; otherwise the bar shows on a terminal
    only and the per-run lines always."""
    assert gan.config_from_args(_args("--quiet")).progress is False
    assert gan.config_from_args(_args()).progress is None
    assert gan.Config().progress is None


# --------------------------------------------------------------------------- a quick run


@pytest.fixture(scope="module")
def quick_results() -> dict:
    return gan.run(gan.quick_config(betas=(0.0, 1.0)))


def _check_final_against_counts(final: dict[str, Any], cfg: gan.Config) -> None:
    """The final metrics agree with the per-mode (per-bin) counts they were computed from."""
    counts = np.asarray(final["counts"])
    assert len(counts) == (25 if cfg.data == "25gaussians" else cfg.arc_bins)
    assert counts.sum() == round(final["quality"] * cfg.n_eval)
    covered = int(np.sum(counts >= cfg.min_share * cfg.n_eval / len(counts)))
    if cfg.data == "25gaussians":
        assert final["modes"] == covered and final["modes_any"] == int(np.sum(counts >= 1))
    else:
        assert final["arc_coverage"] == covered / cfg.arc_bins and final["arc_any"] == np.mean(counts >= 1)
    if counts.sum() == 0:
        assert final["kl"] is None
    else:
        q = counts[counts > 0] / counts.sum()
        assert final["kl"] == pytest.approx(float(np.sum(q * np.log(len(counts) * q))))


def _check_curve_ends_at_final(run: dict[str, Any], cfg: gan.Config) -> None:
    curve = run["curve"]
    assert curve["step"] == sorted({round(cfg.steps * (i + 1) / cfg.evals) for i in range(cfg.evals)})
    assert curve["epoch"] == pytest.approx([s / cfg.steps_per_epoch for s in curve["step"]])
    for key, value in run["final"].items():
        if key != "counts":
            assert len(curve[key]) == len(curve["step"]) and curve[key][-1] == value, key


def test_quick_run_structure(quick_results: dict) -> None:
    r = quick_results
    cfg = gan.quick_config(betas=(0.0, 1.0))
    assert r["config"] == asdict(cfg) and r["steps"] == cfg.steps == 24
    assert len(r["runs"]) == 2 and [row["beta"] for row in r["summary"]] == [0.0, 1.0]
    assert [(run["beta"], run["seed"]) for run in r["runs"]] == [(0.0, 0), (1.0, 0)]
    json.dumps(r)  # JSON-serialisable
    for run in r["runs"]:
        assert run["steps"] == cfg.steps
        assert len(run["curve"]["step"]) == cfg.evals and run["curve"]["step"][-1] == cfg.steps
        _check_final_against_counts(run["final"], cfg)
        _check_curve_ends_at_final(run, cfg)
        assert len(run["samples"]) == cfg.n_plot and len(run["codes"]) == cfg.n_plot
        assert set(run["codes"]) <= set(range(cfg.n_codes))
    # one seed: the summary's mean is that seed's value, its sd 0
    for row, run in zip(r["summary"], r["runs"]):
        assert row["seeds"] == [0] and row["seconds_total"] == pytest.approx(run["seconds"])
        for key in ("modes", "modes_any", "quality", "kl"):
            assert row[key]["values"] == [run["final"][key]] and row[key]["sd"] == 0.0
            assert row[key]["mean"] == (None if run["final"][key] is None else pytest.approx(run["final"][key]))
    plain, mine = r["runs"]
    assert all(v is None for v in plain["curve"]["mi_train"])  # beta = 0 trains no critic
    assert all(v is not None and math.isfinite(v) for v in mine["curve"]["mi_train"])
    assert all(0.0 <= s <= 1.0 for s in mine["curve"]["clip_scale"])
    real = gan.make_data("25gaussians", cfg.n_eval, cfg.std, np.random.default_rng(123_456))
    expected = {k: v for k, v in gan.mode_metrics(real, cfg.std, cfg.min_share).items() if k != "counts"}
    assert r["reference"] == expected and expected["modes"] == 25


def test_quick_run_is_deterministic(quick_results: dict) -> None:
    again = gan.run(gan.quick_config(betas=(1.0,)))
    assert again["runs"][0]["final"] == quick_results["runs"][1]["final"]
    assert again["runs"][0]["samples"] == quick_results["runs"][1]["samples"]


def test_beta_changes_training(quick_results: dict) -> None:
    """Same seed, same start: only the MI term differs, and it changes the generator."""
    plain, mine = quick_results["runs"]
    assert plain["samples"] != mine["samples"]


def test_summary_and_plot(quick_results: dict, tmp_path: Path) -> None:
    text = gan.summarize(quick_results)
    assert "modes covered" in text and "real" in text and len(text.splitlines()) == 5
    gan.plot(quick_results, tmp_path / "figure.png")
    assert (tmp_path / "figure.png").stat().st_size > 10_000


def test_quick_spiral_without_clipping(tmp_path: Path) -> None:
    r = gan.run(gan.quick_config(data="spiral", betas=(1.0,), clip=False, mi_until=0.5))
    run = r["runs"][0]
    cfg = gan.quick_config(data="spiral", betas=(1.0,), clip=False, mi_until=0.5)
    _check_final_against_counts(run["final"], cfg)
    _check_curve_ends_at_final(run, cfg)
    # the MI term (and its critic) is on for the first half of training only: an evaluation
    # reports MINE's training estimate iff a step before the cut-off lies in its interval
    steps = run["curve"]["step"]
    on = [prev < round(0.5 * cfg.steps) for prev in [0, *steps[:-1]]]
    assert on[0] and not on[-1]
    assert [v is not None for v in run["curve"]["mi_train"]] == on
    assert all(v is None for v in run["curve"]["clip_scale"])
    assert "arc coverage" in gan.summarize(r)
    gan.plot(r, tmp_path / "spiral.png")


# --------------------------------------------------------------------------- progress


def test_progress_bar_advances_per_epoch(
    quick_results: dict, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Forced on: one bar per (beta, seed) run, advanced once per epoch to the end, with the
    latest metrics as postfix; the numbers are those of a run without a bar."""
    bars: list[Any] = []
    make_bar = gan.progress_bar

    def recording_bar(*args: Any, **kwargs: Any) -> Any:
        bar = make_bar(*args, **kwargs)
        updates: list[int] = []
        update = bar.update
        bar.update = lambda n=1: (updates.append(n), update(n))[1]
        bars.append((bar, updates))
        return bar

    monkeypatch.setattr(gan, "progress_bar", recording_bar)
    cfg = gan.quick_config(betas=(1.0,), progress=True)
    r = gan.run(cfg)
    assert len(bars) == 1
    bar, updates = bars[0]
    assert bar.total == cfg.epochs and bar.n == cfg.epochs and updates == [1] * cfg.epochs
    assert bar.unit == "epoch"
    final = r["runs"][0]["final"]
    assert f"modes={final['modes']} " in bar.postfix and "mi=" in bar.postfix
    err = capsys.readouterr().err
    assert "gan 25gaussians beta=1 seed=0 (1/1)" in err and "epoch" in err
    assert f"[gan 25gaussians] beta=1 seed=0: modes={final['modes']} " in err
    assert r["runs"][0]["final"] == quick_results["runs"][1]["final"]  # the bar draws no random numbers


def test_bar_on_a_terminal_only_lines_unless_quiet(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """progress=None (the command's default): the per-run line always (a run in the background
    leaves a log), the bar only when stderr is a terminal; progress=False (--quiet) never prints."""
    def tiny(progress: bool | None) -> gan.Config:
        return gan.quick_config(betas=(0.0,), epochs=1, n_data=200, n_eval=200, progress=progress)

    gan.run(tiny(None))
    err = capsys.readouterr().err  # captured stderr is not a terminal
    assert "[gan 25gaussians] beta=0 seed=0: modes=" in err and "epoch" not in err
    gan.run(tiny(False))
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    gan.run(tiny(None))
    err = capsys.readouterr().err
    assert "beta=0 seed=0 (1/1)" in err and "epoch" in err and "[gan 25gaussians] beta=0 seed=0: modes=" in err
    gan.run(tiny(False))
    assert capsys.readouterr().err == ""


def test_cli(tmp_path: Path) -> None:
    from neuralmi.cli import main

    out = tmp_path / "gan"
    assert main(["experiment", "gan", "--quick", "--quiet", "--beta", "1", "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert [row["beta"] for row in results["summary"]] == [0.0, 1.0]
    assert (out / "figure.png").exists()


def test_cli_bad_option(capsys: pytest.CaptureFixture[str]) -> None:
    from neuralmi.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["experiment", "gan", "--data", "moons"])
    assert exc.value.code == 2
    assert main(["experiment", "gan", "--quick", "--beta", "-1", "--out", "/nonexistent/never"]) == 2
    assert "betas must be finite" in capsys.readouterr().err
