"""The search loop: ask the sampler, dedupe by hash against the store, keep ``n_jobs`` trials in
flight, and as each one finishes record it, tell the sampler and start the next.

A study lives in ``<root>/studies/<name>/``: ``study.json`` (its definition) and
``journal.jsonl`` (its events, flushed before anything they announce happens). Its trials'
results live in their own hash folders (``<root>/all/<hash>/result.json``, beside what
``tune.Run`` writes there), so a Snakemake grid, another study and this one share what any of
them computed. The driver can be killed at any moment: started again with the same call, it
replays the journal, resumes the trials that were in flight (their ``tune.Run`` continues from
its checkpoint) and goes on until ``n_trials`` trials are finished.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import datetime
import json
import math
import os
import pickle
import signal
import sys
import threading
import time
import typing
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .._build import read_sweep
from .._context import context_of, instance_hash
from .._errors import PhyperError, SweepFileError
from .._hashing import encode_value
from .._processes import process_pool
from .._scan import OK, iter_folders
from .._store import INFO_FILE, _to_json, display_value, from_json, render_info, write_atomic
from . import _interrupts
from ._errors import DecisionError, Interrupted, RunStateError
from ._gate import check_name, read_decision, write_decision
from ._journal import Journal
from ._lock import FolderLock, is_held
from ._median import PREFIX as median_stop_name
from ._observe import INTERRUPTED, TRIAL_LOCK, pending_decision, trial_in_progress
from ._run import RunResult, load_result
from ._samplers import BaseSampler, FinishedTrial, RandomSampler
from ._scheduler import PAUSED, PROMOTED, BaseScheduler, apply_event
from ._space import SearchSpace, space_from_document
from ._state import STATE_FILE, Status

if typing.TYPE_CHECKING:
    import pandas as pd

    from .._parser import Parser

STUDIES = "studies"
DEFINITION_FILE = "study.json"
JOURNAL_FILE = "journal.jsonl"
DRIVER_LOCK = "driver.lock"
# Written by a driver interrupted with Ctrl-C, removed when a driver starts: a worker that takes
# a trial queued ahead (see _run_trials) after the Ctrl-C finds it and does not start the trial.
STOP_MARKER = "interrupted.marker"
RESULT_FILE = "result.json"
FORMAT = "phyper-study"
RESULT_FORMAT = "phyper-result"

RUNNING, COMPLETE, FAILED = "running", "complete", "failed"
STOPPED_EARLY, FROM_STORE = "stopped_early", "from_store"
FINISHED = frozenset({COMPLETE, STOPPED_EARLY, FROM_STORE})
EARLY_STOP_PREFIX = f"{median_stop_name}("  # the stopped_by of runs stopped against peers
MAX_REPEATED_PROPOSALS = 200
# after Ctrl-C, how long the trials in flight get to record that they were interrupted
INTERRUPT_GRACE_SECONDS = 30.0

Direction = typing.Literal["minimize", "maximize"]


class StudyError(PhyperError, RuntimeError):
    """A study that cannot go on: a changed definition, too many failures in a row, ..."""


class StudyLockedError(PhyperError, RuntimeError):
    """Another live driver runs the same study."""


class MissingMetricError(StudyError):
    """The objective's result lacks the study's metric altogether (not a diverged trial, a
    mistake: every trial would fail the same way)."""


@dataclass
class Trial:
    """One configuration tried by a study (``number`` counts from 0 in start order); with a
    scheduler, ``state`` may also be ``paused`` (at rung ``rung``) or ``promoted`` (resumed
    towards the next rung), and ``value`` is the metric at the highest rung reached."""

    number: int
    hash: str
    params: dict[str, object]
    state: str
    value: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    duration: float | None = None
    # with a scheduler (successive halving): the highest rung reached, and the trial's bracket
    rung: int | None = None
    bracket: int | None = None


@dataclass(frozen=True)
class StudyGate:
    """Pause the study once ``after_trials`` trials are finished, for a go/no-go decision
    (``phyper decide --study NAME --go``); the next start goes on, or stops for good."""

    name: str
    after_trials: int
    note: str | None = None

    def __post_init__(self) -> None:
        check_name(self.name, "study gate name")
        if self.after_trials < 1:
            raise DecisionError(f"study gate {self.name!r}: after_trials must be at least 1")


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


# ------------------------------------------------------------------------------ the store


def stored_result(folder: str, metric: str) -> tuple[float, dict[str, float], bool] | None:
    """``(value, metrics, stopped_early)`` of a finished configuration in its hash folder, or
    None: from the ``result.json`` a study wrote, else a completed ``tune.Run``."""
    try:
        with open(os.path.join(folder, RESULT_FILE), encoding="utf-8") as stream:
            document = json.load(stream)
        metrics = document["metrics"]
        if document.get("format") == RESULT_FORMAT and isinstance(metrics, dict):
            value = metrics.get(metric)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return float(value), metrics, bool(document.get("stopped_early"))
    except (OSError, ValueError, KeyError, TypeError):
        pass  # no result, or a damaged one: then it is not an answer
    if not os.path.exists(os.path.join(folder, STATE_FILE)):
        return None
    try:
        result = load_result(folder)
    except (RunStateError, OSError):
        return None
    return _from_run_result(result, metric)


def _from_run_result(result: RunResult, metric: str) -> tuple[float, dict[str, float], bool] | None:
    if result.status is not Status.COMPLETED:
        return None
    metrics = dict(result.best_metrics or result.final_metrics)
    value = metrics.get(metric)
    if value is None or not math.isfinite(value):
        return None
    stopped_early = (result.stopped_by or "").startswith(EARLY_STOP_PREFIX)
    return float(value), metrics, stopped_early


def run_trial(
    objective: Callable[[typing.Any], object],
    instance: Parser,
    metric: str,
    lock: bool = True,
    stop_marker: str | None = None,
) -> tuple[dict[str, float], bool, float]:
    """What a worker runs: ``objective(instance)`` in the instance's hash folder, its result
    written there. Returns ``(metrics, stopped_early, busy seconds)``.

    A per-folder lock makes a worker wait for a trial of the same hash still running in an
    orphaned worker of a killed driver; the objective, if it trains through ``tune.Run``, then
    finds the run finished (or resumes it) instead of training it twice.
    """
    started = time.perf_counter()
    _check_stop_marker(stop_marker)
    folder = instance.get_resources_path()
    trial_lock = None
    if lock:  # in the driver's own process (n_jobs=1) no orphan can exist: no lock needed
        os.makedirs(folder, exist_ok=True)
        trial_lock = FolderLock(
            os.path.join(folder, TRIAL_LOCK), StudyLockedError, f"trial {folder!r}"
        )
        trial_lock.acquire(wait=True)
    try:
        stored = stored_result(folder, metric)
        if stored is not None:  # finished meanwhile (another study, an orphaned worker)
            return stored[1], stored[2], time.perf_counter() - started
        with _interruptible():
            # again once Ctrl-C is armed: a driver writes the marker before it passes Ctrl-C on
            _check_stop_marker(stop_marker)
            outcome = objective(instance)
        metrics, stopped_early = _metrics_of(outcome, metric)
        write_trial_result(folder, instance, metrics, stopped_early)
    finally:
        if trial_lock is not None:
            trial_lock.release()
    return metrics, stopped_early, time.perf_counter() - started


def _check_stop_marker(path: str | None) -> None:
    if path is not None and os.path.exists(path):
        raise KeyboardInterrupt  # the driver was interrupted: this trial is not started


def _metrics_of(outcome: object, metric: str) -> tuple[dict[str, float], bool]:
    if isinstance(outcome, RunResult):
        if outcome.status is not Status.COMPLETED:
            why = outcome.reason or outcome.error
            raise StudyError(
                f"the trial's run ended {outcome.status.value}{': ' + why if why else ''}"
            )
        found = _from_run_result(outcome, metric)
        if found is None:
            reported = {*outcome.final_metrics, *outcome.best_metrics}
            error = StudyError if metric in reported else MissingMetricError
            raise error(
                f"the trial's run did not report {metric!r}; it reported "
                f"{sorted(outcome.final_metrics)}"
            )
        return found[1], found[2]
    if isinstance(outcome, Mapping):
        metrics = {str(k): float(v) for k, v in outcome.items() if _is_number(v)}
    elif _is_number(outcome):
        metrics = {metric: float(typing.cast(float, outcome))}
    else:
        raise StudyError(
            f"the objective returned {type(outcome).__name__}; expected a number, a mapping of "
            f"metrics including {metric!r}, or a tune.RunResult"
        )
    if metric not in metrics:
        raise MissingMetricError(
            f"the objective's result has no {metric!r}; it returned {sorted(metrics)}"
        )
    if not math.isfinite(metrics[metric]):
        raise StudyError(
            f"the objective's result has no finite {metric!r}; it returned {sorted(metrics)}"
        )
    return metrics, False


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_IN_POOL_WORKER = False  # set in the workers of the study's own process pool


def _on_sigint(signum: int, frame: object) -> None:
    # one interrupt per trial: a second Ctrl-C (or the driver's forwarded one) must not cut
    # short the run's own cleanup, which records it as interrupted
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _interrupts.request()  # in case the code it lands in swallows it (see _interrupts)
    raise KeyboardInterrupt


@contextlib.contextmanager
def _interruptible() -> typing.Iterator[None]:
    """In a worker of the study's pool, Ctrl-C interrupts the trial it runs (its run records
    ``interrupted``); an idle worker ignores it, so it never prints a traceback."""
    if not _IN_POOL_WORKER:
        yield
        return
    _interrupts.clear()
    signal.signal(signal.SIGINT, _on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _interrupts.clear()


def _follow_driver(driver_pid: int) -> None:
    """In each worker of the default process pool: exit when the driver is gone (killed), so
    no idle worker outlives it. A trial cut short this way loses at most its current epoch.
    Ctrl-C reaches the workers of a terminal's process group: idle, they ignore it."""
    global _IN_POOL_WORKER
    _IN_POOL_WORKER = True
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while True:
            time.sleep(0.5)
            try:
                os.kill(driver_pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:  # the pid was reused by another user's process
                os._exit(1)

    threading.Thread(target=watch, name="phyper-follow-driver", daemon=True).start()


def _importing_main_again() -> str | None:
    """In a worker process that is importing the user's script again (``spawn`` and
    ``forkserver`` run the main module again, as ``__mp_main__``): the script's path."""
    # (multiprocessing.parent_process() is still None there: it is set after the import)
    frame: typing.Any = sys._getframe(1)
    while frame is not None:
        # the script's top-level code, still running: this call comes from its import
        if frame.f_code.co_name == "<module>" and frame.f_globals.get("__name__") == "__mp_main__":
            return str(frame.f_globals.get("__file__") or "the main script")
        frame = frame.f_back
    return None


def _unguarded_message(script: str) -> str:
    return (
        f"study.optimize(n_jobs > 1) was called while a worker process imported {script!r} "
        "again: worker processes start fresh and import the main script, so its top-level "
        'code must not start the study. Put it under `if __name__ == "__main__":` (e.g. '
        "move it into def main() and call main() there)"
    )


def _check_picklable(objective: Callable[[typing.Any], object]) -> None:
    try:
        pickle.dumps(objective)
    except Exception as error:
        name = getattr(objective, "__qualname__", repr(objective))
        raise StudyError(
            f"the objective {name} cannot be sent to worker processes ({type(error).__name__}: "
            f"{error}): with n_jobs > 1 it must be picklable. Define it at module level (def "
            "objective(instance): ...) and bind extra arguments with "
            "functools.partial(objective, ...), not a lambda or a nested function"
        ) from None


class _InlineExecutor(cf.Executor):
    """Runs each trial in the driver's process as it is submitted (``n_jobs=1``)."""

    def submit(
        self, fn: Callable[..., typing.Any], /, *args: typing.Any, **kwargs: typing.Any
    ) -> cf.Future[typing.Any]:
        future: cf.Future[typing.Any] = cf.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:
            future.set_exception(error)
        return future


# -------------------------------------------------------------------------- the record


@dataclass
class _Record:
    trials: list[Trial] = field(default_factory=list)
    awaiting: str | None = None
    stopped: str | None = None
    gates_passed: set[str] = field(default_factory=set)


def replay_events(
    events: Sequence[dict[str, typing.Any]],
    params_of: Callable[[Mapping[str, object]], dict[str, object]],
) -> _Record:
    """The trials and the gate state a journal's events describe."""
    record = _Record()
    trials: dict[int, Trial] = {}
    for event in events:
        kind = event.get("event")
        if kind in ("start", FROM_STORE):
            trial = Trial(
                number=int(event["trial"]),
                hash=str(event["hash"]),
                params=params_of(event["params"]),
                state=RUNNING if kind == "start" else FROM_STORE,
                value=event.get("value"),
                metrics=event.get("metrics") or {},
                bracket=event.get("bracket"),
            )
            trials[trial.number] = trial
        elif kind == INTERRUPTED:
            trials[int(event["trial"])].state = INTERRUPTED
        elif kind == "resumed":
            trials[int(event["trial"])].state = RUNNING
        elif kind in (COMPLETE, STOPPED_EARLY, FAILED):
            trial = trials[int(event["trial"])]
            trial.state = kind
            trial.value = event.get("value")
            trial.metrics = event.get("metrics") or {}
            trial.error = event.get("error")
            trial.duration = event.get("duration")
            trial.rung = event.get("rung", trial.rung)
        elif kind in (PAUSED, PROMOTED):
            apply_event(trials[int(event["trial"])], event)
        elif kind == "await":
            record.awaiting = event["gate"]
        elif kind == "decided":
            record.awaiting = None
            record.gates_passed.add(event["gate"])
            if event["decision"] == "no-go":
                record.stopped = f"no-go at gate {event['gate']}: {event.get('note') or ''}"
    record.trials = sorted(trials.values(), key=lambda t: t.number)
    return record


class StudyView:
    """What a study's folder says: its trials, the best one, what it awaits. Read without the
    configuration's code (``phyper study show``); :class:`Study` adds the search itself."""

    name: str
    folder: str
    root: str
    metric: str
    direction: Direction
    param_names: tuple[str, ...]
    definition: dict[str, typing.Any]

    def _apply(self, record: _Record) -> None:
        self.trials = record.trials
        self.awaiting = record.awaiting
        self.stopped = record.stopped
        self._gates_passed = record.gates_passed
        self._by_hash = {t.hash: t for t in self.trials}

    @classmethod
    def read(cls, root: str | os.PathLike[str], name: str) -> StudyView:
        """The study ``name`` under ``<root>/studies/``, from its files alone."""
        folder = os.path.join(os.fspath(root), STUDIES, name)
        path = os.path.join(folder, DEFINITION_FILE)
        try:
            with open(path, encoding="utf-8") as stream:
                definition = json.load(stream)
        except FileNotFoundError:
            raise StudyError(
                f"no study {name!r} under {os.path.join(os.fspath(root), STUDIES)!r}; "
                "`phyper study ls` lists the studies"
            ) from None
        except (OSError, ValueError) as error:
            raise StudyError(f"study definition {path!r} is unreadable: {error}") from None
        view = cls.__new__(cls)
        view.name, view.folder, view.root = name, folder, os.fspath(root)
        view.metric, view.direction = definition["metric"], definition["direction"]
        view.param_names = tuple(definition["space"])
        view.definition = definition
        record = replay_events(
            Journal(os.path.join(folder, JOURNAL_FILE)).replay(repair=False),
            lambda params: {n: display_value(v) for n, v in params.items()},
        )
        view._apply(record)
        return view

    def observed_states(self) -> dict[int, str]:
        """Each trial's state as it truly is now: a trial the journal says is ``running``
        is ``interrupted`` when neither the study's driver nor a process working in the
        trial's folder holds its lock (the driver was killed; the next start resumes it)."""
        states = {t.number: t.state for t in self.trials}
        running = [t for t in self.trials if t.state == RUNNING]
        if running and not is_held(os.path.join(self.folder, DRIVER_LOCK)):
            for t in running:
                if not trial_in_progress(os.path.join(self.root, "all", t.hash)):
                    states[t.number] = INTERRUPTED
        return states

    @property
    def finished_trials(self) -> list[Trial]:
        return [t for t in self.trials if t.state in FINISHED]

    @property
    def answered_from_store(self) -> int:
        """How many of the sampler's proposals were answered from the store, without running."""
        return sum(t.state == FROM_STORE for t in self.trials)

    @property
    def best_trial(self) -> Trial:
        scored = [t for t in self.finished_trials if t.value is not None]
        if not scored:
            raise StudyError(f"study {self.name!r} has no finished trial yet")
        pick = min if self.direction == "minimize" else max
        return pick(scored, key=lambda t: typing.cast(float, t.value))

    @property
    def best_value(self) -> float:
        return typing.cast(float, self.best_trial.value)

    def trials_frame(self) -> pd.DataFrame:
        """One row per trial: number, state, value, the best value so far, hash, the searched
        values, duration and error: hyperparameters beside values."""
        import pandas as pd

        halving = "scheduler" in getattr(self, "definition", {})
        columns = ["number", "state", "value", "best_so_far", "hash"]
        columns += ["rung", *self.param_names] if halving else list(self.param_names)
        columns += ["duration", "error"]
        rows = []
        best: float | None = None
        better: Callable[[float, float], bool] = (
            (lambda a, b: a < b) if self.direction == "minimize" else (lambda a, b: a > b)
        )
        states = self.observed_states()
        for t in self.trials:
            if (
                t.state in FINISHED
                and t.value is not None
                and (best is None or better(t.value, best))
            ):
                best = t.value
            rows.append(
                {
                    "number": t.number,
                    "state": states[t.number],
                    "value": t.value,
                    "best_so_far": best,
                    "hash": t.hash,
                    "rung": t.rung,
                    **t.params,
                    "duration": t.duration,
                    "error": t.error,
                }
            )
        frame = pd.DataFrame(rows, columns=columns)
        if halving:
            frame["rung"] = frame["rung"].astype("Int64")
        return frame

    def summary(self) -> dict[str, object]:
        """One line of ``phyper study ls``."""
        try:
            best: Trial | None = self.best_trial
        except StudyError:
            best = None
        counts = Counter(self.observed_states().values())
        states = (
            COMPLETE,
            STOPPED_EARLY,
            FROM_STORE,
            FAILED,
            RUNNING,
            INTERRUPTED,
            PAUSED,
            PROMOTED,
        )
        return {
            "study": self.name,
            "metric": self.metric,
            "direction": self.direction,
            "trials": len(self.trials),
            **{state: counts.get(state, 0) for state in states},
            "best_value": best.value if best else None,
            "best_hash": best.hash if best else None,
            "awaiting": self.awaiting or "",
            # the gate's decision, written but not yet applied (the study was not started since)
            "decision": (pending_decision(self.folder, self.awaiting) if self.awaiting else None)
            or "",
            "stopped": self.stopped or "",
        }


def studies(root: str | os.PathLike[str]) -> pd.DataFrame:
    """One row per study under ``<root>/studies/``: ``phyper study ls``."""
    import pandas as pd

    parent = os.path.join(os.fspath(root), STUDIES)
    names = sorted(os.listdir(parent)) if os.path.isdir(parent) else []
    rows = [
        StudyView.read(root, name).summary()
        for name in names
        if os.path.isfile(os.path.join(parent, name, DEFINITION_FILE))
    ]
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------ the study


class Study(StudyView):
    """A search over key hyperparameters, remembered in ``<root>/studies/<name>/``.

    >>> import phyper, tempfile
    >>> from phyper import tune
    >>> class Net(phyper.Parser):
    ...     width = 4
    >>> parser = Net(hashed_resources_folder=tempfile.mkdtemp())
    >>> study = tune.Study(parser, "demo", space={"width": tune.integers(1, 8)},
    ...                    metric="loss", sampler=tune.GridSampler())
    >>> _ = study.optimize(lambda net: {"loss": abs(net.width - 5)}, n_trials=8)
    >>> study.best_instance.width, study.best_value
    (5, 0.0)
    """

    def __init__(
        self,
        parser: Parser,
        name: str,
        *,
        space: Mapping[str, object],
        metric: str,
        direction: Direction = "minimize",
        sampler: BaseSampler | None = None,
        root: str | os.PathLike[str] | None = None,
        max_consecutive_failures: int = 5,
        scheduler: BaseScheduler | None = None,
    ) -> None:
        check_name(name, "study name", StudyError)
        if direction not in ("minimize", "maximize"):
            raise StudyError(f"direction {direction!r}: expected 'minimize' or 'maximize'")
        if not isinstance(metric, str) or not metric:
            raise StudyError(f"metric {metric!r}: expected the name of a reported metric")
        self.parser = parser
        self.name = name
        self.space = SearchSpace.check(parser, space)
        self.metric = metric
        self.direction: Direction = direction
        self.sampler = sampler if sampler is not None else RandomSampler()
        self.root = os.fspath(root) if root is not None else parser.hashed_resources_folder
        self.folder = os.path.join(self.root, STUDIES, name)
        self.max_consecutive_failures = max_consecutive_failures
        if scheduler is not None and not isinstance(scheduler, BaseScheduler):
            raise StudyError(
                f"scheduler={scheduler!r}: expected a tune scheduler such as "
                "tune.SuccessiveHalving(min_epochs=1, max_epochs=100, eta=3)"
            )
        self.scheduler = scheduler
        self._schema = context_of(parser).schema
        self._check_definition()
        self.param_names = self.space.names
        self.prior_knowledge = 0
        # without the driver's lock: read only (a live driver may be writing the last line)
        self._replay(Journal(self._journal_path).replay(repair=False))

    @classmethod
    def from_yaml(
        cls, parser: Parser, name: str, path: str | os.PathLike[str], **options: typing.Any
    ) -> Study:
        """A study of the ``search:`` section of a sweep file; its ``fixed:`` values set the
        parameters every trial shares."""
        where = os.fspath(path)
        document = read_sweep(path)
        if "search" not in document:
            raise SweepFileError(
                f"sweep file {where!r} has no 'search:' section (expected e.g. 'search: "
                "{learning_rate: {log_uniform: [1.0e-4, 0.1]}, depth: [1, 2, 3]}')"
            )
        fixed = document.get("fixed") or {}
        if not isinstance(fixed, Mapping):
            raise SweepFileError(f"'fixed' in sweep file {where!r} must be a mapping of values")
        base = parser.replace(**fixed)
        return cls(base, name, space=space_from_document(document["search"], where), **options)

    # ------------------------------------------------------------------ definition, journal

    @property
    def _journal_path(self) -> str:
        return os.path.join(self.folder, JOURNAL_FILE)

    def _base_key_values(self) -> dict[str, object]:
        key_values = self.parser.to_dict(key_only=True)
        return {n: _to_json(v) for n, v in key_values.items() if n not in self.space.dimensions}

    def _check_definition(self) -> None:
        definition = {
            "format": FORMAT,
            "version": 1,
            "name": self.name,
            "class": self._schema.class_name,
            "metric": self.metric,
            "direction": self.direction,
            "space": self.space.to_spec(),
            "base": self._base_key_values(),
        }
        if self.scheduler is not None:  # its rungs are part of what the results mean
            definition["scheduler"] = self.scheduler.describe()
        path = os.path.join(self.folder, DEFINITION_FILE)
        try:
            with open(path, encoding="utf-8") as stream:
                existing = json.load(stream)
        except FileNotFoundError:
            os.makedirs(self.folder, exist_ok=True)
            document = {**definition, "created": _now(), "sampler": self.sampler.describe()}
            write_atomic(path, (json.dumps(document, indent=1) + "\n").encode("utf-8"))
            self.definition = document
            return
        except (OSError, ValueError) as error:
            raise StudyError(f"study definition {path!r} is unreadable: {error}") from None
        self.definition = existing
        if "scheduler" in existing and "scheduler" not in definition:
            definition["scheduler"] = None  # made with a scheduler: it cannot be dropped
        for key, value in definition.items():
            if json.loads(json.dumps(value)) != existing.get(key):
                raise StudyError(
                    f"study {self.name!r} in {self.folder!r} was made with {key} "
                    f"{existing.get(key)!r}, not {value!r}: a study's definition cannot change "
                    "(its results would not be comparable); use another name"
                )

    def _params_from_json(self, params: Mapping[str, object]) -> dict[str, object]:
        specs = self._schema.specs
        return {n: specs[n].coerce(from_json(v, for_hashing=False)) for n, v in params.items()}

    def _replay(self, events: Sequence[dict[str, typing.Any]]) -> None:
        self._apply(replay_events(events, self._params_from_json))

    # ------------------------------------------------------------------------- results

    @property
    def best_instance(self) -> Parser:
        return self.parser.replace(**self.best_trial.params)

    def instance(self, params: Mapping[str, object]) -> Parser:
        """The instance of a trial with these searched values."""
        return self.parser.replace(**params)

    # ---------------------------------------------------------------------- decisions

    def await_decision(self, gate: str, note: str | None = None) -> bool | None:
        """A named pause point outside ``optimize`` (e.g. before promoting the best
        configuration to a final model): None while the decision is pending (it is recorded
        as pending), True after a go, False after a no-go."""
        lock = FolderLock(
            os.path.join(self.folder, DRIVER_LOCK), StudyLockedError, f"study {self.name!r}"
        )
        journal = Journal(self._journal_path)
        with lock:
            self._replay(journal.replay())
            try:
                return self._gate_open(journal, StudyGate(gate, 1, note))
            finally:
                journal.close()

    def _gate_open(self, journal: Journal, gate: StudyGate) -> bool | None:
        if gate.name in self._gates_passed:
            return self.stopped is None or not self.stopped.startswith(f"no-go at gate {gate.name}")
        decision = read_decision(self.folder, gate.name)
        if decision is None:
            if self.awaiting != gate.name:
                journal.append(
                    [{"event": "await", "gate": gate.name, "note": gate.note, "at": _now()}]
                )
                self.awaiting = gate.name
            return None
        event = {
            "event": "decided",
            "gate": gate.name,
            "decision": decision["decision"],
            "note": decision.get("note"),
            "at": _now(),
        }
        journal.append([event])
        self._replay(journal.replay())
        return decision["decision"] == "go"

    # ------------------------------------------------------------------------ the loop

    def optimize(
        self,
        objective: Callable[[typing.Any], object],
        n_trials: int,
        *,
        n_jobs: int = 1,
        executor: cf.Executor | None = None,
        gates: Iterable[StudyGate] = (),
    ) -> Study:
        """Run trials until ``n_trials`` are finished (this study's, counting those answered
        from the store), ``n_jobs`` at a time, on ``executor`` (any ``concurrent.futures``
        executor: local processes by default for ``n_jobs > 1``; a dask cluster's
        ``client.get_executor()``; in the driver's process for ``n_jobs=1``).

        ``objective(instance)`` returns a number, a mapping of metrics including ``metric``, or
        a :class:`tune.RunResult`; it runs in a worker, so it must be picklable (a module-level
        function) for process executors. Killed at any moment and called again, it goes on
        where it stopped. A gate pauses the study; the call then returns early.

        With a ``scheduler`` (``tune.SuccessiveHalving``), ``n_trials`` counts configurations
        started; each trial's ``tune.Run`` pauses at its next rung and the best paused runs are
        resumed (see ``docs/how-to/successive-halving.md``); the call returns when every
        configuration is started and nothing more can be promoted.
        """
        if not isinstance(n_trials, int) or n_trials < 1:
            raise StudyError(f"n_trials={n_trials!r}: expected a positive integer")
        if not isinstance(n_jobs, int) or n_jobs < 1:
            raise StudyError(f"n_jobs={n_jobs!r}: expected a positive integer")
        script = _importing_main_again()
        if script is not None:
            # in a worker starting up: one line on its stderr rather than a traceback through
            # multiprocessing; the worker ends, and the driver raises StudyError
            print(f"phyper.tune.StudyError: {_unguarded_message(script)}", file=sys.stderr)
            raise SystemExit(1)
        if (executor is None and n_jobs > 1) or isinstance(executor, cf.ProcessPoolExecutor):
            _check_picklable(objective)  # before a trial is recorded, not as n failed trials
        gates = sorted(gates, key=lambda g: g.after_trials)
        if gates and self.scheduler is not None:
            raise StudyError(
                f"study {self.name!r}: study gates are not supported with a scheduler yet "
                "(give gates=() or no scheduler)"
            )
        lock = FolderLock(
            os.path.join(self.folder, DRIVER_LOCK), StudyLockedError, f"study {self.name!r}"
        )
        lock.acquire(wait=False)
        journal = Journal(self._journal_path)
        own_executor = executor is None
        try:
            self._replay(journal.replay())
            if self.awaiting is not None:
                pending = next((g for g in gates if g.name == self.awaiting), None)
                if self._gate_open(journal, pending or StudyGate(self.awaiting, 1)) is None:
                    return self
            if self.stopped is not None:
                return self
            if executor is None:
                executor = self._default_executor(n_jobs)
            self._loop(objective, n_trials, n_jobs, executor, journal, gates, own_executor)
        finally:
            if own_executor and executor is not None:
                executor.shutdown(wait=True, cancel_futures=True)
            journal.close()
            lock.release()
        return self

    @staticmethod
    def _default_executor(n_jobs: int) -> cf.Executor:
        if n_jobs == 1:
            return _InlineExecutor()
        return process_pool(n_jobs, initializer=_follow_driver, initargs=(os.getpid(),))

    def _start_sampler(self) -> list[Trial]:
        """Tell the sampler everything known; return the trials to resume."""
        self.sampler.start(self.space, self.direction)
        resumed = []
        for trial in self.trials:
            if trial.state in (RUNNING, INTERRUPTED):
                self.sampler.running(trial.params)
                resumed.append(trial)
            else:
                self.sampler.tell(FinishedTrial(trial.params, trial.value, trial.state))
        prior = self._prior_knowledge()
        for params, value in prior:
            self.sampler.tell(FinishedTrial(params, value, "prior"))
        self.prior_knowledge = len(prior)
        return resumed

    def _prior_knowledge(self) -> list[tuple[dict[str, object], float]]:
        """Results in the store for configurations of this space that this study did not
        propose (a Snakemake grid's, another study's): the sampler learns from them."""
        if not os.path.isdir(os.path.join(self.root, "all")):
            return []
        base = {n: encode_value(v) for n, v in self.parser.to_dict(key_only=True).items()}
        found = []
        for folder in iter_folders(self.root, "all"):
            if folder.status != OK or folder.hash in self._by_hash:
                continue
            stored = stored_result(folder.path, self.metric)
            values = self._key_values(folder.hyperparameters) if stored else None
            if values is None or any(
                n not in self.space.dimensions and encode_value(values[n]) != base[n] for n in base
            ):
                continue  # no result, another declaration, or other non-searched values
            params = {n: values[n] for n in self.space.dimensions}
            if self.space.contains(params):
                found.append((params, typing.cast(tuple[float, object, object], stored)[0]))
        return found

    def _key_values(self, stored: Mapping[str, object]) -> dict[str, object] | None:
        """The key values a folder's metadata holds, in this declaration's types; None when
        they do not fit it. A key the file lacks was added since, with its omit value."""
        specs = self._schema.specs
        values: dict[str, object] = {}
        try:
            for name in self._schema.key_names:
                spec = specs[name]
                if name in stored:
                    values[name] = spec.coerce(from_json(stored[name], for_hashing=False))
                elif encode_value(spec.omit) == spec.omit_encoding:
                    values[name] = spec.omit
                else:
                    return None
        except (PhyperError, ValueError, TypeError):
            return None
        return values

    def _propose(self, in_flight: Counter[str]) -> Trial | None:
        """The next trial to run or to answer from the store; None when the sampler has
        nothing new to propose."""
        specs = self._schema.specs
        for _ in range(MAX_REPEATED_PROPOSALS):
            raw = self.sampler.ask()
            if raw is None:
                return None
            params = {n: specs[n].coerce(v) for n, v in raw.items()}
            instance = self.parser.replace(**params)
            trial_hash = instance_hash(instance)
            known = self._by_hash.get(trial_hash)
            if known is not None:
                if known.state in (RUNNING, INTERRUPTED):
                    in_flight[trial_hash] += 1  # told once more when it finishes
                else:
                    self.sampler.tell(FinishedTrial(params, known.value, known.state))
                continue
            number = len(self.trials)
            stored = stored_result(instance.get_resources_path(), self.metric)
            if stored is not None:
                value, metrics, _ = stored
                return Trial(number, trial_hash, params, FROM_STORE, value, metrics)
            return Trial(number, trial_hash, params, RUNNING)
        warnings.warn(
            f"study {self.name!r}: the sampler proposed only known configurations "
            f"{MAX_REPEATED_PROPOSALS} times in a row; the space looks exhausted",
            stacklevel=3,
        )
        return None

    def _record(self, trial: Trial) -> None:
        self.trials.append(trial)
        self._by_hash[trial.hash] = trial

    def _loop(
        self,
        objective: Callable[[typing.Any], object],
        n_trials: int,
        n_jobs: int,
        executor: cf.Executor,
        journal: Journal,
        gates: Sequence[StudyGate],
        own_executor: bool = False,
    ) -> None:
        futures: dict[cf.Future[typing.Any], Trial] = {}
        events: list[dict[str, typing.Any]] = []  # written, flushed once, before trials start
        finish = self._finish_and_tell
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._stop_marker)  # a previous driver's Ctrl-C
        try:
            if self.scheduler is not None:
                from ._halving import HalvingLoop

                halving = HalvingLoop(self, journal)
                finish = halving.finish
                halving.run(objective, n_trials, n_jobs, executor, journal, futures, events)
            else:
                resumed = self._start_sampler()
                self._run_trials(
                    objective, n_trials, n_jobs, executor, journal, gates, resumed, futures,
                    events,
                )  # fmt: skip
        except KeyboardInterrupt:
            self._interrupted(executor, own_executor, journal, futures, events, n_trials, finish)
        except cf.process.BrokenProcessPool:
            journal.append(events)
            raise StudyError(
                f"the worker processes of study {self.name!r} died; the trials in flight are "
                "resumed on the next start. If they died as they started (see their message "
                "above): a script that calls study.optimize(n_jobs > 1) outside "
                '`if __name__ == "__main__":` makes every worker start the study again; put '
                "the script's top-level code under that guard"
            ) from None

    def _run_trials(
        self,
        objective: Callable[[typing.Any], object],
        n_trials: int,
        n_jobs: int,
        executor: cf.Executor,
        journal: Journal,
        gates: Sequence[StudyGate],
        resumed: list[Trial],
        futures: dict[cf.Future[typing.Any], Trial],
        events: list[dict[str, typing.Any]],
    ) -> None:
        inline = isinstance(executor, _InlineExecutor)
        # Worker processes are kept fed: one trial more than there are workers is submitted,
        # so a worker that finishes takes the next trial from the executor's queue at once,
        # while the driver journals the outcome and proposes the next one (busy 0.9 -> 0.97+
        # with 50 ms trials). A Ctrl-C reaches a queued trial through the stop marker.
        slots = n_jobs if inline else n_jobs + 1
        repeats: Counter[str] = Counter()
        failures = 0
        finished = len(self.finished_trials)
        exhausted = False
        gate = next(
            (g for g in gates if g.name not in self._gates_passed and g.after_trials > finished),
            None,
        )
        limit = min(n_trials, gate.after_trials) if gate is not None else n_trials
        while True:
            starting: list[Trial] = []
            while resumed and len(futures) + len(starting) < slots:
                trial = resumed.pop(0)
                if trial.state == INTERRUPTED:
                    trial.state = RUNNING
                    events.append(
                        {"event": "resumed", "trial": trial.number, "hash": trial.hash,
                         "at": _now()}
                    )  # fmt: skip
                starting.append(trial)
            while (
                not exhausted
                and len(futures) + len(starting) < slots
                and finished + len(futures) + len(starting) < limit
            ):
                trial = self._propose(repeats)
                if trial is None:
                    exhausted = True
                    break
                self._record(trial)
                events.append(proposal_event(trial))
                if trial.state == FROM_STORE:
                    self.sampler.tell(FinishedTrial(trial.params, trial.value, FROM_STORE))
                    finished += 1
                else:
                    starting.append(trial)
            # One flush for the outcomes just recorded and the trials about to start: a start is
            # durable before its trial runs, so a killed driver resumes it, never forgets it.
            journal.append(events)
            events.clear()
            for trial in starting:
                self._submit(executor, objective, trial, futures, inline)
            if not futures:
                break
            done, _ = cf.wait(futures, return_when=cf.FIRST_COMPLETED)
            interrupted = missing = None
            for future in done:
                trial = futures.pop(future)
                events.append(self._finish(trial, future))
                if trial.state == INTERRUPTED:  # Ctrl-C reached the worker first
                    interrupted = trial
                    continue
                if trial.state == FAILED and isinstance(_error_of(future), MissingMetricError):
                    missing = trial
                told = FinishedTrial(trial.params, trial.value, trial.state)
                for _ in range(1 + repeats.pop(trial.hash, 0)):
                    self.sampler.tell(told)
                if trial.state == FAILED:
                    failures += 1
                else:
                    failures = 0
                    finished += 1
            if interrupted is not None:
                raise KeyboardInterrupt
            if missing is not None:
                journal.append(events)
                events.clear()
                raise StudyError(
                    f"study {self.name!r}: trial {missing.number} ({missing.hash}) failed: "
                    f"{missing.error}. The objective must return {self.metric!r} (the study's "
                    "metric) in its result; fix it and start the study again"
                )
            if failures >= self.max_consecutive_failures:
                self._stop_after_failures(journal, events, failures, "finished trials")
        if gate is not None and finished >= gate.after_trials:
            self._gate_open(journal, gate)

    def _stop_after_failures(
        self, journal: Journal, events: list[dict[str, typing.Any]], failures: int, kept: str
    ) -> typing.NoReturn:
        """``max_consecutive_failures`` trials failed in a row: journal what is known, stop."""
        journal.append(events)
        events.clear()
        last = next(t for t in reversed(self.trials) if t.state == FAILED)
        raise StudyError(
            f"study {self.name!r}: {failures} trials failed in a row; the last, trial "
            f"{last.number} ({last.hash}), with {last.error}. Fix the objective and "
            f"start the study again: {kept} are kept"
        )

    def _submit(
        self,
        executor: cf.Executor,
        objective: Callable[[typing.Any], object],
        trial: Trial,
        futures: dict[cf.Future[typing.Any], Trial],
        inline: bool,
    ) -> None:
        instance = self.instance(trial.params)
        marker = None if inline else self._stop_marker
        future = executor.submit(run_trial, objective, instance, self.metric, not inline, marker)
        futures[future] = trial

    @property
    def _stop_marker(self) -> str:
        return os.path.join(self.folder, STOP_MARKER)

    def _interrupted(
        self,
        executor: cf.Executor,
        own_executor: bool,
        journal: Journal,
        futures: dict[cf.Future[typing.Any], Trial],
        events: list[dict[str, typing.Any]],
        n_trials: int,
        finish: Callable[[Trial, cf.Future[typing.Any]], dict[str, typing.Any]],
    ) -> typing.NoReturn:
        """Ctrl-C: let the trials in flight record where they are (their runs become
        ``interrupted``), journal them as interrupted, and raise :class:`tune.Interrupted`."""
        again = threading.Event()
        previous = None
        if threading.current_thread() is threading.main_thread():
            # a second Ctrl-C stops the waiting below instead of leaving the journal behind
            previous = signal.signal(signal.SIGINT, lambda signum, frame: again.set())
        try:
            pending = set(futures)
            if pending and not isinstance(executor, _InlineExecutor):
                # before Ctrl-C is passed on: a worker that takes a queued trial after it
                # finds the marker (run_trial checks it once Ctrl-C is armed)
                with open(self._stop_marker, "wb"):
                    pass
            if own_executor and pending:
                # Ctrl-C in a terminal reaches the workers too; a SIGINT sent to the driver
                # alone does not: pass it on (idle workers ignore it, busy ones take one)
                for process in list(getattr(executor, "_processes", {}).values()):
                    with contextlib.suppress(OSError):
                        os.kill(process.pid, signal.SIGINT)
            deadline = time.monotonic() + INTERRUPT_GRACE_SECONDS
            while pending and not again.is_set() and time.monotonic() < deadline:
                _, pending = cf.wait(pending, timeout=0.1)
            if pending and own_executor:
                for process in list(getattr(executor, "_processes", {}).values()):
                    with contextlib.suppress(OSError):
                        process.terminate()
            for future, trial in futures.items():
                if future.done():
                    events.append(finish(trial, future))
                else:
                    future.cancel()
                    trial.state = INTERRUPTED
                    events.append(
                        {"event": INTERRUPTED, "trial": trial.number, "hash": trial.hash,
                         "at": _now()}
                    )  # fmt: skip
            journal.append(events)
            events.clear()
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
        stopped = [t for t in self.trials if t.state == INTERRUPTED]
        numbers = ", ".join(str(t.number) for t in stopped)
        raise Interrupted(
            f"study {self.name!r} interrupted with {len(self.finished_trials)} of {n_trials} "
            f"trials finished ({len(stopped)} in flight{': ' + numbers if numbers else ''}); "
            "run the same command again to resume"
        ) from None

    def _finish_and_tell(
        self, trial: Trial, future: cf.Future[typing.Any]
    ) -> dict[str, typing.Any]:
        """:meth:`_finish`, then the sampler learns the outcome (a Ctrl-C's last trials)."""
        event = self._finish(trial, future)
        if trial.state in FINISHED:
            self.sampler.tell(FinishedTrial(trial.params, trial.value, trial.state))
        return event

    def _finish(self, trial: Trial, future: cf.Future[typing.Any]) -> dict[str, typing.Any]:
        event: dict[str, typing.Any] = {"trial": trial.number, "hash": trial.hash, "at": _now()}
        try:
            metrics, stopped_early, busy = future.result()
        except (KeyboardInterrupt, cf.CancelledError):
            trial.state = INTERRUPTED
            return {"event": INTERRUPTED, **event}
        except cf.process.BrokenProcessPool:
            raise
        except Exception as error:  # the objective's failure is recorded, the study goes on
            trial.state, trial.error = FAILED, f"{type(error).__name__}: {error}"
            return {"event": FAILED, **event, "error": trial.error}
        trial.state = STOPPED_EARLY if stopped_early else COMPLETE
        trial.metrics, trial.value, trial.duration = metrics, metrics[self.metric], busy
        return {
            "event": trial.state,
            **event,
            "value": trial.value,
            "metrics": metrics,
            "duration": busy,
        }


def write_trial_result(
    folder: str, instance: typing.Any, metrics: dict[str, float], stopped_early: bool
) -> None:
    """The trial's metadata and ``result.json`` in its hash folder. Not fsynced: the study's
    journal, which is, already holds the value. A power cut can leave the file missing (the
    configuration is then computed again), never wrong."""
    write_atomic(os.path.join(folder, INFO_FILE), render_info(instance, None), durable=False)
    document = {"format": RESULT_FORMAT, "metrics": metrics, "stopped_early": stopped_early}
    write_atomic(
        os.path.join(folder, RESULT_FILE),
        (json.dumps(document, allow_nan=False) + "\n").encode("utf-8"),
        durable=False,
    )


def proposal_event(trial: Trial) -> dict[str, typing.Any]:
    """The journal event of a trial just proposed and recorded: answered from the store (with
    its value and metrics), or about to start."""
    event: dict[str, typing.Any] = {
        "event": FROM_STORE if trial.state == FROM_STORE else "start",
        "trial": trial.number,
        "hash": trial.hash,
        "params": {n: _to_json(v) for n, v in trial.params.items()},
        "at": _now(),
    }
    if trial.state == FROM_STORE:
        event.update(value=trial.value, metrics=trial.metrics)
    return event


def _error_of(future: cf.Future[typing.Any]) -> BaseException | None:
    try:
        return future.exception(timeout=0)
    except (cf.CancelledError, cf.TimeoutError):
        return None


def decide_study(
    root: str | os.PathLike[str],
    name: str,
    *,
    go: bool,
    note: str | None = None,
    by: str | None = None,
) -> str:
    """Record a go/no-go decision for the gate a study awaits; the decision file's path
    (``by``: who decides, default the user name)."""
    folder = os.path.join(os.fspath(root), STUDIES, name)
    awaiting = StudyView.read(root, name).awaiting
    if awaiting is None:
        raise DecisionError(
            f"study {name!r} awaits no decision; `phyper study show {name}` says what it awaits"
        )
    return write_decision(folder, awaiting, go=go, note=note, subject=f"study {name!r}", by=by)
