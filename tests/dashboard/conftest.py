"""Stores for the dashboard's tests: a small one made in-process (the API tests), and one made
by the example's real code (the browser tests, tests/dashboard/test_browser.py)."""

from __future__ import annotations

import os
import pathlib

import pytest

import phyper
from phyper import tune

HOSTILE = "<script>window.__xss = 1</script><img src=x onerror='window.__xss = 2'>"


class Net(phyper.Parser):
    width = 4
    rate = 0.1
    label = "plain"


def make_run(root: str, *, width: int, label: str = "plain", epochs: int = 3,
             gate_after: int | None = None) -> str:  # fmt: skip
    """A finished run (or one waiting at gate ``review``); its hash."""
    instance = Net(hashed_resources_folder=root, width=width, label=label)
    gates = [tune.Gate("review", tune.after_epoch(gate_after))] if gate_after else []
    with tune.Run(instance, stop=tune.max_epochs(epochs), gates=gates) as run:
        for epoch in run.epochs():
            run.report(loss=1.0 / (epoch + width), accuracy=epoch / 10)
    return instance.get_instance_hash()


@pytest.fixture
def store(tmp_path: pathlib.Path) -> dict[str, object]:
    """Runs (finished, waiting at a gate, one with a hostile value) and a finished study."""
    root = str(tmp_path / "derived_data")
    os.makedirs(root)
    hashes = {
        "done": make_run(root, width=1),
        "waiting": make_run(root, width=2, gate_after=2, epochs=5),
        "other_waiting": make_run(root, width=3, gate_after=1, epochs=5),
        "hostile": make_run(root, width=5, label=HOSTILE),
    }
    parser = Net(hashed_resources_folder=root)
    study = tune.Study(
        parser, "search", space={"rate": tune.uniform(0.0, 1.0)}, metric="loss",
        sampler=tune.RandomSampler(seed=3),
    )  # fmt: skip
    study.optimize(lambda net: {"loss": net.rate / 3 + 0.1}, n_trials=6)
    return {"root": root, "hashes": hashes, "study": study}
