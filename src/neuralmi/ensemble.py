r"""K-fold cross-fitting: K critics, critic ``k`` trained on every fold but ``k``, in lockstep.

:class:`~neuralmi.NeuralEstimator` with ``folds=K`` splits the rows into K folds and trains K
critics here. Critic ``k`` sees the rows of the other folds only (its transform, Gaussian
baseline and training batches come from them; the estimator passes it nothing else), and it is
read on fold ``k`` once, at the end. Its checkpoint and its stopping time are chosen from the
*other* critics' held-out curves: all K critics take step ``t`` before any takes step ``t + 1``,
and at every evaluation critic ``j`` is read on its own fold ``j``; critic ``k``'s criterion is

.. math:: c_k(t) = \frac{1}{K - 1} \sum_{j \ne k} v_j(t)

(``v_j(t)``: critic ``j``'s selection criterion on fold ``j`` after ``t`` steps, in nats). Critic
``k`` keeps its state at the step where ``c_k`` is highest and is frozen (no longer trained or
evaluated; its last held-out value stays in the others' criteria) after ``patience``
evaluations without a new best of ``c_k``. Training ends when every critic is frozen or after
``max_steps``. (Fold ``k``'s rows do enter the training of the critics ``j != k``, so the one
number chosen from their curves, critic ``k``'s stopping step, depends on fold ``k`` through
them, as any cross-validated number of steps does; the critic's weights never do.)

Where the critics allow it (concat MLPs, alone or on a fixed Gaussian baseline, and the methods
``mine``, ``dv``, ``nwj``, ``js``, ``smile`` with shuffled marginals) the K critics are trained as
one vectorised model, :class:`StackedConcat`: each layer's weights are stacked into a
``(K, in, out)`` tensor and applied with one ``torch.baddbmm`` for all K batches, and the K bounds
are computed with reductions over the last axis (:func:`stacked_objective`). The K problems stay
independent (a critic's gradient is that of its own bound, and Adam is element-wise), so this is
K separate trainings, not one shared one. Other critics and methods fall back to a Python loop
over the K objectives at each step, with the same selection.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .critics import ConcatCritic, GaussianCritic, ResidualCritic
from .objectives import Evaluation, MutualInformation
from .training import Adam, TrainConfig, _part_state, _parts, _show_progress, num_threads, optimizer_step, patience_limit

__all__ = [
    "STACKED_METHODS",
    "StackedConcat",
    "stacked_objective",
    "CrossSelection",
    "CrossFitRun",
    "train_crossfit",
]

#: methods whose K bounds :func:`stacked_objective` computes at once (the others train looped)
STACKED_METHODS = ("mine", "dv", "nwj", "js", "smile")


class StackedConcat(nn.Module):
    """K concat critics (:class:`~neuralmi.critics.ConcatCritic`), each optionally on a fixed
    baseline (:class:`~neuralmi.critics.ResidualCritic` over a critic without parameters), as
    one module with stacked weights.

    ``forward(z)`` takes ``z`` of shape ``(K, B, dim_x + dim_y)`` (critic ``k``'s rows
    ``[x; y]`` in ``z[k]``) and returns the ``(K, B)`` scores ``T_k(x_{k,b}, y_{k,b})``. Layer
    ``l``'s weights are one ``(K, in, out)`` parameter, its biases ``(K, 1, out)``. Plain
    :class:`~neuralmi.critics.GaussianCritic` baselines are stacked too, their quadratic forms
    ``(K, d, d)`` buffers; other fixed baselines are scored one by one, without gradients.

    Build it with :meth:`from_critics` (copies the critics' weights), train it, and write critic
    ``k``'s weights back into its module with :meth:`write_back`.
    """

    def __init__(
        self,
        weights: Sequence[Tensor],
        biases: Sequence[Tensor],
        activation: nn.Module | None,
        baseline: tuple[Tensor, Tensor, Tensor] | None = None,
        bases: Sequence[nn.Module] | None = None,
        dim_x: int = 0,
    ) -> None:
        super().__init__()
        self.weights = nn.ParameterList([nn.Parameter(w) for w in weights])
        self.biases = nn.ParameterList([nn.Parameter(b) for b in biases])
        self.activation = activation
        self.has_baseline = baseline is not None
        # fixed baselines of another kind (e.g. MagnitudeGaussianCritic): scored one by one,
        # without gradients (they have no parameters); not registered, so never copied or moved
        self._bases = list(bases) if bases is not None else None
        self.dim_x = int(dim_x)
        if baseline is not None:
            quad, mean, const = baseline
            self.register_buffer("quad", quad)  # (K, d, d)
            self.register_buffer("mean", mean)  # (K, 1, d)
            self.register_buffer("const", const)  # (K, 1)

    @staticmethod
    def _parts(critic: nn.Module) -> tuple[ConcatCritic, nn.Module | None] | None:
        if type(critic) is ConcatCritic:
            return critic, None
        if (
            type(critic) is ResidualCritic
            and type(critic.residual) is ConcatCritic
            and not any(True for _ in critic.base.parameters())  # a trained baseline: not stacked
        ):
            return critic.residual, critic.base
        return None

    @staticmethod
    def _layers(net: nn.Sequential) -> tuple[list[nn.Linear], nn.Module | None] | None:
        """The Linear layers of an MLP ``Linear, act, Linear, act, ..., Linear`` and its activation."""
        mods = list(net)
        linears = mods[0::2]
        acts = mods[1::2]
        if not all(type(m) is nn.Linear for m in linears) or len(acts) != len(linears) - 1:
            return None
        if acts and any(type(a) is not type(acts[0]) or repr(a) != repr(acts[0]) for a in acts):
            return None
        return linears, (acts[0] if acts else None)

    @classmethod
    def from_critics(cls, critics: Sequence[nn.Module]) -> "StackedConcat | None":
        """The K ``critics`` stacked (their current weights copied), or ``None`` when they are
        not all concat critics of one architecture (alone, or each on a baseline without
        parameters), or when the stack does not score a few random rows as they do."""
        parts = [cls._parts(c) for c in critics]
        if not critics or any(p is None for p in parts):
            return None
        nets = [p[0].net for p in parts]  # type: ignore[index]
        layers = [cls._layers(n) for n in nets]
        if any(lay is None for lay in layers):
            return None
        shapes = {tuple(tuple(lin.weight.shape) for lin in lay[0]) for lay in layers}  # type: ignore[index]
        with_base = {p[1] is not None for p in parts}  # type: ignore[index]
        if len(shapes) != 1 or len(with_base) != 1:
            return None
        linears = [lay[0] for lay in layers]  # type: ignore[index]
        with torch.no_grad():
            weights = [torch.stack([ls[i].weight.T for ls in linears]).clone() for i in range(len(linears[0]))]
            biases = [torch.stack([ls[i].bias[None, :] for ls in linears]).clone() for i in range(len(linears[0]))]
            baseline, others = None, None
            bases = [p[1] for p in parts]  # type: ignore[index]
            if with_base == {True} and all(type(b) is GaussianCritic for b in bases):
                quad = torch.stack([b.quadratic() for b in bases])  # type: ignore[arg-type]
                mean = torch.stack([b.mean[None, :] for b in bases]).to(quad.dtype)  # type: ignore[union-attr]
                const = torch.stack([b.const.reshape(1) for b in bases]).to(quad.dtype)  # type: ignore[union-attr]
                baseline = (quad, mean, const)
            elif with_base == {True}:
                others = bases
        act = layers[0][1]  # type: ignore[index]
        dx = parts[0][0].dim_x  # type: ignore[index]
        stack = cls(weights, biases, copy.deepcopy(act) if act is not None else None, baseline, others, dx)  # type: ignore[arg-type]
        # a guard against critics whose forward is not what is stacked here (a subclass, a
        # changed baseline): the stack must score a few rows exactly as each critic does
        z = torch.randn(len(critics), 8, weights[0].shape[1], generator=torch.Generator().manual_seed(0))
        z = z.to(weights[0].device, weights[0].dtype)
        with torch.no_grad():
            own = torch.stack([c(z[k, :, :dx], z[k, :, dx:]) for k, c in enumerate(critics)])
            if not torch.allclose(stack(z), own, rtol=1e-4, atol=1e-4):
                return None
        return stack

    def forward(self, z: Tensor) -> Tensor:
        """``(K, B)`` scores of ``z``, shape ``(K, B, d)``."""
        h = z
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = torch.baddbmm(b, h, w)
            if i < last and self.activation is not None:
                h = self.activation(h)
        out = h.squeeze(-1)
        if self.has_baseline:
            zc = z - self.mean
            out = out + (torch.bmm(zc, self.quad) * zc).sum(-1) + self.const
        elif self._bases is not None:
            with torch.no_grad():
                base = torch.stack([b(z[k, :, : self.dim_x], z[k, :, self.dim_x :]) for k, b in enumerate(self._bases)])
            out = out + base
        return out

    @torch.no_grad()
    def write_back(self, critic: nn.Module, k: int) -> None:
        """Copy critic ``k``'s stacked weights into ``critic`` (one of the modules it was built from)."""
        parts = self._parts(critic)
        assert parts is not None
        linears = [m for m in parts[0].net if isinstance(m, nn.Linear)]
        for lin, w, b in zip(linears, self.weights, self.biases):
            lin.weight.copy_(w[k].T)
            lin.bias.copy_(b[k, 0])


def stacked_objective(
    method: str,
    joint: Tensor,
    marginal: Tensor,
    log_ema: Tensor,
    ema_rate: float = 0.01,
    smile_tau: float = 5.0,
    remine_weight: float = 0.0,
    remine_target: float = 0.0,
) -> tuple[Tensor, Tensor, Tensor]:
    """K bounds at once: the row-wise form of :class:`~neuralmi.MutualInformation`'s training
    objective for ``method`` (one of :data:`STACKED_METHODS`) with shuffled marginals.

    Args:
        joint: ``(K, B)`` scores of paired rows. marginal: ``(K, B)`` scores of shuffled pairs.
        log_ema: ``(K,)`` MINE's moving averages (NaN: not started); ignored by other methods.

    Returns:
        ``(objective, value, new_log_ema)``, each ``(K,)``: the objective to maximise (carrying
        the method's gradient), the bound's value in nats, and the updated moving averages.
        Row ``k`` equals what :mod:`neuralmi.bounds` gives for ``joint[k]``, ``marginal[k]``.
    """
    b = marginal.shape[-1]
    jmean = joint.mean(-1)

    def lme(m: Tensor) -> Tensor:
        return torch.logsumexp(m, dim=-1) - math.log(b)

    lme_marg = lme(marginal)
    new_ema = log_ema
    if method == "dv":
        value = objective = jmean - lme_marg
    elif method == "mine":
        batch = lme_marg.detach()
        if ema_rate == 1.0:
            new_ema = batch
        else:
            moved = torch.logaddexp(math.log1p(-ema_rate) + log_ema.detach(), math.log(ema_rate) + batch)
            new_ema = torch.where(torch.isnan(log_ema), batch, moved)
        surrogate = jmean - torch.exp(lme_marg - new_ema.detach())
        value = objective = (jmean - lme_marg).detach() + surrogate - surrogate.detach()
    elif method == "nwj":
        value = objective = jmean - torch.exp(lme_marg - 1.0)
    elif method in ("js", "smile"):
        js = -F.softplus(-joint).mean(-1) - F.softplus(marginal).mean(-1)
        if method == "js":  # NWJ of T + 1
            read = jmean + 1.0 - torch.exp(lme_marg)
        else:
            read = jmean - lme(marginal.clamp(-smile_tau, smile_tau))
        value = objective = js + (read - js).detach()
    else:
        raise ValueError(f"method {method!r} is not stacked; choose one of {', '.join(STACKED_METHODS)}")
    if remine_weight > 0 and method in ("mine", "dv", "smile"):
        objective = objective - remine_weight * (lme_marg - remine_target) ** 2
    return objective, value, new_ema


class CrossSelection:
    """Checkpoint selection and early stopping of K cross-fitted critics (pure bookkeeping).

    At every evaluation, :meth:`update` receives each critic's selection criteria on its own
    fold (a dict by state-dict prefix: ``{"": criterion}``, or MI-NEE's parts). Critic ``k``'s
    criterion for part ``p`` is the mean over ``j != k`` of critic ``j``'s; a new maximum makes
    the current step critic ``k``'s checkpoint for that part, and an improvement of more than
    ``min_delta[k]`` resets its patience. After ``patience`` evaluations without one, critic
    ``k`` is frozen (``stop_steps[k]`` records when); after ``idle_patience`` when it has not
    improved on its initial criterion yet. Critic ``k``'s own values never enter its criterion.

    Args:
        initial: the criteria at step 0 (the untrained critics), one dict per critic.
        patience: evaluations without improvement before a critic is frozen (``None``: never).
        min_delta: the smallest improvement (nats) that resets critic ``k``'s patience.
        idle_patience: the patience before a first improvement (``None``: ``patience``; see
            :attr:`neuralmi.training.TrainConfig.idle_patience`).
    """

    def __init__(
        self,
        initial: Sequence[dict[str, float]],
        patience: int | None,
        min_delta: Sequence[float],
        idle_patience: int | None = None,
    ) -> None:
        self.k = len(initial)
        if self.k < 2:
            raise ValueError("cross-fitted selection needs at least 2 critics")
        self.patience = patience
        self.idle_patience = idle_patience
        self.moved = [False] * self.k
        self.min_delta = list(min_delta)
        self.latest = [dict(c) for c in initial]
        crit = [self.criterion(k) for k in range(self.k)]
        # per critic, per part: [best criterion, its step, patience reference]
        self.best = [{p: [v, 0, v] for p, v in c.items()} for c in crit]
        self.since_best = [0] * self.k
        self.stop_steps: list[int | None] = [None] * self.k

    def criterion(self, k: int) -> dict[str, float]:
        """Critic ``k``'s criteria now: the mean of the other critics' latest ones, by part."""
        others = [self.latest[j] for j in range(self.k) if j != k]
        return {p: sum(o[p] for o in others) / len(others) for p in others[0]}

    @property
    def frozen(self) -> list[bool]:
        """Whether each critic is frozen."""
        return [s is not None for s in self.stop_steps]

    @property
    def best_steps(self) -> list[int]:
        """The step of each critic's checkpoint (the latest over its parts)."""
        return [max(rec[1] for rec in parts.values()) for parts in self.best]

    def update(self, step: int, criteria: Sequence[dict[str, float] | None]) -> list[list[str]]:
        """Record the criteria of step ``step`` (``None`` for a frozen critic: its last ones are
        kept) and return, per critic, the parts whose checkpoint is now this step."""
        for k, c in enumerate(criteria):
            if c is not None:
                self.latest[k] = dict(c)
        saved: list[list[str]] = [[] for _ in range(self.k)]
        for k in range(self.k):
            if self.stop_steps[k] is not None:
                continue
            improved = False
            for part, v in self.criterion(k).items():
                rec = self.best[k][part]
                if not math.isfinite(v):
                    continue
                if v > rec[0]:
                    rec[0], rec[1] = v, step
                    saved[k].append(part)
                if v > rec[2] + self.min_delta[k]:
                    rec[2], improved = v, True
            self.since_best[k] = 0 if improved else self.since_best[k] + 1
            self.moved[k] = self.moved[k] or improved
            limit = patience_limit(self.patience, self.idle_patience, self.moved[k])
            if limit is not None and self.since_best[k] >= limit:
                self.stop_steps[k] = step
        return saved


@dataclass
class CrossFitRun:
    """What :func:`train_crossfit` returns.

    Attributes:
        best_states: critic ``k``'s selected ``state_dict`` (chosen by the other critics' curves).
        best_steps: the step of each. stop_steps: when each critic was frozen (``None``: never).
        history: ``step``, ``train`` (mean over the critics still training of the bound on
            training batches since the previous evaluation, nats; ``None`` at step 0),
            ``heldout`` (mean over critics of each one's value on its own fold) and
            ``heldout_folds`` (per critic).
        steps: steps taken. stopped_early: every critic was frozen before ``max_steps``.
        diverged: a loss became NaN/inf (training stops; the selected checkpoints are kept).
        vectorised: the critics were trained as one stacked model (:class:`StackedConcat`).
        seconds: wall time.
    """

    best_states: list[dict[str, Tensor]]
    best_steps: list[int]
    stop_steps: list[int | None]
    history: dict[str, list[Any]] = field(default_factory=dict)
    steps: int = 0
    stopped_early: bool = False
    diverged: bool = False
    vectorised: bool = False
    seconds: float = 0.0


def _stack(modules: Sequence[MutualInformation]) -> StackedConcat | None:
    """The objectives' critics as one :class:`StackedConcat`, or ``None`` where their method,
    marginals or critics are not stacked."""
    m = modules[0]
    same = all(mod.method == m.method and mod.marginal == m.marginal for mod in modules)
    if not (same and m.method in STACKED_METHODS and m.marginal == "shuffle" and not m.distributed):
        return None
    return StackedConcat.from_critics([mod.critic for mod in modules])


def can_stack(modules: Sequence[MutualInformation]) -> bool:
    """Whether :func:`train_crossfit` can train these objectives as one vectorised model."""
    return _stack(modules) is not None


def _fixed_point_free(k: int, b: int, gen: torch.Generator) -> Tensor:
    """``(K, b)``: a random permutation of ``range(b)`` without fixed points per row (a shuffled
    cyclic shift, as :class:`~neuralmi.MutualInformation` draws its marginal pairs)."""
    order = torch.argsort(torch.rand(k, b, generator=gen), dim=1)
    shift = torch.randint(1, max(b, 2), (k, 1), generator=gen)
    src = (torch.arange(b)[None, :] - shift) % b
    perm = torch.empty_like(order)
    perm.scatter_(1, order, order.gather(1, src))
    return perm


def train_crossfit(
    modules: Sequence[MutualInformation],
    train_sets: Sequence[tuple[Tensor, Tensor]],
    heldout: Sequence[tuple[Tensor, Tensor]],
    config: TrainConfig,
    vectorise: bool = True,
) -> CrossFitRun:
    """Train K objectives in lockstep, critic ``k`` on ``train_sets[k]``, selected by the others.

    Args:
        modules: the K objectives (:class:`~neuralmi.MutualInformation`, one per fold).
        train_sets: ``(x_k, y_k)`` per critic, shapes ``(n_k, dim_x)``, ``(n_k, dim_y)``: the
            only rows critic ``k`` is trained on (the estimator passes the other folds' rows).
        heldout: ``(x_j, y_j)`` per critic: the rows of fold ``j`` on which critic ``j`` (only)
            is evaluated during training, for the other critics' selection.
        config: the loop's settings (batch size, lr, steps, evaluation period, patience, ...).
        vectorise: train as one stacked model when :func:`can_stack` allows (else looped).

    Returns:
        A :class:`CrossFitRun`; the modules are left in eval mode in an unspecified state (load
        ``best_states[k]`` into ``modules[k]``).
    """
    t0 = time.perf_counter()
    k_n = len(modules)
    if not (len(train_sets) == len(heldout) == k_n):
        raise ValueError("modules, train_sets and heldout need one entry per critic")
    device = train_sets[0][0].device
    sizes = [xs.shape[0] for xs, _ in train_sets]
    batch = min(config.batch_size, min(sizes))
    gen = torch.Generator().manual_seed(config.seed)
    stack = _stack(modules) if vectorise else None
    if stack is not None:
        stack = stack.to(device)
        log_ema = torch.full((k_n,), float("nan"), device=device, dtype=stack.weights[0].dtype)
        opt: Any = Adam(list(stack.parameters()), lr=config.lr, weight_decay=config.weight_decay)
        width = max(sizes)
        xs_all = torch.zeros((k_n, width, train_sets[0][0].shape[1]), dtype=train_sets[0][0].dtype, device=device)
        ys_all = torch.zeros((k_n, width, train_sets[0][1].shape[1]), dtype=train_sets[0][1].dtype, device=device)
        for k, (xs, ys) in enumerate(train_sets):
            xs_all[k, : sizes[k]], ys_all[k, : sizes[k]] = xs, ys
        # flat (K * width, d) tables: one index_select gathers all K batches (2-D advanced
        # indexing is several times slower on a CPU)
        xs_all, ys_all = xs_all.reshape(k_n * width, -1), ys_all.reshape(k_n * width, -1)
        n_k = torch.tensor(sizes, dtype=torch.float64)[:, None]
        offset = (torch.arange(k_n) * width)[:, None]
    else:
        opts = []
        for m in modules:
            params = [p for p in m.parameters() if p.requires_grad]
            opts.append((params, Adam(params, lr=config.lr, weight_decay=config.weight_decay) if params else None))

    def materialise(k: int) -> None:
        if stack is not None:
            stack.write_back(modules[k].critic, k)
            modules[k].log_ema.copy_(log_ema[k])

    def evaluate(k: int) -> Evaluation:
        materialise(k)
        mod = modules[k]
        mod.eval()
        xh, yh = heldout[k]
        with num_threads(config.eval_threads):
            e = mod.evaluate(xh, yh, n_shifts=config.select_shifts, batch_size=batch, seed=config.seed + 7919 * (k + 1))
        mod.train()
        return e

    history: dict[str, list[Any]] = {"step": [], "train": [], "heldout": [], "heldout_folds": []}
    evals = [evaluate(k) for k in range(k_n)]
    values = [e.value for e in evals]

    def record(step: int, train_value: float | None) -> None:
        history["step"].append(step)
        history["train"].append(train_value)
        history["heldout"].append(sum(values) / k_n)
        history["heldout_folds"].append(list(values))

    record(0, None)
    # the noise of critic k's criterion (a mean of K - 1 held-out values): a tenth of its
    # standard error is the smallest improvement that resets k's patience (as in train())
    se = [e.stderr if math.isfinite(e.stderr) else 0.0 for e in evals]
    min_delta = [
        max(1e-3, 0.1 * math.sqrt(sum(s**2 for j, s in enumerate(se) if j != k)) / (k_n - 1)) for k in range(k_n)
    ]
    selection = CrossSelection([_parts(e) for e in evals], config.patience, min_delta, config.idle_patience)
    initial = [copy.deepcopy(m.state_dict()) for m in modules]
    best_parts: list[dict[str, dict[str, Tensor]]] = [{} for _ in range(k_n)]

    bar = None
    if _show_progress(config.progress):
        from tqdm.auto import tqdm

        bar = tqdm(total=config.max_steps, desc=f"training {k_n} critics", unit="step", leave=False)

    running = torch.zeros(k_n, dtype=torch.float32 if device.type == "mps" else torch.float64, device=device)
    count = 0
    step = 0
    diverged = stopped_early = False
    for m in modules:
        m.train()
    while step < config.max_steps:
        active = [not f for f in selection.frozen]
        if stack is not None:
            rows = (torch.rand(k_n, batch, generator=gen, dtype=torch.float64) * n_k).long() + offset  # (K, B)
            shuffled = rows.gather(1, _fixed_point_free(k_n, batch, gen))  # the marginal pairs' y rows
            xb = xs_all.index_select(0, rows.reshape(-1).to(device)).reshape(k_n, batch, -1)
            yb = ys_all.index_select(0, torch.cat([rows, shuffled], 1).reshape(-1).to(device)).reshape(k_n, 2 * batch, -1)
            z = torch.cat([torch.cat([xb, xb], 1), yb], -1)  # (K, 2B, dx + dy): B joint rows, B marginal
            scores = stack(z)
            objective, value, log_ema_new = stacked_objective(
                modules[0].method, scores[:, :batch], scores[:, batch:], log_ema,
                modules[0].ema_rate, modules[0].smile_tau, modules[0].remine_weight, modules[0].remine_target,
            )
            log_ema = log_ema_new.detach()
            mask = torch.tensor(active, device=device)
            loss = -torch.where(mask, objective, torch.zeros_like(objective)).sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip is not None:
                for k in range(k_n):  # each critic's own gradient norm
                    grads = [p.grad[k] for p in stack.parameters() if p.grad is not None]
                    norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
                    scale = (config.grad_clip / (norm + 1e-6)).clamp(max=1.0)
                    for g in grads:
                        g.mul_(scale)
            opt.step()
            running += torch.where(mask, value.detach().to(running.dtype), torch.zeros_like(running))
        else:
            idx = (torch.rand(k_n, batch, generator=gen, dtype=torch.float64) * torch.tensor(sizes, dtype=torch.float64)[:, None]).long()
            for k, m in enumerate(modules):
                if not active[k]:
                    continue
                ik = idx[k].to(device)
                xs, ys = train_sets[k]
                loss_k, value_k = m.critic_loss(xs[ik], ys[ik], with_value=True)
                params, opt_k = opts[k]
                optimizer_step(opt_k, loss_k, params, config.grad_clip)
                running[k] += loss_k.detach().to(running.dtype) * 0 + value_k.to(running.dtype)
        step += 1
        count += 1
        if bar is not None:
            bar.update(1)
        if step % config.eval_every == 0 or step == config.max_steps:
            per_critic = (running / max(count, 1)).tolist()  # the one synchronisation per evaluation
            running.zero_()
            count = 0
            train_vals = [v for v, a in zip(per_critic, active) if a]
            if not all(math.isfinite(v) for v in train_vals):
                diverged = True
                break
            for k in range(k_n):
                if active[k]:
                    evals[k] = evaluate(k)
                    values[k] = evals[k].value
            record(step, sum(train_vals) / max(1, len(train_vals)))
            if not all(math.isfinite(evals[k].value) and math.isfinite(evals[k].criterion) for k in range(k_n) if active[k]):
                diverged = True
                break
            saved = selection.update(step, [_parts(evals[k]) if active[k] else None for k in range(k_n)])
            for k, parts in enumerate(saved):
                if parts:
                    state = modules[k].state_dict()  # critic k is materialised: it was just evaluated
                    for part in parts:
                        best_parts[k][part] = _part_state(state, part)
            if bar is not None:
                bar.set_postfix(heldout=f"{history['heldout'][-1]:.3f}")
            if all(selection.frozen):
                stopped_early = True
                break
    if bar is not None:
        bar.close()
    best_states = []
    for k in range(k_n):
        merged = dict(initial[k])
        for part_state in best_parts[k].values():
            merged.update(part_state)
        best_states.append(merged)
    for m in modules:
        m.eval()
    return CrossFitRun(
        best_states=best_states,
        best_steps=selection.best_steps,
        stop_steps=list(selection.stop_steps),
        history=history,
        steps=step,
        stopped_early=stopped_early,
        diverged=diverged,
        vectorised=stack is not None,
        seconds=time.perf_counter() - t0,
    )
