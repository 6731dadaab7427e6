"""The command line of ``neuralmi bench``: its options, and ``main`` (run the grid, then write
the summary and figures)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .._cli_args import positive_int, timeout_seconds
from .grid import SUITES, BenchConfig, parse_options, resolve_tasks, run_bench
from .methods import DEFAULT_PEERS, OUR_METHODS, BenchError, resolve_methods, resolve_peer_methods
from .peers import _SETUP_HINT, default_peers_python
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

DESCRIPTION = """Score MI estimators on the benchmark tasks with known MI (and, with --peers, the peer libraries).

Runs the grid tasks x methods x seeds at each sample size n: every method sees the same samples
of a (task, n, seed), with its default settings. --suite picks the tasks: neuralmi's own
benchmark (default) or benchmark-mi's 40 "Beyond Normal" tasks (beyond-normal). Writes
results.csv / results.json (one row per cell, appended as cells finish: an interrupted run
resumes where it stopped when the same command is run again), summary.md (mean absolute error
and median seconds per method, overall and per task family, per n when there are several; also
printed), figure.png (estimate vs truth and error vs time per method; with several sizes, error
vs n and vs time) and tasks.png (every estimate per task) to --out.

examples:
  neuralmi bench --tasks 'gauss-*' --methods mine,ksg --seeds 1
  neuralmi bench --suite beyond-normal --n 1000,5000,10000 --methods mine,gaussian,ksg --out runs/beyond-normal
  bash benchmarks/setup_peers.sh .venv-peers         # once, in a neuralmi checkout: the peers' venv
  neuralmi bench --peers --out runs/bench            # the full grid, with the peers
  neuralmi bench --methods gaussian,mine --options steps=50   # quick settings for a smoke test
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``neuralmi bench``."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "--suite",
        default="default",
        choices=tuple(SUITES),
        help="the task suite: 'default' (neuralmi's 36-task benchmark and tasks registered with neuralmi.tasks.register) "
        "or 'beyond-normal' (benchmark-mi's 40 tasks, Czyz et al. 2023, under bmi's ids)",
    )
    parser.add_argument("--tasks", default="all", help="task names or fnmatch patterns of the suite, comma-separated, e.g. 'gauss-*,student-t-*' (default: all)")
    parser.add_argument(
        "--methods",
        default="all",
        help=f"our methods, comma-separated, or the groups 'neural', 'baselines', 'all' (default), 'none'; known: {', '.join(OUR_METHODS)}",
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
        help=f"peer methods, comma-separated ('bmi:ksg,...'), 'bmi', 'torch_mist', 'all' or 'default' (default: {','.join(DEFAULT_PEERS)})",
    )
    parser.add_argument("--peer-seeds", type=positive_int, help="run the peers on the first PEER_SEEDS seeds only (default: all seeds)")
    parser.add_argument(
        "--peers-python",
        help="Python of the peers' environment (default: .venv-peers/bin/python; create it with benchmarks/setup_peers.sh)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress output")


def config_from_args(args: argparse.Namespace) -> BenchConfig:
    """A :class:`BenchConfig` from parsed arguments (asks the peers' runner nothing)."""
    if not args.peers:
        given = [flag for flag, value in (("--peer-methods", args.peer_methods), ("--peer-seeds", args.peer_seeds), ("--peers-python", args.peers_python)) if value is not None]
        if given:
            raise BenchError(f"{', '.join(given)}: only with --peers")
    tasks = resolve_tasks(args.tasks, args.suite)
    methods = resolve_methods(args.methods)
    options = parse_options(args.options)
    peer_methods: list[str] = []
    python: Path | None = None
    if args.peers:
        if args.peers_python is not None:
            python = Path(args.peers_python)
            if not python.exists():
                raise BenchError(f"--peers-python: {python} does not exist; {_SETUP_HINT}")
        else:
            python = default_peers_python()
            if python is None:
                raise BenchError(f"--peers: the peers' environment .venv-peers was not found; {_SETUP_HINT}")
        peer_methods = resolve_peer_methods(args.peer_methods)
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
    text = summarize(rows, title="neuralmi bench")
    (config.out / "summary.md").write_text(text, encoding="utf-8")
    plot(rows, config.out / "figure.png", config.out / "tasks.png")
    if not args.quiet:
        print(text)
    print(
        f"wrote {config.out / 'results.csv'}, results.json, summary.md, figure.png, tasks.png ({wall:.0f} s)",
        file=sys.stderr if args.quiet else sys.stdout,
    )
    return 0
