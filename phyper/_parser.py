"""The Parser: declaration base class, parser object (folder + resources) and frozen instances.

One class plays three roles, as in the original phyper: a user subclasses ``Parser`` to declare
hyperparameters; ``Instance(hashed_resources_folder=...)`` is the parser, which registers
resources and builds instances; and every instance is an object of the same class, so an IDE
completes ``instance.learning_rate``. Instances are immutable and cache their hashes.
"""

from __future__ import annotations

import os
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence

from . import _build, _frame, _lookup, _store, snakemake
from ._context import (
    Context,
    context_of,
    distinct,
    folder_name,
    init_instance,
    instance_hash,
    make_instance,
)
from ._errors import DeclarationError, FrozenInstanceError
from ._lookup import InstanceList
from ._schema import Schema, build_schema

if typing.TYPE_CHECKING:
    import pandas as pd

P = typing.TypeVar("P", bound="Parser")
NameKind = typing.Literal["all", "key", "non_key"]


class Parser:
    """Base class of a hyperparameter declaration; also the parser and the instances.

    >>> import phyper
    >>> class NonKeys:
    ...     n_epochs = 100
    >>> class Instance(phyper.Parser, NonKeys):
    ...     seed = 0
    ...     transformation = 'identity'
    >>> parser = Instance(hashed_resources_folder='derived_data')
    >>> parser.register_new_resource('transformed_data', dependencies=['transformation'])
    >>> instances = parser.get_instances_from_dictionary({'seed': [0, 1]})
    >>> len(instances), instances[1].seed, instances[1].n_epochs
    (2, 1, 100)
    >>> a, b = (i.get_instance_hash('transformed_data') for i in instances)
    >>> a == b   # the resource ignores the seed
    True
    """

    _phyper_schema: typing.ClassVar[Schema]

    def __init_subclass__(cls, **kwargs: typing.Any) -> None:
        super().__init_subclass__(**kwargs)
        schema = build_schema(cls, Parser, RESERVED_NAMES)
        cls._phyper_schema = schema
        for name, default in schema.defaults.items():
            # the class attribute shows the coerced default (not a Hyperparameter declaration)
            type.__setattr__(cls, name, default)

    def __init__(
        self, hashed_resources_folder: str | os.PathLike[str] = "derived_data", **values: object
    ):
        schema = getattr(type(self), "_phyper_schema", None)
        if schema is None:
            raise DeclarationError(
                "Parser is a base class: subclass it and declare hyperparameters as class "
                "attributes, then instantiate the subclass"
            )
        context = Context(schema, os.fspath(hashed_resources_folder))
        init_instance(self, context, schema.values(values, where="the constructor"))

    # ----------------------------------------------------------------- immutability and values

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(
            f"cannot set {name!r}: {type(self).__name__} instances are immutable (their hashes "
            f"are cached); derive a changed copy with instance.replace({name}=...)"
        )

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(
            f"cannot delete {name!r}: {type(self).__name__} instances are immutable"
        )

    def _values_tuple(self) -> tuple[object, ...]:
        d = self.__dict__
        return tuple(d[n] for n in self._phyper_schema.names)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values_tuple() == other._values_tuple()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._values_tuple()))

    def __repr__(self) -> str:
        schema = self._phyper_schema
        d = self.__dict__
        keys = ", ".join(f"{n}={d[n]!r}" for n in schema.key_names)
        non_keys = ", ".join(f"{n}={d[n]!r}" for n in schema.non_key_names)
        return f"{type(self).__name__}({keys}{'; non-key: ' if non_keys else ''}{non_keys})"

    def to_dict(self, key_only: bool = False) -> dict[str, object]:
        """The hyperparameter values, key first in declaration order."""
        schema = self._phyper_schema
        names = schema.key_names if key_only else schema.names
        d = self.__dict__
        return {n: d[n] for n in names}

    def replace(self: P, **changes: object) -> P:
        """A copy with some values changed (instances themselves never change).

        >>> import phyper
        >>> class M(phyper.Parser):
        ...     depth = 3
        >>> M(depth=2).replace(depth=4).depth
        4
        """
        schema = self._phyper_schema
        values = self.to_dict()
        schema.check_names(changes, where="replace()")
        for name, value in changes.items():
            values[name] = schema.specs[name].coerce(value)
        return make_instance(type(self), context_of(self), values)

    @classmethod
    def get_hyperparameter_names(cls, kind: NameKind = "all") -> list[str]:
        """Names of the hyperparameters: ``kind`` is 'all', 'key' or 'non_key'."""
        schema = cls._phyper_schema
        choices = {"all": schema.names, "key": schema.key_names, "non_key": schema.non_key_names}
        if kind not in choices:
            raise ValueError(f"kind {kind!r} is not one of {list(choices)}")
        return list(choices[kind])

    # ------------------------------------------------- the original phyper's spelling, kept

    def new_instance(self: P, **values: object) -> P:
        """An instance with the parser's values, some changed: the same as :meth:`replace`,
        under the original phyper's name."""
        return self.replace(**values)

    def get_hyperparameters(self) -> dict[str, object]:
        """Every hyperparameter value (key and non-key): :meth:`to_dict` under the original
        phyper's name."""
        return self.to_dict()

    def get_hashable_hyperparameters(self) -> dict[str, object]:
        """The key hyperparameter values, those that enter the hash: ``to_dict(key_only=True)``
        under the original phyper's name."""
        return self.to_dict(key_only=True)

    # ------------------------------------------------------------------------ hashes and paths

    # The hash of this instance, or of one of its resources (32 hex characters), cached. The
    # function itself, not a wrapper: it is the hottest call of a grid build.
    get_instance_hash = instance_hash

    def get_resources_path(self, resource_name: str | None = None) -> str:
        """``<folder>/<resource or 'all'>/<hash>``; the folder is not created."""
        return os.path.join(
            context_of(self).folder, folder_name(resource_name), instance_hash(self, resource_name)
        )

    @property
    def hashed_resources_folder(self) -> str:
        """The root folder of every hash folder of this parser."""
        return context_of(self).folder

    # -------------------------------------------------------------------------------- resources

    def register_new_resource(self, name: str, dependencies: Sequence[str]) -> None:
        """Declare an intermediate result that depends only on ``dependencies`` (key names)."""
        context_of(self).register(name, dependencies)

    def get_dependencies_for_resources(self, *resource_names: str) -> list[str]:
        """The union of the dependencies of the given resources, as a new list."""
        context = context_of(self)
        union: dict[str, None] = {}
        for name in resource_names:
            union.update(dict.fromkeys(context.dependencies(name)))
        return list(union)

    def get_resource_names(self) -> list[str]:
        """The registered resources, in registration order."""
        return list(context_of(self).resources)

    # ---------------------------------------------------------------------- building instances

    def get_instances_from_dictionary(
        self: P, grid: Mapping[str, object], *, deduplicate: bool = False
    ) -> InstanceList[P]:
        """The Cartesian product of the value lists in ``grid``; others keep their defaults."""
        return _build.from_grid(self, grid, deduplicate=deduplicate)

    def get_instances_from_dicts(
        self: P, rows: Iterable[Mapping[str, object]], *, deduplicate: bool = False
    ) -> InstanceList[P]:
        """One instance per mapping of values."""
        return _build.from_rows(self, rows, deduplicate=deduplicate)

    def get_instances_from_df(
        self: P, df: pd.DataFrame, *, deduplicate: bool = False
    ) -> InstanceList[P]:
        """One instance per row of a DataFrame whose columns are hyperparameter names."""
        return _build.from_df(self, df, deduplicate=deduplicate)

    def get_instances_from_yaml(
        self: P, path: str | os.PathLike[str], *, deduplicate: bool = False
    ) -> InstanceList[P]:
        """Instances from a YAML sweep file with ``fixed:`` values and a ``grid:``."""
        return _build.from_yaml(self, path, deduplicate=deduplicate)

    @staticmethod
    def deduplicate(instances: Iterable[P]) -> InstanceList[P]:
        """The first instance of each full hash, in order."""
        return InstanceList(distinct(instances).values())

    # ----------------------------------------------------------------- collections of instances

    @staticmethod
    def get_instances_hashes(
        instances: Iterable[Parser], resource_name: str | None = None
    ) -> list[str]:
        """The distinct hashes (of instances or of a resource), in first-seen order."""
        return list(distinct(instances, resource_name))

    @staticmethod
    def get_resources(instances: Iterable[P], resource_name: str | None = None) -> InstanceList[P]:
        """One instance per distinct hash of ``resource_name``, in first-seen order."""
        return InstanceList(distinct(instances, resource_name).values())

    # The first instance with this hash: O(1) after one index build per collection. The
    # function itself, not a wrapper: Snakemake input functions call it once per job.
    get_instance_from_hash = staticmethod(_lookup.find)

    @staticmethod
    def get_projections(
        instances: Sequence[Parser], hyperparameter_names: Sequence[str]
    ) -> pd.DataFrame:
        """Distinct combinations of some hyperparameters, indexed by their hash.

        The index is the hash a resource depending on exactly those (key) hyperparameters has.
        """
        return _frame.projections(instances, hyperparameter_names)

    @staticmethod
    def get_filtered_instances(
        instances: Sequence[P], values: Mapping[str, object]
    ) -> InstanceList[P]:
        """Instances whose values match; a list or set of values accepts any of them."""
        return _frame.filtered(instances, values)

    @staticmethod
    def get_df_of_instances(
        instances: Sequence[Parser], resource_name: str | None = None
    ) -> pd.DataFrame:
        """One row per instance (or per distinct resource), indexed by hash."""
        return _frame.instances_frame(instances, resource_name)

    @staticmethod
    def describe_instance_from_hash(
        instance_hash: str, instances: Sequence[Parser], resource_name: str | None = None
    ) -> pd.Series:
        """The hashed hyperparameters behind a hash, as a Series named by the hash."""
        return _frame.describe(instance_hash, instances, resource_name)

    # ----------------------------------------------------------------------------- on the disk

    @staticmethod
    def generate_instance_info_files(
        instances: Iterable[Parser], resource_names: Iterable[str | None] | None = None
    ) -> _store.WriteReport:
        """Write the self-describing metadata file into every instance and resource folder
        (or only those of ``resource_names``; ``None`` in it is the full instance)."""
        return _store.write_info_files(instances, resource_names)

    def load_instance_from_disk_by_hash(
        self: P, instance_hash: str, resource_name: str | None = None
    ) -> P:
        """Rebuild an instance from the metadata file in its folder (non-keys get defaults)."""
        return _store.load_instance(self, instance_hash, resource_name)

    @staticmethod
    def snakemake_helper_get_wildcarded_path(
        path_function: Callable[[typing.Any], str | os.PathLike[str]],
        instance: Parser,
        resource_name: str | None = None,
    ) -> str:
        """``path_function(instance)`` with the hash replaced by a Snakemake wildcard."""
        return snakemake.wildcard_path(path_function, instance, resource_name)


RESERVED_NAMES = frozenset(
    {name for name in dir(Parser) if not name.startswith("__")} | {"hashed_resources_folder"}
)
