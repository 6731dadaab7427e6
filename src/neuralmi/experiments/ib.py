r"""The information bottleneck on real images (the MINE paper's section 5.4): MINE-IB against deep
VIB, a CLUB upper bound and a plain deterministic network.

An encoder keeps only what predicts the label: each method minimises
:math:`\mathrm{CE}(y, \mathrm{dec}(z)) + \beta\, R`, where :math:`R` stands for :math:`I(X; Z)`:

- ``baseline``: the deterministic network, :math:`z = \mu(x)`, cross-entropy only;
- ``vib``: deep VIB (Alemi et al. 2017), :math:`R = \mathrm{KL}(q(z|x) \,\|\, \mathcal N(0, I))`
  in closed form (:func:`kl_standard_normal`), an upper bound of :math:`I(X; Z)`;
- ``mine``: MINE-IB (the paper's "Gaussian" variant): :math:`R` is MINE's estimate of
  :math:`I(X; Z)` from :class:`neuralmi.MutualInformation` (``method="mine"``) on
  :math:`(x, z)`, with its own statistics network (the paper's: Gaussian input noise of std 0.3,
  512-512 ELU with noise of std 0.5 after each hidden layer) and its own optimiser, trained
  alternately on detached codes. It is a *lower* bound: minimising it does not bound the
  information from above (Poole et al. 2019), which is why ``club`` is run beside it;
- ``club``: :math:`R` is CLUB (Cheng et al. 2020), ``MutualInformation(method="club")``, a
  variational *upper* bound whose conditional :math:`q(z|x)` (a Gaussian MLP) is fitted by
  likelihood with its own optimiser; the marginal term uses all in-batch pairs.

Shared by all four (the permutation-invariant setting of the paper and of deep VIB): pixels scaled
to [0, 1] and flattened (784); encoder MLP 784-1024-1024 (ReLU) to :math:`2K` outputs, a mean
:math:`\mu` and a standard deviation :math:`\sigma = \mathrm{softplus}(s - 5)` (the shift of deep
VIB's code) of a Gaussian code of dimension :math:`K = 256`; reparameterised samples
:math:`z = \mu + \sigma\varepsilon`; a linear softmax decoder; Adam with deep VIB's settings
(betas (0.5, 0.999), batch 100, the learning rate times 0.97 every 2 epochs) and its
exponential moving average of the weights (decay 0.999), which every evaluation reads.

Two presets (:data:`PRESETS`): ``"paper"`` (``--paper``) is the paper's and deep VIB's 200 epochs
at learning rate 1e-4 (times 0.97 every 2 epochs); ``"cpu"`` (the default) trains
:data:`CPU_EPOCHS` epochs from learning rate 1e-3, decayed exponentially to 1e-4 at the last
epoch, so that a (method, seed) run stays under 15 minutes on one core of a 2-core CPU (at 1e-4
twenty epochs of mnist-5k leave the networks far from converged: 7.4 % test error for the
baseline against 5.0 % at 1e-3; held at 1e-3 x 0.97 per 2 epochs, a VIB run jumped from 3.25 %
to 11.5 % validation error in its last 5 of 50 epochs, hence the decay to the paper's rate).
``epochs``, ``lr`` and ``lr_end`` override either preset.

Test error is read with the mean code :math:`z = \mu(x)` and, beside it, from the softmax averaged
over 12 samples of :math:`z` (deep VIB's read-out).

:math:`\beta` of each regularised method is chosen on a validation split carved from the
training set (``val_size``, a fixed random split, never the test set): one run per value of
``beta_grid`` on the rest of the training set (seed ``base_seed``), the lowest validation error
(mean code) wins, ties going to the lower validation cross-entropy; a run that broke down (a
non-finite loss, or MINE's estimate ending below -1 nat) ranks last. The final runs then train on
the whole training set with the chosen :math:`\beta` and are read on the test set. ``--beta``
fixes :math:`\beta` and skips the selection.

The information plane, on ``n_info`` held-out images (the test set for the final runs), with the
library's bounds (:mod:`neuralmi.bounds`) and the encoder's own Gaussian :math:`p(z|x)` as the
critic, one code sampled per image:

- :math:`I(X; Z)` between InfoNCE (:func:`neuralmi.bounds.infonce` on the score matrix
  :math:`\log p(z_i | x_j)`, a lower bound capped at :math:`\log n`) and the smaller of two upper
  bounds: CLUB with the true conditional (:func:`neuralmi.bounds.club`) and the rate
  :math:`\mathbb{E}\,\mathrm{KL}(p(z|x) \| r)` against a Gaussian :math:`r` fitted to the codes
  (:func:`information_plane`). The baseline's code is deterministic: its :math:`I(X; Z)` is
  infinite, and InfoNCE reads its cap;
- :math:`I(Z; Y) \ge H(Y) - \mathrm{CE}`: the decoder's held-out cross-entropy on sampled codes
  (a variational bound, Barber and Agakov), :math:`H(Y)` the held-out label entropy.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ._common import float_list, jsonable, pool_results, progress_bar, show_lines, spawn_pool, str_list

__all__ = [
    "DESCRIPTION",
    "DATASETS",
    "METHOD_NAMES",
    "CPU_EPOCHS",
    "PAPER_EPOCHS",
    "PAPER_TEST_ERROR",
    "Config",
    "quick_config",
    "kl_standard_normal",
    "gaussian_log_density_matrix",
    "information_plane",
    "load_data",
    "run",
    "plot",
    "summarize",
    "add_arguments",
    "config_from_args",
]

DESCRIPTION = """Information bottleneck on images: MINE-IB vs deep VIB vs a CLUB upper bound vs a plain network.

An MLP encoder 784-1024-1024 -> Gaussian code z (256) -> linear softmax decoder, trained with
cross-entropy + beta * I(X;Z), where I(X;Z) is VIB's KL, MINE's estimate (neuralmi.MutualInformation)
or CLUB's upper bound; beta chosen per method on a validation split of the training set. Writes
figure.png (information plane, I(X;Z) bounds and test error over training) and results.json."""

DATASETS = ("fashion-mnist", "mnist", "mnist-5k")
METHOD_NAMES = ("baseline", "vib", "mine", "club")
#: the paper's (and deep VIB's) training length
PAPER_EPOCHS = 200
#: epochs of the CPU configuration, per data set: a (method, seed) run of the costliest method
#: (mine) stays under 15 minutes on one core of this project's shared 2-core CPU (docs/ib.md)
CPU_EPOCHS: dict[str, int] = {"mnist-5k": 50, "fashion-mnist": 5, "mnist": 5}
#: the presets: training length and learning rate (every other setting is deep VIB's)
PRESETS: dict[str, dict[str, Any]] = {
    "cpu": {"epochs": CPU_EPOCHS, "lr": 1e-3, "lr_end": 1e-4},
    "paper": {"epochs": {name: PAPER_EPOCHS for name in ("mnist-5k", "fashion-mnist", "mnist")}, "lr": 1e-4, "lr_end": None},
}
#: test error (%) on permutation-invariant MNIST in the MINE paper (Table 3)
PAPER_TEST_ERROR: dict[str, float] = {"baseline": 1.38, "vib": 1.13, "mine": 1.11}


# ----------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class Config:
    """Settings of the information-bottleneck experiment (validated on construction).

    Attributes:
        data: ``"fashion-mnist"``, ``"mnist"`` (your IDX files, ``data_dir``) or ``"mnist-5k"``.
        data_dir: folder of IDX files (``mnist``; optional for ``fashion-mnist``).
        methods: any of :data:`METHOD_NAMES`.
        beta: a fixed weight for every regularised method (no selection); ``None`` selects
            each method's weight from ``beta_grid`` on the validation split.
        beta_grid: the weights tried by the selection.
        seeds: final runs per method (seeds ``base_seed ...``); the selection uses ``base_seed``.
        preset: ``"cpu"`` or ``"paper"`` (:data:`PRESETS`): the training length and learning
            rate used where ``epochs`` or ``lr`` is ``None``.
        epochs: training epochs (``None``: the preset's for the data set; see
            :attr:`train_epochs`).
        select_epochs: epochs of each selection run (``None``: the same as the final runs).
        val_size: share of the training set held out for the selection.
        split_seed: seed of the validation split (and of the mnist-5k test split).
        mnist5k_test: test images of mnist-5k (the rest trains).
        z_dim, hidden, std_shift: code dimension, encoder widths, the shift in
            :math:`\\sigma = \\mathrm{softplus}(s - \\text{std\\_shift})`.
        batch_size, lr, adam_betas, lr_decay, decay_every, lr_end: the optimiser (``lr``:
            ``None`` is the preset's, see :attr:`learning_rate`). With the preset's ``lr_end``
            (cpu: 1e-4) or a given one, the learning rate decays exponentially from ``lr`` at
            the first epoch to ``lr_end`` at the last; without one (paper) it is multiplied by
            ``lr_decay`` every ``decay_every`` epochs.
        polyak: decay of the moving average of the weights read by every evaluation
            (``None``: the raw weights).
        critic_hidden, critic_noise, critic_lr, ema_rate: MINE's statistics network (ELU
            widths; std of the Gaussian noise added to its input and after each hidden layer,
            in training only), its Adam learning rate (``None``: the encoder's, constant) and
            MINE's moving-average rate.
        club_hidden, club_lr: CLUB's conditional q(z|x) (trunk widths) and its learning rate
            (``None``: the encoder's, constant).
        n_z_samples: samples of z averaged in the sampled read-out (deep VIB: 12).
        n_info: held-out images of the information plane.
        evals: evaluation points over training (the last at the end).
        device, threads, progress: as in the other experiments.
        jobs: runs trained at once, each in its own process with ``threads`` threads (the
            selection's runs together, then the final runs together). Every run is seeded on
            its own, so the numbers do not depend on ``jobs``; on a CPU, ``jobs * threads``
            should not exceed the cores.
    """

    data: str = "mnist-5k"
    data_dir: str | None = None
    methods: tuple[str, ...] = METHOD_NAMES
    beta: float | None = None
    beta_grid: tuple[float, ...] = (1e-4, 1e-3, 1e-2)
    seeds: int = 3
    base_seed: int = 0
    preset: str = "cpu"
    epochs: int | None = None
    select_epochs: int | None = None
    val_size: float = 0.1
    split_seed: int = 0
    mnist5k_test: int = 1000
    z_dim: int = 256
    hidden: tuple[int, ...] = (1024, 1024)
    std_shift: float = 5.0
    batch_size: int = 100
    lr: float | None = None
    adam_betas: tuple[float, ...] = (0.5, 0.999)
    lr_decay: float = 0.97
    decay_every: int = 2
    lr_end: float | None = None
    polyak: float | None = 0.999
    critic_hidden: tuple[int, ...] = (512, 512)
    critic_noise: tuple[float, ...] = (0.3, 0.5, 0.5)
    critic_lr: float | None = None
    ema_rate: float = 0.01
    club_hidden: tuple[int, ...] = (512,)
    club_lr: float | None = None
    n_z_samples: int = 12
    n_info: int = 2000
    evals: int = 10
    device: str = "auto"
    threads: int = 1
    jobs: int = 1
    progress: bool | None = None

    def __post_init__(self) -> None:
        if self.data not in DATASETS:
            raise ValueError(f"data must be one of {', '.join(DATASETS)}; got {self.data!r}")
        if self.preset not in PRESETS:
            raise ValueError(f"preset must be one of {', '.join(PRESETS)}; got {self.preset!r}")
        for name in ("lr", "lr_end"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number or None; got {value!r}")
        if self.data_dir is not None and (not isinstance(self.data_dir, str) or not self.data_dir):
            raise ValueError(f"data_dir must be a non-empty string or None; got {self.data_dir!r}")
        for name, kind in (("methods", str), ("beta_grid", float), ("hidden", int), ("adam_betas", float),
                           ("critic_hidden", int), ("critic_noise", float), ("club_hidden", int)):
            value = getattr(self, name)
            if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
                raise TypeError(f"{name} must be a sequence; got {value!r}")
            try:
                items = tuple(kind(v) for v in value)
            except (TypeError, ValueError):
                raise TypeError(f"{name} must be a sequence of {kind.__name__}; got {value!r}") from None
            object.__setattr__(self, name, items)
        if not self.methods:
            raise ValueError("methods must not be empty")
        bad = [m for m in self.methods if m not in METHOD_NAMES]
        if bad:
            raise ValueError(f"methods must be among {', '.join(METHOD_NAMES)}; got {', '.join(bad)}")
        if len(set(self.methods)) != len(self.methods):
            raise ValueError(f"methods must not repeat; got {self.methods}")
        if self.beta is not None and not (math.isfinite(self.beta) and self.beta >= 0):
            raise ValueError(f"beta must be a finite number >= 0 or None; got {self.beta!r}")
        if not self.beta_grid or any(not math.isfinite(b) or b < 0 for b in self.beta_grid):
            raise ValueError(f"beta_grid must hold finite numbers >= 0; got {self.beta_grid}")
        if len(set(self.beta_grid)) != len(self.beta_grid):
            raise ValueError(f"beta_grid must not repeat; got {self.beta_grid}")
        for name in ("epochs", "select_epochs"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a positive integer or None; got {value!r}")
        for name in ("seeds", "mnist5k_test", "z_dim", "batch_size", "decay_every",
                     "n_z_samples", "n_info", "evals", "threads", "jobs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}")
        for name in ("base_seed", "split_seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer; got {value!r}")
        if self.batch_size < 2:
            raise ValueError(f"batch_size must be at least 2 (MINE and CLUB need marginal pairs); got {self.batch_size}")
        if self.n_info < 2:
            raise ValueError(f"n_info must be at least 2; got {self.n_info}")
        if not 0.0 < self.val_size < 1.0:
            raise ValueError(f"val_size must be in (0, 1); got {self.val_size}")
        for name in ("hidden", "critic_hidden", "club_hidden"):
            if not getattr(self, name) or any(h < 1 for h in getattr(self, name)):
                raise ValueError(f"{name} must hold positive widths; got {getattr(self, name)}")
        if len(self.adam_betas) != 2 or not all(0.0 <= b < 1.0 for b in self.adam_betas):
            raise ValueError(f"adam_betas must be two numbers in [0, 1); got {self.adam_betas}")
        if len(self.critic_noise) != len(self.critic_hidden) + 1 or any(s < 0 for s in self.critic_noise):
            raise ValueError(
                f"critic_noise must hold {len(self.critic_hidden) + 1} stds >= 0 (input and each hidden "
                f"layer of critic_hidden); got {self.critic_noise}"
            )
        for name in ("critic_lr", "club_lr"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number or None; got {value!r}")
        if not (isinstance(self.std_shift, (int, float)) and math.isfinite(self.std_shift)):
            raise ValueError(f"std_shift must be a finite number; got {self.std_shift!r}")
        if not 0.0 < self.lr_decay <= 1.0:
            raise ValueError(f"lr_decay must be in (0, 1]; got {self.lr_decay}")
        if self.polyak is not None and not 0.0 < self.polyak < 1.0:
            raise ValueError(f"polyak must be in (0, 1) or None; got {self.polyak}")
        if not 0.0 < self.ema_rate <= 1.0:
            raise ValueError(f"ema_rate must be in (0, 1]; got {self.ema_rate}")
        if not isinstance(self.device, str) or not self.device:
            raise ValueError(f"device must be a non-empty string; got {self.device!r}")

    @property
    def train_epochs(self) -> int:
        """Epochs of the final runs: ``epochs``, or the preset's for the data set."""
        return PRESETS[self.preset]["epochs"][self.data] if self.epochs is None else self.epochs

    @property
    def learning_rate(self) -> float:
        """The encoder's and decoder's initial learning rate: ``lr``, or the preset's."""
        return float(PRESETS[self.preset]["lr"] if self.lr is None else self.lr)

    def lr_at(self, epoch: int, epochs: int) -> float:
        """The learning rate of epoch ``epoch`` (1-based) of a run of ``epochs`` epochs."""
        end = PRESETS[self.preset]["lr_end"] if self.lr_end is None else self.lr_end
        if end is None:
            return self.learning_rate * self.lr_decay ** ((epoch - 1) // self.decay_every)
        return self.learning_rate * (end / self.learning_rate) ** ((epoch - 1) / max(1, epochs - 1))

    @property
    def selection_epochs(self) -> int:
        """Epochs of each selection run: ``select_epochs``, or :attr:`train_epochs`."""
        return self.train_epochs if self.select_epochs is None else self.select_epochs

    def needs_selection(self) -> bool:
        """Whether any method's beta is chosen on the validation split."""
        return self.beta is None and any(m != "baseline" for m in self.methods)


def quick_config(**changes: Any) -> Config:
    """A small run (seconds) for smoke tests: tiny networks, two epochs, one seed."""
    base = Config(
        seeds=1,
        epochs=2,
        beta_grid=(1e-3, 1e-2),
        z_dim=8,
        hidden=(32,),
        batch_size=32,
        critic_hidden=(16,),
        critic_noise=(0.3, 0.5),
        club_hidden=(16,),
        n_z_samples=3,
        n_info=64,
        evals=2,
        progress=False,
    )
    return replace(base, **changes)


# ----------------------------------------------------------------------------- data


def load_data(cfg: Config) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The images as ``{"train", "val", "fit", "test"}``, each ``(uint8 (n, 784), int64 (n,))``:
    ``train`` is the whole training set (the final runs), ``val`` the selection's held-out share
    of it and ``fit`` the rest (the selection runs); ``test`` is read only by the final runs."""
    from ..data import image_dataset

    kwargs: dict[str, Any] = {}
    if cfg.data == "mnist-5k":
        kwargs = {"test_size": cfg.mnist5k_test, "seed": cfg.split_seed}
    sets = image_dataset(cfg.data, cfg.data_dir, **kwargs)
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for split in ("train", "test"):
        images, labels = sets[split]
        out[split] = (np.ascontiguousarray(images.reshape(images.shape[0], -1)), np.asarray(labels, dtype=np.int64))
    x, y = out["train"]
    n = x.shape[0]
    n_val = int(round(cfg.val_size * n))
    if n_val < 2 or n - n_val < cfg.batch_size:
        raise ValueError(
            f"the {n} training images cannot give a validation split of val_size={cfg.val_size} (at least 2 "
            f"images) and batches of {cfg.batch_size} from the rest"
        )
    order = np.random.default_rng(cfg.split_seed).permutation(n)
    val, fit = np.sort(order[:n_val]), np.sort(order[n_val:])
    out["val"] = (x[val], y[val])
    out["fit"] = (x[fit], y[fit])
    n_classes = int(max(y.max(), out["test"][1].max())) + 1
    if n_classes < 2:
        raise ValueError("the labels hold a single class: there is nothing to predict")
    return out


# ----------------------------------------------------------------------------- the maths


def kl_standard_normal(mean: Any, std: Any) -> Any:
    r"""Deep VIB's rate: :math:`\mathrm{KL}(\mathcal N(\mu, \mathrm{diag}\,\sigma^2) \,\|\, \mathcal N(0, I))`
    per sample, summed over the code's coordinates, shape ``(B,)`` (nats).

    .. math:: \mathrm{KL} = \tfrac12 \sum_d \left(\mu_d^2 + \sigma_d^2 - 1 - \log \sigma_d^2\right)

    Averaged over the data it bounds :math:`I(X; Z)` from above (for any reference marginal).

    >>> import torch
    >>> float(kl_standard_normal(torch.zeros(1, 3), torch.ones(1, 3)))
    0.0
    """
    import torch

    return 0.5 * (mean * mean + std * std - 1.0 - 2.0 * torch.log(std)).sum(dim=-1)


def gaussian_log_density_matrix(z: Any, mean: Any, std: Any, max_elements: int = 8_000_000) -> Any:
    r"""``S[i, j] = log N(z_i; mean_j, diag std_j^2)``, shape ``(n, n)``, in the dtype of ``z``
    (pass float64).

    With ``z_i`` drawn from the encoder at ``x_i`` this is the encoder's own conditional
    :math:`\log p(z_i | x_j)` for every pair, the critic of the information plane's bounds.
    The squares ``((z_i - mean_j) / std_j)^2`` are summed directly, in blocks of rows of at most
    ``max_elements`` differences: expanded into matrix products they cancel catastrophically
    when a code is nearly deterministic (``std`` ~ 1e-6 and below, as a trained encoder's can
    be), which once gave InfoNCE readings of -1e6 nats.
    """
    import torch

    n, d = z.shape
    m = mean.shape[0]
    prec = 1.0 / (std * std)  # (m, d)
    norm = 2.0 * torch.log(std).sum(dim=1) + d * math.log(2.0 * math.pi)  # (m,)
    rows = max(1, max_elements // max(1, m * d))
    out = torch.empty(n, m, dtype=z.dtype, device=z.device)
    for start in range(0, n, rows):
        diff = z[start : start + rows, None, :] - mean[None, :, :]  # (rows, m, d)
        out[start : start + rows] = (diff * diff * prec[None, :, :]).sum(dim=2)
    return -0.5 * (out + norm[None, :])


def information_plane(mean: Any, std: Any | None, gen: Any) -> dict[str, float | None]:
    r"""Bounds on :math:`I(X; Z)` (nats) from the codes of ``n`` held-out images, with the
    encoder's Gaussian :math:`p(z|x) = \mathcal N(\mu(x), \mathrm{diag}\,\sigma(x)^2)` known:

    - ``ixz_lower``: InfoNCE (:func:`neuralmi.bounds.infonce`) with the critic
      :math:`\log p(z_i | x_j)`, one ``z`` drawn per image with the CPU generator ``gen``; a
      lower bound, at most :math:`\log n`;
    - ``ixz_club``: CLUB with the true conditional (:func:`neuralmi.bounds.club`), an upper bound
      (loose by the lautum information, which is huge for a nearly deterministic code);
    - ``ixz_rate``: :math:`\mathbb{E}_x \mathrm{KL}(p(z|x) \,\|\, r(z))` with :math:`r` the
      diagonal Gaussian with the codes' aggregate mean and variance: an upper bound for any
      :math:`r` (deep VIB's rate, against a fitted rather than a standard marginal);
    - ``ixz_upper``: the smaller of the two upper bounds.

    ``std=None`` (a deterministic code): ``ixz_lower = log n`` (InfoNCE's cap), the upper bounds
    ``None`` (the information is infinite).
    """
    import torch

    from .. import bounds

    n = mean.shape[0]
    if std is None:
        return {"ixz_lower": math.log(n), "ixz_club": None, "ixz_rate": None, "ixz_upper": None}
    mean = mean.detach().to("cpu", torch.float64)
    std = std.detach().to("cpu", torch.float64)
    z = mean + std * torch.randn(mean.shape, generator=gen, dtype=torch.float64)
    s = gaussian_log_density_matrix(z, mean, std)  # s[i, j] = log p(z_i | x_j)
    lower = float(bounds.infonce(s))
    club = float(bounds.club(s.diagonal(), bounds.offdiagonal(s)))
    var = std * std
    r_mean = mean.mean(dim=0)
    r_var = mean.var(dim=0, unbiased=False) + var.mean(dim=0)
    rate = float((0.5 * ((var + (mean - r_mean) ** 2) / r_var - 1.0 - torch.log(var / r_var))).sum(dim=1).mean())
    return {"ixz_lower": lower, "ixz_club": club, "ixz_rate": rate, "ixz_upper": min(club, rate)}


# ----------------------------------------------------------------------------- networks


def _networks(cfg: Config, n_classes: int) -> tuple[Any, Any]:
    from torch import nn

    layers: list[nn.Module] = []
    width = 784
    for h in cfg.hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    layers.append(nn.Linear(width, 2 * cfg.z_dim))
    return nn.Sequential(*layers), nn.Linear(cfg.z_dim, n_classes)


def _statistics_network(cfg: Config, gen: Any) -> Any:
    """MINE's statistics network T(x, z) of the paper's IB experiment: Gaussian noise on the
    input [x, z] and after each hidden ELU layer (training mode only), widths ``critic_hidden``."""
    import torch
    from torch import nn

    class _Noise(nn.Module):
        def __init__(self, std: float) -> None:
            super().__init__()
            self.std = std

        def forward(self, h: torch.Tensor) -> torch.Tensor:
            if not self.training or self.std == 0:
                return h
            return h + self.std * torch.randn(h.shape, generator=gen).to(h.device)

    class StatisticsNetwork(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layers: list[nn.Module] = [_Noise(cfg.critic_noise[0])]
            width = 784 + cfg.z_dim
            for h, std in zip(cfg.critic_hidden, cfg.critic_noise[1:]):
                layers += [nn.Linear(width, h), nn.ELU(), _Noise(std)]
                width = h
            layers.append(nn.Linear(width, 1))
            self.net = nn.Sequential(*layers)

        def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
            return self.net(torch.cat([x, z], dim=1)).squeeze(-1)

    return StatisticsNetwork()


def _as_float(x: Any) -> Any:
    return x.float().div_(255.0)


# ----------------------------------------------------------------------------- training


@dataclass
class _Split:
    """Images (uint8, on the device) and labels of one split."""

    x: Any
    y: Any

    @property
    def n(self) -> int:
        return int(self.y.shape[0])


def _evaluate(cfg: Config, method: str, enc: Any, dec: Any, split: _Split, h_y: float, seed: int) -> dict[str, Any]:
    """Test (or validation) metrics of the averaged weights: error with the mean code and with the
    softmax averaged over ``n_z_samples`` codes, cross-entropy, and the information plane."""
    import torch
    from torch.nn import functional as F

    gen = torch.Generator().manual_seed(90_001 + seed)
    errors_mean = errors_sampled = 0
    ce_sum = 0.0
    means, stds = [], []
    with torch.no_grad():
        for start in range(0, split.n, 1000):
            x = _as_float(split.x[start : start + 1000])
            y = split.y[start : start + 1000]
            h = enc(x)
            mu, s = h[:, : cfg.z_dim], h[:, cfg.z_dim :]
            std = F.softplus(s - cfg.std_shift)
            errors_mean += int((dec(mu).argmax(dim=1) != y).sum())
            if method == "baseline":
                logp = F.log_softmax(dec(mu), dim=1)
                ce_sum += float(-logp.gather(1, y[:, None]).sum())
                errors_sampled += int((logp.argmax(dim=1) != y).sum())
            else:
                probs = torch.zeros(x.shape[0], dec.out_features, device=x.device)
                for _ in range(cfg.n_z_samples):
                    eps = torch.randn(mu.shape, generator=gen).to(mu.device)
                    logp = F.log_softmax(dec(mu + std * eps), dim=1)
                    probs += logp.exp()
                    ce_sum += float(-logp.gather(1, y[:, None]).sum()) / cfg.n_z_samples
                errors_sampled += int((probs.argmax(dim=1) != y).sum())
            if sum(m.shape[0] for m in means) < cfg.n_info:
                means.append(mu)
                stds.append(std)
    mean = torch.cat(means)[: cfg.n_info]
    std = None if method == "baseline" else torch.cat(stds)[: cfg.n_info]
    plane = information_plane(mean, std, gen)
    ce = ce_sum / split.n
    return {
        "error": 100.0 * errors_mean / split.n,
        "error_sampled": 100.0 * errors_sampled / split.n,
        "ce": ce,
        "izy_lower": h_y - ce,
        **plane,
        "n_info": int(mean.shape[0]),
    }


def _label_entropy(y: np.ndarray) -> float:
    p = np.bincount(y) / len(y)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def _train_one(
    cfg: Config,
    method: str,
    beta: float,
    seed: int,
    epochs: int,
    train: _Split,
    held: _Split,
    n_classes: int,
    device: Any,
    bar: Any = None,
) -> dict[str, Any]:
    """Train one encoder/decoder with ``method`` and weight ``beta`` for ``epochs`` on ``train``;
    evaluate on ``held`` at ``cfg.evals`` points. ``bar`` advances once per epoch."""
    import torch
    from torch.nn import functional as F

    from ..objectives import MutualInformation
    from ..training import Adam

    t0 = time.perf_counter()
    h_y = _label_entropy(held.y.cpu().numpy())
    noise_gen = torch.Generator().manual_seed(seed)
    order_gen = torch.Generator().manual_seed(seed + 1)
    critic_gen = torch.Generator().manual_seed(seed + 2)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        enc, dec = _networks(cfg, n_classes)
        mi = None
        if method == "mine":
            mi = MutualInformation(784, cfg.z_dim, method="mine", critic=_statistics_network(cfg, critic_gen),
                                   ema_rate=cfg.ema_rate, seed=seed)
        elif method == "club":
            mi = MutualInformation(784, cfg.z_dim, method="club", critic="conditional", hidden=cfg.club_hidden,
                                   marginal="pairs", seed=seed)
    enc, dec = enc.to(device), dec.to(device)
    params = [*enc.parameters(), *dec.parameters()]
    betas = (cfg.adam_betas[0], cfg.adam_betas[1])
    opt = Adam(params, lr=cfg.learning_rate, betas=betas)
    opt_c = None
    if mi is not None:
        mi = mi.to(device)
        own = cfg.critic_lr if method == "mine" else cfg.club_lr
        opt_c = Adam(list(mi.parameters()), lr=cfg.learning_rate if own is None else own, betas=betas)
    # the moving average of the weights that every evaluation reads
    avg = [p.detach().clone() for p in params]
    n_steps = 0

    def swap() -> None:  # exchange the live and the averaged weights
        with torch.no_grad():
            for p, a in zip(params, avg):
                tmp = p.detach().clone()
                p.copy_(a)
                a.copy_(tmp)

    eval_at = sorted({max(1, int(round(epochs * (i + 1) / cfg.evals))) for i in range(cfg.evals)})
    curve: dict[str, list[Any]] = {"epoch": [], "train_ce": [], "train_reg": []}
    ce_acc: list[float] = []
    reg_acc: list[float] = []
    last: dict[str, Any] = {}
    n = train.n
    diverged: int | None = None
    for epoch in range(1, epochs + 1):
        if diverged is not None:
            break
        opt.lr = cfg.lr_at(epoch, epochs)
        perm = torch.randperm(n, generator=order_gen).to(device)
        for start in range(0, n - cfg.batch_size + 1, cfg.batch_size):  # full batches only
            idx = perm[start : start + cfg.batch_size]
            x = _as_float(train.x[idx])
            y = train.y[idx]
            h = enc(x)
            mu, s = h[:, : cfg.z_dim], h[:, cfg.z_dim :]
            if method == "baseline":
                z = mu
            else:
                std = F.softplus(s - cfg.std_shift)
                z = mu + std * torch.randn(mu.shape, generator=noise_gen).to(device)
            ce = F.cross_entropy(dec(z), y)
            if method == "vib":
                reg = kl_standard_normal(mu, std).mean()
            elif mi is not None:
                reg = mi(x, z)
            else:
                reg = None
            loss = ce if reg is None else ce + beta * reg
            if not bool(torch.isfinite(loss)):  # stop before a non-finite step reaches the weights
                diverged = n_steps
                break
            opt.zero_grad()
            loss.backward(inputs=params)
            opt.step()
            n_steps += 1
            if cfg.polyak is not None:
                decay = min(cfg.polyak, (1.0 + n_steps) / (10.0 + n_steps))
                with torch.no_grad():
                    torch._foreach_lerp_(avg, [p.detach() for p in params], 1.0 - decay)
            else:
                with torch.no_grad():
                    for a, p in zip(avg, params):
                        a.copy_(p)
            if mi is not None and opt_c is not None:
                opt_c.zero_grad()
                mi.critic_loss(x, z.detach()).backward()
                opt_c.step()
            ce_acc.append(float(ce.detach()))
            if reg is not None:
                reg_acc.append(float(reg.detach()))
        if epoch in eval_at or diverged is not None:
            swap()
            enc.eval()
            dec.eval()
            last = _evaluate(cfg, method, enc, dec, held, h_y, seed)
            enc.train()
            dec.train()
            swap()
            curve["epoch"].append(epoch)
            curve["train_ce"].append(float(np.mean(ce_acc)) if ce_acc else None)
            curve["train_reg"].append(float(np.mean(reg_acc)) if reg_acc else None)
            ce_acc.clear()
            reg_acc.clear()
            for key, value in last.items():
                curve.setdefault(key, []).append(value)
            if bar is not None:
                post = f"err={last['error']:.2f}% izy>={last['izy_lower']:.2f}"
                if curve["train_reg"][-1] is not None:
                    post += f" reg={curve['train_reg'][-1]:.3g}"
                bar.set_postfix_str(post, refresh=False)
        if bar is not None:
            bar.update(1)
    final = dict(last)
    final["train_ce"] = curve["train_ce"][-1]
    final["train_reg"] = curve["train_reg"][-1]
    return {
        "method": method,
        "beta": beta if method != "baseline" else 0.0,
        "seed": seed,
        "epochs": epochs,
        "steps": n_steps,
        "diverged_at_step": diverged,
        "n_train": n,
        "n_held": held.n,
        "seconds": time.perf_counter() - t0,
        "final": final,
        "curve": curve,
    }


def _mean_sd(values: list[float | None]) -> dict[str, Any]:
    """Mean and sd over the finite values (a run whose reading is missing or non-finite, e.g.
    one that diverged, is left out and counted in ``n_missing``); ``values`` keeps them all."""
    vals = [v for v in values if v is not None and math.isfinite(v)]
    if not vals:
        return {"mean": None, "sd": None, "values": values, "n": 0, "n_missing": len(values)}
    arr = np.asarray(vals, dtype=np.float64)
    sd = float(arr.std(ddof=1)) if len(arr) > 1 else 0.0
    return {"mean": float(arr.mean()), "sd": sd, "values": values, "n": len(vals), "n_missing": len(values) - len(vals)}


def _split(data: tuple[np.ndarray, np.ndarray], device: Any) -> _Split:
    import torch

    x, y = data
    return _Split(torch.as_tensor(x, dtype=torch.uint8, device=device), torch.as_tensor(y, dtype=torch.long, device=device))


@dataclass(frozen=True)
class _Job:
    """One training run: ``method`` with ``beta`` and ``seed`` for ``epochs`` on the split named
    ``train``, read on the split named ``held``; ``desc`` labels its progress."""

    desc: str
    kind: str  # "select" or "final"
    method: str
    beta: float
    seed: int
    epochs: int
    train: str
    held: str


def _state(cfg: Config, device: Any) -> dict[str, Any]:
    """What every run reads: the device, the number of classes and the splits of
    :func:`load_data` as tensors on the device (``splits``)."""
    data = load_data(cfg)
    return {"device": device, "n_classes": int(max(data["train"][1].max(), data["test"][1].max())) + 1,
            "splits": {k: _split(v, device) for k, v in data.items()}}


def _train_job(cfg: Config, job: _Job, state: dict[str, Any], bar: Any = None) -> dict[str, Any]:
    """:func:`_train_one` for ``job`` on the splits of ``state`` (see :func:`_state`)."""
    return _train_one(cfg, job.method, job.beta, job.seed, job.epochs, train=state["splits"][job.train],
                      held=state["splits"][job.held], n_classes=state["n_classes"], device=state["device"], bar=bar)


_WORKER: dict[str, Any] = {}


def _worker_init(cfg: Config) -> None:
    """A pool process: its threads and its own copy of the data (:func:`_state`)."""
    import torch

    from ..training import resolve_device

    torch.set_num_threads(cfg.threads)
    _WORKER.update(cfg=cfg, state=_state(cfg, resolve_device(cfg.device)))


def _worker_run(job: _Job) -> dict[str, Any]:
    return _train_job(_WORKER["cfg"], job, _WORKER["state"])


def _report(cfg: Config, job: _Job, r: dict[str, Any]) -> None:
    f = r["final"]
    if job.kind == "select":
        line = (f"select {job.method} beta={job.beta:g}: val error {f['error']:.2f}% "
                f"(sampled {f['error_sampled']:.2f}%, ce {f['ce']:.4f}; {r['seconds']:.0f} s)")
    else:
        line = (f"{job.method} beta={job.beta:g} seed={job.seed}: test error {f['error']:.2f}% "
                f"(12 samples {f['error_sampled']:.2f}%) ({r['seconds']:.0f} s)")
    print(f"[ib {cfg.data}] {line}", file=sys.stderr, flush=True)


def _run_jobs(cfg: Config, jobs: list[_Job], state: dict[str, Any], pool: Any) -> list[dict[str, Any]]:
    """Train ``jobs`` (in this process with a bar per run, or on ``pool`` with one bar over the
    runs); the results in the order of ``jobs``."""
    show = show_lines(cfg.progress)
    if pool is None:
        out = []
        for job in jobs:
            bar = progress_bar(job.epochs, cfg.progress, job.desc, unit="epoch")
            try:
                r = _train_job(cfg, job, state, bar)
            finally:
                bar.close()
            if show:
                _report(cfg, job, r)
            out.append(r)
        return out
    report = (lambda job, r: _report(cfg, job, r)) if show else None
    return pool_results(pool, _worker_run, jobs, cfg.progress, f"ib {cfg.data} {jobs[0].kind} ({cfg.jobs} jobs)", report)


def run(config: Config) -> dict[str, Any]:
    """Select beta on the validation split, then train every (method, seed) on the whole
    training set and read it on the test set; JSON-serialisable results.

    Returns a dict with ``config``, ``data`` (sizes), ``selection`` (per regularised method: the
    grid, each run's validation metrics and the chosen beta), ``runs`` (per method and seed:
    final test metrics, curves over training, seconds), ``summary`` (per method: mean, sd and
    values over seeds) and ``paper`` (the MNIST test errors of the MINE paper). With
    ``config.jobs > 1`` the runs of each stage train at once in that many processes.
    """
    import torch

    cfg = config
    from ..training import resolve_device

    device = resolve_device(cfg.device)
    threads = torch.get_num_threads()
    torch.set_num_threads(cfg.threads)
    t0 = time.perf_counter()
    pool = None
    try:
        state = _state(cfg, device)
        splits = state["splits"]
        if cfg.jobs > 1:
            pool = spawn_pool(cfg.jobs, _worker_init, (cfg,))
        selection: dict[str, Any] = {}
        chosen: dict[str, float] = {}
        to_select = [] if cfg.beta is not None else [m for m in cfg.methods if m != "baseline"]
        for method in cfg.methods:
            if method != "baseline" and cfg.beta is not None:
                chosen[method] = cfg.beta
        select_jobs = [
            _Job(f"ib {cfg.data} select {method} beta={beta:g} ({k + 1}/{len(cfg.beta_grid)})", "select", method,
                 beta, cfg.base_seed, cfg.selection_epochs, "fit", "val")
            for method in to_select for k, beta in enumerate(cfg.beta_grid)
        ]
        select_runs = _run_jobs(cfg, select_jobs, state, pool) if select_jobs else []
        for method in to_select:
            rows = [r for job, r in zip(select_jobs, select_runs) if job.method == method]
            best = min(rows, key=_selection_key)
            chosen[method] = best["beta"]
            selection[method] = {
                "betas": list(cfg.beta_grid),
                "val_error": [r["final"]["error"] for r in rows],
                "val_error_sampled": [r["final"]["error_sampled"] for r in rows],
                "val_ce": [r["final"]["ce"] for r in rows],
                "chosen": best["beta"],
                "seconds": [r["seconds"] for r in rows],
                "runs": rows,
            }
        n_runs = cfg.seeds * len(cfg.methods)
        final_jobs = []
        for seed in range(cfg.base_seed, cfg.base_seed + cfg.seeds):
            for method in cfg.methods:
                beta = chosen.get(method, 0.0)
                desc = f"ib {cfg.data} {method} beta={beta:g} seed={seed} ({len(final_jobs) + 1}/{n_runs})"
                final_jobs.append(_Job(desc, "final", method, beta, seed, cfg.train_epochs, "train", "test"))
        runs = _run_jobs(cfg, final_jobs, state, pool)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
        torch.set_num_threads(threads)
    summary = []
    keys = ("error", "error_sampled", "ce", "izy_lower", "ixz_lower", "ixz_upper", "ixz_club", "ixz_rate",
            "train_ce", "train_reg")
    for method in cfg.methods:
        mine = [r for r in runs if r["method"] == method]
        row: dict[str, Any] = {"method": method, "beta": mine[0]["beta"], "seeds": [r["seed"] for r in mine],
                               "epochs": cfg.train_epochs, "steps": mine[0]["steps"]}
        for key in keys:
            row[key] = _mean_sd([r["final"][key] for r in mine])
        row["seconds"] = _mean_sd([r["seconds"] for r in mine])
        row["selection_seconds"] = float(sum(selection[method]["seconds"])) if method in selection else 0.0
        summary.append(row)
    return jsonable({
        "experiment": "ib",
        "config": asdict(cfg),
        "epochs": cfg.train_epochs,
        "lr": cfg.learning_rate,
        "lr_last": cfg.lr_at(cfg.train_epochs, cfg.train_epochs),
        "select_epochs": cfg.selection_epochs if cfg.needs_selection() else None,
        "device": str(device),
        "data": {
            "name": cfg.data,
            "n_train": splits["train"].n,
            "n_fit": splits["fit"].n,
            "n_val": splits["val"].n,
            "n_test": splits["test"].n,
            "n_classes": state["n_classes"],
        },
        "selection": selection,
        "runs": runs,
        "summary": summary,
        "paper": {"data": "mnist (60k/10k)", "epochs": PAPER_EPOCHS, "test_error": PAPER_TEST_ERROR},
        "seconds": time.perf_counter() - t0,
    })


# ----------------------------------------------------------------------------- reporting


def _fmt(stat: dict[str, Any], digits: int = 2) -> str:
    if stat["mean"] is None:
        return "n/a"
    return f"{stat['mean']:.{digits}f} ± {stat['sd']:.{digits}f}"


def _collapsed(run: dict[str, Any]) -> bool:
    """Whether a run broke down: a non-finite loss, or (MINE) its estimate of I(X; Z) ending more
    than 1 nat below 0, where only a broken statistics network can take a lower bound of MI."""
    reg = run["final"].get("train_reg")
    return run["diverged_at_step"] is not None or (run["method"] == "mine" and reg is not None and reg < -1.0)


def _selection_key(run: dict[str, Any]) -> tuple[bool, float, float]:
    """How the selection ranks its runs: one that broke down (:func:`_collapsed`) last; then
    the validation error with the mean code; then the validation cross-entropy."""
    return (_collapsed(run), run["final"]["error"], run["final"]["ce"])


def _num(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def summarize(results: dict[str, Any]) -> str:
    """A text table: per method, beta, test error (mean code and 12 samples) mean ± sd over seeds,
    the information-plane read-outs, seconds per run, and the paper's MNIST number."""
    cfg = results["config"]
    d = results["data"]
    lines = [
        f"Information bottleneck on {cfg['data']} ({d['n_train']} train / {d['n_test']} test; beta chosen on "
        f"{d['n_val']} validation images of the training set), {results['epochs']} epochs, {len(results['runs']) // max(1, len(cfg['methods']))} seed(s), mean ± sd",
        f"{'method':>8}  {'beta':>7}  {'test error %':>14}  {'12 samples %':>14}  {'I(X;Z) >=':>10}  {'I(X;Z) <=':>10}  "
        f"{'I(Z;Y) >=':>10}  {'s/run':>6}  {'paper (MNIST)':>13}",
    ]
    for row in results["summary"]:
        paper = results["paper"]["test_error"].get(row["method"])
        up = row["ixz_upper"]
        if up["mean"] is None:  # a deterministic code (infinite), or no finite reading
            up_text = "inf" if row["method"] == "baseline" else "n/a"
        else:
            up_text = format(up["mean"], ".1f")
        lines.append(
            f"{row['method']:>8}  {row['beta']:>7g}  {_fmt(row['error']):>14}  {_fmt(row['error_sampled']):>14}  "
            f"{_num(row['ixz_lower']['mean'], '.2f'):>10}  {up_text:>10}  "
            f"{_num(row['izy_lower']['mean'], '.3f'):>10}  {_num(row['seconds']['mean'], '.0f'):>6}  "
            f"{('' if paper is None else format(paper, '.2f')):>13}"
        )
    for r in results["runs"]:
        reg = r["final"].get("train_reg")
        if r["diverged_at_step"] is not None:
            lines.append(f"note: {r['method']} seed {r['seed']} diverged at step {r['diverged_at_step']} (a non-finite loss)")
        elif _collapsed(r):
            lines.append(f"note: {r['method']} seed {r['seed']}: MINE's estimate of I(X;Z) ended at {reg:.3g} nats, far below 0: "
                         "its statistics network, not the information, was being minimised")
    for method, sel in results["selection"].items():
        cells = ", ".join(f"{b:g}: {e:.2f}%" for b, e in zip(sel["betas"], sel["val_error"]))
        lines.append(f"selection {method}: validation error {cells} -> beta = {sel['chosen']:g}")
    return "\n".join(lines)


def plot(results: dict[str, Any], path: str | Path) -> None:
    """Figure: the information plane (I(X;Z) InfoNCE lower bound vs I(Z;Y) >= H(Y) - CE, mean
    over seeds, one point per evaluation), the I(X;Z) bounds over training, the test error over
    training (mean ± sd over seeds, every run) and, when beta was selected, the validation error
    per beta. Runs that broke down (:func:`_collapsed`) are left out of the first two panels,
    which say so."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cfg = results["config"]
    methods = [row["method"] for row in results["summary"]]
    colors = {"baseline": "tab:gray", "vib": "tab:blue", "mine": "tab:red", "club": "tab:green"}
    fig, axes = plt.subplots(1, 4, figsize=(19, 4.6))

    left_out = [r for r in results["runs"] if _collapsed(r)]

    def curves(method: str, key: str, keep_all: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        runs = [r for r in results["runs"] if r["method"] == method]
        epoch = np.asarray(runs[0]["curve"]["epoch"], dtype=float)
        # a missing reading, and every reading of a run left out, is NaN (ignored by the means)
        vals = np.array([[np.nan if v is None else v for v in r["curve"][key]] for r in runs], dtype=np.float64)
        if not keep_all:
            vals[[_collapsed(r) for r in runs]] = np.nan
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return epoch, np.nanmean(vals, axis=0), np.nanstd(vals, axis=0)

    n_info = results["runs"][0]["final"]["n_info"]
    ax = axes[0]
    for method in methods:
        _, x, _ = curves(method, "ixz_lower")
        _, y, _ = curves(method, "izy_lower")
        col = colors[method]
        ax.plot(x, y, "-", color=col, lw=1, alpha=0.6)
        ax.scatter(x, y, s=np.linspace(8, 60, len(x)), color=col, label=method, zorder=3)
    ax.axvline(math.log(n_info), color="black", ls=":", lw=0.8)
    ax.text(math.log(n_info), ax.get_ylim()[0], f" log n = {math.log(n_info):.1f}\n (InfoNCE cap)", fontsize=7, va="bottom")
    ax.set_xlabel("I(X;Z) lower bound (InfoNCE, encoder's p(z|x)), nats")
    ax.set_ylabel("I(Z;Y) >= H(Y) - CE, nats")
    gone = ", ".join(f"{r['method']} seed {r['seed']}" for r in left_out)
    ax.set_title("information plane (held-out; points grow with epoch)" + (f"\nleft out, broke down: {gone}" if gone else ""),
                 fontsize=10)
    ax.legend(fontsize=8)

    ax = axes[1]
    for method in methods:
        col = colors[method]
        e, lo, _ = curves(method, "ixz_lower")
        ax.plot(e, lo, "-", color=col, label=f"{method} (InfoNCE >=)")
        if method != "baseline":
            e, up, _ = curves(method, "ixz_upper")
            ax.plot(e, up, "--", color=col, label=f"{method} (<=)")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("I(X;Z), nats")
    ax.set_title("I(X;Z) bounds (baseline: deterministic, infinite)" + (f"\nleft out: {gone}" if gone else ""), fontsize=10)
    ax.legend(fontsize=7, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.16))

    ax = axes[2]
    for method in methods:
        col = colors[method]
        e, m, sd = curves(method, "error", keep_all=True)
        ax.plot(e, m, color=col, label=method)
        ax.fill_between(e, m - sd, m + sd, color=col, alpha=0.2)
        paper = results["paper"]["test_error"].get(method)
        if paper is not None and cfg["data"] == "mnist":
            ax.axhline(paper, color=col, ls=":", lw=0.8)
    ax.set_xlabel("epoch")
    ax.set_ylabel("test error (%), mean code")
    ax.set_title("test error over training (mean ± sd over seeds)", fontsize=10)
    ax.legend(fontsize=8)

    ax = axes[3]
    if results["selection"]:
        for method, sel in results["selection"].items():
            col = colors[method]
            ax.plot(sel["betas"], sel["val_error"], "o-", color=col, label=f"{method} (chose {sel['chosen']:g})")
            ax.scatter([sel["chosen"]], [sel["val_error"][sel["betas"].index(sel["chosen"])]], s=120,
                       facecolors="none", edgecolors=col)
        if min(b for sel in results["selection"].values() for b in sel["betas"]) > 0:
            ax.set_xscale("log")
        ax.set_xlabel("beta")
        ax.set_ylabel("validation error (%), mean code")
        ax.set_title(f"beta selection ({results['select_epochs']} epochs, seed {cfg['base_seed']})", fontsize=10)
        ax.legend(fontsize=8)
    else:
        ax.axis("off")
        ax.text(0.5, 0.5, f"beta fixed at {cfg['beta']:g}\n(no selection)", ha="center", va="center")
    n_seeds = len({r["seed"] for r in results["runs"]})
    fig.suptitle(
        f"Information bottleneck on {cfg['data']}: {results['epochs']} epochs, {n_seeds} seed(s); "
        f"read on {results['data']['n_test']} test images", fontsize=11
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ----------------------------------------------------------------------------- command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The experiment's own options (the CLI adds --quick, --seeds, --out, --device, --quiet)."""
    parser.add_argument("--data", choices=DATASETS, default="mnist-5k", help="image set (default mnist-5k)")
    parser.add_argument("--data-dir", default=None, help="folder of IDX files (needed for --data mnist)")
    parser.add_argument("--method", type=str_list, default=None,
                        help=f"comma-separated methods among {', '.join(METHOD_NAMES)} (default: all)")
    parser.add_argument("--beta", type=float, default=None,
                        help="a fixed beta for every regularised method (default: chosen on a validation split)")
    parser.add_argument("--beta-grid", type=float_list, default=None,
                        help=f"betas tried by the selection (default {','.join(format(b, 'g') for b in Config.beta_grid)})")
    parser.add_argument("--epochs", type=int, default=None,
                        help="training epochs (default: the CPU configuration, "
                        + ", ".join(f"{k} {v}" for k, v in CPU_EPOCHS.items()) + ")")
    parser.add_argument("--select-epochs", type=int, default=None, help="epochs of each selection run (default: --epochs)")
    parser.add_argument("--paper", action="store_true",
                        help=f"the paper's preset: {PAPER_EPOCHS} epochs at learning rate 1e-4 (for a GPU)")
    parser.add_argument("--lr", type=float, default=None, help="learning rate (default: the preset's, cpu 1e-3, paper 1e-4)")
    parser.add_argument("--val-size", type=float, default=None, help=f"validation share of the training set (default {Config.val_size})")
    parser.add_argument("--evals", type=int, default=None, help=f"evaluation points over training (default {Config.evals})")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads per run (default 1)")
    parser.add_argument("--jobs", type=int, default=None,
                        help="runs trained at once, each in its own process (default 1; same numbers for any value)")


def config_from_args(args: argparse.Namespace) -> Config:
    """Build a :class:`Config` from parsed CLI arguments."""
    changes: dict[str, Any] = {"data": args.data, "device": getattr(args, "device", "auto")}
    if args.data_dir is not None:
        changes["data_dir"] = args.data_dir
    if args.method is not None:
        changes["methods"] = args.method
    if args.beta is not None:
        changes["beta"] = args.beta
    if args.beta_grid is not None:
        changes["beta_grid"] = args.beta_grid
    if args.paper and (args.epochs is not None or args.lr is not None):
        raise ValueError("--paper is the paper's 200 epochs at learning rate 1e-4; do not combine it with --epochs or --lr")
    if args.paper:
        changes["preset"] = "paper"
    for name in ("epochs", "lr", "select_epochs", "val_size", "evals", "threads", "jobs", "seeds"):
        value = getattr(args, name, None)
        if value is not None:
            changes[name] = value
    changes["progress"] = False if getattr(args, "quiet", False) else None
    if getattr(args, "quick", False):
        return quick_config(**changes)
    return Config(**changes)
