"""The non-linear dependence experiment (paper Fig. 2): quick run end to end, CLI, validation."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from neuralmi.cli import main
from neuralmi.experiments import nonlinear
from neuralmi.tasks import NonlinearChannel

POINT_KEYS = {"f", "sigma", "method", "seed", "truth", "estimate", "stderr", "seconds"}


@pytest.fixture(scope="module")
def quick() -> dict[str, Any]:
    return nonlinear.run(nonlinear.quick_config(progress=False))


def test_quick_results_structure(quick: dict[str, Any]) -> None:
    cfg = nonlinear.quick_config()
    assert quick["experiment"] == "nonlinear"
    json.dumps(quick, allow_nan=False)
    points = quick["points"]
    assert len(points) == len(cfg.fs) * len(cfg.sigmas) * cfg.seeds * len(cfg.methods)
    assert {(p["f"], p["sigma"], p["method"]) for p in points} == {
        (f, s, m) for f in cfg.fs for s in cfg.sigmas for m in cfg.methods
    }
    for p in points:
        assert POINT_KEYS <= set(p)
        assert p["truth"] == pytest.approx(NonlinearChannel(p["f"], p["sigma"]).mi, rel=1e-12)
        assert math.isfinite(p["estimate"]) and p["seconds"] > 0
        assert p["stderr"] is not None and 0 < p["stderr"] < 0.2, p
    assert quick["seconds"] >= sum(p["seconds"] for p in points)
    assert set(quick["truth_curve"]) == set(cfg.fs)
    for f, tc in quick["truth_curve"].items():
        sig = [s for s, _ in tc]
        assert len(tc) == cfg.truth_points and sig[0] == pytest.approx(min(cfg.sigmas)) and sig[-1] == pytest.approx(max(cfg.sigmas))
        assert [mi for _, mi in tc] == pytest.approx([NonlinearChannel(f, s).mi for s in sig], rel=1e-12)


def test_quick_summary_and_claims_follow_the_points(quick: dict[str, Any]) -> None:
    """Spreads across f, errors per f and every claim's verdict agree with the points."""
    cfg = nonlinear.quick_config()
    mine = {(p["f"], p["sigma"]): p for p in quick["points"] if p["method"] == "mine"}  # one seed
    s = quick["summary"]["mine"]
    eq = s["equitability"]
    assert [row["sigma"] for row in eq] == list(cfg.sigmas)
    for row in eq:
        est = np.array([mine[f, row["sigma"]]["estimate"] for f in cfg.fs])
        tru = np.array([mine[f, row["sigma"]]["truth"] for f in cfg.fs])
        assert row["estimate_by_f"] == pytest.approx(dict(zip(cfg.fs, est)))
        assert row["truth_by_f"] == pytest.approx(dict(zip(cfg.fs, tru)))
        assert row["estimate_spread"] == pytest.approx(np.ptp(est))
        assert row["truth_spread"] == pytest.approx(np.ptp(tru))
        assert row["error_spread"] == pytest.approx(np.ptp(est - tru))
        assert row["estimate_rel_spread"] == pytest.approx(np.ptp(est) / abs(est.mean()))
        assert row["truth_rel_spread"] == pytest.approx(np.ptp(tru) / tru.mean())
    for f in cfg.fs:
        est = np.array([mine[f, sg]["estimate"] for sg in cfg.sigmas])
        tru = np.array([mine[f, sg]["truth"] for sg in cfg.sigmas])
        assert s["per_f"][f]["mean_rel_error"] == pytest.approx(np.mean(np.abs(est - tru) / tru))
        assert s["per_f"][f]["mean_error"] == pytest.approx(np.mean(est - tru))

    claims = quick["claims"]
    assert set(claims) == {"criterion", "mine_independent_of_f", "mine_matches_truth", "mine_self_equitable"}
    rel_spread = np.mean([row["estimate_rel_spread"] for row in eq])
    assert claims["mine_independent_of_f"]["mean_estimate_rel_spread"] == pytest.approx(rel_spread)
    assert claims["mine_independent_of_f"]["holds"] is bool(rel_spread < nonlinear.FLAT_REL_SPREAD)
    rel = {f: s["per_f"][f]["mean_rel_error"] for f in cfg.fs}
    assert claims["mine_matches_truth"]["holds"] is all(v < nonlinear.CLOSE_REL_ERROR for v in rel.values())
    err_spread = np.mean([row["error_spread"] for row in eq])
    truth_spread = np.mean([row["truth_spread"] for row in eq])
    assert claims["mine_self_equitable"]["holds"] is bool(err_spread < 0.25 * truth_spread)


def _mine_summary(est_rel_spread: float, rel_errors: dict[str, float], err_spread: float, truth_spread: float) -> dict:
    return {
        "mine": {
            "per_f": {f: {"mean_rel_error": v} for f, v in rel_errors.items()},
            "mean_estimate_rel_spread": est_rel_spread,
            "mean_truth_rel_spread": 0.5,
            "mean_error_spread": err_spread,
            "mean_truth_spread": truth_spread,
        }
    }


@pytest.mark.parametrize(
    ("summary", "expected"),
    [
        (_mine_summary(0.05, {"linear": 0.05, "cubic": 0.10, "sin": 0.02}, 0.05, 0.4), (True, True, True)),
        (_mine_summary(0.50, {"linear": 0.05, "cubic": 0.30, "sin": 0.02}, 0.15, 0.4), (False, False, False)),
        (_mine_summary(nonlinear.FLAT_REL_SPREAD, {"linear": nonlinear.CLOSE_REL_ERROR}, 0.099, 0.4), (False, False, True)),
    ],
)
def test_claim_checks_apply_their_criteria(summary: dict, expected: tuple[bool, bool, bool]) -> None:
    """The claim checks give the verdict their stated criteria give, on both sides of each."""
    claims = nonlinear._claims(summary, nonlinear.quick_config())
    got = tuple(claims[k]["holds"] for k in ("mine_independent_of_f", "mine_matches_truth", "mine_self_equitable"))
    assert got == expected
    # no claims without MINE, or with a single f (nothing to compare across f)
    assert set(nonlinear._claims({}, nonlinear.quick_config())) == {"criterion"}
    assert set(nonlinear._claims(summary, nonlinear.quick_config(fs=("cubic",)))) == {"criterion"}


def test_quick_mine_tracks_the_truth(quick: dict[str, Any]) -> None:
    """At the quick setting MINE's estimate follows the true MI across f and sigma, and falls
    with sigma for every f; a broken estimator fails this."""
    ps = [p for p in quick["points"] if p["method"] == "mine"]
    truth = np.array([p["truth"] for p in ps])
    est = np.array([p["estimate"] for p in ps])
    assert np.corrcoef(truth, est)[0, 1] > 0.95
    assert np.max(np.abs(est - truth)) < 0.4
    for f in ("linear", "cubic", "sin"):
        by_sigma = sorted((p["sigma"], p["estimate"]) for p in ps if p["f"] == f)
        assert all(a[1] > b[1] for a, b in zip(by_sigma, by_sigma[1:])), (f, by_sigma)
    ksg = np.array([p["estimate"] for p in quick["points"] if p["method"] == "ksg"])
    ksg_truth = np.array([p["truth"] for p in quick["points"] if p["method"] == "ksg"])
    assert np.max(np.abs(ksg - ksg_truth)) < 0.1


def test_plot_and_summary(quick: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "figure.png"
    nonlinear.plot(quick, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = nonlinear.summarize(quick)
    assert "MINE" in text and "claim" in text


def test_cli_quick(tmp_path: Path) -> None:
    out = tmp_path / "run"
    argv = ["experiment", "nonlinear", "--quick", "--quiet", "--out", str(out), "--methods", "mine", "--functions", "linear,sin"]
    assert main(argv) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["config"]["fs"] == ["linear", "sin"]
    assert len(results["points"]) == 2 * len(nonlinear.quick_config().sigmas)
    assert (out / "figure.png").stat().st_size > 1000


def test_cli_rejects_sigma_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["experiment", "nonlinear", "--quick", "--quiet", "--out", str(tmp_path), "--sigmas", "0,0.5"]) == 2
    assert "sigmas" in capsys.readouterr().err


def test_config_from_args() -> None:
    ns = argparse.Namespace(quick=False, seeds=2, device="cpu", quiet=True, sigmas=None, fs=("cubic",),
                            methods=("mine", "nwj"), n_samples=2000, steps=None)
    cfg = nonlinear.config_from_args(ns)
    assert (cfg.seeds, cfg.device, cfg.progress, cfg.fs, cfg.methods, cfg.n_samples) == (
        2, "cpu", False, ("cubic",), ("mine", "nwj"), 2000)
    assert cfg.sigmas == nonlinear.DEFAULT_SIGMAS and min(cfg.sigmas) > 0 and max(cfg.sigmas) == 0.9


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"sigmas": (0.0, 0.5)}, "sigmas"),
        ({"sigmas": (0.5, 0.5)}, "sigmas"),
        ({"fs": ("tanh",)}, "fs"),
        ({"methods": ("ksg", "ksg")}, "methods"),
        ({"n_samples": 0}, "n_samples"),
        ({"test_size": 1.5}, "test_size"),
        ({"truth_points": 1}, "truth_points"),
    ],
)
def test_config_validation(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        nonlinear.Config(**changes)
