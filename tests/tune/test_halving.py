"""Successive halving in a study: trials pause at rungs, the best are promoted by resuming
their runs, no epoch is trained twice, the journal tells the same story after a restart, and
every sampler (TPE learning from rung values) works with it."""

from __future__ import annotations

import collections
import json
import math
import os
import subprocess
import sys

import pandas as pd
import pytest

from phyper import tune
from tests.tune.search import SPACE, objective
from tests.tune.trainer import make_instance

ETA, MAX_EPOCHS = 2, 8  # rungs at 1, 2, 4, 8 epochs


def _study(root, name="asha", sampler=None, scheduler=None):
    return tune.Study(
        make_instance(root, n_epochs=MAX_EPOCHS), name, space=SPACE, metric="validation_loss",
        sampler=sampler or tune.RandomSampler(0),
        scheduler=scheduler or tune.SuccessiveHalving(min_epochs=1, max_epochs=MAX_EPOCHS, eta=ETA),
    )  # fmt: skip


def _events(root, name="asha"):
    with open(os.path.join(root, "studies", name, "journal.jsonl")) as stream:
        return [json.loads(line) for line in stream]


def check_asha_story(events, n_trials, eta=ETA):
    """Every promotion took a trial paused at the rung it left, once, while it was among the
    best floor(n/eta) of that rung (ceil(n/eta) once no new trial could start)."""
    rungs = collections.defaultdict(list)
    paused_at = {}
    promoted = set()
    configurations = 0
    for event in events:
        kind, number = event["event"], event.get("trial")
        if kind in ("start", "from_store"):
            configurations += 1
        elif kind == "paused":
            assert paused_at.get(number, -1) < event["rung"]
            paused_at[number] = event["rung"]
            rungs[event["rung"]].append((event["value"], number))
        elif kind == "promoted":
            rung = event["rung"] - 1
            assert paused_at.get(number) == rung, f"trial {number} was not paused at {rung}"
            assert (number, rung) not in promoted, f"trial {number} promoted twice"
            promoted.add((number, rung))
            results = rungs[rung]
            quota = (
                math.ceil(len(results) / eta) if configurations >= n_trials else len(results) // eta
            )
            assert number in [n for _, n in sorted(results)[:quota]]
    return promoted


def test_trials_pause_at_rungs_and_the_best_are_promoted_without_retraining(root):
    study = _study(root)
    study.optimize(objective, n_trials=8)
    events = _events(root)
    promoted = check_asha_story(events, 8)
    assert len(promoted) >= 4
    frame = study.trials_frame()
    assert len(frame) == 8 and frame.hash.is_unique
    assert set(frame.state) == {"paused", "complete"}
    rungs = (1, 2, 4, 8)
    for trial in study.trials:
        result = tune.load_result(study.instance(trial.params))
        epochs = pd.read_csv(os.path.join(result.folder, "metrics.csv")).epoch.tolist()
        assert epochs == list(range(1, result.epochs + 1))  # each epoch once, in order
        assert result.epochs == rungs[trial.rung]
        expected = tune.COMPLETED if trial.state == "complete" else tune.PAUSED
        assert result.status == expected
    # the best configuration of the (only) bracket was trained to the full budget
    assert study.best_trial.rung == 3 and study.best_trial.state == "complete"
    # far fewer epochs than 8 full trainings
    total = sum(rungs[t.rung] for t in study.trials)
    assert total < 8 * MAX_EPOCHS / 2
    # the frame shows the rung beside the state
    assert list(frame.columns[:6]) == ["number", "state", "value", "best_so_far", "hash", "rung"]


def test_a_restart_goes_on_with_the_same_rungs_and_more_trials(root):
    _study(root).optimize(objective, n_trials=6)
    before = _events(root)
    study = _study(root)
    assert [(t.state, t.rung) for t in study.trials] == [
        (t.state, t.rung) for t in tune.StudyView.read(root, "asha").trials
    ]
    study.optimize(objective, n_trials=6)  # nothing left to do
    assert _events(root) == before
    study.optimize(objective, n_trials=12)
    check_asha_story(_events(root)[: len(before)], 6)
    assert len(study.trials) == 12 and study.trials_frame().hash.is_unique


def test_a_lost_pause_event_is_recovered_without_training_again(root):
    """A driver killed after a run paused but before its ``paused`` event was written."""
    _study(root).optimize(objective, n_trials=3)
    path = os.path.join(root, "studies", "asha", "journal.jsonl")
    events = _events(root)
    last_pause = max(i for i, e in enumerate(events) if e["event"] == "paused")
    with open(path, "w") as stream:  # the journal as the killed driver left it
        stream.writelines(json.dumps(e) + "\n" for e in events[:last_pause])
    trial = events[last_pause]["trial"]
    study = _study(root)
    assert study.trials[trial].state in ("running", "promoted")
    study.optimize(objective, n_trials=3)
    replayed = [e for e in _events(root) if e["event"] == "paused" and e["trial"] == trial]
    assert replayed[-1]["value"] == events[last_pause]["value"]  # the same run, not retrained


def test_the_scheduler_is_part_of_the_studys_definition(root):
    _study(root).optimize(objective, n_trials=2)
    other = tune.SuccessiveHalving(min_epochs=2, max_epochs=MAX_EPOCHS, eta=ETA)
    with pytest.raises(tune.StudyError, match="scheduler"):
        _study(root, scheduler=other)
    with pytest.raises(tune.StudyError, match="scheduler"):
        tune.Study(make_instance(root, n_epochs=8), "asha", space=SPACE, metric="validation_loss")
    with pytest.raises(tune.StudyError, match="scheduler="):
        tune.Study(make_instance(root), "x", space=SPACE, metric="loss", scheduler="asha")
    with pytest.raises(tune.StudyError, match="gates are not supported"):
        _study(root).optimize(objective, n_trials=3, gates=[tune.StudyGate("g", 1)])


def test_an_objective_without_tune_run_trains_to_epoch_budget(root):
    seen = []

    def plain(instance):
        budget = tune.epoch_budget()
        seen.append(budget)
        return {"validation_loss": (instance.lr - 0.1) ** 2 / budget}

    study = _study(root, "plain")
    study.optimize(plain, n_trials=6)
    assert set(seen) <= {1, 2, 4, 8} and 1 in seen and 8 in seen
    assert {t.state for t in study.trials} == {"paused", "complete"}
    complete = [t for t in study.trials if t.state == "complete"]
    # a completed configuration's result is in its folder, for a later grid or study
    assert all(
        os.path.exists(os.path.join(study.instance(t.params).get_resources_path(), "result.json"))
        for t in complete
    )


def test_hyperband_spreads_trials_over_brackets(root):
    study = _study(root, "hyperband", scheduler=tune.Hyperband(max_epochs=MAX_EPOCHS, eta=ETA))
    study.optimize(objective, n_trials=10)
    brackets = {t.bracket for t in study.trials}
    assert len(brackets) >= 3
    for trial in study.trials:  # a trial of bracket b first pauses at rung b
        result = tune.load_result(study.instance(trial.params))
        assert result.epochs >= 2**trial.bracket


def test_tpe_learns_the_value_at_the_highest_rung_reached(root):
    pytest.importorskip("optuna")
    sampler = tune.TPESampler(seed=0, n_startup_trials=3)
    study = _study(root, "tpe", sampler=sampler)
    study.optimize(objective, n_trials=10)
    check_asha_story(_events(root, "tpe"), 10)
    # Optuna's record holds each configuration that reached the model's rung once, with the
    # value at its highest rung (as BOHB: the highest rung that n_startup_trials reached)
    sampler.ask()
    known = {
        tuple(sorted(t.params.items())): t.value
        for t in sampler._study.get_trials(deepcopy=False)
        if t.state.name == "COMPLETE"
    }
    rungs = (1, 2, 4, 8)
    reached = sorted((rungs[t.rung] for t in study.trials), reverse=True)
    floor = reached[2]  # the third highest: 3 configurations reached it
    expected = {
        tuple(sorted(t.params.items())): t.value for t in study.trials if rungs[t.rung] >= floor
    }
    assert len(expected) >= 3 and known.keys() == expected.keys()
    for key, value in expected.items():
        assert known[key] == pytest.approx(value)


def test_update_replaces_a_told_value_in_optuna():
    pytest.importorskip("optuna")
    import phyper

    class Net(phyper.Parser):
        x = 0.5

    space = tune.SearchSpace.check(Net(), {"x": tune.uniform(0.0, 1.0)})
    sampler = tune.TPESampler(seed=0)
    sampler.start(space, "minimize")
    first = sampler.ask()
    sampler.tell(tune.FinishedTrial(first, 5.0, "paused"))
    sampler.update(tune.FinishedTrial(first, 1.0, "complete"))
    sampler.ask()
    values = [t.value for t in sampler._study.get_trials(deepcopy=False) if t.state.is_finished()]
    assert values == [1.0]


def test_tpe_models_the_highest_rung_that_enough_configurations_reached():
    """As BOHB: with values told at budgets (rungs), the model learns from the configurations
    that reached the highest budget with at least n_startup_trials of them, newest values."""
    pytest.importorskip("optuna")
    import phyper

    class Net(phyper.Parser):
        x = 0.5

    space = tune.SearchSpace.check(Net(), {"x": tune.uniform(0.0, 1.0)})
    sampler = tune.TPESampler(seed=0, n_startup_trials=4)
    sampler.start(space, "minimize")

    def modelled() -> dict[float, float]:
        sampler.ask()
        trials = sampler._study.get_trials(deepcopy=False)
        return {t.params["x"]: t.value for t in trials if t.state.name == "COMPLETE"}

    configurations = [sampler.ask() for _ in range(10)]
    for number, params in enumerate(configurations):
        sampler.tell(tune.FinishedTrial(params, 10.0 + number, "paused", budget=1))
    assert len(modelled()) == 10  # nothing reached a higher rung: all of rung 1
    for number, params in enumerate(configurations[:3]):
        sampler.update(tune.FinishedTrial(params, 5.0 + number, "paused", budget=3))
    assert len(modelled()) == 10  # 3 at rung 3 are too few to model: still rung 1 and up
    sampler.update(tune.FinishedTrial(configurations[3], 8.0, "paused", budget=3))
    model = modelled()  # 4 reached rung 3: the model is theirs, with their rung-3 values
    assert sorted(model.values()) == [5.0, 6.0, 7.0, 8.0]
    # an outcome from elsewhere (a full training) always counts; one below the floor does not
    extra = sampler.ask()
    sampler.tell(tune.FinishedTrial(extra, 0.5, "from_store"))
    low = sampler.ask()
    sampler.tell(tune.FinishedTrial(low, 0.1, "paused", budget=1))
    assert sorted(modelled().values()) == [0.5, 5.0, 6.0, 7.0, 8.0]


def test_study_show_and_runs_show_paused_and_promoted_trials_with_their_rung(root):
    _study(root).optimize(objective, n_trials=6)
    show = subprocess.run(
        [sys.executable, "-m", "phyper", "study", "show", "asha", "--root", root],
        capture_output=True, text=True,
    )  # fmt: skip
    assert show.returncode == 0, show.stderr
    assert "rungs at epochs 1, 2, 4, 8" in show.stdout
    assert "paused" in show.stdout and " rung " in show.stdout
    runs = subprocess.run(
        [sys.executable, "-m", "phyper", "runs", "--root", root, "--format", "csv"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert runs.returncode == 0, runs.stderr
    import io

    frame = pd.read_csv(io.StringIO(runs.stdout))
    study = tune.StudyView.read(root, "asha")
    assert dict(zip(frame.hash, frame.rung, strict=True)) == {t.hash: t.rung for t in study.trials}
    assert set(frame.status) == {"paused", "completed"}


class InterruptFirstPromotion:
    """The objective, with Ctrl-C in the first promoted run's second epoch of this rung (as in
    the driver's own process, n_jobs=1)."""

    def __init__(self) -> None:
        self.fired = False

    def __call__(self, instance):
        budget = tune.epoch_budget()
        if self.fired or budget is None or budget < 4:
            return objective(instance)
        self.fired = True
        return train_until_interrupted(instance)


def train_until_interrupted(instance):
    from tests.tune.trainer import fit_one_epoch, load_model, metrics, save_model

    with tune.Run(instance, stop=tune.max_epochs(MAX_EPOCHS)) as run:
        w = run.restore(load_model)
        for epoch in run.epochs():
            if epoch == 4:
                raise KeyboardInterrupt
            w = fit_one_epoch(w, instance, epoch)
            run.report(**metrics(w, instance))
            run.checkpoint(w, save_model)
    raise AssertionError("not interrupted")


def test_ctrl_c_in_a_promoted_run_interrupts_the_study_and_it_resumes_at_that_rung(root):
    with pytest.raises(tune.Interrupted, match="1 in flight") as caught:
        _study(root).optimize(InterruptFirstPromotion(), n_trials=8)
    assert caught.value.__suppress_context__  # one line, not a chain of tracebacks
    study = _study(root)
    (stopped,) = [t for t in study.trials if t.state == "interrupted"]
    assert stopped.rung == 1  # paused at 2 epochs, promoted to 4, interrupted in epoch 4
    result = tune.load_result(study.instance(stopped.params))
    assert result.status is tune.INTERRUPTED and result.epochs == 3
    study.optimize(objective, n_trials=8)
    events = _events(root)
    assert [e["trial"] for e in events if e["event"] == "resumed"] == [stopped.number]
    check_asha_story(events, 8)
    assert {t.state for t in study.trials} <= {"paused", "complete"}
    rungs = (1, 2, 4, 8)
    for trial in study.trials:  # each epoch once, the interrupted one's included
        result = tune.load_result(study.instance(trial.params))
        epochs = pd.read_csv(os.path.join(result.folder, "metrics.csv")).epoch.tolist()
        assert epochs == list(range(1, rungs[trial.rung] + 1))
