# 0.8.0 vs 0.9.0 time at 10,000 rows, alone, alternating. /tmp/w08 = git worktree add /tmp/w08 2ff9b45 (0.8.0);
# /tmp/w09 = git worktree add /tmp/w09 724416d (0.9.0's estimator). Output: medians 1.19 / 1.22 / 1.24 / 1.52 s (w08 w09 w08 w09).
cd /work/main
P=/work/main/.venv/bin/python
for w in w08 w09 w08 w09; do
  rm -rf /tmp/runs/v09/time-$w
  PYTHONPATH=/tmp/$w/src $P -m neuralmi.cli bench --suite beyond-normal --n 10000 --methods mine --seeds 1 --out /tmp/runs/v09/time-$w --quiet
  grep "| mine" /tmp/runs/v09/time-$w/summary.md | head -1 | sed "s/^/$w /" >> /tmp/runs/v09/timing.txt
done
