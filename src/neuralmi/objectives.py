r"""The trainable MI objective: a critic, a bound and the bound's state, as one ``nn.Module``.

:class:`MutualInformation` is the building block shared by the estimators (which train it to a
fitted estimate) and by users who put MI inside their own training loop (see
:mod:`neuralmi.regularizers`). It owns

- the critic :math:`T(x, y)` (any ``nn.Module`` with ``forward(x, y) -> (B,)`` scores),
- which bound it optimises (``method``, a key of :data:`METHODS`),
- the bound's state: MINE's moving average of :math:`\mathbb{E}_{P_X\otimes P_Y}[e^T]` (a buffer,
  saved in ``state_dict``) and TUBA's learned baseline (a parameter),
- how marginal samples are drawn (in-batch shuffling or all pairs).

It has three entry points, kept apart so that gradients never mix by accident:

- ``forward(x, y)``: a differentiable MI estimate (nats) for the user's loss. It carries the
  method's training gradient (MINE's bias-corrected one, for instance) to ``x``, ``y`` and the
  critic, and does not change the moving average.
- ``critic_loss(x, y)``: the loss to *minimise* for the critic's own optimiser (minus the bound,
  plus any penalty); it updates the moving average when the module is in training mode.
- ``evaluate(x, y)``: the bound on held-out samples, without gradients, with each sample's
  influence on it (for a standard error).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, overload

import numpy as np
import torch
from torch import Tensor, nn

from . import bounds
from ._validation import check_choice
from .critics import ACTIVATIONS, make_critic, mlp, pair_scores

__all__ = [
    "METHODS",
    "MARGINALS",
    "DEFAULT_HIDDEN",
    "DEFAULT_EVAL_SHIFTS",
    "Evaluation",
    "GaussianConditional",
    "MutualInformation",
    "check_bound_options",
]

#: The bounds a :class:`MutualInformation` can optimise, with a one-line description each.
METHODS: dict[str, str] = {
    "mine": "DV value, gradient corrected with a moving average of E_marg[e^T] (Belghazi et al. 2018)",
    "dv": "Donsker-Varadhan with plain minibatch gradients (the seeds' mine_biased)",
    "nwj": "NWJ / MINE-f: E_joint[T] - E_marg[e^(T-1)] (unbiased gradients)",
    "infonce": "InfoNCE / CPC over all in-batch pairs; capped at log(batch size)",
    "js": "trained with the Jensen-Shannon objective, MI read with NWJ on T+1",
    "smile": "JS training, DV value with marginal scores clipped to [-tau, tau] (Song & Ermon 2020)",
    "tuba": "TUBA with a learned constant baseline (Poole et al. 2019)",
    "minee": "MI-NEE: three DV divergences against a Gaussian product reference (Chan et al. 2019)",
    "club": "CLUB: an UPPER bound from a Gaussian q(y|x) fitted by likelihood, for minimising MI (Cheng et al. 2020)",
}

MARGINALS = ("shuffle", "pairs")

#: hidden widths of a critic built by name: the one default of the building block and of
#: :func:`neuralmi.estimate` (measured on the task suite; see docs/building_blocks.md)
DEFAULT_HIDDEN: tuple[int, ...] = (64, 64)
#: marginal permutations of a held-out read-out (:meth:`MutualInformation.evaluate`)
DEFAULT_EVAL_SHIFTS = 64


@dataclass(frozen=True)
class Evaluation:
    r"""A bound evaluated on a sample, with each sample's influence on the value.

    Attributes:
        value: the method's estimate in nats (what is reported).
        influence: ``(n,)`` array; ``influence.std() / sqrt(n)`` is the delta-method standard
            error of ``value`` for this (fixed) critic under resampling of the evaluation data.
        n: number of evaluation samples.
        score: what checkpoint selection maximises, when it is not ``value``. SMILE's clipped
            value and MI-NEE's difference of divergences are not lower bounds (a critic can
            raise them by being wrong), so their checkpoints are ranked by a quantity that is:
            SMILE by the NWJ bound of ``T + 1`` (its JS-trained critic's own bound), MI-NEE by
            the sum of its three held-out DV divergence bounds (its training objective). CLUB's
            value is an upper bound, so its checkpoints are ranked by the held-out mean
            log-likelihood of its conditional, :math:`\mathbb{E}[\log q(y|x)]` (its training
            objective), never by the bound itself.
        parts: MI-NEE only: each divergence's held-out DV bound, keyed by the state-dict prefix
            of its critic (``"critic."``, ``"critic_x."``, ``"critic_y."``), so that the training
            loop keeps each critic at its own best checkpoint (each D is a supremum of its own).
    """

    value: float
    influence: np.ndarray
    n: int
    score: float | None = None
    parts: dict[str, float] | None = None

    @property
    def criterion(self) -> float:
        """The number checkpoint selection and early stopping maximise (nats)."""
        return self.value if self.score is None else self.score

    @property
    def stderr(self) -> float:
        """Standard error of :attr:`value` from the influence values (nats)."""
        if self.n < 2:
            return float("inf")
        return float(np.std(self.influence, ddof=1) / math.sqrt(self.n))


def check_bound_options(ema_rate: float, smile_tau: float, remine_weight: float) -> None:
    """Validate the settings of a bound (shared by :class:`MutualInformation` and the estimators'
    configuration); raise a ValueError naming the first bad one."""
    bounds.check_rate(ema_rate, "ema_rate")
    bounds.check_tau(smile_tau, "smile_tau")
    if not remine_weight >= 0:
        raise ValueError(f"remine_weight must be >= 0; got {remine_weight}")


def _cpu64(t: Tensor) -> Tensor:
    """Scores to float64 on the CPU, where every read-out statistic is computed (MPS has no
    float64, and the statistics are cheap next to the critic's forward passes)."""
    return t.detach().to(device="cpu", dtype=torch.float64)


class _MarginalCritic(nn.Module):
    """A critic on one variable, ``t(x)``, for MI-NEE's divergence terms."""

    def __init__(self, dim: int, hidden: Sequence[int], activation: str) -> None:
        super().__init__()
        from .critics import mlp

        self.net = mlp(dim, hidden, 1, activation)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).squeeze(-1)


class GaussianConditional(nn.Module):
    r"""A variational conditional density :math:`q(y \mid x) = \mathcal N(y;\ \mu(x),\ \mathrm{diag}\, e^{v(x)})`
    for CLUB: an MLP trunk on ``x`` (widths ``hidden``) with a mean head :math:`\mu` and a
    log-variance head :math:`v`, each linear.

    ``forward(x, y)`` (and :meth:`log_prob`) return :math:`\log q(y_i \mid x_i)`, shape
    ``(B,)``, in nats; :meth:`pair_scores` returns all ``(B_x, B_y)`` pairs
    :math:`\log q(y_j \mid x_i)` without materialising ``B_x B_y`` copies of ``y``. The
    log-variance is soft-bounded to :math:`(-v_{max}, v_{max})` (``max_log_var``, default 15)
    by :math:`v_{max}\tanh(\cdot / v_{max})`, so a confident fit cannot overflow the precision;
    it starts near 0 (unit variance).

    Example:
        >>> import torch
        >>> q = GaussianConditional(3, 2, hidden=(8,))
        >>> q(torch.randn(5, 3), torch.randn(5, 2)).shape, q.pair_scores(torch.randn(5, 3), torch.randn(4, 2)).shape
        (torch.Size([5]), torch.Size([5, 4]))
    """

    def __init__(
        self,
        dim_x: int,
        dim_y: int,
        hidden: Sequence[int] = DEFAULT_HIDDEN,
        activation: str = "relu",
        max_log_var: float = 15.0,
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}")
        if not max_log_var > 0:
            raise ValueError(f"max_log_var must be positive; got {max_log_var}")
        self.dim_x, self.dim_y = int(dim_x), int(dim_y)
        hidden = tuple(int(h) for h in hidden)
        if hidden:
            self.trunk: nn.Module = nn.Sequential(mlp(self.dim_x, hidden[:-1], hidden[-1], activation), ACTIVATIONS[activation]())
            width = hidden[-1]
        else:
            self.trunk = nn.Identity()
            width = self.dim_x
        self.mean = nn.Linear(width, self.dim_y)
        self.log_var = nn.Linear(width, self.dim_y)
        self.max_log_var = float(max_log_var)

    def params(self, x: Tensor) -> tuple[Tensor, Tensor]:
        r"""``(mean, log_var)`` of :math:`q(\cdot \mid x)`, each ``(B, dim_y)``."""
        h = self.trunk(x)
        v = self.max_log_var * torch.tanh(self.log_var(h) / self.max_log_var)
        return self.mean(h), v

    def log_prob(self, x: Tensor, y: Tensor) -> Tensor:
        r""":math:`\log q(y_i \mid x_i)`, shape ``(B,)`` (nats)."""
        mu, v = self.params(x)
        return -0.5 * (((y - mu) ** 2) * torch.exp(-v) + v + math.log(2 * math.pi)).sum(dim=-1)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        return self.log_prob(x, y)

    def pair_scores(self, x: Tensor, y: Tensor) -> Tensor:
        r"""``S[i, j] = log q(y_j | x_i)``, shape ``(B_x, B_y)``, by three matrix products.

        The square is expanded (:math:`\sum_d p_{id}(y_{jd} - \mu_{id})^2` with precisions
        :math:`p`), which loses digits in float32 when a pair fits well; use :meth:`log_prob`
        for paired samples (the objective does)."""
        mu, v = self.params(x)
        prec = torch.exp(-v)
        quad = prec @ (y * y).T - 2.0 * (mu * prec) @ y.T + (mu * mu * prec).sum(dim=1, keepdim=True)
        norm = (v.sum(dim=1, keepdim=True) + self.dim_y * math.log(2 * math.pi))
        return -0.5 * (quad.clamp_min(0.0) + norm)


class MutualInformation(nn.Module):
    r"""A differentiable, trainable MI bound :math:`\hat I(X; Y)` in nats: a lower bound for
    every method but ``"club"``, which is an upper bound (the one to minimise MI with).

    Args:
        dim_x, dim_y: dimensions of ``x`` and ``y`` (flattened).
        method: one of :data:`METHODS`.
        critic: ``"concat"``, ``"separable"``, ``"bilinear"`` or any ``nn.Module`` with
            ``forward(x, y) -> (B,)`` scores (optionally ``pair_scores(x, y) -> (B, B)``).
            With ``method="club"`` the critic is a conditional density, not a score:
            ``"conditional"`` (or the default name, ``"concat"``) builds a
            :class:`GaussianConditional` :math:`q(y|x)` with widths ``hidden``; a module must
            define ``log_prob(x, y)`` and return the same from ``forward`` (score critics are a
            ``TypeError``: CLUB needs a normalised density).
        hidden, activation, embed_dim: architecture of a critic built by name.
        marginal: ``"shuffle"`` pairs each ``x_i`` with one shuffled ``y`` (B marginal scores);
            ``"pairs"`` uses all ``B(B-1)`` off-diagonal pairs. InfoNCE always uses all pairs.
        ema_rate: MINE's moving-average weight :math:`a` of the newest batch (paper: 0.01).
        smile_tau: SMILE's clipping threshold.
        remine_weight, remine_target: ReMINE penalty :math:`\lambda(\log\mathbb{E}[e^T] - C)^2`
            added to the critic loss of the DV family (mine, dv, smile); 0 disables it.
        seed: seeds the generator that draws marginal permutations and MI-NEE references.
            (MI-NEE's reference is the standard normal until :meth:`fit_reference` matches it
            to data, as :func:`neuralmi.estimate` does with the training rows.)
        distributed: compute ``forward`` and ``critic_loss`` on the *global* batch when
            ``torch.distributed`` is initialised with more than one process (each rank passes
            its own rows; see :mod:`neuralmi.distributed` for the gradient convention, which
            matches DDP's gradient averaging). The critic's scores (and, for marginal pairs and
            InfoNCE's negatives, the ``y`` batch) are gathered from every rank with gradients;
            marginal permutations and MI-NEE's reference draws are drawn for the global batch
            from the seeded generator (identical on every rank, so ``seed`` may not be
            ``None``) and each rank scores its own rows; MINE's moving average is updated from
            the global batch, so it stays equal on every rank. Off by default, and a no-op in
            one process. :meth:`evaluate` stays local (it reads the rows it is given).

    Example:
        >>> import torch
        >>> mi = MutualInformation(2, 2, method="mine", seed=0)
        >>> x = torch.randn(64, 2); y = x + 0.1 * torch.randn(64, 2)
        >>> loss = mi.critic_loss(x, y); loss.backward()
        >>> mi(x, y).shape
        torch.Size([])
    """

    def __init__(
        self,
        dim_x: int,
        dim_y: int,
        method: str = "mine",
        critic: str | nn.Module = "concat",
        hidden: Sequence[int] = DEFAULT_HIDDEN,
        activation: str = "relu",
        embed_dim: int = 32,
        marginal: str = "shuffle",
        ema_rate: float = 0.01,
        smile_tau: float = 5.0,
        remine_weight: float = 0.0,
        remine_target: float = 0.0,
        seed: int | None = 0,
        distributed: bool = False,
    ) -> None:
        super().__init__()
        if not isinstance(distributed, bool):
            raise TypeError(f"distributed must be True or False; got {distributed!r}")
        if distributed and seed is None:
            raise ValueError(
                "distributed=True needs an integer seed: every rank must draw the same marginal permutations"
            )
        #: gather the global batch across ranks in forward/critic_loss (see the class docstring)
        self.distributed = distributed
        self._row_counts: list[int] | None = None
        self.method = check_choice(method, "method", tuple(METHODS))
        self.marginal = check_choice(marginal, "marginal", MARGINALS)
        check_bound_options(ema_rate, smile_tau, remine_weight)
        self.dim_x, self.dim_y = int(dim_x), int(dim_y)
        self.ema_rate = float(ema_rate)
        self.smile_tau = float(smile_tau)
        self.remine_weight = float(remine_weight)
        self.remine_target = float(remine_target)
        if self.method == "club":
            self.critic = self._club_conditional(critic, hidden, activation)
        elif isinstance(critic, nn.Module):
            self.critic = critic
        elif isinstance(critic, str):
            self.critic = make_critic(critic, self.dim_x, self.dim_y, hidden, activation, embed_dim)
        else:
            raise TypeError(f"critic must be a name or an nn.Module; got {type(critic).__name__}")
        # MINE's moving average, log m; NaN means "not started" (a buffer, so it is saved)
        self.register_buffer("log_ema", torch.tensor(float("nan")))
        if self.method == "tuba":
            self.log_baseline = nn.Parameter(torch.zeros(()))
        if self.method == "minee":
            self.critic_x = _MarginalCritic(self.dim_x, hidden, activation)
            self.critic_y = _MarginalCritic(self.dim_y, hidden, activation)
            # the reference R_X x R_Y: Gaussians N(loc, scale scale^T), standard until
            # fit_reference() matches them to data (buffers, so they are saved and moved)
            self.register_buffer("ref_loc_x", torch.zeros(self.dim_x))
            self.register_buffer("ref_scale_x", torch.eye(self.dim_x))
            self.register_buffer("ref_loc_y", torch.zeros(self.dim_y))
            self.register_buffer("ref_scale_y", torch.eye(self.dim_y))
        self._gen = torch.Generator()
        if seed is not None:
            self._gen.manual_seed(int(seed))

    def _club_conditional(self, critic: str | nn.Module, hidden: Sequence[int], activation: str) -> nn.Module:
        """CLUB's variational conditional q(y|x): built by name, or a module that is a density."""
        if isinstance(critic, str):
            if critic not in ("conditional", "concat"):
                raise ValueError(
                    f"method 'club' needs a conditional density q(y|x), not the score critic {critic!r}: "
                    "pass critic='conditional' (a GaussianConditional) or a module with log_prob(x, y)"
                )
            return GaussianConditional(self.dim_x, self.dim_y, hidden, activation)
        if isinstance(critic, nn.Module):
            if not callable(getattr(critic, "log_prob", None)):
                raise TypeError(
                    f"method 'club' needs a conditional density q(y|x) as its critic (an nn.Module with "
                    f"log_prob(x, y), forward returning the same, e.g. objectives.GaussianConditional); "
                    f"got {type(critic).__name__}, a score critic, whose scores are not normalised"
                )
            return critic
        raise TypeError(f"critic must be a name or an nn.Module; got {type(critic).__name__}")

    # ------------------------------------------------------------------ sampling helpers
    def _perm(self, n: int, device: torch.device, gen: torch.Generator | None = None) -> Tensor:
        """A random permutation of ``range(n)`` with no fixed point (a shuffled cyclic shift)."""
        gen = self._gen if gen is None else gen
        order = torch.randperm(n, generator=gen)
        shift = int(torch.randint(1, max(n, 2), (1,), generator=gen)) if n > 1 else 0
        perm = torch.empty(n, dtype=torch.long)
        perm[order] = order.roll(shift)
        return perm.to(device)

    def _reference(self, n: int, which: str, like: Tensor, gen: torch.Generator | None = None) -> Tensor:
        """``n`` draws ``(n, d)`` of MI-NEE's reference for ``which`` (``"x"`` or ``"y"``)."""
        gen = self._gen if gen is None else gen
        loc, scale = getattr(self, f"ref_loc_{which}"), getattr(self, f"ref_scale_{which}")
        z = torch.randn((n, loc.shape[0]), generator=gen, dtype=like.dtype).to(like.device)
        return loc.to(like.dtype) + z @ scale.to(like.dtype).T

    @torch.no_grad()
    def fit_reference(self, x: Tensor, y: Tensor, shrinkage: float = 1e-3) -> "MutualInformation":
        """MI-NEE only: make the reference ``R_X x R_Y`` the Gaussians with the mean and
        covariance of ``x`` ``(n, dim_x)`` and ``y`` ``(n, dim_y)`` (each covariance shrunk by
        ``shrinkage`` x its mean variance towards the identity scale, so it is never singular).

        Any product reference gives the same MI, ``D(P_XY||R) - D(P_X||R_X) - D(P_Y||R_Y)``, but
        a reference close to the data keeps the three divergences small, and small divergences
        are what a DV bound can estimate from a finite sample (the standard normal reference
        puts them at tens of nats for correlated coordinates). Returns ``self``.
        """
        if self.method != "minee":
            raise ValueError(f"fit_reference applies to method 'minee', not {self.method!r}")
        x, y = self._check(x, y)
        for which, data in (("x", x), ("y", y)):
            d = _cpu64(data)
            loc = d.mean(dim=0)
            centred = d - loc
            cov = centred.T @ centred / max(1, d.shape[0] - 1)
            ridge = shrinkage * float(cov.diagonal().mean().clamp_min(1e-12))
            cov = cov + ridge * torch.eye(cov.shape[0], dtype=cov.dtype, device=cov.device)
            scale = torch.linalg.cholesky(cov)
            for name, value in ((f"ref_loc_{which}", loc), (f"ref_scale_{which}", scale)):
                buf = getattr(self, name)
                buf.copy_(value.to(buf.dtype))  # cast on the CPU first (MPS has no float64)
        return self

    def _check(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        if not isinstance(x, Tensor) or not isinstance(y, Tensor):
            raise TypeError("x and y must be torch tensors")
        x = x.reshape(x.shape[0], -1) if x.ndim != 2 else x
        y = y.reshape(y.shape[0], -1) if y.ndim != 2 else y
        if x.shape[0] != y.shape[0]:
            raise ValueError(f"x and y must have the same batch size; got {x.shape[0]} and {y.shape[0]}")
        if x.shape[0] < 2:
            raise ValueError("need a batch of at least 2 samples to form marginal pairs")
        if x.shape[1] != self.dim_x or y.shape[1] != self.dim_y:
            raise ValueError(
                f"expected x of dimension {self.dim_x} and y of dimension {self.dim_y}; "
                f"got {x.shape[1]} and {y.shape[1]}"
            )
        return x, y

    # ------------------------------------------------------------------ scores
    def _spread(self) -> bool:
        """Whether this call computes the bound on the global batch across ranks."""
        if not self.distributed:
            return False
        from . import distributed

        return distributed.is_active()

    def _layout(self, b: int) -> tuple[list[int], int, int]:
        """``(rows of every rank, this rank's first global row, global batch size)``."""
        from . import distributed

        me = distributed.rank()
        hint = self._row_counts  # set by a caller that knows every rank's rows (saves a collective)
        counts = list(hint) if hint is not None and len(hint) > me and hint[me] == b else distributed.row_counts(b)
        return counts, sum(counts[:me]), sum(counts)

    def _global_pairs(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor, list[int], int, int]:
        """The ``(B, B)`` global score matrix (this rank's rows against every rank's ``y``,
        gathered), the global ``y``, and the layout."""
        from . import distributed

        counts, start, total = self._layout(x.shape[0])
        y_all = distributed.all_gather(y, counts)
        s = distributed.all_gather(pair_scores(self.critic, x, y_all), counts)
        return s, y_all, counts, start, total

    def _scores(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
        """Joint ``(B,)`` and marginal scores, plus the ``(B, B)`` matrix when all pairs are used."""
        if self._spread():
            return self._global_scores(x, y)
        if self.method == "infonce":  # reads the matrix itself
            s = pair_scores(self.critic, x, y)
            return s.diagonal(), s, s
        if self.marginal == "pairs":
            s = pair_scores(self.critic, x, y)
            return s.diagonal(), bounds.offdiagonal(s), s
        perm = self._perm(x.shape[0], x.device)
        both = self.critic(torch.cat([x, x]), torch.cat([y, y[perm]]))
        b = x.shape[0]
        return both[:b], both[b:], None

    def _global_scores(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
        """:meth:`_scores` of the global batch: the same values, in the same order, as one
        process would compute on the ranks' rows concatenated."""
        from . import distributed

        if self.method == "infonce" or self.marginal == "pairs":
            s, *_ = self._global_pairs(x, y)
            return s.diagonal(), (s if self.method == "infonce" else bounds.offdiagonal(s)), s
        counts, start, total = self._layout(x.shape[0])
        y_all = distributed.all_gather(y, counts)
        b = x.shape[0]
        perm = self._perm(total, x.device)[start : start + b]
        both = self.critic(torch.cat([x, x]), torch.cat([y, y_all[perm]]))
        pairs = distributed.all_gather(torch.stack([both[:b], both[b:]], dim=1), counts)
        return pairs[:, 0], pairs[:, 1], None

    def _minee_terms(self, x: Tensor, y: Tensor) -> tuple[Tensor, ...]:
        if self._spread():  # reference draws for the global batch; this rank scores its rows
            from . import distributed

            counts, start, total = self._layout(x.shape[0])
            b = x.shape[0]
            ref_x = self._reference(total, "x", x)[start : start + b]
            ref_y = self._reference(total, "y", y)[start : start + b]
            local = torch.stack(
                [self.critic(x, y), self.critic(ref_x, ref_y), self.critic_x(x), self.critic_x(ref_x),
                 self.critic_y(y), self.critic_y(ref_y)],
                dim=1,
            )
            return tuple(distributed.all_gather(local, counts).unbind(dim=1))
        ref_x = self._reference(x.shape[0], "x", x)
        ref_y = self._reference(y.shape[0], "y", y)
        j_xy = self.critic(x, y)
        r_xy = self.critic(ref_x, ref_y)
        return j_xy, r_xy, self.critic_x(x), self.critic_x(ref_x), self.critic_y(y), self.critic_y(ref_y)

    def _club_terms(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """CLUB's ``log q(y_i|x_i)`` ``(B,)`` (exact, from ``forward``) and its marginal
        log-densities: one shuffled ``y`` per ``x``, or all ``B(B-1)`` off-diagonal pairs."""
        if self._spread():
            from . import distributed

            if self.marginal == "pairs":
                counts, start, _ = self._layout(x.shape[0])
                joint = distributed.all_gather(self.critic(x, y), counts)
                s, *_ = self._global_pairs(x, y)
                return joint, bounds.offdiagonal(s)
            counts, start, total = self._layout(x.shape[0])
            y_all = distributed.all_gather(y, counts)
            perm = self._perm(total, x.device)[start : start + x.shape[0]]
            local = torch.stack([self.critic(x, y), self.critic(x, y_all[perm])], dim=1)
            pairs = distributed.all_gather(local, counts)
            return pairs[:, 0], pairs[:, 1]
        joint = self.critic(x, y)
        if self.marginal == "pairs":
            return joint, bounds.offdiagonal(pair_scores(self.critic, x, y))
        return joint, self.critic(x, y[self._perm(x.shape[0], x.device)])

    def _objective(self, x: Tensor, y: Tensor, update_state: bool) -> tuple[Tensor, Tensor]:
        """(training objective to maximise, bound value carrying the training gradient)."""
        m = self.method
        if m == "club":
            # q is fitted by maximum likelihood (its objective); the value is the upper bound
            joint, marg = self._club_terms(x, y)
            return joint.mean(), bounds.club(joint, marg)
        if m == "minee":
            # each divergence is a supremum of its own: train all three critics upwards, and
            # report the difference D(XY) - D(X) - D(Y)
            j_xy, r_xy, j_x, r_x, j_y, r_y = self._minee_terms(x, y)
            objective = bounds.dv(j_xy, r_xy) + bounds.dv(j_x, r_x) + bounds.dv(j_y, r_y)
            return objective, bounds.minee(j_xy, r_xy, j_x, r_x, j_y, r_y)
        joint, marg, s = self._scores(x, y)
        if m == "infonce":
            assert s is not None
            value = bounds.infonce(s)
            return value, value
        if m == "mine":
            # the buffer is NaN until the first step, which starts the average at the batch value
            # (a branch-free test: no host synchronisation, no Python `if` on a device tensor)
            new = bounds.update_log_ema(self.log_ema, marg, self.ema_rate)
            if update_state:
                self.log_ema.copy_(new)
            value = bounds.mine(joint, marg, new)
            objective = value
        elif m == "dv":
            value = objective = bounds.dv(joint, marg)
        elif m == "nwj":
            value = objective = bounds.nwj(joint, marg)
        elif m == "js":
            value = bounds.js_mi(joint, marg)
            objective = value
        elif m == "smile":
            value = bounds.smile(joint, marg, self.smile_tau)
            objective = value
        elif m == "tuba":
            value = objective = bounds.tuba(joint, marg, self.log_baseline)
        else:  # pragma: no cover - guarded by check_choice
            raise ValueError(m)
        if self.remine_weight > 0 and m in ("mine", "dv", "smile"):
            objective = objective - bounds.remine_penalty(marg, self.remine_weight, self.remine_target)
        return objective, value

    # ------------------------------------------------------------------ public API
    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        """Differentiable MI estimate on a batch (nats): a scalar tensor.

        Maximise it (``loss = task_loss - beta * mi(x, y)``) or minimise it (an information
        bottleneck, ``+ beta * mi(x, y)``). The moving-average state is read, never written.
        """
        x, y = self._check(x, y)
        return self._objective(x, y, update_state=False)[1]

    @overload
    def critic_loss(self, x: Tensor, y: Tensor, with_value: Literal[False] = ...) -> Tensor: ...

    @overload
    def critic_loss(self, x: Tensor, y: Tensor, with_value: Literal[True]) -> tuple[Tensor, Tensor]: ...

    def critic_loss(self, x: Tensor, y: Tensor, with_value: bool = False) -> Tensor | tuple[Tensor, Tensor]:
        """Loss for the critic's optimiser (minimise): minus the training objective, plus penalties.

        Pass detached ``x``, ``y`` (e.g. ``mi.critic_loss(x.detach(), y.detach())``) so that the
        critic's step does not push gradients into the model that produced them. Updates MINE's
        moving average when the module is in training mode.

        With ``with_value=True`` returns ``(loss, value)``: ``value`` is the method's estimate on
        this batch (detached, nats), which is not always minus the loss (MI-NEE trains the sum
        of three divergences and reports their difference; penalties are not part of it).
        """
        x, y = self._check(x, y)
        objective, value = self._objective(x, y, update_state=self.training)
        if with_value:
            return -objective, value.detach()
        return -objective

    @torch.no_grad()
    def evaluate(
        self,
        x: Tensor,
        y: Tensor,
        n_shifts: int = DEFAULT_EVAL_SHIFTS,
        batch_size: int = 512,
        seed: int | None = None,
    ) -> Evaluation:
        """The bound on a (held-out) sample, with per-sample influence values for its error bar.

        The marginal term uses ``n_shifts`` fixed-point-free permutations of ``y`` (each ``y``
        appears once per permutation), so ``n * n_shifts`` marginal pairs. InfoNCE is evaluated in
        blocks of ``batch_size`` (its value depends on the batch size it is read with). With
        ``seed`` the permutations (and MI-NEE's reference draws) come from a generator seeded
        with it, so repeated evaluations of different critics use the same pairs (common random
        numbers: their differences are then due to the critics, not to the draw).
        """
        x, y = self._check(x, y)
        n = x.shape[0]
        gen = None if seed is None else torch.Generator().manual_seed(int(seed))
        if self.method == "infonce":
            return self._evaluate_infonce(x, y, batch_size, gen)
        if self.method == "minee":
            return self._evaluate_minee(x, y, n_shifts, gen)
        if self.method == "club":
            return self._evaluate_club(x, y, n_shifts, gen)
        joint = _cpu64(self._chunked(x, y))
        perms = [self._perm(n, torch.device("cpu"), gen) for _ in range(max(1, int(n_shifts)))]
        # all n * K marginal pairs in a few large critic calls (not one call per permutation)
        xi = torch.arange(n, device=x.device).repeat(len(perms))
        yi = torch.cat(perms).to(y.device)
        marg = _cpu64(self._chunked_pairs(x, y, xi, yi).reshape(len(perms), n).T)  # (n, K): T(x_i, y_perm_k(i))
        score = None
        if self.method == "smile":
            # selection score: the NWJ bound of T + 1 (unclipped), E[T] + 1 - E[e^T]
            score = float(joint.mean() + 1.0 - torch.exp(bounds.logmeanexp(marg)))
            marg = marg.clamp(-self.smile_tau, self.smile_tau)
        if self.method == "js":  # read as NWJ on T + 1 -> E[T] + 1 - E[e^T]
            joint, marg = joint + 1.0, marg + 1.0
        # everything in units of e^(marg - c), with c the max, so nothing overflows
        c = marg.max()
        e = torch.exp(marg - c)
        big_m = e.mean()
        log_m = torch.log(big_m) + c
        jmean = joint.mean()
        # influence of each sample on the mean of e^T: its row (as x) and its columns (as y)
        row = e.mean(dim=1)
        col = torch.zeros(n, dtype=e.dtype, device=e.device)
        for k, perm in enumerate(perms):
            col.index_add_(0, perm, e[:, k])
        col = col / len(perms)
        psi = row + col - 2.0 * big_m  # influence on E[e^(T - c)]
        if self.method in ("mine", "dv", "smile"):
            value = jmean - log_m
            infl = (joint - jmean) - psi / big_m
        else:
            # NWJ-type: J - exp(log M - s) with s = 1 (nwj, js after the +1 shift) or log baseline
            s = float(self.log_baseline) if self.method == "tuba" else 1.0
            scale = torch.exp(c - s)
            value = jmean - big_m * scale + (1.0 - s if self.method == "tuba" else 0.0)
            infl = (joint - jmean) - psi * scale
        return Evaluation(float(value), infl.numpy(), n, score)

    # ------------------------------------------------------------------ evaluation helpers
    def _chunked(self, x: Tensor, y: Tensor, chunk: int = 65536) -> Tensor:
        return torch.cat([self.critic(x[i : i + chunk], y[i : i + chunk]) for i in range(0, x.shape[0], chunk)])

    def _chunked_pairs(self, x: Tensor, y: Tensor, xi: Tensor, yi: Tensor, chunk: int = 65536) -> Tensor:
        """Scores ``T(x[xi[j]], y[yi[j]])`` ``(len(xi),)``, ``chunk`` pairs per critic call (the
        rows are gathered per chunk, so memory stays at one chunk)."""
        return torch.cat(
            [self.critic(x[xi[i : i + chunk]], y[yi[i : i + chunk]]) for i in range(0, xi.shape[0], chunk)]
        )

    def _evaluate_infonce(
        self, x: Tensor, y: Tensor, batch_size: int, gen: torch.Generator | None
    ) -> Evaluation:
        n = x.shape[0]
        b = min(int(batch_size), n)
        order = torch.randperm(n, generator=self._gen if gen is None else gen).to(x.device)
        terms = []
        for start in range(0, n - b + 1, b):  # full blocks only: the bound depends on the block size
            idx = order[start : start + b]
            s = _cpu64(pair_scores(self.critic, x[idx], y[idx]))
            terms.append(s.diagonal() - bounds.logmeanexp(s, dim=1))
        t = torch.cat(terms)
        return Evaluation(float(t.mean()), (t - t.mean()).numpy(), t.shape[0])

    def _evaluate_club(self, x: Tensor, y: Tensor, n_shifts: int, gen: torch.Generator | None) -> Evaluation:
        """CLUB on held-out pairs: ``n_shifts`` fixed-point-free permutations give the marginal
        mean; the influence of sample ``i`` counts its joint term and its share of the marginal
        mean as an ``x`` (its row) and as a ``y`` (its column). ``score`` is the held-out mean
        log-likelihood, which checkpoint selection maximises (not the upper bound)."""
        n = x.shape[0]
        joint = _cpu64(self._chunked(x, y))
        cols, perms = [], []
        for _ in range(max(1, int(n_shifts))):
            perm = self._perm(n, torch.device("cpu"), gen)
            cols.append(self._chunked(x, y[perm.to(y.device)]))
            perms.append(perm)
        marg = _cpu64(torch.stack(cols, dim=1))  # (n, K): log q(y_perm_k(i) | x_i)
        jmean, mmean = joint.mean(), marg.mean()
        row = marg.mean(dim=1)
        col = torch.zeros(n, dtype=marg.dtype)
        for k, perm in enumerate(perms):
            col.index_add_(0, perm, marg[:, k])
        col = col / len(perms)
        infl = (joint - jmean) - (row + col - 2.0 * mmean)
        return Evaluation(float(jmean - mmean), infl.numpy(), n, score=float(jmean))

    def _evaluate_minee(self, x: Tensor, y: Tensor, n_ref: int, gen: torch.Generator | None) -> Evaluation:
        n = x.shape[0]
        ref_x = self._reference(n * max(1, n_ref), "x", x, gen)
        ref_y = self._reference(n * max(1, n_ref), "y", y, gen)
        parts = []
        divergences = []  # selection: each held-out DV bound (unfloored), one per critic
        for j_scores, r_scores in (
            (self._chunked(x, y), self._chunked(ref_x, ref_y)),
            (self.critic_x(x), self.critic_x(ref_x)),
            (self.critic_y(y), self.critic_y(ref_y)),
        ):
            j = _cpu64(j_scores)
            d = j.mean() - bounds.logmeanexp(_cpu64(r_scores))
            divergences.append(float(d))
            # each divergence is a supremum over critics, constants included, so it is >= 0; a
            # critic that reads below 0 on held-out data is worse than a constant: use the
            # constant (0, no sampling noise). Without this the overfitted marginal terms read
            # negative and inflate the difference (and checkpoint selection rewards that).
            parts.append((j, d) if float(d) > 0.0 else (torch.zeros_like(j), d.new_zeros(())))
        value = parts[0][1] - parts[1][1] - parts[2][1]
        # the references are fresh i.i.d. draws; the data enter through the joint terms
        infl = (parts[0][0] - parts[0][0].mean()) - (parts[1][0] - parts[1][0].mean()) - (
            parts[2][0] - parts[2][0].mean()
        )
        by_critic = dict(zip(("critic.", "critic_x.", "critic_y."), divergences))
        return Evaluation(float(value), infl.numpy(), n, score=sum(divergences), parts=by_critic)
