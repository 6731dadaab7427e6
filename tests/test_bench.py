"""Tests of ``neuralmi bench`` (src/neuralmi/bench/) and the peers' runner protocol.

Everything runs on tiny grids (a few tasks, n of a few hundred, closed-form or KSG
estimators; one neural fit of 20 steps). The peers are played by a fake "Python" (a small
script that speaks the runner's JSON-lines protocol), so no peers' environment is needed.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import os
import re
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from neuralmi import bench, tasks
from neuralmi.cli import main
from neuralmi.nonparametric import gaussian_mi

TWO_TASKS = "gauss-d1-rho0.5,gauss-d2-rho0.5"


def run(*argv: str) -> int:
    return main(["bench", *argv, "--quiet"])


def rows_of(out: Path) -> list[dict[str, str]]:
    with (out / "results.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


def load_runner():  # type: ignore[no-untyped-def]
    """The peers' runner script, loaded by path (it is package data, not a module of neuralmi)."""
    spec = importlib.util.spec_from_file_location("peers_runner_under_test", bench.runner_path())
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def counting(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Record every cell our methods compute (and still compute it)."""
    calls: list[tuple[str, int]] = []
    real = bench.grid._run_ours

    def spy(method, x, y, seed, options, timeout, **extra):  # type: ignore[no-untyped-def]
        calls.append((method, seed))
        return real(method, x, y, seed, options, timeout, **extra)

    monkeypatch.setattr(bench.grid, "_run_ours", spy)
    return calls


# ------------------------------------------------------------------------------------------
# the grid, the files, resumption
# ------------------------------------------------------------------------------------------


def test_tiny_grid_writes_every_file_with_correct_rows(tmp_path: Path) -> None:
    out = tmp_path / "b"
    assert run("--tasks", TWO_TASKS, "--methods", "gaussian,ksg", "--n", "400", "--seeds", "2", "--out", str(out)) == 0
    for name in ("results.csv", "results.json", "summary.md", "figure.png", "tasks.png", "config.json"):
        assert (out / name).stat().st_size > 0, name
    rows = rows_of(out)
    assert list(rows[0]) == list(bench.COLUMNS)
    assert sorted((r["task"], r["method"], r["seed"]) for r in rows) == sorted(
        (t, m, str(s)) for t in TWO_TASKS.split(",") for m in ("gaussian", "ksg") for s in (0, 1)
    )
    for r in rows:
        task = tasks.get(r["task"])
        assert float(r["truth"]) == task.mi
        assert (r["family"], int(r["dim_x"]), int(r["dim_y"]), int(r["n"])) == (task.family, task.dim_x, task.dim_y, 400)
        assert r["library"] == "neuralmi" and r["error"] == ""
        assert float(r["abs_error"]) == pytest.approx(abs(float(r["estimate"]) - task.mi), abs=1e-15)
        assert float(r["seconds"]) >= 0
        if r["method"] == "gaussian":  # the very samples of (task, seed), estimated in closed form
            x, y = task.sample(400, seed=int(r["seed"]))
            assert float(r["estimate"]) == pytest.approx(gaussian_mi(x, y), rel=1e-12)
    js = json.loads((out / "results.json").read_text())
    assert len(js) == len(rows) and {k for k in js[0]} == set(bench.COLUMNS)
    summary = (out / "summary.md").read_text()
    assert "| gaussian | neuralmi | 2 | 4 | 0 |" in summary and "gaussian (2)" in summary


def test_bench_end_to_end_on_two_tiny_tasks_without_the_peers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The whole command through ``neuralmi.cli.main``: two tasks, a closed form, KSG and one
    (short) neural fit; rows, summary and figures written, the summary also printed."""
    out = tmp_path / "b"
    code = main(["bench", "--tasks", TWO_TASKS, "--methods", "gaussian,ksg,mine", "--n", "300", "--seeds", "1",
                 "--options", "steps=20", "hidden=(16,)", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    rows = rows_of(out)
    assert sorted((r["task"], r["method"], r["seed"]) for r in rows) == sorted(
        (t, m, "0") for t in TWO_TASKS.split(",") for m in ("gaussian", "ksg", "mine"))
    for r in rows:
        assert r["error"] == "" and math.isfinite(float(r["estimate"])) and r["library"] == "neuralmi"
        assert float(r["truth"]) == tasks.get(r["task"]).mi
    summary = (out / "summary.md").read_text()
    assert summary.startswith("# neuralmi bench") and summary in printed
    for method in ("gaussian", "ksg", "mine"):
        assert f"| {method} | neuralmi | 2 | 2 | 0 |" in summary
    for name in ("figure.png", "tasks.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG", name
    assert json.loads((out / "config.json").read_text())["options"] == {"hidden": [16], "steps": 20}


def test_second_run_computes_nothing_and_a_deleted_row_is_recomputed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "b"
    args = ("--tasks", TWO_TASKS, "--methods", "gaussian,ksg", "--n", "300", "--seeds", "2", "--out", str(out))
    calls = counting(monkeypatch)
    assert run(*args) == 0
    assert len(calls) == 8
    before = (out / "results.csv").read_text()
    calls.clear()
    assert run(*args) == 0
    assert calls == []
    assert (out / "results.csv").read_text() == before

    rows = rows_of(out)
    victim = next(r for r in rows if r["method"] == "ksg" and r["seed"] == "1" and r["task"] == "gauss-d2-rho0.5")
    with (out / "results.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=bench.COLUMNS)
        writer.writeheader()
        writer.writerows(r for r in rows if r is not victim)
    assert run(*args) == 0
    assert calls == [("ksg", 1)]
    again = {(r["task"], r["method"], r["seed"]): r for r in rows_of(out)}
    assert len(again) == 8 == len(rows_of(out))
    # same samples, same seed: the recomputed cell has the same estimate
    assert again[("gauss-d2-rho0.5", "ksg", "1")]["estimate"] == victim["estimate"]


def test_a_cut_short_last_line_is_dropped_and_recomputed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "b"
    args = ("--tasks", "gauss-d1-rho0.5", "--methods", "gaussian", "--n", "200", "--seeds", "2", "--out", str(out))
    assert run(*args) == 0
    text = (out / "results.csv").read_text().splitlines(keepends=True)
    (out / "results.csv").write_text("".join(text[:-1]) + text[-1][:25])  # a crash mid-write
    calls = counting(monkeypatch)
    assert run(*args) == 0
    assert calls == [("gaussian", 1)]
    assert len(rows_of(out)) == 2


def test_growing_the_grid_runs_only_the_new_cells(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "b"
    assert run("--tasks", "gauss-d1-rho0.5", "--methods", "gaussian", "--n", "200", "--seeds", "1", "--out", str(out)) == 0
    calls = counting(monkeypatch)
    assert run("--tasks", "gauss-d1-rho0.5", "--methods", "gaussian,ksg", "--n", "200", "--seeds", "2", "--out", str(out)) == 0
    assert sorted(calls) == [("gaussian", 1), ("ksg", 0), ("ksg", 1)]


def test_methods_that_do_not_fit_the_dimension_are_left_out(tmp_path: Path) -> None:
    out = tmp_path / "b"
    grid = "gauss-d1-rho0.5,gauss-d5-rho0.75"
    assert run("--tasks", grid, "--methods", "binned,ksg_lnc,gaussian", "--n", "200", "--seeds", "1", "--out", str(out)) == 0
    cells = {(r["task"], r["method"]) for r in rows_of(out)}
    assert cells == {
        ("gauss-d1-rho0.5", "binned"),
        ("gauss-d1-rho0.5", "ksg_lnc"),
        ("gauss-d1-rho0.5", "gaussian"),
        ("gauss-d5-rho0.75", "gaussian"),
    }
    assert bench.applicable("binned", 2, 2) is None and bench.applicable("binned", 3, 2) is not None
    assert bench.applicable("ksg_lnc", 2, 3) is None and bench.applicable("ksg_lnc", 3, 3) is not None


def test_a_neural_method_with_options_runs_and_the_options_are_pinned(tmp_path: Path) -> None:
    out = tmp_path / "b"
    assert run("--tasks", "gauss-d1-rho0.5", "--methods", "mine", "--n", "300", "--seeds", "1",
               "--options", "steps=20", "hidden=(16,)", "--out", str(out)) == 0
    (row,) = rows_of(out)
    assert row["method"] == "mine" and row["error"] == "" and math.isfinite(float(row["estimate"]))
    config = json.loads((out / "config.json").read_text())
    assert config["options"] == {"hidden": [16], "steps": 20}
    assert config["neural_defaults"] == bench.neural_defaults()
    assert "--options" in config["command"]


def test_failures_are_recorded_not_fatal_and_can_be_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "b"
    real = bench.grid._estimate_ours

    def flaky(method, x, y, seed, options):  # type: ignore[no-untyped-def]
        if method == "ksg":
            raise RuntimeError("boom\nsecond line")
        if method == "binned":
            return float("nan"), None, []
        return real(method, x, y, seed, options)

    monkeypatch.setattr(bench.grid, "_estimate_ours", flaky)
    args = ("--tasks", "gauss-d1-rho0.5", "--methods", "ksg,binned,gaussian", "--n", "200", "--seeds", "1", "--out", str(out))
    assert run(*args) == 0
    rows = {r["method"]: r for r in rows_of(out)}
    assert rows["ksg"]["error"] == "RuntimeError: boom" and rows["ksg"]["estimate"] == ""
    assert rows["binned"]["error"].startswith("non-finite estimate") and rows["binned"]["abs_error"] == ""
    assert rows["gaussian"]["error"] == ""
    assert "| ksg | neuralmi | 1 | 1 | 1 | - |" in (out / "summary.md").read_text()

    monkeypatch.setattr(bench.grid, "_estimate_ours", real)
    assert run(*args) == 0  # errors are results: not recomputed by default
    assert rows_of(out)[0]["error"] == "RuntimeError: boom"
    assert run(*args, "--retry-errors") == 0
    rows = rows_of(out)
    assert len(rows) == 3 and all(r["error"] == "" for r in rows)


def test_our_estimate_is_abandoned_after_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    def slow(method, x, y, seed, options):  # type: ignore[no-untyped-def]
        while True:
            time.sleep(0.01)

    monkeypatch.setattr(bench.grid, "_estimate_ours", slow)
    out = bench.grid._run_ours("ksg", np.zeros((5, 1)), np.zeros((5, 1)), 0, {}, 0.2)
    assert out["estimate"] is None and out["error"].startswith("_Timeout: timed out after 0.2 s")
    assert 0.2 <= out["seconds"] < 2


# ------------------------------------------------------------------------------------------
# errors: one line, exit status 2
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--tasks", "no-such-task*"], "no task matches 'no-such-task*'"),
        (["--methods", "mine,foo"], "unknown method 'foo'"),
        (["--methods", "bmi:ksg"], "is a peer method"),
        (["--peer-methods", "bmi:ksg"], "--peer-methods: only with --peers"),
        (["--peers", "--peers-python", "/no/such/python"], "setup_peers.sh"),
        (["--peers", "--peers-python", sys.executable, "--peer-methods", "bmi:nope"], "unknown peer method 'bmi:nope'"),
        (["--options", "stepz=5"], "unknown option"),
        (["--options", "steps"], "expected KEY=VALUE"),
        (["--options", "seed=3"], "set by the benchmark"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    assert run(*argv, "--out", str(tmp_path / "b")) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("neuralmi: error: ") and message in err and "\n" not in err
    assert not (tmp_path / "b" / "results.csv").exists()


def test_resuming_with_other_settings_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "b"
    assert run("--tasks", "gauss-d1-rho0.5", "--methods", "gaussian", "--n", "200", "--seeds", "1", "--out", str(out)) == 0
    capsys.readouterr()
    assert run("--tasks", "gauss-d1-rho0.5", "--methods", "gaussian", "--n", "300", "--seeds", "1", "--out", str(out)) == 2
    assert "n = 200" in capsys.readouterr().err
    config = json.loads((out / "config.json").read_text())
    config["neural_defaults"]["lr"] = 123.0
    (out / "config.json").write_text(json.dumps(config))
    assert run("--tasks", "gauss-d1-rho0.5", "--methods", "gaussian", "--n", "200", "--seeds", "1", "--out", str(out)) == 2
    assert "other neural default settings (lr: 123.0 ->" in capsys.readouterr().err


def test_missing_default_peers_environment_says_how_to_create_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(bench.cli, "default_peers_python", lambda kind="mi": None)
    assert run("--peers", "--tasks", "gauss-d1-rho0.5", "--out", str(tmp_path / "b")) == 2
    assert "bash benchmarks/setup_peers.sh .venv-peers" in capsys.readouterr().err
    assert run("--suite", "conditional", "--peers", "--out", str(tmp_path / "c")) == 2
    err = capsys.readouterr().err
    assert ".venv-cmi-peers was not found" in err and "pip install npeet-plus==0.2.0 infomeasure==0.6.3 scikit-learn" in err


# ------------------------------------------------------------------------------------------
# the peers, played by a fake Python that speaks the runner's protocol
# ------------------------------------------------------------------------------------------

FAKE_PEERS = """\
#!{python}
# A stand-in for the peers' Python: ignores the runner path, speaks the --serve protocol.
#   bmi:cca      -> the Gaussian closed form of the samples (like the real one)
#   bmi:ksg      -> a NaN estimate, reported as an error (like the runner does)
#   torch_mist:js -> the process dies on the first call (a marker file), works afterwards
#   torch_mist:smile -> hangs (for the time-out test)
import json, os, sys, time
import numpy as np
LOG = {log!r}
MARK = {mark!r}
def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\\n"); sys.stdout.flush()
emit({{"event": "ready", "protocol": 1, "missing": [], "versions": {{"fake": "1"}},
      "methods": ["bmi:ksg", "bmi:cca", "torch_mist:js", "torch_mist:smile"]}})
for line in sys.stdin:
    job = json.loads(line)
    with open(LOG, "a") as fh:
        fh.write(json.dumps(job) + "\\n")
    with np.load(job["samples"]) as d:
        x, y = d["x"], d["y"]
    for m in job["methods"]:
        emit({{"event": "start", "id": job["id"], "method": m}})
        rec = {{"event": "record", "id": job["id"], "library": m.split(":")[0], "method": m,
               "estimate": None, "seconds": 0.25, "error": None}}
        if m == "bmi:cca":
            c = np.corrcoef(np.hstack([x, y]).T)
            dx = x.shape[1]
            rec["estimate"] = 0.5 * float(np.linalg.slogdet(c[:dx, :dx])[1] + np.linalg.slogdet(c[dx:, dx:])[1] - np.linalg.slogdet(c)[1])
        elif m == "bmi:ksg":
            rec["error"] = "non-finite estimate: nan"
        elif m == "torch_mist:js":
            if not os.path.exists(MARK):
                open(MARK, "w").close()
                os._exit(3)
            rec["estimate"] = 0.125
        elif m == "torch_mist:smile":
            time.sleep(60)
        emit(rec)
    emit({{"event": "done", "id": job["id"]}})
"""


@pytest.fixture
def fake_peers(tmp_path: Path) -> tuple[Path, Path]:
    log = tmp_path / "jobs.log"
    script = tmp_path / "fake-python"
    script.write_text(FAKE_PEERS.format(python=sys.executable, log=str(log), mark=str(tmp_path / "crashed")))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, log


def jobs(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_peers_run_on_the_same_samples_failures_recorded_and_resumed(tmp_path: Path, fake_peers: tuple[Path, Path]) -> None:
    python, log = fake_peers
    out = tmp_path / "b"
    args = ("--tasks", TWO_TASKS, "--methods", "gaussian", "--n", "300", "--seeds", "2", "--peer-seeds", "1",
            "--peers", "--peers-python", str(python), "--peer-methods", "bmi:cca,bmi:ksg,torch_mist:js", "--out", str(out))
    assert run(*args) == 0
    rows = {(r["task"], r["method"], r["seed"]): r for r in rows_of(out)}
    assert len(rows) == 2 * 2 + 2 * 3  # ours on 2 seeds, the peers on seed 0 only
    for task in TWO_TASKS.split(","):
        ours, cca = rows[(task, "gaussian", "0")], rows[(task, "bmi:cca", "0")]
        assert cca["library"] == "bmi" and cca["seconds"] == "0.25"
        assert float(cca["estimate"]) == pytest.approx(float(ours["estimate"]), rel=1e-9)  # same samples
        assert rows[(task, "bmi:ksg", "0")]["error"] == "non-finite estimate: nan"
    crashed = rows[("gauss-d1-rho0.5", "torch_mist:js", "0")]
    assert crashed["estimate"] == "" and "exited (status 3" in crashed["error"]
    assert float(rows[("gauss-d2-rho0.5", "torch_mist:js", "0")]["estimate"]) == 0.125  # restarted
    assert not (out / ".samples").exists()  # the samples files are removed after use
    config = json.loads((out / "config.json").read_text())
    assert config["peers"]["versions"] == {"fake": "1"}

    n_jobs = len(jobs(log))
    assert run(*args) == 0
    assert len(jobs(log)) == n_jobs  # nothing recomputed
    assert run(*args, "--retry-errors") == 0
    retried = jobs(log)[n_jobs:]
    assert sorted(tuple(j["methods"]) for j in retried) == [("bmi:ksg",), ("bmi:ksg", "torch_mist:js")]
    rows = {(r["task"], r["method"], r["seed"]): r for r in rows_of(out)}
    assert float(rows[("gauss-d1-rho0.5", "torch_mist:js", "0")]["estimate"]) == 0.125
    assert len(rows) == 10


def test_a_silent_peer_is_killed_after_the_timeout(tmp_path: Path, fake_peers: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    python, _ = fake_peers
    monkeypatch.setattr(bench.peers, "_PEERS_GRACE", 0.5)
    out = tmp_path / "b"
    assert run("--tasks", "gauss-d1-rho0.5", "--methods", "none", "--n", "200", "--seeds", "1", "--timeout", "0.5",
               "--peers", "--peers-python", str(python), "--peer-methods", "torch_mist:smile,bmi:cca", "--out", str(out)) == 0
    rows = {r["method"]: r for r in rows_of(out)}
    assert rows["torch_mist:smile"]["error"].startswith("killed: the peers' process gave no answer for 1 s")
    assert math.isfinite(float(rows["bmi:cca"]["estimate"]))


def test_the_real_runner_reports_missing_libraries(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the test environment has neither bmi nor torch_mist: the runner starts, says so, bench stops
    assert run("--tasks", "gauss-d1-rho0.5", "--methods", "none", "--peers", "--peers-python", sys.executable,
               "--peer-methods", "bmi:cca", "--out", str(tmp_path / "b")) == 2
    assert "lacks bmi" in capsys.readouterr().err


def test_runner_serve_protocol(tmp_path: Path) -> None:
    samples = tmp_path / "s.npz"
    np.savez(samples, x=np.arange(10.0), y=np.arange(10.0) ** 2)
    jobs_in = "\n".join([
        json.dumps({"id": "a", "samples": str(tmp_path / "missing.npz"), "seed": 0, "methods": ["bmi:cca"]}),
        "not json",
        json.dumps({"id": "b", "samples": str(samples), "seed": 0, "methods": ["bmi:nope"]}),
        json.dumps({"id": "c", "samples": str(samples), "seed": 0, "methods": ["bmi:cca"], "timeout": 30}),
    ]) + "\n"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, str(bench.runner_path()), "--serve"], input=jobs_in, capture_output=True,
                          text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    ready = events[0]
    assert ready["event"] == "ready" and ready["protocol"] == 1 and "bmi:cca" in ready["methods"]
    assert set(bench.DEFAULT_PEERS) <= set(ready["methods"])
    assert {"bmi", "torch_mist"} <= set(ready["missing"])  # the test environment has neither
    rest = [(e["event"], e.get("id"), e.get("method"), (e.get("error") or "").split(":")[0]) for e in events[1:]]
    assert rest == [
        ("record", "a", "bmi:cca", "bad job"),
        ("done", "a", None, ""),
        ("done", None, None, "bad job line"),
        ("record", "b", "bmi:nope", "bad job"),
        ("done", "b", None, ""),
        ("start", "c", "bmi:cca", ""),
        ("record", "c", "bmi:cca", "ModuleNotFoundError"),
        ("done", "c", None, ""),
    ]


# ------------------------------------------------------------------------------------------
# pieces
# ------------------------------------------------------------------------------------------


def test_summary_statistics_are_exact() -> None:
    def row(task: str, family: str, method: str, seed: int, est: float | None, truth: float, secs: float) -> dict:
        return {"task": task, "family": family, "dim_x": 1, "dim_y": 1, "n": 100, "method": method,
                "library": "neuralmi", "seed": seed, "estimate": est, "stderr": None, "truth": truth,
                "abs_error": None if est is None else abs(est - truth), "seconds": secs,
                "error": None if est is not None else "x", "warnings": None}

    rows = [
        row("a", "f1", "mine", 0, 1.1, 1.0, 2.0), row("a", "f1", "mine", 1, 0.7, 1.0, 4.0),
        row("b", "f2", "mine", 0, 2.0, 2.0, 9.0),
        row("a", "f1", "ksg", 0, 1.0, 1.0, 1.0), row("a", "f1", "ksg", 1, None, 1.0, 5.0),
        row("b", "f2", "ksg", 0, 1.5, 2.0, 3.0),
    ]
    s = bench.summary_stats(rows)
    mine, ksg = s["methods"]["mine"], s["methods"]["ksg"]
    assert mine["mae"] == pytest.approx((0.1 + 0.3 + 0.0) / 3) and mine["median_seconds"] == 4.0
    assert ksg["mae"] == pytest.approx(0.25) and ksg["failed"] == 1 and ksg["median_seconds"] == 2.0
    assert mine["families"]["f1"]["mae"] == pytest.approx(0.2) and ksg["families"]["f2"]["mae"] == 0.5
    assert (mine["best_on"], ksg["best_on"]) == (2, 0)  # a failed cell makes ksg ineligible on task a
    assert s["families"] == {"f1": 1, "f2": 1}
    text = bench.summarize(rows)
    assert "| mine | neuralmi | 2 | 3 | 0 | 0.133 | 4.00 | 2 |" in text


def test_parse_options_and_selections() -> None:
    assert bench.parse_options(["steps=50", "hidden=(32, 32)", "transform=rank", "lr=1e-3"]) == {
        "steps": 50, "hidden": (32, 32), "transform": "rank", "lr": 1e-3}
    assert bench.resolve_methods("neural,ksg") == [*bench.NEURAL_METHODS, "ksg"]
    assert bench.resolve_methods("none") == []
    assert bench.resolve_peer_methods(None) == list(bench.DEFAULT_PEERS)
    assert bench.resolve_peer_methods("torch_mist:js,bmi") [:2] == ["torch_mist:js", "bmi:ksg"]
    assert not set(bench.SLOW_PEERS) & set(bench.DEFAULT_PEERS)
    assert bench.resolve_tasks(None) == list(tasks.BENCHMARK)
    assert bench.resolve_tasks("gauss-d2-rho0.5,gauss-d1-*") == ["gauss-d1-rho0.5", "gauss-d2-rho0.5"]  # suite order


def test_peers_wrapper_script_reexports_the_runner() -> None:
    root = Path(__file__).resolve().parents[1]
    code = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {str(root / 'benchmarks')!r})
        import peers
        print(len(peers.METHODS), peers.resolve_methods('bmi:ksg,torch_mist:js'))
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split(" ", 1)[1].strip() == "['bmi:ksg', 'torch_mist:js']"


# ------------------------------------------------------------------------------------------
# the runner is a script shipped with the package, outside its import graph
# ------------------------------------------------------------------------------------------


def test_runner_ships_as_a_script_and_no_module_imports_it() -> None:
    path = bench.runner_path()
    assert path.is_file() and path.name == "peers_runner.py"
    assert not (path.parent / "__init__.py").exists()  # a folder of scripts, not a package
    src = Path(bench.__file__).resolve().parents[1]  # src/neuralmi
    importing = re.compile(r"^\s*(from|import)\s+\S*peers_runner", re.M)
    assert [p for p in src.rglob("*.py") if importing.search(p.read_text(encoding="utf-8"))] == []
    code = textwrap.dedent("""
        import sys
        import neuralmi.bench, neuralmi.cli
        print([m for m in sys.modules if "peers_runner" in m or m.startswith("neuralmi.bench.scripts")])
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_the_bench_knows_the_runners_methods() -> None:
    runner = load_runner()
    assert list(runner.METHODS) == list(bench.PEER_METHODS)
    mi_peers = [m for m, spec in runner.METHODS.items() if spec.kind == "mi"]
    assert set(bench.DEFAULT_PEERS) | set(bench.SLOW_PEERS) == set(mi_peers)
    assert not set(bench.DEFAULT_PEERS) & set(bench.SLOW_PEERS)
    # selections resolve as the runner's own resolver does, within the kind of suite
    for text in ("all", "bmi", "torch_mist", "torch_mist:js,bmi"):
        assert bench.resolve_peer_methods(text) == [m for m in runner.resolve_methods(text) if m in mi_peers], text
    for kind, peers in (("conditional", bench.CONDITIONAL_PEERS), ("discrete", bench.DISCRETE_PEERS)):
        assert [m for m, spec in runner.METHODS.items() if spec.kind == kind] == list(peers)
        assert bench.resolve_peer_methods(None, kind) == bench.resolve_peer_methods("all", kind) == list(peers)


def test_the_runner_time_limit_interrupts_a_python_loop() -> None:
    import time

    runner = load_runner()
    start = time.perf_counter()
    with pytest.raises(runner._Timeout, match="timed out after 0.2 s"):
        with runner._time_limit(0.2):
            while True:
                time.sleep(0.01)
    assert time.perf_counter() - start < 2


# ------------------------------------------------------------------------------------------
# suites (--suite beyond-normal) and several sample sizes (--n 1000,5000,10000)
# ------------------------------------------------------------------------------------------

BN_TWO = "1v1-normal-0.75,multinormal-dense-2-2-0.5"


def test_the_beyond_normal_suite_selects_benchmark_mis_40_tasks(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert bench.resolve_tasks(None, "beyond-normal") == tasks.BEYOND_NORMAL
    assert len(bench.suite_tasks("beyond-normal")) == 40
    assert bench.resolve_tasks("multinormal-dense-*,1v1-normal-0.75", "beyond-normal") == [
        "1v1-normal-0.75", *(f"multinormal-dense-{d}-{d}-0.5" for d in (2, 3, 5, 25, 50))]  # bmi's order
    # the default suite is unchanged
    assert bench.resolve_tasks(None) == bench.resolve_tasks("all", "default") == list(tasks.BENCHMARK)
    with pytest.raises(bench.BenchError, match="add --suite beyond-normal"):
        bench.resolve_tasks("1v1-normal-0.75")
    with pytest.raises(bench.BenchError, match="in the beyond-normal suite"):
        bench.resolve_tasks("gauss-d1-rho0.5", "beyond-normal")
    with pytest.raises(SystemExit) as exc:
        run("--suite", "nope", "--out", str(tmp_path / "b"))
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("neuralmi: error: argument --suite: invalid choice") and err.count("\n") == 1


def test_sample_sizes_argument() -> None:
    import argparse

    assert bench.cli.sample_sizes("1000,5000,10000") == (1000, 5000, 10000)
    assert bench.cli.sample_sizes("5000, 1000,5000") == (1000, 5000)
    assert bench.cli.sample_sizes("10_000") == (10_000,)
    for bad in ("1000,x", "", "5,100"):
        with pytest.raises(argparse.ArgumentTypeError):
            bench.cli.sample_sizes(bad)
    config = bench.BenchConfig(tasks=("gauss-d1-rho0.5",), methods=("gaussian",), n=(400, 200, 400))
    assert config.n == (200, 400)
    assert bench.BenchConfig(tasks=("gauss-d1-rho0.5",), methods=("gaussian",), n=300).n == (300,)
    with pytest.raises(bench.BenchError, match="at least 10"):
        bench.BenchConfig(tasks=("gauss-d1-rho0.5",), methods=("gaussian",), n=(5, 100))


def test_several_sample_sizes_on_the_beyond_normal_suite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "b"
    args = ("--suite", "beyond-normal", "--tasks", BN_TWO, "--methods", "gaussian,ksg", "--n", "400,200", "--seeds", "2",
            "--out", str(out))
    calls = counting(monkeypatch)
    assert run(*args) == 0
    assert len(calls) == 2 * 2 * 2 * 2
    rows = rows_of(out)
    assert sorted((r["task"], r["method"], r["seed"], r["n"]) for r in rows) == sorted(
        (t, m, str(s), str(n)) for t in BN_TWO.split(",") for m in ("gaussian", "ksg") for s in (0, 1) for n in (200, 400))
    for r in rows:
        task = tasks.get(r["task"])
        assert float(r["truth"]) == task.mi and r["error"] == ""
        if r["method"] == "gaussian":  # the very samples of (task, n, seed)
            x, y = task.sample(int(r["n"]), seed=int(r["seed"]))
            assert float(r["estimate"]) == pytest.approx(gaussian_mi(x, y), rel=1e-12)
    config = json.loads((out / "config.json").read_text())
    assert config["n"] == [200, 400]
    assert "--suite beyond-normal" in config["command"] and "--n 200,400" in config["command"]
    assert config["versions"]["git_commit"] is None or re.fullmatch(r"[0-9a-f]{40}", config["versions"]["git_commit"])
    summary = (out / "summary.md").read_text()
    assert "| method | library | n = 200 | n = 400 | seed-mean n = 200 | seed-mean n = 400 | failed |" in summary
    assert "## n = 200" in summary and "## n = 400" in summary
    per_n = bench.summary_by_n(bench.read_results(out / "results.csv"))
    mae_200 = np.mean([float(r["abs_error"]) for r in rows if r["method"] == "ksg" and r["n"] == "200"])
    assert per_n[200]["methods"]["ksg"]["mae"] == pytest.approx(mae_200, rel=1e-12)
    assert f"| ksg | neuralmi | {mae_200:.3f} |" in summary
    for name in ("figure.png", "tasks.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG", name

    # resuming: nothing recomputed; a run over some of the sizes resumes them too
    calls.clear()
    assert run(*args) == 0 and calls == []
    assert run(*args[:7], "200", *args[8:]) == 0 and calls == []
    assert json.loads((out / "config.json").read_text())["n"] == [200, 400]
    # a deleted cell of one size is recomputed at that size only
    victim = next(r for r in rows if r["method"] == "ksg" and r["n"] == "400" and r["seed"] == "1")
    with (out / "results.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=bench.COLUMNS)
        writer.writeheader()
        writer.writerows(r for r in rows if r is not victim)
    assert run(*args) == 0 and calls == [("ksg", 1)]
    assert len(rows_of(out)) == 16
    # a size the folder was not made with is refused
    capsys.readouterr()
    assert run(*args[:7], "200,800", *args[8:]) == 2
    assert "n = [200, 400]" in capsys.readouterr().err


def test_a_folder_of_one_size_resumes_and_keeps_its_pin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "b"
    args = ("--tasks", "gauss-d1-rho0.5", "--methods", "gaussian", "--n", "200", "--seeds", "1", "--out", str(out))
    assert run(*args) == 0
    assert json.loads((out / "config.json").read_text())["n"] == 200  # a number, as before
    calls = counting(monkeypatch)
    assert run(*args) == 0 and calls == []
    assert "--n" in json.loads((out / "config.json").read_text())["command"]


def test_peers_cells_record_their_sample_size(tmp_path: Path, fake_peers: tuple[Path, Path]) -> None:
    python, log = fake_peers
    out = tmp_path / "b"
    assert run("--suite", "beyond-normal", "--tasks", "multinormal-dense-2-2-0.5", "--methods", "gaussian", "--n", "200,300",
               "--seeds", "1", "--peers", "--peers-python", str(python), "--peer-methods", "bmi:cca", "--out", str(out)) == 0
    rows = {(r["method"], r["n"]): r for r in rows_of(out)}
    assert set(rows) == {("gaussian", "200"), ("gaussian", "300"), ("bmi:cca", "200"), ("bmi:cca", "300")}
    for n in ("200", "300"):  # the peers saw the samples of that size
        assert float(rows[("bmi:cca", n)]["estimate"]) == pytest.approx(float(rows[("gaussian", n)]["estimate"]), rel=1e-9)
    assert sorted(Path(j["samples"]).name for j in jobs(log)) == [
        "multinormal-dense-2-2-0.5-n200-s0.npz", "multinormal-dense-2-2-0.5-n300-s0.npz"]


def test_summary_by_n_and_the_seed_mean_error_are_exact() -> None:
    def row(task: str, n: int, method: str, seed: int, est: float | None, truth: float, secs: float) -> dict:
        return {"task": task, "family": "f", "dim_x": 1, "dim_y": 1, "n": n, "method": method,
                "library": "neuralmi", "seed": seed, "estimate": est, "stderr": None, "truth": truth,
                "abs_error": None if est is None else abs(est - truth), "seconds": secs,
                "error": None if est is not None else "x", "warnings": None}

    rows = [
        row("a", 100, "mine", 0, 1.2, 1.0, 1.0), row("a", 100, "mine", 1, 0.9, 1.0, 3.0),
        row("b", 100, "mine", 0, 2.5, 2.0, 2.0), row("b", 100, "mine", 1, None, 2.0, 9.0),
        row("a", 1000, "mine", 0, 1.0, 1.0, 5.0), row("a", 1000, "mine", 1, 1.1, 1.0, 7.0),
    ]
    per_n = bench.summary_by_n(rows)
    assert list(per_n) == [100, 1000]
    small = per_n[100]["methods"]["mine"]
    assert small["mae"] == pytest.approx((0.2 + 0.1 + 0.5) / 3) and small["failed"] == 1
    assert small["mae_seed_mean"] == pytest.approx((0.05 + 0.5) / 2)  # task a: mean 1.05; task b: 2.5
    assert small["median_seconds"] == 2.0
    assert per_n[1000]["methods"]["mine"]["mae_seed_mean"] == pytest.approx(0.05)
    text = bench.summarize(rows, title="t")
    assert "| mine | neuralmi | 0.267 | 0.050 | 0.275 | 0.050 | 1 |" in text
    assert "| mine | 2.00 | 6.00 |" in text


# ------------------------------------------------------------------------------------------
# the conditional and discrete suites (--suite conditional, --suite discrete)
# ------------------------------------------------------------------------------------------

C_TWO = "cgauss-1x1-z1-cmi0.5,chain-gauss-1x1-z1"
D_TWO = "labels-line-k2-d1-sp2,channel-k5-e0.2"


def test_the_conditional_and_discrete_suites_select_their_tasks_and_methods() -> None:
    assert bench.resolve_tasks(None, "conditional") == tasks.conditional_names()
    assert bench.resolve_tasks(None, "discrete") == tasks.discrete_names()
    assert len(tasks.conditional_names()) == 23 and len(tasks.discrete_names()) == 14
    with pytest.raises(bench.BenchError, match="add --suite conditional"):
        bench.resolve_tasks("chain-gauss-*")
    assert bench.resolve_methods(None, "conditional") == ["default", "gaussian_cmi", "ksg_cmi"]
    assert bench.resolve_methods("all,direct", "conditional") == ["default", "gaussian_cmi", "ksg_cmi", "direct"]
    assert bench.resolve_methods("baselines", "discrete") == ["mixed_ksg", "plugin"]
    with pytest.raises(bench.BenchError, match="unknown method 'mine' on the conditional suite"):
        bench.resolve_methods("mine", "conditional")
    with pytest.raises(bench.BenchError, match="a peer of the discrete suite"):
        bench.resolve_peer_methods("sklearn:mutual_info_classif", "conditional")
    assert bench.resolve_peer_methods("sklearn", "discrete") == ["sklearn:mutual_info_classif", "sklearn:mutual_info_regression"]
    with pytest.raises(bench.BenchError, match="not a task of the conditional suite"):
        bench.BenchConfig(tasks=("gauss-d1-rho0.5",), suite="conditional")
    config = bench.BenchConfig(tasks=tuple(C_TWO.split(",")), suite="conditional")
    assert config.methods == bench.CONDITIONAL_METHODS and config.kind == "conditional"
    assert bench.peer_applicable("sklearn:mutual_info_regression", "xy") and not bench.peer_applicable("sklearn:mutual_info_regression", "y")


def test_conditional_suite_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from neuralmi import gaussian_cmi

    out = tmp_path / "c"
    args = ("--suite", "conditional", "--tasks", C_TWO, "--n", "300", "--seeds", "2", "--options", "steps=30", "--out", str(out))
    assert main(["bench", *args]) == 0
    printed = capsys.readouterr().out
    rows = rows_of(out)
    assert sorted((r["task"], r["method"], r["seed"]) for r in rows) == sorted(
        (t, m, str(s)) for t in C_TWO.split(",") for m in ("default", "gaussian_cmi", "ksg_cmi") for s in (0, 1))
    for r in rows:
        task = tasks.get(r["task"])
        assert float(r["truth"]) == task.cmi and r["error"] == "" and r["library"] == "neuralmi"
        if r["method"] == "gaussian_cmi":  # the very sample of (task, n, seed), z included
            x, y, z = task.sample(300, seed=int(r["seed"]))
            assert float(r["estimate"]) == pytest.approx(gaussian_cmi(x, y, z), rel=1e-12)
    assert {r["family"] for r in rows} == {"gaussian", "chain"}
    summary = (out / "summary.md").read_text()
    assert summary.startswith("# neuralmi bench --suite conditional") and summary in printed
    chain = [r for r in rows if r["task"] == "chain-gauss-1x1-z1" and r["method"] == "default"]
    inside = sum(float(r["estimate"]) - 1.959963984540054 * float(r["stderr"]) <= 0 for r in chain)
    assert f"- default: {inside} of 2 (" in summary and "chains (CMI = 0)" in summary
    assert "| task | truth | default | gaussian_cmi | ksg_cmi |" in summary and "| chain-gauss-1x1-z1 | 0.000 |" in summary
    config = json.loads((out / "config.json").read_text())
    assert config["kind"] == "conditional" and "--suite conditional" in config["command"]
    # resuming computes nothing; an MI run into the folder is refused
    calls = counting(monkeypatch)
    assert run(*args) == 0 and calls == []
    assert run("--tasks", "gauss-d1-rho0.5", "--methods", "gaussian", "--n", "300", "--seeds", "1", "--out", str(out)) == 2
    assert "holds results of the conditional kind" in capsys.readouterr().err


FAKE_CMI_PEERS = """\
#!{python}
# A stand-in for the conditional/discrete peers' Python: speaks the --serve protocol and
# answers from the samples file (z, discrete) so the test can check what it was sent:
#   conditional methods -> the Gaussian CMI of (x, y, z); discrete methods -> the plain plug-in
import json, sys
import numpy as np
LOG = {log!r}
def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\\n"); sys.stdout.flush()
def logdet(a):
    return np.linalg.slogdet(np.atleast_2d(np.cov(a.T)))[1]
emit({{"event": "ready", "protocol": 1, "missing": [], "versions": {{"fake": "2"}},
      "methods": ["npeet_plus:cmi", "infomeasure:cmi_ksg", "npeet_plus:micd+midd", "sklearn:mutual_info_classif",
                  "sklearn:mutual_info_regression"]}})
for line in sys.stdin:
    job = json.loads(line)
    with np.load(job["samples"]) as d:
        data = {{k: d[k] for k in d.files}}
    with open(LOG, "a") as fh:
        fh.write(json.dumps({{**job, "keys": sorted(data), "discrete": str(data.get("discrete", ""))}}) + "\\n")
    x, y = data["x"], data["y"]
    for m in job["methods"]:
        emit({{"event": "start", "id": job["id"], "method": m}})
        if "z" in data:
            z = data["z"]
            est = 0.5 * (logdet(np.hstack([x, z])) + logdet(np.hstack([y, z])) - logdet(np.hstack([x, y, z])) - logdet(z))
        else:
            _, cx = np.unique(x, axis=0, return_inverse=True); _, cy = np.unique(y, axis=0, return_inverse=True)
            joint = np.zeros((cx.max() + 1, cy.max() + 1)); np.add.at(joint, (cx.ravel(), cy.ravel()), 1); p = joint / joint.sum()
            nz = p > 0
            est = float(np.sum(p[nz] * np.log(p[nz] / np.outer(p.sum(1), p.sum(0))[nz])))
        emit({{"event": "record", "id": job["id"], "library": m.split(":")[0], "method": m,
              "estimate": float(est), "seconds": 0.5, "error": None}})
    emit({{"event": "done", "id": job["id"]}})
"""


@pytest.fixture
def fake_cmi_peers(tmp_path: Path) -> tuple[Path, Path]:
    log = tmp_path / "cmi-jobs.log"
    script = tmp_path / "fake-cmi-python"
    script.write_text(FAKE_CMI_PEERS.format(python=sys.executable, log=str(log)))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, log


def test_conditional_peers_get_z_and_the_same_samples(tmp_path: Path, fake_cmi_peers: tuple[Path, Path]) -> None:
    python, log = fake_cmi_peers
    out = tmp_path / "c"
    assert run("--suite", "conditional", "--tasks", C_TWO, "--methods", "gaussian_cmi", "--n", "300", "--seeds", "1",
               "--peers", "--peers-python", str(python), "--out", str(out)) == 0
    rows = {(r["task"], r["method"]): r for r in rows_of(out)}
    assert len(rows) == 2 * 3  # ours and the two default conditional peers
    for task in C_TWO.split(","):
        ours = float(rows[(task, "gaussian_cmi")]["estimate"])
        for peer in bench.CONDITIONAL_PEERS:
            assert rows[(task, peer)]["library"] == peer.split(":")[0]
            assert float(rows[(task, peer)]["estimate"]) == pytest.approx(ours, abs=1e-9)  # same x, y and z
    assert all(j["keys"] == ["x", "y", "z"] for j in jobs(log))
    assert "--peers-python" in json.loads((out / "config.json").read_text())["command"]


def test_discrete_suite_with_peers(tmp_path: Path, fake_cmi_peers: tuple[Path, Path]) -> None:
    from neuralmi.discrete import plugin_mi

    python, log = fake_cmi_peers
    out = tmp_path / "d"
    assert run("--suite", "discrete", "--tasks", D_TWO, "--methods", "mixed_ksg,plugin", "--n", "400", "--seeds", "1",
               "--peers", "--peers-python", str(python),
               "--peer-methods", "npeet_plus:micd+midd,sklearn", "--out", str(out)) == 0
    rows = {(r["task"], r["method"]): r for r in rows_of(out)}
    labels, channel = D_TWO.split(",")
    # plugin and mutual_info_regression are left out where they do not apply
    assert set(rows) == {
        (labels, "mixed_ksg"), (labels, "npeet_plus:micd+midd"), (labels, "sklearn:mutual_info_classif"),
        (labels, "sklearn:mutual_info_regression"),
        (channel, "mixed_ksg"), (channel, "plugin"), (channel, "npeet_plus:micd+midd"), (channel, "sklearn:mutual_info_classif"),
    }
    assert rows[(labels, "mixed_ksg")]["family"] == "labels-1d" and rows[(channel, "plugin")]["family"] == "two-discrete"
    x, y = tasks.get(channel).sample(400, seed=0)
    plain = plugin_mi(x, y, correction=None)
    assert float(rows[(channel, "plugin")]["estimate"]) == pytest.approx(plain, rel=1e-12)
    assert float(rows[(channel, "npeet_plus:micd+midd")]["estimate"]) == pytest.approx(plain, rel=1e-9)  # the same sample
    assert sorted(j["discrete"] for j in jobs(log)) == ["xy", "y"]
    summary = (out / "summary.md").read_text()
    assert "| task | truth | mixed_ksg | plugin | npeet_plus:micd+midd |" in summary


def test_the_runner_runs_scikit_learn_on_a_discrete_side() -> None:
    sklearn = pytest.importorskip("sklearn")
    from sklearn.feature_selection import mutual_info_classif

    runner = load_runner()
    x, y = tasks.get("labels-line-k4-d5-sp2").sample(300, seed=0)
    labels = y[:, 0].astype(np.int64)
    records = runner.run_peers(x, y, "sklearn", seed=3, discrete="y")
    assert [r["method"] for r in records] == ["sklearn:mutual_info_classif", "sklearn:mutual_info_regression"]
    assert records[0]["estimate"] == pytest.approx(float(mutual_info_classif(x, labels, random_state=3).max()), rel=1e-12)
    assert all(r["error"] is None and r["estimate"] > 0 for r in records), records
    assert sklearn.__version__
    # a method of another kind is refused per record, not by a crash
    rec = runner.run_one("sklearn:mutual_info_classif", x, y, seed=0)
    assert rec["estimate"] is None and "needs a discrete side" in rec["error"]
    rec = runner.run_one("npeet_plus:cmi", x, y, seed=0)
    assert rec["estimate"] is None and "the samples need z" in rec["error"]
    rec = runner.run_one("sklearn:mutual_info_regression", x, y, seed=0, discrete="xy")
    assert rec["estimate"] is None and "labels with continuous features only" in rec["error"]


def test_the_conditional_bench_script_is_a_wrapper_of_the_bench() -> None:
    root = Path(__file__).resolve().parents[1]
    script = root / "benchmarks" / "conditional_bench.py"
    proc = subprocess.run([sys.executable, str(script), "--part", "discrete", "--seeds", "0,1", "--tasks", "channel-*",
                           "--peers-python", "/p/python", "--print-command"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["neuralmi", "bench", "--suite", "discrete", "--n", "1000,10000", "--seeds", "2", "--methods",
                                   "all", "--out", "runs/discrete", "--tasks", "channel-*", "--peers", "--peers-python", "/p/python"]
    proc = subprocess.run([sys.executable, str(script), "--part", "conditional", "--with-direct", "--print-command"],
                          capture_output=True, text=True, timeout=120)
    assert "--suite conditional --n 5000 --seeds 3 --methods all,direct" in proc.stdout
