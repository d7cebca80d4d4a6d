"""Search spaces: dimensions, and their check against the Parser's declaration."""

from __future__ import annotations

import numpy as np
import pytest

import phyper
from phyper import tune


class Net(phyper.Parser):
    depth = 2
    activation = phyper.hyperparameter("relu", choices=["relu", "tanh"])
    rate = 0.01
    n_epochs = phyper.non_key(10)


def test_a_space_checks_names_kinds_and_types():
    space = tune.SearchSpace.check(
        Net(), {"rate": tune.log_uniform(1e-4, 1e-1), "depth": [1, 2, 3], "activation": ["tanh"]}
    )
    assert space.names == ("activation", "depth", "rate")  # name order, whatever was given
    with pytest.raises(phyper.UnknownHyperparameterError, match="'dpeth'.*did you mean 'depth'"):
        tune.SearchSpace.check(Net(), {"dpeth": [1]})
    with pytest.raises(tune.SearchSpaceError, match="'n_epochs' is a non-key"):
        tune.SearchSpace.check(Net(), {"n_epochs": [1, 2]})
    with pytest.raises(tune.SearchSpaceError, match="integers\\(\\) over 'rate'"):
        tune.SearchSpace.check(Net(), {"rate": tune.integers(1, 3)})
    with pytest.raises(tune.SearchSpaceError, match="uniform\\(\\) over 'depth'"):
        tune.SearchSpace.check(Net(), {"depth": tune.uniform(1, 3)})
    with pytest.raises(tune.SearchSpaceError, match="'activation'.*sigmoid"):
        tune.SearchSpace.check(Net(), {"activation": ["relu", "sigmoid"]})
    with pytest.raises(tune.SearchSpaceError, match="expected 0 < low"):
        tune.log_uniform(0, 1)
    with pytest.raises(tune.SearchSpaceError, match="low <= high"):
        tune.integers(3, 1)


def test_draws_stay_inside_and_grids_are_exact():
    rng = np.random.default_rng(0)
    dimension = tune.log_uniform(1e-4, 1e-1)
    draws = [dimension.sample(rng) for _ in range(2000)]
    assert all(1e-4 <= d <= 1e-1 for d in draws)
    # uniform in the logarithm: about a third of the draws in each decade
    assert 550 < sum(d < 1e-3 for d in draws) < 780
    assert dimension.grid(4) == [1e-4, 1e-3, 1e-2, 1e-1]
    assert tune.integers(1, 7, step=3).grid(99) == [1, 4, 7]
    assert tune.integers(1, 7, step=3).contains(4) and not tune.integers(1, 7, 3).contains(5)


def test_a_search_section_of_a_sweep_file(tmp_path):
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(
        "fixed: {activation: tanh}\n"
        "search:\n  depth: {integers: [1, 3]}\n  rate: {log_uniform: [1.0e-3, 1.0e-1]}\n"
    )
    study = tune.Study.from_yaml(
        Net(hashed_resources_folder=str(tmp_path / "d")), "s", sweep, metric="loss"
    )
    assert study.space.to_spec() == {
        "depth": {"integers": [1, 3, 1]},
        "rate": {"log_uniform": [1e-3, 1e-1]},
    }
    assert study.parser.activation == "tanh"
    sweep.write_text("search:\n  depth: {normal: [1, 3]}\n")
    with pytest.raises(phyper.SweepFileError, match="'depth'.*log_uniform"):
        tune.Study.from_yaml(Net(), "s", sweep, metric="loss")
