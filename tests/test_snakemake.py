"""The Snakefile helpers, as functions (the real workflow runs in test_example_workflow.py)."""

from __future__ import annotations

import inspect
import os
import re

import pytest

import phyper
from phyper import snakemake as sm
from tests.conftest import Instance


def transformed(instance):
    return os.path.join(instance.get_resources_path("transformed_data"), "data.npz")


def model(instance):
    return os.path.join(instance.get_resources_path(), "model.npz")


def test_seed_wildcarded_path_for_instances_and_resources(instances, parser):
    root = parser.hashed_resources_folder
    assert Instance.snakemake_helper_get_wildcarded_path(model, instances[0]) == os.path.join(
        root, "all", "{hash}", "model.npz"
    )
    assert Instance.snakemake_helper_get_wildcarded_path(
        transformed, instances[0], resource_name="transformed_data"
    ) == os.path.join(root, "transformed_data", "{transformed_data_hash}", "data.npz")


def test_pattern_accepts_a_collection_or_an_instance(instances):
    assert sm.pattern(model, instances) == sm.pattern(model, instances[3])
    with pytest.raises(ValueError, match="empty collection"):
        sm.pattern(model, [])


def test_targets_lists_each_distinct_path_once(instances):
    paths = sm.targets(transformed, instances, "transformed_data")
    assert len(paths) == 3 == len(set(paths))
    assert paths[0] == transformed(instances[0])
    assert len(sm.targets(model, instances)) == 90


def test_upstream_maps_a_job_wildcard_to_the_upstream_path(instances):
    function = sm.upstream(transformed, instances, "preprocessed_data")
    for instance in instances[::11]:
        wildcards = {"preprocessed_data_hash": instance.get_instance_hash("preprocessed_data")}
        assert function(wildcards) == transformed(instance)
    full = sm.upstream(transformed, instances)
    assert full({"hash": instances[40].get_instance_hash()}) == transformed(instances[40])


def test_upstream_signature_is_precomputed_for_snakemake(instances):
    # Snakemake inspects an input function's signature on every job: it must be a lookup
    function = sm.upstream(transformed, instances, "preprocessed_data")
    assert isinstance(function.__signature__, inspect.Signature)
    assert inspect.signature(function) is function.__signature__
    assert list(function.__signature__.parameters) == ["wildcards"]
    assert function.__name__ == "upstream_transformed"


def test_upstream_with_an_unknown_hash_names_hash_resource_and_where_to_look(instances):
    function = sm.upstream(transformed, instances, "preprocessed_data")
    with pytest.raises(phyper.HashNotFoundError) as error:
        function({"preprocessed_data_hash": "ab" * 16})
    message = str(error.value)
    assert "ab" * 16 in message
    assert "'preprocessed_data'" in message
    assert "configuration" in message


def test_upstream_without_the_wildcard_says_which_is_missing(instances):
    function = sm.upstream(transformed, instances, "preprocessed_data")
    with pytest.raises(phyper.HashNotFoundError, match=r"no \{preprocessed_data_hash\} wildcard"):
        function({"hash": instances[0].get_instance_hash()})


def test_wildcard_constraints_match_hashes_only(parser, instances):
    constraints = sm.wildcard_constraints(parser)
    assert set(constraints) == {
        "hash",
        "transformed_data_hash",
        "preprocessed_data_hash",
        "cross_validated_model_hash",
    }
    regex = re.compile(constraints["hash"])
    assert regex.fullmatch(instances[0].get_instance_hash())
    assert not regex.fullmatch("all")
    assert not regex.fullmatch(instances[0].get_instance_hash() + "/model")


def test_hash_paths_stay_short_whatever_the_number_of_hyperparameters(tmp_path):
    attributes = {f"parameter_{i}": i for i in range(200)}
    wide = type("Wide", (phyper.Parser,), attributes)(hashed_resources_folder=str(tmp_path))
    relative = os.path.relpath(wide.get_resources_path(), tmp_path)
    assert [len(part) for part in relative.split(os.sep)] == [3, 32]


def test_a_space_binds_a_collection_once(instances):
    space = sm.Space(instances)
    assert space.pattern(transformed, "transformed_data") == sm.pattern(
        transformed, instances, "transformed_data"
    )
    assert space.targets(transformed, "transformed_data") == sm.targets(
        transformed, instances, "transformed_data"
    )
    wildcards = {"hash": instances[7].get_instance_hash()}
    assert space.upstream(transformed)(wildcards) == transformed(instances[7])
    assert space.instance(wildcards) is instances[7]
    assert space.wildcard_constraints() == sm.wildcard_constraints(instances[0])
    with pytest.raises(ValueError, match="at least one instance"):
        sm.Space([])
