"""What the synthetic experiments (``gaussian``, ``nonlinear``) share: config checks, list
parsing for the command line, the paper-setup estimate, the progress bar and JSON clean-up; and
the pool of spawned processes that ``ib``, ``stacked`` and ``ali`` train their runs on (``--jobs``)."""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

import numpy as np


def set_tuple(cfg: Any, name: str, kind: type) -> None:
    """Replace the frozen dataclass field ``name`` by a tuple of ``kind`` (TypeError if it cannot)."""
    value = getattr(cfg, name)
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(f"{name} must be a sequence; got {value!r}")
    try:
        items = tuple(kind(v) for v in value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a sequence of {kind.__name__}; got {value!r}") from None
    object.__setattr__(cfg, name, items)


def check_training(cfg: Any) -> None:
    """Checks of the training fields the experiments' configs share (n_samples ... threads)."""
    for name in ("n_samples", "seeds", "batch_size", "steps", "eval_every", "threads"):
        value = getattr(cfg, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}")
    if isinstance(cfg.base_seed, bool) or not isinstance(cfg.base_seed, int) or cfg.base_seed < 0:
        raise ValueError(f"base_seed must be a non-negative integer; got {cfg.base_seed!r}")
    if cfg.patience is not None and (isinstance(cfg.patience, bool) or not isinstance(cfg.patience, int) or cfg.patience < 1):
        raise ValueError(f"patience must be a positive integer or None; got {cfg.patience!r}")
    if not (isinstance(cfg.lr, (int, float)) and math.isfinite(cfg.lr) and cfg.lr > 0):
        raise ValueError(f"lr must be a positive number; got {cfg.lr!r}")
    if not 0.0 < cfg.test_size < 1.0:
        raise ValueError(f"test_size must be in (0, 1); got {cfg.test_size}")
    if not 0.0 < cfg.ema_rate <= 1.0:
        raise ValueError(f"ema_rate must be in (0, 1]; got {cfg.ema_rate}")
    n_train = cfg.n_samples - max(4, int(round(cfg.test_size * cfg.n_samples)))
    if cfg.batch_size < 2 or cfg.batch_size > n_train:
        raise ValueError(
            f"batch_size must be between 2 and the {n_train} training samples "
            f"(n_samples={cfg.n_samples}, test_size={cfg.test_size}); got {cfg.batch_size}"
        )
    if not isinstance(cfg.device, str) or not cfg.device:
        raise ValueError(f"device must be a non-empty string; got {cfg.device!r}")


def float_list(text: str) -> tuple[float, ...]:
    """``"0.1,0.5"`` -> ``(0.1, 0.5)`` (an argparse type)."""
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def int_list(text: str) -> tuple[int, ...]:
    """``"2,20"`` -> ``(2, 20)`` (an argparse type)."""
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def str_list(text: str) -> tuple[str, ...]:
    """``"mine, ksg"`` -> ``("mine", "ksg")`` (an argparse type)."""
    return tuple(v.strip() for v in text.split(",") if v.strip())


def paper_estimate(x: np.ndarray, y: np.ndarray, method: str, cfg: Any, seed: int) -> Any:
    """One estimate in the paper's setup; returns a :class:`neuralmi.MIResult`.

    ``"ksg"``: KSG estimator 1 with ``cfg.ksg_k`` neighbours; ``"neuralmi"``: the library's
    default estimator; any bound: a plain MLP critic on ``[x, y]`` (``cfg.hidden``, ReLU; InfoNCE
    on ``cfg.infonce_critic``, separable unless the config says otherwise), standardised inputs,
    no Gaussian baseline, no radial column, one split (``folds=None``: the paper reads a
    held-out part) and ``cfg``'s training settings.
    """
    import neuralmi

    if method == "ksg":
        return neuralmi.estimate(x, y, method="ksg", k=cfg.ksg_k)
    if method == "neuralmi":
        return neuralmi.estimate(x, y, method="mine", seed=seed, device=cfg.device, progress=False)
    critic = getattr(cfg, "infonce_critic", "separable") if method == "infonce" else "concat"
    return neuralmi.estimate(
        x,
        y,
        method=method,
        critic=critic,
        gaussian_baseline=False,
        radial=False,
        transform="standardize",
        hidden=cfg.hidden,
        activation="relu",
        batch_size=cfg.batch_size,
        lr=cfg.lr,
        steps=cfg.steps,
        eval_every=cfg.eval_every,
        patience=cfg.patience,
        test_size=cfg.test_size,
        folds=None,
        ema_rate=cfg.ema_rate,
        seed=seed,
        device=cfg.device,
        threads=cfg.threads,
        progress=False,
    )


def point_record(setting: dict[str, Any], truth: float, res: Any, seed: int) -> dict[str, Any]:
    """One point of results.json: the setting, seed, truth and what the MIResult ``res`` says
    (a non-finite stderr becomes None)."""
    cfg = res.config
    return {
        **setting,
        "seed": seed,
        "truth": truth,
        "estimate": float(res.mi),
        "stderr": None if res.stderr is None or not math.isfinite(res.stderr) else float(res.stderr),
        "seconds": float(res.seconds),
        "n_test": int(res.n_test),
        "steps_taken": cfg.get("steps_taken"),
        "selected_steps": cfg.get("selected_steps"),
        "warnings": list(res.warnings),
    }


def show_progress(enabled: bool | None) -> bool:
    """Whether to show progress: ``None`` means only when stderr is a terminal."""
    return sys.stderr.isatty() if enabled is None else bool(enabled)


def show_lines(enabled: bool | None) -> bool:
    """Whether to print a line per finished run on stderr: always, unless ``enabled`` is
    ``False`` (``--quiet``), so that a run in the background leaves a log to follow."""
    return enabled is not False


def progress_bar(total: int, enabled: bool | None, desc: str, unit: str = "fit") -> Any:
    """A tqdm bar (on stderr) over ``total`` steps of ``unit``; ``enabled=None`` shows it only on a
    terminal, ``False`` never, ``True`` always."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=not show_progress(enabled), leave=False, file=sys.stderr)


def jsonable(obj: Any) -> Any:
    """Tuples -> lists, NumPy scalars -> Python numbers, non-finite floats -> None."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def spawn_pool(jobs: int, initializer: Any, initargs: tuple[Any, ...]) -> Any:
    """A pool of ``jobs`` spawned processes (fresh interpreters: no forked torch state), each
    prepared once by ``initializer(*initargs)``; the caller shuts it down."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                               initializer=initializer, initargs=initargs)


def pool_results(pool: Any, fn: Any, items: list[Any], progress: bool | None, desc: str,
                 report: Any = None) -> list[Any]:
    """``[fn(item) for item in items]`` computed on ``pool``, in the order of ``items``; one bar
    over the items; ``report(item, result)`` as each finishes (in the order they finish)."""
    from concurrent.futures import as_completed

    futures = {pool.submit(fn, item): i for i, item in enumerate(items)}
    results: list[Any] = [None] * len(items)
    bar = progress_bar(len(items), progress, desc, unit="run")
    try:
        for fut in as_completed(futures):
            i = futures[fut]
            results[i] = fut.result()
            bar.update(1)
            if report is not None:
                report(items[i], results[i])
    finally:
        bar.close()
    return results
