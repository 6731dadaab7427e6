"""K-fold cross-fitting (``folds=K``): validation, the vectorised critics, selection, honesty."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

import neuralmi
from neuralmi import bounds, ensemble, estimators
from neuralmi.estimators import EstimatorConfig, NeuralEstimator
from neuralmi.objectives import MutualInformation


def _gauss(n: int, rho: float, seed: int, d: int = 1) -> tuple[np.ndarray, np.ndarray, float]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    y = rho * x + math.sqrt(1 - rho**2) * rng.standard_normal((n, d))
    return x, y, -0.5 * d * math.log(1 - rho**2)


# ------------------------------------------------------------------------------------ validation
@pytest.mark.parametrize("bad", [0, 1, 2, -3, 2.5, "3", "Auto", "none", True])
def test_folds_must_be_auto_none_or_an_integer_of_at_least_3(bad: object) -> None:
    with pytest.raises(ValueError, match="folds must be 'auto', None"):
        EstimatorConfig(folds=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="folds must be 'auto', None"):
        neuralmi.MINE(folds=bad)


def test_folds_accepts_auto_none_and_integers() -> None:
    assert EstimatorConfig().folds == "auto"  # the default since 0.7.0
    assert EstimatorConfig(folds=None).folds is None
    assert EstimatorConfig(folds=3).folds == 3
    assert EstimatorConfig(folds=np.int64(5)).folds == 5
    assert NeuralEstimator(folds=4).get_params()["folds"] == 4


def test_conditional_mi_rejects_folds() -> None:
    with pytest.raises(ValueError, match="folds"):
        neuralmi.ConditionalMI(folds=3)


# ------------------------------------------------------------------------- the vectorised critics
def _modules(k: int, dx: int, dy: int, method: str, baseline: bool, seed: int = 0) -> list[MutualInformation]:
    torch.manual_seed(seed)
    est = NeuralEstimator(method=method, gaussian_baseline=baseline, hidden=(16, 8), baseline_shrinkage=None)
    rng = np.random.default_rng(seed)
    out = []
    for j in range(k):
        x = rng.standard_normal((200, dx))
        y = 0.5 * x[:, :dy] + rng.standard_normal((200, dy))
        critic = est._build_critic(x, y)
        if not baseline:  # a random last layer, so the scores are not all 0
            torch.nn.init.normal_(critic.net[-1].weight)
        out.append(MutualInformation(dx, dy, method=method, critic=critic, hidden=(16, 8), seed=j))
    return out


@pytest.mark.parametrize("baseline", [True, False])
def test_stacked_scores_equal_each_critics_own(baseline: bool) -> None:
    mods = _modules(3, 3, 2, "nwj", baseline)
    stack = ensemble.StackedConcat.from_critics([m.critic for m in mods])
    assert stack is not None
    x, y = torch.randn(3, 50, 3), torch.randn(3, 50, 2)
    scores = stack(torch.cat([x, y], -1))
    for k, m in enumerate(mods):
        torch.testing.assert_close(scores[k], m.critic(x[k], y[k]), rtol=1e-5, atol=1e-5)
    # write_back puts changed weights into the module the stack was built from
    with torch.no_grad():
        for w in stack.weights:
            w.add_(0.1)
    stack.write_back(mods[1].critic, 1)
    torch.testing.assert_close(stack(torch.cat([x, y], -1))[1], mods[1].critic(x[1], y[1]), rtol=1e-5, atol=1e-5)


class _FixedBase(torch.nn.Module):
    """A baseline without parameters that is not a GaussianCritic: scored one by one by the stack."""

    def __init__(self, scale: float) -> None:
        super().__init__()
        self.register_buffer("scale", torch.tensor(scale))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.scale * (x[:, :1] * y[:, :1]).sum(-1) + x.sum(-1) ** 2


def test_other_fixed_baselines_are_stacked_and_scored_one_by_one() -> None:
    from neuralmi.critics import ConcatCritic, ResidualCritic

    torch.manual_seed(0)
    critics = [ResidualCritic(_FixedBase(0.5 * k), ConcatCritic(3, 2, (8,))) for k in range(3)]
    stack = ensemble.StackedConcat.from_critics(critics)
    assert stack is not None and not stack.has_baseline
    z = torch.randn(3, 20, 5)
    scores = stack(z)
    for k, c in enumerate(critics):
        torch.testing.assert_close(scores[k], c(z[k, :, :3], z[k, :, 3:]), rtol=1e-5, atol=1e-5)


def test_other_critics_are_not_stacked() -> None:
    sep = [MutualInformation(2, 2, critic="separable") for _ in range(3)]
    assert ensemble.StackedConcat.from_critics([m.critic for m in sep]) is None
    mixed = _modules(2, 2, 2, "nwj", True) + _modules(1, 2, 2, "nwj", False)
    assert ensemble.StackedConcat.from_critics([m.critic for m in mixed]) is None
    assert not ensemble.can_stack(_modules(3, 2, 2, "tuba", True))
    # a critic whose forward differs from what is stacked (here: shifted by 1) is not stacked
    mods = _modules(3, 2, 2, "nwj", True)
    assert ensemble.can_stack(mods)
    real = mods[2].critic.base.forward
    mods[2].critic.base.forward = lambda x, y: real(x, y) + 1.0
    assert not ensemble.can_stack(mods)


@pytest.mark.parametrize("method", ensemble.STACKED_METHODS)
def test_stacked_objective_equals_the_bounds_row_by_row(method: str) -> None:
    torch.manual_seed(1)
    joint = torch.randn(4, 32, requires_grad=True)
    marg = torch.randn(4, 32, requires_grad=True)
    log_ema = torch.tensor([float("nan"), 0.3, -0.2, 1.0])
    obj, value, new_ema = ensemble.stacked_objective(method, joint, marg, log_ema, 0.05, 1.5, 0.1, 0.2)
    grad = torch.autograd.grad(obj.sum(), (joint, marg))
    for k in range(4):
        j, m = joint[k].detach().requires_grad_(), marg[k].detach().requires_grad_()
        if method == "mine":
            ema = bounds.update_log_ema(log_ema[k], m, 0.05)
            v = bounds.mine(j, m, ema)
            torch.testing.assert_close(new_ema[k], ema)
        else:
            v = {"dv": bounds.dv, "nwj": bounds.nwj, "js": bounds.js_mi}.get(method, lambda a, b: bounds.smile(a, b, 1.5))(j, m)
        o = v - bounds.remine_penalty(m, 0.1, 0.2) if method in ("mine", "dv", "smile") else v
        torch.testing.assert_close(value[k], v.detach())
        torch.testing.assert_close(obj[k].detach(), o.detach())
        gj, gm = torch.autograd.grad(o, (j, m))
        torch.testing.assert_close(grad[0][k], gj)
        torch.testing.assert_close(grad[1][k], gm)


def test_fixed_point_free_permutations() -> None:
    perm = ensemble._fixed_point_free(6, 40, torch.Generator().manual_seed(0))
    for row in perm:
        assert sorted(row.tolist()) == list(range(40))
        assert not (row == torch.arange(40)).any()


# ---------------------------------------------------------------------------------------- selection
def test_selection_ignores_a_critics_own_curve() -> None:
    # three critics; critic 0's own fold would favour step 100, the other two favour step 300: the
    # step critic 0 keeps is chosen by critics 1 and 2 only, and theirs by the others
    curves = {
        0: [0.0, 0.0, 0.0],
        100: [0.9, 0.1, 0.1],
        200: [0.1, 0.2, 0.2],
        300: [0.1, 0.5, 0.5],
        400: [0.1, 0.3, 0.3],
    }
    sel = ensemble.CrossSelection([{"": v} for v in curves[0]], patience=None, min_delta=[0.0] * 3)
    for step in (100, 200, 300, 400):
        sel.update(step, [{"": v} for v in curves[step]])
    assert sel.best_steps[0] == 300
    # critic 1's criterion: mean of critics 0 and 2 -> 0.5 at 100, 0.15, 0.3, 0.2
    assert sel.best_steps[1] == 100 and sel.best_steps[2] == 100
    assert sel.criterion(0) == {"": pytest.approx(0.3)}


def test_selection_freezes_after_patience_and_keeps_frozen_values() -> None:
    sel = ensemble.CrossSelection([{"": 0.0}] * 3, patience=2, min_delta=[0.01] * 3)
    sel.update(1, [{"": 0.5}, {"": 0.5}, {"": 0.5}])
    assert sel.frozen == [False] * 3
    sel.update(2, [{"": 0.5}, {"": 0.5}, {"": 0.5}])
    sel.update(3, [{"": 0.5}, {"": 0.5}, {"": 0.5}])
    assert sel.frozen == [True] * 3 and sel.stop_steps == [3, 3, 3] and sel.best_steps == [1, 1, 1]
    sel = ensemble.CrossSelection([{"": 0.0}] * 3, patience=1, min_delta=[0.0] * 3)
    saved = sel.update(1, [{"": 1.0}, {"": 0.0}, {"": 0.0}])  # only critics 1 and 2 see critic 0's rise
    assert saved == [[], [""], [""]] and sel.frozen == [True, False, False]
    saved = sel.update(2, [None, {"": 2.0}, {"": 0.0}])  # a frozen critic's last value stays in
    assert sel.criterion(2) == {"": pytest.approx(1.5)} and saved == [[], [], [""]]


# ------------------------------------------------------------------------------------- estimates
def test_gaussian_estimate_is_close_to_the_truth() -> None:
    task = neuralmi.tasks.get("gauss-d2-rho0.5")
    x, y = task.sample(2000, seed=0)
    res = neuralmi.estimate(x, y, seed=0, folds=3)
    assert abs(res.mi - task.mi) < 0.06, (res.mi, task.mi)
    assert res.n_test == 2000  # every row is read once
    cfg = res.config
    assert cfg["folds"] == 3 and len(cfg["fold_values"]) == 3 and len(cfg["selected_steps"]) == 3
    assert sum(cfg["fold_sizes"]) == 2000 and cfg["vectorised"] is True
    assert res.stderr == pytest.approx(max(cfg["stderr_delta"], cfg["stderr_between"]))
    assert res.mi == pytest.approx(np.dot(cfg["fold_sizes"], cfg["fold_values"]) / 2000)
    assert "spread of the 3 cross-fitted critics" in str(res)


def test_independent_data_read_near_zero_with_an_interval_containing_it() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((1000, 2)), rng.standard_normal((1000, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", neuralmi.exceptions.NeuralMIWarning)  # no dependence: expected
        res = neuralmi.estimate(x, y, seed=0, folds=4, steps=600)
    assert res.mi < 0.03
    assert res.ci()[0] <= 0.0


def test_seeded_repeatability() -> None:
    x, y, _ = _gauss(600, 0.6, seed=2)
    a = neuralmi.estimate(x, y, seed=5, folds=3, steps=200)
    b = neuralmi.estimate(x, y, seed=5, folds=3, steps=200)
    c = neuralmi.estimate(x, y, seed=6, folds=3, steps=200)
    assert a.mi == b.mi and a.stderr == b.stderr and a.config["fold_values"] == b.config["fold_values"]
    assert a.config["selected_steps"] == b.config["selected_steps"]
    assert a.config["fold_values"] != c.config["fold_values"]


def test_duplicated_rows_stay_in_one_fold() -> None:
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal((150, 2))
    y0 = x0 + rng.standard_normal((150, 2))
    copies = rng.integers(1, 4, size=150)  # 1-3 copies of each row
    x, y = np.repeat(x0, copies, axis=0), np.repeat(y0, copies, axis=0)
    origin = np.repeat(np.arange(150), copies)
    groups = estimators._duplicate_groups(x, y)
    assert groups is not None
    folds = estimators._kfold(x.shape[0], 4, 0, groups)
    assert sorted(np.concatenate(folds).tolist()) == list(range(x.shape[0]))
    assert max(len(f) for f in folds) - min(len(f) for f in folds) <= 6  # balanced up to a group
    with pytest.warns(neuralmi.exceptions.DuplicateRowsWarning):
        est = NeuralEstimator(seed=0, folds=4, steps=100).fit(x, y)
    fold_of = np.full(x.shape[0], -1)
    for k, (_, _, _, rows) in enumerate(est.readout_):
        assert (fold_of[rows] == -1).all()
        fold_of[rows] = k
    assert (fold_of >= 0).all()
    for g in range(150):  # every copy of a row is in the same fold
        assert len(set(fold_of[origin == g].tolist())) == 1


# -------------------------------------------------------------------------------------- no leak
def test_no_row_of_fold_k_trains_transforms_or_selects_critic_k(monkeypatch: pytest.MonkeyPatch) -> None:
    # x carries each row's index in its values (transform="none" keeps them), so every tensor
    # the estimator hands to critic k can be traced back to rows
    n = 300
    rng = np.random.default_rng(1)
    x = np.arange(n, dtype=float)[:, None] / n

    def rows(a: np.ndarray | torch.Tensor) -> set[int]:  # the row indices behind x values
        return set(np.round(np.asarray(a, dtype=np.float64)[:, 0] * n).astype(int).tolist())

    y = x + 0.3 * rng.standard_normal((n, 1))
    fits: list[set[int]] = []
    real_fit_transform = estimators.fit_transform

    def spy_fit_transform(a: np.ndarray, kind: str, radial: bool = False):  # records the rows every x transform is fit on
        if np.allclose(a * n, np.round(a * n)):
            fits.append(rows(a))
        return real_fit_transform(a, kind, radial)

    baselines: list[set[int]] = []
    real_build = NeuralEstimator._build_critic

    def spy_build(self, xs: np.ndarray, ys: np.ndarray, extra: tuple[int, int] = (0, 0)):
        baselines.append(rows(xs))
        return real_build(self, xs, ys, extra)

    seen: dict[str, object] = {}
    evaluated: list[tuple[int, set[int]]] = []
    real_train = ensemble.train_crossfit

    def spy_train(modules, train_sets, heldout, config, vectorise=True):
        seen["train"] = [rows(xs) for xs, _ in train_sets]
        seen["heldout"] = [rows(xh) for xh, _ in heldout]
        for k, m in enumerate(modules):  # every evaluation during training: which critic, which rows
            real_eval = m.evaluate

            def spy_eval(xe, ye, *args, _k=k, _real=real_eval, **kwargs):
                evaluated.append((_k, rows(xe)))
                return _real(xe, ye, *args, **kwargs)

            m.evaluate = spy_eval
        run = real_train(modules, train_sets, heldout, config, vectorise)
        for m in modules:
            del m.evaluate
        return run

    monkeypatch.setattr(estimators, "fit_transform", spy_fit_transform)
    monkeypatch.setattr(NeuralEstimator, "_build_critic", spy_build)
    monkeypatch.setattr(ensemble, "train_crossfit", spy_train)
    est = NeuralEstimator(seed=0, folds=3, transform="none", steps=300, eval_every=50, patience=None).fit(x, y)
    folds = [set(rows.tolist()) for *_, rows in est.readout_]
    assert set().union(*folds) == set(range(n)) and sum(len(f) for f in folds) == n
    for k in range(3):
        others = set(range(n)) - folds[k]
        assert seen["train"][k] == others  # critic k trains on every other row, none of fold k
        assert fits[k] == others and baselines[k] == others  # its transform and baseline too
        assert seen["heldout"][k] <= folds[k]
        assert rows(est.readout_[k][0]) == folds[k]  # read on fold k
    assert len(evaluated) == 3 * 7  # steps 0, 50, ..., 300: every critic, every evaluation
    for k, rows in evaluated:  # during training, critic k is read on its own fold only ...
        assert rows <= folds[k]
    # ... and its selection uses the others' curves only (CrossSelection, tested above)


@pytest.mark.parametrize("leak", [False, True])
def test_a_memorising_critic_reads_zero_on_independent_data_unless_fold_k_leaks(
    leak: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # independent X and Y, a large critic trained to the end: it memorises its training rows,
    # but each fold read by the critic that never saw it stays at 0 within the error bar. With
    # leak=True fold k's rows are added to critic k's training rows, and the check catches it
    if leak:
        real_train = ensemble.train_crossfit

        def leaky_train(modules, train_sets, heldout, config, vectorise=True):
            leaked = [(torch.cat([xs, xh]), torch.cat([ys, yh])) for (xs, ys), (xh, yh) in zip(train_sets, heldout)]
            return real_train(modules, leaked, heldout, config, vectorise)

        monkeypatch.setattr(ensemble, "train_crossfit", leaky_train)
    rng = np.random.default_rng(11)
    x, y = rng.standard_normal((300, 5)), rng.standard_normal((300, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", neuralmi.exceptions.NeuralMIWarning)  # overfitting: expected
        res = neuralmi.estimate(
            x, y, gaussian_baseline=False, hidden=(128, 128), lr=2e-3, steps=800, eval_every=100,
            patience=None, folds=3, seed=0,
        )
    assert min(v for v in res.history["train"][-3:] if v is not None) > 0.3  # it does memorise
    # each fold's read is a held-out bound with its own delta-method error bar: under
    # independence every fold stays at 0 within it; a leak lifts a fold far above it (0.9.0's
    # inputs, leaked: folds read 2.28, 0.07, 2.84 with error bars ~0.15-0.28, so the pooled
    # error, their spread 0.85, hides it, and the check is per fold)
    folds_at_zero = all(
        v <= 3 * s + 0.02 for v, s in zip(res.config["fold_values"], res.config["fold_stderrs"])
    )
    assert folds_at_zero != leak, (res.config["fold_values"], res.config["fold_stderrs"])
    if not leak:
        assert res.mi <= 3 * res.stderr + 0.02, (res.mi, res.stderr)


# ----------------------------------------------------------------------------- fitted attributes
def test_read_score_and_independence_test_work_with_folds() -> None:
    x, y, _ = _gauss(600, 0.7, seed=4)
    est = NeuralEstimator(seed=0, folds=3, steps=150).fit(x, y)
    assert len(est.modules_) == 3 and len(est.readout_) == 3
    assert est.critic_ is est.modules_[0].critic  # fold 0's critic, with fold 0's transforms
    assert est.transform_x_ is est.transforms_[0][0]
    assert est.score(x[:300], y[:300]) > 0.2
    test = neuralmi.independence_test(x, y, seed=0, folds=3, steps=150, n_permutations=19)
    assert len(test.fold_p_values) == 3 and test.p_value == min(1.0, 3 * min(test.fold_p_values))
    assert test.p_value == pytest.approx(0.15)  # 3 * 1/20: the smallest attainable


def test_looped_critics_give_the_same_kind_of_estimate() -> None:
    # a separable critic cannot be stacked: the K critics train in a loop, with the same selection
    x, y, truth = _gauss(800, 0.7, seed=5, d=2)
    res = neuralmi.estimate(x, y, seed=0, folds=3, critic="separable", steps=300)
    assert res.config["vectorised"] is False
    assert abs(res.mi - truth) < 0.12, (res.mi, truth)
    res = neuralmi.estimate(x, y, seed=0, folds=3, method="tuba", steps=200)
    assert res.config["vectorised"] is False and abs(res.mi - truth) < 0.12


def test_streamed_input_rejects_folds() -> None:
    x, y, _ = _gauss(400, 0.5, seed=0)
    batches = [(x[i : i + 100], y[i : i + 100]) for i in range(0, 400, 100)]
    with pytest.raises(ValueError, match="folds"):
        neuralmi.estimate(batches, folds=3)


def test_command_line_folds(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from neuralmi import cli

    x, y, _ = _gauss(300, 0.7, seed=1)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    base = ["estimate", "--x-file", str(tmp_path / "x.npy"), "--y-file", str(tmp_path / "y.npy"), "--steps", "50", "--quiet"]
    assert cli.main([*base, "--folds", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["config"]["folds"] == 3 and len(out["config"]["fold_values"]) == 3 and out["n_test"] == 300
    with pytest.raises(SystemExit) as stop:  # argparse: one line, status 2
        cli.main([*base, "--folds", "2"])
    assert stop.value.code == 2 and "expected auto, none or an integer >= 3" in capsys.readouterr().err
    assert cli.main([*base, "--folds", "none", "--json"]) == 0  # one split: 30 % read
    out = json.loads(capsys.readouterr().out)
    assert out["config"]["folds"] is None and out["n_test"] == 90
    assert cli.main([*base, "--json"]) == 0  # default auto: 300 rows are cross-fitted with 5 folds
    out = json.loads(capsys.readouterr().out)
    assert out["config"]["folds"] == 5 and len(out["config"]["fold_values"]) == 5 and out["n_test"] == 300
    assert cli.main([*base, "--folds", "3", "--method", "ksg"]) == 2
    assert "--folds" in capsys.readouterr().err


def test_selection_idle_patience_before_a_first_improvement() -> None:
    sel = ensemble.CrossSelection([{"": 0.0}] * 3, patience=3, min_delta=[0.01] * 3, idle_patience=1)
    # critics 1 and 2 see critic 0's rise (their criterion is the others' mean); critic 0 sees none
    sel.update(1, [{"": 1.0}, {"": 0.0}, {"": 0.0}])
    assert sel.frozen == [True, False, False] and sel.stop_steps[0] == 1
    for step in (2, 3):
        sel.update(step, [None, {"": 0.0}, {"": 0.0}])
    assert sel.frozen == [True, False, False]
    sel.update(4, [None, {"": 0.0}, {"": 0.0}])
    assert sel.frozen == [True, True, True] and sel.stop_steps == [1, 4, 4]


def test_auto_folds_cross_fit_up_to_5000_distinct_rows() -> None:
    from neuralmi.estimators import AUTO_FOLDS, AUTO_FOLDS_MAX_ROWS, MIN_SAMPLES, resolve_folds

    assert (AUTO_FOLDS, AUTO_FOLDS_MAX_ROWS) == (5, 5000)
    assert resolve_folds("auto", 5000) == 5 and resolve_folds("auto", MIN_SAMPLES) == 5
    assert resolve_folds("auto", 5001) is None and resolve_folds("auto", MIN_SAMPLES - 1) is None
    assert resolve_folds(None, 100) is None and resolve_folds(3, 10**6) == 3


def test_auto_folds_in_the_default_estimate() -> None:
    x, y, _ = _gauss(5001, 0.5, seed=3)
    big = NeuralEstimator(steps=50, seed=0).fit(x, y)
    assert big.folds_ is None and big.result_.config["folds"] is None and big.result_.n_test == 1500
    small = NeuralEstimator(steps=50, seed=0).fit(x[:600], y[:600])
    assert small.folds_ == 5 and small.result_.n_test == 600 and len(small.readout_) == 5
    # 200 distinct rows repeated 12 times: the rule counts distinct rows (2,400 rows, 200 distinct)
    rep = NeuralEstimator(steps=50, seed=0).fit(np.repeat(x[:200], 12, axis=0), np.repeat(y[:200], 12, axis=0))
    assert rep.folds_ == 5


def test_a_folds_own_ceiling_is_checked_only_when_cross_fitted() -> None:
    # three reads of 200 rows: fold 1 reads 5.0 nats, within 1 nat of log(200) = 5.30, while the
    # average 2.0 is far below log(600) - 1 = 5.40. Cross-fitted, each read is a critic's whole
    # estimate on its fold, so the fold is flagged; the same reads as one critic's folds are not
    from neuralmi.objectives import Evaluation

    evals = [Evaluation(v, np.zeros(200), 200) for v in (0.5, 5.0, 0.5)]
    est = neuralmi.MINE(progress=False)
    args = dict(value=2.0, stderr=0.1, history={}, batch=512, diverged=False, stopped_early=False, best_steps=[100] * 3)
    found = est._diagnose(evals=evals, crossfit=True, **args)
    assert [kind for kind, _ in found] == [neuralmi.exceptions.UncertifiableWarning]
    assert "fold 1's read (5.00 nats)" in found[0][1]
    assert est._diagnose(evals=evals, crossfit=False, **args) == []
