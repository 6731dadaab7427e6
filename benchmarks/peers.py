#!/usr/bin/env python
"""Run the peer MI libraries (benchmark-mi, torch-mist) with their default settings.

A thin wrapper: the runner itself is ``src/neuralmi/bench/scripts/peers_runner.py`` (it ships
with the package as a data file, so that ``neuralmi bench --peers`` works from an installed
neuralmi). It is loaded by file path, so this script, like the runner, never imports neuralmi
and runs under the peers' virtualenv (``bash benchmarks/setup_peers.sh .venv-peers``)::

    .venv-peers/bin/python benchmarks/peers.py --samples case.npz --out peers.json
    .venv-peers/bin/python benchmarks/peers.py --list

See the runner's docstring for the settings used and the JSON records written. Library use
(e.g. ``benchmarks/results/peers-baseline/run_baseline.py``)::

    from peers import resolve_methods, run_peers
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_RUNNER = Path(__file__).resolve().parents[1] / "src" / "neuralmi" / "bench" / "scripts" / "peers_runner.py"
_spec = importlib.util.spec_from_file_location("neuralmi_peers_runner", _RUNNER)
if _spec is None or _spec.loader is None:  # pragma: no cover - the file is part of the repository
    raise ImportError(f"cannot load the peers runner from {_RUNNER}")
_runner = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _runner  # dataclasses look their module up here
_spec.loader.exec_module(_runner)

METHODS = _runner.METHODS
PeerMethod = _runner.PeerMethod
main = _runner.main
resolve_methods = _runner.resolve_methods
run_one = _runner.run_one
run_peers = _runner.run_peers
serve = _runner.serve

__all__ = ["METHODS", "PeerMethod", "main", "resolve_methods", "run_one", "run_peers", "serve"]

if __name__ == "__main__":
    sys.exit(main())
