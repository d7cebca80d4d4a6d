"""Building collections of instances: a grid, rows, a DataFrame, a YAML sweep file."""

from __future__ import annotations

import os
import typing
import warnings
from collections.abc import Iterable, Mapping

import yaml

from ._context import context_of, distinct, instance_hash, make_grid_instances, make_instance
from ._errors import (
    DuplicateInstanceWarning,
    HyperparameterValueError,
    PhyperError,
    SweepFileError,
)
from ._lookup import InstanceList

if typing.TYPE_CHECKING:
    import pandas as pd

    from ._parser import Parser

    P = typing.TypeVar("P", bound=Parser)


def _value_list(name: str, raw: object) -> list[object]:
    """The values of one grid axis: a list, range, numpy array or pandas Series."""
    if isinstance(raw, (list, range)):
        values = list(raw)
    elif type(raw).__module__.startswith(("numpy", "pandas")) and hasattr(raw, "tolist"):
        values = list(raw.tolist())
    else:
        raise HyperparameterValueError(
            f"the grid value of {name!r} must be a list of values, got "
            f"{type(raw).__name__} {raw!r}; wrap a single value in a list: [{raw!r}]"
        )
    if not values:
        raise HyperparameterValueError(
            f"the grid value of {name!r} is an empty list, so the grid has no instances; "
            "expected at least one value"
        )
    return values


def _product(parser: P, base: dict[str, object], grid: Mapping[str, object], where: str) -> list[P]:
    context = context_of(parser)
    schema = context.schema
    if not isinstance(grid, Mapping):
        raise HyperparameterValueError(
            f"{where} must be a mapping from hyperparameter names to lists of values, "
            f"got {type(grid).__name__}"
        )
    schema.check_names(grid, where=where)
    names = list(grid)
    # coerce each distinct value once per axis, not once per instance
    axes = [[schema.specs[n].coerce(v) for v in _value_list(n, grid[n])] for n in names]
    return make_grid_instances(type(parser), context, base, names, axes)


def from_grid(parser: P, grid: Mapping[str, object], *, deduplicate: bool) -> InstanceList[P]:
    return _finish(_product(parser, parser.to_dict(), grid, "the grid"), deduplicate)


def _rows(parser: P, rows: Iterable[Mapping[str, object]], label: str) -> list[P]:
    context = context_of(parser)
    base = parser.to_dict()
    instances = []
    for position, row in enumerate(rows):
        where = f"{label} {position}"
        if not isinstance(row, Mapping):
            raise HyperparameterValueError(
                f"{where} must be a mapping of hyperparameter values, got {type(row).__name__}"
            )
        try:
            values = context.schema.values(row, where=where, base=base)
        except PhyperError as error:
            if where in str(error):
                raise
            raise type(error)(f"{where}: {error}") from None
        instances.append(make_instance(type(parser), context, values))
    return instances


def from_rows(
    parser: P, rows: Iterable[Mapping[str, object]], *, deduplicate: bool
) -> InstanceList[P]:
    return _finish(_rows(parser, rows, "row"), deduplicate)


def from_df(parser: P, df: pd.DataFrame, *, deduplicate: bool) -> InstanceList[P]:
    records = typing.cast("list[dict[str, object]]", df.to_dict(orient="records"))
    return _finish(_rows(parser, records, "data frame row"), deduplicate)


_SWEEP_KEYS = ("fixed", "grid", "instances", "stop", "search")


def read_sweep(path: str | os.PathLike[str]) -> dict[str, typing.Any]:
    """A sweep file's top-level mapping, checked for its shape (errors name the file)."""
    where = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as stream:
            document = yaml.safe_load(stream)
    except FileNotFoundError:
        raise SweepFileError(f"sweep file {where!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise SweepFileError(f"sweep file {where!r} is unreadable: {error}") from None
    except yaml.YAMLError as error:
        raise SweepFileError(f"sweep file {where!r} is not valid YAML: {error}") from None
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise SweepFileError(
            f"sweep file {where!r} must hold a mapping with keys {list(_SWEEP_KEYS)}, "
            f"got {type(document).__name__}"
        )
    unknown = [key for key in document if key not in _SWEEP_KEYS]
    if unknown:
        raise SweepFileError(
            f"sweep file {where!r} has unknown top-level key {unknown[0]!r}; "
            f"expected only {list(_SWEEP_KEYS)}"
        )
    return document


def from_yaml(parser: P, path: str | os.PathLike[str], *, deduplicate: bool) -> InstanceList[P]:
    """Read a sweep file::

    fixed:            # values shared by every instance (optional)
      n_epochs: 100
    grid:             # a Cartesian product (optional)
      transformation: [identity, log]
      seed: [0, 1]
    instances:        # explicit extra instances (optional)
      - {transformation: square, seed: 7}

    ``stop:`` and ``search:`` sections, read by :mod:`phyper.tune`, may stand beside them.
    """
    where = os.fspath(path)
    document = read_sweep(path)
    fixed = document.get("fixed") or {}
    if not isinstance(fixed, dict):
        raise SweepFileError(f"'fixed' in sweep file {where!r} must be a mapping of values")
    schema = context_of(parser).schema
    base = schema.values(fixed, where=f"'fixed' of {where!r}", base=parser.to_dict())
    instances: list[P] = []
    if "grid" in document or "instances" not in document:
        instances += _product(parser, base, document.get("grid") or {}, f"'grid' of {where!r}")
    explicit = document.get("instances") or []
    if not isinstance(explicit, list):
        raise SweepFileError(f"'instances' in sweep file {where!r} must be a list of mappings")
    instances += _rows(parser.replace(**base), explicit, f"instance of {where!r} at position")
    return _finish(instances, deduplicate)


def _finish(instances: list[P], deduplicate: bool) -> InstanceList[P]:
    """What every builder returns: the instances as an :class:`InstanceList`, after a warning
    about (or without) those that share a hash with an earlier one."""
    first = distinct(instances)
    if len(first) == len(instances):
        return InstanceList(instances)
    if deduplicate:
        return InstanceList(first.values())
    later = next(i for i in instances if first[instance_hash(i)] is not i)
    earlier = first[instance_hash(later)]
    a, b = earlier.to_dict(), later.to_dict()
    differing = [name for name in a if a[name] != b[name]]
    detail = (
        f"they differ only in non-key {', '.join(map(repr, differing))}"
        if differing
        else "they are identical"
    )
    repeated = len(instances) - len(first)
    warnings.warn(
        f"{repeated} of {len(instances)} instances share their hash with an earlier one "
        f"(e.g. {earlier!r} and {later!r}: {detail}), so they would write to the same folders; "
        "pass deduplicate=True or call Instance.deduplicate(instances) to keep one of each",
        DuplicateInstanceWarning,
        stacklevel=3,
    )
    return InstanceList(instances)
