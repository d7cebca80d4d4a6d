"""What a run's or a trial's state truly is, when read: the one place every reader (``phyper
runs``, ``tune.runs()``, a study's view, ``phyper gc``, the dashboard) derives it.

The files say what their writer last committed; a writer killed by ``kill -9`` cannot commit
that it died. Its lock says it: ``run.lock`` (a run), ``driver.lock`` (a study's driver) and
``trial.lock`` (a trial in a worker) are ``flock``'ed by the live process, and the OS drops a
lock when its holder dies. So:

- a run whose ``run.json`` says ``running`` while no process holds its ``run.lock`` is
  ``interrupted``: started again, it resumes from its last committed epoch;
- a run that awaits a decision which has been written (``decision-<gate>.json``) but not yet
  applied (nobody started the run since) is ``decided``, with ``go (not yet resumed)`` or
  ``no-go (not yet applied)`` as its decision;
- a trial the journal says is ``running`` while neither the study's driver nor a process
  working in the trial's folder holds a lock is ``interrupted``.

Cost: one non-blocking ``flock`` attempt per run that says ``running`` (never for the others),
and one ``stat`` per run awaiting a decision.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ._errors import RunStateError
from ._gate import read_decision
from ._lock import is_held
from ._state import LOCK_FILE, RunState, Status

DECIDED = "decided"  # derived only: a decision was written, the run has not applied it yet
INTERRUPTED = Status.INTERRUPTED.value
# statuses of runs that may go on: their folders are never garbage (``phyper gc``)
LIVE_STATUSES = frozenset(
    {
        Status.RUNNING.value,
        Status.AWAITING_DECISION.value,
        DECIDED,
        Status.PAUSED.value,
        INTERRUPTED,
    }
)
# every status a reader can show: those run.json holds, and those derived when read
SHOWN_STATUSES = (*(s.value for s in Status), DECIDED)
TRIAL_LOCK = "trial.lock"  # a worker's lock on a trial's folder (_study.run_trial)


@dataclass(frozen=True)
class Observed:
    """A run's status as a reader shows it, and the decision waiting to be applied, if any."""

    status: str
    decision: str | None = None


def observe_run(folder: str, state: RunState) -> Observed:
    """The status of the run in ``folder`` whose committed state is ``state``.

    >>> import tempfile
    >>> from phyper.tune._state import RunState
    >>> observe_run(tempfile.mkdtemp(), RunState(hash="0" * 32, resource="all"))
    Observed(status='interrupted', decision=None)
    """
    status = state.status
    if status is Status.RUNNING:
        held = is_held(os.path.join(folder, LOCK_FILE))
        return Observed(status.value if held else INTERRUPTED)
    if status is Status.AWAITING_DECISION and state.gate is not None:
        decision = pending_decision(folder, state.gate)
        if decision is not None:
            return Observed(DECIDED, decision)
    return Observed(status.value)


def pending_decision(folder: str, gate: str) -> str | None:
    """``go (not yet resumed)`` or ``no-go (not yet applied)`` when ``folder`` (a run's or a
    study's) holds a decision for ``gate``, which it awaits; None while there is none."""
    try:
        decision = read_decision(folder, gate)
    except RunStateError:  # a damaged decision file: it still waits for a valid one
        return None
    if decision is None:
        return None
    return "go (not yet resumed)" if decision["decision"] == "go" else "no-go (not yet applied)"


def trial_in_progress(trial_folder: str) -> bool:
    """True while a process works in a trial's hash folder: a worker holds ``trial.lock`` or
    a training run holds ``run.lock`` (an orphaned worker of a killed driver, on a cluster)."""
    return is_held(os.path.join(trial_folder, TRIAL_LOCK)) or is_held(
        os.path.join(trial_folder, LOCK_FILE)
    )
