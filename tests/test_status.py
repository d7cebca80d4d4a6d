"""phyper.status: which folders of a collection are complete, per resource."""

from __future__ import annotations

import pathlib

import pytest

import phyper


def _touch(folder: str, name: str) -> None:
    pathlib.Path(folder).mkdir(parents=True, exist_ok=True)
    pathlib.Path(folder, name).write_text("x")


def test_required_files_decide_completeness_per_folder(instances):
    for instance in instances[:10]:
        _touch(instance.get_resources_path(), "metrics.json")
    table = phyper.status(instances, {"all": "metrics.json"})
    assert len(table) == len(instances) == 90
    assert table.complete.sum() == 10
    incomplete = table[~table.complete]
    assert set(incomplete.missing) == {"metrics.json"}
    assert instances[10].get_instance_hash() in set(incomplete.hash)


def test_only_the_resources_named_by_files_are_checked(instances, parser):
    # other resources' folders that hold nothing but metadata are not counted as missing
    parser.generate_instance_info_files(instances)
    for instance in instances:
        _touch(instance.get_resources_path(), "metrics.json")
    table = phyper.status(instances, {None: ["metrics.json"]})
    assert set(table.resource) == {"all"} and table.complete.all()


def test_without_files_a_folder_needs_more_than_its_metadata(instances, parser):
    parser.generate_instance_info_files(instances)
    done = instances[0].get_resources_path("transformed_data")
    _touch(done, "data.npz")
    table = phyper.status(instances, resources=["transformed_data"])
    assert table.set_index("hash").complete.to_dict() == {
        h: h == instances[0].get_instance_hash("transformed_data")
        for h in parser.get_instances_hashes(instances, "transformed_data")
    }
    # by default every resource with a folder under the root is checked
    assert set(phyper.status(instances).resource) == {
        "all",
        "transformed_data",
        "preprocessed_data",
        "cross_validated_model",
    }


def test_an_unknown_resource_is_named():
    class M(phyper.Parser):
        depth = 3

    with pytest.raises(phyper.UnknownResourceError, match="'modle'"):
        phyper.status([M()], {"modle": "x.csv"})
