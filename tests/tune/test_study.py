"""The search loop: dedupe by hash against the store, trials in flight, failures, locks, gates,
the journal, and the `phyper study` commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from phyper import tune
from tests.tune.search import SPACE, make_study, objective, plain_objective
from tests.tune.trainer import make_instance, train

HERE = os.path.dirname(os.path.abspath(__file__))
REPOSITORY = os.path.dirname(os.path.dirname(HERE))
SEARCH = os.path.join(HERE, "search.py")


def _plain_study(root, name="plain", sampler=None, **options):
    parser = make_instance(root)
    return tune.Study(
        parser, name, space=SPACE, metric="loss", sampler=sampler or tune.RandomSampler(0),
        **options,
    )  # fmt: skip


def phyper_command(*arguments, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "phyper", *arguments], capture_output=True, text=True, cwd=cwd
    )


def test_a_study_finishes_exactly_n_trials_of_distinct_hashes(root):
    study = _plain_study(root)
    study.optimize(plain_objective, n_trials=12)
    frame = study.trials_frame()
    assert len(study.finished_trials) == 12 and frame.hash.is_unique
    assert list(frame.columns[:5]) == ["number", "state", "value", "best_so_far", "hash"]
    assert {"lr", "seed"} <= set(frame.columns)
    assert frame.best_so_far.iloc[-1] == study.best_value == frame.value.min()
    assert study.best_instance.get_instance_hash() == study.best_trial.hash
    # each trial's result lives in its own hash folder, with its metadata
    folder = study.best_instance.get_resources_path()
    with open(os.path.join(folder, "result.json")) as stream:
        assert json.load(stream)["metrics"]["other"] == 1.0
    # a second call goes on to the new total; nothing is computed twice
    study.optimize(plain_objective, n_trials=15)
    assert len(study.finished_trials) == 15 and study.trials_frame().hash.is_unique


def test_proposals_with_a_result_in_the_store_are_answered_without_running(root):
    grid = tune.GridSampler(points=2)  # 2 learning rates x 4 seeds
    first = _plain_study(root, "first", sampler=grid)
    first.optimize(plain_objective, n_trials=8)
    calls = []

    def counting(instance):
        calls.append(instance.get_instance_hash())
        return plain_objective(instance)

    second = _plain_study(root, "second", sampler=tune.GridSampler(points=2))
    second.optimize(counting, n_trials=8)  # inline: the function need not be picklable
    assert second.prior_knowledge == 8  # the sampler learnt them all at the start
    assert calls == [] and second.answered_from_store == 8
    assert {t.state for t in second.trials} == {"from_store"}
    assert sorted(t.value for t in second.trials) == sorted(t.value for t in first.trials)


def test_results_of_a_grid_trained_elsewhere_are_prior_knowledge(root):
    # e.g. by the Snakemake grid: tune.Run folders, with no study involved
    for lr in (0.05, 0.2):
        train(make_instance(root, n_epochs=8, lr=lr))
    train(make_instance(root, n_epochs=8, lr=0.5))  # outside the space: not prior knowledge
    study = make_study(root, "after-grid")
    study.optimize(objective, n_trials=2)
    assert study.prior_knowledge == 2


def test_a_failing_trial_is_recorded_and_the_study_goes_on(root):
    from tests.tune.search import always_failing, failing_objective

    study = _plain_study(root, "flaky", sampler=tune.RandomSampler(5))
    study.optimize(failing_objective, n_trials=6)
    failed = [t for t in study.trials if t.state == "failed"]
    assert failed and all(t.error.startswith("ValueError: odd seed") for t in failed)
    assert len(study.finished_trials) == 6
    broken = _plain_study(root, "broken", max_consecutive_failures=3)
    with pytest.raises(tune.StudyError, match="3 trials failed in a row.*broken objective"):
        broken.optimize(always_failing, n_trials=5)
    assert [t.state for t in broken.trials] == ["failed"] * 3


def test_a_study_runs_trials_in_worker_processes(root):
    study = make_study(root, "pool")
    study.optimize(objective, n_trials=6, n_jobs=2)
    frame = study.trials_frame()
    assert (frame.state == "complete").all() and frame.hash.is_unique and len(frame) == 6
    for trial_hash in frame.hash:  # each trial trained through tune.Run in its folder
        metrics = pd.read_csv(os.path.join(root, "all", trial_hash, "metrics.csv"))
        assert metrics.epoch.tolist() == list(range(1, 9))


def test_a_second_driver_fails_fast_naming_the_first(root):
    study = _plain_study(root, "locked")
    holder = subprocess.Popen(
        [sys.executable, "-c", (
            "import sys, time; sys.path.insert(0, sys.argv[1]);"
            "from phyper.tune._lock import FolderLock; from phyper.tune import StudyLockedError;"
            "lock = FolderLock(sys.argv[2], StudyLockedError, 'x'); lock.acquire(False);"
            "print('held', flush=True); sys.stdin.read()"
        ), REPOSITORY, os.path.join(study.folder, "driver.lock")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(
            tune.StudyLockedError, match=f"study 'locked' is locked by pid {holder.pid}"
        ):
            study.optimize(plain_objective, n_trials=2)
    finally:
        holder.communicate("")
    study.optimize(plain_objective, n_trials=2)  # free again
    assert len(study.finished_trials) == 2


def test_a_study_definition_cannot_change(root):
    _plain_study(root, "fixed").optimize(plain_objective, n_trials=1)
    parser = make_instance(root)
    with pytest.raises(tune.StudyError, match="made with metric 'loss', not 'other'"):
        tune.Study(parser, "fixed", space=SPACE, metric="other")
    with pytest.raises(tune.StudyError, match="made with space"):
        tune.Study(parser, "fixed", space={"lr": tune.uniform(0.01, 0.3)}, metric="loss")


def test_a_torn_last_journal_line_is_tolerated_and_a_damaged_one_is_not(root):
    study = _plain_study(root, "torn")
    study.optimize(plain_objective, n_trials=3)
    journal = os.path.join(study.folder, "journal.jsonl")
    with open(journal, "ab") as stream:
        stream.write(b'{"event": "start", "trial": 3, "ha')  # killed mid-write
    again = _plain_study(root, "torn")
    assert len(again.trials) == 3
    again.optimize(plain_objective, n_trials=5)
    assert len(again.finished_trials) == 5
    with open(journal, "rb") as stream:
        lines = stream.read().split(b"\n")
    assert all(json.loads(line) for line in lines if line)
    lines[1] = b"garbage"
    with open(journal, "wb") as stream:
        stream.write(b"\n".join(lines))
    with pytest.raises(tune.JournalError, match="damaged line 2"):
        _plain_study(root, "torn")


def test_the_study_gate_across_processes(root):
    def driver(*extra):
        return subprocess.run(
            [sys.executable, SEARCH, root, "gated", "4", "1", "--gate", "2", *extra],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    paused = driver()
    assert paused.returncode == 3, paused.stderr
    assert paused.stdout.split() == ["2", "review"]
    shown = phyper_command("study", "show", "gated", "--root", root)
    assert "awaits a decision at gate 'review'" in shown.stdout
    assert driver().returncode == 3  # nothing decided: still waiting, nothing trained
    decided = phyper_command("decide", "--study", "gated", "--go", "--note", "ok", "--root", root)
    assert decided.returncode == 0, decided.stderr
    twice = phyper_command("decide", "--study", "gated", "--go", "--root", root)
    assert twice.returncode == 2 and "awaits no decision" not in twice.stderr
    # decided, not yet applied: the study says so until it is started again
    shown = phyper_command("study", "show", "gated", "--root", root)
    assert "gate 'review' decided: go (not yet resumed)" in shown.stdout
    assert tune.StudyView.read(root, "gated").summary()["decision"] == "go (not yet resumed)"
    done = driver()
    assert done.returncode == 0 and done.stdout.split() == ["4"], done.stderr
    assert tune.StudyView.read(root, "gated").summary()["decision"] == ""
    again = phyper_command("decide", "--study", "gated", "--no-go", "--root", root)
    assert again.returncode == 2 and "awaits no decision" in again.stderr


def test_a_no_go_stops_the_study_for_good(root):
    study = _plain_study(root, "promote")
    study.optimize(plain_objective, n_trials=3)
    assert study.await_decision("promote", note="train the final model?") is None
    assert study.awaiting == "promote"
    tune.decide_study(root, "promote", go=False, note="not good enough")
    assert study.await_decision("promote") is False
    study.optimize(plain_objective, n_trials=6)
    assert len(study.finished_trials) == 3 and "not good enough" in study.stopped


def test_study_commands_in_three_formats(root):
    _plain_study(root, "shown").optimize(plain_objective, n_trials=4)
    table = phyper_command("study", "show", "shown", "--root", root)
    assert table.returncode == 0 and "best:" in table.stdout and "complete 4" in table.stdout
    as_csv = phyper_command("study", "show", "shown", "--root", root, "--format", "csv")
    frame = pd.read_csv(pd.io.common.StringIO(as_csv.stdout))
    assert len(frame) == 4 and {"state", "value", "hash", "lr", "seed"} <= set(frame.columns)
    as_json = json.loads(
        phyper_command("study", "show", "shown", "--root", root, "--format", "json").stdout
    )
    assert [row["number"] for row in as_json] == [0, 1, 2, 3]
    listing = phyper_command("study", "ls", "--root", root, "--format", "csv")
    assert pd.read_csv(pd.io.common.StringIO(listing.stdout)).study.tolist() == ["shown"]
    missing = phyper_command("study", "show", "nope", "--root", root)
    assert missing.returncode == 2 and "no study 'nope'" in missing.stderr
