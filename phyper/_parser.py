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

import xxhash

from . import _build, _frame, _lookup, _store
from ._errors import (
    DeclarationError,
    FrozenInstanceError,
    ResourceError,
    UnknownResourceError,
    closest_hint,
)
from ._hashing import PREFIX
from ._schema import Schema, build_schema

if typing.TYPE_CHECKING:
    import pandas as pd

ALL = "all"  # the folder of full instances; reserved as a resource name
_digest = xxhash.xxh3_128_hexdigest

P = typing.TypeVar("P", bound="Parser")
SegmentPlan = tuple[tuple[str, Callable[[object], bytes]], ...]


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

    def dependencies(self, resource_name: str) -> tuple[str, ...]:
        if resource_name in (None, ALL):
            return self.schema.key_names
        try:
            return self.resources[resource_name]
        except KeyError:
            raise self.unknown_resource(resource_name) from None


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
        _fill(self, context, schema.values(values, where="the constructor"))

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
        return self._values_tuple() == other._values_tuple()  # type: ignore[attr-defined]

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
        return _make(type(self), self.__dict__["_phyper_ctx"], values)

    @classmethod
    def get_hyperparameter_names(cls, kind: str = "all") -> list[str]:
        """Names of the hyperparameters: ``kind`` is 'all', 'key' or 'non_key'."""
        schema = cls._phyper_schema
        choices = {"all": schema.names, "key": schema.key_names, "non_key": schema.non_key_names}
        if kind not in choices:
            raise ValueError(f"kind {kind!r} is not one of {list(choices)}")
        return list(choices[kind])

    # ------------------------------------------------------------------------ hashes and paths

    def get_instance_hash(self, resource_name: str | None = None) -> str:
        """The hash of this instance, or of one of its resources (32 hex characters)."""
        d = self.__dict__
        hashes = d["_phyper_hashes"]
        found = hashes.get(resource_name)
        if found is None:
            plan = d["_phyper_ctx"].plan(resource_name)
            found = _digest(PREFIX + b"".join([segment(d[name]) for name, segment in plan]))
            hashes[resource_name] = found
        return found

    def get_resources_path(self, resource_name: str | None = None) -> str:
        """``<folder>/<resource or 'all'>/<hash>``; the folder is not created."""
        context: Context = self.__dict__["_phyper_ctx"]
        return os.path.join(
            context.folder, resource_name or ALL, self.get_instance_hash(resource_name)
        )

    @property
    def hashed_resources_folder(self) -> str:
        """The root folder of every hash folder of this parser."""
        return self.__dict__["_phyper_ctx"].folder

    # -------------------------------------------------------------------------------- resources

    def register_new_resource(self, name: str, dependencies: Sequence[str]) -> None:
        """Declare an intermediate result that depends only on ``dependencies`` (key names)."""
        self.__dict__["_phyper_ctx"].register(name, dependencies)

    def get_dependencies_for_resources(self, *resource_names: str) -> list[str]:
        """The union of the dependencies of the given resources, as a new list."""
        context: Context = self.__dict__["_phyper_ctx"]
        union: dict[str, None] = {}
        for name in resource_names:
            union.update(dict.fromkeys(context.dependencies(name)))
        return list(union)

    def get_resource_names(self) -> list[str]:
        """The registered resources, in registration order."""
        return list(self.__dict__["_phyper_ctx"].resources)

    # ---------------------------------------------------------------------- building instances

    def get_instances_from_dictionary(
        self: P, grid: Mapping[str, object], *, deduplicate: bool = False
    ) -> list[P]:
        """The Cartesian product of the value lists in ``grid``; others keep their defaults."""
        return _build.from_grid(self, grid, deduplicate=deduplicate)

    def get_instances_from_dicts(
        self: P, rows: Iterable[Mapping[str, object]], *, deduplicate: bool = False
    ) -> list[P]:
        """One instance per mapping of values."""
        return _build.from_rows(self, rows, deduplicate=deduplicate)

    def get_instances_from_df(self: P, df: pd.DataFrame, *, deduplicate: bool = False) -> list[P]:
        """One instance per row of a DataFrame whose columns are hyperparameter names."""
        return _build.from_df(self, df, deduplicate=deduplicate)

    def get_instances_from_yaml(
        self: P, path: str | os.PathLike[str], *, deduplicate: bool = False
    ) -> list[P]:
        """Instances from a YAML sweep file with ``fixed:`` values and a ``grid:``."""
        return _build.from_yaml(self, path, deduplicate=deduplicate)

    @staticmethod
    def deduplicate(instances: Sequence[P]) -> list[P]:
        """The first instance of each full hash, in order."""
        return _build.deduplicate(instances)

    # ----------------------------------------------------------------- collections of instances

    @staticmethod
    def get_instances_hashes(
        instances: Iterable[Parser], resource_name: str | None = None
    ) -> list[str]:
        """The distinct hashes (of instances or of a resource), in first-seen order."""
        return list(dict.fromkeys(i.get_instance_hash(resource_name) for i in instances))

    @staticmethod
    def get_resources(instances: Iterable[P], resource_name: str | None = None) -> list[P]:
        """One instance per distinct hash of ``resource_name``, in first-seen order."""
        chosen: dict[str, P] = {}
        for instance in instances:
            chosen.setdefault(instance.get_instance_hash(resource_name), instance)
        return list(chosen.values())

    @staticmethod
    def get_instance_from_hash(
        instance_hash: str, instances: Sequence[P], resource_name: str | None = None
    ) -> P:
        """The first instance with this hash: O(1) after one index build per collection."""
        return _lookup.find(instance_hash, instances, resource_name)

    @staticmethod
    def get_projections(
        instances: Sequence[Parser], hyperparameter_names: Sequence[str]
    ) -> pd.DataFrame:
        """Distinct combinations of some hyperparameters, indexed by their hash.

        The index is the hash a resource depending on exactly those (key) hyperparameters has.
        """
        return _frame.projections(instances, hyperparameter_names)

    @staticmethod
    def get_filtered_instances(instances: Sequence[P], values: Mapping[str, object]) -> list[P]:
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
        from .snakemake import wildcard_path

        return wildcard_path(path_function, instance, resource_name)


def _fill(instance: Parser, context: Context, values: dict[str, object]) -> None:
    d = instance.__dict__
    d.update(values)
    d["_phyper_ctx"] = context
    d["_phyper_hashes"] = {}


def _make(cls: type[P], context: Context, values: dict[str, object]) -> P:
    instance = object.__new__(cls)
    _fill(instance, context, values)
    return instance


def context_of(instance: Parser) -> Context:
    return instance.__dict__["_phyper_ctx"]


RESERVED_NAMES = frozenset(
    {name for name in dir(Parser) if not name.startswith("__")} | {"hashed_resources_folder"}
)
