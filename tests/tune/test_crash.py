"""kill -9 at random moments of real training processes, then run to the end: every epoch is in
metrics.csv exactly once, and the results equal those of an uninterrupted run."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time

import numpy as np
import pandas as pd

from phyper import tune

from .conftest import PYTHON, TRAINER
from .trainer import load_model, make_instance, train

N_EPOCHS = 150
KILLS = 5


def committed_epoch(folder: str) -> int:
    try:
        with open(os.path.join(folder, "run.json")) as stream:
            return json.load(stream)["epoch"]  # the file is replaced atomically: never partial
    except FileNotFoundError:
        return 0


def test_sigkill_mid_training_then_resume(root, tmp_path):
    rng = random.Random(20261123)
    instance = make_instance(root, n_epochs=N_EPOCHS)
    folder = instance.get_resources_path()
    command = [PYTHON, TRAINER, root, str(N_EPOCHS), "--sleep", "0.002"]
    # each process is killed after a (seeded) random number of epochs, at a random moment of
    # the epoch that follows: inside the step, the save, the CSV append or the commit
    targets = sorted(rng.sample(range(3, N_EPOCHS - 30), KILLS))
    codes = []
    for target in targets:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        while committed_epoch(folder) < target and process.poll() is None:
            time.sleep(0.001)
        time.sleep(rng.uniform(0.0, 0.008))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        codes.append(process.returncode)
        assert process.returncode == -signal.SIGKILL, process.stderr.read().decode()
        process.stderr.close()
    last = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert last.returncode == 0, last.stderr

    frame = pd.read_csv(os.path.join(folder, "metrics.csv"))
    assert frame["epoch"].tolist() == list(range(1, N_EPOCHS + 1))
    reference = make_instance(str(tmp_path / "reference"), n_epochs=N_EPOCHS)
    expected_result, expected_weights = train(reference)
    expected = pd.read_csv(os.path.join(reference.get_resources_path(), "metrics.csv"))
    pd.testing.assert_frame_equal(frame, expected, check_exact=True)
    result = tune.load_result(instance)
    assert result.status is tune.COMPLETED and result.epochs == N_EPOCHS
    assert result.final_metrics == expected_result.final_metrics
    with tune.Run(instance, stop=tune.max_epochs(N_EPOCHS)) as run:
        assert np.array_equal(run.restore(load_model), expected_weights)
    assert os.listdir(os.path.join(folder, "checkpoints")) == [f"epoch-{N_EPOCHS:06d}"]
