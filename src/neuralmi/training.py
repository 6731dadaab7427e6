"""The training loop: Adam on a critic loss, held-out evaluation, early stopping, progress.

Nothing in this file knows which bound is optimised (the idea of minGPT's Trainer): the loop sees
a module with ``critic_loss(x, y)`` (the loss to minimise) and ``evaluate(x, y)`` (a held-out
:class:`~neuralmi.objectives.Evaluation`), which :class:`~neuralmi.objectives.MutualInformation`
provides.

Honest model selection: the held-out data come as two (or more) disjoint folds. The loop keeps,
for each fold, the checkpoint that scored best on it, and each fold has its own patience: once
a fold has gone ``patience`` evaluations without improving, its checkpoint is frozen (training
goes on while another fold is still improving). The estimator then reports each fold's value
under the checkpoint chosen, and the stopping time decided, by the *other* fold alone, so no
number is read on data that picked its critic or decided when training ended.
"""

from __future__ import annotations

import contextlib
import copy
import math
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from .interface import Objective

__all__ = ["Adam", "TrainConfig", "TrainResult", "num_threads", "train", "resolve_device"]


@dataclass(frozen=True)
class TrainConfig:
    """Settings of the training loop, validated on construction.

    Attributes:
        batch_size: samples per step.
        lr: Adam learning rate.
        max_steps: hard cap on optimisation steps.
        eval_every: steps between held-out evaluations.
        patience: a fold stops selecting after this many evaluations without a new best on
            it; training stops when every fold has (``None``: never stop early).
        idle_patience: the patience of a fold on which the critic has not yet improved on its
            initial state (``None``: ``patience``). Shorter by default: a critic that starts
            from a good baseline and learns nothing in 300 steps (a Gaussian pair, where the
            baseline is exact) stops there instead of at 400, while a critic that does improve
            keeps the full ``patience`` after each improvement.
        min_steps: never stop before this many steps.
        select_shifts: marginal permutations per held-out evaluation during training. Fewer
            than the final read-out's (``eval_shifts`` of the estimators): these evaluations only
            rank checkpoints, with the same pairs each time (common random numbers).
        eval_threads: torch's CPU threads for the held-out evaluations (``None``: as set by the
            caller). An estimator trains a small critic on one thread (a second only adds
            synchronisation to a step of a few hundred microseconds) but evaluates tens of
            thousands of pairs at once, where every core helps.
        weight_decay: Adam's L2 weight decay.
        grad_clip: clip the gradient norm at this value (``None``: no clipping).
        seed: seeds batch sampling (and torch's global generator for initialisation is seeded
            by the caller).
        progress: show a progress bar; ``None`` means only when stderr is a terminal.
    """

    batch_size: int = 512
    lr: float = 2e-3
    max_steps: int = 2000
    eval_every: int = 100
    patience: int | None = 4
    idle_patience: int | None = 3
    min_steps: int = 0
    select_shifts: int = 16
    eval_threads: int | None = None
    weight_decay: float = 0.0
    grad_clip: float | None = None
    seed: int = 0
    progress: bool | None = None

    def __post_init__(self) -> None:
        for name in ("batch_size", "max_steps", "eval_every", "select_shifts"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}")
        if self.batch_size < 2:
            raise ValueError(f"batch_size must be at least 2; got {self.batch_size}")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a positive number; got {self.lr!r}")
        for name in ("patience", "idle_patience", "eval_threads"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a positive integer or None; got {value!r}")
        if not isinstance(self.min_steps, int) or self.min_steps < 0:
            raise ValueError(f"min_steps must be a non-negative integer; got {self.min_steps!r}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0; got {self.weight_decay}")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ValueError(f"grad_clip must be positive or None; got {self.grad_clip}")


@dataclass
class TrainResult:
    """What the loop returns.

    Attributes:
        best_states: for each held-out fold, the ``state_dict`` of the checkpoint that scored best
            on that fold (step 0, the initial critic, included).
        best_steps: the step of each of those checkpoints.
        history: ``step`` (evaluation steps), ``train`` (the method's value on training
            batches, averaged since the previous evaluation; ``None`` at step 0), ``heldout``
            (mean over folds of the held-out value), ``heldout_folds`` (per fold).
        stop_steps: for each fold, the step at which its patience ran out (``None``: it never did).
        steps: steps taken. stopped_early: whether every fold's patience ran out. diverged:
            whether the loss became NaN/inf (training stops and the best checkpoints are kept).
        seconds: wall time of the loop.
    """

    best_states: list[dict[str, Tensor]]
    best_steps: list[int]
    history: dict[str, list[Any]] = field(default_factory=dict)
    stop_steps: list[int | None] = field(default_factory=list)
    steps: int = 0
    stopped_early: bool = False
    diverged: bool = False
    seconds: float = 0.0


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``"auto"``/``None`` -> CUDA when available, else MPS when available, else CPU."""
    if device is None or device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"unknown device {device!r}; use 'auto', 'cpu', 'cuda' or 'cuda:N'") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available on this machine")
    return dev


class Adam:
    """Adam (Kingma & Ba 2015) with torch.optim.Adam's defaults, in a few lines.

    The loop uses this rather than ``torch.optim.Adam`` because creating any ``torch.optim``
    optimizer imports ``torch._dynamo`` (about two seconds on a small CPU, paid by every new
    process) and wraps each step in compiler guards, which costs more than the step itself for
    the small critics used here. Same update rule, with L2 ``weight_decay`` as in torch.
    """

    def __init__(
        self,
        params: list[nn.Parameter],
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        self.params = list(params)
        self.lr, self.betas, self.eps, self.weight_decay = lr, betas, eps, weight_decay
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.t = 0

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        live = [k for k, p in enumerate(self.params) if p.grad is not None]
        if not live:
            return
        self.t += 1
        b1, b2 = self.betas
        params = [self.params[k] for k in live]
        grads = [self.params[k].grad for k in live]
        m = [self.m[k] for k in live]
        v = [self.v[k] for k in live]
        if self.weight_decay:
            grads = torch._foreach_add(grads, params, alpha=self.weight_decay)
        torch._foreach_lerp_(m, grads, 1.0 - b1)
        torch._foreach_mul_(v, b2)
        torch._foreach_addcmul_(v, grads, grads, value=1.0 - b2)
        denom = torch._foreach_sqrt(v)
        torch._foreach_div_(denom, math.sqrt(1.0 - b2**self.t))
        torch._foreach_add_(denom, self.eps)
        torch._foreach_addcdiv_(params, m, denom, value=-self.lr / (1.0 - b1**self.t))


def patience_limit(patience: int | None, idle_patience: int | None, moved: bool) -> int | None:
    """A fold's patience (``None``: no early stop): ``patience``, or ``idle_patience`` until the
    fold has improved on the initial critic (``moved``), never longer than ``patience``. Shared by
    :func:`train` and the cross-fitted selection of :mod:`neuralmi.ensemble`."""
    if patience is None or moved or idle_patience is None:
        return patience
    return min(patience, idle_patience)


@contextlib.contextmanager
def num_threads(n: int | None) -> Iterator[None]:
    """torch's CPU intra-op threads set to ``n`` inside the block, restored after (``None``:
    unchanged)."""
    previous = torch.get_num_threads()
    if n is None or n == previous:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _show_progress(progress: bool | None) -> bool:
    if progress is None:
        return sys.stderr.isatty()
    return bool(progress)


def _parts(e: Any) -> dict[str, float]:
    """The selection criteria of an evaluation, by state-dict key prefix: ``{"": criterion}``
    (the whole state), or one per part when the objective is a sum of independent bounds with
    critics of their own (MI-NEE: each divergence's critic is kept at its own best)."""
    parts = getattr(e, "parts", None)
    return dict(parts) if parts else {"": e.criterion}


def _part_state(state: dict[str, Tensor], prefix: str) -> dict[str, Tensor]:
    """A copy of the entries of ``state`` whose key starts with ``prefix``."""
    return {k: v.detach().clone() for k, v in state.items() if k.startswith(prefix)}


def optimizer_step(opt: "Adam | None", loss: Tensor, params: list[Tensor], grad_clip: float | None) -> None:
    """One optimisation step on ``loss`` (nothing when ``opt`` is ``None``: no trainable
    parameters), the gradient norm clipped at ``grad_clip`` when given."""
    if opt is None:
        return
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip is not None:
        nn.utils.clip_grad_norm_(params, grad_clip)
    opt.step()


def train(
    module: Objective,
    x_train: Tensor,
    y_train: Tensor,
    heldout: Sequence[tuple[Tensor, Tensor]],
    config: TrainConfig,
    callback: Callable[[int, dict[str, float]], None] | None = None,
) -> TrainResult:
    """Train ``module`` (an :class:`~neuralmi.interface.Objective`) with Adam on minibatches.

    Every ``config.eval_every`` steps each held-out fold is evaluated; each fold keeps the
    checkpoint with its highest selection criterion (:attr:`Evaluation.criterion`; the initial
    state counts as step 0) until its own patience runs out. An evaluation with ``parts``
    (criteria by state-dict key prefix) has each part selected on its own. Training stops after
    ``config.max_steps`` steps, when every fold's patience has run out (after
    ``config.min_steps``), or when the loss is no longer finite.

    Args:
        module: the objective to train; its ``critic_loss`` is minimised.
        x_train, y_train: ``(n, dx)``, ``(n, dy)`` training tensors on the training device.
        heldout: disjoint held-out folds ``[(x, y), ...]`` used for evaluation and selection.
        config: loop settings.
        callback: called as ``callback(step, {"train": ..., "heldout": ...})`` after each
            evaluation (e.g. for logging).
    """
    t0 = time.perf_counter()
    n = x_train.shape[0]
    batch = min(config.batch_size, n)
    gen = torch.Generator().manual_seed(config.seed)
    params = [p for p in module.parameters() if p.requires_grad]
    opt = Adam(params, lr=config.lr, weight_decay=config.weight_decay) if params else None
    n_folds = len(heldout)

    def evaluate_folds() -> list[Any]:
        module.eval()
        # the same pairs at every evaluation (common random numbers), so checkpoints are compared
        # on equal terms
        with num_threads(config.eval_threads):
            evals = [
                module.evaluate(xh, yh, n_shifts=config.select_shifts, batch_size=batch, seed=config.seed + 7919 * (k + 1))
                for k, (xh, yh) in enumerate(heldout)
            ]
        module.train()
        return evals

    history: dict[str, list[Any]] = {"step": [], "train": [], "heldout": [], "heldout_folds": []}

    def record(step: int, train_value: float | None, evals: list[Any]) -> float:
        values = [e.value for e in evals]
        mean_val = sum(values) / len(values)
        history["step"].append(step)
        history["train"].append(train_value)
        history["heldout"].append(mean_val)
        history["heldout_folds"].append(values)
        return mean_val

    evals0 = evaluate_folds()
    record(0, None, evals0)  # nothing trained yet
    # an improvement smaller than a tenth of the fold's standard error is noise: it still updates
    # the best checkpoint but does not reset the fold's patience counter
    min_delta = [max(1e-3, 0.1 * e.stderr) if math.isfinite(e.stderr) else 1e-3 for e in evals0]
    initial = copy.deepcopy(module.state_dict())
    # per fold, per part: [best criterion, its step, its part of the state, patience reference]
    best = [{p: [v, 0, _part_state(initial, p), v] for p, v in _parts(e).items()} for e in evals0]
    since_best = [0] * n_folds
    moved = [False] * n_folds  # whether the fold has improved on the initial critic yet
    stop_steps: list[int | None] = [None] * n_folds

    bar = None
    if _show_progress(config.progress):
        from tqdm.auto import tqdm

        bar = tqdm(total=config.max_steps, desc="training critic", unit="step", leave=False)

    # no host synchronisation inside a step: the running training value stays on the device
    # (float64 where the device has it) and finiteness is checked at evaluation time, so a GPU
    # queues steps without waiting; a non-finite loss is caught at the next evaluation, and the
    # checkpoints kept are those selected before it
    device = x_train.device
    running = torch.zeros((), dtype=torch.float32 if device.type == "mps" else torch.float64, device=device)
    count = 0
    stopped_early = diverged = False
    step = 0
    module.train()
    while step < config.max_steps:
        idx = torch.randint(0, n, (batch,), generator=gen).to(device, non_blocking=True)
        loss, value = module.critic_loss(x_train[idx], y_train[idx], with_value=True)
        optimizer_step(opt, loss, params, config.grad_clip)
        step += 1
        running += loss.detach() * 0 + value.detach()  # NaN/inf in the loss reach the sum too
        count += 1
        if bar is not None:
            bar.update(1)
        if step % config.eval_every == 0 or step == config.max_steps:
            train_value = float(running) / max(count, 1)  # the one synchronisation per evaluation
            running.zero_()
            count = 0
            if not math.isfinite(train_value):
                diverged = True
                break
            evals = evaluate_folds()
            mean_val = record(step, train_value, evals)
            for k, e in enumerate(evals):
                if stop_steps[k] is not None:
                    continue  # this fold's selection is final
                improved = False
                state = None
                for part, v in _parts(e).items():
                    rec = best[k][part]
                    if not math.isfinite(v):
                        continue
                    if v > rec[0]:
                        state = state if state is not None else module.state_dict()
                        rec[0], rec[1], rec[2] = v, step, _part_state(state, part)
                    if v > rec[3] + min_delta[k]:
                        rec[3], improved = v, True
                since_best[k] = 0 if improved else since_best[k] + 1
                moved[k] = moved[k] or improved
                limit = patience_limit(config.patience, config.idle_patience, moved[k])
                if limit is not None and step >= config.min_steps and since_best[k] >= limit:
                    stop_steps[k] = step
            if bar is not None:
                bar.set_postfix(heldout=f"{mean_val:.3f}")
            if callback is not None:
                callback(step, {"train": history["train"][-1], "heldout": mean_val})
            if not all(math.isfinite(e.value) and math.isfinite(e.criterion) for e in evals):
                diverged = True
                break
            if all(s is not None for s in stop_steps):
                stopped_early = True
                break
    if bar is not None:
        bar.close()
    module.eval()
    best_states = []
    for parts in best:
        merged = dict(initial)
        for rec in parts.values():
            merged.update(rec[2])
        best_states.append(merged)
    return TrainResult(
        best_states=best_states,
        best_steps=[max(rec[1] for rec in parts.values()) for parts in best],
        history=history,
        stop_steps=stop_steps,
        steps=step,
        stopped_early=stopped_early,
        diverged=diverged,
        seconds=time.perf_counter() - t0,
    )
