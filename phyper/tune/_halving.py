"""The loop of a study with a scheduler (asynchronous successive halving, Hyperband brackets).

Each trial runs with an epoch budget, the epoch of its next rung (``_budget.py``); its
``tune.Run`` pauses there, checkpointed, status ``paused``, and the worker is free. Whenever a
worker is free the driver starts, in this order: a trial that was in flight when a previous
driver died; a promotion (the best paused trial that the scheduler lets go on, highest rung
first, as in ASHA); a new configuration from the sampler. It waits for the first trial to end,
never for a batch.

The journal records ``paused`` (with the rung and the value there) after the run paused, and
``promoted`` before the resumed run is submitted, each flushed before what it announces: a
driver killed at any moment finds the same rungs, promotes nobody twice and forgets nobody (a
trial whose ``paused`` event was lost is resumed with the same budget, and its run, already at
the rung, pauses again at once without training).
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import math
import os
import time
import typing
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from ._budget import budget_of_trial
from ._journal import Journal
from ._lock import FolderLock
from ._observe import INTERRUPTED, TRIAL_LOCK
from ._run import RunResult
from ._samplers import FinishedTrial
from ._scheduler import PAUSED, PROMOTED, rung_index
from ._state import Status
from ._study import (
    COMPLETE,
    FAILED,
    FROM_STORE,
    JOURNAL_FILE,
    RUNNING,
    STOPPED_EARLY,
    STUDIES,
    StudyError,
    StudyLockedError,
    Trial,
    _InlineExecutor,
    _interruptible,
    _metrics_of,
    _now,
    proposal_event,
    stored_result,
    write_trial_result,
)

if typing.TYPE_CHECKING:
    import pandas as pd

    from .._parser import Parser
    from ._study import Study

IN_FLIGHT = (RUNNING, PROMOTED, INTERRUPTED)


# ---------------------------------------------------------------------------- the worker


@dataclass(frozen=True)
class RungOutcome:
    """What a worker reports: ``paused`` at the budget, or ``complete``/``stopped_early``."""

    state: str
    metrics: dict[str, float]
    epochs: int | None  # None when the objective trains without tune.Run
    busy: float


def run_rung(
    objective: Callable[[typing.Any], object],
    instance: Parser,
    metric: str,
    budget: int,
    top: bool,
    lock: bool = True,
) -> RungOutcome:
    """What a worker runs: ``objective(instance)`` with the epoch budget ``budget`` (the
    trial's ``tune.Run`` pauses there). ``top``: the budget is the last rung, where a trial
    completes. A completed trial's result is written to its hash folder (as ``run_trial``
    does); a paused one writes none, so a later grid or study continues it instead."""
    started = time.perf_counter()
    folder = instance.get_resources_path()
    trial_hash = instance.get_instance_hash()
    trial_lock = None
    if lock:  # an orphaned worker of a killed driver may still train this configuration
        os.makedirs(folder, exist_ok=True)
        trial_lock = FolderLock(
            os.path.join(folder, TRIAL_LOCK), StudyLockedError, f"trial {folder!r}"
        )
        trial_lock.acquire(wait=True)
    try:
        stored = stored_result(folder, metric)
        if stored is not None:  # finished elsewhere: another study, a grid
            state = STOPPED_EARLY if stored[2] else COMPLETE
            return RungOutcome(state, stored[1], None, time.perf_counter() - started)
        with budget_of_trial(trial_hash, budget), _interruptible():
            outcome = objective(instance)
        epochs: int | None = None
        if isinstance(outcome, RunResult) and outcome.status is Status.PAUSED:
            metrics = dict(outcome.best_metrics or outcome.final_metrics)
            value = metrics.get(metric)
            if value is None or not math.isfinite(value):
                raise StudyError(
                    f"the trial's run paused without a finite {metric!r}; it reported "
                    f"{sorted(outcome.final_metrics)}"
                )
            state, epochs = (COMPLETE if top else PAUSED), outcome.epochs
            finished = False  # the run can train on: no result file for others to trust
        else:
            metrics, stopped_early = _metrics_of(outcome, metric)
            if isinstance(outcome, RunResult):
                epochs = outcome.epochs
                state, finished = (STOPPED_EARLY if stopped_early else COMPLETE), True
            else:  # trained without tune.Run, to epoch_budget() epochs
                state, finished = (COMPLETE if top else PAUSED), top
        if finished:
            write_trial_result(folder, instance, metrics, state == STOPPED_EARLY)
    finally:
        if trial_lock is not None:
            trial_lock.release()
    return RungOutcome(state, metrics, epochs, time.perf_counter() - started)


# ---------------------------------------------------------------------------- the ladder


@dataclass
class Ladder:
    """Each rung's results and promotions, per bracket, rebuilt from the journal."""

    sign: float  # 1 to minimize, -1 to maximize: rungs rank by sign * value
    results: dict[tuple[int, int], list[tuple[float, int]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    promoted: dict[tuple[int, int], set[int]] = field(default_factory=lambda: defaultdict(set))
    paused: dict[tuple[int, int], set[int]] = field(default_factory=lambda: defaultdict(set))

    @classmethod
    def replay(cls, events: list[dict[str, typing.Any]], sign: float) -> Ladder:
        ladder = cls(sign)
        bracket_of: dict[int, int] = {}
        for event in events:
            kind = event.get("event")
            number = int(event.get("trial") or 0)
            if kind == "start":
                bracket_of[number] = int(event.get("bracket") or 0)
            elif kind == PAUSED:
                ladder.pause(bracket_of.get(number, 0), int(event["rung"]), number, event["value"])
            elif kind == PROMOTED:
                ladder.promote(bracket_of.get(number, 0), int(event["rung"]) - 1, number)
        return ladder

    def pause(self, bracket: int, rung: int, number: int, value: float) -> None:
        self.results[bracket, rung].append((self.sign * value, number))
        self.paused[bracket, rung].add(number)

    def promote(self, bracket: int, rung: int, number: int) -> None:
        self.promoted[bracket, rung].add(number)
        self.paused[bracket, rung].discard(number)

    def next_promotion(self, scheduler: typing.Any, draining: bool) -> tuple[int, int, int] | None:
        """``(bracket, rung, number)`` of the trial to promote now: the highest rung first."""
        candidates = []
        for bracket in range(scheduler.brackets()):
            top = len(scheduler.rungs(bracket)) - 1
            for rung in range(top - 1, -1, -1):
                key = (bracket, rung)
                if not self.paused.get(key):
                    continue
                number = scheduler.promotable(
                    self.results[key], self.promoted[key], self.paused[key], draining
                )
                if number is not None:
                    candidates.append((-scheduler.rungs(bracket)[rung], bracket, rung, number))
                    break
        if not candidates:
            return None
        _, bracket, rung, number = min(candidates)
        return bracket, rung, number


# ------------------------------------------------------------------------------ the loop


def _start_sampler(study: Study) -> list[Trial]:
    """Tell a fresh sampler everything known (a trial's value at the highest rung it reached);
    return the trials that were in flight."""
    sampler = study.sampler
    sampler.start(study.space, study.direction)
    resumed = []
    for trial in study.trials:
        if trial.state in IN_FLIGHT:
            resumed.append(trial)
        if trial.value is None and trial.state in (RUNNING, INTERRUPTED):
            sampler.running(trial.params)
        else:
            budget = _budget(study, trial)
            sampler.tell(FinishedTrial(trial.params, trial.value, trial.state, budget))
    prior = study._prior_knowledge()
    for params, value in prior:
        sampler.tell(FinishedTrial(params, value, "prior"))
    study.prior_knowledge = len(prior)
    return resumed


class HalvingLoop:
    """The driver's side: the ladder rebuilt from the journal, then :meth:`run` until
    ``n_trials`` configurations were started and nothing more can be promoted."""

    def __init__(self, study: Study, journal: Journal) -> None:
        self.study = study
        self.scheduler = typing.cast(typing.Any, study.scheduler)
        sign = 1.0 if study.direction == "minimize" else -1.0
        self.ladder = Ladder.replay(journal.replay(), sign)
        self.resumed = _start_sampler(study)
        # _start_sampler told the sampler of every trial but those running without a value
        self.told = {
            t.number
            for t in study.trials
            if not (t.value is None and t.state in (RUNNING, INTERRUPTED))
        }
        self.starts = sum(t.bracket is not None for t in study.trials)
        self.repeats: Counter[str] = Counter()

    def finish(self, trial: Trial, future: cf.Future[typing.Any]) -> dict[str, typing.Any]:
        """Record what a trial's worker returned; the journal event that says so."""
        return _finish(self.study, self.ladder, trial, future, self.told, self.repeats)

    def run(
        self,
        objective: Callable[[typing.Any], object],
        n_trials: int,
        n_jobs: int,
        executor: cf.Executor,
        journal: Journal,
        futures: dict[cf.Future[typing.Any], Trial],
        events: list[dict[str, typing.Any]],
    ) -> None:
        """``futures`` (in flight) and ``events`` (not yet journaled) are the caller's, so a
        Ctrl-C handler finds them as they were."""
        study, scheduler, ladder = self.study, self.scheduler, self.ladder
        failures = 0
        exhausted = False
        inline = isinstance(executor, _InlineExecutor)
        while True:
            submitting: list[Trial] = []
            while len(futures) + len(submitting) < n_jobs:
                if self.resumed:
                    trial = self.resumed.pop(0)
                    if trial.state == INTERRUPTED:
                        trial.state = RUNNING
                        events.append(
                            {"event": "resumed", "trial": trial.number, "hash": trial.hash,
                             "at": _now()}
                        )  # fmt: skip
                    submitting.append(trial)
                    continue
                draining = exhausted or len(study.trials) >= n_trials
                promotion = ladder.next_promotion(scheduler, draining)
                if promotion is not None:
                    bracket, rung, number = promotion
                    trial = study.trials[number]
                    ladder.promote(bracket, rung, number)
                    trial.state = PROMOTED
                    events.append(
                        {"event": PROMOTED, "trial": number, "hash": trial.hash,
                         "rung": rung + 1, "at": _now()}
                    )  # fmt: skip
                    submitting.append(trial)
                    continue
                if draining:
                    break
                trial = study._propose(self.repeats)
                if trial is None:
                    exhausted = True
                    continue
                study._record(trial)
                event = proposal_event(trial)
                if trial.state == FROM_STORE:
                    events.append(event)
                    study.sampler.tell(FinishedTrial(trial.params, trial.value, FROM_STORE))
                    self.told.add(trial.number)
                    continue
                trial.bracket = scheduler.bracket_of(self.starts)
                self.starts += 1
                events.append({**event, "bracket": trial.bracket})
                submitting.append(trial)
            # one flush: the outcomes just recorded, then the starts and promotions about to
            # run; a promotion is durable before its run resumes
            journal.append(events)
            events.clear()
            for trial in submitting:
                rungs = scheduler.rungs(trial.bracket or 0)
                target = 0 if trial.rung is None else trial.rung + 1
                future = executor.submit(
                    run_rung, objective, study.instance(trial.params), study.metric,
                    rungs[target], target == len(rungs) - 1, not inline,
                )  # fmt: skip
                futures[future] = trial
            if not futures:
                break
            done, _ = cf.wait(futures, return_when=cf.FIRST_COMPLETED)
            interrupted = False
            for future in done:
                trial = futures.pop(future)
                events.append(self.finish(trial, future))
                if trial.state == INTERRUPTED:  # Ctrl-C reached the worker first
                    interrupted = True
                elif trial.state == FAILED:
                    failures += 1
                else:
                    failures = 0
            if interrupted:
                raise KeyboardInterrupt
            if failures >= study.max_consecutive_failures:
                study._stop_after_failures(journal, events, failures, "finished and paused trials")


def _finish(
    study: Study,
    ladder: Ladder,
    trial: Trial,
    future: cf.Future[typing.Any],
    told: set[int],
    repeats: Counter[str],
) -> dict[str, typing.Any]:
    event: dict[str, typing.Any] = {"trial": trial.number, "hash": trial.hash, "at": _now()}
    rungs = study.scheduler.rungs(trial.bracket or 0)  # type: ignore[union-attr]
    sampler = study.sampler
    try:
        outcome: RungOutcome = future.result()
    except (KeyboardInterrupt, cf.CancelledError):
        # its run is interrupted at its last committed epoch; resumed with the same budget
        trial.state = INTERRUPTED
        return {"event": INTERRUPTED, **event}
    except Exception as error:  # the objective's failure is recorded, the study goes on
        trial.state, trial.error = FAILED, f"{type(error).__name__}: {error}"
        if trial.number not in told:
            sampler.tell(FinishedTrial(trial.params, None, FAILED))
            told.add(trial.number)
        # a promoted trial keeps the value of the rung it reached
        return {"event": FAILED, **event, "error": trial.error, "value": trial.value}
    trial.metrics, trial.value = outcome.metrics, outcome.metrics[study.metric]
    trial.duration = (trial.duration or 0.0) + outcome.busy
    target = 0 if trial.rung is None else trial.rung + 1
    if outcome.state == PAUSED:
        trial.state, trial.rung = PAUSED, target
        ladder.pause(trial.bracket or 0, target, trial.number, trial.value)
    else:
        trial.state = outcome.state
        epochs = outcome.epochs if outcome.epochs is not None else rungs[target]
        reached = rung_index(rungs, epochs)
        trial.rung = reached if reached is not None else trial.rung
    finished = FinishedTrial(trial.params, trial.value, trial.state, _budget(study, trial))
    if trial.number in told:
        sampler.update(finished)  # the value at a higher rung replaces the lower one
    else:
        sampler.tell(finished)
        told.add(trial.number)
    for _ in range(repeats.pop(trial.hash, 0)):
        sampler.tell(finished)  # the same configuration proposed again while it ran
    return {
        "event": trial.state,
        **event,
        "rung": trial.rung,
        "epochs": outcome.epochs,
        "value": trial.value,
        "metrics": trial.metrics,
        "duration": trial.duration,  # busy seconds over all its rungs
    }


def _budget(study: Study, trial: Trial) -> int | None:
    """The epochs behind a trial's value: its rung's, as a model-based sampler weighs it."""
    if trial.rung is None or trial.value is None:
        return None
    return int(study.scheduler.rungs(trial.bracket or 0)[trial.rung])  # type: ignore[union-attr]


# --------------------------------------------------------------------------- for `runs`


def _journals(root: str) -> Iterator[str]:
    parent = os.path.join(root, STUDIES)
    if os.path.isdir(parent):
        for name in sorted(os.listdir(parent)):
            path = os.path.join(parent, name, JOURNAL_FILE)
            if os.path.isfile(path):
                yield path


def rungs_by_hash(root: str | os.PathLike[str]) -> dict[str, int]:
    """The highest successive-halving rung each configuration reached in any study under
    ``root``, by hash (``phyper runs`` shows it)."""
    found: dict[str, int] = {}
    for path in _journals(os.fspath(root)):
        with open(path, "rb") as stream:
            for line in stream:
                if b'"rung"' not in line:  # most lines of most studies: skip the JSON parse
                    continue
                try:
                    event = json.loads(line)
                except ValueError:
                    continue  # a torn last line
                rung = event.get("rung") if isinstance(event, Mapping) else None
                if event.get("event") == PROMOTED or not isinstance(rung, int):
                    continue
                found[event["hash"]] = max(rung, found.get(event["hash"], rung))
    return found


def with_rungs(frame: pd.DataFrame, root: str | os.PathLike[str]) -> pd.DataFrame:
    """``frame`` (one row per run, a ``hash`` column) with a ``rung`` column."""
    rungs = rungs_by_hash(root)
    frame["rung"] = frame["hash"].map(rungs).astype("Int64")
    return frame
