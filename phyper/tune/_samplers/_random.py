"""Independent random draws from the space, seeded and reproducible."""

from __future__ import annotations

import numpy as np

from .._space import SearchSpace
from ._base import BaseSampler, Direction, FinishedTrial


class RandomSampler(BaseSampler):
    """Each trial's values drawn independently. The generator is seeded with the seed and the
    number of outcomes known at start, so a study started again does not replay the draws it
    already made, and the same history with the same seed proposes the same values.

    >>> from phyper.tune import RandomSampler
    >>> RandomSampler(seed=1).describe()
    {'sampler': 'RandomSampler', 'seed': 1}
    """

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed

    def start(self, space: SearchSpace, direction: Direction) -> None:
        super().start(space, direction)
        self._known = 0
        self._rng: np.random.Generator | None = None

    def tell(self, trial: FinishedTrial) -> None:
        if self._rng is None:
            self._known += 1

    def running(self, params: dict[str, object]) -> None:
        if self._rng is None:
            self._known += 1

    def ask(self) -> dict[str, object] | None:
        if self._rng is None:
            seed = None if self.seed is None else [self.seed, self._known]
            self._rng = np.random.default_rng(seed)
        return self.space.sample(self._rng)

    def describe(self) -> dict[str, object]:
        return {"sampler": "RandomSampler", "seed": self.seed}
