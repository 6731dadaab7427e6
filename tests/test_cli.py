"""Tests for the ``neuralmi`` command line (in process through ``cli.main``, plus one real subprocess)."""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from neuralmi import cli

NEURAL = ["--steps", "100", "--quiet", "--hidden", "16"]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(0)
    n = 200
    x = rng.standard_normal((n, 2))
    y = x[:, :1] + 0.7 * rng.standard_normal((n, 1))
    table = np.column_stack([x, y])
    paths = {
        "csv": d / "h.csv",
        "csv_noheader": d / "nh.csv",
        "tsv": d / "t.tsv",
        "npz": d / "p.npz",
        "x_npy": d / "x.npy",
        "y_npy": d / "y.npy",
        "y_short": d / "y_short.npy",
        "text_col": d / "text.csv",
        "nan_cell": d / "nan.csv",
        "few": d / "few.csv",
    }
    np.savetxt(paths["csv"], table, delimiter=",", header="a,b,c", comments="", fmt="%.17g")
    np.savetxt(paths["csv_noheader"], table, delimiter=",", fmt="%.17g")
    np.savetxt(paths["tsv"], table, delimiter="\t", header="a\tb\tc", comments="", fmt="%.17g")
    np.savez(paths["npz"], x=x, y=y)
    np.save(paths["x_npy"], x)
    np.save(paths["y_npy"], y)
    np.save(paths["y_short"], y[:-1])
    rows = "\n".join(f"{i},{'abc' if i == 5 else i * 2}" for i in range(60))
    paths["text_col"].write_text("a,b\n" + rows + "\n")
    rows = "\n".join(f"{i},{'nan' if i == 7 else i * 2}" for i in range(60))
    paths["nan_cell"].write_text("a,b\n" + rows + "\n")
    paths["few"].write_text("a,b\n1,2\n2,3\n3,5\n")
    return paths


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == 2
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("neuralmi: error: ")
    for needle in needles:
        assert needle in lines[0]


# ------------------------------------------------------------------ estimate: formats


def test_estimate_csv_with_header_json(data: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["estimate", data["csv"], "--x", "a,b", "--y", "c", "--json", *NEURAL], capsys)
    assert code == 0, err
    res = json.loads(out)
    assert math.isfinite(res["mi"]) and res["mi"] > 0.2  # truth: 0.5 log(1 + 1/0.49) = 0.56
    assert res["stderr"] > 0 and len(res["ci95"]) == 2
    assert res["ci95"][0] < res["mi"] < res["ci95"][1]
    # 200 rows: cross-fitted with 5 folds (folds="auto"), every row read once
    assert res["method"] == "mine" and res["n_test"] == 200 and res["config"]["folds"] == 5
    assert res["config"]["hidden"] == [16] and res["config"]["steps"] == 100
    assert res["config"]["radial"] is True  # the default since 0.5.0
    code, out, err = run(["estimate", data["csv"], "--x", "a,b", "--y", "c", "--json", "--no-radial", *NEURAL], capsys)
    assert code == 0, err
    assert json.loads(out)["config"]["radial"] is False


def test_estimate_text_output_and_plot(data: dict[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    png = tmp_path / "curve.png"
    code, out, err = run(["estimate", data["csv_noheader"], "--x", "0,1", "--y", "2", "--method", "nwj",
                          "--plot", png, *NEURAL], capsys)
    assert code == 0, err
    assert out.startswith("I(X;Y) = ") and "[nwj]" in out and "95% CI" in out
    assert "200 samples, dim x = 2, dim y = 1" in out
    assert png.read_bytes()[:4] == b"\x89PNG"


def ksg_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    code, out, err = run(["estimate", *argv, "--method", "ksg", "--json"], capsys)
    assert code == 0, err
    return json.loads(out)


def test_every_format_loads_the_same_columns(data: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    ref = ksg_json([data["csv"], "--x", "a,b", "--y", "c"], capsys)
    assert math.isfinite(ref["mi"]) and ref["stderr"] > 0 and ref["method"] == "ksg"
    others = [
        [data["csv_noheader"], "--x", "0,1", "--y", "2"],
        [data["csv_noheader"], "--x", "0-1", "--y", "2", "--header", "no"],
        [data["tsv"], "--x", "a,b", "--y", "c"],
        [data["npz"]],
        ["--x-file", data["x_npy"], "--y-file", data["y_npy"]],
    ]
    for argv in others:
        assert ksg_json(argv, capsys)["mi"] == ref["mi"], argv
    # a different column choice gives a different number (the check above can fail)
    assert ksg_json([data["csv"], "--x", "a", "--y", "c"], capsys)["mi"] != ref["mi"]


def test_ksg_k_option(data: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    res = ksg_json([data["csv"], "--x", "a,b", "--y", "c", "--k", "5"], capsys)
    assert res["config"]["k"] == 5


# ------------------------------------------------------------------ estimate: errors


@pytest.mark.parametrize(
    "argv, needles",
    [
        (["{tmp}/missing.csv", "--x", "0", "--y", "1"], ["not found", "missing.csv"]),
        (["{csv}", "--x", "a,zz", "--y", "c"], ["zz"]),
        (["{text_col}", "--x", "a", "--y", "b"], ["non-numeric", "abc"]),
        (["{nan_cell}", "--x", "a", "--y", "b"], ["NaN"]),
        (["--x-file", "{x_npy}", "--y-file", "{y_short}"], ["same number of samples", "200 and 199"]),
        (["{few}", "--x", "a", "--y", "b"], ["at least"]),
        ([], ["FILE"]),
        (["--x-file", "{x_npy}"], ["y_file"]),
        (["{csv}", "--x", "a", "--y", "c", "--test-size", "2"], ["test_size"]),
        (["{csv}", "--x", "a", "--y", "c", "--device", "tpu"], ["device"]),
        (["{csv}", "--x", "a", "--y", "c", "--method", "ksg", "--steps", "10"], ["--steps", "ksg"]),
        (["{csv}", "--x", "a", "--y", "c", "--method", "gaussian", "--plot", "a.png"], ["--plot"]),
        (["{csv}", "--x", "a", "--y", "c", "--k", "4"], ["--k", "ksg"]),
        (["{csv}", "--x", "a", "--y", "c", "--method", "ksg", "--no-radial"], ["--no-radial", "ksg"]),
        (["{tmp}", "--x", "a", "--y", "c"], []),
    ],
)
def test_estimate_errors_are_one_line(
    data: dict[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], needles: list[str]
) -> None:
    names = {k: str(v) for k, v in data.items()}
    argv = [a.format(tmp=tmp_path, **names) for a in argv]
    code, out, err = run(["estimate", *argv, "--quiet"], capsys)
    assert_one_line_error(code, err, *needles)
    assert out == ""


@pytest.mark.parametrize(
    "argv",
    [
        ["--hidden", "0,4"],
        ["--hidden", "a,b"],
        ["--hidden", ""],
        ["--method", "foo"],
        ["--steps", "0"],
        ["--lr", "-1"],
        ["--critic", "mlp"],
        ["--transform", "log"],
    ],
)
def test_argparse_errors_exit_2(data: dict[str, Path], capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["estimate", str(data["csv"]), "--x", "a", "--y", "c", *argv])
    out, err = capsys.readouterr()
    assert_one_line_error(exc.value.code, err, "error: argument " + argv[0])
    assert out == ""


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["estimate", "{csv}", "--x", "a", "--y", "c", "--no-such-option"], "unrecognized arguments: --no-such-option"),
        (["estimate", "{csv}", "--x", "a", "--y", "c", "--method", "foo"], "argument --method: invalid choice: 'foo'"),
        (["estimate", "{csv}", "--x", "a", "--y", "c", "--steps", "ten"], "argument --steps: expected a positive integer, got 'ten'"),
        (["estimate", "{csv}", "--x"], "argument --x: expected one argument"),
        (["demo", "--n", "1.5"], "argument --n: expected a positive integer"),
        (["bench", "--seeds", "x"], "argument --seeds: expected a positive integer"),
        (["bench", "--timeout", "-1"], "argument --timeout: expected positive seconds"),
        (["experiment"], "the following arguments are required: NAME"),
        (["experiment", "gaussian", "--seeds", "0"], "argument --seeds: expected a positive integer"),
        (["estimat"], "argument COMMAND: invalid choice: 'estimat'"),
        ([], "the following arguments are required: COMMAND"),
        (["--bogus", "demo"], "unrecognized arguments: --bogus"),
    ],
)
def test_usage_errors_are_one_line_exit_2(
    data: dict[str, Path], capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    """Argument errors of every parser, top level and commands: one line ``neuralmi: error: ...``
    (no usage block, no command name in the prefix), exit status 2."""
    argv = [a.format(csv=data["csv"]) for a in argv]
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    out, err = capsys.readouterr()
    assert exc.value.code == 2
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("neuralmi: error: ") and needle in err, err
    assert "usage:" not in err and out == ""


def test_usage_error_of_the_installed_script_is_one_line(data: dict[str, Path]) -> None:
    """The same through a real process: stderr is exactly one line, exit status 2."""
    proc = subprocess.run(
        [sys.executable, "-m", "neuralmi.cli", "estimate", str(data["csv"]), "--x", "a", "--y", "c", "--method", "foo"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("neuralmi: error: argument --method: invalid choice") and proc.stderr.count("\n") == 1
    assert proc.stdout == ""


# ------------------------------------------------------------------ help and version


def _all_commands() -> list[list[str]]:
    commands: list[list[str]] = [[]]

    def walk(parser: argparse.ArgumentParser, prefix: list[str]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    commands.append([*prefix, name])
                    walk(sub, [*prefix, name])

    walk(cli.build_parser(), [])
    return commands


def test_help_for_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    commands = _all_commands()
    assert ["estimate"] in commands and ["demo"] in commands and ["experiment"] in commands
    for cmd in commands:
        with pytest.raises(SystemExit) as exc:
            cli.main([*cmd, "--help"])
        assert exc.value.code == 0, cmd
        out = capsys.readouterr().out
        assert out.startswith("usage: neuralmi"), cmd


def test_estimate_help_shows_a_plain_percent_sign(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["estimate", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "95% interval" in out and "%%" not in out


def test_top_level_help_lists_every_command_without_importing_them(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for name, line in cli.COMMANDS.items():
        assert name in out and line.split()[0] in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    import neuralmi

    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"neuralmi {neuralmi.__version__}"


# ------------------------------------------------------------------ demo


def test_demo_writes_png_of_truth_mine_and_ksg(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from matplotlib.figure import Figure

    saved: list[Figure] = []
    real_savefig = Figure.savefig

    def spy(self: Figure, *args: object, **kwargs: object) -> None:
        saved.append(self)
        real_savefig(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", spy)
    monkeypatch.chdir(tmp_path)
    code, out, err = run(["demo", "--n", "1000", "--dim", "2", "--steps", "150", "--out", "tmp/demo.png", "--quiet"], capsys)
    assert code == 0, err
    png = tmp_path / "tmp" / "demo.png"
    assert png.read_bytes()[:4] == b"\x89PNG"
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    truth = 0.5 * 2 * -math.log(1 - 0.75**2)
    assert f"{truth:8.4f}" in lines["true"]
    mine = float(lines["MINE"].split()[1])
    ksg = float(lines["KSG"].split()[2])
    assert 0.0 < mine < 1.5 and 0.0 < ksg < 1.5
    assert "written to tmp/demo.png" in out
    # the figure draws all three: the truth, MINE's training curve and KSG's estimate
    (fig,) = saved
    (ax,) = fig.axes
    labels = {line.get_label(): line for line in ax.get_lines()}
    ksg_line = next(line for label, line in labels.items() if label.startswith("KSG"))
    truth_line = next(line for label, line in labels.items() if label.startswith("true MI"))
    assert ksg_line.get_ydata()[0] == pytest.approx(ksg, abs=1e-4)
    assert truth_line.get_ydata()[0] == pytest.approx(truth)
    assert any(label.startswith("bound on held-out") for label in labels)  # MINE's curve
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("KSG") for t in legend) and any(t.startswith("true MI") for t in legend)


def test_demo_bad_rho_is_one_line_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(["demo", "--rho", "1.5", "--out", tmp_path / "d.png"], capsys)
    assert_one_line_error(code, err, "rho")


# ------------------------------------------------------------------ the installed console script


def test_console_script_subprocess(data: dict[str, Path]) -> None:
    """One real call of the installed script (errors and exit status 2 are covered in process)."""
    exe = shutil.which("neuralmi", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("the neuralmi console script is not installed next to this Python")
    ok = subprocess.run(
        [exe, "estimate", str(data["npz"]), "--method", "gaussian", "--json"],
        capture_output=True, text=True, timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    res = json.loads(ok.stdout)
    assert {"mi", "stderr", "ci95"} <= set(res) and res["mi"] > 0.2


# ------------------------------------------------------------------ warnings


def test_warnings_print_as_one_neuralmi_line_each(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """KSG on data with ties warns (TiedSamplesWarning): printed as ``neuralmi: warning: ...``,
    once per message, without Python's file:line format; not repeated on stdout."""
    rng = np.random.default_rng(1)
    x = np.round(rng.standard_normal((300, 1)), 1)  # few distinct values: ties
    y = x + np.round(rng.standard_normal((300, 1)), 1)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    code, out, err = run(["estimate", "--x-file", tmp_path / "x.npy", "--y-file", tmp_path / "y.npy", "--method", "ksg"], capsys)
    assert code == 0, err
    lines = err.strip().splitlines()
    assert lines and all(line.startswith("neuralmi: warning: ") for line in lines), err
    assert any("ties" in line for line in lines)
    assert len(set(lines)) == len(lines)  # each message once
    assert ".py:" not in err and "Warning" not in err and "return " not in err
    assert out.startswith("I(X;Y) = ") and "warning" not in out


def test_result_warnings_are_printed_even_when_not_emitted(
    data: dict[str, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A warning that is only in ``result.warnings`` (no ``warnings.warn``) is printed too; one
    that is both emitted and stored is printed once."""
    import dataclasses
    import warnings

    import neuralmi.estimators as estimators

    real = estimators.estimate

    def fake(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        result = real(*args, **kwargs)
        warnings.warn("both ways", UserWarning, stacklevel=2)
        return dataclasses.replace(result, warnings=(*result.warnings, "only stored", "both ways"))

    monkeypatch.setattr(estimators, "estimate", fake)
    code, out, err = run(["estimate", data["npz"], "--method", "gaussian"], capsys)
    assert code == 0, err
    assert err.splitlines().count("neuralmi: warning: only stored") == 1
    assert err.splitlines().count("neuralmi: warning: both ways") == 1
    assert all(line.startswith("neuralmi: warning: ") for line in err.splitlines())


# ------------------------------------------------------------------ what a command imports


def test_estimate_imports_neither_the_bench_nor_matplotlib(data: dict[str, Path]) -> None:
    code = textwrap.dedent(f"""
        import sys
        from neuralmi.cli import main
        code = main(["estimate", "--x-file", {str(data["x_npy"])!r}, "--y-file", {str(data["y_npy"])!r},
                     "--method", "gaussian"])
        assert code == 0, code
        loaded = sorted(m for m in sys.modules if m.startswith(("neuralmi.bench", "matplotlib", "neuralmi.experiments"))
                        or "peers_runner" in m)
        assert loaded == [], loaded
        print("ok")
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("ok")



def test_estimate_with_an_independence_test(tmp_path, capsys) -> None:
    import numpy as np

    from neuralmi.cli import main

    rng = np.random.default_rng(0)
    x = rng.standard_normal((400, 1))
    np.save(tmp_path / "a.npy", x)
    np.save(tmp_path / "b.npy", x + rng.standard_normal((400, 1)))
    code = main(["estimate", "--x-file", str(tmp_path / "a.npy"), "--y-file", str(tmp_path / "b.npy"),
                 "--steps", "60", "--test", "19", "--quiet"])
    out = capsys.readouterr().out
    assert code == 0 and "independence test: p = 0.1" in out  # 2 / 20: the smallest attainable
    code = main(["estimate", "--x-file", str(tmp_path / "a.npy"), "--y-file", str(tmp_path / "b.npy"),
                 "--method", "ksg", "--test", "19"])
    assert code == 2 and "--test: only for neural methods" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# --z (conditional MI) and --discrete (labels, text columns accepted)
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cmi_data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from neuralmi import tasks

    d = tmp_path_factory.mktemp("cli_cmi")
    x, y, z = tasks.cmi_gaussian(0.5, 2).sample(400, seed=0)
    header = "a,b,c,d"
    table = np.column_stack([x, y, z])
    paths = {"cmi": d / "cmi.csv", "labels": d / "labels.csv", "npz": d / "cmi.npz", "missing": d / "missing.csv"}
    np.savetxt(paths["cmi"], table, delimiter=",", header=header, comments="", fmt="%.17g")
    np.savez(paths["npz"], x=x, y=y, z=z)
    gx, gy = tasks.gaussian_classes(3, 2, spacing=2.0).sample(300, seed=0)
    names = np.array(["low", "mid", "high"])[gy[:, 0].astype(int)]
    lines = ["f1,f2,grade"] + [f"{a:.10g},{b:.10g},{c}" for (a, b), c in zip(gx, names)]
    paths["labels"].write_text("\n".join(lines) + "\n")
    lines[5] = lines[5].rsplit(",", 1)[0] + ","
    paths["missing"].write_text("\n".join(lines) + "\n")
    return paths


def test_estimate_with_z_prints_a_conditional_estimate(cmi_data: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["estimate", cmi_data["cmi"], "--x", "a", "--y", "b", "--z", "c,d", "--method", "gaussian"], capsys)
    assert code == 0 and out.startswith("I(X;Y|Z) = ") and "dim z = 2" in out
    code, out, _ = run(["estimate", cmi_data["cmi"], "--x", "a", "--y", "b", "--z", "c:d", "--method", "ksg", "--k", "4", "--json"], capsys)
    res = json.loads(out)
    assert code == 0 and res["config"]["conditional"] is True and res["config"]["k"] == 4
    code, out, _ = run(["estimate", cmi_data["npz"], "--z", "z", "--method", "gaussian", "--json"], capsys)
    assert code == 0 and abs(json.loads(out)["mi"] - 0.5) < 0.15


def test_estimate_with_z_neural(cmi_data: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["estimate", cmi_data["cmi"], "--x", "a", "--y", "b", "--z", "c,d", *NEURAL, "--json"], capsys)
    res = json.loads(out)
    assert code == 0 and res["method"] == "mine" and res["config"]["strategy"] == "chain"
    assert set(res["config"]["terms"]) == {"I(X;Y,Z)", "I(X;Z)"}


def test_estimate_discrete_text_labels(cmi_data: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["estimate", cmi_data["labels"], "--x", "f1,f2", "--y", "grade", "--discrete", "y", "--method", "mixed_ksg", "--json"], capsys)
    res = json.loads(out)
    assert code == 0 and res["method"] == "mixed_ksg" and res["config"]["categories"] == {"y": 3}
    code, out, _ = run(["estimate", cmi_data["labels"], "--x", "f1,f2", "--y", "grade", "--discrete", "y", *NEURAL], capsys)
    assert code == 0 and "[classifier]" in out and "discrete: y" in out


def test_estimate_detects_a_discrete_side(cmi_data: dict[str, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # a text column is discrete without --discrete (the default is auto)
    code, out, err = run(["estimate", cmi_data["labels"], "--x", "f1,f2", "--y", "grade", "--method", "mixed_ksg", "--json"], capsys)
    res = json.loads(out)
    assert code == 0 and res["method"] == "mixed_ksg" and res["config"]["discrete"] == "y"
    assert "grade" not in res["config"]["discrete_detected"] and "not numbers" in res["config"]["discrete_detected"]["y"]
    assert "discrete side detected: discrete='y'" in err
    code, out, _ = run(["estimate", cmi_data["labels"], "--x", "f1,f2", "--y", "grade", *NEURAL], capsys)
    assert code == 0 and "[classifier]" in out and "discrete: y (detected)" in out
    # an integer column with few values is detected; the same numbers written as floats are not
    rng = np.random.default_rng(0)
    c = rng.integers(0, 3, 300)
    f = c + rng.standard_normal(300)
    (tmp_path / "int.csv").write_text("f,c\n" + "\n".join(f"{a:.6f},{b}" for a, b in zip(f, c)) + "\n")
    (tmp_path / "float.csv").write_text("f,c\n" + "\n".join(f"{a:.6f},{b}.0" for a, b in zip(f, c)) + "\n")
    code, out, _ = run(["estimate", str(tmp_path / "int.csv"), "--x", "f", "--y", "c", "--method", "mixed_ksg", "--json"], capsys)
    assert code == 0 and json.loads(out)["config"]["discrete"] == "y"
    code, out, _ = run(["estimate", str(tmp_path / "float.csv"), "--x", "f", "--y", "c", *NEURAL, "--json"], capsys)
    assert code == 0 and json.loads(out)["method"] == "mine" and "discrete" not in json.loads(out)["config"]
    # --discrete none keeps the integers continuous
    code, out, _ = run(["estimate", str(tmp_path / "int.csv"), "--x", "f", "--y", "c", "--discrete", "none", *NEURAL, "--json"], capsys)
    assert code == 0 and json.loads(out)["method"] == "mine" and "discrete" not in json.loads(out)["config"]


@pytest.mark.parametrize(
    "argv,needles",
    [
        (["--x", "f1", "--y", "grade", "--discrete", "none"], ("non-numeric value", "grade")),  # text read as numbers
        (["--x", "f1", "--y", "grade", "--discrete", "y", "--method", "gaussian"], ("continuous data",)),
        (["--x", "f1", "--y", "grade", "--method", "gaussian"], ("continuous data",)),  # detected, then refused
        (["--x", "f1", "--y", "grade", "--discrete", "none", "--method", "plugin"], ("only with --discrete",)),
        (["--x", "f1", "--y", "grade", "--method", "plugin"], ("needs both sides discrete",)),  # only y detected
        (["--x", "f1", "--y", "grade", "--discrete", "y", "--z", "f1"], ("both",)),
        (["--x", "f1", "--y", "grade", "--discrete", "y", "--test", "5"], ("--test",)),
        (["--x", "f1", "--y", "grade", "--discrete", "y", "--method", "mixed_ksg", "--steps", "5"], ("only for neural methods",)),
        (["--x", "f1", "--y", "grade", "--discrete", "y", "--no-radial"], ("--no-radial", "--discrete")),
    ],
)
def test_discrete_and_z_errors_are_one_line(
    cmi_data: dict[str, Path], capsys: pytest.CaptureFixture[str], argv: list[str], needles: tuple[str, ...]
) -> None:
    code, _, err = run(["estimate", cmi_data["labels"], *argv], capsys)
    assert_one_line_error(code, err, *needles)


def test_missing_label_cell_names_row_and_column(cmi_data: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["estimate", cmi_data["missing"], "--x", "f1", "--y", "grade", "--discrete", "y", "--method", "mixed_ksg"], capsys)
    assert_one_line_error(code, err, "grade", "data row 5", "missing value")


def test_z_needs_a_data_file(data: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["estimate", "--x-file", data["x_npy"], "--y-file", data["y_npy"], "--z", "0"], capsys)
    assert_one_line_error(code, err, "--z and --discrete need a data FILE")
