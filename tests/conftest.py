"""Fixtures: the seed README's declaration (the example's), a parser in a temporary folder, and
the seed's 90-instance grid."""

from __future__ import annotations

import pytest

from example.config import Instance, NonKeys, make_parser

__all__ = ["SEED_GRID", "Instance", "NonKeys", "make_parser"]

SEED_GRID = {
    "transformation": ["identity", "log", "square"],
    "centering": [True, False],
    "n_hidden_layers": [1, 2, 3],
    "cv_fold": list(range(5)),
}


@pytest.fixture
def parser(tmp_path) -> Instance:
    return make_parser(str(tmp_path / "derived_data"))


@pytest.fixture
def instances(parser) -> list[Instance]:
    return parser.get_instances_from_dictionary(SEED_GRID)
