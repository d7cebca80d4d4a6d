"""The parser object, frozen instances, resources and paths."""

from __future__ import annotations

import os

import pytest

import phyper
from tests.conftest import Instance, make_parser


def test_instances_are_immutable_and_say_how_to_change_them(instances):
    instance = instances[0]
    with pytest.raises(phyper.FrozenInstanceError, match=r"'seed'.*replace\(seed=\.\.\.\)"):
        instance.seed = 3
    with pytest.raises(AttributeError, match="'seed'"):
        del instance.seed
    changed = instance.replace(seed=3)
    assert changed.seed == 3 and instance.seed == 0
    assert changed.get_instance_hash() != instance.get_instance_hash()
    # the copy shares the parser's resources and folder
    assert changed.get_resources_path("transformed_data") == instance.get_resources_path(
        "transformed_data"
    )


def test_instances_compare_by_value_and_hash_consistently(parser):
    a = parser.replace(seed=1)
    b = parser.replace(seed=1)
    c = parser.replace(seed=2)
    assert a == b and hash(a) == hash(b)
    assert a != c
    assert len({a, b, c}) == 2


def test_repr_shows_key_then_non_key_values():
    text = repr(Instance(seed=4))
    assert text.startswith("Instance(seed=4, n_hidden_layers=3")
    assert f"; non-key: n_epochs={Instance.n_epochs}, batch_size=32" in text


def test_to_dict_key_only():
    assert list(Instance().to_dict(key_only=True)) == Instance.get_hyperparameter_names("key")
    assert Instance(learning_rate=0.5).to_dict()["learning_rate"] == 0.5


def test_resource_hash_depends_only_on_its_dependencies(instances):
    by_transformation: dict[str, set[str]] = {}
    for instance in instances:
        by_transformation.setdefault(instance.transformation, set()).add(
            instance.get_instance_hash("transformed_data")
        )
    assert all(len(hashes) == 1 for hashes in by_transformation.values())
    assert len({next(iter(h)) for h in by_transformation.values()}) == 3
    assert len({i.get_instance_hash() for i in instances}) == 90
    assert len({i.get_instance_hash("cross_validated_model") for i in instances}) == 18


def test_non_key_values_do_not_change_any_hash(instances):
    instance = instances[5]
    other = instance.replace(learning_rate=0.5, n_epochs=3)
    for resource in (None, *instance.get_resource_names()):
        assert other.get_instance_hash(resource) == instance.get_instance_hash(resource)


def test_paths_are_folder_resource_hash(instances, parser):
    instance = instances[0]
    folder = parser.hashed_resources_folder
    assert instance.get_resources_path() == os.path.join(
        folder, "all", instance.get_instance_hash()
    )
    assert instance.get_resources_path("preprocessed_data") == os.path.join(
        folder, "preprocessed_data", instance.get_instance_hash("preprocessed_data")
    )
    assert instance.get_instance_hash("all") == instance.get_instance_hash()
    assert not os.path.exists(folder)  # computing paths never touches the disk


def test_dependencies_and_resource_names(parser):
    assert parser.get_resource_names() == [
        "transformed_data",
        "preprocessed_data",
        "cross_validated_model",
    ]
    assert parser.get_dependencies_for_resources("cross_validated_model") == [
        "transformation",
        "centering",
        "n_hidden_layers",
    ]
    union = parser.get_dependencies_for_resources("transformed_data", "preprocessed_data")
    assert union == ["transformation", "centering"]
    # a fresh list each time: the original phyper README appends to it
    parser.get_dependencies_for_resources("transformed_data").append("seed")
    assert parser.get_dependencies_for_resources("transformed_data") == ["transformation"]


def test_re_registering_the_same_resource_is_harmless_but_changing_it_is_refused(parser):
    parser.register_new_resource("transformed_data", ["transformation"])
    with pytest.raises(phyper.ResourceError, match="'transformed_data'.*already registered"):
        parser.register_new_resource("transformed_data", ["transformation", "seed"])


def test_two_parsers_of_one_class_keep_their_own_folder_and_resources(tmp_path):
    a = make_parser(tmp_path / "a")
    b = Instance(hashed_resources_folder=str(tmp_path / "b"))
    assert b.get_resource_names() == []
    assert a.get_resources_path().startswith(str(tmp_path / "a"))
    assert b.get_resources_path().startswith(str(tmp_path / "b"))


def test_resource_hash_equals_hash_of_its_dependencies_alone(instances):
    instance = instances[17]
    values = {n: getattr(instance, n) for n in ("transformation", "centering")}
    assert instance.get_instance_hash("preprocessed_data") == phyper.hash_values(values)


def test_the_original_phypers_spelling_still_works(parser):
    instance = parser.new_instance(seed=3)
    assert instance == parser.replace(seed=3)
    assert instance.get_hyperparameters() == instance.to_dict()
    hashable = instance.get_hashable_hyperparameters()
    assert hashable == instance.to_dict(key_only=True) and "n_epochs" not in hashable
    assert phyper.hash_values(hashable) == instance.get_instance_hash()


def test_describe_shows_each_declaration_with_its_documentation():
    class Model(phyper.Parser):
        depth = phyper.hyperparameter(3, doc="hidden layers")
        dropout = phyper.hyperparameter(0.0, omit=0.0)
        n_epochs = phyper.non_key(100, doc="passes over the data")

    table = phyper.describe(Model)
    assert table.loc["depth", "doc"] == "hidden layers"
    assert table.loc["n_epochs", ["kind", "doc"]].tolist() == ["non-key", "passes over the data"]
    assert table.loc["dropout", "omit"] == 0.0 and table.loc["depth", "omit"] is None
    assert list(table.index) == ["depth", "dropout", "n_epochs"]
    assert phyper.describe(Model(depth=4)).equals(table)  # an instance works too
    with pytest.raises(TypeError, match="expected a phyper Parser subclass"):
        phyper.describe(dict)
