"""pandas views of collections of instances: projections, filters, tables."""

from __future__ import annotations

import typing
from collections.abc import Mapping, Sequence

from . import _hashing
from ._context import (
    Context,
    context_of,
    distinct,
    instance_hash,
    is_full,
    values_of,
    wildcard_name,
)
from ._errors import HyperparameterValueError
from ._lookup import InstanceList, find

if typing.TYPE_CHECKING:
    import pandas as pd

    from ._parser import Parser

    P = typing.TypeVar("P", bound=Parser)


def _context(instances: Sequence[Parser]) -> Context | None:
    return context_of(instances[0]) if len(instances) else None


def _frame(
    rows: list[dict[str, object]], columns: list[str], index: list[str], index_name: str
) -> pd.DataFrame:
    import pandas as pd

    df = pd.DataFrame.from_records(rows, columns=columns)
    df.index = pd.Index(index, name=index_name, dtype=object)
    return df


def projections(instances: Sequence[Parser], names: Sequence[str]) -> pd.DataFrame:
    if isinstance(names, str):
        names = [names]
    names = list(names)
    context = _context(instances)
    if context is None:
        return _frame([], names, [], "hash")
    schema = context.schema
    schema.check_names(names, where="the projection")
    plan = context.plan_for(n for n in names if schema.specs[n].key)
    seen: dict[tuple[object, ...], str] = {}
    for instance in instances:
        d = instance.__dict__
        values = tuple(d[n] for n in names)
        if values not in seen:
            seen[values] = _hashing.digest_segments([segment(d[n]) for n, segment in plan])
    rows = [dict(zip(names, values, strict=True)) for values in seen]
    return _frame(rows, names, list(seen.values()), "hash")


def filtered(instances: Sequence[P], values: Mapping[str, object]) -> InstanceList[P]:
    context = _context(instances)
    if context is None:
        return InstanceList()
    schema = context.schema
    if not isinstance(values, Mapping):
        raise HyperparameterValueError(
            f"the filter must be a mapping from hyperparameter names to values, "
            f"got {type(values).__name__}"
        )
    schema.check_names(values, where="the filter")
    tests: list[tuple[str, set[object], bool]] = []
    for name, wanted in values.items():
        spec = schema.specs[name]
        options = wanted if isinstance(wanted, (list, set, frozenset)) else [wanted]
        exact = not spec.value_type.monomorphic  # 1 == True: compare encodings for mixed types
        keys = {_hashing.encode_value(v) if exact else v for v in (spec.coerce(o) for o in options)}
        tests.append((name, keys, exact))
    encode = _hashing.encode_value
    return InstanceList(
        instance
        for instance in instances
        if all(
            (encode(instance.__dict__[n]) if exact else instance.__dict__[n]) in keys
            for n, keys, exact in tests
        )
    )


def instances_frame(instances: Sequence[Parser], resource_name: str | None) -> pd.DataFrame:
    context = _context(instances)
    if context is None:
        names: list[str] = []
    elif is_full(resource_name):
        names = list(context.schema.names)
    else:
        names = list(context.dependencies(resource_name))
    # one row per instance; per distinct hash for a resource (many instances share one)
    chosen = (
        instances if is_full(resource_name) else list(distinct(instances, resource_name).values())
    )
    rows = [values_of(i, names) for i in chosen]
    hashes = [instance_hash(i, resource_name) for i in chosen]
    return _frame(rows, names, hashes, wildcard_name(resource_name))


def describe(
    instance_hash: str, instances: Sequence[Parser], resource_name: str | None
) -> pd.Series:
    import pandas as pd

    instance = find(instance_hash, instances, resource_name)
    if is_full(resource_name):
        values = instance.to_dict()
    else:
        values = values_of(instance, context_of(instance).dependencies(resource_name))
    return pd.Series(values, name=instance_hash, dtype=object)


def declarations(parser_class: type[Parser] | Parser) -> pd.DataFrame:
    """The hyperparameters a Parser subclass declares: one row each, key ones first, with
    kind, type, default, omit value, documentation and the class that declares it.

    >>> import phyper
    >>> class Model(phyper.Parser):
    ...     depth = phyper.hyperparameter(3, doc="hidden layers")
    ...     n_epochs = phyper.non_key(100)
    >>> phyper.describe(Model)[["kind", "type", "default", "doc"]].values.tolist()
    [['key', 'an int', 3, 'hidden layers'], ['non-key', 'an int', 100, None]]
    """
    import pandas as pd

    klass = parser_class if isinstance(parser_class, type) else type(parser_class)
    schema = getattr(klass, "_phyper_schema", None)
    if schema is None:
        raise TypeError(
            f"expected a phyper Parser subclass or one of its instances, got {klass.__name__}"
        )
    rows = [
        {
            "name": spec.name,
            "kind": "key" if spec.key else "non-key",
            "type": spec.value_type.describe(),
            "default": spec.default,
            "omit": spec.omit,
            "doc": spec.doc,
            "declared_in": spec.declared_in,
        }
        for spec in schema.specs.values()
    ]
    frame = pd.DataFrame(rows, columns=list(rows[0]) if rows else ["name"], dtype=object)
    return frame.set_index("name")
