"""The on-disk layout: ``<folder>/all/<hash>/`` and ``<folder>/<resource>/<hash>/``, each with a
small self-describing metadata file, written atomically and read back without pickle or eval.
"""

from __future__ import annotations

import enum
import json
import os
import pathlib
import re
import secrets
import time
import typing
from collections.abc import Iterable
from dataclasses import dataclass

from ._errors import HashNotFoundError, MetadataError, PhyperError
from ._hashing import HASH_SPEC_VERSION, digest_segments, encode_segment

if typing.TYPE_CHECKING:
    from ._parser import Parser

    P = typing.TypeVar("P", bound=Parser)

INFO_FILE = "phyper.json"
FORMAT = "phyper-info"
HASH_PATTERN = re.compile(r"^[0-9a-f]{32}$")
TEMPORARY_PATTERN = re.compile(rf"^\.{re.escape(INFO_FILE)}\.[0-9a-f]+\.tmp$")
# A writer renames its temporary file within milliseconds of creating it, so one this old
# was left by a process that died mid-write: removing it cannot race a live writer.
STALE_AFTER_SECONDS = 600.0


@dataclass(frozen=True)
class WriteReport:
    """What :func:`write_info_files` did: files written, and files already up to date."""

    written: int
    unchanged: int


def _to_json(value: object) -> object:
    """JSON for a coerced value; Paths and Enums are tagged so the exact hash can be recomputed
    from the file alone (``phyper verify``)."""
    if isinstance(value, enum.Enum):
        return {"enum": type(value).__name__, "name": value.name}
    if isinstance(value, pathlib.PurePath):
        return {"path": value.as_posix()}
    if isinstance(value, tuple):
        return [_to_json(v) for v in value]
    return value


def from_json(value: object, *, for_hashing: bool) -> object:
    """The inverse of ``_to_json``. For the schema (``for_hashing=False``) an Enum becomes its
    member name, which the declared Enum type accepts; for hashing alone it becomes a stand-in
    member with the same name, which encodes exactly like the original."""
    if isinstance(value, list):
        return tuple(from_json(v, for_hashing=for_hashing) for v in value)
    if isinstance(value, dict):
        if set(value) == {"path"} and isinstance(value["path"], str):
            return pathlib.PurePosixPath(value["path"])
        if set(value) == {"enum", "name"} and isinstance(value["name"], str):
            if not for_hashing:
                return value["name"]
            stand_in = enum.Enum(str(value["enum"]), {value["name"]: value["name"]})
            return stand_in[value["name"]]
        raise ValueError(f"unexpected object {value!r}")
    return value


def render_info(instance: Parser, resource_name: str | None) -> bytes:
    """The metadata file of one instance or resource folder, as bytes."""
    context = instance.__dict__["_phyper_ctx"]
    names = sorted(context.dependencies(resource_name))
    specs = context.schema.specs
    values = instance.__dict__
    document = {
        "format": FORMAT,
        "hash_spec": HASH_SPEC_VERSION,
        "class": context.schema.class_name,
        "resource": resource_name or "all",
        "hash": instance.get_instance_hash(resource_name),
        "hyperparameters": {n: _to_json(values[n]) for n in names},
        # equal to their omit value, so left out of the hash
        "omitted": [n for n in names if not specs[n].segment(values[n])],
    }
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def write_atomic(path: str, data: bytes) -> bool:
    """Write ``data`` to ``path`` unless it already holds exactly that; True if written.

    A temporary file in the same folder is flushed to disk, then renamed over the target, so
    readers, concurrent writers and a machine that lost power see either the old file or the
    new one, never a part. (The folder itself is not synced: a power cut may undo the last
    renames, which leaves files missing, never damaged, and a rerun writes them again.)
    """
    try:
        with open(path, "rb") as existing:
            if existing.read() == data:
                return False
    except FileNotFoundError:
        pass
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    temporary = os.path.join(folder, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp")
    try:
        with open(temporary, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return True


def stale_temporaries(
    folder: str | os.PathLike[str], older_than: float = STALE_AFTER_SECONDS
) -> list[os.DirEntry[str]]:
    """Temporary metadata files in ``folder`` that a killed writer left behind, by path.

    Only files named like :func:`write_atomic`'s temporaries and untouched for ``older_than``
    seconds count; links are never reported. Each entry keeps the ``stat`` it was judged by.
    """
    deadline = time.time() - older_than
    try:
        with os.scandir(folder) as entries:
            return sorted(
                (
                    entry
                    for entry in entries
                    if TEMPORARY_PATTERN.match(entry.name)
                    and entry.is_file(follow_symlinks=False)
                    and entry.stat(follow_symlinks=False).st_mtime < deadline
                ),
                key=lambda entry: entry.path,
            )
    except (FileNotFoundError, NotADirectoryError):
        return []


def write_info_files(
    instances: Iterable[Parser], resource_names: Iterable[str | None] | None = None
) -> WriteReport:
    written = unchanged = 0
    done: set[str] = set()
    chosen = None if resource_names is None else list(resource_names)
    for instance in instances:
        context = instance.__dict__["_phyper_ctx"]
        for resource_name in chosen if chosen is not None else (None, *context.resources):
            folder = instance.get_resources_path(resource_name)
            if folder in done:
                continue
            done.add(folder)
            if write_atomic(os.path.join(folder, INFO_FILE), render_info(instance, resource_name)):
                written += 1
            else:
                unchanged += 1
    return WriteReport(written=written, unchanged=unchanged)


def read_info_file(path: str | os.PathLike[str]) -> dict[str, typing.Any]:
    """Read and check the shape of a metadata file; errors name the file."""
    where = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as stream:
            document = json.load(stream)
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise MetadataError(f"metadata file {where!r} is unreadable or not JSON: {error}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise MetadataError(
            f"metadata file {where!r} is not a phyper metadata file (expected a JSON object "
            f'with "format": {FORMAT!r})'
        )
    if document.get("hash_spec") != HASH_SPEC_VERSION:
        raise MetadataError(
            f"metadata file {where!r} was written with hash spec {document.get('hash_spec')!r}; "
            f"this phyper reads hash spec {HASH_SPEC_VERSION}"
        )
    expected = {"resource": str, "hash": str, "hyperparameters": dict, "omitted": list}
    for field, kind in expected.items():
        if not isinstance(document.get(field), kind):
            raise MetadataError(
                f"metadata file {where!r} lacks a valid {field!r} field "
                f"(expected a {kind.__name__})"
            )
    return document


def recompute_hash(document: dict[str, typing.Any]) -> str:
    """The hash the hyperparameters of a metadata document give, without the Parser class."""
    omitted = set(document["omitted"])
    values = {
        name: from_json(value, for_hashing=True)
        for name, value in document["hyperparameters"].items()
        if name not in omitted
    }
    return digest_segments(encode_segment(name, values[name]) for name in sorted(values))


def check_hash(instance_hash: object) -> str:
    if isinstance(instance_hash, str) and re.fullmatch(r"[0-9a-f]{64}", instance_hash):
        raise HashNotFoundError(
            f"{instance_hash!r} looks like a hash of the original phyper (64 hex characters, "
            "SHA-256), not a phyper hash (32 lowercase hex characters): place the original's "
            "folders under phyper's hashes with `phyper migrate --from-original OLD_ROOT "
            "--config CONFIG` (or phyper.migrate_from_original), then use the new hashes"
        )
    if not isinstance(instance_hash, str) or not HASH_PATTERN.match(instance_hash):
        raise HashNotFoundError(
            f"{instance_hash!r} is not a phyper hash: expected 32 lowercase hex characters"
        )
    return instance_hash


def load_instance(parser: P, instance_hash: str, resource_name: str | None) -> P:
    from ._parser import _make, context_of

    context = context_of(parser)
    context.dependencies(resource_name)  # an unknown resource fails here, naming it
    check_hash(instance_hash)
    folder_name = resource_name or "all"
    path = os.path.join(context.folder, folder_name, instance_hash, INFO_FILE)
    try:
        document = read_info_file(path)
    except FileNotFoundError:
        raise HashNotFoundError(
            f"no metadata for {folder_name} hash {instance_hash!r}: {path!r} does not exist "
            "(was generate_instance_info_files run for these instances?)"
        ) from None
    if document["resource"] != folder_name or document["hash"] != instance_hash:
        raise MetadataError(
            f"metadata file {path!r} describes {document['resource']} hash "
            f"{document['hash']!r}, not the folder's {folder_name} hash {instance_hash!r}"
        )
    schema = context.schema
    try:
        stored = {
            name: from_json(value, for_hashing=False)
            for name, value in document["hyperparameters"].items()
        }
        values = schema.values(stored, where=f"metadata file {path!r}")
    except (PhyperError, ValueError) as error:
        raise MetadataError(
            f"metadata file {path!r} does not fit {schema.class_name}: {error}"
        ) from None
    instance = _make(type(parser), context, values)
    recomputed = instance.get_instance_hash(resource_name)
    if recomputed != instance_hash:
        raise MetadataError(
            f"metadata file {path!r} holds hyperparameters whose hash is {recomputed!r}, not "
            f"the folder's {instance_hash!r}: the folder was renamed or the file edited by hand, "
            "or a hashed hyperparameter was added without an omit value"
        )
    return instance
