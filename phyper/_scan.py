"""Reading a results root back: one record per hash folder, from the metadata files alone.

The layout is ``<root>/<resource or 'all'>/<hash>/``. Symbolic links are never followed:
a linked resource or hash folder is reported as such and left alone.
"""

from __future__ import annotations

import os
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field

from ._context import gc_paused
from ._errors import HashNotFoundError, MetadataError
from ._store import (
    HASH_PATTERN,
    INFO_FILE,
    MetadataMismatchError,
    display_value,
    is_hex,
    read_folder_info,
)

if typing.TYPE_CHECKING:
    import pandas as pd

OK = "ok"
NO_METADATA = "no metadata"
CORRUPT = "corrupt"
MISMATCH = "mismatch"
SYMLINK = "symlink"


@dataclass
class Folder:
    """One ``<root>/<resource>/<hash>`` folder and what its metadata says."""

    resource: str
    hash: str
    path: str
    status: str = OK
    problem: str = ""
    hyperparameters: dict[str, object] = field(default_factory=dict)
    class_name: str = ""


def _entries(folder: str) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as entries:
            return sorted(entries, key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return []


def iter_hash_entries(
    root: str | os.PathLike[str], resource: str | None
) -> Iterator[tuple[str, os.DirEntry[str], bool]]:
    """``(resource, entry, False)`` of every hash-named entry under ``root`` (optionally of one
    resource), in name order; a linked resource folder, not followed, as ``(name, entry, True)``."""
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise HashNotFoundError(f"results root {root!r} is not a folder")
    for resource_entry in _entries(root):
        if resource is not None and resource_entry.name != resource:
            continue
        if not resource_entry.name.isidentifier():
            continue
        if resource_entry.is_symlink():
            yield resource_entry.name, resource_entry, True
            continue
        if not resource_entry.is_dir(follow_symlinks=False):
            continue
        for entry in _entries(resource_entry.path):
            if HASH_PATTERN.match(entry.name):
                yield resource_entry.name, entry, False


def iter_folders(root: str | os.PathLike[str], resource: str | None = None) -> Iterator[Folder]:
    """Every hash folder under ``root`` (optionally of one resource), in name order."""
    for name, entry, linked_resource in iter_hash_entries(root, resource):
        if linked_resource:
            yield Folder(name, "", entry.path, SYMLINK, "linked folder")
        else:
            yield read_folder(name, entry)


def iter_verified(
    root: str | os.PathLike[str], resource: str
) -> Iterator[tuple[str, str, dict[str, object]]]:
    """``(hash, path, hyperparameters)`` of the folders of ``resource`` whose status
    :func:`iter_folders` would give as ``ok``, without the record of the others (collecting
    results reads nothing else, and this is its hot loop)."""
    for name, entry, linked_resource in iter_hash_entries(root, resource):
        if linked_resource or entry.is_symlink() or not entry.is_dir(follow_symlinks=False):
            continue
        try:
            document = read_folder_info(entry.path, name, entry.name)
        except (FileNotFoundError, MetadataError):  # a mismatch is a MetadataError too
            continue
        yield entry.name, entry.path, document["hyperparameters"]


MIN_PREFIX = 6  # characters of a hash a person may type instead of all 32


def hash_folders_by_prefix(
    root: str | os.PathLike[str], prefix: str, resource: str | None = None
) -> list[tuple[str, os.DirEntry[str]]]:
    """``(resource, entry)`` of the hash folders under ``root`` (of one resource, or of all)
    whose name starts with ``prefix``: how people name a folder on the command line.

    A prefix shorter than six characters, or not hexadecimal, is refused with an error saying
    what is expected; no match is an empty list, several are all returned.
    """
    prefix = str(prefix).lower()
    if len(prefix) < MIN_PREFIX or not is_hex(prefix):
        raise HashNotFoundError(
            f"{prefix!r} is not a hash or a hash prefix: expected at least {MIN_PREFIX} "
            "hexadecimal characters"
        )
    resources = [resource] if resource is not None else [e.name for e in _entries(os.fspath(root))]
    return [
        (name, entry)
        for name in resources
        for entry in _entries(os.path.join(os.fspath(root), name))
        if entry.name.startswith(prefix) and HASH_PATTERN.match(entry.name)
    ]


def read_folder(resource: str, entry: os.DirEntry[str]) -> Folder:
    folder = Folder(resource=resource, hash=entry.name, path=entry.path)
    if entry.is_symlink():
        folder.status, folder.problem = SYMLINK, "linked folder, not followed"
        return folder
    if not entry.is_dir(follow_symlinks=False):
        folder.status, folder.problem = CORRUPT, "not a folder"
        return folder
    try:
        document = read_folder_info(entry.path, resource, entry.name)
    except FileNotFoundError:
        folder.status, folder.problem = NO_METADATA, f"no {INFO_FILE}"
        return folder
    except MetadataMismatchError as error:
        folder.status, folder.problem = MISMATCH, _short(error, entry.path)
        document = error.document
    except MetadataError as error:
        folder.status, folder.problem = CORRUPT, _short(error, entry.path)
        return folder
    folder.hyperparameters = document["hyperparameters"]
    folder.class_name = str(document.get("class", ""))
    return folder


def _short(error: MetadataError, folder: str) -> str:
    # the table has the path already: keep what is wrong
    return str(error).replace(
        f"metadata file {os.path.join(folder, INFO_FILE)!r} ", f"{INFO_FILE} "
    )


def scan(root: str | os.PathLike[str], resource: str | None = None) -> pd.DataFrame:
    """A table of the hash folders under ``root``: resource, hash, status, path, and the hashed
    hyperparameters as columns, read from the metadata files alone.

    >>> import phyper, tempfile
    >>> class M(phyper.Parser):
    ...     depth = 3
    >>> root = tempfile.mkdtemp()
    >>> report = M.generate_instance_info_files([M(hashed_resources_folder=root)])
    >>> phyper.scan(root)[["resource", "status", "depth"]].values.tolist()
    [['all', 'ok', 3]]
    """
    import pandas as pd

    rows = []
    with gc_paused():
        folders = list(iter_folders(root, resource))
    for folder in folders:
        row: dict[str, object] = {
            "resource": folder.resource,
            "hash": folder.hash,
            "status": folder.status,
            "problem": folder.problem,
            "path": folder.path,
        }
        row.update({name: display_value(value) for name, value in folder.hyperparameters.items()})
        rows.append(row)
    columns = ["resource", "hash", "status", "problem", "path"]
    columns = list(dict.fromkeys(columns + [k for row in rows for k in row]))
    # object columns: an int stays an int where other resources leave the cell empty
    return pd.DataFrame(rows, columns=columns, dtype=object)
