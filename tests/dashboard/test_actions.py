"""--on-decision: the operator's command, once per decision, values checked and quoted."""

from __future__ import annotations

import os
import sys
import time

import pytest

from phyper import tune
from phyper.dashboard._actions import Actions, fill
from phyper.dashboard._data import StoreIndex
from phyper.dashboard._security import BadName


def test_placeholders_are_checked_and_quoted():
    command = fill("run {hash} {study} {gate} {decision} {other}", hash="a" * 32, study="s-1.x",
                   gate="review", decision="no-go")  # fmt: skip
    assert command == f"run {'a' * 32} s-1.x review no-go {{other}}"
    assert fill("run --study {study}") == "run --study ''"
    for values in ({"hash": "a; rm -rf /"}, {"study": "$(id)"}, {"gate": "x y"},
                   {"decision": "maybe"}):  # fmt: skip
        with pytest.raises(BadName):
            fill("run {hash}", **values)


def wait_for_exit(log: str) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with open(log) as stream:
            text = stream.read()
        if "exit code" in text:
            return text
        time.sleep(0.05)
    raise AssertionError(f"the command did not finish: {text!r}")


def test_the_command_runs_once_per_decision_whoever_decided(store, tmp_path):
    index = StoreIndex(store["root"])
    index.load()
    script = "import sys; print('acting on', sys.argv[1:])"
    command = f'{sys.executable} -c "{script}" {{hash}} {{decision}}'
    actions = Actions(command, index, cwd=str(tmp_path))
    assert actions.check() == 0  # no decision yet
    run_hash = store["hashes"]["waiting"]
    tune.decide(store["root"], run_hash, go=True)  # from the command line
    assert actions.check() == 1
    assert actions.check() == 0  # once
    assert Actions(command, index).check() == 0  # another dashboard does not run it again
    log = os.path.join(store["root"], "all", run_hash, "on-decision-review.log")
    text = wait_for_exit(log)
    assert f"acting on ['{run_hash}', 'go']" in text and "exit code 0" in text
