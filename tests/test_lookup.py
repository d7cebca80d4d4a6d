"""Hash -> instance lookup: O(1) per call, and never wrong when a collection changes."""

from __future__ import annotations

import pytest

import phyper
from phyper import _lookup
from tests.conftest import Instance


def test_every_hash_finds_its_instance(instances):
    for instance in instances:
        found = Instance.get_instance_from_hash(instance.get_instance_hash(), instances)
        assert found is instance


def test_resource_hash_finds_the_first_instance_with_it(instances):
    for instance in instances:
        h = instance.get_instance_hash("transformed_data")
        found = Instance.get_instance_from_hash(h, instances, resource_name="transformed_data")
        assert found.transformation == instance.transformation
        assert found is next(i for i in instances if i.transformation == instance.transformation)


def test_the_index_is_built_once_per_collection(instances, monkeypatch):
    builds = []
    original = _lookup._build
    monkeypatch.setattr(_lookup, "_build", lambda *a: builds.append(1) or original(*a))
    for instance in instances:
        Instance.get_instance_from_hash(instance.get_instance_hash(), instances)
    assert len(builds) == 1


def test_a_collection_changed_in_place_is_reindexed(instances):
    h = instances[3].get_instance_hash()
    assert Instance.get_instance_from_hash(h, instances) is instances[3]
    replacement = instances[3].replace(seed=99)
    instances[3] = replacement
    with pytest.raises(phyper.HashNotFoundError):
        Instance.get_instance_from_hash(h, instances)
    assert Instance.get_instance_from_hash(replacement.get_instance_hash(), instances) is (
        replacement
    )
    instances.insert(0, instances.pop())
    last = instances[0]
    assert Instance.get_instance_from_hash(last.get_instance_hash(), instances) is last


def test_unknown_hash_error_names_hash_resource_and_count(instances):
    with pytest.raises(LookupError) as error:
        Instance.get_instance_from_hash("0" * 32, instances, resource_name="preprocessed_data")
    message = str(error.value)
    assert "0" * 32 in message and "'preprocessed_data'" in message and "90 instances" in message


def test_get_instances_hashes_is_distinct_and_ordered(instances):
    hashes = Instance.get_instances_hashes(instances, resource_name="preprocessed_data")
    assert len(hashes) == 6
    assert hashes[0] == instances[0].get_instance_hash("preprocessed_data")


def test_get_resources_gives_one_instance_per_resource_hash(instances):
    chosen = Instance.get_resources(instances, "cross_validated_model")
    assert len(chosen) == 18
    assert len({i.get_instance_hash("cross_validated_model") for i in chosen}) == 18
