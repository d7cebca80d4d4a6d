"""Rungs, brackets and the promotion rule of the schedulers (pure: no study runs here)."""

from __future__ import annotations

import collections

import pytest

from phyper import tune
from phyper.tune._scheduler import rung_index


def test_rungs_are_min_epochs_times_powers_of_eta_then_max_epochs():
    assert tune.SuccessiveHalving(min_epochs=1, max_epochs=100, eta=3).rungs(0) == (
        1, 3, 9, 27, 81, 100,
    )  # fmt: skip
    assert tune.SuccessiveHalving(min_epochs=2, max_epochs=16, eta=2).rungs(0) == (2, 4, 8, 16)
    assert tune.SuccessiveHalving(min_epochs=5, max_epochs=5).rungs(0) == (5,)


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"max_epochs": 0}, "max_epochs=0"),
        ({"max_epochs": 10, "min_epochs": 20}, "below min_epochs"),
        ({"max_epochs": 10, "eta": 1}, "eta=1"),
        ({"max_epochs": 10, "min_epochs": 1.5}, "min_epochs=1.5"),
        ({"max_epochs": 9, "eta": 3, "brackets": 4}, "at most 3 brackets"),
    ],
)
def test_bad_settings_are_refused_by_name(options, named):
    with pytest.raises(tune.SchedulerError, match=named):
        tune.SuccessiveHalving(**options)


def test_hyperband_brackets_start_one_rung_later_each_in_hyperbands_proportions():
    hyperband = tune.Hyperband(min_epochs=1, max_epochs=27, eta=3)
    assert hyperband.brackets() == 4
    assert [hyperband.rungs(b) for b in range(4)] == [
        (1, 3, 9, 27), (3, 9, 27), (9, 27), (27,),
    ]  # fmt: skip
    # Hyperband's n_s = ceil((s_max + 1) / (s + 1) * eta**s): 27, 12, 6, 4 configurations
    cycle = [hyperband.bracket_of(i) for i in range(27 + 12 + 6 + 4)]
    assert collections.Counter(cycle) == {0: 27, 1: 12, 2: 6, 3: 4}
    assert set(cycle[:8]) == {0, 1, 2, 3}  # interleaved, not one bracket after another


def test_a_rung_promotes_its_best_third_and_waits_for_eta_results():
    asha = tune.SuccessiveHalving(max_epochs=9, eta=3)
    rung = [(0.5, 0), (0.2, 1)]
    assert asha.promotable(rung, set(), {0, 1}, draining=False) is None  # 2 < eta results
    rung.append((0.9, 2))
    assert asha.promotable(rung, set(), {0, 1, 2}, draining=False) == 1
    assert asha.promotable(rung, {1}, {0, 2}, draining=False) is None  # 1 of 3 went on
    rung += [(0.1, 3), (0.3, 4), (0.4, 5)]
    assert asha.promotable(rung, {1}, {0, 2, 3, 4, 5}, draining=False) == 3
    # with no new trial to come, the rule rounds up: the best of a short rung still goes on
    assert asha.promotable([(0.5, 7)], set(), {7}, draining=True) == 7


def test_rung_index_is_the_highest_rung_reached():
    rungs = (1, 3, 9, 27)
    assert [rung_index(rungs, e) for e in (0, 1, 2, 3, 26, 27, 40)] == [None, 0, 0, 1, 2, 3, 3]
