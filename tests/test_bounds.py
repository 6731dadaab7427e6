"""Exact properties of the variational bounds in neuralmi.bounds (no training)."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from neuralmi import bounds

torch.set_num_threads(1)

FLOATS = st.floats(-50.0, 50.0, allow_nan=False, allow_infinity=False, width=64)


def square_scores(max_b: int = 8) -> st.SearchStrategy[np.ndarray]:
    return st.integers(2, max_b).flatmap(lambda b: arrays(np.float64, (b, b), elements=FLOATS))


def score_pair() -> st.SearchStrategy[tuple[np.ndarray, np.ndarray]]:
    return st.tuples(
        arrays(np.float64, st.integers(1, 12), elements=FLOATS),
        arrays(np.float64, st.integers(1, 12), elements=FLOATS),
    )


def t(a: np.ndarray | list[float]) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dtype=np.float64))


# ------------------------------------------------------------------ doctests


def test_module_doctests_pass() -> None:
    result = doctest.testmod(bounds, verbose=False)
    assert result.attempted >= 8  # the module, logmeanexp, offdiagonal, dv, ... all have examples
    assert result.failed == 0


# ------------------------------------------------------------------ inequalities (hypothesis)


@settings(max_examples=200, deadline=None)
@given(square_scores())
def test_infonce_at_most_log_batch(s: np.ndarray) -> None:
    b = s.shape[0]
    assert float(bounds.infonce(t(s))) <= math.log(b) + 1e-9


@settings(max_examples=200, deadline=None)
@given(score_pair())
def test_nwj_at_most_dv(pair: tuple[np.ndarray, np.ndarray]) -> None:
    joint, marg = t(pair[0]), t(pair[1])
    assert float(bounds.nwj(joint, marg)) <= float(bounds.dv(joint, marg)) + 1e-9


@settings(max_examples=100, deadline=None)
@given(score_pair(), st.floats(-20, 20))
def test_dv_invariant_to_constant_shift(pair: tuple[np.ndarray, np.ndarray], c: float) -> None:
    joint, marg = t(pair[0]), t(pair[1])
    base = float(bounds.dv(joint, marg))
    assert float(bounds.dv(joint + c, marg + c)) == pytest.approx(base, abs=1e-9)


def test_nwj_not_invariant_to_constant_shift() -> None:
    joint, marg = t([1.0, 2.0]), t([0.0, 0.5])
    assert abs(float(bounds.nwj(joint + 1.0, marg + 1.0)) - float(bounds.nwj(joint, marg))) > 0.1


@settings(max_examples=100, deadline=None)
@given(score_pair(), st.floats(-5, 5))
def test_nwj_is_tuba_with_log_baseline_one_and_tuba_at_most_dv(
    pair: tuple[np.ndarray, np.ndarray], log_a: float
) -> None:
    joint, marg = t(pair[0]), t(pair[1])
    assert float(bounds.tuba(joint, marg, 1.0)) == pytest.approx(float(bounds.nwj(joint, marg)), rel=1e-9, abs=1e-9)
    # TUBA with any constant baseline is at most DV (DV is TUBA with the optimal constant)
    assert float(bounds.tuba(joint, marg, log_a)) <= float(bounds.dv(joint, marg)) + 1e-9


# ------------------------------------------------------------------ hand-computed values


def test_logmeanexp_and_offdiagonal() -> None:
    assert float(bounds.logmeanexp(t([0.0, math.log(3.0)]))) == pytest.approx(math.log(2.0))
    m = t([[0.0, 1.0], [math.log(3.0), 5.0]])
    np.testing.assert_allclose(bounds.logmeanexp(m, dim=1).numpy(), [math.log((1 + math.e) / 2), math.log((3 + math.e**5) / 2)])
    np.testing.assert_array_equal(bounds.offdiagonal(torch.arange(16.0).reshape(4, 4)).numpy(),
                                  [1, 2, 3, 4, 6, 7, 8, 9, 11, 12, 13, 14])
    with pytest.raises(ValueError, match="square"):
        bounds.offdiagonal(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="at least 2"):
        bounds.offdiagonal(torch.zeros(1, 1))


def test_dv_nwj_infonce_values_by_hand() -> None:
    joint, marg = t([2.0, 0.0]), t([0.0, math.log(3.0)])
    assert float(bounds.dv(joint, marg)) == pytest.approx(1.0 - math.log(2.0))
    assert float(bounds.nwj(joint, marg)) == pytest.approx(1.0 - 2.0 / math.e)
    # marginal of any shape is flattened
    assert float(bounds.dv(joint, marg.reshape(1, 2))) == pytest.approx(1.0 - math.log(2.0))
    s = t([[1.0, 0.0], [2.0, 3.0]])
    row0 = 1.0 - math.log((math.e + 1.0) / 2.0)
    row1 = 3.0 - math.log((math.e**2 + math.e**3) / 2.0)
    assert float(bounds.infonce(s)) == pytest.approx((row0 + row1) / 2.0)
    with pytest.raises(ValueError, match="square"):
        bounds.infonce(torch.zeros(2, 3))


def test_tuba_value_by_hand() -> None:
    joint, marg = t([1.0, 3.0]), t([0.0, 1.0])
    log_a = 0.5
    expected = 1.0 + (2.0 - log_a) - (math.exp(-log_a) + math.exp(1.0 - log_a)) / 2.0
    assert float(bounds.tuba(joint, marg, log_a)) == pytest.approx(expected)
    # a tensor baseline works and carries a gradient
    la = torch.tensor(log_a, dtype=torch.float64, requires_grad=True)
    out = bounds.tuba(joint, marg, la)
    out.backward()
    # d/d(log a) = -1 + mean(e^(T - log a))
    assert float(la.grad) == pytest.approx(-1.0 + (math.exp(-log_a) + math.exp(1.0 - log_a)) / 2.0)


def test_js_value_by_hand() -> None:
    joint, marg = t([0.0, 1.0]), t([-1.0])
    sp = lambda v: math.log1p(math.exp(v))  # noqa: E731
    expected = -(sp(0.0) + sp(-1.0)) / 2.0 - sp(-1.0)
    assert float(bounds.js(joint, marg)) == pytest.approx(expected)


def test_smile_value_clips_marginal_only() -> None:
    joint = t([10.0, 20.0])
    marg = t([-30.0, 0.0, 30.0])
    tau = 5.0
    expected = 15.0 - math.log((math.exp(-5.0) + 1.0 + math.exp(5.0)) / 3.0)
    assert float(bounds.smile(joint, marg, tau)) == pytest.approx(expected)
    # with tau larger than every score it is plain DV
    assert float(bounds.smile(joint, marg, 100.0)) == pytest.approx(float(bounds.dv(joint, marg)))
    with pytest.raises(ValueError, match="tau"):
        bounds.smile(joint, marg, 0.0)


def test_minee_is_difference_of_three_dv() -> None:
    g = torch.Generator().manual_seed(0)
    parts = [torch.randn(5, generator=g, dtype=torch.float64) for _ in range(6)]
    jxy, rxy, jx, rx, jy, ry = parts
    expected = float(bounds.dv(jxy, rxy) - bounds.dv(jx, rx) - bounds.dv(jy, ry))
    assert float(bounds.minee(*parts)) == pytest.approx(expected)
    # hand value: D(XY) = 1 - log 1, D(X) = 0.5 - 0, D(Y) = 0 - log((1 + e)/2)
    val = bounds.minee(t([1.0]), t([0.0]), t([0.5]), t([0.0]), t([0.0]), t([0.0, 1.0]))
    assert float(val) == pytest.approx(1.0 - 0.5 + math.log((1 + math.e) / 2))


def test_remine_penalty_by_hand() -> None:
    marg = t([0.0, math.log(3.0)])  # log mean exp = log 2
    assert float(bounds.remine_penalty(marg, weight=0.5, target=1.0)) == pytest.approx(0.5 * (math.log(2) - 1) ** 2)
    assert float(bounds.remine_penalty(t([2.0, 2.0]), weight=1.0, target=2.0)) == 0.0


# ------------------------------------------------------------------ MINE: value and gradient


def test_update_log_ema_matches_linear_formula() -> None:
    rng = np.random.default_rng(1)
    rate = 0.1
    m = None  # linear-space reference
    log_m = None
    for _ in range(20):
        marg = rng.normal(size=7)
        batch = float(np.mean(np.exp(marg)))
        m = batch if m is None else (1 - rate) * m + rate * batch
        log_m = bounds.update_log_ema(log_m, t(marg), rate)
        assert float(log_m) == pytest.approx(math.log(m), rel=1e-12, abs=1e-12)
    # rate 1 keeps only the newest batch
    assert float(bounds.update_log_ema(t(0.0), t([2.0, 2.0]), 1.0)) == pytest.approx(2.0)
    for bad in (0.0, -0.1, 1.5):
        with pytest.raises(ValueError, match="rate"):
            bounds.update_log_ema(None, t([0.0]), bad)


def test_update_log_ema_is_detached_and_finite_for_huge_scores() -> None:
    marg = torch.tensor([1000.0, 1001.0, 999.0], dtype=torch.float64, requires_grad=True)
    log_m = bounds.update_log_ema(None, marg, 0.01)
    assert not log_m.requires_grad
    log_m = bounds.update_log_ema(log_m, marg + 5.0, 0.01)
    expected0 = 1000.0 + math.log((1 + math.e + math.exp(-1)) / 3)
    expected = expected0 + math.log(0.99 + 0.01 * math.exp(5.0))
    assert math.isfinite(float(log_m))
    assert float(log_m) == pytest.approx(expected, rel=1e-12)
    # float32 too: the naive exp(1000) would be inf
    log32 = bounds.update_log_ema(None, torch.full((4,), 1000.0), 0.5)
    assert math.isfinite(float(log32)) and float(log32) == pytest.approx(1000.0)
    val = bounds.mine(torch.full((4,), 1000.0), torch.full((4,), 1000.0), log32)
    assert math.isfinite(float(val))


def _linear_scores(theta: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
    return feats @ theta


def test_mine_value_is_dv_and_gradient_is_moving_average_formula() -> None:
    g = torch.Generator().manual_seed(3)
    f_joint = torch.randn(6, 3, generator=g, dtype=torch.float64)
    f_marg = torch.randn(9, 3, generator=g, dtype=torch.float64)
    theta = torch.randn(3, generator=g, dtype=torch.float64).requires_grad_(True)
    log_m = torch.tensor(0.7, dtype=torch.float64)
    joint, marg = _linear_scores(theta, f_joint), _linear_scores(theta, f_marg)
    val = bounds.mine(joint, marg, log_m)
    assert float(val.detach()) == pytest.approx(float(bounds.dv(joint, marg).detach()), abs=1e-12)
    (grad,) = torch.autograd.grad(val, theta)
    with torch.no_grad():
        e = torch.exp(f_marg @ theta)
        expected = f_joint.mean(0) - (e[:, None] * f_marg).mean(0) / math.exp(0.7)
    np.testing.assert_allclose(grad.numpy(), expected.numpy(), rtol=1e-10, atol=1e-12)
    # and it differs from the plain DV gradient (denominator = the batch mean, not m)
    (grad_dv,) = torch.autograd.grad(bounds.dv(_linear_scores(theta, f_joint), _linear_scores(theta, f_marg)), theta)
    assert not torch.allclose(grad, grad_dv)
    # the moving average must not receive a gradient
    log_m_req = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    out = bounds.mine(_linear_scores(theta, f_joint), _linear_scores(theta, f_marg), log_m_req)
    out.backward()
    assert log_m_req.grad is None


def test_mine_without_ema_is_dv_with_dv_gradient() -> None:
    theta = torch.tensor([0.3, -0.2], dtype=torch.float64, requires_grad=True)
    fj = torch.tensor([[1.0, 2.0], [0.5, -1.0]], dtype=torch.float64)
    fm = torch.tensor([[0.0, 1.0], [2.0, 2.0], [-1.0, 0.0]], dtype=torch.float64)
    (g1,) = torch.autograd.grad(bounds.mine(fj @ theta, fm @ theta, None), theta)
    (g2,) = torch.autograd.grad(bounds.dv(fj @ theta, fm @ theta), theta)
    np.testing.assert_allclose(g1.numpy(), g2.numpy())


# ------------------------------------------------------------------ JS and SMILE gradients


def test_js_mi_value_is_nwj_of_shifted_and_gradient_is_js() -> None:
    g = torch.Generator().manual_seed(4)
    fj = torch.randn(5, 2, generator=g, dtype=torch.float64)
    fm = torch.randn(7, 2, generator=g, dtype=torch.float64)
    theta = torch.tensor([0.4, -0.7], dtype=torch.float64, requires_grad=True)
    val = bounds.js_mi(fj @ theta, fm @ theta)
    with torch.no_grad():
        j, m = fj @ theta, fm @ theta
        assert float(val) == pytest.approx(float(bounds.nwj(j + 1.0, m + 1.0)), abs=1e-12)
        assert float(val) == pytest.approx(float(j.mean() + 1.0 - torch.exp(m).mean()), abs=1e-12)
    (g_val,) = torch.autograd.grad(val, theta)
    (g_js,) = torch.autograd.grad(bounds.js(fj @ theta, fm @ theta), theta)
    np.testing.assert_allclose(g_val.numpy(), g_js.numpy(), rtol=1e-12)
    (g_nwj,) = torch.autograd.grad(bounds.nwj(fj @ theta + 1.0, fm @ theta + 1.0), theta)
    assert not torch.allclose(g_val, g_nwj)


def test_smile_gradient_is_js() -> None:
    theta = torch.tensor([2.0, -3.0], dtype=torch.float64, requires_grad=True)
    fj = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    fm = torch.tensor([[5.0, 0.0], [0.0, -4.0], [0.1, 0.1]], dtype=torch.float64)  # scores 10, 12, -0.1
    val = bounds.smile(fj @ theta, fm @ theta, tau=1.0)
    (g_val,) = torch.autograd.grad(val, theta)
    (g_js,) = torch.autograd.grad(bounds.js(fj @ theta, fm @ theta), theta)
    np.testing.assert_allclose(g_val.numpy(), g_js.numpy(), rtol=1e-12)


# ------------------------------------------------------------------ large scores stay finite


def test_bounds_finite_for_large_scores() -> None:
    joint = torch.full((4,), 1000.0)
    marg = torch.tensor([1000.0, 990.0, 995.0, 1001.0])
    assert math.isfinite(float(bounds.dv(joint, marg)))
    assert math.isfinite(float(bounds.infonce(torch.eye(4) * 1000.0)))
    assert math.isfinite(float(bounds.smile(joint, marg, 5.0)))
    assert float(bounds.infonce(torch.eye(4) * 1000.0)) == pytest.approx(math.log(4.0), abs=1e-5)


# ------------------------------------------------------------------ the optimal critic gives the MI


def test_optimal_gaussian_critic_recovers_true_mi() -> None:
    rho, n = 0.5, 200_000
    rng = np.random.default_rng(0)
    x = rng.standard_normal(n)
    y = rho * x + math.sqrt(1 - rho**2) * rng.standard_normal(n)
    y_marg = y[rng.permutation(n)]
    true_mi = -0.5 * math.log(1 - rho**2)

    def log_ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return -0.5 * math.log(1 - rho**2) - (rho**2 * a**2 - 2 * rho * a * b + rho**2 * b**2) / (2 * (1 - rho**2))

    joint, marg = t(log_ratio(x, y)), t(log_ratio(x, y_marg))
    # MC error: sd(T*) / sqrt(n) ~ 0.002 for the joint term; the marginal term is of that order too
    assert float(bounds.dv(joint, marg)) == pytest.approx(true_mi, abs=0.015)
    assert float(bounds.nwj(joint + 1.0, marg + 1.0)) == pytest.approx(true_mi, abs=0.015)
    # a constant shift leaves DV unchanged but makes NWJ strictly worse
    assert float(bounds.dv(joint + 2.0, marg + 2.0)) == pytest.approx(float(bounds.dv(joint, marg)), abs=1e-9)
    assert float(bounds.nwj(joint + 3.0, marg + 3.0)) < true_mi - 0.5


def test_tuba_marginal_term_is_computed_in_log_space() -> None:
    # float32: e^89 overflows, but the mean of [e^89, e^-50] = e^(89 - log 2) does not
    joint = torch.tensor([1.0, 1.0])
    marginal = torch.tensor([89.0, -50.0])
    value = bounds.tuba(joint, marginal, 0.0)
    assert torch.isfinite(value)
    expected = 1.0 + 1.0 - math.exp(89.0 - math.log(2.0))
    assert math.isclose(float(value), expected, rel_tol=1e-4)


def test_tuba_per_sample_baseline_pairs_each_score_with_its_own_y() -> None:
    joint, marginal = torch.tensor([1.0, 2.0]), torch.tensor([0.5, -0.5])
    log_a_joint, log_a_marg = torch.tensor([0.2, -0.1]), torch.tensor([-0.1, 0.2])
    value = bounds.tuba(joint, marginal, log_a_joint, log_a_marg)
    expected = 1.0 + float((joint - log_a_joint).mean()) - float(torch.exp(marginal - log_a_marg).mean())
    assert math.isclose(float(value), expected, rel_tol=1e-6)
    with pytest.raises(ValueError, match="log_baseline_marginal"):
        bounds.tuba(joint, marginal, log_a_joint)
    # a constant baseline at its optimum log E[e^T] gives DV
    opt = bounds.logmeanexp(marginal)
    assert torch.isclose(bounds.tuba(joint, marginal, opt), bounds.dv(joint, marginal))


# ------------------------------------------------------------------ CLUB (an upper bound)


def test_club_value_by_hand_and_no_exponential() -> None:
    joint, marginal = torch.tensor([-1.0, -3.0]), torch.tensor([[-2.0, -6.0], [-4.0, -8.0]])
    assert float(bounds.club(joint, marginal)) == pytest.approx(-2.0 - (-5.0))
    # plain means of log-densities: huge magnitudes stay finite (nothing is exponentiated)
    big = bounds.club(torch.tensor([-1.0]), torch.tensor([-1e30, -3e30]))
    assert torch.isfinite(big) and float(big) == pytest.approx(2e30, rel=1e-6)


@pytest.mark.parametrize("rho", [0.3, 0.8])
def test_club_with_the_true_conditional_is_above_the_mi_of_a_gaussian_pair(rho: float) -> None:
    # X, Y standard normal per coordinate with correlation rho, d pairs: I = -d/2 log(1 - rho^2).
    # With q = p(y|x), E_marg[log p(y|x)] - E_joint[...] = d rho^2 / (1 - rho^2): CLUB exceeds the
    # MI by the lautum information KL(P_X x P_Y || P_XY) and equals that closed form.
    d, n = 2, 20_000
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = rho * x + math.sqrt(1 - rho**2) * torch.randn(n, d, generator=g, dtype=torch.float64)
    var = 1 - rho**2

    def log_p(xx: torch.Tensor, yy: torch.Tensor) -> torch.Tensor:
        return (-0.5 * (yy - rho * xx) ** 2 / var - 0.5 * math.log(2 * math.pi * var)).sum(dim=1)

    joint = log_p(x, y)
    marginal = torch.stack([log_p(x, y.roll(k, dims=0)) for k in (1, 7, 101, 999)])
    value = float(bounds.club(joint, marginal))
    truth = -d / 2 * math.log(1 - rho**2)
    expected = d * rho**2 / (1 - rho**2)
    assert value > truth
    assert value == pytest.approx(expected, rel=0.05)
    # the lower bounds on the same true log-ratio sit below the truth (DV with the optimal critic)
    log_ratio_joint = joint + 0.5 * (y**2).sum(1) + d / 2 * math.log(2 * math.pi)
    log_ratio_marg = marginal + 0.5 * (torch.stack([y.roll(k, dims=0) for k in (1, 7, 101, 999)]) ** 2).sum(-1) + d / 2 * math.log(
        2 * math.pi
    )
    assert float(bounds.dv(log_ratio_joint, log_ratio_marg)) < value
