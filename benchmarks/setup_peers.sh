#!/usr/bin/env bash
# Create (or update) the virtualenv for the peer MI libraries, run by `neuralmi bench --peers`
# (through the runner script src/neuralmi/bench/scripts/peers_runner.py) and benchmarks/peers.py.
#
#   bash benchmarks/setup_peers.sh [VENV_DIR]      (default: .venv-peers)
#
# `neuralmi bench --peers` looks for .venv-peers/bin/python in the working directory, then in the
# neuralmi checkout; elsewhere pass --peers-python VENV_DIR/bin/python.
# The peers (benchmark-mi, imported as `bmi`, and torch-mist) pin numpy<2, and bmi only
# imports with jax/jaxlib 0.4.30, so they live in their own venv, never in the project's.
# torch is installed FIRST and pinned to 2.13.0 (the CPU wheel available locally); any
# looser torch spec would pull a multi-GB CUDA build. torch-mist accepts torch>=2,<3.
# Idempotent: re-running on an existing venv only checks the pins and the imports.
# PYTHON=... selects the interpreter (default python3.11; bmi needs python <3.13).
set -euo pipefail

VENV="${1:-.venv-peers}"
PY="${PYTHON:-python3.11}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REQ="$HERE/requirements-peers.txt"

if [ ! -x "$VENV/bin/python" ]; then
    echo "[setup_peers] creating $VENV with $PY"
    "$PY" -m venv "$VENV"
fi

PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check)

# 1. torch first, exactly 2.13.0 (CPU).
"${PIP[@]}" "torch==2.13.0"
# 2. everything else, pinned; torch==2.13.0 is repeated there so nothing can move it.
"${PIP[@]}" -r "$REQ"

# 3. check that the set imports and the pins hold.
"$VENV/bin/python" - <<'PY'
import numpy, jax, jaxlib, torch
import bmi.estimators, torch_mist
assert numpy.__version__.startswith("1."), numpy.__version__
assert jax.__version__ == "0.4.30" and jaxlib.__version__ == "0.4.30", (jax.__version__, jaxlib.__version__)
assert torch.__version__.split("+")[0] == "2.13.0", torch.__version__
print(f"[setup_peers] ok: numpy {numpy.__version__}, jax {jax.__version__}, torch {torch.__version__}")
PY
