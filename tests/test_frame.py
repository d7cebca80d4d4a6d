"""pandas views: projections, filters, tables, descriptions (the example's score_models flow)."""

from __future__ import annotations

import enum
import pathlib

import pytest

import phyper
from tests.conftest import Instance


def test_seed_readme_cross_validation_flow(instances):
    names = instances[0].get_dependencies_for_resources("cross_validated_model")
    df = Instance.get_projections(instances, hyperparameter_names=names)
    assert len(df) == 18
    assert list(df.columns) == names
    for projection_hash, row in df.iterrows():
        filtered = Instance.get_filtered_instances(instances, row.to_dict())
        assert len(filtered) == 5
        folds = Instance.get_projections(filtered, ["cv_fold"]).cv_fold.to_list()
        assert set(folds) == set(range(5))
        # the projection index is the resource hash of the same hyperparameters
        assert {i.get_instance_hash("cross_validated_model") for i in filtered} == {projection_hash}


def test_projection_drops_duplicates_and_keeps_first_seen_order(instances):
    df = Instance.get_projections(instances, ["transformation"])
    assert df.transformation.to_list() == ["identity", "log", "square"]
    assert df.index.name == "hash"


def test_filter_accepts_lists_of_values_and_coerces(instances):
    chosen = Instance.get_filtered_instances(
        instances, {"transformation": ["log", "square"], "cv_fold": 0, "learning_rate": 1e-2}
    )
    assert len(chosen) == 2 * 2 * 3
    assert {i.transformation for i in chosen} == {"log", "square"}
    assert Instance.get_filtered_instances(instances, {"learning_rate": 1}) == []


def test_filter_on_mixed_types_does_not_confuse_one_and_true():
    class Model(phyper.Parser):
        anything = None

    parser = Model()
    instances = parser.get_instances_from_dicts([{"anything": 1}, {"anything": True}])
    assert [i.anything for i in Model.get_filtered_instances(instances, {"anything": True})] == [
        True
    ]


def test_df_of_instances_has_every_hyperparameter_indexed_by_hash(instances):
    df = Instance.get_df_of_instances(instances)
    assert len(df) == 90
    assert list(df.columns) == Instance.get_hyperparameter_names()
    assert df.index.name == "hash"
    assert df.index[7] == instances[7].get_instance_hash()
    resources = Instance.get_df_of_instances(instances, "preprocessed_data")
    assert len(resources) == 6
    assert list(resources.columns) == ["transformation", "centering"]
    assert resources.index.name == "preprocessed_data_hash"


def test_frames_of_empty_collections_are_empty():
    assert Instance.get_projections([], ["seed"]).empty
    assert Instance.get_df_of_instances([]).empty
    assert Instance.get_filtered_instances([], {"seed": 1}) == []


def test_describe_instance_from_hash(instances):
    instance = instances[11]
    described = Instance.describe_instance_from_hash(instance.get_instance_hash(), instances)
    assert described.name == instance.get_instance_hash()
    assert described.to_dict() == instance.to_dict()
    resource = Instance.describe_instance_from_hash(
        instance.get_instance_hash("preprocessed_data"), instances, "preprocessed_data"
    )
    assert resource.to_dict() == {
        "transformation": instance.transformation,
        "centering": instance.centering,
    }


def test_frames_hold_rich_values():
    class Color(enum.Enum):
        RED = 1

    class Model(phyper.Parser):
        color = Color.RED
        path = pathlib.Path("a/b")
        sizes = (1, 2)

    df = Model.get_df_of_instances([Model()])
    assert df.iloc[0].to_dict() == {
        "color": Color.RED,
        "path": pathlib.Path("a/b"),
        "sizes": (1, 2),
    }


def test_projection_of_an_unknown_name_suggests_the_closest(instances):
    with pytest.raises(KeyError, match="did you mean 'cv_fold'"):
        Instance.get_projections(instances, ["cv_flod"])
