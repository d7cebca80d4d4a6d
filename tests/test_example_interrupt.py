"""Ctrl-C in the example's commands (`python -m example tune` and `train-model`): one line on
stderr, exit status 130, no traceback; the runs say `interrupted`, and the same command resumes.
Real processes, real SIGINT sent to the process group, as a terminal does."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from tests.workflow import copy_workspace, environment

LONG_SWEEP = """\
fixed:
  n_epochs: 100000
  cv_k: 2
grid:
  transformation: [identity]
search:
  transformation: [identity, log]
  n_hidden_layers: {integers: [1, 2]}
  learning_rate: {log_uniform: [1.0e-5, 1.0e-4]}
"""


@pytest.fixture
def workspace(tmp_path) -> pathlib.Path:
    workspace = copy_workspace(tmp_path / "example")
    # tiny learning rates: the validation loss keeps improving, so training lasts
    (workspace / "config" / "long.yaml").write_text(LONG_SWEEP)
    return workspace


def _start(workspace: pathlib.Path, *arguments: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "example", *arguments, "--sweep", "config/long.yaml"],
        cwd=workspace, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True,
    )  # fmt: skip


def _run_states(workspace: pathlib.Path) -> list[dict]:
    states = []
    for path in (workspace / "derived_data" / "all").glob("*/run.json"):
        try:
            states.append(json.loads(path.read_text()))
        except ValueError:  # never half-written (atomic), but be safe against a race in glob
            continue
    return states


def _interrupt_when_training(workspace: pathlib.Path, process: subprocess.Popen, runs: int):
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        training = [s for s in _run_states(workspace) if s["status"] == "running" and s["epoch"]]
        if len(training) >= runs:
            os.killpg(process.pid, signal.SIGINT)
            return process.communicate(timeout=60)
        time.sleep(0.05)
    raise AssertionError(f"no training started: {process.communicate(timeout=60)}")


def _assert_one_line(stderr: str, process: subprocess.Popen) -> str:
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("python -m example: ")
    assert lines[0].endswith("run the same command again to resume")
    return lines[0]


def test_ctrl_c_during_tune(workspace):
    process = _start(workspace, "tune", "--sampler", "random", "--n-trials", "40", "--n-jobs", "2")
    _, stderr = _interrupt_when_training(workspace, process, runs=2)
    line = _assert_one_line(stderr, process)
    assert "study 'iris-random' interrupted with 0 of 40 trials finished" in line
    # two training, a third queued for the first worker to free up (never started)
    assert "(3 in flight: 0, 1, 2)" in line
    assert sorted(s["status"] for s in _run_states(workspace)) == ["interrupted"] * 2


def test_ctrl_c_during_train_model(workspace):
    from example import config  # the workspace holds a copy of the same code

    _, instances = config.load(workspace / "config" / "long.yaml")
    instance = instances[0]
    steps = {"transform-data": "transformed_data", "preprocess-data": "preprocessed_data"}
    for step, resource in steps.items():
        done = subprocess.run(
            [sys.executable, "-m", "example", step, "--hash",
             instance.get_instance_hash(resource), "--sweep", "config/long.yaml"],
            cwd=workspace, env=environment(), capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    process = _start(workspace, "train-model", "--hash", instance.get_instance_hash())
    _, stderr = _interrupt_when_training(workspace, process, runs=1)
    line = _assert_one_line(stderr, process)
    assert f"run {instance.get_instance_hash()[:12]} interrupted in epoch " in line
    [state] = _run_states(workspace)
    assert state["status"] == "interrupted" and state["error"] is None
