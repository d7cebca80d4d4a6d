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
app.run(halt_after=["best"])      # killed and started again, it resumes at the next action
```

In the folder (the layout of ``tune.Run``'s files is untouched; both never share a folder's
run unless a Burr gate records a pending decision, see :func:`await_decision`)::

    burr_state.json     the latest state, replaced atomically (temporary file, fsync, rename)
    burr_states.jsonl   one JSON line per step: sequence_id, position, status, timestamp and
                        the state's scalar fields; appended and fsynced before the state file
                        (:func:`load_history`, or ``pandas.read_json(path, lines=True,
                        precise_float=True)``: pandas' default parser rounds floats)
    burr_arrays/        numpy arrays of the latest state, one ``<xxh3-128>.npy`` each

The state is written as JSON with exact types: numbers, strings, booleans, None, lists,
tuples, dicts with string keys, ``pathlib.Path``, numpy scalars and numpy arrays (as ``.npy``,
read back with ``allow_pickle=False``). Anything else is refused with
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
import typing
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
from ..tune import _gate, _state
from ..tune._conditions import Condition, Fired, History
from ..tune._errors import DecisionError, HookError
from ..tune._hooks import EpochEndHook, FailureHook, Hook, RunStartHook, StopHook

if typing.TYPE_CHECKING:
    import pandas as pd
    from burr.core import Application

    from .._parser import Parser

__all__ = [
    "ARRAYS_DIR",
    "HISTORY_FILE",
    "STATE_FILE",
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

STATE_FILE = "burr_state.json"
HISTORY_FILE = "burr_states.jsonl"
ARRAYS_DIR = "burr_arrays"
FORMAT = "phyper-burr-state"
VERSION = 1
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
        "It stores None, bool, int, float, str, pathlib.Path, numpy scalars and arrays, and "
        "lists, tuples and str-keyed dicts of those. Save the object yourself (a checkpoint "
        "file in the instance's folder) and keep its path in the state instead."
    )


def _array_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _encode(value: object, where: str, arrays: dict[str, bytes]) -> object:
    """JSON data for ``value``; arrays are added to ``arrays`` (file name -> .npy bytes)."""
    kind = type(value)
    if value is None or kind is bool or kind is int or kind is str:
        return value
    if kind is float:
        return value if math.isfinite(value) else {TAG: "float", "value": repr(value)}  # type: ignore[arg-type]
    if kind is list:
        return [
            _encode(v, f"{where}[{i}]", arrays)
            for i, v in enumerate(typing.cast("Sequence[object]", value))
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
            for i, v in enumerate(typing.cast("Sequence[object]", value))
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
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        item = _encode(value.item(), where, arrays)
        return {TAG: "numpy", "dtype": value.dtype.str, "value": item}
    if isinstance(value, np.generic):
        _refuse(where, value, "store it as a 0-d array: numpy.asarray(value)")
    if isinstance(value, pathlib.Path):
        return {TAG: "path", "value": str(value)}
    _refuse(where, value)


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
        return np.dtype(value["dtype"]).type(value["value"])
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
            value = value.item()
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


_sync = getattr(os, "fdatasync", os.fsync)  # the size changed: both flush it


class _AppLog:
    """The append handle of one application's history, and what its committed state uses."""

    def __init__(self, folder: str, committed: dict[str, typing.Any] | None) -> None:
        path = os.path.join(folder, HISTORY_FILE)
        recorded = 0 if committed is None else int(committed["history_bytes"])
        self.stream = open(path, "ab")  # noqa: SIM115 - kept open across steps
        size = os.fstat(self.stream.fileno()).st_size
        if size < recorded:
            self.stream.close()
            raise BurrStateError(
                f"{path!r} has {size} bytes but the state in {folder!r} recorded {recorded}: "
                "history rows were lost (restore the file, or delete the folder's burr_* files "
                "to start over)"
            )
        if size > recorded:  # rows of steps whose state was never committed: replayed
            self.stream.truncate(recorded)
        self.size = recorded
        self.arrays = set() if committed is None else _referenced_arrays(committed["state"], set())


class PhyperPersister(BaseStatePersister, BaseCopyable):
    """A Burr state persister that keeps each application in its instance's hash folder.

    ``PhyperPersister(parser_or_root, resource_name=None)``: the root comes from a parser (any
    instance) or is given as a path. The application id must be a phyper hash; the partition
    key names the resource (``None`` or ``""``: ``resource_name``, whose ``None`` is the full
    instance). ``PhyperPersister.for_instances(instances)`` also checks that every application
    id is the hash of one of them and writes phyper's metadata file into the folder.

    Each step is durable when Burr's ``save`` returns: the history line is appended and
    fsynced, then ``burr_state.json`` is replaced atomically. After a ``kill -9`` the last
    committed state is read back; a history line of a step that was not committed is cut off
    by the next save. One process writes to an application at a time.
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
        """Commit one step: new arrays, the history line (fsynced), then the state file."""
        folder = self.folder(app_id, partition_key)
        values = state.get_all()
        arrays: dict[str, bytes] = {}
        encoded = {key: _encode(value, repr(key), arrays) for key, value in values.items()}
        log = self._logs.get(folder)
        if log is None:
            log = self._open_log(folder, app_id, partition_key)
        array_folder = os.path.join(folder, ARRAYS_DIR)
        for name, data in arrays.items():
            if name not in log.arrays:
                os.makedirs(array_folder, exist_ok=True)
                if not os.path.exists(os.path.join(array_folder, name)):
                    write_atomic(os.path.join(array_folder, name), data)
        timestamp = datetime.datetime.now(datetime.timezone.utc).isoformat()
        row = {"sequence_id": sequence_id, "position": position, "status": status}
        row["timestamp"] = timestamp
        row.update(_scalar_fields(values))
        line = (json.dumps(row, allow_nan=True) + "\n").encode("utf-8")
        log.stream.write(line)
        log.stream.flush()
        _sync(log.stream.fileno())
        log.size += len(line)
        document = {
            "format": FORMAT,
            "version": VERSION,
            "app_id": app_id,
            "partition_key": partition_key,
            "sequence_id": sequence_id,
            "position": position,
            "status": status,
            "created_at": timestamp,
            "history_bytes": log.size,
            "state": encoded,
        }
        data = (json.dumps(document, allow_nan=False) + "\n").encode("utf-8")
        write_atomic(os.path.join(folder, STATE_FILE), data)
        # only now, with the new state durable, may arrays it no longer names go
        if log.arrays != arrays.keys():
            for name in log.arrays - arrays.keys():
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(array_folder, name))
            log.arrays = set(arrays)

    def _open_log(self, folder: str, app_id: str, partition_key: str | None) -> _AppLog:
        resource = self._resource(partition_key)
        instance = self._instance(app_id, resource)
        os.makedirs(folder, exist_ok=True)
        if instance is not None:
            write_info_files([instance], [resource])
        log = _AppLog(folder, self._read_document(folder))
        self._remove_orphan_arrays(folder, log.arrays)
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
        """Close the history files kept open between steps (reopened as needed)."""
        for log in self._logs.values():
            log.stream.close()
        self._logs.clear()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    # ------------------------------------------------------------------------------- load

    @staticmethod
    def _read_document(folder: str) -> dict[str, typing.Any] | None:
        path = os.path.join(folder, STATE_FILE)
        document = read_json(path, what="Burr state", error=BurrStateError)
        if document is None:
            return None
        if (
            not isinstance(document, dict)
            or document.get("format") != FORMAT
            or not isinstance(document.get("state"), dict)
        ):
            raise BurrStateError(
                f"{path!r} is not a Burr state written by PhyperPersister (expected a JSON "
                f'object with "format": {FORMAT!r})'
            )
        if document.get("version") != VERSION:
            raise BurrStateError(
                f"{path!r} has version {document.get('version')!r}; this phyper reads {VERSION}"
            )
        if document.get("app_id") != os.path.basename(os.path.normpath(folder)):
            raise BurrStateError(
                f"{path!r} records application {document.get('app_id')!r}, not its folder's "
                "hash: the folder was renamed or the file copied from another one"
            )
        return document

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
                with contextlib.suppress(FileNotFoundError):
                    modified = os.stat(os.path.join(entry.path, STATE_FILE)).st_mtime
                    found.append((modified, entry.name))
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
            _gate.await_decision(
                folder,
                run_hash=app.uid,
                resource=folder_name(self._resource(app.partition_key)),
                gate=gate,
                reason=reason or f"Burr application halted before action {gate!r}",
                note=note,
            )
        return decision


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


def _refuse_training_run(folder: str) -> None:
    """A Burr gate writes the folder's run.json: never over a ``tune.Run``'s own state."""
    state = _state.read_state(folder)
    if state is not None and (state.epoch or state.metrics_bytes or state.checkpoint):
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
