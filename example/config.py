"""The hyperparameters and the resources of the Iris pipeline; which instances to run comes
from a YAML sweep file (``config/default.yaml``, or any other given explicitly).

>>> parser, instances = load("config/quick.yaml")
>>> len(instances), instances[0].n_epochs
(4, 2)
"""

from __future__ import annotations

import os
import pathlib

import phyper

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_SWEEP = os.path.join("config", "default.yaml")


class NonKeys:
    """Non-key hyperparameters: needed to run, but they do not define a model."""

    n_epochs = 100
    batch_size = 32
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
    # Searched by the example's study, so key; added after the first results were on disk,
    # with their old values as omit values: every existing hash stays as it was.
    learning_rate = phyper.hyperparameter(0.01, omit=0.01)
    width = phyper.hyperparameter(16, omit=16, doc="units per hidden layer")


def make_parser(folder: str = "derived_data") -> Instance:
    """The parser with the pipeline's resources, each depending on a subset of the keys."""
    parser = Instance(hashed_resources_folder=folder)
    parser.register_new_resource(name="transformed_data", dependencies=["transformation"])
    parser.register_new_resource(
        name="preprocessed_data", dependencies=["transformation", "centering"]
    )
    parser.register_new_resource(
        name="cross_validated_model",
        # the original phyper's spelling: the list returned is a fresh one
        dependencies=parser.get_dependencies_for_resources("preprocessed_data")  # noqa: RUF005
        + ["n_hidden_layers"],
    )
    return parser


def load(
    sweep: str | os.PathLike[str] = DEFAULT_SWEEP, folder: str = "derived_data"
) -> tuple[Instance, list[Instance]]:
    """The parser and the instances of a sweep file."""
    parser = make_parser(folder)
    return parser, parser.get_instances_from_yaml(resolve(sweep))


def resolve(sweep: str | os.PathLike[str]) -> pathlib.Path:
    """A sweep file's path; a relative one that does not exist from the working directory is
    looked up from the repository root, so the steps run from anywhere."""
    path = pathlib.Path(sweep)
    if not path.is_absolute() and not path.exists() and (ROOT / path).exists():
        return ROOT / path
    return path


# `phyper status example/config.py` and `phyper gc example/config.py` read these: the default sweep
parser, instances = load()
