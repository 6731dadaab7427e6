"""The Gaussian experiment (paper Fig. 1): quick run end to end, CLI, config validation."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from neuralmi.cli import main
from neuralmi.experiments import gaussian

POINT_KEYS = {"dim", "rho", "method", "seed", "truth", "estimate", "stderr", "seconds"}


@pytest.fixture(scope="module")
def quick() -> dict[str, Any]:
    return gaussian.run(gaussian.quick_config(progress=False))


def test_quick_results_structure(quick: dict[str, Any]) -> None:
    cfg = gaussian.quick_config()
    assert quick["experiment"] == "gaussian"
    json.dumps(quick, allow_nan=False)  # plain JSON, no NaN/inf
    points = quick["points"]
    assert len(points) == len(cfg.dims) * len(cfg.rhos) * cfg.seeds * len(cfg.methods)
    assert {(p["dim"], p["rho"], p["method"]) for p in points} == {
        (d, r, m) for d in cfg.dims for r in cfg.rhos for m in cfg.methods
    }
    n_test = max(4, round(cfg.test_size * cfg.n_samples))
    for p in points:
        assert POINT_KEYS <= set(p)
        assert p["truth"] == pytest.approx(-0.5 * p["dim"] * math.log(1 - p["rho"] ** 2), rel=1e-12, abs=1e-12)
        assert math.isfinite(p["estimate"]) and p["estimate"] >= 0 and p["seconds"] > 0
        # every method reports a positive, finite standard error at this size
        assert p["stderr"] is not None and 0 < p["stderr"] < 0.2, p
        if p["method"] == "ksg":  # KSG reads the whole sample; the neural methods the held-out part
            assert p["n_test"] == cfg.n_samples and p["steps_taken"] is None
        else:  # no early stopping in the quick config: every neural fit runs its steps
            assert p["n_test"] == n_test and p["steps_taken"] == cfg.steps
    assert quick["seconds"] >= sum(p["seconds"] for p in points)
    assert set(quick["summary"]) == {str(d) for d in cfg.dims}
    assert set(quick["summary"]["2"]) == set(cfg.methods)


def test_quick_curves_and_summary_follow_the_points(quick: dict[str, Any]) -> None:
    """The curves, the error summary and every claim's verdict agree with the points they come from."""
    cfg = gaussian.quick_config()
    points = quick["points"]
    curves = {(c["dim"], c["rho"], c["method"]): c for c in quick["curves"]}
    assert len(curves) == len(quick["curves"]) == len(cfg.dims) * len(cfg.rhos) * len(cfg.methods)
    for (dim, rho, method), c in curves.items():
        est = [p["estimate"] for p in points if (p["dim"], p["rho"], p["method"]) == (dim, rho, method)]
        assert c["seeds"] == len(est) == cfg.seeds
        assert c["mean"] == pytest.approx(np.mean(est)) and c["sd"] == 0.0  # one seed
    for method in cfg.methods:
        ps = [p for p in points if p["method"] == method and p["dim"] == 2]
        truth = np.array([p["truth"] for p in ps])
        err = np.array([p["estimate"] for p in ps]) - truth
        big = truth >= gaussian.MIN_TRUTH_FOR_REL
        s = quick["summary"]["2"][method]
        assert s["points"] == len(cfg.rhos)
        assert s["mean_abs_error"] == pytest.approx(np.mean(np.abs(err)))
        assert s["mean_error"] == pytest.approx(np.mean(err))
        assert s["max_abs_error"] == pytest.approx(np.max(np.abs(err)))
        assert s["mean_rel_error"] == pytest.approx(np.mean(np.abs(err[big]) / truth[big]))

    claims = quick["claims"]
    # one dimension: the KSG claim (low vs high dimension) is not made
    assert set(claims) == {"criterion", "mine_close_to_truth", "mine_tighter_than_minef"}
    rel = quick["summary"]["2"]["mine"]["mean_rel_error"]
    assert claims["mine_close_to_truth"]["mean_rel_error"] == {"2": rel}
    assert claims["mine_close_to_truth"]["holds"] is (rel < gaussian.CLOSE_REL_ERROR)
    mae = {m: quick["summary"]["2"][m]["mean_abs_error"] for m in ("mine", "nwj")}
    tight = claims["mine_tighter_than_minef"]
    assert tight["holds"] is (mae["mine"] < mae["nwj"])
    diff = np.array([
        next(p["estimate"] for p in points if (p["rho"], p["method"]) == (rho, "mine"))
        - next(p["estimate"] for p in points if (p["rho"], p["method"]) == (rho, "nwj"))
        for rho in cfg.rhos
    ])
    paired = tight["per_dim"]["2"]["mine_minus_nwj"]
    assert paired["pairs"] == len(cfg.rhos) and paired["mean"] == pytest.approx(diff.mean())
    assert paired["share_higher"] == pytest.approx(np.mean(diff > 0))
    assert paired["stderr"] == pytest.approx(diff.std(ddof=1) / math.sqrt(len(diff)))


def _summary_row(rel: float, mae: float) -> dict[str, float]:
    return {"mean_rel_error": rel, "mean_abs_error": mae, "mean_seed_sd": 0.01}


@pytest.mark.parametrize(
    ("mine_rel_20", "ksg_rel", "nwj_mae_2", "expected"),
    [
        # every criterion met
        (0.10, (0.05, 0.40), 0.30, (True, True, True)),
        # MINE too far off at d = 20; KSG not worse at d = 20; NWJ tighter than MINE at d = 2
        (0.20, (0.05, 0.04), 0.10, (False, False, False)),
        # KSG already too far off at d = 2 (even though worse at d = 20); MINE exactly at the threshold
        (gaussian.CLOSE_REL_ERROR, (0.20, 0.40), 0.30, (False, False, True)),
    ],
)
def test_claim_checks_apply_their_criteria(
    mine_rel_20: float, ksg_rel: tuple[float, float], nwj_mae_2: float, expected: tuple[bool, bool, bool]
) -> None:
    """The claim checks give the verdict their stated criteria give, on both sides of each."""
    summary = {
        "2": {"mine": _summary_row(0.05, 0.20), "nwj": _summary_row(0.08, nwj_mae_2), "ksg": _summary_row(ksg_rel[0], 0.1)},
        "20": {"mine": _summary_row(mine_rel_20, 0.50), "nwj": _summary_row(0.30, 0.90), "ksg": _summary_row(ksg_rel[1], 2.0)},
    }
    claims = gaussian._claims(summary, (2, 20), [])
    got = tuple(claims[k]["holds"] for k in ("mine_close_to_truth", "ksg_good_low_worse_high", "mine_tighter_than_minef"))
    assert got == expected
    assert claims["mine_close_to_truth"]["mean_rel_error"] == {"2": 0.05, "20": mine_rel_20}
    assert claims["ksg_good_low_worse_high"]["mean_rel_error"] == {"2": ksg_rel[0], "20": ksg_rel[1]}
    assert claims["mine_tighter_than_minef"]["per_dim"]["2"]["mine_minus_nwj"] is None  # no points given
    # without MINE or NWJ the claims about them are not made
    only_ksg = {d: {"ksg": row["ksg"]} for d, row in summary.items()}
    assert set(gaussian._claims(only_ksg, (2, 20), [])) == {"criterion", "ksg_good_low_worse_high"}


def test_quick_estimates_track_the_truth(quick: dict[str, Any]) -> None:
    """At the quick setting every method already follows the truth (within 0.35 nats for the
    neural bounds, 0.15 for KSG); a broken estimator does not."""
    for method, tol in (("mine", 0.35), ("nwj", 0.35), ("dv", 0.35), ("infonce", 0.35), ("ksg", 0.15)):
        ps = [p for p in quick["points"] if p["method"] == method]
        truth = np.array([p["truth"] for p in ps])
        est = np.array([p["estimate"] for p in ps])
        assert np.corrcoef(truth, est)[0, 1] > 0.97, method
        assert np.max(np.abs(est - truth)) < tol, (method, est, truth)
    mine = {p["rho"]: p["estimate"] for p in quick["points"] if p["method"] == "mine"}
    assert mine[0.0] < 0.1 and mine[0.9] > 1.2 and mine[-0.9] > 1.2


def test_plot_writes_png(quick: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "figure.png"
    gaussian.plot(quick, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "MINE" in gaussian.summarize(quick)


def test_plot_marks_off_scale_points(quick: dict[str, Any], tmp_path: Path) -> None:
    """A wildly overshooting estimate (DV at high MI) is drawn on the panel's edge, not rescaled."""
    results = json.loads(json.dumps(quick))
    next(c for c in results["curves"] if c["method"] == "dv")["mean"] = 7000.0
    gaussian.plot(results, tmp_path / "f.png")
    assert (tmp_path / "f.png").stat().st_size > 1000


def test_same_seed_same_numbers() -> None:
    cfg = gaussian.quick_config(rhos=(0.5,), methods=("mine", "ksg"), steps=50, progress=False)
    a, b = gaussian.run(cfg), gaussian.run(cfg)
    assert [p["estimate"] for p in a["points"]] == [p["estimate"] for p in b["points"]]


def test_cli_quick(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    argv = ["experiment", "gaussian", "--quick", "--quiet", "--out", str(out), "--methods", "mine,ksg", "--seeds", "1"]
    assert main(argv) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["config"]["methods"] == ["mine", "ksg"]
    assert len(results["points"]) == 4 * 2
    assert (out / "figure.png").stat().st_size > 1000
    assert "wrote" in capsys.readouterr().out


def test_cli_rejects_bad_rho(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["experiment", "gaussian", "--quick", "--quiet", "--out", str(tmp_path), "--rhos", "0.5,1.0"]) == 2
    assert "rhos" in capsys.readouterr().err


def test_config_from_args() -> None:
    ns = argparse.Namespace(quick=True, seeds=3, device="cpu", quiet=True, dims=None, rhos=(0.1, 0.2),
                            methods=None, with_default=True, n_samples=None, steps=None)
    cfg = gaussian.config_from_args(ns)
    assert cfg.seeds == 3 and cfg.device == "cpu" and cfg.progress is False
    assert cfg.rhos == (0.1, 0.2) and cfg.methods[-1] == "neuralmi"
    assert cfg.steps == gaussian.quick_config().steps
    full = gaussian.config_from_args(argparse.Namespace(quick=False, seeds=None, device="auto", quiet=False))
    assert full == gaussian.Config(device="auto")
    assert len(full.rhos) >= 15 and {-0.99, 0.0, 0.99} <= set(full.rhos) and full.dims == (2, 20)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"rhos": (0.5, 1.0)}, "rhos"),
        ({"rhos": ()}, "rhos"),
        ({"dims": (0,)}, "dims"),
        ({"methods": ("mine", "magic")}, "methods"),
        ({"seeds": 0}, "seeds"),
        ({"batch_size": 10_000}, "batch_size"),
        ({"lr": -1.0}, "lr"),
        ({"infonce_critic": "bilinear"}, "infonce_critic"),
        ({"patience": 0}, "patience"),
    ],
)
def test_config_validation(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        gaussian.Config(**changes)


def test_run_rejects_other_config() -> None:
    with pytest.raises(TypeError, match="Config"):
        gaussian.run({"dims": (2,)})  # type: ignore[arg-type]
