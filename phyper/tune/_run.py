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

Inside a trial of a successive-halving study the run has an epoch budget (``_budget.py``): at
that epoch it checkpoints, commits status ``paused`` and returns; started again with a higher
budget, or with none, it resumes from that checkpoint.
"""

from __future__ import annotations

import contextlib
import inspect
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
from . import _interrupts
from ._budget import current_budget
from ._conditions import Condition, Fired, History, _Patience, _Target
from ._errors import (
    CheckpointError,
    HookError,
    Interrupted,
    RunLockedError,
    RunStateError,
    RunUsageError,
)
from ._gate import Gate, apply_decision
from ._hooks import MOMENTS, Hook, MetricLog, read_rows
from ._lock import FolderLock
from ._state import (
    CHECKPOINTS,
    LOCK_FILE,
    METRICS_FILE,
    PAUSED,
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
# first parameter names of save functions that take the file first (numpy.save(file, arr),
# numpy.savez, numpy.savetxt(fname, X)): called as save(obj, path), they fail
_FILE_FIRST = frozenset({"file", "fname", "filename", "path", "filepath", "fp", "f"})


def _check_metric_name(name: object) -> str:
    if not isinstance(name, str) or not name or name == "epoch" or _FORBIDDEN_IN_METRIC & set(name):
        raise RunUsageError(
            f"metric name {name!r} cannot be a CSV column: expected a non-empty name without "
            "commas, quotes or line breaks, other than 'epoch'"
        )
    return name


def _check_metric_names(
    metrics: Sequence[str] | None, monitor: str | None
) -> tuple[str, ...] | None:
    """The declared metric names (``tune.Run(metrics=...)``), checked; None when undeclared."""
    if metrics is None:
        return None
    if isinstance(metrics, str) or not isinstance(metrics, Iterable):
        raise RunUsageError(f"Run(metrics=...) takes a list of metric names, not {metrics!r}")
    names = tuple(_check_metric_name(name) for name in metrics)
    if not names:
        raise RunUsageError("Run(metrics=[]) declares no metric: give their names, or omit it")
    if len(set(names)) != len(names):
        twice = next(name for name in names if names.count(name) > 1)
        raise RunUsageError(f"Run(metrics=...) names metric {twice!r} twice")
    if monitor is not None and monitor not in names:
        raise RunUsageError(
            f"the monitored metric {monitor!r} is not among the declared metrics {list(names)}"
        )
    return names


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


class _name_of:
    """The name of a save function in an error message, worked out only if one is raised."""

    def __init__(self, function: object) -> None:
        self.function = function

    def __str__(self) -> str:
        return str(getattr(self.function, "__qualname__", None) or repr(self.function))


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

    ``metrics`` declares the columns of ``metrics.csv`` up front. Without it, the first
    report fixes them. Declare them when a metric is measured only every few epochs, or first
    at a later epoch (validation every 5 epochs): an epoch then reports what it measured, its
    other cells stay empty, and conditions read only the measured values.
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
        metrics: Sequence[str] | None = None,
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
        self.metrics = _check_metric_names(metrics, monitor)
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
        self._checked_names: set[str] = set()  # metric names already checked once
        self._stop_hook_error: HookError | None = None
        self._epoch: int | None = None
        self._reset_epoch()

    def _reset_epoch(self) -> None:
        self._reported = False
        self._checkpointed = False
        self._pending: tuple[str, str, int] | None = None
        self._fired: Fired | None = None
        self._gate_fired: tuple[Gate, Fired] | None = None
        self._pausing = False  # this epoch reaches the successive-halving budget
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
        """True once this epoch's report fired a stop condition or a gate, or reached the epoch
        budget of a successive-halving trial (the run then pauses)."""
        return self._fired is not None or self._gate_fired is not None or self._pausing

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
            elif self._state is not None and isinstance(error, KeyboardInterrupt):
                self._interrupt(error)
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
        if self.metrics is not None and self._metric_log.started:
            missing = [name for name in self.metrics if name not in self._metric_log.columns]
            if missing:
                raise RunUsageError(
                    f"tune.Run(metrics=...) declares {missing}, but the metric log of run "
                    f"folder {self.folder!r} was started with the columns "
                    f"{list(self._metric_log.columns)}: a run's columns are fixed when it "
                    "starts (declare those, or delete the folder to train from scratch)"
                )
        self.history = History(state.elapsed_seconds)
        if self.metrics is not None:
            self.history.declare(self.metrics)
        for row in rows:
            self.history.append(row)
        if (state.monitor, state.mode) != (self.monitor, self.mode):
            self._rebase_best(state)
        self._remove_orphans(state)
        # the epoch budget of the successive-halving trial this run belongs to, if any
        budget = current_budget()
        self._budget = (
            budget.epochs
            if budget is not None and budget.hash == self.instance.get_instance_hash()
            else None
        )
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
            elif self._budget is not None and state.epoch >= self._budget:
                # already at (or past) the rung: pause again, train nothing
                _pause(state, state.epoch)
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
                if _interrupts.pending():
                    # a Ctrl-C that the training code swallowed: delivered now, at a commit
                    _interrupts.clear()
                    self._epoch = None
                    self._finished = self._finished or self.stopping
                    raise KeyboardInterrupt
                if self.stopping:
                    break
        self._epoch = None
        self._finished = True
        try:
            self._call("on_stop", run=self, result=self.result)
        except HookError as error:
            # the outcome is committed and stands: the hook's error is reported on its own
            status = self._committed().status.value
            message = str(error).replace(
                "(the run is marked failed; started again, it resumes from its last checkpoint)",
                f"after the run ended; the run's outcome stands ({status})",
            )
            self._stop_hook_error = HookError(message)
            raise self._stop_hook_error from error.__cause__

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
        gates run on the history (so :meth:`checkpoint` knows if this epoch is the last).

        An epoch may leave out a metric it did not measure (validation every 5 epochs): its
        cell in ``metrics.csv`` stays empty, and conditions see only the measured values. A
        metric that first appears after epoch 1 must be declared: ``tune.Run(...,
        metrics=[...])``.
        """
        epoch = self._require_epoch("run.report()")
        if self._reported:
            raise RunUsageError(f"run.report() was called twice in epoch {epoch}: once per epoch")
        row: dict[str, float] = {}
        for name, value in metrics.items():
            if name not in self._checked_names:
                self._checked_names.add(_check_metric_name(name))
            try:
                row[name] = float(value)
            except (TypeError, ValueError):
                raise RunUsageError(
                    f"metric {name!r} = {value!r} at epoch {epoch} is not a number"
                ) from None
        if self.metrics is not None:
            undeclared = [name for name in row if name not in self.metrics]
            if undeclared:
                raise RunUsageError(
                    f"metric {undeclared[0]!r} reported at epoch {epoch} is not among the "
                    f"metrics declared in tune.Run(metrics={list(self.metrics)}): declare it "
                    "there"
                )
            if not self._metric_log.started:
                self._metric_log.start(self.metrics)
        columns = self._metric_log.columns
        if self._metric_log.started:
            late = [name for name in row if name not in columns]
            if late:
                raise RunUsageError(
                    f"metric {late[0]!r} first appears at epoch {epoch}, but the columns of "
                    f"{self._metric_log.path!r} were fixed by the first report as "
                    f"{list(columns)}: declare every metric up front, e.g. tune.Run(..., "
                    f"metrics={[*columns, *late]}); an epoch may then leave out any of them"
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
        if (
            self._fired is None
            and self._gate_fired is None
            and self._budget is not None
            and epoch >= self._budget
        ):
            self._pausing = True
        if self.monitor is not None:
            best = self.history.best(self.monitor, self.mode)
            self._is_best = best is not None and best[0] == epoch
        if self._by_moment["on_epoch_end"]:
            self._call(
                "on_epoch_end", run=self, epoch=epoch, metrics=dict(row), history=self.history
            )

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
        saver = _name_of(save)
        try:
            save(obj, temporary)
        except Exception as error:
            _remove(temporary)
            if _takes_file_first(save):
                raise CheckpointError(
                    f"save function {saver} takes the file first, but run.checkpoint(obj, save) "
                    f"calls save(obj, path): the object first, then the path (it raised "
                    f"{type(error).__name__}: {error}). Wrap it, e.g. `def save(obj, path):` "
                    "`with open(path, 'wb') as f: numpy.save(f, obj)`"
                ) from error
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
        elif self._pausing:
            _pause(state, epoch)
        write_state(self.folder, state)
        self._state = state
        # only now, with the new state durable, may the files it no longer names go
        keep = {state.checkpoint, state.best_checkpoint}
        for name in {previous.checkpoint, previous.best_checkpoint} - keep:
            if name is not None:
                _remove(os.path.join(self.folder, CHECKPOINTS, name))

    # --------------------------------------------------------------------------- restore

    def restore(
        self,
        load: Callable[[str], object],
        *,
        best: bool = False,
        otherwise: Callable[[], object] | None = None,
    ) -> typing.Any:
        """``load(path)`` of the last committed checkpoint (or, with ``best``, the best epoch's);
        when there is none yet, ``otherwise()`` (or None without it). So the usual start of a
        run, for a model of any type (a numpy array, a dict of arrays, ...), is::

            model = run.restore(load_model, otherwise=lambda: new_model(instance))

        The file's size and xxh3-128 digest must match the state: a damaged checkpoint raises
        :class:`CheckpointError`, never a silent restart from zero. ``best=True`` needs a
        monitored metric (``tune.Run(monitor=...)``, or a patience/target stop condition).
        """
        self._require_open("run.restore()")
        if otherwise is not None and not callable(otherwise):
            raise RunUsageError(
                f"run.restore(otherwise=...) takes a function of no arguments that builds a "
                f"new model (e.g. lambda: new_model(instance)), not {otherwise!r}"
            )
        self._stateful = True
        state = self._committed()
        if best:
            if self.monitor is None:
                raise RunUsageError(
                    f"run.restore(load, best=True) in run folder {self.folder!r}: this run "
                    "monitors no metric, so it has no best epoch; give tune.Run(monitor="
                    "'validation_loss') or a patience/target stop condition, or restore the "
                    "last checkpoint with run.restore(load)"
                )
            name, digest, size = (
                state.best_checkpoint,
                state.best_checkpoint_digest,
                state.best_checkpoint_size,
            )
            if name is None and state.best_epoch is not None:
                raise CheckpointError(
                    f"the best epoch ({state.best_epoch}) of run folder {self.folder!r} by "
                    f"{self.monitor!r} has no checkpoint (the monitored metric changed since, "
                    "or that epoch was not saved); restore the last one with run.restore(load)"
                )
        else:
            name, digest, size = state.checkpoint, state.checkpoint_digest, state.checkpoint_size
        if name is None:
            return None if otherwise is None else otherwise()
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
        interrupted: Interrupted | None = None
        try:
            if exc is None or self._state is None:
                pass
            elif isinstance(exc, KeyboardInterrupt):
                interrupted = self._interrupt(exc)
            elif exc is not self._stop_hook_error:
                self._fail(exc)
        finally:
            self._close()
        if interrupted is not None and not isinstance(exc, Interrupted):
            # one line instead of the traceback of wherever Ctrl-C landed in the user's code
            raise interrupted from None
        return False  # never swallow the user's exception

    def _interrupt(self, error: BaseException) -> Interrupted:
        """Ctrl-C: not a failure. The run is marked ``interrupted`` at its last committed
        epoch (what the epoch in progress did is replayed on resume)."""
        committed = self._committed()
        if self._finished:  # after the loop: the outcome is committed and stands
            for hook in self._by_moment["on_failure"]:
                with contextlib.suppress(Exception):
                    hook.on_failure(run=self, epoch=committed.epoch, error=error)  # type: ignore[attr-defined]
            return Interrupted(
                f"run {self.hash[:12]} interrupted after it ended ({committed.status.value} at "
                f"epoch {committed.epoch}); run the same command again to finish what follows"
            )
        # a second Ctrl-C must not cut this short: the state is written whole or not at all
        with _sigint_ignored():
            state = committed.copy()
            epoch = self._epoch
            if epoch is not None and epoch <= state.epoch:
                epoch = None  # Ctrl-C landed after the epoch was committed, before the next
            state.status = Status.INTERRUPTED
            state.error = state.stopped_by = None
            where = f"in epoch {epoch}" if epoch is not None else f"before epoch {state.epoch + 1}"
            state.reason = f"interrupted {where} (Ctrl-C); resumes after epoch {state.epoch}"
            for hook in self._by_moment["on_failure"]:
                with contextlib.suppress(Exception):  # a hook never masks the interrupt
                    hook.on_failure(  # type: ignore[attr-defined]
                        run=self,
                        epoch=epoch if epoch is not None else state.epoch,
                        error=error,
                        **self._hook_extras,
                    )
            self._commit_final(state)
        return Interrupted(
            f"run {self.hash[:12]} interrupted {where}; its last committed epoch is "
            f"{state.epoch}: run the same command again to resume"
        )

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
        self._commit_final(state)

    def _commit_final(self, state: RunState) -> None:
        """Write the state a run ends in (failed, interrupted), then remove the checkpoint of
        the epoch in progress, which that state does not refer to."""
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


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Hold off SIGINT (in the main thread; elsewhere Python delivers none) while a state is
    written."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        # None: a handler not installed from Python, which cannot be put back; use the default
        signal.signal(signal.SIGINT, signal.default_int_handler if previous is None else previous)


def _takes_file_first(save: Callable[..., object]) -> bool:
    """Whether ``save``'s first parameter is named as a file (numpy.save(file, arr)): then
    save(obj, path) has the arguments swapped."""
    try:
        parameters = list(inspect.signature(save).parameters.values())
    except (TypeError, ValueError):  # a builtin without a signature
        return False
    return bool(parameters) and parameters[0].name in _FILE_FIRST


def _pause(state: RunState, epoch: int) -> None:
    state.status = PAUSED
    state.stopped_by = state.error = None
    state.reason = f"paused at epoch {epoch}, a successive-halving rung"


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


RUN_COLUMNS = ["hash", "resource", "status", "decision", "epoch", "best_epoch", "best_value",
               "monitor", "stopped_by", "gate", "reason", "updated", "folder"]  # fmt: skip


def runs(root: str | os.PathLike[str]) -> pd.DataFrame:
    """Every run under ``root`` (``<root>/<resource>/<hash>/run.json``), one row each; a run
    whose state is unreadable is listed with status ``unreadable`` and the error as reason.

    The status is the run's true one (:func:`phyper.tune._observe.observe_run`): ``running``
    only while a process holds the run's lock, else ``interrupted``; ``decided`` (with the
    ``decision`` column, e.g. ``go (not yet resumed)``) when a decision awaits the next start.
    """
    import pandas as pd

    from ._observe import observe_run

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
            observed = observe_run(folder, state)
            records.append(
                {
                    "hash": state.hash,
                    "resource": resource,
                    "status": observed.status,
                    "decision": observed.decision,
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
