"""The on-disk layout: ``<folder>/all/<hash>/`` and ``<folder>/<resource>/<hash>/``, each with a
small self-describing metadata file, written atomically and read back without pickle or eval.
"""

from __future__ import annotations

import contextlib
import ctypes
import enum
import json
import math
import os
import pathlib
import re
import secrets
import sys
import time
import typing
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from json.encoder import encode_basestring

from ._context import context_of, folder_name, instance_hash, make_instance, values_of
from ._errors import HashNotFoundError, MetadataError, PhyperError
from ._hashing import HASH_SPEC_VERSION, digest_segments, encode_segment

if typing.TYPE_CHECKING:
    from ._parser import Parser

    P = typing.TypeVar("P", bound=Parser)

_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation
INFO_FILE = "phyper.json"
FORMAT = "phyper-info"
HASH_PATTERN = re.compile(r"^[0-9a-f]{32}$")
HEX_PATTERN = re.compile(r"^[0-9a-f]+$")
# the hidden temporaries of write_atomic / atomic_output (metadata, run.json, result.json,
# decisions, results): ".<name>.<hex>.tmp", with the target's extension kept by atomic_output
TEMPORARY_PATTERN = re.compile(r"^\.[^/]+\.[0-9a-f]+\.tmp(\.[A-Za-z0-9]+)?$")
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
            # an Enum named at run time: mypy's Enum plugin wants a literal name
            stand_in = enum.Enum(str(value["enum"]), {value["name"]: value["name"]})  # type: ignore[misc]
            return stand_in[value["name"]]
        raise ValueError(f"unexpected object {value!r}")
    return value


def display_value(value: object) -> object:
    """A metadata value as a table cell: tagged Paths and Enums read as plain text."""
    if isinstance(value, dict):
        return value.get("path", value.get("name"))
    if isinstance(value, list):
        return tuple(display_value(v) for v in value)
    return value


def render_info(instance: Parser, resource_name: str | None) -> bytes:
    """The metadata file of one instance or resource folder, as bytes."""
    context = context_of(instance)
    names = sorted(context.dependencies(resource_name))
    specs = context.schema.specs
    values = values_of(instance, names)
    document = {
        "format": FORMAT,
        "hash_spec": HASH_SPEC_VERSION,
        "class": context.schema.class_name,
        "resource": folder_name(resource_name),
        "hash": instance_hash(instance, resource_name),
        "hyperparameters": {n: _to_json(values[n]) for n in names},
        # equal to their omit value, so left out of the hash
        "omitted": [n for n in names if not specs[n].segment(values[n])],
    }
    return (_indented_json(document) + "\n").encode("utf-8")


def _scalar_json(value: object) -> str:
    """A str, int, float, bool or None as ``json.dumps(value, ensure_ascii=False)`` writes it,
    without its per-call set-up."""
    kind = type(value)
    if kind is str:
        return encode_basestring(value)  # type: ignore[arg-type]
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return int.__repr__(value)
    if kind is float:
        if value != value:
            return "NaN"
        if value in (math.inf, -math.inf):
            return "Infinity" if value > 0 else "-Infinity"
        return float.__repr__(value)
    return "null"


def _indented_json(document: dict[str, typing.Any]) -> str:
    """``json.dumps(document, indent=2, ensure_ascii=False)``, twice as fast for the shape
    of a metadata file: top-level values that are scalars or flat mappings and lists of them.
    (``indent`` makes ``json`` use its pure-Python encoder.) Other shapes go to ``json``."""
    encode = _scalar_json
    parts = []
    for key, value in document.items():
        kind = type(value)
        if kind in _SCALARS:
            text = encode(value)
        elif kind is dict and all(type(k) is str and type(v) in _SCALARS for k, v in value.items()):
            items = [f"    {encode(k)}: {encode(v)}" for k, v in value.items()]
            text = "{\n" + ",\n".join(items) + "\n  }" if items else "{}"
        elif kind is list and all(type(v) in _SCALARS for v in value):
            items = [f"    {encode(v)}" for v in value]
            text = "[\n" + ",\n".join(items) + "\n  ]" if items else "[]"
        else:  # tagged values (paths, enums), nested containers
            return json.dumps(document, indent=2, ensure_ascii=False)
        parts.append(f"  {encode(key)}: {text}")
    return "{\n" + ",\n".join(parts) + "\n}" if parts else "{}"


def write_atomic(path: str, data: bytes, *, durable: bool = True) -> bool:
    """Write ``data`` to ``path`` unless it already holds exactly that; True if written.

    A temporary file in the same folder is flushed to disk, then renamed over the target, so
    readers, concurrent writers and a machine that lost power see either the old file or the
    new one, never a part. (The folder itself is not synced: a power cut may undo the last
    renames, which leaves files missing, never damaged, and a rerun writes them again.)
    """
    if _holds(path, data):
        return False
    temporary = _temporary_beside(path)
    try:
        with open(temporary, "wb") as stream:
            stream.write(data)
            stream.flush()
            if durable:  # without it, safe from a killed process, not from a power cut
                os.fsync(stream.fileno())
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return True


def write_new_file(path: str, data: bytes) -> None:
    """:func:`write_atomic` for a file that changes at every write, in a folder that exists:
    no compare-first read, no folder creation (the per-epoch commit of a run pays neither)."""
    temporary = f"{os.path.dirname(path)}/.{os.path.basename(path)}.{secrets.token_hex(6)}.tmp"
    try:
        with open(temporary, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _temporary_beside(path: str, suffix: str = "") -> str:
    """A fresh hidden name in the folder of ``path`` (created): a rename from it is atomic."""
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp{suffix}")


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[str]:
    """Write a file all at once: yield a temporary path beside ``path``; when the block ends
    without an error, the file written there is flushed to disk and renamed to ``path``.

    On an error (or a kill) ``path`` keeps its old content, or stays absent. The temporary
    name keeps the extension, so writers that add one (``numpy.savez``) write where asked.

    >>> import phyper, tempfile, os
    >>> target = os.path.join(tempfile.mkdtemp(), "scores", "table.csv")
    >>> with phyper.atomic_output(target) as temporary:
    ...     _ = open(temporary, "w").write("loss")
    >>> open(target).read()
    'loss'
    """
    target = os.fspath(path)
    temporary = _temporary_beside(target, os.path.splitext(target)[1])
    try:
        yield temporary
        if not os.path.isfile(temporary):
            raise FileNotFoundError(
                f"nothing was written to the temporary file {temporary!r} for {target!r}; "
                "write the output to the path the with-block gives"
            )
        descriptor = os.open(temporary, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def stale_temporaries(
    folder: str | os.PathLike[str], older_than: float = STALE_AFTER_SECONDS
) -> list[os.DirEntry[str]]:
    """Temporary files in ``folder`` that a killed writer left behind, by path.

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


BATCH = 2048  # files written, flushed with one file-system sync, then renamed, at a time


def _syncfs_function() -> typing.Callable[[int], int] | None:
    """Linux's ``syncfs(fd)``: write out everything of the file system holding ``fd`` and wait
    for the disk (journal commit and cache flush included); None where there is none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int]
    function.restype = ctypes.c_int
    return function


_syncfs = _syncfs_function()


def _flush_to_disk(temporaries: list[str], devices: dict[int, str]) -> None:
    """Every temporary file's content on the disk: one ``syncfs`` per file system, which waits
    for all of them at once. (Without ``syncfs``, each file was flushed as it was written.)"""
    if _syncfs is None:
        return
    for temporary in devices.values():
        descriptor = os.open(temporary, os.O_RDONLY | _BINARY)
        try:
            if _syncfs(descriptor) != 0:
                error = ctypes.get_errno()
                raise OSError(error, f"syncfs: {os.strerror(error)}", temporary)
        finally:
            os.close(descriptor)


def write_many(files: Iterable[tuple[str, bytes]]) -> int:
    """Write many small files with :func:`write_atomic`'s guarantee, at a fraction of its cost;
    returns how many were written.

    Per batch: every temporary file is written, then all are flushed to disk together, then
    each is renamed over its target. So no target is ever renamed into place before its content
    is on the disk, and a kill leaves only hidden temporaries (which ``phyper gc`` removes) and
    targets that are whole, old or new.
    """
    written = 0
    batch: list[tuple[str, bytes]] = []
    for job in files:
        batch.append(job)
        if len(batch) == BATCH:
            written += _write_batch(batch)
            batch = []
    if batch:
        written += _write_batch(batch)
    return written


def _write_batch(jobs: list[tuple[str, bytes]]) -> int:
    temporaries: list[str] = []
    devices: dict[int, str] = {}  # one temporary per file system, to sync it by
    try:
        for path, data in jobs:
            temporary = _temporary_beside(path)
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY, 0o666)
            temporaries.append(temporary)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(descriptor, view) :]
                if _syncfs is None:
                    os.fsync(descriptor)  # macOS, Windows: one flush per file, as write_atomic
                else:
                    devices.setdefault(os.fstat(descriptor).st_dev, temporary)
            finally:
                os.close(descriptor)
        _flush_to_disk(temporaries, devices)
        for (path, _), temporary in zip(jobs, temporaries, strict=True):
            os.replace(temporary, path)
        temporaries.clear()
    finally:
        for temporary in temporaries:  # an error before the renames: leave nothing behind
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
    return len(jobs)


def _holds(path: str, data: bytes) -> bool:
    """True if the file at ``path`` already holds exactly ``data``."""
    try:
        return read_bytes(path) == data
    except FileNotFoundError:
        return False


def _info_files(
    instances: Iterable[Parser], resource_names: Iterable[str | None] | None
) -> Iterator[tuple[str, bytes]]:
    """``(path, content)`` of the metadata file of each distinct folder, in order."""
    done: set[str] = set()
    chosen = None if resource_names is None else list(resource_names)
    for instance in instances:
        names = chosen if chosen is not None else context_of(instance).resource_names()
        for resource_name in names:
            folder = instance.get_resources_path(resource_name)
            if folder in done:
                continue
            done.add(folder)
            yield os.path.join(folder, INFO_FILE), render_info(instance, resource_name)


def write_info_files(
    instances: Iterable[Parser], resource_names: Iterable[str | None] | None = None
) -> WriteReport:
    """Write each folder's metadata file atomically and durably (:func:`write_many`), unless it
    already holds the same content, which costs one read and no write."""
    unchanged = 0

    def changed() -> Iterator[tuple[str, bytes]]:
        nonlocal unchanged
        for path, data in _info_files(instances, resource_names):
            if _holds(path, data):
                unchanged += 1
            else:
                yield path, data

    written = write_many(changed())
    return WriteReport(written=written, unchanged=unchanged)


def read_bytes(path: str) -> bytes:
    """The whole content of a file, read with the fewest system calls (``os.open`` and
    ``os.read``: no file object, no ``fstat``); the errors are ``open``'s."""
    descriptor = os.open(path, os.O_RDONLY | _BINARY)
    try:
        chunks = []
        while chunk := os.read(descriptor, 1 << 16):
            chunks.append(chunk)
    finally:
        os.close(descriptor)
    return b"".join(chunks)


def read_text(path: str) -> str:
    """``open(path, encoding="utf-8").read()``, at a third of its cost for a small file: the
    bytes read with :func:`read_bytes`, decoded here, with text mode's universal newlines."""
    text = read_bytes(path).decode("utf-8")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def read_json(path: str, *, what: str, error: type[Exception]) -> object | None:
    """The JSON document in ``path``, or None if there is no such file; a file that cannot be
    read or decoded raises ``error`` naming it as ``what`` (e.g. ``"decision file"``)."""
    try:
        return json.loads(read_text(path))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as problem:
        raise error(f"{what} {path!r} is unreadable: {problem}") from None


_FIELDS = (("resource", str), ("hash", str), ("hyperparameters", dict), ("omitted", list))


def read_info_file(path: str | os.PathLike[str]) -> dict[str, typing.Any]:
    """Read and check the shape of a metadata file; errors name the file."""
    where = os.fspath(path)
    try:
        document = json.loads(read_text(where))
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
    for field, kind in _FIELDS:
        if not isinstance(document.get(field), kind):
            raise MetadataError(
                f"metadata file {where!r} lacks a valid {field!r} field "
                f"(expected a {kind.__name__})"
            )
    return document


_SCALARS = frozenset({str, int, float, bool, type(None)})
_SEGMENT_CACHE_LIMIT = 100_000
# (name, type, value) -> segment: the type keeps 1, 1.0 and True apart
_segments: dict[tuple[str, type, object], bytes] = {}


def recompute_hash(document: dict[str, typing.Any]) -> str:
    """The hash the hyperparameters of a metadata document give, without the Parser class."""
    omitted = set(document["omitted"])
    hyperparameters = document["hyperparameters"]
    segments = []
    for name in sorted(hyperparameters):
        if name in omitted:
            continue
        value = hyperparameters[name]
        kind = type(value)
        if kind in _SCALARS:  # a scan meets the same values in folder after folder
            key = (name, kind, value)
            segment = _segments.get(key)
            if segment is None:
                segment = encode_segment(name, value)
                if len(_segments) < _SEGMENT_CACHE_LIMIT:
                    _segments[key] = segment
        else:
            segment = encode_segment(name, from_json(value, for_hashing=True))
        segments.append(segment)
    return digest_segments(segments)


class MetadataMismatchError(MetadataError):
    """A well-formed metadata file that does not describe the folder it is in."""

    def __init__(self, message: str, document: dict[str, typing.Any]):
        super().__init__(message)
        self.document = document


def read_folder_info(folder: str, resource: str, expected_hash: str) -> dict[str, typing.Any]:
    """Read the metadata file of the hash folder ``folder`` and check that it describes it:
    the folder's resource and hash, and hyperparameters that hash to the folder's name.

    Raises ``FileNotFoundError`` without a metadata file, :class:`MetadataError` for a corrupt
    one and :class:`MetadataMismatchError` (with the document) for one of another folder.
    """
    path = os.path.join(folder, INFO_FILE)
    document = read_info_file(path)
    if document["resource"] != resource:
        problem = f"describes resource {document['resource']!r}, not {resource!r}"
    elif document["hash"] != expected_hash:
        problem = f"describes hash {document['hash']!r}, not the folder's {expected_hash!r}"
    else:
        try:
            recomputed = recompute_hash(document)
        except (TypeError, ValueError) as error:
            raise MetadataError(
                f"metadata file {path!r} has unreadable hyperparameters: {error}"
            ) from None
        if recomputed == expected_hash:
            return document
        problem = (
            f"holds hyperparameters that hash to {recomputed!r}, not the folder's "
            f"{expected_hash!r} (the folder was renamed or the file edited by hand)"
        )
    raise MetadataMismatchError(f"metadata file {path!r} {problem}", document)


def is_hex(text: str) -> bool:
    """True for a non-empty string of lowercase hexadecimal characters (a hash or a prefix)."""
    return bool(HEX_PATTERN.match(text))


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


def load_instance(parser: P, wanted_hash: str, resource_name: str | None) -> P:
    context = context_of(parser)
    context.dependencies(resource_name)  # an unknown resource fails here, naming it
    check_hash(wanted_hash)
    resource = folder_name(resource_name)
    folder = os.path.join(context.folder, resource, wanted_hash)
    path = os.path.join(folder, INFO_FILE)
    try:
        document = read_folder_info(folder, resource, wanted_hash)
    except FileNotFoundError:
        raise HashNotFoundError(
            f"no metadata for {resource} hash {wanted_hash!r}: {path!r} does not exist "
            "(was generate_instance_info_files run for these instances?)"
        ) from None
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
    instance = make_instance(type(parser), context, values)
    recomputed = instance_hash(instance, resource_name)
    if recomputed != wanted_hash:
        # the file is self-consistent, so the declaration changed since it was written
        raise MetadataError(
            f"metadata file {path!r} holds hyperparameters that {schema.class_name} hashes to "
            f"{recomputed!r}, not the folder's {wanted_hash!r}: was a hashed hyperparameter "
            "added without an omit value, or a type changed?"
        )
    return instance
