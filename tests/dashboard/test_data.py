"""The store index: read once, then only what changed, and the same as phyper's own readers."""

from __future__ import annotations

import os

from phyper import tune
from phyper.dashboard._data import StoreIndex, tail_metrics
from tests.dashboard.conftest import Net, make_run


def test_the_index_agrees_with_phyper_runs_and_study_show(store):
    index = StoreIndex(store["root"])
    index.load()
    frame = tune.runs(store["root"])
    assert {row["hash"]: row["status"] for row in index.runs.values()} == dict(
        zip(frame["hash"], frame["status"], strict=True)
    )
    view = tune.StudyView.read(store["root"], "search")
    study = index.studies["search"]
    assert [(t["number"], t["hash"], t["state"], t["value"]) for t in study.trials] == [
        (t.number, t.hash, t.state, t.value) for t in view.trials
    ]
    assert study.best()["value"] == view.best_value
    assert study.best_so_far() == list(view.trials_frame()["best_so_far"])


def test_a_new_trial_is_read_from_the_journal_offset(store):
    index = StoreIndex(store["root"])
    index.load()
    study = index.studies["search"]
    offset, version = study.offset, study.version
    assert not index.refresh()  # nothing changed, nothing read
    assert study.offset == offset
    store["study"].optimize(lambda net: {"loss": net.rate}, n_trials=len(study.trials) + 1)
    journal = os.path.join(study.folder, "journal.jsonl")
    assert index.refresh()
    assert study.offset == os.path.getsize(journal) > offset
    (new,) = study.changed_since(version)
    assert new["number"] == len(study.trials) - 1 and new["state"] == "complete"


def test_a_torn_last_journal_line_waits_for_the_next_tick(store):
    index = StoreIndex(store["root"])
    index.load()
    study = index.studies["search"]
    trials = len(study.trials)
    journal = os.path.join(study.folder, "journal.jsonl")
    with open(journal, "ab") as stream:
        stream.write(b'{"event":"start","trial":99,"hash":"')
    index.refresh()
    assert len(study.trials) == trials
    with open(journal, "ab") as stream:
        stream.write(b'ab","params":{"rate":0.5}}\n')
    index.refresh()
    assert study.trials[-1]["number"] == 99 and study.trials[-1]["params"] == {"rate": 0.5}


def test_a_run_is_read_again_only_when_its_state_file_changed(store):
    index = StoreIndex(store["root"])
    index.load()
    folder = os.path.join(index.root, "all", store["hashes"]["done"])
    assert index.runs[folder]["epoch"] == 3
    make_run(store["root"], width=1, epochs=6)
    for _ in range(3):  # the rolling sweep reaches it
        index.refresh()
    assert index.runs[folder]["epoch"] == 6
    new = make_run(store["root"], width=9)
    index.refresh()  # a new folder: its resource folder's mtime changed
    assert index.runs[os.path.join(index.root, "all", new)]["status"] == "completed"


def test_a_run_started_in_a_folder_that_existed_before_is_found_on_the_next_tick(store):
    # a grid instance whose folder (with its metadata) was made long before it was trained;
    # and the race of a new folder listed before its run.json landed: both look the same
    instance = Net(hashed_resources_folder=store["root"], width=11)
    type(instance).generate_instance_info_files([instance])
    folder = os.path.join(store["root"], "all", instance.get_instance_hash())
    assert os.path.isdir(folder)
    index = StoreIndex(store["root"])
    index.load()
    assert not index.refresh() and folder not in index.runs
    make_run(store["root"], width=11)
    assert index.refresh()
    assert index.runs[folder]["status"] == "completed"


def test_tail_metrics_starts_again_when_the_file_was_cut(tmp_path):
    path = tmp_path / "metrics.csv"
    path.write_text("epoch,loss\n1,0.5\n2,0.4\n")
    first = tail_metrics(str(tmp_path))
    path.write_text("epoch,loss\n1,0.5\n")  # a resumed run cut an uncommitted row
    again = tail_metrics(str(tmp_path), first["offset"])
    assert (
        again["reset"] and again["rows"] == [[1.0, 0.5]] and again["columns"] == ["epoch", "loss"]
    )
