"""Helpers for Snakefiles (see issue 4 for the full set)."""

from __future__ import annotations

import os
import typing
from collections.abc import Callable

if typing.TYPE_CHECKING:
    from ._parser import Parser


def wildcard_name(resource_name: str | None) -> str:
    """``hash`` for full instances, ``<resource>_hash`` for a resource."""
    return "hash" if resource_name in (None, "all") else f"{resource_name}_hash"


def wildcard_path(
    path_function: Callable[[typing.Any], str | os.PathLike[str]],
    instance: Parser,
    resource_name: str | None = None,
) -> str:
    """``path_function(instance)`` with the instance's hash replaced by ``{hash}``."""
    path = os.fspath(path_function(instance))
    instance_hash = instance.get_instance_hash(resource_name)
    count = path.count(instance_hash)
    if count != 1:
        raise ValueError(
            f"path {path!r} returned by {getattr(path_function, '__name__', path_function)!r} "
            f"contains the {resource_name or 'instance'} hash {count} times; expected exactly "
            f"once (does it use get_resources_path({resource_name!r})?)"
        )
    return path.replace(instance_hash, "{" + wildcard_name(resource_name) + "}")
