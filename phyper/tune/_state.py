"""A run's durable state, ``run.json``: what is committed, read back with strict validation.

Only plain JSON is read (no pickle, no eval); every field is type-checked, and a state whose hash
is not its folder's (or the instance's) is refused rather than trusted.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import math
import os
import time
import typing
from dataclasses import dataclass, field

from .._store import write_new_file
from ._errors import RunStateError

STATE_FILE = "run.json"
METRICS_FILE = "metrics.csv"
LOCK_FILE = "run.lock"
CHECKPOINTS = "checkpoints"
FORMAT = "phyper-run"
VERSION = 1


class Status(str, enum.Enum):
    """Where a run stands. A ``str``, so ``status == "completed"`` works too."""

    RUNNING = "running"
    COMPLETED = "completed"  # a stop condition fired
    FAILED = "failed"  # an exception, a hook error or a non-finite metric
    AWAITING_DECISION = "awaiting_decision"  # a gate fired; `phyper decide` answers it
    STOPPED = "stopped"  # a no-go decision
    # Ctrl-C in training, or (derived when read) "running" with no process holding run.lock;
    # either way the run resumes from its last committed epoch when started again
    INTERRUPTED = "interrupted"
    PAUSED = "paused"  # at a successive-halving rung; promoted by resuming from its checkpoint

    def __str__(self) -> str:
        return self.value


RUNNING, COMPLETED, FAILED = Status.RUNNING, Status.COMPLETED, Status.FAILED
AWAITING_DECISION, STOPPED = Status.AWAITING_DECISION, Status.STOPPED
INTERRUPTED, PAUSED = Status.INTERRUPTED, Status.PAUSED


def now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds")


@dataclass
class RunState:
    """The fields of ``run.json``; see the module docstring of :mod:`phyper.tune._run`."""

    hash: str
    resource: str
    status: Status = Status.RUNNING
    epoch: int = 0
    metrics_bytes: int = 0
    checkpoint: str | None = None
    checkpoint_digest: str | None = None
    checkpoint_size: int | None = None
    best_epoch: int | None = None
    best_value: float | None = None
    best_checkpoint: str | None = None
    best_checkpoint_digest: str | None = None
    best_checkpoint_size: int | None = None
    monitor: str | None = None
    mode: str = "min"
    stopped_by: str | None = None
    reason: str | None = None
    error: str | None = None
    gate: str | None = None
    gate_note: str | None = None
    decided_gates: list[str] = field(default_factory=list)
    elapsed_seconds: float = 0.0
    created: str = field(default_factory=now_iso)
    updated: str = field(default_factory=now_iso)

    def copy(self) -> RunState:
        # a field-by-field copy: dataclasses.replace runs __init__ (a commit per epoch pays it)
        twin = object.__new__(RunState)
        twin.__dict__.update(self.__dict__)
        twin.decided_gates = list(self.decided_gates)
        return twin

    def to_bytes(self) -> bytes:
        # the instance's fields in declaration order (its __dict__, filled by __init__);
        # one line through json's C encoder (indent= falls back to pure Python, 0.1 ms)
        document: dict[str, object] = {"format": FORMAT, "version": VERSION, **self.__dict__}
        document["status"] = Status(self.status).value
        return (_ENCODER.encode(document) + "\n").encode("utf-8")


_ENCODER = json.JSONEncoder(allow_nan=False)


_OPTIONAL_STR = ("checkpoint", "checkpoint_digest", "best_checkpoint", "best_checkpoint_digest",
                 "monitor", "stopped_by", "reason", "error", "gate", "gate_note")  # fmt: skip
_OPTIONAL_INT = ("checkpoint_size", "best_epoch", "best_checkpoint_size")


def write_state(folder: str, state: RunState) -> None:
    """Commit ``state`` atomically (temporary file, fsync, rename).

    The first commit of a folder also announces the new run to watchers (see
    :func:`announce_new_run`)."""
    state.updated = now_iso()
    path = os.path.join(folder, STATE_FILE)
    first = not os.path.exists(path)
    # written every epoch and always different (the epoch changed): write_atomic's
    # compare-first read would be wasted; the folder exists (the run created it)
    write_new_file(path, state.to_bytes())
    if first:
        announce_new_run(folder)


def announce_new_run(folder: str) -> None:
    """Move the modification time of the run's resource folder forward.

    Watchers (the dashboard) find new runs by listing a resource folder only when its time
    changes, in O(1) per tick. A run started in a folder that already existed (a grid instance
    trained later), or whose ``run.json`` lands just after the watcher listed the new folder,
    changes no entry of the resource folder, so the run says so itself. The new time is
    strictly later than the old one, even within the file system's clock tick.
    """
    parent = os.path.dirname(os.path.abspath(folder))
    try:
        before = os.stat(parent)
        later = max(time.time_ns(), before.st_mtime_ns + 1)
        os.utime(parent, ns=(before.st_atime_ns, later))
    except OSError:
        pass  # not ours to touch (a read-only parent): watchers see the run when restarted


def read_state(folder: str, expected_hash: str | None = None) -> RunState | None:
    """The committed state of a run folder, or None if it has none yet.

    Raises :class:`RunStateError` naming the folder when the file is not JSON, is not a run
    state, lacks or mistypes a field, or records another hash than the folder's name (or than
    ``expected_hash``, the instance's).
    """
    path = os.path.join(folder, STATE_FILE)
    try:
        with open(path, "rb") as stream:
            raw = stream.read()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise RunStateError(f"run state {path!r} is unreadable: {error}") from None
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RunStateError(
            f"run state {path!r} in folder {folder!r} is not valid JSON ({error}); expected the "
            f"{FORMAT!r} file a run writes"
        ) from None
    return parse_state(document, folder, expected_hash)


def _fail(path: str, message: str) -> typing.NoReturn:
    raise RunStateError(f"run state {path!r}: {message}")


def parse_state(document: object, folder: str, expected_hash: str | None) -> RunState:
    path = os.path.join(folder, STATE_FILE)
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        _fail(path, f'not a run state (expected a JSON object with "format": {FORMAT!r})')
    if document.get("version") != VERSION:
        _fail(path, f"version {document.get('version')!r}; this phyper reads version {VERSION}")
    names = {f.name for f in dataclasses.fields(RunState)}
    missing = sorted(names - set(document))
    if missing:
        _fail(path, f"lacks field(s) {missing}")

    def check(name: str, ok: bool, expected: str) -> None:
        if not ok:
            _fail(path, f"field {name!r} is {document[name]!r}, expected {expected}")

    def is_int(value: object) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0

    for name in ("hash", "resource", "mode", "created", "updated"):
        check(name, isinstance(document[name], str), "a string")
    for name in _OPTIONAL_STR:
        check(name, document[name] is None or isinstance(document[name], str), "a string or null")
    for name in ("epoch", "metrics_bytes"):
        check(name, is_int(document[name]), "a non-negative integer")
    for name in _OPTIONAL_INT:
        check(name, document[name] is None or is_int(document[name]), "an integer or null")
    best = document["best_value"]
    check(
        "best_value",
        best is None
        or (isinstance(best, (int, float)) and not isinstance(best, bool) and math.isfinite(best)),
        "a finite number or null",
    )
    elapsed = document["elapsed_seconds"]
    check(
        "elapsed_seconds",
        isinstance(elapsed, (int, float)) and not isinstance(elapsed, bool) and elapsed >= 0,
        "a non-negative number",
    )
    gates = document["decided_gates"]
    check(
        "decided_gates",
        isinstance(gates, list) and all(isinstance(g, str) for g in gates),
        "a list of gate names",
    )
    statuses = [s.value for s in Status]
    check("status", document["status"] in statuses, f"one of {statuses}")
    for name in ("checkpoint", "best_checkpoint"):
        value = document[name]
        # a file name inside checkpoints/, never a path that could point elsewhere
        check(
            name,
            value is None or (os.sep not in value and not value.startswith(".")),
            "a file name",
        )
    folder_hash = os.path.basename(os.path.normpath(folder))
    if document["hash"] != folder_hash:
        _fail(
            path,
            f"records hash {document['hash']!r}, not the folder's {folder_hash!r}: the folder was "
            "renamed or the file copied from another run",
        )
    if expected_hash is not None and document["hash"] != expected_hash:
        _fail(path, f"records hash {document['hash']!r}, not the instance's {expected_hash!r}")
    values = {name: document[name] for name in names}
    values["status"] = Status(values["status"])
    values["best_value"] = None if best is None else float(best)
    values["elapsed_seconds"] = float(elapsed)
    return RunState(**values)
