"""Early stopping across trials: worse than the median of the finished trials at that epoch."""

from __future__ import annotations

import json
import os

import pytest

from phyper import tune


def _peer(root: str, study: str, name: str, curve: list[float]) -> None:
    folder = os.path.join(root, "all", name * 32)
    os.makedirs(folder)
    with open(os.path.join(folder, "metrics.csv"), "w") as stream:
        stream.write("epoch,loss\n" + "".join(f"{i + 1},{v}\n" for i, v in enumerate(curve)))
    journal = os.path.join(root, "studies", study, "journal.jsonl")
    os.makedirs(os.path.dirname(journal), exist_ok=True)
    with open(journal, "a") as stream:
        stream.write(json.dumps({"event": "complete", "trial": 0, "hash": name * 32}) + "\n")


def test_a_run_worse_than_the_median_of_its_peers_stops(tmp_path):
    root = str(tmp_path)
    stop = tune.median_stop("loss", study="s", root=root, min_trials=3, warmup_epochs=2)
    history = tune.History.from_records([{"loss": 1.0}, {"loss": 0.9}, {"loss": 0.8}])
    assert stop.check(history) is None  # no peers yet
    for name, curve in zip("abc", ([1.0, 0.5, 0.4], [1.0, 0.6, 0.5], [1.0, 0.7, 0.9]), strict=True):
        _peer(root, "s", name, curve)
    fired = stop.check(history)
    assert fired is not None and "0.8 at epoch 3 is worse than the 0.5 quantile 0.5" in fired.reason
    assert stop.check(tune.History.from_records([{"loss": 1.0}, {"loss": 9.0}])) is None  # warmup
    better = tune.History.from_records([{"loss": 1.0}, {"loss": 0.5}, {"loss": 0.45}])
    assert stop.check(better) is None
    # composes, and round-trips through a spec (as in a sweep file)
    assert tune.condition_from_spec((tune.max_epochs(10) | stop).to_spec()).check(history)


def test_median_stop_validates_its_arguments(tmp_path):
    with pytest.raises(tune.ConditionError, match="quantile must be between 0 and 1"):
        tune.median_stop("loss", study="s", quantile=1.5)
    with pytest.raises(tune.ConditionError, match="mode must be 'min' or 'max'"):
        tune.median_stop("loss", study="s", mode="lowest")


def test_a_study_records_runs_stopped_by_median_stop_as_stopped_early(tmp_path):
    from tests.tune.trainer import make_instance, train

    root = str(tmp_path / "d")
    space = {"lr": tune.choice([0.1, 0.12, 0.001, 0.002])}

    def objective(instance):
        stop = tune.max_epochs(8) | tune.median_stop(
            "validation_loss", study="early", root=root, min_trials=2, warmup_epochs=2
        )
        return train(instance, stop=stop)[0]

    study = tune.Study(
        make_instance(root), "early", space=space, metric="validation_loss",
        sampler=tune.GridSampler(),
    )  # fmt: skip
    study.optimize(objective, n_trials=4)
    states = dict(zip(study.trials_frame().lr, study.trials_frame().state, strict=True))
    assert states[0.1] == states[0.12] == "complete"  # fast learners finish first
    assert states[0.001] == states[0.002] == "stopped_early"  # slow ones are cut short
    assert tune.load_result(study.instance({"lr": 0.001})).epochs < 8
