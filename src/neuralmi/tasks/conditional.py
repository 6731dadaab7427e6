r"""Distributions of ``(X, Y, Z)`` with known conditional mutual information I(X; Y | Z) (nats).

A :class:`ConditionalTask` is the three-variable analogue of :class:`~neuralmi.tasks.Task`:
``sample(n, seed) -> (x, y, z)``, ``dim_x``, ``dim_y``, ``dim_z``, the property :attr:`cmi`,
and ``log_ratio(x, y, z)``, the pointwise conditional MI

.. math:: \log\frac{p(x, y \mid z)}{p(x \mid z)\, p(y \mid z)},

whose mean under the joint distribution is the CMI (every task's stated CMI is checked against
that Monte Carlo average in the tests). It is deliberately *not* a ``Task`` (its ``sample``
returns three arrays), so the MI benchmark never picks one up by mistake.

Families:

* :class:`ConditionalGaussian` — (X, Y, Z) jointly Gaussian:
  ``I = ½ (log det Σ_xz + log det Σ_yz − log det Σ − log det Σ_z)``. Built by
  :func:`confounded_gaussian` (Z drives X and Y, plus a residual correlation ρ: CMI
  ``−(d/2) log(1 − ρ²)``), :func:`chain_gaussian` (X → Z → Y: CMI exactly 0, MI > 0) and
  :func:`collider_gaussian` (X → Z ← Y: MI exactly 0, CMI > 0).
* :class:`TransformedConditional` — bijections of X, Y and Z separately (:func:`transform_conditional`,
  with the bijections of :mod:`neuralmi.tasks.transforms`); the CMI and the pointwise CMI are
  unchanged (the Jacobians cancel).
* :class:`AdditiveNoiseConditional` — Z ~ N(0, I), ``X = f(A z) + e_x``, ``Y = f(B z) + e_y`` with
  a non-linear ``f`` and ``(e_x, e_y)`` from any MI task independent of Z: given Z, X and Y are
  shifts of the noise, so the CMI is the noise task's MI (Gaussian or Student-t noise).
* :class:`NonlinearChain` — X → Z → Y through non-linear maps: CMI exactly 0.

Names encode every parameter (``cgauss-1x1-z5-rho0.5``, ``chain-gauss-1x1-z5``,
``halfcube-cgauss-1x1-z5-rho0.5``, ``cnoise-tanh-z10-gauss-d1-rho0.8``, ...).

>>> from neuralmi.tasks import confounded_gaussian
>>> task = confounded_gaussian(dim_z=5, rho=0.5)
>>> x, y, z = task.sample(1000, seed=0)
>>> x.shape, y.shape, z.shape, round(task.cmi, 4)
((1000, 1), (1000, 1), (1000, 5), 0.1438)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from neuralmi._validation import as_samples, check_choice, check_positive_int
from neuralmi.tasks.base import Task, check_real, format_number
from neuralmi.tasks.gaussian import _check_rho, _logdet_from_chol, check_covariance, gaussian_logpdf
from neuralmi.tasks.transforms import Bijection

__all__ = [
    "ConditionalTask",
    "ConditionalGaussian",
    "confounded_gaussian",
    "chain_gaussian",
    "collider_gaussian",
    "cmi_gaussian",
    "TransformedConditional",
    "transform_conditional",
    "AdditiveNoiseConditional",
    "NonlinearChain",
    "NONLINEARITIES",
]


class ConditionalTask:
    """A joint distribution of ``(X, Y, Z)`` with known conditional MI I(X; Y | Z).

    Attributes:
        name: stable identifier encoding the parameters.
        dim_x, dim_y, dim_z: dimensions.
        family: ``"gaussian"``, ``"chain"``, ``"collider"``, ``"transformed"``, ``"additive-noise"``.

    Subclasses implement ``_sample(n, rng)``, ``_compute_cmi()`` and ``_log_ratio(x, y, z)``.
    """

    def __init__(self, name: str, dim_x: int, dim_y: int, dim_z: int, family: str) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError("name must be a non-empty string")
        self.name = name
        self.dim_x = check_positive_int(dim_x, "dim_x")
        self.dim_y = check_positive_int(dim_y, "dim_y")
        self.dim_z = check_positive_int(dim_z, "dim_z")
        self.family = family
        self._cmi_cache: float | None = None

    @property
    def cmi(self) -> float:
        """The true conditional MI I(X; Y | Z) in nats (exact)."""
        if self._cmi_cache is None:
            value = float(self._compute_cmi())
            if not math.isfinite(value) or value < -1e-10:
                raise RuntimeError(f"task {self.name!r} computed an invalid CMI {value}")
            self._cmi_cache = max(value, 0.0)
        return self._cmi_cache

    @property
    def mi_xy(self) -> float | None:
        """The unconditional MI I(X; Y) in nats where it is known in closed form, else None."""
        return None

    def sample(self, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Draw ``n`` i.i.d. triples; the same seed gives identical arrays.

        Returns:
            float64 ``x`` ``(n, dim_x)``, ``y`` ``(n, dim_y)``, ``z`` ``(n, dim_z)``.
        """
        n = check_positive_int(n, "n")
        seed = check_positive_int(seed, "seed", minimum=0)
        x, y, z = self._sample(n, np.random.default_rng(seed))
        return tuple(  # type: ignore[return-value]
            np.ascontiguousarray(a, dtype=np.float64).reshape(n, d)
            for a, d in ((x, self.dim_x), (y, self.dim_y), (z, self.dim_z))
        )

    def log_ratio(self, x: Any, y: Any, z: Any) -> np.ndarray:
        """Pointwise conditional MI ``log p(x, y | z) − log p(x | z) − log p(y | z)``, ``(n,)``,
        in nats; its mean under the joint distribution is :attr:`cmi`.

        Raises:
            ValueError: wrong shapes or non-finite input.
        """
        arrays = []
        for a, name, d in ((x, "x", self.dim_x), (y, "y", self.dim_y), (z, "z", self.dim_z)):
            arr = as_samples(a, name)
            if arr.shape[1] != d:
                raise ValueError(f"{name} must have {d} columns for task {self.name!r}; got {arr.shape[1]}")
            arrays.append(arr)
        if len({a.shape[0] for a in arrays}) != 1:
            raise ValueError("x, y and z must have the same number of rows")
        out = np.asarray(self._log_ratio(*arrays), dtype=np.float64).reshape(arrays[0].shape[0])
        return out

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable description: name, family, dimensions, CMI (and MI where known)."""
        return {
            "name": self.name,
            "family": self.family,
            "dim_x": self.dim_x,
            "dim_y": self.dim_y,
            "dim_z": self.dim_z,
            "cmi": self.cmi,
            "mi_xy": self.mi_xy,
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dim_x={self.dim_x}, dim_y={self.dim_y}, dim_z={self.dim_z})"

    # subclass interface
    def _sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _compute_cmi(self) -> float:
        raise NotImplementedError

    def _log_ratio(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        raise NotImplementedError


# ---------------------------------------------------------------------------------------------
# Gaussian
# ---------------------------------------------------------------------------------------------


class ConditionalGaussian(ConditionalTask):
    """``(X, Y, Z) ~ N(0, cov)``: X the first ``dim_x`` coordinates, Y the next ``dim_y``, Z the rest.

    ``cmi = ½ (log det Σ_xz + log det Σ_yz − log det Σ − log det Σ_z)``;
    ``mi_xy = ½ (log det Σ_xx + log det Σ_yy − log det Σ_xy)``.

    Args:
        cov: the joint covariance, symmetric positive definite, ``dim_x + dim_y + dim_z`` square.
        dim_x, dim_y: sizes of the X and Y blocks (Z gets the rest, at least 1).
        name: default ``"cgauss-custom-{dx}x{dy}-z{dz}-{digest}"``.
        family: recorded family (the factories set ``"chain"`` and ``"collider"``).
    """

    def __init__(self, cov: Any, dim_x: int, dim_y: int, name: str | None = None, family: str = "gaussian") -> None:
        from neuralmi.tasks.base import array_digest

        arr, chol = check_covariance(cov, "cov")
        dim_x = check_positive_int(dim_x, "dim_x")
        dim_y = check_positive_int(dim_y, "dim_y")
        dim_z = arr.shape[0] - dim_x - dim_y
        if dim_z < 1:
            raise ValueError(f"cov of size {arr.shape[0]} leaves no Z coordinates after dim_x={dim_x}, dim_y={dim_y}")
        if name is None:
            name = f"cgauss-custom-{dim_x}x{dim_y}-z{dim_z}-{array_digest(arr)}"
        super().__init__(name, dim_x, dim_y, dim_z, family)
        self.cov = arr
        self.cov.setflags(write=False)
        self._chol = chol
        ix = np.arange(dim_x)
        iy = np.arange(dim_x, dim_x + dim_y)
        iz = np.arange(dim_x + dim_y, arr.shape[0])
        self._blocks = {
            key: check_covariance(arr[np.ix_(idx, idx)], f"cov_{key}")[1]
            for key, idx in (
                ("xz", np.concatenate([ix, iz])),
                ("yz", np.concatenate([iy, iz])),
                ("z", iz),
                ("x", ix),
                ("y", iy),
                ("xy", np.concatenate([ix, iy])),
            )
        }

    def _compute_cmi(self) -> float:
        b = self._blocks
        return 0.5 * (
            _logdet_from_chol(b["xz"]) + _logdet_from_chol(b["yz"]) - _logdet_from_chol(self._chol) - _logdet_from_chol(b["z"])
        )

    @property
    def mi_xy(self) -> float:
        b = self._blocks
        return max(0.0, 0.5 * (_logdet_from_chol(b["x"]) + _logdet_from_chol(b["y"]) - _logdet_from_chol(b["xy"])))

    def _sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        w = rng.standard_normal((n, self.cov.shape[0])) @ self._chol.T
        dx, dy = self.dim_x, self.dim_y
        return w[:, :dx], w[:, dx : dx + dy], w[:, dx + dy :]

    def _log_ratio(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        b = self._blocks
        return (
            gaussian_logpdf(np.hstack([x, y, z]), self._chol)
            + gaussian_logpdf(z, b["z"])
            - gaussian_logpdf(np.hstack([x, z]), b["xz"])
            - gaussian_logpdf(np.hstack([y, z]), b["yz"])
        )


def _loadings(d_out: int, d_in: int, strength: float, rng: np.random.Generator) -> np.ndarray:
    """A ``(d_out, d_in)`` matrix of random directions, each row of norm ``strength``: every
    output coordinate depends on all the input coordinates (so none can be ignored)."""
    a = rng.standard_normal((d_out, d_in))
    return strength * a / np.linalg.norm(a, axis=1, keepdims=True)


def _linked_directions(d_z: int, n_u: int, n_v: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors in R^d_z: ``U`` ``(d_z, n_u)`` random, and ``V`` ``(d_z, n_v)`` whose column j
    makes a 45° angle with column ``j mod n_u`` of ``U`` (the same vector when ``d_z = 1``), so
    that paths through Z along ``U`` and ``V`` always overlap (never orthogonal by chance)."""
    u = rng.standard_normal((d_z, n_u))
    u /= np.linalg.norm(u, axis=0, keepdims=True)
    v = np.empty((d_z, n_v))
    for j in range(n_v):
        base = u[:, j % n_u]
        w = rng.standard_normal(d_z)
        w -= base * (base @ w)
        norm = np.linalg.norm(w)
        v[:, j] = base if d_z == 1 or norm < 1e-12 else (base + w / norm) / math.sqrt(2.0)
    return u, v


def _suffix(strength: float, seed: int, default_strength: float = 1.0) -> str:
    out = "" if strength == default_strength else f"-s{format_number(strength)}"
    return out + ("" if seed == 0 else f"-seed{seed}")


def _check_strength(strength: Any) -> float:
    s = check_real(strength, "strength")
    if s < 0:
        raise ValueError(f"strength must be >= 0; got {s}")
    return s


def confounded_gaussian(
    dim_z: int,
    rho: float,
    dim_x: int = 1,
    dim_y: int = 1,
    strength: float = 1.0,
    seed: int = 0,
    name: str | None = None,
) -> ConditionalGaussian:
    """Z confounds X and Y, which are also directly related: ``Z ~ N(0, I)``,
    ``X = A z + e_x``, ``Y = B z + e_y``, with ``(e_x, e_y)`` standard normal pairs of correlation
    ``rho`` (``min(dim_x, dim_y)`` pairs, the rest independent) and ``A``, ``B`` random rows of
    norm ``strength`` (drawn from ``seed``), so every Z coordinate matters.

    ``cmi = −(min(dim_x, dim_y)/2) log(1 − rho²)``; ``mi_xy`` is larger (Z adds dependence).
    Name ``"cgauss-{dx}x{dy}-z{dz}-rho{rho}"`` (plus ``-s{strength}``, ``-seed{seed}``).
    """
    dim_x, dim_y = check_positive_int(dim_x, "dim_x"), check_positive_int(dim_y, "dim_y")
    dim_z = check_positive_int(dim_z, "dim_z")
    r = _check_rho(rho)
    s = _check_strength(strength)
    seed = check_positive_int(seed, "seed", minimum=0)
    rng = np.random.default_rng(seed)
    a, b = _loadings(dim_x, dim_z, s, rng), _loadings(dim_y, dim_z, s, rng)
    m = min(dim_x, dim_y)
    e_cross = np.zeros((dim_x, dim_y))
    e_cross[np.arange(m), np.arange(m)] = r
    cov = np.block(
        [
            [a @ a.T + np.eye(dim_x), a @ b.T + e_cross, a],
            [b @ a.T + e_cross.T, b @ b.T + np.eye(dim_y), b],
            [a.T, b.T, np.eye(dim_z)],
        ]
    )
    if name is None:
        name = f"cgauss-{dim_x}x{dim_y}-z{dim_z}-rho{format_number(r)}" + _suffix(s, seed)
    return ConditionalGaussian(cov, dim_x, dim_y, name=name)


def cmi_gaussian(cmi: float, dim_z: int, dim_x: int = 1, dim_y: int = 1, strength: float = 1.0, seed: int = 0) -> ConditionalGaussian:
    """:func:`confounded_gaussian` with the ``rho`` that gives ``cmi`` nats; name
    ``"cgauss-{dx}x{dy}-z{dz}-cmi{cmi}"`` (plus ``-s``, ``-seed``)."""
    from neuralmi.tasks.gaussian import rho_for_mi

    m = min(check_positive_int(dim_x, "dim_x"), check_positive_int(dim_y, "dim_y"))
    rho = rho_for_mi(cmi, m)
    name = f"cgauss-{dim_x}x{dim_y}-z{dim_z}-cmi{format_number(cmi)}" + _suffix(float(strength), int(seed))
    return confounded_gaussian(dim_z, rho, dim_x, dim_y, strength, seed, name=name)


def chain_gaussian(
    dim_z: int, dim_x: int = 1, dim_y: int = 1, strength: float = 1.5, seed: int = 0, name: str | None = None
) -> ConditionalGaussian:
    """A Markov chain X → Z → Y: ``X ~ N(0, I)``, ``Z = A x + e_z``, ``Y = B z + e_y`` (standard
    normal noises; the columns of ``A`` and rows of ``B`` are random directions of length
    ``strength``, each row of ``B`` at 45° to a column of ``A``). Y depends on X only through Z,
    so ``cmi = 0`` exactly, while ``mi_xy > 0``. Name ``"chain-gauss-{dx}x{dy}-z{dz}"``."""
    dim_x, dim_y = check_positive_int(dim_x, "dim_x"), check_positive_int(dim_y, "dim_y")
    dim_z = check_positive_int(dim_z, "dim_z")
    s = _check_strength(strength)
    seed = check_positive_int(seed, "seed", minimum=0)
    rng = np.random.default_rng(seed)
    u, v = _linked_directions(dim_z, dim_x, dim_y, rng)
    a, b = s * u, s * v.T  # Z = A x + e_z, Y = B z + e_y
    cz = a @ a.T + np.eye(dim_z)  # Cov(Z)
    cov = np.block(
        [
            [np.eye(dim_x), a.T @ b.T, a.T],
            [b @ a, b @ cz @ b.T + np.eye(dim_y), b @ cz],
            [a, cz @ b.T, cz],
        ]
    )
    if name is None:
        name = f"chain-gauss-{dim_x}x{dim_y}-z{dim_z}" + _suffix(s, seed, 1.5)
    task = ConditionalGaussian(cov, dim_x, dim_y, name=name, family="chain")
    task._cmi_cache = 0.0  # exact by construction (the determinant formula gives ~1e-16)
    return task


def collider_gaussian(
    dim_z: int,
    dim_x: int = 1,
    dim_y: int = 1,
    strength: float = 2.0,
    noise: float = 1.0,
    seed: int = 0,
    name: str | None = None,
) -> ConditionalGaussian:
    """A collider X → Z ← Y: X and Y independent standard normal, ``Z = A x + B y + noise·e_z``
    (the columns of ``A`` and ``B`` random directions of length ``strength``, each column of ``B``
    at 45° to one of ``A``). ``mi_xy = 0`` exactly; conditioning on the common effect makes them dependent, ``cmi > 0``
    (closed form). Name ``"collider-gauss-{dx}x{dy}-z{dz}"`` (plus ``-n{noise}``, ...)."""
    dim_x, dim_y = check_positive_int(dim_x, "dim_x"), check_positive_int(dim_y, "dim_y")
    dim_z = check_positive_int(dim_z, "dim_z")
    s = _check_strength(strength)
    sigma = check_real(noise, "noise")
    if sigma <= 0:
        raise ValueError(f"noise must be > 0; got {sigma}")
    seed = check_positive_int(seed, "seed", minimum=0)
    rng = np.random.default_rng(seed)
    u, v = _linked_directions(dim_z, dim_x, dim_y, rng)
    a, b = s * u, s * v  # Z = A x + B y + noise e_z
    cz = a @ a.T + b @ b.T + sigma**2 * np.eye(dim_z)
    cov = np.block(
        [
            [np.eye(dim_x), np.zeros((dim_x, dim_y)), a.T],
            [np.zeros((dim_y, dim_x)), np.eye(dim_y), b.T],
            [a, b, cz],
        ]
    )
    if name is None:
        name = f"collider-gauss-{dim_x}x{dim_y}-z{dim_z}" + _suffix(s, seed, 2.0)
        if sigma != 1.0:
            name += f"-n{format_number(sigma)}"
    return ConditionalGaussian(cov, dim_x, dim_y, name=name, family="collider")


# ---------------------------------------------------------------------------------------------
# Bijections of X, Y and Z
# ---------------------------------------------------------------------------------------------


class TransformedConditional(ConditionalTask):
    """``(fx(X), fy(Y), fz(Z))`` for ``(X, Y, Z)`` from ``base``: the same CMI.

    ``log_ratio`` is the base's at the inverse images (the Jacobians of fx and fy cancel between
    ``p(x, y | z)`` and ``p(x | z) p(y | z)``; a map of Z only relabels what is conditioned on).
    Build with :func:`transform_conditional`.
    """

    def __init__(
        self, base: ConditionalTask, fx: Bijection | None, fy: Bijection | None, fz: Bijection | None, name: str
    ) -> None:
        self.base, self.fx, self.fy, self.fz = base, fx, fy, fz
        dims = [
            base_dim if f is None else f.out_dim(base_dim)
            for f, base_dim in ((fx, base.dim_x), (fy, base.dim_y), (fz, base.dim_z))
        ]
        super().__init__(name, *dims, family="transformed")

    def _compute_cmi(self) -> float:
        return self.base.cmi

    @property
    def mi_xy(self) -> float | None:
        return self.base.mi_xy

    def sample(self, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The maps applied to ``base.sample(n, seed)``."""
        out = []
        for a, f in zip(self.base.sample(n, seed), (self.fx, self.fy, self.fz)):
            out.append(np.ascontiguousarray(a if f is None else f(a), dtype=np.float64))
        return out[0], out[1], out[2]

    def _log_ratio(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        inv = []
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            for a, f, side in ((x, self.fx, "x"), (y, self.fy, "y"), (z, self.fz, "z")):
                b = a if f is None else f.inverse(a)
                if not np.isfinite(b).all():
                    raise ValueError(f"{side} is outside the range where {f.name!r} can be inverted in floating point")
                inv.append(b)
        return self.base.log_ratio(*inv)


def transform_conditional(
    task: ConditionalTask,
    fx: Bijection | None = None,
    fy: Bijection | None = None,
    fz: Bijection | None = None,
    name: str | None = None,
) -> TransformedConditional:
    """A new task ``(fx(X), fy(Y), fz(Z))`` with the same CMI as ``task``.

    ``fx``, ``fy``, ``fz``: :class:`~neuralmi.tasks.Bijection` objects (with inverses) or None.
    Default name ``"{t}-{base}"`` when one map is applied to all three, else
    ``"{tx}@x-{ty}@y-{tz}@z-{base}"`` (missing sides omitted).
    """
    if not isinstance(task, ConditionalTask):
        raise TypeError(f"task must be a ConditionalTask; got {type(task).__name__}")
    maps = {"x": fx, "y": fy, "z": fz}
    for side, f in maps.items():
        if f is not None and not isinstance(f, Bijection):
            raise TypeError(f"f{side} must be a Bijection or None; got {type(f).__name__}")
    given = {side: f for side, f in maps.items() if f is not None}
    if not given:
        raise ValueError("give at least one of fx, fy and fz")
    if name is None:
        names = {f.name for f in given.values()}
        if len(given) == 3 and len(names) == 1:
            name = f"{names.pop()}-{task.name}"
        else:
            name = "-".join(f"{f.name}@{side}" for side, f in given.items()) + f"-{task.name}"
    return TransformedConditional(task, fx, fy, fz, name)


# ---------------------------------------------------------------------------------------------
# Non-linear confounding with additive noise, and a non-linear chain
# ---------------------------------------------------------------------------------------------

#: the non-linear maps available to the additive-noise and chain tasks (elementwise)
NONLINEARITIES = {
    "tanh": lambda u: np.tanh(2.0 * u),
    "sin": lambda u: np.sin(2.0 * u),
    "square": lambda u: u * u - 1.0,
    "cubic": lambda u: u**3 / 3.0,
}


class AdditiveNoiseConditional(ConditionalTask):
    """Non-linear confounding: ``Z ~ N(0, I_dz)``, ``X = strength·f(A z) + e_x``,
    ``Y = strength·f(B z) + e_y``, with ``(e_x, e_y)`` drawn from ``noise`` (any MI task with a
    ``log_ratio``, e.g. a correlated Gaussian or a Student-t pair) independently of Z, and ``A``,
    ``B`` random unit-norm rows (from ``seed``).

    Given Z, X and Y are the noise shifted by functions of Z, so
    ``I(X; Y | Z) = I(e_x; e_y) = noise.mi`` and the pointwise CMI is
    ``noise.log_ratio(x − strength·f(A z), y − strength·f(B z))``. The marginal I(X; Y) mixes in
    the confounding (not known in closed form).

    Name ``"cnoise-{f}-z{dz}-{noise.name}"`` (plus ``-s{strength}``, ``-seed{seed}``).
    """

    def __init__(self, noise: Task, dim_z: int, f: str = "tanh", strength: float = 1.5, seed: int = 0, name: str | None = None) -> None:
        if not isinstance(noise, Task) or not noise.has_log_ratio:
            raise TypeError("noise must be a neuralmi Task with a log_ratio (e.g. CorrelatedGaussian, StudentT)")
        dim_z = check_positive_int(dim_z, "dim_z")
        self.f_name = check_choice(f, "f", tuple(NONLINEARITIES))
        self.strength = _check_strength(strength)
        self.seed = check_positive_int(seed, "seed", minimum=0)
        self.noise = noise
        rng = np.random.default_rng(self.seed)
        self.a = _loadings(noise.dim_x, dim_z, 1.0, rng)
        self.b = _loadings(noise.dim_y, dim_z, 1.0, rng)
        if name is None:
            name = f"cnoise-{self.f_name}-z{dim_z}-{noise.name}" + _suffix(self.strength, self.seed, 1.5)
        super().__init__(name, noise.dim_x, noise.dim_y, dim_z, "additive-noise")

    def _shifts(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        f = NONLINEARITIES[self.f_name]
        return self.strength * f(z @ self.a.T), self.strength * f(z @ self.b.T)

    def _compute_cmi(self) -> float:
        return self.noise.mi

    def _sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        z = rng.standard_normal((n, self.dim_z))
        ex, ey = self.noise.sample(n, seed=int(rng.integers(0, 2**31 - 1)))
        gx, gy = self._shifts(z)
        return gx + ex, gy + ey, z

    def _log_ratio(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        gx, gy = self._shifts(z)
        return self.noise.log_ratio(x - gx, y - gy)


class NonlinearChain(ConditionalTask):
    """A non-linear Markov chain X → Z → Y: ``X ~ N(0, I_dx)``,
    ``Z = strength·f(A x) + e_z`` (``dim_z`` coordinates), ``Y = strength·f(B z) + sigma·e_y``,
    standard normal noises, random unit-norm rows ``A``, ``B`` (from ``seed``). Y depends on X only
    through Z: ``cmi = 0`` exactly (the pointwise CMI is 0 everywhere), while X and Y are
    dependent. Name ``"chain-{f}-{dx}x{dy}-z{dz}"`` (plus ``-s``, ``-seed``)."""

    def __init__(
        self,
        dim_z: int,
        f: str = "tanh",
        dim_x: int = 1,
        dim_y: int = 1,
        strength: float = 1.5,
        sigma: float = 0.5,
        seed: int = 0,
        name: str | None = None,
    ) -> None:
        dim_x, dim_y = check_positive_int(dim_x, "dim_x"), check_positive_int(dim_y, "dim_y")
        dim_z = check_positive_int(dim_z, "dim_z")
        self.f_name = check_choice(f, "f", tuple(NONLINEARITIES))
        self.strength = _check_strength(strength)
        self.sigma = check_real(sigma, "sigma")
        if self.sigma <= 0:
            raise ValueError(f"sigma must be > 0; got {self.sigma}")
        self.seed = check_positive_int(seed, "seed", minimum=0)
        rng = np.random.default_rng(self.seed)
        self.a = _loadings(dim_z, dim_x, 1.0, rng)
        self.b = _loadings(dim_y, dim_z, 1.0, rng)
        if name is None:
            name = f"chain-{self.f_name}-{dim_x}x{dim_y}-z{dim_z}" + _suffix(self.strength, self.seed, 1.5)
        super().__init__(name, dim_x, dim_y, dim_z, "chain")

    def _compute_cmi(self) -> float:
        return 0.0

    def _sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        f = NONLINEARITIES[self.f_name]
        x = rng.standard_normal((n, self.dim_x))
        z = self.strength * f(x @ self.a.T) + rng.standard_normal((n, self.dim_z))
        y = self.strength * f(z @ self.b.T / math.sqrt(1.0 + self.strength**2)) + self.sigma * rng.standard_normal((n, self.dim_y))
        return x, y, z

    def _log_ratio(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        return np.zeros(x.shape[0])
