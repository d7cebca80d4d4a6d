"""Metadata files: self-describing, atomic, idempotent, safe with concurrent writers and kill -9."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import phyper
from tests.conftest import IRIS_GRID, make_parser

ROOT = str(pathlib.Path(__file__).resolve().parent.parent)


def _all_info_files(folder: pathlib.Path) -> list[pathlib.Path]:
    return sorted(folder.rglob(phyper.INFO_FILE))


def test_metadata_describes_each_folder(instances, parser):
    report = parser.generate_instance_info_files(instances)
    assert report == phyper.WriteReport(written=90 + 3 + 6 + 18, unchanged=0)
    instance = instances[4]
    path = pathlib.Path(instance.get_resources_path("preprocessed_data"), phyper.INFO_FILE)
    document = json.loads(path.read_text())
    assert document["resource"] == "preprocessed_data"
    assert document["hash"] == instance.get_instance_hash("preprocessed_data")
    assert document["hash_spec"] == phyper.HASH_SPEC_VERSION
    assert document["hyperparameters"] == {
        "centering": instance.centering,
        "transformation": instance.transformation,
    }


def test_writing_again_changes_nothing(instances, parser):
    parser.generate_instance_info_files(instances)
    files = _all_info_files(pathlib.Path(parser.hashed_resources_folder))
    before = [(f.stat().st_ino, f.read_bytes()) for f in files]
    assert parser.generate_instance_info_files(instances) == phyper.WriteReport(0, 117)
    # an untouched file keeps its inode: a rewrite would rename a new file over it
    assert [(f.stat().st_ino, f.read_bytes()) for f in files] == before
    assert _all_info_files(pathlib.Path(parser.hashed_resources_folder)) == files


def test_load_round_trips_instances_and_resources(instances, parser):
    parser.generate_instance_info_files(instances)
    for instance in instances[::7]:
        loaded = parser.load_instance_from_disk_by_hash(instance.get_instance_hash())
        assert loaded == instance
        h = instance.get_instance_hash("cross_validated_model")
        resource = parser.load_instance_from_disk_by_hash(h, "cross_validated_model")
        assert resource.get_instance_hash("cross_validated_model") == h


def test_load_round_trips_rich_types(tmp_path):
    import enum

    class Color(enum.Enum):
        RED = "r"
        BLUE = "b"

    class Model(phyper.Parser):
        color = Color.RED
        path: pathlib.Path = "a/b"
        sizes: tuple[float, ...] = (1.0, 2.5)
        limit: int | None = None
        big = 2**80
        rate = float("inf")
        name = "日本"

    parser = Model(hashed_resources_folder=str(tmp_path), color=Color.BLUE)
    parser.generate_instance_info_files([parser])
    assert parser.load_instance_from_disk_by_hash(parser.get_instance_hash()) == parser


def _corrupt(parser, instance, text: str) -> str:
    path = os.path.join(instance.get_resources_path(), phyper.INFO_FILE)
    with open(path, "w") as stream:
        stream.write(text)
    return path


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "unreadable or not JSON"),
        ('{"format": "something-else"}', "not a phyper metadata file"),
        ('{"format": "phyper-info", "hash_spec": 99}', "hash spec 99"),
        ('{"format": "phyper-info", "hash_spec": 1, "resource": "all"}', "'hash'"),
    ],
)
def test_corrupt_or_foreign_metadata_names_the_file(instances, parser, content, message):
    parser.generate_instance_info_files(instances[:1])
    path = _corrupt(parser, instances[0], content)
    with pytest.raises(phyper.MetadataError, match=message) as error:
        parser.load_instance_from_disk_by_hash(instances[0].get_instance_hash())
    assert path in str(error.value)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("seed", 12, "hash to .* not the folder's"),  # an edited value
        ("momentum", 0.9, "hash to .* not the folder's"),  # a value added by hand
    ],
)
def test_hand_edited_metadata_is_caught(instances, parser, name, value, message):
    instance = instances[0]
    parser.generate_instance_info_files([instance])
    path = pathlib.Path(instance.get_resources_path(), phyper.INFO_FILE)
    document = json.loads(path.read_text())
    document["hyperparameters"][name] = value
    path.write_text(json.dumps(document))
    with pytest.raises(phyper.MetadataError, match=message):
        parser.load_instance_from_disk_by_hash(instance.get_instance_hash())


def test_a_folder_written_by_an_older_declaration_names_what_changed(instances, parser):
    # a self-consistent folder whose hyperparameter the class has since dropped
    values = {**instances[0].to_dict(key_only=True), "momentum": 0.9}
    old_hash = phyper.hash_values(values)
    folder = pathlib.Path(parser.hashed_resources_folder, "all", old_hash)
    folder.mkdir(parents=True)
    document = {
        "format": "phyper-info",
        "hash_spec": phyper.HASH_SPEC_VERSION,
        "class": "Instance",
        "resource": "all",
        "hash": old_hash,
        "hyperparameters": values,
        "omitted": [],
    }
    (folder / phyper.INFO_FILE).write_text(json.dumps(document))
    assert phyper.scan(parser.hashed_resources_folder).status.tolist() == ["ok"]
    with pytest.raises(phyper.MetadataError, match="'momentum' .* is not a hyperparameter"):
        parser.load_instance_from_disk_by_hash(old_hash)


def test_missing_folder_and_malformed_hash(parser):
    with pytest.raises(phyper.HashNotFoundError, match="does not exist"):
        parser.load_instance_from_disk_by_hash("a" * 32)
    with pytest.raises(phyper.HashNotFoundError, match="'xyz' is not a phyper hash"):
        parser.load_instance_from_disk_by_hash("xyz")
    with pytest.raises(phyper.HashNotFoundError, match="not a phyper hash"):
        parser.load_instance_from_disk_by_hash("../../etc/passwd")


_WRITER = """
import sys
sys.path.insert(0, {root!r})
from tests.conftest import make_parser, IRIS_GRID
parser = make_parser({folder!r})
grid = dict(IRIS_GRID, seed=list(range({seeds})))
instances = parser.get_instances_from_dictionary(grid)
for _ in range({rounds}):
    report = parser.generate_instance_info_files(instances)
print(report.written, report.unchanged)
"""


def _writer(folder, seeds=1, rounds=1) -> list[str]:
    script = _WRITER.format(root=ROOT, folder=str(folder), seeds=seeds, rounds=rounds)
    return [sys.executable, "-c", script]


def _check_tree(parser) -> None:
    folder = pathlib.Path(parser.hashed_resources_folder)
    for path in _all_info_files(folder):
        document = phyper._store.read_info_file(path)
        resource = None if document["resource"] == "all" else document["resource"]
        loaded = parser.load_instance_from_disk_by_hash(document["hash"], resource)
        assert loaded.get_instance_hash(resource) == path.parent.name


def test_eight_processes_writing_at_once(tmp_path):
    folder = tmp_path / "derived_data"
    processes = [
        subprocess.Popen(_writer(folder, rounds=3), stdout=subprocess.PIPE) for _ in range(8)
    ]
    outputs = [p.communicate(timeout=120)[0].decode() for p in processes]
    assert all(p.returncode == 0 for p in processes), outputs
    parser = make_parser(folder)
    instances = parser.get_instances_from_dictionary(IRIS_GRID)
    assert len(_all_info_files(folder)) == 117
    assert not list(folder.rglob("*.tmp"))
    _check_tree(parser)
    assert parser.generate_instance_info_files(instances) == phyper.WriteReport(0, 117)


_ENDLESS_WRITER = """
import itertools, sys
sys.path.insert(0, {root!r})
from tests.conftest import make_parser, IRIS_GRID
parser = make_parser({folder!r})
for seed in itertools.count():  # never finishes: only the kill stops it
    parser.generate_instance_info_files(
        parser.get_instances_from_dictionary(dict(IRIS_GRID, seed=[seed]))
    )
"""


def test_kill_minus_nine_mid_write_leaves_no_half_written_file(tmp_path):
    folder = tmp_path / "derived_data"
    script = _ENDLESS_WRITER.format(root=ROOT, folder=str(folder))
    process = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 120
        # metadata files land a batch at a time: wait for more than two seeds' worth
        while len(list(folder.glob(f"all/*/{phyper.INFO_FILE}"))) <= 200:
            assert process.poll() is None, "the writer stopped before it was killed"
            assert time.monotonic() < deadline, "the writer wrote too slowly"
            time.sleep(0.005)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL
    parser = make_parser(folder)
    done_before = len(_all_info_files(folder))
    _check_tree(parser)  # every file that exists is whole and correct
    seeds = 1 + max(
        parser.load_instance_from_disk_by_hash(path.parent.name).seed
        for path in (folder / "all").glob(f"*/{phyper.INFO_FILE}")
    )
    assert seeds >= 3  # more than 200 instance folders, 90 per seed
    instances = parser.get_instances_from_dictionary(dict(IRIS_GRID, seed=list(range(seeds))))
    report = parser.generate_instance_info_files(instances)  # a rerun picks up where it stopped
    assert report.unchanged == done_before
    assert report.written + report.unchanged == 90 * seeds + 3 + 6 + 18
    _check_tree(parser)


def test_only_old_temporary_files_count_as_stale(tmp_path):
    old = tmp_path / ".phyper.json.0a1b2c3d4e5f.tmp"
    old_state = tmp_path / ".run.json.0a1b2c3d4e5f.tmp"  # any atomic write's temporary
    fresh = tmp_path / ".phyper.json.ffffffffffff.tmp"
    unrelated = tmp_path / ".other.json"  # not named like a temporary
    for path in (old, old_state, fresh, unrelated):
        path.write_text('{"form')
    hour_ago = time.time() - 3600
    for path in (old, old_state, unrelated):
        os.utime(path, (hour_ago, hour_ago))
    os.symlink(old, tmp_path / ".phyper.json.123456.tmp")

    def stale(**options):
        return [entry.path for entry in phyper._store.stale_temporaries(tmp_path, **options)]

    assert stale() == sorted([str(old), str(old_state)])
    assert stale(older_than=0) == sorted([str(old), str(old_state), str(fresh)])
    assert phyper._store.stale_temporaries(tmp_path / "missing") == []


def test_atomic_output_renames_only_a_finished_file(tmp_path):
    target = tmp_path / "deep" / "table.npz"
    import numpy as np

    with phyper.atomic_output(target) as temporary:
        assert temporary.endswith(".npz") and os.path.dirname(temporary) == str(target.parent)
        np.savez(temporary, a=np.arange(3))  # savez keeps a name that ends in .npz
        assert not target.exists()
    assert np.load(target)["a"].tolist() == [0, 1, 2]
    with pytest.raises(RuntimeError, match="boom"), phyper.atomic_output(target) as temporary:
        np.savez(temporary, a=np.arange(5))
        raise RuntimeError("boom")
    assert np.load(target)["a"].tolist() == [0, 1, 2]  # the old content stays
    assert sorted(p.name for p in target.parent.iterdir()) == ["table.npz"]  # no leftovers
    never = phyper.atomic_output(tmp_path / "never.csv")
    with pytest.raises(FileNotFoundError, match="nothing was written"), never:
        pass


def _jobs(folder: pathlib.Path, n: int) -> list[tuple[str, bytes]]:
    return [(str(folder / f"{k:04d}" / "file.json"), f'{{"k": {k}}}'.encode()) for k in range(n)]


def _watch_flushes(monkeypatch) -> list[tuple[list[str], int]]:
    """Each flush: the targets already in place, and how many temporaries wait for it."""
    seen = []
    original = phyper._store._flush_to_disk

    def flush(temporaries, devices):
        # ".<name>.<hex>.tmp" is the temporary of "<name>" in the same folder
        targets = [
            os.path.join(os.path.dirname(t), os.path.basename(t)[1:].rsplit(".", 2)[0])
            for t in temporaries
        ]
        assert all(pathlib.Path(t).name == "file.json" for t in targets)
        in_place = [t for t in targets if pathlib.Path(t).exists()]
        seen.append((in_place, len(temporaries)))
        original(temporaries, devices)

    monkeypatch.setattr(phyper._store, "_flush_to_disk", flush)
    return seen


@pytest.mark.parametrize("with_syncfs", [True, False], ids=["syncfs", "fsync-each"])
def test_many_files_are_flushed_before_any_is_renamed(tmp_path, monkeypatch, with_syncfs):
    if with_syncfs and phyper._store._syncfs is None:
        pytest.skip("no syncfs on this system")
    calls = {"syncfs": 0, "fsync": 0}
    if with_syncfs:
        real_syncfs = phyper._store._syncfs

        def syncfs(descriptor):
            calls["syncfs"] += 1
            return real_syncfs(descriptor)

        monkeypatch.setattr(phyper._store, "_syncfs", syncfs)
    else:
        monkeypatch.setattr(phyper._store, "_syncfs", None)
    real_fsync = os.fsync
    monkeypatch.setattr(
        os, "fsync", lambda fd: calls.__setitem__("fsync", calls["fsync"] + 1) or real_fsync(fd)
    )
    monkeypatch.setattr(phyper._store, "BATCH", 40)
    flushes = _watch_flushes(monkeypatch)
    jobs = _jobs(tmp_path, 100)
    assert phyper._store.write_many(jobs) == 100
    assert [waiting for _, waiting in flushes] == [40, 40, 20]
    assert all(not in_place for in_place, _ in flushes), "a file was in place before its flush"
    assert {path: pathlib.Path(path).read_bytes() for path, _ in jobs} == dict(jobs)
    assert not list(tmp_path.glob("*/.*"))  # no temporary left
    if with_syncfs:
        assert calls == {"syncfs": 3, "fsync": 0}  # one per batch, all on one file system
    else:
        assert calls == {"syncfs": 0, "fsync": 100}


def test_an_error_in_a_batch_leaves_no_temporary_and_no_new_file(tmp_path):
    jobs = _jobs(tmp_path, 5)
    (tmp_path / "0003").write_text("a file where a folder must be")
    with pytest.raises(OSError):
        phyper._store.write_many(jobs)
    leftovers = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "0003"]
    assert leftovers == []  # nothing renamed into place, no temporary left behind


_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text())
_documents = st.dictionaries(
    st.text(),
    st.one_of(
        _scalars,
        st.dictionaries(st.text(), _scalars),
        st.lists(_scalars),
        st.dictionaries(st.text(), st.lists(_scalars)),  # deeper: left to json
    ),
)


@settings(max_examples=300, deadline=None)
@given(_documents)
def test_metadata_json_is_byte_for_byte_what_json_writes(document):
    expected = json.dumps(document, indent=2, ensure_ascii=False)
    assert phyper._store._indented_json(document) == expected
