"""Hash -> instance lookup in O(1): one index per collection, built on first use.

The indexes are keyed by the identity of the collection (a plain dict: one lookup per call).

- An :class:`InstanceList` (what the builders return) tells this module when it changes, so
  its index maps each hash straight to its instance and a hit is one dict lookup. The index
  holds the list weakly and goes when the list goes.
- Any other sequence (a plain list, a slice) may change behind our back, and cannot be held
  weakly. Its index holds it (which pins its id), maps each hash to a position, and checks a
  hit by identity against a shallow copy taken when it was indexed: a list changed in place is
  re-indexed, never answered wrongly. Only the last ``_MAX_INDEXES`` of these are kept.
"""

from __future__ import annotations

import operator
import threading
import typing
import weakref
from collections.abc import Sequence

from ._context import instance_hash, label
from ._errors import HashNotFoundError

if typing.TYPE_CHECKING:
    from ._parser import Parser

    P = typing.TypeVar("P", bound=Parser)

T = typing.TypeVar("T")

_MAX_INDEXES = 32


class _Entry:
    """The index of one collection. For an :class:`InstanceList`: a weak reference to it, no
    snapshot, and indexes hash -> instance. Otherwise: the collection itself, its contents when
    indexed, and indexes hash -> position."""

    __slots__ = ("by_resource", "collection", "snapshot")

    def __init__(self, collection: object, snapshot: list[object] | None):
        self.collection = collection
        self.snapshot = snapshot
        self.by_resource: dict[str | None, dict[str, typing.Any]] = {}

    def holds(self, collection: object) -> bool:
        held = self.collection() if self.snapshot is None else self.collection  # type: ignore[operator]
        return held is collection


# id of collection -> its entry; insertion order is the age (oldest first)
_indexes: dict[int, _Entry] = {}
# re-entrant: a list freed while the lock is held (its weak reference's callback) takes it again
_lock = threading.RLock()


def _forget(collection: object) -> None:
    with _lock:
        _indexes.pop(id(collection), None)


def _forget_dead(key: int) -> typing.Callable[[object], None]:
    def forget(reference: object) -> None:
        with _lock:
            entry = _indexes.get(key)
            if entry is not None and entry.collection is reference:
                del _indexes[key]

    return forget


def _changes(method: typing.Callable[..., typing.Any]) -> typing.Callable[..., typing.Any]:
    """A list method that drops the list's index before and after changing the list (a lookup
    made during the change, from a sort's key function or another thread, saw it half done)."""

    def changed(
        self: InstanceList[typing.Any], *args: typing.Any, **kwargs: typing.Any
    ) -> typing.Any:
        _forget(self)
        try:
            return method(self, *args, **kwargs)
        finally:
            _forget(self)

    changed.__name__ = method.__name__
    changed.__doc__ = method.__doc__
    return changed


class InstanceList(list[T]):
    """A list of instances whose hash lookups cost one dict lookup.

    Every builder of :class:`phyper.Parser` returns one. It is a plain ``list`` in every other
    way; each change in place drops its lookup index, so a lookup never answers from stale
    contents. Wrap your own list to get the same speed: ``phyper.InstanceList(my_list)``.

    >>> import phyper
    >>> class Instance(phyper.Parser):
    ...     seed = 0
    >>> instances = Instance().get_instances_from_dictionary({'seed': [1, 2]})
    >>> Instance.get_instance_from_hash(instances[1].get_instance_hash(), instances).seed
    2
    """

    __slots__ = ("__weakref__",)

    # every list method that changes the contents; reading ones are inherited untouched
    __init__ = _changes(list.__init__)  # a second __init__ call replaces the contents
    __setitem__ = _changes(list.__setitem__)
    __delitem__ = _changes(list.__delitem__)
    __iadd__ = _changes(list.__iadd__)
    __imul__ = _changes(list.__imul__)
    append = _changes(list.append)
    extend = _changes(list.extend)
    insert = _changes(list.insert)
    pop = _changes(list.pop)
    remove = _changes(list.remove)
    clear = _changes(list.clear)
    sort = _changes(list.sort)
    reverse = _changes(list.reverse)

    def copy(self) -> InstanceList[T]:
        return InstanceList(self)


def _build(instances: Sequence[P], resource_name: str | None) -> _Entry:
    key = id(instances)
    if type(instances) is InstanceList:
        entry = _Entry(weakref.ref(instances, _forget_dead(key)), None)
    else:
        entry = _Entry(instances, list(instances))
    snapshot = entry.snapshot
    index: dict[str, typing.Any] = {}
    setdefault = index.setdefault
    if snapshot is None:
        for instance in instances:
            setdefault(instance_hash(instance, resource_name), instance)
    else:
        for position, instance in enumerate(snapshot):
            setdefault(instance_hash(instance, resource_name), position)
    entry.by_resource[resource_name] = index
    with _lock:
        previous = _indexes.pop(key, None)
        if previous is not None and previous.holds(instances):
            # the other resources' indexes still hold if the collection is unchanged: an
            # InstanceList's entry is dropped on any change; a copy must match item by item
            old, new = previous.snapshot, snapshot
            if old is None or (
                new is not None and len(old) == len(new) and all(map(operator.is_, old, new))
            ):
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
        index = entry.by_resource.get(resource_name)
        if index is not None:
            if entry.snapshot is None:
                found = index.get(instance_hash)
                if found is not None:
                    return found
                _not_found(instance_hash, instances, resource_name)  # unchanged: a true miss
            position = index.get(instance_hash)
            if position is not None and position < len(instances):
                found = instances[position]
                if found is entry.snapshot[position]:
                    return found
    # first use, a changed list, or an unknown hash: (re)index once
    entry = _build(instances, resource_name)
    hit = entry.by_resource[resource_name].get(instance_hash)
    if hit is None:
        _not_found(instance_hash, instances, resource_name)
    return hit if entry.snapshot is None else entry.snapshot[hit]


def _not_found(
    instance_hash: str, instances: Sequence[object], resource_name: str | None
) -> typing.NoReturn:
    raise HashNotFoundError(
        f"no {label(resource_name)} hash {instance_hash!r} among the {len(instances)} instances "
        "given; "
        "expected one of their hashes (a hash from an older configuration? "
        f"`phyper describe {instance_hash[:12] or '<hash>'}` reads its folder's metadata)"
    )
