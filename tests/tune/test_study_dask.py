"""Trials on a real dask cluster: a LocalCluster's executor, as on SLURM with dask-jobqueue."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from tests.tune.search import make_study, objective

distributed = pytest.importorskip("distributed")


def test_trials_run_on_a_dask_local_cluster(root):
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster,
        distributed.Client(cluster) as client,
    ):
        study = make_study(root, "on-dask")
        study.optimize(objective, n_trials=6, n_jobs=2, executor=client.get_executor())
        worker_pids = set(client.run(os.getpid).values())
    frame = study.trials_frame()
    assert (frame.state == "complete").all() and len(frame) == 6 and frame.hash.is_unique
    assert os.getpid() not in worker_pids
    for trial_hash in frame.hash:
        metrics = pd.read_csv(os.path.join(root, "all", trial_hash, "metrics.csv"))
        assert metrics.epoch.tolist() == list(range(1, 9))
