"""Building collections of instances: grid, rows, data frame, YAML sweep, duplicates."""

from __future__ import annotations

import itertools
import warnings

import pandas as pd
import pytest

import phyper
from tests.conftest import IRIS_GRID, Instance


def test_grid_is_the_cartesian_product_in_dict_order(parser):
    instances = parser.get_instances_from_dictionary(IRIS_GRID)
    assert len(instances) == 90
    expected = list(itertools.product(*IRIS_GRID.values()))
    got = [tuple(getattr(i, n) for n in IRIS_GRID) for i in instances]
    assert got == expected
    # values not in the grid keep their defaults
    assert {i.seed for i in instances} == {0}
    assert {i.n_epochs for i in instances} == {Instance.n_epochs}


def test_grid_accepts_ranges_numpy_arrays_and_series(parser):
    import numpy as np

    instances = parser.get_instances_from_dictionary(
        {"cv_fold": range(3), "seed": np.array([1, 2]), "learning_rate": pd.Series([0.1])}
    )
    assert [(i.cv_fold, i.seed) for i in instances][:2] == [(0, 1), (0, 2)]
    assert type(instances[0].seed) is int
    assert instances[0].learning_rate == 0.1


def test_grid_values_are_coerced(parser):
    instances = parser.get_instances_from_dictionary({"learning_rate": [1]})
    assert instances[0].learning_rate == 1.0 and type(instances[0].learning_rate) is float


def test_grid_keeps_the_parsers_own_values(parser):
    custom = parser.replace(seed=9)
    assert {i.seed for i in custom.get_instances_from_dictionary({"cv_fold": [0, 1]})} == {9}


def test_rows_and_data_frame(parser):
    rows = [{"seed": 1}, {"seed": 2, "transformation": "log"}]
    from_rows = parser.get_instances_from_dicts(rows)
    from_df = parser.get_instances_from_df(
        pd.DataFrame(rows).fillna({"transformation": "identity"})
    )
    assert [i.seed for i in from_rows] == [1, 2]
    assert from_rows == from_df
    assert type(from_df[0].seed) is int


def test_data_frame_row_errors_name_the_row(parser):
    df = pd.DataFrame({"seed": [1, 2], "transformation": ["log", 3]})
    with pytest.raises(phyper.HyperparameterTypeError, match="data frame row 1.*'transformation'"):
        parser.get_instances_from_df(df)


def test_yaml_sweep_file(parser, tmp_path):
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(
        "fixed:\n  n_epochs: 10\n  learning_rate: 1.0e-2\n"
        "grid:\n  transformation: [identity, log]\n  seed: [0, 1, 2]\n"
        "instances:\n  - {transformation: square, seed: 7}\n"
    )
    instances = parser.get_instances_from_yaml(sweep)
    assert len(instances) == 7
    assert {i.n_epochs for i in instances} == {10}
    assert {i.learning_rate for i in instances} == {0.01}
    assert (instances[-1].transformation, instances[-1].seed) == ("square", 7)


def test_yaml_sweep_with_only_fixed_values_gives_one_instance(parser, tmp_path):
    sweep = tmp_path / "one.yaml"
    sweep.write_text("fixed: {seed: 3}\n")
    assert [i.seed for i in parser.get_instances_from_yaml(sweep)] == [3]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("grid: [1, 2]\n", "'grid' of .* must be a mapping"),
        ("grdi: {seed: [1]}\n", "unknown top-level key 'grdi'"),
        ("- 1\n", "must hold a mapping"),
        ("grid: {seed: [1\n", "not valid YAML"),
        ("fixed: {learning_rate: 1e-3}\n", "'learning_rate'.*write 1.0e-3"),
        ("grid: {sed: [1]}\n", "'sed'.*did you mean 'seed'"),
    ],
)
def test_bad_sweep_files_name_the_problem(parser, tmp_path, text, message):
    sweep = tmp_path / "bad.yaml"
    sweep.write_text(text)
    with pytest.raises(phyper.PhyperError, match=message):
        parser.get_instances_from_yaml(sweep)


def test_missing_sweep_file(parser, tmp_path):
    with pytest.raises(phyper.SweepFileError, match="nope.yaml.*does not exist"):
        parser.get_instances_from_yaml(tmp_path / "nope.yaml")


def test_instances_differing_only_in_non_key_values_warn(parser):
    with pytest.warns(phyper.DuplicateInstanceWarning, match="non-key 'learning_rate'"):
        instances = parser.get_instances_from_dictionary(
            {"seed": [0, 1], "learning_rate": [0.1, 0.2]}
        )
    assert len(instances) == 4
    deduplicated = parser.deduplicate(instances)
    assert [(i.seed, i.learning_rate) for i in deduplicated] == [(0, 0.1), (1, 0.1)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kept = parser.get_instances_from_dictionary(
            {"seed": [0, 1], "learning_rate": [0.1, 0.2]}, deduplicate=True
        )
    assert kept == deduplicated


def test_identical_rows_warn_too(parser):
    with pytest.warns(phyper.DuplicateInstanceWarning, match="identical"):
        parser.get_instances_from_dicts([{"seed": 1}, {"seed": 1}])


def test_grid_axis_must_be_a_non_empty_list(parser):
    with pytest.raises(phyper.HyperparameterValueError, match=r"'seed' must be a list.*\[3\]"):
        parser.get_instances_from_dictionary({"seed": 3})
    with pytest.raises(phyper.HyperparameterValueError, match="'seed' is an empty list"):
        parser.get_instances_from_dictionary({"seed": []})


def _lazy_hashes(instance, resources):
    """The hashes of a fresh copy, computed on demand (nothing cached)."""
    copy = instance.replace()
    return [copy.get_instance_hash(r) for r in resources]


@pytest.mark.parametrize(
    "grid",
    [
        IRIS_GRID,
        {"seed": [0, 1], "n_epochs": [1, 2], "centering": [True, False]},  # a non-key axis
        {"n_hidden_layers": [3], "cv_fold": [0, 1, 2]},  # no resource depends on the grid
        {"centering": [False, True], "transformation": ["log", "identity"], "seed": [1, 0]},
        {},
    ],
)
def test_grid_hashes_computed_per_axis_equal_hashes_on_demand(parser, grid):
    resources = [None, "all", *parser.get_resource_names()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", phyper.DuplicateInstanceWarning)  # the non-key axis
        instances = parser.get_instances_from_dictionary(grid)
    for instance in instances:
        assert [instance.get_instance_hash(r) for r in resources] == _lazy_hashes(
            instance, resources
        )


def test_grid_hashes_with_omitted_values_and_a_late_resource(tmp_path):
    class Omitting(phyper.Parser):
        depth = 3
        dropout = phyper.hyperparameter(0.0, omit=0.0)
        tag: str = None

    parser = Omitting(hashed_resources_folder=str(tmp_path))
    parser.register_new_resource("shallow", ["dropout"])
    instances = parser.get_instances_from_dictionary(
        {"dropout": [0.0, 0.5], "tag": [None, "a"], "depth": [1, 2]}
    )
    parser.register_new_resource("tagged", ["tag", "depth"])  # after the build: on demand
    resources = [None, "shallow", "tagged"]
    for instance in instances:
        assert [instance.get_instance_hash(r) for r in resources] == _lazy_hashes(
            instance, resources
        )
    assert instances[0].get_instance_hash("shallow") == phyper.hash_values({})


def test_a_grid_whose_hashes_cannot_be_precomputed_hashes_on_demand(parser, monkeypatch):
    from phyper import _context

    def refuse(*arguments):
        raise ValueError("cannot encode")

    monkeypatch.setattr(_context, "_grid_hashes", refuse)
    instances = parser.get_instances_from_dictionary(IRIS_GRID)
    monkeypatch.undo()
    expected = parser.get_instances_from_dictionary(IRIS_GRID)
    assert [i.get_instance_hash("preprocessed_data") for i in instances] == [
        i.get_instance_hash("preprocessed_data") for i in expected
    ]
