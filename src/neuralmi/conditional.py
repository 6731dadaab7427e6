r"""Conditional mutual information I(X; Y | Z): neural estimates with an interval, and baselines.

``neuralmi.estimate(x, y, z=z)`` lands here (:func:`estimate_conditional`). Two neural
strategies are implemented, both trained and read exactly as :func:`neuralmi.estimate` trains
and reads an MI estimate (one split into training rows and two held-out folds, the same
per-column transform, critics built by the same code, each fold read under the checkpoint the
*other* fold selected):

``strategy="chain"`` (the default; see ``docs/conditional.md`` for the measurements that chose it)
    The chain rule :math:`I(X;Y\mid Z) = I(X; Y,Z) - I(X; Z)`: two critics, one for each term, on
    the same split, and the two held-out bounds read on the *same* held-out rows with the *same*
    marginal pairs, so the interval is that of the difference: the standard error comes from
    each held-out sample's influence on the first term minus its influence on the second.
    Each term starts from its Gaussian-copula critic, so on Gaussian data (and monotone
    distortions of it) the estimate starts at the closed form.

``strategy="direct"``
    One bound of :math:`\mathrm{KL}(p(x,y,z) \,\|\, p(z)p(x\mid z)p(y\mid z))`, whose "marginal"
    samples pair each :math:`(x_i, z_i)` with the :math:`y_j` of one of the ``neighbours``
    nearest rows :math:`j` in Z (local permutation; the idea of CCMI and of Sen et al.'s
    model-powered CI test). With finitely many samples the neighbour's :math:`z_j` differs
    from :math:`z_i`, so the samples come from an approximate :math:`\tilde p(y\mid z)` and the
    bound estimates :math:`I(X;Y\mid Z) + \mathrm{KL}(p(y,z)\,\|\,p(z)\tilde p(y\mid z))`;
    ``correction=True`` (default) subtracts a second bound of that mismatch, read with the same
    neighbours. The critic starts from the Gaussian conditional log ratio
    :math:`\log \mathcal N(y\mid x,z) / \mathcal N(y\mid z)`. DV-type methods only (mine, dv, nwj).

Baselines: ``method="ksg"`` (:func:`neuralmi.ksg_cmi`, Frenzel–Pompe) and ``method="gaussian"``
(:func:`neuralmi.gaussian_cmi`). A discrete X or Y (``discrete=``) goes to
:func:`neuralmi.discrete.estimate_discrete_conditional` (classifier critics).

Every result is an :class:`~neuralmi.MIResult` whose ``mi`` is I(X; Y | Z) (negative raw values
reported as 0, with a warning); warnings go to ``result.warnings`` and through
:func:`warnings.warn`.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import asdict
from typing import Any

import numpy as np
import torch
from scipy.spatial import cKDTree
from torch import Tensor, nn

from . import bounds
from . import exceptions as W
from ._sklearn import SklearnTagsMixin
from ._validation import as_samples, check_choice, check_pair, check_positive_int, column_names, drop_constant
from .estimators import (
    MIN_SAMPLES,
    SELECT_MAX,
    NeuralEstimator,
    _duplicate_groups,
    _split,
    estimate,
    explicit_folds,
    read_folds,
    train_config,
    train_steps,
)
from .objectives import Evaluation, MutualInformation
from .preprocessing import fit_transform
from .result import MIResult
from .training import TrainConfig, resolve_device, train

__all__ = [
    "estimate_conditional",
    "ConditionalMI",
    "residualize",
    "LocalPermutationMI",
    "STRATEGIES",
    "DEFAULT_STRATEGY",
    "DIRECT_METHODS",
    "check_z",
    "cross_fit",
    "combine",
    "between_fold_stderr",
]

STRATEGIES = ("chain", "direct")
#: the strategy of ``neuralmi.estimate(x, y, z=z)``: the more accurate of the two on the
#: conditional task suite (docs/conditional.md)
DEFAULT_STRATEGY = "chain"
#: bounds the direct strategy can train (it needs a DV-type bound of per-row marginal scores)
DIRECT_METHODS = ("mine", "dv", "nwj")
BASELINE_METHODS = ("ksg", "gaussian")


def check_z(z: Any, n: int) -> np.ndarray:
    """``z`` as float64 ``(n, d_z)``; a ValueError/TypeError naming ``z`` otherwise (NaN/inf,
    strings, wrong shape, another number of rows than x and y)."""
    za = as_samples(z, "z")
    if za.shape[0] != n:
        raise ValueError(f"x, y and z must have the same number of samples (rows); got {n} (x, y) and {za.shape[0]} (z)")
    return za


def _emit(found: list[tuple[type[Warning], str]], stacklevel: int = 3) -> tuple[str, ...]:
    messages = tuple(dict.fromkeys(m for _, m in found))
    kinds = {m: k for k, m in found}
    for m in messages:
        warnings.warn(m, kinds[m], stacklevel=stacklevel)
    return messages


# ---------------------------------------------------------------------------------------------
# The direct strategy's objective: marginal samples by nearest-neighbour local permutation
# ---------------------------------------------------------------------------------------------


def _neighbours(z: np.ndarray, k: int) -> np.ndarray:
    """For each row, the indices ``(n, k)`` of its ``k`` nearest other rows in ``z`` (Euclidean)."""
    n = z.shape[0]
    k = min(k, n - 1)
    _, idx = cKDTree(z).query(z, k=k + 1)
    idx = np.asarray(idx).reshape(n, k + 1)
    own = idx == np.arange(n)[:, None]
    out = np.empty((n, k), dtype=np.int64)
    for i in range(n):  # drop the row itself (usually the first column; not always with duplicates)
        row = idx[i][~own[i]]
        out[i] = row[:k]
    return out


def _pack(y: np.ndarray, nb: np.ndarray) -> np.ndarray:
    """``[y, y of neighbour 1, ..., y of neighbour K, the K neighbour indices]`` per row."""
    n, dy = y.shape
    return np.hstack([y, y[nb].reshape(n, -1), nb.astype(np.float64)])


class _MinusCritic(nn.Module):
    """``critic(a, y) − sub(a[:, cols], y)``: with the Gaussian critics of ``([x, z], y)`` and
    ``(z, y)`` this is the Gaussian conditional log ratio ``log N(y | x, z) / N(y | z)``."""

    def __init__(self, critic: nn.Module, sub: nn.Module, start: int) -> None:
        super().__init__()
        self.critic, self.sub, self.start = critic, sub, int(start)

    def forward(self, a: Tensor, y: Tensor) -> Tensor:
        return self.critic(a, y) - self.sub(a[:, self.start :], y)


class LocalPermutationMI(nn.Module):
    r"""A DV-type bound of :math:`\mathrm{KL}(P_{A,Y} \,\|\, P_A \otimes \tilde P_{Y\mid Z})` whose
    marginal samples pair each ``a_i`` with the ``y`` of one of its ``K`` nearest rows in Z.

    It implements :class:`neuralmi.interface.Objective`, so :func:`neuralmi.training.train`
    trains it. Its second input is packed per row by :func:`_pack`: ``[y, y_nb1..y_nbK,
    nb1..nbK]`` (the neighbours' ``y`` and their row indices in the same set), computed once
    for the training rows and once per held-out fold.

    Args:
        critic: ``forward(a, y) -> (B,)``.
        dim_y: columns of ``y``.
        n_neighbours: ``K``.
        method: ``"mine"`` (DV value, moving-average gradient), ``"dv"`` or ``"nwj"``.
        ema_rate: MINE's moving-average weight.
        seed: seeds the choice of neighbour per row in training.
    """

    def __init__(self, critic: nn.Module, dim_y: int, n_neighbours: int, method: str = "mine", ema_rate: float = 0.01, seed: int = 0) -> None:
        super().__init__()
        self.critic = critic
        self.dim_y, self.k = int(dim_y), int(n_neighbours)
        self.method = check_choice(method, "method", DIRECT_METHODS)
        self.ema_rate = bounds.check_rate(ema_rate, "ema_rate")
        self.register_buffer("log_ema", torch.tensor(float("nan")))
        self._gen = torch.Generator().manual_seed(int(seed))

    def _unpack(self, b: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        dy, k = self.dim_y, self.k
        y = b[:, :dy]
        ynb = b[:, dy : dy * (k + 1)].reshape(b.shape[0], k, dy)
        idx = b[:, dy * (k + 1) :].round().long()
        return y, ynb, idx

    def critic_loss(self, a: Tensor, b: Tensor, with_value: bool = False) -> Any:
        """Minus the bound on a batch (and its value with ``with_value=True``)."""
        y, ynb, _ = self._unpack(b)
        pick = torch.randint(0, self.k, (a.shape[0],), generator=self._gen).to(a.device)
        ym = ynb[torch.arange(a.shape[0], device=a.device), pick]
        both = self.critic(torch.cat([a, a]), torch.cat([y, ym]))
        joint, marg = both[: a.shape[0]], both[a.shape[0] :]
        if self.method == "nwj":
            value = bounds.nwj(joint, marg)
        elif self.method == "dv":
            value = bounds.dv(joint, marg)
        else:
            log_ema = None if torch.isnan(self.log_ema) else self.log_ema
            new = bounds.update_log_ema(log_ema, marg, self.ema_rate)
            if self.training:
                self.log_ema.copy_(new)
            value = bounds.mine(joint, marg, new)
        if with_value:
            return -value, value.detach()
        return -value

    @torch.no_grad()
    def evaluate(self, a: Tensor, b: Tensor, n_shifts: int = 0, batch_size: int = 0, seed: int | None = None) -> Evaluation:
        """The bound on a held-out set (every row with all its ``K`` neighbours) and each row's
        influence on it (as the ``(a, z)`` side and as a neighbour's ``y``). ``n_shifts``,
        ``batch_size`` and ``seed`` are accepted for the loop's interface and not needed."""
        y, ynb, idx = self._unpack(b)
        n = a.shape[0]
        joint = self.critic(a, y).detach().to("cpu", torch.float64)
        marg = torch.stack([self.critic(a, ynb[:, j]) for j in range(self.k)], dim=1).detach().to("cpu", torch.float64)
        c = marg.max()
        e = torch.exp(marg - c)
        big_m = e.mean()
        jmean = joint.mean()
        row = e.mean(dim=1)
        col = torch.zeros(n, dtype=e.dtype)
        uses = torch.zeros(n, dtype=e.dtype)
        idx = idx.to("cpu")
        ok = (idx >= 0) & (idx < n)  # (a truncated selection fold may point past its end)
        col.index_add_(0, idx[ok], e[ok])
        uses.index_add_(0, idx[ok], torch.ones_like(e[ok]))
        # each row's share of the pairs' mean: as the (a, z) side (K pairs each) and as the
        # neighbour whose y is used (as often as it is someone's neighbour)
        psi = (row - big_m) + (col - uses * big_m) / self.k
        if self.method == "nwj":
            scale = torch.exp(c - 1.0)
            value = jmean - big_m * scale
            infl = (joint - jmean) - psi * scale
        else:
            value = jmean - (torch.log(big_m) + c)
            infl = (joint - jmean) - psi / big_m
        return Evaluation(float(value), infl.numpy(), n)


# ---------------------------------------------------------------------------------------------
# Residualisation on Z: an exact, CMI-preserving change of variables
# ---------------------------------------------------------------------------------------------


class _Regression(nn.Module):
    """``m(z) = z W + b + net(z)``: least squares plus an MLP residual that starts at zero,
    trained by mean squared error (an :class:`neuralmi.interface.Objective` whose value is
    minus the mean squared error per output, so higher is better)."""

    def __init__(self, z: np.ndarray, t: np.ndarray, hidden: tuple[int, ...], activation: str) -> None:
        super().__init__()
        from .critics import mlp

        design = np.hstack([z, np.ones((z.shape[0], 1))])
        coef = np.linalg.lstsq(design, t, rcond=None)[0]
        self.register_buffer("weight", torch.as_tensor(coef[:-1], dtype=torch.float32))
        self.register_buffer("bias", torch.as_tensor(coef[-1], dtype=torch.float32))
        self.net = mlp(z.shape[1], hidden, t.shape[1], activation, zero_last=True)

    def forward(self, z: Tensor) -> Tensor:
        return z @ self.weight + self.bias + self.net(z)

    def critic_loss(self, z: Tensor, t: Tensor, with_value: bool = False) -> Any:
        loss = ((self(z) - t) ** 2).mean()
        return (loss, -loss.detach()) if with_value else loss

    @torch.no_grad()
    def evaluate(self, z: Tensor, t: Tensor, n_shifts: int = 0, batch_size: int = 0, seed: int | None = None) -> Evaluation:
        err = ((self(z) - t) ** 2).mean(dim=1).double().cpu()
        return Evaluation(float(-err.mean()), (err.mean() - err).numpy(), int(err.shape[0]))


def residualize(
    tx: np.ndarray, ty: np.ndarray, tz: np.ndarray, tr: np.ndarray, cfg: Any, device: torch.device
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    r"""``x − m_x(z)`` and ``y − m_y(z)`` for regressions ``m`` fitted on the training rows ``tr``.

    For every fixed ``z`` the map ``x ↦ x − m_x(z)`` is a translation, a bijection of X, so
    :math:`I(X - m_x(Z); Y - m_y(Z) \mid Z) = I(X; Y \mid Z)` exactly, whatever ``m`` is: the
    regression cannot bias the estimate, only make the rest of the work easier (when Z acts on
    X and Y additively, the residuals are nearly independent of Z and the Gaussian-copula
    critics see the conditional dependence directly). ``m`` is least squares plus an MLP
    residual, trained on 85 % of the training rows and stopped on the other 15 % (the held-out
    folds are never touched).
    """
    targets = np.hstack([tx, ty])
    scale = targets[tr].std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    rng = np.random.default_rng(cfg.seed + 31)
    order = tr[rng.permutation(tr.shape[0])]
    n_val = max(2, int(round(0.15 * order.shape[0])))
    val, fit = order[:n_val], order[n_val:]
    model = _Regression(tz[fit], targets[fit] / scale, cfg.hidden, cfg.activation).to(device)

    def tens(a: np.ndarray) -> Tensor:
        return torch.as_tensor(a, dtype=torch.float32, device=device)

    zt, tt = tens(tz), tens(targets / scale)
    steps = cfg.steps if cfg.epochs is None else max(1, math.ceil(cfg.epochs * len(fit) / 512))
    tcfg = TrainConfig(
        batch_size=min(512, len(fit)), lr=cfg.lr, max_steps=steps, eval_every=min(50, steps), patience=4,
        idle_patience=None, weight_decay=cfg.weight_decay, seed=cfg.seed + 31, progress=cfg.progress,
    )
    run = train(model, zt[fit], tt[fit], [(zt[val], tt[val])], tcfg)
    model.load_state_dict(run.best_states[0])
    model.eval()
    with torch.no_grad():
        pred = model(zt).double().cpu().numpy() * scale
    res = targets - pred
    dx = tx.shape[1]
    return res[:, :dx], res[:, dx:], {"steps": run.steps, "selected_step": run.best_steps[0]}


# ---------------------------------------------------------------------------------------------
# One cross-fitted term
# ---------------------------------------------------------------------------------------------


def cross_fit(
    module: nn.Module,
    train_set: tuple[Tensor, Tensor],
    folds: list[tuple[Tensor, Tensor]],
    cfg: Any,
    batch: int,
    eval_threads: int | None = None,
) -> dict[str, Any]:
    """Train an objective as :func:`neuralmi.estimate` trains a critic, and read it honestly.

    ``module`` (an :class:`neuralmi.interface.Objective`) is trained on ``train_set`` with the
    loop's settings from ``cfg`` (an :class:`~neuralmi.EstimatorConfig`), selecting checkpoints
    on both held-out ``folds``; then fold ``k`` is read under the checkpoint (and the stopping
    time) that the other fold chose, with the read-out seed of fold ``k`` (so two terms read on
    the same rows use the same marginal pairs). A module without trainable parameters is only
    read. ``eval_threads``: torch's CPU threads for the held-out evaluations (``None``: as set).

    Returns:
        ``{"evals": [Evaluation per fold], "steps": steps taken, "history": ..., "diverged": bool}``.
    """
    steps = train_steps(cfg, train_set[0].shape[0], batch)
    trainable = any(p.requires_grad for p in module.parameters())
    if trainable:
        tcfg = train_config(cfg, batch, steps, steps, eval_threads)
        select = [(af[:SELECT_MAX], bf[:SELECT_MAX]) for af, bf in folds]
        run = train(module, train_set[0], train_set[1], select, tcfg)
        states, steps_taken, history, diverged = run.best_states, run.steps, run.history, run.diverged
    else:
        state = {k: v.clone() for k, v in module.state_dict().items()}
        states, steps_taken, history, diverged = [state, state], 0, {}, False
    evals = read_folds([(module, states[1 - k], af, bf) for k, (af, bf) in enumerate(folds)], cfg, batch, eval_threads)
    history = {k: v for k, v in history.items() if k in ("step", "train", "heldout")}
    return {"evals": evals, "steps": steps_taken, "history": history, "diverged": diverged}


def between_fold_stderr(values: Any, stderrs: Any, weights: Any) -> float:
    """Standard error of ``sum(weights * values)`` when each fold was read by its own critic.

    Within a fold, ``stderrs`` is the held-out sampling noise. Folds read by different critics
    (selected on different data) can also differ because the critics differ; that variance,
    ``tau²``, is estimated by DerSimonian–Laird's method of moments from how much more the fold
    values disagree than their own errors allow (0 when they agree within them), and added to
    each fold's variance. So the interval widens exactly when the folds disagree beyond noise.
    """
    v, se, w = (np.asarray(a, dtype=float) for a in (values, stderrs, weights))
    se = np.maximum(se, 1e-12)
    prec = 1.0 / se**2
    centre = float(np.sum(prec * v) / np.sum(prec))
    q = float(np.sum(prec * (v - centre) ** 2))
    denom = float(np.sum(prec) - np.sum(prec**2) / np.sum(prec))
    tau2 = max(0.0, (q - (v.shape[0] - 1)) / denom) if denom > 0 else 0.0
    return float(math.sqrt(np.sum(w**2 * (se**2 + tau2))))


def combine(runs: list[tuple[str, float, dict[str, Any]]]) -> tuple[float, float, list[float], list[float], int]:
    """The signed sum of cross-fitted terms read on the same held-out rows: ``(value, stderr,
    fold values, fold stderrs, held-out rows)``. Each row's influence on the sum is the signed
    sum of its influences on the terms, so the standard error is that of the difference; the
    two folds, read by different critics, add their between-fold variance when they disagree
    beyond their noise (:func:`between_fold_stderr`)."""
    fold_values, fold_se, sizes = [], [], []
    for k in range(2):
        value = sum(sign * run["evals"][k].value for _, sign, run in runs)
        infl = sum(sign * run["evals"][k].influence for _, sign, run in runs)
        n_k = runs[0][2]["evals"][k].n
        fold_values.append(float(value))
        fold_se.append(float(np.std(infl, ddof=1) / math.sqrt(n_k)) if n_k > 1 else float("inf"))
        sizes.append(n_k)
    w = np.array(sizes, dtype=float) / sum(sizes)
    raw = float(np.dot(w, fold_values))
    stderr = between_fold_stderr(fold_values, fold_se, w)
    return raw, stderr, fold_values, fold_se, int(sum(sizes))


# ---------------------------------------------------------------------------------------------
# The estimator
# ---------------------------------------------------------------------------------------------


class ConditionalMI(SklearnTagsMixin):
    """Neural conditional MI I(X; Y | Z) (scikit-learn style): ``ConditionalMI().fit(x, y, z).mi_``.

    Args:
        method: the neural bound (``"mine"`` default; any of :data:`neuralmi.METHODS` for
            ``strategy="chain"``, :data:`DIRECT_METHODS` for ``"direct"``).
        critic: as in :func:`neuralmi.estimate` (a name, or a factory ``f(dim_a, dim_b)``, which
            is called once per term; an ``nn.Module`` instance cannot serve two terms of
            different input sizes and is refused).
        strategy: ``"chain"`` (default) or ``"direct"`` (module docstring).
        neighbours: ``"direct"`` only: the ``K`` nearest rows in Z whose ``y`` serve as
            marginal samples (default 5).
        correction: ``"direct"`` only: subtract the bound of the neighbour mismatch (default True).
        residualize: replace x and y by ``x − m_x(z)`` and ``y − m_y(z)`` first (regressions
            fitted on the training rows; the CMI is unchanged exactly, see :func:`residualize`).
            Off by default: it helped and hurt in equal measure on the conditional suite, at
            twice the time (docs/conditional.md).
        **options: any field of :class:`~neuralmi.EstimatorConfig` (``steps``, ``seed``, ...).

    Fitted attributes: ``mi_``, ``stderr_``, ``result_`` (an :class:`~neuralmi.MIResult`; its
    ``config`` holds the terms' values under ``"terms"``), ``n_features_in_x_``, ``_y_``, ``_z_``.
    """

    def __init__(
        self,
        method: str = "mine",
        critic: Any = "auto",
        strategy: str = DEFAULT_STRATEGY,
        neighbours: int = 5,
        correction: bool = True,
        residualize: bool = False,
        **options: Any,
    ) -> None:
        self._params = {
            "method": method, "critic": critic, "strategy": strategy, "neighbours": neighbours,
            "correction": correction, "residualize": residualize, **options,
        }
        self._configure()

    def _configure(self) -> None:
        p = dict(self._params)
        self.strategy = check_choice(p.pop("strategy"), "strategy", STRATEGIES)
        self.neighbours = check_positive_int(p.pop("neighbours"), "neighbours", minimum=1)
        correction = p.pop("correction")
        if not isinstance(correction, (bool, np.bool_)):
            raise TypeError(f"correction must be a bool; got {type(correction).__name__}")
        self.correction = bool(correction)
        resid = p.pop("residualize")
        if not isinstance(resid, (bool, np.bool_)):
            raise TypeError(f"residualize must be a bool; got {type(resid).__name__}")
        self.residualize = bool(resid)
        critic = p.pop("critic")
        if isinstance(critic, nn.Module):
            raise TypeError(
                "conditional MI trains one critic per term, with different input sizes: pass a critic "
                "name or a factory f(dim_a, dim_b) -> nn.Module, not a module instance"
            )
        self._estimator = NeuralEstimator(method=p.pop("method"), critic=critic, **p)
        self.config = self._estimator.config
        if explicit_folds(self.config.folds):
            raise ValueError(
                "folds= (K-fold cross-fitting) is for I(X;Y) only; conditional MI trains on one "
                "training part and reads two held-out folds: leave folds=None"
            )
        if self.strategy == "direct":
            check_choice(self.config.method, "method (strategy 'direct')", DIRECT_METHODS)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Every setting as given (defaults for those not given)."""
        out = {"strategy": DEFAULT_STRATEGY, "neighbours": 5, "correction": True, "residualize": False}
        out.update(self._estimator.get_params(deep))
        out.update(self._params)
        return out

    def set_params(self, **params: Any) -> "ConditionalMI":
        old = self._params
        self._params = {**old, **params}
        try:
            self._configure()
        except (TypeError, ValueError):
            self._params = old
            raise
        return self

    def __repr__(self) -> str:
        shown = {k: v for k, v in self._params.items() if k not in ("method", "critic") or v not in ("mine", "auto")}
        return "ConditionalMI(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"

    # ------------------------------------------------------------------------------------------
    def fit(self, x: Any, y: Any, z: Any) -> "ConditionalMI":
        """Estimate I(X; Y | Z) from ``x`` (n, d_x), ``y`` (n, d_y), ``z`` (n, d_z); returns self.
        Warnings go to ``result_.warnings`` and through :func:`warnings.warn`."""
        previous = torch.get_num_threads()
        try:
            with torch.random.fork_rng(devices=[]):
                torch.default_generator.manual_seed(int(self.config.seed))
                found = self._fit(x, y, z)
        finally:
            torch.set_num_threads(previous)
        _emit(found, stacklevel=3)
        return self

    def _fit(self, x: Any, y: Any, z: Any) -> list[tuple[type[Warning], str]]:
        t0 = time.perf_counter()
        cfg = self.config
        names = {side: column_names(a, side) for side, a in (("x", x), ("y", y), ("z", z))}
        xa, ya = check_pair(x, y, min_samples=MIN_SAMPLES)
        za = check_z(z, xa.shape[0])
        self.n_features_in_x_, self.n_features_in_y_, self.n_features_in_z_ = xa.shape[1], ya.shape[1], za.shape[1]
        found: list[tuple[type[Warning], str]] = []
        xa, _, msg_x = drop_constant(xa, "x", "the estimate")
        ya, _, msg_y = drop_constant(ya, "y", "the estimate")
        za, _, msg_z = drop_constant(za, "z", "the estimate")
        found += [(W.ConstantColumnWarning, m) for m in (msg_x, msg_y) if m is not None]
        config: dict[str, Any] = {**asdict(cfg), "strategy": self.strategy}
        for side, cols in names.items():
            if cols is not None:
                config[f"columns_{side}"] = cols
        if xa.shape[1] == 0 or ya.shape[1] == 0:
            self._set(0.0, 0.0, config, found, t0, 0, xa.shape[0])
            return found
        if za.shape[1] == 0:  # conditioning on a constant is conditioning on nothing
            found.append((W.ConstantColumnWarning, msg_z.replace("returns MI = 0", "returns I(X;Y), conditioning on nothing")))
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                res = estimate(xa, ya, method=cfg.method, critic=self._params["critic"], **self._options())
            found += [(w.category, str(w.message)) for w in caught]
            config["terms"] = {"I(X;Y)": res.mi}
            self._set(res.mi, res.stderr, config, found, t0, res.n_train, res.n_test, res.certified)
            return found
        if msg_z is not None:
            found.append((W.ConstantColumnWarning, msg_z))

        est = self._estimator
        device = resolve_device(cfg.device)
        # copies of a row stay on one side of every split (as in neuralmi.estimate)
        groups = _duplicate_groups(np.hstack([xa, za]), ya)
        tr, fa, fb = _split(xa.shape[0], cfg.test_size, cfg.seed, groups)
        tx, ty, tz = (fit_transform(a[tr], cfg.transform)(a) for a in (xa, ya, za))
        if self.residualize:  # x - m(z), y - m(z): the same CMI, less for the critics to learn
            tx, ty, config["residualize"] = residualize(tx, ty, tz, tr, cfg, device)
            tx, ty = (fit_transform(a[tr], cfg.transform)(a) for a in (tx, ty))
        batch = est._batch_size(len(tr))
        if self.strategy == "chain":
            terms = [
                ("I(X;Y,Z)", +1.0, self._mi_module(tx, np.hstack([ty, tz]), tr, device), tx, np.hstack([ty, tz])),
                ("I(X;Z)", -1.0, self._mi_module(tx, tz, tr, device), tx, tz),
            ]
            runs = [(label, sign, self._run(module, a, b, tr, (fa, fb), batch, device)) for label, sign, module, a, b in terms]
        else:
            runs = self._direct(tx, ty, tz, tr, (fa, fb), batch, device)

        # the difference, fold by fold, with each held-out row's influence on it
        raw, stderr, fold_values, fold_se, n_test = combine(runs)
        w = np.array([len(fa), len(fb)], dtype=float) / (len(fa) + len(fb))
        found += self._diagnose(raw, stderr, fold_values, fold_se, runs, n_test)
        config.update(
            batch_size=batch,
            device=str(device),
            fold_values=fold_values,
            raw_value=raw,
            terms={label: float(np.dot(w, [e.value for e in run["evals"]])) for label, _, run in runs},
            term_steps={label: run["steps"] for label, _, run in runs},
            term_history={label: run["history"] for label, _, run in runs},
        )
        if self.strategy == "direct":
            config.update(neighbours=self.neighbours, correction=self.correction)
        # a term beyond what the held-out rows can certify makes the difference unreliable too
        certified = all(v <= math.log(n_test) - 1.0 for v in config["terms"].values())
        self._set(max(0.0, raw), stderr, config, found, t0, len(tr), n_test, certified)
        return found

    def _options(self) -> dict[str, Any]:
        own = ("method", "critic", "strategy", "neighbours", "correction", "residualize")
        return {k: v for k, v in self._params.items() if k not in own}

    def _set(
        self, mi: float, stderr: float | None, config: dict[str, Any], found: list, t0: float, n_train: int, n_test: int,
        certified: bool = True,
    ) -> None:
        self.mi_, self.stderr_ = mi, stderr
        self.result_ = MIResult(
            mi=mi,
            stderr=stderr,
            method=self.config.method,
            config=config,
            seconds=time.perf_counter() - t0,
            n_train=n_train,
            n_test=n_test,
            warnings=tuple(dict.fromkeys(m for _, m in found)),
            certified=certified,
        )

    # ------------------------------------------------------------------------------------------
    def _mi_module(self, a: np.ndarray, b: np.ndarray, tr: np.ndarray, device: torch.device) -> MutualInformation:
        cfg = self.config
        critic = self._estimator._build_critic(a[tr], b[tr])
        module = MutualInformation(
            a.shape[1], b.shape[1], method=cfg.method, critic=critic, hidden=cfg.hidden, activation=cfg.activation,
            marginal=cfg.marginal, ema_rate=cfg.ema_rate, smile_tau=cfg.smile_tau, remine_weight=cfg.remine_weight,
            remine_target=cfg.remine_target, seed=cfg.seed,
        ).to(device)
        if cfg.method == "minee":
            module.fit_reference(torch.as_tensor(a[tr], dtype=torch.float32, device=device), torch.as_tensor(b[tr], dtype=torch.float32, device=device))
        return module

    def _run(
        self,
        module: nn.Module,
        a: np.ndarray,
        b: np.ndarray,
        tr: np.ndarray,
        folds: tuple[np.ndarray, np.ndarray],
        batch: int,
        device: torch.device,
        packed: tuple[np.ndarray, list[np.ndarray]] | None = None,
    ) -> dict[str, Any]:
        """:func:`cross_fit` on the rows ``tr`` and ``folds`` of ``a`` and ``b``. ``packed``: the
        second input for the training rows and for each fold, when it is not simply ``b``
        restricted to those rows (the direct strategy)."""

        def tens(arr: np.ndarray) -> Tensor:
            return torch.as_tensor(arr, dtype=torch.float32, device=device)

        b_train, b_folds = (b[tr], [b[f] for f in folds]) if packed is None else packed
        eval_threads = self._estimator._threads(module, batch, device, min(len(f) for f in folds))
        return cross_fit(
            module,
            (tens(a[tr]), tens(b_train)),
            [(tens(a[f]), tens(bf)) for f, bf in zip(folds, b_folds)],
            self.config,
            batch,
            eval_threads,
        )

    def _direct(
        self, tx: np.ndarray, ty: np.ndarray, tz: np.ndarray, tr: np.ndarray, folds: tuple[np.ndarray, np.ndarray], batch: int, device: torch.device
    ) -> list[tuple[str, float, dict[str, Any]]]:
        cfg = self.config
        k = min(self.neighbours, min(len(f) for f in folds) - 1)
        packed = (_pack(ty[tr], _neighbours(tz[tr], k)), [_pack(ty[f], _neighbours(tz[f], k)) for f in folds])
        a = np.hstack([tx, tz])
        # critic: the Gaussian conditional log ratio log N(y|x,z)/N(y|z) plus a residual network
        critic = self._estimator._build_critic(a[tr], ty[tr])
        if cfg.gaussian_baseline and cfg.critic in ("concat", "separable", "bilinear", "gaussian"):
            sub = NeuralEstimator(critic="gaussian", **self._options())._build_critic(tz[tr], ty[tr])
            critic = _MinusCritic(critic, sub, tx.shape[1])
        main = LocalPermutationMI(critic, ty.shape[1], k, cfg.method, cfg.ema_rate, cfg.seed).to(device)
        runs = [("KL(p || p(x,z) p~(y|z))", +1.0, self._run(main, a, ty, tr, folds, batch, device, packed))]
        if self.correction:
            hidden = cfg.hidden
            from .critics import make_critic

            net = make_critic("concat", tz.shape[1], ty.shape[1], hidden, cfg.activation, zero_init=True)
            corr = LocalPermutationMI(net, ty.shape[1], k, cfg.method, cfg.ema_rate, cfg.seed + 1).to(device)
            runs.append(("KL(p(y,z) || p(z) p~(y|z))", -1.0, self._run(corr, tz, ty, tr, folds, batch, device, packed)))
        return runs

    def _diagnose(
        self, raw: float, stderr: float, fold_values: list[float], fold_se: list[float], runs: list, n_test: int
    ) -> list[tuple[type[Warning], str]]:
        out: list[tuple[type[Warning], str]] = []
        if any(run["diverged"] for _, _, run in runs):
            out.append((W.DivergenceWarning, "training of a term diverged (the loss became NaN or infinite); the estimate uses its last good checkpoint. Try a smaller lr"))
        big = [(label, float(np.mean([e.value for e in run["evals"]]))) for label, _, run in runs]
        big = [(label, v) for label, v in big if v > math.log(n_test) - 1.0]
        if big:
            label, v = big[0]
            out.append((W.UncertifiableWarning,
                f"the term {label} ({v:.2f} nats) is within 1 nat of log(held-out samples) = {math.log(n_test):.2f}: "
                "a sample of this size cannot certify that much information, so the difference is not certified "
                "(no finite interval)"))
        if abs(fold_values[0] - fold_values[1]) > 4 * math.hypot(*fold_se) + 0.05:
            out.append((W.UnstableEstimateWarning,
                f"the two held-out folds disagree ({fold_values[0]:.3f} vs {fold_values[1]:.3f}) more than their "
                "error bars allow: the estimate is unstable (heavy tails or too few samples)"))
        if raw < -2.0 * stderr:
            # clearly below zero, beyond its error bar: not sampling noise around 0 but the two
            # terms' gaps to the truth differing (each is a lower bound with its own gap)
            out.append((W.NegativeEstimateWarning,
                f"the held-out estimate was {raw:.4f} nats, {-raw / max(stderr, 1e-12):.1f} standard errors below "
                "zero; conditional MI cannot be negative, so 0 is reported. A difference this far below zero is "
                "not noise: the two terms' bounds fall short of the truth by different amounts, so the difference "
                "is biased here and 0 is a floor, not evidence of conditional independence"))
        elif raw < 0:
            out.append((W.NegativeEstimateWarning,
                f"the held-out estimate was {raw:.4f} nats (below zero); conditional MI cannot be negative, so 0 is "
                "reported: the data show no conditional dependence the critics could find"))
        return out


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


def _baseline_cmi(x: Any, y: Any, z: Any, method: str, options: dict[str, Any]) -> MIResult:
    from .nonparametric import KSGCMI, GaussianCMI

    t0 = time.perf_counter()
    cls = KSGCMI if method == "ksg" else GaussianCMI
    try:
        est = cls(**options)
    except TypeError as exc:
        raise TypeError(f"bad option for method {method!r} with z: {exc}") from None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(x, y, z)
    found = [(w.category, str(w.message)) for w in caught]
    config: dict[str, Any] = {"method": method, "conditional": True, **est.get_params()}
    for side, a in (("x", x), ("y", y), ("z", z)):
        cols = column_names(a, side)
        if cols is not None:
            config[f"columns_{side}"] = cols
    n = check_pair(x, y, min_samples=1)[0].shape[0]
    messages = _emit(found, stacklevel=4)
    return MIResult(mi=est.mi_, stderr=est.stderr_, method=method, config=config, seconds=time.perf_counter() - t0, n_train=0, n_test=n, warnings=messages)


def estimate_conditional(
    x: Any,
    y: Any,
    z: Any,
    method: str = "mine",
    critic: Any = "auto",
    discrete: str | None = None,
    **options: Any,
) -> MIResult:
    r"""Estimate the conditional MI I(X; Y | Z) in nats, with an interval and diagnostics.

    What ``neuralmi.estimate(x, y, z=z, ...)`` calls.

    Args:
        x, y, z: ``(n, d_x)``, ``(n, d_y)``, ``(n, d_z)`` arrays, tensors, DataFrames or Series
            (1-D means one column); rows are joint samples.
        method: a neural bound (``"mine"`` default, any of :data:`neuralmi.METHODS`), or
            ``"ksg"`` (:func:`neuralmi.ksg_cmi`) or ``"gaussian"`` (:func:`neuralmi.gaussian_cmi`).
        critic: as for :func:`neuralmi.estimate` (names or a factory).
        discrete: ``"x"``, ``"y"`` or ``"xy"`` when X and/or Y are discrete (labels, categories):
            classifier critics, :func:`neuralmi.discrete.estimate_discrete_conditional`.
        **options: ``strategy`` (``"chain"`` default, or ``"direct"``), ``neighbours`` and
            ``correction`` (direct only), ``residualize``, and any field of
            :class:`~neuralmi.EstimatorConfig`;
            for the baselines their own arguments (``k`` for KSG).

    Returns:
        An :class:`~neuralmi.MIResult` (``mi`` is the conditional MI; ``config["terms"]`` the
        neural terms' values).

    Raises:
        ValueError: NaN/inf in x, y or z; different numbers of rows; too few samples; unknown
            options or methods.

    Example:
        >>> import neuralmi
        >>> task = neuralmi.tasks.chain_gaussian(dim_z=3)        # X -> Z -> Y: I(X;Y|Z) = 0
        >>> x, y, z = task.sample(3000, seed=0)
        >>> res = neuralmi.estimate(x, y, z=z, seed=0, steps=300)
        >>> lo, hi = res.ci(0.95); lo <= 0.0 <= hi
        True
    """
    if not isinstance(method, str):
        raise TypeError(f"method must be a string; got {type(method).__name__}")
    if discrete is not None:
        from .discrete import estimate_discrete_conditional

        return estimate_discrete_conditional(x, y, z, discrete=discrete, method=method, critic=critic, **options)
    if method in BASELINE_METHODS:
        if critic != "auto":
            raise TypeError(f"critic applies to the neural methods, not to method {method!r}")
        return _baseline_cmi(x, y, z, method, options)
    est = ConditionalMI(method=method, critic=critic, **options)
    return est.fit(x, y, z).result_
