"""The training run: epochs as steps, durable commits, resumable after any kill.

Folder layout, under ``instance.get_resources_path(resource_name)``::

    phyper.json             what the folder is (phyper's metadata file)
    run.json                the committed state (_state.py)
    metrics.csv             epoch,<metrics>: one row per epoch, appended and flushed
    checkpoints/epoch-NNNNNN   the last checkpoint (and the best one, kept)
    run.lock                flock'ed by the training process; holds its pid, host, start
    decision-<gate>.json    go/no-go decisions (_gate.py)

Per epoch: ``report()`` appends the row and runs the stop conditions and gates;
``checkpoint()`` saves to a hidden temporary name, fsyncs and renames; the end of the loop body
commits ``run.json`` atomically (epoch, length of metrics.csv, checkpoint name and digest, best,
status). Older checkpoints are deleted only after that commit. A kill at any point therefore
leaves the last commit consistent: a newer checkpoint is an orphan (removed at the next start)
and metrics.csv is truncated back to the committed length, so every epoch appears once.
"""

from __future__ import annotations

import contextlib
import math
import os
import secrets
import time
import typing
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import xxhash

from .._parser import Parser
from .._store import HASH_PATTERN
from ._conditions import Condition, Fired, History, _Patience, _Target
from ._errors import CheckpointError, HookError, RunLockedError, RunStateError, RunUsageError
from ._gate import Gate, apply_decision
from ._hooks import MOMENTS, Hook, MetricLog, read_rows
from ._lock import FolderLock
from ._state import (
    CHECKPOINTS,
    LOCK_FILE,
    METRICS_FILE,
    STATE_FILE,
    RunState,
    Status,
    read_state,
    write_state,
)

if typing.TYPE_CHECKING:
    import pandas as pd

CHECKPOINT_PREFIX = "epoch-"
_FORBIDDEN_IN_METRIC = frozenset(',"\r\n')


@dataclass(frozen=True)
class RunResult:
    """What a run came to, from its committed state (``run.result`` or :func:`load_result`)."""

    hash: str
    folder: str
    status: Status
    epochs: int
    stopped_by: str | None
    reason: str | None
    best_epoch: int | None
    best_value: float | None
    monitor: str | None
    final_metrics: dict[str, float] = field(default_factory=dict)
    best_metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    gate: str | None = None


def _result(state: RunState, folder: str, rows: Sequence[dict[str, float]]) -> RunResult:
    def row(epoch: int | None) -> dict[str, float]:
        return dict(rows[epoch - 1]) if epoch and epoch <= len(rows) else {}

    return RunResult(
        hash=state.hash,
        folder=folder,
        status=state.status,
        epochs=state.epoch,
        stopped_by=state.stopped_by,
        reason=state.reason,
        best_epoch=state.best_epoch,
        best_value=state.best_value,
        monitor=state.monitor,
        final_metrics=row(state.epoch),
        best_metrics=row(state.best_epoch),
        error=state.error,
        gate=state.gate,
    )


# ------------------------------------------------------------------------------------- lock


# -------------------------------------------------------------------------------------- run


def _digest(path: str, sync: bool = False) -> tuple[str, int]:
    """xxh3-128 and size of a file; with ``sync``, the file is also flushed to disk (one open
    for both)."""
    hasher = xxhash.xxh3_128()
    size = 0
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            hasher.update(chunk)
            size += len(chunk)
        if sync:
            os.fsync(stream.fileno())
    return hasher.hexdigest(), size


class Run:
    """One training run of one instance: a context manager around the epoch loop.

    >>> import phyper, tempfile
    >>> from phyper.tune import max_epochs
    >>> class Net(phyper.Parser):
    ...     seed = 0
    >>> instance = Net(hashed_resources_folder=tempfile.mkdtemp())
    >>> with Run(instance, stop=max_epochs(3)) as run:
    ...     for epoch in run.epochs():
    ...         run.report(loss=1.0 / epoch)
    >>> run.result.status, run.result.epochs, run.result.final_metrics
    (<Status.COMPLETED: 'completed'>, 3, {'loss': 0.3333333333333333})

    ``monitor`` is the metric whose best epoch is tracked (and whose checkpoint is kept);
    by default the first patience/target metric of ``stop``.
    """

    def __init__(
        self,
        instance: Parser,
        *,
        stop: Condition | None = None,
        hooks: Iterable[Hook] = (),
        gates: Iterable[Gate] = (),
        monitor: str | None = None,
        mode: str = "min",
        checkpoint_every: int = 1,
        resource_name: str | None = None,
        wait_for_lock: bool = False,
    ) -> None:
        if not isinstance(instance, Parser):
            raise RunUsageError(f"Run() takes a phyper instance, not {instance!r}")
        if stop is not None and not isinstance(stop, Condition):
            raise RunUsageError(
                f"Run(stop=...) takes a condition such as tune.max_epochs(100), not {stop!r}"
            )
        self.hooks: tuple[Hook, ...] = tuple(hooks)
        for hook in self.hooks:
            if not isinstance(hook, Hook):
                raise RunUsageError(
                    f"hook {hook!r} is not a phyper.tune hook: expected an instance of a "
                    "subclass of RunStartHook, EpochEndHook, CheckpointHook, StopHook or "
                    "FailureHook"
                )
        self.gates: tuple[Gate, ...] = tuple(gates)
        for gate in self.gates:
            if not isinstance(gate, Gate):
                raise RunUsageError(f"gate {gate!r} is not a tune.Gate(name, when)")
        names = [gate.name for gate in self.gates]
        for gate in self.gates:
            if names.count(gate.name) > 1:
                raise RunUsageError(f"gate name {gate.name!r} is used twice: names must be unique")
        if mode not in ("min", "max"):
            raise RunUsageError(f"Run(mode=...) must be 'min' or 'max', not {mode!r}")
        if (
            isinstance(checkpoint_every, bool)
            or not isinstance(checkpoint_every, int)
            or checkpoint_every < 1
        ):
            raise RunUsageError(
                f"Run(checkpoint_every=...) must be a positive integer, not {checkpoint_every!r}"
            )
        if monitor is None and stop is not None:
            for member in stop.walk():
                if isinstance(member, (_Patience, _Target)):
                    monitor, mode = member.metric, member.mode
                    break
        self.instance = instance
        self.stop = stop
        self.monitor = monitor
        self.mode = mode
        self.checkpoint_every = checkpoint_every
        self.resource_name = resource_name
        self.wait_for_lock = wait_for_lock
        self.hash = instance.get_instance_hash(resource_name)
        self.folder = instance.get_resources_path(resource_name)
        self.history = History()
        self._metric_log = MetricLog(os.path.join(self.folder, METRICS_FILE))
        self._by_moment = {
            moment: [h for h in self.hooks if isinstance(h, base)]
            for moment, base in MOMENTS.items()
        }
        # a future loop may pass more keyword arguments; tests set this to prove hooks cope
        self._hook_extras: dict[str, object] = {}
        self._lock = FolderLock(
            os.path.join(self.folder, LOCK_FILE), RunLockedError, f"run folder {self.folder!r}"
        )
        self._state: RunState | None = None
        self._phase = "new"  # new -> open -> closed
        self._finished = False
        self._iterating = False
        self._stateful = False
        self._checkpoints_made = False
        self._epoch: int | None = None
        self._reset_epoch()

    def _reset_epoch(self) -> None:
        self._reported = False
        self._checkpointed = False
        self._pending: tuple[str, str, int] | None = None
        self._fired: Fired | None = None
        self._gate_fired: tuple[Gate, Fired] | None = None
        self._is_best = False
        self._epoch_start = time.monotonic()

    # ------------------------------------------------------------------- public attributes

    @property
    def state(self) -> RunState:
        """The last committed state (a copy)."""
        return self._committed().copy()

    @property
    def epoch(self) -> int | None:
        """The epoch being trained, or None outside the loop body."""
        return self._epoch

    @property
    def stopping(self) -> bool:
        """True once this epoch's report fired a stop condition or a gate."""
        return self._fired is not None or self._gate_fired is not None

    @property
    def result(self) -> RunResult:
        """The run's result as committed (status, why it stopped, best epoch, metrics)."""
        return _result(self._committed(), self.folder, self.history.rows)

    def _committed(self) -> RunState:
        if self._state is None:
            raise RunUsageError(
                f"run of folder {self.folder!r} has not started: use it as `with Run(...) as run:`"
            )
        return self._state

    # ----------------------------------------------------------------------------- start

    def __enter__(self) -> Run:
        if self._phase != "new":
            raise RunUsageError(
                f"a Run object is entered once; create a new Run for {self.folder!r}"
            )
        self._phase = "open"
        os.makedirs(self.folder, exist_ok=True)
        self._lock.acquire(self.wait_for_lock)
        try:
            self._start()
        except BaseException as error:
            if self._state is not None and isinstance(error, HookError):
                self._fail(error)
            self._close()
            raise
        return self

    def _start(self) -> None:
        type(self.instance).generate_instance_info_files(
            [self.instance], resource_names=[self.resource_name]
        )
        recorded = read_state(self.folder, self.hash)
        state = (
            recorded.copy()
            if recorded is not None
            else RunState(hash=self.hash, resource=self.resource_name or "all")
        )
        rows = self._metric_log.load(state.metrics_bytes, state.epoch)
        self.history = History(state.elapsed_seconds)
        for row in rows:
            self.history.append(row)
        if (state.monitor, state.mode) != (self.monitor, self.mode):
            self._rebase_best(state)
        self._remove_orphans(state)
        if state.status is Status.AWAITING_DECISION and state.gate is not None:
            apply_decision(self.folder, state)
        if state.status in (Status.STOPPED, Status.AWAITING_DECISION):
            self._finished = True
        else:
            fired = self._check_stop() if self.history.last_epoch else None
            if fired is not None:
                state.status = Status.FAILED if fired.failed else Status.COMPLETED
                state.stopped_by, state.reason, state.error = fired.condition, fired.reason, None
                self._finished = True
            else:
                # a crashed, failed or no-longer-finished run carries on from its last commit
                state.status = Status.RUNNING
                state.stopped_by = state.reason = state.error = None
        if state != recorded:  # a finished run started again leaves its state untouched
            write_state(self.folder, state)
        self._state = state
        self._call(
            "on_run_start",
            run=self,
            instance=self.instance,
            epoch=state.epoch,
            resumed=state.epoch > 0,
        )

    def _rebase_best(self, state: RunState) -> None:
        """The monitored metric changed since the last session: recompute the best epoch; its
        checkpoint survives only if it is the last one."""
        state.monitor, state.mode = self.monitor, self.mode
        best = None
        if self.monitor is not None and self.history.last_epoch:
            best = self.history.best(self.monitor, self.mode)
        state.best_epoch, state.best_value = best if best is not None else (None, None)
        if best is not None and state.checkpoint == _checkpoint_name(best[0]):
            state.best_checkpoint = state.checkpoint
            state.best_checkpoint_digest = state.checkpoint_digest
            state.best_checkpoint_size = state.checkpoint_size
        else:
            state.best_checkpoint = state.best_checkpoint_digest = None
            state.best_checkpoint_size = None

    def _remove_orphans(self, state: RunState) -> None:
        """Checkpoints newer than the commit (or half-written) are never trusted: remove them.
        Safe, because this process holds the lock."""
        folder = os.path.join(self.folder, CHECKPOINTS)
        keep = {state.checkpoint, state.best_checkpoint}
        with contextlib.suppress(FileNotFoundError), os.scandir(folder) as entries:
            for entry in entries:
                if entry.name not in keep and entry.is_file(follow_symlinks=False):
                    os.unlink(entry.path)

    def _check_stop(self) -> Fired | None:
        return self.stop.check(self.history) if self.stop is not None else None

    # ----------------------------------------------------------------------------- hooks

    def _call(self, moment: str, **arguments: object) -> None:
        for hook in self._by_moment[moment]:
            try:
                getattr(hook, moment)(**arguments, **self._hook_extras)
            except Exception as error:
                raise HookError(
                    f"hook {type(hook).__name__} raised in {moment} of run folder "
                    f"{self.folder!r}: {type(error).__name__}: {error} (the run is marked "
                    "failed; started again, it resumes from its last checkpoint)"
                ) from error

    # ---------------------------------------------------------------------------- epochs

    def epochs(self) -> Iterator[int]:
        """Epoch numbers from the last committed one + 1, until a stop condition or a gate
        fires; each epoch is committed when the loop body returns. (Leaving the loop with
        ``break`` leaves that epoch uncommitted: it is trained again on resume.)"""
        self._require_open("epochs()")
        if self._iterating:
            raise RunUsageError(f"run.epochs() of folder {self.folder!r} is already iterating")
        self._iterating = True
        if not self._finished:
            epoch = self._committed().epoch
            while True:
                epoch += 1
                self._epoch = epoch
                self._reset_epoch()
                yield epoch
                self._commit(epoch)
                if self.stopping:
                    break
        self._epoch = None
        self._finished = True
        self._call("on_stop", run=self, result=self.result)

    def _require_open(self, what: str) -> None:
        if self._phase != "open":
            raise RunUsageError(
                f"{what} needs an open run: use it inside `with Run(...) as run:` "
                f"(folder {self.folder!r})"
            )

    def _require_epoch(self, what: str) -> int:
        if self._epoch is None:
            raise RunUsageError(
                f"{what} is called inside `for epoch in run.epochs():` (folder {self.folder!r})"
            )
        return self._epoch

    def report(self, **metrics: float) -> None:
        """Record this epoch's metrics: the CSV row is appended, then the stop conditions and
        gates run on the history (so :meth:`checkpoint` knows if this epoch is the last)."""
        epoch = self._require_epoch("run.report()")
        if self._reported:
            raise RunUsageError(f"run.report() was called twice in epoch {epoch}: once per epoch")
        row: dict[str, float] = {}
        for name, value in metrics.items():
            if name == "epoch" or _FORBIDDEN_IN_METRIC & set(name):
                raise RunUsageError(
                    f"metric name {name!r} cannot be a CSV column: expected a name without "
                    "commas, quotes or line breaks, other than 'epoch'"
                )
            try:
                row[name] = float(value)
            except (TypeError, ValueError):
                raise RunUsageError(
                    f"metric {name!r} = {value!r} at epoch {epoch} is not a number"
                ) from None
        columns = self._metric_log.columns
        if self._metric_log.started:
            late = [name for name in row if name not in columns]
            if late:
                raise RunUsageError(
                    f"metric {late[0]!r} first appears at epoch {epoch}, but the header of "
                    f"{self._metric_log.path!r} was fixed at epoch 1 as {list(columns)}: report "
                    "every metric from epoch 1 on (NaN where it has no value yet)"
                )
        self._reported = True
        self.history.append(row)
        self.history.elapsed_seconds = self._committed().elapsed_seconds + (
            time.monotonic() - self._epoch_start
        )
        self._metric_log.on_epoch_end(run=self, epoch=epoch, metrics=row, history=self.history)
        self._fired = self._check_stop()
        if self._fired is None:
            decided = self._committed().decided_gates
            for gate in self.gates:
                if gate.name not in decided:
                    fired = gate.when.check(self.history)
                    if fired is not None:
                        self._gate_fired = (gate, fired)
                        break
        if self.monitor is not None:
            best = self.history.best(self.monitor, self.mode)
            self._is_best = best is not None and best[0] == epoch
        self._call("on_epoch_end", run=self, epoch=epoch, metrics=dict(row), history=self.history)

    def checkpoint(self, obj: object, save: Callable[[object, str], object]) -> str | None:
        """Save ``obj`` with ``save(obj, path)`` when this epoch is due (every
        ``checkpoint_every`` epochs), the best so far, or the last (a stop or gate fired);
        returns the file's path, or None when nothing was due. ``save`` must write exactly
        ``path`` (``numpy.save`` appends ``.npy`` to a bare name: give it an open file)."""
        epoch = self._require_epoch("run.checkpoint()")
        if not self._reported:
            raise RunUsageError(
                f"run.checkpoint() before run.report() in epoch {epoch}: report first, so the "
                "run knows whether this epoch is the last one (which is always saved)"
            )
        if self._checkpointed:
            raise RunUsageError(f"run.checkpoint() was called twice in epoch {epoch}")
        self._checkpointed = True
        self._stateful = True
        due = epoch % self.checkpoint_every == 0 or self.stopping or self._is_best
        if not due:
            return None
        folder = os.path.join(self.folder, CHECKPOINTS)
        if not self._checkpoints_made:
            os.makedirs(folder, exist_ok=True)
            self._checkpoints_made = True
        name = _checkpoint_name(epoch)
        final = os.path.join(folder, name)
        temporary = os.path.join(folder, f".{name}.{secrets.token_hex(4)}.tmp")
        saver = getattr(save, "__qualname__", repr(save))
        try:
            save(obj, temporary)
        except Exception as error:
            _remove(temporary)
            raise CheckpointError(
                f"save function {saver} raised {type(error).__name__}: {error} while saving "
                f"the checkpoint of epoch {epoch} in run folder {self.folder!r}"
            ) from error
        if not os.path.isfile(temporary):
            hint = " (it wrote path + '.npy': numpy.save appends it; pass an open file)"
            if os.path.exists(temporary + ".npy"):
                _remove(temporary + ".npy")
            else:
                hint = ""
            raise CheckpointError(
                f"save function {saver} did not create the file it was given, {temporary!r}, "
                f"in run folder {self.folder!r}{hint}"
            )
        digest, size = _digest(temporary, sync=True)
        # The folder is not fsynced after the rename (as in write_atomic): ext4 and xfs journal
        # the rename before the later rename of run.json that refers to it, so a state that
        # survived a power cut finds its checkpoint; elsewhere, restore() would say it is
        # missing rather than restart silently. It saves one disk flush per epoch.
        os.replace(temporary, final)
        self._pending = (name, digest, size)
        self._call("on_checkpoint", run=self, epoch=epoch, path=final, is_best=self._is_best)
        return final

    def _commit(self, epoch: int) -> None:
        if not self._reported:
            raise RunUsageError(
                f"epoch {epoch} of run folder {self.folder!r} ended without run.report(...): "
                "every epoch reports its metrics once (the stop conditions read them)"
            )
        previous = self._committed()
        if self._stateful and self._pending is None:
            # the model of this epoch was not saved: committing would resume with a stale model
            if self.stopping:
                warnings.warn(
                    f"epoch {epoch} ended run {self.folder!r} but saved no checkpoint "
                    f"(run.checkpoint was not called); its state stays at epoch "
                    f"{previous.epoch} and a restart replays the epochs after it",
                    stacklevel=3,
                )
            return
        state = previous.copy()
        state.epoch = epoch
        state.metrics_bytes = self._metric_log.sync()
        state.elapsed_seconds = previous.elapsed_seconds + (time.monotonic() - self._epoch_start)
        if self._pending is not None:
            state.checkpoint, state.checkpoint_digest, state.checkpoint_size = self._pending
        if self._is_best:
            state.best_epoch = epoch
            state.best_value = self.history.rows[epoch - 1][typing.cast(str, self.monitor)]
            state.best_checkpoint = state.checkpoint if self._pending else None
            state.best_checkpoint_digest = state.checkpoint_digest if self._pending else None
            state.best_checkpoint_size = state.checkpoint_size if self._pending else None
        if self._fired is not None:
            state.status = Status.FAILED if self._fired.failed else Status.COMPLETED
            state.stopped_by, state.reason = self._fired.condition, self._fired.reason
        elif self._gate_fired is not None:
            gate, fired = self._gate_fired
            state.status = Status.AWAITING_DECISION
            state.gate, state.gate_note = gate.name, gate.note
            state.reason = f"gate {gate.name}: {fired.reason}"
        write_state(self.folder, state)
        self._state = state
        # only now, with the new state durable, may the files it no longer names go
        keep = {state.checkpoint, state.best_checkpoint}
        for name in {previous.checkpoint, previous.best_checkpoint} - keep:
            if name is not None:
                _remove(os.path.join(self.folder, CHECKPOINTS, name))

    # --------------------------------------------------------------------------- restore

    def restore(self, load: Callable[[str], object], *, best: bool = False) -> typing.Any:
        """``load(path)`` of the last committed checkpoint (or the best one), or None if there
        is none. The file's size and xxh3-128 digest must match the state: a damaged
        checkpoint raises :class:`CheckpointError`, never a silent restart from zero."""
        self._require_open("run.restore()")
        self._stateful = True
        state = self._committed()
        if best:
            name, digest, size = (
                state.best_checkpoint,
                state.best_checkpoint_digest,
                state.best_checkpoint_size,
            )
        else:
            name, digest, size = state.checkpoint, state.checkpoint_digest, state.checkpoint_size
        if name is None:
            return None
        path = os.path.join(self.folder, CHECKPOINTS, name)
        try:
            found = _digest(path)
        except FileNotFoundError:
            raise CheckpointError(
                f"checkpoint {name!r} of run folder {self.folder!r} is missing; the state "
                "names it as the last good one (restore the file, or delete the folder to "
                "train from scratch)"
            ) from None
        if found != (digest, size):
            raise CheckpointError(
                f"checkpoint {name!r} of run folder {self.folder!r} is damaged: {found[1]} bytes "
                f"with digest {found[0]}, but the state recorded {size} bytes with digest "
                f"{digest} (restore the file, or delete the folder to train from scratch)"
            )
        loader = getattr(load, "__qualname__", repr(load))
        try:
            return load(path)
        except Exception as error:
            raise CheckpointError(
                f"load function {loader} failed on checkpoint {name!r} of run folder "
                f"{self.folder!r}: {type(error).__name__}: {error}"
            ) from error

    # ------------------------------------------------------------------------------- end

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> typing.Literal[False]:
        try:
            if exc is not None and self._state is not None:
                self._fail(exc)
        finally:
            self._close()
        return False  # never swallow the user's exception

    def _fail(self, error: BaseException) -> None:
        state = self._committed().copy()
        state.status = Status.FAILED
        state.error = f"{type(error).__name__}: {error}"
        state.stopped_by = state.reason = None
        epoch = self._epoch if self._epoch is not None else state.epoch
        for hook in self._by_moment["on_failure"]:
            try:
                hook.on_failure(run=self, epoch=epoch, error=error, **self._hook_extras)  # type: ignore[attr-defined]
            except Exception as hook_error:
                # never mask the original error; record that the hook failed as well
                state.error += (
                    f" (and hook {type(hook).__name__} raised in on_failure: "
                    f"{type(hook_error).__name__}: {hook_error})"
                )
        write_state(self.folder, state)
        self._state = state
        if self._pending is not None and self._pending[0] not in (
            state.checkpoint,
            state.best_checkpoint,
        ):
            _remove(os.path.join(self.folder, CHECKPOINTS, self._pending[0]))

    def _close(self) -> None:
        self._phase = "closed"
        self._epoch = None
        self._metric_log.close()
        self._lock.release()


def _checkpoint_name(epoch: int) -> str:
    return f"{CHECKPOINT_PREFIX}{epoch:06d}"


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


# ---------------------------------------------------------------------------------- reading


def load_result(
    instance_or_folder: Parser | str | os.PathLike[str], *, resource_name: str | None = None
) -> RunResult:
    """A run's result read from disk, without running (or locking) anything."""
    if isinstance(instance_or_folder, Parser):
        folder = instance_or_folder.get_resources_path(resource_name)
        expected = instance_or_folder.get_instance_hash(resource_name)
    else:
        folder, expected = os.fspath(instance_or_folder), None
    state = read_state(folder, expected)
    if state is None:
        raise RunStateError(
            f"folder {folder!r} holds no run (no run.json): expected a folder trained by tune.Run"
        )
    rows = read_rows(os.path.join(folder, METRICS_FILE), state.metrics_bytes, state.epoch)
    return _result(state, folder, rows)


RUN_COLUMNS = ["hash", "resource", "status", "epoch", "best_epoch", "best_value", "monitor",
               "stopped_by", "gate", "reason", "updated", "folder"]  # fmt: skip


def runs(root: str | os.PathLike[str]) -> pd.DataFrame:
    """Every run under ``root`` (``<root>/<resource>/<hash>/run.json``), one row each; a run
    whose state is unreadable is listed with status ``unreadable`` and the error as reason."""
    import pandas as pd

    root = os.fspath(root)
    if not os.path.isdir(root):
        raise RunStateError(f"results root {root!r} is not a folder")
    records: list[dict[str, object]] = []
    for resource in sorted(os.listdir(root)):
        resource_path = os.path.join(root, resource)
        if os.path.islink(resource_path) or not os.path.isdir(resource_path):
            continue
        for name in sorted(os.listdir(resource_path)):
            folder = os.path.join(resource_path, name)
            if not HASH_PATTERN.match(name) or not os.path.isfile(os.path.join(folder, STATE_FILE)):
                continue
            try:
                state = read_state(folder)
            except RunStateError as error:
                records.append(
                    {
                        "hash": name,
                        "resource": resource,
                        "status": "unreadable",
                        "reason": str(error),
                        "folder": folder,
                    }
                )
                continue
            assert state is not None
            records.append(
                {
                    "hash": state.hash,
                    "resource": resource,
                    "status": state.status.value,
                    "epoch": state.epoch,
                    "best_epoch": state.best_epoch,
                    "best_value": math.nan if state.best_value is None else state.best_value,
                    "monitor": state.monitor,
                    "stopped_by": state.stopped_by,
                    "gate": state.gate,
                    "reason": state.reason or state.error,
                    "updated": state.updated,
                    "folder": folder,
                }
            )
    return pd.DataFrame.from_records(records, columns=RUN_COLUMNS)
