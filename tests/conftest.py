"""Fixtures: the unit tests' own declaration (the shape of the original phyper README's example,
independent of the `example` package), a parser in a temporary folder, and the 90-instance
Iris grid."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

import phyper

__all__ = ["IRIS_GRID", "Instance", "NonKeys", "make_parser"]

# The property tests check what is computed, never how fast: on a shared CI machine a first
# draw can take seconds (cold caches, a noisy neighbour), which must not fail the build.
settings.register_profile(
    "phyper", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("phyper")


class NonKeys:
    """Non-key hyperparameters: needed to run, but they do not define a model."""

    n_epochs = 100
    batch_size = 32
    learning_rate = 0.01
    log_interval = 25


class Instance(phyper.Parser, NonKeys):
    """Key hyperparameters: each distinct combination is a distinct model."""

    seed = 0
    n_hidden_layers = 3
    cv_k = 5
    cv_fold = 0
    transformation = "identity"
    centering = False


def make_parser(folder: str = "derived_data") -> Instance:
    """The parser with three resources, each depending on a subset of the keys."""
    parser = Instance(hashed_resources_folder=folder)
    parser.register_new_resource(name="transformed_data", dependencies=["transformation"])
    parser.register_new_resource(
        name="preprocessed_data", dependencies=["transformation", "centering"]
    )
    parser.register_new_resource(
        name="cross_validated_model",
        # the original README's spelling: the list returned is a fresh one
        dependencies=parser.get_dependencies_for_resources("preprocessed_data")  # noqa: RUF005
        + ["n_hidden_layers"],
    )
    return parser


IRIS_GRID = {
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
    return parser.get_instances_from_dictionary(IRIS_GRID)
