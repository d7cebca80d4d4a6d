"""The hyperparameters, the resources and the grid: everything the pipeline depends on.

Knobs for quick runs come from the environment (the Snakefile sets them from ``--config``), so
the job processes, wherever they run, build exactly the same instances as the Snakefile:

- ``PHYPER_EXAMPLE_EPOCHS``: epochs per model (non-key: it never changes a hash);
- ``PHYPER_EXAMPLE_TRANSFORMATIONS``: comma-separated transformations of the grid;
- ``PHYPER_EXAMPLE_SMALL``: ``1`` for a tiny grid (2 folds, 1 depth, no centering).
"""

from __future__ import annotations

import os

import phyper


def knob(name: str, default: str) -> str:
    return os.environ.get(f"PHYPER_EXAMPLE_{name.upper()}", default) or default


class NonKeys:
    """Non-key hyperparameters: needed to run, but they do not define a model."""

    n_epochs = int(knob("epochs", "100"))
    batch_size = 32
    learning_rate = 0.01
    log_interval = 25


class Instance(phyper.Parser, NonKeys):
    """Key hyperparameters: each distinct combination is a distinct model."""

    seed = 0
    n_hidden_layers = 3
    # a k-fold cross-validation
    cv_k = 5
    cv_fold = 0
    # one of example.transform.TRANSFORMATIONS
    transformation = "identity"
    # subtract the mean after the transformation
    centering = False


def make_parser(folder: str = "derived_data") -> Instance:
    """The parser with the pipeline's resources, each depending on a subset of the keys."""
    parser = Instance(hashed_resources_folder=folder)
    parser.register_new_resource(name="transformed_data", dependencies=["transformation"])
    parser.register_new_resource(
        name="preprocessed_data", dependencies=["transformation", "centering"]
    )
    parser.register_new_resource(
        name="cross_validated_model",
        # the original phyper README's spelling: the list returned is a fresh one
        dependencies=parser.get_dependencies_for_resources("preprocessed_data")  # noqa: RUF005
        + ["n_hidden_layers"],
    )
    return parser


parser = make_parser()

TRANSFORMATIONS = knob("transformations", "identity,log,square").split(",")

if knob("small", "0") == "1":
    grid = {
        "transformation": TRANSFORMATIONS,
        "n_hidden_layers": [1],
        "cv_k": [2],
        "cv_fold": [0, 1],
    }
else:
    grid = {
        "transformation": TRANSFORMATIONS,
        "centering": [True, False],
        "n_hidden_layers": [1, 2, 3],
        "cv_fold": list(range(Instance.cv_k)),
    }

instances: list[Instance] = parser.get_instances_from_dictionary(grid)
