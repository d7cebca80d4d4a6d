"""A study driver killed with SIGKILL at random moments and started again with the same call
finishes with exactly n_trials distinct trials, none trained twice: in-flight trials are
resumed under their own number, from their checkpoints. With successive halving, the rungs
survive the kills: nobody is promoted twice or forgotten, and no epoch is trained twice."""

from __future__ import annotations

import collections
import json
import os
import random
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SEARCH = os.path.join(HERE, "search.py")
N_TRIALS, N_JOBS, EPOCHS = 8, 2, 8


def _driver(root: str, name: str, output: str, *options: str) -> subprocess.Popen:
    env = {**os.environ, "SEARCH_SLEEP": "0.06"}  # ~0.5 s per trial: kills land mid-trial
    # output to a file, not a pipe: a worker still running after its driver's death would
    # hold a pipe open
    with open(output, "w") as stream:
        return subprocess.Popen(
            [sys.executable, SEARCH, root, name, str(N_TRIALS), str(N_JOBS), *options],
            env=env, stdout=stream, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_killed_driver_restarted_finishes_exactly_n_distinct_trials(tmp_path, seed):
    root, name = str(tmp_path / "derived_data"), f"crash-{seed}"
    chance = random.Random(seed)
    kills = 0
    log = str(tmp_path / "driver.log")
    for _ in range(3):
        driver = _driver(root, name, log)
        time.sleep(chance.uniform(0.6, 1.6))
        if driver.poll() is None:
            driver.send_signal(signal.SIGKILL)
            kills += 1
        driver.wait(timeout=60)
    log = str(tmp_path / "final.log")
    final = _driver(root, name, log)
    status = final.wait(timeout=300)
    with open(log) as stream:
        assert status == 0, stream.read()
    assert kills >= 1
    events = []
    with open(os.path.join(root, "studies", name, "journal.jsonl")) as stream:
        events = [json.loads(line) for line in stream]
    numbers_of = collections.defaultdict(set)
    for event in events:
        if event["event"] in ("start", "from_store"):
            numbers_of[event["hash"]].add(event["trial"])
    # one trial number per hash: a trial in flight at a kill was resumed, not started anew
    assert all(len(numbers) == 1 for numbers in numbers_of.values())
    finished = [e for e in events if e["event"] in ("complete", "stopped_early", "from_store")]
    assert len(finished) == N_TRIALS == len({e["hash"] for e in finished})
    with open(log) as stream:
        assert stream.readline().split() == [str(N_TRIALS)]
    for event in finished:  # each trained its epochs exactly once
        metrics = pd.read_csv(os.path.join(root, "all", event["hash"], "metrics.csv"))
        assert metrics.epoch.tolist() == list(range(1, EPOCHS + 1))


def _kill_and_restart(root: str, name: str, seed: int, tmp_path, *options: str) -> int:
    """Start the driver three times, SIGKILLed at random moments, then once to the end."""
    chance = random.Random(seed)
    kills = 0
    for _ in range(3):
        driver = _driver(root, name, str(tmp_path / "driver.log"), *options)
        time.sleep(chance.uniform(0.6, 1.6))
        if driver.poll() is None:
            driver.send_signal(signal.SIGKILL)
            kills += 1
        driver.wait(timeout=60)
    log = str(tmp_path / "final.log")
    status = _driver(root, name, log, *options).wait(timeout=300)
    with open(log) as stream:
        assert status == 0, stream.read()
    return kills


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_a_killed_halving_driver_keeps_its_rungs_and_promotes_nobody_twice(tmp_path, seed):
    from phyper import tune
    from phyper.tune._halving import Ladder
    from tests.tune.search import HALVING
    from tests.tune.test_halving import check_asha_story

    root, name = str(tmp_path / "derived_data"), f"halving-{seed}"
    assert _kill_and_restart(root, name, seed, tmp_path, "--halving") >= 1
    with open(os.path.join(root, "studies", name, "journal.jsonl")) as stream:
        events = [json.loads(line) for line in stream]
    numbers_of = collections.defaultdict(set)
    for event in events:
        if event["event"] in ("start", "from_store"):
            numbers_of[event["hash"]].add(event["trial"])
    assert len(numbers_of) == N_TRIALS
    assert all(len(numbers) == 1 for numbers in numbers_of.values())
    # each promotion legal, of a trial paused at the rung it left, once
    check_asha_story(events, N_TRIALS, eta=HALVING["eta"])
    view = tune.StudyView.read(root, name)
    # nobody forgotten: every trial is paused at a rung or finished, none left in flight
    assert {t.state for t in view.trials} <= {"paused", "complete"}
    # and nothing more to promote: the driver ran the rungs to their end
    scheduler = tune.SuccessiveHalving(**HALVING)
    assert Ladder.replay(events, 1.0).next_promotion(scheduler, draining=True) is None
    assert any(t.state == "complete" and t.rung == 3 for t in view.trials)
    rungs = scheduler.rungs(0)
    for trial in view.trials:  # each epoch trained once, up to the trial's rung
        metrics = pd.read_csv(os.path.join(root, "all", trial.hash, "metrics.csv"))
        assert metrics.epoch.tolist() == list(range(1, rungs[trial.rung] + 1))
