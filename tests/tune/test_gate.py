"""Gates: pause, decide in another process, resume in a third; no-go; bad decisions."""

from __future__ import annotations

import json
import os
import subprocess

import pandas as pd
import pytest

from phyper import tune

from .conftest import PYTHON, TRAINER, WORKTREE
from .trainer import make_instance, train


def run_trainer(root: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, TRAINER, root, *arguments], capture_output=True, text=True, timeout=120
    )


def run_cli(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "phyper.tune._cli", *arguments],
        capture_output=True,
        text=True,
        cwd=WORKTREE,
        timeout=120,
    )


def test_go_in_three_processes(root, tmp_path):
    instance = make_instance(root, n_epochs=12)
    first = run_trainer(root, "12", "--gate", "5")
    assert first.returncode == 3, first.stderr
    assert first.stdout.split() == ["awaiting_decision", "5"]
    pending = tune.pending_decisions(root)
    assert pending["hash"].tolist() == [instance.get_instance_hash()]
    assert pending["gate"].tolist() == ["review"]
    again = run_trainer(root, "12", "--gate", "5")  # no decision yet: nothing happens
    assert again.returncode == 3 and again.stdout.split() == ["awaiting_decision", "5"]

    decided = run_cli("decide", instance.get_instance_hash()[:8], "--go", "--root", root)
    assert decided.returncode == 0, decided.stderr
    decision_file = os.path.join(instance.get_resources_path(), "decision-review.json")
    with open(decision_file) as stream:
        decision = json.load(stream)
    assert decision["gate"] == "review" and decision["decision"] == "go"
    assert decision["decided_at"].endswith("+00:00") and decision["by"]

    third = run_trainer(root, "12", "--gate", "5")
    assert third.returncode == 0, third.stderr
    result = tune.load_result(instance)
    assert result.status is tune.COMPLETED and result.epochs == 12 and result.gate is None
    with open(os.path.join(instance.get_resources_path(), "run.json")) as stream:
        assert json.load(stream)["decided_gates"] == ["review"]
    frame = pd.read_csv(os.path.join(instance.get_resources_path(), "metrics.csv"))
    assert frame["epoch"].tolist() == list(range(1, 13))
    reference, _ = train(make_instance(str(tmp_path / "reference"), n_epochs=12))
    assert result.final_metrics == reference.final_metrics
    assert tune.pending_decisions(root).empty


def test_no_go_stops_the_run_for_good(root):
    instance = make_instance(root, n_epochs=12)
    assert run_trainer(root, "12", "--gate", "4").returncode == 3
    tune.decide(root, instance.get_instance_hash(), go=False, note="curves look wrong")
    stopped = run_trainer(root, "12", "--gate", "4")
    assert stopped.returncode == 4, stopped.stderr
    result = tune.load_result(instance)
    assert result.status is tune.STOPPED and result.epochs == 4
    assert result.reason == "no-go at gate review: curves look wrong"
    # raising n_epochs does not bring a no-go run back
    assert run_trainer(root, "30", "--gate", "4").returncode == 4
    assert tune.load_result(instance).epochs == 4


def test_gate_forces_a_checkpoint_and_returns(instance):
    gate = tune.Gate("look", tune.after_epoch(4), note="check the loss")
    result, _ = train(instance, gates=[gate], checkpoint_every=10)
    assert result.status is tune.AWAITING_DECISION and result.gate == "look"
    assert result.epochs == 4 and "gate look: after_epoch(4): at epoch 4" in result.reason
    folder = os.path.join(instance.get_resources_path(), "checkpoints")
    assert os.listdir(folder) == ["epoch-000004"]
    tune.decide(instance.hashed_resources_folder, instance.get_instance_hash(), go=True)
    result, _ = train(instance, gates=[gate], checkpoint_every=10)
    assert result.status is tune.COMPLETED and result.epochs == 12


def test_bad_decisions_say_what_to_do(root):
    instance = make_instance(root, n_epochs=6)
    run_hash = instance.get_instance_hash()
    train(instance, gates=[tune.Gate("review", tune.after_epoch(2))])
    tune.decide(root, run_hash[:6], go=True)
    with pytest.raises(tune.DecisionError) as caught:
        tune.decide(root, run_hash, go=False)
    message = str(caught.value)
    assert "gate 'review'" in message and run_hash in message and "already decided" in message
    assert "delete" in message
    train(instance, gates=[tune.Gate("review", tune.after_epoch(2))])
    with pytest.raises(tune.DecisionError, match="awaits no decision") as caught:
        tune.decide(root, run_hash, go=True)
    assert run_hash in str(caught.value) and "completed" in str(caught.value)
    with pytest.raises(tune.DecisionError, match="no run under"):
        tune.decide(root, "ffffffffff", go=True)
    with pytest.raises(tune.DecisionError, match="at least 6"):
        tune.decide(root, run_hash[:4], go=True)
    twin = os.path.join(root, "all", run_hash[:6] + "0" * 26)
    os.makedirs(twin)
    with pytest.raises(tune.DecisionError, match="ambiguous"):
        tune.decide(root, run_hash[:6], go=True)
    assert isinstance(caught.value, ValueError)


def test_the_exclusive_link_lets_only_one_decider_win(root, monkeypatch):
    instance = make_instance(root, n_epochs=6)
    train(instance, gates=[tune.Gate("review", tune.after_epoch(2))])
    folder = instance.get_resources_path()
    tune.decide(root, instance.get_instance_hash(), go=True)
    # a second decider that passed its existence check just before the first one linked
    real_exists = os.path.exists

    def exists(path):
        return False if path.endswith("decision-review.json") else real_exists(path)

    monkeypatch.setattr(os.path, "exists", exists)
    with pytest.raises(tune.DecisionError, match="decided by someone else"):
        tune.decide(root, instance.get_instance_hash(), go=False)
    monkeypatch.undo()
    with open(os.path.join(folder, "decision-review.json")) as stream:
        assert json.load(stream)["decision"] == "go"
    assert [n for n in os.listdir(folder) if n.endswith(".tmp")] == []


def test_gate_names_must_fit_a_file_name():
    with pytest.raises(tune.DecisionError, match="not usable in a file name"):
        tune.Gate("../x", tune.after_epoch(1))
    with pytest.raises(tune.DecisionError, match="takes a condition"):
        tune.Gate("ok", 5)


def test_await_decision_records_a_pause_that_decide_accepts(root):
    # for loops other than tune.Run (the Burr integration): the same run.json and decision file
    from phyper.tune._gate import await_decision, take_decision

    instance = make_instance(root)
    folder = instance.get_resources_path()
    os.makedirs(folder)
    run_hash = instance.get_instance_hash()
    assert take_decision(folder, "review") is None
    await_decision(folder, run_hash=run_hash, resource="all", gate="review", reason="halted")
    await_decision(folder, run_hash=run_hash, resource="all", gate="review", reason="halted")
    pending = tune.pending_decisions(root)
    assert pending["gate"].tolist() == ["review"] and pending["reason"].tolist() == ["halted"]
    tune.decide(root, run_hash[:8], go=True, note="fine")
    assert take_decision(folder, "review")["decision"] == "go"
    assert take_decision(folder, "review")["note"] == "fine"  # asked again: the same
    state = tune.runs(root).iloc[0]
    assert state["gate"] is None and state["decision"] is None
    # run.json says running, but no process holds the run's lock: shown as interrupted
    with open(os.path.join(folder, "run.json")) as stream:
        assert json.load(stream)["status"] == "running"
    assert state["status"] == "interrupted"
    with pytest.raises(tune.DecisionError, match="already decided"):
        await_decision(folder, run_hash=run_hash, resource="all", gate="review", reason="again")
    with pytest.raises(tune.DecisionError, match="not usable in a file name"):
        await_decision(folder, run_hash=run_hash, resource="all", gate="../x", reason="x")
    with pytest.raises(tune.DecisionError, match="awaits no decision"):
        tune.decide(root, run_hash, go=True)
