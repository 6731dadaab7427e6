r"""Variational bounds on mutual information, as pure functions of critic scores.

Every function here takes critic scores (tensors) and returns a scalar tensor in nats. Nothing
here trains or holds state: the MINE moving average, for example, is passed in and its update is
a separate pure function (:func:`update_log_ema`). Taking scores rather than a critic lets the
critic decide its memory cost (a separable critic gives a ``B x B`` score matrix with one matmul).

Notation: ``T`` is the critic; ``joint`` holds ``T(x_i, y_i)`` on paired samples drawn from
:math:`P_{XY}`, shape ``(B,)``; ``marginal`` holds ``T(x, y)`` on pairs drawn from the product of
the marginals :math:`P_X \otimes P_Y` (e.g. shuffled pairs), shape ``(M,)`` (any shape: it is
flattened). ``scores`` is a ``(B, B)`` matrix with ``scores[i, j] = T(x_i, y_j)``: its diagonal is
joint, its off-diagonal entries are marginal samples.

All exponentials are taken in log space (``logsumexp``), so large scores give large but finite
values where the bound itself is finite.

>>> import torch
>>> joint, marginal = torch.tensor([1.0, 1.0]), torch.tensor([0.0, 0.0])
>>> float(dv(joint, marginal))
1.0
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torch.nn import functional as F

__all__ = [
    "logmeanexp",
    "offdiagonal",
    "dv",
    "mine",
    "update_log_ema",
    "nwj",
    "tuba",
    "infonce",
    "js",
    "js_mi",
    "smile",
    "minee",
    "remine_penalty",
    "club",
]


def check_rate(rate: float, name: str = "rate") -> float:
    """A moving-average weight must lie in (0, 1]; raise a ValueError naming ``name`` otherwise."""
    if not 0.0 < rate <= 1.0:
        raise ValueError(f"{name} must be in (0, 1]; got {rate}")
    return rate


def check_tau(tau: float, name: str = "tau") -> float:
    """A clipping threshold must be positive; raise a ValueError naming ``name`` otherwise."""
    if not tau > 0:
        raise ValueError(f"{name} must be positive; got {tau}")
    return tau


def logmeanexp(t: Tensor, dim: int | None = None) -> Tensor:
    r"""Stable :math:`\log \frac{1}{n}\sum_i e^{t_i}` over all entries (or along ``dim``).

    >>> import torch
    >>> round(float(logmeanexp(torch.tensor([0.0, 0.0]))), 6)
    0.0
    """
    if dim is None:
        t = t.reshape(-1)
        dim = 0
    return torch.logsumexp(t, dim=dim) - math.log(t.shape[dim])


def offdiagonal(scores: Tensor) -> Tensor:
    """Return the ``B(B-1)`` off-diagonal entries of a square ``(B, B)`` score matrix, flattened.

    >>> import torch
    >>> offdiagonal(torch.arange(9.0).reshape(3, 3)).tolist()
    [1.0, 2.0, 3.0, 5.0, 6.0, 7.0]
    """
    if scores.ndim != 2 or scores.shape[0] != scores.shape[1]:
        raise ValueError(f"scores must be a square (B, B) matrix; got shape {tuple(scores.shape)}")
    b = scores.shape[0]
    if b < 2:
        raise ValueError("need at least 2 samples for off-diagonal (marginal) scores")
    # drop the diagonal without a boolean gather: after the first element, the flattened matrix
    # is (B - 1) runs of [B off-diagonal entries, 1 diagonal entry]
    return scores.reshape(-1)[1:].reshape(b - 1, b + 1)[:, :-1].reshape(-1)


def dv(joint: Tensor, marginal: Tensor) -> Tensor:
    r"""Donsker–Varadhan lower bound (MINE's value; the seeds' ``mine_biased``).

    .. math:: I_{DV} = \mathbb{E}_{P_{XY}}[T] - \log \mathbb{E}_{P_X \otimes P_Y}[e^{T}]

    Invariant to adding a constant to ``T``. Its plain minibatch gradient is biased (the log of a
    minibatch mean); :func:`mine` corrects it.

    Args:
        joint: scores on paired samples, shape ``(B,)``.
        marginal: scores on samples of the product of marginals, any shape (flattened).

    Returns:
        Scalar tensor, nats.

    >>> import torch
    >>> round(float(dv(torch.tensor([2.0, 0.0]), torch.tensor([0.0, math.log(3.0)]))), 6)
    0.306853
    """
    return joint.mean() - logmeanexp(marginal)


def update_log_ema(log_ema: Tensor | None, marginal: Tensor, rate: float) -> Tensor:
    r"""One step of MINE's moving average of :math:`\mathbb{E}_{P_X \otimes P_Y}[e^T]`, in log space.

    .. math:: m_t = (1 - a)\, m_{t-1} + a\, \overline{e^{T}}, \qquad
              \log m_t = \operatorname{logaddexp}(\log(1-a) + \log m_{t-1},\ \log a + \log\overline{e^T})

    The first call (``log_ema=None``, or a NaN tensor: the form a device buffer takes, tested
    without a host synchronisation) starts the average at the batch value. The result is
    detached: the moving average carries no gradient.

    Args:
        log_ema: the previous :math:`\log m_{t-1}` (scalar tensor) or ``None``.
        marginal: marginal scores of the current batch, any shape.
        rate: :math:`a \in (0, 1]`, the weight of the new batch (the paper uses small values,
            e.g. 0.01).

    >>> import torch
    >>> float(update_log_ema(None, torch.zeros(4), 0.1))
    0.0
    """
    check_rate(rate, "rate")
    batch = logmeanexp(marginal.detach())
    if log_ema is None or rate == 1.0:
        return batch
    log_ema = log_ema.detach().to(batch)
    moved = torch.logaddexp(math.log1p(-rate) + log_ema, math.log(rate) + batch)
    return torch.where(torch.isnan(log_ema), batch, moved)


def mine(joint: Tensor, marginal: Tensor, log_ema: Tensor | None = None) -> Tensor:
    r"""MINE (Belghazi et al. 2018, Algorithm 1): the DV value with a bias-corrected gradient.

    The value returned is :func:`dv`. Its gradient replaces the minibatch denominator of
    :math:`\nabla \log \overline{e^{T}} = \overline{e^{T}\nabla T} / \overline{e^{T}}` by the
    moving average :math:`m` (passed in as ``log_ema``, detached):

    .. math:: \tilde\nabla = \overline{\nabla T}_{joint} - \overline{e^{T}\nabla T}_{marg} / m

    implemented as the surrogate :math:`\exp(\log\overline{e^T} - \log m)`, all in log space.
    With ``log_ema=None`` it is plain :func:`dv`.

    Args:
        joint: ``(B,)`` joint scores. marginal: marginal scores, any shape.
        log_ema: :math:`\log m` from :func:`update_log_ema` (scalar tensor) or ``None``.

    Returns:
        Scalar tensor: the DV value in nats, carrying the corrected gradient.
    """
    if log_ema is None:
        return dv(joint, marginal)
    jmean, lme = joint.mean(), logmeanexp(marginal)  # each once: this runs every training step
    surrogate = jmean - torch.exp(lme - log_ema.detach())
    return (jmean - lme).detach() + surrogate - surrogate.detach()


def nwj(joint: Tensor, marginal: Tensor) -> Tensor:
    r"""Nguyen–Wainwright–Jordan bound (MINE-f, f-divergence, "fdiv").

    .. math:: I_{NWJ} = \mathbb{E}_{P_{XY}}[T] - \mathbb{E}_{P_X \otimes P_Y}[e^{T - 1}]

    Unbiased minibatch gradients, higher variance than DV; always :math:`\le` :func:`dv` on the
    same scores. Optimal critic :math:`T^* = 1 + \log \frac{p(x,y)}{p(x)p(y)}`.

    >>> import torch
    >>> float(nwj(torch.tensor([1.0]), torch.tensor([1.0])))
    0.0
    """
    return joint.mean() - torch.exp(logmeanexp(marginal) - 1.0)


def tuba(
    joint: Tensor,
    marginal: Tensor,
    log_baseline: Tensor | float = 0.0,
    log_baseline_marginal: Tensor | float | None = None,
) -> Tensor:
    r"""Tractable unnormalised Barber–Agakov bound (Poole et al. 2019), baseline :math:`a(y)`.

    .. math:: I_{TUBA} = 1 + \mathbb{E}_{P_{XY}}[T(x, y) - \log a(y)] - \mathbb{E}_{P_X\otimes P_Y}[e^{T(x, y) - \log a(y)}]

    The baseline is a function of ``y`` only, and each score is paired with the baseline of its
    *own* ``y``: ``log_baseline`` is :math:`\log a(y)` at the joint pairs' ``y`` (a scalar, or a
    tensor broadcastable to ``joint``), ``log_baseline_marginal`` at the marginal pairs' ``y``
    (broadcastable to ``marginal``). With shuffled pairs these differ (the marginal pair
    ``(x_i, y_{\pi(i)})`` needs :math:`a(y_{\pi(i)})`, not :math:`a(y_i)`); ``None`` means the
    baseline is a constant and the same value serves both. With :math:`\log a = 1` it is
    :func:`nwj`; the optimal constant :math:`\log a = \log\mathbb{E}[e^T]` gives :func:`dv`.
    The marginal term is computed in log space.

    >>> import torch
    >>> joint, marginal = torch.tensor([2.0, 1.0]), torch.tensor([0.5, -0.5])
    >>> bool(torch.isclose(tuba(joint, marginal, 1.0), nwj(joint, marginal)))
    True
    """
    log_a = torch.as_tensor(log_baseline, dtype=joint.dtype, device=joint.device)
    if log_baseline_marginal is None:
        if log_a.numel() != 1:
            raise ValueError(
                "a per-sample log_baseline needs log_baseline_marginal: the baseline of each "
                "marginal pair's own y"
            )
        log_a_marg = log_a
    else:
        log_a_marg = torch.as_tensor(log_baseline_marginal, dtype=marginal.dtype, device=marginal.device)
    shifted = (marginal - log_a_marg).reshape(-1)
    return 1.0 + (joint - log_a).mean() - torch.exp(logmeanexp(shifted))


def infonce(scores: Tensor) -> Tensor:
    r"""InfoNCE / CPC bound from a ``(B, B)`` score matrix (row ``i``: ``x_i`` against every ``y_j``).

    .. math:: I_{NCE} = \frac{1}{B}\sum_i \Big[ T(x_i, y_i) - \log \frac{1}{B} \sum_j e^{T(x_i, y_j)} \Big] \le \log B

    Low variance but capped at :math:`\log B`: it cannot report more than ``log(batch size)``.

    >>> import torch
    >>> round(float(infonce(torch.eye(3) * 100.0)), 4) == round(math.log(3), 4)
    True
    """
    if scores.ndim != 2 or scores.shape[0] != scores.shape[1]:
        raise ValueError(f"infonce needs a square (B, B) score matrix; got {tuple(scores.shape)}")
    return (scores.diagonal() - logmeanexp(scores, dim=1)).mean()


def js(joint: Tensor, marginal: Tensor) -> Tensor:
    r"""Jensen–Shannon training objective (f-GAN, as in Deep InfoMax); not itself an MI value.

    .. math:: J = \mathbb{E}_{P_{XY}}[-\operatorname{softplus}(-T)] - \mathbb{E}_{P_X\otimes P_Y}[\operatorname{softplus}(T)]

    Maximising it makes :math:`T` the log density ratio; read MI with :func:`js_mi`.
    """
    return -F.softplus(-joint).mean() - F.softplus(marginal).mean()


def js_mi(joint: Tensor, marginal: Tensor) -> Tensor:
    r"""MI read from a JS-trained critic: the :func:`nwj` value of :math:`T + 1`, JS's gradient.

    .. math:: \hat I = \mathbb{E}_{P_{XY}}[T + 1] - \mathbb{E}_{P_X\otimes P_Y}[e^{T}]

    The value is NWJ's (a valid lower bound); the gradient is that of :func:`js` (Poole et al.
    2019), which is better behaved.
    """
    value = nwj(joint + 1.0, marginal + 1.0)
    objective = js(joint, marginal)
    return objective + (value - objective).detach()


def smile(joint: Tensor, marginal: Tensor, tau: float = 5.0) -> Tensor:
    r"""SMILE (Song & Ermon 2020): DV with the marginal scores clipped to :math:`[-\tau, \tau]`.

    .. math:: \hat I = \mathbb{E}_{P_{XY}}[T] - \log \mathbb{E}_{P_X\otimes P_Y}[e^{\operatorname{clip}(T, -\tau, \tau)}]

    The value is the clipped DV (lower variance, biased at high MI); the gradient is that of the
    :func:`js` objective, as in the original method.
    """
    check_tau(tau, "tau")
    value = joint.mean() - logmeanexp(torch.clamp(marginal, -tau, tau))
    objective = js(joint, marginal)
    return objective + (value - objective).detach()


def minee(
    joint_xy: Tensor,
    ref_xy: Tensor,
    joint_x: Tensor,
    ref_x: Tensor,
    joint_y: Tensor,
    ref_y: Tensor,
) -> Tensor:
    r"""MI-NEE (Chan et al. 2019) from three DV divergence estimates against a product reference.

    .. math:: I = D(P_{XY} \| P_{X'} \times P_{Y'}) - D(P_X \| P_{X'}) - D(P_Y \| P_{Y'})

    Each :math:`D` is :func:`dv` of its own critic: ``joint_*`` are scores on data samples,
    ``ref_*`` on i.i.d. samples of the reference :math:`P_{X'}`, :math:`P_{Y'}` (and their
    product for ``ref_xy``). The reference samples are unlimited, unlike shuffled marginals.
    """
    return dv(joint_xy, ref_xy) - dv(joint_x, ref_x) - dv(joint_y, ref_y)


def remine_penalty(marginal: Tensor, weight: float = 0.1, target: float = 0.0) -> Tensor:
    r"""ReMINE's regulariser (Choi & Lee 2022): :math:`\lambda(\log \mathbb{E}_{P_X\otimes P_Y}[e^T] - C)^2`.

    Subtract it from a DV-family objective to pin the critic's free constant and stabilise
    training. ``weight`` is :math:`\lambda`, ``target`` is :math:`C`.

    >>> import torch
    >>> float(remine_penalty(torch.zeros(5), weight=2.0, target=1.0))
    2.0
    """
    return weight * (logmeanexp(marginal) - target) ** 2


def club(joint: Tensor, marginal: Tensor) -> Tensor:
    r"""CLUB (Cheng et al. 2020): a contrastive log-ratio **upper** bound, from conditional
    log-densities rather than critic scores.

    .. math:: I_{CLUB} = \mathbb{E}_{P_{XY}}[\log q(y \mid x)] - \mathbb{E}_{P_X \otimes P_Y}[\log q(y \mid x)]

    ``joint`` holds :math:`\log q(y_i \mid x_i)` on paired samples, shape ``(B,)``; ``marginal``
    holds :math:`\log q(y \mid x)` on pairs from the product of the marginals (shuffled or all
    off-diagonal pairs), any shape (flattened). Plain means, no exponential: the value has low
    variance, and its gradient is unbiased.

    With the true conditional :math:`q = p(y \mid x)` it is an upper bound:
    :math:`I_{CLUB} = I(X; Y) + \mathrm{KL}(P_X \otimes P_Y \,\|\, P_{XY}) \ge I(X; Y)`
    (the gap is the lautum information; for a Gaussian pair of correlation :math:`\rho` it is
    :math:`\rho^2 / (1 - \rho^2)` against :math:`I = -\tfrac12\log(1 - \rho^2)`, about twice
    the MI when the dependence is weak). With a variational :math:`q` trained by maximum
    likelihood it stays an upper bound as long as :math:`q` is close to :math:`p(y \mid x)`
    (precisely: when :math:`\mathrm{KL}(p(x, y) \| q(y|x) p(x)) \le \mathrm{KL}(p(x)p(y) \| q(y|x) p(x))`),
    so train ``q`` on the likelihood (``joint.mean()``), not on this value. It is the bound to
    *minimise* MI with: minimising a lower bound (:func:`dv`, :func:`infonce`, ...) does not bound
    the information from above (Poole et al. 2019).

    Args:
        joint: ``(B,)`` conditional log-densities of paired samples.
        marginal: conditional log-densities of product-of-marginal pairs, any shape.

    Returns:
        Scalar tensor, nats (can be below zero when ``q`` is poor).

    >>> import torch
    >>> float(club(torch.tensor([-1.0, -1.0]), torch.tensor([-2.0, -4.0])))
    2.0
    """
    return joint.mean() - marginal.mean()
