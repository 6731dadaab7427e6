"""Default estimate with the unshrunk Gaussian baseline (baseline_shrinkage=None) against the
held-out-selected shrinkage (the default, "cv") on high-dimensional Gaussians at n = 1,000 and
5,000: prints task, n, truth, then estimate and seconds for None and for "cv".

    python benchmarks/baseline_shrinkage.py
"""
import numpy as np, neuralmi, warnings, time, sys
from neuralmi.tasks import dense_gaussian
warnings.simplefilter("ignore")
tasks=[dense_gaussian(50,50,0.5), neuralmi.tasks.get("gauss-d25-rho0.2"), neuralmi.tasks.get("gauss-sparse-25x25-k2-rho0.8"), neuralmi.tasks.get("gauss-dense-25x25-c0.5"), neuralmi.tasks.get("student-t-5x5-dof5-rho0.5"), neuralmi.tasks.get("gauss-d2-rho0.5")]
for n in (1000, 5000):
  for t in tasks:
    x,y=t.sample(n, seed=1)
    row=[t.name, n, round(t.mi,3)]
    for b in (None, "cv"):
        t0=time.time(); r=neuralmi.estimate(x,y,seed=0,baseline_shrinkage=b, progress=False); row+= [round(r.mi,3), round(time.time()-t0,1)]
    print(*row, flush=True)
