"""What every module below the ``Parser`` facade needs to know about instances, in one place.

An instance keeps its hyperparameter values as plain attributes (so ``instance.seed`` and IDE
completion work) plus two private entries in its ``__dict__``: the :class:`Context` it shares
with its parser and every sibling, and a cache of its hashes. Only this module knows those two
entries; everything else goes through :func:`make_instance`, :func:`context_of`,
:func:`instance_hash` and :func:`distinct`. Imports here point down only (schema, hashing,
errors), so no module below the facade needs to import ``_parser``.

Resource names have one spelling rule, kept here too: ``None`` and ``"all"`` both mean the full
instance, whose folder is ``all`` and whose Snakemake wildcard is ``hash``; a registered
resource ``r`` has the folder ``r`` and the wildcard ``r_hash``.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import operator
import typing
from collections.abc import Callable, Iterable, Iterator, Sequence

import xxhash

from ._errors import ResourceError, UnknownResourceError, closest_hint
from ._hashing import PREFIX
from ._schema import Schema

ALL = "all"  # the folder of full instances; reserved as a resource name
_CONTEXT = "_phyper_ctx"
_HASHES = "_phyper_hashes"
_digest = xxhash.xxh3_128_hexdigest

T = typing.TypeVar("T")
SegmentPlan = tuple[tuple[str, Callable[[object], bytes]], ...]


# --------------------------------------------------------------------------- resource names


def is_full(resource_name: str | None) -> bool:
    """True for the names that mean the full instance (``None`` and ``"all"``)."""
    return resource_name is None or resource_name == ALL


def folder_name(resource_name: str | None) -> str:
    """The folder under the root: ``all`` for full instances, else the resource name.

    >>> folder_name(None), folder_name("all"), folder_name("transformed_data")
    ('all', 'all', 'transformed_data')
    """
    return ALL if resource_name is None else resource_name


def wildcard_name(resource_name: str | None = None) -> str:
    """The Snakemake wildcard and the table column of a hash: ``hash`` or ``<resource>_hash``.

    >>> wildcard_name(), wildcard_name("transformed_data")
    ('hash', 'transformed_data_hash')
    """
    return "hash" if is_full(resource_name) else f"{resource_name}_hash"


def label(resource_name: str | None) -> str:
    """How error messages name the kind of a hash: ``instance`` or ``'r' resource``."""
    return "instance" if is_full(resource_name) else f"{resource_name!r} resource"


# -------------------------------------------------------------------------------- context


class Context:
    """What one parser and all the instances it builds share: folder, schema, resources."""

    __slots__ = ("folder", "plans", "resources", "schema")

    def __init__(self, schema: Schema, folder: str):
        self.schema = schema
        self.folder = folder
        self.resources: dict[str, tuple[str, ...]] = {}
        full = self.plan_for(schema.key_names)
        self.plans: dict[str | None, SegmentPlan] = {None: full, ALL: full}

    def plan_for(self, names: Iterable[str]) -> SegmentPlan:
        """How to hash exactly ``names``: their segment functions in the contract's order."""
        specs = self.schema.specs
        return tuple((name, specs[name].segment) for name in sorted(names))

    def plan(self, resource_name: str | None) -> SegmentPlan:
        try:
            return self.plans[resource_name]
        except KeyError:
            raise self.unknown_resource(resource_name) from None

    def unknown_resource(self, resource_name: object) -> UnknownResourceError:
        known = list(self.resources)
        hint = closest_hint(str(resource_name), known)
        return UnknownResourceError(
            f"resource {resource_name!r} is not registered{hint} "
            f"(registered: {', '.join(known) if known else 'none'}; "
            "use register_new_resource first)"
        )

    def register(self, name: str, dependencies: Sequence[str]) -> None:
        if not isinstance(name, str) or not name.isidentifier():
            raise ResourceError(
                f"resource name {name!r} is not allowed: expected a Python identifier "
                "(letters, digits, underscores), which also keeps the folder inside "
                f"{self.folder!r}"
            )
        if name == ALL:
            raise ResourceError(
                f"resource name {ALL!r} is reserved for the folders of full instances"
            )
        if isinstance(dependencies, str):
            raise ResourceError(
                f"dependencies of resource {name!r} must be a list of hyperparameter names, "
                f"got the string {dependencies!r}; write [{dependencies!r}]"
            )
        deps = tuple(dict.fromkeys(dependencies))
        schema = self.schema
        schema.check_names(deps, where=f"the dependencies of resource {name!r}")
        for dep in deps:
            if not schema.specs[dep].key:
                raise ResourceError(
                    f"resource {name!r} depends on {dep!r}, a non-key hyperparameter; a "
                    "resource may depend only on key hyperparameters (a non-key value must not "
                    "change where results are stored)"
                )
        previous = self.resources.get(name)
        if previous is not None:
            if set(previous) != set(deps):
                raise ResourceError(
                    f"resource {name!r} is already registered with dependencies "
                    f"{list(previous)}, not {list(deps)}; a resource's dependencies cannot "
                    "change, or its cached hashes would be wrong: register a new name"
                )
            return
        self.resources[name] = deps
        self.plans[name] = self.plan_for(deps)

    def dependencies(self, resource_name: str | None) -> tuple[str, ...]:
        """The hyperparameters a hash of ``resource_name`` covers (all keys for instances)."""
        if is_full(resource_name):
            return self.schema.key_names
        try:
            return self.resources[typing.cast(str, resource_name)]
        except KeyError:
            raise self.unknown_resource(resource_name) from None

    def resource_names(self) -> tuple[str | None, ...]:
        """``None`` (the full instance) followed by every registered resource."""
        return (None, *self.resources)


# ---------------------------------------------------------------------------- instances


def make_instance(cls: type[T], context: Context, values: dict[str, object]) -> T:
    """A new instance of ``cls`` holding already coerced ``values``; no validation here."""
    instance = object.__new__(cls)
    d = instance.__dict__
    d.update(values)
    d[_CONTEXT] = context
    d[_HASHES] = {}
    return instance


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the garbage collector while many lasting objects are built at once: its passes
    over a fast-growing heap find nothing to free and can cost more than the building itself.
    (A collector that was off stays off.)"""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def make_grid_instances(
    cls: type[T],
    context: Context,
    base: dict[str, object],
    names: Sequence[str],
    axes: Sequence[Sequence[object]],
) -> list[T]:
    """The Cartesian product of ``axes`` (the values of ``names``) over ``base``, in
    ``itertools.product`` order, with every hash (the full one and each registered resource's)
    already cached.

    The hashes are computed per axis, not per instance: each value's segment once, the full
    hash as one join and one digest per instance, and each resource's hash once per distinct
    combination of the axes it depends on, then spread over the grid and shared. The result is
    the same as hashing each instance on demand; a value that cannot be hashed (NaN) leaves the
    hashes to be computed, and to fail, on demand as before.
    """
    try:
        columns = _grid_hashes(context, base, names, axes)
    except (TypeError, ValueError):
        columns = {}
    new = object.__new__
    instances: list[T] = []
    append = instances.append
    combinations = itertools.product(*axes)
    if columns:
        keys = tuple(columns)
        hashes = map(dict, map(zip, itertools.repeat(keys), zip(*columns.values(), strict=True)))
    else:
        hashes = map(dict, itertools.repeat(()))
    # Nothing built here can form a cycle, and the garbage collector's passes over a growing
    # heap cost more than building the instances themselves: pause it for the loop.
    with gc_paused():
        for combination, cached in zip(combinations, hashes, strict=False):  # {}: endless
            instance = new(cls)
            d = instance.__dict__
            d.update(base)
            d.update(zip(names, combination, strict=True))
            d[_CONTEXT] = context
            d[_HASHES] = cached
            append(instance)
    return instances


def _grid_hashes(
    context: Context,
    base: dict[str, object],
    names: Sequence[str],
    axes: Sequence[Sequence[object]],
) -> dict[str | None, list[str]]:
    """For each plan (the full instance and each resource): its hash per grid instance."""
    shape = [len(axis) for axis in axes]
    total = 1
    for size in shape:
        total *= size
    position = {name: i for i, name in enumerate(names)}
    specs = context.schema.specs
    segments: dict[int, list[bytes]] = {}  # per grid axis of a key, its values' segments
    columns: dict[str | None, list[str]] = {}
    for resource_name in context.resource_names():
        plan = context.plan(resource_name)
        relevant = sorted({position[name] for name, _ in plan if name in position})
        for i in relevant:
            if i not in segments:
                segment = specs[names[i]].segment
                segments[i] = [segment(value) for value in axes[i]]
        # the parts of the digest's input, in the plan's order: a grid axis (its index among
        # the relevant ones) or a constant (the prefix, a value from base)
        constants: list[bytes] = [PREFIX]
        order: list[int] = [len(relevant)]
        for name, segment in plan:
            if name in position:
                order.append(relevant.index(position[name]))
            else:
                order.append(len(relevant) + len(constants))
                constants.append(segment(base[name]))
        if len(order) == 1:
            small = [_digest(PREFIX)]
        else:
            parts = itertools.product(
                *(segments[i] for i in relevant), *([constant] for constant in constants)
            )
            small = list(map(_digest, map(b"".join, map(operator.itemgetter(*order), parts))))
        if len(relevant) == len(shape):
            columns[resource_name] = small
        else:
            columns[resource_name] = _spread(small, shape, relevant, total)
    return columns


def _spread(small: list[str], shape: list[int], relevant: list[int], total: int) -> list[str]:
    """Values over the ``relevant`` axes (in C order) repeated over the whole grid."""
    if len(small) == 1:
        return small * total
    import numpy as np

    partial = np.empty(len(small), dtype=object)
    partial[:] = small
    partial = partial.reshape([size if i in relevant else 1 for i, size in enumerate(shape)])
    return np.broadcast_to(partial, shape).ravel().tolist()


def init_instance(instance: object, context: Context, values: dict[str, object]) -> None:
    """Fill an instance created by ``cls(...)`` (the parser itself) like :func:`make_instance`."""
    d = instance.__dict__
    d.update(values)
    d[_CONTEXT] = context
    d[_HASHES] = {}


def context_of(instance: object) -> Context:
    """The context an instance shares with its parser."""
    try:
        return instance.__dict__[_CONTEXT]
    except (AttributeError, KeyError):
        raise TypeError(
            f"expected an instance built by a phyper Parser, got {type(instance).__name__}"
        ) from None


def is_instance(value: object) -> bool:
    """True for an instance (or parser) built by a phyper Parser subclass."""
    return _CONTEXT in getattr(value, "__dict__", ())


def values_of(instance: object, names: Iterable[str]) -> dict[str, object]:
    """The values of ``names`` of one instance, in that order."""
    d = instance.__dict__
    return {name: d[name] for name in names}


def instance_hash(instance: object, resource_name: str | None = None) -> str:
    """The hash of an instance, or of one of its resources (32 hex characters); cached."""
    d = instance.__dict__
    hashes = d[_HASHES]
    found = hashes.get(resource_name)
    if found is None:
        plan = d[_CONTEXT].plan(resource_name)
        found = _digest(PREFIX + b"".join([segment(d[name]) for name, segment in plan]))
        hashes[resource_name] = found
    return found


def distinct(instances: Iterable[T], resource_name: str | None = None) -> dict[str, T]:
    """The first instance of each distinct (resource) hash, keyed by that hash, in order."""
    chosen: dict[str, T] = {}
    for instance in instances:
        chosen.setdefault(instance_hash(instance, resource_name), instance)
    return chosen
