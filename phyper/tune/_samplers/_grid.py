"""Every point of a grid once, in the given order or shuffled, with no slowdown as it fills."""

from __future__ import annotations

import math

import numpy as np

from .._space import SearchSpace
from ._base import BaseSampler, Direction, FinishedTrial, params_key


class GridSampler(BaseSampler):
    """The Cartesian product of the dimensions: a choice's values, an integer range, and
    ``points`` evenly spread values of a continuous dimension (log-spaced for log_uniform).

    Points come in product order, or shuffled (seeded) with ``shuffle=True``. A point already
    told (finished, or answered from the store) is skipped; when every point was proposed,
    :meth:`ask` returns None and the study ends. Each ask is O(1) amortised: a pointer into the
    order, never a scan of the visited points.

    >>> import phyper
    >>> from phyper import tune
    >>> class Net(phyper.Parser):
    ...     depth = 1
    ...     act = "relu"
    >>> dimensions = {"depth": tune.integers(1, 2), "act": ["relu", "tanh"]}
    >>> grid = GridSampler()
    >>> grid.start(tune.SearchSpace.check(Net(), dimensions), "minimize")
    >>> [grid.ask() for _ in range(3)]
    [{'act': 'relu', 'depth': 1}, {'act': 'relu', 'depth': 2}, {'act': 'tanh', 'depth': 1}]
    >>> grid.ask(), grid.ask()
    ({'act': 'tanh', 'depth': 2}, None)
    """

    def __init__(self, *, shuffle: bool = False, seed: int | None = 0, points: int = 3) -> None:
        if points < 1:
            raise ValueError(f"GridSampler(points={points}): expected at least 1")
        self.shuffle, self.seed, self.points = shuffle, seed, points

    def start(self, space: SearchSpace, direction: Direction) -> None:
        super().start(space, direction)
        self._names = list(space.dimensions)
        self._axes = space.grid_axes(self.points)
        self._size = math.prod(len(axis) for axis in self._axes)
        self._order = (
            np.random.default_rng(self.seed).permutation(self._size) if self.shuffle else None
        )
        self._position = 0
        self._seen: set[tuple[tuple[str, str, object], ...]] = set()

    @property
    def size(self) -> int:
        """The number of points of the grid."""
        return self._size

    def _point(self, index: int) -> dict[str, object]:
        values = []
        for axis in reversed(self._axes):  # the last axis varies fastest, as in itertools.product
            index, digit = divmod(index, len(axis))
            values.append(axis[digit])
        return dict(zip(self._names, reversed(values), strict=True))

    def tell(self, trial: FinishedTrial) -> None:
        # A point known only from the store (``prior``) is still proposed: the study answers
        # it from the store without running it, and counts it as one of its trials.
        if trial.state != "prior":
            self._seen.add(params_key(trial.params))

    def running(self, params: dict[str, object]) -> None:
        self._seen.add(params_key(params))

    def ask(self) -> dict[str, object] | None:
        while self._position < self._size:
            index = self._position if self._order is None else int(self._order[self._position])
            self._position += 1
            point = self._point(index)
            key = params_key(point)
            if key not in self._seen:
                self._seen.add(key)
                return point
        return None

    def describe(self) -> dict[str, object]:
        settings = {"shuffle": self.shuffle, "seed": self.seed, "points": self.points}
        return {"sampler": "GridSampler", **settings}
