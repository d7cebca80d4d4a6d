"""What ``phyper gc`` may delete: only folders nothing refers to (the configuration, any
study's trials, runs that may go on, the resources of all these, folders a process has
locked), each kept folder with its reasons."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

import phyper
from phyper import tune
from phyper.tune._gc import plan_gc
from phyper.tune._state import RunState, write_state


class Decl(phyper.Parser):
    seed = 0
    lr = 0.1


def _objective(instance) -> float:
    return instance.lr + instance.seed


@pytest.fixture
def store(tmp_path):
    root = str(tmp_path / "derived_data")
    parser = Decl(hashed_resources_folder=root)
    parser.register_new_resource("data", dependencies=["seed"])
    grid = parser.get_instances_from_dictionary({"seed": [0, 1]})
    stray = parser.get_instances_from_dictionary({"seed": [5]})  # nothing refers to it
    Decl.generate_instance_info_files(grid + stray, resource_names=[None, "data"])
    # a study over the grid's seed 0, and one over a seed the grid lacks
    tune.Study(parser, "lrs", space={"lr": tune.choice([0.2, 0.3])}, metric="loss").optimize(
        _objective, n_trials=2
    )
    seven = parser.replace(seed=7)
    tune.Study(seven, "seven", space={"lr": tune.choice([0.25])}, metric="loss").optimize(
        _objective, n_trials=1
    )
    Decl.generate_instance_info_files([seven.replace(lr=0.25)], resource_names=["data"])
    return root, parser, grid, stray[0]


def _names(plan) -> set[tuple[str, str]]:
    return {(f.resource, f.hash) for f in plan.orphans}


def test_only_what_nothing_refers_to_is_garbage(store):
    root, parser, grid, stray = store
    plan = plan_gc(root, parser, grid)
    assert _names(plan) == {
        ("all", stray.get_instance_hash()),
        ("data", stray.get_instance_hash("data")),
    }
    trial = parser.replace(seed=7, lr=0.25)
    kept = plan.kept
    assert kept[trial.get_resources_path()] == ["trial 0 of study 'seven'"]
    assert kept[trial.get_resources_path("data")] == ["resource of trial 0 of study 'seven'"]
    lrs = parser.replace(lr=0.2)
    assert kept[lrs.get_resources_path()][0].endswith("of study 'lrs'")
    assert kept[grid[0].get_resources_path("data")] == [
        "resource of the configuration",
        "resource of trial 0 of study 'lrs'",
        "resource of trial 1 of study 'lrs'",
    ]
    assert kept[grid[1].get_resources_path()] == ["instance of the configuration"]


def test_a_trial_without_metadata_keeps_its_resources_through_the_journal(store):
    root, parser, grid, _ = store
    trial = parser.replace(seed=7, lr=0.25)
    os.unlink(os.path.join(trial.get_resources_path(), "phyper.json"))
    plan = plan_gc(root, parser, grid)
    assert plan.kept[trial.get_resources_path("data")] == ["resource of trial 0 of study 'seven'"]
    assert not plan.warnings


def test_deleting_a_study_makes_its_own_trials_garbage(store):
    root, parser, grid, stray = store
    shutil.rmtree(os.path.join(root, "studies", "seven"))
    trial = parser.replace(seed=7, lr=0.25)
    assert _names(plan_gc(root, parser, grid)) == {
        ("all", stray.get_instance_hash()),
        ("data", stray.get_instance_hash("data")),
        ("all", trial.get_instance_hash()),
        ("data", trial.get_instance_hash("data")),
    }


def test_runs_that_may_go_on_and_locked_folders_are_kept(store):
    root, parser, grid, stray = store
    folder = stray.get_resources_path()
    write_state(folder, RunState(hash=stray.get_instance_hash(), resource="all"))  # "running"
    plan = plan_gc(root, parser, grid)
    assert plan.orphans == []
    assert plan.kept[folder] == ["run interrupted"]  # no process holds its lock
    assert plan.kept[stray.get_resources_path("data")] == ["resource of run interrupted"]
    finished = RunState(hash=stray.get_instance_hash(), resource="all", status=tune.COMPLETED)
    write_state(folder, finished)
    assert len(plan_gc(root, parser, grid).orphans) == 2  # a finished run nobody needs
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from phyper.tune._lock import FolderLock; from phyper import PhyperError\n"
            "lock = FolderLock(sys.argv[1], PhyperError, 'x'); lock.acquire(False)\n"
            "print('held', flush=True); sys.stdin.read()",
            os.path.join(folder, "trial.lock"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        plan = plan_gc(root, parser, grid)
        assert plan.kept[folder] == ["in use: a live process holds its lock"]
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)


def test_an_unreadable_study_keeps_everything(store):
    root, parser, grid, _ = store
    journal = os.path.join(root, "studies", "lrs", "journal.jsonl")
    with open(journal, "r+b") as stream:
        stream.write(b"garbage\n")  # a damaged first line: the journal cannot be trusted
    plan = plan_gc(root, parser, grid)
    assert plan.orphans == [] and "unreadable" in plan.warnings[0]


def test_gc_cli_says_why_each_folder_is_kept(store, tmp_path, capsys):
    root, parser, _, stray = store
    config = tmp_path / "config.py"
    config.write_text(
        "import phyper\n"
        "class Decl(phyper.Parser):\n    seed = 0\n    lr = 0.1\n"
        f"parser = Decl(hashed_resources_folder={root!r})\n"
        "parser.register_new_resource('data', dependencies=['seed'])\n"
        "instances = parser.get_instances_from_dictionary({'seed': [0, 1]})\n"
    )
    from phyper import cli

    assert cli.main(["gc", str(config), "-v"]) == 1
    out = capsys.readouterr().out
    trial = parser.replace(seed=7, lr=0.25)
    assert f"kept  all/{trial.get_instance_hash()}  trial 0 of study 'seven'" in out
    assert "2 orphan folders" in out and stray.get_instance_hash() in out
    assert cli.main(["gc", str(config), "--delete"]) == 0
    assert not os.path.exists(stray.get_resources_path())
    assert os.path.exists(trial.get_resources_path("data"))
    assert cli.main(["gc", str(config)]) == 0
