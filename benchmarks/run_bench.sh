#!/usr/bin/env bash
# The full `neuralmi bench` run of docs/bench.md: every registered task (36), n = 10,000,
# 3 seeds, all of neuralmi's methods with their default settings, and a subset of the peers
# (benchmark-mi and torch-mist, library defaults, in their own venv: benchmarks/setup_peers.sh).
#
#   flock /work/helpers/cpu.lock bash benchmarks/run_bench.sh     (from the repository root)
#
# Resumable: rerunning skips every cell already in $OUT/results.csv. Environment overrides:
# PYTHON (neuralmi's interpreter), PEERS_PYTHON, OUT.
#
# To fit about two hours on a 2-core CPU, the peers run a chosen subset of their estimators:
# benchmark-mi's ksg, cca (closed-form Gaussian), mine and infonce, and torch-mist's nwj and
# smile (its most accurate in benchmarks/results/peers-baseline). bmi's nwj/dv and torch-mist's
# js/tuba/infonce (15-45 s per estimate, no more accurate there) are left out. The neural peers
# run on seed 0 only; ours and bmi's ksg and cca on seeds 0, 1, 2. Hence passes into the same
# folder, each ending with a complete summary of everything so far:
#   1. seed 0, ours and the chosen peers (a complete first table early);
#   2. seeds 0-1, then 0-2: ours + bmi:ksg, bmi:cca.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PY="${PYTHON:-.venv/bin/python}"
PEERS_PY="${PEERS_PYTHON:-.venv-peers/bin/python}"
OUT="${OUT:-docs/results/bench}"
PEERS="bmi:ksg,bmi:cca,bmi:mine,bmi:infonce,torch_mist:nwj,torch_mist:smile"
CHEAP_PEERS="bmi:ksg,bmi:cca"

if [ ! -x "$PEERS_PY" ]; then
    echo "[run_bench] no peers' Python at $PEERS_PY: create it with bash benchmarks/setup_peers.sh .venv-peers" >&2
    exit 2
fi

bench() { "$PY" -m neuralmi.cli bench --n 10000 --peers --peers-python "$PEERS_PY" --out "$OUT" "$@"; }

start=$(date +%s)
bench --seeds 1 --peer-methods "$PEERS"
bench --seeds 2 --peer-methods "$CHEAP_PEERS"
bench --seeds 3 --peer-methods "$CHEAP_PEERS"
echo "[run_bench] wall time $(( $(date +%s) - start )) s"

mkdir -p docs/figures
cp "$OUT/figure.png" docs/figures/bench.png
cp "$OUT/tasks.png" docs/figures/bench_tasks.png
