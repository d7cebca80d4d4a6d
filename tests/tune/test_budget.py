"""A trial's epoch budget: tune.Run pauses there (checkpointed, status paused), resumes from
that checkpoint with a higher budget, and trains on to its own end without one."""

from __future__ import annotations

import numpy as np
import pandas as pd

from phyper import tune
from phyper.tune._budget import budget_of_trial
from tests.tune.trainer import train


def _epochs(result):
    return pd.read_csv(f"{result.folder}/metrics.csv").epoch.tolist()


def test_a_run_pauses_at_its_budget_and_resumes_from_the_checkpoint(instance):
    trial = instance.get_instance_hash()
    with budget_of_trial(trial, 3):
        assert tune.epoch_budget() == 3
        paused, _ = train(instance)
    assert tune.epoch_budget() is None  # only for the trial's call
    assert (paused.status, paused.epochs) == (tune.PAUSED, 3)
    assert tune.load_result(instance).status == tune.PAUSED
    assert "successive-halving rung" in paused.reason
    with budget_of_trial(trial, 3):  # the same budget again: nothing is trained
        again, _ = train(instance)
    assert (again.status, again.epochs) == (tune.PAUSED, 3) and _epochs(again) == [1, 2, 3]
    with budget_of_trial(trial, 9):
        promoted, _ = train(instance)
    assert (promoted.status, promoted.epochs) == (tune.PAUSED, 9)
    final, weights = train(instance)  # no budget (a grid, a plain call): on to n_epochs
    assert (final.status, final.epochs) == (tune.COMPLETED, 12)
    assert _epochs(final) == list(range(1, 13))  # each epoch once
    # resuming at rungs gives bit for bit the weights of training straight through
    other = type(instance)(
        hashed_resources_folder=instance.hashed_resources_folder + "-straight", n_epochs=12
    )
    _, uninterrupted = train(other)
    assert np.array_equal(weights, uninterrupted)


def test_a_stop_condition_at_or_before_the_budget_completes_the_run(instance):
    with budget_of_trial(instance.get_instance_hash(), 20):
        result, _ = train(instance)  # n_epochs=12 < budget
    assert (result.status, result.epochs) == (tune.COMPLETED, 12)


def test_the_budget_applies_only_to_the_trials_own_instance(instance):
    with budget_of_trial(instance.replace(seed=5).get_instance_hash(), 2):
        result, _ = train(instance)
    assert (result.status, result.epochs) == (tune.COMPLETED, 12)
