from __future__ import annotations

import pytest

import phyper


class NonKeys:
    n_epochs = 2000
    batch_size = 32
    learning_rate = 0.001
    log_interval = 200


class Instance(phyper.Parser, NonKeys):
    seed = 0
    n_hidden_layers = 3
    cv_k = 5
    cv_fold = 0
    transformation = "identity"
    centering = False


SEED_GRID = {
    "transformation": ["identity", "log", "square"],
    "centering": [True, False],
    "n_hidden_layers": [1, 2, 3],
    "cv_fold": list(range(5)),
}


def make_parser(folder) -> Instance:
    parser = Instance(hashed_resources_folder=str(folder))
    parser.register_new_resource(name="transformed_data", dependencies=["transformation"])
    parser.register_new_resource(
        name="preprocessed_data", dependencies=["transformation", "centering"]
    )
    parser.register_new_resource(
        name="cross_validated_model",
        # the seed README's own spelling: the list returned is a fresh one
        dependencies=parser.get_dependencies_for_resources("preprocessed_data")  # noqa: RUF005
        + ["n_hidden_layers"],
    )
    return parser


@pytest.fixture
def parser(tmp_path) -> Instance:
    return make_parser(tmp_path / "derived_data")


@pytest.fixture
def instances(parser) -> list[Instance]:
    return parser.get_instances_from_dictionary(SEED_GRID)
