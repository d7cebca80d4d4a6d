"""Hash -> instance lookup in O(1): one index per collection, built on first use.

The indexes are keyed by the identity of the collection (a plain dict: one lookup per call).
Each keeps the collection, a shallow copy of it taken when it was indexed, and one
``{hash: position}`` per resource. A hit is checked by identity: the instance now at the
recorded position must be the very one indexed there. So a list changed in place after
indexing is re-indexed, never answered wrongly, and no hash is recomputed on the hot path.
"""

from __future__ import annotations

import operator
import threading
import typing
from collections.abc import Sequence

from ._context import instance_hash, label
from ._errors import HashNotFoundError

if typing.TYPE_CHECKING:
    from ._parser import Parser

    P = typing.TypeVar("P", bound=Parser)

_MAX_INDEXES = 32


class _Entry:
    """The index of one collection: the collection itself (which pins its id, so the id
    cannot be reused while the entry lives), its contents when indexed, and the positions."""

    __slots__ = ("by_resource", "collection", "snapshot")

    def __init__(self, collection: Sequence[object]):
        self.collection = collection
        self.snapshot = list(collection)
        self.by_resource: dict[str | None, dict[str, int]] = {}


# id of collection -> its entry; insertion order is the age (oldest first)
_indexes: dict[int, _Entry] = {}
_lock = threading.Lock()


def _build(instances: Sequence[P], resource_name: str | None) -> _Entry:
    entry = _Entry(instances)
    index: dict[str, int] = {}
    setdefault = index.setdefault
    for position, instance in enumerate(entry.snapshot):
        setdefault(instance_hash(instance, resource_name), position)
    entry.by_resource[resource_name] = index
    key = id(instances)
    with _lock:
        previous = _indexes.pop(key, None)
        if previous is not None and previous.collection is instances:
            # the collection is unchanged for the other resources only if its snapshot is
            old, new = previous.snapshot, entry.snapshot
            if len(old) == len(new) and all(map(operator.is_, old, new)):
                for name, other in previous.by_resource.items():
                    entry.by_resource.setdefault(name, other)
        _indexes[key] = entry
        while len(_indexes) > _MAX_INDEXES:
            del _indexes[next(iter(_indexes))]
    return entry


def find(instance_hash: str, instances: Sequence[P], resource_name: str | None = None) -> P:
    """The first instance of ``instances`` whose (resource) hash is ``instance_hash``."""
    entry = _indexes.get(id(instances))
    if entry is not None:
        try:
            position = entry.by_resource[resource_name][instance_hash]
            found = instances[position]
            if found is entry.snapshot[position] and entry.collection is instances:
                return found
        except (KeyError, IndexError):
            pass
    # first use, a changed collection, or an unknown hash: (re)index once
    entry = _build(instances, resource_name)
    position = entry.by_resource[resource_name].get(instance_hash)
    if position is not None:
        return entry.snapshot[position]  # type: ignore[return-value]
    raise HashNotFoundError(
        f"no {label(resource_name)} hash {instance_hash!r} among the {len(instances)} instances "
        "given; "
        "expected one of their hashes (a hash from an older configuration? "
        f"`phyper describe {instance_hash[:12] or '<hash>'}` reads its folder's metadata)"
    )
