"""The epoch budget of the trial being run: how a search tells a training where to pause.

A successive-halving study (``tune.Study(..., scheduler=tune.SuccessiveHalving(...))``) runs each
trial with a budget: the epoch of the rung the trial is to reach. The worker sets it around the
call of the objective; ``tune.Run`` reads it on entry and pauses at that epoch (status
``paused``, checkpointed), so the objective's code stays the same as in any other study. An
objective that trains without ``tune.Run`` reads :func:`epoch_budget` itself.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Budget:
    """Train the instance of hash ``hash`` up to epoch ``epochs``, then pause."""

    hash: str
    epochs: int


_current: contextvars.ContextVar[Budget | None] = contextvars.ContextVar(
    "phyper_epoch_budget", default=None
)


def epoch_budget() -> int | None:
    """The epoch at which the trial being run pauses, or None outside a successive-halving
    study (train to the end then).

    >>> from phyper import tune
    >>> tune.epoch_budget() is None
    True
    """
    budget = _current.get()
    return None if budget is None else budget.epochs


def current_budget() -> Budget | None:
    return _current.get()


@contextlib.contextmanager
def budget_of_trial(hash: str, epochs: int) -> Iterator[None]:
    """Set the budget for the duration of one trial (in the worker that runs it)."""
    token = _current.set(Budget(hash, epochs))
    try:
        yield
    finally:
        _current.reset(token)
