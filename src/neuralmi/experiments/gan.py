r"""GAN + MINE against mode dropping (the MINE paper's section 5.1, its Figures 3 and 4).

A GAN on 2-D toy data whose generator takes :math:`[\varepsilon, c]`, uniform noise
:math:`\varepsilon \sim U(-1, 1)^{100}` and a one-hot code :math:`c` (25 classes, uniform). The
generator minimises the non-saturating GAN loss minus :math:`\beta\, I(G([\varepsilon, c]); c)`,
the MI estimated by MINE (:class:`neuralmi.MutualInformation`, ``method="mine"``), with the MI
term's gradient clipped to the norm of the GAN loss's gradient
(:func:`neuralmi.regularizers.adaptive_gradient_clipping`, norms over all generator parameters).
With :math:`\beta = 0` the same generator (code input included) is a plain GAN.

Data (``--data``):

- ``25gaussians``: 25 isotropic Gaussians of standard deviation ``std = 0.05`` centred on the
  grid :math:`\{-4, -2, 0, 2, 4\}^2`, equal weights; ``n_data = 4000`` training points (160 per
  mode, as in the PyTorch seed repo).
- ``spiral``: an Archimedean spiral :math:`r = \theta/\pi`, :math:`\theta \in [\pi/2, 4\pi]`
  (1.75 turns, radius 0.5 to 4, arc length about 24.4), points uniform along the arc length plus
  isotropic Gaussian noise of standard deviation ``std = 0.05``.

Architectures and optimiser as in the PyTorch seed repo (see ``REFERENCES.md``, item 3):
generator 500-500 (Linear, BatchNorm, LeakyReLU 0.2) to 2; discriminator 400x3 LeakyReLU, one
logit (sigmoid cross-entropy); MINE statistics network 400x3 LeakyReLU on ``[x, c]``; Adam,
lr 1e-4, betas (0.5, 0.999), batch 256. Each step: one discriminator step, one generator step,
one statistics-network step (on detached samples, its own Adam), in that order. Training length:
``epochs`` passes over the ``n_data`` points (default 600 epochs = 9600 steps, as in the PyTorch
seed repo; on one CPU thread about 3.5 minutes per run for beta = 0 and 8 for beta > 0).

Metrics, on ``n_eval = 10000`` generated samples (generator in eval mode) at ``evals`` points
over training, with ``std`` the data's noise level:

- *quality*: the share of samples within ``3 std`` of a mode centre (25 Gaussians) or of the
  spiral curve ("high-quality samples"). Real data score about 0.989 (the mass of a 2-D Gaussian
  within 3 std: :math:`1 - e^{-9/2}`).
- *modes covered* (25 Gaussians): a mode counts if at least ``min_share`` (default 0.1) of its
  uniform share of the ``n_eval`` samples (``0.1 * 10000 / 25 = 40`` samples) lie within
  ``3 std`` of its centre. (The TF seed counted a mode with a single sample; that count is also
  recorded, as ``modes_any``.)
- *KL*: :math:`\mathrm{KL}(q \,\|\, u) = \sum_k q_k \log(K q_k)`, the histogram :math:`q` of the
  high-quality samples over the K modes against the uniform distribution (0 when every mode gets
  its share; :math:`\log 25 = 3.22` when all fall on one mode). Undefined (``None``) when no
  sample is of high quality.
- *arc coverage* (spiral): the arc is cut into ``arc_bins`` (default 100) bins of equal length;
  a high-quality sample is assigned to the bin of its nearest curve point, and a bin counts as
  covered if it holds at least ``min_share`` of its uniform share (``0.1 * 10000 / 100 = 10``
  samples). Reported as the covered share of the arc length; the KL above is over these bins.

The command runs every value of ``betas`` (``--beta``; beta = 0, the plain GAN, is added unless
``--no-baseline``) for each seed; a seed fixes the training data, the initial weights of every
network and the noise, so that beta = 0 and beta > 0 start from the same point.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ._common import progress_bar, show_lines
from ._images import (
    add_beta_arguments,
    betas_from_args,
    critic_step,
    kl_to_uniform,
    latent,
    mi_backward,
    resolve_device,
    summary_rows,
)

__all__ = [
    "DESCRIPTION",
    "DATASETS",
    "Config",
    "quick_config",
    "add_arguments",
    "config_from_args",
    "make_data",
    "Spiral",
    "grid_centres",
    "mode_metrics",
    "spiral_metrics",
    "run",
    "plot",
    "summarize",
]

DESCRIPTION = """GAN + MINE against mode dropping: modes covered, sample quality and KL, beta = 0 vs beta > 0.

A GAN on 25 Gaussians (5x5 grid, std 0.05) or a spiral; the generator gets [noise, one-hot code c]
and its loss adds -beta * I(G([noise, c]); c) estimated by MINE, with adaptive gradient clipping.
--beta B runs beta = 0 (the plain GAN) and B; writes figure.png (real vs generated samples, metric
curves over training) and results.json (every run's metrics over training, summary over seeds)."""

DATASETS = ("25gaussians", "spiral")


# ----------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class Config:
    """Settings of the GAN experiment (validated on construction).

    Attributes:
        data: ``"25gaussians"`` or ``"spiral"``.
        betas: MI weights to run (each >= 0; 0 is the plain GAN).
        seeds: repetitions (seeds ``base_seed ... base_seed + seeds - 1``).
        base_seed: the first seed.
        n_data: training points.
        std: the data's noise standard deviation (also the unit of the 3-std quality radius).
        noise_dim: dimension of the generator's uniform noise.
        n_codes: classes of the one-hot code ``c``.
        gen_hidden, disc_hidden, critic_hidden: hidden widths of the generator, discriminator and
            MINE statistics network.
        batch_size: minibatch size (real and generated).
        epochs: passes over the training points (steps = epochs * ceil(n_data / batch_size)).
        lr, critic_lr: Adam learning rates (generator and discriminator; statistics network).
        adam_beta1: Adam's first-moment decay (0.5 in the seed repos).
        ema_rate: MINE's moving-average rate.
        clip: adaptive gradient clipping of the MI term (off: plain ``loss - beta * mi``).
        mi_until: share of training with the MI term on (the TF seed switched it off halfway).
        n_eval: generated samples per evaluation.
        evals: evaluation points over training (the last one at the end).
        min_share: a mode (arc bin) is covered if it holds at least this share of its uniform
            share of the ``n_eval`` samples.
        arc_bins: equal-length arc bins of the spiral.
        n_plot: generated samples kept per run for the figure.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"``.
        threads: torch CPU threads during the run (restored afterwards).
        progress: a progress bar per (beta, seed) run on stderr, advancing per epoch with the
            latest metrics, and one line per finished run; ``None`` shows the bar only when
            stderr is a terminal and the lines always (a log for runs in the background),
            ``False`` neither, ``True`` both.
    """

    data: str = "25gaussians"
    betas: tuple[float, ...] = (0.0, 1.0)
    seeds: int = 3
    base_seed: int = 0
    n_data: int = 4000
    std: float = 0.05
    noise_dim: int = 100
    n_codes: int = 25
    gen_hidden: tuple[int, ...] = (500, 500)
    disc_hidden: tuple[int, ...] = (400, 400, 400)
    critic_hidden: tuple[int, ...] = (400, 400, 400)
    batch_size: int = 256
    epochs: int = 600
    lr: float = 1e-4
    critic_lr: float = 1e-4
    adam_beta1: float = 0.5
    ema_rate: float = 0.01
    clip: bool = True
    mi_until: float = 1.0
    n_eval: int = 10_000
    evals: int = 20
    min_share: float = 0.1
    arc_bins: int = 100
    n_plot: int = 1000
    device: str = "auto"
    threads: int = 1
    progress: bool | None = None

    def __post_init__(self) -> None:
        if self.data not in DATASETS:
            raise ValueError(f"data must be one of {', '.join(DATASETS)}; got {self.data!r}")
        for name in ("betas", "gen_hidden", "disc_hidden", "critic_hidden"):
            value = getattr(self, name)
            if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
                raise TypeError(f"{name} must be a sequence; got {value!r}")
            kind = float if name == "betas" else int
            try:
                items = tuple(kind(v) for v in value)
            except (TypeError, ValueError):
                raise TypeError(f"{name} must be a sequence of numbers; got {value!r}") from None
            if not items:
                raise ValueError(f"{name} must not be empty")
            object.__setattr__(self, name, items)
        if any(not math.isfinite(b) or b < 0 for b in self.betas):
            raise ValueError(f"betas must be finite and >= 0; got {self.betas}")
        if len(set(self.betas)) != len(self.betas):
            raise ValueError(f"betas must not repeat; got {self.betas}")
        for name in ("gen_hidden", "disc_hidden", "critic_hidden"):
            if any(h < 1 for h in getattr(self, name)):
                raise ValueError(f"{name} must hold positive widths; got {getattr(self, name)}")
        for name in ("seeds", "n_data", "noise_dim", "n_codes", "batch_size", "epochs", "n_eval", "evals",
                     "arc_bins", "threads"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}")
        if isinstance(self.base_seed, bool) or not isinstance(self.base_seed, int) or self.base_seed < 0:
            raise ValueError(f"base_seed must be a non-negative integer; got {self.base_seed!r}")
        if isinstance(self.n_plot, bool) or not isinstance(self.n_plot, int) or self.n_plot < 0:
            raise ValueError(f"n_plot must be a non-negative integer; got {self.n_plot!r}")
        if self.batch_size < 2 or self.batch_size > self.n_data:
            raise ValueError(f"batch_size must be between 2 and n_data={self.n_data}; got {self.batch_size}")
        if self.n_codes < 2:
            raise ValueError(f"n_codes must be at least 2 (a one-hot code with one class carries no information); got {self.n_codes}")
        for name in ("std", "lr", "critic_lr"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number; got {value!r}")
        if not 0.0 <= self.adam_beta1 < 1.0:
            raise ValueError(f"adam_beta1 must be in [0, 1); got {self.adam_beta1}")
        if not 0.0 < self.ema_rate <= 1.0:
            raise ValueError(f"ema_rate must be in (0, 1]; got {self.ema_rate}")
        if not 0.0 <= self.mi_until <= 1.0:
            raise ValueError(f"mi_until must be in [0, 1]; got {self.mi_until}")
        if not 0.0 < self.min_share <= 1.0:
            raise ValueError(f"min_share must be in (0, 1]; got {self.min_share}")
        if not isinstance(self.device, str) or not self.device:
            raise ValueError(f"device must be a non-empty string; got {self.device!r}")

    @property
    def steps_per_epoch(self) -> int:
        """Minibatches per epoch (a trailing batch of a single point is dropped: BatchNorm and
        MINE's shuffled pairs need two)."""
        full, rest = divmod(self.n_data, self.batch_size)
        return full + (1 if rest >= 2 else 0)

    @property
    def steps(self) -> int:
        return self.epochs * self.steps_per_epoch


def quick_config(**changes: Any) -> Config:
    """A small run (seconds) for smoke tests: small networks, a few dozen steps, one seed."""
    base = Config(
        seeds=1,
        n_data=500,
        noise_dim=8,
        gen_hidden=(32, 32),
        disc_hidden=(32, 32),
        critic_hidden=(32, 32),
        batch_size=64,
        epochs=3,
        n_eval=500,
        evals=3,
        arc_bins=20,
        n_plot=200,
        progress=False,
    )
    return replace(base, **changes)


# ----------------------------------------------------------------------------- data


def grid_centres() -> np.ndarray:
    """The 25 mode centres ``{-4, -2, 0, 2, 4}^2``, shape ``(25, 2)``, row-major."""
    g = np.arange(-4.0, 5.0, 2.0)
    return np.array([(a, b) for a in g for b in g])


class Spiral:
    r"""The spiral :math:`r = \theta/\pi`, :math:`\theta \in [\pi/2, 4\pi]`, parametrised by arc length.

    Args:
        resolution: points of the dense polyline used to sample along the arc and to find the
            nearest curve point of a sample (spacing about ``length / resolution``).
    """

    theta_min = 0.5 * math.pi
    theta_max = 4.0 * math.pi

    def __init__(self, resolution: int = 20_000) -> None:
        from scipy.spatial import cKDTree

        theta = np.linspace(self.theta_min, self.theta_max, resolution + 1)
        self.points = self._xy(theta)
        seg = np.linalg.norm(np.diff(self.points, axis=0), axis=1)
        self.arc = np.concatenate([[0.0], np.cumsum(seg)])  # arc length at each polyline point
        self.theta = theta
        self.length = float(self.arc[-1])
        self._tree = cKDTree(self.points)

    @staticmethod
    def _xy(theta: np.ndarray) -> np.ndarray:
        r = theta / math.pi
        return np.stack([r * np.cos(theta), r * np.sin(theta)], axis=1)

    def sample(self, n: int, std: float, rng: np.random.Generator) -> np.ndarray:
        """``n`` points uniform along the arc length plus ``N(0, std^2 I)`` noise, ``(n, 2)``."""
        s = rng.uniform(0.0, self.length, size=n)
        theta = np.interp(s, self.arc, self.theta)
        return self._xy(theta) + std * rng.standard_normal((n, 2))

    def project(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Distance of each sample to the curve and the arc length of its nearest curve point."""
        dist, idx = self._tree.query(np.asarray(x, dtype=np.float64))
        return dist, self.arc[idx]


def make_data(data: str, n: int, std: float, rng: np.random.Generator) -> np.ndarray:
    """``n`` training points of ``data`` (see :data:`DATASETS`), shape ``(n, 2)``, float64."""
    if data == "25gaussians":
        centres = grid_centres()
        modes = rng.integers(0, len(centres), size=n)
        return centres[modes] + std * rng.standard_normal((n, 2))
    if data == "spiral":
        return Spiral().sample(n, std, rng)
    raise ValueError(f"data must be one of {', '.join(DATASETS)}; got {data!r}")


# ----------------------------------------------------------------------------- metrics


def _histogram_metrics(counts: np.ndarray, n: int, min_share: float) -> tuple[int, int, float | None]:
    """(bins covered, bins with any sample, KL of the histogram to uniform or None)."""
    threshold = min_share * n / len(counts)
    covered = int(np.sum(counts >= threshold))
    any_hit = int(np.sum(counts >= 1))
    return covered, any_hit, kl_to_uniform(counts)


def mode_metrics(samples: np.ndarray, std: float, min_share: float = 0.1) -> dict[str, Any]:
    """Mode coverage of 2-D samples on the 25-Gaussian grid (see the module docstring).

    Returns ``modes`` (covered, of 25), ``modes_any`` (modes with at least one high-quality
    sample), ``quality`` (share within 3 std of a centre), ``kl`` (histogram of high-quality
    samples over modes vs uniform; ``None`` if there is none) and ``counts`` per mode.
    """
    x = np.asarray(samples, dtype=np.float64)
    centres = grid_centres()
    d = np.linalg.norm(x[:, None, :] - centres[None, :, :], axis=2)
    nearest = d.argmin(axis=1)
    good = d[np.arange(len(x)), nearest] <= 3.0 * std
    counts = np.bincount(nearest[good], minlength=len(centres))
    modes, modes_any, kl = _histogram_metrics(counts, len(x), min_share)
    return {
        "modes": modes,
        "modes_any": modes_any,
        "quality": float(good.mean()),
        "kl": kl,
        "counts": counts.tolist(),
    }


def spiral_metrics(
    samples: np.ndarray, std: float, min_share: float = 0.1, arc_bins: int = 100, spiral: Spiral | None = None
) -> dict[str, Any]:
    """Arc coverage and quality of 2-D samples against the spiral (see the module docstring).

    Returns ``arc_coverage`` (share of the ``arc_bins`` equal-length bins covered),
    ``arc_any`` (share of bins with at least one high-quality sample), ``quality`` (share within
    3 std of the curve), ``kl`` (histogram over arc bins vs uniform) and ``counts`` per bin.
    """
    spiral = spiral or Spiral()
    x = np.asarray(samples, dtype=np.float64)
    dist, s = spiral.project(x)
    good = dist <= 3.0 * std
    bins = np.minimum((s[good] / spiral.length * arc_bins).astype(int), arc_bins - 1)
    counts = np.bincount(bins, minlength=arc_bins)
    covered, any_hit, kl = _histogram_metrics(counts, len(x), min_share)
    return {
        "arc_coverage": covered / arc_bins,
        "arc_any": any_hit / arc_bins,
        "quality": float(good.mean()),
        "kl": kl,
        "counts": counts.tolist(),
    }


def _metrics(cfg: Config, samples: np.ndarray, spiral: Spiral | None) -> dict[str, Any]:
    if cfg.data == "25gaussians":
        return mode_metrics(samples, cfg.std, cfg.min_share)
    return spiral_metrics(samples, cfg.std, cfg.min_share, cfg.arc_bins, spiral)


#: the headline metrics per data set, in table order: (key, label)
HEADLINE: dict[str, tuple[tuple[str, str], ...]] = {
    "25gaussians": (("modes", "modes covered (of 25)"), ("quality", "high-quality share"), ("kl", "KL to uniform")),
    "spiral": (("arc_coverage", "arc coverage"), ("quality", "high-quality share"), ("kl", "KL to uniform (arc bins)")),
}


# ----------------------------------------------------------------------------- training


def _networks(cfg: Config) -> tuple[Any, Any]:
    from torch import nn

    def block(n_in: int, n_out: int) -> list[nn.Module]:
        return [nn.Linear(n_in, n_out), nn.BatchNorm1d(n_out), nn.LeakyReLU(0.2)]

    layers: list[nn.Module] = []
    width = cfg.noise_dim + cfg.n_codes
    for h in cfg.gen_hidden:
        layers += block(width, h)
        width = h
    layers.append(nn.Linear(width, 2))
    generator = nn.Sequential(*layers)

    layers = []
    width = 2
    for h in cfg.disc_hidden:
        layers += [nn.Linear(width, h), nn.LeakyReLU(0.2)]
        width = h
    layers.append(nn.Linear(width, 1))
    discriminator = nn.Sequential(*layers)
    return generator, discriminator


def _latent(cfg: Config, n: int, gen: Any, device: Any) -> tuple[Any, Any]:
    """(generator input [eps, one-hot c], one-hot c) for ``n`` samples: U(-1, 1) noise, one code."""
    return latent(n, cfg.noise_dim, (cfg.n_codes,), gen, device, noise="uniform")


def _headline(data: str, metrics: dict[str, Any]) -> str:
    """``"modes=12 quality=0.81 kl=0.31"``: the headline metrics of one evaluation."""
    return " ".join(
        f"{key}={'n/a' if metrics.get(key) is None else format(metrics[key], '.3g')}" for key, _ in HEADLINE[data]
    )


def _train_one(
    cfg: Config, beta: float, seed: int, device: Any, spiral: Spiral | None, bar: Any = None
) -> dict[str, Any]:
    """Train one GAN; ``bar`` (a tqdm bar over ``cfg.epochs``, optional) advances once per epoch
    and shows the latest evaluation's headline metrics (and MINE's training estimate) as postfix."""
    import torch
    from torch.nn import functional as F

    from ..objectives import MutualInformation

    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    real = torch.as_tensor(make_data(cfg.data, cfg.n_data, cfg.std, rng), dtype=torch.float32).to(device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        generator, discriminator = _networks(cfg)
        mi = MutualInformation(
            2, cfg.n_codes, method="mine", hidden=cfg.critic_hidden, activation="leaky_relu",
            ema_rate=cfg.ema_rate, seed=seed,
        )
    generator, discriminator, mi = generator.to(device), discriminator.to(device), mi.to(device)
    betas = (cfg.adam_beta1, 0.999)
    opt_g = torch.optim.Adam(generator.parameters(), lr=cfg.lr, betas=betas)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=cfg.lr, betas=betas)
    opt_t = torch.optim.Adam(mi.parameters(), lr=cfg.critic_lr, betas=betas)
    noise_gen = torch.Generator().manual_seed(seed)
    order_gen = torch.Generator().manual_seed(seed + 1)
    use_mi = beta > 0
    mi_steps = int(round(cfg.mi_until * cfg.steps))
    eval_at = sorted({int(round(cfg.steps * (i + 1) / cfg.evals)) for i in range(cfg.evals)})

    curve: dict[str, list[Any]] = {"step": [], "epoch": [], "mi_train": [], "clip_scale": []}
    mi_acc: list[float] = []
    scale_acc: list[float] = []

    def evaluate(step: int) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        generator.eval()
        with torch.no_grad():
            z, c = _latent(cfg, cfg.n_eval, torch.Generator().manual_seed(10_000 + seed), device)
            fake = generator(z).cpu().double().numpy()
        generator.train()
        m = _metrics(cfg, fake, spiral)
        curve["step"].append(step)
        curve["epoch"].append(step / cfg.steps_per_epoch)
        for key, value in m.items():
            if key != "counts":
                curve.setdefault(key, []).append(value)
        curve["mi_train"].append(float(np.mean(mi_acc)) if mi_acc else None)
        curve["clip_scale"].append(float(np.mean(scale_acc)) if scale_acc else None)
        mi_acc.clear()
        scale_acc.clear()
        if bar is not None:
            post = _headline(cfg.data, m)
            if curve["mi_train"][-1] is not None:
                post += f" mi={curve['mi_train'][-1]:.3g}"
            bar.set_postfix_str(post, refresh=False)
        return fake, c.argmax(dim=1).cpu().numpy(), m

    step = 0
    ones = torch.ones(cfg.batch_size, device=device)
    zeros = torch.zeros(cfg.batch_size, device=device)
    last: tuple[np.ndarray, np.ndarray, dict[str, Any]] | None = None
    for _ in range(cfg.epochs):
        perm = torch.randperm(cfg.n_data, generator=order_gen).to(device)
        for start in range(0, cfg.n_data, cfg.batch_size):
            x_real = real[perm[start : start + cfg.batch_size]]
            b = x_real.shape[0]
            if b < 2:  # a trailing batch of one point (see Config.steps_per_epoch)
                continue
            z, c = _latent(cfg, b, noise_gen, device)
            fake = generator(z)
            # discriminator step
            opt_d.zero_grad()
            d_loss = F.binary_cross_entropy_with_logits(
                discriminator(x_real).squeeze(1), ones[:b]
            ) + F.binary_cross_entropy_with_logits(discriminator(fake.detach()).squeeze(1), zeros[:b])
            d_loss.backward()
            opt_d.step()
            # generator step: non-saturating GAN loss - beta * I(G([eps, c]); c)
            opt_g.zero_grad()
            g_loss = F.binary_cross_entropy_with_logits(discriminator(fake).squeeze(1), ones[:b])
            if use_mi and step < mi_steps:
                mi_value = mi(fake, c)
                mi_acc.append(float(mi_value.detach()))
                scale = mi_backward(g_loss, mi_value, generator, beta, cfg.clip)
                if scale is not None:
                    scale_acc.append(scale)
            else:
                g_loss.backward(inputs=list(generator.parameters()))
            opt_g.step()
            # statistics network step, on detached samples
            if use_mi and step < mi_steps:
                critic_step(mi, opt_t, fake, c)
            step += 1
            if step in eval_at:
                last = evaluate(step)
        if bar is not None:
            bar.update(1)
    if last is None:  # pragma: no cover - eval_at always contains cfg.steps
        raise RuntimeError(f"training ended after {step} of {cfg.steps} steps without a final evaluation")
    fake, codes, final = last
    keep = min(cfg.n_plot, len(fake))
    final = {k: v for k, v in final.items()}
    return {
        "data": cfg.data,
        "beta": beta,
        "seed": seed,
        "steps": step,
        "seconds": time.perf_counter() - t0,
        "final": final,
        "curve": curve,
        "samples": np.round(fake[:keep], 3).tolist(),
        "codes": codes[:keep].tolist(),
    }


def run(config: Config) -> dict[str, Any]:
    """Train every (beta, seed) GAN and collect the metrics; JSON-serialisable results.

    Returns a dict with ``config``, ``reference`` (the metrics of ``n_eval`` real samples: what a
    perfect generator scores), ``runs`` (per beta and seed: final metrics, curves over training,
    samples for the figure, seconds) and ``summary`` (per beta: mean, sd and values over seeds of
    each final metric).
    """
    import torch

    cfg = config
    device = resolve_device(cfg.device)
    threads = torch.get_num_threads()
    torch.set_num_threads(cfg.threads)
    t0 = time.perf_counter()
    try:
        spiral = Spiral() if cfg.data == "spiral" else None
        real_eval = make_data(cfg.data, cfg.n_eval, cfg.std, np.random.default_rng(123_456))
        reference = {k: v for k, v in _metrics(cfg, real_eval, spiral).items() if k != "counts"}
        runs = []
        show = show_lines(cfg.progress)
        n_runs = cfg.seeds * len(cfg.betas)
        for seed in range(cfg.base_seed, cfg.base_seed + cfg.seeds):
            for beta in cfg.betas:
                desc = f"gan {cfg.data} beta={beta:g} seed={seed} ({len(runs) + 1}/{n_runs})"
                bar = progress_bar(cfg.epochs, cfg.progress, desc, unit="epoch")
                try:
                    r = _train_one(cfg, beta, seed, device, spiral, bar)
                finally:
                    bar.close()
                runs.append(r)
                if show:
                    print(f"[gan {cfg.data}] beta={beta:g} seed={seed}: {_headline(cfg.data, r['final'])} "
                          f"({r['seconds']:.0f} s)", file=sys.stderr, flush=True)
    finally:
        torch.set_num_threads(threads)
    summary = summary_rows(runs, "beta", cfg.betas)
    return {
        "experiment": "gan",
        "config": asdict(cfg),
        "device": str(device),
        "steps": cfg.steps,
        "reference": reference,
        "runs": runs,
        "summary": summary,
        "seconds": time.perf_counter() - t0,
    }


# ----------------------------------------------------------------------------- reporting


def _fmt(stat: dict[str, Any], digits: int) -> str:
    if stat["mean"] is None:
        return "n/a"
    return f"{stat['mean']:.{digits}f} ± {stat['sd']:.{digits}f}"


def summarize(results: dict[str, Any]) -> str:
    """A text table: per beta, mean ± sd over seeds of the final headline metrics."""
    data = results["config"]["data"]
    heads = HEADLINE[data]
    digits = {"modes": 1, "quality": 3, "kl": 3, "arc_coverage": 3}
    lines = [f"GAN + MINE on {data}: {results['steps']} steps, mean ± sd over seeds"]
    header = f"{'beta':>6}  " + "  ".join(f"{label:>24}" for _, label in heads) + f"  {'s/run':>6}  {'s total':>7}"
    lines.append(header)
    for row in results["summary"]:
        cells = "  ".join(f"{_fmt(row[key], digits[key]):>24}" for key, _ in heads)
        lines.append(f"{row['beta']:>6g}  {cells}  {row['seconds']['mean']:>6.0f}  {row['seconds_total']:>7.0f}")
    ref = results["reference"]
    cells = "  ".join(
        f"{(format(ref[key], '.' + str(digits[key]) + 'f') if ref[key] is not None else 'n/a'):>24}" for key, _ in heads
    )
    lines.append(f"{'real':>6}  {cells}")
    return "\n".join(lines)


def plot(results: dict[str, Any], path: str | Path) -> None:
    """Figure: real samples and generated samples per beta (first seed, coloured by code c) in
    the top row; the headline metrics over training (mean ± sd over seeds per beta) below."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cfg = results["config"]
    data = cfg["data"]
    betas = [row["beta"] for row in results["summary"]]
    first_seed = results["runs"][0]["seed"]
    heads = HEADLINE[data]
    ncol = max(len(betas) + 1, len(heads))
    fig, axes = plt.subplots(2, ncol, figsize=(3.6 * ncol, 7.2), squeeze=False)
    real = make_data(data, cfg["n_plot"] or 1000, cfg["std"], np.random.default_rng(123_456))
    lim = 5.0
    ax = axes[0][0]
    ax.scatter(real[:, 0], real[:, 1], s=1.5, c="black")
    ax.set_title("real data")
    for i, beta in enumerate(betas):
        ax = axes[0][i + 1]
        run = next(r for r in results["runs"] if r["beta"] == beta and r["seed"] == first_seed)
        pts = np.asarray(run["samples"])
        if beta > 0:
            ax.scatter(pts[:, 0], pts[:, 1], s=1.5, c=run["codes"], cmap="tab20", vmin=0, vmax=cfg["n_codes"] - 1)
        else:
            ax.scatter(pts[:, 0], pts[:, 1], s=1.5, c="tab:blue")
        f = run["final"]
        if data == "25gaussians":
            sub = f"{f['modes']} modes, quality {f['quality']:.2f}"
        else:
            sub = f"arc {f['arc_coverage']:.2f}, quality {f['quality']:.2f}"
        ax.set_title(f"{'GAN' if beta == 0 else 'GAN + MINE'} (beta={beta:g}, seed {first_seed})\n{sub}", fontsize=9)
    for row in axes[0]:
        row.set_xlim(-lim, lim)
        row.set_ylim(-lim, lim)
        row.set_aspect("equal")
        row.set_xticks([])
        row.set_yticks([])
    for j in range(len(betas) + 1, ncol):
        axes[0][j].axis("off")
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for j, (key, label) in enumerate(heads):
        ax = axes[1][j]
        for i, beta in enumerate(betas):
            runs = [r for r in results["runs"] if r["beta"] == beta]
            epoch = np.asarray(runs[0]["curve"]["epoch"])
            vals = np.array(
                [[np.nan if v is None else v for v in r["curve"][key]] for r in runs], dtype=np.float64
            )
            with warnings.catch_warnings():  # all-None columns (no high-quality sample) stay NaN
                warnings.simplefilter("ignore", RuntimeWarning)
                mean = np.nanmean(vals, axis=0)
                sd = np.nanstd(vals, axis=0)
            col = colors[i % len(colors)]
            ax.plot(epoch, mean, color=col, label=f"beta={beta:g}")
            ax.fill_between(epoch, mean - sd, mean + sd, color=col, alpha=0.2)
        ref = results["reference"].get(key)
        if ref is not None:
            ax.axhline(ref, color="black", lw=0.8, ls=":", label="real data")
        ax.set_xlabel("epoch")
        ax.set_title(label, fontsize=10)
        ax.legend(fontsize=8)
    for j in range(len(heads), ncol):
        axes[1][j].axis("off")
    n_seeds = len({r["seed"] for r in results["runs"]})
    fig.suptitle(f"GAN + MINE on {data}: {results['steps']} steps, {n_seeds} seed(s), mean ± sd", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ----------------------------------------------------------------------------- command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The experiment's own options (the CLI adds --quick, --seeds, --out, --device, --quiet)."""
    parser.add_argument("--data", choices=DATASETS, default="25gaussians", help="target distribution (default 25gaussians)")
    add_beta_arguments(parser)
    parser.add_argument("--epochs", type=int, default=None, help=f"passes over the training points (default {Config.epochs})")
    parser.add_argument("--no-clip", action="store_true", help="no adaptive gradient clipping of the MI term")
    parser.add_argument(
        "--mi-until", type=float, default=None,
        help="share of training with the MI term on (default 1.0; the TF seed used 0.5)",
    )
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default 1)")


def config_from_args(args: argparse.Namespace) -> Config:
    """Build a :class:`Config` from parsed CLI arguments."""
    changes: dict[str, Any] = {"data": args.data, "device": getattr(args, "device", "auto"), "betas": betas_from_args(args)}
    if args.seeds is not None:
        changes["seeds"] = args.seeds
    if args.epochs is not None:
        changes["epochs"] = args.epochs
    if args.no_clip:
        changes["clip"] = False
    if args.mi_until is not None:
        changes["mi_until"] = args.mi_until
    if args.threads is not None:
        changes["threads"] = args.threads
    changes["progress"] = False if getattr(args, "quiet", False) else None
    if getattr(args, "quick", False):
        return quick_config(**changes)
    return Config(**changes)
