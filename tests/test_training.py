"""The training loop: per-fold checkpoint selection and early stopping, what the history records,
the optimiser against torch.optim.Adam, repeatability.

Most tests drive :func:`neuralmi.training.train` with a scripted objective whose held-out values
are fixed in advance, so that what the loop selects and when it stops is known exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import neuralmi
from neuralmi.objectives import Evaluation, MutualInformation
from neuralmi.training import Adam, TrainConfig, train


class Scripted(nn.Module):
    """An objective whose k-th held-out fold reads ``scripts[k][i]`` at its i-th evaluation.

    Fold k is recognised by its x values (all equal to k). The buffer ``step`` counts training
    steps, so a saved checkpoint tells at which step it was taken. ``parts`` (optional): per fold,
    a list of ``{prefix: value}`` per evaluation, for objectives made of independent bounds.
    """

    def __init__(self, scripts, scores=None, parts=None, loss_value=-10.0, train_value=3.0) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))
        self.a = nn.Module()
        self.b = nn.Module()
        self.a.register_buffer("step", torch.zeros((), dtype=torch.long))
        self.b.register_buffer("step", torch.zeros((), dtype=torch.long))
        self.register_buffer("step", torch.zeros((), dtype=torch.long))
        self.scripts, self.scores, self.parts = scripts, scores, parts
        self.calls = [0] * len(scripts)
        self.loss_value, self.train_value = loss_value, train_value

    def critic_loss(self, x, y, with_value=False):
        for buf in (self.step, self.a.step, self.b.step):
            buf += 1
        loss = (self.w**2).sum() + self.loss_value
        return (loss, torch.tensor(self.train_value)) if with_value else loss

    def evaluate(self, x, y, n_shifts=16, batch_size=512, seed=None):
        k = int(x[0, 0])
        i = self.calls[k]
        self.calls[k] += 1
        script = self.scripts[k]
        value = script[min(i, len(script) - 1)]
        score = None if self.scores is None else self.scores[k][min(i, len(self.scores[k]) - 1)]
        parts = None if self.parts is None else self.parts[k][min(i, len(self.parts[k]) - 1)]
        return Evaluation(value, np.zeros(4), 4, score=score, parts=parts)


def _folds(n_folds: int = 2) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(torch.full((4, 1), float(k)), torch.zeros(4, 1)) for k in range(n_folds)]


def _run(module: Scripted, **config):
    x = torch.zeros(8, 1)
    cfg = TrainConfig(batch_size=4, lr=1e-3, eval_every=1, progress=False, **{"max_steps": 10, **config})
    return train(module, x, x, _folds(len(module.scripts)), cfg)


def test_each_fold_stops_on_its_own_so_one_folds_selection_ignores_the_other() -> None:
    # fold B: best at step 1, then three evaluations without improvement (patience 3: its
    # selection ends at step 4), then a higher value at step 5 that it must not take
    fold_b = [0.0, 1.0, 0.5, 0.5, 0.5, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0]
    flat = [0.0] * 11
    rising = [float(i) for i in range(11)]
    runs = [_run(Scripted([fold_a, fold_b]), patience=3) for fold_a in (flat, rising)]
    for run in runs:
        assert run.best_steps[1] == 1 and run.stop_steps[1] == 4
        assert int(run.best_states[1]["step"]) == 1
    # fold A's values changed how long training ran, not fold B's selection
    assert runs[0].steps == 4 and runs[0].stopped_early
    assert runs[1].steps == 10 and not runs[1].stopped_early and runs[1].stop_steps[0] is None
    assert int(runs[1].best_states[0]["step"]) == 10


def test_selection_maximises_the_criterion_not_the_reported_value() -> None:
    # SMILE / MI-NEE: the reported value is not a bound; selection must follow the score
    values = [0.0, 5.0, 1.0, 1.0]
    scores = [0.0, 0.1, 0.9, 0.2]
    run = _run(Scripted([values, values], scores=[scores, scores]), max_steps=3)
    assert run.best_steps == [2, 2]
    assert int(run.best_states[0]["step"]) == 2


def test_parts_are_selected_each_at_its_own_best() -> None:
    # MI-NEE: each divergence's critic (state-dict prefix) is kept at its own best checkpoint
    parts = [{"a.": 0.0, "b.": 0.0}, {"a.": 1.0, "b.": 0.0}, {"a.": 0.5, "b.": 2.0}, {"a.": 0.2, "b.": 1.0}]
    run = _run(Scripted([[0.0] * 4] * 2, parts=[parts, parts]), max_steps=3, patience=None)
    state = run.best_states[0]
    assert int(state["a.step"]) == 1 and int(state["b.step"]) == 2
    assert run.best_steps[0] == 2


def test_history_records_the_bound_value_not_minus_the_loss() -> None:
    # MI-NEE trains the sum of three divergences but reports their difference: the training
    # curve must show the reported quantity
    run = _run(Scripted([[0.0] * 3] * 2, loss_value=-10.0, train_value=3.0), max_steps=2, patience=None)
    assert run.history["train"] == [None, 3.0, 3.0]
    assert run.history["step"] == [0, 1, 2]


def test_minee_training_value_is_the_difference_of_divergences() -> None:
    torch.manual_seed(0)
    mi = MutualInformation(2, 2, method="minee", seed=0)
    x = torch.randn(256, 2)
    y = x + 0.5 * torch.randn(256, 2)
    mi.fit_reference(x, y)
    loss, value = mi.critic_loss(x, y, with_value=True)
    # the same batch again (MI-NEE's reference draws advance the generator: reseed)
    mi._gen.manual_seed(0)
    j_xy, r_xy, j_x, r_x, j_y, r_y = mi._minee_terms(x, y)
    from neuralmi import bounds

    mi._gen.manual_seed(0)
    loss2, value2 = mi.critic_loss(x, y, with_value=True)
    assert torch.isclose(value2, bounds.minee(j_xy, r_xy, j_x, r_x, j_y, r_y), atol=1e-6)
    assert torch.isclose(-loss2, bounds.dv(j_xy, r_xy) + bounds.dv(j_x, r_x) + bounds.dv(j_y, r_y), atol=1e-6)


def test_adam_matches_torch_optim_adam() -> None:
    torch.manual_seed(0)
    ref = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
    ours = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
    ours.load_state_dict(ref.state_dict())
    opt_ref = torch.optim.Adam(ref.parameters(), lr=1e-2, weight_decay=1e-3)
    opt = Adam(list(ours.parameters()), lr=1e-2, weight_decay=1e-3)
    data = torch.randn(5, 16, 3)
    for batch in data:
        for model, o in ((ref, opt_ref), (ours, opt)):
            o.zero_grad()
            model(batch).pow(2).mean().backward()
            o.step()
    for p, q in zip(ref.parameters(), ours.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def _gauss(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, generator=g)
    return x, 0.8 * x + 0.6 * torch.randn(n, 2, generator=g)


def test_training_is_repeatable_with_a_seed() -> None:
    x, y = _gauss(1200, 0)
    folds = [(x[800:1000], y[800:1000]), (x[1000:], y[1000:])]
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        mi = MutualInformation(2, 2, hidden=(16,), seed=0)
        cfg = TrainConfig(batch_size=64, max_steps=60, eval_every=20, seed=3, progress=False)
        runs.append(train(mi, x[:800], y[:800], folds, cfg))
    assert runs[0].history == runs[1].history
    for a, b in zip(runs[0].best_states, runs[1].best_states):
        assert all(torch.equal(a[k], b[k]) for k in a)


def test_training_raises_the_held_out_bound() -> None:
    x, y = _gauss(3000, 1)
    torch.manual_seed(0)
    mi = MutualInformation(2, 2, hidden=(32, 32), seed=0)
    folds = [(x[2000:2500], y[2000:2500]), (x[2500:], y[2500:])]
    run = train(mi, x[:2000], y[:2000], folds, TrainConfig(batch_size=256, max_steps=600, eval_every=100, progress=False))
    truth = -np.log(1 - 0.8**2 / (0.8**2 + 0.36))  # two pairs with correlation 0.8
    assert run.history["heldout"][0] < 0.2
    assert max(run.history["heldout"]) > 0.6 * truth


def test_fold_is_read_under_the_checkpoint_the_other_fold_selected(monkeypatch: pytest.MonkeyPatch) -> None:
    from neuralmi import estimators

    captured = {}
    real_train = estimators.train

    def spy(*args, **kwargs):
        captured["run"] = real_train(*args, **kwargs)
        return captured["run"]

    monkeypatch.setattr(estimators, "train", spy)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1500, 2))
    y = np.tanh(x) + 0.5 * rng.standard_normal((1500, 2))
    est = neuralmi.MINE(seed=0, steps=300, eval_every=50, folds=None, progress=False).fit(x, y)
    run = captured["run"]
    _, fold_a, fold_b = estimators._split(1500, est.config.test_size, 0)
    assert run.best_steps[0] != run.best_steps[1]  # the folds chose different checkpoints
    for k, rows in enumerate((fold_a, fold_b)):
        est.module_.load_state_dict(run.best_states[1 - k])
        xt = torch.as_tensor(est.transform_x_(x[rows]), dtype=torch.float32)
        yt = torch.as_tensor(est.transform_y_(y[rows]), dtype=torch.float32)
        seed = estimators._readout_seed(0, k)
        ev = est.module_.evaluate(xt, yt, n_shifts=est.config.eval_shifts, batch_size=est.batch_size_, seed=seed)
        assert ev.value == est.result_.config["fold_values"][k]
        # and not under the checkpoint its own fold selected (the two differ on this data)
        est.module_.load_state_dict(run.best_states[k])
        own = est.module_.evaluate(xt, yt, n_shifts=est.config.eval_shifts, batch_size=est.batch_size_, seed=seed)
        assert own.value != ev.value


# ------------------------------------------------------------------ threads of the evaluations


def test_num_threads_sets_and_restores():
    from neuralmi.training import num_threads

    before = torch.get_num_threads()
    with num_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with num_threads(None):
        assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError), num_threads(1):
        raise RuntimeError("inside")
    assert torch.get_num_threads() == before


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_eval_threads_validated(bad):
    with pytest.raises(ValueError, match="eval_threads"):
        TrainConfig(eval_threads=bad)


def test_evaluations_run_on_eval_threads_and_steps_do_not(monkeypatch):
    """The loop's held-out evaluations run on ``eval_threads``; its steps on the caller's."""
    seen = {"evaluate": set(), "step": set()}
    evaluate, loss = MutualInformation.evaluate, MutualInformation.critic_loss

    def spy_eval(self, *a, **k):
        seen["evaluate"].add(torch.get_num_threads())
        return evaluate(self, *a, **k)

    def spy_loss(self, *a, **k):
        seen["step"].add(torch.get_num_threads())
        return loss(self, *a, **k)

    monkeypatch.setattr(MutualInformation, "evaluate", spy_eval)
    monkeypatch.setattr(MutualInformation, "critic_loss", spy_loss)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(300, 2, generator=g)
    y = x + 0.5 * torch.randn(300, 2, generator=g)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        mi = MutualInformation(2, 2, method="mine", hidden=(8,))
        train(mi, x[:200], y[:200], [(x[200:250], y[200:250]), (x[250:], y[250:])],
              TrainConfig(batch_size=64, max_steps=20, eval_every=10, eval_threads=2, progress=False))
    finally:
        torch.set_num_threads(before)
    assert seen == {"evaluate": {2}, "step": {1}}


def test_estimator_evaluates_on_callers_threads_when_the_work_is_large(monkeypatch):
    """A small critic trains on one thread; the held-out evaluations of a large sample (and the
    read-out) use the threads the caller had; the caller's setting is restored."""
    seen = {"evaluate": set(), "step": set()}
    evaluate, loss = MutualInformation.evaluate, MutualInformation.critic_loss
    monkeypatch.setattr(MutualInformation, "evaluate", lambda self, *a, **k: seen["evaluate"].add(torch.get_num_threads()) or evaluate(self, *a, **k))
    monkeypatch.setattr(MutualInformation, "critic_loss", lambda self, *a, **k: seen["step"].add(torch.get_num_threads()) or loss(self, *a, **k))
    x, y = neuralmi.tasks.CorrelatedGaussian(dim=2, rho=0.5).sample(6000, seed=0)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        neuralmi.estimate(x, y, steps=30, eval_every=10, seed=0, progress=False)
        assert torch.get_num_threads() == 2
        assert seen == {"evaluate": {2}, "step": {1}}
        seen["evaluate"].clear()
        neuralmi.estimate(x[:300], y[:300], steps=30, eval_every=10, seed=0, progress=False)
    finally:
        torch.set_num_threads(before)
    # 300 rows: 45-row folds x 17 reads through the default critic is small work: one thread
    assert seen["evaluate"] == {1}


# ------------------------------------------------------------------ patience before a first improvement


def test_a_fold_that_never_improves_stops_after_idle_patience() -> None:
    flat = [0.0] * 11
    once = [0.0, 1.0] + [1.0] * 9  # improves at step 1, then nothing
    run = _run(Scripted([flat, once]), patience=4, idle_patience=2)
    # the flat fold: 2 evaluations without a first improvement; the other: 4 after its last one
    assert run.stop_steps == [2, 5] and run.best_steps == [0, 1] and run.steps == 5
    run = _run(Scripted([flat, once]), patience=4, idle_patience=None)
    assert run.stop_steps == [4, 5]
    # never longer than patience
    run = _run(Scripted([flat, once]), patience=2, idle_patience=5)
    assert run.stop_steps == [2, 3]


def test_an_improvement_below_min_delta_is_not_a_first_improvement() -> None:
    # the first evaluation's stderr is 0 here, so min_delta is 1e-3: +5e-4 is noise
    tiny = [0.0, 5e-4, 5e-4, 5e-4, 5e-4, 5e-4, 5e-4]
    run = _run(Scripted([tiny, tiny]), patience=4, idle_patience=2)
    assert run.stop_steps == [2, 2] and run.best_steps == [1, 1]


@pytest.mark.parametrize("bad", [0, -2, 1.5, True])
def test_idle_patience_validated(bad) -> None:
    with pytest.raises(ValueError, match="idle_patience"):
        TrainConfig(idle_patience=bad)
    with pytest.raises(ValueError, match="idle_patience"):
        neuralmi.EstimatorConfig(idle_patience=bad)


def test_estimate_stops_early_on_an_exact_baseline() -> None:
    """Gaussian pair: the closed-form baseline is exact, nothing is learned and both folds stop
    after idle_patience evaluations (300 steps), not patience (400)."""
    x, y = neuralmi.tasks.CorrelatedGaussian(dim=2, rho=0.5).sample(3000, seed=1)
    res = neuralmi.estimate(x, y, seed=0, progress=False)
    assert res.config["steps_taken"] == 300
    slow = neuralmi.estimate(x, y, seed=0, progress=False, idle_patience=None)
    assert slow.config["steps_taken"] == 400
