"""The search's traps (issue 16, section 6) and Ctrl-C during a study (section 2): real
scripts, real worker processes, real SIGINT."""

from __future__ import annotations

import functools
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from phyper import tune
from tests.tune.search import SPACE, plain_objective
from tests.tune.trainer import make_instance

HERE = os.path.dirname(os.path.abspath(__file__))
REPOSITORY = os.path.dirname(os.path.dirname(HERE))
SEARCH = os.path.join(HERE, "search.py")


def _events(root: str, name: str) -> list[dict]:
    path = os.path.join(root, "studies", name, "journal.jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as stream:
        return [json.loads(line) for line in stream]


def _study(root: str, name: str) -> tune.Study:
    return tune.Study(
        make_instance(root), name, space=SPACE, metric="loss", sampler=tune.RandomSampler(0)
    )


def scaled(instance, factor: float) -> dict[str, float]:
    return {"loss": factor * instance.lr}


# ------------------------------------------------------------------------ unpicklable


def test_an_unpicklable_objective_is_refused_before_the_first_trial(root):
    study = _study(root, "lambda")
    with pytest.raises(tune.StudyError) as caught:
        study.optimize(lambda instance: {"loss": instance.lr}, n_trials=6, n_jobs=2)
    message = str(caught.value)
    assert "cannot be sent to worker processes" in message and "<lambda>" in message
    assert "functools.partial" in message and "module level" in message
    assert _events(root, "lambda") == []  # not one trial recorded as failed
    # what the message advises works
    study.optimize(functools.partial(scaled, factor=2.0), n_trials=3, n_jobs=2)
    assert len(study.finished_trials) == 3
    # in the driver's own process (n_jobs=1) nothing is pickled: a lambda is fine
    _study(root, "inline").optimize(lambda instance: {"loss": instance.lr}, n_trials=2)


# ------------------------------------------------------------------- missing metric


def no_such_metric(instance) -> dict[str, float]:
    return {"validation_loss": instance.lr}


def test_a_metric_the_objective_never_reports_stops_after_the_first_trial(root):
    study = _study(root, "missing")
    with pytest.raises(tune.StudyError) as caught:
        study.optimize(no_such_metric, n_trials=10)
    message = str(caught.value)
    assert "trial 0" in message and "'loss'" in message and "['validation_loss']" in message
    failed = [e for e in _events(root, "missing") if e["event"] == "failed"]
    assert len(failed) == 1
    assert isinstance(caught.value, tune.StudyError)


def test_a_non_finite_value_is_a_failed_trial_not_a_missing_metric(root):
    def diverges(instance):
        return {"loss": float("nan") if instance.seed == 0 else instance.lr}

    study = _study(root, "nan")
    study.optimize(diverges, n_trials=6)
    assert len(study.finished_trials) == 6
    assert any(t.state == "failed" for t in study.trials)


# ------------------------------------------------------------------ unguarded script

UNGUARDED = """
import sys
sys.path.insert(0, {repository!r})
from phyper import tune
from tests.tune.search import SPACE, plain_objective
from tests.tune.trainer import make_instance

study = tune.Study(make_instance(sys.argv[1]), "unguarded", space=SPACE, metric="loss")
study.optimize(plain_objective, n_trials=4, n_jobs=2)
print("finished", len(study.finished_trials))
"""


def test_a_script_without_the_main_guard_is_told_what_to_add(tmp_path):
    script = tmp_path / "search_script.py"
    script.write_text(UNGUARDED.format(repository=REPOSITORY))
    root = str(tmp_path / "derived_data")
    result = subprocess.run(
        [sys.executable, str(script), root], capture_output=True, text=True, timeout=120,
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode != 0
    assert "finished" not in result.stdout
    assert 'if __name__ == "__main__":' in result.stderr
    assert f"imported {str(script)!r} again" in result.stderr  # the worker's own message
    assert "StudyLockedError" not in result.stderr and "BrokenProcessPool" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("phyper.tune._study.StudyError")
    # guarded, the same script runs
    guarded = UNGUARDED.format(repository=REPOSITORY)
    guarded = guarded.replace("study = tune", 'if __name__ == "__main__":\n    study = tune')
    guarded = guarded.replace("\nstudy.optimize", "\n    study.optimize")
    guarded = guarded.replace("\nprint(", "\n    print(")
    script.write_text(guarded)
    result = subprocess.run(
        [sys.executable, str(script), root], capture_output=True, text=True, timeout=120,
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["finished", "4"]


# ---------------------------------------------------------------------------- Ctrl-C


def _driver(
    root: str, name: str, n_trials: int, stderr_path: str, *options: str
) -> subprocess.Popen:
    env = {**os.environ, "SEARCH_SLEEP": "0.3"}  # ~2.4 s per trial: Ctrl-C lands mid-trial
    with open(stderr_path, "w") as stream:  # a file: an orphaned worker would hold a pipe
        return subprocess.Popen(
            [sys.executable, SEARCH, root, name, str(n_trials), "2", *options], env=env,
            stdout=subprocess.DEVNULL, stderr=stream, text=True, start_new_session=True,
        )  # fmt: skip


def _check_one_line_and_no_process_left(driver: subprocess.Popen, log: str, name: str) -> None:
    """What the person at the terminal sees after Ctrl-C: the driver's one traceback through
    their own call, ending in the one line that says how to resume; no worker left behind."""
    driver.wait(timeout=60)
    stderr = pathlib.Path(log).read_text()
    assert driver.returncode != 0
    lines = stderr.strip().splitlines()
    assert lines[-1].startswith(f"phyper.tune.Interrupted: study {name!r} interrupted with ")
    assert lines[-1].endswith("; run the same command again to resume")
    assert stderr.count("Traceback") == 1 and "concurrent/futures" not in stderr
    assert "KeyboardInterrupt" not in stderr
    deadline = time.monotonic() + 15
    with pytest.raises(ProcessLookupError):
        while time.monotonic() < deadline:
            os.killpg(driver.pid, 0)
            time.sleep(0.1)


def _wait_for_training(root: str, process: subprocess.Popen) -> None:
    """Until two trials' runs have committed an epoch: both workers are training."""
    deadline = time.monotonic() + 90
    folder = os.path.join(root, "all")
    while time.monotonic() < deadline and process.poll() is None:
        states = []
        if os.path.isdir(folder):
            for name in os.listdir(folder):
                try:
                    with open(os.path.join(folder, name, "run.json")) as stream:
                        states.append(json.load(stream))
                except (OSError, ValueError):
                    continue
        if sum(s["status"] == "running" and s["epoch"] >= 1 for s in states) >= 2:
            return
        time.sleep(0.02)
    raise AssertionError("the study's trials did not start training")


@pytest.mark.parametrize("to_group", [True, False], ids=["process group", "driver only"])
def test_ctrl_c_marks_the_trials_in_flight_interrupted_and_they_resume(tmp_path, to_group):
    root, name = str(tmp_path / "derived_data"), "ctrl-c"
    log = str(tmp_path / "stderr.txt")
    driver = _driver(root, name, 6, log)
    _wait_for_training(root, driver)
    if to_group:
        os.killpg(driver.pid, signal.SIGINT)  # as a terminal's Ctrl-C: driver and workers
    else:
        driver.send_signal(signal.SIGINT)  # the driver alone: it interrupts its workers
    # no process is left behind: the workers (and the forkserver) end with the driver
    _check_one_line_and_no_process_left(driver, log, name)
    # trials 0 and 1 were training; trial 2 was queued for the first worker to free up
    last_line = pathlib.Path(log).read_text().strip().splitlines()[-1]
    assert last_line.endswith("in flight: 0, 1, 2); run the same command again to resume")
    view = tune.StudyView.read(root, name)
    in_flight = [t for t in view.trials if t.state == "interrupted"]
    assert [t.number for t in in_flight] == [0, 1, 2]
    assert view.summary()["interrupted"] == 3
    for trial in in_flight[:2]:
        result = tune.load_result(os.path.join(root, "all", trial.hash))
        assert result.status is tune.INTERRUPTED and result.error is None
    # the queued trial was not started after Ctrl-C: the worker that took it saw the marker
    assert not os.path.exists(os.path.join(root, "all", in_flight[2].hash, "metrics.csv"))
    # the same command resumes the interrupted trials under their own numbers, from their
    # checkpoints: each epoch of each trial appears once
    final = subprocess.run(
        [sys.executable, SEARCH, root, name, "6", "2"], capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert final.returncode == 0, final.stderr
    events = _events(root, name)
    assert [e["trial"] for e in events if e["event"] == "resumed"] == [0, 1, 2]
    view = tune.StudyView.read(root, name)
    assert [t.state for t in view.trials] == ["complete"] * 6
    for trial in view.trials:
        frame = pd.read_csv(os.path.join(root, "all", trial.hash, "metrics.csv"))
        assert frame.epoch.tolist() == list(range(1, 9))


@pytest.mark.parametrize("to_group", [True, False], ids=["process group", "driver only"])
def test_ctrl_c_during_successive_halving_interrupts_and_the_rungs_resume(tmp_path, to_group):
    from tests.tune.search import HALVING
    from tests.tune.test_halving import check_asha_story

    root, name = str(tmp_path / "derived_data"), "halving-ctrl-c"
    log = str(tmp_path / "stderr.txt")
    driver = _driver(root, name, 8, log, "--halving")
    _wait_for_running(root, driver)
    if to_group:
        os.killpg(driver.pid, signal.SIGINT)
    else:
        driver.send_signal(signal.SIGINT)
    _check_one_line_and_no_process_left(driver, log, name)
    view = tune.StudyView.read(root, name)
    states = {t.number: t.state for t in view.trials}
    interrupted = sorted(n for n, state in states.items() if state == "interrupted")
    assert interrupted and set(states.values()) <= {"interrupted", "paused", "complete"}
    for number in interrupted:
        result = tune.load_result(os.path.join(root, "all", view.trials[number].hash))
        assert result.status in (tune.INTERRUPTED, tune.PAUSED)
    # the same command resumes them under their own numbers, with the same rungs
    final = subprocess.run(
        [sys.executable, SEARCH, root, name, "8", "2", "--halving"], capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip
    assert final.returncode == 0, final.stderr
    events = _events(root, name)
    assert [e["trial"] for e in events if e["event"] == "resumed"] == interrupted
    check_asha_story(events, 8, eta=HALVING["eta"])
    view = tune.StudyView.read(root, name)
    assert {t.state for t in view.trials} <= {"paused", "complete"}
    rungs = tune.SuccessiveHalving(**HALVING).rungs(0)
    for trial in view.trials:  # each epoch trained once, up to the trial's rung
        metrics = pd.read_csv(os.path.join(root, "all", trial.hash, "metrics.csv"))
        assert metrics.epoch.tolist() == list(range(1, rungs[trial.rung] + 1))


def _wait_for_running(root: str, process: subprocess.Popen) -> None:
    """Until two trials' runs are running (a rung of one epoch leaves no time to wait for a
    committed epoch)."""
    deadline = time.monotonic() + 90
    folder = os.path.join(root, "all")
    while time.monotonic() < deadline and process.poll() is None:
        running = 0
        for name in os.listdir(folder) if os.path.isdir(folder) else []:
            try:
                with open(os.path.join(folder, name, "run.json")) as stream:
                    running += json.load(stream)["status"] == "running"
            except (OSError, ValueError):
                continue
        if running >= 2:
            return
        time.sleep(0.02)
    raise AssertionError("the study's trials did not start training")


def interrupting(instance) -> float:
    if instance.seed == 1:
        raise KeyboardInterrupt
    return {"loss": instance.lr}


def test_ctrl_c_in_the_drivers_own_process(root):
    """n_jobs=1: the objective runs in the driver; the trial is interrupted, not failed."""
    study = _study(root, "inline-ctrl-c")
    with pytest.raises(tune.Interrupted, match="1 in flight") as caught:
        study.optimize(interrupting, n_trials=8)
    assert caught.value.__suppress_context__
    states = [t.state for t in study.trials]
    assert states[-1] == "interrupted" and "failed" not in states
    again = _study(root, "inline-ctrl-c")
    assert again.trials[-1].state == "interrupted"
    again.optimize(plain_objective, n_trials=8)
    assert [t.state for t in again.trials] == ["complete"] * 8
