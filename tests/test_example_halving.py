"""The example's successive-halving search (`python -m example tune --sampler asha-random`,
`snakemake halving`), run for real on the quick sweep in a copy of the repository."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd

from tests.workflow import copy_workspace, environment, job_counts, run_snakemake


def test_the_example_searches_by_successive_halving(tmp_path):
    workspace = copy_workspace(tmp_path / "example")
    command = [sys.executable, "-m", "example", "tune", "--sweep", "config/quick.yaml"]
    command += ["--sampler", "asha-random", "--n-trials", "9", "--n-jobs", "2"]
    done = subprocess.run(
        command, cwd=workspace, env=environment(), capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "iris-asha-random: " in done.stdout
    trials = pd.read_csv(workspace / "results" / "search" / "asha-random.csv")
    assert len(trials) == 9 and trials.hash.is_unique
    # quick.yaml trains 2 epochs: rungs at 1 and 2; a third of the first rung went on
    assert set(trials.state) == {"paused", "complete"}
    assert set(trials.rung) == {0, 1}
    assert (trials.state == "complete").sum() == (trials.rung == 1).sum() >= 3
    for trial in trials.itertuples():  # each epoch once, as far as the trial's rung
        metrics = pd.read_csv(workspace / "derived_data" / "all" / trial.hash / "metrics.csv")
        assert metrics.epoch.tolist() == list(range(1, trial.rung + 2))


def test_snakemake_has_a_halving_target(tmp_path):
    workspace = copy_workspace(tmp_path / "example")
    output = run_snakemake(workspace, "-n", "halving", sweep="config/quick.yaml")
    assert job_counts(output)["tune"] == 2
