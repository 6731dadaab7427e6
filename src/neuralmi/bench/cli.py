"""The command line of ``neuralmi bench``: its options, and ``main`` (run the grid, then write
the summary and figures)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .._cli_args import positive_int, timeout_seconds
from .grid import SUITES, BenchConfig, parse_options, resolve_tasks, run_bench
from .methods import (
    CONDITIONAL_METHODS,
    CONDITIONAL_PEERS,
    DEFAULT_PEERS,
    DISCRETE_METHODS,
    DISCRETE_PEERS,
    EXTRA_METHODS,
    OUR_METHODS,
    SUITE_KIND,
    BenchError,
    resolve_methods,
    resolve_peer_methods,
)
from .peers import PEERS_VENV, default_peers_python, setup_hint
from .report import plot, summarize

__all__ = ["DESCRIPTION", "add_arguments", "config_from_args", "main", "sample_sizes"]


def sample_sizes(text: str) -> tuple[int, ...]:
    """``"1000,5000,10000"`` -> ``(1000, 5000, 10000)``: distinct sizes, each an integer >= 10."""
    items = [t.strip().replace("_", "") for t in text.split(",")]
    sizes = []
    for item in items:
        try:
            value = int(item)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected sample sizes like 1000,5000,10000, got {text!r}") from None
        if value < 10:
            raise argparse.ArgumentTypeError(f"sample sizes must be at least 10, got {value}")
        sizes.append(value)
    return tuple(sorted(set(sizes)))

DESCRIPTION = f"""Score MI estimators on the benchmark tasks with known MI (and, with --peers, the peer libraries).

Runs the grid tasks x methods x seeds at each sample size n: every method sees the same samples
of a (task, n, seed), with its default settings. --suite picks the tasks: neuralmi's own
benchmark (default), benchmark-mi's 40 "Beyond Normal" tasks (beyond-normal), 23 tasks with
known conditional MI I(X;Y|Z) (conditional) or 14 with a discrete side (discrete). Writes
results.csv / results.json (one row per cell, appended as cells finish: an interrupted run
resumes where it stopped when the same command is run again), summary.md (mean absolute error
and median seconds per method, overall and per task family, per n when there are several; for
the conditional and discrete suites also every task's mean estimate per method, and for tasks
whose truth is 0, such as the chains, how often the 95% interval contains 0; also printed),
figure.png (estimate vs truth and error vs time per method; with several sizes, error vs n and
vs time) and tasks.png (every estimate per task) to --out.

Methods per suite (--methods 'all'; 'neural' is the first, 'baselines' the others):
  default, beyond-normal: {', '.join(OUR_METHODS)}
  conditional: {', '.join(CONDITIONAL_METHODS)} (also, when named: {', '.join(EXTRA_METHODS['conditional'])})
  discrete:    {', '.join(DISCRETE_METHODS)} (plugin: the uncorrected plug-in, two discrete sides only)
Peers per suite (--peers; run in the peers' own Python, --peers-python):
  default, beyond-normal: benchmark-mi and torch-mist (.venv-peers: benchmarks/setup_peers.sh)
  conditional: {', '.join(CONDITIONAL_PEERS)}
  discrete:    {', '.join(DISCRETE_PEERS)}
               (.venv-cmi-peers: npeet-plus 0.2.0, infomeasure 0.6.3, scikit-learn)

examples:
  neuralmi bench --tasks 'gauss-*' --methods mine,ksg --seeds 1
  neuralmi bench --suite beyond-normal --n 1000,5000,10000 --methods mine,gaussian,ksg --out runs/beyond-normal
  bash benchmarks/setup_peers.sh .venv-peers         # once, in a neuralmi checkout: the peers' venv
  neuralmi bench --peers --out runs/bench            # the full grid, with the peers
  neuralmi bench --methods gaussian,mine --options steps=50   # quick settings for a smoke test
  neuralmi bench --suite conditional --n 5000 --peers --peers-python /tmp/venv-cmi-peers/bin/python --out runs/conditional
  neuralmi bench --suite discrete --n 1000,10000 --peers --peers-python /tmp/venv-cmi-peers/bin/python --out runs/discrete
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``neuralmi bench``."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "--suite",
        default="default",
        choices=tuple(SUITES),
        help="the task suite: 'default' (neuralmi's 36-task benchmark and tasks registered with neuralmi.tasks.register), "
        "'beyond-normal' (benchmark-mi's 40 tasks, Czyz et al. 2023, under bmi's ids), 'conditional' (23 tasks with known "
        "I(X;Y|Z)) or 'discrete' (14 tasks with a discrete side)",
    )
    parser.add_argument("--tasks", default="all", help="task names or fnmatch patterns of the suite, comma-separated, e.g. 'gauss-*,student-t-*' (default: all)")
    parser.add_argument(
        "--methods",
        default="all",
        help=f"our methods, comma-separated, or the groups 'neural', 'baselines', 'all' (default), 'none'; known: {', '.join(OUR_METHODS)} "
        "(other suites: see above)",
    )
    parser.add_argument(
        "--n",
        type=sample_sizes,
        default=(10_000,),
        help="samples per task and seed; several sizes comma-separated, e.g. 1000,5000,10000 (every cell records its n; default 10000)",
    )
    parser.add_argument("--seeds", type=positive_int, default=3, help="seeds 0..SEEDS-1 per task (default 3)")
    parser.add_argument("--out", default="runs/bench", help="output folder; rerunning into it resumes (default runs/bench)")
    parser.add_argument(
        "--options",
        nargs="+",
        metavar="KEY=VALUE",
        help="settings for every neural estimate instead of the defaults, e.g. --options steps=50 hidden='(32,)' (for quick runs)",
    )
    parser.add_argument("--timeout", type=timeout_seconds, default=600.0, help="seconds before one estimate is abandoned and recorded as failed; 'none': no limit (default 600)")
    parser.add_argument("--retry-errors", action="store_true", help="recompute cells recorded with an error")
    parser.add_argument("--peers", action="store_true", help="also run the peer libraries (benchmark-mi, torch-mist) on the same samples")
    parser.add_argument(
        "--peer-methods",
        help=f"peer methods, comma-separated ('bmi:ksg,...'), library names ('bmi', 'torch_mist'; 'npeet_plus', 'infomeasure', "
        f"'sklearn'), 'all' or 'default' (default: {','.join(DEFAULT_PEERS)}; the conditional and discrete suites: theirs, see above)",
    )
    parser.add_argument("--peer-seeds", type=positive_int, help="run the peers on the first PEER_SEEDS seeds only (default: all seeds)")
    parser.add_argument(
        "--peers-python",
        help="Python of the peers' environment (default: .venv-peers/bin/python, made by benchmarks/setup_peers.sh; "
        f"for the conditional and discrete suites {PEERS_VENV['conditional']}/bin/python)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress output")


def config_from_args(args: argparse.Namespace) -> BenchConfig:
    """A :class:`BenchConfig` from parsed arguments (asks the peers' runner nothing)."""
    if not args.peers:
        given = [flag for flag, value in (("--peer-methods", args.peer_methods), ("--peer-seeds", args.peer_seeds), ("--peers-python", args.peers_python)) if value is not None]
        if given:
            raise BenchError(f"{', '.join(given)}: only with --peers")
    kind = SUITE_KIND[args.suite]
    tasks = resolve_tasks(args.tasks, args.suite)
    methods = resolve_methods(args.methods, kind)
    options = parse_options(args.options)
    peer_methods: list[str] = []
    python: Path | None = None
    if args.peers:
        if args.peers_python is not None:
            python = Path(args.peers_python)
            if not python.exists():
                raise BenchError(f"--peers-python: {python} does not exist; {setup_hint(kind)}")
        else:
            python = default_peers_python(kind)
            if python is None:
                raise BenchError(f"--peers: the peers' environment {PEERS_VENV[kind]} was not found; {setup_hint(kind)}")
        peer_methods = resolve_peer_methods(args.peer_methods, kind)
    return BenchConfig(
        tasks=tuple(tasks),
        methods=tuple(methods),
        peer_methods=tuple(peer_methods),
        n=args.n,
        seeds=args.seeds,
        peer_seeds=args.peer_seeds,
        options=tuple(options.items()),
        timeout=args.timeout,
        out=Path(args.out),
        peers_python=python,
        retry_errors=args.retry_errors,
        progress=not args.quiet,
        suite=args.suite,
    )


def main(args: argparse.Namespace) -> int:
    """``neuralmi bench``: run the grid, then print and write the summary and figures."""
    config = config_from_args(args)
    t0 = time.perf_counter()
    rows = run_bench(config)
    wall = time.perf_counter() - t0
    title = "neuralmi bench" if config.suite == "default" else f"neuralmi bench --suite {config.suite}"
    text = summarize(rows, title=title, kind=config.kind)
    (config.out / "summary.md").write_text(text, encoding="utf-8")
    plot(rows, config.out / "figure.png", config.out / "tasks.png")
    if not args.quiet:
        print(text)
    print(
        f"wrote {config.out / 'results.csv'}, results.json, summary.md, figure.png, tasks.png ({wall:.0f} s)",
        file=sys.stderr if args.quiet else sys.stdout,
    )
    return 0
