r"""What the image experiments (``stacked``, ``ali``) share, and the GAN pieces they share with ``gan``.

Shared with :mod:`neuralmi.experiments.gan` (one implementation each):

- :func:`resolve_device`, :func:`mean_sd`, :func:`summary_rows` (mean, sd and values over seeds);
- :func:`kl_to_uniform`, the KL of a histogram to the uniform distribution over its bins;
- :func:`latent`, the generator input :math:`[\varepsilon, c]` (noise and one-hot code blocks);
- :func:`mi_backward`, backpropagating ``loss - beta * mi`` with the MI gradient clipped
  adaptively (:func:`neuralmi.regularizers.adaptive_gradient_clipping`), and
  :func:`critic_step`, one step of the MINE statistics network on detached samples.

For the image experiments only: :func:`train_runs`, every (model or beta, seed) run in this
process or on a pool of spawned processes (``--jobs``); the digit sources (:func:`load_digits`, including
:func:`synthetic_digits`, drawn glyphs that need no data set), stacking three digits as the
channels of one image (:func:`stack_digits`), the digit classifier that the experiments train
themselves (:func:`train_classifier`, :func:`classify`), the Stacked-MNIST mode counter
(:func:`count_modes`), DCGAN-style networks (:class:`Generator`, :class:`Discriminator`,
:class:`Encoder`), MS-SSIM at 28x28 (:func:`ms_ssim`, from ``pytorch-msssim``, imported only
when called) and an image grid for the figures.

Images are ``uint8`` ``(n, 28, 28)`` (or ``(n, C, 28, 28)``) on disk and in the data sets; the
networks see floats in ``[-1, 1]`` (:func:`to_signed`); the classifier and MS-SSIM see
``[0, 1]``.
"""

from __future__ import annotations

import base64
import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

# ----------------------------------------------------------------------------- shared with gan


def resolve_device(name: str) -> Any:
    """``"auto"`` -> CUDA when available, else the CPU; otherwise ``torch.device(name)``
    (ValueError for an unknown name, or CUDA asked for but absent)."""

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise ValueError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} requested but CUDA is not available")
    return dev


def mean_sd(values: Sequence[float | None]) -> dict[str, Any]:
    """Mean, sample sd (0 for one value) and the values, ignoring ``None``; all ``None`` -> ``None``s."""
    vals = [v for v in values if v is not None]
    if not vals:
        return {"mean": None, "sd": None, "values": list(values), "n": 0}
    arr = np.asarray(vals, dtype=np.float64)
    sd = float(arr.std(ddof=1)) if len(arr) > 1 else 0.0
    return {"mean": float(arr.mean()), "sd": sd, "values": list(values), "n": len(vals)}


def summary_rows(runs: list[dict[str, Any]], by: str, groups: Sequence[Any]) -> list[dict[str, Any]]:
    """Per group (``run[by] == group``): the seeds, :func:`mean_sd` of every final metric but the
    ``counts``, of the seconds per run, and the total seconds."""
    keys = [k for k in runs[0]["final"] if k != "counts"]
    rows = []
    for group in groups:
        mine = [r for r in runs if r[by] == group]
        row: dict[str, Any] = {by: group, "seeds": [r["seed"] for r in mine]}
        for key in keys:
            row[key] = mean_sd([r["final"][key] for r in mine])
        row["seconds"] = mean_sd([r["seconds"] for r in mine])
        row["seconds_total"] = float(sum(r["seconds"] for r in mine))
        rows.append(row)
    return rows


def kl_to_uniform(counts: np.ndarray) -> float | None:
    r""":math:`\mathrm{KL}(q \,\|\, u) = \sum_k q_k \log(K q_k)` for the histogram ``counts`` over
    its ``K = len(counts)`` bins (nats); ``None`` when the histogram is empty.

    >>> kl_to_uniform(np.array([5, 5, 5, 5]))
    0.0
    >>> round(kl_to_uniform(np.array([7, 0, 0, 0])), 4)  # log 4
    1.3863
    """
    counts = np.asarray(counts)
    k = len(counts)
    total = counts.sum()
    if total == 0:
        return None
    q = counts[counts > 0] / total
    return float(np.sum(q * np.log(k * q)))


def latent(
    n: int, noise_dim: int, code_classes: Sequence[int], gen: Any, device: Any, noise: str = "uniform"
) -> tuple[Any, Any]:
    r"""``n`` generator inputs :math:`[\varepsilon, c]` and the code :math:`c`.

    :math:`\varepsilon` is ``U(-1, 1)^noise_dim`` (``noise="uniform"``) or ``N(0, I)``
    (``"normal"``); :math:`c` concatenates one uniformly drawn one-hot vector per entry of
    ``code_classes`` (``(25,)``: one code of 25 classes; ``(10, 10, 10)``: three of 10). Draws
    from the CPU generator ``gen`` in that order (noise, then each code), then moves to
    ``device``. Returns ``(input (n, noise_dim + sum(code_classes)), c (n, sum(code_classes)))``.
    """

    if noise == "uniform":
        eps = torch.rand(n, noise_dim, generator=gen) * 2.0 - 1.0
    elif noise == "normal":
        eps = torch.randn(n, noise_dim, generator=gen)
    else:
        raise ValueError(f"noise must be 'uniform' or 'normal'; got {noise!r}")
    blocks = []
    for k in code_classes:
        labels = torch.randint(0, k, (n,), generator=gen)
        blocks.append(torch.nn.functional.one_hot(labels, k).float())
    c = torch.cat(blocks, dim=1) if len(blocks) > 1 else blocks[0]
    return torch.cat([eps, c], dim=1).to(device), c.to(device)


def mi_backward(loss: Any, mi_value: Any, module: Any, beta: float, clip: bool, retain_graph: bool = False) -> float | None:
    r"""Backpropagate ``loss - beta * mi_value`` into ``module``'s parameters only.

    With ``clip`` the MI term's gradient is clipped adaptively to the norm of ``loss``'s gradient
    (norms over all of ``module``'s parameters;
    :func:`neuralmi.regularizers.adaptive_gradient_clipping` with ``-mi_value`` as the
    regulariser and ``weight=beta``) and the clipping scale is returned; without, the plain sum
    is backpropagated and ``None`` returned. Gradients are added to ``.grad``.
    """
    from ..regularizers import adaptive_gradient_clipping

    if clip:
        info = adaptive_gradient_clipping(loss, -mi_value, module, weight=beta, retain_graph=retain_graph)
        return info.scale
    (loss - beta * mi_value).backward(inputs=list(module.parameters()), retain_graph=retain_graph)
    return None


def critic_step(mi: Any, optimizer: Any, x: Any, y: Any) -> None:
    """One optimiser step of the MINE statistics network on detached ``x``, ``y`` (updates
    MINE's moving average)."""
    optimizer.zero_grad()
    mi.critic_loss(x.detach(), y.detach()).backward()
    optimizer.step()


_RUNS_WORKER: dict[str, Any] = {}


def _on(value: Any, device: Any) -> Any:
    """``value`` moved to ``device`` (tensors, modules; anything else as it is)."""
    return value.to(device) if isinstance(value, (torch.Tensor, nn.Module)) else value


def _runs_worker_init(fn: Any, cfg: Any, data: tuple[Any, ...]) -> None:
    torch.set_num_threads(cfg.threads)
    device = resolve_device(cfg.device)
    _RUNS_WORKER.update(fn=fn, cfg=cfg, device=device, data=tuple(_on(d, device) for d in data))


def _runs_worker(item: tuple[Any, int]) -> dict[str, Any]:
    w = _RUNS_WORKER
    return w["fn"](w["cfg"], item[0], item[1], w["device"], *w["data"])


def train_runs(
    cfg: Any, fn: Any, items: Sequence[tuple[Any, int]], device: Any, data: tuple[Any, ...], name: str,
    label: Any, total: int, unit: str, report: Any,
) -> list[dict[str, Any]]:
    """``fn(cfg, key, seed, device, *data, bar)`` for each ``(key, seed)`` of ``items``, in order.

    With ``cfg.jobs == 1`` in this process, a bar per run (``"{name} {label(key)} seed={seed}"``,
    ``total`` steps of ``unit``); with more, on ``cfg.jobs`` spawned processes with ``cfg.threads`` threads each, the
    tensors and modules of ``data`` copied to each of them once, one bar over the runs (``fn``
    seeds each run itself, so the numbers do not depend on ``jobs``). ``report(item, result)`` as
    each run finishes.
    """
    from ._common import pool_results, progress_bar, spawn_pool

    if cfg.jobs > 1:
        import copy

        cpu = tuple(copy.deepcopy(d).cpu() if isinstance(d, nn.Module) else _on(d, "cpu") for d in data)
        with spawn_pool(cfg.jobs, _runs_worker_init, (fn, cfg, cpu)) as pool:
            return pool_results(pool, _runs_worker, list(items), cfg.progress, f"{name} ({cfg.jobs} jobs)", report)
    runs = []
    for key, seed in items:
        desc = f"{name} {label(key)} seed={seed} ({len(runs) + 1}/{len(items)})"
        bar = progress_bar(total, cfg.progress, desc, unit=unit)
        try:
            r = fn(cfg, key, seed, device, *data, bar)
        finally:
            bar.close()
        runs.append(r)
        report((key, seed), r)
    return runs


def add_beta_arguments(parser: Any) -> None:
    """``--beta B [B ...]`` and ``--no-baseline`` (see :func:`betas_from_args`)."""
    parser.add_argument(
        "--beta", type=float, nargs="+", default=None, metavar="B",
        help="MI weight(s); beta = 0 (the plain GAN) is always added for comparison unless --no-baseline (default: 1)",
    )
    parser.add_argument("--no-baseline", action="store_true", help="do not add the beta = 0 baseline")


def betas_from_args(args: Any) -> tuple[float, ...]:
    """The betas of ``--beta`` (default 1) with beta = 0 first unless ``--no-baseline``, no repeats."""
    given = list(args.beta) if args.beta is not None else [1.0]
    betas = given if args.no_baseline else [0.0] + [b for b in given if b != 0.0]
    return tuple(dict.fromkeys(betas))


def check_config_fields(
    cfg: Any,
    float_tuples: Sequence[str] = (),
    int_tuples: Sequence[str] = (),
    positive_ints: Sequence[str] = (),
    non_negative_ints: Sequence[str] = (),
    positive_floats: Sequence[str] = (),
) -> None:
    """Checks shared by the experiments' frozen configs: sequences become non-empty tuples of
    floats (``float_tuples``) or of positive integers (``int_tuples``); integer and float fields
    are checked. Errors name the field (TypeError for a wrong type, ValueError for a bad value)."""
    for name in (*float_tuples, *int_tuples):
        value = getattr(cfg, name)
        if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
            raise TypeError(f"{name} must be a sequence; got {value!r}")
        kind = float if name in float_tuples else int
        try:
            items = tuple(kind(v) for v in value)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be a sequence of numbers; got {value!r}") from None
        if not items:
            raise ValueError(f"{name} must not be empty")
        if kind is int and any(v < 1 for v in items):
            raise ValueError(f"{name} must hold positive integers; got {items}")
        object.__setattr__(cfg, name, items)
    for name in positive_ints:
        value = getattr(cfg, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}")
    for name in non_negative_ints:
        value = getattr(cfg, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer; got {value!r}")
    for name in positive_floats:
        value = getattr(cfg, name)
        if isinstance(value, bool) or not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number; got {value!r}")


# ----------------------------------------------------------------------------- digit sources

#: the digit sources: the three of :func:`neuralmi.data.image_dataset` and ``"synthetic"``
DIGIT_SOURCES = ("mnist-5k", "mnist", "fashion-mnist", "synthetic")

# 5x7 glyphs of the digits 0-9 (rows top to bottom), for synthetic_digits
_GLYPHS = (
    (".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."),
    ("..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."),
    (".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"),
    ("#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."),
    ("...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."),
    ("#####", "#....", "####.", "....#", "....#", "#...#", ".###."),
    ("..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."),
    ("#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."),
    (".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."),
    (".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."),
)


def synthetic_digits(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` drawn digit images, uint8 ``(n, 28, 28)``, and their labels ``(n,)`` (0-9, balanced).

    Each is a 5x7 glyph scaled 3x (15x21 pixels), shifted by up to 2 pixels each way, at a
    random stroke intensity (160-255), blurred by a 3x3 box and with a little noise: ten
    separable classes that look like digits, for tests and smoke runs without a data set.
    """
    rng = np.random.default_rng(seed)
    glyphs = np.array([[[c == "#" for c in row] for row in g] for g in _GLYPHS], dtype=np.float64)
    big = glyphs.repeat(3, axis=1).repeat(3, axis=2)  # (10, 21, 15)
    labels = np.arange(n) % 10
    rng.shuffle(labels)
    images = np.zeros((n, 28, 28))
    dy = rng.integers(-2, 3, size=n)
    dx = rng.integers(-2, 3, size=n)
    level = rng.uniform(160, 255, size=n)
    for i in range(n):
        top, left = 3 + dy[i], 6 + dx[i]
        images[i, top : top + 21, left : left + 15] = big[labels[i]] * level[i]
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))
    blurred = sum(padded[:, a : a + 28, b : b + 28] for a in range(3) for b in range(3)) / 9.0
    blurred += rng.normal(0.0, 8.0, size=blurred.shape)
    return blurred.clip(0, 255).round().astype(np.uint8), labels.astype(np.int64)


def load_digits(
    source: str, data_dir: str | None = None, seed: int = 0, n_synthetic: int = 2000
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{"train": (images, labels), "test": (images, labels)}``, uint8 ``(n, 28, 28)``.

    ``"mnist-5k"``, ``"mnist"``, ``"fashion-mnist"``: :func:`neuralmi.data.image_dataset`
    (nothing is downloaded; a missing set raises a one-line error naming its install command).
    ``"synthetic"``: :func:`synthetic_digits`, ``n_synthetic`` training and ``n_synthetic // 4``
    test images (seeds ``seed`` and ``seed + 1``).
    """
    if source == "synthetic":
        return {
            "train": synthetic_digits(n_synthetic, seed),
            "test": synthetic_digits(max(10, n_synthetic // 4), seed + 1),
        }
    if source not in DIGIT_SOURCES:
        raise ValueError(f"data must be one of {', '.join(DIGIT_SOURCES)}; got {source!r}")
    from ..data import image_dataset

    return image_dataset(source, data_dir)


def stack_digits(images: np.ndarray, labels: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` Stacked-MNIST images: three digits drawn independently and uniformly (with
    replacement) from ``images`` as the three channels, uint8 ``(n, 3, 28, 28)``, and their
    labels ``(n, 3)``."""
    idx = rng.integers(0, len(images), size=(n, 3))
    return images[idx], labels[idx]


def to_signed(images: Any) -> Any:
    """uint8 tensor -> float32 in ``[-1, 1]``."""
    return images.float().mul_(2.0 / 255.0).sub_(1.0)


def to_unit(x: Any) -> Any:
    """Float tensor in ``[-1, 1]`` -> ``[0, 1]`` (clamped)."""
    return x.add(1.0).mul_(0.5).clamp_(0.0, 1.0)


def encode_uint8(images: np.ndarray) -> dict[str, Any]:
    """A uint8 array as JSON: ``{"shape": [...], "uint8_base64": "..."}``."""
    arr = np.ascontiguousarray(images, dtype=np.uint8)
    return {"shape": list(arr.shape), "uint8_base64": base64.b64encode(arr.tobytes()).decode("ascii")}


def decode_uint8(blob: dict[str, Any]) -> np.ndarray:
    """Inverse of :func:`encode_uint8`."""
    raw = base64.b64decode(blob["uint8_base64"])
    return np.frombuffer(raw, dtype=np.uint8).reshape(blob["shape"])


def unit_to_uint8(x: Any) -> np.ndarray:
    """Float tensor in ``[0, 1]`` -> uint8 NumPy array."""
    return (x.detach().cpu().double().numpy() * 255.0).round().clip(0, 255).astype(np.uint8)


# ----------------------------------------------------------------------------- the classifier


def make_classifier() -> Any:
    """The digit classifier: three 3x3 stride-2 convolutions (32, 64, 128 channels; 28 -> 14 ->
    7 -> 4), ReLU, dropout 0.25, a linear layer to 10 logits. Input ``(n, 1, 28, 28)`` in ``[0, 1]``."""

    return nn.Sequential(
        nn.Conv2d(1, 32, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(32, 64, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(64, 128, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Dropout(0.25),
        nn.Linear(128 * 4 * 4, 10),
    )


def classify(model: Any, images: Any, batch_size: int = 2000) -> np.ndarray:
    """Labels (int64 NumPy) of float images ``(n, 1, 28, 28)`` in ``[0, 1]`` (on the model's device)."""

    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, images.shape[0], batch_size):
            out.append(model(images[start : start + batch_size]).argmax(dim=1).cpu())
    return torch.cat(out).numpy().astype(np.int64) if out else np.zeros(0, dtype=np.int64)


def train_classifier(
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    epochs: int,
    seed: int,
    device: Any,
    batch_size: int = 128,
    lr: float = 1e-3,
) -> tuple[Any, dict[str, Any]]:
    """Train :func:`make_classifier` on the uint8 digits ``train = (images, labels)`` (Adam,
    cross-entropy, ``epochs`` passes, seeded) and measure it on ``test``.

    Returns ``(model in eval mode, {"test_accuracy", "train_accuracy", "epochs", "n_train",
    "n_test", "seconds"})``.
    """
    from torch.nn import functional as F

    t0 = time.perf_counter()
    x_train = torch.as_tensor(train[0]).unsqueeze(1).float().div_(255.0).to(device)
    y_train = torch.as_tensor(train[1], dtype=torch.long).to(device)
    x_test = torch.as_tensor(test[0]).unsqueeze(1).float().div_(255.0).to(device)
    n = x_train.shape[0]
    order = torch.Generator().manual_seed(seed)
    # initial weights and dropout masks from the seed, without touching the global generators
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        model = make_classifier().to(device)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        for _ in range(epochs):
            model.train()
            perm = torch.randperm(n, generator=order).to(device)
            for start in range(0, n, batch_size):
                idx = perm[start : start + batch_size]
                opt.zero_grad()
                F.cross_entropy(model(x_train[idx]), y_train[idx]).backward()
                opt.step()
    model.eval()
    test_acc = float(np.mean(classify(model, x_test) == test[1]))
    train_acc = float(np.mean(classify(model, x_train) == train[1]))
    return model, {
        "test_accuracy": test_acc,
        "train_accuracy": train_acc,
        "epochs": epochs,
        "n_train": int(n),
        "n_test": int(x_test.shape[0]),
        "seconds": time.perf_counter() - t0,
    }


def classify_channels(model: Any, images: Any, batch_size: int = 2000) -> np.ndarray:
    """Per-channel labels ``(n, C)`` of images ``(n, C, 28, 28)`` in ``[0, 1]``."""
    n, c = images.shape[:2]
    flat = images.reshape(n * c, 1, *images.shape[2:])
    return classify(model, flat, batch_size).reshape(n, c)


# ----------------------------------------------------------------------------- mode counting


def count_modes(labels: np.ndarray, n_classes: int = 10) -> dict[str, Any]:
    """Modes of Stacked-MNIST samples from their per-channel labels ``(n, k)`` (VEEGAN, PacGAN).

    The mode of a sample is its label triple, ``n_classes ** k`` modes in all (1000 for three
    channels of ten classes). Returns ``modes`` (modes with at least one sample), ``kl``
    (:func:`kl_to_uniform` of the mode histogram: 0 when every mode gets its share,
    ``log 1000 = 6.91`` when all samples share one mode) and ``counts`` (the histogram).

    >>> m = count_modes(np.array([[0, 0, 0], [9, 9, 9]]))
    >>> m["modes"], round(m["kl"], 4)  # two of 1000 modes, equally: log(1000 / 2)
    (2, 6.2146)
    """
    labels = np.asarray(labels, dtype=np.int64)
    if labels.ndim != 2:
        raise ValueError(f"labels must be 2-D (samples, channels); got shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"labels must lie in 0..{n_classes - 1}")
    k = labels.shape[1]
    weights = n_classes ** np.arange(k - 1, -1, -1)
    mode = labels @ weights
    counts = np.bincount(mode, minlength=n_classes**k)
    return {"modes": int(np.sum(counts >= 1)), "kl": kl_to_uniform(counts), "counts": counts}


# ----------------------------------------------------------------------------- networks


def _conv_out(size: int) -> int:
    """Spatial size after a stride-2 convolution with 'same' padding (TensorFlow's ceil)."""
    return (size + 1) // 2


def dcgan_init(module: Any) -> None:
    """DCGAN initialisation: convolution and linear weights N(0, 0.02), biases 0, batch-norm
    scales 1 and shifts 0."""

    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


class Generator(nn.Module):
    """DCGAN-style generator: a linear projection of the input to ``widths[0]`` maps of
    ``sizes[0]``², then a 'same'-padded stride-2 transposed convolution (kernel ``kernel``) per
    further entry of ``widths``/``sizes``, each with batch norm and ReLU; then the head:

    - ``head="conv"``: a stride-1 convolution (kernel ``kernel``) to ``out_channels`` at
      ``sizes[-1]`` (Unrolled GAN's small generator);
    - ``head="deconv"``: one more stride-2 transposed convolution to ``out_channels`` at
      ``2 * sizes[-1]`` (DCGAN);

    and ``tanh``. Output ``(n, out_channels, H, W)`` in ``[-1, 1]``.
    """

    def __init__(
        self,
        in_dim: int,
        out_channels: int,
        widths: Sequence[int],
        sizes: Sequence[int],
        kernel: int,
        head: str = "conv",
    ) -> None:

        super().__init__()
        if len(widths) != len(sizes) or not widths:
            raise ValueError(f"widths and sizes must have the same non-zero length; got {widths}, {sizes}")
        if head not in ("conv", "deconv"):
            raise ValueError(f"head must be 'conv' or 'deconv'; got {head!r}")
        self.widths, self.sizes = tuple(widths), tuple(sizes)
        self.project = nn.Linear(in_dim, widths[0] * sizes[0] ** 2)
        self.bn0 = nn.BatchNorm2d(widths[0])
        layers: list[nn.Module] = [nn.ReLU()]
        for (w_in, s_in), (w_out, s_out) in zip(zip(widths, sizes), zip(widths[1:], sizes[1:])):
            layers += [_deconv(w_in, w_out, kernel, s_in, s_out), nn.BatchNorm2d(w_out), nn.ReLU()]
        if head == "conv":
            layers.append(nn.Conv2d(widths[-1], out_channels, kernel, padding=kernel // 2))
        else:
            layers.append(_deconv(widths[-1], out_channels, kernel, sizes[-1], 2 * sizes[-1]))
        layers.append(nn.Tanh())
        self.body = nn.Sequential(*layers)
        dcgan_init(self)

    def forward(self, z: Any) -> Any:
        h = self.project(z).view(z.shape[0], self.widths[0], self.sizes[0], self.sizes[0])
        return self.body(self.bn0(h))


def _deconv(c_in: int, c_out: int, kernel: int, size_in: int, size_out: int) -> Any:
    """A stride-2 transposed convolution from ``size_in`` to ``size_out`` (2 size_in - 1 or 2 size_in)."""

    pad = kernel // 2
    extra = size_out - (2 * size_in - 1)
    if extra not in (0, 1) or kernel % 2 == 0:
        raise ValueError(f"a stride-2 transposed convolution cannot go from {size_in} to {size_out} with kernel {kernel}")
    return nn.ConvTranspose2d(c_in, c_out, kernel, stride=2, padding=pad, output_padding=extra)


class Discriminator(nn.Module):
    """DCGAN-style convolutional discriminator: per entry of ``widths`` a 'same'-padded stride-2
    convolution (kernel ``kernel``), batch norm (with ``batch_norm``: on every layer, or all but
    the first with ``bn_first=False``), LeakyReLU(``leak``), dropout (``dropout > 0``); then a
    linear layer to ``out`` outputs (one logit; ``out=0``: none, the flattened features).
    Input ``(n, in_channels, size, size)``; :attr:`features` is the flattened last map's size."""

    def __init__(
        self,
        in_channels: int,
        widths: Sequence[int],
        kernel: int,
        leak: float = 0.2,
        bn_first: bool = False,
        batch_norm: bool = True,
        size: int = 28,
        dropout: float = 0.0,
        out: int = 1,
    ) -> None:

        super().__init__()
        layers: list[nn.Module] = []
        c = in_channels
        for i, w in enumerate(widths):
            layers.append(nn.Conv2d(c, w, kernel, stride=2, padding=kernel // 2))
            if batch_norm and (i > 0 or bn_first):
                layers.append(nn.BatchNorm2d(w))
            layers.append(nn.LeakyReLU(leak))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            c = w
            size = _conv_out(size)
        layers.append(nn.Flatten())
        self.features = c * size * size
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(self.features, out) if out else None
        dcgan_init(self)

    def forward(self, x: Any) -> Any:
        h = self.body(x)
        return h if self.head is None else self.head(h)


# ----------------------------------------------------------------------------- MS-SSIM

#: MS-SSIM at 28x28: three scales (28, 14, 7), Gaussian window of 7 pixels, sigma 1.5
MSSSIM_SCALES = 3
MSSSIM_WINDOW = 7
MSSSIM_SIGMA = 1.5
#: the standard MS-SSIM weights (Wang et al. 2003) of the five scales; the first ``scales`` are
#: used, renormalised to sum to 1
MSSSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _pytorch_msssim() -> Any:
    try:
        from pytorch_msssim import ssim as module
    except ImportError:
        raise ValueError(
            "MS-SSIM needs pytorch-msssim: pip install pytorch-msssim (or pip install 'neuralmi[images]')"
        ) from None
    import sys

    module = sys.modules["pytorch_msssim.ssim"]
    if not hasattr(module, "_ssim") or not hasattr(module, "_fspecial_gauss_1d"):
        raise ValueError("this pytorch-msssim has no per-scale _ssim; install pytorch-msssim 1.0")
    return module


def require_msssim() -> None:
    """Raise the one-line ValueError of :func:`ms_ssim` now if pytorch-msssim is missing."""
    _pytorch_msssim()


def ms_ssim(
    x: Any,
    y: Any,
    scales: int = MSSSIM_SCALES,
    win_size: int = MSSSIM_WINDOW,
    win_sigma: float = MSSSIM_SIGMA,
    weights: Sequence[float] | None = None,
    data_range: float = 1.0,
) -> Any:
    r"""Multi-scale SSIM of each image pair, a tensor ``(n,)``; images ``(n, C, H, W)`` in ``[0, data_range]``.

    The per-scale terms come from ``pytorch-msssim`` (its ``_ssim``: Gaussian-window means,
    variances and covariance, K1 = 0.01, K2 = 0.03) and are combined as its ``ms_ssim`` does:
    :math:`\prod_{j<M} \mathrm{relu}(cs_j)^{w_j} \cdot \mathrm{relu}(\mathrm{SSIM}_M)^{w_M}`,
    averaged over channels, with 2x2 average pooling between scales. Its ``ms_ssim`` insists on
    five scales and images larger than ``(win_size - 1) * 16`` pixels (160 for the default
    window of 11), too large for 28x28 digits; here the default is three scales (28, 14, 7) and
    a window of 7 pixels (sigma 1.5), which fits (``(7 - 1) * 2^2 = 24 < 28``), with the first
    three standard weights renormalised to sum to 1 (0.0711, 0.4530, 0.4760). With
    ``scales=5, win_size=11, weights=MSSSIM_WEIGHTS`` it equals ``pytorch_msssim.ms_ssim``
    on images large enough for it (tested).
    """

    mod = _pytorch_msssim()
    if x.shape != y.shape or x.ndim != 4:
        raise ValueError(f"x and y must be (n, C, H, W) of the same shape; got {tuple(x.shape)} and {tuple(y.shape)}")
    if win_size % 2 != 1:
        raise ValueError(f"win_size must be odd; got {win_size}")
    smallest = min(x.shape[-2:])
    if smallest <= (win_size - 1) * 2 ** (scales - 1):
        raise ValueError(
            f"{scales} scales with a window of {win_size} need images larger than "
            f"{(win_size - 1) * 2 ** (scales - 1)} pixels; got {smallest}"
        )
    if weights is None:
        w = torch.tensor(MSSSIM_WEIGHTS[:scales], dtype=x.dtype, device=x.device)
        w = w / w.sum()
    else:
        if len(weights) != scales:
            raise ValueError(f"weights must have {scales} entries; got {len(weights)}")
        w = torch.tensor(list(weights), dtype=x.dtype, device=x.device)
    win = mod._fspecial_gauss_1d(win_size, win_sigma).repeat([x.shape[1], 1, 1, 1])
    terms = []
    for level in range(scales):
        ssim_c, cs_c = mod._ssim(x, y, data_range=data_range, win=win, size_average=False)
        if level < scales - 1:
            terms.append(torch.relu(cs_c))
            pad = [s % 2 for s in x.shape[2:]]
            x = torch.nn.functional.avg_pool2d(x, kernel_size=2, padding=pad)
            y = torch.nn.functional.avg_pool2d(y, kernel_size=2, padding=pad)
    terms.append(torch.relu(ssim_c))
    stacked = torch.stack(terms, dim=0)  # (scales, n, C)
    value = torch.prod(stacked ** w.view(-1, 1, 1), dim=0)
    return value.mean(dim=1)


# ----------------------------------------------------------------------------- figures


def image_grid(images: np.ndarray, ncol: int, pad: int = 1) -> np.ndarray:
    """Tile uint8 images ``(n, C, H, W)`` (C = 1 or 3) into one ``(rows*(H+pad), ncol*(W+pad))``
    (grey) or ``(..., 3)`` (colour) array, white padding."""
    images = np.asarray(images)
    n, c, h, w = images.shape
    rows = max(1, math.ceil(n / ncol))
    grid = np.full((rows * (h + pad) + pad, ncol * (w + pad) + pad, c), 255, dtype=np.uint8)
    for i in range(n):
        r, q = divmod(i, ncol)
        top, left = pad + r * (h + pad), pad + q * (w + pad)
        grid[top : top + h, left : left + w] = images[i].transpose(1, 2, 0)
    return grid[:, :, 0] if c == 1 else grid
