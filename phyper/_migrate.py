"""A way in for users of the original phyper: its SHA-256 folders placed under phyper's hashes.

The original phyper named folders ``<root>/all/<sha256>/`` and ``<root>/<resource>/<sha256>/``
(64 hex characters), each with ``instance_info.json``: the hashed hyperparameter values as a flat
JSON object (for a resource, only its dependencies). This module reads those files, checks the
values against a Parser, computes phyper's hash and places each folder's contents under it,
with phyper's own metadata file beside them.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import tempfile
import typing
from dataclasses import asdict, dataclass

from ._context import ALL, distinct, is_instance
from ._errors import PhyperError, closest_hint
from ._store import INFO_FILE, render_info, write_atomic

if typing.TYPE_CHECKING:
    import pandas as pd

    from ._parser import Parser

OLD_INFO_FILE = "instance_info.json"
OLD_HASH_PATTERN = re.compile(r"^[0-9a-f]{64}$")
STAGING_PREFIX = ".phyper-migrate-"
MODES = ("copy", "move", "link")

PLANNED = "planned"
DONE = "done"
EXISTS = "exists"
UNFIT = "unfit"
NO_INFO = "no info"

Mode = typing.Literal["copy", "move", "link"]


class MigrationError(PhyperError, ValueError):
    """Bad arguments to :func:`migrate_from_original` (not a problem with one old folder)."""


class _Unfit(Exception):
    """One old folder's values do not fit the Parser; the message goes into its row."""


@dataclass
class _Row:
    resource: str
    old_hash: str
    old_path: str
    new_hash: str = ""
    new_path: str = ""
    status: str = PLANNED
    problem: str = ""


def migrate_from_original(
    old_root: str | os.PathLike[str],
    parser: Parser,
    instances: typing.Sequence[Parser] | None = None,
    *,
    to_root: str | os.PathLike[str] | None = None,
    mode: Mode = "copy",
    dry_run: bool = True,
) -> pd.DataFrame:
    """Place the folders of the original phyper under ``old_root`` at their phyper hashes.

    Every ``<old_root>/<resource or 'all'>/<64 hex>/`` folder becomes one row of the returned
    table: ``resource``, ``old_hash``, ``new_hash``, ``old_path``, ``new_path``, ``status`` and
    ``problem`` (plus ``in_config`` when ``instances`` is given: whether the configuration
    produces the new hash). ``status`` is

    - ``"planned"``: would be placed (``dry_run=True``, the default, changes nothing on disk);
    - ``"done"``: placed under ``<to_root or the parser's folder>/<resource>/<new hash>/``, with
      phyper's metadata file written there;
    - ``"exists"``: the new folder already has content, which is never overwritten (so a second
      run does nothing), or another old folder maps to the same new hash (said in ``problem``);
    - ``"unfit"``: the values do not fit the Parser (an unknown name, a wrong type, a resource
      the parser does not register), or the folder is a symbolic link; it is left in place;
    - ``"no info"``: ``instance_info.json`` is missing or not a JSON object; left in place.

    ``mode`` says how contents reach the new folder: ``"copy"`` (the old folder stays),
    ``"move"`` (a rename on one filesystem, else a copy and then the old folder is removed) or
    ``"link"`` (every file hard-linked, or copied across filesystems: both folders then share
    the files' contents, and phyper never follows a symbolic link). Each folder is assembled
    in a hidden ``.phyper-migrate-*`` sibling and renamed into place, so a killed run never
    leaves a half folder under a new hash; it may leave such a hidden folder, which is safe to
    delete (after a killed ``move``, the old folder's contents are in it). Symbolic links are
    never followed. ``instance_info.json`` is read as JSON, never evaluated or unpickled.

    >>> import hashlib, json, os, tempfile, phyper
    >>> class Model(phyper.Parser):
    ...     depth = 3
    >>> old = tempfile.mkdtemp()
    >>> folder = os.path.join(old, "all", hashlib.sha256(b"depth=2").hexdigest())
    >>> os.makedirs(folder)
    >>> with open(os.path.join(folder, "instance_info.json"), "w") as stream:
    ...     json.dump({"depth": 2}, stream)
    >>> parser = Model(hashed_resources_folder=tempfile.mkdtemp())
    >>> plan = phyper.migrate_from_original(old, parser)
    >>> plan[["resource", "status"]].values.tolist()
    [['all', 'planned']]
    >>> plan.new_hash[0] == Model(depth=2).get_instance_hash()
    True
    >>> phyper.migrate_from_original(old, parser, dry_run=False).status.tolist()
    ['done']
    >>> parser.load_instance_from_disk_by_hash(plan.new_hash[0]).depth
    2
    """
    import pandas as pd

    if not is_instance(parser):
        raise MigrationError(
            f"parser must be an instance of a phyper.Parser subclass, got {type(parser).__name__}"
        )
    if mode not in MODES:
        raise MigrationError(f"mode {mode!r} is not one of {list(MODES)}")
    old = os.fspath(old_root)
    if not os.path.isdir(old):
        raise MigrationError(f"original results root {old!r} is not a folder")
    destination = parser.hashed_resources_folder if to_root is None else os.fspath(to_root)

    rows: list[_Row] = []
    claimed: dict[str, str] = {}  # new path -> the old hash placed (or planned) there
    for resource, old_hash, old_path, problem in _old_folders(old):
        row = _Row(resource, old_hash, old_path)
        rows.append(row)
        if problem:
            row.status, row.problem = UNFIT, problem
            continue
        values, problem = _read_values(old_path)
        if values is None:
            row.status, row.problem = NO_INFO, problem
            continue
        try:
            instance = _fit(parser, resource, values)
        except (_Unfit, PhyperError, TypeError, ValueError) as error:
            row.status, row.problem = UNFIT, f"{OLD_INFO_FILE}: {error}"
            continue
        row.new_hash = instance.get_instance_hash(None if resource == ALL else resource)
        row.new_path = os.path.join(destination, resource, row.new_hash)
        first = claimed.setdefault(row.new_path, old_hash)
        if first != old_hash:
            # the original hashed something phyper does not (a non-key value, say): one wins
            row.status = EXISTS
            row.problem = (
                f"old folder {first} has the same values and goes to the same new folder; "
                "only that one is placed"
            )
        elif _has_content(row.new_path):
            row.status = EXISTS
        elif not dry_run:
            try:
                placed = _place(instance, resource, old_path, row.new_path, mode)
            except OSError as error:
                row.problem = f"could not place the folder: {error}"
                continue
            if placed:
                row.status = DONE
            else:
                row.status = EXISTS
                row.problem = "the new folder got content while this folder was copied; left alone"

    frame = pd.DataFrame(
        [asdict(row) for row in rows],
        columns=["resource", "old_hash", "new_hash", "old_path", "new_path", "status", "problem"],
        dtype=object,
    )
    if instances is not None:
        expected: dict[str, set[str]] = {}
        for resource in {row.resource for row in rows if row.new_hash}:
            expected[resource] = set(distinct(instances, None if resource == ALL else resource))
        frame["in_config"] = [
            bool(row.new_hash) and row.new_hash in expected.get(row.resource, ()) for row in rows
        ]
    return frame


def _old_folders(root: str) -> typing.Iterator[tuple[str, str, str, str]]:
    """``(resource, old hash, path, problem)`` for every 64-hex folder, in name order; a
    symbolic link or a file is reported with its problem, never followed."""
    for resource_entry in _sorted_entries(root):
        if not resource_entry.name.isidentifier():
            continue  # hidden folders (our own staging ones among them) and stray names
        if resource_entry.is_symlink():
            if any(OLD_HASH_PATTERN.match(e.name) for e in _sorted_entries(resource_entry.path)):
                yield resource_entry.name, "", resource_entry.path, "linked folder, not followed"
            continue
        if not resource_entry.is_dir(follow_symlinks=False):
            continue
        for entry in _sorted_entries(resource_entry.path):
            # phyper's own 32-hex folders may sit beside the old ones (a migration in place)
            if not OLD_HASH_PATTERN.match(entry.name):
                continue
            if entry.is_symlink():
                problem = "linked folder, not followed"
            elif not entry.is_dir(follow_symlinks=False):
                problem = "not a folder"
            else:
                problem = ""
            yield resource_entry.name, entry.name, entry.path, problem


def _sorted_entries(folder: str) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as entries:
            return sorted(entries, key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return []


def _read_values(folder: str) -> tuple[dict[str, object] | None, str]:
    """The old folder's values, or None and what is wrong with its ``instance_info.json``."""
    path = os.path.join(folder, OLD_INFO_FILE)
    if os.path.islink(path):
        return None, f"{OLD_INFO_FILE} is a symbolic link, not followed"
    try:
        with open(path, encoding="utf-8") as stream:
            document = json.load(stream)
    except FileNotFoundError:
        return None, f"no {OLD_INFO_FILE}"
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as error:
        return None, f"{OLD_INFO_FILE} is unreadable or not JSON: {error}"
    if not isinstance(document, dict):
        return None, (
            f"{OLD_INFO_FILE} holds a JSON {type(document).__name__}, expected an object "
            "of hyperparameter name -> value"
        )
    return document, ""


def _fit(parser: Parser, resource: str, values: dict[str, object]) -> Parser:
    """An instance with the old folder's values, coerced by the parser; raises if they do not
    fit (the error's message names the value and what was expected)."""
    cls = type(parser)
    names = cls.get_hyperparameter_names()
    unknown = [name for name in values if name not in names]
    if unknown:
        hint = closest_hint(unknown[0], names)
        raise _Unfit(
            f"{_names(unknown, 'is not a hyperparameter', 'are not hyperparameters')} of "
            f"{cls.__name__}{hint} (hyperparameters: {', '.join(names)})"
        )
    if resource != ALL:
        dependencies = parser.get_dependencies_for_resources(resource)  # unknown: raises
        extra = [name for name in values if name not in dependencies]
        if extra:
            # the old folder depends on values the new resource ignores: folders would merge
            raise _Unfit(
                f"{_names(extra, 'is not a dependency', 'are not dependencies')} of "
                f"resource {resource!r} (dependencies: "
                f"{', '.join(dependencies)}); register the resource with the original's "
                "dependencies"
            )
    # names the old file lacks keep the parser's values (for a resource they are not hashed)
    return parser.replace(**values)


def _names(names: list[str], singular: str, plural: str) -> str:
    return f"{', '.join(map(repr, names))} {singular if len(names) == 1 else plural}"


def _has_content(path: str) -> bool:
    """True when ``path`` exists as anything but a folder holding at most phyper's metadata
    (which ``generate_instance_info_files`` may have written before the results existed)."""
    if not os.path.lexists(path):
        return False
    if os.path.islink(path) or not os.path.isdir(path):
        return True
    return any(name != INFO_FILE for name in os.listdir(path))


def _link_or_copy(source: str, target: str) -> str:
    try:
        os.link(source, target)
    except OSError:  # another filesystem, or one without hard links
        shutil.copy2(source, target)
    return target


def _place(instance: Parser, resource: str, old_path: str, new_path: str, mode: str) -> bool:
    """Assemble the new folder in a hidden sibling, then rename it into place; False (and
    the old folder as it was) when ``new_path`` got content in the meantime."""
    parent = os.path.dirname(new_path)
    os.makedirs(parent, exist_ok=True)
    # the old hash in the name lets a person find the contents after a killed move
    staging_root = tempfile.mkdtemp(
        prefix=f"{STAGING_PREFIX}{os.path.basename(old_path)[:12]}-", suffix=".tmp", dir=parent
    )
    staged = os.path.join(staging_root, resource, os.path.basename(new_path))
    os.mkdir(os.path.dirname(staged))
    had_info = os.path.lexists(os.path.join(old_path, INFO_FILE))
    moved = False  # True while the old folder itself sits in the staging folder

    def give_back() -> None:
        nonlocal moved
        if not had_info:  # the old folder leaves as it came
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(staged, INFO_FILE))
        os.rename(staged, old_path)
        moved = False

    try:
        if mode == "move":
            try:
                os.rename(old_path, staged)
                moved = True
            except OSError as error:
                if error.errno != errno.EXDEV:
                    raise
                shutil.copytree(old_path, staged, symlinks=True)
        elif mode == "link":
            shutil.copytree(old_path, staged, symlinks=True, copy_function=_link_or_copy)
        else:
            shutil.copytree(old_path, staged, symlinks=True)
        _write_metadata(instance, resource, staged)
        if os.path.isdir(new_path) and not os.path.islink(new_path):
            # only phyper's metadata is there (checked by the caller); ours replaces it
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(new_path, INFO_FILE))
        try:
            # rename never replaces a folder with content: a concurrent writer wins
            os.rename(staged, new_path)
        except OSError as error:
            if error.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
            if moved:
                give_back()
            return False
        was_moved, moved = moved, False
        if mode == "move" and not was_moved:
            shutil.rmtree(old_path)  # copied across filesystems: now remove the original
        return True
    except BaseException:
        if moved:
            give_back()
        raise
    finally:
        # never delete the only copy of an old folder: if giving it back failed, it stays in
        # the hidden staging folder, named after its old hash
        if not moved:
            shutil.rmtree(staging_root, ignore_errors=True)


def _write_metadata(instance: Parser, resource: str, staged: str) -> None:
    resource_name = None if resource == ALL else resource
    write_atomic(os.path.join(staged, INFO_FILE), render_info(instance, resource_name))
