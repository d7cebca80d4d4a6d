"""Which results a collection of instances still lacks on disk: the library side of
``phyper status``."""

from __future__ import annotations

import os
import typing
from collections.abc import Iterable, Mapping, Sequence

from ._context import ALL, context_of, distinct, folder_name, instance_hash
from ._store import INFO_FILE

if typing.TYPE_CHECKING:
    import pandas as pd

    from ._parser import Parser

COLUMNS = ["resource", "hash", "complete", "missing", "path"]


def _has_results(folder: str) -> bool:
    """True when ``folder`` holds anything besides its metadata and hidden temporaries."""
    try:
        return any(name != INFO_FILE and not name.startswith(".") for name in os.listdir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return False


def _normalise_files(
    files: Mapping[str | None, str | Sequence[str]] | None,
) -> dict[str, list[str]]:
    required: dict[str, list[str]] = {}
    for resource, relative in (files or {}).items():
        paths = [relative] if isinstance(relative, str) else list(relative)
        required.setdefault(folder_name(resource), []).extend(paths)
    return required


def status(
    instances: Sequence[Parser],
    files: Mapping[str | None, str | Sequence[str]] | None = None,
    *,
    resources: Iterable[str | None] | None = None,
) -> pd.DataFrame:
    """One row per folder the instances produce: is it complete, and which files it lacks.

    ``files`` maps a resource (``"all"`` or ``None`` for instance folders) to the file(s) that
    must exist in each of its folders. Without ``files`` a folder counts as complete when it
    holds anything besides its metadata file. ``resources`` picks which resources to check;
    by default those named in ``files``, else every resource whose root folder exists (a
    resource that only names a hash, and never stores anything, has no folder).

    >>> import phyper, tempfile
    >>> class M(phyper.Parser):
    ...     depth = 3
    >>> parser = M(hashed_resources_folder=tempfile.mkdtemp())
    >>> instances = parser.get_instances_from_dictionary({"depth": [1, 2]})
    >>> table = phyper.status(instances, {"all": "model.npz"})
    >>> table.complete.tolist(), table.missing.tolist()
    ([False, False], ['model.npz', 'model.npz'])
    """
    import pandas as pd

    if not len(instances):
        return pd.DataFrame(columns=COLUMNS)
    context = context_of(instances[0])
    required = _normalise_files(files)
    if resources is not None:
        chosen = [folder_name(r) for r in resources]
    elif required:
        chosen = list(required)
    else:
        chosen = [
            name
            for name in (ALL, *context.resources)
            if os.path.isdir(os.path.join(context.folder, name))
        ]
    for name in chosen:
        if name != ALL and name not in context.resources:
            raise context.unknown_resource(name)
    rows = []
    for name in chosen:
        resource_name = None if name == ALL else name
        needed = required.get(name)
        for instance in distinct(instances, resource_name).values():
            folder = instance.get_resources_path(resource_name)
            if needed is None:
                complete = _has_results(folder)
                lacking = "" if complete else "(no results)"
            else:
                absent = [f for f in needed if not os.path.exists(os.path.join(folder, f))]
                complete, lacking = not absent, ", ".join(absent)
            hash_ = instance_hash(instance, resource_name)
            rows.append([name, hash_, complete, lacking, folder])
    return pd.DataFrame(rows, columns=COLUMNS)
