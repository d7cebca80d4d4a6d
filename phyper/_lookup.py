"""Hash -> instance lookup in O(1): one index per collection, built on first use.

The index is keyed by the identity of the collection. A hit is checked against the collection
(the instance at the recorded position must still have that hash), so a list changed in place
after indexing is re-indexed, never answered wrongly.
"""

from __future__ import annotations

import threading
import typing
from collections import OrderedDict
from collections.abc import Sequence

from ._context import instance_hash, label
from ._errors import HashNotFoundError

if typing.TYPE_CHECKING:
    from ._parser import Parser

    P = typing.TypeVar("P", bound=Parser)

_MAX_INDEXES = 32
# (id of collection, resource) -> (the collection itself, {hash: position})
_indexes: OrderedDict[tuple[int, str | None], tuple[Sequence[object], dict[str, int]]] = (
    OrderedDict()
)
_lock = threading.Lock()


def _build(instances: Sequence[P], resource_name: str | None) -> dict[str, int]:
    index: dict[str, int] = {}
    for position, instance in enumerate(instances):
        index.setdefault(instance_hash(instance, resource_name), position)
    key = (id(instances), resource_name)
    with _lock:
        # keeping a reference to the collection pins its id, so the id cannot be reused
        _indexes[key] = (instances, index)
        _indexes.move_to_end(key)
        while len(_indexes) > _MAX_INDEXES:
            _indexes.popitem(last=False)
    return index


def _at(
    instances: Sequence[P], position: int | None, wanted: str, resource: str | None
) -> P | None:
    if position is None or position >= len(instances):
        return None
    instance = instances[position]
    return instance if instance_hash(instance, resource) == wanted else None


def find(instance_hash: str, instances: Sequence[P], resource_name: str | None = None) -> P:
    """The first instance of ``instances`` whose (resource) hash is ``instance_hash``."""
    entry = _indexes.get((id(instances), resource_name))
    if entry is not None and entry[0] is instances:
        found = _at(instances, entry[1].get(instance_hash), instance_hash, resource_name)
        if found is not None:
            return found
    # first use, a changed collection, or an unknown hash: (re)index once
    index = _build(instances, resource_name)
    found = _at(instances, index.get(instance_hash), instance_hash, resource_name)
    if found is not None:
        return found
    raise HashNotFoundError(
        f"no {label(resource_name)} hash {instance_hash!r} among the {len(instances)} instances "
        "given; "
        "expected one of their hashes (a hash from an older configuration? "
        f"`phyper describe {instance_hash[:12] or '<hash>'}` reads its folder's metadata)"
    )
