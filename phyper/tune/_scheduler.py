"""Schedulers: at which epochs the trials of a study pause, and which paused trials go on.

A scheduler is a small object a study is given (``tune.Study(..., scheduler=...)``), as Optuna's
pruners are given to its studies; unlike a pruner it never kills a trial. The study pauses each
trial at its next *rung* (an epoch count), and as soon as a rung holds enough results it
promotes the best of them: the paused run resumes from its checkpoint, so no epoch is trained
twice. :class:`SuccessiveHalving` is asynchronous successive halving (ASHA, Li et al. 2020),
optionally over several Hyperband brackets (:func:`Hyperband`). This module is pure: the loop
that applies it lives in ``_halving.py``.
"""

from __future__ import annotations

import abc
import math
import typing
from collections.abc import Sequence

from .._errors import PhyperError

# the journal events of a study with a scheduler (besides start, complete, failed, ...)
PAUSED, PROMOTED = "paused", "promoted"


class SchedulerError(PhyperError, ValueError):
    """A scheduler given settings it cannot work with."""


class BaseScheduler(abc.ABC):
    """The contract: the rungs of each bracket, the bracket of each new trial, and how many of
    a rung's results may go on to the next rung. Subclass it for another promotion rule.

    >>> class Doubling(BaseScheduler):
    ...     def rungs(self, bracket):
    ...         return (1, 2, 4, 8)
    ...     def quota(self, results, draining):
    ...         return results // 2
    >>> Doubling().rungs(0)
    (1, 2, 4, 8)
    """

    def brackets(self) -> int:
        """How many brackets (sets of rungs) trials are spread over."""
        return 1

    def bracket_of(self, index: int) -> int:
        """The bracket of the ``index``-th configuration the study starts (from 0)."""
        return index % self.brackets()

    @abc.abstractmethod
    def rungs(self, bracket: int) -> tuple[int, ...]:
        """The epochs at which a trial of ``bracket`` pauses, increasing; the last is the full
        budget, where a trial completes."""

    @abc.abstractmethod
    def quota(self, results: int, draining: bool) -> int:
        """How many of the best of a rung that holds ``results`` results go on. ``draining``:
        no new configuration will start (the study reached ``n_trials``), so a rung that waits
        for more results would wait for ever."""

    def describe(self) -> dict[str, object]:
        """The scheduler's name and settings, kept in the study's definition (a study cannot
        change its rungs)."""
        return {"scheduler": type(self).__name__}

    def promotable(
        self,
        rung: Sequence[tuple[float, int]],
        promoted: set[int],
        paused: set[int],
        draining: bool,
    ) -> int | None:
        """The trial (its number) of ``rung`` to promote now, or None. ``rung`` holds
        ``(value, number)`` of every trial that reached it, smaller values better; ``promoted``
        the numbers already promoted from it; ``paused`` those paused there now."""
        top = sorted(rung)[: self.quota(len(rung), draining)]
        for _, number in top:
            if number not in promoted and number in paused:
                return number
        return None


class SuccessiveHalving(BaseScheduler):
    """Asynchronous successive halving: rungs at ``min_epochs * eta**k`` below ``max_epochs``,
    then ``max_epochs``; a rung's best ``1/eta`` go on as soon as it holds ``eta`` results (and
    the best of each further ``eta``). With ``brackets=n`` the trials are spread over the first
    ``n`` Hyperband brackets, bracket ``b`` starting at the ``b``-th rung, in Hyperband's
    proportions.

    >>> from phyper import tune
    >>> tune.SuccessiveHalving(min_epochs=1, max_epochs=100, eta=3).rungs(0)
    (1, 3, 9, 27, 81, 100)
    >>> tune.SuccessiveHalving(min_epochs=1, max_epochs=100, eta=3, brackets=3).rungs(2)
    (9, 27, 81, 100)
    """

    def __init__(
        self, *, min_epochs: int = 1, max_epochs: int, eta: int = 3, brackets: int = 1
    ) -> None:
        for name, value in (("min_epochs", min_epochs), ("max_epochs", max_epochs)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SchedulerError(
                    f"SuccessiveHalving({name}={value!r}): expected an integer >= 1"
                )
        if max_epochs < min_epochs:
            raise SchedulerError(
                f"SuccessiveHalving: max_epochs={max_epochs} is below min_epochs={min_epochs}"
            )
        if isinstance(eta, bool) or not isinstance(eta, int) or eta < 2:
            raise SchedulerError(f"SuccessiveHalving(eta={eta!r}): expected an integer >= 2")
        self.min_epochs, self.max_epochs, self.eta = min_epochs, max_epochs, eta
        base = []
        epochs = min_epochs
        while epochs < max_epochs:
            base.append(epochs)
            epochs *= eta
        self._base = (*base, max_epochs)
        if isinstance(brackets, bool) or not isinstance(brackets, int) or brackets < 1:
            raise SchedulerError(
                f"SuccessiveHalving(brackets={brackets!r}): expected an integer >= 1"
            )
        if brackets > len(self._base):
            raise SchedulerError(
                f"SuccessiveHalving(brackets={brackets}): these rungs {self._base} allow at most "
                f"{len(self._base)} brackets"
            )
        self._brackets = brackets
        self._cycle = self._bracket_cycle()

    def _bracket_cycle(self) -> tuple[int, ...]:
        """Hyperband's number of configurations per bracket, interleaved evenly: bracket b
        (with s = len(rungs) - 1 - b halvings) gets ceil((s_max + 1) / (s + 1) * eta**s)."""
        s_max = len(self._base) - 1
        counts = []
        for bracket in range(self._brackets):
            s = s_max - bracket
            counts.append(math.ceil((s_max + 1) / (s + 1) * self.eta**s))
        slots = [
            ((j + 0.5) / count, bracket)
            for bracket, count in enumerate(counts)
            for j in range(count)
        ]
        return tuple(bracket for _, bracket in sorted(slots))

    def brackets(self) -> int:
        return self._brackets

    def bracket_of(self, index: int) -> int:
        return self._cycle[index % len(self._cycle)]

    def rungs(self, bracket: int) -> tuple[int, ...]:
        if not 0 <= bracket < self._brackets:
            raise SchedulerError(f"bracket {bracket}: this scheduler has {self._brackets}")
        return self._base[bracket:]

    def quota(self, results: int, draining: bool) -> int:
        # ASHA's rule, floor(n / eta); once no new trial can come, round up instead, so each
        # bracket's best trial still climbs to the full budget
        return -(-results // self.eta) if draining else results // self.eta

    def describe(self) -> dict[str, object]:
        return {
            "scheduler": "SuccessiveHalving",
            "min_epochs": self.min_epochs,
            "max_epochs": self.max_epochs,
            "eta": self.eta,
            "brackets": self._brackets,
        }


def Hyperband(*, min_epochs: int = 1, max_epochs: int, eta: int = 3) -> SuccessiveHalving:
    """Asynchronous Hyperband: successive halving over every bracket, from the most aggressive
    (pausing first at ``min_epochs``) to plain full training, in Hyperband's proportions.

    >>> from phyper import tune
    >>> tune.Hyperband(min_epochs=1, max_epochs=9, eta=3).brackets()
    3
    """
    rungs = SuccessiveHalving(min_epochs=min_epochs, max_epochs=max_epochs, eta=eta).rungs(0)
    return SuccessiveHalving(
        min_epochs=min_epochs, max_epochs=max_epochs, eta=eta, brackets=len(rungs)
    )


def rung_index(rungs: Sequence[int], epochs: int) -> int | None:
    """The highest rung a run of ``epochs`` epochs reached, or None below the first."""
    reached = [k for k, r in enumerate(rungs) if r <= epochs]
    return reached[-1] if reached else None


def apply_event(trial: typing.Any, event: dict[str, typing.Any]) -> None:
    """Replay a ``paused`` or ``promoted`` event onto a study's trial."""
    if event["event"] == PAUSED:
        trial.state = PAUSED
        trial.rung = int(event["rung"])
        trial.value = event.get("value")
        trial.metrics = event.get("metrics") or {}
        trial.duration = event.get("duration")
    else:
        trial.state = PROMOTED
