"""Samplers: one small contract (:class:`BaseSampler`) and one module per sampler."""

from ._base import BaseSampler, FinishedTrial
from ._grid import GridSampler
from ._optuna import OptunaSampler, TPESampler
from ._random import RandomSampler

__all__ = [
    "BaseSampler",
    "FinishedTrial",
    "GridSampler",
    "OptunaSampler",
    "RandomSampler",
    "TPESampler",
]
