r"""Tasks with a discrete side and known MI: class labels, quantised Gaussians, discrete tables.

Every task here is a :class:`~neuralmi.tasks.Task` whose discrete side is sampled as integer
codes ``0 .. K-1`` (stored as floats, one column), with the attribute ``discrete``: ``"y"`` when
only Y is discrete, ``"xy"`` when both are. Pass it on as ``neuralmi.estimate(x, y,
discrete=task.discrete)``.

* :class:`GaussianClasses` — a class label ``C`` with prior ``π`` and features
  ``X | C ~ N(μ_C, σ² I_d)`` whose means span a line or a plane (any ``d``):
  ``I(X; C) = H(C) − E_X[H(C | X)]``, a 1-D integral (adaptive quadrature) or a 2-D one (a
  dense-grid trapezoid rule, exponentially convergent for this smooth Gaussian-tailed integrand)
  over the span of the means — the orthogonal directions are the same noise for every class.
  With one feature the classes may have their own ``σ_k``. Built by :func:`gaussian_classes`.
* :class:`QuantizedGaussian` — a standard bivariate normal ``(X*, Y*)`` with correlation ``ρ``;
  ``Y`` is the index of the equiprobable bin of ``Y*`` (``bins_y`` bins) and ``X`` either ``X*``
  (continuous) or its bin index (``bins_x`` bins). The cell probabilities and the conditional
  label probabilities are 1-D integrals (adaptive quadrature to 1e-12), so the MI is exact to
  about 1e-10.
* :class:`DiscreteTable` — any joint probability table of ``(X, Y)``; exact MI. Built by
  :func:`symmetric_channel` and :func:`random_table`.

>>> from neuralmi.tasks import QuantizedGaussian
>>> task = QuantizedGaussian(0.8, bins_y=4, bins_x=4)
>>> x, y = task.sample(5, seed=0)
>>> task.discrete, x.ravel().tolist(), round(task.mi, 4)
('xy', [2.0, 1.0, 2.0, 2.0, 1.0], 0.3522)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import integrate, special

from neuralmi._validation import check_choice, check_positive_int
from neuralmi.tasks.base import Task, array_digest, check_real, format_number
from neuralmi.tasks.gaussian import _check_rho

__all__ = [
    "GaussianClasses",
    "gaussian_classes",
    "QuantizedGaussian",
    "DiscreteTable",
    "symmetric_channel",
    "random_table",
    "entropy_of",
]

_LOG_2PI = math.log(2.0 * math.pi)


def entropy_of(p: Any) -> float:
    """Shannon entropy (nats) of a probability vector or table (zeros allowed)."""
    q = np.asarray(p, dtype=np.float64).ravel()
    q = q[q > 0]
    return float(-np.sum(q * np.log(q)))


def _check_probabilities(p: Any, name: str) -> np.ndarray:
    arr = np.array(p, dtype=np.float64)
    if arr.size == 0 or not np.isfinite(arr).all() or np.any(arr < 0):
        raise ValueError(f"{name} must be non-negative finite numbers")
    total = arr.sum()
    if total <= 0:
        raise ValueError(f"{name} must not be all zero")
    return arr / total


def _codes(a: np.ndarray, k: int, what: str) -> np.ndarray:
    col = np.asarray(a, dtype=np.float64).reshape(-1)
    if not np.all((col == np.round(col)) & (col >= 0) & (col < k)):
        raise ValueError(f"{what} must hold integer codes in 0..{k - 1}")
    return col.astype(np.int64)


# ---------------------------------------------------------------------------------------------
# Class labels with Gaussian class-conditional features
# ---------------------------------------------------------------------------------------------


class GaussianClasses(Task):
    """A label ``C ~ priors`` (Y, one column of codes) and features ``X | C = k ~ N(μ_k, σ_k² I_d)``.

    Args:
        means: ``(K, d)`` class means; they must lie on a line or a plane (an affine span of
            dimension <= 2), or ``d = 1``.
        sigma: the common standard deviation, or (``d = 1`` only) one per class.
        priors: class probabilities (default uniform).
        name: default ``"labels-k{K}-d{d}-{digest}"``.

    ``mi = H(C) − E[H(C | X)]`` by numerical integration over the span of the means (module
    docstring); ``log_ratio(x, c) = log p(c | x) − log p(c)`` exactly.
    """

    discrete = "y"

    def __init__(self, means: Any, sigma: Any = 1.0, priors: Any = None, name: str | None = None) -> None:
        mu = np.array(means, dtype=np.float64)
        if mu.ndim == 1:
            mu = mu[:, None]
        if mu.ndim != 2 or mu.shape[0] < 2 or not np.isfinite(mu).all():
            raise ValueError(f"means must be a finite (K, d) array with K >= 2; got shape {mu.shape}")
        k, d = mu.shape
        sig = np.array(sigma, dtype=np.float64).reshape(-1)
        if sig.size == 1:
            sig = np.full(k, float(sig[0]))
        if sig.shape != (k,) or not np.isfinite(sig).all() or np.any(sig <= 0):
            raise ValueError("sigma must be a positive number, or (one feature only) K positive numbers")
        if d > 1 and np.ptp(sig) > 0:
            raise ValueError("per-class sigmas are supported for one feature (d = 1) only")
        pri = _check_probabilities(np.ones(k) if priors is None else priors, "priors")
        if pri.shape != (k,) or np.any(pri <= 0):
            raise ValueError(f"priors must be {k} positive numbers")
        # orthonormal basis of the affine span of the means
        centre = pri @ mu
        u, s, vt = np.linalg.svd(mu - centre, full_matrices=False)
        rank = int(np.sum(s > 1e-10 * max(1.0, float(s.max(initial=0.0)))))
        if rank > 2:
            raise ValueError(f"the class means must lie on a line or a plane; they span {rank} dimensions")
        self.basis = vt[: max(rank, 1)].T  # (d, r)
        self.centre = centre
        self.coords = (mu - centre) @ self.basis  # (K, r)
        self.means, self.sigmas, self.priors = mu, sig, pri
        for arr in (self.means, self.sigmas, self.priors):
            arr.setflags(write=False)
        self.n_classes = k
        super().__init__(name or f"labels-k{k}-d{d}-{array_digest(mu, sig, pri)}", d, 1, "discrete")

    def _log_joint_proj(self, t: np.ndarray) -> np.ndarray:
        """``log π_k + log N(t; m_k, σ_k² I_r)`` on projected points ``t`` ``(n, r)``: ``(n, K)``.
        (The orthogonal directions contribute the same factor to every class and cancel.)"""
        r = t.shape[1]
        sq = ((t[:, None, :] - self.coords[None, :, :]) ** 2).sum(-1)
        return np.log(self.priors) - 0.5 * sq / self.sigmas**2 - r * np.log(self.sigmas) - 0.5 * r * _LOG_2PI

    def _compute_mi(self) -> float:
        h_c = entropy_of(self.priors)
        r = self.basis.shape[1]
        lo = self.coords.min(axis=0) - 12.0 * self.sigmas.max()
        hi = self.coords.max(axis=0) + 12.0 * self.sigmas.max()

        def density_times_entropy(t: np.ndarray) -> np.ndarray:
            lj = self._log_joint_proj(t)
            lx = special.logsumexp(lj, axis=1, keepdims=True)
            post = lj - lx
            return np.exp(lx[:, 0]) * -np.sum(np.exp(post) * post, axis=1)

        if r == 1:
            val, _ = integrate.quad(
                lambda v: float(density_times_entropy(np.array([[v]]))[0]),
                float(lo[0]),
                float(hi[0]),
                points=sorted(set(self.coords[:, 0].tolist()))[:50],
                epsabs=1e-13,
                epsrel=1e-11,
                limit=1000,
            )
            return h_c - val
        h = float(self.sigmas.min()) / 12.0
        grids = [np.linspace(lo[j], hi[j], int(math.ceil((hi[j] - lo[j]) / h)) + 1) for j in range(2)]
        total = 0.0
        for start in range(0, grids[0].shape[0], 256):
            g0 = grids[0][start : start + 256]
            pts = np.stack(np.meshgrid(g0, grids[1], indexing="ij"), axis=-1).reshape(-1, 2)
            total += float(density_times_entropy(pts).sum())
        return h_c - total * (grids[0][1] - grids[0][0]) * (grids[1][1] - grids[1][0])

    def _sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        c = rng.choice(self.n_classes, size=n, p=self.priors)
        x = self.means[c] + self.sigmas[c, None] * rng.standard_normal((n, self.dim_x))
        return x, c[:, None].astype(np.float64)

    def _log_ratio(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        c = _codes(y, self.n_classes, "y")
        # the orthogonal part of x has the same density under every class: it cancels
        lj = self._log_joint_proj((x - self.centre) @ self.basis)
        post = lj - special.logsumexp(lj, axis=1, keepdims=True)
        return post[np.arange(x.shape[0]), c] - np.log(self.priors[c])


def gaussian_classes(
    k: int,
    dim: int = 1,
    spacing: float = 2.0,
    layout: str = "line",
    priors: str = "uniform",
    sigma: float = 1.0,
    name: str | None = None,
) -> GaussianClasses:
    """Class-conditional Gaussians in a standard layout.

    Args:
        k: number of classes (>= 2).
        dim: number of features.
        spacing: distance between neighbouring class means (in units of ``sigma``'s scale).
        layout: ``"line"`` (means equally spaced on the diagonal direction of R^dim) or
            ``"circle"`` (means on a circle of circumference ``k·spacing`` in the plane of the
            first two diagonal-ish directions; needs ``dim >= 2``).
        priors: ``"uniform"`` or ``"skewed"`` (probabilities proportional to 1, 2, ..., k).
        sigma: the class standard deviation.

    Name ``"labels-{layout}-k{k}-d{dim}-sp{spacing}"`` (plus ``-skewed``, ``-s{sigma}``).
    """
    k = check_positive_int(k, "k", minimum=2)
    dim = check_positive_int(dim, "dim")
    sp = check_real(spacing, "spacing")
    sg = check_real(sigma, "sigma")
    if sp <= 0 or sg <= 0:
        raise ValueError("spacing and sigma must be > 0")
    check_choice(layout, "layout", ("line", "circle"))
    check_choice(priors, "priors", ("uniform", "skewed"))
    e1 = np.full(dim, 1.0 / math.sqrt(dim))
    if layout == "line":
        means = ((np.arange(k) - 0.5 * (k - 1)) * sp)[:, None] * e1[None, :]
    else:
        if dim < 2:
            raise ValueError("layout 'circle' needs dim >= 2")
        e2 = np.zeros(dim)
        e2[0], e2[1] = 1.0, -1.0
        e2 -= e1 * (e1 @ e2)
        e2 /= np.linalg.norm(e2)
        radius = k * sp / (2.0 * math.pi)
        ang = 2.0 * math.pi * np.arange(k) / k
        means = radius * (np.cos(ang)[:, None] * e1[None, :] + np.sin(ang)[:, None] * e2[None, :])
    pri = np.ones(k) if priors == "uniform" else np.arange(1, k + 1, dtype=np.float64)
    if name is None:
        name = f"labels-{layout}-k{k}-d{dim}-sp{format_number(sp)}"
        if priors == "skewed":
            name += "-skewed"
        if sg != 1.0:
            name += f"-s{format_number(sg)}"
    return GaussianClasses(means, sg, pri, name=name)


# ---------------------------------------------------------------------------------------------
# Quantised Gaussians
# ---------------------------------------------------------------------------------------------


class QuantizedGaussian(Task):
    """``(X*, Y*)`` standard bivariate normal with correlation ``rho``; ``Y`` = the equiprobable
    bin of ``Y*`` (``bins_y`` bins, codes ``0..bins_y-1``); ``X`` = ``X*`` (``bins_x=None``) or its
    equiprobable bin (``bins_x`` bins).

    The MI is exact (module docstring); ``discrete`` is ``"y"`` or ``"xy"``.
    Name ``"qgauss-rho{rho}-by{bins_y}"`` (plus ``-bx{bins_x}``).
    """

    def __init__(self, rho: float, bins_y: int, bins_x: int | None = None, name: str | None = None) -> None:
        self.rho = _check_rho(rho)
        self.bins_y = check_positive_int(bins_y, "bins_y", minimum=2)
        self.bins_x = None if bins_x is None else check_positive_int(bins_x, "bins_x", minimum=2)
        self.discrete = "y" if self.bins_x is None else "xy"
        self._s = math.sqrt(1.0 - self.rho**2)
        self.edges_y = special.ndtri(np.arange(self.bins_y + 1) / self.bins_y)  # -inf .. inf
        self.edges_x = None if self.bins_x is None else special.ndtri(np.arange(self.bins_x + 1) / self.bins_x)
        if name is None:
            name = f"qgauss-rho{format_number(self.rho)}-by{self.bins_y}" + ("" if self.bins_x is None else f"-bx{self.bins_x}")
        super().__init__(name, 1, 1, "discrete")
        self._table: np.ndarray | None = None

    def _cond_y(self, x: np.ndarray) -> np.ndarray:
        """``P(Y = j | X* = x)``, shape ``(n, bins_y)``."""
        cdf = special.ndtr((self.edges_y[None, :] - self.rho * np.asarray(x, dtype=np.float64).reshape(-1, 1)) / self._s)
        return np.clip(np.diff(cdf, axis=1), 0.0, 1.0)

    @property
    def table(self) -> np.ndarray:
        """``P(X = i, Y = j)`` ``(bins_x, bins_y)`` (both quantised only)."""
        if self.edges_x is None:
            raise AttributeError("table exists only when X is quantised too (bins_x given)")
        if self._table is None:
            t = np.empty((self.bins_x, self.bins_y))
            for i in range(self.bins_x):
                a, b = float(self.edges_x[i]), float(self.edges_x[i + 1])
                for j in range(self.bins_y):
                    t[i, j] = integrate.quad(
                        lambda v: math.exp(-0.5 * v * v - 0.5 * _LOG_2PI) * float(self._cond_y(np.array([v]))[0, j]),
                        a, b, epsabs=1e-14, epsrel=1e-12, limit=500,
                    )[0]
            self._table = t / t.sum()
        return self._table

    def _compute_mi(self) -> float:
        if self.edges_x is not None:
            t = self.table
            return entropy_of(t.sum(1)) + entropy_of(t.sum(0)) - entropy_of(t)

        def integrand(v: float) -> float:
            p = self._cond_y(np.array([v]))[0]
            p = p[p > 0]
            return math.exp(-0.5 * v * v - 0.5 * _LOG_2PI) * float(-np.sum(p * np.log(p)))

        pts = [float(e / self.rho) for e in self.edges_y[1:-1]] if self.rho != 0 else None
        cond, _ = integrate.quad(integrand, -40.0, 40.0, points=pts, epsabs=1e-13, epsrel=1e-11, limit=1000)
        return math.log(self.bins_y) - cond

    def _sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        xs = rng.standard_normal(n)
        ys = self.rho * xs + self._s * rng.standard_normal(n)
        y = np.searchsorted(self.edges_y[1:-1], ys, side="right").astype(np.float64)
        x = xs if self.edges_x is None else np.searchsorted(self.edges_x[1:-1], xs, side="right").astype(np.float64)
        return x[:, None], y[:, None]

    def _log_ratio(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        j = _codes(y, self.bins_y, "y")
        if self.edges_x is None:
            p = self._cond_y(x[:, 0])[np.arange(x.shape[0]), j]
            return np.log(p) + math.log(self.bins_y)
        i = _codes(x, self.bins_x, "x")
        t = self.table
        return np.log(t[i, j]) - np.log(t.sum(1)[i]) - np.log(t.sum(0)[j])


# ---------------------------------------------------------------------------------------------
# Discrete tables
# ---------------------------------------------------------------------------------------------


class DiscreteTable(Task):
    """``(X, Y)`` with joint probabilities ``table[i, j] = P(X = i, Y = j)``; codes in one column each.

    ``mi = H(X) + H(Y) − H(X, Y)`` exactly. Name default ``"table-{kx}x{ky}-{digest}"``.
    """

    discrete = "xy"

    def __init__(self, table: Any, name: str | None = None) -> None:
        t = _check_probabilities(table, "table")
        if t.ndim != 2 or min(t.shape) < 1:
            raise ValueError(f"table must be a 2-D array; got shape {t.shape}")
        self.table = t
        self.table.setflags(write=False)
        kx, ky = t.shape
        super().__init__(name or f"table-{kx}x{ky}-{array_digest(t)}", 1, 1, "discrete")

    def _compute_mi(self) -> float:
        t = self.table
        return entropy_of(t.sum(1)) + entropy_of(t.sum(0)) - entropy_of(t)

    def _sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        flat = rng.choice(self.table.size, size=n, p=self.table.ravel())
        i, j = np.divmod(flat, self.table.shape[1])
        return i[:, None].astype(np.float64), j[:, None].astype(np.float64)

    def _log_ratio(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        t = self.table
        i, j = _codes(x, t.shape[0], "x"), _codes(y, t.shape[1], "y")
        with np.errstate(divide="ignore"):
            out = np.log(t[i, j]) - np.log(t.sum(1)[i]) - np.log(t.sum(0)[j])
        if not np.isfinite(out).all():
            raise ValueError("a pair (x, y) has probability 0 under this table")
        return out


def symmetric_channel(k: int, error: float, name: str | None = None) -> DiscreteTable:
    """X uniform on ``k`` symbols; Y = X with probability ``1 − error``, else one of the other
    ``k − 1`` symbols uniformly. ``mi = log k − h(error) − error·log(k − 1)``.
    Name ``"channel-k{k}-e{error}"``."""
    k = check_positive_int(k, "k", minimum=2)
    e = check_real(error, "error")
    if not 0.0 <= e < 1.0:
        raise ValueError(f"error must be in [0, 1); got {e}")
    t = np.full((k, k), e / (k - 1))
    np.fill_diagonal(t, 1.0 - e)
    return DiscreteTable(t / k, name=name or f"channel-k{k}-e{format_number(e)}")


def random_table(kx: int, ky: int, concentration: float = 1.0, seed: int = 0, name: str | None = None) -> DiscreteTable:
    """A joint table drawn from a symmetric Dirichlet(``concentration``) over the ``kx·ky`` cells
    (from ``seed``). Name ``"table-{kx}x{ky}-a{concentration}-seed{seed}"``."""
    kx, ky = check_positive_int(kx, "kx"), check_positive_int(ky, "ky")
    a = check_real(concentration, "concentration")
    if a <= 0:
        raise ValueError(f"concentration must be > 0; got {a}")
    seed = check_positive_int(seed, "seed", minimum=0)
    t = np.random.default_rng(seed).dirichlet(np.full(kx * ky, a)).reshape(kx, ky)
    t = np.maximum(t, 1e-12)  # every cell possible (log_ratio finite)
    return DiscreteTable(t, name=name or f"table-{kx}x{ky}-a{format_number(a)}-seed{seed}")
