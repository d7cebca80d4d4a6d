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
        while not ((folder / "all").exists() and len(os.listdir(folder / "all")) > 200):
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
