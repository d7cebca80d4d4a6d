"""Scanning a results root: one row per hash folder, from the metadata alone."""

from __future__ import annotations

import json
import os
import shutil

import phyper


def test_scan_reads_every_folder_and_its_hyperparameters(instances, parser):
    parser.generate_instance_info_files(instances)
    frame = phyper.scan(parser.hashed_resources_folder)
    assert len(frame) == 90 + 3 + 6 + 18
    assert (frame.status == "ok").all()
    transformed = phyper.scan(parser.hashed_resources_folder, "transformed_data")
    assert sorted(transformed.transformation) == ["identity", "log", "square"]
    row = frame[frame.hash == instances[0].get_instance_hash()].iloc[0]
    assert row.resource == "all" and row.cv_fold == 0 and type(row.cv_fold) is int


def test_scan_reports_corrupt_renamed_half_written_and_linked_folders(instances, parser, tmp_path):
    parser.generate_instance_info_files(instances[:2])
    root = parser.hashed_resources_folder
    first, second = (i.get_resources_path() for i in instances[:2])
    with open(os.path.join(first, "phyper.json"), "w") as stream:
        stream.write("{broken")
    renamed = os.path.join(root, "all", "0" * 32)
    shutil.copytree(second, renamed)
    half = os.path.join(root, "all", "1" * 32)
    os.makedirs(half)
    open(os.path.join(half, ".phyper.json.abcd.tmp"), "w").close()
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, os.path.join(root, "all", "2" * 32))
    statuses = dict(phyper.scan(root, "all")[["hash", "status"]].values.tolist())
    assert statuses[instances[0].get_instance_hash()] == "corrupt"
    assert statuses[instances[1].get_instance_hash()] == "ok"
    assert statuses["0" * 32] == "mismatch"
    assert statuses["1" * 32] == "no metadata"
    assert statuses["2" * 32] == "symlink"


def test_verify_recomputes_rich_types_without_the_class(tmp_path):
    import enum
    import pathlib

    class Color(enum.Enum):
        RED = 1

    class Model(phyper.Parser):
        color = Color.RED
        path = pathlib.Path("a/b")
        sizes = (1, 2.5)
        augment = phyper.hyperparameter(False, omit=False)

    model = Model(hashed_resources_folder=str(tmp_path))
    model.generate_instance_info_files([model])
    assert phyper.scan(tmp_path).status.tolist() == ["ok"]
    document = json.loads(
        (tmp_path / "all" / model.get_instance_hash() / "phyper.json").read_text()
    )
    assert document["omitted"] == ["augment"]
    assert document["hyperparameters"]["path"] == {"path": "a/b"}
