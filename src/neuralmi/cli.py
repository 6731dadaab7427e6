"""The ``neuralmi`` command line: a thin layer over the library.

Commands:
    neuralmi estimate FILE --x COLS --y COLS [options]   MI between columns of a CSV/TSV/.npz
    neuralmi estimate --x-file a.npy --y-file b.npy      MI between two .npy arrays
    neuralmi demo                                        known-MI Gaussian: MINE and KSG vs truth
    neuralmi bench [options]                             score estimators on known-MI tasks
    neuralmi experiment NAME [options]                   reproduce a paper experiment

Bad input prints one line ``neuralmi: error: ...`` and exits with status 2 (no traceback, no
usage block); warnings print one line each, ``neuralmi: warning: ...``. Only the chosen
command's module is imported (``neuralmi estimate`` never imports the bench or the experiments).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any, NoReturn

from ._cli_args import folds_setting, hidden_widths, positive_float, positive_int

__all__ = ["main", "build_parser", "ArgumentParser", "COMMANDS", "EXPERIMENTS"]

#: the commands, with the one line each shows in ``neuralmi --help``. Static, so that listing
#: the commands (or running one) imports none of the others: ``neuralmi estimate`` never
#: imports the bench or the experiments.
COMMANDS: dict[str, str] = {
    "estimate": "estimate MI between columns of a data file",
    "demo": "estimate a known MI with MINE and KSG, print truth vs estimates, plot",
    "bench": "score MI estimators on the benchmark tasks with known MI (and, with --peers, the peer libraries)",
    "experiment": "reproduce an experiment of the MINE paper (writes figure.png and results.json)",
}

#: experiment name -> module under ``neuralmi.experiments`` (each a leaf: ``Config``,
#: ``add_arguments(parser)``, ``config_from_args(args)``, ``run(config) -> dict``,
#: ``plot(results, path)``, ``DESCRIPTION``)
EXPERIMENTS: dict[str, str] = {
    "gaussian": "neuralmi.experiments.gaussian",
    "nonlinear": "neuralmi.experiments.nonlinear",
    "gan": "neuralmi.experiments.gan",
    "ib": "neuralmi.experiments.ib",
    "stacked": "neuralmi.experiments.stacked",
    "ali": "neuralmi.experiments.ali",
}


class CLIError(Exception):
    """A usage problem reported as one line with exit status 2."""


class ArgumentParser(argparse.ArgumentParser):
    """``argparse`` with one-line errors: ``neuralmi: error: ...`` on stderr, exit status 2
    (no usage block), for the commands' parsers too."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"neuralmi: error: {' '.join(message.split())}\n")


class _ResultWarning(UserWarning):
    """A warning of a result (``MIResult.warnings``), re-emitted so that the command line prints
    it like every other warning (once: the printer drops repeated messages)."""


def _warn_result(messages: Any) -> None:
    for message in messages:
        warnings.warn(str(message), _ResultWarning, stacklevel=2)


class _WarningPrinter:
    """``warnings.showwarning`` for the command line: ``neuralmi: warning: <message>``, one line
    per distinct message, on stderr (no file name, line number or source line)."""

    def __init__(self) -> None:
        self.shown: set[str] = set()

    def __call__(self, message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
        text = " ".join(str(message).split())
        if not text or text in self.shown:
            return
        self.shown.add(text)
        print(f"neuralmi: warning: {text}", file=sys.stderr, flush=True)


def _add_estimate_parser(sub: Any) -> None:
    from .estimators import BASELINE_METHODS, NEURAL_METHODS
    from .preprocessing import TRANSFORMS

    p = sub.add_parser(
        "estimate",
        help=COMMANDS["estimate"],
        # printed as written (RawDescriptionHelpFormatter): no %-escapes, lines broken by hand
        description=(
            "Estimate I(X;Y) in nats between two groups of columns of FILE (CSV/TSV with or\n"
            "without a header, Parquet, one .npy array with --x/--y column indices, or .npz\n"
            "with arrays x and y), or between two .npy arrays. .npy files are memory-mapped;\n"
            "above a million rows they are read in one pass (neuralmi.streaming). Prints\n"
            "the estimate with its 95% interval, or JSON with --json."
        ),
        epilog=(
            "examples:\n"
            "  neuralmi estimate data.csv --x 0,1 --y 2\n"
            "  neuralmi estimate data.tsv --x height,weight --y income --method nwj --json\n"
            "  neuralmi estimate pair.npz\n"
            "  neuralmi estimate --x-file a.npy --y-file b.npy --method ksg\n"
            "  neuralmi estimate data.csv --x a --y b --z c,d          (conditional: I(X;Y|Z))\n"
            "  neuralmi estimate data.csv --x a,b --y label --discrete y  (labels: text or numbers)\n"
            "\n"
            "A discrete side is detected (--discrete auto, the default) in a table or .npz FILE:\n"
            "text columns always; integer columns with at most 20 distinct values and at least\n"
            "10 rows per value (with the default method); floats never. The result says so.\n"
            "--discrete none reads every column as numbers; x, y or xy declare the side(s)."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", nargs="?", help="CSV/TSV/TXT/Parquet table, .npy array or .npz file")
    p.add_argument("--x", help="columns of X: names or 0-based indices, e.g. '0,1', 'a,b', '0-3' (.npy: indices only; .npz: the array key, default x)")
    p.add_argument("--y", help="columns of Y (for .npz: the array key, default y)")
    p.add_argument("--z", help="columns of Z to condition on: estimate I(X;Y|Z) (for .npz: the array key)")
    p.add_argument(
        "--discrete",
        choices=("auto", "none", "x", "y", "xy"),
        default="auto",
        help="which side is discrete (labels; text columns accepted): classifier bound, or plug-in when both; "
        "'auto' (default) detects it in a table or .npz FILE (not with --x-file/--y-file, --nproc, --test), "
        "'none' reads both sides as numbers",
    )
    p.add_argument("--x-file", help=".npy file with the X samples (n, dx)")
    p.add_argument("--y-file", help=".npy file with the Y samples (n, dy)")
    p.add_argument("--delimiter", help="field delimiter of a table (default: from the extension or sniffed)")
    p.add_argument("--header", choices=("yes", "no", "auto"), default="auto", help="does the table have a header row")
    p.add_argument(
        "--method",
        default="mine",
        choices=(*NEURAL_METHODS, *BASELINE_METHODS, *DISCRETE_ONLY_METHODS),
        help="estimator (default: mine; with --discrete also classifier, plugin, mixed_ksg)",
    )
    p.add_argument("--critic", default="auto", choices=("auto", "concat", "separable", "bilinear", "gaussian"), help="critic network (default: auto)")
    p.add_argument("--hidden", type=hidden_widths, help="hidden layer widths, e.g. 128,128")
    p.add_argument("--steps", type=positive_int, help="maximum training steps")
    p.add_argument("--batch-size", type=positive_int, help="training batch size")
    p.add_argument("--lr", type=positive_float, help="learning rate")
    p.add_argument("--transform", choices=TRANSFORMS, help="per-column input transform (default: rank)")
    p.add_argument("--test-size", type=positive_float, help="share of samples held out for the estimate (default 0.3)")
    p.add_argument(
        "--no-radial",
        dest="radial",
        action="store_const",
        const=False,
        help="no radial columns (each side's squared norms, appended since 0.5.0): 0.4.0's estimator",
    )
    p.add_argument(
        "--folds",
        type=folds_setting,
        help="K >= 3: K-fold cross-fitting, K critics each read on its own fold; none: one split (70 %% "
        "trains, 30 %% is read); default auto: 5 folds up to 5,000 rows, else one split",
    )
    p.add_argument("--k", type=positive_int, help="neighbours for --method ksg (default 3)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N (default auto)")
    p.add_argument(
        "--test",
        type=positive_int,
        metavar="B",
        help="also test independence: a permutation p-value from B permutations per held-out fold (neural methods)",
    )
    p.add_argument("--json", action="store_true", help="print the full result as JSON")
    p.add_argument("--plot", metavar="PNG", help="write the training curve to this PNG")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--nproc",
        type=positive_int,
        metavar="N",
        help="run the estimate in N processes on this machine (torch.distributed: gloo on CPU, NCCL on "
        "CUDA), each reading its share of the rows; the result is printed once (not with --z, --discrete, --test)",
    )
    p.set_defaults(func=_cmd_estimate)


#: methods of ``neuralmi estimate`` that exist only for a discrete side (``--discrete``)
DISCRETE_ONLY_METHODS = ("classifier", "plugin", "mixed_ksg")


def _cmd_estimate(args: argparse.Namespace) -> int:
    from .data import load_pair
    from .estimators import BASELINE_METHODS, estimate

    if args.file is None and not (args.x_file or args.y_file):
        raise CLIError("give a data FILE, or --x-file and --y-file")
    detected: dict[str, str] = {}
    if args.discrete == "auto":
        args.discrete, detected = _detect_discrete(args)
    elif args.discrete == "none":
        args.discrete = None
    if args.z is not None or args.discrete is not None:
        if args.nproc is not None:
            raise CLIError("--nproc: not with --z or --discrete")
        if args.radial is not None:
            raise CLIError("--no-radial: not with --z or --discrete (their estimators have no radial column)")
        return _cmd_estimate_columns(args, detected)
    if args.method in DISCRETE_ONLY_METHODS:
        raise CLIError(f"--method {args.method}: only with --discrete")
    _check_options_apply(args, args.method in BASELINE_METHODS)
    if args.nproc is not None and args.test is not None:
        raise CLIError("--test: not with --nproc")
    header = {"yes": True, "no": False, "auto": None}[args.header]
    if args.file is not None and args.file.lower().endswith(".npz"):
        load: dict[str, Any] = {"path": args.file, "x": args.x or "x", "y": args.y or "y"}
    else:
        load = {"path": args.file, "x": args.x, "y": args.y, "x_file": args.x_file, "y_file": args.y_file}
        if args.delimiter is not None:
            load["delimiter"] = args.delimiter
        if args.file is not None and header is not None:
            load["header"] = header
    if args.nproc is not None:  # N processes, each reading its rows (neuralmi._distributed_fit)
        return _estimate_nproc(args, load)
    x, y = load_pair(**load)
    if args.method in BASELINE_METHODS:
        options: dict[str, Any] = {}
        if args.method == "ksg" and args.k is not None:
            options["k"] = args.k
        result = estimate(x, y, method=args.method, **options)
    else:
        options = {"seed": args.seed, "device": args.device, "progress": False if args.quiet or args.json else None}
        options.update(_neural_options(args))
        if args.test is not None:
            from .independence import independence_test

            test = independence_test(x, y, method=args.method, critic=args.critic, n_permutations=args.test, **options)
            result, p_value = test.result, test.p_value
        else:
            result = estimate(x, y, method=args.method, critic=args.critic, **options)
    lines = [f"  {x.shape[0]} samples, dim x = {x.shape[1]}, dim y = {y.shape[1]}, {result.seconds:.1f} s"]
    extra = {}
    if args.test is not None:
        lines.insert(0, f"  independence test: p = {p_value:.4g} ({args.test} permutations per held-out fold)")
        extra["independence_p_value"] = p_value
    return _report(args, result, lines, json_extra=extra)


def _neural_options(args: argparse.Namespace) -> dict[str, Any]:
    """The neural estimate's settings given on the command line (the others keep their defaults)."""
    names = ("hidden", "steps", "batch_size", "lr", "transform", "test_size", "folds", "radial")
    options = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    if options.get("folds") == "none":
        options["folds"] = None
    return options


def _report(
    args: argparse.Namespace,
    result: Any,
    lines: list[str],
    label: str = "I(X;Y)",
    json_extra: dict[str, Any] | None = None,
) -> int:
    """Print a result as every ``estimate`` path does: warnings to stderr, ``--plot``, then JSON
    (``--json``, with ``json_extra``) or the result's lines (``label`` for the quantity) and
    ``lines`` below them. Returns the exit status."""
    _warn_result(result.warnings)
    if args.plot and result.history.get("step"):
        result.plot(args.plot)
    if args.json:
        out = result.to_dict()
        out.update(json_extra or {})
        print(json.dumps(out, indent=2))
        return 0
    # the result without its warning lines: those went to stderr, as `neuralmi: warning: ...`
    text = str(result).replace("I(X;Y)", label, 1)
    print("\n".join(line for line in text.splitlines() if not line.startswith("  warning: ")))
    for line in lines:
        print(line)
    return 0


def _estimate_nproc(args: argparse.Namespace, load: dict[str, Any]) -> int:
    """``neuralmi estimate --nproc N``: the sharded estimate in N processes, printed once."""
    from ._distributed_fit import spawn_estimate
    from .estimators import BASELINE_METHODS

    t0 = time.perf_counter()
    if args.method in BASELINE_METHODS:
        options: dict[str, Any] = {"k": args.k} if args.method == "ksg" and args.k is not None else {}
        result, (n, dx, dy) = spawn_estimate(args.nproc, load, args.method, **options)
    else:
        options = {"seed": args.seed, "device": args.device, "progress": False, "critic": args.critic}
        options.update(_neural_options(args))
        result, (n, dx, dy) = spawn_estimate(args.nproc, load, args.method, **options)
    return _report(args, result, [
        f"  {n} samples, dim x = {dx}, dim y = {dy}, {args.nproc} processes, {result.seconds:.1f} s "
        f"({time.perf_counter() - t0:.1f} s with process start-up)"
    ])


def _detect_discrete(args: argparse.Namespace) -> tuple[str | None, dict[str, str]]:
    """``--discrete auto``: the sides :func:`neuralmi.discrete.resolve_discrete` takes as
    discrete in the X and Y columns of a table or ``.npz`` FILE (read as labels: text as text,
    numbers as numbers), and why; ``(None, {})`` where detection does not apply (``.npy`` and
    ``--x-file``/``--y-file`` arrays, ``--nproc``, ``--test``) or finds nothing."""
    from .data import load_columns
    from .discrete import resolve_discrete

    if args.file is None or args.file.lower().endswith(".npy") or args.nproc is not None or args.test is not None:
        return None, {}
    npz = args.file.lower().endswith(".npz")
    columns = {"x": args.x or ("x" if npz else None), "y": args.y or ("y" if npz else None)}
    if columns["x"] is None or columns["y"] is None:
        return None, {}  # the loader below says what is missing
    kwargs: dict[str, Any] = {}
    if args.delimiter is not None:
        kwargs["delimiter"] = args.delimiter
    header = {"yes": True, "no": False, "auto": None}[args.header]
    if header is not None and not npz:
        kwargs["header"] = header
    data = load_columns(args.file, columns, categorical=("x", "y"), **kwargs)
    z = True if args.z is not None else None  # only whether there is a Z matters here
    return resolve_discrete(data["x"], data["y"], "auto", method=args.method, critic=args.critic, z=z)


def _cmd_estimate_columns(args: argparse.Namespace, detected: dict[str, str] | None = None) -> int:
    """``neuralmi estimate`` with ``--z`` (conditional MI) and/or ``--discrete`` (labels)."""
    from .data import load_columns
    from .discrete import mark_detected
    from .estimators import BASELINE_METHODS, estimate

    if args.file is None:
        raise CLIError("--z and --discrete need a data FILE (a table or an .npz archive), not --x-file/--y-file")
    if args.test is not None:
        raise CLIError("--test: not with --z or --discrete")
    if args.method in DISCRETE_ONLY_METHODS and args.discrete is None:
        raise CLIError(f"--method {args.method}: only with --discrete")
    nonneural = args.method in (*BASELINE_METHODS, "plugin", "mixed_ksg") or (args.discrete == "xy" and args.z is None and args.method == "mine")
    _check_options_apply(args, nonneural)
    header = {"yes": True, "no": False, "auto": None}[args.header]
    npz = args.file.lower().endswith(".npz")
    columns = {"x": args.x or ("x" if npz else None), "y": args.y or ("y" if npz else None)}
    if args.z is not None:
        columns["z"] = args.z
    missing = [side for side, spec in columns.items() if spec is None]
    if missing:
        raise CLIError(f"a table needs the columns of {' and '.join(missing)} (e.g. --x a --y b)")
    kwargs: dict[str, Any] = {}
    if args.delimiter is not None:
        kwargs["delimiter"] = args.delimiter
    if header is not None and not npz:
        kwargs["header"] = header
    data = load_columns(args.file, columns, categorical=tuple(args.discrete or ""), **kwargs)
    x, y, z = data["x"], data["y"], data.get("z")
    options: dict[str, Any] = {}
    if args.k is not None:
        options["k"] = args.k
    if not nonneural:
        options.update(seed=args.seed, device=args.device, progress=False if args.quiet or args.json else None)
        options.update(_neural_options(args))
    critic = {} if nonneural else {"critic": args.critic}
    result = estimate(x, y, method=args.method, z=z, discrete=args.discrete or "none", **critic, **options)
    result = mark_detected(result, detected or {})
    dims = f"dim x = {x.shape[1]}, dim y = {y.shape[1]}" + (f", dim z = {z.shape[1]}" if z is not None else "")
    kinds = f", discrete: {args.discrete}" + (" (detected)" if detected else "") if args.discrete else ""
    label = "I(X;Y|Z)" if z is not None else "I(X;Y)"
    return _report(args, result, [f"  {x.shape[0]} samples, {dims}{kinds}, {result.seconds:.1f} s"], label=label)


def _check_options_apply(args: argparse.Namespace, baseline: bool) -> None:
    """Refuse options that the chosen method would silently ignore."""
    if baseline:
        flags = {
            "--hidden": args.hidden,
            "--steps": args.steps,
            "--batch-size": args.batch_size,
            "--lr": args.lr,
            "--transform": args.transform,
            "--test-size": args.test_size,
            "--folds": args.folds,
            "--no-radial": args.radial,
            "--plot": args.plot,
            "--test": args.test,
        }
        given = [flag for flag, value in flags.items() if value is not None]
        if args.critic != "auto":
            given.append("--critic")
        if given:
            raise CLIError(f"{', '.join(given)}: only for neural methods, not --method {args.method}")
    if args.k is not None and args.method not in ("ksg", "mixed_ksg"):
        raise CLIError(f"--k: only for --method ksg or mixed_ksg, not --method {args.method}")


def _add_demo_parser(sub: Any) -> None:
    p = sub.add_parser(
        "demo",
        help=COMMANDS["demo"],
        description=(
            "Samples a correlated Gaussian with known MI (X, Y each of dimension --dim, "
            "componentwise correlation --rho), estimates I(X;Y) with MINE and KSG, prints the "
            "truth next to both estimates and writes a PNG of the truth, MINE's training curve "
            "and KSG's estimate."
        ),
    )
    p.add_argument("--dim", type=positive_int, default=5, help="dimension of X and of Y (default 5)")
    p.add_argument("--rho", type=float, default=0.75, help="componentwise correlation in (-1, 1) (default 0.75)")
    p.add_argument("--n", type=positive_int, default=10_000, help="samples (default 10000)")
    p.add_argument("--steps", type=positive_int, help="maximum training steps of MINE (default: the estimator's)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", default="neuralmi-demo.png", help="PNG of truth, MINE and KSG (default neuralmi-demo.png)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda (default auto)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_demo)


def _cmd_demo(args: argparse.Namespace) -> int:
    from .estimators import estimate
    from .tasks import CorrelatedGaussian

    task = CorrelatedGaussian(dim=args.dim, rho=args.rho)
    x, y = task.sample(args.n, seed=args.seed)
    print(f"task: {task.name}: X, Y in R^{args.dim}, correlation {args.rho} per coordinate, n = {args.n}")
    print(f"true MI              {task.mi:8.4f} nats")
    options: dict[str, Any] = {} if args.steps is None else {"steps": args.steps}
    mine = estimate(x, y, method="mine", seed=args.seed, device=args.device, progress=False if args.quiet else None, **options)
    lo, hi = mine.ci(0.95)
    print(f"MINE                 {mine.mi:8.4f} nats  95% CI [{lo:.4f}, {hi:.4f}]  ({mine.seconds:.1f} s)")
    ksg = estimate(x, y, method="ksg")
    print(f"KSG (k=3)            {ksg.mi:8.4f} nats  ({ksg.seconds:.1f} s)")
    _warn_result([*mine.warnings, *ksg.warnings])
    out = Path(args.out)
    if out.parent != Path(""):
        out.parent.mkdir(parents=True, exist_ok=True)
    _demo_figure(out, mine, ksg, task.mi)
    print(f"figure (truth, MINE's training curve, KSG) written to {out}")
    return 0


def _demo_figure(path: Path, mine: Any, ksg: Any, truth: float) -> None:
    """MINE's training curve against the truth (``MIResult.plot``), with KSG's estimate."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.0))
    ax = fig.add_subplot()
    mine.plot(ax=ax, truth=truth)
    ax.axhline(ksg.mi, color="tab:green", ls="-.", lw=1.2, label=f"KSG (k=3) {ksg.mi:.3f}")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("truth vs MINE (training curve) vs KSG")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def _add_bench_parser(sub: Any) -> None:
    from . import bench

    p = sub.add_parser("bench", help=COMMANDS["bench"], description=bench.DESCRIPTION)
    bench.add_arguments(p)
    p.set_defaults(func=bench.main)


def _add_experiment_parser(sub: Any) -> None:
    p = sub.add_parser(
        "experiment",
        help=COMMANDS["experiment"],
        description="Reproduce an experiment of the MINE paper. Each writes figure.png and results.json to --out.",
    )
    esub = p.add_subparsers(dest="experiment", metavar="NAME")
    esub.required = True
    for name, module_name in EXPERIMENTS.items():
        try:
            mod = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:  # not yet written: leave it out; anything else is a bug
                raise
            continue
        ep = esub.add_parser(name, help=mod.DESCRIPTION.splitlines()[0], description=mod.DESCRIPTION)
        ep.add_argument("--quick", action="store_true", help="a small run (seconds), for smoke tests")
        ep.add_argument("--seeds", type=positive_int, default=None, help="repetitions with different seeds")
        ep.add_argument("--out", default=f"runs/{name}", help=f"output folder (default runs/{name})")
        ep.add_argument("--device", default="auto", help="auto, cpu, cuda (default auto)")
        ep.add_argument("--quiet", action="store_true", help="no progress bar")
        mod.add_arguments(ep)
        ep.set_defaults(func=_cmd_experiment, module=mod)


def _cmd_experiment(args: argparse.Namespace) -> int:
    mod = args.module
    config = mod.config_from_args(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    results = mod.run(config)
    results.setdefault("seconds", time.perf_counter() - t0)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    mod.plot(results, out / "figure.png")
    summary = getattr(mod, "summarize", None)
    if summary is not None:
        print(summary(results))
    print(f"wrote {out / 'results.json'} and {out / 'figure.png'} ({results['seconds']:.0f} s)")
    return 0


_ADD_PARSER = {
    "estimate": _add_estimate_parser,
    "demo": _add_demo_parser,
    "bench": _add_bench_parser,
    "experiment": _add_experiment_parser,
}


def build_parser(commands: Any = None) -> ArgumentParser:
    """The argument parser of the ``neuralmi`` command.

    Args:
        commands: the commands whose options are built (importing their modules); the others
            are listed with their one-line help only. None: all of them.
    """
    from . import __version__

    parser = ArgumentParser(
        prog="neuralmi",
        description="Estimate mutual information with neural networks (MINE and friends), with error bars.",
    )
    parser.add_argument("--version", action="version", version=f"neuralmi {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    sub.required = True
    chosen = set(COMMANDS) if commands is None else set(commands)
    for name, help_line in COMMANDS.items():
        if name in chosen:
            _ADD_PARSER[name](sub)
        else:
            sub.add_parser(name, help=help_line)
    return parser


def _command_of(argv: list[str]) -> str | None:
    """The command named in ``argv`` (the first argument that is not an option), if known."""
    for arg in argv:
        if arg == "--":
            return None
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``neuralmi`` console script; returns the exit status.

    Only the chosen command's module is imported. Errors are one line, ``neuralmi: error: ...``
    (exit status 2); warnings are one line each, ``neuralmi: warning: ...``, every distinct
    message once.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    command = _command_of(argv)
    parser = build_parser([] if command is None else [command])
    args = parser.parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = _WarningPrinter()
        try:
            return int(args.func(args) or 0)
        except (CLIError, ValueError, TypeError, FileNotFoundError, PermissionError, IsADirectoryError) as exc:
            print(f"neuralmi: error: {' '.join(str(exc).split())}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("neuralmi: interrupted", file=sys.stderr)
            return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
