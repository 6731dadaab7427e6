"""CPU seconds of neuralmi.estimate(x, y, seed=0) (the default) on the 40 tasks, seed 0, at each n:
process CPU time (all threads), less sensitive to other processes on the machine than wall time."""
import json, sys, time
import numpy as np
import torch
from neuralmi import estimate, tasks
out = {}
for n in (1000, 5000, 10000):
    cpu, wall = [], []
    for name in tasks.BEYOND_NORMAL:
        x, y = tasks.get(name).sample(n, seed=0)
        c0, w0 = time.process_time(), time.perf_counter()
        estimate(x, y, seed=0, progress=False)
        cpu.append(time.process_time() - c0); wall.append(time.perf_counter() - w0)
    out[n] = {"median_cpu_s": float(np.median(cpu)), "median_wall_s": float(np.median(wall)), "cpu_s": cpu, "wall_s": wall}
    print(n, out[n]["median_cpu_s"], out[n]["median_wall_s"], flush=True)
out["torch_threads"] = torch.get_num_threads()
json.dump(out, open(sys.argv[1], "w"), indent=1)
