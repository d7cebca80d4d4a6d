"""The errors of the training-run loop; each subclasses ``PhyperError`` and a fitting built-in."""

from __future__ import annotations

from .._errors import PhyperError


class ConditionError(PhyperError, ValueError):
    """A termination condition built with bad arguments, or a spec phyper cannot read."""


class UnknownMetricError(PhyperError, KeyError):
    """A condition names a metric the run never reported."""


class RunStateError(PhyperError, ValueError):
    """A run folder whose ``run.json`` or ``metrics.csv`` is unreadable, foreign or inconsistent."""


class CheckpointError(PhyperError, RuntimeError):
    """A checkpoint that cannot be saved, is missing or damaged, or fails to load."""


class RunLockedError(PhyperError, RuntimeError):
    """Another live process holds the run folder's lock."""


class HookError(PhyperError, RuntimeError):
    """A hook raised; the message names the hook class and the moment."""


class DecisionError(PhyperError, ValueError):
    """A go/no-go decision that cannot be recorded (nothing awaits it, already decided, ...)."""


class RunUsageError(PhyperError, RuntimeError):
    """The loop used out of order (``report`` outside an epoch, twice in one epoch, ...)."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) stopped a run or a study after it recorded where it was: the runs in
    flight are ``interrupted`` (not failed) and the same call resumes them. A
    ``KeyboardInterrupt``, so ``except KeyboardInterrupt`` still catches it; its message is one
    line for a terminal (``python -m example`` prints it and exits with status 130)."""


Interrupted.__module__ = "phyper.tune"  # shown (and pickled) under its public name
