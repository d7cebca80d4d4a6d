"""The sampler contract: what a study asks of the part that decides where to look next.

A study calls, in this order: :meth:`BaseSampler.start` once per start of the study (a driver
killed and started again calls it again on a fresh sampler), :meth:`BaseSampler.tell` for every
trial whose outcome is already known (this study's finished trials, then prior knowledge found
in the store), :meth:`BaseSampler.running` for each trial resumed in flight, and then
:meth:`BaseSampler.ask` / :meth:`BaseSampler.tell` as trials are started and finish (with a
scheduler, :meth:`BaseSampler.update` as a paused trial reaches a higher rung). The
store, not the sampler, is the record: a sampler keeps nothing on disk.
"""

from __future__ import annotations

import abc
import typing
from dataclasses import dataclass

if typing.TYPE_CHECKING:
    from .._space import SearchSpace

Direction = typing.Literal["minimize", "maximize"]


@dataclass(frozen=True)
class FinishedTrial:
    """A trial whose outcome is known: its searched values, its value (None when it failed),
    its state (``complete``, ``stopped_early``, ``from_store``, ``prior``, ``failed``,
    ``paused``) and, with successive halving, its ``budget``: the epochs of the rung the value
    was measured at (None: a full training, or an outcome from elsewhere)."""

    params: dict[str, object]
    value: float | None
    state: str
    budget: int | None = None


class BaseSampler(abc.ABC):
    """Subclass it and implement :meth:`ask`; override :meth:`tell` to learn from results.

    >>> import numpy as np
    >>> class Always(BaseSampler):
    ...     def ask(self):
    ...         return {name: dim.grid(1)[0] for name, dim in self.space.dimensions.items()}
    """

    space: SearchSpace
    direction: Direction

    def start(self, space: SearchSpace, direction: Direction) -> None:
        """Begin a (re)started study: forget everything but the settings."""
        self.space = space
        self.direction = direction

    def tell(self, trial: FinishedTrial) -> None:  # noqa: B027 (optional by design)
        """Learn a finished trial's outcome (default: ignore it)."""

    def running(self, params: dict[str, object]) -> None:  # noqa: B027 (optional by design)
        """A trial resumed in flight after a restart has these values (default: ignore)."""

    def update(self, trial: FinishedTrial) -> None:  # noqa: B027 (optional by design)
        """A trial told before has a newer outcome, which replaces the earlier one: with a
        scheduler (successive halving) a trial is told its value at the first rung it pauses
        at, then updated at each higher rung it reaches (as BOHB learns from the highest
        budget). Default: ignore it."""

    @abc.abstractmethod
    def ask(self) -> dict[str, object] | None:
        """Values for the next trial, or None when there is nothing left to propose."""

    def describe(self) -> dict[str, object]:
        """The sampler's name and settings, for the study's record."""
        return {"sampler": type(self).__name__}


def params_key(params: dict[str, object]) -> tuple[tuple[str, str, object], ...]:
    """A dict key of searched values; the type is part of it, so 1, 1.0 and True differ."""
    return tuple((name, type(value).__name__, value) for name, value in sorted(params.items()))
