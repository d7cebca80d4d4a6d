"""pandas views of collections of instances: projections, filters, tables."""

from __future__ import annotations

import typing
from collections.abc import Mapping, Sequence

from . import _hashing
from ._errors import HyperparameterValueError
from ._lookup import find

if typing.TYPE_CHECKING:
    import pandas as pd

    from ._parser import Context, Parser

    P = typing.TypeVar("P", bound=Parser)


def _context(instances: Sequence[Parser]) -> Context | None:
    from ._parser import context_of

    return context_of(instances[0]) if len(instances) else None


def _frame(rows: list[dict[str, object]], columns: list[str], index: list[str], index_name: str):
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


def filtered(instances: Sequence[P], values: Mapping[str, object]) -> list[P]:
    context = _context(instances)
    if context is None:
        return []
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
    return [
        instance
        for instance in instances
        if all(
            (encode(instance.__dict__[n]) if exact else instance.__dict__[n]) in keys
            for n, keys, exact in tests
        )
    ]


def instances_frame(instances: Sequence[Parser], resource_name: str | None) -> pd.DataFrame:
    context = _context(instances)
    if resource_name in (None, "all"):
        names = list(context.schema.names) if context else []
        chosen: Sequence[Parser] = instances
        index_name = "hash"
    else:
        names = list(context.dependencies(resource_name)) if context else []
        from ._parser import Parser

        chosen = Parser.get_resources(instances, resource_name)
        index_name = f"{resource_name}_hash"
    rows = [{n: i.__dict__[n] for n in names} for i in chosen]
    hashes = [i.get_instance_hash(resource_name) for i in chosen]
    return _frame(rows, names, hashes, index_name)


def describe(
    instance_hash: str, instances: Sequence[Parser], resource_name: str | None
) -> pd.Series:
    import pandas as pd

    instance = find(instance_hash, instances, resource_name)
    if resource_name in (None, "all"):
        values = instance.to_dict()
    else:
        deps = instance.__dict__["_phyper_ctx"].dependencies(resource_name)
        values = {n: instance.__dict__[n] for n in deps}
    return pd.Series(values, name=instance_hash, dtype=object)
