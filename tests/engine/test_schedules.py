"""Each ``lr_schedule`` traced step by step against its documented rule, without a fit.

skorch's ``LRScheduler.simulate`` runs the very policy and arguments a fit would attach on a
one-parameter optimizer; the expected traces are computed here from the rules written in
``skfin.engine.schedules`` (the fits that attach them are traced in test_training.py).
"""

import math

import numpy as np
import pytest

from skfin.engine.schedules import SCHEDULES, WarmupCosine, lr_scheduler

LR = 1e-2


def _trace(schedule, steps, losses=None, **kwargs):
    params = dict(lr=LR, max_epochs=steps, patience=10, monitor="valid_loss") | kwargs
    return lr_scheduler(schedule, **params).simulate(steps + 1, LR, step_args=losses)


@pytest.mark.parametrize("epochs, warmup", [(1, 1), (2, 1), (3, 1), (10, 1), (30, 2), (41, 2), (50, 2),
                                            (51, 3), (100, 5)])
def test_cosine_warms_up_over_five_percent_of_the_epochs_then_anneals_to_zero(epochs, warmup):
    assert max(1, round(0.05 * epochs)) == warmup      # the rule, spelled out per case
    expected = []
    for step in range(epochs + 1):
        if step < warmup:
            expected.append(LR * (step + 1) / warmup)
        else:
            progress = min((step - warmup) / max(1, epochs - warmup), 1.0)
            expected.append(LR * 0.5 * (1 + math.cos(math.pi * progress)))
    np.testing.assert_allclose(_trace("cosine", epochs), expected, rtol=1e-9, atol=1e-15)
    if epochs > warmup:                                 # (one epoch: all warm-up, at lr)
        assert _trace("cosine", epochs)[epochs] == pytest.approx(0.0, abs=1e-15)


def test_warmup_cosine_holds_zero_after_the_last_step():
    f = WarmupCosine(warmup=3, total=8)
    assert [f(s) for s in (0, 1, 2)] == pytest.approx([1 / 3, 2 / 3, 1.0])
    assert f(3) == 1.0                                  # the peak right after the warm-up
    assert f(8) == pytest.approx(0.0, abs=1e-15) and f(20) == pytest.approx(0.0, abs=1e-15)
    assert f(3 + 5 / 2) == pytest.approx(0.5)           # half-way through the cosine
    assert WarmupCosine(warmup=4, total=4)(4) == 1.0    # nothing left to anneal: no 0-division
    assert WarmupCosine(warmup=4, total=5)(4) == 1.0    # one annealing step: straight to 0
    assert WarmupCosine(warmup=4, total=5)(5) == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize("epochs", [6, 20])
def test_onecycle_peaks_at_lr_over_epochs_plus_one_steps(epochs):
    cb = lr_scheduler("onecycle", lr=LR, max_epochs=epochs, patience=None, monitor="train_loss")
    assert cb.policy.__name__ == "OneCycleLR"
    assert cb.max_lr == LR and cb.total_steps == epochs + 1
    # torch's documented defaults: from lr / 25 up to lr along a half cosine over the first
    # 30% of the steps, then down to lr / 25 / 1e4 along another
    start, total = LR / 25, epochs + 1
    peak_step = 0.3 * total - 1

    def anneal(a, b, pct):
        return b + (a - b) / 2 * (math.cos(math.pi * pct) + 1)

    expected = [anneal(start, LR, s / peak_step) if s <= peak_step
                else anneal(LR, start / 1e4, (s - peak_step) / (total - 1 - peak_step))
                for s in range(total)]
    np.testing.assert_allclose(cb.simulate(total, LR), expected, rtol=1e-9)
    assert max(expected) > 0.95 * LR and expected[-1] < LR / 1e5


@pytest.mark.parametrize("patience, bad_epochs", [(None, 3), (10, 3), (7, 2), (4, 1),
                                                  (2, 1), (1, 1)])
def test_plateau_halves_after_a_third_of_the_patience(patience, bad_epochs):
    cb = lr_scheduler("plateau", lr=LR, max_epochs=12, patience=patience, monitor="train_loss")
    assert cb.policy.__name__ == "ReduceLROnPlateau" and cb.monitor == "train_loss"
    assert cb.factor == 0.5 and cb.patience == bad_epochs
    # one improvement, then a loss that never improves again
    losses = [1.0, 0.5] + [0.6] * 10
    expected, best, bad, lr = [], math.inf, 0, LR
    for loss in losses:
        expected.append(lr)
        if loss < best * (1 - 1e-4):                    # torch's default relative threshold
            best, bad = loss, 0
        else:
            bad += 1
        if bad > bad_epochs:
            lr, bad = lr * 0.5, 0
    np.testing.assert_allclose(cb.simulate(len(losses), LR, step_args=losses), expected)
    assert expected[2 + bad_epochs] == LR and expected[3 + bad_epochs] == LR / 2


def test_no_schedule_is_no_callback_and_an_unknown_one_is_named():
    assert lr_scheduler(None, lr=LR, max_epochs=5, patience=3, monitor="valid_loss") is None
    with pytest.raises(ValueError, match=r"lr_schedule='step' .*'cosine', 'plateau', 'onecycle'"):
        lr_scheduler("step", lr=LR, max_epochs=5, patience=3, monitor="valid_loss")
    assert set(SCHEDULES) == {"cosine", "plateau", "onecycle"}


def test_the_estimators_accept_exactly_the_schedules_defined_here():
    from skfin.regressors import MLPRegressor

    constraint = MLPRegressor._parameter_constraints["lr_schedule"][0]
    assert set(constraint.options) == set(SCHEDULES)
