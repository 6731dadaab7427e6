"""MI-preserving transforms: combinators that return new tasks with the same mutual information.

If ``f`` and ``g`` are injective measurable maps, ``I(f(X); g(Y)) = I(X; Y)``. Applying smooth
bijections to a Gaussian or Student-t pair is how non-Gaussian tasks with known MI are built
(as in bmi). The pointwise MI is also preserved::

    log_ratio_new(f(x), g(y)) = log_ratio_base(x, y)

(the Jacobians of ``f`` and ``g`` cancel between joint and marginals), so a transformed task has
``log_ratio`` whenever its maps have inverses.

Ready bijections (each acts on a sample matrix of shape ``(n, d)``):

* :class:`NormalCDF`  ``x -> Φ(x)`` coordinatewise (standard-normal coordinates become U(0, 1)).
* :class:`HalfCube`   ``x -> x·|x|^{1/2}`` coordinatewise (bmi's "half-cube").
* :class:`Asinh`      ``x -> asinh(x)`` coordinatewise (tames Student-t tails).
* :class:`Wiggly`     ``x -> x + a·sin(b·x)`` coordinatewise, strictly increasing when ``|a·b| < 1``.
* :class:`Spiral`     ``x -> R(v·|x|²)·x``: a rotation by an angle proportional to the squared
  norm, in the coordinate planes (0,1), (2,3), ...; norm-preserving, inverse ``R(−v·|x|²)``.
* :class:`Linear`     ``x -> A x`` with ``A`` of full column rank (``rotate``, ``embed``).

Further maps, used to rebuild benchmark-mi's tasks (:mod:`neuralmi.tasks.beyond_normal`):

* :class:`Affine`       ``x -> s·x + t`` coordinatewise (``s != 0``).
* :class:`SineSum`      ``x -> x + Σ_k a_k·sin(b_k·x + c_k)`` coordinatewise, strictly increasing
  when ``Σ_k |a_k·b_k| < 1`` (bmi's "wiggly" maps are two such sums).
* :class:`PlaneSpiral`  ``x -> exp(v·|x|²·G_ij)·x``: the rotation by ``v·|x|²`` in the single
  coordinate plane (i, j) (bmi's spiral, whose generator is ``so_generator(n, i, j)``).
* :class:`SwissRoll`    ``u ∈ (0, 1) -> (t·cos t, t·sin t)/21`` with ``t = 1.5π(1 + 2u)``: an
  embedding of an interval as a curve in R² (bmi's ``swissroll2d``); injective, so MI is kept.
* :class:`GaussianToMixture`  ``z -> F⁻¹(Φ(z))`` coordinatewise, ``F`` the CDF of a mixture of
  normals: standard normal coordinates get that mixture as marginal (bmi's "bimodal" task).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import special

from neuralmi._validation import check_choice, check_positive_int
from neuralmi.tasks.base import Task, check_real, format_number

__all__ = [
    "Bijection",
    "NormalCDF",
    "HalfCube",
    "Asinh",
    "Wiggly",
    "Spiral",
    "Linear",
    "Affine",
    "SineSum",
    "PlaneSpiral",
    "SwissRoll",
    "GaussianToMixture",
    "TransformedTask",
    "transform",
    "normal_cdf",
    "half_cube",
    "asinh",
    "wiggly",
    "spiral",
    "rotate",
    "embed",
]


class Bijection:
    """An injective map of sample matrices ``(n, d_in) -> (n, d_out)`` with a known inverse.

    Attributes:
        name: short text recorded in the names of transformed tasks.
    """

    name: str = "bijection"

    def __call__(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def inverse(self, y: np.ndarray) -> np.ndarray:
        """The left inverse: ``inverse(self(x)) == x`` up to rounding."""
        raise NotImplementedError

    def out_dim(self, d: int) -> int:
        """Output dimension for input dimension ``d`` (raises ValueError if ``d`` is unsupported)."""
        return d

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class NormalCDF(Bijection):
    """``x -> Φ(x)`` coordinatewise; inverse ``Φ⁻¹``. Standard normal marginals become U(0, 1).

    Meant for Gaussian bases: in float64 it is injective for ``-37 < x < 8`` only (beyond, Φ
    rounds to 0 or 1), so heavy-tailed inputs lose information in their far tails.
    """

    name = "normalcdf"

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return special.ndtr(x)

    def inverse(self, y: np.ndarray) -> np.ndarray:
        return special.ndtri(y)


class HalfCube(Bijection):
    """``x -> x·|x|^{1/2}`` coordinatewise; inverse ``y -> sign(y)·|y|^{2/3}``."""

    name = "halfcube"

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return x * np.sqrt(np.abs(x))

    def inverse(self, y: np.ndarray) -> np.ndarray:
        return np.sign(y) * np.abs(y) ** (2.0 / 3.0)


class Asinh(Bijection):
    """``x -> asinh(x)`` coordinatewise; inverse ``sinh``."""

    name = "asinh"

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return np.arcsinh(x)

    def inverse(self, y: np.ndarray) -> np.ndarray:
        return np.sinh(y)


class Wiggly(Bijection):
    """``x -> x + a·sin(b·x)`` coordinatewise, strictly increasing because ``|a·b| < 1``
    (the derivative is ``1 + a·b·cos(b·x) >= 1 − |a·b| > 0``).

    The inverse is computed by Newton's method safeguarded by bisection on the bracket
    ``[y − |a|, y + |a|]``.

    Args:
        amplitude: ``a`` (non-zero).
        frequency: ``b`` (non-zero); ``|a·b| < 1`` is required.
    Name: ``"wiggly"`` for the defaults (a = 0.4, b = 2), else ``"wiggly_a{a}_b{b}"``.
    """

    def __init__(self, amplitude: float = 0.4, frequency: float = 2.0) -> None:
        a = check_real(amplitude, "amplitude")
        b = check_real(frequency, "frequency")
        if a == 0.0 or b == 0.0:
            raise ValueError("amplitude and frequency must be non-zero")
        if not abs(a * b) < 1.0:
            raise ValueError(f"need |amplitude·frequency| < 1 for a bijection; got {abs(a * b)}")
        self.amplitude = a
        self.frequency = b
        if (a, b) == (0.4, 2.0):
            self.name = "wiggly"
        else:
            self.name = f"wiggly_a{format_number(a)}_b{format_number(b)}"

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return x + self.amplitude * np.sin(self.frequency * x)

    def inverse(self, y: np.ndarray) -> np.ndarray:
        # Safeguarded Newton: the root lies in [y − |a|, y + |a|]; a Newton step that leaves the
        # current bracket is replaced by bisection. Only unconverged entries are iterated.
        a, b = self.amplitude, self.frequency
        target = np.asarray(y, dtype=np.float64)
        flat = target.ravel()
        x = flat.copy()
        lo = flat - abs(a)
        hi = flat + abs(a)
        active = np.arange(flat.size)
        for _ in range(200):
            xa, ta = x[active], flat[active]
            r = xa + a * np.sin(b * xa) - ta
            pos = r > 0
            hi[active] = np.where(pos, xa, hi[active])
            lo[active] = np.where(pos, lo[active], xa)
            x_new = xa - r / (1.0 + a * b * np.cos(b * xa))
            la, ha = lo[active], hi[active]
            x_new = np.where((x_new < la) | (x_new > ha), 0.5 * (la + ha), x_new)
            x[active] = x_new
            moving = np.abs(x_new - xa) > 1e-15 * np.maximum(1.0, np.abs(xa))
            active = active[moving]
            if active.size == 0:
                break
        return x.reshape(target.shape)


class Spiral(Bijection):
    """``x -> R(v·|x|²)·x``: rotation by the angle ``θ = v·|x|²`` (radians) in each coordinate
    plane (0,1), (2,3), ... (an odd last coordinate is left alone).

    ``R(θ) = exp(θ·A)`` for the block-diagonal skew-symmetric generator ``A``; rotations keep
    ``|x|``, so the inverse is ``y -> R(−v·|y|²)·y``. Needs ``d >= 2``.

    Args:
        speed: ``v`` (non-zero). Name: ``"spiral"`` for the default 0.5, else ``"spiral_v{v}"``.
    """

    def __init__(self, speed: float = 0.5) -> None:
        v = check_real(speed, "speed")
        if v == 0.0:
            raise ValueError("speed must be non-zero")
        self.speed = v
        self.name = "spiral" if v == 0.5 else f"spiral_v{format_number(v)}"

    def out_dim(self, d: int) -> int:
        if d < 2:
            raise ValueError(f"the spiral transform needs dimension >= 2; got {d}")
        return d

    def _rotate(self, x: np.ndarray, sign: float) -> np.ndarray:
        theta = sign * self.speed * np.sum(x * x, axis=1, keepdims=True)
        c, s = np.cos(theta), np.sin(theta)
        out = x.copy()
        m = 2 * (x.shape[1] // 2)
        even, odd = x[:, 0:m:2], x[:, 1:m:2]
        out[:, 0:m:2] = c * even - s * odd
        out[:, 1:m:2] = s * even + c * odd
        return out

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self._rotate(x, 1.0)

    def inverse(self, y: np.ndarray) -> np.ndarray:
        return self._rotate(y, -1.0)


class Linear(Bijection):
    """``x -> x Aᵀ`` for a matrix ``A`` of shape ``(d_out, d_in)`` with full column rank
    (so ``d_out >= d_in``); the inverse is the pseudo-inverse on the range of ``A``.

    Args:
        matrix: ``A``.
        name: recorded in task names (default ``"linear"``).
    """

    def __init__(self, matrix: Any, name: str = "linear") -> None:
        a = np.array(matrix, dtype=np.float64)
        if a.ndim != 2 or a.size == 0:
            raise ValueError(f"matrix must be a non-empty 2-D array; got shape {a.shape}")
        if not np.isfinite(a).all():
            raise ValueError("matrix contains NaN or infinite entries")
        if a.shape[0] < a.shape[1]:
            raise ValueError(f"matrix must have at least as many rows as columns to be injective; got {a.shape}")
        sv = np.linalg.svd(a, compute_uv=False)
        if sv[-1] <= 1e-10 * sv[0]:
            raise ValueError("matrix must have full column rank (it is singular)")
        self.matrix = a
        self.matrix.setflags(write=False)
        self._pinv = np.linalg.pinv(a)
        self.name = name

    def out_dim(self, d: int) -> int:
        if d != self.matrix.shape[1]:
            raise ValueError(f"this linear map takes dimension {self.matrix.shape[1]}; got {d}")
        return self.matrix.shape[0]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return x @ self.matrix.T

    def inverse(self, y: np.ndarray) -> np.ndarray:
        return y @ self._pinv.T


class Affine(Bijection):
    """``x -> scale·x + shift`` coordinatewise (``scale != 0``); inverse ``(y − shift)/scale``.

    Name: ``"affine_s{scale}_t{shift}"``.
    """

    def __init__(self, scale: float, shift: float = 0.0) -> None:
        s = check_real(scale, "scale")
        t = check_real(shift, "shift")
        if s == 0.0:
            raise ValueError("scale must be non-zero")
        self.scale = s
        self.shift = t
        self.name = f"affine_s{format_number(s)}_t{format_number(t)}"

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.scale * x + self.shift

    def inverse(self, y: np.ndarray) -> np.ndarray:
        return (y - self.shift) / self.scale


def _invert_increasing(
    f: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    target: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
) -> np.ndarray:
    """Solve ``f(x) = target`` elementwise for a strictly increasing ``f`` whose root lies in
    ``[lo, hi]``: Newton steps, replaced by bisection when they leave the current bracket.
    ``f(x)`` returns the value and the derivative at ``x``."""
    flat = np.asarray(target, dtype=np.float64).ravel()
    lo = np.array(lo, dtype=np.float64).ravel()
    hi = np.array(hi, dtype=np.float64).ravel()
    x = 0.5 * (lo + hi)
    active = np.arange(flat.size)
    for _ in range(300):
        xa = x[active]
        value, slope = f(xa)
        r = value - flat[active]
        pos = r > 0
        hi[active] = np.where(pos, xa, hi[active])
        lo[active] = np.where(pos, lo[active], xa)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            x_new = xa - r / slope
        la, ha = lo[active], hi[active]
        x_new = np.where(~np.isfinite(x_new) | (x_new < la) | (x_new > ha), 0.5 * (la + ha), x_new)
        x_new = np.where(r == 0, xa, x_new)  # an exact root stays
        x[active] = x_new
        moving = np.abs(x_new - xa) > 1e-15 * np.maximum(1.0, np.abs(xa))
        active = active[moving]
        if active.size == 0:
            break
    return x.reshape(np.shape(target))


class SineSum(Bijection):
    """``x -> x + Σ_k a_k·sin(b_k·x + c_k)`` coordinatewise, strictly increasing because
    ``Σ_k |a_k·b_k| < 1`` (the derivative is at least ``1 − Σ_k |a_k·b_k| > 0``).

    The inverse is computed by safeguarded Newton on the bracket ``[y − Σ|a_k|, y + Σ|a_k|]``.

    Args:
        terms: ``(a_k, b_k, c_k)`` triples (amplitude, frequency, phase), at least one.
        name: recorded in task names (default ``"sinesum"``).
    """

    def __init__(self, terms: Any, name: str = "sinesum") -> None:
        arr = np.array(terms, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != 3 or arr.shape[0] == 0:
            raise ValueError(f"terms must be (amplitude, frequency, phase) triples; got shape {arr.shape}")
        if not np.isfinite(arr).all():
            raise ValueError("terms must be finite")
        slope = float(np.sum(np.abs(arr[:, 0] * arr[:, 1])))
        if not slope < 1.0:
            raise ValueError(f"need sum |amplitude·frequency| < 1 for a bijection; got {slope}")
        self.terms = arr
        self.terms.setflags(write=False)
        self.name = name

    def __call__(self, x: np.ndarray) -> np.ndarray:
        out = np.array(x, dtype=np.float64, copy=True)
        for a, b, c in self.terms:
            out += a * np.sin(b * x + c)
        return out

    def derivative(self, x: np.ndarray) -> np.ndarray:
        """``1 + Σ_k a_k·b_k·cos(b_k·x + c_k)`` (>= ``1 − Σ|a_k·b_k|`` > 0)."""
        out = np.ones_like(np.asarray(x, dtype=np.float64))
        for a, b, c in self.terms:
            out += a * b * np.cos(b * x + c)
        return out

    def inverse(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y, dtype=np.float64)
        width = float(np.sum(np.abs(self.terms[:, 0])))
        return _invert_increasing(lambda t: (self(t), self.derivative(t)), y, y - width, y + width)


class PlaneSpiral(Bijection):
    """``x -> exp(v·|x|²·G)·x`` with ``G`` the generator of rotations in the coordinate plane
    ``(i, j)`` (``G[i, j] = −1``, ``G[j, i] = 1``): coordinates ``i`` and ``j`` are rotated by the
    angle ``θ = v·|x|²``, the others are left alone::

        x_i -> cos θ·x_i − sin θ·x_j,    x_j -> sin θ·x_i + cos θ·x_j.

    Rotations keep ``|x|``, so the inverse is the rotation by ``−v·|y|²``. This is bmi's
    ``Spiral(so_generator(n, i, j), speed=v)`` (with the identity as its initial matrix).

    Args:
        speed: ``v`` (non-zero).
        i, j: the plane, ``0 <= i < j``; the input dimension must exceed ``j``.
    Name: ``"spiral{i}{j}_v{v}"``.
    """

    def __init__(self, speed: float, i: int = 0, j: int = 1) -> None:
        v = check_real(speed, "speed")
        if v == 0.0:
            raise ValueError("speed must be non-zero")
        i = check_positive_int(i, "i", minimum=0)
        j = check_positive_int(j, "j", minimum=0)
        if not i < j:
            raise ValueError(f"need i < j; got i={i}, j={j}")
        self.speed, self.i, self.j = v, i, j
        self.name = f"spiral{i}{j}_v{format_number(v)}"

    def out_dim(self, d: int) -> int:
        if d <= self.j:
            raise ValueError(f"the spiral in the plane ({self.i}, {self.j}) needs dimension >= {self.j + 1}; got {d}")
        return d

    def _rotate(self, x: np.ndarray, sign: float) -> np.ndarray:
        theta = sign * self.speed * np.sum(x * x, axis=1)
        c, s = np.cos(theta), np.sin(theta)
        out = np.array(x, dtype=np.float64, copy=True)
        xi, xj = x[:, self.i], x[:, self.j]
        out[:, self.i] = c * xi - s * xj
        out[:, self.j] = s * xi + c * xj
        return out

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self._rotate(x, 1.0)

    def inverse(self, y: np.ndarray) -> np.ndarray:
        return self._rotate(y, -1.0)


class SwissRoll(Bijection):
    """The Swiss roll: ``u ∈ (0, 1) -> (t·cos t, t·sin t) / 21`` with ``t = 1.5π·(1 + 2u)``.

    Maps one coordinate in (0, 1) to a curve in R² (bmi's ``swissroll2d``; the 21 brings the
    scale near that of the unit interval). The radius ``t/21`` grows with ``u``, so the map is
    injective and the inverse reads ``u`` off the norm: ``u = (21·|y|/(1.5π) − 1)/2``.
    """

    name = "swissroll"

    def out_dim(self, d: int) -> int:
        if d != 1:
            raise ValueError(f"the Swiss roll maps one coordinate (in (0, 1)) to two; got dimension {d}")
        return 2

    def __call__(self, x: np.ndarray) -> np.ndarray:
        t = 1.5 * np.pi * (1.0 + 2.0 * x[:, 0])
        return np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / 21.0

    def inverse(self, y: np.ndarray) -> np.ndarray:
        t = 21.0 * np.hypot(y[:, 0], y[:, 1])
        return (0.5 * (t / (1.5 * np.pi) - 1.0))[:, None]


class GaussianToMixture(Bijection):
    """``z -> F⁻¹(Φ(z))`` coordinatewise, ``F(x) = Σ_k w_k Φ((x − μ_k)/σ_k)`` the CDF of a
    mixture of normals: a standard normal coordinate gets the mixture as its distribution (and
    a Gaussian pair a Gaussian copula with mixture marginals).

    Computed in log space (``log F(x) = log Φ(z)`` for ``z < 0``, ``log(1 − F(x)) = log Φ(−z)``
    otherwise) by safeguarded Newton on the bracket ``[min_k(μ_k + σ_k z), max_k(μ_k + σ_k z)]``,
    so it is accurate in both tails; the inverse is ``Φ⁻¹(F(x))`` on the same branches.

    Args:
        weights: positive mixture weights (normalised to sum 1).
        means: component means ``μ_k``.
        sds: component standard deviations ``σ_k > 0`` (default 1).
        name: recorded in task names (default ``"mixture"``).
    """

    def __init__(self, weights: Any, means: Any, sds: Any = None, name: str = "mixture") -> None:
        w = np.array(weights, dtype=np.float64).ravel()
        mu = np.array(means, dtype=np.float64).ravel()
        sd = np.ones_like(mu) if sds is None else np.array(sds, dtype=np.float64).ravel()
        if w.size == 0 or w.shape != mu.shape or sd.shape != mu.shape:
            raise ValueError("weights, means and sds must be non-empty and of equal length")
        if not (np.isfinite(w).all() and np.isfinite(mu).all() and np.isfinite(sd).all()):
            raise ValueError("weights, means and sds must be finite")
        if np.any(w <= 0) or np.any(sd <= 0):
            raise ValueError("weights and sds must be positive")
        self.weights = w / w.sum()
        self.means = mu
        self.sds = sd
        self._log_w = np.log(self.weights)
        self.name = name

    def log_cdf(self, x: np.ndarray) -> np.ndarray:
        """``log F(x)``."""
        z = (np.asarray(x, dtype=np.float64)[..., None] - self.means) / self.sds
        return np.logaddexp.reduce(self._log_w + special.log_ndtr(z), axis=-1)

    def log_sf(self, x: np.ndarray) -> np.ndarray:
        """``log(1 − F(x))``."""
        z = (self.means - np.asarray(x, dtype=np.float64)[..., None]) / self.sds
        return np.logaddexp.reduce(self._log_w + special.log_ndtr(z), axis=-1)

    def log_pdf(self, x: np.ndarray) -> np.ndarray:
        """The log of the mixture density."""
        z = (np.asarray(x, dtype=np.float64)[..., None] - self.means) / self.sds
        terms = self._log_w - np.log(self.sds) - 0.5 * z * z - 0.5 * np.log(2.0 * np.pi)
        return np.logaddexp.reduce(terms, axis=-1)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        z = np.asarray(x, dtype=np.float64)
        flat = z.ravel()
        out = np.empty_like(flat)
        lower = flat < 0
        lo = np.min(self.means + self.sds * flat[:, None], axis=1)
        hi = np.max(self.means + self.sds * flat[:, None], axis=1)
        for mask, log_target, fun, sign in (
            (lower, special.log_ndtr(flat), self.log_cdf, 1.0),
            (~lower, special.log_ndtr(-flat), self.log_sf, -1.0),
        ):
            if not mask.any():
                continue
            # solve sign·fun(x) = sign·log_target, increasing in x on both branches; the slope
            # is p(x)/F(x) (lower branch) or p(x)/(1 − F(x)) (upper branch)
            def f(t: np.ndarray, fun=fun, sign=sign) -> tuple[np.ndarray, np.ndarray]:
                value = fun(t)
                return sign * value, np.exp(self.log_pdf(t) - value)

            out[mask] = _invert_increasing(f, sign * log_target[mask], lo[mask], hi[mask])
        return out.reshape(z.shape)

    def inverse(self, y: np.ndarray) -> np.ndarray:
        x = np.asarray(y, dtype=np.float64)
        log_cdf, log_sf = self.log_cdf(x), self.log_sf(x)
        lower = log_cdf < log_sf  # F(x) < 1/2
        return np.where(lower, special.ndtri_exp(log_cdf), -special.ndtri_exp(log_sf))


class _Callable(Bijection):
    """A user callable without a known inverse."""

    def __init__(self, fn: Callable[[np.ndarray], np.ndarray]) -> None:
        self.fn = fn
        self.name = getattr(fn, "__name__", "custom")
        self.dim: int | None = None  # learnt from a probe sample in :func:`transform`

    def out_dim(self, d: int) -> int:
        return d if self.dim is None else self.dim

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.fn(x), dtype=np.float64)


class TransformedTask(Task):
    """``(fx(X), fy(Y))`` for ``(X, Y)`` from ``base``; same MI as ``base``.

    Sampling with seed ``s`` returns exactly ``fx`` and ``fy`` applied to ``base.sample(n, s)``.
    ``log_ratio`` is available when the base has one and both maps are :class:`Bijection`
    objects with inverses. Build with :func:`transform` or the ready helpers.
    """

    def __init__(self, base: Task, fx: Bijection | None, fy: Bijection | None, name: str) -> None:
        self.base = base
        self.fx = fx
        self.fy = fy
        dim_x = base.dim_x if fx is None else fx.out_dim(base.dim_x)
        dim_y = base.dim_y if fy is None else fy.out_dim(base.dim_y)
        super().__init__(name, dim_x, dim_y, "transformed")

    @property
    def has_log_ratio(self) -> bool:
        return (
            self.base.has_log_ratio
            and not isinstance(self.fx, _Callable)
            and not isinstance(self.fy, _Callable)
        )

    def _compute_mi(self) -> float:
        return self.base.mi

    def _sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError  # sample() is overridden to reuse the base's seed

    def sample(self, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """``fx`` and ``fy`` applied to ``base.sample(n, seed)``; shapes ``(n, dim_x)``, ``(n, dim_y)``."""
        x, y = self.base.sample(n, seed)
        if self.fx is not None:
            x = self.fx(x)
        if self.fy is not None:
            y = self.fy(y)
        x = np.ascontiguousarray(x, dtype=np.float64)
        y = np.ascontiguousarray(y, dtype=np.float64)
        if x.shape != (x.shape[0], self.dim_x) or y.shape != (y.shape[0], self.dim_y):
            raise ValueError(f"the transforms of task {self.name!r} returned wrong shapes {x.shape}, {y.shape}")
        return x, y

    def _log_ratio(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            bx = x if self.fx is None else self.fx.inverse(x)
            by = y if self.fy is None else self.fy.inverse(y)
        for arr, f, side in ((bx, self.fx, "x"), (by, self.fy, "y")):
            if not np.isfinite(arr).all():
                raise ValueError(
                    f"{side} is outside the range where {f.name!r} can be inverted in floating point "
                    f"(e.g. the normal CDF rounds to 0 or 1 in the far tails)"
                )
        return self.base.log_ratio(bx, by)


def _as_bijection(f: Any, which: str) -> Bijection | None:
    if f is None or isinstance(f, Bijection):
        return f
    if callable(f):
        return _Callable(f)
    raise TypeError(f"{which} must be a Bijection, a callable or None; got {type(f).__name__}")


def transform(task: Task, fx: Any = None, fy: Any = None, name: str | None = None) -> TransformedTask:
    """A new task ``(fx(X), fy(Y))`` with the same MI as ``task``.

    Args:
        task: the base task.
        fx, fy: :class:`Bijection` objects, plain callables mapping ``(n, d)`` arrays to
            ``(n, d')`` arrays (the caller guarantees injectivity; no ``log_ratio`` then), or
            ``None`` for the identity.
        name: the new name; default built from the bijections' names: ``"{t}-{base}"`` when
            the same transform is applied to both sides, else ``"{tx}@x-{ty}@y-{base}"`` (a
            missing side is omitted). Required when a plain callable is given.

    Raises:
        ValueError: both maps are ``None``, a name is missing for plain callables, or a map
            returns the wrong shape on a probe sample.
    """
    if not isinstance(task, Task):
        raise TypeError(f"task must be a neuralmi Task; got {type(task).__name__}")
    bx = _as_bijection(fx, "fx")
    by = _as_bijection(fy, "fy")
    if bx is None and by is None:
        raise ValueError("give at least one of fx and fy")
    if name is None:
        if isinstance(bx, _Callable) or isinstance(by, _Callable):
            raise ValueError("name is required when fx or fy is a plain callable")
        if bx is not None and by is not None and bx.name == by.name:
            name = f"{bx.name}-{task.name}"
        else:
            parts = ([f"{bx.name}@x"] if bx is not None else []) + ([f"{by.name}@y"] if by is not None else [])
            name = "-".join(parts) + f"-{task.name}"
    if not isinstance(name, str) or not name:
        raise ValueError("name must be a non-empty string")
    for f, which in ((bx, "fx"), (by, "fy")):
        if isinstance(f, _Callable):  # learn the output dimension from a probe sample
            probe = task.sample(3, seed=0)[0 if which == "fx" else 1]
            out = np.asarray(f(probe))
            if out.ndim != 2 or out.shape[0] != 3:
                raise ValueError(f"{which} must map an (n, d) array to an (n, d') array; got shape {out.shape}")
            f.dim = int(out.shape[1])
    return TransformedTask(task, bx, by, name)


def _sided(task: Task, bij: Bijection, side: str) -> TransformedTask:
    side = check_choice(side, "side", ("both", "x", "y"))
    fx = bij if side in ("both", "x") else None
    fy = bij if side in ("both", "y") else None
    return transform(task, fx, fy)


def normal_cdf(task: Task, side: str = "both") -> TransformedTask:
    """Apply ``Φ`` coordinatewise to X and/or Y (``side`` in ``"both"``, ``"x"``, ``"y"``)."""
    return _sided(task, NormalCDF(), side)


def half_cube(task: Task, side: str = "both") -> TransformedTask:
    """Apply ``x·|x|^{1/2}`` coordinatewise to X and/or Y."""
    return _sided(task, HalfCube(), side)


def asinh(task: Task, side: str = "both") -> TransformedTask:
    """Apply ``asinh`` coordinatewise to X and/or Y."""
    return _sided(task, Asinh(), side)


def wiggly(task: Task, amplitude: float = 0.4, frequency: float = 2.0, side: str = "both") -> TransformedTask:
    """Apply ``x + a·sin(b·x)`` (``|a·b| < 1``) coordinatewise to X and/or Y."""
    return _sided(task, Wiggly(amplitude, frequency), side)


def spiral(task: Task, speed: float = 0.5, side: str = "both") -> TransformedTask:
    """Apply the spiral ``x -> R(speed·|x|²)·x`` to X and/or Y (each needs dimension >= 2)."""
    return _sided(task, Spiral(speed), side)


def _random_orthogonal(d: int, rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))  # Haar-distributed


def rotate(task: Task, seed: int = 0) -> TransformedTask:
    """Random orthogonal rotations of X and Y (Haar, drawn from ``seed``); name ``"rot{seed}-{base}"``."""
    seed = check_positive_int(seed, "seed", minimum=0)
    rng = np.random.default_rng(seed)
    qx = Linear(_random_orthogonal(task.dim_x, rng), name=f"rot{seed}")
    qy = Linear(_random_orthogonal(task.dim_y, rng), name=f"rot{seed}")
    return transform(task, qx, qy, name=f"rot{seed}-{task.name}")


def embed(task: Task, dim_x: int, dim_y: int, seed: int = 0) -> TransformedTask:
    """Embed X into R^dim_x and Y into R^dim_y by random linear maps of full column rank.

    The maps are ``A = Q·diag(s)`` restricted to the first ``d_in`` columns of a Haar orthogonal
    ``Q`` (orthonormal columns), scaled by ``s`` uniform in [0.5, 2]; drawn from ``seed``. The
    embedded data lie on a ``d_in``-dimensional subspace. Name ``"embed{dim_x}x{dim_y}s{seed}-{base}"``.
    """
    dim_x = check_positive_int(dim_x, "dim_x")
    dim_y = check_positive_int(dim_y, "dim_y")
    seed = check_positive_int(seed, "seed", minimum=0)
    if dim_x < task.dim_x or dim_y < task.dim_y:
        raise ValueError(
            f"embedding dimensions must be >= the task's ({task.dim_x}, {task.dim_y}); got ({dim_x}, {dim_y})"
        )
    rng = np.random.default_rng(seed)
    mats = []
    for d_out, d_in in ((dim_x, task.dim_x), (dim_y, task.dim_y)):
        q = _random_orthogonal(d_out, rng)[:, :d_in]
        mats.append(q * rng.uniform(0.5, 2.0, size=d_in))
    tag = f"embed{dim_x}x{dim_y}s{seed}"
    return transform(task, Linear(mats[0], name=tag), Linear(mats[1], name=tag), name=f"{tag}-{task.name}")

