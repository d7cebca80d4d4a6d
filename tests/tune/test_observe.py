"""Run and trial states as readers show them: a real process killed by SIGKILL leaves its
run ``interrupted`` (not ``running`` forever), a written but unapplied decision shows as
``decided``, and a study's view agrees with its runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from phyper import cli, tune
from phyper.tune._observe import observe_run
from phyper.tune._state import read_state

from .conftest import PYTHON, TRAINER
from .trainer import make_instance

HERE = os.path.dirname(os.path.abspath(__file__))
SEARCH = os.path.join(HERE, "search.py")


def _wait_for(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _epoch(folder: str) -> int:
    try:
        with open(os.path.join(folder, "run.json")) as stream:
            return json.load(stream)["epoch"]
    except FileNotFoundError:
        return 0


def _cli_json(capsys, *argv: str) -> list[dict]:
    assert cli.main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_a_run_killed_by_sigkill_is_interrupted_not_running(root, capsys):
    instance = make_instance(root, n_epochs=10_000)
    folder = instance.get_resources_path()
    process = subprocess.Popen(
        [PYTHON, TRAINER, root, "10000", "--sleep", "0.01"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(lambda: _epoch(folder) >= 2)
        assert tune.runs(root)["status"].tolist() == ["running"]
        shown = _cli_json(capsys, "runs", "--root", root, "--format", "json")
        assert [row["status"] for row in shown] == ["running"]
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    state = read_state(folder)
    assert state is not None and state.status is tune.RUNNING  # what the file still says
    frame = tune.runs(root)
    assert frame["status"].tolist() == ["interrupted"]
    shown = _cli_json(capsys, "runs", "--root", root, "--status", "interrupted", "--format", "json")
    assert [row["hash"] for row in shown] == [instance.get_instance_hash()]
    running = _cli_json(capsys, "runs", "--root", root, "--status", "running", "--format", "json")
    assert running == []
    # resumable: started again, it goes on from its last committed epoch
    committed = state.epoch
    with tune.Run(instance, stop=tune.max_epochs(committed + 1)) as run:
        assert run.state.epoch == committed
        assert tune.runs(root)["status"].tolist() == ["running"]  # we hold the lock now
        for _ in run.epochs():
            run.report(train_loss=1.0, validation_loss=1.0)
    assert tune.runs(root)["status"].tolist() == ["completed"]


def test_a_lock_probe_never_makes_a_starting_run_fail(root):
    # a reader's probe holds the lock for microseconds: a run starting meanwhile waits it out
    from phyper.tune._lock import is_held

    instance = make_instance(root, n_epochs=1)
    folder = instance.get_resources_path()
    os.makedirs(folder)
    path = os.path.join(folder, "run.lock")
    open(path, "w").close()
    prober = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time\n"
            "fd = os.open(sys.argv[1], os.O_RDONLY)\n"
            "end = time.monotonic() + 3\n"
            "while time.monotonic() < end:\n"
            "    fcntl.flock(fd, fcntl.LOCK_SH)\n"
            "    fcntl.flock(fd, fcntl.LOCK_UN)\n",
            path,
        ]
    )
    try:
        time.sleep(0.3)
        for _ in range(20):  # a probe in a tight loop: every start still gets the lock
            with tune.Run(instance, stop=tune.max_epochs(1)) as run:
                assert is_held(path)
                for _ in run.epochs():
                    run.report(loss=1.0)
    finally:
        prober.kill()
        prober.wait()


@pytest.mark.parametrize(
    ("go", "shown", "final"),
    [(True, "go (not yet resumed)", "completed"), (False, "no-go (not yet applied)", "stopped")],
)
def test_a_decided_run_shows_its_decision_until_it_is_started(root, capsys, go, shown, final):
    command = [PYTHON, TRAINER, root, "4", "--gate", "2"]
    first = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert first.returncode == 3, first.stderr  # awaiting a decision
    row = tune.runs(root).iloc[0]
    assert row["status"] == "awaiting_decision" and row["decision"] is None
    tune.decide(root, row["hash"], go=go)
    row = tune.runs(root).iloc[0]
    assert (row["status"], row["decision"]) == ("decided", shown)
    assert tune.pending_decisions(root).empty  # nothing is left to decide
    listed = _cli_json(capsys, "runs", "--root", root, "--status", "decided", "--format", "json")
    assert [(r["status"], r["decision"]) for r in listed] == [("decided", shown)]
    again = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert again.stdout.split()[0] == final, again.stderr
    row = tune.runs(root).iloc[0]
    assert (row["status"], row["decision"]) == (final, None)


def test_observe_run_reads_the_lock_only_of_running_runs(root, monkeypatch):
    from phyper.tune import _observe

    instance = make_instance(root, n_epochs=1)
    with tune.Run(instance, stop=tune.max_epochs(1)) as run:
        for _ in run.epochs():
            run.report(loss=1.0)
    folder = instance.get_resources_path()
    probes: list[str] = []
    monkeypatch.setattr(_observe, "is_held", lambda path: probes.append(path) or False)
    state = read_state(folder)
    assert observe_run(folder, state).status == "completed" and probes == []
    state.status = tune.RUNNING
    assert observe_run(folder, state).status == "interrupted"
    assert probes == [os.path.join(folder, "run.lock")]


def _start_driver(root: str, name: str, log: str) -> subprocess.Popen:
    env = {**os.environ, "SEARCH_SLEEP": "0.05"}
    with open(log, "w") as stream:
        return subprocess.Popen(
            [sys.executable, SEARCH, root, name, "3", "1"],
            env=env, stdout=stream, stderr=subprocess.STDOUT,
        )  # fmt: skip


def test_a_study_whose_driver_was_killed_shows_its_trial_interrupted(root, tmp_path, capsys):
    name = "killed"
    journal = os.path.join(root, "studies", name, "journal.jsonl")

    def started() -> list[str]:
        try:
            with open(journal) as stream:
                lines = [json.loads(line) for line in stream if line.endswith("\n")]
        except FileNotFoundError:
            return []
        return [e["hash"] for e in lines if e["event"] == "start"]

    driver = _start_driver(root, name, str(tmp_path / "driver.log"))
    try:
        _wait_for(lambda: started() and _epoch(os.path.join(root, "all", started()[-1])) >= 1)
        view = tune.StudyView.read(root, name)
        assert list(view.trials_frame()["state"]) == ["running"]
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.wait(timeout=60)
    trial_hash = started()[-1]
    view = tune.StudyView.read(root, name)
    assert [t.state for t in view.trials] == ["running"]  # what the journal says
    assert list(view.trials_frame()["state"]) == ["interrupted"]
    summary = view.summary()
    assert (summary["running"], summary["interrupted"]) == (0, 1)
    shown = _cli_json(capsys, "study", "show", name, "--root", root, "--format", "json")
    assert [row["state"] for row in shown] == ["interrupted"]
    listed = _cli_json(capsys, "study", "ls", "--root", root, "--format", "json")
    assert (listed[0]["running"], listed[0]["interrupted"]) == (0, 1)
    assert cli.main(["study", "show", name, "--root", root]) == 0
    assert "interrupted 1" in capsys.readouterr().out
    # the run and the study agree
    runs = tune.runs(root)
    assert runs.set_index("hash").loc[trial_hash, "status"] == "interrupted"
    # a process still working in the trial's folder (an orphaned worker) keeps it running
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from phyper.tune._lock import FolderLock; from phyper import PhyperError\n"
            "lock = FolderLock(sys.argv[1], PhyperError, 'x'); lock.acquire(False)\n"
            "print('held', flush=True); sys.stdin.read()",
            os.path.join(root, "all", trial_hash, "trial.lock"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert list(tune.StudyView.read(root, name).trials_frame()["state"]) == ["running"]
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    # started again, the study resumes the trial and finishes
    final = _start_driver(root, name, str(tmp_path / "final.log"))
    assert final.wait(timeout=300) == 0
    states = set(tune.StudyView.read(root, name).trials_frame()["state"])
    assert states <= {"complete", "stopped_early"}
