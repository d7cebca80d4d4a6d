"""Hash -> instance lookup: O(1) per call, and never wrong when a collection changes."""

from __future__ import annotations

import contextlib
import gc
import weakref

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


def test_builders_and_helpers_return_instance_lists(parser, instances):
    assert type(instances) is phyper.InstanceList
    built = [
        parser.get_instances_from_dicts([{"seed": 1}, {"seed": 2}]),
        parser.get_instances_from_df(
            parser.get_df_of_instances(instances[:3]).reset_index(drop=True)
        ),
        Instance.deduplicate(instances),
        Instance.get_resources(instances, "transformed_data"),
        Instance.get_filtered_instances(instances, {"seed": instances[0].seed}),
    ]
    for collection in built:
        assert type(collection) is phyper.InstanceList
        assert isinstance(collection, list)


def _plain_and_instance_list(instances):
    return [list(instances), phyper.InstanceList(instances)]


@pytest.mark.parametrize(
    "change",
    [
        lambda items, other: items.__setitem__(3, other),
        lambda items, other: items.__setitem__(slice(3, 4), [other]),
        lambda items, other: items.__delitem__(3),
        lambda items, other: items.pop(3),
        lambda items, other: items.remove(items[3]),
        lambda items, other: items.clear(),
        lambda items, other: items.sort(key=lambda i: i.seed, reverse=True),
        lambda items, other: items.reverse(),
        lambda items, other: items.insert(0, other),
        lambda items, other: items.__init__([other, *items[5:]]),
    ],
    ids=[
        "setitem",
        "slice",
        "delitem",
        "pop",
        "remove",
        "clear",
        "sort",
        "reverse",
        "insert",
        "init",
    ],
)
def test_every_change_in_place_is_seen(instances, change):
    """Whatever the change, each lookup answers from the list as it is now."""
    other = instances[0].replace(seed=1234)
    for items in _plain_and_instance_list(instances):
        hashes = [i.get_instance_hash() for i in items]
        for h in hashes[:5]:
            Instance.get_instance_from_hash(h, items)  # indexed before the change
        change(items, other)
        now = {}
        for instance in items:
            now.setdefault(instance.get_instance_hash(), instance)
        for h in [*hashes, other.get_instance_hash()]:
            if h in now:
                assert Instance.get_instance_from_hash(h, items) is now[h]
            else:
                with pytest.raises(phyper.HashNotFoundError):
                    Instance.get_instance_from_hash(h, items)


def test_growing_an_instance_list_is_seen(instances):
    items = phyper.InstanceList(instances[:10])
    Instance.get_instance_from_hash(items[0].get_instance_hash(), items)
    items.append(instances[10])
    items += [instances[11]]
    items.extend([instances[12]])
    items *= 1
    for instance in instances[10:13]:
        assert Instance.get_instance_from_hash(instance.get_instance_hash(), items) is instance


def test_an_unchanged_instance_list_answers_a_miss_without_reindexing(instances, monkeypatch):
    Instance.get_instance_from_hash(instances[0].get_instance_hash(), instances)
    monkeypatch.setattr(_lookup, "_build", lambda *a: pytest.fail("re-indexed"))
    with pytest.raises(phyper.HashNotFoundError):
        Instance.get_instance_from_hash("0" * 32, instances)


def test_an_instance_list_copies_pickles_and_slices_like_a_list(instances):
    import pickle

    copied = instances.copy()
    assert type(copied) is phyper.InstanceList and copied == instances
    restored = pickle.loads(pickle.dumps(instances))
    assert type(restored) is phyper.InstanceList
    assert [i.get_instance_hash() for i in restored] == [i.get_instance_hash() for i in instances]
    assert type(instances[:3]) is list  # a slice is a plain list, looked up the checked way
    assert Instance.get_instance_from_hash(
        instances[2].get_instance_hash(), instances[:3]
    ).seed == (instances[2].seed)


def test_a_lookup_during_a_sort_does_not_outlive_the_sort(instances):
    """CPython shows a list as empty while it sorts: an index built then must not survive."""
    for items in _plain_and_instance_list(instances):
        probe = items[0].get_instance_hash()

        def key(instance, probe=probe, items=items):
            with contextlib.suppress(phyper.HashNotFoundError):
                Instance.get_instance_from_hash(probe, items)
            return -instance.seed

        items.sort(key=key)
        for instance in items:
            assert Instance.get_instance_from_hash(instance.get_instance_hash(), items) is (
                next(i for i in items if i.get_instance_hash() == instance.get_instance_hash())
            )


def test_an_indexed_instance_list_is_freed_with_its_index(parser):
    items = parser.get_instances_from_dictionary({"seed": [1, 2, 3]})
    Instance.get_instance_from_hash(items[0].get_instance_hash(), items)
    key, alive = id(items), weakref.ref(items)
    assert key in _lookup._indexes
    del items
    gc.collect()
    assert alive() is None and key not in _lookup._indexes


def test_only_the_last_plain_lists_stay_indexed(instances):
    lists = [list(instances[:3]) for _ in range(_lookup._MAX_INDEXES + 5)]
    for items in lists:
        Instance.get_instance_from_hash(items[0].get_instance_hash(), items)
    kept = [id(items) in _lookup._indexes for items in lists]
    assert kept == [False] * 5 + [True] * _lookup._MAX_INDEXES
