"""Tests for neuralmi.objectives.MutualInformation: losses, MINE's state, evaluation and its error bar."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from neuralmi import bounds
from neuralmi.critics import GaussianCritic, pair_scores
from neuralmi.objectives import METHODS, Evaluation, MutualInformation

torch.set_num_threads(1)


class ProductCritic(nn.Module):
    """``T(x, y) = sum_k theta_k x_k y_k + c``: linear in its parameters, with exact all-pairs scores."""

    def __init__(self, dim: int, theta: list[float], c: float = 0.0) -> None:
        super().__init__()
        self.theta = nn.Parameter(torch.tensor(theta, dtype=torch.float64))
        self.c = nn.Parameter(torch.tensor(c, dtype=torch.float64))
        self.dim = dim

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        return (x * y) @ self.theta + self.c

    def pair_scores(self, x: Tensor, y: Tensor) -> Tensor:
        return (x * self.theta) @ y.T + self.c


def _data(n: int = 16, d: int = 2, seed: int = 0, rho: float = 0.8) -> tuple[Tensor, Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = rho * x + math.sqrt(1 - rho**2) * torch.randn(n, d, generator=g, dtype=torch.float64)
    return x, y


def _all_rolls(mi: MutualInformation) -> None:
    """Make ``mi`` draw the cyclic shifts 1, 2, ..., n-1, 1, ... as its marginal permutations, so
    that ``evaluate(..., n_shifts=n-1)`` uses every off-diagonal pair exactly once."""

    def rolls(n: int) -> Iterator[Tensor]:
        k = 0
        while True:
            yield (torch.arange(n) + 1 + k % (n - 1)) % n
            k += 1

    gens: dict[int, Iterator[Tensor]] = {}

    def perm(n: int, device: torch.device, *_: object) -> Tensor:  # extra args: a generator
        gens.setdefault(n, rolls(n))
        return next(gens[n]).to(device)

    mi._perm = perm  # type: ignore[method-assign]


# ------------------------------------------------------------------ every method trains


@pytest.mark.parametrize("marginal", ["shuffle", "pairs"])
@pytest.mark.parametrize("method", list(METHODS))
def test_critic_loss_finite_and_backpropagates(method: str, marginal: str) -> None:
    torch.manual_seed(0)
    mi = MutualInformation(2, 3, method=method, hidden=(8,), marginal=marginal, seed=0)
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(12, 2, generator=g), torch.randn(12, 3, generator=g)
    loss = mi.critic_loss(x, y)
    assert loss.shape == () and torch.isfinite(loss)
    loss.backward()
    grads = [p.grad for p in mi.parameters() if p.requires_grad]
    assert grads and all(gr is not None and torch.isfinite(gr).all() for gr in grads)
    assert sum(float(gr.abs().sum()) for gr in grads) > 0
    if method == "tuba":
        assert mi.log_baseline.grad is not None and float(mi.log_baseline.grad) != 0.0
    if method == "minee":
        assert any(float(p.grad.abs().sum()) > 0 for p in mi.critic_x.parameters())
        assert any(float(p.grad.abs().sum()) > 0 for p in mi.critic_y.parameters())
    # forward gives a differentiable scalar that also reaches the inputs
    xr, yr = x.clone().requires_grad_(True), y.clone().requires_grad_(True)
    val = mi(xr, yr)
    assert val.shape == () and torch.isfinite(val)
    val.backward()
    assert xr.grad is not None and torch.isfinite(xr.grad).all() and float(xr.grad.abs().sum()) > 0


@pytest.mark.parametrize("method", ["mine", "dv", "nwj", "infonce", "js", "smile", "tuba"])
def test_critic_loss_is_minus_forward_value(method: str) -> None:
    mi = MutualInformation(2, 2, method=method, critic=ProductCritic(2, [0.7, -0.3], 0.2), marginal="pairs")
    x, y = _data()
    s = pair_scores(mi.critic, x, y).detach()
    joint, marg = s.diagonal(), bounds.offdiagonal(s)
    expected = {
        "mine": bounds.dv(joint, marg),
        "dv": bounds.dv(joint, marg),
        "nwj": bounds.nwj(joint, marg),
        "infonce": bounds.infonce(s),
        "js": bounds.nwj(joint + 1, marg + 1),
        "smile": bounds.smile(joint, marg, 5.0),
        "tuba": bounds.tuba(joint, marg, 0.0),
    }[method]
    assert float(mi(x, y).detach()) == pytest.approx(float(expected), rel=1e-12)
    assert float(mi.critic_loss(x, y).detach()) == pytest.approx(-float(expected), rel=1e-12)


def test_remine_penalty_added_to_critic_loss_only() -> None:
    critic = ProductCritic(2, [0.7, -0.3], 0.2)
    mi = MutualInformation(2, 2, method="dv", critic=critic, marginal="pairs", remine_weight=0.5, remine_target=0.1)
    x, y = _data()
    s = pair_scores(critic, x, y).detach()
    dv = float(bounds.dv(s.diagonal(), bounds.offdiagonal(s)))
    pen = 0.5 * (float(bounds.logmeanexp(bounds.offdiagonal(s))) - 0.1) ** 2
    assert float(mi(x, y).detach()) == pytest.approx(dv, rel=1e-12)
    assert float(mi.critic_loss(x, y).detach()) == pytest.approx(-dv + pen, rel=1e-12)


# ------------------------------------------------------------------ MINE's moving average


def test_mine_critic_loss_gradient_uses_updated_moving_average() -> None:
    rate = 0.2
    critic = ProductCritic(2, [0.5, 0.4], 0.0)
    mi = MutualInformation(2, 2, method="mine", critic=critic, marginal="pairs", ema_rate=rate)
    assert torch.isnan(mi.log_ema)  # not started
    x1, y1 = _data(seed=1)
    x2, y2 = _data(seed=2)
    mi.train()
    mi.critic_loss(x1, y1)
    with torch.no_grad():
        m1 = float(torch.exp(bounds.offdiagonal(critic.pair_scores(x1, y1))).mean())
    assert float(mi.log_ema) == pytest.approx(math.log(m1), rel=1e-6)  # the buffer is float32
    m1 = math.exp(float(mi.log_ema))
    critic.zero_grad()
    loss = mi.critic_loss(x2, y2)
    loss.backward()
    with torch.no_grad():
        feats_j = x2 * y2  # dT/dtheta on the joint pairs
        fx = x2[:, None, :] * y2[None, :, :]  # (B, B, d): dT/dtheta on every pair
        mask = ~torch.eye(x2.shape[0], dtype=torch.bool)
        feats_m = fx[mask]
        e = torch.exp(feats_m @ critic.theta)
        m2 = (1 - rate) * m1 + rate * float(e.mean())
        expected = -(feats_j.mean(0) - (e[:, None] * feats_m).mean(0) / m2)
    assert float(mi.log_ema) == pytest.approx(math.log(m2), rel=1e-6)
    np.testing.assert_allclose(critic.theta.grad.numpy(), expected.numpy(), rtol=1e-10)
    # the constant c: d/dc = -(1 - mean(e^T) / m)
    assert float(critic.c.grad) == pytest.approx(-(1 - float(e.mean()) / m2), rel=1e-9, abs=1e-12)


def test_forward_never_touches_moving_average_and_eval_mode_freezes_it() -> None:
    torch.manual_seed(0)
    mi = MutualInformation(2, 2, method="mine", hidden=(8,), seed=0)
    x, y = _data(32)
    x, y = x.float(), y.float()
    mi.train()
    mi(x, y)
    assert torch.isnan(mi.log_ema)
    mi.critic_loss(x, y)
    first = mi.log_ema.clone()
    assert torch.isfinite(first)
    mi(x, y)
    mi.evaluate(x, y)
    assert torch.equal(mi.log_ema, first)
    mi.critic_loss(x * 2, y * 2)
    second = mi.log_ema.clone()
    assert not torch.equal(second, first)
    mi.eval()
    mi.critic_loss(x * 3, y * 3)
    assert torch.equal(mi.log_ema, second)


def test_state_dict_holds_log_ema_and_round_trips() -> None:
    torch.manual_seed(0)
    # all pairs: no random permutation, so forward is a function of the state alone
    mi = MutualInformation(2, 2, method="mine", hidden=(8,), marginal="pairs", seed=0)
    x, y = _data(32)
    x, y = x.float(), y.float()
    mi.critic_loss(x, y)
    state = mi.state_dict()
    assert "log_ema" in state and torch.isfinite(state["log_ema"])
    torch.manual_seed(1)  # different initial weights
    other = MutualInformation(2, 2, method="mine", hidden=(8,), marginal="pairs", seed=0)
    assert not torch.equal(other(x, y), mi(x, y))
    other.load_state_dict(state)
    assert torch.equal(other.log_ema, mi.log_ema)
    torch.testing.assert_close(other(x, y), mi(x, y), rtol=0, atol=0)
    tuba = MutualInformation(2, 2, method="tuba", hidden=(8,))
    assert "log_baseline" in tuba.state_dict()


# ------------------------------------------------------------------ evaluate


def test_evaluate_n2_is_exact_dv_without_patching() -> None:
    # with two samples the only fixed-point-free permutation is the swap
    critic = ProductCritic(2, [0.9, -0.4], 0.3)
    mi = MutualInformation(2, 2, method="dv", critic=critic)
    x, y = _data(2)
    ev = mi.evaluate(x, y, n_shifts=5)
    s = critic.pair_scores(x, y).detach()
    assert ev.value == pytest.approx(float(bounds.dv(s.diagonal(), bounds.offdiagonal(s))), rel=1e-12)


@pytest.mark.parametrize("method", ["mine", "dv", "smile", "nwj", "js", "tuba"])
def test_evaluate_value_equals_bound_on_all_pairs(method: str) -> None:
    critic = ProductCritic(2, [1.5, -0.8], 0.4)
    mi = MutualInformation(2, 2, method=method, critic=critic, smile_tau=1.0)
    if method == "tuba":
        with torch.no_grad():
            mi.log_baseline.fill_(0.3)
    log_a = float(mi.log_baseline.detach()) if method == "tuba" else 0.0  # a float32 parameter
    _all_rolls(mi)
    n = 9
    x, y = _data(n, seed=5)
    ev = mi.evaluate(x, y, n_shifts=n - 1)
    assert isinstance(ev, Evaluation) and ev.n == n and ev.influence.shape == (n,)
    s = critic.pair_scores(x, y).detach()
    joint, marg = s.diagonal(), bounds.offdiagonal(s)
    expected = {
        "mine": bounds.dv(joint, marg),
        "dv": bounds.dv(joint, marg),
        "smile": bounds.smile(joint, marg, 1.0),
        "nwj": bounds.nwj(joint, marg),
        "js": bounds.js_mi(joint, marg),
        "tuba": bounds.tuba(joint, marg, log_a),
    }[method]
    assert ev.value == pytest.approx(float(expected), rel=1e-10)
    assert math.isfinite(ev.stderr) and ev.stderr > 0


@pytest.mark.parametrize("method", ["dv", "smile", "nwj", "js", "tuba"])
def test_influence_is_derivative_of_weighted_bound(method: str) -> None:
    """n * dV(w)/dw_i at w = 1, where V(w) weighs sample i by w_i (and pair (i, j) by w_i w_j)."""
    critic = ProductCritic(2, [1.2, -0.5], 0.1)
    mi = MutualInformation(2, 2, method=method, critic=critic, smile_tau=1.0)
    log_a = 0.0
    if method == "tuba":
        with torch.no_grad():
            mi.log_baseline.fill_(0.4)
        log_a = float(mi.log_baseline.detach())  # a float32 parameter
    _all_rolls(mi)
    n = 8
    x, y = _data(n, seed=7)
    ev = mi.evaluate(x, y, n_shifts=n - 1)
    s = critic.pair_scores(x, y).detach()
    if method == "smile":
        s_m = s.clamp(-1.0, 1.0)
    else:
        s_m = s
    w = torch.ones(n, dtype=torch.float64, requires_grad=True)
    mask = ~torch.eye(n, dtype=torch.bool)
    ww = (w[:, None] * w[None, :])[mask]
    jmean = (w * s.diagonal()).sum() / w.sum()
    mmean = (ww * torch.exp(s_m[mask])).sum() / ww.sum()
    if method in ("dv", "smile"):
        v = jmean - torch.log(mmean)
    elif method == "nwj":
        v = jmean - mmean / math.e
    elif method == "js":
        v = jmean + 1 - mmean
    else:
        v = 1 + jmean - log_a - mmean * math.exp(-log_a)
    (grad,) = torch.autograd.grad(v, w)
    assert float(v.detach()) == pytest.approx(ev.value, rel=1e-10)
    np.testing.assert_allclose(ev.influence, n * grad.numpy(), rtol=1e-8, atol=1e-10)
    assert abs(ev.influence.sum()) < 1e-9


def test_evaluate_infonce_one_block_is_infonce() -> None:
    critic = ProductCritic(2, [1.0, 0.5], -0.2)
    mi = MutualInformation(2, 2, method="infonce", critic=critic)
    x, y = _data(10, seed=3)
    ev = mi.evaluate(x, y, batch_size=10)
    assert ev.n == 10
    assert ev.value == pytest.approx(float(bounds.infonce(critic.pair_scores(x, y).detach())), rel=1e-12)
    # blocks of 4: only full blocks are used (8 of 10 rows), and the value is at most log 4
    ev4 = mi.evaluate(x, y, batch_size=4)
    assert ev4.n == 8 and ev4.value <= math.log(4) + 1e-12


def test_evaluate_minee_finite() -> None:
    torch.manual_seed(0)
    mi = MutualInformation(2, 2, method="minee", hidden=(8,), seed=0)
    x, y = _data(64)
    ev = mi.evaluate(x.float(), y.float(), n_shifts=4)
    assert ev.n == 64 and math.isfinite(ev.value) and math.isfinite(ev.stderr)


class _NegativeSquare(nn.Module):
    def forward(self, v: Tensor) -> Tensor:
        return -(v**2).sum(dim=1)


class _Zero(nn.Module):
    def forward(self, v: Tensor) -> Tensor:
        return torch.zeros(v.shape[0])


def test_minee_evaluation_floors_each_divergence_at_zero() -> None:
    # D(P_X || R_X) with P_X = R_X and a non-constant critic reads below 0 (Jensen); a constant
    # critic does better (0), so the x term must drop out instead of inflating the difference
    torch.manual_seed(0)
    mi = MutualInformation(2, 2, method="minee", hidden=(8,), seed=0)
    mi.critic_x, mi.critic_y = _NegativeSquare(), _Zero()
    x, y = torch.randn(500, 2), torch.randn(500, 2)
    x[:, 0] += y[:, 0]
    ev = mi.evaluate(x, y, n_shifts=4, seed=3)
    gen = torch.Generator().manual_seed(3)
    rx, ry = mi._reference(2000, "x", x, gen), mi._reference(2000, "y", y, gen)
    with torch.no_grad():
        dxy = float(mi.critic(x, y).double().mean() - bounds.logmeanexp(mi.critic(rx, ry).double()))
        dx = float(mi.critic_x(x).double().mean() - bounds.logmeanexp(mi.critic_x(rx).double()))
    assert dx < -0.1
    assert ev.value == pytest.approx(max(dxy, 0.0), abs=1e-9)


def test_minee_reference_fitted_to_data_and_saved() -> None:
    gen = torch.Generator().manual_seed(0)
    a = torch.tensor([[1.0, 0.0, 0.0], [0.9, 0.5, 0.0], [0.2, 0.3, 2.0]])
    x = torch.randn(4000, 3, generator=gen) @ a.T + torch.tensor([1.0, -2.0, 0.5])
    y = torch.randn(4000, 2, generator=gen)
    mi = MutualInformation(3, 2, method="minee", hidden=(8,), seed=0)
    assert torch.equal(mi.ref_scale_x, torch.eye(3))  # standard normal until fitted
    assert mi.fit_reference(x, y) is mi
    cov = torch.cov(x.double().T)
    ridge = 1e-3 * float(cov.diagonal().mean())
    fitted = (mi.ref_scale_x @ mi.ref_scale_x.T).double()
    assert torch.allclose(fitted, cov + ridge * torch.eye(3, dtype=torch.float64), atol=1e-4)
    assert torch.allclose(mi.ref_loc_x, x.mean(0), atol=1e-5)
    draws = mi._reference(200_000, "x", x, torch.Generator().manual_seed(1))
    assert torch.allclose(draws.mean(0), x.mean(0), atol=0.02)
    assert torch.allclose(torch.cov(draws.T), fitted.float(), atol=0.05)
    restored = MutualInformation(3, 2, method="minee", hidden=(8,), seed=0)
    restored.load_state_dict(mi.state_dict())
    assert torch.equal(restored.ref_scale_x, mi.ref_scale_x) and torch.equal(restored.ref_loc_y, mi.ref_loc_y)
    with pytest.raises(ValueError, match="minee"):
        MutualInformation(3, 2, method="mine").fit_reference(x, y)


def test_evaluation_stderr_formula() -> None:
    infl = np.array([1.0, -1.0, 2.0, -2.0])
    ev = Evaluation(0.5, infl, 4)
    assert ev.stderr == pytest.approx(np.std(infl, ddof=1) / 2.0)
    assert Evaluation(0.0, np.zeros(1), 1).stderr == float("inf")


def test_evaluate_large_scores_stay_finite() -> None:
    critic = ProductCritic(2, [300.0, 300.0], 500.0)  # scores in the hundreds to thousands
    for method in ("dv", "nwj", "smile"):
        mi = MutualInformation(2, 2, method=method, critic=critic)
        x, y = _data(20, seed=1)
        ev = mi.evaluate(x, y, n_shifts=4)
        if method == "nwj":  # e^(T - 1) overflows in value, but must not be NaN
            assert not math.isnan(ev.value)
        else:
            assert math.isfinite(ev.value) and math.isfinite(ev.stderr)


# ------------------------------------------------------------------ the error bar is calibrated


def _true_gaussian_critic(rho: float, d: int) -> GaussianCritic:
    rng = np.random.default_rng(123)
    n = 400_000
    x = rng.standard_normal((n, d))
    y = rho * x + math.sqrt(1 - rho**2) * rng.standard_normal((n, d))
    return GaussianCritic.from_data(x, y).double()


@pytest.mark.parametrize("method", ["dv", "nwj", "infonce"])
def test_influence_stderr_matches_spread_over_fresh_samples(method: str) -> None:
    rho, d, n, reps = 0.7, 1, 512, 200
    critic = _true_gaussian_critic(rho, d)
    mi = MutualInformation(d, d, method=method, critic=critic, seed=0)
    if method == "nwj":
        with torch.no_grad():  # the NWJ-optimal critic is T* + 1
            critic.const.add_(1.0)
    rng = np.random.default_rng(0)
    values, errs = [], []
    for _ in range(reps):
        x = rng.standard_normal((n, d))
        y = rho * x + math.sqrt(1 - rho**2) * rng.standard_normal((n, d))
        ev = mi.evaluate(torch.as_tensor(x), torch.as_tensor(y), n_shifts=16, batch_size=128)
        values.append(ev.value)
        errs.append(ev.stderr)
    ratio = float(np.mean(errs)) / float(np.std(values, ddof=1))
    assert 0.7 < ratio < 1.4, f"stderr {np.mean(errs):.4f} vs spread {np.std(values, ddof=1):.4f}"


# ------------------------------------------------------------------ input errors


@pytest.fixture(scope="module")
def mi22() -> MutualInformation:
    torch.manual_seed(0)
    return MutualInformation(2, 2, method="mine", hidden=(4,))


@pytest.mark.parametrize("entry", ["forward", "critic_loss", "evaluate"])
def test_input_errors(mi22: MutualInformation, entry: str) -> None:
    fn = {"forward": mi22.forward, "critic_loss": mi22.critic_loss, "evaluate": mi22.evaluate}[entry]
    with pytest.raises(ValueError, match="same batch size"):
        fn(torch.randn(5, 2), torch.randn(6, 2))
    with pytest.raises(ValueError, match="dimension"):
        fn(torch.randn(5, 3), torch.randn(5, 2))
    with pytest.raises(ValueError, match="dimension"):
        fn(torch.randn(5, 2), torch.randn(5, 1))
    with pytest.raises(ValueError, match="at least 2"):
        fn(torch.randn(1, 2), torch.randn(1, 2))
    with pytest.raises(TypeError, match="tensors"):
        fn(np.zeros((5, 2)), torch.randn(5, 2))
    with pytest.raises(TypeError, match="tensors"):
        fn(torch.randn(5, 2), [[0.0, 0.0]] * 5)


def test_flattened_inputs_accepted() -> None:
    torch.manual_seed(0)
    mi = MutualInformation(4, 2, method="dv", hidden=(4,))
    assert torch.isfinite(mi(torch.randn(6, 2, 2), torch.randn(6, 2)))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"method": "mien"}, "unknown method"),
        ({"marginal": "all"}, "unknown marginal"),
        ({"ema_rate": 0.0}, "ema_rate"),
        ({"ema_rate": 1.5}, "ema_rate"),
        ({"smile_tau": -1.0}, "smile_tau"),
        ({"remine_weight": -0.1}, "remine_weight"),
        ({"critic": "mlp"}, "unknown critic"),
    ],
)
def test_constructor_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        MutualInformation(2, 2, hidden=(4,), **kwargs)


def test_constructor_critic_type_error() -> None:
    with pytest.raises(TypeError, match="critic"):
        MutualInformation(2, 2, critic=3)  # type: ignore[arg-type]


class _Fixed(nn.Module):
    """A critic with known scores: T(x, y) = x0 * y0 * 3 (large enough for SMILE's clip)."""

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        return 3.0 * x[:, 0] * y[:, 0]


def test_smile_is_selected_on_the_nwj_bound_of_t_plus_one() -> None:
    # SMILE's clipped DV value is not a bound: checkpoints are ranked by NWJ on T + 1 instead
    torch.manual_seed(0)
    x = torch.randn(200, 1)
    y = x + 0.3 * torch.randn(200, 1)
    mi = MutualInformation(1, 1, method="smile", critic=_Fixed(), smile_tau=1.0)
    ev = mi.evaluate(x, y, n_shifts=8, seed=5)
    nwj = MutualInformation(1, 1, method="js", critic=_Fixed()).evaluate(x, y, n_shifts=8, seed=5)
    assert ev.score is not None and math.isclose(ev.criterion, nwj.value, rel_tol=1e-9)
    assert ev.value > ev.criterion  # the clipped value is the larger one here: the bias it would reward
    assert MutualInformation(1, 1, method="mine", critic=_Fixed()).evaluate(x, y).criterion == pytest.approx(
        MutualInformation(1, 1, method="mine", critic=_Fixed()).evaluate(x, y).value
    )


def test_minee_evaluation_reports_each_divergence_for_selection() -> None:
    torch.manual_seed(0)
    mi = MutualInformation(2, 2, method="minee", seed=0)
    x = torch.randn(300, 2)
    y = x + torch.randn(300, 2)
    mi.fit_reference(x, y)
    ev = mi.evaluate(x, y, n_shifts=4, seed=1)
    assert ev.parts is not None and set(ev.parts) == {"critic.", "critic_x.", "critic_y."}
    assert math.isclose(ev.criterion, sum(ev.parts.values()))
    for prefix in ev.parts:
        assert any(k.startswith(prefix) for k in mi.state_dict())


# ------------------------------------------------------------------ CLUB: an upper bound with a Gaussian q(y|x)


def test_gaussian_conditional_log_prob_and_pair_scores() -> None:
    from neuralmi.objectives import GaussianConditional

    torch.manual_seed(0)
    q = GaussianConditional(3, 2, hidden=(8, 8)).double()
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(5, 3, generator=g, dtype=torch.float64), torch.randn(4, 2, generator=g, dtype=torch.float64)
    mu, log_var = q.params(x)
    ref = torch.distributions.Normal(mu[:, None, :], torch.exp(0.5 * log_var)[:, None, :]).log_prob(y[None, :, :]).sum(-1)
    assert torch.allclose(q.pair_scores(x, y), ref, atol=1e-10)
    assert torch.allclose(q(x[:4], y), ref[torch.arange(4), torch.arange(4)], atol=1e-10)
    assert torch.allclose(q.log_prob(x[:4], y), q(x[:4], y))
    # the log-variance is soft-bounded
    with torch.no_grad():
        q.log_var.bias.fill_(1e6)
    assert float(q.params(x)[1].detach().max()) <= q.max_log_var


def test_club_value_objective_and_rejected_critics() -> None:
    mi = MutualInformation(2, 2, method="club", hidden=(8,), marginal="pairs", seed=0).double()
    x, y = _data()
    s = pair_scores(mi.critic, x, y).detach()
    joint = mi.critic(x, y).detach()
    expected = float(bounds.club(joint, bounds.offdiagonal(s)))
    assert float(mi(x, y).detach()) == pytest.approx(expected, rel=1e-9)
    # the conditional is fitted by likelihood: the critic loss is minus the mean log q(y|x), not -CLUB
    loss, value = mi.critic_loss(x, y, with_value=True)
    assert float(loss.detach()) == pytest.approx(-float(joint.mean()), rel=1e-12)
    assert float(value) == pytest.approx(expected, rel=1e-9)
    with pytest.raises(TypeError, match="conditional density"):
        MutualInformation(2, 2, method="club", critic=ProductCritic(2, [0.5, 0.5]))
    with pytest.raises(ValueError, match="conditional density"):
        MutualInformation(2, 2, method="club", critic="separable")


def test_club_evaluate_with_every_pair_and_its_influence() -> None:
    mi = MutualInformation(2, 2, method="club", hidden=(8,), seed=0).double()
    x, y = _data(n=12)
    _all_rolls(mi)
    ev = mi.evaluate(x, y, n_shifts=11)
    s = pair_scores(mi.critic, x, y).detach()
    exact = float(bounds.club(s.diagonal(), bounds.offdiagonal(s)))
    assert ev.value == pytest.approx(exact, rel=1e-9)
    # checkpoint selection reads the held-out log-likelihood, never the upper bound
    assert ev.score == pytest.approx(float(s.diagonal().mean()), rel=1e-9) and ev.criterion == ev.score
    # influence: the exact first-order change of the value when one sample's weight changes
    assert abs(float(ev.influence.sum())) < 1e-8 and math.isfinite(ev.stderr)
    i, eps = 3, 1e-6
    w = torch.full((12,), 1.0 / 12, dtype=torch.float64)
    w[i] += eps
    w = w / w.sum()
    pair_w = w[:, None] * w[None, :]
    pair_w.fill_diagonal_(0.0)
    perturbed = float((w * s.diagonal()).sum() - (pair_w * s).sum() / pair_w.sum())
    # moving weight eps/(1+eps) onto sample i changes the value by influence_i per unit of eps
    assert (perturbed - exact) / eps == pytest.approx(float(ev.influence[i]), rel=1e-3, abs=1e-7)


def test_club_trained_on_a_gaussian_pair_is_above_the_truth_and_near_its_true_conditional_value() -> None:
    # Y = rho X + sqrt(1 - rho^2) noise, d pairs. True MI -d/2 log(1 - rho^2); CLUB with the
    # true conditional is d rho^2 / (1 - rho^2) (the MI plus the lautum information).
    rho, d, n = 0.6, 2, 4000
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(5)
    x = torch.randn(n, d, generator=g)
    y = rho * x + math.sqrt(1 - rho**2) * torch.randn(n, d, generator=g)
    mi = MutualInformation(d, d, method="club", hidden=(16,), seed=0)
    from neuralmi.training import Adam  # torch.optim's first use imports torch._dynamo (seconds)

    opt = Adam(list(mi.parameters()), lr=1e-2)
    for step in range(300):
        idx = torch.randint(0, 3000, (256,), generator=g)
        opt.zero_grad()
        mi.critic_loss(x[idx], y[idx]).backward()
        opt.step()
    mi.eval()
    ev = mi.evaluate(x[3000:], y[3000:], seed=0)
    truth = -d / 2 * math.log(1 - rho**2)
    with_true_q = d * rho**2 / (1 - rho**2)
    assert ev.value > truth + 4 * ev.stderr
    assert ev.value == pytest.approx(with_true_q, abs=0.15)
    # the held-out log-likelihood (the selection score) is close to the true conditional's, on the same samples
    var = 1 - rho**2
    true_ll = float((-0.5 * (y[3000:] - rho * x[3000:]) ** 2 / var - 0.5 * math.log(2 * math.pi * var)).sum(1).mean())
    assert true_ll - 0.05 < ev.score < true_ll + 0.01
