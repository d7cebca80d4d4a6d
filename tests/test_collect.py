"""Collecting result files into tidy tables."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

import phyper
from tests.conftest import Instance


def metrics_path(instance):
    return os.path.join(instance.get_resources_path(), "metrics.json")


def curve_path(instance):
    return os.path.join(instance.get_resources_path(), "curve.csv")


def _write_results(instances, skip=()):
    for position, instance in enumerate(instances):
        if position in skip:
            continue
        os.makedirs(instance.get_resources_path(), exist_ok=True)
        with open(metrics_path(instance), "w") as stream:
            json.dump({"loss": position / 10, "seed": -1}, stream)
        pd.DataFrame({"epoch": [1, 2], "loss": [1.0, 0.5]}).to_csv(
            curve_path(instance), index=False
        )


def test_collect_json_one_row_per_instance_beside_hyperparameters(instances):
    _write_results(instances)
    frame = phyper.collect(instances, metrics_path)
    assert len(frame) == 90
    assert list(frame.columns[:2]) == ["hash", "seed"]
    assert frame.loss.tolist() == [i / 10 for i in range(90)]
    # a result column named like a hyperparameter is kept, renamed
    assert (frame.result_seed == -1).all() and (frame.seed == 0).all()
    assert frame.hash.tolist() == [i.get_instance_hash() for i in instances]


def test_collect_csv_is_tidy(instances):
    _write_results(instances[:3])
    frame = phyper.collect(instances[:3], curve_path)
    assert len(frame) == 6
    assert frame.epoch.tolist() == [1, 2] * 3
    assert frame.transformation.tolist() == ["identity"] * 6


def test_collect_with_a_callable_loader_and_a_resource(instances, parser):
    for instance in Instance.get_resources(instances, "preprocessed_data"):
        folder = instance.get_resources_path("preprocessed_data")
        os.makedirs(folder)
        with open(os.path.join(folder, "n.txt"), "w") as stream:
            stream.write(str(len(instance.transformation)))

    def path(instance):
        return os.path.join(instance.get_resources_path("preprocessed_data"), "n.txt")

    def read_int(path: str) -> int:
        with open(path) as stream:
            return int(stream.read())

    frame = phyper.collect(instances, path, loader=read_int, resource_name="preprocessed_data")
    assert len(frame) == 6
    assert list(frame.columns) == ["preprocessed_data_hash", "transformation", "centering", "value"]
    assert frame.value.tolist() == [8, 8, 3, 3, 6, 6]


def test_missing_files_are_reported_not_silently_skipped(instances):
    _write_results(instances[:10], skip={2, 5})
    with pytest.warns(phyper.MissingResultsWarning, match="2 of 10 result files are missing"):
        frame = phyper.collect(instances[:10], metrics_path)
    assert len(frame) == 8
    assert frame.attrs["missing"] == [metrics_path(instances[2]), metrics_path(instances[5])]
    with pytest.raises(phyper.MissingResultsError, match="2 of 10"):
        phyper.collect(instances[:10], metrics_path, missing="raise")


def test_yaml_loader_and_unknown_extension(instances, tmp_path):
    instance = instances[0]
    os.makedirs(instance.get_resources_path())
    path = os.path.join(instance.get_resources_path(), "r.yaml")
    with open(path, "w") as stream:
        stream.write("accuracy: 0.9\n")
    frame = phyper.collect([instance], lambda i: path)
    assert frame.accuracy.tolist() == [0.9]
    with pytest.raises(ValueError, match=r"no loader for '.*\.bin'"):
        phyper.collect([instance], lambda i: path.replace("r.yaml", "phyper.json.bin"))


def test_collect_from_disk_needs_no_configuration(instances, parser):
    _write_results(instances)
    parser.generate_instance_info_files(instances)
    frame = phyper.collect_from_disk(parser.hashed_resources_folder, "all", "metrics.json")
    assert len(frame) == 90
    assert set(frame.hash) == {i.get_instance_hash() for i in instances}
    assert {"seed", "transformation", "loss"} <= set(frame.columns)
