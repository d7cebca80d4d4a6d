"""The samplers behind one contract: grid, random and Optuna's."""

from __future__ import annotations

import itertools

import pytest

import phyper
from phyper import tune


class Net(phyper.Parser):
    depth = 2
    width = 8
    rate = 0.01


SPACE = {"depth": tune.integers(1, 4), "width": [8, 16, 32], "rate": tune.log_uniform(1e-3, 1e-1)}


def _space():
    return tune.SearchSpace.check(Net(), SPACE)


def test_the_grid_visits_every_point_once_in_product_or_shuffled_order():
    for shuffle in (False, True):
        grid = tune.GridSampler(shuffle=shuffle, seed=3, points=3)
        grid.start(_space(), "minimize")
        points = list(iter(grid.ask, None))
        assert len(points) == grid.size == 4 * 3 * 3
        keys = {tuple(sorted(p.items())) for p in points}
        assert len(keys) == len(points)
        product = [
            dict(zip(["depth", "rate", "width"], values, strict=True))
            for values in itertools.product([1, 2, 3, 4], [1e-3, 1e-2, 1e-1], [8, 16, 32])
        ]
        assert (points == product) is not shuffle
        assert sorted(map(str, points)) == sorted(map(str, product))


def test_the_grid_skips_what_it_was_told():
    grid = tune.GridSampler()
    grid.start(_space(), "minimize")
    told = [grid.ask() for _ in range(5)]
    again = tune.GridSampler()
    again.start(_space(), "minimize")
    for params in told[:3]:
        again.tell(tune.FinishedTrial(params, 1.0, "complete"))
    again.running(told[3])
    rest = list(iter(again.ask, None))
    assert told[4] in rest and not any(p in rest for p in told[:4])
    assert len(rest) == 36 - 4


def test_random_is_seeded_and_does_not_replay_after_a_restart():
    def draws(seed, known):
        sampler = tune.RandomSampler(seed=seed)
        sampler.start(_space(), "minimize")
        for params in known:
            sampler.tell(tune.FinishedTrial(params, 0.0, "complete"))
        return [sampler.ask() for _ in range(5)]

    first = draws(1, [])
    assert draws(1, []) == first and draws(2, []) != first
    assert draws(1, first[:2]) != first  # a restart with 2 known outcomes draws anew


def _score(p):
    return abs(p["depth"] - 3) + abs(p["width"] - 16) / 8 + abs(p["rate"] - 1e-2) * 10


def test_tpe_learns_from_what_it_is_told():
    pytest.importorskip("optuna")
    proposals = {}
    for name, sampler in (("tpe", tune.TPESampler(seed=0)), ("random", tune.RandomSampler(0))):
        sampler.start(_space(), "minimize")
        for depth, width, rate in itertools.product([1, 2, 3, 4], [8, 16, 32], [1e-3, 1e-2, 1e-1]):
            params = {"depth": depth, "width": width, "rate": rate}
            sampler.tell(tune.FinishedTrial(params, _score(params), "prior"))
        proposals[name] = [sampler.ask() for _ in range(20)]
    mean = {name: sum(map(_score, found)) / len(found) for name, found in proposals.items()}
    assert mean["tpe"] < 0.75 * mean["random"], mean
    tpe_proposals = proposals["tpe"]
    assert all(isinstance(p["depth"], int) and p["width"] in (8, 16, 32) for p in tpe_proposals)


def test_an_optuna_trial_told_back_is_closed():
    pytest.importorskip("optuna")
    tpe = tune.TPESampler(seed=0)
    tpe.start(_space(), "minimize")
    asked = [tpe.ask() for _ in range(3)]
    tpe.tell(tune.FinishedTrial(asked[0], 1.0, "complete"))
    tpe.tell(tune.FinishedTrial(asked[1], None, "failed"))
    tpe.tell(tune.FinishedTrial({"depth": 1, "width": 8, "rate": 0.05}, 2.0, "prior"))
    states = [t.state.name for t in tpe._study.trials]
    assert states == ["COMPLETE", "FAIL", "RUNNING", "COMPLETE"]


def test_every_public_sampler_is_a_class():
    """``isinstance(s, tune.TPESampler)`` works: TPESampler was a function."""
    pytest.importorskip("optuna")
    tpe = tune.TPESampler(seed=0, n_startup_trials=3)
    assert isinstance(tpe, tune.TPESampler) and isinstance(tpe, tune.OptunaSampler)
    assert isinstance(tpe, tune.BaseSampler)
    assert tpe.sampler._n_startup_trials == 3  # Optuna's own options still reach Optuna
    assert tpe.describe() == {"sampler": "OptunaSampler", "optuna_sampler": "TPESampler"}
    for name in ("BaseSampler", "GridSampler", "RandomSampler", "OptunaSampler", "TPESampler"):
        public = getattr(tune, name)
        assert isinstance(public, type) and issubclass(public, tune.BaseSampler), name
