"""Tests for neuralmi.critics: all-pairs scores, zero initialisation, the Gaussian critic, factory errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from neuralmi import bounds, critics
from neuralmi.critics import (
    BilinearCritic,
    ConcatCritic,
    ConvCritic,
    GaussianCritic,
    ResidualCritic,
    SeparableCritic,
    make_critic,
    mlp,
)

torch.set_num_threads(1)

DX, DY, B = 3, 2, 7


class PlainCritic(nn.Module):
    """A critic with no ``pair_scores`` method: exercises the generic fallback."""

    def __init__(self) -> None:
        super().__init__()
        self.net = mlp(DX + DY, (5,), 1, "tanh")

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([x, y], dim=-1)).squeeze(-1) + (x[:, 0] * y[:, 1])


def _randomise(module: nn.Module, seed: int) -> nn.Module:
    """Give every parameter and float buffer non-zero random values (zero-initialised weights would
    make every pair score identical and the test vacuous)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in list(module.parameters()) + [b for b in module.buffers() if b.is_floating_point()]:
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.5)
    return module


def _gaussian() -> GaussianCritic:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, DX))
    y = x[:, :DY] + rng.standard_normal((200, DY))
    return GaussianCritic.from_data(x, y)


CRITIC_FACTORIES = {
    "concat": lambda: ConcatCritic(DX, DY, hidden=(8, 6), activation="elu"),
    "concat-no-hidden": lambda: ConcatCritic(DX, DY, hidden=()),
    "separable": lambda: SeparableCritic(DX, DY, hidden=(8,), embed_dim=4),
    "bilinear": lambda: BilinearCritic(DX, DY),
    "bilinear-hidden": lambda: BilinearCritic(DX, DY, hidden=(6,), embed_dim=3),
    "gaussian": _gaussian,
    "residual": lambda: ResidualCritic(_gaussian(), ConcatCritic(DX, DY, hidden=(4,))),
    "residual-of-plain": lambda: ResidualCritic(SeparableCritic(DX, DY, hidden=(4,), embed_dim=2), PlainCritic()),
    "plain": PlainCritic,
}


@pytest.mark.parametrize("name", list(CRITIC_FACTORIES))
def test_pair_scores_equal_forward_on_every_pair(name: str) -> None:
    torch.manual_seed(0)
    critic = CRITIC_FACTORIES[name]()
    if name != "gaussian" and not name.startswith("residual"):
        _randomise(critic, 1)
    g = torch.Generator().manual_seed(2)
    x = torch.randn(B, DX, generator=g)
    y = torch.randn(B + 2, DY, generator=g)  # rectangular: B x (B+2)
    s = critics.pair_scores(critic, x, y)
    assert s.shape == (B, B + 2)
    ref = torch.stack([torch.stack([critic(x[i : i + 1], y[j : j + 1])[0] for j in range(B + 2)]) for i in range(B)])
    torch.testing.assert_close(s, ref, rtol=1e-5, atol=1e-5)
    assert s.std() > 1e-3  # not a constant matrix: the check above means something
    # the diagonal of a square matrix is forward on the pairs
    torch.testing.assert_close(critics.pair_scores(critic, x, y[:B]).diagonal(), critic(x, y[:B]), rtol=1e-5, atol=1e-5)


def test_conv_critic_pair_scores_and_flat_input() -> None:
    torch.manual_seed(0)
    critic = ConvCritic((1, 8, 8), dim_y=3, channels=(4, 4), hidden=(8,))
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 64, generator=g)
    y = torch.randn(5, 3, generator=g)
    s = critic.pair_scores(x, y)
    assert s.shape == (4, 5)
    ref = torch.stack([torch.stack([critic(x[i : i + 1], y[j : j + 1])[0] for j in range(5)]) for i in range(4)])
    torch.testing.assert_close(s, ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(critic(x, y[:4]), critic(x.reshape(4, 1, 8, 8), y[:4]))
    with pytest.raises(ValueError, match="image_shape"):
        ConvCritic((8, 8), dim_y=3)


@pytest.mark.parametrize("name", ["concat", "separable", "bilinear"])
def test_make_critic_zero_init_gives_exactly_zero(name: str) -> None:
    torch.manual_seed(0)
    critic = make_critic(name, DX, DY, hidden=(8, 8), zero_init=True)
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(6, DX, generator=g) * 3, torch.randn(6, DY, generator=g) * 3
    assert torch.equal(critic(x, y), torch.zeros(6))
    assert torch.equal(critics.pair_scores(critic, x, y), torch.zeros(6, 6))
    # ... and it can still learn: some parameter gets a non-zero gradient from a DV loss
    loss = -bounds.dv(critic(x, y), critic(x, y.roll(1, 0)))
    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in critic.parameters())


def test_concat_critic_zero_init_and_default_not_zero() -> None:
    torch.manual_seed(0)
    x, y = torch.randn(5, DX), torch.randn(5, DY)
    assert torch.equal(ConcatCritic(DX, DY, hidden=(4,), zero_init=True)(x, y), torch.zeros(5))
    assert ConcatCritic(DX, DY, hidden=(4,))(x, y).abs().sum() > 0


def test_mlp_zero_last_and_shapes() -> None:
    net = mlp(3, (4, 5), 2, "gelu", zero_last=True)
    assert [m.out_features for m in net if isinstance(m, nn.Linear)] == [4, 5, 2]
    assert torch.equal(net(torch.randn(3, 3)), torch.zeros(3, 2))


# ------------------------------------------------------------------ the Gaussian critic


def _gaussian_pair(n: int, rho: float, d: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x = rng.standard_normal((n, d))
    y = rho * x + math.sqrt(1 - rho**2) * rng.standard_normal((n, d))
    return x, y


def test_gaussian_critic_dv_on_fresh_samples_is_closed_form_mi() -> None:
    rng = np.random.default_rng(0)
    rho, d = 0.7, 2
    truth = -d / 2 * math.log(1 - rho**2)
    x, y = _gaussian_pair(20_000, rho, d, rng)
    # shift and scale the columns: the fit must handle means and variances
    x = 3.0 + 2.0 * x
    y = -1.0 + 0.5 * y
    critic = GaussianCritic.from_data(x, y)
    xf, yf = _gaussian_pair(50_000, rho, d, rng)
    xf, yf = torch.as_tensor(3.0 + 2.0 * xf), torch.as_tensor(-1.0 + 0.5 * yf)
    critic = critic.double()
    joint = critic(xf, yf)
    marg = critic(xf, yf[torch.as_tensor(rng.permutation(50_000))])
    assert float(joint.mean()) == pytest.approx(truth, abs=0.03)  # E_p[log p/(p p)] = MI
    assert float(bounds.dv(joint, marg)) == pytest.approx(truth, abs=0.03)
    assert float(bounds.nwj(joint + 1, marg + 1)) == pytest.approx(truth, abs=0.05)


def test_gaussian_critic_matches_density_ratio_exactly() -> None:
    # fit on a sample, then compare to the log ratio computed with scipy for the fitted parameters
    from scipy import stats

    rng = np.random.default_rng(1)
    x, y = _gaussian_pair(500, 0.6, 1, rng)
    y = np.concatenate([y, rng.standard_normal((500, 1)) + x], axis=1)  # dy = 2
    critic = GaussianCritic.from_data(x, y).double()
    z = np.concatenate([x, y], axis=1)
    mu, cov = z.mean(0), np.cov(z, rowvar=False)
    pts = rng.standard_normal((10, 3))
    ref = (
        stats.multivariate_normal(mu, cov).logpdf(pts)
        - stats.multivariate_normal(mu[:1], cov[:1, :1]).logpdf(pts[:, :1])
        - stats.multivariate_normal(mu[1:], cov[1:, 1:]).logpdf(pts[:, 1:])
    )
    got = critic(torch.as_tensor(pts[:, :1]), torch.as_tensor(pts[:, 1:])).numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-6)


def test_gaussian_critic_buffers_versus_trainable() -> None:
    rng = np.random.default_rng(2)
    x, y = _gaussian_pair(100, 0.5, 2, rng)
    fixed = GaussianCritic.from_data(x, y)
    assert list(fixed.parameters()) == []
    assert {"A", "B", "C", "mean", "const"} <= set(fixed.state_dict())
    trainable = GaussianCritic.from_data(x, y, trainable=True)
    names = {n for n, _ in trainable.named_parameters()}
    assert names == {"A", "B", "C", "const"}
    xt, yt = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32)
    torch.testing.assert_close(fixed(xt, yt), trainable(xt, yt))
    with pytest.raises(ValueError, match="shrinkage"):
        GaussianCritic.from_data(x, y, shrinkage=1.0)


def test_gaussian_critic_shrinkage_one_direction() -> None:
    # shrinking the correlation towards the identity lowers the implied MI (const = -1/2 log det ratio)
    rng = np.random.default_rng(3)
    x, y = _gaussian_pair(2000, 0.8, 1, rng)
    c0 = float(GaussianCritic.from_data(x, y).const)
    c5 = float(GaussianCritic.from_data(x, y, shrinkage=0.5).const)
    assert c0 > c5 > 0


def test_gaussian_critic_independent_columns_score_near_zero() -> None:
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((5000, 2)), rng.standard_normal((5000, 2))
    critic = GaussianCritic.from_data(x, y)
    s = critic(torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32))
    # sample correlations ~ 1/sqrt(n) = 0.014: scores are small, not exactly zero
    assert float(s.abs().mean()) < 0.02
    assert abs(float(critic.const)) < 1e-3


# ------------------------------------------------------------------ make_critic errors


def test_make_critic_builds_each_kind() -> None:
    assert isinstance(make_critic("concat", 2, 3, hidden=(4,)), ConcatCritic)
    assert isinstance(make_critic("separable", 2, 3, hidden=(4,)), SeparableCritic)
    assert isinstance(make_critic("bilinear", 2, 3), BilinearCritic)


@pytest.mark.parametrize("name", ["mlp", "gaussian", "", "CONCAT"])
def test_make_critic_unknown_name(name: str) -> None:
    with pytest.raises(ValueError, match="unknown critic"):
        make_critic(name, 2, 2)


@pytest.mark.parametrize("maker", [
    lambda: make_critic("concat", 2, 2, activation="sigmoidal"),
    lambda: ConcatCritic(2, 2, activation="swish"),
    lambda: SeparableCritic(2, 2, activation="nope"),
    lambda: ConvCritic((1, 4, 4), 2, activation="nope"),
])
def test_unknown_activation(maker) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="unknown activation"):
        maker()


@pytest.mark.parametrize("hidden", [(0,), (4, -1), (8, 0, 8)])
def test_bad_widths_raise_value_error(hidden: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="positive"):
        make_critic("concat", 2, 2, hidden=hidden)
    with pytest.raises(ValueError, match="positive"):
        SeparableCritic(2, 2, hidden=hidden)


@pytest.mark.parametrize("hidden", [("a",), None, [[1, 2]]])
def test_non_numeric_widths_raise_type_error(hidden) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TypeError, match="hidden"):
        make_critic("concat", 2, 2, hidden=hidden)


def test_separable_bad_embed_dim() -> None:
    with pytest.raises(ValueError, match="embed_dim"):
        SeparableCritic(2, 2, embed_dim=0)


def test_int_hidden_means_one_layer() -> None:
    net = ConcatCritic(2, 2, hidden=16).net  # type: ignore[arg-type]
    assert [m.out_features for m in net if isinstance(m, nn.Linear)] == [16, 1]


def test_shrinkage_is_chosen_on_held_out_parts() -> None:
    from neuralmi.critics import select_shrinkage
    from neuralmi.tasks import dense_gaussian

    rng = np.random.default_rng(0)
    # independent 50 + 50 dimensions on 700 rows: the sample canonical correlations are large
    # (a Gaussian MI of 1.8 nats in sample); the critic that generalises is the shrunk one
    assert select_shrinkage(rng.standard_normal((700, 50)), rng.standard_normal((700, 50))) >= 0.7
    # two dimensions, plenty of rows: (almost) no shrinkage
    x, y = dense_gaussian(1, 1, 0.6).sample(3000, seed=0)
    assert select_shrinkage(x, y) <= 0.05


def test_shrunk_gaussian_critic_matches_its_closed_form() -> None:
    from neuralmi.nonparametric import joint_correlation, shrunk_cca
    from neuralmi.tasks import dense_gaussian

    x, y = dense_gaussian(5, 4, 0.4).sample(500, seed=1)
    fit = shrunk_cca(*joint_correlation(x, y), 5, 0.2)
    critic = GaussianCritic.from_data(x, y, covariance=0.2).double()
    r = fit.rho
    u = (x - fit.mean_x) @ fit.white_x @ fit.u
    v = (y - fit.mean_y) @ fit.white_y @ fit.vt.T
    closed = -0.5 * np.sum(np.log1p(-(r**2))) - 0.5 * ((u**2 + v**2) @ (r**2 / (1 - r**2))) + (u * v) @ (r / (1 - r**2))
    np.testing.assert_allclose(critic(torch.tensor(x), torch.tensor(y)).numpy(), closed, atol=1e-5)
    # shrinking by a weights the cross-correlations by (1 - a): at a = 1 the critic is constant 0
    zero = GaussianCritic.from_data(x, y, covariance=1.0).double()
    assert float(zero(torch.tensor(x), torch.tensor(y)).abs().max()) < 1e-6


def test_threshold_and_rank_of_the_shrunk_cca() -> None:
    from neuralmi.nonparametric import fit_cca, joint_correlation, shrunk_cca
    from neuralmi.tasks import dense_gaussian

    x, y = dense_gaussian(4, 3, 0.4).sample(2000, seed=2)
    stats = joint_correlation(x, y)
    # a threshold above every correlation leaves no dependence: all canonical correlations 0
    assert np.allclose(shrunk_cca(*stats, 4, 0.0, threshold=1.0).rho, 0.0)
    # below every correlation it changes nothing
    np.testing.assert_allclose(shrunk_cca(*stats, 4, 0.0, threshold=1e-9).rho, shrunk_cca(*stats, 4, 0.0).rho)
    # rank k keeps the k largest canonical correlations, through fit_cca too
    full = fit_cca(x, y).rho
    one = fit_cca(x, y, rank=1).rho
    assert one[0] == pytest.approx(full[0]) and np.all(one[1:] == 0.0) and full[1] > 0.0


@pytest.mark.parametrize(
    "task, truth_tol",
    [
        # two correlated pairs among 25 x 25 columns: the ~600 noise cross-correlations read as
        # dependence unless thresholded (shrinkage alone: -0.53 nats)
        ("multinormal-sparse-25-25-2-2.0", 0.15),
        # every correlation 0.5: one canonical direction carries it (shrinkage alone: -0.25)
        ("multinormal-dense-50-50-0.5", 0.12),
    ],
)
def test_baseline_selection_finds_sparse_and_low_rank_dependence(task: str, truth_tol: float) -> None:
    import neuralmi
    from neuralmi.critics import select_baseline

    t = neuralmi.tasks.get(task)
    x, y = t.sample(1000, seed=0)
    choice = select_baseline(x[:700], y[:700])
    if "sparse" in task:
        assert choice.threshold > 0.0
    else:
        assert choice.rank is not None and choice.rank <= 4
    res = neuralmi.estimate(x, y, critic="gaussian", seed=0, progress=False)
    assert abs(res.mi - t.mi) < truth_tol
    # the shrinkage-only selection (the previous default) misses by much more
    only = neuralmi.estimate(x, y, critic="gaussian", seed=0, progress=False, baseline_shrinkage=select_baseline(x[:700], y[:700], threshold=False, rank=False).shrinkage)
    assert abs(only.mi - t.mi) > truth_tol


def test_magnitude_features_gaussianise_the_magnitude_and_stay_finite() -> None:
    from neuralmi.critics import magnitude_features

    from scipy.stats import norm

    a = torch.randn(200_000, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    m = magnitude_features(a)[:, 1]
    # m(a) ~ N(0, 1) above the clip at |a| = 0.1 (m = -1.41): its quartiles are the normal's
    for q in (0.25, 0.5, 0.75, 0.95):
        assert abs(float(torch.quantile(m, q)) - norm.ppf(q)) < 0.02
    inside = a.abs().squeeze(1).clamp(0.1, 5.0).numpy()
    np.testing.assert_allclose(m.numpy(), norm.ppf(2 * norm.cdf(inside) - 1), atol=1e-9)
    # a function of |a| only, increasing in it
    torch.testing.assert_close(magnitude_features(-a), torch.cat([-a, magnitude_features(a)[:, 1:]], dim=1))
    edge = torch.tensor([[0.0], [1e-30], [40.0], [-1e6]])
    for dtype in (torch.float32, torch.float64):
        assert torch.isfinite(magnitude_features(edge.to(dtype))).all()
    grid = torch.linspace(0.0, 12.0, 500)[:, None]
    assert (magnitude_features(grid)[1:, 1] >= magnitude_features(grid)[:-1, 1]).all()


def test_magnitude_critic_is_the_gaussian_critic_of_the_features() -> None:
    from neuralmi.critics import MagnitudeGaussianCritic, magnitude_features

    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((400, 3)), rng.standard_normal((400, 2))
    critic = MagnitudeGaussianCritic.from_data(x, y, covariance=0.1).double()
    fx, fy = magnitude_features(torch.tensor(x)), magnitude_features(torch.tensor(y))
    plain = GaussianCritic.from_data(fx.numpy(), fy.numpy(), covariance=0.1).double()
    xt, yt = torch.tensor(x), torch.tensor(y)
    torch.testing.assert_close(critic(xt, yt), plain(fx, fy))
    torch.testing.assert_close(torch.diagonal(critic.pair_scores(xt[:50], yt[:50])), critic(xt[:50], yt[:50]))


def test_baseline_sees_dependence_in_magnitudes_only_where_the_data_show_it() -> None:
    import neuralmi
    from neuralmi.critics import MagnitudeGaussianCritic, gaussian_baseline
    from neuralmi.preprocessing import fit_transform

    # a Student-t pair with identity dispersion: uncorrelated, dependent only through a shared
    # scale. The plain Gaussian critic reads 0 of its 0.448 nats
    t = neuralmi.tasks.get("student-identity-5-5-2")
    x, y = t.sample(1500, seed=0)
    gx, gy = fit_transform(x, "rank")(x), fit_transform(y, "rank")(y)
    assert type(gaussian_baseline(gx, gy)) is MagnitudeGaussianCritic
    res = neuralmi.estimate(x, y, critic="gaussian", seed=0, progress=False)
    assert 0.2 < res.mi < t.mi + 0.1
    # jointly Gaussian data: the plain critic is kept
    g = neuralmi.tasks.get("multinormal-dense-5-5-0.5")
    x, y = g.sample(1500, seed=0)
    assert type(gaussian_baseline(fit_transform(x, "rank")(x), fit_transform(y, "rank")(y))) is GaussianCritic


def test_a_thresholded_correlation_matrix_is_kept_positive_definite() -> None:
    from neuralmi.nonparametric import THRESHOLD_MIN_EIG, shrunk_cca

    # a positive definite correlation matrix that zeroing its one entry below 0.3 makes indefinite
    r = np.array(
        [[1.0, -0.69, -0.81, -0.97], [-0.69, 1.0, 0.22, 0.76], [-0.81, 0.22, 1.0, 0.76], [-0.97, 0.76, 0.76, 1.0]]
    )
    assert np.linalg.eigvalsh(r)[0] > 0
    r_thr = np.where(np.abs(r) < 0.3, 0.0, r)
    assert np.linalg.eigvalsh(r_thr)[0] < -0.05
    fit = shrunk_cca(np.zeros(4), np.ones(4), r, 2, 0.0, threshold=0.3)
    assert np.all(fit.rho < 1.0 - 1e-3) and np.all(np.isfinite(fit.white_x))
    # the least shrinkage that lifts the smallest eigenvalue to the floor was used
    lam = np.linalg.eigvalsh(r_thr)[0]
    a = (THRESHOLD_MIN_EIG - lam) / (1 - lam)
    ref = shrunk_cca(np.zeros(4), np.ones(4), r_thr, 2, a)
    np.testing.assert_allclose(fit.rho, ref.rho)


def test_magnitude_features_must_win_on_every_held_out_part() -> None:
    import neuralmi

    # 25 + 25 dense Gaussian dimensions at n = 1,000 (seed 1): the best of the magnitude
    # candidates read 0.04 nats higher on average by chance, and when that alone sufficed the
    # Gaussian critic estimate fell to 0.53 for a truth of 1.29
    t = neuralmi.tasks.get("multinormal-dense-25-25-0.5")
    x, y = t.sample(1000, seed=1)
    res = neuralmi.estimate(x, y, critic="gaussian", seed=1, progress=False)
    assert abs(res.mi - t.mi) < 0.15


def test_magnitude_features_are_left_to_the_network_on_many_rows() -> None:
    import neuralmi
    from neuralmi.critics import MAGNITUDE_MAX_ROWS, MagnitudeGaussianCritic, gaussian_baseline
    from neuralmi.preprocessing import fit_transform

    t = neuralmi.tasks.get("student-identity-5-5-2")
    x, y = t.sample(MAGNITUDE_MAX_ROWS + 1000, seed=0)
    gx, gy = fit_transform(x, "rank")(x), fit_transform(y, "rank")(y)
    assert type(gaussian_baseline(gx, gy)) is GaussianCritic
    assert type(gaussian_baseline(gx[:1500], gy[:1500])) is MagnitudeGaussianCritic


# --------------------------------------------------------------------------- derived columns (radial)


@pytest.mark.parametrize("magnitude", [False, True])
def test_a_baseline_embedded_beside_derived_columns_scores_the_same(magnitude: bool) -> None:
    from neuralmi.critics import MagnitudeGaussianCritic, _embed

    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 3))
    y = x[:, :2] + rng.standard_normal((300, 2))
    cls = MagnitudeGaussianCritic if magnitude else GaussianCritic
    fitted = cls.from_data(x, y, covariance=0.1)
    # one derived column on x, two on y, weighted zero
    xf = torch.tensor(np.concatenate([x, rng.standard_normal((300, 1))], axis=1))
    yf = torch.tensor(np.concatenate([y, rng.standard_normal((300, 2))], axis=1))
    full = _embed(fitted, 4, 4, (1, 2))
    assert type(full) is cls and full.dim_x == (8 if magnitude else 4)
    full, fitted = full.double(), fitted.double()
    torch.testing.assert_close(full(xf, yf), fitted(torch.tensor(x), torch.tensor(y)))
    torch.testing.assert_close(
        full.pair_scores(xf[:40], yf[:40]), fitted.pair_scores(torch.tensor(x[:40]), torch.tensor(y[:40]))
    )


def _radial_weight(critic: GaussianCritic) -> float:
    """The largest weight the quadratic form puts on the last two columns (the radial ones) of either side."""
    m = critic.quadratic().abs()
    return float(max(m[critic.dim_x - 2 : critic.dim_x].max(), m[-2:].max()))


def test_the_baseline_takes_the_radial_columns_only_on_held_out_evidence() -> None:
    import neuralmi
    from neuralmi.critics import MAGNITUDE_MAX_ROWS, gaussian_baseline
    from neuralmi.preprocessing import fit_transform

    def radial_pair(task: str, n: int) -> tuple[np.ndarray, np.ndarray]:
        x, y = neuralmi.tasks.get(task).sample(n, seed=0)
        return fit_transform(x, "rank", radial=True)(x), fit_transform(y, "rank", radial=True)(y)

    # a Student-t pair (dependent through a shared scale only), too many rows for the magnitude
    # features: the plain critic of all the columns, radial ones included, wins
    x, y = radial_pair("student-identity-5-5-2", MAGNITUDE_MAX_ROWS + 2000)
    critic = gaussian_baseline(x, y, extra=(2, 2))
    assert type(critic) is GaussianCritic and _radial_weight(critic) > 0.05
    # jointly Gaussian data: the two radial columns correlate, and the critic of all the columns
    # would weight them (0.36), but the plain critic is the true log-ratio already and reads
    # higher on held-out parts: the radial columns are weighted zero
    x, y = radial_pair("gauss-d5-rho0.75", MAGNITUDE_MAX_ROWS + 2000)
    assert _radial_weight(GaussianCritic.from_data(x, y, covariance="cv")) > 0.1
    critic = gaussian_baseline(x, y, extra=(2, 2))
    assert type(critic) is GaussianCritic and _radial_weight(critic) == 0.0
    # a fixed covariance (no held-out evidence): the plain columns only
    x, y = radial_pair("student-identity-5-5-2", 1500)
    assert _radial_weight(gaussian_baseline(x, y, covariance=0.1, extra=(2, 2))) == 0.0
