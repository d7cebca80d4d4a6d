"""Helpers that keep a Snakefile short and obviously right.

A job's wildcard is a hash: ``{hash}`` for a full instance, ``{<resource>_hash}`` for a
resource. Paths come from the user's path functions (one place for every path), lookups from
a hash back to an instance are O(1), and nothing here depends on process-local state, so the
same Snakefile runs on a laptop or through a cluster executor.

.. code-block:: python

    from phyper.snakemake import pattern, targets, upstream, wildcard_constraints
    from example.config import parser, instances
    from example import paths

    wildcard_constraints: **wildcard_constraints(parser)

    rule preprocess_data:
        input: upstream(paths.transformed_data, instances, "preprocessed_data")
        output: pattern(paths.preprocessed_data, instances, "preprocessed_data")
        shell: "python -m example preprocess-data --hash {wildcards.preprocessed_data_hash}"

    rule preprocess_all:
        input: targets(paths.preprocessed_data, instances, "preprocessed_data")
"""

from __future__ import annotations

import inspect
import os
import typing
from collections.abc import Callable, Sequence

from ._context import distinct, instance_hash, is_instance, label, wildcard_name
from ._errors import HashNotFoundError
from ._lookup import find

if typing.TYPE_CHECKING:
    from ._parser import Parser

    P = typing.TypeVar("P", bound=Parser)

PathFunction = Callable[[typing.Any], "str | os.PathLike[str]"]

HASH_REGEX = "[0-9a-f]{32}"

__all__ = [
    "HASH_REGEX",
    "Space",
    "instance_for",
    "pattern",
    "targets",
    "upstream",
    "wildcard_constraints",
    "wildcard_name",
    "wildcard_path",
]


def wildcard_path(
    path_function: PathFunction, instance: Parser, resource_name: str | None = None
) -> str:
    """``path_function(instance)`` with the instance's hash replaced by its wildcard."""
    path = os.fspath(path_function(instance))
    own_hash = instance_hash(instance, resource_name)
    count = path.count(own_hash)
    if count != 1:
        raise ValueError(
            f"path {path!r} returned by {getattr(path_function, '__name__', path_function)!r} "
            f"contains the {label(resource_name)} hash {count} times; expected exactly "
            f"once (does it use get_resources_path({resource_name!r})?)"
        )
    return path.replace(own_hash, "{" + wildcard_name(resource_name) + "}")


def pattern(
    path_function: PathFunction,
    instances: Parser | Sequence[Parser],
    resource_name: str | None = None,
) -> str:
    """The wildcard pattern of a path function, for a rule's ``output:``.

    ``instances`` may be one instance or a collection (its first instance is used).
    """
    if is_instance(instances):
        first = typing.cast("Parser", instances)
    else:
        collection = typing.cast("Sequence[Parser]", instances)
        if not len(collection):
            raise ValueError(
                f"cannot derive the pattern of {getattr(path_function, '__name__', '?')!r} "
                "from an empty collection of instances; expected at least one"
            )
        first = collection[0]
    return wildcard_path(path_function, first, resource_name)


def targets(
    path_function: PathFunction, instances: Sequence[Parser], resource_name: str | None = None
) -> list[str]:
    """The concrete paths for a collection, one per distinct (resource) hash, in order."""
    return [
        os.fspath(path_function(instance))
        for instance in distinct(instances, resource_name).values()
    ]


def instance_for(
    wildcards: typing.Any, instances: Sequence[P], resource_name: str | None = None
) -> P:
    """The instance a job stands for, from its wildcards (O(1))."""
    name = wildcard_name(resource_name)
    try:
        instance_hash = wildcards[name]
    except (KeyError, IndexError, AttributeError, TypeError):
        raise HashNotFoundError(
            f"the job has no {{{name}}} wildcard; the rule's output must use "
            f"pattern(..., {resource_name!r}) so that its wildcard is {{{name}}}"
        ) from None
    try:
        return find(instance_hash, instances, resource_name)
    except HashNotFoundError as error:
        raise HashNotFoundError(
            f"{error}. The wildcard {{{name}}}={instance_hash} was requested by a target that "
            "the current configuration does not produce: look at the rule that asked for it, "
            "or at the configuration that builds these instances"
        ) from None


def upstream(
    path_function: PathFunction, instances: Sequence[Parser], job_resource: str | None = None
) -> Callable[[typing.Any], str]:
    """An input function: the job's wildcard -> the path of an upstream resource of the same
    instance.

    ``job_resource`` is the resource whose hash the consuming rule's wildcard holds (``None``
    for full instances); ``path_function`` gives the upstream path of an instance.
    """

    def input_function(wildcards: typing.Any) -> str:
        return os.fspath(path_function(instance_for(wildcards, instances, job_resource)))

    input_function.__name__ = f"upstream_{getattr(path_function, '__name__', 'path')}"
    # Snakemake calls inspect.signature on an input function twice per job (about 0.5 s of a
    # 10,000-job dry run); a precomputed signature makes each call an attribute read.
    input_function.__signature__ = inspect.signature(input_function)  # type: ignore[attr-defined]
    return input_function


def wildcard_constraints(parser: Parser) -> dict[str, str]:
    """A regular expression per hash wildcard, so that a hash wildcard matches only a hash.

    Use it as ``wildcard_constraints: **wildcard_constraints(parser)`` in a Snakefile.
    """
    names = [None, *parser.get_resource_names()]
    return {wildcard_name(name): HASH_REGEX for name in names}


class Space:
    """A collection of instances bound once, so rules name only the path and the resource
    (as ``snakemake.utils.Paramspace`` does for value wildcards).

    .. code-block:: python

        space = Space(instances)
        rule preprocess_data:
            input: space.upstream(paths.transformed_data, "preprocessed_data")
            output: space.pattern(paths.preprocessed_data, "preprocessed_data")
        rule all:
            input: space.targets(paths.preprocessed_data, "preprocessed_data")

    >>> import phyper
    >>> class M(phyper.Parser):
    ...     depth = 3
    >>> parser = M(hashed_resources_folder="d")
    >>> space = Space(parser.get_instances_from_dictionary({"depth": [1, 2]}))
    >>> space.pattern(lambda i: i.get_resources_path() + "/model.npz")
    'd/all/{hash}/model.npz'
    >>> len(space.targets(lambda i: i.get_resources_path() + "/model.npz"))
    2
    """

    def __init__(self, instances: Sequence[Parser]):
        if not len(instances):
            raise ValueError("a Space needs at least one instance; got an empty collection")
        self.instances = instances

    def pattern(self, path_function: PathFunction, resource_name: str | None = None) -> str:
        """The wildcard pattern of ``path_function``, for ``output:``."""
        return wildcard_path(path_function, self.instances[0], resource_name)

    def targets(self, path_function: PathFunction, resource_name: str | None = None) -> list[str]:
        """The concrete paths, one per distinct (resource) hash."""
        return targets(path_function, self.instances, resource_name)

    def upstream(
        self, path_function: PathFunction, job_resource: str | None = None
    ) -> Callable[[typing.Any], str]:
        """An input function: the job's wildcard -> the upstream path of its instance."""
        return upstream(path_function, self.instances, job_resource)

    def instance(self, wildcards: typing.Any, resource_name: str | None = None) -> Parser:
        """The instance a job stands for, for ``run:`` blocks."""
        return instance_for(wildcards, self.instances, resource_name)

    def wildcard_constraints(self) -> dict[str, str]:
        """A hash regex for every wildcard of the instances' parser."""
        return wildcard_constraints(self.instances[0])
