r"""``neuralmi bench``: score MI estimators on the benchmark tasks with known MI.

The grid is *sample sizes x tasks x methods x seeds*. For every size ``n`` (``--n``, one or
several, e.g. ``1000,5000,10000``), task (:mod:`neuralmi.tasks`) and seed ``s`` one sample of
``n`` pairs is drawn (``task.sample(n, seed=s)``) and every selected method estimates I(X; Y) on
that very sample with its **default settings**. The tasks come from a suite (``--suite``):
``default``, neuralmi's 36-task benchmark (``neuralmi.tasks.BENCHMARK``) and any task registered
with ``neuralmi.tasks.register``; ``beyond-normal``, benchmark-mi's 40 "Beyond Normal" tasks
(Czyż et al., NeurIPS 2023) rebuilt in :mod:`neuralmi.tasks.beyond_normal` under bmi's ids;
``conditional``, the 23 tasks with known conditional MI I(X; Y | Z) of
``neuralmi.tasks.conditional_names()`` (one sample ``(x, y, z)`` per (task, n, seed); the truth
is ``task.cmi``); ``discrete``, the 14 tasks with a discrete side of
``neuralmi.tasks.discrete_names()`` (``task.discrete`` says which). The methods of the MI suites:

* neural (this library): ``neuralmi.estimate(x, y, method=m, seed=s)`` for ``mine``, ``dv``,
  ``nwj``, ``infonce``, ``js``, ``smile``, ``tuba``, ``minee`` (``--options`` overrides
  settings, e.g. for quick tests);
* baselines (this library, :mod:`neuralmi.nonparametric`): ``ksg`` (k = 3), ``ksg_lnc``
  (k = 5, so only where d_x + d_y <= 5), ``gaussian`` (the Gaussian/CCA closed form) and
  ``binned`` (only where d_x, d_y <= 3 and d_x + d_y <= 4);
* peers (``--peers``): benchmark-mi's and torch-mist's estimators, run in the peers' own
  Python environment by the runner script ``neuralmi/bench/scripts/peers_runner.py`` (package
  data, launched by path, never imported; see its docstring for the protocol), fed the same
  samples through ``.npz`` files. The peers pin numpy<2 and
  jax==0.4.30, so they cannot share neuralmi's environment;
  ``bash benchmarks/setup_peers.sh .venv-peers`` (in a neuralmi checkout) creates theirs.

On the conditional suite ours are ``default`` (``neuralmi.estimate(x, y, z=z)``: the chain rule),
``gaussian_cmi`` and ``ksg_cmi`` (and, when named, ``direct``: ``strategy="direct"``, and
``residualized``: ``residualize=True``); the peers (``--peers``, default set) npeet-plus's
``mi(x, y, z)`` and infomeasure's KSG ``cmi``. On the discrete suite ours are ``default``
(``neuralmi.estimate(x, y, discrete=task.discrete)``: the classifier bound for labels, the
jackknifed plug-in for two discrete sides), ``mixed_ksg`` and ``plugin`` (uncorrected, two
discrete sides only); the peers npeet-plus (``micd`` / ``midd``), infomeasure (KSG on the codes /
``miller_madow``) and scikit-learn (``mutual_info_classif``, ``mutual_info_regression``: the
largest per-feature value). Those peers run in their own environment (npeet-plus 0.2.0,
infomeasure 0.6.3, scikit-learn; ``.venv-cmi-peers`` or ``--peers-python``) through the same
runner script, which reads ``z`` or ``discrete`` from the samples file. A folder holds one kind
of suite (MI, conditional or discrete; pinned in ``config.json``).

One *cell* is one (task, method, seed, n). Every finished cell is appended to ``results.csv``
(flushed and synced to disk at once) and ``results.json`` is rewritten, so an interrupted run
loses at most the cell in flight; rerunning the same command skips the cells already in
``results.csv`` (delete a row to recompute it). Failures (exceptions, time-outs, NaN) are
recorded as cells with an ``error`` and no estimate; ``--retry-errors`` recomputes them.
``config.json`` pins the settings that make cells comparable (the sample sizes, ``--options``
and the neural estimators' default settings): resuming into a folder made with other settings
is refused (a run over some of the folder's sizes is allowed), and it records the git commit
of the source the run used.

Cells run one at a time (ours in this process, the peers' in one long-lived subprocess that
waits idle meanwhile), so ``seconds`` is the wall time of one estimator call on an otherwise
idle process tree (for ours: the ``estimate`` call, pre-processing included; for the peers:
construction + fit + estimate, imports excluded).

At the end, the summary (mean absolute error and median seconds per method, overall and per
task family; with several sizes first per method and n, also as the error of each task's
seed-averaged estimate, as published tables report it) is printed and written to
``summary.md``, and the figures to ``figure.png`` (estimate vs truth and error vs time per
method; with several sizes, error vs n and vs time) and ``tasks.png`` (estimates per task).

The subpackage, one idea per module:

* :mod:`.methods`: the method catalogue (ours, the peers'), selections, :class:`BenchError`;
* :mod:`.grid`: :class:`BenchConfig`, the suites, task and option selection, running the
  cells (:func:`run_bench`);
* :mod:`.store`: ``results.csv`` / ``results.json`` (:class:`ResultStore`,
  :func:`read_results`);
* :mod:`.peers`: the peers' process and its JSON-lines protocol (:class:`PeersProcess`);
* :mod:`.report`: summaries (:func:`summarize`) and figures (:func:`plot`; matplotlib is
  imported only there);
* :mod:`.cli`: the options of ``neuralmi bench`` and its ``main``;
* ``scripts/peers_runner.py``: the runner, run by the peers' Python (not a module of the package).
"""

from __future__ import annotations

from .cli import DESCRIPTION, add_arguments, config_from_args, main
from .grid import (
    SUITES,
    BenchConfig,
    check_options,
    command,
    neural_defaults,
    parse_options,
    resolve_tasks,
    run_bench,
    suite_tasks,
)
from .methods import (
    BASELINE_METHODS,
    CONDITIONAL_METHODS,
    CONDITIONAL_PEERS,
    DISCRETE_METHODS,
    DISCRETE_PEERS,
    EXTRA_METHODS,
    SUITE_KIND,
    kind_methods,
    kind_peers,
    peer_applicable,
    DEFAULT_PEERS,
    NEURAL_METHODS,
    OUR_METHODS,
    PEER_METHODS,
    SLOW_PEERS,
    BenchError,
    applicable,
    resolve_methods,
    resolve_peer_methods,
)
from .peers import PeersProcess, default_peers_python, runner_path, setup_hint
from .report import per_task_table, plot, summarize, summary_by_n, summary_stats, zero_coverage
from .store import COLUMNS, ResultStore, read_results

__all__ = [
    "DESCRIPTION",
    "SUITES",
    "BenchConfig",
    "BenchError",
    "OUR_METHODS",
    "NEURAL_METHODS",
    "BASELINE_METHODS",
    "CONDITIONAL_METHODS",
    "CONDITIONAL_PEERS",
    "DISCRETE_METHODS",
    "DISCRETE_PEERS",
    "EXTRA_METHODS",
    "SUITE_KIND",
    "kind_methods",
    "kind_peers",
    "peer_applicable",
    "per_task_table",
    "setup_hint",
    "zero_coverage",
    "PEER_METHODS",
    "DEFAULT_PEERS",
    "SLOW_PEERS",
    "COLUMNS",
    "PeersProcess",
    "ResultStore",
    "add_arguments",
    "applicable",
    "check_options",
    "command",
    "config_from_args",
    "default_peers_python",
    "main",
    "neural_defaults",
    "parse_options",
    "plot",
    "read_results",
    "resolve_methods",
    "resolve_peer_methods",
    "resolve_tasks",
    "run_bench",
    "runner_path",
    "suite_tasks",
    "summarize",
    "summary_by_n",
    "summary_stats",
]
