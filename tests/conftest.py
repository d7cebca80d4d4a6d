"""Fixtures: the seed README's declaration (the example's), a parser in a temporary folder, and
the seed's 90-instance grid."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from example.config import Instance, NonKeys, make_parser

__all__ = ["SEED_GRID", "Instance", "NonKeys", "make_parser"]

# The property tests check what is computed, never how fast: on a shared CI machine a first
# draw can take seconds (cold caches, a noisy neighbour), which must not fail the build.
settings.register_profile(
    "phyper", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("phyper")

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
