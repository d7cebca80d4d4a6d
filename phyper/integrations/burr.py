"""Apache Burr applications on phyper's store: state, arrays and history in hash folders.

``pip install 'phyper-ml[burr]'``. An application is one phyper instance: its application id is
the instance's hash, its partition key the resource whose folder holds it (``None``: the full
instance, ``<root>/all/<hash>``).

```python
from burr.core import ApplicationBuilder, default
from phyper import tune
from phyper.integrations.burr import PhyperPersister, stop_condition_for_burr

persister = PhyperPersister.for_instances(instances)
stop = stop_condition_for_burr(tune.max_epochs(50) | tune.patience("validation_loss", 5))
app = (
    ApplicationBuilder()
    .with_actions(train=train, validate=validate, best=best)
    .with_transitions(("train", "validate", default), ("validate", "best", stop),
                      ("validate", "train", default))
    .initialize_from(persister, resume_at_next_action=True,
                     default_state={"history": []}, default_entrypoint="train")
    .with_state_persister(persister)
    .with_identifiers(app_id=instance.get_instance_hash())
    .build()
)
persister.run(app)  # app.run() that keeps run.json true; killed and started again, it resumes
```

In the folder (beside ``run.json``, which :meth:`PhyperPersister.run` and gates keep as
``tune.Run`` does; a Burr application never takes over a ``tune.Run``'s folder)::

    burr_state.a.json   the latest state and the one before, written alternately: each slot
    burr_state.b.json   is overwritten in place and flushed (one fdatasync per step), one JSON
                        object padded with spaces, its last field a digest of the rest, so a
                        write torn by a crash is seen and the other slot used
    burr_states.jsonl   one JSON line per step: sequence_id, position, status, timestamp and
                        the state's scalar fields; appended before the state, flushed every
                        4 KiB, the lines not yet flushed carried in each state until then
                        (:func:`load_history`, or ``pandas.read_json(path, lines=True,
                        precise_float=True)``: pandas' default parser rounds floats)
    burr_arrays/        numpy arrays of the last two states, one ``<xxh3-128>.npy`` each

The state is written as JSON with exact types: None, booleans, ints, floats (NaN, the
infinities and -0.0 too), complex numbers, strings, lists, tuples, dicts with string keys,
``pathlib.Path``, numpy scalars of every dtype but structured and object ones (long double
included, to its last digit) and numpy arrays (as ``.npy``, read back with
``allow_pickle=False``); each loads back equal and of the same type. Anything else (a subclass
of these too) is refused at ``save`` with
:class:`StateSerializationError` naming the field: Burr's default serialization would store its
``str()`` and hand back a string. Keep a checkpoint file's path in the state instead.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import math
import os
import pathlib
import sys
import time
import typing
import weakref
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import xxhash
from burr.common.types import BaseCopyable
from burr.core import State
from burr.core.action import Condition as BurrCondition
from burr.core.persistence import BaseStatePersister, PersistedStateData
from burr.lifecycle import (
    PostApplicationExecuteCallHook,
    PostRunStepHook,
    PreApplicationExecuteCallHook,
)

from .._context import folder_name, instance_hash, is_instance
from .._errors import PhyperError, UnknownResourceError
from .._store import HASH_PATTERN, read_json, write_atomic, write_info_files
from ..tune import _gate
from ..tune._conditions import Condition, Fired, History
from ..tune._errors import DecisionError, HookError, RunLockedError
from ..tune._hooks import EpochEndHook, FailureHook, Hook, RunStartHook, StopHook
from ..tune._lock import FolderLock
from ..tune._state import LOCK_FILE, METRICS_FILE, RunState, Status, read_state, write_state

if typing.TYPE_CHECKING:
    import pandas as pd
    from burr.core import Application

    from .._parser import Parser

__all__ = [
    "ARRAYS_DIR",
    "HISTORY_FILE",
    "STATE_FILE",
    "STATE_FILES",
    "BurrStateError",
    "PhyperPersister",
    "StateSerializationError",
    "TuneHooks",
    "await_decision",
    "decision_input",
    "fired",
    "load_history",
    "stop_condition_for_burr",
]

# the latest state alternates between two slots, each overwritten in place and sealed with a
# digest: a write torn by a crash leaves the other slot, one step older, intact
STATE_FILES = ("burr_state.a.json", "burr_state.b.json")
STATE_FILE = "burr_state.json"  # version 1: one file replaced per step (still read)
HISTORY_FILE = "burr_states.jsonl"
ARRAYS_DIR = "burr_arrays"
FORMAT = "phyper-burr-state"
VERSION = 2
_READS = (1, 2)
_SEAL = b', "digest": "'  # the last field of a slot: xxh3-128 of the document without it
_SEAL_TAIL = len(_SEAL) + 32 + 2
_PAGE = 4096  # slots grow by whole pages, so most steps overwrite without changing the size
# history rows not yet flushed to disk ride in each slot until they add up to this much
_HISTORY_SYNC_BYTES = 4096
TAG = "__phyper__"  # marks an encoded value in the state JSON (a user dict may not use it)
HISTORY_COLUMNS = ("sequence_id", "position", "status", "timestamp")
_MAX_OPEN_LOGS = 64


class StateSerializationError(PhyperError, TypeError):
    """A state value the persister cannot store and read back exactly."""


class BurrStateError(PhyperError, ValueError):
    """A Burr state file that is unreadable, foreign or inconsistent, or a request the
    persister cannot serve (an id that is not a hash, an old sequence id)."""


# ---------------------------------------------------------------------------- serialization


def _refuse(where: str, value: object, why: str | None = None) -> typing.NoReturn:
    kind = f"{type(value).__module__}.{type(value).__qualname__}"
    raise StateSerializationError(
        f"state field {where} holds a {kind}{f' ({why})' if why else ''}, which PhyperPersister "
        "cannot store and read back exactly (Burr's default serialization would keep its str()). "
        "It stores None, bool, int, float, complex, str, pathlib.Path, numpy scalars and arrays "
        "(not of objects), and lists, tuples and str-keyed dicts of those (exactly these types, "
        "not subclasses). Save the object yourself (a checkpoint "
        "file in the instance's folder) and keep its path in the state instead."
    )


def _array_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _float(value: float) -> object:
    """A Python float as JSON: itself, or tagged text for NaN and the infinities (JSON has none)."""
    return value if math.isfinite(value) else {TAG: "float", "value": repr(value)}


def _numpy_scalar(value: np.generic, where: str) -> object:
    """A numpy scalar as JSON: its dtype and a value that rebuilds it exactly."""
    dtype = value.dtype
    kind = dtype.kind
    if kind == "b":
        item: object = bool(value)
    elif kind in "iu":
        item = int(value)
    elif kind == "f":
        item = _numpy_float(value)
    elif kind == "c":
        item = [_numpy_float(value.real), _numpy_float(value.imag)]
    elif kind in "Mm":  # datetime64, timedelta64 (NaT too): their int64 count of units
        item = int(np.asarray(value).view(np.int64)[()])
    elif kind == "U":
        item = str(value)
    elif kind == "S":
        item = bytes(typing.cast(bytes, value)).hex()
    else:  # void (structured) and object scalars
        _refuse(where, value, "store it as a 0-d array: numpy.asarray(value)")
    spec = {TAG: "numpy", "dtype": dtype.str, "value": item}
    if np.dtype(dtype.str).type is not dtype.type:  # e.g. longlong beside int64 (both <i8)
        spec["char"] = dtype.char
    return spec


def _numpy_float(value: np.generic) -> object:
    if value.dtype.itemsize <= 8:  # float16, float32, float64: exact as a Python float
        return _float(float(value))
    # long double: more digits than a Python float holds; numpy's shortest exact text
    text = np.format_float_scientific(typing.cast(np.floating, value), unique=True)
    return {TAG: "float", "value": text}


def _encode(value: object, where: str, arrays: dict[str, bytes]) -> object:
    """JSON data for ``value``; arrays are added to ``arrays`` (file name -> .npy bytes).

    Exact types only (``type(x) is int``, not ``isinstance``): a subclass (an ``IntEnum``, an
    ``OrderedDict``, a named tuple) would come back as its base type, so it is refused."""
    kind = type(value)
    if value is None or kind is bool or kind is int or kind is str:
        return value
    if kind is float:
        return _float(value)  # type: ignore[arg-type]
    if kind is list:
        return [
            _encode(v, f"{where}[{i}]", arrays)
            for i, v in enumerate(typing.cast("list[object]", value))
        ]
    if kind is dict:
        encoded = {}
        for key, item in value.items():  # type: ignore[attr-defined]
            if type(key) is not str:
                _refuse(f"{where}", value, f"key {key!r} is not a str: JSON would make it one")
            if key == TAG:
                _refuse(where, value, f"the key {TAG!r} is reserved by the persister")
            encoded[key] = _encode(item, f"{where}[{key!r}]", arrays)
        return encoded
    if kind is tuple:
        items = [
            _encode(v, f"{where}[{i}]", arrays)
            for i, v in enumerate(typing.cast("tuple[object, ...]", value))
        ]
        return {TAG: "tuple", "items": items}
    if kind is np.ndarray:
        array = typing.cast(np.ndarray, value)
        if array.dtype.hasobject:
            _refuse(where, value, f"dtype {array.dtype}: objects would need pickle")
        data = _array_bytes(array)
        name = xxhash.xxh3_128_hexdigest(data) + ".npy"
        arrays[name] = data
        return {TAG: "ndarray", "file": name, "dtype": array.dtype.str, "shape": list(array.shape)}
    if isinstance(value, np.generic):
        return _numpy_scalar(value, where)
    if kind is complex:
        number = typing.cast(complex, value)
        return {TAG: "complex", "value": [_float(number.real), _float(number.imag)]}
    if kind is _PATH:
        return {TAG: "path", "value": str(value)}
    _refuse(where, value)


_PATH = type(pathlib.Path())  # PosixPath or WindowsPath: what Path(text) gives back


def _decode_float(value: object) -> float:
    if isinstance(value, dict):  # {"__phyper__": "float", "value": "nan"}
        return float(value["value"])
    return float(typing.cast(float, value))


def _decode_numpy(spec: dict[str, typing.Any]) -> np.generic:
    dtype = np.dtype(spec["dtype"])
    if "char" in spec and np.dtype(spec["char"]).str == dtype.str:  # the same on this platform
        dtype = np.dtype(spec["char"])
    item = spec["value"]
    kind = dtype.kind
    if kind == "f":
        if isinstance(item, dict) and dtype.itemsize > 8:  # long double text: parsed by numpy
            return dtype.type(item["value"])
        return dtype.type(_decode_float(item))
    if kind == "c":
        real, imag = (
            np.dtype(f"f{dtype.itemsize // 2}").type(
                part["value"] if isinstance(part, dict) else part
            )
            for part in item
        )
        number = np.empty((), dtype)
        number.real, number.imag = real, imag  # exact: no rounding through a Python complex
        return typing.cast(np.generic, number[()])
    if kind in "Mm":
        return np.array(item, dtype=np.int64).view(dtype)[()]
    if kind == "S":
        return np.bytes_(bytes.fromhex(item))
    return dtype.type(item)


def _decode(value: object, folder: str, where: str) -> object:
    if isinstance(value, list):
        return [_decode(v, folder, where) for v in value]
    if not isinstance(value, dict):
        return value
    tag = value.get(TAG)
    if tag is None:
        return {k: _decode(v, folder, f"{where}[{k!r}]") for k, v in value.items()}
    if tag == "float":
        return float(value["value"])
    if tag == "tuple":
        return tuple(_decode(v, folder, where) for v in value["items"])
    if tag == "path":
        return pathlib.Path(value["value"])
    if tag == "numpy":
        return _decode_numpy(value)
    if tag == "complex":
        real, imag = (_decode_float(part) for part in value["value"])
        return complex(real, imag)
    if tag == "ndarray":
        return _load_array(folder, value, where)
    raise BurrStateError(f"state field {where} in {folder!r} has an unknown encoding {tag!r}")


def _load_array(folder: str, spec: dict[str, typing.Any], where: str) -> np.ndarray:
    name = spec["file"]
    path = os.path.join(folder, ARRAYS_DIR, name)
    if os.sep in name or not name.endswith(".npy"):
        raise BurrStateError(f"state field {where} in {folder!r} names array file {name!r}")
    try:
        with open(path, "rb") as stream:
            data = stream.read()
    except FileNotFoundError:
        raise BurrStateError(
            f"array file {path!r} of state field {where} is missing; the state in {folder!r} "
            "refers to it (restore it, or delete the folder's burr_* files to start over)"
        ) from None
    if xxhash.xxh3_128_hexdigest(data) + ".npy" != name:
        raise BurrStateError(
            f"array file {path!r} of state field {where} is damaged: its content does not match "
            "the digest in its name"
        )
    array = np.load(io.BytesIO(data), allow_pickle=False)
    if array.dtype.str != spec["dtype"] or list(array.shape) != spec["shape"]:
        raise BurrStateError(f"array file {path!r} does not hold the array its state records")
    return array


def _scalar_fields(values: Mapping[str, object]) -> dict[str, object]:
    """The history row's share of a state: top-level numbers, strings, booleans and None."""
    row: dict[str, object] = {}
    for key, value in values.items():
        if key.startswith("__"):  # Burr's own bookkeeping (__SEQUENCE_ID, __PRIOR_STEP)
            continue
        if value is None or type(value) in (bool, int, float, str):
            pass
        elif isinstance(value, np.generic) and value.dtype.kind in "biuf":
            # a view for pandas: a long double is rounded to a float here (exact in the state)
            value = float(value) if value.dtype.kind == "f" else value.item()
        else:
            continue
        row[f"state.{key}" if key in HISTORY_COLUMNS else key] = value
    return row


def _referenced_arrays(encoded: object, found: set[str]) -> set[str]:
    if isinstance(encoded, list):
        for item in encoded:
            _referenced_arrays(item, found)
    elif isinstance(encoded, dict):
        if encoded.get(TAG) == "ndarray":
            found.add(encoded["file"])
        else:
            for item in encoded.values():
                _referenced_arrays(item, found)
    return found


# -------------------------------------------------------------------------------- persister


_sync = getattr(os, "fdatasync", os.fsync)  # the data, and the size when it changed


def _seal(document: dict[str, typing.Any]) -> bytes:
    """The document as one JSON object whose last field is the digest of the rest."""
    body = json.dumps(document, allow_nan=False).encode("utf-8")
    return body[:-1] + _SEAL + xxhash.xxh3_128_hexdigest(body).encode("ascii") + b'"}\n'


def _unseal(raw: bytes) -> bytes | None:
    """The document (without its digest) if ``raw`` is a whole slot, else None (torn)."""
    text = raw.rstrip()
    if len(text) < _SEAL_TAIL or text[-_SEAL_TAIL:-34] != _SEAL or not text.endswith(b'"}'):
        return None
    body = text[:-_SEAL_TAIL] + b"}"
    return body if xxhash.xxh3_128_hexdigest(body).encode("ascii") == text[-34:-2] else None


def _check_document(
    document: object, path: str, folder: str, version: int
) -> dict[str, typing.Any]:
    if (
        not isinstance(document, dict)
        or document.get("format") != FORMAT
        or not isinstance(document.get("state"), dict)
    ):
        raise BurrStateError(
            f"{path!r} is not a Burr state written by PhyperPersister (expected a JSON "
            f'object with "format": {FORMAT!r})'
        )
    if document.get("version") != version:
        raise BurrStateError(
            f"{path!r} has version {document.get('version')!r}; this phyper reads {_READS}"
        )
    if document.get("app_id") != os.path.basename(os.path.normpath(folder)):
        raise BurrStateError(
            f"{path!r} records application {document.get('app_id')!r}, not its folder's "
            "hash: the folder was renamed or the file copied from another one"
        )
    return document


def _read_slots(folder: str) -> list[dict[str, typing.Any]]:
    """The committed states in the folder, newest first (each with ``_slot``: 0, 1, or None
    for a version-1 ``burr_state.json``). A slot torn by a crash is left out; both slots
    damaged is an error, never a silent start from scratch."""
    found: list[dict[str, typing.Any]] = []
    damaged: list[str] = []
    for index, name in enumerate(STATE_FILES):
        path = os.path.join(folder, name)
        try:
            with open(path, "rb") as stream:
                raw = stream.read()
        except FileNotFoundError:
            continue
        body = _unseal(raw)
        if body is None:
            if raw.strip():
                damaged.append(path)
            continue
        document = _check_document(json.loads(body), path, folder, VERSION)
        document["_slot"] = index
        found.append(document)
    path = os.path.join(folder, STATE_FILE)
    legacy = read_json(path, what="Burr state", error=BurrStateError)
    if legacy is not None:
        document = _check_document(legacy, path, folder, 1)
        document["_slot"], document["commit"] = None, -1
        document.setdefault("history_tail", "")
        found.append(document)
    if len(damaged) == len(STATE_FILES):
        raise BurrStateError(
            f"both state files {damaged} are damaged (their digests do not match): edited by "
            "hand, or the disk failed; restore one, or delete the folder's burr_* files to "
            "start over"
        )
    found.sort(key=lambda document: int(document["commit"]), reverse=True)
    return found


def _sync_folder(path: str) -> None:
    """Make the names created in a folder durable (a no-op where folders cannot be opened)."""
    with contextlib.suppress(OSError):
        descriptor = os.open(path, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _write_all(descriptor: int, data: bytes, offset: int | None = None) -> None:
    """Write all of ``data`` (at ``offset``, or appended): a write may take only a part."""
    view = memoryview(data)
    while view:
        if offset is None:
            written = os.write(descriptor, view)
        else:
            written = os.pwrite(descriptor, view, offset)
            offset += written
        view = view[written:]


class _AppLog:
    """One application's open files: its history (appended) and its two state slots
    (overwritten in place), and what the two committed states refer to."""

    def __init__(self, folder: str, slots: list[dict[str, typing.Any]]) -> None:
        self.folder = folder
        committed = slots[0] if slots else None
        path = os.path.join(folder, HISTORY_FILE)
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0)
        self.history = os.open(path, flags | os.O_APPEND, 0o666)
        self.slots: list[int] = []
        try:
            for name in STATE_FILES:
                self.slots.append(os.open(os.path.join(folder, name), flags, 0o666))
            self.sizes = [os.fstat(fd).st_size for fd in self.slots]
            _sync_folder(folder)  # the files' names survive a power cut from the first step
            self.size = self._recover_history(path, committed)
        except BaseException:
            self.close()
            raise
        self.pending = b""  # rows appended since the history was last flushed
        self.commit = -1 if committed is None else int(committed["commit"])
        slot = None if committed is None else committed["_slot"]
        self.next_slot = 1 if slot == 0 else 0
        self.arrays = set() if committed is None else _referenced_arrays(committed["state"], set())
        self.previous_arrays = (
            _referenced_arrays(slots[1]["state"], set()) if len(slots) > 1 else set()
        )
        self.legacy = os.path.exists(os.path.join(folder, STATE_FILE))

    def _recover_history(self, path: str, committed: dict[str, typing.Any] | None) -> int:
        """Cut the rows of steps never committed; put back the committed rows that a power
        cut took from the file (each state carries the rows not yet flushed)."""
        recorded = 0 if committed is None else int(committed["history_bytes"])
        tail = b"" if committed is None else committed["history_tail"].encode("utf-8")
        start = recorded - len(tail)
        size = os.fstat(self.history).st_size
        if size < start:
            raise BurrStateError(
                f"{path!r} has {size} bytes but the state in {self.folder!r} recorded "
                f"{recorded}: history rows were lost (restore the file, or delete the folder's "
                "burr_* files to start over)"
            )
        if size > recorded:  # rows of steps whose state was never committed: replayed
            os.ftruncate(self.history, recorded)
        if tail and os.pread(self.history, len(tail), start) != tail:
            os.ftruncate(self.history, start)
            _write_all(self.history, tail)
        if tail:
            _sync(self.history)
        return recorded

    def append(self, line: bytes) -> None:
        _write_all(self.history, line)
        self.size += len(line)
        self.pending += line
        if len(self.pending) > _HISTORY_SYNC_BYTES:
            _sync(self.history)
            self.pending = b""

    def write_state(self, data: bytes) -> None:
        """Overwrite the older slot with ``data``, padded, and wait for the disk: the commit."""
        index = self.next_slot
        size = self.sizes[index]
        if len(data) < size:
            data += b" " * (size - len(data))  # JSON allows trailing whitespace
        else:
            data += b" " * (-len(data) % _PAGE)
        _write_all(self.slots[index], data, 0)
        _sync(self.slots[index])
        self.sizes[index] = len(data)
        self.next_slot = 1 - index
        self.commit += 1

    def close(self) -> None:
        for descriptor in (self.history, *self.slots):
            with contextlib.suppress(OSError):
                os.close(descriptor)
        self.slots = []


class PhyperPersister(BaseStatePersister, BaseCopyable):
    """A Burr state persister that keeps each application in its instance's hash folder.

    ``PhyperPersister(parser_or_root, resource_name=None)``: the root comes from a parser (any
    instance) or is given as a path. The application id must be a phyper hash; the partition
    key names the resource (``None`` or ``""``: ``resource_name``, whose ``None`` is the full
    instance). ``PhyperPersister.for_instances(instances)`` also checks that every application
    id is the hash of one of them and writes phyper's metadata file into the folder.

    Each step is durable when Burr's ``save`` returns (as SQLite's with ``synchronous=FULL``):
    the history line is appended, then the older of two state slots is overwritten and
    flushed. After a ``kill -9`` or a power cut the newest whole state is read back; a history
    line of a step that was not committed is cut off, and lines a power cut took are put back
    from the state. One process writes to an application at a time (:meth:`run` and
    :meth:`track` lock the folder).
    """

    def __init__(
        self,
        parser_or_root: Parser | str | os.PathLike[str],
        resource_name: str | None = None,
        *,
        instances: Iterable[Parser] | None = None,
    ) -> None:
        self.parser = parser_or_root if is_instance(parser_or_root) else None
        if self.parser is not None:
            self.root = typing.cast("Parser", self.parser).hashed_resources_folder
        elif isinstance(parser_or_root, (str, os.PathLike)):
            self.root = os.fspath(parser_or_root)
        else:
            raise TypeError(
                f"PhyperPersister() takes a phyper parser or instance, or a root folder, not "
                f"{parser_or_root!r}"
            )
        self.resource_name = None if resource_name in (None, "", "all") else resource_name
        self._check_resource(self.resource_name)
        self._instances = list(instances) if instances is not None else None
        self._by_hash: dict[tuple[str | None, str], Parser] = {}
        self._logs: dict[str, _AppLog] = {}
        self._folders: dict[tuple[str, str | None], str] = {}  # checked once per application

    @classmethod
    def for_instances(
        cls, instances: Iterable[Parser], resource_name: str | None = None
    ) -> PhyperPersister:
        """A persister for the applications of these instances (their hashes as ids)."""
        instances = list(instances)
        if not instances:
            raise ValueError("PhyperPersister.for_instances() needs at least one instance")
        return cls(instances[0], resource_name, instances=instances)

    def copy(self) -> PhyperPersister:
        source = self.parser if self.parser is not None else self.root
        return PhyperPersister(source, self.resource_name, instances=self._instances)

    # Burr asks whether the storage is set up; a folder needs no setup
    def initialize(self) -> None:
        os.makedirs(self.root, exist_ok=True)

    def is_initialized(self) -> bool:
        return True

    # ------------------------------------------------------------------------------ paths

    def _check_resource(self, resource: str | None) -> None:
        if self.parser is None or resource is None:
            return
        names = typing.cast("Parser", self.parser).get_resource_names()
        if resource not in names:
            raise UnknownResourceError(
                f"partition key {resource!r} is not a resource of {type(self.parser).__name__}: "
                f"registered resources are {names} (None is the full instance)"
            )

    def _resource(self, partition_key: str | None) -> str | None:
        if partition_key in (None, ""):
            return self.resource_name
        resource = None if partition_key == "all" else partition_key
        self._check_resource(resource)
        return resource

    def folder(self, app_id: str, partition_key: str | None = None) -> str:
        """``<root>/<resource or all>/<app_id>``: where an application's files live."""
        if not isinstance(app_id, str) or not HASH_PATTERN.match(app_id):
            raise BurrStateError(
                f"application id {app_id!r} is not a phyper hash: build the application with "
                ".with_identifiers(app_id=instance.get_instance_hash()) (Burr's default id is "
                "a random uuid, which names no hash folder)"
            )
        resource = self._resource(partition_key)
        return os.path.join(self.root, folder_name(resource), app_id)

    def _instance(self, app_id: str, resource: str | None) -> Parser | None:
        if self._instances is None:
            return None
        if not self._by_hash:
            for instance in self._instances:
                for name in {self.resource_name, resource}:
                    self._by_hash.setdefault((name, instance_hash(instance, name)), instance)
        key = (resource, app_id)
        if key not in self._by_hash:
            for instance in self._instances:
                self._by_hash.setdefault((resource, instance_hash(instance, resource)), instance)
        found = self._by_hash.get(key)
        if found is None:
            raise BurrStateError(
                f"application id {app_id} is not the {folder_name(resource)!r} hash of any of "
                f"the persister's {len(self._instances)} instances"
            )
        return found

    # ------------------------------------------------------------------------------- save

    def save(
        self,
        partition_key: str | None,
        app_id: str,
        sequence_id: int,
        position: str,
        state: State[typing.Any],
        status: typing.Literal["completed", "failed"],
        **kwargs: typing.Any,
    ) -> None:
        """Commit one step: new arrays, the history line (appended), then the state (written
        over the older of the two slots and flushed to disk: the commit)."""
        folder = self._folders.get((app_id, partition_key))
        if folder is None:
            folder = self._folders[(app_id, partition_key)] = self.folder(app_id, partition_key)
        tracked = _TRACKED.get(os.path.abspath(folder)) if _TRACKED else None
        interruption = _interruption()
        if interruption is not None:  # the action did not run to its end: nothing to commit
            if tracked is not None:
                tracked.stop_on(interruption)
            return
        values = state.get_all()
        arrays: dict[str, bytes] = {}
        encoded = {key: _encode(value, repr(key), arrays) for key, value in values.items()}
        log = self._logs.get(folder)
        if log is None:
            log = self._open_log(folder, app_id, partition_key)
        array_folder = os.path.join(folder, ARRAYS_DIR)
        new_arrays = [name for name in arrays if name not in log.arrays]
        if new_arrays:
            created = not os.path.isdir(array_folder)
            os.makedirs(array_folder, exist_ok=True)
            for name in new_arrays:
                if not os.path.exists(os.path.join(array_folder, name)):
                    write_atomic(os.path.join(array_folder, name), arrays[name])
            _sync_folder(array_folder)  # their names on disk before a state refers to them
            if created:
                _sync_folder(folder)
        timestamp = datetime.datetime.now(datetime.timezone.utc).isoformat()
        row = {"sequence_id": sequence_id, "position": position, "status": status}
        row["timestamp"] = timestamp
        row.update(_scalar_fields(values))
        line = (json.dumps(row, allow_nan=True) + "\n").encode("utf-8")
        log.append(line)  # not yet flushed: the state carries it until it is
        document = {
            "format": FORMAT,
            "version": VERSION,
            "app_id": app_id,
            "partition_key": partition_key,
            "commit": log.commit + 1,
            "sequence_id": sequence_id,
            "position": position,
            "status": status,
            "created_at": timestamp,
            "history_bytes": log.size,
            "history_tail": log.pending.decode("utf-8"),
            "state": encoded,
        }
        log.write_state(_seal(document))
        # only now, with the new state durable, may arrays go that neither it nor the
        # state before it (the other slot, read if this one is ever torn) names
        if log.arrays != arrays.keys():
            keep = log.arrays | arrays.keys()
            for name in log.previous_arrays - keep:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(array_folder, name))
            log.previous_arrays, log.arrays = log.arrays, set(arrays)
        elif log.previous_arrays != log.arrays:
            for name in log.previous_arrays - log.arrays:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(array_folder, name))
            log.previous_arrays = set(log.arrays)
        if log.legacy and log.commit >= 1:  # both slots hold newer states than version 1's
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(folder, STATE_FILE))
            log.legacy = False
        if tracked is not None:
            tracked.step_saved(status, sequence_id)

    def _open_log(self, folder: str, app_id: str, partition_key: str | None) -> _AppLog:
        resource = self._resource(partition_key)
        instance = self._instance(app_id, resource)
        os.makedirs(folder, exist_ok=True)
        if instance is not None:
            write_info_files([instance], [resource])
        log = _AppLog(folder, _read_slots(folder))
        self._remove_orphan_arrays(folder, log.arrays | log.previous_arrays)
        if len(self._logs) >= _MAX_OPEN_LOGS:
            self.close()
        self._logs[folder] = log
        return log

    @staticmethod
    def _remove_orphan_arrays(folder: str, keep: set[str]) -> None:
        """Array files of steps that were never committed (this process is the writer)."""
        with (
            contextlib.suppress(FileNotFoundError),
            os.scandir(os.path.join(folder, ARRAYS_DIR)) as entries,
        ):
            for entry in entries:
                if entry.name not in keep and entry.is_file(follow_symlinks=False):
                    os.unlink(entry.path)

    def close(self) -> None:
        """Close the files kept open between steps (reopened as needed)."""
        for log in self._logs.values():
            log.close()
        self._logs.clear()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    # ------------------------------------------------------------------------------- load

    @staticmethod
    def _read_document(folder: str) -> dict[str, typing.Any] | None:
        """The newest committed state of the folder, or None."""
        slots = _read_slots(folder)
        return slots[0] if slots else None

    def load(
        self,
        partition_key: str | None,
        app_id: str | None,
        sequence_id: int | None = None,
        **kwargs: typing.Any,
    ) -> PersistedStateData | None:
        """The latest committed state of an application (or, with ``app_id=None``, of the
        most recently saved application of the partition), or None if it has none."""
        if app_id is None:
            ids = self.list_app_ids(partition_key)
            if not ids:
                return None
            app_id = ids[0]
        folder = self.folder(app_id, partition_key)
        document = self._read_document(folder)
        if document is None:
            return None
        if sequence_id is not None and sequence_id != document["sequence_id"]:
            raise BurrStateError(
                f"PhyperPersister keeps the full state of the latest step only (sequence_id "
                f"{document['sequence_id']} in {folder!r}), not of step {sequence_id}; the "
                f"scalar fields of every step are in {HISTORY_FILE}"
            )
        state = {k: _decode(v, folder, repr(k)) for k, v in document["state"].items()}
        persisted: PersistedStateData = {
            "partition_key": partition_key,  # type: ignore[typeddict-item]  # None: no partition
            "app_id": app_id,
            "sequence_id": document["sequence_id"],
            "position": document["position"],
            "state": State(state),
            "created_at": document["created_at"],
            "status": document["status"],
        }
        return persisted

    def list_app_ids(self, partition_key: str | None, **kwargs: typing.Any) -> list[str]:
        """The hashes of the partition's applications, the most recently saved first."""
        parent = os.path.join(self.root, folder_name(self._resource(partition_key)))
        found: list[tuple[float, str]] = []
        with contextlib.suppress(FileNotFoundError), os.scandir(parent) as entries:
            for entry in entries:
                if not HASH_PATTERN.match(entry.name):
                    continue
                times = []
                for name in (*STATE_FILES, STATE_FILE):
                    with contextlib.suppress(FileNotFoundError):
                        times.append(os.stat(os.path.join(entry.path, name)).st_mtime)
                if times:
                    found.append((max(times), entry.name))
        return [name for _, name in sorted(found, reverse=True)]

    # ------------------------------------------------------------------------------ gates

    def gate_input(
        self,
        app: Application[typing.Any],
        gate: str,
        *,
        reason: str | None = None,
        note: str | None = None,
    ) -> dict[str, typing.Any] | None:
        """At a human go/no-go gate: the decision as the gate action's inputs
        (``{"decision": "go" | "no-go", "note": ...}``), or None while it awaits one.

        Call it when ``app.run(halt_before=[gate])`` returned with ``gate`` as the next action.
        Without a decision yet, the folder's ``run.json`` records that the application awaits
        one, so ``phyper runs`` lists it and ``phyper decide HASH --go`` accepts it.
        """
        following = app.get_next_action()
        if following is None or following.name != gate:
            raise DecisionError(
                f"application {app.uid} is not halted before gate {gate!r} (its next action is "
                f"{None if following is None else following.name!r}); run it with "
                f"halt_before=[{gate!r}] first"
            )
        folder = self.folder(app.uid, app.partition_key)
        decision = decision_input(folder, gate)
        if decision is None:
            _refuse_training_run(folder)
            state = _gate.await_decision(
                folder,
                run_hash=app.uid,
                resource=folder_name(self._resource(app.partition_key)),
                gate=gate,
                reason=reason or f"Burr application halted before action {gate!r}",
                note=note,
            )
            if state.epoch != _steps(app):
                state.epoch = _steps(app)
                write_state(folder, state)
            tracked = _TRACKED.get(os.path.abspath(folder))
            if tracked is not None:
                tracked.state = state
                tracked.release()
        else:
            self.track(app)  # after the decision: its status and step count from here on
        return decision

    def track(self, app: Application[typing.Any]) -> None:
        """Keep the application's ``run.json`` true from now on, as ``tune.Run`` keeps its
        own: ``running`` (with the folder's ``run.lock`` held, so a second process is refused
        and a killed one shows as interrupted), ``completed`` once a step leaves the
        application at its end, ``failed`` when an action raises, ``interrupted`` on Ctrl-C;
        ``epoch`` is the number of steps committed (exact at each change of status, else
        refreshed at most once a second). :meth:`run` and a decided
        :meth:`gate_input` call it; calling it again is harmless.
        """
        folder = self.folder(app.uid, app.partition_key)
        key = os.path.abspath(folder)
        tracked = _TRACKED.get(key)
        if tracked is not None and tracked.app() is app:
            if tracked.state.status is not Status.RUNNING:
                tracked.refresh()
            return
        if tracked is not None:
            tracked.release()
        _refuse_training_run(folder)
        os.makedirs(folder, exist_ok=True)
        resource = folder_name(self._resource(app.partition_key))
        tracked = _TRACKED[key] = _Tracked(app, folder, resource)
        tracked.refresh()

    def run(self, app: Application[typing.Any], *, gates: Sequence[str] = ()) -> str:
        """Run (or resume) ``app`` until its end or an undecided gate, keeping ``run.json``
        true (:meth:`track`); returns the status it ends with: ``"completed"``,
        ``"awaiting_decision"`` (``phyper decide`` answers it; run it again then) or
        ``"stopped"`` (a no-go). The actions named in ``gates`` take the decision as their
        inputs (:meth:`gate_input`). Ctrl-C marks the run ``interrupted``, an exception
        ``failed``; both are raised again.

        In a folder that holds a ``tune.Run`` (whose ``run.json`` it is), the application runs
        without a ``run.json`` of its own, and a gate is an error.
        """
        gates = list(gates)
        folder = self.folder(app.uid, app.partition_key)
        tracked = None
        if _training_run(folder) is None:
            self.track(app)
            tracked = _TRACKED[os.path.abspath(folder)]
        try:
            while (following := app.get_next_action()) is not None:
                if following.name in gates:
                    inputs = self.gate_input(app, following.name)
                    if inputs is None:
                        return Status.AWAITING_DECISION.value
                    app.step(inputs=inputs)
                else:
                    app.run(halt_before=gates, halt_after=_final_actions(app))
        except BaseException as error:
            if tracked is not None:
                tracked.stop_on(error)
            raise
        if tracked is None:
            return Status.COMPLETED.value
        tracked.settle()
        return tracked.state.status.value


# --------------------------------------------------------------------------------- run.json


def _final_actions(app: Application[typing.Any]) -> list[str]:
    """The actions with no way out: where ``app.run`` halts (Burr wants a halt condition)."""
    graph = app.graph
    sources = {transition.from_.name for transition in graph.transitions}
    return [action.name for action in graph.actions if action.name not in sources]


def _steps(app: Application[typing.Any]) -> int:
    """How many steps the application has committed (Burr's sequence id counts from 0)."""
    sequence_id = app.sequence_id
    return 0 if sequence_id is None else sequence_id + 1


def _interruption() -> BaseException | None:
    """The Ctrl-C (or SystemExit) propagating through Burr while it saves, if any.

    Burr's step catches ``Exception`` only, so when an action is interrupted it still calls
    ``save`` from a ``finally`` block, with status "completed" and the state from *before*
    the action: committed, the next start would skip that action. ``sys.exc_info()`` inside
    that ``finally`` names the propagating interruption."""
    error = sys.exc_info()[1]
    return error if error is not None and not isinstance(error, Exception) else None


class _Tracked:
    """One application whose ``run.json`` the persister keeps, and the folder lock it holds
    while the application runs."""

    def __init__(self, app: Application[typing.Any], folder: str, resource: str) -> None:
        lock = FolderLock(
            os.path.join(folder, LOCK_FILE), RunLockedError, f"Burr application {app.uid}"
        )
        # an application dropped mid-run frees its folder (the lock is not the object's)
        self.app = weakref.ref(app, lambda _: lock.release())
        self.lock = lock
        self.folder = folder
        self.state = RunState(hash=app.uid, resource=resource)
        self.steps = 0  # committed, as known in this process (run.json may lag a second)
        self.written = 0.0  # when run.json was last written (time.monotonic)

    def release(self) -> None:
        self.lock.release()

    def refresh(self) -> None:
        """At the start of a session: running (lock taken) unless a gate or a no-go holds it."""
        app = self.app()
        assert app is not None
        recorded = read_state(self.folder, app.uid)
        if recorded is not None:
            self.state = recorded
        if self.state.status in (Status.AWAITING_DECISION, Status.STOPPED):
            self._write(self.state.status, _steps(app))
        elif app.get_next_action() is None:
            self._write(Status.COMPLETED, _steps(app), reason=_at_end(app))
        else:
            self._write(Status.RUNNING, _steps(app))

    def step_saved(self, status: str, sequence_id: int | None) -> None:
        """After ``save`` committed a step: the status that is now true. (A failed step keeps
        the count: Burr numbers it, but runs the action again on the next start.)"""
        app = self.app()
        if app is None:
            return
        steps = self.steps if status == "failed" or sequence_id is None else sequence_id + 1
        if self.state.status in (Status.AWAITING_DECISION, Status.STOPPED):
            self._write(self.state.status, steps)
        elif status == "failed":
            error = sys.exc_info()[1]
            self._write(Status.FAILED, steps, error=_describe(error))
        elif app.get_next_action() is None:
            self._write(Status.COMPLETED, steps, reason=_at_end(app))
        else:
            self._write(Status.RUNNING, steps)

    def stop_on(self, error: BaseException) -> None:
        """The session ended by ``error`` (Ctrl-C: interrupted; anything else: failed)."""
        steps = _committed_steps(self.folder, self.steps)  # Burr counted the interrupted step
        if isinstance(error, Exception):
            if self.state.status is Status.RUNNING:
                self._write(Status.FAILED, steps, error=_describe(error))
        elif self.state.status in (Status.RUNNING, Status.FAILED):
            self._write(Status.INTERRUPTED, steps, reason=_describe(error))
        self.release()

    def settle(self) -> None:
        app = self.app()
        if app is not None and self.state.status is Status.RUNNING:
            self.refresh()

    def _write(
        self,
        status: Status,
        steps: int,
        *,
        reason: str | None = None,
        error: str | None = None,
    ) -> None:
        if status is Status.RUNNING and self.lock.fd is None:
            self.lock.acquire(wait=False)  # one process per application, as tune.Run
        self.steps = steps
        state = self.state
        changed = status is not state.status
        if not changed and steps == state.epoch:
            return
        now = time.monotonic()
        if not changed and status is Status.RUNNING and now - self.written < _COUNT_EVERY_SECONDS:
            return  # a running count: written at most once a second; every change at once
        self.written = now
        state = state.copy()
        state.status, state.epoch = status, steps
        if changed and status not in (Status.AWAITING_DECISION, Status.STOPPED):
            state.reason, state.error = reason, error
        write_state(self.folder, state) if changed else _write_steps(self.folder, state)
        self.state = state
        if status is not Status.RUNNING:
            self.release()


def _committed_steps(folder: str, default: int) -> int:
    """The steps the folder's state file has committed (the truth, whatever was interrupted)."""
    try:
        document = PhyperPersister._read_document(folder)
    except BurrStateError:
        return default
    return default if document is None else int(document["sequence_id"]) + 1


def _write_steps(folder: str, state: RunState) -> None:
    """Only the step count changed: replaced atomically, without waiting for the disk (a power
    cut may leave the previous count, never a damaged file on a journaling file system)."""
    state.updated = _now()
    write_atomic(os.path.join(folder, "run.json"), state.to_bytes(), durable=False)


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds")


def _describe(error: BaseException | None) -> str | None:
    if error is None:
        return None
    if isinstance(error, KeyboardInterrupt):
        return "interrupted (Ctrl-C); start it again to resume at the interrupted action"
    return f"{type(error).__name__}: {error}"


def _at_end(app: Application[typing.Any]) -> str:
    position = app.state.get("__PRIOR_STEP") if "__PRIOR_STEP" in app.state else None
    return f"the application reached its end (last action {position!r})"


_TRACKED: dict[str, _Tracked] = {}  # absolute folder -> the application kept there
_COUNT_EVERY_SECONDS = 1.0


# ---------------------------------------------------------------------------------- history


def load_history(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A ``burr_states.jsonl`` as a DataFrame, one row per step (a ``loader=`` for
    ``phyper.collect(instances, path_function, loader=load_history)``)."""
    import pandas as pd

    with open(path, encoding="utf-8") as stream:
        records = [json.loads(line) for line in stream if line.endswith("\n")]
    return pd.DataFrame.from_records(records)


# ------------------------------------------------------------------------------------ gates


def _folder_of(
    instance_or_folder: Parser | str | os.PathLike[str], resource_name: str | None
) -> str:
    if is_instance(instance_or_folder):
        return typing.cast("Parser", instance_or_folder).get_resources_path(resource_name)
    return os.fspath(typing.cast(str, instance_or_folder))


def _has_burr_state(folder: str) -> bool:
    return any(os.path.exists(os.path.join(folder, name)) for name in (*STATE_FILES, STATE_FILE))


def _training_run(folder: str) -> RunState | None:
    """The state of the ``tune.Run`` in the folder, if its ``run.json`` is one's."""
    state = read_state(folder)
    if state is not None and (
        state.metrics_bytes
        or state.checkpoint
        or os.path.exists(os.path.join(folder, METRICS_FILE))
        or (state.epoch and not _has_burr_state(folder))
    ):
        return state
    return None


def _refuse_training_run(folder: str) -> None:
    """A Burr gate writes the folder's run.json: never over a ``tune.Run``'s own state."""
    state = _training_run(folder)
    if state is not None:
        raise DecisionError(
            f"folder {folder!r} holds a tune.Run training run (run.json at epoch {state.epoch}); "
            "a Burr gate records its pause in the same file, so give the Burr application its "
            "own folder (another resource as partition key, or another root)"
        )


def await_decision(
    instance_or_folder: Parser | str | os.PathLike[str],
    gate: str,
    *,
    reason: str,
    note: str | None = None,
    resource_name: str | None = None,
) -> None:
    """Record in the folder's ``run.json`` that it awaits a go/no-go decision at ``gate``
    (what ``phyper decide`` and ``phyper runs --status awaiting_decision`` read)."""
    folder = _folder_of(instance_or_folder, resource_name)
    os.makedirs(folder, exist_ok=True)
    _refuse_training_run(folder)
    _gate.await_decision(
        folder,
        run_hash=os.path.basename(os.path.normpath(folder)),
        resource=folder_name(resource_name)
        if is_instance(instance_or_folder)
        else os.path.basename(os.path.dirname(os.path.normpath(folder))),
        gate=gate,
        reason=reason,
        note=note,
    )


def decision_input(
    instance_or_folder: Parser | str | os.PathLike[str],
    gate: str,
    *,
    resource_name: str | None = None,
) -> dict[str, typing.Any] | None:
    """The decision ``phyper decide`` recorded for ``gate`` as Burr inputs,
    ``{"decision": "go" | "no-go", "note": str | None}``, or None if there is none yet.

    A pending gate in ``run.json`` is marked decided (``running`` after go, ``stopped`` after
    no-go); asked again, the same decision is returned."""
    folder = _folder_of(instance_or_folder, resource_name)
    document = _gate.take_decision(folder, gate)
    if document is None:
        return None
    return {"decision": document["decision"], "note": document["note"]}


# ------------------------------------------------------------------------------- conditions


def _history(
    state: State[typing.Any] | Mapping[str, object], key: str, elapsed_key: str | None
) -> History:
    try:
        rows = state[key]
    except KeyError:
        raise BurrStateError(
            f"the state has no field {key!r}: the phyper condition reads the metric history "
            "from it (a list with one dict of metrics per epoch)"
        ) from None
    if not isinstance(rows, Sequence) or not all(isinstance(r, Mapping) for r in rows):
        raise BurrStateError(
            f"state field {key!r} is {type(rows).__name__}, expected a list with one dict of "
            "metrics per epoch"
        )
    elapsed = float(typing.cast(float, state[elapsed_key])) if elapsed_key else 0.0
    return History.from_records(rows, elapsed_seconds=elapsed)


def fired(
    condition: Condition,
    state: State[typing.Any] | Mapping[str, object],
    *,
    history_key: str = "history",
    elapsed_key: str | None = None,
) -> Fired | None:
    """Which member of a phyper condition fires on the history kept in a Burr state, and why
    (e.g. for the final action to record why training stopped), or None."""
    return condition.check(_history(state, history_key, elapsed_key))


def stop_condition_for_burr(
    condition: Condition, *, history_key: str = "history", elapsed_key: str | None = None
) -> BurrCondition:
    """A phyper termination condition as a Burr transition condition.

    It reads the metric history from the state field ``history_key`` (a list with one dict of
    metrics per epoch, epoch 1 first) and, for ``tune.time_budget``, the training seconds
    from ``elapsed_key``. Compose it with Burr's ``|``, ``&`` and ``~`` like any condition.
    """
    if not isinstance(condition, Condition):
        raise TypeError(
            f"stop_condition_for_burr() takes a phyper condition such as tune.max_epochs(10), "
            f"not {condition!r}"
        )
    keys = [history_key] + ([elapsed_key] if elapsed_key else [])

    def resolve(state: State[typing.Any]) -> bool:
        return condition.check(_history(state, history_key, elapsed_key)) is not None

    return BurrCondition(keys, resolve, name=f"phyper: {condition!r}")


# ------------------------------------------------------------------------------------ hooks


class BurrRun:
    """What a phyper hook gets as ``run=`` under Burr: the application's identity, its stop
    condition (``ProgressBar`` reads ``run.stop``) and its latest state."""

    def __init__(self, app_id: str, partition_key: str | None, stop: Condition | None) -> None:
        self.app_id = app_id
        self.hash = app_id
        self.partition_key = partition_key
        self.stop = stop
        self.state: State[typing.Any] | None = None
        self.failed = False  # a step of the current call raised


class TuneHooks(PreApplicationExecuteCallHook, PostRunStepHook, PostApplicationExecuteCallHook):
    """phyper's training hooks (``tune.ProgressBar``, your ``EpochEndHook`` ...) as one Burr
    lifecycle adapter: ``ApplicationBuilder().with_hooks(TuneHooks(hooks, epoch_action=...))``.

    - ``on_run_start`` when ``app.run()`` (or ``step``, ``iterate``) is called, with the epochs
      already in the history;
    - ``on_epoch_end`` after each run of ``epoch_action`` (the action that appends the epoch's
      metrics to ``history_key``), with that row and the whole :class:`History`;
    - ``on_failure`` when an action raised; ``on_stop`` when the call returns (``result=None``:
      under Burr, the application's state is the result).

    ``run=`` is a :class:`BurrRun`; every call also passes ``app_id``, ``partition_key`` and
    ``state``, which hooks written for ``tune.Run`` take in ``**future_kwargs``. A hook that
    raises stops the application with a :class:`~phyper.tune.HookError` naming it.
    """

    def __init__(
        self,
        hooks: Iterable[Hook],
        *,
        epoch_action: str,
        history_key: str = "history",
        stop: Condition | None = None,
        instance: Parser | None = None,
    ) -> None:
        self.hooks = tuple(hooks)
        for hook in self.hooks:
            if not isinstance(hook, Hook):
                raise TypeError(f"{hook!r} is not a phyper.tune hook")
        self.epoch_action = epoch_action
        self.history_key = history_key
        self.stop = stop
        self.instance = instance
        self._runs: dict[tuple[str | None, str], BurrRun] = {}

    def _run(self, app_id: str, partition_key: str | None, state: State[typing.Any]) -> BurrRun:
        run = self._runs.get((partition_key, app_id))
        if run is None:
            run = self._runs[(partition_key, app_id)] = BurrRun(app_id, partition_key, self.stop)
        run.state = state
        return run

    def _call(self, base: type[Hook], moment: str, **arguments: object) -> None:
        for hook in self.hooks:
            if isinstance(hook, base):
                try:
                    getattr(hook, moment)(**arguments)
                except Exception as error:
                    raise HookError(
                        f"hook {type(hook).__name__} raised in {moment} of Burr application "
                        f"{arguments.get('app_id')}: {type(error).__name__}: {error}"
                    ) from error

    def _rows(self, state: State[typing.Any]) -> list[Mapping[str, float]]:
        rows = state.get(self.history_key) if self.history_key in state else None
        return list(rows) if isinstance(rows, Sequence) else []

    def pre_run_execute_call(
        self,
        *,
        app_id: str,
        partition_key: str,
        state: State[typing.Any],
        **future_kwargs: typing.Any,
    ) -> None:
        epoch = len(self._rows(state))
        self._call(
            RunStartHook,
            "on_run_start",
            run=self._run(app_id, partition_key, state),
            instance=self.instance,
            epoch=epoch,
            resumed=epoch > 0,
            app_id=app_id,
            partition_key=partition_key,
            state=state,
        )

    def post_run_step(
        self,
        *,
        app_id: str,
        partition_key: str,
        sequence_id: int,
        state: State[typing.Any],
        action: typing.Any,
        exception: Exception | None,
        **future_kwargs: typing.Any,
    ) -> None:
        run = self._run(app_id, partition_key, state)
        rows = self._rows(state)
        extras = {"app_id": app_id, "partition_key": partition_key, "state": state}
        if exception is not None:
            run.failed = True
            epoch = len(rows)
            self._call(FailureHook, "on_failure", run=run, epoch=epoch, error=exception, **extras)
        elif action.name == self.epoch_action and rows:
            history = _history(state, self.history_key, None)
            metrics = history.row(history.last_epoch)
            self._call(
                EpochEndHook,
                "on_epoch_end",
                run=run,
                epoch=history.last_epoch,
                metrics=metrics,
                history=history,
                sequence_id=sequence_id,
                **extras,
            )

    def post_run_execute_call(
        self,
        *,
        app_id: str,
        partition_key: str,
        state: State[typing.Any],
        exception: Exception | None,
        **future_kwargs: typing.Any,
    ) -> None:
        run = self._run(app_id, partition_key, state)
        # Burr 0.43 passes exception=None here even when the call raised: the failed step
        # is remembered instead (on_failure was called; as in tune.Run, on_stop is not)
        if exception is None and not run.failed:
            self._call(StopHook, "on_stop", run=run, result=None, app_id=app_id, state=state)
        run.failed = False
